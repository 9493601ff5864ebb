package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
)

const (
	referenceURI   = "bpftrace://reference"
	examplesURI    = "bpftrace://examples"
	examplePrefix  = "bpftrace://examples/"
	toolsURI       = "bpftrace://tools"
	toolPrefix     = "bpftrace://tools/"
	maxToolProgram = 256 << 10
)

// toolDirs are where bpftrace installs its own example tools: Debian puts
// them in /usr/sbin, upstream in /usr/share/bpftrace/tools.
var toolDirs = []string{"/usr/share/bpftrace/tools", "/usr/sbin"}

// programIndexEntry describes one example program or installed tool.
type programIndexEntry struct {
	Name         string   `json:"name"`
	Title        string   `json:"title,omitempty"`
	Description  string   `json:"description,omitempty"`
	URI          string   `json:"uri"`
	ProbeTypes   []string `json:"probe_types,omitempty"`
	RunnableHere bool     `json:"runnable_here" jsonschema:"whether it passes validation on this host: its probe types work and its probes exist"`
	Why          string   `json:"why_not,omitempty" jsonschema:"the first problem validation found, when it is not runnable here"`
}

func (s *Server) addDocResources() {
	s.mcp.AddResource(&mcp.Resource{
		Name: "reference", Title: "bpftrace language reference", URI: referenceURI, MIMEType: "text/markdown",
		Description: "How to write bpftrace programs: probe types and attach point syntax, predicates, variables and maps, builtins, control flow, output, and the differences between bpftrace versions, written for the installed bpftrace.",
	}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return textResource(referenceURI, "text/markdown", docs.ReferenceFor(s.o.Binary.Version)), nil
	})
	s.mcp.AddResource(&mcp.Resource{
		Name: "examples", Title: "Example programs", URI: examplesURI, MIMEType: "application/json",
		Description: "The server's example programs, written for the installed bpftrace and each tagged with whether it runs on this host; read one at bpftrace://examples/{name}.",
	}, s.readExampleIndex)
	// One template rather than a resource per example: resources/list
	// stays short (every client reads it), and the index says what each
	// example is for.
	s.mcp.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "example", Title: "An example program", URITemplate: examplePrefix + "{name}", MIMEType: "text/plain",
		Description: "One example program with a header saying whether it runs on this host, e.g. bpftrace://examples/open-files; bpftrace://examples lists them.",
	}, s.readExample)
	s.mcp.AddResource(&mcp.Resource{
		Name: "tools", Title: "bpftrace tools installed on this host", URI: toolsURI, MIMEType: "application/json",
		Description: "The example tools installed with bpftrace on this host (" + strings.Join(toolDirs, ", ") + "), read at run time, each tagged with whether it runs here.",
	}, s.readToolIndex)
	s.mcp.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "tool", Title: "An installed bpftrace tool", URITemplate: toolPrefix + "{name}", MIMEType: "text/plain",
		Description: "The source of one tool installed with bpftrace, e.g. bpftrace://tools/opensnoop.",
	}, s.readTool)
}

func textResource(uri, mime, text string) *mcp.ReadResourceResult {
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: mime, Text: text}}}
}

// runnable validates a program without bpftrace: whether its probe types
// work and its probes exist here.
func (s *Server) runnable(ctx context.Context, program string) (bool, string) {
	r := s.o.Validator.Static(ctx, program, nil)
	if errs := r.Errors(); len(errs) > 0 {
		return false, errs[0].Message
	}
	return true, ""
}

func (s *Server) readExampleIndex(ctx context.Context, _ *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	var idx []programIndexEntry
	for _, ex := range docs.ExamplesFor(s.o.Binary.Version) {
		ok, why := s.runnable(ctx, ex.Program)
		idx = append(idx, programIndexEntry{Name: ex.Name, Title: ex.Title, Description: ex.Description,
			URI: examplePrefix + ex.Name, ProbeTypes: ex.ProbeTypes, RunnableHere: ok, Why: why})
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	return textResource(examplesURI, "application/json", string(b)), nil
}

func (s *Server) readExample(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	name := strings.TrimPrefix(req.Params.URI, examplePrefix)
	examples := docs.ExamplesFor(s.o.Binary.Version)
	i := slices.IndexFunc(examples, func(e docs.Example) bool { return e.Name == name })
	if i < 0 {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	ex := examples[i]
	ok, why := s.runnable(ctx, ex.Program)
	status := "runs on this host"
	if !ok {
		status = "does NOT run on this host: " + why
	}
	text := fmt.Sprintf("// %s\n// %s\n// %s\n%s", ex.Title, strings.ReplaceAll(ex.Description, "\n", "\n// "), status, ex.Program)
	return textResource(req.Params.URI, "text/plain", text), nil
}

// hostTools lists the .bt files installed with bpftrace, first directory
// winning when a name appears twice.
func hostTools() map[string]string {
	tools := map[string]string{}
	for _, d := range toolDirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.bt"))
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".bt")
			if _, seen := tools[name]; !seen {
				tools[name] = f
			}
		}
	}
	return tools
}

func readTool(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, maxToolProgram)
	n, _ := f.Read(b)
	return string(b[:n]), nil
}

func (s *Server) readToolIndex(ctx context.Context, _ *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	tools := hostTools()
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.Sort(names)
	idx := []programIndexEntry{}
	for _, n := range names {
		src, err := readTool(tools[n])
		if err != nil {
			continue
		}
		ok, why := s.runnable(ctx, src)
		idx = append(idx, programIndexEntry{Name: n, Description: tools[n], URI: toolPrefix + n, RunnableHere: ok, Why: why})
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	return textResource(toolsURI, "application/json", string(b)), nil
}

func (s *Server) readTool(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	name := strings.TrimPrefix(req.Params.URI, toolPrefix)
	path, ok := hostTools()[name]
	if !ok {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	src, err := readTool(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return textResource(req.Params.URI, "text/plain", src), nil
}

func (s *Server) addPrompts() {
	for _, g := range docs.Guides() {
		p := &mcp.Prompt{Name: g.Name, Title: g.Title, Description: g.Description}
		for _, a := range g.Args {
			p.Arguments = append(p.Arguments, &mcp.PromptArgument{Name: a.Name, Description: a.Description, Required: a.Required})
		}
		s.mcp.AddPrompt(p, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text, err := g.RenderFor(s.o.Binary.Version, req.Params.Arguments)
			if err != nil {
				return nil, err
			}
			return &mcp.GetPromptResult{
				Description: g.Description,
				Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
			}, nil
		})
	}
}
