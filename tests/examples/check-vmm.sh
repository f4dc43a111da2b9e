#!/bin/bash
# examples/minimal-vmm boots the example guest and says PASS only when the
# guest's checks and its own held: run it as it is (exit 0, both vCPUs'
# success lines, the launch digest `gmem measure` computes for the image)
# and with --zero (the ZERO content policy, under which the guest's pattern
# cannot survive a conversion back to shared: exit 1 with the guest's
# assertion).
# Usage: check-vmm.sh <minimal-vmm> <gmem-example-guest.bin> <gmem>
set -uo pipefail

vmm=$1 guest=$2 gmem=$3
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi

out=$("$vmm" "$guest" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: minimal-vmm exited $rc"; exit 1; }
held=$(grep -c 'every check held' <<<"$out")
[ "$held" = 2 ] || { echo "FAIL: $held of 2 vCPUs held their checks"; exit 1; }
grep -qx PASS <<<"$out" || { echo "FAIL: no PASS"; exit 1; }
# 2 vCPUs x 3 rounds x (to private, to shared), all by the channel chosen
chan=$(sed -n 's/.*, conversions by \([a-z]*\)$/\1/p' <<<"$out")
grep -qx "conversion requests: 12 by $chan, 0 memory faults" <<<"$out" ||
	{ echo "FAIL: not 12 conversion requests by '$chan'"; exit 1; }
digest=$(sed -n 's/^launch digest: \([0-9a-f]*\) .*/\1/p' <<<"$out")
want=$("$gmem" measure "$guest") || { echo "FAIL: gmem measure"; exit 1; }
[ "$digest" = "$want" ] ||
	{ echo "FAIL: launch digest '$digest', gmem measure says '$want'"; exit 1; }

out=$("$vmm" --zero "$guest" 2>&1)
rc=$?
echo "$out"
[ $rc = 1 ] || { echo "FAIL: minimal-vmm --zero exited $rc, not 1"; exit 1; }
grep -q 'guest assertion failed at .*pattern lost after the conversion back' \
	<<<"$out" || { echo "FAIL: --zero: no failed guest assertion"; exit 1; }
grep -qx FAIL <<<"$out" || { echo "FAIL: --zero: no FAIL line"; exit 1; }
# the guest's failure stops it, before the host's own checks could
! grep -q '^host:' <<<"$out" ||
	{ echo "FAIL: --zero: a failed guest did not stop minimal-vmm"; exit 1; }
echo "minimal-vmm: guest passed, digest as gmem measure, --zero failed as it must: ok"
