// Command mkimage builds bpftrace-mcp's OCI image without a container
// daemon (see package ociimage) and writes it as an OCI image layout
// archive. `make image` runs it:
//
//	mkimage -root /var/cache/bpftrace-mcp/roots/trixie -server bin/bpftrace-mcp \
//	  -config deploy/bpftrace-mcp.toml -version 0.1.0 -o bin/bpftrace-mcp-oci.tar
//
// Time stamps come from $SOURCE_DATE_EPOCH (the Unix epoch without it), so
// two builds of the same inputs give the same digest, which it prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/ociimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s ociimage.Spec
	fs.StringVar(&s.Root, "root", "", "Debian root file system with bpftrace (scripts/bpftrace-root.sh trixie)")
	fs.StringVar(&s.Server, "server", "bin/bpftrace-mcp", "static bpftrace-mcp binary (CGO_ENABLED=0)")
	fs.StringVar(&s.Config, "config", "deploy/bpftrace-mcp.toml", "default configuration file")
	fs.StringVar(&s.ServerName, "mcp-name", "io.github.bpftrace-mcp/bpftrace-mcp", "the server's name in the MCP registry (label "+ociimage.LabelMCPServerName+")")
	fs.StringVar(&s.Version, "version", "", "the release, also the image's name in the layout (e.g. 0.1.0)")
	fs.StringVar(&s.Revision, "revision", "", "the source's commit")
	fs.StringVar(&s.Source, "source", "https://github.com/bpftrace-mcp/bpftrace-mcp", "the source repository's URL")
	fs.StringVar(&s.Licenses, "licenses", "", "the licences, as an SPDX expression")
	fs.StringVar(&s.CacheDir, "cache", "", "keep the root's layer here between builds (keyed by the root's files)")
	out := fs.String("o", "bin/bpftrace-mcp-oci.tar", "the OCI layout archive to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if s.Version == "" {
		return errors.New("-version is needed: it names the image in the layout")
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		sec, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds: %w", e, err)
		}
		s.Epoch = time.Unix(sec, 0)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	// Beside the output, so that the archive is renamed into place whole.
	work, err := os.MkdirTemp(filepath.Dir(*out), ".mkimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	s.WorkDir = work

	start := time.Now()
	img, err := ociimage.Build(s)
	if err != nil {
		return err
	}
	defer img.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp := filepath.Join(work, "image.tar")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	digest, err := ociimage.WriteArchive(f, img, s.Version)
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	sizes, err := ociimage.Sizes(img)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mkimage: %s: bpftrace %s, %d MB compressed, %d MB unpacked, in %s\n",
		*out, img.BpftraceVersion, sizes.Compressed>>20, sizes.Uncompressed>>20, time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintln(stdout, digest)
	return nil
}
