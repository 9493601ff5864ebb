package lang

import (
	"fmt"
	"strings"
)

const (
	// maxErrors bounds the error list: past a few errors the rest are mostly
	// consequences of the first ones.
	maxErrors = 10
	// maxDepth bounds the nesting of blocks and expressions, so that a
	// hostile program cannot exhaust the stack.
	maxDepth = 500
)

// Parse parses a whole program. name is used in error messages and
// defaults to "stdin", as in bpftrace's own messages for -e programs.
//
// On syntax errors Parse returns the part of the program it could parse
// (with [BadExpr] and [BadStmt] nodes where parsing failed) and an
// [ErrorList] sorted by position. It returns a nil program only together
// with an error. Parse does not panic, whatever the input.
func Parse(name, src string) (prog *Program, err error) {
	if name == "" {
		name = "stdin"
	}
	p := newParser(name, src)
	defer func() {
		// A parser bug must not take down the server that called Parse; the
		// fuzz test fails on this message, so such bugs still surface.
		if r := recover(); r != nil {
			e := &Error{Filename: name, Msg: fmt.Sprintf("internal error: parser panic: %v", r)}
			e.Pos = p.s.pos()
			e.End = e.Pos
			prog, err = nil, append(p.errs, e)
		}
	}()
	p.parseProgram()
	p.prog.Comments = p.s.comments
	p.errs.sort()
	if len(p.errs) > 0 {
		widenExtents(p.prog)
		return p.prog, p.errs
	}
	return p.prog, nil
}

type parser struct {
	name string
	src  string
	s    *scanner

	tok     token // the current token, when have is true
	have    bool
	prevEnd Pos // end of the last consumed token

	errs      ErrorList
	seenErr   map[string]bool
	panicking bool // an error was reported; stay quiet until resynchronised
	stop      bool // too many errors or too deep: treat the rest as end of file
	depth     int
	inPred    bool // parsing a predicate, where / may end the expression

	prog       *Program
	directives map[int]*Directive // by offset, so that a rescan adds none

	trace func(token) // test hook: called for each token consumed
}

func newParser(name, src string) *parser {
	p := &parser{
		name:       name,
		src:        src,
		seenErr:    make(map[string]bool),
		directives: make(map[int]*Directive),
	}
	p.s = newScanner(src, p.addError)
	p.prog = &Program{Name: name}
	p.prog.From = Pos{Offset: 0, Line: 1, Column: 1}
	return p
}

// addError records an error unless the same one is already recorded. It
// does not enter panic mode: the scanner's errors are independent of the
// parse.
func (p *parser) addError(pos, end Pos, msg, hint string) {
	if p.stop {
		return // what follows the point where parsing stopped is not checked
	}
	key := fmt.Sprintf("%d:%s", pos.Offset, msg)
	if p.seenErr[key] {
		return
	}
	p.seenErr[key] = true
	if len(p.errs) >= maxErrors {
		p.stop = true
		return
	}
	p.errs = append(p.errs, &Error{Filename: p.name, Pos: pos, End: end, Msg: msg, Hint: hint})
}

// errorAt records a syntax error and enters panic mode, in which further
// syntax errors are dropped until the statement or item is resynchronised.
func (p *parser) errorAt(pos, end Pos, msg, hint string) {
	if p.panicking {
		return
	}
	p.panicking = true
	// A second complaint about the same token, such as the } that an
	// unterminated call and its block both miss at the end of the file,
	// adds nothing.
	if n := len(p.errs); n > 0 && p.errs[n-1].Pos.Offset == pos.Offset {
		return
	}
	p.addError(pos, end, msg, hint)
}

// unexpected reports the current token as unexpected. expecting lists what
// would have been accepted, as bison does ("expecting ) or \",\"").
func (p *parser) unexpected(expecting, hint string) {
	t := p.cur()
	if t.kind == tIllegal {
		p.panicking = true // the scanner has said what is wrong
		return
	}
	msg := "syntax error, unexpected " + t.describe()
	if expecting != "" {
		msg += ", expecting " + expecting
	}
	p.errorAt(t.pos, t.end, msg, hint)
}

// cur returns the current token, scanning it if needed.
func (p *parser) cur() token {
	if p.stop {
		at := p.s.pos()
		return token{kind: tEOF, pos: at, end: at}
	}
	if !p.have {
		p.tok = p.s.scan()
		p.have = true
		if p.tok.kind == tDirective {
			p.addDirective(p.tok, false)
		}
	}
	return p.tok
}

// advance consumes the current token.
func (p *parser) advance() {
	t := p.cur()
	if t.kind == tEOF {
		return
	}
	if p.trace != nil {
		p.trace(t)
	}
	p.prevEnd = t.end
	p.have = false
}

// peekAt returns the token n places after the current one, without
// consuming anything.
func (p *parser) peekAt(n int) token {
	t := p.cur()
	if n == 0 || t.kind == tEOF {
		return t
	}
	save := p.s.pos()
	for ; n > 0 && t.kind != tEOF; n-- {
		t = p.s.scan()
	}
	p.s.reset(save)
	return t
}

// rewind forgets a token scanned but not consumed, so that the scanner is
// back at its start: top-level items are read from the raw text.
func (p *parser) rewind() {
	if p.have {
		p.s.reset(p.tok.pos)
		p.have = false
	}
}

func (p *parser) is(punct string) bool {
	t := p.cur()
	return t.kind == tPunct && t.text == punct
}

func (p *parser) isKeyword(word string) bool {
	t := p.cur()
	return t.kind == tIdent && t.text == word
}

// expect consumes the punctuation punct, or reports an error and returns
// false. expecting defaults to punct itself.
func (p *parser) expect(punct, expecting, hint string) bool {
	if p.is(punct) {
		p.advance()
		return true
	}
	if expecting == "" {
		expecting = punctName(punct)
	}
	p.unexpected(expecting, hint)
	return false
}

// enter guards recursion; every call that returns true must be paired with
// leave.
func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		t := p.cur()
		p.panicking = false
		p.errorAt(t.pos, t.end, "program is nested too deeply", "nest blocks and parenthesised expressions less deeply")
		p.stop = true
		return false
	}
	return true
}

func (p *parser) leave() { p.depth-- }

// addDirective records a preprocessor line once, however often it is
// scanned.
func (p *parser) addDirective(t token, inDef bool) *Directive {
	if d, ok := p.directives[t.pos.Offset]; ok {
		return d
	}
	d := newDirective(t, inDef)
	p.directives[t.pos.Offset] = d
	p.prog.Directives = append(p.prog.Directives, d)
	return d
}

func newDirective(t token, inDef bool) *Directive {
	d := &Directive{Extent: Extent{From: t.pos, To: t.end}, Text: t.text, InDefinition: inDef}
	d.Name, d.Arg = splitDirective(t.text)
	return d
}

// splitDirective splits "#  include <x.h>" into "include" and "<x.h>".
func splitDirective(text string) (name, arg string) {
	rest := strings.TrimLeft(strings.TrimPrefix(text, "#"), " \t")
	n := 0
	for n < len(rest) && isIdentByte(rest[n]) {
		n++
	}
	return rest[:n], strings.TrimSpace(rest[n:])
}

// syncStmt skips to the end of the current statement: past the next ; or
// up to the } that closes the current block, whichever comes first.
func (p *parser) syncStmt() {
	depth := 0
	for {
		t := p.cur()
		if t.kind == tEOF {
			return
		}
		if t.kind == tPunct {
			switch t.text {
			case "{", "(", "[":
				depth++
			case ")", "]":
				if depth > 0 {
					depth--
				}
			case "}":
				if depth == 0 {
					return
				}
				depth--
			case ";":
				if depth == 0 {
					p.advance()
					return
				}
			}
		}
		p.advance()
	}
}

// badExpr returns a placeholder for an expression that did not parse, of
// zero width at the token where it failed.
func (p *parser) badExpr(t token) *BadExpr {
	return &BadExpr{Extent{From: t.pos, To: t.pos}}
}
