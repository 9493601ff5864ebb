package lang

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("write golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// programs returns the .bt files matching pattern, failing if there are
// none: a corpus test that reads nothing cannot fail.
func programs(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	return files
}

func readProgram(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseSystemTools parses the tools that the bpftrace package installs.
func TestParseSystemTools(t *testing.T) {
	files, _ := filepath.Glob("/usr/sbin/*.bt")
	if len(files) == 0 {
		t.Skip("no /usr/sbin/*.bt on this machine: the bpftrace package installs its tools there")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			prog, err := Parse(f, readProgram(t, f))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(prog.Probes) == 0 {
				t.Errorf("no probes")
			}
			for _, pr := range prog.Probes {
				if pr.Body == nil || len(pr.AttachPoints) == 0 {
					t.Errorf("probe at %s: %d attach points, body %v", pr.Pos(), len(pr.AttachPoints), pr.Body != nil)
				}
				for _, ap := range pr.AttachPoints {
					if ap.Canonical == "" {
						t.Errorf("attach point %q: unknown provider", ap.Raw)
					}
				}
			}
		})
	}
}

// TestParseValidCorpus parses programs that must parse: testdata/valid
// holds bpftrace 0.17 syntax, testdata/newer the syntax of later versions.
// The AST of each is compared with NAME.golden beside it.
func TestParseValidCorpus(t *testing.T) {
	for _, dir := range []string{"valid", "newer"} {
		for _, f := range programs(t, filepath.Join("testdata", dir, "*.bt")) {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				src := readProgram(t, f)
				prog, err := Parse(filepath.Base(f), src)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkTree(t, src, prog)
				golden(t, strings.TrimSuffix(f, ".bt")+".golden", Dump(prog))
			})
		}
	}
}

// TestParseInvalidCorpus parses programs that must not parse and compares
// their errors with testdata/invalid.golden.
func TestParseInvalidCorpus(t *testing.T) {
	var out strings.Builder
	for _, f := range programs(t, filepath.Join("testdata", "invalid", "*.bt")) {
		name := filepath.Base(f)
		src := readProgram(t, f)
		prog, err := Parse(name, src)
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Errorf("%s: Parse error = %v, want an ErrorList", name, err)
			continue
		}
		if prog == nil {
			t.Errorf("%s: no partial program returned", name)
		} else {
			checkTree(t, src, prog)
		}
		fmt.Fprintf(&out, "== %s\n", name)
		for _, e := range list {
			fmt.Fprintf(&out, "%s-%s: %s\n", e.Pos, e.End, e.Msg)
			if e.Hint != "" {
				fmt.Fprintf(&out, "\thint: %s\n", e.Hint)
			}
		}
	}
	golden(t, filepath.Join("testdata", "invalid.golden"), out.String())
}

// checkTree verifies the invariants every tree keeps: each node lies within
// the source and within its parent, Pos <= End, and each position's line
// and column agree with its offset.
func checkTree(t testing.TB, src string, prog *Program) {
	t.Helper()
	lines := lineStarts(src)
	var stack []Node
	Inspect(prog, func(n Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		pos, end := n.Pos(), n.End()
		if err := checkPos(lines, len(src), pos); err != nil {
			t.Fatalf("%s: Pos: %v", label(n), err)
		}
		if err := checkPos(lines, len(src), end); err != nil {
			t.Fatalf("%s: End: %v", label(n), err)
		}
		if pos.Offset > end.Offset {
			t.Fatalf("%s: Pos %s after End %s", label(n), pos, end)
		}
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			if pos.Offset < parent.Pos().Offset || end.Offset > parent.End().Offset {
				t.Fatalf("%s %s-%s outside its parent %s %s-%s", label(n), pos, end, label(parent), parent.Pos(), parent.End())
			}
		}
		stack = append(stack, n)
		return true
	})
}

func lineStarts(src string) []int {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func checkPos(lines []int, size int, p Pos) error {
	if p.Offset < 0 || p.Offset > size {
		return fmt.Errorf("offset %d outside the source (%d bytes)", p.Offset, size)
	}
	if p.Line < 1 || p.Line > len(lines) {
		return fmt.Errorf("line %d outside the source (%d lines)", p.Line, len(lines))
	}
	if want := p.Offset - lines[p.Line-1] + 1; p.Column != want || p.Line < len(lines) && p.Offset >= lines[p.Line] {
		return fmt.Errorf("%s does not match offset %d", p, p.Offset)
	}
	return nil
}
