package lang

import (
	"fmt"
	"strings"
)

// Dump renders the tree rooted at n as indented text, one node a line with
// its source range, for tests and debugging:
//
//	Probe 1:1-1:30
//	  AttachPoint "kprobe:do_nanosleep" provider=kprobe canonical=kprobe parts=["do_nanosleep"] 1:1-1:20
//	  Block 1:21-1:30
//
// The format is meant for people and golden files, not for parsing.
func Dump(n Node) string {
	var b strings.Builder
	depth := 0
	Inspect(n, func(n Node) bool {
		if n == nil {
			depth--
			return false
		}
		fmt.Fprintf(&b, "%s%s %s-%s\n", strings.Repeat("  ", depth), label(n), n.Pos(), n.End())
		depth++
		return true
	})
	return b.String()
}

// label describes a node without its children.
func label(n Node) string {
	switch n := n.(type) {
	case *Program:
		return "Program"
	case *Directive:
		s := fmt.Sprintf("Directive name=%q arg=%q", n.Name, n.Arg)
		if n.InDefinition {
			s += " in-definition"
		}
		return s
	case *CDefinition:
		return fmt.Sprintf("CDefinition %s name=%q text=%q", n.Kind, n.Name, n.Text)
	case *Config:
		return "Config"
	case *ConfigAssign:
		return "ConfigAssign " + n.Name
	case *Import:
		return fmt.Sprintf("Import %q", n.Name)
	case *MapDecl:
		return "MapDecl"
	case *Macro:
		return "Macro " + n.Name
	case *Func:
		return "Func " + n.Name
	case *FuncParam:
		return "FuncParam"
	case *Probe:
		return "Probe"
	case *AttachPoint:
		s := fmt.Sprintf("AttachPoint %q provider=%s canonical=%s parts=%s", n.Raw, n.Provider, n.Canonical, quoteList(n.Parts))
		if n.Wildcard {
			s += " wildcard"
		}
		return s
	case *Block:
		return "Block"
	case *ExprStmt:
		return "ExprStmt"
	case *Assign:
		return "Assign " + n.Op
	case *VarDecl:
		if n.Let {
			return "VarDecl let"
		}
		return "VarDecl"
	case *If:
		return "If"
	case *Unroll:
		return "Unroll"
	case *While:
		return "While"
	case *For:
		return "For"
	case *Jump:
		return "Jump " + n.Kind
	case *BadStmt:
		return "BadStmt"
	case *IntLit:
		return fmt.Sprintf("IntLit %s value=%d", n.Raw, n.Value)
	case *StringLit:
		return fmt.Sprintf("StringLit %q", n.Value)
	case *Ident:
		return "Ident " + n.Name
	case *Builtin:
		return "Builtin " + n.Name
	case *Var:
		return "Var " + n.Name
	case *Positional:
		return "Positional " + n.Raw
	case *MapExpr:
		return "MapExpr " + n.Name
	case *Call:
		return "Call " + n.Name
	case *Binary:
		return "Binary " + n.Op
	case *Unary:
		if n.Postfix {
			return "Unary postfix " + n.Op
		}
		return "Unary " + n.Op
	case *Ternary:
		return "Ternary"
	case *Cast:
		return "Cast"
	case *Field:
		if n.Arrow {
			return "Field ->" + n.Name
		}
		return "Field ." + n.Name
	case *Index:
		return "Index"
	case *Tuple:
		return "Tuple"
	case *Paren:
		return "Paren"
	case *Sizeof:
		return "Sizeof"
	case *Offsetof:
		return "Offsetof " + strings.Join(n.Fields, ".")
	case *Range:
		return "Range"
	case *BadExpr:
		return "BadExpr"
	case *Type:
		return fmt.Sprintf("Type %q", n.String())
	case *Comment:
		return fmt.Sprintf("Comment %q", n.Text)
	}
	return fmt.Sprintf("%T", n)
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, " ") + "]"
}
