#!/bin/bash
# SPDX-License-Identifier: MIT
# gmem run --vfio on the two devices scripts/kvm-vm puts behind QEMU's
# emulated Intel IOMMU, found by vendor:device and class in sysfs: edu and
# an NVMe controller. vCPU 0 moves data through the device after every
# round while it converts a DMA buffer private and back (and tries a DMA
# into it while private, which the IOMMU must block), the other vCPU
# converts its slice; the host checks every table against the state map.
# Then what needs a device: one that cannot be bound (drivers_probe made
# a no-op in a private mount namespace), a group that is not viable, and
# type1's dma_entry_limit lowered so that a conversion passes it.
# Needs KVM, an IOMMU and root; skips otherwise (natively here:
# scripts/run-tests reruns it inside kvm-vm).
# Usage: test_run_vfio.sh GMEM
set -u
gmem=$1
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"
need_kvm
[ -n "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ] ||
	{ echo "SKIP: no IOMMU (/sys/kernel/iommu_groups is empty)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: binding a device to vfio-pci needs root"; exit 77; }
[ -e /dev/vfio/vfio ] || { echo "SKIP: no /dev/vfio/vfio (vfio modules)"; exit 77; }

# pci_find FIELD VALUE: the first device whose sysfs FIELD reads VALUE
pci_find() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/$1" 2>/dev/null)" = "$2" ] && { basename "$d"; return; }
	done
}
edu=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] &&
		{ edu=$(basename "$d"); break; }
done
nvme=$(pci_find class 0x010802)
[ -n "$edu" ] && [ -n "$nvme" ] ||
	{ echo "SKIP: no edu (1234:11e8) or NVMe device here"; exit 77; }
echo "edu $edu, nvme $nvme"
limit=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
old_limit=$(cat "$limit")
trap 'echo "$old_limit" >"$limit"; rm -rf "$tmp"' EXIT

# gmem host says the IOMMU state and the limit
"$gmem" host >"$tmp/host.txt" || fail "gmem host exited $?"
grep -q "^IOMMU:                 [1-9][0-9]* groups, [1-9][0-9]* PCI devices in one, [0-9]* bound to vfio-pci$" "$tmp/host.txt" &&
	grep -q "^VFIO:                  vfio yes, type1 yes, iommufd \(yes\|no\)$" "$tmp/host.txt" &&
	grep -q "^dma_entry_limit:       $old_limit IOMMU mappings per container" "$tmp/host.txt" ||
	fail "gmem host: $(tail -n 3 "$tmp/host.txt")"
tail -n 3 "$tmp/host.txt"

# Few rounds: under TCG each edu DMA takes about 100 ms.
rounds=2
for dev in "$edu" "$nvme"; do
	"$gmem" run --vcpus 2 --mem 8M --rounds $rounds --vfio "$dev" \
		>"$tmp/run.txt" 2>"$tmp/run.err" ||
		fail "gmem run --vfio $dev exited $?: $(cat "$tmp/run.txt" "$tmp/run.err")"
	cat "$tmp/run.txt"
	grep -q "^  device:       vfio-\(edu\|nvme\) $dev: " "$tmp/run.txt" &&
	grep -q "^  DMA pool:     60 KiB in its own file; $rounds DMA rounds; [1-9][0-9]* conversions to private checked, 0 left a page in a table; exposure at most 0 bytes$" "$tmp/run.txt" &&
	grep -q "^  IOMMU:        [0-9]* mappings now, [1-9][0-9]* at most (dma_entry_limit $old_limit); [1-9][0-9]* map and [1-9][0-9]* unmap ioctls; private bytes ever mapped: 0; conversions refused: 0$" "$tmp/run.txt" &&
	grep -q "^  BAR0:         [1-9][0-9]* KiB at 0x" "$tmp/run.txt" &&
	grep -q "^  DMAR faults:  [1-9][0-9]* in the kernel log; $rounds DMAs into private memory blocked" "$tmp/run.txt" &&
	grep -q "^PASS: every check held$" "$tmp/run.txt" ||
		fail "gmem run --vfio $dev: the report lacks a line"
	"$gmem" run --vcpus 2 --mem 8M --rounds 1 --vfio "$dev" --json \
		>"$tmp/run.json" 2>"$tmp/run.err" ||
		fail "gmem run --vfio $dev --json exited $?: $(cat "$tmp/run.err")"
	python3 - "$tmp/run.json" <<'PY' || fail "--json: $(cat "$tmp/run.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "pass", j
v, p = j["vfio"], j["dma_pool"]
assert p["dma_rounds"] == 1 and p["max_exposure"] == 0, p
assert v["private_mapped"] == 0 and v["refused"] == 0, v
assert v["max_mappings"] >= 2 and v["maps"] > 0 and v["blocked_dmas"] == 1, v
assert j["devices"][0]["kind"] in ("vfio-edu", "vfio-nvme"), j["devices"]
PY
	# given back as it was found: not left bound to vfio-pci
	[ "$(basename "$(readlink "/sys/bus/pci/devices/$dev/driver")")" != vfio-pci ] ||
		fail "$dev left bound to vfio-pci"
done

# A device that cannot be bound: drivers_probe does nothing here.
unshare -m sh -c 'mount --bind /dev/null /sys/bus/pci/drivers_probe &&
	exec "$@"' sh "$gmem" run --mem 8M --rounds 1 --vfio "$edu" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q "^gmem run: --vfio: $edu: not bound to vfio-pci and cannot be bound" "$tmp/err" ||
	fail "not bindable: exit $rc: $(cat "$tmp/out" "$tmp/err")"
echo "ok: not bindable: $(cat "$tmp/err")"

# A group that is not viable: a device that shares its group with others
# not bound to vfio-pci.
shared=""
for g in /sys/kernel/iommu_groups/*; do
	[ "$(ls "$g/devices" | wc -l)" -gt 1 ] &&
		{ shared=$(ls "$g/devices" | tail -n 1); break; }
done
if [ -n "$shared" ]; then
	expect_bad 1 run --mem 8M --rounds 1 --vfio "$shared"
	grep -q "is not viable" "$tmp/err" || fail "non-viable group: $(cat "$tmp/err")"
else
	echo "no IOMMU group with two devices here: the non-viable case is not run"
fi

# type1's dma_entry_limit at 2 (the pool's mapping and RAM's): a vCPU
# that converts a chunk in the middle of RAM's shared run splits it, which
# needs a third mapping: refused with -ENOSPC, the guest fails, the run
# says which limit and how to raise it. Whether a split happens depends on
# how the vCPUs interleave (one that finishes its slice before the next
# starts never splits): a run that passes must have stayed within the
# limit, and one of a few runs of four vCPUs must split. The refused
# conversion may be one to private (the guest reports -28) or one back
# to shared (the guest's assertion on it): the limit line and the refused
# count say which limit, the FAIL line only that the guest stopped.
echo 2 >"$limit"
hit=""
for try in 1 2 3 4 5; do
	"$gmem" run --vcpus 4 --mem 16M --rounds 1 --vfio "$nvme" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		grep -q "^  IOMMU:        [0-9]* mappings now, [12] at most (dma_entry_limit 2); .*private bytes ever mapped: 0; conversions refused: 0$" "$tmp/out" ||
			fail "dma_entry_limit 2: passed beyond it: $(cat "$tmp/out")"
		echo "try $try: no split, within the limit"
		continue
	fi
	[ "$rc" -eq 1 ] || fail "dma_entry_limit 2: exit $rc: $(cat "$tmp/out" "$tmp/err")"
	grep -q "^  IOMMU limit:  [1-9][0-9]* conversions\? refused at type1's dma_entry_limit of 2 mappings (one per shared run); raise it as root before the run (it is read when a container opens): echo [0-9]* > $limit$" "$tmp/out" &&
		grep -q "private bytes ever mapped: 0; conversions refused: [1-9]" "$tmp/out" &&
		grep -q "^FAIL: " "$tmp/out" ||
		fail "dma_entry_limit 2: the run does not say the limit: $(cat "$tmp/out")"
	hit=$try
	break
done
echo "$old_limit" >"$limit"
[ -n "$hit" ] || fail "dma_entry_limit 2: no run of four vCPUs split RAM's mapping"
cat "$tmp/out"
# raised again, the same run passes
"$gmem" run --vcpus 2 --mem 8M --rounds 1 --vfio "$nvme" >"$tmp/out" 2>&1 ||
	fail "limit restored: exit $?: $(cat "$tmp/out")"
echo "PASS"
