// SPDX-License-Identifier: MIT
/*
 * nvme.c - a minimal polled NVMe driver (NVM Express base specification
 * 1.4): reset and enable the controller, an admin queue pair, identify the
 * controller and namespace 1, one I/O queue pair, 4 KiB reads and writes
 * with PRP1 alone (a page-aligned page needs no PRP2). Completions are
 * found by their phase bit; no interrupts.
 */
#include "pci-dev.h"

/* Controller registers (BAR0) */
#define NVME_REG_CAP		0x00	/* 64-bit: read as two halves */
#define NVME_REG_CC		0x14
#define NVME_REG_CSTS		0x1c
#define NVME_REG_AQA		0x24
#define NVME_REG_ASQ		0x28
#define NVME_REG_ACQ		0x30
#define NVME_REG_DB		0x1000	/* doorbells */
#define NVME_CAP_MQES(lo)	((lo) & 0xffffU)
#define NVME_CAP_DSTRD(hi)	((hi) & 0xfU)
#define NVME_CAP_CSS_NVM(hi)	((hi) & (1U << 5))	/* bit 37 */
#define NVME_CAP_MPSMIN(hi)	(((hi) >> 16) & 0xfU)
#define NVME_CC_EN		1U
#define NVME_CC_IOSQES		(6U << 16)	/* 64-byte submissions */
#define NVME_CC_IOCQES		(4U << 20)	/* 16-byte completions */
#define NVME_CSTS_RDY		1U
#define NVME_CSTS_CFS		2U

/* Commands */
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_IO_WRITE		0x01
#define NVME_IO_READ		0x02
#define NVME_CNS_NS		0
#define NVME_CNS_CTRL		1
#define NVME_SQE_DWORDS		16
#define NVME_SQE_BYTES		64
#define NVME_CQE_BYTES		16
#define NVME_CQE_PHASE(dw3)	(((dw3) >> 16) & 1U)
#define NVME_CQE_STATUS(dw3)	(((dw3) >> 17) & 0x7fffU)
#define NVME_QUEUE_PC		1U	/* physically contiguous */

/* Identify data */
#define NVME_ID_CTRL_NN		516	/* u32: namespaces */
#define NVME_ID_NS_NSZE		0	/* u64: blocks */
#define NVME_ID_NS_FLBAS	26
#define NVME_ID_NS_LBAF		128	/* u32 each: LBADS in 23:16 */

/* CSTS.RDY becomes @rdy; a fatal status is an error. */
static int wait_ready(struct nvme_dev *n, uint32_t rdy)
{
	for (uint64_t spins = 0;; spins++) {
		uint32_t csts = vio_hal_read32(n->bar + NVME_REG_CSTS);

		if (csts & NVME_CSTS_CFS && rdy)
			return -VIO_EIO;
		if ((csts & NVME_CSTS_RDY) == rdy)
			return 0;
		if (vio_hal_relax(spins))
			return -VIO_ETIMEDOUT;
	}
}

static void zero_page(uint64_t gpa)
{
	__builtin_memset(vio_hal_ptr(gpa), 0, VIO_PAGE);
}

static void queue_init(struct nvme_queue *q, uint64_t sq, uint64_t cq,
		       unsigned int qid, uint32_t stride)
{
	*q = (struct nvme_queue){
		.sq = sq, .cq = cq, .phase = 1,
		.sq_db = NVME_REG_DB + 2 * qid * stride,
		.cq_db = NVME_REG_DB + (2 * qid + 1) * stride,
	};
	zero_page(sq);
	zero_page(cq);
}

/* Post @cmd (its CID filled in here) and poll for its completion. */
static int submit(struct nvme_dev *n, struct nvme_queue *q, uint32_t *cmd)
{
	volatile uint32_t *sqe = vio_hal_ptr(q->sq + q->tail * NVME_SQE_BYTES);
	volatile uint32_t *cqe = vio_hal_ptr(q->cq + q->head * NVME_CQE_BYTES);
	uint16_t cid = q->cid++;
	uint32_t dw3;

	cmd[0] |= (uint32_t)cid << 16;
	for (unsigned int i = 0; i < NVME_SQE_DWORDS; i++)
		sqe[i] = cmd[i];
	q->tail = (q->tail + 1) % NVME_Q_ENTRIES;
	/* the entry in memory before the controller is told */
	__asm__ volatile("mfence" : : : "memory");
	vio_hal_write32(n->bar + q->sq_db, q->tail);
	for (uint64_t spins = 0; NVME_CQE_PHASE(cqe[3]) != q->phase; spins++)
		if (vio_hal_relax(spins))
			return -VIO_ETIMEDOUT;
	dw3 = cqe[3];
	if (++q->head == NVME_Q_ENTRIES) {
		q->head = 0;
		q->phase ^= 1;
	}
	vio_hal_write32(n->bar + q->cq_db, q->head);
	if ((dw3 & 0xffffU) != cid)
		return -VIO_EIO;
	n->status = NVME_CQE_STATUS(dw3);
	return n->status ? -VIO_EIO : 0;
}

/* A command with PRP1 = @prp and command dwords 10 to 12. */
static int command(struct nvme_dev *n, struct nvme_queue *q, uint8_t opc,
		   uint32_t nsid, uint64_t prp, uint32_t cdw10,
		   uint32_t cdw11, uint32_t cdw12)
{
	uint32_t cmd[NVME_SQE_DWORDS] = {
		[0] = opc, [1] = nsid,
		[6] = (uint32_t)prp, [7] = (uint32_t)(prp >> 32),
		[10] = cdw10, [11] = cdw11, [12] = cdw12,
	};

	return submit(n, q, cmd);
}

static uint32_t ident32(struct nvme_dev *n, uint32_t off)
{
	return *(volatile uint32_t *)((char *)vio_hal_ptr(n->ident) + off);
}

/* Controller, then namespace 1: its size and block size. */
static int identify(struct nvme_dev *n)
{
	uint32_t lbaf, lbads;
	int ret;

	ret = command(n, &n->admin, NVME_ADM_IDENTIFY, 0, n->ident,
		      NVME_CNS_CTRL, 0, 0);
	if (ret)
		return ret;
	if (ident32(n, NVME_ID_CTRL_NN) < 1)
		return -VIO_ENODEV;
	ret = command(n, &n->admin, NVME_ADM_IDENTIFY, 1, n->ident,
		      NVME_CNS_NS, 0, 0);
	if (ret)
		return ret;
	n->blocks = ident32(n, NVME_ID_NS_NSZE) |
		    (uint64_t)ident32(n, NVME_ID_NS_NSZE + 4) << 32;
	lbaf = ident32(n, NVME_ID_NS_FLBAS & ~3U) >> 16 & 0xf;
	lbads = ident32(n, NVME_ID_NS_LBAF + 4 * lbaf) >> 16 & 0xff;
	if (lbads < 9 || lbads > 12 || !n->blocks)
		return -VIO_ENODEV;
	n->block_size = 1U << lbads;
	return 0;
}

/* Disable, give the admin queues, enable. */
static int enable(struct nvme_dev *n, uint64_t mem, uint32_t stride)
{
	const uint32_t entries = NVME_Q_ENTRIES - 1;
	const uint64_t cc = n->bar + NVME_REG_CC;
	int ret;

	vio_hal_write32(cc, vio_hal_read32(cc) & ~NVME_CC_EN);
	ret = wait_ready(n, 0);
	if (ret)
		return ret;
	queue_init(&n->admin, mem, mem + VIO_PAGE, 0, stride);
	vio_hal_write32(n->bar + NVME_REG_AQA, entries << 16 | entries);
	vio_hal_write64(n->bar + NVME_REG_ASQ, n->admin.sq);
	vio_hal_write64(n->bar + NVME_REG_ACQ, n->admin.cq);
	vio_hal_write32(cc, NVME_CC_EN | NVME_CC_IOSQES | NVME_CC_IOCQES);
	return wait_ready(n, NVME_CSTS_RDY);
}

int nvme_init(struct nvme_dev *n, uint64_t bar, uint64_t mem)
{
	const uint32_t qsize = (NVME_Q_ENTRIES - 1) << 16 | 1;	/* qid 1 */
	uint32_t lo, hi, stride;
	int ret;

	__builtin_memset(n, 0, sizeof(*n));
	n->bar = bar;
	n->ident = mem + 4 * VIO_PAGE;
	if (mem % VIO_PAGE)
		return -VIO_EINVAL;
	lo = vio_hal_read32(n->bar + NVME_REG_CAP);
	hi = vio_hal_read32(n->bar + NVME_REG_CAP + 4);
	if (lo == ~0U || !NVME_CAP_CSS_NVM(hi) || NVME_CAP_MPSMIN(hi) ||
	    NVME_CAP_MQES(lo) < NVME_Q_ENTRIES - 1)
		return -VIO_ENODEV;
	stride = 4U << NVME_CAP_DSTRD(hi);
	ret = enable(n, mem, stride);
	if (!ret)
		ret = identify(n);
	if (ret)
		return ret;
	queue_init(&n->io, mem + 2 * VIO_PAGE, mem + 3 * VIO_PAGE, 1, stride);
	ret = command(n, &n->admin, NVME_ADM_CREATE_CQ, 0, n->io.cq, qsize,
		      NVME_QUEUE_PC, 0);
	if (!ret)
		ret = command(n, &n->admin, NVME_ADM_CREATE_SQ, 0, n->io.sq,
			      qsize, 1U << 16 | NVME_QUEUE_PC, 0);
	return ret;
}

int nvme_rw(struct nvme_dev *n, bool write, uint64_t block, uint64_t buf)
{
	uint32_t per = VIO_PAGE / n->block_size;
	uint64_t lba = block * per;

	if (block >= nvme_pages(n) || buf % VIO_PAGE)
		return -VIO_EINVAL;
	return command(n, &n->io, write ? NVME_IO_WRITE : NVME_IO_READ, 1,
		       buf, (uint32_t)lba, (uint32_t)(lba >> 32), per - 1);
}
