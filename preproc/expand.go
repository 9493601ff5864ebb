package preproc

import (
	"fmt"
	"strings"
)

// RuleMacro is the refusal of a #define that [Expand] does not expand:
// function-like, with a body of more than one token, or naming a word
// bpftrace itself reserves.
const RuleMacro Rule = "preprocessor.macro"

// Reserved reports whether bpftrace's lexer reads a word as something
// other than a plain identifier (a builtin, a function, a keyword), so that
// bpftrace would not replace it by a macro. Expand refuses to define such
// a word instead of guessing which release reserves it. The caller passes
// the words of the bpftrace in use (the docs package knows them).
type Reserved func(word string) bool

// maxExpansions bounds the replacements in one program; a macro that names
// itself, directly or through others, is expanded once and then left as
// it is, as clang does.
const maxExpansions = 10000

// Expand applies the object-like macros of a program the way bpftrace 0.17
// to 0.23 do, for the one form they apply exactly: "#define NAME BODY" on
// a line of its own, outside any C definition, where BODY is one number,
// one string or one identifier (bpftrace joins a longer body's tokens
// without spaces, so "a b" would become "ab"). It returns the program with
// each #define line blanked (line numbers stay) and every use of a macro
// replaced by its body, and refuses, with findings, every other
// preprocessor construct and every #define outside that form. The result
// holds no directive, so the program that is then checked is the program
// bpftrace runs: it never sees the macros.
//
// Uses are replaced where bpftrace's lexer reads an identifier: in code
// and in C definitions, not in strings, comments, attach point paths
// (":name"), $variables or @maps.
func Expand(src string, reserved Reserved, o Options) (string, []Finding) {
	macros := map[string]string{}
	var refused []Finding
	var b strings.Builder
	last := 0
	for _, f := range Check(src, o) {
		lineStart := strings.LastIndexByte(src[:f.Offset], '\n') + 1
		plain := f.Rule == RuleDefine && f.Directive == "define" && !f.InDefinition && src[f.Offset] == '#' &&
			strings.TrimLeft(src[lineStart:f.Offset], " \t") == ""
		if !plain {
			refused = append(refused, f)
			continue
		}
		end := strings.IndexByte(src[f.Offset:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += f.Offset
		}
		name, value, bad := parseDefine(src, f.Offset, strings.TrimRight(src[f.Offset:end], "\r"), reserved)
		if bad != nil {
			refused = append(refused, *bad)
			continue
		}
		macros[name] = value
		// Blank the line, keeping its break, so line numbers stay.
		b.WriteString(src[last:lineStart])
		last = end
	}
	if len(refused) > 0 {
		return "", refused
	}
	b.WriteString(src[last:])
	if len(macros) == 0 {
		return src, nil
	}
	expanded, err := replaceIdents(b.String(), macros)
	if err != "" {
		return "", []Finding{{Rule: RuleMacro, Line: 1, Column: 1, EndLine: 1, EndColumn: 1,
			Message: err, Hint: "use each macro as a value only, and write function names out"}}
	}
	// What the expansion produced must be free of any construct (a value
	// is one token and cannot carry one, but check rather than argue).
	if fs := Check(expanded, o); len(fs) > 0 {
		return "", fs
	}
	return expanded, nil
}

// parseDefine reads a "#define NAME VALUE" line that starts at off, and
// refuses the forms Expand does not apply.
func parseDefine(src string, off int, line string, reserved Reserved) (name, value string, f *Finding) {
	refuse := func(msg, hint string) (string, string, *Finding) {
		l, c := position(src, off)
		el, ec := position(src, off+len(line))
		return "", "", &Finding{Rule: RuleMacro, Offset: off, End: off + len(line), Line: l, Column: c, EndLine: el, EndColumn: ec,
			Message: msg, Hint: hint, Directive: "define"}
	}
	after := strings.TrimLeft(line[1:], " \t")
	after = strings.TrimSpace(strings.TrimPrefix(after, "define"))
	i := 0
	for i < len(after) && isIdentChar(after[i]) {
		i++
	}
	name = after[:i]
	if name == "" || !isIdentStart(name[0]) {
		return refuse("#define needs a macro name", "write #define NAME VALUE")
	}
	if i < len(after) && after[i] == '(' {
		return refuse(fmt.Sprintf("#define %s(...) is a function-like macro, which bpftrace does not expand", name),
			"write the expression out where it is used")
	}
	if reserved != nil && reserved(name) {
		return refuse(fmt.Sprintf("#define %s names a word bpftrace reserves (a builtin, function or keyword), which bpftrace would not replace", name),
			"choose another name for the macro")
	}
	value = strings.TrimSpace(after[i:])
	if !singleToken(value) {
		return refuse(fmt.Sprintf("#define %s %s: only a macro whose value is one number, one string or one name is expanded", name, value),
			"write the expression out where it is used, or give each part its own macro")
	}
	return name, value, nil
}

// singleToken reports whether v is one decimal or hex number, one string
// without escapes that could end it early, or one identifier.
func singleToken(v string) bool {
	switch {
	case v == "":
		return false
	case v[0] == '"':
		return len(v) >= 2 && v[len(v)-1] == '"' && !strings.ContainsAny(v[1:len(v)-1], "\"\\")
	case v[0] >= '0' && v[0] <= '9', isIdentStart(v[0]):
		for i := 0; i < len(v); i++ {
			if !isIdentChar(v[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// replaceIdents replaces each identifier that names a macro, outside
// strings, comments, paths, variables and maps, and again in what a
// replacement produced, up to maxExpansions replacements. It refuses a
// macro used as a function name.
func replaceIdents(src string, macros map[string]string) (string, string) {
	var b strings.Builder
	n := 0
	var expand func(word string, active map[string]bool) string
	expand = func(word string, active map[string]bool) string {
		v, ok := macros[word]
		if !ok || active[word] {
			return word
		}
		n++
		if n > maxExpansions {
			return word
		}
		if !isIdentStart(v[0]) {
			return v
		}
		active[word] = true
		defer delete(active, word)
		return expand(v, active)
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			b.WriteString(src[i : i+j])
			i += j
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			end := len(src)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(src[i:end])
			i = end
		case c == '"':
			s := &scanner{src: src}
			end := s.skipString(i)
			b.WriteString(src[i:end])
			i = end
		case c == ':' || c == '$' || c == '@':
			// A path, variable or map name is one token with what follows.
			j := i + 1
			for j < len(src) && (isIdentChar(src[j]) || c == ':' && strings.IndexByte("-./*", src[j]) >= 0) {
				j++
			}
			b.WriteString(src[i:j])
			i = j
		case isIdentChar(c):
			j := i
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			if _, isMacro := macros[src[i:j]]; isMacro && strings.HasPrefix(strings.TrimLeft(src[j:], " \t\r\n"), "(") {
				// bpftrace parses the program once before clang has read
				// the macros, and a name followed by ( must then be a
				// function it knows: it never expands it.
				return "", fmt.Sprintf("%s is a macro used as a function name, which bpftrace does not expand (it reports an unknown function)", src[i:j])
			}
			if isIdentStart(c) {
				b.WriteString(expand(src[i:j], map[string]bool{}))
			} else {
				b.WriteString(src[i:j]) // a number
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	if n > maxExpansions {
		return "", fmt.Sprintf("the macros expand more than %d times", maxExpansions)
	}
	return b.String(), ""
}
