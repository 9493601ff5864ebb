package lang

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// bpftraceErrorLine matches a located error of bpftrace: "stdin:1:20-21:
// ERROR: msg" or, for a span of lines, "stdin:3-6: ERROR: msg".
var bpftraceErrorLine = regexp.MustCompile(`(?m)^stdin:(\d+)(?::\d+-\d+|-(\d+)): ERROR: (.*)$`)

// syntaxMessages are the parts of bpftrace 0.17's lexer and parser errors,
// as opposed to semantic, attach and clang errors.
var syntaxMessages = []string{
	"syntax error", "unterminated string", "invalid character", "invalid escape",
	"escape sequence out of range", "end of file", "No attach points",
	"out of integer range", "Exponent will overflow", "trailing non-numeric",
}

// laterErrors lists the invalid programs that bpftrace 0.17 does not reject
// while parsing, because its grammar reads them differently, with why.
// bpftrace still rejects each of them, just later.
var laterErrors = map[string]string{
	"missing_comma.bt":       "bpftrace 0.17 joins the two attach points into one, then rejects it when splitting it into parts",
	"define_continuation.bt": "bpftrace 0.17 reads the continuation line as an attach point, then aborts with FATAL",
}

func isSyntaxMessage(msg string) bool {
	for _, m := range syntaxMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

type bpftraceError struct {
	line1, line2 int // the lines the error spans
	msg          string
}

// runBpftrace runs bpftrace's checks on src without running it (see
// [bpftrace.Binary.CheckArgs]) and returns its located errors and whether
// it crashed (FATAL, as for an unknown probe type).
func runBpftrace(t *testing.T, b *bpftrace.Binary, src string) (errs []bpftraceError, crashed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.Path, b.CheckArgs(src, bpftrace.RunOptions{})...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run bpftrace: %v", err)
	}
	for _, m := range bpftraceErrorLine.FindAllStringSubmatch(string(out), -1) {
		e := bpftraceError{msg: m[3]}
		e.line1, _ = strconv.Atoi(m[1])
		e.line2 = e.line1
		if m[2] != "" {
			e.line2, _ = strconv.Atoi(m[2])
		}
		errs = append(errs, e)
	}
	return errs, strings.Contains(string(out), "FATAL:")
}

// TestBpftraceAgrees checks the corpus against the bpftrace under test: it
// must accept the syntax of every program in testdata/valid (semantic and
// attach errors are fine: -d checks more than syntax), reject that of every
// program in testdata/newer if it is 0.17, and report a syntax error for
// every program in testdata/invalid on the line of our first error. It
// takes about 3 s: bpftrace -d stops before loading anything.
func TestBpftraceAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bpftrace about 45 times; skipped in -short mode")
	}
	bin := testenv.Bpftrace(t)

	t.Run("valid", func(t *testing.T) {
		for _, f := range programs(t, filepath.Join("testdata", "valid", "*.bt")) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				errs, crashed := runBpftrace(t, bin, readProgram(t, f))
				if crashed {
					t.Errorf("bpftrace crashed")
				}
				for _, e := range errs {
					if isSyntaxMessage(e.msg) {
						t.Errorf("bpftrace rejects the syntax: line %d: %s", e.line1, e.msg)
					}
				}
			})
		}
	})

	// The programs in testdata/newer use syntax that bpftrace 0.17 lacks;
	// check that they are indeed beyond it, when 0.17 is under test.
	t.Run("newer", func(t *testing.T) {
		testenv.RequireBefore(t, "0.18")
		for _, f := range programs(t, filepath.Join("testdata", "newer", "*.bt")) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				errs, crashed := runBpftrace(t, bin, readProgram(t, f))
				if !crashed && (len(errs) == 0 || !isSyntaxMessage(errs[0].msg)) {
					t.Errorf("bpftrace 0.17 accepts the syntax (errors: %v)", errs)
				}
			})
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, f := range programs(t, filepath.Join("testdata", "invalid", "*.bt")) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				src := readProgram(t, f)
				_, err := Parse("stdin", src)
				var list ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("Parse error = %v, want an ErrorList", err)
				}
				first := list[0]
				errs, crashed := runBpftrace(t, bin, src)
				if why, ok := laterErrors[filepath.Base(f)]; ok {
					if len(errs) == 0 && !crashed {
						t.Errorf("bpftrace accepts the program, but %s", why)
					}
					return
				}
				if len(errs) == 0 {
					t.Fatalf("bpftrace reports no located error; we report %v", first)
				}
				e := errs[0]
				if !isSyntaxMessage(e.msg) {
					t.Errorf("bpftrace's first error is not a syntax error: %s", e.msg)
				}
				// Our error may span lines (an unterminated comment runs to the
				// end of the file) and so may bpftrace's: they must overlap.
				if first.End.Line < e.line1 || first.Pos.Line > e.line2 {
					t.Errorf("bpftrace reports lines %d-%d (%s), we report lines %d-%d (%s)",
						e.line1, e.line2, e.msg, first.Pos.Line, first.End.Line, first.Msg)
				}
			})
		}
	})
}
