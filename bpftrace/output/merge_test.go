package output

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustMaps(t *testing.T, js ...string) []*Map {
	t.Helper()
	var out []*Map
	for _, j := range js {
		var m Map
		if err := json.Unmarshal([]byte(j), &m); err != nil {
			t.Fatalf("unmarshal %s: %v", j, err)
		}
		out = append(out, &m)
	}
	return out
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		agg   Agg
		parts []string
		want  string // entries' JSON
		err   error
	}{
		{
			name: "count adds per key, ascending like bpftrace",
			agg:  AggCount,
			parts: []string{
				`{"name":"@c","type":"value","entries":[{"key":["bash"],"value":3},{"key":["sshd"],"value":10}]}`,
				`{"name":"@c","type":"value","entries":[{"key":["bash"],"value":9},{"key":["cron"],"value":1}]}`,
			},
			want: `[{"key":["cron"],"value":1},{"key":["sshd"],"value":10},{"key":["bash"],"value":12}]`,
		},
		{
			name:  "numeric keys match numerically",
			agg:   AggSum,
			parts: []string{`{"name":"@s","type":"value","entries":[{"key":[42],"value":5}]}`, `{"name":"@s","type":"value","entries":[{"key":[42],"value":7}]}`},
			want:  `[{"key":[42],"value":12}]`,
		},
		{
			name:  "min and max",
			agg:   AggMin,
			parts: []string{`{"name":"@m","type":"value","entries":[{"value":5}]}`, `{"name":"@m","type":"value","entries":[{"value":-2}]}`},
			want:  `[{"value":-2}]`,
		},
		{
			name:  "max",
			agg:   AggMax,
			parts: []string{`{"name":"@m","type":"value","entries":[{"value":5}]}`, `{"name":"@m","type":"value","entries":[{"value":-2}]}`},
			want:  `[{"value":5}]`,
		},
		{
			name: "stats recompute the average from count and total",
			agg:  AggStats,
			parts: []string{
				`{"name":"@st","type":"stats","entries":[{"stats":{"count":1,"average":100,"total":100}}]}`,
				`{"name":"@st","type":"stats","entries":[{"stats":{"count":3,"average":10,"total":30}}]}`,
			},
			want: `[{"stats":{"count":4,"average":32,"total":130}}]`,
		},
		{
			name: "histogram buckets add bound by bound",
			agg:  AggHist,
			parts: []string{
				`{"name":"@h","type":"hist","entries":[{"buckets":[{"min":1,"max":1,"count":2},{"min":2,"max":3,"count":5}]}]}`,
				`{"name":"@h","type":"hist","entries":[{"buckets":[{"min":2,"max":3,"count":1},{"min":4,"max":7,"count":4}]}]}`,
			},
			want: `[{"buckets":[{"min":1,"max":1,"count":2},{"min":2,"max":3,"count":6},{"min":4,"max":7,"count":4}]}]`,
		},
		{
			name:  "plain values do not combine",
			agg:   AggNone,
			parts: []string{`{"name":"@t","type":"value","entries":[{"value":5}]}`, `{"name":"@t","type":"value","entries":[{"value":6}]}`},
			err:   ErrNotMergeable,
		},
		{
			name:  "avg has no count to weigh by",
			agg:   AggAvg,
			parts: []string{`{"name":"@a","type":"avg","entries":[{"value":5}]}`, `{"name":"@a","type":"avg","entries":[{"value":6}]}`},
			err:   ErrNotMergeable,
		},
		{
			name: "avg run as stats weighs by its counts",
			agg:  AggAvg,
			parts: []string{
				`{"name":"@a","type":"avg","entries":[{"stats":{"count":1,"average":100,"total":100}}]}`,
				`{"name":"@a","type":"avg","entries":[{"stats":{"count":3,"average":10,"total":30}}]}`,
			},
			want: `[{"stats":{"count":4,"average":32,"total":130}}]`,
		},
		{
			name:  "hosts that disagree on the type",
			agg:   AggCount,
			parts: []string{`{"name":"@x","type":"value","entries":[{"value":5}]}`, `{"name":"@x","type":"stats","entries":[{"stats":{"count":1,"average":1,"total":1}}]}`},
			err:   ErrNotMergeable,
		},
		{
			name:  "an overflowing sum is refused, not wrapped",
			agg:   AggSum,
			parts: []string{`{"name":"@o","type":"value","entries":[{"value":9223372036854775000}]}`, `{"name":"@o","type":"value","entries":[{"value":9223372036854775000}]}`},
			err:   ErrNotMergeable,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := mustMaps(t, tc.parts...)
			before, _ := json.Marshal(parts)
			got, err := Merge(tc.agg, parts)
			if after, _ := json.Marshal(parts); string(after) != string(before) {
				t.Errorf("Merge changed its input:\n%s\n%s", before, after)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Merge error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Entries {
				got.Entries[i].Summary = nil
			}
			b, _ := json.Marshal(got.Entries)
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if got.Summary == nil || got.Summary.Keys != len(got.Entries) {
				t.Errorf("summary not recomputed: %+v", got.Summary)
			}
		})
	}
}

// TestMergeMatchesOneHost checks the merge against its definition: the
// merge of the maps of several hosts equals the map of one host that saw
// all of their events.
func TestMergeMatchesOneHost(t *testing.T) {
	events := [][]int64{{1, 2, 3, 900}, {5, 5, 70000}, {0, 1 << 20}}
	var parts []*Map
	all := &Map{Name: "@h", Type: TypeHist, Entries: []Entry{{}}}
	for _, host := range events {
		m := &Map{Name: "@h", Type: TypeHist, Entries: []Entry{{}}}
		for _, v := range host {
			m.Entries[0].Buckets = addBuckets(m.Entries[0].Buckets, []Bucket{pow2Bucket(v)})
			all.Entries[0].Buckets = addBuckets(all.Entries[0].Buckets, []Bucket{pow2Bucket(v)})
		}
		parts = append(parts, m)
	}
	got, err := Merge(AggHist, parts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all.Entries[0].Buckets, got.Entries[0].Buckets); diff != "" {
		t.Errorf("merged buckets differ from one host's (-one host +merged):\n%s", diff)
	}
	if got.Entries[0].Summary == nil || got.Entries[0].Summary.Count != 9 {
		t.Errorf("merged histogram summary = %+v, want count 9", got.Entries[0].Summary)
	}
}

func pow2Bucket(v int64) Bucket {
	if v == 0 {
		return Bucket{Min: new(int64(0)), Max: new(int64(0)), Count: 1}
	}
	lo := int64(1)
	for lo*2 <= v {
		lo *= 2
	}
	return Bucket{Min: new(lo), Max: new(lo*2 - 1), Count: 1}
}

func FuzzMerge(f *testing.F) {
	f.Add(`{"name":"@c","type":"value","entries":[{"key":["a"],"value":1}]}`, `{"name":"@c","type":"value","entries":[{"key":["a"],"value":2}]}`, "count")
	f.Add(`{"name":"@h","type":"hist","entries":[{"buckets":[{"min":1,"max":1,"count":2}]}]}`, `{"name":"@h","type":"hist","entries":[{"buckets":[{"max":0,"count":1}]}]}`, "hist")
	f.Fuzz(func(t *testing.T, a, b, agg string) {
		var ma, mb Map
		if json.Unmarshal([]byte(a), &ma) != nil || json.Unmarshal([]byte(b), &mb) != nil {
			return
		}
		m, err := Merge(Agg(agg), []*Map{&ma, &mb})
		if err != nil {
			return
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("merged map does not marshal: %v", err)
		}
		if len(m.Entries) > len(ma.Entries)+len(mb.Entries) {
			t.Fatalf("merge made entries: %d from %d+%d", len(m.Entries), len(ma.Entries), len(mb.Entries))
		}
	})
}
