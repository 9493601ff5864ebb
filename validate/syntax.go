package validate

import (
	"fmt"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// versionHints say what to write instead when the installed bpftrace lacks
// a feature. The features of attach points, args and exit() are checked
// where those are, with messages of their own, and have no entry here.
var versionHints = map[version.Feature]string{
	version.ConfigBlock:      "set the options through the environment instead, or drop the block",
	version.Imports:          "copy what the program needs from the imported file into it",
	version.MapDecl:          "drop the declaration: a map is created by its first assignment",
	version.Subprograms:      "inline the subprogram's body where it is called",
	version.Macros:           "inline the macro's body where it is used",
	version.LetDecl:          "assign the variable directly: $x = 0;",
	version.ForRange:         "use unroll(N) { ... } or a while loop with a counter",
	version.ForMap:           "print the map with print(@m) instead of iterating over it",
	version.NestedBlocks:     "drop the inner braces: scratch variables live for the whole probe",
	version.OptionalParens:   "put the condition or the loop's header in parentheses: if ($x) { ... }, for ($i : 0..10) { ... }",
	version.MultipleBeginEnd: "merge the bodies into one BEGIN probe and one END probe",
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
			r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: CodeUnsupported,
				Message: fmt.Sprintf("positional parameter %s is not supported: programs run without command-line arguments, so it would read as 0 or \"\"", p.Raw),
				Hint:    "write the value into the program instead, e.g. /pid == 1234/"})
		}
		return true
	})
}

// checkVersionSyntax reports syntax that the installed bpftrace is too old
// for, naming the release that introduced it, and syntax that it accepts
// only behind an "unstable" flag, which makes it warn.
func (v *Validator) checkVersionSyntax(r *Result, prog *lang.Program) {
	if v.o.Binary == nil {
		return
	}
	ver := v.o.Binary.Version
	for _, u := range lang.Features(prog) {
		hint, ok := versionHints[u.Feature]
		if !ok {
			continue
		}
		fact := version.Lookup(u.Feature)
		l, c, e := at(u.Node)
		if ok, since := ver.Supports(u.Feature); !ok {
			r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: CodeVersion,
				Message: fmt.Sprintf("%s needs bpftrace %s or newer; this host has %s", fact.Name, since, ver),
				Hint:    hint})
		} else if ver.Unstable(u.Feature) {
			r.add(Diagnostic{Severity: Warning, Line: l, Column: c, EndColumn: e, Code: CodeVersion,
				Message: fmt.Sprintf("%s is unstable in bpftrace %s (stable from %s): bpftrace warns when a program uses it", fact.Name, ver.Short(), fact.Stable.Short()),
				Hint:    fmt.Sprintf("add %s = enable to the config block to silence the warning", fact.Unstable)})
		}
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		if d, ok := n.(*lang.VarDecl); ok && !d.Let && d.Type != nil {
			// No release accepts a type without let.
			hint := "drop the type: $x = 0;"
			if ok, _ := ver.Supports(version.LetDecl); ok {
				hint = "declare it with let: let $x: int64 = 0;"
			}
			l, c, e := at(d)
			r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: CodeVersion,
				Message: "a variable's type can only be written in a let declaration", Hint: hint})
		}
		return true
	})
}
