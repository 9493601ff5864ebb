package mcpserver

import (
	"context"
	"fmt"

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
// properties.
func conciseSchema[T any]() *jsonschema.Schema {
	full, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("output schema of %T: %v", *new(T), err)) // a programming error, found by any test
	}
	c := &jsonschema.Schema{Type: "object", Properties: make(map[string]*jsonschema.Schema, len(full.Properties))}
	for name := range full.Properties {
		c.Properties[name] = &jsonschema.Schema{}
	}
	return c
}
