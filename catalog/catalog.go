package catalog

import (
	"fmt"
	"os"
	"sync"
)

// Options configures a [Catalog]. The zero value (or nil) reads this host.
type Options struct {
	TracefsDir string // "" = /sys/kernel/tracing, then /sys/kernel/debug/tracing
	SysfsDir   string // "" = /sys (bus/event_source/devices, kernel/btf/vmlinux)

	ProcDir   string // "" = /proc (cpuinfo, to tell a VM)
	LDSOCache string // "" = /etc/ld.so.cache
	DebugDir  string // "" = /usr/lib/debug (separate debug files)
	Path      string // search path for bare uprobe targets; "" = $PATH
}

// Catalog indexes the probes of this host. Create it with [New]; it loads
// what each query needs on first use and caches it, and is safe for
// concurrent use.
//
// Kernel lists (tracepoints, traceable functions, BTF) are read once per
// Catalog: events of a module loaded later appear in a new Catalog.
// Binaries are re-read when their size or modification time changes.
type Catalog struct {
	opts Options

	hostCache   lazy[*host]
	tracepoints lazy[[]string] // sorted "tracepoint:cat:event"
	kfuncs      lazy[[]string] // sorted bare names
	kprobes     lazy[[]string] // sorted bare names
	btf         lazy[btfNames]

	mu      sync.Mutex
	names   map[string][]string // provider -> sorted full names, built from the above
	formats map[string][]Field  // "cat:event" -> fields

	bins    binaryCache
	ldcache ldCache
}

// New returns a Catalog; opts may be nil. It does no I/O.
func New(opts *Options) *Catalog {
	c := &Catalog{names: map[string][]string{}, formats: map[string][]Field{}}
	if opts != nil {
		c.opts = *opts
	}
	return c
}

// tracefsDir returns the mounted tracefs or an error wrapping ErrNoTracefs.
func (c *Catalog) tracefsDir() (string, error) {
	h := c.host()
	if h.tracefs == "" {
		return "", h.tracefsErr
	}
	return h.tracefs, nil
}

func (c *Catalog) tracepointNames() ([]string, error) {
	return c.tracepoints.get(func() ([]string, error) {
		dir, err := c.tracefsDir()
		if err != nil {
			return nil, err
		}
		return readTracepoints(dir)
	})
}

func (c *Catalog) filterFunctions() ([]string, error) {
	return c.kprobes.get(func() ([]string, error) {
		dir, err := c.tracefsDir()
		if err != nil {
			return nil, err
		}
		return readFilterFunctions(dir)
	})
}

func (c *Catalog) btfNames() (btfNames, error) {
	return c.btf.get(func() (btfNames, error) {
		data, err := os.ReadFile(c.host().btfPath)
		if err != nil {
			return btfNames{}, fmt.Errorf("read kernel btf: %w", err)
		}
		n, err := parseBTFNames(data)
		if err != nil {
			return btfNames{}, fmt.Errorf("read kernel btf: %w", err)
		}
		return n, nil
	})
}

// kernelNames returns the sorted full names of a provider whose names do
// not depend on a target. The caller has checked that the provider is
// available.
func (c *Catalog) kernelNames(prov string) ([]string, error) {
	if prov == "tracepoint" {
		return c.tracepointNames()
	}
	c.mu.Lock()
	names, ok := c.names[prov]
	c.mu.Unlock()
	if ok {
		return names, nil
	}
	var bare []string
	switch prov {
	case "software":
		bare = eventNames("", softwareEvents)
	case "hardware":
		bare = eventNames("", hardwareEvents)
	case "kprobe", "kretprobe":
		f, err := c.filterFunctions()
		if err != nil {
			return nil, err
		}
		bare = f
	case "kfunc", "kretfunc":
		// bpftrace offers the BTF functions that ftrace can also trace.
		b, err := c.btfNames()
		if err != nil {
			return nil, err
		}
		f, err := c.filterFunctions()
		if err != nil {
			return nil, err
		}
		bare = intersectSorted(b.funcs, f)
	case "iter":
		b, err := c.btfNames()
		if err != nil {
			return nil, err
		}
		bare = b.iters
	case "rawtracepoint":
		// Raw tracepoints are named by event alone; the syscalls category
		// is made of one raw tracepoint (sys_enter/sys_exit) and has none.
		tps, err := c.tracepointNames()
		if err != nil {
			return nil, err
		}
		for _, tp := range tps {
			cat, ev := splitTracepoint(tp)
			if cat != "syscalls" {
				bare = append(bare, ev)
			}
		}
	case "profile":
		for _, u := range profileUnits {
			bare = append(bare, u+":")
		}
	case "interval":
		for _, u := range intervalUnits {
			bare = append(bare, u+":")
		}
	case "BEGIN", "END":
		return []string{prov}, nil
	default:
		return nil, nil
	}
	full := make([]string, len(bare))
	for i, b := range bare {
		full[i] = prov + ":" + b
	}
	full = sortUnique(full)
	c.mu.Lock()
	c.names[prov] = full
	c.mu.Unlock()
	return full, nil
}

// splitTracepoint splits "tracepoint:cat:event".
func splitTracepoint(full string) (cat, ev string) {
	rest := full[len("tracepoint:"):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == ':' {
			return rest[:i], rest[i+1:]
		}
	}
	return "", rest
}

func intersectSorted(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// fields returns the cached fields of tracepoint "cat:event".
func (c *Catalog) fields(name string) ([]Field, error) {
	c.mu.Lock()
	f, ok := c.formats[name]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	dir, err := c.tracefsDir()
	if err != nil {
		return nil, err
	}
	f, err = readFormat(dir, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.formats[name] = f
	c.mu.Unlock()
	return f, nil
}
