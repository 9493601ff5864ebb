package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Retention defaults, used when the matching [Options] field is 0.
const (
	DefaultMaxExecutions   = 500
	DefaultMaxOutputBytes  = 1 << 30
	DefaultMaxAuditEntries = 100_000
)

// Options configure a [DB]. A nil *Options is valid and means all defaults.
type Options struct {
	// MaxExecutions is how many executions Prune keeps (0: 500).
	MaxExecutions int
	// MaxOutputBytes is how many bytes of stored output Prune keeps across
	// all executions (0: 1 GiB).
	MaxOutputBytes int64
	// MaxAuditEntries is how many audit entries Prune keeps, newest first
	// (0: 100,000). The audit log is small per entry but would otherwise grow
	// without bound on a long-lived host.
	MaxAuditEntries int
	// Now is the clock used for times the caller leaves zero (nil: time.Now).
	Now func() time.Time
}

// DB is an open database. It is safe for concurrent use, and several
// processes may each hold a DB on the same file.
type DB struct {
	path string
	// rw has exactly one connection: writers in this process queue for it in
	// Go, and SQLite's busy handler only arbitrates between processes.
	rw *sql.DB
	// ro serves reads; in WAL mode they do not wait for rw. For ":memory:"
	// it is rw itself, as a second connection would see another database.
	ro *sql.DB

	now             func() time.Time
	maxExecutions   int
	maxOutputBytes  int64
	maxAuditEntries int
}

const memoryPath = ":memory:"

// Connection settings. busy_timeout comes first so that the others wait for
// a lock instead of failing; journal_mode=WAL is persistent in the file, so
// readers need not set it. _error_rc keeps open-time messages accurate.
const (
	writerParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_size_limit(67108864)" +
		"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_error_rc=1"
	readerParams = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_query_only=1&_error_rc=1"
	readerConns  = 4
)

// Open opens the database at path, creating its directory (mode 0700) and
// file (mode 0600) when missing, and brings its schema up to date. path may
// be ":memory:" for a private in-memory database (tests).
//
// A path that cannot be written gives an error naming it and the cause, such
// as "open database /x/y.db: open file: read-only file system"; the cause is
// reachable with errors.Is (for example syscall.EROFS or fs.ErrPermission).
func Open(ctx context.Context, path string, opts *Options) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	db := &DB{
		path:            path,
		now:             opts.Now,
		maxExecutions:   opts.MaxExecutions,
		maxOutputBytes:  opts.MaxOutputBytes,
		maxAuditEntries: opts.MaxAuditEntries,
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.maxExecutions <= 0 {
		db.maxExecutions = DefaultMaxExecutions
	}
	if db.maxOutputBytes <= 0 {
		db.maxOutputBytes = DefaultMaxOutputBytes
	}
	if db.maxAuditEntries <= 0 {
		db.maxAuditEntries = DefaultMaxAuditEntries
	}
	if err := db.open(ctx); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	if db.path == memoryPath {
		rw, err := sql.Open("sqlite", memoryPath+"?"+writerParams)
		if err != nil {
			return err
		}
		rw.SetMaxOpenConns(1)
		db.rw, db.ro = rw, rw
		if err := migrate(ctx, rw); err != nil {
			rw.Close()
			return err
		}
		return nil
	}

	if err := prepareFile(db.path); err != nil {
		return err
	}
	abs, err := filepath.Abs(db.path)
	if err != nil {
		return err
	}
	// A file: URI, escaped, so that a '?' or '#' in the path stays part of it.
	name := (&url.URL{Scheme: "file", Path: abs}).String()
	rw, err := sql.Open("sqlite", name+"?"+writerParams)
	if err != nil {
		return err
	}
	rw.SetMaxOpenConns(1)
	if err := migrate(ctx, rw); err != nil {
		rw.Close()
		return err
	}
	ro, err := sql.Open("sqlite", name+"?"+readerParams)
	if err != nil {
		rw.Close()
		return err
	}
	ro.SetMaxOpenConns(readerConns)
	ro.SetMaxIdleConns(readerConns)
	if err := ro.PingContext(ctx); err != nil {
		ro.Close()
		rw.Close()
		return fmt.Errorf("connect reader: %w", err)
	}
	db.rw, db.ro = rw, ro
	return nil
}

// prepareFile creates the directory and the file with private modes and
// checks, before SQLite hides the cause behind "unable to open database
// file", that both can be written: WAL mode creates its -wal and -shm files
// beside the database.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open file: %w", pathCause(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close file: %w", pathCause(err))
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("directory %s not writable: %w", dir, err)
	}
	return nil
}

// pathCause drops the *fs.PathError around err: the caller's message
// already names the path.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Path returns the path the database was opened with.
func (db *DB) Path() string { return db.path }

// Close closes the database. In-flight calls may fail afterwards.
func (db *DB) Close() error {
	var errs []error
	if db.ro != db.rw {
		errs = append(errs, db.ro.Close())
	}
	errs = append(errs, db.rw.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	return nil
}

// Ping reports whether the database can be read, so the server can report a
// broken database instead of failing later.
func (db *DB) Ping(ctx context.Context) error {
	var v int
	if err := db.ro.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("ping database %s: %w", db.path, classify(err))
	}
	return nil
}

// write runs fn in one transaction on the writer connection. The writer
// begins with BEGIN IMMEDIATE, so waiting for another process's write lock
// happens at BEGIN, under busy_timeout, and never as a failed lock upgrade
// halfway through.
func (db *DB) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.rw.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	return classify(tx.Commit())
}

func toNanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
