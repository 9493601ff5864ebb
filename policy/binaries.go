package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bpftrace-mcp/bpftrace-mcp/lang"
	"github.com/bpftrace-mcp/bpftrace-mcp/realpath"
)

// Binary is one file a uprobe, uretprobe or usdt attach point's target
// resolves to.
type Binary struct {
	// Written is the path the probe index (and bpftrace) resolved the target
	// to before canonicalisation: the target itself when it is a path, the
	// library or executable found for a short name ("libc" →
	// /lib/x86_64-linux-gnu/libc.so.6).
	Written string
	realpath.File
}

// Binaries is what an attach point's target resolves to.
type Binaries struct {
	Files []Binary
	// Err says why the target could not be resolved to files; the policy
	// then refuses the attach point, since it cannot say what it would
	// trace.
	Err error
}

// TargetResolver turns the target of a uprobe or usdt attach point (a
// path, a glob of paths, a library or program name) into the paths
// bpftrace would use, as catalog.Catalog.ResolveTarget does.
type TargetResolver func(target string) ([]string, error)

// hasBinary reports whether an attach point's first part names a file.
func hasBinary(ap *lang.AttachPoint) bool {
	switch ap.Canonical {
	case "uprobe", "uretprobe", "usdt":
		return len(ap.Parts) > 0
	}
	return false
}

// ResolveBinaries canonicalises the binary of every uprobe, uretprobe and
// usdt attach point of prog: resolve finds the files bpftrace would use for
// its target (nil resolves only paths), and each is followed to its real
// file (see package realpath). base is the directory relative paths are
// resolved against (the server's working directory, which bpftrace
// inherits).
func ResolveBinaries(prog *lang.Program, resolve TargetResolver, base string) map[*lang.AttachPoint]Binaries {
	out := map[*lang.AttachPoint]Binaries{}
	for _, pr := range prog.Probes {
		for _, ap := range pr.AttachPoints {
			if !hasBinary(ap) {
				continue
			}
			out[ap] = resolveBinary(ap.Parts[0], resolve, base)
		}
	}
	return out
}

func resolveBinary(target string, resolve TargetResolver, base string) Binaries {
	var paths []string
	switch {
	case resolve != nil:
		ps, err := resolve(target)
		if err != nil {
			return Binaries{Err: err}
		}
		paths = ps
	case strings.Contains(target, "/") && !strings.ContainsAny(target, "*?[{"):
		paths = []string{target}
	default:
		return Binaries{Err: fmt.Errorf("%s: no resolver for a library name or pattern", target)}
	}
	var bs Binaries
	for _, p := range paths {
		f, err := realpath.Resolve(p, base)
		if err != nil {
			return Binaries{Err: err}
		}
		bs.Files = append(bs.Files, Binary{Written: p, File: f})
	}
	if len(bs.Files) == 0 {
		bs.Err = errors.New("no file")
	}
	return bs
}

// judgedNames returns the names the allow and deny rules judge for an
// attach point with a binary: each concrete probe with the binary's path
// replaced by its canonical path, and, for a file in another mount
// namespace, by its path there too. ok is false when a concrete probe
// does not name one of the resolved files. unexpanded says that names is
// the attach point as written (no probe index expanded it): the names are
// then made from the resolved files and the parts after the target.
func judgedNames(ap *lang.AttachPoint, names []string, unexpanded bool, bs Binaries) ([]string, bool) {
	var out []string
	if unexpanded {
		rest := strings.Join(ap.Parts[1:], ":")
		for _, b := range bs.Files {
			out = append(out, ap.Canonical+":"+b.Path+":"+rest)
			if b.Root != "" {
				out = append(out, ap.Canonical+":"+b.InRoot()+":"+rest)
			}
		}
		return out, len(bs.Files) > 0
	}
	for _, n := range names {
		found := false
		for _, b := range bs.Files {
			for _, prov := range []string{ap.Canonical, ap.Provider} {
				prefix := prov + ":" + b.Written + ":"
				if rest, ok := strings.CutPrefix(n, prefix); ok || n == prov+":"+b.Written {
					out = append(out, ap.Canonical+":"+b.Path+":"+rest)
					if b.Root != "" {
						out = append(out, ap.Canonical+":"+b.InRoot()+":"+rest)
					}
					found = true
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// alike returns name and, for a uprobe or uretprobe, the same probe with
// the other of the two: a rule written for one covers the other, since
// both attach at the function's entry in the same file.
func alike(name string) []string {
	if rest, ok := strings.CutPrefix(name, "uretprobe:"); ok {
		return []string{name, "uprobe:" + rest}
	}
	if rest, ok := strings.CutPrefix(name, "uprobe:"); ok {
		return []string{name, "uretprobe:" + rest}
	}
	return []string{name}
}

// matchAnyAlike is matchAny over a name and its alike names.
func matchAnyAlike(globs []string, name string) string {
	for _, n := range alike(name) {
		if g := matchAny(globs, n); g != "" {
			return g
		}
	}
	return ""
}

// attachSafe reports whether a canonical path can be written unquoted in an
// attach point, so that the rewritten program names it exactly.
func attachSafe(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/._+-@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// binaryProblem says why an attach point's binary cannot be judged, or "".
func binaryProblem(ap *lang.AttachPoint, bs Binaries, known, named bool) string {
	switch {
	case !known:
		return "was not resolved to a file"
	case bs.Err != nil:
		return "cannot be resolved to a file on disk (" + describeErr(bs.Err) + ")"
	case !named:
		return "is not the file its probes name"
	}
	for _, b := range bs.Files {
		if !attachSafe(b.Path) {
			return "resolves to a path that cannot be written in an attach point as it is (only letters, digits and / . _ + - @)"
		}
	}
	return ""
}

// binaryViolation is the refusal of an attach point whose binary cannot be
// judged.
func binaryViolation(ap *lang.AttachPoint, problem string) Violation {
	return Violation{Rule: RuleBinary, Pos: ap.Pos(), End: ap.End(),
		Message: fmt.Sprintf("the binary of %s %s, so the policy cannot judge what it would trace", ap.Raw, problem),
		Hint:    "name the binary by its real path (readlink -f shows it), or a library by its name (uprobe:libc:malloc)"}
}

// describeErr names what went wrong resolving a binary without quoting
// more than the error's own words (which name paths, never file bytes).
func describeErr(err error) string {
	for _, e := range []error{realpath.ErrUnresolvable, realpath.ErrLoop, realpath.ErrNotRegular, realpath.ErrBadPath} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return err.Error()
}

// CanonicalizeBinaries returns src with the binary of every uprobe,
// uretprobe and usdt attach point replaced by the canonical path it was
// judged on, so that bpftrace opens the file the policy judged rather than
// resolving the written path again (a symlink or a /proc link can change
// between the two). A target that resolved to several files (a glob)
// becomes one attach point per file. It parses the result again and checks
// that the attach points are exactly the ones expected.
func CanonicalizeBinaries(src string, prog *lang.Program, bins map[*lang.AttachPoint]Binaries) (string, error) {
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	var want []string
	for _, pr := range prog.Probes {
		for _, ap := range pr.AttachPoints {
			if !hasBinary(ap) {
				want = append(want, ap.Raw)
				continue
			}
			bs, ok := bins[ap]
			if !ok || bs.Err != nil || len(bs.Files) == 0 {
				return "", fmt.Errorf("%s: the binary was not resolved", ap.Raw)
			}
			tail := src[ap.PartExtents[0].To.Offset:ap.End().Offset]
			var aps []string
			for _, b := range bs.Files {
				if !attachSafe(b.Path) {
					return "", fmt.Errorf("%s: the canonical path %q cannot be written in an attach point", ap.Raw, b.Path)
				}
				aps = append(aps, ap.Canonical+":"+b.Path+tail)
			}
			want = append(want, aps...)
			edits = append(edits, edit{ap.Pos().Offset, ap.End().Offset, strings.Join(aps, ",")})
		}
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return b.from - a.from })
	out := src
	for _, e := range edits {
		out = out[:e.from] + e.text + out[e.to:]
	}
	got, err := lang.Parse("stdin", out)
	if err != nil {
		return "", fmt.Errorf("the program with canonical binaries does not parse: %w", err)
	}
	var have []string
	for _, pr := range got.Probes {
		for _, ap := range pr.AttachPoints {
			have = append(have, ap.Raw)
		}
	}
	if !slices.Equal(have, want) {
		return "", fmt.Errorf("the program with canonical binaries attaches %v, want %v", have, want)
	}
	return out, nil
}

// VerifyBinaries checks that every judged binary is still the file it was
// when it was judged: call it just before bpftrace starts, to narrow the
// window in which a file could be swapped.
func VerifyBinaries(bins map[*lang.AttachPoint]Binaries) error {
	for _, bs := range bins {
		for _, b := range bs.Files {
			if err := b.Verify(); err != nil {
				return err
			}
		}
	}
	return nil
}

// HasBinaries reports whether any attach point of prog names a binary (a
// uprobe, uretprobe or usdt).
func HasBinaries(prog *lang.Program) bool {
	for _, pr := range prog.Probes {
		if slices.ContainsFunc(pr.AttachPoints, hasBinary) {
			return true
		}
	}
	return false
}
