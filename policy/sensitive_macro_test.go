package policy

import (
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// TestSensitiveThroughMacros: bpftrace's own macros (0.24 and later)
// paste their bodies where they are called, their parameters replaced by
// the caller's expressions. An integer address or a syscall's data buffer
// passed through a parameter, given back by a macro, or stored by one is
// judged as if written in the probe; macros that read nothing sensitive
// pass.
func TestSensitiveThroughMacros(t *testing.T) {
	p := Default()
	for _, tt := range []struct {
		src, rule string // rule "" means allowed
	}{
		{"macro rd(x) { str(x) }\nBEGIN { printf(\"%s\", rd(0x1000)); }", RuleSensitiveAddress},
		{"macro rd($x) { str($x) }\nBEGIN { printf(\"%s\", rd(0x1000)); }", RuleSensitiveAddress},
		{"macro d(x) { *x }\nBEGIN { @ = d((uint64 *)0x1000); }", RuleSensitiveAddress},
		{"macro a() { 0x1000 }\nBEGIN { @ = *(uint64 *)a(); }", RuleSensitiveAddress},
		{"macro id(x) { x }\nBEGIN { printf(\"%s\", str(id(0x1000))); }", RuleSensitiveAddress},
		{"macro b(x) { buf(x, 64) }\nBEGIN { printf(\"%r\", b(0xffff888000000000)); }", RuleSensitiveAddress},
		{"macro inner(y) { str(y) }\nmacro outer(x) { inner(x) }\nBEGIN { printf(\"%s\", outer(4096)); }", RuleSensitiveAddress},
		{"macro rd(x) { str(x) }\ntracepoint:syscalls:sys_enter_write { printf(\"%s\", rd(args->buf)); }", RuleSensitiveBuffers},
		{"macro p() { args->buf }\ntracepoint:syscalls:sys_enter_write { printf(\"%s\", str(p())); }", RuleSensitiveBuffers},
		{"macro q() { args->buf }\nmacro p() { q() }\ntracepoint:syscalls:sys_enter_write { printf(\"%s\", str(p())); }", RuleSensitiveBuffers},
		{"macro rd() { str(@p[tid]) }\ntracepoint:syscalls:sys_enter_read { @p[tid] = args->buf; }\ntracepoint:syscalls:sys_exit_read { printf(\"%s\", rd()); }", RuleSensitiveBuffers},
		{"macro save(@m) { @m[tid] = args->buf; }\ntracepoint:syscalls:sys_enter_read { save(@p); }\ntracepoint:syscalls:sys_exit_read { printf(\"%s\", str(@p[tid])); }", RuleSensitiveBuffers},
		{"macro save() { @p[tid] = args->buf; }\ntracepoint:syscalls:sys_enter_read { save(); }\ntracepoint:syscalls:sys_exit_read { printf(\"%s\", str(@p[tid])); }", RuleSensitiveBuffers},
		// Look-alikes.
		{"macro rd(x) { str(x) }\ntracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", rd(args->filename)); }", ""},
		{"macro add($a, $b) { $a + $b }\nBEGIN { printf(\"%d\\n\", add(1, 2)); exit(); }", ""},
		{"macro twice($x) { $x * 2 }\nBEGIN { print(twice(2)); exit(); }", ""},
		{"macro inc(@m, key) { @m[key]++; }\nBEGIN { inc(@counts, 1); exit(); }", ""},
		{"macro cnt(n) { @bytes = sum(n) }\ntracepoint:syscalls:sys_enter_write { cnt(args->count); }", ""},
		{"macro fname() { str(args->filename) }\ntracepoint:syscalls:sys_enter_openat { @[fname()] = count(); }", ""},
	} {
		prog, err := lang.Parse("stdin", tt.src)
		if err != nil {
			t.Fatalf("%s: parse: %v", tt.src, err)
		}
		vs := p.Check(Input{Source: tt.src, Program: prog})
		switch {
		case tt.rule == "" && len(vs) > 0:
			t.Errorf("look-alike refused:\n%s\n%+v", tt.src, vs)
		case tt.rule != "" && (len(vs) == 0 || vs[0].Rule != tt.rule):
			t.Errorf("got %+v, want %s:\n%s", vs, tt.rule, tt.src)
		}
	}
}
