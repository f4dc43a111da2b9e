#!/bin/bash
# gmem run with devices: --vhost-user-blk and --vhost-user-net on the real
# back-ends (qemu-storage-daemon, DPDK testpmd, started here): the guest's
# vCPU 0 moves data through both after every round while it converts a
# DMA buffer private and back, and the host checks at every conversion to
# private that no back-end's table still holds the page. Then one device
# alone, a socket nobody listens on (one line, exit 1), and gmem bench's
# guest virtio-blk rows. Needs KVM.
# Usage: test_run_devices.sh GMEM
set -u
gmem=$1
. "$(dirname "$0")/../vhost/backends.sh"
fail() { echo "FAIL: $*"; exit 1; }
[ -e /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
skip_without_backends
tmp=$(mktemp -d /tmp/gmem-rd-XXXXXX)
start_backends

rounds=6
"$gmem" run --vcpus 2 --mem 8M --rounds $rounds --json \
	--vhost-user-blk "$tmp/blk.sock" --vhost-user-net "$tmp/net.sock" \
	>"$tmp/both.json" 2>"$tmp/both.err" ||
	fail "gmem run with both devices exited $?: $(cat "$tmp/both.err" "$tmp/both.json")"
python3 - "$tmp/both.json" "$rounds" <<'PY' || fail "both devices: $(cat "$tmp/both.json")"
import json, sys
j = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2])
assert j["result"] == "pass", j
kinds = [d["kind"] for d in j["devices"]]
assert kinds == ["vhost-user-blk", "vhost-user-net"], kinds
for d in j["devices"]:
    assert d["connected"] and d["table_messages"] > 0, d
p = j["dma_pool"]
assert p["dma_rounds"] == rounds, p
# each round turns buffer c private once, and each is checked
assert p["conversions_checked"] >= rounds and p["left_in_table"] == 0, p
# the back-ends map the pool's file from offset 0 up to their highest
# region: c, the pool's last page, is never inside while private
assert p["max_exposure"] == 0, p
assert j["exits"].get("KVM_EXIT_MMIO", 0) > 0, j["exits"]
print("ok: both devices: %d DMA rounds, %d checked conversions, "
      "exposure %d bytes, %d MMIO exits" % (p["dma_rounds"],
      p["conversions_checked"], p["max_exposure"], j["exits"]["KVM_EXIT_MMIO"]))
PY

# one device, text: the summary names it
"$gmem" run --vcpus 1 --mem 4M --rounds 2 --vhost-user-blk "$tmp/blk.sock" \
	>"$tmp/blk.txt" 2>&1 || fail "blk alone exited $?: $(cat "$tmp/blk.txt")"
grep -q "^  device:       vhost-user-blk $tmp/blk.sock: " "$tmp/blk.txt" &&
	grep -q "^  DMA pool:     60 KiB in its own file; 2 DMA rounds; .*; exposure at most 0 bytes$" "$tmp/blk.txt" &&
	grep -q '^PASS' "$tmp/blk.txt" || fail "blk alone: $(cat "$tmp/blk.txt")"
echo "ok: $(grep 'DMA pool' "$tmp/blk.txt")"

# a socket nobody listens on: parsing takes it, connecting fails
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" \
	"$tmp/dead.sock" || fail "cannot make a socket"
"$gmem" run --vhost-user-net "$tmp/dead.sock" >"$tmp/dead.out" 2>"$tmp/dead.err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/dead.err")" -eq 1 ] && [ ! -s "$tmp/dead.out" ] &&
	grep -q "^gmem run: --vhost-user-net '$tmp/dead.sock': " "$tmp/dead.err" ||
	fail "dead socket: exit $rc: $(cat "$tmp/dead.out" "$tmp/dead.err")"
echo "ok: dead socket: $(cat "$tmp/dead.err")"

# gmem bench's guest rows: the dma guest's virtio-blk throughput, DMA
# buffers on guest_memfd and on a memfd, measured in the same run (the
# values are only checked to be there)
"$gmem" bench --quick --json --filter vhost_blk_guest \
	--vhost-user-blk "$tmp/blk.sock" >"$tmp/bench.json" 2>"$tmp/bench.err" ||
	fail "gmem bench exited $?: $(cat "$tmp/bench.err")"
python3 - "$tmp/bench.json" <<'PY' || fail "bench JSON: $(cat "$tmp/bench.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["parts"]["runner"]["state"] == "ok", j["parts"]
rows = {r["name"]: r for r in j["results"]}
for n in ("vhost_blk_guest_write_mbs", "vhost_blk_guest_read_mbs"):
    assert rows[n]["value"] > 0 and rows[n]["kernel"]["value"] > 0, rows[n]
print("ok: guest blk MB/s (guest_memfd / memfd): write %.2f / %.2f, read %.2f / %.2f" % (
    rows["vhost_blk_guest_write_mbs"]["value"],
    rows["vhost_blk_guest_write_mbs"]["kernel"]["value"],
    rows["vhost_blk_guest_read_mbs"]["value"],
    rows["vhost_blk_guest_read_mbs"]["kernel"]["value"]))
PY
