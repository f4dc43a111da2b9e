// SPDX-License-Identifier: MIT
/*
 * gmem run: a real KVM VM whose RAM is guest_memfd converts its own pages
 * between shared and private while the host proves it cannot read the
 * private ones. The guest is guests/run.c; its host side is vmm/'s
 * (vmm/scenario.c), and so are the devices (vmm/devices.c). This file is
 * the command: its options, the checks before the vCPUs start, and the
 * exit status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "run.h"

#define MAX_WATCHDOG_S	3600

static void run_usage(FILE *f)
{
	fprintf(f,
"usage: gmem run [options]\n"
"Start a KVM VM whose RAM is guest_memfd; each vCPU owns a slice of it and\n"
"runs rounds of: write a pattern while shared (the host reads it), convert\n"
"to private with PRESERVE and write a secret (host reads must fault),\n"
"convert back with ZERO for one half and PRESERVE for the other (the guest\n"
"checks zeros vs its secret), then read data the host wrote.\n\n"
"  --vcpus N          vCPUs, 1 to %u (default 2)\n"
"  --mem SIZE         guest RAM, e.g. 64M, 1G: a multiple of 4 KiB between\n"
"                     8 KiB per vCPU and 3 GiB (default 64M)\n"
"  --rounds N         rounds per vCPU, 1 to %u (default 8)\n"
"  --watchdog SECONDS stop a vCPU that makes no exit for this long, 1 to %u\n"
"                     (default %u); guests that work send heartbeats\n"
"  --guest FILE       run this flat image (linked at 0x%llx, the ABI in\n"
"                     docs/runner.md; e.g. the build's\n"
"                     guests/gmem-example-guest.bin) instead of the built-in\n"
"                     guest; it gets --rounds in boot param[0], and the host\n"
"                     checks nothing for it\n"
"  --vhost-user-blk SOCK, --vhost-user-net SOCK\n"
"                     a virtio-blk / virtio-net device served by the\n"
"                     vhost-user back-end listening on SOCK (for example\n"
"                     qemu-storage-daemon, DPDK testpmd); vCPU 0 then moves\n"
"                     data through it after each round, converting a DMA\n"
"                     buffer private and back (docs/virtio.md)\n"
"  --vfio BDF         assign the PCI device at BDF (DDDD:BB:DD.F or BB:DD.F,\n"
"                     QEMU's edu or an NVMe controller; bound to vfio-pci\n"
"                     for the run if it is not): vCPU 0 drives it the same\n"
"                     way, its IOMMU mappings follow every conversion\n"
"                     (docs/vfio.md); needs an IOMMU and root\n"
"  --expect-digest HEX\n"
"                     start the vCPUs only if the image's launch digest (it\n"
"                     is populated private and measured: docs/launch.md;\n"
"                     `gmem measure IMAGE` computes it) is HEX\n"
"  --conversions MECHANISM\n"
"                     how the guest asks for conversions: hypercall\n"
"                     (KVM_HC_MAP_GPA_RANGE, as confidential guests do),\n"
"                     doorbell (a port-I/O exit), or auto (the default: the\n"
"                     hypercall where its exits reach gmem, as `gmem host`\n"
"                     shows, else the doorbell)\n"
"  --prefault         pre-fault guest RAM before the vCPUs start\n"
"                     (gmem_vm_prefault(): a slice per vCPU, all at once,\n"
"                     through its vCPU where KVM has KVM_PRE_FAULT_MEMORY,\n"
"                     else the host side only)\n"
"  --huge             back guest RAM (and the DMA pool) with a memfd of shmem\n"
"                     transparent huge pages (GMEM_FLAG_HUGE) instead of\n"
"                     guest_memfd, which has none; refused where\n"
"                     /sys/kernel/mm/transparent_hugepage/shmem_enabled is\n"
"                     never or deny\n"
"  --numa-node N      allocate guest RAM (and the DMA pool) on host NUMA\n"
"                     node N only, 0 to 63 (gmem_set_mempolicy(), BIND)\n"
"  --save FILE        stop every vCPU in round N (--save-at-round), save the\n"
"                     vCPUs and guest memory to FILE, sealed (registers and\n"
"                     private pages never in the clear: docs/snapshot.md),\n"
"                     and exit 0 with one line; built-in guest only, no\n"
"                     devices. A failed save lets the guest run on to its\n"
"                     end, and the exit status is then 1\n""  --save-at-round N  the round to stop in, 1 to --rounds (default %u): at\n"
"                     its private stage, the vCPU's slice private and\n"
"                     holding its secret, before the host's checks of it\n"
"  --key FILE         the snapshot key: exactly 32 bytes, mode 0600. Without\n"
"                     it --save makes FILE.key (random, 0600) and says so,\n"
"                     and --restore reads FILE.key\n"
"  --restore FILE     a new VM shaped as FILE's record says, its memory and\n"
"                     vCPUs restored, the guest finishing its rounds with\n"
"                     every host check; --vcpus, --mem, --rounds and\n"
"                     --conversions may only repeat the snapshot's values;\n"
"                     --expect-digest is checked before anything is built\n"
"  --migrate-to ADDR  as --save, to the gmem run --incoming listening at ADDR\n"
"                     (unix:PATH or tcp:HOST:PORT; --key needed on both\n"
"                     sides): the run ends once the destination resumed the\n"
"                     guest, and says the downtime; if the destination fails\n"
"                     first the guest runs on here (exit status 1)\n"
"  --incoming ADDR    as --restore, from the one --migrate-to connecting to\n"
"                     ADDR; a stream cut short is refused, nothing run\n"
"  --json             print the summary as one JSON object (guest text\n"
"                     goes to stderr)\n"
"  --map              then the memory map (docs/map.md): bars by gpa, legend,\n"
"                     totals and runs; with --json, under the key \"map\"\n"
"  --map-svg FILE     write the memory map as an SVG to FILE\n"
"  --color[=WHEN]     colour --map's bars: auto (a terminal; the default),\n"
"                     always (also --color alone) or never\n"
"  -h, --help         this text\n"
"When stdout and stderr are both a terminal and --json is not given, a\n"
"progress line on stderr shows rounds, pages converted and time.\n"
"Exit status: 0 when every check held (--save: when it saved), 1 when one\n"
"failed, the VM stopped, a save failed (even if the guest then passed) or\n"
"a snapshot was refused, 2 for bad options, 3 without /dev/kvm or, for\n"
"--conversions hypercall, where hypercall exits do not arrive.\n",
		GUEST_MAX_VCPUS, CLI_MAX_ROUNDS, MAX_WATCHDOG_S,
		RUNNER_WATCHDOG_MS / 1000, (unsigned long long)GUEST_IMAGE_GPA,
		CLI_SAVE_ROUND_DEFAULT);
}

#define WATCHDOG_RULE	"a whole number of seconds from 1 to 3600"
#define CONV_RULE	"hypercall, doorbell or auto"
#define NUMA_RULE	"a host NUMA node number from 0 to 63"
#define MAX_NUMA_NODE	63	/* runner_config.numa_nodes has 64 bits */
#define THP_SHMEM	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
_Static_assert(MAX_WATCHDOG_S == 3600, "the rule above says this number");

/* --guest FILE: a regular file of 1 byte to GUEST_IMAGE_MAX. */
static int load_guest(struct run_opts *o, const char *path)
{
	const char *why;
	uint64_t size;
	FILE *f = cli_open_regular(path, &size, &why);

	if (f && (!size || size > GUEST_IMAGE_MAX))
		why = "empty or larger than 1 MiB";
	if (!why) {
		free(o->image);
		o->image = malloc(size);
		o->image_size = size;
		if (!o->image)
			why = strerror(ENOMEM);
		else if (fread(o->image, 1, size, f) != size)
			why = strerror(EIO);
	}
	if (f)
		fclose(f);
	o->guest = path;
	if (!why)
		return 0;
	fprintf(stderr, "gmem run: --guest must name a readable flat image of 1 byte to 1 MiB, not '%s' (%s)\n",
		path, why);
	return -1;
}

static int parse_conv(const char *arg, enum run_conv *conv)
{
	static const char *const names[] = {
		[RUN_CONV_AUTO] = "auto",
		[RUN_CONV_DOORBELL] = "doorbell",
		[RUN_CONV_HYPERCALL] = "hypercall",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			*conv = i;
			return 0;
		}
	}
	return cli_bad_value("run", "--conversions", CONV_RULE, arg);
}

static const char *const dev_opt_name[VMM_VU_NR] = {
	"--vhost-user-blk", "--vhost-user-net",
};

/* --vhost-user-blk/-net PATH: a unix socket that exists, given once. */
static int dev_opt(enum vmm_vu_kind kind, const char *path,
		   const char *paths[VMM_VU_NR])
{
	if (paths[kind]) {
		fprintf(stderr, "gmem run: %s given twice\n", dev_opt_name[kind]);
		return -1;
	}
	if (cli_opt_socket("run", dev_opt_name[kind], path))
		return -1;
	paths[kind] = path;
	return 0;
}

/* --vfio BDF, given once; the address is checked after the options. */
static int vfio_opt(const char *bdf, struct run_opts *o)
{
	if (o->vfio) {
		fprintf(stderr, "gmem run: --vfio given twice (one assigned device per run)\n");
		return -1;
	}
	o->vfio = bdf;
	return 0;
}

/*
 * --vfio's device before KVM is asked for: a well-formed address (exit 2)
 * of a device that is there (2), on a machine with an IOMMU (1: the
 * system's answer). CLI_OK or the exit status after one line.
 */
static int vfio_check(const struct run_opts *o)
{
	char why[VMM_ERR_LEN];
	int ret;

	if (!o->vfio)
		return CLI_OK;
	ret = vmm_devices_vfio_check(o->vfio, why, sizeof(why));
	if (ret == -EINVAL) {
		cli_bad_value("run", "--vfio", VMM_BDF_RULE, o->vfio);
		return CLI_USAGE;
	}
	if (ret)
		fprintf(stderr, "gmem run: --vfio '%s': %s\n", o->vfio, why);
	return !ret ? CLI_OK : ret == -ENODEV ? CLI_USAGE : CLI_FAIL;
}

/* The assigned device: CLI_OK, or the exit status after one line. */
static int assign_device(struct run_ctx *c)
{
	char why[VMM_ERR_LEN];
	int ret;

	if (!c->o.vfio)
		return CLI_OK;
	ret = vmm_devices_add_vfio(c->devs, c->o.vfio, "--vfio", why,
				   sizeof(why));
	if (!ret)
		return CLI_OK;
	/* the reason names the device */
	fprintf(stderr, "gmem run: --vfio: %s\n", why);
	/* a device the guest has no driver for is the user's choice */
	return ret == -ENOTSUP ? CLI_USAGE : CLI_FAIL;
}

/* Connect to the back-ends asked for: CLI_OK, or the exit status. */
static int connect_devices(struct run_ctx *c)
{
	char why[VMM_ERR_LEN];
	int ret;

	if (!c->o.dev[VMM_VU_BLK] && !c->o.dev[VMM_VU_NET] && !c->o.vfio)
		return CLI_OK;
	if (vmm_devices_new(&c->devs)) {
		fprintf(stderr, "gmem run: no memory for the devices\n");
		return CLI_FAIL;
	}
	for (unsigned int k = 0; k < VMM_VU_NR; k++) {
		if (!c->o.dev[k])
			continue;
		ret = vmm_devices_add_vu(c->devs, k, c->o.dev[k],
					 dev_opt_name[k], why, sizeof(why));
		if (ret) {
			fprintf(stderr, "gmem run: %s '%s': %s\n",
				dev_opt_name[k], c->o.dev[k], why);
			return CLI_FAIL;
		}
	}
	return assign_device(c);
}

/* --numa-node N: the number only; whether the host has it, runner_create. */
static int numa_opt(const char *arg, struct run_opts *o)
{
	unsigned long n;

	if (cli_parse_uint(arg, MAX_NUMA_NODE, &n))
		return cli_bad_value("run", "--numa-node", NUMA_RULE, arg);
	o->numa_nodes = 1ULL << n;
	return 0;
}

static int run_opt(int c, const char *arg, void *opts)
{
	struct run_opts *o = opts;

	switch (c) {
	case 'c':
		o->vcpus_set = true;
		return cli_opt_vcpus("run", arg, &o->vcpus);
	case 'm':
		o->mem_set = true;
		return cli_opt_mem("run", arg, &o->mem);
	case 'r':
		o->rounds_set = true;
		return cli_opt_rounds("run", arg, &o->rounds);
	case 'w':
		if (cli_parse_uint(arg, MAX_WATCHDOG_S, &o->watchdog_s) ||
		    !o->watchdog_s)
			return cli_bad_value("run", "--watchdog", WATCHDOG_RULE,
					     arg);
		return 0;
	case 'g':
		return load_guest(o, arg);
	case 'j':
		o->json = true;
		return 0;
	case 'M':
		o->map = true;
		return 0;
	case 'S':
		return cli_open_svg("run", "--map-svg", arg, &o->out.svg);
	case 'C':
		return cli_parse_color("run", arg, &o->out.color);
	case 'D':
		if (strlen(arg) != 64 || strspn(arg, "0123456789abcdefABCDEF") != 64)
			return cli_bad_value("run", "--expect-digest",
					     "64 hex digits (a SHA-256 launch digest)",
					     arg);
		o->expect_digest = arg;
		return 0;
	case 'X':
		o->conv_set = true;
		return parse_conv(arg, &o->conv);
	case 'A':
		o->save = arg;
		return 0;
	case 'T':
		if (cli_parse_uint(arg, CLI_MAX_ROUNDS, &o->save_round) ||
		    !o->save_round)
			return cli_bad_value("run", "--save-at-round",
					     "a round from 1 to --rounds", arg);
		return 0;
	case 'R':
		o->restore = arg;
		return 0;
	case 'K':
		o->key = arg;
		return 0;
	case 'O':
		o->migrate_to = arg;
		return cli_mig_check("--migrate-to", arg);
	case 'I':
		o->incoming = arg;
		return cli_mig_check("--incoming", arg);
	case 'P':
		o->prefault = true;
		return 0;
	case 'U':
		return numa_opt(arg, o);
	case 'H':
		o->huge = true;
		return 0;
	case 'B':
		return dev_opt(VMM_VU_BLK, arg, o->dev);
	case 'V':
		return vfio_opt(arg, o);
	default: /* 'N' */
		return dev_opt(VMM_VU_NET, arg, o->dev);
	}
}

static const struct option run_longopts[] = {
	{ "vcpus", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "rounds", required_argument, NULL, 'r' },
	{ "watchdog", required_argument, NULL, 'w' },
	{ "guest", required_argument, NULL, 'g' },
	{ "json", no_argument, NULL, 'j' },
	{ "map", no_argument, NULL, 'M' },
	{ "map-svg", required_argument, NULL, 'S' },
	{ "color", optional_argument, NULL, 'C' },
	{ "expect-digest", required_argument, NULL, 'D' },
	{ "conversions", required_argument, NULL, 'X' },
	{ "vhost-user-blk", required_argument, NULL, 'B' },
	{ "vhost-user-net", required_argument, NULL, 'N' },
	{ "vfio", required_argument, NULL, 'V' },
	{ "prefault", no_argument, NULL, 'P' },
	{ "numa-node", required_argument, NULL, 'U' },
	{ "huge", no_argument, NULL, 'H' },
	{ "save", required_argument, NULL, 'A' },
	{ "save-at-round", required_argument, NULL, 'T' },
	{ "restore", required_argument, NULL, 'R' },
	{ "key", required_argument, NULL, 'K' },
	{ "migrate-to", required_argument, NULL, 'O' },
	{ "incoming", required_argument, NULL, 'I' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd run_cmd = {
	.name = "run", .longopts = run_longopts, .usage = run_usage,
	.opt = run_opt,
};

/* 0 to run, 1 when --help was printed, -1 after a one-line error. */
static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	int ret;

	*o = (struct run_opts){
		.vcpus = 2, .mem = 64ULL << 20, .rounds = 8,
		.watchdog_s = RUNNER_WATCHDOG_MS / 1000,
	};
	ret = cli_getopt(&run_cmd, argc, argv, o);
	if (ret)
		return ret;
	if (o->guest && (o->dev[VMM_VU_BLK] || o->dev[VMM_VU_NET] || o->vfio)) {
		fprintf(stderr, "gmem run: --vhost-user-blk, --vhost-user-net and --vfio drive devices from the built-in guest: not with --guest\n");
		return -1;
	}
	if (cli_snap_check_opts(o))
		return -1;
	return cli_check_slice("run", o->mem, o->vcpus);
}

static int map_after_run(struct runner *r, struct run_ctx *c,
			 struct memmap *m)
{
	char title[160], mem[32];

	if (!c->o.map && !c->o.out.svg)
		return 0;
	snprintf(title, sizeof(title), "gmem run: %lu vCPUs, %s RAM, "
		 "%lu rounds, %s", c->o.vcpus, memmap_size(c->o.mem, mem,
							   sizeof(mem)),
		 c->o.rounds, c->o.guest ? c->o.guest : "built-in guest");
	return cli_map_collect("run", runner_vm(r), &c->o.out, title, m);
}

/* --expect-digest: the vCPUs start only if the image measured as said. */
static bool digest_expected(struct runner *r, struct run_ctx *c)
{
	uint8_t d[32];
	char hex[65];

	if (!c->o.expect_digest)
		return true;
	runner_launch_digest(r, d);
	cli_digest_hex(d, hex);
	if (!strcasecmp(hex, c->o.expect_digest))
		return true;
	fprintf(stderr, "gmem run: the launch digest is %s, not --expect-digest %s: the vCPUs were not started\n",
		hex, c->o.expect_digest);
	return false;
}

/*
 * --conversions hypercall where the hypercall never reaches us would
 * leave the guest spinning on its first request (PVM) or refused by KVM:
 * say so instead.
 */
static bool hypercall_arrives(struct runner *r, struct run_ctx *c)
{
	const char *why;

	if (c->o.conv != RUN_CONV_HYPERCALL || runner_hypercall_exits_arrive(r))
		return true;
	if (!runner_hypercall_exits_enabled(r))
		why = "KVM offers no KVM_CAP_EXIT_HYPERCALL for it";
	else if (runner_host_is_pvm())
		why = "this is a PVM host, where a VMCALL never leaves the kernel";
	else
		why = "guests run in ring 3 here, where KVM answers hypercalls itself";
	fprintf(stderr, "gmem run: --conversions hypercall: KVM_HC_MAP_GPA_RANGE exits do not arrive here (%s); use doorbell or auto\n",
		why);
	return false;
}

static void print_prefault(struct runner *r)
{
	struct runner_stats st;

	runner_get_stats(r, &st);
	printf("  prefault:     guest RAM in %.1f ms, %u slice(s) at once (%s)\n",
	       st.prefault_seconds * 1e3, st.prefault_slices,
	       st.prefault_vcpu ? "KVM_PRE_FAULT_MEMORY, one vCPU each" :
	       "host side only: no KVM_PRE_FAULT_MEMORY here");
	printf("  prefault per vCPU:");
	for (unsigned int i = 0; i < st.prefault_slices; i++)
		printf(" %.1f", st.prefault_slice_seconds[i] * 1e3);
	printf(" ms\n");
}

/* --numa-node's node is not there (-ENODEV) or NUMA is not (-EOPNOTSUPP). */
static int numa_refused(struct run_ctx *c, int err)
{
	int n = __builtin_ctzll(c->o.numa_nodes);

	if (err == -ENODEV)
		fprintf(stderr, "gmem run: --numa-node %d: this host has no memory on node %d for this process (not online, memoryless, or outside its cpuset)\n",
			n, n);
	else
		fprintf(stderr, "gmem run: --numa-node %d: this kernel has no NUMA support\n",
			n);
	return CLI_USAGE;
}

const char *cli_thp_off(char *why, size_t len)
{
	char buf[128] = "", *a, *b;
	FILE *f = fopen(THP_SHMEM, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!f || !b) {
		snprintf(why, len, "this kernel has no transparent huge pages (no %s)",
			 THP_SHMEM);
		return why;
	}
	*b = 0;
	if (strcmp(a + 1, "never") && strcmp(a + 1, "deny"))
		return NULL;
	snprintf(why, len, "shmem THP is off (%s: %s)", THP_SHMEM, a + 1);
	return why;
}

/*
 * --huge refused by the library (-EOPNOTSUPP): say why when shmem THP is
 * off or missing. 0 when that is not why (another error, said as such).
 */
static int huge_refused(void)
{
	char why[CLI_THP_WHY_LEN];

	if (!cli_thp_off(why, sizeof(why)))
		return 0;
	fprintf(stderr, "gmem run: --huge: %s\n", why);
	return CLI_USAGE;
}

void cli_run_print_memory(struct runner *r, const struct run_ctx *c,
			  bool huge)
{
	if (c->o.json)
		return;
	if (c->o.prefault)
		print_prefault(r);
	if (c->o.numa_nodes)
		printf("  numa:         guest RAM on host node %d only\n",
		       __builtin_ctzll(c->o.numa_nodes));
	if (huge)
		printf("  huge:         guest RAM on a memfd of shmem transparent huge pages\n");
}

/* The VM, its checks before the vCPUs start, the run and the report. */
static int run_vm(struct run_ctx *c)
{
	bool tty = !c->o.json && isatty(STDOUT_FILENO) &&
		   isatty(STDERR_FILENO);
	const struct vmm_config cfg = {
		.vcpus = c->o.vcpus,
		.mem = c->o.mem,
		.rounds = c->o.rounds,
		.image = c->o.guest ? c->o.image : NULL,
		.image_size = c->o.image_size,
		.conv_channel = c->o.conv == RUN_CONV_DOORBELL ?
				GUEST_CONV_DOORBELL :
				c->o.conv == RUN_CONV_HYPERCALL ?
				GUEST_CONV_HYPERCALL : RUNNER_CONV_AUTO,
		.watchdog_ms = c->o.watchdog_s * 1000,
		.devs = c->devs,
		.on_progress = tty ? cli_run_progress : NULL,
		.arg = c,
		/* stdout holds one JSON document: guest text goes beside it */
		.console = c->o.json ? stderr : NULL,
		.prefault = c->o.prefault,
		.numa_nodes = c->o.numa_nodes,
		.huge = c->o.huge,
	};
	struct memmap map = { 0 };
	char err[VMM_ERR_LEN];
	struct runner *r;
	int ret, mret, status;

	ret = vmm_create(&cfg, &c->vm);
	if (ret && c->o.numa_nodes && (ret == -ENODEV || ret == -EOPNOTSUPP))
		return numa_refused(c, ret);
	if (ret == -EOPNOTSUPP && c->o.huge && (status = huge_refused()))
		return status;
	if (ret) {
		fprintf(stderr, "gmem run: cannot create the VM: %s\n",
			strerror(-ret));
		return CLI_FAIL;
	}
	r = vmm_runner(c->vm);
	if (!hypercall_arrives(r, c)) {
		vmm_destroy(c->vm);
		return CLI_NOKVM;
	}
	ret = digest_expected(r, c) ? vmm_start(c->vm, err, sizeof(err)) : 1;
	if (ret) {
		if (ret < 0)
			fprintf(stderr, "gmem run: %s\n", err);
		vmm_destroy(c->vm);
		return CLI_FAIL;
	}
	if ((c->o.save || c->o.migrate_to) && cli_snap_arm(c, r)) {
		vmm_destroy(c->vm);
		return CLI_FAIL;
	}
	if (!c->o.json)
		cli_run_report_header(r, c);
	cli_run_print_memory(r, c, c->o.huge);
	ret = vmm_run(c->vm);
	if (ret == RUNNER_RUN_SAVED) {
		/* the run ended at the save: no summary of a half run */
		vmm_destroy(c->vm);
		return cli_snap_finish_save(c, ret, CLI_OK);
	}
	mret = map_after_run(r, c, &map);
	cli_run_report(r, c, ret, !mret && c->o.map ? &map : NULL);
	memmap_free(&map);
	vmm_destroy(c->vm);
	status = ret || mret ? CLI_FAIL : CLI_OK;
	return c->o.save || c->o.migrate_to ?
	       cli_snap_finish_save(c, ret, status) : status;
}

/* The devices, the VM, the report; frees what the options hold. */
static int run_main(struct run_ctx *c)
{
	int ret = connect_devices(c);

	if (ret == CLI_OK)
		ret = run_vm(c);
	vmm_devices_close(c->devs);
	free(c->o.image);
	c->o.image = NULL;
	return ret;
}

/* The map's SVG is closed here, so a failed write is an error too. */
static int close_svg(struct run_opts *o, int ret)
{
	if (o->out.svg && fclose(o->out.svg) && !ret) {
		fprintf(stderr, "gmem run: writing the SVG failed\n");
		ret = CLI_FAIL;
	}
	o->out.svg = NULL;
	return ret;
}

int cli_cmd_run(int argc, char **argv)
{
	struct run_ctx c = { .snap.fd = -1 };
	int ret;

	ret = parse_opts(argc, argv, &c.o);
	if (ret) {
		free(c.o.image);
		return close_svg(&c.o, ret > 0 ? CLI_OK : CLI_USAGE);
	}
	ret = vfio_check(&c.o);
	if (ret) {
		free(c.o.image);
		return close_svg(&c.o, ret);
	}
	if (!cli_have_kvm("run")) {
		free(c.o.image);
		return close_svg(&c.o, CLI_NOKVM);
	}
	if (c.o.restore || c.o.incoming) {
		ret = cli_run_restore(&c);
	} else {
		ret = c.o.save || c.o.migrate_to ? cli_snap_prepare_save(&c) :
						   CLI_OK;
		ret = ret == CLI_OK ? run_main(&c) : ret;
	}
	cli_snap_close(&c);
	free(c.o.image);
	return close_svg(&c.o, ret);
}

int cli_run_for_map(unsigned long vcpus, uint64_t mem, unsigned long rounds,
		    const struct map_out *out)
{
	struct run_ctx c = {
		.o = {
			.vcpus = vcpus, .mem = mem, .rounds = rounds,
			.watchdog_s = RUNNER_WATCHDOG_MS / 1000,
			.json = out->json, .map = true, .out = *out,
		},
	};

	/* The caller closes the SVG. */
	return run_main(&c);
}
