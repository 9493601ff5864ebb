package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
)

// Policy is the set of rules a program must satisfy to run. The zero value
// allows nothing useful; start from [Default].
type Policy struct {
	// Providers are the probe types allowed (canonical names: tracepoint,
	// uprobe, kprobe, BEGIN...). Empty allows every type.
	Providers []string
	// AllowProbes are globs a concrete probe must match (any of them), e.g.
	// "tracepoint:syscalls:*". Empty allows every probe. For uprobe,
	// uretprobe and usdt probes the binary is judged by its canonical path
	// (symlinks, /proc links, library names and relative paths resolved),
	// and a rule for uprobe covers uretprobe and the reverse.
	AllowProbes []string
	// DenyProbes are globs no concrete probe may match; they win over
	// AllowProbes. They judge binaries as AllowProbes does.
	DenyProbes []string
	// DenyCalls are the builtin functions refused. By default the ones that
	// need --unsafe (system, signal, override, write_user).
	DenyCalls []string
	// CatPaths are globs (path.Match, * does not cross /) that a cat() path
	// must match. A path given as a format ("/proc/%d/status") is matched
	// with each % conversion read as *. Empty refuses cat() altogether.
	CatPaths []string
	// AllowIncludes lets a plain #include line (outside any C definition)
	// through; every other preprocessor construct is refused whatever this
	// says (see [Policy.CheckSource]).
	AllowIncludes bool
	// AllowMacros lets object-like "#define NAME VALUE" lines through, with
	// VALUE one number, string or name: [Policy.PrepareSource] expands them
	// in Go, and the expansion is what every check judges and what bpftrace
	// runs. Every other preprocessor construct stays refused.
	AllowMacros bool
	// MaxAttachPoints is the most concrete probes a program may attach.
	MaxAttachPoints int
	// RequireScope refuses a run that is not confined to a target.
	RequireScope bool
	// ScopeComms and ScopeCgroups, when not empty, are the only targets a
	// run may be confined to (globs for cgroup paths).
	ScopeComms   []string
	ScopeCgroups []string
	// Sensitive is the class of programs that read secrets, refused or
	// left to a person to approve (see [DefaultSensitive]).
	Sensitive Sensitive
}

// UnsafeCalls are the builtins bpftrace refuses without --unsafe.
var UnsafeCalls = []string{"system", "signal", "override", "write_user"}

// Default is the policy in force without configuration.
func Default() Policy {
	return Policy{
		DenyCalls:       slices.Clone(UnsafeCalls),
		MaxAttachPoints: 100,
		Sensitive:       DefaultSensitive(),
	}
}

// Violation is one rule a program breaks.
type Violation struct {
	// Rule names the rule as the configuration file does, e.g.
	// "builtins.deny", "cat.paths", "preprocessor.include",
	// "probes.providers", "probes.allow", "probes.deny",
	// "probes.max_attach_points", "scope.require", "scope.targets", "parse".
	Rule     string
	Pos, End lang.Pos
	Message  string
	Hint     string
	// Approval, when set, is a plain summary of what the program would
	// read: the violation belongs to the sensitive class and the policy
	// lets a person approve it (see [NeedsApproval]).
	Approval string
}

// Input is what a policy decision is made on.
type Input struct {
	// Source is the program's text. When set, Check first runs the
	// preprocessor guard over it ([Policy.CheckSource]); callers that ran
	// it already pass it anyway, as a second lock.
	Source  string
	Program *lang.Program
	// ParseErr is the error the parser returned, if any: a program that
	// does not parse is refused whatever else it holds.
	ParseErr error
	// Expanded gives, for each attach point, the concrete probes it
	// resolves to (absent or empty when unknown).
	Expanded map[*lang.AttachPoint][]string
	// Scope is the target the run is confined to, or nil.
	Scope *Scope
	// Binaries gives, for each uprobe, uretprobe and usdt attach point, the
	// files its target resolves to (see [ResolveBinaries]). An attach point
	// missing here is refused: the policy judges files, not spellings.
	Binaries map[*lang.AttachPoint]Binaries
	// SensitiveFiles are the installed files of the sensitive class, by
	// identity (see [SensitiveFiles]): a binary that is one of them under
	// another name (a hard link) is sensitive too.
	SensitiveFiles map[FileID]string
}

// Check returns every violation of the policy, in source order.
func (p *Policy) Check(in Input) []Violation {
	var vs []Violation
	if in.Source != "" {
		if pre := p.CheckSource(in.Source); len(pre) > 0 {
			// Whatever was parsed is not what bpftrace would run.
			return pre
		}
	}
	if in.ParseErr != nil || in.Program == nil {
		v := Violation{Rule: "parse", Message: "the program does not parse, so it cannot be checked and is not run",
			Hint: "fix the syntax errors first"}
		if el, ok := in.ParseErr.(lang.ErrorList); ok && len(el) > 0 {
			v.Pos, v.End = el[0].Pos, el[0].End
		}
		vs = append(vs, v)
		if in.Program == nil {
			return vs
		}
	}
	vs = append(vs, p.checkDirectives(in.Program)...)
	vs = append(vs, p.checkCalls(in.Program)...)
	vs = append(vs, p.checkProbes(in)...)
	vs = append(vs, p.checkScope(in.Scope)...)
	vs = append(vs, p.checkAddresses(in.Program)...)
	vs = append(vs, p.checkSyscallBuffers(in)...)
	slices.SortStableFunc(vs, func(a, b Violation) int { return a.Pos.Offset - b.Pos.Offset })
	return vs
}

// NeedsUnsafe reports whether the program calls an unsafe builtin that the
// policy allows, so that bpftrace must run with --unsafe. bpftrace would
// then accept every unsafe builtin; the policy still refuses the others.
func (p *Policy) NeedsUnsafe(prog *lang.Program) bool {
	needs := false
	lang.Inspect(prog, func(n lang.Node) bool {
		if c, ok := n.(*lang.Call); ok && slices.Contains(UnsafeCalls, c.Name) && !slices.Contains(p.DenyCalls, c.Name) {
			needs = true
		}
		return !needs
	})
	return needs
}

// CheckSource runs the preprocessor guard over a program's text: it must
// come before anything else reads the program (the parser, the other
// rules, bpftrace), because clang's preprocessor would change the program
// after those have judged it. Every construct is refused, in any spelling,
// except a plain #include when AllowIncludes is set.
func (p *Policy) CheckSource(src string) []Violation {
	return violations(preproc.Check(src, preproc.Options{AllowInclude: p.AllowIncludes}))
}

// PrepareSource is the first step for every program: the preprocessor
// guard, and, when AllowMacros is set, the expansion of the macros it
// allows. It returns the text that the other checks must judge and that
// bpftrace must run (src itself when nothing was expanded), or the
// violations. reserved tells the words bpftrace would not replace by a
// macro (builtins, functions, keywords); a macro may not be named so.
func (p *Policy) PrepareSource(src string, reserved preproc.Reserved) (string, []Violation) {
	if !p.AllowMacros {
		return src, p.CheckSource(src)
	}
	out, fs := preproc.Expand(src, reserved, preproc.Options{AllowInclude: p.AllowIncludes})
	if len(fs) > 0 {
		return src, violations(fs)
	}
	return out, nil
}

func violations(fs []preproc.Finding) []Violation {
	vs := make([]Violation, 0, len(fs))
	for _, f := range fs {
		vs = append(vs, Violation{Rule: string(f.Rule),
			Pos:     lang.Pos{Offset: f.Offset, Line: f.Line, Column: f.Column},
			End:     lang.Pos{Offset: f.End, Line: f.EndLine, Column: f.EndColumn},
			Message: f.Message, Hint: f.Hint})
	}
	return vs
}

func (p *Policy) checkDirectives(prog *lang.Program) []Violation {
	var vs []Violation
	for _, d := range prog.Directives {
		if !d.IsInclude() || p.AllowIncludes {
			continue
		}
		inc, _ := d.IncludePath()
		vs = append(vs, Violation{Rule: "preprocessor.include", Pos: d.Pos(), End: d.End(),
			Message: fmt.Sprintf("#%s %s is refused: clang would read that file as root, and its errors can leak what it holds", d.Name, inc),
			Hint:    "declare the struct you need in the program itself (struct foo { int x; }), or use the tracepoint's args, which need no header"})
	}
	// An import (bpftrace 0.24 and later) makes bpftrace read a file of
	// bpftrace code, a C header or a directory of them: its probes, macros
	// and calls would run without any rule having seen them, and a file
	// any local user can write could carry them. Refused always, even when
	// includes are allowed.
	for _, im := range prog.Imports {
		vs = append(vs, Violation{Rule: "preprocessor.include", Pos: im.Pos(), End: im.End(),
			Message: fmt.Sprintf("import %q is refused: bpftrace would read that file as root and run what it holds, which this server's policy never sees", im.Name),
			Hint:    "copy what the program needs from that file into the program itself"})
	}
	return vs
}

func (p *Policy) checkCalls(prog *lang.Program) []Violation {
	var vs []Violation
	lang.Inspect(prog, func(n lang.Node) bool {
		c, ok := n.(*lang.Call)
		if !ok {
			return true
		}
		end := c.NameEnd
		switch {
		case slices.Contains(p.DenyCalls, c.Name):
			vs = append(vs, Violation{Rule: "builtins.deny", Pos: c.Pos(), End: end,
				Message: fmt.Sprintf("%s() is refused by this server's policy: %s", c.Name, callRisk(c.Name)),
				Hint:    callHint(c.Name)})
		case c.Name == "cat":
			if v, bad := p.checkCat(c); bad {
				vs = append(vs, v)
			}
		}
		return true
	})
	return vs
}

func callRisk(name string) string {
	switch name {
	case "system":
		return "it runs a shell command as root"
	case "signal":
		return "it sends signals to traced processes"
	case "override":
		return "it changes what kernel functions return"
	case "write_user":
		return "it writes into the memory of traced processes"
	}
	return "an administrator has denied it"
}

func callHint(name string) string {
	switch name {
	case "system", "signal":
		return "print what you need with printf() and act on it outside the trace"
	case "override", "write_user":
		return "observe values (retval, args) instead of changing them"
	}
	return "list_helpers shows the other builtins; ask the administrator if you need this one"
}

func (p *Policy) checkProbes(in Input) []Violation {
	var vs []Violation
	total := 0
	var widest *lang.AttachPoint
	most := -1
	for _, pr := range in.Program.Probes {
		for _, ap := range pr.AttachPoints {
			if len(p.Providers) > 0 && !slices.Contains(p.Providers, ap.Canonical) {
				vs = append(vs, Violation{Rule: "probes.providers", Pos: ap.Pos(), End: ap.End(),
					Message: fmt.Sprintf("%s probes are not allowed by this server's policy (allowed: %s)", orRaw(ap.Canonical, ap.Provider), strings.Join(p.Providers, ", ")),
					Hint:    "use an allowed probe type; list_probes shows the probes"})
				continue
			}
			names := in.Expanded[ap]
			if len(names) == 0 {
				names = []string{ap.Raw}
			}
			total += len(names)
			if len(names) > most {
				most, widest = len(names), ap
			}
			if hasBinary(ap) {
				// Rules judge the file, not its spelling.
				bs, known := in.Binaries[ap]
				judged, named := judgedNames(ap, names, len(in.Expanded[ap]) == 0, bs)
				if problem := binaryProblem(ap, bs, known, named); problem != "" {
					vs = append(vs, binaryViolation(ap, problem))
					continue
				}
				names = judged
				if v, bad := p.checkSensitiveBinary(ap, bs, in.SensitiveFiles); bad {
					vs = append(vs, v)
				}
			}
			for _, n := range names {
				if denied := matchAnyAlike(p.DenyProbes, n); denied != "" {
					vs = append(vs, Violation{Rule: "probes.deny", Pos: ap.Pos(), End: ap.End(),
						Message: fmt.Sprintf("%s is denied by this server's policy (rule %q)", n, denied),
						Hint:    "trace something else; the administrator has excluded these probes"})
					break
				}
				if len(p.AllowProbes) > 0 && matchAnyAlike(p.AllowProbes, n) == "" && !alwaysAllowed(n) {
					vs = append(vs, Violation{Rule: "probes.allow", Pos: ap.Pos(), End: ap.End(),
						Message: fmt.Sprintf("%s is not among the probes this server's policy allows (%s)", n, strings.Join(p.AllowProbes, ", ")),
						Hint:    "use a probe that matches the allow-list"})
					break
				}
			}
		}
	}
	if p.MaxAttachPoints > 0 && total > p.MaxAttachPoints && widest != nil {
		vs = append(vs, Violation{Rule: "probes.max_attach_points", Pos: widest.Pos(), End: widest.End(),
			Message: fmt.Sprintf("the program would attach %d probes, more than the %d this server's policy allows", total, p.MaxAttachPoints),
			Hint:    "narrow the wildcards, or use one broader tracepoint (tracepoint:raw_syscalls:sys_enter) with a predicate"})
	}
	return vs
}

// alwaysAllowed are the probes that only drive a program (start, end,
// timers): an allow-list of probes to trace does not have to name them.
func alwaysAllowed(name string) bool {
	return name == "BEGIN" || name == "END" || strings.HasPrefix(name, "interval:")
}

func orRaw(canonical, raw string) string {
	if canonical == "" {
		return raw
	}
	return canonical
}

// matchAny returns the first glob that matches name, or "".
func matchAny(globs []string, name string) string {
	for _, g := range globs {
		if globMatch(g, name) {
			return g
		}
	}
	return ""
}

// globMatch matches bpftrace-style probe globs, where * may span ':' and '/'
// (tracepoint:syscalls:* and uprobe:/usr/lib/*:malloc).
func globMatch(pattern, name string) bool {
	for {
		i := strings.IndexByte(pattern, '*')
		if i < 0 {
			return pattern == name
		}
		if !strings.HasPrefix(name, pattern[:i]) {
			return false
		}
		name, pattern = name[i:], pattern[i+1:]
		if pattern == "" {
			return true
		}
		for k := 0; k <= len(name); k++ {
			if globMatch(pattern, name[k:]) {
				return true
			}
		}
		return false
	}
}
