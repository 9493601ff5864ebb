package bpftrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
)

// AST is what bpftrace's own parser made of a program, as far as the
// server's checks care: its probes, their attach points, whether each has
// a predicate, and the functions called. It is read from the AST that
// bpftrace prints with -d, after its lexer has expanded any C macro, so it
// shows the program bpftrace will run rather than the text it was given.
type AST struct {
	Probes []ASTProbe
	// MacroPass is set on an AST read from bpftrace 0.27 and later (see
	// [Binary.HasMacroPassAST]): it then has no Probes, and MacroChanges
	// says what bpftrace's C macro pass changed in the program.
	MacroPass bool
	// MacroChanges are the lines of the program, as bpftrace prints it,
	// that its C macro pass changed: `"Y;" became "printf(\"x\\n\");"`.
	MacroChanges []string
}

// ASTProbe is one probe of an [AST].
type ASTProbe struct {
	// AttachPoints as bpftrace prints them: full provider names ("t:" is
	// "tracepoint:"), quotes removed.
	AttachPoints []string
	// Predicate reports a /predicate/.
	Predicate bool
	// PredicateCalls are the functions called in the predicate, in order.
	PredicateCalls []string
	// Calls are the functions called in the body, in order.
	Calls []string
}

// ErrNoAST is returned when bpftrace's output holds no parser AST (the
// program did not parse, or this version does not print one for a check).
var ErrNoAST = errors.New("bpftrace printed no AST")

// PrintsParserAST reports whether [Binary.CheckArgs] makes this bpftrace
// print the AST right after parsing, on stdout, so that a check also yields
// an [AST]: before 0.22, -d prints it first, before any other pass runs.
func (b *Binary) PrintsParserAST() bool { return !b.Version.Has(version.DryRun) }

// HasParserAST reports whether [Binary.DumpAST] can read this bpftrace's
// parser AST. From 0.24 (the release that brought bpftrace's own macros)
// the AST is printed as source after dozens of passes, the first of which
// precedes C macro expansion; that format is not read here. (There,
// --emit-elf no longer stops before loading: 0.27.1 with -d ast
// --emit-elf /dev/null attaches and runs the program.)
func (b *Binary) HasParserAST() bool { return !b.Version.Has(version.Macros) }

// HasMacroPassAST reports whether [Binary.DumpAST] reads, instead of a
// parser AST, what bpftrace's own C macro pass changed: -d ast --mode
// codegen prints the program after each compiler pass, on stderr, and
// loads, attaches and runs nothing (checked on 0.27.1, where BEGIN did not
// run and bpftrace made no bpf() call but reading BTF).
func (b *Binary) HasMacroPassAST() bool {
	return !b.HasParserAST() && b.Version.Has(version.CodegenMode)
}

// ASTArgs is the argv that makes bpftrace print its AST without loading
// anything: -d before 0.22 (parse, analyse, generate code, print); from
// 0.22, -d takes a stage, and --emit-elf to /dev/null stops it before
// anything is loaded; with [Binary.HasMacroPassAST], --mode codegen does.
// Nil when neither [Binary.HasParserAST] nor HasMacroPassAST.
func (b *Binary) ASTArgs(program string, o RunOptions) []string {
	var args []string
	switch {
	case b.HasMacroPassAST():
		args = []string{"-d", "ast", "--mode", "codegen"}
	case !b.HasParserAST():
		return nil
	case b.PrintsParserAST():
		return b.CheckArgs(program, o)
	default:
		args = []string{"-d", "ast", "--emit-elf", "/dev/null"}
	}
	if o.Unsafe {
		args = append(args, "--unsafe")
	}
	return append(args, "-e", programArg(program))
}

// parserASTHeader starts the section of -d's output that [ParseAST] reads;
// the next "AST after:" header ends it.
const parserASTHeader = "AST after: parser"

// maxASTBytes bounds what a check keeps of the parser AST: a program whose
// AST is larger yields none, and the checks that need it refuse it.
const maxASTBytes = 4 << 20

// macroPassHeader starts the section of -d ast's output (0.27) printed
// after bpftrace's C macro pass, the one [ParseMacroPass] compares with the
// section before it.
const macroPassHeader = "AST after: CMacroExpansion"

// astBuffer keeps -d's output up to the end of the section it waits for
// (the parser's, or the C macro pass's) and discards the rest (the later
// passes and the LLVM IR, which can be megabytes).
type astBuffer struct {
	head     string // the header of the section waited for
	buf      bytes.Buffer
	done     bool
	overflow bool
	header   int    // offset of the parser header, or -1 before it is seen
	scanned  int    // bytes already searched
	onDone   func() // called once when the parser section is complete, or nil
}

func newASTBuffer(head string, onDone func()) *astBuffer {
	return &astBuffer{head: head, header: -1, onDone: onDone}
}

func (a *astBuffer) Write(p []byte) (int, error) {
	if a.done {
		return len(p), nil
	}
	if a.buf.Len()+len(p) > maxASTBytes {
		a.overflow, a.done = true, true
		return len(p), nil
	}
	a.buf.Write(p)
	b := a.buf.Bytes()
	// Search only the new bytes (and a marker's length before them).
	from := max(a.scanned-len(a.head), 0)
	a.scanned = len(b)
	if a.header < 0 {
		i := bytes.Index(b[from:], []byte(a.head))
		if i < 0 {
			return len(p), nil
		}
		a.header = from + i
		from = a.header + len(a.head)
	}
	from = max(from, a.header+len(a.head))
	if bytes.Contains(b[from:], []byte("\nAST after: ")) {
		a.done = true // the parser section is complete
		if a.onDone != nil {
			a.onDone()
		}
	}
	return len(p), nil
}

func (a *astBuffer) ast() (*AST, error) {
	if a.overflow {
		return nil, fmt.Errorf("%w: it is larger than %d bytes", ErrNoAST, maxASTBytes)
	}
	if a.head == macroPassHeader {
		return ParseMacroPass(a.buf.String())
	}
	return ParseAST(a.buf.String())
}

// ParseMacroPass reads the output of [Binary.ASTArgs] on a bpftrace with
// [Binary.HasMacroPassAST]: the program as printed after the C macro pass
// and after the pass before it, compared line by line. A C macro that
// bpftrace expands shows as a changed line; a program the pass could not
// handle (an expansion that does not parse) has no such section and yields
// [ErrNoAST].
func ParseMacroPass(out string) (*AST, error) {
	i := strings.Index(out, "\n"+macroPassHeader+"\n")
	if i < 0 {
		return nil, fmt.Errorf("%w: no %q section", ErrNoAST, macroPassHeader)
	}
	after := out[i+1+len(macroPassHeader)+1:]
	if j := strings.Index(after, "\nAST after: "); j >= 0 {
		after = after[:j]
	}
	k := strings.LastIndex(out[:i+1], "AST after: ")
	if k < 0 {
		return nil, fmt.Errorf("%w: no section before %q", ErrNoAST, macroPassHeader)
	}
	before := out[k:i]
	before = before[strings.IndexByte(before, '\n')+1:] // the header line
	a, b := passLines(before), passLines(after)
	ast := &AST{MacroPass: true}
	for n := range max(len(a), len(b)) {
		var x, y string
		if n < len(a) {
			x = a[n]
		}
		if n < len(b) {
			y = b[n]
		}
		if x != y {
			ast.MacroChanges = append(ast.MacroChanges, fmt.Sprintf("%q became %q", x, y))
		}
		if len(ast.MacroChanges) == 5 {
			break // enough to say what happened
		}
	}
	return ast, nil
}

// passLines are the lines of one pass's section: without the dashes under
// the header, blank lines and indentation.
func passLines(sec string) []string {
	var out []string
	for _, l := range strings.Split(sec, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Trim(l, "-") == "" {
			continue
		}
		out = append(out, l)
	}
	return out
}

// ParseAST reads the parser section of the output of [Binary.ASTArgs]
// (0.17 to 0.23). The AST printer indents each node by one space per level: probes
// at level 1 (each attach point on a line of its own), "pred" at level 2,
// and calls as "call: name" at any level below.
func ParseAST(out string) (*AST, error) {
	i := strings.Index(out, parserASTHeader)
	if i < 0 {
		return nil, ErrNoAST
	}
	sec := out[i+len(parserASTHeader):]
	if j := strings.Index(sec, "\nAST after: "); j >= 0 {
		sec = sec[:j]
	}
	lines := strings.Split(sec, "\n")
	k := 0
	for k < len(lines) && lines[k] != "Program" {
		k++ // the dashes, and the C definitions bpftrace echoes
	}
	if k == len(lines) {
		return nil, fmt.Errorf("%w: no Program node", ErrNoAST)
	}
	ast := &AST{}
	var cur *ASTProbe
	bodyStarted := false
	predDepth := -1 // the level of the "pred" line of the current probe, when inside it
	for _, l := range lines[k+1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		depth := len(l) - len(strings.TrimLeft(l, " "))
		text := strings.TrimSpace(l)
		if predDepth >= 0 && depth <= predDepth {
			predDepth = -1
		}
		switch {
		case depth == 1:
			// A new probe starts unless the previous line was an attach
			// point of the same probe (nothing of its body seen yet).
			if cur == nil || bodyStarted {
				ast.Probes = append(ast.Probes, ASTProbe{})
				cur = &ast.Probes[len(ast.Probes)-1]
				bodyStarted = false
			}
			cur.AttachPoints = append(cur.AttachPoints, text)
		case cur == nil:
			return nil, fmt.Errorf("%w: %q before any probe", ErrNoAST, l)
		case depth == 2 && text == "pred":
			cur.Predicate = true
			predDepth = depth
			bodyStarted = true
		default:
			bodyStarted = true
			name, ok := strings.CutPrefix(text, "call: ")
			if !ok && strings.HasPrefix(text, "sizeof:") {
				// 0.22 and later print sizeof as its own node.
				name, ok = "sizeof", true
			}
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(name, " ")
			if predDepth >= 0 {
				cur.PredicateCalls = append(cur.PredicateCalls, name)
			} else {
				cur.Calls = append(cur.Calls, name)
			}
		}
	}
	return ast, nil
}

// DumpAST runs bpftrace with [Binary.ASTArgs] only as far as its parser:
// it reads the parser AST and kills bpftrace as soon as that is complete,
// before the semantic analysis and code generation. Nothing is loaded or
// attached by those argv, so stopping early is safe. It returns [ErrNoAST]
// for a program bpftrace could not parse (its diagnostics come from a full
// check) and on versions whose AST is not read here ([Binary.HasParserAST]).
func (b *Binary) DumpAST(ctx context.Context, program string, o RunOptions, env []string) (*AST, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		out            *astBuffer
		stdout, stderr io.Writer = nil, io.Discard
	)
	switch {
	case b.HasMacroPassAST():
		// 0.27 prints its passes on stderr.
		out = newASTBuffer(macroPassHeader, cancel)
		stdout, stderr = io.Discard, out
	case b.HasParserAST():
		out = newASTBuffer(parserASTHeader, cancel)
		stdout = out
	default:
		return nil, fmt.Errorf("%w: bpftrace %s", ErrNoAST, b.Version)
	}
	_, err := b.runBounded(ctx, "AST dump", b.ASTArgs(program, o), env, stdout, stderr)
	if out.done && !out.overflow {
		return out.ast()
	}
	if err != nil {
		return nil, fmt.Errorf("dump the AST: %w", err)
	}
	return out.ast()
}
