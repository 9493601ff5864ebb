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

// corpusGates names the programs of testdata/broken that are broken only
// on releases without a feature of the version table, which they use. On a
// release that has it, the server must not refuse them for their version.
var corpusGates = map[string]version.Feature{
	"09-aggregate-compare.bt":         version.AggregateReads,
	"20-fentry-old-version.bt":        version.FentryNames,
	"21-rawtracepoint-old-version.bt": version.RawTracepoint,
	"25-args-dot-old-version.bt":      version.ArgsStruct,
	"35-let-old-version.bt":           version.LetDecl,
	"36-for-map-old-version.bt":       version.ForMap,
	"37-config-old-version.bt":        version.ConfigBlock,
	"38-exit-code-old-version.bt":     version.ExitCode,
}

// corpusGolden is the golden file of the diagnostics release v gives the
// broken corpus: recorded from each real release with -update, since
// bpftrace's messages differ from one to the next.
func corpusGolden(v version.Version) string {
	return filepath.Join("testdata", "bpftrace-"+v.String(), "broken.golden")
}

// TestBrokenCorpus validates every broken program of testdata/broken with
// the bpftrace under test, and compares the diagnostics (position, message,
// hint) with the golden file recorded from that release. Each program must
// be refused with an error that has a position and a hint, unless the
// version table says the release has the feature that it is broken without.
func TestBrokenCorpus(t *testing.T) {
	v := newValidator(t)
	rel := v.o.Binary.Version
	files, err := filepath.Glob("testdata/broken/*.bt")
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus has %d programs, want at least 40 (%v)", len(files), err)
	}
	for name := range corpusGates {
		if !slices.Contains(files, filepath.Join("testdata", "broken", name)) {
			t.Errorf("corpusGates names %s, which is not in testdata/broken", name)
		}
	}
	got := make([]string, len(files))
	t.Run("programs", func(t *testing.T) {
		for i, f := range files {
			name := filepath.Base(f)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				r, err := v.Full(t.Context(), string(src), nil)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = fmt.Sprintf("== %s\n%s", name, render(r))
				if gate, ok := corpusGates[name]; ok && rel.Has(gate) {
					if hasCode(r, Error, CodeVersion) {
						t.Errorf("refused for its version on %s, which has %s:\n%s", rel, gate, render(r))
					}
					// What else it gets depends on the host, not on the
					// release: whether the probe attaches here (0.27 now and
					// then finds no rawtracepoint:sched_switch).
					got[i] = fmt.Sprintf("== %s\nno version diagnostic: bpftrace %s has %s\n", name, rel, gate)
					return
				}
				errs := r.Errors()
				if len(errs) == 0 {
					t.Fatalf("no error for a broken program:\n%s", render(r))
				}
				if e := errs[0]; e.Line < 1 || e.Column < 1 || e.Hint == "" {
					t.Errorf("first error lacks a position or a hint: %+v", e)
				}
			})
		}
	})
	golden := corpusGolden(rel)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(strings.Join(got, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("no golden file for bpftrace %s: %v (record it with go test -run TestBrokenCorpus -update, that bpftrace under test)", rel, err)
	}
	if diff := cmp.Diff(string(want), strings.Join(got, "")); diff != "" {
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
