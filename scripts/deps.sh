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
	# kernel-module tests: the module is built against Debian's cloud kernel and tested
	# by booting that kernel under QEMU
	qemu-system-x86 busybox-static cpio linux-image-cloud-amd64 linux-headers-cloud-amd64
)
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"
