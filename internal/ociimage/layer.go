package ociimage

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerWriter writes one layer: a tar stream, gzip-compressed into a file.
// Every entry gets the same modification time and no user or group names,
// so the bytes depend only on the files' contents, modes and owners.
type layerWriter struct {
	f     *os.File
	gz    *gzip.Writer
	tw    *tar.Writer
	mtime time.Time
}

func newLayerWriter(file string, mtime time.Time) (*layerWriter, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	// gzip's header carries no name and no time unless set: the stream is
	// a function of the tar bytes and the level (and Go's compressor).
	gz, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &layerWriter{f: f, gz: gz, tw: tar.NewWriter(gz), mtime: mtime.UTC().Truncate(time.Second)}, nil
}

// add writes one entry; body is read for regular files.
func (w *layerWriter) add(h *tar.Header, body io.Reader) error {
	h.ModTime, h.AccessTime, h.ChangeTime = w.mtime, time.Time{}, time.Time{}
	h.Uname, h.Gname = "", ""
	// PAX keeps long names and large ids exactly; the writer picks USTAR
	// when that is enough, the same way for the same entry every time.
	h.Format = tar.FormatPAX
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if body != nil {
		n, err := io.Copy(w.tw, body)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		if n != h.Size {
			return fmt.Errorf("%s: read %d bytes, expected %d (did it change while the layer was written?)", h.Name, n, h.Size)
		}
	}
	return nil
}

// close finishes the layer file.
func (w *layerWriter) close() error {
	return errors.Join(w.tw.Close(), w.gz.Close(), w.f.Close())
}

// layerFile is the OCI layer whose compressed bytes are in file. Its
// digests are computed here, once.
func layerFile(file string) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(file) },
		tarball.WithMediaType(types.OCILayer))
}

// abort discards a layer that could not be written.
func (w *layerWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// What of a Debian root stays out of the image: The kernel's
// and the runtime's file systems are mounted over /proc, /sys, /dev and
// /run by the container runtime (and the test wrappers bind-mount the
// host's into the root they chroot into), so only the directories stay.
// apt's package lists, logs, manual pages and translations are of no use
// to a server that never installs anything; the packages' copyright files
// stay, as Debian's licences ask.
//
// emptied are directories kept without their contents.
var emptied = map[string]bool{
	"proc": true, "sys": true, "dev": true, "run": true, "tmp": true, "var/tmp": true,
	"var/lib/apt/lists": true, "var/cache/apt": true, "var/log": true,
	"usr/share/man": true, "usr/share/info": true, "usr/share/locale": true,
}

// keepInImage says whether entry rel (slash-separated, relative to the
// root) goes into the layer, and whether a directory's contents are walked.
func keepInImage(rel string, d fs.DirEntry) (keep, descend bool) {
	if emptied[rel] {
		return true, false
	}
	if doc, ok := strings.CutPrefix(rel, "usr/share/doc/"); ok {
		switch {
		case d.IsDir():
			return true, true
		case !strings.Contains(doc, "/"):
			// A package's doc directory can be a symlink to another's.
			return d.Type()&fs.ModeSymlink != 0 || doc == "copyright", false
		default:
			return path.Base(doc) == "copyright", false
		}
	}
	return true, true
}

// walkRoot calls visit with the layer entry of each file under root that
// the image keeps, in lexical order: hard links as links, root's file
// system only (a mount point is kept as an empty directory), without what
// keepInImage leaves out. src is the file to read for a regular file's
// body, and mtime its time on disk (the entry itself has none yet).
// Extended attributes (file capabilities) are not carried: Debian's minbase
// with bpftrace sets none, and the server runs as root.
func walkRoot(root string, visit func(h *tar.Header, src string, mtime time.Time) error) error {
	rootInfo, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if !rootInfo.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	rootDev := rootInfo.Sys().(*syscall.Stat_t).Dev
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		keep, descend := keepInImage(rel, d)
		if !keep {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if d.IsDir() && st.Dev != rootDev {
			descend = false
		}
		if info.Mode()&fs.ModeSocket != 0 {
			return nil // a socket is a live endpoint, not a file to ship
		}
		var link string
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		h.Name = rel
		if d.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid = int(st.Uid), int(st.Gid)
		src := ""
		if h.Typeflag == tar.TypeReg {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := links[key]; ok && st.Nlink > 1 {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				if st.Nlink > 1 {
					links[key] = rel
				}
				src = p
			}
		}
		if err := visit(h, src, info.ModTime()); err != nil {
			return err
		}
		if d.IsDir() && !descend {
			return fs.SkipDir
		}
		return nil
	})
}

// writeTree writes the tree under root into w, as the layer's "/".
func writeTree(w *layerWriter, root string) error {
	return walkRoot(root, func(h *tar.Header, src string, _ time.Time) error {
		if src == "" {
			return w.add(h, nil)
		}
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		return w.add(h, f)
	})
}

// rootLayerFormat changes whenever what walkRoot keeps or how a layer is
// written changes, so that a cached root layer of the old kind is not
// taken for a new one.
const rootLayerFormat = "ociimage root layer 2"

// treeKey is a digest of everything a root layer is made from: each kept
// entry's name, type, mode, owner, size, link and time on disk. Same key,
// same layer (unless a file was changed in place and its time put back).
func treeKey(root string) (string, error) {
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\x00", rootLayerFormat)
	err := walkRoot(root, func(h *tar.Header, _ string, mtime time.Time) error {
		_, err := fmt.Fprintf(sum, "%q %c %o %d:%d %d %q %d\n", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size, h.Linkname, mtime.UnixNano())
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// File is one file of the server's layer.
type File struct {
	Path   string // absolute, in the image
	Source string // the file to copy
	Mode   fs.FileMode
}

// writeFiles writes files, and the directories leading to them and to
// dirs, in lexical order, owned by root. Directories are 0755 unless dirs
// says otherwise: they also exist in the root layer, and a layer entry
// replaces the lower one's mode.
func writeFiles(w *layerWriter, files []File, dirs map[string]fs.FileMode) error {
	entries := map[string]*File{}
	modes := map[string]fs.FileMode{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			if _, ok := modes[d]; !ok {
				modes[d] = 0o755
			}
		}
	}
	for i := range files {
		f := &files[i]
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return fmt.Errorf("image path %q is not clean and absolute", f.Path)
		}
		entries[f.Path] = f
		addParents(f.Path)
	}
	for d, m := range dirs {
		addParents(d)
		modes[d] = m
	}
	names := make([]string, 0, len(entries)+len(modes))
	for p := range entries {
		names = append(names, p)
	}
	for d := range modes {
		names = append(names, d)
	}
	// The same order as a walk: a directory before what it holds.
	sortPaths(names)
	for _, p := range names {
		rel := strings.TrimPrefix(p, "/")
		if m, ok := modes[p]; ok {
			if err := w.add(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: int64(m.Perm())}, nil); err != nil {
				return err
			}
			continue
		}
		f := entries[p]
		if err := addFile(w, rel, f); err != nil {
			return err
		}
	}
	return nil
}

func addFile(w *layerWriter, rel string, f *File) error {
	src, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Source)
	}
	return w.add(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(f.Mode.Perm()), Size: info.Size()}, src)
}

// sortPaths sorts absolute slash paths component by component, so that
// "/a/b" comes before "/a-b" (a plain string sort puts '-' before '/').
func sortPaths(ps []string) {
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	slices.SortFunc(ps, func(a, b string) int { return strings.Compare(key(a), key(b)) })
}
