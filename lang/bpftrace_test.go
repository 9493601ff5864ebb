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
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
)

// bpftraceErrorLine matches a located error of bpftrace: "stdin:1:20-21:
// ERROR: msg" or, for a span of lines, "stdin:3-6: ERROR: msg".
var bpftraceErrorLine = regexp.MustCompile(`(?m)^stdin:(\d+)(?::\d+-\d+|-(\d+)): ERROR: (.*)$`)

// syntaxMessages are the parts of bpftrace's lexer and parser errors (0.27's
// hand-written parser says "syntax: expected ';'"),
// as opposed to semantic, attach and clang errors.
var syntaxMessages = []string{
	"syntax error", "syntax:", "unterminated string", "invalid character", "invalid escape",
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
				if c, ok := changedIn[filepath.Base(f)]; ok && bin.Version.AtLeast(c.release) {
					t.Skipf("bpftrace %s changed this: %s", c.release, c.why)
				}
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

	// The programs in testdata/newer use syntax that 0.17 lacks. Each needs
	// the newest release among the features Features finds in it (or, for
	// syntax the version table does not track, the release in
	// newerSyntaxSince): releases before it must reject the program, and
	// that release and later ones must accept its syntax.
	t.Run("newer", func(t *testing.T) {
		for _, f := range programs(t, filepath.Join("testdata", "newer", "*.bt")) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				src := readProgram(t, f)
				since, why := newerSince(t, filepath.Base(f), src)
				if why != "" {
					t.Skip(why)
				}
				errs, crashed := runBpftrace(t, bin, src)
				if !bin.Version.AtLeast(since) {
					if !crashed && len(errs) == 0 {
						t.Errorf("bpftrace %s accepts a program that needs %s", bin.Version, since)
					}
					return
				}
				if crashed {
					t.Errorf("bpftrace %s crashed on a program for %s", bin.Version, since)
				}
				for _, e := range errs {
					if isSyntaxMessage(e.msg) {
						t.Errorf("bpftrace %s rejects the syntax of a program for %s: line %d: %s", bin.Version, since, e.line1, e.msg)
					}
				}
			})
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, f := range programs(t, filepath.Join("testdata", "invalid", "*.bt")) {
			t.Run(filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				src := readProgram(t, f)
				c, changed := changedIn[filepath.Base(f)]
				if changed && bin.Version.AtLeast(c.release) && !c.onlyLine {
					t.Skipf("bpftrace %s changed this: %s", c.release, c.why)
				}
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
				if changed && bin.Version.AtLeast(c.release) {
					return // it reports the error elsewhere: c.why
				}
				if first.End.Line < e.line1 || first.Pos.Line > e.line2 {
					t.Errorf("bpftrace reports lines %d-%d (%s), we report lines %d-%d (%s)",
						e.line1, e.line2, e.msg, first.Pos.Line, first.End.Line, first.Msg)
				}
			})
		}
	})
}

// changedIn lists the programs of testdata/valid and testdata/invalid,
// written against 0.17, that a later release reads differently, with the
// first release of the test matrix that does (0.23 or 0.27: the releases
// between were not run). onlyLine: it still rejects the program, on
// another line.
var changedIn = map[string]struct {
	release, why string
	onlyLine     bool
}{
	"ll_suffix.bt":            {release: "0.27", why: "integer suffixes are int literal types: 10LL is \"invalid trailing bytes\""},
	"missing_comma.bt":        {release: "0.23", why: "-d stops after parsing, and the parser takes \"f kprobe:g\" for one function name"},
	"tuple_trailing_comma.bt": {release: "0.27", why: "(1,) is a one-element tuple"},
	"semicolon_after_if.bt":   {release: "0.27", why: "a ; after an if's block is an empty statement"},
	"empty_program.bt":        {release: "0.27", why: "a program without probes parses"},
	"unterminated_string.bt":  {release: "0.27", onlyLine: true, why: "it reports an unterminated string on the line after it"},
	"extra_rbrace.bt":         {release: "0.27", onlyLine: true, why: "it reports a stray } as a probe missing its {, on the next line"},
}

// newerSyntaxSince dates the programs of testdata/newer whose newest syntax
// the version table does not track; an empty release skips the program,
// with why.
var newerSyntaxSince = map[string]struct{ since, why string }{
	"syntax.bt":    {since: "0.24"}, // boolean literals and address-of (0.24); offsetof of a sub-field (0.23)
	"wildcards.bt": {why: "brace alternatives in attach points are not bpftrace syntax up to 0.27, which reads the { as the probe's body"},
}

// newerSince returns the release a program of testdata/newer needs.
func newerSince(t *testing.T, name, src string) (since, skip string) {
	t.Helper()
	if o, ok := newerSyntaxSince[name]; ok {
		return o.since, o.why
	}
	prog, err := Parse("stdin", src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	newest := version.Version{Minor: 17}
	for _, u := range Features(prog) {
		if s := version.Lookup(u.Feature).Since; s.Compare(newest) > 0 {
			newest = s
		}
	}
	if newest.Minor == 17 {
		t.Fatalf("%s uses nothing the version table dates: add it to newerSyntaxSince", name)
	}
	return newest.Short(), ""
}
