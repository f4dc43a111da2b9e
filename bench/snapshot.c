// SPDX-License-Identifier: MIT
/*
 * Snapshot rows (docs/snapshot.md): gmem_vm_save() and gmem_vm_restore()
 * of a guest with every page written and 0, 50 and 100 % of it private,
 * sealed (AES-256-GCM), to and from a file in $TMPDIR (else /tmp), each
 * beside the same bytes moved without gmem in the same run, each share
 * of private pages with its own competitors measured just before it (the
 * host is shared: its disk's speed drifts):
 *
 *   save      beside write() + fsync() of as many bytes to a file beside
 *             the snapshot, 1 MiB at a time, and beside itself with one
 *             sealing worker rather than two (GMEM_SNAP_THREADS=1, run
 *             just before);
 *   restore   beside read() of the snapshot file itself (page cache, as
 *             the restore then reads it) into one 1 MiB buffer, and beside
 *             read() of it into a fresh memfd mapping of the guest's
 *             size, which is what loading a raw memory image costs (its
 *             pages must be allocated too), and beside itself without
 *             the data thread (GMEM_SNAP_THREADS=0, run just before);
 *   size      of the snapshot above the memory it holds, in %;
 *   cp        of a memfd of the guest's size to a file, as GNU cp 9.1
 *             does it (strace): copy_file_range(), and when that is refused
 *             (EXDEV from tmpfs to another file system) a read()/write()
 *             loop of 128 KiB; the row's name says which ran. Then fsync().
 *
 * The VMs are detached (memfd, no KVM) whatever level 1 runs on: the
 * library's snapshot code is the same, and a KVM VM that mirrors private
 * memory into guest_memfd cannot be saved (-EOPNOTSUPP).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmem.h>

#include "level1.h"

#define IO_CHUNK	(1U << 20)	/* write()/read() competitors */
#define CP_CHUNK	(128U << 10)	/* cp's read()/write() buffer (9.1) */
#define MIB_DEFAULT	1024ULL
#define MIB_QUICK	32ULL

static const uint8_t snap_key[32] = { 0x5a };

struct snap_bench {
	struct bench_table *t;
	uint64_t size;
	char path[4096];		/* the snapshot */
	char path2[4096];		/* write()'s file, beside it */
	uint8_t *buf;			/* IO_CHUNK of pattern */
};

static double mb_per_s(uint64_t bytes, double s)
{
	return s > 0 ? bytes / s / 1e6 : 0;
}

static int put_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0)
			return -errno;
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

static int fd_write(void *opaque, const void *buf, size_t len)
{
	return put_all(*(int *)opaque, buf, len);
}

static long fd_read(void *opaque, void *buf, size_t len)
{
	ssize_t n = read(*(int *)opaque, buf, len);

	return n < 0 ? -errno : n;
}

/* A detached VM with one memslot over a shared file of @size. */
static int make_vm(uint64_t size, struct gmem_vm **vm, struct gmem_file **f)
{
	struct gmem_vm_config cfg = { 0 };
	struct gmem_region rg = { .slot = 1, .size = size };
	int r = gmem_vm_create(&cfg, vm);

	if (r)
		return r;
	r = gmem_create(*vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED, f);
	if (!r) {
		rg.file = *f;
		r = gmem_vm_set_region(*vm, &rg);
		if (r)
			gmem_close(*f);
	}
	if (r)
		gmem_vm_put(*vm);
	return r;
}

static void drop_vm(struct gmem_vm *vm, struct gmem_file *f)
{
	gmem_close(f);
	gmem_vm_put(vm);
}

/* Every page written, the first @pct % of them made private. */
static int fill_vm(struct snap_bench *b, struct gmem_vm *vm,
		   struct gmem_file *f, int pct)
{
	uint64_t priv = b->size * pct / 100 & ~(uint64_t)(GMEM_PAGE_SIZE - 1);
	int r = 0;

	for (uint64_t off = 0; !r && off < b->size; off += IO_CHUNK)
		r = gmem_vm_write(vm, off, b->buf, IO_CHUNK, NULL);
	if (!r && priv)
		r = gmem_set_attributes(f, 0, priv, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	return r;
}

static int open_out(struct snap_bench *b)
{
	int fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	return fd < 0 ? -errno : fd;
}

/* One share of private pages' row names. */
struct snap_keys {
	const char *write, *read, *fresh, *save, *restore, *size;
	const char *save1, *restore0;	/* the A/B: fewer threads */
};

#define SNAP_KEYS(p) { "snap_" p "_write_mb_per_s", "snap_" p "_read_mb_per_s", \
	"snap_" p "_read_fresh_mb_per_s", "snap_" p "_save_mb_per_s", \
	"snap_" p "_restore_mb_per_s", "snap_" p "_size_over_pct", \
	"snap_" p "_save_1w_mb_per_s", "snap_" p "_restore_0t_mb_per_s" }

static const struct snap_keys snap_keys[] = {
	SNAP_KEYS("0"), SNAP_KEYS("50"), SNAP_KEYS("100"),
};
static const int snap_pcts[] = { 0, 50, 100 };
#define NR_PCTS		(sizeof(snap_pcts) / sizeof(snap_pcts[0]))

/* write() + fsync() of the guest's size to a file beside the snapshot's. */
static int bench_write(struct snap_bench *b, const struct snap_keys *k)
{
	int fd = open(b->path2, O_RDWR | O_CREAT | O_TRUNC, 0600), r = 0;
	double t;

	if (fd < 0)
		return -errno;
	t = bench_now();
	for (uint64_t off = 0; !r && off < b->size; off += IO_CHUNK)
		r = put_all(fd, b->buf, IO_CHUNK);
	if (!r && fsync(fd))
		r = -errno;
	t = bench_now() - t;
	close(fd);
	unlink(b->path2);
	if (!r)
		bench_add(b->t, k->write, mb_per_s(b->size, t), "MB/s",
			  "write() + fsync() of as many bytes, 1 MiB writes");
	return r;
}

/* read() of the snapshot in @fd (page cache): into a buffer, into a memfd. */
static int bench_read(struct snap_bench *b, int fd, const struct snap_keys *k)
{
	int mfd = memfd_create("snap-bench", MFD_CLOEXEC), r = 0;
	uint8_t *m = MAP_FAILED;
	double t;

	if (mfd < 0 || ftruncate(mfd, (off_t)b->size))
		r = -errno;
	if (!r)
		m = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 mfd, 0);
	if (!r && m == MAP_FAILED)
		r = -errno;
	for (int pass = 0; !r && pass < 2; pass++) {
		lseek(fd, 0, SEEK_SET);
		t = bench_now();
		for (uint64_t off = 0; !r && off < b->size; off += IO_CHUNK)
			if (read(fd, pass ? m + off : b->buf, IO_CHUNK) !=
			    IO_CHUNK)
				r = -EIO;
		t = bench_now() - t;
		if (!r)
			bench_add(b->t, pass ? k->fresh : k->read,
				  mb_per_s(b->size, t), "MB/s", pass ?
				  "read() of it into a fresh memfd mapping" :
				  "read() of it (page cache) into a 1 MiB buffer");
	}
	if (m != MAP_FAILED)
		munmap(m, b->size);
	if (mfd >= 0)
		close(mfd);
	lseek(fd, 0, SEEK_SET);
	return r;
}

/* cp's own loop when copy_file_range() is refused. */
static int cp_loop(int in, int out, uint64_t size)
{
	uint8_t *buf = malloc(CP_CHUNK);
	int r = buf ? 0 : -ENOMEM;

	for (uint64_t off = 0; !r && off < size; off += CP_CHUNK) {
		ssize_t n = read(in, buf, CP_CHUNK);

		r = n == CP_CHUNK ? put_all(out, buf, CP_CHUNK) : -EIO;
	}
	free(buf);
	return r;
}

/* cp of a memfd of the guest's size, filled beforehand, then fsync(). */
static int bench_cp(struct snap_bench *b)
{
	int in = memfd_create("snap-bench-cp", MFD_CLOEXEC), out = -1, r = 0;
	const char *key = "snap_cp_cfr_mb_per_s";
	uint64_t done = 0;
	double t;

	if (in < 0)
		return -errno;
	for (uint64_t off = 0; !r && off < b->size; off += IO_CHUNK)
		r = put_all(in, b->buf, IO_CHUNK);
	lseek(in, 0, SEEK_SET);
	out = r ? -1 : open_out(b);
	if (!r && out < 0)
		r = out;
	t = bench_now();
	while (!r && done < b->size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL,
					    b->size - done, 0);

		if (n > 0) {
			done += n;
		} else if (!done && n < 0 && (errno == EXDEV ||
			   errno == EINVAL || errno == EOPNOTSUPP ||
			   errno == ENOSYS)) {
			key = "snap_cp_rw_mb_per_s";
			r = cp_loop(in, out, b->size);
			done = b->size;
		} else {
			r = n < 0 ? -errno : -EIO;
		}
	}
	if (!r && fsync(out))
		r = -errno;
	if (!r)
		bench_add(b->t, key, mb_per_s(b->size, bench_now() - t), "MB/s",
			  "cp of a memfd as cp does it, + fsync()");
	if (out >= 0)
		close(out);
	close(in);
	unlink(b->path);
	return r;
}

/*
 * gmem_vm_save() of @vm to @fd from its start (+ fsync), with @threads
 * helper threads (GMEM_SNAP_THREADS; NULL: the library's default).
 */
static int save_once(struct snap_bench *b, struct gmem_vm *vm, int fd,
		     const char *threads, double *mbs)
{
	double t;
	int r;

	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
		return -errno;
	if (threads)
		setenv("GMEM_SNAP_THREADS", threads, 1);
	t = bench_now();
	r = gmem_vm_save(vm, fd_write, &fd, snap_key, 0);
	if (!r && fsync(fd))
		r = -errno;
	t = bench_now() - t;
	unsetenv("GMEM_SNAP_THREADS");
	*mbs = mb_per_s(b->size, t);
	return r;
}

/* gmem_vm_restore() of the snapshot in @fd into a fresh VM (see above). */
static int restore_once(struct snap_bench *b, int fd, const char *threads,
			double *mbs)
{
	struct gmem_vm *tv;
	struct gmem_file *g;
	double t;
	int r = make_vm(b->size, &tv, &g);

	if (r)
		return r;
	if (lseek(fd, 0, SEEK_SET))
		r = -errno;
	if (threads)
		setenv("GMEM_SNAP_THREADS", threads, 1);
	t = bench_now();
	if (!r)
		r = gmem_vm_restore(tv, fd_read, &fd, snap_key, 0);
	t = bench_now() - t;
	unsetenv("GMEM_SNAP_THREADS");
	drop_vm(tv, g);
	*mbs = mb_per_s(b->size, t);
	return r;
}

/*
 * Save @vm to @fd (+ fsync) with one sealing worker, then with the
 * default two (the A/B; the file keeps the second); restore that into a
 * fresh VM without the data thread, then with it.
 */
static int save_restore(struct snap_bench *b, struct gmem_vm *vm, int fd,
			const struct snap_keys *k)
{
	struct stat st;
	double mbs, mbs1;
	int r = save_once(b, vm, fd, "1", &mbs1);

	if (!r)
		r = save_once(b, vm, fd, NULL, &mbs);
	if (!r && fstat(fd, &st))
		r = -errno;
	if (r)
		return r;
	bench_add(b->t, k->save, mbs, "MB/s",
		  "gmem_vm_save() sealed, to a file, + fsync()");
	bench_add(b->t, k->save1, mbs1, "MB/s",
		  "the same with one sealing worker (GMEM_SNAP_THREADS=1)");
	bench_add(b->t, k->size, 100.0 * (st.st_size - (double)b->size) /
		  b->size, "%", "snapshot bytes above the guest's allocated bytes");
	r = bench_read(b, fd, k);
	if (!r)
		r = restore_once(b, fd, "0", &mbs1);
	if (!r)
		r = restore_once(b, fd, NULL, &mbs);
	if (r)
		return r;
	bench_add(b->t, k->restore, mbs, "MB/s",
		  "gmem_vm_restore() of it into a fresh VM");
	bench_add(b->t, k->restore0, mbs1, "MB/s",
		  "the same without the data thread (GMEM_SNAP_THREADS=0)");
	return 0;
}

/*
 * The rows of @pct % private: write() beside it first, then the save and
 * restore, with read() of the snapshot just before the restore reads it.
 */
static int bench_one(struct snap_bench *b, const struct snap_keys *k, int pct)
{
	struct gmem_vm *vm;
	struct gmem_file *f;
	int fd, r = make_vm(b->size, &vm, &f);

	if (r)
		return r;
	r = fill_vm(b, vm, f, pct);
	if (!r)
		r = bench_write(b, k);
	fd = r ? r : open_out(b);
	if (fd >= 0) {
		r = save_restore(b, vm, fd, k);
		close(fd);
		unlink(b->path);
	}
	drop_vm(vm, f);
	return fd < 0 ? fd : r;
}

int bench_snapshot(const struct bench_opts *o, struct bench_table *t)
{
	const char *dir = getenv("TMPDIR");
	uint64_t mib = o->snap_mib ? o->snap_mib :
		       o->quick ? MIB_QUICK : MIB_DEFAULT;
	struct snap_bench b = { .t = t, .size = mib << 20 };
	int r = -ENOMEM;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(b.path, sizeof(b.path), "%s/gmem-bench-snapshot.%d", dir,
		 getpid());
	snprintf(b.path2, sizeof(b.path2), "%s/gmem-bench-write.%d", dir,
		 getpid());
	b.buf = malloc(IO_CHUNK);
	if (b.buf) {
		for (size_t i = 0; i < IO_CHUNK; i++)
			b.buf[i] = (uint8_t)(i * 7 + (i >> 12) * 13 + 1);
		bench_add(t, "snap_mib", (double)mib, "MiB",
			  "the guest's size, every page written");
		r = 0;
		for (unsigned int i = 0; !r && i < NR_PCTS; i++)
			r = bench_one(&b, &snap_keys[i], snap_pcts[i]);
		if (!r)
			r = bench_cp(&b);
	}
	free(b.buf);
	return r ? bench_fail(t, r, "snapshot benchmark (%s): %s", b.path,
			      strerror(-r)) : 0;
}
