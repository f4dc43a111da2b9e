#!/bin/bash
# SPDX-License-Identifier: MIT
# gmem run --numa-node N. "args": a number that is not a node (exit 2,
# one line, before KVM is asked for). "kvm": a node this host has no
# memory on (exit 2, one line, nothing on stdout: the vCPUs never
# started), and a run on the highest node this process may use (node 1 in
# scripts/kvm-vm), which passes and says where its RAM is. Two tests, so
# that only the second runs again in scripts/kvm-vm. test_numa.c checks
# where the pages land.
# Usage: test_cli_numa.sh GMEM args|kvm
set -u
gmem=$1 part=$2
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"

if [ "$part" = args ]; then
cat >"$tmp/rules" <<'RULES'
2 | --numa-node must be a host NUMA node number from 0 to 63, not 'x' | run --numa-node x
2 | --numa-node must be a host NUMA node number from 0 to 63, not '64' | run --numa-node 64
2 | --numa-node must be a host NUMA node number from 0 to 63, not '-1' | run --numa-node -1
2 | --numa-node must be a host NUMA node number from 0 to 63, not '0x1' | run --numa-node 0x1
2 | --numa-node must be a host NUMA node number from 0 to 63, not '' | run --numa-node ''
2 | option '--numa-node' needs a value | run --numa-node
RULES
expect_rules "$tmp/rules"
exit 0
fi

need_kvm
expect_bad 2 run --vcpus 1 --mem 64K --rounds 1 --numa-node 63
grep -qF -- "--numa-node 63: this host has no memory on node 63" "$tmp/err" ||
	fail "--numa-node 63: $(cat "$tmp/err")"

# the last node of Mems_allowed_list ("0", "0-1", "0,2-3")
node=$(sed -n 's/^Mems_allowed_list:[[:space:]]*//p' /proc/self/status)
node=${node##*[,-]}
"$gmem" run --vcpus 1 --mem 64K --rounds 1 --numa-node "$node" >"$tmp/n.txt" ||
	fail "gmem run --numa-node $node exited $?: $(cat "$tmp/n.txt")"
grep -qx "  numa:         guest RAM on host node $node only" "$tmp/n.txt" ||
	fail "--numa-node $node line: $(cat "$tmp/n.txt")"
grep -q '^PASS: every check held$' "$tmp/n.txt" || fail "--numa-node: no PASS"
echo "ok: $(grep '^  numa:' "$tmp/n.txt")"
