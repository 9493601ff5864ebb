package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestStdioBadInput feeds the stdio transport what made the server exit
// before: garbage, a JSON-RPC 1.0 message, JSON nested 10,000 deep, a
// 17 MB frame, a batch, a truncated message. Each one with an id gets a
// JSON-RPC error with that id, the others are dropped, and the server
// answers the ping that follows all of them.
func TestStdioBadInput(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	srv := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- srv.Run(ctx, &guardedStdio{in: inR, out: outW, log: slog.New(slog.DiscardHandler)})
	}()

	deep := `{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`
	huge := `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"x","arguments":{"p":"` + strings.Repeat("A", 17<<20) + `"}}}`
	lines := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`hello, this is not JSON`,
		`{"jsonrpc":"1.0","id":2,"method":"ping"}`,
		deep,
		huge,
		`[{"jsonrpc":"2.0","id":5,"method":"ping"}]`,
		`{"jsonrpc":"2.0","id":"six","method":"ping",`,
		`{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/x", "params": ` + strings.Repeat("{", 100),
		``,
		`{"jsonrpc":"2.0","id":7,"method":"ping"}`,
	}
	go func() {
		for _, l := range lines {
			if _, err := io.WriteString(inW, l+"\n"); err != nil {
				return
			}
		}
	}()

	type answer struct {
		ID    any `json:"id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	got := map[string]answer{}
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			var a answer
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Errorf("server wrote %q: %v", sc.Text(), err)
				continue
			}
			id, _ := json.Marshal(a.ID)
			got[string(id)] = a
			if string(id) == "7" {
				return
			}
		}
	}()
	select {
	case <-done:
	case err := <-served:
		t.Fatalf("the server stopped serving: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no answer to the final ping")
	}

	for _, tt := range []struct {
		id   string
		code int
		says string
	}{
		{"1", 0, ""},
		{"2", -32600, "JSON-RPC 2.0"},
		{"3", -32600, "nested deeper than 64"},
		{"4", -32600, "the most this server reads is 1048576"},
		{`"six"`, -32700, "parse error"},
		{"7", 0, ""},
	} {
		a, ok := got[tt.id]
		switch {
		case !ok:
			t.Errorf("id %s: no answer", tt.id)
		case tt.code == 0 && (a.Error != nil || a.Result == nil):
			t.Errorf("id %s: got %+v, want a result", tt.id, a)
		case tt.code != 0 && (a.Error == nil || a.Error.Code != tt.code || !strings.Contains(a.Error.Message, tt.says)):
			t.Errorf("id %s: got error %+v, want code %d saying %q", tt.id, a.Error, tt.code, tt.says)
		}
	}
	// Batches, garbage, ids that are not ids and notifications are
	// dropped: nothing else was answered.
	if len(got) != 6 {
		t.Errorf("answers for %d ids, want 6: %v", len(got), got)
	}
	inW.Close()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Error("the server did not end at the end of input")
	}
}

func TestRecoverID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want any // nil: none
	}{
		{`{"jsonrpc":"2.0","id":5,"method":"x"}`, int64(5)},
		{`{"id":"a b","params":{"id":9}}`, "a b"},
		{`{"params":{"id":9,"more":[1,{"id":3}]},"id":12,`, int64(12)},
		{`{"params":{"id":9}}`, nil},
		{`{"method":"x","params":"AAAA`, nil},
		{`[{"id":1}]`, nil},
		{`{"id":null}`, nil},
		{`{"id":{"x":1}}`, nil},
		{`{"id":1.5}`, nil},
		{`garbage`, nil},
		{`{"a":1,"id":3`, int64(3)},
	} {
		id, ok := recoverID([]byte(tt.in))
		if tt.want == nil {
			if ok {
				t.Errorf("recoverID(%s) = %v, want none", tt.in, id.Raw())
			}
			continue
		}
		if !ok || id.Raw() != tt.want {
			t.Errorf("recoverID(%s) = %v %v, want %v", tt.in, id.Raw(), ok, tt.want)
		}
	}
}

func FuzzStdioScreen(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	f.Add(`{"jsonrpc":"1.0","id":"x"}`)
	f.Add(`[[[[{"id":1`)
	f.Fuzz(func(t *testing.T, in string) {
		g := &guardedStdio{log: slog.New(slog.DiscardHandler)}
		msg, ok := g.screen(nopConn{}, []byte(in), len(in), 4096)
		if ok {
			// What passes, the SDK decodes.
			if _, err := decodeForTest(msg); err != nil {
				t.Fatalf("passed %q, which does not decode: %v", msg, err)
			}
		}
		_, _ = recoverID([]byte(in))
	})
}

// nopConn is a connection that drops what is written to it.
type nopConn struct{}

func (nopConn) Read(context.Context) (jsonrpc.Message, error) { return nil, io.EOF }
func (nopConn) Write(context.Context, jsonrpc.Message) error  { return nil }
func (nopConn) Close() error                                  { return nil }
func (nopConn) SessionID() string                             { return "" }

func decodeForTest(b []byte) (jsonrpc.Message, error) { return jsonrpc.DecodeMessage(b) }
