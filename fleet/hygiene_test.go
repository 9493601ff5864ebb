package fleet

import (
	"encoding/json"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// TestMergeEscapes: maps an agent sent unescaped (an older agent, or one
// that lies) are escaped before their keys meet, and when read back.
func TestMergeEscapes(t *testing.T) {
	node := func(name, key string) NodeMaps {
		return NodeMaps{Node: name, Maps: []*output.Map{{Name: "@", Type: output.TypeValue, Entries: []output.Entry{{Key: []any{key}, Value: int64(1)}}}}}
	}
	merged := MergeNodes(output.Schema{"@": {Agg: output.AggOf("count")}}, []NodeMaps{node("a", "x\x1b"), node("b", `x\x1b`)})
	if len(merged) != 1 || len(merged[0].Entries) != 1 || merged[0].Entries[0].Key[0] != `x\x1b` || merged[0].Entries[0].Value != int64(2) {
		t.Fatalf("merged %+v", merged)
	}
	raw := []byte(`{"name":"@","type":"value","entries":[{"key":["k\u202e"],"value":"v\u0007"}],"nodes":2}`)
	var back MergedMap
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if e := back.Entries[0]; e.Key[0] != `k\u202e` || e.Value != `v\x07` || back.Nodes != 2 {
		t.Errorf("read back %+v", back)
	}
}
