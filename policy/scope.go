package policy

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// Scope confines a run to one target. Exactly one field is set.
type Scope struct {
	PID    int    `json:"pid,omitempty"`
	Cgroup string `json:"cgroup,omitempty"` // a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice/nginx.service
	Comm   string `json:"comm,omitempty"`   // a command name as the kernel keeps it (at most 15 bytes)
	// Containers are container ids as a container runtime gives them (the
	// fleet gateway sends a pod's): the run is confined to their cgroups,
	// which ResolveContainers finds on this host.
	Containers []string `json:"containers,omitempty"`

	// cgroups are the containers' cgroup v2 directories, once resolved.
	cgroups []string
}

// ErrBadScope is returned for a target that cannot be used.
var ErrBadScope = errors.New("bad target")

// Validate checks that the scope names exactly one well-formed target.
func (s Scope) Validate() error {
	n := 0
	if s.PID != 0 {
		n++
		if s.PID < 1 {
			return fmt.Errorf("%w: pid %d: a process id is a positive number", ErrBadScope, s.PID)
		}
	}
	if s.Cgroup != "" {
		n++
		if !validCgroup(s.Cgroup) {
			return fmt.Errorf("%w: cgroup %q: give the absolute, clean path of a cgroup v2 directory under /sys/fs/cgroup", ErrBadScope, s.Cgroup)
		}
	}
	if s.Comm != "" {
		n++
		if !safeString(s.Comm) {
			return fmt.Errorf("%w: comm %q: a command name has no quotes, backslashes or control characters", ErrBadScope, s.Comm)
		}
		if len(s.Comm) > 15 {
			// TASK_COMM_LEN is 16 bytes with the terminating NUL: the
			// kernel keeps the first 15 bytes of a longer name.
			return fmt.Errorf("%w: comm %q has %d bytes, but the kernel keeps only the first 15 of a command name (TASK_COMM_LEN 16 with the NUL): target {\"comm\": %q}", ErrBadScope, s.Comm, len(s.Comm), s.Comm[:15])
		}
	}
	if len(s.Containers) > 0 {
		n++
		if err := validContainers(s.Containers); err != nil {
			return err
		}
		if len(s.cgroups) != len(s.Containers) {
			return fmt.Errorf("%w: the containers' cgroups were not resolved on this host", ErrBadScope)
		}
		for _, c := range s.cgroups {
			if !validCgroup(c) {
				return fmt.Errorf("%w: container cgroup %q is not a clean path under /sys/fs/cgroup", ErrBadScope, c)
			}
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: give exactly one of pid, cgroup, comm or containers", ErrBadScope)
	}
	return nil
}

func validCgroup(c string) bool {
	return strings.HasPrefix(c, "/sys/fs/cgroup") && path.Clean(c) == c && safeString(c)
}

func safeString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Predicate is the bpftrace expression that is true only in the target.
// cgroupid() resolves the path when the program is compiled; the builtin
// cgroup is the id of the current task's cgroup, so processes in child
// cgroups do not match.
func (s Scope) Predicate() string {
	switch {
	case s.PID != 0:
		return "pid == " + strconv.Itoa(s.PID)
	case s.Cgroup != "":
		return `cgroup == cgroupid("` + s.Cgroup + `")`
	case len(s.cgroups) > 0:
		parts := make([]string, len(s.cgroups))
		for i, c := range s.cgroups {
			parts[i] = `cgroup == cgroupid("` + c + `")`
		}
		return strings.Join(parts, " || ")
	default:
		return `comm == "` + s.Comm + `"`
	}
}

func (s Scope) String() string {
	switch {
	case s.PID != 0:
		return "pid " + strconv.Itoa(s.PID)
	case s.Cgroup != "":
		return "cgroup " + s.Cgroup
	case len(s.Containers) > 0:
		return "containers " + strings.Join(s.Containers, ", ")
	default:
		return "comm " + s.Comm
	}
}

// exempt reports whether a probe runs outside any process's context, so a
// target predicate would only stop it from firing: BEGIN, END and interval
// (which fires on whatever a CPU is running, and usually drives printing
// and exit()).
func exempt(p *lang.Probe) bool {
	for _, ap := range p.AttachPoints {
		switch ap.Canonical {
		case "BEGIN", "END", "interval":
		default:
			return false
		}
	}
	return true
}

// ApplyScope returns src with the scope's predicate added to every probe
// that runs in a process context: /P/ becomes /(P) && (S)/, and a probe
// without a predicate gets /S/. It parses the result again and checks that
// every such probe is guarded, so that a rewrite that went wrong is never
// run.
func ApplyScope(src string, prog *lang.Program, s Scope) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	pred := s.Predicate()
	out := injectPredicate(src, prog, pred, exempt)
	if err := verifyScoped(out, pred); err != nil {
		return "", fmt.Errorf("confine the program to %s: %w", s, err)
	}
	return out, nil
}

// verifyScoped parses a rewritten program and checks every non-exempt
// probe's predicate is the scope predicate or ends in "&& (scope)".
func verifyScoped(src, pred string) error {
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		return fmt.Errorf("the rewritten program does not parse: %w", err)
	}
	for _, p := range prog.Probes {
		if exempt(p) {
			continue
		}
		if p.Predicate == nil {
			return fmt.Errorf("probe at %s has no predicate after the rewrite", p.Pos())
		}
		text := lang.Extent{From: p.Predicate.Pos(), To: p.Predicate.End()}.Text(src)
		if text == pred {
			continue
		}
		b, ok := p.Predicate.(*lang.Binary)
		if !ok || b.Op != "&&" {
			return fmt.Errorf("probe at %s: predicate %q is not guarded by the target", p.Pos(), text)
		}
		right := lang.Extent{From: b.Y.Pos(), To: b.Y.End()}.Text(src)
		if right != "("+pred+")" {
			return fmt.Errorf("probe at %s: predicate %q does not end in the target's guard", p.Pos(), text)
		}
	}
	return nil
}

func (p *Policy) checkScope(s *Scope) []Violation {
	start := lang.Pos{Offset: 0, Line: 1, Column: 1}
	if s == nil {
		if p.RequireScope {
			return []Violation{{Rule: "scope.require", Pos: start, End: start,
				Message: "this server's policy only runs programs confined to a target",
				Hint:    "pass target: {pid: N}, {comm: \"name\"} or {cgroup: \"/sys/fs/cgroup/...\"}" + p.allowedTargets()}}
		}
		return nil
	}
	if err := s.Validate(); err != nil {
		return []Violation{{Rule: "scope.targets", Pos: start, End: start, Message: err.Error(),
			Hint: "give exactly one of pid, comm or cgroup"}}
	}
	bad := false
	switch {
	case s.Comm != "" && len(p.ScopeComms) > 0:
		bad = !slices.Contains(p.ScopeComms, s.Comm)
	case s.Cgroup != "" && len(p.ScopeCgroups) > 0:
		bad = matchAny(p.ScopeCgroups, s.Cgroup) == ""
	case len(s.cgroups) > 0 && len(p.ScopeCgroups) > 0:
		for _, c := range s.cgroups {
			bad = bad || matchAny(p.ScopeCgroups, c) == ""
		}
	case s.PID != 0 && (len(p.ScopeComms) > 0 || len(p.ScopeCgroups) > 0):
		// An administrator who listed the allowed services did not allow
		// arbitrary processes.
		bad = true
	}
	if bad {
		return []Violation{{Rule: "scope.targets", Pos: start, End: start,
			Message: fmt.Sprintf("%s is not a target this server's policy allows", s),
			Hint:    "use one of the allowed targets" + p.allowedTargets()}}
	}
	return nil
}

func (p *Policy) allowedTargets() string {
	var parts []string
	if len(p.ScopeComms) > 0 {
		parts = append(parts, "comm "+strings.Join(p.ScopeComms, ", "))
	}
	if len(p.ScopeCgroups) > 0 {
		parts = append(parts, "cgroup "+strings.Join(p.ScopeCgroups, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (allowed: " + strings.Join(parts, "; ") + ")"
}

// injectPredicate adds pred to every probe skip does not exempt: /P/
// becomes /(P) && (pred)/, and a probe without a predicate gets /pred/.
// Target scoping and self-exclusion share it; each verifies the result.
func injectPredicate(src string, prog *lang.Program, pred string, skip func(*lang.Probe) bool) string {
	type edit struct {
		at   int
		text string
	}
	var edits []edit
	for _, p := range prog.Probes {
		if skip(p) {
			continue
		}
		if p.Predicate != nil {
			edits = append(edits, edit{p.Predicate.Pos().Offset, "("}, edit{p.Predicate.End().Offset, ") && (" + pred + ")"})
			continue
		}
		last := p.AttachPoints[len(p.AttachPoints)-1]
		edits = append(edits, edit{last.End().Offset, " /" + pred + "/"})
	}
	// Apply from the end so that earlier offsets stay valid.
	slices.SortStableFunc(edits, func(a, b edit) int { return b.at - a.at })
	out := src
	for _, e := range edits {
		out = out[:e.at] + e.text + out[e.at:]
	}
	return out
}
