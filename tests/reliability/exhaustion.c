// SPDX-License-Identifier: MIT
/*
 * Resource exhaustion: in forked children, RLIMIT_NOFILE and RLIMIT_AS are
 * lowered until libgmem's next call cannot get its file descriptor or its
 * mapping. The call must fail with a clean negative errno, leave every
 * state as it was (attributes, contents, stats, open fds), and the same
 * call must work once the limit is restored. Each child restores its limit
 * and frees everything before it exits, so that LeakSanitizer (asan build)
 * checks it without an address-space limit in its way.
 */
#include <dirent.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "harness.h"

#define PG	GMEM_PAGE_SIZE
#define BIG	(1ULL << 30)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	TEST_ASSERT(d, "opendir: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void set_limit(int res, rlim_t cur)
{
	struct rlimit rl;

	TEST_ASSERT(!getrlimit(res, &rl), "getrlimit");
	rl.rlim_cur = cur;
	TEST_ASSERT(!setrlimit(res, &rl), "setrlimit: %s", strerror(errno));
}

/* One file of 4 pages in a memslot at 1 MiB, page 1 private, pattern. */
struct world {
	struct gmem_vm *vm;
	struct gmem_file *f;
	struct gmem_stat st;
	uint8_t data[4 * PG];
};

static void world_init(struct world *w, bool kvm)
{
	struct gmem_region r = { .gpa = 0x100000, .size = 4 * PG };

	w->vm = test_vm(kvm);
	TEST_RET(gmem_create(w->vm, 4 * PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &w->f), 0);
	r.file = w->f;
	TEST_RET(gmem_vm_set_region(w->vm, &r), 0);
	for (size_t i = 0; i < sizeof(w->data); i++)
		w->data[i] = (uint8_t)(i * 13 + 5);
	TEST_RET(gmem_vm_write(w->vm, 0x100000, w->data, sizeof(w->data), NULL), 0);
	TEST_RET(gmem_set_attributes(w->f, PG, PG, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
	TEST_RET(gmem_stat(w->f, &w->st), 0);
}

/* Nothing changed: stats, attributes, and every byte. */
static void world_check(struct world *w)
{
	struct gmem_stat st;
	uint64_t attrs, run;
	uint8_t buf[4 * PG];

	TEST_RET(gmem_stat(w->f, &st), 0);
	TEST_ASSERT(!memcmp(&st, &w->st, sizeof(st)), "stat changed");
	TEST_RET(gmem_get_attributes(w->f, PG, &attrs, &run), 0);
	TEST_ASSERT(attrs == GMEM_ATTR_PRIVATE && run == PG, "attributes");
	TEST_RET(gmem_vm_read(w->vm, 0x100000, buf, PG, NULL), 0);
	TEST_RET(gmem_vm_read(w->vm, 0x100000 + 2 * PG, buf + 2 * PG, 2 * PG,
			   NULL), 0);
	TEST_ASSERT(!memcmp(buf, w->data, PG) &&
		    !memcmp(buf + 2 * PG, w->data + 2 * PG, 2 * PG),
		    "contents changed");
	TEST_RET(gmem_set_attributes(w->f, PG, PG, 0, GMEM_CONVERT_PRESERVE,
				     NULL), 0);
	TEST_RET(gmem_vm_read(w->vm, 0x100000 + PG, buf + PG, PG, NULL), 0);
	TEST_ASSERT(!memcmp(buf + PG, w->data + PG, PG), "private page lost");
	TEST_RET(gmem_set_attributes(w->f, PG, PG, GMEM_ATTR_PRIVATE,
				     GMEM_CONVERT_PRESERVE, NULL), 0);
}

static void world_fini(struct world *w)
{
	TEST_RET(gmem_close(w->f), 0);
	gmem_vm_put(w->vm);
}

/* No free descriptor: file and VM creation fail with -EMFILE. */
static void child_nofile(bool kvm)
{
	struct rlimit saved;
	struct world w;
	struct gmem_file *f = NULL;
	struct gmem_vm *vm = NULL;
	struct gmem_vm_config cfg = { .flags = GMEM_VM_KVM };
	int fds, top;

	world_init(&w, kvm);
	getrlimit(RLIMIT_NOFILE, &saved);
	top = dup(0);
	close(top);
	fds = count_fds();
	set_limit(RLIMIT_NOFILE, top);	/* fd @top and above: EMFILE */
	TEST_RET(gmem_create(w.vm, 4 * PG, GMEM_FLAG_MMAP, &f), -EMFILE);
	TEST_ASSERT(!f, "*out written on failure");
	TEST_RET(gmem_vm_create(&cfg, &vm), -EMFILE);
	TEST_ASSERT(!vm, "*out written on failure");
	world_check(&w);
	set_limit(RLIMIT_NOFILE, saved.rlim_cur);
	TEST_ASSERT(count_fds() == fds, "descriptors leaked: %d -> %d", fds,
		    count_fds());
	TEST_RET(gmem_create(w.vm, 4 * PG, GMEM_FLAG_MMAP, &f), 0);
	TEST_RET(gmem_close(f), 0);
	TEST_RET(gmem_vm_create(&cfg, &vm), 0);
	gmem_vm_put(vm);
	world_fini(&w);
}

static uint64_t vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	TEST_ASSERT(f && fscanf(f, "%lu", &pages) == 1, "statm");
	fclose(f);
	return (uint64_t)pages * PG;
}

/* No address space: a big file or a big mapping fails with -ENOMEM. */
static void child_as(bool kvm)
{
	struct rlimit saved;
	struct world w;
	struct gmem_file *big, *f = NULL;
	void *p = NULL;
	int fds;

	world_init(&w, kvm);
	TEST_RET(gmem_create(w.vm, BIG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &big), 0);
	getrlimit(RLIMIT_AS, &saved);
	fds = count_fds();
	set_limit(RLIMIT_AS, vm_size() + BIG / 4);
	TEST_RET(gmem_create(w.vm, BIG, GMEM_FLAG_MMAP, &f), -ENOMEM);
	TEST_ASSERT(!f, "*out written on failure");
	TEST_RET(gmem_map(big, 0, BIG, PROT_READ | PROT_WRITE, &p), -ENOMEM);
	TEST_ASSERT(!p, "*addr written on failure");
	TEST_ASSERT(count_fds() == fds, "descriptors leaked");
	world_check(&w);
	set_limit(RLIMIT_AS, saved.rlim_cur);
	TEST_RET(gmem_map(big, 0, BIG, PROT_READ | PROT_WRITE, &p), 0);
	TEST_RET(gmem_unmap(big, p, BIG), 0);
	TEST_RET(gmem_create(w.vm, BIG, GMEM_FLAG_MMAP, &f), 0);
	TEST_RET(gmem_close(f), 0);
	TEST_RET(gmem_close(big), 0);
	world_fini(&w);
}

static void run(const char *name, void (*fn)(bool), bool kvm)
{
	int status;
	pid_t pid;

	fflush(stdout);	/* or the child prints the parent's buffer again */
	pid = fork();

	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		fn(kvm);
		exit(KSFT_PASS);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "%s (%s): child status %#x", name,
		    kvm ? "KVM" : "detached", status);
	printf("ok %s (%s)\n", name, kvm ? "KVM" : "detached");
}

int main(void)
{
	if (!test_have_kvm())
		TEST_SKIP("no /dev/kvm");
	run("RLIMIT_NOFILE", child_nofile, false);
	run("RLIMIT_NOFILE", child_nofile, true);
	run("RLIMIT_AS", child_as, false);
	run("RLIMIT_AS", child_as, true);
	return KSFT_PASS;
}
