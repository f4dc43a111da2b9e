// SPDX-License-Identifier: MIT
/*
 * vutest.c - back-ends, the test's virtio driver, the maps check
 * (vutest.h).
 */
#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "vutest.h"

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The program's path, found on PATH; NULL when it is not installed. */
static const char *find_prog(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096], *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", dir, name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

static void spawn(struct backend *b, char *const argv[])
{
	char log[192];
	int fd;

	snprintf(log, sizeof(log), "%s/log", b->dir);
	b->pid = fork();
	TEST_ASSERT(b->pid >= 0, "fork: %s", strerror(errno));
	if (b->pid)
		return;
	/* A test killed by its timeout takes its back-end with it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	execv(argv[0], argv);
	_exit(127);
}

static void print_log(const struct backend *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -n 20 %s/log >&2", b->dir);
	if (system(cmd))
		return;
}

unsigned int backend_log_count(const struct backend *b, const char *what)
{
	char path[192], line[512];
	unsigned int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log", b->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, what);
	fclose(f);
	return n;
}

/* Whether the back-end's log holds @what. */
static bool log_has(const struct backend *b, const char *what)
{
	return backend_log_count(b, what);
}

/*
 * Whether the back-end is ready for a front-end: its socket exists and,
 * for testpmd, packet forwarding has started. testpmd accepts a device
 * while it is still starting its port, and when it then starts
 * forwarding it flushes its RX queues: a frame sent before that is
 * dropped and never comes back. The tests pass --no-flush-rx, and also
 * wait for its first statistics ("Port statistics", with --stats-period),
 * printed once forwarding runs: no frame goes out before.
 */
static bool ready(const struct backend *b)
{
	struct stat st;

	if (stat(b->sock, &st) || !S_ISSOCK(st.st_mode))
		return false;
	return b->kind != BACKEND_DPDK || log_has(b, "Port statistics");
}

/* Back-ends still running when a check fails are stopped at exit. */
static struct backend *running[4];

static void stop_running(void)
{
	for (unsigned int i = 0; i < 4; i++)
		if (running[i])
			backend_stop(running[i]);
}

static void track(struct backend *b)
{
	static bool registered;
	unsigned int i;

	if (!registered)
		atexit(stop_running);
	registered = true;
	for (i = 0; i < 4; i++) {
		if (!running[i]) {
			running[i] = b;
			return;
		}
	}
	TEST_FAIL("more than 4 back-ends");
}

void backend_start(struct backend *b, enum backend_kind kind)
{
	char prog[256], img[160], blockdev[256], export[320], vdev[192];
	char prefix[96];
	int fd, i, status;

	memset(b, 0, sizeof(*b));
	b->kind = kind;
	if (!find_prog(kind == BACKEND_QSD ? "qemu-storage-daemon" :
		       "dpdk-testpmd", prog, sizeof(prog)))
		TEST_SKIP("%s is not installed",
			  kind == BACKEND_QSD ? "qemu-storage-daemon" :
			  "dpdk-testpmd");
	snprintf(b->dir, sizeof(b->dir), "/tmp/gmem-vu-XXXXXX");
	TEST_ASSERT(mkdtemp(b->dir), "mkdtemp: %s", strerror(errno));
	snprintf(b->sock, sizeof(b->sock), "%s/sock", b->dir);
	if (kind == BACKEND_QSD) {
		snprintf(img, sizeof(img), "%s/disk.img", b->dir);
		fd = open(img, O_RDWR | O_CREAT, 0644);
		TEST_ASSERT(fd >= 0 && !ftruncate(fd, DISK_SIZE), "%s", img);
		close(fd);
		snprintf(blockdev, sizeof(blockdev),
			 "driver=file,filename=%s,node-name=d0", img);
		snprintf(export, sizeof(export),
			 "type=vhost-user-blk,id=e0,node-name=d0,"
			 "addr.type=unix,addr.path=%s,writable=on",
			 b->sock);
		char *argv[] = { prog, "--blockdev", blockdev, "--export",
				 export, NULL };
		spawn(b, argv);
	} else {
		/*
		 * A unique prefix: DPDK leaves /var/run/dpdk/<prefix>.
		 * --no-mlockall: testpmd's default mlockall(MCL_FUTURE)
		 * faults in every page of every region it maps (all guest
		 * memory in the table, 0.2-0.6 s per table with 1 GiB).
		 * --no-flush-rx: a frame the guest sent before forwarding
		 * started is forwarded, not dropped (see ready()).
		 */
		snprintf(b->prefix, sizeof(b->prefix), "gmemvu%d-%s",
			 (int)getpid(), b->dir + strlen("/tmp/gmem-vu-"));
		snprintf(prefix, sizeof(prefix), "--file-prefix=%s",
			 b->prefix);
		snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s", b->sock);
		char *argv[] = { prog, "--no-huge", "-m", "128", "--no-pci",
				 prefix, "--vdev", vdev, "--",
				 "--total-num-mbufs=8192", "--no-mlockall",
				 "--auto-start", "--no-flush-rx",
				 "--forward-mode=io", "--stats-period", "60",
				 NULL };
		spawn(b, argv);
	}
	track(b);
	/*
	 * Up to 60 s, as tests/vhost/backends.sh: under scripts/kvm-vm's
	 * emulated CPU, testpmd alone takes longer than 15 s to start.
	 */
	for (i = 0; i < 1200; i++) {
		if (ready(b))
			return;
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			print_log(b);
			b->pid = 0;
			TEST_FAIL("%s exited (status 0x%x) before listening",
				  prog, status);
		}
		sleep_ms(50);
	}
	print_log(b);
	TEST_FAIL("%s: not ready (socket %s) after 60 s", prog, b->sock);
}

/* Whether every thread of @pid is stopped (state T in its stat). */
static bool all_stopped(pid_t pid)
{
	char path[320], buf[512], *p;
	struct dirent *e;
	bool stopped = true;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	TEST_ASSERT(dir, "%s: %s", path, strerror(errno));
	while (stopped && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && p[1] == ' ' && p[2] != 'T' && p[2] != 't')
			stopped = false;
	}
	closedir(dir);
	return stopped;
}

void backend_freeze(struct backend *b)
{
	TEST_ASSERT(!kill(b->pid, SIGSTOP), "SIGSTOP: %s", strerror(errno));
	for (int i = 0; i < 1000; i++) {
		if (all_stopped(b->pid))
			return;
		sleep_ms(5);
	}
	TEST_FAIL("back-end %d did not stop", (int)b->pid);
}

void backend_stop(struct backend *b)
{
	char cmd[256];
	int status, i;

	for (i = 0; i < 4; i++)
		if (running[i] == b)
			running[i] = NULL;
	if (b->pid > 0) {
		kill(b->pid, SIGCONT);
		kill(b->pid, SIGINT);
		for (i = 0; i < 100; i++) {
			if (waitpid(b->pid, &status, WNOHANG) == b->pid)
				break;
			sleep_ms(50);
		}
		if (i == 100) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &status, 0);
		}
		b->pid = 0;
	}
	if (getenv("VUTEST_LOG"))
		print_log(b);
	/* VUTEST_KEEP=1 keeps the directory (log, disk image) for a look. */
	if (b->dir[0] && !getenv("VUTEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", b->dir);
	}
	if (b->prefix[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf /var/run/dpdk/%s",
			 b->prefix);
		if (system(cmd))
			fprintf(stderr, "cannot remove /var/run/dpdk/%s\n",
				b->prefix);
	}
	b->dir[0] = b->prefix[0] = '\0';
}

struct gmem_vu_dev *backend_connect(struct backend *b,
				    unsigned int timeout_ms)
{
	struct gmem_vu_config cfg = { .timeout_ms = timeout_ms };
	struct gmem_vu_dev *d = NULL;
	int ret, i;

	/* The socket exists a moment before the back-end listens on it. */
	for (i = 0;; i++) {
		ret = gmem_vu_open(b->sock, &cfg, &d);
		if (ret != -ECONNREFUSED || i == 99)
			break;
		gmem_vu_close(d);
		sleep_ms(20);
	}
	TEST_ASSERT(!ret, "gmem_vu_open(%s): %s: %s", b->sock,
		    strerror(-ret), gmem_vu_last_error(d));
	return d;
}

void guest_init(struct guest *g, uint64_t size)
{
	struct gmem_region r = { .slot = 0, .gpa = GUEST_GPA, .size = size };

	g->size = size;
	TEST_RET(gmem_vm_create(NULL, &g->vm), 0);
	TEST_RET(gmem_create(g->vm, size, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT,
			     &g->file), 0);
	r.file = g->file;
	TEST_RET(gmem_vm_set_region(g->vm, &r), 0);
}

void guest_fini(struct guest *g)
{
	TEST_RET(gmem_close(g->file), 0);
	gmem_vm_put(g->vm);
}

void gwrite(struct guest *g, uint64_t gpa, const void *buf, size_t len)
{
	TEST_RET(gmem_vm_write(g->vm, gpa, buf, len, NULL), 0);
}

void gread(struct guest *g, uint64_t gpa, void *buf, size_t len)
{
	TEST_RET(gmem_vm_read(g->vm, gpa, buf, len, NULL), 0);
}

static void vwrite(struct vq *q, uint64_t gpa, const void *buf, size_t len)
{
	TEST_RET(gmem_vm_write(q->vm, gpa, buf, len, NULL), 0);
}

void vq_init(struct vq *q, struct gmem_vm *vm, struct gmem_vu_dev *d,
	     unsigned int index, uint64_t gpa)
{
	static const uint8_t zero[3 * PG];
	struct gmem_vu_vring v = {
		.index = index, .num = VQ_NUM,
		.desc = gpa, .avail = gpa + PG, .used = gpa + 2 * PG,
	};

	memset(q, 0, sizeof(*q));
	q->vm = vm;
	q->index = index;
	q->desc = v.desc;
	q->avail = v.avail;
	q->used = v.used;
	vwrite(q, gpa, zero, sizeof(zero));
	TEST_RET(gmem_vu_vring_setup(d, &v), 0);
}

int vq_restart(struct vq *q, struct gmem_vu_dev *d, uint16_t base)
{
	struct gmem_vu_vring v = {
		.index = q->index, .num = VQ_NUM, .desc = q->desc,
		.avail = q->avail, .used = q->used, .base = base,
	};

	return gmem_vu_vring_setup(d, &v);
}

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

uint16_t vq_post(struct vq *q, const struct vq_buf *bufs, unsigned int n)
{
	uint16_t head = q->next_desc, idx, slot;
	struct vdesc dsc;
	unsigned int i;

	for (i = 0; i < n; i++) {
		idx = (head + i) % VQ_NUM;
		dsc.addr = bufs[i].gpa;
		dsc.len = bufs[i].len;
		dsc.flags = (i + 1 < n ? 1 : 0) | (bufs[i].write ? 2 : 0);
		dsc.next = (idx + 1) % VQ_NUM;
		vwrite(q, q->desc + idx * sizeof(dsc), &dsc, sizeof(dsc));
	}
	q->next_desc = (head + n) % VQ_NUM;
	slot = q->avail_idx % VQ_NUM;
	vwrite(q, q->avail + 4 + 2 * slot, &head, 2);
	/* The ring entry before the index that publishes it. */
	atomic_thread_fence(memory_order_seq_cst);
	q->avail_idx++;
	vwrite(q, q->avail + 2, &q->avail_idx, 2);
	atomic_thread_fence(memory_order_seq_cst);
	return head;
}

int vq_wait(struct vq *q, unsigned int ms, uint32_t *id, uint32_t *len)
{
	uint32_t elem[2];
	uint16_t idx;
	unsigned int i;

	for (i = 0; i < ms * 10; i++) {
		TEST_RET(gmem_vm_read(q->vm, q->used + 2, &idx, 2, NULL), 0);
		if (idx != q->used_idx) {
			atomic_thread_fence(memory_order_seq_cst);
			TEST_RET(gmem_vm_read(q->vm, q->used + 4 + 8 *
					      (q->used_idx % VQ_NUM), elem,
					      8, NULL), 0);
			q->used_idx++;
			*id = elem[0];
			*len = elem[1];
			return 0;
		}
		usleep(100);
	}
	return -ETIMEDOUT;
}

struct ival {
	uint64_t lo, hi;
};

static int cmp_ival(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static uint64_t private_in(struct gmem_file *file, uint64_t lo, uint64_t hi)
{
	uint64_t attrs, run, n = 0, size;
	struct gmem_stat st;

	TEST_RET(gmem_stat(file, &st), 0);
	size = st.size;
	if (hi > size)
		hi = size;
	while (lo < hi) {
		TEST_RET(gmem_get_attributes(file, lo, &attrs, &run), 0);
		if (run > hi - lo)
			run = hi - lo;
		if (attrs & GMEM_ATTR_PRIVATE)
			n += run;
		lo += run;
	}
	return n;
}

uint64_t mapped_private(pid_t pid, struct gmem_file *file)
{
	struct ival iv[256];
	unsigned long start, end, off, ino;
	char path[64], line[512];
	unsigned int n = 0, i;
	uint64_t total = 0, lo, hi;
	struct stat st;
	FILE *f;
	int fd;

	fd = gmem_export_fd(file);
	TEST_ASSERT(fd >= 0, "gmem_export_fd: %s", strerror(-fd));
	TEST_ASSERT(!fstat(fd, &st), "fstat");
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx %*s %lu", &start, &end,
			   &off, &ino) != 4 || ino != st.st_ino ||
		    !strstr(line, "memfd:"))
			continue;
		TEST_ASSERT(n < 256, "too many mappings");
		iv[n].lo = off;
		iv[n++].hi = off + (end - start);
	}
	fclose(f);
	qsort(iv, n, sizeof(iv[0]), cmp_ival);
	/* The union of the mapped file ranges. */
	for (i = 0; i < n; ) {
		lo = iv[i].lo;
		hi = iv[i].hi;
		for (i++; i < n && iv[i].lo <= hi; i++)
			if (iv[i].hi > hi)
				hi = iv[i].hi;
		total += private_in(file, lo, hi);
	}
	return total;
}

void check_table_shared(struct gmem_vu_dev *d)
{
	struct gmem_vu_region r[64];
	int n, i;

	n = gmem_vu_table(d, r, 64);
	TEST_ASSERT(n >= 0 && n <= 64, "gmem_vu_table: %d", n);
	for (i = 0; i < n; i++)
		TEST_ASSERT(!private_in(r[i].file, r[i].offset,
					r[i].offset + r[i].size),
			    "table region gpa 0x%llx size 0x%llx holds a "
			    "private page",
			    (unsigned long long)r[i].gpa,
			    (unsigned long long)r[i].size);
}

void check_exposure(struct backend *b, struct gmem_vu_dev *d,
		    struct gmem_file *file, uint64_t want_exposure)
{
	uint64_t exp, mapped;

	check_table_shared(d);
	TEST_RET(gmem_vu_exposure(d, &exp), 0);
	if (want_exposure != UINT64_MAX)
		TEST_ASSERT(exp == want_exposure,
			    "exposure %llu, want %llu",
			    (unsigned long long)exp,
			    (unsigned long long)want_exposure);
	mapped = mapped_private(b->pid, file);
	TEST_ASSERT(mapped <= exp,
		    "back-end %d maps %llu private bytes, exposure is %llu",
		    (int)b->pid, (unsigned long long)mapped,
		    (unsigned long long)exp);
}

bool table_covers(struct gmem_vu_dev *d, uint64_t gpa, uint64_t len)
{
	struct gmem_vu_region r[64];
	int n, i;

	n = gmem_vu_table(d, r, 64);
	TEST_ASSERT(n >= 0 && n <= 64, "gmem_vu_table: %d", n);
	while (len) {
		for (i = 0; i < n; i++)
			if (gpa >= r[i].gpa && gpa < r[i].gpa + r[i].size)
				break;
		if (i == n)
			return false;
		gpa += PG;
		len -= PG;
	}
	return true;
}

void log_table(struct gmem_vu_dev *d, const char *when)
{
	struct gmem_vu_region r[64];
	struct gmem_vu_info info;
	int n, i;

	if (!getenv("VUTEST_LOG"))
		return;
	n = gmem_vu_table(d, r, 64);
	TEST_RET(gmem_vu_info(d, &info), 0);
	fprintf(stderr, "table %s: %d regions, %llu messages so far\n", when,
		n, (unsigned long long)info.messages);
	for (i = 0; i < n && i < 64; i++)
		fprintf(stderr, "  gpa 0x%llx size 0x%llx offset 0x%llx\n",
			(unsigned long long)r[i].gpa,
			(unsigned long long)r[i].size,
			(unsigned long long)r[i].offset);
}

static void pattern(uint8_t *p, uint32_t len, uint32_t skip, unsigned int tag)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = i < skip ? 0 : (uint8_t)(i * 7 + tag * 131 + 1);
}

/* Fill @src, move it to @dst through the device, compare. */
static void dma_check(const struct cycle *s, uint64_t src, uint64_t dst,
		      unsigned int tag, const char *what)
{
	uint8_t want[PG], got[PG];

	pattern(want, s->len, s->skip, tag);
	gwrite(s->g, src, want, s->len);
	memset(got, 0xee, s->len);
	gwrite(s->g, dst, got, s->len);
	s->xfer(s->ctx, src, dst, s->len);
	gread(s->g, dst, got, s->len);
	TEST_ASSERT(!memcmp(want + s->skip, got + s->skip, s->len - s->skip),
		    "%s: the data did not land in gpa 0x%llx", what,
		    (unsigned long long)dst);
}

void conversion_cycle(const struct cycle *s, unsigned int round)
{
	uint64_t off = s->buf - GUEST_GPA;
	struct gmem_fault fault;
	uint8_t byte;

	/* Shared: the device reaches the buffer both ways. */
	dma_check(s, s->src, s->buf, round * 8 + 1, "shared, into buf");
	dma_check(s, s->buf, s->dst, round * 8 + 2, "shared, from buf");

	/* Private: out of the table before the conversion returns. */
	TEST_RET(gmem_vm_set_attributes(s->g->vm, s->buf, PG,
					GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_ASSERT(!table_covers(s->d, s->buf, PG),
		    "a private page is in the back-end's table");
	check_exposure(s->b, s->d, s->g->file, s->exposure);
	TEST_RET(gmem_vm_read(s->g->vm, s->buf, &byte, 1, &fault), -EFAULT);
	log_table(s->d, "with the buffer private");

	/* The device keeps working on the other buffers meanwhile. */
	dma_check(s, s->src, s->dst, round * 8 + 3, "buf private");

	/* Discarded, shared again, reallocated. */
	TEST_RET(gmem_fallocate(s->g->file, GMEM_FALLOC_KEEP_SIZE |
				GMEM_FALLOC_PUNCH_HOLE, off, PG), 0);
	check_exposure(s->b, s->d, s->g->file, s->exposure);
	TEST_RET(gmem_vm_convert(s->g->vm, s->buf, PG, 0, NULL), 0);
	TEST_ASSERT(table_covers(s->d, s->buf, PG),
		    "a page shared again is not in the back-end's table");
	check_exposure(s->b, s->d, s->g->file, UINT64_MAX);
	TEST_RET(gmem_fallocate(s->g->file, GMEM_FALLOC_KEEP_SIZE, off, PG),
		 0);
	log_table(s->d, "with the buffer shared again");

	/* DMA lands in the page the guest reads, both ways. */
	dma_check(s, s->src, s->buf, round * 8 + 4, "after the round trip");
	dma_check(s, s->buf, s->dst, round * 8 + 5, "from the buf again");
}

void assert_healthy(struct gmem_vu_dev *d, const char *name)
{
	struct gmem_vu_info info;

	TEST_RET(gmem_vu_info(d, &info), 0);
	TEST_ASSERT(info.connected && !info.timeouts && !info.nacks,
		    "%s: connected %u timeouts %llu nacks %llu", name,
		    info.connected, (unsigned long long)info.timeouts,
		    (unsigned long long)info.nacks);
	printf("%s: %llu table messages, %u regions at the end\n", name,
	       (unsigned long long)info.messages, info.regions);
}
