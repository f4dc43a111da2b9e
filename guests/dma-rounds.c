// SPDX-License-Identifier: MIT
/*
 * dma-rounds.c - the dma guest's rounds (dma-guest.h), on whichever HAL
 * the build provides: the guest's, or a host test's.
 *
 * Each transfer fills a source buffer with a pattern, poisons the
 * destination, moves the data through the device (blk: write a sector,
 * read it back; net: send a frame, testpmd's io forwarding returns it;
 * edu: into its buffer and out again; NVMe: write a block, read it back)
 * and checks that every word arrived in the page the driver reads.
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

/* Checks the first @len bytes of @dst, poisoned first, against @seed. */
static int landed(struct dma_io *io, int ret, uint64_t dst, uint64_t len,
		  uint64_t seed, const char *step)
{
	int64_t bad;

	if (ret)
		FAIL(io, step, ret);
	bad = check(dst, 0, len, seed);
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

static int blk_move(struct dma_io *io, uint64_t src, uint64_t dst,
		    uint64_t sector, uint64_t seed, const char *step)
{
	int ret;

	fill(src, 0, VIO_PAGE, seed);
	__builtin_memset(vio_hal_ptr(dst), 0xee, VIO_PAGE);
	ret = vio_blk_rw(&io->blk, true, sector, src, VIO_PAGE);
	if (!ret)
		ret = vio_blk_rw(&io->blk, false, sector, dst, VIO_PAGE);
	return landed(io, ret, dst, VIO_PAGE, seed, step);
}

static int edu_move(struct dma_io *io, uint64_t src, uint64_t dst,
		    uint64_t seed, const char *step)
{
	int ret;

	fill(src, 0, EDU_XFER_MAX, seed);
	__builtin_memset(vio_hal_ptr(dst), 0xee, EDU_XFER_MAX);
	ret = edu_dma(&io->edu, src, 0, EDU_XFER_MAX, false);
	if (!ret)
		ret = edu_dma(&io->edu, dst, 0, EDU_XFER_MAX, true);
	return landed(io, ret, dst, EDU_XFER_MAX, seed, step);
}

static int nvme_move(struct dma_io *io, uint64_t src, uint64_t dst,
		     uint64_t block, uint64_t seed, const char *step)
{
	int ret;

	fill(src, 0, VIO_PAGE, seed);
	__builtin_memset(vio_hal_ptr(dst), 0xee, VIO_PAGE);
	ret = nvme_rw(&io->nvme, true, block, src);
	if (!ret)
		ret = nvme_rw(&io->nvme, false, block, dst);
	return landed(io, ret, dst, VIO_PAGE, seed, step);
}

/* Every device moves @src to @dst; sectors are the round's own. */
static int move(struct dma_io *io, uint64_t round, unsigned int k,
		uint64_t src, uint64_t dst, const char *step)
{
	uint64_t seed = round * 16 + k, sector;
	int ret = 0;

	if (io->has_edu)
		ret = edu_move(io, src, dst, seed + 4, step);
	if (!ret && io->has_nvme)
		ret = nvme_move(io, src, dst, (round * 4 + k) %
				nvme_pages(&io->nvme), seed + 12, step);
	if (ret)
		return ret;

	if (io->has_blk) {
		sector = (round * 4 + k) * (VIO_PAGE / VIO_BLK_SECTOR) %
			 io->capacity;
		ret = blk_move(io, src, dst, sector, seed, step);
	}
	if (!ret && io->has_net)
		ret = net_move(io, src, dst, seed + 8, step);
	return ret;
}

/* The assigned PCI device at @bar. */
static int pci_setup(struct dma_io *io, enum dma_pci_kind kind, uint64_t bar,
		     uint64_t area)
{
	int ret;

	switch (kind) {
	case DMA_PCI_EDU:
		ret = edu_init(&io->edu, bar);
		io->has_edu = !ret;
		return ret;
	case DMA_PCI_NVME:
		ret = nvme_init(&io->nvme, bar, area + DMA_NVME);
		io->has_nvme = !ret;
		return ret;
	default:
		return -VIO_ENOTSUP;
	}
}

int dma_setup(struct dma_io *io, uint64_t blk, uint64_t net, uint64_t area,
	      uint64_t size)
{
	const struct dma_devs devs = { .blk = blk, .net = net };

	return dma_setup_devs(io, &devs, area, size);
}

int dma_setup_devs(struct dma_io *io, const struct dma_devs *devs,
		   uint64_t area, uint64_t size)
{
	uint64_t blk = devs->blk, net = devs->net;
	int ret;

	__builtin_memset(io, 0, sizeof(*io));
	if (area % VIO_PAGE || size < DMA_AREA_MIN ||
	    (!blk && !net && !devs->pci))
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
	return devs->pci ? pci_setup(io, devs->pci_kind, devs->pci, area) : 0;
}

/*
 * c is private: an assigned device's DMA into it must not arrive (the
 * IOMMU no longer maps it), so c keeps the secret the guest wrote. NVMe
 * may report the failed transfer or not: only c's contents count.
 */
static int blocked(struct dma_io *io, uint64_t round)
{
	uint64_t seed = round * 16 + 9;
	int ret;

	if (!io->has_edu && !io->has_nvme)
		return 0;
	fill(io->c, 0, VIO_PAGE, seed);
	if (io->has_edu) {
		ret = edu_dma(&io->edu, io->c, 0, EDU_XFER_MAX, true);
		if (ret)
			FAIL(io, "c private: edu -> c", ret);
		io->blocked++;
	}
	if (io->has_nvme) {
		ret = nvme_rw(&io->nvme, false, round % nvme_pages(&io->nvme),
			      io->c);
		if (ret && ret != -VIO_EIO)
			FAIL(io, "c private: nvme -> c", ret);
		io->blocked++;
	}
	return landed(io, 0, io->c, VIO_PAGE, seed,
		      "c private: a blocked DMA changed c");
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
	if (blocked(io, round) ||
	    move(io, round, 2, io->a, io->b, "c private: a -> b"))
		return -1;
	ret = dma_hal_convert(io->c, 1, 0);
	if (ret)
		FAIL(io, "c to shared", ret);
	if (move(io, round, 3, io->a, io->c, "c shared again: a -> c") ||
	    move(io, round, 4, io->c, io->b, "c shared again: c -> b"))
		return -1;
	return 0;
}
