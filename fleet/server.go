package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// ServerOptions configures the gateway's MCP surface.
type ServerOptions struct {
	Version string
	// MaxBytes is the default byte budget of one answer's output and maps;
	// zero means 32 KiB. Ceiling is the most any answer may ask for; zero
	// means 128 KiB.
	MaxBytes, Ceiling int
	// MaxWait bounds exec_program's wait, below common client timeouts;
	// zero means 45 s.
	MaxWait time.Duration
}

// NewServer returns the gateway's MCP server: the host server's run tools
// with a node selection, plus list_nodes.
func NewServer(g *Gateway, o ServerOptions) *mcp.Server {
	if o.MaxBytes == 0 {
		o.MaxBytes = 32 << 10
	}
	if o.Ceiling == 0 {
		o.Ceiling = 128 << 10
	}
	if o.MaxWait == 0 {
		o.MaxWait = 45 * time.Second
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "bpftrace-mcp-fleet", Version: o.Version}, &mcp.ServerOptions{
		Instructions: "Traces many nodes of a Kubernetes cluster with bpftrace at once. list_nodes shows the nodes and their agents; " +
			"exec_program runs one program on a selection of nodes (all by default) or where a pod runs; get_result merges what they print: " +
			"maps are combined as the aggregations they are, lines are tagged with their node, and each node's status is listed.",
	})
	h := &handlers{g: g, o: o}
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
	return s
}

type handlers struct {
	g *Gateway
	o ServerOptions
}

type listNodesOut struct {
	Nodes []Agent `json:"nodes"`
	Ready int     `json:"ready" jsonschema:"agents a program can run on now"`
}

func (h *handlers) listNodes(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, listNodesOut, error) {
	as := h.g.o.Discovery.Agents()
	out := listNodesOut{Nodes: as}
	for _, a := range as {
		if a.Ready && a.NodeReady {
			out.Ready++
		}
	}
	return nil, out, nil
}

type execIn struct {
	Program string     `json:"program" jsonschema:"the bpftrace program"`
	Timeout int        `json:"timeout,omitempty" jsonschema:"seconds each node runs it (the agents' default and limits apply)"`
	Nodes   Selection  `json:"nodes,omitzero"`
	Target  *PodTarget `json:"target,omitempty"`
	Wait    bool       `json:"wait,omitempty" jsonschema:"wait for the end (at most about 45 s; then the run goes on and get_result reads it)"`
}

type execOut struct {
	Status      string       `json:"status" jsonschema:"success when at least one node started the program"`
	ExecutionID string       `json:"execution_id,omitempty"`
	Message     string       `json:"message"`
	Nodes       []NodeStatus `json:"nodes,omitempty"`
	Missing     []string     `json:"missing,omitempty" jsonschema:"selected nodes with no ready agent"`
	Result      *resultOut   `json:"result,omitempty"`
}

func (h *handlers) exec(ctx context.Context, req *mcp.CallToolRequest, in execIn) (*mcp.CallToolResult, execOut, error) {
	ctx = withPrincipal(ctx, req)
	st, err := h.g.Exec(ctx, ExecRequest{Program: in.Program, Timeout: in.Timeout, Nodes: in.Nodes, Target: in.Target})
	if err != nil {
		return nil, execOut{}, err
	}
	started := 0
	for _, n := range st.Nodes {
		if n.Status == store.StatusRunning {
			started++
		}
	}
	out := execOut{Status: "success", ExecutionID: st.ExecutionID, Nodes: st.Nodes, Missing: st.Missing,
		Message: fmt.Sprintf("Started fleet execution %s on %d of %d nodes. Read the merged result with get_result.", st.ExecutionID, started, len(st.Nodes))}
	if in.Wait {
		wctx, cancel := context.WithTimeout(ctx, h.o.MaxWait)
		defer cancel()
		_ = h.g.Wait(wctx, st.ExecutionID)
		r, err := h.read(ctx, resultIn{ExecutionID: st.ExecutionID})
		if err != nil {
			return nil, execOut{}, err
		}
		out.Result = r
	}
	return nil, out, nil
}

type resultIn struct {
	ExecutionID string  `json:"execution_id"`
	Offset      int64   `json:"offset,omitempty" jsonschema:"first line to return (0-based)"`
	Limit       int64   `json:"limit,omitempty" jsonschema:"most lines to return (default 1000)"`
	MaxBytes    int     `json:"max_bytes,omitempty" jsonschema:"byte budget of lines and maps together (default 32768)"`
	WaitSeconds float64 `json:"wait_seconds,omitempty" jsonschema:"wait up to this long (0-60) for the run to end"`
	PerNode     bool    `json:"per_node,omitempty" jsonschema:"add each node's own maps"`
}

type resultOut struct {
	ExecutionID   string                 `json:"execution_id"`
	Status        string                 `json:"status" jsonschema:"running, completed or failed; completed with failed nodes is a partial result"`
	EndReason     string                 `json:"end_reason,omitempty"`
	ErrorMessage  string                 `json:"error_message,omitempty"`
	Nodes         []NodeStatus           `json:"nodes"`
	LinesTotal    int64                  `json:"lines_total"`
	LinesReturned int                    `json:"lines_returned"`
	Output        []string               `json:"output" jsonschema:"lines tagged [node], in the order they arrived"`
	HasMore       bool                   `json:"has_more"`
	NextOffset    int64                  `json:"next_offset"`
	Maps          []MergedMap            `json:"maps,omitempty" jsonschema:"the maps merged across nodes, most significant entries first within the budget"`
	MapsTruncated bool                   `json:"maps_truncated,omitempty"`
	NodeMaps      map[string][]MergedMap `json:"node_maps,omitempty"`
}

func (h *handlers) result(ctx context.Context, req *mcp.CallToolRequest, in resultIn) (*mcp.CallToolResult, resultOut, error) {
	ctx = withPrincipal(ctx, req)
	if in.WaitSeconds > 0 {
		wctx, cancel := context.WithTimeout(ctx, time.Duration(min(in.WaitSeconds, 60)*float64(time.Second)))
		_ = h.g.Wait(wctx, in.ExecutionID)
		cancel()
	}
	r, err := h.read(ctx, in)
	if err != nil {
		return nil, resultOut{}, err
	}
	return nil, *r, nil
}

// ErrNotFound is the answer for an execution that does not exist or that
// the caller may not see: the two read the same.
var ErrNotFound = errors.New("no such fleet execution")

func (h *handlers) read(ctx context.Context, in resultIn) (*resultOut, error) {
	p, _ := access.FromContext(ctx)
	e, err := h.g.o.DB.FindExecution(ctx, in.ExecutionID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !p.Owns(e.Principal) {
		return nil, fmt.Errorf("%w: %q (list_executions shows yours)", ErrNotFound, in.ExecutionID)
	}
	if err != nil {
		return nil, err
	}
	budget := in.MaxBytes
	if budget <= 0 {
		budget = h.o.MaxBytes
	}
	budget = min(budget, h.o.Ceiling)
	limit := in.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	nodes, err := h.g.Nodes(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	out := &resultOut{ExecutionID: e.ID, Status: e.Status, EndReason: e.EndReason, ErrorMessage: e.ErrorMessage, Nodes: nodes, LinesTotal: e.LinesTotal}
	// Maps first: they are the answer a fleet question is usually after.
	var maps []MergedMap
	if e.Maps != "" {
		if err := json.Unmarshal([]byte(e.Maps), &maps); err != nil {
			return nil, fmt.Errorf("stored maps of %s: %w", e.ID, err)
		}
	}
	out.Maps, out.MapsTruncated, budget = fitMaps(maps, budget/2+budget%2, budget)
	lines, err := h.g.o.DB.ReadOutput(ctx, e.ID, in.Offset, limit, max(budget, 1))
	if err != nil {
		return nil, err
	}
	out.Output = lines
	if out.Output == nil {
		out.Output = []string{}
	}
	out.LinesReturned = len(lines)
	out.NextOffset = in.Offset + int64(len(lines))
	out.HasMore = out.NextOffset < e.LinesTotal
	if in.PerNode {
		out.NodeMaps = map[string][]MergedMap{}
		parts, err := h.g.o.DB.Parts(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		for _, pt := range parts {
			if pt.Maps == "" {
				continue
			}
			var nm NodeMaps
			if err := json.Unmarshal([]byte(pt.Maps), &nm.Maps); err != nil {
				continue
			}
			nm.Node = pt.Name
			out.NodeMaps[pt.Name], _, _ = fitMaps(MergeNodes(nil, []NodeMaps{nm}), budget/max(len(parts), 1), budget)
		}
	}
	return out, nil
}

// fitMaps keeps, for each map, its most significant entries while they fit
// in share bytes; it returns the maps, whether any entry was left out, and
// the budget that remains of total.
func fitMaps(maps []MergedMap, share, total int) ([]MergedMap, bool, int) {
	used, cut := 0, false
	out := make([]MergedMap, 0, len(maps))
	for _, m := range maps {
		kept := *m.Map
		kept.Entries = nil
		for _, i := range m.Ranked() {
			n := m.Entries[i].JSONSize()
			if used+n > share {
				cut = true
				break
			}
			used += n
			kept.Entries = append(kept.Entries, m.Entries[i])
		}
		out = append(out, MergedMap{Map: &kept, Nodes: m.Nodes, PerNode: m.PerNode})
	}
	return out, cut, max(total-used, 0)
}

type stopIn struct {
	ExecutionID string `json:"execution_id"`
}

type stopOut struct {
	ExecutionID string       `json:"execution_id"`
	Nodes       []NodeStatus `json:"nodes"`
	Message     string       `json:"message"`
}

func (h *handlers) stop(ctx context.Context, req *mcp.CallToolRequest, in stopIn) (*mcp.CallToolResult, stopOut, error) {
	ctx = withPrincipal(ctx, req)
	p, _ := access.FromContext(ctx)
	e, err := h.g.o.DB.FindExecution(ctx, in.ExecutionID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!p.Owns(e.Principal) || !p.Role.CanRun()) {
		return nil, stopOut{}, fmt.Errorf("%w: %q", ErrNotFound, in.ExecutionID)
	}
	if err != nil {
		return nil, stopOut{}, err
	}
	if err := h.g.Stop(ctx, e.ID); err != nil {
		return nil, stopOut{}, err
	}
	nodes, err := h.g.Nodes(ctx, e.ID)
	if err != nil {
		return nil, stopOut{}, err
	}
	return nil, stopOut{ExecutionID: e.ID, Nodes: nodes, Message: "Stopped on every node that was running it; get_result has the merged maps."}, nil
}

type listIn struct {
	Limit int `json:"limit,omitempty" jsonschema:"most executions (default 20)"`
}

type listItem struct {
	ExecutionID string `json:"execution_id"`
	Status      string `json:"status"`
	EndReason   string `json:"end_reason,omitempty"`
	StartedAt   string `json:"started_at"`
	Program     string `json:"program" jsonschema:"the program's first line"`
}

type listOut struct {
	Executions []listItem `json:"executions"`
}

func (h *handlers) list(ctx context.Context, req *mcp.CallToolRequest, in listIn) (*mcp.CallToolResult, listOut, error) {
	ctx = withPrincipal(ctx, req)
	p, _ := access.FromContext(ctx)
	f := store.ExecutionFilter{Limit: in.Limit}
	if !p.Role.SeesAll() {
		f.Principal = p.Name
	}
	es, err := h.g.o.DB.ListExecutions(ctx, f)
	if err != nil {
		return nil, listOut{}, err
	}
	out := listOut{Executions: []listItem{}}
	for _, e := range es {
		first, _, _ := strings.Cut(e.Program, "\n")
		out.Executions = append(out.Executions, listItem{ExecutionID: e.ID, Status: e.Status, EndReason: e.EndReason,
			StartedAt: e.StartedAt.Format(time.RFC3339), Program: first})
	}
	return nil, out, nil
}

// withPrincipal makes sure ctx says who calls: over HTTP the transport put
// the token's principal there; over stdio the one local user is.
func withPrincipal(ctx context.Context, req *mcp.CallToolRequest) context.Context {
	if _, ok := access.FromContext(ctx); ok {
		return ctx
	}
	if req != nil && req.Extra != nil && req.Extra.TokenInfo != nil {
		if p, ok := req.Extra.TokenInfo.Extra[principalKey].(access.Principal); ok {
			return access.WithPrincipal(ctx, p)
		}
		// An HTTP caller without a principal is refused, not promoted.
		return access.WithPrincipal(ctx, access.Principal{Name: req.Extra.TokenInfo.UserID, Role: access.Viewer})
	}
	return access.WithPrincipal(ctx, access.Local)
}

// principalKey is where the HTTP transport's token check leaves the
// caller's principal in the SDK's TokenInfo.
const principalKey = "principal"
