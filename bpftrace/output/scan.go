package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// maxDepth bounds nesting so a hostile line cannot exhaust the stack.
const maxDepth = 512

// A SyntaxError reports a line that is not a record bpftrace could have
// written.
type SyntaxError struct {
	Offset int    // byte offset in the input
	Msg    string // what was wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
}

// parser reads JSON as bpftrace writes it. It is deliberately small: it works
// on one line held in memory and never uses reflection.
type parser struct {
	b []byte
	i int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func (p *parser) ws() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// consume reports whether the next non-space byte is c, and skips it if so.
func (p *parser) consume(c byte) bool {
	if p.peek() == c && p.i < len(p.b) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(c byte) error {
	if !p.consume(c) {
		return p.errorf("want %q", c)
	}
	return nil
}

// atEnd reports whether only spaces are left.
func (p *parser) atEnd() bool {
	p.ws()
	return p.i == len(p.b)
}

// str reads a JSON string, repairing bpftrace's \uffffffXX escapes.
func (p *parser) str() (string, error) {
	if p.peek() != '"' {
		return "", p.errorf("want string")
	}
	s, n, err := unquote(p.b[p.i+1:])
	if err != nil {
		p.i += 1 + n
		return "", p.errorf("%s", err.Error())
	}
	p.i += 1 + n
	return s, nil
}

// member reads `"name":` and leaves the parser at the value.
func (p *parser) member() (string, error) {
	name, err := p.str()
	if err != nil {
		return "", err
	}
	if err := p.expect(':'); err != nil {
		return "", err
	}
	p.ws()
	return name, nil
}

// next consumes the separator after an object member or array element and
// reports whether another one follows.
func (p *parser) next(closer byte) (bool, error) {
	switch {
	case p.consume(','):
		return true, nil
	case p.consume(closer):
		return false, nil
	}
	return false, p.errorf("want ',' or %q", closer)
}

// number reads a JSON number: an int64 when it fits, else a uint64, else a
// json.Number holding the literal.
func (p *parser) number() (any, error) {
	start := p.i
	if !p.skipNumber() {
		return nil, p.errorf("bad number")
	}
	lit := string(p.b[start:p.i])
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return n, nil
	}
	if n, err := strconv.ParseUint(lit, 10, 64); err == nil {
		return n, nil
	}
	return json.Number(lit), nil
}

// integer reads a JSON number that must be an integer.
func (p *parser) integer() (int64, error) {
	v, err := p.number()
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, p.errorf("want a 64-bit integer")
	}
	return n, nil
}

// unsigned reads a JSON number that must be a non-negative integer.
func (p *parser) unsigned() (uint64, error) {
	v, err := p.number()
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case int64:
		if n >= 0 {
			return uint64(n), nil
		}
	case uint64:
		return n, nil
	}
	return 0, p.errorf("want an unsigned integer")
}

// skipNumber advances over a number as JSON's grammar defines it.
func (p *parser) skipNumber() bool {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	p.i = i
	return true
}

// literal reads true, false or null.
func (p *parser) literal() (any, error) {
	for _, l := range [...]struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if bytes.HasPrefix(p.b[p.i:], []byte(l.text)) {
			p.i += len(l.text)
			return l.v, nil
		}
	}
	return nil, p.errorf("want a value")
}

// skip advances over one JSON value without building it.
func (p *parser) skip(depth int) error {
	if depth > maxDepth {
		return p.errorf("nested too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		n, _, err := stringEnd(p.b[p.i+1:])
		if err != nil {
			p.i += 1 + n
			return p.errorf("%s", err.Error())
		}
		p.i += n + 2
		return nil
	case c == '-' || '0' <= c && c <= '9':
		if !p.skipNumber() {
			return p.errorf("bad number")
		}
		return nil
	case c == '[' || c == '{':
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		p.i++
		if p.consume(closer) {
			return nil
		}
		for {
			if c == '{' {
				if _, err := p.member(); err != nil {
					return err
				}
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			more, err := p.next(closer)
			if err != nil || !more {
				return err
			}
		}
	default:
		_, err := p.literal()
		return err
	}
}

// value reads one JSON value. Objects become [Record]s, arrays []any,
// numbers as [parser.number] says.
func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested too deep")
	}
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == '[':
		p.i++
		elems := []any{}
		if p.consume(']') {
			return elems, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			elems = append(elems, v)
			more, err := p.next(']')
			if err != nil {
				return nil, err
			}
			if !more {
				return elems, nil
			}
		}
	case c == '{':
		p.i++
		rec := Record{}
		if p.consume('}') {
			return rec, nil
		}
		for {
			name, err := p.member()
			if err != nil {
				return nil, err
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			rec = append(rec, Field{Name: name, Value: v})
			more, err := p.next('}')
			if err != nil {
				return nil, err
			}
			if !more {
				return rec, nil
			}
		}
	default:
		return p.literal()
	}
}
