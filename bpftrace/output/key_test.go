package output

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitKey(t *testing.T) {
	for _, tt := range []struct {
		name  string
		key   string
		arity int
		want  []string
	}{
		{"no hint splits on every comma", "1,a", 0, []string{"1", "a"}},
		{"no hint, comma in a string", "a,b,1", 0, []string{"a", "b", "1"}},
		{"no hint, no comma", "abc", 0, []string{"abc"}},
		{"empty key", "", 0, []string{""}},
		{"arity 1 keeps commas", "a,b,c", 1, []string{"a,b,c"}},
		{"arity matches", "1,a", 2, []string{"1", "a"}},
		{"fewer commas than the arity", "1", 2, []string{"1"}},
		{"string then int", "a,b,1", 2, []string{"a,b", "1"}},
		{"int then string", "1,a,b", 2, []string{"1", "a,b"}},
		{"negative int", "a,b,-5", 2, []string{"a,b", "-5"}},
		{"int, string, int", "7,x,y,z,9", 3, []string{"7", "x,y,z", "9"}},
		{"two strings: extra commas go last", "a,b,c", 2, []string{"a", "b,c"}},
		{"strings around an int", "a,b,3,c,d", 3, []string{"a,b", "3", "c,d"}},
		{"empty parts", ",,", 2, []string{"", ","}},
		{"too many commas to search", strings.Repeat("x,", 100) + "1", 2, []string{"x", strings.Repeat("x,", 99) + "1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := splitKey(tt.key, tt.arity)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("splitKey(%q, %d) mismatch (-want +got):\n%s", tt.key, tt.arity, diff)
			}
		})
	}
}

func TestDecodeKeyArity(t *testing.T) {
	line := []byte(`{"type": "map", "data": {"@c": {"a,b,1": 1, "c,22": 2}}}`)
	for _, tt := range []struct {
		name  string
		arity Schema
		want  string
	}{
		{"without", nil, "@c[a, b, 1]: 1\n@c[c, 22]: 2\n"},
		{"with", Schema{"@c": {Name: "@c", Type: TypeValue, Keys: []KeyKind{KeyString, KeyInt}}}, "@c[a,b, 1]: 1\n@c[c, 22]: 2\n"},
		{"for another map", Schema{"@d": {Name: "@d", Type: TypeValue, Keys: []KeyKind{KeyString, KeyInt}}}, "@c[a, b, 1]: 1\n@c[c, 22]: 2\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Decoder{Schema: tt.arity}
			ev, err := d.Decode(line)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ev.Text); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
