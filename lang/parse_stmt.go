package lang

// parseBlock parses { statements }. The current token is the {.
func (p *parser) parseBlock() *Block {
	lb := p.cur()
	p.advance()
	b := &Block{Extent: Extent{From: lb.pos}}
	if !p.enter() {
		b.To = p.prevEnd
		return b
	}
	defer p.leave()
	p.parseStmts(b)
	if p.is("}") {
		p.advance()
	} else {
		t := p.cur()
		if t.kind == tEOF {
			p.errorAt(t.pos, t.end, "syntax error, unexpected end of file, expecting }", "a closing } is missing")
		} else {
			p.unexpected("}", "")
		}
	}
	b.To = p.prevEnd
	return b
}

// parseStmts parses statements up to the } that ends the block. Simple
// statements are separated by semicolons, which may be left out before the
// }; if, loops and nested blocks are not followed by one.
func (p *parser) parseStmts(b *Block) {
	lastOff := -1
	for !p.stop {
		t := p.cur()
		if t.kind == tEOF || p.is("}") {
			return
		}
		if t.pos.Offset == lastOff {
			p.advance() // no progress: drop the token rather than loop
			continue
		}
		lastOff = t.pos.Offset
		st := p.parseStmt(b)
		if st != nil {
			b.Stmts = append(b.Stmts, st)
		}
		if !p.panicking && !isBlockStmt(st) {
			switch {
			case p.is(";"):
				p.advance()
			case p.is("}"):
			default:
				p.unexpected("; or }", p.missingSemicolonHint())
			}
		}
		if p.panicking {
			p.syncStmt()
			p.panicking = false
		}
	}
}

func isBlockStmt(s Stmt) bool {
	switch s.(type) {
	case *If, *While, *For, *Unroll, *Block:
		return true
	}
	return false
}

func (p *parser) missingSemicolonHint() string {
	t := p.cur()
	if t.kind == tPunct && t.text == "{" {
		return "a } may be missing before this probe"
	}
	if t.pos.Line > p.prevEnd.Line {
		return "a ; is probably missing at the end of the previous line"
	}
	return "separate statements with ;"
}

// parseStmt parses one statement. b is the enclosing block so far, used to
// explain a stray semicolon after a block statement.
func (p *parser) parseStmt(b *Block) Stmt {
	t := p.cur()
	switch {
	case t.kind == tIdent:
		switch t.text {
		case "if":
			return p.parseIf()
		case "while":
			return p.parseWhile()
		case "unroll":
			return p.parseUnroll()
		case "for":
			return p.parseFor()
		case "return", "break", "continue":
			return p.parseJump()
		case "let":
			return p.parseLet()
		case "else":
			p.unexpected("", "else must follow the closing } of an if")
			return &BadStmt{Extent{From: t.pos, To: t.pos}}
		}
	case p.is("{"):
		return p.parseBlock()
	case p.is(";"):
		hint := "remove the extra ;"
		if n := len(b.Stmts); n > 0 && isBlockStmt(b.Stmts[n-1]) {
			hint = "no ; follows the } of an if, a loop or a block"
		}
		p.unexpected("", hint)
		return &BadStmt{Extent{From: t.pos, To: t.pos}}
	case t.kind == tVar && p.peekAt(1).kind == tPunct && p.peekAt(1).text == ":":
		return p.parseTypedDecl(t)
	}

	x := p.parseExpr()
	op := p.cur()
	if op.kind != tPunct || !assignOps[op.text] {
		return &ExprStmt{Extent: Extent{From: x.Pos(), To: x.End()}, X: x}
	}
	switch x.(type) {
	case *MapExpr, *Var:
	default:
		hint := "only maps (@m, @m[key]) and scratch variables ($x) can be assigned to"
		if f, ok := x.(*Field); ok && !f.Arrow && isTupleIndex(f.Name) {
			hint = "tuples are immutable once created; create a new tuple and assign it instead"
		}
		p.unexpected("; or }", hint)
		return &ExprStmt{Extent: Extent{From: x.Pos(), To: x.End()}, X: x}
	}
	p.advance()
	a := &Assign{Target: x, Op: op.text, OpPos: op.pos}
	a.Value = p.parseExpr()
	a.Extent = Extent{From: x.Pos(), To: p.prevEnd}
	return a
}

var assignOps = map[string]bool{
	"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true,
	"&=": true, "|=": true, "^=": true, "<<=": true, ">>=": true,
}

func isTupleIndex(name string) bool { return allDigits(name) }

// parseCond parses the condition of if, while and unroll: an expression in
// parentheses, or (bpftrace 0.25 and later) a single value without them,
// such as $x, !$done or 3. It reports whether the parentheses were there.
func (p *parser) parseCond(what string) (Expr, bool) {
	if !p.is("(") {
		x := p.parseUnary()
		if !p.panicking && !p.is("{") {
			p.unexpected("{", "the condition of "+what+" is written in parentheses, except for a single value: "+what+" ($a > $b) { ... }")
		}
		return x, false
	}
	p.advance()
	x := p.parseExpr()
	p.expect(")", "", "")
	return x, true
}

// parseIf parses if (cond) { ... } [else if ... | else { ... }].
func (p *parser) parseIf() Stmt {
	kw := p.cur()
	if !p.enter() {
		return nil
	}
	defer p.leave()
	p.advance()
	s := &If{Extent: Extent{From: kw.pos}}
	defer func() { s.To = p.prevEnd }()
	s.Cond, s.Parens = p.parseCond("if")
	if p.panicking {
		return s
	}
	if s.Then = p.parseBody("the body of an if is a block in braces: if (cond) { ... }"); s.Then == nil {
		return s
	}
	if !p.isKeyword("else") {
		return s
	}
	p.advance()
	switch {
	case p.isKeyword("if"):
		if elif := p.parseIf(); elif != nil {
			s.Else = elif
		}
	case p.is("{"):
		s.Else = p.parseBlock()
	default:
		p.unexpected("{ or if", "write else { ... } or else if (cond) { ... }")
	}
	return s
}

// parseWhile parses while (cond) { ... }.
func (p *parser) parseWhile() Stmt {
	kw := p.cur()
	p.advance()
	s := &While{Extent: Extent{From: kw.pos}}
	defer func() { s.To = p.prevEnd }()
	if s.Cond, s.Parens = p.parseCond("while"); !p.panicking {
		s.Body = p.parseBody("the body of a while loop is a block in braces")
	}
	return s
}

// parseUnroll parses unroll(N) { ... }.
func (p *parser) parseUnroll() Stmt {
	kw := p.cur()
	p.advance()
	s := &Unroll{Extent: Extent{From: kw.pos}}
	defer func() { s.To = p.prevEnd }()
	if s.Count, s.Parens = p.parseCond("unroll"); !p.panicking {
		s.Body = p.parseBody("the body of unroll is a block in braces")
	}
	return s
}

// parseFor parses for ($x : iterable) { ... }, where iterable is a map or
// a range lo..hi.
func (p *parser) parseFor() Stmt {
	kw := p.cur()
	p.advance()
	s := &For{Extent: Extent{From: kw.pos}}
	defer func() { s.To = p.prevEnd }()
	const hint = "a for loop is written for ($kv : @map) { ... } or for ($i : 0..10) { ... }"
	// bpftrace 0.25 and later let the parentheses be left out.
	paren := p.is("(")
	if paren {
		p.advance()
	}
	s.Parens = paren
	v := p.cur()
	if v.kind != tVar {
		p.unexpected("variable", hint)
		return s
	}
	p.advance()
	s.Var = &Var{Extent{v.pos, v.end}, v.text}
	if !p.expect(":", "", hint) {
		return s
	}
	s.Iter = p.parseExpr()
	if p.is("..") {
		p.advance()
		hi := p.parseExpr()
		s.Iter = &Range{Extent: Extent{From: s.Iter.Pos(), To: hi.End()}, Lo: s.Iter, Hi: hi}
	}
	if paren && !p.expect(")", "", hint) {
		return s
	}
	s.Body = p.parseBody(hint)
	return s
}

// parseJump parses return [expr], break and continue.
func (p *parser) parseJump() Stmt {
	kw := p.cur()
	p.advance()
	s := &Jump{Extent: Extent{From: kw.pos, To: kw.end}, Kind: kw.text}
	if kw.text == "return" && !p.is(";") && !p.is("}") && p.cur().kind != tEOF {
		s.Value = p.parseExpr()
		s.To = p.prevEnd
	}
	return s
}

// parseLet parses let $x [: type] [= expr], and let @m = expr.
func (p *parser) parseLet() Stmt {
	kw := p.cur()
	p.advance()
	d := &VarDecl{Extent: Extent{From: kw.pos}, Let: true}
	defer func() { d.To = p.prevEnd }()
	v := p.cur()
	switch v.kind {
	case tVar:
		d.Var = &Var{Extent{v.pos, v.end}, v.text}
	case tMap:
		d.Var = &MapExpr{Extent: Extent{v.pos, v.end}, Name: v.text}
	default:
		p.unexpected("variable", "a declaration is written let $x, let $x: type or let $x = value")
		return d
	}
	p.advance()
	p.parseDeclRest(d)
	return d
}

// parseTypedDecl parses $x: type [= expr]; the current token is the $x.
func (p *parser) parseTypedDecl(v token) Stmt {
	p.advance()
	d := &VarDecl{Extent: Extent{From: v.pos}, Var: &Var{Extent{v.pos, v.end}, v.text}}
	p.parseDeclRest(d)
	d.To = p.prevEnd
	return d
}

func (p *parser) parseDeclRest(d *VarDecl) {
	if p.is(":") {
		p.advance()
		d.Type = p.parseType()
	}
	if p.is("=") {
		p.advance()
		d.Value = p.parseExpr()
	}
}
