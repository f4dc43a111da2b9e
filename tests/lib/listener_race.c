// SPDX-License-Identifier: MIT
/*
 * Listeners under concurrency (run under TSan in the threads suite): two
 * threads convert their own halves of a file, a third registers and
 * unregisters a listener over the whole file, a fourth reads through the
 * accessors, while a long-lived device listener reads every run it is told
 * to unmap with gmem_vm_read() from inside the callback (the page must
 * still be shared then). Afterwards every view equals the shared pages.
 * A deadlock is caught by alarm().
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib-util.h"

#define NP	256
#define GPA	0x40000000ULL
#define ROUNDS	3000

struct dev {
	struct gmem_vm *vm;
	uint8_t view[NP];
	bool read_in_unmap;
	unsigned long calls;
};

static struct gmem_vm *vm;
static struct gmem_file *file;
static atomic_bool stop;

static int dev_map(void *opaque, uint64_t off, uint64_t len)
{
	struct dev *d = opaque;

	for (uint64_t p = off / PG; p < (off + len) / PG; p++) {
		TEST_ASSERT(!d->view[p], "page %llu mapped twice",
			    (unsigned long long)p);
		d->view[p] = 1;
	}
	d->calls++;
	return 0;
}

static int dev_unmap(void *opaque, uint64_t off, uint64_t len, uint32_t fl)
{
	struct dev *d = opaque;
	uint8_t b;

	(void)fl;
	for (uint64_t p = off / PG; p < (off + len) / PG; p++) {
		TEST_ASSERT(d->view[p], "page %llu unmapped but not held",
			    (unsigned long long)p);
		d->view[p] = 0;
	}
	/* A device flushing its last DMA: the run is still shared. */
	if (d->read_in_unmap)
		TEST_RET(gmem_vm_read(d->vm, GPA + off + len - 1, &b, 1,
				      NULL), 0);
	d->calls++;
	return 0;
}

static struct gmem_listener *listen_all(struct dev *d)
{
	struct gmem_listener_config c = {
		.offset = 0, .len = NP * PG, .map = dev_map,
		.unmap = dev_unmap, .opaque = d,
	};
	struct gmem_listener *l;

	d->vm = vm;
	TEST_RET(gmem_listen(file, &c, &l), 0);
	return l;
}

static void *converter(void *arg)
{
	uint64_t base = (uintptr_t)arg * (NP / 2), seed = base + 1;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t p, n;
		int ret;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p = base + (seed >> 33) % (NP / 2);
		n = 1 + (seed >> 20) % 8;
		if (p + n > base + NP / 2)
			n = base + NP / 2 - p;
		ret = gmem_vm_convert(vm, GPA + p * PG, n * PG,
				      (seed >> 40) & 1 ? GMEM_ATTR_PRIVATE : 0,
				      NULL);
		TEST_RET(ret, 0);
	}
	return NULL;
}

static void *hotplug(void *arg)
{
	static struct dev d;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct gmem_listener *l;

		memset(&d, 0, sizeof(d));
		l = listen_all(&d);
		TEST_RET(gmem_unlisten(file, l), 0);
		for (int p = 0; p < NP; p++)
			TEST_ASSERT(!d.view[p], "unlisten left page %d", p);
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint8_t buf[64];

	(void)arg;
	for (unsigned long i = 0; !atomic_load(&stop); i++) {
		int ret = gmem_vm_read(vm, GPA + (i % NP) * PG, buf,
				       sizeof(buf), NULL);

		TEST_ASSERT(!ret || ret == -EFAULT, "read: %d", ret);
	}
	return NULL;
}

static void body(struct gmem_vm *v, int kvm)
{
	static struct dev main_dev;
	pthread_t conv[2], hp, rd;
	struct gmem_listener *l;

	(void)kvm;
	vm = v;
	file = new_file(vm, NP * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED);
	TEST_RET(set_slot(vm, 0, GPA, NP * PG, file, 0), 0);
	memset(&main_dev, 0, sizeof(main_dev));
	main_dev.read_in_unmap = true;
	l = listen_all(&main_dev);
	atomic_store(&stop, false);
	pthread_create(&hp, NULL, hotplug, NULL);
	pthread_create(&rd, NULL, reader, NULL);
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&conv[i], NULL, converter, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(conv[i], NULL);
	atomic_store(&stop, true);
	pthread_join(hp, NULL);
	pthread_join(rd, NULL);
	for (uint64_t p = 0; p < NP; p++)
		TEST_ASSERT(main_dev.view[p] == !attrs_at(file, p * PG, NULL),
			    "page %llu: view %d", (unsigned long long)p,
			    main_dev.view[p]);
	TEST_ASSERT(main_dev.calls > 100, "only %lu notifications",
		    main_dev.calls);
	TEST_RET(gmem_unlisten(file, l), 0);
	TEST_RET(del_slot(vm, 0), 0);
	TEST_RET(gmem_close(file), 0);
}

int main(void)
{
	alarm(100);
	return run_on_both("listener_race", body) ? KSFT_SKIP : KSFT_PASS;
}
