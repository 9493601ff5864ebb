package validate

import (
	"fmt"
	"slices"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/docs"
	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// checkCalls reports functions that the installed bpftrace does not have
// yet (or no longer has). Which builtins are allowed at all is the
// policy's business.
func (v *Validator) checkCalls(r *Result, prog *lang.Program) {
	// A name may have several entries (variants tagged with different
	// releases); it is available when any of them is.
	helpers := map[string][]docs.Helper{}
	for _, h := range docs.Helpers() {
		if h.Kind != docs.KindVariable {
			helpers[h.Name] = append(helpers[h.Name], h)
		}
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		c, ok := n.(*lang.Call)
		if !ok {
			return true
		}
		l, col, _ := at(c)
		end := c.NameEnd.Column
		if v.o.Binary == nil {
			return true
		}
		if hs, known := helpers[c.Name]; known && !slices.ContainsFunc(hs, func(h docs.Helper) bool { return v.o.Binary.Version.Within(h.Since, h.Until) }) {
			h := hs[0]
			msg := fmt.Sprintf("%s() is not in bpftrace %s", c.Name, v.o.Binary.Version)
			if h.Since != "" && !v.o.Binary.Version.AtLeast(h.Since) {
				msg = fmt.Sprintf("%s() needs bpftrace %s or newer; this host has %s", c.Name, h.Since, v.o.Binary.Version)
			} else if h.Until != "" {
				msg = fmt.Sprintf("%s() was removed in bpftrace %s; this host has %s", c.Name, h.Until, v.o.Binary.Version)
			}
			r.add(Diagnostic{Severity: Error, Line: l, Column: col, EndColumn: end, Code: CodeVersion, Message: msg,
				Hint: "list_helpers shows what this bpftrace has"})
		}
		if c.Name == "exit" && len(c.Args) > 0 {
			if ok, since := v.o.Binary.Version.Supports(version.ExitCode); !ok {
				r.add(Diagnostic{Severity: Error, Line: l, Column: col, EndColumn: end, Code: CodeVersion,
					Message: fmt.Sprintf("exit() takes an exit code from bpftrace %s; this host has %s", since, v.o.Binary.Version),
					Hint:    "call exit() without an argument"})
			}
		}
		return true
	})
}
