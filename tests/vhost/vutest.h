/* SPDX-License-Identifier: MIT */
/*
 * vutest.h - what the vhost-user tests share: real back-ends started on
 * sockets in a temporary directory, a detached VM whose test process
 * plays the guest's virtio driver (split virtqueues laid out in shared
 * guest memory with gmem_vm_write, the used ring polled with
 * gmem_vm_read), and the check of a back-end's /proc/PID/maps.
 */
#ifndef GMEM_VUTEST_H
#define GMEM_VUTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"
#include "vhost-user.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define PG		GMEM_PAGE_SIZE
#define VQ_NUM		64
/* qemu-storage-daemon's disk: an image file of this many bytes. */
#define DISK_SIZE	(4ULL << 20)

enum backend_kind { BACKEND_QSD, BACKEND_DPDK };

struct backend {
	enum backend_kind kind;
	pid_t pid;
	char dir[64];		/* the temporary directory */
	char sock[128];
	char prefix[64];	/* DPDK --file-prefix */
};

/*
 * Start a back-end and wait until it is ready: its socket exists and, for
 * testpmd, forwarding runs. Skip (77) if it is not installed.
 */
void backend_start(struct backend *b, enum backend_kind kind);
/*
 * SIGSTOP it and wait until every thread is stopped: kill() returns before
 * the target stops, and a back-end still running would ack.
 */
void backend_freeze(struct backend *b);
/* Lines of the back-end's log that hold @what. */
unsigned int backend_log_count(const struct backend *b, const char *what);
/* Stop it by pid (SIGINT, then SIGKILL), remove its files. */
void backend_stop(struct backend *b);

/* The guest: one detached VM, one file, one memslot at GUEST_GPA. */
#define GUEST_GPA	0x100000ULL

struct guest {
	struct gmem_vm *vm;
	struct gmem_file *file;
	uint64_t size;
};

void guest_init(struct guest *g, uint64_t size);
void guest_fini(struct guest *g);

/* A split virtqueue in guest memory, driven by the test. */
struct vq {
	struct gmem_vm *vm;
	unsigned int index;
	uint64_t desc, avail, used;	/* gpas */
	uint16_t avail_idx;
	uint16_t used_idx;
	uint16_t next_desc;
};

struct vq_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device writes it */
};

/* Lay out a queue at @gpa (3 pages: desc, avail, used) and hand it over. */
void vq_init(struct vq *q, struct gmem_vm *vm, struct gmem_vu_dev *d,
	     unsigned int index, uint64_t gpa);
/*
 * Hand a queue stopped with gmem_vu_vring_stop() back at @base, where it
 * is (its rings untouched, unlike vq_init).
 */
int vq_restart(struct vq *q, struct gmem_vu_dev *d, uint16_t base);
/* Post one chain; returns its head. */
uint16_t vq_post(struct vq *q, const struct vq_buf *bufs, unsigned int n);
/* Wait up to @ms for one used element; 0 and its id/len, or -ETIMEDOUT. */
int vq_wait(struct vq *q, unsigned int ms, uint32_t *id, uint32_t *len);

/* Guest memory helpers that fail the test on error. */
void gwrite(struct guest *g, uint64_t gpa, const void *buf, size_t len);
void gread(struct guest *g, uint64_t gpa, void *buf, size_t len);

/*
 * The private bytes of @file that process @pid maps (from its
 * /proc/PID/maps: mappings of the file's inode, their file ranges).
 */
uint64_t mapped_private(pid_t pid, struct gmem_file *file);
/* Fail unless no region of @d's table holds a private page. */
void check_table_shared(struct gmem_vu_dev *d);
/*
 * The check after a conversion to private: the table holds no private
 * page and the back-end maps no private byte beyond the exposure.
 */
void check_exposure(struct backend *b, struct gmem_vu_dev *d,
		    struct gmem_file *file, uint64_t want_exposure);

/* gmem_vu_open() on @b's socket, once it listens; fails the test on error. */
struct gmem_vu_dev *backend_connect(struct backend *b,
				    unsigned int timeout_ms);


/*
 * The conversion sequence every device must survive, on one buffer:
 * shared -> private -> discarded (punched) -> shared -> reallocated ->
 * DMA, with the device used before and after. @xfer moves @len bytes
 * from one guest buffer to another through the device (blk: write a
 * sector, read it back; net: send a frame, receive it); bytes below @skip
 * (a virtio-net header) are not compared.
 */
struct cycle {
	struct guest *g;
	struct gmem_vu_dev *d;
	struct backend *b;
	void (*xfer)(void *ctx, uint64_t src, uint64_t dst, uint32_t len);
	void *ctx;
	uint32_t skip;
	uint32_t len;
	uint64_t src, dst;	/* two other shared buffers (gpas) */
	uint64_t buf;		/* the buffer converted (gpa) */
	uint64_t exposure;	/* expected while @buf is private */
};

void conversion_cycle(const struct cycle *s, unsigned int round);
/* Whether the table covers [gpa, gpa+len) entirely. */
bool table_covers(struct gmem_vu_dev *d, uint64_t gpa, uint64_t len);
/* Log the table (for the report); quiet unless VUTEST_LOG is set. */
void log_table(struct gmem_vu_dev *d, const char *when);
/*
 * The end of a run: @d still connected, no ack missed or refused; prints
 * "@name: N table messages, N regions at the end".
 */
void assert_healthy(struct gmem_vu_dev *d, const char *name);

#endif /* GMEM_VUTEST_H */
