// Package realpath resolves a path to the file it names, so that a rule
// about files judges the file and not the spelling. It follows symlinks,
// /proc/PID/root (into another mount namespace when the process has one),
// and the links /proc/PID/exe, cwd, fd/N and map_files/RANGE, which the
// kernel resolves to a file rather than through their text; relative paths
// are resolved against a base directory. The result is checked against the
// kernel's own lookup: the canonical path and the path as written must name
// the same device and inode, or the path is refused.
//
// It knows nothing of bpftrace or of the policy. It imports only the
// standard library.
package realpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// File is a file named by its canonical path.
type File struct {
	// Path is the canonical path from this process's root: absolute, with
	// no symlink, ".", ".." or repeated slash in it. For a file in another
	// mount namespace it starts with Root.
	Path string
	// Root is "" for a file in this process's mount namespace, or
	// "/proc/PID/root" for one reached through another process's root
	// (a container's file system).
	Root string
	// Dev and Ino identify the file.
	Dev, Ino uint64
}

// InRoot is the path of the file inside its root: Path without Root. It is
// the path the processes of that mount namespace know it by.
func (f File) InRoot() string {
	if f.Root == "" {
		return f.Path
	}
	return strings.TrimPrefix(f.Path, f.Root)
}

// Same reports whether two files are the same file.
func (f File) Same(g File) bool { return f.Dev == g.Dev && f.Ino == g.Ino }

// Verify checks that f.Path still names the file it named when it was
// resolved, and that no symlink has been put on it since.
func (f File) Verify() error {
	g, err := Resolve(f.Path, "/")
	if err != nil {
		return err
	}
	if g.Path != f.Path || !g.Same(f) {
		return fmt.Errorf("%s: %w", f.Path, ErrChanged)
	}
	return nil
}

var (
	// ErrNotRegular means the path names something other than a regular
	// file (a directory, a device, a socket).
	ErrNotRegular = errors.New("not a regular file")
	// ErrUnresolvable means a /proc link points to something that is not a
	// file on disk (a deleted file, a memfd, an anonymous mapping), or the
	// resolved path does not name the file the kernel finds.
	ErrUnresolvable = errors.New("the path does not lead to a file on disk that can be named")
	// ErrLoop means too many symlinks were followed.
	ErrLoop = errors.New("too many levels of symbolic links")
	// ErrChanged means the file at a canonical path is no longer the one
	// that was judged.
	ErrChanged = errors.New("the file changed after it was checked")
	// ErrBadPath means the path is empty or holds a NUL byte.
	ErrBadPath = errors.New("not a usable path")
)

// maxLinks is the most symlinks one resolution follows, as in Linux
// (MAXSYMLINKS).
const maxLinks = 40

// maxPath bounds the path as written and the paths links expand to.
const maxPath = 4096

// Resolve returns the regular file name refers to. A relative name is
// resolved against base, which must be absolute (bpftrace resolves relative
// paths against its working directory, which the caller passes).
func Resolve(name, base string) (File, error) {
	r := resolver{}
	full, err := r.dir(name, base)
	if err != nil {
		return File{}, err
	}
	return r.file(name, full)
}

// ResolveAny is [Resolve] for a path that may name a directory or another
// kind of file, or may not exist: the existing part is resolved and the
// rest, which must hold no "." or "..", is appended as written. It reports
// whether the whole path exists.
func ResolveAny(name, base string) (path string, exists bool, err error) {
	r := resolver{}
	full, err := r.dir(name, base)
	if err != nil {
		return "", false, err
	}
	root, done, rest, err := r.walk("", nil, split(full), true)
	if err != nil {
		return "", false, err
	}
	for _, c := range rest {
		if c == "." || c == ".." {
			return "", false, fmt.Errorf("%s: %w: a path that does not exist holds . or ..", name, ErrUnresolvable)
		}
	}
	p := join(root, append(done, rest...))
	return p, len(rest) == 0, nil
}

type resolver struct {
	links int
}

func (r *resolver) dir(name, base string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 || len(name) > maxPath {
		return "", fmt.Errorf("%q: %w", name, ErrBadPath)
	}
	if strings.HasPrefix(name, "/") {
		return name, nil
	}
	if !strings.HasPrefix(base, "/") {
		return "", fmt.Errorf("%s is relative and the base directory %q is not absolute: %w", name, base, ErrBadPath)
	}
	return base + "/" + name, nil
}

func (r *resolver) file(name, full string) (File, error) {
	root, done, _, err := r.walk("", nil, split(full), false)
	if err != nil {
		return File{}, err
	}
	f := File{Path: join(root, done), Root: root}
	canon, err := os.Stat(f.Path)
	if err != nil {
		return File{}, err
	}
	if !canon.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s: %w", name, ErrNotRegular)
	}
	// The kernel's own lookup of the path as written must find the same
	// file: this catches whatever the walk above read differently from the
	// kernel (a magic link inside a container's /proc, say).
	orig, err := os.Stat(full)
	if err != nil {
		return File{}, err
	}
	f.Dev, f.Ino = devIno(canon)
	if od, oi := devIno(orig); od != f.Dev || oi != f.Ino {
		return File{}, fmt.Errorf("%s: %w", name, ErrUnresolvable)
	}
	return f, nil
}

func devIno(fi fs.FileInfo) (uint64, uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Dev), st.Ino //nolint:unconvert // Dev is uint32 on some platforms
}

func split(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func join(root string, done []string) string {
	if len(done) == 0 {
		if root == "" {
			return "/"
		}
		return root
	}
	return root + "/" + strings.Join(done, "/")
}

// walk resolves the components todo below root+done. With partial set it
// stops at the first component that does not exist and returns it and the
// rest unresolved; otherwise a missing component is an error.
func (r *resolver) walk(root string, done, todo []string, partial bool) (string, []string, []string, error) {
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			// At the root (ours or a container's) .. stays there, as the
			// kernel does.
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := join(root, append(done[:len(done):len(done)], c))
		fi, err := os.Lstat(cur)
		if err != nil {
			if partial && errors.Is(err, fs.ErrNotExist) {
				return root, done, append([]string{c}, todo...), nil
			}
			return "", nil, nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		r.links++
		if r.links > maxLinks {
			return "", nil, nil, fmt.Errorf("%s: %w", cur, ErrLoop)
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", nil, nil, err
		}
		if len(target) > maxPath {
			return "", nil, nil, fmt.Errorf("%s: %w", cur, ErrBadPath)
		}
		if pid, kind, ok := procLink(root, done, c); ok {
			root, done, err = r.magic(cur, pid, kind, target)
			if err != nil {
				return "", nil, nil, err
			}
			continue
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(split(target), todo...)
	}
	return root, done, nil, nil
}

// linkKind is the kind of a /proc link the kernel resolves by itself.
type linkKind int

const (
	linkRoot linkKind = iota // /proc/PID/root: the process's root directory
	linkFile                 // exe, cwd, fd/N, map_files/RANGE: a file or directory
)

// procLink reports whether root+done+c is a /proc link that the kernel
// follows to an object rather than through its text, and which process it
// belongs to. Only the host's /proc is read this way; inside another root
// the final device and inode check refuses what the text gets wrong.
func procLink(root string, done []string, c string) (pid string, kind linkKind, ok bool) {
	if root != "" || len(done) < 2 || done[0] != "proc" || !isNumber(done[1]) {
		return "", 0, false
	}
	pid = done[1]
	rest := done[2:]
	// /proc/PID/task/TID/... behaves like /proc/TID/...
	if len(rest) >= 2 && rest[0] == "task" && isNumber(rest[1]) {
		pid, rest = rest[1], rest[2:]
	}
	switch {
	case len(rest) == 0 && c == "root":
		return pid, linkRoot, true
	case len(rest) == 0 && (c == "exe" || c == "cwd"):
		return pid, linkFile, true
	case len(rest) == 1 && (rest[0] == "fd" || rest[0] == "map_files"):
		return pid, linkFile, true
	}
	return "", 0, false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// magic resolves a /proc link of process pid whose text is target. It
// returns the root and components the walk continues from.
func (r *resolver) magic(link, pid string, kind linkKind, target string) (string, []string, error) {
	procRoot := "/proc/" + pid + "/root"
	root, err := r.rootOf(procRoot)
	if err != nil {
		return "", nil, err
	}
	if kind == linkRoot {
		return root, nil, nil
	}
	// The text of exe, fd and map_files links is the path in the process's
	// mount namespace; a deleted file, a memfd, a socket or an anonymous
	// inode does not start with / or ends in " (deleted)". Whatever the
	// text, the file it leads to must be the one the kernel finds.
	if !strings.HasPrefix(target, "/") || strings.HasSuffix(target, " (deleted)") {
		return "", nil, fmt.Errorf("%s: %w", link, ErrUnresolvable)
	}
	root2, done, _, err := r.walk(root, nil, split(target), false)
	if err != nil {
		return "", nil, err
	}
	want, err := os.Stat(link)
	if err != nil {
		return "", nil, err
	}
	got, err := os.Stat(join(root2, done))
	if err != nil {
		return "", nil, err
	}
	wd, wi := devIno(want)
	gd, gi := devIno(got)
	if wd != gd || wi != gi {
		return "", nil, fmt.Errorf("%s: %w", link, ErrUnresolvable)
	}
	return root2, done, nil
}

// rootOf returns "" when the process's root directory (procRoot) is this
// process's root, else procRoot: paths below it are then that namespace's.
func (r *resolver) rootOf(procRoot string) (string, error) {
	theirs, err := os.Stat(procRoot)
	if err != nil {
		return "", err
	}
	ours, err := os.Stat("/")
	if err != nil {
		return "", err
	}
	td, ti := devIno(theirs)
	od, oi := devIno(ours)
	if td == od && ti == oi {
		return "", nil
	}
	return procRoot, nil
}
