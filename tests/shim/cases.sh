# The fall-through cases, run against one directory (a tmpfs, a plain directory or an hkvfs
# mount) holding the data set of populate(); sourced after lib.sh.
#
# shim_cases D REF: D is the directory under test, REF a plain copy of the same data set
# (expected contents). Every program the hot path is meant for is run both ways: coreutils
# cat (open, fstat, fadvise, read, copy_file_range to a regular stdout, plain read into a
# pipe), head -c, dd (dup2 of the input), shell `<` redirection (bash and dash), python3,
# fopen + fgets, fstat after open, cp, relative paths from a working directory inside D,
# openat with a directory descriptor, write-mode opens, missing files and a multi-threaded,
# fork()ing reader.
shim_cases() {
	local d=$1 ref=$2 f
	local files="empty one k64 text bin4096 big sub/dir/leaf"

	for f in $files "sp ace" "pct%25x"; do
		same_out "cat $f" "$d" "$ref/$f" cat "$f"
		same_out "cat (abs) $f" / "$ref/$f" cat "$d/$f"
		same_out "cat into a pipe $f" "$d" "$ref/$f" sh -c 'cat "$1" | cat' _ "$f"
		same "head -c 10 $f" "$d" head -c 10 "$f"
		same "head -c 5000 $f" "$d" head -c 5000 "$f"
		same "dd $f" "$d" dd if="$f" bs=7 count=5 status=noxfer
		same "dd skip $f" "$d" dd if="$f" bs=1000 skip=1 status=noxfer
		same_out "bash < $f" "$d" "$ref/$f" bash -c 'cat <"$1"' _ "$f"
		same_out "dash < $f" "$d" "$ref/$f" sh -c 'exec cat <"$1"' _ "$f"
		same "fstat $f" "$d" "$PROBE" fstatid "$f"
		same "flags $f" "$d" "$PROBE" flags "$f"
		same "mmap $f" "$d" "$PROBE" mmap "$f"
		same "statall $f" "$d" "$PROBE" statall "$f"
	done
	# what a program can learn about an open descriptor: coreutils stat of stdin (statx with
	# AT_EMPTY_PATH), stat -f of /dev/stdin (statfs through the /proc link), python3's
	# os.fstat and os.fstatvfs
	for f in k64 sub/dir/leaf; do
		same "stat - <$f" "$d" sh -c 'exec stat - <"$1"' _ "$f"
		same "stat -f /dev/stdin <$f" "$d" sh -c 'exec stat -f -c "%t %T %s %S %l %i" /dev/stdin <"$1"' _ "$f"
		if [ -n "$PY" ] && [ "$f" = k64 ]; then
			same "python3 os.fstat $f" "$d" "$PY" -c 'import os, sys
f = open(sys.argv[1], "rb")
st = os.fstat(f.fileno())
print(st, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
v = os.fstatvfs(f.fileno())
print(v.f_bsize, v.f_frsize, v.f_flag, v.f_namemax, v.f_fsid)' "$f"
		fi
	done
	same "opens in a signal handler" "$d" "$PROBE" sigopen k64 500
	same "head -n 3" "$d" head -n 3 text
	same "bash read" "$d" bash -c 'while read -r l; do echo "<$l>"; done <"$1"' _ text
	same "bash \$(<)" "$d" bash -c 'x=$(<"$1"); echo "${#x}"' _ text
	same "cat several" "$d" cat one k64 text empty
	same_out "fgets" "$d" "$ref/text" "$PROBE" fgets text
	same "fgets several" "$d" "$PROBE" fgets k64 "sp ace" text
	if [ -n "$PY" ]; then
		same_out "python3 text" "$d" "$ref/text" "$PY" -c \
			'import sys; print(open(sys.argv[1]).read(), end="")' text
		same_out "python3 bytes" "$d" "$ref/big" "$PY" -c \
			'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read())' big
		same_fails "python3 missing" "$d" "$PY" -c 'open("missing").read()'
	fi

	# cp: copy_file_range / read+write into a plain directory, byte for byte
	for f in k64 big; do
		rm -f "$OUT/cp.a" "$OUT/cp.b"
		same "cp $f" "$d" cp "$f" "$OUT/cp.a"
		cmp -s "$OUT/cp.a" "$ref/$f" || fail "cp $f: copy differs"
		(cd "$d" && LD_PRELOAD="$SHIM" timeout "$T" cp "$f" "$OUT/cp.b")
		cmp -s "$OUT/cp.b" "$ref/$f" || fail "cp $f with the shim: copy differs"
	done

	# relative paths from a working directory inside D
	same_out "relative" "$d/sub" "$ref/sub/dir/leaf" cat dir/leaf
	same_out "relative ./" "$d/sub/dir" "$ref/sub/dir/leaf" cat ./leaf
	same_out "relative .." "$d/sub/dir" "$ref/k64" cat ../../k64
	same_out "relative //" "$d" "$ref/sub/dir/leaf" cat sub//dir/./leaf
	same "relative fstat" "$d/sub" "$PROBE" fstatid dir/leaf ../k64
	same "openat dirfd" / "$PROBE" openat "$d/sub" dir/leaf
	same "openat dirfd 2" "$d" "$PROBE" openat . k64

	# missing files and other errors: same errno, same message
	same_fails "cat missing" "$d" cat missing
	same_fails "cat missing (abs)" / cat "$d/nothere/at/all"
	same_fails "cat ENOTDIR" "$d" cat k64/below
	same_fails "cat a directory" "$d" cat sub
	same_fails "cat trailing slash" "$d" cat k64/
	same_fails "head missing" "$d" head -c 3 missing
	same_fails "dd missing" "$d" dd if=missing status=noxfer
	same_fails "bash < missing" "$d" bash -c 'cat <missing'
	same_fails "fgets missing" "$d" "$PROBE" fgets missing
	same "errnos" "$d" "$PROBE" err missing k64 k64/x sub "$d/none" ""

	# write-mode opens go through unchanged
	for mode in plain shim; do
		local pre=
		[ $mode = shim ] && pre="LD_PRELOAD=$SHIM"
		(cd "$d" && env $pre timeout "$T" sh -c 'echo first >w1; echo more >>w1')
		(cd "$d" && env $pre timeout "$T" "$PROBE" write w2 w "abc")
		(cd "$d" && env $pre timeout "$T" "$PROBE" write w2 a "def")
		(cd "$d" && env $pre timeout "$T" "$PROBE" owrite w3 "0123456789")
		(cd "$d" && env $pre timeout "$T" "$PROBE" rdwr w3 "XY") >"$OUT/rdwr.$mode"
		(cd "$d" && env $pre timeout "$T" "$PROBE" write w3 r+ "Z")
		(cd "$d" && env $pre timeout "$T" cp k64 w4)
		(cd "$d" && env $pre timeout "$T" "$PROBE" write w4 a "+")
		(cd "$d" && timeout "$T" cat w1 w2 w3 w4) >"$OUT/writes.$mode"
		(cd "$d" && timeout "$T" rm -f w1 w2 w3 w4)
	done
	cmp -s "$OUT/writes.plain" "$OUT/writes.shim" || fail "writes differ through the shim"
	cmp -s "$OUT/rdwr.plain" "$OUT/rdwr.shim" || fail "O_RDWR read differs through the shim"
	printf 'first\nmore\nabcdefZY23456789%063d\n+' 7 | cmp -s - "$OUT/writes.shim" ||
		fail "writes through the shim: unexpected content"

	# threads and fork()
	same "threads+fork" "$d" "$PROBE" mt 4 8 $files "sp ace" missing
	same "threads+fork (abs)" / "$PROBE" mt 3 4 "$d/k64" "$d/big" "$d/sub/dir/leaf"

	# permissions: an unprivileged reader of a 0600 file is refused the same way
	if command -v setpriv >/dev/null; then
		same_fails "0600 as nobody" "$d" setpriv --reuid=65534 --regid=65534 \
			--clear-groups cat secret
		same "readable as nobody" "$d" setpriv --reuid=65534 --regid=65534 \
			--clear-groups cat k64
	fi

	# the shim is really loaded into each kind of program
	interposed cat "$d/k64"
	interposed head -c 1 "$d/k64"
	interposed dd if="$d/k64" of=/dev/null status=none
	interposed bash -c "cat <'$d/k64'"
	interposed "$PROBE" fgets "$d/k64"
	[ -z "$PY" ] || interposed "$PY" -c "open('$d/k64').read()"
}
