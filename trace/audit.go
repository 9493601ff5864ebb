package trace

import (
	"context"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// decision is one thing the service decided, as the audit log records it.
type decision struct {
	action  string
	req     Request
	id      string           // the execution concerned, if any
	v       *validate.Result // the verdict on the program, if it was checked
	outcome string
	// denied and rule record a refusal that is not the policy's (the
	// caller's role); a policy refusal is read from v.
	denied bool
	rule   string
}

// entry is the audit entry of a decision: "denied" when the policy (or the
// caller's role) refused, with the rule; other refusals (syntax, probes
// missing here) are "allowed" by the policy and recorded with their
// outcome.
func (d decision) entry(p access.Principal) *store.AuditEntry {
	e := &store.AuditEntry{Client: d.req.Client, Principal: p.Name, Role: string(p.Role), Action: d.action,
		ExecutionID: d.id, Program: d.req.Program, Decision: audit.Allowed, Outcome: d.outcome}
	if d.denied {
		e.Decision, e.Rule = audit.Denied, d.rule
	} else if d.v != nil {
		if rule, denied := d.v.PolicyRule(); denied {
			e.Decision, e.Rule = audit.Denied, rule
		}
	}
	if d.req.Target != nil {
		e.Detail = "target " + d.req.Target.String()
	}
	return e
}

// record writes a decision to the audit log: the one place the service
// audits.
func (s *Service) record(ctx context.Context, p access.Principal, d decision) {
	if s.o.Audit == nil {
		return
	}
	s.o.Audit.Record(ctx, d.entry(p))
}
