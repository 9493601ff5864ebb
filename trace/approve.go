package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// Approver asks the person behind a client whether a program of the
// sensitive class may run (the policy's sensitive.approval = "elicit").
// mcpserver asks through MCP elicitation; the service knows nothing of how.
type Approver interface {
	// Approve shows what the program would read and returns the person's
	// answer. An error wrapping ErrCannotAsk means the client has no way
	// to ask.
	Approve(ctx context.Context, summary []string) (Answer, error)
}

// Answer is a person's answer to an approval question.
type Answer struct {
	Approved bool
	// Action is what the client reported: "accept", "decline" or "cancel".
	Action string
}

// ErrCannotAsk means the client cannot ask its user anything.
var ErrCannotAsk = errors.New("the client cannot ask its user (it does not support MCP elicitation)")

// ErrNoAnswerYet means the question has not been put to the user yet: the
// caller asks it (an MCP input request) and makes the request again with
// the answer.
var ErrNoAnswerYet = errors.New("the user has not been asked yet")

// ApprovalRequired is returned by [Service.Exec] for a program that needs a
// person's approval when the Approver has no answer yet (ErrNoAnswerYet).
type ApprovalRequired struct {
	// Summary says in plain words what the program would read.
	Summary []string
	Result  *validate.Result
}

func (e *ApprovalRequired) Error() string {
	return "the program needs the user's approval: " + strings.Join(e.Summary, " ")
}

// askApproval asks a person about a program the policy leaves to one,
// audits the answer, and marks the program approved or returns the
// refusal.
func (s *Service) askApproval(ctx context.Context, p access.Principal, req Request, v *validate.Result, summary []string) error {
	rule, _ := v.PolicyRule()
	refuse := func(why string) error {
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: "refused: " + why})
		return &RefusedError{Result: v}
	}
	if req.Approver == nil {
		return refuse("needs a person's approval, and the client cannot ask: " + v.FirstError())
	}
	ans, err := req.Approver.Approve(ctx, summary)
	switch {
	case errors.Is(err, ErrNoAnswerYet):
		s.record(ctx, p, decision{action: audit.ActionApprove, req: req,
			outcome: fmt.Sprintf("asked the user (%s): %s", rule, strings.Join(summary, " "))})
		return &ApprovalRequired{Summary: summary, Result: v}
	case errors.Is(err, ErrCannotAsk):
		return refuse("needs a person's approval, and the client cannot ask: " + v.FirstError())
	case err != nil:
		return refuse(fmt.Sprintf("the approval question failed (%v): %s", err, v.FirstError()))
	case !ans.Approved:
		return refuse(fmt.Sprintf("the user did not approve it (%s): %s", ans.Action, strings.Join(summary, " ")))
	}
	s.record(ctx, p, decision{action: audit.ActionApprove, req: req,
		outcome: fmt.Sprintf("approved by the user (%s): %s", rule, strings.Join(summary, " "))})
	v.Approve("the user, through the client")
	return nil
}
