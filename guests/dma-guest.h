/* SPDX-License-Identifier: MIT */
/*
 * What the dma guest (guests/dma.c) and its hosts share: its parameters,
 * the layout of its DMA area, and its rounds (guests/dma-rounds.c), which
 * the host tests also run on their own HAL (docs/virtio.md).
 *
 * The DMA area is guest RAM attached to every device, page-aligned:
 *	+0	blk rings		+2 pages	blk request slot
 *	+3	net rings (rx, tx)	+7		NVMe queues, identify page
 *	+12	buffers a, b, c
 * Buffer c is converted private and back in every round. An assigned PCI
 * device (edu, NVMe: pci-dev.h) also tries a DMA into c while it is
 * private, which the IOMMU must block.
 */
#ifndef GMEM_DMA_GUEST_H
#define GMEM_DMA_GUEST_H

#include "pci-dev.h"
#include "virtio.h"

/* guest_boot.param[] */
enum dma_param {
	DMA_P_ROUNDS,
	DMA_P_BLK,		/* gpa of the virtio-blk window, 0: none */
	DMA_P_NET,		/* gpa of the virtio-net window, 0: none */
	DMA_P_AREA,		/* gpa of the DMA area */
	DMA_P_AREA_SIZE,	/* its bytes, at least DMA_AREA_MIN */
	DMA_P_BENCH,		/* 4 KiB blk writes, then reads, timed; 0: none */
};

enum dma_stage {
	DMA_STAGE_ROUND = 1,	/* args: round, gpa of c; after the round */
	DMA_STAGE_END,
	DMA_STAGE_BENCH_BEGIN,	/* args: requests; before the writes */
	DMA_STAGE_BENCH_MID,	/* writes done, reads next */
	DMA_STAGE_BENCH_END,	/* reads done */
};

#define DMA_BLK_RING	(0 * VIO_PAGE)
#define DMA_BLK_REQ	(2 * VIO_PAGE)
#define DMA_NET_RING	(3 * VIO_PAGE)
#define DMA_NVME	(7 * VIO_PAGE)
#define DMA_BUF_A	((7 + NVME_QUEUE_PAGES) * VIO_PAGE)
#define DMA_BUF_B	(DMA_BUF_A + VIO_PAGE)
#define DMA_BUF_C	(DMA_BUF_A + 2 * VIO_PAGE)
#define DMA_AREA_MIN	(DMA_BUF_A + 3 * VIO_PAGE)
#define DMA_NET_LEN	1024	/* bytes per frame, header included */
#define DMA_NET_SKIP	16	/* the header, rounded to a word */

/* Provided by the build: make pages private (@private) or shared. */
int64_t dma_hal_convert(uint64_t gpa, uint64_t npages, int private);

/* The kind of assigned PCI device (run-guest.h's RUN_P_VFIO_KIND). */
enum dma_pci_kind {
	DMA_PCI_NONE,
	DMA_PCI_EDU,
	DMA_PCI_NVME,
};

/* The devices' windows (gpas, 0: none). */
struct dma_devs {
	uint64_t blk, net, pci;
	enum dma_pci_kind pci_kind;
};

struct dma_io {
	struct vio_blk blk;
	struct vio_net net;
	struct edu_dev edu;
	struct nvme_dev nvme;
	bool has_blk, has_net, has_edu, has_nvme;
	uint64_t blocked;	/* DMAs into private c tried, all rounds */
	uint64_t a, b, c;	/* gpas of the buffers */
	uint64_t capacity;	/* sectors the rounds use */
	const char *what;	/* the step that failed */
	int64_t err;		/* its error, or the bad byte's offset */
};

/* Initialise the devices whose window is non-zero. Return: 0; errors. */
int dma_setup_devs(struct dma_io *io, const struct dma_devs *devs,
		   uint64_t area, uint64_t size);
/* The same for the virtio devices alone. */
int dma_setup(struct dma_io *io, uint64_t blk, uint64_t net, uint64_t area,
	      uint64_t size);
/*
 * One round: DMA through every device with c shared, then with c private
 * (c untouched; a PCI device's DMA into c is blocked), then into and out
 * of c again once it is shared.
 * Return: 0; a negative errno or -1 for data that did not land, with
 * io->what and io->err saying where.
 */
int dma_round(struct dma_io *io, uint64_t round);

#endif /* GMEM_DMA_GUEST_H */
