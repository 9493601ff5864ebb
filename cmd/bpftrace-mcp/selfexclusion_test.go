package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// readTap prints, for every read(2) of cat or of the process with the pid
// SERVERPID (the server), the reader's pid and the first 512 bytes it read, in
// 64-byte slices (bpftrace's buf() limit).
const readTap = `tracepoint:syscalls:sys_enter_read { @b[tid] = args->buf; }
tracepoint:syscalls:sys_exit_read /@b[tid] != 0 && (comm == "cat" || pid == SERVERPID)/ {
  if (args->ret > 0) {
    printf("%d 0 %r\n", pid, buf(@b[tid], 64));
    printf("%d 1 %r\n", pid, buf(@b[tid] + 64, 64));
    printf("%d 2 %r\n", pid, buf(@b[tid] + 128, 64));
    printf("%d 3 %r\n", pid, buf(@b[tid] + 192, 64));
    printf("%d 4 %r\n", pid, buf(@b[tid] + 256, 64));
    printf("%d 5 %r\n", pid, buf(@b[tid] + 320, 64));
    printf("%d 6 %r\n", pid, buf(@b[tid] + 384, 64));
    printf("%d 7 %r\n", pid, buf(@b[tid] + 448, 64));
  }
  delete(@b[tid]);
}
interval:s:4 { exit(); }
`

// TestTracingTheServerShowsNoToken: two clients over HTTP, each with its
// own token. Client A runs a program that reads the data of every read(2)
// on the host (allowed here: the configuration takes syscall buffers out
// of the sensitive class, so that the exclusion is the only defence left)
// while client B keeps calling the server. A's output holds the data of a
// process outside the server, and not one 16-byte piece of B's token, nor
// any read of the server's process.
func TestTracingTheServerShowsNoToken(t *testing.T) {
	testenv.Bpftrace(t)
	t.Setenv(tokenEnv, "")
	dir := t.TempDir()
	marker := "OUTSIDE-MARKER-" + secret(t)[:12]
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A process outside the server's cgroup: started before the server
	// takes its own, so it stays where it is.
	outside := exec.Command("sh", "-c", "while :; do cat "+filepath.Join(dir, "marker")+" > /dev/null; sleep 0.05; done")
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = outside.Process.Kill(); _ = outside.Wait() })

	tokA, tokB := secret(t), secret(t)
	tokens := writeTokens(t, "alice:"+tokA+"\nbob:"+tokB+"\n", 0o600)
	cfg := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(cfg, []byte("[sensitive]\nsyscall_buffers = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--http", "127.0.0.1:0", "--tokens", tokens, "--config", cfg)
	alice := connect(t, srv.url, &http.Client{Transport: testenv.Bearer{Token: tokA, Base: http.DefaultTransport}})
	bob := connect(t, srv.url, &http.Client{Transport: testenv.Bearer{Token: tokB, Base: http.DefaultTransport}})

	info := callTool(t, alice, "system_info", nil)
	if ex, _ := info["self_exclusion"].(string); !strings.Contains(ex, "cgroup") {
		t.Skipf("the server has no cgroup of its own here: %s", ex)
	}

	// Bob keeps the server reading his token while Alice's trace runs.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_ = bob.Ping(ctx, nil)
			_, _ = bob.CallTool(ctx, &mcp.CallToolParams{Name: "list_executions", Arguments: map[string]any{}})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The program even asks for the server's pid by name.
	prog := strings.ReplaceAll(readTap, "SERVERPID", strconv.Itoa(os.Getpid()))
	res := callTool(t, alice, "exec_program", map[string]any{"program": prog, "wait": true, "timeout": 30})
	cancel()
	wg.Wait()
	id, _ := res["execution_id"].(string)
	var b strings.Builder
	for offset := 0.0; ; {
		out := callTool(t, alice, "get_result", map[string]any{"execution_id": id, "offset": offset, "limit": 10000})
		lines, _ := out["output"].([]any)
		for _, l := range lines {
			s, _ := l.(string)
			b.WriteString(s + "\n")
		}
		next, _ := out["next_offset"].(float64)
		if more, _ := out["has_more"].(bool); !more || next <= offset {
			break
		}
		offset = next
	}
	text := b.String()
	if !strings.Contains(text, marker[:14]) {
		t.Fatalf("the trace did not see the process outside the server read its file, so it proves nothing (%d bytes of output)", len(text))
	}
	for i := 0; i+16 <= len(tokB); i++ {
		if strings.Contains(text, tokB[i:i+16]) {
			t.Fatalf("Alice's trace holds a piece of Bob's token (%q)", tokB[i:i+16])
		}
	}
	if strings.Contains(text, tokA[:16]) {
		t.Error("Alice's trace holds a piece of her own token: the server's reads were traced")
	}
	server := fmt.Sprintf("\n%d ", os.Getpid())
	if strings.Contains("\n"+text, server) {
		t.Errorf("the trace saw reads of the server (pid %d)", os.Getpid())
	}
	t.Logf("%d lines traced, none of the server's", strings.Count(text, "\n"))
}
