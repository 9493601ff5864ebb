package mcpserver

import (
	"encoding/json"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

// escapeAnswer is the last guard of output hygiene: whatever a tool or a
// resource answers, its text contents, the strings of its structured
// content and its error message reach the client with no character
// package untrusted escapes (newlines aside: the line structure of an
// answer is the server's own). Each source of traced text escapes it
// where it is read (output lines, maps, bpftrace's messages), so that the
// answer budgets count the escaped form; this catches what a source
// missed, such as a file name in an error, at the cost of a scan.
func escapeAnswer(res mcp.Result) {
	switch r := res.(type) {
	case *mcp.CallToolResult:
		if raw, ok := r.StructuredContent.(json.RawMessage); ok {
			if clean, changed := escapeJSONStrings(raw); changed {
				// The SDK's text copy of the structured content follows it.
				for _, c := range r.Content {
					if tc, ok := c.(*mcp.TextContent); ok && tc.Text == string(raw) {
						tc.Text = string(clean)
					}
				}
				r.StructuredContent = json.RawMessage(clean)
			}
		}
		for _, c := range r.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				tc.Text = untrusted.Text(tc.Text)
			}
		}
	case *mcp.ReadResourceResult:
		for _, c := range r.Contents {
			if c == nil {
				continue
			}
			if c.MIMEType == "application/json" {
				// Escapes written into JSON text as they are would read
				// back as the characters (\u202e is JSON's own escape):
				// escape the strings the JSON holds instead.
				if clean, changed := escapeJSONStrings([]byte(c.Text)); changed {
					c.Text = string(clean)
				}
			}
			c.Text = untrusted.Text(c.Text)
		}
	}
}

// escapeError escapes the message of an error answered as a JSON-RPC error.
func escapeError(err error) error {
	if we, ok := errors.AsType[*jsonrpc.Error](err); ok {
		if untrusted.Text(we.Message) == we.Message {
			return err
		}
		c := *we
		c.Message = untrusted.Text(we.Message)
		return &c
	}
	if msg := err.Error(); untrusted.Text(msg) != msg {
		return &escapedError{err}
	}
	return err
}

// escapedError is an error whose message is escaped.
type escapedError struct{ err error }

func (e *escapedError) Error() string { return untrusted.Text(e.err.Error()) }
func (e *escapedError) Unwrap() error { return e.err }

// escapeJSONStrings returns JSON text whose strings are escaped as
// [untrusted.Text] does, and whether anything changed. Only the strings
// that could hold an unsafe character (a \u, \r, \b or \f escape, a DEL,
// which JSON and encoding/json let stand unescaped, or a byte outside
// ASCII) are decoded; the rest is copied as it is, so that the order and
// spelling of the JSON are kept.
func escapeJSONStrings(raw []byte) ([]byte, bool) {
	var out []byte // nil until something changes
	last := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		start, suspect := i, false
		for i++; i < len(raw) && raw[i] != '"'; i++ {
			switch c := raw[i]; {
			case c == '\\':
				i++
				if i < len(raw) {
					switch raw[i] {
					case 'u', 'r', 'b', 'f':
						suspect = true
					}
				}
			case c < 0x20 || c >= 0x7f:
				suspect = true
			}
		}
		if !suspect || i >= len(raw) {
			continue
		}
		var s string
		if err := json.Unmarshal(raw[start:i+1], &s); err != nil {
			continue
		}
		clean := untrusted.Text(s)
		if clean == s {
			continue
		}
		enc, err := json.Marshal(clean)
		if err != nil {
			continue
		}
		out = append(out, raw[last:start]...)
		out = append(out, enc...)
		last = i + 1
	}
	if out == nil {
		return raw, false
	}
	return append(out, raw[last:]...), true
}
