package mcpserver

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// openSession sends initialize with token and returns the HTTP status and
// the new session's id.
func openSession(t *testing.T, url, token string) (int, string) {
	t.Helper()
	resp := post(t, url, map[string]string{"Authorization": "Bearer " + token}, initialize)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(sessionHeader)
}

// usable reports whether a session still answers a ping.
func usable(t *testing.T, url, token, id string) bool {
	t.Helper()
	resp := post(t, url, map[string]string{"Authorization": "Bearer " + token, sessionHeader: id,
		"Mcp-Protocol-Version": "2025-11-25"}, `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestHTTPSessionCaps: a token past its cap loses its least recently used
// session, not the new one; the server past its cap refuses a new session
// and keeps every other client's.
func TestHTTPSessionCaps(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	tokB, b := mustToken(t, "b")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA, tokB}, MaxSessionsPerToken: 3, MaxSessions: 5})
	var ids []string
	for i := range 3 {
		code, id := openSession(t, srv.url, a)
		if code != http.StatusOK || id == "" {
			t.Fatalf("session %d of a: status %d id %q", i, code, id)
		}
		ids = append(ids, id)
		time.Sleep(10 * time.Millisecond) // distinct last-use times
	}
	// The first is used again, so the second is now the least recently used.
	if !usable(t, srv.url, a, ids[0]) {
		t.Fatal("a's first session does not answer")
	}
	code, id4 := openSession(t, srv.url, a)
	if code != http.StatusOK {
		t.Fatalf("a's fourth session: status %d, want 200 after closing its least recently used", code)
	}
	for i, want := range map[int]bool{0: true, 1: false, 2: true} {
		if got := usable(t, srv.url, a, ids[i]); got != want {
			t.Errorf("a's session %d usable = %v, want %v", i, got, want)
		}
	}
	if !usable(t, srv.url, a, id4) {
		t.Error("a's new session does not answer")
	}
	// a holds 3, b takes the 2 left; b's third is one past the server's cap.
	var bids []string
	for i := range 2 {
		code, id := openSession(t, srv.url, b)
		if code != http.StatusOK {
			t.Fatalf("b's session %d: status %d", i, code)
		}
		bids = append(bids, id)
	}
	resp := post(t, srv.url, map[string]string{"Authorization": "Bearer " + b}, initialize)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "the most it keeps") {
		t.Errorf("b past the server's cap: status %d %q, want 503 saying why", resp.StatusCode, body)
	}
	for _, id := range append([]string{ids[0], ids[2], id4}, bids...) {
		if !usable(t, srv.url, map[bool]string{true: a, false: b}[strings.Contains(strings.Join(ids, " ")+id4, id)], id) {
			t.Errorf("session %s was closed by another client's request", id)
		}
	}
}

// liveMemory is the heap and stacks in use after a collection: what the
// sessions hold. (The process's RSS would do outside the race detector,
// whose shadow memory grows with every allocation and is never returned.)
func liveMemory(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// TestHTTPInitializeFlood sends 15,000 initialize calls on loopback, as a
// client that never ends its sessions would: memory stays flat. The
// server runs in this process, so the figure includes the client's side.
func TestHTTPInitializeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("15,000 requests")
	}
	testenv.OnceAcrossReleases(t)
	tok, s := mustToken(t, "flood")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tok}})
	const calls = 15000
	// Warm up: connections, the SDK's caches, the first sessions.
	for range 200 {
		openSession(t, srv.url, s)
	}
	before := liveMemory(t)
	start := time.Now()
	for i := range calls {
		if code, _ := openSession(t, srv.url, s); code != http.StatusOK {
			t.Fatalf("initialize %d: status %d", i, code)
		}
	}
	took := time.Since(start)
	after := liveMemory(t)
	t.Logf("heap and stacks in use: %.1f MB before, %.1f MB after %d initialize calls (%s)", float64(before)/1e6, float64(after)/1e6, calls, took.Round(time.Millisecond))
	// Without the caps, this grew by 148 MB here (25 MB to 173 MB); with
	// them, by 8 MB.
	if grew := after - before; grew > 32<<20 {
		t.Errorf("memory in use grew by %.1f MB over %d initialize calls, want it flat", float64(grew)/1e6, calls)
	}
}

// TestHTTPSessionCapsConcurrent: a burst of initializes sent at once
// cannot all pass the caps before the first of them is answered.
func TestHTTPSessionCapsConcurrent(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	tokB, b := mustToken(t, "b")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA, tokB}, MaxSessionsPerToken: 3, MaxSessions: 5})
	const burst = 64
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   = map[string]int{}
		gate = make(chan struct{})
	)
	for i := range burst {
		tok := map[bool]string{true: a, false: b}[i%2 == 0]
		wg.Go(func() {
			<-gate
			if code, id := openSession(t, srv.url, tok); code == http.StatusOK && id != "" {
				mu.Lock()
				ok[tok]++
				mu.Unlock()
			}
		})
	}
	close(gate)
	wg.Wait()
	live := 0
	for range srv.srv.mcp.Sessions() {
		live++
	}
	if live > 5 {
		t.Errorf("%d sessions live after a burst of %d initializes, want at most the server's cap of 5", live, burst)
	}
	if ok[a] == 0 || ok[b] == 0 {
		t.Errorf("sessions opened per client: %v; each client should get at least one", ok)
	}
}

// TestHTTPSessionCapsSessionlessRequests: a sessionless POST that makes no
// session (a ping or a call before initialize, or the server/discover the
// Go SDK's client sends before it falls back to initialize) costs a
// client at its cap nothing; a client that connects closes exactly one
// session, the least recently used.
func TestHTTPSessionCapsSessionlessRequests(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA}, MaxSessionsPerToken: 2})
	var ids []string
	for i := range 2 {
		code, id := openSession(t, srv.url, a)
		if code != http.StatusOK || id == "" {
			t.Fatalf("session %d: status %d id %q", i, code, id)
		}
		ids = append(ids, id)
		time.Sleep(10 * time.Millisecond) // distinct last-use times
	}
	auth := map[string]string{"Authorization": "Bearer " + a}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`not json`,
	} {
		resp := post(t, srv.url, auth, body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if id := resp.Header.Get(sessionHeader); id != "" {
			t.Fatalf("%s made session %s", body, id)
		}
		for i, id := range ids {
			if !usable(t, srv.url, a, id) {
				t.Fatalf("after a sessionless %s (status %d), session %d was closed", body, resp.StatusCode, i)
			}
		}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "third", Version: "1"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: httpClient(a)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatalf("the new client: %v", err)
	}
	for i, want := range []bool{false, true} {
		if got := usable(t, srv.url, a, ids[i]); got != want {
			t.Errorf("after a third client connected, session %d usable = %v, want %v", i, got, want)
		}
	}
}
