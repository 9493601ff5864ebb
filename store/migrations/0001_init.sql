-- Times are INTEGER nanoseconds since the Unix epoch, UTC.
-- Text the caller fills (options, maps) is JSON kept as TEXT.

CREATE TABLE executions (
	id              TEXT    NOT NULL PRIMARY KEY,
	program         TEXT    NOT NULL,
	options         TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL
		CHECK (status IN ('running', 'completed', 'failed')),
	end_reason      TEXT    NOT NULL DEFAULT ''
		CHECK (end_reason IN ('', 'exit', 'timeout', 'stopped', 'error', 'interrupted')),
	started_at      INTEGER NOT NULL,
	ended_at        INTEGER,
	exit_code       INTEGER,
	error_message   TEXT    NOT NULL DEFAULT '',
	diagnostics     TEXT    NOT NULL DEFAULT '',
	probes_attached INTEGER NOT NULL DEFAULT 0,
	lost_events     INTEGER NOT NULL DEFAULT 0,
	helper_errors   INTEGER NOT NULL DEFAULT 0,
	lines_total     INTEGER NOT NULL DEFAULT 0,
	lines_dropped   INTEGER NOT NULL DEFAULT 0,
	bytes_stored    INTEGER NOT NULL DEFAULT 0,
	-- Lines in output_chunks: the next chunk must start at this line.
	lines_stored    INTEGER NOT NULL DEFAULT 0,
	-- Sum of output_chunks.bytes: what retention counts.
	chunk_bytes     INTEGER NOT NULL DEFAULT 0,
	maps            TEXT    NOT NULL DEFAULT '',
	owner           TEXT    NOT NULL DEFAULT '',
	client          TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX executions_started_at ON executions (started_at);
CREATE INDEX executions_status ON executions (status, started_at);

-- A chunk holds lines first_line .. first_line+line_count-1 of one execution,
-- joined by '\n' (lines never contain '\n'). A rowid table rather than
-- WITHOUT ROWID: chunks are large, and SQLite keeps large rows best in a
-- rowid table with a small separate index.
CREATE TABLE output_chunks (
	exec_id    TEXT    NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	first_line INTEGER NOT NULL CHECK (first_line >= 0),
	line_count INTEGER NOT NULL CHECK (line_count > 0),
	bytes      INTEGER NOT NULL,
	data       BLOB    NOT NULL
) STRICT;

CREATE UNIQUE INDEX output_chunks_line ON output_chunks (exec_id, first_line);

-- No foreign key to executions: the audit log outlives pruned executions.
CREATE TABLE audit (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	time           INTEGER NOT NULL,
	client         TEXT    NOT NULL DEFAULT '',
	action         TEXT    NOT NULL,
	execution_id   TEXT,
	program_sha256 TEXT    NOT NULL DEFAULT '',
	program        TEXT    NOT NULL DEFAULT '',
	decision       TEXT    NOT NULL CHECK (decision IN ('allowed', 'denied')),
	rule           TEXT    NOT NULL DEFAULT '',
	outcome        TEXT    NOT NULL DEFAULT '',
	detail         TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_execution ON audit (execution_id, id);
