#!/bin/bash
# gmem run --save / --restore (docs/snapshot.md, "The runner's snapshot
# file"): a save and its restore pass at two rounds; the snapshot holds
# the guest's secret nowhere in the clear; and every damaged, foreign or
# mismatched snapshot, key or option is refused with one line, exit 1 (2
# for options), nothing on stdout and no guest run. One small snapshot is
# shared by every fault case. Needs KVM.
# "quick": one vCPU on 64 KiB, the save, the secret and the restore only,
# for the kvm suite's run on guest_memfd under TCG (the fault table is
# the file's, the same on either backing: the full test runs natively).
# Both: --restore --prefault, and huge RAM (--huge): its save records it
# and its restore builds it. Where shmem THP is off that half is skipped
# and said so, except inside scripts/kvm-vm (its edu device, 1234:11e8),
# where the test turns THP to "advise" as root and back after; what is
# left everywhere is the record's huge flag set on a plain snapshot:
# refused in one line saying THP is off (on: the vCPU section's tag).
# Usage: test_snapshot.sh GMEM [quick]
set -u
gmem=$1 mode=${2:-full}
. "$(dirname "$0")/cli-common.sh"
need_kvm

vcpus=2 mem=2M mem_bytes=$((2 << 20)) rounds=3 said="2 MiB"
[ "$mode" = quick ] && vcpus=1 mem=64K mem_bytes=65536 rounds=2 said="64 KiB"
snap=$tmp/s.gmem
# FILE.key a hard link to another file: the key made for --save must
# replace the name, never write through it into that file
printf 'not a key\n' >"$tmp/victim"
ln "$tmp/victim" "$snap.key"

# ---- a save at round 1 with a key it makes, and its restore ----
"$gmem" run --vcpus $vcpus --mem $mem --rounds $rounds --save "$snap" \
	>"$tmp/save.out" 2>"$tmp/save.err" || fail "save exited $?: $(cat "$tmp/save.out" "$tmp/save.err")"
grep -q "^gmem run: saved round 1 of $vcpus vCPUs\\?, $said guest RAM to $snap: [0-9]* bytes (vCPU state [0-9]*, sealed; memory stream [0-9]*); key in $snap.key (made for it, mode 0600)$" \
	"$tmp/save.out" || fail "saved line: $(cat "$tmp/save.out")"
grep -q PASS "$tmp/save.out" && fail "a saved run printed a summary"
[ "$(stat -c %a:%s "$snap.key")" = 600:32 ] ||
	fail "made key: $(stat -c %a:%s "$snap.key")"
[ "$(cat "$tmp/victim")" = "not a key" ] ||
	fail "the key was written through a hard link into another file"
echo "ok: $(tail -1 "$tmp/save.out")"

# ---- the secret: nowhere in the file; shared memory is there in the clear ----
python3 - "$snap" $vcpus $mem_bytes <<'PY' || fail "secret check"
import struct, sys
data = open(sys.argv[1], "rb").read()
vcpus, mem = int(sys.argv[2]), int(sys.argv[3])
M = (1 << 64) - 1
def pattern(seed, gpa):  # guests/abi.h guest_pattern()
    x = ((seed * 0x9e3779b97f4a7c15) & M) ^ gpa
    x ^= x >> 31
    x = (x * 0xbf58476d1ce4e5b9) & M
    x ^= x >> 29
    return x | 1
def seed(rnd, vid, what):  # guests/run-guest.h run_seed(), RUN_SEED_SECRET 2
    return ((rnd << 32 | vid << 8) * 4 + what) & M
slice_ = (mem // vcpus) & ~8191
for vid in range(vcpus):
    base = 0x40000000 + vid * slice_
    for off in list(range(0, slice_, slice_ // 16)) + [slice_ - 8]:
        w = struct.pack("<Q", pattern(seed(0, vid, 2), base + off))
        if data.find(w) >= 0:
            sys.exit("vcpu %d: secret word at gpa 0x%x is in the file" %
                     (vid, base + off))
# the identity map's page directory (runner/setup.c), shared system memory:
# entries of 512 MiB and up, which no access marks accessed or dirty
pd = b"".join(struct.pack("<Q", (i << 21) | 0x87) for i in range(256, 320))
if data.find(pd) < 0:
    sys.exit("shared page tables not found: the search sees nothing")
print("ok: no secret word of %d vCPUs in %d bytes; shared page tables found"
      % (vcpus, len(data)))
PY

restore_pass() {
	"$gmem" run --restore "$@" >"$tmp/r.out" 2>"$tmp/r.err" ||
		fail "restore $* exited $?: $(cat "$tmp/r.out" "$tmp/r.err")"
	grep -q '^PASS: every check held$' "$tmp/r.out" ||
		fail "restore $*: $(cat "$tmp/r.out")"
	echo "ok: restore $*: $(grep -E 'restored:|host checks' "$tmp/r.out" | tr -s ' ' | tr '\n' ' ')"
}
restore_pass "$snap"

# ---- --restore --prefault: the restored RAM pre-faulted, a slice per vCPU ----
# (2 MiB-aligned slices: one here, for 2 MiB or less)
restore_pass "$snap" --prefault
grep -Eq "^  prefault: +guest RAM in [0-9.]+ ms, 1 slice\(s\) at once " \
	"$tmp/r.out" || fail "--restore --prefault: $(cat "$tmp/r.out")"

# mutate KIND ARG: a damaged copy of the snapshot in $tmp/bad.gmem
mutate() {
	python3 - "$snap" "$tmp/bad.gmem" "$1" "$2" "$tmp/big.gmem" <<'PY'
import struct, sys
src, dst, kind, arg, other = sys.argv[1:]
d = bytearray(open(src, "rb").read())
if kind == "cut":
    d = d[:int(arg)]
elif kind == "flip":
    d[int(arg)] ^= 0x01
elif kind == "set":         # bits of the record's flags (offset 20)
    d[20] |= int(arg)
elif kind == "flags":       # the record's flags, all of them
    struct.pack_into("<I", d, 20, int(arg))
elif kind == "tail":        # bytes after the stream's END chunk
    d += bytes(int(arg))
elif kind == "splice":      # this record and vCPU state, another stream
    o = open(other, "rb").read()
    d = d[:int(arg)] + o[struct.unpack_from("<Q", o, 168)[0]:]
open(dst, "wb").write(d)
PY
}

# ---- huge RAM: recorded by the save, built by the restore ----
thp=/sys/kernel/mm/transparent_hugepage/shmem_enabled
word=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$thp" 2>/dev/null)
if [ "$word" = never ] || [ "$word" = deny ] &&
	grep -qx 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null &&
	[ -w "$thp" ]; then
	# scripts/kvm-vm, a throwaway VM: THP on for this case, back after
	thp_was=$word
	trap 'echo "$thp_was" >"$thp"; rm -rf "$tmp"' EXIT
	echo advise >"$thp" || fail "setting $thp"
	word=advise
fi
mutate set 9	# RUNNER_SNAP_HUGE (and MEMFD, its backing) on a plain one
case $word in
never|deny|"")
	expect_bad 1 run --restore "$tmp/bad.gmem" --key "$snap.key"
	grep -qF "the snapshot's guest RAM is huge, and " "$tmp/err" && {
		[ -z "$word" ] ||
		grep -qF "shmem THP is off ($thp: $word): nothing was restored" \
			"$tmp/err"; } ||
		fail "a huge record, THP off: $(cat "$tmp/err")"
	echo "SKIP (the huge save and restore only): shmem THP is off (${word:-none})"
	;;
*)
	"$gmem" run --vcpus $vcpus --mem 2M --rounds $rounds --huge \
		--save "$tmp/h.gmem" >"$tmp/h.out" 2>&1 ||
		fail "huge save exited $?: $(cat "$tmp/h.out")"
	python3 -c 'import struct,sys; f = struct.unpack_from("<I", open(sys.argv[1],"rb").read(), 20)[0]; sys.exit(f & 8 == 0)' \
		"$tmp/h.gmem" || fail "a huge save's record does not say huge"
	restore_pass "$tmp/h.gmem" --prefault
	grep -qx '  huge:         guest RAM on a memfd of shmem transparent huge pages' \
		"$tmp/r.out" || fail "huge restore: $(cat "$tmp/r.out")"
	# the flag set on a plain snapshot: built huge, then its tag fails
	expect_bad 1 run --restore "$tmp/bad.gmem" --key "$snap.key"
	grep -qF "the sealed vCPU state: it does not verify" "$tmp/err" ||
		fail "a huge record on plain RAM: $(cat "$tmp/err")"
	echo "ok: huge RAM saved and restored (shmem THP $word)"
	;;
esac

if [ "$mode" = quick ]; then
	echo "PASS"
	exit 0
fi

# ---- round 2 with a key of one's own, restored with it ----
head -c 32 /dev/urandom >"$tmp/k" && chmod 600 "$tmp/k"
"$gmem" run --vcpus $vcpus --mem $mem --rounds $rounds --save "$tmp/s2.gmem" \
	--save-at-round 2 --key "$tmp/k" >"$tmp/s2.out" 2>&1 ||
	fail "save at round 2 exited $?: $(cat "$tmp/s2.out")"
grep -q "saved round 2 of .* key in $tmp/k$" "$tmp/s2.out" ||
	fail "round 2: $(cat "$tmp/s2.out")"
[ -e "$tmp/s2.gmem.key" ] && fail "--key given, yet FILE.key was made"
restore_pass "$tmp/s2.gmem" --key "$tmp/k" --vcpus $vcpus --mem $mem

# ---- damaged, foreign and mismatched snapshots: refused, nothing run ----
size=$(stat -c %s "$snap")
vbytes=$(python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1],"rb").read(), 160)[0])' "$snap")
stream=$((256 + vbytes))
cp "$snap.key" "$tmp/key" # the damaged copies are read with the right key

# a snapshot of a VM twice the size, same key: its stream goes in a splice
"$gmem" run --vcpus $vcpus --mem 4M --rounds $rounds --save "$tmp/big.gmem" \
	--key "$tmp/key" >/dev/null 2>&1 || fail "the 4M save failed"

# flipped backing and conversion channel: what this host cannot give is
# refused before the key is tried; what it can, by the vCPU section's tag
if "$gmem" host 2>/dev/null | grep -q '^guest_memfd: *yes'; then
	memfd_says="does not verify"	# memfd is given, the record fails
else
	memfd_says="this host's KVM offers memfd only"
fi
if "$gmem" host 2>/dev/null | grep -q '^hypercall exits: *arrive'; then
	conv_says="does not verify"	# the doorbell works everywhere
else
	conv_says="whose exits do not arrive on this host"
fi

# kind | where | what stderr says
while IFS='|' read -r kind at says; do
	kind=${kind// /} at=${at// /} says=${says# }
	at=$((at))
	mutate "$kind" "$at"
	expect_bad 1 run --restore "$tmp/bad.gmem" --key "$tmp/key"
	grep -qF -- "$says" "$tmp/err" ||
		fail "$kind at $at: stderr does not say \"$says\""
done <<EOF
cut    | 0                | not a gmem VM snapshot
cut    | 100              | not a gmem VM snapshot
cut    | 255              | not a gmem VM snapshot
cut    | 256              | the sealed vCPU state: it does not verify
cut    | 256 + 12         | the sealed vCPU state: it does not verify
cut    | stream - 1       | the sealed vCPU state: it does not verify
cut    | stream           | it does not verify
cut    | stream + 40      | it does not verify
cut    | size / 2         | it does not verify
cut    | size - 1         | it does not verify
flip   | 0                | not a gmem VM snapshot
flags  | 8                | not a gmem VM snapshot: no record, or a damaged one
flags  | 1 + 16           | not a gmem VM snapshot: no record, or a damaged one
flags  | 1 << 31          | not a gmem VM snapshot: no record, or a damaged one
flip   | 8                | another version of the format
flip   | 20               | $memfd_says
flip   | 24               | $conv_says
flip   | 56               | the sealed vCPU state: it does not verify
flip   | 130              | the sealed vCPU state: it does not verify
flip   | 256              | the sealed vCPU state: it does not verify
flip   | 256 + vbytes / 2 | the sealed vCPU state: it does not verify
flip   | stream - 1       | the sealed vCPU state: it does not verify
flip   | stream + 20      | it does not verify
flip   | size / 2         | it does not verify
flip   | size - 1         | it does not verify
splice | stream           | laid out otherwise than its record says
tail   | 1                | it does not verify
EOF
echo "ok: cuts, flips and a foreign stream refused"

# keys: wrong, wrong size, readable by others, missing
head -c 32 /dev/urandom >"$tmp/k2" && chmod 600 "$tmp/k2"
head -c 31 /dev/urandom >"$tmp/k31" && chmod 600 "$tmp/k31"
head -c 33 /dev/urandom >"$tmp/k33" && chmod 600 "$tmp/k33"
cp "$tmp/key" "$tmp/k644" && chmod 644 "$tmp/k644"
cp "$snap" "$tmp/nokey.gmem"
cat >"$tmp/rules" <<EOF
1 | the sealed vCPU state: it does not verify | run --restore $snap --key $tmp/k2
1 | 31 bytes, must be exactly 32 | run --restore $snap --key $tmp/k31
1 | 33 bytes, must be exactly 32 | run --restore $snap --key $tmp/k33
1 | mode 0644, must be 0600 | run --restore $snap --key $tmp/k644
1 | mode 0644, must be 0600 | run --save $tmp/x.gmem --key $tmp/k644 --vcpus 1 --mem 1M
1 | 31 bytes, must be exactly 32 | run --save $tmp/x.gmem --key $tmp/k31 --vcpus 1 --mem 1M
1 | no --key given and no $tmp/nokey.gmem.key beside it | run --restore $tmp/nokey.gmem
1 | not --expect-digest | run --restore $snap --expect-digest $(printf '%064d' 0)
2 | the snapshot has --vcpus 2, not 3 | run --restore $snap --vcpus 3
2 | the snapshot has --mem 2097152, not 4194304 | run --restore $snap --mem 4M
2 | the snapshot has --rounds 3, not 8 | run --restore $snap --rounds 8
2 | not supported with --guest | run --restore $snap --guest $tmp/k
2 | the snapshot's guest RAM is not huge: leave --huge out | run --restore $snap --huge
2 | --save-at-round must be a round from 1 to --rounds (3), not 4 | run --save $tmp/x.gmem --rounds 3 --save-at-round 4
2 | --save-at-round must be a round from 1 to --rounds | run --save $tmp/x.gmem --save-at-round 0
2 | --save-at-round needs --save FILE or --migrate-to ADDR | run --save-at-round 1
2 | --key needs --save, --restore, --migrate-to or --incoming | run --key $tmp/key
2 | one at a time | run --save $tmp/x.gmem --restore $snap
2 | not for a run that ends at its save | run --save $tmp/x.gmem --json
EOF
expect_rules "$tmp/rules"
[ -e "$tmp/x.gmem" ] && fail "a refused save left $tmp/x.gmem"

# ---- a save that fails (ENOSPC): the guest runs on to PASS, exit 1 ----
"$gmem" run --vcpus $vcpus --mem $mem --rounds $rounds --save /dev/full \
	--key "$tmp/key" >"$tmp/full.out" 2>"$tmp/full.err"
expect_ran_on "--save /dev/full" "$tmp/full.out" "$tmp/full.err" $? \
	"^gmem run: --save /dev/full failed at round 1: No space left on device; the guest runs on, unharmed$" \
	$rounds
echo "PASS"
