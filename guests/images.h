/* SPDX-License-Identifier: MIT */
/* The guests built in guests/ and linked into the runner's users. */
#ifndef GMEM_GUEST_IMAGES_H
#define GMEM_GUEST_IMAGES_H

#include <stddef.h>

#define GUEST_IMAGE(name)						\
	extern const unsigned char guest_##name[];			\
	extern const size_t guest_##name##_size

GUEST_IMAGE(run);	/* `gmem run` */
GUEST_IMAGE(conv);	/* private_mem_conversions semantics */
GUEST_IMAGE(errors);	/* every error exit, by param[0] */
GUEST_IMAGE(memfd);	/* test_guest_memfd_guest */
GUEST_IMAGE(probe);	/* one VMCALL: do hypercall exits arrive? */
GUEST_IMAGE(bench);	/* benchmarks, by param[0] */
GUEST_IMAGE(busy);	/* long runs for the watchdog, by param[0] */
GUEST_IMAGE(dma);	/* DMA through virtio devices (docs/virtio.md) */

#endif /* GMEM_GUEST_IMAGES_H */
