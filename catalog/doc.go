// Package catalog is an in-process index of the probes bpftrace can attach to
// on this host: tracepoints from tracefs (available_events and the events'
// format files), uprobe symbols from ELF symbol tables, USDT probes from
// .note.stapsdt, the fixed software and hardware event lists, and, where the
// kernel supports them, kprobe, kfunc and iterator names.
//
// It answers the questions bpftrace -l and -lv answer, with the same names
// and fields, in microseconds instead of a process start per query, and it
// says which probe types work here and why the others do not. It knows the
// kernel and ELF files; it knows nothing of MCP or of running bpftrace.
//
// A [Catalog] loads what a query needs on first use and caches it; binaries
// are cached per path, size and modification time. All methods are safe for
// concurrent use.
package catalog
