package policy

import (
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// renderCat formats a cat() path as bpftrace would, with num standing for
// every numeric argument that is not a literal.
func renderCat(c *lang.Call, num string) (string, bool) {
	f := c.Args[0].(*lang.StringLit).Value
	args := c.Args[1:]
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ #0123456789.hlLqjzt", f[j]) >= 0 {
			j++
		}
		if j >= len(f) || len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		switch f[j] {
		case 's':
			s, ok := a.(*lang.StringLit)
			if !ok {
				return "", false
			}
			b.WriteString(s.Value)
		case 'c':
			n, ok := a.(*lang.IntLit)
			if !ok {
				return "", false
			}
			b.WriteByte(byte(n.Value))
		default:
			if n, ok := a.(*lang.IntLit); ok {
				fmt.Fprintf(&b, "%d", n.Value)
			} else {
				b.WriteString(num)
			}
		}
		i = j
	}
	return b.String(), true
}

// FuzzCat: whatever cat() call the policy allows reaches, once bpftrace
// formats it with any number for the non-literal arguments, only a clean
// path that the allow-list matches.
func FuzzCat(f *testing.F) {
	for _, s := range []string{
		`cat("/proc/%d/status", pid)`, `cat("/proc/%s/status", "self")`, `cat("/proc/%s/status", "../../tmp/x")`,
		`cat("/proc/%c%c/status", 46, 46)`, `cat("/proc/%s", "1/status")`, `cat("/proc/%d%s", pid, "/status")`,
		`cat("/proc/%-5llu/status", tid)`, `cat("/proc/%x/status", pid)`, `cat("/proc/%%/status")`,
	} {
		f.Add(s)
	}
	p := Default()
	p.CatPaths = []string{"/proc/*/status"}
	f.Fuzz(func(t *testing.T, call string) {
		prog, err := lang.Parse("stdin", "BEGIN { "+call+"; }")
		if err != nil || len(prog.Probes) != 1 || prog.Probes[0].Body == nil || len(prog.Probes[0].Body.Stmts) != 1 {
			return
		}
		st, ok := prog.Probes[0].Body.Stmts[0].(*lang.ExprStmt)
		if !ok {
			return
		}
		c, ok := st.X.(*lang.Call)
		if !ok || c.Name != "cat" || len(c.Args) == 0 {
			return
		}
		if _, ok := c.Args[0].(*lang.StringLit); !ok {
			return
		}
		if _, refused := p.checkCat(c); refused {
			return
		}
		for _, num := range []string{"0", "1", "-1", "4294967295", "ffff"} {
			got, ok := renderCat(c, num)
			if !ok {
				t.Fatalf("%s was allowed but does not format", call)
			}
			if path.Clean(got) != got || strings.Contains(got, "..") {
				t.Fatalf("%s was allowed and reaches %q", call, got)
			}
			if m, _ := path.Match("/proc/*/status", got); !m && !strings.HasPrefix(got, "/proc/self/") && !strings.HasPrefix(got, "/proc/thread-self/") {
				t.Fatalf("%s was allowed and reaches %q, outside the allow-list", call, got)
			}
		}
	})
}
