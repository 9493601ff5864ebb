// Package mcpserver exposes bpftrace to MCP clients: the tools, resources
// and prompts, over stdio or Streamable HTTP. It is the only package that
// imports the MCP SDK; everything it serves comes from the packages below it
// (runner, catalog, docs, bpftrace), and it translates their errors, once,
// into tool errors that say what went wrong and what to do next.
package mcpserver
