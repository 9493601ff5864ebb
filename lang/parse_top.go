package lang

import "strings"

// parseProgram parses the top-level items: preprocessor lines, C
// definitions, the config block, macros, subprograms and probes. It reads
// them from the raw text, since an attach point is not made of tokens.
func (p *parser) parseProgram() {
	prog := p.prog
	for !p.stop {
		p.rewind()
		p.s.skipTrivia()
		if p.s.eof() {
			break
		}
		start := p.s.pos()
		c := p.s.src[p.s.off]
		// A syntax error leaves panic mode on until an item starts well, so
		// that a run of stray tokens gets one error, not one each.
		switch {
		case c == '#':
			p.panicking = false
			d := p.addDirective(p.s.scanDirective(start), false)
			p.continuedDirective(d)
			p.prevEnd = d.To
			if len(prog.Probes) > 0 {
				p.addError(d.From, d.To, "syntax error, unexpected preprocessor directive",
					"#include, #define and other preprocessor lines must come before the first probe")
			}
		case isLetter(c):
			switch word := p.s.word(); {
			case (word == "struct" || word == "union" || word == "enum") && p.s.looksLikeCDefinition(len(word)):
				p.panicking = false
				p.parseCDefinition(word)
			case word == "config" && p.s.followedBy(len(word), "=") && !p.s.followedBy(len(word), "=="):
				p.panicking = false
				p.parseConfig()
			case word == "import" && p.s.followedBy(len(word), `"`):
				p.panicking = false
				p.parseImport()
			case word == "let" && p.s.followedBy(len(word), "@"):
				p.panicking = false
				p.parseMapDecl()
			case word == "macro" && p.s.followedByIdent(len(word)):
				p.panicking = false
				p.parseMacro()
			case word == "fn" && p.s.followedByIdent(len(word)):
				p.panicking = false
				p.parseFunc()
			default:
				p.parseProbe()
			}
		default:
			p.parseProbe()
		}
		// Every item consumes input, but make sure: an item that did not
		// would make this loop spin forever.
		p.rewind()
		if p.s.off == start.Offset {
			p.s.scan()
		}
	}
	p.rewind()
	p.s.skipTrivia()
	end := p.s.pos()
	prog.To = end
	if len(prog.Probes) == 0 && len(p.errs) == 0 {
		p.addError(end, end, "unexpected end of file, expected a probe",
			`a program needs at least one probe, for example: BEGIN { printf("hello\n"); }`)
	}
}

// word returns the identifier at the current position, without moving.
func (s *scanner) word() string {
	n := s.off
	for n < len(s.src) && isIdentByte(s.src[n]) {
		n++
	}
	return s.src[s.off:n]
}

// followedBy reports whether the n bytes at the current position are
// followed, after white space and comments, by text.
func (s *scanner) followedBy(n int, text string) bool {
	save := s.pos()
	defer s.reset(save)
	s.skip(n)
	s.skipTrivia()
	return strings.HasPrefix(s.src[s.off:], text)
}

// followedByIdent reports whether the n bytes at the current position are
// followed by white space and an identifier.
func (s *scanner) followedByIdent(n int) bool {
	save := s.pos()
	defer s.reset(save)
	s.skip(n)
	if s.eof() || !isSpace(s.src[s.off]) {
		return false
	}
	s.skipTrivia()
	return !s.eof() && isLetter(s.src[s.off])
}

// looksLikeCDefinition reports whether the keyword of n bytes at the
// current position starts a C definition (struct name {, enum {) rather
// than an attach point.
func (s *scanner) looksLikeCDefinition(n int) bool {
	save := s.pos()
	defer s.reset(save)
	s.skip(n)
	if s.eof() || !(isSpace(s.src[s.off]) || s.src[s.off] == '{') {
		return false
	}
	s.skipTrivia()
	return !s.eof() && (isLetter(s.src[s.off]) || s.src[s.off] == '{')
}

// parseCDefinition reads a struct, union or enum definition as raw text,
// through the matching brace and an optional semicolon.
func (p *parser) parseCDefinition(kind string) {
	s := p.s
	start := s.pos()
	s.skip(len(kind))
	s.skipTrivia()
	name := s.word()
	s.skip(len(name))
	s.skipTrivia()
	def := &CDefinition{Kind: kind, Name: name}
	if s.peek(0) != '{' {
		at := s.pos()
		p.addError(at, at, "syntax error, expecting { after "+strings.TrimSpace(kind+" "+name),
			"only complete struct, union and enum definitions may appear outside probes")
		for !s.eof() && s.src[s.off] != '\n' && s.src[s.off] != ';' {
			s.next()
		}
		if s.peek(0) == ';' {
			s.next()
		}
	} else if !p.skipCBody() {
		p.addError(start, s.pos(), "unterminated "+kind+" definition", "a closing } is missing")
	} else {
		save := s.pos()
		s.skipTrivia()
		if s.peek(0) == ';' {
			s.next()
		} else {
			s.reset(save)
		}
	}
	def.Extent = Extent{From: start, To: s.pos()}
	def.Text = s.src[start.Offset:s.off]
	p.prevEnd = def.To
	p.prog.Defs = append(p.prog.Defs, def)
	if len(p.prog.Probes) > 0 {
		p.addError(def.From, def.To, "syntax error, unexpected "+kind+" definition",
			"C definitions must come before the first probe")
	}
}

// skipCBody moves past a brace-balanced C body starting at {, skipping
// comments, strings and character constants, and records the preprocessor
// lines inside it: clang processes them, so a policy must see them. It
// returns false at the end of the input.
func (p *parser) skipCBody() bool {
	s := p.s
	depth := 0
	lineStart := false
	for !s.eof() {
		c := s.src[s.off]
		switch {
		case c == '\n':
			s.next()
			lineStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
			continue
		case c == '#' && lineStart:
			p.addDirective(s.scanDirective(s.pos()), true)
		case c == '/' && (s.peek(1) == '/' || s.peek(1) == '*'):
			s.skipTrivia()
			continue // a comment may end with the line
		case c == '"' || c == '\'':
			s.next()
			for !s.eof() && s.src[s.off] != c && s.src[s.off] != '\n' {
				if s.src[s.off] == '\\' {
					s.next()
				}
				s.next()
			}
			s.next()
		case c == '{':
			depth++
			s.next()
		case c == '}':
			depth--
			s.next()
			if depth == 0 {
				return true
			}
		default:
			s.next()
		}
		lineStart = false
	}
	return false
}

// parseConfig parses config = { name = value; ... }.
func (p *parser) parseConfig() {
	start := p.s.pos()
	p.s.skip(len("config"))
	p.prevEnd = p.s.pos()
	cfg := &Config{Extent: Extent{From: start}}
	if p.prog.Config != nil {
		p.addError(start, p.s.pos(), "syntax error, duplicate config block", "merge the settings into one config block")
	} else if len(p.prog.Probes) > 0 {
		p.addError(start, p.s.pos(), "syntax error, unexpected config block", "the config block must come before the first probe")
	}
	if p.prog.Config == nil {
		p.prog.Config = cfg
	}
	defer func() { cfg.To = p.prevEnd }()
	if !p.expect("=", "", "") || !p.expect("{", "", "") {
		return
	}
	for !p.is("}") && p.cur().kind != tEOF {
		t := p.cur()
		if t.kind != tIdent {
			p.unexpected("identifier or }", "a config block holds settings such as max_strlen = 128;")
			p.syncStmt()
			p.panicking = false
			continue
		}
		p.advance()
		a := &ConfigAssign{Name: t.text, NamePos: t.pos}
		a.From = t.pos
		if p.expect("=", "", "") {
			a.Value = p.parseExpr()
		} else {
			a.Value = p.badExpr(p.cur())
		}
		a.To = p.prevEnd
		cfg.Assigns = append(cfg.Assigns, a)
		if p.is(";") {
			p.advance()
		} else if !p.is("}") {
			p.unexpected("; or }", "")
		}
		if p.panicking {
			p.syncStmt()
			p.panicking = false
		}
	}
	p.expect("}", "", "")
}

// beforeProbes reports an item that bpftrace accepts only before the
// first probe, macro and subprogram.
func (p *parser) beforeProbes(from Pos, what string) {
	if len(p.prog.Probes) > 0 || len(p.prog.Macros) > 0 || len(p.prog.Funcs) > 0 {
		p.addError(from, p.s.pos(), "syntax error, unexpected "+what, what+" must come before the probes, macros and subprograms")
	}
}

// parseImport parses import "name";.
func (p *parser) parseImport() {
	start := p.s.pos()
	p.s.skip(len("import"))
	p.prevEnd = p.s.pos()
	im := &Import{Extent: Extent{From: start}}
	p.prog.Imports = append(p.prog.Imports, im)
	defer func() { im.To = p.prevEnd }()
	p.beforeProbes(start, "import")
	t := p.cur()
	if t.kind != tString {
		p.unexpected("string", `an import is written import "name";`)
		return
	}
	p.advance()
	im.Name, im.NamePos = t.str, t.pos
	p.expect(";", "", `an import is written import "name";`)
}

// parseMapDecl parses let @m = kind(size);.
func (p *parser) parseMapDecl() {
	start := p.s.pos()
	p.s.skip(len("let"))
	p.prevEnd = p.s.pos()
	md := &MapDecl{Extent: Extent{From: start}}
	p.prog.MapDecls = append(p.prog.MapDecls, md)
	defer func() { md.To = p.prevEnd }()
	const hint = "a map declaration is written let @m = hash(1024);"
	t := p.cur()
	if t.kind != tMap {
		p.unexpected("map", hint)
		return
	}
	p.advance()
	md.Map = &MapExpr{Extent: Extent{t.pos, t.end}, Name: t.text}
	if !p.expect("=", "", hint) {
		return
	}
	md.Value = p.parseExpr()
	p.expect(";", "", hint)
}

// parseMacro parses macro name(params) { ... }.
func (p *parser) parseMacro() {
	start := p.s.pos()
	p.s.skip(len("macro"))
	m := &Macro{Extent: Extent{From: start}}
	p.prog.Macros = append(p.prog.Macros, m)
	defer func() { m.To = p.prevEnd }()
	name := p.cur()
	p.advance()
	m.Name = name.text
	if !p.expect("(", "", "") {
		return
	}
	for !p.is(")") {
		t := p.cur()
		switch t.kind {
		case tVar:
			m.Params = append(m.Params, &Var{Extent{t.pos, t.end}, t.text})
		case tMap:
			m.Params = append(m.Params, &MapExpr{Extent: Extent{t.pos, t.end}, Name: t.text})
		case tIdent:
			m.Params = append(m.Params, &Ident{Extent{t.pos, t.end}, t.text})
		default:
			p.unexpected("variable, map or identifier", "")
			return
		}
		p.advance()
		if !p.is(",") {
			break
		}
		p.advance()
	}
	if !p.expect(")", `) or ","`, "") {
		return
	}
	m.Body = p.parseBody("the body of a macro is a block in braces")
}

// parseFunc parses fn name($a: type, ...): type { ... }.
func (p *parser) parseFunc() {
	start := p.s.pos()
	p.s.skip(len("fn"))
	f := &Func{Extent: Extent{From: start}}
	p.prog.Funcs = append(p.prog.Funcs, f)
	defer func() { f.To = p.prevEnd }()
	name := p.cur()
	p.advance()
	f.Name = name.text
	if !p.expect("(", "", "") {
		return
	}
	for !p.is(")") {
		t := p.cur()
		if t.kind != tVar {
			p.unexpected("variable", "subprogram parameters are written $name: type")
			return
		}
		p.advance()
		param := &FuncParam{Extent: Extent{From: t.pos}, Var: &Var{Extent{t.pos, t.end}, t.text}}
		if !p.expect(":", "", "subprogram parameters are written $name: type") {
			return
		}
		param.Type = p.parseType()
		param.To = p.prevEnd
		f.Params = append(f.Params, param)
		if !p.is(",") {
			break
		}
		p.advance()
	}
	if !p.expect(")", `) or ","`, "") {
		return
	}
	if p.is(":") {
		p.advance()
		f.Result = p.parseType()
	}
	f.Body = p.parseBody("the body of a subprogram is a block in braces")
}

// parseBody parses the block that must follow a probe header, macro or
// subprogram, or reports that it is missing.
func (p *parser) parseBody(hint string) *Block {
	if p.is("{") {
		return p.parseBlock()
	}
	if p.cur().kind == tEOF {
		t := p.cur()
		p.errorAt(t.pos, t.end, "unexpected end of file, expected {", hint)
		return nil
	}
	p.unexpected("{", hint)
	return nil
}

// continuedDirective handles a directive whose line ends with a backslash.
// bpftrace 0.17 does not join such lines: it reads the next line as part of
// the program, which then fails to parse in a confusing place. Report the
// backslash instead and take the continuation lines into the directive;
// a continuation line that starts with # is left to be read as a directive
// of its own, so that none is hidden from a policy.
func (p *parser) continuedDirective(d *Directive) {
	s := p.s
	if !strings.HasSuffix(d.Text, "\\") {
		return
	}
	p.addError(d.From, d.To, "syntax error, preprocessor line continued with a backslash",
		"bpftrace does not join lines ending in \\: write the directive on one line")
	for strings.HasSuffix(d.Text, "\\") && !s.eof() {
		save := s.pos()
		if s.peek(0) == '\r' {
			s.next()
		}
		s.next() // the line break
		for !s.eof() && (s.src[s.off] == ' ' || s.src[s.off] == '\t') {
			s.next()
		}
		if s.eof() || s.src[s.off] == '#' {
			s.reset(save)
			return
		}
		line := s.scanDirective(s.pos())
		d.To = line.end
		d.Text = s.src[d.From.Offset:d.To.Offset]
		d.Name, d.Arg = splitDirective(d.Text)
	}
}
