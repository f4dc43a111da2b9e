// SPDX-License-Identifier: MIT
/*
 * fork(): a child must not reach the parent's private pages through
 * anything the library made.
 *
 * The parent makes a file with private pages, several gmem_map() mappings
 * (one of them entirely private) and a memslot, then forks. The child
 *  - touches every page of every shared mapping the parent had (the
 *    library's own mapping of the file included, found in
 *    /proc/self/maps): each access must fault, the mappings are absent
 *    (MADV_DONTFORK);
 *  - looks at every fd it inherited: none may be one of the library's
 *    (the file's memfd or guest_memfd, /dev/kvm, the VM), and mapping any
 *    of them must not show a private page's bytes. O_CLOEXEC alone would
 *    leave them all open here: it acts at exec, not at fork;
 *  - finds the fd gmem_export_fd() gave the parent still open and naming
 *    the file: that one is the caller's to close or keep (include/gmem.h).
 * The parent then checks that its own objects still work.
 *
 * Then fork() while another thread creates and closes files (and VMs) all
 * the time: a child must never keep an fd the library opened, whatever
 * point of creation or close the fork fell on.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib-util.h"

#define NP	16
#define GPA	0x100000000ULL
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define RW	(PROT_READ | PROT_WRITE)
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED | GMEM_FLAG_EXPORT)
#define MAXR	64

/* Private pages of the file: their bytes must never reach the child. */
static bool is_private(uint64_t p)
{
	return p == 3 || (p >= 8 && p < 12) || p == NP - 1;
}

struct fx {
	struct gmem_vm *vm;
	struct gmem_file *f;
	int efd;			/* from gmem_export_fd() */
	int vm_fd;			/* gmem_vm_fd(), or -1 */
	int mirrored;			/* gmem_vm_private_mirrored() */
	struct stat st;			/* of the file, through efd */
	uintptr_t r[MAXR][2];		/* the parent's shared mappings */
	unsigned int nr;
};

/* Gmem_map() ranges, file pages: one of them is private throughout. */
static const struct { uint64_t pg, n; int prot; } maps[] = {
	{ 0, NP, RW },
	{ 2, 4, PROT_READ },
	{ 8, 4, RW },
	{ 12, 3, RW },
};

/* The first private page whose bytes @buf (the file from 0) shows, or -1. */
static long shows_private(const uint8_t *buf, uint64_t npages)
{
	for (uint64_t p = 0; p < npages; p++)
		if (is_private(p) && check_pattern(buf + p * PG, PG, p + 1) < 0)
			return (long)p;
	return -1;
}

/* Child: every page of the parent's shared mappings must fault. */
static int child_mappings(const struct fx *x)
{
	int bad = 0;

	for (unsigned int i = 0; i < x->nr; i++) {
		for (uintptr_t a = x->r[i][0]; a < x->r[i][1]; a += PG) {
			if (probe((void *)a, 0))
				continue;
			fprintf(stderr, "  child: %#lx (parent's shared mapping "
				"%#lx-%#lx) is readable\n", (unsigned long)a,
				(unsigned long)x->r[i][0],
				(unsigned long)x->r[i][1]);
			bad = 1;
			break;
		}
	}
	return bad;
}

/* Child: what one inherited fd is, and whether it shows private bytes. */
static int child_fd(const struct fx *x, int fd)
{
	char path[64], link[256] = "";
	struct stat st;
	ssize_t n;
	void *p;
	long pg;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0)
		link[n] = '\0';
	if (fstat(fd, &st) < 0)
		return 0;
	if (st.st_dev == x->st.st_dev && st.st_ino == x->st.st_ino) {
		fprintf(stderr, "  child: fd %d (%s) is the library's file\n",
			fd, link);
		return 1;
	}
	if (fd == x->vm_fd || strstr(link, "kvm") || strstr(link, "gmem")) {
		fprintf(stderr, "  child: fd %d (%s) is the library's\n", fd,
			link);
		return 1;
	}
	p = mmap(NULL, NP * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	/* A shorter file faults past its end: only look within it. */
	pg = S_ISREG(st.st_mode) && st.st_size < (off_t)(NP * PG) ?
	     -1 : shows_private(p, NP);
	munmap(p, NP * PG);
	if (pg < 0)
		return 0;
	fprintf(stderr, "  child: fd %d (%s) shows private page %ld\n", fd,
		link, pg);
	return 1;
}

static int child_fds(const struct fx *x)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int bad = 0, seen = 0;

	if (!d) {
		fprintf(stderr, "  child: /proc/self/fd: %s\n",
			strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		seen++;
		if (fd != x->efd)
			bad |= child_fd(x, fd);
	}
	closedir(d);
	if (!seen) {
		fprintf(stderr, "  child: no fd seen at all\n");
		bad = 1;
	}
	return bad;
}

/*
 * Child: the caller's fd is untouched and still names the file. Unless
 * KVM enforces private memory, it shows the private pages too, which is
 * also what shows that child_fd() would see them.
 */
static int child_export(const struct fx *x)
{
	struct stat st;
	uint8_t *p;
	int bad;

	if (fstat(x->efd, &st) < 0 || st.st_ino != x->st.st_ino) {
		fprintf(stderr, "  child: the exported fd %d was closed\n",
			x->efd);
		return 1;
	}
	p = mmap(NULL, NP * PG, PROT_READ, MAP_SHARED, x->efd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "  child: mmap of the exported fd: %s\n",
			strerror(errno));
		return 1;
	}
	bad = check_pattern(p, PG, 1) >= 0;
	if (bad)
		fprintf(stderr, "  child: the exported fd shows other bytes\n");
	if (!x->mirrored && shows_private(p, NP) < 0) {
		fprintf(stderr, "  child: the private bytes were not seen "
			"through the exported fd\n");
		bad = 1;
	}
	munmap(p, NP * PG);
	return bad;
}

static void child(const struct fx *x)
{
	int bad = 0;

	alarm(20);
	/* First, before the child opens anything that could reuse it. */
	if (x->vm_fd >= 0 && fcntl(x->vm_fd, F_GETFD) >= 0) {
		fprintf(stderr, "  child: the VM fd %d is open\n", x->vm_fd);
		bad = 1;
	}
	bad |= child_mappings(x);
	bad |= child_fds(x);
	bad |= child_export(x);
	if (gmem_vm_read(x->vm, GPA, (uint8_t[8]){ 0 }, 8, NULL) != -EIO) {
		fprintf(stderr, "  child: gmem_vm_read is not -EIO\n");
		bad = 1;
	}
	_exit(bad ? KSFT_FAIL : KSFT_PASS);
}

static void setup(struct fx *x, struct gmem_vm *vm)
{
	static uint8_t buf[PG];
	unsigned int readable = 0;
	void *a;

	x->vm = vm;
	x->f = new_file(vm, NP * PG, FLAGS);
	TEST_RET(set_slot(vm, 0, GPA, NP * PG, x->f, 0), 0);
	for (uint64_t p = 0; p < NP; p++) {
		fill(buf, PG, p + 1);
		TEST_RET(gmem_vm_write(vm, GPA + p * PG, buf, PG, NULL), 0);
	}
	for (uint64_t p = 0; p < NP; p++)
		if (is_private(p))
			convert(x->f, p * PG, PG, PRIV, KEEP);
	for (unsigned int i = 0; i < ARRAY_SIZE(maps); i++)
		TEST_RET(gmem_map(x->f, maps[i].pg * PG, maps[i].n * PG,
				  maps[i].prot, &a), 0);
	x->efd = gmem_export_fd(x->f);
	TEST_ASSERT(x->efd >= 0, "gmem_export_fd: %d", x->efd);
	TEST_ASSERT(!fstat(x->efd, &x->st), "fstat: %s", strerror(errno));
	x->vm_fd = gmem_vm_fd(vm);
	if (x->vm_fd < 0)
		x->vm_fd = -1;
	x->mirrored = gmem_vm_private_mirrored(vm);
	TEST_ASSERT(x->mirrored >= 0, "gmem_vm_private_mirrored: %d",
		    x->mirrored);
	x->nr = shared_maps(x->r, MAXR);
	/* The library's own mapping and every gmem_map(): none missed. */
	TEST_ASSERT(x->nr >= ARRAY_SIZE(maps) + 1,
		    "%u shared mappings found, want at least %zu", x->nr,
		    ARRAY_SIZE(maps) + 1);
	/* Here, in the parent, the probe does reach them. */
	for (unsigned int i = 0; i < x->nr && !readable; i++)
		for (uintptr_t a = x->r[i][0]; a < x->r[i][1]; a += PG)
			if (!probe((void *)a, 0))
				readable++;
	TEST_ASSERT(readable, "no page of the shared mappings is readable");
}

/* After the child: the parent's fds and mappings still work. */
static void parent_after(struct fx *x)
{
	uint8_t buf[PG];
	struct gmem_file *g;
	int fd;

	TEST_RET(gmem_vm_read(x->vm, GPA, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, 1) < 0, "parent: page 0 changed");
	TEST_RET(gmem_vm_read(x->vm, GPA + 3 * PG, buf, PG, NULL), -EFAULT);
	convert(x->f, 3 * PG, PG, 0, KEEP);
	TEST_RET(gmem_vm_read(x->vm, GPA + 3 * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, 4) < 0, "parent: page 3 changed");
	fd = gmem_export_fd(x->f);
	TEST_ASSERT(fd >= 0, "parent: gmem_export_fd after fork: %d", fd);
	close(fd);
	g = new_file(x->vm, PG, FLAGS);
	TEST_RET(gmem_fallocate(g, GMEM_FALLOC_KEEP_SIZE, 0, PG), 0);
	TEST_RET(gmem_close(g), 0);
	TEST_RET(del_slot(x->vm, 0), 0);
	close(x->efd);
	TEST_RET(gmem_close(x->f), 0);
}

static void test_fork(struct gmem_vm *vm, int kvm)
{
	struct fx x = { 0 };
	int status;
	pid_t pid;

	(void)kvm;
	setup(&x, vm);
	fflush(NULL);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		child(&x);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "the child reached the library's memory or fds "
		    "(status %#x)", status);
	parent_after(&x);
}

#define NFORKS	40

static atomic_bool churn_stop;

/* Files (and a VM of their own now and then) made and closed nonstop. */
static void *churn(void *arg)
{
	struct gmem_vm *vm = arg;
	int kvm = gmem_vm_fd(vm) >= 0;

	for (unsigned int i = 0; !atomic_load(&churn_stop); i++) {
		struct gmem_vm *own = i % 8 ? vm : test_vm(kvm);
		struct gmem_file *f = new_file(own, 4 * PG, FLAGS);
		void *m;

		TEST_RET(gmem_map(f, 0, 4 * PG, RW, &m), 0);
		TEST_RET(gmem_close(f), 0);
		if (own != vm)
			gmem_vm_put(own);
	}
	return NULL;
}

/* Child: no fd that names a library file, VM or /dev/kvm. */
static int child_names(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int bad = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		char path[64], link[256] = "";
		int fd = atoi(e->d_name);
		ssize_t n;

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0)
			link[n] = '\0';
		if (strstr(link, "kvm") || strstr(link, "gmem")) {
			fprintf(stderr, "  child: fd %d (%s) kept\n", fd,
				link);
			bad = 1;
		}
	}
	closedir(d);
	return bad;
}

static void test_fork_race(struct gmem_vm *vm, int kvm)
{
	pthread_t th;
	int status;

	(void)kvm;
	atomic_store(&churn_stop, false);
	TEST_ASSERT(!pthread_create(&th, NULL, churn, vm), "pthread_create");
	for (unsigned int i = 0; i < NFORKS; i++) {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
		if (!pid)
			_exit(child_names() ? KSFT_FAIL : KSFT_PASS);
		TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
		TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
			    "fork %u: the child kept a library fd (status %#x)",
			    i, status);
	}
	atomic_store(&churn_stop, true);
	pthread_join(th, NULL);
}

int main(void)
{
	int skip = run_on_both("fork", test_fork);

	return run_on_both("fork race", test_fork_race) || skip ?
	       KSFT_SKIP : KSFT_PASS;
}
