// SPDX-License-Identifier: MIT
/*
 * disk: the end of qemu-storage-daemon's disk, and the test driver's
 * sectors going round it (blk_next()).
 *
 * A request that reaches past the end fails with VIRTIO_BLK_S_IOERR and
 * qemu-storage-daemon logs nothing: the stress program once hit that at
 * round 1024 (4 MiB of one-page rounds), which looked like its first
 * transfer failing (both use the same buffers). The back-end keeps
 * working after such a request, and the driver's transfers wrap to
 * sector 0 instead of running off the end.
 */
#include "rig.h"

#define DISK_SECT	(DISK_SIZE / 512)
#define PG_SECT		(PG / 512)

static const struct {
	const char *what;
	uint32_t type;
	uint64_t sector;
	uint32_t len;
	int status;
} reqs[] = {
	{ "write, the last page", VIRTIO_BLK_T_OUT, DISK_SECT - PG_SECT, PG,
	  VIRTIO_BLK_S_OK },
	{ "read, the last page", VIRTIO_BLK_T_IN, DISK_SECT - PG_SECT, PG,
	  VIRTIO_BLK_S_OK },
	{ "write, the last sector", VIRTIO_BLK_T_OUT, DISK_SECT - 1, 512,
	  VIRTIO_BLK_S_OK },
	{ "write, the page after the end", VIRTIO_BLK_T_OUT, DISK_SECT, PG,
	  VIRTIO_BLK_S_IOERR },
	{ "read, the page after the end", VIRTIO_BLK_T_IN, DISK_SECT, PG,
	  VIRTIO_BLK_S_IOERR },
	{ "write across the end", VIRTIO_BLK_T_OUT, DISK_SECT - 4, PG,
	  VIRTIO_BLK_S_IOERR },
	{ "write, sector 0 after those", VIRTIO_BLK_T_OUT, 0, PG,
	  VIRTIO_BLK_S_OK },
};

int main(void)
{
	uint64_t src = GUEST_GPA + 16 * PG, dst = GUEST_GPA + 17 * PG;
	struct rig r;
	unsigned int i;
	int ret;

	rig_up(&r, BACKEND_QSD, 10000);
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		ret = blk_rw(&r.k, reqs[i].type, reqs[i].sector, src,
			     reqs[i].len, 5000);
		TEST_ASSERT(ret == reqs[i].status, "%s (sector %llu): status "
			    "%d, want %d", reqs[i].what,
			    (unsigned long long)reqs[i].sector, ret,
			    reqs[i].status);
	}

	/* The driver: the last two pages, then round to sector 0. */
	r.k.sector = DISK_SECT - 2 * PG_SECT;
	for (i = 0; i < 4; i++)
		rig_check(&r, src, dst, i);
	TEST_ASSERT(r.k.sector == 2 * PG_SECT, "next sector %llu, want %llu",
		    (unsigned long long)r.k.sector,
		    (unsigned long long)(2 * PG_SECT));
	rig_down(&r);
	return 0;
}
