package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Prune applies retention: while more than MaxExecutions executions are
// stored, or their output takes more than MaxOutputBytes, it deletes the
// oldest finished executions with their output. Running executions are never
// deleted, so the limits can be exceeded while many run. It also keeps only
// the newest MaxAuditEntries audit entries.
//
// Each execution is deleted in its own short transaction, so Prune never holds
// the write lock for long, and several processes may prune at once. The file
// does not shrink: SQLite reuses the freed pages for later writes.
func (db *DB) Prune(ctx context.Context) error {
	victims, err := db.pruneVictims(ctx)
	if err != nil {
		return fmt.Errorf("prune executions: %w", classify(err))
	}
	for _, id := range victims {
		err := db.write(ctx, func(tx *sql.Tx) error {
			// The chunks go with it: ON DELETE CASCADE.
			_, err := tx.ExecContext(ctx, `DELETE FROM executions WHERE id = ? AND status != ?`, id, StatusRunning)
			return err
		})
		if err != nil {
			return fmt.Errorf("prune execution %s: %w", id, err)
		}
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM audit WHERE id <= (
			SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)`, db.maxAuditEntries)
		return err
	})
	if err != nil {
		return fmt.Errorf("prune audit log: %w", err)
	}
	return nil
}

// pruneVictims returns the finished executions to delete, oldest first.
func (db *DB) pruneVictims(ctx context.Context) ([]string, error) {
	var (
		count int
		bytes int64
	)
	err := db.ro.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(chunk_bytes), 0) FROM executions`).
		Scan(&count, &bytes)
	if err != nil {
		return nil, err
	}
	if count <= db.maxExecutions && bytes <= db.maxOutputBytes {
		return nil, nil
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT id, chunk_bytes FROM executions
		WHERE status != ? ORDER BY started_at, id`, StatusRunning)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var victims []string
	for (count > db.maxExecutions || bytes > db.maxOutputBytes) && rows.Next() {
		var (
			id string
			b  int64
		)
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		victims = append(victims, id)
		count--
		bytes -= b
	}
	return victims, rows.Err()
}
