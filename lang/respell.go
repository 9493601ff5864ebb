package lang

import (
	"sort"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// Respell rewrites a program into the spelling that bpftrace release v
// prefers, where releases differ in spelling only: from 0.19, when args
// became a struct, args->field is written args.field, and before it
// args.field is written args->field. Everything else stays as written, byte
// for byte, comments and layout included. A program that does not parse
// entirely is rewritten where it parsed; an unknown (zero) version leaves
// the program as it is.
//
// The project's examples and guides are written once, in the 0.17 form, and
// served through Respell in the form of the bpftrace in use.
func Respell(src string, v version.Version) string {
	if v.IsZero() {
		return src
	}
	prog, _ := Parse("", src)
	if prog == nil {
		return src
	}
	dot := v.Has(version.ArgsStruct)
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	Inspect(prog, func(n Node) bool {
		f, ok := n.(*Field)
		if !ok || f.X == nil || !isArgs(f.X) || f.Arrow != dot {
			return true
		}
		from, to := f.X.End().Offset, f.NamePos.Offset
		if from >= to || to > len(src) {
			return true // a placeholder of a partial tree
		}
		text := "->"
		if dot {
			text = "."
		}
		edits = append(edits, edit{from, to, text})
		return true
	})
	if len(edits) == 0 {
		return src
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	out := make([]byte, 0, len(src))
	last := 0
	for _, e := range edits {
		if e.from < last {
			continue
		}
		out = append(out, src[last:e.from]...)
		out = append(out, e.text...)
		last = e.to
	}
	return string(append(out, src[last:]...))
}
