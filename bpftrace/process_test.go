package bpftrace

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
)

// realBinary returns the installed bpftrace, or skips the test with the
// reason it cannot run here. (The testenv package cannot be used from this
// package's own tests: it imports this package.)
func realBinary(t *testing.T) *Binary {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpftrace loads BPF programs")
	}
	b, err := Find(context.Background(), "")
	if err != nil {
		t.Skipf("needs bpftrace (make setup): %v", err)
	}
	return b
}

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
			b := realBinary(t)
			if viaSudo {
				if _, err := exec.LookPath("sudo"); err != nil {
					t.Skip("needs sudo (make test installs it)")
				}
				if err := b.UseSudo(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			owner, err := SelfOwner()
			if err != nil {
				t.Fatal(err)
			}
			owner += "-" + name // distinct from other tests' processes
			p, err := b.Start(b.RunArgs("interval:ms:50 { @n = count(); }", RunOptions{}), StartOptions{Owner: owner})
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
			if pids, _ := ProcessesOf(owner); len(pids) == 0 {
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
			if pids, _ := ProcessesOf(owner); len(pids) > 0 {
				t.Errorf("processes left: %v", pids)
			}
		})
	}
}

// TestSweepOrphans starts a process marked with the owner string of a
// process that no longer exists and checks that the sweep kills it and
// only it.
func TestSweepOrphans(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read other processes' command lines")
	}
	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	owner := strconv.Itoa(dead.Process.Pid) + ":1"
	self, _ := SelfOwner()
	// sh -c keeps its own command line (the marker is its $0) while it waits.
	orphan := exec.Command("/bin/sh", "-c", "sleep 60; :", OwnerMarker(owner))
	kept := exec.Command("/bin/sh", "-c", "sleep 60; :", OwnerMarker(self))
	for _, c := range []*exec.Cmd{orphan, kept} {
		// Own process groups, as the server gives bpftrace: the sweep
		// kills the group, sleep included.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		syscall.Kill(-kept.Process.Pid, syscall.SIGKILL)
		syscall.Kill(-orphan.Process.Pid, syscall.SIGKILL)
		kept.Wait()
	})
	killed, err := SweepOrphans()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range killed {
		if o.Pid == kept.Process.Pid {
			t.Errorf("swept a process whose owner is alive")
		}
		found = found || o.Pid == orphan.Process.Pid
	}
	if !found {
		t.Errorf("orphan %d not swept (swept %v)", orphan.Process.Pid, killed)
	}
	if err := orphan.Wait(); err == nil {
		t.Error("orphan exited normally; it should have been killed")
	}
}
