package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/host"
	"github.com/bpftrace-mcp/bpftrace-mcp/isolate"
	"github.com/bpftrace-mcp/bpftrace-mcp/mcpserver"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// config is everything the flags set.
type config struct {
	bpftrace string
	db       string
	logLevel slog.Level
	limits   runner.Limits
	checks   bpftrace.CheckLimits
	answers  trace.Budget  // the size of answers to clients
	execWait time.Duration // the longest exec_program with wait waits
	retain   store.Options
	version  bool
	http     httpFlags
	config   string
	readOnly bool
	sudo     bool
	policy   policy.Policy
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{limits: runner.DefaultLimits(), policy: policy.Default(), checks: bpftrace.CheckLimits{
		Timeout: bpftrace.DefaultCheckTimeout, MaxMemory: bpftrace.DefaultCheckMemory, MaxConcurrent: bpftrace.DefaultCheckConcurrency}}
	fs := flag.NewFlagSet("bpftrace-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bpftrace-mcp [flags]\n\nServes MCP over stdio: add it to your MCP client as a command.\nWith --http ADDR, serves Streamable HTTP at ADDR/mcp instead.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.bpftrace, "bpftrace", "", "path of the bpftrace binary (default: found in $PATH or the sbin directories)")
	fs.StringVar(&c.db, "db", "", "SQLite database for history and output (default: "+store.DefaultPath()+")")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level on stderr: debug, info, warn or error")
	fs.IntVar(&c.limits.MaxConcurrent, "max-concurrent", c.limits.MaxConcurrent, "executions running at once")
	fs.DurationVar(&c.limits.DefaultTimeout, "default-timeout", c.limits.DefaultTimeout, "timeout of a run that asks for none")
	fs.DurationVar(&c.limits.MaxTimeout, "max-timeout", c.limits.MaxTimeout, "longest timeout a run may ask for")
	fs.Int64Var(&c.limits.MaxOutputBytes, "max-output-bytes", c.limits.MaxOutputBytes, "output stored per execution; past it lines are counted as dropped")
	fs.IntVar(&c.limits.MaxProgramBytes, "max-program-bytes", c.limits.MaxProgramBytes, "largest program accepted")
	fs.IntVar(&c.answers.Default, "response-bytes", trace.DefaultAnswerBytes, "size of a get_result answer that sets no max_bytes (data and text together)")
	fs.IntVar(&c.answers.Ceiling, "max-response-bytes", trace.DefaultCeiling, "largest answer any request may get")
	fs.DurationVar(&c.execWait, "exec-wait", trace.DefaultMaxExecWait, "longest exec_program with wait waits before it answers with the run still going (keep it under the clients' request timeout, often 60s)")
	fs.IntVar(&c.retain.MaxExecutions, "retain-executions", 500, "executions kept in history (oldest finished ones are deleted first)")
	fs.Int64Var(&c.retain.MaxOutputBytes, "retain-bytes", 1<<30, "output bytes kept in history across all executions")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.BoolVar(&c.sudo, "sudo", false, "run bpftrace through `sudo -n` (needs a NOPASSWD rule for bpftrace; no password is ever asked for)")
	fs.StringVar(&c.config, "config", "", "TOML configuration file: limits, retention and the policy (see deploy/bpftrace-mcp.toml); flags win over it")
	fs.BoolVar(&c.readOnly, "read-only", false, "serve only the discovery tools (list_probes, describe_probe, list_helpers, validate_program, system_info): nothing runs")
	c.http.register(fs)
	c.http.registerAgent(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if c.config != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := loadConfig(c.config, c, set); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// run wires the server together and serves until the client goes away or
// a signal arrives; then it stops running traces gracefully and records them.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "doctor" {
		return doctor(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "fleet" {
		return runFleet(ctx, args[1:], stderr)
	}
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.version {
		fmt.Fprintln(stdout, "bpftrace-mcp", version())
		return nil
	}
	// Logs go to stderr (stdout is the protocol in stdio mode) and, through
	// the bridge, to clients that ask for log messages.
	bridge := mcpserver.NewLogBridge(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	log := slog.New(bridge)

	bin, err := bpftrace.Find(ctx, c.bpftrace)
	if err != nil {
		return err
	}
	bin.Checks = c.checks
	if c.sudo {
		if err := bin.UseSudo(ctx); err != nil {
			return err
		}
	}
	if p := host.CurrentPrivileges(); p.Mode == "insufficient" && !c.sudo {
		log.Warn("this process cannot run bpftrace: run the server as root, or pass --sudo with a NOPASSWD rule for bpftrace; `bpftrace-mcp doctor` says more",
			"uid", p.UID, "missing", p.Missing)
	} else {
		log.Info("privileges", "mode", map[bool]string{true: "sudo", false: p.Mode}[c.sudo], "capabilities", p.Capabilities)
	}
	// Before any bpftrace runs: the server and everything it starts go
	// into a cgroup of their own, which every trace excludes.
	self, err := isolate.Enter(isolate.Options{})
	if err != nil {
		log.Warn("the server has no cgroup of its own: traces exclude its pid, not the bpftrace processes it starts", "reason", self.Reason)
	}
	defer func() {
		if err := self.Close(); err != nil {
			log.Warn("leave the server's cgroup", "err", err)
		}
	}()
	path := c.db
	if path == "" {
		path = store.DefaultPath()
	}
	db, err := store.Open(ctx, path, &c.retain)
	var dbErr error
	if err != nil {
		// Tracing does not need history: keep serving, in memory, and say
		// so in the log and in system_info rather than refuse to start.
		dbErr = err
		log.Error("cannot use the database; history and output are kept in memory only until the server stops", "db", path, "err", err)
		if db, err = store.Open(ctx, ":memory:", &c.retain); err != nil {
			return err
		}
	}
	defer db.Close()

	// Servers on one database reap each other's leftovers: a server
	// restarted after a crash kills the bpftrace its predecessor left.
	scopeKey := path
	if abs, err := filepath.Abs(path); err == nil {
		scopeKey = abs
	}
	mgr, err := runner.New(runner.Options{Binary: bin, Store: db, Logger: log, Limits: c.limits,
		Scope: bpftrace.Scope(scopeKey)})
	if err != nil {
		return err
	}
	if rep, err := mgr.Recover(ctx); err != nil {
		log.Warn("clean up after a previous server", "err", err)
	} else if len(rep.Interrupted) > 0 {
		log.Info("marked executions of a previous server interrupted", "executions", rep.Interrupted)
	}
	cat := catalog.New(nil)
	val := validate.New(validate.Options{
		Binary:   bin,
		Catalog:  cat,
		Compiler: mgr,
		Policy:   &c.policy,
		Exclude:  &policy.Exclusion{CgroupID: self.CgroupID, PID: self.PID},
	})
	srv, err := mcpserver.New(mcpserver.Options{
		Runner:        mgr,
		Catalog:       cat,
		Binary:        bin,
		Validator:     val,
		Database:      path,
		DatabaseError: dbErr,
		ReadOnly:      c.readOnly,
		Audit:         audit.New(db, log),
		Logger:        log,
		Version:       version(),
		LogBridge:     bridge,
		SelfExclusion: self.Describe(),
		Answers:       c.answers,
		MaxExecWait:   c.execWait,
	})
	if err != nil {
		return err
	}
	var serveErr error
	if c.http.addr != "" {
		log.Info("serving MCP over HTTP", "bpftrace", bin.Path, "bpftrace_version", bin.Version.String(), "db", db.Path())
		serveErr = serveHTTP(ctx, &c.http, srv, log, mgr.Close)
	} else {
		log.Info("serving MCP on stdio", "bpftrace", bin.Path, "bpftrace_version", bin.Version.String(), "db", db.Path())
		serveErr = srv.ServeStdio(ctx)
	}

	// Give running traces the time they need to print their maps; the
	// grace period inside the runner escalates to SIGKILL.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := mgr.Close(closeCtx); err != nil {
		log.Error("stop running executions", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		return serveErr
	}
	return nil
}
