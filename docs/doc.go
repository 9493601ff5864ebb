// Package docs holds the project's own reference material for bpftrace:
// the builtins, functions and map functions of each bpftrace release from
// 0.17 to 0.26, a language reference written for AI assistants, example
// programs, and guided investigations used as MCP prompts.
//
// Everything here is data. Content is embedded in the binary with go:embed
// or written as Go literals, and the package does no I/O. It is written once,
// in the spelling of bpftrace 0.17; [ReferenceFor], [ExamplesFor] and
// [Guide.RenderFor] serve it for the bpftrace in use, respelled by
// [lang.Respell] and with the differences listed from the version table
// ([github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version]).
//
// The text is written for this project. Facts come from bpftrace's release
// notes and from measurements of bpftrace 0.17 on the hosts this server
// targets; the wording is ours.
package docs
