#!/bin/bash
# gmem bench's device rows against the real back-ends, started here on
# sockets in a temporary directory and stopped by pid: every row is there
# with a positive value, the 1 GiB conversion is one table message per
# device, and bad sockets are one line and a non-zero exit. Never the
# speed. Skips (77) only when a back-end is not installed.
# Usage: test_bench_cli.sh GMEM
set -u
gmem=$1
. "$(dirname "$0")/backends.sh"
skip_without_backends
tmp=$(mktemp -d /tmp/gmem-vb-XXXXXX)
fail() { echo "FAIL: $*"; exit 1; }
start_backends

"$gmem" bench --only level1 --quick --json --filter vhost_ --vhost-user-blk "$tmp/blk.sock" \
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
	"$gmem" bench --only level1 --quick --filter vhost_ "$@" >"$tmp/o" 2>"$tmp/e"
	got=$?
	[ "$got" = "$want" ] || fail "bench $*: exit $got, want $want"
	grep -q -- "$pat" "$tmp/e" || fail "bench $*: stderr: $(cat "$tmp/e")"
}
sock_rule="must name the unix socket a vhost-user back-end listens on"
check_bad 2 "--vhost-user-blk $sock_rule, not '' (empty)" --vhost-user-blk ''
check_bad 2 "needs a value" --vhost-user-net
check_bad 2 "--vhost-user-blk $sock_rule, not '$tmp/none.sock' (No such file or directory)" \
	--vhost-user-blk "$tmp/none.sock"
check_bad 2 "--vhost-user-net $sock_rule, not '$tmp/disk.img' (not a socket)" \
	--vhost-user-net "$tmp/disk.img"
echo "ok: bad sockets"
