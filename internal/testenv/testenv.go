// Package testenv is the one place where tests find the bpftrace they run,
// and gate on its version and features.
//
// The bpftrace under test is the one named by $BPFTRACE_MCP_TEST_BPFTRACE
// (a path: `make test BPFTRACE=0.23` sets it to a wrapper written by
// scripts/bpftrace-root.sh), or else the installed one. Tests that need it
// skip only when they do not run as root; a bpftrace that is missing or
// broken fails them, so that a run that was meant to test a version cannot
// pass without testing it.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// EnvBpftrace names the environment variable that selects the bpftrace
// under test.
const EnvBpftrace = "BPFTRACE_MCP_TEST_BPFTRACE"

// EnvRanWith names the environment variable by which `make test` says,
// for every release of its matrix after the first, which release the
// version-independent tests already ran with (see OnceAcrossReleases).
const EnvRanWith = "BPFTRACE_MCP_TEST_RAN_WITH"

// OnceAcrossReleases marks a test that needs a bpftrace only to build a
// server and does not depend on its version (a flood of HTTP sessions, for
// one): `make test` runs it with the first release of its matrix and skips
// it, saying so, with the others. Run alone, or with one release, it runs.
func OnceAcrossReleases(t testing.TB) {
	t.Helper()
	if v := os.Getenv(EnvRanWith); v != "" {
		t.Skipf("does not depend on bpftrace's version: this make test ran it with bpftrace %s", v)
	}
}

// SharedDir is where a test puts files that the bpftrace under test must
// see at the same path as the test does: the wrappers for other releases
// run bpftrace in a chroot into which they bind-mount the host's /tmp.
const SharedDir = "/tmp"

// find runs `bpftrace --version` once per test binary: through a wrapper it
// costs a mount namespace and a chroot, and hundreds of tests ask.
var find = sync.OnceValues(func() (*bpftrace.Binary, error) {
	return bpftrace.Find(context.Background(), os.Getenv(EnvBpftrace))
})

// Bpftrace returns the bpftrace under test, a fresh value the caller may
// change (UseSudo). It skips the test when it does not run as root, and
// fails it when that bpftrace cannot be run or tracefs is not mounted.
func Bpftrace(t testing.TB) *bpftrace.Binary {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpftrace loads BPF programs and refuses other users; run `make test` as root")
	}
	b, err := find()
	if err != nil {
		t.Fatalf("cannot run the bpftrace under test (%s=%q): %v; `make test` installs and prepares it, or run `make setup`",
			EnvBpftrace, os.Getenv(EnvBpftrace), err)
	}
	if !exists("/sys/kernel/tracing/available_events") && !exists("/sys/kernel/debug/tracing/available_events") {
		t.Fatal("tracefs is not mounted, so no tracepoint can be found: run `make setup`, or as root: mount -t tracefs nodev /sys/kernel/tracing")
	}
	return &bpftrace.Binary{Path: b.Path, Version: b.Version}
}

// Version returns the release of the bpftrace under test (see [Bpftrace]).
func Version(t testing.TB) version.Version {
	t.Helper()
	return Bpftrace(t).Version
}

// RequireVersion returns the bpftrace under test when it is release min
// ("0.22") or newer, and skips the test, saying so, when it is older.
func RequireVersion(t testing.TB, min string) *bpftrace.Binary {
	t.Helper()
	b := Bpftrace(t)
	if !b.Version.AtLeast(min) {
		t.Skipf("needs bpftrace %s or later; the bpftrace under test is %s", min, b.Version)
	}
	return b
}

// RequireBefore returns the bpftrace under test when it is older than
// release until, and skips the test, saying so, when it is not: for a test
// of behaviour that a later release removed.
func RequireBefore(t testing.TB, until string) *bpftrace.Binary {
	t.Helper()
	b := Bpftrace(t)
	if b.Version.AtLeast(until) {
		t.Skipf("tests behaviour that bpftrace %s removed; the bpftrace under test is %s", until, b.Version)
	}
	return b
}

// RequireFeature gates a test on a feature of the version table, as
// cilium/ebpf's tests gate on kernel features: has is whether a real probe
// of the bpftrace under test found it. When it is missing, the test is
// skipped on releases older than the table says brought it, and FAILS on
// that release or later, where the feature should exist: its absence there
// is a defect (of the table, the wrapper or the setup), never a reason for
// a test to pass quietly.
func RequireFeature(t testing.TB, b *bpftrace.Binary, f version.Feature, has bool) {
	t.Helper()
	fact := version.Lookup(f)
	switch {
	case has:
	case b.Version.Has(f):
		t.Fatalf("bpftrace %s lacks %s, which it should have since %s", b.Version, fact.Name, fact.Since.Short())
	default:
		t.Skipf("needs %s, new in bpftrace %s; the bpftrace under test is %s", fact.Name, fact.Since.Short(), b.Version)
	}
}

// ExitSeparator returns the lines the server stores between a program's own
// output and the maps bpftrace prints at exit: the two blank lines that
// bpftrace's JSON output puts before that dump, up to the JSON writer of
// [version.JSONRecords], which prints none.
func ExitSeparator(t testing.TB) []string {
	t.Helper()
	if Version(t).Has(version.JSONRecords) {
		return nil
	}
	return []string{"", ""}
}

// rootMarker starts the line by which a wrapper that scripts/bpftrace-root.sh
// writes names the root file system its bpftrace runs in.
const rootMarker = "# bpftrace-mcp-root: "

// Root returns the directory that the bpftrace under test sees as "/": the
// host's "/", or the root of another release that its wrapper chroots into.
func Root(t testing.TB) string {
	t.Helper()
	b := Bpftrace(t)
	f, err := os.Open(b.Path)
	if err != nil {
		t.Fatalf("read %s: %v", b.Path, err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	return rootOf(head[:n])
}

// rootOf reads the root that a wrapper names in its first bytes, head.
func rootOf(head []byte) string {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "/"
	}
	for _, line := range strings.Split(string(head), "\n") {
		if root, ok := strings.CutPrefix(line, rootMarker); ok {
			return strings.TrimSpace(root)
		}
	}
	return "/"
}

// RequireHostRoot skips a test that compares what bpftrace finds in its file
// system by name (a library, a command in $PATH) with what the host holds,
// when the bpftrace under test runs in another root, where the same names
// resolve to other files. The bpftrace of the host runs such tests.
func RequireHostRoot(t testing.TB) {
	t.Helper()
	if root := Root(t); root != "/" {
		t.Skipf("compares name resolution with the host's file system; the bpftrace under test runs in %s", root)
	}
}

// HostFile copies the host's file at path (a binary to uprobe, say) into a
// fresh directory under [SharedDir] and returns the copy's path, which the
// bpftrace under test resolves to the same file whether it runs on the host
// or in another release's root. A test that probes the copy, and runs the
// copy, so tests the same thing on every release. The directory is removed
// when the test ends.
func HostFile(t testing.TB, path string) string {
	t.Helper()
	dir, err := os.MkdirTemp(SharedDir, "bpftrace-mcp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dst := filepath.Join(dir, filepath.Base(path))
	if err := copyFile(dst, path); err != nil {
		t.Fatalf("copy %s for the bpftrace under test: %v", path, err)
	}
	return dst
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// Owner returns an owner for a server (a runner Manager) of this test:
// this process's, tagged with the test's name, so that tests running in
// parallel in one process, each with its own server, tell their bpftrace
// processes apart ([OwnProcesses]) while the owner still reads as alive.
func Owner(t testing.TB) string {
	t.Helper()
	self, err := bpftrace.SelfOwner()
	if err != nil {
		t.Fatalf("identify this test process: %v", err)
	}
	return self + "#" + t.Name()
}

// OwnProcesses returns the PIDs of live processes whose bpftrace-mcp owner
// marker is owner: what a server with that identity left running.
func OwnProcesses(t testing.TB, owner string) []int {
	t.Helper()
	pids, err := bpftrace.ProcessesOf(owner)
	if err != nil {
		t.Fatalf("list processes of %s: %v", owner, err)
	}
	return pids
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
