// Package bpftrace is the engine adapter: it finds the bpftrace binary, learns
// its version, builds argv for that version, starts and signals bpftrace
// processes, and parses the diagnostics bpftrace prints on stderr.
//
// What differs between bpftrace releases is one table in the leaf package
// [github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version], which lang and
// validate read too; this package turns it into argv. It knows nothing of
// MCP or storage.
//
// The JSON event stream that a running bpftrace writes is decoded by the
// subpackage [github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output], which is
// pure and does no I/O.
package bpftrace
