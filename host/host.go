package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/catalog"
)

// Kernel describes the running kernel.
type Kernel struct {
	Release  string `json:"release"`
	Arch     string `json:"arch"`
	BTF      bool   `json:"btf" jsonschema:"kernel type information (/sys/kernel/btf/vmlinux) is present"`
	Lockdown string `json:"lockdown,omitempty" jsonschema:"kernel lockdown mode: none, integrity or confidentiality"`
	Tracefs  string `json:"tracefs,omitempty" jsonschema:"where tracefs is mounted; empty when it is not"`
}

// Privileges are what this process may do.
type Privileges struct {
	UID          int      `json:"uid"`
	Root         bool     `json:"root"`
	Capabilities []string `json:"capabilities" jsonschema:"the tracing-related capabilities held"`
	Missing      []string `json:"missing,omitempty" jsonschema:"tracing-related capabilities not held"`
	// Mode is how bpftrace gets its privileges: "root", "capabilities",
	// "sudo" (sudo -n with a NOPASSWD rule) or "insufficient".
	Mode string `json:"mode"`
}

// Finding is one thing checked, for the doctor's report.
type Finding struct {
	Item   string `json:"item"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is everything known about this host's ability to trace.
type Report struct {
	Bpftrace   *BpftraceInfo       `json:"bpftrace,omitempty"`
	Kernel     Kernel              `json:"kernel"`
	Privileges Privileges          `json:"privileges"`
	ProbeTypes []catalog.ProbeType `json:"probe_types"`
	Findings   []Finding           `json:"findings"`
}

// BpftraceInfo is the installed bpftrace.
type BpftraceInfo struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	// Features are the keys of the version facts this release has
	// ("args_struct", "dry_run", ...), oldest first.
	Features []string `json:"features"`
	// Info is `bpftrace --info`, "Section/key" → value.
	Info map[string]string `json:"info,omitempty"`
}

// Inspect builds the report. bin may be nil (bpftrace not found: the report
// says how to install it); cat may be nil.
func Inspect(ctx context.Context, bin *bpftrace.Binary, binErr error, cat *catalog.Catalog) *Report {
	r := &Report{Kernel: kernel(), Privileges: CurrentPrivileges()}
	if bin != nil && bin.Sudo {
		r.Privileges.Mode = "sudo"
	}
	if bin != nil {
		bi := &BpftraceInfo{Path: bin.Path, Version: bin.Version.String(), Features: featureKeys(bin.Version)}
		if info, err := bin.Info(ctx); err == nil {
			bi.Info = info
		}
		r.Bpftrace = bi
		r.add("bpftrace", true, fmt.Sprintf("bpftrace %s at %s", bin.Version, bin.Path), "")
	} else {
		detail := "bpftrace was not found"
		if binErr != nil {
			detail = binErr.Error()
		}
		r.add("bpftrace", false, detail, "install it: apt-get install -y bpftrace (or pass --bpftrace PATH)")
	}
	switch r.Privileges.Mode {
	case "root":
		r.add("privileges", true, "running as root", "")
	case "sudo":
		r.add("privileges", true, "bpftrace runs through sudo -n (a NOPASSWD rule); this server never handles a password", "")
	case "capabilities":
		fix := ""
		ok := true
		if bin != nil && !bin.Version.Has(version.CapabilityCheck) {
			ok = false
			fix = fmt.Sprintf("bpftrace %s requires uid 0 even with capabilities (0.25 and later check capabilities): run the server as root, e.g. from the systemd unit in deploy/", bin.Version)
		}
		r.add("privileges", ok, "not root; capabilities held: "+strings.Join(r.Privileges.Capabilities, ", "), fix)
	default:
		r.add("privileges", false, fmt.Sprintf("uid %d without CAP_BPF, CAP_PERFMON or CAP_SYS_ADMIN", r.Privileges.UID),
			"run the server as root (sudo bpftrace-mcp, or the systemd unit in deploy/); bpftrace loads BPF programs and cannot run unprivileged. This server never asks for or stores a password.")
	}
	if r.Kernel.Tracefs != "" {
		r.add("tracefs", true, "mounted at "+r.Kernel.Tracefs, "")
	} else {
		r.add("tracefs", false, "tracefs is not mounted: tracepoints cannot be found or attached",
			"mount -t tracefs nodev /sys/kernel/tracing && mount -t debugfs nodev /sys/kernel/debug (as root; `make setup` does it)")
	}
	if bin != nil && !debugTracingReadable() {
		r.add("debugfs", false, "/sys/kernel/debug/tracing is not readable: bpftrace 0.17 looks for tracepoints there",
			"mount -t debugfs nodev /sys/kernel/debug (as root)")
	}
	if r.Kernel.BTF {
		r.add("btf", true, "kernel BTF present (/sys/kernel/btf/vmlinux)", "")
	} else {
		r.add("btf", false, "no kernel BTF: struct types must come from headers",
			"use a kernel built with CONFIG_DEBUG_INFO_BTF=y; tracepoint args still work")
	}
	if cat != nil {
		r.ProbeTypes = cat.ProbeTypes(ctx)
		for i, t := range r.ProbeTypes {
			// The catalog knows the kernel; whether this bpftrace has the
			// probe type at all is the other half.
			if t.Name == "rawtracepoint" && bin != nil && !bin.Version.Has(version.RawTracepoint) {
				_, since := bin.Version.Supports(version.RawTracepoint)
				t.Available = false
				t.Reason = fmt.Sprintf("bpftrace %s does not have this probe type (it came in %s; the kernel would support it): use tracepoint instead", bin.Version, since)
				r.ProbeTypes[i] = t
			}
			fix := ""
			if !t.Available {
				fix = t.Reason
			}
			detail := "available"
			if !t.Available {
				detail = "not available"
			} else if t.Reason != "" {
				detail = "available: " + t.Reason
			}
			r.add("probe type "+t.Name, t.Available, detail, fix)
		}
	}
	return r
}

func (r *Report) add(item string, ok bool, detail, fix string) {
	r.Findings = append(r.Findings, Finding{Item: item, OK: ok, Detail: detail, Fix: fix})
}

func kernel() Kernel {
	var k Kernel
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		k.Release = unix.ByteSliceToString(u.Release[:])
		k.Arch = unix.ByteSliceToString(u.Machine[:])
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		k.BTF = true
	}
	if b, err := os.ReadFile("/sys/kernel/security/lockdown"); err == nil {
		// "none [integrity] confidentiality": the bracketed one is in force.
		s := string(b)
		if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
			k.Lockdown = s[i+1 : j]
		}
	}
	for _, d := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(d + "/available_events"); err == nil {
			k.Tracefs = d
			break
		}
	}
	return k
}

func debugTracingReadable() bool {
	_, err := os.Stat("/sys/kernel/debug/tracing/available_events")
	return err == nil
}

// Capability numbers (linux/capability.h) that matter for tracing.
var tracingCaps = []struct {
	bit  uint
	name string
}{
	{21, "CAP_SYS_ADMIN"},
	{39, "CAP_BPF"},
	{38, "CAP_PERFMON"},
	{2, "CAP_DAC_READ_SEARCH"},
	{24, "CAP_SYS_RESOURCE"},
	{33, "CAP_SYS_PTRACE"},
}

// CurrentPrivileges reports what this process holds for tracing.
func CurrentPrivileges() Privileges {
	p := Privileges{UID: os.Geteuid(), Capabilities: []string{}}
	p.Root = p.UID == 0
	eff := effectiveCaps()
	for _, c := range tracingCaps {
		if eff&(1<<c.bit) != 0 {
			p.Capabilities = append(p.Capabilities, c.name)
		} else {
			p.Missing = append(p.Missing, c.name)
		}
	}
	has := func(n string) bool {
		for _, c := range p.Capabilities {
			if c == n {
				return true
			}
		}
		return false
	}
	switch {
	case p.Root:
		p.Mode = "root"
	case has("CAP_SYS_ADMIN") || (has("CAP_BPF") && has("CAP_PERFMON")):
		p.Mode = "capabilities"
	default:
		p.Mode = "insufficient"
	}
	return p
}

// effectiveCaps reads CapEff from /proc/self/status.
func effectiveCaps() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("CapEff:")); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(string(v)), 16, 64)
			return n
		}
	}
	return 0
}

// Text renders the findings for a person: one line each, with the fix
// under what is missing. Probe types that do not work here are marked n/a:
// they are facts about the host, not faults to fix.
func (r *Report) Text() string {
	var b strings.Builder
	fail := 0
	for _, f := range r.Findings {
		mark := "ok  "
		switch {
		case f.OK:
		case strings.HasPrefix(f.Item, "probe type "):
			mark = "n/a "
		default:
			mark = "FAIL"
			fail++
		}
		fmt.Fprintf(&b, "[%s] %-26s %s\n", mark, f.Item, f.Detail)
		if !f.OK && f.Fix != "" {
			fmt.Fprintf(&b, "       %s\n", f.Fix)
		}
	}
	if fail == 0 {
		b.WriteString("\nEverything bpftrace-mcp needs is in place; probe types marked n/a cannot be used on this host.\n")
	} else {
		fmt.Fprintf(&b, "\n%d problem(s) to fix before bpftrace-mcp can trace here (the fix is under each).\n", fail)
	}
	return b.String()
}

// featureKeys lists the keys of the features release v has.
func featureKeys(v version.Version) []string {
	keys := []string{}
	for _, f := range v.Features() {
		keys = append(keys, f.String())
	}
	return keys
}
