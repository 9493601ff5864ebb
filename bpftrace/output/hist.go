package output

import (
	"math"
	"strconv"
	"strings"
)

// barWidth is the width of a histogram bar in text mode.
const barWidth = 52

// writeBuckets prints histogram lines as TextOutput::hist_to_str and
// lhist_to_str do.
func writeBuckets(b *strings.Builder, buckets []Bucket, lhist bool) {
	// hist_prepare keeps the largest count in a C int; the bar is the count
	// divided by it in single precision, truncated.
	var largest int32
	for _, bk := range buckets {
		if v := int32(bk.Count); v > largest {
			largest = v
		}
	}
	for _, bk := range buckets {
		bar := 0
		if largest > 0 {
			bar = int(float32(bk.Count) / float32(largest) * barWidth)
		}
		// Counts beyond 2^31 wrap in bpftrace; keep the bar in the frame.
		bar = min(max(bar, 0), barWidth)
		header := bucketHeader(bk, lhist)
		b.WriteString(header)
		pad(b, 16-len(header))
		count := strconv.FormatUint(bk.Count, 10)
		pad(b, 8-len(count))
		b.WriteString(count)
		b.WriteString(" |")
		b.WriteString(strings.Repeat("@", bar))
		pad(b, barWidth-bar)
		b.WriteString("|\n")
	}
}

func pad(b *strings.Builder, n int) {
	for ; n > 0; n-- {
		b.WriteByte(' ')
	}
}

// bucketHeader is the bucket's label: "[4, 8)", "[1K, 2K)", "(..., 0)".
func bucketHeader(bk Bucket, lhist bool) string {
	switch {
	case bk.Min == nil && bk.Max == nil:
		return "(..., ...)"
	case bk.Min == nil:
		return "(..., " + lhistLabel(*bk.Max+1) + ")"
	case bk.Max == nil:
		return "[" + lhistLabel(*bk.Min) + ", ...)"
	}
	lo, hi := *bk.Min, *bk.Max
	if !lhist {
		switch p := histPower(lo, hi); {
		case p == 0 && lo == 0:
			return "[0]"
		case p == 0:
			return "[1]"
		case p > 0:
			return "[" + histLabel(p) + ", " + histLabel(p+1) + ")"
		}
	}
	return "[" + lhistLabel(lo) + ", " + lhistLabel(hi+1) + ")"
}

// histLabel is TextOutput::hist_index_label: 2^p with a K, M, G or T suffix.
func histLabel(p int) string {
	suffix := ""
	for _, s := range [...]struct {
		power  int
		suffix string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if p >= s.power {
			p -= s.power
			suffix = s.suffix
			break
		}
	}
	return strconv.FormatInt(1<<p, 10) + suffix
}

// lhistLabel is TextOutput::lhist_index_label.
func lhistLabel(n int64) string {
	const kilo, mega = 1024, 1048576
	switch {
	case n == 0:
		return "0"
	case n%mega == 0:
		return strconv.FormatInt(n/mega, 10) + "M"
	case n%kilo == 0:
		return strconv.FormatInt(n/kilo, 10) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// histPower returns p when [lo, hi] is a hist() bucket: 0 for [0] and [1],
// p >= 1 for [2^p, 2^(p+1)). It returns -1 for anything else.
func histPower(lo, hi int64) int {
	switch {
	case lo == hi && (lo == 0 || lo == 1):
		return 0
	case lo < 2 || lo&(lo-1) != 0 || hi != 2*lo-1:
		return -1
	}
	p := 0
	for v := lo; v > 1; v >>= 1 {
		p++
	}
	return p
}

// isHistBucket reports whether hist() could have written this bucket.
func isHistBucket(bk Bucket) bool {
	switch {
	case bk.Max == nil:
		return false
	case bk.Min == nil:
		return *bk.Max == -1
	case *bk.Min == math.MinInt32 && *bk.Max == 0:
		return true // the [2G, 4G) bucket, see fixHistBuckets
	}
	return histPower(*bk.Min, *bk.Max) >= 0
}

// histKind infers "hist" or "lhist" from the buckets of every entry: only
// lhist() writes buckets that are not powers of two or that are open above.
// An lhist whose buckets all happen to look like hist buckets is taken for a
// hist; that only changes the text for [0, 1) and [1, 2) (printed [0] and [1])
// and for bounds of 1G and more (printed 1G rather than 1024M).
func histKind(entries []Entry) MapType {
	for _, e := range entries {
		for _, bk := range e.Buckets {
			if !isHistBucket(bk) {
				return TypeLhist
			}
		}
	}
	return TypeHist
}

// fixHistBuckets corrects hist()'s last bucket. bpftrace 0.17 computes JSON
// bounds with a 32-bit shift, so [2^31, 2^32) comes out as
// {"min": -2147483648, "max": 0}; text mode labels the same bucket [2G, 4G).
// (0.17's log2 stops there: larger values are counted in it too.)
func fixHistBuckets(entries []Entry) {
	for _, e := range entries {
		for i, bk := range e.Buckets {
			if bk.Min != nil && bk.Max != nil && *bk.Min == math.MinInt32 && *bk.Max == 0 {
				lo, hi := int64(1)<<31, int64(1)<<32-1
				e.Buckets[i].Min, e.Buckets[i].Max = &lo, &hi
			}
		}
	}
}
