package isolate_test

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/isolate"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
)

// TestExclusionHidesTheServer measures that the exclusion holds: this test
// process plays the server. It moves into its own cgroup, starts a
// bpftrace that reads and writes (another client's run), and runs a
// program that counts the read and write syscalls of every process, with
// the exclusion injected. The counts must include a process outside the
// cgroup (so the program does see other processes) and none of the
// server, its other bpftrace, or the tracing bpftrace itself.
func TestExclusionHidesTheServer(t *testing.T) {
	bin := testenv.Bpftrace(t)

	// A process outside the server's cgroup, started before the server
	// moves (children inherit the cgroup of their parent at fork).
	outside := exec.Command("sh", "-c", "while :; do echo tick > /dev/null; sleep 0.02; done")
	if err := outside.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = outside.Process.Kill(); _ = outside.Wait() })

	self, err := isolate.Enter(isolate.Options{Name: "bpftrace-mcp-test." + strconv.Itoa(os.Getpid())})
	if err != nil {
		t.Skipf("no cgroup v2 to move into: %v", err)
	}
	t.Cleanup(func() {
		if err := self.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})

	// Another client's run: a bpftrace that writes its output.
	other := exec.Command(bin.Path, "-e", `interval:ms:20 { printf("other client's secret line\n"); }`)
	other.Stdout, other.Stderr = new(bytes.Buffer), new(bytes.Buffer)
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	src := "tracepoint:syscalls:sys_enter_read, tracepoint:syscalls:sys_enter_write { @[pid] = count(); }\n" +
		"interval:s:3 { exit(); }\n"
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		t.Fatal(err)
	}
	excl := policy.Exclusion{CgroupID: self.CgroupID, PID: self.PID}
	guarded, err := policy.ApplyExclusion(src, prog, excl)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("program:\n%s", guarded)

	// The server itself reads and writes while the trace runs.
	done := make(chan struct{})
	go func() {
		f, err := os.CreateTemp(t.TempDir(), "server-io")
		if err != nil {
			close(done)
			return
		}
		defer f.Close()
		buf := make([]byte, 64)
		for {
			select {
			case <-done:
				return
			default:
			}
			_, _ = f.WriteAt([]byte("bearer token of client A"), 0)
			_, _ = f.ReadAt(buf, 0)
			_, _ = syscall.Write(int(f.Fd()), []byte("x"))
			_, _ = syscall.Read(int(f.Fd()), buf)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	tracer := exec.Command(bin.Path, "-e", guarded)
	var out, stderr bytes.Buffer
	tracer.Stdout, tracer.Stderr = &out, &stderr
	err = tracer.Run()
	close(done)
	if err != nil {
		t.Fatalf("bpftrace: %v\n%s", err, stderr.String())
	}

	seen := map[int]int{}
	for _, m := range regexp.MustCompile(`@\[(\d+)\]: (\d+)`).FindAllStringSubmatch(out.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		seen[pid] = n
	}
	t.Logf("%d processes seen; outside %d: %d", len(seen), outside.Process.Pid, seen[outside.Process.Pid])
	if seen[outside.Process.Pid] == 0 {
		t.Fatalf("the trace did not see the process outside the server's cgroup (pid %d), so it proves nothing:\n%s", outside.Process.Pid, out.String())
	}
	for name, pid := range map[string]int{"server": os.Getpid(), "other bpftrace": other.Process.Pid, "tracing bpftrace": tracer.Process.Pid} {
		if n := seen[pid]; n > 0 {
			t.Errorf("the trace saw %d read/write calls of the %s (pid %d)", n, name, pid)
		}
	}
	if strings.Contains(out.String(), "client") {
		t.Errorf("trace output holds the server's data:\n%s", out.String())
	}
}
