package validate

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// tableCompiler answers from a table and counts the compiles: the
// question here is how often bpftrace is asked, not what it says.
type tableCompiler struct {
	n       atomic.Int32
	refused map[string]string // program -> bpftrace's stderr
}

func (c *tableCompiler) Check(_ context.Context, program string, _ bool) (*bpftrace.CheckResult, error) {
	c.n.Add(1)
	if msg, ok := c.refused[program]; ok {
		return &bpftrace.CheckResult{Stderr: bpftrace.ParseStderr(msg), Status: bpftrace.ExitStatus{Code: 1}}, nil
	}
	return &bpftrace.CheckResult{}, nil
}

func TestFullCompilesAProgramOnce(t *testing.T) {
	const good, bad = "BEGIN { exit(); }", "BEGIN { @x = foo(); }"
	c := &tableCompiler{refused: map[string]string{bad: "stdin:1:15-20: ERROR: Unknown function: foo\n"}}
	v := New(Options{Compiler: c})
	ctx := context.Background()
	for range 3 {
		r, err := v.Full(ctx, good, nil)
		if err != nil || !r.Valid() || !r.Compiled {
			t.Fatalf("Full(good) = %+v, %v", r, err)
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("three validations of one program compiled it %d times, want 1", n)
	}
	// A refusal is remembered too, and an exec of the same program is
	// refused from it without a run.
	if r, _ := v.Full(ctx, bad, nil); r.Valid() {
		t.Fatal("bad program validated")
	}
	r := v.Static(ctx, bad, nil)
	if !r.Valid() {
		t.Skipf("the Go checks refuse %q already: %v", bad, r.Errors())
	}
	if !v.KnownRefusal(ctx, r) || r.Valid() {
		t.Errorf("KnownRefusal after bpftrace refused the program: %v, diagnostics %v", r.Valid(), r.Diagnostics)
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("%d compiles, want 2 (one per program)", n)
	}
	// A program never seen, or one bpftrace accepted, is no known refusal.
	if v.KnownRefusal(ctx, v.Static(ctx, good, nil)) {
		t.Error("a program bpftrace accepted counted as refused")
	}
	if v.KnownRefusal(ctx, v.Static(ctx, "BEGIN { printf(\"new\\n\"); }", nil)) {
		t.Error("a program never compiled counted as refused")
	}
}

func TestVerdictsDoNotCrossPolicies(t *testing.T) {
	c := &tableCompiler{}
	strict := policy.Default()
	strict.MaxAttachPoints = 5
	shared := New(Options{Compiler: c}).o.Verdicts
	a := New(Options{Compiler: c, Verdicts: shared})
	b := New(Options{Compiler: c, Verdicts: shared, Policy: &strict})
	ctx := context.Background()
	for _, v := range []*Validator{a, b, a, b} {
		if _, err := v.Full(ctx, "BEGIN { exit(); }", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("two policies, one program: %d compiles, want 2 (one per policy)", n)
	}
}

// killedCompiler is a bpftrace killed from outside while it compiled.
type killedCompiler struct{ n atomic.Int32 }

func (c *killedCompiler) Check(context.Context, string, bool) (*bpftrace.CheckResult, error) {
	c.n.Add(1)
	return &bpftrace.CheckResult{Status: bpftrace.ExitStatus{Code: -1, Signal: syscall.SIGKILL}}, nil
}

func TestKilledCompileIsNoVerdict(t *testing.T) {
	c := &killedCompiler{}
	v := New(Options{Compiler: c})
	ctx := context.Background()
	for range 2 {
		if r, err := v.Full(ctx, "BEGIN { exit(); }", nil); err != nil || r.Valid() {
			t.Fatalf("Full with a killed bpftrace: valid %v, %v", r.Valid(), err)
		}
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("a killed compile was remembered: %d compiles for two validations, want 2", n)
	}
	if v.KnownRefusal(ctx, v.Static(ctx, "BEGIN { exit(); }", nil)) {
		t.Error("a killed compile counts as bpftrace's refusal")
	}
}
