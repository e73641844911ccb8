#!/bin/bash
# hkv-bench smoke test: `hkv-bench engine --quick` runs to the end and prints every row of its
# table. Performance numbers are not asserted (they depend on the machine). 4000 keys rather
# than --quick's 20000 keep the scratch stores near 150 MB instead of 600 MB at their largest
# (the 4096-byte rows write every value to both stores several times).
set -u
BENCH=${HKV_BENCH:?set HKV_BENCH to the hkv-bench binary}
WORK=$(mktemp -d "${HKV_BENCH_DIR:-/var/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fails=0

"$BENCH" engine --quick --keys 4000 --threads 4 --sync-threads 8 --dir "$WORK" >"$WORK/out" 2>&1
rc=$?
cat "$WORK/out"
if [[ $rc != 0 ]]; then
	echo "FAIL: hkv-bench exited $rc"
	exit 1
fi
num='[0-9][0-9,]*'
lat='[0-9]+\.[0-9]+'
side="\| +$num +$lat +$lat"
rows=(
	"^value 64 B, 4000 keys"
	"^value 4096 B, 4000 keys"
	"^load \(SET new\) +1 $side $side \| +[0-9.]+x$"
	"^bulk load \(1 txn\) +1 \| +- +- +- $side \| +-$"
	"^GET +1 $side $side \| +[0-9.]+x$"
	"^GET +4 $side $side \| +[0-9.]+x$"
	"^SET +1 $side $side \| +[0-9.]+x$"
	"^SET +4 $side $side \| +[0-9.]+x$"
	"^GET/SET 90/10 +1 $side $side \| +[0-9.]+x$"
	"^GET/SET 90/10 +4 $side $side \| +[0-9.]+x$"
	"^reopen: hkv_open\+hkv_close of the 4000-key store: median $lat ms over 3 runs"
	"^reopen: LMDB mdb_env_open\+close"
	"^LMDB, fsync per txn \(baseline\) +1 \| +$num +[0-9.]+ +[0-9.]+ \| +1\.00x$"
	"^LMDB, fsync per txn +8 \| +$num"
	"^engine sync=always +1 \| +$num"
	"^engine sync=always \(group commit\) +8 \| +$num"
	"^SET sync=none +\| +$num +$lat +$lat +$lat +$lat \|"
	"^SET sync=everysec +\| +$num .* [0-9.]+x sync=none$"
	"^SET, no checkpoint \(4 GiB memtable\) +\| +$num"
	"^SET, checkpoints running +\| +$num .* [0-9]+ checkpoints during the row$"
	"^checkpoint of a full memtable: [0-9]+ index records in $lat ms"
	"^open after a clean close: median $lat ms"
	"^open after a crash with a full memtable \([0-9]+ writes\) to replay: median $lat ms"
	"^  SET sync=none, 1 thread, 64 B: $num/s \(target >= 500,000/s\); 4 threads $num/s"
	"^  sync=always: engine 8 threads"
	"^  reopen 4000 keys \(hkv_open \+ hkv_close\): $lat ms median"
)
for re in "${rows[@]}"; do
	want=1
	[[ $re == "^value"* || $re == "^load"* || $re == "^bulk"* || $re == "^GET"* || $re == "^SET +"* ]] && want=2
	[[ $re == "^value"* ]] && want=1
	n=$(grep -cE "$re" "$WORK/out")
	if [[ $n != "$want" ]]; then
		echo "FAIL: expected $want line(s) matching: $re (got $n)"
		fails=$((fails + 1))
	fi
done
if grep -q "hkv-bench\." <(ls "$WORK"); then
	echo "FAIL: the scratch directory was not removed"
	fails=$((fails + 1))
fi
((fails)) && exit 1
echo "bench smoke: all rows present"
