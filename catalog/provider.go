package catalog

import (
	"fmt"
	"strings"
)

// Stability says how long a probe's name and arguments can be relied on.
type Stability string

const (
	// Stable probes are kernel or perf ABI: tracepoints, perf events, timers.
	Stable Stability = "stable"
	// Unstable probes name kernel internals that change between releases.
	Unstable Stability = "unstable"
	// BinarySpecific probes exist only in one build of one binary.
	BinarySpecific Stability = "binary-specific"
)

// provider describes one probe type as bpftrace 0.17 spells it, with the
// aliases later releases added.
type provider struct {
	name      string
	aliases   []string
	stability Stability
	// target: the type names a binary (uprobe, usdt) or an address
	// (watchpoint) that listing cannot guess.
	target bool
	// everywhere: its names are part of a listing without a provider.
	everywhere bool
}

// providers is in the order ProbeTypes reports them.
var providers = []provider{
	{name: "tracepoint", aliases: []string{"t"}, stability: Stable, everywhere: true},
	{name: "rawtracepoint", aliases: []string{"rt"}, stability: Unstable},
	{name: "kprobe", aliases: []string{"k"}, stability: Unstable, everywhere: true},
	{name: "kretprobe", aliases: []string{"kr"}, stability: Unstable},
	{name: "kfunc", aliases: []string{"f", "fentry"}, stability: Unstable, everywhere: true},
	{name: "kretfunc", aliases: []string{"fr", "fexit"}, stability: Unstable},
	{name: "iter", aliases: []string{"it"}, stability: Unstable, everywhere: true},
	{name: "uprobe", aliases: []string{"u"}, stability: BinarySpecific, target: true},
	{name: "uretprobe", aliases: []string{"ur"}, stability: BinarySpecific, target: true},
	{name: "usdt", aliases: []string{"U"}, stability: BinarySpecific, target: true},
	{name: "software", aliases: []string{"s"}, stability: Stable, everywhere: true},
	{name: "hardware", aliases: []string{"h"}, stability: Stable, everywhere: true},
	{name: "profile", aliases: []string{"p"}, stability: Stable},
	{name: "interval", aliases: []string{"i"}, stability: Stable},
	{name: "watchpoint", aliases: []string{"w"}, stability: Stable, target: true},
	{name: "asyncwatchpoint", aliases: []string{"aw"}, stability: Stable, target: true},
	{name: "BEGIN", stability: Stable},
	{name: "END", stability: Stable},
}

// lookupProvider maps a provider name or alias to its canonical entry.
// Names are case-sensitive, as in bpftrace 0.17 (`U` is usdt, `u` uprobe).
func lookupProvider(name string) (*provider, bool) {
	for i := range providers {
		p := &providers[i]
		if p.name == name {
			return p, true
		}
		for _, a := range p.aliases {
			if a == name {
				return p, true
			}
		}
	}
	return nil, false
}

// splitProvider splits an attach point or pattern at its first ':' and
// resolves the head as a provider. BEGIN and END stand alone.
func splitProvider(s string) (p *provider, rest string, ok bool) {
	head, rest, found := strings.Cut(s, ":")
	if !found {
		if s == "BEGIN" || s == "END" {
			p, _ := lookupProvider(s)
			return p, "", true
		}
		return nil, s, false
	}
	p, ok = lookupProvider(head)
	if !ok {
		return nil, s, false
	}
	return p, rest, true
}

// providerList renders the valid providers for error messages.
func providerList() string {
	var b strings.Builder
	for i, p := range providers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.name)
		if len(p.aliases) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(p.aliases, ", "))
		}
	}
	return b.String()
}

func unknownProviderError(head string) error {
	return fmt.Errorf("%q is not a probe type; valid: %s: %w", head, providerList(), ErrUnknownProvider)
}

// requireProvider is splitProvider for places where an attach point must
// name its probe type.
func requireProvider(s string) (*provider, string, error) {
	p, rest, ok := splitProvider(s)
	if !ok {
		head, _, _ := strings.Cut(s, ":")
		return nil, "", unknownProviderError(head)
	}
	return p, rest, nil
}

// looksLikeProvider reports whether a pattern's head could have been meant
// as a probe type: a bare word followed by ':', as in "kprob:vfs_read".
func looksLikeProvider(pattern string) (string, bool) {
	head, _, found := strings.Cut(pattern, ":")
	if !found || head == "" {
		return "", false
	}
	for i := 0; i < len(head); i++ {
		c := head[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", false
		}
	}
	return head, true
}
