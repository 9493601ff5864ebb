package mcpserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Discovery budgets: what every client reads before its first trace. Each
// is measured as the JSON of the result the client receives.
const (
	maxToolsListBytes  = 10 << 10
	maxSystemInfoBytes = 4 << 10
	maxResourcesBytes  = 4 << 10
)

func jsonSize(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestDiscoveryBudget(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	ctx := context.Background()

	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := jsonSize(t, tools); n > maxToolsListBytes {
		t.Errorf("tools/list is %d bytes, more than %d", n, maxToolsListBytes)
	}
	for _, tool := range tools.Tools {
		// Concise, but every top-level output field is still named.
		out, _ := json.Marshal(tool.OutputSchema)
		if !strings.Contains(string(out), `"properties"`) {
			t.Errorf("%s: output schema %s names no fields", tool.Name, out)
		}
		// Every property's schema is an object: the TypeScript SDK's
		// clients refuse a tools/list with a boolean schema (`true`) in it.
		if strings.Contains(string(out), ":true") || strings.Contains(string(out), ":false") {
			t.Errorf("%s: output schema %s has a boolean schema", tool.Name, out)
		}
		if tool.Name == "get_result" {
			for _, field := range []string{`"status"`, `"maps"`, `"output"`, `"next_offset"`} {
				if !strings.Contains(string(out), field) {
					t.Errorf("get_result's output schema lacks %s: %s", field, out)
				}
			}
			for _, meaning := range []string{"completed", "timeout (ran its full time", "interrupted"} {
				if !strings.Contains(tool.Description, meaning) {
					t.Errorf("get_result's description does not explain %q", meaning)
				}
			}
		}
	}

	res, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := jsonSize(t, res); n > maxResourcesBytes {
		t.Errorf("resources/list is %d bytes, more than %d", n, maxResourcesBytes)
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tm := range templates.ResourceTemplates {
		found = found || tm.URITemplate == examplePrefix+"{name}"
	}
	if !found {
		t.Errorf("no template for the examples: %+v", templates.ResourceTemplates)
	}
	ex, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: examplePrefix + "open-files"})
	if err != nil || !strings.Contains(ex.Contents[0].Text, "openat") {
		t.Errorf("example through the template: %v %+v", err, ex)
	}
	comp, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/resource", URI: examplePrefix + "{name}"},
		Argument: mcp.CompleteParamsArgument{Name: "name", Value: "open"}})
	if err != nil || len(comp.Completion.Values) == 0 || !strings.HasPrefix(comp.Completion.Values[0], "open") {
		t.Errorf("example names do not complete: %v %+v", err, comp)
	}

	def, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "system_info", Arguments: map[string]any{}})
	if err != nil || def.IsError {
		t.Fatalf("system_info: %v %+v", err, def)
	}
	if n := jsonSize(t, def); n > maxSystemInfoBytes {
		t.Errorf("system_info is %d bytes by default, more than %d", n, maxSystemInfoBytes)
	}
	full, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "system_info", Arguments: map[string]any{"detail": "full"}})
	if err != nil || full.IsError {
		t.Fatalf("system_info full: %v %+v", err, full)
	}
	var d, f struct {
		Bpftrace struct {
			Info map[string]string `json:"info"`
		} `json:"bpftrace"`
		Findings   []json.RawMessage `json:"findings"`
		ProbeTypes []struct {
			Name, Reason string
		} `json:"probe_types"`
	}
	remarshal(t, def.StructuredContent, &d)
	remarshal(t, full.StructuredContent, &f)
	if len(d.Bpftrace.Info) != 0 || len(f.Bpftrace.Info) == 0 || len(f.Findings) <= len(d.Findings) {
		t.Errorf("detail full adds nothing: default %d info, %d findings; full %d info, %d findings",
			len(d.Bpftrace.Info), len(d.Findings), len(f.Bpftrace.Info), len(f.Findings))
	}
	// One explanation per reason: where kprobes are missing, kretprobes
	// are missing for the same reason, written out once.
	seen := map[string]string{}
	for _, p := range d.ProbeTypes {
		if p.Reason == "" || strings.HasPrefix(p.Reason, "as ") {
			continue
		}
		if other, dup := seen[p.Reason]; dup {
			t.Errorf("%s and %s both explain %q", other, p.Name, p.Reason)
		}
		seen[p.Reason] = p.Name
	}
	text := def.Content[0].(*mcp.TextContent).Text
	if !strings.Contains(text, "probe types here: tracepoint") || !strings.Contains(text, "kprobe") {
		t.Errorf("system_info text: %s", text)
	}
}

func remarshal(t *testing.T, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}
