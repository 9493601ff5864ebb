-- The parts of an execution that runs elsewhere: for the fleet gateway,
-- one row per node, with the agent's own execution id and how it ended.
-- Deleted with their execution.
CREATE TABLE execution_parts (
	execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	remote_id    TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	end_reason   TEXT NOT NULL DEFAULT '',
	error        TEXT NOT NULL DEFAULT '',
	lines_total  INTEGER NOT NULL DEFAULT 0,
	maps         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (execution_id, name)
);
