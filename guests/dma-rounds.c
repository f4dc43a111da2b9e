// SPDX-License-Identifier: MIT
/*
 * dma-rounds.c - the dma guest's rounds (dma-guest.h), on whichever HAL
 * the build provides: the guest's, or a host test's.
 *
 * Each transfer fills a source buffer with a pattern, poisons the
 * destination, moves the data through the device (blk: write a sector,
 * read it back; net: send a frame, testpmd's io forwarding returns it) and
 * checks that every word arrived in the page the driver reads.
 */
#include "abi.h"
#include "dma-guest.h"

#define FAIL(io, step, e)						\
	do {								\
		(io)->what = (step);					\
		(io)->err = (e);					\
		return -1;						\
	} while (0)

static void fill(uint64_t gpa, uint64_t from, uint64_t len, uint64_t seed)
{
	volatile uint64_t *p = vio_hal_ptr(gpa);

	for (uint64_t off = from; off + 8 <= len; off += 8)
		p[off / 8] = guest_pattern(seed, off);
}

/* The first bad byte offset, or -1. */
static int64_t check(uint64_t gpa, uint64_t from, uint64_t len,
		     uint64_t seed)
{
	volatile uint64_t *p = vio_hal_ptr(gpa);

	for (uint64_t off = from; off + 8 <= len; off += 8)
		if (p[off / 8] != guest_pattern(seed, off))
			return (int64_t)off;
	return -1;
}

static int blk_move(struct dma_io *io, uint64_t src, uint64_t dst,
		    uint64_t sector, uint64_t seed, const char *step)
{
	int64_t bad;
	int ret;

	fill(src, 0, VIO_PAGE, seed);
	__builtin_memset(vio_hal_ptr(dst), 0xee, VIO_PAGE);
	ret = vio_blk_rw(&io->blk, true, sector, src, VIO_PAGE);
	if (!ret)
		ret = vio_blk_rw(&io->blk, false, sector, dst, VIO_PAGE);
	if (ret)
		FAIL(io, step, ret);
	bad = check(dst, 0, VIO_PAGE, seed);
	if (bad >= 0)
		FAIL(io, step, bad);
	return 0;
}

static int net_move(struct dma_io *io, uint64_t src, uint64_t dst,
		    uint64_t seed, const char *step)
{
	int64_t bad;
	int ret;

	fill(src, DMA_NET_SKIP, DMA_NET_LEN, seed);
	__builtin_memset(vio_hal_ptr(dst), 0xee, DMA_NET_LEN);
	ret = vio_net_xfer(&io->net, src, dst, DMA_NET_LEN);
	if (ret >= 0 && ret != DMA_NET_LEN)
		ret = -VIO_EIO;
	if (ret < 0)
		FAIL(io, step, ret);
	bad = check(dst, DMA_NET_SKIP, DMA_NET_LEN, seed);
	if (bad >= 0)
		FAIL(io, step, bad);
	return 0;
}

/* Every device moves @src to @dst; sectors are the round's own. */
static int move(struct dma_io *io, uint64_t round, unsigned int k,
		uint64_t src, uint64_t dst, const char *step)
{
	uint64_t seed = round * 16 + k, sector;
	int ret = 0;

	if (io->has_blk) {
		sector = (round * 4 + k) * (VIO_PAGE / VIO_BLK_SECTOR) %
			 io->capacity;
		ret = blk_move(io, src, dst, sector, seed, step);
	}
	if (!ret && io->has_net)
		ret = net_move(io, src, dst, seed + 8, step);
	return ret;
}

int dma_setup(struct dma_io *io, uint64_t blk, uint64_t net, uint64_t area,
	      uint64_t size)
{
	int ret;

	__builtin_memset(io, 0, sizeof(*io));
	if (area % VIO_PAGE || size < DMA_AREA_MIN || (!blk && !net))
		return -VIO_EINVAL;
	io->a = area + DMA_BUF_A;
	io->b = area + DMA_BUF_B;
	io->c = area + DMA_BUF_C;
	if (blk) {
		ret = vio_blk_init(&io->blk, blk, area + DMA_BLK_RING,
				   area + DMA_BLK_REQ);
		if (ret)
			return ret;
		io->has_blk = true;
		/* Whole pages of sectors, so that a page never straddles. */
		io->capacity = io->blk.capacity / 8 * 8;
		if (!io->capacity)
			return -VIO_ENOSPC;
	}
	if (net) {
		ret = vio_net_init(&io->net, net, area + DMA_NET_RING);
		if (ret)
			return ret;
		io->has_net = true;
	}
	return 0;
}

int dma_round(struct dma_io *io, uint64_t round)
{
	int64_t ret;

	if (move(io, round, 0, io->a, io->c, "shared: a -> c") ||
	    move(io, round, 1, io->c, io->b, "shared: c -> b"))
		return -1;
	ret = dma_hal_convert(io->c, 1, 1);
	if (ret)
		FAIL(io, "c to private", ret);
	/* The devices keep working while c is private; c is not touched. */
	if (move(io, round, 2, io->a, io->b, "c private: a -> b"))
		return -1;
	ret = dma_hal_convert(io->c, 1, 0);
	if (ret)
		FAIL(io, "c to shared", ret);
	if (move(io, round, 3, io->a, io->c, "c shared again: a -> c") ||
	    move(io, round, 4, io->c, io->b, "c shared again: c -> b"))
		return -1;
	return 0;
}
