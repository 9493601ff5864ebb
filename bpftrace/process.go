package bpftrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpftrace-mcp/bpftrace-mcp/internal/headtail"
)

// pipeSize is asked for on the stdout pipe. bpftrace stops draining its perf
// buffers while a write() to a full pipe blocks, and the kernel then drops
// events; a larger pipe absorbs bursts while the reader is descheduled.
// 1 MiB is the default ceiling (fs.pipe-max-size) for root.
const pipeSize = 1 << 20

// StartOptions describe the environment of a started bpftrace.
type StartOptions struct {
	// Env is the complete environment (KEY=value) given to bpftrace.
	Env []string
	// Owner identifies the server process that starts bpftrace (see
	// [SelfOwner]). It goes on bpftrace's command line so that a later server can
	// recognise, and kill, a bpftrace whose server died (see [SweepOrphans]).
	Owner string
	// Scope is the server's [Scope]: only a server of the same scope kills
	// this bpftrace if its owner dies.
	Scope string
}

// Process is one running bpftrace in a process group of its own.
// Stdout and Stderr must be read until EOF by the caller; Wait must be called
// exactly once.
type Process struct {
	Pid    int
	Stdout *os.File
	Stderr *os.File
	cmd    *exec.Cmd
	sudo   bool
}

// ExitStatus is how a bpftrace process ended.
type ExitStatus struct {
	Code   int            // exit code, or -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it, or 0
}

// Signaled reports whether the process was ended by a signal.
func (s ExitStatus) Signaled() bool { return s.Signal != 0 }

// Sent reports whether the process was ended by a signal that someone sent
// it (SIGKILL, SIGTERM, SIGINT, SIGHUP), rather than by what bpftrace made
// of its program (an abort, a crash): such an end says nothing about the
// program, and trying again may well succeed.
func (s ExitStatus) Sent() bool {
	switch s.Signal {
	case unix.SIGKILL, unix.SIGTERM, unix.SIGINT, unix.SIGHUP:
		return true
	}
	return false
}

func (s ExitStatus) String() string {
	if s.Signaled() {
		return fmt.Sprintf("killed by %s", unix.SignalName(s.Signal))
	}
	return fmt.Sprintf("exit code %d", s.Code)
}

// Start runs bpftrace with args. bpftrace gets its own process group, so
// that signals reach everything it starts, and SIGKILL as its parent-death
// signal, so that it does not outlive the server even when the server is
// killed with SIGKILL. (The parent-death signal fires when the thread that
// forked exits; Go only ends threads whose goroutine exits while locked to
// them, which this package never does.)
func (b *Binary) Start(args []string, o StartOptions) (*Process, error) {
	outR, outW, err := blockingPipe()
	if err != nil {
		return nil, fmt.Errorf("create stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("create stderr pipe: %w", err)
	}
	// The owner marker goes last, as a positional parameter that programs
	// never read (the validator refuses $1 and $#): unlike the environment,
	// a command line survives sudo, and it shows in ps.
	name, argv := b.command(append(slices.Clone(args), OwnerMarker(o.Owner, o.Scope)...)...)
	cmd := exec.Command(name, argv...)
	cmd.Env = o.Env
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", b.Path, err)
	}
	return &Process{Pid: cmd.Process.Pid, Stdout: outR, Stderr: errR, cmd: cmd, sudo: b.Sudo}, nil
}

// blockingPipe returns a pipe whose read end is read with plain blocking
// read(2) calls rather than through Go's netpoller. bpftrace writes each
// line with its own write(); on a pollable pipe every one of those writes
// wakes the netpoller (about 100,000 times a second under load), which cost
// several times the CPU of decoding and storing the lines. The caller reads
// it from one goroutine until EOF and only then closes it.
func blockingPipe() (r, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	// A smaller pipe still works; the size is an optimisation only.
	_, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	return os.NewFile(uintptr(fds[0]), "bpftrace-stdout"), os.NewFile(uintptr(fds[1]), "bpftrace-stdout-w"), nil
}

// Interrupt sends SIGINT to the process group: bpftrace runs its END probes,
// prints its maps and exits. A second SIGINT during teardown is ignored by
// bpftrace, so repeating it is harmless.
func (p *Process) Interrupt() error { return signalGroup(p.Pid, unix.SIGINT) }

// Idle reports whether bpftrace sits waiting for events: every thread of it
// asleep in epoll_wait. After a SIGINT, that means the signal was lost
// (bpftrace 0.17 can miss one that arrives while it starts or, rarely, while
// it runs), since a bpftrace that got it is tearing down probes or printing
// maps instead. Through sudo, the bpftrace process is sudo's child.
func (p *Process) Idle() bool {
	pid, ok := p.bpftracePid()
	if !ok {
		return false
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, t := range tasks {
		w, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/wchan", pid, t.Name()))
		if err != nil || strings.TrimSpace(string(w)) != "do_epoll_wait" {
			return false
		}
	}
	return true
}

// bpftracePid is the pid of bpftrace itself: through sudo, sudo's child.
func (p *Process) bpftracePid() (int, bool) {
	pid := p.Pid
	if !p.sudo {
		return pid, true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	pid, err = strconv.Atoi(f[0])
	return pid, err == nil
}

// Suspended reports whether bpftrace is stopped by a signal (SIGSTOP,
// SIGTSTP) or by a tracer: it then handles no SIGINT until it is
// continued, and a stop can only kill it.
func (p *Process) Suspended() bool {
	pid, ok := p.bpftracePid()
	if !ok {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which ends at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	switch b[i+2] {
	case 'T', 't':
		return true
	}
	return false
}

// Kill sends SIGKILL to the process group. The maps are lost.
func (p *Process) Kill() error { return signalGroup(p.Pid, unix.SIGKILL) }

func signalGroup(pgid int, sig syscall.Signal) error {
	err := unix.Kill(-pgid, sig)
	if errors.Is(err, unix.ESRCH) {
		return os.ErrProcessDone
	}
	if err != nil {
		return fmt.Errorf("send %s to process group %d: %w", unix.SignalName(sig), pgid, err)
	}
	return nil
}

// Wait waits for bpftrace to exit and then kills whatever is left of its
// process group (children of system() or -c), so that nothing outlives it.
func (p *Process) Wait() (ExitStatus, error) {
	err := p.cmd.Wait()
	_ = signalGroup(p.Pid, unix.SIGKILL)
	st := ExitStatus{Code: -1}
	if ps := p.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.Signal = ws.Signal()
		} else {
			st.Code = ps.ExitCode()
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			err = nil // a non-zero exit is reported in the status, not as a failure to wait
		}
	}
	return st, err
}

// CheckResult is the outcome of compiling a program without running it.
type CheckResult struct {
	Stderr Stderr
	Status ExitStatus
	Took   time.Duration
	// AST is bpftrace's own parse of the program, when this version's
	// check prints it ([Binary.PrintsParserAST]); ASTErr says why it is
	// nil otherwise.
	AST    *AST
	ASTErr error
}

// OK reports whether bpftrace accepted the program.
func (r *CheckResult) OK() bool {
	return r.Status.Code == 0 && !r.Status.Signaled() && len(r.Stderr.Errors()) == 0
}

// maxCheckStderr bounds what a check keeps of stderr; a verifier log can be
// megabytes long and only its head and tail say anything.
const maxCheckStderr = 256 << 10

// Check compiles program with [Binary.CheckArgs] and returns bpftrace's
// diagnostics. A program bpftrace rejects is not an error: the diagnostics
// say why. An error means bpftrace could not be run at all or ctx ended.
func (b *Binary) Check(ctx context.Context, program string, o RunOptions, env []string) (*CheckResult, error) {
	start := time.Now()
	stderr := &headtail.Buffer{Max: maxCheckStderr}
	// Before 0.22, -d prints the AST after each pass and the LLVM IR; only
	// the parser's AST is kept.
	var ast *astBuffer
	var stdout io.Writer = io.Discard
	if b.PrintsParserAST() {
		ast = newASTBuffer(parserASTHeader, nil)
		stdout = ast
	}
	st, err := b.runBounded(ctx, "compile check", b.CheckArgs(program, o), env, stdout, stderr)
	if err != nil {
		return nil, fmt.Errorf("check program: %w", err)
	}
	if b.Checks.withDefaults().MaxMemory > 0 && !st.Success() && outOfMemory(st, stderr.String()) {
		return nil, fmt.Errorf("check program: %w", b.memoryLimitError("compile check"))
	}
	res := &CheckResult{Stderr: ParseStderr(stderr.String()), Took: time.Since(start), ASTErr: ErrNoAST}
	if ast != nil {
		res.AST, res.ASTErr = ast.ast()
	}
	ws := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		res.Status = ExitStatus{Code: -1, Signal: ws.Signal()}
	} else {
		res.Status = ExitStatus{Code: ws.ExitStatus()}
	}
	return res, nil
}
