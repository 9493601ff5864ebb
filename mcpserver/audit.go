package mcpserver

import (
	"context"
	"encoding/json"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const auditURI = "bpftrace://audit"

type auditEntryOut struct {
	Time          string `json:"time"`
	Client        string `json:"client,omitempty"`
	Principal     string `json:"principal,omitempty"`
	Role          string `json:"role,omitempty"`
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
		Description: "The newest 100 audit entries: every validation, execution and stop, who asked (client, principal, role), the program, the policy's decision and rule, and the outcome. An admin reads every client's entries, anyone else only its own.",
	}, func(ctx context.Context, _ *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		es, err := s.trace.Audit(ctx, principal(ctx), 100)
		if err != nil {
			return nil, err
		}
		out := make([]auditEntryOut, 0, len(es))
		for _, e := range es {
			out = append(out, auditEntryOut{Time: e.Time.UTC().Format(time.RFC3339Nano), Client: e.Client,
				Principal: e.Principal, Role: e.Role, Action: e.Action,
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
