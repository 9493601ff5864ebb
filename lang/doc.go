// Package lang lexes and parses programs written in the bpftrace language.
//
// The grammar covered is that of bpftrace 0.17, plus the common syntax of
// later releases up to 0.27 (config blocks, imports, map declarations,
// macros, subprograms, let declarations, for loops over maps and ranges with
// or without parentheses, nested blocks, fentry/fexit/rawtracepoint
// providers, lowercase begin/end), so that a program written for a newer
// bpftrace parses and can then be diagnosed as needing that version.
// [Features] lists the constructs of a program that need a release newer
// than 0.17, as features of the version table
// ([github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version]), the one leaf
// package lang imports. Parse never runs bpftrace and never reads a file.
//
// Every node carries exact positions (see [Pos]). Parse returns as much of the
// program as it could build together with an [ErrorList], so callers can report
// several diagnostics at once and still inspect the parsed part: a security
// policy must see every call, directive and attach point of the program, even
// when another part of it does not parse.
//
// Some things are recorded rather than interpreted: preprocessor lines are
// kept as [Directive] values with their text, C struct, union and enum
// definitions as [CDefinition] values with their raw text, and attach points
// as their provider and colon-separated parts. Deciding whether a function,
// builtin or provider exists in a given bpftrace version is left to callers.
// Macro bodies are walked like probe bodies ([Inspect]): bpftrace pastes
// them into the probes that call them.
//
// Parse is safe for concurrent use; the package has no global mutable state.
package lang
