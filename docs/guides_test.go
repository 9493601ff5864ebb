package docs

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"unicode"
)

// sampleArgs are the arguments used to render each guide in tests.
var sampleArgs = map[string]map[string]string{
	"cpu-hotspots":     {"target": "postgres", "seconds": "15"},
	"disk-latency":     {"device": "vda"},
	"process-activity": {"target": "1234"},
	"syscall-hotspots": {},
	"who-opens-file":   {"path": "/etc/resolv.conf"},
}

func TestGuides(t *testing.T) {
	guides := Guides()
	if len(guides) < 3 {
		t.Errorf("got %d guides, want at least 3", len(guides))
	}
	if !slices.IsSortedFunc(guides, func(a, b Guide) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Guides() is not sorted by name")
	}
	for _, g := range guides {
		t.Run(g.Name, func(t *testing.T) {
			if g.Title == "" || g.Description == "" || g.Template == "" {
				t.Fatal("title, description or template is empty")
			}
			if _, err := template.New(g.Name).Funcs(guideFuncs()).Parse(g.Template); err != nil {
				t.Fatalf("template does not parse: %v", err)
			}
			var names []string
			for _, a := range g.Args {
				if slices.Contains(names, a.Name) {
					t.Errorf("argument %q declared twice", a.Name)
				}
				names = append(names, a.Name)
				if a.Description == "" {
					t.Errorf("argument %q has no description", a.Name)
				}
				if !strings.Contains(g.Template, "."+a.Name) {
					t.Errorf("argument %q is never used by the template", a.Name)
				}
			}
			for _, tool := range []string{"system_info", "validate_program", "exec_program", "get_result", "stop_execution"} {
				if !strings.Contains(g.Template, "`"+tool+"`") {
					t.Errorf("template does not tell the assistant to use %s", tool)
				}
			}
			if !strings.Contains(g.Template, "`list_probes`") && !strings.Contains(g.Template, "`describe_probe`") {
				t.Error("template mentions neither list_probes nor describe_probe")
			}
			if _, ok := sampleArgs[g.Name]; !ok {
				t.Errorf("no sample arguments for %s in this test", g.Name)
			}
		})
	}
}

func TestGuidesGolden(t *testing.T) {
	for _, g := range Guides() {
		t.Run(g.Name, func(t *testing.T) {
			got, err := g.Render(sampleArgs[g.Name])
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "guides/"+g.Name+".md", []byte(got))
		})
	}
}

func guideNamed(t *testing.T, name string) Guide {
	t.Helper()
	i := slices.IndexFunc(Guides(), func(g Guide) bool { return g.Name == name })
	if i < 0 {
		t.Fatalf("no guide %q", name)
	}
	return Guides()[i]
}

func TestGuideRender(t *testing.T) {
	for _, tt := range []struct {
		name     string
		guide    string
		args     map[string]string
		wantErr  error
		contains []string
	}{
		{
			name: "pid target", guide: "process-activity", args: map[string]string{"target": "4242"},
			contains: []string{"/pid == 4242/", "it is PID 4242", "for 10 seconds"},
		},
		{
			name: "pid with leading zeros", guide: "process-activity", args: map[string]string{"target": "007"},
			contains: []string{"/pid == 7/"},
		},
		{
			name: "name target", guide: "process-activity", args: map[string]string{"target": "nginx", "seconds": "30"},
			contains: []string{`/comm == "nginx"/`, "for 30 seconds"},
		},
		{
			name: "long name is cut to comm's 15 characters", guide: "process-activity",
			args:     map[string]string{"target": "a-very-long-process-name"},
			contains: []string{`comm == "a-very-long-pro"`},
		},
		{
			name: "quotes are escaped", guide: "who-opens-file", args: map[string]string{"path": `/tmp/we"ird\name`},
			contains: []string{`strcontains(str(args->filename, 64), "we\"ird\\name")`},
		},
		{
			name: "surrounding blanks are trimmed", guide: "who-opens-file", args: map[string]string{"path": "  /etc/hosts "},
			contains: []string{`"/etc/hosts"`, `"hosts"`},
		},
		{
			name: "optional argument absent", guide: "syscall-hotspots", args: nil,
			contains: []string{"on this host, using", "tracepoint:raw_syscalls:sys_enter { @calls"},
		},
		{
			name: "optional argument present", guide: "syscall-hotspots", args: map[string]string{"target": "redis-server"},
			contains: []string{`/comm == "redis-server"/`, `args->ret < 0 && comm == "redis-server"`},
		},
		{name: "missing required", guide: "who-opens-file", args: map[string]string{"seconds": "5"}, wantErr: ErrMissingArgument},
		{name: "blank required", guide: "process-activity", args: map[string]string{"target": "   "}, wantErr: ErrMissingArgument},
		{name: "unknown argument", guide: "disk-latency", args: map[string]string{"disk": "vda"}, wantErr: ErrUnknownArgument},
		{name: "newline in value", guide: "who-opens-file", args: map[string]string{"path": "/etc/x\n} BEGIN {"}, wantErr: ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := guideNamed(t, tt.guide).Render(tt.args)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Render error = %v, want %v", err, tt.wantErr)
			}
			for _, want := range tt.contains {
				if !strings.Contains(got, want) {
					t.Errorf("rendered text does not contain %q:\n%s", want, got)
				}
			}
		})
	}
}

func FuzzGuideRender(f *testing.F) {
	f.Add("1234")
	f.Add("nginx")
	f.Add(`/tmp/a"b\c`)
	f.Add("")
	f.Add("x\x00y")
	f.Add("\u00e9t\u00e9")
	f.Fuzz(func(t *testing.T, value string) {
		for _, g := range Guides() {
			for _, a := range g.Args {
				out, err := g.Render(map[string]string{a.Name: value})
				blank := strings.TrimSpace(value) == ""
				control := strings.ContainsFunc(value, unicode.IsControl)
				required := slices.ContainsFunc(g.Args, func(b GuideArg) bool { return b.Required && b.Name != a.Name })
				switch {
				case control:
					if !errors.Is(err, ErrInvalidArgument) {
						t.Fatalf("%s %s=%q: error %v, want ErrInvalidArgument", g.Name, a.Name, value, err)
					}
				case required || (a.Required && blank):
					if !errors.Is(err, ErrMissingArgument) {
						t.Fatalf("%s %s=%q: error %v, want ErrMissingArgument", g.Name, a.Name, value, err)
					}
				case err != nil:
					t.Fatalf("%s %s=%q: %v", g.Name, a.Name, value, err)
				case !blank && !strings.Contains(out, strings.TrimSpace(value)) && !strings.Contains(out, bpftraceString(strings.TrimSpace(value))):
					// Process names longer than comm are cut; everything
					// else appears verbatim or as a string literal.
					if a.Name != "target" {
						t.Fatalf("%s: value %q of %s does not appear in the output", g.Name, value, a.Name)
					}
				}
			}
		}
	})
}

// programsIn returns the fenced code blocks of a rendered guide, with the
// placeholders the assistant is told to replace filled in.
func programsIn(text string) []string {
	var programs []string
	for _, m := range regexp.MustCompile("(?s)```\n(.*?)```").FindAllStringSubmatch(text, -1) {
		var b strings.Builder
		for line := range strings.Lines(m[1]) {
			b.WriteString(strings.TrimPrefix(line, "   "))
		}
		p := strings.ReplaceAll(b.String(), "PID", "1")
		p = strings.ReplaceAll(p, "== N", "== 0")
		programs = append(programs, p)
	}
	return programs
}

// TestGuideProgramsValidate runs bpftrace's checks on every program the
// guides suggest, so that an assistant following them starts from programs
// that compile.
func TestGuideProgramsValidate(t *testing.T) {
	b := requireBpftrace(t)
	for _, g := range Guides() {
		text, err := g.RenderFor(b.Version, sampleArgs[g.Name])
		if err != nil {
			t.Fatal(err)
		}
		programs := programsIn(text)
		if len(programs) < 3 {
			t.Errorf("%s suggests %d programs, want at least 3", g.Name, len(programs))
		}
		for i, program := range programs {
			t.Run(fmt.Sprintf("%s/%d", g.Name, i+1), func(t *testing.T) {
				t.Parallel()
				stderr, err := dryRun(t, b, program)
				if err != nil || strings.Contains(stderr, "ERROR: ") && !strings.Contains(stderr, "RLIMIT_MEMLOCK") {
					t.Errorf("does not validate on bpftrace %s: %v\n%s\n%s", b.Version, err, program, stderr)
				}
			})
		}
	}
}
