package mcpserver

import (
	"fmt"
	"log/slog"
	"maps"
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
// itself. A new session past the server's cap is refused: it cannot take
// another client's place.
//
// A session is counted from the moment the SDK names it in the header of
// its initialize response, before its client can use it, and its token's
// least recently used session is closed once the initialize has succeeded:
// a request that makes no session (server/discover, which the Go SDK's
// client sends before it falls back to initialize, a ping before
// initialize, garbage) or a failed initialize must not cost a session.
type sessionLimiter struct {
	srv      *mcp.Server
	perToken int
	total    int
	log      *slog.Logger

	mu       sync.Mutex
	sessions map[string]*liveSession // by session id
	// pending counts, per token, the sessionless POSTs (initialize, mostly)
	// admitted but not yet answered: their sessions exist only once the SDK
	// answers, so without this reservation a burst of concurrent
	// initializes would all pass the caps before any of them is counted.
	pending map[string]int
}

// liveSession is what the limiter knows of a session.
type liveSession struct {
	token string    // its token's name ("" without tokens)
	used  time.Time // its last request
	// ready: its initialize has succeeded. Only a ready session may be
	// closed to make room: one whose initialize is still being answered
	// would leave that answer, and the session, hanging.
	ready bool
}

func newSessionLimiter(srv *mcp.Server, perToken, total int, log *slog.Logger) *sessionLimiter {
	if total <= 0 {
		total = defaultMaxSessions
	}
	if perToken <= 0 {
		perToken = defaultMaxSessionsPerToken
	}
	return &sessionLimiter{srv: srv, perToken: min(perToken, total), total: total, log: log,
		sessions: map[string]*liveSession{}, pending: map[string]int{}}
}

// wrap puts the limiter in front of the SDK's handler. It must come after
// the body has been read (readBody): a reservation is then held only
// while the SDK works, never while a client trickles a body.
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
		var id string
		sw := &settleWriter{ResponseWriter: w, settle: func(h http.Header) {
			id = h.Get(sessionHeader)
			l.register(token, id)
		}}
		defer func() {
			sw.settleOnce() // the handler may have sent no header
			l.initialized(token, id)
		}()
		next.ServeHTTP(sw, r)
	})
}

// register turns an admitted request's reservation into the session the
// SDK made for it (id), or frees it when the SDK made none. It runs as the
// response's header goes out: the session is counted before its client
// can use it, and a reservation is freed before the client's next request.
func (l *sessionLimiter) register(token, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending[token]--
	if l.pending[token] == 0 {
		delete(l.pending, token)
	}
	if id != "" {
		l.sessions[id] = &liveSession{token: token, used: time.Now()}
	}
}

// initialized runs when the SDK is done with the request that made session
// id. An initialize that failed leaves a session the SDK has closed: it is
// forgotten. One that succeeded makes the session ready and, past its
// token's cap, closes the token's least recently used ready sessions.
func (l *sessionLimiter) initialized(token, id string) {
	if id == "" {
		return
	}
	l.mu.Lock()
	live := l.liveLocked()
	me := l.sessions[id]
	if me == nil {
		// Closed to make room meanwhile, or forgotten as ended.
		l.mu.Unlock()
		return
	}
	if ss := live[id]; ss == nil || ss.InitializeParams() == nil {
		delete(l.sessions, id)
		l.mu.Unlock()
		return
	}
	me.ready = true
	var evict []*mcp.ServerSession
	for {
		mine, oldest := l.ownedLocked(token, id)
		if mine <= l.perToken || oldest == "" {
			break
		}
		delete(l.sessions, oldest)
		if ss := live[oldest]; ss != nil {
			evict = append(evict, ss)
		}
	}
	l.mu.Unlock()
	for _, ss := range evict {
		l.log.Info("closed a client's least recently used session to make room for a new one", "token", token, "max_per_token", l.perToken)
		// Close waits for the session's requests in flight (a long poll
		// may last a minute); the new session must not wait for them.
		go ss.Close()
	}
}

// liveLocked returns the SDK's live sessions by id. l.mu is held: taken
// under the lock, the snapshot includes every session registered so far,
// so none looks ended and is forgotten (escaping the caps), and one made
// ready meanwhile can still be closed.
func (l *sessionLimiter) liveLocked() map[string]*mcp.ServerSession {
	live := map[string]*mcp.ServerSession{}
	for ss := range l.srv.Sessions() {
		live[ss.ID()] = ss
	}
	return live
}

// ownedLocked counts token's sessions and names its least recently used
// ready one other than except. l.mu is held.
func (l *sessionLimiter) ownedLocked(token, except string) (n int, oldest string) {
	for id, s := range l.sessions {
		if s.token != token {
			continue
		}
		n++
		if id != except && s.ready && (oldest == "" || s.used.Before(l.sessions[oldest].used)) {
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
	if s := l.sessions[id]; s != nil {
		return s.token
	}
	return ""
}

// touch records a request on session id. Only its own token's requests
// count: another token's is refused by the SDK, and must not keep the
// session from being the least recently used.
func (l *sessionLimiter) touch(id, token string) {
	l.mu.Lock()
	if s := l.sessions[id]; s != nil && s.token == token {
		s.used = time.Now()
	}
	l.mu.Unlock()
}

// admit reserves room for the session a sessionless POST may create, or
// says why there is none.
func (l *sessionLimiter) admit(token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	live := l.liveLocked()
	// Forget the sessions that ended (closed, or idled out), and count
	// what each token holds or is about to.
	held := maps.Clone(l.pending)
	for id, s := range l.sessions {
		if live[id] == nil {
			delete(l.sessions, id)
			continue
		}
		held[s.token]++
	}
	if inFlight := l.pending[token]; inFlight >= l.perToken {
		// Every slot of this token is a request still in flight: none of
		// them has a session to give up yet.
		return fmt.Errorf("this client is opening %d sessions at once, the most one client may hold: wait for them to be answered and reuse one", inFlight)
	}
	// A token at its cap does not grow the total: its new session takes
	// the place of its least recently used one. So each token counts for
	// at most its cap, and what is in flight counts as a session to come,
	// which errs towards refusing near the server's cap rather than
	// passing it.
	if held[token] < l.perToken {
		total := 0
		for _, n := range held {
			total += min(n, l.perToken)
		}
		if total >= l.total {
			return fmt.Errorf("the server has %d sessions open, the most it keeps: end sessions you no longer use (HTTP DELETE), or retry when idle ones have expired", total)
		}
	}
	l.pending[token]++
	return nil
}

// settleWriter calls settle once, with the response's header, just before
// that header is sent.
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
