package validate

import (
	"fmt"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

var featureNames = map[string]string{
	"config block":     "a config block",
	"subprograms":      "a subprogram (fn)",
	"macros":           "a macro",
	"let declarations": "a let declaration",
	"typed variables":  "a typed variable",
	"for over a range": "a for loop over a range",
	"for over a map":   "a for loop over a map",
}

// syntaxHint suggests a fix for a syntax error the parser gave no hint for.
func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "expecting )"):
		return "a parenthesis opened before this point is not closed: close the call or expression with )"
	case strings.Contains(msg, "expecting ;"):
		return "end the statement before this point with ;"
	case strings.Contains(msg, "expecting {"):
		return "a probe's attach points are followed by an optional /predicate/ and a { body }"
	case strings.Contains(msg, "expecting }"):
		return "a block opened before this point is not closed: add }"
	}
	return "check the brackets, quotes and semicolons near this position"
}

// checkPositionals reports $1, $2 ... and $#: exec_program passes no
// positional parameters, so they would silently read as 0 or "".
func checkPositionals(r *Result, prog *lang.Program) {
	lang.Inspect(prog, func(n lang.Node) bool {
		if p, ok := n.(*lang.Positional); ok {
			l, c, e := at(p)
			r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: "unsupported",
				Message: fmt.Sprintf("positional parameter %s is not supported: programs run without command-line arguments, so it would read as 0 or \"\"", p.Raw),
				Hint:    "write the value into the program instead, e.g. /pid == 1234/"})
		}
		return true
	})
}

// checkVersionSyntax reports syntax that the installed bpftrace is too old
// for, naming the release that introduced it.
func (v *Validator) checkVersionSyntax(r *Result, prog *lang.Program) {
	if v.o.Binary == nil {
		return
	}
	need := func(n lang.Node, feature, hint string) {
		ok, since := v.o.Binary.Version.Supports(feature)
		if ok {
			return
		}
		l, c, e := at(n)
		r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: "version",
			Message: fmt.Sprintf("%s needs bpftrace %s or newer; this host has %s", featureNames[feature], since, v.o.Binary.Version),
			Hint:    hint})
	}
	if prog.Config != nil {
		need(prog.Config, "config block", "set the options through the environment instead, or drop the block")
	}
	for _, f := range prog.Funcs {
		need(f, "subprograms", "inline the subprogram's body where it is called")
	}
	for _, m := range prog.Macros {
		need(m, "macros", "inline the macro's body where it is used")
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.VarDecl:
			if n.Let {
				need(n, "let declarations", "assign the variable directly: $x = 0;")
			} else if n.Type != nil {
				need(n, "typed variables", "drop the type: $x = 0;")
			}
		case *lang.For:
			if _, isRange := n.Iter.(*lang.Range); isRange {
				need(n, "for over a range", "use unroll(N) { ... } or a while loop with a counter")
			} else {
				need(n, "for over a map", "print the map with print(@m) instead of iterating over it")
			}
		}
		return true
	})
}
