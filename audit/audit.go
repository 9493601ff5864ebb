// Package audit records every decision the server makes about a program:
// each validation, execution and stop, with who asked, the program and its
// hash, the decision and the rule behind it, and the outcome. Entries go to
// the store, where the audit resource reads them, and to the log as
// structured lines, where an operator's log collection picks them up.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"

	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// Actions recorded.
const (
	ActionValidate = "validate"
	ActionExec     = "exec"
	ActionStop     = "stop"
	// ActionApprove records a person's approval of a program of the
	// sensitive class, before it runs.
	ActionApprove = "approve"
)

// Decisions recorded.
const (
	Allowed = store.DecisionAllowed
	Denied  = store.DecisionDenied
)

// Log writes audit entries. It is safe for concurrent use.
type Log struct {
	db  *store.DB
	log *slog.Logger
}

// New returns a Log writing to db and to log (nil: discard).
func New(db *store.DB, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{db: db, log: log}
}

// Record stores an entry and logs it. A failure to store is logged, not
// returned: the request it records has already been decided, and an audit
// store that cannot be written is reported by the server's health, not by
// failing the assistant's call.
func (l *Log) Record(ctx context.Context, e *store.AuditEntry) {
	if e.Program != "" && e.ProgramSHA256 == "" {
		sum := sha256.Sum256([]byte(e.Program))
		e.ProgramSHA256 = hex.EncodeToString(sum[:])
	}
	l.log.Info("audit", "action", e.Action, "client", e.Client, "decision", e.Decision, "rule", e.Rule,
		"execution_id", e.ExecutionID, "program_sha256", e.ProgramSHA256, "outcome", e.Outcome)
	if err := l.db.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		l.log.Error("store audit entry", "action", e.Action, "err", err)
	}
}

// Recent returns the newest entries, newest first.
func (l *Log) Recent(ctx context.Context, limit int) ([]*store.AuditEntry, error) {
	return l.db.ListAudit(ctx, store.AuditFilter{Limit: limit})
}

// RecentOf returns the newest entries of one principal, newest first.
func (l *Log) RecentOf(ctx context.Context, limit int, principal string) ([]*store.AuditEntry, error) {
	if principal == "" {
		return []*store.AuditEntry{}, nil
	}
	return l.db.ListAudit(ctx, store.AuditFilter{Limit: limit, Principal: principal})
}
