package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPrune(t *testing.T) {
	// Executions e0..e5, oldest first; e1 and e4 are running. Each has two
	// chunks of 100 bytes of output (line "xxx…" of 100 bytes each).
	statuses := []string{StatusCompleted, StatusRunning, StatusFailed, StatusCompleted, StatusRunning, StatusCompleted}
	line := strings.Repeat("x", 100)
	for _, tt := range []struct {
		name       string
		opts       Options
		wantKept   []string // newest first
		wantChunks int
	}{
		{"under every limit", Options{MaxExecutions: 10, MaxOutputBytes: 10_000}, []string{"e5", "e4", "e3", "e2", "e1", "e0"}, 12},
		{"execution limit", Options{MaxExecutions: 4, MaxOutputBytes: 10_000}, []string{"e5", "e4", "e3", "e1"}, 8},
		{"byte limit", Options{MaxExecutions: 10, MaxOutputBytes: 600}, []string{"e5", "e4", "e1"}, 6},
		{"byte limit between executions", Options{MaxExecutions: 10, MaxOutputBytes: 799}, []string{"e5", "e4", "e1"}, 6},
		{"running never pruned", Options{MaxExecutions: 1, MaxOutputBytes: 1}, []string{"e4", "e1"}, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
				ctx := context.Background()
				opts := tt.opts
				db := open(&opts)
				for i, s := range statuses {
					id := fmt.Sprint("e", i)
					mustCreate(t, db, &Execution{ID: id, Status: s, StartedAt: t0.Add(time.Duration(i) * time.Second)})
					mustAppend(t, db, id, 0, line)
					mustAppend(t, db, id, 1, line)
				}
				if err := db.Prune(ctx); err != nil {
					t.Fatalf("Prune() error: %v", err)
				}
				es, err := db.ListExecutions(ctx, ExecutionFilter{})
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, e := range es {
					got = append(got, e.ID)
				}
				if diff := cmp.Diff(tt.wantKept, got); diff != "" {
					t.Errorf("executions kept mismatch (-want +got):\n%s", diff)
				}
				if n := countRows(t, db, "output_chunks"); n != tt.wantChunks {
					t.Errorf("%d chunks left, want %d", n, tt.wantChunks)
				}
				for _, id := range got {
					lines, err := db.ReadOutput(ctx, id, 0, 10, 0)
					if err != nil || len(lines) != 2 {
						t.Errorf("ReadOutput(%s) = %d lines, %v; want 2 lines", id, len(lines), err)
					}
				}
			})
		})
	}
}

func TestPruneDefaults(t *testing.T) {
	db := mustOpen(t, memoryPath, nil)
	if db.maxExecutions != 500 || db.maxOutputBytes != 1<<30 || db.maxAuditEntries != 100_000 {
		t.Errorf("defaults = %d executions, %d bytes, %d audit entries; want 500, 1 GiB, 100000",
			db.maxExecutions, db.maxOutputBytes, db.maxAuditEntries)
	}
}

func TestPruneAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		ctx := context.Background()
		db := open(&Options{MaxAuditEntries: 3})
		for i := range 5 {
			if err := db.AddAudit(ctx, &AuditEntry{Action: fmt.Sprint("a", i), Decision: DecisionAllowed}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Prune(ctx); err != nil {
			t.Fatalf("Prune() error: %v", err)
		}
		es, err := db.ListAudit(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, e := range es {
			got = append(got, e.Action)
		}
		if diff := cmp.Diff([]string{"a4", "a3", "a2"}, got); diff != "" {
			t.Errorf("audit kept mismatch (-want +got):\n%s", diff)
		}
	})
}
