package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit decisions. The schema accepts only these.
const (
	DecisionAllowed = "allowed"
	DecisionDenied  = "denied"
)

// AuditEntry records one request and what was decided about it.
type AuditEntry struct {
	ID            int64     // assigned by AddAudit, increasing
	Time          time.Time // zero: now
	Client        string    // who asked: MCP session or token name
	Principal     string    // the caller's name (access.Principal), "" before roles
	Role          string    // the caller's role when it asked
	Action        string    // "validate", "exec", "stop", ...
	ExecutionID   string    // "" when the action concerns no execution
	ProgramSHA256 string    // hex; computed from Program when empty
	Program       string
	Decision      string // DecisionAllowed or DecisionDenied
	Rule          string // the policy rule that decided
	Outcome       string
	Detail        string
}

// AddAudit appends e to the audit log and sets its ID, and its Time and
// ProgramSHA256 when they were empty.
func (db *DB) AddAudit(ctx context.Context, e *AuditEntry) error {
	if e.Action == "" {
		return errors.New("add audit entry: empty action")
	}
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	if e.ProgramSHA256 == "" && e.Program != "" {
		sum := sha256.Sum256([]byte(e.Program))
		e.ProgramSHA256 = hex.EncodeToString(sum[:])
	}
	var execID *string
	if e.ExecutionID != "" {
		execID = &e.ExecutionID
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit
			(time, client, principal, role, action, execution_id, program_sha256, program, decision, rule, outcome, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			toNanos(e.Time), e.Client, e.Principal, e.Role, e.Action, execID, e.ProgramSHA256, e.Program,
			e.Decision, e.Rule, e.Outcome, e.Detail)
		if err != nil {
			return err
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("add audit entry %s: %w", e.Action, err)
	}
	return nil
}

// DefaultAuditLimit is how many entries ListAudit returns when the filter's
// Limit is 0.
const DefaultAuditLimit = 100

// AuditFilter selects audit entries for ListAudit.
type AuditFilter struct {
	Limit       int    // at most this many (0: DefaultAuditLimit)
	Action      string // only this action; "" for all
	ExecutionID string // only entries about this execution; "" for all
	BeforeID    int64  // only entries with a smaller ID, for paging; 0 for all
	Principal   string // only this principal's entries; "" for all
}

// ListAudit returns audit entries newest first.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	if f.ExecutionID != "" {
		where = append(where, "execution_id = ?")
		args = append(args, f.ExecutionID)
	}
	if f.Principal != "" {
		where = append(where, "principal = ?")
		args = append(args, f.Principal)
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	q := `SELECT id, time, client, principal, role, action, coalesce(execution_id, ''), program_sha256, program,
		decision, rule, outcome, detail FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// IDs increase with every insert, so they order entries as they were
	// logged even when the clocks of two processes disagree.
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)

	rows, err := db.ro.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", classify(err))
	}
	defer rows.Close()
	es := []*AuditEntry{}
	for rows.Next() {
		var (
			e  AuditEntry
			ns int64
		)
		err := rows.Scan(&e.ID, &ns, &e.Client, &e.Principal, &e.Role, &e.Action, &e.ExecutionID, &e.ProgramSHA256, &e.Program,
			&e.Decision, &e.Rule, &e.Outcome, &e.Detail)
		if err != nil {
			return nil, fmt.Errorf("list audit entries: %w", classify(err))
		}
		e.Time = fromNanos(ns)
		es = append(es, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", classify(err))
	}
	return es, nil
}
