package docs

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// versionRE matches the release tags this package uses.
var versionRE = regexp.MustCompile(`^0\.(1[7-9]|2[0-6])$`)

// minor returns the minor number of a well-formed tag; tests use it to check
// that ranges are ordered.
func minor(t *testing.T, v string) int {
	t.Helper()
	if !versionRE.MatchString(v) {
		t.Fatalf("version %q is not of the form 0.17 … 0.26", v)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "0."))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff", path)
	}
}

// requireBpftrace skips the test unless it can run the real bpftrace, and
// returns its path and minor version.
func requireBpftrace(t *testing.T) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpftrace refuses to run for other users")
	}
	path, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("needs bpftrace: not found in PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		t.Fatalf("bpftrace --version: %v", err)
	}
	m := regexp.MustCompile(`v0\.(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("bpftrace --version printed %q", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return path, n
}

// dryRun runs bpftrace's semantic analysis on a program without loading it
// and returns bpftrace's stderr. Releases from 0.22 need a stage after -d.
func dryRun(t *testing.T, bpftrace string, minorVersion int, program string) (stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	args := []string{"-d"}
	if minorVersion >= 22 {
		args = append(args, "ast")
	}
	cmd := exec.CommandContext(ctx, bpftrace, append(args, "-e", program)...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err = cmd.Run()
	return errBuf.String(), err
}
