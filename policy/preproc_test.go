package policy

import (
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

// TestCheckSourceCorpus: the policy refuses every hostile program of the
// preprocessor corpus by its text alone, before anything parses it, and
// Check does so too when given the source.
func TestCheckSourceCorpus(t *testing.T) {
	p := Default()
	for _, c := range preproctest.Hostile() {
		vs := p.CheckSource(c.Program)
		if len(vs) == 0 || vs[0].Rule != string(c.Rule) || vs[0].Pos.Line != c.Line || vs[0].Pos.Column != c.Column {
			t.Errorf("%s: CheckSource = %v, want %s at %d:%d", c.Name, vs, c.Rule, c.Line, c.Column)
			continue
		}
		prog, err := lang.Parse("stdin", c.Program)
		got := p.Check(Input{Source: c.Program, Program: prog, ParseErr: err})
		if len(got) == 0 || got[0].Rule != string(c.Rule) {
			t.Errorf("%s: Check with Source = %v, want %s first", c.Name, got, c.Rule)
		}
	}
	for _, c := range preproctest.LookAlikes() {
		if vs := p.CheckSource(c.Program); len(vs) > 0 {
			t.Errorf("%s: look-alike refused: %v", c.Name, vs)
		}
	}
}

// TestMacroBodiesJudged: calls inside bpftrace's own macros (0.24 and
// later) are judged like calls anywhere else, whether or not the macro is
// used, and so are cat() paths in them.
func TestMacroBodiesJudged(t *testing.T) {
	p := Default()
	for _, tc := range []struct {
		name, src, rule string
	}{
		{"system-in-macro", "macro run() { system(\"id\") }\nBEGIN { run(); exit(); }\n", "builtins.deny"},
		{"unused-macro", "macro run() { system(\"id\") }\nBEGIN { exit(); }\n", "builtins.deny"},
		{"cat-in-macro", "macro rd() { cat(\"/etc/shadow\") }\nBEGIN { rd(); exit(); }\n", "cat.paths"},
		{"signal-in-macro-arg", "macro m($x) { $x }\nBEGIN { m(signal(9)); exit(); }\n", "builtins.deny"},
		{"nested-macro-statement", "macro a() { if (1) { system(\"id\"); } }\nBEGIN { a(); }\n", "builtins.deny"},
		{"override-in-macro-block", "macro m(@x) { @x = 1; override(0); }\nkprobe:f { m(@a); }\n", "builtins.deny"},
	} {
		prog, err := lang.Parse("stdin", tc.src)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.name, err)
		}
		vs := p.Check(Input{Source: tc.src, Program: prog})
		if len(vs) == 0 || vs[0].Rule != tc.rule {
			t.Errorf("%s: got %v, want %s", tc.name, vs, tc.rule)
		}
	}
	// A macro that calls nothing refused passes.
	src := "macro add($a, $b) { $a + $b }\nBEGIN { printf(\"%d\\n\", add(1, 2)); exit(); }\n"
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		t.Fatal(err)
	}
	if vs := p.Check(Input{Source: src, Program: prog}); len(vs) > 0 {
		t.Errorf("harmless macro refused: %v", vs)
	}
}

// TestImportsRefused: an import (bpftrace 0.24 and later) makes bpftrace
// read and run a file the policy never sees (0.27 runs the probes and
// macros of an imported .bt file, and a file any local user can write
// could carry cat("/etc/shadow")): it is refused, at the import's line and
// column, even when includes are allowed.
func TestImportsRefused(t *testing.T) {
	for _, allowIncludes := range []bool{false, true} {
		p := Default()
		p.AllowIncludes = allowIncludes
		for _, src := range []string{
			"import \"/tmp/x.bt\";\nBEGIN { leak(); exit(); }\n",
			"import \"/tmp/x.bt\";\nEND { }\n",
			"import \"linux/sched.h\";\nBEGIN { exit(); }\n",
			"import \"/tmp/dir\";\nimport \"/tmp/y.bt\";\nBEGIN { exit(); }\n",
		} {
			prog, err := lang.Parse("stdin", src)
			if err != nil {
				t.Fatalf("%q: parse: %v", src, err)
			}
			vs := p.Check(Input{Source: src, Program: prog})
			if len(vs) == 0 || vs[0].Rule != "preprocessor.include" || vs[0].Pos.Line != 1 || vs[0].Pos.Column != 1 {
				t.Errorf("allow_includes=%v, %q: got %+v, want preprocessor.include at 1:1", allowIncludes, src, vs)
			}
		}
	}
}
