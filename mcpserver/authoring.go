package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/host"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/runner"
	"github.com/bpftrace-mcp/bpftrace-mcp/trace"
	"github.com/bpftrace-mcp/bpftrace-mcp/validate"
)

type describeIn struct {
	Probe string `json:"probe" jsonschema:"one concrete probe, e.g. tracepoint:syscalls:sys_enter_openat, t:sched:sched_switch, uprobe:/bin/bash:readline, usdt:/usr/bin/python3:python:gc__start"`
}

type argOut struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Decl is the declaration as bpftrace -lv prints it.
	Decl string `json:"decl"`
}

type describeOut struct {
	Probe      string   `json:"probe"`
	Provider   string   `json:"provider"`
	Args       []argOut `json:"args" jsonschema:"the probe's arguments with their C types; for a tracepoint read them as args->NAME (args.NAME from bpftrace 0.19)"`
	Attachable bool     `json:"attachable" jsonschema:"whether it can attach on this host"`
	Reason     string   `json:"reason,omitempty" jsonschema:"why it cannot attach here, or a caveat"`
	Stability  string   `json:"stability" jsonschema:"stable (tracepoints are kernel ABI), unstable (kprobe/kfunc: kernel internals), binary-specific (uprobe/usdt)"`
	Example    string   `json:"example" jsonschema:"a one-line program using the probe"`
	Listing    string   `json:"listing" jsonschema:"the probe as bpftrace -lv prints it"`
}

type validateIn struct {
	Program string        `json:"program" jsonschema:"the bpftrace program to check"`
	Target  *policy.Scope `json:"target,omitempty" jsonschema:"the target exec_program would confine it to, so the policy's verdict on it is the same"`
}

type validateOut struct {
	Valid       bool                   `json:"valid"`
	Diagnostics []validate.Diagnostic  `json:"diagnostics" jsonschema:"errors, warnings and notes with line, column and a hint"`
	Probes      []validate.AttachPoint `json:"probes" jsonschema:"each attach point and the concrete probes it expands to"`
	ProbeCount  int                    `json:"probe_count" jsonschema:"concrete probes the program would attach"`
	Compiled    bool                   `json:"compiled" jsonschema:"whether bpftrace's own compiler also checked it (skipped when the fast checks found errors)"`
	Summary     string                 `json:"summary"`
}

type systemInfoOut struct {
	*host.Report
	Limits limitsOut `json:"limits"`
	// Database is where history and output are stored.
	Database string `json:"database,omitempty"`
	// DatabaseError says why history is not being stored, when it is not.
	DatabaseError string `json:"database_error,omitempty" jsonschema:"why history and output are not being stored (a full or read-only disk), when they are not"`
	// SelfExclusion says how traces are kept from observing the server.
	SelfExclusion string `json:"self_exclusion,omitempty" jsonschema:"how every trace is kept from observing the server and the bpftrace processes it runs for any client"`
}

type limitsOut struct {
	MaxConcurrent         int   `json:"max_concurrent"`
	DefaultTimeoutSeconds int   `json:"default_timeout_seconds"`
	MaxTimeoutSeconds     int   `json:"max_timeout_seconds"`
	MaxOutputBytes        int64 `json:"max_output_bytes_per_execution"`
	MaxProgramBytes       int   `json:"max_program_bytes"`
	MaxProbes             int   `json:"max_probes"`
	PageBytes             int   `json:"get_result_page_bytes"`
}

func (s *Server) addAuthoringTools() {
	addTool(s.mcp, &mcp.Tool{
		Name:  "describe_probe",
		Title: "Describe a probe",
		Description: "Describe one probe: its arguments with C types (what bpftrace -lv shows), whether it can attach on this host " +
			"and why not, how stable it is (tracepoints are a stable kernel ABI, kprobes are not), and a one-line example program.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.describeProbe)
	addTool(s.mcp, &mcp.Tool{
		Name:  "validate_program",
		Title: "Check a program without running it",
		Description: "Check a bpftrace program without attaching anything: syntax, probes that do not exist or cannot attach on this host, " +
			"fields a tracepoint does not have, unsafe builtins, syntax of a newer bpftrace, then bpftrace's own compiler for types. " +
			"Each diagnostic has line, column and a hint saying what to write instead; probes lists what each attach point expands to. " +
			"exec_program runs the same checks.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.validateProgram)
	addTool(s.mcp, &mcp.Tool{
		Name:  "system_info",
		Title: "What this host can trace",
		Description: "Report the bpftrace version and features, the kernel (release, BTF, lockdown, tracefs), which probe types " +
			"work on this host (detected, not assumed) and why the others do not, the privileges held, and the limits in force.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: boolPtr(false)},
	}, s.systemInfo)
}

func (s *Server) describeProbe(ctx context.Context, _ *mcp.CallToolRequest, in describeIn) (*mcp.CallToolResult, describeOut, error) {
	p, err := s.o.Catalog.Describe(ctx, strings.TrimSpace(in.Probe))
	if err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			msg := fmt.Sprintf("no probe %q on this host", in.Probe)
			if near := s.o.Catalog.Nearest(ctx, in.Probe, 5); len(near) > 0 {
				msg += "; did you mean " + strings.Join(escapeEach(near), ", ") + "?"
			} else {
				msg += "; find it with list_probes"
			}
			return nil, describeOut{}, errors.New(msg)
		}
		if errors.Is(err, catalog.ErrAmbiguous) {
			return nil, describeOut{}, fmt.Errorf("%w: describe_probe takes one concrete probe; list the matches with list_probes", err)
		}
		return nil, describeOut{}, err
	}
	out := describeOut{
		Probe: p.Name, Provider: p.Provider, Args: []argOut{}, Attachable: p.Attachable, Reason: p.Reason,
		Stability: string(p.Stability), Example: p.Example, Listing: p.Listing(),
	}
	for _, a := range p.Args {
		out.Args = append(out.Args, argOut{Name: a.Name, Type: a.Type, Decl: a.Decl})
	}
	return nil, out, nil
}

func (s *Server) validateProgram(ctx context.Context, req *mcp.CallToolRequest, in validateIn) (*mcp.CallToolResult, validateOut, error) {
	r, err := s.trace.Validate(ctx, principal(ctx), trace.Request{Program: in.Program, Target: in.Target, Client: clientName(req)})
	if err != nil {
		return nil, validateOut{}, err
	}
	out := validateOut{
		Valid: r.Valid(), Diagnostics: r.Diagnostics, Probes: r.AttachPoints, ProbeCount: r.ProbeCount, Compiled: r.Compiled,
	}
	if out.Valid {
		out.Summary = fmt.Sprintf("valid: it would attach %d probe(s); run it with exec_program", r.ProbeCount)
	} else {
		out.Summary = fmt.Sprintf("invalid: %d error(s); fix them and validate again", len(r.Errors()))
	}
	return textResult(out.text()), out, nil
}

// text renders the verdict for a model: the summary, each diagnostic with
// its position and hint, and what each attach point expands to.
func (out *validateOut) text() string {
	var b strings.Builder
	b.WriteString(out.Summary + "\n")
	for _, d := range out.Diagnostics {
		b.WriteString(d.String() + "\n")
	}
	for _, p := range out.Probes {
		fmt.Fprintf(&b, "%s (line %d): %d probe(s)", p.Raw, p.Line, p.Count)
		if !p.Available {
			b.WriteString(", not available here")
		}
		b.WriteString("\n")
	}
	return b.String()
}

type systemInfoIn struct {
	Detail string `json:"detail,omitempty" jsonschema:"\"full\" adds bpftrace --info and every check made"`
}

func (s *Server) systemInfo(ctx context.Context, _ *mcp.CallToolRequest, in systemInfoIn) (*mcp.CallToolResult, systemInfoOut, error) {
	if in.Detail != "" && in.Detail != "full" {
		return nil, systemInfoOut{}, fmt.Errorf("detail %q is not known: pass \"full\" or leave it out", in.Detail)
	}
	lim := s.o.Runner.Limits()
	report := host.Inspect(ctx, s.o.Binary, nil, s.o.Catalog)
	if in.Detail != "full" {
		report = summarizeReport(report)
	}
	out := systemInfoOut{
		Report: report,
		Limits: limitsOut{
			MaxConcurrent:         lim.MaxConcurrent,
			DefaultTimeoutSeconds: int(lim.DefaultTimeout.Seconds()),
			MaxTimeoutSeconds:     int(lim.MaxTimeout.Seconds()),
			MaxOutputBytes:        lim.MaxOutputBytes,
			MaxProgramBytes:       lim.MaxProgramBytes,
			MaxProbes:             s.o.Validator.MaxProbes(),
			PageBytes:             runner.DefaultPageBytes,
		},
		Database:      s.o.Database,
		SelfExclusion: s.o.SelfExclusion,
	}
	switch err := s.o.Runner.StoreError(); {
	case s.o.DatabaseError != nil:
		out.DatabaseError = s.o.DatabaseError.Error() + "; history is kept in memory until the server stops"
	case err != nil:
		out.DatabaseError = "the last write failed: " + err.Error()
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: systemInfoText(out, in.Detail == "full")}}}, out, nil
}

// summarizeReport keeps what an assistant needs from the host report:
// bpftrace --info and the checks that passed go (detail "full" has them),
// probe type failures are said once (in probe_types), and a reason shared
// by several probe types is written out for the first only.
func summarizeReport(r *host.Report) *host.Report {
	c := *r
	if r.Bpftrace != nil {
		b := *r.Bpftrace
		b.Info = nil
		c.Bpftrace = &b
	}
	c.Findings = []host.Finding{}
	for _, f := range r.Findings {
		if !f.OK && !strings.HasPrefix(f.Item, "probe type ") {
			c.Findings = append(c.Findings, f)
		}
	}
	c.ProbeTypes = make([]catalog.ProbeType, len(r.ProbeTypes))
	first := map[string]string{} // reason → the first type that gave it
	for i, t := range r.ProbeTypes {
		t.Aliases = nil
		if t.Reason != "" {
			if name, seen := first[t.Reason]; seen {
				t.Reason = "as " + name
			} else {
				first[t.Reason] = t.Name
			}
		}
		c.ProbeTypes[i] = t
	}
	return &c
}

// systemInfoText is system_info's text content: the facts in a few lines,
// for clients that show the model text rather than structured content.
func systemInfoText(out systemInfoOut, full bool) string {
	var b strings.Builder
	if bt := out.Bpftrace; bt != nil {
		fmt.Fprintf(&b, "bpftrace %s at %s", bt.Version, bt.Path)
	} else {
		b.WriteString("bpftrace: not found")
	}
	k := out.Kernel
	fmt.Fprintf(&b, "; kernel %s %s, BTF %v; privileges: %s\n", k.Release, k.Arch, k.BTF, out.Privileges.Mode)
	var here, not []string
	for _, t := range out.ProbeTypes {
		if t.Available {
			here = append(here, t.Name)
		} else {
			not = append(not, t.Name)
		}
	}
	fmt.Fprintf(&b, "probe types here: %s\n", strings.Join(here, ", "))
	if len(not) > 0 {
		fmt.Fprintf(&b, "not here: %s (probe_types says why)\n", strings.Join(not, ", "))
	}
	for _, f := range out.Findings {
		if !f.OK && !strings.HasPrefix(f.Item, "probe type ") {
			fmt.Fprintf(&b, "problem: %s: %s; %s\n", f.Item, f.Detail, f.Fix)
		}
	}
	l := out.Limits
	fmt.Fprintf(&b, "limits: %d runs at once, timeout %ds (at most %ds), %d probes, programs of %d bytes\n",
		l.MaxConcurrent, l.DefaultTimeoutSeconds, l.MaxTimeoutSeconds, l.MaxProbes, l.MaxProgramBytes)
	if out.DatabaseError != "" {
		b.WriteString("history: " + out.DatabaseError + "\n")
	}
	if !full {
		b.WriteString("detail \"full\" adds bpftrace --info and every check.\n")
	}
	return b.String()
}
