// Package docs holds the project's own reference material for bpftrace:
// the builtins, functions and map functions of each bpftrace release from
// 0.17 to 0.26, a language reference written for AI assistants, example
// programs, and guided investigations used as MCP prompts.
//
// Everything here is data. Content is embedded in the binary with go:embed
// or written as Go literals, so the package has no dependencies and does no
// I/O. Versions appear only as tags ("0.17", "0.22"): the package never
// compares them, because choosing what applies to the installed bpftrace is
// the job of the package that knows how to order versions.
//
// The text is written for this project. Facts come from bpftrace's release
// notes and from measurements of bpftrace 0.17 on the hosts this server
// targets; the wording is ours.
package docs
