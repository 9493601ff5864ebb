package mcpserver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
)

// minTokenLen is the shortest secret accepted: 16 characters is the least
// that stands up to guessing over the network; `openssl rand -hex 32` gives 64.
const minTokenLen = 16

// DefaultRole is the role of a token whose line names none ("name:token"):
// it runs programs and sees only its own executions. An administrator
// grants admin explicitly.
const DefaultRole = access.Operator

// Token is a bearer token a client presents, the name that stands for it
// in logs, history and audit, and its role. The secret never leaves this
// type: it prints and logs as its name.
type Token struct {
	name string
	role access.Role
	hash [sha256.Size]byte
	// delegate lets the holder name, in fleet.CallerHeader, the caller on
	// whose behalf it asks: the fleet gateway. The name goes to the audit
	// only; the token's own principal decides what may be done.
	delegate bool
}

// NewToken checks a name and a secret and returns the token, with
// [DefaultRole]. The name is letters, digits and ._@- (up to 64); the
// secret at least 16 characters of the bearer token alphabet (RFC 6750:
// letters, digits and -._~+/, then =).
func NewToken(name, secret string) (Token, error) {
	if err := checkTokenName(name); err != nil {
		return Token{}, err
	}
	if err := checkTokenSecret(secret); err != nil {
		return Token{}, fmt.Errorf("token %q: %w", name, err)
	}
	return Token{name: name, role: DefaultRole, hash: sha256.Sum256([]byte(secret))}, nil
}

// WithRole returns the token with role r.
func (t Token) WithRole(r access.Role) Token {
	t.role = r
	return t
}

// WithDelegation returns the token trusted to say on whose behalf it asks
// (the fleet gateway's, on an agent).
func (t Token) WithDelegation() Token {
	t.delegate = true
	return t
}

// Name is what identifies the token's holder.
func (t Token) Name() string { return t.name }

// Role is what the token's holder may do.
func (t Token) Role() access.Role { return t.role }

// Principal is who a request that presents the token comes from.
func (t Token) Principal() access.Principal { return access.Principal{Name: t.name, Role: t.role} }

// String returns the name, so that printing a token never shows its secret.
func (t Token) String() string { return "token " + t.name }

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue logs the name only.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.name) }

func checkTokenName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("token name %q: want 1 to 64 characters", name)
	}
	for _, c := range name {
		if !isNameChar(c) {
			return fmt.Errorf("token name %q: %q is not allowed (letters, digits and ._@- are)", name, c)
		}
	}
	return nil
}

func isNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@-", c)
}

// checkTokenSecret says what is wrong with a secret without repeating it:
// error messages end up in logs.
func checkTokenSecret(s string) error {
	if len(s) < minTokenLen {
		return fmt.Errorf("the token is %d characters; use at least %d (generate one with `openssl rand -hex 32`)", len(s), minTokenLen)
	}
	body := strings.TrimRight(s, "=")
	if body == "" {
		return errors.New("the token is only '=' signs")
	}
	for i, c := range body {
		if !(isNameChar(c) && c != '@' || c == '~' || c == '+' || c == '/') {
			return fmt.Errorf("the token has a character that cannot appear in a bearer token at position %d (allowed: letters, digits, -._~+/ and trailing =)", i+1)
		}
	}
	return nil
}

// ParseTokens reads named tokens, one "name:role:token" or "name:token" a
// line; the role is admin, operator or viewer, and [DefaultRole] when the
// line names none. Blank lines and lines starting with # are skipped. Names
// and tokens must be unique. Errors name the line and never quote the
// token. (Neither a name nor a token may contain ':', so the fields cannot
// be confused.)
func ParseTokens(r io.Reader) ([]Token, error) {
	var (
		toks    []Token
		names   = map[string]int{}
		secrets = map[[sha256.Size]byte]int{}
	)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseTokenLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, dup := names[t.name]; dup {
			return nil, fmt.Errorf("line %d: name %q is already used on line %d", n, t.name, prev)
		}
		if prev, dup := secrets[t.hash]; dup {
			return nil, fmt.Errorf("line %d: the same token as on line %d; give each client its own", n, prev)
		}
		names[t.name], secrets[t.hash] = n, n
		toks = append(toks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return toks, nil
}

// parseTokenLine reads "name:token" or "name:role:token".
func parseTokenLine(line string) (Token, error) {
	f := strings.Split(line, ":")
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	switch len(f) {
	case 2:
		return NewToken(f[0], f[1])
	case 3:
		// The middle field is not quoted in the error: on a mistyped
		// line it may be part of a token.
		role, err := access.ParseRole(f[1])
		if err != nil {
			return Token{}, errors.New("the middle field of name:role:token is not admin, operator or viewer")
		}
		t, err := NewToken(f[0], f[2])
		return t.WithRole(role), err
	case 1:
		return Token{}, errors.New("want name:token or name:role:token")
	default:
		return Token{}, errors.New("too many ':' (want name:token or name:role:token; a token has no ':')")
	}
}

// ReadTokenFile reads a tokens file (see [ParseTokens]). It refuses a file
// that anyone but its owner may read or write: the tokens are passwords.
func ReadTokenFile(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokens file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat tokens file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("tokens file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("tokens file %s has mode %04o: others than its owner may read it; run `chmod 600 %s`", path, perm, path)
	}
	toks, err := ParseTokens(f)
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("tokens file %s has no tokens: add lines of name:token", path)
	}
	return toks, nil
}

// tokenSet matches presented tokens against the configured ones.
type tokenSet []Token

// match returns the token whose secret is presented. It compares SHA-256
// digests, so that the time taken says nothing about the length of a
// secret, and compares with every token, so that it says nothing about
// which one (nearly) matched either.
func (ts tokenSet) match(presented string) (Token, bool) {
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range ts {
		eq := subtle.ConstantTimeCompare(h[:], ts[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return Token{}, false
	}
	return ts[found], true
}

// errInvalidToken is what a client with a wrong token is told: nothing more.
var errInvalidToken = fmt.Errorf("%w: the bearer token is not one this server accepts", auth.ErrInvalidToken)

// principalKey is where a verified token's principal travels in the SDK's
// TokenInfo.Extra, from requireToken to principalOf.
const principalKey = "bpftrace-mcp/principal"

// onBehalfKey is where the caller a delegating token names travels in
// TokenInfo.Extra, to the audit's client name.
const onBehalfKey = "bpftrace-mcp/on-behalf-of"

// requireToken rejects requests without one of the tokens with 401 and a
// WWW-Authenticate challenge (RFC 6750). A request that passes carries the
// token's name as the SDK's TokenInfo.UserID: the SDK then refuses a
// session to anyone but the token that opened it, and tools read it to name
// the client. Its principal (name and role) rides in TokenInfo.Extra.
func requireToken(ts tokenSet, log *slog.Logger) func(http.Handler) http.Handler {
	verify := func(_ context.Context, presented string, r *http.Request) (*auth.TokenInfo, error) {
		t, ok := ts.match(presented)
		if !ok {
			return nil, errInvalidToken
		}
		ti := &auth.TokenInfo{UserID: t.name, Extra: map[string]any{principalKey: t.Principal()}}
		if c := r.Header.Get(fleet.CallerHeader); t.delegate && c != "" && checkTokenName(c) == nil {
			ti.Extra[onBehalfKey] = c
		}
		return ti, nil
	}
	check := auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{
		// Static tokens do not expire; rotate them by editing the file
		// and restarting.
		AllowMissingExpiration: true,
	})
	rejected := &rejectLog{log: log, every: 10 * time.Second}
	return func(next http.Handler) http.Handler {
		// The SDK only sets a challenge for OAuth metadata; ours is set
		// before it runs and taken back when the token passed.
		pass := check(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Del("WWW-Authenticate")
			if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
				setRequestToken(r.Context(), ti.UserID)
			}
			next.ServeHTTP(w, r)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			challenge := `Bearer realm="bpftrace-mcp"`
			if r.Header.Get("Authorization") != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			sw := &statusWriter{ResponseWriter: w}
			pass.ServeHTTP(sw, r)
			if sw.status == http.StatusUnauthorized {
				rejected.note(r)
			}
		})
	}
}

// rejectLog logs rejected requests at most once per period, with a count:
// anyone who can reach the port can make them, and each log record also
// goes to every client that asked for log messages.
type rejectLog struct {
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex
	last   time.Time
	missed int
}

func (l *rejectLog) note(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.last) >= l.every {
		l.log.Warn("rejected HTTP requests without a valid bearer token", "remote", r.RemoteAddr, "count", l.missed+1)
		l.last, l.missed = now, 0
		return
	}
	l.missed++
}

// principalOf says who sent a request. Over HTTP with tokens it is the
// token's principal; a request with no token info came over stdio, or over
// HTTP on loopback without tokens, from the one local user. A request whose
// token info carries no principal gets the zero Principal, which may do
// nothing.
func principalOf(req mcp.Request) access.Principal {
	ex := req.GetExtra()
	if ex == nil || ex.TokenInfo == nil {
		return access.Local
	}
	p, _ := ex.TokenInfo.Extra[principalKey].(access.Principal)
	return p
}

// withPrincipal puts the sender's principal in the context of every request
// the server handles, so that the layers below learn who asks from ctx
// alone, whatever the transport.
func withPrincipal(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		return next(access.WithPrincipal(ctx, principalOf(req)), method, req)
	}
}
