package preproc

import (
	"fmt"
	"strings"
)

// Rule names what a finding is about, as the configuration and the
// diagnostics spell it.
type Rule string

// The rules. Each finding carries one.
const (
	// RuleInclude: #include, #include_next, #import, #embed: clang reads a
	// file as root, and its errors quote the file.
	RuleInclude Rule = "preprocessor.include"
	// RuleDefine: #define and #undef: bpftrace replaces identifiers of the
	// program by the macro's text after the checks have read it.
	RuleDefine Rule = "preprocessor.define"
	// RuleConditional: #if, #ifdef, #ifndef, #elif, #else, #endif and
	// __has_include (which tests whether a file exists).
	RuleConditional Rule = "preprocessor.conditional"
	// RulePragma: #pragma, _Pragma(...) and __pragma(...).
	RulePragma Rule = "preprocessor.pragma"
	// RuleLine: #line and the GNU line marker "# 12 "file"".
	RuleLine Rule = "preprocessor.line"
	// RuleMessage: #error and #warning.
	RuleMessage Rule = "preprocessor.message"
	// RuleDirective: any other directive, the null directive (a lone #),
	// ## token pasting, and a # where bpftrace would read a directive.
	RuleDirective Rule = "preprocessor.directive"
	// RuleDigraph: %: %:%: <: :> <% %>, the digraph spellings of # ## [ ] { }.
	RuleDigraph Rule = "preprocessor.digraph"
	// RuleTrigraph: ??= ??/ ??' ??( ??) ??! ??< ??> ??-.
	RuleTrigraph Rule = "preprocessor.trigraph"
	// RuleContinuation: a backslash that ends a line outside a string, or
	// any backslash in C text: it joins lines before clang reads directives.
	RuleContinuation Rule = "preprocessor.continuation"
	// RuleCDefinition: a string or a comment inside a struct, union or enum
	// (or what bpftrace might read as one): bpftrace passes that text to
	// clang raw, and where such a region ends differs between versions.
	RuleCDefinition Rule = "preprocessor.c-definition"
)

// Rules lists every rule, for documentation and tests.
var Rules = []Rule{RuleInclude, RuleDefine, RuleConditional, RulePragma, RuleLine, RuleMessage,
	RuleDirective, RuleDigraph, RuleTrigraph, RuleContinuation, RuleCDefinition}

// Finding is one preprocessor construct in a program. Line and Column are
// 1-based and count bytes, as the lang package's positions do; Offset is
// the 0-based byte offset. End, EndLine and EndColumn are the position
// just after the construct.
type Finding struct {
	Rule      Rule
	Offset    int
	Line      int
	Column    int
	End       int
	EndLine   int
	EndColumn int
	Message   string
	Hint      string
	// Directive is the name of the directive found ("define", "include",
	// "" for a null directive or a construct that is no directive).
	Directive string
	// InDefinition: the construct stands in C text (a struct, union or
	// enum, or what bpftrace might read as one).
	InDefinition bool
}

func (f Finding) String() string {
	return fmt.Sprintf("%d:%d: %s: %s", f.Line, f.Column, f.Rule, f.Message)
}

// Options relax the guard. The zero value refuses every construct.
type Options struct {
	// AllowInclude lets a plain "#include <file>" or "#include "file"" line
	// through when it stands outside any C definition (an administrator's
	// choice: clang then reads that file as root).
	AllowInclude bool
}

// Check returns every preprocessor construct in src, in source order. An
// empty result means that no bpftrace version reads any part of src as a
// directive, and that the C text it hands to clang holds nothing that
// clang's preprocessor acts on.
func Check(src string, o Options) []Finding {
	s := &scanner{src: src, o: o}
	s.run()
	return s.found
}

type scanner struct {
	src   string
	o     Options
	found []Finding
}

func (s *scanner) add(rule Rule, from, to int, msg, hint string) {
	line, col := position(s.src, from)
	eline, ecol := position(s.src, to)
	s.found = append(s.found, Finding{Rule: rule, Offset: from, Line: line, Column: col,
		End: to, EndLine: eline, EndColumn: ecol, Message: msg, Hint: hint})
}

// position returns the 1-based line and byte column of offset off.
func position(src string, off int) (line, col int) {
	line = 1 + strings.Count(src[:off], "\n")
	col = off - strings.LastIndexByte(src[:off], '\n')
	return line, col
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func (s *scanner) at(i int, lit string) bool { return strings.HasPrefix(s.src[i:], lit) }

// run scans the program as bpftrace's lexer does in its initial state:
// code, strings, comments, and the raw C text after struct, union or enum.
func (s *scanner) run() {
	src := s.src
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case s.at(i, "#!") && (i == 0 || src[i-1] == '\n'):
			// The interpreter line of a script file: bpftrace's lexer skips
			// "#!" at the very start of a line as a comment, on any line.
			i = s.lineEnd(i)
		case s.at(i, "//"):
			i = s.lineEnd(i)
		case s.at(i, "/*"):
			if j := strings.Index(src[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(src)
			}
		case c == '"':
			i = s.skipString(i)
		case c == '$' && s.at(i, "$#"):
			i += 2 // the count of positional parameters, not a directive
		case (c == '$' || c == '@') && i+1 < len(src) && isIdentStart(src[i+1]):
			// A variable or map name: bpftrace reads "@struct" as one token.
			i++
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
		case isIdentChar(c):
			i = s.word(i)
		case c == '#':
			i = s.directive(i, i+1, "#", false)
		case s.at(i, "%:"):
			i = s.digraphDirective(i, false)
		case s.at(i, "<:"), s.at(i, ":>"), s.at(i, "<%"), s.at(i, "%>"):
			s.add(RuleDigraph, i, i+2, fmt.Sprintf("%q is a digraph (%s in C)", src[i:i+2], digraphMeaning(src[i:i+2])),
				"bpftrace has no digraphs: write the character itself, or put a space between the two characters")
			i += 2
		case s.trigraph(i):
			i = s.reportTrigraph(i, false)
		case c == '\\' && s.continuation(i) > 0:
			n := s.continuation(i)
			s.add(RuleContinuation, i, i+n, "a backslash at the end of a line outside a string joins it with the next line in C's preprocessor",
				"remove the backslash; bpftrace statements may span lines without it")
			i += n
		default:
			i++
		}
	}
}

// lineEnd returns the offset of the newline that ends the line holding i
// (or the end of the program).
func (s *scanner) lineEnd(i int) int {
	if j := strings.IndexByte(s.src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s.src)
}

// skipString skips a string literal as bpftrace's lexer reads it: it ends
// at a closing quote, at a newline (unterminated), or at a backslash that
// does not escape a character on the same line.
func (s *scanner) skipString(i int) int {
	src := s.src
	i++
	for i < len(src) {
		switch src[i] {
		case '"':
			return i + 1
		case '\n':
			return i
		case '\\':
			if n := s.continuation(i); n > 0 {
				s.add(RuleContinuation, i, i+n, "a backslash at the end of a line joins it with the next line in C's preprocessor; bpftrace strings cannot span lines",
					`write the string on one line, with \n for a line break`)
				return i + n
			}
			if i+1 < len(src) {
				i += 2
				continue
			}
			return len(src)
		default:
			i++
		}
	}
	return i
}

// continuation returns the length of a backslash-newline at i (a backslash,
// optional blanks, which clang accepts with a warning, and \n or \r\n), or 0.
func (s *scanner) continuation(i int) int {
	j := i + 1
	for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t' || s.src[j] == '\f' || s.src[j] == '\v') {
		j++
	}
	switch {
	case s.at(j, "\n"):
		return j + 1 - i
	case s.at(j, "\r\n"):
		return j + 2 - i
	case j == len(s.src):
		return j - i
	}
	return 0
}

var trigraphs = map[byte]string{'=': "#", '/': `\`, '\'': "^", '(': "[", ')': "]", '!': "|", '<': "{", '>': "}", '-': "~"}

func (s *scanner) trigraph(i int) bool {
	if !s.at(i, "??") || i+2 >= len(s.src) {
		return false
	}
	_, ok := trigraphs[s.src[i+2]]
	return ok
}

func (s *scanner) reportTrigraph(i int, inDef bool) int {
	if s.src[i+2] == '=' {
		return s.directive(i, i+3, "??=", inDef)
	}
	s.add(RuleTrigraph, i, i+3, fmt.Sprintf("%q is a trigraph (%s in C)", s.src[i:i+3], trigraphs[s.src[i+2]]),
		`write the character itself; "??" followed by one of = / ' ( ) ! < > - is never needed in bpftrace code`)
	return i + 3
}

func digraphMeaning(d string) string {
	switch d {
	case "<:":
		return "["
	case ":>":
		return "]"
	case "<%":
		return "{"
	case "%>":
		return "}"
	}
	return "#"
}

func (s *scanner) digraphDirective(i int, inDef bool) int {
	if s.at(i, "%:%:") {
		s.add(RuleDigraph, i, i+4, `"%:%:" is the digraph spelling of ## (token pasting)`,
			"bpftrace has no token pasting; write the identifier out")
		return i + 4
	}
	return s.directive(i, i+2, "%:", inDef)
}

// word handles a run of identifier characters in code: struct, union and
// enum start raw C text; _Pragma and __has_include are preprocessor
// operators.
func (s *scanner) word(i int) int {
	src := s.src
	j := i
	for j < len(src) && isIdentChar(src[j]) {
		j++
	}
	w := src[i:j]
	s.operator(w, i, j)
	kw := w
	if !isIdentStart(w[0]) {
		// A number: its digits may end a token bpftrace reads before a
		// keyword ("1struct" is 1 then struct), so look at the suffix.
		kw = ""
		for _, k := range []string{"struct", "union", "enum"} {
			if strings.HasSuffix(w, k) {
				kw = k
			}
		}
	}
	switch kw {
	case "struct", "union", "enum":
		return s.raw(j)
	}
	return j
}

// operator reports the preprocessor operators that are written as
// identifiers.
func (s *scanner) operator(w string, from, to int) {
	switch w {
	case "_Pragma", "__pragma":
		s.add(RulePragma, from, to, w+" is C's pragma operator: clang acts on it while it reads the C text",
			"remove it; bpftrace programs need no pragmas")
	case "__has_include", "__has_include_next", "__has_embed":
		s.add(RuleConditional, from, to, w+" asks clang whether a file exists, so its answer leaks what is on disk",
			"remove it; bpftrace programs need no conditional compilation")
	}
}

// raw scans C text after struct, union or enum until bpftrace's lexer
// would leave it: at "*" or ")" before any brace, or at the brace that
// closes the definition. Everything in it goes to clang as written, so
// nothing in it is exempt: no string, comment or backslash is allowed, and
// every directive spelling is reported.
func (s *scanner) raw(i int) int {
	src := s.src
	depth := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '{':
			depth++
			i++
		case c == '}':
			depth--
			i++
			if depth <= 0 {
				return i
			}
		case depth == 0 && (c == '*' || c == ')'):
			return i
		case c == '#':
			i = s.directive(i, i+1, "#", true)
		case s.at(i, "%:"):
			i = s.digraphDirective(i, true)
		case s.at(i, "<:"), s.at(i, ":>"), s.at(i, "<%"), s.at(i, "%>"):
			s.add(RuleDigraph, i, i+2, fmt.Sprintf("%q in a C definition is a digraph (%s)", src[i:i+2], digraphMeaning(src[i:i+2])),
				"write the character itself")
			i += 2
		case s.trigraph(i):
			i = s.reportTrigraph(i, true)
		case c == '\\':
			s.add(RuleContinuation, i, i+1, "a backslash in a C definition can join lines or spell a character before clang reads directives",
				"C definitions need no backslash: remove it")
			i++
		case c == '"':
			s.add(RuleCDefinition, i, i+1, "a string in a C definition (or in what bpftrace may read as one) is refused: bpftrace passes that text to clang as written",
				"C definitions need no strings; if this is not meant as C, move struct/union/enum away from the string")
			i++
		case s.at(i, "//"), s.at(i, "/*"):
			s.add(RuleCDefinition, i, i+2, "a comment inside a C definition is refused: bpftrace passes that text to clang as written, and where it ends differs between bpftrace and clang",
				"move the comment before the struct, union or enum")
			i += 2
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			s.operator(src[i:j], i, j)
			i = j
		default:
			i++
		}
	}
	return i
}

// directive reports the directive that starts at from, whose introducer
// (#, %: or ??=) ends at after, and returns where scanning goes on: the end
// of the line, which bpftrace's lexer takes into the directive.
func (s *scanner) directive(from, after int, intro string, inDef bool) int {
	name, nameEnd := s.directiveName(after)
	end := s.lineEnd(from)
	if s.at(after, "#") && intro == "#" {
		s.add(RuleDirective, from, after+1, "## is C's token-pasting operator", "bpftrace has no token pasting; write the identifier out")
		return end
	}
	rule, what := classify(name)
	if intro == "#" && !inDef && rule == RuleInclude && s.o.AllowInclude && name != "embed" {
		return end
	}
	spelled := intro + name
	if name == "" {
		spelled = intro
	}
	where := ""
	if inDef {
		where = " inside a C definition (bpftrace hands that text to clang)"
	}
	msg := fmt.Sprintf("%s is a preprocessor %s%s: it is refused because clang would act on it before any check could see the result", spelled, what, where)
	hint := hintFor(rule)
	switch intro {
	case "%:":
		msg = fmt.Sprintf("%%:%s is the digraph spelling of #%s, a preprocessor %s%s", name, name, what, where)
		rule = RuleDigraph
	case "??=":
		msg = fmt.Sprintf("??=%s is the trigraph spelling of #%s, a preprocessor %s%s", name, name, what, where)
		rule = RuleTrigraph
	}
	if lineStart := strings.LastIndexByte(s.src[:from], '\n') + 1; !inDef && strings.TrimSpace(s.src[lineStart:from]) != "" {
		msg += " (bpftrace reads a # anywhere outside a string or comment as the start of a directive)"
	}
	s.add(rule, from, max(nameEnd, after), msg, hint)
	f := &s.found[len(s.found)-1]
	f.Directive, f.InDefinition = name, inDef
	return end
}

// directiveName reads the name after a directive's introducer, skipping
// blanks, block comments and line continuations as clang does.
func (s *scanner) directiveName(i int) (string, int) {
	src := s.src
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t' || src[i] == '\f' || src[i] == '\v':
			i++
		case s.at(i, "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return "", len(src)
			}
			i += 2 + j + 2
		case src[i] == '\\' && s.continuation(i) > 0:
			i += s.continuation(i)
		default:
			// The name itself may be split by continuations (#def\<newline>ine).
			var name strings.Builder
			for i < len(src) {
				if isIdentChar(src[i]) {
					name.WriteByte(src[i])
					i++
				} else if n := s.continuation(i); src[i] == '\\' && n > 0 {
					i += n
				} else {
					break
				}
			}
			return name.String(), i
		}
	}
	return "", i
}

// classify maps a directive name to its rule and a word for it.
func classify(name string) (Rule, string) {
	switch name {
	case "include", "include_next", "import", "embed":
		return RuleInclude, "file inclusion"
	case "define", "undef":
		return RuleDefine, "macro definition"
	case "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else", "endif":
		return RuleConditional, "conditional"
	case "pragma":
		return RulePragma, "pragma"
	case "line":
		return RuleLine, "line marker"
	case "error", "warning":
		return RuleMessage, "diagnostic"
	case "":
		return RuleDirective, "null directive"
	}
	if name[0] >= '0' && name[0] <= '9' {
		return RuleLine, "line marker"
	}
	return RuleDirective, "directive"
}

func hintFor(r Rule) string {
	switch r {
	case RuleInclude:
		return "declare the struct you need in the program itself (struct foo { int x; }), or use the tracepoint's args, which need no header"
	case RuleDefine:
		return "write the value or expression out where it is used; bpftrace 0.24 and later have their own macro keyword (macro name() { ... })"
	case RuleConditional:
		return "remove the conditional and keep only the code you want to run"
	case RulePragma:
		return "remove the pragma; bpftrace programs need none"
	case RuleLine:
		return "remove the line marker"
	case RuleMessage:
		return "remove the line; to report something, use printf() in the program"
	}
	return "remove the # line; outside strings and comments bpftrace reads # as the start of a C preprocessor line (only $# is not)"
}
