package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAddAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		ctx := context.Background()
		db := open(&Options{Now: newClock().Now})
		for _, tt := range []struct {
			name string
			in   *AuditEntry
			want *AuditEntry
		}{
			{
				name: "defaults",
				in:   &AuditEntry{Action: "stop", Decision: DecisionAllowed},
				want: &AuditEntry{ID: 1, Time: time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC), Action: "stop", Decision: DecisionAllowed},
			},
			{
				name: "hash computed from program",
				in:   &AuditEntry{Action: "validate", Program: "BEGIN { exit(); }", Decision: DecisionDenied, Rule: "r"},
				want: &AuditEntry{ID: 2, Time: time.Date(2026, 11, 25, 12, 0, 2, 0, time.UTC), Action: "validate",
					Program:       "BEGIN { exit(); }",
					ProgramSHA256: "29dcf39816317d7e350bdffbb56e1c1ac23411976ad5d39eae6ba46b8d019f35", // printf %s "$program" | sha256sum
					Decision:      DecisionDenied, Rule: "r"},
			},
			{
				name: "every field",
				in: &AuditEntry{Time: t0, Client: "session-1", Action: "exec", ExecutionID: "e1", ProgramSHA256: "given",
					Program: "p", Decision: DecisionAllowed, Rule: "default", Outcome: "started", Detail: "pid 42"},
				want: &AuditEntry{ID: 3, Time: t0, Client: "session-1", Action: "exec", ExecutionID: "e1", ProgramSHA256: "given",
					Program: "p", Decision: DecisionAllowed, Rule: "default", Outcome: "started", Detail: "pid 42"},
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if err := db.AddAudit(ctx, tt.in); err != nil {
					t.Fatalf("AddAudit() error: %v", err)
				}
				if diff := cmp.Diff(tt.want, tt.in); diff != "" {
					t.Errorf("entry after AddAudit mismatch (-want +got):\n%s", diff)
				}
				got, err := db.ListAudit(ctx, AuditFilter{Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]*AuditEntry{tt.want}, got); diff != "" {
					t.Errorf("ListAudit() mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestAddAuditErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		db := open(nil)
		for _, tt := range []struct {
			name    string
			in      *AuditEntry
			wantMsg string
		}{
			{"empty action", &AuditEntry{Decision: DecisionAllowed}, "add audit entry: empty action"},
			{"unknown decision", &AuditEntry{Action: "exec", Decision: "maybe"}, "CHECK constraint failed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.AddAudit(context.Background(), tt.in)
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("AddAudit() error = %v, want it to contain %q", err, tt.wantMsg)
				}
			})
		}
	})
}

func TestListAudit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		ctx := context.Background()
		db := open(nil)
		for _, e := range []*AuditEntry{
			{Action: "validate", Decision: DecisionAllowed},                                                      // 1
			{Action: "exec", ExecutionID: "e1", Decision: DecisionAllowed, Principal: "alice", Role: "operator"}, // 2
			{Action: "exec", Decision: DecisionDenied, Principal: "bob", Role: "viewer"},                         // 3
			{Action: "stop", ExecutionID: "e1", Decision: DecisionAllowed, Principal: "alice", Role: "operator"}, // 4
			{Action: "exec", ExecutionID: "e2", Decision: DecisionAllowed, Principal: "bob", Role: "operator"},   // 5
		} {
			if err := db.AddAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			name string
			f    AuditFilter
			want []int64
		}{
			{"all, newest first", AuditFilter{}, []int64{5, 4, 3, 2, 1}},
			{"limit", AuditFilter{Limit: 2}, []int64{5, 4}},
			{"action", AuditFilter{Action: "exec"}, []int64{5, 3, 2}},
			{"execution", AuditFilter{ExecutionID: "e1"}, []int64{4, 2}},
			{"action and execution", AuditFilter{Action: "exec", ExecutionID: "e1"}, []int64{2}},
			{"before id", AuditFilter{BeforeID: 3}, []int64{2, 1}},
			{"nothing", AuditFilter{Action: "nope"}, []int64{}},
			{"principal", AuditFilter{Principal: "alice"}, []int64{4, 2}},
			{"principal and action", AuditFilter{Principal: "bob", Action: "exec"}, []int64{5, 3}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				es, err := db.ListAudit(ctx, tt.f)
				if err != nil {
					t.Fatalf("ListAudit() error: %v", err)
				}
				got := []int64{}
				for _, e := range es {
					got = append(got, e.ID)
					if tt.f.Principal != "" && (e.Principal != tt.f.Principal || e.Role == "") {
						t.Errorf("entry %d: principal %q role %q, want %q with its role", e.ID, e.Principal, e.Role, tt.f.Principal)
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ListAudit() IDs mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
}
