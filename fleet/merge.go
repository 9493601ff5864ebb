package fleet

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// NodeMaps is one node's final maps.
type NodeMaps struct {
	Node string
	Maps []*output.Map
}

// MergedMap is one map combined across nodes.
type MergedMap struct {
	*output.Map
	// Nodes is how many nodes printed the map.
	Nodes int `json:"nodes"`
	// PerNode is true when the values do not combine (plain values, avg()
	// without its count): the entries are then every node's own, each key
	// led by the node's name.
	PerNode bool `json:"per_node,omitempty"`
}

// MergeNodes combines the same-named maps of several nodes with
// output.Merge, using the program's schema to know each map's function.
// Maps that do not combine are kept per node.
func MergeNodes(schema output.Schema, nodes []NodeMaps) []MergedMap {
	slices.SortFunc(nodes, func(a, b NodeMaps) int { return cmp.Compare(a.Node, b.Node) })
	type named struct {
		node string
		m    *output.Map
	}
	byName := map[string][]named{}
	var names []string
	for _, n := range nodes {
		for _, m := range n.Maps {
			if m == nil {
				continue
			}
			// Agents escape their maps; they are checked again where they
			// meet, before keys are compared (node names are the cluster's).
			m.Escape()
			if _, ok := byName[m.Name]; !ok {
				names = append(names, m.Name)
			}
			byName[m.Name] = append(byName[m.Name], named{n.Node, m})
		}
	}
	slices.Sort(names)
	out := make([]MergedMap, 0, len(names))
	for _, name := range names {
		parts := byName[name]
		maps := make([]*output.Map, len(parts))
		for i, p := range parts {
			maps[i] = p.m
		}
		if m, err := output.Merge(schema[name].Agg, maps); err == nil {
			out = append(out, MergedMap{Map: m, Nodes: len(parts)})
			continue
		}
		per := &output.Map{Name: name, Type: parts[0].m.Type, ValueType: parts[0].m.ValueType}
		for _, p := range parts {
			for _, e := range p.m.Entries {
				e.Key = append([]any{p.node}, e.Key...)
				per.Entries = append(per.Entries, e)
			}
		}
		out = append(out, MergedMap{Map: per, Nodes: len(parts), PerNode: true})
	}
	return out
}

func sortNodes(ns []NodeStatus) {
	slices.SortFunc(ns, func(a, b NodeStatus) int { return cmp.Compare(a.Node, b.Node) })
}

// UnmarshalJSON reads what marshalling a MergedMap writes. output.Map's
// own UnmarshalJSON would otherwise be promoted, called on a nil *Map, and
// the node fields lost.
func (m *MergedMap) UnmarshalJSON(b []byte) error {
	m.Map = new(output.Map)
	if err := json.Unmarshal(b, m.Map); err != nil {
		return err
	}
	var extra struct {
		Nodes   int  `json:"nodes"`
		PerNode bool `json:"per_node"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	m.Nodes, m.PerNode = extra.Nodes, extra.PerNode
	m.Map.Escape() // agents escape their maps; a merged map is checked again
	return nil
}
