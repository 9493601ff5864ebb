package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

type execIn struct {
	Program string        `json:"program" jsonschema:"the bpftrace program, e.g. 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'"`
	Timeout *int          `json:"timeout,omitempty" jsonschema:"seconds of tracing, from attach, then SIGINT (END runs, maps are kept): 1-300, default 10"`
	Target  *policy.Scope `json:"target,omitempty" jsonschema:"confine the run to one target: {\"pid\": N}, {\"comm\": \"name\"} or {\"cgroup\": \"/sys/fs/cgroup/...\"}; the server adds the predicate to every probe except BEGIN, END and interval"`
	Wait    bool          `json:"wait,omitempty" jsonschema:"wait for the end (at most the bound in the description) and return the first page in result; send a progress token to hear progress"`
}

type execOut struct {
	Status         string                `json:"status" jsonschema:"success when the program started, error when it did not"`
	ExecutionID    string                `json:"execution_id,omitempty" jsonschema:"pass to get_result and stop_execution"`
	Message        string                `json:"message"`
	TimeoutSeconds int                   `json:"timeout_seconds,omitempty"`
	Diagnostics    []validate.Diagnostic `json:"diagnostics,omitempty" jsonschema:"why the program was refused, with line, column and a hint"`
	Result         *getResultOut         `json:"result,omitempty" jsonschema:"with wait: the run's status and first page of output, as get_result returns them"`
}

type getResultIn struct {
	ExecutionID string  `json:"execution_id" jsonschema:"the id exec_program returned"`
	Offset      int64   `json:"offset,omitempty" jsonschema:"first line to return (0-based); pass next_offset from the previous page to continue"`
	Limit       int64   `json:"limit,omitempty" jsonschema:"most lines (1-10000, default 1000)"`
	MaxBytes    int     `json:"max_bytes,omitempty" jsonschema:"most bytes of the whole answer (see the description)"`
	WaitSeconds float64 `json:"wait_seconds,omitempty" jsonschema:"wait up to this long (0-60) for output past offset or the end"`
	Map         string  `json:"map,omitempty" jsonschema:"one map only, e.g. @opens (no lines)"`
	MapOffset   int     `json:"map_offset,omitempty" jsonschema:"with map: rank of the first entry"`
}

// getResultOut is what get_result answers (and exec_program with wait in
// result).
type getResultOut = trace.Result

type stopIn struct {
	ExecutionID string `json:"execution_id" jsonschema:"the id exec_program returned"`
}

type stopOut struct {
	ExecutionID  string  `json:"execution_id"`
	Status       string  `json:"status"`
	EndReason    string  `json:"end_reason,omitempty"`
	AlreadyEnded bool    `json:"already_ended" jsonschema:"true when the run had already ended before this request"`
	EndSkipped   bool    `json:"end_skipped,omitempty" jsonschema:"END did not run: bpftrace was killed after its stop budget (see message)"`
	Message      string  `json:"message"`
	LinesTotal   int64   `json:"lines_total"`
	Duration     float64 `json:"duration"`
}

type listExecutionsIn struct {
	Status string `json:"status,omitempty" jsonschema:"only running, completed or failed executions"`
	Limit  int    `json:"limit,omitempty" jsonschema:"most executions to return (1-500, default 20)"`
}

type executionSummary struct {
	ExecutionID string  `json:"execution_id"`
	Status      string  `json:"status"`
	EndReason   string  `json:"end_reason,omitempty"`
	StartedAt   string  `json:"started_at"`
	Duration    float64 `json:"duration"`
	LinesTotal  int64   `json:"lines_total"`
	Program     string  `json:"program" jsonschema:"the program's first line"`
}

type listExecutionsOut struct {
	Executions []executionSummary `json:"executions" jsonschema:"newest first"`
	Count      int                `json:"count"`
	Truncated  bool               `json:"truncated,omitempty" jsonschema:"older executions were left out to keep the answer within the byte budget; ask for fewer or filter by status"`
}

// statusMeanings says what an execution's status and end_reason values
// mean, once, in the descriptions of the tools that return them.
const statusMeanings = "status: running, completed or failed; end_reason: exit (the program called exit()), " +
	"timeout (ran its full time: a normal end), stopped (stop_execution), error, interrupted (the server went away)."

func (s *Server) addExecTools() {
	lim := s.o.Runner.Limits()
	addTool(s.mcp, &mcp.Tool{
		Name:  "exec_program",
		Title: "Run a bpftrace program",
		Description: fmt.Sprintf("Start a bpftrace program on this host and return its execution_id once attached. "+
			"It is checked as validate_program does (syntax, probes, policy; bpftrace's compiler is the run's own): "+
			"a problem is an error with line, column and a hint, and nothing runs. "+
			"Pass target to confine the run to one process, command name or cgroup. "+
			"The run ends when the program calls exit() or after timeout seconds of tracing (default %d, at most %d), when it is stopped "+
			"like Ctrl-C: END probes run and the maps are printed, and that is a normal end (status completed, end_reason timeout). "+
			"Read the output with get_result. At most %d runs at once. wait waits at most %d s.",
			int(lim.DefaultTimeout.Seconds()), int(lim.MaxTimeout.Seconds()), lim.MaxConcurrent, int(s.trace.MaxExecWait().Seconds())),
		Annotations: &mcp.ToolAnnotations{DestructiveHint: boolPtr(false), OpenWorldHint: boolPtr(false)},
	}, s.execProgram)
	addTool(s.mcp, &mcp.Tool{
		Name:  "get_result",
		Title: "Read a run's output",
		Description: fmt.Sprintf("Read an execution's status and output: lines from offset (as bpftrace prints them, maps included; next_offset continues) "+
			"and each map as typed data, most significant entries first, with summaries and percentiles; "+
			"all within max_bytes (default %d, at most %d). The first text line says what was cut and how to read it (map and map_offset page one map). "+
			"wait_seconds waits for output or the end, never mid map dump. "+statusMeanings, s.trace.Budget().Default, s.trace.Budget().Ceiling),
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.getResult)
	addTool(s.mcp, &mcp.Tool{
		Name:  "stop_execution",
		Title: "Stop a run",
		Description: "Stop a running execution the way Ctrl-C does: END probes run and the maps are printed and kept " +
			"(status completed, end_reason stopped). Waits until it has ended. Stopping a run that has already ended just says so.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: boolPtr(false), IdempotentHint: true, OpenWorldHint: boolPtr(false)},
	}, s.stopExecution)
	addTool(s.mcp, &mcp.Tool{
		Name:        "list_executions",
		Title:       "List runs",
		Description: "List executions, newest first, with status, end reason, start time, duration, lines of output and the program's first line. History survives server restarts. status and end_reason mean what get_result says.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.listExecutions)
}

func (s *Server) execProgram(ctx context.Context, req *mcp.CallToolRequest, in execIn) (*mcp.CallToolResult, execOut, error) {
	approver := newApprover(req, in)
	treq := trace.Request{Program: in.Program, Target: in.Target, Client: clientName(req), Approver: approver}
	if in.Timeout != nil {
		treq.Timeout = new(time.Duration(*in.Timeout) * time.Second)
	}
	p := principal(ctx)
	run, err := s.trace.Exec(ctx, p, treq)
	if ask, ok := errors.AsType[*trace.ApprovalRequired](err); ok {
		return approvalQuestion(approver.id, ask.Summary), execOut{}, nil
	}
	if refused, ok := errors.AsType[*trace.RefusedError](err); ok {
		return validationErrorResult(refused.Result)
	}
	if err != nil {
		return nil, execOut{}, err
	}
	id, timeout := run.Execution.ID, run.Timeout
	out := execOut{
		Status:         "success",
		ExecutionID:    id,
		TimeoutSeconds: int(timeout.Seconds()),
		Message: fmt.Sprintf("Started execution %s; it runs until it calls exit() or for at most %d seconds. "+
			"Read its output with get_result (execution_id %q; wait_seconds waits for output or the end).", id, int(timeout.Seconds()), id),
	}
	if !in.Wait {
		return textResult(out.Message), out, nil
	}
	bound := s.trace.MaxExecWait()
	// The result is fitted to the budget with room for what surrounds it:
	// the rest of the answer, and a message no longer than this one.
	reserve := jsonLen(out) + 2*len(out.Message) + 256
	res, err := s.trace.Wait(ctx, p, id, trace.WaitOptions{
		Progress: progressFunc(ctx, req, time.Now(), min(timeout, bound)),
		Reserve:  reserve,
	})
	if err != nil {
		return nil, execOut{}, err
	}
	out.Result = res
	isErr := false
	switch res.Status {
	case runner.StatusRunning:
		out.Message = fmt.Sprintf("Execution %s is still running after %d seconds, the longest exec_program waits (so that the client does not give up on the call); "+
			"its output so far is in result. Wait for the end with get_result (execution_id %q, wait_seconds up to 60), or stop it with stop_execution.",
			id, int(bound.Seconds()), id)
	case runner.StatusFailed:
		out.Status, isErr = "error", true
		out.Message = fmt.Sprintf("Execution %s failed (%s): %s", id, res.EndReason, res.ErrorMessage)
	default:
		out.Message = fmt.Sprintf("Execution %s ended: %s (%s). The first page of its output is in result; read more with get_result.", id, res.Status, res.EndReason)
	}
	tr := textResult(out.Message + "\n" + res.Text())
	tr.IsError = isErr
	return tr, out, nil
}

// textResult is a tool result whose text content is text: the SDK then
// sends it instead of the structured content as a JSON string.
func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// jsonLen is the size of v in JSON.
func jsonLen(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// progressFunc sends progress notifications to a client that sent a
// progress token: progress is the seconds elapsed (it must only grow), the
// message the lines of output so far.
func progressFunc(ctx context.Context, req *mcp.CallToolRequest, start time.Time, total time.Duration) func(int64, time.Duration) {
	if req == nil || req.Session == nil || req.Params == nil {
		return nil
	}
	token := req.Params.GetProgressToken()
	if token == nil {
		return nil
	}
	return func(lines int64, _ time.Duration) {
		elapsed := time.Since(start)
		_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
			ProgressToken: token,
			Progress:      elapsed.Seconds(),
			Total:         total.Seconds(),
			Message:       fmt.Sprintf("%d lines of output so far, %.1fs elapsed", lines, elapsed.Seconds()),
		})
	}
}

// validationErrorResult reports a refused program as a tool error whose text
// carries the diagnostics, with the same diagnostics as structured data.
func validationErrorResult(v *validate.Result) (*mcp.CallToolResult, execOut, error) {
	var b strings.Builder
	b.WriteString("The program was not started:")
	for _, d := range v.Diagnostics {
		if d.Severity == validate.Error {
			b.WriteString("\n" + d.String())
		}
	}
	b.WriteString("\nFix these and run it again (validate_program checks without running).")
	out := execOut{Status: "error", Message: b.String(), Diagnostics: v.Diagnostics}
	res := &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: b.String()}}}
	return res, out, nil
}

func (s *Server) getResult(ctx context.Context, req *mcp.CallToolRequest, in getResultIn) (*mcp.CallToolResult, getResultOut, error) {
	wait := time.Duration(in.WaitSeconds * float64(time.Second))
	out, err := s.trace.Result(ctx, principal(ctx), in.ExecutionID, trace.Query{
		Offset:    in.Offset,
		Limit:     in.Limit,
		MaxBytes:  in.MaxBytes,
		Wait:      wait,
		Map:       in.Map,
		MapOffset: in.MapOffset,
		Progress:  progressFunc(ctx, req, time.Now(), wait),
	})
	if err != nil {
		return nil, getResultOut{}, err
	}
	return textResult(out.Text()), *out, nil
}

func (s *Server) stopExecution(ctx context.Context, req *mcp.CallToolRequest, in stopIn) (*mcp.CallToolResult, stopOut, error) {
	res, err := s.trace.Stop(ctx, principal(ctx), in.ExecutionID, clientName(req))
	if err != nil {
		return nil, stopOut{}, err
	}
	e := res.Execution
	out := stopOut{
		ExecutionID:  e.ID,
		Status:       e.Status,
		EndReason:    e.EndReason,
		AlreadyEnded: res.AlreadyEnded,
		LinesTotal:   e.LinesTotal,
		Duration:     seconds(runner.ExecutionDuration(e, time.Now())),
	}
	if ran, stopped := runner.EndRan(e); stopped && !ran {
		out.EndSkipped = true
	}
	switch {
	case res.AlreadyEnded:
		out.Message = fmt.Sprintf("Execution %s had already ended (%s, %s); nothing to stop. Its output is still readable with get_result.", e.ID, e.Status, e.EndReason)
	case out.EndSkipped:
		out.Message = fmt.Sprintf("Stopped execution %s, but %s. Its output up to the stop (%d lines) is readable with get_result.", e.ID, strings.TrimSuffix(e.ErrorMessage, "."), e.LinesTotal)
	default:
		out.Message = fmt.Sprintf("Stopped execution %s: END ran and its maps are in the output (%d lines). Read them with get_result.", e.ID, e.LinesTotal)
	}
	return textResult(out.Message), out, nil
}

func (s *Server) listExecutions(ctx context.Context, _ *mcp.CallToolRequest, in listExecutionsIn) (*mcp.CallToolResult, listExecutionsOut, error) {
	es, err := s.trace.List(ctx, principal(ctx), store.ExecutionFilter{Status: in.Status, Limit: in.Limit})
	if err != nil {
		return nil, listExecutionsOut{}, err
	}
	now := time.Now()
	out := listExecutionsOut{Executions: make([]executionSummary, 0, len(es))}
	for _, e := range es {
		first, _, _ := strings.Cut(strings.TrimSpace(e.Program), "\n")
		out.Executions = append(out.Executions, executionSummary{
			ExecutionID: e.ID,
			Status:      e.Status,
			EndReason:   e.EndReason,
			StartedAt:   e.StartedAt.UTC().Format(time.RFC3339Nano),
			Duration:    seconds(runner.ExecutionDuration(e, now)),
			LinesTotal:  e.LinesTotal,
			Program:     first,
		})
	}
	text := out.text()
	// One budget for every answer: older executions go first.
	for len(out.Executions) > 0 && jsonLen(out)+jsonLen(text)+ceilingEnvelope*3 > s.trace.Budget().Default {
		out.Executions = out.Executions[:len(out.Executions)*9/10]
		out.Truncated = true
		text = out.text()
	}
	return textResult(text), out, nil
}

// text renders the list for a model: a line per execution.
func (out *listExecutionsOut) text() string {
	out.Count = len(out.Executions)
	var b strings.Builder
	fmt.Fprintf(&b, "%d executions, newest first", out.Count)
	if out.Truncated {
		b.WriteString(" (older ones left out to keep the answer small: ask for fewer, or filter by status)")
	}
	b.WriteString(":\n")
	for _, e := range out.Executions {
		fmt.Fprintf(&b, "%s %s", e.ExecutionID, e.Status)
		if e.EndReason != "" {
			fmt.Fprintf(&b, " (%s)", e.EndReason)
		}
		fmt.Fprintf(&b, " started %s, %.1fs, %d lines: %s\n", e.StartedAt, e.Duration, e.LinesTotal, e.Program)
	}
	return b.String()
}

func seconds(d time.Duration) float64 {
	return float64(d.Milliseconds()) / 1000
}

// principal is the caller the transport identified (withPrincipal puts it
// in every request's context). A request without one may do nothing: the
// zero Principal has no role.
func principal(ctx context.Context) access.Principal {
	p, _ := access.FromContext(ctx)
	return p
}

// clientName identifies the client for history and audit: its name and
// version from the initialize handshake, and over HTTP the name of the
// bearer token it presented ("claude-code 1.2 (token ops-laptop)"). The
// token's name, never the token: the client's own name is its say-so.
func clientName(req *mcp.CallToolRequest) string {
	if req == nil || req.Session == nil {
		return ""
	}
	var name string
	if p := req.Session.InitializeParams(); p != nil && p.ClientInfo != nil {
		name = strings.TrimSpace(p.ClientInfo.Name + " " + p.ClientInfo.Version)
	}
	// Over HTTP a session has an id, which tells two clients of the same
	// name apart in the audit log; over stdio the process is the session.
	if id := req.Session.ID(); id != "" {
		name = strings.TrimSpace(name + " (session " + id + ")")
	}
	if req.Extra != nil && req.Extra.TokenInfo != nil && req.Extra.TokenInfo.UserID != "" {
		name = strings.TrimSpace(name + " (token " + req.Extra.TokenInfo.UserID + ")")
		if c, ok := req.Extra.TokenInfo.Extra[onBehalfKey].(string); ok {
			name += " for " + c
		}
	}
	return name
}
