package bpftrace

import (
	"regexp"
	"strconv"
	"strings"
)

// Severity of a [Diagnostic].
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	// SeverityFatal is bpftrace aborting ("FATAL:", an uncaught exception).
	SeverityFatal Severity = "fatal"
)

// Diagnostic is one message bpftrace printed on stderr, with the place in
// the program it points at when it gave one. Lines and columns are 1-based;
// EndColumn is exclusive, as bpftrace prints it ("stdin:1:20-21").
type Diagnostic struct {
	Severity  Severity `json:"severity"`
	Line      int      `json:"line,omitempty"`
	Column    int      `json:"column,omitempty"`
	EndLine   int      `json:"end_line,omitempty"`
	EndColumn int      `json:"end_column,omitempty"`
	Message   string   `json:"message"`
	// Source is the program line bpftrace quoted under the message, if any.
	Source string `json:"source,omitempty"`
	// Hint is what bpftrace itself suggested on the "HINT:" lines that
	// follow the message (0.24 and later), if any.
	Hint string `json:"hint,omitempty"`
}

// String formats the diagnostic the way bpftrace does, so that a person
// reading it recognises it: "stdin:1:20-21: ERROR: syntax error".
func (d Diagnostic) String() string {
	var b strings.Builder
	switch {
	case d.Line > 0 && d.Column > 0:
		b.WriteString("line " + strconv.Itoa(d.Line) + ", column " + strconv.Itoa(d.Column) + ": ")
	case d.Line > 0 && d.EndLine > d.Line:
		b.WriteString("lines " + strconv.Itoa(d.Line) + "-" + strconv.Itoa(d.EndLine) + ": ")
	case d.Line > 0:
		b.WriteString("line " + strconv.Itoa(d.Line) + ": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// located matches "stdin:1:20-21: ERROR: msg" and the multi-line form
// "file.bt:2-3: ERROR: msg" (no column, no excerpt).
var located = regexp.MustCompile(`^[^:\s]+:(\d+)(?::(\d+)-(\d+)|-(\d+)): (ERROR|WARNING): (.*)$`)

// runOn matches the messages bpftrace 0.17 prints without a trailing
// newline: a warning about address spaces, and the failure to read
// available_filter_functions (unreadable even for root under lockdown),
// which -d prints on every run.
var runOn = regexp.MustCompile(`^(?:WARNING: Addrspace is not set|Error while reading traceable functions from \S+: (?:Operation not permitted|Permission denied|No such file or directory))`)

// expandedFrom is the message of the ERROR line that 0.24 and later print
// after an error found in one of the copies of a probe block with several
// attach points, pointing at the block.
const expandedFrom = "expanded from"

// bare matches messages without a location.
var bare = regexp.MustCompile(`^(ERROR|WARNING|FATAL): (.*)$`)

// Stderr classifies bpftrace's stderr. It drops the lines that are harmless
// on every run on some hosts, and splits the rest into diagnostics (which
// carry a position when bpftrace gave one) and other text.
type Stderr struct {
	Diagnostics []Diagnostic
	// Other holds the lines that are neither diagnostics, their source
	// excerpts, nor known noise: "No probes to attach", libbpf chatter,
	// "terminate called after throwing...".
	Other []string
	// Probes is the count from a 0.24+ "Attached N probes" notice, or -1.
	Probes int
}

// ParseStderr reads everything bpftrace wrote to stderr.
func ParseStderr(s string) Stderr {
	out := Stderr{Probes: -1}
	lines := meaningful(s)
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if n, ok := attachNotice(line); ok {
			out.Probes = n
			continue
		}
		if hint, ok := strings.CutPrefix(line, "HINT: "); ok && len(out.Diagnostics) > 0 {
			d := &out.Diagnostics[len(out.Diagnostics)-1]
			d.Hint = strings.TrimSpace(d.Hint + " " + hint)
			continue
		}
		if m := located.FindStringSubmatch(line); m != nil {
			d := Diagnostic{Severity: severity(m[5]), Message: m[6]}
			d.Line, _ = strconv.Atoi(m[1])
			// 0.23 and later follow a helper error with what failed:
			// "Additional Info - helper: probe_read_str, retcode: -14".
			if i+1 < len(lines) {
				if info, ok := strings.CutPrefix(lines[i+1], "Additional Info - "); ok {
					d.Message += " (" + info + ")"
					i++
				}
			}
			if m[2] != "" {
				d.Column, _ = strconv.Atoi(m[2])
				end, _ := strconv.Atoi(m[3])
				d.EndLine, d.EndColumn = d.Line, end
				// The excerpt follows: the source line, then a "~~~" line.
				switch {
				case i+2 < len(lines) && isUnderline(lines[i+2]):
					d.Source = lines[i+1]
					i += 2
				case i+1 < len(lines) && isUnderline(lines[i+1]):
					i++ // the quoted line was blank
				}
			} else {
				d.EndLine, _ = strconv.Atoi(m[4])
			}
			if d.Message == expandedFrom && len(out.Diagnostics) > 0 {
				// 0.24 and later follow an error in a probe block with
				// several attach points with the block it was expanded
				// from: where the previous error came from, not one more.
				continue
			}
			out.Diagnostics = append(out.Diagnostics, d)
			continue
		}
		if m := bare.FindStringSubmatch(line); m != nil {
			out.Diagnostics = append(out.Diagnostics, Diagnostic{Severity: severity(m[1]), Message: m[2]})
			continue
		}
		out.Other = append(out.Other, line)
	}
	return out
}

// meaningful splits stderr into lines, separates the messages that bpftrace
// printed without a newline, and drops the harmless ones and blank lines.
func meaningful(s string) []string {
	var out []string
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		for {
			m := runOn.FindStringIndex(line)
			if m == nil || m[1] == len(line) {
				break
			}
			out = appendMeaningful(out, line[:m[1]])
			line = line[m[1]:]
		}
		out = appendMeaningful(out, line)
	}
	return out
}

func appendMeaningful(lines []string, line string) []string {
	if strings.TrimSpace(line) == "" || IsHarmless(line) {
		return lines
	}
	return append(lines, line)
}

// FilterStderr returns stderr without the harmless noise, one message per
// line: what is worth keeping with an execution.
func FilterStderr(s string) string {
	lines := meaningful(s)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// AttachNotice recognises the line that tells how many probes bpftrace is
// attaching: "Attaching 3 probes..." (0.17-0.23) or "Attached 3 probes"
// (0.24+, on stderr).
func AttachNotice(line string) (int, bool) { return attachNotice(line) }

// Errors returns the error and fatal diagnostics.
func (s Stderr) Errors() []Diagnostic {
	var errs []Diagnostic
	for _, d := range s.Diagnostics {
		if d.Severity != SeverityWarning {
			errs = append(errs, d)
		}
	}
	return errs
}

// Summary is a one-paragraph account of what went wrong, for an execution's
// error message: the errors first, then any unclassified lines.
func (s Stderr) Summary() string {
	var parts []string
	for _, d := range s.Errors() {
		parts = append(parts, d.String())
	}
	parts = append(parts, s.Other...)
	return strings.Join(parts, "\n")
}

func severity(s string) Severity {
	switch s {
	case "ERROR":
		return SeverityError
	case "WARNING":
		return SeverityWarning
	default:
		return SeverityFatal
	}
}

func isUnderline(s string) bool {
	t := strings.TrimSpace(s)
	return t != "" && strings.Trim(t, "~") == ""
}

// IsHarmless reports whether a stderr line is noise that says nothing about
// the program: bpftrace fails to raise RLIMIT_MEMLOCK on every run when the
// process lacks CAP_SYS_RESOURCE, although BPF memory has been charged to the
// memory cgroup since Linux 5.11, and it warns that it cannot read
// available_filter_functions on hosts where that file is locked down even
// for programs that use no kprobe.
func IsHarmless(line string) bool {
	if strings.HasPrefix(line, "Error while reading traceable functions from ") {
		return true
	}
	// 0.17 says "Could not read symbols from", 0.25 and later "Could not
	// read functions from" (and suggest --traceable-functions).
	return strings.Contains(line, "couldn't set RLIMIT_MEMLOCK") ||
		((strings.HasPrefix(line, "WARNING: Could not read symbols from ") ||
			strings.HasPrefix(line, "WARNING: Could not read functions from ")) &&
			strings.Contains(line, "available_filter_functions"))
}

var attachRE = regexp.MustCompile(`^Attach(?:ing|ed) (\d+) probes?(?:\.\.\.)?$`)

// attachNotice recognises "Attaching 3 probes..." (0.17-0.23, on stdout in
// text mode) and "Attached 3 probes" (0.24+, on stderr).
func attachNotice(line string) (int, bool) {
	m := attachRE.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}
