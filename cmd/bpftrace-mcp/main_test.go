package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// TestMain lets the test binary act as the server: started again with
// BPFTRACE_MCP_TEST_SERVER=1, it runs main's code with its arguments. The
// tests below drive it as a real process, over stdio, with a real client.
func TestMain(m *testing.M) {
	if os.Getenv("BPFTRACE_MCP_TEST_SERVER") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bpftrace-mcp:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type procServer struct {
	cs  *mcp.ClientSession
	cmd *exec.Cmd
}

// startProcServer starts the server as a process with args and connects a
// go-sdk client to it over stdio. The server runs the bpftrace under test.
func startProcServer(t *testing.T, args ...string) *procServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--bpftrace", testenv.Bpftrace(t).Path}, args...)...)
	cmd.Env = append(os.Environ(), "BPFTRACE_MCP_TEST_SERVER=1")
	cmd.Stderr = os.Stderr
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "cmd-test", Version: "1"}, nil).Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("start server %v: %v", args, err)
	}
	s := &procServer{cs: cs, cmd: cmd}
	t.Cleanup(func() { cs.Close() })
	return s
}

func (s *procServer) call(t *testing.T, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	var m map[string]any
	if b, err := json.Marshal(res.StructuredContent); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m, text, res.IsError
}

// TestServerKilledMidRun: SIGKILL of the server leaves no bpftrace running
// (parent-death signal), and after a restart the run reads failed /
// interrupted with the output it had.
func TestServerKilledMidRun(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	db := filepath.Join(t.TempDir(), "h.db")
	s := startProcServer(t, "--db", db, "--log-level", "warn")
	ex, text, isErr := s.call(t, "exec_program", map[string]any{"program": `interval:ms:100 { printf("tick\n"); }`, "timeout": 60})
	if isErr {
		t.Fatal(text)
	}
	id := ex["execution_id"].(string)
	r, _, _ := s.call(t, "get_result", map[string]any{"execution_id": id, "offset": 3, "wait_seconds": 10})
	if r["lines_total"].(float64) < 3 {
		t.Fatalf("no output before the kill: %v", r)
	}
	owner, err := bpftrace.OwnerOf(s.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if pids := testenv.OwnProcesses(t, owner); len(pids) == 0 {
		t.Fatalf("no bpftrace of server %s found before the kill", owner)
	}
	// The client's transport waits for the process; the test only kills it.
	s.cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for bpftrace.OwnerAlive(owner) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for len(testenv.OwnProcesses(t, owner)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pids := testenv.OwnProcesses(t, owner); len(pids) > 0 {
		t.Fatalf("bpftrace still running after its server was killed: %v", pids)
	}

	s2 := startProcServer(t, "--db", db, "--log-level", "warn")
	r2, _, _ := s2.call(t, "get_result", map[string]any{"execution_id": id})
	if r2["status"] != "failed" || r2["end_reason"] != "interrupted" {
		t.Errorf("after restart: %v/%v, want failed/interrupted", r2["status"], r2["end_reason"])
	}
	out := r2["output"].([]any)
	if len(out) < 3 || out[0] != "tick" {
		t.Errorf("output lost: %v", out)
	}
	list, _, _ := s2.call(t, "list_executions", nil)
	if list["count"].(float64) != 1 {
		t.Errorf("history after restart: %v", list)
	}
}

// mountTmpfs mounts a tmpfs for a test and unmounts it at the end.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("needs to mount a tmpfs (root, mount namespace): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestReadOnlyDatabase: with its database on a read-only disk, the server
// starts, says so in system_info, and still traces (history in memory).
func TestReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	dir := mountTmpfs(t, "ro,size=1m")
	s := startProcServer(t, "--db", filepath.Join(dir, "h.db"), "--log-level", "error")
	info, _, _ := s.call(t, "system_info", nil)
	if msg, _ := info["database_error"].(string); !strings.Contains(msg, "read-only file system") || !strings.Contains(msg, "in memory") {
		t.Errorf("system_info database_error = %q", msg)
	}
	ex, text, isErr := s.call(t, "exec_program", map[string]any{"program": `BEGIN { printf("still works\n"); exit(); }`, "wait": true})
	if isErr {
		t.Fatal(text)
	}
	res := ex["result"].(map[string]any)
	if res["status"] != "completed" || res["output"].([]any)[0] != "still works" {
		t.Errorf("run on a read-only disk: %v", res)
	}
}

// TestFullDisk: when the disk fills up mid-run, the run goes on, its
// result says the output could not be stored, and the server stays up.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	dir := mountTmpfs(t, "size=2m")
	s := startProcServer(t, "--db", filepath.Join(dir, "h.db"), "--log-level", "error")
	ex, text, isErr := s.call(t, "exec_program", map[string]any{
		"program": `interval:ms:10 { unroll(20) { printf("%080d\n", 1); } }`, "timeout": 4})
	if isErr {
		t.Fatal(text)
	}
	id := ex["execution_id"].(string)
	time.Sleep(500 * time.Millisecond)
	// Fill what is left of the disk.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(buf); err != nil {
			break
		}
	}
	filler.Close()
	var r map[string]any
	for range 20 {
		r, _, _ = s.call(t, "get_result", map[string]any{"execution_id": id, "offset": 1 << 40, "wait_seconds": 10})
		if r["status"] != "running" {
			break
		}
	}
	if r["status"] != "completed" || r["end_reason"] != "timeout" {
		t.Errorf("run on a full disk ended %v/%v", r["status"], r["end_reason"])
	}
	if msg, _ := r["error_message"].(string); !strings.Contains(msg, "disk is full") && !strings.Contains(msg, "could not be stored") {
		t.Errorf("result does not say the output could not be stored: %q", msg)
	}
	if r["lines_dropped"] == nil {
		t.Errorf("no lines counted as dropped: %v", r)
	}
	info, _, isErr := s.call(t, "system_info", nil)
	if isErr || info["database_error"] == nil {
		t.Errorf("system_info after the disk filled: %v", info["database_error"])
	}
}

// TestConfigFile: a configuration file widens and narrows the policy, and
// a typo in it stops the server with the key named.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(`
[limits]
max_timeout_seconds = 30
[probes]
providers = ["tracepoint", "BEGIN", "END", "interval"]
max_attach_points = 3
[cat]
paths = ["/proc/*/status"]
`), 0o600)
	s := startProcServer(t, "--config", cfg, "--db", filepath.Join(dir, "h.db"), "--log-level", "warn")
	for _, tt := range []struct {
		program string
		rule    string
	}{
		{`uprobe:/bin/bash:readline { @ = count(); }`, "probes.providers"},
		{`tracepoint:syscalls:sys_enter_read* { @ = count(); }`, "probes.max_attach_points"},
		{`BEGIN { cat("/proc/%d/status", pid); exit(); }`, ""},
		{`BEGIN { cat("/proc/%d/environ", pid); exit(); }`, "cat.paths"},
	} {
		v, _, _ := s.call(t, "validate_program", map[string]any{"program": tt.program})
		var rules []string
		for _, d := range v["diagnostics"].([]any) {
			if r, ok := d.(map[string]any)["rule"].(string); ok {
				rules = append(rules, r)
			}
		}
		if (tt.rule == "" && len(rules) > 0) || (tt.rule != "" && (len(rules) == 0 || rules[0] != tt.rule)) {
			t.Errorf("%s: rules %v, want %q", tt.program, rules, tt.rule)
		}
	}
	if _, text, isErr := s.call(t, "exec_program", map[string]any{"program": "BEGIN { exit(); }", "timeout": 31}); !isErr || !strings.Contains(text, "between 1 and 30") {
		t.Errorf("max_timeout from the file not applied: %s", text)
	}

	os.WriteFile(cfg, []byte("[probes]\nmax_atach_points = 5\n"), 0o600)
	bad := exec.Command(os.Args[0], "--config", cfg)
	bad.Env = append(os.Environ(), "BPFTRACE_MCP_TEST_SERVER=1")
	out, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "max_atach_points") {
		t.Errorf("a typo in the configuration was accepted: %v\n%s", err, out)
	}
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	var out strings.Builder
	if err := doctor(context.Background(), []string{"--bpftrace", testenv.Bpftrace(t).Path}, &out, &out); err != nil {
		t.Fatalf("doctor: %v\n%s", err, out.String())
	}
	for _, want := range []string{"[ok  ] bpftrace", "[ok  ] privileges", "[ok  ] tracefs", "[n/a ] probe type kprobe"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSampleConfig: the sample configuration shipped in deploy/ loads and
// gives exactly the defaults, so that it documents them truthfully.
func TestSampleConfig(t *testing.T) {
	c, err := parseFlags([]string{"--config", "../../deploy/bpftrace-mcp.toml"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c.config = ""
	if diff := cmp.Diff(d, c, cmp.AllowUnexported(config{}, httpFlags{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("sample configuration differs from the defaults (-defaults +sample):\n%s", diff)
	}
}

// TestConfigOverrides: a key present in the file replaces the default,
// even with an empty list (which widens the rule), an absent key does not,
// and a flag given on the command line wins over the file.
func TestConfigOverrides(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(cfg, []byte("[builtins]\ndeny = []\n[limits]\nmax_concurrent = 9\nmax_timeout_seconds = 60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseFlags([]string{"--config", cfg, "--max-concurrent", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.policy.DenyCalls) != 0 {
		t.Errorf("deny = [] kept %v", c.policy.DenyCalls)
	}
	if c.policy.MaxAttachPoints != 100 || c.policy.CatPaths != nil {
		t.Errorf("absent keys changed the policy: %+v", c.policy)
	}
	if c.limits.MaxConcurrent != 2 || c.limits.MaxTimeout != time.Minute {
		t.Errorf("limits = %+v: want the flag's 2 concurrent and the file's 60 s", c.limits)
	}
}

// TestSensitiveConfig: the sensitive class is configured from the file, and
// an approval mode that does not exist is refused.
func TestSensitiveConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("[sensitive]\napproval = \"elicit\"\nbinaries = [\"*/libfoo.so*\"]\naddresses = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseFlags([]string{"--config", good}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := c.policy.Sensitive
	if s.Approval != policy.ApprovalElicit || len(s.Binaries) != 1 || s.Addresses || !s.SyscallBuffers {
		t.Errorf("sensitive = %+v", s)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[sensitive]\napproval = \"ask\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFlags([]string{"--config", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "sensitive.approval") {
		t.Errorf("approval = \"ask\": got %v", err)
	}
}

// TestRestartReapsOwnLeftovers: a server started on a database kills the
// bpftrace that an earlier server on the same database left running (here a
// stand-in process marked as such), and leaves alone what a server on
// another database left.
func TestRestartReapsOwnLeftovers(t *testing.T) {
	t.Parallel()
	testenv.Bpftrace(t)
	db := filepath.Join(t.TempDir(), "h.db")
	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	gone := fmt.Sprintf("%d:1", dead.Process.Pid)
	leftover := func(scopeKey string) chan error {
		// sh -c keeps the marker as its $0 and $1, as bpftrace keeps it last.
		c := exec.Command("/bin/sh", append([]string{"-c", "sleep 60; :"}, bpftrace.OwnerMarker(gone, bpftrace.Scope(scopeKey))...)...)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
		ended := make(chan error, 1)
		go func() { ended <- c.Wait() }()
		return ended
	}
	own := leftover(db)
	other := leftover(filepath.Join(t.TempDir(), "other.db"))

	s := startProcServer(t, "--db", db, "--log-level", "warn")
	if _, text, isErr := s.call(t, "list_executions", nil); isErr {
		t.Fatal(text)
	}
	select {
	case <-own:
	case <-time.After(10 * time.Second):
		t.Error("the leftover of a server on the same database still runs after a restart")
	}
	select {
	case err := <-other:
		t.Errorf("the leftover of a server on another database was killed: %v", err)
	default:
	}
}
