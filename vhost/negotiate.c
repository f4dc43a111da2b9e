// SPDX-License-Identifier: MIT
/*
 * negotiate.c - what a new connection agrees on: features, protocol
 * features, ownership and the size of the memory table.
 *
 * REPLY_ACK is required, not optional: without it the front-end cannot
 * know that a back-end has unmapped a range before the range becomes
 * private, so such a back-end is refused here, before any memory is
 * shared with it.
 *
 * Locking: runs before the device is handed out; takes no lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

/* Keep why the connection failed for gmem_vu_last_error(); return @ret. */
static int fail(struct gmem_vu_dev *d, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->last_error, sizeof(d->last_error), fmt, ap);
	va_end(ap);
	return ret;
}

/* What an exchange's errno means here, for the sentence. */
static const char *why(int ret)
{
	if (ret == -EPROTO)
		return "the back-end broke the protocol (a reply that is not "
		       "the one asked for, or bytes before a request)";
	return strerror(-ret);
}

static int get_u64(struct gmem_vu_dev *d, uint32_t request, uint64_t *val)
{
	struct vu_msg m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.request = request;
	ret = vu_call(d, &m, NULL, 0, true);
	if (ret)
		return ret;
	/* A u64 of another size is not the reply asked for. */
	if (m.size != sizeof(uint64_t))
		return -EPROTO;
	*val = m.u.u64;
	return 0;
}

static int set_u64(struct gmem_vu_dev *d, uint32_t request, uint64_t val)
{
	struct vu_msg m;

	memset(&m, 0, sizeof(m));
	m.request = request;
	m.size = val == UINT64_MAX ? 0 : sizeof(uint64_t);
	m.u.u64 = val;
	return vu_call(d, &m, NULL, 0, false);
}

static int protocol(struct gmem_vu_dev *d)
{
	uint64_t offered, slots;
	int ret;

	ret = get_u64(d, VU_GET_PROTOCOL_FEATURES, &offered);
	if (ret)
		return fail(d, ret, "GET_PROTOCOL_FEATURES failed: %s",
			    why(ret));
	if (!(offered & GMEM_VU_PF_REPLY_ACK))
		return fail(d, -EPROTONOSUPPORT,
			    "back-end offers protocol features 0x%llx "
			    "without REPLY_ACK: it could not confirm that it "
			    "unmapped memory before a conversion to private",
			    (unsigned long long)offered);
	d->protocol_offered = offered;
	/* CONFIG only enables GET_CONFIG: nothing changes until it is sent. */
	d->protocol_features = GMEM_VU_PF_REPLY_ACK |
			       (offered & (GMEM_VU_PF_CONFIGURE_MEM_SLOTS |
					   GMEM_VU_PF_CONFIG));
	ret = set_u64(d, VU_SET_PROTOCOL_FEATURES, d->protocol_features);
	if (ret)
		return fail(d, ret, "SET_PROTOCOL_FEATURES failed: %s",
			    why(ret));
	/* From here on every request carries NEED_REPLY. */
	d->acks = true;
	d->mem_slots = offered & GMEM_VU_PF_CONFIGURE_MEM_SLOTS;
	d->max_regions = VU_BASELINE_REGIONS;
	if (!d->mem_slots)
		return 0;
	ret = get_u64(d, VU_GET_MAX_MEM_SLOTS, &slots);
	if (ret)
		return fail(d, ret, "GET_MAX_MEM_SLOTS failed: %s",
			    why(ret));
	if (!slots)
		return fail(d, -EPROTO,
			    "back-end offers 0 memory slots");
	d->max_regions = slots < VU_MAX_REGIONS ? slots : VU_MAX_REGIONS;
	return 0;
}

/*
 * vu_negotiate - GET_FEATURES, the protocol features, SET_OWNER,
 * SET_FEATURES(@want & offered, plus VERSION_1 and PROTOCOL_FEATURES).
 * Return: 0; -EPROTONOSUPPORT for a back-end without protocol features,
 * VERSION_1 or REPLY_ACK; -EPROTO for a reply of the wrong size or 0
 * memory slots; the errors of vu_call(). dev->last_error says why.
 */
int vu_negotiate(struct gmem_vu_dev *d, uint64_t want)
{
	uint64_t need = GMEM_VU_F_VERSION_1 | GMEM_VU_F_PROTOCOL_FEATURES;
	uint64_t offered;
	int ret;

	ret = get_u64(d, VU_GET_FEATURES, &offered);
	if (ret)
		return fail(d, ret, "GET_FEATURES failed: %s", why(ret));
	if ((offered & need) != need)
		return fail(d, -EPROTONOSUPPORT,
			    "back-end features 0x%llx lack%s%s",
			    (unsigned long long)offered,
			    offered & GMEM_VU_F_VERSION_1 ? "" : " VERSION_1",
			    offered & GMEM_VU_F_PROTOCOL_FEATURES ? "" :
			    " PROTOCOL_FEATURES (so no REPLY_ACK)");
	ret = protocol(d);
	if (ret)
		return ret;
	ret = set_u64(d, VU_SET_OWNER, UINT64_MAX);
	if (ret)
		return fail(d, ret, "SET_OWNER failed: %s", why(ret));
	d->features = need | (want & offered);
	ret = set_u64(d, VU_SET_FEATURES, d->features);
	if (ret)
		return fail(d, ret, "SET_FEATURES 0x%llx failed: %s",
			    (unsigned long long)d->features, why(ret));
	return 0;
}
