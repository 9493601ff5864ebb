package catalog

import (
	"errors"
	"sort"
	"strings"
)

// maxAlternatives bounds brace expansion so that a pattern like
// {a,b}{a,b}{a,b}... cannot make one query allocate without limit.
const maxAlternatives = 1024

var errTooManyAlternatives = errors.New("pattern has too many {a,b} alternatives")

// glob is a compiled bpftrace-style wildcard pattern: `*` matches any run of
// bytes (including ':'), `?` one byte, `[abc]`, `[a-z]` and `[!a]` (or `[^a]`)
// one byte of a set, and `{a,b}` either alternative. A `[` or `{` without its
// closing bracket is an ordinary byte. Matching is on whole strings and
// case-sensitive, as in bpftrace.
type glob struct {
	alts   [][]gtoken
	prefix string // literal prefix that every match starts with
	lit    string // the pattern itself when it has no wildcards
	isLit  bool
	// prefixOnly: the pattern is prefix + "*", so every string with the
	// prefix matches.
	prefixOnly bool
	// need is a literal run every match contains after the prefix; a cheap
	// strings.Contains rejects most candidates of a "*word*" search before
	// matchTokens runs.
	need string
}

type gkind uint8

const (
	gByte gkind = iota
	gAny
	gStar
	gClass
)

type gtoken struct {
	kind gkind
	b    byte
	set  *[4]uint64 // for gClass: bit c is set when byte c matches
}

func (t gtoken) matches(c byte) bool {
	switch t.kind {
	case gByte:
		return t.b == c
	case gAny:
		return true
	case gClass:
		return t.set[c>>6]&(1<<(c&63)) != 0
	}
	return false
}

// hasWildcard reports whether s contains a character that a glob treats
// specially. It errs on the side of true for unterminated brackets.
func hasWildcard(s string) bool {
	return strings.ContainsAny(s, "*?[{")
}

func compileGlob(pattern string) (*glob, error) {
	alts, err := expandBraces(pattern)
	if err != nil {
		return nil, err
	}
	g := &glob{}
	for i, a := range alts {
		toks := compileAlt(a)
		g.alts = append(g.alts, toks)
		p := literalPrefix(toks)
		if i == 0 {
			g.prefix = p
		} else {
			g.prefix = commonPrefix(g.prefix, p)
		}
	}
	if len(g.alts) == 1 {
		toks := g.alts[0]
		switch {
		case len(g.prefix) == len(toks):
			g.isLit, g.lit = true, g.prefix
		case len(g.prefix) == len(toks)-1 && toks[len(toks)-1].kind == gStar:
			g.prefixOnly = true
		}
		g.need = longestLiteral(toks[len(g.prefix):])
	}
	return g, nil
}

func longestLiteral(toks []gtoken) string {
	best, start := "", -1
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].kind == gByte {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = literalPrefix(toks[start:i])
		}
		start = -1
	}
	return best
}

func (g *glob) match(s string) bool {
	if g.isLit {
		return s == g.lit
	}
	if !strings.HasPrefix(s, g.prefix) {
		return false
	}
	if g.prefixOnly {
		return true
	}
	if g.need != "" && !strings.Contains(s[len(g.prefix):], g.need) {
		return false
	}
	for _, toks := range g.alts {
		if matchTokens(toks, s) {
			return true
		}
	}
	return false
}

// filter returns the elements of sorted (ascending, no duplicates) that
// match, using the literal prefix to skip straight to the candidates.
func (g *glob) filter(sorted []string) []string {
	lo := sort.SearchStrings(sorted, g.prefix)
	if g.prefixOnly {
		hi := lo + sort.Search(len(sorted)-lo, func(i int) bool { return !strings.HasPrefix(sorted[lo+i], g.prefix) })
		if lo == hi {
			return nil
		}
		return append([]string(nil), sorted[lo:hi]...)
	}
	var out []string
	for _, s := range sorted[lo:] {
		if !strings.HasPrefix(s, g.prefix) {
			break
		}
		if g.match(s) {
			out = append(out, s)
		}
	}
	return out
}

// matchTokens is the classic wildcard matcher that backtracks only to the
// most recent star; every token but the star consumes exactly one byte, so
// this is correct and runs in O(len(s)*len(toks)) at worst.
func matchTokens(toks []gtoken, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			t := toks[ti]
			if t.kind == gStar {
				starT, starS = ti, si
				ti++
				continue
			}
			if t.matches(s[si]) {
				ti++
				si++
				continue
			}
		}
		if starT < 0 {
			return false
		}
		starS++
		si, ti = starS, starT+1
	}
	for ti < len(toks) && toks[ti].kind == gStar {
		ti++
	}
	return ti == len(toks)
}

func literalPrefix(toks []gtoken) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind != gByte {
			break
		}
		b.WriteByte(t.b)
	}
	return b.String()
}

func commonPrefix(a, b string) string {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return a[:i]
}

func compileAlt(p string) []gtoken {
	var toks []gtoken
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != gStar {
				toks = append(toks, gtoken{kind: gStar})
			}
		case '?':
			toks = append(toks, gtoken{kind: gAny})
		case '[':
			set, end, ok := parseClass(p, i)
			if !ok {
				toks = append(toks, gtoken{kind: gByte, b: c})
				continue
			}
			toks = append(toks, gtoken{kind: gClass, set: set})
			i = end
		default:
			toks = append(toks, gtoken{kind: gByte, b: c})
		}
	}
	return toks
}

// parseClass parses the bracket expression that starts at p[start] == '['.
// It returns the byte set, the index of the closing ']' and whether the
// expression was terminated. A ']' right after '[' (or '[!') is a member.
func parseClass(p string, start int) (*[4]uint64, int, bool) {
	i := start + 1
	neg := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		neg = true
		i++
	}
	var set [4]uint64
	first := true
	for ; i < len(p); i++ {
		c := p[i]
		if c == ']' && !first {
			if neg {
				for k := range set {
					set[k] = ^set[k]
				}
			}
			return &set, i, true
		}
		first = false
		lo, hi := c, c
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		for b := int(lo); b <= int(hi); b++ {
			set[b>>6] |= 1 << (b & 63)
		}
	}
	return nil, 0, false
}

// expandBraces turns `a{b,c}d` into [abd acd], innermost-last, leaving any
// brace without a partner as an ordinary byte.
func expandBraces(p string) ([]string, error) {
	open, close, parts := findBraces(p)
	if open < 0 {
		return []string{p}, nil
	}
	var out []string
	for _, part := range parts {
		sub, err := expandBraces(p[:open] + part + p[close+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
		if len(out) > maxAlternatives {
			return nil, errTooManyAlternatives
		}
	}
	return out, nil
}

// findBraces finds the first '{' that has a matching '}' outside bracket
// expressions and splits its contents at top-level commas.
func findBraces(p string) (open, close int, parts []string) {
	for o := 0; o < len(p); o++ {
		switch p[o] {
		case '[':
			if _, end, ok := parseClass(p, o); ok {
				o = end
			}
		case '{':
			if c, parts, ok := splitBraces(p, o); ok {
				return o, c, parts
			}
		}
	}
	return -1, -1, nil
}

func splitBraces(p string, open int) (int, []string, bool) {
	depth := 0
	start := open + 1
	var parts []string
	for i := open + 1; i < len(p); i++ {
		switch p[i] {
		case '[':
			if _, end, ok := parseClass(p, i); ok {
				i = end
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, append(parts, p[start:i]), true
			}
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	return 0, nil, false
}
