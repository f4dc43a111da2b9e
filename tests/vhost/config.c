// SPDX-License-Identifier: MIT
/*
 * config: GET_CONFIG (docs/vhost-user.md). qemu-storage-daemon offers the
 * CONFIG protocol feature: its virtio-blk config space says the capacity
 * of the image the test created (in 512-byte sectors) and a block size of
 * 512, read whole and field by field at their offsets; more bytes than
 * its config space has are refused (-EIO) and the device works on; a
 * stopped back-end costs -ETIMEDOUT, and its late reply is dropped, not
 * taken for the next request's. DPDK testpmd offers no CONFIG:
 * -EOPNOTSUPP, nothing sent.
 */
#include <signal.h>
#include <sys/stat.h>

#include "rig.h"

/* struct virtio_blk_config: the fields read here, at their offsets. */
#define BLK_CAPACITY	0
#define BLK_SEG_MAX	12
#define BLK_SIZE	20
#define BLK_NUM_QUEUES	34

static uint64_t image_size(const struct backend *b)
{
	char path[192];
	struct stat st;

	snprintf(path, sizeof(path), "%s/disk.img", b->dir);
	TEST_ASSERT(!stat(path, &st), "%s: %s", path, strerror(errno));
	return st.st_size;
}

/* The largest read the back-end answers (one GET_CONFIG per size). */
static uint32_t config_len(struct gmem_vu_dev *d)
{
	uint8_t buf[GMEM_VU_MAX_CONFIG_SIZE];
	uint32_t len;
	int ret;

	for (len = GMEM_VU_MAX_CONFIG_SIZE; len; len--) {
		ret = gmem_vu_get_config(d, 0, buf, len);
		if (!ret)
			return len;
		TEST_RET(ret, -EIO);
	}
	TEST_FAIL("no config read answered");
}

static void qsd(void)
{
	uint64_t capacity, sectors;
	uint32_t blk_size, seg_max, len;
	uint8_t whole[40], none[8];
	struct gmem_vu_info info;
	uint16_t queues;
	struct rig r;
	int i, ret;

	rig_up(&r, BACKEND_QSD, 0);
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	printf("qemu-storage-daemon: protocol features offered 0x%llx, "
	       "negotiated 0x%llx\n",
	       (unsigned long long)info.protocol_offered,
	       (unsigned long long)info.protocol_features);
	TEST_ASSERT(info.protocol_offered & GMEM_VU_PF_CONFIG,
		    "no CONFIG offered");
	TEST_ASSERT(info.protocol_features & GMEM_VU_PF_CONFIG,
		    "CONFIG offered, not negotiated");

	sectors = image_size(&r.b) / 512;
	TEST_RET(gmem_vu_get_config(r.d, BLK_CAPACITY, &capacity, 8), 0);
	TEST_ASSERT(capacity == sectors, "capacity %llu sectors, image %llu",
		    (unsigned long long)capacity,
		    (unsigned long long)sectors);
	TEST_RET(gmem_vu_get_config(r.d, BLK_SIZE, &blk_size, 4), 0);
	TEST_RET(blk_size, 512);
	TEST_RET(gmem_vu_get_config(r.d, BLK_NUM_QUEUES, &queues, 2), 0);
	TEST_RET(queues, 1);
	TEST_RET(gmem_vu_get_config(r.d, BLK_SEG_MAX, &seg_max, 4), 0);
	/* Whole, the same bytes as field by field. */
	memset(whole, 0xee, sizeof(whole));
	TEST_RET(gmem_vu_get_config(r.d, 0, whole, sizeof(whole)), 0);
	TEST_ASSERT(!memcmp(whole + BLK_CAPACITY, &capacity, 8) &&
		    !memcmp(whole + BLK_SIZE, &blk_size, 4) &&
		    !memcmp(whole + BLK_NUM_QUEUES, &queues, 2) &&
		    !memcmp(whole + BLK_SEG_MAX, &seg_max, 4),
		    "the whole read and the field reads differ");
	printf("virtio-blk config: capacity %llu, seg_max %u, blk_size %u, "
	       "num_queues %u\n", (unsigned long long)capacity, seg_max,
	       blk_size, queues);

	/* Past its config space: refused, @buf untouched, the device on. */
	len = config_len(r.d);
	printf("qemu-storage-daemon answers reads of up to %u bytes\n", len);
	TEST_ASSERT(len >= sizeof(whole) && len < GMEM_VU_MAX_CONFIG_SIZE,
		    "%u config bytes", len);
	memset(none, 0x5a, sizeof(none));
	TEST_RET(gmem_vu_get_config(r.d, len, none, 1), -EIO);
	TEST_ASSERT(none[0] == 0x5a, "written on a refusal");
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_ASSERT(info.connected, "a refusal disconnected the device");
	rig_check(&r, r.s.src, r.s.dst, 1);

	/*
	 * Stopped: -ETIMEDOUT. Once it runs again its late reply must be
	 * dropped, not read as the reply to the next request.
	 */
	backend_freeze(&r.b);
	TEST_RET(gmem_vu_get_config(r.d, BLK_SIZE, &blk_size, 4), -ETIMEDOUT);
	TEST_ASSERT(!kill(r.b.pid, SIGCONT), "SIGCONT");
	for (i = 0; (ret = gmem_vu_get_config(r.d, BLK_CAPACITY, &capacity,
					      8)) == -ETIMEDOUT && i < 10; i++)
		;
	TEST_RET(ret, 0);
	TEST_ASSERT(capacity == sectors, "capacity %llu after the timeout",
		    (unsigned long long)capacity);
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	TEST_ASSERT(info.connected, "disconnected after the late reply");
	rig_check(&r, r.s.src, r.s.dst, 2);
	rig_down(&r);
}

static void dpdk(void)
{
	struct gmem_vu_info info;
	uint8_t buf[8];
	struct rig r;

	rig_up(&r, BACKEND_DPDK, 10000);
	TEST_RET(gmem_vu_info(r.d, &info), 0);
	printf("testpmd: protocol features offered 0x%llx, negotiated "
	       "0x%llx\n", (unsigned long long)info.protocol_offered,
	       (unsigned long long)info.protocol_features);
	TEST_ASSERT(!(info.protocol_offered & GMEM_VU_PF_CONFIG),
		    "testpmd offers CONFIG now: read its config here");
	TEST_ASSERT(!(info.protocol_features & GMEM_VU_PF_CONFIG),
		    "CONFIG negotiated although not offered");
	memset(buf, 0x5a, sizeof(buf));
	TEST_RET(gmem_vu_get_config(r.d, 0, buf, sizeof(buf)), -EOPNOTSUPP);
	TEST_ASSERT(buf[0] == 0x5a, "written although unsupported");
	rig_check(&r, r.s.src, r.s.dst, 1);
	assert_healthy(r.d, "testpmd");
	rig_down(&r);
}

int main(void)
{
	qsd();
	dpdk();
	return 0;
}
