// Package bpftrace is the engine adapter: it finds the bpftrace binary, learns
// its version and features, builds argv for that version, starts and signals
// bpftrace processes, and parses the diagnostics bpftrace prints on stderr.
//
// It is the only package that knows how bpftrace versions differ and the
// only one that compares version numbers; everything above it asks for a
// [Features] value or an argv instead. It knows nothing of MCP or storage.
//
// The JSON event stream that a running bpftrace writes is decoded by the
// subpackage [github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output], which is
// pure and does no I/O.
package bpftrace
