package mcpserver

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// LogBridge is a slog.Handler that writes to a base handler and also sends
// each record, as an MCP log message, to every session that set a log level.
// Those are server events (an execution started, ended, was killed), never
// trace output. It exists before the MCP server does, so that the packages
// built first can log through it; [New] attaches it.
type LogBridge struct {
	base  slog.Handler
	srv   *atomic.Pointer[mcp.Server]
	attrs []slog.Attr
	q     *logQueue
	// apart is set when the clients are not one user (HTTP with several
	// tokens): a record that names an execution or a client then goes only
	// to the sessions of the principal it names ("principal"), and stays
	// in the operator's log when it names none.
	apart *atomic.Bool
	// sessionPrincipal names the principal of a live session, for apart;
	// nil where sessions have no known principal (stateless HTTP).
	sessionPrincipal *atomic.Pointer[func(sessionID string) string]
}

// clientKeys are the attributes that tie a record to one client: its
// executions, its token, its address.
var clientKeys = []string{"execution_id", "execution", "pid", "owner", "client", "token", "remote", logPrincipalKey}

// logPrincipalKey is the attribute naming the principal a record is about
// (the runner's records of an execution carry its owner's name).
const logPrincipalKey = "principal"

// logMessage is a record on its way to the clients: to everyone, or, when
// to is set, to that principal's sessions only.
type logMessage struct {
	p  *mcp.LoggingMessageParams
	to string
}

// logQueue hands records to the clients from a goroutine of its own, in
// order, so that a client that does not read (a stalled stdio pipe, a slow
// HTTP stream) never blocks the code that logs, such as the end of an
// execution. The goroutine runs while there is something to send and then
// ends. When the queue is full, records are dropped for the clients (the
// base handler still has them).
type logQueue struct {
	mu      sync.Mutex
	pending []logMessage
	running bool
	// principalOf, when set, names a session's principal (for to).
	principalOf *atomic.Pointer[func(sessionID string) string]
}

// maxLogQueue is how many log messages may wait for the clients.
const maxLogQueue = 256

func (q *logQueue) push(s *mcp.Server, p logMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= maxLogQueue {
		return
	}
	q.pending = append(q.pending, p)
	if !q.running {
		q.running = true
		go q.drain(s)
	}
}

func (q *logQueue) drain(s *mcp.Server) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		p := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		var principalOf func(string) string
		if f := q.principalOf.Load(); f != nil {
			principalOf = *f
		}
		for ss := range s.Sessions() {
			if p.to != "" && (principalOf == nil || principalOf(ss.ID()) != p.to) {
				continue
			}
			// Log checks the session's level and sends nothing to a session
			// that set none.
			_ = ss.Log(context.Background(), p.p)
		}
	}
}

// NewLogBridge returns a bridge over base (where the log goes anyway: stderr).
func NewLogBridge(base slog.Handler) *LogBridge {
	principals := new(atomic.Pointer[func(string) string])
	return &LogBridge{base: base, srv: new(atomic.Pointer[mcp.Server]), q: &logQueue{principalOf: principals},
		apart: new(atomic.Bool), sessionPrincipal: principals}
}

func (b *LogBridge) attach(s *mcp.Server) { b.srv.Store(s) }

// keepClientsApart stops sending every client the records that name an
// execution or a client: one client must not learn when another runs
// what, nor the names of other tokens (issue 9, clients are isolated). A
// record about one principal's execution still reaches that principal's
// sessions, which principalOf names (nil: none is known, so such records
// stay in the operator's log).
func (b *LogBridge) keepClientsApart(principalOf func(sessionID string) string) {
	if principalOf != nil {
		b.sessionPrincipal.Store(&principalOf)
	}
	b.apart.Store(true)
}

// Enabled reports whether the base handler wants the record; clients get
// what the operator's level lets through, filtered again by their own level.
func (b *LogBridge) Enabled(ctx context.Context, l slog.Level) bool { return b.base.Enabled(ctx, l) }

func (b *LogBridge) Handle(ctx context.Context, r slog.Record) error {
	err := b.base.Handle(ctx, r)
	// Audit records name other clients (and their tokens' names): they are
	// for the operator's log, not for every session.
	if s := b.srv.Load(); s != nil && r.Level >= slog.LevelInfo && r.Message != "audit" {
		data := map[string]any{"msg": r.Message}
		for _, a := range b.attrs {
			data[a.Key] = a.Value.Any()
		}
		r.Attrs(func(a slog.Attr) bool {
			data[a.Key] = a.Value.Resolve().Any()
			return true
		})
		// An error value marshals as {}; send its text. Log messages do
		// not pass the last guard of the answers (capAnswers): a string
		// that quotes something from the host is escaped here.
		for k, v := range data {
			switch v := v.(type) {
			case error:
				data[k] = untrusted.Text(v.Error())
			case string:
				data[k] = untrusted.Text(v)
			}
		}
		msg := logMessage{p: &mcp.LoggingMessageParams{Logger: "bpftrace-mcp", Level: mcpLevel(r.Level), Data: data}}
		if b.apart.Load() && slices.ContainsFunc(clientKeys, func(k string) bool { _, ok := data[k]; return ok }) {
			to, _ := data[logPrincipalKey].(string)
			if to == "" || b.sessionPrincipal.Load() == nil {
				return err
			}
			msg.to = to
		}
		b.q.push(s, msg)
	}
	return err
}

func (b *LogBridge) WithAttrs(as []slog.Attr) slog.Handler {
	return &LogBridge{base: b.base.WithAttrs(as), srv: b.srv, attrs: append(append([]slog.Attr(nil), b.attrs...), as...), q: b.q, apart: b.apart, sessionPrincipal: b.sessionPrincipal}
}

// WithGroup is passed to the base handler; MCP log data stays flat.
func (b *LogBridge) WithGroup(name string) slog.Handler {
	return &LogBridge{base: b.base.WithGroup(name), srv: b.srv, attrs: b.attrs, q: b.q, apart: b.apart, sessionPrincipal: b.sessionPrincipal}
}

func mcpLevel(l slog.Level) mcp.LoggingLevel {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}
