package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
