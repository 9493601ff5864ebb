package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/ociimage"
)

// tinyRoot is the least a root needs: dpkg's record of bpftrace.
func tinyRoot(t *testing.T) (root, server, config string) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "root")
	files := map[string]string{
		filepath.Join(root, "var/lib/dpkg/status"): "Package: bpftrace\nStatus: install ok installed\nVersion: 0.23.2-1\n",
		filepath.Join(root, "usr/bin/bpftrace"):    "bpftrace",
		filepath.Join(dir, "server"):               "server",
		filepath.Join(dir, "config.toml"):          "read_only = false\n",
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, filepath.Join(dir, "server"), filepath.Join(dir, "config.toml")
}

func TestRun(t *testing.T) {
	root, server, config := tinyRoot(t)
	out := filepath.Join(t.TempDir(), "new-dir", "image.tar")
	args := []string{"-root", root, "-server", server, "-config", config, "-version", "0.1.0", "-o", out}
	t.Setenv("SOURCE_DATE_EPOCH", "1764547200")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	img, err := ociimage.OpenArchive(out, t.TempDir(), "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(stdout.String()); got != d.String() {
		t.Errorf("printed %q, the archive's image is %s", got, d)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Created.UTC().Format("2006-01-02"); got != "2025-12-01" {
		t.Errorf("created %s, want SOURCE_DATE_EPOCH's day 2025-12-01", got)
	}
	if got := cf.Config.Labels[ociimage.LabelMCPServerName]; got != "io.github.bpftrace-mcp/bpftrace-mcp" {
		t.Errorf("MCP registry label %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".mkimage-*")); len(left) > 0 {
		t.Errorf("work directories left behind: %q", left)
	}
}

func TestRunRefuses(t *testing.T) {
	root, server, config := tinyRoot(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	base := []string{"-root", root, "-server", server, "-config", config, "-o", out}
	for _, tc := range []struct {
		name, epoch string
		args        []string
		want        string
	}{
		{"no version", "", base, "-version is needed"},
		{"a bad epoch", "yesterday", append(base, "-version", "0.1.0"), "SOURCE_DATE_EPOCH"},
		{"no root", "", []string{"-root", filepath.Join(root, "missing"), "-server", server, "-config", config, "-version", "1", "-o", out}, "not a Debian root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tc.epoch)
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: %v, want an error saying %q", err, tc.want)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("a failed run wrote %s", out)
			}
		})
	}
}
