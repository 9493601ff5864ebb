package output

import "github.com/bpftrace-mcp/bpftrace-mcp/untrusted"

// Escape escapes, in place, the text a map carries from the traced system
// (string keys and values, stack frames, record fields), as package
// untrusted does for output lines: a typed map reaches the assistant as
// data too. A stack value keeps the newlines between its frames (they are
// bpftrace's own); any other string is kept on one line. Escaping is
// idempotent, so a map may be escaped by each reader that passes it on.
//
// The decoder does not escape: its maps and their [Map.Text] are what
// bpftrace printed. Whoever hands a map to an assistant escapes it.
func (m *Map) Escape() {
	m.Name = untrusted.Line(m.Name)
	frames := m.ValueType == ValueKstack || m.ValueType == ValueUstack || m.ValueType == ValueStack
	for i := range m.Entries {
		e := &m.Entries[i]
		for j, k := range e.Key {
			e.Key[j] = escapeValue(k, false)
		}
		e.Value = escapeValue(e.Value, frames)
	}
}

// escapeValue returns v with its strings escaped: Line, or Text when
// keepNewlines. Containers are escaped in place.
func escapeValue(v any, keepNewlines bool) any {
	switch v := v.(type) {
	case string:
		if keepNewlines {
			return untrusted.Text(v)
		}
		return untrusted.Line(v)
	case Stack:
		for i, fr := range v.Frames {
			v.Frames[i] = untrusted.Line(fr)
		}
		v.text = untrusted.Text(v.text)
		return v
	case Record:
		for i := range v {
			v[i].Name = untrusted.Line(v[i].Name)
			v[i].Value = escapeValue(v[i].Value, false)
		}
		return v
	case []any:
		for i := range v {
			v[i] = escapeValue(v[i], false)
		}
		return v
	case []TimePoint:
		for i := range v {
			v[i].Start = untrusted.Line(v[i].Start)
			v[i].Value = escapeValue(v[i].Value, false)
		}
		return v
	}
	return v // numbers; a Syscall's name comes from the server's own table
}
