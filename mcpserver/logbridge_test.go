package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestLogBridgeKeepsClientsApart: every session that set a log level
// hears the server's records; once the clients are not one user (HTTP
// with several tokens), the records that name an execution or a client
// (another client's runs, another token's name) are no longer sent, but
// for a record about a principal's own execution, to its sessions; and
// the strings of a record reach the client escaped.
func TestLogBridgeKeepsClientsApart(t *testing.T) {
	t.Parallel()
	for _, apart := range []bool{false, true} {
		bridge := NewLogBridge(slog.NewTextHandler(io.Discard, nil))
		srv := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
		bridge.attach(srv)
		var sid string // this test's session: alice's
		if apart {
			bridge.keepClientsApart(func(id string) string {
				if id == sid {
					return "alice"
				}
				return ""
			})
		}
		var mu sync.Mutex
		var heard []string
		ct, st := mcp.NewInMemoryTransports()
		ss, err := srv.Connect(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		sid = ss.ID()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, &mcp.ClientOptions{
			LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
				mu.Lock()
				d := r.Params.Data.(map[string]any)
				msg := fmt.Sprint(d["msg"])
				if d["err"] != nil {
					msg += fmt.Sprint(" ", d["err"], " ", d["path"])
				}
				heard = append(heard, msg)
				mu.Unlock()
			}}).Connect(context.Background(), ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
			t.Fatal(err)
		}
		log := slog.New(bridge)
		log.Info("execution started", "execution_id", "e1", "pid", 42)
		log.With("execution_id", "e2").Info("execution ended")
		log.Info("closed a client's least recently used session to make room for a new one", "token", "ops-laptop")
		log.Warn("rejected HTTP requests without a valid bearer token", "remote", "127.0.0.1:4000")
		log.Info("alice's run", "execution_id", "e3", "principal", "alice")
		log.Info("bob's run", "execution_id", "e4", "principal", "bob")
		log.Warn("the store is full") // names no client
		log.Warn("read failed\x1b[2J", "err", errors.New("not an ELF binary: /tmp/\u202ex"), "path", "/tmp/\x07")
		want := "execution started|execution ended|closed a client's least recently used session to make room for a new one|rejected HTTP requests without a valid bearer token|alice's run|bob's run|the store is full|read failed\\x1b[2J not an ELF binary: /tmp/\\u202ex /tmp/\\x07"
		if apart {
			want = "alice's run|the store is full|read failed\\x1b[2J not an ELF binary: /tmp/\\u202ex /tmp/\\x07"
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := strings.Join(heard, "|")
			mu.Unlock()
			if got == want {
				break
			}
			if time.Now().After(deadline) || len(got) > len(want) {
				t.Fatalf("apart=%v: heard %q, want %q", apart, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cs.Close()
		ss.Close()
	}
}
