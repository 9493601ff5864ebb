package catalog

import (
	"context"
	"fmt"
	"strings"
)

// ProbeType is one probe type and whether it works on this host.
type ProbeType struct {
	Name      string   `json:"name"`
	Aliases   []string `json:"aliases,omitempty"`
	Available bool     `json:"available"`
	// Reason says why the type is unavailable and what would fix it, or,
	// for an available type, a caveat (watchpoints in a VM, bpftrace
	// versions that lack the type).
	Reason string `json:"reason,omitempty"`
}

// ProbeTypes reports every probe type with its availability on this host,
// detected from tracefs and sysfs rather than assumed.
func (c *Catalog) ProbeTypes(ctx context.Context) []ProbeType {
	h := c.host()
	out := make([]ProbeType, 0, len(providers))
	for _, p := range providers {
		ok, reason := h.available(p.name)
		out = append(out, ProbeType{Name: p.name, Aliases: p.aliases, Available: ok, Reason: reason})
	}
	return out
}

// available decides one probe type; it is the single place that knows what
// each type needs from the kernel.
func (h *host) available(name string) (bool, string) {
	switch name {
	case "tracepoint":
		return h.tracepointsOK()
	case "kprobe", "kretprobe":
		var why []string
		if h.tracefs == "" {
			return false, "tracefs is not mounted: " + ErrNoTracefs.Error()
		}
		if !h.kprobes {
			why = append(why, fmt.Sprintf("%s/kprobe_events does not exist: the kernel was built without CONFIG_KPROBES/CONFIG_KPROBE_EVENTS", h.tracefs))
		}
		if h.funcsErr != nil {
			why = append(why, h.funcsReason())
		}
		if len(why) > 0 {
			return false, strings.Join(why, "; ") + "; use tracepoints instead, or a kernel with kprobes enabled"
		}
		return true, ""
	case "kfunc", "kretfunc", "iter":
		var why []string
		if !h.btf {
			why = append(why, fmt.Sprintf("no kernel BTF at %s (CONFIG_DEBUG_INFO_BTF)", h.btfPath))
		}
		if h.funcsErr != nil || h.tracefs == "" {
			why = append(why, h.funcsReason()+" (bpftrace checks it before loading any BPF_PROG_TYPE_TRACING program)")
		}
		if len(why) > 0 {
			alt := "use tracepoints instead"
			if name == "iter" {
				alt = "read /proc instead"
			}
			return false, strings.Join(why, "; ") + "; " + alt
		}
		if name == "iter" {
			return true, ""
		}
		return true, "fentry/fexit names need bpftrace >= 0.20; older releases call them kfunc/kretfunc"
	case "rawtracepoint":
		if !h.btf {
			return false, fmt.Sprintf("no kernel BTF at %s, which bpftrace >= 0.24 needs for raw tracepoints", h.btfPath)
		}
		return true, "the kernel supports raw tracepoints (BTF present); bpftrace has the probe type from 0.18 on and aborts on it before"
	case "uprobe", "uretprobe", "usdt":
		if !h.pmus["uprobe"] {
			return false, "no uprobe PMU in /sys/bus/event_source/devices: the kernel was built without CONFIG_UPROBE_EVENTS"
		}
		return true, ""
	case "software", "profile":
		if !h.pmus["software"] {
			return false, "no software PMU in /sys/bus/event_source/devices (CONFIG_PERF_EVENTS)"
		}
		return true, ""
	case "hardware":
		if h.cpuPMU == "" {
			return false, "no hardware PMU (no cpu device in /sys/bus/event_source/devices): common in VMs without PMU passthrough; use software:cpu-clock or profile:hz:99 instead"
		}
		return true, ""
	case "watchpoint", "asyncwatchpoint":
		if !h.pmus["breakpoint"] {
			return false, "no breakpoint PMU in /sys/bus/event_source/devices (CONFIG_HAVE_HW_BREAKPOINT)"
		}
		if h.hypervisor {
			return true, "attaches but may never fire: this host runs under a hypervisor, which often gives guests no working debug registers"
		}
		return true, ""
	case "interval", "BEGIN", "END":
		return true, ""
	}
	return false, "unknown probe type"
}

func (h *host) tracepointsOK() (bool, string) {
	if h.tracefs == "" {
		if h.tracefsErr != nil {
			return false, h.tracefsErr.Error()
		}
		return false, ErrNoTracefs.Error()
	}
	if h.eventsErr != nil {
		return false, fmt.Sprintf("cannot read %s/available_events: %v; run as root", h.tracefs, unwrapPathErr(h.eventsErr))
	}
	return true, ""
}

// unavailable returns an error wrapping ErrUnavailable for probe type name,
// or nil when it is available.
func (h *host) unavailable(name string) error {
	ok, reason := h.available(name)
	if ok {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", name, reason, ErrUnavailable)
}
