package lang

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse terminates without panicking on any input,
// returns a program or an error (never neither), keeps every node within
// the source and within its parent with consistent positions, and reports
// errors as a sorted ErrorList with valid positions.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*/*.bt", "/usr/sbin/*.bt"} {
		files, _ := filepath.Glob(pattern)
		seeds = append(seeds, files...)
	}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "{", "}", "/", "//", "/*", "#", "\"", "$", "@", "kprobe:", "BEGIN /", "BEGIN { (",
		"BEGIN { $x = ((((((1", "struct", "struct x {", "config = {", "macro m(", "fn f(",
		"k:a,,{}", "u:\"x", "BEGIN{if(1){}else", "BEGIN{for($i:0..", "a:{b,c}{d}",
		"let @", "let @m = hash(", "import \"", "import \"x\"", "BEGIN{for $i : 0..", "begin{}end{}",
		"macro m($a) { system(\"x\") }", "BEGIN{for $kv : @m {",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		type result struct {
			prog *Program
			err  error
		}
		done := make(chan result, 1)
		go func() {
			prog, err := Parse("fuzz", src)
			done <- result{prog, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse did not return within 10s")
		}
		if r.prog == nil && r.err == nil {
			t.Fatal("Parse returned neither a program nor an error")
		}
		if r.prog != nil {
			checkTree(t, src, r.prog)
			for _, u := range Features(r.prog) {
				if u.Node == nil || u.Feature == 0 {
					t.Fatalf("feature use %+v without a node or a feature", u)
				}
			}
		}
		if r.err == nil {
			return
		}
		var list ErrorList
		if !errors.As(r.err, &list) || len(list) == 0 {
			t.Fatalf("error %v is not a non-empty ErrorList", r.err)
		}
		if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Pos.Offset < list[j].Pos.Offset }) {
			t.Errorf("errors not sorted: %v", list)
		}
		lines := lineStarts(src)
		for _, e := range list {
			if strings.HasPrefix(e.Msg, "internal error") {
				t.Fatalf("%v", e)
			}
			if err := checkPos(lines, len(src), e.Pos); err != nil {
				t.Errorf("%v: Pos: %v", e, err)
			}
			if err := checkPos(lines, len(src), e.End); err != nil {
				t.Errorf("%v: End: %v", e, err)
			}
			if e.Pos.Offset > e.End.Offset {
				t.Errorf("%v: Pos after End %s", e, e.End)
			}
		}
	})
}
