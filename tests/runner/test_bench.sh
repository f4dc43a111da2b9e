#!/bin/bash
# SPDX-License-Identifier: MIT
# `gmem bench` end to end: --json parsed back (every field there, every
# number positive; no timing thresholds, the marks are not checked), the
# text table, the no-KVM path, and every bad option: one line, exit 2.
# Usage: test_bench.sh GMEM
set -u
gmem=$1
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"
need_kvm

# check_json FILE BACKING PART...: the parts that ran, fields, numbers
check_json() {
	python3 - "$@" <<'PY'
import json, math, sys
path, backing, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
j = json.load(open(path))
assert j["backing"] == backing, j["backing"]
assert j["quick"] is True, j
for p in ("level1", "runner"):
    want = "ok" if p in parts else "not run"
    assert j["parts"][p]["state"] == want, j["parts"]
def positive(v, what):
    assert isinstance(v, (int, float)) and not isinstance(v, bool), what
    assert math.isfinite(v) and v > 0, (what, v)
names = set()
for r in j["results"]:
    for k in ("name", "part", "label", "value", "unit", "kernel", "ratio",
              "target", "met"):
        assert k in r, (k, r)
    assert r["part"] in parts, r
    positive(r["value"], r["name"])
    if r["kernel"] is not None:
        positive(r["kernel"]["value"], r["kernel"]["name"])
        positive(r["ratio"], r["name"] + " ratio")
    if r["target"] is not None:
        assert r["target"]["op"] in ("<", "<=", ">="), r
        positive(r["target"]["value"], r["name"] + " target")
        assert r["met"] in (True, False), r
    else:
        assert r["met"] is None, r
    names.add(r["name"])
want = {
    "level1": {"contig_1g_to_private_us", "sparse_1t_to_private_us",
               "sparse_1t_to_shared_us", "alt_1g_conversions_per_s",
               "alt_1g_marginal_bytes_per_range", "read_64b_gmem_read_ns"},
    "runner": {"vm_start_runner_us", "conv_roundtrip_us",
               "conv_2vcpu_per_s"},
}
for p in parts:
    assert want[p] <= names, (p, want[p] - names)
    raw = j["raw"][p]
    assert raw, p
    for k, v in raw.items():
        if k != "conv_above_exit_us":	# a difference: may be negative
            positive(v, k)
targets = sum(1 for r in j["results"] if r["target"] is not None)
print("ok:", path, len(j["results"]), "results,", targets, "with targets")
PY
}

# level 1 alone, on guest_memfd and detached
"$gmem" bench --json --only level1 --quick >"$tmp/l1.json" ||
	fail "bench --only level1 exited $?"
check_json "$tmp/l1.json" guest_memfd level1 || fail "level1 JSON"
"$gmem" bench --json --only level1 --quick --detached >"$tmp/l1d.json" ||
	fail "bench --detached exited $?"
check_json "$tmp/l1d.json" memfd level1 || fail "detached JSON"

# a short runner benchmark
"$gmem" bench --json --only runner --quick >"$tmp/rn.json" ||
	fail "bench --only runner exited $?"
check_json "$tmp/rn.json" guest_memfd runner || fail "runner JSON"

# the text table: a header, the column names, one line per measurement
"$gmem" bench --only level1 --quick --kvm >"$tmp/l1.txt" ||
	fail "bench text exited $?"
grep -q '^gmem bench: level 1 on guest_memfd: ok; runner: not run' \
	"$tmp/l1.txt" || fail "text header: $(head -1 "$tmp/l1.txt")"
grep -q '^measurement .* kernel primitive .* ratio .* mark$' "$tmp/l1.txt" ||
	fail "text columns"
grep -Eq '^accessor read, 64 B .* (met|MISSED)$' "$tmp/l1.txt" ||
	fail "no accessor line"

# without KVM (/dev/null over /dev/kvm in a private mount namespace): one
# line on stderr, exit 3, and the level-1 part still runs, detached
if unshare -m true 2>/dev/null; then
	unshare -m sh -c 'mount --bind /dev/null /dev/kvm &&
		exec "$0" bench --json --quick' "$gmem" \
		>"$tmp/nokvm.json" 2>"$tmp/nokvm.err"
	rc=$?
	[ "$rc" -eq 3 ] || fail "no KVM: exit $rc, want 3"
	[ "$(wc -l <"$tmp/nokvm.err")" -eq 1 ] ||
		fail "no KVM: stderr: $(cat "$tmp/nokvm.err")"
	check_json "$tmp/nokvm.json" memfd level1 || fail "no-KVM JSON"
	echo "ok: no KVM: $(cat "$tmp/nokvm.err")"
else
	echo "note: no mount namespaces here; no-KVM path not tested"
fi

"$gmem" bench --help | grep -q -- '--quick' || fail "bench --help"

expect_bad 2 bench --bogus
expect_bad 2 bench extra
expect_bad 2 bench --only
expect_bad 2 bench --only vm
expect_bad 2 bench --only=
expect_bad 2 bench --kvm --detached
expect_bad 2 bench --json=yes
expect_bad 2 bench -q
echo "PASS"
