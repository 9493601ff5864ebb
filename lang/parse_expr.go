package lang

// Expressions follow C's precedence, as bpftrace's grammar does. From the
// loosest to the tightest: ?:, ||, &&, |, ^, &, == !=, < > <= >=, << >>,
// + -, * / %, then casts and unary operators, then postfix operators.

var binaryPrec = map[string]int{
	"||": 1,
	"&&": 2,
	"|":  3,
	"^":  4,
	"&":  5,
	"==": 6, "!=": 6,
	"<": 7, ">": 7, "<=": 7, ">=": 7,
	"<<": 8, ">>": 8,
	"+": 9, "-": 9,
	"*": 10, "/": 10, "%": 10,
}

// parseExpr parses a full expression, a conditional one at the top.
func (p *parser) parseExpr() Expr {
	if !p.enter() {
		return p.badExpr(p.cur())
	}
	defer p.leave()
	x := p.parseBinary(1)
	if !p.is("?") {
		return x
	}
	p.advance()
	then := p.parseExpr()
	if !p.expect(":", "", "a conditional expression is written cond ? a : b") {
		return &Ternary{Extent: Extent{From: x.Pos(), To: p.prevEnd}, Cond: x, Then: then, Else: p.badExpr(p.cur())}
	}
	els := p.parseExpr()
	return &Ternary{Extent: Extent{From: x.Pos(), To: els.End()}, Cond: x, Then: then, Else: els}
}

// parseBinary parses binary operations of precedence minPrec and tighter,
// left-associative.
func (p *parser) parseBinary(minPrec int) Expr {
	x := p.parseUnary()
	for {
		op := p.cur()
		if op.kind != tPunct {
			return x
		}
		prec := binaryPrec[op.text]
		if prec == 0 || prec < minPrec {
			return x
		}
		// In /expr/ a slash not followed by an operand closes the predicate:
		// "/pid / 2/ {" divides once, then ends at the slash before {.
		if op.text == "/" && p.inPred && !startsOperand(p.peekAt(1)) {
			return x
		}
		p.advance()
		y := p.parseBinary(prec + 1)
		x = &Binary{Extent: Extent{From: x.Pos(), To: y.End()}, Op: op.text, OpPos: op.pos, X: x, Y: y}
	}
}

// startsOperand reports whether t can begin an operand of a binary
// operator.
func startsOperand(t token) bool {
	switch t.kind {
	case tIdent, tInt, tString, tMap, tVar, tParam, tParamCount:
		return true
	case tPunct:
		switch t.text {
		case "(", "!", "~", "-", "*", "&", "++", "--":
			return true
		}
	}
	return false
}

// parseUnary parses the prefix operators ! ~ - * & ++ --, then a postfix
// expression.
func (p *parser) parseUnary() Expr {
	if !p.enter() {
		return p.badExpr(p.cur())
	}
	defer p.leave()
	op := p.cur()
	if op.kind == tPunct {
		switch op.text {
		case "!", "~", "-", "*", "&", "++", "--":
			p.advance()
			x := p.parseUnary()
			return &Unary{Extent: Extent{From: op.pos, To: x.End()}, Op: op.text, OpPos: op.pos, X: x}
		}
	}
	return p.parsePostfix(p.parsePrimary())
}

// parsePostfix parses field access, indexing and postfix ++ and -- after x.
func (p *parser) parsePostfix(x Expr) Expr {
	for {
		t := p.cur()
		if t.kind != tPunct {
			return x
		}
		switch t.text {
		case ".", "->":
			p.advance()
			name := p.cur()
			// Any identifier names a field, keywords included ($x->if is a
			// field in newer bpftrace), and integers index tuples.
			if name.kind != tIdent && (name.kind != tInt || t.text == "->") {
				p.unexpected("field name", "")
				return &Field{Extent: Extent{From: x.Pos(), To: p.prevEnd}, X: x, Arrow: t.text == "->", NamePos: name.pos}
			}
			p.advance()
			x = &Field{Extent: Extent{From: x.Pos(), To: name.end}, X: x, Arrow: t.text == "->", Name: name.text, NamePos: name.pos}
		case "[":
			p.advance()
			idx := p.parseNested()
			p.expect("]", "", "")
			x = &Index{Extent: Extent{From: x.Pos(), To: p.prevEnd}, X: x, Index: idx}
		case "++", "--":
			switch x.(type) {
			case *MapExpr, *Var:
			default:
				return x
			}
			p.advance()
			x = &Unary{Extent: Extent{From: x.Pos(), To: t.end}, Op: t.text, OpPos: t.pos, X: x, Postfix: true}
		default:
			return x
		}
	}
}

// parseNested parses an expression inside brackets or parentheses, where a
// slash is always a division even within a predicate.
func (p *parser) parseNested() Expr {
	old := p.inPred
	p.inPred = false
	defer func() { p.inPred = old }()
	return p.parseExpr()
}

// parsePrimary parses literals, names, calls, maps, variables and
// parenthesised expressions, tuples and casts.
func (p *parser) parsePrimary() Expr {
	t := p.cur()
	ext := Extent{From: t.pos, To: t.end}
	switch t.kind {
	case tInt:
		p.advance()
		return &IntLit{Extent: ext, Raw: t.text, Value: t.num}
	case tString:
		p.advance()
		return &StringLit{Extent: ext, Raw: t.text, Value: t.str}
	case tVar:
		p.advance()
		return &Var{ext, t.text}
	case tParam:
		p.advance()
		return &Positional{Extent: ext, Raw: t.text, N: int(t.num)}
	case tParamCount:
		p.advance()
		return &Positional{Extent: ext, Raw: t.text, Count: true}
	case tMap:
		p.advance()
		m := &MapExpr{Extent: ext, Name: t.text}
		if p.is("[") {
			p.advance()
			if p.is("]") {
				p.unexpected("", "a map key is written @m[key] or @m[key1, key2]")
			}
			m.Keys = p.parseList("]")
			m.To = p.prevEnd
		}
		return m
	case tIdent:
		return p.parseName(t)
	case tPunct:
		if t.text == "(" {
			return p.parseParen()
		}
	}
	p.unexpected("", "")
	return p.badExpr(t)
}

// parseList parses comma-separated expressions up to the closing
// delimiter, which it consumes.
func (p *parser) parseList(closing string) []Expr {
	var list []Expr
	if p.is(closing) {
		p.advance()
		return list
	}
	for {
		list = append(list, p.parseNested())
		if !p.is(",") {
			break
		}
		p.advance()
	}
	p.expect(closing, closing+` or ","`, "")
	return list
}

// notExprKeywords cannot start an expression.
var notExprKeywords = map[string]bool{
	"if": true, "else": true, "while": true, "for": true, "unroll": true,
	"return": true, "break": true, "continue": true, "let": true,
	"struct": true, "union": true, "enum": true, "macro": true, "fn": true,
}

// parseName parses an identifier: a call, sizeof, offsetof, a builtin or a
// plain name.
func (p *parser) parseName(t token) Expr {
	switch {
	case t.text == "sizeof":
		return p.parseSizeof()
	case t.text == "offsetof":
		return p.parseOffsetof()
	case notExprKeywords[t.text]:
		p.unexpected("", "")
		return p.badExpr(t)
	}
	p.advance()
	ext := Extent{From: t.pos, To: t.end}
	if p.is("(") {
		// A call, even with white space before the parenthesis: system ("id").
		p.advance()
		c := &Call{Name: t.text, NameEnd: t.end}
		c.Args = p.parseList(")")
		c.Extent = Extent{From: t.pos, To: p.prevEnd}
		return c
	}
	if IsBuiltin(t.text) {
		return &Builtin{ext, t.text}
	}
	return &Ident{ext, t.text}
}

// parseParen parses (expr), a tuple (a, b) or a cast (type)x.
func (p *parser) parseParen() Expr {
	lp := p.cur()
	if p.castAhead() {
		p.advance()
		typ := p.parseType()
		if !p.expect(")", "", "") {
			return &Cast{Extent: Extent{From: lp.pos, To: p.prevEnd}, Type: typ, X: p.badExpr(p.cur())}
		}
		x := p.parseUnary()
		return &Cast{Extent: Extent{From: lp.pos, To: x.End()}, Type: typ, X: x}
	}
	p.advance()
	x := p.parseNested()
	if !p.is(",") {
		p.expect(")", `) or ","`, "")
		return &Paren{Extent: Extent{From: lp.pos, To: p.prevEnd}, X: x}
	}
	p.advance()
	if p.is(")") {
		p.unexpected("", "a tuple has at least two elements and no trailing comma")
	}
	elems := append([]Expr{x}, p.parseList(")")...)
	return &Tuple{Extent: Extent{From: lp.pos, To: p.prevEnd}, Elems: elems}
}
