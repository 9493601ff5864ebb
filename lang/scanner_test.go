package lang

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scanAll scans src as code (a probe body) and renders each token as
// "Kind text", with the value of strings and integers.
func scanAll(src string) (toks []string, errs []string) {
	s := newScanner(src, func(pos, end Pos, msg, hint string) {
		errs = append(errs, fmt.Sprintf("%s-%s: %s", pos, end, msg))
	})
	for {
		t := s.scan()
		if t.kind == tEOF {
			return toks, errs
		}
		r := fmt.Sprintf("%s %s", t.kind, t.text)
		switch t.kind {
		case tInt:
			r += fmt.Sprintf(" =%d", t.num)
		case tString:
			r += fmt.Sprintf(" =%q", t.str)
		}
		toks = append(toks, r)
	}
}

func TestScan(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string
		errs      []string
	}{
		{
			name: "operators longest match",
			src:  "<<= >>= << >> <= >= == != && || ++ -- += -= *= /= %= &= |= ^= -> .. . ? : ~ !",
			want: []string{
				"Punct <<=", "Punct >>=", "Punct <<", "Punct >>", "Punct <=", "Punct >=", "Punct ==", "Punct !=",
				"Punct &&", "Punct ||", "Punct ++", "Punct --", "Punct +=", "Punct -=", "Punct *=", "Punct /=",
				"Punct %=", "Punct &=", "Punct |=", "Punct ^=", "Punct ->", "Punct ..", "Punct .", "Punct ?",
				"Punct :", "Punct ~", "Punct !",
			},
		},
		{
			name: "star is one token whatever its role",
			src:  "$a * *$p",
			want: []string{"Var $a", "Punct *", "Punct *", "Var $p"},
		},
		{
			name: "names",
			src:  "pid $x $1 $# @ @m @m_2 __x",
			want: []string{"Ident pid", "Var $x", "Param $1", "ParamCount $#", "Map @", "Map @m", "Map @m_2", "Ident __x"},
		},
		{
			name: "integers",
			src:  "0 42 0x1F 0XfF 017 1e6 2E3 1_000 10u 10ul 10LL 3ull 18446744073709551615",
			want: []string{
				"Int 0 =0", "Int 42 =42", "Int 0x1F =31", "Int 0XfF =255", "Int 017 =15", "Int 1e6 =1000000",
				"Int 2E3 =2000", "Int 1_000 =1000", "Int 10u =10", "Int 10ul =10", "Int 10LL =10", "Int 3ull =3",
				"Int 18446744073709551615 =18446744073709551615",
			},
		},
		{
			name: "a dot after an integer is a field access, not a fraction",
			src:  "1.5 $t.0.1 0..10",
			want: []string{"Int 1 =1", "Punct .", "Int 5 =5", "Var $t", "Punct .", "Int 0 =0", "Punct .", "Int 1 =1", "Int 0 =0", "Punct ..", "Int 10 =10"},
		},
		{
			name: "bad integers are one token each",
			src:  "0x10u 08 1e20 0b101 1_ 18446744073709551616",
			want: []string{"Int 0x10u =0", "Int 08 =0", "Int 1e20 =0", "Int 0b101 =0", "Int 1_ =0", "Int 18446744073709551616 =0"},
			errs: []string{
				"1:1-1:6: invalid hexadecimal literal 0x10u",
				"1:7-1:9: invalid octal literal 08",
				"1:10-1:14: integer literal 1e20 is out of range",
				"1:15-1:20: invalid integer literal 0b101",
				"1:21-1:23: invalid integer literal 1_",
				"1:24-1:44: integer literal 18446744073709551616 is out of range",
			},
		},
		{
			name: "string escapes",
			src:  `"a\tb\n\"\\\r\x41\x4\101\0" ""`,
			want: []string{`String "a\tb\n\"\\\r\x41\x4\101\0" ="a\tb\n\"\\\rA\x04A\x00"`, `String "" =""`},
		},
		{
			name: "bad escapes",
			src:  `"\q\x\777"`,
			want: []string{`String "\q\x\777" ="q"`},
			errs: []string{
				`1:2-1:4: invalid escape character '\q'`,
				`1:4-1:6: invalid escape character '\x'`,
				`1:6-1:10: octal escape sequence out of range '\777'`,
			},
		},
		{
			name: "unterminated string stops at the end of the line",
			src:  "\"abc\n)",
			want: []string{`String "abc ="abc"`, "Punct )"},
			errs: []string{"1:1-1:5: unterminated string"},
		},
		{
			name: "comments and #! lines are skipped",
			src:  "a // line\n/* block\n */ b #!shebang\nc",
			want: []string{"Ident a", "Ident b", "Ident c"},
		},
		{
			name: "unterminated comment",
			src:  "a /* b",
			want: []string{"Ident a"},
			errs: []string{"1:3-1:7: end of file during comment"},
		},
		{
			name: "directive runs to the end of the line",
			src:  "x #include <a.h>\r\ny",
			want: []string{"Ident x", "Directive #include <a.h>", "Ident y"},
		},
		{
			name: "invalid characters",
			src:  "` 'a' é $",
			want: []string{"Illegal `", "Illegal 'a'", "Illegal é", "Illegal $"},
			errs: []string{
				"1:1-1:2: invalid character '`'",
				"1:3-1:6: invalid character '''",
				"1:7-1:9: invalid character 'é'",
				"1:10-1:11: invalid character '$'",
			},
		},
		{
			name: "positional parameter zero",
			src:  "$0",
			want: []string{"Param $0"},
			errs: []string{"1:1-1:3: param $0 is out of integer range [1, 9223372036854775807]"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			toks, errs := scanAll(tt.src)
			if diff := cmp.Diff(tt.want, toks); diff != "" {
				t.Errorf("tokens mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.errs, errs); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// traceTokens parses src and returns the tokens the parser consumed,
// attach points included, as "Kind text@line:col".
func traceTokens(t *testing.T, src string) []string {
	t.Helper()
	var toks []string
	p := newParser("test", src)
	p.trace = func(tok token) {
		toks = append(toks, fmt.Sprintf("%s %s@%s", tok.kind, tok.text, tok.pos))
	}
	p.parseProgram()
	if len(p.errs) > 0 {
		t.Fatalf("parse %q: %v", src, p.errs)
	}
	return toks
}

// TestLexAttachPointsAndCode checks the two lexical contexts: in an attach
// point, slashes, stars, colons and dashes belong to the name; in code
// they are operators.
func TestLexAttachPointsAndCode(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{
			name: "slash in a path, as predicate delimiter and as division",
			src:  "uprobe:/bin/bash:readline /arg0 / 2/ { $x = 4 / 2; }",
			want: []string{
				"AttachPoint uprobe:/bin/bash:readline@1:1",
				"Punct /@1:27", "Ident arg0@1:28", "Punct /@1:33", "Int 2@1:35", "Punct /@1:36",
				"Punct {@1:38", "Var $x@1:40", "Punct =@1:43", "Int 4@1:45", "Punct /@1:47", "Int 2@1:49", "Punct ;@1:50",
				"Punct }@1:52",
			},
		},
		{
			name: "star as wildcard, multiplication and dereference",
			src:  "kprobe:vfs_* { $x = $a * *$p; }",
			want: []string{
				"AttachPoint kprobe:vfs_*@1:1",
				"Punct {@1:14", "Var $x@1:16", "Punct =@1:19", "Var $a@1:21", "Punct *@1:24", "Punct *@1:26", "Var $p@1:27",
				"Punct ;@1:29", "Punct }@1:31",
			},
		},
		{
			name: "colons inside attach points and in a conditional",
			src:  "t:syscalls:sys_enter_read { $x = $y ? 1 : 2 }",
			want: []string{
				"AttachPoint t:syscalls:sys_enter_read@1:1",
				"Punct {@1:27", "Var $x@1:29", "Punct =@1:32", "Var $y@1:34", "Punct ?@1:37", "Int 1@1:39",
				"Punct :@1:41", "Int 2@1:43", "Punct }@1:45",
			},
		},
		{
			name: "dash in an event name and as subtraction",
			src:  "hardware:cache-misses:1e6 { $x = $a-1 }",
			want: []string{
				"AttachPoint hardware:cache-misses:1e6@1:1",
				"Punct {@1:27", "Var $x@1:29", "Punct =@1:32", "Var $a@1:34", "Punct -@1:36", "Int 1@1:37", "Punct }@1:39",
			},
		},
		{
			name: "attach points across lines with comments, body on the next line",
			src:  "kprobe:a, // first\n  /* second: */ kprobe:b+0x10\n{ }",
			want: []string{"AttachPoint kprobe:a@1:1", "AttachPoint kprobe:b+0x10@2:17", "Punct {@3:1", "Punct }@3:3"},
		},
		{
			name: "brace right after an attach point opens the body",
			src:  "BEGIN{exit()}",
			want: []string{"AttachPoint BEGIN@1:1", "Punct {@1:6", "Ident exit@1:7", "Punct (@1:11", "Punct )@1:12", "Punct }@1:13"},
		},
		{
			name: "brace alternation stays in the attach point",
			src:  "kprobe:vfs_{read,write}{}",
			want: []string{"AttachPoint kprobe:vfs_{read,write}@1:1", "Punct {@1:24", "Punct }@1:25"},
		},
		{
			name: "quoted part with spaces, commas and colons",
			src:  `uprobe:/bin/x:"a, b::c" {}`,
			want: []string{`AttachPoint uprobe:/bin/x:"a, b::c"@1:1`, "Punct {@1:25", "Punct }@1:26"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, traceTokens(t, tt.src)); diff != "" {
				t.Errorf("tokens mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
