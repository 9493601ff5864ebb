// Package store keeps bpftrace-mcp's executions, their complete output and an
// audit log in one SQLite file, so that results and history read the same after
// the server restarts.
//
// It is the only package that imports database/sql and the SQLite driver
// (modernc.org/sqlite, pure Go). It knows SQLite; it knows neither bpftrace nor
// MCP: programs, options and maps are opaque text to it.
//
// # Sharing one file
//
// Every MCP client over stdio starts its own server, so several processes may
// open the same file. The database runs in WAL mode, where readers never wait
// for a writer; writers take the write lock at BEGIN (BEGIN IMMEDIATE) and wait
// up to five seconds for it (busy_timeout) instead of failing with "database is
// locked". Every write is one short transaction. Within a process all writes go
// through a single connection, so they queue in Go rather than in SQLite's
// sleeping busy handler; reads use a separate pool and run beside them.
//
// # Output
//
// Output is stored in chunks of consecutive lines (the lines joined by "\n"),
// not one row per line, which keeps appends at hundreds of thousands of lines
// per second. Line numbers are dense and start at 0: line n of an execution is
// the n-th line stored for it. [DB.ReadOutput] finds the chunk holding the
// first requested line with one index lookup.
//
// # Time
//
// Times are stored as INTEGER nanoseconds since the Unix epoch, UTC, and come
// back as UTC [time.Time] values without a monotonic reading.
//
// # Errors
//
// Lookups of a missing execution return an error wrapping [ErrNotFound]. A
// write that fails because the disk (or the database size limit) is full
// returns an error wrapping [ErrFull]; the database still answers reads.
// All methods of [DB] are safe for concurrent use.
package store
