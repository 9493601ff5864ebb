package catalog

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// fakeHost is the fake host of testdata/: seven tracepoints, the PMUs of
// this project's VMs (no cpu PMU), no BTF, no kprobes, a hypervisor; plus a
// fake binary "app" in PATH and a fake library "libfake" in ld.so.cache.
type fakeHost struct {
	*Catalog
	app string // path of the fake binary
	lib string // path of the fake library
}

func newFakeHost(t testing.TB) fakeHost {
	t.Helper()
	dir := t.TempDir()
	app := fakeBinary(t, dir)
	lib := writeTestELF(t, dir, "lib/libfake.so.1", testELF{dynsym: []testSym{{"fake_alloc", elf.STT_FUNC, 0x1000}}})
	cache := filepath.Join(dir, "ld.so.cache")
	flags, _ := ldArchFlag()
	data := ldCacheFile([]ldEntry{{Flags: flags | ldFlagELFLibc6, Name: "libfake.so.1", Path: lib}})
	if err := os.WriteFile(cache, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := New(&Options{
		TracefsDir: "testdata/tracefs",
		SysfsDir:   "testdata/sys",
		ProcDir:    "testdata/proc",
		LDSOCache:  cache,
		DebugDir:   filepath.Join(dir, "debug"),
		Path:       filepath.Join(dir, "bin"),
	})
	return fakeHost{Catalog: c, app: app, lib: lib}
}

// fullCatalog builds, in a temporary directory, a host where every probe
// type works: kprobe_events and a readable available_filter_functions,
// kernel BTF with two functions and two iterators, a cpu PMU, no hypervisor.
func fullCatalog(t testing.TB) *Catalog {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tracing/available_events", []byte("sched:sched_switch\nsyscalls:sys_enter_read\n"))
	write("tracing/kprobe_events", nil)
	write("tracing/available_filter_functions", []byte("vfs_read\nvfs_write\nksys_read\nfoo.part.0\nmod_fn [mymod]\n"))
	for _, pmu := range []string{"software", "tracepoint", "uprobe", "breakpoint", "cpu"} {
		write("sys/bus/event_source/devices/"+pmu+"/type", []byte("1\n"))
	}
	write("sys/kernel/btf/vmlinux", btfBlob([]btfType{
		{kind: btfKindFunc, name: "vfs_read"},
		{kind: btfKindFunc, name: "not_traceable"},
		{kind: btfKindStruct, name: "bpf_iter__task", vlen: 1},
		{kind: btfKindStruct, name: "bpf_iter__tcp", vlen: 1},
	}))
	write("proc/cpuinfo", []byte("flags\t: fpu vme\n"))
	return New(&Options{
		TracefsDir: filepath.Join(dir, "tracing"),
		SysfsDir:   filepath.Join(dir, "sys"),
		ProcDir:    filepath.Join(dir, "proc"),
		LDSOCache:  filepath.Join(dir, "none"),
		DebugDir:   dir,
		Path:       filepath.Join(dir, "bin"),
	})
}

// hostCatalog is the real host; tests using it skip without tracefs.
func hostCatalog(t testing.TB) *Catalog {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: available_events is readable by root only")
	}
	if _, err := findTracefs(""); err != nil {
		t.Skipf("needs tracefs: %v", err)
	}
	return New(nil)
}

func TestLDArchFlagRoundTrip(t *testing.T) {
	// The fake cache relies on ldArchFlag to produce entries lookupLDCache
	// accepts on this architecture.
	flags, ok := ldArchFlag()
	if !ok {
		t.Skip("no ld.so.cache flag known for this architecture")
	}
	entries := []ldEntry{{Flags: flags | ldFlagELFLibc6, Name: "libx.so.2", Path: "/x"}}
	if p, ok := lookupLDCache(entries, "x"); !ok || p != "/x" {
		t.Errorf("lookupLDCache(x) = %q, %v; want /x", p, ok)
	}
}
