package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// unavailable says why a probe type cannot be exercised on this host, or
// returns "" when it can. The hosts this project targets have no kprobes,
// no usable kfunc and no hardware PMU.
func unavailable(probeType string) string {
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
	readable := func(path string) bool {
		f, err := os.Open(path)
		if err != nil {
			return false
		}
		_ = f.Close()
		return true
	}
	switch probeType {
	case "kprobe", "kretprobe":
		if !exists("/sys/kernel/tracing/kprobe_events") && !exists("/sys/kernel/debug/tracing/kprobe_events") {
			return "the kernel has no kprobe_events (CONFIG_KPROBES is off)"
		}
	case "kfunc", "kretfunc", "iter":
		if !readable("/sys/kernel/tracing/available_filter_functions") && !readable("/sys/kernel/debug/tracing/available_filter_functions") {
			return "bpftrace needs available_filter_functions, which cannot be read here"
		}
	case "hardware":
		if !exists("/sys/bus/event_source/devices/cpu") {
			return "there is no hardware PMU (no /sys/bus/event_source/devices/cpu)"
		}
	case "watchpoint":
		return "this test does not touch the watched addresses"
	}
	return ""
}

// userTargets are the programs and the library that the examples' user-space
// probes name, as the test runs them.
type userTargets struct {
	bash, python3 string
	libDir        string // holds the libc to load, or "" for the host's own
}

// hostTargets points an example at the host's programs. When the bpftrace
// under test runs in another release's root, /bin/bash, /usr/bin/python3 and
// libc name that release's files (or none), which the activity the test
// generates on the host never runs; so it copies the host's files under
// /tmp, which the root shares, rewrites the program to probe the copies,
// and returns how to run them. On the host's bpftrace the program is the
// one served, unchanged.
func hostTargets(t *testing.T, ex Example) (string, userTargets) {
	t.Helper()
	host := userTargets{bash: "bash", python3: "/usr/bin/python3"}
	if testenv.Root(t) == "/" {
		return ex.Program, host
	}
	program := ex.Program
	if strings.Contains(program, "/bin/bash") {
		host.bash = testenv.HostFile(t, "/bin/bash")
		program = strings.ReplaceAll(program, "/bin/bash", host.bash)
	}
	if strings.Contains(program, "/usr/bin/python3") {
		host.python3 = testenv.HostFile(t, "/usr/bin/python3")
		program = strings.ReplaceAll(program, "/usr/bin/python3", host.python3)
	}
	if strings.Contains(program, ":libc:") {
		libs, _ := filepath.Glob("/lib/*-linux-gnu/libc.so.6")
		if len(libs) == 0 {
			t.Fatal("cannot find the host's libc.so.6 under /lib/*-linux-gnu")
		}
		libc := testenv.HostFile(t, libs[0])
		host.libDir = filepath.Dir(libc)
		program = strings.ReplaceAll(program, ":libc:", ":"+libc+":")
	}
	return program, host
}

func TestExamplesValidate(t *testing.T) {
	b := requireBpftrace(t)
	for _, ex := range ExamplesFor(b.Version) {
		if !testing.Short() && runnable(ex) == "" {
			// TestExamplesRun runs it, and fails on what this would:
			// one bpftrace run per example instead of two.
			continue
		}
		t.Run(ex.Name, func(t *testing.T) {
			t.Parallel()
			program, _ := hostTargets(t, ex)
			check, how := dryRun, b.CheckArgs("", bpftrace.RunOptions{})[0]
			reason := runnable(ex)
			if reason != "" && b.Version.Has(version.DryRun) {
				// --dry-run attaches the probes, which cannot attach here:
				// compile the program to a BPF object instead.
				check, how = emitELF, "--emit-elf"
			}
			stderr, err := check(t, b, program)
			if m := noMatches.FindString(stderr); m != "" && reason != "" {
				t.Skipf("%s: bpftrace %s looks the probes up before it checks the program, and %s", m, b.Version, reason)
			}
			if m := unableToAttach.FindString(stderr); m != "" && reason != "" {
				// 0.27 goes on to attach with --emit-elf too: every check
				// came before.
				t.Logf("%s: checked up to the attach, which fails because this example %s", m, reason)
				return
			}
			if err != nil {
				t.Fatalf("bpftrace %s %s: %v\n%s", b.Version, how, err, stderr)
			}
			for line := range strings.Lines(stderr) {
				if strings.Contains(line, "ERROR") && !strings.Contains(line, "RLIMIT_MEMLOCK") {
					t.Errorf("bpftrace %s reported: %s", how, line)
				}
			}
		})
	}
}

// TestExamplesRun runs every example whose probe types work here for one
// second while the test generates the activity the example looks for, stops
// it with SIGINT as a user would, and requires at least one line of output
// besides the attach notice. Examples run side by side, each with an
// activity generator of its own.
func TestExamplesRun(t *testing.T) {
	b := requireBpftrace(t)
	if testing.Short() {
		t.Skip("-short: runs bpftrace for about two seconds per example")
	}
	addr := listenTCP(t)
	for _, ex := range ExamplesFor(b.Version) {
		t.Run(ex.Name, func(t *testing.T) {
			t.Parallel()
			if reason := runnable(ex); reason != "" {
				t.Skip(reason)
			}
			dir := t.TempDir()
			program, targets := hostTargets(t, ex)
			output := runExample(t, b.Path, dir, ex.Name, program, func(ctx context.Context, round func()) {
				generateActivity(ctx, t, dir, addr, ex.Name, targets, round)
			})
			var records int
			for _, line := range output {
				if !json.Valid([]byte(line)) {
					t.Errorf("output line is not JSON: %s", line)
					continue
				}
				if !strings.Contains(line, `"type": "attached_probes"`) {
					records++
				}
			}
			if records == 0 {
				t.Errorf("no output besides the attach notice; got %q", output)
			}
			if bug, ok := dataLocBug[ex.Name]; ok && b.Version.Within("0.23", "0.24") {
				t.Logf("not checking for %q: %s", expectedOutput[ex.Name], bug)
			} else if want, ok := expectedOutput[ex.Name]; ok && !strings.Contains(strings.Join(output, "\n"), want) {
				t.Errorf("output does not mention %q, which the generated activity should produce; got %q", want, output)
			}
		})
	}
}

// noMatches is how bpftrace 0.24 and later refuse to compile a program
// whose probes do not exist here, before checking anything else.
var noMatches = regexp.MustCompile(`ERROR: No matches for \w+ [^\n]*`)

// unableToAttach is bpftrace failing to attach a probe, after its checks.
var unableToAttach = regexp.MustCompile(`ERROR: Unable to attach probe: [^\n]*`)

// emitELF compiles a program to a BPF object without loading it (bpftrace
// --emit-elf), and returns bpftrace's stderr.
func emitELF(t *testing.T, b *bpftrace.Binary, program string) (stderr string, err error) {
	t.Helper()
	dir, err := os.MkdirTemp(testenv.SharedDir, "bpftrace-mcp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, "--emit-elf", filepath.Join(dir, "prog.o"), "-e", program)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err = cmd.Run()
	return errBuf.String(), err
}

// runnable says why an example cannot run on this host, or returns "".
func runnable(ex Example) string {
	for _, p := range ex.ProbeTypes {
		if reason := unavailable(p); reason != "" {
			return fmt.Sprintf("uses %s probes and %s", p, reason)
		}
	}
	return ""
}

// expectedOutput is text that the activity generated during a run must put
// in an example's output: proof that the example sees what it claims to.
var expectedOutput = map[string]string{
	"bash-readline":          "typed-into-bash",
	"block-io-latency":       `"@usecs"`,
	"exec-trace":             "/usr/bin/ls",
	"exec-with-args":         "ls -l /usr/bin",
	"failed-opens":           "does-not-exist",
	"file-deletions":         "activity.tmp",
	"kills-and-oom":          "sig 15",
	"net-tx-by-device":       `"lo"`,
	"open-files":             "/usr/bin",
	"process-exit-codes":     "exit 1",
	"python-gc-latency":      `"@gc_usecs"`,
	"signals-sent":           "sig 15",
	"tcp-connections":        "connect",
	"malloc-sizes":           `"ls"`,
	"page-faults-by-process": `"@faults"`,
}

// dataLocBug names the examples that read a __data_loc string field of a
// tracepoint, which bpftrace 0.23 reads as an empty string (upstream's
// CHANGELOG, 0.24.0: "Fix reading of __data_loc tracepoint arguments";
// 0.17 and 0.27 read them, as recorded here).
var dataLocBug = map[string]string{
	"exec-trace":       "sched_process_exec's filename is a __data_loc field, empty in bpftrace 0.23",
	"net-tx-by-device": "net_dev_queue's name is a __data_loc field, empty in bpftrace 0.23",
}

// runExample runs one example with bpftrace -f json in its own process
// group, while activity runs, and returns the non-empty output lines.
//
// activity calls round each time it has done everything once. bpftrace is
// stopped a second after it attached and once the activity has done two
// rounds since (the first may have begun before): on a loaded machine a
// round can take longer than the second.
func runExample(t *testing.T, bpftrace, dir, name, program string, activity func(ctx context.Context, round func())) []string {
	t.Helper()
	file := filepath.Join(dir, name+".bt")
	if err := os.WriteFile(file, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}

	actCtx, stopActivity := context.WithCancel(t.Context())
	rounds := make(chan struct{}, 1)
	round := func() {
		select {
		case rounds <- struct{}{}:
		default:
		}
	}
	var activityDone sync.WaitGroup
	activityDone.Go(func() { activity(actCtx, round) })
	defer func() {
		stopActivity()
		activityDone.Wait()
	}()

	cmd := exec.Command(bpftrace, "-f", "json", file)
	// Its own process group, so that signals reach bpftrace and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bpftrace: %v", err)
	}
	pgid := cmd.Process.Pid

	attached := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var out []string
		var once sync.Once
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if strings.Contains(line, `"attached_probes"`) {
				once.Do(func() { close(attached) })
			}
			out = append(out, line)
		}
		_, _ = io.Copy(io.Discard, stdout)
		lines <- out
	}()

	waited := make(chan error, 1)
	go func() {
		out := <-lines
		err := cmd.Wait()
		lines <- out
		waited <- err
	}()

	select {
	case <-attached:
	case err := <-waited:
		t.Fatalf("bpftrace exited before attaching: %v\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-waited
		t.Fatalf("bpftrace did not attach within 15s\n%s", stderr.String())
	}

	minimum := time.After(time.Second)
	select {
	case <-rounds: // a round that may have begun before the attach
	default:
	}
	for n := 0; n < 2; n++ {
		select {
		case <-rounds:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-waited
			t.Fatalf("the activity did not complete two rounds within 30s of the attach")
		}
	}
	<-minimum
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("interrupt bpftrace: %v", err)
	}
	// bpftrace 0.17 now and then ignores a SIGINT: it stays asleep in its
	// event loop as if none had come. A second one stops it then. But a
	// second SIGINT while it is printing its maps can cut the output short,
	// so repeat the signal only while bpftrace is idle in its event loop.
	deadline := time.After(30 * time.Second)
	for sent := 1; ; {
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("bpftrace: %v\n%s", err, stderr.String())
			}
			// What TestExamplesValidate checks of the examples that run.
			for line := range strings.Lines(stderr.String()) {
				if strings.Contains(line, "ERROR") && !strings.Contains(line, "RLIMIT_MEMLOCK") {
					t.Errorf("bpftrace reported: %s", line)
				}
			}
			if sent > 1 {
				t.Logf("bpftrace ignored a SIGINT; it stopped after %d", sent)
			}
			return <-lines
		case <-time.After(3 * time.Second):
			if !idleInEventLoop(pgid) {
				continue
			}
			t.Logf("bpftrace is idle 3s after SIGINT %d: %s", sent, threadStates(pgid))
			sent++
			if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
				t.Fatalf("interrupt bpftrace: %v", err)
			}
		case <-deadline:
			where := threadStates(pgid)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-waited
			t.Fatalf("bpftrace did not stop within 30s of SIGINT; %s\n%s", where, stderr.String())
		}
	}
}

// idleInEventLoop reports whether bpftrace has a single thread asleep in
// epoll_wait, where it waits for events; while it prints maps or detaches
// probes it is elsewhere.
func idleInEventLoop(pid int) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		wchan, err := os.ReadFile(filepath.Join(dir, task.Name(), "wchan"))
		if err != nil || string(wchan) != "do_epoll_wait" {
			return false
		}
	}
	return true
}

// threadStates describes where each thread of a process is waiting, to
// explain a process that does not stop.
func threadStates(pid int) string {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	var states []string
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "Sig") || strings.HasPrefix(line, "ShdPnd") || strings.HasPrefix(line, "State") {
			states = append(states, strings.Join(strings.Fields(line), ""))
		}
	}
	for _, task := range tasks {
		comm, _ := os.ReadFile(filepath.Join(dir, task.Name(), "comm"))
		wchan, _ := os.ReadFile(filepath.Join(dir, task.Name(), "wchan"))
		states = append(states, fmt.Sprintf("%s(%s):%s", task.Name(), strings.TrimSpace(string(comm)), wchan))
	}
	return strings.Join(states, " ")
}

// listenTCP accepts and closes loopback connections for the network
// examples, and returns the address to dial.
func listenTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var done sync.WaitGroup
	done.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		done.Wait()
	})
	return ln.Addr().String()
}

// generateActivity does, every 50 ms until ctx ends, a little of everything
// the examples trace: programs started and exiting with an error, files
// opened, written and deleted, a failed open, direct disk writes, a loopback
// TCP connection and a SIGTERM sent with kill(). Examples that need a
// particular program (Python, interactive bash) get it in addition.
//
// Each command runs to completion (with its own short timeout) rather than
// being killed when ctx ends, so that no child outlives the test.
func generateActivity(ctx context.Context, t *testing.T, dir, addr, example string, targets userTargets, round func()) {
	run := func(stdin string, name string, args ...string) {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, name, args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		if targets.libDir != "" {
			// Load the copy of libc that the program probes.
			cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+targets.libDir)
		}
		_ = cmd.Run() // failures are part of the activity
	}
	file := filepath.Join(dir, "activity.tmp")
	for ctx.Err() == nil {
		run("", "ls", "-l", "/usr/bin")
		run("", "cat", filepath.Join(dir, "does-not-exist"))
		if err := os.WriteFile(file, []byte("activity\n"), 0o644); err == nil {
			_ = os.Remove(file)
		}
		run("", "dd", "if=/dev/zero", "of="+filepath.Join(dir, "direct.tmp"), "bs=4096", "count=4", "oflag=direct", "status=none")
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
		}
		run("", "sh", "-c", "sleep 1 & kill -TERM $!; wait")
		switch example {
		case "python-gc-latency":
			run("", targets.python3, "-c", "import gc\nfor _ in range(20): gc.collect()")
		case "bash-readline":
			run("echo typed-into-bash\nexit\n", "script", "-q", "-c", targets.bash+" --norc -i", "/dev/null")
		}
		round()
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}
