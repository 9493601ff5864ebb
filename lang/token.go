package lang

import (
	"fmt"
	"strconv"
)

// tokKind is the class of a token. Operators and delimiters share one kind
// (tPunct) and are told apart by their spelling, which keeps the parser's
// checks readable: p.is("(").
type tokKind int

const (
	tEOF        tokKind = iota
	tIllegal            // rejected by the scanner, which already reported why
	tIdent              // pid, printf, if, struct, AF_INET
	tInt                // 42, 0x10, 1e6, 1_000, 10ul
	tString             // "text"
	tMap                // @name, or @ alone
	tVar                // $name
	tParam              // $1
	tParamCount         // $#
	tDirective          // a preprocessor line: # to the end of the line
	tPunct              // operators and delimiters

	// tAttachPoint is never scanned as a token: attach points are read from
	// the raw text. The parser reports them with this kind to its trace hook.
	tAttachPoint
)

type token struct {
	kind     tokKind
	text     string // the source spelling
	pos, end Pos
	str      string // tString: the value with escapes resolved
	num      uint64 // tInt: the value
}

// describe names a token the way bpftrace's messages do ("unexpected }",
// `unexpected ","`), with the spelling added where bpftrace only gives the
// class, because "unexpected identifier foo" is easier to act on.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tIdent:
		if keywords[t.text] {
			return t.text
		}
		return "identifier " + t.text
	case tInt:
		return "integer " + t.text
	case tString:
		return "string " + abbreviate(t.text)
	case tMap:
		return "map " + t.text
	case tVar:
		return "variable " + t.text
	case tParam, tParamCount:
		return "positional parameter " + t.text
	case tDirective:
		return "preprocessor directive"
	case tIllegal:
		return "invalid token " + abbreviate(strconv.Quote(t.text))
	}
	return punctName(t.text)
}

// punctName spells an operator in a message; bison quotes the comma.
func punctName(s string) string {
	if s == "," {
		return `","`
	}
	return s
}

func abbreviate(s string) string {
	const max = 24
	if len(s) <= max {
		return s
	}
	return s[:max-3] + "..."
}

// keywords are identifiers with a grammatical role. They are still scanned as
// tIdent: several of them (struct, config, for) are ordinary names in other
// places, such as field names after "." or "->".
var keywords = map[string]bool{
	"if": true, "else": true, "unroll": true, "while": true, "for": true,
	"return": true, "break": true, "continue": true, "sizeof": true,
	"offsetof": true, "let": true, "struct": true, "union": true, "enum": true,
	"config": true, "macro": true, "fn": true,
}

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "EOF"
	case tIllegal:
		return "Illegal"
	case tIdent:
		return "Ident"
	case tInt:
		return "Int"
	case tString:
		return "String"
	case tMap:
		return "Map"
	case tVar:
		return "Var"
	case tParam:
		return "Param"
	case tParamCount:
		return "ParamCount"
	case tDirective:
		return "Directive"
	case tPunct:
		return "Punct"
	case tAttachPoint:
		return "AttachPoint"
	}
	return fmt.Sprintf("tokKind(%d)", int(k))
}
