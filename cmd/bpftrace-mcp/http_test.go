package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// secret returns a fresh random token: tests never carry a fixed one.
func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeTokens(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// server is the whole program (run) serving HTTP in this process.
type server struct {
	url    string
	db     string
	stderr *testenv.SyncBuffer
	stop   func() error // cancels run's context, as SIGTERM does, and waits for it
}

var urlRE = regexp.MustCompile(`msg=listening url=(\S+)`)

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	bin := testenv.Bpftrace(t)
	db := filepath.Join(t.TempDir(), "mcp.db")
	stderr := new(testenv.SyncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--db", db, "--bpftrace", bin.Path}, args...), io.Discard, stderr)
	}()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			return &server{url: m[1], db: db, stderr: stderr, stop: stop}
		}
		select {
		case err := <-done:
			t.Fatalf("run ended before serving: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no url logged:\n%s", stderr)
		}
	}
}

// runErr runs the program to its first error.
func runErr(t *testing.T, args ...string) error {
	t.Helper()
	bin := testenv.Bpftrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"--db", filepath.Join(t.TempDir(), "mcp.db"), "--bpftrace", bin.Path}, args...)
	err := run(ctx, args, io.Discard, io.Discard)
	if err == nil {
		t.Fatalf("run %q served and ended without an error", args)
	}
	return err
}

// TestRefusals: configurations refused at start, with a message that says
// what to do.
func TestRefusals(t *testing.T) {
	t.Setenv(tokenEnv, "")
	good := "ops:" + secret(t) + "\n"
	for _, tt := range []struct {
		name string
		env  string
		args []string
		want []string
	}{
		{name: "every interface without a token", args: []string{"--http", "0.0.0.0:0"}, want: []string{"not a loopback address", "export BPFTRACE_MCP_TOKEN=", "--tokens FILE"}},
		{name: "every interface, short form", args: []string{"--http", ":0"}, want: []string{"without authentication", "BPFTRACE_MCP_TOKEN"}},
		{name: "IPv6 any without a token", args: []string{"--http", "[::]:0"}, want: []string{"without authentication"}},
		{name: "tokens file readable by others", args: []string{"--http", "127.0.0.1:0", "--tokens", writeTokens(t, good, 0o644)}, want: []string{"chmod 600"}},
		{name: "tokens file readable by the group", args: []string{"--http", "127.0.0.1:0", "--tokens", writeTokens(t, good, 0o640)}, want: []string{"chmod 600"}},
		{name: "short token in the environment", env: "tooshort", args: []string{"--http", "127.0.0.1:0"}, want: []string{"BPFTRACE_MCP_TOKEN", "at least 16", "openssl rand -hex 32"}},
		{name: "certificate without key", args: []string{"--http", "127.0.0.1:0", "--tls-cert", "x.pem"}, want: []string{"--tls-cert and --tls-key go together"}},
		{name: "bad origin", args: []string{"--http", "127.0.0.1:0", "--allow-origin", "not a url"}, want: []string{"allowed origin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tokenEnv, tt.env)
			err := runErr(t, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.env != "" && strings.Contains(err.Error(), tt.env) {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}

func connect(t *testing.T, url string, hc *http.Client) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "cmdtest", Version: "1"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) map[string]any {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: %s", name, res.Content[0].(*mcp.TextContent).Text)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func status(t *testing.T, url, authorization string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokensNeverLogged: with the log at debug level, a session of clients
// with the right tokens and with wrong ones leaves the tokens' names in the
// log and never a token.
func TestTokensNeverLogged(t *testing.T) {
	envTok, fileTok, wrong := secret(t), secret(t), secret(t)
	t.Setenv(tokenEnv, envTok)
	path := writeTokens(t, "# the team\nops-laptop:"+fileTok+"\n", 0o600)
	srv := startServer(t, "--http", "127.0.0.1:0", "--tokens", path, "--log-level", "debug")

	for _, tok := range []string{envTok, fileTok} {
		cs := connect(t, srv.url, &http.Client{Transport: testenv.Bearer{Token: tok, Base: http.DefaultTransport}})
		callTool(t, cs, "list_probes", map[string]any{"filter": "syscalls:*openat*", "limit": 3})
		callTool(t, cs, "exec_program", map[string]any{"program": "BEGIN { exit(); }", "wait": true})
		cs.Close()
	}
	for _, a := range []string{"", "Bearer " + wrong, "Bearer " + envTok + fileTok, "Basic " + fileTok} {
		if got := status(t, srv.url, a); got != http.StatusUnauthorized {
			t.Errorf("Authorization %.12q...: status %d, want 401", a, got)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	logs := srv.stderr.String()
	for _, s := range []string{envTok, fileTok, wrong} {
		if strings.Contains(logs, s) {
			t.Fatalf("a token is in the log:\n%s", logs)
		}
	}
	for _, want := range []string{"level=DEBUG", "token=env", "token=ops-laptop", "rejected HTTP requests without a valid bearer token", "execution started", `auth="bearer tokens env, ops-laptop"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	t.Logf("%d lines of debug log, no token in them", strings.Count(logs, "\n"))
}

// TestShutdown: on SIGTERM (here: run's context ends) the server stops the
// running trace gracefully, answers the call waiting for it, records the
// run with its maps, and leaves no bpftrace behind.
func TestShutdown(t *testing.T) {
	t.Setenv(tokenEnv, "")
	srv := startServer(t, "--http", "127.0.0.1:0")
	cs := connect(t, srv.url, nil)
	ex := callTool(t, cs, "exec_program", map[string]any{"program": "interval:ms:50 { @ticks = count(); }", "timeout": 120})
	id := ex["execution_id"].(string)
	waited := make(chan map[string]any, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "get_result",
			Arguments: map[string]any{"execution_id": id, "offset": 1 << 40, "wait_seconds": 60}})
		if err != nil || res.IsError {
			t.Errorf("waiting get_result: %v %v", err, res)
			waited <- nil
			return
		}
		b, _ := json.Marshal(res.StructuredContent)
		var m map[string]any
		json.Unmarshal(b, &m)
		waited <- m
	}()
	time.Sleep(1500 * time.Millisecond)

	begin := time.Now()
	if err := srv.stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, srv.stderr)
	}
	took := time.Since(begin)
	t.Logf("shut down in %s", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	select {
	case m := <-waited:
		if m != nil && (m["status"] == "running" || m["end_reason"] != "interrupted") {
			t.Errorf("the waiting call was answered with %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Error("the waiting get_result got no answer")
	}
	owner, err := bpftrace.SelfOwner()
	if err != nil {
		t.Fatal(err)
	}
	if left := testenv.OwnProcesses(t, owner); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
	db, err := store.Open(context.Background(), srv.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := db.FindExecution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status == "running" || e.EndReason != "interrupted" || !strings.Contains(e.Maps, "@ticks") {
		t.Errorf("recorded %s/%s with maps %q; want ended, interrupted, with @ticks", e.Status, e.EndReason, e.Maps)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bpftrace-mcp test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	tok := secret(t)
	t.Setenv(tokenEnv, tok)
	cert, key, pool := selfSigned(t)
	srv := startServer(t, "--http", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("url %s", srv.url)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	cs := connect(t, srv.url, &http.Client{Transport: testenv.Bearer{Token: tok, Base: tr}})
	got := callTool(t, cs, "list_probes", map[string]any{"filter": "sched:*", "limit": 2})
	if got["count"].(float64) < 2 {
		t.Errorf("list_probes over TLS: %v", got)
	}
	// Plain HTTP to the TLS port is refused.
	if resp, err := http.Post(strings.Replace(srv.url, "https://", "http://", 1), "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %s", resp.Status)
		}
	}
}
