// SPDX-License-Identifier: MIT
/*
 * vtest.c - the rig and the host HAL of the guest drivers (vtest.h).
 */
#include <sys/mman.h>
#include <time.h>

#include "vtest.h"

/* Waits give up after this long: a hang guard, not a timing check. */
#define WAIT_MS		10000

static struct vtest *cur;

static struct vmm_vmmio *window(uint64_t addr, uint64_t *off)
{
	TEST_ASSERT(cur && addr >= VT_WINDOW &&
		    addr < VT_WINDOW + VMM_VMMIO_SIZE,
		    "MMIO at 0x%llx, outside the device's window",
		    (unsigned long long)addr);
	*off = addr - VT_WINDOW;
	return cur->dev;
}

static void refused(int ret, uint64_t off, bool write)
{
	if (!ret)
		return;
	cur->refused++;
	TEST_ASSERT(cur->may_refuse,
		    "the transport refused the driver's %s at 0x%llx: %s",
		    write ? "write" : "read", (unsigned long long)off,
		    strerror(-ret));
}

uint32_t vio_hal_read32(uint64_t addr)
{
	uint64_t off;
	struct vmm_vmmio *d = window(addr, &off);
	uint32_t val;

	refused(vmm_vmmio_access(d, off, &val, 4, false), off, false);
	return val;
}

void vio_hal_write32(uint64_t addr, uint32_t val)
{
	uint64_t off;
	struct vmm_vmmio *d = window(addr, &off);

	refused(vmm_vmmio_access(d, off, &val, 4, true), off, true);
}

void *vio_hal_ptr(uint64_t gpa)
{
	TEST_ASSERT(gpa >= GUEST_GPA && gpa < GUEST_GPA + VT_SIZE,
		    "gpa 0x%llx outside guest memory",
		    (unsigned long long)gpa);
	return cur->map + (gpa - GUEST_GPA);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

int vio_hal_relax(uint64_t spins)
{
	static uint64_t start;

	if (!spins)
		start = now_ms();
	if (spins < 64)
		return 0;
	usleep(50);
	return now_ms() - start > WAIT_MS;
}

int64_t dma_hal_convert(uint64_t gpa, uint64_t npages, int private)
{
	uint64_t len = npages * PG;
	int ret;

	ret = gmem_vm_convert(cur->g.vm, gpa, len,
			      private ? GMEM_ATTR_PRIVATE : 0, NULL);
	if (ret)
		return ret;
	if (private) {
		TEST_ASSERT(!table_covers(cur->vu, gpa, len),
			    "gpa 0x%llx is private and in the back-end's table",
			    (unsigned long long)gpa);
		check_exposure(&cur->b, cur->vu, cur->g.file, UINT64_MAX);
	} else {
		TEST_ASSERT(table_covers(cur->vu, gpa, len),
			    "gpa 0x%llx is shared again but not in the table",
			    (unsigned long long)gpa);
	}
	return 0;
}

void vt_up(struct vtest *t, enum backend_kind kind)
{
	vt_up_timeout(t, kind, 10000);
}

void vt_up_timeout(struct vtest *t, enum backend_kind kind,
		   unsigned int timeout_ms)
{
	uint64_t blk_config = VT_DISK / 512;	/* capacity in sectors */
	const uint8_t net_config[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 1 };
	struct vmm_vmmio_config cfg = { .queue_num_max = VIO_VQ_NUM };
	void *map;

	memset(t, 0, sizeof(*t));
	backend_start(&t->b, kind);
	guest_init(&t->g, VT_SIZE);
	t->vu = backend_connect(&t->b, timeout_ms);
	TEST_RET(gmem_vu_attach(t->vu, t->g.file, 0, VT_SIZE, GUEST_GPA), 0);
	TEST_RET(gmem_map(t->g.file, 0, VT_SIZE, PROT_READ | PROT_WRITE, &map),
		 0);
	t->map = map;
	if (kind == BACKEND_QSD) {
		cfg.device_id = VMM_VIRTIO_ID_BLOCK;
		cfg.num_queues = 1;
		cfg.config = &blk_config;
		cfg.config_len = sizeof(blk_config);
	} else {
		cfg.device_id = VMM_VIRTIO_ID_NET;
		cfg.num_queues = 2;
		cfg.config = net_config;
		cfg.config_len = sizeof(net_config);
	}
	TEST_RET(vmm_vmmio_create(t->vu, &cfg, &t->dev), 0);
	cur = t;
}

void vt_down(struct vtest *t)
{
	cur = NULL;
	vmm_vmmio_destroy(t->dev);
	gmem_vu_close(t->vu);
	TEST_RET(gmem_unmap(t->g.file, t->map, VT_SIZE), 0);
	guest_fini(&t->g);
	backend_stop(&t->b);
}
