#!/bin/bash
# SPDX-License-Identifier: MIT
# gmem map and gmem run --map: every bad input (exit 2 with one line that
# states the rule), help, no KVM (exit 3); gmem map --detached end to
# end, its text, JSON and SVG checked against each other (check_map.py)
# and its device models against the map; colour only on a terminal or
# when asked. On a KVM host, gmem map and gmem run --map too (meson runs
# the two halves as map-cli and map-cli-kvm).
# Usage: test_map_cli.sh GMEM CHECK_MAP_PY
set -u
gmem=$1 check=$2
# shellcheck source=../runner/cli-common.sh
. "$(dirname "$0")/../runner/cli-common.sh"

# GMEM_TEST_BACKING (tests/harness.h): "detached" runs all but the KVM
# part, "kvm" only that, unset both.
if [ "${GMEM_TEST_BACKING:-}" != kvm ]; then
	"$gmem" map --help >"$tmp/help" 2>&1 || fail "gmem map --help exited $?"
	grep -q '^usage: gmem map' "$tmp/help" || fail "gmem map --help: no usage"
	for o in --detached --vcpus --mem --rounds --svg --json --color; do
		grep -q -- "  $o" "$tmp/help" || fail "gmem map --help lacks $o"
	done
	"$gmem" --help | grep -q '^  map ' || fail "gmem --help does not list map"
	for o in '--map ' '--map-svg FILE' '--color'; do
		"$gmem" run --help | grep -q -- "  $o" || fail "gmem run --help lacks $o"
	done

	# Bad input, one row each: exit status | what stderr must say | arguments.
	# (Last, an SVG that cannot be written: exit 1, and still one line.)
	mkdir "$tmp/dir"
	rules=$tmp/rules
	cat >"$rules" <<-EOF
	2 | --vcpus must be a whole number from 1 to 64, not '0'         | map --detached --vcpus 0
	2 | --vcpus must be a whole number from 1 to 64, not '65'        | map --vcpus 65
	2 | --vcpus must be a whole number from 1 to 64, not 'two'       | map --vcpus two
	2 | option '--vcpus' needs a value                               | map --vcpus
	2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '0' | map --mem 0
	2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '5000' | map --mem 5000
	2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '4G' | map --detached --mem 4G
	2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '12Q' | map --mem 12Q
	2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '16 KiB for 4 vCPUs' | map --detached --mem 16K
	2 | --rounds must be a whole number from 1 to 1000000, not '0'   | map --rounds 0
	2 | --rounds must be a whole number from 1 to 1000000, not '1e3' | map --rounds 1e3
	2 | --color must be auto, always or never, not 'sometimes'      | map --color=sometimes
	2 | --color must be auto, always or never, not ''               | map --color=
	2 | --svg must name a file that can be written, not '$tmp/none/m.svg' (No such file or directory) | map --detached --svg $tmp/none/m.svg
	2 | --svg must name a file that can be written, not '$tmp/dir' (Is a directory) | map --svg $tmp/dir
	2 | --svg must name a file that can be written, not '' (empty)  | map --svg ''
	2 | option '--svg' needs a value                                 | map --detached --svg
	2 | unknown option '--bogus'                                     | map --bogus
	2 | unknown option '-x'                                          | map -x
	2 | unknown option '--json=yes'                                  | map --json=yes
	2 | unknown option '--detached=1'                                | map --detached=1
	2 | unexpected argument 'extra'                                  | map --detached extra
	2 | --map-svg must name a file that can be written, not '$tmp/none/r.svg' (No such file or directory) | run --map-svg $tmp/none/r.svg
	2 | option '--map-svg' needs a value                             | run --map-svg
	2 | unknown option '--map=yes'                                   | run --map=yes
	2 | --color must be auto, always or never, not 'blue'           | run --map --color=blue
	1 | gmem map: writing the SVG failed                            | map --detached --svg /dev/full
	EOF
	expect_rules "$rules"
	[ -e "$tmp/none" ] && fail "a refused --svg created something"

	# Without KVM and without --detached: exit 3, one line.
	if [ ! -e /dev/kvm ]; then
		expect_bad 3 map
	elif unshare -m true 2>/dev/null; then
		# shellcheck disable=SC2016 # "$0" is the inner shell's: gmem
		unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$0" map' \
			"$gmem" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ "$rc" -ne 3 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] ||
		   [ -s "$tmp/out" ]; then
			fail "no KVM: exit $rc: $(cat "$tmp/out" "$tmp/err")"
		fi
	fi

	# gmem map --detached: text (no colour when piped), JSON, SVG, coloured.
	for args in "" "--vcpus 3 --mem 12M --rounds 1" "--vcpus 1 --mem 8K" \
		    "--vcpus 7 --mem 28M --rounds 3"; do
		# shellcheck disable=SC2086
		"$gmem" map --detached $args --svg "$tmp/m.svg" >"$tmp/m.txt" \
			2>"$tmp/m.err" || fail "map --detached $args exited $?: $(cat "$tmp/m.err")"
		[ -s "$tmp/m.err" ] && fail "map --detached $args wrote to stderr"
		# shellcheck disable=SC2086
		"$gmem" map --detached $args --json >"$tmp/m.json" ||
			fail "map --detached $args --json exited $?"
		# shellcheck disable=SC2086
		"$gmem" map --detached $args --color >"$tmp/mc.txt" ||
			fail "map --detached $args --color exited $?"
		# The devices' description above the map is not part of it.
		sed -i '1,/^memory map: /{/^memory map: /!d}' "$tmp/m.txt" "$tmp/mc.txt"
		python3 "$check" cli "$tmp/m.json" "$tmp/m.txt" "$tmp/mc.txt" \
			"$tmp/m.svg" || fail "map --detached $args: outputs disagree"
		python3 - "$tmp/m.json" <<-'PY' || fail "map --detached $args: devices"
	import json, sys
	j = json.load(open(sys.argv[1]))
	d, m = j["detached"], j["map"]
	ram = m["files"][1]
	assert j["source"] == "detached" and m["vm"]["kind"] == "detached", j
	assert ram["size"] == d["mem"], (ram["size"], d)
	for dev in d["devices"]:
	    lo, hi = dev["offset"], dev["offset"] + dev["len"]
	    shared = sum(max(0, min(hi, r["offset"] + r["len"]) - max(lo, r["offset"]))
	                 for r in ram["runs"] if not r["private"])
	    assert dev["held"] == shared, (dev, shared)
	if d["ring"]:
	    pinned = [r for r in ram["runs"] if r["pinned"]]
	    assert [(r["offset"], r["len"]) for r in pinned] == \
	        [(d["ring"]["offset"], d["ring"]["len"])], pinned
	print("ok: devices hold the shared runs of their windows:",
	      [(x["name"], x["held"]) for x in d["devices"]])
	PY
	done

	# Colour: auto on a terminal, never when asked; none when piped.
	script -qec "'$gmem' map --detached" /dev/null >"$tmp/tty.txt" ||
		fail "map on a terminal exited $?"
	grep -q $'\033\\[' "$tmp/tty.txt" || fail "no colour on a terminal"
	script -qec "'$gmem' map --detached --color=never" /dev/null >"$tmp/tty.txt" ||
		fail "map --color=never on a terminal exited $?"
	grep -q $'\033\\[' "$tmp/tty.txt" && fail "colour with --color=never"
	"$gmem" map --detached --color=auto | grep -q $'\033' && fail "colour in a pipe"
	echo "ok: colour on a terminal only, or when asked"

fi
if [ "${GMEM_TEST_BACKING:-}" = detached ]; then
	echo "PASS"
	exit 0
fi

need_kvm

# gmem map on KVM is gmem run --map; the JSON has the map under "map".
"$gmem" map --vcpus 2 --mem 8M --rounds 1 --svg "$tmp/k.svg" >"$tmp/k.txt" ||
	fail "gmem map exited $?: $(cat "$tmp/k.txt")"
if ! grep -q '^PASS' "$tmp/k.txt" ||
   ! grep -q '^memory map: KVM VM' "$tmp/k.txt"; then
	fail "gmem map on KVM: $(cat "$tmp/k.txt")"
fi
"$gmem" run --vcpus 2 --mem 8M --rounds 1 --json --map >"$tmp/k.json" ||
	fail "gmem run --map --json exited $?"
python3 - "$tmp/k.json" <<'PY' || fail "gmem run --map --json"
import json, sys
j = json.load(open(sys.argv[1]))
m = j["map"]
assert j["result"] == "pass" and m["vm"]["kind"] == "kvm", j
assert m["totals"]["guest"] == (4 << 20) + (8 << 20), m["totals"]
# the image is private from the first instruction (populated, measured)
assert m["totals"]["private"] == m["totals"]["populated"] > 0, m["totals"]
print("ok: gmem run --map --json:", m["totals"]["runs"], "runs")
PY
echo "PASS"
