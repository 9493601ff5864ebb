package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is a test clock that moves one second forward on every reading, so
// that rows created one after another have distinct, predictable times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// backend opens a fresh database of one kind for a test.
type backend struct {
	name string
	open func(tb testing.TB, opts *Options) *DB
}

// backends are the kinds of database every method is tested against.
func backends() []backend {
	return []backend{
		{"file", func(tb testing.TB, opts *Options) *DB {
			return mustOpen(tb, filepath.Join(tb.TempDir(), "state", "test.db"), opts)
		}},
		{"memory", func(tb testing.TB, opts *Options) *DB {
			return mustOpen(tb, memoryPath, opts)
		}},
	}
}

// forEachBackend runs f as a subtest for each backend.
func forEachBackend(t *testing.T, f func(t *testing.T, open func(opts *Options) *DB)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			f(t, func(opts *Options) *DB { return b.open(t, opts) })
		})
	}
}

func mustOpen(tb testing.TB, path string, opts *Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("Open(%q) error: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close() error: %v", err)
		}
	})
	return db
}

func mustCreate(tb testing.TB, db *DB, e *Execution) *Execution {
	tb.Helper()
	if err := db.CreateExecution(context.Background(), e); err != nil {
		tb.Fatalf("CreateExecution(%s) error: %v", e.ID, err)
	}
	return e
}

func mustAppend(tb testing.TB, db *DB, id string, first int64, lines ...string) {
	tb.Helper()
	c := OutputCounters{LinesTotal: first + int64(len(lines))}
	if err := db.AppendOutput(context.Background(), id, first, lines, c); err != nil {
		tb.Fatalf("AppendOutput(%s, %d, %d lines) error: %v", id, first, len(lines), err)
	}
}

func ptr[T any](v T) *T { return &v }

// countRows returns the number of rows of a table, read behind the API.
func countRows(tb testing.TB, db *DB, table string) int {
	tb.Helper()
	var n int
	if err := db.ro.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}
