// SPDX-License-Identifier: MIT
/*
 * What a vhost-user device adds to a conversion to private, measured in
 * the same run beside the same conversion with no device: one 4 KiB page
 * in the middle of a shared 64 MiB range (the device's region is cut, and
 * the conversion waits for the back-end's acknowledgement), and a whole
 * 1 GiB file (one region leaves the table), with the table messages each
 * device got for that GiB (target: 1). The back-ends are the user's, as
 * with QEMU: `gmem bench --vhost-user-blk SOCK --vhost-user-net SOCK`
 * (docs/vhost-user.md). Without a socket the group adds no row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "level1.h"
#include "vhost-user.h"

#define PAGE		4096ULL
#define RAM		(64ULL << 20)
#define RAM_GPA		(1ULL << 30)
#define BIG		(1ULL << 30)
#define BIG_GPA		(4ULL << 30)

struct vfix {
	struct gmem_vm *vm;
	struct gmem_file *ram, *big;
	struct bench_table *t;
	unsigned int rounds;
};

/* Row names per device; bench_add() keeps the pointers. */
static const struct vdev {
	const char *name;
	const char *k4, *k1g, *kmsg;
} devs[] = {
	{ "none", "vhost_none_4k_us", "vhost_none_1g_us", NULL },
	{ "blk", "vhost_blk_4k_us", "vhost_blk_1g_us", "vhost_blk_1g_messages" },
	{ "net", "vhost_net_4k_us", "vhost_net_1g_us", "vhost_net_1g_messages" },
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t messages(struct gmem_vu_dev *d)
{
	struct gmem_vu_info info = { 0 };

	if (d)
		gmem_vu_info(d, &info);
	return info.messages;
}

/*
 * Median µs of converting [gpa, +len) to private (and back, untimed),
 * over at most BENCH_MAX_ROUNDS rounds (level1.h; vfio.c shares it).
 */
int bench_median_convert(struct gmem_vm *vm, struct bench_table *t,
			 uint64_t gpa, uint64_t len, unsigned int n,
			 double *us)
{
	double s[BENCH_MAX_ROUNDS];
	int r;

	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (unsigned int i = 0; i < n; i++) {
		double t0 = bench_now();

		r = gmem_vm_set_attributes(vm, gpa, len, GMEM_ATTR_PRIVATE,
					   GMEM_CONVERT_PRESERVE, NULL);
		s[i] = (bench_now() - t0) * 1e6;
		r = r ?: gmem_vm_set_attributes(vm, gpa, len, 0,
						GMEM_CONVERT_PRESERVE, NULL);
		if (r)
			return bench_fail(t, r, "conversion: %s",
					  strerror(-r));
	}
	qsort(s, n, sizeof(s[0]), cmp);
	*us = s[n / 2];
	return 0;
}

static int median(struct vfix *x, uint64_t gpa, uint64_t len,
		  unsigned int n, double *us)
{
	return bench_median_convert(x->vm, x->t, gpa, len, n, us);
}

/* Connect to the back-end on @sock; its failure is the table's error. */
int bench_vu_open(struct bench_table *t, const char *sock,
		  struct gmem_vu_dev **d)
{
	int r = gmem_vu_open(sock, NULL, d);

	if (r) {
		const char *why = gmem_vu_last_error(*d);

		r = bench_fail(t, r, "vhost-user %s: %s", sock,
			       *why ? why : strerror(-r));
		gmem_vu_close(*d);
		*d = NULL;
	}
	return r;
}

static int connect_dev(struct vfix *x, const char *sock,
		       struct gmem_vu_dev **d)
{
	int r = bench_vu_open(x->t, sock, d);

	if (r)
		return r;
	r = gmem_vu_attach(*d, x->ram, 0, RAM, RAM_GPA) ?:
	    gmem_vu_attach(*d, x->big, 0, BIG, BIG_GPA);
	if (r) {
		gmem_vu_close(*d);
		return bench_fail(x->t, r, "vhost-user %s: attach: %s", sock,
				  strerror(-r));
	}
	return 0;
}

/* The rows of one device (NULL @sock: none). */
static int one(struct vfix *x, const struct vdev *v, const char *sock)
{
	struct gmem_vu_dev *d = NULL;
	double us4, us1g;
	uint64_t m0, m1;
	int r;

	if (sock && (r = connect_dev(x, sock, &d)))
		return r;
	r = median(x, RAM_GPA + RAM / 2, PAGE, x->rounds, &us4);
	m0 = messages(d);
	r = r ?: gmem_vm_set_attributes(x->vm, BIG_GPA, BIG, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	m1 = messages(d);
	r = r ?: gmem_vm_set_attributes(x->vm, BIG_GPA, BIG, 0,
					GMEM_CONVERT_PRESERVE, NULL);
	if (r && !x->t->error[0])
		bench_fail(x->t, r, "1 GiB conversion: %s", strerror(-r));
	r = r ?: median(x, BIG_GPA, BIG, x->rounds / 4 ? x->rounds / 4 : 1,
			&us1g);
	if (d)
		gmem_vu_close(d);
	if (r)
		return r;
	bench_add(x->t, v->k4, us4, "us", "4 KiB to private, median");
	bench_add(x->t, v->k1g, us1g, "us", "1 GiB to private, median");
	if (v->kmsg)
		bench_add(x->t, v->kmsg, m1 - m0, "messages",
			  "table messages for 1 GiB to private");
	return 0;
}

static int files(struct vfix *x)
{
	const uint64_t fl = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			    GMEM_FLAG_EXPORT;
	struct gmem_region r0 = { .slot = 0, .gpa = RAM_GPA, .size = RAM };
	struct gmem_region r1 = { .slot = 1, .gpa = BIG_GPA, .size = BIG };
	int r;

	r = gmem_create(x->vm, RAM, fl, &x->ram) ?:
	    gmem_create(x->vm, BIG, fl, &x->big);
	if (r)
		return bench_fail(x->t, r, "gmem_create: %s", strerror(-r));
	r0.file = x->ram;
	r1.file = x->big;
	r = gmem_vm_set_region(x->vm, &r0) ?: gmem_vm_set_region(x->vm, &r1);
	return r ? bench_fail(x->t, r, "gmem_vm_set_region: %s",
			      strerror(-r)) : 0;
}

int bench_vhost(const struct bench_opts *o, struct bench_table *t)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct vfix x = { .t = t, .rounds = o->quick ? 8 : BENCH_MAX_ROUNDS };
	int r;

	if (!o->vu_blk && !o->vu_net)
		return 0;
	r = gmem_vm_create(&cfg, &x.vm);
	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	r = files(&x) ?: one(&x, &devs[0], NULL);
	if (!r && o->vu_blk)
		r = one(&x, &devs[1], o->vu_blk);
	if (!r && o->vu_net)
		r = one(&x, &devs[2], o->vu_net);
	if (x.big)
		gmem_close(x.big);
	if (x.ram)
		gmem_close(x.ram);
	gmem_vm_put(x.vm);
	return r;
}
