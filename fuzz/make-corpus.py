#!/usr/bin/env python3
# Writes the hand-made seed inputs of fuzz/corpus/ (kept for review: the
# byte layout of every step is documented in fuzz/ops_*.c).
import os, struct, sys

u16 = lambda v: list(struct.pack('<H', v))
CREATE, CLOSE, FALLOC, SETATTR, PIN, UNPIN, GETATTR, STAT = range(8)
REGION, VMATTR, READ, WRITE, VMCFG = 8, 10, 11, 12, 13
MAP, UNMAP, POKE = 14, 15, 16
POLICY, CONVERT = 18, 19
LISTEN, UNLISTEN = 20, 21

def create(vm, pages_idx, flags, special=0):
	return [CREATE, vm | pages_idx << 1 | special << 4, flags]
def region(vm, slot, kind, fi, size, gpa_pages, off=0, x=0, hoff=0):
	b = [REGION, vm, slot, kind, x, fi, hoff, size, gpa_pages]
	return b + (u16(off) if kind & 3 in (1, 3) else [])
def setattr_(fi, off, n, priv, mode, k=0):
	return [SETATTR, fi, k] + u16(off) + u16(n) + [priv, mode]
def vmattr(vm, slot, pg, size, priv, mode):
	return [VMATTR, vm, slot] + u16(pg) + [size, priv, mode]
def access(op, vm, slot, pg, k, length, seed=None):
	b = [op, vm, slot] + u16(pg) + [k] + u16(length)
	return b + (u16(seed) if op == WRITE else [])
def policy(vm, slot, pg, sizek, modek):
	return [POLICY, vm, slot] + u16(pg) + [sizek, modek]
def convert(vm, slot, pg, sizek, a):
	return [CONVERT, vm, slot] + u16(pg) + [sizek, a]
def falloc(fi, mode, off, n, k=0):
	return [FALLOC, fi, mode, k] + u16(off) + u16(n)
def listen(lid, fi, off, n, k=0):
	return [LISTEN, lid, fi, k] + u16(off) + u16(n)
def rng(op, fi, off, n, k=0):
	return [op, fi, k] + u16(off) + u16(n)

seeds = {
 'kvm-convert-preserve': [0] + create(1, 3, 3) + region(1, 0, 1, 0, 4, 16)
	+ access(WRITE, 1, 0, 0, 0, 8192, 7) + setattr_(0, 0, 2, 1, 0)
	+ access(READ, 1, 0, 0, 0, 4096) + setattr_(0, 0, 2, 0, 0)
	+ access(READ, 1, 0, 0, 0, 8192),
 'detached-convert-zero': [0] + create(0, 4, 3) + region(0, 1, 1, 0, 8, 8)
	+ access(WRITE, 0, 1, 0, 0, 3 * 4096, 3) + vmattr(0, 1, 0, 2, 1, 1)
	+ vmattr(0, 1, 0, 4, 0, 0) + access(READ, 0, 1, 0, 0, 4 * 4096),
 'pin-blocks-private': [0] + create(1, 2, 3) + rng(PIN, 0, 1, 1)
	+ setattr_(0, 0, 3, 1, 0) + rng(UNPIN, 0, 1, 1) + setattr_(0, 0, 3, 1, 0)
	+ rng(PIN, 0, 1, 1),
 'punch-and-allocate': [0] + create(0, 3, 3) + region(0, 0, 1, 0, 4, 4)
	+ access(WRITE, 0, 0, 0, 0, 4 * 4096, 9) + falloc(0, 0, 0, 4)
	+ falloc(0, 2, 1, 2) + [STAT, 0] + falloc(0, 2, 3, 100)
	+ access(READ, 0, 0, 0, 0, 4 * 4096),
 'map-protections': [0] + create(1, 3, 3) + [MAP, 0, 1, 0] + u16(0) + u16(4)
	+ [POKE, 0] + u16(1) + u16(5) + setattr_(0, 1, 1, 1, 0)
	+ [POKE, 0] + u16(1) + u16(6) + setattr_(0, 1, 1, 0, 0) + [UNMAP, 0, 0],
 'private-start-file': [0] + create(0, 2, 1) + region(0, 2, 1, 0, 3, 20)
	+ access(READ, 0, 2, 0, 0, 100) + setattr_(0, 0, 1, 0, 1)
	+ access(WRITE, 0, 2, 0, 0, 4096, 1) + [GETATTR, 0, 0] + u16(0),
 'region-rules': [0] + create(1, 3, 3) + create(0, 3, 3)
	+ region(1, 0, 1, 0, 2, 4) + region(1, 1, 1, 0, 2, 4, off=1)
	+ region(1, 2, 1, 0, 1, 12, off=1) + region(1, 3, 1, 1, 1, 30)
	+ region(1, 4, 1, 0, 2, 40, off=3) + region(1, 0, 0, 0, 0, 0)
	+ region(1, 0, 2, 0, 4, 50, hoff=2),
 'close-with-slots': [0] + create(1, 3, 3) + region(1, 0, 1, 0, 4, 8)
	+ [MAP, 0, 1, 0] + u16(0) + u16(2) + [CLOSE, 0]
	+ access(READ, 1, 0, 0, 0, 64) + vmattr(1, 0, 0, 1, 1, 0)
	+ region(1, 0, 0, 0, 0, 0),
 'cross-slot-access': [0] + create(0, 4, 3) + region(0, 0, 1, 0, 2, 8)
	+ region(0, 1, 1, 0, 2, 10, off=2) + region(0, 2, 2, 0, 2, 12)
	+ access(WRITE, 0, 0, 0, 0x96, 0, 4) + setattr_(0, 3, 1, 1, 0)
	+ access(READ, 0, 0, 0, 0x96, 0),
 'zero-only-platform': [0x08] + create(1, 3, 3) + setattr_(0, 0, 2, 1, 0)
	+ setattr_(0, 0, 2, 1, 1) + setattr_(0, 0, 4, 0, 1),
 'bad-arguments': [0] + create(0, 3, 0x83) + create(0, 3, 3, special=5)
	+ create(0, 3, 3, special=6) + create(0, 3, 0x40) + [VMCFG, 0, VMCFG, 9,
	VMCFG, 2, VMCFG, 3, VMCFG, 4, VMCFG, 7] + create(0, 1, 2)
	+ [FALLOC, 0, 4, 0] + u16(0) + u16(1) + setattr_(0, 0, 1, 0x0f, 0)
	+ setattr_(0, 0, 1, 1, 4) + setattr_(0, 0, 1, 1, 5) + [MAP, 0, 0, 0] + u16(0) + u16(1),
 'many-slots': [0] + create(0, 6, 3) + sum((region(0, s, 1, 0, 1, s, off=s)
	for s in range(12)), []) + access(WRITE, 0, 0, 0, 0x84, 0, 2)
	+ vmattr(0, 0, 0, 12, 1, 0) + vmattr(0, 0, 0, 1, 1, 0)
	+ access(READ, 0, 0, 0, 0x80 | 1, 0) + vmattr(0, 0, 0, 12, 0, 1),
 # A pinned page is not punched (-EAGAIN), its neighbours are; after the
 # unpin it is. On both VMs.
 'punch-pinned': [0] + create(0, 3, 3) + create(1, 3, 3)
	+ region(0, 0, 1, 0, 4, 4) + region(1, 0, 1, 1, 4, 4)
	+ access(WRITE, 0, 0, 0, 0, 4 * 4096, 9)
	+ access(WRITE, 1, 0, 0, 0, 4 * 4096, 8)
	+ rng(PIN, 0, 1, 1) + rng(PIN, 1, 1, 1) + rng(PIN, 1, 1, 1)
	+ falloc(0, 2, 0, 4) + falloc(0, 2, 1, 100) + falloc(0, 2, 2, 2)
	+ falloc(1, 2, 1, 1) + rng(UNPIN, 1, 1, 1) + falloc(1, 2, 0, 2)
	+ falloc(0, 2, 4, 1) + rng(UNPIN, 0, 1, 1) + falloc(0, 2, 1, 1)
	+ access(READ, 0, 0, 0, 0, 4 * 4096) + access(READ, 1, 0, 0, 0, 4 * 4096),
 # Plain host memory slots (kind 0x0d: a file slot turned host) take no
 # offset: refused with one, accepted without.
 'host-slot-offset': [0] + create(0, 3, 3) + create(1, 3, 3)
	+ region(0, 0, 0x0d, 0, 1, 8, off=1) + region(1, 0, 0x0d, 1, 1, 8, off=3)
	+ region(0, 0, 0x0d, 0, 1, 8, off=0) + region(1, 1, 0x0d, 1, 2, 16, off=0)
	+ access(WRITE, 0, 0, 0, 0, 4096, 5) + access(READ, 1, 1, 0, 0, 8192),
 # Level 2: ZERO over pages 2..4, PRESERVE again on page 3 (later wins).
 'manager-policy-runs': [0] + create(0, 4, 3) + region(0, 0, 1, 0, 8, 8)
	+ access(WRITE, 0, 0, 0, 0x80, 0, 5) + policy(0, 0, 2, 3, 0)
	+ policy(0, 0, 3, 1, 1) + convert(0, 0, 0, 8, 1)
	+ access(READ, 0, 0, 0, 0x80, 0) + convert(0, 0, 0, 8, 0)
	+ access(READ, 0, 0, 0, 0x80, 0),
 # A pinned page in the second policy run: the first run stays converted.
 'manager-partial-pinned': [0] + create(1, 4, 3) + region(1, 0, 1, 0, 2, 16)
	+ region(1, 1, 1, 0, 2, 18, off=2) + region(1, 2, 2, 0, 2, 20)
	+ access(WRITE, 1, 0, 0, 0x96, 0, 6) + policy(1, 1, 0, 2, 0)
	+ rng(PIN, 0, 3, 1) + convert(1, 0, 0, 4, 1) + convert(1, 0, 0, 6, 1)
	+ convert(1, 0, 0, 6, 0x40 | 1) + rng(UNPIN, 0, 3, 1)
	+ convert(1, 0, 0, 4, 1) + convert(1, 0, 0, 6, 0)
	+ access(READ, 1, 0, 0, 0x96, 0),
 # Holes, a closed file's slot, bad arguments, a ZERO-only platform.
 'manager-holes-and-errors': [0x08] + create(1, 3, 3) + create(0, 2, 3)
	+ region(1, 0, 1, 0, 2, 8) + region(1, 1, 1, 0, 1, 12, off=3)
	+ region(0, 0, 1, 1, 2, 8) + convert(1, 0, 0, 5, 1)
	+ convert(1, 0, 0, 5, 0) + policy(1, 0, 0, 4, 1) + policy(1, 0, 0, 4, 0)
	+ policy(1, 0, 0, 4, 4) + policy(1, 0, 0, 4, 0x80) + policy(0, 0, 0, 0xf0, 0)
	+ convert(1, 0, 0, 0xf1, 1) + convert(1, 0, 0, 0xf3, 0)
	+ convert(1, 0, 0, 0xe4, 0) + convert(1, 0, 0, 2, 0x0f)
	+ [CLOSE, 1] + convert(0, 0, 0, 2, 1) + convert(0, 0, 0, 2, 0)
	+ convert(1, 0, 0, 3, 1) + convert(1, 0, 0, 2, 1)
	+ convert(1, 0, 0, 2, 0) + convert(0, 0, 0, 1, 0x80),
 # Plain memory over the VM's hole (region x=0x08, unmapped): files and
 # gmem_map() mappings of both VMs land elsewhere, accesses there fault
 # (after the host page before it was copied); plain slots over a gmem_map
 # mapping (x=0x10) or a file's own mapping (x=0x18) are refused.
 'plain-hole': [0] + region(0, 0, 2, 0, 15, 8, x=0x08) + create(1, 5, 3)
	+ region(1, 0, 1, 0, 16, 8) + access(WRITE, 1, 0, 0, 0x90, 0, 4)
	+ access(READ, 0, 0, 0, 0, 4096) + access(WRITE, 0, 0, 3, 0x90, 0, 3)
	+ create(0, 5, 3) + [MAP, 1, 1, 0] + u16(0) + u16(16)
	+ [MAP, 0, 1, 0] + u16(0) + u16(16)
	+ region(0, 1, 2, 0, 3, 40, x=0x10) + region(1, 1, 2, 0, 3, 40, x=0x18)
	+ region(1, 2, 2, 1, 3, 60, x=0x18, hoff=1) + region(0, 2, 2, 0, 0, 7)
	+ access(WRITE, 0, 2, 0, 0x82, 0, 5) + access(READ, 0, 2, 0, 0x82, 0)
	+ region(0, 0, 0, 0, 0, 0) + create(1, 5, 3) + access(READ, 1, 0, 0, 0x90, 0),
 # Guest memory, then plain memory over the hole, in one access: it faults
 # on the hole, and the guest memory before it is neither written nor read
 # (include/gmem.h: "Guest memory is not touched then").
 'file-then-hole': [0] + create(0, 2, 3) + region(0, 0, 1, 0, 3, 8)
	+ region(0, 1, 2, 0, 1, 11, x=0x08) + access(WRITE, 0, 0, 0, 0x94, 0, 3)
	+ access(READ, 0, 0, 0, 0x94, 0),
 # Listeners follow every entry point: by file, by gpa, the manager, a
 # punch, close; a bad range is refused.
 'listeners-follow': [0] + create(0, 4, 3) + region(0, 0, 1, 0, 8, 8)
	+ listen(0, 0, 0, 8) + listen(1, 0, 2, 3) + listen(2, 0, 7, 5)
	+ setattr_(0, 1, 3, 1, 0) + vmattr(0, 0, 0, 2, 0, 1)
	+ convert(0, 0, 2, 4, 1) + falloc(0, 2, 0, 8) + [UNLISTEN, 1]
	+ convert(0, 0, 0, 8, 0) + listen(1, 0, 4, 2) + [CLOSE, 0],
 # Huge-page levels of a 4 MiB file: a page splits its 2 MiB region and
 # merges back, a change across the region edge, all shared again; a
 # hugetlb file is up to the system (a pool) and never -EINVAL here.
 'huge-levels': [0] + create(0, 7, 3) + setattr_(0, 513, 1, 1, 0)
	+ setattr_(0, 513, 1, 0, 0) + setattr_(0, 511, 2, 1, 0)
	+ setattr_(0, 0, 512, 1, 0) + setattr_(0, 0, 1024, 0, 0)
	+ [CREATE, 7 << 1, 0x80],
}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
	with open(os.path.join(out, name), 'wb') as f:
		f.write(bytes(data))
