// SPDX-License-Identifier: MIT
/*
 * virtio.c - the driver core (virtio.h): device initialisation over
 * virtio-mmio version 2 and split virtqueues, polled.
 *
 * The device is another process on another CPU, so the order in which
 * ring memory is written matters: descriptors before the avail entry,
 * the entry before the index that publishes it, the index before the
 * notification; and the used index before the used entry is read. Full
 * fences keep it simple (one per request, not per byte).
 */
#include "virtio.h"

/* Registers (virtio 1.x, 4.2.2). */
#define R_MAGIC			0x000
#define R_VERSION		0x004
#define R_DEVICE_ID		0x008
#define R_DEVICE_FEATURES	0x010
#define R_DEVICE_FEATURES_SEL	0x014
#define R_DRIVER_FEATURES	0x020
#define R_DRIVER_FEATURES_SEL	0x024
#define R_QUEUE_SEL		0x030
#define R_QUEUE_NUM_MAX		0x034
#define R_QUEUE_NUM		0x038
#define R_QUEUE_READY		0x044
#define R_QUEUE_NOTIFY		0x050
#define R_STATUS		0x070
#define R_QUEUE_DESC		0x080
#define R_QUEUE_DRIVER		0x090
#define R_QUEUE_DEVICE		0x0a0
#define R_CONFIG		0x100

#define MAGIC			0x74726976

/*
 * On x86 an mfence, written out: ThreadSanitizer refuses
 * __atomic_thread_fence, and could not see the other process anyway.
 */
static void fence(void)
{
#ifdef __x86_64__
	__asm__ volatile("mfence" : : : "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static uint32_t rd(struct vio_dev *d, uint32_t reg)
{
	return vio_hal_read32(d->base + reg);
}

static void wr(struct vio_dev *d, uint32_t reg, uint32_t val)
{
	vio_hal_write32(d->base + reg, val);
}

static void wr64(struct vio_dev *d, uint32_t reg, uint64_t val)
{
	vio_hal_write64(d->base + reg, val);
}

static void add_status(struct vio_dev *d, uint32_t bits)
{
	wr(d, R_STATUS, rd(d, R_STATUS) | bits);
}

uint32_t vio_config32(struct vio_dev *d, uint32_t off)
{
	return rd(d, R_CONFIG + off);
}

int vio_init(struct vio_dev *d, uint64_t base, uint32_t device_id,
	     uint64_t want)
{
	uint64_t offered;

	d->base = base;
	d->device_id = device_id;
	d->features = 0;
	if (rd(d, R_MAGIC) != MAGIC || rd(d, R_VERSION) != 2 ||
	    rd(d, R_DEVICE_ID) != device_id)
		return -VIO_ENODEV;
	wr(d, R_STATUS, 0);
	/*
	 * A reset is done when Status reads 0 (virtio 1.x, 4.2.3.1); a device
	 * that could not take its queues back keeps DEVICE_NEEDS_RESET, and
	 * going on would only fail later, at QueueReady.
	 */
	if (rd(d, R_STATUS))
		return -VIO_EAGAIN;
	add_status(d, VIO_ST_ACKNOWLEDGE | VIO_ST_DRIVER);
	wr(d, R_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)rd(d, R_DEVICE_FEATURES) << 32;
	wr(d, R_DEVICE_FEATURES_SEL, 0);
	offered |= rd(d, R_DEVICE_FEATURES);
	d->features = offered & (want | VIO_F_VERSION_1);
	if (!(d->features & VIO_F_VERSION_1))
		goto fail;
	wr(d, R_DRIVER_FEATURES_SEL, 1);
	wr(d, R_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	wr(d, R_DRIVER_FEATURES_SEL, 0);
	wr(d, R_DRIVER_FEATURES, (uint32_t)d->features);
	add_status(d, VIO_ST_FEATURES_OK);
	/* The device says no by not keeping the bit (virtio 1.x, 3.1.1). */
	if (rd(d, R_STATUS) & VIO_ST_FEATURES_OK)
		return 0;
fail:
	add_status(d, VIO_ST_FAILED);
	return -VIO_ENOTSUP;
}

int vio_driver_ok(struct vio_dev *d)
{
	add_status(d, VIO_ST_DRIVER_OK);
	return rd(d, R_STATUS) & VIO_ST_NEEDS_RESET ? -VIO_EIO : 0;
}

int vio_vq_setup(struct vio_vq *q, struct vio_dev *d, uint32_t index,
		 uint32_t num, uint64_t gpa)
{
	uint64_t used;
	uint32_t max, i;

	if (!num || (num & (num - 1)) || num > 32768 || gpa % VIO_PAGE)
		return -VIO_EINVAL;
	wr(d, R_QUEUE_SEL, index);
	if (rd(d, R_QUEUE_READY))
		return -VIO_EINVAL;
	max = rd(d, R_QUEUE_NUM_MAX);
	if (!max)
		return -VIO_ENODEV;
	while (num > max)
		num /= 2;
	used = gpa + vio_vq_bytes(num) - ((6 + 8ULL * num + VIO_PAGE - 1) &
					  ~(VIO_PAGE - 1));
	q->dev = d;
	q->index = index;
	q->num = num;
	q->gpa = gpa;
	q->desc = vio_hal_ptr(gpa);
	q->avail = vio_hal_ptr(gpa + 16ULL * num);
	q->used = vio_hal_ptr(used);
	__builtin_memset((void *)q->desc, 0, vio_vq_bytes(num) - (used - gpa));
	__builtin_memset((void *)q->used, 0, 6 + 8ULL * num);
	for (i = 0; i < num; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = (uint16_t)num;
	q->avail_idx = q->last_used = 0;
	/* Polled: ask the device not to signal (virtio 1.x, 2.7.7). */
	q->avail->flags = VIO_AVAIL_F_NO_INTERRUPT;
	fence();
	wr(d, R_QUEUE_NUM, num);
	wr64(d, R_QUEUE_DESC, gpa);
	wr64(d, R_QUEUE_DRIVER, gpa + 16ULL * num);
	wr64(d, R_QUEUE_DEVICE, used);
	wr(d, R_QUEUE_READY, 1);
	return rd(d, R_QUEUE_READY) == 1 ? 0 : -VIO_EIO;
}

int vio_vq_add(struct vio_vq *q, const struct vio_buf *bufs, unsigned int n)
{
	uint16_t head = q->free_head, i = head, last = head;
	unsigned int k;

	if (!n)
		return -VIO_EINVAL;
	if (n > q->num_free)
		return -VIO_ENOSPC;
	for (k = 0; k < n; k++) {
		last = i;
		q->desc[i].addr = bufs[k].gpa;
		q->desc[i].len = bufs[k].len;
		q->desc[i].flags = k + 1 < n ? VIO_DESC_F_NEXT : 0;
		if (bufs[k].write)
			q->desc[i].flags |= VIO_DESC_F_WRITE;
		i = q->desc[i].next;
	}
	/* desc[last].next still links to the rest of the free list. */
	q->free_head = q->desc[last].next;
	q->num_free -= (uint16_t)n;
	q->avail->ring[q->avail_idx % q->num] = head;
	fence();
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
	fence();
	return head;
}

void vio_vq_kick(struct vio_vq *q)
{
	fence();
	wr(q->dev, R_QUEUE_NOTIFY, q->index);
}

/* Give a used chain's descriptors back to the free list. */
static int free_chain(struct vio_vq *q, uint32_t head)
{
	uint16_t i = (uint16_t)head, n = 1;

	while (q->desc[i].flags & VIO_DESC_F_NEXT) {
		i = q->desc[i].next;
		if (i >= q->num || ++n > q->num)
			return -VIO_EIO;
	}
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)head;
	q->num_free += n;
	return 0;
}

int vio_vq_get(struct vio_vq *q, uint32_t *len)
{
	volatile struct vio_used_elem *e;
	uint32_t id;

	if (q->used->idx == q->last_used)
		return -VIO_EAGAIN;
	fence();
	e = &q->used->ring[q->last_used % q->num];
	id = e->id;
	*len = e->len;
	q->last_used++;
	if (id >= q->num || free_chain(q, id))
		return -VIO_EIO;
	return (int)id;
}

int vio_vq_wait(struct vio_vq *q, uint32_t *len)
{
	uint64_t spins = 0;
	int ret;

	while ((ret = vio_vq_get(q, len)) == -VIO_EAGAIN)
		if (vio_hal_relax(spins++))
			return -VIO_ETIMEDOUT;
	return ret;
}
