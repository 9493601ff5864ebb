// Package lang lexes and parses programs written in the bpftrace language.
//
// The grammar covered is that of bpftrace 0.17, plus the common syntax of
// later releases (0.18 to 0.26: config blocks, let declarations, typed
// variables, for loops over maps and ranges, macros, subprograms, nested
// blocks, fentry/fexit/rawtracepoint providers, lowercase begin/end), so that
// a program written for a newer bpftrace parses and can then be diagnosed as
// needing that version. Parse never runs bpftrace and never reads a file.
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
//
// Parse is safe for concurrent use; the package has no global mutable state.
package lang
