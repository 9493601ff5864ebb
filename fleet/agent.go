package fleet

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// AgentToken derives the bearer token of the agent on node from the
// fleet's secret. Each agent holds only its own token (it computes it from
// the secret and its node name at start), so a token taken from one node
// opens no other; the gateway computes every agent's token the same way.
func AgentToken(secret []byte, node string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("bpftrace-mcp fleet agent v1\x00"))
	m.Write([]byte(node))
	return hex.EncodeToString(m.Sum(nil))
}

// CallerHeader carries the caller's identity from the gateway to each
// agent, which records it in its audit. An agent trusts it only on a
// request authenticated with its gateway token.
const CallerHeader = "Bpftrace-Mcp-Caller"

// ClientOptions configures how the gateway reaches its agents.
type ClientOptions struct {
	// Secret derives each agent's token (see AgentToken).
	Secret []byte
	// TLS, when set, makes the gateway speak HTTPS to agents and verify
	// them with it; nil speaks plain HTTP (tests on loopback only).
	TLS *tls.Config
	// Path of the agents' MCP endpoint; "" means "/mcp".
	Path string
	// CallTimeout bounds one call to one agent; zero means 60 s.
	CallTimeout time.Duration
}

// Clients keeps one MCP session per agent, made on first use and remade
// when it breaks.
type Clients struct {
	o      ClientOptions
	client *mcp.Client
	hc     *http.Client

	mu       sync.Mutex
	sessions map[string]*agentSession // by node
}

type agentSession struct {
	addr string
	cs   *mcp.ClientSession
}

// NewClients returns a pool of agent sessions.
func NewClients(o ClientOptions) (*Clients, error) {
	if len(o.Secret) < 16 {
		return nil, errors.New("fleet: the agents' secret must be at least 16 bytes")
	}
	if o.Path == "" {
		o.Path = "/mcp"
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 60 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = o.TLS
	tr.MaxIdleConnsPerHost = 4
	return &Clients{
		o:        o,
		client:   mcp.NewClient(&mcp.Implementation{Name: "bpftrace-mcp-fleet", Version: "1"}, nil),
		hc:       &http.Client{Transport: tr},
		sessions: map[string]*agentSession{},
	}, nil
}

// agentTransport authenticates each request as the gateway to one agent
// and says on whose behalf it comes.
type agentTransport struct {
	token string
	base  http.RoundTripper
}

func (t *agentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	if p, ok := access.FromContext(r.Context()); ok {
		r.Header.Set(CallerHeader, p.Name)
	}
	return t.base.RoundTrip(r)
}

func (c *Clients) session(ctx context.Context, a Agent) (*mcp.ClientSession, error) {
	c.mu.Lock()
	s := c.sessions[a.Node]
	c.mu.Unlock()
	if s != nil && s.addr == a.Addr {
		return s.cs, nil
	}
	scheme := "http"
	if c.o.TLS != nil {
		scheme = "https"
	}
	hc := &http.Client{Transport: &agentTransport{token: AgentToken(c.o.Secret, a.Node), base: c.hc.Transport}}
	cs, err := c.client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             scheme + "://" + a.Addr + c.o.Path,
		HTTPClient:           hc,
		MaxRetries:           -1,
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to the agent on %s (%s): %w", a.Node, a.Addr, err)
	}
	c.mu.Lock()
	if old := c.sessions[a.Node]; old != nil {
		_ = old.cs.Close()
	}
	c.sessions[a.Node] = &agentSession{addr: a.Addr, cs: cs}
	c.mu.Unlock()
	return cs, nil
}

// drop forgets a broken session so that the next call makes a new one.
func (c *Clients) drop(node string, cs *mcp.ClientSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[node]; s != nil && s.cs == cs {
		delete(c.sessions, node)
		_ = cs.Close()
	}
}

// ToolError is a tool's own error answer (isError): the agent understood
// the call and refused or failed it, as opposed to a transport failure.
type ToolError struct {
	Node, Tool, Message string
}

func (e *ToolError) Error() string { return e.Node + ": " + e.Tool + ": " + e.Message }

// Call calls one tool on one agent and decodes its structured result into
// out. A transport failure drops the session, so the next call reconnects.
func (c *Clients) Call(ctx context.Context, a Agent, tool string, args any, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.CallTimeout)
	defer cancel()
	cs, err := c.session(ctx, a)
	if err != nil {
		return err
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		c.drop(a.Node, cs)
		return fmt.Errorf("%s on %s: %w", tool, a.Node, err)
	}
	if res.IsError {
		// One line, escaped: the agent's text (bpftrace's diagnostics, or
		// a compromised node's words) must not forge lines of the answer.
		return &ToolError{Node: a.Node, Tool: tool, Message: untrusted.Line(textOf(res))}
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", tool, a.Node, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s on %s: unexpected result: %w", tool, a.Node, err)
	}
	return nil
}

// Close ends every session.
func (c *Clients) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for n, s := range c.sessions {
		errs = append(errs, s.cs.Close())
		delete(c.sessions, n)
	}
	return errors.Join(errs...)
}

func textOf(r *mcp.CallToolResult) string {
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text
		}
	}
	return "(no message)"
}

// ReadSecret reads the fleet's secret from a file: at least 32 bytes
// (surrounding white space removed), from a file only its owner may read.
func ReadSecret(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("fleet secret: %w", err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("fleet secret %s: others may read it (mode %v); chmod o-rwx it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet secret: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < 32 {
		return nil, fmt.Errorf("fleet secret %s: %d bytes; use at least 32 (openssl rand -hex 32)", path, len(b))
	}
	return b, nil
}
