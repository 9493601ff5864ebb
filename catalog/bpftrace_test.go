package catalog

// Tests in this file compare the catalog with the real bpftrace, the one
// under test (see internal/testenv). They need root and skip without it.
// Binaries they probe by path are copies under /tmp, which the bpftrace of
// another release, run in its own root, sees at the same path.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

func requireBpftrace(t testing.TB) string {
	t.Helper()
	return testenv.Bpftrace(t).Path
}

// hostFiles copies the binaries the tests probe by path to where the
// bpftrace under test sees them too, and returns the copies' paths.
func hostFiles(t testing.TB) (bash, python3 string) {
	t.Helper()
	bash = testenv.HostFile(t, "/bin/bash")
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		python3 = testenv.HostFile(t, "/usr/bin/python3")
	}
	return bash, python3
}

// runBpftrace runs bpftrace with args and returns stdout. stderr carries
// warnings (the RLIMIT_MEMLOCK line on these machines) and is only shown
// on failure.
func runBpftrace(t testing.TB, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bpftrace %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestListMatchesBpftrace compares List with `bpftrace -l` for the same
// pattern: the same set of names, exactly.
func TestListMatchesBpftrace(t *testing.T) {
	bt := requireBpftrace(t)
	c := hostCatalog(t)
	bash, python3 := hostFiles(t)
	for _, tt := range []struct {
		pattern string
		keep    func(string) bool // which bpftrace lines to compare; nil keeps all
		// byName: the target is a bare name, resolved in the file system
		// bpftrace sees; the catalog resolves it in the host's.
		byName bool
		// alt is the same probes named with their provider: bpftrace 0.27
		// lists nothing for a usdt pattern without one (yet attaches to
		// it), so there the catalog is compared with the listing of alt.
		alt string
	}{
		{pattern: "tracepoint:syscalls:*read*"},
		{pattern: "tracepoint:*"},
		{pattern: "t:sched:*"},
		{pattern: "tracepoint:sched*"},
		{pattern: "tracepoint:*:sched_switch"},
		{pattern: "tracepoint:syscalls:sys_enter_openat"},
		{pattern: "uprobe:" + bash + ":*"},
		{pattern: "uprobe:" + bash + ":read*"},
		{pattern: "ur:" + bash + ":readline"},
		{pattern: "uprobe:bash:readline", byName: true},
		{pattern: "uprobe:libc:*", byName: true},
		{pattern: "uprobe:libpthread:*", byName: true},
		{pattern: "uprobe:" + python3 + ":*"},
		{pattern: "uprobe:python3:Py_Main", byName: true},
		{pattern: "usdt:" + python3 + ":*"},
		{pattern: "usdt:" + python3 + ":gc__start", alt: "usdt:" + python3 + ":*:gc__start"},
		{pattern: "U:" + python3 + ":python:*"},
		// bpftrace 0.17 also prints the pattern itself as a bogus
		// "software:*sleep*:" line; tracepoints are what it lists.
		{pattern: "*sleep*", keep: func(s string) bool { return strings.HasPrefix(s, "tracepoint:") }},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			if strings.Contains(tt.pattern, "python3") {
				if python3 == "" {
					t.Skip("needs /usr/bin/python3")
				}
			}
			if tt.byName {
				testenv.RequireHostRoot(t)
			}
			want := lines(runBpftrace(t, bt, "-l", tt.pattern))
			if len(want) == 0 && tt.alt != "" {
				want = lines(runBpftrace(t, bt, "-l", tt.alt))
			}
			if tt.keep != nil {
				want = slices.DeleteFunc(want, func(s string) bool { return !tt.keep(s) })
			}
			sort.Strings(want)
			got, err := c.List(context.Background(), tt.pattern)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.pattern, err)
			}
			if len(want) == 0 {
				t.Fatalf("bpftrace -l %q listed nothing: the comparison would prove nothing", tt.pattern)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List(%q) differs from bpftrace -l (-bpftrace +catalog):\n%s", tt.pattern, diff)
			}
		})
	}
}

// TestDescribeMatchesBpftraceVerbose compares Describe's arguments with
// `bpftrace -lv` for every syscall tracepoint, byte for byte.
func TestDescribeMatchesBpftraceVerbose(t *testing.T) {
	bt := requireBpftrace(t)
	c := hostCatalog(t)
	out := runBpftrace(t, bt, "-lv", "tracepoint:syscalls:*")
	blocks := map[string]string{}
	var name string
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" || l == "\n" {
			continue
		}
		if !strings.HasPrefix(l, " ") {
			name = strings.TrimSuffix(l, "\n")
		}
		blocks[name] += l
	}
	if len(blocks) < 100 {
		t.Fatalf("bpftrace -lv listed %d syscall tracepoints, want hundreds", len(blocks))
	}
	names, err := c.List(context.Background(), "tracepoint:syscalls:*")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(blocks) {
		t.Errorf("List has %d syscall tracepoints, bpftrace -lv %d", len(names), len(blocks))
	}
	for _, n := range names {
		p, err := c.Describe(context.Background(), n)
		if err != nil {
			t.Errorf("Describe(%s): %v", n, err)
			continue
		}
		if diff := cmp.Diff(blocks[n], p.Listing()); diff != "" {
			t.Errorf("Describe(%s) differs from bpftrace -lv (-bpftrace +catalog):\n%s", n, diff)
		}
	}
}

// TestExamplesCompile checks that Describe's example programs are valid
// bpftrace: bpftrace's own check (-d before 0.22, --dry-run after, see
// bpftrace.Binary.CheckArgs) parses and type-checks them.
func TestExamplesCompile(t *testing.T) {
	b := testenv.Bpftrace(t)
	c := hostCatalog(t)
	bash, python3 := hostFiles(t)
	if python3 == "" {
		t.Skip("needs /usr/bin/python3")
	}
	var prog strings.Builder
	for i, probe := range []string{
		"tracepoint:syscalls:sys_enter_openat",
		"tracepoint:syscalls:sys_exit_read",
		"tracepoint:sched:sched_switch",
		"tracepoint:sched:sched_process_exec",
		"tracepoint:task:task_rename",
		"tracepoint:sched:sched_wakeup",
		"uprobe:" + bash + ":readline",
		"uretprobe:" + bash + ":readline",
		"usdt:" + python3 + ":python:gc__start",
		"software:faults:10",
		"profile:hz:99",
		"interval:s:1",
		"BEGIN",
		"END",
		"watchpoint:0x10000000:8:w",
	} {
		p, err := c.Describe(context.Background(), probe)
		if err != nil {
			t.Fatalf("Describe(%s): %v", probe, err)
		}
		// One program holds all examples: give each its own map.
		fmt.Fprintln(&prog, strings.ReplaceAll(p.Example, "@[", fmt.Sprintf("@m%d[", i)))
	}
	runBpftrace(t, b.Path, b.CheckArgs(prog.String(), bpftrace.RunOptions{})...)
}

// benchQueries are what an assistant asks list_probes most: a category
// glob, everything, a substring, and the symbols of a binary.
var benchQueries = []string{
	"tracepoint:syscalls:*read*",
	"tracepoint:*",
	"*sleep*",
	"uprobe:/bin/bash:*",
	"uprobe:libc:malloc",
	"usdt:/usr/bin/python3:*",
}

func BenchmarkList(b *testing.B) {
	c := hostCatalog(b)
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q, func(b *testing.B) {
			if _, err := c.List(ctx, q); err != nil {
				b.Fatalf("List(%q): %v", q, err)
			}
			for b.Loop() {
				if _, err := c.List(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListVsBpftrace measures, for each query, the median time of
// `bpftrace -l` and of List (warm), reports both and their ratio, and fails
// when List is not at least 50 times faster or its median exceeds 2 ms.
func BenchmarkListVsBpftrace(b *testing.B) {
	bt := requireBpftrace(b)
	c := hostCatalog(b)
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q, func(b *testing.B) {
			var btTimes []time.Duration
			for range 5 {
				start := time.Now()
				runBpftrace(b, bt, "-l", q)
				btTimes = append(btTimes, time.Since(start))
			}
			if _, err := c.List(ctx, q); err != nil {
				b.Fatalf("List(%q): %v", q, err)
			}
			var times []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := c.List(ctx, q); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			btMed, med := median(btTimes), median(times)
			ratio := float64(btMed) / float64(med)
			b.ReportMetric(float64(btMed.Microseconds())/1000, "bpftrace-ms")
			b.ReportMetric(float64(med.Nanoseconds())/1000, "catalog-µs")
			b.ReportMetric(ratio, "speedup-x")
			b.Logf("%-28s bpftrace -l median %7.2f ms, catalog median %8.1f µs, %6.0fx faster",
				q, float64(btMed.Microseconds())/1000, float64(med.Nanoseconds())/1000, ratio)
			if med > 2*time.Millisecond || ratio < 50 {
				b.Errorf("List(%q): median %v, %0.fx faster than bpftrace -l; want < 2ms and >= 50x", q, med, ratio)
			}
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func BenchmarkNearest(b *testing.B) {
	c := hostCatalog(b)
	ctx := context.Background()
	for _, q := range []string{"tracepoint:syscalls:sys_enter_opnat", "syscalls:sys_enter_opnat", "uprobe:/bin/bash:redline"} {
		b.Run(q, func(b *testing.B) {
			if len(c.Nearest(ctx, q, 3)) == 0 {
				b.Fatalf("Nearest(%q) found nothing", q)
			}
			for b.Loop() {
				c.Nearest(ctx, q, 3)
			}
		})
	}
}

func BenchmarkDescribe(b *testing.B) {
	c := hostCatalog(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Describe(ctx, "tracepoint:syscalls:sys_enter_openat"); err != nil {
			b.Fatal(err)
		}
	}
}
