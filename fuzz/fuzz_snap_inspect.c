// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for gmem_snap_inspect(), the keyless reader of a
 * snapshot stream (gmem snapshot info runs it on any file it is given).
 *
 * Input: one byte that sets how many bytes each read() hands back at most
 * (1 to 256, so that short reads are exercised), then the stream. Every
 * call must end in 0 or a promised -errno, read nothing past the input,
 * and on success leave a summary consistent with the chunks it visited.
 * The sanitizers catch the rest (overreads, leaks, undefined behaviour).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"

struct src {
	const uint8_t *p;
	size_t len, at, step;
};

struct seen {
	uint64_t files, slots, runs, data, memory, private_data, shared_data;
};

static long fz_read(void *opaque, void *buf, size_t len)
{
	struct src *s = opaque;
	size_t n = len;

	if (n > s->step)
		n = s->step;
	if (n > s->len - s->at)
		n = s->len - s->at;
	memcpy(buf, s->p + s->at, n);
	s->at += n;
	return (long)n;
}

static int fz_visit(void *arg, const struct gmem_snap_item *it)
{
	struct seen *v = arg;

	switch (it->kind) {
	case GMEM_SNAP_ITEM_FILE:
		v->files++;
		/* the library's sum saturates (include/gmem.h) */
		v->memory = it->len > UINT64_MAX - v->memory ? UINT64_MAX :
			    v->memory + it->len;
		break;
	case GMEM_SNAP_ITEM_SLOT:
		v->slots++;
		break;
	case GMEM_SNAP_ITEM_RUN:
		v->runs++;
		break;
	case GMEM_SNAP_ITEM_DATA:
		v->data++;
		*(it->flags & GMEM_SNAP_PRIVATE ? &v->private_data :
						  &v->shared_data) += it->len;
		break;
	default:
		fprintf(stderr, "fuzz-snap: item kind %u\n", it->kind);
		abort();
	}
	if (!it->len || (it->len & (GMEM_PAGE_SIZE - 1)) ||
	    (it->offset & (GMEM_PAGE_SIZE - 1))) {
		fprintf(stderr, "fuzz-snap: item of kind %u, offset %#llx, "
			"len %#llx\n", it->kind,
			(unsigned long long)it->offset,
			(unsigned long long)it->len);
		abort();
	}
	return 0;
}

static void check(const struct seen *v, const struct gmem_snap_summary *sum)
{
	if (v->files != sum->files || v->slots != sum->slots ||
	    v->runs != sum->runs || v->data != sum->data_chunks ||
	    v->memory != sum->memory || v->private_data != sum->private_data ||
	    v->shared_data != sum->shared_data ||
	    sum->private_memory > sum->memory ||
	    sum->private_data > sum->private_memory ||
	    sum->shared_data + sum->private_data > sum->memory) {
		fprintf(stderr, "fuzz-snap: summary disagrees with the items\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gmem_snap_summary sum;
	struct seen v = { 0 };
	struct src s;
	int ret;

	if (!size)
		return 0;
	s = (struct src){ .p = data + 1, .len = size - 1,
			  .step = (size_t)data[0] + 1 };
	ret = gmem_snap_inspect(fz_read, &s, fz_visit, &v, &sum);
	if (ret && ret != -EBADMSG && ret != -ENOMEM) {
		fprintf(stderr, "fuzz-snap: gmem_snap_inspect() = %d\n", ret);
		abort();
	}
	if (s.at > s.len || sum.stream_bytes > s.at ||
	    (!ret && sum.stream_bytes != s.at)) {
		fprintf(stderr, "fuzz-snap: read %zu of %zu, summary says %llu\n",
			s.at, s.len, (unsigned long long)sum.stream_bytes);
		abort();
	}
	if (!ret)
		check(&v, &sum);
	return 0;
}
