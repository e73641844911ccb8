#!/bin/bash
# Implicit prefix directories, mkdir/rmdir persistence, directory rename, and readdir as SCAN
# over many keys (every key listed once, constant memory) while keys come and go.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
ctl set a/b/c 1 >/dev/null
m test -d "$MNT/a" || fail "implicit dir a"
m test -d "$MNT/a/b" || fail "implicit dir a/b"
expect_eq "$(m cat "$MNT/a/b/c")" 1 "key through implicit dirs"
m mkdir "$MNT/empty"
m test -d "$MNT/empty" || fail "mkdir"
expect_eq "$(m ls -A "$MNT/empty" | wc -l)" 0 "a new directory is empty"
m sh -c "echo x > '$MNT/empty/f'"
m rm "$MNT/empty/f"
m test -d "$MNT/empty" || fail "a directory survives its last file"
expect_err "Directory not empty" m rmdir "$MNT/a"
m rmdir "$MNT/empty"
expect_err "No such file" m stat "$MNT/empty"
m mkdir -p "$MNT/d1/sub"
m sh -c "echo 1 > '$MNT/d1/x'; echo 2 > '$MNT/d1/sub/y'"
m mv "$MNT/d1" "$MNT/d2"
expect_eq "$(m cat "$MNT/d2/x")$(m cat "$MNT/d2/sub/y")" 12 "directory rename moves every key"
expect_err "No such file" m stat "$MNT/d1"
expect_eq "$(ctl exists d2/sub/y)" 1 "renamed key in the engine"
# many keys: readdir lists each exactly once
# (set up with one MSET per 30 keys: a process per key made this test take minutes)
for s in $(seq 1 30 3000); do
	args=()
	for i in $(seq "$s" $((s + 29))); do args+=("big/k$i" v); done
	ctl mset "${args[@]}" >/dev/null || fail "mset big/k$s.."
done
expect_eq "$(m ls "$MNT/big" | wc -l)" 3000 "readdir of 3000 keys"
expect_eq "$(m ls "$MNT/big" | sort -u | wc -l)" 3000 "no duplicates"
# keys removed during a listing never appear twice, present ones always appear
( for i in $(seq 1 500); do ctl del "big/k$i" >/dev/null; done ) &
DEL=$!
n=$(m ls -f "$MNT/big" | grep -c '^k')
wait $DEL
[ "$n" -ge 2500 ] && [ "$n" -le 3000 ] || fail "listing during deletes: $n"
expect_eq "$(m ls "$MNT/big" | wc -l)" 2500 "after deletes"
# mkdir'd directories survive a remount
m mkdir "$MNT/kept"
hkv_umount
hkv_mount
m test -d "$MNT/kept" || fail "mkdir persisted"
echo ok
