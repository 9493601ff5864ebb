package mcpserver

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

func TestDescribeProbe(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var out describeOut
	if text, isErr := call(t, cs, "describe_probe", map[string]any{"probe": "t:syscalls:sys_enter_openat"}, &out); isErr {
		t.Fatal(text)
	}
	var names []string
	for _, a := range out.Args {
		names = append(names, a.Name)
	}
	if out.Probe != "tracepoint:syscalls:sys_enter_openat" || !out.Attachable || out.Stability != "stable" ||
		!slices.Equal(names, []string{"__syscall_nr", "dfd", "filename", "flags", "mode"}) || !strings.Contains(out.Listing, "const char * filename") {
		t.Errorf("describe = %+v", out)
	}
	var kp describeOut
	call(t, cs, "describe_probe", map[string]any{"probe": "kprobe:do_nanosleep"}, &kp)
	if kp.Attachable || kp.Reason == "" || kp.Stability != "unstable" {
		t.Errorf("kprobe describe = %+v", kp)
	}
	if text, isErr := call(t, cs, "describe_probe", map[string]any{"probe": "tracepoint:syscalls:sys_enter_opnat"}, nil); !isErr || !strings.Contains(text, "sys_enter_openat") {
		t.Errorf("misspelled probe: %v %s", isErr, text)
	}
}

func TestValidateProgram(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var ok validateOut
	call(t, cs, "validate_program", map[string]any{"program": "t:syscalls:sys_enter_read* { @[comm] = count(); }"}, &ok)
	if !ok.Valid || !ok.Compiled || ok.ProbeCount < 3 || len(ok.Probes) != 1 || ok.Probes[0].Count != ok.ProbeCount {
		t.Errorf("valid program: %+v", ok)
	}
	var bad validateOut
	if text, isErr := call(t, cs, "validate_program", map[string]any{"program": "BEGIN {\n  printf(\"%d\\n\", \"s\");\n}"}, &bad); isErr {
		t.Fatalf("an invalid program is a result, not a tool error: %s", text)
	}
	if bad.Valid || len(bad.Diagnostics) == 0 || bad.Diagnostics[0].Line != 2 || bad.Diagnostics[0].Column != 3 || bad.Diagnostics[0].Hint == "" {
		t.Errorf("invalid program: %+v", bad)
	}
	var list listExecutionsOut
	call(t, cs, "list_executions", nil, &list)
	if list.Count != 0 {
		t.Errorf("validation created executions: %+v", list)
	}
}

func TestSystemInfo(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var out map[string]any
	if text, isErr := call(t, cs, "system_info", nil, &out); isErr {
		t.Fatal(text)
	}
	b, _ := json.Marshal(out)
	var info struct {
		Bpftrace   struct{ Version string }
		Kernel     struct{ Release string }
		ProbeTypes []struct {
			Name      string
			Available bool
		} `json:"probe_types"`
		Privileges struct{ Mode string }
		Limits     struct {
			MaxConcurrent int `json:"max_concurrent"`
		}
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	avail := map[string]bool{}
	for _, p := range info.ProbeTypes {
		avail[p.Name] = p.Available
	}
	// This kind of host has no kprobes, no usable kfunc and no PMU. Raw
	// tracepoints came in 0.18, and need kernel BTF from 0.24.
	v := testenv.Version(t)
	_, btfErr := os.Stat("/sys/kernel/btf/vmlinux")
	rawtracepoint := v.Has(version.RawTracepoint) && (!v.AtLeast("0.24") || btfErr == nil)
	for name, want := range map[string]bool{"tracepoint": true, "uprobe": true, "usdt": true, "profile": true, "interval": true,
		"software": true, "kprobe": false, "kfunc": false, "hardware": false, "rawtracepoint": rawtracepoint} {
		if got, ok := avail[name]; !ok || got != want {
			t.Errorf("probe type %s available = %v (listed %v), want %v", name, got, ok, want)
		}
	}
	if info.Bpftrace.Version != v.String() || info.Kernel.Release == "" || info.Privileges.Mode != "root" || info.Limits.MaxConcurrent != 4 {
		t.Errorf("system_info = %s", b)
	}
}

func TestDocResourcesAndPrompts(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	ctx := context.Background()
	ref, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://reference"})
	if err != nil || !strings.Contains(ref.Contents[0].Text, "tracepoint") {
		t.Fatalf("reference: %v", err)
	}
	if !strings.Contains(ref.Contents[0].Text, "## The bpftrace in use: ") {
		t.Errorf("the reference is not written for the bpftrace in use")
	}
	idx, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://examples"})
	if err != nil {
		t.Fatal(err)
	}
	var examples []programIndexEntry
	if err := json.Unmarshal([]byte(idx.Contents[0].Text), &examples); err != nil {
		t.Fatal(err)
	}
	runnable := 0
	for _, e := range examples {
		if e.RunnableHere {
			runnable++
		} else if e.Why == "" {
			t.Errorf("example %s not runnable, without a reason", e.Name)
		}
	}
	if len(examples) < 20 || runnable < 15 || runnable == len(examples) {
		t.Errorf("%d examples, %d runnable here", len(examples), runnable)
	}
	ex, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: examples[0].URI})
	if err != nil || !strings.Contains(ex.Contents[0].Text, "{") {
		t.Errorf("example %s: %v", examples[0].URI, err)
	}
	tools, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://tools"})
	if err != nil {
		t.Fatal(err)
	}
	var ts []programIndexEntry
	json.Unmarshal([]byte(tools.Contents[0].Text), &ts)
	i := slices.IndexFunc(ts, func(e programIndexEntry) bool { return e.Name == "opensnoop" })
	j := slices.IndexFunc(ts, func(e programIndexEntry) bool { return e.Name == "tcpconnect" })
	if i < 0 || !ts[i].RunnableHere || j < 0 || ts[j].RunnableHere {
		t.Errorf("host tools: opensnoop and tcpconnect tags wrong: %+v", ts)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://tools/nosuch"}); err == nil {
		t.Error("unknown tool resource read without error")
	}

	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(prompts.Prompts) < 3 {
		t.Fatalf("prompts: %v %v", prompts, err)
	}
	p := prompts.Prompts[0]
	args := map[string]string{}
	for _, a := range p.Arguments {
		args[a.Name] = "1234"
	}
	got, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name, Arguments: args})
	if err != nil || len(got.Messages) != 1 || !strings.Contains(got.Messages[0].Content.(*mcp.TextContent).Text, "exec_program") {
		t.Errorf("prompt %s: %+v %v", p.Name, got, err)
	}
}

// TestProgressAndSubscription: a waiting get_result with a progress token
// brings progress notifications; a subscribed execution brings
// resources/updated while it runs and when it ends.
func TestProgressAndSubscription(t *testing.T) {
	t.Parallel()
	var updates, progress int
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	ended := make(chan struct{}, 10)
	cs := connectWith(t, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			<-mu
			updates++
			mu <- struct{}{}
			ended <- struct{}{}
		},
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			<-mu
			progress++
			mu <- struct{}{}
		},
	})
	ctx := context.Background()
	var ex execOut
	call(t, cs, "exec_program", map[string]any{"program": `interval:ms:200 { printf("tick\n"); }`, "timeout": 3}, &ex)
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "bpftrace://executions/" + ex.ExecutionID}); err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{
		Name:      "get_result",
		Arguments: map[string]any{"execution_id": ex.ExecutionID, "offset": 1 << 40, "wait_seconds": 10},
		Meta:      mcp.Meta{"progressToken": "p1"},
	})
	if err != nil || res.IsError {
		t.Fatalf("get_result: %v %+v", err, res)
	}
	time.Sleep(500 * time.Millisecond) // the final notification is sent after the result
	<-mu
	defer func() { mu <- struct{}{} }()
	if progress < 1 {
		t.Errorf("no progress notification during a 3 s wait")
	}
	if updates < 3 || updates > 3*4+2 {
		t.Errorf("%d resource updates for a 3 s run printing 5 lines/s; want a few, coalesced", updates)
	}
	r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://executions/" + ex.ExecutionID})
	if err != nil {
		t.Fatal(err)
	}
	var er executionResource
	json.Unmarshal([]byte(r.Contents[0].Text), &er)
	if er.Status != "completed" || len(er.Tail) < 5 || er.Tail[0] != "tick" {
		t.Errorf("execution resource = %+v", er)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "bpftrace://executions/nosuch"}); err == nil {
		t.Error("unknown execution resource read without error")
	}
}
