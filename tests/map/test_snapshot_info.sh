#!/bin/bash
# SPDX-License-Identifier: MIT
# gmem snapshot info, native: a bare library stream and a runner snapshot
# (snap-fixture makes both, and the truth read from the library beside
# them) printed as text and JSON, the numbers against the truth and the
# memory map against the live VM's (gmem map's); then every bad input,
# one row each: the exit status and the one line stating the rule.
# Usage: test_snapshot_info.sh GMEM SNAP_FIXTURE
set -u
gmem=$1 fixture=$2
# shellcheck source=../runner/cli-common.sh
. "$(dirname "$0")/../runner/cli-common.sh"

"$fixture" "$tmp" || fail "snap-fixture exited $?"

"$gmem" snapshot --help | grep -q '^  info FILE' || fail "gmem snapshot --help"
"$gmem" snapshot info --help >"$tmp/help" || fail "snapshot info --help exited $?"
grep -q '^usage: gmem snapshot info FILE' "$tmp/help" || fail "no usage"
for o in --json --color; do
	grep -q -- "  $o" "$tmp/help" || fail "snapshot info --help lacks $o"
done
"$gmem" --help | grep -q '^  snapshot ' || fail "gmem --help does not list snapshot"
"$gmem" help snapshot | grep -q '^usage: gmem snapshot' || fail "gmem help snapshot"

for kind in stream runner; do
	f=$tmp/$kind.gmem
	"$gmem" snapshot info "$f" >"$tmp/$kind.txt" 2>"$tmp/err" ||
		fail "info $kind exited $?: $(cat "$tmp/err")"
	[ -s "$tmp/err" ] && fail "info $kind wrote to stderr"
	grep -q '^memory map: snapshot, ' "$tmp/$kind.txt" || fail "$kind: no map"
	grep -q 'sealed (not decrypted)' "$tmp/$kind.txt" || fail "$kind: no data line"
	grep -q $'\033' "$tmp/$kind.txt" && fail "$kind: colour in a pipe"
	"$gmem" snapshot info --color "$f" | grep -q $'\033\\[' ||
		fail "$kind: --color gave no colour"
	"$gmem" snapshot info "$f" --json >"$tmp/$kind.json" ||
		fail "info $kind --json exited $?"
	python3 -m json.tool "$tmp/$kind.json" >/dev/null ||
		fail "info $kind --json is not JSON"
done
grep -q '^runner record: version 1, 2 vCPUs' "$tmp/runner.txt" ||
	fail "runner record not printed: $(head -3 "$tmp/runner.txt")"
grep -q 'vCPU state: 1000 bytes, sealed' "$tmp/runner.txt" ||
	fail "vCPU section not printed"
grep -q '^runner record' "$tmp/stream.txt" && fail "a record in a bare stream"

python3 - "$tmp" <<'PY' || fail "JSON against the truth"
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/truth.json"))
live = json.load(open(d + "/live-map.json"))
for kind in ("stream", "runner"):
    j = json.load(open("%s/%s.json" % (d, kind)))
    s, m = j["stream"], j["map"]
    assert j["kind"] == kind, j["kind"]
    assert s["memory"] == t["memory"] and s["private_memory"] == t["private"], s
    assert s["resident"] == t["resident"], (s["resident"], t["resident"])
    assert s["private_data"] == t["private_resident"], s
    assert s["shared_data"] == t["resident"] - t["private_resident"], s
    assert s["allocated"] == t["allocated"] and s["populated"] == t["populated"], s
    assert s["launched"] and s["digest"] == t["digest"], s
    assert s["files"] == 2 and s["memslots"] == 3 and s["file_flags"] == [3, 1], s
    assert m["vm"]["kind"] == "snapshot", m["vm"]
    got = [[x["slot"], x["gpa"], x["size"], x["file"], x["offset"]]
           for x in m["memslots"]]
    assert got == t["memslots"], got
    # the map drawn from the stream is the live VM's, run by run
    assert m["memslots"] == live["memslots"], (m["memslots"], live["memslots"])
    assert len(m["files"]) == len(live["files"]) == 2
    for a, b in zip(m["files"], live["files"]):
        assert a["runs"] == b["runs"], (a["runs"], b["runs"])
        # huge-page levels worked out from the stream's runs alone, the
        # live one's asked of gmem_get_level()
        assert a["levels"] == b["levels"], (a["levels"], b["levels"])
        assert a["size"] == b["size"] and a["memslots"] == b["memslots"]
    assert m["totals"] == live["totals"], (m["totals"], live["totals"])
    assert m.get("huge") == live.get("huge"), (m.get("huge"), live.get("huge"))
    if kind == "runner":
        r = j["record"]
        assert r["vcpus"] == t["vcpus"] and r["round"] == t["round"], r
        assert r["vcpu_bytes"] == t["vcpu_bytes"] and r["vcpu_sealed"], r
        assert r["stream_offset"] == 256 + t["vcpu_bytes"], r
        assert r["digest"] == t["digest"] and r["memfd"] and r["ring3"], r
        assert m["vm"]["backing"] == "memfd", m["vm"]
        assert j["size"] == r["stream_offset"] + s["bytes"], j["size"]
    else:
        assert j["record"] is None and j["size"] == s["bytes"], j
        assert m["vm"]["backing"] is None, m["vm"]
print("ok: both kinds match the truth and the live map (%d runs)"
      % m["totals"]["runs"])
PY

# Damaged files, made from the good ones.
python3 - "$tmp" <<'PY' || fail "making the damaged files"
import struct, sys
d = sys.argv[1]
stream = open(d + "/stream.gmem", "rb").read()
runner = open(d + "/runner.gmem", "rb").read()
def put(name, b):
    open("%s/%s" % (d, name), "wb").write(b)
def patched(b, at, data):
    return b[:at] + data + b[at + len(data):]
put("empty", b"")
put("text", b"hello, not a snapshot\n")
put("magic-only", b"GMS")
put("cut-stream", stream[:1000])
put("cut-end", stream[:-1])
# a shared page of the first data chunk flipped: find its header
at = 0
while struct.unpack_from("<I", stream, at + 8)[0] != 5:
    at += 64 + struct.unpack_from("<I", stream, at + 12)[0] + 16
assert not struct.unpack_from("<I", stream, at + 44)[0] & 1, "not shared"
put("flipped", patched(stream, at + 200, bytes([stream[at + 200] ^ 1])))
put("trailing", stream + b"\0" * 10)
put("cut-record", runner[:100])
put("cut-vcpu", runner[:600])
put("cut-runner-stream", runner[:5000])
put("version2", patched(runner, 8, struct.pack("<I", 2)))
put("reserved", patched(runner, 200, b"\1"))
put("vcpu-bytes", patched(runner, 160, struct.pack("<Q", 999)))
put("digest", patched(runner, 128, bytes([runner[128] ^ 0xff])))
# a consistent record that puts the stream one byte past where it is
put("late", patched(runner, 160, struct.pack("<QQ", 1001, 1257)))
# by hand: one file of SIZE in one shared run, a one-page memslot (no tag
# is checked without the key)
def chunk(typ, idx, payload, off=0, ln=0):
    return (b"GMSC" + struct.pack("<IIIQ", 1, typ, len(payload), idx) +
            bytes(16) + struct.pack("<IIQQ", 0, 0, off, ln) + payload +
            bytes(16))
def lone(size):
    return (chunk(1, 0, struct.pack("<II", 1, 1) + bytes(40)) +
            chunk(2, 1, struct.pack("<QQ", size, 0)) +
            chunk(3, 2, struct.pack("<IIQ", 1, 0, 0), 0, 4096) +
            chunk(4, 3, b"", 0, size) + chunk(6, 4, struct.pack("<Q", 4)))
put("file-2-63", lone(1 << 63))
put("file-largest", lone((1 << 63) - 4096))
for size in (4096, 1028 << 10, 99996 << 10, 100000 << 10, 3 << 30,
             (1 << 40) - 4096, 1 << 40, 5 << 50, 1536 << 50, 1 << 62):
    put("size-%d" % size, lone(size))
# four files of 2^62 bytes, all private, populated and allocated: the
# summary's sums saturate
def four():
    n = 4
    c = [chunk(1, 0, struct.pack("<II", n, n) + bytes(40))]
    for i in range(n):
        f = chunk(2, 1 + i, struct.pack("<QQ", 1 << 62, 0))
        c.append(f[:40] + struct.pack("<I", i) + f[44:])
    for i in range(n):
        f = chunk(3, 1 + n + i, struct.pack("<IIQ", i + 1, 0, i * 4096),
                  0, 4096)
        c.append(f[:40] + struct.pack("<I", i) + f[44:])
    for i in range(n):
        f = chunk(4, 1 + 2 * n + i, b"", 0, 1 << 62)
        c.append(f[:40] + struct.pack("<II", i, 7) + f[48:])
    c.append(chunk(6, 1 + 3 * n, struct.pack("<Q", 1 + 3 * n)))
    return b"".join(c)
put("four-2-62", four())
# two memslots over one range of its file (drawn as memory it was not)
put("slots-overlap",
    chunk(1, 0, struct.pack("<II", 1, 2) + bytes(40)) +
    chunk(2, 1, struct.pack("<QQ", 8 * 4096, 0)) +
    chunk(3, 2, struct.pack("<IIQ", 1, 0, 0), 0, 8 * 4096) +
    chunk(3, 3, struct.pack("<IIQ", 2, 0, 1 << 20), 0, 8 * 4096) +
    chunk(4, 4, b"", 0, 8 * 4096) + chunk(6, 5, struct.pack("<Q", 5)))
PY

# Sizes in a unit that fits: exact below 100000 of the unit that
# divides, else two decimals rounded down (never more than it is).
while read -r size want; do
	"$gmem" snapshot info "$tmp/size-$size" >"$tmp/size.txt" ||
		fail "info of a $size-byte file exited $?"
	got=$(sed -n 's/^  file 0: \(.*\), flags.*/\1/p' "$tmp/size.txt")
	[ "$got" = "$want" ] ||
		fail "a $size-byte file printed as '$got', not '$want'"
done <<EOF
4096 4 KiB
1052672 1028 KiB
102395904 99996 KiB
102400000 97.65 MiB
3221225472 3 GiB
1099511623680 1023.99 GiB
1099511627776 1 TiB
5629499534213120 5 PiB
1729382256910270464 1536 PiB
4611686018427387904 4 EiB
EOF
"$gmem" snapshot info "$tmp/four-2-62" >"$tmp/four.txt" ||
	fail "info of four 4 EiB files exited $?"
grep -q '^  4 files, 4 memslots, 16 EiB or more of memory, 16 EiB or more private, 4 runs$' \
	"$tmp/four.txt" || fail "four 4 EiB files: $(sed -n 4p "$tmp/four.txt")"
grep -q '^  resident 0 B, allocated 16 EiB or more, populated 16 EiB or more$' \
	"$tmp/four.txt" || fail "four 4 EiB files: $(sed -n 6p "$tmp/four.txt")"
# the memory map's totals saturate too (they wrapped to 0 B)
grep -q '^  4 memslots, 4 files, 16 EiB or more of guest memory in 8 runs$' \
	"$tmp/four.txt" || fail "four 4 EiB files: $(grep 'of guest memory' "$tmp/four.txt")"
grep -q '^totals: 16 EiB or more guest memory: 0 B shared, 16 EiB or more private;' \
	"$tmp/four.txt" || fail "four 4 EiB files: $(grep '^totals' "$tmp/four.txt")"
grep -q '^huge: 16 EiB or more in 1 GiB pages, 0 B in 2 MiB pages' \
	"$tmp/four.txt" || fail "four 4 EiB files: $(grep '^huge' "$tmp/four.txt")"
"$gmem" snapshot info --json "$tmp/four-2-62" | python3 -c '
import json, sys
j = json.load(sys.stdin)
big = 2**64 - 1
assert j["stream"]["memory"] == big, j["stream"]
assert j["map"]["totals"]["guest"] == big, j["map"]["totals"]
' || fail "four 4 EiB files: JSON sums not saturated"

# The largest file gmem_create() makes, drawn: its whole GiBs are one
# level (walked one GiB at a time, this took hours; a hang fails here)
timeout 60 "$gmem" snapshot info "$tmp/file-largest" >"$tmp/largest.txt" ||
	fail "info of the largest file exited $?"
grep -q '^  file 0: 7.99 EiB, flags' "$tmp/largest.txt" ||
	fail "largest file: $(grep '^  file 0' "$tmp/largest.txt")"
grep -q '^huge: 7.99 EiB in 1 GiB pages, 1022 MiB in 2 MiB pages' \
	"$tmp/largest.txt" || fail "largest file's huge pages: $(grep ^huge "$tmp/largest.txt")"

mkdir "$tmp/dir"
rules=$tmp/rules
cat >"$rules" <<EOF
2 | missing command (try 'gmem snapshot --help')                   | snapshot
2 | unknown command 'bogus'                                         | snapshot bogus
2 | expected one FILE, not 0                                        | snapshot info
2 | expected one FILE, not 2                                        | snapshot info $tmp/stream.gmem $tmp/runner.gmem
2 | FILE must be a readable regular file, not '$tmp/none' (No such file or directory) | snapshot info $tmp/none
2 | FILE must be a readable regular file, not '$tmp/dir' (not a regular file) | snapshot info $tmp/dir
2 | FILE must be a readable regular file, not '/dev/zero' (not a regular file) | snapshot info /dev/zero
2 | unknown option '--bogus'                                        | snapshot info --bogus $tmp/stream.gmem
2 | unknown option '--json=1'                                       | snapshot info --json=1 $tmp/stream.gmem
2 | --color must be auto, always or never, not 'blue'               | snapshot info --color=blue $tmp/stream.gmem
1 | is not a gmem snapshot: it must begin with a runner record (GMEMVMS) or a library stream (GMSC) | snapshot info $tmp/empty
1 | is not a gmem snapshot: it must begin with a runner record      | snapshot info $tmp/text
1 | is not a gmem snapshot: it must begin with a runner record      | snapshot info $tmp/magic-only
1 | is not an intact snapshot stream: cut short, damaged or out of order at chunk 10 (read up to byte 992) | snapshot info $tmp/cut-stream
1 | is not an intact snapshot stream: cut short, damaged or out of order | snapshot info $tmp/cut-end
1 | is not an intact snapshot stream: cut short, damaged or out of order | snapshot info $tmp/flipped
1 | has 10 bytes after its stream's END chunk                       | snapshot info $tmp/trailing
1 | is cut short inside its runner record                           | snapshot info $tmp/cut-record
1 | is cut short inside its sealed vCPU state                       | snapshot info $tmp/cut-vcpu
1 | is not an intact snapshot stream: cut short, damaged or out of order | snapshot info $tmp/cut-runner-stream
1 | is a runner snapshot of version 2: this gmem reads version 1   | snapshot info $tmp/version2
1 | has a damaged runner record: a field out of range, a reserved byte set or lengths that disagree | snapshot info $tmp/reserved
1 | has a damaged runner record                                     | snapshot info $tmp/vcpu-bytes
1 | has a runner record whose launch digest is not its stream's     | snapshot info $tmp/digest
1 | is not an intact snapshot stream: cut short, damaged or out of order at chunk 0 | snapshot info $tmp/late
1 | is not an intact snapshot stream: cut short, damaged or out of order at chunk 1 (read up to byte 224) | snapshot info $tmp/file-2-63
1 | is not an intact snapshot stream: cut short, damaged or out of order at chunk 3 | snapshot info $tmp/slots-overlap
EOF
expect_rules "$rules"
echo "PASS"
