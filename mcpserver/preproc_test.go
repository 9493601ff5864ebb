package mcpserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bpftrace-mcp/bpftrace-mcp/preproc/preproctest"
)

// TestPreprocessorEndToEnd sends every hostile program of the preprocessor
// corpus, pointed at a secret file, through exec_program and
// validate_program of a real server, and watches the file with inotify:
// each is refused by its rule at its line and column, nothing opens the
// file, and no answer quotes it. A look-alike then runs.
func TestPreprocessorEndToEnd(t *testing.T) {
	t.Parallel()
	cs := connect(t)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	const content = "TOPSECRETVALUE"
	if err := os.WriteFile(secret, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, secret, unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for _, c := range preproctest.Hostile() {
		prog := c.Reading(secret)
		text, isErr := call(t, cs, "exec_program", map[string]any{"program": prog}, nil)
		if !isErr || !strings.Contains(text, fmt.Sprintf("line %d, column %d: error:", c.Line, c.Column)) {
			t.Errorf("%s: exec_program: error %v, %q", c.Name, isErr, text)
		}
		var v validateOut
		call(t, cs, "validate_program", map[string]any{"program": prog}, &v)
		if v.Valid || len(v.Diagnostics) == 0 || v.Diagnostics[0].Rule != string(c.Rule) ||
			v.Diagnostics[0].Line != c.Line || v.Diagnostics[0].Column != c.Column {
			t.Errorf("%s: validate_program: %+v", c.Name, v.Diagnostics)
		}
		if n, _ := unix.Read(fd, buf); n > 0 {
			t.Errorf("%s: the secret file was opened", c.Name)
		}
		if strings.Contains(text, content) {
			t.Errorf("%s: the answer quotes the file", c.Name)
		}
	}
	var ok execOut
	call(t, cs, "exec_program", map[string]any{"program": "BEGIN { printf(\"#define X 1 %%: ??= %d\\n\", 7 % 4); exit(); }"}, &ok)
	if ok.Status != "success" {
		t.Fatalf("look-alike refused: %+v", ok)
	}
	res := waitDone(t, cs, ok.ExecutionID)
	if len(res.Output) == 0 || res.Output[0] != "#define X 1 %: ??= 3" {
		t.Errorf("look-alike output = %q", res.Output)
	}
}
