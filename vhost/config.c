// SPDX-License-Identifier: MIT
/*
 * config.c - the device's config space, read from the back-end with
 * GET_CONFIG (protocol feature CONFIG).
 *
 * The request always starts at offset 0: libvhost-user hands its device
 * only the length, never the offset, and answers from the start of the
 * config space (QEMU, the front-end it is written for, always asks from
 * 0). Asking [0, offset + len) and copying from offset gives the same
 * bytes from a back-end that honours the offset.
 *
 * Locking: dev->lock only (the lock order in lib/locking.h).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

/* The reply must be the config asked for, byte for byte in its framing. */
static bool well_formed(const struct vu_msg *m, uint32_t size)
{
	return m->size == VU_CONFIG_HDR + size && !m->u.config.offset &&
	       m->u.config.size == size;
}

static int get_config(struct gmem_vu_dev *d, uint32_t offset, void *buf,
		      uint32_t len)
{
	uint32_t size = offset + len;
	struct vu_msg m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.request = VU_GET_CONFIG;
	m.size = VU_CONFIG_HDR + size;
	m.u.config.size = size;
	ret = vu_get(d, &m);
	if (ret)
		return ret;
	/* The spec's refusal: an empty payload. */
	if (!m.size) {
		d->nacks++;
		return -EIO;
	}
	if (!well_formed(&m, size)) {
		vu_broken(d, NULL);
		return -EPROTO;
	}
	memcpy(buf, m.u.config.region + offset, len);
	return 0;
}

int gmem_vu_get_config(struct gmem_vu_dev *d, uint32_t offset, void *buf,
		       uint32_t len)
{
	int ret;

	if (d && vu_foreign(d))
		return -EIO;
	if (!d || !buf || !len || len > GMEM_VU_MAX_CONFIG_SIZE ||
	    offset > GMEM_VU_MAX_CONFIG_SIZE - len)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (!(d->protocol_features & GMEM_VU_PF_CONFIG))
		ret = -EOPNOTSUPP;
	else if (d->sock < 0)
		ret = -ENOTCONN;
	else
		ret = get_config(d, offset, buf, len);
	pthread_mutex_unlock(&d->lock);
	return ret;
}
