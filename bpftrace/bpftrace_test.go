package bpftrace

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestVersionAdapter pins the argv that differs between the releases the
// server knows, for running and for checking.
func TestVersionAdapter(t *testing.T) {
	for _, tt := range []struct {
		version   string
		checkArgs []string
	}{
		{"0.17.0", []string{"-d", "-e", "P\n"}},
		{"0.21.2", []string{"-d", "-e", "P\n"}},
		{"0.22.0", []string{"--dry-run", "-q", "-e", "P\n"}},
		{"0.27.1", []string{"--dry-run", "-q", "-e", "P\n"}},
	} {
		t.Run(tt.version, func(t *testing.T) {
			v, err := version.Parse(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			b := &Binary{Path: "/x/bpftrace", Version: v}
			if diff := cmp.Diff(tt.checkArgs, b.CheckArgs("P", RunOptions{})); diff != "" {
				t.Errorf("CheckArgs mismatch (-want +got):\n%s", diff)
			}
			if got, want := b.RunArgs("P", RunOptions{}), []string{"-f", "json", "-B", "line", "-k", "-e", "P\n"}; !slices.Equal(got, want) {
				t.Errorf("RunArgs = %q, want %q", got, want)
			}
		})
	}
}

func TestRunArgsNeverUnsafeByDefault(t *testing.T) {
	b := &Binary{Version: version.Version{Minor: 17}}
	for _, args := range [][]string{b.RunArgs("P", RunOptions{}), b.CheckArgs("P", RunOptions{})} {
		for _, a := range args {
			if a == "--unsafe" || a == "-o" || a == "-c" || a == "-I" || a == "--include" {
				t.Errorf("argv %q carries %s without the policy asking", args, a)
			}
		}
	}
	if got := b.RunArgs("P", RunOptions{Unsafe: true, Args: []string{"1"}}); !slices.Contains(got, "--unsafe") || got[len(got)-1] != "1" {
		t.Errorf("RunArgs(unsafe, args) = %q", got)
	}
}

// TestParseStderr reads stderr recorded from bpftrace 0.17 on this kind of
// host (and, for newer releases, written from their documented format) and
// compares the classification with golden files.
func TestParseStderr(t *testing.T) {
	files, err := filepath.Glob("testdata/stderr/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no stderr recordings: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(ParseStderr(string(raw)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
				t.Errorf("ParseStderr mismatch (-want +got):\n%s", diff)
			}
			for _, l := range strings.Split(FilterStderr(string(raw)), "\n") {
				if strings.Contains(l, "RLIMIT_MEMLOCK") || strings.Contains(l, "traceable functions") || strings.Contains(l, "available_filter_functions") {
					t.Errorf("FilterStderr kept noise: %q", l)
				}
			}
		})
	}
}

func TestDiagnosticString(t *testing.T) {
	for _, tt := range []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Line: 1, Column: 20, Message: "syntax error"}, "line 1, column 20: syntax error"},
		{Diagnostic{Line: 2, EndLine: 3, Message: "m"}, "lines 2-3: m"},
		{Diagnostic{Message: "No probes to attach"}, "No probes to attach"},
	} {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestFindFake uses a stand-in script for releases this host does not
// have, to check that Find reads their version and features.
func TestFindFake(t *testing.T) {
	for _, tt := range []struct {
		out  string
		want version.Version
	}{
		{"bpftrace v0.24.1", version.Version{Minor: 24, Patch: 1}},
		{"bpftrace v0.17.0", version.Version{Minor: 17}},
	} {
		path := filepath.Join(t.TempDir(), "bpftrace")
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+tt.out+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := Find(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if b.Version != tt.want || b.Path != path {
			t.Errorf("Find = %+v, want version %v", b, tt.want)
		}
	}
	if _, err := Find(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "bpftrace not found") {
		t.Errorf("Find(missing) error = %v", err)
	}
}

func TestParseInfo(t *testing.T) {
	in := ParseInfo("System\n  OS: Linux 6.18\nBuild\n  version: v0.17.0\nProbe types\n  kprobe: yes\n  kfunc: no\n  iter:task: no\n")
	if !in.Yes("Probe types/kprobe") || in.Yes("Probe types/kfunc") || in["Build/version"] != "v0.17.0" || in["Probe types/iter:task"] != "no" {
		t.Errorf("ParseInfo = %v", in)
	}
	// bpftrace 0.27 lays some entries out in two columns.
	in = ParseInfo("Build\n  version: v0.27.1\n  LLVM: 21.1.8\nKernel features\n  Instruction limit: 1000000       btf: yes\n  map batch: no     uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount): yes\nSystem\n  OS: Linux 6.1.0-40-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1 (2025-09-20)\n")
	for k, want := range map[string]string{
		"Kernel features/Instruction limit": "1000000",
		"Kernel features/btf":               "yes",
		"Kernel features/map batch":         "no",
		"System/OS":                         "Linux 6.1.0-40-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1 (2025-09-20)",
		"Build/LLVM":                        "21.1.8",
		"Kernel features/uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount)": "yes",
	} {
		if in[k] != want {
			t.Errorf("ParseInfo[%q] = %q, want %q", k, in[k], want)
		}
	}
}

func TestOwner(t *testing.T) {
	self, err := SelfOwner()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{self, self + "#TestOwner/tagged"} {
		if !OwnerAlive(o) {
			t.Errorf("OwnerAlive(%q) = false for this process", o)
		}
	}
	pid, _, _ := strings.Cut(self, ":")
	for _, o := range []string{pid + ":1", pid + ":1#" + self, "999999999:1", "garbage", ""} {
		if OwnerAlive(o) {
			t.Errorf("OwnerAlive(%q) = true", o)
		}
	}
	for _, tt := range []struct {
		cmdline string
		want    marker
		ok      bool
	}{
		{"bpftrace\x00-e\x00BEGIN{}\x00bpftrace-mcp-scope=ab12\x00bpftrace-mcp-owner=12:34\x00", marker{"12:34", "ab12"}, true},
		{"sudo\x00-n\x00--\x00/usr/bin/bpftrace\x00-e\x00P\x00bpftrace-mcp-scope=c0\x00bpftrace-mcp-owner=1:2\x00", marker{"1:2", "c0"}, true},
		// A scope that is not right before the owner is not its scope.
		{"bpftrace\x00bpftrace-mcp-scope=ab12\x00-e\x00P\x00bpftrace-mcp-owner=12:34\x00", marker{"12:34", ""}, true},
		// Older versions marked without a scope.
		{"bpftrace\x00-e\x00BEGIN{}\x00bpftrace-mcp-owner=12:34\x00", marker{"12:34", ""}, true},
		// A marker-like string in the program text is not the marker.
		{"bpftrace\x00-e\x00bpftrace-mcp-owner=9:9\x00BEGIN{}\x00", marker{}, false},
		{"bash\x00", marker{}, false},
		{"", marker{}, false},
	} {
		m, ok := markerOf([]byte(tt.cmdline))
		if m != tt.want || ok != tt.ok {
			t.Errorf("markerOf(%q) = %+v, %v; want %+v, %v", tt.cmdline, m, ok, tt.want, tt.ok)
		}
	}
	for _, scope := range []string{"", Scope("/var/lib/bpftrace-mcp/history.db")} {
		m, ok := markerOf([]byte("bpftrace\x00" + strings.Join(OwnerMarker("5:6", scope), "\x00") + "\x00"))
		if !ok || m != (marker{"5:6", scope}) {
			t.Errorf("markerOf(OwnerMarker(5:6, %q)) = %+v, %v", scope, m, ok)
		}
	}
	if Scope("/a.db") == Scope("/b.db") || Scope("/a.db") != Scope("/a.db") {
		t.Errorf("Scope does not name databases apart, or not stably")
	}
}

func FuzzParseStderr(f *testing.F) {
	files, _ := filepath.Glob("testdata/stderr/*.txt")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := ParseStderr(s)
		for _, d := range st.Diagnostics {
			if d.Line < 0 || d.Column < 0 || d.Message == "" && d.Severity == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
		_ = st.Summary()
		_ = FilterStderr(s)
	})
}

// TestParseInfoRecorded reads the --info of each real release recorded in
// testdata/info: 0.27 lays entries out in two columns, and no value may
// swallow the next entry.
func TestParseInfoRecorded(t *testing.T) {
	files, err := filepath.Glob("testdata/info/v*.txt")
	if err != nil || len(files) < 3 {
		t.Fatalf("want the --info of 0.17, 0.23 and 0.27 in testdata/info, found %v (%v)", files, err)
	}
	swallowed := regexp.MustCompile(`\s{2,}[A-Za-z][\w ()-]*:`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := ParseInfo(string(raw))
		if want := strings.TrimSuffix(filepath.Base(f), ".txt"); in["Build/version"] != want {
			t.Errorf("%s: Build/version = %q", f, in["Build/version"])
		}
		if !in.Yes("Kernel features/btf") {
			t.Errorf("%s: Kernel features/btf = %q", f, in["Kernel features/btf"])
		}
		for k, v := range in {
			if swallowed.MatchString(v) || strings.HasSuffix(k, " ") {
				t.Errorf("%s: %q = %q holds another entry", f, k, v)
			}
		}
	}
}
