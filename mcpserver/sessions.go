package mcpserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Default caps on HTTP sessions. A session costs memory until it is
// closed or idles out, and each initialize makes one: without a cap, a
// client looping on initialize grows the server without bound.
const (
	defaultMaxSessions         = 256
	defaultMaxSessionsPerToken = 16
)

// sessionHeader names a request's session in Streamable HTTP.
const sessionHeader = "Mcp-Session-Id"

// sessionLimiter caps the live sessions of each token and of the server.
// A new session past its token's cap closes that token's least recently
// used session: a client that forgets to end its sessions then hurts only
// itself. A new session past the server's cap is refused: it
// cannot take another client's place.
type sessionLimiter struct {
	srv      *mcp.Server
	perToken int
	total    int
	log      *slog.Logger

	mu    sync.Mutex
	owner map[string]string    // session id → token name ("" without tokens)
	used  map[string]time.Time // session id → its last request
	// pending counts, per token, the sessionless POSTs (initialize, mostly)
	// admitted but not yet answered: their sessions exist only once the SDK
	// answers, so without this reservation a burst of concurrent
	// initializes would all pass the caps before any of them is counted.
	pending      map[string]int
	pendingTotal int
}

func newSessionLimiter(srv *mcp.Server, perToken, total int, log *slog.Logger) *sessionLimiter {
	if total <= 0 {
		total = defaultMaxSessions
	}
	if perToken <= 0 {
		perToken = defaultMaxSessionsPerToken
	}
	return &sessionLimiter{srv: srv, perToken: min(perToken, total), total: total, log: log,
		owner: map[string]string{}, used: map[string]time.Time{}, pending: map[string]int{}}
}

func (l *sessionLimiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := ""
		if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
			token = ti.UserID
		}
		if id := r.Header.Get(sessionHeader); id != "" {
			l.touch(id, token)
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if err := l.admit(token); err != nil {
			w.Header().Set("Retry-After", "60")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		sw := &settleWriter{ResponseWriter: w, settle: func(h http.Header) { l.settle(token, h.Get(sessionHeader)) }}
		defer sw.settleOnce()
		next.ServeHTTP(sw, r)
	})
}

// settle turns an admitted request's reservation into the session the SDK
// made for it (id), or frees it when the SDK made none: a sessionless POST
// that is not an initialize (server/discover, which the Go SDK's client
// sends before it falls back to initialize, or garbage) ends without one.
// It runs as the response's header goes out, so the session is counted
// before its client can use it, and a reservation is freed before the
// client's next request arrives.
//
// A session past its token's cap closes that token's least recently used
// one. This happens here, when a session exists, and not at admission: a
// request that makes no session must not cost its client a session.
func (l *sessionLimiter) settle(token, id string) {
	l.mu.Lock()
	l.pending[token]--
	if l.pending[token] == 0 {
		delete(l.pending, token)
	}
	l.pendingTotal--
	if id == "" {
		l.mu.Unlock()
		return
	}
	l.owner[id], l.used[id] = token, time.Now()
	mine, oldest := l.ownedLocked(token, id)
	var evict *mcp.ServerSession
	if mine > l.perToken && oldest != "" {
		delete(l.owner, oldest)
		delete(l.used, oldest)
		for ss := range l.srv.Sessions() {
			if ss.ID() == oldest {
				evict = ss
				break
			}
		}
	}
	l.mu.Unlock()
	if evict != nil {
		l.log.Info("closed a client's least recently used session to make room for a new one", "token", token, "sessions", mine, "max_per_token", l.perToken)
		_ = evict.Close()
	}
}

// ownedLocked counts token's sessions and names its least recently used
// one other than except. l.mu is held.
func (l *sessionLimiter) ownedLocked(token, except string) (n int, oldest string) {
	for id, tok := range l.owner {
		if tok != token {
			continue
		}
		n++
		if id != except && (oldest == "" || l.used[id].Before(l.used[oldest])) {
			oldest = id
		}
	}
	return n, oldest
}

// principalOf names the token (the principal) whose session id is; ""
// for a session it does not know.
func (l *sessionLimiter) principalOf(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner[id]
}

// touch records a request on session id. Only its own token's requests
// count: another token's is refused by the SDK, and must not keep the
// session from being the least recently used.
func (l *sessionLimiter) touch(id, token string) {
	l.mu.Lock()
	if tok, ok := l.owner[id]; ok && tok == token {
		l.used[id] = time.Now()
	}
	l.mu.Unlock()
}

// admit reserves room for the session a sessionless POST may create, or
// says why there is none. A request of a token at its cap is admitted: its
// session will take the place of the token's least recently used one.
func (l *sessionLimiter) admit(token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The snapshot is taken under the lock, after every settle has
	// registered its session: a session registered after an earlier
	// snapshot would otherwise look ended, be forgotten, and escape the
	// caps.
	live := map[string]bool{}
	for ss := range l.srv.Sessions() {
		live[ss.ID()] = true
	}
	// Forget the sessions that ended (closed, or idled out).
	for id := range l.owner {
		if !live[id] {
			delete(l.owner, id)
			delete(l.used, id)
		}
	}
	owned, _ := l.ownedLocked(token, "")
	inFlight := l.pending[token]
	if inFlight >= l.perToken {
		// Every slot of this token is a request still in flight: none of
		// them has a session to give up yet.
		return fmt.Errorf("this client is opening %d sessions at once, the most one client may hold: wait for them to be answered and reuse one", inFlight)
	}
	// Everything in flight is counted as a session to come, which errs
	// towards refusing near the server's cap rather than passing it.
	if total := len(l.owner) + l.pendingTotal; owned+inFlight < l.perToken && total >= l.total {
		return fmt.Errorf("the server has %d sessions open, the most it keeps: end sessions you no longer use (HTTP DELETE), or retry when idle ones have expired", total)
	}
	l.pending[token]++
	l.pendingTotal++
	return nil
}

// settleWriter calls settle once, with the response's header, just before
// that header is sent (or when the handler ends without sending one).
type settleWriter struct {
	http.ResponseWriter
	settle func(http.Header)
	once   sync.Once
}

func (w *settleWriter) settleOnce() { w.once.Do(func() { w.settle(w.ResponseWriter.Header()) }) }

func (w *settleWriter) WriteHeader(code int) {
	w.settleOnce()
	w.ResponseWriter.WriteHeader(code)
}

func (w *settleWriter) Write(b []byte) (int, error) {
	w.settleOnce()
	return w.ResponseWriter.Write(b)
}

func (w *settleWriter) Flush() {
	w.settleOnce()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *settleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
