// SPDX-License-Identifier: MIT
/*
 * NVMe 4 KiB writes and reads through VFIO from this process, with the
 * queues and buffers in a guest-memory file the assigned controller is
 * attached to (IOVA = gpa): once on guest_memfd (a KVM VM's file) and once
 * on a memfd (a detached VM's file, the way VMMs back RAM today), the
 * same controller, the same commands, one in flight, polled. Part of the
 * VFIO rows (vfio.c); the controller is found by class 01:08:02.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "gmem.h"
#include "level1.h"
#include "vmm.h"

#define PAGE		4096ULL
#define MEM		(1ULL << 20)	/* queues, identify, buffers */
#define MEM_GPA		(3ULL << 30)
#define Q_ENTRIES	16
#define ASQ		0
#define ACQ		(1 * PAGE)
#define IOSQ		(2 * PAGE)
#define IOCQ		(3 * PAGE)
#define IDENT		(4 * PAGE)
#define BUF		(8 * PAGE)
#define NR_BUF		((MEM - BUF) / PAGE)
#define REG_CAP		0x00
#define REG_CC		0x14
#define REG_CSTS	0x1c
#define REG_AQA		0x24
#define REG_ASQ		0x28
#define REG_ACQ		0x30
#define REG_DB		0x1000
#define CC_EN		1U
#define CC_QES		(6U << 16 | 4U << 20)	/* 64-byte SQE, 16-byte CQE */
#define CSTS_RDY	1U
#define CSTS_CFS	2U
#define ADM_CREATE_SQ	0x01
#define ADM_CREATE_CQ	0x05
#define ADM_IDENTIFY	0x06
#define IO_WRITE	0x01
#define IO_READ		0x02
#define WAIT_S		10.0

struct nq {
	uint32_t *sq, *cq;
	uint64_t sq_iova, sq_db, cq_db;
	unsigned int tail, head, phase;
	uint16_t cid;
};

struct nctl {
	struct vmm_device *d;
	uint8_t *mem;
	uint32_t stride;
	struct nq admin, io;
	uint32_t lbads;
	uint64_t blocks;
};

/*
 * Ordering against the device, not another thread: an mfence written out
 * (ThreadSanitizer refuses atomic_thread_fence, and could not see the
 * device anyway; these machines are x86-64).
 */
static void dev_fence(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

static uint32_t rd32(struct nctl *n, uint64_t reg)
{
	uint32_t v = 0;

	vmm_device_mmio(n->d, reg, &v, sizeof(v), false);
	return v;
}

static int wr32(struct nctl *n, uint64_t reg, uint32_t v)
{
	return vmm_device_mmio(n->d, reg, &v, sizeof(v), true);
}

static int wait_ready(struct nctl *n, uint32_t rdy)
{
	double t0 = bench_now();

	for (;;) {
		uint32_t csts = rd32(n, REG_CSTS);

		if (rdy && (csts & CSTS_CFS))
			return -EIO;
		if ((csts & CSTS_RDY) == rdy)
			return 0;
		if (bench_now() - t0 > WAIT_S)
			return -ETIMEDOUT;
	}
}

static void q_init(struct nctl *n, struct nq *q, uint64_t sq, uint64_t cq,
		   unsigned int qid)
{
	*q = (struct nq){
		.sq = (uint32_t *)(n->mem + sq), .cq = (uint32_t *)(n->mem + cq),
		.sq_iova = MEM_GPA + sq, .phase = 1,
		.sq_db = REG_DB + 2 * qid * n->stride,
		.cq_db = REG_DB + (2 * qid + 1) * n->stride,
	};
	memset(q->sq, 0, PAGE);
	memset(q->cq, 0, PAGE);
}

/* One command (PRP1 = @prp, dwords 10-12), polled to its completion. */
static int cmd(struct nctl *n, struct nq *q, uint8_t opc, uint32_t nsid,
	       uint64_t prp, uint32_t c10, uint32_t c11, uint32_t c12)
{
	volatile uint32_t *cqe = q->cq + q->head * 4;
	uint32_t *sqe = q->sq + q->tail * 16;
	uint16_t cid = q->cid++;
	double t0 = bench_now();
	uint32_t dw3;
	int r;

	memset(sqe, 0, 64);
	sqe[0] = opc | (uint32_t)cid << 16;
	sqe[1] = nsid;
	sqe[6] = (uint32_t)prp;
	sqe[7] = (uint32_t)(prp >> 32);
	sqe[10] = c10;
	sqe[11] = c11;
	sqe[12] = c12;
	q->tail = (q->tail + 1) % Q_ENTRIES;
	/* the entry is in memory before the controller reads it */
	dev_fence();
	r = wr32(n, q->sq_db, q->tail);
	while (!r && ((cqe[3] >> 16) & 1) != q->phase)
		if (bench_now() - t0 > WAIT_S)
			r = -ETIMEDOUT;
	if (r)
		return r;
	dev_fence();
	dw3 = cqe[3];
	if (++q->head == Q_ENTRIES) {
		q->head = 0;
		q->phase ^= 1;
	}
	r = wr32(n, q->cq_db, q->head);
	if (!r && ((dw3 & 0xffff) != cid || (dw3 >> 17) & 0x7fff))
		r = -EIO;
	return r;
}

/* Disable, admin queues, enable, one I/O queue pair, namespace 1. */
static int bring_up(struct nctl *n)
{
	uint64_t asq = MEM_GPA + ASQ, acq = MEM_GPA + ACQ;
	const uint8_t *id = n->mem + IDENT;
	uint32_t caphi = 0, flbas;
	int r;

	vmm_device_mmio(n->d, REG_CAP + 4, &caphi, sizeof(caphi), false);
	n->stride = 4U << (caphi & 0xf);
	r = wr32(n, REG_CC, rd32(n, REG_CC) & ~CC_EN) ?: wait_ready(n, 0);
	if (r)
		return r;
	q_init(n, &n->admin, ASQ, ACQ, 0);
	r = wr32(n, REG_AQA, (Q_ENTRIES - 1) << 16 | (Q_ENTRIES - 1)) ?:
	    vmm_device_mmio(n->d, REG_ASQ, &asq, sizeof(asq), true) ?:
	    vmm_device_mmio(n->d, REG_ACQ, &acq, sizeof(acq), true) ?:
	    wr32(n, REG_CC, CC_EN | CC_QES) ?: wait_ready(n, CSTS_RDY);
	if (r)
		return r;
	q_init(n, &n->io, IOSQ, IOCQ, 1);
	r = cmd(n, &n->admin, ADM_CREATE_CQ, 0, MEM_GPA + IOCQ,
		(Q_ENTRIES - 1) << 16 | 1, 1, 0) ?:
	    cmd(n, &n->admin, ADM_CREATE_SQ, 0, MEM_GPA + IOSQ,
		(Q_ENTRIES - 1) << 16 | 1, 1 << 16 | 1, 0) ?:
	    cmd(n, &n->admin, ADM_IDENTIFY, 1, MEM_GPA + IDENT, 0, 0, 0);
	if (r)
		return r;
	memcpy(&n->blocks, id, sizeof(n->blocks));
	flbas = id[26] & 0xf;
	n->lbads = id[128 + 4 * flbas + 2];
	return n->lbads >= 9 && n->lbads <= 12 && n->blocks ? 0 : -ENODEV;
}

/* @ops 4 KiB commands of @opc over the disk's start; MB/s. */
static int io_rate(struct nctl *n, uint8_t opc, unsigned int ops,
		   double *mbs)
{
	uint32_t per = (uint32_t)(PAGE >> n->lbads);
	uint64_t span = n->blocks / per;
	double t0 = bench_now();
	int r = 0;

	for (unsigned int i = 0; !r && i < ops; i++) {
		uint64_t lba = (i % span) * per;

		r = cmd(n, &n->io, opc, 1, MEM_GPA + BUF + (i % NR_BUF) * PAGE,
			(uint32_t)lba, (uint32_t)(lba >> 32), per - 1);
	}
	*mbs = ops * PAGE / (bench_now() - t0) / 1e6;
	return r;
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / PAGE);
}

/*
 * Writes then reads of the same blocks into the same buffers: what comes
 * back must be what went out (each buffer last read from a block it wrote).
 */
static int measure(struct nctl *n, unsigned int ops, double *w, double *rd)
{
	int r = bring_up(n);

	for (uint64_t i = 0; i < NR_BUF * PAGE; i++)
		n->mem[BUF + i] = pattern(i);
	r = r ?: io_rate(n, IO_WRITE, ops, w);
	if (!r)
		memset(n->mem + BUF, 0, NR_BUF * PAGE);
	r = r ?: io_rate(n, IO_READ, ops, rd);
	for (uint64_t i = 0; !r && i < NR_BUF * PAGE; i++)
		if (n->mem[BUF + i] != pattern(i))
			r = -EILSEQ;
	wr32(n, REG_CC, rd32(n, REG_CC) & ~CC_EN);	/* idle before unmap */
	wait_ready(n, 0);
	return r;
}

/* One backing: a VM (@kvm: guest_memfd), its file, the controller on it. */
static int one(struct bench_table *t, const char *bdf, bool kvm,
	       unsigned int ops, double *w, double *rd)
{
	struct gmem_vm_config cfg = { .flags = kvm ? GMEM_VM_KVM : 0 };
	struct nctl n = { 0 };
	struct gmem_vm *vm;
	struct gmem_file *f = NULL;
	char err[256] = "";
	void *hva = NULL;
	int r;

	r = gmem_vm_create(&cfg, &vm);
	if (r)
		return bench_fail(t, r, "gmem_vm_create: %s", strerror(-r));
	r = gmem_create(vm, MEM, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			GMEM_FLAG_EXPORT, &f) ?:
	    gmem_map(f, 0, MEM, PROT_READ | PROT_WRITE, &hva);
	n.mem = hva;
	if (r)
		snprintf(err, sizeof(err), "guest memory: %s", strerror(-r));
	else if ((r = vmm_vfio_device_create(bdf, "bench-nvme", 0, &n.d, err,
					     sizeof(err))))
		;	/* err says why */
	else if ((r = vmm_device_attach(n.d, f, 0, MEM, MEM_GPA)))
		snprintf(err, sizeof(err), "attach: %s", strerror(-r));
	else if ((r = measure(&n, ops, w, rd)))
		snprintf(err, sizeof(err), "I/O: %s", r == -EILSEQ ?
			 "read back differs from what was written" :
			 strerror(-r));
	vmm_device_destroy(n.d);
	if (hva)
		gmem_unmap(f, hva, MEM);
	if (f)
		gmem_close(f);
	gmem_vm_put(vm);
	return r ? bench_fail(t, r, "NVMe %s: %s", bdf,
			      err[0] ? err : strerror(-r)) : 0;
}

int bench_vfio_nvme(const struct bench_opts *o, struct bench_table *t,
		    const char *bdf)
{
	unsigned int ops = o->quick ? 256 : 4096;
	double w, rd, mw, mrd;
	int r;

	r = one(t, bdf, o->kvm, ops, &w, &rd) ?:
	    one(t, bdf, false, ops, &mw, &mrd);
	if (r)
		return r;
	bench_add(t, "vfio_nvme_write_mbs", w, "MB/s",
		  o->kvm ? "4 KiB, guest_memfd" : "4 KiB, memfd");
	bench_add(t, "vfio_nvme_read_mbs", rd, "MB/s",
		  o->kvm ? "4 KiB, guest_memfd" : "4 KiB, memfd");
	bench_add(t, "vfio_nvme_write_memfd_mbs", mw, "MB/s", "4 KiB, memfd");
	bench_add(t, "vfio_nvme_read_memfd_mbs", mrd, "MB/s", "4 KiB, memfd");
	return 0;
}
