package realpath

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tree builds a directory with a file, a directory, and symlinks of every
// kind under a temporary directory whose own path is canonical.
func tree(t testing.TB) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(dir+"/lib/sub", 0o755))
	must(os.WriteFile(dir+"/lib/libsecret.so.1", []byte("\x7fELF"), 0o644))
	must(os.Symlink("libsecret.so.1", dir+"/lib/libsecret.so"))
	must(os.Symlink(dir+"/lib", dir+"/abs"))
	must(os.Symlink("../libsecret.so", dir+"/lib/sub/up"))
	must(os.Symlink("loop2", dir+"/loop1"))
	must(os.Symlink("loop1", dir+"/loop2"))
	must(os.Symlink("missing", dir+"/dangling"))
	return dir
}

func TestResolve(t *testing.T) {
	dir := tree(t)
	want := dir + "/lib/libsecret.so.1"
	tests := []struct {
		name, base string
	}{
		{dir + "/lib/libsecret.so.1", "/"},
		{dir + "/lib/libsecret.so", "/"},
		{dir + "/abs/libsecret.so", "/"},
		{dir + "/lib/sub/up", "/"},
		{dir + "/lib/sub/../libsecret.so", "/"},
		{dir + "//lib/./libsecret.so", "/"},
		{dir + "/abs/sub/../sub/up", "/"},
		{"lib/libsecret.so", dir},
		{"./abs/../abs/libsecret.so", dir},
		{"../" + filepath.Base(dir) + "/lib/libsecret.so", dir},
		{"/proc/self/root" + dir + "/lib/libsecret.so", "/"},
		{"/proc/self/root/../../proc/self/root" + dir + "/abs/libsecret.so", "/"},
		{"/proc/" + strconv.Itoa(os.Getpid()) + "/root" + dir + "/lib/libsecret.so", "/"},
		{"/proc/thread-self/root" + dir + "/lib/libsecret.so", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Resolve(tt.name, tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if f.Path != want || f.Root != "" || f.InRoot() != want {
				t.Errorf("got %+v, want path %s", f, want)
			}
			checkCanonical(t, tt.name, tt.base, f)
		})
	}
}

// checkCanonical checks the properties every result has: absolute, clean,
// no symlink on the way, the same file as the path as written.
func checkCanonical(t testing.TB, name, base string, f File) {
	t.Helper()
	if !strings.HasPrefix(f.Path, "/") || filepath.Clean(f.Path) != f.Path {
		t.Fatalf("%q → %q: not absolute and clean", name, f.Path)
	}
	p := ""
	for _, c := range strings.Split(f.Path, "/")[1:] {
		p += "/" + c
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("%q → %q: %v", name, f.Path, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 && !(f.Root != "" && p == f.Root) {
			t.Fatalf("%q → %q: %s is a symlink", name, f.Path, p)
		}
	}
	full := name
	if !strings.HasPrefix(name, "/") {
		full = base + "/" + name
	}
	a, err1 := os.Stat(full)
	b, err2 := os.Stat(f.Path)
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Fatalf("%q → %q: not the same file (%v, %v)", name, f.Path, err1, err2)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := tree(t)
	tests := []struct {
		name string
		want error
	}{
		{dir + "/loop1", ErrLoop},
		{dir + "/dangling", fs.ErrNotExist},
		{dir + "/lib", ErrNotRegular},
		{dir + "/abs/", ErrNotRegular},
		{"/proc/self/root", ErrNotRegular},
		{"", ErrBadPath},
		{"a\x00b", ErrBadPath},
		{dir + "/nothing/here", fs.ErrNotExist},
		{dir + "/lib/libsecret.so.1/x", nil}, // ENOTDIR: any error will do
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Resolve(tt.name, "/")
			if err == nil {
				t.Fatalf("resolved to %+v, want an error", f)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Resolve("lib/x", "relative"); !errors.Is(err, ErrBadPath) {
		t.Errorf("relative base: got %v", err)
	}
}

// TestProcLinks follows the links the kernel resolves by itself: exe,
// fd/N, map_files/RANGE, and refuses one that leads to a deleted file.
func TestProcLinks(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	for _, p := range []string{"/proc/self/exe", "/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/exe"} {
		f, err := Resolve(p, "/")
		if err != nil || f.Path != exe {
			t.Errorf("%s: got %+v, %v; want %s", p, f, err, exe)
		}
	}

	dir := tree(t)
	fh, err := os.Open(dir + "/abs/libsecret.so")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fdPath := "/proc/self/fd/" + strconv.Itoa(int(fh.Fd()))
	f, err := Resolve(fdPath, "/")
	if err != nil || f.Path != dir+"/lib/libsecret.so.1" {
		t.Errorf("%s: got %+v, %v", fdPath, f, err)
	}

	// A file-backed mapping of this process, named through map_files.
	if ranges, file := mappedFile(t); ranges != "" {
		want, _ := filepath.EvalSymlinks(file)
		f, err = Resolve("/proc/self/map_files/"+ranges, "/")
		if err != nil || f.Path != want {
			t.Errorf("map_files/%s: got %+v, %v; want %s", ranges, f, err, want)
		}
	}

	// A deleted file has no name to judge.
	del, err := os.Open(dir + "/lib/libsecret.so.1")
	if err != nil {
		t.Fatal(err)
	}
	defer del.Close()
	if err := os.Remove(dir + "/lib/libsecret.so.1"); err != nil {
		t.Fatal(err)
	}
	if f, err := Resolve("/proc/self/fd/"+strconv.Itoa(int(del.Fd())), "/"); !errors.Is(err, ErrUnresolvable) {
		t.Errorf("deleted file: got %+v, %v; want ErrUnresolvable", f, err)
	}
}

// mappedFile returns the address range of a file-backed mapping of this
// process (map_files needs CAP_SYS_ADMIN; "" when it cannot be read).
func mappedFile(t *testing.T) (ranges, file string) {
	t.Helper()
	fh, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", ""
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 6 && strings.HasPrefix(fields[5], "/") {
			// maps pads addresses to 8 digits; map_files names do not.
			lo, hi, _ := strings.Cut(fields[0], "-")
			fields[0] = trimZeros(lo) + "-" + trimZeros(hi)
			if _, err := os.Readlink("/proc/self/map_files/" + fields[0]); err != nil {
				t.Logf("map_files not readable: %v", err)
				return "", ""
			}
			return fields[0], fields[5]
		}
	}
	return "", ""
}

func trimZeros(s string) string {
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return "0"
}

func TestVerify(t *testing.T) {
	dir := tree(t)
	f, err := Resolve(dir+"/lib/libsecret.so", "/")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	// Replace the file with another one at the same path.
	if err := os.Rename(dir+"/lib/libsecret.so.1", dir+"/lib/old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/lib/libsecret.so.1", []byte("other"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); !errors.Is(err, ErrChanged) {
		t.Errorf("replaced file: got %v, want ErrChanged", err)
	}
	// Put a symlink on the way.
	if err := os.Rename(dir+"/lib", dir+"/lib2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib2", dir+"/lib"); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err == nil {
		t.Error("symlinked directory: Verify passed")
	}
}

func TestResolveAny(t *testing.T) {
	dir := tree(t)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ = filepath.EvalSymlinks(cwd)
	tests := []struct {
		name, want string
		exists     bool
	}{
		{dir + "/abs/libsecret.so", dir + "/lib/libsecret.so.1", true},
		{dir + "/abs/sub", dir + "/lib/sub", true},
		{dir + "/abs/new/file", dir + "/lib/new/file", false},
		{"/proc/self/root" + dir + "/abs", dir + "/lib", true},
		{"/proc/self/cwd", cwd, true},
	}
	for _, tt := range tests {
		got, exists, err := ResolveAny(tt.name, "/")
		if err != nil || got != tt.want || exists != tt.exists {
			t.Errorf("ResolveAny(%q) = %q, %v, %v; want %q, %v", tt.name, got, exists, err, tt.want, tt.exists)
		}
	}
	if got, _, err := ResolveAny(dir+"/abs/new/../../../etc/shadow", "/"); err == nil {
		t.Errorf("ResolveAny with .. past a missing directory = %q, want an error", got)
	}
}

// FuzzResolve resolves arbitrary paths over a tree with symlinks of every
// kind. Whatever resolves must be canonical and name the same file as the
// path as written.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"lib/libsecret.so", "abs/../abs/libsecret.so", "lib/sub/up", "loop1", "//lib/./libsecret.so.1",
		"/proc/self/root/DIR/lib/libsecret.so", "/proc/self/cwd/lib", "/proc/self/exe", "/proc/self/fd/0",
		"/proc/self/map_files/", "/proc/thread-self/root/DIR/abs/sub/up", "../../../..//DIR/dangling",
		"/proc/1/root/DIR/lib/libsecret.so", "abs/sub/../../lib/sub/up/..", "/proc/self/task/1/root/DIR",
	} {
		f.Add(s)
	}
	dir := tree(f)
	f.Fuzz(func(t *testing.T, name string) {
		name = strings.ReplaceAll(name, "DIR", strings.TrimPrefix(dir, "/"))
		file, err := Resolve(name, dir)
		if err != nil {
			return
		}
		checkCanonical(t, name, dir, file)
		if file.Root == "" {
			if ev, err := filepath.EvalSymlinks(file.Path); err != nil || ev != file.Path {
				t.Fatalf("%q → %q, but EvalSymlinks says %q (%v)", name, file.Path, ev, err)
			}
		}
		if p, exists, err := ResolveAny(name, dir); err != nil || !exists || p != file.Path {
			t.Fatalf("%q: Resolve %q, ResolveAny %q %v %v", name, file.Path, p, exists, err)
		}
	})
}
