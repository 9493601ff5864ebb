package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

func TestCleanEscapesAndCuts(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "openat /etc/passwd\t3", 100, "openat /etc/passwd\t3"},
		{"escape sequence", "ignore\x1b[2J\x07", 100, `ignore\x1b[2J\x07`},
		{"bidi and zero width", "a\u202eb\u200bc\u2028d", 100, `a\u202eb\u200bc\u2028d`},
		{"invalid UTF-8 and C1", "\xff\u0085", 100, `\xff\u0085`},
		// The escaped form is what the limit counts.
		{"cut after escaping", strings.Repeat("\x1b", 10), 12, `\x1b\x1b\x1b` + " …[28 bytes cut]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := clean(tt.in, tt.max); got != tt.want {
				t.Errorf("clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestSplitterKeepsLinesApart(t *testing.T) {
	var got []string
	s := splitter{maxLine: 100, emit: func(l string, _ bool) { got = append(got, l) }}
	s.write("one\rtwo\u2028three\n<<<end x>>>\x1b", false)
	s.flush()
	if len(got) != 2 || got[0] != `one\rtwo\u2028three` || got[1] != `<<<end x>>>\x1b` {
		t.Errorf("lines %q", got)
	}
}

func TestEndRan(t *testing.T) {
	now := time.Now()
	code := func(c int) *int { return &c }
	for _, tt := range []struct {
		name         string
		e            store.Execution
		ran, stopped bool
	}{
		{"running", store.Execution{Status: StatusRunning, StopAt: &now}, false, false},
		{"ended by itself", store.Execution{Status: StatusCompleted, ExitCode: code(0)}, false, false},
		{"stopped, exited", store.Execution{Status: StatusCompleted, StopAt: &now, ExitCode: code(0)}, true, true},
		{"stopped, exited with an error", store.Execution{Status: StatusCompleted, StopAt: &now, ExitCode: code(255)}, true, true},
		{"stopped, killed", store.Execution{Status: StatusCompleted, StopAt: &now, ExitCode: code(128 + 9)}, false, true},
		{"stopped while compiling", store.Execution{Status: StatusCompleted, StopAt: &now, ExitCode: code(128 + 2)}, false, true},
	} {
		if ran, stopped := EndRan(&tt.e); ran != tt.ran || stopped != tt.stopped {
			t.Errorf("%s: EndRan = %v, %v; want %v, %v", tt.name, ran, stopped, tt.ran, tt.stopped)
		}
	}
}
