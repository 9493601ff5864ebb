package output

import (
	"fmt"
	"strings"
)

// Record types of bpftrace 0.24 and later.
const (
	typeErrorf       = "errorf"        // errorf() (0.24)
	typeWarnf        = "warnf"         // warnf() (0.25)
	typeRuntimeError = "runtime_error" // a failure while the program runs (0.24)
	typeTseries      = "tseries"       // a map of tseries() (0.24)
)

// Severity says how bad a [Message] is.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Message is what a running program reports with a source location: an
// errorf() or warnf() call of the program, or a runtime error (a division
// by zero, say) that bpftrace 0.24 and later report as a record of its own.
// Text mode prints these on stderr, so an Event carrying one has no Text;
// [Message.String] renders it as text mode does, without the source
// excerpt text mode adds.
type Message struct {
	Severity Severity `json:"severity"`
	// Source is the record type: "errorf", "warnf" or "runtime_error".
	Source   string `json:"source"`
	Msg      string `json:"message"`
	Filename string `json:"filename,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
}

// String renders the message as text mode's first line for it, e.g.
// "stdin:1:9: ERROR: bad 42".
func (m *Message) String() string {
	var b strings.Builder
	if m.Filename != "" || m.Line > 0 {
		file := m.Filename
		if file == "" {
			file = "stdin"
		}
		fmt.Fprintf(&b, "%s:%d:", file, m.Line)
		if m.Column > 0 {
			fmt.Fprintf(&b, "%d:", m.Column)
		}
		b.WriteByte(' ')
	}
	if m.Severity == SeverityWarning {
		b.WriteString("WARNING: ")
	} else {
		b.WriteString("ERROR: ")
	}
	b.WriteString(m.Msg)
	return b.String()
}

// decodeLocated decodes the records of 0.24 and later whose fields sit at
// the top level, and reports false for any other type:
//
//	{"type": "errorf", "msg": "bad 42", "filename": "stdin", "line": 1, "col": 9}
func decodeLocated(typ string, line []byte, fields map[string]span) (Event, bool, error) {
	var m *Message
	switch typ {
	case typeErrorf:
		m = &Message{Severity: SeverityError, Source: typeErrorf}
	case typeWarnf:
		m = &Message{Severity: SeverityWarning, Source: typeWarnf}
	case typeRuntimeError:
		// Text mode prints runtime errors as warnings: the program runs
		// on, with a substitute value.
		m = &Message{Severity: SeverityWarning, Source: typeRuntimeError}
	default:
		return Event{}, false, nil
	}
	var err error
	if m.Msg, err = stringField(line, fields, "msg"); err != nil {
		return Event{}, true, err
	}
	if m.Filename, err = stringField(line, fields, "filename"); err != nil {
		return Event{}, true, err
	}
	if m.Line, m.Column, err = location(line, fields); err != nil {
		return Event{}, true, err
	}
	return Event{Kind: KindMessage, Type: typ, Message: m}, true, nil
}

// stringField reads a top-level string member; "" when it is absent.
func stringField(line []byte, fields map[string]span, name string) (string, error) {
	s, ok := fields[name]
	if !ok {
		return "", nil
	}
	p := parser{b: line[:s.end], i: s.start}
	return p.str()
}

// location reads the top-level "line" and "col" members.
func location(line []byte, fields map[string]span) (ln, col int, err error) {
	for _, f := range [...]struct {
		name string
		dst  *int
	}{{"line", &ln}, {"col", &col}, {"column", &col}} {
		s, ok := fields[f.name]
		if !ok {
			continue
		}
		p := parser{b: line[:s.end], i: s.start}
		n, err := p.integer()
		if err != nil {
			return 0, 0, err
		}
		*f.dst = int(n)
	}
	return ln, col, nil
}
