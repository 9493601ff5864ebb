// Package untrusted escapes text that came from the traced system (what a
// program printed, map keys and values, file and symbol names, bpftrace's
// messages about them) before it reaches an assistant or its client.
//
// Such text is written by whoever controls the traced processes. A raw
// control character can move a terminal's cursor or clear its screen, a
// bidi control can make text read in another order than it is stored, a
// zero-width character or a Unicode tag can hide words from a person
// while a model still reads them, and U+2028 or a newline can start what
// looks like a line of the answer's own. The escapes written here are
// visible and say which character was there (\x1b, \u202e), so a person
// can still tell what the traced process wrote.
//
// Backslashes are left as they are, so escaping is idempotent: escaping
// escaped text changes nothing, and each layer that passes traced text on
// may escape it again without cost. The package knows nothing of where
// the text is going.
package untrusted

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s with every unsafe character escaped, newlines included:
// for text that must stay on one line (an output line, a map key, a file
// name). It returns s itself when there is nothing to escape.
func Line(s string) string { return escape(s, false) }

// Text is [Line] but keeps newlines: for text whose line structure is the
// caller's own (a message of several lines).
func Text(s string) string { return escape(s, true) }

// Unsafe reports whether [Line] escapes r: control characters but tab
// (C0, DEL, C1), format characters (bidi controls such as U+202E and
// U+2066-U+2069, zero-width characters U+200B-U+200F, U+2060 and U+FEFF,
// the soft hyphen, Unicode tags), the line and paragraph separators
// U+2028 and U+2029, and the variation selectors (U+FE00-U+FE0F and
// U+E0100-U+E01EF: appended to a character they are invisible, and 256 of
// them carry any bytes, so the 16 of the first block alone still hide a
// message at two selectors a byte). Invalid UTF-8 is escaped byte by byte.
func Unsafe(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r < 0x7f:
		return false
	case r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef:
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// IsSafe reports whether [Line] would return s unchanged.
func IsSafe(s string) bool { return safePrefix(s, false) == len(s) }

// safePrefix returns the length of the longest prefix of s with nothing to
// escape.
func safePrefix(s string, keepNewline bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && (c != '\n' || !keepNewline)) || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || Unsafe(r) {
			return i
		}
		i += size
	}
	return len(s)
}

const hexDigits = "0123456789abcdef"

func escape(s string, keepNewline bool) string {
	i := safePrefix(s, keepNewline)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\n' && keepNewline:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case !Unsafe(r):
			b.WriteString(s[i : i+size])
		case r < utf8.RuneSelf:
			writeHex(&b, `\x`, uint32(r), 2)
		case r <= 0xffff:
			writeHex(&b, `\u`, uint32(r), 4)
		default:
			writeHex(&b, `\U`, uint32(r), 8)
		}
		i += size
	}
	return b.String()
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(v>>uint(shift))&0xf])
	}
}
