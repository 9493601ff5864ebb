package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ContainerCgroup makes pid the process of a fake container: a cgroup v2
// directory under root (the cgroup v2 mount, policy.CgroupRoot), named as
// containerd names a container's (cri-containerd-ID.scope, below a
// directory of this test process), with a fresh random id each time, which
// it returns. At the end of the test every process still in the cgroup is
// killed (cgroup.kill), and the cgroup is removed once it is empty; a
// cgroup left behind by a killed test run cannot be mistaken for this one,
// since the id differs.
func ContainerCgroup(t testing.TB, root string, pid int) string {
	t.Helper()
	if root == "" {
		t.Fatal("no cgroup v2 hierarchy on this host: container targets need one")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b)
	parent := filepath.Join(root, "bpftrace-mcp-test-"+strconv.Itoa(os.Getpid()))
	cg := filepath.Join(parent, "cri-containerd-"+id+".scope")
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0)
		// The kernel empties the cgroup once its processes are gone
		// (reaped); until then rmdir fails with EBUSY.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ev, _ := os.ReadFile(filepath.Join(cg, "cgroup.events"))
			if strings.Contains(string(ev), "populated 0") || time.Now().After(deadline) {
				break
			}
		}
		if err := os.Remove(cg); err != nil && !os.IsNotExist(err) {
			t.Errorf("remove the container's cgroup: %v", err)
		}
		_ = os.Remove(parent) // another container of this test may still use it
	})
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	return id
}

// Container is a process in a root filesystem and a mount namespace of
// its own, in a cgroup named as a container runtime names a container's:
// what a pod's container is to the node, without a runtime.
type Container struct {
	ID   string // its id, as the runtime would give it
	PID  int
	Root string // its root filesystem, as this host sees it
}

// libsRE finds the files ldd says a program loads.
var libsRE = regexp.MustCompile(`(?m)(?:=> )?(/\S+) \(0x`)

// StartContainer copies this host's bash and the libraries it loads into
// a new root, so that the container's /usr/bin/bash is a file of its own
// (another inode than the host's), and runs `bash -c script` there, with
// a silent stdin, in a mount namespace of its own and in a container
// cgroup under cgroot (see [ContainerCgroup]). It ends with the test.
func StartContainer(t testing.TB, cgroot, script string) *Container {
	t.Helper()
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
	c := &Container{PID: cmd.Process.Pid, Root: root}
	c.ID = ContainerCgroup(t, cgroot, c.PID)
	return c
}
