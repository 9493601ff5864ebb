package mcpserver

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
)

type listHelpersIn struct {
	Filter string `json:"filter,omitempty" jsonschema:"glob or substring over names, e.g. 'str*', 'hist', 'k*stack'; empty lists all"`
	Kind   string `json:"kind,omitempty" jsonschema:"only this kind: variable, function or map_function"`
}

type helperOut struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind" jsonschema:"variable, function or map_function"`
	Signature   string   `json:"signature"`
	Description string   `json:"description"`
	Unsafe      bool     `json:"unsafe" jsonschema:"true when it needs --unsafe or can harm the host (system, signal, override); refused by default"`
	Probes      []string `json:"probes,omitempty" jsonschema:"the probe types it works in, when limited"`
}

type listHelpersOut struct {
	Helpers         []helperOut `json:"helpers"`
	Count           int         `json:"count"`
	BpftraceVersion string      `json:"bpftrace_version" jsonschema:"the installed bpftrace release these helpers belong to"`
}

func (s *Server) addHelperTools() {
	addTool(s.mcp, &mcp.Tool{
		Name:  "list_helpers",
		Title: "List builtins and functions",
		Description: "List the builtin variables (pid, comm, nsecs, args...), functions (printf, str, kstack...) and map functions " +
			"(count, hist, lhist, sum, avg, stats...) of the bpftrace version installed here, each with its signature, " +
			"a one-line description, and whether it is unsafe. Use it to write programs in this version's dialect.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.listHelpers)
}

func (s *Server) listHelpers(_ context.Context, _ *mcp.CallToolRequest, in listHelpersIn) (*mcp.CallToolResult, listHelpersOut, error) {
	switch in.Kind {
	case "", "variable", "function", "map_function":
	default:
		return nil, listHelpersOut{}, fmt.Errorf("kind %q is not one of variable, function, map_function", in.Kind)
	}
	v := s.o.Binary.Version
	out := listHelpersOut{Helpers: []helperOut{}, BpftraceVersion: v.String()}
	for _, h := range docs.Helpers() {
		if !v.Within(h.Since, h.Until) || (in.Kind != "" && h.Kind != in.Kind) || !matchName(in.Filter, h.Name) {
			continue
		}
		out.Helpers = append(out.Helpers, helperOut{
			Name: h.Name, Kind: h.Kind, Signature: h.Signature, Description: h.Description,
			Unsafe: h.Unsafe, Probes: h.Probes,
		})
	}
	out.Count = len(out.Helpers)
	return nil, out, nil
}

// matchName matches a glob when the filter has glob characters and a
// case-insensitive substring otherwise.
func matchName(filter, name string) bool {
	if filter == "" {
		return true
	}
	if strings.ContainsAny(filter, "*?[") {
		ok, err := path.Match(filter, name)
		return err == nil && ok
	}
	return strings.Contains(strings.ToLower(name), strings.ToLower(filter))
}
