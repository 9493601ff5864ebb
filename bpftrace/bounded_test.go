package bpftrace_test

// An external test package, so that it finds bpftrace through testenv,
// which imports package bpftrace.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// explodingProgram makes bpftrace 0.17's compiler grow by tens of MB a
// second for minutes: a million statements from nested unroll().
const explodingProgram = `BEGIN { unroll(100) { unroll(100) { unroll(100) { @x = count(); } } } exit(); }`

// nonce returns a fresh marker to find a test's processes by.
func nonce(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "guard" + hex.EncodeToString(b)
}

// processesWith returns the pids of live processes whose command line
// contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' || e.Name() == "self" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
				continue // a zombie holds no memory; its parent reaps it
			}
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// waitGone fails the test unless no process with s in its command line is
// left within a short grace (the kernel tears down a killed process
// asynchronously).
func waitGone(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := processesWith(t, s)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %v", pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCheckBoundedRealBpftrace runs the exploding compile on the real
// bpftrace under each limit: it is stopped, the error names the limit and
// what to simplify, and nothing of it is left.
func TestCheckBoundedRealBpftrace(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limits bpftrace.CheckLimits
		limit  string
		within time.Duration
	}{
		// The time limit alone: no memory limit.
		{"time", bpftrace.CheckLimits{Timeout: 3 * time.Second, MaxMemory: -1}, "time", 3*time.Second + 3*time.Second},
		// The memory limit first: bpftrace maps about 220 MB for a small
		// program and grows past 384 MB within seconds here.
		{"memory", bpftrace.CheckLimits{Timeout: 5 * time.Minute, MaxMemory: 384 << 20}, "memory", 5 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := testenv.Bpftrace(t)
			b.Checks = tt.limits
			mark := nonce(t)
			start := time.Now()
			_, err := b.Check(context.Background(), explodingProgram+" // "+mark, bpftrace.RunOptions{}, nil)
			took := time.Since(start)
			var lerr *bpftrace.CheckLimitError
			if !errors.As(err, &lerr) || lerr.Limit != tt.limit {
				t.Fatalf("Check() error = %v, want the %s limit", err, tt.limit)
			}
			for _, want := range []string{tt.limit + " limit", "unroll()", "[checks]"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if took > tt.within {
				t.Errorf("Check() took %s, want at most %s", took, tt.within)
			}
			t.Logf("stopped by the %s limit after %s", tt.limit, took.Round(time.Millisecond))
			waitGone(t, mark)
		})
	}
}

// TestCheckCancelledRealBpftrace cancels a check in flight, as a client
// that goes away does: it returns at once with the cancellation and leaves
// no process behind.
func TestCheckCancelledRealBpftrace(t *testing.T) {
	b := testenv.Bpftrace(t)
	mark := nonce(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Check(ctx, explodingProgram+" // "+mark, bpftrace.RunOptions{}, nil)
		done <- err
	}()
	// Cancel once bpftrace is compiling.
	deadline := time.Now().Add(10 * time.Second)
	for len(processesWith(t, mark)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bpftrace never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Check() error = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check() did not return within 5s of the cancellation")
	}
	waitGone(t, mark)
}

// TestCheckSmallProgramWithinDefaults: the defaults leave room for an
// ordinary compile.
func TestCheckSmallProgramWithinDefaults(t *testing.T) {
	b := testenv.Bpftrace(t)
	res, err := b.Check(context.Background(), "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } interval:s:1 { exit(); }", bpftrace.RunOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("Check() = %+v, want OK", res.Stderr)
	}
	if _, err := b.Info(context.Background()); err != nil {
		t.Fatalf("Info() under the check limits: %v", err)
	}
}

// fakeBpftrace writes a script that stands for bpftrace: it starts a child
// that outlives it unless its group is killed, then sleeps.
func fakeBpftrace(t *testing.T, mark string) *bpftrace.Binary {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bpftrace")
	script := "#!/bin/sh\nsh -c 'sleep 300; true' " + mark + "-child &\nexec sh -c 'sleep 300; true' " + mark + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &bpftrace.Binary{Path: path}
}

// TestCheckLimitsFake checks the time limit, the process group kill and
// the concurrency limit with a stand-in that needs no root.
func TestCheckLimitsFake(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
	t.Run("time limit kills the group", func(t *testing.T) {
		mark := nonce(t)
		b := fakeBpftrace(t, mark)
		b.Checks = bpftrace.CheckLimits{Timeout: 300 * time.Millisecond}
		_, err := b.Check(context.Background(), "BEGIN{}", bpftrace.RunOptions{}, nil)
		var lerr *bpftrace.CheckLimitError
		if !errors.As(err, &lerr) || lerr.Limit != "time" || lerr.Value != "300ms" {
			t.Fatalf("Check() error = %v, want the time limit of 300ms", err)
		}
		waitGone(t, mark)
	})
	t.Run("concurrency limit", func(t *testing.T) {
		mark := nonce(t)
		b := fakeBpftrace(t, mark)
		b.Checks = bpftrace.CheckLimits{Timeout: time.Minute, MaxConcurrent: 1}
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := b.Check(ctx, "BEGIN{}", bpftrace.RunOptions{}, nil)
			first <- err
		}()
		deadline := time.Now().Add(10 * time.Second)
		for len(processesWith(t, mark)) == 0 {
			select {
			case err := <-first:
				t.Fatalf("first Check() ended early: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the first check never started")
			}
			time.Sleep(10 * time.Millisecond)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer wcancel()
		_, err := b.Check(wctx, "BEGIN{}", bpftrace.RunOptions{}, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "free check slot (1 at once)") {
			t.Errorf("second Check() error = %v, want it to wait for the one slot until its deadline", err)
		}
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("first Check() error = %v, want context.Canceled", err)
		}
		waitGone(t, mark)
	})
}
