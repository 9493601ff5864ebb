package output

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode never panics, accepts every valid JSON
// object of a type it does not know, and restores the text of string
// records as an independent reading of the escape bug would.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	recorded, err := filepath.Glob(filepath.Join("testdata", "recorded", "*", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	files = append(files, recorded...)
	for _, name := range files {
		for line := range bytes.SplitSeq(readFileF(f, name), []byte("\n")) {
			f.Add(line)
		}
	}
	for _, s := range []string{
		`{"type": "helper_error", "helper": "probe_read", "retcode": -14, "line": 1, "col": 14}`,
		`{"type": "lost_events", "data": {"events": 190178}}`,
		`{"type": "future", "data": [1, {"a": null}]}`,
		`{"type": "printf", "data": "\\\uffffffc3\uffffffa9 \ud83d\ude00 \u0001"}`,
		`{"type": "map", "data": {"@t": {"a": 12, 04, "b": 13}}}`,
		`{"type": "value", "data": { "a": [1, "x"] }}`,
		`{"type": "tseries", "data": {"@k": {"a,1": [{"interval_start":"x","value":null}]}}}`,
		`{"type": "warnf", "msg": "m", "filename": "stdin", "line": 1, "col": 9}`,
		`{"type": "map", "data": {"@f": null}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var d Decoder
		ev, err := d.Decode(line)
		if err == nil && ev.Kind > KindUnknown {
			t.Fatalf("Decode(%q) returned kind %v", line, ev.Kind)
		}
		record, isObject := jsonObject(line)
		if !isObject {
			return
		}
		typ, typeIsString := stringMember(record, "type")
		if err != nil {
			switch {
			case !typeIsString || knownType([]byte(typ)) == "":
				t.Fatalf("Decode(%q) of a record of unknown type: %v", line, err)
			case isMessage(typ):
				if _, ok := stringMember(record, "data"); ok {
					t.Fatalf("Decode(%q) of a %s record with string data: %v", line, typ, err)
				}
			}
			return
		}
		if isMessage(typ) {
			checkMessageText(t, line, typ, record, ev)
		}
		if ev.Map != nil && utf8.Valid(line) && !signExtended.Match(line) {
			checkMapRoundTrip(t, line, ev.Map)
		}
	})
}

func readFileF(f *testing.F, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// jsonObject decodes a line that is a valid JSON object into its members.
func jsonObject(line []byte) (map[string]json.RawMessage, bool) {
	if t := bytes.TrimSpace(line); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return nil, false
	}
	var record map[string]json.RawMessage
	if err := json.Unmarshal(line, &record); err != nil {
		return nil, false
	}
	return record, true
}

// stringMember returns a member that is a JSON string, escapes raw.
func stringMember(record map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := record[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// signExtended finds, left to right, escaped backslashes and 0.17's
// \uffffffXX escapes for bytes >= 0x80.
var signExtended = regexp.MustCompile(`\\\\|\\u[fF]{6}[89a-fA-F][0-9a-fA-F]`)

// checkMessageText compares the text of a string record with a second
// reading of its data: each \uffffffXX becomes the private-use rune
// U+E0XX for encoding/json, and then the byte XX.
func checkMessageText(t *testing.T, line []byte, typ string, record map[string]json.RawMessage, ev Event) {
	t.Helper()
	raw := record["data"]
	plain, _ := stringMember(record, "data")
	if !utf8.Valid(raw) || bytes.ContainsFunc([]byte(plain), isMarker) {
		return // encoding/json would replace the bytes, or the markers clash
	}
	marked := signExtended.ReplaceAllFunc(raw, func(m []byte) []byte {
		if len(m) == 2 {
			return m
		}
		return []byte(`\ue0` + string(m[8:10]))
	})
	var s string
	if err := json.Unmarshal(marked, &s); err != nil {
		t.Fatalf("reference unmarshal of %s: %v", marked, err)
	}
	var want []byte
	for _, r := range s {
		if isMarker(r) {
			want = append(want, byte(r-0xe000))
		} else {
			want = utf8.AppendRune(want, r)
		}
	}
	if typ == typeJoin {
		want = append(want, '\n')
	}
	if ev.Text != string(want) {
		t.Fatalf("Decode(%q).Text = %s, want %s", line, strconv.Quote(ev.Text), strconv.Quote(string(want)))
	}
}

func isMarker(r rune) bool { return r >= 0xe080 && r <= 0xe0ff }

// checkMapRoundTrip checks that the typed map survives its JSON form.
func checkMapRoundTrip(t *testing.T, line []byte, m *Map) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal map of %q: %v", line, err)
	}
	var back Map
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if diff := cmp.Diff(m, &back); diff != "" {
		t.Fatalf("map of %q: round trip mismatch (-want +got):\n%s", line, diff)
	}
}
