package runner

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// Options configure a [Manager].
type Options struct {
	Binary *bpftrace.Binary
	Store  *store.DB
	Logger *slog.Logger // nil: discard
	Limits Limits
	// Env is the environment given to bpftrace. Nil means a minimal PATH
	// plus every BPFTRACE_* variable of this process, so that an operator
	// can tune bpftrace (BPFTRACE_STRLEN, BPFTRACE_PERF_RB_PAGES, ...)
	// where the server is started.
	Env []string
	// Owner identifies this server in the store and in the environment of
	// the bpftrace it starts. Empty means [bpftrace.SelfOwner].
	Owner string
	// Scope groups the servers that reap each other's leftovers in
	// [Manager.Recover] (see [bpftrace.Scope]); the server derives it from
	// its database path. Empty means this Manager's own owner: it reaps
	// only what it left itself, so that tests running side by side never
	// kill each other's processes.
	Scope string
}

// Manager starts, watches and stops executions. It is safe for concurrent use.
type Manager struct {
	bin    *bpftrace.Binary
	db     *store.DB
	log    *slog.Logger
	limits Limits
	env    []string
	owner  string
	scope  string

	observer atomic.Pointer[func(id string, ended bool)]

	mu       sync.Mutex
	runs     map[string]*run // running or finishing in this process
	unsaved  map[string]*store.Execution
	storeErr error
	reserved int // slots taken by starts still being checked
	closed   bool
	wg       sync.WaitGroup
}

// ErrClosed is returned for requests made after [Manager.Close].
var ErrClosed = errors.New("the server is shutting down")

// New returns a Manager. Call [Manager.Recover] once at start and
// [Manager.Close] at the end.
func New(o Options) (*Manager, error) {
	if o.Binary == nil || o.Store == nil {
		return nil, errors.New("runner: Binary and Store are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	owner := o.Owner
	if owner == "" {
		var err error
		if owner, err = bpftrace.SelfOwner(); err != nil {
			return nil, fmt.Errorf("identify this server: %w", err)
		}
	}
	scope := o.Scope
	if scope == "" {
		scope = bpftrace.Scope(owner)
	}
	env := o.Env
	if env == nil {
		env = defaultEnv(os.Environ())
	}
	return &Manager{
		bin:     o.Binary,
		db:      o.Store,
		log:     log,
		limits:  o.Limits.withDefaults(),
		env:     env,
		owner:   owner,
		scope:   scope,
		runs:    map[string]*run{},
		unsaved: map[string]*store.Execution{},
	}, nil
}

func defaultEnv(environ []string) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, kv := range environ {
		if strings.HasPrefix(kv, "BPFTRACE_") && !strings.HasPrefix(kv, "BPFTRACE_MCP_") {
			env = append(env, kv)
		}
	}
	return env
}

// Observe sets a function called after new output of an execution is
// stored and once more when it has ended. It is called from the goroutine
// that writes the output, so it must return quickly (hand off, coalesce).
func (m *Manager) Observe(f func(id string, ended bool)) { m.observer.Store(&f) }

func (m *Manager) observe(id string, ended bool) {
	if f := m.observer.Load(); f != nil {
		(*f)(id, ended)
	}
}

// Limits returns the limits in force.
func (m *Manager) Limits() Limits { return m.limits }

// Owner is this server's identity in the store.
func (m *Manager) Owner() string { return m.owner }

// Env is the environment bpftrace runs with.
func (m *Manager) Env() []string { return slices.Clone(m.env) }

// RecoverReport says what [Manager.Recover] cleaned up.
type RecoverReport struct {
	Killed      []bpftrace.Orphan // bpftrace processes left by a dead server
	Interrupted []string          // executions marked failed/interrupted
}

// Recover cleans up after servers that died: it kills the bpftrace that
// servers of its scope left running and marks their executions interrupted, keeping the output
// they had stored. Executions of servers still alive are left alone, since
// several servers may share one database.
func (m *Manager) Recover(ctx context.Context) (RecoverReport, error) {
	var rep RecoverReport
	killed, err := bpftrace.SweepOrphans(m.scope)
	rep.Killed = killed
	for _, o := range killed {
		m.log.Warn("killed bpftrace left by a server that died", "pid", o.Pid, "owner", o.Owner)
	}
	ids, err2 := m.db.MarkInterrupted(ctx, func(owner string) bool {
		return owner == m.owner || bpftrace.OwnerAlive(owner)
	}, "the server running this execution stopped before it ended; the output stored until then is kept")
	rep.Interrupted = ids
	err3 := m.db.Prune(ctx)
	return rep, errors.Join(err, err2, err3)
}

// StartRequest asks for one execution.
type StartRequest struct {
	Program string
	Timeout *time.Duration // nil: the default
	Client  string         // who asked, for history and audit
	// Maps describes the program's maps, as validation derived it; the
	// decoder needs it to type what bpftrace's JSON loses.
	Maps output.Schema
	// Principal owns the execution (access.Principal's name): only it and
	// admins may see, read or stop it.
	Principal string
	// Unsafe passes --unsafe; only a policy that allows it may set it.
	Unsafe bool
}

// ProgramError is a program that bpftrace rejected; nothing was run.
type ProgramError struct {
	Diagnostics []bpftrace.Diagnostic
	Status      bpftrace.ExitStatus
	Other       []string
	// Check is bpftrace's verdict, when it was bpftrace that refused.
	Check *bpftrace.CheckResult
}

func (e *ProgramError) Error() string {
	var b strings.Builder
	b.WriteString("bpftrace rejected the program")
	for _, d := range e.Diagnostics {
		if d.Severity == bpftrace.SeverityWarning {
			continue
		}
		b.WriteString("\n")
		b.WriteString(d.String())
		if d.Source != "" {
			b.WriteString("\n    " + d.Source)
		}
	}
	for _, o := range e.Other {
		b.WriteString("\n" + o)
	}
	if e.Status.Signaled() {
		b.WriteString("\nbpftrace crashed (" + e.Status.String() + ")")
	}
	return b.String()
}

// ResolveTimeout resolves a requested timeout against the limits: nil means
// the default; anything outside [1s, MaxTimeout] is refused, never clamped.
func (m *Manager) ResolveTimeout(t *time.Duration) (time.Duration, error) {
	if t == nil {
		return m.limits.DefaultTimeout, nil
	}
	if *t < time.Second || *t > m.limits.MaxTimeout {
		return 0, timeoutError(*t, m.limits.MaxTimeout)
	}
	return *t, nil
}

// Check compiles a program with bpftrace without running it.
func (m *Manager) Check(ctx context.Context, program string, unsafe bool) (*bpftrace.CheckResult, error) {
	return m.bin.Check(ctx, program, bpftrace.RunOptions{Unsafe: unsafe}, m.Env())
}

// DumpAST reads bpftrace's own parse of a program without running it
// (validate.ASTDumper).
func (m *Manager) DumpAST(ctx context.Context, program string, unsafe bool) (*bpftrace.AST, error) {
	return m.bin.DumpAST(ctx, program, bpftrace.RunOptions{Unsafe: unsafe}, m.Env())
}

// startWait bounds how long Start waits for bpftrace's verdict on the
// program. A program it has neither refused nor attached by then is
// reported as started (its timeout counts from attach); an error after
// that makes a failed execution.
const startWait = 30 * time.Second

// Start runs the program and returns the new execution as soon as bpftrace
// has attached its probes: the run's own compile and attach are bpftrace's
// check, so a program is compiled once on its way to running. bpftrace
// reports compile errors, "No probes to attach" and attach errors before
// it traces anything; a program it rejects that way is a *ProgramError
// (with Check set) and creates no execution. A refused limit is a
// *LimitError. The caller does the checks that need no bpftrace first
// (parse, policy, probes): nothing reaches Start that they refuse.
func (m *Manager) Start(ctx context.Context, req StartRequest) (*store.Execution, error) {
	if len(req.Program) > m.limits.MaxProgramBytes {
		return nil, programSizeError(len(req.Program), m.limits.MaxProgramBytes)
	}
	if strings.TrimSpace(req.Program) == "" {
		return nil, &ProgramError{Other: []string{"the program is empty: write at least one probe, e.g. BEGIN { printf(\"hello\\n\"); exit(); }"}}
	}
	timeout, err := m.ResolveTimeout(req.Timeout)
	if err != nil {
		return nil, err
	}
	if err := m.reserve(req.Principal); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		m.release()
		return nil, err
	}
	opts, _ := json.Marshal(map[string]any{"timeout_seconds": timeout.Seconds(), "unsafe": req.Unsafe})
	now := time.Now().UTC()
	e := &store.Execution{
		ID:        id,
		Program:   req.Program,
		Options:   string(opts),
		Status:    StatusRunning,
		StartedAt: now,
		Owner:     m.owner,
		Client:    req.Client,
		Principal: req.Principal,
	}
	proc, err := m.bin.Start(m.bin.RunArgs(req.Program, bpftrace.RunOptions{Unsafe: req.Unsafe}),
		bpftrace.StartOptions{Env: m.env, Owner: m.owner, Scope: m.scope})
	if err != nil {
		m.release()
		return nil, fmt.Errorf("start bpftrace: %w", err)
	}
	r := newRun(m, e, proc, timeout, req)
	m.mu.Lock()
	m.reserved--
	m.runs[id] = r
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		r.supervise()
		m.mu.Lock()
		delete(m.runs, id)
		m.mu.Unlock()
	}()
	return m.admit(ctx, r, e)
}

// admit waits for bpftrace's verdict on a starting run and decides whether
// it is an execution (stored, returned) or a refused program (dropped, a
// *ProgramError).
func (m *Manager) admit(ctx context.Context, r *run, e *store.Execution) (*store.Execution, error) {
	refuse := func(err error) (*store.Execution, error) {
		r.requestStop(EndError) // a no-op for a run that has ended
		r.decide(false)
		<-r.finished
		return nil, err
	}
	wait := time.NewTimer(startWait)
	defer wait.Stop()
	select {
	case <-r.attached:
	case chk := <-r.early:
		if r.stopRequested() {
			return refuse(ErrClosed)
		}
		if chk.Status.Sent() {
			// Killed from outside while it compiled: no verdict on the
			// program, and not to be remembered as one.
			return refuse(fmt.Errorf("bpftrace was %s before it had compiled the program; nothing ran, and it may be tried again", chk.Status))
		}
		if !chk.OK() {
			chk.Took = time.Since(e.StartedAt)
			return refuse(&ProgramError{Diagnostics: chk.Stderr.Diagnostics, Status: chk.Status, Other: chk.Stderr.Other, Check: chk})
		}
		// It ended cleanly before it was seen attached (BEGIN { exit(); }
		// can end before anyone looks): a run.
	case <-wait.C:
	case <-ctx.Done():
		return refuse(fmt.Errorf("start execution: %w", context.Cause(ctx)))
	}
	if err := m.db.CreateExecution(context.WithoutCancel(ctx), e); err != nil {
		return refuse(fmt.Errorf("record execution: %w", err))
	}
	r.decide(true)
	m.log.Info("execution started", "execution_id", e.ID, "principal", e.Principal, "pid", r.proc.Pid, "timeout", r.timeout)
	return e, nil
}

// reserve takes a slot for a run of principal. When none is free, the
// error names principal's own runs only, and counts the others': the ids
// of another client's runs are not this caller's to see.
func (m *Manager) reserve(principal string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if len(m.runs)+m.reserved >= m.limits.MaxConcurrent {
		var ids []string
		others := m.reserved
		for id, r := range m.runs {
			if r.owner == principal {
				ids = append(ids, id)
			} else {
				others++
			}
		}
		slices.Sort(ids)
		if others > 0 {
			ids = append(ids, fmt.Sprintf("%d of other clients or being started", others))
		}
		return concurrencyError(m.limits.MaxConcurrent, ids)
	}
	m.reserved++
	return nil
}

func (m *Manager) release() {
	m.mu.Lock()
	m.reserved--
	m.mu.Unlock()
}

func (m *Manager) lookup(id string) *run {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs[id]
}

// Running returns the IDs of the executions this server is running.
func (m *Manager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.runs))
	for id := range m.runs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// StopResult is the answer to a stop request.
type StopResult struct {
	Execution *store.Execution
	// AlreadyEnded is set when the execution had ended before the request
	// (or another request stopped it first).
	AlreadyEnded bool
}

// ErrNotFound is returned for an execution ID the store does not know.
var ErrNotFound = store.ErrNotFound

// ErrNotOwned is returned when asked to stop an execution that another
// server process runs.
var ErrNotOwned = errors.New("execution is run by another server process")

// Stop stops an execution gracefully and waits until it has ended and its
// maps are stored. Stopping an execution that has ended is not an error:
// the result says so.
func (m *Manager) Stop(ctx context.Context, id string) (*StopResult, error) {
	if r := m.lookup(id); r != nil {
		first := r.requestStop(EndStopped)
		select {
		case <-r.finished:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for execution %s to stop: %w", id, context.Cause(ctx))
		}
		e, err := m.find(ctx, id)
		if err != nil {
			return nil, err
		}
		// A run that ended on its own while the request was on its way (it
		// is forgotten only after its end is stored) had already ended.
		return &StopResult{Execution: e, AlreadyEnded: !first || e.EndReason != EndStopped}, nil
	}
	e, err := m.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Status == StatusRunning {
		if e.Owner != m.owner && bpftrace.OwnerAlive(e.Owner) {
			return nil, fmt.Errorf("%w (owner %s): stop it through the server that started it", ErrNotOwned, e.Owner)
		}
	}
	return &StopResult{Execution: e, AlreadyEnded: true}, nil
}

func (m *Manager) find(ctx context.Context, id string) (*store.Execution, error) {
	e, err := m.db.FindExecution(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("execution %q: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("read execution %s: %w", id, err)
	}
	// The end of a run whose final update could not be stored (a full
	// disk) is known here only; the store still says running.
	m.mu.Lock()
	u, ok := m.unsaved[id]
	m.mu.Unlock()
	if ok && e.Status == StatusRunning {
		return u, nil
	}
	return e, nil
}

// keepUnsaved remembers the final state of an execution that could not be
// stored, so that this server still answers for it correctly.
func (m *Manager) keepUnsaved(e *store.Execution) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unsaved[e.ID] = e
}

// StoreError is the last error writing to the store, or nil: the server
// keeps running and says so (system_info) when its disk is full or
// read-only.
func (m *Manager) StoreError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.storeErr
}

func (m *Manager) setStoreError(err error) {
	m.mu.Lock()
	m.storeErr = err
	m.mu.Unlock()
}

// Close stops every running execution gracefully (their maps are kept and
// they end as interrupted) and waits for them, at most until ctx ends, when
// what is left is killed.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	runs := make([]*run, 0, len(m.runs))
	for _, r := range m.runs {
		runs = append(runs, r)
	}
	m.mu.Unlock()
	for _, r := range runs {
		r.requestStop(EndInterrupted)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, r := range runs {
			_ = r.proc.Kill()
		}
		<-done
		return fmt.Errorf("stop executions: %w", context.Cause(ctx))
	}
}

// newID returns a short random execution ID: 10 characters of lowercase
// base32, easy for an assistant to copy and unique enough for a history of
// millions (and checked by the store's primary key).
func newID() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate execution id: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]), nil
}

func ptr[T any](v T) *T { return &v }
