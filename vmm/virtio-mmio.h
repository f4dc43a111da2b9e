/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio.h - a virtio-mmio device (register layout version 2, split
 * virtqueues) whose queues are served by a vhost-user back-end through
 * libgmemvu (docs/virtio.md).
 *
 * The VMM owns a window of VMM_VMMIO_SIZE bytes of guest physical
 * address space per device, with no memslot behind it, so that every
 * access exits to the runner (KVM_EXIT_MMIO), which hands it to vmm/ (one
 * registered handler); vmm/ passes it to
 * vmm_vmmio_access() with the offset inside the window. No interrupts:
 * guests poll the used ring.
 *
 * Locks: the transport's own, before libgmemvu's (the order is in
 * vmm/vmm-int.h).
 */
#ifndef GMEM_VIRTIO_MMIO_H
#define GMEM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost-user.h"

#define VMM_VMMIO_SIZE		0x200	/* registers + 256 bytes of config */
#define VMM_VMMIO_CONFIG		0x100	/* config space offset */
#define VMM_VMMIO_CONFIG_MAX	0x100
#define VMM_VMMIO_MAX_QUEUES	8	/* libgmemvu's vrings */
#define VMM_VMMIO_REG_STATUS	0x070	/* Status: writing 0 resets */
#define VMM_VMMIO_VENDOR		0x4d454d47	/* "GMEM" */

/* Device ids (virtio 1.x, 5 "Device Types"). */
#define VMM_VIRTIO_ID_NET	1
#define VMM_VIRTIO_ID_BLOCK	2

struct vmm_vmmio;

struct vmm_vmmio_config {
	uint32_t device_id;	/* VMM_VIRTIO_ID_* (any non-zero id) */
	uint32_t num_queues;	/* 1..VMM_VMMIO_MAX_QUEUES */
	uint32_t queue_num_max;	/* a power of two, 1..32768 */
	uint32_t config_len;	/* bytes of @config, <= VMM_VMMIO_CONFIG_MAX */
	const void *config;	/* the device config space (copied) */
};

/*
 * vmm_vmmio_create - a device on @vu (connected, memory attached). The
 * device offers exactly the features @vu negotiated with the back-end,
 * minus the vhost-user-only PROTOCOL_FEATURES bit; VERSION_1 is required.
 * The caller keeps @vu and closes it after vmm_vmmio_destroy().
 * Return: 0 and *@out; -EINVAL for NULL, a bad config, or a @vu without
 * VERSION_1; gmem_vu_info()'s errors; -ENOMEM.
 */
int vmm_vmmio_create(struct gmem_vu_dev *vu, const struct vmm_vmmio_config *cfg,
		    struct vmm_vmmio **out);
void vmm_vmmio_destroy(struct vmm_vmmio *d);

/*
 * vmm_vmmio_access - one guest access of @len bytes at offset @off of the
 * device's window; @data is the value written, or receives the value read
 * (little-endian, as in kvm_run.mmio.data). Thread-safe.
 *
 * Control registers take 32-bit aligned accesses only; the config space
 * 1, 2, 4 or 8 bytes, naturally aligned. A bad access changes nothing and
 * reads as zeros (all @len bytes when @len is 1..8; a @len of 0 or above
 * 8, which KVM never reports, leaves @data alone), and the guest runs on
 * (as QEMU does): the return value says why, for the runner to count or
 * log.
 * Return: 0; -EINVAL for a wrong size, an unaligned or out-of-window
 * access, a reserved register, or a value the device refuses (QueueNum
 * above QueueNumMax, QueueReady without ring addresses, ...); -EPERM for
 * a write to a read-only register or a read of a write-only one; -EBUSY
 * for a queue register written while the queue is ready; the back-end's
 * errno when it refuses a queue (the device then also sets
 * DEVICE_NEEDS_RESET in Status); gmem_vu_kick()'s errors for QueueNotify
 * (-ENOTCONN once the back-end is gone).
 *
 * A reset (Status := 0) stops every queue handed to the back-end
 * (gmem_vu_vring_stop) while the caller waits, about one ack timeout at
 * most. When a queue cannot be taken back, Status reads
 * DEVICE_NEEDS_RESET instead of 0, the queue's QueueReady reads 1, it
 * cannot be set up, and the write returns why: -ETIMEDOUT or -EAGAIN (the
 * back-end did not answer: write 0 again once it does), -ENOTCONN (the
 * back-end is gone: for good), -EIO (a setup failed half-way earlier:
 * for good).
 */
int vmm_vmmio_access(struct vmm_vmmio *d, uint64_t off, void *data,
		    unsigned int len, bool write);

#endif /* GMEM_VIRTIO_MMIO_H */
