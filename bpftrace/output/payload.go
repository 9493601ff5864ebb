package output

import (
	"bytes"
	"strings"
)

// decodeMap reads the data of a map, hist or stats record:
// {"@name": payload}. p ends where the data ends. When strict is false the
// data is not valid JSON, and unquoted values are read up to what must
// follow them.
func (d *Decoder) decodeMap(typ string, p *parser, strict bool) (*Map, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	name, err := p.member()
	if err != nil {
		return nil, err
	}
	// The payload runs to the data's closing brace.
	end := len(bytes.TrimRight(p.b, " \t\r\n"))
	if end-1 < p.i || p.b[end-1] != '}' {
		return nil, p.errorf("want '}'")
	}
	end = p.i + len(bytes.TrimRight(p.b[p.i:end-1], " \t\r\n"))
	if strict {
		// Valid JSON: the payload ends where its value does, and a second
		// map in the same record is not something bpftrace writes.
		q := *p
		if err := q.skip(0); err != nil {
			return nil, err
		}
		if q.ws(); q.i != end {
			return nil, q.errorf("want one map")
		}
	}
	payload := parser{b: p.b[:end], i: p.i}
	schema := d.Schema[name]
	arity, keyed := len(schema.Keys), schema.Keyed()
	m := &Map{Name: name}
	switch typ {
	case typeHist:
		m.Entries, err = payload.histPayload(arity)
		if err == nil {
			m.Type = schema.Type
			if !m.Type.IsHist() {
				m.Type = histKind(m.Entries)
			}
			if m.Type == TypeHist {
				fixHistBuckets(m.Entries)
			}
		}
	case typeStats:
		m.Entries, err = payload.statsPayload(arity, keyed)
		m.Type = statsType(schema.Type, m.Entries)
	default:
		m.Type = TypeValue
		_, known := d.Schema[name]
		m.Entries, err = payload.valuePayload(arity, keyed, known, !strict)
		if err == nil {
			m.ValueType = valueKind(schema, m.Entries)
		}
	}
	if err != nil {
		return nil, err
	}
	if d.keysEscapedTwice() {
		unescapeKeys(m.Entries)
	}
	typeKeys(m.Entries, schema.Keys)
	m.summarize()
	return m, nil
}

// statsType tells avg() from stats(): the program says, or else the
// payload does (avg() writes plain integers, stats() objects).
func statsType(declared MapType, entries []Entry) MapType {
	if declared == TypeAvg || declared == TypeStats {
		return declared
	}
	for _, e := range entries {
		if e.Stats != nil {
			return TypeStats
		}
	}
	if len(entries) == 0 {
		return TypeStats
	}
	return TypeAvg
}

// valueKind is the schema's value kind, or else a stack when a string
// value starts with a newline, as text mode prints stacks.
func valueKind(schema MapSchema, entries []Entry) ValueKind {
	if schema.Value != ValueAny {
		return schema.Value
	}
	for _, e := range entries {
		if s, ok := e.Value.(string); ok && strings.HasPrefix(s, "\n") {
			return ValueStack
		}
	}
	return ValueAny
}

// keyed walks the entries of {"key": value, ...}, which must fill the
// parser up to its end, and calls fn with a parser at each value. fn reads
// the value and leaves the parser after it.
func (p *parser) keyed(arity int, fn func(q *parser, key []any) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	end := len(p.b) - 1
	if end < p.i || p.b[end] != '}' {
		return p.errorf("want '}' at the end")
	}
	q := parser{b: p.b[:end], i: p.i}
	for !q.atEnd() {
		key, err := q.member()
		if err != nil {
			return err
		}
		if err := fn(&q, stringParts(splitKey(key, arity))); err != nil {
			return err
		}
		if q.atEnd() {
			break
		}
		if err := q.expect(','); err != nil {
			return err
		}
		if q.atEnd() {
			return q.errorf("want a key")
		}
	}
	p.i = len(p.b)
	return nil
}

// atKey reports whether a `"key":` follows, without reading it.
func (p parser) atKey() bool {
	if p.peek() != '"' {
		return false
	}
	n, _, err := stringEnd(p.b[p.i+1:])
	if err != nil {
		return false
	}
	p.i += n + 2
	return p.consume(':')
}

// valuePayload reads the payload of a "map" record: a value, or an object
// of keyed values. keyedHint says the schema gives the map a key, known
// that the schema has the map at all: a map it knows without a key holds a
// value even when that value is a struct, which 0.27 writes as {"a": 1}
// like keys (0.17 writes `{ "a": 1 }`, which [isKeyedObject] tells apart).
func (p *parser) valuePayload(arity int, keyedHint, known, tolerant bool) ([]Entry, error) {
	start := p.i
	if keyedHint || !known && isKeyedObject(p.b[p.i:]) {
		var entries []Entry
		err := p.keyed(arity, func(q *parser, key []any) error {
			v, err := q.keyedValue(tolerant)
			entries = append(entries, Entry{Key: key, Value: v})
			return err
		})
		if err == nil || !tolerant || keyedHint {
			return entries, err
		}
		p.i = start // an unquoted value that happens to start with '{'
	}
	v, err := p.entryValue(tolerant)
	if err != nil {
		return nil, err
	}
	return []Entry{{Value: v}}, nil
}

// isKeyedObject tells a keyed map from a struct value: bpftrace writes a
// struct as `{ "a": 1 }`, with a space, and keys as `{"k": 1}`.
func isKeyedObject(b []byte) bool {
	return len(b) > 1 && b[0] == '{' && b[1] != ' '
}

// entryValue reads a value that must fill the parser. A value that is not
// JSON (bpftrace writes strerror() and strftime() unquoted) is taken as it
// is when tolerant.
func (p *parser) entryValue(tolerant bool) (any, error) {
	start := p.i
	v, err := p.value(0)
	if err == nil && p.atEnd() {
		return v, nil
	}
	if !tolerant {
		if err == nil {
			err = p.errorf("trailing data")
		}
		return nil, err
	}
	p.i = len(p.b)
	return string(bytes.TrimSpace(p.b[start:])), nil
}

// keyedValue reads the value of a keyed entry. A value that is not JSON is
// taken, when tolerant, up to the next `, "key":` or the end.
func (p *parser) keyedValue(tolerant bool) (any, error) {
	start := p.i
	v, err := p.value(0)
	if err == nil {
		q := *p
		if q.atEnd() || q.consume(',') && q.atKey() {
			return v, nil
		}
	}
	if !tolerant {
		if err == nil {
			err = p.errorf("want ',' or '}'")
		}
		return nil, err
	}
	j := start
	for ; j < len(p.b); j++ {
		if p.b[j] == ',' && (parser{b: p.b, i: j + 1}).atKey() {
			break
		}
	}
	p.i = j
	return string(bytes.TrimSpace(p.b[start:j])), nil
}

// keysEscapedTwice reports whether the release escapes the keys of map
// records twice: 0.23.2 writes the key é as "\\uffffffc3\\uffffffa9" and a
// quote as "\\\"", where 0.17.0 and 0.27.1 (measured) escape once; 0.24
// rewrote the JSON output.
func (d *Decoder) keysEscapedTwice() bool {
	return d.Release.Within("0.23", "0.24")
}

// unescapeKeys undoes the second escaping of the string key parts.
func unescapeKeys(entries []Entry) {
	for _, e := range entries {
		for i, k := range e.Key {
			s, ok := k.(string)
			if !ok || !strings.Contains(s, `\`) {
				continue
			}
			if u, n, err := unquote([]byte(s + `"`)); err == nil && n == len(s)+1 {
				e.Key[i] = u
			}
		}
	}
}
