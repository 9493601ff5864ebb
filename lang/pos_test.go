package lang

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// find returns the first node, in Inspect order, that label describes as
// want (see label in dump.go), or nil.
func find(root Node, want string) Node {
	var found Node
	Inspect(root, func(n Node) bool {
		if found != nil || n == nil {
			return false
		}
		if label(n) == want {
			found = n
			return false
		}
		return true
	})
	return found
}

func TestNodePositions(t *testing.T) {
	for _, tt := range []struct {
		name, src, node string
		wantRange       string
		wantText        string
	}{
		{
			name: "call with a space before the parenthesis",
			src:  `BEGIN { system ("id"); }`, node: "Call system",
			wantRange: "1:9-1:22", wantText: `system ("id")`,
		},
		{
			name: "probe from first attach point to closing brace",
			src:  "// c\nkprobe:a,\n  kprobe:b\n/pid/\n{\n}\n", node: "Probe",
			wantRange: "2:1-6:2", wantText: "kprobe:a,\n  kprobe:b\n/pid/\n{\n}",
		},
		{
			name: "predicate expression",
			src:  "kprobe:f / pid == 1 / {}", node: "Binary ==",
			wantRange: "1:12-1:20", wantText: "pid == 1",
		},
		{
			name: "map with keys",
			src:  "BEGIN { @m[1, comm] = count(); }", node: "MapExpr @m",
			wantRange: "1:9-1:20", wantText: "@m[1, comm]",
		},
		{
			name: "assignment",
			src:  "BEGIN { @m[1] += 2 }", node: "Assign +=",
			wantRange: "1:9-1:19", wantText: "@m[1] += 2",
		},
		{
			name: "cast covers the parenthesised type and the operand",
			src:  "BEGIN { $t = (struct task_struct *)curtask; }", node: "Cast",
			wantRange: "1:14-1:43", wantText: "(struct task_struct *)curtask",
		},
		{
			name: "type inside a cast",
			src:  "BEGIN { $t = (struct task_struct *)curtask; }", node: `Type "struct task_struct *"`,
			wantRange: "1:15-1:35", wantText: "struct task_struct *",
		},
		{
			name: "field chain",
			src:  "BEGIN { $p = curtask->real_parent->pid; }", node: "Field ->pid",
			wantRange: "1:14-1:39", wantText: "curtask->real_parent->pid",
		},
		{
			name: "postfix increment",
			src:  "BEGIN { @c[pid]++; }", node: "Unary postfix ++",
			wantRange: "1:9-1:18", wantText: "@c[pid]++",
		},
		{
			name: "if with else if",
			src:  "BEGIN {\n  if (1) { }\n  else if (2) { } else { }\n}", node: "If",
			wantRange: "2:3-3:27", wantText: "if (1) { }\n  else if (2) { } else { }",
		},
		{
			name: "tuple",
			src:  `BEGIN { $t = (1, "a"); }`, node: "Tuple",
			wantRange: "1:14-1:22", wantText: `(1, "a")`,
		},
		{
			name: "string with escapes",
			src:  `BEGIN { printf("a\tb\n"); }`, node: `StringLit "a\tb\n"`,
			wantRange: "1:16-1:24", wantText: `"a\tb\n"`,
		},
		{
			name: "columns count bytes",
			src:  `BEGIN { printf("é"); $x = 1; }`, node: "Var $x",
			wantRange: "1:23-1:25", wantText: "$x",
		},
		{
			name: "tabs count as one column",
			src:  "BEGIN {\n\t\t$x = 1;\n}", node: "Var $x",
			wantRange: "2:3-2:5", wantText: "$x",
		},
		{
			name: "CRLF line endings",
			src:  "BEGIN\r\n{\r\n  $x = 1;\r\n}\r\n", node: "Var $x",
			wantRange: "3:3-3:5", wantText: "$x",
		},
		{
			name: "directive",
			src:  "#include <linux/types.h>\nBEGIN {}", node: `Directive name="include" arg="<linux/types.h>"`,
			wantRange: "1:1-1:25", wantText: "#include <linux/types.h>",
		},
		{
			name: "C definition with its semicolon",
			src:  "struct s {\n  int a;\n};\nBEGIN {}", node: `CDefinition struct name="s" text="struct s {\n  int a;\n};"`,
			wantRange: "1:1-3:3", wantText: "struct s {\n  int a;\n};",
		},
		{
			name: "sizeof",
			src:  "BEGIN { $s = sizeof(struct task_struct); }", node: "Sizeof",
			wantRange: "1:14-1:40", wantText: "sizeof(struct task_struct)",
		},
		{
			name: "positional parameter",
			src:  "BEGIN { $n = $#; }", node: "Positional $#",
			wantRange: "1:14-1:16", wantText: "$#",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Parse("test", tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			n := find(prog, tt.node)
			if n == nil {
				t.Fatalf("no node %q in:\n%s", tt.node, Dump(prog))
			}
			if got := fmt.Sprintf("%s-%s", n.Pos(), n.End()); got != tt.wantRange {
				t.Errorf("range = %s, want %s", got, tt.wantRange)
			}
			if got := tt.src[n.Pos().Offset:n.End().Offset]; got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestErrorPositions(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string // "pos-end: msg"
	}{
		{
			name: "unexpected token",
			src:  `BEGIN { printf("x" }`,
			want: []string{`1:20-1:21: syntax error, unexpected }, expecting ) or ","`},
		},
		{
			name: "end of file is where the source ends",
			src:  "BEGIN {\n  @x = 1;\n\n\n",
			want: []string{"5:1-5:1: syntax error, unexpected end of file, expecting }"},
		},
		{
			name: "missing body",
			src:  "BEGIN { }\nEND",
			want: []string{"2:4-2:4: unexpected end of file, expected {"},
		},
		{
			name: "lexical and syntax errors together",
			src:  "BEGIN { $x = 1 ` 2; }",
			want: []string{"1:16-1:17: invalid character '`'"},
		},
		{
			name: "errors in two probes",
			src:  "BEGIN { $x = ; }\nEND { printf(\"a\" \"b\"); }",
			want: []string{
				"1:14-1:15: syntax error, unexpected ;",
				`2:18-2:21: syntax error, unexpected string "b", expecting ) or ","`,
			},
		},
		{
			name: "recovery within a block",
			src:  "BEGIN { $x = 1 +; @y = 2; @z = ) ; }",
			want: []string{
				"1:17-1:18: syntax error, unexpected ;",
				"1:32-1:33: syntax error, unexpected )",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test", tt.src)
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("Parse error = %v, want an ErrorList", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, fmt.Sprintf("%s-%s: %s", e.Pos, e.End, e.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
