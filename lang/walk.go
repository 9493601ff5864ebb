package lang

import "sort"

// Inspect traverses the tree rooted at n in depth-first order, children in
// source order, like go/ast.Inspect: it calls f(n); if f returns true, it
// inspects each non-nil child of n, then calls f(nil).
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	for _, c := range children(n) {
		Inspect(c, f)
	}
	f(nil)
}

// children returns the child nodes of n in source order, skipping nil ones.
func children(n Node) []Node {
	var out []Node
	add := func(c Node) {
		if c != nil {
			out = append(out, c)
		}
	}
	addExprs := func(list []Expr) {
		for _, e := range list {
			add(e)
		}
	}
	switch n := n.(type) {
	case *Program:
		// Top-level items are kept in separate lists; visit them in the order
		// they appear in the source.
		var items []Node
		for _, d := range n.Directives {
			items = append(items, d)
		}
		for _, d := range n.Defs {
			items = append(items, d)
		}
		if n.Config != nil {
			items = append(items, n.Config)
		}
		for _, im := range n.Imports {
			items = append(items, im)
		}
		for _, md := range n.MapDecls {
			items = append(items, md)
		}
		for _, m := range n.Macros {
			items = append(items, m)
		}
		for _, f := range n.Funcs {
			items = append(items, f)
		}
		for _, pr := range n.Probes {
			items = append(items, pr)
		}
		sortNodes(items)
		return items
	case *Config:
		for _, a := range n.Assigns {
			add(a)
		}
	case *ConfigAssign:
		add(n.Value)
	case *MapDecl:
		if n.Map != nil {
			add(n.Map)
		}
		add(n.Value)
	case *Macro:
		addExprs(n.Params)
		if n.Body != nil {
			add(n.Body)
		}
	case *Func:
		for _, prm := range n.Params {
			add(prm)
		}
		if n.Result != nil {
			add(n.Result)
		}
		if n.Body != nil {
			add(n.Body)
		}
	case *FuncParam:
		if n.Var != nil {
			add(n.Var)
		}
		if n.Type != nil {
			add(n.Type)
		}
	case *Probe:
		for _, ap := range n.AttachPoints {
			add(ap)
		}
		add(n.Predicate)
		if n.Body != nil {
			add(n.Body)
		}
	case *Block:
		for _, s := range n.Stmts {
			add(s)
		}
	case *ExprStmt:
		add(n.X)
	case *Assign:
		add(n.Target)
		add(n.Value)
	case *VarDecl:
		add(n.Var)
		if n.Type != nil {
			add(n.Type)
		}
		add(n.Value)
	case *If:
		add(n.Cond)
		if n.Then != nil {
			add(n.Then)
		}
		add(n.Else)
	case *Unroll:
		add(n.Count)
		if n.Body != nil {
			add(n.Body)
		}
	case *While:
		add(n.Cond)
		if n.Body != nil {
			add(n.Body)
		}
	case *For:
		if n.Var != nil {
			add(n.Var)
		}
		add(n.Iter)
		if n.Body != nil {
			add(n.Body)
		}
	case *Jump:
		add(n.Value)
	case *MapExpr:
		addExprs(n.Keys)
	case *Call:
		addExprs(n.Args)
	case *Binary:
		add(n.X)
		add(n.Y)
	case *Unary:
		add(n.X)
	case *Ternary:
		add(n.Cond)
		add(n.Then)
		add(n.Else)
	case *Cast:
		if n.Type != nil {
			add(n.Type)
		}
		add(n.X)
	case *Field:
		add(n.X)
	case *Index:
		add(n.X)
		add(n.Index)
	case *Tuple:
		addExprs(n.Elems)
	case *Paren:
		add(n.X)
	case *Sizeof:
		if n.Type != nil {
			add(n.Type)
		}
		add(n.X)
	case *Offsetof:
		if n.Type != nil {
			add(n.Type)
		}
		add(n.X)
	case *Range:
		add(n.Lo)
		add(n.Hi)
	case *Type:
		add(n.Len)
	}
	return out
}

// sortNodes sorts nodes by position.
func sortNodes(list []Node) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Pos().Offset < list[j].Pos().Offset })
}

// widenExtents makes every node of a partial tree cover its children. A
// node that ends where parsing failed takes its end from the last token
// consumed, while a placeholder child sits at the token that was not, a
// little further on.
func widenExtents(n Node) {
	kids := children(n)
	for _, c := range kids {
		widenExtents(c)
	}
	e := n.(interface{ extent() *Extent }).extent()
	for _, c := range kids {
		if c.Pos().Offset < e.From.Offset {
			e.From = c.Pos()
		}
		if c.End().Offset > e.To.Offset {
			e.To = c.End()
		}
	}
}
