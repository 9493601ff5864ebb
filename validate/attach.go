package validate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// checkAttachPoints resolves every attach point against the probe index and
// this host: unknown providers (bpftrace 0.17 aborts with SIGABRT on one),
// providers of a newer bpftrace, probe types that cannot attach here,
// probes that do not exist (0.17 silently skips a missing uprobe), and the
// total count against bpftrace's limit.
func (v *Validator) checkAttachPoints(ctx context.Context, r *Result, prog *lang.Program) {
	types := map[string]catalog.ProbeType{}
	if v.o.Catalog != nil {
		for _, t := range v.o.Catalog.ProbeTypes(ctx) {
			types[t.Name] = t
		}
	}
	for _, p := range prog.Probes {
		for _, ap := range p.AttachPoints {
			info := AttachPoint{Raw: ap.Raw, Line: ap.Pos().Line, Column: ap.Pos().Column, Provider: ap.Canonical}
			if d, ok := v.checkProvider(ap, types); !ok {
				r.add(d)
				r.AttachPoints = append(r.AttachPoints, info)
				continue
			}
			names, d := v.expand(ctx, ap)
			if d != nil {
				r.add(*d)
			}
			r.expanded[ap] = names
			info.Count = len(names)
			info.Available = d == nil || d.Severity != Error
			info.Probes = names[:min(len(names), maxListed)]
			r.ProbeCount += len(names)
			r.AttachPoints = append(r.AttachPoints, info)
		}
	}
	// Point at the attach point that expands the most.
	var widest AttachPoint
	for _, a := range r.AttachPoints {
		if a.Count > widest.Count {
			widest = a
		}
	}
	// bpftrace's own limit matters only when the policy allows more.
	if pl := v.o.Policy.MaxAttachPoints; r.ProbeCount > v.o.MaxProbes && (pl <= 0 || pl > v.o.MaxProbes) {
		r.add(Diagnostic{Severity: Error, Line: widest.Line, Column: widest.Column, EndColumn: widest.Column + len(widest.Raw), Code: CodeTooManyProbes,
			Message: fmt.Sprintf("the program would attach %d probes, more than the %d allowed", r.ProbeCount, v.o.MaxProbes),
			Hint:    "narrow the wildcards (tracepoint:syscalls:sys_enter_read* rather than tracepoint:syscalls:*), or use tracepoint:raw_syscalls:sys_enter with a predicate on args->id"})
	} else if tp := countTracepoints(r); tp > 100 && r.ProbeCount <= v.o.MaxProbes {
		r.add(Diagnostic{Severity: Warning, Line: widest.Line, Column: widest.Column, EndColumn: widest.Column + len(widest.Raw), Code: CodeTooManyProbes,
			Message: fmt.Sprintf("the program attaches %d tracepoints; stopping it will take about %d seconds (each detaches in ~50 ms)", tp, tp/20+1),
			Hint:    "a single tracepoint:raw_syscalls:sys_enter with a predicate is cheaper than many syscall tracepoints"})
	}
}

func countTracepoints(r *Result) int {
	n := 0
	for _, a := range r.AttachPoints {
		if a.Provider == "tracepoint" {
			n += a.Count
		}
	}
	return n
}

// checkProvider reports whether the attach point's probe type exists in
// this bpftrace and works on this host.
func (v *Validator) checkProvider(ap *lang.AttachPoint, types map[string]catalog.ProbeType) (Diagnostic, bool) {
	l, c, e := at(ap)
	d := Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e}
	prov := ap.Canonical
	if prov == "" {
		d.Code = CodeUnknownProvider
		d.Message = fmt.Sprintf("unknown probe type %q", ap.Provider)
		d.Hint = "bpftrace 0.17 crashes (SIGABRT) on an unknown probe type. Valid types: " + providerList()
		if near := nearestProvider(ap.Provider); near != "" {
			d.Hint = fmt.Sprintf("did you mean %q? ", near) + d.Hint
		} else if strings.Contains(ap.Raw, ":") && len(ap.Parts) > 0 {
			// syscalls:sys_enter_openat: a tracepoint without its provider.
			d.Hint = fmt.Sprintf("if %q is a tracepoint category, write tracepoint:%s. ", ap.Provider, ap.Raw) + d.Hint
		}
		return d, false
	}
	if v.o.Binary != nil {
		switch {
		case ap.Provider == "fentry" || ap.Provider == "fexit":
			if ok, since := v.o.Binary.Version.Supports(version.FentryNames); !ok {
				d.Code = CodeVersion
				d.Message = fmt.Sprintf("%s needs bpftrace %s or newer; this host has %s, which calls it %s", ap.Provider, since, v.o.Binary.Version, prov)
				d.Hint = "write " + prov + ": instead"
				if t, ok := types[prov]; ok && !t.Available {
					d.Hint = prov + " does not work on this host either (" + t.Reason + "); use a tracepoint (list_probes) instead"
				}
				return d, false
			}
		case prov == "rawtracepoint":
			if ok, since := v.o.Binary.Version.Supports(version.RawTracepoint); !ok {
				d.Code = CodeVersion
				d.Message = fmt.Sprintf("rawtracepoint needs bpftrace %s or newer; this host has %s", since, v.o.Binary.Version)
				d.Hint = "use the tracepoint of the same name: tracepoint:CATEGORY:NAME (find it with list_probes)"
				return d, false
			}
		case ap.Provider == "begin" || ap.Provider == "end":
			if ok, since := v.o.Binary.Version.Supports(version.LowercaseBeginEnd); !ok {
				d.Code = CodeVersion
				d.Message = fmt.Sprintf("%s needs bpftrace %s or newer; this host has %s", ap.Provider, since, v.o.Binary.Version)
				d.Hint = "write " + strings.ToUpper(ap.Provider)
				return d, false
			}
		}
	}
	if t, ok := types[prov]; ok && !t.Available {
		d.Code = CodeProbeUnavailable
		d.Message = fmt.Sprintf("%s probes cannot attach on this host: %s", prov, t.Reason)
		d.Hint = alternativeFor(ap)
		return d, false
	}
	return Diagnostic{}, true
}

// expand resolves an attach point to concrete probes.
func (v *Validator) expand(ctx context.Context, ap *lang.AttachPoint) ([]string, *Diagnostic) {
	if v.o.Catalog == nil {
		return []string{ap.Raw}, nil
	}
	// The catalog wants the canonical provider.
	raw := ap.Raw
	if ap.Provider != ap.Canonical && ap.Canonical != "" && ap.Canonical != "BEGIN" && ap.Canonical != "END" {
		raw = ap.Canonical + strings.TrimPrefix(raw, ap.Provider)
	}
	names, err := v.o.Catalog.Expand(ctx, raw)
	if err == nil {
		return names, nil
	}
	l, c, e := at(ap)
	d := &Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Message: err.Error()}
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		d.Code = CodeProbeNotFound
		d.Message = fmt.Sprintf("no probe matches %s on this host", ap.Raw)
		switch ap.Canonical {
		case "uprobe", "uretprobe", "usdt":
			d.Message += " (bpftrace 0.17 would skip it silently and trace nothing)"
		}
		if !ap.Wildcard {
			if near := v.o.Catalog.Nearest(ctx, raw, 3); len(near) > 0 {
				d.Hint = "did you mean " + strings.Join(near, ", ") + "?"
			}
		}
		if d.Hint == "" {
			d.Hint = "find the right name with list_probes"
		}
	case errors.Is(err, catalog.ErrNeedsTarget):
		d.Code = CodeProbeNotFound
		d.Hint = "name the binary or library: uprobe:/bin/bash:readline, uprobe:libc:malloc, usdt:/usr/bin/python3:python:gc__start"
	case errors.Is(err, catalog.ErrUnavailable):
		d.Code = CodeProbeUnavailable
		d.Hint = alternativeFor(ap)
	case errors.Is(err, catalog.ErrNoTracefs):
		d.Code = CodeProbeUnavailable
		d.Hint = "tracefs is not mounted; as root: mount -t tracefs nodev /sys/kernel/tracing (or run `bpftrace-mcp doctor`)"
	default:
		d.Code = CodeProbeNotFound
	}
	return nil, d
}

// alternativeFor suggests what to use instead of a probe type that does not
// work here: for a kernel function, the syscall tracepoint that covers it.
func alternativeFor(ap *lang.AttachPoint) string {
	switch ap.Canonical {
	case "kprobe", "kretprobe", "kfunc", "kretfunc":
		fn := ""
		if len(ap.Parts) > 0 {
			fn = ap.Parts[len(ap.Parts)-1]
		}
		if sc := syscallOf(fn); sc != "" {
			side := "sys_enter_"
			if ap.Canonical == "kretprobe" || ap.Canonical == "kretfunc" {
				side = "sys_exit_"
			}
			return fmt.Sprintf("use the tracepoint tracepoint:syscalls:%s%s (args->... holds its arguments; list_probes \"*%s*\" shows the others)", side, sc, sc)
		}
		return "use a tracepoint instead: list_probes with a part of the function's name (e.g. \"*" + trimKernelPrefix(fn) + "*\") finds the related ones"
	case "hardware":
		return "use software:cpu-clock or profile:hz:99 for CPU sampling; there is no hardware PMU here"
	case "iter":
		return "read /proc with a user-space tool instead; iterators need kernel features this host lacks"
	case "watchpoint", "asyncwatchpoint":
		return "watchpoints need hardware debug registers; trace the code that writes the value with a uprobe or tracepoint"
	}
	return "list_probes shows what can attach here; system_info lists the probe types that work"
}

var syscallPrefixes = []string{"__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__se_sys_", "__do_sys_", "do_sys_", "ksys_", "sys_"}

// syscallOf maps a kernel function that implements a system call to the
// system call's name: __x64_sys_openat → openat, do_sys_openat2 → openat2,
// ksys_read → read, vfs_read → read, do_nanosleep → nanosleep.
func syscallOf(fn string) string {
	if strings.ContainsAny(fn, "*?{[") {
		return ""
	}
	for _, p := range syscallPrefixes {
		if s, ok := strings.CutPrefix(fn, p); ok && s != "" {
			return s
		}
	}
	for _, p := range []string{"vfs_", "do_"} {
		if s, ok := strings.CutPrefix(fn, p); ok && knownSyscalls[s] {
			return s
		}
	}
	return ""
}

// knownSyscalls are system calls whose kernel implementations are commonly
// traced by name (vfs_read, do_nanosleep).
var knownSyscalls = map[string]bool{
	"read": true, "write": true, "open": true, "openat": true, "nanosleep": true, "fsync": true,
	"readv": true, "writev": true, "unlink": true, "unlinkat": true, "mkdir": true, "rename": true,
	"fork": true, "execve": true, "exit": true, "exit_group": true, "kill": true, "mmap": true,
	"munmap": true, "brk": true, "clone": true, "connect": true, "accept": true, "accept4": true,
	"sendto": true, "recvfrom": true, "sendmsg": true, "recvmsg": true, "poll": true, "select": true,
	"epoll_wait": true, "futex": true, "stat": true, "statx": true, "truncate": true, "ftruncate": true,
}

func trimKernelPrefix(fn string) string {
	fn = strings.Trim(fn, "*")
	for _, p := range append(syscallPrefixes, "vfs_", "do_", "tcp_", "__") {
		fn = strings.TrimPrefix(fn, p)
	}
	if fn == "" {
		return "name"
	}
	return fn
}

var allProviders = []string{"BEGIN", "END", "tracepoint (t)", "uprobe (u)", "uretprobe (ur)", "usdt (U)",
	"profile (p)", "interval (i)", "software (s)", "hardware (h)", "kprobe (k)", "kretprobe (kr)",
	"kfunc (f)", "kretfunc (fr)", "watchpoint (w)", "asyncwatchpoint (aw)", "iter (it)"}

func providerList() string { return strings.Join(allProviders, ", ") }

// nearestProvider returns the provider name closest to a misspelled one,
// within two edits, or "".
func nearestProvider(s string) string {
	names := []string{"BEGIN", "END", "tracepoint", "uprobe", "uretprobe", "usdt", "profile", "interval",
		"software", "hardware", "kprobe", "kretprobe", "kfunc", "kretfunc", "watchpoint", "asyncwatchpoint", "iter",
		"fentry", "fexit", "rawtracepoint"}
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// nearestNames returns up to n of names within maxDist edits of s, closest first.
func nearestNames(s string, names []string, n, maxDist int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, name := range names {
		if d := editDistance(s, name); d <= maxDist && d > 0 {
			cs = append(cs, cand{name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
