package output

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// quoteError is returned by unquote; the caller adds the offset.
type quoteError string

func (e quoteError) Error() string { return string(e) }

// unquote decodes a JSON string body. b starts just after the opening quote.
// It returns the text and how many bytes it consumed, closing quote included.
//
// bpftrace 0.17 escapes every byte >= 0x80 as \uffffffXX, the sign-extended
// char printed in hex. Decoding escapes left to right, as here, is what keeps
// `\\uffffffc3` (an escaped backslash, then text) from being mistaken for one.
// The restored bytes need not be valid UTF-8; they are kept as they are,
// because text mode prints them as they are.
func unquote(b []byte) (string, int, error) {
	end, escaped, err := stringEnd(b)
	if err != nil {
		return "", end, err
	}
	if !escaped {
		return string(b[:end]), end + 1, nil
	}
	var sb strings.Builder
	sb.Grow(end) // escapes only ever shrink
	for i := 0; i < end; {
		c := b[i]
		if c != '\\' {
			j := i + 1
			for j < end && b[j] != '\\' {
				j++
			}
			sb.Write(b[i:j])
			i = j
			continue
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			sb.WriteByte(e)
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			if c, ok := signExtendedByte(b[i+2 : end]); ok {
				sb.WriteByte(c)
				i += 10
				continue
			}
			r := hex4(b[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= end && b[i] == '\\' && b[i+1] == 'u' {
					r2 = hex4(b[i+2:])
				}
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					r = pair
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			sb.WriteRune(r)
			continue
		}
		i += 2
	}
	return sb.String(), end + 1, nil
}

// stringEnd finds the closing quote of a string body and checks its
// escapes. escaped reports whether there are any.
func stringEnd(b []byte) (end int, escaped bool, err error) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, false, quoteError("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(b) || hex4(b[i+2:]) < 0 {
					return i, false, quoteError(`bad \u escape`)
				}
				i += 5
			default:
				return i, false, quoteError("bad escape")
			}
		}
	}
	return len(b), false, quoteError("unterminated string")
}

// signExtendedByte recognises "ffffffXX", what bpftrace writes after \u for
// a byte >= 0x80.
func signExtendedByte(b []byte) (byte, bool) {
	if len(b) < 8 {
		return 0, false
	}
	for _, c := range b[:6] {
		if c != 'f' && c != 'F' {
			return 0, false
		}
	}
	hi, lo := unhex(b[6]), unhex(b[7])
	if hi < 0 || lo < 0 || hi < 8 {
		return 0, false
	}
	return byte(hi<<4 | lo), true
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		v := unhex(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | v
	}
	return r
}
