package validate

import (
	"context"
	"fmt"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// checkFields checks every args->field (or args.field) of a tracepoint probe
// against the tracepoint's format, and the spelling against the installed
// bpftrace: before 0.19 args is a pointer (args->x), from 0.19 a struct
// (args.x, with args->x still accepted).
func (v *Validator) checkFields(ctx context.Context, r *Result, prog *lang.Program) {
	for _, p := range prog.Probes {
		var tps []string
		tracepointsOnly := true
		for _, ap := range p.AttachPoints {
			if ap.Canonical != "tracepoint" {
				tracepointsOnly = false
				continue
			}
			tps = append(tps, r.expanded[ap]...)
		}
		inspectProbe(p, func(n lang.Node) {
			f, ok := n.(*lang.Field)
			if !ok || !isArgs(f.X) {
				return
			}
			v.checkArgsSpelling(r, f)
			if tracepointsOnly && len(tps) > 0 && v.o.Catalog != nil {
				v.checkField(ctx, r, f, tps)
			}
		})
	}
}

func inspectProbe(p *lang.Probe, f func(lang.Node)) {
	lang.Inspect(p, func(n lang.Node) bool { f(n); return true })
}

func isArgs(e lang.Expr) bool {
	if p, ok := e.(*lang.Paren); ok {
		return isArgs(p.X)
	}
	b, ok := e.(*lang.Builtin)
	return ok && b.Name == "args"
}

func (v *Validator) checkArgsSpelling(r *Result, f *lang.Field) {
	if v.o.Binary == nil {
		return
	}
	l, c, e := at(f)
	structArgs, since := v.o.Binary.Version.Supports(version.ArgsStruct)
	switch {
	case !f.Arrow && !structArgs:
		r.add(Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: CodeVersion,
			Message: fmt.Sprintf("args.%s needs bpftrace %s or newer, where args became a struct; in bpftrace %s args is a pointer", f.Name, since, v.o.Binary.Version),
			Hint:    fmt.Sprintf("write args->%s", f.Name)})
	case f.Arrow && structArgs:
		r.add(Diagnostic{Severity: Info, Line: l, Column: c, EndColumn: e, Code: CodeVersion,
			Message: fmt.Sprintf("args->%s still works, but since bpftrace %s args is a struct", f.Name, since),
			Hint:    fmt.Sprintf("write args.%s", f.Name)})
	}
}

func (v *Validator) checkField(ctx context.Context, r *Result, f *lang.Field, tps []string) {
	var lacking []string
	var fields []string
	for _, tp := range tps {
		fs, err := v.o.Catalog.Fields(ctx, tp)
		if err != nil {
			return // the attach point check already reported it
		}
		has := false
		for _, fd := range fs {
			if fd.Name == f.Name {
				has = true
			}
		}
		if !has {
			lacking = append(lacking, tp)
			if fields == nil {
				for _, fd := range fs {
					fields = append(fields, fd.Name)
				}
			}
		}
	}
	if len(lacking) == 0 {
		return
	}
	l, c, e := at(f)
	arrow := "->"
	if !f.Arrow {
		arrow = "."
	}
	d := Diagnostic{Severity: Error, Line: l, Column: c, EndColumn: e, Code: CodeField}
	if len(lacking) == len(tps) {
		d.Message = fmt.Sprintf("%s has no field %q", lacking[0], f.Name)
		if len(tps) > 1 {
			d.Message = fmt.Sprintf("none of the %d tracepoints of this probe has a field %q", len(tps), f.Name)
		}
		d.Hint = fmt.Sprintf("the fields of %s are: %s", lacking[0], joinFields(fields, arrow))
		if near := nearestNames(f.Name, fields, 1, 3); len(near) > 0 {
			d.Hint = fmt.Sprintf("did you mean args%s%s? ", arrow, near[0]) + d.Hint
		}
	} else {
		d.Message = fmt.Sprintf("%d of the %d tracepoints this probe attaches to have no field %q (%s)", len(lacking), len(tps), f.Name, strings.Join(lacking[:min(3, len(lacking))], ", "))
		d.Hint = "bpftrace refuses the whole program: narrow the wildcard to the tracepoints that have the field (describe_probe shows a tracepoint's fields)"
	}
	r.add(d)
}

func joinFields(fields []string, arrow string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = "args" + arrow + f
	}
	return strings.Join(out, ", ")
}
