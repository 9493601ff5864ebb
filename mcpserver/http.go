package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// HTTPPath is where [Server.HTTPHandler] serves MCP.
const HTTPPath = "/mcp"

// HTTPOptions configure [Server.HTTPHandler]. The zero value serves stateful
// sessions with resumable streams and no authentication.
type HTTPOptions struct {
	// Tokens are the bearer tokens accepted; empty means no authentication,
	// which only a server on a loopback address should run with.
	Tokens []Token
	// Stateless serves every request on its own: no sessions, so no stream
	// resumption, subscriptions or log messages between requests. For
	// clients of the 2026-07-28 protocol, which has no sessions.
	Stateless bool
	// AllowedOrigins are browser origins ("https://app.example.com") let
	// through the cross-origin check besides the server's own.
	AllowedOrigins []string
	// MaxRequestBodyBytes limits a request body; 0 means 1 MiB. The largest
	// legitimate request is a program of a few KiB.
	MaxRequestBodyBytes int64
	// SessionTimeout closes a session that sent no request for this long;
	// 0 means one hour, negative never.
	SessionTimeout time.Duration
	// MaxSessions caps the sessions open at once; past it a new session
	// is refused. 0 means 256.
	MaxSessions int
	// MaxSessionsPerToken caps the sessions of one token (or of everyone,
	// without tokens); a new session past it closes the token's least
	// recently used one. 0 means 16.
	MaxSessionsPerToken int
	// BodyTimeout bounds the time a client takes to send a request body; 0
	// means 30 seconds. (http.Server.ReadTimeout cannot do this: it also
	// ends the long-lived responses of SSE streams and long polls.)
	BodyTimeout time.Duration
}

const (
	defaultMaxRequestBody = 1 << 20
	defaultSessionTimeout = time.Hour
	defaultBodyTimeout    = 30 * time.Second
)

// HTTPHandler returns the Streamable HTTP transport of this server, at
// [HTTPPath]. In stateful mode a client whose SSE stream drops reconnects
// with Last-Event-ID and gets every message it missed, and the tool call
// goes on running meanwhile. Requests pass, in order: the cross-origin
// check, the bearer token, the body size and time limits, then the SDK's
// DNS rebinding protection (a request to a loopback address must name a
// loopback Host).
func (s *Server) HTTPHandler(o HTTPOptions) (http.Handler, error) {
	if o.MaxRequestBodyBytes <= 0 {
		o.MaxRequestBodyBytes = defaultMaxRequestBody
	}
	switch {
	case o.SessionTimeout == 0:
		o.SessionTimeout = defaultSessionTimeout
	case o.SessionTimeout < 0:
		o.SessionTimeout = 0
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = defaultBodyTimeout
	}
	cop := http.NewCrossOriginProtection()
	for _, origin := range o.AllowedOrigins {
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("allowed origin: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("Forbidden: cross-origin request from %q; a browser client's origin must be allowed with --allow-origin", r.Header.Get("Origin")), http.StatusForbidden)
	}))

	sdkOpts := &mcp.StreamableHTTPOptions{
		Stateless:           o.Stateless,
		Logger:              slog.New(floorHandler{s.log.Handler(), slog.LevelWarn}),
		SessionTimeout:      o.SessionTimeout,
		MaxRequestBodyBytes: o.MaxRequestBodyBytes,
	}
	if !o.Stateless {
		// Memory is enough: a stream is only resumed while this process,
		// and so the session, lives. The store caps itself (10 MiB),
		// dropping the oldest streams' events first.
		sdkOpts.EventStore = mcp.NewMemoryEventStore(nil)
	}
	var h http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, sdkOpts)
	var principalOf func(sessionID string) string
	if !o.Stateless {
		limiter := newSessionLimiter(s.mcp, o.MaxSessionsPerToken, o.MaxSessions, s.log)
		h = limiter.wrap(h)
		principalOf = limiter.principalOf
	}
	// The body is read before the limiter reserves anything: a client
	// trickling bodies must not hold reservations that lock others out.
	h = readBody(h, o.MaxRequestBodyBytes)
	if len(o.Tokens) > 1 && s.o.LogBridge != nil {
		// Every session hears the log: with several tokens, it must not
		// tell one client about another's executions.
		s.o.LogBridge.keepClientsApart(principalOf)
	}
	if len(o.Tokens) > 0 {
		h = requireToken(tokenSet(o.Tokens), s.log)(h)
	}
	h = cop.Handler(h)
	mux := http.NewServeMux()
	mux.Handle(HTTPPath, accessLog(h, s.log))
	return bodyDeadline(mux, o.BodyTimeout), nil
}

// bodyDeadline starts the clock on a request's body as soon as its headers
// are in, before the token is checked: net/http reads what is left of the
// body of a rejected request too, and must not wait on it forever.
// (http.Server.ReadTimeout cannot do this: it would also end the long-lived
// responses of SSE streams and long polls.) Only POSTs carry a body; a read
// deadline on a GET would end its stream.
func bodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// Unsupported only by test recorders.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request's body before the SDK does, within the size
// limit and the deadline bodyDeadline set, so that a slow client cannot
// hold a connection by trickling a body; the deadline is lifted before the
// (possibly long) response starts.
func readBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			// The deadline stays, so that net/http does not wait for the
			// rest of the body before it closes the connection.
			w.Header().Set("Connection", "close")
			http.Error(w, "request body: not received in time", http.StatusRequestTimeout)
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// accessLog logs each request at debug level. It logs the token's name,
// which the token check records in the request's [requestInfo], and never
// the Authorization header.
func accessLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := new(requestInfo)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		log.Debug("http request", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
			"status", sw.code(), "duration", time.Since(start).Round(time.Microsecond), "token", info.token)
	})
}

// requestInfo is what inner handlers learn about a request for the access log.
type requestInfo struct{ token string }

type requestInfoKey struct{}

func setRequestToken(ctx context.Context, name string) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		info.token = name
	}
}

// statusWriter records the response status. Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
