package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "x.db")
	db := mustOpen(t, path, nil)
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	for _, tt := range []struct {
		path string
		want fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{path, 0o600},
		// SQLite gives the WAL files the database's mode.
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != tt.want {
			t.Errorf("mode of %s = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "we?ird #dir", "x%20.db")
	db := mustOpen(t, path, nil)
	mustCreate(t, db, &Execution{ID: "e1"})
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

func TestOpenPragmas(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "x.db"), nil)
	for _, tt := range []struct {
		pool   string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "synchronous", "1"},
		{"writer", "busy_timeout", "5000"},
		{"writer", "foreign_keys", "1"},
		{"reader", "journal_mode", "wal"},
		{"reader", "busy_timeout", "5000"},
		{"reader", "foreign_keys", "1"},
		{"reader", "query_only", "1"},
	} {
		t.Run(tt.pool+"/"+tt.pragma, func(t *testing.T) {
			pool := db.rw
			if tt.pool == "reader" {
				pool = db.ro
			}
			var got string
			if err := pool.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestOpenMigrates(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations() error: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	path := filepath.Join(t.TempDir(), "x.db")
	for i := range 2 { // the second open finds the schema current
		db, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatalf("Open #%d error: %v", i+1, err)
		}
		v, err := userVersion(context.Background(), db.ro)
		if err != nil {
			t.Fatal(err)
		}
		if v != len(ms) {
			t.Errorf("Open #%d: user_version = %d, want %d", i+1, v, len(ms))
		}
		db.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db := mustOpen(t, path, nil)
	if _, err := db.rw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), "schema version 999 is newer") {
		t.Errorf("Open() error = %v, want one about schema version 999 being newer", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		path   string
		want   string
		wantIs error
	}{
		{"empty path", "", "open database: empty path", nil},
		{"parent is a file", filepath.Join(notDir, "x.db"),
			"open database " + filepath.Join(notDir, "x.db") + ": create directory: mkdir " + notDir + ": not a directory",
			syscall.ENOTDIR},
		{"path is a directory", dir, "open database " + dir + ": open file: is a directory", syscall.EISDIR},
		{"not a database", garbage, "file is not a database", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(context.Background(), tt.path, nil)
			if err == nil {
				db.Close()
				t.Fatal("Open() succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open() error = %q, want it to contain %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Open() error = %v, want errors.Is(%v)", err, tt.wantIs)
			}
		})
	}
}

func TestPing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(*Options) *DB) {
		db := open(nil)
		if err := db.Ping(context.Background()); err != nil {
			t.Errorf("Ping() error: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := db.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Ping(canceled) error = %v, want context.Canceled", err)
		}
	})
}

func TestPingAfterClose(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}
	if err := db.Ping(context.Background()); err == nil {
		t.Error("Ping() after Close succeeded, want error")
	}
}

// TestReopenKeepsEverything is a server restart: what one process stored,
// the next one reads back unchanged.
func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	opts := &Options{Now: newClock().Now}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := mustCreate(t, db, &Execution{ID: "done", Program: "BEGIN { exit(); }", Options: `{"timeout":5}`,
		Owner: "pid:1:2", Client: "session-a"})
	mustAppend(t, db, "done", 0, "a", "", "c")
	mustAppend(t, db, "done", 3, "d")
	err = db.UpdateExecution(ctx, "done", ExecutionUpdate{
		Status: ptr(StatusCompleted), EndReason: ptr(EndExit), EndedAt: ptr(opts.Now()),
		ExitCode: ptr(0), Maps: ptr(`{"@":1}`), ProbesAttached: ptr(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, &Execution{ID: "running", Program: "i:s:1 { @ = count(); }", Owner: "pid:1:2"})
	audit := &AuditEntry{Action: "exec", ExecutionID: "done", Program: done.Program, Decision: DecisionAllowed}
	if err := db.AddAudit(ctx, audit); err != nil {
		t.Fatal(err)
	}
	wantExecs, err := db.ListExecutions(ctx, ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path, opts)
	gotExecs, err := db.ListExecutions(ctx, ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantExecs, gotExecs); diff != "" {
		t.Errorf("executions after reopen mismatch (-want +got):\n%s", diff)
	}
	if len(gotExecs) != 2 {
		t.Errorf("got %d executions after reopen, want 2", len(gotExecs))
	}
	lines, err := db.ReadOutput(ctx, "done", 0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "", "c", "d"}, lines); diff != "" {
		t.Errorf("output after reopen mismatch (-want +got):\n%s", diff)
	}
	gotAudit, err := db.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*AuditEntry{audit}, gotAudit); diff != "" {
		t.Errorf("audit after reopen mismatch (-want +got):\n%s", diff)
	}
}

func TestClassify(t *testing.T) {
	if err := classify(nil); err != nil {
		t.Errorf("classify(nil) = %v, want nil", err)
	}
	plain := errors.New("plain")
	if err := classify(plain); err != plain {
		t.Errorf("classify(plain) = %v, want it unchanged", err)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	in := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	got := fromNanos(toNanos(in))
	if !got.Equal(in) || got.Location() != time.UTC {
		t.Errorf("fromNanos(toNanos(%v)) = %v, want the same instant in UTC", in, got)
	}
}
