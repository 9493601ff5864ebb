package docs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed examples/*.bt
var exampleFiles embed.FS

// An Example is a small bpftrace program that answers one question.
type Example struct {
	Name        string   // slug, e.g. "syscall-count-by-process"
	Title       string   // one line
	Description string   // what it answers and how to read the output
	Program     string   // the program, without the metadata header
	ProbeTypes  []string // canonical probe types it attaches, e.g. ["tracepoint", "END"]
	MinVersion  string   // oldest bpftrace release it runs on, e.g. "0.17"
	Tags        []string
}

// Examples returns the example programs, sorted by name. Each is written for
// bpftrace 0.17 unless its MinVersion says otherwise. ProbeTypes lets a
// caller tell which examples cannot run on a host that lacks, say, kprobes.
//
// The programs are parsed from embedded files on every call; a file that
// does not parse is a bug in this package, and Examples panics on it (the
// package's tests parse every file).
func Examples() []Example {
	entries, err := fs.Glob(exampleFiles, "examples/*.bt")
	if err != nil {
		panic(fmt.Sprintf("docs: list examples: %v", err))
	}
	examples := make([]Example, 0, len(entries))
	for _, name := range entries {
		src, err := exampleFiles.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("docs: read example: %v", err))
		}
		ex, err := parseExample(src)
		if err != nil {
			panic(fmt.Sprintf("docs: parse example %s: %v", name, err))
		}
		if want := strings.TrimSuffix(path.Base(name), ".bt"); ex.Name != want {
			panic(fmt.Sprintf("docs: example %s is named %q", name, ex.Name))
		}
		examples = append(examples, ex)
	}
	slices.SortFunc(examples, func(a, b Example) int { return strings.Compare(a.Name, b.Name) })
	return examples
}

// Errors returned when an example header does not parse.
var (
	errNoHeader     = errors.New("no metadata header")
	errMissingField = errors.New("missing field")
	errUnknownField = errors.New("unknown field")
	errDuplicate    = errors.New("duplicate field")
	errContinuation = errors.New("continuation line before any field")
	errMalformed    = errors.New("malformed header line")
	errEmptyProgram = errors.New("empty program")
)

// parseExample reads an example file. The file starts with a header of
// comment lines, which bpftrace ignores, so the file as a whole stays a
// valid program:
//
//	// name: open-files
//	// title: Files opened, as they are opened
//	// description: First line of the description,
//	//   continued on lines indented by two or more spaces.
//	// probes: tracepoint, END
//	// min-version: 0.17
//	// tags: files, syscalls
//
// The header ends at the first line that is not a "//" comment; the rest is
// the program. name, title, description and probes are required;
// min-version defaults to "0.17".
func parseExample(src []byte) (Example, error) {
	fields := make(map[string]string)
	var last string
	lines := strings.SplitAfter(string(src), "\n")
	n := 0
	for ; n < len(lines); n++ {
		line := strings.TrimRight(lines[n], "\r\n")
		text, ok := strings.CutPrefix(line, "//")
		if !ok {
			break
		}
		if cont, ok := strings.CutPrefix(text, "   "); ok && strings.TrimSpace(cont) != "" {
			if last == "" {
				return Example{}, fmt.Errorf("line %d: %w", n+1, errContinuation)
			}
			fields[last] += " " + strings.TrimSpace(cont)
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(text, " "), ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return Example{}, fmt.Errorf("line %d: %w: %q", n+1, errMalformed, line)
		}
		if !isExampleKey(key) {
			return Example{}, fmt.Errorf("line %d: %w %q", n+1, errUnknownField, key)
		}
		if _, dup := fields[key]; dup {
			return Example{}, fmt.Errorf("line %d: %w %q", n+1, errDuplicate, key)
		}
		fields[key] = strings.TrimSpace(value)
		last = key
	}
	if n == 0 {
		return Example{}, errNoHeader
	}
	for _, key := range []string{"name", "title", "description", "probes"} {
		if fields[key] == "" {
			return Example{}, fmt.Errorf("%w %q", errMissingField, key)
		}
	}
	program := strings.TrimLeft(strings.Join(lines[n:], ""), "\r\n")
	if strings.TrimSpace(program) == "" {
		return Example{}, errEmptyProgram
	}
	probes := splitList(fields["probes"])
	if len(probes) == 0 {
		return Example{}, fmt.Errorf("%w %q", errMissingField, "probes")
	}
	minVersion := fields["min-version"]
	if minVersion == "" {
		minVersion = "0.17"
	}
	return Example{
		Name:        fields["name"],
		Title:       fields["title"],
		Description: fields["description"],
		Program:     program,
		ProbeTypes:  probes,
		MinVersion:  minVersion,
		Tags:        splitList(fields["tags"]),
	}, nil
}

// isExampleKey reports whether key is a header field.
func isExampleKey(key string) bool {
	switch key {
	case "name", "title", "description", "probes", "min-version", "tags":
		return true
	}
	return false
}

// splitList splits a comma-separated header value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
