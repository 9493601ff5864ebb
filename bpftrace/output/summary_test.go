package output

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func counted(lo, hi int64, n uint64) Bucket { return Bucket{Min: &lo, Max: &hi, Count: n} }

func TestHistSummary(t *testing.T) {
	for _, tt := range []struct {
		name    string
		buckets []Bucket
		want    HistSummary
	}{
		{"empty", []Bucket{}, HistSummary{}},
		{"one bucket", []Bucket{counted(0, 0, 0), counted(4, 7, 10), counted(8, 15, 0)},
			HistSummary{Count: 10, P50: i64(6), P90: i64(7), P99: i64(7), Min: i64(4), Max: i64(7)}},
		{"spread", []Bucket{counted(0, 99, 50), counted(100, 199, 40), counted(200, 299, 10)},
			// p50 is the 50th sample: the end of the first bucket; p90 the
			// end of the second; p99 nine tenths into the third.
			HistSummary{Count: 100, P50: i64(99), P90: i64(199), P99: i64(290), Min: i64(0), Max: i64(299)}},
		{"open buckets", []Bucket{{Max: i64(-1), Count: 1}, {Min: i64(100), Count: 9}},
			HistSummary{Count: 10, P50: i64(100), P90: i64(100), P99: i64(100), Max: nil, Min: nil}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(&tt.want, histSummary(tt.buckets)); diff != "" {
				t.Errorf("summary mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapSummary(t *testing.T) {
	u := func(n uint64) *uint64 { return &n }
	for _, tt := range []struct {
		name string
		m    Map
		want Summary
	}{
		{"counts", Map{Type: TypeValue, Entries: []Entry{{Value: int64(3)}, {Value: int64(-1)}, {Value: "x"}}},
			Summary{Keys: 3, Sum: i64(2), Min: i64(-1), Max: i64(3)}},
		{"overflow drops the sum", Map{Type: TypeValue, Entries: []Entry{{Value: int64(1 << 62)}, {Value: int64(1 << 62)}}},
			Summary{Keys: 2, Min: i64(1 << 62), Max: i64(1 << 62)}},
		{"avg", Map{Type: TypeAvg, Entries: []Entry{{Value: int64(4)}, {Value: int64(8)}}},
			Summary{Keys: 2, Min: i64(4), Max: i64(8)}},
		{"stats", Map{Type: TypeStats, Entries: []Entry{{Stats: &Stats{Count: 2, Average: 5, Total: 10}}, {Stats: &Stats{Count: 1, Average: 1, Total: 1}}}},
			Summary{Keys: 2, Count: u(3), Sum: i64(11), Min: i64(1), Max: i64(5)}},
		{"hist", Map{Type: TypeHist, Entries: []Entry{{Buckets: []Bucket{counted(4, 7, 1)}}, {Buckets: []Bucket{counted(16, 31, 2)}}, {Buckets: []Bucket{}}}},
			Summary{Keys: 3, Count: u(3), Min: i64(4), Max: i64(31)}},
		{"hist open above", Map{Type: TypeLhist, Entries: []Entry{{Buckets: []Bucket{counted(4, 7, 1)}}, {Buckets: []Bucket{{Min: i64(100), Count: 1}}}}},
			Summary{Keys: 2, Count: u(2), Min: i64(4)}},
		{"empty", Map{Type: TypeValue}, Summary{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.summarize()
			if diff := cmp.Diff(&tt.want, tt.m.Summary); diff != "" {
				t.Errorf("summary mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRanked(t *testing.T) {
	m := Map{Type: TypeValue, Entries: []Entry{{Value: int64(1)}, {Value: int64(5)}, {Value: "x"}, {Value: int64(5)}, {Value: uint64(1 << 63)}}}
	if diff := cmp.Diff([]int{4, 1, 3, 0, 2}, m.Ranked()); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
	h := Map{Type: TypeHist, Entries: []Entry{{Buckets: []Bucket{counted(1, 1, 1)}}, {Buckets: []Bucket{counted(1, 1, 3)}}}}
	if diff := cmp.Diff([]int{1, 0}, h.Ranked()); diff != "" {
		t.Errorf("hist order mismatch (-want +got):\n%s", diff)
	}
	if n := (Entry{Key: []any{int64(1)}, Value: int64(2)}).JSONSize(); n != len(`{"key":[1],"value":2}`) {
		t.Errorf("JSONSize = %d", n)
	}
}
