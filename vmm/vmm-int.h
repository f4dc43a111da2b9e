/* SPDX-License-Identifier: MIT */
/* What vmm/'s files share and do not export (vmm.h is the interface). */
#ifndef GMEM_VMM_INT_H
#define GMEM_VMM_INT_H

/*
 * Lock order in vmm/, the one statement of it: a virtio-mmio transport's
 * lock (struct vmm_vmmio, virtio-mmio.c), then the vhost-user device's own
 * (taken inside gmem_vu_*; where that one stands among libgmem's is
 * lib/locking.h's). The VFIO device (device-vfio.c) has the same shape:
 * its attach lock is held across gmem_listen()/gmem_unlisten() and never
 * taken inside a callback; its table lock is taken inside the callbacks,
 * under the file's invalidate lock, and by its ops, and nothing is waited
 * for while it is held but the library's lockless queries. The transport's lock is held across a queue's setup
 * and a reset's stops (round trips to the back-end), never across a kick.
 * The devices' host check (devices.c) and the scenario (scenario.c) take
 * no lock of their own; they run on vCPU threads with no runner lock held
 * (runner/runner-int.h) and in the library's listener callbacks.
 */

#include <stddef.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct vmm_device;

/* Keep the reason in @d's last error (vmm_device_error()); returns @ret. */
__attribute__((format(printf, 3, 4)))
int vmm_device_fail(struct vmm_device *d, int ret, const char *fmt, ...);

/*
 * A one-line reason into the caller's @err (@errlen bytes; NULL or 0:
 * none); returns @ret.
 */
__attribute__((format(printf, 4, 5)))
int vmm_say(char *err, size_t errlen, int ret, const char *fmt, ...);

#endif /* GMEM_VMM_INT_H */
