package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestCreateFindExecution(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		clk := newClock()
		db := open(&Options{Now: clk.Now})
		ctx := context.Background()
		for _, tt := range []struct {
			name string
			in   *Execution
			want *Execution
		}{
			{
				name: "defaults",
				in:   &Execution{ID: "min", Program: "BEGIN {}"},
				want: &Execution{ID: "min", Program: "BEGIN {}", Status: StatusRunning,
					StartedAt: time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC)},
			},
			{
				name: "every field",
				in: &Execution{
					ID: "full", Program: "t:syscalls:sys_enter_read { @[comm] = count(); }",
					Options: `{"timeout_seconds":10}`, Status: StatusFailed, EndReason: EndError,
					StartedAt: t0.Add(123 * time.Nanosecond), EndedAt: ptr(t0.Add(time.Minute)), ExitCode: ptr(255),
					ErrorMessage: "attach failed", Diagnostics: "ERROR: x\n", ProbesAttached: 2, LostEvents: 3,
					HelperErrors: 4, LinesTotal: 5, LinesDropped: 6, BytesStored: 7, LinesStored: 99,
					Maps: `{"@":{}}`, Owner: "pid:10:20", Client: "token:ci", Principal: "ci",
				},
				want: &Execution{
					ID: "full", Program: "t:syscalls:sys_enter_read { @[comm] = count(); }",
					Options: `{"timeout_seconds":10}`, Status: StatusFailed, EndReason: EndError,
					StartedAt: t0.Add(123 * time.Nanosecond), EndedAt: ptr(t0.Add(time.Minute)), ExitCode: ptr(255),
					ErrorMessage: "attach failed", Diagnostics: "ERROR: x\n", ProbesAttached: 2, LostEvents: 3,
					HelperErrors: 4, LinesTotal: 5, LinesDropped: 6, BytesStored: 7, LinesStored: 0,
					Maps: `{"@":{}}`, Owner: "pid:10:20", Client: "token:ci", Principal: "ci",
				},
			},
			{
				name: "local time comes back as UTC",
				in:   &Execution{ID: "zone", StartedAt: t0.In(time.FixedZone("CET", 3600)), ExitCode: ptr(0)},
				want: &Execution{ID: "zone", Status: StatusRunning, StartedAt: t0, ExitCode: ptr(0)},
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if err := db.CreateExecution(ctx, tt.in); err != nil {
					t.Fatalf("CreateExecution() error: %v", err)
				}
				got, err := db.FindExecution(ctx, tt.in.ID)
				if err != nil {
					t.Fatalf("FindExecution() error: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("FindExecution() mismatch (-want +got):\n%s", diff)
				}
				if !tt.in.StartedAt.Equal(got.StartedAt) || tt.in.Status != got.Status {
					t.Errorf("CreateExecution() wrote back StartedAt %v, Status %q; stored %v, %q",
						tt.in.StartedAt, tt.in.Status, got.StartedAt, got.Status)
				}
			})
		}
	})
}

func TestCreateExecutionErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		db := open(nil)
		mustCreate(t, db, &Execution{ID: "taken"})
		for _, tt := range []struct {
			name    string
			in      *Execution
			wantIs  error
			wantMsg string
		}{
			{"empty id", &Execution{}, nil, "create execution: empty id"},
			{"duplicate id", &Execution{ID: "taken"}, ErrExists, "create execution taken: "},
			{"unknown status", &Execution{ID: "s", Status: "success"}, nil, "CHECK constraint failed"},
			{"unknown end reason", &Execution{ID: "r", EndReason: "killed"}, nil, "CHECK constraint failed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.CreateExecution(context.Background(), tt.in)
				if err == nil {
					t.Fatal("CreateExecution() succeeded, want error")
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("CreateExecution() error = %v, want errors.Is(%v)", err, tt.wantIs)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("CreateExecution() error = %q, want it to contain %q", err, tt.wantMsg)
				}
			})
		}
	})
}

func TestFindExecutionNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		_, err := open(nil).FindExecution(context.Background(), "nope")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("FindExecution(nope) error = %v, want ErrNotFound", err)
		}
	})
}

func TestListExecutions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		db := open(nil)
		// e1 is oldest; e3 and e4 started at the same time and are ordered by ID.
		for _, e := range []*Execution{
			{ID: "e1", Status: StatusCompleted, StartedAt: t0.Add(1 * time.Second), Principal: "alice"},
			{ID: "e2", Status: StatusRunning, StartedAt: t0.Add(2 * time.Second), Principal: "bob"},
			{ID: "e3", Status: StatusFailed, StartedAt: t0.Add(3 * time.Second), Principal: "alice"},
			{ID: "e4", Status: StatusCompleted, StartedAt: t0.Add(3 * time.Second)},
			{ID: "e5", Status: StatusRunning, StartedAt: t0.Add(5 * time.Second), Principal: "alice"},
		} {
			mustCreate(t, db, e)
		}
		for _, tt := range []struct {
			name string
			f    ExecutionFilter
			want []string
		}{
			{"all, newest first", ExecutionFilter{}, []string{"e5", "e4", "e3", "e2", "e1"}},
			{"limit", ExecutionFilter{Limit: 2}, []string{"e5", "e4"}},
			{"status", ExecutionFilter{Status: StatusRunning}, []string{"e5", "e2"}},
			{"before", ExecutionFilter{Before: ptr(t0.Add(3 * time.Second))}, []string{"e2", "e1"}},
			{"status before limit", ExecutionFilter{Status: StatusCompleted, Before: ptr(t0.Add(4 * time.Second)), Limit: 1}, []string{"e4"}},
			{"nothing matches", ExecutionFilter{Before: ptr(t0)}, []string{}},
			{"principal", ExecutionFilter{Principal: "alice"}, []string{"e5", "e3", "e1"}},
			{"principal and status", ExecutionFilter{Principal: "alice", Status: StatusRunning}, []string{"e5"}},
			{"principal with none", ExecutionFilter{Principal: "carol"}, []string{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				es, err := db.ListExecutions(context.Background(), tt.f)
				if err != nil {
					t.Fatalf("ListExecutions() error: %v", err)
				}
				got := []string{}
				for _, e := range es {
					got = append(got, e.ID)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ListExecutions() IDs mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestListExecutionsDefaultLimit(t *testing.T) {
	db := mustOpen(t, memoryPath, nil)
	for i := range DefaultListLimit + 1 {
		mustCreate(t, db, &Execution{ID: string(rune('a'+i/26)) + string(rune('a'+i%26)), StartedAt: t0.Add(time.Duration(i))})
	}
	es, err := db.ListExecutions(context.Background(), ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != DefaultListLimit {
		t.Errorf("ListExecutions() returned %d, want %d", len(es), DefaultListLimit)
	}
}

func TestUpdateExecution(t *testing.T) {
	base := Execution{ID: "x", Program: "p", Status: StatusRunning, StartedAt: t0, Owner: "o"}
	for _, tt := range []struct {
		name string
		u    ExecutionUpdate
		want func(e *Execution)
	}{
		{"nothing", ExecutionUpdate{}, func(*Execution) {}},
		{
			"completed",
			ExecutionUpdate{Status: ptr(StatusCompleted), EndReason: ptr(EndTimeout), EndedAt: ptr(t0.Add(time.Hour)),
				ExitCode: ptr(0), Maps: ptr(`{"@x":[1,2]}`)},
			func(e *Execution) {
				e.Status, e.EndReason, e.EndedAt, e.ExitCode, e.Maps = StatusCompleted, EndTimeout, ptr(t0.Add(time.Hour)), ptr(0), `{"@x":[1,2]}`
			},
		},
		{
			"failed",
			ExecutionUpdate{Status: ptr(StatusFailed), EndReason: ptr(EndError), ErrorMessage: ptr("boom"),
				Diagnostics: ptr("stderr"), ExitCode: ptr(-1)},
			func(e *Execution) {
				e.Status, e.EndReason, e.ErrorMessage, e.Diagnostics, e.ExitCode = StatusFailed, EndError, "boom", "stderr", ptr(-1)
			},
		},
		{
			"counters",
			ExecutionUpdate{ProbesAttached: ptr(3), LostEvents: ptr(int64(4)), HelperErrors: ptr(int64(5)),
				LinesTotal: ptr(int64(6)), LinesDropped: ptr(int64(7)), BytesStored: ptr(int64(8))},
			func(e *Execution) {
				e.ProbesAttached, e.LostEvents, e.HelperErrors, e.LinesTotal, e.LinesDropped, e.BytesStored = 3, 4, 5, 6, 7, 8
			},
		},
		{
			"attach and stop times",
			ExecutionUpdate{AttachedAt: ptr(t0.Add(time.Second)), StopAt: ptr(t0.Add(time.Minute))},
			func(e *Execution) { e.AttachedAt, e.StopAt = ptr(t0.Add(time.Second)), ptr(t0.Add(time.Minute)) },
		},
		{
			"clear text",
			ExecutionUpdate{ErrorMessage: ptr(""), Maps: ptr("")},
			func(*Execution) {},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
				db := open(nil)
				in := base
				mustCreate(t, db, &in)
				if err := db.UpdateExecution(context.Background(), "x", tt.u); err != nil {
					t.Fatalf("UpdateExecution() error: %v", err)
				}
				got, err := db.FindExecution(context.Background(), "x")
				if err != nil {
					t.Fatal(err)
				}
				want := base
				tt.want(&want)
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("execution after update mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestUpdateExecutionErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		db := open(nil)
		mustCreate(t, db, &Execution{ID: "x"})
		for _, tt := range []struct {
			name    string
			id      string
			u       ExecutionUpdate
			wantIs  error
			wantMsg string
		}{
			{"missing", "nope", ExecutionUpdate{Status: ptr(StatusFailed)}, ErrNotFound, "update execution nope: not found"},
			{"missing, empty update", "nope", ExecutionUpdate{}, ErrNotFound, "not found"},
			{"bad status", "x", ExecutionUpdate{Status: ptr("done")}, nil, "CHECK constraint failed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.UpdateExecution(context.Background(), tt.id, tt.u)
				if err == nil {
					t.Fatal("UpdateExecution() succeeded, want error")
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("UpdateExecution() error = %v, want errors.Is(%v)", err, tt.wantIs)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("UpdateExecution() error = %q, want it to contain %q", err, tt.wantMsg)
				}
			})
		}
	})
}
