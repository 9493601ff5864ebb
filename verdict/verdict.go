// Package verdict remembers what was decided about a program, so that a
// decision that takes a bpftrace process (its compiler's verdict, a guard
// that compares bpftrace's own reading of the program with ours) is made
// once per program, bpftrace and policy, not once per request:
// validate_program followed by exec_program of the same program compiles
// it once.
//
// A verdict is only as good as its key. The key names everything a verdict
// depends on: the exact program text bpftrace is given (after any target
// predicate was added), whether it runs with --unsafe, which bpftrace
// (binary and release), and the policy in force. The cache is in memory and
// bounded; it knows nothing of what a verdict holds.
package verdict

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// Key identifies the inputs of a verdict.
type Key struct {
	Program [sha256.Size]byte // SHA-256 of the program text as bpftrace gets it
	Unsafe  bool              // run with --unsafe
	// Bpftrace names the bpftrace: its path and release, e.g.
	// "/usr/bin/bpftrace 0.17.0".
	Bpftrace string
	// Policy is the digest of the policy in force (policy.Policy.Digest).
	Policy string
}

// NewKey returns the key of program under the given bpftrace and policy.
func NewKey(program string, unsafe bool, bpftrace, policy string) Key {
	return Key{Program: sha256.Sum256([]byte(program)), Unsafe: unsafe, Bpftrace: bpftrace, Policy: policy}
}

// Cache holds up to a fixed number of verdicts, dropping the least recently
// used. It is safe for concurrent use. The zero value is not usable: call
// [New].
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	items map[Key]*list.Element
	order list.List // front: most recently used; values are *entry[V]
}

type entry[V any] struct {
	key Key
	val V
}

// DefaultSize is a cache size that holds the programs of a long session.
const DefaultSize = 512

// New returns a cache of at most max verdicts (DefaultSize when max <= 0).
func New[V any](max int) *Cache[V] {
	if max <= 0 {
		max = DefaultSize
	}
	return &Cache[V]{max: max, items: map[Key]*list.Element{}}
}

// Get returns the verdict for k, if there is one.
func (c *Cache[V]) Get(k Key) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[V]).val, true
}

// Put records the verdict for k, replacing any earlier one.
func (c *Cache[V]) Put(k Key, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*entry[V]).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&entry[V]{key: k, val: v})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*entry[V]).key)
	}
}

// Has reports whether there is a verdict for k.
func (c *Cache[V]) Has(k Key) bool {
	_, ok := c.Get(k)
	return ok
}

// Len is the number of verdicts held.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
