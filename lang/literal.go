package lang

import (
	"fmt"
	"math/bits"
	"strings"
)

// scanNumber scans an integer literal. It takes the whole run of letters,
// digits and underscores first, so "0x10u" or "12abc" is one bad literal
// with one message rather than a number followed by a puzzling identifier.
func (s *scanner) scanNumber(start Pos) token {
	for !s.eof() && isIdentByte(s.src[s.off]) {
		s.next()
	}
	tok := s.token(tInt, start)
	v, msg, hint := parseIntLiteral(tok.text)
	if msg != "" {
		s.report(tok.pos, tok.end, msg, hint)
	}
	tok.num = v
	return tok
}

// intSuffixes are the C size suffixes bpftrace accepts after a decimal
// literal; they do not change the value.
var intSuffixes = map[string]bool{"u": true, "l": true, "ul": true, "lu": true, "ll": true, "ull": true, "llu": true}

// parseIntLiteral returns the value of an integer literal as bpftrace 0.17
// reads it: decimal with optional _ separators, an optional exponent (1e6)
// and an optional size suffix (10ul); octal with a leading 0; hexadecimal.
func parseIntLiteral(text string) (v uint64, msg, hint string) {
	outOfRange := func() (uint64, string, string) {
		return 0, fmt.Sprintf("integer literal %s is out of range", text), "integers are 64 bits wide: at most 18446744073709551615"
	}
	if len(text) >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') {
		digits := text[2:]
		if digits == "" {
			return 0, "invalid hexadecimal literal " + text, "write hexadecimal digits after 0x"
		}
		for i := 0; i < len(digits); i++ {
			d, ok := digitValue(digits[i])
			if !ok || d >= 16 {
				return 0, "invalid hexadecimal literal " + text, "hexadecimal literals take no suffix or separator"
			}
			hi, lo := bits.Mul64(v, 16)
			if hi != 0 || lo+uint64(d) < lo {
				return outOfRange()
			}
			v = lo + uint64(d)
		}
		return v, "", ""
	}

	body := strings.TrimRight(text, "uUlL")
	if suffix := strings.ToLower(text[len(body):]); suffix != "" && !intSuffixes[suffix] {
		return 0, "invalid integer literal " + text, "the size suffixes are u, l, ul, ll and ull"
	}
	mantissa, exponent, hasExp := strings.Cut(strings.ToLower(body), "e")
	bad := func() (uint64, string, string) {
		h := "an integer is digits with optional _ separators, an exponent (1e6) and a size suffix (10ul)"
		if strings.HasPrefix(strings.ToLower(text), "0b") {
			h = "binary literals are not supported; write the value in hexadecimal"
		}
		return 0, "invalid integer literal " + text, h
	}
	if !validDigits(mantissa) || hasExp && !validDigits(exponent) {
		return bad()
	}
	mantissa = strings.ReplaceAll(mantissa, "_", "")
	base := uint64(10)
	if len(mantissa) > 1 && mantissa[0] == '0' && !hasExp {
		base = 8
	}
	for i := 0; i < len(mantissa); i++ {
		d := uint64(mantissa[i] - '0')
		if d >= base {
			return 0, "invalid octal literal " + text, "a literal that starts with 0 is octal; drop the leading 0 for decimal"
		}
		hi, lo := bits.Mul64(v, base)
		if hi != 0 || lo+d < lo {
			return outOfRange()
		}
		v = lo + d
	}
	if hasExp {
		exponent = strings.ReplaceAll(exponent, "_", "")
		e := 0
		for i := 0; i < len(exponent) && e <= 20; i++ {
			e = e*10 + int(exponent[i]-'0')
		}
		for ; e > 0 && v != 0; e-- {
			hi, lo := bits.Mul64(v, 10)
			if hi != 0 {
				return outOfRange()
			}
			v = lo
		}
	}
	return v, "", ""
}

// validDigits reports whether s is decimal digits with _ separators, not
// ending in one (the first byte is a digit wherever this is called for a
// mantissa; an exponent must start with one too).
func validDigits(s string) bool {
	if s == "" || !isDigit(s[0]) || s[len(s)-1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

func digitValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// scanString scans a string literal and resolves its escapes: \n \t \r \"
// \\, \xH and \xHH, and octal \O to \OOO, the set bpftrace 0.17 knows. A
// string cannot span lines.
func (s *scanner) scanString(start Pos) token {
	s.next() // opening quote
	var b strings.Builder
	for {
		if s.eof() || s.src[s.off] == '\n' {
			tok := s.token(tString, start)
			tok.str = b.String()
			s.report(tok.pos, tok.end, "unterminated string", `close the string with " on the same line; write a newline as \n`)
			return tok
		}
		c := s.src[s.off]
		switch c {
		case '"':
			s.next()
			tok := s.token(tString, start)
			tok.str = b.String()
			return tok
		case '\\':
			s.scanEscape(&b)
		default:
			b.WriteByte(c)
			s.next()
		}
	}
}

func (s *scanner) scanEscape(b *strings.Builder) {
	esc := s.pos()
	s.next() // backslash
	if s.eof() || s.src[s.off] == '\n' {
		return // reported as an unterminated string
	}
	c := s.src[s.off]
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case '"':
		b.WriteByte('"')
	case '\\':
		b.WriteByte('\\')
	case 'x':
		s.next()
		v, n := 0, 0
		for ; n < 2; n++ {
			d, ok := digitValue(s.peek(0))
			if !ok || d >= 16 {
				break
			}
			v = v*16 + d
			s.next()
		}
		if n == 0 {
			s.report(esc, s.pos(), `invalid escape character '\x'`, `write a byte as \xHH with one or two hexadecimal digits`)
			return
		}
		b.WriteByte(byte(v))
		return
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v, n := 0, 0
		for ; n < 3 && s.peek(0) >= '0' && s.peek(0) <= '7'; n++ {
			v = v*8 + int(s.peek(0)-'0')
			s.next()
		}
		if v > 0xff {
			s.report(esc, s.pos(), fmt.Sprintf("octal escape sequence out of range '%s'", s.src[esc.Offset:s.off]), `an octal escape is at most \377`)
			return
		}
		b.WriteByte(byte(v))
		return
	default:
		_, size := decodeRune(s.src[s.off:])
		s.skip(size)
		s.report(esc, s.pos(), fmt.Sprintf("invalid escape character '%s'", s.src[esc.Offset:s.off]),
			`the escapes are \n \t \r \" \\ \xHH and octal \OOO`)
		b.WriteString(s.src[esc.Offset+1 : s.off])
		return
	}
	s.next()
}
