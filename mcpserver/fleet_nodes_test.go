package mcpserver

import (
	"fmt"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// TestFitNodes: a thousand nodes' statuses do not fit an answer; the
// failed ones come first, the counts cover every node, and the list stays
// within its share.
func TestFitNodes(t *testing.T) {
	var nodes []fleet.NodeStatus
	for i := range 1000 {
		n := fleet.NodeStatus{Node: fmt.Sprintf("node-%04d", i), ExecutionID: "abcdefghij", Status: store.StatusCompleted, EndReason: "exit", LinesTotal: 12}
		if i%250 == 7 {
			n.Status, n.EndReason, n.Error = store.StatusFailed, "error", "lost the agent: connection refused"
		}
		nodes = append(nodes, n)
	}
	few := nodes[:3]
	if kept, counts := fitNodes(few, 8<<10); len(kept) != 3 || counts != nil {
		t.Errorf("three nodes: kept %d, counts %v; want all, no counts", len(kept), counts)
	}
	const share = 4 << 10
	kept, counts := fitNodes(nodes, share)
	if n := jsonLen(kept) + jsonLen(counts); n > share {
		t.Errorf("kept nodes and counts take %d bytes, over the %d share", n, share)
	}
	if counts[store.StatusCompleted] != 996 || counts[store.StatusFailed] != 4 {
		t.Errorf("counts %v, want 996 completed and 4 failed", counts)
	}
	if len(kept) < 10 || len(kept) >= 1000 {
		t.Fatalf("kept %d nodes", len(kept))
	}
	for i, want := range []string{"node-0007", "node-0257", "node-0507", "node-0757", "node-0000", "node-0001"} {
		if kept[i].Node != want {
			t.Errorf("kept[%d] = %s, want %s (failed nodes first, then by name)", i, kept[i].Node, want)
		}
	}
}

// TestFitAgents: list_nodes of a thousand nodes stays within its share,
// the nodes whose agent is not ready first.
func TestFitAgents(t *testing.T) {
	var as []fleet.Agent
	for i := range 1000 {
		as = append(as, fleet.Agent{Node: fmt.Sprintf("node-%04d", i), Pod: fmt.Sprintf("bpftrace-mcp/agent-%04d", i), Ready: i != 500, NodeReady: i != 900})
	}
	if got := fitAgents(as[:5], 8<<10); len(got) != 5 {
		t.Errorf("five agents: kept %d", len(got))
	}
	const share = 4 << 10
	kept := fitAgents(as, share)
	if n := jsonLen(kept); n > share {
		t.Errorf("kept agents take %d bytes, over the %d share", n, share)
	}
	if len(kept) < 10 || kept[0].Node != "node-0500" || kept[1].Node != "node-0900" || kept[2].Node != "node-0000" {
		t.Errorf("kept %d agents starting %+v; want the two not ready first, then by name", len(kept), kept[:min(3, len(kept))])
	}
}
