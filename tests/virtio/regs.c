// SPDX-License-Identifier: MIT
/*
 * regs: the virtio-mmio transport's registers, good and bad accesses,
 * table-driven (docs/virtio.md), on a virtio-blk device in front of
 * qemu-storage-daemon. The table is one device's life in order: each row
 * is an access, the errno it must get and, for a read, the value (a
 * refused read reads as zeros). Then vmm_vmmio_create()'s bad inputs.
 */
#include "vtest.h"

#define RING	(GUEST_GPA + 8 * PG)	/* desc + avail; used a page on */

enum { R, W };

struct row {
	const char *what;
	uint64_t off;
	unsigned int len;
	int dir;
	uint64_t val;		/* written, or wanted from a read */
	int ret;
};

#define ACKDRV	(VIO_ST_ACKNOWLEDGE | VIO_ST_DRIVER)
#define FOK	(ACKDRV | VIO_ST_FEATURES_OK)

static const struct row rows[] = {
	{ "magic", 0x000, 4, R, 0x74726976, 0 },
	{ "version 2", 0x004, 4, R, 2, 0 },
	{ "device id", 0x008, 4, R, VMM_VIRTIO_ID_BLOCK, 0 },
	{ "vendor", 0x00c, 4, R, VMM_VMMIO_VENDOR, 0 },
	{ "config generation", 0x0fc, 4, R, 0, 0 },
	{ "interrupt status", 0x060, 4, R, 0, 0 },
	{ "status after creation", 0x070, 4, R, 0, 0 },
	/* Wrong size, unaligned, out of the window. */
	{ "16-bit register read", 0x000, 2, R, 0, -EINVAL },
	{ "8-bit register read", 0x004, 1, R, 0, -EINVAL },
	{ "64-bit register read", 0x000, 8, R, 0, -EINVAL },
	{ "0 bytes", 0x000, 0, R, 0, -EINVAL },
	{ "3 bytes", 0x000, 3, R, 0, -EINVAL },
	{ "16 bytes", 0x000, 16, R, 0, -EINVAL },
	{ "unaligned register read", 0x002, 4, R, 0, -EINVAL },
	{ "unaligned register write", 0x071, 4, W, 0, -EINVAL },
	{ "past the window", VMM_VMMIO_SIZE, 4, R, 0, -EINVAL },
	{ "far past the window", 1ULL << 40, 4, R, 0, -EINVAL },
	{ "wrapping offset", ~3ULL, 4, R, 0, -EINVAL },
	{ "reserved register read", 0x018, 4, R, 0, -EINVAL },
	{ "reserved register write", 0x0c0, 4, W, 1, -EINVAL },
	{ "16-bit status write", 0x070, 2, W, ACKDRV, -EINVAL },
	{ "status unchanged", 0x070, 4, R, 0, 0 },
	/* Read-only registers refuse writes, write-only ones reads. */
	{ "write magic", 0x000, 4, W, 0, -EPERM },
	{ "write version", 0x004, 4, W, 1, -EPERM },
	{ "write device id", 0x008, 4, W, 1, -EPERM },
	{ "write vendor", 0x00c, 4, W, 1, -EPERM },
	{ "write device features", 0x010, 4, W, ~0U, -EPERM },
	{ "write queue num max", 0x034, 4, W, 1, -EPERM },
	{ "write interrupt status", 0x060, 4, W, 1, -EPERM },
	{ "write config generation", 0x0fc, 4, W, 1, -EPERM },
	{ "read driver features", 0x020, 4, R, 0, -EPERM },
	{ "read queue sel", 0x030, 4, R, 0, -EPERM },
	{ "read queue num", 0x038, 4, R, 0, -EPERM },
	{ "read queue notify", 0x050, 4, R, 0, -EPERM },
	{ "read interrupt ack", 0x064, 4, R, 0, -EPERM },
	{ "read queue desc", 0x080, 4, R, 0, -EPERM },
	{ "read queue device high", 0x0a4, 4, R, 0, -EPERM },
	{ "version unchanged", 0x004, 4, R, 2, 0 },
	/* Negotiation. */
	{ "acknowledge, driver", 0x070, 4, W, ACKDRV, 0 },
	{ "status reads back", 0x070, 4, R, ACKDRV, 0 },
	{ "driver clears a bit", 0x070, 4, W, VIO_ST_ACKNOWLEDGE, -EINVAL },
	{ "driver sets NEEDS_RESET", 0x070, 4, W,
	  ACKDRV | VIO_ST_NEEDS_RESET, -EINVAL },
	{ "status kept", 0x070, 4, R, ACKDRV, 0 },
	{ "features sel 1", 0x014, 4, W, 1, 0 },
	{ "VERSION_1 offered", 0x010, 4, R, 1, 0 },
	{ "features sel 0", 0x014, 4, W, 0, 0 },
	{ "no PROTOCOL_FEATURES bit", 0x010, 4, R, 0, 0 },
	{ "features sel 2", 0x014, 4, W, 2, 0 },
	{ "nothing above bit 63", 0x010, 4, R, 0, 0 },
	{ "queue ready before FEATURES_OK", 0x044, 4, W, 1, -EINVAL },
	{ "FEATURES_OK without VERSION_1", 0x070, 4, W, FOK, -EINVAL },
	{ "FEATURES_OK did not stick", 0x070, 4, R, ACKDRV, 0 },
	{ "driver features sel 2", 0x024, 4, W, 2, 0 },
	{ "a feature above bit 63", 0x020, 4, W, 1, -EINVAL },
	{ "driver features sel 1", 0x024, 4, W, 1, 0 },
	{ "a feature not offered", 0x020, 4, W, 3, 0 },
	{ "FEATURES_OK with a bit not offered", 0x070, 4, W, FOK, -EINVAL },
	{ "accept VERSION_1", 0x020, 4, W, 1, 0 },
	{ "FEATURES_OK", 0x070, 4, W, FOK, 0 },
	{ "FEATURES_OK stuck", 0x070, 4, R, FOK, 0 },
	{ "features after FEATURES_OK", 0x020, 4, W, 0, -EBUSY },
	/* Queues. */
	{ "select queue 1 (none)", 0x030, 4, W, 1, 0 },
	{ "no queue 1: num max 0", 0x034, 4, R, 0, 0 },
	{ "no queue 1: num", 0x038, 4, W, 8, -EINVAL },
	{ "no queue 1: ready", 0x044, 4, W, 1, -EINVAL },
	{ "no queue 1: not ready", 0x044, 4, R, 0, 0 },
	{ "select queue 0", 0x030, 4, W, 0, 0 },
	{ "queue 0: num max", 0x034, 4, R, VIO_VQ_NUM, 0 },
	{ "num above max", 0x038, 4, W, 2 * VIO_VQ_NUM, -EINVAL },
	{ "num 0", 0x038, 4, W, 0, -EINVAL },
	{ "num not a power of 2", 0x038, 4, W, 48, -EINVAL },
	{ "ready before num and addresses", 0x044, 4, W, 1, -EINVAL },
	{ "num", 0x038, 4, W, VIO_VQ_NUM, 0 },
	{ "ready before addresses", 0x044, 4, W, 1, -EINVAL },
	{ "desc unaligned", 0x080, 4, W, (uint32_t)RING + 8, 0 },
	{ "desc high", 0x084, 4, W, 0, 0 },
	{ "avail low", 0x090, 4, W, (uint32_t)RING + 16 * VIO_VQ_NUM, 0 },
	{ "avail high", 0x094, 4, W, 0, 0 },
	{ "ready before the used ring", 0x044, 4, W, 1, -EINVAL },
	{ "used low", 0x0a0, 4, W, (uint32_t)RING + PG, 0 },
	{ "used high", 0x0a4, 4, W, 0, 0 },
	{ "ready with desc unaligned", 0x044, 4, W, 1, -EINVAL },
	{ "still not ready", 0x044, 4, R, 0, 0 },
	{ "desc aligned", 0x080, 4, W, (uint32_t)RING, 0 },
	{ "notify a queue not ready", 0x050, 4, W, 0, -EINVAL },
	{ "ready: handed to the back-end", 0x044, 4, W, 1, 0 },
	{ "ready reads 1", 0x044, 4, R, 1, 0 },
	{ "ready again is a no-op", 0x044, 4, W, 1, 0 },
	{ "num of a live queue", 0x038, 4, W, 8, -EBUSY },
	{ "desc of a live queue", 0x080, 4, W, 0, -EBUSY },
	{ "used high of a live queue", 0x0a4, 4, W, 1, -EBUSY },
	{ "ready 0 (no way back)", 0x044, 4, W, 0, -EBUSY },
	{ "notify queue 0", 0x050, 4, W, 0, 0 },
	{ "notify queue 5", 0x050, 4, W, 5, -EINVAL },
	{ "interrupt ack", 0x064, 4, W, 1, 0 },
	{ "driver ok", 0x070, 4, W, FOK | VIO_ST_DRIVER_OK, 0 },
	/* Config space: capacity, le64 at 0. */
	{ "capacity, 64-bit", 0x100, 8, R, VT_DISK / 512, 0 },
	{ "capacity low", 0x100, 4, R, VT_DISK / 512, 0 },
	{ "capacity high", 0x104, 4, R, 0, 0 },
	{ "capacity byte 1", 0x101, 1, R, (VT_DISK / 512) >> 8 & 0xff, 0 },
	{ "capacity bytes 2-3", 0x102, 2, R, 0, 0 },
	{ "unaligned 16-bit config", 0x101, 2, R, 0, -EINVAL },
	{ "unaligned 32-bit config", 0x102, 4, R, 0, -EINVAL },
	{ "3-byte config", 0x100, 3, R, 0, -EINVAL },
	{ "past the config", 0x108, 4, R, 0, -EINVAL },
	{ "straddling its end", 0x104, 8, R, 0, -EINVAL },
	{ "config write", 0x100, 4, W, 1, -EPERM },
	{ "capacity kept", 0x100, 4, R, VT_DISK / 512, 0 },
	/* Reset: the queue is taken back from the back-end (GET_VRING_BASE). */
	{ "reset", 0x070, 4, W, 0, 0 },
	{ "status 0: the reset completed", 0x070, 4, R, 0, 0 },
	{ "queue 0 not ready", 0x044, 4, R, 0, 0 },
	{ "notify after reset", 0x050, 4, W, 0, -EINVAL },
	{ "queue ready before FEATURES_OK again", 0x044, 4, W, 1, -EINVAL },
	{ "acknowledge again", 0x070, 4, W, ACKDRV, 0 },
	{ "features sel 1 again", 0x024, 4, W, 1, 0 },
	{ "VERSION_1 again", 0x020, 4, W, 1, 0 },
	{ "FEATURES_OK again", 0x070, 4, W, FOK, 0 },
	{ "num again", 0x038, 4, W, VIO_VQ_NUM, 0 },
	{ "desc again", 0x080, 4, W, (uint32_t)RING, 0 },
	{ "avail again", 0x090, 4, W, (uint32_t)RING + 16 * VIO_VQ_NUM, 0 },
	{ "used again", 0x0a0, 4, W, (uint32_t)RING + PG, 0 },
	{ "ready: handed over again", 0x044, 4, W, 1, 0 },
	{ "ready reads 1 again", 0x044, 4, R, 1, 0 },
	{ "no NEEDS_RESET", 0x070, 4, R, FOK, 0 },
	{ "notify the queue set up again", 0x050, 4, W, 0, 0 },
	{ "ready 0 still no way back", 0x044, 4, W, 0, -EBUSY },
	{ "driver ok again", 0x070, 4, W, FOK | VIO_ST_DRIVER_OK, 0 },
	/* Another reset with the queue handed over, then one with none. */
	{ "reset again", 0x070, 4, W, 0, 0 },
	{ "reset with nothing handed over", 0x070, 4, W, 0, 0 },
	{ "status 0 once more", 0x070, 4, R, 0, 0 },
	{ "ready 0 of a free queue", 0x044, 4, W, 0, 0 },
	{ "queue 0 free", 0x044, 4, R, 0, 0 },
};

/* A refused read: zeros, but never past kvm_run's 8 data bytes. */
static void check_refused(const struct row *r, unsigned int i,
			  const uint8_t *buf, unsigned int size)
{
	for (unsigned int k = 0; k < size; k++) {
		uint8_t want = k < r->len && r->len <= 8 ? 0 : 0xa5;

		TEST_ASSERT(buf[k] == want,
			    "row %u (%s): a refused read left byte %u = 0x%x",
			    i, r->what, k, buf[k]);
	}
}

static void run_rows(struct vmm_vmmio *d)
{
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		uint8_t buf[16];
		uint64_t got = 0;
		int ret;

		memset(buf, 0xa5, sizeof(buf));
		if (r->dir == W)
			memcpy(buf, &r->val, 8);
		ret = vmm_vmmio_access(d, r->off, buf, r->len, r->dir == W);
		TEST_ASSERT(ret == r->ret,
			    "row %u (%s): returned %d (%s), want %d",
			    i, r->what, ret, strerror(-ret), r->ret);
		if (r->dir == W)
			continue;
		memcpy(&got, buf, r->len <= 8 ? r->len : 8);
		if (r->ret) {
			check_refused(r, i, buf, sizeof(buf));
			continue;
		}
		TEST_ASSERT(got == r->val,
			    "row %u (%s): read 0x%llx, want 0x%llx",
			    i, r->what, (unsigned long long)got,
			    (unsigned long long)r->val);
	}
}

static void bad_create(struct gmem_vu_dev *vu)
{
	uint8_t cfgbuf[VMM_VMMIO_CONFIG_MAX + 1] = { 0 };
	const struct vmm_vmmio_config good = {
		.device_id = 2, .num_queues = 1, .queue_num_max = 64,
	};
	struct {
		const char *what;
		struct vmm_vmmio_config cfg;
	} bad[] = {
		{ "device id 0", { 0, 1, 64, 0, NULL } },
		{ "no queues", { 2, 0, 64, 0, NULL } },
		{ "9 queues", { 2, VMM_VMMIO_MAX_QUEUES + 1, 64, 0, NULL } },
		{ "num max 0", { 2, 1, 0, 0, NULL } },
		{ "num max 48", { 2, 1, 48, 0, NULL } },
		{ "num max 65536", { 2, 1, 65536, 0, NULL } },
		{ "config too long", { 2, 1, 64, VMM_VMMIO_CONFIG_MAX + 1,
				       cfgbuf } },
		{ "config length, no config", { 2, 1, 64, 4, NULL } },
	};
	struct vmm_vmmio *d = (void *)1;
	uint8_t b[4];

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_ASSERT(vmm_vmmio_create(vu, &bad[i].cfg, &d) == -EINVAL,
			    "create with %s accepted", bad[i].what);
		TEST_ASSERT(d == (void *)1, "%s: *out written", bad[i].what);
	}
	TEST_RET(vmm_vmmio_create(NULL, &good, &d), -EINVAL);
	TEST_RET(vmm_vmmio_create(vu, NULL, &d), -EINVAL);
	TEST_RET(vmm_vmmio_create(vu, &good, NULL), -EINVAL);
	TEST_RET(vmm_vmmio_access(NULL, 0, b, 4, false), -EINVAL);
	TEST_RET(vmm_vmmio_create(vu, &good, &d), 0);
	TEST_RET(vmm_vmmio_access(d, 0, NULL, 4, false), -EINVAL);
	vmm_vmmio_destroy(d);
	vmm_vmmio_destroy(NULL);
}

int main(void)
{
	struct vtest t;

	vt_up(&t, BACKEND_QSD);
	run_rows(t.dev);
	bad_create(t.vu);
	printf("regs: %zu rows\n", sizeof(rows) / sizeof(rows[0]));
	vt_down(&t);
	return 0;
}
