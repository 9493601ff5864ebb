package lang

// castAhead reports whether the ( at the current token opens a cast: it is
// followed by a type keyword ((uint8), (struct task_struct *)), or by a
// typedef name and stars ((foo_t *)), or by a lone name and a ) that an
// operand follows ((foo_t)x). A name in parentheses before an operator,
// (AF_INET) + 1, stays an expression.
func (p *parser) castAhead() bool {
	t1 := p.peekAt(1)
	if isTypeStart(t1) {
		return true
	}
	if !isPlainName(t1) {
		return false
	}
	// Each peekAt scans from the current token, so bound the stars looked
	// at: no real type has more than a few.
	i := 2
	for ; i < 10; i++ {
		t := p.peekAt(i)
		if t.kind != tPunct || t.text != "*" {
			break
		}
	}
	if t := p.peekAt(i); t.kind != tPunct || t.text != ")" {
		return false
	}
	if i > 2 {
		return true
	}
	switch t := p.peekAt(3); t.kind {
	case tIdent, tInt, tString, tMap, tVar, tParam, tParamCount:
		return true
	case tPunct:
		return t.text == "(" || t.text == "!" || t.text == "~"
	}
	return false
}

// typeKeywords are the words that start a type: integer types, the sized types
// of declarations, and struct, union and enum.
var typeKeywords = map[string]bool{
	"bool": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"string": true, "inet": true, "buffer": true, "void": true,
	"struct": true, "union": true, "enum": true,
}

func isTypeStart(t token) bool { return t.kind == tIdent && typeKeywords[t.text] }

// isPlainName reports whether t is a name that could be a typedef.
func isPlainName(t token) bool {
	return t.kind == tIdent && !keywords[t.text] && !IsBuiltin(t.text)
}

// parseType parses a type: a name or struct/union/enum name, an optional
// [N], and stars.
func (p *parser) parseType() *Type {
	t := p.cur()
	typ := &Type{Extent: Extent{From: t.pos, To: t.pos}}
	switch {
	case t.kind == tIdent && (t.text == "struct" || t.text == "union" || t.text == "enum"):
		p.advance()
		name := p.cur()
		if name.kind != tIdent {
			p.unexpected("identifier", "")
			typ.Base = t.text
			typ.To = p.prevEnd
			return typ
		}
		p.advance()
		typ.Base = t.text + " " + name.text
	case t.kind == tIdent && !notExprKeywords[t.text]:
		p.advance()
		typ.Base = t.text
	default:
		p.unexpected("type", "")
		return typ
	}
	if p.is("[") {
		p.advance()
		typ.Array = true
		if n := p.cur(); n.kind == tInt {
			p.advance()
			typ.Len = &IntLit{Extent: Extent{From: n.pos, To: n.end}, Raw: n.text, Value: n.num}
		}
		p.expect("]", "", "")
	}
	for p.is("*") {
		p.advance()
		typ.Ptr++
	}
	typ.To = p.prevEnd
	return typ
}

// parseSizeof parses sizeof(type) or sizeof(expr).
func (p *parser) parseSizeof() Expr {
	kw := p.cur()
	p.advance()
	s := &Sizeof{Extent: Extent{From: kw.pos}}
	if !p.expect("(", "", "sizeof is written sizeof(type) or sizeof(expr)") {
		s.X = p.badExpr(p.cur())
		s.To = p.prevEnd
		return s
	}
	if t1, t2 := p.cur(), p.peekAt(1); isTypeStart(t1) || isPlainName(t1) && t2.kind == tPunct && t2.text == "*" {
		s.Type = p.parseType()
	} else {
		s.X = p.parseNested()
	}
	p.expect(")", "", "")
	s.To = p.prevEnd
	return s
}

// parseOffsetof parses offsetof(struct s, a.b) or offsetof(expr, a).
func (p *parser) parseOffsetof() Expr {
	kw := p.cur()
	p.advance()
	o := &Offsetof{Extent: Extent{From: kw.pos}}
	defer func() { o.To = p.prevEnd }()
	const hint = "offsetof is written offsetof(struct name, field)"
	if !p.expect("(", "", hint) {
		o.X = p.badExpr(p.cur())
		return o
	}
	if isTypeStart(p.cur()) {
		o.Type = p.parseType()
	} else {
		o.X = p.parseNested()
	}
	if !p.expect(",", "", hint) {
		return o
	}
	for {
		f := p.cur()
		if f.kind != tIdent {
			p.unexpected("field name", hint)
			return o
		}
		p.advance()
		o.Fields = append(o.Fields, f.text)
		if !p.is(".") {
			break
		}
		p.advance()
	}
	p.expect(")", "", hint)
	return o
}
