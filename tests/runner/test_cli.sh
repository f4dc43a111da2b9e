#!/bin/bash
# SPDX-License-Identifier: MIT
# `gmem run` and `gmem host` end to end, --json parsed back, and every bad
# option: a one-line message and a non-zero exit.
# Usage: test_cli.sh GMEM BENCH_GUEST_BIN ERRORS_GUEST_BIN
set -u
gmem=$1 bench_bin=$2 errors_bin=$3
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"

# gmem run, text
"$gmem" run >"$tmp/run.txt" || fail "gmem run exited $?: $(cat "$tmp/run.txt")"
grep -q '^PASS: every check held$' "$tmp/run.txt" || fail "no PASS line"
grep -q 'rounds: *8 of 8 per vCPU' "$tmp/run.txt" || fail "rounds line"
grep -q 'KVM_EXIT_IO' "$tmp/run.txt" || fail "no exits line"

# gmem run --json, parsed back
"$gmem" run --vcpus 3 --mem 12M --rounds 2 --json >"$tmp/run.json" ||
	fail "gmem run --json exited $?"
python3 - "$tmp/run.json" <<'PY' || fail "run JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "pass" and j["error"] is None, j
assert j["vcpus"] == 3 and j["mem"] == 12 << 20 and j["rounds"] == 2, j
assert j["rounds_done"] == 6, j
slice_pages = ((12 << 20) // 3 & ~8191) // 4096
# per round: chunks to private (2 MiB each) + one back to shared
assert j["pages_converted"] == 3 * 2 * 2 * slice_pages, j
assert j["conversions"] >= 12 and j["conversion_errors"] == 0, j
assert j["conversions_per_second"] > 0 and j["host_checks"] == 3 * 2 * 3, j
assert j["exits"]["KVM_EXIT_IO"] > 0, j
assert sum(r["size"] for r in j["memory_map"]) == 12 << 20, j
assert all(r["state"] == "shared" for r in j["memory_map"]), j
print("ok: gmem run --json:", j["conversions"], "conversions")
PY

# --guest: a flat image of our own (the benchmark guest's NOP job)
"$gmem" run --guest "$bench_bin" --rounds 1 --vcpus 1 >"$tmp/g.txt" ||
	fail "gmem run --guest exited $?: $(cat "$tmp/g.txt")"
grep -q 'KVM_EXIT_IO [0-9]' "$tmp/g.txt" || fail "--guest: no exits"
# ... and one that fails (the error guest's job 5: a failed assertion)
"$gmem" run --guest "$errors_bin" --rounds 5 --vcpus 1 --json >"$tmp/g.json"
[ $? -eq 1 ] || fail "failing --guest did not exit 1"
python3 - "$tmp/g.json" <<'PY' || fail "failing --guest JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "fail" and "guest assertion failed" in j["error"], j
print("ok: failing guest:", j["error"])
PY

# gmem host, text and JSON
"$gmem" host >"$tmp/host.txt" || fail "gmem host exited $?"
grep -q '^KVM API version: *12$' "$tmp/host.txt" || fail "API version"
grep -q '^gmem protection: ' "$tmp/host.txt" || fail "protection line"
"$gmem" host --json >"$tmp/host.json" || fail "gmem host --json exited $?"
python3 - "$tmp/host.json" <<'PY' || fail "host JSON"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["api_version"] == 12, j
assert j["pvm"] == os.path.exists("/sys/module/kvm_pvm"), j
assert j["guest_memfd"] is True and j["guest_memfd_flags"] & 1, j
assert j["hypercall_exits"] in ("exit", "spin", "in-kernel"), j
assert j["conversion_channel"] == ("hypercall" if j["hypercall_exits"] == "exit"
                                   else "doorbell"), j
mirrored = j["memory_attributes"] & 8 != 0
assert j["protection"] == ("kernel-enforced" if mirrored
                           else "software-protected"), j
assert j["backing"] == "guest_memfd", j
if j["pvm"]:
    assert j["hypercall_exits"] == "spin", j
print("ok: gmem host --json:", j["protection"], j["conversion_channel"])
PY

# help goes to stdout and exits 0
"$gmem" run --help | grep -q -- '--vcpus' || fail "run --help"
"$gmem" host --help | grep -q -- '--json' || fail "host --help"
"$gmem" --help | grep -q 'run' || fail "--help"

# bad options: one line, non-zero
expect_bad 2 run --vcpus 0
expect_bad 2 run --vcpus 65
expect_bad 2 run --vcpus two
expect_bad 2 run --vcpus
expect_bad 2 run --mem 0
expect_bad 2 run --mem 5000
expect_bad 2 run --mem 4G
expect_bad 2 run --mem 12Q
expect_bad 2 run --mem 8K --vcpus 2
expect_bad 2 run --rounds 0
expect_bad 2 run --rounds -3
expect_bad 2 run --bogus
expect_bad 2 run extra
expect_bad 1 run --guest /nonexistent/guest.bin
expect_bad 2 host --bogus
expect_bad 2 host extra
expect_bad 2 frobnicate
expect_bad 2 map
expect_bad 2
echo "PASS"
