// SPDX-License-Identifier: MIT
/*
 * badinput: every public gmem_vu_ call with bad arguments, table-driven,
 * against a real back-end (qemu-storage-daemon): the documented errno,
 * and nothing changed (the back-end's table, buffers the call would fill,
 * the rings, the device still working).
 */
#include <dirent.h>

#include "rig.h"

static char long_path[200];

static const struct {
	const char *name;
	const char *path;
	bool null_out;
	struct gmem_vu_config cfg;
	int want;
} connect_cases[] = {
	{ "NULL path", NULL, false, {}, -EINVAL },
	{ "NULL out", "/nonexistent", true, {}, -EINVAL },
	{ "empty path", "", false, {}, -EINVAL },
	{ "path too long", long_path, false, {}, -EINVAL },
	{ "flags", "/nonexistent", false, { .flags = 1 }, -EINVAL },
	{ "reserved", "/nonexistent", false, { .reserved = { 0, 0, 0, 1 } },
	  -EINVAL },
	{ "no such socket", "/nonexistent/sock", false, {}, -ENOENT },
	{ "not a socket", "/dev/null", false, {}, -ECONNREFUSED },
};

/* The deprecated call: no device unless it succeeds. */
static void bad_connect(void)
{
	struct gmem_vu_dev *d = (void *)&d;
	char err[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(connect_cases); i++) {
		int ret = gmem_vu_connect(connect_cases[i].path,
					  &connect_cases[i].cfg,
					  connect_cases[i].null_out ? NULL : &d,
					  err, sizeof(err));

		TEST_ASSERT(ret == connect_cases[i].want,
			    "connect, %s: %d, want %d", connect_cases[i].name,
			    ret, connect_cases[i].want);
		TEST_ASSERT(d == (void *)&d, "connect, %s: *out written",
			    connect_cases[i].name);
	}
	gmem_vu_close(NULL);
}

/*
 * Bad arguments leave no device (*out NULL); a socket that cannot be
 * reached leaves a disconnected one that says why.
 */
static void bad_open(void)
{
	struct gmem_vu_dev *d;
	struct gmem_vu_info info;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(connect_cases); i++) {
		int want = connect_cases[i].want;
		int ret;

		d = (void *)&d;
		ret = gmem_vu_open(connect_cases[i].path,
				   &connect_cases[i].cfg,
				   connect_cases[i].null_out ? NULL : &d);
		TEST_ASSERT(ret == want, "open, %s: %d, want %d",
			    connect_cases[i].name, ret, want);
		if (connect_cases[i].null_out)
			TEST_ASSERT(d == (void *)&d, "open, %s: *out written",
				    connect_cases[i].name);
		else if (want == -EINVAL)
			TEST_ASSERT(!d, "open, %s: a device",
				    connect_cases[i].name);
		if (want == -EINVAL)
			continue;
		TEST_ASSERT(d && strstr(gmem_vu_last_error(d),
					connect_cases[i].path),
			    "open, %s: the reason does not name the socket",
			    connect_cases[i].name);
		TEST_RET(gmem_vu_info(d, &info), 0);
		TEST_ASSERT(!info.connected, "open, %s: connected",
			    connect_cases[i].name);
		TEST_RET(gmem_vu_close(d), 0);
	}
	TEST_ASSERT(!strcmp(gmem_vu_last_error(NULL), ""),
		    "last_error(NULL)");
}

#define BIG	(1ULL << 62)

static void bad_attach(struct rig *r)
{
	const struct {
		const char *name;
		bool null_dev, null_file;
		uint64_t offset, len, gpa;
		int want;
	} cases[] = {
		{ "NULL device", true, false, 0, PG, 1ULL << 32, -EINVAL },
		{ "NULL file", false, true, 0, PG, 1ULL << 32, -EINVAL },
		{ "unaligned offset", false, false, 1, PG, 1ULL << 32,
		  -EINVAL },
		{ "unaligned len", false, false, 0, 100, 1ULL << 32, -EINVAL },
		{ "empty", false, false, 0, 0, 1ULL << 32, -EINVAL },
		{ "unaligned gpa", false, false, 0, PG, (1ULL << 32) + 8,
		  -EINVAL },
		{ "offset wraps", false, false, -PG, 2 * PG, 1ULL << 32,
		  -EINVAL },
		{ "gpa wraps", false, false, 0, 2 * PG, -PG, -EINVAL },
		{ "past EOF", false, false, RIG_SIZE, PG, 1ULL << 32,
		  -EINVAL },
		{ "huge", false, false, 0, BIG, 1ULL << 32, -EINVAL },
		{ "gpa overlaps", false, false, 0, PG, GUEST_GPA + 5 * PG,
		  -EINVAL },
	};
	struct gmem_vu_info before, after;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		TEST_RET(gmem_vu_info(r->d, &before), 0);
		int ret = gmem_vu_attach(cases[i].null_dev ? NULL : r->d,
					 cases[i].null_file ? NULL : r->g.file,
					 cases[i].offset, cases[i].len,
					 cases[i].gpa);

		TEST_ASSERT(ret == cases[i].want, "attach, %s: %d, want %d",
			    cases[i].name, ret, cases[i].want);
		TEST_RET(gmem_vu_info(r->d, &after), 0);
		TEST_ASSERT(after.messages == before.messages &&
			    after.regions == before.regions,
			    "attach, %s: the table changed", cases[i].name);
	}
}

/* A file that cannot be exported cannot be attached. */
static void not_exported(struct rig *r)
{
	struct gmem_region reg = { .slot = 1, .gpa = 1ULL << 32, .size = PG };
	struct gmem_vu_info before, after;
	struct gmem_file *f;

	TEST_RET(gmem_create(r->g.vm, PG, GMEM_FLAG_MMAP |
			     GMEM_FLAG_INIT_SHARED, &f), 0);
	reg.file = f;
	TEST_RET(gmem_vm_set_region(r->g.vm, &reg), 0);
	TEST_RET(gmem_vu_info(r->d, &before), 0);
	TEST_RET(gmem_vu_attach(r->d, f, 0, PG, 1ULL << 32), -EPERM);
	TEST_RET(gmem_vu_info(r->d, &after), 0);
	TEST_ASSERT(after.messages == before.messages, "the table changed");
	reg.size = 0;
	TEST_RET(gmem_vm_set_region(r->g.vm, &reg), 0);
	TEST_RET(gmem_close(f), 0);
}

static unsigned int open_fds(void)
{
	unsigned int n = 0;
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");

	TEST_ASSERT(dir, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * A failed attach keeps nothing: no file slot, no exported fd (sixteen of
 * them would fill the device). A file closed before the device leaves
 * nothing behind either.
 */
static void failed_attach(struct rig *r)
{
	const uint64_t fl = GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED |
			    GMEM_FLAG_EXPORT;
	struct gmem_file *f[17];
	unsigned int fds, i;

	for (i = 0; i < 17; i++)
		TEST_RET(gmem_create(r->g.vm, PG, fl, &f[i]), 0);
	fds = open_fds();
	for (i = 0; i < 16; i++)
		TEST_RET(gmem_vu_attach(r->d, f[i], PG, PG, 1ULL << 40), -EINVAL);
	TEST_ASSERT(open_fds() == fds, "failed attaches kept %u fds",
		    open_fds() - fds);
	TEST_RET(gmem_vu_attach(r->d, f[16], 0, PG, 1ULL << 40), 0);
	TEST_ASSERT(open_fds() == fds + 1, "no exported fd");
	/* Closed before the device: released, its fd and range gone. */
	TEST_RET(gmem_close(f[16]), 0);
	TEST_ASSERT(open_fds() == fds - 1, "the closed file's fd stayed");
	TEST_RET(gmem_vu_attach(r->d, f[0], 0, PG, 1ULL << 40), 0);
	TEST_RET(gmem_close(f[0]), 0);
	for (i = 1; i < 16; i++)
		TEST_RET(gmem_close(f[i]), 0);
}

/*
 * gmem_vu_close() and gmem_vu_attach() from inside a listener callback:
 * refused before the device lock (another thread may hold it, waiting for
 * the invalidate lock this callback runs under), no change.
 */
static struct {
	struct gmem_vu_dev *d;
	struct gmem_file *f;
	int ret, attach_ret;
	unsigned int calls;
} inner;

static int inner_map(void *opaque, uint64_t off, uint64_t len)
{
	(void)opaque, (void)off, (void)len;
	return 0;
}

static int inner_unmap(void *opaque, uint64_t off, uint64_t len,
		       uint32_t fl)
{
	(void)opaque, (void)off, (void)len;
	if (!(fl & GMEM_UNMAP_FORCED)) {
		inner.ret = gmem_vu_close(inner.d);
		inner.attach_ret = gmem_vu_attach(inner.d, inner.f, 0, PG,
						  1ULL << 41);
		inner.calls++;
	}
	return 0;
}

static void close_in_callback(struct rig *r)
{
	struct gmem_listener_config c = {
		.offset = 100 * PG, .len = PG, .map = inner_map,
		.unmap = inner_unmap,
	};
	struct gmem_listener *l;

	inner.d = r->d;
	inner.f = r->g.file;
	TEST_RET(gmem_listen(r->g.file, &c, &l), 0);
	TEST_RET(gmem_vm_convert(r->g.vm, GUEST_GPA + 100 * PG, PG,
				 GMEM_ATTR_PRIVATE, NULL), 0);
	TEST_ASSERT(inner.calls == 1, "%u unmap calls", inner.calls);
	TEST_RET(inner.ret, -EDEADLK);
	TEST_RET(inner.attach_ret, -EDEADLK);
	TEST_RET(gmem_vm_convert(r->g.vm, GUEST_GPA + 100 * PG, PG, 0, NULL),
		 0);
	TEST_RET(gmem_unlisten(r->g.file, l), 0);
}

/* Sixteen ranges at most: the seventeenth is -E2BIG. */
static void too_many(struct rig *r)
{
	struct guest g;
	struct gmem_vu_dev *d = backend_connect(&r->b, 0);
	unsigned int i;

	guest_init(&g, 32 * PG);
	for (i = 0; i < 16; i++)
		TEST_RET(gmem_vu_attach(d, g.file, i * PG, PG,
					(1ULL << 32) + 2 * i * PG), 0);
	TEST_RET(gmem_vu_attach(d, g.file, 16 * PG, PG, 1ULL << 33), -E2BIG);
	TEST_RET(gmem_vu_table(d, NULL, 0), 16);
	gmem_vu_close(d);
	guest_fini(&g);
}

static void bad_vring(struct rig *r)
{
	const struct gmem_vu_vring ok = { .index = 1, .num = 64,
		.desc = GUEST_GPA + 8 * PG, .avail = GUEST_GPA + 9 * PG,
		.used = GUEST_GPA + 10 * PG };
	struct {
		const char *name;
		struct gmem_vu_vring v;
		int want;
	} cases[] = {
		{ "index 8", ok, -EINVAL }, { "num 0", ok, -EINVAL },
		{ "num 3", ok, -EINVAL }, { "num 65536", ok, -EINVAL },
		{ "desc unaligned", ok, -EINVAL },
		{ "avail unaligned", ok, -EINVAL },
		{ "used unaligned", ok, -EINVAL }, { "flags", ok, -EINVAL },
		{ "reserved16", ok, -EINVAL }, { "reserved", ok, -EINVAL },
		{ "ring 0 again", ok, -EBUSY },
	};
	struct gmem_vu_info before, after;
	unsigned int i;

	cases[0].v.index = 8;
	cases[1].v.num = 0;
	cases[2].v.num = 3;
	cases[3].v.num = 65536;
	cases[4].v.desc += 8;
	cases[5].v.avail += 1;
	cases[6].v.used += 2;
	cases[7].v.flags = 1;
	cases[8].v.reserved16 = 1;
	cases[9].v.reserved[1] = 1;
	cases[10].v.index = 0;
	TEST_RET(gmem_vu_vring_setup(NULL, &ok), -EINVAL);
	TEST_RET(gmem_vu_vring_setup(r->d, NULL), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		TEST_RET(gmem_vu_info(r->d, &before), 0);
		int ret = gmem_vu_vring_setup(r->d, &cases[i].v);

		TEST_ASSERT(ret == cases[i].want, "vring, %s: %d, want %d",
			    cases[i].name, ret, cases[i].want);
		TEST_RET(gmem_vu_info(r->d, &after), 0);
		TEST_ASSERT(after.messages == before.messages,
			    "vring, %s: the table changed", cases[i].name);
	}
	TEST_RET(gmem_vu_call_fd(r->d, 1), -EINVAL);
}

static void bad_config(struct rig *r)
{
	static const struct {
		const char *name;
		bool null_dev, null_buf;
		uint32_t offset, len;
	} cases[] = {
		{ "NULL device", true, false, 0, 8 },
		{ "NULL buf", false, true, 0, 8 },
		{ "len 0", false, false, 0, 0 },
		{ "len 257", false, false, 0, GMEM_VU_MAX_CONFIG_SIZE + 1 },
		{ "offset 256", false, false, GMEM_VU_MAX_CONFIG_SIZE, 1 },
		{ "offset + len 257", false, false, 200, 57 },
		{ "offset wraps", false, false, UINT32_MAX, 2 },
		{ "len huge", false, false, 4, UINT32_MAX - 2 },
	};
	uint8_t buf[GMEM_VU_MAX_CONFIG_SIZE + 1];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(buf, 0x5a, sizeof(buf));
		int ret = gmem_vu_get_config(cases[i].null_dev ? NULL : r->d,
					     cases[i].offset,
					     cases[i].null_buf ? NULL : buf,
					     cases[i].len);

		TEST_ASSERT(ret == -EINVAL, "config, %s: %d, want %d",
			    cases[i].name, ret, -EINVAL);
		TEST_ASSERT(buf[0] == 0x5a, "config, %s: buf written",
			    cases[i].name);
	}
	/* The largest read there is: the spec's size, asked from 0. */
	TEST_RET(gmem_vu_get_config(r->d, 0, buf, GMEM_VU_MAX_CONFIG_SIZE),
		 -EIO);
}

/* Rings 1 and 8 are not set up; nothing is stopped, ring 0 still works. */
static void bad_stop(struct rig *r)
{
	static const struct {
		const char *name;
		bool null_dev;
		unsigned int index;
	} cases[] = {
		{ "NULL device", true, 0 },
		{ "index 8", false, 8 },
		{ "index UINT_MAX", false, ~0u },
		{ "ring 1 not set up", false, 1 },
	};
	uint32_t base;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		base = 0xdead;
		int ret = gmem_vu_vring_stop(cases[i].null_dev ? NULL : r->d,
					     cases[i].index, &base);

		TEST_ASSERT(ret == -EINVAL, "stop, %s: %d, want %d",
			    cases[i].name, ret, -EINVAL);
		TEST_ASSERT(base == 0xdead, "stop, %s: base written",
			    cases[i].name);
		TEST_ASSERT(gmem_vu_call_fd(r->d, 0) >= 0,
			    "stop, %s: ring 0 stopped", cases[i].name);
	}
}

static void bad_small(struct rig *r)
{
	struct gmem_vu_region reg;
	struct gmem_vu_info info;
	uint64_t bytes;

	TEST_RET(gmem_vu_sync(NULL), -EINVAL);
	TEST_RET(gmem_vu_kick(NULL, 0), -EINVAL);
	TEST_RET(gmem_vu_kick(r->d, 8), -EINVAL);
	TEST_RET(gmem_vu_kick(r->d, 1), -EINVAL);
	TEST_RET(gmem_vu_call_fd(NULL, 0), -EINVAL);
	TEST_RET(gmem_vu_call_fd(r->d, 8), -EINVAL);
	TEST_ASSERT(gmem_vu_call_fd(r->d, 0) >= 0, "call fd of ring 0");
	TEST_RET(gmem_vu_info(NULL, &info), -EINVAL);
	TEST_RET(gmem_vu_info(r->d, NULL), -EINVAL);
	TEST_RET(gmem_vu_table(NULL, &reg, 1), -EINVAL);
	TEST_RET(gmem_vu_table(r->d, NULL, 1), -EINVAL);
	TEST_RET(gmem_vu_exposure(NULL, &bytes), -EINVAL);
	TEST_RET(gmem_vu_exposure(r->d, NULL), -EINVAL);
}

int main(void)
{
	struct rig r;

	memset(long_path, 'a', sizeof(long_path) - 1);
	bad_connect();
	bad_open();
	rig_up(&r, BACKEND_QSD, 10000);
	bad_attach(&r);
	not_exported(&r);
	bad_vring(&r);
	bad_small(&r);
	bad_config(&r);
	bad_stop(&r);
	failed_attach(&r);
	close_in_callback(&r);
	/* Nothing above broke the device. */
	rig_check(&r, r.s.src, r.s.dst, 1);
	/* The back-end serves one front-end at a time. */
	gmem_vu_close(r.d);
	r.d = NULL;
	too_many(&r);
	rig_down(&r);
	return 0;
}
