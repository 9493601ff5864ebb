package mcpserver

import (
	"context"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// maxCompletions is the most values a completion returns (the spec's cap).
const maxCompletions = 100

// complete answers completion/complete. It completes the id of an
// execution resource with the ids of recent executions, newest first, and
// the name of an example with the examples' names; for anything else it
// has no suggestions, which is a valid answer.
func (s *Server) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	res := &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{}}}
	p := req.Params
	if p == nil || p.Ref == nil || p.Ref.Type != "ref/resource" {
		return res, nil
	}
	if p.Ref.URI == examplePrefix+"{name}" && p.Argument.Name == "name" {
		for _, ex := range docs.ExamplesFor(s.o.Binary.Version) {
			if strings.HasPrefix(ex.Name, p.Argument.Value) && len(res.Completion.Values) < maxCompletions {
				res.Completion.Values = append(res.Completion.Values, ex.Name)
			}
		}
		return res, nil
	}
	if p.Ref.URI != executionURIPrefix+"{id}" || p.Argument.Name != "id" {
		return res, nil
	}
	es, err := s.trace.List(ctx, principal(ctx), store.ExecutionFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if !strings.HasPrefix(e.ID, p.Argument.Value) {
			continue
		}
		if len(res.Completion.Values) == maxCompletions {
			res.Completion.HasMore = true
			break
		}
		res.Completion.Values = append(res.Completion.Values, e.ID)
	}
	return res, nil
}
