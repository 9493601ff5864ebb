package validate

import (
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// Maps is what the program says about its maps, which bpftrace's JSON
// output loses: how many parts a key has (multi-part keys are joined with
// "," in JSON), whether a histogram is log2 or linear, and value types that
// JSON prints like others.
type Maps struct {
	KeyArity  map[string]int
	HistKind  map[string]string
	ValueType map[string]string
	// Types is every map of the program with its output type: "value",
	// "stats", "hist" or "lhist".
	Types map[string]string
}

var valueTypeOfCall = map[string]string{
	"ksym": "ksym", "usym": "usym", "kstack": "kstack", "ustack": "ustack", "ntop": "inet",
}

func analyseMaps(prog *lang.Program) Maps {
	m := Maps{KeyArity: map[string]int{}, HistKind: map[string]string{}, ValueType: map[string]string{}, Types: map[string]string{}}
	note := func(target *lang.MapExpr, value lang.Expr) {
		name := target.Name
		if target.Keys != nil {
			m.KeyArity[name] = len(target.Keys)
		}
		typ := "value"
		switch v := value.(type) {
		case *lang.Call:
			switch v.Name {
			case "hist", "lhist":
				typ = v.Name
				m.HistKind[name] = v.Name
			case "avg", "stats":
				typ = "stats"
			}
			if vt, ok := valueTypeOfCall[v.Name]; ok {
				m.ValueType[name] = vt
			}
		case *lang.Builtin:
			if v.Name == "kstack" || v.Name == "ustack" {
				m.ValueType[name] = v.Name
			}
		}
		if _, seen := m.Types[name]; !seen || typ != "value" {
			m.Types[name] = typ
		}
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Assign:
			if t, ok := n.Target.(*lang.MapExpr); ok {
				note(t, n.Value)
			}
		case *lang.Unary:
			if t, ok := n.X.(*lang.MapExpr); ok && (n.Op == "++" || n.Op == "--") {
				note(t, nil)
			}
		}
		return true
	})
	return m
}
