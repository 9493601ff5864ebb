#!/bin/sh
# Prepares this host for bpftrace-mcp: installs bpftrace when it is missing
# and mounts tracefs/debugfs when they are not mounted (a fresh VM may boot
# without them; bpftrace 0.17 reads /sys/kernel/debug/tracing).
# Everything it prints goes to stderr: `make run` serves MCP on stdout.
# With --test it also installs what only the tests need (sudo, for the test
# of running bpftrace through sudo -n).
set -eu
exec 1>&2

have_bpftrace() {
	command -v bpftrace >/dev/null 2>&1 || [ -x /usr/sbin/bpftrace ] || [ -x /usr/bin/bpftrace ]
}

if ! have_bpftrace; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: bpftrace is missing; install it as root: apt-get install -y bpftrace" >&2
		exit 1
	fi
	echo "setup: installing bpftrace with apt-get"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
fi

if [ "${1:-}" = "--test" ] && ! command -v sudo >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	echo "setup: installing sudo for the tests with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null; }
fi

if [ "$(id -u)" -eq 0 ]; then
	if [ ! -e /sys/kernel/tracing/available_events ]; then
		mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null &&
			echo "setup: mounted tracefs on /sys/kernel/tracing" || true
	fi
	if [ ! -e /sys/kernel/debug/tracing/available_events ]; then
		mount -t debugfs nodev /sys/kernel/debug 2>/dev/null &&
			echo "setup: mounted debugfs on /sys/kernel/debug" || true
	fi
fi
if [ ! -e /sys/kernel/tracing/available_events ] && [ ! -e /sys/kernel/debug/tracing/available_events ]; then
	echo "setup: warning: tracefs is not mounted, tracepoints will not be found; as root: mount -t tracefs nodev /sys/kernel/tracing" >&2
fi
