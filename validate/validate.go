package validate

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/verdict"
)

// Severity says how much a diagnostic matters: an Error stops the program
// from running; a Warning or an Info does not.
type Severity string

// Severities of a diagnostic.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Code classifies a diagnostic, so that callers act on the kind of finding
// (an audit records a policy refusal as denied) without reading messages.
type Code string

// Codes of a diagnostic.
const (
	CodeSyntax           Code = "syntax"            // the program does not parse, or has no probes
	CodeUnsupported      Code = "unsupported"       // syntax this bpftrace does not accept
	CodeUnknownProvider  Code = "unknown-provider"  // a probe type bpftrace does not have
	CodeVersion          Code = "version"           // needs another bpftrace than this host's
	CodeProbeUnavailable Code = "probe-unavailable" // the probe type or probe cannot attach on this host
	CodeProbeNotFound    Code = "probe-not-found"   // no probe matches the attach point here
	CodeTooManyProbes    Code = "too-many-probes"   // more probes than bpftrace attaches
	CodeField            Code = "field"             // a tracepoint field that does not exist
	CodePolicy           Code = "policy"            // refused by this server's policy; Rule names the rule
	CodeBpftrace         Code = "bpftrace"          // reported by bpftrace's own compiler
	CodeTrap             Code = "trap"              // a program that runs, but not as meant
	CodeTarget           Code = "target"            // the target of the run does not exist
)

// Diagnostic is one finding about a program. Line and Column are 1-based;
// EndColumn is exclusive (the column just after the construct) on Line.
type Diagnostic struct {
	Severity  Severity `json:"severity"`
	Line      int      `json:"line,omitempty"`
	Column    int      `json:"column,omitempty"`
	EndColumn int      `json:"end_column,omitempty"`
	Message   string   `json:"message"`
	Hint      string   `json:"hint,omitempty"`
	Code      Code     `json:"code"`
	// Rule names the policy rule behind a CodePolicy finding.
	Rule string `json:"rule,omitempty"`
	// Approval, on a finding of the sensitive class when the policy lets a
	// person decide, says in plain words what the program would read.
	Approval string `json:"approval,omitempty"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", d.Line, d.Column)
	}
	b.WriteString(string(d.Severity) + ": " + d.Message)
	if d.Hint != "" {
		b.WriteString("\n  hint: " + d.Hint)
	}
	return b.String()
}

// AttachPoint is one attach point of the program and what it expands to.
type AttachPoint struct {
	Raw       string   `json:"attach_point"`
	Line      int      `json:"line"`
	Column    int      `json:"column"`
	Provider  string   `json:"provider"`
	Count     int      `json:"count" jsonschema:"concrete probes it attaches to"`
	Probes    []string `json:"probes,omitempty" jsonschema:"the concrete probes (at most 50 listed)"`
	Available bool     `json:"available" jsonschema:"whether it can attach on this host"`
}

// maxListed bounds the expanded probes listed per attach point.
const maxListed = 50

// Result is the outcome of a validation.
type Result struct {
	Diagnostics  []Diagnostic  `json:"diagnostics"`
	AttachPoints []AttachPoint `json:"attach_points"`
	// ProbeCount is the number of probes bpftrace would attach.
	ProbeCount int `json:"probe_count"`
	// Compiled reports whether bpftrace's own compiler checked the program
	// (it is skipped when the Go checks already found errors).
	Compiled bool `json:"compiled"`
	// Unsafe reports that the program uses an unsafe builtin the policy
	// allows, so bpftrace must run with --unsafe.
	Unsafe bool `json:"-"`
	// Source is the program bpftrace runs: the input, with the target's
	// predicate added when the run is confined to one.
	Source string `json:"-"`
	// Program is the parsed program (nil when nothing parsed).
	Program *lang.Program `json:"-"`
	// Maps describes the program's maps, for the output decoder.
	Maps output.Schema `json:"-"`
	// Binaries are the files the program's uprobe, uretprobe and usdt
	// attach points resolve to, as the policy judged them; Source names
	// them by these canonical paths. policy.VerifyBinaries checks, just
	// before a run starts, that they are still those files.
	Binaries map[*lang.AttachPoint]policy.Binaries `json:"-"`
	// Differential says how bpftrace's own parse of Source compared with
	// the Go view (DiffMatched, DiffMacroPass, DiffCached, DiffNoDirective, DiffUnavailable),
	// or "" when it was not compared; a difference is an error diagnostic.
	Differential string `json:"-"`

	parsed   string // the text Program was parsed from
	expanded map[*lang.AttachPoint][]string
}

// Valid reports whether the program has no errors.
func (r *Result) Valid() bool {
	return !slices.ContainsFunc(r.Diagnostics, func(d Diagnostic) bool { return d.Severity == Error })
}

// Errors returns the error diagnostics.
func (r *Result) Errors() []Diagnostic {
	var errs []Diagnostic
	for _, d := range r.Diagnostics {
		if d.Severity == Error {
			errs = append(errs, d)
		}
	}
	return errs
}

// PolicyRule returns the rule of the first policy refusal, and whether the
// policy refused the program at all. Other errors (syntax, a probe missing
// here) are not the policy's decision.
func (r *Result) PolicyRule() (rule string, denied bool) {
	for _, d := range r.Diagnostics {
		if d.Code == CodePolicy && d.Severity == Error {
			return d.Rule, true
		}
	}
	return "", false
}

// FirstError is the message of the first error, or "" when there is none.
func (r *Result) FirstError() string {
	for _, d := range r.Diagnostics {
		if d.Severity == Error {
			return d.Message
		}
	}
	return ""
}

func (r *Result) add(d Diagnostic) { r.Diagnostics = append(r.Diagnostics, d) }

// NeedsApproval reports whether the program is refused only for reading
// sensitive data, under a policy that lets a person approve it, and says
// in plain words what it would read, one line per finding.
func (r *Result) NeedsApproval() (summary []string, ok bool) {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil, false
	}
	for _, d := range errs {
		if d.Approval == "" {
			return nil, false
		}
		summary = append(summary, d.Approval)
	}
	return summary, true
}

// Approve records that who approved a program that [Result.NeedsApproval]:
// its sensitive findings become notes, and the program is valid.
func (r *Result) Approve(who string) {
	if _, ok := r.NeedsApproval(); !ok {
		return
	}
	for i, d := range r.Diagnostics {
		if d.Severity == Error && d.Approval != "" {
			r.Diagnostics[i].Severity = Info
			r.Diagnostics[i].Message = "approved by " + who + ": " + d.Message
		}
	}
}

// VerifyBinaries checks that the binaries the program probes are still the
// files the policy judged: call it just before the run starts.
func (r *Result) VerifyBinaries() error { return policy.VerifyBinaries(r.Binaries) }

func (r *Result) hasErrorAt(p lang.Pos) bool {
	return slices.ContainsFunc(r.Diagnostics, func(d Diagnostic) bool {
		return d.Severity == Error && d.Line == p.Line && d.Column == p.Column
	})
}

// Options configure a Validator.
type Options struct {
	Binary  *bpftrace.Binary
	Catalog *catalog.Catalog
	// Compiler runs bpftrace's compiler on a program without running it
	// (runner.Manager does). Nil skips that stage.
	Compiler Compiler
	// Policy decides what may run; nil means [policy.Default].
	Policy *policy.Policy
	// Exclude, when set, is the server's own processes: every probe that
	// runs in a process's context gets a predicate that excludes them, so
	// that no program observes the server or another client's bpftrace.
	Exclude *policy.Exclusion
	// CgroupRoot is where cgroup v2 is mounted, for container targets;
	// "" finds it (policy.CgroupRoot).
	CgroupRoot string
	// MaxProbes is the most probes bpftrace itself attaches (0: its
	// default limit, BPFTRACE_MAX_PROBES, of 512).
	MaxProbes int
	// Verdicts remembers bpftrace's verdicts on programs, so that a
	// program is compiled once for validate_program and exec_program.
	// Nil: a cache of [verdict.DefaultSize] of the Validator's own.
	Verdicts *verdict.Cache[*bpftrace.CheckResult]
}

// Compiler compiles a program with bpftrace without running it.
type Compiler interface {
	Check(ctx context.Context, program string, unsafe bool) (*bpftrace.CheckResult, error)
}

// Validator checks programs. It is safe for concurrent use.
type Validator struct {
	o            Options
	policyDigest string
	// agreed holds the programs whose bpftrace AST matched the Go view
	// (see Differential); only agreements are kept: a refusal is cheap to
	// repeat and rare.
	agreed    *verdict.Cache[bool]
	sensitive *sensitiveFiles
}

// sensitiveFiles caches the installed files of the sensitive class by
// identity, read again when older than a minute (a package install adds
// some).
type sensitiveFiles struct {
	mu    sync.Mutex
	at    time.Time
	key   string // the globs the files were found for
	files map[policy.FileID]string
}

func (s *sensitiveFiles) get(globs []string) map[policy.FileID]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.Join(globs, "\x00")
	if s.files == nil || s.key != key || time.Since(s.at) > time.Minute {
		s.files, s.at, s.key = policy.SensitiveFiles(policy.SensitiveDirs, globs), time.Now(), key
	}
	return s.files
}

// New returns a Validator.
func New(o Options) *Validator {
	if o.MaxProbes <= 0 {
		o.MaxProbes = 512
	}
	if o.Policy == nil {
		def := policy.Default()
		o.Policy = &def
	}
	if o.Verdicts == nil {
		o.Verdicts = verdict.New[*bpftrace.CheckResult](0)
	}
	return &Validator{o: o, policyDigest: o.Policy.Digest(), agreed: verdict.New[bool](0), sensitive: &sensitiveFiles{}}
}

// Static runs the checks that need no bpftrace process: parsing, attach
// points against the probe index and this host, builtins, fields, and the
// policy. scope, when not nil, confines the run to a target: the policy
// checks it, and Result.Source is the program with its predicate added.
func (v *Validator) Static(ctx context.Context, src string, scope *policy.Scope) *Result {
	r := &Result{Diagnostics: []Diagnostic{}, AttachPoints: []AttachPoint{}, expanded: map[*lang.AttachPoint][]string{}, Source: src}
	// A pod's containers are confined by their cgroups on this host, found
	// before anything else so that every check below sees a cgroup target.
	if scope != nil && len(scope.Containers) > 0 {
		root := v.o.CgroupRoot
		if root == "" {
			root = policy.CgroupRoot()
		}
		rs, err := policy.ResolveContainers(*scope, root)
		if err != nil {
			r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: "policy", Rule: "scope.targets", Message: err.Error(),
				Hint: "send a pod's target to the node where it runs (the fleet gateway does)"})
			return r
		}
		scope = &rs
	}
	// The preprocessor guard comes before everything, the parser included:
	// a program clang's preprocessor would rewrite is not the program the
	// other checks would judge, and it never reaches bpftrace. When the
	// policy allows macros, src is from here on their expansion: what is
	// judged and what runs.
	src, pre := v.o.Policy.PrepareSource(src, reservedWord)
	r.Source = src
	if len(pre) > 0 {
		for _, vi := range pre {
			r.add(Diagnostic{Severity: Error, Line: vi.Pos.Line, Column: vi.Pos.Column, EndColumn: endColumn(vi.Pos, vi.End),
				Message: vi.Message, Hint: vi.Hint, Code: CodePolicy, Rule: vi.Rule})
		}
		return r
	}
	prog, err := lang.Parse("stdin", src)
	r.Program, r.parsed = prog, src
	if el, ok := err.(lang.ErrorList); ok {
		for _, e := range el {
			hint := e.Hint
			if hint == "" {
				hint = syntaxHint(e.Msg)
			}
			r.add(Diagnostic{Severity: Error, Line: e.Pos.Line, Column: e.Pos.Column, EndColumn: endColumn(e.Pos, e.End),
				Message: e.Msg, Hint: hint, Code: CodeSyntax})
		}
	} else if err != nil {
		r.add(Diagnostic{Severity: Error, Message: err.Error(), Code: CodeSyntax})
	}
	if prog == nil {
		return r
	}
	if strings.TrimSpace(src) == "" || len(prog.Probes) == 0 && err == nil {
		r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Message: "the program has no probes",
			Hint: `write at least one probe, e.g. BEGIN { printf("hello\n"); exit(); }`, Code: CodeSyntax})
	}
	v.checkVersionSyntax(r, prog)
	if err != nil {
		// What follows would be guesses about a program that is not what
		// its author meant (an attach point swallowed a predicate, say);
		// the policy refuses a program that does not parse anyway.
		r.Maps = analyseMaps(prog)
		return r
	}
	if scope != nil && len(scope.Containers) > 0 && policy.HasBinaries(prog) {
		// A pod's binaries are the files in its containers' root
		// filesystems: every check below, the policy's included, sees
		// the program with the paths rewritten to them.
		if prog = v.inContainers(r, prog, *scope); prog == nil {
			return r
		}
		src = r.Source
	}
	v.checkAttachPoints(ctx, r, prog)
	v.checkCalls(r, prog)
	v.checkFields(ctx, r, prog)
	v.checkTraps(ctx, r, prog, src)
	checkPositionals(r, prog)
	v.checkPolicy(r, prog, scope)
	if scope != nil {
		checkTargetPID(r, scope.PID)
	}
	r.Maps = analyseMaps(prog)
	// A program a person may approve is prepared for the run all the same.
	if _, approvable := r.NeedsApproval(); !r.Valid() && !approvable {
		return r
	}
	// bpftrace runs the binaries the policy judged, by their canonical
	// paths, rather than resolving what was written again.
	canon, err := policy.CanonicalizeBinaries(src, prog, r.Binaries)
	if err != nil {
		r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodePolicy, Rule: policy.RuleBinary, Message: err.Error(),
			Hint: "name each binary by its real path (readlink -f shows it)"})
		return r
	}
	r.Source = canon
	if scope != nil {
		cprog, err := lang.Parse("stdin", canon)
		if err != nil {
			r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodePolicy, Rule: policy.RuleBinary, Message: err.Error()})
			return r
		}
		scoped, err := policy.ApplyScope(canon, cprog, *scope)
		if err != nil {
			r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodePolicy, Rule: "scope.targets", Message: err.Error(),
				Hint: "give exactly one of pid, comm or cgroup"})
		} else {
			r.Source = scoped
		}
	}
	if e := v.o.Exclude; e != nil {
		sprog, err := lang.Parse("stdin", r.Source)
		var excl string
		if err == nil {
			excl, err = policy.ApplyExclusion(r.Source, sprog, *e)
		}
		if err == nil {
			r.Source = excl
		} else {
			r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodePolicy, Rule: policy.RuleSelf, Message: err.Error(),
				Hint: "simplify the probes' predicates; the server must add its own exclusion to each of them"})
		}
	}
	return r
}

// inContainers rewrites the binaries of uprobe, uretprobe and usdt attach
// points to their paths through the scope's containers' roots, and returns
// the program parsed again; on a refusal it adds the diagnostic and
// returns nil. Diagnostics of the checks that follow are positioned in the
// rewritten program (r.Source), which is what runs.
func (v *Validator) inContainers(r *Result, prog *lang.Program, scope policy.Scope) *lang.Program {
	refuse := func(err error) *lang.Program {
		r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodePolicy, Rule: policy.RuleBinary, Message: err.Error(),
			Hint: "name the binary by its absolute path inside the pod's containers, e.g. uprobe:/usr/bin/bash:readline"})
		return nil
	}
	roots, err := scope.ContainerRoots()
	if err != nil {
		return refuse(err)
	}
	src, err := policy.InContainers(r.Source, prog, roots)
	if err != nil {
		return refuse(err)
	}
	rprog, err := lang.Parse("stdin", src)
	if err != nil {
		return refuse(fmt.Errorf("the program with the containers' paths does not parse: %w", err))
	}
	r.Source, r.Program, r.parsed = src, rprog, src
	return rprog
}

// checkPolicy adds the policy's verdict.
func (v *Validator) checkPolicy(r *Result, prog *lang.Program, scope *policy.Scope) {
	var resolve policy.TargetResolver
	if v.o.Catalog != nil {
		resolve = v.o.Catalog.ResolveTarget
	}
	// bpftrace resolves a relative path against its working directory,
	// which is the server's.
	base, _ := os.Getwd()
	r.Binaries = policy.ResolveBinaries(prog, resolve, base)
	var known map[policy.FileID]string
	if len(r.Binaries) > 0 {
		known = v.sensitive.get(v.o.Policy.Sensitive.Binaries)
	}
	for _, vi := range v.o.Policy.Check(policy.Input{Source: r.Source, Program: prog, Expanded: r.expanded, Scope: scope, Binaries: r.Binaries, SensitiveFiles: known}) {
		if vi.Rule == policy.RuleBinary && r.hasErrorAt(vi.Pos) {
			continue // the attach point is already refused: no probe matches it
		}
		r.add(Diagnostic{Severity: Error, Line: vi.Pos.Line, Column: vi.Pos.Column, EndColumn: endColumn(vi.Pos, vi.End),
			Message: vi.Message, Hint: vi.Hint, Code: CodePolicy, Rule: vi.Rule, Approval: vi.Approval})
	}
	r.Unsafe = v.o.Policy.NeedsUnsafe(prog)
}

// Policy returns the policy in force.
func (v *Validator) Policy() *policy.Policy { return v.o.Policy }

// Full runs [Validator.Static] and then, when it found no errors,
// bpftrace's compiler, whose diagnostics are added with hints. A verdict
// bpftrace gave before on the same program (see package verdict) is reused.
func (v *Validator) Full(ctx context.Context, src string, scope *policy.Scope) (*Result, error) {
	r := v.Static(ctx, src, scope)
	if !r.Valid() || v.o.Compiler == nil {
		return r, nil
	}
	key := v.verdictKey(r)
	res, ok := v.o.Verdicts.Get(key)
	if !ok {
		var err error
		if res, err = v.o.Compiler.Check(ctx, r.Source, r.Unsafe); err != nil {
			return nil, fmt.Errorf("compile with bpftrace: %w", err)
		}
		v.remember(key, res)
	}
	r.Compiled = true
	v.addCompilerDiagnostics(ctx, r, res)
	// Before 0.22 the check printed bpftrace's own AST: compare it now, for
	// free, and remember an agreement so that exec_program does not ask
	// bpftrace again.
	if r.Valid() && res.AST != nil && needsDifferential(r.Source) {
		v.compareAST(r, res.AST, key)
	}
	if err := v.Differential(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// verdictKey names the inputs of bpftrace's verdict on r's program.
func (v *Validator) verdictKey(r *Result) verdict.Key {
	var bin string
	if v.o.Binary != nil {
		bin = v.o.Binary.Path + " " + v.o.Binary.Version.String()
	}
	return verdict.NewKey(r.Source, r.Unsafe, bin, v.policyDigest)
}

// remember keeps bpftrace's verdict on a program, unless bpftrace was
// killed from outside: that says nothing about the program.
func (v *Validator) remember(k verdict.Key, res *bpftrace.CheckResult) {
	if !res.Status.Sent() {
		v.o.Verdicts.Put(k, res)
	}
}

// KnownRefusal adds, for a program that passed [Validator.Static],
// bpftrace's refusal of it when bpftrace refused it before (to
// validate_program, or at the start of a run), and reports whether it did:
// such a program need not be started to be refused again.
func (v *Validator) KnownRefusal(ctx context.Context, r *Result) bool {
	res, ok := v.o.Verdicts.Get(v.verdictKey(r))
	if !ok || res.OK() {
		return false
	}
	r.Compiled = true
	v.addCompilerDiagnostics(ctx, r, res)
	return true
}

func endColumn(from, to lang.Pos) int {
	if to.Line == from.Line && to.Column > from.Column {
		return to.Column
	}
	return 0
}

func at(n lang.Node) (line, col, end int) {
	p, e := n.Pos(), n.End()
	return p.Line, p.Column, endColumn(p, e)
}

// MaxProbes is the most probes a program may attach.
func (v *Validator) MaxProbes() int { return v.o.MaxProbes }

// AddCompilerDiagnostics adds what bpftrace's compiler reported about a
// program (a run refused at start: the run's own compile is the check) to
// r, with hints, and remembers the verdict.
func (v *Validator) AddCompilerDiagnostics(ctx context.Context, r *Result, res *bpftrace.CheckResult) {
	v.remember(v.verdictKey(r), res)
	r.Compiled = true
	v.addCompilerDiagnostics(ctx, r, res)
}
