package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// host is what this machine's kernel offers, detected from tracefs, sysfs
// and procfs.
type host struct {
	tracefs    string // "" when not found
	tracefsErr error
	eventsErr  error // reading available_events
	kprobes    bool  // tracefs has kprobe_events
	funcsErr   error // opening available_filter_functions
	btf        bool  // <sysfs>/kernel/btf/vmlinux exists
	btfPath    string
	pmus       map[string]bool // <sysfs>/bus/event_source/devices/*
	cpuPMU     string          // the hardware PMU's device name, if any
	hypervisor bool            // /proc/cpuinfo has the "hypervisor" flag
}

func (c *Catalog) sysfs() string {
	if c.opts.SysfsDir != "" {
		return c.opts.SysfsDir
	}
	return "/sys"
}

func (c *Catalog) procfs() string {
	if c.opts.ProcDir != "" {
		return c.opts.ProcDir
	}
	return "/proc"
}

// host returns the detected host. It is cached once tracefs has been found;
// until then every call looks again, so mounting tracefs takes effect.
func (c *Catalog) host() *host {
	if h, err := c.hostCache.get(func() (*host, error) {
		h := c.detectHost()
		if h.tracefs == "" {
			return h, errors.New("tracefs not found")
		}
		return h, nil
	}); err == nil {
		return h
	}
	return c.detectHost()
}

func (c *Catalog) detectHost() *host {
	h := &host{pmus: map[string]bool{}}
	h.tracefs, h.tracefsErr = findTracefs(c.opts.TracefsDir)
	if h.tracefs != "" {
		if f, err := os.Open(filepath.Join(h.tracefs, "available_events")); err != nil {
			h.eventsErr = err
		} else {
			f.Close()
		}
		_, err := os.Stat(filepath.Join(h.tracefs, "kprobe_events"))
		h.kprobes = err == nil
		if f, err := os.Open(filepath.Join(h.tracefs, "available_filter_functions")); err != nil {
			h.funcsErr = err
		} else {
			f.Close()
		}
	}
	h.btfPath = filepath.Join(c.sysfs(), "kernel", "btf", "vmlinux")
	if _, err := os.Stat(h.btfPath); err == nil {
		h.btf = true
	}
	devDir := filepath.Join(c.sysfs(), "bus", "event_source", "devices")
	if ents, err := os.ReadDir(devDir); err == nil {
		for _, e := range ents {
			h.pmus[e.Name()] = true
		}
	}
	h.cpuPMU = findCPUPMU(devDir, h.pmus)
	if data, err := os.ReadFile(filepath.Join(c.procfs(), "cpuinfo")); err == nil {
		h.hypervisor = hasCPUFlag(data, "hypervisor")
	}
	return h
}

// findCPUPMU finds the PMU that serves PERF_TYPE_HARDWARE events: "cpu" on
// x86, "cpu_core"/"cpu_atom" on hybrid x86, an armv8 PMU on arm64; any PMU
// that advertises a cycles event counts.
func findCPUPMU(devDir string, pmus map[string]bool) string {
	for _, n := range []string{"cpu", "cpu_core", "cpu_atom"} {
		if pmus[n] {
			return n
		}
	}
	for n := range pmus {
		for _, ev := range []string{"cpu-cycles", "cpu_cycles"} {
			if _, err := os.Stat(filepath.Join(devDir, n, "events", ev)); err == nil {
				return n
			}
		}
	}
	return ""
}

func hasCPUFlag(cpuinfo []byte, flag string) bool {
	for _, line := range bytes.Split(cpuinfo, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || string(bytes.TrimSpace(k)) != "flags" {
			continue
		}
		for _, f := range bytes.Fields(v) {
			if string(f) == flag {
				return true
			}
		}
		return false
	}
	return false
}

// funcsReason explains why available_filter_functions cannot be read.
func (h *host) funcsReason() string {
	if h.tracefs == "" {
		return "tracefs is not mounted"
	}
	if errors.Is(h.funcsErr, fs.ErrNotExist) {
		return fmt.Sprintf("%s/available_filter_functions does not exist (kernel built without CONFIG_FUNCTION_TRACER)", h.tracefs)
	}
	if errors.Is(h.funcsErr, fs.ErrPermission) {
		return fmt.Sprintf("%s/available_filter_functions cannot be read even by root (%v): the kernel restricts it, as under lockdown; bpftrace needs it to find traceable functions", h.tracefs, unwrapPathErr(h.funcsErr))
	}
	return fmt.Sprintf("cannot read %s/available_filter_functions: %v", h.tracefs, h.funcsErr)
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
