package catalog

import (
	"context"
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLevenshtein(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		max  int
		want int
	}{
		{"", "", 5, 0},
		{"abc", "abc", 5, 0},
		{"kitten", "sitting", 5, 3},
		{"sys_enter_openat", "sys_enter_opnat", 5, 1},
		{"flaw", "lawn", 5, 2},
		{"abc", "", 5, 3},
		{"abcdefgh", "zz", 3, 4}, // over max: any value above it
	} {
		got := levenshtein(tt.a, tt.b, tt.max)
		if tt.want > tt.max {
			if got <= tt.max {
				t.Errorf("levenshtein(%q, %q, %d) = %d, want > %d", tt.a, tt.b, tt.max, got, tt.max)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("levenshtein(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
		}
		if rev := levenshtein(tt.b, tt.a, tt.max); rev != got {
			t.Errorf("levenshtein not symmetric for %q, %q: %d vs %d", tt.a, tt.b, got, rev)
		}
	}
}

func TestNearest(t *testing.T) {
	c := newFakeHost(t)
	for _, tt := range []struct {
		probe string
		n     int
		want  []string
	}{
		{"tracepoint:syscalls:sys_enter_opnat", 1, []string{"tracepoint:syscalls:sys_enter_openat"}},
		{"t:sched:sched_swich", 1, []string{"tracepoint:sched:sched_switch"}},
		{"tracepoit:sched:sched_switch", 1, []string{"tracepoint:sched:sched_switch"}},
		{"syscalls:sys_enter_red", 1, []string{"tracepoint:syscalls:sys_enter_read"}},
		{"software:cpu-clok", 1, []string{"software:cpu-clock"}},
		{"uprobe:" + c.app + ":handle_reqest", 1, []string{"uprobe:" + c.app + ":handle_request"}},
		{"usdt:" + c.app + ":app:request__strt", 1, []string{"usdt:" + c.app + ":app:request__start"}},
		{"tracepoint:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 3, []string{}},
		{"tracepoint:sched:sched_switch", 0, nil},
	} {
		t.Run(tt.probe, func(t *testing.T) {
			got := c.Nearest(context.Background(), tt.probe, tt.n)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Nearest(%q, %d) mismatch (-want +got):\n%s", tt.probe, tt.n, diff)
			}
		})
	}
}

// TestNearestEscapes: a suggestion is a symbol of a binary, written by
// whoever built it; one holding a newline and a terminal escape must not
// start a line of the message it is put in.
func TestNearestEscapes(t *testing.T) {
	c := newFakeHost(t)
	bin := writeTestELF(t, t.TempDir(), "hostile", testELF{symtab: []testSym{{"handle_req\nOK!\x1b[2J", elf.STT_FUNC, 0x1000}}})
	got := c.Nearest(context.Background(), "uprobe:"+bin+":handle_request", 1)
	want := []string{"uprobe:" + bin + `:handle_req\nOK!\x1b[2J`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Nearest mismatch (-want +got):\n%s", diff)
	}
}
