package validate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/verdict"
)

// RuleDifferential names the refusal of a program that bpftrace's own
// parser reads differently from the server's checks.
const RuleDifferential = "preprocessor.differential"

// ASTDumper reads bpftrace's own parse of a program without running it
// (runner.Manager is one). A Compiler that also implements it lets
// [Validator.Differential] check programs that were not compiled first.
type ASTDumper interface {
	DumpAST(ctx context.Context, program string, unsafe bool) (*bpftrace.AST, error)
}

// Differential outcomes, in Result.Differential.
const (
	// DiffMatched: bpftrace's AST and the Go view agree.
	DiffMatched = "matched"
	// DiffCached: they agreed for this program, bpftrace and policy before.
	DiffCached = "cached"
	// DiffNoDirective: the program holds no character that could start a
	// directive, so no macro can be defined for bpftrace to expand and
	// there is nothing to compare.
	DiffNoDirective = "no directive characters"
	// DiffUnavailable: the AST of this bpftrace (0.24 to 0.26) is not
	// read here; the preprocessor guard alone stands.
	DiffUnavailable = "unavailable"
	// DiffMacroPass: bpftrace's own C macro pass changed nothing in the
	// program (0.27 and later, where the probes and calls of its AST are
	// not compared).
	DiffMacroPass = "no C macro expanded"
)

// needsDifferential reports whether src holds anything that could put a
// directive (and so a macro bpftrace's lexer would expand) before clang: a
// #, the digraph or trigraph spelling of it, a backslash that could splice
// one, or a pragma operator, wherever it stands, strings and comments
// included. Without any of these no text of the program can define a
// macro, whatever bpftrace's lexer makes of it (a struct definition alone
// cannot), so there is nothing to compare. This is deliberately cruder
// than the guard, so that a gap in the guard's model of bpftrace's lexer
// cannot also skip the comparison.
func needsDifferential(src string) bool {
	for _, s := range []string{"#", "%:", "??=", "\\", "_Pragma", "__pragma"} {
		if strings.Contains(src, s) {
			return true
		}
	}
	return false
}

// Differential compares bpftrace's own parse of r.Source (the program as
// it would run, target predicate included) with the Go view that the
// policy judged: the probes, their attach points, their predicates and the
// functions called. A difference means something rewrote the program
// between the checks and bpftrace (a C macro, say), and the program is
// refused. It runs only on a valid result, and only when bpftrace could
// put a directive before clang (see needsDifferential); a program it
// has already matched for this bpftrace and policy is not parsed again.
// An error means bpftrace could not be run; the caller must not run the
// program then.
func (v *Validator) Differential(ctx context.Context, r *Result) error {
	if !r.Valid() || r.Differential != "" {
		return nil
	}
	if !needsDifferential(r.Source) {
		r.Differential = DiffNoDirective
		return nil
	}
	k := v.verdictKey(r)
	if v.agreed.Has(k) {
		r.Differential = DiffCached
		return nil
	}
	d, ok := v.o.Compiler.(ASTDumper)
	if !ok || v.o.Binary == nil || !v.o.Binary.HasParserAST() && !v.o.Binary.HasMacroPassAST() {
		r.Differential = DiffUnavailable
		return nil
	}
	ast, err := d.DumpAST(ctx, r.Source, r.Unsafe)
	if errors.Is(err, bpftrace.ErrNoAST) {
		// bpftrace could not parse what the server's parser could: that is
		// a difference too.
		r.add(differentialDiag(1, 1, "bpftrace's parser does not accept this program although the server's checks did ("+err.Error()+")"))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read bpftrace's AST: %w", err)
	}
	v.compareAST(r, ast, k)
	return nil
}

// compareAST adds a diagnostic for each difference between ast and the Go
// view of r.Source, and remembers an agreement under k.
func (v *Validator) compareAST(r *Result, ast *bpftrace.AST, k verdict.Key) {
	if ast.MacroPass {
		// 0.27 and later: what bpftrace runs is what the server judged
		// when its C macro pass changes nothing (its own macros are
		// expanded before, in the Go view too).
		if len(ast.MacroChanges) == 0 {
			r.Differential = DiffMacroPass
			v.agreed.Put(k, true)
			return
		}
		r.add(differentialDiag(1, 1, "bpftrace's C macro pass rewrites it: "+strings.Join(ast.MacroChanges, "; ")))
		return
	}
	prog := r.Program
	if prog == nil || r.Source != r.parsed {
		p, err := lang.Parse("stdin", r.Source)
		if err != nil {
			r.add(differentialDiag(1, 1, "the program with the target's predicate does not parse: "+err.Error()))
			return
		}
		prog = p
	}
	diffs := diffAST(goView(prog), ast)
	if len(diffs) == 0 {
		r.Differential = DiffMatched
		v.agreed.Put(k, true)
		return
	}
	for _, df := range diffs {
		line, col := 1, 1
		if df.probe < len(prog.Probes) {
			p := prog.Probes[df.probe].Pos()
			line, col = p.Line, p.Column
		}
		r.add(differentialDiag(line, col, df.msg))
	}
}

func differentialDiag(line, col int, msg string) Diagnostic {
	return Diagnostic{Severity: Error, Line: line, Column: col, Code: CodePolicy, Rule: RuleDifferential,
		Message: "bpftrace reads this program differently from the text the server checked, so it is not run: " + msg,
		Hint: "this happens when C preprocessor text slips through (a macro, a directive in an unusual spelling); " +
			"remove anything C-like other than plain struct definitions, and write every call out"}
}

// goView is the part of a parsed program that the comparison looks at, in
// the shape bpftrace's AST has.
func goView(prog *lang.Program) *bpftrace.AST {
	out := &bpftrace.AST{}
	for _, p := range prog.Probes {
		ap := bpftrace.ASTProbe{Predicate: p.Predicate != nil}
		for _, a := range p.AttachPoints {
			ap.AttachPoints = append(ap.AttachPoints, attachName(a))
		}
		if p.Predicate != nil {
			ap.PredicateCalls = callNames(p.Predicate)
		}
		if p.Body != nil {
			ap.Calls = callNames(p.Body)
		}
		out.Probes = append(out.Probes, ap)
	}
	return out
}

// attachName spells an attach point as bpftrace's AST printer does: the
// full provider name, then the parts without quotes.
func attachName(a *lang.AttachPoint) string {
	prov := a.Canonical
	if prov == "" {
		prov = a.Provider
	}
	if len(a.Parts) == 0 {
		return prov
	}
	return prov + ":" + strings.Join(a.Parts, ":")
}

func callNames(n lang.Node) []string {
	var names []string
	lang.Inspect(n, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Call:
			names = append(names, n.Name)
		case *lang.Sizeof:
			names = append(names, "sizeof") // bpftrace prints it as a call
		}
		return true
	})
	return names
}

type astDiff struct {
	probe int
	msg   string
}

// diffAST compares two views. Calls are compared as multisets: the two
// printers walk some nodes in different orders, and what matters is that
// no call is added, lost or renamed.
func diffAST(goSide, bt *bpftrace.AST) []astDiff {
	if len(goSide.Probes) != len(bt.Probes) {
		return []astDiff{{0, fmt.Sprintf("it has %d probes for bpftrace and %d for the checks", len(bt.Probes), len(goSide.Probes))}}
	}
	var diffs []astDiff
	for i := range goSide.Probes {
		g, b := goSide.Probes[i], bt.Probes[i]
		if !slices.Equal(g.AttachPoints, b.AttachPoints) {
			diffs = append(diffs, astDiff{i, fmt.Sprintf("probe %d attaches to %s for bpftrace and to %s for the checks",
				i+1, strings.Join(b.AttachPoints, ", "), strings.Join(g.AttachPoints, ", "))})
		}
		if g.Predicate != b.Predicate {
			diffs = append(diffs, astDiff{i, fmt.Sprintf("probe %d has a predicate for one and none for the other", i+1)})
		}
		if m := multisetDiff(g.PredicateCalls, b.PredicateCalls); m != "" {
			diffs = append(diffs, astDiff{i, fmt.Sprintf("the predicate of probe %d calls %s", i+1, m)})
		}
		if m := multisetDiff(g.Calls, b.Calls); m != "" {
			diffs = append(diffs, astDiff{i, fmt.Sprintf("probe %d calls %s", i+1, m)})
		}
	}
	return diffs
}

// multisetDiff describes how the names bpftrace sees differ from those the
// checks saw, or returns "".
func multisetDiff(checked, seen []string) string {
	count := map[string]int{}
	for _, n := range seen {
		count[n]++
	}
	for _, n := range checked {
		count[n]--
	}
	var extra, missing []string
	for n, c := range count {
		for ; c > 0; c-- {
			extra = append(extra, n+"()")
		}
		for ; c < 0; c++ {
			missing = append(missing, n+"()")
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return ""
	}
	slices.Sort(extra)
	slices.Sort(missing)
	var parts []string
	if len(extra) > 0 {
		parts = append(parts, strings.Join(extra, ", ")+" for bpftrace only")
	}
	if len(missing) > 0 {
		parts = append(parts, strings.Join(missing, ", ")+" for the checks only")
	}
	return strings.Join(parts, ", and ")
}
