// SPDX-License-Identifier: MIT
/*
 * Save and restore throughput (meson benchmark, not a test): a VM with
 * every page written and 0/50/100 % of them private, saved to a file with
 * gmem_vm_save() and restored from it into a fresh VM, against write()
 * and read() of the same number of bytes to and from the same directory.
 * Usage: test-lib-snapshot-bench [MiB] [DIR]   (default 1024, /tmp)
 */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "lib-util.h"

static uint8_t key[32] = { 42 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fd_write(void *opaque, const void *buf, size_t len)
{
	int fd = *(int *)opaque;

	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0)
			return -errno;
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

static long fd_read(void *opaque, void *buf, size_t len)
{
	ssize_t n = read(*(int *)opaque, buf, len);

	return n < 0 ? -errno : n;
}

static struct gmem_vm *make_vm(uint64_t size, struct gmem_file **f)
{
	struct gmem_vm *vm = test_vm(0);

	*f = new_file(vm, size, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 1, 0, size, *f, 0), 0);
	return vm;
}

/* MB/s of write() then read() of @size bytes through @path. */
static void baseline(const char *path, uint64_t size, double *w, double *r)
{
	const size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	double t;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	fill(buf, chunk, 7);
	t = now();
	for (uint64_t off = 0; off < size; off += chunk)
		TEST_RET(fd_write(&fd, buf, chunk), 0);
	TEST_RET(fsync(fd), 0);
	*w = size / (now() - t) / 1e6;
	lseek(fd, 0, SEEK_SET);
	t = now();
	for (uint64_t off = 0; off < size; off += chunk)
		TEST_RET(read(fd, buf, chunk), (long)chunk);
	*r = size / (now() - t) / 1e6;
	close(fd);
	unlink(path);
	free(buf);
}

static void one(const char *path, uint64_t size, int pct)
{
	struct gmem_file *f, *g;
	struct gmem_vm *vm = make_vm(size, &f), *tv;
	uint8_t *buf = malloc(1 << 20);
	uint64_t priv = size * pct / 100;
	double t, ws, rs, bw, br;
	struct stat st;
	int fd;

	fill(buf, 1 << 20, 3);
	for (uint64_t off = 0; off < size; off += 1 << 20)
		TEST_RET(gmem_vm_write(vm, off, buf, 1 << 20, NULL), 0);
	if (priv)
		convert(f, 0, priv, GMEM_ATTR_PRIVATE, GMEM_CONVERT_PRESERVE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	t = now();
	TEST_RET(gmem_vm_save(vm, fd_write, &fd, key, 0), 0);
	TEST_RET(fsync(fd), 0);
	ws = size / (now() - t) / 1e6;
	TEST_RET(fstat(fd, &st), 0);
	lseek(fd, 0, SEEK_SET);
	tv = make_vm(size, &g);
	t = now();
	TEST_RET(gmem_vm_restore(tv, fd_read, &fd, key, 0), 0);
	rs = size / (now() - t) / 1e6;
	close(fd);
	unlink(path);
	baseline(path, size, &bw, &br);
	printf("%3d%% private  %5llu MiB  file %+.2f%%  save %6.0f MB/s "
	       "(write() %6.0f, %3.0f%%)  restore %6.0f MB/s (read() %6.0f, "
	       "%3.0f%%)\n", pct, (unsigned long long)(size >> 20),
	       100.0 * ((double)st.st_size - size) / size, ws, bw,
	       100 * ws / bw, rs, br, 100 * rs / br);
	gmem_close(g);
	gmem_vm_put(tv);
	gmem_close(f);
	gmem_vm_put(vm);
	free(buf);
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 1024;
	char path[4096];

	snprintf(path, sizeof(path), "%s/gmem-snapshot-bench.%d",
		 argc > 2 ? argv[2] : "/tmp", getpid());
	for (int pct = 0; pct <= 100; pct += 50)
		one(path, mib << 20, pct);
	return 0;
}
