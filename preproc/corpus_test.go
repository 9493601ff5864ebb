package preproc_test

import (
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

func TestCorpus(t *testing.T) {
	cases := preproctest.Corpus()
	refused, allowed := 0, 0
	rules := map[preproc.Rule]int{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			fs := preproc.Check(c.Program, preproc.Options{})
			if !c.Refuse {
				if len(fs) > 0 {
					t.Fatalf("look-alike refused: %v\n%s", fs, c.Program)
				}
				allowed++
				return
			}
			if len(fs) == 0 {
				t.Fatalf("hostile program passed:\n%s", c.Program)
			}
			f := fs[0]
			if f.Rule != c.Rule || f.Line != c.Line || f.Column != c.Column {
				t.Fatalf("first finding %s at %d:%d, want %s at %d:%d (all: %v)\n%s", f.Rule, f.Line, f.Column, c.Rule, c.Line, c.Column, fs, c.Program)
			}
			if f.Message == "" || f.Hint == "" {
				t.Errorf("finding without message or hint: %+v", f)
			}
			refused++
			rules[f.Rule]++
		})
	}
	if refused < 100 || allowed < 30 {
		t.Errorf("corpus has %d refused hostile programs and %d allowed look-alikes; want at least 100 and 30", refused, allowed)
	}
	for _, r := range preproc.Rules {
		if rules[r] == 0 {
			t.Errorf("no hostile program is refused by %s", r)
		}
	}
	t.Logf("corpus: %d hostile refused, %d look-alikes allowed", refused, allowed)
}

// TestAllowInclude checks the administrator's one exception: a plain
// #include outside C text, and nothing else.
func TestAllowInclude(t *testing.T) {
	o := preproc.Options{AllowInclude: true}
	for _, tc := range []struct {
		src  string
		want preproc.Rule // "" when it passes
	}{
		{"#include <linux/sched.h>\nBEGIN { exit(); }\n", ""},
		{"  #include \"vmlinux.h\"\nBEGIN { exit(); }\n", ""},
		{"#include_next <x.h>\n", ""},
		{"#embed \"/etc/shadow\"\n", preproc.RuleInclude},
		{"%:include <x.h>\n", preproc.RuleDigraph},
		{"??=include <x.h>\n", preproc.RuleTrigraph},
		{"struct x {\n#include <x.h>\n};\n", preproc.RuleInclude},
		{"#include <x.h>\n#define Y 1\n", preproc.RuleDefine},
	} {
		fs := preproc.Check(tc.src, o)
		switch {
		case tc.want == "" && len(fs) > 0:
			t.Errorf("%q: refused with AllowInclude: %v", tc.src, fs)
		case tc.want != "" && (len(fs) == 0 || fs[0].Rule != tc.want):
			t.Errorf("%q: got %v, want %s", tc.src, fs, tc.want)
		}
	}
}

// TestPositions checks offsets, lines and columns on a program with
// several findings, tabs and multi-byte characters.
func TestPositions(t *testing.T) {
	src := "// é\n\t#define A 1\nBEGIN { @a<:1:> = 1; }\n"
	fs := preproc.Check(src, preproc.Options{})
	want := []struct {
		rule      preproc.Rule
		line, col int
		text      string
	}{
		{preproc.RuleDefine, 2, 2, "#define"},
		{preproc.RuleDigraph, 3, 11, "<:"},
		{preproc.RuleDigraph, 3, 14, ":>"},
	}
	if len(fs) != len(want) {
		t.Fatalf("got %v, want %d findings", fs, len(want))
	}
	for i, w := range want {
		f := fs[i]
		if f.Rule != w.rule || f.Line != w.line || f.Column != w.col || src[f.Offset:f.End] != w.text {
			t.Errorf("finding %d: %s %d:%d %q, want %s %d:%d %q", i, f.Rule, f.Line, f.Column, src[f.Offset:f.End], w.rule, w.line, w.col, w.text)
		}
	}
}

// BenchmarkCheck measures the guard over every program of the corpus: the
// cost it adds in front of every validation and run.
func BenchmarkCheck(b *testing.B) {
	cases := preproctest.Corpus()
	n := 0
	for _, c := range cases {
		n += len(c.Program)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, c := range cases {
			preproc.Check(c.Program, preproc.Options{})
		}
	}
}
