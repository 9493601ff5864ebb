package output

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MarshalJSON writes the key and the one payload the entry carries. Value is
// written even when it is zero, which `omitempty` would drop.
func (e Entry) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	if e.Key != nil {
		k, err := json.Marshal(e.Key)
		if err != nil {
			return nil, err
		}
		b = append(b, `"key":`...)
		b = append(b, k...)
		b = append(b, ',')
	}
	if e.Summary != nil {
		sum, err := json.Marshal(e.Summary)
		if err != nil {
			return nil, err
		}
		b = append(b, `"summary":`...)
		b = append(b, sum...)
		b = append(b, ',')
	}
	var (
		name    string
		payload any
	)
	switch {
	case e.Stats != nil:
		name, payload = "stats", e.Stats
	case e.Buckets != nil:
		name, payload = "buckets", e.Buckets
	default:
		name, payload = "value", e.Value
	}
	v, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", name, err)
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	b = append(b, v...)
	return append(b, '}'), nil
}

// UnmarshalJSON reads what [Entry.MarshalJSON] writes. Numbers in Value
// and Key become int64 (uint64 when too large, json.Number when not
// integers), objects [Record]s, arrays []any, but a [Stack] in a key. A
// [Syscall] key part comes back as its name. Keys written before they were
// typed (all strings) read as they were.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var raw struct {
		Key     []json.RawMessage `json:"key"`
		Value   json.RawMessage   `json:"value"`
		Stats   *Stats            `json:"stats"`
		Buckets []Bucket          `json:"buckets"`
		Summary *HistSummary      `json:"summary"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = Entry{Stats: raw.Stats, Buckets: raw.Buckets, Summary: raw.Summary}
	if raw.Key != nil {
		e.Key = make([]any, len(raw.Key))
		for i, k := range raw.Key {
			v, err := decodeValue(k)
			if err != nil {
				return fmt.Errorf("unmarshal key: %w", err)
			}
			if f, ok := v.([]any); ok { // stack frames
				st := Stack{Frames: make([]string, 0, len(f))}
				for _, fr := range f {
					s, _ := fr.(string)
					st.Frames = append(st.Frames, s)
				}
				v = st
			}
			e.Key[i] = v
		}
	}
	if len(raw.Value) == 0 {
		return nil
	}
	v, err := decodeValue(raw.Value)
	if err != nil {
		return fmt.Errorf("unmarshal value: %w", err)
	}
	e.Value = v
	return nil
}

// MarshalJSON writes the record as an object, fields in order.
func (r Record) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range r {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(f.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("marshal field %s: %w", f.Name, err)
		}
		b = append(b, k...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object into fields, keeping their order.
func (r *Record) UnmarshalJSON(b []byte) error {
	v, err := decodeValue(b)
	if err != nil {
		return err
	}
	rec, ok := v.(Record)
	if !ok {
		return fmt.Errorf("unmarshal record: got %T, want an object", v)
	}
	*r = rec
	return nil
}

// decodeValue decodes well-formed JSON (encoding/json has checked it) with
// the types [Entry.Value] promises.
func decodeValue(b []byte) (any, error) {
	p := parser{b: bytes.TrimSpace(b)}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if !p.atEnd() {
		return nil, p.errorf("trailing data")
	}
	return v, nil
}
