#!/bin/sh
# Builds, once, a Debian root filesystem holding another release's bpftrace,
# and a wrapper that runs it as if it were installed on this host.
#
#   scripts/bpftrace-root.sh SUITE      (trixie: 0.23.x, sid: 0.27.x)
#
# The root is kept under $BPFTRACE_MCP_CACHE (default /var/cache/bpftrace-mcp)
# between runs, so only the first run pays for debootstrap (a few minutes,
# about 400 MB); later runs only check it. It prints the wrapper's path on
# stdout, and fails, saying why, when the root cannot be built or its
# bpftrace is not the release the test matrix expects of the suite.
#
# The wrapper enters a private mount namespace before it bind-mounts /proc,
# /sys (recursively: tracefs and debugfs come along), /dev and /tmp into the
# root, so the mounts die with the process: nothing is left mounted on the
# host after a test, whatever way the test ends. It then execs chroot, which
# execs bpftrace: one process, so signals, the process group and the
# command line (where the server puts its owner marker) are the caller's.
# Inside, paths resolve in the root, except under /tmp, which is the host's.
set -eu
suite=${1:?usage: bpftrace-root.sh SUITE (trixie or sid)}
cache=${BPFTRACE_MCP_CACHE:-/var/cache/bpftrace-mcp}
root=$cache/roots/$suite
wrapper=$cache/bin/bpftrace-$suite
log=$cache/debootstrap-$suite.log

fail() {
	echo "bpftrace-root: $suite: $*" >&2
	exit 1
}

# The release each suite must provide: the test matrix is named after these.
case $suite in
trixie) want=0.23 ;;
sid) want=0.27 ;;
*) fail "unknown suite; the matrix uses trixie (bpftrace 0.23) and sid (bpftrace 0.27)" ;;
esac

[ "$(id -u)" -eq 0 ] || fail "building and entering a root filesystem needs root; run as root"
for tool in unshare chroot mount flock; do
	command -v $tool >/dev/null 2>&1 || fail "needs $tool (util-linux, coreutils)"
done

mkdir -p "$cache/roots" "$cache/bin"
# One build per suite at a time: a second caller waits for the first and
# then finds the root built.
exec 9>"$cache/roots/.$suite.lock"
flock -w 1800 9 || fail "another build of this root has held $cache/roots/.$suite.lock for 30 minutes"

if [ ! -x "$root/usr/bin/bpftrace" ]; then
	command -v debootstrap >/dev/null 2>&1 || {
		echo "bpftrace-root: installing debootstrap with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null 2>&1 ||
			{ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
				DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null; } ||
			fail "cannot install debootstrap with apt-get"
	}
	# Debian's archive, as apt on this host reaches it (deb822 or one-line sources).
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
	[ -n "$mirror" ] || fail "cannot find Debian's archive in apt's sources (/etc/apt/sources.list*)"
	tmp=$root.tmp
	rm -rf "$tmp"
	echo "bpftrace-root: debootstrap $suite into $root (first run only; a few minutes, about 400 MB)" >&2
	if ! debootstrap --variant=minbase --include=bpftrace "$suite" "$tmp" "$mirror" >"$log" 2>&1; then
		tail -5 "$log" >&2
		rm -rf "$tmp"
		fail "debootstrap failed; its log is $log"
	fi
	[ -x "$tmp/usr/bin/bpftrace" ] || fail "debootstrap succeeded but installed no /usr/bin/bpftrace; see $log"
	# debootstrap leaves the archive's packages behind: 100 MB of no use.
	rm -rf "$tmp"/var/cache/apt/archives/*.deb
	rm -rf "$root"
	mv "$tmp" "$root"
fi

cat >"$wrapper.tmp" <<WRAP
#!/bin/sh
# bpftrace from Debian $suite, run from its root in a private mount namespace
# (written by scripts/bpftrace-root.sh; the line below names the root).
# bpftrace-mcp-root: $root
[ -x "$root/usr/bin/bpftrace" ] || { echo "bpftrace-$suite: $root is missing; run scripts/bpftrace-root.sh $suite" >&2; exit 127; }
exec unshare --mount --propagation private /bin/sh -c '
r=\$0
for d in proc sys dev tmp; do
	mount --rbind "/\$d" "\$r/\$d" || { echo "bpftrace-$suite: cannot bind-mount /\$d into \$r" >&2; exit 125; }
done
exec chroot "\$r" /usr/bin/bpftrace "\$@"' "$root" "\$@"
WRAP
chmod 0755 "$wrapper.tmp"

# The wrapper must run and report the release the matrix expects.
got=$("$wrapper.tmp" --version 2>&1) || fail "its bpftrace does not run: $got"
case $got in
*"v$want."*) ;;
*) fail "its bpftrace reports '$got', the matrix expects $want.x; the suite has moved on: rebuild with rm -rf $root, or update the versions in scripts/bpftrace-root.sh and the Makefile" ;;
esac
mv "$wrapper.tmp" "$wrapper"
echo "bpftrace-root: $suite: $got at $wrapper" >&2
echo "$wrapper"
