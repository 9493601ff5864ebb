// Package testenv holds helpers for tests that need the real bpftrace.
package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
)

// Bpftrace returns the installed bpftrace, or skips the test with the reason
// when it cannot run here (not root, or not installed). `make test` installs
// bpftrace and runs as root, so in CI these tests run.
func Bpftrace(t testing.TB) *bpftrace.Binary {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpftrace loads BPF programs; run `make test` as root")
	}
	bin, err := bpftrace.Find(context.Background(), os.Getenv("BPFTRACE_MCP_TEST_BPFTRACE"))
	if err != nil {
		t.Skipf("needs bpftrace (run `make setup`): %v", err)
	}
	if _, err := os.Stat("/sys/kernel/tracing/available_events"); err != nil {
		if _, err2 := os.Stat("/sys/kernel/debug/tracing/available_events"); err2 != nil {
			t.Skip("needs tracefs mounted (run `make setup`): mount -t tracefs nodev /sys/kernel/tracing")
		}
	}
	return bin
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
