// SPDX-License-Identifier: MIT
/*
 * edu.c - QEMU's edu device (hw/misc/edu.c), polled: its DMA engine moves
 * bytes between guest memory and the device's own buffer. Registers in
 * BAR0: 0x00 identification, 0x04 liveness (reads back the complement),
 * 0x80 source, 0x88 destination, 0x90 count, 0x98 command. A 32-bit write
 * of an address register sets all of it (gpas here are below 4 GiB).
 */
#include "pci-dev.h"

#define EDU_REG_ID		0x00
#define EDU_REG_LIVE		0x04
#define EDU_REG_SRC		0x80
#define EDU_REG_DST		0x88
#define EDU_REG_COUNT		0x90
#define EDU_REG_CMD		0x98
#define EDU_CMD_RUN		1U
#define EDU_CMD_TO_RAM		2U	/* direction: buffer -> guest memory */
#define EDU_LIVE_PROBE		0x5a5aa5a5U

int edu_init(struct edu_dev *e, uint64_t bar)
{
	e->bar = bar;
	if (vio_hal_read32(bar + EDU_REG_ID) != EDU_ID)
		return -VIO_ENODEV;
	vio_hal_write32(bar + EDU_REG_LIVE, EDU_LIVE_PROBE);
	if (vio_hal_read32(bar + EDU_REG_LIVE) != ~EDU_LIVE_PROBE)
		return -VIO_ENODEV;
	return 0;
}

/* The command register's run bit clears when the DMA is done. */
static int wait_idle(struct edu_dev *e)
{
	for (uint64_t spins = 0;; spins++) {
		if (!(vio_hal_read32(e->bar + EDU_REG_CMD) & EDU_CMD_RUN))
			return 0;
		if (vio_hal_relax(spins))
			return -VIO_ETIMEDOUT;
	}
}

int edu_dma(struct edu_dev *e, uint64_t gpa, uint32_t buf_off, uint32_t len,
	    bool to_ram)
{
	uint64_t dev = EDU_BUF + buf_off;
	int ret;

	if (!len || len > EDU_XFER_MAX || buf_off + len > 2 * EDU_XFER_MAX ||
	    gpa >> 32)
		return -VIO_EINVAL;
	ret = wait_idle(e);
	if (ret)
		return ret;
	/* the data in guest memory before the device reads it */
	__asm__ volatile("mfence" : : : "memory");
	vio_hal_write32(e->bar + EDU_REG_SRC, (uint32_t)(to_ram ? dev : gpa));
	vio_hal_write32(e->bar + EDU_REG_DST, (uint32_t)(to_ram ? gpa : dev));
	vio_hal_write32(e->bar + EDU_REG_COUNT, len);
	vio_hal_write32(e->bar + EDU_REG_CMD,
			EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
	ret = wait_idle(e);
	__asm__ volatile("" : : : "memory");
	return ret;
}
