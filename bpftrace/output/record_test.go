package output

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeMalformed(t *testing.T) {
	for _, tt := range []struct {
		name, line string
	}{
		{"not json", `Attaching 1 probe...`},
		{"array", `[1, 2]`},
		{"string", `"x"`},
		{"whitespace", ` `},
		{"truncated", `{"type": "printf", "data": "abc`},
		{"truncated escape", `{"type": "printf", "data": "abc\`},
		{"bad escape", `{"type": "printf", "data": "\q"}`},
		{"bad unicode escape", `{"type": "printf", "data": "\u12"}`},
		{"trailing data", `{"type": "printf", "data": "x"} y`},
		{"two objects", `{"type": "printf", "data": "x"}{}`},
		{"missing colon", `{"type" "printf"}`},
		{"printf data not a string", `{"type": "printf", "data": 5}`},
		{"printf without data", `{"type": "printf"}`},
		{"attached_probes without probes", `{"type": "attached_probes", "data": {}}`},
		{"attached_probes negative", `{"type": "attached_probes", "data": {"probes": -1}}`},
		{"lost_events as string", `{"type": "lost_events", "data": {"events": "1"}}`},
		{"helper_error retcode not int", `{"type": "helper_error", "retcode": "x"}`},
		{"map not an object", `{"type": "map", "data": 5}`},
		{"map with two maps", `{"type": "map", "data": {"@a": 1, "@b": 2}}`},
		{"hist not buckets", `{"type": "hist", "data": {"@h": 5}}`},
		{"hist bucket not object", `{"type": "hist", "data": {"@h": [1]}}`},
		{"hist count negative", `{"type": "hist", "data": {"@h": [{"count": -1}]}}`},
		{"stats incomplete", `{"type": "stats", "data": {"@s": {"k": {"count": 1}}}}`},
		{"stats string", `{"type": "stats", "data": {"@s": "x"}}`},
		{"deep nesting", `{"type": "future", "data": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
		{"unknown type, invalid data", `{"type": "future", "data": nope}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			ev, err := d.Decode([]byte(tt.line))
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want an error", tt.line, ev)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Decode(%q) error %v is not a *SyntaxError", tt.line, err)
			}
		})
	}
}
