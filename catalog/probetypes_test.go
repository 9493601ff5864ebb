package catalog

import (
	"context"
	"strings"
	"testing"
)

// wantType is the expected availability of one probe type; reason is a
// substring the Reason must contain ("" means Reason must be empty).
type wantType struct {
	available bool
	reason    string
}

func checkProbeTypes(t *testing.T, got []ProbeType, want map[string]wantType) {
	t.Helper()
	byName := map[string]ProbeType{}
	for _, pt := range got {
		byName[pt.Name] = pt
	}
	if len(byName) != len(providers) {
		t.Errorf("ProbeTypes returned %d types, want %d", len(byName), len(providers))
	}
	for name, w := range want {
		pt, ok := byName[name]
		if !ok {
			t.Errorf("ProbeTypes lacks %s", name)
			continue
		}
		if pt.Available != w.available {
			t.Errorf("%s: Available = %v, want %v (reason %q)", name, pt.Available, w.available, pt.Reason)
		}
		if w.reason == "" && pt.Reason != "" || !strings.Contains(pt.Reason, w.reason) {
			t.Errorf("%s: Reason = %q, want %q", name, pt.Reason, w.reason)
		}
		if !pt.Available && pt.Reason == "" {
			t.Errorf("%s: unavailable without a reason", name)
		}
	}
}

func TestProbeTypesFake(t *testing.T) {
	got := newFakeHost(t).ProbeTypes(context.Background())
	checkProbeTypes(t, got, map[string]wantType{
		"tracepoint":    {true, ""},
		"kprobe":        {false, "kprobe_events does not exist"},
		"kretprobe":     {false, "available_filter_functions does not exist"},
		"kfunc":         {false, "no kernel BTF"},
		"kretfunc":      {false, "no kernel BTF"},
		"iter":          {false, "no kernel BTF"},
		"rawtracepoint": {false, "no kernel BTF"},
		"uprobe":        {true, ""},
		"uretprobe":     {true, ""},
		"usdt":          {true, ""},
		"software":      {true, ""},
		"profile":       {true, ""},
		"hardware":      {false, "no hardware PMU"},
		"interval":      {true, ""},
		"watchpoint":    {true, "may never fire"},
		"BEGIN":         {true, ""},
		"END":           {true, ""},
	})
	for _, pt := range got {
		if pt.Name == "kfunc" && strings.Join(pt.Aliases, ",") != "f,fentry" {
			t.Errorf("kfunc aliases = %v, want [f fentry]", pt.Aliases)
		}
	}
}

func TestProbeTypesFullHost(t *testing.T) {
	checkProbeTypes(t, fullCatalog(t).ProbeTypes(context.Background()), map[string]wantType{
		"tracepoint":    {true, ""},
		"kprobe":        {true, ""},
		"kretprobe":     {true, ""},
		"kfunc":         {true, "fentry/fexit names need bpftrace >= 0.20"},
		"iter":          {true, ""},
		"rawtracepoint": {true, "0.18"},
		"uprobe":        {true, ""},
		"hardware":      {true, ""},
		"watchpoint":    {true, ""},
	})
}

func TestProbeTypesNoTracefs(t *testing.T) {
	c := New(&Options{TracefsDir: t.TempDir(), SysfsDir: "testdata/sys", ProcDir: "testdata/proc"})
	checkProbeTypes(t, c.ProbeTypes(context.Background()), map[string]wantType{
		"tracepoint": {false, "mount -t tracefs nodev /sys/kernel/tracing"},
		"kprobe":     {false, "tracefs is not mounted"},
		"uprobe":     {true, ""},
	})
}

// TestProbeTypesHost checks this project's machines: a Firecracker VM whose
// kernel has no kprobes, an unreadable available_filter_functions and no
// hardware PMU.
func TestProbeTypesHost(t *testing.T) {
	c := hostCatalog(t)
	checkProbeTypes(t, c.ProbeTypes(context.Background()), map[string]wantType{
		"tracepoint": {true, ""},
		"uprobe":     {true, ""},
		"uretprobe":  {true, ""},
		"usdt":       {true, ""},
		"profile":    {true, ""},
		"software":   {true, ""},
		"interval":   {true, ""},
		"BEGIN":      {true, ""},
		"END":        {true, ""},
		"kprobe":     {false, "kprobe_events"},
		"kretprobe":  {false, "kprobe_events"},
		"kfunc":      {false, "available_filter_functions"},
		"kretfunc":   {false, "available_filter_functions"},
		"iter":       {false, "available_filter_functions"},
		"hardware":   {false, "no hardware PMU"},
		"watchpoint": {true, "may never fire"},
	})
}
