package output

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMapEscape(t *testing.T) {
	m := &Map{Name: "@", Type: TypeValue, Entries: []Entry{
		{Key: []any{"a\x1b[2J\nb", int64(3), Syscall{Nr: 0, Name: "read"}}, Value: "v\u202e\u2028"},
		{Key: []any{Stack{Frames: []string{"f\u200b", "g"}, text: "\n    f\u200b\n    g\n"}}, Value: Record{{Name: "s", Value: "x\xff"}, {Name: "n", Value: int64(1)}}},
		{Key: []any{"k"}, Value: []any{"t\r", int64(2)}},
		{Key: []any{"ts"}, Value: []TimePoint{{Start: "2026\u0085", Value: "y\u0007"}}},
	}}
	m.Escape()
	want := []Entry{
		{Key: []any{`a\x1b[2J\nb`, int64(3), Syscall{Nr: 0, Name: "read"}}, Value: `v\u202e\u2028`},
		{Key: []any{Stack{Frames: []string{`f\u200b`, "g"}, text: "\n    f\\u200b\n    g\n"}}, Value: Record{{Name: "s", Value: `x\xff`}, {Name: "n", Value: int64(1)}}},
		{Key: []any{"k"}, Value: []any{`t\r`, int64(2)}},
		{Key: []any{"ts"}, Value: []TimePoint{{Start: `2026\u0085`, Value: `y\x07`}}},
	}
	if diff := cmp.Diff(want, m.Entries, cmp.AllowUnexported(Stack{})); diff != "" {
		t.Errorf("escaped entries (-want +got):\n%s", diff)
	}
	// A stack value keeps the newlines between its frames, escaped within.
	st := &Map{Name: "@s", Type: TypeValue, ValueType: ValueKstack, Entries: []Entry{{Value: "\n\tf\u202e+1\n\tg+2\n"}}}
	st.Escape()
	if st.Entries[0].Value != "\n\tf\\u202e+1\n\tg+2\n" {
		t.Errorf("stack value %q", st.Entries[0].Value)
	}
	// Escaping is idempotent, and the JSON carries no unsafe character.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Map
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.Escape()
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("escaping again changed the map:\n%s\n%s", b, b2)
	}
	if strings.Contains(string(b), `\u001b`) || strings.Contains(string(b), "\u202e") {
		t.Errorf("JSON carries an unsafe character: %s", b)
	}
}
