package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// FleetOptions configures the fleet gateway's MCP surface.
type FleetOptions struct {
	Gateway *fleet.Gateway
	Logger  *slog.Logger
	Version string
	// MaxBytes is the default byte budget of one answer's output and maps;
	// zero means the host server's (32 KiB). Ceiling is the most any answer
	// may be; zero means the host server's (64 KiB).
	MaxBytes, Ceiling int
	// MaxWait bounds exec_program's wait, below common client timeouts;
	// zero means 45 s.
	MaxWait time.Duration
}

// NewFleet returns the fleet gateway's MCP server: the host server's run
// tools with a node selection, plus list_nodes, over the same transports,
// authentication and roles as a host's.
func NewFleet(o FleetOptions) (*Server, error) {
	if o.Gateway == nil {
		return nil, errors.New("mcpserver: Gateway is required")
	}
	g := o.Gateway
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Ceiling == 0 {
		o.Ceiling = trace.DefaultCeiling
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = min(trace.DefaultAnswerBytes, o.Ceiling)
	}
	if o.MaxWait == 0 {
		o.MaxWait = 45 * time.Second
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "bpftrace-mcp-fleet", Version: o.Version}, &mcp.ServerOptions{
		Logger: log,
		Instructions: "Traces many nodes of a Kubernetes cluster with bpftrace at once. list_nodes shows the nodes and their agents; " +
			"exec_program runs one program on a selection of nodes (all by default) or where a pod runs; get_result merges what they print: " +
			"maps are combined as the aggregations they are, lines are tagged with their node, and each node's status is listed.",
	})
	srv := &Server{log: log, mcp: s, ceiling: o.Ceiling}
	s.AddReceivingMiddleware(withPrincipal)
	s.AddReceivingMiddleware(srv.capAnswers)
	h := &fleetHandlers{g: g, o: o}
	ro, closed := true, false
	mcp.AddTool(s, &mcp.Tool{Name: "list_nodes", Title: "List the nodes and their agents",
		Description: "Nodes with a bpftrace-mcp agent: node name, agent pod, whether the agent and the node are ready. A program runs only on nodes whose agent is ready.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: ro, OpenWorldHint: &closed}}, h.listNodes)
	mcp.AddTool(s, &mcp.Tool{Name: "exec_program", Title: "Run a bpftrace program on many nodes",
		Description: "Check a bpftrace program once, here, then start it on every selected node (nodes: names and/or node_selector; default every node with a ready agent) " +
			"and return an execution_id at once. target {pod: \"ns/name\"} or {namespace, labels} confines the run to those pods' containers, on the nodes where they run. " +
			"Each agent applies the same policy again. Read the merged result with get_result.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: &closed, OpenWorldHint: &closed}}, h.exec)
	mcp.AddTool(s, &mcp.Tool{Name: "get_result", Title: "Read a fleet run's merged result",
		Description: "Status of a fleet execution with each node's status, output lines tagged [node] (paged by offset/limit and max_bytes), and the maps merged across nodes: counts and sums added, " +
			"min/max combined, histogram buckets added, stats averages recomputed; maps whose values do not combine come per node (per_node). per_node: true adds each node's own maps. " +
			"wait_seconds waits for the end. A node that failed or vanished gives a partial result, never a hang.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: ro, OpenWorldHint: &closed}}, h.result)
	mcp.AddTool(s, &mcp.Tool{Name: "stop_execution", Title: "Stop a fleet run",
		Description: "Stop a fleet execution on every node as Ctrl-C does (END runs, maps are kept), then merge.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: &closed, IdempotentHint: true, OpenWorldHint: &closed}}, h.stop)
	mcp.AddTool(s, &mcp.Tool{Name: "list_executions", Title: "List fleet runs",
		Description: "Fleet executions, newest first, kept in the gateway's own history so results outlive the agents' pods.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: ro, OpenWorldHint: &closed}}, h.list)
	return srv, nil
}

type fleetHandlers struct {
	g *fleet.Gateway
	o FleetOptions
}

type fleetNodesOut struct {
	Nodes []fleet.Agent `json:"nodes" jsonschema:"the nodes; in a large fleet those whose agent is not ready first, then as many ready ones as fit"`
	Ready int           `json:"ready" jsonschema:"agents a program can run on now"`
	Total int           `json:"total" jsonschema:"nodes with an agent, listed or not"`
}

func (h *fleetHandlers) listNodes(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, fleetNodesOut, error) {
	as := h.g.Agents()
	out := fleetNodesOut{Total: len(as)}
	for _, a := range as {
		if a.Ready && a.NodeReady {
			out.Ready++
		}
	}
	// The data goes twice into the answer (see read).
	out.Nodes = fitAgents(as, h.o.MaxBytes/2-ceilingEnvelope-fleetEnvelope)
	return nil, out, nil
}

// fitAgents keeps the agents that fit in share bytes of JSON: those not
// ready first (what an operator needs to see), each group by node name.
func fitAgents(as []fleet.Agent, share int) []fleet.Agent {
	if jsonLen(as) <= share {
		return as
	}
	ready := func(a fleet.Agent) bool { return a.Ready && a.NodeReady }
	ordered := slices.Clone(as)
	slices.SortStableFunc(ordered, func(a, b fleet.Agent) int {
		switch ra, rb := ready(a), ready(b); {
		case ra == rb:
			return strings.Compare(a.Node, b.Node)
		case rb:
			return -1
		}
		return 1
	})
	kept, used := []fleet.Agent{}, 2
	for _, a := range ordered {
		if used += jsonLen(a) + 1; used > share {
			break
		}
		kept = append(kept, a)
	}
	return kept
}

type fleetExecIn struct {
	Program string           `json:"program" jsonschema:"the bpftrace program"`
	Timeout int              `json:"timeout,omitempty" jsonschema:"seconds each node runs it (the agents' default and limits apply)"`
	Nodes   fleet.Selection  `json:"nodes,omitzero"`
	Target  *fleet.PodTarget `json:"target,omitempty"`
	Wait    bool             `json:"wait,omitempty" jsonschema:"wait for the end (at most about 45 s; then the run goes on and get_result reads it)"`
}

type fleetExecOut struct {
	Status      string             `json:"status" jsonschema:"success when at least one node started the program"`
	ExecutionID string             `json:"execution_id,omitempty"`
	Message     string             `json:"message"`
	Nodes       []fleet.NodeStatus `json:"nodes,omitempty" jsonschema:"where it started, or failed to; in a large fleet the nodes that failed first, then as many others as fit (node_counts has them all)"`
	NodeCounts  map[string]int     `json:"node_counts,omitempty" jsonschema:"how many nodes are in each status, when nodes lists only some"`
	Missing     []string           `json:"missing,omitempty" jsonschema:"selected nodes with no ready agent"`
	Result      *fleetResultOut    `json:"result,omitempty"`
}

func (h *fleetHandlers) exec(ctx context.Context, req *mcp.CallToolRequest, in fleetExecIn) (*mcp.CallToolResult, fleetExecOut, error) {
	st, err := h.g.Exec(ctx, fleet.ExecRequest{Program: in.Program, Timeout: in.Timeout, Nodes: in.Nodes, Target: in.Target})
	if err != nil {
		return nil, fleetExecOut{}, err
	}
	started := 0
	for _, n := range st.Nodes {
		if n.Status == store.StatusRunning {
			started++
		}
	}
	out := fleetExecOut{Status: "success", ExecutionID: st.ExecutionID, Missing: st.Missing,
		Message: fmt.Sprintf("Started fleet execution %s on %d of %d nodes. Read the merged result with get_result.", st.ExecutionID, started, len(st.Nodes))}
	// The data goes twice into the answer (see read): a quarter of the
	// budget's data half for the node list.
	out.Nodes, out.NodeCounts = fitNodes(st.Nodes, h.o.MaxBytes/8)
	if in.Wait {
		wctx, cancel := context.WithTimeout(ctx, h.o.MaxWait)
		defer cancel()
		_ = h.g.Wait(wctx, st.ExecutionID)
		// The result shares the answer with what is above.
		r, err := h.read(ctx, fleetResultIn{ExecutionID: st.ExecutionID, MaxBytes: max(h.o.MaxBytes-answerLen(&out), minFleetAnswer)})
		if err != nil {
			return nil, fleetExecOut{}, err
		}
		out.Result = r
	}
	return nil, out, nil
}

type fleetResultIn struct {
	ExecutionID string  `json:"execution_id"`
	Offset      int64   `json:"offset,omitempty" jsonschema:"first line to return (0-based)"`
	Limit       int64   `json:"limit,omitempty" jsonschema:"most lines to return (default 1000)"`
	MaxBytes    int     `json:"max_bytes,omitempty" jsonschema:"byte budget of lines and maps together (default 32768)"`
	WaitSeconds float64 `json:"wait_seconds,omitempty" jsonschema:"wait up to this long (0-60) for the run to end"`
	PerNode     bool    `json:"per_node,omitempty" jsonschema:"add each node's own maps"`
}

type fleetResultOut struct {
	ExecutionID   string                       `json:"execution_id"`
	Status        string                       `json:"status" jsonschema:"running, completed or failed; completed with failed nodes is a partial result"`
	EndReason     string                       `json:"end_reason,omitempty"`
	ErrorMessage  string                       `json:"error_message,omitempty"`
	Nodes         []fleet.NodeStatus           `json:"nodes" jsonschema:"each node's status; in a large fleet the nodes that did not complete first, then as many others as fit (node_counts has them all)"`
	NodeCounts    map[string]int               `json:"node_counts,omitempty" jsonschema:"how many nodes are in each status, when nodes lists only some"`
	LinesTotal    int64                        `json:"lines_total"`
	LinesReturned int                          `json:"lines_returned"`
	Output        []string                     `json:"output" jsonschema:"lines tagged [node], in the order they arrived"`
	HasMore       bool                         `json:"has_more"`
	NextOffset    int64                        `json:"next_offset"`
	Maps          []fleet.MergedMap            `json:"maps,omitempty" jsonschema:"the maps merged across nodes, most significant entries first within the budget"`
	MapsTruncated bool                         `json:"maps_truncated,omitempty"`
	NodeMaps      map[string][]fleet.MergedMap `json:"node_maps,omitempty"`
}

func (h *fleetHandlers) result(ctx context.Context, req *mcp.CallToolRequest, in fleetResultIn) (*mcp.CallToolResult, fleetResultOut, error) {
	if in.WaitSeconds > 0 {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(min(in.WaitSeconds, 60)*float64(time.Second)))
		_ = h.g.Wait(wctx, in.ExecutionID)
		cancel()
	}
	r, err := h.read(ctx, in)
	if err != nil {
		return nil, fleetResultOut{}, err
	}
	return nil, *r, nil
}

func (h *fleetHandlers) read(ctx context.Context, in fleetResultIn) (*fleetResultOut, error) {
	e, err := h.g.Find(ctx, in.ExecutionID)
	if err != nil {
		return nil, err
	}
	budget := in.MaxBytes
	if budget <= 0 {
		budget = h.o.MaxBytes
	}
	budget = min(budget, h.o.Ceiling)
	// The budget is the whole answer's, as the host server's is. The
	// answer carries its data twice, as structured content and as the text
	// of the same JSON (the SDK's rendering), which JSON escaping makes
	// larger still: the data starts with half the budget and is cut until
	// the answer, measured whole, fits.
	data := budget/2 - ceilingEnvelope - fleetEnvelope
	for {
		out, err := h.fill(ctx, e, in, max(data, 0))
		if err != nil {
			return nil, err
		}
		size := answerLen(out)
		if size <= budget || data <= 0 {
			return out, nil
		}
		data = data*budget/size - fleetEnvelope
	}
}

// answerLen is the size of an answer carrying out as the client receives
// it: the structured content, its text rendering as a JSON string, and the
// frame around them.
func answerLen(out any) int {
	b, err := json.Marshal(out)
	if err != nil {
		return 0
	}
	return len(b) + jsonLen(string(b)) + ceilingEnvelope
}

// fill reads an execution's answer with budget bytes for its data.
func (h *fleetHandlers) fill(ctx context.Context, e *store.Execution, in fleetResultIn, budget int) (*fleetResultOut, error) {
	whole := budget
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	nodes, err := h.g.Nodes(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	out := &fleetResultOut{ExecutionID: e.ID, Status: e.Status, EndReason: e.EndReason, ErrorMessage: untrusted.Text(e.ErrorMessage), LinesTotal: e.LinesTotal}
	out.Nodes, out.NodeCounts = fitNodes(nodes, budget/4)
	budget = max(budget-jsonLen(out), 0)
	// Maps first: they are the answer a fleet question is usually after.
	var maps []fleet.MergedMap
	if e.Maps != "" {
		if err := json.Unmarshal([]byte(e.Maps), &maps); err != nil {
			return nil, fmt.Errorf("stored maps of %s: %w", e.ID, err)
		}
	}
	out.Maps, out.MapsTruncated, budget = fitMaps(maps, budget/2+budget%2, budget)
	lines, err := h.g.Output(ctx, e.ID, in.Offset, limit, max(budget, 1))
	if err != nil {
		return nil, err
	}
	for i, l := range lines {
		lines[i] = untrusted.Line(l) // stored escaped; checked where it is answered
	}
	out.Output = lines
	if out.Output == nil {
		out.Output = []string{}
	}
	// What the lines took is not the per-node maps' to spend.
	budget = max(budget-jsonLen(out.Output), 0)
	out.LinesReturned = len(lines)
	out.NextOffset = in.Offset + int64(len(lines))
	out.HasMore = out.NextOffset < e.LinesTotal
	if in.PerNode {
		out.NodeMaps = map[string][]fleet.MergedMap{}
		parts, err := h.g.Parts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		var nodeMaps []fleet.NodeMaps
		for _, pt := range parts {
			if pt.Maps == "" {
				continue
			}
			nm := fleet.NodeMaps{Node: pt.Name}
			if err := json.Unmarshal([]byte(pt.Maps), &nm.Maps); err != nil {
				continue
			}
			nodeMaps = append(nodeMaps, nm)
		}
		// Each node gets an equal share of what is left; the maps' own
		// fields and the node names are measured after the fact, and
		// the shares halved until the data fits.
		for share := budget / max(len(nodeMaps), 1); ; share /= 2 {
			for _, nm := range nodeMaps {
				out.NodeMaps[nm.Node], _, _ = fitMaps(fleet.MergeNodes(nil, []fleet.NodeMaps{nm}), share, share)
			}
			if share == 0 || jsonLen(out) <= whole {
				break
			}
		}
	}
	return out, nil
}

// minFleetAnswer is the least budget a fleet answer's result is read with.
const minFleetAnswer = 4 << 10

// fitNodes keeps the node statuses that fit in share bytes of JSON, the
// nodes that did not complete first (they are what a partial result is
// about), each group by name. When some are left out it also returns how
// many nodes are in each status; when all fit, counts is nil.
func fitNodes(nodes []fleet.NodeStatus, share int) (kept []fleet.NodeStatus, counts map[string]int) {
	if jsonLen(nodes) <= share {
		return nodes, nil
	}
	counts = map[string]int{}
	for _, n := range nodes {
		counts[n.Status]++
	}
	ordered := slices.Clone(nodes)
	slices.SortStableFunc(ordered, func(a, b fleet.NodeStatus) int {
		ac, bc := a.Status == store.StatusCompleted, b.Status == store.StatusCompleted
		switch {
		case ac == bc:
			return strings.Compare(a.Node, b.Node)
		case bc:
			return -1
		}
		return 1
	})
	used := jsonLen(counts) + len(`,"node_counts":`)
	kept = []fleet.NodeStatus{}
	for _, n := range ordered {
		if used += jsonLen(n) + 1; used > share {
			break
		}
		kept = append(kept, n)
	}
	return kept, counts
}

// fleetEnvelope is what a fleet answer holds besides its lines, map
// entries and the fields measured before they are added (map names and
// summaries, the paging fields), rounded up.
const fleetEnvelope = 1 << 10

// fitMaps keeps, for each map, its most significant entries while they fit
// in share bytes; it returns the maps, whether any entry was left out, and
// the budget that remains of total.
func fitMaps(maps []fleet.MergedMap, share, total int) ([]fleet.MergedMap, bool, int) {
	used, cut := 0, false
	out := make([]fleet.MergedMap, 0, len(maps))
	for _, m := range maps {
		kept := *m.Map
		kept.Entries = nil
		// The map's own fields (name, type, summary) count too: with many
		// maps, or many nodes' maps, they add up.
		used += jsonLen(fleet.MergedMap{Map: &kept, Nodes: m.Nodes, PerNode: m.PerNode})
		for _, i := range m.Ranked() {
			n := m.Entries[i].JSONSize()
			if used+n > share {
				cut = true
				break
			}
			used += n
			kept.Entries = append(kept.Entries, m.Entries[i])
		}
		out = append(out, fleet.MergedMap{Map: &kept, Nodes: m.Nodes, PerNode: m.PerNode})
	}
	return out, cut, max(total-used, 0)
}

type fleetStopIn struct {
	ExecutionID string `json:"execution_id"`
}

type fleetStopOut struct {
	ExecutionID string             `json:"execution_id"`
	Nodes       []fleet.NodeStatus `json:"nodes"`
	Message     string             `json:"message"`
}

func (h *fleetHandlers) stop(ctx context.Context, req *mcp.CallToolRequest, in fleetStopIn) (*mcp.CallToolResult, fleetStopOut, error) {
	e, err := h.g.Find(ctx, in.ExecutionID)
	if err != nil {
		return nil, fleetStopOut{}, err
	}
	if err := h.g.Stop(ctx, e.ID); err != nil {
		return nil, fleetStopOut{}, err
	}
	nodes, err := h.g.Nodes(ctx, e.ID)
	if err != nil {
		return nil, fleetStopOut{}, err
	}
	return nil, fleetStopOut{ExecutionID: e.ID, Nodes: nodes, Message: "Stopped on every node that was running it; get_result has the merged maps."}, nil
}

type fleetListIn struct {
	Limit int `json:"limit,omitempty" jsonschema:"most executions (default 20)"`
}

type fleetListItem struct {
	ExecutionID string `json:"execution_id"`
	Status      string `json:"status"`
	EndReason   string `json:"end_reason,omitempty"`
	StartedAt   string `json:"started_at"`
	Program     string `json:"program" jsonschema:"the program's first line"`
}

type fleetListOut struct {
	Executions []fleetListItem `json:"executions"`
}

func (h *fleetHandlers) list(ctx context.Context, req *mcp.CallToolRequest, in fleetListIn) (*mcp.CallToolResult, fleetListOut, error) {
	es, err := h.g.List(ctx, in.Limit)
	if err != nil {
		return nil, fleetListOut{}, err
	}
	out := fleetListOut{Executions: []fleetListItem{}}
	for _, e := range es {
		first, _, _ := strings.Cut(e.Program, "\n")
		out.Executions = append(out.Executions, fleetListItem{ExecutionID: e.ID, Status: e.Status, EndReason: e.EndReason,
			StartedAt: e.StartedAt.Format(time.RFC3339), Program: first})
	}
	return nil, out, nil
}
