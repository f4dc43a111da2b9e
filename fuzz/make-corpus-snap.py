#!/usr/bin/env python3
# Writes the hand-made seeds of fuzz/corpus-snap/ for fuzz-snap-inspect:
# a first byte (each read() hands back at most that + 1 bytes), then a
# snapshot stream (docs/snapshot.md). No tag is checked without the key,
# so the tags are zeros; shared pages carry their real SHA-256.
import hashlib, os, struct, sys

HEAD, FILE, SLOT, RUN, DATA, END = range(1, 7)
PRIV, POP, ALLOC = 1, 2, 4
PG = 4096
SID = bytes(range(16))

def chunk(typ, idx, payload, file=0, flags=0, off=0, ln=0):
	return (b'GMSC' + struct.pack('<IIIQ', 1, typ, len(payload), idx) +
		SID + struct.pack('<IIQQ', file, flags, off, ln) + payload +
		bytes(16))

def stream(files, slots, runs, data, launched=0):
	"""files: sizes; slots: (file, off, len, id, gpa); runs and data:
	(file, off, len, flags), in stream order."""
	out, i = [], 0
	def add(*a, **k):
		nonlocal i
		out.append(chunk(a[0], i, *a[1:], **k))
		i += 1
	add(HEAD, struct.pack('<IIII', len(files), len(slots), launched, 0) +
	    bytes(range(32)))
	for n, size in enumerate(files):
		add(FILE, struct.pack('<QQ', size, 0), file=n)
	for f, off, ln, sid, gpa in slots:
		add(SLOT, struct.pack('<IIQ', sid, 0, gpa), file=f, off=off, ln=ln)
	for f in range(len(files)):
		for rf, off, ln, fl in runs:
			if rf == f:
				add(RUN, b'', file=f, flags=fl, off=off, ln=ln)
		for df, off, ln, fl in data:
			if df != f:
				continue
			pages = bytes((off // PG + k) & 0xff for k in range(ln))
			body = pages if fl & PRIV else hashlib.sha256(pages).digest() + pages
			add(DATA, body, file=f, flags=fl, off=off, ln=ln)
	add(END, struct.pack('<Q', i))
	return b''.join(out)

seeds = {
	'empty-vm': (0, stream([], [], [], [])),
	'one-file-no-data': (255, stream([8 * PG], [(0, 0, 8 * PG, 1, 0x100000)],
					 [(0, 0, 8 * PG, 0)], [])),
	'two-files-runs': (7, stream([4 * PG, 2 * PG],
		[(0, 0, 2 * PG, 1, 0x0), (1, 0, 2 * PG, 2, 0x10000),
		 (0, 2 * PG, 2 * PG, 3, 0x20000)],
		[(0, 0, PG, PRIV | POP), (0, PG, 3 * PG, ALLOC), (1, 0, 2 * PG, PRIV)],
		[], launched=1)),
	'shared-and-private-data': (63, stream([8 * PG],
		[(0, 0, 8 * PG, 1, 0x200000)],
		[(0, 0, 2 * PG, POP), (0, 2 * PG, 2 * PG, PRIV), (0, 4 * PG, 4 * PG, 0)],
		[(0, 0, PG, 0), (0, 2 * PG, PG, PRIV), (0, 4 * PG, 2 * PG, 0)])),
	'largest-file': (31, stream([(1 << 63) - PG], [(0, 0, PG, 1, 0)],
				    [(0, 0, (1 << 63) - PG, 0)], [])),
	# four files of 2^62 bytes: the summary's sums saturate at 2^64 - 1
	'memory-past-2-64': (15, stream([1 << 62] * 4,
		[(f, 0, PG, f + 1, f * PG) for f in range(4)],
		[(f, 0, 1 << 62, PRIV | POP | ALLOC) for f in range(4)], [])),
	# two memslots over one range of a file: not intact
	'slots-overlap': (3, stream([4 * PG],
		[(0, 0, 4 * PG, 1, 0), (0, 2 * PG, 2 * PG, 2, 0x100000)],
		[(0, 0, 4 * PG, 0)], [])),
}
d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus-snap')
os.makedirs(d, exist_ok=True)
for name, (step, s) in seeds.items():
	with open(os.path.join(d, name), 'wb') as f:
		f.write(bytes([step]) + s)
