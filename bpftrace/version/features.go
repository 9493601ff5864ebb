package version

import (
	"fmt"
	"slices"
)

// Feature is one difference between bpftrace releases that the server acts
// on or documents. The zero value is not a feature.
type Feature uint8

// The features, oldest first. Every one is read somewhere: a gate in
// validation or argv, the host report, or the served reference.
const (
	_ Feature = iota

	// RawTracepoint: the rawtracepoint (rt) probe type.
	RawTracepoint
	// ArgsStruct: args is a struct, written args.field; args->field is the
	// 0.17-0.18 spelling.
	ArgsStruct
	// ConfigBlock: config = { name = value; ... } before the probes.
	ConfigBlock
	// FentryNames: fentry/fexit name the kfunc/kretfunc probe types (the
	// canonical names from 0.22).
	FentryNames
	// Subprograms: fn name($a: type): type { ... }.
	Subprograms
	// ForMap: for ($kv : @map) { ... }.
	ForMap
	// ExitCode: exit() takes an exit code.
	ExitCode
	// AggregateReads: a count(), sum(), min() or max() map read as an
	// integer in an expression (avg() from 0.22).
	AggregateReads
	// LetDecl: let $x; and let $x: type = value; inside a block.
	LetDecl
	// DryRun: the --dry-run flag, and -d needing a stage argument.
	DryRun
	// ForRange: for ($i : 0..10) { ... }.
	ForRange
	// NestedBlocks: a block in braces as a statement of its own.
	NestedBlocks
	// OptionalParens: if, while, unroll and for without parentheses around
	// a condition that is a single value, or around the loop's header:
	// if $x { }, unroll 3 { }, for $i : 0..10 { }.
	OptionalParens
	// LowercaseBeginEnd: the special probes begin and end in lower case
	// (provider names became case-insensitive).
	LowercaseBeginEnd
	// Macros: macro name($a, @b, c) { ... } at the top level.
	Macros
	// MapDecl: let @m = hash(N); at the top level.
	MapDecl
	// Imports: import "name"; at the top level reads another file.
	Imports
	// AttachedNotice: text mode writes everything that is not the script's
	// own output, the attach notice included, to stderr, and the notice reads
	// "Attached N probes" instead of "Attaching N probes...".
	AttachedNotice
	// JSONRecords: JSON output writes null for values it cannot
	// represent, and has the tseries, errorf (warnf from 0.25) and
	// runtime_error record types. The same rewritten JSON writer no longer
	// prints the two blank lines that came before the exit-time map dump
	// (JsonOutput::end emits nothing), so nothing in the stream marks
	// where the dump begins.
	JSONRecords
	// MultipleBeginEnd: a program may have several begin and end probes.
	MultipleBeginEnd
	// CapabilityCheck: bpftrace checks for CAP_BPF, CAP_PERFMON and the
	// others instead of requiring uid 0.
	CapabilityCheck
	// CodegenMode: --mode codegen compiles without loading anything; with
	// -d ast it prints the program after each pass, on stderr.
	CodegenMode

	numFeatures
)

// Kind says which part of bpftrace a feature belongs to.
type Kind uint8

const (
	// Language is syntax a program may use.
	Language Kind = iota + 1
	// ProbeType is a probe type or probe type name.
	ProbeType
	// CLI is a command-line flag.
	CLI
	// Output is what bpftrace writes on stdout and stderr.
	Output
	// Runtime is how bpftrace runs: privileges, limits.
	Runtime
)

func (k Kind) String() string {
	switch k {
	case Language:
		return "language"
	case ProbeType:
		return "probe type"
	case CLI:
		return "command line"
	case Output:
		return "output"
	case Runtime:
		return "runtime"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Fact is one row of the table.
type Fact struct {
	Feature Feature
	// Key names the feature in JSON and in logs: "config_block".
	Key  string
	Kind Kind
	// Name says what the feature is in a sentence: "a config block". It
	// reads well as "%s needs bpftrace 0.20 or newer".
	Name string
	// Since is the release that brought it.
	Since Version
	// Stable is the release from which it no longer sits behind an
	// "unstable" config flag; zero when it never did. Between Since and
	// Stable bpftrace warns when the feature is used, unless the program's
	// config block sets Unstable = enable.
	Stable Version
	// Unstable is the config flag that governs the feature before Stable.
	Unstable string
	// Note is what a program author needs to know, in one sentence.
	Note string
}

// facts is the table, indexed by Feature. It is an array so that no caller
// can change it: Lookup and Facts return copies.
var facts = [numFeatures]Fact{
	RawTracepoint: {Key: "rawtracepoint", Kind: ProbeType, Name: "the rawtracepoint probe type", Since: minor(18),
		Note: "rawtracepoint:NAME attaches to the raw tracepoint; from 0.24 it needs kernel BTF and has args"},
	ArgsStruct: {Key: "args_struct", Kind: Language, Name: "args.field", Since: minor(19),
		Note: "args is a struct: write args.field; args->field is the 0.17-0.18 form and still accepted"},
	ConfigBlock: {Key: "config_block", Kind: Language, Name: "a config block", Since: minor(20),
		Note: "config = { max_strlen = 128; } before the probes sets options for this program"},
	FentryNames: {Key: "fentry_names", Kind: ProbeType, Name: "the fentry/fexit probe names", Since: minor(20),
		Note: "fentry/fexit are the kfunc/kretfunc probe types under a new name, canonical from 0.22"},
	Subprograms: {Key: "subprograms", Kind: Language, Name: "a subprogram (fn)", Since: minor(21),
		Note: "fn name($a: int64): int64 { return $a + 1; } defines a function probes can call"},
	ForMap: {Key: "for_map", Kind: Language, Name: "a for loop over a map", Since: minor(21),
		Note: "for ($kv : @m) { ... } visits every element; $kv.0 is the key, $kv.1 the value"},
	ExitCode: {Key: "exit_code", Kind: Language, Name: "exit() with an exit code", Since: minor(21),
		Note: "exit(1) ends the program with that exit status"},
	AggregateReads: {Key: "aggregate_reads", Kind: Language, Name: "an aggregation read as an integer", Since: minor(21),
		Note: "if (@c > 10) and $x = @sum + 1 read a count(), sum(), min() or max() map as an integer (avg() from 0.22); before, such maps can only be printed"},
	LetDecl: {Key: "let_declarations", Kind: Language, Name: "a let declaration", Since: minor(22),
		Note: "let $x: int64 = 0; declares a variable scoped to its block (variables became block-scoped)"},
	DryRun: {Key: "dry_run", Kind: CLI, Name: "--dry-run", Since: minor(22),
		Note: "--dry-run loads and attaches, then exits; -d needs a stage argument and -dd is gone"},
	ForRange: {Key: "for_range", Kind: Language, Name: "a for loop over a range", Since: minor(24),
		Note: "for ($i : 0..10) { ... } counts from 0 to 9"},
	NestedBlocks: {Key: "nested_blocks", Kind: Language, Name: "a nested block", Since: minor(24),
		Note: "{ let $x = 1; ... } inside a probe is a block of its own, and its variables end with it"},
	OptionalParens: {Key: "optional_parens", Kind: Language, Name: "a condition or loop header without parentheses", Since: minor(25),
		Note: "if $x { }, while !$done { }, unroll 3 { } and for $i : 0..10 { } may leave out the parentheses when the condition is a single value (a comparison still needs them)"},
	LowercaseBeginEnd: {Key: "lowercase_begin_end", Kind: ProbeType, Name: "begin and end in lower case", Since: minor(24),
		Note: "probe type names are case-insensitive: begin and end are the special probes; BEGIN and END still work"},
	Macros: {Key: "macros", Kind: Language, Name: "a macro", Since: minor(24), Stable: minor(25), Unstable: "unstable_macro",
		Note: "macro name($a, @b) { ... } is expanded where it is called; in 0.24 bpftrace warns unless config sets unstable_macro = enable"},
	MapDecl: {Key: "map_declarations", Kind: Language, Name: "a map declaration", Since: minor(24), Stable: minor(25), Unstable: "unstable_map_decl",
		Note: "let @m = hash(1024); before the probes sets a map's kind and size; in 0.24 bpftrace warns unless config sets unstable_map_decl = enable"},
	Imports: {Key: "imports", Kind: Language, Name: "an import", Since: minor(24), Stable: minor(26), Unstable: "unstable_import",
		Note: `import "name"; before the probes makes bpftrace read another file of bpftrace code or C; before 0.26 bpftrace warns unless config sets unstable_import = enable`},
	AttachedNotice: {Key: "attached_notice_on_stderr", Kind: Output, Name: `"Attached N probes" on stderr`, Since: minor(24),
		Note: `the attach notice reads "Attached N probes" and, like every message that is not the program's own output, goes to stderr; a probe that fails to attach is an error unless config sets missing_probes = "warn"`},
	JSONRecords: {Key: "json_records_0_24", Kind: Output, Name: "JSON null values and the tseries, errorf and runtime_error records", Since: minor(24),
		Note: "JSON output writes null for values it cannot represent, tseries maps as records of their own, errorf() (and from 0.25 warnf()) messages and runtime errors with their source location; no blank lines come before the maps printed at exit"},
	MultipleBeginEnd: {Key: "multiple_begin_end", Kind: Language, Name: "several begin or end probes", Since: minor(25),
		Note: "a program may have more than one begin and end probe; they run in source order"},
	CapabilityCheck: {Key: "capability_check", Kind: Runtime, Name: "the capability check", Since: minor(25),
		Note: "bpftrace checks for CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE instead of requiring uid 0"},
	// Dated by the release it was checked on (0.27.1: no map created, no
	// program loaded, nothing attached, BEGIN not run); older releases may
	// have it too.
	CodegenMode: {Key: "codegen_mode", Kind: CLI, Name: "--mode codegen", Since: minor(27),
		Note: "--mode codegen generates the BPF code and stops before loading anything; with -d ast it prints the program after each compiler pass"},
}

// Lookup returns the row of f. It panics for a value that is not one of
// the constants, which is a programming error.
func Lookup(f Feature) Fact {
	if f == 0 || f >= numFeatures {
		panic(fmt.Sprintf("version: unknown feature %d", uint8(f)))
	}
	fact := facts[f]
	fact.Feature = f
	return fact
}

// Facts returns the whole table, oldest feature first.
func Facts() []Fact {
	out := make([]Fact, 0, numFeatures-1)
	for f := Feature(1); f < numFeatures; f++ {
		out = append(out, Lookup(f))
	}
	slices.SortStableFunc(out, func(a, b Fact) int { return a.Since.Compare(b.Since) })
	return out
}

// String names the feature by its Key.
func (f Feature) String() string {
	if f == 0 || f >= numFeatures {
		return fmt.Sprintf("Feature(%d)", uint8(f))
	}
	return facts[f].Key
}

// Has reports whether release v has feature f. An unknown (zero) version
// has none: the conservative answer, that of 0.17.
func (v Version) Has(f Feature) bool {
	return !v.IsZero() && v.Compare(Lookup(f).Since) >= 0
}

// Unstable reports whether f exists in v only behind an "unstable" config
// flag: bpftrace warns when a program uses it.
func (v Version) Unstable(f Feature) bool {
	fact := Lookup(f)
	return v.Has(f) && !fact.Stable.IsZero() && v.Compare(fact.Stable) < 0
}

// Features lists the features release v has, oldest first.
func (v Version) Features() []Feature {
	var out []Feature
	for _, f := range Facts() {
		if v.Has(f.Feature) {
			out = append(out, f.Feature)
		}
	}
	return out
}

// Supports reports whether a program using feature f should be accepted
// for release v, and the release that brought f in the short form messages
// use ("0.20"). Unlike Has it answers yes for an unknown (zero) version:
// Has decides what the server relies on, Supports what it refuses, and
// neither should happen on a guess.
func (v Version) Supports(f Feature) (ok bool, since string) {
	return v.IsZero() || v.Has(f), Lookup(f).Since.Short()
}
