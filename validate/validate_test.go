package validate

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// binCompiler compiles with a bpftrace binary directly.
type binCompiler struct{ bin *bpftrace.Binary }

func (c binCompiler) Check(ctx context.Context, program string, unsafe bool) (*bpftrace.CheckResult, error) {
	return c.bin.Check(ctx, program, bpftrace.RunOptions{Unsafe: unsafe}, nil)
}

// newValidator is a Validator on this host, with the real bpftrace compiler.
func newValidator(t *testing.T) *Validator {
	t.Helper()
	bin := testenv.Bpftrace(t)
	return New(Options{
		Binary:   bin,
		Catalog:  catalog.New(nil),
		Compiler: binCompiler{bin},
	})
}

func render(r *Result) string {
	var b strings.Builder
	for _, d := range r.Diagnostics {
		code := string(d.Code)
		if d.Rule != "" {
			code += "[" + d.Rule + "]"
		}
		fmt.Fprintf(&b, "%d:%d-%d %s %s: %s\n", d.Line, d.Column, d.EndColumn, d.Severity, code, d.Message)
		if d.Hint != "" {
			fmt.Fprintf(&b, "    hint: %s\n", d.Hint)
		}
	}
	return b.String()
}

// TestBrokenCorpus validates every broken program of testdata/broken and
// compares the diagnostics (position, message, hint) with a golden file.
// Each program must be refused with an error that has a position and a hint.
func TestBrokenCorpus(t *testing.T) {
	v := newValidator(t)
	files, err := filepath.Glob("testdata/broken/*.bt")
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus has %d programs, want at least 40 (%v)", len(files), err)
	}
	var got strings.Builder
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := v.Full(context.Background(), string(src), nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fmt.Fprintf(&got, "== %s\n%s", filepath.Base(f), render(r))
		errs := r.Errors()
		if len(errs) == 0 {
			t.Errorf("%s: no error for a broken program:\n%s", f, render(r))
			continue
		}
		if e := errs[0]; e.Line < 1 || e.Column < 1 || e.Hint == "" {
			t.Errorf("%s: first error lacks a position or a hint: %+v", f, e)
		}
	}
	golden := "testdata/broken.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
	}
}

// TestExamplesValidate: every example program shipped with the server is
// valid for this bpftrace in the form served for it, apart from the probe
// types this host lacks.
func TestExamplesValidate(t *testing.T) {
	v := newValidator(t)
	for _, ex := range docs.ExamplesFor(v.o.Binary.Version) {
		t.Run(ex.Name, func(t *testing.T) {
			if slices.ContainsFunc(ex.ProbeTypes, func(p string) bool { return p == "uprobe" || p == "uretprobe" || p == "usdt" }) {
				// The validator resolves the binary on the host; another
				// release's bpftrace looks for it in its own root. The docs
				// package runs these examples on every release, on copies.
				testenv.RequireHostRoot(t)
			}
			r, err := v.Full(context.Background(), ex.Program, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range r.Errors() {
				if d.Code != "probe-unavailable" {
					t.Errorf("%s", d)
				}
			}
		})
	}
}

func TestValidProgram(t *testing.T) {
	v := newValidator(t)
	r, err := v.Full(context.Background(), `tracepoint:syscalls:sys_enter_openat /comm != "x"/ {
  @opens[comm, str(args->filename)] = count();
  @lat = hist(nsecs % 1000);
}
t:syscalls:sys_enter_read* { @reads = count(); }
interval:s:1 { print(@opens); clear(@opens); }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Valid() || !r.Compiled {
		t.Fatalf("valid program refused:\n%s", render(r))
	}
	if r.ProbeCount < 5 || len(r.AttachPoints) != 3 || r.AttachPoints[1].Count < 3 {
		t.Errorf("attach points %+v, count %d", r.AttachPoints, r.ProbeCount)
	}
	want := output.Schema{
		"@opens": {Name: "@opens", Type: output.TypeValue, Keys: []output.KeyKind{output.KeyString, output.KeyString}, Agg: output.AggCount},
		"@lat":   {Name: "@lat", Type: output.TypeHist, Agg: output.AggHist},
		"@reads": {Name: "@reads", Type: output.TypeValue, Agg: output.AggCount},
	}
	if diff := cmp.Diff(want, r.Maps); diff != "" {
		t.Errorf("maps mismatch (-want +got):\n%s", diff)
	}
}

func TestSyscallOf(t *testing.T) {
	for _, tt := range []struct{ fn, want string }{
		{"__x64_sys_openat", "openat"},
		{"do_sys_openat2", "openat2"},
		{"ksys_read", "read"},
		{"vfs_read", "read"},
		{"do_nanosleep", "nanosleep"},
		{"do_filp_open", ""},
		{"vfs_*", ""},
		{"tcp_sendmsg", ""},
	} {
		if got := syscallOf(tt.fn); got != tt.want {
			t.Errorf("syscallOf(%q) = %q, want %q", tt.fn, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"kitten", "sitting", 3}, {"tracepont", "tracepoint", 1}, {"", "ab", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzStatic: the Go checks never panic on any input, and every diagnostic
// they report has a message and a code.
func FuzzStatic(f *testing.F) {
	files, _ := filepath.Glob("testdata/broken/*.bt")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	v := New(Options{Catalog: catalog.New(&catalog.Options{TracefsDir: "../catalog/testdata/tracefs", SysfsDir: "../catalog/testdata/sys"}),
		Binary: &bpftrace.Binary{Version: version.Version{Minor: 17}}})
	f.Fuzz(func(t *testing.T, src string) {
		r := v.Static(context.Background(), src, nil)
		for _, d := range r.Diagnostics {
			if d.Message == "" || d.Code == "" || d.Severity == "" {
				t.Fatalf("incomplete diagnostic %+v", d)
			}
		}
	})
}
