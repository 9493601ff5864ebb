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

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
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

// requireBpftrace returns the bpftrace under test (see internal/testenv).
func requireBpftrace(t *testing.T) *bpftrace.Binary {
	t.Helper()
	return testenv.Bpftrace(t)
}

// dryRun runs bpftrace's checks on a program without running it (see
// [bpftrace.Binary.CheckArgs]) and returns bpftrace's stderr.
func dryRun(t *testing.T, b *bpftrace.Binary, program string) (stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, b.CheckArgs(program, bpftrace.RunOptions{})...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err = cmd.Run()
	return errBuf.String(), err
}
