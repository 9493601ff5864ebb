package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Execution statuses. The schema accepts only these.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Why an execution ended. The schema accepts only these, and "" while it runs.
const (
	EndExit        = "exit"
	EndTimeout     = "timeout"
	EndStopped     = "stopped"
	EndError       = "error"
	EndInterrupted = "interrupted"
)

// Execution is one run of a bpftrace program.
type Execution struct {
	ID        string // chosen by the caller
	Program   string
	Options   string // JSON, filled by the caller
	Status    string // StatusRunning, StatusCompleted or StatusFailed
	EndReason string // "" while running, else one of the End* constants
	StartedAt time.Time
	EndedAt   *time.Time // nil while running
	// AttachedAt is when bpftrace had attached its probes and tracing
	// began (nil until then, or when it never got there).
	AttachedAt *time.Time
	// StopAt is when the server asked bpftrace to stop (timeout, stop
	// request, shutdown); nil when it ended on its own or still runs.
	StopAt   *time.Time
	ExitCode *int // nil until the process exited

	ErrorMessage string
	Diagnostics  string // bpftrace's stderr, bounded by the caller

	ProbesAttached int
	LostEvents     int64
	HelperErrors   int64

	LinesTotal   int64 // lines the program printed (caller's counter)
	LinesDropped int64 // lines not stored (caller's counter)
	BytesStored  int64 // caller's counter
	// LinesStored is how many lines the store holds for the execution,
	// maintained by AppendOutput: valid offsets for ReadOutput are
	// [0, LinesStored), and the next AppendOutput starts at LinesStored.
	LinesStored int64

	Maps   string // JSON: the final typed aggregations
	Owner  string // the server process running it, e.g. "pid:starttime"
	Client string // who asked: MCP session or token name
	// Principal is the caller the execution belongs to (access.Principal's
	// name): only it and admins may see, read or stop the execution.
	Principal string
}

// executionColumns lists the columns scanExecution reads, in its order.
const executionColumns = `id, program, options, status, end_reason, started_at, ended_at, exit_code,
	error_message, diagnostics, probes_attached, lost_events, helper_errors,
	lines_total, lines_dropped, bytes_stored, lines_stored, maps, owner, client, principal, attached_at, stop_at`

type scanner interface{ Scan(dest ...any) error }

func scanExecution(s scanner) (*Execution, error) {
	var (
		e        Execution
		started  int64
		ended    sql.NullInt64
		exitCode sql.NullInt64
		attached sql.NullInt64
		stop     sql.NullInt64
	)
	err := s.Scan(&e.ID, &e.Program, &e.Options, &e.Status, &e.EndReason, &started, &ended, &exitCode,
		&e.ErrorMessage, &e.Diagnostics, &e.ProbesAttached, &e.LostEvents, &e.HelperErrors,
		&e.LinesTotal, &e.LinesDropped, &e.BytesStored, &e.LinesStored, &e.Maps, &e.Owner, &e.Client, &e.Principal, &attached, &stop)
	if err != nil {
		return nil, err
	}
	e.AttachedAt, e.StopAt = nullTime(attached), nullTime(stop)
	e.StartedAt = fromNanos(started)
	if ended.Valid {
		t := fromNanos(ended.Int64)
		e.EndedAt = &t
	}
	if exitCode.Valid {
		c := int(exitCode.Int64)
		e.ExitCode = &c
	}
	return &e, nil
}

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// CreateExecution stores e. An empty Status means StatusRunning and a zero
// StartedAt means now; both are written back to e. LinesStored is ignored:
// a new execution has no output. Returns an error wrapping ErrExists if the
// ID is taken.
func (db *DB) CreateExecution(ctx context.Context, e *Execution) error {
	if e.ID == "" {
		return errors.New("create execution: empty id")
	}
	if e.Status == "" {
		e.Status = StatusRunning
	}
	if e.StartedAt.IsZero() {
		e.StartedAt = db.now()
	}
	e.LinesStored = 0
	ended := optNanos(e.EndedAt)
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO executions (
			id, program, options, status, end_reason, started_at, ended_at, exit_code,
			error_message, diagnostics, probes_attached, lost_events, helper_errors,
			lines_total, lines_dropped, bytes_stored, maps, owner, client, principal, attached_at, stop_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Program, e.Options, e.Status, e.EndReason, toNanos(e.StartedAt), ended, e.ExitCode,
			e.ErrorMessage, e.Diagnostics, e.ProbesAttached, e.LostEvents, e.HelperErrors,
			e.LinesTotal, e.LinesDropped, e.BytesStored, e.Maps, e.Owner, e.Client, e.Principal,
			optNanos(e.AttachedAt), optNanos(e.StopAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	return nil
}

// FindExecution returns the execution with the given ID, or an error
// wrapping ErrNotFound.
func (db *DB) FindExecution(ctx context.Context, id string) (*Execution, error) {
	row := db.ro.QueryRowContext(ctx, `SELECT `+executionColumns+` FROM executions WHERE id = ?`, id)
	e, err := scanExecution(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find execution %s: %w", id, classify(err))
	}
	return e, nil
}

// DefaultListLimit is how many executions ListExecutions returns when the
// filter's Limit is 0.
const DefaultListLimit = 100

// ExecutionFilter selects executions for ListExecutions.
type ExecutionFilter struct {
	Status string     // only this status; "" for all
	Limit  int        // at most this many (0: DefaultListLimit)
	Before *time.Time // only those started strictly before, for paging
	// Principal, when not empty, keeps only the executions it owns.
	Principal string
}

// ListExecutions returns executions newest first.
func (db *DB) ListExecutions(ctx context.Context, f ExecutionFilter) ([]*Execution, error) {
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Principal != "" {
		where = append(where, "principal = ?")
		args = append(args, f.Principal)
	}
	if f.Before != nil {
		where = append(where, "started_at < ?")
		args = append(args, toNanos(*f.Before))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	q := `SELECT ` + executionColumns + ` FROM executions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := db.ro.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", classify(err))
	}
	defer rows.Close()
	es := []*Execution{}
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", classify(err))
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list executions: %w", classify(err))
	}
	return es, nil
}

// ExecutionUpdate holds the fields UpdateExecution changes; nil fields are
// left as they are.
type ExecutionUpdate struct {
	Status, EndReason, ErrorMessage, Diagnostics, Maps              *string
	EndedAt, AttachedAt, StopAt                                     *time.Time
	ExitCode                                                        *int
	ProbesAttached                                                  *int
	LostEvents, HelperErrors, LinesTotal, LinesDropped, BytesStored *int64
}

// UpdateExecution changes the non-nil fields of u on the execution id, or
// returns an error wrapping ErrNotFound.
func (db *DB) UpdateExecution(ctx context.Context, id string, u ExecutionUpdate) error {
	var (
		set  []string
		args []any
	)
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	if u.Status != nil {
		add("status", *u.Status)
	}
	if u.EndReason != nil {
		add("end_reason", *u.EndReason)
	}
	if u.ErrorMessage != nil {
		add("error_message", *u.ErrorMessage)
	}
	if u.Diagnostics != nil {
		add("diagnostics", *u.Diagnostics)
	}
	if u.Maps != nil {
		add("maps", *u.Maps)
	}
	if u.EndedAt != nil {
		add("ended_at", toNanos(*u.EndedAt))
	}
	if u.AttachedAt != nil {
		add("attached_at", toNanos(*u.AttachedAt))
	}
	if u.StopAt != nil {
		add("stop_at", toNanos(*u.StopAt))
	}
	if u.ExitCode != nil {
		add("exit_code", *u.ExitCode)
	}
	if u.ProbesAttached != nil {
		add("probes_attached", *u.ProbesAttached)
	}
	if u.LostEvents != nil {
		add("lost_events", *u.LostEvents)
	}
	if u.HelperErrors != nil {
		add("helper_errors", *u.HelperErrors)
	}
	if u.LinesTotal != nil {
		add("lines_total", *u.LinesTotal)
	}
	if u.LinesDropped != nil {
		add("lines_dropped", *u.LinesDropped)
	}
	if u.BytesStored != nil {
		add("bytes_stored", *u.BytesStored)
	}
	if len(set) == 0 {
		// Nothing to change, but the caller still learns whether id exists.
		_, err := db.FindExecution(ctx, id)
		return err
	}
	args = append(args, id)

	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE executions SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("update execution %s: %w", id, err)
	}
	return nil
}

func optNanos(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	n := toNanos(*t)
	return &n
}

// mustAffect turns an UPDATE or DELETE that matched no row into ErrNotFound.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
