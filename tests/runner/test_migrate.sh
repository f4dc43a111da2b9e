#!/bin/bash
# gmem run --migrate-to / --incoming (docs/snapshot.md, "Migration"): the
# guest moves to another process over a unix socket and over loopback TCP
# and finishes there with every check held, the source saying the bytes
# and the downtime; a destination that dies mid-stream, or never says
# the guest resumed, leaves the source running its guest on to PASS (exit
# 1: the migration failed); a source that dies mid-stream (a stream cut
# at the record, the vCPU section or the memory) is refused by the
# destination with one line, exit 1, nothing run. Needs KVM.
# Usage: test_migrate.sh GMEM
set -u
gmem=$1
. "$(dirname "$0")/cli-common.sh"
need_kvm

shape=(--vcpus 2 --mem 2M --rounds 3)
head -c 32 /dev/urandom >"$tmp/k" && chmod 600 "$tmp/k"

# wait_listen ADDR: until a listening socket is at ADDR (no probe connects:
# the destination takes the first connection as the source)
wait_listen() {
	local i
	for i in $(seq 100); do
		case $1 in
		unix:*) [ -S "${1#unix:}" ] && return 0 ;;
		tcp:*) python3 - "${1##*:}" <<'PY' && return 0 ;;
import sys
port = "%04X" % int(sys.argv[1])
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if f[1].endswith(":" + port) and f[3] == "0A":
        sys.exit(0)
sys.exit(1)
PY
		esac
		sleep 0.1
	done
	fail "nothing listens at $1"
}

# pair ADDR: a destination at ADDR, then the source: both PASS
pair() {
	local addr=$1
	"$gmem" run --incoming "$addr" --key "$tmp/k" >"$tmp/dst.out" 2>&1 &
	local dst=$!
	wait_listen "$addr"
	"$gmem" run "${shape[@]}" --migrate-to "$addr" --key "$tmp/k" \
		--save-at-round 2 >"$tmp/src.out" 2>&1 ||
		fail "source to $addr exited $?: $(cat "$tmp/src.out")"
	wait $dst || fail "destination $addr exited $?: $(cat "$tmp/dst.out")"
	grep -q "^gmem run: migrated round 2 of 2 vCPUs, 2 MiB guest RAM to $addr: [0-9]* bytes (.*); downtime [0-9.]* ms" \
		"$tmp/src.out" || fail "source: $(cat "$tmp/src.out")"
	grep -q PASS "$tmp/src.out" && fail "the source ran its guest on too"
	grep -q "^  restored:     --incoming $addr: [0-9]* bytes" "$tmp/dst.out" &&
		grep -q '^  rounds:       2 of 3 per vCPU$' "$tmp/dst.out" &&
		grep -q '^PASS: every check held$' "$tmp/dst.out" ||
		fail "destination: $(cat "$tmp/dst.out")"
	echo "ok: $(grep -o 'migrated.*' "$tmp/src.out")"
}
pair "unix:$tmp/m.sock"
# a free loopback port (scripts/kvm-vm brings loopback up)
port=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.socket(); c.connect(s.getsockname())
print(s.getsockname()[1])' 2>/dev/null)
# no loopback is no pass: the TCP transport would go untested
[ -n "$port" ] || fail "no loopback TCP here: the tcp: pair cannot run"
pair "tcp:127.0.0.1:$port"


# fake_dest HOW: a destination that reads 4 KiB and dies ("cut"), or the
# whole stream and leaves without saying the guest resumed ("silent")
fake_dest() {
	python3 - "$tmp/f.sock" "$1" <<'PY' &
import os, socket, sys
path, how = sys.argv[1:]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(1)
c, _ = s.accept()
if how == "cut":
    c.recv(4096)
else:
    while c.recv(1 << 16):
        pass
c.close()
PY
	wait_listen "unix:$tmp/f.sock"
}
for how in cut silent; do
	rm -f "$tmp/f.sock"
	fake_dest $how
	"$gmem" run "${shape[@]}" --migrate-to "unix:$tmp/f.sock" --key "$tmp/k" \
		>"$tmp/src.out" 2>"$tmp/src.err"
	rc=$?
	wait
	expect_ran_on "destination $how" "$tmp/src.out" "$tmp/src.err" $rc \
		"^gmem run: --migrate-to unix:$tmp/f.sock failed at round 1: .*; the guest runs on, unharmed$" 3
done

# a source that dies after N bytes of a real snapshot
"$gmem" run "${shape[@]}" --save "$tmp/s.gmem" --key "$tmp/k" >/dev/null ||
	fail "save for the cut sources failed"
size=$(stat -c %s "$tmp/s.gmem")
for cut in 100 300 $((size / 2)) $((size - 1)); do
	rm -f "$tmp/c.sock"
	"$gmem" run --incoming "unix:$tmp/c.sock" --key "$tmp/k" \
		>"$tmp/dst.out" 2>"$tmp/dst.err" &
	dst=$!
	wait_listen "unix:$tmp/c.sock"
	python3 - "$tmp/c.sock" "$tmp/s.gmem" $cut <<'PY' || fail "fake source"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read()[:int(sys.argv[3])])
s.close()
PY
	wait $dst
	rc=$?
	[ $rc -eq 1 ] && [ ! -s "$tmp/dst.out" ] &&
		[ "$(wc -l <"$tmp/dst.err")" -eq 1 ] &&
		grep -q "^gmem run: --incoming unix:$tmp/c.sock: .*\(not a gmem VM snapshot\|does not verify\)" \
			"$tmp/dst.err" ||
		fail "source cut at $cut: exit $rc: $(cat "$tmp/dst.out" "$tmp/dst.err")"
	echo "ok: source cut at $cut of $size: $(cat "$tmp/dst.err")"
done

# --incoming unix:PATH over a file that is not a socket: refused, the file
# kept (it was unlinked, and the destination then waited for ever)
echo keep >"$tmp/plain"
timeout 60 "$gmem" run --incoming "unix:$tmp/plain" --key "$tmp/k" \
	>"$tmp/dst.out" 2>"$tmp/dst.err"
rc=$?
[ $rc -eq 1 ] && [ "$(cat "$tmp/plain" 2>/dev/null)" = keep ] &&
	grep -q "^gmem run: --incoming unix:$tmp/plain: Address already in use$" \
		"$tmp/dst.err" ||
	fail "--incoming over a plain file: exit $rc, file '$(cat "$tmp/plain" 2>&1)': $(cat "$tmp/dst.err")"
echo "ok: --incoming over a plain file: $(cat "$tmp/dst.err")"

cat >"$tmp/rules" <<EOF
2 | --migrate-to needs --key FILE | run --migrate-to unix:$tmp/x.sock
2 | --incoming needs --key FILE | run --incoming unix:$tmp/x.sock
2 | --migrate-to must be unix:PATH or tcp:HOST:PORT, not 'x.sock' | run --migrate-to x.sock --key $tmp/k
2 | --incoming must be unix:PATH or tcp:HOST:PORT, not 'tcp:nowhere' | run --incoming tcp:nowhere --key $tmp/k
2 | one at a time | run --migrate-to unix:$tmp/x.sock --save $tmp/x.gmem --key $tmp/k
2 | one at a time | run --incoming unix:$tmp/x.sock --restore $tmp/s.gmem --key $tmp/k
1 | cannot connect | run --migrate-to unix:$tmp/x.sock --key $tmp/k
EOF
expect_rules "$tmp/rules"
echo "PASS"
