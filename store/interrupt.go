package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MarkInterrupted marks every running execution whose Owner is not alive as
// failed, with EndReason "interrupted", EndedAt now and ErrorMessage msg: its
// server went away while it ran. It returns their IDs, oldest first.
//
// alive is called once per distinct owner, outside any transaction, so it may
// take its time (for example to look a process up in /proc). An execution
// that finishes meanwhile is left as its owner wrote it.
func (db *DB) MarkInterrupted(ctx context.Context, alive func(owner string) bool, msg string) ([]string, error) {
	dead, err := db.orphans(ctx, alive)
	if err != nil {
		return nil, fmt.Errorf("mark interrupted executions: %w", classify(err))
	}
	marked := []string{}
	if len(dead) == 0 {
		return marked, nil
	}
	now := toNanos(db.now())
	err = db.write(ctx, func(tx *sql.Tx) error {
		marked = marked[:0]
		for _, id := range dead {
			res, err := tx.ExecContext(ctx, `UPDATE executions
				SET status = ?, end_reason = ?, error_message = ?, ended_at = ?
				WHERE id = ? AND status = ?`,
				StatusFailed, EndInterrupted, msg, now, id, StatusRunning)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				marked = append(marked, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark interrupted executions: %w", err)
	}
	return marked, nil
}

// orphans returns the IDs of running executions whose owner is not alive.
func (db *DB) orphans(ctx context.Context, alive func(owner string) bool) ([]string, error) {
	rows, err := db.ro.QueryContext(ctx,
		`SELECT id, owner FROM executions WHERE status = ? ORDER BY started_at, id`, StatusRunning)
	if err != nil {
		return nil, err
	}
	type running struct{ id, owner string }
	var rs []running
	for rows.Next() {
		var r running
		if err := rows.Scan(&r.id, &r.owner); err != nil {
			rows.Close()
			return nil, err
		}
		rs = append(rs, r)
	}
	// Close before calling alive: with ":memory:" the only connection is
	// also the one the caller's next write needs.
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	verdict := map[string]bool{}
	var dead []string
	for _, r := range rs {
		ok, seen := verdict[r.owner]
		if !seen {
			ok = alive(r.owner)
			verdict[r.owner] = ok
		}
		if !ok {
			dead = append(dead, r.id)
		}
	}
	return dead, nil
}
