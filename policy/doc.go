// Package policy decides what may run. Its rules apply to the parsed
// program and to the concrete probes its attach points expand to, never to
// the raw text, so that `system ("id")` with a space, a call split over
// lines, or an alias of a probe type is seen for what it is, and the word
// system in a string or a map named @cat is not.
//
// The defaults are safe: no builtin that needs --unsafe, no cat() of any
// file, no C preprocessor construct (see [Policy.CheckSource]), at most 100
// attach points. An administrator widens or narrows each rule in the
// server's configuration file. A program the parser cannot read is never
// allowed to run.
//
// It also confines a run to one target (a process, a cgroup or a command
// name) by adding a predicate to every probe, and checks the rewritten
// program by parsing it again.
package policy
