package validate

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// TestTraps checks the warnings about programs that run but not as meant,
// with the tracepoint formats of this host.
func TestTraps(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/tracing/events/syscalls/sys_enter_openat/format"); err != nil {
		if _, err := os.Stat("/sys/kernel/debug/tracing/events/syscalls/sys_enter_openat/format"); err != nil {
			t.Skip("no tracefs with syscall tracepoints here (needs root)")
		}
	}
	v := New(Options{Catalog: catalog.New(nil)})
	for _, tt := range []struct {
		name string
		src  string
		want []string // substrings of the trap warnings, in order; none for a clean program
	}{
		{"pointer key", `tracepoint:syscalls:sys_enter_openat { @[args->filename] = count(); }`,
			[]string{"the key args->filename is a const char *, a pointer | key by the text: str(args->filename)"}},
		{"str() key is fine", `tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }`, nil},
		{"integer key is fine", `tracepoint:syscalls:sys_enter_openat { @[args->flags] = count(); }`, nil},
		{"printf %s of a pointer", `tracepoint:syscalls:sys_enter_openat { printf("%d %s\n", pid, args->filename); }`,
			[]string{"%s is given args->filename, a const char * | str(args->filename)"}},
		{"printf %s of a register", `uprobe:/bin/bash:readline { printf("%-5d%% %s\n", pid, arg0); }`,
			[]string{"%s is given arg0, an integer | str(arg0)"}},
		{"printf %s of retval", `uretprobe:/bin/bash:readline { printf("%s\n", retval); }`,
			[]string{"%s is given retval"}},
		{"printf %s with str() is fine", `tracepoint:syscalls:sys_enter_openat { printf("%s %d\n", str(args->filename), args->flags); }`, nil},
		{"long comm", `tracepoint:syscalls:sys_enter_openat /comm == "systemd-journald"/ { @ = count(); }`,
			[]string{`comm == "systemd-journald" never matches: comm holds at most 15 characters | comm == "systemd-journal"`}},
		{"long comm, reversed and negated", `tracepoint:syscalls:sys_enter_openat /"systemd-journald" != comm/ { @ = count(); }`,
			[]string{"is always true"}},
		{"15 characters are fine", `tracepoint:syscalls:sys_enter_openat /comm == "systemd-journal"/ { @ = count(); }`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := v.Static(context.Background(), tt.src, nil)
			var got []string
			for _, d := range r.Diagnostics {
				if d.Code == "trap" {
					if d.Severity != Warning || d.Line < 1 || d.Column < 1 {
						t.Errorf("trap not a positioned warning: %+v", d)
					}
					got = append(got, d.Message+" | "+d.Hint)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("traps %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				for _, part := range strings.Split(w, " | ") {
					if !strings.Contains(got[i], part) {
						t.Errorf("trap %q lacks %q", got[i], part)
					}
				}
			}
		})
	}
}

func TestTargetPID(t *testing.T) {
	v := New(Options{})
	src := `BEGIN { exit(); }`
	r := v.Static(context.Background(), src, &policy.Scope{PID: os.Getpid()})
	for _, d := range r.Diagnostics {
		if d.Code == "target" {
			t.Errorf("own pid refused: %s", d)
		}
	}
	// Pids are below /proc/sys/kernel/pid_max (at most 2^22).
	r = v.Static(context.Background(), src, &policy.Scope{PID: 1 << 23})
	found := false
	for _, d := range r.Diagnostics {
		if d.Code == "target" && d.Severity == Error && strings.Contains(d.Message, "does not exist") && d.Hint != "" {
			found = true
		}
	}
	if !found || r.Valid() {
		t.Errorf("missing pid accepted: %+v", r.Diagnostics)
	}
}

// TestZeroedAverageTrap: zero() of an avg() or stats() map is a trap on
// 0.23 only (recorded: 0.23.2 dies of SIGFPE printing it; 0.17.0 and
// 0.27.1 print 0).
func TestZeroedAverageTrap(t *testing.T) {
	for _, tt := range []struct {
		release, src string
		trap         bool
	}{
		{"0.23.2", "BEGIN { @a = avg(3); zero(@a); exit(); }", true},
		{"0.23.2", "BEGIN { @s[1] = stats(3); zero(@s); exit(); }", true},
		{"0.23.2", "BEGIN { @a = avg(3); clear(@a); exit(); }", false},
		{"0.23.2", "BEGIN { @c = count(); zero(@c); exit(); }", false},
		{"0.17.0", "BEGIN { @a = avg(3); zero(@a); exit(); }", false},
		{"0.27.1", "BEGIN { @a = avg(3); zero(@a); exit(); }", false},
	} {
		v, err := version.Parse(tt.release)
		if err != nil {
			t.Fatal(err)
		}
		val := New(Options{Binary: &bpftrace.Binary{Version: v}})
		r := val.Static(context.Background(), tt.src, nil)
		var traps []Diagnostic
		for _, d := range r.Diagnostics {
			if d.Code == CodeTrap {
				traps = append(traps, d)
			}
		}
		if got := len(traps) == 1 && strings.Contains(traps[0].Message, "SIGFPE") && strings.Contains(traps[0].Hint, "clear("); got != tt.trap {
			t.Errorf("%s %q: traps %+v, want a zero() trap: %v", tt.release, tt.src, traps, tt.trap)
		}
		if len(traps) > 0 && (traps[0].Line != 1 || traps[0].Column < 1) {
			t.Errorf("trap not positioned: %+v", traps[0])
		}
	}
}
