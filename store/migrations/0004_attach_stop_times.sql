-- When bpftrace had attached its probes (tracing began) and when it was
-- asked to stop (SIGINT): the run's time splits into attach, traced and
-- teardown. NULL: not (yet) known, or it ended on its own.
ALTER TABLE executions ADD COLUMN attached_at INTEGER;
ALTER TABLE executions ADD COLUMN stop_at INTEGER;
