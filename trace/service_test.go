package trace

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// newService serves from a real bpftrace and a real store.
func newService(t *testing.T) (*Service, *audit.Log) {
	t.Helper()
	bin := testenv.Bpftrace(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "trace.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := runner.New(runner.Options{Binary: bin, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Error(err)
		}
		if left := testenv.OwnProcesses(t, mgr.Owner()); len(left) > 0 {
			t.Errorf("processes left running: %v", left)
		}
		db.Close()
	})
	log := audit.New(db, nil)
	v := validate.New(validate.Options{Binary: bin, Catalog: catalog.New(nil), Compiler: mgr})
	s, err := New(Options{Runner: mgr, Validator: v, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	return s, log
}

// decisions lists the audit log oldest first as principal:action:decision:rule.
func decisions(t *testing.T, log *audit.Log) []string {
	t.Helper()
	es, err := log.Recent(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range slices.Backward(es) {
		got = append(got, e.Principal+":"+e.Action+":"+e.Decision+":"+e.Rule)
	}
	return got
}

// TestDecisions: every way a request ends is decided and audited once, in
// one place, with the policy's rule when the policy refused.
func TestDecisions(t *testing.T) {
	ctx := context.Background()
	s, log := newService(t)
	admin := access.Principal{Name: "a", Role: access.Admin}
	viewer := access.Principal{Name: "v", Role: access.Viewer}

	// Refused by the policy: a RefusedError whose result names the rule.
	_, err := s.Exec(ctx, admin, Request{Program: "BEGIN {\n  system(\"id\");\n}"})
	refused, ok := errors.AsType[*RefusedError](err)
	if !ok {
		t.Fatalf("policy refusal: %v", err)
	}
	if rule, denied := refused.Result.PolicyRule(); !denied || rule != "builtins.deny" || refused.ByBpftrace {
		t.Errorf("policy refusal: rule %q denied %v by bpftrace %v", rule, denied, refused.ByBpftrace)
	}
	// Refused by the preprocessor guard before anything parses it.
	if _, err := s.Exec(ctx, admin, Request{Program: "#define X 1\nBEGIN { exit(); }"}); !errors.As(err, &refused) {
		t.Fatalf("guard refusal: %v", err)
	}
	// A syntax error is refused, but not by the policy.
	if _, err := s.Exec(ctx, admin, Request{Program: "BEGIN { exit( }"}); !errors.As(err, &refused) {
		t.Fatalf("syntax refusal: %v", err)
	}
	// Refused by bpftrace's compiler after the server's checks.
	_, err = s.Exec(ctx, admin, Request{Program: `BEGIN { @x = 1; @x = "s"; exit(); }`})
	if !errors.As(err, &refused) || !refused.ByBpftrace {
		t.Fatalf("compiler refusal: %v", err)
	}
	// A viewer may validate but not run or stop.
	if _, err := s.Validate(ctx, viewer, Request{Program: "BEGIN { exit(); }"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, viewer, Request{Program: "BEGIN { exit(); }"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer ran a program: %v", err)
	}
	// Started, waited for, stopped after its end.
	run, err := s.Exec(ctx, admin, Request{Program: `BEGIN { @n = count(); exit(); }`})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait(ctx, admin, run.Execution.ID, WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runner.StatusCompleted || len(res.Maps) != 1 {
		t.Errorf("result: %+v", res)
	}
	if _, err := s.Stop(ctx, viewer, run.Execution.ID, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("viewer stopped a run: %v", err)
	}
	stop, err := s.Stop(ctx, admin, run.Execution.ID, "")
	if err != nil || !stop.AlreadyEnded {
		t.Errorf("stop after the end: %+v %v", stop, err)
	}
	if _, err := s.Result(ctx, admin, "nosuchid", Query{}); !errors.Is(err, runner.ErrNotFound) || !strings.Contains(err.Error(), "list_executions") {
		t.Errorf("unknown id: %v", err)
	}

	want := []string{
		"a:exec:denied:builtins.deny",
		"a:exec:denied:preprocessor.define",
		"a:exec:allowed:",
		"a:exec:allowed:",
		"v:validate:allowed:",
		"v:exec:denied:role",
		"a:exec:allowed:",
		"v:stop:denied:role",
		"a:stop:allowed:",
	}
	if got := decisions(t, log); !slices.Equal(got, want) {
		t.Errorf("audit:\n got %v\nwant %v", got, want)
	}
}

func TestQueryRanges(t *testing.T) {
	for _, q := range []Query{
		{Limit: -1}, {Limit: 10001}, {MaxBytes: 1}, {MaxBytes: 2 << 20}, {Wait: -time.Second}, {Wait: 2 * time.Minute}, {Offset: -1},
	} {
		if err := q.check(Budget{}.withDefaults()); err == nil {
			t.Errorf("%+v accepted", q)
		}
	}
	for _, q := range []Query{{}, {Limit: 1, MaxBytes: 1024, Wait: time.Minute}} {
		if err := q.check(Budget{}.withDefaults()); err != nil {
			t.Errorf("%+v: %v", q, err)
		}
	}
}
