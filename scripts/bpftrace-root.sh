#!/bin/sh
# Builds, once, a Debian root filesystem holding another release's bpftrace,
# and a wrapper that runs it as if it were installed on this host.
#
#   scripts/bpftrace-root.sh SUITE      (trixie: 0.23.x, sid: 0.27.x)
#
# The root is kept under $BPFTRACE_MCP_CACHE (default /var/cache/bpftrace-mcp)
# between runs, so only the first run pays for debootstrap (a few minutes,
# about 400 MB). It prints the wrapper's path on stdout.
#
# The wrapper enters a private mount namespace before it bind-mounts /proc,
# /sys (recursively: tracefs and debugfs come along), /dev and /tmp into the
# root, so the mounts die with the process: nothing is left mounted on the
# host after a test, whatever way the test ends. It then execs chroot, which
# execs bpftrace: one process, so signals and the process group are the
# caller's own.
set -eu
suite=${1:?usage: bpftrace-root.sh SUITE}
cache=${BPFTRACE_MCP_CACHE:-/var/cache/bpftrace-mcp}
root=$cache/roots/$suite
wrapper=$cache/bin/bpftrace-$suite

if [ "$(id -u)" -ne 0 ]; then
	echo "bpftrace-root: building a root filesystem needs root" >&2
	exit 1
fi
if [ ! -x "$root/usr/bin/bpftrace" ]; then
	command -v debootstrap >/dev/null 2>&1 || {
		echo "bpftrace-root: installing debootstrap with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null ||
			{ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
				DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null; }
	}
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
	[ -n "$mirror" ] || { echo "bpftrace-root: cannot find Debian's archive in apt's sources" >&2; exit 1; }
	tmp=$root.tmp
	rm -rf "$tmp"
	mkdir -p "$(dirname "$root")"
	echo "bpftrace-root: debootstrap $suite into $root (first run only; a few minutes)" >&2
	debootstrap --variant=minbase --include=bpftrace "$suite" "$tmp" "$mirror" >"$cache/debootstrap-$suite.log" 2>&1 || {
		echo "bpftrace-root: debootstrap $suite failed; see $cache/debootstrap-$suite.log" >&2
		tail -5 "$cache/debootstrap-$suite.log" >&2
		exit 1
	}
	rm -rf "$root"
	mv "$tmp" "$root"
fi
mkdir -p "$cache/bin"
cat >"$wrapper.tmp" <<WRAP
#!/bin/sh
# bpftrace from Debian $suite, run from $root in a private mount namespace.
exec unshare --mount --propagation private /bin/sh -c '
r=\$0
mount --rbind /proc "\$r/proc" && mount --rbind /sys "\$r/sys" && mount --rbind /dev "\$r/dev" && mount --rbind /tmp "\$r/tmp" || exit 125
exec chroot "\$r" /usr/bin/bpftrace "\$@"' "$root" "\$@"
WRAP
chmod 0755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"
echo "$wrapper"
