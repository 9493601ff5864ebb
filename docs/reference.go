package docs

import _ "embed"

//go:embed reference.md
var reference string

// Reference returns a Markdown reference for writing bpftrace programs:
// probe types and their arguments, program structure, maps, output formats,
// pitfalls, the differences between bpftrace 0.17 and later releases, and
// what tends not to work on locked-down hosts. It is written for an AI
// assistant and kept under 25 KB so that it fits in one resource read.
func Reference() string { return reference }
