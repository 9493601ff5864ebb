package bpftrace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestParseAST reads parser ASTs recorded from bpftrace 0.17's -d.
func TestParseAST(t *testing.T) {
	for _, tc := range []struct {
		file string
		want *AST
	}{
		{"testdata/ast/begin-0.17.txt", &AST{Probes: []ASTProbe{
			{AttachPoints: []string{"BEGIN"}, Calls: []string{"printf", "exit"}},
		}}},
		{"testdata/ast/probes-0.17.txt", &AST{Probes: []ASTProbe{
			{AttachPoints: []string{"tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_enter_open*"}, Predicate: true,
				Calls: []string{"str", "count", "printf", "strncmp"}},
			{AttachPoints: []string{"interval:s:1"}, Calls: []string{"print", "clear", "exit"}},
			{AttachPoints: []string{"END"}, Calls: []string{"time"}},
		}}},
		{"testdata/ast/aliases-0.17.txt", &AST{Probes: []ASTProbe{
			{AttachPoints: []string{"tracepoint:syscalls:sys_enter_read", "tracepoint:syscalls:sys_enter_write"}, Calls: []string{"count", "ustack", "count"}},
			{AttachPoints: []string{"uprobe:/bin/bash:readline"}, Calls: []string{"printf", "str"}},
			{AttachPoints: []string{"uretprobe:/bin/bash:readline"}, Predicate: true, Calls: []string{"exit"}},
			{AttachPoints: []string{"kprobe:do_sys_open+10"}},
			{AttachPoints: []string{"profile:hz:99"}, Predicate: true, Calls: []string{"count"}},
			{AttachPoints: []string{"usdt:/bin/bash:probe"}, Calls: []string{"exit"}},
			{AttachPoints: []string{"BEGIN"}, Calls: []string{"signal", "hist", "delete", "sum", "printf", "ksym"}},
		}}},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseAST(string(b))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.file, d)
		}
	}
	if _, err := ParseAST("stdin:1:1: ERROR: syntax error"); err == nil {
		t.Error("no error for output without an AST")
	}
	// A predicate's calls are told apart from the body's.
	out := "AST after: parser\n-------------------\nProgram\n kprobe:f\n  pred\n   call: strncmp :: type[none, ctx: 0]\n  call: exit :: type[none, ctx: 0]\n"
	got, err := ParseAST(out)
	if err != nil || len(got.Probes) != 1 || !cmp.Equal(got.Probes[0].PredicateCalls, []string{"strncmp"}) || !cmp.Equal(got.Probes[0].Calls, []string{"exit"}) {
		t.Errorf("ParseAST = %+v, %v", got, err)
	}
}

// TestASTBufferChunks feeds the recorded output in small pieces, as a
// pipe delivers it, and checks the parser section is kept whole and the
// rest dropped.
func TestASTBufferChunks(t *testing.T) {
	b, err := os.ReadFile("testdata/ast/begin-0.17.txt")
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	buf := newASTBuffer(parserASTHeader, func() { done++ })
	for i := 0; i < len(b); i += 7 {
		buf.Write(b[i:min(i+7, len(b))])
	}
	if done != 1 || strings.Contains(buf.buf.String(), "NodeCounter") {
		t.Errorf("onDone called %d times; kept %d bytes", done, buf.buf.Len())
	}
	ast, err := buf.ast()
	if err != nil || len(ast.Probes) != 1 {
		t.Errorf("ast = %+v, %v", ast, err)
	}
}

// TestDumpASTReal checks, with the real bpftrace, that DumpAST gives the
// AST a full check gives, and logs what each costs.
func TestDumpASTReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bin, err := Find(context.Background(), os.Getenv("BPFTRACE_MCP_TEST_BPFTRACE"))
	if err != nil {
		t.Skipf("needs bpftrace: %v", err)
	}
	if !bin.HasParserAST() {
		t.Skipf("bpftrace %s: its AST is not read here", bin.Version)
	}
	ctx := context.Background()
	prog := "struct foo { int a; };\ntracepoint:syscalls:sys_enter_openat /pid > 1/ { @[comm] = count(); }\nEND { printf(\"%d\\n\", sizeof(struct foo)); }\n"
	want := &AST{Probes: []ASTProbe{
		{AttachPoints: []string{"tracepoint:syscalls:sys_enter_openat"}, Predicate: true, Calls: []string{"count"}},
		{AttachPoints: []string{"END"}, Calls: []string{"printf", "sizeof"}},
	}}
	start := time.Now()
	full, err := bin.Check(ctx, prog, RunOptions{}, nil)
	tookFull := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if bin.PrintsParserAST() {
		if d := cmp.Diff(want, full.AST); d != "" {
			t.Errorf("Check's AST (-want +got):\n%s", d)
		}
	}
	start = time.Now()
	dump, err := bin.DumpAST(ctx, prog, RunOptions{}, nil)
	tookDump := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, dump); d != "" {
		t.Errorf("DumpAST (-want +got):\n%s", d)
	}
	t.Logf("bpftrace %s: full check %v, AST dump %v", bin.Version, tookFull, tookDump)
}

// TestParseMacroPass reads what 0.27.1 printed (-d ast --mode codegen):
// a C macro shows as a changed line, a program with # only in a string
// and a comment shows none, and a macro whose expansion bpftrace refuses
// leaves no section to read.
func TestParseMacroPass(t *testing.T) {
	for _, tt := range []struct {
		file    string
		changes []string
		err     error
	}{
		{"macro-0.27.txt", []string{`"Y;" became "printf(\"x\\n\");"`}, nil},
		{"hash-0.27.txt", nil, nil},
		{"broken-0.27.txt", nil, ErrNoAST},
	} {
		b, err := os.ReadFile("testdata/ast/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		ast, err := ParseMacroPass(string(b))
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.file, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if !ast.MacroPass || len(ast.Probes) != 0 || !slices.Equal(ast.MacroChanges, tt.changes) {
			t.Errorf("%s: %+v, want changes %q", tt.file, ast, tt.changes)
		}
	}
}

// TestDumpASTRunsNothing: on a bpftrace whose AST is read with --mode
// codegen, a program whose BEGIN would create a file (unsafe system())
// yields its AST and creates nothing.
func TestDumpASTRunsNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bin, err := Find(context.Background(), os.Getenv("BPFTRACE_MCP_TEST_BPFTRACE"))
	if err != nil {
		t.Skipf("needs bpftrace: %v", err)
	}
	if !bin.HasMacroPassAST() {
		t.Skipf("bpftrace %s: its AST is not read with --mode codegen", bin.Version)
	}
	mark := filepath.Join(t.TempDir(), "ran")
	prog := "#define Y printf(\"x\\n\")\nBEGIN { system(\"touch " + mark + "\"); Y; exit(); }\n"
	ast, err := bin.DumpAST(context.Background(), prog, RunOptions{Unsafe: true}, nil)
	if err != nil || !ast.MacroPass || len(ast.MacroChanges) != 1 {
		t.Errorf("DumpAST = %+v, %v", ast, err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("BEGIN ran: the file exists")
	}
}
