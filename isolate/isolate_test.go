package isolate

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCgroup2Mount(t *testing.T) {
	for _, tt := range []struct{ info, want string }{
		{"35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/unified"},
		{"30 1 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup"},
		{"36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", ""},
		{"40 1 0:40 / /mnt/with\\040space rw - cgroup2 none rw\n", "/mnt/with space"},
		{"garbage without separator\n", ""},
	} {
		got, err := cgroup2Mount(write(t, "mountinfo", tt.info))
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.info, got, err, tt.want)
		}
	}
}

func TestOwnCgroup(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"0::/\n", "/"},
		{"4:memory:/x\n0::/system.slice/bpftrace-mcp.service\n", "/system.slice/bpftrace-mcp.service"},
		{"4:memory:/x\n", "!"},
		{"0::/../escape\n", "!"},
	} {
		got, err := ownCgroup(write(t, "cgroup", tt.text))
		if err != nil {
			got = "!"
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestEnterAndClose moves this process into a cgroup of its own and back.
func TestEnterAndClose(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a cgroup")
	}
	mount, _ := cgroup2Mount("/proc/self/mountinfo")
	rel, _ := ownCgroup("/proc/self/cgroup")
	// A cgroup a killed server left behind: pid 2^22+1 is above pid_max.
	stale := filepath.Join(mount, rel, "bpftrace-mcp.4194305")
	if mount != "" {
		_ = os.Mkdir(stale, 0o755)
	}
	s, err := Enter(Options{Name: "bpftrace-mcp-unit." + strconv.Itoa(os.Getpid())})
	if err != nil {
		_ = os.Remove(stale)
		t.Skipf("no cgroup v2 here: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		_ = os.Remove(stale)
		t.Errorf("the stale cgroup %s was not removed: %v", stale, err)
	}
	data, _ := os.ReadFile("/proc/self/cgroup")
	if !strings.Contains(string(data), "bpftrace-mcp-unit.") || s.CgroupID == 0 {
		t.Errorf("after Enter: %+v, /proc/self/cgroup:\n%s", s, data)
	}
	if !strings.Contains(s.Describe(), "cgroup") {
		t.Errorf("Describe: %s", s.Describe())
	}
	dir := s.Cgroup
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Close: %v", dir, err)
	}
	data, _ = os.ReadFile("/proc/self/cgroup")
	if strings.Contains(string(data), "bpftrace-mcp-unit.") {
		t.Errorf("after Close, still in the cgroup:\n%s", data)
	}
}

func TestEnterWithoutCgroup2(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "self/mountinfo"), []byte("36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"), 0o644)
	s, err := Enter(Options{ProcDir: dir})
	if err == nil || s.CgroupID != 0 || s.Reason == "" || !strings.Contains(s.Describe(), "pid") {
		t.Errorf("got %+v, %v; want a fallback to the pid with a reason", s, err)
	}
}

// TestAdoptsACgroupItHoldsAlone: a process alone in its cgroup (a systemd
// service, a container) keeps it, and Close leaves it alone.
func TestAdoptsACgroupItHoldsAlone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a cgroup")
	}
	// Move into a fresh cgroup first, where this process is alone.
	first, err := Enter(Options{Name: "bpftrace-mcp-adopt." + strconv.Itoa(os.Getpid())})
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	defer func() {
		if err := first.Close(); err != nil {
			t.Error(err)
		}
	}()
	second, err := Enter(Options{Name: "nested"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Cgroup != first.Cgroup || second.CgroupID != first.CgroupID {
		t.Errorf("second Enter made %s (id %d), want to keep %s (id %d)", second.Cgroup, second.CgroupID, first.Cgroup, first.CgroupID)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.Cgroup); err != nil {
		t.Errorf("Close of an adopted cgroup removed it: %v", err)
	}
}
