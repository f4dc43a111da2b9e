// SPDX-License-Identifier: MIT
/*
 * Objects are per process. A child forked after its parent made a VM,
 * files, mappings and pins must not reach them through libgmem: every call
 * on the parent's objects fails with -EIO (KVM's answer to a VM fd used
 * from another mm), gmem_vm_put() does nothing harmful, and the parent
 * carries on unaffected; the child can make and use VMs of its own. And
 * every file descriptor the library opens is close-on-exec, so that a
 * VMM's helpers (exec'd children) never inherit guest memory.
 */
#include <dirent.h>
#include <sys/wait.h>

#include "lib-util.h"

#define GPA	0x100000000ULL
#define NP	16
#define PRIVPG	3		/* private in the parent */
#define PINPG	6		/* pinned in the parent */
#define FLAGS	(GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED)
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE
#define ZERO	GMEM_CONVERT_ZERO
#define PUNCH	(GMEM_FALLOC_KEEP_SIZE | GMEM_FALLOC_PUNCH_HOLE)

struct fx {
	int kvm;
	struct gmem_vm *vm;
	struct gmem_file *f;	/* slot 0: f[0, 8) at GPA */
	uint8_t *map;		/* all of f, read-write */
};

static long c_create(struct fx *x)
{
	struct gmem_file *f = NULL;

	return gmem_create(x->vm, NP * PG, FLAGS, &f);
}

static long c_close(struct fx *x)
{
	return gmem_close(x->f);
}

static long c_punch(struct fx *x)
{
	return gmem_fallocate(x->f, PUNCH, 0, NP * PG);
}

static long c_allocate(struct fx *x)
{
	return gmem_fallocate(x->f, GMEM_FALLOC_KEEP_SIZE, 8 * PG, 8 * PG);
}

static long c_region_add(struct fx *x)
{
	return set_slot(x->vm, 1, GPA + 8 * PG, 8 * PG, x->f, 8 * PG);
}

static long c_region_del(struct fx *x)
{
	return del_slot(x->vm, 0);
}

static long c_set_attributes(struct fx *x)
{
	return gmem_set_attributes(x->f, 0, 3 * PG, PRIV, ZERO, NULL);
}

static long c_set_shared(struct fx *x)
{
	return gmem_set_attributes(x->f, PRIVPG * PG, PG, 0, KEEP, NULL);
}

static long c_vm_set_attributes(struct fx *x)
{
	return gmem_vm_set_attributes(x->vm, GPA, 3 * PG, PRIV, ZERO, NULL);
}

static long c_get_attributes(struct fx *x)
{
	uint64_t a, r;

	return gmem_get_attributes(x->f, 0, &a, &r);
}

static long c_map(struct fx *x)
{
	void *p = NULL;

	return gmem_map(x->f, 0, NP * PG, PROT_READ | PROT_WRITE, &p);
}

static long c_unmap(struct fx *x)
{
	return gmem_unmap(x->f, x->map, NP * PG);
}

static long c_read(struct fx *x)
{
	uint8_t buf[64];

	return gmem_vm_read(x->vm, GPA, buf, sizeof(buf), NULL);
}

static long c_write(struct fx *x)
{
	uint8_t buf[64] = { 0 };

	return gmem_vm_write(x->vm, GPA, buf, sizeof(buf), NULL);
}

static long c_pin(struct fx *x)
{
	return gmem_pin(x->f, 0, PG);
}

static long c_unpin(struct fx *x)
{
	return gmem_unpin(x->f, PINPG * PG, PG);
}

static long c_stat(struct fx *x)
{
	struct gmem_stat st;

	return gmem_stat(x->f, &st);
}

static long c_backing(struct fx *x)
{
	return gmem_backing(x->f);
}

static long c_vm_fd(struct fx *x)
{
	return gmem_vm_fd(x->vm);
}

static long c_mirrored(struct fx *x)
{
	return gmem_vm_private_mirrored(x->vm);
}

static long c_policy(struct fx *x)
{
	return gmem_vm_set_policy(x->vm, GPA, 8 * PG, ZERO);
}

static long c_convert(struct fx *x)
{
	uint64_t eg;

	return gmem_vm_convert(x->vm, GPA, 3 * PG, PRIV, &eg);
}

static long c_convert_shared(struct fx *x)
{
	uint64_t eg;

	return gmem_vm_convert(x->vm, GPA, 8 * PG, 0, &eg);
}

static const struct child_case {
	const char *name;
	long (*fn)(struct fx *x);
} cases[] = {
	{ "gmem_create(parent's vm)", c_create },
	{ "gmem_close", c_close },
	{ "gmem_fallocate(punch)", c_punch },
	{ "gmem_fallocate(allocate)", c_allocate },
	{ "gmem_vm_set_region(add)", c_region_add },
	{ "gmem_vm_set_region(delete)", c_region_del },
	{ "gmem_set_attributes(private, ZERO)", c_set_attributes },
	{ "gmem_set_attributes(shared)", c_set_shared },
	{ "gmem_vm_set_attributes", c_vm_set_attributes },
	{ "gmem_get_attributes", c_get_attributes },
	{ "gmem_map", c_map },
	{ "gmem_unmap", c_unmap },
	{ "gmem_vm_read", c_read },
	{ "gmem_vm_write", c_write },
	{ "gmem_pin", c_pin },
	{ "gmem_unpin", c_unpin },
	{ "gmem_stat", c_stat },
	{ "gmem_backing", c_backing },
	{ "gmem_vm_fd", c_vm_fd },
	{ "gmem_vm_private_mirrored", c_mirrored },
	{ "gmem_vm_set_policy", c_policy },
	{ "gmem_vm_convert(private)", c_convert },
	{ "gmem_vm_convert(shared)", c_convert_shared },
};

/* The child's own VM, used like any: it must just work. */
static void own_vm(int kvm)
{
	struct gmem_vm *vm = test_vm(kvm);
	struct gmem_file *f = new_file(vm, 4 * PG, FLAGS);
	uint8_t buf[PG], *m;

	fill(buf, PG, 7);
	TEST_RET(set_slot(vm, 0, GPA, 4 * PG, f, 0), 0);
	TEST_RET(gmem_vm_write(vm, GPA, buf, PG, NULL), 0);
	TEST_RET(gmem_map(f, 0, 4 * PG, PROT_READ, (void **)&m), 0);
	convert(f, 0, PG, PRIV, KEEP);
	assert_faults(m, 0);
	convert(f, 0, PG, 0, KEEP);
	TEST_ASSERT(check_pattern(m, PG, 7) < 0, "own VM lost a page");
	TEST_RET(gmem_pin(f, PG, PG), 0);
	TEST_RET(gmem_unpin(f, PG, PG), 0);
	TEST_RET(gmem_unmap(f, m, 4 * PG), 0);
	TEST_RET(gmem_close(f), 0);
	gmem_vm_put(vm);
}

/* Run @fn in a child; 0 when it exited 0. */
static int in_child(const char *name, struct fx *x,
		    long (*fn)(struct fx *x), int own)
{
	int status;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		long r;

		alarm(10);
		if (own) {
			gmem_vm_put(x->vm);
			own_vm(x->kvm);
			_exit(KSFT_PASS);
		}
		r = fn(x);
		/* _exit: the parent's objects are not the child's to free. */
		if (r == -EIO)
			_exit(KSFT_PASS);
		fprintf(stderr, "  child: %s on the parent's objects returned "
			"%ld (%s), want -EIO\n", name, r,
			r < 0 ? strerror((int)-r) : "no error");
		_exit(KSFT_FAIL);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "  child: %s on the parent's objects: killed by "
		"signal %d (%s)\n", name, WTERMSIG(status),
		strsignal(WTERMSIG(status)));
	return 1;
}

/* The parent's state after its children: exactly what it made. */
static void parent_unaffected(struct fx *x)
{
	struct gmem_fault fault = { 0 };
	struct gmem_stat st;
	uint8_t buf[PG];

	for (uint64_t p = 0; p < NP; p++) {
		TEST_ASSERT(attrs_at(x->f, p * PG, NULL) ==
			    (p == PRIVPG ? PRIV : 0),
			    "parent: page %llu changed attributes",
			    (unsigned long long)p);
		if (p == PRIVPG)
			continue;
		TEST_ASSERT(check_pattern(x->map + p * PG, PG, p + 1) < 0,
			    "parent: page %llu changed (through its mapping)",
			    (unsigned long long)p);
		if (p < 8) {
			TEST_RET(gmem_vm_read(x->vm, GPA + p * PG, buf, PG, NULL),
				 0);
			TEST_ASSERT(check_pattern(buf, PG, p + 1) < 0,
				    "parent: page %llu changed (gmem_vm_read)",
				    (unsigned long long)p);
		}
	}
	TEST_RET(gmem_vm_read(x->vm, GPA + 8 * PG, buf, 1, &fault), -EFAULT);
	TEST_ASSERT(fault.flags & GMEM_FAULT_UNBACKED, "parent: slot 1 exists");
	TEST_RET(gmem_stat(x->f, &st), 0);
	TEST_ASSERT(st.pinned == PG && st.private_bytes == PG,
		    "parent: pinned %llu private %llu",
		    (unsigned long long)st.pinned,
		    (unsigned long long)st.private_bytes);
	if (x->kvm)
		TEST_ASSERT(fcntl(gmem_vm_fd(x->vm), F_GETFD) >= 0,
			    "parent: VM fd closed");
	/* It still converts, reads and closes normally. */
	convert(x->f, PRIVPG * PG, PG, 0, KEEP);
	TEST_RET(gmem_vm_read(x->vm, GPA + PRIVPG * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, PRIVPG + 1) < 0,
		    "parent: the private page lost its bytes");
	convert(x->f, 0, 4 * PG, PRIV, ZERO);
	assert_faults(x->map, 0);
	convert(x->f, 0, 4 * PG, 0, KEEP);
	TEST_RET(gmem_unpin(x->f, PINPG * PG, PG), 0);
	TEST_RET(gmem_unmap(x->f, x->map, NP * PG), 0);
	TEST_RET(gmem_close(x->f), 0);
}

static void test_fork(struct gmem_vm *vm, int kvm)
{
	static uint8_t buf[NP * PG];
	struct fx x = { .kvm = kvm, .vm = vm };
	int failed = 0;

	x.f = new_file(vm, NP * PG, FLAGS);
	TEST_RET(set_slot(vm, 0, GPA, 8 * PG, x.f, 0), 0);
	for (uint64_t p = 0; p < NP; p++)
		fill(buf + p * PG, PG, p + 1);
	TEST_RET(gmem_map(x.f, 0, NP * PG, PROT_READ | PROT_WRITE,
			  (void **)&x.map), 0);
	memcpy(x.map, buf, sizeof(buf));
	convert(x.f, PRIVPG * PG, PG, PRIV, KEEP);
	TEST_RET(gmem_pin(x.f, PINPG * PG, PG), 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		failed += !!in_child(cases[i].name, &x, cases[i].fn, 0);
	if (in_child("gmem_vm_put, then a VM of its own", &x, NULL, 1)) {
		fprintf(stderr, "  child: could not use a VM of its own\n");
		failed++;
	}
	parent_unaffected(&x);
	TEST_ASSERT(!failed, "%d of %zu calls from a forked child were not "
		    "refused with -EIO", failed, ARRAY_SIZE(cases) + 1);
}

/* The fds open now, as a bitmap over [0, 4096). */
static void fd_set_take(uint8_t *set)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	TEST_ASSERT(d, "opendir: %s", strerror(errno));
	memset(set, 0, 4096);
	while ((e = readdir(d))) {
		long fd = strtol(e->d_name, NULL, 10);

		if (e->d_name[0] != '.' && fd >= 0 && fd < 4096 &&
		    fd != dirfd(d))
			set[fd] = 1;
	}
	closedir(d);
}

/* New fds since @before without FD_CLOEXEC; the first few are printed. */
static int leaked_fds(const uint8_t *before, const char *what)
{
	uint8_t now[4096];
	int leaks = 0;

	fd_set_take(now);
	for (int fd = 0; fd < 4096; fd++) {
		char path[64], target[256] = "?";
		ssize_t n;

		if (!now[fd] || before[fd] || (fcntl(fd, F_GETFD) & FD_CLOEXEC))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = 0;
		fprintf(stderr, "  %s: fd %d (%s) is not close-on-exec\n",
			what, fd, target);
		leaks++;
	}
	return leaks;
}

static void test_cloexec(struct gmem_vm *unused, int kvm)
{
	uint8_t before[4096];
	struct gmem_vm *vm;
	struct gmem_file *f, *g;
	void *m;
	int fd;

	(void)unused;
	/* The check sees a leak. */
	fd_set_take(before);
	fd = open("/dev/null", O_RDONLY);
	TEST_ASSERT(leaked_fds(before, "control") == 1, "a leak not seen");
	close(fd);

	fd_set_take(before);
	vm = test_vm(kvm);
	f = new_file(vm, NP * PG, FLAGS);
	g = new_file(vm, 4 * PG, 0);
	TEST_RET(set_slot(vm, 0, GPA, NP * PG, f, 0), 0);
	TEST_RET(gmem_map(f, 0, NP * PG, PROT_READ, &m), 0);
	TEST_ASSERT(!leaked_fds(before, kvm ? "KVM VM with guest_memfd files" :
				"detached VM with memfd files"),
		    "the library opened fds without O_CLOEXEC");
	TEST_RET(gmem_unmap(f, m, NP * PG), 0);
	TEST_RET(gmem_close(f), 0);
	TEST_RET(gmem_close(g), 0);
	gmem_vm_put(vm);
}

int main(void)
{
	int skip = run_on_both("cloexec", test_cloexec);

	return run_on_both("fork", test_fork) || skip ? KSFT_SKIP : KSFT_PASS;
}
