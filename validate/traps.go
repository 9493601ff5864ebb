package validate

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// commVisible is how many characters of a thread name the kernel keeps:
// TASK_COMM_LEN is 16 bytes, the last of them the terminating NUL.
const commVisible = 15

// checkTraps warns about programs that run but do not do what their author
// meant, which costs a whole run to find out: a map keyed by a string's
// address, printf("%s") of a pointer, a comm that can never match.
func (v *Validator) checkTraps(ctx context.Context, r *Result, prog *lang.Program, src string) {
	text := func(n lang.Node) string { return src[n.Pos().Offset:n.End().Offset] }
	var maps output.Schema // read only for the checks of a release that need it
	if zeroedAverageCrashes(v.release()) {
		maps = analyseMaps(prog)
	}
	for _, p := range prog.Probes {
		fieldType := v.fieldTypes(ctx, r, p)
		inspectProbe(p, func(n lang.Node) {
			switch n := n.(type) {
			case *lang.MapExpr:
				for _, k := range n.Keys {
					if f, typ := pointerString(k, fieldType); f != nil {
						l, c, e := at(k)
						r.add(Diagnostic{Severity: Warning, Line: l, Column: c, EndColumn: e, Code: CodeTrap,
							Message: fmt.Sprintf("the key %s is a %s, a pointer: %s is keyed by the string's address (0x7ff...), one entry per call, not by its text", text(f), typ, n.Name),
							Hint:    fmt.Sprintf("key by the text: str(%s)", text(f))})
					}
				}
			case *lang.Call:
				checkPrintfStrings(r, n, fieldType, text)
				if maps != nil {
					checkZeroedAverage(r, n, maps, v.release())
				}
			case *lang.Binary:
				checkCommCompare(r, n)
			}
		})
	}
}

// fieldTypes returns a lookup of the C type of args->NAME in a probe whose
// attach points are all tracepoints, as their format files declare it; ""
// when unknown or when the tracepoints disagree. The formats are read at
// the first lookup, so a probe that reads no args field costs nothing.
func (v *Validator) fieldTypes(ctx context.Context, r *Result, p *lang.Probe) func(string) string {
	var types map[string]string
	return func(name string) string {
		if types == nil {
			types = v.readFieldTypes(ctx, r, p)
		}
		return types[name]
	}
}

func (v *Validator) readFieldTypes(ctx context.Context, r *Result, p *lang.Probe) map[string]string {
	types := map[string]string{}
	if v.o.Catalog == nil {
		return types
	}
	var tps []string
	for _, ap := range p.AttachPoints {
		if ap.Canonical != "tracepoint" {
			return types
		}
		tps = append(tps, r.expanded[ap]...)
	}
	for i, tp := range tps {
		fs, err := v.o.Catalog.Fields(ctx, tp)
		if err != nil {
			return map[string]string{}
		}
		for _, f := range fs {
			if old, seen := types[f.Name]; i == 0 {
				types[f.Name] = f.Type
			} else if seen && old != f.Type {
				types[f.Name] = ""
			}
		}
	}
	return types
}

// pointerString reports an args field declared as a char pointer, which
// bpftrace reads as an integer (the address) unless it is passed to str().
func pointerString(e lang.Expr, fieldType func(string) string) (*lang.Field, string) {
	for {
		p, ok := e.(*lang.Paren)
		if !ok {
			break
		}
		e = p.X
	}
	f, ok := e.(*lang.Field)
	if !ok || !isArgs(f.X) {
		return nil, ""
	}
	typ := strings.TrimSpace(fieldType(f.Name))
	if strings.Contains(typ, "char") && strings.HasSuffix(typ, "*") {
		return f, typ
	}
	return nil, ""
}

// printfLike are the functions whose first argument is a printf format.
var printfLike = map[string]bool{"printf": true, "system": true, "cat": true, "errorf": true, "warnf": true}

// specRE matches one conversion of a bpftrace format string; %% is none.
var specRE = regexp.MustCompile(`%%|%[-+ #0]*[0-9]*(?:\.[0-9]+)?(?:hh|h|ll|l|z|j|t)?([a-zA-Z])`)

// checkPrintfStrings warns when a %s conversion gets an integer that is
// really a string's address: a char * field, argN, retval. bpftrace refuses
// the program when it compiles it; this says what to write instead.
func checkPrintfStrings(r *Result, c *lang.Call, fieldType func(string) string, text func(lang.Node) string) {
	if !printfLike[c.Name] || len(c.Args) == 0 {
		return
	}
	format, ok := c.Args[0].(*lang.StringLit)
	if !ok {
		return
	}
	arg := 1
	for _, m := range specRE.FindAllStringSubmatch(format.Value, -1) {
		if m[0] == "%%" {
			continue
		}
		if arg >= len(c.Args) {
			return
		}
		a := c.Args[arg]
		arg++
		if m[1] != "s" {
			continue
		}
		what := ""
		if f, typ := pointerString(a, fieldType); f != nil {
			what = fmt.Sprintf("%s, a %s", text(f), typ)
		} else if b, ok := a.(*lang.Builtin); ok && isRegisterBuiltin(b.Name) {
			what = b.Name + ", an integer (a register)"
		}
		if what == "" {
			continue
		}
		l, col, e := at(a)
		r.add(Diagnostic{Severity: Warning, Line: l, Column: col, EndColumn: e, Code: CodeTrap,
			Message: fmt.Sprintf("%%s is given %s: bpftrace refuses an integer for %%s", what),
			Hint:    fmt.Sprintf("read the string it points to with str(%s)", text(a))})
	}
}

func isRegisterBuiltin(name string) bool {
	if name == "retval" {
		return true
	}
	for _, prefix := range []string{"arg", "sarg"} {
		if n, ok := strings.CutPrefix(name, prefix); ok && n != "" {
			if _, err := strconv.Atoi(n); err == nil {
				return true
			}
		}
	}
	return false
}

// checkCommCompare warns about comm == "a name longer than 15 characters",
// which never matches: the kernel keeps the first 15.
func checkCommCompare(r *Result, b *lang.Binary) {
	if b.Op != "==" && b.Op != "!=" {
		return
	}
	lit, ok := b.Y.(*lang.StringLit)
	other := b.X
	if !ok {
		lit, ok = b.X.(*lang.StringLit)
		other = b.Y
	}
	if !ok || len(lit.Value) <= commVisible {
		return
	}
	if bi, isBuiltin := other.(*lang.Builtin); !isBuiltin || bi.Name != "comm" {
		return
	}
	l, c, e := at(lit)
	verdict := "never matches"
	if b.Op == "!=" {
		verdict = "is always true"
	}
	r.add(Diagnostic{Severity: Warning, Line: l, Column: c, EndColumn: e, Code: CodeTrap,
		Message: fmt.Sprintf("comm %s %q %s: comm holds at most %d characters (the kernel's TASK_COMM_LEN is 16 bytes with the terminating NUL), so a %d-character name is cut", b.Op, lit.Value, verdict, commVisible, len(lit.Value)),
		Hint:    fmt.Sprintf("compare with the first %d characters: comm %s %q", commVisible, b.Op, lit.Value[:commVisible])})
}

// checkTargetPID refuses a target pid with no process behind it: the run
// would trace nothing for its whole timeout.
func checkTargetPID(r *Result, pid int) {
	if pid <= 0 {
		return
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		return
	}
	r.add(Diagnostic{Severity: Error, Line: 1, Column: 1, Code: CodeTarget,
		Message: fmt.Sprintf("target pid %d does not exist on this host: the run would trace nothing until its timeout", pid),
		Hint:    "check the pid (it may have exited), or target the program by name with {\"comm\": \"name\"}, which also follows new processes"})
}

// zeroedAverageCrashes reports whether release v dies printing an avg() or
// stats() map after zero(): it divides by the count, now 0, and is killed by
// SIGFPE, in JSON and text mode alike, losing every map it had yet to print.
// Measured on 0.23.2; 0.17.0 and 0.27.1 print 0, and 0.24 rewrote the
// output code.
func zeroedAverageCrashes(v version.Version) bool {
	return v.Within("0.23", "0.24")
}

// checkZeroedAverage warns about zero() of an avg() or stats() map on a
// release where printing it then kills bpftrace.
func checkZeroedAverage(r *Result, call *lang.Call, maps output.Schema, v version.Version) {
	if call.Name != "zero" || len(call.Args) != 1 {
		return
	}
	m, ok := call.Args[0].(*lang.MapExpr)
	if !ok {
		return
	}
	if typ := maps[m.Name].Type; typ != output.TypeAvg && typ != output.TypeStats {
		return
	}
	l, c, e := at(call)
	r.add(Diagnostic{Severity: Warning, Line: l, Column: c, EndColumn: e, Code: CodeTrap,
		Message: fmt.Sprintf("bpftrace %s dies (SIGFPE) when it next prints %s after this zero(): it divides the zeroed total by a count of 0, and the maps it had yet to print are lost", v, m.Name),
		Hint:    fmt.Sprintf("use clear(%s) instead, which empties the map without the crash", m.Name)})
}
