package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// pollInterval is how often a long-poll re-reads the store for an execution
// that another server process runs (and so sends us no notifications).
const pollInterval = 200 * time.Millisecond

// DefaultPageBytes is the byte budget of a page when the query sets none:
// enough for a screenful of trace, small enough for any client's context.
const DefaultPageBytes = 32 << 10

// Query selects a page of an execution's output.
type Query struct {
	Offset   int64
	Limit    int64         // most lines; <= 0 means 1000
	MaxBytes int           // most bytes of line text; <= 0 means DefaultPageBytes
	Wait     time.Duration // long-poll: wait this long for output past Offset or the end
	// Progress, when set, is called while waiting, at most every interval,
	// with the number of lines so far.
	Progress func(lines int64, elapsed time.Duration)
}

// Page is one page of output with the execution as it stands.
type Page struct {
	Execution  *store.Execution
	Lines      []string
	Offset     int64
	NextOffset int64
	HasMore    bool // more lines exist past this page now
	// Ending is set while the execution is ending: END ran and bpftrace is
	// printing its maps, so the lines and maps so far are incomplete.
	Ending bool
}

// Duration is how long the execution has run (so far, when it is running).
func (p *Page) Duration() time.Duration { return ExecutionDuration(p.Execution, time.Now()) }

// ExecutionDuration is how long e ran, or has run by now: from start to
// end, attach and teardown included (see [Times]).
func ExecutionDuration(e *store.Execution, now time.Time) time.Duration {
	if e.EndedAt != nil {
		return e.EndedAt.Sub(e.StartedAt)
	}
	return now.Sub(e.StartedAt)
}

// Times splits the life of an execution. Total = Attach + Traced +
// Teardown. The timeout counts Traced only.
type Times struct {
	Total time.Duration
	// Attach is from start to the probes attached: bpftrace compiles the
	// program, loads it and attaches every probe. Zero (with Attached
	// false) while attaching or when it never got that far.
	Attach   time.Duration
	Attached bool
	// Traced is from attach to the stop request (SIGINT at the timeout,
	// stop_execution, shutdown), or to the end when the program ended on
	// its own (exit(), or it failed).
	Traced time.Duration
	// Teardown is from the stop request to the end: END, detaching every
	// probe (slow for many probes: RCU grace periods) and the map dump.
	Teardown time.Duration
}

// ExecutionTimes splits e's time as it stands at now.
func ExecutionTimes(e *store.Execution, now time.Time) Times {
	end := now
	if e.EndedAt != nil {
		end = *e.EndedAt
	}
	t := Times{Total: end.Sub(e.StartedAt)}
	if e.AttachedAt == nil {
		return t
	}
	t.Attached, t.Attach = true, e.AttachedAt.Sub(e.StartedAt)
	traceEnd := end
	if e.StopAt != nil && e.StopAt.After(*e.AttachedAt) {
		traceEnd = *e.StopAt
		t.Teardown = end.Sub(*e.StopAt)
	}
	t.Traced = traceEnd.Sub(*e.AttachedAt)
	return t
}

// Result returns a page of an execution's output. With q.Wait it first
// waits until there is output past q.Offset, the execution ends, or the
// wait is over, whichever comes first.
func (m *Manager) Result(ctx context.Context, id string, q Query) (*Page, error) {
	if q.Offset < 0 {
		return nil, fmt.Errorf("offset %d is negative: pass 0 or the next_offset of the previous page", q.Offset)
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = DefaultPageBytes
	}
	e, err := m.find(ctx, id)
	if err != nil {
		return nil, err
	}
	// A wait returns at new output, but not in the middle of the map dump
	// at the end: maps print in ascending order, so a reader stopped there
	// would see the least significant entries and take them for the table.
	if q.Wait > 0 && e.Status == StatusRunning && (e.LinesTotal <= q.Offset || m.ending(id)) {
		if e, err = m.waitFor(ctx, id, e, q); err != nil {
			return nil, err
		}
	}
	var ending bool
	if r := m.lookup(id); r != nil && e.Status == StatusRunning {
		r.overlay(e)
		ending = r.isExiting()
	}
	lines, err := m.db.ReadOutput(ctx, id, q.Offset, q.Limit, q.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("read output of %s: %w", id, err)
	}
	// Lines committed after the row was read may be in the page; make the
	// counters agree with what is returned.
	next := q.Offset + int64(len(lines))
	if len(lines) > 0 && next > e.LinesTotal {
		e.LinesTotal = next
	}
	return &Page{
		Execution:  e,
		Lines:      lines,
		Offset:     q.Offset,
		NextOffset: next,
		HasMore:    next < e.LinesTotal,
		Ending:     ending,
	}, nil
}

// ending reports whether a run of this server is printing its maps.
func (m *Manager) ending(id string) bool {
	r := m.lookup(id)
	return r != nil && r.dumping()
}

func (m *Manager) waitFor(ctx context.Context, id string, e *store.Execution, q Query) (*store.Execution, error) {
	start := time.Now()
	deadline := time.NewTimer(q.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	for {
		var changed <-chan struct{}
		if r := m.lookup(id); r != nil {
			var committed int64
			changed, committed = r.wait()
			if committed > q.Offset {
				// Committed after e was read and before we began to
				// wait: waiting for the next commit would miss it.
				closed := make(chan struct{})
				close(closed)
				changed = closed
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for output of %s: %w", id, context.Cause(ctx))
		case <-deadline.C:
			return m.find(ctx, id)
		case <-changed:
		case <-tick.C:
		case <-progress.C:
			if q.Progress != nil {
				q.Progress(e.LinesTotal, time.Since(start))
			}
			continue
		}
		var err error
		if e, err = m.find(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, err
			}
			return nil, err
		}
		if e.Status != StatusRunning || e.LinesTotal > q.Offset && !m.ending(id) {
			return e, nil
		}
	}
}

// List returns executions, newest first.
func (m *Manager) List(ctx context.Context, f store.ExecutionFilter) ([]*store.Execution, error) {
	return m.db.ListExecutions(ctx, f)
}
