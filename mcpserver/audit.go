package mcpserver

import (
	"context"
	"encoding/json"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

const auditURI = "bpftrace://audit"

// audit records a decision about a program. The decision is "denied" when
// the policy refused it, with the first refusing rule; other refusals
// (syntax, probes missing here) are "allowed" by the policy and recorded
// with their outcome.
func (s *Server) audit(ctx context.Context, action, client, program, id string, v *validate.Result, outcome string, target *policy.Scope) {
	if s.o.Audit == nil {
		return
	}
	e := &store.AuditEntry{Client: client, Action: action, ExecutionID: id, Program: program,
		Decision: audit.Allowed, Outcome: outcome}
	if v != nil {
		for _, d := range v.Diagnostics {
			if d.Code == "policy" && d.Severity == validate.Error {
				e.Decision, e.Rule = audit.Denied, d.Rule
				break
			}
		}
	}
	if target != nil {
		e.Detail = "target " + target.String()
	}
	s.o.Audit.Record(ctx, e)
}

func (s *Server) recordStop(ctx context.Context, req *mcp.CallToolRequest, id, outcome string) {
	if s.o.Audit != nil {
		s.o.Audit.Record(ctx, &store.AuditEntry{Client: clientName(req), Action: audit.ActionStop, ExecutionID: id,
			Decision: audit.Allowed, Outcome: outcome})
	}
}

func firstError(v *validate.Result) string {
	if errs := v.Errors(); len(errs) > 0 {
		return errs[0].Message
	}
	return ""
}

type auditEntryOut struct {
	Time          string `json:"time"`
	Client        string `json:"client,omitempty"`
	Action        string `json:"action"`
	ExecutionID   string `json:"execution_id,omitempty"`
	ProgramSHA256 string `json:"program_sha256,omitempty"`
	Program       string `json:"program,omitempty"`
	Decision      string `json:"decision"`
	Rule          string `json:"rule,omitempty"`
	Outcome       string `json:"outcome,omitempty"`
	Detail        string `json:"detail,omitempty"`
}

func (s *Server) addAuditResource() {
	if s.o.Audit == nil {
		return
	}
	s.mcp.AddResource(&mcp.Resource{
		Name: "audit", Title: "Audit log", URI: auditURI, MIMEType: "application/json",
		Description: "The newest 100 audit entries: every validation, execution and stop, who asked, the program, the policy's decision and rule, and the outcome.",
	}, func(ctx context.Context, _ *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		es, err := s.o.Audit.Recent(ctx, 100)
		if err != nil {
			return nil, err
		}
		out := make([]auditEntryOut, 0, len(es))
		for _, e := range es {
			out = append(out, auditEntryOut{Time: e.Time.UTC().Format(time.RFC3339Nano), Client: e.Client, Action: e.Action,
				ExecutionID: e.ExecutionID, ProgramSHA256: e.ProgramSHA256, Program: e.Program, Decision: e.Decision,
				Rule: e.Rule, Outcome: e.Outcome, Detail: e.Detail})
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		return textResource(auditURI, "application/json", string(b)), nil
	})
}
