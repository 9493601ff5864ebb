package output

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// requireBpftrace skips the test unless the real bpftrace can run.
func requireBpftrace(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bpftrace 0.17 refuses to run as another user")
	}
	if _, err := exec.LookPath("bpftrace"); err != nil {
		t.Skip("needs bpftrace in PATH: ", err)
	}
}

// record runs a program in JSON mode and in text mode and returns both
// stdouts, the text without its "Attaching N probes..." line.
func record(t *testing.T, p program) (js, text []byte) {
	t.Helper()
	js = runBpftrace(t, append(append([]string{"-f", "json"}, p.args...), p.path()))
	text = runBpftrace(t, append(p.args, p.path()))
	if !bytes.HasPrefix(text, []byte("Attaching ")) {
		t.Fatalf("text output does not start with the Attaching line:\n%s", text)
	}
	_, text, _ = bytes.Cut(text, []byte("\n"))
	return js, text
}

// runBpftrace runs bpftrace and returns its stdout. Every program here ends
// with exit(); the timeout only guards against a hang.
func runBpftrace(t *testing.T, args []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bpftrace", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bpftrace %q: %v\nstderr:\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}
