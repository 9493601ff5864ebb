package mcpserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// callRaw calls a tool and returns its result and its size as sent.
func callRaw(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (*mcp.CallToolResult, int) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return res, len(b)
}

func resultOf(t *testing.T, res *mcp.CallToolResult, out any) string {
	t.Helper()
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return res.Content[0].(*mcp.TextContent).Text
}

// TestAnswersWithinBudget: a run whose map has thousands of entries and
// whose output has thousands of lines answers within max_bytes, data and
// text together, its map's largest entries first, and pages the rest.
func TestAnswersWithinBudget(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	res, size := callRaw(t, cs, "exec_program", map[string]any{
		"program": `interval:ms:1 { @n = @n + 1; @m[@n] = @n; printf("tick %d -> <%d>\n", @n, @n * 2); } interval:ms:1500 { exit(); }`,
		"wait":    true,
	})
	var ex execOut
	text := resultOf(t, res, &ex)
	if res.IsError || ex.Result == nil || ex.Result.Status != "completed" {
		t.Fatalf("exec_program: %s", text)
	}
	if size > trace.DefaultAnswerBytes {
		t.Errorf("exec_program with wait answered %d bytes, budget %d", size, trace.DefaultAnswerBytes)
	}
	if strings.Contains(text, `\u003e`) || !strings.Contains(text, "tick 1 -> <2>") {
		t.Errorf("text escaped or lacks the lines:\n%.400s", text)
	}
	for _, budget := range []int{1024, 8192, 32768} {
		res, size := callRaw(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "max_bytes": budget})
		var out getResultOut
		text := resultOf(t, res, &out)
		if size > budget {
			t.Errorf("max_bytes %d: answered %d bytes", budget, size)
		}
		var m *trace.MapPage
		for _, mp := range out.Maps {
			if mp.Name == "@m" {
				m = mp
			}
		}
		if m == nil || m.EntriesTotal < 100 || !m.Truncated || out.HasMore != (out.NextOffset < out.LinesTotal) {
			t.Fatalf("max_bytes %d: %+v", budget, out)
		}
		for i := 1; i < len(m.Entries); i++ {
			if num(m.Entries[i-1].Value) < num(m.Entries[i].Value) {
				t.Fatalf("entries not most significant first: %v then %v", m.Entries[i-1].Value, m.Entries[i].Value)
			}
		}
		if budget == 32768 && (len(m.Entries) < 20 || out.LinesReturned < 20) {
			t.Errorf("the budget is not shared: %d entries, %d lines", len(m.Entries), out.LinesReturned)
		}
		if !strings.Contains(text, "more: get_result map=\"@m\" map_offset=") {
			t.Errorf("summary does not say how to read on:\n%.300s", text)
		}
		// The next page of the map starts where this one ended.
		var next getResultOut
		call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "map": "@m", "map_offset": len(m.Entries)}, &next)
		if len(next.Maps) != 1 || next.Maps[0].Offset != len(m.Entries) || len(next.Output) != 0 || len(next.Maps[0].Entries) == 0 ||
			len(m.Entries) > 0 && num(next.Maps[0].Entries[0].Value) > num(m.Entries[len(m.Entries)-1].Value) {
			t.Errorf("next page of @m: %+v", next.Maps)
		}
	}
	if text, isErr := call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "max_bytes": trace.DefaultCeiling + 1}, nil); !isErr || !strings.Contains(text, "max_bytes") {
		t.Errorf("max_bytes above the ceiling: %s", text)
	}
	if text, isErr := call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "map": "@nope"}, nil); !isErr || !strings.Contains(text, "@m") {
		t.Errorf("unknown map: %s", text)
	}
}

// TestExecWaitIsBounded: exec_program with wait answers by the bound with
// the run still going, and its id.
func TestExecWaitIsBounded(t *testing.T) {
	t.Parallel()
	cs := connectServer(t, nil, func(o *Options, _ *validate.Options) { o.MaxExecWait = 2 * time.Second })
	start := time.Now()
	res, _ := callRaw(t, cs, "exec_program", map[string]any{"program": `interval:ms:200 { printf("x\n"); }`, "timeout": 30, "wait": true})
	var ex execOut
	text := resultOf(t, res, &ex)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("answered after %s, bound 2s", took)
	}
	if res.IsError || ex.ExecutionID == "" || ex.Result == nil || ex.Result.Status != "running" || !strings.Contains(text, "still running") {
		t.Fatalf("bounded wait: %s", text)
	}
	call(t, cs, "stop_execution", map[string]any{"execution_id": ex.ExecutionID}, nil)
}

// TestFailedRunIsAnError: a run that fails after it started is reported as
// failed, never as a success.
func TestFailedRunIsAnError(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	res, _ := callRaw(t, cs, "exec_program", map[string]any{"program": `uprobe:/bin/bash:0x1 { @x = count(); } interval:s:1 { exit(); }`, "wait": true})
	text := res.Content[0].(*mcp.TextContent).Text
	var ex execOut
	resultOf(t, res, &ex)
	if !res.IsError || ex.Status == "success" {
		t.Fatalf("failed run reported as %s (isError %v): %s", ex.Status, res.IsError, text)
	}
	if ex.Result != nil && ex.Result.Status != "failed" {
		t.Errorf("result status %s", ex.Result.Status)
	}
}

func num(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return -1
}

func TestUnescapeHTML(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"args-\u003efilename \u003c\u0026"}`: `{"a":"args->filename <&"}`,
		`{"a":"\\u003e"}`:                          `{"a":"\\u003e"}`,
		`{"a":"\\\u003e"}`:                         `{"a":"\\>"}`,
		`{"a":"\u2028 \n"}`:                        `{"a":"\u2028 \n"}`,
		`\`:                                        `\`,
		`\u00`:                                     `\u00`,
	} {
		if got := unescapeHTML(in); got != want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestWaitNeverStopsMidDump: a program whose only output is the maps
// printed at its end (thousands of lines: a map keyed by every syscall's
// time, three times); a long-poll from offset 0 answers when the dump is
// complete, not at its first lines.
func TestWaitNeverStopsMidDump(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var ex execOut
	if text, isErr := call(t, cs, "exec_program", map[string]any{"program": `tracepoint:raw_syscalls:sys_enter { @a[nsecs] = 1; @b[nsecs] = 2; @c[nsecs] = 3; } interval:ms:1500 { exit(); }`, "timeout": 60}, &ex); isErr {
		t.Fatal(text)
	}
	var out getResultOut
	text, isErr := call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "wait_seconds": 60}, &out)
	if isErr {
		t.Fatal(text)
	}
	if out.Status != "completed" || out.LinesTotal < 3000 || out.Ending {
		t.Fatalf("the wait answered mid-dump: %s with %d lines, ending %v:\n%s", out.Status, out.LinesTotal, out.Ending, text)
	}
	if len(out.Maps) != 3 || out.Maps[0].EntriesTotal < 1000 || out.LinesTotal < int64(3*out.Maps[0].EntriesTotal) {
		t.Errorf("maps: %d, first %+v", len(out.Maps), out.Maps[0])
	}
}
