package output

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMapJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    Map
		want string
	}{
		{
			name: "zero value is kept",
			m:    Map{Name: "@c", Type: "value", Entries: []Entry{{Value: int64(0)}}},
			want: `{"name":"@c","type":"value","entries":[{"value":0}]}`,
		},
		{
			name: "empty string is kept",
			m:    Map{Name: "@s", Type: "value", Entries: []Entry{{Key: []any{""}, Value: ""}}},
			want: `{"name":"@s","type":"value","entries":[{"key":[""],"value":""}]}`,
		},
		{
			name: "tuple, struct and unsigned",
			m: Map{Name: "@t", Type: "value", Entries: []Entry{
				{Key: []any{int64(1), "a"}, Value: []any{int64(1), "x", Record{{"b", int64(2)}, {"a", uint64(18446744073709551615)}}}},
			}},
			want: `{"name":"@t","type":"value","entries":[{"key":[1,"a"],"value":[1,"x",{"b":2,"a":18446744073709551615}]}]}`,
		},
		{
			name: "value type",
			m:    Map{Name: "@s", Type: "value", ValueType: "ksym", Entries: []Entry{{Value: "do_sys_open"}}},
			want: `{"name":"@s","type":"value","entries":[{"value":"do_sys_open"}],"value_type":"ksym"}`,
		},
		{
			name: "avg",
			m:    Map{Name: "@a", Type: "avg", Entries: []Entry{{Value: int64(0)}}},
			want: `{"name":"@a","type":"avg","entries":[{"value":0}]}`,
		},
		{
			name: "stack key, string that reads as a number, unsigned key",
			m: Map{Name: "@k", Type: "value", Entries: []Entry{
				{Key: []any{Stack{Frames: []string{"vfs_read+5", "ksys_read+100"}}, "007", uint64(18446744073709551615)}, Value: int64(3)},
			}},
			want: `{"name":"@k","type":"value","entries":[{"key":[["vfs_read+5","ksys_read+100"],"007",18446744073709551615],"value":3}]}`,
		},
		{
			name: "summaries",
			m: Map{Name: "@h", Type: "hist", Entries: []Entry{{
				Buckets: []Bucket{{Min: i64(4), Max: i64(7), Count: 2}},
				Summary: &HistSummary{Count: 2, P50: i64(6), P90: i64(7), P99: i64(7), Min: i64(4), Max: i64(7)},
			}}, Summary: &Summary{Keys: 1, Count: ptr(uint64(2)), Min: i64(4), Max: i64(7)}},
			want: `{"name":"@h","type":"hist","entries":[{"summary":{"count":2,"p50":6,"p90":7,"p99":7,"min":4,"max":7},"buckets":[{"min":4,"max":7,"count":2}]}],"summary":{"keys":1,"count":2,"min":4,"max":7}}`,
		},
		{
			name: "stats",
			m:    Map{Name: "@s", Type: "stats", Entries: []Entry{{Key: []any{"k"}, Stats: &Stats{Count: 2, Average: 0, Total: 0}}}},
			want: `{"name":"@s","type":"stats","entries":[{"key":["k"],"stats":{"count":2,"average":0,"total":0}}]}`,
		},
		{
			name: "hist with open buckets",
			m: Map{Name: "@h", Type: "lhist", Entries: []Entry{{Buckets: []Bucket{
				{Max: i64(-1), Count: 1}, {Min: i64(0), Max: i64(0), Count: 0}, {Min: i64(100), Count: 2},
			}}}},
			want: `{"name":"@h","type":"lhist","entries":[{"buckets":[{"max":-1,"count":1},{"min":0,"max":0,"count":0},{"min":100,"count":2}]}]}`,
		},
		{
			name: "zeroed hist",
			m:    Map{Name: "@h", Type: "hist", Entries: []Entry{{Buckets: []Bucket{}}}},
			want: `{"name":"@h","type":"hist","entries":[{"buckets":[]}]}`,
		},
		{
			name: "no entries",
			m:    Map{Name: "@e", Type: "value", Entries: []Entry{}},
			want: `{"name":"@e","type":"value","entries":[]}`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(&tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("json mismatch (-want +got):\n%s", diff)
			}
			var back Map
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", got, err)
			}
			if diff := cmp.Diff(tt.m, back); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEntryUnmarshalJSON(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     Entry
		wantErr  bool
	}{
		{name: "float stays a json.Number", in: `{"value":1.5}`, want: Entry{Value: json.Number("1.5")}},
		{name: "negative overflow", in: `{"value":-18446744073709551616}`, want: Entry{Value: json.Number("-18446744073709551616")}},
		{name: "null value", in: `{"value":null}`, want: Entry{}},
		{name: "bool", in: `{"value":true}`, want: Entry{Value: true}},
		{name: "object keeps order", in: `{"value":{"z":1,"a":[]}}`, want: Entry{Value: Record{{"z", int64(1)}, {"a", []any{}}}}},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "bad stats", in: `{"stats":{"count":"x"}}`, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got Entry
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("entry mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestRecordUnmarshalJSON(t *testing.T) {
	var r Record
	if err := json.Unmarshal([]byte(`[1]`), &r); err == nil {
		t.Errorf("Unmarshal of an array into a Record: no error")
	}
	if err := json.Unmarshal([]byte(`{"b":1,"a":"x"}`), &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Record{{"b", int64(1)}, {"a", "x"}}, r); diff != "" {
		t.Errorf("record mismatch (-want +got):\n%s", diff)
	}
}

func TestMapText(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    Map
		want string
	}{
		{"empty value map", Map{Name: "@e", Type: "value"}, "\n"},
		{"empty stats map", Map{Name: "@e", Type: "stats"}, "\n\n"},
		{"empty hist map", Map{Name: "@e", Type: "hist"}, "\n"},
		{"nil value", Map{Name: "@n", Type: "value", Entries: []Entry{{}}}, "@n: \n"},
		{"bool and float", Map{Name: "@b", Type: "value", Entries: []Entry{{Value: true}, {Value: json.Number("1.5")}}}, "@b: true\n@b: 1.5\n"},
		{"empty struct", Map{Name: "@r", Type: "value", Entries: []Entry{{Value: Record{}}}}, "@r: {  }\n"},
		{"nested array", Map{Name: "@a", Type: "value", ValueType: "array", Entries: []Entry{{Value: []any{[]any{int64(1), int64(2)}}}}}, "@a: [[1,2]]\n"},
		{"stack values", Map{Name: "@s", Type: "value", ValueType: "stack", Entries: []Entry{
			{Key: []any{int64(1)}, Value: "\n    a\n"}, {Key: []any{int64(2)}, Value: "\n    b\n"},
		}}, "@s[1]: \n    a\n@s[2]: \n    b\n\n"},
		{"other type", Map{Name: "@o", Type: "value", Entries: []Entry{{Value: 1.5}}}, "@o: 1.5\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.m.Text()); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEntryJSONCompat reads entries written before keys were typed (every
// part a string) and a syscall key, which comes back as its name.
func TestEntryJSONCompat(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want Entry
	}{
		{"string keys", `{"key":["1","a"],"value":2}`, Entry{Key: []any{"1", "a"}, Value: int64(2)}},
		{"syscall", `{"key":["openat"],"value":2}`, Entry{Key: []any{"openat"}, Value: int64(2)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e Entry
			if err := json.Unmarshal([]byte(tt.in), &e); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, e); diff != "" {
				t.Errorf("entry mismatch (-want +got):\n%s", diff)
			}
		})
	}
	b, err := json.Marshal(Entry{Key: []any{Syscall{Nr: 257, Name: "openat"}}, Value: int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"key":["openat"],"value":1}`; string(b) != want {
		t.Errorf("syscall key JSON = %s, want %s", b, want)
	}
}
