package validate

import (
	"sort"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// AvgAsStats rewrites the avg() aggregations of a program into stats() where
// nothing in the program reads the map, and returns the program to run.
//
// bpftrace keeps the same count and total for both, but its output of an
// avg() map carries the average alone; stats() prints all three. The map's
// schema still says avg, so the decoder renders the text exactly as avg()
// prints it while the typed result carries count, average and total. A map
// the program reads (@a > 10, $x = @a) is left alone: newer bpftrace reads
// an avg() map as a number but refuses to read a stats() one.
//
// A program that does not parse is returned unchanged.
func AvgAsStats(src string) string {
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		return src
	}
	// The maps' uses that are not reads: assigned an aggregation, or passed
	// to the functions that print or reset a map.
	passive := map[*lang.MapExpr]bool{}
	target := map[*lang.Call]string{} // aggregations by the map assigned them
	lang.Inspect(prog, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Assign:
			t, ok := n.Target.(*lang.MapExpr)
			c, isCall := n.Value.(*lang.Call)
			if ok && isCall && n.Op == "=" {
				passive[t] = true
				target[c] = t.Name
			}
		case *lang.Call:
			switch n.Name {
			case "print", "clear", "zero", "delete":
				for _, a := range n.Args {
					if m, ok := a.(*lang.MapExpr); ok {
						passive[m] = true
					}
				}
			}
		}
		return true
	})
	// A map read anywhere, or assigned something besides avg() (which
	// bpftrace refuses anyway), is left alone.
	keep := map[string]bool{}
	lang.Inspect(prog, func(n lang.Node) bool {
		if m, ok := n.(*lang.MapExpr); ok && !passive[m] {
			keep[m.Name] = true
		}
		return true
	})
	for c, name := range target {
		if c.Name != "avg" {
			keep[name] = true
		}
	}
	var rewrite []*lang.Call
	for c, name := range target {
		if c.Name == "avg" && !keep[name] {
			rewrite = append(rewrite, c)
		}
	}
	sort.Slice(rewrite, func(i, j int) bool { return rewrite[i].Pos().Offset > rewrite[j].Pos().Offset })
	out := src
	for _, c := range rewrite {
		from, to := c.Pos().Offset, c.NameEnd.Offset
		if out[from:to] != "avg" {
			continue // written in a way the offsets do not show (a macro)
		}
		out = out[:from] + "stats" + out[to:]
	}
	return out
}
