package policy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/realpath"
)

// Rule names of the checks of this file and of binaries.go, as the
// configuration file and the diagnostics spell them.
const (
	RuleBinary           = "probes.binary"
	RuleSensitiveBinary  = "sensitive.binaries"
	RuleSensitiveAddress = "sensitive.addresses"
	RuleSensitiveBuffers = "sensitive.syscall_buffers"
	RuleSelf             = "self.exclude"
)

// Approval says what happens to a program of the sensitive class.
type Approval string

const (
	// ApprovalRefuse refuses it, saying why.
	ApprovalRefuse Approval = "refuse"
	// ApprovalElicit asks the user (through MCP elicitation, when the
	// client supports it) to approve it, showing what it would read; it is
	// refused when the client cannot ask.
	ApprovalElicit Approval = "elicit"
)

// Sensitive defines the class of programs that read secrets: passwords,
// keys, plaintext before encryption, or whatever other processes read and
// write. Each part of the class can be switched off.
type Sensitive struct {
	// Approval is ApprovalRefuse ("" means the same) or ApprovalElicit.
	Approval Approval
	// Binaries are globs (a * crosses /) over the canonical path of a
	// uprobe, uretprobe or usdt binary whose probes read authentication or
	// cryptographic data. Empty leaves binaries out of the class.
	Binaries []string
	// Addresses puts in the class reads through integer addresses cast to
	// pointers: str(0x7fff...), *(uint64 *)1234, buf(arg0 + 8, 16).
	Addresses bool
	// SyscallBuffers puts in the class reads of the data buffers of read,
	// write, recv and send syscalls (str(args->buf)) in a run that is not
	// confined to a target, since they read every process's data.
	SyscallBuffers bool
}

// SensitiveBinaries is the default list of authentication and crypto code:
// PAM and its modules, libcrypt, OpenSSL, GnuTLS, libgcrypt, NSS, and the
// programs that handle passwords and keys.
var SensitiveBinaries = []string{
	"*/libpam.so*", "*/libpam_misc.so*", "*/security/pam_*.so",
	"*/libcrypt.so*", "*/libxcrypt.so*",
	"*/libssl.so*", "*/libssl3.so*", "*/libcrypto.so*",
	"*/libgnutls.so*", "*/libgnutls-*.so*", "*/libgcrypt.so*", "*/libnss3.so*", "*/libsoftokn3.so*",
	"*/sshd", "*/sshd-session", "*/sshd-auth", "*/ssh-agent",
	"*/sudo", "*/sudoers.so", "*/su", "*/passwd", "*/chpasswd", "*/unix_chkpwd", "*/login",
	"*/gpg-agent", "*/gpg",
}

// DefaultSensitive is the sensitive class in force without configuration:
// all of it, refused.
func DefaultSensitive() Sensitive {
	return Sensitive{Approval: ApprovalRefuse, Binaries: slices.Clone(SensitiveBinaries), Addresses: true, SyscallBuffers: true}
}

// NeedsApproval reports whether a person may approve a program refused
// with vs: every violation belongs to the sensitive class and the policy
// asks for approval. The summaries of the violations say what would be read.
func NeedsApproval(vs []Violation) bool {
	if len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if v.Approval == "" {
			return false
		}
	}
	return true
}

// sensitive fills in a violation of the sensitive class: the hint, and the
// summary a person would approve when the policy asks for approval.
func (p *Policy) sensitive(v Violation, summary string) Violation {
	if p.Sensitive.Approval == ApprovalElicit {
		v.Approval = summary
		v.Hint += "; this server can ask you to approve it (the client must support MCP elicitation)"
	} else {
		v.Hint += "; an administrator can let a person approve such programs (sensitive.approval = \"elicit\")"
	}
	return v
}

func (p *Policy) checkSensitiveBinary(ap *lang.AttachPoint, bs Binaries, known map[FileID]string) (Violation, bool) {
	for _, b := range bs.Files {
		g := matchAny(p.Sensitive.Binaries, b.Path)
		if g == "" && b.Root != "" {
			g = matchAny(p.Sensitive.Binaries, b.InRoot())
		}
		if same, ok := known[FileID{b.Dev, b.Ino}]; g == "" && ok && len(p.Sensitive.Binaries) > 0 {
			g = "same file as " + same
		}
		if g == "" {
			continue
		}
		fn := ""
		if len(ap.Parts) > 1 {
			fn = " (" + strings.Join(ap.Parts[1:], ":") + ")"
		}
		v := Violation{Rule: RuleSensitiveBinary, Pos: ap.Pos(), End: ap.End(),
			Message: fmt.Sprintf("%s probes %s, which handles authentication or cryptography (rule %q): its arguments and memory hold passwords, keys or plaintext", ap.Raw, b.Path, g),
			Hint:    "trace the service's syscalls, latency or its own functions instead"}
		return p.sensitive(v, fmt.Sprintf("A %s on %s%s: it reads the arguments and memory of authentication or cryptographic code, in every process that uses it.", ap.Canonical, b.Path, fn)), true
	}
	return Violation{}, false
}

// addrKind classifies an expression used as an address.
type addrKind int

const (
	addrOther   addrKind = iota // a pointer the program was given: args->buf, arg0, $p = args->x
	addrInt                     // an integer value: arg0, retval, reg("ip") used as they are
	addrDerived                 // an address made of integers: 0x7fff..., arg0 + 8, (uint64 *)1234
)

// addrKinds tracks what scratch variables and maps hold, over the whole
// program: a map written in one probe is read in another.
type addrKinds map[string]addrKind

func (k addrKinds) of(e lang.Expr) addrKind {
	switch e := e.(type) {
	case *lang.IntLit:
		return addrDerived
	case *lang.Builtin:
		if e.Name == "retval" || strings.HasPrefix(e.Name, "arg") || strings.HasPrefix(e.Name, "sarg") {
			return addrInt
		}
	case *lang.Ident:
		return k[e.Name] // a macro's parameter
	case *lang.Call:
		if v, ok := k[macroKey(e.Name)]; ok {
			return v
		}
		if e.Name == "reg" {
			return addrInt
		}
		if (e.Name == "uptr" || e.Name == "kptr") && len(e.Args) == 1 {
			return k.of(e.Args[0])
		}
	case *lang.Var:
		return k[e.Name]
	case *lang.MapExpr:
		return k[e.Name]
	case *lang.Paren:
		return k.of(e.X)
	case *lang.Cast:
		return k.of(e.X)
	case *lang.Unary:
		if e.Op == "-" || e.Op == "~" || e.Op == "+" {
			return k.of(e.X)
		}
	case *lang.Ternary:
		return max(k.of(e.Then), k.of(e.Else))
	case *lang.Binary:
		switch e.Op {
		case "+", "-", "*", "/", "%", "|", "&", "^", "<<", ">>":
			x, y := k.of(e.X), k.of(e.Y)
			// Arithmetic on an integer makes an address of integers
			// (arg0 + 8); arithmetic on a pointer the program was given
			// stays one (args->buf + 100, a field further in a struct).
			if x == addrOther && (y != addrDerived || isLit(e.Y)) || y == addrOther && (x != addrDerived || isLit(e.X)) {
				return addrOther
			}
			return addrDerived
		}
	}
	return addrOther
}

// isLit reports whether e is an integer literal, in parentheses or not.
func isLit(e lang.Expr) bool {
	for {
		switch x := e.(type) {
		case *lang.Paren:
			e = x.X
		case *lang.IntLit:
			return true
		default:
			return false
		}
	}
}

// learn records what the program's assignments store, until nothing
// changes (a value can flow through several variables).
func learnAddrKinds(prog *lang.Program) addrKinds {
	k := addrKinds{}
	// bpftrace pastes a macro's body where it is called, its parameters
	// replaced by the caller's expressions: a parameter holds what any
	// call passes it (rd(0x1000) with macro rd(x) { str(x) }), and a call
	// gives what the body's last expression is (str(id(0x1000))), or, for
	// a body that ends otherwise, the worst. Parameters are known by name
	// over the whole program, as variables are: two macros' x are one.
	macros := map[string]*lang.Macro{}
	for _, m := range prog.Macros {
		macros[m.Name] = m
	}
	raise := func(name string, v addrKind) bool {
		if name == "" || v <= k[name] {
			return false
		}
		k[name] = v
		return true
	}
	for changed, rounds := true, 0; changed && rounds < 8; rounds++ {
		changed = false
		for _, m := range prog.Macros {
			if raise(macroKey(m.Name), macroResult(k, m)) {
				changed = true
			}
		}
		lang.Inspect(prog, func(n lang.Node) bool {
			if n, ok := n.(*lang.Call); ok {
				if m := macros[n.Name]; m != nil {
					for i, a := range n.Args {
						if i < len(m.Params) && raise(paramName(m.Params[i]), k.of(a)) {
							changed = true
						}
					}
				}
				return true
			}
			target, value := assignment(n)
			if value == nil {
				return true
			}
			name := ""
			switch t := target.(type) {
			case *lang.Var:
				name = t.Name
			case *lang.MapExpr:
				name = t.Name
			}
			if v := k.of(value); name != "" && v > k[name] {
				k[name] = v
				changed = true
			}
			return true
		})
	}
	return k
}

// macroKey is the key of what a call of the macro name gives, in
// addrKinds: no variable, map or parameter can be so named.
func macroKey(name string) string { return "macro " + name }

// macroResult is the kind of what a call of m gives: its body's last
// expression, or the worst when the body ends otherwise.
func macroResult(k addrKinds, m *lang.Macro) addrKind {
	if m.Body == nil || len(m.Body.Stmts) == 0 {
		return addrOther
	}
	if es, ok := m.Body.Stmts[len(m.Body.Stmts)-1].(*lang.ExprStmt); ok {
		return k.of(es.X)
	}
	return addrDerived
}

// paramName is the name a macro's parameter is used by in its body.
func paramName(p lang.Expr) string {
	if id, ok := p.(*lang.Ident); ok {
		return id.Name
	}
	return nameOf(p)
}

// checkAddresses finds reads through addresses made of integers.
func (p *Policy) checkAddresses(prog *lang.Program) []Violation {
	if !p.Sensitive.Addresses {
		return nil
	}
	k := learnAddrKinds(prog)
	var vs []Violation
	report := func(n lang.Node, what string) {
		v := Violation{Rule: RuleSensitiveAddress, Pos: n.Pos(), End: n.End(),
			Message: fmt.Sprintf("%s reads memory at an address computed from integers: it can read any memory of the traced process or the kernel (keys, tokens, other requests)", what),
			Hint:    "read through the typed arguments of the probe instead (args->name, or str(arg0) for a char * argument as it is), or declare a struct and cast the argument pointer to it"}
		vs = append(vs, p.sensitive(v, fmt.Sprintf("%s: a read of memory at an address made of integers, which can be any memory of the traced process or the kernel.", what)))
	}
	lang.Inspect(prog, func(n lang.Node) bool {
		switch n := n.(type) {
		case *lang.Call:
			switch n.Name {
			case "str", "buf", "strncmp", "pton", "macaddr", "ntop", "kstr", "ustr":
				for i, a := range n.Args {
					if n.Name == "ntop" || n.Name == "pton" {
						break // they convert values, not addresses
					}
					if (i == 0 || n.Name == "strncmp" && i == 1) && k.of(a) == addrDerived {
						report(n, n.Name+"()")
						return true
					}
				}
			}
		case *lang.Unary:
			if n.Op == "*" && !n.Postfix && k.of(n.X) == addrDerived {
				report(n, "the dereference")
			}
		case *lang.Field:
			if n.Arrow && k.of(n.X) == addrDerived {
				report(n, "->"+n.Name)
			}
		case *lang.Index:
			if k.of(n.X) == addrDerived {
				report(n, "the index")
			}
		}
		return true
	})
	return vs
}

// dataSyscalls are the syscalls whose arguments point at the data a
// process reads or writes (files, pipes, sockets).
var dataSyscalls = []string{
	"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg", "recv", "send",
	"splice", "vmsplice", "tee", "copy_file_range", "process_vm_readv", "process_vm_writev",
}

// dataTracepoint reports whether a concrete tracepoint passes a syscall's
// data buffer (sys_enter_read, and raw_syscalls, which pass every syscall's
// arguments).
func dataTracepoint(name string) bool {
	rest, ok := strings.CutPrefix(name, "tracepoint:")
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, "raw_syscalls:") {
		return true
	}
	ev, ok := strings.CutPrefix(rest, "syscalls:")
	if !ok {
		return false
	}
	for _, pre := range []string{"sys_enter_", "sys_exit_"} {
		if sc, ok := strings.CutPrefix(ev, pre); ok {
			return slices.Contains(dataSyscalls, sc)
		}
	}
	return false
}

// dataFunctions are kernel functions whose arguments point at the data a
// process reads or writes, for kprobes and kfuncs.
var dataFunctions = []string{
	"*sys_read", "*sys_write", "*sys_pread64", "*sys_pwrite64", "*sys_readv", "*sys_writev",
	"*sys_recv*", "*sys_send*", "vfs_read", "vfs_write", "vfs_readv", "vfs_writev", "vfs_iter_read", "vfs_iter_write",
	"*_sendmsg", "*_recvmsg", "*_sendpage", "sock_write_iter", "sock_read_iter", "pipe_read", "pipe_write",
	"copy_to_user", "copy_from_user", "_copy_to_user", "_copy_from_user", "__copy_to_user*", "__copy_from_user*",
}

// dataProbe returns the first concrete probe of pr that passes a data
// buffer, or "".
func dataProbe(pr *lang.Probe, expanded map[*lang.AttachPoint][]string) string {
	for _, ap := range pr.AttachPoints {
		names := expanded[ap]
		unexpanded := len(names) == 0
		if unexpanded {
			names = []string{ap.Canonical + ":" + strings.Join(ap.Parts, ":")}
		}
		for _, n := range names {
			switch ap.Canonical {
			case "tracepoint":
				if dataTracepoint(n) || ap.Wildcard && unexpanded && wildcardMayBeData(n) {
					return n
				}
			case "kprobe", "kretprobe", "kfunc", "kretfunc":
				fn := n[strings.LastIndexByte(n, ':')+1:]
				if matchAny(dataFunctions, fn) != "" || ap.Wildcard && unexpanded && strings.ContainsAny(fn, "*?[{") {
					return n
				}
			}
		}
	}
	return ""
}

// checkSyscallBuffers finds str() and buf() of a data syscall's buffer in
// a run that is not confined to a target: read in the probe itself, or
// through a map or variable that a data probe filled with the pointer (the
// usual way: save args->buf at sys_enter_read, read it at sys_exit_read).
func (p *Policy) checkSyscallBuffers(in Input) []Violation {
	if !p.Sensitive.SyscallBuffers || in.Scope != nil {
		return nil
	}
	data := map[*lang.Probe]string{}
	tainted := map[string]string{} // map or variable name → the data probe that filled it
	storing := macrosStoringData(in.Program)
	dataMacros := macrosReadingArgs(in.Program)
	reads := func(e lang.Expr) bool { return readsData(e, nil) || callsAny(e, dataMacros) }
	for _, pr := range in.Program.Probes {
		tp := dataProbe(pr, in.Expanded)
		if tp == "" {
			continue
		}
		data[pr] = tp
		lang.Inspect(pr, func(n lang.Node) bool {
			if n, ok := n.(*lang.Call); ok {
				// A macro that stores a probe argument, called here,
				// stores this probe's data: in the maps and variables
				// it names and in those it is given.
				if m := storing[n.Name]; m != nil {
					for _, name := range m {
						tainted[name] = tp
					}
					for _, a := range n.Args {
						if name := nameOf(a); name != "" {
							tainted[name] = tp
						}
					}
				}
				// A macro given this probe's data holds it in its
				// parameter.
				if m := macroNamed(in.Program, n.Name); m != nil {
					for i, a := range n.Args {
						if i < len(m.Params) && (reads(a) || readsTainted(a, tainted) != "") {
							tainted[paramName(m.Params[i])] = tp
						}
					}
				}
				return true
			}
			if target, value := assignment(n); value != nil && reads(value) {
				if name := nameOf(target); name != "" {
					tainted[name] = tp
				}
			}
			return true
		})
	}
	// A macro's body runs in every probe that calls it: it reads data
	// when any probe is a data probe.
	anyData := ""
	for _, tp := range data {
		anyData = max(anyData, tp)
	}
	var vs []Violation
	bodies := make([]lang.Node, 0, len(in.Program.Probes)+len(in.Program.Macros))
	for _, pr := range in.Program.Probes {
		bodies = append(bodies, pr)
	}
	for _, m := range in.Program.Macros {
		bodies = append(bodies, m)
	}
	for _, body := range bodies {
		probeData := anyData
		if pr, ok := body.(*lang.Probe); ok {
			probeData = data[pr]
		}
		lang.Inspect(body, func(n lang.Node) bool {
			c, ok := n.(*lang.Call)
			if !ok || (c.Name != "str" && c.Name != "buf") || len(c.Args) == 0 {
				return true
			}
			tp := ""
			if probeData != "" && reads(c.Args[0]) {
				tp = probeData
			} else if name := readsTainted(c.Args[0], tainted); name != "" {
				tp = tainted[name]
			}
			if tp == "" {
				return true
			}
			v := Violation{Rule: RuleSensitiveBuffers, Pos: c.Pos(), End: c.End(),
				Message: fmt.Sprintf("%s() reads the data buffer of %s in every process: what they read and write (files, pipes, network traffic, other clients' tokens)", c.Name, tp),
				Hint:    "confine the run to a target (target: {pid}, {comm} or {cgroup}), or count sizes (args->count, retval) rather than reading data"}
			vs = append(vs, p.sensitive(v, fmt.Sprintf("%s() of the data passed to %s, in every process on the host: the contents of files, pipes and network traffic.", c.Name, tp)))
			return true
		})
	}
	return vs
}

// macroNamed returns the macro of prog called name, or nil.
func macroNamed(prog *lang.Program, name string) *lang.Macro {
	for _, m := range prog.Macros {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// macrosReadingArgs returns the macros whose body reads a probe argument,
// itself or through another such macro: a call of one reads it too.
func macrosReadingArgs(prog *lang.Program) map[string]bool {
	out := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, m := range prog.Macros {
			if out[m.Name] || m.Body == nil {
				continue
			}
			found := false
			lang.Inspect(m.Body, func(n lang.Node) bool {
				if e := asExpr(n); e != nil && (readsData(e, nil) || callsAny(e, out)) {
					found = true
				}
				return !found
			})
			if found {
				out[m.Name], changed = true, true
			}
		}
	}
	return out
}

// callsAny reports whether e calls one of the macros named in ms.
func callsAny(e lang.Expr, ms map[string]bool) bool {
	found := false
	lang.Inspect(e, func(n lang.Node) bool {
		if c, ok := n.(*lang.Call); ok && ms[c.Name] {
			found = true
		}
		return !found
	})
	return found
}

// macrosStoringData returns, for each macro whose body assigns a value
// read from a probe argument, the maps and variables it assigns.
func macrosStoringData(prog *lang.Program) map[string][]string {
	out := map[string][]string{}
	for _, m := range prog.Macros {
		lang.Inspect(m, func(n lang.Node) bool {
			if target, value := assignment(n); value != nil && readsData(value, nil) {
				names := out[m.Name]
				if names == nil {
					names = []string{}
				}
				if name := nameOf(target); name != "" {
					names = append(names, name)
				}
				out[m.Name] = names
			}
			return true
		})
	}
	return out
}

// assignment returns what an assignment or a variable declaration
// stores into and what it stores; nil for any other node (and a value of
// nil for a declaration without one).
func assignment(n lang.Node) (target, value lang.Expr) {
	switch n := n.(type) {
	case *lang.Assign:
		return n.Target, n.Value
	case *lang.VarDecl:
		return n.Var, n.Value
	}
	return nil, nil
}

func nameOf(e lang.Expr) string {
	switch t := e.(type) {
	case *lang.Var:
		return t.Name
	case *lang.MapExpr:
		return t.Name
	case *lang.Ident:
		return t.Name // a macro's parameter
	}
	return ""
}

// readsData reports whether an expression reads a probe argument (args,
// argN, with any arithmetic or cast).
func readsData(e lang.Expr, _ map[string]string) bool {
	found := false
	lang.Inspect(e, func(n lang.Node) bool {
		if b, ok := n.(*lang.Builtin); ok && (b.Name == "args" || strings.HasPrefix(b.Name, "arg")) {
			found = true
		}
		return !found
	})
	return found
}

// readsTainted returns the name of a tainted map or variable e reads, or "".
func readsTainted(e lang.Expr, tainted map[string]string) string {
	found := ""
	lang.Inspect(e, func(n lang.Node) bool {
		if name := nameOf(asExpr(n)); name != "" && tainted[name] != "" {
			found = name
		}
		return found == ""
	})
	return found
}

func asExpr(n lang.Node) lang.Expr {
	e, _ := n.(lang.Expr)
	return e
}

// wildcardMayBeData reports whether an unexpanded tracepoint pattern could
// match a data syscall.
func wildcardMayBeData(pattern string) bool {
	for _, sc := range dataSyscalls {
		for _, ev := range []string{"tracepoint:syscalls:sys_enter_" + sc, "tracepoint:syscalls:sys_exit_" + sc, "tracepoint:raw_syscalls:sys_enter"} {
			if globMatch(pattern, ev) {
				return true
			}
		}
	}
	return false
}

// FileID identifies a file by device and inode.
type FileID struct{ Dev, Ino uint64 }

// SensitiveDirs are the directories where the binaries of the sensitive
// class are installed, searched by [SensitiveFiles].
var SensitiveDirs = []string{
	"/lib", "/usr/lib", "/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/security", "/usr/lib/security",
	"/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
	"/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security",
	"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/libexec/openssh", "/usr/lib/openssh", "/usr/libexec/sudo", "/usr/lib/sudo",
}

// SensitiveFiles finds the files in dirs (not their subdirectories) whose
// canonical path matches one of globs, by identity: a hard link to one of
// them under another name is the same file, and the policy judges it so.
func SensitiveFiles(dirs, globs []string) map[FileID]string {
	out := map[FileID]string{}
	if len(globs) == 0 {
		return out
	}
	// The last component of each glob picks the few names worth matching
	// in full (a directory holds thousands).
	var lasts []string
	for _, g := range globs {
		lasts = append(lasts, g[strings.LastIndexByte(g, '/')+1:])
	}
	named := func(name string) bool {
		for _, l := range lasts {
			if ok, _ := path.Match(l, name); ok {
				return true
			}
		}
		return false
	}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			// The real file of an installed library or program has the
			// name the globs describe; only those are resolved.
			p := filepath.Join(dir, e.Name())
			if !named(e.Name()) || matchAny(globs, p) == "" {
				continue
			}
			f, err := realpath.Resolve(p, "/")
			if err != nil || matchAny(globs, f.Path) == "" {
				continue
			}
			out[FileID{f.Dev, f.Ino}] = f.Path
		}
	}
	return out
}
