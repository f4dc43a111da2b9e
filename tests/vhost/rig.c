// SPDX-License-Identifier: MIT
/*
 * rig.c - the fault tests' starting point (rig.h).
 */
#include "rig.h"

void attach_split(struct guest *g, struct gmem_vu_dev *d, uint64_t split)
{
	if (!split) {
		TEST_RET(gmem_vu_attach(d, g->file, 0, g->size, GUEST_GPA), 0);
		return;
	}
	TEST_RET(gmem_vu_attach(d, g->file, 0, split, GUEST_GPA), 0);
	TEST_RET(gmem_vu_attach(d, g->file, split, g->size - split,
				GUEST_GPA + split), 0);
}

void rig_up(struct rig *r, enum backend_kind kind, unsigned int timeout_ms)
{
	rig_up_split(r, kind, timeout_ms, 0);
}

void rig_up_split(struct rig *r, enum backend_kind kind,
		  unsigned int timeout_ms, uint64_t split)
{
	memset(r, 0, sizeof(*r));
	backend_start(&r->b, kind);
	guest_init(&r->g, RIG_SIZE);
	r->d = backend_connect(&r->b, timeout_ms);
	attach_split(&r->g, r->d, split);
	if (kind == BACKEND_QSD)
		blk_init(&r->k, &r->g, r->d, GUEST_GPA, GUEST_GPA + 3 * PG);
	else
		net_init(&r->n, &r->g, r->d, GUEST_GPA);
	r->s = (struct cycle){ .g = &r->g, .d = r->d, .b = &r->b,
			      .src = GUEST_GPA + 16 * PG,
			      .dst = GUEST_GPA + 17 * PG };
}

void rig_down(struct rig *r)
{
	gmem_vu_close(r->d);
	guest_fini(&r->g);
	backend_stop(&r->b);
}

static int dev_try(struct blkdev *k, struct netdev *n, uint64_t src,
		   uint64_t dst, unsigned int ms)
{
	uint64_t sector;
	int ret;

	if (!k)
		return net_send(n, src, dst, 256, ms);
	sector = blk_next(k, PG);
	ret = blk_rw(k, VIRTIO_BLK_T_OUT, sector, src, PG, ms);
	if (ret)
		return ret;
	return blk_rw(k, VIRTIO_BLK_T_IN, sector, dst, PG, ms);
}

int rig_try(struct rig *r, uint64_t src, uint64_t dst, unsigned int ms)
{
	return dev_try(r->b.kind == BACKEND_QSD ? &r->k : NULL, &r->n, src,
		       dst, ms);
}

void dev_check(struct guest *g, struct blkdev *k, struct netdev *n,
	       uint64_t src, uint64_t dst, unsigned int tag)
{
	uint8_t want[PG], got[PG];
	uint32_t skip = k ? 0 : NET_HDR;
	uint32_t len = k ? PG : 256;
	int ret;

	for (uint32_t i = 0; i < len; i++)
		want[i] = i < skip ? 0 : (uint8_t)(i * 13 + tag);
	gwrite(g, src, want, len);
	memset(got, 0xee, len);
	gwrite(g, dst, got, len);
	ret = dev_try(k, n, src, dst, 5000);
	TEST_ASSERT(!ret, "%s: %s from gpa 0x%llx to 0x%llx",
		    k ? "blk" : "net", strerror(-ret),
		    (unsigned long long)src, (unsigned long long)dst);
	gread(g, dst, got, len);
	TEST_ASSERT(!memcmp(want + skip, got + skip, len - skip),
		    "the data did not land in gpa 0x%llx",
		    (unsigned long long)dst);
}

void rig_check(struct rig *r, uint64_t src, uint64_t dst, unsigned int tag)
{
	dev_check(&r->g, r->b.kind == BACKEND_QSD ? &r->k : NULL, &r->n, src,
		  dst, tag);
}

uint64_t rig_attrs(struct rig *r, uint64_t gpa)
{
	uint64_t attrs, run;

	TEST_RET(gmem_get_attributes(r->g.file, gpa - GUEST_GPA, &attrs,
				     &run), 0);
	return attrs;
}
