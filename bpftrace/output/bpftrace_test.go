package output

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// requireBpftrace returns the bpftrace under test (see internal/testenv).
func requireBpftrace(t *testing.T) *bpftrace.Binary {
	t.Helper()
	return testenv.Bpftrace(t)
}

// record runs a program in JSON mode and in text mode and returns both
// stdouts, the text without its "Attaching N probes..." line, which
// releases before 0.24 print on stdout (later ones print their notice on
// stderr). bpftrace reads a copy of the program under /tmp, where the
// bpftrace of another release, in its own root, finds it too.
func record(t *testing.T, b *bpftrace.Binary, p program) (js, text []byte) {
	t.Helper()
	file := testenv.HostFile(t, p.path())
	js = runBpftrace(t, b, append(append([]string{"-f", "json"}, p.args...), file))
	text = runBpftrace(t, b, append(p.args, file))
	if b.Version.Has(version.AttachedNotice) {
		return js, text
	}
	if !bytes.HasPrefix(text, []byte("Attaching ")) {
		t.Fatalf("text output of bpftrace %s does not start with the Attaching line:\n%s", b.Version, text)
	}
	_, text, _ = bytes.Cut(text, []byte("\n"))
	return js, text
}

// runBpftrace runs bpftrace and returns its stdout. Every program here ends
// with exit(); the timeout only guards against a hang.
func runBpftrace(t *testing.T, b *bpftrace.Binary, args []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bpftrace %s %q: %v\nstderr:\n%s", b.Version, args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}
