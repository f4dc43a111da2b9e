// SPDX-License-Identifier: MIT
/*
 * Listeners, re-entry: every call include/gmem.h allows inside a callback,
 * made from inside every kind of callback (map and unmap of conversions
 * both ways and by every entry point, a punch's unmap and map, in-place
 * population, replay, the forced unmaps of gmem_unlisten(), gmem_close()
 * and of rollbacks, release), with its pins in the 8 MiB chunk of the
 * state map that the conversion in progress changes; and every call the
 * header does not allow there, which must return -EDEADLK and change
 * nothing. A table, layouts x kinds x calls (the refused calls on one
 * layout): each cell runs on fresh files and is checked page by page
 * against a model through gmem_get_run(), pin counts exactly (every model
 * pin is dropped at the end, then none may be left).
 *
 * Issue 18: pages 0-3 pinned twice, 4-7 private, 5-6 converted to shared,
 * the map callback unpins page 1: abort in gm_sm_take_block() (the layout
 * "issue 18", kind "to shared, map", call "unpin").
 */
#include <stdbool.h>

#include "lib-util.h"

#define NPF	2560		/* pages of the file: chunk 0 and part of 1 */
#define NPG_G	16		/* pages of the second file of the VM */
#define GPA	0x100000000ULL
#define GPA_G	0x200000000ULL
#define GPA_X	0x300000000ULL	/* where no memslot is */
#define PRIV	GMEM_ATTR_PRIVATE
#define KEEP	GMEM_CONVERT_PRESERVE

/* Pages every layout leaves alone: shared, unpinned, not converted. */
#define PG_W	40		/* written from the callback */
#define PG_R	41		/* read from the callback (seeded) */
#define PG_FREE	42		/* target of the refused calls */
#define PG_U	1		/* unpinned from the callback: >= 2 pins */

enum cbt { CB_MAP, CB_UNMAP, CB_FORCED, CB_RELEASE };

struct model {
	uint8_t priv[NPF];
	uint8_t pop[NPF];
	uint32_t pins[NPF];
	unsigned int listeners;	/* device listeners, all over the file */
};

struct layout {
	const char *name;
	void (*build)(void);
	uint64_t shared[2];	/* pages [a, b) converted to shared */
	uint64_t priv[2];	/* pages [a, b) converted to private */
	uint64_t punch[2];	/* pages [a, b) punched */
	uint64_t pop;		/* page populated in place */
	uint64_t priv_pg;	/* a private page no event touches */
};

struct kind {
	const char *name;
	enum cbt cb;		/* the callback the call is made from */
	int refuser;		/* -1 registered before the listener, 1 after */
	bool listen_event;	/* registering the listener is the event */
	bool fail_replay;	/* its second replayed map fails */
	bool closes;		/* the event closes the file */
	int split;		/* memslot 0 ends, and 2 begins, in the middle
				 * of the range to shared (1), to private (2) */
	long (*run)(void);
	long want;
	void (*effect)(void);	/* on the model, when the event worked */
};

/* Sentinels for results that depend on the VM or the kind. */
#define W_ACCESS	1000	/* 0; -EFAULT once the file left its memslot */
#define W_BACKING	1001
#define W_VMFD		1002
#define W_MIRRORED	1003
#define W_FD		1004	/* a new fd */

struct action {
	const char *name;
	long (*fn)(void);
	long want;
	void (*effect)(void);	/* on the model, when the call worked */
	void (*check)(void);	/* after the event, file still open */
};

static struct {
	struct gmem_vm *vm, *vb;
	struct gmem_file *f, *g, *fb;
	struct gmem_listener *l1, *lref;
	const struct layout *lay;
	const struct kind *k;
	const struct action *a;
	bool armed, refuse;
	unsigned int fired, replayed;
	unsigned int callbacks, not_in_cb;	/* gmem_in_callback() != 1 */
	long got;
	uint8_t *lmap;		/* a gmem_map() of the file's first 64 pages */
	void *out;		/* what a refused constructor handed out */
	int backing, vmfd, mirrored;
	struct model m;
} T;

static uint8_t plain[PG] __attribute__((aligned(4096)));

/* The cell running, for a failure's message (TEST_FAIL exits, abort). */
static char where[160];

static void say_where(void)
{
	if (where[0])
		fprintf(stderr, "in cell: %s\n", where);
}

static void on_fatal(int sig)
{
	static const char pre[] = "in cell: ";

	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, where, strlen(where)) < 0 || write(2, "\n", 1) < 0)
		sig = SIGABRT;
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- the model ---- */

static void model_check(const char *when)
{
	uint64_t p = 0;

	while (p < NPF) {
		struct gmem_run run;
		uint64_t end;

		TEST_RET(gmem_get_run(T.f, p * PG, &run), 0);
		TEST_ASSERT(run.len && !(run.len % PG), "run %#llx",
			    (unsigned long long)run.len);
		end = p + run.len / PG;
		for (; p < end; p++) {
			bool priv = run.flags & GMEM_RUN_PRIVATE;
			bool pin = run.flags & GMEM_RUN_PINNED;
			bool pop = run.flags & GMEM_RUN_POPULATED;

			TEST_ASSERT(priv == T.m.priv[p] &&
				    pin == !!T.m.pins[p] &&
				    pop == T.m.pop[p] &&
				    run.listeners == T.m.listeners,
				    "%s: page %llu is priv %d pin %d pop %d "
				    "listeners %u, want %d %d %d %u", when,
				    (unsigned long long)p, priv, pin, pop,
				    run.listeners, T.m.priv[p], !!T.m.pins[p],
				    T.m.pop[p], T.m.listeners);
		}
	}
}

static void set_priv(uint64_t a, uint64_t b, int priv)
{
	convert(T.f, a * PG, (b - a) * PG, priv ? PRIV : 0, KEEP);
	memset(T.m.priv + a, priv, b - a);
}

static void pin_page(uint64_t p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		TEST_RET(gmem_pin(T.f, p * PG, PG), 0);
	T.m.pins[p] += n;
}

/* ---- layouts: chunk 0 of the state map as the conversion finds it ---- */

/* Issue 18's: a chunk of ranges one value change short of going dense. */
static void build_issue(void)
{
	for (uint64_t p = 0; p < 4; p++)
		pin_page(p, 2);
	set_priv(4, 8, 1);
}

/*
 * A dense chunk: 64 private runs in it, pages 0-15 pinned one to three
 * times (so the palette holds pin counts), all in chunk 0.
 */
static void build_dense(void)
{
	for (uint64_t p = 64; p < 576; p += 8)
		set_priv(p, p + 4, 1);
	for (uint64_t p = 0; p < 16; p++)
		pin_page(p, p % 3 + 1 + (p == PG_U));
}

/*
 * A dense chunk whose palette the callback fills: pages 0-11 pinned 20
 * times, and private runs allocated, those of the range that becomes
 * shared and one after it, so that the conversion adds a value (ALLOC,
 * from PRIVATE|ALLOC) and keeps the old one. Unpins to new counts from a
 * callback fill the palette just before the conversion needs one more.
 */
static void build_palette(void)
{
	for (uint64_t p = 64; p < 576; p += 8)
		set_priv(p, p + 4, 1);
	for (unsigned int i = 0; i < 20; i++)
		TEST_RET(gmem_pin(T.f, 0, 12 * PG), 0);
	for (uint64_t p = 0; p < 12; p++)
		T.m.pins[p] = 20;
	for (uint64_t p = 200; p < 224; p += 8)
		TEST_RET(gmem_fallocate(T.f, GMEM_FALLOC_KEEP_SIZE, p * PG,
					4 * PG), 0);
}

#define DENIED_LAYOUT	1	/* "dense chunk": where the refused calls run */

static const struct layout layouts[] = {
	{ "issue 18", build_issue, { 5, 7 }, { 9, 11 }, { 8, 16 }, 12, 4 },
	{ "dense chunk", build_dense, { 200, 216 }, { 204, 220 },
	  { 200, 216 }, 204, 64 },
	{ "full palette", build_palette, { 200, 216 }, { 204, 220 },
	  { 200, 216 }, 204, 64 },
};

/* ---- callbacks ---- */

static void fire(enum cbt t)
{
	T.callbacks++;
	T.not_in_cb += gmem_in_callback() != 1;
	if (!T.armed || t != T.k->cb || T.fired)
		return;
	T.fired++;
	T.got = T.a->fn();
}

static int l1_map(void *o, uint64_t off, uint64_t len)
{
	(void)o, (void)off, (void)len;
	if (T.armed && T.k->fail_replay && ++T.replayed == 2)
		return -EBUSY;
	fire(CB_MAP);
	return 0;
}

static int l1_unmap(void *o, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)o, (void)off, (void)len;
	fire(fl & GMEM_UNMAP_FORCED ? CB_FORCED : CB_UNMAP);
	return 0;
}

static void l1_release(void *o)
{
	(void)o;
	fire(CB_RELEASE);
}

static int ref_map(void *o, uint64_t off, uint64_t len)
{
	(void)o, (void)off, (void)len;
	return T.refuse ? -EBUSY : 0;
}

static int ref_unmap(void *o, uint64_t off, uint64_t len, uint32_t fl)
{
	(void)o, (void)off, (void)len;
	return T.refuse && !(fl & GMEM_UNMAP_FORCED) ? -EBUSY : 0;
}

static const struct gmem_listener_config l1_cfg = {
	.offset = 0, .len = NPF * PG, .map = l1_map, .unmap = l1_unmap,
	.release = l1_release,
};

static const struct gmem_listener_config ref_cfg = {
	.offset = 0, .len = NPF * PG, .map = ref_map, .unmap = ref_unmap,
};

/* ---- the events ---- */

static uint64_t rlen(const uint64_t r[2])
{
	return (r[1] - r[0]) * PG;
}

static long ev_shared_file(void)
{
	return gmem_set_attributes(T.f, T.lay->shared[0] * PG,
				   rlen(T.lay->shared), 0, KEEP, NULL);
}

static long ev_shared_gpa(void)
{
	return gmem_vm_set_attributes(T.vm, GPA + T.lay->shared[0] * PG,
				      rlen(T.lay->shared), 0, KEEP, NULL);
}

static long ev_shared_mgr(void)
{
	return gmem_vm_convert(T.vm, GPA + T.lay->shared[0] * PG,
			       rlen(T.lay->shared), 0, NULL);
}

static long ev_priv_file(void)
{
	return gmem_set_attributes(T.f, T.lay->priv[0] * PG,
				   rlen(T.lay->priv), PRIV, KEEP, NULL);
}

static long ev_priv_gpa(void)
{
	return gmem_vm_set_attributes(T.vm, GPA + T.lay->priv[0] * PG,
				      rlen(T.lay->priv), PRIV, KEEP, NULL);
}

static long ev_priv_mgr(void)
{
	return gmem_vm_convert(T.vm, GPA + T.lay->priv[0] * PG,
			       rlen(T.lay->priv), PRIV, NULL);
}

static long ev_punch(void)
{
	return gmem_fallocate(T.f, GMEM_FALLOC_KEEP_SIZE |
			      GMEM_FALLOC_PUNCH_HOLE, T.lay->punch[0] * PG,
			      rlen(T.lay->punch));
}

static long ev_populate(void)
{
	return gmem_vm_populate(T.vm, GPA + T.lay->pop * PG, NULL, 1,
				GMEM_POPULATE_NORMAL);
}

static long ev_listen(void)
{
	return gmem_listen(T.f, &l1_cfg, &T.l1);
}

static long ev_unlisten(void)
{
	long r = gmem_unlisten(T.f, T.l1);

	if (!r)
		T.l1 = NULL;
	return r;
}

static long ev_close(void)
{
	long r = gmem_close(T.f);

	if (!r)
		T.f = NULL;
	return r;
}

static void fx_shared(void)
{
	memset(T.m.priv + T.lay->shared[0], 0, T.lay->shared[1] -
	       T.lay->shared[0]);
}

static void fx_priv(void)
{
	memset(T.m.priv + T.lay->priv[0], 1, T.lay->priv[1] - T.lay->priv[0]);
}

static void fx_punch(void)
{
	memset(T.m.pop + T.lay->punch[0], 0, T.lay->punch[1] -
	       T.lay->punch[0]);
}

static void fx_populate(void)
{
	T.m.priv[T.lay->pop] = 1;
	T.m.pop[T.lay->pop] = 1;
}

static void fx_listen(void)
{
	T.m.listeners++;
}

static void fx_unlisten(void)
{
	T.m.listeners--;
}

#define KIND(n, c, ev, w, fx)	.name = n, .cb = c, .run = ev, .want = w, \
				.effect = fx

static const struct kind kinds[] = {
	{ KIND("to shared, map", CB_MAP, ev_shared_file, 0, fx_shared) },
	{ KIND("to shared by gpa, map", CB_MAP, ev_shared_gpa, 0,
	       fx_shared) },
	{ KIND("to shared by the manager, map", CB_MAP, ev_shared_mgr, 0,
	       fx_shared) },
	/* Two pieces of one file in one chunk: one reservation for both. */
	{ KIND("to shared over two memslots, map", CB_MAP, ev_shared_gpa, 0,
	       fx_shared), .split = 1 },
	{ KIND("to private, unmap", CB_UNMAP, ev_priv_file, 0, fx_priv) },
	{ KIND("to private by gpa, unmap", CB_UNMAP, ev_priv_gpa, 0,
	       fx_priv) },
	{ KIND("to private by the manager, unmap", CB_UNMAP, ev_priv_mgr, 0,
	       fx_priv) },
	{ KIND("to private over two memslots, unmap", CB_UNMAP, ev_priv_gpa,
	       0, fx_priv), .split = 2 },
	{ KIND("punch, unmap", CB_UNMAP, ev_punch, 0, fx_punch) },
	{ KIND("punch, map", CB_MAP, ev_punch, 0, fx_punch) },
	{ KIND("populate in place, unmap", CB_UNMAP, ev_populate, 1,
	       fx_populate) },
	/* The undo of a refused conversion: map in reverse order. */
	{ KIND("to shared refused, forced unmap", CB_FORCED, ev_shared_file,
	       -EBUSY, NULL), .refuser = -1 },
	{ KIND("to private refused, map", CB_MAP, ev_priv_file, -EBUSY,
	       NULL), .refuser = 1 },
	{ KIND("listen, replayed map", CB_MAP, ev_listen, 0, fx_listen),
	  .listen_event = true },
	{ KIND("listen refused, forced unmap", CB_FORCED, ev_listen, -EBUSY,
	       NULL), .listen_event = true, .fail_replay = true },
	{ KIND("unlisten, forced unmap", CB_FORCED, ev_unlisten, 0,
	       fx_unlisten) },
	{ KIND("unlisten, release", CB_RELEASE, ev_unlisten, 0,
	       fx_unlisten) },
	{ KIND("close, forced unmap", CB_FORCED, ev_close, 0, NULL),
	  .closes = true },
	{ KIND("close, release", CB_RELEASE, ev_close, 0, NULL),
	  .closes = true },
};

/* ---- the calls made from inside ---- */

static long a_read(void)
{
	static uint8_t buf[PG];
	long r = gmem_vm_read(T.vm, GPA + PG_R * PG, buf, PG, NULL);

	if (!r)
		TEST_ASSERT(check_pattern(buf, PG, PG_R) < 0,
			    "read from a callback: wrong bytes");
	return r;
}

static long a_write(void)
{
	static uint8_t buf[PG];

	fill(buf, PG, 500);
	return gmem_vm_write(T.vm, GPA + PG_W * PG, buf, PG, NULL);
}

static void ck_write(void)
{
	static uint8_t buf[PG];

	if (!T.f)
		return;		/* closed by the event */
	TEST_RET(gmem_vm_read(T.vm, GPA + PG_W * PG, buf, PG, NULL), 0);
	TEST_ASSERT(check_pattern(buf, PG, 500) < 0,
		    "the callback's write did not land");
}

static long a_read_private(void)
{
	static uint8_t buf[PG];

	return gmem_vm_read(T.vm, GPA + T.lay->priv_pg * PG, buf, PG, NULL);
}

static long a_get_attributes(void)
{
	uint64_t a = 0, run = 0;
	long r = gmem_get_attributes(T.f, T.lay->priv_pg * PG, &a, &run);

	if (!r)
		TEST_ASSERT(a == PRIV && run, "attributes %#llx run %#llx",
			    (unsigned long long)a, (unsigned long long)run);
	return r;
}

static long a_get_run(void)
{
	struct gmem_run run;
	long r = gmem_get_run(T.f, PG_U * PG, &run);

	if (!r)
		TEST_ASSERT(run.flags & GMEM_RUN_PINNED, "run flags %#llx",
			    (unsigned long long)run.flags);
	return r;
}

static long a_stat(void)
{
	struct gmem_stat st;
	long r = gmem_stat(T.f, &st);

	if (!r)
		TEST_ASSERT(st.size == NPF * PG && st.pinned &&
			    st.private_bytes,
			    "stat: size %#llx pinned %#llx private %#llx",
			    (unsigned long long)st.size,
			    (unsigned long long)st.pinned,
			    (unsigned long long)st.private_bytes);
	return r;
}

static long a_backing(void)
{
	return gmem_backing(T.f);
}

static long a_get_region(void)
{
	struct gmem_region r;
	long ret = gmem_vm_get_region(T.vm, GPA, &r);

	if (!ret)
		TEST_ASSERT(r.slot == 0 && r.gpa == GPA, "region %u at %#llx",
			    r.slot, (unsigned long long)r.gpa);
	return ret;
}

static long a_export_fd(void)
{
	int fd = gmem_export_fd(T.f);

	if (fd >= 0)
		close(fd);
	return fd;
}

static long a_vm_fd(void)
{
	return gmem_vm_fd(T.vm);
}

static long a_mirrored(void)
{
	return gmem_vm_private_mirrored(T.vm);
}

static long a_unpin(void)
{
	return gmem_unpin(T.f, PG_U * PG, PG);
}

static void fx_unpin(void)
{
	T.m.pins[PG_U]--;
}

/*
 * Several unpins in one callback, each its own state-map change: page p of
 * 1-4 loses p pins (fewer where it has fewer, keeping one), so the pin
 * counts it leaves are new values in the chunk.
 */
static uint32_t several(uint64_t p)
{
	uint32_t have = T.m.pins[p];

	return !have ? 0 : have - 1 < p ? have - 1 : (uint32_t)p;
}

static long a_unpin_several(void)
{
	long r = 0;

	for (uint64_t p = 1; p <= 4 && !r; p++)
		for (uint32_t i = 0; i < several(p) && !r; i++)
			r = gmem_unpin(T.f, p * PG, PG);
	return r;
}

static void fx_unpin_several(void)
{
	for (uint64_t p = 1; p <= 4; p++)
		T.m.pins[p] -= several(p);
}

static long a_unpin_unpinned(void)
{
	return gmem_unpin(T.f, PG_FREE * PG, PG);
}

/* The VM's other file: its lock is not the caller's. */
static long a_unpin_other_file(void)
{
	return gmem_unpin(T.g, 0, PG);
}

static long a_query_other_file(void)
{
	uint64_t a, run;

	return gmem_get_attributes(T.g, 0, &a, &run);
}

/* Another VM's file: none of its locks is held, so everything works. */
static long a_pin_other_vm(void)
{
	return gmem_pin(T.fb, 0, PG);
}

static void ck_pin_other_vm(void)
{
	TEST_RET(gmem_unpin(T.fb, 0, PG), 0);
	TEST_RET(gmem_unpin(T.fb, 0, PG), -EINVAL);
}

static long a_convert_other_vm(void)
{
	return gmem_set_attributes(T.fb, PG, PG, PRIV, KEEP, NULL);
}

static void ck_convert_other_vm(void)
{
	TEST_ASSERT(attrs_at(T.fb, PG, NULL) == PRIV, "other VM not converted");
	convert(T.fb, PG, PG, 0, KEEP);
}

/* Refused: -EDEADLK, and the model (checked after the event) unchanged. */
static long a_pin(void)
{
	return gmem_pin(T.f, PG_FREE * PG, PG);
}

static long a_set_attributes(void)
{
	return gmem_set_attributes(T.f, PG_FREE * PG, PG, PRIV, KEEP, NULL);
}

static long a_vm_set_attributes(void)
{
	return gmem_vm_set_attributes(T.vm, GPA + PG_FREE * PG, PG, PRIV,
				      KEEP, NULL);
}

static long a_vm_convert(void)
{
	return gmem_vm_convert(T.vm, GPA + PG_FREE * PG, PG, PRIV, NULL);
}

static long a_allocate(void)
{
	return gmem_fallocate(T.f, GMEM_FALLOC_KEEP_SIZE, PG_FREE * PG, PG);
}

static long a_punch(void)
{
	return gmem_fallocate(T.f, GMEM_FALLOC_KEEP_SIZE |
			      GMEM_FALLOC_PUNCH_HOLE, PG_R * PG, PG);
}

static long a_map(void)
{
	return gmem_map(T.f, 0, PG, PROT_READ, &T.out);
}

static long a_unmap(void)
{
	return gmem_unmap(T.f, T.lmap, 64 * PG);
}

static long a_listen(void)
{
	return gmem_listen(T.f, &ref_cfg, (struct gmem_listener **)&T.out);
}

static long a_unlisten(void)
{
	return gmem_unlisten(T.f, T.l1 ? T.l1 : T.lref);
}

static long a_close(void)
{
	return gmem_close(T.f);
}

static long a_create(void)
{
	return gmem_create(T.vm, PG, 0, (struct gmem_file **)&T.out);
}

static long a_set_region(void)
{
	struct gmem_region r = {
		.slot = 9, .gpa = GPA_X, .size = PG, .host_addr = plain,
	};

	return gmem_vm_set_region(T.vm, &r);
}

static long a_delete_region(void)
{
	return del_slot(T.vm, 1);
}

static void ck_regions(void)
{
	struct gmem_region r;

	TEST_RET(gmem_vm_get_region(T.vm, GPA_G, &r), 0);
	TEST_ASSERT(r.slot == 1 && r.gpa == GPA_G, "slot 1 gone");
	TEST_RET(gmem_vm_get_region(T.vm, GPA_X, &r), -ENOENT);
}

static long a_populate(void)
{
	return gmem_vm_populate(T.vm, GPA + T.lay->priv_pg * PG, plain, 1,
				GMEM_POPULATE_NORMAL);
}

static long a_launch_finish(void)
{
	uint8_t d[32];

	return gmem_vm_launch_finish(T.vm, d);
}

static long a_set_policy(void)
{
	return gmem_vm_set_policy(T.vm, GPA, PG, GMEM_CONVERT_ZERO);
}

static const struct action actions[] = {
	/* What the header allows (checks run even after a close). */
	{ "read", a_read, W_ACCESS, NULL, NULL },
	{ "write", a_write, W_ACCESS, NULL, ck_write },
	{ "read a private page", a_read_private, -EFAULT, NULL, NULL },
	{ "get_attributes", a_get_attributes, 0, NULL, NULL },
	{ "get_run", a_get_run, 0, NULL, NULL },
	{ "stat", a_stat, 0, NULL, NULL },
	{ "backing", a_backing, W_BACKING, NULL, NULL },
	{ "vm_get_region", a_get_region, 0, NULL, NULL },
	{ "export_fd", a_export_fd, W_FD, NULL, NULL },
	{ "vm_fd", a_vm_fd, W_VMFD, NULL, NULL },
	{ "private_mirrored", a_mirrored, W_MIRRORED, NULL, NULL },
	{ "unpin", a_unpin, 0, fx_unpin, NULL },
	{ "unpin pages 1-4 to new counts", a_unpin_several, 0,
	  fx_unpin_several, NULL },
	{ "unpin an unpinned page", a_unpin_unpinned, -EINVAL, NULL, NULL },
	{ "pin another VM's file", a_pin_other_vm, 0, NULL,
	  ck_pin_other_vm },
	{ "convert another VM's file", a_convert_other_vm, 0, NULL,
	  ck_convert_other_vm },
	/* What it does not: the lock is not the caller's, or not for that. */
	{ "unpin the VM's other file", a_unpin_other_file, -EDEADLK, NULL,
	  NULL },
	{ "query the VM's other file", a_query_other_file, -EDEADLK, NULL,
	  NULL },
	{ "pin", a_pin, -EDEADLK, NULL, NULL },
	{ "set_attributes", a_set_attributes, -EDEADLK, NULL, NULL },
	{ "vm_set_attributes", a_vm_set_attributes, -EDEADLK, NULL, NULL },
	{ "vm_convert", a_vm_convert, -EDEADLK, NULL, NULL },
	{ "fallocate", a_allocate, -EDEADLK, NULL, NULL },
	{ "punch", a_punch, -EDEADLK, NULL, NULL },
	{ "map", a_map, -EDEADLK, NULL, NULL },
	{ "unmap", a_unmap, -EDEADLK, NULL, NULL },
	{ "listen", a_listen, -EDEADLK, NULL, NULL },
	{ "unlisten", a_unlisten, -EDEADLK, NULL, NULL },
	{ "close", a_close, -EDEADLK, NULL, NULL },
	{ "create", a_create, -EDEADLK, NULL, NULL },
	{ "vm_set_region", a_set_region, -EDEADLK, NULL, ck_regions },
	{ "vm_set_region (delete)", a_delete_region, -EDEADLK, NULL,
	  ck_regions },
	{ "vm_populate", a_populate, -EDEADLK, NULL, NULL },
	{ "vm_launch_finish", a_launch_finish, -EDEADLK, NULL, NULL },
	{ "vm_set_policy", a_set_policy, -EDEADLK, NULL, NULL },
};

/* ---- one cell ---- */

static void setup(void)
{
	static uint8_t buf[PG];

	memset(&T.m, 0, sizeof(T.m));
	T.f = new_file(T.vm, NPF * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
		       GMEM_FLAG_EXPORT);
	T.g = new_file(T.vm, NPG_G * PG, GMEM_FLAG_INIT_SHARED);
	if (T.k->split) {
		const uint64_t *r = T.k->split == 1 ? T.lay->shared :
				    T.lay->priv;
		uint64_t mid = (r[0] + r[1]) / 2;

		TEST_RET(set_slot(T.vm, 0, GPA, mid * PG, T.f, 0), 0);
		TEST_RET(set_slot(T.vm, 2, GPA + mid * PG, (NPF - mid) * PG,
				  T.f, mid * PG), 0);
	} else {
		TEST_RET(set_slot(T.vm, 0, GPA, NPF * PG, T.f, 0), 0);
	}
	TEST_RET(set_slot(T.vm, 1, GPA_G, NPG_G * PG, T.g, 0), 0);
	TEST_RET(gmem_pin(T.g, 0, PG), 0);
	fill(buf, PG, PG_R);
	TEST_RET(gmem_vm_write(T.vm, GPA + PG_R * PG, buf, PG, NULL), 0);
	T.lay->build();
	/* A host mapping over the pins and the layout: revoked and restored. */
	TEST_RET(gmem_map(T.f, 0, 64 * PG, PROT_READ | PROT_WRITE,
			  (void **)&T.lmap), 0);
	T.l1 = T.lref = NULL;
	T.out = NULL;
	if (T.k->refuser < 0)
		TEST_RET(gmem_listen(T.f, &ref_cfg, &T.lref), 0);
	if (!T.k->listen_event)
		TEST_RET(gmem_listen(T.f, &l1_cfg, &T.l1), 0);
	if (T.k->refuser > 0)
		TEST_RET(gmem_listen(T.f, &ref_cfg, &T.lref), 0);
	T.m.listeners = !!T.l1 + !!T.lref;
	model_check("before the event");
}

static void teardown(void)
{
	struct gmem_stat st;

	if (T.f) {
		if (T.l1)
			TEST_RET(gmem_unlisten(T.f, T.l1), 0);
		if (T.lref)
			TEST_RET(gmem_unlisten(T.f, T.lref), 0);
		TEST_RET(gmem_unmap(T.f, T.lmap, 64 * PG), 0);
		for (uint64_t p = 0; p < NPF; p++)
			for (uint32_t i = 0; i < T.m.pins[p]; i++)
				TEST_RET(gmem_unpin(T.f, p * PG, PG), 0);
		TEST_RET(gmem_stat(T.f, &st), 0);
		TEST_ASSERT(!st.pinned, "%llu pinned bytes the model does not "
			    "have", (unsigned long long)st.pinned);
		TEST_RET(gmem_close(T.f), 0);
	}
	TEST_RET(del_slot(T.vm, 0), 0);
	TEST_RET(del_slot(T.vm, 1), 0);
	if (T.k->split)
		TEST_RET(del_slot(T.vm, 2), 0);
	TEST_RET(gmem_unpin(T.g, 0, PG), 0);
	TEST_RET(gmem_close(T.g), 0);
}

static long want_of(const struct action *a)
{
	switch (a->want) {
	case W_ACCESS:
		return T.k->closes ? -EFAULT : 0;
	case W_BACKING:
		return T.backing;
	case W_VMFD:
		return T.vmfd;
	case W_MIRRORED:
		return T.mirrored;
	default:
		return a->want;
	}
}

static void cell(void)
{
	long r, want = want_of(T.a);

	setup();
	T.armed = true;
	T.refuse = T.k->refuser != 0;
	T.fired = T.replayed = 0;
	T.got = 0x7fff;
	r = T.k->run();
	T.armed = T.refuse = false;
	TEST_ASSERT(T.fired == 1, "the callback was not called (%u)", T.fired);
	if (T.a->want == W_FD)
		TEST_ASSERT(T.got >= 0, "%s: %ld", T.a->name, T.got);
	else
		TEST_ASSERT(T.got == want, "%s returned %ld (%s), want %ld",
			    T.a->name, T.got, strerror((int)-T.got), want);
	TEST_ASSERT(!T.out, "%s handed out %p", T.a->name, T.out);
	TEST_ASSERT(r == T.k->want, "the event returned %ld (%s), want %ld",
		    r, strerror((int)-r), T.k->want);
	if (T.k->effect)
		T.k->effect();
	if (T.a->effect)
		T.a->effect();
	if (T.f)
		model_check("after the event");
	if (T.a->check)
		T.a->check();
	teardown();
}

static void body(struct gmem_vm *vm, int kvm)
{
	unsigned int n = 0;

	(void)kvm;
	memset(&T, 0, sizeof(T));
	T.vm = vm;
	T.backing = expected_backing(vm);
	T.vmfd = gmem_vm_fd(vm);
	T.mirrored = gmem_vm_private_mirrored(vm);
	TEST_RET(gmem_vm_create(NULL, &T.vb), 0);
	T.fb = new_file(T.vb, 4 * PG, GMEM_FLAG_INIT_SHARED);
	for (unsigned int l = 0; l < ARRAY_SIZE(layouts); l++) {
		for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
			for (unsigned int a = 0; a < ARRAY_SIZE(actions); a++) {
				/*
				 * A refused call must change nothing whatever
				 * the layout: one (dense) is enough for it.
				 */
				if (actions[a].want == -EDEADLK &&
				    l != DENIED_LAYOUT)
					continue;
				T.lay = &layouts[l];
				T.k = &kinds[k];
				T.a = &actions[a];
				snprintf(where, sizeof(where), "%s, %s, %s",
					 T.lay->name, T.k->name, T.a->name);
				alarm(60);
				cell();
				alarm(0);
				where[0] = 0;
				n++;
			}
		}
	}
	fprintf(stderr, "%u cells\n", n);
	TEST_ASSERT(T.callbacks && !T.not_in_cb,
		    "gmem_in_callback() was not 1 in %u of %u callbacks",
		    T.not_in_cb, T.callbacks);
	TEST_ASSERT(gmem_in_callback() == 0, "gmem_in_callback() outside");
	TEST_RET(gmem_close(T.fb), 0);
	gmem_vm_put(T.vb);
}

int main(void)
{
	atexit(say_where);
	signal(SIGABRT, on_fatal);
	signal(SIGSEGV, on_fatal);
	signal(SIGALRM, on_fatal);	/* a call hangs, not -EDEADLK */
	return run_on_both("listener_reentry", body) ? KSFT_SKIP : KSFT_PASS;
}
