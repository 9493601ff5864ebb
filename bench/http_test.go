package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// listArgs is the call both transports are timed with: a small filter, so
// that the figure is the transport's round trip more than the catalog's work.
var listArgs = map[string]any{"filter": "tracepoint:syscalls:sys_enter_openat*", "limit": 5}

var listeningRE = regexp.MustCompile(`msg=listening url=(\S+)`)

// startHTTPServer starts the built server on a loopback port the kernel
// picks, with n fresh operator tokens (one per client: the server caps the
// sessions of each token), and returns its URL and the tokens.
func startHTTPServer(t *testing.T, bin string, n int) (url string, tokens []string, pid int) {
	t.Helper()
	var file strings.Builder
	for i := range n {
		b := make([]byte, 24)
		rand.Read(b)
		tokens = append(tokens, hex.EncodeToString(b))
		fmt.Fprintf(&file, "client%d:operator:%s\n", i, tokens[i])
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--http", "127.0.0.1:0", "--tokens", path, "--db", filepath.Join(t.TempDir(), "bench.db"), "--log-level", "info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case url = <-found:
		return url, tokens, cmd.Process.Pid
	case <-time.After(30 * time.Second):
		t.Fatal("the HTTP server logged no url in 30 s")
		return "", nil, 0
	}
}

func connectHTTP(ctx context.Context, url, token string, tr http.RoundTripper) (*mcp.ClientSession, error) {
	return mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: testenv.Bearer{Token: token, Base: tr}}}, nil)
}

func listProbes(ctx context.Context, cs *mcp.ClientSession) error {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_probes", Arguments: listArgs})
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("list_probes: %v", res.Content[0].(*mcp.TextContent).Text)
	}
	return nil
}

// quantile of sorted durations, in milliseconds.
func quantile(sorted []time.Duration, q float64) float64 {
	return float64(sorted[int(q*float64(len(sorted)-1))].Microseconds()) / 1000
}

// TestBenchHTTPRoundTrip: a tool call's round trip over Streamable HTTP on
// loopback against the same call over stdio, in the same run, alternating.
func TestBenchHTTPRoundTrip(t *testing.T) {
	requireBench(t)
	b := build(t)
	stdio := startServer(t, b.server)
	url, tokens, _ := startHTTPServer(t, b.server, 1)
	ctx := context.Background()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cs, err := connectHTTP(ctx, url, tokens[0], tr)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	time1 := func(cs *mcp.ClientSession) time.Duration {
		begin := time.Now()
		if err := listProbes(ctx, cs); err != nil {
			t.Fatal(err)
		}
		return time.Since(begin)
	}
	for range 50 { // warm up both: connections, caches, the catalog's index
		time1(stdio.cs)
		time1(cs)
	}
	const n = 1000
	var overStdio, overHTTP []time.Duration
	for range n {
		overStdio = append(overStdio, time1(stdio.cs))
		overHTTP = append(overHTTP, time1(cs))
	}
	slices.Sort(overStdio)
	slices.Sort(overHTTP)
	ms, mh := quantile(overStdio, 0.5), quantile(overHTTP, 0.5)
	t.Logf("list_probes round trip, %d calls each, alternating: stdio median %.3f ms (p90 %.3f), HTTP on loopback median %.3f ms (p90 %.3f); HTTP/stdio = %.2f",
		n, ms, quantile(overStdio, 0.9), mh, quantile(overHTTP, 0.9), mh/ms)
}

// TestBenchHTTPConcurrentClients: 100 clients, each with its own token,
// connection and session, connect at once and list probes. All must
// succeed.
func TestBenchHTTPConcurrentClients(t *testing.T) {
	requireBench(t)
	b := build(t)
	const clients = 100
	url, tokens, pid := startHTTPServer(t, b.server, clients)
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		mu       sync.Mutex
		calls    []time.Duration // list_probes alone
		sessions []time.Duration // connect (initialize) + list_probes
		failed   []error
	)
	for i := range clients {
		wg.Go(func() {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			<-start
			begin := time.Now()
			cs, err := connectHTTP(ctx, url, tokens[i], tr)
			if err != nil {
				mu.Lock()
				failed = append(failed, fmt.Errorf("client %d: connect: %w", i, err))
				mu.Unlock()
				return
			}
			defer cs.Close()
			callBegin := time.Now()
			err = listProbes(ctx, cs)
			end := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, fmt.Errorf("client %d: %w", i, err))
				return
			}
			calls = append(calls, end.Sub(callBegin))
			sessions = append(sessions, end.Sub(begin))
		})
	}
	cpuBefore := cpuSeconds(pid)
	begin := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(begin)
	cpu := time.Duration((cpuSeconds(pid) - cpuBefore) * float64(time.Second))
	for _, err := range failed {
		t.Error(err)
	}
	slices.Sort(calls)
	slices.Sort(sessions)
	t.Logf("%d concurrent clients: %d succeeded in %s; the server used %s of CPU, %.2f ms a client (the clients, in this process, share the same %d cores)",
		clients, len(calls), took.Round(time.Millisecond), cpu.Round(time.Millisecond), msOf(cpu)/clients, runtime.NumCPU())
	if len(calls) > 0 {
		t.Logf("list_probes latency under that load: p50 %.2f ms, p99 %.2f ms, max %.2f ms", quantile(calls, 0.5), quantile(calls, 0.99), quantile(calls, 1))
		t.Logf("connect + list_probes: p50 %.2f ms, p99 %.2f ms, max %.2f ms", quantile(sessions, 0.5), quantile(sessions, 0.99), quantile(sessions, 1))
	}
}
