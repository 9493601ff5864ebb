package ociimage

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Unpack writes the file system of img into dir (an existing directory),
// as a container runtime would lay it out: its layers applied in order,
// whiteouts (.wh.NAME) deleting what a lower layer had and opaque
// directories (.wh..wh..opq) hiding a lower layer's contents. Modes and
// times are kept, and owners when it runs as root; device nodes
// are not made: a runtime mounts /dev. Every write goes through an
// os.Root, so no entry, whatever its name or the symlinks before it, lands
// outside dir.
func Unpack(img v1.Image, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	// mutate.Extract flattens the layers, whiteouts applied, into one tar
	// stream, the top layer's entries first.
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	// Only root can give files away; another user unpacks them as its own.
	chown := root.Lchown
	if os.Geteuid() != 0 {
		chown = func(string, int, int) error { return nil }
	}
	type deferred struct{ name, target string }
	var links []deferred
	dirs := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// mutate.Extract ends the tar stream before it reports an
			// error (a path that climbs out of the root, a corrupt
			// layer): that comes after the end.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				return fmt.Errorf("ociimage: reading the image's layers: %w", err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("ociimage: reading the image's layers: %w", err)
		}
		name := path.Clean(h.Name)
		if name == "." || name == "/" {
			continue
		}
		if !fs.ValidPath(name) {
			return fmt.Errorf("ociimage: layer entry %q leaves the root", h.Name)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			// Modes and times last: a read-only directory must still take
			// its contents, which can come after it in the stream.
			dirs[name] = h
			continue
		case tar.TypeReg:
			if err := unpackFile(root, chown, name, h, tr); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := errors.Join(root.Symlink(h.Linkname, name), chown(name, h.Uid, h.Gid)); err != nil {
				return err
			}
		case tar.TypeLink:
			// The target may come later: the top layer's entries come first.
			links = append(links, deferred{name, path.Clean(h.Linkname)})
		case tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
		default:
			return fmt.Errorf("ociimage: layer entry %q has unsupported type %q", h.Name, h.Typeflag)
		}
	}
	for _, l := range links {
		if !fs.ValidPath(l.target) {
			return fmt.Errorf("ociimage: hard link %q points outside the root (%q)", l.name, l.target)
		}
		if err := root.Link(l.target, l.name); err != nil {
			return err
		}
	}
	for name, h := range dirs {
		err := errors.Join(chown(name, h.Uid, h.Gid), root.Chmod(name, fs.FileMode(h.Mode).Perm()|modeBits(h.Mode)),
			root.Chtimes(name, h.ModTime, h.ModTime))
		if err != nil {
			return err
		}
	}
	return nil
}

func unpackFile(root *os.Root, chown func(string, int, int) error, name string, h *tar.Header, r io.Reader) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("ociimage: %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	// chown clears setuid and setgid bits: the mode goes after it.
	return errors.Join(chown(name, h.Uid, h.Gid), root.Chmod(name, fs.FileMode(h.Mode).Perm()|modeBits(h.Mode)),
		root.Chtimes(name, h.ModTime, h.ModTime))
}

// modeBits turns tar's setuid, setgid and sticky bits into fs.FileMode's.
func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&04000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&02000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&01000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}
