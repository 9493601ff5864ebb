package mcpserver

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// TestContainerUprobeResolvesInItsRoot: a uprobe on /usr/bin/bash with a
// container target attaches to the container's bash, found through
// /proc/PID/root of a process in the container's cgroup, not to the
// host's. The container's bash is another file than the host's, so only
// the right resolution can see it run.
func TestContainerUprobeResolvesInItsRoot(t *testing.T) {
	cs := connect(t)
	c := testenv.StartContainer(t, policy.CgroupRoot(), "while :; do read -t 0.05 x; done")
	target := map[string]any{"containers": []string{c.ID}}
	var ex execOut
	text, isErr := call(t, cs, "exec_program", map[string]any{
		"program": `uprobe:/usr/bin/bash:execute_command { @calls[pid] = count(); } interval:ms:1500 { exit(); }`,
		"target":  target,
	}, &ex)
	if isErr {
		t.Fatal(text)
	}
	out := waitDone(t, cs, ex.ExecutionID)
	keys := firstKeys(out, "@calls")
	if !slices.Equal(keys, []any{int64(c.PID)}) {
		t.Errorf("the container's bash (pid %d) ran execute_command; the trace saw %v (status %s: %s)", c.PID, keys, out.Status, out.ErrorMessage)
	}
	// What ran names the container's file through its process's root.
	var list listExecutionsOut
	call(t, cs, "list_executions", nil, &list)
	if want := "uprobe:/proc/" + strconv.Itoa(c.PID) + "/root/usr/bin/bash:execute_command"; !strings.Contains(list.Executions[0].Program, want) {
		t.Errorf("the program that ran does not attach %s:\n%s", want, list.Executions[0].Program)
	}

	// A binary the container does not have is refused, not looked up on
	// the host; so is a library name, which would be.
	for _, tc := range []struct{ program, want string }{
		{`uprobe:/usr/bin/perl:main { @ = count(); }`, "not found in the target's containers"},
		{`uprobe:libc:malloc { @ = count(); }`, "absolute path inside the container"},
	} {
		text, isErr := call(t, cs, "validate_program", map[string]any{"program": tc.program, "target": target}, nil)
		if !strings.Contains(text, tc.want) {
			t.Errorf("%s in a container target: %q (error %v), want it refused saying %q", tc.program, text, isErr, tc.want)
		}
	}
}
