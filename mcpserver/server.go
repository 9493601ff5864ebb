package mcpserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// Options are what the server serves from.
type Options struct {
	Runner    *runner.Manager
	Catalog   *catalog.Catalog
	Binary    *bpftrace.Binary
	Validator *validate.Validator
	// Database is the path of the store, reported by system_info.
	Database string
	// DatabaseError is why Database could not be used, when the server
	// fell back to keeping history in memory.
	DatabaseError error
	// ReadOnly serves only the discovery tools: nothing can run.
	ReadOnly bool
	// Audit records every validation, execution and stop; nil records
	// nothing.
	Audit  *audit.Log
	Logger *slog.Logger // nil: discard
	// Version is this server's version, reported to clients.
	Version string
	// LogBridge, when set, also sends the server's log records to every
	// client that asked for log messages (logging/setLevel); over HTTP
	// with several tokens, only those that name no execution and no client.
	LogBridge *LogBridge
	// SelfExclusion says, for system_info, how traces are kept from
	// observing the server and its bpftrace processes.
	SelfExclusion string
	// Answers bounds the size of every answer; zero fields are defaults.
	Answers trace.Budget
	// MaxExecWait is the longest exec_program with wait waits; 0: 45s.
	MaxExecWait time.Duration
}

// Server is a configured MCP server. It is safe for concurrent use.
type Server struct {
	o     Options
	log   *slog.Logger
	mcp   *mcp.Server
	trace *trace.Service
	// ceiling is the most bytes any answer may be (capAnswers).
	ceiling int
}

// New builds the server with all its tools.
func New(o Options) (*Server, error) {
	if o.Runner == nil || o.Catalog == nil || o.Binary == nil || o.Validator == nil {
		return nil, fmt.Errorf("mcpserver: Runner, Catalog, Binary and Validator are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	svc, err := trace.New(trace.Options{Runner: o.Runner, Validator: o.Validator, Audit: o.Audit, Logger: log,
		Budget: o.Answers, MaxExecWait: o.MaxExecWait})
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, log: log, trace: svc, ceiling: svc.Budget().Ceiling}
	s.mcp = mcp.NewServer(&mcp.Implementation{
		Name:    "bpftrace-mcp",
		Title:   "bpftrace",
		Version: o.Version,
	}, &mcp.ServerOptions{
		Instructions:     instructions,
		Logger:           slog.New(floorHandler{log.Handler(), slog.LevelWarn}),
		SubscribeHandler: s.subscribe,
		// Completion of execution ids (complete.go).
		CompletionHandler: s.complete,
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error {
			return nil
		},
	})
	s.mcp.AddReceivingMiddleware(withPrincipal)
	s.mcp.AddReceivingMiddleware(s.capAnswers)
	s.addProbeTools()
	s.addHelperTools()
	s.addAuthoringTools()
	if !o.ReadOnly {
		s.addExecTools()
		s.addExecutionResources()
		s.addAuditResource()
	}
	s.addDocResources()
	s.addPrompts()
	up := &updates{srv: s.mcp, coalesce: 250 * time.Millisecond, pending: map[string]*time.Timer{}}
	o.Runner.Observe(up.observe)
	if o.LogBridge != nil {
		o.LogBridge.attach(s.mcp)
	}
	return s, nil
}

const instructions = `This server traces the Linux host it runs on with bpftrace, for real.
Workflow: find probes with list_probes and describe_probe (arguments and types), the language's builtins with list_helpers, check a program with validate_program, start it with exec_program (it returns an execution_id at once), then read its output with get_result (pass wait_seconds to wait for output or the end). A run ends when the program calls exit() or when its timeout passes; either way END runs and the maps are printed and kept. stop_execution ends a run early, keeping its maps; list_executions shows the history, which survives restarts.
Prefer aggregations (count(), hist(), sum() in maps) over printf per event: they cost little and are printed at the end.`

// ServeStdio serves one client over stdin/stdout until the client goes away
// or ctx ends.
func (s *Server) ServeStdio(ctx context.Context) error {
	return s.mcp.Run(ctx, &guardedStdio{in: os.Stdin, out: nopWriteCloser{os.Stdout}, log: s.log})
}

// MCP returns the underlying SDK server, for tests that connect in memory.
func (s *Server) MCP() *mcp.Server { return s.mcp }

func boolPtr(b bool) *bool { return &b }

// nopWriteCloser keeps stdout open when the session closes its writer.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
