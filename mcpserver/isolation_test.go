package mcpserver

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
)

// TestHTTPTwoTokens: two operators over HTTP on one real server (real
// bpftrace) cannot list, read, subscribe to, complete or stop each other's
// runs, and each refusal reads exactly as for an id nobody knows; a viewer
// runs nothing and is told which role it needs; an admin sees both.
func TestHTTPTwoTokens(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "alice")
	tokB, b := mustToken(t, "bob")
	tokV, v := mustToken(t, "viewer")
	tokAdm, adm := mustToken(t, "boss")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA, tokB, tokV.WithRole(access.Viewer), tokAdm.WithRole(access.Admin)}})
	ca := connectHTTP(t, srv.url, a, nil)
	cb := connectHTTP(t, srv.url, b, nil)
	cv := connectHTTP(t, srv.url, v, nil)
	cadm := connectHTTP(t, srv.url, adm, nil)

	start := func(cs *mcp.ClientSession) string {
		t.Helper()
		var out struct {
			ExecutionID string `json:"execution_id"`
		}
		if text, isErr := call(t, cs, "exec_program", map[string]any{"program": "interval:ms:100 { @n = count(); }", "timeout": 60}, &out); isErr || out.ExecutionID == "" {
			t.Fatalf("exec_program: %s", text)
		}
		return out.ExecutionID
	}
	ida, idb := start(ca), start(cb)

	ids := func(cs *mcp.ClientSession) []string {
		t.Helper()
		var out struct {
			Executions []struct {
				ExecutionID string `json:"execution_id"`
			} `json:"executions"`
		}
		if text, isErr := call(t, cs, "list_executions", map[string]any{}, &out); isErr {
			t.Fatalf("list_executions: %s", text)
		}
		var got []string
		for _, e := range out.Executions {
			got = append(got, e.ExecutionID)
		}
		return got
	}
	for _, tt := range []struct {
		who  string
		cs   *mcp.ClientSession
		want []string
	}{
		{"alice", ca, []string{ida}},
		{"bob", cb, []string{idb}},
		{"viewer", cv, nil},
		{"admin", cadm, []string{idb, ida}},
	} {
		if got := ids(tt.cs); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s lists %v, want %v", tt.who, got, tt.want)
		}
	}

	// What bob is told about alice's run is what anyone is told about an
	// id nobody knows.
	const unknown = "zzzzzzzzzz"
	same := func(what, other, none string) {
		t.Helper()
		if strings.ReplaceAll(other, ida, unknown) != none || !strings.Contains(strings.ToLower(none), "no") {
			t.Errorf("%s: about alice's run bob is told %q, about an unknown id %q", what, other, none)
		}
	}
	for _, tool := range []string{"get_result", "stop_execution"} {
		other, isErr := call(t, cb, tool, map[string]any{"execution_id": ida}, nil)
		none, _ := call(t, cb, tool, map[string]any{"execution_id": unknown}, nil)
		if !isErr {
			t.Errorf("bob's %s on alice's run succeeded: %s", tool, other)
		}
		same(tool, other, none)
	}
	ctx := context.Background()
	_, errOther := cb.ReadResource(ctx, &mcp.ReadResourceParams{URI: executionURIPrefix + ida})
	_, errNone := cb.ReadResource(ctx, &mcp.ReadResourceParams{URI: executionURIPrefix + unknown})
	if errOther == nil || errNone == nil {
		t.Fatalf("bob read alice's run: %v / %v", errOther, errNone)
	}
	same("resource", errOther.Error(), errNone.Error())
	errOther = cb.Subscribe(ctx, &mcp.SubscribeParams{URI: executionURIPrefix + ida})
	errNone = cb.Subscribe(ctx, &mcp.SubscribeParams{URI: executionURIPrefix + unknown})
	if errOther == nil || errNone == nil {
		t.Fatalf("bob subscribed to alice's run: %v / %v", errOther, errNone)
	}
	same("subscribe", errOther.Error(), errNone.Error())
	comp, err := cb.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: executionURIPrefix + "{id}"},
		Argument: mcp.CompleteParamsArgument{Name: "id", Value: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(comp.Completion.Values, ",") != idb {
		t.Errorf("bob's completions %v, want only %s", comp.Completion.Values, idb)
	}

	// The viewer runs and stops nothing, and is told which role it needs.
	if text, isErr := call(t, cv, "exec_program", map[string]any{"program": "BEGIN { exit(); }"}, nil); !isErr || !strings.Contains(text, "operator or admin role") {
		t.Errorf("viewer's exec_program: %v %s", isErr, text)
	}
	if text, isErr := call(t, cv, "stop_execution", map[string]any{"execution_id": ida}, nil); !isErr || !strings.Contains(text, "operator or admin role") {
		t.Errorf("viewer's stop_execution: %v %s", isErr, text)
	}

	// Alice's run is still running: bob's stop did nothing. The admin
	// reads bob's; each owner stops its own.
	var res struct {
		Status string `json:"status"`
	}
	if text, isErr := call(t, ca, "get_result", map[string]any{"execution_id": ida}, &res); isErr || res.Status != "running" {
		t.Errorf("alice's run after bob's stop: %s %s", res.Status, text)
	}
	if text, isErr := call(t, cadm, "get_result", map[string]any{"execution_id": idb}, nil); isErr {
		t.Errorf("admin cannot read bob's run: %s", text)
	}
	for _, s := range []struct {
		cs *mcp.ClientSession
		id string
	}{{ca, ida}, {cb, idb}} {
		if text, isErr := call(t, s.cs, "stop_execution", map[string]any{"execution_id": s.id}, nil); isErr {
			t.Errorf("stop own run %s: %s", s.id, text)
		}
	}
}
