//go:build linux

package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs with the given options on a new directory under
// t.TempDir and unmounts it when the test ends (after the databases opened
// later are closed: cleanups run last-in first-out).
func mountTmpfs(t *testing.T, flags uintptr, data string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		t.Skipf("needs root (CAP_SYS_ADMIN) to mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

// fsImmutableFL is FS_IMMUTABLE_FL from linux/fs.h, which x/sys/unix lacks.
const fsImmutableFL = 0x10

// setImmutable sets or clears the immutable attribute (chattr +i), which
// makes a file read-only even for root.
func setImmutable(t *testing.T, path string, on bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("file attributes not supported: %v", err)
	}
	if on {
		flags |= fsImmutableFL
	} else {
		flags &^= fsImmutableFL
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		t.Skipf("needs root (CAP_LINUX_IMMUTABLE) to set the immutable attribute: %v", err)
	}
}

// seedDB creates a database with one execution at path and closes it.
func seedDB(t *testing.T, path string) {
	t.Helper()
	db, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, &Execution{ID: "x"})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenReadOnly(t *testing.T) {
	for _, tt := range []struct {
		name string
		// setup returns the database path to open.
		setup  func(t *testing.T) string
		want   string // the message after "open database <path>: "
		wantIs error
	}{
		{
			name: "new database on a read-only file system",
			setup: func(t *testing.T) string {
				return filepath.Join(mountTmpfs(t, unix.MS_RDONLY, ""), "x.db")
			},
			want:   "open file: read-only file system",
			wantIs: syscall.EROFS,
		},
		{
			name: "new directory on a read-only file system",
			setup: func(t *testing.T) string {
				return filepath.Join(mountTmpfs(t, unix.MS_RDONLY, ""), "state", "x.db")
			},
			want:   "create directory: mkdir {dir}: read-only file system",
			wantIs: syscall.EROFS,
		},
		{
			name: "existing database, file system remounted read-only",
			setup: func(t *testing.T) string {
				dir := mountTmpfs(t, 0, "")
				path := filepath.Join(dir, "x.db")
				seedDB(t, path)
				if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
					t.Fatalf("remount read-only: %v", err)
				}
				return path
			},
			want:   "open file: read-only file system",
			wantIs: syscall.EROFS,
		},
		{
			name: "read-only (immutable) file",
			setup: func(t *testing.T) string {
				path := filepath.Join(mountTmpfs(t, 0, ""), "x.db")
				seedDB(t, path)
				setImmutable(t, path, true)
				t.Cleanup(func() { setImmutable(t, path, false) })
				return path
			},
			want:   "open file: operation not permitted",
			wantIs: fs.ErrPermission,
		},
		{
			name: "read-only (immutable) directory",
			setup: func(t *testing.T) string {
				dir := mountTmpfs(t, 0, "")
				path := filepath.Join(dir, "x.db")
				seedDB(t, path)
				setImmutable(t, dir, true)
				t.Cleanup(func() { setImmutable(t, dir, false) })
				return path
			},
			want:   "directory {dir} not writable: operation not permitted",
			wantIs: fs.ErrPermission,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			db, err := Open(context.Background(), path, nil)
			if err == nil {
				db.Close()
				t.Fatal("Open() succeeded, want error")
			}
			want := "open database " + path + ": " + strings.ReplaceAll(tt.want, "{dir}", filepath.Dir(path))
			if got := err.Error(); got != want {
				t.Errorf("Open() error = %q, want %q", got, want)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Open() error = %v, want errors.Is(%v)", err, tt.wantIs)
			}
		})
	}
}

// TestDiskFull fills a small tmpfs until AppendOutput fails, then checks that
// the error says so, that the database still answers reads, and that the
// same chunk stores once space is freed.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := mountTmpfs(t, 0, "size=256k")
	// Ballast to free later, standing for whatever else filled the disk.
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, filepath.Join(dir, "x.db"), nil)
	mustCreate(t, db, &Execution{ID: "x"})

	var stored []string
	chunk := func(first int) []string {
		lines := make([]string, 50)
		for i := range lines {
			lines[i] = sampleLine(first + i)
		}
		return lines
	}
	var appendErr error
	for range 1000 {
		lines := chunk(len(stored))
		appendErr = db.AppendOutput(ctx, "x", int64(len(stored)), lines, OutputCounters{LinesTotal: int64(len(stored) + len(lines))})
		if appendErr != nil {
			break
		}
		stored = append(stored, lines...)
	}
	if appendErr == nil {
		t.Fatal("AppendOutput never failed on a 256 KiB file system")
	}
	t.Logf("full after %d lines: %v", len(stored), appendErr)
	if !errors.Is(appendErr, ErrFull) {
		t.Errorf("AppendOutput() error = %v, want errors.Is(ErrFull)", appendErr)
	}
	wantPrefix := fmt.Sprintf("append output of execution x at line %d: database or disk is full", len(stored))
	if !strings.HasPrefix(appendErr.Error(), wantPrefix) {
		t.Errorf("AppendOutput() error = %q, want prefix %q", appendErr, wantPrefix)
	}

	// Reads still work and show exactly what was stored before the failure.
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping() on a full disk: %v", err)
	}
	e, err := db.FindExecution(ctx, "x")
	if err != nil {
		t.Fatalf("FindExecution() on a full disk: %v", err)
	}
	if e.LinesStored != int64(len(stored)) || e.LinesTotal != int64(len(stored)) {
		t.Errorf("LinesStored, LinesTotal = %d, %d; want %d, %d", e.LinesStored, e.LinesTotal, len(stored), len(stored))
	}
	got, err := db.ReadOutput(ctx, "x", 0, int64(len(stored))+100, 0)
	if err != nil {
		t.Fatalf("ReadOutput() on a full disk: %v", err)
	}
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Errorf("ReadOutput() on a full disk mismatch (-want +got):\n%s", diff)
	}
	if _, err := db.ListExecutions(ctx, ExecutionFilter{}); err != nil {
		t.Errorf("ListExecutions() on a full disk: %v", err)
	}

	// With space again, the failed chunk can be retried at the same line.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	lines := chunk(len(stored))
	if err := db.AppendOutput(ctx, "x", int64(len(stored)), lines, OutputCounters{}); err != nil {
		t.Fatalf("AppendOutput() retry after freeing space: %v", err)
	}
	got, err = db.ReadOutput(ctx, "x", int64(len(stored)), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lines, got); diff != "" {
		t.Errorf("retried chunk mismatch (-want +got):\n%s", diff)
	}
}

func TestOpenOnFullDisk(t *testing.T) {
	dir := mountTmpfs(t, 0, "size=64k")
	// Fill the file system to the last block.
	f, err := os.Create(filepath.Join(dir, "ballast"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the file system: %v, want ENOSPC", err)
	}
	path := filepath.Join(dir, "x.db")
	db, err := Open(context.Background(), path, nil)
	if err == nil {
		db.Close()
		t.Fatal("Open() on a full disk succeeded, want error")
	}
	if !errors.Is(err, ErrFull) || !strings.HasPrefix(err.Error(), "open database "+path+": ") ||
		!strings.Contains(err.Error(), "database or disk is full") {
		t.Errorf("Open() error = %q, want one naming the path, wrapping ErrFull and saying \"database or disk is full\"", err)
	}
}
