package catalog

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDescribe(t *testing.T) {
	c := newFakeHost(t)
	openatArgs := []Field{
		{Decl: "int __syscall_nr", Type: "int", Name: "__syscall_nr", Offset: 8, Size: 4, Signed: true},
		{Decl: "int dfd", Type: "int", Name: "dfd", Offset: 16, Size: 8},
		{Decl: "const char * filename", Type: "const char *", Name: "filename", Offset: 24, Size: 8},
		{Decl: "int flags", Type: "int", Name: "flags", Offset: 32, Size: 8},
		{Decl: "umode_t mode", Type: "umode_t", Name: "mode", Offset: 40, Size: 8},
	}
	for _, tt := range []struct {
		name       string
		probe      string
		want       *Probe
		wantReason string // substring of Reason
	}{
		{
			name:  "tracepoint",
			probe: "tracepoint:syscalls:sys_enter_openat",
			want: &Probe{Name: "tracepoint:syscalls:sys_enter_openat", Provider: "tracepoint", Args: openatArgs, Attachable: true, Stability: Stable,
				Example: `tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }`},
		},
		{
			name:  "alias and a single wildcard match",
			probe: "t:syscalls:sys_enter_open*",
			want: &Probe{Name: "tracepoint:syscalls:sys_enter_openat", Provider: "tracepoint", Args: openatArgs, Attachable: true, Stability: Stable,
				Example: `tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args->filename)); }`},
		},
		{
			name:  "char array field is printed without str()",
			probe: "tracepoint:task:task_rename",
			want: &Probe{Name: "tracepoint:task:task_rename", Provider: "tracepoint", Attachable: true, Stability: Stable,
				Example: `tracepoint:task:task_rename { printf("%s %s\n", comm, args->oldcomm); }`},
		},
		{
			name:  "return value",
			probe: "tracepoint:syscalls:sys_exit_openat",
			want: &Probe{Name: "tracepoint:syscalls:sys_exit_openat", Provider: "tracepoint", Attachable: true, Stability: Stable,
				Example: `tracepoint:syscalls:sys_exit_openat { @[comm] = hist(args->ret); }`},
		},
		{
			name:  "uprobe",
			probe: "uprobe:app:main",
			want: &Probe{Name: "uprobe:" + c.app + ":main", Provider: "uprobe", Attachable: true, Stability: BinarySpecific, Args: registerArgs(runtime.GOARCH),
				Example: "uprobe:" + c.app + ":main { @[comm] = count(); }"},
		},
		{
			name:  "uretprobe",
			probe: "ur:" + c.app + ":main",
			want: &Probe{Name: "uretprobe:" + c.app + ":main", Provider: "uretprobe", Attachable: true, Stability: BinarySpecific, Args: returnArg(runtime.GOARCH),
				Example: "uretprobe:" + c.app + ":main { @[comm] = hist(retval); }"},
		},
		{
			name:  "usdt with arguments and a semaphore",
			probe: "usdt:" + c.app + ":request__done",
			want: &Probe{Name: "usdt:" + c.app + ":app:request__done", Provider: "usdt", Attachable: true, Stability: BinarySpecific,
				Args:    []Field{{Decl: "int32 arg0", Type: "int32", Name: "arg0", Size: 4, Signed: true}},
				Example: "usdt:" + c.app + ":app:request__done { @[comm] = hist(arg0); }"},
			wantReason: "semaphore",
		},
		{
			name:       "kprobe unavailable is described",
			probe:      "kprobe:vfs_read",
			want:       &Probe{Name: "kprobe:vfs_read", Provider: "kprobe", Stability: Unstable, Args: registerArgs(runtime.GOARCH), Example: "kprobe:vfs_read { @[kstack] = count(); }"},
			wantReason: "kprobe_events does not exist",
		},
		{
			name:       "hardware without a PMU",
			probe:      "hardware:cycles:1000000",
			want:       &Probe{Name: "hardware:cycles:1000000", Provider: "hardware", Stability: Stable, Example: "hardware:cycles:1000000 { @[comm] = count(); }"},
			wantReason: "no hardware PMU",
		},
		{
			name:  "software alias",
			probe: "s:faults:100",
			want:  &Probe{Name: "software:faults:100", Provider: "software", Attachable: true, Stability: Stable, Example: "software:faults:100 { @[comm] = count(); }"},
		},
		{
			name:  "software wildcard with one match",
			probe: "software:cpu-c*",
			want:  &Probe{Name: "software:cpu-clock", Provider: "software", Attachable: true, Stability: Stable, Example: "software:cpu-clock { @[comm] = count(); }"},
		},
		{
			name:       "watchpoint in a VM",
			probe:      "watchpoint:0x10000000:8:w",
			want:       &Probe{Name: "watchpoint:0x10000000:8:w", Provider: "watchpoint", Attachable: true, Stability: Stable, Example: `watchpoint:0x10000000:8:w { printf("%s touched it\n", comm); }`},
			wantReason: "may never fire",
		},
		{
			name:  "BEGIN",
			probe: "BEGIN",
			want:  &Probe{Name: "BEGIN", Provider: "BEGIN", Attachable: true, Stability: Stable, Example: `BEGIN { printf("tracing... hit Ctrl-C to end\n"); }`},
		},
		{
			name:  "interval",
			probe: "i:s:1",
			want:  &Probe{Name: "interval:s:1", Provider: "interval", Attachable: true, Stability: Stable, Example: `interval:s:1 { time("%H:%M:%S\n"); }`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Describe(context.Background(), tt.probe)
			if err != nil {
				t.Fatalf("Describe(%q): %v", tt.probe, err)
			}
			if !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Describe(%q).Reason = %q, want it to mention %q", tt.probe, got.Reason, tt.wantReason)
			}
			ignore := cmpopts.IgnoreFields(Probe{}, "Reason")
			if tt.want.Args == nil && got.Provider == "tracepoint" {
				ignore = cmpopts.IgnoreFields(Probe{}, "Reason", "Args")
			}
			if diff := cmp.Diff(tt.want, got, ignore); diff != "" {
				t.Errorf("Describe(%q) mismatch (-want +got):\n%s", tt.probe, diff)
			}
		})
	}
}

func TestDescribeErrors(t *testing.T) {
	c := newFakeHost(t)
	for _, tt := range []struct {
		probe   string
		wantErr error
	}{
		{"tracepoint:sched:sched_*", ErrAmbiguous},
		{"tracepoint:sched:nope", ErrNotFound},
		{"tracepoint:ftrace:function", ErrNotFound},
		{"software:nope", ErrNotFound},
		{"software:*-faults", ErrAmbiguous},
		{"software:zz*", ErrNotFound},
		{"uprobe:" + c.app + ":nope", ErrNotFound},
		{"uprobe:/no/such/bin:main", ErrNotFound},
		{"usdt:" + c.app + ":app:nope", ErrNotFound},
		{"uprobe:*:main", ErrNeedsTarget},
		{"sched:sched_switch", ErrUnknownProvider},
		{"", ErrUnknownProvider},
	} {
		t.Run(tt.probe, func(t *testing.T) {
			_, err := c.Describe(context.Background(), tt.probe)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Describe(%q) error = %v, want %v", tt.probe, err, tt.wantErr)
			}
		})
	}
}

func TestDescribeUnknownProviderNamesValidOnes(t *testing.T) {
	_, err := newFakeHost(t).Describe(context.Background(), "kprob:vfs_read")
	if !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("Describe(kprob:vfs_read) error = %v, want ErrUnknownProvider", err)
	}
	for _, p := range []string{"tracepoint (t)", "uprobe (u)", "usdt (U)", "kfunc (f, fentry)", "BEGIN"} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
}

func TestListing(t *testing.T) {
	p, err := newFakeHost(t).Describe(context.Background(), "tracepoint:sched:sched_process_exec")
	if err != nil {
		t.Fatal(err)
	}
	want := "tracepoint:sched:sched_process_exec\n" +
		"    __data_loc char[] filename\n" +
		"    pid_t pid\n" +
		"    pid_t old_pid\n"
	if diff := cmp.Diff(want, p.Listing()); diff != "" {
		t.Errorf("Listing() mismatch (-want +got):\n%s", diff)
	}
}

func TestFields(t *testing.T) {
	c := newFakeHost(t)
	want := []string{"prev_comm", "prev_pid", "prev_prio", "prev_state", "next_comm", "next_pid", "next_prio"}
	for _, name := range []string{"tracepoint:sched:sched_switch", "t:sched:sched_switch", "sched:sched_switch"} {
		fields, err := c.Fields(context.Background(), name)
		if err != nil {
			t.Fatalf("Fields(%q): %v", name, err)
		}
		var got []string
		for _, f := range fields {
			got = append(got, f.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Fields(%q) names mismatch (-want +got):\n%s", name, diff)
		}
	}
	for _, name := range []string{"sched:nope", "ftrace:function", "kprobe:vfs_read", "sched"} {
		if _, err := c.Fields(context.Background(), name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Fields(%q) error = %v, want ErrNotFound", name, err)
		}
	}
}

func TestExpand(t *testing.T) {
	c := newFakeHost(t)
	for _, tt := range []struct {
		point   string
		want    []string
		wantErr error
	}{
		{"tracepoint:syscalls:sys_enter_open*", []string{"tracepoint:syscalls:sys_enter_openat"}, nil},
		{"t:sched:sched_switch", []string{"tracepoint:sched:sched_switch"}, nil},
		{"tracepoint:syscalls:*", []string{"tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_enter_read", "tracepoint:syscalls:sys_exit_openat"}, nil},
		{"tracepoint:sched:nope", nil, ErrNotFound},
		{"tracepoint:sched", nil, ErrNotFound},
		{"BEGIN", []string{"BEGIN"}, nil},
		{"END", []string{"END"}, nil},
		{"i:s:1", []string{"interval:s:1"}, nil},
		{"profile:hz:99", []string{"profile:hz:99"}, nil},
		{"software:faults:10", []string{"software:faults:10"}, nil},
		{"w:0x1000:8:w", []string{"watchpoint:0x1000:8:w"}, nil},
		{"kprobe:vfs_read", nil, ErrUnavailable},
		{"hardware:cycles", nil, ErrUnavailable},
		{"uprobe:app:main", []string{"uprobe:" + c.app + ":main"}, nil},
		{"uprobe:app:*", []string{"uprobe:" + c.app + ":fast_memcpy", "uprobe:" + c.app + ":handle_request", "uprobe:" + c.app + ":main"}, nil},
		{"uprobe:app:0x1004", []string{"uprobe:" + c.app + ":0x1004"}, nil},
		{"uprobe:app:main+4", []string{"uprobe:" + c.app + ":main+4"}, nil},
		{"uprobe:app:nope", nil, ErrNotFound},
		{"uprobe:app", nil, ErrNeedsTarget},
		{"usdt:app:*", []string{"usdt:" + c.app + ":app:request__done", "usdt:" + c.app + ":app:request__start"}, nil},
		{"usdt:app", nil, ErrNeedsTarget},
		{"sched:sched_switch", nil, ErrUnknownProvider},
	} {
		t.Run(tt.point, func(t *testing.T) {
			got, err := c.Expand(context.Background(), tt.point)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Expand(%q) error = %v, want %v", tt.point, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Expand(%q) mismatch (-want +got):\n%s", tt.point, diff)
			}
		})
	}
}

func TestRegisterArgs(t *testing.T) {
	for _, tt := range []struct {
		arch      string
		n         int
		last, ret string
	}{
		{"amd64", 6, "uint64 arg5 /* register r9: argument 6; str(arg5) if it is a char * */", "uint64 retval /* register rax: the return value */"},
		{"arm64", 8, "uint64 arg7 /* register x7: argument 8; str(arg7) if it is a char * */", "uint64 retval /* register x0: the return value */"},
	} {
		args := registerArgs(tt.arch)
		if len(args) != tt.n || args[0].Name != "arg0" || args[len(args)-1].Decl != tt.last {
			t.Errorf("%s: args %+v", tt.arch, args)
		}
		if ret := returnArg(tt.arch); len(ret) != 1 || ret[0].Name != "retval" || ret[0].Decl != tt.ret {
			t.Errorf("%s: return %+v", tt.arch, ret)
		}
	}
	if args := registerArgs("mips"); len(args) != 0 {
		t.Errorf("unknown architecture: %+v", args)
	}
}
