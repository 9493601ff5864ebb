package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// PolicyCheck returns the gateway's check before fan-out: the preprocessor
// guard, the parser and the policy the agents run, over the program as
// written. What only a node can judge is left to its agent, which applies
// the whole policy again on arrival: which files a uprobe's path names
// there (rule probes.binary), which probes a wildcard expands to, and
// whether they exist.
func PolicyCheck(p *policy.Policy) func(context.Context, string) (output.Schema, error) {
	return func(_ context.Context, src string) (output.Schema, error) {
		prog, err := lang.Parse("stdin", src)
		if pre := p.CheckSource(src); len(pre) > 0 {
			return nil, violations(pre)
		}
		vs := p.Check(policy.Input{Source: src, Program: prog, ParseErr: err})
		kept := vs[:0]
		for _, v := range vs {
			if v.Rule != policy.RuleBinary {
				kept = append(kept, v)
			}
		}
		if len(kept) > 0 {
			return nil, violations(kept)
		}
		if err != nil {
			return nil, fmt.Errorf("the program does not parse: %w", err)
		}
		return validate.MapSchema(prog), nil
	}
}

// violations says every refusal with its place and what to do instead.
func violations(vs []policy.Violation) error {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "line %d, column %d: %s (rule %s)", v.Pos.Line, v.Pos.Column, v.Message, v.Rule)
		if v.Hint != "" {
			b.WriteString("\n  hint: " + v.Hint)
		}
	}
	return errors.New(b.String())
}
