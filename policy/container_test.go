package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
)

func TestResolveContainers(t *testing.T) {
	const (
		a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	)
	// A cgroup tree as the systemd and cgroupfs drivers lay it out; a real
	// host's is under /sys/fs/cgroup, which Validate requires, so the test
	// tree lives under a temporary directory and only the resolution is
	// checked against it.
	root := t.TempDir()
	sysd := filepath.Join(root, "kubepods.slice", "kubepods-burstable.slice", "kubepods-burstable-pod1.slice", "cri-containerd-"+a+".scope")
	cfs := filepath.Join(root, "kubepods", "besteffort", "pod2", b)
	for _, d := range []string{sysd, cfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		ids  []string
		want []string
		err  error
	}{
		{"systemd driver", []string{a}, []string{sysd}, nil},
		{"cgroupfs driver", []string{b}, []string{cfs}, nil},
		{"both", []string{a, b}, []string{sysd, cfs}, nil},
		{"not on this host", []string{strings.Repeat("1", 64)}, nil, ErrContainerNotFound},
		{"not an id", []string{"../../etc"}, nil, ErrBadScope},
		{"a quote", []string{`abcdef0123456"`}, nil, ErrBadScope},
		{"too short", []string{"abc"}, nil, ErrBadScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findAll(root, tc.ids)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("cgroups = %v, want %v", got, tc.want)
			}
		})
	}
}

func findAll(root string, ids []string) ([]string, error) {
	if err := validContainers(ids); err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		d, err := findContainerCgroup(root, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// TestContainerScopeInjected checks that a resolved container target is
// injected into every probe that runs in a process and verified, as other
// targets are, and that an unresolved one is refused rather than run
// unconfined.
func TestContainerScopeInjected(t *testing.T) {
	s := Scope{Containers: []string{"0123456789ab", "ba9876543210"}}
	if err := s.Validate(); !errors.Is(err, ErrBadScope) {
		t.Fatalf("an unresolved container target validates: %v", err)
	}
	s.cgroups = []string{"/sys/fs/cgroup/k/a", "/sys/fs/cgroup/k/b"}
	src := "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\nBEGIN { printf(\"hi\\n\"); }"
	prog, err := lang.Parse("stdin", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ApplyScope(src, prog, s)
	if err != nil {
		t.Fatal(err)
	}
	want := `/cgroup == cgroupid("/sys/fs/cgroup/k/a") || cgroup == cgroupid("/sys/fs/cgroup/k/b")/`
	if !strings.Contains(got, want) {
		t.Errorf("scoped program lacks %s:\n%s", want, got)
	}
	if strings.Count(got, "cgroupid(") != 2 {
		t.Errorf("the predicate went into BEGIN too, or twice:\n%s", got)
	}
}

func TestInContainers(t *testing.T) {
	// Four container roots: a and b hold the same file (a hard link, as
	// two containers of one image may), c its own copy, d none.
	dir := t.TempDir()
	var roots []string
	for _, r := range []string{"a", "b", "c", "d"} {
		root := filepath.Join(dir, r)
		if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	bash := filepath.Join(roots[0], "usr/bin/bash")
	if err := os.WriteFile(bash, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(bash, filepath.Join(roots[1], "usr/bin/bash")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(roots[2], "usr/bin/bash"), []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src string
		roots     []string
		want      string // the rewritten program, or the error's words
		err       error
	}{
		{"one container", `uprobe:/usr/bin/bash:readline { @ = count(); }`, roots[:1],
			`uprobe:` + roots[0] + `/usr/bin/bash:readline { @ = count(); }`, nil},
		{"shared file attached once, missing skipped", "BEGIN {}\nuretprobe:/usr/bin/bash:readline, tracepoint:syscalls:sys_enter_read { @ = count(); }", roots,
			"BEGIN {}\nuretprobe:" + roots[0] + "/usr/bin/bash:readline,uretprobe:" + roots[2] + "/usr/bin/bash:readline, tracepoint:syscalls:sys_enter_read { @ = count(); }", nil},
		{"short provider and quotes", `u:"/usr/bin/bash":readline { @ = count(); }`, roots[2:3],
			`uprobe:` + roots[2] + `/usr/bin/bash:readline { @ = count(); }`, nil},
		{"no binary", `tracepoint:syscalls:sys_enter_read { @ = count(); }`, roots,
			`tracepoint:syscalls:sys_enter_read { @ = count(); }`, nil},
		{"in no container", `uprobe:/usr/bin/bash:readline { @ = count(); }`, roots[3:], "", ErrNotInContainer},
		{"a library name", `uprobe:libc:malloc { @ = count(); }`, roots, "absolute path inside the container", nil},
		{"a relative path", `uprobe:bin/bash:readline { @ = count(); }`, roots, "absolute path inside the container", nil},
		{"a pattern in several", `uprobe:/usr/bin/ba*:readline { @ = count(); }`, roots, "not a pattern", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := lang.Parse("stdin", tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := InContainers(tc.src, prog, tc.roots)
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("error = %v, want %v", err, tc.err)
				}
			case !strings.HasPrefix(tc.want, "uprobe") && !strings.HasPrefix(tc.want, "BEGIN") && !strings.HasPrefix(tc.want, "tracepoint"):
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error = %v, want one saying %q", err, tc.want)
				}
			case err != nil:
				t.Fatal(err)
			case got != tc.want:
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestContainerRoots(t *testing.T) {
	dir := t.TempDir()
	procs := func(name, text string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	self := strconv.Itoa(os.Getpid())
	running, empty, gone := procs("running", "999999999\n"+self+"\n"), procs("empty", ""), procs("gone", "999999999\n")
	for _, tc := range []struct {
		name    string
		cgroups []string
		want    []string
		err     error
	}{
		{"the first process whose root can be read", []string{running}, []string{"/proc/" + self + "/root"}, nil},
		{"a container without a process is left out", []string{empty, running, gone}, []string{"/proc/" + self + "/root"}, nil},
		{"none has a process", []string{empty, gone}, nil, ErrContainerNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Scope{Containers: make([]string, len(tc.cgroups)), cgroups: tc.cgroups}
			got, err := s.ContainerRoots()
			if !errors.Is(err, tc.err) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("roots %v, error %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
