package lang

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInspectFindsEveryCall walks a program the way a security policy does
// and must find every call, wherever it is written.
func TestInspectFindsEveryCall(t *testing.T) {
	src := `config = { max_strlen = c0() }
macro m($x) { c1($x) }
fn f($a: int64): int64 { return c2($a); }
kprobe:a /c3(arg0) ? c4() : 0/ {
	if (c5()) { c6(); } else if (c7()) { c8(); } else { c9(); }
	while (c10()) { unroll(2) { c11(); } }
	for ($kv : @m) { c12(); }
	@x[c13(), c14()] = (uint64)c15() + sizeof(c16()) + $t.0->f[c17()];
	$y = (c18(), c19());
	system /* a comment */ ("id");
	cat
	("/etc/shadow");
	{ signal("KILL"); }
	override(0)
}`
	prog, err := Parse("test", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	Inspect(prog, func(n Node) bool {
		if c, ok := n.(*Call); ok {
			got = append(got, c.Name)
		}
		return true
	})
	want := []string{
		"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11", "c12", "c13", "c14",
		"c15", "c16", "c17", "c18", "c19", "system", "cat", "signal", "override",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestInspectSkipsChildren(t *testing.T) {
	prog, err := Parse("test", "BEGIN { printf(\"%d\", count()); } END { exit(); }")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	nils := 0
	Inspect(prog, func(n Node) bool {
		switch n := n.(type) {
		case nil:
			nils++
		case *Call:
			got = append(got, n.Name)
			return false // do not look at printf's arguments
		}
		return true
	})
	if diff := cmp.Diff([]string{"printf", "exit"}, got); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
	// f(nil) follows every node for which f returned true: the program, two
	// probes, two attach points, two blocks and two statements.
	if nils != 9 {
		t.Errorf("f(nil) called %d times, want 9", nils)
	}
}

// TestDirectives checks that every preprocessor line is found, including
// those clang would read inside a C definition and those in places where
// they are syntax errors.
func TestDirectives(t *testing.T) {
	src := "#!/usr/bin/env bpftrace\n" +
		"#include <linux/sched.h>\n" +
		"  #  include \"/etc/passwd\"\n" +
		"#define X 1\n" +
		"struct s {\n#include \"/etc/shadow\"\n  int a;\n};\n" +
		"BEGIN { $x = 1 #include_next <x.h>\n}\n" +
		"#import \"y.h\"\n"
	type dir struct {
		Name, Arg, Path string
		Angled, Include bool
		InDef           bool
		Line            int
	}
	var got []dir
	prog, err := Parse("test", src)
	if err == nil {
		t.Fatal("Parse succeeded, want errors for the directives in and after the probe")
	}
	for _, d := range prog.Directives {
		path, angled := d.IncludePath()
		got = append(got, dir{d.Name, d.Arg, path, angled, d.IsInclude(), d.InDefinition, d.Pos().Line})
	}
	want := []dir{
		{"include", "<linux/sched.h>", "linux/sched.h", true, true, false, 2},
		{"include", `"/etc/passwd"`, "/etc/passwd", false, true, false, 3},
		{"define", "X 1", "X 1", false, false, false, 4},
		{"include", `"/etc/shadow"`, "/etc/shadow", false, true, true, 6},
		{"include_next", "<x.h>", "x.h", true, true, false, 9},
		{"import", `"y.h"`, "y.h", false, true, false, 11},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directives mismatch (-want +got):\n%s", diff)
	}
	if len(prog.Comments) != 1 || prog.Comments[0].Text != "#!/usr/bin/env bpftrace" {
		t.Errorf("comments = %v, want the #! line only", prog.Comments)
	}
}
