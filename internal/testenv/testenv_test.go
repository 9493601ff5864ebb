package testenv

import (
	"fmt"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// recorder is a testing.TB that records a failure or a skip instead of
// acting on it.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                         {}
func (r *recorder) Fatalf(f string, args ...any)    { r.failed = fmt.Sprintf(f, args...) }
func (r *recorder) Skipf(f string, args ...any)     { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) outcome() (failed, skipped bool) { return r.failed != "", r.skipped != "" }

// TestRequireFeature: a missing feature fails the test on a release that
// should have it and skips it on an older one; a present one does neither.
func TestRequireFeature(t *testing.T) {
	for _, tt := range []struct {
		version    string
		has        bool
		fail, skip bool
	}{
		{"0.23.2", true, false, false},
		{"0.23.2", false, true, false},
		{"0.22.0", false, true, false},
		{"0.21.1", false, false, true},
		{"0.17.0", true, false, false},
	} {
		v, err := version.Parse(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		r := &recorder{TB: t}
		RequireFeature(r, &bpftrace.Binary{Version: v}, version.DryRun, tt.has)
		if fail, skip := r.outcome(); fail != tt.fail || skip != tt.skip {
			t.Errorf("bpftrace %s, has=%v: failed %q, skipped %q; want fail=%v skip=%v", tt.version, tt.has, r.failed, r.skipped, tt.fail, tt.skip)
		}
	}
}

// TestRoot: a wrapper written by scripts/bpftrace-root.sh names its root;
// a binary, or a script without the line, runs in the host's.
func TestRoot(t *testing.T) {
	for _, tt := range []struct {
		content, want string
	}{
		{"#!/bin/sh\n" + rootMarker + "/var/cache/bpftrace-mcp/roots/sid\nexec true\n", "/var/cache/bpftrace-mcp/roots/sid"},
		{"#!/bin/sh\nexec /usr/bin/bpftrace \"$@\"\n", "/"},
		{"\x7fELF\x02\x01\x01", "/"},
	} {
		if got := rootOf([]byte(tt.content)); got != tt.want {
			t.Errorf("rootOf(%q) = %q, want %q", tt.content, got, tt.want)
		}
	}
}
