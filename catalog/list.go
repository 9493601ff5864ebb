package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// List returns the full names of the probes matching pattern, sorted.
//
// The pattern is a bpftrace glob (`*`, `?`, `[abc]`, `{a,b}`) matched against
// whole probe names such as "tracepoint:syscalls:sys_enter_openat"; `*`
// matches across ':'. When the pattern's first ':'-part is a probe type or
// alias ("t:sched:*"), only that type's probes are listed. Otherwise the
// pattern matches anywhere in the name ("syscalls:*open*", "*sleep*"), over
// every probe that can be listed without a target; "" lists them all.
//
// uprobe, uretprobe and usdt patterns name a binary or library:
// "uprobe:/bin/bash:read*", "uprobe:libc:malloc", "usdt:/usr/bin/python3:*".
// Without one the error wraps [ErrNeedsTarget]. A probe type this host
// cannot use gives an error wrapping [ErrUnavailable]; a missing tracefs one
// wrapping [ErrNoTracefs]. No match is an empty list and no error, except
// when the pattern's first part looks like a misspelled probe type
// ("kprob:vfs_read"): then the error wraps [ErrUnknownProvider].
func (c *Catalog) List(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, rest, ok := splitProvider(pattern)
	if !ok {
		return c.listEverywhere(ctx, pattern)
	}
	if rest == "" && p.name != "BEGIN" && p.name != "END" {
		rest = "*"
	}
	names, err := c.match(ctx, p, rest, true)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pattern, err)
	}
	return names, nil
}

// Expand returns the concrete probes one attach point resolves to, as
// bpftrace would attach them: aliases expanded, wildcards matched, uprobe
// targets resolved to paths. BEGIN, END, interval, profile, software,
// hardware and watchpoint points are returned as they are (with the probe
// type's full name). An attach point that matches nothing gives an error
// wrapping [ErrNotFound], an unknown probe type one wrapping
// [ErrUnknownProvider], a probe type this host cannot use one wrapping
// [ErrUnavailable].
func (c *Catalog) Expand(ctx context.Context, attachPoint string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, rest, err := requireProvider(attachPoint)
	if err != nil {
		return nil, fmt.Errorf("expand %s: %w", attachPoint, err)
	}
	names, err := c.match(ctx, p, rest, false)
	if err != nil {
		return nil, fmt.Errorf("expand %s: %w", attachPoint, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("expand %s: no probe matches: %w", attachPoint, ErrNotFound)
	}
	return names, nil
}

// match resolves rest (the attach point after "provider:") for provider p.
// listing relaxes it the way List promises: a uprobe without a function
// lists all functions, and timer types list their units.
func (c *Catalog) match(ctx context.Context, p *provider, rest string, listing bool) ([]string, error) {
	if p.name != "tracepoint" {
		if err := c.host().unavailable(p.name); err != nil {
			return nil, err
		}
	}
	switch p.name {
	case "uprobe", "uretprobe":
		return c.matchUprobe(ctx, p.name, rest, listing)
	case "usdt":
		return c.matchUSDT(ctx, rest, listing)
	case "watchpoint", "asyncwatchpoint":
		if listing {
			return nil, fmt.Errorf("%s needs an address: %s:0xADDR:LEN:MODE: %w", p.name, p.name, ErrNeedsTarget)
		}
		return []string{p.name + ":" + rest}, nil
	case "BEGIN", "END":
		if listing && rest != "" {
			return nil, nil
		}
		return []string{p.name}, nil
	case "interval", "profile", "software", "hardware":
		if !listing {
			return []string{p.name + ":" + rest}, nil
		}
	}
	if !listing && (p.name == "kprobe" || p.name == "kretprobe") && !hasWildcard(rest) && strings.Contains(rest, "+") {
		// kprobe:func+0x10 attaches at an offset: nothing to expand.
		return []string{p.name + ":" + rest}, nil
	}
	names, err := c.kernelNames(p.name)
	if err != nil {
		return nil, err
	}
	g, err := compileGlob(p.name + ":" + rest)
	if err != nil {
		return nil, err
	}
	return g.filter(names), nil
}

// matchUprobe handles uprobe:TARGET:FUNC, where FUNC may be a glob, an
// address (0x...) or func+offset.
func (c *Catalog) matchUprobe(ctx context.Context, prov, rest string, listing bool) ([]string, error) {
	target, fn, hasFn := strings.Cut(rest, ":")
	if target == "" || target == "*" {
		return nil, fmt.Errorf("%s needs a binary: %s:/path/to/bin:func: %w", prov, prov, ErrNeedsTarget)
	}
	if !hasFn || fn == "" {
		if !listing {
			return nil, fmt.Errorf("%s needs a function: %s:%s:FUNC: %w", prov, prov, target, ErrNeedsTarget)
		}
		fn = "*"
	}
	paths, err := c.resolveTarget(target)
	if err != nil {
		return nil, err
	}
	if !listing && !hasWildcard(fn) && (strings.Contains(fn, "+") || isAddress(fn)) {
		return []string{prov + ":" + paths[0] + ":" + fn}, nil
	}
	g, err := compileGlob(fn)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		syms, full, err := c.funcs(prov, path)
		if err != nil {
			if len(paths) > 1 {
				continue // one of several glob matches is not readable
			}
			return nil, err
		}
		if g.prefixOnly && g.prefix == "" {
			out = append(out, full...)
			continue
		}
		lo := sort.SearchStrings(syms, g.prefix)
		for i := lo; i < len(syms) && strings.HasPrefix(syms[i], g.prefix); i++ {
			if g.match(syms[i]) {
				out = append(out, full[i])
			}
		}
	}
	if len(paths) > 1 {
		sort.Strings(out)
	}
	return out, nil
}

// matchUSDT handles usdt:TARGET:PROVIDER:NAME and usdt:TARGET:NAME (any
// provider).
func (c *Catalog) matchUSDT(ctx context.Context, rest string, listing bool) ([]string, error) {
	target, probe, _ := strings.Cut(rest, ":")
	if target == "" || target == "*" {
		return nil, fmt.Errorf("usdt needs a binary: usdt:/path/to/bin:provider:name: %w", ErrNeedsTarget)
	}
	if probe == "" {
		if !listing {
			return nil, fmt.Errorf("usdt needs a probe name: usdt:%s:provider:name: %w", target, ErrNeedsTarget)
		}
		probe = "*"
	}
	if !strings.Contains(probe, ":") {
		probe = "*:" + probe
	}
	paths, err := c.resolveTarget(target)
	if err != nil {
		return nil, err
	}
	g, err := compileGlob(probe)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		probes, err := c.usdt(path)
		if err != nil {
			if len(paths) > 1 {
				continue
			}
			return nil, err
		}
		for _, p := range probes {
			if k := p.key(); g.match(k) {
				out = append(out, "usdt:"+path+":"+k)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func isAddress(s string) bool {
	if s == "" {
		return false
	}
	return s[0] >= '0' && s[0] <= '9'
}

// listEverywhere matches a provider-less pattern anywhere in the names of
// every probe listable without a target.
func (c *Catalog) listEverywhere(ctx context.Context, pattern string) ([]string, error) {
	g, err := compileGlob("*" + pattern + "*")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pattern, err)
	}
	h := c.host()
	var out []string
	for _, p := range providers {
		if !p.everywhere {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.name != "tracepoint" {
			if ok, _ := h.available(p.name); !ok {
				continue
			}
		}
		names, err := c.kernelNames(p.name)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", pattern, err)
		}
		if pattern == "" {
			out = append(out, names...)
			continue
		}
		for _, n := range names {
			if g.match(n) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		if head, ok := looksLikeProvider(pattern); ok {
			if near := nearestProvider(head); near != "" {
				return nil, fmt.Errorf("list %s: did you mean %s? %w", pattern, near, unknownProviderError(head))
			}
		}
	}
	return out, nil
}

// nearestProvider returns the probe type name within edit distance 2 of
// head, if any.
func nearestProvider(head string) string {
	best, bestD := "", 3
	for _, p := range providers {
		if d := levenshtein(strings.ToLower(head), strings.ToLower(p.name), bestD); d < bestD {
			best, bestD = p.name, d
		}
	}
	return best
}
