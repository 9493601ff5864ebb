package store

import (
	"os"
	"path/filepath"
	"strconv"
)

const (
	appDir   = "bpftrace-mcp"
	fileName = "bpftrace-mcp.db"
)

// DefaultPath returns where the database lives when the user does not say:
// $XDG_STATE_HOME/bpftrace-mcp/bpftrace-mcp.db when that variable holds an
// absolute path; else /var/lib/bpftrace-mcp/bpftrace-mcp.db for root; else
// ~/.local/state/bpftrace-mcp/bpftrace-mcp.db.
func DefaultPath() string {
	return defaultPath(os.Getenv, os.Geteuid(), os.UserHomeDir)
}

func defaultPath(getenv func(string) string, euid int, home func() (string, error)) string {
	// The XDG spec says relative values are invalid and must be ignored.
	if dir := getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, appDir, fileName)
	}
	if euid == 0 {
		return filepath.Join("/var/lib", appDir, fileName)
	}
	h, err := home()
	if err != nil || h == "" {
		// No home: keep the history per user in the temporary directory
		// rather than fail; Open creates the directory with mode 0700.
		return filepath.Join(os.TempDir(), appDir+"-"+strconv.Itoa(euid), fileName)
	}
	return filepath.Join(h, ".local", "state", appDir, fileName)
}
