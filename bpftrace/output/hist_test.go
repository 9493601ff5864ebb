package output

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func bucket(lo, hi int64) Bucket { return Bucket{Min: &lo, Max: &hi, Count: 1} }

func TestHistKind(t *testing.T) {
	for _, tt := range []struct {
		name    string
		buckets []Bucket
		want    MapType
	}{
		{"powers of two", []Bucket{bucket(2, 3), bucket(4, 7), bucket(1024, 2047)}, "hist"},
		{"zero and one", []Bucket{bucket(0, 0), bucket(1, 1)}, "hist"},
		{"underflow at zero", []Bucket{{Max: i64(-1)}}, "hist"},
		{"0.17's last hist bucket", []Bucket{{Min: i64(math.MinInt32), Max: i64(0)}}, "hist"},
		{"largest power", []Bucket{bucket(1<<62, math.MaxInt64)}, "hist"},
		{"no buckets", []Bucket{}, "hist"},
		{"step 10", []Bucket{bucket(0, 9), bucket(10, 19)}, "lhist"},
		{"step 1 past 1", []Bucket{bucket(0, 0), bucket(1, 1), bucket(2, 2)}, "lhist"},
		{"overflow", []Bucket{{Min: i64(100)}}, "lhist"},
		{"underflow above zero", []Bucket{{Max: i64(1023)}}, "lhist"},
		{"power of two, wrong width", []Bucket{bucket(1<<30, 1610612735)}, "lhist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := histKind([]Entry{{Buckets: tt.buckets}}); got != tt.want {
				t.Errorf("histKind = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("any entry decides", func(t *testing.T) {
		entries := []Entry{{Buckets: []Bucket{bucket(2, 3)}}, {Buckets: []Bucket{{Min: i64(8)}}}}
		if got := histKind(entries); got != "lhist" {
			t.Errorf("histKind = %q, want lhist", got)
		}
	})
}

// TestHistKindHint shows where inference cannot tell: lhist(x, 0, 5, 1)
// holding only 0 and 1 writes the same JSON as hist() would.
func TestHistKindHint(t *testing.T) {
	line := []byte(`{"type": "hist", "data": {"@l": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}]}}`)
	for _, tt := range []struct {
		name string
		dec  Decoder
		want string
	}{
		{"inferred", Decoder{}, "[0]"},
		{"schema", Decoder{Schema: typesOnly(map[string]MapType{"@l": TypeLhist}, nil)}, "[0, 1)"},
		{"schema of another type ignored", Decoder{Schema: typesOnly(map[string]MapType{"@l": TypeValue}, nil)}, "[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := tt.dec.Decode(line)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ev.Text, "@l: \n"+tt.want+" ") {
				t.Errorf("text = %q, want the first bucket labelled %q", ev.Text, tt.want)
			}
		})
	}
}

func TestBucketHeader(t *testing.T) {
	for _, tt := range []struct {
		name  string
		b     Bucket
		lhist bool
		want  string
	}{
		{"hist underflow", Bucket{Max: i64(-1)}, false, "(..., 0)"},
		{"hist zero", bucket(0, 0), false, "[0]"},
		{"hist one", bucket(1, 1), false, "[1]"},
		{"hist small", bucket(2, 3), false, "[2, 4)"},
		{"hist K", bucket(512, 1023), false, "[512, 1K)"},
		{"hist M", bucket(1<<20, 1<<21-1), false, "[1M, 2M)"},
		{"hist G", bucket(1<<30, 1<<31-1), false, "[1G, 2G)"},
		{"hist last", bucket(1<<31, 1<<32-1), false, "[2G, 4G)"},
		{"hist T", bucket(1<<45, 1<<46-1), false, "[32T, 64T)"},
		{"lhist underflow", Bucket{Max: i64(1048575)}, true, "(..., 1M)"},
		{"lhist overflow", Bucket{Min: i64(100)}, true, "[100, ...)"},
		{"lhist K", bucket(3072, 4095), true, "[3K, 4K)"},
		{"lhist G is M", bucket(1<<30, 1<<31-1), true, "[1024M, 2048M)"},
		{"lhist step 1", bucket(0, 0), true, "[0, 1)"},
		{"lhist odd", bucket(1000, 1999), true, "[1000, 2000)"},
		{"lhist negative K", bucket(-2048, -1025), true, "[-2K, -1K)"},
		{"both open", Bucket{}, true, "(..., ...)"},
		{"not a hist bucket", bucket(3, 5), false, "[3, 6)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucketHeader(tt.b, tt.lhist); got != tt.want {
				t.Errorf("bucketHeader = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteBuckets(t *testing.T) {
	for _, tt := range []struct {
		name   string
		counts []uint64
		want   string
	}{
		{
			name:   "single precision, as bpftrace",
			counts: []uint64{15, 52},
			want: "[0, 1)                15 |@@@@@@@@@@@@@@@                                     |\n" +
				"[1, 2)                52 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
		},
		{
			name:   "wide count pushes the bar",
			counts: []uint64{123456789, 0},
			// The header keeps its 16 columns; the count takes 9 of 8.
			want: "[0, 1)" + strings.Repeat(" ", 10) + "123456789 |" + strings.Repeat("@", 52) + "|\n" +
				"[1, 2)                 0 |                                                    |\n",
		},
		{
			// bpftrace keeps the maximum in a C int: 2^32+1 becomes 1.
			name:   "counts past 2^31 stay in the frame",
			counts: []uint64{1<<32 + 1, 1},
			want: "[0, 1)" + strings.Repeat(" ", 10) + "4294967297 |" + strings.Repeat("@", 52) + "|\n" +
				"[1, 2)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
		},
		{
			name:   "all zero",
			counts: []uint64{0},
			want:   "[0, 1)                 0 |                                                    |\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buckets []Bucket
			for i, c := range tt.counts {
				b := bucket(int64(i), int64(i))
				b.Count = c
				buckets = append(buckets, b)
			}
			var sb strings.Builder
			writeBuckets(&sb, buckets, true)
			if diff := cmp.Diff(tt.want, sb.String()); diff != "" {
				t.Errorf("lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistPower(t *testing.T) {
	for _, tt := range []struct {
		lo, hi int64
		want   int
	}{
		{0, 0, 0}, {1, 1, 0}, {2, 3, 1}, {4, 7, 2}, {1 << 62, math.MaxInt64, 62},
		{0, 1, -1}, {3, 5, -1}, {2, 4, -1}, {-4, -3, -1}, {6, 11, -1},
	} {
		if got := histPower(tt.lo, tt.hi); got != tt.want {
			t.Errorf("histPower(%d, %d) = %d, want %d", tt.lo, tt.hi, got, tt.want)
		}
	}
}
