package output

import (
	"encoding/json"
	"math"
	"slices"
)

// Summary answers "how many keys, how much in all, the smallest, the
// largest" for a map without a scan of its entries.
type Summary struct {
	Keys int `json:"keys"` // entries
	// Count is the number of values aggregated: the sum of the counts of a
	// stats() map, or of the samples of a histogram map.
	Count *uint64 `json:"count,omitempty"`
	// Sum is the sum of the integer values of a value map (count(), sum()),
	// or of the totals of a stats() map; absent when it would overflow.
	Sum *int64 `json:"sum,omitempty"`
	// Min and Max are the smallest and largest integer value of a value
	// map, the smallest and largest average of an avg() or stats() map, or
	// the range of a histogram map's samples (absent where a bucket is open).
	Min *int64 `json:"min,omitempty"`
	Max *int64 `json:"max,omitempty"`
}

// HistSummary is what a histogram's buckets say about its samples. The
// percentiles are estimated by linear interpolation inside the bucket that
// holds them, so they are exact to the bucket's width.
type HistSummary struct {
	Count uint64 `json:"count"`
	P50   *int64 `json:"p50,omitempty"`
	P90   *int64 `json:"p90,omitempty"`
	P99   *int64 `json:"p99,omitempty"`
	// Min and Max bound the samples: the lowest and highest bounds of the
	// buckets that hold any; absent where that bucket is open.
	Min *int64 `json:"min,omitempty"`
	Max *int64 `json:"max,omitempty"`
}

// summarize fills the map's Summary and each histogram entry's.
func (m *Map) summarize() {
	s := &Summary{Keys: len(m.Entries)}
	var (
		sum      int64
		overflow bool
		count    uint64
		summed   bool
		counted  bool // entries carry their counts (stats(), or avg() run as stats())
		// A histogram's range is open where any entry's is.
		openLo, openHi bool
	)
	widen := func(v int64) {
		if s.Min == nil || v < *s.Min {
			s.Min = ptr(v)
		}
		if s.Max == nil || v > *s.Max {
			s.Max = ptr(v)
		}
	}
	add := func(v int64) {
		summed = true
		if r := sum + v; (v > 0 && r < sum) || (v < 0 && r > sum) {
			overflow = true
		} else {
			sum = r
		}
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		switch {
		case e.Buckets != nil:
			e.Summary = histSummary(e.Buckets)
			count += e.Summary.Count
			if e.Summary.Count > 0 {
				if lo := e.Summary.Min; lo != nil {
					widen(*lo)
				} else {
					openLo = true
				}
				if hi := e.Summary.Max; hi != nil {
					widen(*hi)
				} else {
					openHi = true
				}
			}
		case e.Stats != nil:
			counted = true
			count += uint64(max(e.Stats.Count, 0))
			add(e.Stats.Total)
			widen(e.Stats.Average)
		default:
			if v, ok := e.Value.(int64); ok {
				widen(v)
				if m.Type == TypeValue {
					add(v)
				}
			}
		}
	}
	if m.Type.IsHist() || m.Type == TypeStats || counted {
		s.Count = &count
	}
	if openLo {
		s.Min = nil
	}
	if openHi {
		s.Max = nil
	}
	if summed && !overflow {
		s.Sum = &sum
	}
	m.Summary = s
}

// histSummary counts the samples of a histogram and estimates its
// percentiles.
func histSummary(buckets []Bucket) *HistSummary {
	h := &HistSummary{}
	first, last := -1, -1
	for i, bk := range buckets {
		h.Count += bk.Count
		if bk.Count > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if h.Count == 0 {
		return h
	}
	h.Min, h.Max = buckets[first].Min, buckets[last].Max
	h.P50 = percentile(buckets, h.Count, 0.50)
	h.P90 = percentile(buckets, h.Count, 0.90)
	h.P99 = percentile(buckets, h.Count, 0.99)
	return h
}

// percentile estimates the value below which a fraction q of the samples
// fall: it finds the bucket holding that sample and interpolates linearly
// between the bucket's bounds. In an open bucket it gives the closed bound.
func percentile(buckets []Bucket, total uint64, q float64) *int64 {
	rank := q * float64(total)
	var cum float64
	for _, bk := range buckets {
		if bk.Count == 0 {
			continue
		}
		c := float64(bk.Count)
		if cum+c < rank {
			cum += c
			continue
		}
		switch {
		case bk.Min == nil && bk.Max == nil:
			return nil
		case bk.Min == nil:
			return ptr(*bk.Max)
		case bk.Max == nil:
			return ptr(*bk.Min)
		}
		lo, hi := float64(*bk.Min), float64(*bk.Max)+1
		v := lo + (rank-cum)/c*(hi-lo)
		v = math.Min(math.Max(v, lo), float64(*bk.Max))
		return ptr(int64(v))
	}
	return nil
}

// Weight is how significant the entry is, for showing the most significant
// first: the value of a value map (0 for values that are not numbers), the
// average of an avg() map, the total of a stats() map, the sample count of
// a histogram.
func (e *Entry) Weight() float64 {
	switch {
	case e.Buckets != nil:
		if e.Summary != nil {
			return float64(e.Summary.Count)
		}
		var n uint64
		for _, bk := range e.Buckets {
			n += bk.Count
		}
		return float64(n)
	case e.Stats != nil:
		return float64(e.Stats.Total)
	}
	switch v := e.Value.(type) {
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}

// Ranked returns the indexes of the map's entries, most significant first
// (by [Entry.Weight], descending; ties keep bpftrace's order). bpftrace
// prints maps in ascending order, so the entries that matter most come last
// in its output.
func (m *Map) Ranked() []int {
	idx := make([]int, len(m.Entries))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		wa, wb := m.Entries[a].Weight(), m.Entries[b].Weight()
		switch {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return 0
	})
	return idx
}

// JSONSize is the number of bytes the entry takes in a result's JSON, for
// fitting entries into a byte budget.
func (e Entry) JSONSize() int {
	b, err := json.Marshal(e)
	if err != nil {
		return 0
	}
	return len(b)
}

func ptr[T any](v T) *T { return &v }
