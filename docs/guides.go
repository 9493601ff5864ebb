package docs

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"
)

// A Guide is a guided investigation, offered to MCP clients as a prompt.
type Guide struct {
	Name        string
	Title       string
	Description string
	Args        []GuideArg
	// Template is the text of the user message sent to the assistant, a
	// text/template with the arguments as fields: {{.path}}.
	Template string
}

// A GuideArg is one argument of a [Guide].
type GuideArg struct {
	Name        string
	Description string
	Required    bool
}

// Errors returned by [Guide.Render], wrapped with the argument's name.
var (
	ErrMissingArgument = errors.New("missing required argument")
	ErrUnknownArgument = errors.New("unknown argument")
	ErrInvalidArgument = errors.New("invalid argument")
)

// Render fills the guide's template with args. It returns an error wrapping
// [ErrMissingArgument] when a required argument is absent or blank,
// [ErrUnknownArgument] for a name the guide does not declare, and
// [ErrInvalidArgument] for a value containing control characters, because
// values are pasted into example programs and must stay on one line.
// Optional arguments that are absent render as empty strings.
func (g Guide) Render(args map[string]string) (string, error) {
	for name, value := range args {
		if !slices.ContainsFunc(g.Args, func(a GuideArg) bool { return a.Name == name }) {
			return "", fmt.Errorf("render %s: %w %q", g.Name, ErrUnknownArgument, name)
		}
		if strings.ContainsFunc(value, unicode.IsControl) {
			return "", fmt.Errorf("render %s: %w %q: control characters are not allowed", g.Name, ErrInvalidArgument, name)
		}
	}
	data := make(map[string]string, len(g.Args))
	for _, a := range g.Args {
		value := strings.TrimSpace(args[a.Name])
		if a.Required && value == "" {
			return "", fmt.Errorf("render %s: %w %q", g.Name, ErrMissingArgument, a.Name)
		}
		data[a.Name] = value
	}
	tmpl, err := template.New(g.Name).Funcs(guideFuncs()).Option("missingkey=error").Parse(g.Template)
	if err != nil {
		return "", fmt.Errorf("parse template %s: %w", g.Name, err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", g.Name, err)
	}
	return b.String(), nil
}

// guideFuncs are the helpers templates use to turn user input into valid
// pieces of a bpftrace program.
func guideFuncs() template.FuncMap {
	return template.FuncMap{
		// isPID reports whether a target names a process by number.
		"isPID": isPID,
		// quote makes a bpftrace string literal.
		"quote": bpftraceString,
		// base is the last element of a path, the part most likely to
		// survive bpftrace's string length limit.
		"base": path.Base,
		// filter turns a target (a PID or a process name) into a
		// predicate expression.
		"filter": targetFilter,
	}
}

// targetFilter returns "pid == N" for a numeric target and a comparison with
// comm otherwise. comm holds at most 15 characters, so longer names are cut
// to what the kernel keeps.
func targetFilter(target string) string {
	if n, err := strconv.ParseUint(target, 10, 32); err == nil && n > 0 {
		return "pid == " + strconv.FormatUint(n, 10)
	}
	const commLen = 15
	if len(target) > commLen {
		target = target[:commLen]
	}
	return "comm == " + bpftraceString(target)
}

func isPID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n > 0
}

// bpftraceString returns s as a bpftrace string literal.
func bpftraceString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
