package bpftrace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CheckLimits bound every invocation of bpftrace that is a check rather
// than a run: a compile check or dry run, an AST dump, --info. A program
// can make bpftrace's compiler grow without end (nested unroll() expands
// to millions of statements), and a check runs for whoever may call
// validate_program, viewers included.
type CheckLimits struct {
	// Timeout is the wall-clock limit of one check; 0 means
	// DefaultCheckTimeout.
	Timeout time.Duration
	// MaxMemory is the address space (RLIMIT_AS) one check may map, in
	// bytes; 0 means DefaultCheckMemory, negative no limit. bpftrace 0.17
	// maps about 220 MB to compile a small program.
	MaxMemory int64
	// MaxConcurrent is how many checks run at once; more wait their turn
	// (as long as their request lasts). 0 means DefaultCheckConcurrency.
	MaxConcurrent int
}

// Defaults of [CheckLimits].
const (
	DefaultCheckTimeout     = 20 * time.Second
	DefaultCheckMemory      = 1 << 30
	DefaultCheckConcurrency = 2
)

func (l CheckLimits) withDefaults() CheckLimits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultCheckTimeout
	}
	if l.MaxMemory == 0 {
		l.MaxMemory = DefaultCheckMemory
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultCheckConcurrency
	}
	return l
}

// CheckLimitError is a check that bpftrace could not finish within a
// limit; the program was neither accepted nor refused.
type CheckLimitError struct {
	What  string // "compile check", "--info", ...
	Limit string // "time" or "memory"
	Value string // the limit, e.g. "20s" or "1024 MiB"
}

func (e *CheckLimitError) Error() string {
	return fmt.Sprintf("bpftrace's %s of this program exceeded its %s limit (%s) and was stopped: simplify the program "+
		"(fewer or smaller nested unroll() loops, fewer probes and wildcards, smaller struct definitions, shorter strings), "+
		"or ask the administrator to raise [checks] %s in the server's configuration",
		e.What, e.Limit, e.Value, map[string]string{"time": "timeout_seconds", "memory": "max_memory_bytes"}[e.Limit])
}

// checkSlots returns the semaphore that caps concurrent checks.
func (b *Binary) checkSlots() chan struct{} {
	b.checkOnce.Do(func() {
		b.checkSem = make(chan struct{}, b.Checks.withDefaults().MaxConcurrent)
	})
	return b.checkSem
}

// runBounded runs bpftrace with args as a check under [Binary.Checks]: it
// waits for a slot, then runs bpftrace in its own process group with a
// deadline and an address-space limit, and kills the whole group when the
// deadline passes, when ctx ends (the request was cancelled or its client
// went away), and once bpftrace has exited. A limit reached is a
// *CheckLimitError; ctx ending is ctx's error.
func (b *Binary) runBounded(ctx context.Context, what string, args, env []string, stdout, stderr io.Writer) (*os.ProcessState, error) {
	lim := b.Checks.withDefaults()
	slots := b.checkSlots()
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for a free check slot (%d at once): %w", what, lim.MaxConcurrent, context.Cause(ctx))
	}
	errTimeout := errors.New("check deadline")
	cctx, cancel := context.WithTimeoutCause(ctx, lim.Timeout, errTimeout)
	defer cancel()

	name, argv := b.command(args...)
	cmd := exec.CommandContext(cctx, name, argv...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	// The limit must be set on the child, and Go cannot set one between
	// fork and exec without cgo; right after exec is the next best: it
	// catches the growth, which comes from compiling, long after start.
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", what, b.Path, err)
	}
	pid := cmd.Process.Pid
	if lim.MaxMemory > 0 {
		rl := unix.Rlimit{Cur: uint64(lim.MaxMemory), Max: uint64(lim.MaxMemory)}
		// Under sudo, pid is sudo's (root's) and may not be limited by a
		// server that is not root; the time limit still holds.
		if err := unix.Prlimit(pid, unix.RLIMIT_AS, &rl, nil); err != nil && !b.Sudo {
			_ = signalGroup(pid, unix.SIGKILL)
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s: limit the memory of bpftrace (pid %d): %w", what, pid, err)
		}
	}
	err := cmd.Wait()
	// Whatever bpftrace started dies with it.
	_ = signalGroup(pid, unix.SIGKILL)
	if errors.Is(context.Cause(cctx), errTimeout) && ctx.Err() == nil {
		return nil, &CheckLimitError{What: what, Limit: "time", Value: lim.Timeout.String()}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("%s with %s: %w", what, b.Path, err)
	}
	return cmd.ProcessState, nil
}

// outOfMemory reports whether a check that ended with st and printed
// stderr ran out of address space: LLVM and the C++ runtime abort when an
// allocation fails.
func outOfMemory(st *os.ProcessState, stderr string) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return false
	}
	aborted := ws.Signaled() && (ws.Signal() == syscall.SIGABRT || ws.Signal() == syscall.SIGSEGV)
	for _, s := range []string{"out of memory", "std::bad_alloc", "Allocation failed", "Cannot allocate memory"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return aborted && strings.Contains(stderr, "LLVM ERROR")
}

// memoryLimitError is the error for a check that ran out of memory.
func (b *Binary) memoryLimitError(what string) error {
	return &CheckLimitError{What: what, Limit: "memory", Value: fmt.Sprintf("%d MiB", b.Checks.withDefaults().MaxMemory>>20)}
}
