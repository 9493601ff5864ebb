package catalog

import (
	"context"
	"fmt"
	"runtime"
	"strings"
)

// Probe describes one concrete probe.
type Probe struct {
	Name     string `json:"name"`     // full name, aliases expanded: "tracepoint:syscalls:sys_enter_openat"
	Provider string `json:"provider"` // probe type: "tracepoint"
	// Args are the probe's arguments: for a tracepoint the fields of its
	// format file after the common_* header (exactly what `bpftrace -lv`
	// prints), read as args->NAME; for a USDT probe arg0..argN with the
	// sizes its note declares; for a uprobe or kprobe arg0..argN with the
	// registers that carry them on this architecture, and for a uretprobe or
	// kretprobe retval. Empty for other types.
	Args []Field `json:"args,omitempty"`
	// Attachable reports whether the probe can attach on this host;
	// Reason says why not, or gives a caveat when it can.
	Attachable bool      `json:"attachable"`
	Reason     string    `json:"reason,omitempty"`
	Stability  Stability `json:"stability"`
	Example    string    `json:"example"` // a one-line bpftrace program using the probe
}

// Listing renders the probe as `bpftrace -lv` prints it: the name, then
// one indented line per argument.
func (p *Probe) Listing() string {
	var b strings.Builder
	b.WriteString(p.Name)
	b.WriteByte('\n')
	for _, a := range p.Args {
		b.WriteString("    ")
		b.WriteString(a.Decl)
		b.WriteByte('\n')
	}
	return b.String()
}

// Describe returns one probe: its arguments, whether it can attach here,
// its stability and an example. probe may use aliases ("t:sched:sched_switch")
// and wildcards as long as exactly one probe matches; several give an error
// wrapping [ErrAmbiguous], none one wrapping [ErrNotFound] (see [Catalog.Nearest]
// for suggestions). Probe types unavailable here are described, not refused:
// Attachable is false and Reason says why.
func (c *Catalog) Describe(ctx context.Context, probe string) (*Probe, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, rest, err := requireProvider(probe)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", probe, err)
	}
	h := c.host()
	ok, reason := true, ""
	if p.name != "tracepoint" {
		ok, reason = h.available(p.name)
	}
	d := &Probe{Provider: p.name, Attachable: ok, Reason: reason, Stability: p.stability}
	name := p.name + ":" + rest
	if p.name == "BEGIN" || p.name == "END" {
		name = p.name
	}
	// Names can be checked only where they can be listed; an unavailable
	// kprobe is described as written.
	if ok || p.name == "tracepoint" {
		names, err := c.Expand(ctx, probe)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", probe, err)
		}
		if len(names) > 1 {
			return nil, fmt.Errorf("describe %s: %d probes match (%s, ...): %w", probe, len(names), names[0], ErrAmbiguous)
		}
		name = names[0]
	}
	d.Name = name
	switch p.name {
	case "tracepoint":
		tp := strings.TrimPrefix(name, "tracepoint:")
		d.Args, err = c.fields(tp)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", probe, err)
		}
	case "usdt":
		target, key, _ := strings.Cut(strings.TrimPrefix(name, "usdt:"), ":")
		probes, err := c.usdt(target)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", probe, err)
		}
		for _, u := range probes {
			if u.key() == key {
				d.Args = usdtArgs(u.Args)
				if u.Semaphore != 0 && d.Reason == "" {
					d.Reason = "has a semaphore: the binary runs the probe's argument code only while a tracer is attached"
				}
			}
		}
	case "uprobe", "kprobe":
		d.Args = registerArgs(runtime.GOARCH)
	case "uretprobe", "kretprobe":
		d.Args = returnArg(runtime.GOARCH)
	case "software", "hardware":
		evs := softwareEvents
		if p.name == "hardware" {
			evs = hardwareEvents
		}
		ev, _, _ := strings.Cut(rest, ":")
		if hasWildcard(ev) {
			g, err := compileGlob(ev)
			if err != nil {
				return nil, fmt.Errorf("describe %s: %w", probe, err)
			}
			var matches []string
			for _, e := range evs {
				if g.match(e.name) {
					matches = append(matches, e.name)
				}
			}
			if len(matches) > 1 {
				return nil, fmt.Errorf("describe %s: %d events match: %w", probe, len(matches), ErrAmbiguous)
			}
			if len(matches) == 1 {
				ev = matches[0]
				d.Name = p.name + ":" + ev
			}
		}
		if _, found := lookupEvent(evs, ev); !found {
			return nil, fmt.Errorf("describe %s: no %s event %q: %w", probe, p.name, ev, ErrNotFound)
		}
	}
	d.Example = example(d)
	return d, nil
}

// Fields returns the fields of a tracepoint ("tracepoint:sched:sched_switch",
// "t:sched:sched_switch" or "sched:sched_switch") after the common_* header:
// the names a program reads as args->NAME.
func (c *Catalog) Fields(ctx context.Context, tracepoint string) ([]Field, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := tracepoint
	if p, rest, ok := splitProvider(tracepoint); ok {
		if p.name != "tracepoint" {
			return nil, fmt.Errorf("fields of %s: not a tracepoint: %w", tracepoint, ErrNotFound)
		}
		name = rest
	}
	names, err := c.tracepointNames()
	if err != nil {
		return nil, fmt.Errorf("fields of %s: %w", tracepoint, err)
	}
	if !containsSorted(names, "tracepoint:"+name) {
		return nil, fmt.Errorf("fields of %s: no such tracepoint: %w", tracepoint, ErrNotFound)
	}
	f, err := c.fields(name)
	if err != nil {
		return nil, fmt.Errorf("fields of %s: %w", tracepoint, err)
	}
	return f, nil
}

func containsSorted(s []string, v string) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s) && s[lo] == v
}

// argRegisters are the registers that carry a function's first integer or
// pointer arguments, which bpftrace reads as arg0, arg1, ... (the calling
// convention of each architecture); retRegister carries the return value.
var (
	argRegisters = map[string][]string{
		"amd64": {"rdi", "rsi", "rdx", "rcx", "r8", "r9"},
		"arm64": {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"},
	}
	retRegister = map[string]string{"amd64": "rax", "arm64": "x0"}
)

// registerArgs lists arg0..argN of a uprobe or kprobe. The types are not
// known without debug information: each is a 64-bit register, to be cast
// or read with str() as the function's signature says.
func registerArgs(goarch string) []Field {
	regs := argRegisters[goarch]
	args := make([]Field, len(regs))
	for i, r := range regs {
		name := fmt.Sprintf("arg%d", i)
		args[i] = Field{Name: name, Type: "uint64", Size: 8,
			Decl: fmt.Sprintf("uint64 %s /* register %s: argument %d; str(%s) if it is a char * */", name, r, i+1, name)}
	}
	return args
}

// returnArg lists retval of a uretprobe or kretprobe.
func returnArg(goarch string) []Field {
	r, ok := retRegister[goarch]
	if !ok {
		return nil
	}
	return []Field{{Name: "retval", Type: "uint64", Size: 8,
		Decl: fmt.Sprintf("uint64 retval /* register %s: the return value */", r)}}
}

// example writes a short program that shows the probe's typical use.
func example(p *Probe) string {
	switch p.Provider {
	case "tracepoint":
		// A string shows what the event is about (a file name, a comm);
		// failing that, a return value or the first number.
		for _, a := range p.Args {
			switch {
			case strings.HasPrefix(a.Type, "char["):
				// Already a string to bpftrace: str() would reject it.
				return fmt.Sprintf(`%s { printf("%%s %%s\n", comm, args->%s); }`, p.Name, a.Name)
			case isString(a.Type):
				return fmt.Sprintf(`%s { printf("%%s %%s\n", comm, str(args->%s)); }`, p.Name, a.Name)
			}
		}
		for _, a := range p.Args {
			if a.Name == "ret" {
				return fmt.Sprintf(`%s { @[comm] = hist(args->ret); }`, p.Name)
			}
		}
		for _, a := range p.Args {
			if a.Name != "__syscall_nr" && isInteger(a.Type) {
				return fmt.Sprintf(`%s { @[comm] = hist(args->%s); }`, p.Name, a.Name)
			}
		}
		return fmt.Sprintf(`%s { @[comm] = count(); }`, p.Name)
	case "uretprobe", "kretprobe", "kretfunc":
		return fmt.Sprintf(`%s { @[comm] = hist(retval); }`, p.Name)
	case "kprobe", "profile":
		return fmt.Sprintf(`%s { @[kstack] = count(); }`, p.Name)
	case "interval":
		return fmt.Sprintf(`%s { time("%%H:%%M:%%S\n"); }`, p.Name)
	case "BEGIN":
		return `BEGIN { printf("tracing... hit Ctrl-C to end\n"); }`
	case "END":
		return `END { printf("done\n"); }`
	case "iter":
		return fmt.Sprintf(`%s { @n = count(); }`, p.Name)
	case "watchpoint", "asyncwatchpoint":
		return fmt.Sprintf(`%s { printf("%%s touched it\n", comm); }`, p.Name)
	case "usdt":
		if len(p.Args) > 0 {
			return fmt.Sprintf(`%s { @[comm] = hist(arg0); }`, p.Name)
		}
	}
	return fmt.Sprintf(`%s { @[comm] = count(); }`, p.Name)
}

func isString(t string) bool {
	t = strings.TrimSpace(t)
	return t == "const char *" || t == "char *" || t == "__data_loc char[]"
}

func isInteger(t string) bool {
	t = strings.TrimPrefix(strings.TrimSpace(t), "unsigned ")
	switch t {
	case "int", "long", "short", "char", "size_t", "ssize_t", "loff_t", "pid_t", "u8", "u16", "u32", "u64",
		"s8", "s16", "s32", "s64", "__u32", "__u64", "__s32", "__s64", "unsigned", "long long", "umode_t":
		return true
	}
	return false
}
