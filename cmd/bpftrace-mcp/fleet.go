package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
	"github.com/bpftrace-mcp/bpftrace-mcp/mcpserver"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// fleetConfig is what `bpftrace-mcp fleet` is told.
type fleetConfig struct {
	kubeconfig, namespace, selector string
	port                            int
	secret, agentCA                 string
	insecureAgents                  bool
	db, config                      string
	http                            httpFlags
	logLevel                        slog.Level
}

// runFleet serves the fleet gateway: an MCP server whose tools run a
// program on many nodes' agents, found through the Kubernetes API.
func runFleet(ctx context.Context, args []string, stderr io.Writer) error {
	c := fleetConfig{}
	fs := flag.NewFlagSet("bpftrace-mcp fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bpftrace-mcp fleet [flags]\n\nServes one MCP endpoint that traces every node of a Kubernetes cluster through its\nbpftrace-mcp agent (deploy/helm). Over stdio by default; --http ADDR for Streamable HTTP.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file (default: the in-cluster service account, else $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&c.namespace, "namespace", "bpftrace-mcp", "the agents' namespace")
	fs.StringVar(&c.selector, "selector", "app.kubernetes.io/name=bpftrace-mcp,app.kubernetes.io/component=agent", "label selector of the agents' pods")
	fs.IntVar(&c.port, "agent-port", 8443, "the agents' MCP port, when their pod names no container port \"mcp\"")
	fs.StringVar(&c.secret, "fleet-secret", "", "file holding the fleet's secret, from which each agent's token is derived (required)")
	fs.StringVar(&c.agentCA, "agent-ca", "", "CA certificate (PEM) that signed the agents' HTTPS certificates; the agents are then reached over HTTPS")
	fs.BoolVar(&c.insecureAgents, "insecure-agents", false, "reach agents over plain HTTP (tests on loopback only: tokens and traces would cross the network unencrypted)")
	fs.StringVar(&c.db, "db", "", "SQLite database for the fleet's history (default: "+store.DefaultPath()+")")
	fs.StringVar(&c.config, "config", "", "TOML configuration: the policy applied before fan-out (the agents apply theirs again)")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level on stderr: debug, info, warn or error")
	c.http.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.secret == "" {
		return errors.New("fleet: --fleet-secret is required (the secret every agent's token derives from)")
	}
	if (c.agentCA == "") == !c.insecureAgents {
		return errors.New("fleet: pass --agent-ca (agents over HTTPS), or --insecure-agents for plain HTTP on a test network")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))

	secret, err := fleet.ReadSecret(c.secret)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if c.agentCA != "" {
		pem, err := os.ReadFile(c.agentCA)
		if err != nil {
			return fmt.Errorf("fleet: agent CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("fleet: agent CA %s holds no PEM certificate", c.agentCA)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	// The same configuration file as the agents': the gateway applies its
	// policy (and nothing else of it) before fan-out.
	hc := &config{policy: policy.Default()}
	if c.config != "" {
		if err := loadConfig(c.config, hc, map[string]bool{}); err != nil {
			return err
		}
	}
	pol := hc.policy
	rc, err := restConfig(c.kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("fleet: Kubernetes client: %w", err)
	}
	disc, err := fleet.NewDiscovery(cs, fleet.DiscoveryOptions{Namespace: c.namespace, Selector: c.selector, Port: c.port})
	if err != nil {
		return err
	}
	if err := disc.Start(ctx); err != nil {
		return err
	}
	clients, err := fleet.NewClients(fleet.ClientOptions{Secret: secret, TLS: tlsConfig})
	if err != nil {
		return err
	}
	dbPath := c.db
	if dbPath == "" {
		dbPath = store.DefaultPath()
	}
	db, err := store.Open(ctx, dbPath, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	g, err := fleet.New(fleet.Options{Discovery: disc, Agents: clients, DB: db, Check: fleet.PolicyCheck(&pol), Logger: log,
		Audit: audit.New(db, log)})
	if err != nil {
		return err
	}
	defer g.Close()
	srv, err := mcpserver.NewFleet(mcpserver.FleetOptions{Gateway: g, Logger: log, Version: version()})
	if err != nil {
		return err
	}
	log.Info("fleet gateway", "namespace", c.namespace, "selector", c.selector, "agents", len(disc.Agents()), "db", db.Path())
	var serveErr error
	if c.http.addr != "" {
		serveErr = serveHTTP(ctx, &c.http, srv, log, func(context.Context) error { return nil })
	} else {
		serveErr = srv.ServeStdio(ctx)
	}
	if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		return serveErr
	}
	return nil
}

// restConfig is the in-cluster configuration when the gateway runs in a
// pod, else the kubeconfig's.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if rc, err := rest.InClusterConfig(); err == nil {
			return rc, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("fleet: no Kubernetes configuration (not in a pod, and no kubeconfig): %w", err)
	}
	return rc, nil
}
