package validate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

// countingCompiler records every program that would reach bpftrace.
type countingCompiler struct{ calls atomic.Int64 }

func (c *countingCompiler) Check(ctx context.Context, program string, unsafe bool) (*bpftrace.CheckResult, error) {
	c.calls.Add(1)
	return &bpftrace.CheckResult{}, nil
}

// TestPreprocessorGuardFirst checks that every hostile program of the
// corpus is refused by the right rule at the right place, with or without
// a target, and that none of them reaches the compiler; and that the
// look-alikes pass the guard.
func TestPreprocessorGuardFirst(t *testing.T) {
	comp := &countingCompiler{}
	v := New(Options{Compiler: comp})
	ctx := context.Background()
	for _, c := range preproctest.Hostile() {
		for _, scope := range []*policy.Scope{nil, {Comm: "bash"}} {
			r, err := v.Full(ctx, c.Program, scope)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			errs := r.Errors()
			if len(errs) == 0 {
				t.Fatalf("%s: hostile program passed validation", c.Name)
			}
			d := errs[0]
			if d.Code != "policy" || d.Rule != string(c.Rule) || d.Line != c.Line || d.Column != c.Column || d.Hint == "" {
				t.Errorf("%s: first error %s[%s] at %d:%d (hint %q), want policy[%s] at %d:%d", c.Name, d.Code, d.Rule, d.Line, d.Column, d.Hint, c.Rule, c.Line, c.Column)
			}
			if r.Program != nil || r.Compiled {
				t.Errorf("%s: a refused program was parsed or compiled", c.Name)
			}
		}
	}
	if n := comp.calls.Load(); n != 0 {
		t.Fatalf("%d hostile programs reached the compiler", n)
	}
	for _, c := range preproctest.LookAlikes() {
		r := v.Static(ctx, c.Program, nil)
		for _, d := range r.Diagnostics {
			if strings.HasPrefix(d.Rule, "preprocessor.") {
				t.Errorf("%s: look-alike refused: %s", c.Name, d)
			}
		}
	}
}

// TestPreprocessorNoFileRead runs the hostile corpus, pointed at a secret
// file, through validation with the real bpftrace, and watches the file
// with inotify: nothing may open it, and no diagnostic may quote it. A
// positive control first shows that bpftrace, unguarded, does open it.
func TestPreprocessorNoFileRead(t *testing.T) {
	bin := testenv.Bpftrace(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	const content = "TOPSECRETVALUE"
	if err := os.WriteFile(secret, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, secret, unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatal(err)
	}
	opened := func() bool {
		buf := make([]byte, 4096)
		n, _ := unix.Read(fd, buf)
		return n > 0
	}
	ctx := context.Background()

	// Positive control: bpftrace itself reads the file through a digraph
	// include in a struct definition.
	control := "struct x { int a;\n%:include \"" + secret + "\"\n};\nBEGIN { exit(); }\n"
	out, _ := exec.CommandContext(ctx, bin.Path, bin.CheckArgs(control, bpftrace.RunOptions{})...).CombinedOutput()
	if !opened() {
		t.Fatalf("control: bpftrace did not open the file, so this test cannot see a read; output:\n%s", out)
	}

	v := New(Options{Binary: bin, Compiler: binCompiler{bin}})
	for _, c := range preproctest.Hostile() {
		r, err := v.Full(ctx, c.Reading(secret), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if r.Valid() || r.Compiled {
			t.Errorf("%s: passed or compiled", c.Name)
		}
		if opened() {
			t.Errorf("%s: the secret file was opened", c.Name)
		}
		if strings.Contains(render(r), content) {
			t.Errorf("%s: a diagnostic quotes the file", c.Name)
		}
	}
}
