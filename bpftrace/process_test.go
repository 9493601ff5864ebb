package bpftrace_test

// An external test package, so that it finds bpftrace through testenv,
// which imports package bpftrace.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// TestStartInterruptKeepsMaps runs a real bpftrace, directly and through
// sudo -n: the owner marker is on its command line, SIGINT makes it print
// its maps and exit 0, and nothing of its process group is left.
func TestStartInterruptKeepsMaps(t *testing.T) {
	for _, viaSudo := range []bool{false, true} {
		name := "direct"
		if viaSudo {
			name = "sudo"
		}
		t.Run(name, func(t *testing.T) {
			b := testenv.Bpftrace(t)
			if viaSudo {
				if _, err := exec.LookPath("sudo"); err != nil {
					t.Skip("needs sudo (make test installs it)")
				}
				if err := b.UseSudo(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			owner, err := bpftrace.SelfOwner()
			if err != nil {
				t.Fatal(err)
			}
			// A scope of its own: no sweep, here or in a test package
			// running beside this one, may take this process.
			scope := bpftrace.Scope(t.Name() + owner)
			p, err := b.Start(b.RunArgs("interval:ms:50 { @n = count(); }", bpftrace.RunOptions{}), bpftrace.StartOptions{Owner: owner, Scope: scope})
			if err != nil {
				t.Fatal(err)
			}
			lines := make(chan []string, 1)
			go func() {
				var got []string
				sc := bufio.NewScanner(p.Stdout)
				for sc.Scan() {
					got = append(got, sc.Text())
				}
				lines <- got
			}()
			go func() {
				sc := bufio.NewScanner(p.Stderr)
				for sc.Scan() {
				}
			}()
			// Wait until bpftrace attached: it is then idle in epoll_wait.
			deadline := time.Now().Add(20 * time.Second)
			for !p.Idle() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if pids, _ := bpftrace.ProcessesOf(owner); len(pids) == 0 {
				t.Errorf("no process carries the owner marker %q", owner)
			}
			time.Sleep(300 * time.Millisecond)
			if err := p.Interrupt(); err != nil {
				t.Fatal(err)
			}
			st, err := p.Wait()
			if err != nil || st.Code != 0 || st.Signaled() {
				t.Fatalf("Wait = %v, %v; want exit code 0", st, err)
			}
			got := <-lines
			if len(got) == 0 || !strings.Contains(got[len(got)-1], `"@n"`) {
				t.Errorf("output after SIGINT = %q, want the map last", got)
			}
			time.Sleep(100 * time.Millisecond)
			if pids, _ := bpftrace.ProcessesOf(owner); len(pids) > 0 {
				t.Errorf("processes left: %v", pids)
			}
		})
	}
}

// TestSweepOrphans starts processes marked by owners that no longer exist
// and by one that does, in this test's scope and others, and checks that
// the sweep kills exactly the orphans of its scope, plus those of older
// versions that carry no scope.
func TestSweepOrphans(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read other processes' command lines")
	}
	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	gone := strconv.Itoa(dead.Process.Pid) + ":1"
	self, err := bpftrace.SelfOwner()
	if err != nil {
		t.Fatal(err)
	}
	scope, other := bpftrace.Scope(t.Name()+self), bpftrace.Scope(t.Name()+self+"other")
	type proc struct {
		pid   int
		ended chan error
	}
	start := func(marker []string) proc {
		// sh -c keeps its own command line (the marker is its $0 and $1) while
		// it waits. Own process groups, as the server gives bpftrace: the
		// sweep kills the group, sleep included.
		c := exec.Command("/bin/sh", append([]string{"-c", "sleep 60; :"}, marker...)...)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		p := proc{c.Process.Pid, make(chan error, 1)}
		go func() { p.ended <- c.Wait() }()
		t.Cleanup(func() { syscall.Kill(-p.pid, syscall.SIGKILL) })
		return p
	}
	orphan := start(bpftrace.OwnerMarker(gone, scope))
	kept := start(bpftrace.OwnerMarker(self, scope))
	foreign := start(bpftrace.OwnerMarker(gone, other))
	legacy := start(bpftrace.OwnerMarker(gone, ""))

	killed, err := bpftrace.SweepOrphans(scope)
	if err != nil {
		t.Fatal(err)
	}
	swept := map[int]bool{}
	for _, o := range killed {
		swept[o.Pid] = true
	}
	if swept[kept.pid] {
		t.Errorf("swept a process whose owner is alive")
	}
	if swept[foreign.pid] {
		t.Errorf("swept an orphan of another scope")
	}
	if !swept[orphan.pid] {
		t.Errorf("orphan %d not swept (swept %v)", orphan.pid, killed)
	}
	for name, p := range map[string]proc{"orphan": orphan, "unscoped orphan": legacy} {
		// The unscoped one is every server's to sweep: a sweep running
		// beside this test may have taken it first; either way it is gone.
		select {
		case err := <-p.ended:
			if err == nil {
				t.Errorf("%s exited normally; it should have been killed", name)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s still runs after the sweep", name)
		}
	}
	for name, p := range map[string]proc{"live owner's process": kept, "orphan of another scope": foreign} {
		select {
		case err := <-p.ended:
			t.Errorf("the %s ended: %v", name, err)
		default:
		}
	}
}
