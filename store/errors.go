package store

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound means the execution does not exist (or was pruned).
	ErrNotFound = errors.New("not found")
	// ErrExists means an execution with the same ID is already stored.
	ErrExists = errors.New("already exists")
	// ErrOutOfOrder means AppendOutput was given a first line other than the
	// number of lines already stored, which would leave a gap or an overlap.
	ErrOutOfOrder = errors.New("output out of order")
	// ErrFull means SQLite could not write because the disk is full
	// ("database or disk is full"). Reads keep working; pruning frees space
	// inside the file for later writes.
	ErrFull = errors.New("database or disk is full")
)

// sqliteError keeps the driver's error (and its message) while making a
// package sentinel reachable through errors.Is, so callers need not import
// the driver to recognise the cases they can act on.
type sqliteError struct {
	sentinel error
	err      error
}

func (e *sqliteError) Error() string   { return e.err.Error() }
func (e *sqliteError) Unwrap() []error { return []error{e.sentinel, e.err} }

// classify returns err, marked with ErrFull or ErrExists when SQLite reports
// a full disk or a primary-key violation.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) || errors.Is(err, ErrFull) || errors.Is(err, ErrExists) {
		return err
	}
	switch {
	case se.Code()&0xff == sqlite3.SQLITE_FULL:
		return &sqliteError{sentinel: ErrFull, err: err}
	case se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return &sqliteError{sentinel: ErrExists, err: err}
	}
	return err
}
