package validate

import (
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

func TestAvgAsStats(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"unkeyed", `kprobe:f { @a = avg(arg0); }`, `kprobe:f { @a = stats(arg0); }`},
		{"keyed, twice, printed and cleared",
			`kprobe:f { @a[comm] = avg(arg0); } kprobe:g { @a[comm] = avg(arg1); } interval:s:1 { print(@a); clear(@a); }`,
			`kprobe:f { @a[comm] = stats(arg0); } kprobe:g { @a[comm] = stats(arg1); } interval:s:1 { print(@a); clear(@a); }`},
		{"read map kept", `kprobe:f { @a = avg(arg0); if (@a > 3) { exit(); } }`, `kprobe:f { @a = avg(arg0); if (@a > 3) { exit(); } }`},
		{"read into a variable kept", `kprobe:f { @a = avg(arg0); $x = @a; }`, `kprobe:f { @a = avg(arg0); $x = @a; }`},
		{"only the unread map", `kprobe:f { @a = avg(1); @b = avg(2); printf("%d", @b); }`, `kprobe:f { @a = stats(1); @b = avg(2); printf("%d", @b); }`},
		{"avg as a value elsewhere is no aggregation", `kprobe:f { @n = count(); }`, `kprobe:f { @n = count(); }`},
		{"does not parse", `kprobe:f { @a = avg(1); `, `kprobe:f { @a = avg(1); `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := AvgAsStats(tt.src); got != tt.want {
				t.Errorf("AvgAsStats:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// FuzzAvgAsStats checks that the rewrite only ever turns avg into stats,
// and that a program that parses still parses after it.
func FuzzAvgAsStats(f *testing.F) {
	for _, s := range []string{
		`kprobe:f { @a = avg(arg0); }`,
		`kprobe:f { @a[comm] = avg(1); print(@a); $x = @b; @b = avg(2); }`,
		`BEGIN { @s = stats(1); @a = avg(2); clear(@a); zero(@a); delete(@a); }`,
		`i:s:1 { @a = avg(1); if (@a) { exit(); } }`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := AvgAsStats(src)
		if strings.ReplaceAll(out, "stats", "avg") != strings.ReplaceAll(src, "stats", "avg") {
			t.Fatalf("rewrite changed more than avg:\n%q\n%q", src, out)
		}
		if _, err := lang.Parse("stdin", src); err == nil {
			if _, err := lang.Parse("stdin", out); err != nil {
				t.Fatalf("%q parsed, its rewrite %q does not: %v", src, out, err)
			}
		}
	})
}
