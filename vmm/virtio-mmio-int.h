/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio-int.h - inside the virtio-mmio transport: the device's
 * state and register offsets, shared by the device's registers
 * (virtio-mmio.c) and its queues' registers and hand-off to the vhost-user
 * back-end and back (virtio-mmio-queue.c). virtio-mmio.c calls the queue
 * side, never the other way round.
 */
#ifndef GMEM_VIRTIO_MMIO_INT_H
#define GMEM_VIRTIO_MMIO_INT_H

#include <pthread.h>

#include "virtio-mmio.h"

/* Control registers (virtio 1.x, 4.2.2, "MMIO Device Register Layout"). */
enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = VMM_VMMIO_REG_STATUS,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
};

/* Device status bits (virtio 1.x, 2.1). */
#define ST_ACKNOWLEDGE		1
#define ST_DRIVER		2
#define ST_DRIVER_OK		4
#define ST_FEATURES_OK		8
#define ST_NEEDS_RESET		64
#define ST_FAILED		128

/* Who holds a queue's ring, as far as the device can tell. */
enum owner {
	OWN_DRIVER,	/* free: the driver may set it up */
	OWN_BACKEND,	/* handed over (gmem_vu_vring_setup), running */
	/*
	 * The stop timed out: the back-end stops the ring when it reads the
	 * request, and until its late reply comes it may still take
	 * requests from it.
	 */
	OWN_STOPPING,
	/*
	 * Never again: the back-end is gone (or answered nonsense) and
	 * libgmemvu cannot reconnect, or a setup failed half-way and left a
	 * ring libgmemvu cannot stop (virtio-mmio-queue.c, setup_failed()).
	 */
	OWN_LOST,
};

struct vqueue {
	uint32_t num;
	uint64_t desc, avail, used;
	bool ready;		/* set up by the driver since the last reset */
	bool held;		/* not taken back by the last reset */
	enum owner owner;	/* survives a reset until taken back */
};

struct vmm_vmmio {
	pthread_mutex_t lock;
	struct gmem_vu_dev *vu;
	uint32_t device_id;
	uint32_t num_queues;
	uint32_t num_max;
	uint32_t config_len;
	uint8_t config[VMM_VMMIO_CONFIG_MAX];
	uint64_t dev_features;
	uint64_t drv_features;
	uint32_t dev_sel, drv_sel;
	uint32_t queue_sel;
	uint32_t status;
	struct vqueue q[VMM_VMMIO_MAX_QUEUES];
};

static inline bool vmm_vmmio_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* One 32-bit half of a 64-bit register pair. */
static inline void vmm_vmmio_set_half(uint64_t *v, uint32_t val, bool high)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

/*
 * The queue side (virtio-mmio-queue.c), under d->lock but for
 * vmm_vmmio_notify(); virtio-mmio.c's head says why the lock is held
 * across the back-end's round trips.
 */
/* Take every queue back (a reset): 0 when all are free, else an errno. */
int vmm_vmmio_take_back_all(struct vmm_vmmio *d);
/* Whether every queue is the driver's again. */
bool vmm_vmmio_queues_free(const struct vmm_vmmio *d);
/* The queue QueueSel selects, or NULL past the device's queues. */
struct vqueue *vmm_vmmio_sel_queue(struct vmm_vmmio *d);
/* What QueueReady reads for @q. */
bool vmm_vmmio_shown_ready(const struct vqueue *q);
/* A write to QueueNum, QueueReady or a ring address register. */
int vmm_vmmio_write_queue(struct vmm_vmmio *d, uint64_t off, uint32_t val);
/* QueueNotify: takes d->lock itself, and kicks without it. */
int vmm_vmmio_notify(struct vmm_vmmio *d, uint32_t index);

#endif /* GMEM_VIRTIO_MMIO_INT_H */
