package fleet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/audit"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// Options configures a Gateway.
type Options struct {
	Discovery *Discovery
	Agents    *Clients
	DB        *store.DB
	// Check judges a program before it is sent anywhere: the same guard,
	// parser and policy every agent applies again on arrival. It returns
	// the refusal, if any, and the program's map schema (for the merge).
	Check func(ctx context.Context, program string) (output.Schema, error)
	// PollWait is how long one long-poll of an agent waits; zero means 10 s.
	PollWait time.Duration
	// MaxFailures is how many calls in a row may fail before a node is
	// given up; zero means 3.
	MaxFailures int
	Logger      *slog.Logger
	// Audit records who ran and stopped what; nil records nothing.
	Audit *audit.Log
}

// Gateway fans programs out to agents and gathers what they print into its
// own history, so results outlive the agents' pods.
type Gateway struct {
	o      Options
	ctx    context.Context // ends collectors at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	runs map[string]*fleetRun
}

// fleetRun is an execution whose collector is still gathering.
type fleetRun struct {
	id     string
	schema output.Schema
	done   chan struct{}

	mu       sync.Mutex // serialises appends: line numbers are dense
	lines    int64
	parts    map[string]*store.Part
	nodeMaps map[string][]*output.Map
}

// New returns a Gateway. Close it to stop its collectors.
func New(o Options) (*Gateway, error) {
	if o.Discovery == nil || o.Agents == nil || o.DB == nil || o.Check == nil {
		return nil, errors.New("fleet: Discovery, Agents, DB and Check are required")
	}
	if o.PollWait == 0 {
		o.PollWait = 10 * time.Second
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Gateway{o: o, ctx: ctx, cancel: cancel, runs: map[string]*fleetRun{}}, nil
}

// Close stops gathering. Runs on the agents go on to their own end; their
// executions in the gateway's history stay "running" until read again.
func (g *Gateway) Close() error {
	g.cancel()
	g.wg.Wait()
	return g.o.Agents.Close()
}

// ExecRequest is a program to run on a selection of nodes.
type ExecRequest struct {
	Program string
	// Timeout in seconds, passed to every agent; zero for the agents' default.
	Timeout int
	Nodes   Selection
	Target  *PodTarget
}

// NodeStatus is one node's part of a fleet execution.
type NodeStatus struct {
	Node        string `json:"node"`
	ExecutionID string `json:"execution_id,omitempty" jsonschema:"the agent's own execution id"`
	Status      string `json:"status" jsonschema:"running, completed or failed"`
	EndReason   string `json:"end_reason,omitempty"`
	Error       string `json:"error,omitempty"`
	LinesTotal  int64  `json:"lines_total"`
}

// Started says where a fleet execution runs.
type Started struct {
	ExecutionID string       `json:"execution_id"`
	Nodes       []NodeStatus `json:"nodes"`
	// Missing are nodes named in the selection that have no ready agent.
	Missing []string `json:"missing,omitempty"`
}

// ErrRefused wraps a refusal by the gateway's own checks.
var ErrRefused = errors.New("refused")

// agentExec is what an agent's exec_program returns.
type agentExec struct {
	Status      string `json:"status"`
	ExecutionID string `json:"execution_id"`
	Message     string `json:"message"`
}

// agentResult is the part of an agent's get_result the gateway reads.
type agentResult struct {
	Status       string           `json:"status"`
	EndReason    string           `json:"end_reason"`
	LinesTotal   int64            `json:"lines_total"`
	Output       []string         `json:"output"`
	HasMore      bool             `json:"has_more"`
	NextOffset   int64            `json:"next_offset"`
	ErrorMessage string           `json:"error_message"`
	Maps         []*trace.MapPage `json:"maps"`
}

// Exec checks a program once here, sends it to every selected node, and
// starts gathering. It returns as soon as every agent has answered.
func (g *Gateway) Exec(ctx context.Context, req ExecRequest) (started *Started, err error) {
	p, ok := access.FromContext(ctx)
	defer func() { g.audit(ctx, p, audit.ActionExec, req.Program, started, err) }()
	if !ok || !p.Role.CanRun() {
		return nil, fmt.Errorf("%w: running programs needs the operator or admin role", ErrRefused)
	}
	schema, err := g.o.Check(ctx, req.Program)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	agents, missing, err := g.o.Discovery.Select(req.Nodes)
	if err != nil {
		return nil, err
	}
	containers := map[string][]string{} // node -> container ids
	if req.Target != nil {
		pls, err := g.o.Discovery.placements(ctx, *req.Target)
		if err != nil {
			return nil, err
		}
		for _, pl := range pls {
			for _, c := range pl.Containers {
				containers[pl.Node] = append(containers[pl.Node], c.ID)
			}
		}
		var on []Agent
		for _, a := range agents {
			if len(containers[a.Node]) > 0 {
				on = append(on, a)
			}
		}
		if len(on) == 0 {
			return nil, fmt.Errorf("%w the target's nodes (its pods have no running container on a node with a ready agent)", ErrNoAgents)
		}
		agents = on
	}

	id, err := newID()
	if err != nil {
		return nil, err
	}
	run := &fleetRun{id: id, schema: schema, done: make(chan struct{}), parts: map[string]*store.Part{}, nodeMaps: map[string][]*output.Map{}}
	results := make([]NodeStatus, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() {
			args := map[string]any{"program": req.Program}
			if req.Timeout > 0 {
				args["timeout"] = req.Timeout
			}
			if ids := containers[a.Node]; len(ids) > 0 {
				args["target"] = map[string]any{"containers": ids}
			}
			var out agentExec
			ns := NodeStatus{Node: a.Node, Status: store.StatusRunning}
			if err := g.o.Agents.Call(ctx, a, "exec_program", args, &out); err != nil {
				ns.Status, ns.EndReason, ns.Error = store.StatusFailed, store.EndError, untrusted.Line(err.Error())
			} else {
				ns.ExecutionID = out.ExecutionID
			}
			results[i] = ns
		})
	}
	wg.Wait()

	nstarted := 0
	var errs []string
	for _, r := range results {
		run.parts[r.Node] = &store.Part{ExecutionID: id, Name: r.Node, RemoteID: r.ExecutionID, Status: r.Status, EndReason: r.EndReason, Error: r.Error}
		if r.Status == store.StatusRunning {
			nstarted++
		} else {
			errs = append(errs, r.Error)
		}
	}
	opts, _ := json.Marshal(map[string]any{"nodes": req.Nodes, "target": req.Target, "timeout": req.Timeout})
	e := &store.Execution{ID: id, Program: req.Program, Options: string(opts), Status: store.StatusRunning, Principal: p.Name, Client: p.Name}
	if nstarted == 0 {
		e.Status, e.EndReason = store.StatusFailed, store.EndError
		e.ErrorMessage = "no node started the program: " + strings.Join(errs, "; ")
	}
	if err := g.o.DB.CreateExecution(ctx, e); err != nil {
		return nil, err
	}
	parts := make([]store.Part, 0, len(run.parts))
	for _, r := range results {
		parts = append(parts, *run.parts[r.Node])
	}
	if err := g.o.DB.AddParts(ctx, parts); err != nil {
		return nil, err
	}
	if nstarted == 0 {
		return nil, errors.New(e.ErrorMessage)
	}
	g.mu.Lock()
	g.runs[id] = run
	g.mu.Unlock()
	g.wg.Go(func() { g.collect(run, agents) })
	return &Started{ExecutionID: id, Nodes: results, Missing: missing}, nil
}

// audit records a decision of the gateway's, with the caller's principal.
func (g *Gateway) audit(ctx context.Context, p access.Principal, action, program string, st *Started, err error) {
	if g.o.Audit == nil {
		return
	}
	e := &store.AuditEntry{Client: p.Name, Principal: p.Name, Role: string(p.Role), Action: action, Program: program, Decision: audit.Allowed}
	switch {
	case errors.Is(err, ErrRefused):
		e.Decision, e.Outcome = audit.Denied, "refused: "+err.Error()
	case err != nil:
		e.Outcome = "not started: " + err.Error()
	case st != nil:
		e.ExecutionID = st.ExecutionID
		var nodes []string
		for _, n := range st.Nodes {
			nodes = append(nodes, n.Node+"="+n.Status)
		}
		e.Outcome = "fanned out: " + strings.Join(nodes, ", ")
	}
	g.o.Audit.Record(ctx, e)
}

// collect gathers every node's output and final maps into the history,
// then merges the maps and ends the execution.
func (g *Gateway) collect(run *fleetRun, agents []Agent) {
	defer close(run.done)
	defer func() {
		g.mu.Lock()
		delete(g.runs, run.id)
		g.mu.Unlock()
	}()
	var wg sync.WaitGroup
	for _, a := range agents {
		if run.parts[a.Node].Status != store.StatusRunning {
			continue
		}
		wg.Go(func() { g.follow(run, a.Node) })
	}
	wg.Wait()
	if g.ctx.Err() != nil {
		return // closing: leave it running; the agents still have it
	}
	g.finish(run)
}

// follow long-polls one node until its run ends, it fails, or its agent
// disappears.
func (g *Gateway) follow(run *fleetRun, node string) {
	run.mu.Lock()
	part := run.parts[node]
	run.mu.Unlock()
	var offset int64
	failures := 0
	for g.ctx.Err() == nil {
		a, ok := g.agentOn(node)
		if !ok {
			g.endPart(run, part, store.StatusFailed, store.EndInterrupted, "the node's agent disappeared while the program ran", nil)
			return
		}
		var r agentResult
		err := g.o.Agents.Call(g.ctx, a, "get_result", map[string]any{
			"execution_id": part.RemoteID, "offset": offset, "limit": 5000,
			"wait_seconds": g.o.PollWait.Seconds(),
		}, &r)
		if err != nil {
			var te *ToolError
			failures++
			if errors.As(err, &te) || failures >= g.o.MaxFailures {
				g.endPart(run, part, store.StatusFailed, store.EndError, "lost the agent: "+err.Error(), nil)
				return
			}
			select {
			case <-g.ctx.Done():
				return
			case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
			}
			continue
		}
		failures = 0
		if len(r.Output) > 0 {
			g.appendLines(run, node, r.Output)
		}
		offset = r.NextOffset
		run.mu.Lock()
		part.LinesTotal = r.LinesTotal
		run.mu.Unlock()
		if r.Status != store.StatusRunning && !r.HasMore {
			maps, err := g.wholeMaps(a, part.RemoteID, r.Maps)
			if err != nil {
				g.endPart(run, part, store.StatusFailed, store.EndError, "could not read the node's maps: "+err.Error(), nil)
				return
			}
			g.endPart(run, part, r.Status, r.EndReason, r.ErrorMessage, maps)
			return
		}
	}
}

// maxMergeEntries bounds the entries of one map the gateway reads from one
// node to merge: past it the node's map is merged as far as it was read,
// and the merged map says so.
const maxMergeEntries = 100_000

// wholeMaps reads the rest of every map an agent's answer cut to its byte
// budget, a page at a time, so that the merge combines whole maps.
func (g *Gateway) wholeMaps(a Agent, id string, pages []*trace.MapPage) ([]*output.Map, error) {
	out := make([]*output.Map, 0, len(pages))
	for _, p := range pages {
		m := p.Map
		m.Entries = slices.Clone(p.Entries)
		next := p.Offset + len(p.Entries)
		for trunc := p.Truncated; trunc && len(m.Entries) < maxMergeEntries; {
			var r agentResult
			if err := g.o.Agents.Call(g.ctx, a, "get_result", map[string]any{
				"execution_id": id, "map": m.Name, "map_offset": next, "max_bytes": 64 << 10,
			}, &r); err != nil {
				return nil, err
			}
			if len(r.Maps) != 1 || len(r.Maps[0].Entries) == 0 {
				break
			}
			m.Entries = append(m.Entries, r.Maps[0].Entries...)
			next += len(r.Maps[0].Entries)
			trunc = r.Maps[0].Truncated
		}
		out = append(out, &m)
	}
	return out, nil
}

func (g *Gateway) agentOn(node string) (Agent, bool) {
	for _, a := range g.o.Discovery.Agents() {
		if a.Node == node && a.Addr != "" {
			return a, true
		}
	}
	return Agent{}, false
}

// appendLines stores a node's lines in the execution's output, each tagged
// with its node, in the order they arrive.
func (g *Gateway) appendLines(run *fleetRun, node string, lines []string) {
	tagged := make([]string, len(lines))
	for i, l := range lines {
		// Agents escape their lines; a line is still checked here, where
		// it becomes this server's answer.
		tagged[i] = untrusted.Line("[" + node + "] " + l)
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	first := run.lines
	run.lines += int64(len(tagged))
	if err := g.o.DB.AppendOutput(g.ctx, run.id, first, tagged, store.OutputCounters{LinesTotal: run.lines}); err != nil {
		g.o.Logger.Warn("fleet: store output", "execution", run.id, "node", node, "err", err)
	}
}

func (g *Gateway) endPart(run *fleetRun, part *store.Part, status, reason, msg string, maps []*output.Map) {
	run.mu.Lock()
	// A node's error is one escaped line: it may quote what the agent said.
	part.Status, part.EndReason, part.Error = status, reason, untrusted.Line(msg)
	if maps != nil {
		run.nodeMaps[part.Name] = maps
		if b, err := json.Marshal(maps); err == nil {
			part.Maps = string(b)
		}
	}
	p := *part
	run.mu.Unlock()
	if err := g.o.DB.UpdatePart(g.ctx, p); err != nil {
		g.o.Logger.Warn("fleet: store node status", "execution", run.id, "node", p.Name, "err", err)
	}
}

// finish merges the nodes' maps and ends the execution: completed when any
// node completed (a partial result says so in its per-node statuses),
// failed when none did.
func (g *Gateway) finish(run *fleetRun) {
	run.mu.Lock()
	var nodes []NodeMaps
	completed, failed := 0, 0
	var reasons []string
	for name, p := range run.parts {
		switch p.Status {
		case store.StatusCompleted:
			completed++
			reasons = append(reasons, p.EndReason)
		default:
			failed++
		}
		if m := run.nodeMaps[name]; m != nil {
			nodes = append(nodes, NodeMaps{Node: name, Maps: m})
		}
	}
	lines := run.lines
	run.mu.Unlock()

	merged := MergeNodes(run.schema, nodes)
	u := store.ExecutionUpdate{EndedAt: new(time.Now().UTC()), LinesTotal: &lines}
	if b, err := json.Marshal(merged); err == nil {
		u.Maps = new(string(b))
	}
	status, reason := store.StatusCompleted, commonReason(reasons)
	if completed == 0 {
		status, reason = store.StatusFailed, store.EndError
	}
	u.Status, u.EndReason = &status, &reason
	if failed > 0 {
		u.ErrorMessage = new(fmt.Sprintf("partial result: %d of %d nodes did not complete (see nodes)", failed, failed+completed))
	}
	if err := g.o.DB.UpdateExecution(context.Background(), run.id, u); err != nil {
		g.o.Logger.Warn("fleet: end execution", "execution", run.id, "err", err)
	}
}

// commonReason is the nodes' shared end reason, or "exit" when they differ
// (each node's own is in its status).
func commonReason(rs []string) string {
	if len(rs) == 0 {
		return store.EndError
	}
	for _, r := range rs[1:] {
		if r != rs[0] {
			return store.EndExit
		}
	}
	return rs[0]
}

// ErrNotFound is the answer for an execution that does not exist or that
// the caller may not see: the two read the same, so that one client cannot
// learn of another's runs.
var ErrNotFound = errors.New("no such fleet execution")

// Find returns the execution id if the caller in ctx may see it.
func (g *Gateway) Find(ctx context.Context, id string) (*store.Execution, error) {
	p, ok := access.FromContext(ctx)
	e, err := g.o.DB.FindExecution(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!ok || !p.Owns(e.Principal)) {
		return nil, fmt.Errorf("%w: %q (list_executions shows yours)", ErrNotFound, id)
	}
	return e, err
}

// List returns the executions the caller in ctx may see, newest first.
func (g *Gateway) List(ctx context.Context, limit int) ([]*store.Execution, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, nil
	}
	f := store.ExecutionFilter{Limit: limit}
	if !p.Role.SeesAll() {
		f.Principal = p.Name
	}
	return g.o.DB.ListExecutions(ctx, f)
}

// Output returns a page of an execution's lines, each tagged with its
// node. Callers have found the execution with Find.
func (g *Gateway) Output(ctx context.Context, id string, offset, limit int64, maxBytes int) ([]string, error) {
	return g.o.DB.ReadOutput(ctx, id, offset, limit, maxBytes)
}

// Parts returns each node's part of an execution, with its own maps.
// Callers have found the execution with Find.
func (g *Gateway) Parts(ctx context.Context, id string) ([]store.Part, error) {
	return g.o.DB.Parts(ctx, id)
}

// Agents returns the agents discovery knows now.
func (g *Gateway) Agents() []Agent { return g.o.Discovery.Agents() }

// Wait blocks until the gathering of id has ended or ctx ends.
func (g *Gateway) Wait(ctx context.Context, id string) error {
	g.mu.Lock()
	run := g.runs[id]
	g.mu.Unlock()
	if run == nil {
		return nil
	}
	select {
	case <-run.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Nodes returns the per-node status of an execution.
func (g *Gateway) Nodes(ctx context.Context, id string) ([]NodeStatus, error) {
	g.mu.Lock()
	run := g.runs[id]
	g.mu.Unlock()
	var parts []store.Part
	if run != nil {
		run.mu.Lock()
		for _, p := range run.parts {
			parts = append(parts, *p)
		}
		run.mu.Unlock()
	} else {
		var err error
		if parts, err = g.o.DB.Parts(ctx, id); err != nil {
			return nil, err
		}
	}
	out := make([]NodeStatus, 0, len(parts))
	for _, p := range parts {
		out = append(out, NodeStatus{Node: p.Name, ExecutionID: p.RemoteID, Status: p.Status, EndReason: p.EndReason, Error: p.Error, LinesTotal: p.LinesTotal})
	}
	sortNodes(out)
	return out, nil
}

// Stop asks every node still running id to stop, as Ctrl-C does, and
// waits for the gathering to end.
func (g *Gateway) Stop(ctx context.Context, id string) error {
	if p, ok := access.FromContext(ctx); !ok || !p.Role.CanRun() {
		return fmt.Errorf("%w: stopping runs needs the operator or admin role", ErrRefused)
	}
	if _, err := g.Find(ctx, id); err != nil {
		return err
	}
	nodes, err := g.Nodes(ctx, id)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.Status != store.StatusRunning {
			continue
		}
		a, ok := g.agentOn(n.Node)
		if !ok {
			continue
		}
		wg.Go(func() {
			if err := g.o.Agents.Call(ctx, a, "stop_execution", map[string]any{"execution_id": n.ExecutionID}, nil); err != nil {
				g.o.Logger.Warn("fleet: stop", "execution", id, "node", n.Node, "err", err)
			}
		})
	}
	wg.Wait()
	return g.Wait(ctx, id)
}

func newID() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fleet: execution id: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "f" + string(b[1:]), nil
}
