// SPDX-License-Identifier: MIT
/*
 * The runner snapshot record: a fixed 256-byte little-endian block, every
 * field at a named offset, the rest zero. Encode and decode share one
 * range check, so a record the runner writes is one it reads back.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "abi.h"
#include "gmem.h"
#include "runner.h"
#include "snap-record.h"

/* Offsets in the record (docs/snapshot.md has the same table). */
#define OFF_MAGIC	0
#define OFF_VERSION	8
#define OFF_NR_VCPUS	12
#define OFF_RAM_SLOTS	16
#define OFF_FLAGS	20
#define OFF_CONV	24
#define OFF_RSVD0	28	/* 4 bytes, zero */
#define OFF_RAM_SIZE	32
#define OFF_RAM_GPA	40
#define OFF_DMA_SIZE	48
#define OFF_ROUND	56
#define OFF_PARAM	64	/* 8 x 8 bytes */
#define OFF_DIGEST	128	/* 32 bytes */
#define OFF_VCPU_BYTES	160
#define OFF_STREAM	168
#define OFF_RSVD1	176	/* to the end, zero */
#define RSVD0_LEN	4

#define PARAMS		8
_Static_assert(sizeof(((struct runner_snap_record *)0)->param) ==
	       PARAMS * sizeof(uint64_t), "param[] is the record's 8 slots");
_Static_assert(OFF_PARAM + PARAMS * 8 == OFF_DIGEST, "param then digest");
_Static_assert(OFF_DIGEST + 32 == OFF_VCPU_BYTES, "digest then vcpu_bytes");
_Static_assert(OFF_RSVD1 < RUNNER_SNAP_RECORD_LEN, "the record holds it");

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool page_aligned(uint64_t v)
{
	return !(v & (GMEM_PAGE_SIZE - 1));
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* The fields' ranges: the values in effect (no "0 means default"). */
static bool record_ok(const struct runner_snap_record *rec)
{
	if (rec->version != RUNNER_SNAP_VERSION)
		return false;
	if (!rec->nr_vcpus || rec->nr_vcpus > GUEST_MAX_VCPUS)
		return false;
	if (!rec->ram_slots || rec->ram_slots > RUNNER_MAX_RAM_SLOTS)
		return false;
	if (rec->flags & ~RUNNER_SNAP_FLAGS)
		return false;
	/* huge RAM is a memfd's (runner_config.huge) */
	if ((rec->flags & RUNNER_SNAP_HUGE) && !(rec->flags & RUNNER_SNAP_MEMFD))
		return false;
	if (rec->conv_channel != GUEST_CONV_DOORBELL &&
	    rec->conv_channel != GUEST_CONV_HYPERCALL)
		return false;
	if (!page_aligned(rec->ram_size) || !page_aligned(rec->ram_gpa) ||
	    rec->ram_gpa + rec->ram_size < rec->ram_gpa)
		return false;
	if (!page_aligned(rec->dma_size) || rec->dma_size > RUNNER_DMA_MAX)
		return false;
	if (rec->vcpu_bytes >
	    (uint64_t)(rec->nr_vcpus + 1) * RUNNER_SNAP_VCPU_MAX)
		return false;
	return rec->stream_offset == RUNNER_SNAP_RECORD_LEN + rec->vcpu_bytes;
}

int runner_snap_record_encode(const struct runner_snap_record *rec,
			      uint8_t buf[RUNNER_SNAP_RECORD_LEN])
{
	if (!rec || !buf || !record_ok(rec))
		return -EINVAL;
	memset(buf, 0, RUNNER_SNAP_RECORD_LEN);
	memcpy(buf + OFF_MAGIC, RUNNER_SNAP_MAGIC, RUNNER_SNAP_MAGIC_LEN);
	put32(buf + OFF_VERSION, rec->version);
	put32(buf + OFF_NR_VCPUS, rec->nr_vcpus);
	put32(buf + OFF_RAM_SLOTS, rec->ram_slots);
	put32(buf + OFF_FLAGS, rec->flags);
	put32(buf + OFF_CONV, rec->conv_channel);
	put64(buf + OFF_RAM_SIZE, rec->ram_size);
	put64(buf + OFF_RAM_GPA, rec->ram_gpa);
	put64(buf + OFF_DMA_SIZE, rec->dma_size);
	put64(buf + OFF_ROUND, rec->round);
	for (int i = 0; i < PARAMS; i++)
		put64(buf + OFF_PARAM + 8 * i, rec->param[i]);
	memcpy(buf + OFF_DIGEST, rec->digest, sizeof(rec->digest));
	put64(buf + OFF_VCPU_BYTES, rec->vcpu_bytes);
	put64(buf + OFF_STREAM, rec->stream_offset);
	return 0;
}

int runner_snap_record_decode(const uint8_t buf[RUNNER_SNAP_RECORD_LEN],
			      struct runner_snap_record *rec)
{
	struct runner_snap_record r;

	if (!buf || !rec)
		return -EINVAL;
	if (memcmp(buf + OFF_MAGIC, RUNNER_SNAP_MAGIC, RUNNER_SNAP_MAGIC_LEN))
		return -EBADMSG;
	r.version = get32(buf + OFF_VERSION);
	if (r.version != RUNNER_SNAP_VERSION)
		return -EPROTONOSUPPORT;
	if (!all_zero(buf + OFF_RSVD0, RSVD0_LEN) ||
	    !all_zero(buf + OFF_RSVD1, RUNNER_SNAP_RECORD_LEN - OFF_RSVD1))
		return -EBADMSG;
	r.nr_vcpus = get32(buf + OFF_NR_VCPUS);
	r.ram_slots = get32(buf + OFF_RAM_SLOTS);
	r.flags = get32(buf + OFF_FLAGS);
	r.conv_channel = get32(buf + OFF_CONV);
	r.ram_size = get64(buf + OFF_RAM_SIZE);
	r.ram_gpa = get64(buf + OFF_RAM_GPA);
	r.dma_size = get64(buf + OFF_DMA_SIZE);
	r.round = get64(buf + OFF_ROUND);
	for (int i = 0; i < PARAMS; i++)
		r.param[i] = get64(buf + OFF_PARAM + 8 * i);
	memcpy(r.digest, buf + OFF_DIGEST, sizeof(r.digest));
	r.vcpu_bytes = get64(buf + OFF_VCPU_BYTES);
	r.stream_offset = get64(buf + OFF_STREAM);
	if (!record_ok(&r))
		return -EBADMSG;
	*rec = r;
	return 0;
}
