package policy

import (
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

func TestApplyExclusion(t *testing.T) {
	src := "BEGIN { printf(\"start\\n\"); }\n" +
		"tracepoint:syscalls:sys_enter_openat /comm != \"x\" || uid == 0/ { @[comm] = count(); }\n" +
		"tracepoint:syscalls:sys_enter_read,\n  tracepoint:syscalls:sys_enter_write\n{ @rw = count(); }\n" +
		"interval:s:1 { print(@rw); }\n" +
		"interval:ms:10 { @s[ustack] = count(); }\n" +
		"profile:hz:99 /* sample */ { @cpu = count(); }\n" +
		"END { clear(@rw); }\n"
	for _, e := range []Exclusion{{CgroupID: 4242}, {PID: 77}} {
		pred := e.Predicate()
		prog, err := lang.Parse("stdin", src)
		if err != nil {
			t.Fatal(err)
		}
		// With a target too, as validate does: scope first, then the exclusion.
		scoped, err := ApplyScope(src, prog, Scope{Comm: "nginx"})
		if err != nil {
			t.Fatal(err)
		}
		sprog, err := lang.Parse("stdin", scoped)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ApplyExclusion(scoped, sprog, e)
		if err != nil {
			t.Fatal(err)
		}
		// openat, read/write, the interval that reads the task's stack, profile.
		if got := strings.Count(out, pred); got != 4 {
			t.Errorf("%d exclusions, want 4:\n%s", got, out)
		}
		for _, want := range []string{
			`/((comm != "x" || uid == 0) && (comm == "nginx")) && (` + pred + `)/`,
			"interval:s:1 { print", "BEGIN { printf", "END { clear",
			"interval:ms:10 /" + pred + "/",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("rewritten program lacks %q:\n%s", want, out)
			}
		}
	}
	if _, err := ApplyExclusion(src, nil, Exclusion{}); err == nil {
		t.Error("an empty exclusion was applied")
	}
}

func TestVerifyExclusion(t *testing.T) {
	e := Exclusion{CgroupID: 9}
	for _, tt := range []struct {
		src string
		ok  bool
	}{
		{"kprobe:f /cgroup != 9/ { }", true},
		{"kprobe:f /(pid == 1) && (cgroup != 9)/ { }", true},
		{"kprobe:f /((pid == 1) && (cgroup != 9)) && (comm == \"x\")/ { }", true},
		{"kprobe:f { }", false},
		{"kprobe:f /pid == 1 || cgroup != 9/ { }", false},
		{"kprobe:f /!(cgroup != 9)/ { }", false},
		{"kprobe:f /cgroup != 99/ { }", false},
		{"kprobe:f /cgroup != 9/ { } kprobe:g { }", false},
		{"BEGIN { } END { } interval:s:1 { exit(); }", true},
		{"interval:s:1 { printf(\"%d\", pid); }", false},
		{"iter:task { printf(\"%s\", ctx->task->comm); }", true},
	} {
		if err := VerifyExclusion(tt.src, e); (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.src, err, tt.ok)
		}
	}
}
