package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// Exclusion is the server's own processes, which no program may observe:
// the server and every bpftrace it starts, for any client.
type Exclusion struct {
	// CgroupID is the id of the cgroup v2 the server and all its children
	// are in (see package isolate); 0 when there is none.
	CgroupID uint64
	// PID is the server's process id, excluded when there is no cgroup.
	PID int
}

// Predicate is the bpftrace expression true outside the server.
func (e Exclusion) Predicate() string {
	if e.CgroupID != 0 {
		return "cgroup != " + strconv.FormatUint(e.CgroupID, 10)
	}
	return "pid != " + strconv.Itoa(e.PID)
}

func (e Exclusion) valid() bool { return e.CgroupID != 0 || e.PID > 0 }

// taskReaders are the builtins and functions through which a probe that
// runs on a timer (interval) would observe whichever task the CPU was
// running.
var taskReaders = []string{
	"pid", "tid", "comm", "uid", "gid", "cgroup", "curtask", "ustack", "kstack", "func", "probe",
	"retval", "args", "username", "cpid",
	"str", "buf", "uptr", "kptr", "usym", "uaddr", "reg", "ustack", "kstack", "ksym", "path", "cgroup_path",
}

// readsTask reports whether a probe's body or predicate reads the current
// task's state.
func readsTask(p *lang.Probe) bool {
	found := false
	lang.Inspect(p, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Builtin:
			if slices.Contains(taskReaders, n.Name) || strings.HasPrefix(n.Name, "arg") || strings.HasPrefix(n.Name, "sarg") {
				found = true
			}
		case *lang.Call:
			if slices.Contains(taskReaders, n.Name) {
				found = true
			}
		}
		return !found
	})
	return found
}

// excluded reports whether a probe must carry the exclusion: every probe
// but BEGIN, END and iter, which run in bpftrace itself (before and after
// tracing, and when it reads the iterator), and interval probes that read
// nothing of the task they interrupt (a guard there would only skip the
// ticks that land while the server runs, and with them an exit() or a
// print).
func excluded(p *lang.Probe) bool {
	onlyTimers := true
	for _, ap := range p.AttachPoints {
		switch ap.Canonical {
		case "BEGIN", "END", "iter":
		case "interval":
		default:
			onlyTimers = false
		}
	}
	if !onlyTimers {
		return true
	}
	for _, ap := range p.AttachPoints {
		if ap.Canonical == "interval" {
			return readsTask(p)
		}
	}
	return false
}

// ApplyExclusion returns src with the exclusion added to every probe that
// runs in a process's context (see excluded): /P/ becomes /(P) && (E)/,
// a probe without a predicate gets /E/. It parses the result again and
// checks that every such probe's predicate is a conjunction with the
// exclusion as one of its terms, so that a rewrite that went wrong never
// runs. Apply it after [ApplyScope].
func ApplyExclusion(src string, prog *lang.Program, e Exclusion) (string, error) {
	if !e.valid() {
		return "", fmt.Errorf("exclude the server: no cgroup and no pid")
	}
	pred := e.Predicate()
	out := injectPredicate(src, prog, pred, func(p *lang.Probe) bool { return !excluded(p) })
	if err := VerifyExclusion(out, e); err != nil {
		return "", fmt.Errorf("exclude the server from the program: %w", err)
	}
	return out, nil
}

// VerifyExclusion parses a program and checks that every probe that must
// carry the exclusion has it as a term of its predicate's top-level
// conjunction.
func VerifyExclusion(src string, e Exclusion) error {
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		return fmt.Errorf("the rewritten program does not parse: %w", err)
	}
	pred := e.Predicate()
	for _, p := range prog.Probes {
		if !excluded(p) {
			continue
		}
		if p.Predicate == nil {
			return fmt.Errorf("probe at %s has no predicate after the rewrite", p.Pos())
		}
		if !slices.ContainsFunc(conjuncts(p.Predicate), func(x lang.Expr) bool {
			return lang.Extent{From: x.Pos(), To: x.End()}.Text(src) == pred
		}) {
			return fmt.Errorf("probe at %s: predicate %q does not exclude the server",
				p.Pos(), lang.Extent{From: p.Predicate.Pos(), To: p.Predicate.End()}.Text(src))
		}
	}
	return nil
}

// conjuncts flattens a predicate's top-level && (through parentheses) into
// its terms: each must hold for the probe to fire.
func conjuncts(x lang.Expr) []lang.Expr {
	switch x := x.(type) {
	case *lang.Paren:
		return conjuncts(x.X)
	case *lang.Binary:
		if x.Op == "&&" {
			return append(conjuncts(x.X), conjuncts(x.Y)...)
		}
	}
	return []lang.Expr{x}
}
