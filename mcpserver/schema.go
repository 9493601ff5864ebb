package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addTool adds a tool whose output schema is concise: the names of the
// top-level fields of Out, nothing nested, no types or descriptions. Every
// client reads tools/list before its first call, and full output schemas
// were most of it (13.7 of 22 KB); what the fields mean is said once, in
// the tool's description and the field names. Structured output is still
// validated against this schema.
func addTool[In, Out any](s *mcp.Server, t *mcp.Tool, h func(context.Context, *mcp.CallToolRequest, In) (*mcp.CallToolResult, Out, error)) {
	t.OutputSchema = conciseSchema[Out]()
	mcp.AddTool(s, t, h)
}

// conciseSchema is the schema of T cut to the names of its top-level
// properties, each with the empty schema {}. It is written as JSON by hand:
// jsonschema-go writes an empty schema as `true`, which is valid JSON Schema
// but which the TypeScript SDK's clients refuse in tools/list (they want an
// object for every property), and then see no tool at all.
func conciseSchema[T any]() json.RawMessage {
	full, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("output schema of %T: %v", *new(T), err)) // a programming error, found by any test
	}
	names := slices.Sorted(maps.Keys(full.Properties))
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(name)
		b.Write(n)
		b.WriteString(":{}")
	}
	b.WriteString("}}")
	return json.RawMessage(b.String())
}
