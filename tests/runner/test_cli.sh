#!/bin/bash
# SPDX-License-Identifier: MIT
# Every bad input (exit 2 with one line that states the rule), help and
# --version, and what gmem says without KVM (exit 3) or in a PVM guest:
# nothing here needs KVM. The end-to-end runs on KVM: test_cli_kvm.sh.
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
bdf_rule="--vfio must be a PCI address DDDD:BB:DD.F or BB:DD.F (hex; device 00-1f, function 0-7)"
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
2 | $bdf_rule, not 'zz:00.0'                                    | run --vfio zz:00.0
2 | $bdf_rule, not '0000:00:1f.9'                               | run --vfio 0000:00:1f.9
2 | $bdf_rule, not '00:20.0'                                    | run --vfio 00:20.0
2 | $bdf_rule, not '000:00:01.0'                                | run --vfio 000:00:01.0
2 | $bdf_rule, not ''                                           | run --vfio ''
2 | option '--vfio' needs a value                               | run --vfio
2 | --vfio given twice (one assigned device per run)            | run --vfio ff:1f.7 --vfio ff:1f.7
2 | --vfio 'ff:1f.7': no such PCI device (nothing at /sys/bus/pci/devices/0000:ff:1f.7) | run --vfio ff:1f.7
2 | drive devices from the built-in guest: not with --guest     | run --guest $example_bin --vfio ff:1f.7
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
# no IOMMU (the machine's answer, exit 1): a device that is there, where
# /sys/kernel/iommu_groups is empty (test_run_vfio.sh has the cases that
# need an IOMMU: a device that cannot be bound, a group that is not viable)
dev=$(ls /sys/bus/pci/devices 2>/dev/null | head -n 1)
if [ -n "$dev" ] && [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]; then
	echo "1 | --vfio '$dev': no IOMMU here (/sys/kernel/iommu_groups is empty), and VFIO assigns only devices in an IOMMU group | run --vfio $dev" >>"$rules"
fi
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
