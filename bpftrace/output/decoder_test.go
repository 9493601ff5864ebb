package output

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

func i64(n int64) *int64 { return &n }

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name string
		dec  Decoder
		line string
		want Event
	}{
		{
			name: "blank",
			line: "",
			want: Event{Kind: KindBlank, Text: "\n"},
		},
		{
			name: "printf",
			line: `{"type": "printf", "data": "hello 42\n"}`,
			want: Event{Kind: KindText, Type: "printf", Text: "hello 42\n"},
		},
		{
			name: "printf without newline",
			line: `{"type": "printf", "data": "no newline"}`,
			want: Event{Kind: KindText, Type: "printf", Text: "no newline"},
		},
		{
			name: "printf with other spacing",
			line: `{"data":"x\n" , "type":"printf"}`,
			want: Event{Kind: KindText, Type: "printf", Text: "x\n"},
		},
		{
			name: "time",
			line: `{"type": "time", "data": "11:38:33\n"}`,
			want: Event{Kind: KindText, Type: "time", Text: "11:38:33\n"},
		},
		{
			name: "cat",
			line: `{"type": "cat", "data": "hello-from-file\n"}`,
			want: Event{Kind: KindText, Type: "cat", Text: "hello-from-file\n"},
		},
		{
			name: "cat of a missing file",
			line: `{"type": "cat", "data": ""}`,
			want: Event{Kind: KindText, Type: "cat", Text: ""},
		},
		{
			name: "join gets the newline text mode adds",
			line: `{"type": "join", "data": "/bin/echo a b c"}`,
			want: Event{Kind: KindText, Type: "join", Text: "/bin/echo a b c\n"},
		},
		{
			name: "syscall",
			line: `{"type": "syscall", "data": "from-system\n"}`,
			want: Event{Kind: KindText, Type: "syscall", Text: "from-system\n"},
		},
		{
			name: "value int",
			line: `{"type": "value", "data": 5}`,
			want: Event{Kind: KindText, Type: "value", Text: "5\n", Value: int64(5)},
		},
		{
			name: "value tuple",
			line: `{"type": "value", "data": [1,"two"]}`,
			want: Event{Kind: KindText, Type: "value", Text: "(1, two)\n", Value: []any{int64(1), "two"}},
		},
		{
			name: "value struct",
			line: `{"type": "value", "data": { "weight": 1048576, "inv_weight": 4194304 }}`,
			want: Event{
				Kind: KindText, Type: "value",
				Text:  "{ .weight = 1048576, .inv_weight = 4194304 }\n",
				Value: Record{{"weight", int64(1048576)}, {"inv_weight", int64(4194304)}},
			},
		},
		{
			name: "value unquoted strerror",
			line: `{"type": "value", "data": No such file or directory}`,
			want: Event{Kind: KindText, Type: "value", Text: "No such file or directory\n", Value: "No such file or directory"},
		},
		{
			name: "attached_probes",
			line: `{"type": "attached_probes", "data": {"probes": 3}}`,
			want: Event{Kind: KindAttachedProbes, Type: "attached_probes", Probes: 3},
		},
		{
			name: "lost_events",
			line: `{"type": "lost_events", "data": {"events": 190178}}`,
			want: Event{Kind: KindLostEvents, Type: "lost_events", Lost: 190178},
		},
		{
			name: "helper_error",
			line: `{"type": "helper_error", "helper": "probe_read", "retcode": -14, "line": 1, "col": 14}`,
			want: Event{Kind: KindHelperError, Type: "helper_error", HelperError: &HelperError{
				Helper: "probe_read", Retcode: -14, Line: 1, Column: 14,
			}},
		},
		{
			name: "unknown type",
			line: `{"type": "future", "data": {"x": [1, 2]}}`,
			want: Event{Kind: KindUnknown, Type: "future", Raw: []byte(`{"type": "future", "data": {"x": [1, 2]}}`)},
		},
		{
			name: "no type",
			line: `{"data": 1}`,
			want: Event{Kind: KindUnknown, Raw: []byte(`{"data": 1}`)},
		},
		{
			name: "type not a string",
			line: `{"type": 7}`,
			want: Event{Kind: KindUnknown, Raw: []byte(`{"type": 7}`)},
		},
		{
			name: "map int",
			line: `{"type": "map", "data": {"@x": 2}}`,
			want: mapEvent("map", "@x: 2\n", &Map{Name: "@x", Type: "value", Entries: []Entry{{Value: int64(2)}}}),
		},
		{
			name: "anonymous map",
			line: `{"type": "map", "data": {"@": 3}}`,
			want: mapEvent("map", "@: 3\n", &Map{Name: "@", Type: "value", Entries: []Entry{{Value: int64(3)}}}),
		},
		{
			name: "map multi-key keeps bpftrace's order",
			line: `{"type": "map", "data": {"@m": {"2,b": 2, "1,a": 1}}}`,
			want: mapEvent("map", "@m[2, b]: 2\n@m[1, a]: 1\n", &Map{Name: "@m", Type: "value", Entries: []Entry{
				{Key: []any{int64(2), "b"}, Value: int64(2)},
				{Key: []any{int64(1), "a"}, Value: int64(1)},
			}}),
		},
		{
			name: "map u64 max",
			line: `{"type": "map", "data": {"@u": 18446744073709551615}}`,
			want: mapEvent("map", "@u: 18446744073709551615\n", &Map{Name: "@u", Type: "value", Entries: []Entry{{Value: uint64(18446744073709551615)}}}),
		},
		{
			name: "map unquoted keyed values",
			line: `{"type": "map", "data": {"@e": {"1": Operation not permitted, "2": Permission denied}}}`,
			want: mapEvent("map", "@e[1]: Operation not permitted\n@e[2]: Permission denied\n", &Map{Name: "@e", Type: "value", Entries: []Entry{
				{Key: []any{int64(1)}, Value: "Operation not permitted"},
				{Key: []any{int64(2)}, Value: "Permission denied"},
			}}),
		},
		{
			name: "map unquoted value with a comma",
			line: `{"type": "map", "data": {"@t": 12, 04}}`,
			want: mapEvent("map", "@t: 12, 04\n", &Map{Name: "@t", Type: "value", Entries: []Entry{{Value: "12, 04"}}}),
		},
		{
			name: "map unquoted value looking like an object",
			line: `{"type": "map", "data": {"@t": {12}}}`,
			want: mapEvent("map", "@t: {12}\n", &Map{Name: "@t", Type: "value", Entries: []Entry{{Value: "{12}"}}}),
		},
		{
			name: "map unquoted keyed value with a comma",
			line: `{"type": "map", "data": {"@t": {"a": 12, 04, "b": 13, 05}}}`,
			want: mapEvent("map", "@t[a]: 12, 04\n@t[b]: 13, 05\n", &Map{Name: "@t", Type: "value", Entries: []Entry{
				{Key: []any{"a"}, Value: "12, 04"},
				{Key: []any{"b"}, Value: "13, 05"},
			}}),
		},
		{
			name: "ksym values run together",
			dec:  Decoder{Schema: Schema{"@s": {Name: "@s", Type: TypeValue, Keys: []KeyKind{KeyAny}, Value: ValueKsym}}},
			line: `{"type": "map", "data": {"@s": {"1": "0", "2": "0"}}}`,
			want: mapEvent("map", "@s[1]: 0@s[2]: 0\n", &Map{Name: "@s", Type: "value", ValueType: "ksym", Entries: []Entry{
				{Key: []any{int64(1)}, Value: "0"},
				{Key: []any{int64(2)}, Value: "0"},
			}}),
		},
		{
			name: "array hint",
			dec:  Decoder{Schema: Schema{"@a": {Name: "@a", Type: TypeValue, Value: ValueArray}}},
			line: `{"type": "map", "data": {"@a": [3,0,0,0]}}`,
			want: mapEvent("map", "@a: [3,0,0,0]\n", &Map{Name: "@a", Type: "value", ValueType: "array", Entries: []Entry{
				{Value: []any{int64(3), int64(0), int64(0), int64(0)}},
			}}),
		},
		{
			name: "array of structs needs no hint",
			line: `{"type": "map", "data": {"@r": [{ "a": 1 },{ "a": 2 }]}}`,
			want: mapEvent("map", "@r: [{ .a = 1 },{ .a = 2 }]\n", &Map{Name: "@r", Type: "value", Entries: []Entry{
				{Value: []any{Record{{"a", int64(1)}}, Record{{"a", int64(2)}}}},
			}}),
		},
		{
			name: "keyed struct",
			line: `{"type": "map", "data": {"@r": {"1": { "w": 1, "i": 2 }}}}`,
			want: mapEvent("map", "@r[1]: { .w = 1, .i = 2 }\n", &Map{Name: "@r", Type: "value", Entries: []Entry{
				{Key: []any{int64(1)}, Value: Record{{"w", int64(1)}, {"i", int64(2)}}},
			}}),
		},
		{
			name: "avg",
			line: `{"type": "stats", "data": {"@a": 4}}`,
			want: mapEvent("stats", "@a: 4\n\n", &Map{Name: "@a", Type: "avg", Entries: []Entry{{Value: int64(4)}}}),
		},
		{
			name: "keyed avg",
			line: `{"type": "stats", "data": {"@a": {"2": -3, "1": 5}}}`,
			want: mapEvent("stats", "@a[2]: -3\n@a[1]: 5\n\n", &Map{Name: "@a", Type: "avg", Entries: []Entry{
				{Key: []any{int64(2)}, Value: int64(-3)},
				{Key: []any{int64(1)}, Value: int64(5)},
			}}),
		},
		{
			name: "stats",
			line: `{"type": "stats", "data": {"@s": {"count": 2, "average": 15, "total": 30}}}`,
			want: mapEvent("stats", "@s: count 2, average 15, total 30\n\n", &Map{Name: "@s", Type: "stats", Entries: []Entry{
				{Stats: &Stats{Count: 2, Average: 15, Total: 30}},
			}}),
		},
		{
			name: "keyed stats",
			line: `{"type": "stats", "data": {"@s": {"k": {"count": 1, "average": 4, "total": 4}}}}`,
			want: mapEvent("stats", "@s[k]: count 1, average 4, total 4\n\n", &Map{Name: "@s", Type: "stats", Entries: []Entry{
				{Key: []any{"k"}, Stats: &Stats{Count: 1, Average: 4, Total: 4}},
			}}),
		},
		{
			name: "avg run as stats keeps avg's text",
			dec:  Decoder{Schema: Schema{"@a": {Name: "@a", Type: TypeAvg, Keys: []KeyKind{KeyString}}}},
			line: `{"type": "stats", "data": {"@a": {"x": {"count": 2, "average": 4, "total": 8}, "y": {"count": 1, "average": -1, "total": -1}}}}`,
			want: mapEvent("stats", "@a[x]: 4\n@a[y]: -1\n\n", &Map{Name: "@a", Type: "avg", Entries: []Entry{
				{Key: []any{"x"}, Stats: &Stats{Count: 2, Average: 4, Total: 8}},
				{Key: []any{"y"}, Stats: &Stats{Count: 1, Average: -1, Total: -1}},
			}}),
		},
		{
			name: "keyed avg whose keys read like stats",
			dec:  Decoder{Schema: Schema{"@a": {Name: "@a", Type: TypeAvg, Keys: []KeyKind{KeyString}}}},
			line: `{"type": "stats", "data": {"@a": {"count": 1, "average": 2, "total": 3}}}`,
			want: mapEvent("stats", "@a[count]: 1\n@a[average]: 2\n@a[total]: 3\n\n", &Map{Name: "@a", Type: "avg", Entries: []Entry{
				{Key: []any{"count"}, Value: int64(1)},
				{Key: []any{"average"}, Value: int64(2)},
				{Key: []any{"total"}, Value: int64(3)},
			}}),
		},
		{
			name: "hist",
			line: `{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 2}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 4}]}}`,
			want: mapEvent("hist", "@h: \n"+
				"(..., 0)               1 |@@@@@@@@@@@@@                                       |\n"+
				"[0]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"+
				"[1]                    0 |                                                    |\n"+
				"[2, 4)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"\n",
				&Map{Name: "@h", Type: "hist", Entries: []Entry{{Buckets: []Bucket{
					{Max: i64(-1), Count: 1},
					{Min: i64(0), Max: i64(0), Count: 2},
					{Min: i64(1), Max: i64(1), Count: 0},
					{Min: i64(2), Max: i64(3), Count: 4},
				}}}}),
		},
		{
			name: "hist's last bucket is corrected",
			line: `{"type": "hist", "data": {"@h": [{"min": 1073741824, "max": 2147483647, "count": 1}, {"min": -2147483648, "max": 0, "count": 1}]}}`,
			want: mapEvent("hist", "@h: \n"+
				"[1G, 2G)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"[2G, 4G)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"\n",
				&Map{Name: "@h", Type: "hist", Entries: []Entry{{Buckets: []Bucket{
					{Min: i64(1 << 30), Max: i64(1<<31 - 1), Count: 1},
					{Min: i64(1 << 31), Max: i64(1<<32 - 1), Count: 1},
				}}}}),
		},
		{
			name: "zeroed hist",
			line: `{"type": "hist", "data": {"@h": []}}`,
			want: mapEvent("hist", "@h: \n\n", &Map{Name: "@h", Type: "hist", Entries: []Entry{{Buckets: []Bucket{}}}}),
		},
		{
			name: "keyed lhist",
			line: `{"type": "hist", "data": {"@l": {"1": [{"min": 0, "max": 1023, "count": 1}], "2": [{"min": 1024, "count": 1}]}}}`,
			want: mapEvent("hist", "@l[1]: \n"+
				"[0, 1K)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"\n"+
				"@l[2]: \n"+
				"[1K, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"\n",
				&Map{Name: "@l", Type: "lhist", Entries: []Entry{
					{Key: []any{int64(1)}, Buckets: []Bucket{{Min: i64(0), Max: i64(1023), Count: 1}}},
					{Key: []any{int64(2)}, Buckets: []Bucket{{Min: i64(1024), Count: 1}}},
				}}),
		},
		{
			name: "unknown bucket members are skipped",
			line: `{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1, "note": [1, {"x": null}]}]}}`,
			want: mapEvent("hist", "@h: \n"+
				"[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"+
				"\n",
				&Map{Name: "@h", Type: "hist", Entries: []Entry{{Buckets: []Bucket{{Min: i64(4), Max: i64(7), Count: 1}}}}}),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.dec
			got, err := d.Decode([]byte(tt.line))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.line, err)
			}
			// Summaries have their own tests.
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Map{}, "Summary"), cmpopts.IgnoreFields(Entry{}, "Summary")); diff != "" {
				t.Errorf("event mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func mapEvent(typ, text string, m *Map) Event {
	return Event{Kind: KindMap, Type: typ, Text: text, Map: m}
}

// TestDecodeStack uses records captured from bpftrace 0.17 here. Stacks in
// BEGIN differ from run to run (the first frame is the BPF program), so they
// cannot be golden-recorded; the text is what text mode printed for the
// same shapes in the same session.
func TestDecodeStack(t *testing.T) {
	for _, tt := range []struct {
		name, line, want string
	}{
		{
			name: "kstack key",
			line: `{"type": "map", "data": {"@ks": {"\n    _einittext+1015206730\n    __bpf_prog_test_run_raw_tp+106\n    bpf_prog_test_run_raw_tp+279\n": 1}}}`,
			want: "@ks[\n    _einittext+1015206730\n    __bpf_prog_test_run_raw_tp+106\n    bpf_prog_test_run_raw_tp+279\n]: 1\n",
		},
		{
			name: "kstack value",
			line: `{"type": "map", "data": {"@kv": "\n        _einittext+1015206857\n        __bpf_prog_test_run_raw_tp+106\n"}}`,
			want: "@kv: \n        _einittext+1015206857\n        __bpf_prog_test_run_raw_tp+106\n\n",
		},
		{
			name: "keyed kstack values, one failed",
			line: `{"type": "map", "data": {"@v": {"1": "\n        _einittext+1015206603\n        __bpf_prog_test_run_raw_tp+106\n", "2": ""}}}`,
			want: "@v[1]: \n        _einittext+1015206603\n        __bpf_prog_test_run_raw_tp+106\n@v[2]: \n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			ev, err := d.Decode([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ev.Text); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeDump follows the exit-time dump: with a Schema, the blank lines of
// empty maps come back in name order, before the next map and at the end.
func TestDecodeDump(t *testing.T) {
	lines := []string{
		`{"type": "map", "data": {"@b": 1}}`, // print(@b): not part of the dump
		``,
		``,
		`{"type": "map", "data": {"@b": 1}}`,
		`{"type": "stats", "data": {"@d": 4}}`,
	}
	maps := typesOnly(map[string]MapType{"@": TypeValue, "@a": TypeStats, "@b": TypeValue, "@c": TypeHist, "@d": TypeAvg, "@e": TypeValue}, nil)
	for _, tt := range []struct {
		name  string
		maps  Schema
		texts []string
		end   string
	}{
		{
			name: "with maps",
			maps: maps,
			// Before @b: "@" (a blank line) and "@a" (two, as stats);
			// before @d: "@c"; at the end: "@e".
			texts: []string{"@b: 1\n", "\n", "\n", "\n\n\n@b: 1\n", "\n@d: 4\n\n"},
			end:   "\n",
		},
		{
			name:  "without",
			texts: []string{"@b: 1\n", "\n", "\n", "@b: 1\n", "@d: 4\n\n"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decoder{Schema: tt.maps}
			var texts []string
			for _, l := range lines {
				ev, err := d.Decode([]byte(l))
				if err != nil {
					t.Fatal(err)
				}
				texts = append(texts, ev.Text)
			}
			if diff := cmp.Diff(tt.texts, texts); diff != "" {
				t.Errorf("texts mismatch (-want +got):\n%s", diff)
			}
			ev, ok := d.End()
			if ok != (tt.end != "") || ev.Text != tt.end {
				t.Errorf("End() = %q, %v; want %q", ev.Text, ok, tt.end)
			}
			if _, ok := d.End(); ok {
				t.Error("second End() reported more text")
			}
		})
	}
}

// TestDecodeRawIsACopy checks that an unknown record does not alias the
// caller's buffer, which bufio.Scanner reuses.
func TestDecodeRawIsACopy(t *testing.T) {
	line := []byte(`{"type": "future"}`)
	var d Decoder
	ev, err := d.Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	line[2] = 'X'
	if string(ev.Raw) != `{"type": "future"}` {
		t.Errorf("Raw changed with the input: %s", ev.Raw)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindBlank: "blank", KindMap: "map", KindUnknown: "unknown", 42: "Kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestDecodeValueJSON checks that decoded maps marshal to the JSON the
// server returns, zero values included.
func TestDecodeValueJSON(t *testing.T) {
	var d Decoder
	ev, err := d.Decode([]byte(`{"type": "map", "data": {"@z": {"1": 0, "2": 5}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(ev.Map)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"@z","type":"value","entries":[{"key":[1],"value":0},{"key":[2],"value":5}],"summary":{"keys":2,"sum":5,"min":0,"max":5}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("json mismatch (-want +got):\n%s", diff)
	}
}

// TestKeysEscapedTwice: 0.23 escapes map keys twice in JSON (recorded:
// testdata/recorded/bpftrace-0.23.2/strings.json); the same line from
// another release means what it says.
func TestKeysEscapedTwice(t *testing.T) {
	line := []byte(`{"type": "map", "data": {"@k": {"a\\\"b\\tc\\\\d": 1, "\\uffffffc3\\uffffffa9,x": 2}}}`)
	for _, tt := range []struct {
		release string
		want    string
	}{
		{"0.23.2", "@k[a\"b\tc\\d]: 1\n@k[\xc3\xa9,x]: 2\n"},
		{"0.17.0", "@k[a\\\"b\\tc\\\\d]: 1\n@k[\\uffffffc3\\uffffffa9,x]: 2\n"},
		{"0.27.1", "@k[a\\\"b\\tc\\\\d]: 1\n@k[\\uffffffc3\\uffffffa9,x]: 2\n"},
	} {
		v, err := version.Parse(tt.release)
		if err != nil {
			t.Fatal(err)
		}
		d := Decoder{Release: v, Schema: Schema{"@k": {Name: "@k", Type: TypeValue, Keys: []KeyKind{KeyAny}}}}
		ev, err := d.Decode(line)
		if err != nil {
			t.Fatalf("%s: %v", tt.release, err)
		}
		if ev.Text != tt.want {
			t.Errorf("%s: text %q, want %q", tt.release, ev.Text, tt.want)
		}
	}
}

// TestBufValues: a buf() map's value renders as text mode prints it, from
// the bytes 0.27 writes and from the string earlier releases write.
func TestBufValues(t *testing.T) {
	s := Schema{"@b": {Name: "@b", Type: TypeValue, Value: ValueBuf}}
	for _, tt := range []struct{ line, want string }{
		{`{"type": "map", "data": {"@b": [97,98,1,255]}}`, "@b: ab\\x01\\xff\n"},
		{`{"type": "map", "data": {"@b": "ab\\x01"}}`, "@b: ab\\x01\n"},
		{`{"type": "map", "data": {"@b": [97,300]}}`, "@b: (97, 300)\n"},
	} {
		d := Decoder{Schema: s}
		ev, err := d.Decode([]byte(tt.line))
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		if ev.Text != tt.want {
			t.Errorf("%s: text %q, want %q", tt.line, ev.Text, tt.want)
		}
	}
}
