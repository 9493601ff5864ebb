package trace

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
)

// Budget bounds the size of every answer, counted as it goes to the client:
// the typed data and its text rendering together.
type Budget struct {
	// Default is the size of an answer whose request sets no max_bytes;
	// 0 means 32 KiB.
	Default int
	// Ceiling is the most any answer may be, whatever the request asks
	// for; 0 means 64 KiB. Common clients cut a tool result at about
	// 25,000 tokens; 64 KiB stays under that.
	Ceiling int
}

// Defaults of a [Budget].
const (
	DefaultAnswerBytes = 32 << 10
	DefaultCeiling     = 64 << 10
	// minAnswerBytes is the smallest budget a request may set: room for
	// the summary and a few lines.
	minAnswerBytes = 1024
)

func (b Budget) withDefaults() Budget {
	if b.Ceiling <= 0 {
		b.Ceiling = DefaultCeiling
	}
	b.Ceiling = max(b.Ceiling, minAnswerBytes)
	if b.Default <= 0 {
		b.Default = DefaultAnswerBytes
	}
	b.Default = min(b.Default, b.Ceiling)
	return b
}

// envelope is what the transport adds around an answer's data and text
// (the JSON-RPC frame, the content array, the field names), rounded up.
const envelope = 192

// MapPage is one map of a run, cut to what fits: its entries most
// significant first, from Offset on.
type MapPage struct {
	output.Map
	// EntriesTotal is the number of entries the map has.
	EntriesTotal int `json:"entries_total"`
	// Offset is the rank of the first entry given (0: the most
	// significant).
	Offset int `json:"offset,omitempty"`
	// Truncated says entries past those given were left out: read them
	// with get_result map and map_offset.
	Truncated bool `json:"truncated" jsonschema:"entries were left out; read on with get_result map=NAME map_offset=offset+len(entries)"`
	// all is every entry, ordered; Entries is the part given.
	all []output.Entry
}

// UnmarshalJSON reads what marshalling a MapPage writes: output.Map's own
// UnmarshalJSON would otherwise be promoted and drop the paging fields.
func (p *MapPage) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &p.Map); err != nil {
		return err
	}
	var paging struct {
		EntriesTotal int  `json:"entries_total"`
		Offset       int  `json:"offset"`
		Truncated    bool `json:"truncated"`
	}
	if err := json.Unmarshal(b, &paging); err != nil {
		return err
	}
	p.EntriesTotal, p.Offset, p.Truncated = paging.EntriesTotal, paging.Offset, paging.Truncated
	return nil
}

// ordered returns a map's entries most significant first: by value,
// descending; histograms by their count; entries of equal weight, and
// values that are not numbers, keep bpftrace's order.
func ordered(m *output.Map) []output.Entry {
	es := slices.Clone(m.Entries)
	slices.SortStableFunc(es, func(a, b output.Entry) int {
		wa, oka := weight(a)
		wb, okb := weight(b)
		switch {
		case oka && okb:
			return cmp.Compare(wb, wa)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return es
}

// weight is how much an entry counts when ordering: its value, a
// histogram's count, a stats() entry's count.
func weight(e output.Entry) (float64, bool) {
	switch {
	case e.Stats != nil:
		return float64(e.Stats.Count), true
	case e.Buckets != nil:
		var n uint64
		for _, b := range e.Buckets {
			n += b.Count
		}
		return float64(n), true
	}
	switch v := e.Value.(type) {
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

// pageMaps orders every map and gives each all its entries from offset on
// (offset applies to the map named only, when one is).
func pageMaps(maps []*output.Map, only string, offset int) []*MapPage {
	var out []*MapPage
	for _, m := range maps {
		if only != "" && m.Name != only {
			continue
		}
		all := ordered(m)
		p := &MapPage{Map: *m, EntriesTotal: len(all), all: all}
		if only != "" {
			p.Offset = min(offset, len(all))
		}
		p.Entries = all[p.Offset:]
		out = append(out, p)
	}
	return out
}

// setEntries gives the first n entries from p.Offset.
func (p *MapPage) setEntries(n int) {
	rest := p.all[p.Offset:]
	n = min(n, len(rest))
	p.Entries = rest[:n:n]
	p.Truncated = p.Offset+n < len(p.all)
}

// jsonLen is the size of v in JSON, as the transport sends it.
func jsonLen(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// size is the size of an answer carrying r, both as data and as text,
// plus reserve bytes the caller adds around it.
func (r *Result) size(reserve int) int {
	return jsonLen(r) + jsonLen(r.Text()) + envelope + reserve
}

// fit cuts r's lines and map entries until the whole answer is within
// budget. The lines and the maps share it: each gets half, and what one
// does not need goes to the other. Map entries are taken by rank across
// the maps (the top entry of each, then the second of each, ...), so that
// every map shows its most significant entries.
func (r *Result) fit(budget, reserve int) {
	// Measure the answer without lines and entries, then estimate what
	// each adds: marshalling a map of a million entries to learn that it
	// does not fit would cost more than the answer is worth.
	lines := r.Output
	for _, m := range r.Maps {
		m.setEntries(0)
	}
	r.setLines(lines, 0)
	room := budget - r.size(reserve)
	errMsg := r.ErrorMessage
	if room < 0 && len(errMsg) > 200 {
		// The one field of unbounded length besides lines and maps.
		r.ErrorMessage = cutText(errMsg, max(100, len(errMsg)+room))
		room = budget - r.size(reserve)
	}
	if room < 0 {
		// The time split is a convenience (duration is their sum with the
		// teardown): the smallest budget goes without it.
		r.AttachSeconds, r.TracedSeconds = nil, 0
		room = budget - r.size(reserve)
	}
	if room < 0 {
		// The advice on lost events and helper errors is the same on every
		// answer; a small one names them only.
		r.brief = true
		room = budget - r.size(reserve)
	}
	for room < 0 && len(r.Maps) > 0 {
		// Each map's name and totals take a few dozen bytes: a program
		// with many maps lists only its largest ones in a small answer, and
		// the smallest answer with every note may list none.
		small := 0
		for i, m := range r.Maps {
			if m.EntriesTotal < r.Maps[small].EntriesTotal {
				small = i
			}
		}
		r.Maps = slices.Delete(r.Maps, small, small+1)
		r.mapsLeftOut++
		room = budget - r.size(reserve)
	}
	if room < 0 && len(errMsg) > 40 {
		// Last, the error itself (it is both in the data and in the
		// text): its start says what went wrong.
		r.ErrorMessage = cutText(errMsg, max(40, len(strings.TrimSuffix(r.ErrorMessage, cutMark))+room/2-1))
		room = budget - r.size(reserve)
	}
	if room <= 0 {
		return
	}
	// A line costs its JSON string in the data and about as much in the
	// text (escaped again on the wire).
	lineCosts := make([]int, len(lines))
	var linesWant int
	for i, l := range lines {
		lineCosts[i] = 2*jsonLen(l) + 2
		linesWant += lineCosts[i]
	}
	var mapsWant int
	entryCost := func(m *MapPage, i int) int {
		e := m.all[m.Offset+i]
		return jsonLen(e) + 1 + jsonLen(entryText(m.Type, e)) + 4
	}
	for _, m := range r.Maps {
		for i := range len(m.all) - m.Offset {
			mapsWant += entryCost(m, i)
			if mapsWant > room {
				break
			}
		}
	}
	lineRoom := room / 2
	switch {
	case linesWant+mapsWant <= room:
		lineRoom = linesWant
	case mapsWant < room-lineRoom:
		lineRoom = room - mapsWant
	case linesWant < lineRoom:
		lineRoom = linesWant
	}
	mapRoom := room - lineRoom

	n, used := 0, 0
	for n < len(lines) && used+lineCosts[n] <= lineRoom {
		used += lineCosts[n]
		n++
	}
	r.setLines(lines, n)

	counts := make([]int, len(r.Maps))
	used = 0
	for open := true; open; {
		open = false
		for i, m := range r.Maps {
			if counts[i] < 0 || m.Offset+counts[i] >= len(m.all) {
				continue
			}
			c := entryCost(m, counts[i])
			if used+c > mapRoom {
				counts[i] = -counts[i] - 1 // closed; decoded below
				continue
			}
			used += c
			counts[i]++
			open = true
		}
	}
	for i, m := range r.Maps {
		if counts[i] < 0 {
			counts[i] = -counts[i] - 1
		}
		m.setEntries(counts[i])
	}
	// The costs are estimates: cut further until the measure agrees.
	for r.size(reserve) > budget {
		if !r.dropOne(lines) {
			return
		}
	}
}

// cutMark ends a text that was cut to fit an answer.
const cutMark = " [cut]"

// cutText cuts s to at most n bytes, on a character boundary, and marks
// the cut.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMark
}

// dropOne removes the last line or the last entry of the largest map,
// whichever part is larger; it reports whether anything was left to drop.
func (r *Result) dropOne(lines []string) bool {
	var big *MapPage
	for _, m := range r.Maps {
		if len(m.Entries) > 0 && (big == nil || len(m.Entries) > len(big.Entries)) {
			big = m
		}
	}
	switch {
	case big != nil && (r.LinesReturned == 0 || len(big.Entries) >= r.LinesReturned):
		big.setEntries(len(big.Entries) - 1)
	case r.LinesReturned > 0:
		r.setLines(lines, r.LinesReturned-1)
	default:
		return false
	}
	return true
}

// setLines keeps the first n of the lines read.
func (r *Result) setLines(lines []string, n int) {
	r.Output = lines[:n:n]
	r.LinesReturned = n
	r.NextOffset = r.offset + int64(n)
	r.HasMore = r.NextOffset < r.LinesTotal
}
