#!/usr/bin/env bash
# Install what hkvfs needs to build and test on Debian 12, from Debian's packages only.
set -euo pipefail
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	build-essential cmake pkg-config git
	liblmdb-dev lmdb-utils zlib1g-dev liburcu-dev libfuse3-dev fuse3 libcmocka-dev
	attr util-linux procps psmisc kmod python3
	# pjdfstest (tests/conformance): built from its source with autotools, run with prove
	autoconf automake perl
	# hkv-server's tests (tests/server): real Redis clients, and tclsh for Redis's own suite
	redis-tools python3-redis tcl
	# hkv-remote's tests (tests/remote): a real Redis Cluster on loopback
	redis-server
	# hkv-server's scripting (EVAL): Lua 5.1 as Redis, with its cjson and bit libraries
	liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
	# kernel-module tests: the module is built against Debian's cloud kernel and tested
	# by booting that kernel under QEMU
	qemu-system-x86 busybox-static cpio linux-image-cloud-amd64 linux-headers-cloud-amd64
	# the module's static checker (make -C kmod C=1)
	sparse
)
# The module is also tested on the 6.12 cloud kernel of bookworm-backports. That suite is
# added pinned at priority 100, so nothing installed from the main suites is ever upgraded
# from it; only the versioned 6.12 image and headers are installed from it, by name, leaving
# the 6.1 metapackages (and the host's kernel) as they are.
bpo_list=/etc/apt/sources.list.d/hkvfs-bookworm-backports.sources
bpo_pref=/etc/apt/preferences.d/hkvfs-bookworm-backports
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list \
	/etc/apt/sources.list.d/; then
	printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
		'Suites: bookworm-backports' 'Components: main' \
		'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
		$SUDO tee "$bpo_list" >/dev/null
fi
if [ ! -e "$bpo_pref" ]; then
	printf '%s\n' 'Package: *' 'Pin: release n=bookworm-backports' 'Pin-Priority: 100' |
		$SUDO tee "$bpo_pref" >/dev/null
fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"
bpo_kernel=()
for meta in linux-image-cloud-amd64 linux-headers-cloud-amd64; do
	dep=$(apt-cache depends "$meta/bookworm-backports" |
		awk '$1 == "Depends:" && $2 ~ /^linux-(image|headers)-6\.12/ { print $2; exit }')
	[ -n "$dep" ] || { echo "deps.sh: no 6.12 $meta in bookworm-backports" >&2; exit 1; }
	bpo_kernel+=("$dep")
done
$SUDO apt-get install -y --no-install-recommends -t bookworm-backports "${bpo_kernel[@]}"
