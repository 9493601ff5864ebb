package output

import "strings"

// maxKeyCommas bounds the search in splitKey; keys with more commas than
// this (C++ template names in ustack keys, say) are split left to right.
const maxKeyCommas = 64

// splitKey splits a JSON map key, which bpftrace joins from the key parts
// with ",", back into its parts.
//
// Without an arity (arity <= 0) it splits on every comma. With one, a key
// with more commas than arity-1 has a string part containing commas; the
// split chosen is the one with the most parts that read as integers, since
// an integer part cannot hold a comma (@[comm, pid] with a comm "a,b" gives
// "a,b,42", read as ["a,b", "42"]). Ties go to the leftmost cuts.
func splitKey(key string, arity int) []string {
	if arity == 1 {
		return []string{key}
	}
	if arity <= 0 || strings.Count(key, ",") <= arity-1 {
		return strings.Split(key, ",")
	}
	var commas []int
	for i := 0; i < len(key); i++ {
		if key[i] == ',' {
			commas = append(commas, i)
		}
	}
	if len(commas) > maxKeyCommas {
		return strings.SplitN(key, ",", arity)
	}
	return cutKey(key, commas, arity)
}

// cutKey chooses arity-1 of the commas by dynamic programming over
// (commas used, last cut).
func cutKey(key string, commas []int, arity int) []string {
	n := len(commas)
	// start(c) is where the part after cut c begins; cut -1 is the key start.
	start := func(c int) int {
		if c < 0 {
			return 0
		}
		return commas[c] + 1
	}
	part := func(from, to int) string { // from: cut index or -1; to: cut index or n
		end := len(key)
		if to < n {
			end = commas[to]
		}
		return key[start(from):end]
	}
	score := func(s string) int {
		if isInteger(s) {
			return 1
		}
		return 0
	}
	// best[k][c]: best score of the first k parts when cut k-1 is comma c.
	best := make([][]int, arity)
	from := make([][]int, arity)
	for k := range best {
		best[k] = make([]int, n)
		from[k] = make([]int, n)
		for c := range best[k] {
			best[k][c] = -1
		}
	}
	for c := 0; c < n; c++ {
		best[1][c] = score(part(-1, c))
		from[1][c] = -1
	}
	for k := 2; k < arity; k++ {
		for c := k - 1; c < n; c++ {
			for prev := k - 2; prev < c; prev++ {
				if best[k-1][prev] < 0 {
					continue
				}
				if s := best[k-1][prev] + score(part(prev, c)); s > best[k][c] {
					best[k][c], from[k][c] = s, prev
				}
			}
		}
	}
	last, top := -1, -1
	for c := arity - 2; c < n; c++ {
		if best[arity-1][c] < 0 {
			continue
		}
		if s := best[arity-1][c] + score(part(c, n)); s > top {
			top, last = s, c
		}
	}
	parts := make([]string, arity)
	parts[arity-1] = part(last, n)
	for k := arity - 1; k >= 1; k-- {
		prev := from[k][last]
		parts[k-1] = part(prev, last)
		last = prev
	}
	return parts
}

// isInteger reports whether s is how bpftrace prints an integer key part.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
