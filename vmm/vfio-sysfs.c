// SPDX-License-Identifier: MIT
/*
 * The sysfs side of a VFIO device (vfio.h): PCI addresses, which driver
 * a device is bound to, binding it to vfio-pci and giving it back, its
 * IOMMU group and whether the group is viable, and what `gmem host`
 * reports. vfio.c does the ioctls on what this finds.
 *
 * Binding: a device not bound to vfio-pci is given to it with
 * driver_override and drivers_probe, and given back at close (the old
 * driver, or none). The group must then be viable: every device in it
 * bound to vfio-pci.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio.h"
#include "vmm-int.h"
#include "vmm.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define PCI_PROBE	"/sys/bus/pci/drivers_probe"
#define VFIO_DRIVER	"vfio-pci"
#define TYPE1_LIMIT	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

static bool hex_field(const char *s, size_t n, unsigned int max,
		      unsigned int *out)
{
	unsigned int v = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v * 16 + d;
	}
	*out = v;
	return v <= max;
}

int vmm_vfio_bdf_parse(const char *in, char out[VMM_VFIO_BDF_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	size_t n;

	if (!in || !out)
		return -EINVAL;
	n = strlen(in);
	if (n == 12) {		/* dddd:bb:dd.f */
		if (in[4] != ':' || !hex_field(in, 4, 0xffff, &dom))
			return -EINVAL;
		in += 5;
		n -= 5;
	}
	if (n != 7 || in[2] != ':' || in[5] != '.' ||
	    !hex_field(in, 2, 0xff, &bus) || !hex_field(in + 3, 2, 0x1f, &dev) ||
	    !hex_field(in + 6, 1, 7, &fn))
		return -EINVAL;
	snprintf(out, VMM_VFIO_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

/* A sysfs file's first line, without its newline. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(s))
		ret = -EIO;
	close(fd);
	return ret;
}

static int read_hex(const char *path, uint64_t *v)
{
	char buf[64];
	int ret = read_line(path, buf, sizeof(buf));

	if (!ret)
		*v = strtoull(buf, NULL, 0);
	return ret;
}

/* The last path element a sysfs link points to, "" when no link. */
static void link_name(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	const char *slash, *name;
	size_t nl;

	out[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	name = slash ? slash + 1 : buf;
	nl = strnlen(name, len - 1);
	memcpy(out, name, nl);
	out[nl] = '\0';
}

static void dev_path(char *buf, size_t len, const char *bdf, const char *what)
{
	snprintf(buf, len, PCI_DEVICES "/%s/%s", bdf, what);
}

static void driver_of(const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX];

	dev_path(path, sizeof(path), bdf, "driver");
	link_name(path, out, len);
}

/* Bind @bdf to vfio-pci, remembering the old driver. */
int vmm_vfio_sysfs_bind(struct vmm_vfio_info *in, char *err, size_t errlen)
{
	char path[PATH_MAX], now[64];
	int ret;

	driver_of(in->bdf, in->old_driver, sizeof(in->old_driver));
	if (!strcmp(in->old_driver, VFIO_DRIVER)) {
		in->old_driver[0] = '\0';
		return 0;
	}
	dev_path(path, sizeof(path), in->bdf, "driver_override");
	ret = write_str(path, VFIO_DRIVER);
	if (ret)
		return vmm_say(err, errlen, ret, "%s: cannot set driver_override: %s",
			   in->bdf, strerror(-ret));
	in->rebound = true;
	if (in->old_driver[0]) {
		dev_path(path, sizeof(path), in->bdf, "driver/unbind");
		ret = write_str(path, in->bdf);
		if (ret)
			return vmm_say(err, errlen, ret, "%s: cannot unbind it from %s: %s",
				   in->bdf, in->old_driver, strerror(-ret));
	}
	ret = write_str(PCI_PROBE, in->bdf);
	driver_of(in->bdf, now, sizeof(now));
	if (strcmp(now, VFIO_DRIVER))
		return vmm_say(err, errlen, ret ? ret : -ENODEV,
			   "%s: not bound to vfio-pci and cannot be bound (is the vfio-pci module loaded?)",
			   in->bdf);
	return 0;
}

/* Give the device back as it was found. */
void vmm_vfio_sysfs_unbind(struct vmm_vfio_info *in)
{
	char path[PATH_MAX], now[64];

	if (!in->rebound)
		return;
	driver_of(in->bdf, now, sizeof(now));
	if (!strcmp(now, VFIO_DRIVER)) {
		dev_path(path, sizeof(path), in->bdf, "driver/unbind");
		write_str(path, in->bdf);
	}
	dev_path(path, sizeof(path), in->bdf, "driver_override");
	write_str(path, "\n");
	if (in->old_driver[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind",
			 in->old_driver);
		write_str(path, in->bdf);
	}
	in->rebound = false;
}

/* Every device of the group bound to vfio-pci. */
int vmm_vfio_sysfs_viable(const struct vmm_vfio_info *in, char *err,
			  size_t errlen)
{
	char path[PATH_MAX], drv[64];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%u/devices",
		 in->group);
	d = opendir(path);
	if (!d)
		return vmm_say(err, errlen, -errno, "%s: cannot read IOMMU group %u",
			   in->bdf, in->group);
	while (!ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		driver_of(e->d_name, drv, sizeof(drv));
		if (strcmp(drv, VFIO_DRIVER))
			ret = vmm_say(err, errlen, -EBUSY,
				  "%s: IOMMU group %u is not viable: %s is bound to %s, not vfio-pci",
				  in->bdf, in->group, e->d_name,
				  drv[0] ? drv : "no driver");
	}
	closedir(d);
	return ret;
}

/* The device exists; its ids and IOMMU group. */
int vmm_vfio_sysfs_find(struct vmm_vfio_info *in, char *err, size_t errlen)
{
	char path[PATH_MAX], grp[32];
	uint64_t v;

	dev_path(path, sizeof(path), in->bdf, "vendor");
	if (read_hex(path, &v))
		return vmm_say(err, errlen, -ENODEV, "%s: no such PCI device",
			   in->bdf);
	in->vendor = (uint16_t)v;
	dev_path(path, sizeof(path), in->bdf, "device");
	if (!read_hex(path, &v))
		in->device = (uint16_t)v;
	dev_path(path, sizeof(path), in->bdf, "class");
	if (!read_hex(path, &v))
		in->class_code = (uint32_t)v;
	dev_path(path, sizeof(path), in->bdf, "iommu_group");
	link_name(path, grp, sizeof(grp));
	if (!grp[0])
		return vmm_say(err, errlen, -ENODEV,
			   "%s: in no IOMMU group (no IOMMU: /sys/kernel/iommu_groups is empty?)",
			   in->bdf);
	in->group = (unsigned int)strtoul(grp, NULL, 10);
	return 0;
}

/* Entries of directory @path whose name passes @keep (NULL: all). */
static unsigned int count_dir(const char *path,
			      bool (*keep)(const char *name))
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (!keep || keep(e->d_name)))
			n++;
	closedir(d);
	return n;
}

static bool in_group(const char *bdf)
{
	char path[PATH_MAX], grp[32];

	dev_path(path, sizeof(path), bdf, "iommu_group");
	link_name(path, grp, sizeof(grp));
	return grp[0];
}

static bool on_vfio(const char *bdf)
{
	char drv[64];

	driver_of(bdf, drv, sizeof(drv));
	return in_group(bdf) && !strcmp(drv, VFIO_DRIVER);
}

int vmm_vfio_host_probe(struct vmm_vfio_host *h)
{
	if (!h)
		return -EINVAL;
	*h = (struct vmm_vfio_host){
		.groups = count_dir("/sys/kernel/iommu_groups", NULL),
		.vfio = !access("/sys/module/vfio", F_OK),
		.type1 = !access("/sys/module/vfio_iommu_type1", F_OK),
		.iommufd = !access("/dev/iommu", F_OK),
		.devices = count_dir(PCI_DEVICES, in_group),
		.bound = count_dir(PCI_DEVICES, on_vfio),
	};
	read_hex(TYPE1_LIMIT, &h->limit);
	return 0;
}

int vmm_vfio_sysfs_limit(uint64_t *limit)
{
	return read_hex(TYPE1_LIMIT, limit);
}
