#!/bin/bash
# gmem bench's VFIO rows (bench/vfio.c): inside scripts/kvm-vm (an IOMMU,
# QEMU's edu and nvme) every row is there beside its competitor, with the
# vhost-user-blk one measured in the same run, the mapping counts are
# those of the conversions (one per shared run; one per shared page for
# the competitor), the NVMe rows (guest_memfd beside memfd, the data read
# back checked by the bench) are there, and dma_entry_limit is as it was. Without an IOMMU the
# rows are absent, the bench still exits 0 and says why; then it skips
# (77): the rows are measured in scripts/kvm-vm. Never the speed.
# Usage: test_bench_cli.sh GMEM
set -u
gmem=$1
limit=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
tmp=$(mktemp -d /tmp/gmem-vfb-XXXXXX)
fail() { echo "FAIL: $*"; exit 1; }

if [ -z "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ]; then
	trap 'rm -rf "$tmp"' EXIT
	"$gmem" bench --only level1 --quick --json --filter vfio_ \
		>"$tmp/out.json" 2>"$tmp/err" ||
		fail "gmem bench exited $?: $(cat "$tmp/err")"
	grep -q "VFIO rows not measured: no IOMMU" "$tmp/err" ||
		fail "no reason for the absent rows: $(cat "$tmp/err")"
	grep -q '"vfio_dev_4k_us"' "$tmp/out.json" && fail "rows without an IOMMU"
	echo "ok: without an IOMMU the rows say why they are absent"
	echo "SKIP: no IOMMU here: the VFIO rows are measured in scripts/kvm-vm"
	exit 77
fi
. "$(dirname "$0")/../vhost/backends.sh"
skip_without_backends
start_backends
before=$(cat "$limit")

"$gmem" bench --only level1 --quick --json --filter vfio_ \
	--vhost-user-blk "$tmp/blk.sock" >"$tmp/out.json" 2>"$tmp/err" ||
	fail "gmem bench exited $?: $(cat "$tmp/err")"
[ "$(cat "$limit")" = "$before" ] || fail "dma_entry_limit not put back"
python3 - "$tmp/out.json" <<'PY' || fail "JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["parts"]["level1"]["state"] == "ok", j["parts"]
rows = {r["name"]: r for r in j["results"]}
want = {"vfio_dev_4k_us", "vfio_dev_4k_vs_vhost", "vfio_dev_64m_us",
        "vfio_dev_64m_vs_vhost", "vfio_maps_gmem", "vfio_maps_gmem_ms",
        "vfio_nvme_write_mbs", "vfio_nvme_read_mbs"}
assert want <= set(rows), want - set(rows)
for n in want:
    assert rows[n]["value"] > 0 and rows[n]["kernel"]["value"] > 0, rows[n]
# --quick: 1024 alternating pages private in 64 MiB (16384 pages)
gm, pp = rows["vfio_maps_gmem"]["value"], rows["vfio_maps_gmem"]["kernel"]["value"]
assert gm == 1024 + 1 and pp == 16384 - 1024, (gm, pp)
print("ok:", len(want), "VFIO rows;", int(gm), "mappings beside", int(pp))
PY
