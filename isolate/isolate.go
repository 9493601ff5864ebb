// Package isolate moves the server into a cgroup v2 of its own, so that
// every process it starts afterwards (bpftrace, sudo, and whatever runs for
// another client later) is in that cgroup too, and a trace can exclude all
// of them with one predicate on bpftrace's cgroup builtin.
//
// It knows nothing of bpftrace's language or of the policy: it reports the
// cgroup's id, and the policy builds the predicate.
package isolate

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Self is where the server runs.
type Self struct {
	// PID is the server's process id.
	PID int
	// CgroupID is the id of the server's own cgroup v2 (the inode of its
	// directory, which is what bpftrace's cgroup builtin returns), or 0
	// when the server could not get one.
	CgroupID uint64
	// Cgroup is that cgroup's directory, e.g.
	// /sys/fs/cgroup/unified/bpftrace-mcp.1234.
	Cgroup string
	// Reason says why there is no cgroup, when there is none.
	Reason string

	parent  string // the directory of the cgroup the server came from
	adopted bool   // Cgroup is the one the server started in
}

// Options tune [Enter]; the zero value reads the real /proc.
type Options struct {
	// ProcDir is /proc ("" for the default).
	ProcDir string
	// Name is the cgroup's directory name ("" for bpftrace-mcp.PID).
	Name string
}

// ErrNoCgroup2 means no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup v2 hierarchy is mounted")

// Enter gives this process a cgroup v2 of its own: the one it is in when
// it is alone there (a systemd service, a container), else a new cgroup
// below it, into which it moves. On failure it returns a Self with CgroupID 0 and
// Reason set, and the error: the caller falls back to excluding its pid.
func Enter(o Options) (*Self, error) {
	s := &Self{PID: os.Getpid()}
	proc := o.ProcDir
	if proc == "" {
		proc = "/proc"
	}
	mount, err := cgroup2Mount(filepath.Join(proc, "self/mountinfo"))
	if err == nil && mount == "" {
		err = ErrNoCgroup2
	}
	var rel string
	if err == nil {
		rel, err = ownCgroup(filepath.Join(proc, "self/cgroup"))
	}
	if err != nil {
		s.Reason = err.Error()
		return s, err
	}
	parent := filepath.Join(mount, rel)
	// A cgroup that holds this process alone (a systemd service's, a
	// container's) already is the server's own: its children inherit it,
	// and nothing needs to be written, which ProtectControlGroups= forbids.
	if alone(parent, s.PID) {
		st, err := os.Stat(parent)
		if err == nil {
			s.CgroupID = st.Sys().(*syscall.Stat_t).Ino
			s.Cgroup, s.adopted = parent, true
			return s, nil
		}
	}
	name := o.Name
	if name == "" {
		name = "bpftrace-mcp." + strconv.Itoa(s.PID)
	}
	removeStale(parent)
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		s.Reason = fmt.Sprintf("create a cgroup for the server: %v", err)
		return s, fmt.Errorf("isolate: %s", s.Reason)
	}
	// cgroup.procs moves the whole process, every thread of it.
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(s.PID)), 0); err != nil {
		_ = os.Remove(dir)
		s.Reason = fmt.Sprintf("move the server into %s: %v", dir, err)
		return s, fmt.Errorf("isolate: %s", s.Reason)
	}
	st, err := os.Stat(dir)
	if err != nil {
		s.Reason = err.Error()
		return s, err
	}
	s.CgroupID = st.Sys().(*syscall.Stat_t).Ino
	s.Cgroup, s.parent = dir, parent
	return s, nil
}

// Close moves the server back to the cgroup it came from and removes its
// own, which succeeds once no child is left in it.
func (s *Self) Close() error {
	if s == nil || s.Cgroup == "" || s.adopted {
		return nil
	}
	if err := os.WriteFile(filepath.Join(s.parent, "cgroup.procs"), []byte(strconv.Itoa(s.PID)), 0); err != nil {
		return fmt.Errorf("isolate: leave %s: %w", s.Cgroup, err)
	}
	if err := os.Remove(s.Cgroup); err != nil {
		return fmt.Errorf("isolate: remove %s: %w", s.Cgroup, err)
	}
	s.Cgroup, s.CgroupID = "", 0
	return nil
}

// Describe says in one sentence what the exclusion covers.
func (s *Self) Describe() string {
	if s == nil {
		return "the server's processes are not excluded from traces"
	}
	if s.CgroupID != 0 {
		return fmt.Sprintf("every probe excludes the server's cgroup %s (id %d): the server and every bpftrace it starts, for any client", s.Cgroup, s.CgroupID)
	}
	return fmt.Sprintf("every probe excludes the server's pid %d, but not the bpftrace processes it starts (no cgroup of its own: %s)", s.PID, s.Reason)
}

// alone reports whether the cgroup at dir holds no process but pid.
func alone(dir string, pid int) bool {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data))
	return len(fields) == 1 && fields[0] == strconv.Itoa(pid)
}

// removeStale removes the cgroups that servers killed before they could
// leave them left behind: named for a process that no longer exists, and
// empty (the kernel refuses to remove a cgroup that holds a process).
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "bpftrace-mcp.*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "bpftrace-mcp."))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.Remove(d)
		}
	}
}

// cgroup2Mount returns the mount point of the cgroup v2 hierarchy, or ""
// when none is mounted. mountinfo's fifth field is the mount point; the
// file system type follows the " - " separator.
func cgroup2Mount(mountinfo string) (string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) >= 5 && len(after) >= 1 && after[0] == "cgroup2" {
			return unescapeMount(fields[4]), nil
		}
	}
	return "", sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup returns this process's cgroup v2 path, the "0::" line of
// /proc/self/cgroup.
func ownCgroup(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			if strings.Contains(rel, "..") || strings.HasSuffix(rel, " (deleted)") {
				return "", fmt.Errorf("isolate: unusable cgroup path %q", rel)
			}
			return rel, nil
		}
	}
	return "", ErrNoCgroup2
}
