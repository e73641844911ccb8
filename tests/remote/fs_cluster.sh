#!/usr/bin/env bash
# fs_cluster: hkvfs mounted on a 3-master + 3-replica Redis Cluster (ports 7230..7235).
#  - listing: 300 keys under one prefix, spread over the three masters, listed exactly once
#    each, with subdirectories rolled up once; the listing agrees with a SCAN of every node;
#  - the side hash lives in the key's slot (CLUSTER KEYSLOT of both names agree);
#  - rename within a slot (hash tags) and across slots: value, mode, owner, xattrs and TTL
#    carried, the source gone; a collection across slots; a directory of keys in many slots;
#  - RENAME_NOREPLACE semantics across slots (mv -n keeps the destination).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
start_cluster 7230
M=$WORK/mnt1
rmount 1

masters() { rcli CLUSTER NODES | awk '$3 ~ /master/ {split($2, a, "[:@]"); print a[2]}'; }
# every key of the cluster matching PATTERN (SCAN on each master)
all_keys() {
	local p
	for p in $(masters); do
		timeout "$T" redis-cli -p "$p" --scan --pattern "$1"
	done
}

# --- listing across masters --------------------------------------------------------------------
mkdir "$M/big"
for i in $(seq 1 300); do echo "$i" >"$M/big/k$i"; done
for i in 1 2 3; do
	mkdir "$M/big/sub$i"
	echo x >"$M/big/sub$i/f"
done
rcli SET big/sub1/g y >/dev/null
rcli SET big/sub1/h z >/dev/null
per_master=$(for p in $(masters); do timeout "$T" redis-cli -p "$p" --scan --pattern 'big/*' | wc -l; done)
for n in $per_master; do [ "$n" -gt 0 ] || fail "a master holds none of big/*: $per_master"; done
expect_eq "$(echo "$per_master" | wc -l)" 3 "masters"
listing=$(ls -f "$M/big" | grep -v '^\.\.\?$' | sort)
expect_eq "$(echo "$listing" | wc -l)" 303 "entries of big/ (300 keys, 3 subdirectories)"
expect_eq "$(echo "$listing" | sort -u | wc -l)" 303 "entries listed twice"
expect_eq "$(echo "$listing" | grep -c '^k')" 300
want=$(all_keys 'big/k*' | sed 's|^big/||' | sort)
expect_eq "$(echo "$listing" | grep '^k')" "$want" "listing vs SCAN of every master"
expect_eq "$(ls "$M/big/sub1" | paste -sd,)" f,g,h

# a listing longer than one getdents buffer (32 KiB: about 1000 names) resumes exactly
seq 1 3000 | sed 's|.*|SET many/entry-number-& x|' | timeout 60 redis-cli -c -p $PORT0 >/dev/null
many=$(ls -f "$M/many" | grep -v '^\.\.\?$' | sort)
expect_eq "$(echo "$many" | wc -l)" 3000 "entries of many/"
expect_eq "$(echo "$many" | sort -u | wc -l)" 3000 "distinct entries of many/"

# --- the side hash is in the key's slot -----------------------------------------------------------
echo braces >"$M/a{b}c"
echo braces >"$M/{}x"
for k in big/k1 big/k2 big/k77 big/sub2/f 'a{b}c' '{}x'; do
	meta=$(meta_of "$k")
	[ -n "$meta" ] || fail "no side hash for $k"
	expect_eq "$(keyslot "$meta")" "$(keyslot "$k")" "slot of $meta"
done

# --- rename within one slot ------------------------------------------------------------------------
echo tagged >"$M/{u1}a"
chmod 640 "$M/{u1}a"
mv "$M/{u1}a" "$M/{u1}b"
expect_eq "$(rcli GET '{u1}b')" tagged
expect_eq "$(rcli EXISTS '{u1}a')" 0
expect_eq "$(stat -c %a "$M/{u1}b")" 640

# --- rename across slots: everything comes along ---------------------------------------------------
src=ren-src
dst=ren-dst-1
[ "$(keyslot $src)" != "$(keyslot $dst)" ] || fail "test keys share a slot"
echo moved >"$M/$src"
chmod 604 "$M/$src"
chown 42:43 "$M/$src"
setfattr -n user.note -v kept "$M/$src"
setfattr -n user.hkv.ttl -v 500 "$M/$src"
mv "$M/$src" "$M/$dst"
expect_eq "$(rcli GET $dst)" moved
expect_eq "$(rcli EXISTS $src)" 0
[ -z "$(meta_of $src)" ] || fail "source metadata left behind"
expect_eq "$(stat -c %a:%u:%g "$M/$dst")" 604:42:43
expect_eq "$(getfattr --only-values -n user.note "$M/$dst")" kept
ttl=$(rcli PTTL $dst)
[ "$ttl" -gt 400000 ] && [ "$ttl" -le 500000 ] || fail "TTL after a cross-slot rename: $ttl"
mttl=$(rcli PTTL "$(meta_of $dst)")
[ "$mttl" -gt 400000 ] || fail "side hash TTL after a cross-slot rename: $mttl"
stat "$M/$src" >/dev/null 2>&1 && fail "the source name still resolves"

# a hash across slots
rcli HSET hsrc f1 v1 f2 v2 >/dev/null
[ "$(keyslot hsrc)" != "$(keyslot hdst)" ] || fail "hsrc and hdst share a slot"
mv "$M/hsrc" "$M/hdst"
expect_eq "$(rcli HGETALL hdst | paste -sd,)" "$(printf 'f1\nv1\nf2\nv2' | paste -sd,)"
expect_eq "$(rcli EXISTS hsrc)" 0

# mv -n across slots keeps an existing destination
echo one >"$M/nx-a"
echo two >"$M/nx-b"
[ "$(keyslot nx-a)" != "$(keyslot nx-b)" ] || fail "nx-a and nx-b share a slot"
mv -n "$M/nx-a" "$M/nx-b" || true
expect_eq "$(rcli GET nx-b)" two "mv -n replaced the destination"
expect_eq "$(rcli GET nx-a)" one

# --- a directory of keys in many slots ---------------------------------------------------------------
mv "$M/big" "$M/big2"
expect_eq "$(all_keys 'big/*' | wc -l)" 0 "keys left under the old prefix"
expect_eq "$(all_keys 'big2/k*' | wc -l)" 300
expect_eq "$(cat "$M/big2/k123")" 123
expect_eq "$(ls "$M/big2/sub1" | paste -sd,)" f,g,h
echo PASS
