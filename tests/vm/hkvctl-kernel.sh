#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hkvctl-kernel.sh - `hkvctl kernel` verbs against a loaded hkv.ko, inside the
# test VM (busybox sh).  Exits non-zero at the first failed check.
K=hkvctl-kernel
fail() { echo "hkvctl-kernel.sh: FAIL: $*" >&2; exit 1; }
expect_rc() { want=$1; shift; "$@" >/tmp/k.out 2>/tmp/k.err; rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, want $want: $(cat /tmp/k.err)"; }

expect_rc 0 $K --help
grep -q '^Usage: hkvctl kernel' /tmp/k.out || fail "help text"
expect_rc 2 $K
expect_rc 2 $K frobnicate
expect_rc 2 $K put onlykey
expect_rc 2 $K put k v --mode 8
expect_rc 2 $K put k v --ttl 5 --expire-at 99
expect_rc 2 $K policy mru
expect_rc 1 $K --device /nonexistent stat
grep -q 'is hkv.ko loaded' /tmp/k.err || fail "missing-device hint"

expect_rc 0 $K clear
expect_rc 0 $K put greeting "hello world" --mode 0640 --uid 5 --gid 6 --version 3
expect_rc 0 $K get greeting
[ "$(cat /tmp/k.out)" = "hello world" ] || fail "get value"
expect_rc 0 $K cat greeting
[ "$(cat /tmp/k.out)" = "hello world" ] || fail "cat value"
expect_rc 0 $K get greeting --meta
grep -qx 'mode: 0640' /tmp/k.out && grep -qx 'uid: 5' /tmp/k.out &&
	grep -qx 'gid: 6' /tmp/k.out && grep -qx 'version: 3' /tmp/k.out &&
	grep -qx 'length: 11' /tmp/k.out || fail "meta: $(cat /tmp/k.out)"
expect_rc 1 $K --ns 2 get greeting
grep -q 'not cached' /tmp/k.err || fail "miss message"
echo piped | expect_rc 0 $K --ns 2 put fromstdin -
expect_rc 0 $K --ns 2 get fromstdin
[ "$(cat /tmp/k.out)" = "piped" ] || fail "stdin value"
expect_rc 0 $K put -- -dash "-v"
expect_rc 0 $K get -- -dash
[ "$(cat /tmp/k.out)" = "-v" ] || fail "dash key"
expect_rc 0 $K put short v --ttl 3600
expect_rc 0 $K get short --meta
grep -q '^expire_ms: [1-9]' /tmp/k.out || fail "ttl"
expect_rc 0 $K put stamped v --mtime-ns 1700000000000000042
expect_rc 0 $K get stamped --meta
grep -qx 'mtime_ns: 1700000000000000042' /tmp/k.out || fail "mtime: $(cat /tmp/k.out)"
expect_rc 2 $K put stamped v --mtime-ns soon
expect_rc 0 $K del stamped

tombs0=$(cat /sys/kernel/hkv/tombstones)
expect_rc 0 $K del greeting --version 3
expect_rc 1 $K get greeting
expect_rc 1 $K put greeting old --version 2
grep -q 'Stale' /tmp/k.err || fail "stale message: $(cat /tmp/k.err)"
expect_rc 0 $K put greeting new --version 4
expect_rc 1 $K del nothing

expect_rc 0 $K stat
grep -qx 'items: 4' /tmp/k.out || fail "items: $(cat /tmp/k.out)"
grep -qx "tombstones: $((tombs0 + 1))" /tmp/k.out || fail "tombstones"
expect_rc 0 $K policy fifo
grep -q '^fifo (was ' /tmp/k.out || fail "policy set"
expect_rc 0 $K policy
[ "$(cat /tmp/k.out)" = fifo ] || fail "policy show"
[ "$(cat /sys/kernel/hkv/policy)" = fifo ] || fail "sysfs policy"

expect_rc 0 $K clear --ns 2
grep -qx 'removed: 1' /tmp/k.out || fail "clear ns"
expect_rc 0 $K clear
grep -qx 'removed: 3' /tmp/k.out || fail "clear all"

# Unprivileged: reads allowed by mode, writes refused.
expect_rc 0 $K put public pub --mode 0644 --uid 0
expect_rc 0 $K put private priv --mode 0600 --uid 0
expect_rc 0 hkv_vm_test runas 1000 1000 $K get public
[ "$(cat /tmp/k.out)" = pub ] || fail "unprivileged get"
expect_rc 1 hkv_vm_test runas 1000 1000 $K get private
grep -q 'Permission denied' /tmp/k.err || fail "EACCES message"
expect_rc 1 hkv_vm_test runas 1000 1000 $K put x y
grep -q 'CAP_SYS_ADMIN' /tmp/k.err || fail "EPERM hint"
expect_rc 0 $K clear
echo "hkvctl-kernel.sh: all checks passed"
