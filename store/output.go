package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// OutputCounters are the caller's running totals for an execution, stored
// with each chunk so that counters and output never disagree after a crash.
type OutputCounters struct {
	LinesTotal   int64 // lines the program printed so far
	LinesDropped int64 // lines not stored so far (limits, overload)
	BytesStored  int64 // bytes of output stored so far
}

// AppendOutput stores lines as lines firstLine..firstLine+len(lines)-1 of
// execution id, in one chunk, and sets the execution's LinesTotal,
// LinesDropped and BytesStored to counters, all in one transaction.
//
// Line numbers are dense: firstLine must equal the execution's LinesStored
// (0 for the first chunk), or the call fails with an error wrapping
// ErrOutOfOrder and stores nothing. After a failed append the caller may retry
// the same chunk, or count its lines as dropped and send the next chunk at
// the same firstLine. With no lines, only the counters are written and
// firstLine is not checked. Lines must not contain "\n".
//
// Returns an error wrapping ErrNotFound if the execution does not exist, and
// one wrapping ErrFull if the disk is full.
func (db *DB) AppendOutput(ctx context.Context, id string, firstLine int64, lines []string, counters OutputCounters) error {
	data, err := joinLines(lines)
	if err != nil {
		return fmt.Errorf("append output of execution %s: %w", id, err)
	}
	n := int64(len(lines))
	err = db.write(ctx, func(tx *sql.Tx) error {
		q := `UPDATE executions SET lines_total = ?, lines_dropped = ?, bytes_stored = ?,
			lines_stored = lines_stored + ?, chunk_bytes = chunk_bytes + ?
			WHERE id = ?`
		args := []any{counters.LinesTotal, counters.LinesDropped, counters.BytesStored, n, len(data), id}
		if n > 0 {
			q += ` AND lines_stored = ?`
			args = append(args, firstLine)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return appendMismatch(ctx, tx, id, firstLine)
		}
		if n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO output_chunks (exec_id, first_line, line_count, bytes, data) VALUES (?, ?, ?, ?, ?)`,
			id, firstLine, n, len(data), data)
		return err
	})
	if err != nil {
		return fmt.Errorf("append output of execution %s at line %d: %w", id, firstLine, err)
	}
	return nil
}

// appendMismatch explains why the guarded UPDATE matched no row.
func appendMismatch(ctx context.Context, tx *sql.Tx, id string, firstLine int64) error {
	var stored int64
	err := tx.QueryRowContext(ctx, `SELECT lines_stored FROM executions WHERE id = ?`, id).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: first line %d, but %d lines are stored", ErrOutOfOrder, firstLine, stored)
}

// joinLines returns the lines joined by '\n': the chunk's data.
func joinLines(lines []string) ([]byte, error) {
	size := len(lines)
	for i, l := range lines {
		if strings.IndexByte(l, '\n') >= 0 {
			return nil, fmt.Errorf("line %d contains a newline", i)
		}
		size += len(l)
	}
	data := make([]byte, 0, max(size-1, 0))
	for i, l := range lines {
		if i > 0 {
			data = append(data, '\n')
		}
		data = append(data, l...)
	}
	return data, nil
}

// ReadOutput returns up to limit lines of execution id starting at line
// offset. It stops early, after at least one line, when the next line would
// take the total length of the returned lines past maxBytes (maxBytes <= 0:
// no byte limit). An offset at or past the end, or a limit of 0, gives an
// empty (non-nil) slice. Returns an error wrapping ErrNotFound if the
// execution does not exist.
func (db *DB) ReadOutput(ctx context.Context, id string, offset, limit int64, maxBytes int) ([]string, error) {
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("read output of execution %s: negative offset %d or limit %d", id, offset, limit)
	}
	lines, err := db.readOutput(ctx, id, offset, limit, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read output of execution %s at line %d: %w", id, offset, classify(err))
	}
	return lines, nil
}

func (db *DB) readOutput(ctx context.Context, id string, offset, limit int64, maxBytes int) ([]string, error) {
	var stored int64
	err := db.ro.QueryRowContext(ctx, `SELECT lines_stored FROM executions WHERE id = ?`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	limit = min(limit, max(stored-offset, 0))
	// The byte budget may end the page long before limit lines.
	page := make([]string, 0, min(limit, 4096))
	if limit == 0 {
		return page, nil
	}

	// The subquery finds the chunk holding offset with one index seek; the
	// rest are the chunks that follow it, up to the last line wanted. Rows
	// are stepped lazily, so chunks past a spent byte budget are never read.
	rows, err := db.ro.QueryContext(ctx, `SELECT first_line, line_count, data FROM output_chunks
		WHERE exec_id = ?1 AND first_line < ?3 AND first_line >= (
			SELECT first_line FROM output_chunks
			WHERE exec_id = ?1 AND first_line <= ?2
			ORDER BY first_line DESC LIMIT 1)
		ORDER BY first_line`, id, offset, offset+limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := pageReader{page: page, next: offset, limit: limit, maxBytes: maxBytes}
	for !r.done && rows.Next() {
		var (
			first, count int64
			data         sql.RawBytes
		)
		if err := rows.Scan(&first, &count, &data); err != nil {
			return nil, err
		}
		if first > r.next || r.next >= first+count {
			// Chunks are dense by construction; a gap means the rows
			// changed under us (the execution was pruned). Return what
			// was read.
			break
		}
		r.take(data, r.next-first)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return r.page, nil
}

// pageReader collects lines from consecutive chunks into a page.
type pageReader struct {
	page     []string
	next     int64 // line number of the next line to take
	limit    int64 // lines wanted in all
	maxBytes int   // budget for the total length of lines; <= 0: none
	used     int
	done     bool
}

// take appends lines of one chunk, starting skip lines into it, until the
// page is full or the budget is spent. The lines taken are copied out of
// data with one allocation and sliced from it.
func (r *pageReader) take(data []byte, skip int64) {
	start := 0
	for ; skip > 0; skip-- {
		start += bytes.IndexByte(data[start:], '\n') + 1
	}
	// First pass: how many lines fit, and where the last one ends.
	pos, end, n := start, start, 0
	for int64(len(r.page)+n) < r.limit {
		l := bytes.IndexByte(data[pos:], '\n')
		last := l < 0
		if last {
			l = len(data) - pos
		}
		if r.maxBytes > 0 && len(r.page)+n > 0 && r.used+l > r.maxBytes {
			r.done = true
			break
		}
		r.used += l
		n++
		end = pos + l
		if last {
			break
		}
		pos = end + 1
	}
	if int64(len(r.page)+n) >= r.limit {
		r.done = true
	}
	if n == 0 {
		return
	}
	// Second pass, over the copy: split it into exactly n lines.
	s := string(data[start:end])
	for i := 0; i < n-1; i++ {
		j := strings.IndexByte(s, '\n')
		r.page = append(r.page, s[:j])
		s = s[j+1:]
	}
	r.page = append(r.page, s)
	r.next += int64(n)
}
