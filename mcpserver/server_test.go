package mcpserver

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// connect serves a real server (real bpftrace, real SQLite) to a go-sdk
// client over in-memory transports.
func connect(t *testing.T) *mcp.ClientSession {
	t.Helper()
	return connectWith(t, nil)
}

func connectWith(t *testing.T, copts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	return connectServer(t, copts, nil)
}

// connectServer is connectWith whose server options (policy, read-only)
// the test may change before the server is built.
func connectServer(t *testing.T, copts *mcp.ClientOptions, configure func(*Options, *validate.Options)) *mcp.ClientSession {
	t.Helper()
	return connectServerSession(t, copts, nil, configure)
}

// connectServerSession is connectServer with the client session's options
// (the protocol version, say).
func connectServerSession(t *testing.T, copts *mcp.ClientOptions, sopts *mcp.ClientSessionOptions, configure func(*Options, *validate.Options)) *mcp.ClientSession {
	t.Helper()
	bin := testenv.Bpftrace(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mcp.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := runner.New(runner.Options{Binary: bin, Store: db, Owner: testenv.Owner(t)})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(nil)
	vo := validate.Options{Binary: bin, Catalog: cat, Compiler: mgr}
	o := Options{Runner: mgr, Catalog: cat, Binary: bin, Database: db.Path(), Audit: audit.New(db, nil)}
	if configure != nil {
		configure(&o, &vo)
	}
	o.Validator = validate.New(vo)
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, copts).Connect(ctx, ct, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Error(err)
		}
		if left := testenv.OwnProcesses(t, mgr.Owner()); len(left) > 0 {
			t.Errorf("processes left running: %v", left)
		}
		db.Close()
	})
	return cs
}

// call calls a tool and decodes its structured output into out. It returns
// the text of the result and whether it was a tool error.
func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if out != nil && !res.IsError {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", name, b, err)
		}
	}
	return text, res.IsError
}

func TestTools(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.OutputSchema == nil || tool.Annotations == nil || tool.Description == "" {
			t.Errorf("tool %s lacks an output schema, annotations or a description", tool.Name)
		}
	}
	for _, want := range []string{"list_probes", "list_helpers", "exec_program", "get_result", "stop_execution", "list_executions",
		"describe_probe", "validate_program", "system_info"} {
		if !slices.Contains(names, want) {
			t.Errorf("tool %s missing from %v", want, names)
		}
	}
}

func TestListProbes(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	for _, tt := range []struct {
		filter string
		want   string
		min    int
	}{
		{"tracepoint:syscalls:*read*", "tracepoint:syscalls:sys_enter_read", 10},
		{"syscalls:*open*", "tracepoint:syscalls:sys_enter_openat", 4},
		{"sys_enter_openat", "tracepoint:syscalls:sys_enter_openat", 1},
		{"*sleep*", "tracepoint:syscalls:sys_enter_nanosleep", 4},
		{"uprobe:/bin/bash:readline", "uprobe:/bin/bash:readline", 1},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			var out listProbesOut
			if text, isErr := call(t, cs, "list_probes", map[string]any{"filter": tt.filter}, &out); isErr {
				t.Fatalf("error: %s", text)
			}
			if out.Count < tt.min || !slices.Contains(out.Probes, tt.want) {
				t.Errorf("count %d probes %v; want at least %d including %s", out.Count, out.Probes, tt.min, tt.want)
			}
		})
	}

	// Paging: count is the total; next_cursor walks every probe once.
	var all []string
	args := map[string]any{"filter": "tracepoint:syscalls:*", "limit": 100}
	total := -1
	for range 100 {
		var out listProbesOut
		if text, isErr := call(t, cs, "list_probes", args, &out); isErr {
			t.Fatal(text)
		}
		if total == -1 {
			total = out.Count
		}
		all = append(all, out.Probes...)
		if out.NextCursor == "" {
			break
		}
		args["cursor"] = out.NextCursor
	}
	if len(all) != total || total < 300 {
		t.Errorf("paged through %d probes, count said %d", len(all), total)
	}
	if text, isErr := call(t, cs, "list_probes", map[string]any{"filter": "x", "cursor": args["cursor"]}, nil); !isErr || !strings.Contains(text, "cursor belongs to filter") {
		t.Errorf("cursor with another filter: %v %s", isErr, text)
	}
	if text, isErr := call(t, cs, "list_probes", map[string]any{"limit": 0.5}, nil); !isErr {
		t.Errorf("fractional limit accepted: %s", text)
	}
}

func TestListHelpers(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var out listHelpersOut
	if text, isErr := call(t, cs, "list_helpers", nil, &out); isErr {
		t.Fatal(text)
	}
	kinds := map[string]bool{}
	unsafe := map[string]bool{}
	for _, h := range out.Helpers {
		kinds[h.Kind] = true
		if h.Unsafe {
			unsafe[h.Name] = true
		}
		if h.Signature == "" || h.Description == "" || strings.Contains(h.Description, "\n") {
			t.Errorf("helper %+v lacks a signature or a one-line description", h)
		}
	}
	if len(kinds) != 3 || out.BpftraceVersion != testenv.Version(t).String() {
		t.Errorf("kinds %v version %s", kinds, out.BpftraceVersion)
	}
	for _, n := range []string{"system", "signal", "override"} {
		if !unsafe[n] {
			t.Errorf("%s not marked unsafe", n)
		}
	}
	var maps listHelpersOut
	call(t, cs, "list_helpers", map[string]any{"kind": "map_function", "filter": "*hist"}, &maps)
	var got []string
	for _, h := range maps.Helpers {
		got = append(got, h.Name)
	}
	if !slices.Equal(got, []string{"hist", "lhist"}) {
		t.Errorf("map functions matching *hist = %v", got)
	}
}

// firstKeys returns the first key element of each entry of the map
// named name in out.
func firstKeys(out getResultOut, name string) []any {
	var keys []any
	for _, m := range out.Maps {
		if m.Name == name {
			for _, e := range m.Entries {
				keys = append(keys, e.Key[0])
			}
		}
	}
	return keys
}

func waitDone(t *testing.T, cs *mcp.ClientSession, id string) getResultOut {
	t.Helper()
	var offset int64
	for range 30 {
		var out getResultOut
		// Waiting past the output seen so far returns at the end at the latest.
		if text, isErr := call(t, cs, "get_result", map[string]any{"execution_id": id, "offset": offset, "wait_seconds": 5}, &out); isErr {
			t.Fatal(text)
		}
		offset = out.NextOffset
		if out.Status != "running" {
			call(t, cs, "get_result", map[string]any{"execution_id": id, "limit": 10000}, &out)
			return out
		}
	}
	t.Fatalf("execution %s did not end", id)
	return getResultOut{}
}

func TestTimeoutRunKeepsMaps(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var ex execOut
	text, isErr := call(t, cs, "exec_program", map[string]any{
		"program": `tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } interval:ms:100 { @ticks = count(); @h = hist(elapsed / 1000000); }`,
		"timeout": 2,
	}, &ex)
	if isErr || ex.Status != "success" || ex.ExecutionID == "" {
		t.Fatalf("exec_program: %s %+v", text, ex)
	}
	out := waitDone(t, cs, ex.ExecutionID)
	if out.Status != "completed" || out.EndReason != "timeout" || out.ErrorMessage != "" {
		t.Fatalf("status %s/%s %q, want completed/timeout", out.Status, out.EndReason, out.ErrorMessage)
	}
	if out.ProbesAttached == nil || *out.ProbesAttached != 2 {
		t.Errorf("probes_attached = %v, want 2", out.ProbesAttached)
	}
	joined := strings.Join(out.Output, "\n")
	for _, want := range []string{"@ticks: ", "@h: \n", "|@@@@", "@opens["} {
		if !strings.Contains(joined, want) {
			t.Errorf("output lacks %q:\n%s", want, joined)
		}
	}
	var names []string
	for _, m := range out.Maps {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"@h", "@opens", "@ticks"}) {
		t.Errorf("maps = %v", names)
	}
	if out.LinesReturned != len(out.Output) || out.LinesTotal != int64(len(out.Output)) || out.HasMore {
		t.Errorf("lines_returned %d lines_total %d has_more %v for %d lines", out.LinesReturned, out.LinesTotal, out.HasMore, len(out.Output))
	}
	if out.Duration < 2 || out.Duration > 15 {
		t.Errorf("duration %v", out.Duration)
	}
}

func TestExitAndPaging(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var ex execOut
	call(t, cs, "exec_program", map[string]any{"program": `BEGIN { printf("one\ntwo\nthree\n"); @x = 7; exit(); }`}, &ex)
	out := waitDone(t, cs, ex.ExecutionID)
	if out.Status != "completed" || out.EndReason != "exit" || out.ExitCode == nil || *out.ExitCode != 0 {
		t.Fatalf("%s/%s exit %v", out.Status, out.EndReason, out.ExitCode)
	}
	want := slices.Concat([]string{"one", "two", "three"}, testenv.ExitSeparator(t), []string{"@x: 7"})
	if !slices.Equal(out.Output, want) {
		t.Errorf("output %q, want %q", out.Output, want)
	}
	var page getResultOut
	call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "offset": 1, "limit": 2}, &page)
	if !slices.Equal(page.Output, []string{"two", "three"}) || !page.HasMore || page.NextOffset != 3 {
		t.Errorf("page = %+v", page)
	}
	var past getResultOut
	if text, isErr := call(t, cs, "get_result", map[string]any{"execution_id": ex.ExecutionID, "offset": 50}, &past); isErr {
		t.Fatalf("offset past the end is an error: %s", text)
	}
	if past.LinesReturned != 0 || past.HasMore || len(past.Output) != 0 || past.LinesTotal != int64(len(want)) {
		t.Errorf("past the end: %+v", past)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	for _, tt := range []struct {
		name string
		tool string
		args map[string]any
		want []string
	}{
		{"syntax error", "exec_program", map[string]any{"program": "BEGIN {\n  printf(\"x\" }"}, []string{"line 2, column 14", "syntax error"}},
		{"semantic error", "exec_program", map[string]any{"program": `BEGIN { printf("%d\n", "s"); }`}, []string{"line 1, column 9", "specifier"}}, // bpftrace's words: "%d specifier expects" (0.17), "unsupported format specifier" (0.27)
		{"unknown provider", "exec_program", map[string]any{"program": `foo:bar { }`}, []string{"line 1, column 1", `unknown probe type "foo"`, "hint:"}},
		{"kprobe here", "exec_program", map[string]any{"program": `kprobe:do_nanosleep { @ = count(); }`}, []string{"cannot attach on this host", "tracepoint:syscalls:sys_enter_nanosleep"}},
		{"missing field", "exec_program", map[string]any{"program": "tracepoint:syscalls:sys_enter_openat {\n  @[str(args->fname)] = count();\n}"}, []string{"line 2, column 9", "did you mean args->filename"}},
		{"timeout too long", "exec_program", map[string]any{"program": "BEGIN{exit()}", "timeout": 301}, []string{"between 1 and 300 seconds"}},
		{"timeout zero", "exec_program", map[string]any{"program": "BEGIN{exit()}", "timeout": 0}, []string{"out of range"}},
		{"missing program", "exec_program", map[string]any{}, []string{"program"}},
		{"unknown id", "get_result", map[string]any{"execution_id": "nosuchid"}, []string{`no execution with id "nosuchid"`, "list_executions"}},
		{"negative offset", "get_result", map[string]any{"execution_id": "x", "offset": -1}, []string{"negative"}},
		{"stop unknown", "stop_execution", map[string]any{"execution_id": "nosuchid"}, []string{"no execution with id"}},
		{"bad status", "list_executions", map[string]any{"status": "done"}, []string{"not one of running"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, isErr := call(t, cs, tt.tool, tt.args, nil)
			if !isErr {
				t.Fatalf("no tool error; got %s", text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error %q lacks %q", text, w)
				}
			}
		})
	}
	var list listExecutionsOut
	call(t, cs, "list_executions", nil, &list)
	if list.Count != 0 {
		t.Errorf("rejected programs created executions: %+v", list)
	}
}

func TestStopAndHistory(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	var a, b execOut
	call(t, cs, "exec_program", map[string]any{"program": `BEGIN { exit(); }`}, &a)
	waitDone(t, cs, a.ExecutionID)
	// exec_program answers once bpftrace has attached: the run is running.
	call(t, cs, "exec_program", map[string]any{"program": "interval:ms:50 { @n = count(); }\n// second line", "timeout": 60}, &b)
	var running listExecutionsOut
	call(t, cs, "list_executions", map[string]any{"status": "running"}, &running)
	if running.Count != 1 || running.Executions[0].ExecutionID != b.ExecutionID {
		t.Errorf("running = %+v", running)
	}
	var st stopOut
	if text, isErr := call(t, cs, "stop_execution", map[string]any{"execution_id": b.ExecutionID}, &st); isErr {
		t.Fatal(text)
	}
	if st.Status != "completed" || st.EndReason != "stopped" || st.AlreadyEnded {
		t.Errorf("stop = %+v", st)
	}
	var again stopOut
	call(t, cs, "stop_execution", map[string]any{"execution_id": b.ExecutionID}, &again)
	if !again.AlreadyEnded || !strings.Contains(again.Message, "already ended") {
		t.Errorf("second stop = %+v", again)
	}
	var all listExecutionsOut
	call(t, cs, "list_executions", nil, &all)
	if all.Count != 2 || all.Executions[0].ExecutionID != b.ExecutionID || all.Executions[0].Program != "interval:ms:50 { @n = count(); }" {
		t.Errorf("history = %+v", all)
	}
}
