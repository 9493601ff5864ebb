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
}

func newSessionLimiter(srv *mcp.Server, perToken, total int, log *slog.Logger) *sessionLimiter {
	if total <= 0 {
		total = defaultMaxSessions
	}
	if perToken <= 0 {
		perToken = defaultMaxSessionsPerToken
	}
	return &sessionLimiter{srv: srv, perToken: min(perToken, total), total: total, log: log,
		owner: map[string]string{}, used: map[string]time.Time{}}
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
		next.ServeHTTP(w, r)
		if id := w.Header().Get(sessionHeader); id != "" {
			l.mu.Lock()
			l.owner[id], l.used[id] = token, time.Now()
			l.mu.Unlock()
		}
	})
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
	live := map[string]*mcp.ServerSession{}
	for ss := range l.srv.Sessions() {
		live[ss.ID()] = ss
	}
	l.mu.Lock()
	// Forget the sessions that ended (closed, or idled out).
	for id := range l.owner {
		if live[id] == nil {
			delete(l.owner, id)
			delete(l.used, id)
		}
	}
	var (
		mine   int
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
	total := len(l.owner)
	var evict *mcp.ServerSession
	if mine >= l.perToken {
		evict = live[oldest]
		delete(l.owner, oldest)
		delete(l.used, oldest)
		total--
	}
	l.mu.Unlock()
	if evict != nil {
		l.log.Info("closed a client's least recently used session to make room for a new one", "token", token, "sessions", mine, "max_per_token", l.perToken)
		_ = evict.Close()
	}
	if total >= l.total {
		return fmt.Errorf("the server has %d sessions open, the most it keeps: end sessions you no longer use (HTTP DELETE), or retry when idle ones have expired", total)
	}
	return nil
}
