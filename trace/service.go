package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

// Options configure a [Service].
type Options struct {
	Runner    *runner.Manager
	Validator *validate.Validator
	// Audit records every decision; nil records nothing.
	Audit *audit.Log
	// Budget bounds every answer's size.
	Budget Budget
	// MaxExecWait is the longest exec with wait waits for a run to end
	// before it answers with the run still going; 0 means 45 seconds,
	// under the 60 seconds many clients wait for a tool.
	MaxExecWait time.Duration
	Logger      *slog.Logger // nil: discard
}

// Service decides about programs and runs them. It is safe for concurrent
// use.
type Service struct {
	o      Options
	log    *slog.Logger
	budget Budget
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Runner == nil || o.Validator == nil {
		return nil, errors.New("trace: Runner and Validator are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.MaxExecWait <= 0 {
		o.MaxExecWait = DefaultMaxExecWait
	}
	return &Service{o: o, log: log, budget: o.Budget.withDefaults()}, nil
}

// DefaultMaxExecWait is the longest exec with wait waits by default.
const DefaultMaxExecWait = 45 * time.Second

// Budget returns the answer budget in force.
func (s *Service) Budget() Budget { return s.budget }

// Limits returns the runner's limits in force.
func (s *Service) Limits() runner.Limits { return s.o.Runner.Limits() }

// Request is a program to check or run.
type Request struct {
	Program string
	// Target, when set, confines the run to one process, command or
	// cgroup: the policy checks it and its predicate is added to the
	// program.
	Target *policy.Scope
	// Timeout is how long the run may last; nil means the default.
	Timeout *time.Duration
	// Client describes the client in history and audit (its name and
	// version, its session). It is the client's say-so; the Principal is
	// who it is.
	Client string
	// Approver asks the person behind the client about a program the
	// policy leaves to a person (sensitive.approval = "elicit"); nil
	// refuses such a program.
	Approver Approver
}

// ErrForbidden is returned when the caller's role does not allow the
// request.
var ErrForbidden = errors.New("not allowed for this caller's role")

// RefusedError is a program that was not started because of what it says:
// Result holds the diagnostics, with line, column and a hint each.
type RefusedError struct {
	Result *validate.Result
	// ByBpftrace is set when bpftrace's own compiler refused it, after the
	// server's checks let it through.
	ByBpftrace bool
}

func (e *RefusedError) Error() string {
	return "the program was not started: " + e.Result.FirstError()
}

// Validate checks a program without running it, as [Service.Exec] would,
// and records the verdict.
func (s *Service) Validate(ctx context.Context, p access.Principal, req Request) (*validate.Result, error) {
	if err := s.checkSize(req.Program); err != nil {
		return nil, err
	}
	r, err := s.o.Validator.Full(ctx, req.Program, req.Target)
	if err != nil {
		return nil, err
	}
	outcome := "valid"
	if !r.Valid() {
		outcome = "invalid: " + r.FirstError()
	}
	s.record(ctx, p, decision{action: audit.ActionValidate, req: req, v: r, outcome: outcome})
	return r, nil
}

// Started is a run that began.
type Started struct {
	Execution *store.Execution
	// Timeout is how long it may run.
	Timeout time.Duration
	// Validation is the verdict of the checks it passed (warnings, the
	// probes it attaches).
	Validation *validate.Result
}

// Exec checks a program and, when nothing refuses it, starts it and
// returns at once. A program refused for what it says is a *RefusedError;
// a refused limit is a *runner.LimitError.
func (s *Service) Exec(ctx context.Context, p access.Principal, req Request) (*Started, error) {
	if !p.Role.CanRun() {
		err := fmt.Errorf("%w: %s may validate programs but not run them: running needs the operator or admin role (ask the administrator for a token with one)", ErrForbidden, p)
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, outcome: "refused: " + err.Error(), denied: true, rule: "role"})
		return nil, err
	}
	timeout, err := s.o.Runner.ResolveTimeout(req.Timeout)
	if err != nil {
		return nil, err
	}
	// The fast checks first: a program they refuse never reaches bpftrace
	// (bpftrace 0.17 aborts on an unknown probe type, and skips a missing
	// uprobe silently). They begin with the preprocessor guard, before
	// anything else reads the program.
	v := s.o.Validator.Static(ctx, req.Program, req.Target)
	// bpftrace's own reading of a program that could reach clang must match
	// what the policy judged (free when validate_program saw it first).
	if summary, ok := v.NeedsApproval(); ok {
		if err := s.askApproval(ctx, p, req, v, summary); err != nil {
			return nil, err
		}
	}
	if err := s.o.Validator.Differential(ctx, v); err != nil {
		return nil, err
	}
	if !v.Valid() {
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: "refused: " + v.FirstError()})
		return nil, &RefusedError{Result: v}
	}
	// bpftrace's compiler is not run here: the run's own compile and
	// attach are its check, and a refusal comes back from Start (see
	// runner.Manager.Start). A program bpftrace refused before, to
	// validate_program or at a start, is refused again without a run.
	if s.o.Validator.KnownRefusal(ctx, v) {
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: "refused by bpftrace: " + v.FirstError()})
		return nil, &RefusedError{Result: v, ByBpftrace: true}
	}
	// bpftrace opens the binaries by the canonical paths the policy judged;
	// they must still be those files.
	if err := v.VerifyBinaries(); err != nil {
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: "refused: " + err.Error()})
		return nil, fmt.Errorf("a binary the program probes changed after it was checked (%w); check and run it again", err)
	}
	e, err := s.o.Runner.Start(ctx, runner.StartRequest{
		// avg() runs as stats() where nothing reads the map, so that its
		// result carries count and total; the schema keeps it an avg().
		Program:   validate.AvgAsStats(v.Source),
		Unsafe:    v.Unsafe,
		Timeout:   &timeout,
		Client:    req.Client,
		Maps:      v.Maps,
		Principal: p.Name,
	})
	if perr, ok := errors.AsType[*runner.ProgramError](err); ok && perr.Check != nil {
		s.o.Validator.AddCompilerDiagnostics(ctx, v, perr.Check)
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: "refused by bpftrace: " + v.FirstError()})
		return nil, &RefusedError{Result: v, ByBpftrace: true}
	}
	if err != nil {
		outcome := "not started: "
		if _, ok := errors.AsType[*runner.ProgramError](err); ok {
			outcome = "refused: "
		}
		s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, outcome: outcome + err.Error()})
		return nil, err
	}
	s.record(ctx, p, decision{action: audit.ActionExec, req: req, v: v, id: e.ID, outcome: "started"})
	return &Started{Execution: e, Timeout: timeout, Validation: v}, nil
}

func (s *Service) checkSize(program string) error {
	if max := s.o.Runner.Limits().MaxProgramBytes; len(program) > max {
		return fmt.Errorf("program is %d bytes, more than the %d allowed", len(program), max)
	}
	return nil
}
