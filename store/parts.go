package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Part is one piece of an execution that runs elsewhere: for the fleet
// gateway, the run on one node, with the id the node's agent gave it. The
// store keeps parts beside their execution so that a gateway's history
// says, after the agents are gone, which node did what.
type Part struct {
	ExecutionID string
	Name        string // the node
	RemoteID    string // the agent's execution id; "" when it never started
	Status      string // StatusRunning, StatusCompleted or StatusFailed
	EndReason   string
	Error       string
	LinesTotal  int64
	// Maps is the part's own final maps, JSON, for a per-node breakdown.
	Maps string
}

// AddParts records the parts of an execution, which must exist.
func (db *DB) AddParts(ctx context.Context, ps []Part) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			_, err := tx.ExecContext(ctx, `INSERT INTO execution_parts
				(execution_id, name, remote_id, status, end_reason, error, lines_total, maps)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				p.ExecutionID, p.Name, p.RemoteID, p.Status, p.EndReason, p.Error, p.LinesTotal, p.Maps)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add parts: %w", classify(err))
	}
	return nil
}

// UpdatePart replaces the state of one part (matched by execution and
// name), or returns an error wrapping ErrNotFound.
func (db *DB) UpdatePart(ctx context.Context, p Part) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE execution_parts
			SET remote_id = ?, status = ?, end_reason = ?, error = ?, lines_total = ?, maps = ?
			WHERE execution_id = ? AND name = ?`,
			p.RemoteID, p.Status, p.EndReason, p.Error, p.LinesTotal, p.Maps, p.ExecutionID, p.Name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("update part %s of %s: %w", p.Name, p.ExecutionID, classify(err))
	}
	return nil
}

// Parts returns the parts of an execution, by name.
func (db *DB) Parts(ctx context.Context, executionID string) ([]Part, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT execution_id, name, remote_id, status, end_reason, error, lines_total, maps
		FROM execution_parts WHERE execution_id = ? ORDER BY name`, executionID)
	if err != nil {
		return nil, fmt.Errorf("parts of %s: %w", executionID, classify(err))
	}
	defer rows.Close()
	var ps []Part
	for rows.Next() {
		var p Part
		if err := rows.Scan(&p.ExecutionID, &p.Name, &p.RemoteID, &p.Status, &p.EndReason, &p.Error, &p.LinesTotal, &p.Maps); err != nil {
			return nil, fmt.Errorf("parts of %s: %w", executionID, classify(err))
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("parts of %s: %w", executionID, classify(err))
	}
	return ps, nil
}
