#!/bin/bash
# SPDX-License-Identifier: MIT
# Every bad input (exit 2 with one line that states the rule), help and
# --version, all without KVM; then `gmem run` and `gmem host` end to end,
# --json parsed back, the progress line on a terminal (and nothing extra
# elsewhere), and the example guest under --guest.
# Usage: test_cli.sh GMEM EXAMPLE_GUEST_BIN
set -u
gmem=$1 example_bin=$2
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"

# help and version go to stdout and exit 0
for args in "--help" "-h" "help" "run --help" "run -h" "host --help" "host -h" \
	"bench --help" "bench -h" "measure --help" "measure -h" "map --help" \
	"map -h"; do
	# shellcheck disable=SC2086
	"$gmem" $args >"$tmp/help" 2>&1 || fail "gmem $args exited $?"
	grep -q '^usage: gmem' "$tmp/help" || fail "gmem $args: no usage"
done
# gmem help CMD is CMD's own help
for c in run host bench measure map; do
	"$gmem" help $c >"$tmp/help" 2>&1 || fail "gmem help $c exited $?"
	grep -q "^usage: gmem $c" "$tmp/help" || fail "gmem help $c: $(head -n 1 "$tmp/help")"
done
grep -q -- '--watchdog SECONDS' <("$gmem" run --help) || fail "no --watchdog in help"
[ "$("$gmem" --version)" = "gmem 0.1.0" ] || fail "--version"
for c in run host bench measure map; do
	"$gmem" --help | grep -qE "^  $c " || fail "--help does not list '$c'"
done

# Bad input, one row each: exit status | what stderr must say | arguments.
printf 'x' >"$tmp/big.bin"
truncate -s $((1024 * 1024 + 1)) "$tmp/big.bin"
: >"$tmp/empty.bin"
# a socket nobody listens on: a valid --vhost-user-* value for parsing
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" \
	"$tmp/s.sock" || fail "cannot make a socket"
sock_rule="must name the unix socket a vhost-user back-end listens on"
mkfifo "$tmp/fifo" || fail "cannot make a FIFO"
head -c 8192 /dev/urandom >"$tmp/img.bin"	# two pages
image_rule="IMAGE must be a readable regular file"
gpa_rule="--gpa must be a page-aligned address (a multiple of 4 KiB) with the whole image below 2^64"
plot_rule="--plot must name a directory that can be written (made if it is not there)"
rules=$tmp/rules
cat >"$rules" <<EOF
2 | --vcpus must be a whole number from 1 to 64, not '0'        | run --vcpus 0
2 | --vcpus must be a whole number from 1 to 64, not '65'       | run --vcpus 65
2 | --vcpus must be a whole number from 1 to 64, not 'two'      | run --vcpus two
2 | --vcpus must be a whole number from 1 to 64, not '-1'       | run --vcpus -1
2 | --vcpus must be a whole number from 1 to 64, not ''         | run --vcpus ''
2 | option '--vcpus' needs a value                              | run --vcpus
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '0' | run --mem 0
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '5000' | run --mem 5000
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '4G' | run --mem 4G
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '3145732K' | run --mem 3145732K
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '12Q' | run --mem 12Q
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '-1M' | run --mem -1M
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '8 KiB for 2 vCPUs' | run --mem 8K --vcpus 2
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '64 KiB for 9 vCPUs' | run --vcpus 9 --mem 64K
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not ' 64M' | run --mem ' 64M'
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '+64M' | run --mem +64M
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '64M ' | run --mem '64M '
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '0x' | run --mem 0x
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '18446744073709551616' | run --mem 18446744073709551616
2 | --mem must be a multiple of 4 KiB between 8 KiB per vCPU and 3 GiB, not '17179869184G' | run --mem 17179869184G
2 | option '--mem' needs a value                                | run --mem
2 | --vcpus must be a whole number from 1 to 64, not ' 2'       | run --vcpus ' 2'
2 | --vcpus must be a whole number from 1 to 64, not '+2'       | run --vcpus +2
2 | --vcpus must be a whole number from 1 to 64, not '0x2'      | run --vcpus 0x2
2 | --rounds must be a whole number from 1 to 1000000, not ' -1' | run --rounds ' -1'
2 | --rounds must be a whole number from 1 to 1000000, not '18446744073709551617' | run --rounds 18446744073709551617
2 | --watchdog must be a whole number of seconds from 1 to 3600, not '	5' | run --watchdog '	5'
2 | --rounds must be a whole number from 1 to 1000000, not '0'  | run --rounds 0
2 | --rounds must be a whole number from 1 to 1000000, not '-3' | run --rounds -3
2 | --rounds must be a whole number from 1 to 1000000, not '1000001' | run --rounds 1000001
2 | --rounds must be a whole number from 1 to 1000000, not '1e3' | run --rounds 1e3
2 | --watchdog must be a whole number of seconds from 1 to 3600, not '0' | run --watchdog 0
2 | --watchdog must be a whole number of seconds from 1 to 3600, not '3601' | run --watchdog 3601
2 | --watchdog must be a whole number of seconds from 1 to 3600, not '1.5' | run --watchdog 1.5
2 | --watchdog must be a whole number of seconds from 1 to 3600, not '10s' | run --watchdog 10s
2 | option '--watchdog' needs a value                           | run --watchdog
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '/nonexistent/guest.bin' (No such file or directory) | run --guest /nonexistent/guest.bin
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '$tmp' (not a regular file) | run --guest $tmp
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '$tmp/empty.bin' (empty or larger than 1 MiB) | run --guest $tmp/empty.bin
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '$tmp/big.bin' (empty or larger than 1 MiB) | run --guest $tmp/big.bin
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '/dev/zero' (not a regular file) | run --guest /dev/zero
2 | --guest must name a readable flat image of 1 byte to 1 MiB, not '$tmp/fifo' (not a regular file) | run --guest $tmp/fifo
2 | $image_rule, not '/dev/zero' (not a regular file)          | measure /dev/zero
2 | $image_rule, not '$tmp' (not a regular file)               | measure $tmp
2 | $image_rule, not '$tmp/fifo' (not a regular file)          | measure $tmp/fifo
2 | $image_rule, not '/nonexistent/img' (No such file or directory) | measure /nonexistent/img
2 | $gpa_rule, not ' -4096'                                    | measure $tmp/img.bin --gpa ' -4096'
2 | $gpa_rule, not '-4096'                                     | measure $tmp/img.bin --gpa -4096
2 | $gpa_rule, not '+4096'                                     | measure $tmp/img.bin --gpa +4096
2 | $gpa_rule, not '0x1001'                                    | measure $tmp/img.bin --gpa 0x1001
2 | $gpa_rule, not '0xfffffffffffff000'                        | measure $tmp/img.bin --gpa 0xfffffffffffff000
2 | $gpa_rule, not '0xffffffffffffe000'                        | measure $tmp/img.bin --gpa 0xffffffffffffe000
2 | $gpa_rule, not '0x10000000000000000'                       | measure $tmp/img.bin --gpa 0x10000000000000000
2 | $gpa_rule, not ''                                          | measure $tmp/img.bin --gpa ''
2 | $plot_rule, not '/nonexistent/dir' (No such file or directory) | bench --quick --detached --filter read_64b --plot /nonexistent/dir
2 | $plot_rule, not '$tmp/img.bin' (not a directory)           | bench --quick --detached --filter read_64b --plot $tmp/img.bin
2 | $plot_rule, not '' (empty)                                 | bench --plot ''
2 | --expect-digest must be 64 hex digits (a SHA-256 launch digest), not 'xyz' | run --expect-digest xyz
2 | --expect-digest must be 64 hex digits (a SHA-256 launch digest), not '$(printf '0%.0s' {1..63})' | run --expect-digest $(printf '0%.0s' {1..63})
2 | --expect-digest must be 64 hex digits (a SHA-256 launch digest), not '$(printf 'a%.0s' {1..65})' | run --expect-digest $(printf 'a%.0s' {1..65})
2 | --expect-digest must be 64 hex digits (a SHA-256 launch digest), not '$(printf 'g%.0s' {1..64})' | run --expect-digest $(printf 'g%.0s' {1..64})
2 | option '--expect-digest' needs a value                      | run --expect-digest
2 | --conversions must be hypercall, doorbell or auto, not 'x'  | run --conversions x
2 | --conversions must be hypercall, doorbell or auto, not ''   | run --conversions ''
2 | --conversions must be hypercall, doorbell or auto, not 'Hypercall' | run --conversions Hypercall
2 | --conversions must be hypercall, doorbell or auto, not 'doorbell,hypercall' | run --conversions doorbell,hypercall
2 | --conversions must be hypercall, doorbell or auto, not 'auto ' | run --conversions 'auto '
2 | option '--conversions' needs a value                        | run --conversions
2 | --vhost-user-blk $sock_rule, not '' (empty)                | run --vhost-user-blk ''
2 | --vhost-user-blk $sock_rule, not '$tmp/none.sock' (No such file or directory) | run --vhost-user-blk $tmp/none.sock
2 | --vhost-user-net $sock_rule, not '$tmp/empty.bin' (not a socket) | run --vhost-user-net $tmp/empty.bin
2 | --vhost-user-net $sock_rule, not '$tmp' (not a socket)      | run --vhost-user-net $tmp
2 | option '--vhost-user-net' needs a value                     | run --vhost-user-net
2 | --vhost-user-blk $sock_rule, not '$(printf 'x%.0s' {1..108})' (longer than a unix socket path can be) | run --vhost-user-blk $(printf 'x%.0s' {1..108})
2 | --vhost-user-blk given twice                                | run --vhost-user-blk $tmp/s.sock --vhost-user-blk $tmp/s.sock
2 | drive devices from the built-in guest: not with --guest     | run --guest $example_bin --vhost-user-net $tmp/s.sock
2 | option '--guest' needs a value                              | run --guest
2 | unknown option '--bogus'                                    | run --bogus
2 | unknown option '-x'                                         | run -x
2 | unknown option '--json=yes'                                | run --json=yes
2 | unexpected argument 'extra'                                 | run extra
2 | unknown option '--bogus'                                    | host --bogus
2 | unknown option '-x'                                         | host -x
2 | unknown option '--json=1'                                  | host --json=1
2 | unexpected argument 'extra'                                 | host extra
2 | --only must be level1 or runner, not 'vm'                  | bench --only vm
2 | option '--only' needs a value                              | bench --only
2 | --filter must be a part of a row's name, or a glob, that names a row, not '' | bench --filter ''
2 | --filter must be a part of a row's name, or a glob, that names a row, not 'no_such_row' | bench --filter no_such_row
2 | unknown option '--bogus'                                   | bench --bogus
2 | unknown option '-q'                                        | bench -q
2 | unexpected argument 'extra'                                | bench extra
2 | option '--gpa' needs a value                               | measure $tmp/img.bin --gpa
2 | expected one IMAGE file, not 2                             | measure $tmp/img.bin $tmp/img.bin
2 | unknown command 'frobnicate'                                | help frobnicate
2 | unknown command 'frobnicate'                                | frobnicate
2 | missing command                                             |
EOF
expect_rules "$rules"

# without KVM (/dev/null over /dev/kvm in a private mount namespace, or
# none at all): exit 3 with one line
if [ ! -e /dev/kvm ]; then
	expect_bad 3 run
elif unshare -m true 2>/dev/null; then
	unshare -m sh -c 'mount --bind /dev/null /dev/kvm && exec "$0" run' \
		"$gmem" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 3 ] || fail "no KVM: exit $rc, want 3"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] ||
		fail "no KVM: $(cat "$tmp/out" "$tmp/err")"
	echo "ok: no KVM: $(cat "$tmp/err")"
fi

# What the machine is, said by gmem bench (header and JSON) and by the
# no-KVM line of the other commands: with /dev/kvm unusable never "PVM
# host", whatever kvm_pvm module the kernel carries; a kernel that is a
# PVM guest (faked: a /proc/cpuinfo with the kvm_pvm_guest flag bound over
# the real one) is said to be one.
if unshare -m true 2>/dev/null; then
	grep -m1 '^flags' /proc/cpuinfo | sed 's/$/ kvm_pvm_guest/' >"$tmp/cpuinfo"
	# nokvm CPUINFO CMD...: CMD with /dev/null over /dev/kvm (if there is
	# one) and CPUINFO (if not empty) over /proc/cpuinfo
	nokvm() {
		unshare -m sh -c 'c=$1; shift
			{ [ ! -e /dev/kvm ] || mount --bind /dev/null /dev/kvm; } &&
			{ [ -z "$c" ] || mount --bind "$c" /proc/cpuinfo; } || exit 99
			exec "$@"' sh "$@"
	}
	nokvm "" "$gmem" bench --quick --detached --filter read_64b \
		>"$tmp/m.txt" 2>&1 || fail "bench without KVM exited $?"
	head -n 1 "$tmp/m.txt" | grep -Eq '; (no usable /dev/kvm \(.*\)|no /dev/kvm \(this kernel is a PVM guest\)); --quick$' ||
		fail "bench without KVM: $(head -n 1 "$tmp/m.txt")"
	echo "ok: without KVM: $(head -n 1 "$tmp/m.txt")"
	nokvm "$tmp/cpuinfo" "$gmem" bench --quick --detached --filter read_64b \
		>"$tmp/m.txt" || fail "bench in a PVM guest exited $?"
	head -n 1 "$tmp/m.txt" | grep -q '; no /dev/kvm (this kernel is a PVM guest); --quick$' ||
		fail "bench in a PVM guest: $(head -n 1 "$tmp/m.txt")"
	nokvm "$tmp/cpuinfo" "$gmem" bench --quick --detached --filter read_64b \
		--json >"$tmp/m.json" || fail "bench --json in a PVM guest exited $?"
	python3 - "$tmp/m.json" <<'PY' || fail "bench JSON in a PVM guest"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["machine"] == "pvm-guest" and j["pvm"] is False, j
assert j["machine_text"] == "no /dev/kvm (this kernel is a PVM guest)", j
PY
	nokvm "$tmp/cpuinfo" "$gmem" run >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 3 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
		grep -q '; this kernel is a PVM guest)$' "$tmp/err" ||
		fail "run in a PVM guest: exit $rc: $(cat "$tmp/out" "$tmp/err")"
	echo "ok: in a PVM guest: $(cat "$tmp/err")"
fi

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
