-- Who asked: the principal (a token's name over HTTP, "local" over stdio)
-- owns an execution, and non-admin principals see only their own
-- executions and audit entries. Rows from before this migration have no
-- principal: only an admin sees them.
ALTER TABLE executions ADD COLUMN principal TEXT NOT NULL DEFAULT '';
CREATE INDEX executions_principal ON executions (principal, started_at);

ALTER TABLE audit ADD COLUMN principal TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN role TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_principal ON audit (principal, id);
