# shellcheck shell=bash
# Sourced by the shell tests that need the real vhost-user back-ends:
# start_backends starts qemu-storage-daemon (vhost-user-blk over a 4 MiB
# image) and DPDK testpmd (net_vhost, io forwarding) on sockets in $tmp
# and waits for both sockets: $tmp/blk.sock, $tmp/net.sock. The EXIT trap
# stops them by pid and removes $tmp. The caller sets $tmp and defines
# fail(); skip_without_backends exits 77 when one is not installed.

skip_without_backends() {
	for p in qemu-storage-daemon dpdk-testpmd; do
		command -v "$p" >/dev/null ||
			{ echo "SKIP: $p is not installed"; exit 77; }
	done
}

backend_pids=()
backend_prefix=gmemvb$$

stop_backends() {
	for p in "${backend_pids[@]}"; do
		kill -INT "$p" 2>/dev/null
	done
	sleep 0.5
	for p in "${backend_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp" "/var/run/dpdk/$backend_prefix"
}

start_backends() {
	trap stop_backends EXIT
	truncate -s 4M "$tmp/disk.img"
	qemu-storage-daemon --blockdev "driver=file,filename=$tmp/disk.img,node-name=d0" \
		--export "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path=$tmp/blk.sock,writable=on" \
		>"$tmp/qsd.log" 2>&1 &
	backend_pids+=($!)
	# --no-mlockall: testpmd would otherwise fault in every page it maps.
	dpdk-testpmd --no-huge -m 128 --no-pci --file-prefix="$backend_prefix" \
		--vdev "net_vhost0,iface=$tmp/net.sock" -- --total-num-mbufs=8192 \
		--no-mlockall --no-flush-rx --auto-start --forward-mode=io \
		--stats-period 60 </dev/null >"$tmp/testpmd.log" 2>&1 &
	backend_pids+=($!)
	# slow under emulation (scripts/kvm-vm): up to 60 s
	for _ in $(seq 600); do
		[ -S "$tmp/blk.sock" ] && [ -S "$tmp/net.sock" ] && break
		sleep 0.1
	done
	[ -S "$tmp/blk.sock" ] || fail "qemu-storage-daemon: no socket: $(cat "$tmp/qsd.log")"
	[ -S "$tmp/net.sock" ] || fail "dpdk-testpmd: no socket: $(tail -5 "$tmp/testpmd.log")"
}
