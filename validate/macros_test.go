package validate

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
)

// macroPrograms use only the macros the expander applies.
var macroPrograms = map[string]string{
	"number":        "#define LIMIT 10\nBEGIN { printf(\"%d\\n\", LIMIT); exit(); }\n",
	"string":        "#define NAME \"bash\"\ntracepoint:syscalls:sys_enter_openat /comm == NAME/ { @[comm] = count(); }\n",
	"builtin-value": "#define WHO pid\nBEGIN { @[WHO] = count(); exit(); }\n",
	"chained":       "#define A B\n#define B 5\nBEGIN { @x = A + B; exit(); }\n",
	"self":          "#define X X\nBEGIN { printf(\"X\\n\"); exit(); }\n",
	"in-strings":    "#define N 1\nBEGIN { printf(\"N %d\\n\", N); @N = N; $N = N; exit(); } // N\n",
	"hex":           "#define MASK 0xff\nBEGIN { printf(\"%d\\n\", 300 & MASK); exit(); }\n",
}

// parserAST returns the parser AST bpftrace prints for src, from its
// Program node on (before it, 0.17 echoes the C definitions).
func parserAST(t *testing.T, bin *bpftrace.Binary, src string) string {
	t.Helper()
	out, _ := exec.Command(bin.Path, bin.ASTArgs(src, bpftrace.RunOptions{})...).Output()
	s := string(out)
	i := strings.Index(s, "AST after: parser")
	if i < 0 {
		t.Fatalf("no AST for %q", src)
	}
	s = s[i:]
	if j := strings.Index(s[1:], "AST after: "); j >= 0 {
		s = s[:j+1]
	}
	return s[strings.Index(s, "\nProgram\n"):]
}

// TestMacroExpansionExact checks the expander against the real bpftrace:
// the AST bpftrace makes of the program with its #define lines is the AST
// it makes of the Go expansion, so that allowing macros changes nothing
// of what runs. (These benign macros reach bpftrace only in this test.)
func TestMacroExpansionExact(t *testing.T) {
	bin := testenv.Bpftrace(t)
	if !bin.HasParserAST() {
		t.Skipf("bpftrace %s: its AST is not read here (from 0.24 C macros are expanded by an AST pass)", bin.Version)
	}
	for name, src := range macroPrograms {
		got, fs := preproc.Expand(src, reservedWord, preproc.Options{})
		if len(fs) > 0 {
			t.Fatalf("%s: refused: %v", name, fs)
		}
		if a, b := parserAST(t, bin, src), parserAST(t, bin, got); a != b {
			t.Errorf("%s: bpftrace reads the macros differently from the expansion:\nwith #define:\n%s\nexpanded:\n%s", name, a, b)
		}
	}
}

// TestMacrosJudged: with macros allowed, the policy judges the expansion,
// and the expansion is what would run; without, every #define is refused.
func TestMacrosJudged(t *testing.T) {
	p := policy.Default()
	p.AllowMacros = true
	v := New(Options{Policy: &p})
	ctx := context.Background()
	for _, tc := range []struct{ name, src, rule string }{
		{"cat-through-name", "#define C cat\nBEGIN { C(\"/etc/shadow\"); exit(); }\n", string(preproc.RuleMacro)},
		{"system-through-name", "#define S system\nBEGIN { S(\"id\"); exit(); }\n", string(preproc.RuleMacro)},
		{"path-through-string", "#define F \"/etc/shadow\"\nBEGIN { cat(F); exit(); }\n", "cat.paths"},
		{"predicate-rewrite", "#define Y 1) || (1\ntracepoint:syscalls:sys_enter_openat /Y + 0/ { exit(); }\n", string(preproc.RuleMacro)},
		{"call-body", "#define Y cat(\"/etc/shadow\")\nBEGIN { Y; exit(); }\n", string(preproc.RuleMacro)},
		{"include", "#define Y 1\n#include \"/etc/shadow\"\nBEGIN { exit(); }\n", string(preproc.RuleInclude)},
	} {
		r := v.Static(ctx, tc.src, &policy.Scope{Comm: "bash"})
		errs := r.Errors()
		if len(errs) == 0 || errs[0].Rule != tc.rule {
			t.Errorf("%s: got %v, want %s", tc.name, errs, tc.rule)
		}
	}
	r := v.Static(ctx, macroPrograms["string"], &policy.Scope{Comm: "bash"})
	if !r.Valid() || strings.Contains(r.Source, "#define") || !strings.Contains(r.Source, `/(comm == "bash") && (comm == "bash")/`) {
		t.Errorf("expanded and scoped source = %q, %v", r.Source, r.Errors())
	}
	off := New(Options{})
	if r := off.Static(ctx, macroPrograms["number"], nil); r.Valid() || r.Errors()[0].Rule != string(preproc.RuleDefine) {
		t.Errorf("macros off: %v", r.Errors())
	}
}
