// SPDX-License-Identifier: MIT
/*
 * Bad input to the VFIO device, table-driven like the KVM selftests: each
 * row is a clear -errno with a reason, and nothing changes (the driver and
 * driver_override of every PCI device are compared before and after).
 * Also: a device bound to vfio-pci by the open is given back at destroy,
 * bad attaches change neither the table nor the file, and the host probe
 * says what sysfs says.
 */
#include "vfio-util.h"

#define MAX_DEVS	64

struct pci_snap {
	unsigned int n;
	char name[MAX_DEVS][32];
	char driver[MAX_DEVS][64];
	char override[MAX_DEVS][64];
};

static void read_str(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = '\0';
		fclose(f);
	}
}

static void snap(struct pci_snap *s)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512], link[512];

	TEST_ASSERT(d, "opendir");
	memset(s, 0, sizeof(*s));
	while ((e = readdir(d)) && s->n < MAX_DEVS) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%.31s", e->d_name);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
			 e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		snprintf(s->driver[s->n], sizeof(s->driver[0]), "%.63s",
			 strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/driver_override", e->d_name);
		read_str(path, s->override[s->n], sizeof(s->override[0]));
		s->n++;
	}
	closedir(d);
}

static void same(const struct pci_snap *a, const struct pci_snap *b,
		 const char *what)
{
	TEST_ASSERT(a->n == b->n, "%s: the devices changed", what);
	for (unsigned int i = 0; i < a->n; i++)
		TEST_ASSERT(!strcmp(a->driver[i], b->driver[i]) &&
			    !strcmp(a->override[i], b->override[i]),
			    "%s: %s was on '%s' (override '%s'), now '%s' ('%s')",
			    what, a->name[i], a->driver[i], a->override[i],
			    b->driver[i], b->override[i]);
}

/*
 * A device with no driver in an IOMMU group of several: opening it binds
 * it, but the others are not on vfio-pci, so the group is not viable.
 */
static bool non_viable(char *out, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512], link[512];
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		unsigned int hdr;
		DIR *g;
		int members = 0;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver",
			 e->d_name);
		if (readlink(path, link, sizeof(link)) > 0)
			continue;
		/* an endpoint: vfio-pci takes no bridge */
		if (!sysfs_hex(e->d_name, "class", &hdr) ||
		    (hdr >> 16) == 0x06)
			continue;
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/iommu_group/devices",
			 e->d_name);
		g = opendir(path);
		while (g && readdir(g))
			members++;
		if (g)
			closedir(g);
		if (members > 3) {	/* ".", ".." and two devices */
			snprintf(out, len, "%.31s", e->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

struct row {
	const char *bdf;
	bool null_out;
	int want;
};

static void open_rows(void)
{
	char nv[64];
	struct row rows[] = {
		{ "", false, -EINVAL },
		{ "zz:00.0", false, -EINVAL },
		{ "0000:00:1f.9", false, -EINVAL },
		{ "0000:00:20.0", false, -EINVAL },
		{ "00:03", false, -EINVAL },
		{ "0000:00:03.0 ", false, -EINVAL },
		{ "00000:00:03.0", false, -EINVAL },
		{ "0000:7f:1e.0", false, -ENODEV },
		{ "ff:1f.7", false, -ENODEV },
		{ NULL, false, -EINVAL },
		{ "0000:00:03.0", true, -EINVAL },
		{ nv, false, -EBUSY },
	};
	unsigned int nrows = ARRAY_SIZE(rows);

	if (!non_viable(nv, sizeof(nv))) {
		fprintf(stderr, "no device in a group of several: that row skipped\n");
		nrows--;
	}
	for (unsigned int i = 0; i < nrows; i++) {
		struct pci_snap a, b;
		struct vmm_device *d = NULL;
		char err[256] = "";
		int ret;

		snap(&a);
		ret = vmm_vfio_device_create(rows[i].bdf, "bad", 0,
					     rows[i].null_out ? NULL : &d,
					     err, sizeof(err));
		snap(&b);
		fprintf(stderr, "row %u '%s': %d: %s\n", i,
			rows[i].bdf ? rows[i].bdf : "(null)", ret, err);
		TEST_ASSERT(ret == rows[i].want, "row %u '%s': %d (%s), want %d",
			    i, rows[i].bdf ? rows[i].bdf : "(null)", ret, err,
			    rows[i].want);
		TEST_ASSERT(err[0], "row %u: no reason given", i);
		TEST_ASSERT(!d, "row %u: a device came out", i);
		same(&a, &b, rows[i].bdf ? rows[i].bdf : "(null)");
	}
}

struct attach_row {
	const char *what;
	bool no_file, no_export;
	uint64_t off, size, gpa;
	int want;
};

static void attach_rows(const char *bdf, struct gmem_vm *vm)
{
	struct gmem_file *f = vfio_file(vm, 16 * PG), *plain = NULL;
	const struct attach_row rows[] = {
		{ "no file", true, false, 0, 16 * PG, TEST_GPA, -EINVAL },
		{ "unaligned offset", false, false, 100, 4 * PG, TEST_GPA, -EINVAL },
		{ "unaligned gpa", false, false, 0, 4 * PG, TEST_GPA + 1, -EINVAL },
		{ "empty", false, false, 0, 0, TEST_GPA, -EINVAL },
		{ "in the IOMMU's hole", false, false, 0, 4 * PG, 0xfee00000ULL, -ERANGE },
		{ "past the IOVA ranges", false, false, 0, 4 * PG, 1ULL << 60, -ERANGE },
		{ "wrapping gpa", false, false, 0, 4 * PG, ~0ULL - PG + 1, -EINVAL },
		{ "not exportable", false, true, 0, 4 * PG, TEST_GPA, -EPERM },
		{ "past the file", false, false, 8 * PG, 16 * PG, TEST_GPA, -EINVAL },
	};
	struct vmm_device *d = edu_open(bdf);
	struct vmm_vfio_stats st;

	TEST_RET(gmem_create(vm, 16 * PG, GMEM_FLAG_MMAP | GMEM_FLAG_INIT_SHARED,
			     &plain), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct attach_row *r = &rows[i];
		struct gmem_file *which = r->no_file ? NULL :
					  r->no_export ? plain : f;
		int ret = vmm_device_attach(d, which, r->off, r->size, r->gpa);

		fprintf(stderr, "attach '%s': %d: %s\n", r->what, ret,
			vmm_device_error(d));
		TEST_ASSERT(ret == r->want, "attach '%s': %d, want %d", r->what,
			    ret, r->want);
		vmm_vfio_stats(d, &st);
		TEST_ASSERT(st.mappings == 0 && st.maps == 0,
			    "attach '%s' mapped something", r->what);
	}
	/* a second attach over the first's gpa */
	TEST_RET(vmm_device_attach(d, f, 0, 8 * PG, TEST_GPA), 0);
	TEST_RET(vmm_device_attach(d, f, 8 * PG, 8 * PG, TEST_GPA + 4 * PG),
		 -EEXIST);
	vmm_vfio_stats(d, &st);
	TEST_ASSERT(st.mappings == 1 && st.mapped_bytes == 8 * PG,
		    "the refused attach changed the table");
	vmm_device_destroy(d);
	TEST_RET(gmem_close(plain), 0);
	TEST_RET(gmem_close(f), 0);
}

int main(void)
{
	char bdf[64];
	struct vmm_vfio_host h;
	struct pci_snap a, b;
	struct gmem_vm *vm;
	struct vmm_device *d;
	void *hva;
	uint64_t size;

	find_edu(bdf, sizeof(bdf));
	TEST_RET(vmm_vfio_host_probe(&h), 0);
	TEST_RET(vmm_vfio_host_probe(NULL), -EINVAL);
	TEST_ASSERT(h.groups > 0 && h.vfio && h.type1 && h.devices > 0 &&
		    h.limit == read_limit(),
		    "host probe: %u groups, vfio %d, type1 %d, %u devices, limit %llu",
		    h.groups, h.vfio, h.type1, h.devices,
		    (unsigned long long)h.limit);
	open_rows();

	/* bound by the open, given back by destroy */
	snap(&a);
	d = edu_open(bdf);
	TEST_RET(vmm_vfio_bar_map(d, NULL, &size), -EINVAL);
	if (!vmm_vfio_bar_map(d, &hva, &size))
		TEST_ASSERT(size == d->window_size, "BAR size %llu",
			    (unsigned long long)size);
	vmm_device_destroy(d);
	snap(&b);
	same(&a, &b, "edu after destroy");

	vm = vfio_vm();
	attach_rows(bdf, vm);
	gmem_vm_put(vm);
	snap(&b);
	same(&a, &b, "edu after the attach rows");
	return test_done("badinput");
}
