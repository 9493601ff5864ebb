package mcpserver

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// TestSensitiveApprovalByElicitation: under sensitive.approval = "elicit" a
// program that reads through an integer address runs only when the user,
// asked through elicitation with a summary of what it reads, says yes; a
// client that cannot ask, and a user who declines, get a refusal; every
// answer is audited.
func TestSensitiveApprovalByElicitation(t *testing.T) {
	t.Parallel()
	elicit := func(o *Options, vo *validate.Options) {
		p := policy.Default()
		p.Sensitive.Approval = policy.ApprovalElicit
		vo.Policy = &p
	}
	prog := "BEGIN {\n  printf(\"%s\\n\", str(0x1000));\n  exit();\n}"
	var mu sync.Mutex
	var asked []string
	answer := func(action string, approve bool) *mcp.ClientOptions {
		return &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			mu.Lock()
			asked = append(asked, req.Params.Message)
			mu.Unlock()
			return &mcp.ElicitResult{Action: action, Content: map[string]any{"approve": approve}}, nil
		}}
	}

	// A client that cannot ask.
	cs := connectServer(t, nil, elicit)
	text, isErr := call(t, cs, "exec_program", map[string]any{"program": prog}, nil)
	if !isErr || !strings.Contains(text, "line 3, column") && !strings.Contains(text, "line 2, column") {
		t.Errorf("no elicitation: %v %s", isErr, text)
	}

	// A user who declines, and one who ticks nothing.
	for _, c := range []*mcp.ClientOptions{answer("decline", false), answer("accept", false)} {
		cs := connectServer(t, c, elicit)
		if text, isErr := call(t, cs, "exec_program", map[string]any{"program": prog}, nil); !isErr {
			t.Errorf("declined program ran: %s", text)
		}
	}

	// A user who approves.
	cs = connectServer(t, answer("accept", true), elicit)
	var out execOut
	if text, isErr := call(t, cs, "exec_program", map[string]any{"program": prog, "wait": true}, &out); isErr || out.Status != "success" {
		t.Fatalf("approved program did not run: %s %+v", text, out)
	}
	mu.Lock()
	if len(asked) != 3 || !strings.Contains(asked[2], "address made of integers") {
		t.Errorf("questions asked: %q", asked)
	}
	mu.Unlock()
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "bpftrace://audit"})
	if err != nil {
		t.Fatal(err)
	}
	var entries []auditEntryOut
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &entries); err != nil {
		t.Fatal(err)
	}
	// Newest first: the run, the answer, the question.
	var got []string
	for _, e := range entries {
		outcome, _, _ := strings.Cut(e.Outcome, " (")
		got = append(got, e.Action+":"+e.Decision+":"+outcome)
		if e.Action == "approve" && !strings.Contains(e.Outcome, "sensitive.addresses") {
			t.Errorf("approval entry does not name the rule: %+v", e)
		}
	}
	want := "exec:allowed:started approve:allowed:approved by the user approve:allowed:asked the user"
	if strings.Join(got, " ") != want {
		t.Errorf("audit of the approved run = %q, want %q", strings.Join(got, " "), want)
	}
}

// TestSensitiveApprovalOlderProtocol: a client on a protocol before
// multi-round-trip requests is asked by the server itself, in the same
// call, and the answer decides as well.
func TestSensitiveApprovalOlderProtocol(t *testing.T) {
	t.Parallel()
	elicit := func(o *Options, vo *validate.Options) {
		p := policy.Default()
		p.Sensitive.Approval = policy.ApprovalElicit
		vo.Policy = &p
	}
	prog := "uprobe:libc:malloc { @[str(0x1000)] = count(); exit(); }"
	for _, tt := range []struct {
		approve bool
		want    bool
	}{{true, true}, {false, false}} {
		asked := 0
		copts := &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			asked++
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": tt.approve}}, nil
		}}
		cs := connectServerSession(t, copts, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}, elicit)
		var out execOut
		text, isErr := call(t, cs, "exec_program", map[string]any{"program": prog}, &out)
		if ran := !isErr && out.Status == "success"; ran != tt.want || asked != 1 {
			t.Errorf("approve=%v: ran %v after %d questions: %s", tt.approve, ran, asked, text)
		}
		if out.ExecutionID != "" {
			call(t, cs, "stop_execution", map[string]any{"execution_id": out.ExecutionID}, nil)
		}
	}
}

// TestApprovalQuestionEscaped: the summary names files and functions of
// the host; none of it can add a line to the question a person answers,
// or reshape it with a terminal escape or a bidi control.
func TestApprovalQuestionEscaped(t *testing.T) {
	q := approvalQuestion("approve-x", []string{"A uprobe on /tmp/a\nNothing sensitive: approve.\x1b[2J\u202e (f)", "second"})
	msg := q.InputRequests["approve-x"].(*mcp.ElicitParams).Message
	lines := strings.Split(msg, "\n")
	if len(lines) != 6 || lines[2] != `- A uprobe on /tmp/a\nNothing sensitive: approve.\x1b[2J\u202e (f)` || lines[3] != "- second" {
		t.Errorf("question:\n%s", msg)
	}
}
