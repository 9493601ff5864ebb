package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMarkInterrupted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		ctx := context.Background()
		clk := newClock()
		db := open(&Options{Now: clk.Now})
		for _, e := range []*Execution{
			{ID: "dead-1", Owner: "pid:1:1", StartedAt: t0.Add(1)},
			{ID: "alive-1", Owner: "pid:2:2", StartedAt: t0.Add(2)},
			{ID: "dead-2", Owner: "pid:1:1", StartedAt: t0.Add(3)},
			{ID: "orphan", Owner: "", StartedAt: t0.Add(4)},
			{ID: "done", Owner: "pid:1:1", StartedAt: t0.Add(5), Status: StatusCompleted, EndReason: EndExit},
		} {
			mustCreate(t, db, e)
		}
		calls := map[string]int{}
		alive := func(owner string) bool {
			calls[owner]++
			return owner == "pid:2:2"
		}
		got, err := db.MarkInterrupted(ctx, alive, "server exited while running")
		if err != nil {
			t.Fatalf("MarkInterrupted() error: %v", err)
		}
		if diff := cmp.Diff([]string{"dead-1", "dead-2", "orphan"}, got); diff != "" {
			t.Errorf("MarkInterrupted() IDs mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"pid:1:1": 1, "pid:2:2": 1, "": 1}, calls); diff != "" {
			t.Errorf("alive() calls per owner mismatch (-want +got):\n%s", diff)
		}

		end := time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC) // the clock's first reading
		for _, tt := range []struct {
			id             string
			status, reason string
			message        string
			endedAt        *time.Time
		}{
			{"dead-1", StatusFailed, EndInterrupted, "server exited while running", &end},
			{"dead-2", StatusFailed, EndInterrupted, "server exited while running", &end},
			{"orphan", StatusFailed, EndInterrupted, "server exited while running", &end},
			{"alive-1", StatusRunning, "", "", nil},
			{"done", StatusCompleted, EndExit, "", nil},
		} {
			t.Run(tt.id, func(t *testing.T) {
				e, err := db.FindExecution(ctx, tt.id)
				if err != nil {
					t.Fatal(err)
				}
				if e.Status != tt.status || e.EndReason != tt.reason || e.ErrorMessage != tt.message {
					t.Errorf("status, end reason, message = %q, %q, %q; want %q, %q, %q",
						e.Status, e.EndReason, e.ErrorMessage, tt.status, tt.reason, tt.message)
				}
				if diff := cmp.Diff(tt.endedAt, e.EndedAt); diff != "" {
					t.Errorf("EndedAt mismatch (-want +got):\n%s", diff)
				}
			})
		}

		again, err := db.MarkInterrupted(ctx, alive, "again")
		if err != nil {
			t.Fatalf("second MarkInterrupted() error: %v", err)
		}
		if diff := cmp.Diff([]string{}, again); diff != "" {
			t.Errorf("second MarkInterrupted() mismatch (-want +got):\n%s", diff)
		}
	})
}

// An execution that finishes between the scan and the update keeps what its
// owner wrote.
func TestMarkInterruptedSkipsFinished(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir()+"/x.db", nil)
	mustCreate(t, db, &Execution{ID: "racy", Owner: "o"})
	alive := func(string) bool {
		// The owner finishes while we are deciding that it is dead.
		err := db.UpdateExecution(ctx, "racy", ExecutionUpdate{Status: ptr(StatusCompleted), EndReason: ptr(EndExit)})
		if err != nil {
			t.Error(err)
		}
		return false
	}
	got, err := db.MarkInterrupted(ctx, alive, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("MarkInterrupted() = %q, want none", got)
	}
	e, err := db.FindExecution(ctx, "racy")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != StatusCompleted || e.EndReason != EndExit {
		t.Errorf("status, end reason = %q, %q; want completed, exit", e.Status, e.EndReason)
	}
}
