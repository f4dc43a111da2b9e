// SPDX-License-Identifier: MIT
/*
 * A virtio-mmio device (vmm/virtio-mmio.c) whose queues a vhost-user
 * back-end serves (libgmemvu): the first implementation of the device
 * interface (vmm.h). Its table is the back-end's memory table, which
 * libgmemvu keeps to the shared runs of what the device is attached to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dma-guest.h"
#include "vhost-user.h"
#include "virtio-mmio.h"
#include "vmm-int.h"
#include "vmm.h"

#define BLK_CONFIG_LEN		60	/* virtio_blk_config, up to discard */
#define BLK_CAPACITY_LEN	8	/* older back-ends: the capacity only */

struct vu_device {
	struct vmm_device dev;		/* first: the interface */
	enum vmm_vu_kind kind;
	const char *path, *label;
	struct gmem_vu_dev *vu;
	struct vmm_vmmio *mmio;
};

static const char *const kind_name[VMM_VU_NR] = {
	"vhost-user-blk", "vhost-user-net",
};

static struct vu_device *vu_of(struct vmm_device *d)
{
	return (struct vu_device *)d;
}

/* The device's config space: blk's from the back-end, net's our own. */
static int read_config(struct vu_device *v, uint8_t *buf, uint32_t *len)
{
	static const uint8_t net[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 1 };
	int ret;

	if (v->kind == VMM_VU_NET) {
		memcpy(buf, net, sizeof(net));
		*len = sizeof(net);
		return 0;
	}
	*len = BLK_CONFIG_LEN;
	ret = gmem_vu_get_config(v->vu, 0, buf, *len);
	if (ret == -EIO) {
		*len = BLK_CAPACITY_LEN;
		ret = gmem_vu_get_config(v->vu, 0, buf, *len);
	}
	return ret;
}

static int vu_attach(struct vmm_device *d, struct gmem_file *f, uint64_t off,
		     uint64_t size, uint64_t gpa)
{
	struct vu_device *v = vu_of(d);
	uint8_t config[VMM_VMMIO_CONFIG_MAX];
	struct vmm_vmmio_config mc = {
		.device_id = v->kind == VMM_VU_BLK ? VMM_VIRTIO_ID_BLOCK :
						     VMM_VIRTIO_ID_NET,
		.num_queues = v->kind == VMM_VU_BLK ? 1 : 2,
		.queue_num_max = 2 * VIO_VQ_NUM,
		.config = config,
	};
	const char *what = "attaching the DMA pool";
	int ret;

	ret = gmem_vu_attach(v->vu, f, off, size, gpa);
	if (!ret) {
		what = "reading the device's config space";
		ret = read_config(v, config, &mc.config_len);
	}
	if (!ret) {
		what = "creating the virtio-mmio device";
		ret = vmm_vmmio_create(v->vu, &mc, &v->mmio);
	}
	if (ret)
		return vmm_device_fail(d, ret, "%s '%s': %s: %s", v->label,
				       v->path, what, strerror(-ret));
	return 0;
}

static int vu_mmio(struct vmm_device *d, uint64_t off, void *data,
		   unsigned int len, bool write)
{
	return vmm_vmmio_access(vu_of(d)->mmio, off, data, len, write);
}

static int vu_reset(struct vmm_device *d)
{
	uint32_t zero = 0;
	int ret = vmm_vmmio_access(vu_of(d)->mmio, VMM_VMMIO_REG_STATUS, &zero,
				   sizeof(zero), true);

	return ret ? vmm_device_fail(d, ret, "reset: %s", strerror(-ret)) : 0;
}

static int vu_poll(struct vmm_device *d)
{
	struct vu_device *v = vu_of(d);
	struct gmem_vu_info in = { 0 };

	/* late acks settle here; a back-end gone is said as such */
	gmem_vu_sync(v->vu);
	gmem_vu_info(v->vu, &in);
	if (!in.connected)
		return vmm_device_fail(d, -ENOTCONN,
				       "%s '%s': the back-end is gone",
				       v->label, v->path);
	return 0;
}

static int vu_table(struct vmm_device *d, struct vmm_dma_region *reg,
		    unsigned int max)
{
	struct gmem_vu_region vr[VMM_MAX_REGIONS];
	int n = gmem_vu_table(vu_of(d)->vu, vr, VMM_MAX_REGIONS);

	for (int i = 0; i < n && (unsigned int)i < max; i++)
		reg[i] = (struct vmm_dma_region){
			.file = vr[i].file, .offset = vr[i].offset,
			.size = vr[i].size, .gpa = vr[i].gpa,
		};
	return n < 0 ? n : (unsigned int)n < max ? n : (int)max;
}

static void vu_report(struct vmm_device *d, struct vmm_device_info *info)
{
	struct vu_device *v = vu_of(d);
	struct gmem_vu_info in = { 0 };

	gmem_vu_info(v->vu, &in);
	*info = (struct vmm_device_info){
		.kind = kind_name[v->kind], .label = v->label, .path = v->path,
		.messages = in.messages, .timeouts = in.timeouts,
		.regions = in.regions, .connected = in.connected,
	};
}

/* The transport, then the connection (gmem_vu_close() stops the rings). */
static void vu_stop(struct vmm_device *d)
{
	struct vu_device *v = vu_of(d);

	vmm_vmmio_destroy(v->mmio);
	v->mmio = NULL;
	if (v->vu)
		gmem_vu_close(v->vu);
	v->vu = NULL;
}

static void vu_destroy(struct vmm_device *d)
{
	vu_stop(d);
	free(vu_of(d));
}

static const struct vmm_device_ops vu_ops = {
	.attach = vu_attach,
	.mmio = vu_mmio,
	.reset = vu_reset,
	.poll = vu_poll,
	.table = vu_table,
	.report = vu_report,
	.stop = vu_stop,
	.destroy = vu_destroy,
};

int vmm_vu_device_create(enum vmm_vu_kind kind, const char *path,
			 const char *label, uint64_t window,
			 struct vmm_device **out, char *err, size_t errlen)
{
	/* a loaded host (or an emulated one) may take seconds to ack */
	const struct gmem_vu_config vc = {
		.timeout_ms = VMM_VU_ACK_TIMEOUT_MS,
	};
	struct vu_device *v;
	int ret;

	if (kind >= VMM_VU_NR || !path || !out)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = gmem_vu_open(path, &vc, &v->vu);
	if (ret) {
		const char *why = gmem_vu_last_error(v->vu);

		snprintf(err, errlen, "%s", why[0] ? why : strerror(-ret));
		if (v->vu)
			gmem_vu_close(v->vu);
		free(v);
		return ret;
	}
	v->dev.ops = &vu_ops;
	v->dev.window = window;
	v->dev.window_size = GMEM_PAGE_SIZE;
	v->kind = kind;
	v->path = path;
	v->label = label ? label : kind_name[kind];
	*out = &v->dev;
	return 0;
}
