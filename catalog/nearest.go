package catalog

import (
	"context"
	"sort"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// Nearest returns up to n real probe names closest to probe, a name that
// does not exist (a typo, a wrong category, an alias), by edit distance on
// the provider-qualified name. Candidates are the probes of the same type
// (for uprobe and usdt, of the same binary) or, when the type is unknown or
// missing, every probe listable without a target. Names further away than
// about half the length of the name are not suggested. The names are
// escaped by package untrusted. Nearest does not fail: with nothing to
// compare it returns nil.
func (c *Catalog) Nearest(ctx context.Context, probe string, n int) []string {
	if n <= 0 || ctx.Err() != nil {
		return nil
	}
	query := probe
	var cands []string
	if p, rest, ok := splitProvider(probe); ok {
		query = p.name + ":" + rest
		cands = c.candidates(ctx, p, rest)
	} else {
		cands, _ = c.List(ctx, "")
	}
	limit := len(query)/2 + 1
	type scored struct {
		name string
		d    int
	}
	best := make([]scored, 0, n+1)
	bound := limit
	_, _, qualified := splitProvider(probe)
	var lev levenshteinBuf
	consider := func(name string) {
		if name == query {
			return
		}
		d := lev.distance(query, name, bound)
		if !qualified {
			// "syscalls:sys_enter_opnat" is also compared with the name
			// after its probe type.
			if _, rest, ok := strings.Cut(name, ":"); ok {
				d = min(d, lev.distance(query, rest, bound))
			}
		}
		if d > bound {
			return
		}
		i := sort.Search(len(best), func(i int) bool {
			return best[i].d > d || best[i].d == d && best[i].name > name
		})
		best = append(best, scored{})
		copy(best[i+1:], best[i:])
		best[i] = scored{name, d}
		if len(best) > n {
			best = best[:n]
		}
		if len(best) == n {
			bound = best[n-1].d
		}
	}
	// Names in the query's own category ("tracepoint:syscalls:") come
	// first: they are the likeliest matches, and a tight bound found early
	// lets the distance computation give up sooner on all the others.
	lo, hi := 0, 0
	if i := strings.LastIndexByte(query, ':'); i > 0 {
		cat := query[:i+1]
		if !qualified {
			// "syscalls:..." names a tracepoint category most likely.
			cat = "tracepoint:" + cat
		}
		lo = sort.SearchStrings(cands, cat)
		hi = lo
		for hi < len(cands) && strings.HasPrefix(cands[hi], cat) {
			hi++
		}
	}
	for _, name := range cands[lo:hi] {
		consider(name)
	}
	for _, name := range cands[:lo] {
		consider(name)
	}
	for _, name := range cands[hi:] {
		consider(name)
	}
	out := make([]string, len(best))
	for i, s := range best {
		// A suggestion goes into a message; a symbol of a binary is
		// written by whoever built it, and may hold a newline or a
		// terminal escape that would start a line of the message's own.
		out[i] = untrusted.Line(s.name)
	}
	return out
}

// candidates lists the probes a misspelling of provider p might have meant.
func (c *Catalog) candidates(ctx context.Context, p *provider, rest string) []string {
	switch p.name {
	case "uprobe", "uretprobe", "usdt":
		target, _, _ := strings.Cut(rest, ":")
		names, err := c.List(ctx, p.name+":"+target+":*")
		if err != nil {
			return nil
		}
		return names
	}
	names, err := c.List(ctx, p.name+":*")
	if err != nil {
		return nil
	}
	return names
}

// levenshtein returns the edit distance between a and b, or any value
// greater than max once it is certain to exceed max.
func levenshtein(a, b string, max int) int {
	var l levenshteinBuf
	return l.distance(a, b, max)
}

// levenshteinBuf keeps the two rows of the distance table between calls.
type levenshteinBuf struct {
	prev, cur []int
}

// distance is levenshtein reusing the buffer. The common prefix and suffix
// are stripped first: probe names that differ share most of both.
func (l *levenshteinBuf) distance(a, b string, max int) int {
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > max {
		return max + 1
	}
	if len(b) == 0 {
		return len(a)
	}
	if cap(l.prev) < len(b)+1 {
		l.prev, l.cur = make([]int, len(b)+1), make([]int, len(b)+1)
	}
	prev, cur := l.prev[:len(b)+1], l.cur[:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
