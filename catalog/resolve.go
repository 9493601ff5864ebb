package catalog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// resolveTarget turns the target of a uprobe or usdt attach point into the
// paths bpftrace would use, in bpftrace's order:
//   - a target with a '/' is a path, used as written (glob patterns are
//     expanded, keeping the files that are ELF);
//   - a bare name is looked up in $PATH, then as a library ("libc", "c",
//     "libc.so.6") in ld.so.cache, then in the standard library directories.
//
// For a bare name only the first hit is returned: bpftrace warns about the
// others and attaches to the first.
func (c *Catalog) resolveTarget(target string) ([]string, error) {
	if target == "" || target == "*" {
		return nil, ErrNeedsTarget
	}
	if strings.Contains(target, "/") {
		if !hasWildcard(target) {
			if _, err := os.Stat(target); err != nil {
				return nil, fmt.Errorf("resolve %s: %w", target, notFound(err))
			}
			return []string{target}, nil
		}
		matches, err := filepath.Glob(target)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", target, err)
		}
		var out []string
		for _, m := range matches {
			if isELF(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("resolve %s: no ELF file matches: %w", target, ErrNotFound)
		}
		return out, nil
	}
	for _, dir := range filepath.SplitList(c.pathEnv()) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, target)
		// Like bpftrace, skip what cannot be probed: scripts (pyenv shims
		// named python3, say) and files that are not executable.
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 && isELF(p) {
			return []string{p}, nil
		}
	}
	if p, ok := c.lookupLibrary(target); ok {
		return []string{p}, nil
	}
	return nil, fmt.Errorf("resolve %q: not a path, not in PATH, not a library in %s or %s: %w",
		target, c.ldCachePath(), strings.Join(libDirs(), ":"), ErrNotFound)
}

func notFound(err error) error {
	if os.IsNotExist(err) {
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	return err
}

func (c *Catalog) pathEnv() string {
	if c.opts.Path != "" {
		return c.opts.Path
	}
	return os.Getenv("PATH")
}

func (c *Catalog) ldCachePath() string {
	if c.opts.LDSOCache != "" {
		return c.opts.LDSOCache
	}
	return "/etc/ld.so.cache"
}

// lookupLibrary resolves a library name through ld.so.cache, then the
// standard directories.
func (c *Catalog) lookupLibrary(name string) (string, bool) {
	if entries, err := c.ldcache.get(c.ldCachePath()); err == nil {
		if p, ok := lookupLDCache(entries, name); ok {
			return p, true
		}
	}
	base := strings.TrimPrefix(name, "lib")
	for _, dir := range libDirs() {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var cands []string
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, "lib"+base+".so") || n == name {
				cands = append(cands, n)
			}
		}
		sort.Strings(cands)
		for _, n := range cands {
			if p := filepath.Join(dir, n); isELF(p) {
				return p, true
			}
		}
	}
	return "", false
}

// libDirs are the directories the dynamic linker searches by default.
func libDirs() []string {
	dirs := []string{"/lib", "/usr/lib", "/lib64", "/usr/lib64"}
	if t := multiarchTriplet(); t != "" {
		dirs = append([]string{"/lib/" + t, "/usr/lib/" + t}, dirs...)
	}
	return dirs
}

func multiarchTriplet() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu"
	case "arm64":
		return "aarch64-linux-gnu"
	case "386":
		return "i386-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	case "s390x":
		return "s390x-linux-gnu"
	case "riscv64":
		return "riscv64-linux-gnu"
	}
	return ""
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return false
	}
	return bytes.Equal(magic[:], []byte("\x7fELF"))
}

// ldCache caches the parsed ld.so.cache, re-reading it when it changes
// (ldconfig rewrites it on every package install).
type ldCache struct {
	mu      sync.Mutex
	path    string
	size    int64
	mtime   time.Time
	entries []ldEntry
}

func (l *ldCache) get(path string) ([]ldEntry, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries != nil && l.path == path && l.size == st.Size() && l.mtime.Equal(st.ModTime()) {
		return l.entries, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	entries, err := parseLDCache(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	l.path, l.size, l.mtime, l.entries = path, st.Size(), st.ModTime(), entries
	return entries, nil
}

// ResolveTarget returns the files a uprobe, uretprobe or usdt target names,
// resolved as bpftrace resolves it: a path (or a glob of paths) as
// written, a bare name through $PATH and then as a library. The policy
// canonicalises them and judges the files.
func (c *Catalog) ResolveTarget(target string) ([]string, error) {
	return c.resolveTarget(target)
}
