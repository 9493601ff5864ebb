package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a bpftrace release number. The zero value means unknown.
type Version struct {
	Major, Minor, Patch int
}

// ErrMalformed is returned when a version string cannot be understood.
var ErrMalformed = errors.New("malformed bpftrace version")

// Parse reads the version out of `bpftrace --version` output
// ("bpftrace v0.17.0"), a Debian package version ("0.23.2-1"), or a bare
// "0.22" tag. Pre-release suffixes ("-rc1", "+git") are ignored: feature
// gates are per minor release.
func Parse(s string) (Version, error) {
	s = strings.TrimSpace(s)
	if f := strings.Fields(s); len(f) > 0 {
		s = f[len(f)-1]
	}
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexAny(s, "-+~ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("%w: %q", ErrMalformed, s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("%w: %q", ErrMalformed, s)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

// minor is the release 0.N.0, the form every entry of the table uses.
func minor(n int) Version { return Version{0, n, 0} }

// String prints the version as 0.23.2.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Short prints the version as 0.23, the form release notes use.
func (v Version) Short() string {
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// IsZero reports whether the version is unknown.
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or +1 as v is older than, equal to, or newer than o.
func (v Version) Compare(o Version) int {
	for _, d := range [3]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

// AtLeast reports whether v is the release named by min ("0.22") or newer.
// A malformed min is treated as never satisfied.
func (v Version) AtLeast(min string) bool {
	m, err := Parse(min)
	return err == nil && v.Compare(m) >= 0
}

// Within reports whether v lies in [since, until): the form in which the
// docs package tags builtins. An empty since means "always", an empty until
// means "still present".
func (v Version) Within(since, until string) bool {
	if since != "" && !v.AtLeast(since) {
		return false
	}
	if until != "" && v.AtLeast(until) {
		return false
	}
	return true
}
