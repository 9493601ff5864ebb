package output

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeEscapes covers the repair of 0.17's \uffffffXX escapes.
func TestDecodeEscapes(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"utf-8", `h\uffffffc3\uffffffa9llo`, "héllo"},
		{"three-byte rune", `\uffffffe2\uffffff9c\uffffff93`, "✓"},
		{"upper-case hex", `\uFFFFFFC3\uFFFFFFA9`, "é"},
		{"lone byte is kept, not replaced", `bad \uffffffc8 byte`, "bad \xc8 byte"},
		{"escaped backslash before u", `\\uffffffc3`, `\uffffffc3`},
		{"escaped backslash then a real escape", `\\\uffffffc3\uffffffa9`, `\é`},
		{"control characters", `\u0001\u001f`, "\x01\x1f"},
		{"short escapes", `\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t"},
		{"plain \\u", `\u00e9`, "é"},
		{"surrogate pair", `\ud83d\ude00`, "😀"},
		{"lone surrogate", `\ud83d`, "\uFFFD"},
		{"\\uffff followed by text is U+FFFF", `\uffffzz`, "\uffffzz"},
		{"\\uffffff with one hex digit", `\uffffff7`, "\uffffff7"},
		{"\\uffffff7f is not a sign-extended byte", `\uffffff7f`, "\uffffff7f"},
		{"hex letters after a repaired byte", `\uffffffc3abc`, "\xc3abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			for _, line := range []string{
				`{"type": "printf", "data": "` + tt.data + `"}`, // fast path
				`{"data": "` + tt.data + `", "type": "printf"}`, // full parser
			} {
				ev, err := d.Decode([]byte(line))
				if err != nil {
					t.Fatalf("Decode(%q): %v", line, err)
				}
				if diff := cmp.Diff(tt.want, ev.Text); diff != "" {
					t.Errorf("Decode(%q) text mismatch (-want +got):\n%s", line, diff)
				}
			}
		})
	}
}
