package lang

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner turns source text into tokens. It has no lookahead buffer of its
// own: its whole state is a position, so the parser can look ahead by saving
// the position, scanning, and resetting. The parser also reads attach points
// and top-level items from the raw text (scanAttachPoint, scanDirective),
// because their lexical rules differ from those inside a probe body: in
// "uprobe:/bin/bash:readline*" the slashes and the star are part of a name.
type scanner struct {
	src  string
	off  int // offset of the next byte
	line int
	col  int

	// report records an error. The parser deduplicates, since looking ahead
	// can scan the same bad character twice.
	report func(pos, end Pos, msg, hint string)

	comments    []*Comment
	lastComment int // offset of the last comment recorded, so rescans add none
}

func newScanner(src string, report func(pos, end Pos, msg, hint string)) *scanner {
	return &scanner{src: src, line: 1, col: 1, report: report, lastComment: -1}
}

func (s *scanner) pos() Pos { return Pos{Offset: s.off, Line: s.line, Column: s.col} }

func (s *scanner) reset(p Pos) { s.off, s.line, s.col = p.Offset, p.Line, p.Column }

func (s *scanner) eof() bool { return s.off >= len(s.src) }

// peek returns the byte i positions ahead, or 0 past the end.
func (s *scanner) peek(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

// next moves past one byte.
func (s *scanner) next() {
	if s.off >= len(s.src) {
		return
	}
	if s.src[s.off] == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	s.off++
}

func (s *scanner) skip(n int) {
	for ; n > 0; n-- {
		s.next()
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentByte(c byte) bool { return isLetter(c) || isDigit(c) }

// skipTrivia moves past white space and comments, recording the comments.
func (s *scanner) skipTrivia() {
	for !s.eof() {
		c := s.src[s.off]
		switch {
		case isSpace(c):
			s.next()
		case c == '/' && s.peek(1) == '/', c == '#' && s.peek(1) == '!':
			// bpftrace ignores #! lines wherever they are, like comments.
			start := s.pos()
			for !s.eof() && s.src[s.off] != '\n' {
				s.next()
			}
			s.addComment(start)
		case c == '/' && s.peek(1) == '*':
			start := s.pos()
			s.skip(2)
			for !s.eof() && !(s.src[s.off] == '*' && s.peek(1) == '/') {
				s.next()
			}
			if s.eof() {
				s.report(start, s.pos(), "end of file during comment", "close the comment with */")
			} else {
				s.skip(2)
			}
			s.addComment(start)
		default:
			return
		}
	}
}

func (s *scanner) addComment(start Pos) {
	if start.Offset <= s.lastComment {
		return
	}
	s.lastComment = start.Offset
	end := s.pos()
	s.comments = append(s.comments, &Comment{
		Extent: Extent{From: start, To: end},
		Text:   strings.TrimSuffix(s.src[start.Offset:end.Offset], "\r"),
	})
}

func (s *scanner) token(kind tokKind, start Pos) token {
	end := s.pos()
	return token{kind: kind, text: s.src[start.Offset:end.Offset], pos: start, end: end}
}

// scan returns the next token of a probe body, predicate or other code.
func (s *scanner) scan() token {
	s.skipTrivia()
	start := s.pos()
	if s.eof() {
		return token{kind: tEOF, pos: start, end: start}
	}
	c := s.src[s.off]
	switch {
	case isLetter(c):
		for !s.eof() && isIdentByte(s.src[s.off]) {
			s.next()
		}
		return s.token(tIdent, start)
	case isDigit(c):
		return s.scanNumber(start)
	case c == '"':
		return s.scanString(start)
	case c == '@':
		s.next()
		for !s.eof() && isIdentByte(s.src[s.off]) {
			s.next()
		}
		return s.token(tMap, start)
	case c == '$':
		return s.scanDollar(start)
	case c == '#':
		return s.scanDirective(start)
	}
	if p := matchPunct(s.src[s.off:]); p != "" {
		s.skip(len(p))
		return s.token(tPunct, start)
	}
	return s.scanIllegal(start)
}

// puncts lists operators and delimiters, longest first so that the first
// match is the longest one.
var puncts = []string{
	"<<=", ">>=",
	"==", "!=", "<=", ">=", "<<", ">>", "&&", "||", "++", "--", "+=", "-=",
	"*=", "/=", "%=", "&=", "|=", "^=", "->", "..",
	"(", ")", "{", "}", "[", "]", ";", ",", ":", "?", ".", "=", "<", ">",
	"+", "-", "*", "/", "%", "&", "|", "^", "!", "~",
}

func matchPunct(s string) string {
	for _, p := range puncts {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

func (s *scanner) scanIllegal(start Pos) token {
	r, size := decodeRune(s.src[s.off:])
	s.skip(size)
	if r == '\'' {
		// A C character constant: one error for all of it.
		rest := s.src[s.off:min(len(s.src), s.off+5)] // 'a', '\n', '\x41'
		if end := strings.IndexAny(rest, "'\n"); end >= 0 && rest[end] == '\'' {
			s.skip(end + 1)
		}
	}
	tok := s.token(tIllegal, start)
	msg := "invalid character " + quoteChar(r, tok.text)
	hint := ""
	switch r {
	case '\'':
		hint = `strings are written in double quotes: "text"`
	case '`':
		hint = "backquotes have no meaning in bpftrace"
	}
	s.report(tok.pos, tok.end, msg, hint)
	return tok
}

// quoteChar quotes a character as bpftrace does ('`'), escaping what would
// not print.
func quoteChar(r rune, raw string) string {
	if r == utf8.RuneError && len(raw) == 1 {
		return fmt.Sprintf(`'\x%02x'`, raw[0])
	}
	if r < ' ' || r == 0x7f {
		return fmt.Sprintf(`'\x%02x'`, r)
	}
	return "'" + string(r) + "'"
}

// scanDollar scans $name, $1 and $#.
func (s *scanner) scanDollar(start Pos) token {
	s.next()
	switch c := s.peek(0); {
	case c == '#':
		s.next()
		return s.token(tParamCount, start)
	case isDigit(c):
		for !s.eof() && isDigit(s.src[s.off]) {
			s.next()
		}
		tok := s.token(tParam, start)
		n, err := strconv.ParseInt(tok.text[1:], 10, 64)
		if err != nil || n == 0 {
			n = 0
			s.report(tok.pos, tok.end, fmt.Sprintf("param %s is out of integer range [1, %d]", tok.text, int64(math.MaxInt64)),
				"positional parameters are numbered from $1")
		}
		tok.num = uint64(n)
		return tok
	case isLetter(c):
		for !s.eof() && isIdentByte(s.src[s.off]) {
			s.next()
		}
		return s.token(tVar, start)
	}
	tok := s.token(tIllegal, start)
	s.report(tok.pos, tok.end, "invalid character '$'", "a scratch variable is written $name, a positional parameter $1")
	return tok
}

// scanDirective scans a preprocessor line. Like bpftrace 0.17 it ends at the
// end of the line: a backslash continuation is not honoured.
func (s *scanner) scanDirective(start Pos) token {
	for !s.eof() && s.src[s.off] != '\n' {
		if s.src[s.off] == '\r' && s.peek(1) == '\n' {
			break
		}
		s.next()
	}
	return s.token(tDirective, start)
}

func decodeRune(s string) (rune, int) {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		size = 1
	}
	return r, size
}
