#!/bin/bash
# SPDX-License-Identifier: MIT
# The memory map of a detached VM with known runs, as text, JSON and SVG,
# compared with what the library says (check_map.py fixture).
# Usage: test_map.sh MAP_FIXTURE CHECK_MAP_PY
set -u
fixture=$1 check=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$fixture" "$tmp" || { echo "FAIL: map-fixture exited $?"; exit 1; }
python3 "$check" fixture "$tmp" || { echo "FAIL: the map disagrees"; exit 1; }
echo "PASS"
