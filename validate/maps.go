package validate

import (
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// valueKindOfCall is the value kind of a map assigned the result of these
// calls, which JSON prints like plain strings.
var valueKindOfCall = map[string]output.ValueKind{
	"ksym": output.ValueKsym, "usym": output.ValueUsym,
	"kstack": output.ValueKstack, "ustack": output.ValueUstack, "ntop": output.ValueInet,
	"buf": output.ValueBuf,
}

// analyseMaps derives the schema of every map the program assigns.
func analyseMaps(prog *lang.Program) output.Schema {
	s := output.Schema{}
	note := func(target *lang.MapExpr, value lang.Expr, syscalls bool) {
		name := target.Name
		m, seen := s[name]
		m.Name = name
		typ := output.TypeValue
		agg := output.AggNone
		switch v := value.(type) {
		case nil: // @m++ and @m--: a running count
			agg = output.AggSum
		case *lang.Call:
			agg = output.AggOf(v.Name)
			switch v.Name {
			case "hist":
				typ = output.TypeHist
			case "lhist":
				typ = output.TypeLhist
			case "avg":
				typ = output.TypeAvg
			case "stats":
				typ = output.TypeStats
			}
			if vk, ok := valueKindOfCall[v.Name]; ok {
				m.Value = vk
			}
		case *lang.Builtin:
			if v.Name == "kstack" || v.Name == "ustack" {
				m.Value = output.ValueKind(v.Name)
			}
		}
		// The first assignment types the map, unless a later one says it
		// aggregates (@m = 0 before @m = hist(x) in another probe).
		if !seen || typ != output.TypeValue {
			m.Type = typ
		}
		// Likewise the function: the one that aggregates wins, and two that
		// disagree (count() here, sum() there) combine as neither.
		switch {
		case !seen:
			m.Agg = agg
		case agg != output.AggNone && m.Agg == output.AggNone:
			m.Agg = agg
		case agg != output.AggNone && agg != m.Agg:
			m.Agg = output.AggNone
		}
		if target.Keys != nil {
			kinds := make([]output.KeyKind, len(target.Keys))
			for i, k := range target.Keys {
				kinds[i] = keyKind(k, syscalls)
			}
			m.Keys = mergeKeys(m.Keys, kinds, seen)
		}
		s[name] = m
	}
	inspect := func(n lang.Node, syscalls bool) {
		lang.Inspect(n, func(n lang.Node) bool {
			switch n := n.(type) {
			case *lang.Assign:
				if t, ok := n.Target.(*lang.MapExpr); ok {
					note(t, n.Value, syscalls)
				}
			case *lang.Unary:
				if t, ok := n.X.(*lang.MapExpr); ok && (n.Op == "++" || n.Op == "--") {
					note(t, nil, syscalls)
				}
			}
			return true
		})
	}
	for _, p := range prog.Probes {
		inspect(p, rawSyscallsProbe(p))
	}
	for _, f := range prog.Funcs {
		inspect(f, false)
	}
	for _, m := range prog.Macros {
		inspect(m, false)
	}
	return s
}

// mergeKeys combines the key kinds of two assignments to one map: parts
// they type differently are untyped.
func mergeKeys(old, kinds []output.KeyKind, seen bool) []output.KeyKind {
	if !seen || old == nil {
		return kinds
	}
	if len(old) != len(kinds) {
		return old // bpftrace refuses the program
	}
	for i := range old {
		if old[i] != kinds[i] {
			old[i] = output.KeyAny
		}
	}
	return old
}

// rawSyscallsProbe reports whether every attach point of the probe is a
// raw_syscalls tracepoint, whose args->id is a syscall number.
func rawSyscallsProbe(p *lang.Probe) bool {
	for _, ap := range p.AttachPoints {
		if ap.Canonical != "tracepoint" || len(ap.Parts) < 1 || ap.Parts[0] != "raw_syscalls" {
			return false
		}
	}
	return len(p.AttachPoints) > 0
}

// keyKind is what a key expression holds, as far as its form tells.
func keyKind(e lang.Expr, syscalls bool) output.KeyKind {
	switch e := e.(type) {
	case *lang.Paren:
		return keyKind(e.X, syscalls)
	case *lang.IntLit:
		return output.KeyInt
	case *lang.StringLit:
		return output.KeyString
	case *lang.Builtin:
		switch e.Name {
		case "comm", "func", "probe", "username":
			return output.KeyString
		case "kstack", "ustack":
			return output.KeyStack
		case "pid", "tid", "cpu", "uid", "gid", "nsecs", "elapsed", "cgroup", "retval", "numaid", "rand", "sarg0", "sarg1", "sarg2":
			return output.KeyInt
		}
		if len(e.Name) > 3 && e.Name[:3] == "arg" {
			return output.KeyInt
		}
	case *lang.Call:
		switch e.Name {
		case "str", "ksym", "usym", "strftime", "path", "cgroup_path", "macaddr", "ntop", "strerror", "buf":
			return output.KeyString
		case "kstack", "ustack":
			return output.KeyStack
		case "reg", "kaddr", "uaddr", "sizeof", "cgroupid", "bswap", "pid", "tid", "cpu":
			return output.KeyInt
		}
	case *lang.Field:
		if b, ok := e.X.(*lang.Builtin); ok && b.Name == "args" && e.Name == "id" && syscalls {
			return output.KeySyscall
		}
	case *lang.Binary:
		return output.KeyInt
	case *lang.Unary:
		if e.Op == "-" || e.Op == "~" || e.Op == "!" {
			return output.KeyInt
		}
	}
	return output.KeyAny
}

// MapSchema derives the schema of every map a parsed program assigns: what
// the decoder needs to type them, and what the fleet gateway needs to merge
// them (each map's aggregation).
func MapSchema(prog *lang.Program) output.Schema { return analyseMaps(prog) }
