package docs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
)

// sentinel is a name no bpftrace has, for a function or a variable. A batch
// of helpers ends with it: its "Unknown ..." error proves that bpftrace checked
// every line before it.
const sentinel = "bpftrace_mcp_no_such_function"

// errorAt matches an error bpftrace reports on a line of the program:
// "stdin:12:40-51: ERROR: Unknown function: 'globmatch'".
var errorAt = regexp.MustCompile(`(?m)^[^:\s]+:(\d+):[\d-]+: ERROR: (.*)$`)

// unknownName reports whether an error message says that bpftrace does not
// know a name. From 0.25 a removed builtin is named as such ("sarg* is
// deleted. ... last available in v0.24") rather than as unknown.
func unknownName(msg string) bool {
	return strings.HasPrefix(msg, "Unknown function") || strings.HasPrefix(msg, "Unknown identifier") ||
		strings.Contains(msg, " is deleted.")
}

// TestHelpersAgainstBpftrace checks the version tags against the bpftrace
// under test: every helper tagged as present in its release must be a name
// it knows, and every other helper must be unknown to it. It looks only at
// whether the name is recognised, not at whether the call is valid, because
// bpftrace reports an unknown name before it checks anything else.
//
// The helpers go to bpftrace in batches (see [helperBatch]): a hundred
// helpers in a few dozen runs of 0.17 and a few runs of 0.27, instead of a
// run each (0.27 takes two seconds to start).
func TestHelpersAgainstBpftrace(t *testing.T) {
	b := requireBpftrace(t)
	c := &helperBatch{t: t, b: b, helpers: Helpers(), unknown: map[int]bool{}}
	// Functions and variables apart: bpftrace looks for unknown functions
	// in a pass of its own before the one that finds unknown identifiers.
	var funcs, vars []int
	for i, h := range c.helpers {
		if h.Kind == KindVariable {
			vars = append(vars, i)
		} else {
			funcs = append(funcs, i)
		}
	}
	c.check(funcs, sentinel+"()")
	c.check(vars, "@x = "+sentinel)
	t.Logf("%d helpers checked in %d runs of bpftrace %s", len(c.helpers), c.runs, b.Version)
	for i, h := range c.helpers {
		tagged := fmt.Sprintf("tagged [%s, %s)", h.Since, h.Until)
		switch present := b.Version.Within(h.Since, h.Until); {
		case present && c.unknown[i]:
			t.Errorf("%s %s: %s but bpftrace %s does not know it", h.Kind, h.Name, tagged, b.Version)
		case !present && !c.unknown[i]:
			t.Errorf("%s %s: %s but bpftrace %s knows it", h.Kind, h.Name, tagged, b.Version)
		}
	}
}

// helperBatch finds which helpers the bpftrace under test does not know by
// giving it many at once, one probe a line, ending with a sentinel line
// that uses a name no bpftrace has. bpftrace stops at the first pass that
// finds an error (0.17 and 0.23 at the first unknown name), so each run
// settles the lines it reports an error on (an unknown name, or another
// error, which means the name is known) and the next run checks the rest;
// the run that reports the sentinel has checked every line before it. A run
// that reports nothing located (0.27 dies on one of the calls) is split in
// two, down to the one helper, which then counts as known: bpftrace did not
// call it unknown.
type helperBatch struct {
	t       *testing.T
	b       *bpftrace.Binary
	helpers []Helper
	unknown map[int]bool // by index in helpers
	runs    int
}

// spelling spells the placeholder names of helpers in a program.
var spelling = map[string]string{"$N": "$1", "argN": "arg0", "sargN": "sarg0"}

func (c *helperBatch) line(i int) string {
	h := c.helpers[i]
	name := h.Name
	if s, ok := spelling[name]; ok {
		name = s
	}
	if h.Kind == KindVariable {
		// A map of its own: values of several types in one map are an error.
		return "tracepoint:syscalls:sys_enter_getpid { @x" + strconv.Itoa(i) + " = " + name + "; }\n"
	}
	return "tracepoint:syscalls:sys_enter_getpid { " + name + "(); }\n"
}

// check settles every helper of pending; last is the sentinel statement.
func (c *helperBatch) check(pending []int, last string) {
	c.t.Helper()
	for len(pending) > 0 {
		var program strings.Builder
		for _, i := range pending {
			program.WriteString(c.line(i))
		}
		program.WriteString("tracepoint:syscalls:sys_enter_getpid { " + last + "; }\n")
		stderr, _ := dryRun(c.t, c.b, program.String())
		c.runs++
		settled := map[int]bool{} // lines of this program
		for _, m := range errorAt.FindAllStringSubmatch(stderr, -1) {
			line, _ := strconv.Atoi(m[1])
			switch {
			case line == len(pending)+1 && unknownName(m[2]):
				// Every line before it was checked.
				for k := range pending {
					settled[k+1] = true
				}
			case line >= 1 && line <= len(pending):
				settled[line] = true
				if unknownName(m[2]) {
					c.unknown[pending[line-1]] = true
				}
			}
		}
		if len(settled) == 0 {
			if len(pending) == 1 {
				return // reported nothing about it: not unknown
			}
			half := len(pending) / 2
			c.check(pending[:half], last)
			c.check(pending[half:], last)
			return
		}
		var rest []int
		for k, i := range pending {
			if !settled[k+1] {
				rest = append(rest, i)
			}
		}
		pending = rest
	}
}
