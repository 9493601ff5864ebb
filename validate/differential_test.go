package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
	"github.com/bpftrace-mcp/bpftrace-mcp/verdict"
)

// dumpingCompiler is the real bpftrace, counting its AST dumps.
type dumpingCompiler struct {
	binCompiler
	dumps atomic.Int64
}

func (c *dumpingCompiler) DumpAST(ctx context.Context, program string, unsafe bool) (*bpftrace.AST, error) {
	c.dumps.Add(1)
	return c.bin.DumpAST(ctx, program, bpftrace.RunOptions{Unsafe: unsafe}, nil)
}

// differentialPrograms are the look-alikes of the corpus and programs
// with C definitions that the guard passes.
func differentialPrograms() map[string]string {
	progs := map[string]string{
		"struct-and-tracepoint": "struct foo { int a; long b; };\ntracepoint:syscalls:sys_enter_openat /pid > 1/ { @[comm] = count(); printf(\"%d\\n\", sizeof(struct foo)); }\n",
		"enum-values":           "enum color { RED = 1, GREEN };\nBEGIN { printf(\"%d\\n\", GREEN); exit(); }\n",
		"union-cast":            "union u { int a; long b; };\nBEGIN { $p = (union u *)0; exit(); }\n",
	}
	for _, c := range preproctest.LookAlikes() {
		progs[c.Name] = c.Program
	}
	return progs
}

// TestDifferentialLookAlikes checks, against the real bpftrace, that the
// Go view and bpftrace's AST agree on every program the guard passes, with
// and without a target: a false difference would refuse a good program.
// Programs without directive characters are compared too, although the
// product skips them, to keep the Go view honest.
func TestDifferentialLookAlikes(t *testing.T) {
	bin := testenv.Bpftrace(t)
	if !bin.HasParserAST() && !bin.HasMacroPassAST() {
		t.Skipf("bpftrace %s: its AST is not read here, so the differential check is unavailable", bin.Version)
	}
	v := New(Options{Binary: bin})
	var compared atomic.Int64
	t.Run("programs", func(t *testing.T) {
		for name, src := range differentialPrograms() {
			for _, scope := range []*policy.Scope{nil, {Comm: "bash"}} {
				t.Run(fmt.Sprintf("%s/target=%v", name, scope != nil), func(t *testing.T) {
					t.Parallel()
					ctx := t.Context()
					r := v.Static(ctx, src, scope)
					if !r.Valid() {
						// $# passes the guard, and is then refused as a
						// positional parameter; nothing else may be refused.
						if errs := r.Errors(); errs[0].Code != "unsupported" {
							t.Fatalf("%s: %v", name, errs)
						}
						return
					}
					ast, err := bin.DumpAST(ctx, r.Source, bpftrace.RunOptions{}, nil)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					v.compareAST(r, ast, verdict.Key{})
					for _, d := range r.Errors() {
						t.Errorf("%s (target %v): %s", name, scope, d.Message)
					}
					compared.Add(1)
				})
			}
		}
	})
	t.Logf("bpftrace %s: %d programs compared with bpftrace's AST", bin.Version, compared.Load())
}

// TestDifferentialOnce checks the cost side: validate then exec asks
// bpftrace for its AST once (inside validate's own compile check), exec
// alone asks once for a program with a # (here in a string) and never for
// one without any directive character.
func TestDifferentialOnce(t *testing.T) {
	bin := testenv.Bpftrace(t)
	if !bin.HasParserAST() && !bin.HasMacroPassAST() {
		t.Skipf("bpftrace %s: its AST is not read here", bin.Version)
	}
	ctx := context.Background()
	withC := "struct foo { int a; };\nBEGIN { printf(\"#%d\\n\", sizeof(struct foo)); exit(); }\n"
	plain := "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\n"

	matched := DiffMatched
	if bin.HasMacroPassAST() {
		matched = DiffMacroPass
	}
	comp := &dumpingCompiler{binCompiler: binCompiler{bin}}
	v := New(Options{Binary: bin, Compiler: comp})
	r, err := v.Full(ctx, withC, nil)
	if err != nil || !r.Valid() || r.Differential != matched {
		t.Fatalf("validate: %v %v %q", err, r.Errors(), r.Differential)
	}
	// Before 0.22 the compile check carries the AST; from 0.22 the check is
	// a dry run without it, and validate pays one parse-only run.
	var want int64
	if !bin.PrintsParserAST() {
		want = 1
	}
	if n := comp.dumps.Load(); n != want {
		t.Fatalf("validate dumped the AST %d times, want %d", n, want)
	}
	e := v.Static(ctx, withC, nil)
	if err := v.Differential(ctx, e); err != nil || e.Differential != DiffCached || comp.dumps.Load() != want {
		t.Fatalf("exec after validate: %v %q, %d dumps", err, e.Differential, comp.dumps.Load())
	}

	v = New(Options{Binary: bin, Compiler: comp})
	e = v.Static(ctx, withC, &policy.Scope{PID: 1})
	if err := v.Differential(ctx, e); err != nil || e.Differential != matched || comp.dumps.Load() != want+1 {
		t.Fatalf("exec alone, a # in a string: %v %q, %d dumps", err, e.Differential, comp.dumps.Load())
	}
	e = v.Static(ctx, plain, nil)
	if err := v.Differential(ctx, e); err != nil || e.Differential != DiffNoDirective || comp.dumps.Load() != want+1 {
		t.Fatalf("exec alone, no directive character: %v %q, %d dumps", err, e.Differential, comp.dumps.Load())
	}
}

// TestDifferentialAlone shows what the second lock catches on its own:
// each macro-definition program of the hostile corpus (pointed at a
// harmless file) is parsed by the real bpftrace, bypassing the guard, and
// compared with the Go view of its text. Each must differ. The product
// never does this; the guard refuses these programs first.
func TestDifferentialAlone(t *testing.T) {
	bin := testenv.Bpftrace(t)
	if !bin.HasParserAST() && !bin.HasMacroPassAST() {
		t.Skipf("bpftrace %s: its AST is not read here", bin.Version)
	}
	harmless := filepath.Join(t.TempDir(), "harmless.txt")
	if err := os.WriteFile(harmless, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := New(Options{Binary: bin})
	ctx := context.Background()
	tried, caught := 0, 0
	for _, c := range preproctest.Hostile() {
		if c.Rule != preproc.RuleDefine || !strings.Contains(c.Program, "BEGIN { Y") && !strings.Contains(c.Name, "predicate") && !strings.Contains(c.Name, "recursive") && !strings.Contains(c.Name, "map-key") && !strings.Contains(c.Name, "hides-cat") {
			continue
		}
		tried++
		src := c.Reading(harmless)
		ast, err := bin.DumpAST(ctx, src, bpftrace.RunOptions{}, nil)
		if errors.Is(err, bpftrace.ErrNoAST) {
			caught++
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		prog, perr := lang.Parse("stdin", src)
		if perr != nil {
			caught++
			continue
		}
		r := &Result{Program: prog, parsed: src, Source: src}
		v.compareAST(r, ast, verdict.Key{})
		if r.Valid() {
			t.Errorf("%s: the differential check alone did not see the rewrite", c.Name)
			continue
		}
		caught++
	}
	if tried == 0 {
		t.Fatal("no macro program tried")
	}
	t.Logf("bpftrace %s: the differential check alone refused %d of %d macro rewrites", bin.Version, caught, tried)
}
