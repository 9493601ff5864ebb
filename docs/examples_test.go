package docs

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseExample(t *testing.T) {
	for _, tt := range []struct {
		name    string
		src     string
		want    Example
		wantErr error
	}{
		{
			name: "all fields",
			src: "// name: x\n// title: X\n// description: first line,\n//   second line.\n" +
				"// probes: tracepoint, END\n// min-version: 0.21\n// tags: a, b\n\nBEGIN { exit(); }\n",
			want: Example{
				Name: "x", Title: "X", Description: "first line, second line.",
				Program: "BEGIN { exit(); }\n", ProbeTypes: []string{"tracepoint", "END"},
				MinVersion: "0.21", Tags: []string{"a", "b"},
			},
		},
		{
			name: "defaults",
			src:  "// name: x\n// title: X\n// description: d\n// probes: BEGIN\nBEGIN {}\n",
			want: Example{Name: "x", Title: "X", Description: "d", Program: "BEGIN {}\n", ProbeTypes: []string{"BEGIN"}, MinVersion: "0.17"},
		},
		{
			name: "CRLF line ends",
			src:  "// name: x\r\n// title: X\r\n// description: d\r\n// probes: BEGIN\r\n\r\nBEGIN {}\r\n",
			want: Example{Name: "x", Title: "X", Description: "d", Program: "BEGIN {}\r\n", ProbeTypes: []string{"BEGIN"}, MinVersion: "0.17"},
		},
		{name: "no header", src: "BEGIN {}\n", wantErr: errNoHeader},
		{name: "empty file", src: "", wantErr: errNoHeader},
		{name: "missing probes", src: "// name: x\n// title: X\n// description: d\nBEGIN {}\n", wantErr: errMissingField},
		{name: "blank title", src: "// name: x\n// title:\n// description: d\n// probes: BEGIN\nBEGIN {}\n", wantErr: errMissingField},
		{name: "unknown field", src: "// name: x\n// author: me\n", wantErr: errUnknownField},
		{name: "duplicate field", src: "// name: x\n// name: y\n", wantErr: errDuplicate},
		{name: "continuation first", src: "//   orphan\n// name: x\n", wantErr: errContinuation},
		{name: "no colon", src: "// just a comment\n", wantErr: errMalformed},
		{name: "empty comment line", src: "// name: x\n//\n", wantErr: errMalformed},
		{name: "header only", src: "// name: x\n// title: X\n// description: d\n// probes: BEGIN\n\n\n", wantErr: errEmptyProgram},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExample([]byte(tt.src))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseExample error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseExample mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseExample(f *testing.F) {
	entries, err := exampleFiles.ReadDir("examples")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		src, err := exampleFiles.ReadFile("examples/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("//   x\n"))
	f.Add([]byte("// name:\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ex, err := parseExample(src)
		if err != nil {
			if !slices.ContainsFunc([]error{errNoHeader, errMissingField, errUnknownField, errDuplicate, errContinuation, errMalformed, errEmptyProgram},
				func(target error) bool { return errors.Is(err, target) }) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if ex.Name == "" || ex.Title == "" || ex.Description == "" || len(ex.ProbeTypes) == 0 || ex.MinVersion == "" {
			t.Fatalf("parsed without error but a required field is empty: %+v", ex)
		}
		if strings.TrimSpace(ex.Program) == "" || !strings.HasSuffix(string(src), ex.Program) {
			t.Fatalf("program %q is empty or not the tail of the source", ex.Program)
		}
	})
}

// probeAliases maps bpftrace 0.17's provider names and aliases to the
// canonical probe type.
var probeAliases = map[string]string{
	"BEGIN": "BEGIN", "END": "END",
	"tracepoint": "tracepoint", "t": "tracepoint",
	"kprobe": "kprobe", "k": "kprobe", "kretprobe": "kretprobe", "kr": "kretprobe",
	"uprobe": "uprobe", "u": "uprobe", "uretprobe": "uretprobe", "ur": "uretprobe",
	"usdt": "usdt", "U": "usdt", "profile": "profile", "p": "profile",
	"interval": "interval", "i": "interval", "software": "software", "s": "software",
	"hardware": "hardware", "h": "hardware", "kfunc": "kfunc", "f": "kfunc",
	"kretfunc": "kretfunc", "fr": "kretfunc", "watchpoint": "watchpoint", "w": "watchpoint",
	"iter": "iter", "it": "iter",
}

// probeTypesOf returns the canonical probe types a program attaches, read
// from the probe lists before each top-level block. It understands the
// layout of this package's programs, not the whole language: a predicate is
// the first word starting with '/', and comments are whole lines.
func probeTypesOf(t *testing.T, program string) []string {
	t.Helper()
	var code strings.Builder
	for line := range strings.Lines(program) {
		if !strings.HasPrefix(strings.TrimSpace(line), "//") {
			code.WriteString(line)
		}
	}
	var types []string
	depth := 0
	var header strings.Builder
	for _, r := range code.String() {
		switch {
		case r == '{':
			if depth == 0 {
				for _, word := range strings.Fields(header.String()) {
					if strings.HasPrefix(word, "/") {
						break
					}
					for point := range strings.SplitSeq(word, ",") {
						if point == "" {
							continue
						}
						provider, _, _ := strings.Cut(point, ":")
						typ, ok := probeAliases[provider]
						if !ok {
							t.Fatalf("unknown probe provider %q", provider)
						}
						if !slices.Contains(types, typ) {
							types = append(types, typ)
						}
					}
				}
				header.Reset()
			}
			depth++
		case r == '}':
			depth--
		case depth == 0:
			header.WriteRune(r)
		}
	}
	return types
}

func TestExamples(t *testing.T) {
	examples := Examples()
	if len(examples) < 24 {
		t.Errorf("got %d examples, want at least 24", len(examples))
	}
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			if got := probeTypesOf(t, ex.Program); !sameSet(got, ex.ProbeTypes) {
				t.Errorf("header says probes %v, program attaches %v", ex.ProbeTypes, got)
			}
			minor(t, ex.MinVersion)
			if utf8.RuneCountInString(ex.Title) > 80 || strings.ContainsAny(ex.Title, "\n") {
				t.Errorf("title %q is not one short line", ex.Title)
			}
			if len(ex.Tags) == 0 {
				t.Error("no tags")
			}
			if needsKprobe := slices.Contains(ex.ProbeTypes, "kprobe") || slices.Contains(ex.ProbeTypes, "kretprobe"); needsKprobe != slices.Contains(ex.Tags, "needs-kprobe") {
				t.Errorf("tag needs-kprobe must be present exactly when kprobes are used (tags %v)", ex.Tags)
			}
			if strings.Contains(ex.Program, "args.") {
				t.Error("program uses args.field, which bpftrace 0.17 rejects; write args->field")
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
