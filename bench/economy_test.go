package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The assistant-economy benchmark (issue 10): what an assistant pays, in
// bytes received, to answer ten everyday questions through the server,
// against what bpftrace's own text output of the same programs weighs,
// measured in the same run on the same workload.
//
// Goals: no response above maxResponseBytes (the default budget, 8,000
// tokens); where the raw text is large (largeRaw and more), the assistant
// receives at most half of it over the whole investigation.
const (
	maxResponseBytes = 32 << 10
	largeRaw         = 64 << 10
)

// call is one request an assistant makes; args may be filled in from the
// state of the investigation (a pid, an execution id) by prepare.
type call struct {
	tool string
	args map[string]any
	// prepare, when set, completes args before the call.
	prepare func(st *investigationState, args map[string]any)
	// background: the call starts a trace (and may wait for its end), so
	// the workload runs once the probes have had time to attach.
	background bool
	// after runs once the call returned, to keep what later calls need.
	after func(st *investigationState, structured map[string]any)
}

type investigationState struct {
	pid         int    // the target process, when the investigation has one
	executionID string // the last execution started
}

// investigation is one question: the calls an assistant makes, the
// workload that gives the trace something to see, and the raw bpftrace run
// it is measured against.
type investigation struct {
	name     string
	calls    []call
	workload string // sh -c, run while the trace runs
	// target starts a process that the investigation follows by pid.
	target string
	// raw is the program bpftrace runs alone, in text mode; rawSeconds how
	// long, SIGINT then ending it as the server's timeout does. rawList,
	// when set, is a bpftrace -l pattern whose listing counts as raw too.
	raw        string
	rawSeconds int
	rawList    string
}

// attachWait is how long after starting a trace the workload begins: time
// for bpftrace to attach its probes. The workload runs for at most
// workloadSeconds, and every trace (with the server or alone) for
// traceSeconds from its start.
const (
	attachWait      = 2500 * time.Millisecond
	workloadSeconds = 3
	traceSeconds    = 7
)

func execWait(program string, timeout int) call {
	return call{tool: "exec_program", args: map[string]any{"program": program, "timeout": timeout, "wait": true}, background: true,
		after: keepExecution}
}

func keepExecution(st *investigationState, m map[string]any) {
	if id, ok := m["execution_id"].(string); ok {
		st.executionID = id
	}
}

func withPID(st *investigationState, args map[string]any) {
	args["target"] = map[string]any{"pid": st.pid}
}

func withExecution(st *investigationState, args map[string]any) {
	args["execution_id"] = st.executionID
}

var investigations = []investigation{
	{
		name: "top openat callers",
		calls: []call{
			{tool: "list_probes", args: map[string]any{"filter": "syscalls:*openat*"}},
			execWait(`tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`, traceSeconds),
		},
		workload: `for i in $(seq 300); do cat /etc/hostname /etc/os-release >/dev/null; done`,
		raw:      `tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`, rawSeconds: traceSeconds,
	},
	{
		name:   "read sizes of one pid",
		target: `exec bash -c 'while :; do read -r -N 64 l < /etc/services; sleep 0.02; done'`,
		calls: []call{
			{tool: "describe_probe", args: map[string]any{"probe": "tracepoint:syscalls:sys_exit_read"}},
			{tool: "exec_program", args: map[string]any{"program": `tracepoint:syscalls:sys_exit_read { @bytes = hist(args->ret); }`, "timeout": traceSeconds, "wait": true},
				prepare: withPID, background: true, after: keepExecution},
		},
		raw:        `tracepoint:syscalls:sys_exit_read /pid == $1/ { @bytes = hist(args->ret); }`,
		rawSeconds: traceSeconds,
	},
	{
		name: "exec tracing",
		calls: []call{
			execWait(`tracepoint:syscalls:sys_enter_execve { printf("%d %s %s\n", pid, comm, str(args->filename)); }`, traceSeconds),
		},
		workload: `for i in $(seq 200); do /bin/true; done`,
		raw:      `tracepoint:syscalls:sys_enter_execve { printf("%d %s %s\n", pid, comm, str(args->filename)); }`, rawSeconds: traceSeconds,
	},
	{
		name: "signals",
		calls: []call{
			{tool: "list_probes", args: map[string]any{"filter": "tracepoint:signal:*"}},
			execWait(`tracepoint:signal:signal_generate { @[args->sig, comm] = count(); }`, traceSeconds),
		},
		workload: `for i in $(seq 100); do sleep 5 & kill -TERM $!; done; wait`,
		raw:      `tracepoint:signal:signal_generate { @[args->sig, comm] = count(); }`, rawSeconds: traceSeconds,
	},
	{
		name: "CPU profile",
		calls: []call{
			execWait(`profile:hz:99 { @[kstack] = count(); }`, traceSeconds),
		},
		workload: `while :; do ls -R /usr/share >/dev/null 2>&1; done`,
		raw:      `profile:hz:99 { @[kstack] = count(); }`, rawSeconds: traceSeconds,
	},
	{
		name: "dd write latency",
		calls: []call{
			execWait(`tracepoint:syscalls:sys_enter_write /comm == "dd"/ { @s[tid] = nsecs; }
tracepoint:syscalls:sys_exit_write /@s[tid]/ { @ns = hist(nsecs - @s[tid]); delete(@s[tid]); }`, traceSeconds),
		},
		workload: `dd if=/dev/zero of=/tmp/bpftrace-mcp-bench-dd bs=4k count=20000 2>/dev/null; rm -f /tmp/bpftrace-mcp-bench-dd`,
		raw: `tracepoint:syscalls:sys_enter_write /comm == "dd"/ { @s[tid] = nsecs; }
tracepoint:syscalls:sys_exit_write /@s[tid]/ { @ns = hist(nsecs - @s[tid]); delete(@s[tid]); }`, rawSeconds: traceSeconds,
	},
	{
		name: "bash uprobes",
		calls: []call{
			{tool: "list_probes", args: map[string]any{"filter": "uprobe:/bin/bash:*"}},
			{tool: "describe_probe", args: map[string]any{"probe": "uprobe:/bin/bash:execute_command"}},
			execWait(`uprobe:/bin/bash:execute_command { @[comm, pid] = count(); }`, traceSeconds),
		},
		workload: `for i in $(seq 50); do bash -c 'for j in 1 2 3; do x=$j; done'; done`,
		raw:      `uprobe:/bin/bash:execute_command { @[comm, pid] = count(); }`, rawSeconds: traceSeconds,
		rawList: "uprobe:/bin/bash:*",
	},
	{
		name: "per-process syscall latency",
		calls: []call{
			execWait(`tracepoint:raw_syscalls:sys_enter { @s[tid] = nsecs; @calls[args->id] = count(); }
tracepoint:raw_syscalls:sys_exit /@s[tid]/ { @lat[comm] = hist(nsecs - @s[tid]); delete(@s[tid]); }`, traceSeconds),
		},
		workload: `for i in $(seq 100); do ls /usr/bin >/dev/null; done`,
		raw: `tracepoint:raw_syscalls:sys_enter { @s[tid] = nsecs; @calls[args->id] = count(); }
tracepoint:raw_syscalls:sys_exit /@s[tid]/ { @lat[comm] = hist(nsecs - @s[tid]); delete(@s[tid]); }`, rawSeconds: traceSeconds,
	},
	{
		name: "common mistakes",
		calls: []call{
			{tool: "validate_program", args: map[string]any{"program": `tracepoint:syscalls:sys_enter_openat { @[args->filename] = count(); }`}},
			{tool: "validate_program", args: map[string]any{"program": `tracepoint:syscalls:sys_enter_openat { printf("%s\n", args->filename); }`}},
			{tool: "exec_program", args: map[string]any{"program": `tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }`,
				"target": map[string]any{"pid": 1 << 23}}},
			execWait(`tracepoint:syscalls:sys_enter_openat { @[str(args->filename)] = count(); }`, traceSeconds),
		},
		workload: `for i in $(seq 300); do cat /etc/hostname /etc/os-release >/dev/null; done`,
		// The mistake run as written: keyed by the addresses.
		raw: `tracepoint:syscalls:sys_enter_openat { @[args->filename] = count(); }`, rawSeconds: traceSeconds,
	},
	{
		name: "stop and history",
		calls: []call{
			{tool: "exec_program", args: map[string]any{"program": `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`, "timeout": 60},
				background: true, after: keepExecution},
			{tool: "stop_execution", args: map[string]any{}, prepare: withExecution},
			{tool: "list_executions", args: map[string]any{"limit": 10}},
			{tool: "get_result", args: map[string]any{}, prepare: withExecution},
		},
		workload: `for i in $(seq 100); do ls /usr/bin >/dev/null; done`,
		raw:      `tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`, rawSeconds: traceSeconds,
	},
}

// figures is what one investigation cost.
type figures struct {
	name     string
	calls    int
	bytes    int
	largest  int
	largeOf  string
	rawBytes int
	errors   []string
}

// TestBenchEconomy runs every investigation through the built server over
// stdio and through bpftrace alone, and prints the table.
func TestBenchEconomy(t *testing.T) {
	requireBench(t)
	b := build(t)
	s := startServer(t, b.server)
	ctx := context.Background()

	var all []figures
	// What every session pays before its first trace.
	disc := figures{name: "discovery (tools, resources, system_info)"}
	for _, f := range []func() (any, error){
		func() (any, error) { return s.cs.ListTools(ctx, nil) },
		func() (any, error) { return s.cs.ListResources(ctx, nil) },
		func() (any, error) { return s.cs.ListResourceTemplates(ctx, nil) },
		func() (any, error) {
			return s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "system_info", Arguments: map[string]any{}})
		},
	} {
		res, err := f()
		if err != nil {
			t.Fatal(err)
		}
		disc.add(t, fmt.Sprintf("%T", res), res)
	}
	all = append(all, disc)

	for _, inv := range investigations {
		all = append(all, runInvestigation(t, s, inv))
	}
	report(t, all)
}

func (f *figures) add(t *testing.T, what string, res any) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	f.calls++
	f.bytes += len(b)
	if len(b) > f.largest {
		f.largest, f.largeOf = len(b), what
	}
}

func runInvestigation(t *testing.T, s *server, inv investigation) figures {
	t.Helper()
	f := figures{name: inv.name}
	st := &investigationState{}
	if inv.target != "" {
		pid, stop := startTarget(t, inv.target)
		defer stop()
		st.pid = pid
	}
	ctx := context.Background()
	for _, c := range inv.calls {
		args := map[string]any{}
		for k, v := range c.args {
			args[k] = v
		}
		if c.prepare != nil {
			c.prepare(st, args)
		}
		done := make(chan struct{})
		var (
			res *mcp.CallToolResult
			err error
		)
		go func() {
			defer close(done)
			res, err = s.cs.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: args})
		}()
		if c.background {
			time.Sleep(attachWait)
			runWorkload(t, inv.workload)
		}
		<-done
		if err != nil {
			t.Fatalf("%s: %s: %v", inv.name, c.tool, err)
		}
		f.add(t, c.tool, res)
		if res.IsError {
			text := ""
			if len(res.Content) > 0 {
				if tc, ok := res.Content[0].(*mcp.TextContent); ok {
					text = tc.Text
				}
			}
			f.errors = append(f.errors, c.tool+": "+firstLine(text))
		}
		if c.after != nil {
			m := map[string]any{}
			if sb, err := json.Marshal(res.StructuredContent); err == nil {
				_ = json.Unmarshal(sb, &m)
			}
			c.after(st, m)
		}
	}
	f.rawBytes = rawText(t, inv, st.pid)
	return f
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// startTarget starts a process to follow by pid; stop kills its process
// group.
func startTarget(t *testing.T, script string) (pid int, stop func()) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}

func runWorkload(t *testing.T, script string) {
	t.Helper()
	if script == "" {
		return
	}
	// timeout ends a loop that would outlast the trace on a slow machine
	// (and the loops written to run until it does); its status 124 is not
	// a failure.
	cmd := exec.Command("timeout", strconv.Itoa(workloadSeconds), "sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil && cmd.ProcessState.ExitCode() != 124 {
		t.Logf("workload %q: %v\n%s", script, err, out)
	}
}

// rawText runs the investigation's program with bpftrace alone, in text
// mode, on the same workload, ends it with SIGINT rawSeconds after its
// start as the server's timeout does, and returns the bytes it printed on stdout (with
// the listing of rawList, when set).
func rawText(t *testing.T, inv investigation, pid int) int {
	t.Helper()
	total := 0
	if inv.rawList != "" {
		out, err := exec.Command("bpftrace", "-l", inv.rawList).Output()
		if err != nil {
			t.Logf("bpftrace -l %s: %v", inv.rawList, err)
		}
		total += len(out)
	}
	args := []string{"-e", inv.raw}
	if pid > 0 {
		args = append(args, strconv.Itoa(pid))
	}
	cmd := exec.Command("bpftrace", args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(attachWait)
	runWorkload(t, inv.workload)
	time.Sleep(time.Until(start.Add(time.Duration(inv.rawSeconds) * time.Second)))
	// A SIGINT that arrives while bpftrace is still starting (slow on a
	// loaded machine) is lost; one during its teardown is ignored. So it
	// is sent again until bpftrace ends.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Logf("raw bpftrace for %q: %v", inv.name, err)
			}
			return total + stdout.Len()
		case <-time.After(5 * time.Second):
		}
	}
}

// report prints the table and checks the goals.
func report(t *testing.T, all []figures) {
	t.Helper()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "investigation\tcalls\tbytes received\tlargest response\tbpftrace text\treceived/raw\t")
	var calls, bytes, raw int
	for _, f := range all {
		ratio := "-"
		if f.rawBytes > 0 {
			ratio = fmt.Sprintf("%.2f", float64(f.bytes)/float64(f.rawBytes))
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d (%s)\t%d\t%s\t\n", f.name, f.calls, f.bytes, f.largest, f.largeOf, f.rawBytes, ratio)
		calls += f.calls
		bytes += f.bytes
		raw += f.rawBytes
		for _, e := range f.errors {
			t.Logf("%s: tool error (expected where the investigation makes a mistake): %s", f.name, e)
		}
		if f.largest > maxResponseBytes {
			t.Errorf("%s: a response of %d bytes (%s), more than %d", f.name, f.largest, f.largeOf, maxResponseBytes)
		}
		if f.rawBytes >= largeRaw && 2*f.bytes > f.rawBytes {
			t.Errorf("%s: received %d bytes, more than half of bpftrace's %d", f.name, f.bytes, f.rawBytes)
		}
	}
	fmt.Fprintf(w, "total\t%d\t%d\t\t%d\t\t\n", calls, bytes, raw)
	_ = w.Flush()
	t.Logf("assistant economy (bytes are the JSON of each result):\n%s", b.String())
}
