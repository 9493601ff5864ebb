package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// medianOf returns the median of ds.
func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// keepOpening opens a file every 2 ms until the test ends, so that a
// program on the openat tracepoint fires as soon as it is attached.
func keepOpening(t *testing.T) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "poke")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if f, err := os.Open(path); err == nil {
					f.Close()
				}
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// rawFirstLine runs `bpftrace -e program` and returns the time from the
// start to its first line of program output (after "Attaching N probes...").
func rawFirstLine(t *testing.T, program string) time.Duration {
	t.Helper()
	cmd := exec.Command("bpftrace", "-e", program)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var took time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if took == 0 && !strings.HasPrefix(sc.Text(), "Attaching ") {
			took = time.Since(begin)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bpftrace -e %q: %v", program, err)
	}
	if took == 0 {
		t.Fatalf("bpftrace -e %q printed nothing", program)
	}
	return took
}

// serverFirstLine calls exec_program and then get_result with wait_seconds
// until a line comes, as an assistant does, and returns the time from the
// call to that line. It waits for the run's end before returning.
func serverFirstLine(t *testing.T, s *server, program string) time.Duration {
	t.Helper()
	begin := time.Now()
	id := s.call(t, "exec_program", map[string]any{"program": program})["execution_id"].(string)
	var took time.Duration
	for took == 0 {
		r := s.call(t, "get_result", map[string]any{"execution_id": id, "wait_seconds": 30})
		if r["lines_returned"].(float64) > 0 {
			took = time.Since(begin)
		} else if r["status"] != "running" {
			t.Fatalf("run ended without output: %v", r)
		}
	}
	waitServerEnd(t, s, id)
	return took
}

func waitServerEnd(t *testing.T, s *server, id string) map[string]any {
	t.Helper()
	for {
		r := s.call(t, "get_result", map[string]any{"execution_id": id, "offset": 1 << 40, "wait_seconds": 30})
		if r["status"] != "running" {
			return r
		}
	}
}

// TestBenchFirstLine: the time from the call to the first output line,
// through exec_program and a get_result long-poll, against raw `bpftrace
// -e` for the same program, alternating. Goal: at most 30 ms added
// (median).
func TestBenchFirstLine(t *testing.T) {
	requireBench(t)
	b := build(t)
	s := startServer(t, b.server)
	keepOpening(t)
	const runs = 7
	for _, p := range []struct{ name, program string }{
		{"BEGIN", `BEGIN { printf("x\n"); exit(); }`},
		{"tracepoint", `tracepoint:syscalls:sys_enter_openat { printf("%s\n", comm); exit(); }`},
	} {
		serverFirstLine(t, s, p.program) // warm up: page cache, the catalog
		var raw, srv []time.Duration
		for range runs {
			raw = append(raw, rawFirstLine(t, p.program))
			srv = append(srv, serverFirstLine(t, s, p.program))
		}
		mr, ms := medianOf(raw), medianOf(srv)
		t.Logf("first line, %s program, median of %d alternating: raw bpftrace -e %.0f ms, exec_program + get_result %.0f ms, added %+.0f ms (goal <= +30 ms)",
			p.name, runs, msOf(mr), msOf(ms), msOf(ms-mr))
	}
}

// TestBenchValidateThenExec: validate_program followed by exec_program of
// the same program, against exec_program alone, each timed to exec's
// answer. Every run has a program of its own, so no verdict of an earlier
// run is reused. Two kinds of program: a plain one, which exec_program
// sends straight to the run (whose compile is bpftrace's check), and one
// with C text (a struct), which exec_program first has bpftrace parse for
// the differential guard, a parse validate_program's compile already did.
// Goal: at most 1.1x.
func TestBenchValidateThenExec(t *testing.T) {
	requireBench(t)
	b := build(t)
	s := startServer(t, b.server)
	const runs = 9
	for _, kind := range []struct{ name, prefix string }{
		{"plain", ""},
		{"with C text", "struct point { int x; int y; }\n"},
	} {
		var alone, both []time.Duration
		for i := range runs {
			prog := func(what string) string {
				return fmt.Sprintf("%sBEGIN { printf(\"%s-%d-%d\\n\"); exit(); }", kind.prefix, what, i, time.Now().UnixNano())
			}
			begin := time.Now()
			id := s.call(t, "exec_program", map[string]any{"program": prog("alone")})["execution_id"].(string)
			alone = append(alone, time.Since(begin))
			waitServerEnd(t, s, id)

			p := prog("both")
			begin = time.Now()
			if v := s.call(t, "validate_program", map[string]any{"program": p}); v["valid"] != true {
				t.Fatalf("validate_program: %v", v)
			}
			id = s.call(t, "exec_program", map[string]any{"program": p})["execution_id"].(string)
			both = append(both, time.Since(begin))
			waitServerEnd(t, s, id)
		}
		ma, mb := medianOf(alone), medianOf(both)
		t.Logf("%s program: validate_program then exec_program %.0f ms, exec_program alone %.0f ms (medians of %d): %.2fx (goal <= 1.1x)",
			kind.name, msOf(mb), msOf(ma), runs, float64(mb)/float64(ma))
	}
}

// syscallTracepoints returns the first n syscalls:sys_enter_* tracepoints
// of this kernel, as one attach list.
func syscallTracepoints(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile("/sys/kernel/tracing/available_events")
	if err != nil {
		t.Skipf("tracefs: %v", err)
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "syscalls:sys_enter_") && len(names) < n {
			names = append(names, "tracepoint:"+l)
		}
	}
	if len(names) < n {
		t.Skipf("only %d syscall tracepoints", len(names))
	}
	return strings.Join(names, ",\n")
}

// rawStop starts `bpftrace -e program`, lets it attach and trace for a
// moment, and returns how long it takes to exit after SIGINT. ok is false
// when it did not exit within lost: bpftrace 0.17 loses a SIGINT that
// arrives while it is still attaching (its poll loop then blocks), which a
// loaded machine makes likely; it is then killed and the run not counted.
func rawStop(t *testing.T, program string, settle, lost time.Duration) (took time.Duration, ok bool) {
	t.Helper()
	cmd := exec.Command("bpftrace", "-e", program)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "Attaching ") {
		t.Fatalf("bpftrace -e: no attach notice (%q)", sc.Text())
	}
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
		}
		close(done)
	}()
	time.Sleep(settle)
	begin := time.Now()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(lost):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		cmd.Wait()
		return 0, false
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bpftrace: %v", err)
	}
	return time.Since(begin), true
}

// serverStop runs the program through the server, lets it attach and
// trace for the same moment, and returns how long stop_execution takes.
func serverStop(t *testing.T, s *server, program string, settle time.Duration) time.Duration {
	t.Helper()
	id := s.call(t, "exec_program", map[string]any{"program": program, "timeout": 300})["execution_id"].(string)
	for {
		r := s.call(t, "get_result", map[string]any{"execution_id": id})
		if r["attach_seconds"] != nil {
			break
		}
		if r["status"] != "running" {
			t.Fatalf("run ended before attaching: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(settle)
	begin := time.Now()
	r := s.call(t, "stop_execution", map[string]any{"execution_id": id})
	took := time.Since(begin)
	if r["status"] != "completed" || r["end_reason"] != "stopped" {
		t.Fatalf("stop: %v", r)
	}
	return took
}

// TestBenchStop: stop latency for 1, 10 and 100 attach points, against raw
// bpftrace stopped with SIGINT, alternating.
func TestBenchStop(t *testing.T) {
	requireBench(t)
	b := build(t)
	s := startServer(t, b.server)
	const runs = 5
	settle := 2 * time.Second // attach (0.6 s for 361 tracepoints) and trace a little
	for _, n := range []int{1, 10, 100} {
		program := syscallTracepoints(t, n) + " { @n = count(); }"
		var raw, srv []time.Duration
		lostSignals := 0
		for range runs {
			if took, ok := rawStop(t, program, settle, 20*time.Second); ok {
				raw = append(raw, took)
			} else {
				lostSignals++
			}
			srv = append(srv, serverStop(t, s, program, settle))
		}
		if len(raw) == 0 {
			t.Fatalf("%d attach points: raw bpftrace never exited on SIGINT in %d runs", n, runs)
		}
		mr, ms := medianOf(raw), medianOf(srv)
		t.Logf("stop, %3d attach points, median of %d: raw bpftrace SIGINT to exit %.0f ms, stop_execution %.0f ms, added %+.0f ms (%.2fx); raw bpftrace lost the SIGINT in %d of %d runs",
			n, runs, msOf(mr), msOf(ms), msOf(ms-mr), float64(ms)/float64(mr), lostSignals, runs)
	}
}
