package mcpserver

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/untrusted"
)

const (
	defaultProbeLimit = 200
	maxProbeLimit     = 5000
)

type listProbesIn struct {
	Filter string `json:"filter,omitempty" jsonschema:"bpftrace glob over full probe names, e.g. 'tracepoint:syscalls:*read*', '*sleep*', 'syscalls:*open*' (without a provider it matches anywhere in the name), 'uprobe:/bin/bash:read*' or 'usdt:/usr/bin/python3:*' (user-space probes need a binary). Empty lists every probe that needs no binary."`
	Limit  int    `json:"limit,omitempty" jsonschema:"most probes to return (1-5000, default 200)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor from the previous page, to continue the same filter"`
}

type listProbesOut struct {
	Probes     []string `json:"probes" jsonschema:"full probe names, ready to use as attach points"`
	Count      int      `json:"count" jsonschema:"all probes matching the filter, not just this page"`
	NextCursor string   `json:"next_cursor,omitempty" jsonschema:"pass as cursor to get the next page; absent on the last page"`
}

func (s *Server) addProbeTools() {
	addTool(s.mcp, &mcp.Tool{
		Name:  "list_probes",
		Title: "List probes",
		Description: "List the probes bpftrace can attach to on this host, from an in-memory index of the kernel's tracepoints " +
			"(and of a binary's symbols and USDT probes when you name one). Filters use bpftrace's glob syntax. " +
			"Results are paginated: count is the total, next_cursor continues. Use the names as attach points in exec_program.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.listProbes)
}

func (s *Server) listProbes(ctx context.Context, _ *mcp.CallToolRequest, in listProbesIn) (*mcp.CallToolResult, listProbesOut, error) {
	limit := in.Limit
	switch {
	case limit == 0:
		limit = defaultProbeLimit
	case limit < 0 || limit > maxProbeLimit:
		return nil, listProbesOut{}, fmt.Errorf("limit %d is out of range: pass 1 to %d (default %d), and page with cursor", limit, maxProbeLimit, defaultProbeLimit)
	}
	offset, err := decodeCursor(in.Cursor, in.Filter)
	if err != nil {
		return nil, listProbesOut{}, err
	}
	all, err := s.o.Catalog.List(ctx, in.Filter)
	if err != nil {
		// The catalog's errors say what to do (mount tracefs, name a binary).
		return nil, listProbesOut{}, err
	}
	out := listProbesOut{Probes: []string{}, Count: len(all)}
	if offset >= len(all) {
		return textResult(out.text(offset)), out, nil
	}
	// A page ends at limit, or earlier where the answer would pass the
	// byte budget; next_cursor then continues from there.
	end := min(offset+limit, len(all))
	for {
		// A uprobe's symbol is whatever bytes its binary holds: each name
		// stays on its line, escaped, and the budget counts it so.
		out.Probes = escapeEach(all[offset:end])
		out.NextCursor = ""
		if end < len(all) {
			out.NextCursor = encodeCursor(end, in.Filter)
		}
		text := out.text(offset)
		if end == offset+1 || jsonLen(out)+jsonLen(text)+ceilingEnvelope*3 <= s.trace.Budget().Default {
			return textResult(text), out, nil
		}
		end = offset + (end-offset)*9/10
	}
}

// text renders a page of probes for a model: a summary, then a name a line.
func (out *listProbesOut) text(offset int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "probes %d-%d of %d", offset, offset+len(out.Probes), out.Count)
	if out.NextCursor != "" {
		fmt.Fprintf(&b, " (more: list_probes with the same filter and cursor=%q)", out.NextCursor)
	}
	b.WriteString(":\n")
	for _, p := range out.Probes {
		b.WriteString(p + "\n")
	}
	return b.String()
}

// A cursor is the offset of the next page, bound to the filter it pages
// through so that a cursor reused with another filter is caught.
func encodeCursor(offset int, filter string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "\x00" + filter))
}

func decodeCursor(c, filter string) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		off, f, ok := strings.Cut(string(b), "\x00")
		n, err := strconv.Atoi(off)
		if ok && err == nil && n >= 0 {
			if f != filter {
				return 0, fmt.Errorf("cursor belongs to filter %q, not %q: pass the same filter, or no cursor to start over", f, filter)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("cursor %q is not one this server gave out: pass next_cursor from the previous page, or no cursor to start over", c)
}

// escapeEach returns names escaped by untrusted.Line, in a new slice when
// any changed (names is the catalog's own).
func escapeEach(names []string) []string {
	var out []string
	for i, n := range names {
		e := untrusted.Line(n)
		if e != n && out == nil {
			out = slices.Clone(names)
		}
		if out != nil {
			out[i] = e
		}
	}
	if out == nil {
		return names
	}
	return out
}
