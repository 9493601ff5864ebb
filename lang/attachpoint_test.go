package lang

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalProvider(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		// The alias table of bpftrace 0.17.
		{"k", "kprobe"}, {"kr", "kretprobe"}, {"u", "uprobe"}, {"ur", "uretprobe"},
		{"U", "usdt"}, {"t", "tracepoint"}, {"p", "profile"}, {"i", "interval"},
		{"s", "software"}, {"h", "hardware"}, {"w", "watchpoint"}, {"aw", "asyncwatchpoint"},
		{"f", "kfunc"}, {"fr", "kretfunc"}, {"it", "iter"},
		// Full names are their own canonical names.
		{"kprobe", "kprobe"}, {"tracepoint", "tracepoint"}, {"usdt", "usdt"}, {"iter", "iter"},
		{"BEGIN", "BEGIN"}, {"END", "END"},
		// Later versions.
		{"begin", "BEGIN"}, {"end", "END"}, {"fentry", "kfunc"}, {"fexit", "kretfunc"},
		{"rawtracepoint", "rawtracepoint"}, {"rt", "rawtracepoint"}, {"self", "self"},
		{"Tracepoint", "tracepoint"}, {"KPROBE", "kprobe"}, {"FEntry", "kfunc"},
		// Aliases are case-sensitive: u and U differ.
		{"T", ""}, {"K", ""}, {"KR", ""},
		// Unknown.
		{"foo", ""}, {"", ""}, {"tracepoints", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanonicalProvider(tt.name); got != tt.want {
				t.Errorf("CanonicalProvider(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// apSummary is the comparable content of an attach point.
type apSummary struct {
	Raw, Provider, Canonical string
	Parts                    []string
	PartTexts                []string // source text of each part's extent
	Wildcard                 bool
	Target, Func             string
	Pos, End                 string
}

func TestAttachPoints(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      []apSummary
	}{
		{
			name: "alias",
			src:  "t:syscalls:sys_enter_openat {}",
			want: []apSummary{{
				Raw: "t:syscalls:sys_enter_openat", Provider: "t", Canonical: "tracepoint",
				Parts: []string{"syscalls", "sys_enter_openat"}, PartTexts: []string{"syscalls", "sys_enter_openat"},
				Target: "syscalls", Func: "sys_enter_openat", Pos: "1:1", End: "1:28",
			}},
		},
		{
			name: "BEGIN and END have no parts",
			src:  "BEGIN,END {}",
			want: []apSummary{
				{Raw: "BEGIN", Provider: "BEGIN", Canonical: "BEGIN", Pos: "1:1", End: "1:6"},
				{Raw: "END", Provider: "END", Canonical: "END", Pos: "1:7", End: "1:10"},
			},
		},
		{
			name: "quoted parts lose their quotes",
			src:  `uprobe:"/bin/bash":"Foo::bar" {}`,
			want: []apSummary{{
				Raw: `uprobe:"/bin/bash":"Foo::bar"`, Provider: "uprobe", Canonical: "uprobe",
				Parts: []string{"/bin/bash", "Foo::bar"}, PartTexts: []string{`"/bin/bash"`, `"Foo::bar"`},
				Target: "/bin/bash", Func: "Foo::bar", Pos: "1:1", End: "1:30",
			}},
		},
		{
			name: "offset and address",
			src:  "kprobe:f+0x10, uprobe:/bin/bash:0x1234 {}",
			want: []apSummary{
				{Raw: "kprobe:f+0x10", Provider: "kprobe", Canonical: "kprobe", Parts: []string{"f+0x10"}, PartTexts: []string{"f+0x10"}, Func: "f+0x10", Pos: "1:1", End: "1:14"},
				{Raw: "uprobe:/bin/bash:0x1234", Provider: "uprobe", Canonical: "uprobe", Parts: []string{"/bin/bash", "0x1234"}, PartTexts: []string{"/bin/bash", "0x1234"}, Target: "/bin/bash", Func: "0x1234", Pos: "1:16", End: "1:39"},
			},
		},
		{
			name: "numeric parts",
			src:  "hardware:cache-misses:1e6,\nwatchpoint:0x1000:8:rw {}",
			want: []apSummary{
				{Raw: "hardware:cache-misses:1e6", Provider: "hardware", Canonical: "hardware", Parts: []string{"cache-misses", "1e6"}, PartTexts: []string{"cache-misses", "1e6"}, Func: "1e6", Pos: "1:1", End: "1:26"},
				{Raw: "watchpoint:0x1000:8:rw", Provider: "watchpoint", Canonical: "watchpoint", Parts: []string{"0x1000", "8", "rw"}, PartTexts: []string{"0x1000", "8", "rw"}, Func: "rw", Pos: "2:1", End: "2:23"},
			},
		},
		{
			name: "wildcards",
			src:  "k:vfs_*, t:a:b?, u:/x:f[0-9], k:{a,b}_x, u:/x:\"*\" {}",
			want: []apSummary{
				{Raw: "k:vfs_*", Provider: "k", Canonical: "kprobe", Parts: []string{"vfs_*"}, PartTexts: []string{"vfs_*"}, Wildcard: true, Func: "vfs_*", Pos: "1:1", End: "1:8"},
				{Raw: "t:a:b?", Provider: "t", Canonical: "tracepoint", Parts: []string{"a", "b?"}, PartTexts: []string{"a", "b?"}, Wildcard: true, Target: "a", Func: "b?", Pos: "1:10", End: "1:16"},
				{Raw: "u:/x:f[0-9]", Provider: "u", Canonical: "uprobe", Parts: []string{"/x", "f[0-9]"}, PartTexts: []string{"/x", "f[0-9]"}, Wildcard: true, Target: "/x", Func: "f[0-9]", Pos: "1:18", End: "1:29"},
				{Raw: "k:{a,b}_x", Provider: "k", Canonical: "kprobe", Parts: []string{"{a,b}_x"}, PartTexts: []string{"{a,b}_x"}, Wildcard: true, Func: "{a,b}_x", Pos: "1:31", End: "1:40"},
				// A quoted star is a literal character.
				{Raw: `u:/x:"*"`, Provider: "u", Canonical: "uprobe", Parts: []string{"/x", "*"}, PartTexts: []string{"/x", `"*"`}, Target: "/x", Func: "*", Pos: "1:42", End: "1:50"},
			},
		},
		{
			name: "unknown provider",
			src:  "foo:bar {}",
			want: []apSummary{{Raw: "foo:bar", Provider: "foo", Parts: []string{"bar"}, PartTexts: []string{"bar"}, Func: "bar", Pos: "1:1", End: "1:8"}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := Parse("test", tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []apSummary
			for _, ap := range prog.Probes[0].AttachPoints {
				s := apSummary{
					Raw: ap.Raw, Provider: ap.Provider, Canonical: ap.Canonical, Parts: ap.Parts,
					Wildcard: ap.Wildcard, Target: ap.Target(), Func: ap.Func(),
					Pos: ap.Pos().String(), End: ap.End().String(),
				}
				for _, e := range ap.PartExtents {
					s.PartTexts = append(s.PartTexts, e.Text(tt.src))
				}
				if ap.Extent.Text(tt.src) != ap.Raw {
					t.Errorf("source text %q differs from Raw %q", ap.Extent.Text(tt.src), ap.Raw)
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("attach points mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
