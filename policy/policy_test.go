package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

func check(p Policy, src string, scope *Scope) []Violation {
	prog, err := lang.Parse("stdin", src)
	return p.Check(Input{Source: src, Program: prog, ParseErr: err, Scope: scope})
}

func rules(vs []Violation) []string {
	var rs []string
	for _, v := range vs {
		rs = append(rs, v.Rule)
	}
	return rs
}

// TestHostileCorpus runs every program of testdata/hostile through the
// default policy. Each file's first line says which rule must refuse it,
// or "allow" for a look-alike that must run: a false refusal is a failure
// too.
func TestHostileCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/hostile/*.bt")
	if err != nil || len(files) < 60 {
		t.Fatalf("corpus has %d programs, want at least 60 (%v)", len(files), err)
	}
	p := Default()
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".bt"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "// want:"))
			vs := check(p, string(b), nil)
			if want == "allow" {
				if len(vs) > 0 {
					t.Errorf("a harmless program was refused: %+v", vs)
				}
				return
			}
			if !slices.Contains(rules(vs), want) {
				t.Fatalf("refused by %v, want rule %s", rules(vs), want)
			}
			for _, v := range vs {
				if v.Rule == want && (v.Message == "" || v.Hint == "" || (want != "parse" && v.Pos.Line < 1)) {
					t.Errorf("violation lacks a message, hint or position: %+v", v)
				}
			}
		})
	}
}

func TestPositions(t *testing.T) {
	vs := check(Default(), "BEGIN {\n  system  (\"id\");\n}", nil)
	if len(vs) != 1 || vs[0].Pos.Line != 2 || vs[0].Pos.Column != 3 || vs[0].End.Column != 9 {
		t.Errorf("violations = %+v, want one at 2:3-9", vs)
	}
}

// TestConfiguredRules widens and narrows each rule the way a
// configuration file does.
func TestConfiguredRules(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy func(*Policy)
		src    string
		exp    map[string][]string // attach point raw text → expansion
		want   []string
	}{
		{"signal allowed", func(p *Policy) { p.DenyCalls = []string{"system", "override"} },
			`tracepoint:syscalls:sys_enter_kill { signal("KILL"); }`, nil, nil},
		{"system still denied", func(p *Policy) { p.DenyCalls = []string{"system"} },
			`BEGIN { system("id"); signal(9); }`, nil, []string{"builtins.deny"}},
		{"extra denied builtin", func(p *Policy) { p.DenyCalls = append(p.DenyCalls, "kstack") },
			`profile:hz:99 { @[kstack()] = count(); }`, nil, []string{"builtins.deny"}},
		{"cat allowed path", func(p *Policy) { p.CatPaths = []string{"/proc/*/status"} },
			`BEGIN { cat("/proc/%d/status", pid); }`, nil, nil},
		{"cat other path", func(p *Policy) { p.CatPaths = []string{"/proc/*/status"} },
			`BEGIN { cat("/proc/%d/environ", pid); }`, nil, []string{"cat.paths"}},
		{"cat traversal", func(p *Policy) { p.CatPaths = []string{"/proc/*/*"} },
			`BEGIN { cat("/proc/../etc/shadow"); }`, nil, []string{"cat.paths"}},
		{"cat variable path", func(p *Policy) { p.CatPaths = []string{"/proc/*"} },
			`BEGIN { $p = "/proc/x"; cat($p); }`, nil, []string{"cat.paths"}},
		{"cat double slash", func(p *Policy) { p.CatPaths = []string{"/proc/*"} },
			`BEGIN { cat("/proc//x"); }`, nil, []string{"cat.paths"}},
		{"includes allowed", func(p *Policy) { p.AllowIncludes = true },
			"#include <linux/sched.h>\nBEGIN { exit(); }", nil, nil},
		{"provider not allowed", func(p *Policy) { p.Providers = []string{"tracepoint", "BEGIN", "END", "interval"} },
			`u:/bin/bash:readline { @ = count(); }`, nil, []string{"probes.providers"}},
		{"provider allowed via alias", func(p *Policy) { p.Providers = []string{"tracepoint"} },
			`t:syscalls:sys_enter_read { @ = count(); }`, nil, nil},
		{"probe allow-list", func(p *Policy) { p.AllowProbes = []string{"tracepoint:syscalls:*"} },
			`tracepoint:sched:sched_switch { @ = count(); } interval:s:1 { exit(); }`,
			map[string][]string{"tracepoint:sched:sched_switch": {"tracepoint:sched:sched_switch"}}, []string{"probes.allow"}},
		{"probe allow-list ok", func(p *Policy) { p.AllowProbes = []string{"tracepoint:syscalls:*"} },
			`tracepoint:syscalls:sys_enter_read* { @ = count(); } BEGIN { } END { }`,
			map[string][]string{"tracepoint:syscalls:sys_enter_read*": {"tracepoint:syscalls:sys_enter_read", "tracepoint:syscalls:sys_enter_readv"}}, nil},
		{"probe deny-list", func(p *Policy) { p.DenyProbes = []string{"uprobe:*libssl*"}; p.Sensitive.Binaries = nil },
			`uprobe:testdata/bin/libssl.so.3:SSL_write { @ = count(); }`, nil, []string{"probes.deny"}},
		{"probe deny-list covers uretprobe", func(p *Policy) { p.DenyProbes = []string{"uprobe:*libssl*"}; p.Sensitive.Binaries = nil },
			`uretprobe:testdata/bin/libssl.so.3:SSL_write { @ = count(); }`, nil, []string{"probes.deny"}},
		{"sensitive binary", func(p *Policy) {},
			`ur:./testdata/./bin/../bin/libssl.so.3:SSL_read { @ = count(); }`, nil, []string{"sensitive.binaries"}},
		{"attach point limit", func(p *Policy) { p.MaxAttachPoints = 2 },
			`tracepoint:syscalls:sys_enter_read* { @ = count(); }`,
			map[string][]string{"tracepoint:syscalls:sys_enter_read*": {"a", "b", "c"}}, []string{"probes.max_attach_points"}},
		{"attach point limit raised", func(p *Policy) { p.MaxAttachPoints = 1000 },
			`tracepoint:syscalls:* { @ = count(); }`,
			map[string][]string{"tracepoint:syscalls:*": make([]string, 720)}, nil},
		{"scope required", func(p *Policy) { p.RequireScope = true },
			`tracepoint:syscalls:sys_enter_read { @ = count(); }`, nil, []string{"scope.require"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.policy(&p)
			prog, err := lang.Parse("stdin", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			exp := map[*lang.AttachPoint][]string{}
			for _, pr := range prog.Probes {
				for _, ap := range pr.AttachPoints {
					if names, ok := tt.exp[ap.Raw]; ok {
						exp[ap] = names
					}
				}
			}
			got := rules(p.Check(Input{Program: prog, Expanded: exp, Binaries: ResolveBinaries(prog, nil, cwd(t))}))
			if !slices.Equal(got, tt.want) {
				t.Errorf("rules = %v, want %v", got, tt.want)
			}
		})
	}
}

func cwd(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNeedsUnsafe(t *testing.T) {
	p := Default()
	prog, _ := lang.Parse("stdin", `BEGIN { signal(9); }`)
	if p.NeedsUnsafe(prog) {
		t.Error("default policy asks for --unsafe")
	}
	p.DenyCalls = []string{"system"}
	if !p.NeedsUnsafe(prog) {
		t.Error("allowed signal() does not get --unsafe")
	}
}

func TestCatPattern(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{`cat("/proc/%d/status", pid)`, "/proc/*/status"},
		{`cat("/proc/%-5llu/x", pid)`, "/proc/*/x"},
		{`cat("/a/%%/b")`, "/a/%/b"},
		{`cat("/a/%s/%d", "b", 1)`, "/a/b/*"},
		{`cat("/a/%s", "../../etc/shadow")`, "/a/../../etc/shadow"},
		{`cat("/a/%c%c", 46, 46)`, "/a/.."},
		{`cat("/plain")`, "/plain"},
		{`cat("/x/%s", comm)`, "!"},
		{`cat("/x/%s", $s)`, "!"},
		{`cat("/x/%.2s", "ab")`, "!"},
		{`cat("/x/%c", pid)`, "!"},
		{`cat("/x/%p", pid)`, "!"},
		{`cat("/x/%d")`, "!"},
		{`cat("/x/%d", 1, 2)`, "!"},
		{`cat("/trailing%")`, "!"},
		{`cat("/trailing%l")`, "!"},
	} {
		prog, err := lang.Parse("stdin", "BEGIN { "+tt.src+"; }")
		if err != nil {
			t.Fatal(err)
		}
		c := prog.Probes[0].Body.Stmts[0].(*lang.ExprStmt).X.(*lang.Call)
		got, bad := catPattern(c.Args[0].(*lang.StringLit).Value, c.Args[1:])
		if bad != nil {
			got = "!"
		}
		if got != tt.want {
			t.Errorf("%s: pattern %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"tracepoint:syscalls:*", "tracepoint:syscalls:sys_enter_read", true},
		{"uprobe:*libssl*", "uprobe:/usr/lib/libssl.so.3:SSL_write", true},
		{"tracepoint:*:sys_enter_*", "tracepoint:syscalls:sys_enter_read", true},
		{"tracepoint:sched:*", "tracepoint:syscalls:sys_enter_read", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	} {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

func TestApplyScope(t *testing.T) {
	src := "BEGIN { printf(\"start\\n\"); }\n" +
		"tracepoint:syscalls:sys_enter_openat /comm != \"x\" || uid == 0/ { @[comm] = count(); }\n" +
		"tracepoint:syscalls:sys_enter_read,\n  tracepoint:syscalls:sys_enter_write\n{ @rw = count(); }\n" +
		"interval:s:1 { print(@rw); }\n" +
		"profile:hz:99 /* sample */ { @cpu = count(); }\n"
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		scope Scope
		pred  string
	}{
		{Scope{PID: 42}, "pid == 42"},
		{Scope{Comm: "nginx"}, `comm == "nginx"`},
		{Scope{Cgroup: "/sys/fs/cgroup/system.slice/nginx.service"}, `cgroup == cgroupid("/sys/fs/cgroup/system.slice/nginx.service")`},
	} {
		t.Run(tt.scope.String(), func(t *testing.T) {
			out, err := ApplyScope(src, prog, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`/(comm != "x" || uid == 0) && (` + tt.pred + `)/`,
				"tracepoint:syscalls:sys_enter_write /" + tt.pred + "/\n{",
				"profile:hz:99 /" + tt.pred + "/ /* sample */",
				"BEGIN { printf", "interval:s:1 { print",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("rewritten program lacks %q:\n%s", want, out)
				}
			}
			if strings.Count(out, tt.pred) != 3 {
				t.Errorf("%d guards, want 3 (BEGIN and interval stay unguarded):\n%s", strings.Count(out, tt.pred), out)
			}
		})
	}
	for _, bad := range []Scope{{}, {PID: -1}, {Comm: `a"b`}, {Comm: "0123456789abcdef"}, {Cgroup: "/etc"}, {Cgroup: "/sys/fs/cgroup/../x"}, {PID: 1, Comm: "x"}} {
		if _, err := ApplyScope(src, prog, bad); err == nil {
			t.Errorf("ApplyScope(%+v) accepted a bad target", bad)
		}
	}
	// A long name is explained: the kernel keeps its first 15 bytes.
	err = Scope{Comm: "systemd-journald"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "first 15") || !strings.Contains(err.Error(), `"systemd-journal"`) {
		t.Errorf("long comm: %v", err)
	}
}

func TestScopeTargets(t *testing.T) {
	p := Default()
	p.RequireScope = true
	p.ScopeComms = []string{"nginx"}
	p.ScopeCgroups = []string{"/sys/fs/cgroup/system.slice/nginx.service"}
	src := `tracepoint:syscalls:sys_enter_read { @ = count(); }`
	for _, tt := range []struct {
		scope *Scope
		want  []string
	}{
		{nil, []string{"scope.require"}},
		{&Scope{Comm: "nginx"}, nil},
		{&Scope{Comm: "sshd"}, []string{"scope.targets"}},
		{&Scope{Cgroup: "/sys/fs/cgroup/system.slice/nginx.service"}, nil},
		{&Scope{Cgroup: "/sys/fs/cgroup/system.slice/sshd.service"}, []string{"scope.targets"}},
		{&Scope{PID: 1}, []string{"scope.targets"}},
	} {
		if got := rules(check(p, src, tt.scope)); !slices.Equal(got, tt.want) {
			t.Errorf("scope %+v: rules %v, want %v", tt.scope, got, tt.want)
		}
	}
}

// FuzzPolicy runs the policy over whatever the parser makes of any input:
// it never panics, a program the parser cannot read is always refused, and
// every call to a denied builtin that the parser found is refused.
func FuzzPolicy(f *testing.F) {
	files, _ := filepath.Glob("testdata/hostile/*.bt")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	p := Default()
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := lang.Parse("stdin", src)
		vs := p.Check(Input{Program: prog, ParseErr: err})
		if err != nil && !slices.Contains(rules(vs), "parse") {
			t.Fatalf("a program that does not parse was allowed: %v", err)
		}
		if prog == nil {
			return
		}
		denied := 0
		lang.Inspect(prog, func(n lang.Node) bool {
			if c, ok := n.(*lang.Call); ok && slices.Contains(p.DenyCalls, c.Name) {
				denied++
			}
			return true
		})
		if got := strings.Count(strings.Join(rules(vs), " "), "builtins.deny"); got != denied {
			t.Fatalf("%d denied calls, %d refusals", denied, got)
		}
		if prog != nil && err == nil && len(prog.Probes) > 0 {
			if out, err := ApplyScope(src, prog, Scope{PID: 7}); err == nil {
				if _, perr := lang.Parse("stdin", out); perr != nil {
					t.Fatalf("scoped program does not parse: %v\n%s", perr, out)
				}
			}
			if out, err := ApplyExclusion(src, prog, Exclusion{CgroupID: 12}); err == nil {
				if verr := VerifyExclusion(out, Exclusion{CgroupID: 12}); verr != nil {
					t.Fatalf("excluded program does not verify: %v\n%s", verr, out)
				}
			}
		}
	})
}
