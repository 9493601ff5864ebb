package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// httpServer is a real server (real bpftrace, real SQLite) behind
// [Server.HTTPHandler] on a loopback port.
type httpServer struct {
	srv  *Server
	url  string
	mgr  *runner.Manager
	logs *testenv.SyncBuffer
}

func serveHTTPTest(t *testing.T, o HTTPOptions) *httpServer {
	t.Helper()
	bin := testenv.Bpftrace(t)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mcp.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(testenv.SyncBuffer)
	bridge := NewLogBridge(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log := slog.New(bridge)
	mgr, err := runner.New(runner.Options{Binary: bin, Store: db, Logger: log, Owner: testenv.Owner(t)})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(nil)
	val := validate.New(validate.Options{Binary: bin, Catalog: cat, Compiler: mgr})
	srv, err := New(Options{Runner: mgr, Catalog: cat, Binary: bin, Validator: val, Database: db.Path(), Logger: log, LogBridge: bridge})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.HTTPHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h) // 127.0.0.1, a free port
	t.Logf("serving %s", ts.URL)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Error(err)
		}
		ts.CloseClientConnections()
		ts.Close()
		if left := testenv.OwnProcesses(t, mgr.Owner()); len(left) > 0 {
			t.Errorf("processes left running: %v", left)
		}
		db.Close()
	})
	return &httpServer{srv: srv, url: ts.URL + HTTPPath, mgr: mgr, logs: logs}
}

// bearer adds a token to every request.
func httpClient(token string) *http.Client {
	if token == "" {
		return &http.Client{}
	}
	return &http.Client{Transport: testenv.Bearer{Token: token, Base: http.DefaultTransport}}
}

func connectHTTP(t *testing.T, url, token string, o *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, o).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: httpClient(token)}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func mustToken(t *testing.T, name string) (Token, string) {
	t.Helper()
	s := secret(t)
	tok, err := NewToken(name, s)
	if err != nil {
		t.Fatal(err)
	}
	return tok, s
}

// TestHTTPTrace: a client with a token runs a real trace over HTTP, hears
// its progress, and the history names the token.
func TestHTTPTrace(t *testing.T) {
	t.Parallel()
	tok, s := mustToken(t, "ops-laptop")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tok}})
	var progress sync.Map
	cs := connectHTTP(t, srv.url, s, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			progress.Store(r.Params.Progress, r.Params.Message)
		},
	})
	var probes listProbesOut
	if text, isErr := call(t, cs, "list_probes", map[string]any{"filter": "syscalls:*openat*", "limit": 5}, &probes); isErr {
		t.Fatal(text)
	}
	if probes.Count < 2 {
		t.Errorf("list_probes found %d probes", probes.Count)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{
		Name:      "exec_program",
		Arguments: map[string]any{"program": `interval:ms:200 { printf("tick\n"); }`, "timeout": 3, "wait": true},
		Meta:      mcp.Meta{"progressToken": "p1"},
	})
	if err != nil || res.IsError {
		t.Fatalf("exec_program: %v %v", err, res)
	}
	var out execOut
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Result == nil || out.Result.Status != runner.StatusCompleted || out.Result.EndReason != "timeout" || out.Result.LinesTotal < 10 {
		t.Fatalf("result %+v", out.Result)
	}
	n := 0
	progress.Range(func(_, msg any) bool {
		n++
		if !strings.Contains(msg.(string), "lines of output so far") {
			t.Errorf("progress message %q", msg)
		}
		return true
	})
	if n == 0 {
		t.Error("no progress notification over HTTP")
	}
	page, err := srv.mgr.Result(context.Background(), out.ExecutionID, runner.Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := "test 1 (session " + cs.ID() + ") (token ops-laptop)"; page.Execution.Client != want {
		t.Errorf("client recorded as %q, want %q", page.Execution.Client, want)
	}
	comp, err := cs.Complete(context.Background(), &mcp.CompleteParams{
		Ref:      &mcp.CompleteReference{Type: "ref/resource", URI: executionURIPrefix + "{id}"},
		Argument: mcp.CompleteParamsArgument{Name: "id", Value: out.ExecutionID[:3]},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{out.ExecutionID}, comp.Completion.Values); diff != "" {
		t.Errorf("completion of the execution id mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(srv.logs.String(), s) {
		t.Errorf("the token is in the log:\n%s", srv.logs.String())
	}
}

func post(t *testing.T, url string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestHTTPRejects: what does not pass, and with which status.
func TestHTTPRejects(t *testing.T) {
	t.Parallel()
	tokA, a := mustToken(t, "a")
	tokB, b := mustToken(t, "b")
	srv := serveHTTPTest(t, HTTPOptions{
		Tokens:              []Token{tokA, tokB},
		AllowedOrigins:      []string{"https://console.example.com"},
		MaxRequestBodyBytes: 64 << 10,
	})
	// A session opened with token a.
	resp := post(t, srv.url, map[string]string{"Authorization": "Bearer " + a}, initialize)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %s, session %q", resp.Status, session)
	}
	ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	for _, tt := range []struct {
		name     string
		header   map[string]string
		body     string
		wantCode int
		wantBody string
	}{
		{name: "no token", body: initialize, wantCode: 401},
		{name: "wrong token", header: map[string]string{"Authorization": "Bearer " + secret(t)}, body: initialize, wantCode: 401},
		{name: "token in the query is not a token", body: initialize, wantCode: 401},
		{name: "session of another token", header: map[string]string{"Authorization": "Bearer " + b, "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25"}, body: ping, wantCode: 403, wantBody: "session user mismatch"},
		{name: "own session", header: map[string]string{"Authorization": "Bearer " + a, "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25"}, body: ping, wantCode: 200},
		{name: "foreign origin", header: map[string]string{"Authorization": "Bearer " + a, "Origin": "https://evil.example"}, body: initialize, wantCode: 403, wantBody: "--allow-origin"},
		{name: "cross-site fetch", header: map[string]string{"Authorization": "Bearer " + a, "Sec-Fetch-Site": "cross-site"}, body: initialize, wantCode: 403},
		{name: "allowed origin", header: map[string]string{"Authorization": "Bearer " + a, "Origin": "https://console.example.com"}, body: initialize, wantCode: 200},
		{name: "DNS rebinding: foreign Host on loopback", header: map[string]string{"Authorization": "Bearer " + a, "Host": "evil.example"}, body: initialize, wantCode: 403, wantBody: "invalid Host"},
		{name: "body too large", header: map[string]string{"Authorization": "Bearer " + a}, body: `{"x":"` + strings.Repeat("a", 65<<10) + `"}`, wantCode: 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := srv.url
			if strings.HasPrefix(tt.name, "token in the query") {
				url += "?access_token=" + a
			}
			req, _ := http.NewRequest("POST", url, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if h, ok := tt.header["Host"]; ok {
				req.Host = h
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, bytes.TrimSpace(body), tt.wantCode)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
			if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
			for _, s := range []string{a, b} {
				if strings.Contains(string(body), s) {
					t.Errorf("response quotes a token: %q", body)
				}
			}
		})
	}
}

// TestHTTPLogging: a client that sets a log level hears the server's events.
func TestHTTPLogging(t *testing.T) {
	t.Parallel()
	srv := serveHTTPTest(t, HTTPOptions{})
	var mu sync.Mutex
	var msgs []string
	cs := connectHTTP(t, srv.url, "", &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			if d, ok := r.Params.Data.(map[string]any); ok {
				mu.Lock()
				msgs = append(msgs, fmt.Sprint(d["msg"]))
				mu.Unlock()
			}
		},
	})
	if err := cs.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	var out execOut
	if text, isErr := call(t, cs, "exec_program", map[string]any{"program": "BEGIN { exit(); }", "wait": true}, &out); isErr {
		t.Fatal(text)
	}
	want := []string{"execution started", "execution ended"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(msgs, "|")
		mu.Unlock()
		if strings.Contains(got, want[0]) && strings.Contains(got, want[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log messages %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	id   string
	data string
}

// readEvents reads events from an SSE body and hands each to f until f
// returns false or the stream ends.
func readEvents(r io.Reader, f func(sseEvent) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.data != "" && !f(ev) {
				return nil
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id:"):
			ev.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	return sc.Err()
}

// rpcMessage is a JSON-RPC message off the stream: a progress notification
// or the response.
type rpcMessage struct {
	ID     *int   `json:"id"`
	Method string `json:"method"`
	Params struct {
		Progress float64 `json:"progress"`
		Message  string  `json:"message"`
	} `json:"params"`
	Result *struct {
		StructuredContent execOut `json:"structuredContent"`
	} `json:"result"`
}

func eventIndex(t *testing.T, id string) (stream string, idx int) {
	t.Helper()
	stream, n, ok := strings.Cut(id, "_")
	idx, err := strconv.Atoi(n)
	if !ok || err != nil {
		t.Fatalf("event id %q is not stream_index", id)
	}
	return stream, idx
}

// TestHTTPResume: the SSE stream of a waiting exec_program is cut after two
// progress notifications; the client reconnects with Last-Event-ID and gets
// every event it missed, in order and without a gap, and the final result.
// The trace ran on meanwhile.
func TestHTTPResume(t *testing.T) {
	t.Parallel()
	tok, s := mustToken(t, "ops")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tok}})
	auth := map[string]string{"Authorization": "Bearer " + s}
	resp := post(t, srv.url, auth, initialize)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	auth["Mcp-Session-Id"] = resp.Header.Get("Mcp-Session-Id")
	auth["Mcp-Protocol-Version"] = "2025-11-25"
	resp = post(t, srv.url, auth, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %s", resp.Status)
	}

	const timeout = 5
	resp = post(t, srv.url, auth, fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"exec_program",
		"arguments":{"program":"interval:ms:100 { printf(\"tick %%d\\n\", elapsed / 1000000); }","timeout":%d,"wait":true},
		"_meta":{"progressToken":"p7"}}}`, timeout))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("tools/call answered %s %s", resp.Status, ct)
	}
	var before []sseEvent
	progress := 0
	if err := readEvents(resp.Body, func(ev sseEvent) bool {
		before = append(before, ev)
		var m rpcMessage
		if json.Unmarshal([]byte(ev.data), &m) == nil && m.Method == "notifications/progress" {
			progress++
		}
		return progress < 2
	}); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // the connection drops mid-stream
	cut := time.Now()
	last := before[len(before)-1].id
	t.Logf("cut after %d events (last %s)", len(before), last)
	time.Sleep(1500 * time.Millisecond) // events pile up while no one listens

	req, _ := http.NewRequest("GET", srv.url, nil)
	for k, v := range auth {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", last)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("resume: %s %s", resp.Status, b)
	}
	var after []sseEvent
	var final *execOut
	if err := readEvents(resp.Body, func(ev sseEvent) bool {
		after = append(after, ev)
		var m rpcMessage
		if json.Unmarshal([]byte(ev.data), &m) == nil && m.ID != nil && *m.ID == 7 && m.Result != nil {
			final = &m.Result.StructuredContent
			return false
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if final == nil {
		t.Fatalf("no result after resuming; got %d events", len(after))
	}

	// Every event once, in order: the indices run on without a gap.
	stream, prev := eventIndex(t, before[0].id)
	var progressAt []float64
	for i, ev := range append(before, after...) {
		s, idx := eventIndex(t, ev.id)
		if s != stream || (i > 0 && idx != prev+1) {
			t.Errorf("event %d has id %s after index %d of stream %s", i, ev.id, prev, stream)
		}
		prev = idx
		var m rpcMessage
		if json.Unmarshal([]byte(ev.data), &m) == nil && m.Method == "notifications/progress" {
			progressAt = append(progressAt, m.Params.Progress)
		}
	}
	if len(after) < 2 {
		t.Errorf("resumed with %d events; want the progress sent while away and the result", len(after))
	}
	for i := 1; i < len(progressAt); i++ {
		if progressAt[i] <= progressAt[i-1] {
			t.Errorf("progress went from %g to %g", progressAt[i-1], progressAt[i])
		}
	}
	r := final.Result
	if r == nil || r.Status != runner.StatusCompleted || r.EndReason != "timeout" {
		t.Fatalf("final result %+v", r)
	}
	// The run went on through the drop: it ran its full time and printed
	// ten lines a second throughout.
	if r.Duration < timeout-0.5 || r.LinesTotal < 10*timeout-10 {
		t.Errorf("run lasted %gs with %d lines; want about %ds and %d", r.Duration, r.LinesTotal, timeout, 10*timeout)
	}
	t.Logf("resumed %s after the cut: %d events replayed or streamed, %d progress notifications in all, %d lines",
		time.Since(cut).Round(time.Millisecond), len(after), len(progressAt), r.LinesTotal)
}

// TestHTTPConcurrentClients: 20 clients at once, each with its own session,
// list probes and run a short trace.
func TestHTTPConcurrentClients(t *testing.T) {
	t.Parallel()
	const clients = 20
	tok, s := mustToken(t, "ci")
	// One token for all of them: its session cap must hold them all, or
	// the server closes the least recently used ones (TestHTTPSessionCaps).
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tok}, MaxSessionsPerToken: clients})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			ctx := context.Background()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: fmt.Sprintf("client-%d", i), Version: "1"}, nil).Connect(ctx,
				&mcp.StreamableClientTransport{Endpoint: srv.url, HTTPClient: httpClient(s)}, nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: connect: %w", i, err)
				return
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_probes", Arguments: map[string]any{"filter": "syscalls:*openat*", "limit": 5}})
			if err != nil || res.IsError {
				errs <- fmt.Errorf("client %d: list_probes: %v %v", i, err, res)
				return
			}
			// The runner runs 4 at a time by default; a start beyond
			// that is refused, and a client would retry.
			var out execOut
			for try := 0; ; try++ {
				res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "exec_program", Arguments: map[string]any{
					"program": fmt.Sprintf(`BEGIN { printf("client %d\n"); exit(); }`, i)}})
				if err != nil {
					errs <- fmt.Errorf("client %d: exec_program: %w", i, err)
					return
				}
				if !res.IsError {
					b, _ := json.Marshal(res.StructuredContent)
					json.Unmarshal(b, &out)
					break
				}
				if try == 200 {
					errs <- fmt.Errorf("client %d: exec_program: %v", i, res.Content[0].(*mcp.TextContent).Text)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_result", Arguments: map[string]any{
				"execution_id": out.ExecutionID, "offset": 1 << 40, "wait_seconds": 30}}) // answers at the end
			if err != nil || res.IsError {
				errs <- fmt.Errorf("client %d: get_result: %v %v", i, err, res)
				return
			}
			var r getResultOut
			b, _ := json.Marshal(res.StructuredContent)
			json.Unmarshal(b, &r)
			if r.Status != runner.StatusCompleted {
				errs <- fmt.Errorf("client %d: result %+v", i, r)
				return
			}
			full, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_result", Arguments: map[string]any{"execution_id": out.ExecutionID}})
			if err != nil || full.IsError {
				errs <- fmt.Errorf("client %d: get_result: %v %v", i, err, full)
				return
			}
			b, _ = json.Marshal(full.StructuredContent)
			json.Unmarshal(b, &r)
			if want := fmt.Sprintf("client %d", i); len(r.Output) == 0 || r.Output[0] != want {
				errs <- fmt.Errorf("client %d: output %q, want %q first", i, r.Output, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHTTPStateless: without sessions, tools still work and there is no
// standing stream to open.
func TestHTTPStateless(t *testing.T) {
	t.Parallel()
	srv := serveHTTPTest(t, HTTPOptions{Stateless: true})
	cs := connectHTTP(t, srv.url, "", nil)
	var probes listProbesOut
	if text, isErr := call(t, cs, "list_probes", map[string]any{"filter": "sched:*", "limit": 3}, &probes); isErr {
		t.Fatal(text)
	}
	if len(probes.Probes) != 3 {
		t.Errorf("probes %v", probes.Probes)
	}
	req, _ := http.NewRequest("GET", srv.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s, want 405", resp.Status)
	}
}

// TestHTTPSlowBody: a client that trickles its request body is cut off
// after BodyTimeout, whether or not its token passed, and not held open
// for as long as it likes.
func TestHTTPSlowBody(t *testing.T) {
	t.Parallel()
	tok, s := mustToken(t, "ops")
	srv := serveHTTPTest(t, HTTPOptions{Tokens: []Token{tok}, BodyTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(strings.TrimSuffix(srv.url, HTTPPath), "http://")
	for _, tt := range []struct {
		name string
		auth string
		want int
	}{
		{"with the token", "Authorization: Bearer " + s + "\r\n", http.StatusRequestTimeout},
		{"without a token", "", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":", HTTPPath, addr, tt.auth)
			begin := time.Now()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("after %s: %v", time.Since(begin), err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got %s, want %d", resp.Status, tt.want)
			}
			// The server closes the connection rather than wait for the rest.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the answer: %v, want EOF", err)
			}
			if took := time.Since(begin); took > 5*time.Second {
				t.Errorf("connection held for %s; want about 300ms", took)
			}
		})
	}
}
