#!/bin/bash
# SPDX-License-Identifier: MIT
# `gmem run`, `gmem host` and `gmem bench` end to end on KVM: --json
# parsed back, the progress line on a terminal (and nothing extra
# elsewhere), both conversion mechanisms, and the example guest under
# --guest. What needs no KVM (help, every bad input, no KVM at all) is
# test_cli.sh, so that it does not run again in scripts/kvm-vm.
# Usage: test_cli_kvm.sh GMEM EXAMPLE_GUEST_BIN
set -u
gmem=$1 example_bin=$2
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"

need_kvm

# ... and with KVM: a PVM host when kvm_pvm is in the kernel, else KVM
"$gmem" bench --quick --filter read_64b --json >"$tmp/m.json" ||
	fail "bench --json exited $?"
python3 - "$tmp/m.json" <<'PY' || fail "bench JSON: the machine"
import json, os, sys
j = json.load(open(sys.argv[1]))
pvm = os.path.exists("/sys/module/kvm_pvm")
assert j["machine"] == ("pvm-host" if pvm else "kvm-host"), j
assert j["pvm"] is pvm, j
assert j["machine_text"] == ("PVM host (kvm_pvm serves /dev/kvm)" if pvm
                             else "KVM host"), j
print("ok: bench says", j["machine_text"])
PY

# sizes in the unit that fits; the JSON keeps bytes
"$gmem" run --vcpus 1 --mem 64K --rounds 1 >"$tmp/small.txt" ||
	fail "gmem run --mem 64K exited $?: $(cat "$tmp/small.txt")"
head -n 1 "$tmp/small.txt" | grep -q '^gmem run: 1 vCPU, 64 KiB guest RAM (' ||
	fail "--mem 64K header: $(head -n 1 "$tmp/small.txt")"
grep -q '^    \[0x040000000, 0x040010000) shared  64 KiB$' "$tmp/small.txt" ||
	fail "--mem 64K memory map: $(cat "$tmp/small.txt")"
grep -q '^  conversions:  .* pages (128 KiB), ' "$tmp/small.txt" ||
	fail "--mem 64K conversions: $(cat "$tmp/small.txt")"
"$gmem" run --vcpus 1 --mem 64K --rounds 1 --json >"$tmp/small.json" ||
	fail "gmem run --mem 64K --json exited $?"
python3 - "$tmp/small.json" <<'PY' || fail "--mem 64K JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mem"] == 65536 and j["memory_map"][0]["size"] == 65536, j
assert j["pages_converted"] == 32, j
PY
echo "ok: $(head -n 1 "$tmp/small.txt")"

# --prefault: a line saying how, and the run passes as without it
# (a slice of RAM per vCPU, each one's time)
"$gmem" run --vcpus 2 --mem 8M --rounds 1 --prefault >"$tmp/pf.txt" ||
	fail "gmem run --prefault exited $?: $(cat "$tmp/pf.txt")"
grep -Eq '^  prefault: +guest RAM in [0-9.]+ ms, 2 slice\(s\) at once \((KVM_PRE_FAULT_MEMORY, one vCPU each|host side only: no KVM_PRE_FAULT_MEMORY here)\)$' \
	"$tmp/pf.txt" || fail "--prefault line: $(cat "$tmp/pf.txt")"
grep -Eq '^  prefault per vCPU: [0-9.]+ [0-9.]+ ms$' "$tmp/pf.txt" ||
	fail "--prefault per-vCPU line: $(cat "$tmp/pf.txt")"
grep -q '^PASS: every check held$' "$tmp/pf.txt" || fail "--prefault: no PASS"
grep -q '^  prefault:' "$tmp/small.txt" && fail "a prefault line without --prefault"
echo "ok: $(grep '^  prefault:' "$tmp/pf.txt")"

# gmem run, text: header first, nothing on stderr when not a terminal
"$gmem" run >"$tmp/run.txt" 2>"$tmp/run.err" ||
	fail "gmem run exited $?: $(cat "$tmp/run.txt" "$tmp/run.err")"
head -n 1 "$tmp/run.txt" | grep -q '^gmem run: 2 vCPUs, 64 MiB guest RAM' ||
	fail "the header is not the first line"
grep -q '^PASS: every check held$' "$tmp/run.txt" || fail "no PASS line"
grep -q 'rounds: *8 of 8 per vCPU' "$tmp/run.txt" || fail "rounds line"
grep -q 'KVM_EXIT_IO' "$tmp/run.txt" || fail "no exits line"
grep -q 'heartbeats: *[1-9]' "$tmp/run.txt" || fail "no heartbeats"
[ -s "$tmp/run.err" ] && fail "stderr without a terminal: $(cat "$tmp/run.err")"

grep -Eq '^  mechanism: *(hypercall|doorbell) .*KVM_EXIT_HYPERCALL.*doorbell KVM_EXIT_IO' \
	"$tmp/run.txt" || fail "no mechanism line"

# gmem host says which mechanism this host gets: auto (the default) must
# run that one; each mechanism asked for runs, or the hypercall is refused
# (exit 3, one line) where its exits do not arrive
"$gmem" host --json >"$tmp/host.json" || fail "gmem host --json exited $?"
channel=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["conversion_channel"])' \
	"$tmp/host.json") || fail "host JSON"
for mech in auto doorbell hypercall; do
	want=$mech
	[ "$mech" = auto ] && want=$channel
	if [ "$mech" = hypercall ] && [ "$channel" != hypercall ]; then
		expect_bad 3 run --conversions hypercall
		grep -q 'KVM_HC_MAP_GPA_RANGE exits do not arrive here' "$tmp/err" ||
			fail "hypercall refused without saying why"
		continue
	fi
	"$gmem" run --vcpus 2 --mem 4M --rounds 2 --conversions $mech --json \
		>"$tmp/m.json" 2>"$tmp/m.err" ||
		fail "--conversions $mech exited $?: $(cat "$tmp/m.err")"
	python3 - "$tmp/m.json" "$want" <<'PY' || fail "--conversions $mech JSON"
import json, sys
j, want = json.load(open(sys.argv[1])), sys.argv[2]
assert j["result"] == "pass" and j["conversion_mechanism"] == want, j
n = j["conversions"] + j["conversion_errors"]
other = "doorbell" if want == "hypercall" else "hypercall"
assert j["conversion_exits"][want] == n and n > 0, j
assert j["conversion_exits"][other] == 0, j
assert j["exits"].get("KVM_EXIT_HYPERCALL", 0) == j["conversion_exits"]["hypercall"], j
print("ok: --conversions ran %s, %d requests" % (want, n))
PY
done

# gmem run --json, parsed back
"$gmem" run --vcpus 3 --mem 12M --rounds 2 --watchdog 30 --json \
	>"$tmp/run.json" 2>"$tmp/run.err" || fail "gmem run --json exited $?"
[ -s "$tmp/run.err" ] && fail "--json wrote to stderr: $(cat "$tmp/run.err")"
python3 - "$tmp/run.json" <<'PY' || fail "run JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "pass" and j["error"] is None, j
assert j["vcpus"] == 3 and j["mem"] == 12 << 20 and j["rounds"] == 2, j
assert j["rounds_done"] == 6, j
slice_pages = ((12 << 20) // 3 & ~8191) // 4096
# per round: chunks to private (2 MiB each) + one back to shared
assert j["pages_converted"] == 3 * 2 * 2 * slice_pages, j
assert j["conversions"] >= 12 and j["conversion_errors"] == 0, j
assert j["conversions_per_second"] > 0 and j["host_checks"] == 3 * 2 * 3, j
assert j["exits"]["KVM_EXIT_IO"] > 0 and j["heartbeats"] > 0, j
assert sum(r["size"] for r in j["memory_map"]) == 12 << 20, j
assert all(r["state"] == "shared" for r in j["memory_map"]), j
print("ok: gmem run --json:", j["conversions"], "conversions")
PY

# On a terminal (script(1) gives a pty): the header, then a progress line
# on stderr redrawn with \r and erased at the end; with --json nothing.
script -qec "'$gmem' run --rounds 2" /dev/null >"$tmp/tty.txt" ||
	fail "gmem run on a terminal exited $?: $(cat "$tmp/tty.txt")"
python3 - "$tmp/tty.txt" <<'PY' || fail "progress line: $(cat -v "$tmp/tty.txt")"
import sys
t = open(sys.argv[1], "rb").read().decode()
head = t.index("gmem run: 2 vCPUs")
first = t.index("\r  progress: ")
assert head < first, "progress before the header"
assert "of 4 rounds, " in t and " pages converted, " in t, t
erase = t.rindex("\r\x1b[K")
assert first < erase < t.index("  rounds:  "), "not erased before the summary"
assert "PASS: every check held" in t, t
print("ok: progress line, %d draws" % t.count("\r  progress: "))
PY
script -qec "'$gmem' run --rounds 2 --json" /dev/null >"$tmp/tty.json" ||
	fail "gmem run --json on a terminal exited $?"
grep -q 'progress' "$tmp/tty.json" && fail "--json on a terminal showed progress"

# --guest: the example guest, a guest of one's own with the same ABI
"$gmem" run --guest "$example_bin" --vcpus 3 --mem 6M --rounds 2 \
	>"$tmp/g.txt" || fail "gmem run --guest exited $?: $(cat "$tmp/g.txt")"
for v in 0 1 2; do
	grep -q "^\[vcpu $v\] example: 2 rounds over 2048 KiB, every check held$" \
		"$tmp/g.txt" || fail "--guest: vcpu $v did not report: $(cat "$tmp/g.txt")"
done
grep -q '^PASS' "$tmp/g.txt" || fail "--guest: no PASS"
"$gmem" run --guest "$example_bin" --vcpus 3 --mem 6M --rounds 2 --json \
	>"$tmp/g.json" || fail "gmem run --guest --json exited $?"
python3 - "$tmp/g.json" <<'PY' || fail "--guest JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "pass", j
# per vCPU and round: its 512-page slice to private and back
assert j["conversions"] == 3 * 2 * 2, j
assert j["pages_converted"] == 3 * 2 * 2 * 512, j
assert j["heartbeats"] > 0, j
print("ok: example guest:", j["conversions"], "conversions")
PY
# ... one that fails: ud2 with no IDT triple-faults
printf '\x0f\x0b' >"$tmp/ud2.bin"
"$gmem" run --guest "$tmp/ud2.bin" --vcpus 1 --json >"$tmp/f.json" 2>/dev/null
[ $? -eq 1 ] || fail "failing --guest did not exit 1"
python3 - "$tmp/f.json" <<'PY' || fail "failing --guest JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["result"] == "fail" and "KVM_EXIT_SHUTDOWN" in j["error"], j
print("ok: failing guest:", j["error"])
PY
# ... and one that spins (pause; jmp back): --watchdog sets the limit
printf '\xf3\x90\xeb\xfc' >"$tmp/spin.bin"
"$gmem" run --guest "$tmp/spin.bin" --vcpus 1 --watchdog 1 >"$tmp/s.txt"
[ $? -eq 1 ] || fail "spinning --guest did not exit 1"
grep -Eq "^FAIL: vcpu 0: watchdog at rip 0x10000[02]: no exit for 1000 ms" \
	"$tmp/s.txt" || fail "spinning guest: $(cat "$tmp/s.txt")"
echo "ok: spinning guest: $(grep FAIL "$tmp/s.txt")"

# gmem host, text and JSON
"$gmem" host >"$tmp/host.txt" || fail "gmem host exited $?"
grep -qF "kernel:                $(uname -r) ($(uname -v))" "$tmp/host.txt" ||
	fail "kernel line: $(head -n 1 "$tmp/host.txt")"
grep -q '^KVM API version: *12$' "$tmp/host.txt" || fail "API version"
grep -q '^gmem protection: ' "$tmp/host.txt" || fail "protection line"
"$gmem" host --json >"$tmp/host.json" || fail "gmem host --json exited $?"
python3 - "$tmp/host.json" <<'PY' || fail "host JSON"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["kernel"] == os.uname().release, j
assert j["kernel_version"] == os.uname().version, j
assert j["api_version"] == 12, j
assert j["pvm"] == os.path.exists("/sys/module/kvm_pvm"), j
# PVM offers no guest_memfd: the library backs files with memfd there
if not j["pvm"]:
    assert j["guest_memfd"] is True and j["guest_memfd_flags"] & 1, j
assert j["backing"] == ("guest_memfd" if j["guest_memfd"] else "memfd"), j
assert j["hypercall_exits"] in ("exit", "spin", "in-kernel"), j
assert j["conversion_channel"] == ("hypercall" if j["hypercall_exits"] == "exit"
                                   else "doorbell"), j
mirrored = j["memory_attributes"] & 8 != 0
assert j["protection"] == ("kernel-enforced" if mirrored
                           else "software-protected"), j
if j["pvm"]:
    assert j["hypercall_exits"] == "spin", j
print("ok: gmem host --json:", j["protection"], j["conversion_channel"])
PY

echo "PASS"
