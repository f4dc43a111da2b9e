// SPDX-License-Identifier: MIT
/*
 * Launch population throughput: gmem_vm_populate() of 256 MiB (NORMAL, so
 * copied and measured) beside what it cannot beat, measured in the same
 * run over the same bytes: memcpy() alone, and SHA-256 of every page
 * alone (libcrypto, SHA-NI where the CPU has it). The target is at least
 * 70% of the slower of the two.
 *
 * Every destination has been written once before it is timed, the target
 * file too (written while shared, then converted to private with
 * PRESERVE): the first touch of a page is the platform's cost, not the
 * copy's, and on a PVM host it is several microseconds a page (shadow
 * paging), which would swamp what is compared here.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/evp.h>

#include "gmem.h"
#include "level1.h"

#define PAGE	4096ULL
#define GPA	(1ULL << 32)

static void *touched(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (uint64_t i = 0; i < len; i += PAGE)
		((uint8_t *)p)[i] = (uint8_t)(i >> 12) | 1;
	return p;
}

static double mb_per_s(uint64_t len, double secs)
{
	return secs > 0 ? len / secs / 1e6 : 0;
}

static int hash_pages(const uint8_t *buf, uint64_t len, double *secs)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	uint8_t out[32];
	double t = bench_now();
	int ret = 0;

	if (!md || !sha) {
		EVP_MD_CTX_free(md);
		EVP_MD_free(sha);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < len && !ret; i += PAGE)
		if (!EVP_DigestInit_ex2(md, sha, NULL) ||
		    !EVP_DigestUpdate(md, buf + i, PAGE) ||
		    !EVP_DigestFinal_ex(md, out, NULL))
			ret = -ENOMEM;
	*secs = bench_now() - t;
	EVP_MD_free(sha);
	EVP_MD_CTX_free(md);
	return ret;
}

/* Populate all of [GPA, GPA+len) from @src, resuming after partial calls. */
static long populate(struct gmem_vm *vm, const uint8_t *src, uint64_t len,
		     double *secs)
{
	uint64_t done = 0, n = len / PAGE;
	double t = bench_now();

	while (done < n) {
		long r = gmem_vm_populate(vm, GPA + done * PAGE,
					  src + done * PAGE, n - done,
					  GMEM_POPULATE_NORMAL);

		if (r <= 0)
			return r ? r : -EIO;
		done += r;
	}
	*secs = bench_now() - t;
	return 0;
}

static int setup(const struct bench_opts *o, uint64_t len,
		 struct gmem_vm **vm, struct gmem_file **f)
{
	struct gmem_vm_config cfg = { .flags = o->kvm ? GMEM_VM_KVM : 0 };
	struct gmem_region rg = { .slot = 0, .gpa = GPA, .size = len };
	int r;

	r = gmem_vm_create(&cfg, vm);
	if (r)
		return r;
	r = gmem_create(*vm, len, GMEM_FLAG_INIT_SHARED, f);
	if (r) {
		gmem_vm_put(*vm);
		return r;
	}
	rg.file = *f;
	r = gmem_vm_set_region(*vm, &rg);
	for (uint64_t off = 0; !r && off < len; off += PAGE)
		r = gmem_vm_write(*vm, GPA + off, "", 1, NULL);
	if (!r)
		r = gmem_set_attributes(*f, 0, len, GMEM_ATTR_PRIVATE,
					GMEM_CONVERT_PRESERVE, NULL);
	return r;
}

int bench_launch(const struct bench_opts *o, struct bench_table *t)
{
	uint64_t len = (o->quick ? 32ULL : 256ULL) << 20;
	uint8_t *src = touched(len), *dst = touched(len);
	struct gmem_file *f = NULL;
	struct gmem_vm *vm = NULL;
	double pop, cpy, sha;
	long r = -ENOMEM;

	if (!src || !dst)
		goto out;
	r = setup(o, len, &vm, &f);
	if (r)
		goto out;
	cpy = bench_now();
	memcpy(dst, src, len);
	cpy = bench_now() - cpy;
	r = hash_pages(src, len, &sha);
	if (!r)
		r = populate(vm, src, len, &pop);
	if (r)
		goto out;
	bench_add(t, "populate_mb_per_s", mb_per_s(len, pop), "MB/s",
		  "gmem_vm_populate NORMAL (copy + measure)");
	bench_add(t, "populate_memcpy_mb_per_s", mb_per_s(len, cpy), "MB/s",
		  "memcpy of the same bytes");
	bench_add(t, "populate_sha256_mb_per_s", mb_per_s(len, sha), "MB/s",
		  "SHA-256 of every page of the same bytes");
	bench_add(t, "populate_bound_mb_per_s",
		  mb_per_s(len, cpy > sha ? cpy : sha), "MB/s",
		  "the slower of memcpy and SHA-256");
out:
	if (f)
		gmem_close(f);
	gmem_vm_put(vm);
	if (src)
		munmap(src, len);
	if (dst)
		munmap(dst, len);
	return r ? bench_fail(t, (int)r, "populate benchmark: %s",
			      strerror((int)-r)) : 0;
}
