#!/bin/bash
# SPDX-License-Identifier: MIT
# gmem run --huge (runner_config.huge: guest RAM on a memfd of shmem THP).
# Where shmem THP is off ("never" or "deny", as on this project's PVM host
# and by default in scripts/kvm-vm) the run is refused with exit 2 and
# one line naming the sysfs file and its setting, nothing on stdout (the
# VM never started); where it is on, the run passes and says so. In suite
# runner only: the same path runs in scripts/kvm-vm's bench, not twice
# under TCG here.
# Usage: test_cli_huge.sh GMEM
set -u
gmem=$1
# shellcheck source=cli-common.sh
. "$(dirname "$0")/cli-common.sh"

need_kvm
sysfs=/sys/kernel/mm/transparent_hugepage/shmem_enabled
[ -r "$sysfs" ] || { echo "SKIP: no $sysfs"; exit 77; }
word=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$sysfs")
case $word in
never|deny)
	expect_bad 2 run --vcpus 1 --mem 4M --rounds 1 --huge
	grep -qxF "gmem run: --huge: shmem THP is off ($sysfs: $word)" \
		"$tmp/err" || fail "--huge: $(cat "$tmp/err")"
	# the same run without --huge is fine: the refusal is --huge's
	"$gmem" run --vcpus 1 --mem 4M --rounds 1 >"$tmp/p.txt" ||
		fail "gmem run without --huge exited $?: $(cat "$tmp/p.txt")"
	;;
*)
	"$gmem" run --vcpus 1 --mem 4M --rounds 1 --huge >"$tmp/h.txt" ||
		fail "gmem run --huge ($word) exited $?: $(cat "$tmp/h.txt")"
	grep -qx '  huge:         guest RAM on a memfd of shmem transparent huge pages' \
		"$tmp/h.txt" || fail "--huge line: $(cat "$tmp/h.txt")"
	grep -q '^PASS: every check held$' "$tmp/h.txt" || fail "--huge: no PASS"
	echo "ok: gmem run --huge with shmem THP $word: PASS"
	;;
esac
