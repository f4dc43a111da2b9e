#!/bin/bash
# SPDX-License-Identifier: MIT
# The launch digest three ways must agree: the library (gmem_vm_populate
# from a source and in place, via populate_image), `gmem measure`, and
# measure.py, an independent implementation of docs/launch.md. Then every
# bad use of `gmem measure`: one line on stderr, nothing on stdout, exit 2
# (1 only when a regular file cannot be read).
# Usage: test_measure.sh GMEM POPULATE_IMAGE MEASURE_PY
set -uo pipefail
gmem=$1 populate=$2 py=$3
# shellcheck source=../runner/cli-common.sh
. "$(dirname "$0")/../runner/cli-common.sh"

check() {	# check NAME BYTES GPA
	local img=$tmp/$1 gpa=$3 a b lib
	head -c "$2" /dev/urandom >"$img"
	a=$("$gmem" measure "$img" --gpa "$gpa") || fail "gmem measure $1"
	b=$(python3 "$py" "$img" "$gpa") || fail "measure.py $1"
	[ "$a" = "$b" ] || fail "$1: gmem measure $a, measure.py $b"
	lib=$("$populate" "$img" "$gpa") || fail "populate_image $1"
	[ "$lib" = "$a"$'\n'"$a" ] ||
		fail "$1: library (source, in place) $(echo $lib), measure $a"
	echo "ok: $1 ($2 bytes at $gpa): $a"
}

check one-byte 1 0x100000
check one-page 4096 0x100000
check page-and-a-byte 4097 0x200000
check three-pages 12388 0x7f000
check many-pages 300000 0x100000000

# The JSON form names the same digest.
img=$tmp/one-page
json=$("$gmem" measure --json --gpa 0x100000 "$img") || fail "--json"
python3 - "$json" "$("$gmem" measure "$img")" <<'PY' || fail "--json: $json"
import json, sys
j = json.loads(sys.argv[1])
assert j["digest"] == sys.argv[2] and j["gpa"] == 0x100000 and j["pages"] == 1
PY
# The default gpa is where gmem run loads guests.
[ "$("$gmem" measure "$img")" = "$(python3 "$py" "$img" 0x100000)" ] ||
	fail "default --gpa is not 0x100000"
# An empty image measures nothing: 32 zero bytes.
: >"$tmp/empty"
[ "$("$gmem" measure "$tmp/empty")" = "$(printf '%064d' 0)" ] ||
	fail "empty image"
"$gmem" measure --help | grep -q "usage: gmem measure" || fail "--help"

expect_bad 2 measure
expect_bad 2 measure "$img" "$img"
expect_bad 2 measure "$tmp/no-such-image"
expect_bad 2 measure "$img" --gpa 0x1001
expect_bad 2 measure "$img" --gpa junk
expect_bad 2 measure "$img" --gpa -4096
expect_bad 2 measure "$img" --gpa
expect_bad 2 measure "$img" --bogus
expect_bad 2 measure "$tmp"
echo "measure: ok"
