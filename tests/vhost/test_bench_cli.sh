#!/bin/bash
# gmem bench's device rows against the real back-ends, started here on
# sockets in a temporary directory and stopped by pid: every row is there
# with a positive value, the 1 GiB conversion is one table message per
# device, and bad sockets are one line and a non-zero exit. Never the
# speed. Skips (77) only when a back-end is not installed.
# Usage: test_bench_cli.sh GMEM
set -u
gmem=$1
for p in qemu-storage-daemon dpdk-testpmd; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
tmp=$(mktemp -d /tmp/gmem-vb-XXXXXX)
prefix=gmemvb$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -INT "$p" 2>/dev/null
	done
	sleep 0.5
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

truncate -s 4M "$tmp/disk.img"
qemu-storage-daemon --blockdev "driver=file,filename=$tmp/disk.img,node-name=d0" \
	--export "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path=$tmp/blk.sock,writable=on" \
	>"$tmp/qsd.log" 2>&1 &
pids+=($!)
# --no-mlockall: testpmd would otherwise fault in every page it maps.
dpdk-testpmd --no-huge -m 128 --no-pci --file-prefix="$prefix" \
	--vdev "net_vhost0,iface=$tmp/net.sock" -- --total-num-mbufs=8192 \
	--no-mlockall --auto-start --forward-mode=io --stats-period 60 \
	</dev/null >"$tmp/testpmd.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
	[ -S "$tmp/blk.sock" ] && [ -S "$tmp/net.sock" ] && break
	sleep 0.05
done
[ -S "$tmp/blk.sock" ] || fail "qemu-storage-daemon: no socket: $(cat "$tmp/qsd.log")"
[ -S "$tmp/net.sock" ] || fail "dpdk-testpmd: no socket: $(tail -5 "$tmp/testpmd.log")"

"$gmem" bench --quick --json --filter vhost_ --vhost-user-blk "$tmp/blk.sock" \
	--vhost-user-net "$tmp/net.sock" >"$tmp/out.json" 2>"$tmp/err" ||
	fail "gmem bench exited $?: $(cat "$tmp/err")"
python3 - "$tmp/out.json" <<'PY' || fail "JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["parts"]["level1"]["state"] == "ok", j["parts"]
rows = {r["name"]: r for r in j["results"]}
want = {"vhost_blk_4k_us", "vhost_net_4k_us", "vhost_blk_1g_us",
        "vhost_net_1g_us", "vhost_blk_1g_messages", "vhost_net_1g_messages"}
assert want <= set(rows), want - set(rows)
for n in want:
    assert rows[n]["value"] > 0, rows[n]
for n in ("vhost_blk_4k_us", "vhost_net_4k_us"):
    assert rows[n]["kernel"]["value"] > 0, rows[n]
for n in ("vhost_blk_1g_messages", "vhost_net_1g_messages"):
    assert rows[n]["value"] == 1 and rows[n]["met"] is True, rows[n]
print("ok:", len(rows), "device rows")
PY

# Bad input: one line on stderr, a non-zero exit, nothing measured.
check_bad() {	# check_bad STATUS PATTERN ARGS...
	local want=$1 pat=$2 got
	shift 2
	"$gmem" bench --quick --filter vhost_ "$@" >"$tmp/o" 2>"$tmp/e"
	got=$?
	[ "$got" = "$want" ] || fail "bench $*: exit $got, want $want"
	grep -q -- "$pat" "$tmp/e" || fail "bench $*: stderr: $(cat "$tmp/e")"
}
check_bad 2 "invalid --vhost-user-blk ''" --vhost-user-blk ''
check_bad 2 "needs a value" --vhost-user-net
check_bad 1 "vhost-user $tmp/none.sock" --vhost-user-blk "$tmp/none.sock"
check_bad 1 "vhost-user $tmp/disk.img" --vhost-user-net "$tmp/disk.img"
echo "ok: bad sockets"
