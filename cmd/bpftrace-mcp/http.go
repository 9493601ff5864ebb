package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
	"github.com/bpftrace-mcp/bpftrace-mcp/mcpserver"
)

// tokenEnv holds the one token of a server that needs no more; its name in
// logs and history is envTokenName.
const (
	tokenEnv     = "BPFTRACE_MCP_TOKEN"
	envTokenName = "env"
)

// httpFlags configure the Streamable HTTP transport.
type httpFlags struct {
	addr           string
	stateless      bool
	tokensFile     string
	allowOrigins   []string
	tlsCert        string
	tlsKey         string
	sessionTimeout time.Duration
	maxBody        int64
	fleetSecret    string
	node           string
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http", "", "serve MCP over Streamable HTTP on this address (e.g. 127.0.0.1:8080), at "+mcpserver.HTTPPath+", instead of stdio")
	fs.BoolVar(&h.stateless, "stateless", false, "with --http: serve every request on its own, without sessions (for clients on the 2026-07-28 protocol; no stream resumption, no subscriptions)")
	fs.StringVar(&h.tokensFile, "tokens", "", "with --http: file of bearer tokens, one name:role:token (role admin, operator or viewer) or name:token (operator) a line, # comments, mode 600; the name identifies the client. Or set "+tokenEnv+" (an operator token named "+envTokenName+")")
	fs.Func("allow-origin", "with --http: a browser origin allowed to call the server (https://host[:port]); repeatable", func(v string) error {
		h.allowOrigins = append(h.allowOrigins, v)
		return nil
	})
	fs.StringVar(&h.tlsCert, "tls-cert", "", "with --http: serve HTTPS with this certificate (PEM); needs --tls-key")
	fs.StringVar(&h.tlsKey, "tls-key", "", "with --http: the private key (PEM) of --tls-cert")
	fs.DurationVar(&h.sessionTimeout, "session-timeout", time.Hour, "with --http: close a client's session after this long without a request")
	fs.Int64Var(&h.maxBody, "max-request-bytes", 1<<20, "with --http: largest request body accepted")
}

// registerAgent adds the flags of a host server that is a fleet's agent.
// The gateway (bpftrace-mcp fleet) has a --fleet-secret of its own, from
// which it derives every agent's token, and no node.
func (h *httpFlags) registerAgent(fs *flag.FlagSet) {
	fs.StringVar(&h.fleetSecret, "fleet-secret", "", "with --http and --node: file holding the fleet's secret; the fleet gateway is then accepted with this node's own token (an operator named "+fleetTokenName+")")
	fs.StringVar(&h.node, "node", "", "with --fleet-secret: this node's name, as Kubernetes knows it")
}

// fleetTokenName is the name the fleet gateway's token goes by in an
// agent's history and audit.
const fleetTokenName = "fleet-gateway"

// fleetToken is the token a fleet gateway presents to this agent: derived
// from the fleet's secret and this node's name, so it opens no other node.
func (h *httpFlags) fleetToken() (mcpserver.Token, bool, error) {
	if h.fleetSecret == "" && h.node == "" {
		return mcpserver.Token{}, false, nil
	}
	if h.fleetSecret == "" || h.node == "" {
		return mcpserver.Token{}, false, errors.New("--fleet-secret and --node go together")
	}
	secret, err := fleet.ReadSecret(h.fleetSecret)
	if err != nil {
		return mcpserver.Token{}, false, err
	}
	t, err := mcpserver.NewToken(fleetTokenName, fleet.AgentToken(secret, h.node))
	if err != nil {
		return mcpserver.Token{}, false, err
	}
	return t.WithRole(access.Operator).WithDelegation(), true, nil
}

// tokens returns the configured tokens: the one in the environment, named
// "env", and those of the tokens file.
func (h *httpFlags) tokens(getenv func(string) string) ([]mcpserver.Token, error) {
	var toks []mcpserver.Token
	if secret := getenv(tokenEnv); secret != "" {
		t, err := mcpserver.NewToken(envTokenName, secret)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tokenEnv, err)
		}
		toks = append(toks, t)
	}
	if h.tokensFile != "" {
		ft, err := mcpserver.ReadTokenFile(h.tokensFile)
		if err != nil {
			return nil, err
		}
		for _, t := range ft {
			if len(toks) > 0 && t.Name() == envTokenName {
				return nil, fmt.Errorf("tokens file %s: the name %q is taken by %s", h.tokensFile, envTokenName, tokenEnv)
			}
		}
		toks = append(toks, ft...)
	}
	ft, ok, err := h.fleetToken()
	if err != nil {
		return nil, err
	}
	if ok {
		for _, t := range toks {
			if t.Name() == fleetTokenName {
				return nil, fmt.Errorf("the token name %q is the fleet gateway's", fleetTokenName)
			}
		}
		toks = append(toks, ft)
	}
	return toks, nil
}

// errNoToken says how to configure a token; it is the answer to serving
// beyond loopback without one.
var errNoToken = errors.New("set a token first: export " + tokenEnv + "=$(openssl rand -hex 32) " +
	"(clients send it as Authorization: Bearer ...), or pass --tokens FILE with one name:token a line (chmod 600 FILE)")

// loopbackHost reports whether an address's host is a loopback address;
// known is false for a host name, which only the bound address can tell.
func loopbackHost(addr string) (loopback, known bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	if host == "" { // every interface
		return false, true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, false
	}
	return ip.IsLoopback(), true
}

const (
	// shutdownDrain is how long answers to waiting calls get to be written
	// once the traces they wait for have ended; after it, connections that
	// never end on their own (a client's standing SSE stream) are closed.
	shutdownDrain = 2 * time.Second
	// stopTracesTimeout leaves running traces the time to print their maps;
	// the runner's own grace period escalates to SIGKILL well within it.
	stopTracesTimeout = 2 * time.Minute
)

// serveHTTP serves MCP over Streamable HTTP until ctx ends (SIGINT or
// SIGTERM), then shuts down in the order that loses nothing: it stops
// accepting connections, stops the running traces (stopTraces: their maps
// are printed and recorded), lets the calls that were waiting for them
// answer, and closes what remains.
func serveHTTP(ctx context.Context, h *httpFlags, srv *mcpserver.Server, log *slog.Logger, stopTraces func(context.Context) error) error {
	toks, err := h.tokens(os.Getenv)
	if err != nil {
		return err
	}
	if (h.tlsCert == "") != (h.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var tlsConfig *tls.Config
	if h.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(h.tlsCert, h.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if lo, known := loopbackHost(h.addr); known && !lo && len(toks) == 0 {
		return fmt.Errorf("refusing to serve %s, which is not a loopback address, without authentication: %w", h.addr, errNoToken)
	}
	handler, err := srv.HTTPHandler(mcpserver.HTTPOptions{
		Tokens:              toks,
		Stateless:           h.stateless,
		AllowedOrigins:      h.allowOrigins,
		MaxRequestBodyBytes: h.maxBody,
		SessionTimeout:      h.sessionTimeout,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	bound := ln.Addr().(*net.TCPAddr)
	if !bound.IP.IsLoopback() && len(toks) == 0 {
		ln.Close()
		return fmt.Errorf("refusing to serve %s (bound to %s, not a loopback address) without authentication: %w", h.addr, bound, errNoToken)
	}
	hs := &http.Server{
		Handler: handler,
		// No ReadTimeout or WriteTimeout: both would end SSE streams and
		// long polls. Headers must come quickly; the handler bounds the
		// time a body may take.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig,
		// Handshake failures of port scanners are not the operator's news.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		names[i] = t.Name()
	}
	auth := "bearer tokens " + strings.Join(names, ", ")
	if len(toks) == 0 {
		auth = "none: any local user can trace this host; set " + tokenEnv + " or --tokens to require a token"
	}
	log.Info("listening", "url", fmt.Sprintf("%s://%s%s", scheme, bound, mcpserver.HTTPPath),
		"stateless", h.stateless, "auth", auth)

	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- hs.ServeTLS(ln, "", "")
		} else {
			served <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down: stopping running executions")
	drainCtx, stopDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDrain()
	drained := make(chan error, 1)
	go func() { drained <- hs.Shutdown(drainCtx) }() // stops accepting at once
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTracesTimeout)
	defer cancel()
	stopErr := stopTraces(stopCtx)
	select {
	case <-drained:
	case <-time.After(shutdownDrain):
		hs.Close()
		stopDrain()
		<-drained
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(stopErr, fmt.Errorf("serve HTTP: %w", err))
	}
	if stopErr != nil {
		return fmt.Errorf("stop running executions: %w", stopErr)
	}
	return nil
}
