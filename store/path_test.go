package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	home := func() (string, error) { return "/home/ann", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, tt := range []struct {
		name string
		xdg  string
		euid int
		home func() (string, error)
		want string
	}{
		{"xdg wins for user", "/xdg/state", 1000, home, "/xdg/state/bpftrace-mcp/bpftrace-mcp.db"},
		{"xdg wins for root", "/xdg/state", 0, home, "/xdg/state/bpftrace-mcp/bpftrace-mcp.db"},
		{"relative xdg ignored", "rel/state", 1000, home, "/home/ann/.local/state/bpftrace-mcp/bpftrace-mcp.db"},
		{"root", "", 0, home, "/var/lib/bpftrace-mcp/bpftrace-mcp.db"},
		{"user", "", 1000, home, "/home/ann/.local/state/bpftrace-mcp/bpftrace-mcp.db"},
		{"user without home", "", 1000, noHome, filepath.Join(os.TempDir(), "bpftrace-mcp-1000", "bpftrace-mcp.db")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "XDG_STATE_HOME" {
					return tt.xdg
				}
				return ""
			}
			if got := defaultPath(getenv, tt.euid, tt.home); got != tt.want {
				t.Errorf("defaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultPathUsesEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	if got, want := DefaultPath(), filepath.Join(dir, "bpftrace-mcp", "bpftrace-mcp.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}
