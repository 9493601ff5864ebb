// Package preproctest holds the preprocessor guard's corpus of hostile
// programs and look-alikes, for the tests of every package that must refuse
// or pass them (preproc, policy, validate, the service layer).
package preproctest

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/preproc"
)

// corpus is written by corpus.py; edit the cases there.
//
//go:embed corpus.txt
var corpus string

// Case is one program of the corpus.
type Case struct {
	Name string
	// Refuse is true for a hostile program, which must be refused with
	// Rule at Line:Column (its first finding); false for a look-alike,
	// which must pass.
	Refuse bool
	Rule   preproc.Rule
	Line   int
	Column int
	// Program is the program text. Hostile programs read /etc/shadow;
	// [Case.Reading] points them elsewhere.
	Program string
}

// Reading returns the program with every /etc/shadow replaced by path.
func (c Case) Reading(path string) string {
	return strings.ReplaceAll(c.Program, "/etc/shadow", path)
}

// Corpus returns every case, hostile programs first.
func Corpus() []Case {
	cases, err := parse(corpus)
	if err != nil {
		panic("preproctest: " + err.Error())
	}
	return cases
}

// Hostile returns the hostile programs.
func Hostile() []Case { return filter(true) }

// LookAlikes returns the programs that must pass.
func LookAlikes() []Case { return filter(false) }

func filter(refuse bool) []Case {
	var out []Case
	for _, c := range Corpus() {
		if c.Refuse == refuse {
			out = append(out, c)
		}
	}
	return out
}

// parse reads the corpus format: a "=== refuse NAME RULE LINE:COLUMN" or
// "=== allow NAME" line, then the program up to the next "===" line. Lines
// before the first case are comments. "<CR>" stands for a carriage return.
func parse(text string) ([]Case, error) {
	var cases []Case
	var cur *Case
	var body []string
	flush := func() {
		if cur != nil {
			cur.Program = strings.ReplaceAll(strings.Join(body, "\n")+"\n", "<CR>", "\r")
			cases = append(cases, *cur)
		}
		body = nil
	}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, "=== ") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		flush()
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[1] == "allow":
			cur = &Case{Name: f[2]}
		case len(f) == 5 && f[1] == "refuse":
			l, c, ok := strings.Cut(f[4], ":")
			ln, err1 := strconv.Atoi(l)
			col, err2 := strconv.Atoi(c)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad position in %q", line)
			}
			cur = &Case{Name: f[2], Refuse: true, Rule: preproc.Rule(f[3]), Line: ln, Column: col}
		default:
			return nil, fmt.Errorf("bad case header %q", line)
		}
	}
	flush()
	return cases, nil
}
