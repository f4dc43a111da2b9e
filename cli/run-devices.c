// SPDX-License-Identifier: MIT
/*
 * gmem run's devices: virtio-mmio windows (runner/virtio-mmio.c) whose
 * queues vhost-user back-ends serve (vhost/, libgmemvu), over a DMA pool
 * in a guest-memory file of its own, so that a back-end reaches no other
 * guest memory.
 *
 * The host checks the seed's promise at every conversion of the pool to
 * private: a listener registered after the devices' own is told after
 * they have been, and then no back-end's acknowledged table may still
 * hold the range. It also measures the exposure at that moment: the
 * private bytes inside what the back-ends map (they map a region's file
 * from offset 0, docs/vhost-user.md). At each of the guest's DMA syncs the
 * whole pool, shared again, must be back in every table.
 *
 * The checker runs inside the library's callbacks (the file's invalidate
 * lock held) and on vCPU threads: it takes no lock of its own, only the
 * devices' (inside gmem_vu_table()), and keeps its counters atomic.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dma-guest.h"
#include "run-devices.h"
#include "run-guest.h"
#include "vhost-user.h"
#include "virtio-mmio.h"

/*
 * Exactly the dma rounds' area, so that the buffer they convert private
 * (c) is the pool's last page: the back-ends map a file from offset 0 up
 * to the end of its highest region, which then stops below c, and no
 * private byte is ever inside what they map (exposure 0, checked).
 */
#define POOL_SIZE	DMA_AREA_MIN
#define WINDOW_SIZE	GMEM_PAGE_SIZE
#define MAX_REGIONS	64
#define BLK_CONFIG_LEN	60	/* struct virtio_blk_config, up to discard */
#define ACK_TIMEOUT_MS	10000

_Static_assert(DMA_BUF_C == POOL_SIZE - GMEM_PAGE_SIZE, "c is the last page");

static const char *const opt_name[RUN_DEV_NR] = {
	"--vhost-user-blk", "--vhost-user-net",
};

static const char *const kind_name[RUN_DEV_NR] = {
	"vhost-user-blk", "vhost-user-net",
};

struct run_dev {
	enum run_dev_kind kind;
	const char *path;
	struct gmem_vu_dev *vu;
	struct rn_vmmio *mmio;
	uint64_t window;		/* gpa */
};

struct run_devices {
	struct run_dev dev[RUN_DEV_NR];
	unsigned int nr;
	struct gmem_file *pool;
	struct runner *r;
	struct gmem_listener *checker;
	atomic_ulong rounds;		/* DMA syncs whose checks held */
	atomic_ulong checked;		/* conversions to private checked */
	atomic_ulong leaks;		/* ... still in a back-end's table */
	_Atomic uint64_t leak_off;	/* the first such file offset + 1 */
	_Atomic uint64_t max_exposure;	/* bytes */
};

int run_dev_opt(enum run_dev_kind kind, const char *path,
		const char *paths[RUN_DEV_NR])
{
	if (paths[kind]) {
		fprintf(stderr, "gmem run: %s given twice\n", opt_name[kind]);
		return -1;
	}
	if (cli_opt_socket("run", opt_name[kind], path))
		return -1;
	paths[kind] = path;
	return 0;
}

int run_devices_connect(const char *const paths[RUN_DEV_NR],
			struct run_devices **out)
{
	/* a loaded host (or an emulated one) may take seconds to ack */
	const struct gmem_vu_config vc = { .timeout_ms = ACK_TIMEOUT_MS };
	struct run_devices *d;
	char why[256];
	int ret;

	*out = NULL;
	if (!paths[RUN_DEV_BLK] && !paths[RUN_DEV_NET])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "gmem run: no memory for the devices\n");
		return -1;
	}
	for (unsigned int k = 0; k < RUN_DEV_NR; k++) {
		struct run_dev *v = &d->dev[d->nr];

		if (!paths[k])
			continue;
		why[0] = 0;
		ret = gmem_vu_connect(paths[k], &vc, &v->vu, why, sizeof(why));
		if (ret) {
			fprintf(stderr, "gmem run: %s '%s': %s\n", opt_name[k],
				paths[k], why[0] ? why : strerror(-ret));
			run_devices_close(d);
			return -1;
		}
		v->kind = k;
		v->path = paths[k];
		v->window = RUNNER_MMIO_GPA + d->nr * WINDOW_SIZE;
		d->nr++;
	}
	*out = d;
	return 0;
}

static int window_access(void *opaque, uint64_t off, void *data,
			 unsigned int len, bool write)
{
	struct run_dev *v = opaque;

	return rn_vmmio_access(v->mmio, off, data, len, write);
}

void run_devices_configure(struct run_devices *d, struct runner_config *cfg)
{
	cfg->dma_size = POOL_SIZE;
	cfg->param[RUN_P_DMA] = RUNNER_DMA_GPA;
	cfg->param[RUN_P_DMA_SIZE] = POOL_SIZE;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct run_dev *v = &d->dev[i];

		cfg->mmio[cfg->nr_mmio++] = (struct runner_mmio){
			.gpa = v->window, .size = WINDOW_SIZE,
			.access = window_access, .opaque = v,
		};
		cfg->param[v->kind == RUN_DEV_BLK ? RUN_P_BLK : RUN_P_NET] =
			v->window;
	}
}

/* Bytes of [a, a + al) inside [b, b + bl). */
static uint64_t overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	uint64_t lo = a > b ? a : b;
	uint64_t hi = a + al < b + bl ? a + al : b + bl;

	return hi > lo ? hi - lo : 0;
}

/* Private bytes of the pool in [0, end), outside [off, off + len). */
static uint64_t private_below(struct gmem_file *f, uint64_t end, uint64_t off,
			      uint64_t len)
{
	uint64_t at = 0, bytes = 0;

	while (at < end) {
		uint64_t attrs, run;

		if (gmem_get_attributes(f, at, &attrs, &run) || !run)
			break;
		if (run > end - at)
			run = end - at;
		if (attrs & GMEM_ATTR_PRIVATE)
			bytes += run - overlap(at, run, off, len);
		at += run;
	}
	return bytes;
}

static void note_max(_Atomic uint64_t *max, uint64_t v)
{
	uint64_t cur = atomic_load(max);

	while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

/*
 * One device, [off, off + len) of the pool about to become private: the
 * device must have let go of it. Return the end of what it maps, or 0 with
 * *@leak set when its table still holds part of the range.
 */
static uint64_t check_device(struct run_devices *d, struct run_dev *v,
			     uint64_t off, uint64_t len, bool *leak)
{
	struct gmem_vu_region reg[MAX_REGIONS];
	int n = gmem_vu_table(v->vu, reg, MAX_REGIONS);
	uint64_t end = 0;

	for (int i = 0; i < n && i < MAX_REGIONS; i++) {
		if (reg[i].file != d->pool)
			continue;
		if (overlap(reg[i].offset, reg[i].size, off, len)) {
			uint64_t at = reg[i].offset > off ? reg[i].offset : off;
			uint64_t none = 0;

			/* the offset first: a reader that sees leaks sees it */
			atomic_compare_exchange_strong(&d->leak_off, &none,
						       at + 1);
			atomic_fetch_add(&d->leaks, 1);
			*leak = true;
		}
		if (reg[i].offset + reg[i].size > end)
			end = reg[i].offset + reg[i].size;
	}
	return end;
}

static int checker_unmap(void *opaque, uint64_t off, uint64_t len,
			 uint32_t flags)
{
	struct run_devices *d = opaque;
	bool leak = false;
	uint64_t end = 0;

	/* forced: the pool is being closed, nothing becomes private */
	if (flags & GMEM_UNMAP_FORCED)
		return 0;
	for (unsigned int i = 0; i < d->nr; i++) {
		uint64_t e = check_device(d, &d->dev[i], off, len, &leak);

		if (e > end)
			end = e;
	}
	note_max(&d->max_exposure, overlap(off, len, 0, end) +
		 private_below(d->pool, end, off, len));
	atomic_fetch_add(&d->checked, 1);
	/*
	 * Refused: the library tells the devices to map the range again and
	 * nothing becomes private. The VM stops with the host's reason, before
	 * the guest reports its failed conversion (the first reason wins).
	 */
	if (leak)
		run_devices_failed(d, d->r);
	return leak ? -EPERM : 0;
}

static int checker_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque;
	(void)off;
	(void)len;
	return 0;
}

/* The device's config space: blk's from the back-end, net's our own. */
static int read_config(struct run_dev *v, uint8_t *buf, uint32_t *len)
{
	static const uint8_t net[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 1 };
	int ret;

	if (v->kind == RUN_DEV_NET) {
		memcpy(buf, net, sizeof(net));
		*len = sizeof(net);
		return 0;
	}
	/* older back-ends have a shorter virtio_blk_config: the capacity */
	*len = BLK_CONFIG_LEN;
	ret = gmem_vu_get_config(v->vu, 0, buf, *len);
	if (ret == -EIO) {
		*len = 8;
		ret = gmem_vu_get_config(v->vu, 0, buf, *len);
	}
	return ret;
}

static int start_device(struct run_devices *d, struct run_dev *v)
{
	uint8_t config[RN_VMMIO_CONFIG_MAX];
	struct rn_vmmio_config mc = {
		.device_id = v->kind == RUN_DEV_BLK ? RN_VIRTIO_ID_BLOCK :
						      RN_VIRTIO_ID_NET,
		.num_queues = v->kind == RUN_DEV_BLK ? 1 : 2,
		.queue_num_max = 2 * VIO_VQ_NUM,
		.config = config,
	};
	const char *what = "attaching the DMA pool";
	int ret;

	ret = gmem_vu_attach(v->vu, d->pool, 0, POOL_SIZE, RUNNER_DMA_GPA);
	if (!ret) {
		what = "reading the device's config space";
		ret = read_config(v, config, &mc.config_len);
	}
	if (!ret) {
		what = "creating the virtio-mmio device";
		ret = rn_vmmio_create(v->vu, &mc, &v->mmio);
	}
	if (ret)
		fprintf(stderr, "gmem run: %s '%s': %s: %s\n",
			opt_name[v->kind], v->path, what, strerror(-ret));
	return ret;
}

int run_devices_start(struct run_devices *d, struct runner *r)
{
	struct gmem_listener_config lc = {
		.len = POOL_SIZE, .map = checker_map, .unmap = checker_unmap,
		.opaque = d,
	};
	int ret;

	d->pool = runner_dma_file(r);
	d->r = r;
	for (unsigned int i = 0; i < d->nr; i++)
		if (start_device(d, &d->dev[i]))
			return -1;
	/* after the devices' own listeners: told after they are */
	ret = gmem_listen(d->pool, &lc, &d->checker);
	if (ret)
		fprintf(stderr, "gmem run: cannot watch the DMA pool: %s\n",
			strerror(-ret));
	return ret ? -1 : 0;
}

/* The whole pool (shared again) in @v's table. */
static bool pool_in_table(struct run_devices *d, struct run_dev *v)
{
	struct gmem_vu_region reg[MAX_REGIONS];
	int n = gmem_vu_table(v->vu, reg, MAX_REGIONS);
	uint64_t bytes = 0;

	for (int i = 0; i < n && i < MAX_REGIONS; i++)
		if (reg[i].file == d->pool)
			bytes += reg[i].size;
	return bytes == POOL_SIZE;
}

int run_devices_sync(struct run_devices *d, struct runner *r,
		     const struct guest_mailbox *mb)
{
	uint64_t c = mb->args[1];

	if (!d || c < RUNNER_DMA_GPA || c - RUNNER_DMA_GPA >= POOL_SIZE ||
	    c % GMEM_PAGE_SIZE) {
		runner_stop(r, "vcpu 0: DMA sync with bad arguments");
		return -1;
	}
	if (run_devices_failed(d, r))
		return -1;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct gmem_vu_info in = { 0 };

		/* late acks settle here; a back-end gone is said as such */
		gmem_vu_sync(d->dev[i].vu);
		gmem_vu_info(d->dev[i].vu, &in);
		if (!in.connected) {
			runner_stop(r, "%s '%s': the back-end is gone",
				    opt_name[d->dev[i].kind], d->dev[i].path);
			return -1;
		}
		if (!pool_in_table(d, &d->dev[i])) {
			runner_stop(r, "host check failed: %s '%s': the shared DMA pool is not all in the back-end's table after round %llu",
				    opt_name[d->dev[i].kind], d->dev[i].path,
				    (unsigned long long)mb->args[0]);
			return -1;
		}
	}
	atomic_fetch_add(&d->rounds, 1);
	return 0;
}

bool run_devices_failed(struct run_devices *d, struct runner *r)
{
	uint64_t exposure = atomic_load(&d->max_exposure);

	if (atomic_load(&d->leaks)) {
		runner_stop(r, "host check failed: DMA pool offset 0x%llx was to become private while a back-end's table still held it (refused)",
			    (unsigned long long)(atomic_load(&d->leak_off) - 1));
		return true;
	}
	if (exposure) {
		runner_stop(r, "host check failed: %llu private bytes of the DMA pool inside what a back-end maps",
			    (unsigned long long)exposure);
		return true;
	}
	return false;
}

void run_devices_report_text(struct run_devices *d, FILE *f)
{
	char sz[32];

	for (unsigned int i = 0; i < d->nr; i++) {
		struct run_dev *v = &d->dev[i];
		struct gmem_vu_info in = { 0 };

		gmem_vu_info(v->vu, &in);
		fprintf(f, "  device:       %s %s: %llu table messages, %llu timeouts, %u regions now%s\n",
			kind_name[v->kind], v->path,
			(unsigned long long)in.messages,
			(unsigned long long)in.timeouts, in.regions,
			in.connected ? "" : ", back-end gone");
	}
	fprintf(f, "  DMA pool:     %s in its own file; %lu DMA rounds; %lu conversions to private checked, %lu left a page in a table; exposure at most %llu bytes\n",
		mm_size(POOL_SIZE, sz, sizeof(sz)), atomic_load(&d->rounds),
		atomic_load(&d->checked),
		atomic_load(&d->leaks),
		(unsigned long long)atomic_load(&d->max_exposure));
}

void run_devices_report_json(struct run_devices *d, FILE *f)
{
	fputs("\"devices\": [", f);
	for (unsigned int i = 0; i < d->nr; i++) {
		struct run_dev *v = &d->dev[i];
		struct gmem_vu_info in = { 0 };

		gmem_vu_info(v->vu, &in);
		fprintf(f, "%s{\"kind\": \"%s\", \"socket\": ", i ? ", " : "",
			kind_name[v->kind]);
		json_str(f, v->path);
		fprintf(f, ", \"table_messages\": %llu, \"timeouts\": %llu, "
			"\"regions\": %u, \"connected\": %s}",
			(unsigned long long)in.messages,
			(unsigned long long)in.timeouts, in.regions,
			in.connected ? "true" : "false");
	}
	fprintf(f, "], \"dma_pool\": {\"size\": %llu, \"dma_rounds\": %lu, "
		"\"conversions_checked\": %lu, \"left_in_table\": %lu, "
		"\"max_exposure\": %llu}",
		(unsigned long long)POOL_SIZE, atomic_load(&d->rounds),
		atomic_load(&d->checked), atomic_load(&d->leaks),
		(unsigned long long)atomic_load(&d->max_exposure));
}

/*
 * The transports, then the connections (gmem_vu_close() stops the rings
 * first), then the checker: the back-ends let go of the rings before the
 * pool they live in goes away with the VM.
 */
void run_devices_stop(struct run_devices *d)
{
	for (unsigned int i = 0; d && i < RUN_DEV_NR; i++) {
		rn_vmmio_destroy(d->dev[i].mmio);
		d->dev[i].mmio = NULL;
		if (d->dev[i].vu)
			gmem_vu_close(d->dev[i].vu);
		d->dev[i].vu = NULL;
	}
	if (d && d->checker)
		gmem_unlisten(d->pool, d->checker);
	if (d)
		d->checker = NULL;
}

void run_devices_close(struct run_devices *d)
{
	if (!d)
		return;
	run_devices_stop(d);
	free(d);
}
