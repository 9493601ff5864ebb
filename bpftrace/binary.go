package bpftrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/version"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/headtail"
)

// ErrNotFound is returned by [Find] when no bpftrace binary can be located.
var ErrNotFound = errors.New("bpftrace not found")

// Binary is one installed bpftrace: where it is, which release it is, and
// what that release can do. It is safe for concurrent use.
type Binary struct {
	Path string
	// Version is the release; what it can do is in the version package's
	// table, asked through Version.Has.
	Version version.Version
	// Sudo runs bpftrace through `sudo -n` (a NOPASSWD rule), for a server
	// that is not root. See [Binary.UseSudo].
	Sudo bool
	// Checks bound every check (compile, dry run, --info); set them before
	// the first check.
	Checks CheckLimits

	infoOnce  sync.Mutex
	info      Info
	checkOnce sync.Once
	checkSem  chan struct{}
}

// searchDirs are tried after $PATH: services often run with a PATH that
// lacks the sbin directories, and Debian installs tools there.
var searchDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"}

// Find locates bpftrace (at path when it is not empty) and reads its version.
// It returns an error wrapping [ErrNotFound] with the install command when
// there is none.
func Find(ctx context.Context, path string) (*Binary, error) {
	p, err := lookPath(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("run %s --version: %w", p, err)
	}
	v, err := version.Parse(string(out))
	if err != nil {
		return nil, fmt.Errorf("read version of %s: %w", p, err)
	}
	return &Binary{Path: p, Version: v}, nil
}

func lookPath(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w at %s: %w", ErrNotFound, path, err)
		}
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath("bpftrace"); err == nil {
		return filepath.Abs(p)
	}
	for _, d := range searchDirs {
		p := filepath.Join(d, "bpftrace")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w in $PATH or %v: install it with `apt-get install -y bpftrace` or pass --bpftrace PATH", ErrNotFound, searchDirs)
}

// Info runs `bpftrace --info` once and caches what it printed. bpftrace
// prints it on stdout in some releases and on stderr in others.
func (b *Binary) Info(ctx context.Context) (Info, error) {
	b.infoOnce.Lock()
	defer b.infoOnce.Unlock()
	if b.info != nil {
		return b.info, nil
	}
	out := &headtail.Buffer{Max: maxCheckStderr}
	st, err := b.runBounded(ctx, "--info", []string{"--info"}, nil, out, out)
	if err == nil && !st.Success() {
		err = errors.New(st.String())
	}
	if err != nil {
		return nil, fmt.Errorf("run %s --info: %w: %s", b.Path, err, strings.TrimSpace(out.String()))
	}
	b.info = ParseInfo(out.String())
	return b.info, nil
}

// command returns the program and argv that run bpftrace with args.
func (b *Binary) command(args ...string) (string, []string) {
	if b.Sudo {
		return "sudo", append([]string{"-n", "--", b.Path}, args...)
	}
	return b.Path, args
}

// ErrSudo is returned by [Binary.UseSudo] when sudo cannot run bpftrace
// without a password.
var ErrSudo = errors.New("sudo -n cannot run bpftrace")

// UseSudo makes every later invocation go through `sudo -n`, after checking
// that sudo runs bpftrace without asking for a password. The server never
// asks for, stores or passes a password: -n makes sudo fail instead of
// prompting, and the error says how to add the NOPASSWD rule.
//
// Under sudo, bpftrace runs as root and this process may not signal it:
// SIGINT and SIGTERM reach it through sudo, which relays them, but a SIGKILL
// stops only sudo. A run that ignores SIGINT past its grace period may then
// outlive its server; the next server's sweep finds it by the owner marker
// in its command line.
func (b *Binary) UseSudo(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sudo", "-n", "--", b.Path, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w without a password (%v: %s): add a rule with `visudo -f /etc/sudoers.d/bpftrace-mcp`, e.g.\n  %s ALL=(root) NOPASSWD: %s",
			ErrSudo, err, bytes.TrimSpace(out), currentUser(), b.Path)
	}
	b.Sudo = true
	return nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "USER"
}
