// SPDX-License-Identifier: MIT
/*
 * rig.c - the fault tests' starting point (rig.h).
 */
#include "rig.h"

void rig_up(struct rig *r, enum backend_kind kind, unsigned int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	backend_start(&r->b, kind);
	guest_init(&r->g, RIG_SIZE);
	r->d = vu_connect(&r->b, timeout_ms);
	TEST_RET(gmem_vu_attach(r->d, r->g.file, 0, RIG_SIZE, GUEST_GPA), 0);
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

int rig_try(struct rig *r, uint64_t src, uint64_t dst, unsigned int ms)
{
	uint64_t sector = r->k.sector;
	int ret;

	if (r->b.kind == BACKEND_DPDK)
		return net_send(&r->n, src, dst, 256, ms);
	r->k.sector += PG / 512;
	ret = blk_rw(&r->k, VIRTIO_BLK_T_OUT, sector, src, PG, ms);
	if (ret)
		return ret;
	return blk_rw(&r->k, VIRTIO_BLK_T_IN, sector, dst, PG, ms);
}

void rig_check(struct rig *r, uint64_t src, uint64_t dst, unsigned int tag)
{
	uint8_t want[PG], got[PG];
	uint32_t skip = r->b.kind == BACKEND_DPDK ? NET_HDR : 0;
	uint32_t len = r->b.kind == BACKEND_DPDK ? 256 : PG;

	for (uint32_t i = 0; i < len; i++)
		want[i] = i < skip ? 0 : (uint8_t)(i * 13 + tag);
	gwrite(&r->g, src, want, len);
	memset(got, 0xee, len);
	gwrite(&r->g, dst, got, len);
	TEST_RET(rig_try(r, src, dst, 5000), 0);
	gread(&r->g, dst, got, len);
	TEST_ASSERT(!memcmp(want + skip, got + skip, len - skip),
		    "the data did not land in gpa 0x%llx",
		    (unsigned long long)dst);
}

uint64_t rig_attrs(struct rig *r, uint64_t gpa)
{
	uint64_t attrs, run;

	TEST_RET(gmem_get_attributes(r->g.file, gpa - GUEST_GPA, &attrs,
				     &run), 0);
	return attrs;
}
