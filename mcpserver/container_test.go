package mcpserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// fakeContainer is a process in a root filesystem and a mount namespace of
// its own, in a cgroup named as a container runtime names a container's:
// what a pod's container is to the node, without a runtime.
type fakeContainer struct {
	id   string
	pid  int
	root string // its root filesystem, as this host sees it
}

// libsRE finds the files ldd says a program loads.
var libsRE = regexp.MustCompile(`(?m)(?:=> )?(/\S+) \(0x`)

// startFakeContainer copies this host's bash and the libraries it loads
// into a new root, so that the container's /usr/bin/bash is a file of its
// own (another inode than the host's), and runs script with it there.
func startFakeContainer(t *testing.T, script string) *fakeContainer {
	t.Helper()
	cgroot := policy.CgroupRoot()
	root := t.TempDir()
	out, err := exec.Command("ldd", "/usr/bin/bash").Output()
	if err != nil {
		t.Fatalf("ldd /usr/bin/bash: %v", err)
	}
	files := []string{"/usr/bin/bash"}
	for _, m := range libsRE.FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// stdin stays open and silent, so that `read -t` waits its time.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/bash", "-c", script)
	cmd.Stdin = stdinR
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Cloneflags: syscall.CLONE_NEWNS, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdinR.Close()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		stdinW.Close()
	})
	c := &fakeContainer{pid: cmd.Process.Pid, root: root}
	c.id = testenv.ContainerCgroup(t, cgroot, c.pid)
	return c
}

// TestContainerUprobeResolvesInItsRoot: a uprobe on /usr/bin/bash with a
// container target attaches to the container's bash, found through
// /proc/PID/root of a process in the container's cgroup, not to the
// host's. The container's bash is another file than the host's, so only
// the right resolution can see it run.
func TestContainerUprobeResolvesInItsRoot(t *testing.T) {
	cs := connect(t)
	c := startFakeContainer(t, "while :; do read -t 0.05 x; done")
	target := map[string]any{"containers": []string{c.id}}
	var ex execOut
	text, isErr := call(t, cs, "exec_program", map[string]any{
		"program": `uprobe:/usr/bin/bash:execute_command { @calls[pid] = count(); } interval:ms:1500 { exit(); }`,
		"target":  target,
	}, &ex)
	if isErr {
		t.Fatal(text)
	}
	out := waitDone(t, cs, ex.ExecutionID)
	var keys []any
	for _, m := range out.Maps {
		if m.Name == "@calls" {
			for _, e := range m.Entries {
				keys = append(keys, e.Key[0])
			}
		}
	}
	if !slices.Equal(keys, []any{int64(c.pid)}) {
		t.Errorf("the container's bash (pid %d) ran execute_command; the trace saw %v (status %s: %s)", c.pid, keys, out.Status, out.ErrorMessage)
	}
	// What ran names the container's file through its process's root.
	var list listExecutionsOut
	call(t, cs, "list_executions", nil, &list)
	if want := "uprobe:/proc/" + strconv.Itoa(c.pid) + "/root/usr/bin/bash:execute_command"; !strings.Contains(list.Executions[0].Program, want) {
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
