/* SPDX-License-Identifier: MIT */
/*
 * vhost-user.h - libgmemvu, a vhost-user front-end whose memory table
 * follows libgmem's conversions (docs/vhost-user.md).
 *
 * A device is one connection to a back-end's unix socket (DPDK's vhost
 * PMD, qemu-storage-daemon's vhost-user-blk, ...). Ranges of guest-memory
 * files are attached to it; from then on the back-end's memory table holds
 * exactly the shared runs of those ranges: a run that is about to become
 * private (or be punched) is removed and the conversion waits for the
 * back-end's acknowledgement; a run that became shared is added.
 *
 * Every call returns 0 (or a count) or a negative errno, and writes no
 * message; a device that failed to connect keeps a sentence saying why,
 * for the caller's report (gmem_vu_last_error()). Calls on one device are
 * thread-safe; conversions of any file may run meanwhile.
 *
 * A device belongs to the process that connected it. A child made by
 * fork() keeps none of its fds (the attached files' exported fds, through
 * which every page could be mapped, private ones included; the socket; the
 * rings' eventfds): a pthread_atfork() child hook closes them all, and
 * every call on the device there is -EIO and touches no fd. A child of
 * vfork() or a raw clone() runs no hook and keeps them until it execs.
 *
 * Errnos a conversion sees from a device (the listener's refusal):
 *  -ETIMEDOUT  no acknowledgement within the timeout: nothing changed;
 *  -EIO        the back-end refused (a non-zero ack);
 *  -ENOSPC     the table would exceed the back-end's region limit
 *              (nothing was sent);
 *  -EPROTO     the back-end broke the protocol, now or before (below), and
 *              may still map the run: nothing changed.
 * A back-end that is gone (EOF, EPIPE, ECONNRESET) holds no memory: every
 * later table change succeeds at once and the device stays dead.
 *
 * A back-end that breaks the protocol - sends bytes while no request is in
 * flight (a second ack of a request, an unsolicited message), or a reply
 * that is not the one to the request in flight (another request's number,
 * no reply flag, a wrong size) - is disconnected, but its acks no longer
 * prove anything, so it is not taken to hold nothing: every file it held
 * a region of counts as mapped up to the highest end of those regions
 * (the table acknowledged, a table whose ack was missing and the one in
 * flight), in gmem_vu_exposure(), and a conversion to private of a run
 * starting below that end is refused with -EPROTO until the file or the
 * device is closed (kill the back-end first: the library cannot revoke
 * what it mapped). gmem_vu_info() says protocol_error. Bytes that arrive
 * while a request is in flight cannot be told from its reply when the
 * request number matches: vhost-user replies carry no sequence number.
 */
#ifndef GMEM_VHOST_USER_H
#define GMEM_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Virtio and vhost-user feature bits the caller may ask for. */
#define GMEM_VU_F_VERSION_1		(1ULL << 32)
#define GMEM_VU_F_PROTOCOL_FEATURES	(1ULL << 30)

/* Protocol feature bits (GET_PROTOCOL_FEATURES). */
#define GMEM_VU_PF_REPLY_ACK		(1ULL << 3)
#define GMEM_VU_PF_CONFIG		(1ULL << 9)
#define GMEM_VU_PF_CONFIGURE_MEM_SLOTS	(1ULL << 15)

/* The largest device config space GET_CONFIG carries (the spec's). */
#define GMEM_VU_MAX_CONFIG_SIZE	256

#define GMEM_VU_TIMEOUT_MS	1000	/* default ack timeout */
/* Negotiation at connect waits this long, or the timeout if longer. */
#define GMEM_VU_CONNECT_TIMEOUT_MS	5000

struct gmem_vu_dev;

struct gmem_vu_config {
	/*
	 * Device feature bits to negotiate, in addition to VERSION_1 and
	 * PROTOCOL_FEATURES (always asked for); bits the back-end does not
	 * offer are dropped.
	 */
	uint64_t features;
	uint32_t timeout_ms;	/* ack timeout; 0: GMEM_VU_TIMEOUT_MS */
	uint32_t flags;		/* must be 0 */
	uint64_t reserved[4];	/* must be 0 */
};

/*
 * gmem_vu_open - connect to the back-end listening on @path and
 * negotiate: SET_OWNER, features, protocol features (REPLY_ACK required,
 * CONFIGURE_MEM_SLOTS and CONFIG used when offered), the region limit
 * (GET_MAX_MEM_SLOTS with memory slots, 8 otherwise).
 * @cfg: NULL for the defaults.
 * Unless the arguments are bad or memory runs out, *@out is a device
 * whatever this returns: on failure it is disconnected (every call
 * behaves as after the back-end is gone), gmem_vu_last_error() says why,
 * and gmem_vu_close() frees it.
 * Return: 0 and *out; -EINVAL for NULL @path/@out, a path too long for a
 * unix socket, non-zero flags or reserved fields, and -ENOMEM (*@out is
 * NULL after both, when @out is not); -EPROTONOSUPPORT when the back-end
 * offers no REPLY_ACK (or no protocol features, or no VERSION_1);
 * connect(2)'s errors (-ENOENT, -ECONNREFUSED, ...); -ETIMEDOUT during
 * negotiation; -ENOTCONN when the back-end closes the connection; -EPROTO
 * when it breaks the protocol: a reply that is not the one asked for
 * (another request's number, no reply flag or another version, a payload
 * of the wrong size, an oversized message), bytes before a request, or 0
 * memory slots.
 */
int gmem_vu_open(const char *path, const struct gmem_vu_config *cfg,
		 struct gmem_vu_dev **out);

/*
 * gmem_vu_last_error - why gmem_vu_open() failed on @d, a sentence for
 * the caller's report (which step, what the back-end offered or answered);
 * "" when it did not fail, or for NULL. Valid until gmem_vu_close(@d).
 */
const char *gmem_vu_last_error(const struct gmem_vu_dev *d);

/*
 * gmem_vu_connect - deprecated: gmem_vu_open() and gmem_vu_last_error()
 * do the same without a string buffer. This is gmem_vu_open() that frees
 * the device when it fails (*@out is written only on success) and copies
 * gmem_vu_last_error() into @err (@errlen bytes; @err may be NULL).
 * Return: as gmem_vu_open().
 */
int gmem_vu_connect(const char *path, const struct gmem_vu_config *cfg,
		    struct gmem_vu_dev **out, char *err, size_t errlen);

/*
 * gmem_vu_close - stop the rings that are set up (GET_VRING_BASE, best
 * effort: the first that fails or times out ends it, so a stuck back-end
 * costs at most one ack timeout, and none when an ack is already
 * missing), disconnect (the back-end unmaps everything when its socket
 * closes), stop listening on every attached range, free @d. For a
 * back-end that broke the protocol nothing confirms that it unmapped
 * anything: conversions of what it held are no longer refused once @d is
 * closed, so end the back-end first.
 * Return: 0 (also for NULL); -EDEADLK when called from inside a libgmem
 * listener callback (gmem_in_callback()), where listeners cannot be
 * unregistered: refused before any lock is taken, nothing has changed,
 * and @d stays valid.
 */
int gmem_vu_close(struct gmem_vu_dev *d);

/*
 * gmem_vu_attach - let the device reach [@offset, @offset+@len) of @file
 * at guest physical address @gpa. The shared runs of the range enter the
 * back-end's table at once; from then on they follow conversions. The
 * region fd is the file's exported fd, mmap_offset the file offset, and
 * the region's front-end address equals its gpa.
 * @file must have been created with GMEM_FLAG_EXPORT.
 * Return: 0; -EINVAL for NULL, unaligned, empty or overflowing ranges, or
 * a gpa range overlapping another attached range; -EPERM for a file
 * without GMEM_FLAG_EXPORT; -E2BIG beyond 16 ranges or files; -ENOSPC
 * when the shared runs do not fit the back-end's table; -EIO when the
 * back-end refuses them; -EDEADLK from inside a libgmem listener callback
 * (gmem_in_callback(): refused before any lock is taken); gmem_listen()'s
 * errors. A back-end that does
 * not ack in time gets them late (they are shared: no harm).
 * A file may be closed before the device: gmem_close() unmaps its runs
 * (forced) and releases the device's listener on it, and the device then
 * forgets that range (gmem_vu_close() does not touch the closed file).
 */
int gmem_vu_attach(struct gmem_vu_dev *d, struct gmem_file *file,
		   uint64_t offset, uint64_t len, uint64_t gpa);

/* A split virtqueue, by guest physical address (front-end address). */
struct gmem_vu_vring {
	uint32_t index;
	uint32_t num;		/* queue size, a power of two <= 32768 */
	uint64_t desc;		/* gpa of the descriptor table */
	uint64_t avail;		/* gpa of the available ring */
	uint64_t used;		/* gpa of the used ring */
	uint16_t base;		/* first available index to process */
	uint16_t reserved16;
	uint32_t flags;		/* must be 0 */
	uint64_t reserved[2];
};

/*
 * gmem_vu_vring_setup - SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL (with new
 * eventfds) and SET_VRING_ENABLE(1). Attach the memory holding the rings
 * first: back-ends translate the ring addresses at once. A ring stopped
 * with gmem_vu_vring_stop() is set up again the same way, with the base
 * the stop returned.
 * Return: 0; -EINVAL for NULL, an index >= 8, a bad num, unaligned ring
 * addresses, non-zero flags or reserved fields; -EBUSY when the ring is
 * set up (and not stopped); -ENOTCONN when the back-end is gone; -EPROTO
 * when it breaks the protocol (the device is disconnected); -EIO,
 * -ETIMEDOUT.
 */
int gmem_vu_vring_setup(struct gmem_vu_dev *d, const struct gmem_vu_vring *v);

/*
 * gmem_vu_vring_stop - GET_VRING_BASE: the back-end stops ring @index
 * (processes no more of it) and answers with the index of the next
 * available entry it would have taken, *@last_avail (@last_avail may be
 * NULL). Requests it took and had not completed may still complete.
 * From then on the ring is as if never set up: its eventfds are closed
 * (stop polling its call fd first), gmem_vu_kick() and gmem_vu_call_fd()
 * return -EINVAL, and gmem_vu_vring_setup() with .base = *@last_avail
 * starts it again where it stopped. Its pages keep their regions
 * (docs/vhost-user.md, "Rings in regions of their own").
 * The ring is stopped whatever this returns, -EINVAL and -EAGAIN aside.
 * Return: 0; -EINVAL for NULL @d, an index >= 8 or a ring not set up;
 * -EAGAIN when an earlier acknowledgement is still missing (nothing sent,
 * the ring runs on: gmem_vu_sync(), then stop again); -ETIMEDOUT (no
 * reply in time: the back-end stops the ring when it reads the request,
 * and its late reply is dropped; the base is lost, and is the driver's
 * used index once every request it posted completed);
 * -ENOTCONN when the back-end is gone; -EPROTO for a reply that is not
 * this ring's state, or any other protocol error (the device is
 * disconnected, see the top of this file).
 */
int gmem_vu_vring_stop(struct gmem_vu_dev *d, unsigned int index,
		       uint32_t *last_avail);

/*
 * gmem_vu_get_config - GET_CONFIG: read @len bytes at @offset of the
 * device's config space (virtio-blk: capacity at 0, blk_size at 20, ...)
 * into @buf. The back-end is asked for [0, @offset + @len) and the bytes
 * from @offset are copied: libvhost-user (qemu-storage-daemon) ignores
 * the request's offset and answers from 0, as QEMU always asks.
 * Return: 0; -EINVAL for NULL @d or @buf, @len 0, or @offset + @len
 * beyond GMEM_VU_MAX_CONFIG_SIZE; -EOPNOTSUPP when the back-end does not
 * offer the CONFIG protocol feature (nothing sent); -EIO when it refuses
 * (an empty reply: qemu-storage-daemon refuses more bytes than its config
 * space has); -ETIMEDOUT (the late reply is dropped); -ENOTCONN when the
 * back-end is gone; -EPROTO for a reply whose size, offset or length is
 * not the one asked for, or any other protocol error (the device is
 * disconnected). @buf is written only on success.
 */
int gmem_vu_get_config(struct gmem_vu_dev *d, uint32_t offset, void *buf,
		       uint32_t len);

/*
 * gmem_vu_kick - tell the back-end that ring @index has new buffers.
 * Return: 0; -EINVAL for NULL or a ring not set up (or stopped);
 * -ENOTCONN when the back-end is gone.
 */
int gmem_vu_kick(struct gmem_vu_dev *d, unsigned int index);

/*
 * gmem_vu_sync - after a timeout: wait (up to the ack timeout) for the
 * late acknowledgement (or reply, which is dropped) and bring the
 * back-end's table back to the runs the device may use. gmem_vu_kick()
 * does the same, best effort, before it kicks.
 * Return: 0 (in step); -ETIMEDOUT (still no ack: call again); -ENOTCONN
 * when the back-end is gone (or broke the protocol before); -EPROTO when
 * it breaks the protocol now; -EIO for a refusal; -EINVAL for NULL.
 */
int gmem_vu_sync(struct gmem_vu_dev *d);

/*
 * gmem_vu_call_fd - the eventfd the back-end signals for ring @index
 * (owned by the device; read or poll it, do not close it).
 * Return: the fd; -EINVAL for NULL or a ring not set up.
 */
int gmem_vu_call_fd(struct gmem_vu_dev *d, unsigned int index);

struct gmem_vu_info {
	uint64_t features;		/* negotiated */
	uint64_t protocol_features;	/* negotiated */
	uint32_t max_regions;		/* the back-end's table limit */
	uint32_t regions;		/* regions in the back-end's table */
	uint32_t connected;		/* 1 until the back-end is gone */
	uint32_t mem_slots;		/* 1: ADD/REM_MEM_REG, 0: tables */
	uint64_t messages;		/* table messages sent so far */
	uint64_t timeouts;		/* acks not received in time */
	uint64_t nacks;			/* refusals */
	uint64_t protocol_offered;	/* what the back-end offered */
	/* 1: the back-end broke the protocol (connected is 0 then) */
	uint32_t protocol_error;
	uint32_t reserved32;
};

/* gmem_vu_info - a snapshot of @d. Return: 0; -EINVAL for NULL. */
int gmem_vu_info(struct gmem_vu_dev *d, struct gmem_vu_info *info);

struct gmem_vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;		/* file offset (mmap_offset) */
	struct gmem_file *file;
};

/*
 * gmem_vu_table - the back-end's memory table as acknowledged, sorted by
 * gpa: up to @max regions into @r. Empty once the back-end is gone; the
 * last acknowledged one if it broke the protocol (it may hold more: see
 * gmem_vu_exposure()).
 * Return: the number of regions (which may exceed @max); -EINVAL for NULL
 * @d, or NULL @r with @max > 0.
 */
int gmem_vu_table(struct gmem_vu_dev *d, struct gmem_vu_region *r,
		  unsigned int max);

/*
 * gmem_vu_exposure - bytes of private memory the back-end can reach.
 * Back-ends map a region's fd from offset 0 up to mmap_offset + size, so
 * for every file the device maps this counts the private bytes in
 * [0, highest region end) of that file, whatever lies in the table. A DMA
 * pool in a guest-memory file of its own that stays shared (a bounce
 * pool) has exposure 0. A message whose ack is missing counts as
 * applied; after a protocol error, every table the back-end held or was
 * sent counts (see the top of this file). Under kernel enforcement
 * (gmem_vm_private_mirrored()) private pages cannot be reached through
 * any mapping, and the count says what would be exposed without it.
 * Must not be called from a listener callback.
 * Return: 0 and *@bytes; -EINVAL for NULL; gmem_get_run()'s errors.
 */
int gmem_vu_exposure(struct gmem_vu_dev *d, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* GMEM_VHOST_USER_H */
