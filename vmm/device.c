// SPDX-License-Identifier: MIT
/*
 * The device interface's calls (vmm.h): each is the device's op, so that
 * callers never see which kind of device they hold.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm-int.h"
#include "vmm.h"

/* Both message setters: the reason in @err (when there is one), @ret back. */
static int vsay(char *err, size_t errlen, int ret, const char *fmt,
		va_list ap)
{
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	return ret;
}

int vmm_device_fail(struct vmm_device *d, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vsay(d->err, sizeof(d->err), ret, fmt, ap);
	va_end(ap);
	return ret;
}

int vmm_say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vsay(err, errlen, ret, fmt, ap);
	va_end(ap);
	return ret;
}

int vmm_device_attach(struct vmm_device *d, struct gmem_file *f,
		      uint64_t off, uint64_t size, uint64_t gpa)
{
	return d->ops->attach(d, f, off, size, gpa);
}

int vmm_device_mmio(void *opaque, uint64_t off, void *data, unsigned int len,
		    bool write)
{
	struct vmm_device *d = opaque;

	return d->ops->mmio(d, off, data, len, write);
}

int vmm_device_reset(struct vmm_device *d)
{
	return d->ops->reset(d);
}

int vmm_device_poll(struct vmm_device *d)
{
	return d->ops->poll(d);
}

int vmm_device_table(struct vmm_device *d, struct vmm_dma_region *reg,
		     unsigned int max)
{
	return d->ops->table(d, reg, max);
}

void vmm_device_report(struct vmm_device *d, struct vmm_device_info *info)
{
	d->ops->report(d, info);
}

void vmm_device_stop(struct vmm_device *d)
{
	d->ops->stop(d);
}

void vmm_device_destroy(struct vmm_device *d)
{
	if (d)
		d->ops->destroy(d);
}

const char *vmm_device_error(const struct vmm_device *d)
{
	return d->err;
}

struct runner_mmio vmm_device_window(struct vmm_device *d)
{
	return (struct runner_mmio){
		.gpa = d->window, .size = d->window_size,
		.access = vmm_device_mmio, .opaque = d,
	};
}
