package ociimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const dpkgStatus = `Package: base-files
Status: install ok installed
Version: 13.8

Package: bpftrace
Status: install ok installed
Priority: optional
Version: 0.23.2-1
Description: high-level tracing language for Linux eBPF
 A long description line.
`

// fakeRoot makes a small Debian-like root: what the image keeps and what it
// prunes, a hard link and a symlink.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"var/lib/dpkg/status":                dpkgStatus,
		"usr/bin/bpftrace":                   "#!/bin/sh\necho bpftrace\n",
		"usr/share/doc/bpftrace/copyright":   "licence text",
		"usr/share/doc/bpftrace/README.gz":   "docs",
		"usr/share/doc/bpftrace/x/copyright": "nested licence",
		"usr/share/man/man8/bpftrace.8.gz":   "manual",
		"usr/share/locale/de/LC_MESSAGES/x":  "übersetzt",
		"var/lib/apt/lists/a_Packages":       "lists",
		"var/log/dpkg.log":                   "log",
		"dev/null":                           "not a device here",
		"proc/1/status":                      "process",
		"tmp/leftover":                       "tmp",
		"etc/hostname":                       "root\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sys/kernel", "run/lock", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "usr/bin/bpftrace"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/bpftrace"), filepath.Join(root, "usr/bin/bpftrace-hardlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("bpftrace", filepath.Join(root, "usr/share/doc/bpftrace-dbg")); err != nil {
		t.Fatal(err)
	}
	return root
}

func fakeSpec(t *testing.T, root string) Spec {
	t.Helper()
	dir := t.TempDir()
	server := filepath.Join(dir, "bpftrace-mcp")
	config := filepath.Join(dir, "bpftrace-mcp.toml")
	if err := os.WriteFile(server, []byte("\x7fELF a static server"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("read_only = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Root: root, Server: server, Config: config, WorkDir: t.TempDir(),
		Epoch:      time.Unix(1764547200, 0),
		ServerName: "io.github.bpftrace-mcp/bpftrace-mcp",
		Version:    "0.1.0", Revision: "abc123", Source: "https://github.com/bpftrace-mcp/bpftrace-mcp", Licenses: "NOASSERTION",
	}
}

func build(t *testing.T, s Spec) *Image {
	t.Helper()
	img, err := Build(s)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() {
		if err := img.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The same inputs give the same digest, whatever the files' times, the
// work directory or the order in which the file system lists entries; any
// change of content changes it.
func TestBuildIsReproducible(t *testing.T) {
	root := fakeRoot(t)
	s := fakeSpec(t, root)
	first := digest(t, build(t, s))

	// Touch everything, and build elsewhere.
	later := time.Now().Add(time.Hour)
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, later, later)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.WorkDir = t.TempDir()
	if again := digest(t, build(t, s)); again != first {
		t.Errorf("a second build of the same inputs has digest %s, the first %s", again, first)
	}

	// Changes to what is kept change the digest; changes to what is pruned
	// do not.
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, s *Spec)
		changes bool
	}{
		{"a root file", func(t *testing.T, s *Spec) { write(t, filepath.Join(s.Root, "etc/hostname"), "other\n") }, true},
		{"the server", func(t *testing.T, s *Spec) { write(t, s.Server, "\x7fELF another server") }, true},
		{"the epoch", func(t *testing.T, s *Spec) { s.Epoch = s.Epoch.Add(time.Second) }, true},
		{"the version", func(t *testing.T, s *Spec) { s.Version = "0.1.1" }, true},
		{"a pruned log", func(t *testing.T, s *Spec) { write(t, filepath.Join(s.Root, "var/log/dpkg.log"), "more log") }, false},
		{"a file under /proc", func(t *testing.T, s *Spec) { write(t, filepath.Join(s.Root, "proc/2/status"), "x") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeSpec(t, fakeRoot(t))
			before := digest(t, build(t, s))
			tc.change(t, &s)
			after := digest(t, build(t, s))
			if (before != after) != tc.changes {
				t.Errorf("changing %s: digest %s → %s; want changed=%v", tc.name, before, after, tc.changes)
			}
		})
	}
}

func write(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildConfigAndLayers(t *testing.T) {
	img := build(t, fakeSpec(t, fakeRoot(t)))
	// The whole image is validated once read back (TestArchiveRoundTrip):
	// in memory, the layers' descriptors carry an empty annotation map
	// that the manifest's JSON omits, which validate.Image counts as a
	// difference.
	layersToCheck, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layersToCheck {
		if err := validate.Layer(l); err != nil {
			t.Fatalf("a layer does not validate (digest, diff id, size): %v", err)
		}
	}
	if img.BpftraceVersion != "0.23.2-1" {
		t.Errorf("BpftraceVersion = %q, want 0.23.2-1 from dpkg's status", img.BpftraceVersion)
	}
	mt, err := img.MediaType()
	if err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %q (%v), want %q", mt, err, types.OCIManifestSchema1)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
		t.Fatalf("config %q and %d layers, want %q and 2", m.Config.MediaType, len(m.Layers), types.OCIConfigJSON)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %q, want %q", l.MediaType, types.OCILayer)
		}
	}
	if got := m.Annotations[LabelMCPServerName]; got != "io.github.bpftrace-mcp/bpftrace-mcp" {
		t.Errorf("manifest annotation %s = %q", LabelMCPServerName, got)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != ServerPath {
		t.Errorf("Entrypoint = %q, want [%s]", got, ServerPath)
	}
	if cf.Config.User != "" {
		t.Errorf("User = %q: bpftrace needs root", cf.Config.User)
	}
	want := map[string]string{
		LabelMCPServerName:   "io.github.bpftrace-mcp/bpftrace-mcp",
		LabelSource:          "https://github.com/bpftrace-mcp/bpftrace-mcp",
		LabelVersion:         "0.1.0",
		LabelRevision:        "abc123",
		LabelLicenses:        "NOASSERTION",
		LabelCreated:         "2025-12-01T00:00:00Z",
		LabelBpftraceVersion: "0.23.2-1",
	}
	for k, v := range want {
		if got := cf.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if !cf.Created.Equal(time.Unix(1764547200, 0)) {
		t.Errorf("created %s, want the epoch", cf.Created)
	}

	// Every entry carries no names, and one time: the root's the Unix
	// epoch, the server's the build's epoch.
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, l := range layers {
		want := []time.Time{time.Unix(0, 0), time.Unix(1764547200, 0)}[i]
		for _, h := range entries(t, l) {
			names = append(names, h.Name)
			if !h.ModTime.Equal(want) || h.Uname != "" || h.Gname != "" {
				t.Errorf("layer %d: %s: time %s, user %q, group %q; want %s and no names", i, h.Name, h.ModTime, h.Uname, h.Gname, want)
			}
		}
	}
	all := "\n" + strings.Join(names, "\n") + "\n"
	for _, in := range []string{"proc/", "sys/", "dev/", "tmp/", "var/log/", "usr/share/man/", "usr/bin/bpftrace",
		"usr/share/doc/bpftrace/copyright", "usr/share/doc/bpftrace/x/copyright", "usr/share/doc/bpftrace-dbg",
		"usr/local/bin/bpftrace-mcp", "etc/bpftrace-mcp/bpftrace-mcp.toml", "var/lib/bpftrace-mcp/"} {
		if !strings.Contains(all, "\n"+in+"\n") {
			t.Errorf("the layers lack %s:%s", in, all)
		}
	}
	for _, out := range []string{"proc/1", "sys/kernel", "dev/null", "tmp/leftover", "run/lock", "var/log/dpkg.log",
		"usr/share/man/man8", "usr/share/locale/de", "var/lib/apt/lists/a_Packages", "usr/share/doc/bpftrace/README.gz"} {
		if strings.Contains(all, "\n"+out) {
			t.Errorf("the layers hold %s, which the image leaves out:%s", out, all)
		}
	}
}

func entries(t *testing.T, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestBuildRefusesARootWithoutBpftrace(t *testing.T) {
	root := fakeRoot(t)
	write(t, filepath.Join(root, "var/lib/dpkg/status"), "Package: base-files\nStatus: install ok installed\nVersion: 13.8\n")
	_, err := Build(fakeSpec(t, root))
	if err == nil || !strings.Contains(err.Error(), "no bpftrace installed") || !strings.Contains(err.Error(), "bpftrace-root.sh") {
		t.Errorf("Build of a root without bpftrace: %v; want an error that names the script that builds one", err)
	}
}

// The archive reads back, through go-containerregistry's layout reader, as
// the same image, and its bytes are the same every time.
func TestArchiveRoundTrip(t *testing.T) {
	img := build(t, fakeSpec(t, fakeRoot(t)))
	var a, b bytes.Buffer
	d, err := WriteArchive(&a, img, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteArchive(&b, img, "0.1.0"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two archives of one image differ")
	}
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := OpenArchive(file, t.TempDir(), "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if got := digest(t, back); got != d || got != digest(t, img) {
		t.Errorf("read back with digest %s; written %s", got, d)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("the image read back does not validate: %v", err)
	}
	if _, err := OpenArchive(file, t.TempDir(), "9.9.9"); err == nil || !strings.Contains(err.Error(), `"9.9.9"`) {
		t.Errorf("OpenArchive of a missing name: %v", err)
	}
}

func TestUnpackBuiltImage(t *testing.T) {
	img := build(t, fakeSpec(t, fakeRoot(t)))
	dir := t.TempDir()
	if err := Unpack(img, dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		"usr/local/bin/bpftrace-mcp":         0o755,
		"etc/bpftrace-mcp/bpftrace-mcp.toml": 0o644,
		"usr/bin/bpftrace":                   0o755,
		"var/lib/bpftrace-mcp":               os.ModeDir | 0o700,
		"proc":                               os.ModeDir | 0o755,
	} {
		info, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Errorf("unpacked image lacks %s: %v", p, err)
			continue
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %s, want %s", p, info.Mode(), want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin")); err != nil || l != "usr/bin" {
		t.Errorf("bin → %q (%v), want usr/bin", l, err)
	}
	a, errA := os.Stat(filepath.Join(dir, "usr/bin/bpftrace"))
	b, errB := os.Stat(filepath.Join(dir, "usr/bin/bpftrace-hardlink"))
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("the hard link was not kept as one: %v %v", errA, errB)
	}
	if a != nil && a.Sys().(*syscall.Stat_t).Nlink != 2 {
		t.Errorf("usr/bin/bpftrace has %d links, want 2", a.Sys().(*syscall.Stat_t).Nlink)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "proc")); err != nil || len(ents) != 0 {
		t.Errorf("/proc in the image holds %v (%v), want nothing", ents, err)
	}
}

// tarLayer makes a layer of the given entries; a name ending in "/" is a
// directory, "name -> target" a symlink.
func tarLayer(t *testing.T, names ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(n))}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if name, target, ok := strings.Cut(n, " -> "); ok {
			h.Name, h.Linkname, h.Typeflag, h.Mode, h.Size = name, target, tar.TypeSymlink, 0o777, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Whiteouts delete a lower layer's file; an opaque directory hides a
// lower layer's contents of it, not the upper layer's.
func TestUnpackAppliesWhiteouts(t *testing.T) {
	img, err := mutate.AppendLayers(empty.Image,
		tarLayer(t, "a/", "a/gone", "a/kept", "b/", "b/hidden", "b/sub/", "b/sub/deep", "c/", "c/old"),
		tarLayer(t, "a/.wh.gone", "b/", "b/.wh..wh..opq", "b/new", "c/.wh.old"),
		tarLayer(t, "c/old/", "c/old/now-a-dir"),
	)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Unpack(img, dir); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() {
			rel += "/"
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/", "a/kept", "b/", "b/new", "c/", "c/old/", "c/old/now-a-dir"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("unpacked %q, want %q", got, want)
	}
}

// No entry lands outside the directory: paths that climb out are refused,
// links that climb out are dropped, and a symlink hides what a layer puts
// under its name (a non-directory replaces the directory of that name).
func TestUnpackRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		names   []string
		refused bool
	}{
		{[]string{"../outside"}, true},
		{[]string{"a/../../outside"}, true},
		{[]string{"up -> ..", "up/outside"}, false},
		{[]string{"abs -> /", "abs/outside"}, false},
		{[]string{"abs -> /tmp", "abs/outside"}, false},
	} {
		img, err := mutate.AppendLayers(empty.Image, tarLayer(t, tc.names...))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
		err = Unpack(img, filepath.Join(dir, "root"))
		if (err != nil) != tc.refused {
			t.Errorf("Unpack of %q: %v; want refused=%v", tc.names, err, tc.refused)
		}
		for _, p := range []string{filepath.Join(dir, "outside"), "/outside", "/tmp/outside"} {
			if _, statErr := os.Lstat(p); statErr == nil {
				t.Errorf("Unpack of %q created %s", tc.names, p)
			}
		}
	}
}

func TestSortPaths(t *testing.T) {
	ps := []string{"/a-b", "/a/b", "/a", "/b", "/a/b/c", "/a.b"}
	sortPaths(ps)
	want := "/a /a/b /a/b/c /a-b /a.b /b"
	if got := strings.Join(ps, " "); got != want {
		t.Errorf("sortPaths = %s, want %s", got, want)
	}
}

// A cached root layer gives the image a build without the cache gives, and
// a changed root is written anew, replacing the old one.
func TestBuildCachesTheRootLayer(t *testing.T) {
	s := fakeSpec(t, fakeRoot(t))
	want := digest(t, build(t, s))
	s.CacheDir = t.TempDir()
	cached := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(s.CacheDir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := range 2 {
		if got := digest(t, build(t, s)); got != want {
			t.Errorf("build %d with a cache: digest %s, without %s", i+1, got, want)
		}
	}
	first := cached()
	if len(first) != 1 || !strings.HasPrefix(filepath.Base(first[0]), "root-") {
		t.Fatalf("the cache holds %q, want one root layer", first)
	}
	// Another commit (epoch) reuses the root's layer.
	s.Epoch = s.Epoch.Add(time.Hour)
	build(t, s)
	if again := cached(); len(again) != 1 || again[0] != first[0] {
		t.Errorf("a build at another epoch left %q in the cache, want the same root layer %q", again, first[0])
	}
	write(t, filepath.Join(s.Root, "etc/hostname"), "changed\n")
	if got := digest(t, build(t, s)); got == want {
		t.Error("a changed root gave the cached image")
	}
	if now := cached(); len(now) != 1 || now[0] == first[0] {
		t.Errorf("after a change the cache holds %q, want one new root layer (not %q)", now, first[0])
	}
}
