package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
