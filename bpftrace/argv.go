package bpftrace

import (
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// RunOptions are the knobs of one run that change bpftrace's argv.
type RunOptions struct {
	// Unsafe passes --unsafe. Only the policy may ask for it.
	Unsafe bool
	// Args are positional parameters ($1, $2, ...).
	Args []string
}

// RunArgs is the argv (after the program path) that runs program with JSON
// output, line-buffered so that output streams as it happens. The program
// goes in with -e: no file to clean up, and diagnostics name it "stdin".
// Never -o, -c or -I: output must reach our pipe, and the others run or read
// things as root outside the policy's sight.
func (b *Binary) RunArgs(program string, o RunOptions) []string {
	// -k makes bpftrace report BPF helper errors (a failed map update when a
	// map is full, a failed delete) as helper_error events, which are
	// otherwise silent; the runner counts them.
	args := []string{"-f", "json", "-B", "line", "-k"}
	if o.Unsafe {
		args = append(args, "--unsafe")
	}
	args = append(args, "-e", programArg(program))
	if len(o.Args) > 0 {
		args = append(args, o.Args...)
	}
	return args
}

// programArg ends the program with a newline: bpftrace 0.17's lexer reports
// a syntax error ("unexpected end predicate") for a // comment on the last
// line when no newline follows it. A newline never changes a line number.
func programArg(program string) string {
	if strings.HasSuffix(program, "\n") {
		return program
	}
	return program + "\n"
}

// CheckArgs is the argv that compiles program without running it, so that
// syntax, semantic and type errors come back with their positions. Before
// 0.22 `-d` parses, analyses and generates code with nothing loaded; from
// 0.22 `-d` needs a stage and `--dry-run` is the way to stop before running
// (it does load and attach, so it also catches verifier and attach errors).
func (b *Binary) CheckArgs(program string, o RunOptions) []string {
	var args []string
	if b.Version.Has(version.DryRun) {
		args = []string{"--dry-run", "-q"}
	} else {
		args = []string{"-d"}
	}
	if o.Unsafe {
		args = append(args, "--unsafe")
	}
	args = append(args, "-e", programArg(program))
	return append(args, o.Args...)
}
