package mcpserver

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

func TestEscapeJSONStrings(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		changed  bool
	}{
		{`{"a":"plain -\u003e","n":1}`, `{"a":"plain -\u003e","n":1}`, false},
		{`{"a":"x\u001b[2J","b":["\u202e"]}`, `{"a":"x\\x1b[2J","b":["\\u202e"]}`, true},
		{"{\"a\":\"\u202e\u2028\",\"z\":\"keep\\n\"}", `{"a":"\\u202e\\u2028","z":"keep\n"}`, true},
		{`{"k\r":"\\u202e"}`, `{"k\\r":"\\u202e"}`, true},
		{`{"a":"caf` + "\u00e9" + `"}`, `{"a":"caf` + "\u00e9" + `"}`, false},
		{`{"a":"\ufffd"}`, `{"a":"\ufffd"}`, false},
		{`"unterminated \u001b`, `"unterminated \u001b`, false},
		// JSON lets DEL stand as it is, and encoding/json writes it so.
		{"{\"a\":\"x\x7fy\",\"b\":\"\x7f\"}", `{"a":"x\\x7fy","b":"\\x7f"}`, true},
	} {
		got, changed := escapeJSONStrings([]byte(tt.in))
		if string(got) != tt.want || changed != tt.changed {
			t.Errorf("escapeJSONStrings(%s) = %s, %v; want %s, %v", tt.in, got, changed, tt.want, tt.changed)
		}
		if changed && !json.Valid(got) {
			t.Errorf("escapeJSONStrings(%s) = %s: not JSON", tt.in, got)
		}
	}
}

// TestEscapeAnswer: the structured content, the SDK's text copy of it, a
// tool's own text and a resource's text all leave without unsafe
// characters, and the copy stays a copy.
func TestEscapeAnswer(t *testing.T) {
	raw := json.RawMessage(`{"output":["a\u001bb"],"key":"` + "\u202e" + `"}`)
	r := &mcp.CallToolResult{StructuredContent: raw, Content: []mcp.Content{&mcp.TextContent{Text: string(raw)}}}
	escapeAnswer(r)
	got := r.StructuredContent.(json.RawMessage)
	if string(got) != `{"output":["a\\x1bb"],"key":"\\u202e"}` || r.Content[0].(*mcp.TextContent).Text != string(got) {
		t.Errorf("structured %s, text %s", got, r.Content[0].(*mcp.TextContent).Text)
	}
	own := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "line one\nfile \x1b]0;x\x07\u2066"}}}
	escapeAnswer(own)
	if txt := own.Content[0].(*mcp.TextContent).Text; txt != `line one`+"\n"+`file \x1b]0;x\x07\u2066` {
		t.Errorf("text %q", txt)
	}
	res := &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: "x", Text: "a\u200bb"},
		{URI: "y", MIMEType: "application/json", Text: `{"output":["` + "\u202e" + `x\u001b"]}`},
	}}
	escapeAnswer(res)
	if res.Contents[0].Text != `a\u200bb` {
		t.Errorf("resource text %q", res.Contents[0].Text)
	}
	// JSON reads back escaped, not as the characters.
	var doc struct{ Output []string }
	if err := json.Unmarshal([]byte(res.Contents[1].Text), &doc); err != nil || len(doc.Output) != 1 || doc.Output[0] != `\u202ex\x1b` {
		t.Errorf("JSON resource %s reads back as %q (%v)", res.Contents[1].Text, doc.Output, err)
	}
}

func TestEscapeError(t *testing.T) {
	base := errors.New("not an ELF binary: /tmp/\x1b[2Jx")
	err := escapeError(base)
	if err.Error() != `not an ELF binary: /tmp/\x1b[2Jx` || !errors.Is(err, base) {
		t.Errorf("escapeError = %q", err)
	}
	we := escapeError(&jsonrpc.Error{Code: 1, Message: "bad \u202e"})
	if got, ok := errors.AsType[*jsonrpc.Error](we); !ok || got.Message != `bad \u202e` || got.Code != 1 {
		t.Errorf("jsonrpc error: %v", we)
	}
	if safe := errors.New("fine"); escapeError(safe) != safe {
		t.Error("a safe error was rewrapped")
	}
	if !untrusted.IsSafe(err.Error()) {
		t.Error("escaped error is not safe")
	}
}

func TestEscapeEachKeepsTheCatalogs(t *testing.T) {
	names := []string{"uprobe:/bin/x:ok", "uprobe:/bin/x:a\nb\x1b"}
	got := escapeEach(names)
	if got[0] != names[0] || got[1] != `uprobe:/bin/x:a\nb\x1b` || names[1] != "uprobe:/bin/x:a\nb\x1b" {
		t.Errorf("escapeEach = %q, names now %q", got, names)
	}
	if safe := names[:1]; &escapeEach(safe)[0] != &safe[0] {
		t.Error("safe names were copied")
	}
}

// FuzzEscapeJSONStrings: valid JSON stays valid JSON that decodes to the
// same shape, with every string escaped (newlines kept), and escaping
// again changes nothing.
func FuzzEscapeJSONStrings(f *testing.F) {
	for _, s := range []string{`{"a":"x\u001b"}`, `["\u202e",1,{"k\r":null}]`, `"plain"`, "{\"a\":\"\u0085\"}", `{"a":"\\u202e"}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		out, _ := escapeJSONStrings([]byte(s))
		if !json.Valid(out) {
			t.Fatalf("escapeJSONStrings(%s) = %s: not JSON", s, out)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		if bad := unsafeStrings(v); len(bad) > 0 {
			t.Fatalf("escapeJSONStrings(%s) = %s keeps %q", s, out, bad)
		}
		if again, changed := escapeJSONStrings(out); changed || string(again) != string(out) {
			t.Fatalf("escaping %s again gave %s", out, again)
		}
	})
}

// unsafeStrings returns the strings (keys and values) of a decoded JSON
// value that hold a character package untrusted escapes, newlines aside.
func unsafeStrings(v any) []string {
	var bad []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if untrusted.Text(v) != v {
				bad = append(bad, v)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				walk(k)
				walk(x)
			}
		}
	}
	walk(v)
	return bad
}
