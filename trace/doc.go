// Package trace owns the path from a request to a run: validation (the
// preprocessor guard first, then parsing, probes and the policy, with the
// target's predicate and the server's self-exclusion added), bpftrace's
// compile, the start and the audit; and reading, waiting for, stopping and
// listing runs, every answer fitted to one byte budget.
//
// Every transport (the MCP tools today, a fleet gateway later) calls a
// [Service] and only maps its requests and answers onto it, so a refusal
// has one source, and one audit record, whatever the transport.
//
// It knows nothing of MCP, HTTP or SQL: it speaks to the runner, the
// validator and the audit log, and takes the caller's [access.Principal]
// from the transport.
package trace
