// SPDX-License-Identifier: MIT
/*
 * Launch: populating private memory with a SHA-256 measurement
 * (docs/launch.md), the userspace counterpart of kvm_gmem_populate() and
 * the SNP/TDX launch ioctls built on it.
 *
 * A call works through its pages in chunks. For each chunk the source is
 * read first, into a bounce buffer, with process_vm_readv() on our own
 * process (an unreadable source is -EFAULT, never a signal in the caller)
 * and, when the source is itself guest memory mapped by the library, with
 * that range pinned while it is read, so it cannot turn private under the
 * copy (a private page cannot be pinned: it ends the read like unreadable
 * memory, and is -EFAULT when it is the first). Only then is the
 * target's invalidate lock taken: the kernel's rework reads (GUPs) the
 * source before filemap_invalidate_lock for the same reason, since pinning
 * takes the source file's invalidate lock and the reverse order would be
 * an AB-BA deadlock with a conversion doing the opposite.
 *
 * The measurement is a chain: D0 = 32 zero bytes, and for each measured page
 * in population order D = SHA-256(D || gpa as 8 bytes little-endian ||
 * type as 1 byte || SHA-256(the page's 4096 bytes)). UNMEASURED pages are
 * copied but leave the chain alone.
 *
 * Locks (order: lib/locking.h): vm->slots_lock for the whole call, so
 * populations of a VM are serialised and the chain is deterministic; the
 * source file's invalidate lock only to pin it (released before), then
 * the target file's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <openssl/evp.h>

#include "convert.h"
#include "file.h"
#include "registry.h"

#define GM_POPULATE_CHUNK	256	/* pages read and locked at a time */
#define GM_POPULATE_TYPES	(1U << GMEM_POPULATE_NORMAL |		\
				 1U << GMEM_POPULATE_ZERO |		\
				 1U << GMEM_POPULATE_UNMEASURED)

struct pop {
	struct gmem_vm *vm;
	struct gmem_file *f;
	uint64_t gpa;		/* of the next page */
	uint64_t off;		/* its file offset */
	const uint8_t *src;	/* of the next page, or NULL */
	uint32_t type;
	EVP_MD_CTX *md;
	EVP_MD *sha;		/* fetched once: an implicit fetch per page costs */
	uint8_t *bounce;
	int err;		/* a measurement in place failed (libcrypto) */
};

static int sha256(struct pop *p, const void *buf, size_t len, uint8_t out[32])
{
	if (!EVP_DigestInit_ex2(p->md, p->sha, NULL) ||
	    !EVP_DigestUpdate(p->md, buf, len) ||
	    !EVP_DigestFinal_ex(p->md, out, NULL))
		return -ENOMEM;
	return 0;
}

/* Extend the chain @d with one page. */
static int measure(struct pop *p, uint8_t d[32], uint64_t gpa,
		   const uint8_t *page)
{
	uint8_t rec[32 + 8 + 1 + 32];

	if (p->type == GMEM_POPULATE_UNMEASURED)
		return 0;
	memcpy(rec, d, 32);
	for (int i = 0; i < 8; i++)
		rec[32 + i] = gpa >> (8 * i);
	rec[40] = p->type;
	if (sha256(p, page, GM_PAGE_SIZE, rec + 41))
		return -ENOMEM;
	return sha256(p, rec, sizeof(rec), d);
}

/*
 * In place the pages can only be measured once they are private, after
 * the commit. The digest context was warmed up before anything changed
 * (gmem_vm_populate), so hashing a buffer here cannot fail in practice.
 */
static void measure_in_place(void *arg, const struct gmem_file *f,
			     uint64_t off, uint64_t len, uint64_t gpa)
{
	struct pop *p = arg;

	for (uint64_t i = 0; i < len && !p->err; i += GM_PAGE_SIZE)
		p->err = measure(p, p->vm->measurement, gpa + i,
				 f->base + off + i);
}

/* In place: the shared pages become private, measured where they lie. */
static long chunk_in_place(struct pop *p, uint64_t n)
{
	struct gm_convert_req req = {
		.gpa = p->gpa,
		.size = n << GM_PAGE_SHIFT,
		.attrs = GMEM_ATTR_PRIVATE,
		.mode = GMEM_CONVERT_PRESERVE,
		.populate = true,
		.populated = measure_in_place,
		.arg = p,
	};
	uint64_t done = 0;
	int ret;

	if (!(p->vm->convert_modes & GMEM_CONVERT_PRESERVE))
		return -EOPNOTSUPP;
	ret = gm_convert_gpa_locked(p->vm, &req, NULL, &done);
	if (ret)
		return ret;
	return p->err ? p->err : (long)(done >> GM_PAGE_SHIFT);
}

/*
 * Read up to @n source pages into the bounce buffer, pinning them first if
 * they are guest memory. Returns the pages read (fewer when the source
 * stops being readable, reaches a private page of guest memory, or leaves
 * a library mapping) or, when the first page cannot be read, -EFAULT
 * (-EOVERFLOW for a guest page that holds the most pins).
 */
static long read_source(struct pop *p, uint64_t n)
{
	struct gm_registry_hit hit;
	struct iovec local, remote;
	bool pinned = false;
	long pinned_len;
	ssize_t got;

	if (gm_registry_find(p->src, &hit)) {
		if (hit.len >> GM_PAGE_SHIFT < n)
			n = hit.len >> GM_PAGE_SHIFT;
		/* The guest's private pages end the read, as unreadable
		 * memory does: the shared ones before them count. */
		pinned_len = gm_pin_prefix(hit.f, hit.off, n << GM_PAGE_SHIFT);
		if (pinned_len < 0)
			return pinned_len == -EINVAL ? -EFAULT : pinned_len;
		n = (uint64_t)pinned_len >> GM_PAGE_SHIFT;
		pinned = true;
	} else if (hit.len >> GM_PAGE_SHIFT < n) {
		n = hit.len >> GM_PAGE_SHIFT;	/* stop where ours begin */
	}
	local = (struct iovec){ p->bounce, n << GM_PAGE_SHIFT };
	remote = (struct iovec){ (void *)p->src, n << GM_PAGE_SHIFT };
	got = process_vm_readv(gm_self_pid, &local, 1, &remote, 1, 0);
	if (pinned)
		gmem_unpin(hit.f, hit.off, n << GM_PAGE_SHIFT);
	if (got < (ssize_t)GM_PAGE_SIZE)
		return -EFAULT;
	return got >> GM_PAGE_SHIFT;
}

/* How many target pages from @s are private and unpopulated, or the error. */
static long usable(struct gmem_file *f, uint64_t s, uint64_t n)
{
	uint64_t bad, v, end;

	bad = gm_sm_first(&f->sm, s, s + n, SM_PRIVATE | SM_POPULATED,
			  SM_PRIVATE);
	if (bad > s)
		return bad - s;
	v = gm_sm_lookup(&f->sm, bad, &end);
	return v & SM_POPULATED ? -EEXIST : -EINVAL;
}

/* From a source or ZERO: the pages must be private already. */
static long chunk_copy(struct pop *p, uint64_t n)
{
	static const uint8_t zero_page[GM_PAGE_SIZE];
	const struct gm_sm_op op = {
		.set = SM_POPULATED,
		.clear = p->type == GMEM_POPULATE_ZERO ? SM_ALLOC : 0,
	};
	uint64_t s = p->off >> GM_PAGE_SHIFT;
	uint8_t d[32];
	struct gm_sm_prep prep;
	long k;
	int ret;

	if (p->src) {
		k = read_source(p, n);
		if (k < 0)
			return k;
		n = k;
	}
	pthread_rwlock_wrlock(&p->f->invalidate_lock);
	k = usable(p->f, s, n);
	if (k < 0)
		goto unlock;
	ret = gm_sm_prepare(&p->f->sm, s, s + k, &prep);
	if (ret) {
		k = ret;
		goto unlock;
	}
	/* Measured before anything changes, so a failure changes nothing. */
	memcpy(d, p->vm->measurement, 32);
	for (long i = 0; i < k && !ret; i++)
		ret = measure(p, d, p->gpa + (i << GM_PAGE_SHIFT),
			      p->src ? p->bounce + (i << GM_PAGE_SHIFT) :
				       zero_page);
	if (!ret && p->type == GMEM_POPULATE_ZERO)
		ret = gm_store_punch(p->f, p->off, k << GM_PAGE_SHIFT);
	if (ret) {
		k = ret;
		goto release;
	}
	/*
	 * The pages are private: no accessor copies them, no mapping shows
	 * them. Faulting the library's mapping in first, in one call, costs
	 * a fraction of one fault per page (a fault is microseconds on PVM).
	 */
	if (p->src) {
		madvise(p->f->base + p->off, k << GM_PAGE_SHIFT,
			MADV_POPULATE_WRITE);
		memcpy(p->f->base + p->off, p->bounce, k << GM_PAGE_SHIFT);
	}
	gm_gate_close((struct gate *[]){ &p->f->gate }, 1);
	gm_sm_apply(&p->f->sm, s, s + k, &op, &prep);
	gm_gate_open(&p->f->gate);
	memcpy(p->vm->measurement, d, 32);
release:
	gm_sm_prep_release(&prep);
unlock:
	pthread_rwlock_unlock(&p->f->invalidate_lock);
	return k;
}

static int check_args(struct gmem_vm *vm, uint64_t gpa, const void *src,
		      uint64_t npages, uint32_t type)
{
	int ret = gm_vm_check_locking(vm);

	if (ret)
		return ret;
	if (!npages || !gm_aligned(gpa) || type >= 32 ||
	    !(GM_POPULATE_TYPES & 1U << type))
		return -EINVAL;
	if (!gm_aligned((uintptr_t)src) || (src && type == GMEM_POPULATE_ZERO))
		return -EINVAL;
	return 0;
}

/* The memslot at @gpa, its file, and @npages clamped to the slot's end. */
static int target(struct pop *p, uint64_t *npages)
{
	const struct gm_slot *s = gm_slot_find(p->vm->slots, p->gpa);
	uint64_t left;

	if (!s || (!s->file && s->host_addr))
		return -EINVAL;
	if (!s->file)
		return -EFAULT;		/* its file was closed */
	left = (s->gpa + s->size - p->gpa) >> GM_PAGE_SHIFT;
	if (*npages > left)
		*npages = left;
	p->f = s->file;
	p->off = s->offset + (p->gpa - s->gpa);
	return 0;
}

static long populate(struct pop *p, uint64_t npages)
{
	uint64_t done = 0;
	long k = 0;

	while (done < npages) {
		uint64_t n = npages - done;

		if (n > GM_POPULATE_CHUNK)
			n = GM_POPULATE_CHUNK;
		k = !p->src && p->type != GMEM_POPULATE_ZERO ?
		    chunk_in_place(p, n) : chunk_copy(p, n);
		if (k <= 0)
			break;
		done += k;
		p->gpa += k << GM_PAGE_SHIFT;
		p->off += k << GM_PAGE_SHIFT;
		if (p->src)
			p->src += k << GM_PAGE_SHIFT;
	}
	return done ? (long)done : k;
}

long gmem_vm_populate(struct gmem_vm *vm, uint64_t gpa, const void *src,
		      uint64_t npages, uint32_t type)
{
	struct pop p = { .vm = vm, .gpa = gpa, .src = src, .type = type };
	long ret;

	ret = check_args(vm, gpa, src, npages, type);
	if (ret)
		return ret;
	p.md = EVP_MD_CTX_new();
	p.sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	p.bounce = src ? malloc(GM_POPULATE_CHUNK * GM_PAGE_SIZE) : NULL;
	/* A first digest allocates what later ones reuse: fail here, early. */
	if (!p.md || !p.sha || (src && !p.bounce) ||
	    sha256(&p, "", 0, (uint8_t[32]){ 0 })) {
		ret = -ENOMEM;
		goto out;
	}
	pthread_rwlock_wrlock(&vm->slots_lock);
	if (vm->launched)
		ret = -EPERM;
	else
		ret = target(&p, &npages);
	if (!ret)
		ret = populate(&p, npages);
	pthread_rwlock_unlock(&vm->slots_lock);
out:
	free(p.bounce);
	EVP_MD_free(p.sha);
	EVP_MD_CTX_free(p.md);
	return ret;
}

int gmem_vm_launch_finish(struct gmem_vm *vm, uint8_t digest[32])
{
	int ret = gm_vm_check_locking(vm);

	if (ret)
		return ret;
	if (!digest)
		return -EINVAL;
	pthread_rwlock_wrlock(&vm->slots_lock);
	if (vm->launched) {
		ret = -EPERM;
	} else {
		vm->launched = true;
		memcpy(digest, vm->measurement, 32);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return ret;
}
