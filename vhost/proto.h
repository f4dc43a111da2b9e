/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the vhost-user wire format and the front-end's internal state,
 * shared by the files of libgmemvu (docs/vhost-user.md). Not installed.
 *
 * The device's two locks, dev->attach_lock and dev->lock, take their
 * places in the lock order in lib/locking.h.
 */
#ifndef GMEM_VU_PROTO_H
#define GMEM_VU_PROTO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhost-user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Requests, front-end -> back-end. */
enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
};

#define VU_FLAG_VERSION		0x1u
#define VU_FLAG_VERSION_MASK	0x3u
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)

#define VU_VRING_NOFD		(1ull << 8)

/* The baseline table size, and DPDK 22.11's cap without memory slots. */
#define VU_BASELINE_REGIONS	8
/* Most regions this front-end ever keeps, whatever a back-end offers. */
#define VU_MAX_REGIONS		64

struct vu_wire_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_wire_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

/* The device config space payload (GET_CONFIG): what the back-end holds. */
struct vu_wire_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[GMEM_VU_MAX_CONFIG_SIZE];
};

#define VU_CONFIG_HDR	12u	/* offset, size, flags */

struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct {
			uint32_t index;
			uint32_t num;
		} state;
		struct vu_wire_vring_addr addr;
		struct vu_wire_config config;
		struct {
			uint32_t nregions;
			uint32_t padding;
			struct vu_wire_region r[VU_BASELINE_REGIONS];
		} table;
		struct {
			uint64_t padding;
			struct vu_wire_region r;
		} one;
	} u;
} __attribute__((packed));

#define VU_HDR_SIZE	12u	/* request, flags, size */
#define VU_MEM_TABLE_HDR	8u	/* nregions, padding */

_Static_assert(offsetof(struct vu_msg, u) == VU_HDR_SIZE, "header");
_Static_assert(offsetof(struct vu_wire_config, region) == VU_CONFIG_HDR,
	       "config header");
_Static_assert(offsetof(struct vu_msg, u.table.r) - VU_HDR_SIZE ==
	       VU_MEM_TABLE_HDR, "memory table header");

/* msg.c */
int vu_send(int sock, const struct vu_msg *m, const int *fds, int nfds);
int vu_recv(int sock, struct vu_msg *m, int timeout_ms);
int vu_unsolicited(int sock);

/* A region of the back-end's table: which attached range, and where. */
struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;	/* file offset, the wire's mmap_offset */
	unsigned int rng;	/* index into dev->range */
};

struct vu_table {
	unsigned int n;
	struct vu_region r[VU_MAX_REGIONS];
};

/* table.c */
void vu_table_canon(struct vu_table *t);
int vu_table_add(struct vu_table *t, const struct vu_region *r);
int vu_table_sub(struct vu_table *t, unsigned int rng, uint64_t off,
		 uint64_t len);
bool vu_table_has(const struct vu_table *t, const struct vu_region *r);
int vu_table_del(struct vu_table *t, const struct vu_region *r);
bool vu_table_equal(const struct vu_table *a, const struct vu_table *b);
int vu_table_cut(struct vu_table *t, uint64_t gpa);
int vu_table_fence(struct vu_table *t, const struct gmem_vu_dev *d);

/* A range of a guest-memory file attached to the device. */
struct vu_range {
	struct gmem_vu_dev *dev;
	struct gmem_file *file;
	/*
	 * NULL once the listener is gone: the release callback clears it in
	 * whichever thread closes the file, while attach and close read it.
	 */
	struct gmem_listener *_Atomic listener;
	uint64_t offset;
	uint64_t len;
	uint64_t gpa;
	int fidx;
};

#define VU_LAST_ERROR_SIZE	256
#define VU_MAX_RANGES	16
#define VU_MAX_VRINGS	8
/* A split ring's parts: descriptor table, available ring, used ring. */
#define VU_VRING_PARTS	3

struct vu_vring {
	int kick;		/* eventfds, -1 until set up */
	int call;
	bool ready;
	/*
	 * Page-aligned gpa hulls [start, end) of desc, avail, used: region
	 * boundaries.
	 */
	uint64_t fence[VU_VRING_PARTS][2];
};

/* A message sent whose ack (or reply) has not arrived in time. */
struct vu_pending {
	bool busy;
	bool get;		/* a GET_* whose reply is dropped when it comes */
	uint32_t request;
	struct vu_table after;	/* the back-end's table once acked */
};

struct gmem_vu_dev {
	pid_t pid;		/* the process that connected it (fds.c) */
	/* See the lock order in lib/locking.h. */
	pthread_mutex_t attach_lock;	/* attach, close */
	pthread_mutex_t lock;		/* all below; no libgmem call inside */
	int sock;		/* -1 once the back-end is gone */
	int timeout_ms;
	uint64_t features;
	uint64_t protocol_features;
	uint64_t protocol_offered;	/* GET_PROTOCOL_FEATURES' answer */
	unsigned int max_regions;
	bool mem_slots;		/* CONFIGURE_MEM_SLOTS negotiated */
	bool acks;		/* REPLY_ACK negotiated: all requests acked */

	/* Attached files: one exported fd each, shared by its ranges. */
	struct gmem_file *file[VU_MAX_RANGES];
	int file_fd[VU_MAX_RANGES];
	unsigned int nfiles;
	struct vu_range range[VU_MAX_RANGES];
	unsigned int nranges;

	struct vu_table want;	/* the shared runs the device may use */
	struct vu_table have;	/* the back-end's table, as acknowledged */
	struct vu_pending pending;
	/* The table a table message being sent leads to (sync.c). */
	const struct vu_table *next;
	/*
	 * A protocol error (an unsolicited, duplicated or mismatched reply)
	 * ends the connection without the back-end's word that it unmapped
	 * anything: per file slot, the end of what it may still map (the
	 * highest region end of its tables, acknowledged or sent).
	 */
	bool broken;
	uint64_t reach[VU_MAX_RANGES];
	struct vu_vring vring[VU_MAX_VRINGS];

	uint64_t msgs;		/* table messages sent */
	uint64_t nacks;
	uint64_t timeouts;
	/* Why gmem_vu_open() failed, for gmem_vu_last_error(); "" if not. */
	char last_error[VU_LAST_ERROR_SIZE];
};

/* fds.c */
pid_t vu_self(void);
int vu_fd_begin(unsigned int n);
int vu_fd_add(int fd);
void vu_fd_end(void);
void vu_fd_close(int fd);

/* A device used from a process other than the one that connected it. */
static inline bool vu_foreign(const struct gmem_vu_dev *d)
{
	return d->pid != vu_self();
}

/* sync.c */
int vu_call(struct gmem_vu_dev *d, struct vu_msg *m, const int *fds,
	    int nfds, bool reply);
int vu_get(struct gmem_vu_dev *d, struct vu_msg *m);
void vu_dead(struct gmem_vu_dev *d);
void vu_broken(struct gmem_vu_dev *d, const struct vu_table *sent);
bool vu_reaches(const struct gmem_vu_dev *d, int fidx, uint64_t off);
int vu_drain(struct gmem_vu_dev *d);
int vu_push_table(struct gmem_vu_dev *d, const struct vu_table *target);

/* vring.c */
void vu_vring_stop_all(struct gmem_vu_dev *d);

/* negotiate.c */
int vu_negotiate(struct gmem_vu_dev *d, uint64_t want);

#endif /* GMEM_VU_PROTO_H */
