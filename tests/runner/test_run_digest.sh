#!/bin/bash
# gmem run boots its guests measured: the image is populated private in
# place before the first instruction, and the launch digest gmem run
# prints is the one `gmem measure` and tests/launch/measure.py compute from
# the image file (docs/launch.md). --expect-digest starts the vCPUs with
# the right digest and refuses a wrong one (one line, exit 1, nothing
# run). Needs KVM.
# Usage: test_run_digest.sh GMEM RUN_GUEST_BIN EXAMPLE_GUEST_BIN MEASURE_PY
set -u
gmem=$1 run_bin=$2 example_bin=$3 measure_py=$4
fail() { echo "FAIL: $*"; exit 1; }
[ -e /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

want=$("$gmem" measure "$run_bin") || fail "gmem measure exited $?"
[ "$want" = "$(python3 "$measure_py" "$run_bin" 0x100000)" ] ||
	fail "gmem measure and measure.py disagree on $run_bin"

"$gmem" run --vcpus 1 --mem 1M --rounds 1 --json >"$tmp/r.json" ||
	fail "gmem run exited $?"
got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["launch_digest"])' \
	"$tmp/r.json") || fail "no launch_digest: $(cat "$tmp/r.json")"
[ "$got" = "$want" ] || fail "built-in guest: run says $got, measure $want"
echo "ok: built-in guest: launch digest $got"

# the same for a guest of one's own
want=$("$gmem" measure "$example_bin") || fail "gmem measure exited $?"
"$gmem" run --guest "$example_bin" --vcpus 1 --mem 2M --rounds 1 --json \
	>"$tmp/g.json" 2>/dev/null || fail "gmem run --guest exited $?"
python3 - "$tmp/g.json" "$want" <<'PY' || fail "--guest: $(cat "$tmp/g.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "pass" and j["launch_digest"] == sys.argv[2], j
PY
echo "ok: example guest: launch digest $want"

# --expect-digest: the right one runs and says so (any case) ...
up=$(echo "$want" | tr a-f A-F)
"$gmem" run --guest "$example_bin" --vcpus 1 --mem 2M --rounds 1 \
	--expect-digest "$up" >"$tmp/ok.txt" 2>/dev/null ||
	fail "--expect-digest with the right digest exited $?: $(cat "$tmp/ok.txt")"
grep -q "^  launch digest: $want (as expected)$" "$tmp/ok.txt" &&
	grep -q '^PASS' "$tmp/ok.txt" || fail "right digest: $(cat "$tmp/ok.txt")"
echo "ok: --expect-digest $up: ran"

# ... a wrong one starts nothing: exit 1, one line, no output
bad=$(echo "$want" | sed 's/^./f/; t; s/^/x/')
[ "$bad" = "$want" ] && bad=0${want:1}
"$gmem" run --guest "$example_bin" --vcpus 1 --mem 2M --rounds 1 \
	--expect-digest "$bad" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
[ $rc -eq 1 ] && [ ! -s "$tmp/bad.out" ] && [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] &&
	grep -q "^gmem run: the launch digest is $want, not --expect-digest $bad: the vCPUs were not started$" \
		"$tmp/bad.err" ||
	fail "wrong digest: exit $rc: $(cat "$tmp/bad.out" "$tmp/bad.err")"
echo "ok: --expect-digest $bad: $(cat "$tmp/bad.err")"
