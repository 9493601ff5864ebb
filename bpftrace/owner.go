package bpftrace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ownerPrefix starts the last command-line argument of a bpftrace started by
// a bpftrace-mcp server; the rest is the server's [SelfOwner].
const ownerPrefix = "bpftrace-mcp-owner="

// scopePrefix starts the argument before it; the rest is the server's
// [Scope]. The scope has an argument of its own so that the last one reads
// as before: a server of an older version, which knows no scopes, still
// sees this process's owner alive and leaves it alone.
const scopePrefix = "bpftrace-mcp-scope="

// OwnerMarker is the arguments, appended last, that mark a process as
// started by owner, a server in scope. Markers of older versions have no
// scope.
func OwnerMarker(owner, scope string) []string {
	if scope == "" {
		return []string{ownerPrefix + owner}
	}
	return []string{scopePrefix + scope, ownerPrefix + owner}
}

// Scope names the servers that reap each other's leftovers, from a key they
// share: the server uses the path of its database, so that a server
// restarted on the same database kills what the one before it left, while
// servers on other databases (parallel test processes, other instances)
// never touch each other's processes. It is a short hash: the key may hold
// spaces, and the marker shows in ps.
func Scope(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

// SelfOwner identifies the calling process as "pid:starttime". The start
// time (in clock ticks since boot, from /proc/PID/stat) makes the identity
// survive PID reuse: a new process with the same PID has another start time.
func SelfOwner() (string, error) {
	st, err := startTime(os.Getpid())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", os.Getpid(), st), nil
}

// OwnerAlive reports whether the process an owner string names is still
// running. A malformed owner is reported dead. What follows a '#' is a tag
// that tells apart several servers in one process (the tests' managers)
// and does not change whose the owner is.
func OwnerAlive(owner string) bool {
	owner, _, _ = strings.Cut(owner, "#")
	pidStr, stStr, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	pid, err1 := strconv.Atoi(pidStr)
	want, err2 := strconv.ParseUint(stStr, 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return false
	}
	got, err := startTime(pid)
	return err == nil && got == want
}

// startTime reads field 22 of /proc/PID/stat. The comm field (2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read process %d status: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Orphan is a bpftrace that a bpftrace-mcp server started and that outlived it.
type Orphan struct {
	Pid   int
	Owner string
	Scope string // empty for a process marked by an older version
}

// ProcessesOf lists the running processes marked as started by the server
// identified by owner (bpftrace and anything it started).
func ProcessesOf(owner string) ([]int, error) {
	var pids []int
	err := eachMarked(func(pid int, m marker) {
		if m.owner == owner {
			pids = append(pids, pid)
		}
	})
	return pids, err
}

// eachMarked calls f for every process that carries an owner marker.
// Processes it cannot inspect (gone, or not ours to read) are skipped.
func eachMarked(f func(pid int, m marker)) error {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if m, ok := markerOf(cmdline); ok {
			f(pid, m)
		}
	}
	return nil
}

// FindOrphans lists running processes marked by a bpftrace-mcp server of
// scope whose owner is no longer alive, and those marked without a scope by
// older versions. Processes it cannot inspect are skipped.
func FindOrphans(scope string) ([]Orphan, error) {
	var orphans []Orphan
	err := eachMarked(func(pid int, m marker) {
		if (m.scope == scope || m.scope == "") && !OwnerAlive(m.owner) {
			orphans = append(orphans, Orphan{Pid: pid, Owner: m.owner, Scope: m.scope})
		}
	})
	return orphans, err
}

// SweepOrphans kills (SIGKILL, whole process group) every bpftrace left
// running by a server of scope that died, and returns what it killed. A
// server killed with SIGKILL takes its bpftrace with it through the
// parent-death signal; this is the second line of defence, for children
// started through sudo (setuid clears the parent-death signal) or by older
// versions. Processes of other scopes are left alone, whoever left them:
// their own servers reap them when they restart.
func SweepOrphans(scope string) ([]Orphan, error) {
	orphans, err := FindOrphans(scope)
	if err != nil {
		return nil, err
	}
	var killed []Orphan
	var errs []error
	for _, o := range orphans {
		err := unix.Kill(-o.Pid, unix.SIGKILL)
		if errors.Is(err, unix.ESRCH) {
			// Not a group leader (or already gone): kill the process itself.
			err = unix.Kill(o.Pid, unix.SIGKILL)
		}
		switch {
		case err == nil:
			killed = append(killed, o)
		case !errors.Is(err, unix.ESRCH):
			errs = append(errs, fmt.Errorf("kill orphaned bpftrace %d: %w", o.Pid, err))
		}
	}
	return killed, errors.Join(errs...)
}

// marker is what an owner marker says.
type marker struct{ owner, scope string }

// markerOf finds the owner marker among the NUL-separated arguments of
// /proc/PID/cmdline. Only the last two arguments count, where Start puts
// them: a marker-like string inside a program text is not one.
func markerOf(cmdline []byte) (marker, bool) {
	args := bytes.Split(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0})
	owner, ok := bytes.CutPrefix(args[len(args)-1], []byte(ownerPrefix))
	if !ok {
		return marker{}, false
	}
	m := marker{owner: string(owner)}
	if len(args) >= 2 {
		if scope, ok := bytes.CutPrefix(args[len(args)-2], []byte(scopePrefix)); ok {
			m.scope = string(scope)
		}
	}
	return m, true
}

// OwnerOf returns the owner string of a running process, as SelfOwner
// returns it for the calling one.
func OwnerOf(pid int) (string, error) {
	st, err := startTime(pid)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", pid, st), nil
}
