package docs

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReference(t *testing.T) {
	ref := Reference()
	if len(ref) > 25*1024 {
		t.Errorf("reference is %d bytes, want at most 25 KB", len(ref))
	}
	if !utf8.ValidString(ref) || !strings.HasSuffix(ref, "\n") {
		t.Error("reference is not valid UTF-8 ending in a newline")
	}
	for _, want := range []string{
		// Every probe type, by name and alias.
		"| `tracepoint` | `t` |", "| `kprobe` | `k` |", "| `kretprobe` | `kr` |", "| `uprobe` | `u` |",
		"| `uretprobe` | `ur` |", "| `usdt` | `U` |", "| `profile` | `p` |", "| `interval` | `i` |",
		"| `software` | `s` |", "| `hardware` | `h` |", "| `kfunc` | `f` |", "| `kretfunc` | `fr` |",
		"| `watchpoint` | `w` |", "| `iter` | `it` |", "| `BEGIN`, `END` |",
		// The tools an assistant works with.
		"`system_info`", "`list_probes`", "`describe_probe`", "`list_helpers`", "`validate_program`",
		"`exec_program`", "`get_result`", "`stop_execution`",
		// Version differences an assistant must not get wrong.
		"args->filename", "args.filename", "fentry", "--dry-run", "exit(code)", "delete(@m, key)",
		// Sections.
		"## Probe types", "## Predicates", "## Variables and maps", "## Control flow", "## Output", "## Pitfalls",
	} {
		if !strings.Contains(ref, want) {
			t.Errorf("reference does not contain %q", want)
		}
	}
}

// TestReferenceProgramsValidate checks the complete programs in the
// reference served for the bpftrace under test (code blocks without "..."
// placeholders) with that bpftrace.
func TestReferenceProgramsValidate(t *testing.T) {
	b := requireBpftrace(t)
	var checked int
	for _, m := range regexp.MustCompile("(?s)```\n(.*?)```").FindAllStringSubmatch(ReferenceFor(b.Version), -1) {
		program := m[1]
		if strings.Contains(program, "...") {
			continue
		}
		checked++
		t.Run(strconv.Itoa(checked), func(t *testing.T) {
			t.Parallel()
			stderr, err := dryRun(t, b, program)
			if err != nil {
				t.Errorf("program does not validate on bpftrace %s: %v\n%s\n%s", b.Version, err, program, stderr)
			}
		})
	}
	if checked < 2 {
		t.Errorf("checked %d programs, want at least 2", checked)
	}
}
