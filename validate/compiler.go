package validate

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
)

// addCompilerDiagnostics turns what bpftrace's compiler said into
// diagnostics, with hints for the mistakes it recognises.
func (v *Validator) addCompilerDiagnostics(ctx context.Context, r *Result, res *bpftrace.CheckResult) {
	for _, d := range res.Stderr.Diagnostics {
		sev := Error
		switch d.Severity {
		case bpftrace.SeverityWarning:
			sev = Warning
		}
		out := Diagnostic{Severity: sev, Line: d.Line, Column: d.Column, Message: d.Message, Code: CodeBpftrace}
		if d.EndLine == d.Line {
			out.EndColumn = d.EndColumn
		}
		out.Hint = v.hintFor(ctx, d.Message)
		if out.Hint == "" {
			out.Hint = d.Hint // bpftrace's own, from 0.24 on
		}
		r.add(out)
	}
	if res.OK() {
		return
	}
	for _, o := range res.Stderr.Other {
		r.add(Diagnostic{Severity: Error, Message: o, Code: CodeBpftrace})
	}
	if res.Status.Signaled() || res.Status.Code == 134 {
		r.add(Diagnostic{Severity: Error, Message: "bpftrace crashed while compiling the program (" + res.Status.String() + ")",
			Code: CodeBpftrace, Hint: "this is usually an unknown probe type; check the attach points"})
	}
	if len(r.Errors()) == 0 {
		// bpftrace failed without saying why in a form we recognise.
		r.add(Diagnostic{Severity: Error, Message: "bpftrace rejected the program (" + res.Status.String() + ")", Code: CodeBpftrace})
	}
}

var (
	noFieldRE      = regexp.MustCompile(`type 'struct _tracepoint_(\w+)' does not contain a field named '(\w+)'`)
	tpNotFoundRE   = regexp.MustCompile(`^tracepoints? not found: (\S+)`)
	unknownFuncRE  = regexp.MustCompile(`^Unknown function: '?(\w+)`) // quoted from 0.24
	aggregateRE    = regexp.MustCompile(`'(?:count|sum|min|max|avg|stats)'`)
	undefMapRE     = regexp.MustCompile(`^Undefined map: (@\w*)`)
	unknownIdentRE = regexp.MustCompile(`^Unknown identifier: '(\w+)'`)
	undefVarRE     = regexp.MustCompile(`^Undefined or undeclared variable: (\$\w+)`)
	derefRE        = regexp.MustCompile(`^Can not access field '(\w+)' on type '\(ctx\) struct`)
	// argsRE matches bpftrace's complaints about a call's arguments:
	// "count() requires no arguments", "str() takes up to 2 arguments",
	// "hist() only supports integer arguments".
	argsRE = regexp.MustCompile(`^(\w+)\(\) (?:requires|takes|only supports|expects|should)`)
)

func (v *Validator) hintFor(ctx context.Context, msg string) string {
	lower := strings.ToLower(msg) // 0.24 and later reworded some messages in lower case
	switch {
	case noFieldRE.MatchString(msg):
		m := noFieldRE.FindStringSubmatch(msg)
		if tp, fields := v.tracepointFields(ctx, m[1]); tp != "" {
			h := "the fields of " + tp + " are: " + joinFields(fields, "->")
			if near := nearestNames(m[2], fields, 1, 3); len(near) > 0 {
				h = "did you mean args->" + near[0] + "? " + h
			}
			return h
		}
		return "describe_probe shows the tracepoint's fields"
	case tpNotFoundRE.MatchString(msg):
		name := tpNotFoundRE.FindStringSubmatch(msg)[1]
		if v.o.Catalog != nil {
			if near := v.o.Catalog.Nearest(ctx, "tracepoint:"+name, 3); len(near) > 0 {
				return "did you mean " + strings.Join(near, ", ") + "?"
			}
		}
		return "find the right name with list_probes"
	case unknownFuncRE.MatchString(msg):
		name := unknownFuncRE.FindStringSubmatch(msg)[1]
		if near := nearestNames(name, v.helperNames(docs.KindFunction, docs.KindMapFunction), 3, 2); len(near) > 0 {
			return "did you mean " + strings.Join(near, "(), ") + "()? list_helpers shows every function"
		}
		return "list_helpers shows the functions of this bpftrace"
	case unknownIdentRE.MatchString(msg):
		name := unknownIdentRE.FindStringSubmatch(msg)[1]
		if near := nearestNames(name, v.helperNames(docs.KindVariable), 3, 2); len(near) > 0 {
			return "did you mean " + strings.Join(near, ", ") + "? Variables need a $ ($x) and maps an @ (@x)"
		}
		return "scratch variables start with $ and maps with @; list_helpers shows the builtin variables"
	case undefVarRE.MatchString(msg):
		name := undefVarRE.FindStringSubmatch(msg)[1]
		return fmt.Sprintf("assign %s before reading it in the same probe: scratch variables live for one firing of one probe; keep a value across probes in a map (@%s[tid])", name, strings.TrimPrefix(name, "$"))
	case derefRE.MatchString(msg):
		f := derefRE.FindStringSubmatch(msg)[1]
		return "in this bpftrace args is a pointer: write args->" + f
	case strings.Contains(msg, "args builtin can only be used with"):
		return "args differs per probe type: give the tracepoint its own probe block, and use other builtins in the others"
	case strings.Contains(msg, "unsafe function being used in safe mode"):
		return "unsafe builtins (system, signal, override) are refused on this server; print what you need and act outside the trace"
	case strings.Contains(msg, "kfunc/kretfunc not available"), strings.Contains(msg, "iter") && strings.Contains(msg, "not available"):
		return "this kernel cannot run BPF tracing programs of that type; use a tracepoint (list_probes) instead"
	case strings.Contains(msg, "specifier expects a value of type"), strings.Contains(msg, "unsupported format specifier for type"):
		return "match the format to the argument: %d/%u/%x for integers, %s for strings (wrap a char * in str()), %p for pointers"
	case strings.Contains(lower, "not enough arguments for format string"), strings.Contains(lower, "too many arguments for format string"):
		return "give printf exactly one argument per % specifier (write %% for a literal %)"
	case strings.HasPrefix(msg, "Type mismatch for $"):
		return "a scratch variable keeps the type of its first assignment: use another variable for a value of another type"
	case strings.HasPrefix(msg, "Type mismatch for @"):
		return "a map keeps the type of its first assignment: store values of that type, or use a separate map"
	case strings.Contains(msg, "Type mismatch"):
		if ok, since := v.release().Supports(version.AggregateReads); !ok && aggregateRE.MatchString(msg) {
			return "before bpftrace " + since + " an aggregation (count(), sum(), min(), max(), avg()) can only be printed, not compared or used in an expression: print it, or keep the value in a plain map (@n = @n + 1)"
		}
		return "both sides of an operator need the same kind of value: compare integers with integers and strings with strings"
	case undefMapRE.MatchString(msg):
		name := undefMapRE.FindStringSubmatch(msg)[1]
		return "assign " + name + " somewhere in the program before reading it; an error in its only assignment (reported here too) leaves it undefined"
	case strings.Contains(msg, "Probe has no valid attach points"):
		return "nothing on this host matches the attach point (and from bpftrace 0.24 that is an error): find the right name with list_probes, or list_probes of the probe type to see whether this host has it"
	case strings.Contains(msg, "is not traceable"):
		return "the function is not traceable here (inlined, notrace, or kprobes unavailable); use a tracepoint (list_probes)"
	case argsRE.MatchString(msg):
		name := argsRE.FindStringSubmatch(msg)[1]
		if sig := v.signature(name); sig != "" {
			return "the signature is " + sig + " (list_helpers shows every function with its signature)"
		}
		return "list_helpers shows every function with its signature"
	case strings.Contains(msg, "syntax error"):
		return "check the brackets and semicolons near this position; statements end with ';' and probes are written provider:args { ... }"
	}
	return ""
}

// tracepointFields finds the tracepoint behind a bpftrace struct name:
// "syscalls_sys_enter_openat" is syscalls:sys_enter_openat, but categories
// may hold underscores (raw_syscalls), so every split is tried.
func (v *Validator) tracepointFields(ctx context.Context, s string) (string, []string) {
	if v.o.Catalog == nil {
		return "", nil
	}
	for i := range len(s) {
		if s[i] != '_' {
			continue
		}
		tp := "tracepoint:" + s[:i] + ":" + s[i+1:]
		fs, err := v.o.Catalog.Fields(ctx, tp)
		if err != nil {
			continue
		}
		names := make([]string, len(fs))
		for j, f := range fs {
			names[j] = f.Name
		}
		return tp, names
	}
	return "", nil
}

// signature returns the signature of a function of this bpftrace.
func (v *Validator) signature(name string) string {
	var sigs []string
	for _, h := range docs.Helpers() {
		if h.Name == name && h.Kind != docs.KindVariable && (v.o.Binary == nil || v.o.Binary.Version.Within(h.Since, h.Until)) {
			sigs = append(sigs, h.Signature)
		}
	}
	return strings.Join(sigs, " or ")
}

func (v *Validator) helperNames(kinds ...string) []string {
	var names []string
	for _, h := range docs.Helpers() {
		for _, k := range kinds {
			if h.Kind == k && (v.o.Binary == nil || v.o.Binary.Version.Within(h.Since, h.Until)) {
				names = append(names, h.Name)
			}
		}
	}
	return names
}

// release is the bpftrace release programs are checked for, zero when the
// validator has no binary.
func (v *Validator) release() version.Version {
	if v.o.Binary == nil {
		return version.Version{}
	}
	return v.o.Binary.Version
}
