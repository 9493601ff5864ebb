package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ceilingEnvelope is what the JSON-RPC frame adds around a result.
const ceilingEnvelope = 64

// capAnswers is the last guard of output hygiene (see escapeAnswer) and of
// the answer ceiling. The tools that can
// answer at length fit their answers to the budget themselves (get_result,
// exec_program, the execution resource); this replaces any other tool
// result or resource that would still be larger with an error that says
// how to ask for less, so that no answer ever exceeds the ceiling.
func (s *Server) capAnswers(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil {
			return res, escapeError(err)
		}
		if res == nil {
			return res, err
		}
		escapeAnswer(res)
		ceiling := s.ceiling
		switch r := res.(type) {
		case *mcp.CallToolResult:
			unescapeText(r)
			if n := jsonLen(r) + ceilingEnvelope; n > ceiling {
				name := ""
				if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
					name = p.Name
				}
				s.log.Warn("answer over the ceiling replaced by an error", "tool", name, "bytes", n, "ceiling", ceiling)
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(
					"The answer of %s would be %d bytes, more than the %d this server sends in one answer. "+
						"Ask for less: a smaller limit, a narrower glob or filter, or one page at a time.", name, n, ceiling)}}}, nil
			}
		case *mcp.ReadResourceResult:
			if n := jsonLen(r) + ceilingEnvelope; n > ceiling {
				s.log.Warn("resource over the ceiling refused", "bytes", n, "ceiling", ceiling)
				return nil, fmt.Errorf("the resource is %d bytes, more than the %d this server sends in one answer; read the execution with get_result, a page at a time", n, ceiling)
			}
		}
		return res, nil
	}
}

// unescapeText undoes Go's HTML escaping in a text content that is JSON
// (the SDK's rendering of a tool's structured content, for the tools that
// render no text of their own): "args->filename" reads as itself, not as
// "args-\u003efilename".
func unescapeText(r *mcp.CallToolResult) {
	raw, ok := r.StructuredContent.(json.RawMessage)
	if !ok || len(r.Content) != 1 {
		return
	}
	// Only the SDK's copy of the structured content: a text of the tool's
	// own is data as it is.
	if tc, ok := r.Content[0].(*mcp.TextContent); ok && tc.Text == string(raw) && strings.Contains(tc.Text, `\u00`) {
		tc.Text = unescapeHTML(tc.Text)
	}
}

// unescapeHTML replaces the escapes encoding/json writes for <, > and &
// in JSON text with the characters. Escapes are read whole, so that an
// escaped backslash followed by "u003e" is left as it is.
func unescapeHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == 'u' && i+6 <= len(s) {
			switch s[i+2 : i+6] {
			case "003c":
				b.WriteByte('<')
				i += 5
				continue
			case "003e":
				b.WriteByte('>')
				i += 5
				continue
			case "0026":
				b.WriteByte('&')
				i += 5
				continue
			}
		}
		b.WriteString(s[i : i+2])
		i++
	}
	return b.String()
}
