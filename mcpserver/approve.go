package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
)

// Approval of a program of the sensitive class goes through MCP
// elicitation as a multi-round-trip input request (SEP-2322): exec_program
// answers with the question, the client (or, for a client on an older
// protocol, the SDK on the server's side) asks the user and calls
// exec_program again with the answer. The question's id is bound to the
// program and its target, so an answer approves that program only.

// approvalID names the question about one program and target.
func approvalID(in execIn) string {
	h := sha256.New()
	h.Write([]byte(in.Program))
	if in.Target != nil {
		h.Write([]byte{0})
		h.Write([]byte(in.Target.String()))
	}
	return "approve-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// elicitApprover reads the user's answer from the retried call.
type elicitApprover struct {
	id        string
	canAsk    bool
	responses mcp.InputResponseMap
}

func newApprover(req *mcp.CallToolRequest, in execIn) elicitApprover {
	a := elicitApprover{id: approvalID(in)}
	if c := req.ClientCapabilities(); c != nil && c.Elicitation != nil {
		// A client that asks through web pages only cannot show a form.
		a.canAsk = c.Elicitation.Form != nil || c.Elicitation.URL == nil
	}
	if req.Params != nil {
		a.responses = req.Params.InputResponses
	}
	return a
}

func (a elicitApprover) Approve(_ context.Context, _ []string) (trace.Answer, error) {
	if !a.canAsk {
		return trace.Answer{}, trace.ErrCannotAsk
	}
	r, ok := a.responses[a.id]
	if !ok {
		return trace.Answer{}, trace.ErrNoAnswerYet
	}
	res, ok := r.(*mcp.ElicitResult)
	if !ok {
		return trace.Answer{}, fmt.Errorf("the answer to %s is not an elicitation result", a.id)
	}
	yes, _ := res.Content["approve"].(bool)
	return trace.Answer{Approved: res.Action == "accept" && yes, Action: res.Action}, nil
}

// approvalSchema is the form the user answers: one box to tick.
var approvalSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"approve": map[string]any{
			"type":        "boolean",
			"title":       "Run it",
			"description": "Tick to let this program run as root and read what is described above.",
			"default":     false,
		},
	},
	"required": []string{"approve"},
}

// approvalQuestion is the input request that asks the user.
// The question is what a person decides on, and does not pass the
// answers' last guard (an input request is no content): each line of the
// summary, which names files and functions of the host, is escaped here,
// so that none can reshape the question or add a line of its own.
func approvalQuestion(id string, summary []string) *mcp.CallToolResult {
	msg := "An assistant asks to run a bpftrace program that reads sensitive data on this host, as root:\n\n- " +
		strings.Join(escapeEach(summary), "\n- ") + "\n\nApprove it only if you expect this program to read that."
	return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{
		id: &mcp.ElicitParams{Mode: "form", Message: msg, RequestedSchema: approvalSchema},
	}}
}
