package output

import (
	"bytes"
	"fmt"
)

// span is a range of the line.
type span struct{ start, end int }

// decodeRecord parses a whole record. bpftrace writes "type" before "data";
// a record that does not is still read, as long as it is valid JSON.
func (d *Decoder) decodeRecord(line []byte) (Event, error) {
	p := parser{b: line}
	if err := p.expect('{'); err != nil {
		return Event{}, fmt.Errorf("decode record: %w", err)
	}
	var (
		typ       string
		typeValid bool // "type" is present and a string
		data      = span{-1, -1}
		strict    = true // data is valid JSON
		fields    = map[string]span(nil)
	)
	if !p.consume('}') {
		for {
			name, err := p.member()
			if err != nil {
				return Event{}, fmt.Errorf("decode record: %w", err)
			}
			start := p.i
			switch name {
			case "type":
				typeValid = p.peek() == '"'
				if typeValid {
					s, err := p.str()
					if err != nil {
						return Event{}, fmt.Errorf("decode record: %w", err)
					}
					typ = s
					if k := knownType([]byte(s)); k != "" {
						typ = k
					}
					break
				}
				if err := p.skip(0); err != nil {
					return Event{}, fmt.Errorf("decode record: %w", err)
				}
			case "data":
				err := p.skip(0)
				strict = err == nil
				if err != nil {
					// strerror() and strftime() values come unquoted; data
					// is then whatever lies before the record's closing brace.
					end := lastBrace(line)
					if !typeValid || !unquotedData(typ) || end <= start {
						return Event{}, fmt.Errorf("decode record: %w", err)
					}
					p.i = end
				}
				data = span{start, p.i}
			default:
				if err := p.skip(0); err != nil {
					return Event{}, fmt.Errorf("decode record: %w", err)
				}
				if fields == nil {
					fields = map[string]span{}
				}
				fields[name] = span{start, p.i}
			}
			more, err := p.next('}')
			if err != nil {
				return Event{}, fmt.Errorf("decode record: %w", err)
			}
			if !more {
				break
			}
		}
	}
	if !p.atEnd() {
		return Event{}, fmt.Errorf("decode record: %w", p.errorf("trailing data"))
	}
	if !typeValid {
		return unknownEvent("", line), nil
	}
	ev, err := d.decodeTyped(typ, line, data, strict, fields)
	if err != nil {
		return Event{}, fmt.Errorf("decode %s record: %w", typ, err)
	}
	return ev, nil
}

// unquotedData reports whether bpftrace can write this type's data unquoted.
func unquotedData(typ string) bool {
	switch typ {
	case typeMap, typeValue, typeStats, typeHist:
		return true
	}
	return false
}

// lastBrace returns the end of the data before the record's closing brace.
func lastBrace(line []byte) int {
	end := len(bytes.TrimRight(line, " \t\r\n"))
	if end == 0 || line[end-1] != '}' {
		return -1
	}
	return len(bytes.TrimRight(line[:end-1], " \t\r\n"))
}

func unknownEvent(typ string, line []byte) Event {
	return Event{Kind: KindUnknown, Type: typ, Raw: bytes.Clone(line)}
}

// decodeTyped builds the event of a record of a given type.
func (d *Decoder) decodeTyped(typ string, line []byte, data span, strict bool, fields map[string]span) (Event, error) {
	if typ == typeHelperError {
		return helperErrorEvent(line, fields)
	}
	if ev, ok, err := decodeLocated(typ, line, fields); ok {
		return ev, err
	}
	if typ == typeTseries {
		return d.decodeTseries(line, data)
	}
	if knownType([]byte(typ)) == "" {
		return unknownEvent(typ, line), nil // a later bpftrace's, say
	}
	if data.start < 0 {
		return Event{}, &SyntaxError{Msg: "no data"}
	}
	p := parser{b: line[:data.end], i: data.start}
	switch {
	case isMessage(typ):
		s, err := p.str()
		if err != nil {
			return Event{}, err
		}
		if !p.atEnd() {
			return Event{}, p.errorf("want a string")
		}
		return messageEvent(typ, s), nil
	case typ == typeValue:
		v, err := p.entryValue(!strict)
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: KindText, Type: typ, Text: valueText(v) + "\n", Value: v}, nil
	case typ == typeAttachedProbes:
		n, err := p.counter("probes")
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: KindAttachedProbes, Type: typ, Probes: int(n)}, nil
	case typ == typeLostEvents:
		n, err := p.counter("events")
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: KindLostEvents, Type: typ, Lost: n}, nil
	}
	m, err := d.decodeMap(typ, &p, strict)
	if err != nil {
		return Event{}, err
	}
	text := m.Text()
	if d.dumping && m.Name > d.lastName {
		text = d.emptyMapsBefore(m.Name) + text
		d.lastName = m.Name
	}
	return Event{Kind: KindMap, Type: typ, Text: text, Map: m}, nil
}

// counter reads {"name": N}, the data of attached_probes and lost_events.
func (p *parser) counter(name string) (uint64, error) {
	if err := p.expect('{'); err != nil {
		return 0, err
	}
	var (
		n     uint64
		found bool
	)
	if !p.consume('}') {
		for {
			member, err := p.member()
			if err != nil {
				return 0, err
			}
			if member == name {
				if n, err = p.unsigned(); err != nil {
					return 0, err
				}
				found = true
			} else if err := p.skip(0); err != nil {
				return 0, err
			}
			more, err := p.next('}')
			if err != nil {
				return 0, err
			}
			if !more {
				break
			}
		}
	}
	if !found {
		return 0, p.errorf("no %q", name)
	}
	return n, nil
}

// helperErrorEvent reads a helper_error record, whose fields sit at the top
// level: {"type": "helper_error", "helper": "probe_read", "retcode": -14,
// "line": 1, "col": 14}.
func helperErrorEvent(line []byte, fields map[string]span) (Event, error) {
	he := &HelperError{}
	var err error
	if he.Msg, err = stringField(line, fields, "msg"); err != nil {
		return Event{}, err
	}
	if he.Filename, err = stringField(line, fields, "filename"); err != nil {
		return Event{}, err
	}
	if s, ok := fields["helper"]; ok {
		p := parser{b: line[:s.end], i: s.start}
		h, err := p.str()
		if err != nil {
			return Event{}, err
		}
		he.Helper = h
	}
	for _, f := range [...]struct {
		name string
		dst  *int
	}{{"retcode", &he.Retcode}, {"line", &he.Line}, {"col", &he.Column}, {"column", &he.Column}} {
		s, ok := fields[f.name]
		if !ok {
			continue
		}
		p := parser{b: line[:s.end], i: s.start}
		n, err := p.integer()
		if err != nil {
			return Event{}, err
		}
		*f.dst = int(n)
	}
	return Event{Kind: KindHelperError, Type: typeHelperError, HelperError: he}, nil
}
