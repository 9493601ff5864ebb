package catalog

import (
	"sync"
	"sync/atomic"
)

// lazy holds a value loaded on first use. Only a successful load is kept,
// so a failure (tracefs not mounted yet, say) is retried on the next call.
type lazy[T any] struct {
	v  atomic.Pointer[T]
	mu sync.Mutex
}

func (l *lazy[T]) get(load func() (T, error)) (T, error) {
	if p := l.v.Load(); p != nil {
		return *p, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.v.Load(); p != nil {
		return *p, nil
	}
	v, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	l.v.Store(&v)
	return v, nil
}
