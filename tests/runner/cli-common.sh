# SPDX-License-Identifier: MIT
# Shared by the CLI end-to-end tests (sourced, not run): a scratch
# directory, fail(), need_kvm() and expect_bad().
# The caller sets $gmem to the gmem binary first.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# What follows needs KVM: skip the rest of the test without it.
need_kvm() { [ -e /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }; }

# expect_bad WANT ARGS...: gmem ARGS exits WANT with exactly one line on
# stderr and nothing on stdout, within 60 s (a command that never ends,
# such as reading /dev/zero or opening a FIFO, fails here as exit 124).
expect_bad() {
	local want=$1; shift
	timeout 60 "$gmem" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "gmem $* exited $rc, want $want"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] ||
		fail "gmem $*: stderr is not one line: $(cat "$tmp/err")"
	[ -s "$tmp/out" ] && fail "gmem $*: wrote to stdout"
	echo "ok: gmem $* -> $rc: $(cat "$tmp/err")"
}

# expect_rules FILE: one bad input a line, "status | what stderr says |
# arguments", each through expect_bad; prints how many.
expect_rules() {
	local want says args n=0
	while IFS='|' read -r want says args; do
		want=${want// /} says=${says#" "} says=${says%"${says##*[! ]}"}
		eval "set -- $args"
		expect_bad "$want" "$@"
		grep -qF -- "$says" "$tmp/err" ||
			fail "gmem $*: stderr does not say \"$says\": $(cat "$tmp/err")"
		n=$((n + 1))
	done <"$1"
	echo "ok: $n bad inputs"
}

# expect_ran_on WHAT OUT ERR RC LINE ROUNDS: a save or migration failed
# (exit RC is 1, stderr the one line LINE, a grep pattern) and its guest
# ran on to PASS, all ROUNDS rounds, in OUT.
expect_ran_on() {
	local what=$1 out=$2 err=$3 rc=$4 line=$5 rounds=$6
	[ "$rc" -eq 1 ] || fail "$what: exited $rc, want 1"
	[ "$(wc -l <"$err")" -eq 1 ] && grep -q "$line" "$err" ||
		fail "$what: $(cat "$err")"
	grep -q "^  rounds:       $rounds of $rounds per vCPU$" "$out" &&
		grep -q '^PASS: every check held$' "$out" ||
		fail "$what: the guest did not run on to PASS: $(cat "$out")"
	echo "ok: $what: $(cat "$err"); the guest ran on to PASS, exit 1"
}
