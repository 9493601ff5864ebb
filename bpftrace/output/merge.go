package output

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Agg is the function that fills a map, which decides how the same map
// from several hosts combines into one: the fleet gateway's merge.
type Agg string

// The aggregations. AggNone is a map of plain values (@last = nsecs),
// which no arithmetic combines.
const (
	AggNone  Agg = ""
	AggCount Agg = "count"
	AggSum   Agg = "sum"
	AggMin   Agg = "min"
	AggMax   Agg = "max"
	AggAvg   Agg = "avg"
	AggStats Agg = "stats"
	AggHist  Agg = "hist"
	AggLhist Agg = "lhist"
)

// AggOf is the aggregation of a map filled by a call of this name, and
// AggNone for anything else.
func AggOf(call string) Agg {
	switch a := Agg(call); a {
	case AggCount, AggSum, AggMin, AggMax, AggAvg, AggStats, AggHist, AggLhist:
		return a
	}
	return AggNone
}

// ErrNotMergeable is returned by [Merge] for maps whose values do not
// combine: plain values, avg() with the average alone (bpftrace reports
// no count to weigh it by unless it ran as stats()), or maps the hosts
// disagree about.
var ErrNotMergeable = errors.New("map values do not combine across hosts")

// Merge combines one map as several hosts printed it into the map one host
// running all of their events would have printed: counts and sums are
// added, the least and greatest are kept for min() and max(), histogram
// buckets are added bound by bound, and stats() count and total are added
// and the average recomputed from them, never averaged. Entries come out in
// bpftrace's order and the summaries are recomputed. The parts are not
// changed.
func Merge(agg Agg, parts []*Map) (*Map, error) {
	if len(parts) == 0 {
		return nil, errors.New("merge: no maps")
	}
	first := parts[0]
	if agg == AggNone {
		agg = aggOfType(first.Type)
	}
	if agg == AggAvg && allCounted(parts) {
		// avg() run as stats() (see [TypeAvg]): its entries carry count
		// and total, which add up as stats() ones do.
		agg = AggStats
	}
	if agg == AggNone || agg == AggAvg {
		return nil, fmt.Errorf("%s: %w", first.Name, ErrNotMergeable)
	}
	out := &Map{Name: first.Name, Type: first.Type, ValueType: first.ValueType}
	index := map[string]int{}
	for _, m := range parts {
		if m.Type != first.Type || m.Name != first.Name {
			return nil, fmt.Errorf("%s: the hosts print it as %s and %s: %w", first.Name, first.Type, m.Type, ErrNotMergeable)
		}
		for _, e := range m.Entries {
			id, err := keyID(e.Key)
			if err != nil {
				return nil, err
			}
			i, ok := index[id]
			if !ok {
				index[id] = len(out.Entries)
				out.Entries = append(out.Entries, cloneEntry(e))
				continue
			}
			if err := combine(agg, &out.Entries[i], e); err != nil {
				return nil, fmt.Errorf("%s: %w", first.Name, err)
			}
		}
	}
	sortLikeBpftrace(out)
	for i := range out.Entries {
		out.Entries[i].Summary = nil
	}
	out.summarize()
	return out, nil
}

// allCounted reports whether every entry of every part carries its count
// and total.
func allCounted(parts []*Map) bool {
	for _, m := range parts {
		for _, e := range m.Entries {
			if e.Stats == nil {
				return false
			}
		}
	}
	return true
}

// aggOfType is the aggregation the JSON itself says, for maps whose
// program was not analysed.
func aggOfType(t MapType) Agg {
	switch t {
	case TypeHist:
		return AggHist
	case TypeLhist:
		return AggLhist
	case TypeStats:
		return AggStats
	}
	return AggNone
}

func combine(agg Agg, into *Entry, e Entry) error {
	switch agg {
	case AggCount, AggSum, AggMin, AggMax:
		a, ok1 := into.Value.(int64)
		b, ok2 := e.Value.(int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("values %v and %v are not both integers: %w", into.Value, e.Value, ErrNotMergeable)
		}
		switch agg {
		case AggMin:
			into.Value = min(a, b)
		case AggMax:
			into.Value = max(a, b)
		default:
			s, overflow := addInt64(a, b)
			if overflow {
				return fmt.Errorf("the sum overflows int64: %w", ErrNotMergeable)
			}
			into.Value = s
		}
	case AggStats:
		if into.Stats == nil || e.Stats == nil {
			return fmt.Errorf("an entry has no stats: %w", ErrNotMergeable)
		}
		into.Stats.Count += e.Stats.Count
		into.Stats.Total += e.Stats.Total
		into.Stats.Average = 0
		if into.Stats.Count != 0 {
			into.Stats.Average = into.Stats.Total / into.Stats.Count
		}
	case AggHist, AggLhist:
		into.Buckets = addBuckets(into.Buckets, e.Buckets)
	default:
		return ErrNotMergeable
	}
	return nil
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0)
}

// addBuckets adds b's bars to a's. The bounds are fixed by the function
// (powers of two, or lhist's min, max and step), so equal bounds are the
// same bar on every host.
func addBuckets(a, b []Bucket) []Bucket {
	type bound struct{ lo, hi int64 }
	key := func(x Bucket) bound {
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if x.Min != nil {
			lo = *x.Min
		}
		if x.Max != nil {
			hi = *x.Max
		}
		return bound{lo, hi}
	}
	at := make(map[bound]int, len(a))
	for i, x := range a {
		at[key(x)] = i
	}
	for _, x := range b {
		if i, ok := at[key(x)]; ok {
			a[i].Count += x.Count
			continue
		}
		at[key(x)] = len(a)
		a = append(a, x)
	}
	slices.SortFunc(a, func(x, y Bucket) int { return cmp.Compare(key(x).lo, key(y).lo) })
	return a
}

// sortLikeBpftrace orders entries as bpftrace prints a map: ascending by
// value (by count for stats, by key for histograms), ties by key.
func sortLikeBpftrace(m *Map) {
	ids := make(map[*Entry]string, len(m.Entries))
	for i := range m.Entries {
		ids[&m.Entries[i]], _ = keyID(m.Entries[i].Key)
	}
	idx := make([]int, len(m.Entries))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		a, b := &m.Entries[x], &m.Entries[y]
		if !m.Type.IsHist() {
			if c := cmp.Compare(a.Weight(), b.Weight()); c != 0 {
				return c
			}
		}
		return cmp.Compare(ids[a], ids[b])
	})
	sorted := make([]Entry, len(idx))
	for i, j := range idx {
		sorted[i] = m.Entries[j]
	}
	m.Entries = sorted
}

func cloneEntry(e Entry) Entry {
	c := e
	c.Key = slices.Clone(e.Key)
	if e.Stats != nil {
		s := *e.Stats
		c.Stats = &s
	}
	c.Buckets = slices.Clone(e.Buckets)
	return c
}

// keyID is a key's identity across hosts: its JSON, in which numbers,
// strings, frames and syscalls all have one spelling.
func keyID(k []any) (string, error) {
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("merge: key %v: %w", k, err)
	}
	return string(b), nil
}
