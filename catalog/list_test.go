package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fakeTracepoints = []string{
	"tracepoint:sched:sched_process_exec",
	"tracepoint:sched:sched_switch",
	"tracepoint:sched:sched_wakeup",
	"tracepoint:syscalls:sys_enter_openat",
	"tracepoint:syscalls:sys_enter_read",
	"tracepoint:syscalls:sys_exit_openat",
	"tracepoint:task:task_rename",
}

func TestListPatterns(t *testing.T) {
	c := newFakeHost(t)
	app, lib := c.app, c.lib
	software := eventNames("software:", softwareEvents)
	all := append(append([]string{}, software...), fakeTracepoints...)
	for _, tt := range []struct {
		name    string
		pattern string
		want    []string
		wantErr error
	}{
		{"empty lists all without a target", "", all, nil},
		{"all tracepoints", "tracepoint:*", fakeTracepoints, nil},
		{"provider alone lists it", "tracepoint:", fakeTracepoints, nil},
		{"alias", "t:sched:*", fakeTracepoints[:3], nil},
		{"star crosses colon", "tracepoint:sched*", fakeTracepoints[:3], nil},
		{"category glob", "tracepoint:syscalls:*open*", []string{"tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_exit_openat"}, nil},
		{"exact", "tracepoint:syscalls:sys_enter_openat", []string{"tracepoint:syscalls:sys_enter_openat"}, nil},
		{"no partial match with a provider", "tracepoint:syscalls:sys_enter_open", nil, nil},
		{"question mark", "tracepoint:sched:sched_switc?", []string{"tracepoint:sched:sched_switch"}, nil},
		{"class", "tracepoint:sched:sched_[sw]*", []string{"tracepoint:sched:sched_switch", "tracepoint:sched:sched_wakeup"}, nil},
		{"braces", "tracepoint:sched:sched_{switch,wakeup}", []string{"tracepoint:sched:sched_switch", "tracepoint:sched:sched_wakeup"}, nil},
		{"ftrace internals are not tracepoints", "tracepoint:ftrace:*", nil, nil},
		{"no provider matches anywhere", "syscalls:*open*", []string{"tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_exit_openat"}, nil},
		{"bare event name", "sys_enter_openat", []string{"tracepoint:syscalls:sys_enter_openat"}, nil},
		{"category and event", "sched:sched_switch", []string{"tracepoint:sched:sched_switch"}, nil},
		{"substring across providers", "*clock*", []string{"software:cpu-clock", "software:task-clock"}, nil},
		{"unknown head is a substring", "foo:bar", nil, nil},
		{"software", "s:*clock", []string{"software:cpu-clock", "software:task-clock"}, nil},
		{"software all", "software:*", software, nil},
		{"BEGIN", "BEGIN", []string{"BEGIN"}, nil},
		{"END", "END", []string{"END"}, nil},
		{"profile units", "profile:*", []string{"profile:hz:", "profile:ms:", "profile:s:", "profile:us:"}, nil},
		{"interval alias", "i:*", []string{"interval:hz:", "interval:ms:", "interval:s:", "interval:us:"}, nil},
		{"uprobe symbol", "uprobe:" + app + ":main", []string{"uprobe:" + app + ":main"}, nil},
		{"uprobe all functions", "uprobe:" + app + ":*", []string{"uprobe:" + app + ":fast_memcpy", "uprobe:" + app + ":handle_request", "uprobe:" + app + ":main"}, nil},
		{"uprobe without function lists all", "uprobe:" + app, []string{"uprobe:" + app + ":fast_memcpy", "uprobe:" + app + ":handle_request", "uprobe:" + app + ":main"}, nil},
		{"uprobe alias and glob", "u:" + app + ":handle_*", []string{"uprobe:" + app + ":handle_request"}, nil},
		{"uretprobe", "ur:" + app + ":main", []string{"uretprobe:" + app + ":main"}, nil},
		{"uprobe name in PATH", "uprobe:app:main", []string{"uprobe:" + app + ":main"}, nil},
		{"uprobe glob path", "uprobe:" + filepath.Dir(app) + "/a*:main", []string{"uprobe:" + app + ":main"}, nil},
		{"uprobe library name", "uprobe:fake:fake_alloc", []string{"uprobe:" + lib + ":fake_alloc"}, nil},
		{"uprobe library with lib prefix", "uprobe:libfake:*", []string{"uprobe:" + lib + ":fake_alloc"}, nil},
		{"uprobe library soname", "uprobe:libfake.so.1:fake_alloc", []string{"uprobe:" + lib + ":fake_alloc"}, nil},
		{"uprobe no such symbol", "uprobe:" + app + ":no_such_function", nil, nil},
		{"usdt all", "usdt:" + app + ":*", []string{"usdt:" + app + ":app:request__done", "usdt:" + app + ":app:request__start"}, nil},
		{"usdt name without provider", "U:" + app + ":request__start", []string{"usdt:" + app + ":app:request__start"}, nil},
		{"usdt provider and name", "usdt:app:app:*done", []string{"usdt:" + app + ":app:request__done"}, nil},
		{"usdt wrong provider", "usdt:" + app + ":other:*", nil, nil},
		{"uprobe without binary", "uprobe:*", nil, ErrNeedsTarget},
		{"uprobe empty", "uprobe:", nil, ErrNeedsTarget},
		{"usdt without binary", "usdt:*", nil, ErrNeedsTarget},
		{"watchpoint", "watchpoint:*", nil, ErrNeedsTarget},
		{"uprobe missing binary", "uprobe:/no/such/binary:*", nil, ErrNotFound},
		{"uprobe unknown library", "uprobe:nosuchlibxyz:*", nil, ErrNotFound},
		{"kprobe unavailable", "kprobe:*", nil, ErrUnavailable},
		{"kfunc alias unavailable", "fentry:*", nil, ErrUnavailable},
		{"hardware unavailable", "hardware:*", nil, ErrUnavailable},
		{"rawtracepoint needs BTF", "rawtracepoint:*", nil, ErrUnavailable},
		{"misspelled provider", "kprob:vfs_read", nil, ErrUnknownProvider},
		{"too many alternatives", strings.Repeat("{a,b}", 11), nil, errTooManyAlternatives},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.List(context.Background(), tt.pattern)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("List(%q) error = %v, want %v", tt.pattern, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(%q) mismatch (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
}

func TestListUSDT(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("needs %s: %v", py, err)
	}
	c := newFakeHost(t)
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"usdt:" + py + ":python:gc__start", []string{"usdt:" + py + ":python:gc__start"}},
		{"U:" + py + ":gc__start", []string{"usdt:" + py + ":python:gc__start"}},
		{"usdt:" + py + ":*gc*", []string{"usdt:" + py + ":python:gc__done", "usdt:" + py + ":python:gc__start"}},
		{"usdt:" + py + ":nope:*", nil},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := c.List(context.Background(), tt.pattern)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.pattern, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(%q) mismatch (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
}

func TestListFullHost(t *testing.T) {
	c := fullCatalog(t)
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"kprobe:vfs_*", []string{"kprobe:vfs_read", "kprobe:vfs_write"}},
		{"kr:ksys_read", []string{"kretprobe:ksys_read"}},
		{"kprobe:*part*", nil},
		{"kprobe:mod_fn", []string{"kprobe:mod_fn"}},
		{"kfunc:*", []string{"kfunc:vfs_read"}},
		{"fexit:*", []string{"kretfunc:vfs_read"}},
		{"iter:*", []string{"iter:task", "iter:tcp"}},
		{"hardware:cpu-*", []string{"hardware:cpu-cycles"}},
		{"rawtracepoint:*", []string{"rawtracepoint:sched_switch"}},
		{"*vfs_read*", []string{"kfunc:vfs_read", "kprobe:vfs_read"}},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := c.List(context.Background(), tt.pattern)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.pattern, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(%q) mismatch (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
	all, err := c.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 + 4 + 1 + 2 + len(softwareEvents) + len(hardwareEvents); len(all) != want {
		t.Errorf("List(\"\") = %d names, want %d: %v", len(all), want, all)
	}
}

func TestListNoTracefs(t *testing.T) {
	c := New(&Options{TracefsDir: t.TempDir(), SysfsDir: "testdata/sys"})
	for _, p := range []string{"", "tracepoint:*", "*sleep*"} {
		_, err := c.List(context.Background(), p)
		if !errors.Is(err, ErrNoTracefs) {
			t.Errorf("List(%q) error = %v, want ErrNoTracefs", p, err)
		}
		if err != nil && !strings.Contains(err.Error(), "mount -t tracefs nodev /sys/kernel/tracing") {
			t.Errorf("List(%q) error %q does not say how to mount tracefs", p, err)
		}
	}
	// Probe types that do not need tracefs still list.
	if got, err := c.List(context.Background(), "software:cpu-clock"); err != nil || len(got) != 1 {
		t.Errorf("List(software:cpu-clock) = %v, %v", got, err)
	}
}

func TestListCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newFakeHost(t).List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List(canceled) error = %v, want context.Canceled", err)
	}
}

// TestListResultIsCopy checks that a caller changing a result does not
// change the index.
func TestListResultIsCopy(t *testing.T) {
	c := newFakeHost(t)
	ctx := context.Background()
	got, err := c.List(ctx, "tracepoint:*")
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "clobbered"
	again, _ := c.List(ctx, "tracepoint:*")
	if diff := cmp.Diff(fakeTracepoints, again); diff != "" {
		t.Errorf("List after clobbering a result mismatch (-want +got):\n%s", diff)
	}
}

func TestListHost(t *testing.T) {
	c := hostCatalog(t)
	ctx := context.Background()
	dir, _ := findTracefs("")
	data, err := os.ReadFile(dir + "/available_events")
	if err != nil {
		t.Fatal(err)
	}
	tps, err := c.List(ctx, "tracepoint:*")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(string(data), "\n"); len(tps) != want {
		t.Errorf("List(tracepoint:*) = %d names, available_events has %d", len(tps), want)
	}
	for _, tt := range []struct {
		pattern string
		want    string
	}{
		{"tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_enter_openat"},
		{"sys_enter_openat", "tracepoint:syscalls:sys_enter_openat"},
		{"t:sched:sched_switch", "tracepoint:sched:sched_switch"},
		{"*cpu-clock*", "software:cpu-clock"},
		{"uprobe:/bin/bash:readline", "uprobe:/bin/bash:readline"},
		{"uprobe:libc:malloc", ""}, // path depends on the distribution
	} {
		got, err := c.List(ctx, tt.pattern)
		if err != nil {
			t.Errorf("List(%q): %v", tt.pattern, err)
			continue
		}
		if len(got) == 0 || tt.want != "" && !containsSorted(got, tt.want) {
			t.Errorf("List(%q) = %v, want %s among them", tt.pattern, got, tt.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newFakeHost(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range []string{"", "t:sched:*", "uprobe:" + c.app + ":*", "usdt:" + c.app + ":*", "software:*"} {
				if _, err := c.List(ctx, p); err != nil {
					t.Errorf("List(%q): %v", p, err)
				}
			}
			if _, err := c.Describe(ctx, "tracepoint:sched:sched_switch"); err != nil {
				t.Errorf("Describe: %v", err)
			}
			c.Nearest(ctx, "tracepoint:sched:sched_swich", 3)
			c.ProbeTypes(ctx)
		}()
	}
	wg.Wait()
}
