package catalog

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pattern string
		match   []string
		noMatch []string
	}{
		{"literal", "tracepoint:sched:sched_switch", []string{"tracepoint:sched:sched_switch"}, []string{"tracepoint:sched:sched_switch2", "tracepoint:sched:sched_switc"}},
		{"star crosses colon", "tracepoint:sched*", []string{"tracepoint:sched:sched_switch", "tracepoint:sched"}, []string{"tracepoint:syscalls:x"}},
		{"star in the middle", "tracepoint:syscalls:*read*", []string{"tracepoint:syscalls:sys_enter_read", "tracepoint:syscalls:sys_exit_preadv2"}, []string{"tracepoint:syscalls:sys_enter_write"}},
		{"double star", "a**b", []string{"ab", "axxb"}, []string{"a"}},
		{"question mark", "sys_enter_open?t", []string{"sys_enter_openat"}, []string{"sys_enter_opent", "sys_enter_openaat"}},
		{"class", "sys_[ex]*", []string{"sys_enter", "sys_exit"}, []string{"sys_fork"}},
		{"class range", "cpu[0-9]", []string{"cpu0", "cpu9"}, []string{"cpua", "cpu10"}},
		{"negated class", "cpu[!0-9]", []string{"cpua"}, []string{"cpu1"}},
		{"caret negation", "cpu[^0-9]", []string{"cpua"}, []string{"cpu1"}},
		{"bracket first in class", "a[]]b", []string{"a]b"}, []string{"ab"}},
		{"unterminated class is literal", "a[b", []string{"a[b"}, []string{"ab"}},
		{"braces", "sys_{enter,exit}_read", []string{"sys_enter_read", "sys_exit_read"}, []string{"sys_enter_write", "sys_{enter,exit}_read"}},
		{"nested braces", "{a,b{c,d}}", []string{"a", "bc", "bd"}, []string{"b"}},
		{"empty alternative", "x{,y}", []string{"x", "xy"}, []string{"xz"}},
		{"unterminated brace is literal", "a{b", []string{"a{b"}, []string{"ab"}},
		{"brace inside class is literal", "[{]x", []string{"{x"}, []string{"x"}},
		{"case-sensitive", "SCHED:*", []string{"SCHED:x"}, []string{"sched:x"}},
		{"empty pattern", "", []string{""}, []string{"x"}},
		{"star only", "*", []string{"", "anything:at:all"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.pattern)
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
			}
			for _, s := range tt.match {
				if !g.match(s) {
					t.Errorf("glob %q does not match %q", tt.pattern, s)
				}
			}
			for _, s := range tt.noMatch {
				if g.match(s) {
					t.Errorf("glob %q matches %q", tt.pattern, s)
				}
			}
		})
	}
}

func TestGlobFilter(t *testing.T) {
	names := []string{"a:x", "b:read", "b:readv", "b:write", "c:read"}
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"b:*", []string{"b:read", "b:readv", "b:write"}},
		{"*read*", []string{"b:read", "b:readv", "c:read"}},
		{"{b,c}:read", []string{"b:read", "c:read"}},
		{"b:read", []string{"b:read"}},
		{"z*", nil},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			g, err := compileGlob(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, g.filter(names)); diff != "" {
				t.Errorf("filter(%q) mismatch (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
}

func TestGlobTooManyAlternatives(t *testing.T) {
	p := strings.Repeat("{a,b}", 11) // 2048 alternatives
	if _, err := compileGlob(p); err == nil {
		t.Fatalf("compileGlob(%q) = nil error, want errTooManyAlternatives", p)
	}
}

// FuzzGlob checks that any pattern compiles or errors without panicking,
// that a pattern without wildcards matches itself and nothing longer, and
// that `*`/`?` patterns agree with path.Match where its rules are the same.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"tracepoint:syscalls:*read*", "a[b-d]e", "{a,b}c", "[!x]", "a{b", "*?*", "[]"} {
		f.Add(s, "tracepoint:syscalls:sys_enter_read")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		got := g.match(name)
		if !strings.ContainsAny(pattern, "*?[{") {
			if !g.match(pattern) {
				t.Fatalf("literal glob %q does not match itself", pattern)
			}
			if g.match(pattern + "x") {
				t.Fatalf("literal glob %q matches %q", pattern, pattern+"x")
			}
			if got != (name == pattern) {
				t.Fatalf("literal glob %q: match(%q) = %v", pattern, name, got)
			}
		}
		// path.Match's `?` takes a rune, ours a byte: probe names are ASCII.
		if !strings.ContainsAny(pattern+name, "[{/\\") && isASCII(pattern+name) {
			want, err := path.Match(pattern, name)
			if err == nil && want != got {
				t.Fatalf("glob %q match(%q) = %v, path.Match says %v", pattern, name, got, want)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
