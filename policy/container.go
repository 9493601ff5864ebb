package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// maxContainers bounds the containers of one target: a pod has a few.
const maxContainers = 16

func validContainers(ids []string) error {
	if len(ids) > maxContainers {
		return fmt.Errorf("%w: %d containers; at most %d", ErrBadScope, len(ids), maxContainers)
	}
	for _, id := range ids {
		if len(id) < 12 || len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: container id %q: want 12 to 64 lowercase hex digits, as the runtime gives it (without containerd://)", ErrBadScope, id)
		}
	}
	return nil
}

// ErrContainerNotFound is returned when no cgroup on this host belongs to a
// container id: the container is on another node, or has ended.
var ErrContainerNotFound = errors.New("container not found on this host")

// ResolveContainers returns s with each container id's cgroup v2
// directory found under root (the cgroup v2 mount: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hosts in the hybrid layout). Container runtimes
// name a container's cgroup after its id: cri-containerd-ID.scope,
// crio-ID.scope or docker-ID.scope under systemd, ID itself under the
// cgroupfs driver. The walk stops at the first match and goes at most 10
// levels deep.
func ResolveContainers(s Scope, root string) (Scope, error) {
	if len(s.Containers) == 0 {
		return s, nil
	}
	if err := validContainers(s.Containers); err != nil {
		return s, err
	}
	s.cgroups = make([]string, len(s.Containers))
	for i, id := range s.Containers {
		dir, err := findContainerCgroup(root, id)
		if err != nil {
			return s, err
		}
		s.cgroups[i] = dir
	}
	return s, s.Validate()
}

var errFound = errors.New("found")

func findContainerCgroup(root, id string) (string, error) {
	var found string
	depth0 := strings.Count(filepath.Clean(root), string(os.PathSeparator))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a cgroup that went away mid-walk
		}
		if !d.IsDir() {
			return nil
		}
		if strings.Count(p, string(os.PathSeparator))-depth0 > 10 {
			return fs.SkipDir
		}
		name := d.Name()
		if name == id || strings.HasSuffix(name, "-"+id+".scope") {
			found = p
			return errFound
		}
		return nil
	})
	if found != "" {
		return found, nil
	}
	if err != nil && !errors.Is(err, errFound) {
		return "", fmt.Errorf("look for container %s under %s: %w", id, root, err)
	}
	return "", fmt.Errorf("%w: %s (is the pod on this node? list_nodes and the pod's node say where it runs)", ErrContainerNotFound, id)
}

// CgroupRoot is where this host mounts cgroup v2: /sys/fs/cgroup on a
// unified host, /sys/fs/cgroup/unified in the hybrid layout, "" without
// cgroup v2.
func CgroupRoot() string {
	for _, r := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(filepath.Join(r, "cgroup.procs")); err == nil {
			if _, err := os.Stat(filepath.Join(r, "cgroup.controllers")); err == nil || r != "/sys/fs/cgroup" {
				return r
			}
		}
	}
	return ""
}

// ErrNotInContainer is returned when a uprobe's binary cannot be found
// through the root filesystem of any of a target's containers.
var ErrNotInContainer = errors.New("not found in the target's containers")

// ContainerRoots returns, for each resolved container of s that has a
// process, the path of its root filesystem as this host sees it:
// /proc/PID/root of a process in the container's cgroup. A container's
// processes share its mount namespace and root, so any one of them will
// do. A container with no process (one that is restarting) runs no binary
// and is left out; it is an error when none has one.
func (s Scope) ContainerRoots() ([]string, error) {
	var roots []string
	var errs []error
	for i, cg := range s.cgroups {
		pid, err := firstProcess(cg)
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", s.Containers[i], err))
			continue
		}
		roots = append(roots, "/proc/"+strconv.Itoa(pid)+"/root")
	}
	if len(roots) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return roots, nil
}

// firstProcess returns a process in cgroup dir whose root can be read.
func firstProcess(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return 0, fmt.Errorf("read its processes: %w", err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid < 1 {
			continue
		}
		if _, err := os.Stat("/proc/" + f + "/root/"); err == nil {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("%w: its cgroup %s has no process whose root filesystem can be read", ErrContainerNotFound, dir)
}

// InContainers returns src with the binary of every uprobe, uretprobe and
// usdt attach point rewritten to the same path inside the containers'
// root filesystems (roots, from [Scope.ContainerRoots]): a pod's
// /usr/bin/bash is the file its containers run, not the host's. A binary
// that several containers share (the same file) is attached once; one
// that only some have is attached in those. The policy then judges the
// rewritten path, which package realpath canonicalises through
// /proc/PID/root and also names by its path in the container. A binary
// must be named by its absolute path in the container: a library name or
// a relative path would be found on the host.
func InContainers(src string, prog *lang.Program, roots []string) (string, error) {
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	for _, pr := range prog.Probes {
		for _, ap := range pr.AttachPoints {
			if !hasBinary(ap) {
				continue
			}
			target := ap.Parts[0]
			if !strings.HasPrefix(target, "/") {
				return "", fmt.Errorf("%s: in a container target, name the binary by its absolute path inside the container (e.g. uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc): %q would be found on this host", ap.Raw, target)
			}
			glob := strings.ContainsAny(target, "*?[{")
			if glob && len(roots) > 1 {
				return "", fmt.Errorf("%s: in a target of several containers, name one binary, not a pattern: the same file could match in several of them and be attached twice", ap.Raw)
			}
			tail := src[ap.PartExtents[0].To.Offset:ap.End().Offset]
			var aps []string
			seen := map[FileID]bool{}
			for _, root := range roots {
				p := root + target
				if !glob {
					var st syscall.Stat_t
					if err := syscall.Stat(p, &st); err != nil {
						continue // not in this container
					}
					id := FileID{uint64(st.Dev), st.Ino} //nolint:unconvert // Dev is uint32 on some platforms
					if seen[id] {
						continue // the same file as in another container
					}
					seen[id] = true
				}
				aps = append(aps, ap.Canonical+":"+p+tail)
			}
			if len(aps) == 0 {
				return "", fmt.Errorf("%s: %s: %w (%d containers looked in)", ap.Raw, target, ErrNotInContainer, len(roots))
			}
			edits = append(edits, edit{ap.Pos().Offset, ap.End().Offset, strings.Join(aps, ",")})
		}
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return b.from - a.from })
	out := src
	for _, e := range edits {
		out = out[:e.from] + e.text + out[e.to:]
	}
	return out, nil
}
