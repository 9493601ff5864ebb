package preproc_test

import (
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

// FuzzCheck checks that the guard never panics, that its positions are
// right, and, against the lang parser's own reading of directives and C
// definitions (written separately), that a program the guard passes holds
// no directive and no C definition with a # in it.
func FuzzCheck(f *testing.F) {
	for _, c := range preproctest.Corpus() {
		f.Add(c.Program)
	}
	f.Add("struct a { int x; };\nBEGIN { printf(\"%d\", sizeof(struct a)); }\n")
	f.Add("BEGIN { $x = (struct a *)0; @s[\"#\"] = 1; } // #\n")
	f.Fuzz(func(t *testing.T, src string) {
		fs := preproc.Check(src, preproc.Options{})
		last := -1
		for _, fd := range fs {
			if fd.Offset < last || fd.Offset < 0 || fd.End <= fd.Offset || fd.End > len(src) {
				t.Fatalf("bad extent %d-%d (previous %d, len %d): %v", fd.Offset, fd.End, last, len(src), fd)
			}
			last = fd.Offset
			line := 1 + strings.Count(src[:fd.Offset], "\n")
			col := fd.Offset - strings.LastIndexByte(src[:fd.Offset], '\n')
			if fd.Line != line || fd.Column != col {
				t.Fatalf("finding at offset %d says %d:%d, want %d:%d", fd.Offset, fd.Line, fd.Column, line, col)
			}
			if fd.Message == "" || fd.Hint == "" {
				t.Fatalf("finding without message or hint: %+v", fd)
			}
		}
		if len(fs) > 0 {
			return
		}
		prog, _ := lang.Parse("fuzz", src)
		if prog == nil {
			return
		}
		for _, d := range prog.Directives {
			t.Fatalf("guard passed a program in which the parser found directive %q at %s", d.Text, d.Pos())
		}
		for _, d := range prog.Defs {
			if strings.ContainsAny(d.Text, `#\"`) || strings.Contains(d.Text, "%:") || strings.Contains(d.Text, "??=") {
				t.Fatalf("guard passed C definition %q", d.Text)
			}
		}
	})
}
