package preproc_test

import (
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

func reserved(w string) bool {
	switch w {
	case "printf", "cat", "pid", "comm", "if", "kprobe", "exit":
		return true
	}
	return false
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
		rule            preproc.Rule // when refused
	}{
		{"number", "#define LIMIT 10\nBEGIN { printf(\"%d\\n\", LIMIT); }\n", "\nBEGIN { printf(\"%d\\n\", 10); }\n", ""},
		{"string-and-name", "#define NAME \"bash\"\n#define WHO pid\nt:a:b /comm == NAME/ { @[WHO] = count(); }\n",
			"\n\nt:a:b /comm == \"bash\"/ { @[pid] = count(); }\n", ""},
		{"chained", "#define A B\n#define B 5\nBEGIN { @x = A; }\n", "\n\nBEGIN { @x = 5; }\n", ""},
		{"self-reference", "#define X X\nBEGIN { @x = X; }\n", "\nBEGIN { @x = X; }\n", ""},
		{"cycle", "#define X Y\n#define Y X\nBEGIN { @x = X; }\n", "\n\nBEGIN { @x = X; }\n", ""},
		{"not-in-strings-comments-maps", "#define N 1\nBEGIN { printf(\"N\"); @N = $N; // N\n /* N */ }\n",
			"\nBEGIN { printf(\"N\"); @N = $N; // N\n /* N */ }\n", ""},
		{"not-in-paths", "#define sys_enter_read 1\ntracepoint:syscalls:sys_enter_read { exit(); }\n",
			"\ntracepoint:syscalls:sys_enter_read { exit(); }\n", ""},
		{"into-call-name", "#define C cat\nBEGIN { C(\"/etc/shadow\"); }\n", "", preproc.RuleMacro},
		{"into-call-name-spaced", "#define C cat\nBEGIN { C\n (\"/etc/shadow\"); }\n", "", preproc.RuleMacro},
		{"indented", "  #  define L 3\nBEGIN { @x = L; }\n", "\nBEGIN { @x = 3; }\n", ""},
		{"crlf", "#define L 3\r\nBEGIN { @x = L; }\r\n", "\nBEGIN { @x = 3; }\r\n", ""},
		{"no-macros", "BEGIN { exit(); }\n", "BEGIN { exit(); }\n", ""},
		{"call-body", "#define Y cat(\"/etc/shadow\")\nBEGIN { Y; }\n", "", preproc.RuleMacro},
		{"predicate-rewrite", "#define Y 1) || (1\nt:a:b /Y/ { }\n", "", preproc.RuleMacro},
		{"function-like", "#define F(x) x\nBEGIN { F(1); }\n", "", preproc.RuleMacro},
		{"reserved-name", "#define pid 1\nBEGIN { @x = pid; }\n", "", preproc.RuleMacro},
		{"reserved-provider", "#define kprobe tracepoint\nkprobe:f { }\n", "", preproc.RuleMacro},
		{"two-tokens", "#define Y a b\nBEGIN { }\n", "", preproc.RuleMacro},
		{"string-with-quote", "#define S \"a\\\"b\"\nBEGIN { }\n", "", preproc.RuleMacro},
		{"continued", "#define Y 1 \\\n+ 2\nBEGIN { }\n", "", preproc.RuleMacro},
		{"empty", "#define Y\nBEGIN { }\n", "", preproc.RuleMacro},
		{"include-still-refused", "#define Y 1\n#include \"/etc/shadow\"\n", "", preproc.RuleInclude},
		{"digraph-define", "%:define Y 1\nBEGIN { @x = Y; }\n", "", preproc.RuleDigraph},
		{"define-in-struct", "struct a {\n#define Y 1\n int x; };\n", "", preproc.RuleDefine},
		{"undef", "#define Y 1\n#undef Y\n", "", preproc.RuleDefine},
		{"comment-in-directive", "#/**/define Y 1\n", "", preproc.RuleMacro},
		{"comment-in-value", "#define Y 1 // one\n", "", preproc.RuleMacro},
		{"mid-line", "BEGIN { } #define Y 1\n", "", preproc.RuleDefine},
	} {
		got, fs := preproc.Expand(tc.src, reserved, preproc.Options{})
		if tc.rule != "" {
			if len(fs) == 0 || fs[0].Rule != tc.rule {
				t.Errorf("%s: got %q %v, want refusal by %s", tc.name, got, fs, tc.rule)
			}
			continue
		}
		if len(fs) > 0 || got != tc.want {
			t.Errorf("%s: got %q %v, want %q", tc.name, got, fs, tc.want)
		}
	}
}

// TestExpandCorpus: with macros allowed, every hostile program is still
// refused except those whose only construct is an expandable #define, and
// those come out free of any construct.
func TestExpandCorpus(t *testing.T) {
	for _, c := range preproctest.Corpus() {
		got, fs := preproc.Expand(c.Program, reserved, preproc.Options{})
		if len(fs) > 0 {
			if !c.Refuse {
				t.Errorf("%s: look-alike refused: %v", c.Name, fs)
			}
			continue
		}
		if rest := preproc.Check(got, preproc.Options{}); len(rest) > 0 {
			t.Errorf("%s: expansion still holds %v", c.Name, rest)
		}
		if c.Refuse && c.Rule != preproc.RuleDefine {
			t.Errorf("%s: refused by %s without macros, expanded with them", c.Name, c.Rule)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, c := range preproctest.Corpus() {
		f.Add(c.Program)
	}
	f.Add("#define A B\n#define B \"x\"\nBEGIN { printf(A); @m[A] = B; }\n")
	f.Fuzz(func(t *testing.T, src string) {
		got, fs := preproc.Expand(src, reserved, preproc.Options{})
		if len(fs) > 0 {
			return
		}
		if rest := preproc.Check(got, preproc.Options{}); len(rest) > 0 {
			t.Fatalf("expansion of %q holds %v", src, rest)
		}
		if strings.Count(got, "\n") != strings.Count(src, "\n") {
			t.Fatalf("expansion changed the line count: %q -> %q", src, got)
		}
	})
}
