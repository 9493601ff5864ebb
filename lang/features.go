package lang

import (
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// FeatureUse is a construct of a program that not every bpftrace release
// has: which feature of the version table it needs, and where it is.
type FeatureUse struct {
	Feature version.Feature
	Node    Node
}

// Features lists, in source order, the constructs of prog that bpftrace
// 0.17 lacks, each with the feature of the version table it needs. Whether
// the installed bpftrace has them is for the caller to ask the table: the
// parser accepts the newest syntax, so that an old bpftrace's missing
// feature is reported as such and not as a bare syntax error.
func Features(prog *Program) []FeatureUse {
	var uses []FeatureUse
	use := func(f version.Feature, n Node) { uses = append(uses, FeatureUse{f, n}) }
	specials := map[string]int{} // BEGIN and END probes seen so far
	Inspect(prog, func(n Node) bool {
		switch n := n.(type) {
		case *Config:
			use(version.ConfigBlock, n)
		case *Import:
			use(version.Imports, n)
		case *MapDecl:
			use(version.MapDecl, n)
		case *Macro:
			use(version.Macros, n)
		case *Func:
			use(version.Subprograms, n)
		case *Block:
			for _, st := range n.Stmts {
				if b, ok := st.(*Block); ok {
					use(version.NestedBlocks, b)
				}
			}
		case *VarDecl:
			if n.Let {
				use(version.LetDecl, n)
			}
		case *For:
			if _, isRange := n.Iter.(*Range); isRange {
				use(version.ForRange, n)
			} else {
				use(version.ForMap, n)
			}
			if !n.Parens {
				use(version.OptionalParens, n)
			}
		case *If:
			if !n.Parens {
				use(version.OptionalParens, n)
			}
		case *While:
			if !n.Parens {
				use(version.OptionalParens, n)
			}
		case *Unroll:
			if !n.Parens {
				use(version.OptionalParens, n)
			}
		case *AttachPoint:
			switch {
			case n.Canonical == "BEGIN" || n.Canonical == "END":
				if n.Provider != n.Canonical {
					use(version.LowercaseBeginEnd, n)
				}
				if specials[n.Canonical]++; specials[n.Canonical] == 2 {
					use(version.MultipleBeginEnd, n)
				}
			case strings.EqualFold(n.Provider, "fentry") || strings.EqualFold(n.Provider, "fexit"):
				use(version.FentryNames, n)
			case n.Canonical == "rawtracepoint":
				use(version.RawTracepoint, n)
			}
		case *Field:
			if !n.Arrow && isArgs(n.X) {
				use(version.ArgsStruct, n)
			}
		case *Call:
			if n.Name == "exit" && len(n.Args) > 0 {
				use(version.ExitCode, n)
			}
		}
		return true
	})
	return uses
}

// isArgs reports whether e is the builtin args, perhaps in parentheses.
func isArgs(e Expr) bool {
	for {
		p, ok := e.(*Paren)
		if !ok {
			break
		}
		e = p.X
	}
	b, ok := e.(*Builtin)
	return ok && b.Name == "args"
}
