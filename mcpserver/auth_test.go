package mcpserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
)

// secret returns a fresh random token: tests never carry a fixed one.
func secret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func names(ts []Token) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return out
}

func TestParseTokensRoles(t *testing.T) {
	a, b, c, d := secret(t), secret(t), secret(t), secret(t)
	toks, err := ParseTokens(strings.NewReader("old:" + a + "\nboss:admin:" + b + "\nops : operator : " + c + "\nlook:viewer:" + d + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []access.Principal
	for _, tok := range toks {
		got = append(got, tok.Principal())
	}
	want := []access.Principal{{Name: "old", Role: DefaultRole}, {Name: "boss", Role: access.Admin},
		{Name: "ops", Role: access.Operator}, {Name: "look", Role: access.Viewer}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("principals mismatch (-want +got):\n%s", diff)
	}
	if m, ok := tokenSet(toks).match(d); !ok || m.Role() != access.Viewer {
		t.Errorf("match(viewer's token) = %v %v, want the viewer", m, ok)
	}
}

func TestParseTokens(t *testing.T) {
	a, b := secret(t), secret(t)
	for _, tt := range []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "named tokens", in: "ops-laptop:" + a + "\nci@build.1:" + b + "\n", want: []string{"ops-laptop", "ci@build.1"}},
		{name: "comments and blank lines", in: "# who may trace\n\n  ops : " + a + "  \n# ci:" + b + "\n", want: []string{"ops"}},
		{name: "base64 token with padding", in: "x:" + "abcdEFGH1234+/~._-abc==", want: []string{"x"}},
		{name: "empty", in: "# nobody\n"},
		{name: "no colon", in: a, wantErr: "line 1: want name:token or name:role:token"},
		{name: "empty name", in: ":" + a, wantErr: `line 1: token name ""`},
		{name: "space in name", in: "ops laptop:" + a, wantErr: `' ' is not allowed`},
		{name: "short token", in: "ops:0123456789", wantErr: "line 1: token \"ops\": the token is 10 characters; use at least 16"},
		{name: "space in token", in: "ops:0123456789 0123456789", wantErr: "position 11"},
		{name: "colon in token", in: "ops:0123456789:0123456789", wantErr: "middle field of name:role:token is not admin, operator or viewer"},
		{name: "two colons in token", in: "ops:admin:0123456789:0123456789", wantErr: "too many ':'"},
		{name: "unknown role", in: "ops:root:" + a, wantErr: "line 1: the middle field"},
		{name: "empty role", in: "ops::" + a, wantErr: "line 1: the middle field"},
		{name: "only padding", in: "ops:================", wantErr: "only '='"},
		{name: "duplicate name", in: "ops:" + a + "\nops:" + b, wantErr: `line 2: name "ops" is already used on line 1`},
		{name: "duplicate token", in: "ops:" + a + "\nci:" + a, wantErr: "line 2: the same token as on line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokens(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				for _, s := range []string{a, b, "0123456789 0123456789", "0123456789:0123456789"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q quotes a token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("names mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add("ops:0123456789abcdef\n# c\nci:abcdefghijklmnop==\n")
	f.Add(":\n\n#")
	f.Add("a:b:c")
	f.Fuzz(func(t *testing.T, in string) {
		toks, err := ParseTokens(strings.NewReader(in))
		if err != nil {
			// An error may name a line but never quote a token.
			for _, line := range strings.Split(in, "\n") {
				for _, s := range strings.Split(line, ":")[1:] {
					if s = strings.TrimSpace(s); len(s) >= minTokenLen && strings.Contains(err.Error(), s) {
						t.Fatalf("error %q quotes a token", err)
					}
				}
				_, s, _ := strings.Cut(line, ":")
				if s = strings.TrimSpace(s); len(s) >= minTokenLen && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q quotes a token", err)
				}
			}
			return
		}
		// Each accepted line's token matches, and names, that line's token.
		i := 0
		for _, line := range strings.Split(in, "\n") {
			line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, _, _ := strings.Cut(line, ":")
			s := line[strings.LastIndex(line, ":")+1:]
			got, ok := tokenSet(toks).match(strings.TrimSpace(s))
			if !ok || got.Name() != strings.TrimSpace(name) || toks[i].Name() != got.Name() {
				t.Fatalf("line %q: matched %v %v, parsed %v", line, got, ok, toks[i])
			}
			i++
		}
		if i != len(toks) {
			t.Fatalf("%d tokens from %d lines", len(toks), i)
		}
	})
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	content := "ops-laptop:" + secret(t) + "\n"
	for _, tt := range []struct {
		mode    os.FileMode
		content string
		wantErr string
	}{
		{mode: 0o600, content: content},
		{mode: 0o400, content: content},
		{mode: 0o644, content: content, wantErr: "chmod 600"},
		{mode: 0o640, content: content, wantErr: "chmod 600"},
		{mode: 0o602, content: content, wantErr: "chmod 600"},
		{mode: 0o600, content: "# none yet\n", wantErr: "has no tokens"},
	} {
		t.Run(fmt.Sprintf("%04o %d", tt.mode, len(tt.content)), func(t *testing.T) {
			path := filepath.Join(dir, "tokens")
			os.Remove(path)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			toks, err := ReadTokenFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"ops-laptop"}, names(toks)); diff != "" {
				t.Errorf("names mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want one wrapping fs.ErrNotExist", err)
	}
}

// TestTokenNeverPrints: however a token is printed or logged, its secret
// does not show.
func TestTokenNeverPrints(t *testing.T) {
	s := secret(t)
	tok, err := NewToken("ops-laptop", s)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v %s %q\n", tok, tok, tok, tok, tok)
	fmt.Fprintf(&buf, "%v %+v %#v\n", []Token{tok}, struct{ T Token }{tok}, &tok)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", tok)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tok, "tokens", []Token{tok})
	if strings.Contains(buf.String(), s) || strings.Contains(buf.String(), hex.EncodeToString(tok.hash[:])) {
		t.Fatalf("secret printed:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "ops-laptop") {
		t.Fatalf("name not printed:\n%s", buf.String())
	}
}

func TestTokenMatch(t *testing.T) {
	a, b := secret(t), secret(t)
	ta, _ := NewToken("a", a)
	tb, _ := NewToken("b", b)
	ts := tokenSet{ta, tb}
	for _, tt := range []struct {
		presented string
		want      string
		ok        bool
	}{
		{a, "a", true},
		{b, "b", true},
		{a[:len(a)-1], "", false},
		{a + "x", "", false},
		{strings.ToUpper(a), "", false},
		{"", "", false},
	} {
		got, ok := ts.match(tt.presented)
		if ok != tt.ok || got.Name() != tt.want {
			t.Errorf("match(%d chars) = %q, %v; want %q, %v", len(tt.presented), got.Name(), ok, tt.want, tt.ok)
		}
	}
}

// TestRequireToken: 401 with a challenge without a valid token; with one,
// the request passes carrying the token's name, and without the challenge.
func TestRequireToken(t *testing.T) {
	s := secret(t)
	tok, _ := NewToken("ops-laptop", s)
	var logs bytes.Buffer
	h := requireToken(tokenSet{tok}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ti := auth.TokenInfoFromContext(r.Context())
			if ti == nil {
				t.Error("no TokenInfo in the request's context")
				return
			}
			fmt.Fprint(w, ti.UserID)
		}))
	for _, tt := range []struct {
		name      string
		header    string
		wantCode  int
		wantChall string
		wantBody  string
	}{
		{name: "no token", wantCode: 401, wantChall: `Bearer realm="bpftrace-mcp"`},
		{name: "wrong token", header: "Bearer " + secret(t), wantCode: 401, wantChall: `Bearer realm="bpftrace-mcp", error="invalid_token"`},
		{name: "basic auth", header: "Basic " + s, wantCode: 401, wantChall: `Bearer realm="bpftrace-mcp", error="invalid_token"`},
		{name: "token with a suffix", header: "Bearer " + s + "x", wantCode: 401, wantChall: `Bearer realm="bpftrace-mcp", error="invalid_token"`},
		{name: "right token", header: "Bearer " + s, wantCode: 200, wantBody: "ops-laptop"},
		{name: "scheme in lower case", header: "bearer " + s, wantCode: 200, wantBody: "ops-laptop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantChall {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantChall)
			}
			if tt.wantBody != "" && w.Body.String() != tt.wantBody {
				t.Errorf("body %q, want %q", w.Body.String(), tt.wantBody)
			}
			if strings.Contains(w.Body.String(), s) {
				t.Errorf("response quotes the token: %q", w.Body.String())
			}
		})
	}
	if !strings.Contains(logs.String(), "rejected HTTP requests without a valid bearer token") {
		t.Errorf("rejections not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), s) {
		t.Errorf("log quotes the token:\n%s", logs.String())
	}
}
