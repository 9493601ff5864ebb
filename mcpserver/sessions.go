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
// used session first: a client that forgets to end its sessions then
// hurts only itself. A new session past the server's cap is refused: it
// cannot take another client's place.
type sessionLimiter struct {
	srv      *mcp.Server
	perToken int
	total    int
	log      *slog.Logger

	mu    sync.Mutex
	owner map[string]string    // session id → token name ("" without tokens)
	used  map[string]time.Time // session id → its last request
	// pending counts, per token, the initialize requests admitted but not
	// yet answered: their sessions exist only once the SDK answers, so
	// without this reservation a burst of concurrent initializes would all
	// pass the caps before any of them is counted.
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
			l.touch(id)
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
		defer l.settle(token, w)
		next.ServeHTTP(w, r)
	})
}

// settle turns an admitted initialize's reservation into the session the
// SDK made for it, or frees it when the SDK made none.
func (l *sessionLimiter) settle(token string, w http.ResponseWriter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending[token]--
	if l.pending[token] == 0 {
		delete(l.pending, token)
	}
	l.pendingTotal--
	if id := w.Header().Get(sessionHeader); id != "" {
		l.owner[id], l.used[id] = token, time.Now()
	}
}

// principalOf names the token (the principal) whose session id is; ""
// for a session it does not know.
func (l *sessionLimiter) principalOf(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner[id]
}

func (l *sessionLimiter) touch(id string) {
	l.mu.Lock()
	if _, ok := l.used[id]; ok {
		l.used[id] = time.Now()
	}
	l.mu.Unlock()
}

// admit makes room for a new session of token, or says why there is none.
func (l *sessionLimiter) admit(token string) error {
	l.mu.Lock()
	// The snapshot is taken under the lock, after every session settle
	// has registered: a session registered after an earlier snapshot would
	// otherwise look ended, be forgotten, and escape the caps.
	live := map[string]*mcp.ServerSession{}
	for ss := range l.srv.Sessions() {
		live[ss.ID()] = ss
	}
	// Forget the sessions that ended (closed, or idled out).
	for id := range l.owner {
		if live[id] == nil {
			delete(l.owner, id)
			delete(l.used, id)
		}
	}
	var (
		mine   = l.pending[token]
		oldest string
	)
	for id, tok := range l.owner {
		if tok != token {
			continue
		}
		mine++
		if oldest == "" || l.used[id].Before(l.used[oldest]) {
			oldest = id
		}
	}
	total := len(l.owner) + l.pendingTotal
	if mine >= l.perToken && oldest == "" {
		// Every slot of this token is an initialize still in flight:
		// there is no session to close for it.
		l.mu.Unlock()
		return fmt.Errorf("this client is opening %d sessions at once, the most one client may hold: wait for them to be answered and reuse one", mine)
	}
	evictID := ""
	if mine >= l.perToken {
		evictID = oldest
		total-- // the token's own least recently used session makes room
	}
	if total >= l.total {
		l.mu.Unlock()
		return fmt.Errorf("the server has %d sessions open, the most it keeps: end sessions you no longer use (HTTP DELETE), or retry when idle ones have expired", total)
	}
	var evict *mcp.ServerSession
	if evictID != "" {
		evict = live[evictID]
		delete(l.owner, evictID)
		delete(l.used, evictID)
	}
	l.pending[token]++
	l.pendingTotal++
	l.mu.Unlock()
	if evict != nil {
		l.log.Info("closed a client's least recently used session to make room for a new one", "token", token, "sessions", mine, "max_per_token", l.perToken)
		_ = evict.Close()
	}
	return nil
}
