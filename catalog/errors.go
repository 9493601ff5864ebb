package catalog

import "errors"

var (
	// ErrNotFound means no probe (or no uprobe/usdt target) matches.
	ErrNotFound = errors.New("probe not found")

	// ErrNoTracefs means tracefs is not mounted where bpftrace looks for it.
	ErrNoTracefs = errors.New("tracefs is not mounted: mount it with `mount -t tracefs nodev /sys/kernel/tracing` " +
		"(and `mount -t debugfs nodev /sys/kernel/debug` for bpftrace versions that read /sys/kernel/debug/tracing)")

	// ErrNeedsTarget means a uprobe, uretprobe, usdt or watchpoint pattern
	// lacks the binary or address it must name.
	ErrNeedsTarget = errors.New("probe type needs a target")

	// ErrUnknownProvider means the first part of an attach point is not a
	// probe type; the error's text lists the valid ones.
	ErrUnknownProvider = errors.New("unknown probe provider")

	// ErrUnavailable means the probe type cannot be used on this host; the
	// error's text says why (see also [Catalog.ProbeTypes]).
	ErrUnavailable = errors.New("probe type unavailable on this host")

	// ErrNotELF means a uprobe or usdt target is not an ELF file (or one
	// too damaged to read). Its errors never quote the file: a discovery
	// tool must not echo the bytes of /etc/shadow.
	ErrNotELF = errors.New("not an ELF binary")

	// ErrAmbiguous means a pattern given where one probe is needed matches
	// several.
	ErrAmbiguous = errors.New("pattern matches more than one probe")
)
