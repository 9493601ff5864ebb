package policy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

// pathsTree is a small root file system under a temporary directory: the
// libraries and programs of the sensitive class, symlinks of every kind to
// them, a binary an administrator denies, and files for cat().
type pathsTree struct {
	root, rel  string
	vars       map[string]string
	closeFiles []func()
}

func newPathsTree(t testing.TB) *pathsTree {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lib := "usr/lib/x86_64-linux-gnu"
	files := []string{
		lib + "/libcrypt.so.1.1.0", lib + "/libc.so.6", lib + "/libssl.so.3", lib + "/libcrypto.so.3",
		lib + "/libpam.so.0.85.1", lib + "/libgnutls.so.30.34.3", lib + "/libcryptsetup.so.12.9.0",
		lib + "/security/pam_unix.so", lib + "/a,b.so",
		"usr/sbin/sshd", "usr/bin/sudo", "usr/bin/su", "usr/bin/passwd", "usr/bin/ssh-agent", "usr/bin/gpg-agent",
		"usr/bin/bash", "usr/bin/app", "opt/payments/bin/payments",
		"logs/app.log", "secret/shadow", "doomed",
	}
	links := map[string]string{
		"lib": "usr/lib", "bin": "usr/bin", "sbin": "usr/sbin",
		lib + "/libcrypt.so.1": "libcrypt.so.1.1.0", lib + "/libcrypt.so": root + "/" + lib + "/libcrypt.so.1",
		lib + "/libpam.so.0": "libpam.so.0.85.1", lib + "/libgnutls.so.30": "libgnutls.so.30.34.3",
		lib + "/libcryptsetup.so.12": "libcryptsetup.so.12.9.0",
		"innocent":                   lib + "/libcrypt.so.1", "dir/libs": "../" + lib,
		"usr/bin/pay":   "../../opt/payments/bin/payments",
		"logs/link.log": "../secret/shadow", "loop": "loop", "okname": lib + "/a,b.so",
	}
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("\x7fELF"+strings.Repeat("\x00", 4092)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for l, target := range links {
		p := filepath.Join(root, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, root)
	if err != nil {
		t.Fatal(err)
	}
	tr := &pathsTree{root: root, rel: rel, vars: map[string]string{"@T@": root, "@REL@": rel, "@PID@": strconv.Itoa(os.Getpid())}}

	// The fake libcrypt mapped into this process, as a library is mapped
	// into the processes that use it, and open on a descriptor.
	crypt := filepath.Join(root, lib, "libcrypt.so.1.1.0")
	fh, err := os.Open(crypt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	tr.vars["@FDCRYPT@"] = strconv.Itoa(int(fh.Fd()))
	mem, err := syscall.Mmap(int(fh.Fd()), 0, 4096, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	tr.vars["@MAPCRYPT@"] = mapRange(t, crypt)

	// A file open on a descriptor and then deleted.
	doomed, err := os.Open(filepath.Join(root, "doomed"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { doomed.Close() })
	if err := os.Remove(filepath.Join(root, "doomed")); err != nil {
		t.Fatal(err)
	}
	tr.vars["@FDDELETED@"] = strconv.Itoa(int(doomed.Fd()))
	return tr
}

// mapRange returns the map_files name of this process's mapping of file.
func mapRange(t testing.TB, file string) string {
	t.Helper()
	fh, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 6 && f[5] == file {
			lo, hi, _ := strings.Cut(f[0], "-")
			return strings.TrimLeft(lo, "0") + "-" + strings.TrimLeft(hi, "0")
		}
	}
	t.Fatalf("%s is not mapped", file)
	return ""
}

func (tr *pathsTree) expand(s string) string {
	for k, v := range tr.vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// resolve stands for the probe index: paths as written (globs expanded),
// bare names through the tree's bin directories and then as libraries
// (lib<name>.so*), as bpftrace resolves them.
func (tr *pathsTree) resolve(target string) ([]string, error) {
	if strings.Contains(target, "/") {
		if !strings.ContainsAny(target, "*?[") {
			return []string{target}, nil
		}
		m, err := filepath.Glob(target)
		if err != nil || len(m) == 0 {
			return nil, fmt.Errorf("no file matches %s", target)
		}
		return m, nil
	}
	for _, dir := range []string{"usr/bin", "usr/sbin"} {
		if p := filepath.Join(tr.root, dir, target); fileExists(p) {
			return []string{p}, nil
		}
	}
	if target == "payments" {
		return []string{filepath.Join(tr.root, "usr/bin/pay")}, nil
	}
	name := strings.TrimPrefix(target, "lib")
	m, _ := filepath.Glob(filepath.Join(tr.root, "lib/x86_64-linux-gnu", "lib"+name+".so*"))
	sort.Strings(m)
	if len(m) == 0 {
		return nil, fmt.Errorf("%s: not a library", target)
	}
	return m[:1], nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// pathsPolicy is the default policy with the rules an administrator would
// add: a denied binary and a cat() allow-list.
func (tr *pathsTree) policy() Policy {
	p := Default()
	p.DenyProbes = []string{"*/libcrypt.so*", "uprobe:*/payments:*", "usdt:*/payments:*"}
	p.CatPaths = []string{"/proc/*/status", tr.root + "/logs/*.log"}
	return p
}

type corpusCase struct {
	name, src string
	want      string // a rule, or "allow"
	line, col int
	scope     *Scope
}

// readCorpus reads testdata/paths: the first line of each program is
// "// want: RULE LINE:COLUMN" or "// want: allow", optionally followed by
// "scope=pid" for a run confined to a target.
func readCorpus(t *testing.T, tr *pathsTree) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("testdata/paths/*.bt")
	if err != nil {
		t.Fatal(err)
	}
	var cs []corpusCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		fields := strings.Fields(strings.TrimPrefix(first, "// want:"))
		c := corpusCase{name: strings.TrimSuffix(filepath.Base(f), ".bt"), src: tr.expand(string(b))}
		if len(fields) == 0 {
			t.Fatalf("%s: no want line", f)
		}
		c.want = fields[0]
		for _, fl := range fields[1:] {
			if fl == "scope=pid" {
				c.scope = &Scope{PID: 1}
				continue
			}
			l, col, ok := strings.Cut(fl, ":")
			c.line, _ = strconv.Atoi(l)
			c.col, _ = strconv.Atoi(col)
			if !ok || c.line < 1 || c.col < 1 {
				t.Fatalf("%s: bad position %q", f, fl)
			}
		}
		if c.want != "allow" && c.line == 0 {
			t.Fatalf("%s: a refusal needs its LINE:COLUMN", f)
		}
		cs = append(cs, c)
	}
	return cs
}

// TestPathsCorpus runs the hostile programs of the path, sensitive and cat
// classes, and their look-alikes, through the policy over a tree of
// symlinks and /proc links. Each hostile program is refused by the rule
// its first line names, at the line and column it names; each look-alike
// passes, and its binaries are rewritten to their canonical paths.
func TestPathsCorpus(t *testing.T) {
	tr := newPathsTree(t)
	cases := readCorpus(t, tr)
	p := tr.policy()
	wd, _ := os.Getwd()
	refused, allowed := 0, 0
	for _, c := range cases {
		if c.want == "allow" {
			allowed++
		} else {
			refused++
		}
		t.Run(c.name, func(t *testing.T) {
			prog, err := lang.Parse("stdin", c.src)
			if err != nil {
				t.Fatalf("does not parse: %v\n%s", err, c.src)
			}
			bins := ResolveBinaries(prog, tr.resolve, wd)
			vs := p.Check(Input{Program: prog, Scope: c.scope, Binaries: bins})
			if c.want == "allow" {
				if len(vs) > 0 {
					t.Fatalf("a look-alike was refused: %+v", vs)
				}
				out, err := CanonicalizeBinaries(c.src, prog, bins)
				if err != nil {
					t.Fatalf("canonicalise: %v", err)
				}
				for _, bs := range bins {
					for _, b := range bs.Files {
						if !strings.Contains(out, ":"+b.Path+":") {
							t.Errorf("the program that runs does not name %s:\n%s", b.Path, out)
						}
					}
				}
				return
			}
			i := slices.IndexFunc(vs, func(v Violation) bool { return v.Rule == c.want })
			if i < 0 {
				t.Fatalf("refused by %v, want %s: %+v", rules(vs), c.want, vs)
			}
			v := vs[i]
			if v.Pos.Line != c.line || v.Pos.Column != c.col {
				t.Errorf("%s at %d:%d, want %d:%d", v.Rule, v.Pos.Line, v.Pos.Column, c.line, c.col)
			}
			if v.Message == "" || v.Hint == "" {
				t.Errorf("violation lacks a message or hint: %+v", v)
			}
			if strings.HasPrefix(c.want, "sensitive.") && v.Approval != "" {
				t.Errorf("the default policy offers approval: %+v", v)
			}
		})
	}
	t.Logf("corpus: %d hostile programs, %d look-alikes", refused, allowed)
	if refused < 50 || allowed < 15 {
		t.Errorf("corpus has %d hostile programs and %d look-alikes, want at least 50 and 15", refused, allowed)
	}
}

// TestSensitiveApproval: with approval = "elicit", a program refused only
// for the sensitive class needs approval, with a summary of what it would
// read; one refused for anything else does not.
func TestSensitiveApproval(t *testing.T) {
	tr := newPathsTree(t)
	p := tr.policy()
	p.Sensitive.Approval = ApprovalElicit
	wd, _ := os.Getwd()
	for _, tt := range []struct {
		src  string
		need bool
	}{
		{"uprobe:libssl:SSL_write { @ = count(); }", true},
		{"tracepoint:syscalls:sys_enter_write { printf(\"%s\", str(args->buf)); }", true},
		{"BEGIN { printf(\"%s\", str(0x1000)); }", true},
		{"uprobe:libssl:SSL_write { system(\"id\"); }", false},
		{"uprobe:libcrypt:crypt { @ = count(); }", false}, // also denied by an administrator's rule
		{"BEGIN { exit(); }", false},
	} {
		prog, err := lang.Parse("stdin", tt.src)
		if err != nil {
			t.Fatal(err)
		}
		vs := p.Check(Input{Program: prog, Binaries: ResolveBinaries(prog, tr.resolve, wd)})
		if got := NeedsApproval(vs); got != tt.need {
			t.Errorf("%s: NeedsApproval = %v, want %v (%+v)", tt.src, got, tt.need, vs)
		}
		for _, v := range vs {
			if strings.HasPrefix(v.Rule, "sensitive.") && (v.Approval == "" || !strings.Contains(v.Hint, "approve")) {
				t.Errorf("%s: %+v lacks the summary or the hint", tt.src, v)
			}
		}
	}
}

// TestCanonicalizeRewrites: the program that runs names the files the
// policy judged, one attach point per file for a glob, and nothing else
// changes.
func TestCanonicalizeRewrites(t *testing.T) {
	tr := newPathsTree(t)
	wd, _ := os.Getwd()
	lib := tr.root + "/usr/lib/x86_64-linux-gnu"
	for _, tt := range []struct{ src, want string }{
		{"uprobe:libc:malloc { @ = count(); }", "uprobe:" + lib + "/libc.so.6:malloc { @ = count(); }"},
		{"ur:" + tr.rel + "/bin/bash:readline /pid/ { }", "uretprobe:" + tr.root + "/usr/bin/bash:readline /pid/ { }"},
		{"usdt:/proc/self/root" + tr.root + "/bin/app:p:n { }", "usdt:" + tr.root + "/usr/bin/app:p:n { }"},
		{"uprobe:" + tr.root + "/lib/x86_64-linux-gnu/libc.so.?:free,\n  BEGIN { }", "uprobe:" + lib + "/libc.so.6:free,\n  BEGIN { }"},
		{"uprobe:" + tr.root + "/usr/bin/{bash,app}:main { }", "uprobe:" + tr.root + "/usr/bin/{bash,app}:main { }"},
	} {
		prog, err := lang.Parse("stdin", tt.src)
		if err != nil {
			t.Fatal(err)
		}
		bins := ResolveBinaries(prog, tr.resolve, wd)
		out, err := CanonicalizeBinaries(tt.src, prog, bins)
		if strings.Contains(tt.src, "{bash,app}") {
			// bpftrace does not expand braces in a path; neither does the
			// resolver here, so the file does not exist and nothing runs.
			if err == nil {
				t.Errorf("%s: rewritten to %s, want an error", tt.src, out)
			}
			continue
		}
		if err != nil || out != tt.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tt.src, out, err, tt.want)
		}
	}
	// A glob over two files becomes two attach points.
	src := "uprobe:" + tr.root + "/usr/bin/[bs]*:main { }"
	prog, _ := lang.Parse("stdin", src)
	bins := ResolveBinaries(prog, tr.resolve, wd)
	out, err := CanonicalizeBinaries(src, prog, bins)
	if err != nil || strings.Count(out, "uprobe:") != 4 {
		t.Errorf("glob: got %q, %v", out, err)
	}
}

// FuzzCanonicalize rewrites whatever parses with binaries resolved over
// the tree: the result always parses and names only canonical files.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		"uprobe:libc:malloc { }", "uprobe:/proc/self/map_files/@MAPCRYPT@:crypt { }", "uprobe:/proc/self/fd/@FDCRYPT@:f { }", "ur:@T@/bin/bash:readline, uprobe:crypt:crypt { }",
		"usdt:/proc/self/root@T@/usr/bin/app:a:b /pid/ { }", "uprobe:@T@/innocent:x,BEGIN{}",
		"uprobe:\"@T@/usr/bin/bash\":f { }", "uprobe:@REL@/usr/bin/*:f { }",
	} {
		f.Add(s)
	}
	tr := newPathsTree(f)
	f.Fuzz(func(t *testing.T, src string) {
		src = tr.expand(src)
		prog, err := lang.Parse("stdin", src)
		if err != nil {
			return
		}
		wd, _ := os.Getwd()
		bins := ResolveBinaries(prog, tr.resolve, wd)
		out, err := CanonicalizeBinaries(src, prog, bins)
		if err != nil {
			return
		}
		got, err := lang.Parse("stdin", out)
		if err != nil {
			t.Fatalf("rewritten program does not parse: %v\n%s", err, out)
		}
		for _, pr := range got.Probes {
			for _, ap := range pr.AttachPoints {
				if hasBinary(ap) && !strings.HasPrefix(ap.Parts[0], tr.root+"/") {
					t.Fatalf("%s names %q, not a file of the tree", ap.Raw, ap.Parts[0])
				}
			}
		}
	})
}

// TestHardLinkToSensitiveFile: a hard link gives a library of the
// sensitive class another name and no symlink to follow; the policy knows
// the file by its device and inode.
func TestHardLinkToSensitiveFile(t *testing.T) {
	tr := newPathsTree(t)
	lib := filepath.Join(tr.root, "usr/lib/x86_64-linux-gnu")
	if err := os.MkdirAll(filepath.Join(tr.root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tr.root, "tmp", "innocent-hard")
	if err := os.Link(filepath.Join(lib, "libcrypt.so.1.1.0"), link); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	p := Default()
	known := SensitiveFiles([]string{lib, filepath.Join(tr.root, "nonexistent")}, p.Sensitive.Binaries)
	if len(known) == 0 {
		t.Fatal("no sensitive file found in the tree")
	}
	wd, _ := os.Getwd()
	src := "uprobe:" + link + ":crypt { @ = count(); }"
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		t.Fatal(err)
	}
	bins := ResolveBinaries(prog, tr.resolve, wd)
	if vs := p.Check(Input{Program: prog, Binaries: bins}); len(vs) != 0 {
		t.Fatalf("without identities the hard link is judged by its name only, got %v", rules(vs))
	}
	vs := p.Check(Input{Program: prog, Binaries: bins, SensitiveFiles: known})
	if len(vs) != 1 || vs[0].Rule != RuleSensitiveBinary || !strings.Contains(vs[0].Message, "same file as") {
		t.Errorf("hard link: got %+v", vs)
	}
}
