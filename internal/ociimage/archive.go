package ociimage

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteArchive writes img as an OCI image layout in one tar stream (what
// skopeo calls oci-archive:, and podman load, ctr import and docker load
// read), naming it ref in the layout's index, and returns the image's
// digest. Entries are in a fixed order with the Unix epoch as their time,
// so the archive's bytes, like the image's digest, are reproducible.
func WriteArchive(w io.Writer, img v1.Image, ref string) (v1.Hash, error) {
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Hash{}, err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	configName, err := img.ConfigName()
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   mt,
			Digest:      digest,
			Size:        int64(len(manifest)),
			Annotations: map[string]string{LabelRefName: ref},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return v1.Hash{}, err
	}

	tw := tar.NewWriter(w)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
	}
	file := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d bytes, expected %d", name, n, size)
		}
		return err
	}
	bytesFile := func(name string, b []byte) error { return file(name, int64(len(b)), strings.NewReader(string(b))) }
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

	err = errors.Join(
		bytesFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		bytesFile("index.json", indexJSON),
		dir("blobs/"),
		dir("blobs/sha256/"),
		bytesFile(blob(configName), config),
		bytesFile(blob(digest), manifest),
	)
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Hash{}, err
		}
		size, err := l.Size()
		if err != nil {
			return v1.Hash{}, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		err = file(blob(d), size, rc)
		rc.Close()
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return digest, tw.Close()
}

// OpenArchive unpacks an archive that WriteArchive wrote into dir (an
// empty directory the caller removes) and reads the image named ref back
// from it with go-containerregistry's layout reader; an empty ref takes the
// archive's only image.
func OpenArchive(archive, dir, ref string) (v1.Image, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", archive, err)
		}
		name := path.Clean(h.Name)
		if !filepath.IsLocal(name) {
			return nil, fmt.Errorf("%s: entry %q leaves the layout", archive, h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			err = writeFileFrom(p, tr)
		default:
			err = fmt.Errorf("%s: unexpected entry %q of type %q", archive, h.Name, h.Typeflag)
		}
		if err != nil {
			return nil, err
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Annotations[LabelRefName] == ref || ref == "" && len(im.Manifests) == 1 {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s names no image %q", archive, ref)
}

func writeFileFrom(p string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
