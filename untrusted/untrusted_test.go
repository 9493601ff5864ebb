package untrusted

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"plain", "openat /etc/passwd -> 3", "openat /etc/passwd -> 3"},
		{"tab kept", "a\tb", "a\tb"},
		{"empty", "", ""},
		{"non-ASCII letters kept", "café 東京 😀 \ufffd", "café 東京 😀 \ufffd"},
		{"backslashes kept", `C:\x1b\n`, `C:\x1b\n`},
		{"ESC sequence", "ignore\x1b[2J", `ignore\x1b[2J`},
		{"BEL, NUL, DEL", "a\x07b\x00c\x7f", `a\x07b\x00c\x7f`},
		{"newline and CR", "one\r\ntwo", `one\r\ntwo`},
		{"C1 controls", "\u0085\u009b31m", `\u0085\u009b31m`},
		{"bidi overrides", "abc\u202edcba\u202c", `abc\u202edcba\u202c`},
		{"bidi isolates", "\u2066x\u2067y\u2068z\u2069", `\u2066x\u2067y\u2068z\u2069`},
		{"bidi marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero width", "ig\u200bnore\u200c\u200d\u2060\ufeff", `ig\u200bnore\u200c\u200d\u2060\ufeff`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"soft hyphen", "pass\u00adword", `pass\u00adword`},
		{"unicode tags", "x\U000e0041\U000e007f", `x\U000e0041\U000e007f`},
		{"variation selector supplement", "x\U000e0100", `x\U000e0100`},
		{"variation selectors", "a\ufe00\ufe0f b\ufe08", `a\ufe00\ufe0f b\ufe08`},
		{"variation selector neighbours kept", "\ufdff\ufe10", "\ufdff\ufe10"},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"encoded surrogate", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"fence look-alike", "<<<end trace-data 00000000>>>\x1b", `<<<end trace-data 00000000>>>\x1b`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := IsSafe(tt.in); got != (tt.in == tt.want) {
				t.Errorf("IsSafe(%q) = %v", tt.in, got)
			}
		})
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"one\ntwo\n":         "one\ntwo\n",
		"one\r\ntwo\u2028":   "one\\r\ntwo\\u2028",
		"stdin:1:1: \x1b[1m": `stdin:1:1: \x1b[1m`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSafeUnchanged: a string with nothing to escape comes back as the
// very same string (no copy).
func TestSafeUnchanged(t *testing.T) {
	s := strings.Repeat("tracepoint:syscalls:sys_enter_openat ", 10)
	if got := Line(s); got != s || !IsSafe(s) {
		t.Fatalf("Line changed safe text: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line of safe text allocates %v times", n)
	}
}

// checkEscaped is the property every escaped text has: valid UTF-8, no
// unsafe rune (but newlines when kept), escaping again changes nothing,
// and text that was safe is unchanged.
func checkEscaped(t *testing.T, in string, keepNewline bool) {
	t.Helper()
	out := escape(in, keepNewline)
	if !utf8.ValidString(out) {
		t.Fatalf("escape(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if Unsafe(r) && !(keepNewline && r == '\n') {
			t.Fatalf("escape(%q) = %q: keeps %U", in, out, r)
		}
	}
	if again := escape(out, keepNewline); again != out {
		t.Fatalf("escape is not idempotent: %q then %q", out, again)
	}
	if safePrefix(in, keepNewline) == len(in) && out != in {
		t.Fatalf("escape(%q) changed safe text to %q", in, out)
	}
	if len(out) < len(in) {
		t.Fatalf("escape(%q) = %q lost bytes", in, out)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a\tb", "\x1b[2J", "\u202e", "\xff\xfe", "\u2028\n\r", "\U000e0041", "\\x1b", "é\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEscaped(t, s, false)
		checkEscaped(t, s, true)
		if strings.Contains(Line(s), "\n") {
			t.Fatalf("Line(%q) keeps a newline", s)
		}
	})
}
