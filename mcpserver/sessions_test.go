package mcpserver

import (
	"context"
	"fmt"
	"io"
	"net"
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

// openSessions opens n sessions with token, one after another (their
// last-use times differ, oldest first), and returns their ids.
func openSessions(t *testing.T, url, token string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		code, id := openSession(t, url, token)
		if code != http.StatusOK || id == "" {
			t.Fatalf("session %d: status %d id %q", i, code, id)
		}
		ids = append(ids, id)
		time.Sleep(10 * time.Millisecond) // distinct last-use times
	}
	return ids
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

// closedSoon reports whether a session stops answering within a few
// seconds: a session evicted to make room is closed once the new
// session's initialize is answered, without waiting for it.
func closedSoon(t *testing.T, url, token, id string) bool {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !usable(t, url, token, id) {
			return true
		}
	}
	return false
}

// liveSessionsSoon counts the server's live sessions once no more than
// want remain, or after a few seconds.
func liveSessionsSoon(srv *httpServer, want int) int {
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n = 0
		for range srv.srv.mcp.Sessions() {
			n++
		}
		if n <= want {
			break
		}
	}
	return n
}

// TestHTTPSessionCaps: a token past its cap loses its least recently used
// session, not the new one; the server past its cap refuses a new session
// and keeps every other client's.
func TestHTTPSessionCaps(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	tokB, b := mustToken(t, "b")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA, tokB}, MaxSessionsPerToken: 3, MaxSessions: 5})
	ids := openSessions(t, srv.url, a, 3)
	// The first is used again, so the second is now the least recently used.
	if !usable(t, srv.url, a, ids[0]) {
		t.Fatal("a's first session does not answer")
	}
	code, id4 := openSession(t, srv.url, a)
	if code != http.StatusOK {
		t.Fatalf("a's fourth session: status %d, want 200 after closing its least recently used", code)
	}
	if !closedSoon(t, srv.url, a, ids[1]) {
		t.Error("a's least recently used session still answers")
	}
	for _, i := range []int{0, 2} {
		if !usable(t, srv.url, a, ids[i]) {
			t.Errorf("a's session %d was closed", i)
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
	if live := liveSessionsSoon(srv, 5); live > 5 {
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
	ids := openSessions(t, srv.url, a, 2)
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
	if !closedSoon(t, srv.url, a, ids[0]) {
		t.Error("after a third client connected, the least recently used session still answers")
	}
	if !usable(t, srv.url, a, ids[1]) {
		t.Error("after a third client connected, the second session was closed too")
	}
}

// TestHTTPSessionCapsFailedInitialize: an initialize the SDK answers with
// an error makes no usable session, so it closes none of its client's.
func TestHTTPSessionCapsFailedInitialize(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA}, MaxSessionsPerToken: 2})
	ids := openSessions(t, srv.url, a, 2)
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":5}}`,
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":null}`,
	} {
		resp := post(t, srv.url, map[string]string{"Authorization": "Bearer " + a}, body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond) // room for a wrongful eviction to happen
		for i, id := range ids {
			if !usable(t, srv.url, a, id) {
				t.Fatalf("after a failed %s, session %d was closed", body, i)
			}
		}
	}
}

// TestHTTPSessionCapsSlowBodies: a client at its cap that trickles
// request bodies holds no reservation meanwhile, so it cannot lock other
// clients out of the server's free sessions.
func TestHTTPSessionCapsSlowBodies(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	tokB, b := mustToken(t, "b")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA, tokB}, MaxSessionsPerToken: 3, MaxSessions: 5})
	for i := range 3 {
		if code, _ := openSession(t, srv.url, a); code != http.StatusOK {
			t.Fatalf("a's session %d: status %d", i, code)
		}
	}
	host := strings.TrimPrefix(strings.TrimSuffix(srv.url, HTTPPath), "http://")
	for range 3 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
			"Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{", HTTPPath, host, a)
	}
	time.Sleep(300 * time.Millisecond) // the three bodies are being read
	resp := post(t, srv.url, map[string]string{"Authorization": "Bearer " + b}, initialize)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("b, with 3 of 5 sessions live and a's 3 bodies trickling: status %d %q, want 200", resp.StatusCode, body)
	}
}

// TestHTTPSessionCapsEvictionDoesNotWait: the session evicted for a new
// one may have a long poll in flight; the new session's initialize is
// answered without waiting for it.
func TestHTTPSessionCapsEvictionDoesNotWait(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tokA}, MaxSessionsPerToken: 1})
	cs := connectHTTP(t, srv.url, a, nil)
	defer cs.Close()
	var out execOut
	if text, isErr := call(t, cs, "exec_program", map[string]any{"program": "interval:s:100 { exit(); }", "timeout": 40}, &out); isErr {
		t.Fatal(text)
	}
	defer srv.mgr.Stop(context.Background(), out.ExecutionID)
	polled := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_result", Arguments: map[string]any{
			"execution_id": out.ExecutionID, "offset": 1 << 40, "wait_seconds": 8}})
		polled <- err
	}()
	time.Sleep(time.Second) // the long poll is in flight
	start := time.Now()
	code, _ := openSession(t, srv.url, a)
	if took := time.Since(start); code != http.StatusOK || took > 4*time.Second {
		t.Errorf("a new session while the evicted one long-polls: status %d after %s, want 200 at once", code, took.Round(time.Millisecond))
	}
	<-polled // ends with the session or its wait
}
