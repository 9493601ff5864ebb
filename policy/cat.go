package policy

import (
	"fmt"
	"path"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/realpath"
)

// checkCat allows cat() only of paths the allow-list covers, judging every
// path the call could reach: the format is a string literal; a %s (or %c)
// conversion must be given a literal, which is put in its place and judged
// with the rest, since a string can carry / and ..; numeric conversions
// (%d, %x...) become a * that cannot cross a /. The path must be absolute
// and clean, and its existing part is resolved through symlinks before it
// is compared with the allow-list entries, resolved the same way.
func (p *Policy) checkCat(c *lang.Call) (Violation, bool) {
	v := Violation{Rule: "cat.paths", Pos: c.Pos(), End: c.NameEnd}
	if len(p.CatPaths) == 0 {
		v.Message = "cat() is refused by this server's policy: it reads any file as root"
		v.Hint = "read the file outside the trace; an administrator can allow some paths (cat.paths in the configuration)"
		return v, true
	}
	if len(c.Args) == 0 {
		return v, false // bpftrace reports the missing argument
	}
	lit, ok := c.Args[0].(*lang.StringLit)
	if !ok {
		v.Message = "cat() must be given its path as a string literal here, so that the policy can check it"
		v.Hint = "write the path in the program: cat(\"/proc/%d/status\", pid)"
		return v, true
	}
	pattern, bad := catPattern(lit.Value, c.Args[1:])
	if bad != nil {
		if bad.at != nil {
			v.Pos, v.End = bad.at.Pos(), bad.at.End()
		}
		v.Message = fmt.Sprintf("cat(%q) is refused: %s", lit.Value, bad.why)
		v.Hint = "give a %s its value as a string literal, or use a numeric conversion (%d) for a number such as a pid"
		return v, true
	}
	if !strings.HasPrefix(pattern, "/") || strings.Contains(pattern, "/../") || strings.HasSuffix(pattern, "/..") || path.Clean(pattern) != pattern {
		v.Message = fmt.Sprintf("cat(%q) is refused: the path it reads (%s) must be absolute and clean (no .., no //, no /./)", lit.Value, pattern)
		v.Hint = "write the absolute path without .. or repeated slashes"
		return v, true
	}
	canon, err := canonicalGlob(pattern)
	if err != nil {
		v.Message = fmt.Sprintf("cat(%q) is refused: its path cannot be resolved (%s)", lit.Value, describeErr(err))
		v.Hint = "write the real path of the file (readlink -f shows it)"
		return v, true
	}
	for _, g := range p.CatPaths {
		cg, err := canonicalGlob(g)
		if err != nil {
			continue
		}
		if ok, _ := path.Match(cg, canon); ok {
			return v, false
		}
	}
	shown := canon
	if canon != pattern {
		shown = pattern + ", which is " + canon
	}
	v.Message = fmt.Sprintf("cat(%q) is refused: the path it reads (%s) is not in this server's allow-list (%s)", lit.Value, shown, strings.Join(p.CatPaths, ", "))
	v.Hint = "read only the files the administrator allows, or read this one outside the trace"
	return v, true
}

// badConversion is a conversion of a cat() format that could carry a
// path the policy cannot see.
type badConversion struct {
	at  lang.Node
	why string
}

// catPattern returns the path a cat() format can reach as a glob: string
// and character conversions replaced by their literal arguments, numeric
// ones by *, %% by %.
func catPattern(f string, args []lang.Expr) (string, *badConversion) {
	var b strings.Builder
	arg := 0
	next := func() lang.Expr {
		if arg < len(args) {
			arg++
			return args[arg-1]
		}
		return nil
	}
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
		for j < len(f) && strings.IndexByte("-+ #0123456789.", f[j]) >= 0 {
			j++
		}
		mods := f[i+1 : j]
		for j < len(f) && strings.IndexByte("hlLqjzt", f[j]) >= 0 {
			j++
		}
		if j >= len(f) {
			return "", &badConversion{args0(args), "the format ends in an unfinished conversion"}
		}
		conv := f[j]
		a := next()
		if a == nil {
			return "", &badConversion{args0(args), fmt.Sprintf("the conversion %%%c has no argument", conv)}
		}
		switch conv {
		case 'd', 'i', 'u', 'x', 'X', 'o':
			// A number has no / and no .. in it.
			b.WriteByte('*')
		case 's', 'c':
			if mods != "" {
				return "", &badConversion{argOr(a, args), fmt.Sprintf("%%%s%c has a width or precision, which the policy does not judge", mods, conv)}
			}
			val, ok := literalText(a, conv)
			if !ok {
				return "", &badConversion{argOr(a, args), fmt.Sprintf("%%%c could carry / or .. into the path, and its argument is not a literal the policy can judge", conv)}
			}
			b.WriteString(val)
		default:
			return "", &badConversion{argOr(a, args), fmt.Sprintf("the conversion %%%c is not one the policy can judge in a path", conv)}
		}
		i = j
	}
	if arg < len(args) {
		return "", &badConversion{args[arg], "it has more arguments than the format has conversions"}
	}
	return b.String(), nil
}

// literalText is the text a literal argument puts in the path.
func literalText(a lang.Expr, conv byte) (string, bool) {
	switch a := a.(type) {
	case *lang.StringLit:
		if conv == 's' && strings.IndexByte(a.Value, 0) < 0 {
			return a.Value, true
		}
	case *lang.IntLit:
		if conv == 'c' && a.Value > 0 && a.Value < 0x80 {
			return string(rune(a.Value)), true
		}
	}
	return "", false
}

func argOr(a lang.Expr, args []lang.Expr) lang.Node {
	if a != nil {
		return a
	}
	return args0(args)
}

func args0(args []lang.Expr) lang.Node {
	if len(args) > 0 {
		return args[0]
	}
	return nil
}

// canonicalGlob resolves the part of an absolute glob before its first
// wildcard through symlinks (what exists of it), and keeps the rest as
// written.
func canonicalGlob(g string) (string, error) {
	parts := strings.Split(g, "/")
	k := len(parts)
	for i, c := range parts {
		if strings.ContainsAny(c, "*?[\\") {
			k = i
			break
		}
	}
	prefix := strings.Join(parts[:k], "/")
	if prefix == "" {
		prefix = "/"
	}
	canon, _, err := realpath.ResolveAny(prefix, "/")
	if err != nil {
		return "", err
	}
	if k == len(parts) {
		return canon, nil
	}
	return strings.TrimSuffix(canon, "/") + "/" + strings.Join(parts[k:], "/"), nil
}
