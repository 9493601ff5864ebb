// Package validate checks a bpftrace program before anything runs: first
// with fast checks in Go on the parsed program (unknown providers, probes
// that do not exist or cannot attach on this host, unsafe builtins, fields a
// tracepoint does not have, syntax of a newer bpftrace), then with
// bpftrace's own compiler for types and semantics. Every diagnostic carries
// a position and, where a common mistake is recognised, a hint that says
// what to write instead.
//
// It also reads, from the parsed program, what the output decoder needs to
// know about the program's maps.
package validate
