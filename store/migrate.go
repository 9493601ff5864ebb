package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// migrationFiles holds the schema as numbered scripts, 0001_name.sql upward.
// PRAGMA user_version records how many have been applied.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema script.
type migration struct {
	version int
	name    string
	script  string
}

// migrations returns the embedded scripts in order, checking that their
// numbers run 1, 2, 3... without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	// fs.Glob returns names sorted, and the numbers are zero-padded.
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d", base, i+1)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, script: string(b)})
	}
	return ms, nil
}

// migrate applies the scripts the database has not seen, all in one
// transaction, so a failure leaves the schema as it was. Another process
// may be migrating the same file: the version is read again under the write
// lock, and what it already applied is skipped.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	// Most opens find the schema current; check without taking the lock.
	if done, err := schemaCurrent(ctx, db, len(ms)); done || err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", classify(err))
	}
	defer tx.Rollback()
	if done, err := schemaCurrent(ctx, tx, len(ms)); done || err != nil {
		return err
	}
	current, err := userVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", classify(err))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.script); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, classify(err))
		}
	}
	// PRAGMA takes no bound parameters; the number is ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(ms))); err != nil {
		return fmt.Errorf("set schema version: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", classify(err))
	}
	return nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaCurrent reports whether the schema is at version want, and fails when
// it is newer: an older program must not write to a schema it does not know.
func schemaCurrent(ctx context.Context, q queryRower, want int) (bool, error) {
	v, err := userVersion(ctx, q)
	switch {
	case err != nil:
		return false, fmt.Errorf("read schema version: %w", classify(err))
	case v > want:
		return false, fmt.Errorf("schema version %d is newer than this program's %d", v, want)
	}
	return v == want, nil
}

func userVersion(ctx context.Context, q queryRower) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}
