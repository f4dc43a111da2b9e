/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's reference model of libgmem: what every open file, memslot
 * and mapping should look like, page by page, after each call.
 *
 * The model is deliberately naive (arrays of pages, full copies of the
 * contents) so that it is obviously right; the library keeps ranges.
 */
#ifndef FZ_MODEL_H
#define FZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#define FZ_PAGE		GMEM_PAGE_SIZE
#define FZ_USER_TOP	((1ULL << 56) - FZ_PAGE)	/* gmem.h: plain slots end below */
#define FZ_VMS		2	/* [0] detached (memfd), [1] KVM (guest_memfd) */
#define FZ_FILES	4
#define FZ_SLOTS	12	/* slot ids 0..FZ_SLOTS-1 are modelled */
#define FZ_MAPS		8
#define FZ_HOST_PAGES	16	/* plain host memory per VM */
#define FZ_HOLE_PAGES	FZ_HOST_PAGES	/* unmapped address space per VM */
#define FZ_SMALL_PAGES	64	/* files this small are fully checked per step */
#define FZ_POLICIES	32	/* gmem_vm_set_policy() calls modelled per VM */
#define FZ_LISTENERS	4

/*
 * Limits include/gmem.h states. With FZ_SLOTS memslots per VM, no range
 * crosses more than FZ_SLOTS of them: the piece limits are modelled but
 * not reached here.
 */
#define FZ_SLOT_ID_LIMIT	32764	/* struct gmem_region.slot: "< 32764" */
#define FZ_CONVERT_PIECES	64	/* a conversion: "more than 64 memslots" */
#define FZ_ACCESS_PIECES	16	/* gmem_vm_read/write: "more than 16" */

/* FZ_SLOT_HOLE: plain memory over the VM's hole, which nothing maps */
enum fz_slot_kind {
	FZ_SLOT_NONE, FZ_SLOT_FILE, FZ_SLOT_HOST, FZ_SLOT_DEAD, FZ_SLOT_HOLE
};

struct fz_slot {
	enum fz_slot_kind kind;
	uint64_t gpa;
	uint64_t size;
	int file;		/* FZ_SLOT_FILE: index into fz.file */
	uint64_t offset;	/* file offset; host or hole offset */
};

/* One successful gmem_vm_set_policy(): later entries override earlier. */
struct fz_policy {
	uint64_t gpa;
	uint64_t end;		/* exclusive; gpa < end, no wrap */
	uint64_t mode;
};

struct fz_vm {
	struct gmem_vm *vm;
	uint64_t modes;		/* content modes the VM accepts */
	struct fz_slot slot[FZ_SLOTS];
	struct fz_policy policy[FZ_POLICIES];
	int npolicy;
	uint8_t *host;		/* plain memory handed to FZ_SLOT_HOST slots */
	uint8_t *host_model;	/* what it should contain */
	/*
	 * Address space left unmapped for FZ_SLOT_HOLE slots: the library must
	 * never place a mapping there while a slot points at it, and an
	 * access through such a slot is -EFAULT (GMEM_FAULT_UNBACKED).
	 */
	uint8_t *hole;
};

struct fz_file {
	struct gmem_file *f;	/* NULL: entry free */
	int vm;
	uint64_t npages;
	uint64_t flags;
	uint8_t *priv;		/* per page */
	uint8_t *alloc;		/* per page: allocated by gmem_fallocate */
	uint32_t *pins;		/* per page */
	uint8_t *data;		/* expected contents, npages pages */
	uint64_t dirty_lo;	/* pages touched since the last check */
	uint64_t dirty_hi;
};

struct fz_map {
	bool used;
	int file;
	uint8_t *addr;
	uint64_t off;
	uint64_t len;
	int prot;
};

/* A device listening on pages [lo, hi) of a file: what it was told. */
struct fz_listener {
	bool used;
	int id;
	int file;
	uint64_t lo;
	uint64_t hi;
	uint8_t *view;		/* per page of the range: held */
	struct gmem_listener *l;
};

struct fz {
	struct fz_vm vm[FZ_VMS];
	struct fz_listener lis[FZ_LISTENERS];
	struct fz_file file[FZ_FILES];
	struct fz_map map[FZ_MAPS];
	unsigned long step;
	const char *op;		/* name of the current step, for reports */
};

/* Input decoding: bytes past the end read as zero. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fz_in_u8(struct fz_in *in);
uint16_t fz_in_u16(struct fz_in *in);

/* Sizes and offsets far past any file, for bad-input cases. */
#define FZ_BIG_VALS	4
extern const uint64_t fz_big_vals[FZ_BIG_VALS];
/* A page range of a file of @npages, sometimes invalid on purpose. */
void fz_rd_range(struct fz_in *in, uint64_t npages, uint64_t *off,
		 uint64_t *len);
/* Whether [off, off + len) is a valid non-empty page range of @size bytes. */
bool fz_range_ok(uint64_t off, uint64_t len, uint64_t size);

/* A failed expectation: prints what and where, then aborts for libFuzzer. */
void fz_fail(struct fz *z, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void fz_expect_ret(struct fz *z, const char *call, long got, long want);
/* With GMEM_FUZZ_TRACE set: print a call's result. */
void fz_trace_ret(const struct fz *z, const char *call, long got);

/* model.c */
void fz_touch(struct fz_file *mf, uint64_t off, uint64_t len);
void fz_file_model_free(struct fz_file *mf);
int fz_file_model_init(struct fz_file *mf, int vm, uint64_t size,
		       uint64_t flags);
int fz_gpa_to_slot(const struct fz_vm *v, uint64_t gpa);
void fz_pattern(uint8_t *buf, size_t len, uint32_t seed);

/* check.c */
void fz_check_all(struct fz *z, bool full);
/* Whether [addr, addr + len) meets a library mapping the model knows. */
bool fz_meets_library(const struct fz *z, const void *addr, uint64_t len);

/* whitebox.c: the library's own mapping of open file @i. */
uint8_t *fz_file_base(const struct fz *z, int i);

#endif /* FZ_MODEL_H */
