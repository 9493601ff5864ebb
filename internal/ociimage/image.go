// Package ociimage builds the project's container image without a
// container daemon: a Debian root file system holding bpftrace is one
// layer, the static server and its default configuration another, and the
// result is written as an OCI image layout archive that registries, skopeo,
// crane, podman and containerd take as it is.
//
// The build is reproducible: entries are sorted, no user or host name is
// recorded, the root's files carry the Unix epoch as their time and the
// server's layer and the configuration the given one (SOURCE_DATE_EPOCH),
// so the same root, binary and configuration give the same image digest.
// The root's layer does not depend on the epoch, so that it can be cached
// across commits.
//
// It knows file systems and the OCI formats. It does not know how the
// Debian root is made (scripts/bpftrace-root.sh makes it) nor anything of
// bpftrace beyond the package name it checks the root for.
package ociimage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where the server layer puts things in the image.
const (
	ServerPath = "/usr/local/bin/bpftrace-mcp"
	ConfigPath = "/etc/bpftrace-mcp/bpftrace-mcp.toml"
	// DataDir holds the history database: the server's default as root.
	DataDir = "/var/lib/bpftrace-mcp"
)

// Label keys the image carries.
const (
	// LabelMCPServerName is the key by which the MCP registry checks that
	// an OCI package belongs to the server that names it: its value must
	// be the server's name in server.json.
	LabelMCPServerName = "io.modelcontextprotocol.server.name"
	LabelTitle         = "org.opencontainers.image.title"
	LabelDescription   = "org.opencontainers.image.description"
	LabelSource        = "org.opencontainers.image.source"
	LabelURL           = "org.opencontainers.image.url"
	LabelVersion       = "org.opencontainers.image.version"
	LabelRevision      = "org.opencontainers.image.revision"
	LabelLicenses      = "org.opencontainers.image.licenses"
	LabelCreated       = "org.opencontainers.image.created"
	// LabelBpftraceVersion records the Debian version of the bpftrace
	// package in the root, read from dpkg's database.
	LabelBpftraceVersion = "io.github.bpftrace-mcp.bpftrace.version"
	// LabelRefName names the image in an OCI layout's index (its tag).
	LabelRefName = "org.opencontainers.image.ref.name"
)

// Spec is what an image is built from.
type Spec struct {
	// Root is a Debian root file system with bpftrace installed
	// (scripts/bpftrace-root.sh trixie builds one).
	Root string
	// Server is the static bpftrace-mcp binary (CGO_ENABLED=0).
	Server string
	// Config is the default configuration file (deploy/bpftrace-mcp.toml).
	Config string
	// Epoch is the time of the server's layer, of the configuration and
	// of the history; the zero value means the Unix epoch. The root's
	// files always have the Unix epoch: they are not this build's work.
	Epoch time.Time
	// WorkDir receives the layer files while the image is built and
	// written; the caller removes it afterwards. Empty means os.TempDir.
	WorkDir string
	// CacheDir, when set, keeps the root's layer between builds, keyed by
	// the root's entries (names, modes, owners, sizes, times):
	// compressing the root is most of a build's time.
	CacheDir string

	// ServerName is the server's name in the MCP registry
	// (io.github.OWNER/NAME), the value of LabelMCPServerName.
	ServerName string
	Version    string // the release, e.g. 0.1.0
	Revision   string // the source's commit
	Source     string // the source repository's URL
	Licenses   string // an SPDX expression
}

// Image is a built image and the files that back its layers.
type Image struct {
	v1.Image
	// BpftraceVersion is the Debian version of the root's bpftrace.
	BpftraceVersion string
	files           []string
}

// Close removes the layer files.
func (i *Image) Close() error {
	var errs []error
	for _, f := range i.files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rootTime is the time of every file of the root's layer.
var rootTime = time.Unix(0, 0)

// Build builds the image of s. The caller closes it when it has been
// written.
func Build(s Spec) (_ *Image, err error) {
	if s.Root == "" || s.Server == "" || s.Config == "" {
		return nil, errors.New("ociimage: a root file system, a server binary and a configuration file are all needed")
	}
	if s.ServerName == "" {
		return nil, errors.New("ociimage: the MCP registry's server name is needed for the label " + LabelMCPServerName)
	}
	bpftraceVersion, err := packageVersion(s.Root, "bpftrace")
	if err != nil {
		return nil, err
	}
	epoch := s.Epoch
	if epoch.IsZero() {
		epoch = time.Unix(0, 0)
	}
	epoch = epoch.UTC().Truncate(time.Second)
	out := &Image{BpftraceVersion: bpftraceVersion}
	defer func() {
		if err != nil {
			out.Close()
		}
	}()

	work := s.WorkDir
	if work == "" {
		work = os.TempDir()
	}
	newLayer := func(name string, mtime time.Time, fill func(*layerWriter) error) (v1.Layer, error) {
		f, err := os.CreateTemp(work, name+"-*.tar.gz")
		if err != nil {
			return nil, err
		}
		f.Close()
		out.files = append(out.files, f.Name())
		w, err := newLayerWriter(f.Name(), mtime)
		if err != nil {
			return nil, err
		}
		if err := fill(w); err != nil {
			w.abort()
			return nil, fmt.Errorf("ociimage: %s layer: %w", name, err)
		}
		if err := w.close(); err != nil {
			return nil, err
		}
		return layerFile(f.Name())
	}
	var root v1.Layer
	if s.CacheDir != "" {
		root, err = cachedRootLayer(s.Root, s.CacheDir)
	} else {
		root, err = newLayer("root", rootTime, func(w *layerWriter) error { return writeTree(w, s.Root) })
	}
	if err != nil {
		return nil, err
	}
	server, err := newLayer("server", epoch, func(w *layerWriter) error {
		return writeFiles(w, []File{
			{Path: ServerPath, Source: s.Server, Mode: 0o755},
			{Path: ConfigPath, Source: s.Config, Mode: 0o644},
		}, map[string]os.FileMode{DataDir: 0o700})
	})
	if err != nil {
		return nil, err
	}

	created := v1.Time{Time: epoch}
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{ServerPath},
			// MCP over stdio, as the MCP registry's clients run an OCI
			// package (docker run -i); the chart passes --http and TLS.
			Cmd:        []string{"--config", ConfigPath},
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			WorkingDir: "/",
			Volumes:    map[string]struct{}{DataDir: {}},
			StopSignal: "SIGTERM",
			Labels:     s.labels(epoch, bpftraceVersion),
		},
	}
	img, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), cfg)
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: root, History: v1.History{Created: created,
			CreatedBy: "debootstrap --variant=minbase --include=bpftrace (scripts/bpftrace-root.sh), pruned by ociimage",
			Comment:   "Debian's bpftrace " + bpftraceVersion}},
		mutate.Addendum{Layer: server, History: v1.History{Created: created,
			CreatedBy: "ociimage: " + ServerPath + " (CGO_ENABLED=0) and " + ConfigPath}},
	)
	if err != nil {
		return nil, err
	}
	// The manifest carries the labels that identify the image too: some
	// tools read annotations, not the configuration.
	ann := map[string]string{}
	for _, k := range []string{LabelMCPServerName, LabelSource, LabelVersion, LabelRevision, LabelLicenses, LabelCreated, LabelTitle} {
		if v := cfg.Config.Labels[k]; v != "" {
			ann[k] = v
		}
	}
	out.Image = mutate.Annotations(img, ann).(v1.Image)
	return out, nil
}

func (s Spec) labels(epoch time.Time, bpftraceVersion string) map[string]string {
	l := map[string]string{
		LabelMCPServerName: s.ServerName,
		LabelTitle:         "bpftrace-mcp",
		LabelDescription: "MCP server for tracing Linux with bpftrace (Debian's " + bpftraceVersion + "). " +
			"bpftrace needs root, or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN, with the host's PID namespace and tracefs: " +
			"running it as another user is not supported.",
		LabelCreated:         epoch.Format(time.RFC3339),
		LabelBpftraceVersion: bpftraceVersion,
	}
	for k, v := range map[string]string{LabelSource: s.Source, LabelURL: s.Source, LabelVersion: s.Version,
		LabelRevision: s.Revision, LabelLicenses: s.Licenses} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

// packageVersion reads the version of an installed package from the dpkg
// database of root, and fails when it is not installed.
func packageVersion(root, pkg string) (string, error) {
	status := filepath.Join(root, "var/lib/dpkg/status")
	data, err := os.ReadFile(status)
	if err != nil {
		return "", fmt.Errorf("ociimage: %s is not a Debian root: %w", root, err)
	}
	for para := range strings.SplitSeq(string(data), "\n\n") {
		var name, version, state string
		sc := bufio.NewScanner(bytes.NewReader([]byte(para)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ": ")
			if !ok {
				continue
			}
			switch k {
			case "Package":
				name = v
			case "Version":
				version = v
			case "Status":
				state = v
			}
		}
		if name == pkg && strings.HasSuffix(state, " installed") {
			return version, nil
		}
	}
	return "", fmt.Errorf("ociimage: %s has no %s installed (by %s); build it with scripts/bpftrace-root.sh", root, pkg, status)
}

// LayerSizes are the bytes an image's layers take, as pushed and as
// unpacked tar streams.
type LayerSizes struct{ Compressed, Uncompressed int64 }

// Sizes measures img's layers (reading the uncompressed streams).
func Sizes(img v1.Image) (LayerSizes, error) {
	var s LayerSizes
	layers, err := img.Layers()
	if err != nil {
		return s, err
	}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return s, err
		}
		s.Compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			return s, err
		}
		n, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return s, err
		}
		s.Uncompressed += n
	}
	return s, nil
}

// cachedRootLayer returns the root's layer from cache, writing it there
// first when the root has changed since (or was never) cached. Only the
// newest is kept.
func cachedRootLayer(root, cache string) (v1.Layer, error) {
	key, err := treeKey(root)
	if err != nil {
		return nil, fmt.Errorf("ociimage: reading %s: %w", root, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(cache, "root-"+key+".tar.gz")
	if _, err := os.Stat(file); err == nil {
		return layerFile(file)
	}
	tmp, err := os.CreateTemp(cache, ".root-*.tar.gz")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	w, err := newLayerWriter(tmp.Name(), rootTime)
	if err != nil {
		return nil, err
	}
	if err := writeTree(w, root); err != nil {
		w.abort()
		return nil, fmt.Errorf("ociimage: root layer: %w", err)
	}
	if err := w.close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return nil, err
	}
	old, _ := filepath.Glob(filepath.Join(cache, "root-*.tar.gz"))
	for _, o := range old {
		if o != file {
			os.Remove(o)
		}
	}
	return layerFile(file)
}
