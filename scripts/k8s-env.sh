#!/bin/sh
# Prepares, once, a real Kubernetes control plane for the fleet tests:
# kube-apiserver built from the k8s.io/kubernetes module at a pinned release
# (its ./staging replace lines pointed at the published k8s.io modules of the
# same release), and etcd from Debian 13's etcd-server package. Both are kept
# under $BPFTRACE_MCP_CACHE/k8s (default /var/cache/bpftrace-mcp/k8s), so
# only the first run pays: about 25 minutes of compiling on 2 cores.
#
# Prints two lines on stdout: KUBE_APISERVER=path and ETCD=path.
set -eu
ver=${K8S_VERSION:-1.37.2}
sver=0.${ver#1.}
cache=${BPFTRACE_MCP_CACHE:-/var/cache/bpftrace-mcp}/k8s
apiserver=$cache/kube-apiserver-v$ver
etcd=$cache/etcd/usr/bin/etcd
mkdir -p "$cache"
exec 3>&1 1>&2

if [ ! -x "$etcd" ]; then
	echo "k8s-env: fetching etcd from Debian 13 (trixie)"
	apt=$cache/apt
	rm -rf "$apt" && mkdir -p "$apt/lists/partial" "$apt/sources"
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || { echo "k8s-env: cannot find Debian's archive in apt's sources" >&2; exit 1; }
	printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" >"$apt/sources/trixie.sources"
	# A private list directory: the host's apt state is not touched.
	set -- -o Dir::State::Lists="$apt/lists" -o Dir::Etc::sourcelist=/dev/null \
		-o Dir::Etc::sourceparts="$apt/sources" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		-o APT::Sandbox::User=root
	apt-get "$@" update -qq
	(cd "$apt" && apt-get "$@" download etcd-server >/dev/null)
	rm -rf "$cache/etcd"
	dpkg-deb -x "$apt"/etcd-server_*.deb "$cache/etcd"
	rm -rf "$apt"
	"$etcd" --version | head -1
fi

if [ ! -x "$apiserver" ]; then
	echo "k8s-env: building kube-apiserver v$ver (first run only: about 25 minutes on 2 cores)"
	dir=$(go mod download -json "k8s.io/kubernetes@v$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$dir" ] || { echo "k8s-env: could not download k8s.io/kubernetes@v$ver" >&2; exit 1; }
	src=$cache/src-v$ver
	rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
	cd "$src"
	rm -rf vendor go.work go.work.sum
	sed -E -i "s#^(\s*)(k8s.io/[a-z0-9-]+) => \./staging/src/k8s.io/[a-z0-9-]+#\1\2 => \2 v$sver#" go.mod
	# The module proxy answers slowly at times: a download that timed out
	# is tried again (what was fetched stays in the module cache).
	for try in 1 2 3; do
		GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$apiserver.tmp" ./cmd/kube-apiserver && break
		[ "$try" = 3 ] && { echo "k8s-env: building kube-apiserver failed three times" >&2; exit 1; }
		echo "k8s-env: build failed (try $try of 3); trying again" >&2
	done
	mv "$apiserver.tmp" "$apiserver"
	cd / && rm -rf "$src"
fi
echo "KUBE_APISERVER=$apiserver" >&3
echo "ETCD=$etcd" >&3
