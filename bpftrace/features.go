package bpftrace

import (
	"bufio"
	"strings"
)

// Features are the differences between bpftrace releases that the rest of
// the server has to act on. They are derived from the version alone (see
// [FeaturesFor]); what the kernel supports is a separate question answered
// by `--info` ([Info]) and by the catalog package.
type Features struct {
	// DryRun: `--dry-run` exists (0.22+). It loads and attaches, then exits.
	DryRun bool `json:"dry_run"`
	// DebugTakesStage: `-d` needs a stage argument and no longer means
	// "dry run" (0.22+). Before 0.22, `-d` parses, analyses and generates
	// code without loading anything.
	DebugTakesStage bool `json:"debug_takes_stage"`
	// AttachNoticeOnStderr: the attach notice and every other non-script
	// message go to stderr, and the notice reads "Attached N probes" (0.24+).
	AttachNoticeOnStderr bool `json:"attach_notice_on_stderr"`
	// AttachFailureFatal: any probe that fails to attach aborts the run
	// (0.24+); before, uprobe/usdt points that do not exist were skipped
	// silently and other failures only warned.
	AttachFailureFatal bool `json:"attach_failure_fatal"`
	// ArgsIsStruct: tracepoint and kfunc `args` is a struct, written
	// `args.field`; `args->field` is the 0.17-0.18 spelling (0.19+).
	ArgsIsStruct bool `json:"args_is_struct"`
	// MapDumpSignal: SIGUSR1 prints every map without stopping (before 0.22).
	MapDumpSignal bool `json:"map_dump_signal"`
	// RawTracepoint: the rawtracepoint probe type exists (0.18+).
	RawTracepoint bool `json:"rawtracepoint"`
	// FentryNames: fentry/fexit are accepted as names for kfunc/kretfunc
	// (0.20+); from 0.22 they are the canonical names.
	FentryNames bool `json:"fentry_names"`
	// ExitCode: exit() takes an exit code (0.21+).
	ExitCode bool `json:"exit_code"`
	// LowercaseBeginEnd: the special probes are spelled begin/end (0.25+);
	// BEGIN/END remain accepted.
	LowercaseBeginEnd bool `json:"lowercase_begin_end"`
	// CapabilityCheck: bpftrace checks capabilities instead of requiring
	// uid 0 (0.25+).
	CapabilityCheck bool `json:"capability_check"`
	// MaxStrlen is the default string size in bytes (64 before 0.23, 1024 after).
	MaxStrlen int `json:"max_strlen"`
}

// FeaturesFor returns the feature set of a bpftrace release. An unknown
// (zero) version is treated as the oldest supported release, 0.17, whose
// behaviour is the most conservative.
func FeaturesFor(v Version) Features {
	f := Features{
		DryRun:               v.AtLeast("0.22"),
		DebugTakesStage:      v.AtLeast("0.22"),
		AttachNoticeOnStderr: v.AtLeast("0.24"),
		AttachFailureFatal:   v.AtLeast("0.24"),
		ArgsIsStruct:         v.AtLeast("0.19"),
		MapDumpSignal:        v.IsZero() || !v.AtLeast("0.22"),
		RawTracepoint:        v.AtLeast("0.18"),
		FentryNames:          v.AtLeast("0.20"),
		ExitCode:             v.AtLeast("0.21"),
		LowercaseBeginEnd:    v.AtLeast("0.25"),
		CapabilityCheck:      v.AtLeast("0.25"),
		MaxStrlen:            64,
	}
	if v.AtLeast("0.23") {
		f.MaxStrlen = 1024
	}
	return f
}

// Info is `bpftrace --info` parsed into "Section/key" → value, for example
// "Kernel features/btf" → "yes" or "Probe types/kfunc" → "no".
type Info map[string]string

// Yes reports whether the entry exists and reads "yes".
func (in Info) Yes(key string) bool { return in[key] == "yes" }

// ParseInfo reads the output of `bpftrace --info`. Section headers are the
// unindented lines; entries are indented "key: value" lines.
func ParseInfo(s string) Info {
	in := Info{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			section = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		in[section+"/"+strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return in
}

// Language features that appeared after 0.17, with the release that
// introduced them, so that a program written for a newer bpftrace is told
// what it needs instead of getting a bare syntax error.
var languageSince = map[string]string{
	"rawtracepoint":       "0.18",
	"config block":        "0.19",
	"args.field":          "0.19",
	"subprograms":         "0.20",
	"fentry/fexit":        "0.20",
	"for over a map":      "0.21",
	"exit(code)":          "0.21",
	"let declarations":    "0.22",
	"typed variables":     "0.22",
	"for over a range":    "0.23",
	"macros":              "0.23",
	"lowercase begin/end": "0.25",
}

// Supports reports whether this release has a language feature named in
// the table above, and which release introduced it. Unknown features are
// reported supported, with an empty since.
func (v Version) Supports(feature string) (ok bool, since string) {
	since, known := languageSince[feature]
	if !known || v.IsZero() {
		return true, since
	}
	return v.AtLeast(since), since
}
