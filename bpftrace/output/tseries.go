package output

import (
	"encoding/json"
	"fmt"
	"strings"
)

// TypeTseries is a map of tseries() (bpftrace 0.24 and later): each entry's
// Value is a []TimePoint.
const TypeTseries MapType = "tseries"

// TimePoint is one interval of a tseries() map that holds a value.
type TimePoint struct {
	// Start is the interval's start as bpftrace writes it:
	// "2026-11-30 21:03:10.000000000".
	Start string `json:"interval_start"`
	// Value is the interval's aggregate, typed as [Entry.Value].
	Value any `json:"value"`
}

// decodeTseries reads the data of a tseries record:
//
//	{"@ts": [{"interval_start":"2026-11-30 21:03:10.000000000","value":5}]}
//	{"@k": {"a": [{"interval_start": ..., "value": 7}]}}
func (d *Decoder) decodeTseries(line []byte, data span) (Event, error) {
	if data.start < 0 {
		return Event{}, &SyntaxError{Msg: "no data"}
	}
	p := parser{b: line[:data.end], i: data.start}
	if err := p.expect('{'); err != nil {
		return Event{}, err
	}
	name, err := p.member()
	if err != nil {
		return Event{}, err
	}
	end := len(p.b) - 1
	if end < p.i || p.b[end] != '}' {
		return Event{}, p.errorf("want '}'")
	}
	payload := parser{b: p.b[:end], i: p.i}
	payload.ws()
	schema := d.Schema[name]
	m := &Map{Name: name, Type: TypeTseries}
	if payload.peek() == '[' {
		points, err := payload.timePoints()
		if err != nil {
			return Event{}, err
		}
		if !payload.atEnd() {
			return Event{}, payload.errorf("want one map")
		}
		m.Entries = []Entry{{Value: points}}
	} else {
		payload.b = bytesTrimRight(payload.b)
		err := payload.keyed(len(schema.Keys), func(q *parser, key []any) error {
			points, err := q.timePoints()
			if err == nil {
				m.Entries = append(m.Entries, Entry{Key: key, Value: points})
			}
			return err
		})
		if err != nil {
			return Event{}, err
		}
	}
	typeKeys(m.Entries, schema.Keys)
	m.summarize()
	return Event{Kind: KindMap, Type: typeTseries, Text: m.Text(), Map: m}, nil
}

// bytesTrimRight drops the blanks at the end of b.
func bytesTrimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// timePoints reads [{"interval_start": "...", "value": V}, ...].
func (p *parser) timePoints() ([]TimePoint, error) {
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, p.errorf("want a list of intervals")
	}
	points := make([]TimePoint, 0, len(list))
	for _, item := range list {
		rec, ok := item.(Record)
		if !ok {
			return nil, p.errorf("want an interval")
		}
		var tp TimePoint
		var haveStart bool
		for _, f := range rec {
			switch f.Name {
			case "interval_start":
				tp.Start, haveStart = f.Value.(string)
			case "value":
				tp.Value = f.Value
			}
		}
		if !haveStart {
			return nil, p.errorf("want interval_start")
		}
		points = append(points, tp)
	}
	return points, nil
}

// writeTseries renders a tseries map as one line per interval:
//
//	@ts:
//	2026-11-30 21:03:10.000000000 5
//
// Text mode draws a chart instead, labelled with the time of day; JSON
// leaves out the intervals without a value, which the chart shows as "-".
func writeTseries(b *strings.Builder, m *Map) {
	for i, e := range m.Entries {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeKey(b, m.Name, e.Key)
		b.WriteString(":\n")
		points, _ := e.Value.([]TimePoint)
		for _, tp := range points {
			b.WriteString(tp.Start)
			b.WriteByte(' ')
			writeValue(b, tp.Value, false)
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
}

// UnmarshalJSON reads a map as MarshalJSON wrote it. Entries hold values
// as [Entry.UnmarshalJSON] reads them, which cannot know a tseries map's
// intervals from a list of records; the map's type says.
func (m *Map) UnmarshalJSON(b []byte) error {
	type plain Map // without this method
	if err := json.Unmarshal(b, (*plain)(m)); err != nil {
		return err
	}
	if m.Type != TypeTseries {
		return nil
	}
	for i := range m.Entries {
		list, ok := m.Entries[i].Value.([]any)
		if !ok {
			continue
		}
		points := make([]TimePoint, 0, len(list))
		for _, item := range list {
			rec, ok := item.(Record)
			if !ok {
				return fmt.Errorf("tseries %s: interval %v is not an object", m.Name, item)
			}
			var tp TimePoint
			for _, f := range rec {
				switch f.Name {
				case "interval_start":
					tp.Start, _ = f.Value.(string)
				case "value":
					tp.Value = f.Value
				}
			}
			points = append(points, tp)
		}
		m.Entries[i].Value = points
	}
	return nil
}
