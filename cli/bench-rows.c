// SPDX-License-Identifier: MIT
/*
 * The rows of `gmem bench`: every number it prints, beside the kernel
 * primitive or the VMM practice it competes with (measured in the same
 * run), its target and the physical limit where one applies. The keys are
 * the rows of the part's table (bench/level1.c, bench/runner/measure.c).
 */
#include "bench-rows.h"

#define TWOB		"two backings: zap+punch+alloc"
#define PAGESTORE	"per-page store (stand-in)"
#define BARE		"sorted slots + memcpy"
#define BARE_LOADED	"same, two-backing converter"
#define LE2		.goal = GOAL_LE, .on_ratio = true, .target = 2, \
			.target_text = "<= 2x"
#define LE3		.goal = GOAL_LE, .on_ratio = true, .target = 3, \
			.target_text = "<= 3x"
#define NOLS		"the same with no listener"
#define NODEV		"the same, no device"
#define NOLS_ALT	"the same, no listener"
#define MEMFD		"the same on a memfd (VMMs today)"
#define VU_BLK		"the same, vhost-user-blk"
#define PER_PAGE	"one per 4 KiB page (QEMU)"
#define ANON		"anonymous RAM, 4 KiB pages"
#define THP		"anonymous RAM, MADV_HUGEPAGE"
#define BARE_VM		"bare KVM VM, same RAM"
#define ONE_VCPU	"the same, 1 vCPU"
/* --quick starts fewer (bench/runner/scale.c; vms_100_count says) */
#define VMS_100		"100 VMs (--quick: 20)"

#define L1(lbl, k)	.part = PART_LEVEL1, .label = lbl, .key = k
#define RN(lbl, k)	.part = PART_RUNNER, .label = lbl, .key = k

/*
 * The snapshot rows of one share of private pages (bench/snapshot.c): save
 * beside write(), restore beside read() (the 70 % targets) and
 * beside read() into fresh memory, and the size over the memory held.
 */
#define WRITE		"write() + fsync, same bytes"
#define ON70		.goal = GOAL_LE, .on_ratio = true, .target = 1 / 0.7, \
			.target_text = ">= 70% (<= 1.43x)"
#define SNAP_ROWS(p, pct) \
	{ L1("save, " pct " private, sealed", "snap_" p "_save_mb_per_s"), \
	  .base_key = "snap_" p "_write_mb_per_s", .base_label = WRITE, \
	  .rate = true, ON70 }, \
	{ L1("restore, " pct " private", "snap_" p "_restore_mb_per_s"), \
	  .base_key = "snap_" p "_read_mb_per_s", \
	  .base_label = "read() of it, page cache", \
	  .rate = true, ON70 }, \
	{ L1("restore, " pct " private", "snap_" p "_restore_mb_per_s"), \
	  .name = "snap_" p "_restore_vs_fresh", \
	  .base_key = "snap_" p "_read_fresh_mb_per_s", \
	  .base_label = "read() of it into a fresh memfd", .rate = true }, \
	{ L1("save, " pct " private, sealed", "snap_" p "_save_mb_per_s"), \
	  .name = "snap_" p "_save_vs_1w", \
	  .base_key = "snap_" p "_save_1w_mb_per_s", \
	  .base_label = "the same, one sealing worker", .rate = true }, \
	{ L1("restore, " pct " private", "snap_" p "_restore_mb_per_s"), \
	  .name = "snap_" p "_restore_vs_0t", \
	  .base_key = "snap_" p "_restore_0t_mb_per_s", \
	  .base_label = "the same, no data thread", .rate = true }, \
	{ L1("snapshot size over memory, " pct, "snap_" p "_size_over_pct"), \
	  .goal = GOAL_LE, .target = 1, .target_text = "<= +1 %" }

/*
 * Huge RAM (a memfd of shmem THP, bench/runner/touch.c) beside THP
 * anonymous memory; optional: not measured where the system refuses
 * huge files. The PMD row says whether the RAM really was huge.
 */
#define HUGE_THP(sz)	.base_key = "guest_touch_" sz "huge_thp_ms", \
			.base_label = THP, .optional = true
#define HUGE_ROWS(size, sz) \
	{ RN("guest first touch, huge RAM, " size, \
	     "guest_touch_" sz "huge_ms"), HUGE_THP(sz) }, \
	{ RN("touch + prefault, huge RAM, " size, \
	     "guest_touch_" sz "huge_prefault_total_ms"), HUGE_THP(sz), \
	  .goal = GOAL_LE, .on_ratio = true, .target = 1.5, \
	  .target_text = "<= 1.5x" }, \
	{ RN("touch after prefault, huge RAM, " size, \
	     "guest_touch_" sz "huge_prefault_ms"), HUGE_THP(sz) }, \
	{ RN("prefault itself, huge RAM, " size, \
	     "guest_prefault_" sz "huge_ms"), HUGE_THP(sz) }, \
	{ RN("prefault, huge RAM, 2 vCPUs, " size, \
	     "guest_prefault_" sz "huge_split2_ms"), .optional = true, \
	  .base_key = "guest_prefault_" sz "huge_ms", .base_label = ONE_VCPU }, \
	{ RN("touch + pf, huge RAM, 2 vCPUs, " size, \
	     "guest_touch_" sz "huge_prefault_split2_total_ms"), HUGE_THP(sz) }, \
	{ RN("huge RAM mapped by PMDs, " size, \
	     "guest_huge_" sz "pmd_mib"), .optional = true }, \
	{ RN("... pre-faulted, " size, \
	     "guest_huge_" sz "prefault_pmd_mib"), .optional = true }

/*
 * A conversion in every 2 MiB region of a 1 GiB file (bench/huge.c): on a
 * GMEM_FLAG_HUGE file beside one where nothing is huge (no competitor
 * keeps the mixed-level flag; the tracking runs on both), and the plain
 * one alone where the system refuses huge files.
 */
#define LEVEL_ROWS(what, k) \
	{ L1(what ", 1 GiB file, per region", "lvl_" k "_plain_us") }, \
	{ L1(what ", huge 1 GiB file, per region", "lvl_" k "_huge_us"), \
	  .base_key = "lvl_" k "_plain_us", \
	  .base_label = "the same, nothing huge", .optional = true }

/*
 * A snapshot of the runner (bench/runner/resume.c): restored to the
 * guest's first entry and first exit beside a cold boot of the same guest
 * and RAM; migration downtime beside the same bytes through a socket pair.
 * --quick uses smaller guests (the _mib rows say which).
 */
#define COLD_BOOT	"cold boot to first sync, same RAM"
#define RESUME_ROWS(k, size) \
	{ RN("restore->entry, " size, "resume_" k "_entry_us"), \
	  .base_key = "resume_" k "_cold_us", .base_label = COLD_BOOT }, \
	{ RN("restore->exit, " size, "resume_" k "_exit_us"), \
	  .base_key = "resume_" k "_cold_us", .base_label = COLD_BOOT }
#define MIGRATE_ROW(k, size) \
	{ RN("migration downtime, " size, "migrate_" k "_downtime_ms"), \
	  .base_key = "migrate_" k "_copy_ms", \
	  .base_label = "its bytes through a socket pair" }

const char *const cli_bench_part_names[NR_PARTS] = { "level1", "runner" };

const struct measure cli_bench_measures[] = {
	{ L1("1 GiB -> private, mapped", "contig_1g_to_private_us"),
	  .base_key = "contig_1g_mprotect_none_us",
	  .base_label = "mprotect 1 GiB PROT_NONE" },
	{ L1("1 GiB -> shared, mapped", "contig_1g_to_shared_us"),
	  .base_key = "contig_1g_mprotect_rw_us",
	  .base_label = "mprotect 1 GiB RW" },
	{ L1("1 TiB uniform -> private", "sparse_1t_to_private_us"),
	  .goal = GOAL_LT, .target = 100, .target_text = "< 100 us" },
	{ L1("1 TiB uniform -> shared", "sparse_1t_to_shared_us"),
	  .goal = GOAL_LT, .target = 100, .target_text = "< 100 us" },
	{ L1("alternating 4 KiB, 1 GiB", "alt_1g_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true,
	  .goal = GOAL_GE, .target = 500000, .target_text = ">= 500000/s" },
	{ L1("alternating 4 KiB, mapped", "alt_64m_mapped_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true },
	{ L1("state map, 1 GiB alternating", "alt_1g_state_bytes"),
	  .base_key = "alt_1g_bitmap_bytes", .base_label = "QEMU's bitmap",
	  .goal = GOAL_LE, .target = 65536, .target_text = "<= 64 KiB/GiB" },
	{ L1("state map, 1 TiB uniform", "uniform_1t_state_bytes") },
	{ L1("accessor read, 64 B", "read_64b_gmem_read_ns"),
	  .base_key = "read_64b_bare_ns",
	  .base_label = "memslot lookup + memcpy", .goal = GOAL_LE,
	  .on_ratio = true, .target = 2, .target_text = "<= 2x" },
	{ L1("alternating 4 KiB, read load", "alt_loaded_conversions_per_s"),
	  .base_key = "alt_64m_mprotect_per_s",
	  .base_label = "mprotect alternating 4 KiB", .rate = true,
	  .goal = GOAL_GE, .target = 500000, .target_text = ">= 500000/s" },
	{ L1("reads beside those conversions", "alt_loaded_reads_per_s") },
	{ L1("populate, copy + measure", "populate_mb_per_s"),
	  .base_key = "populate_bound_mb_per_s",
	  .base_label = "slower of memcpy, SHA-256", .rate = true,
	  .goal = GOAL_LE, .on_ratio = true, .target = 1 / 0.7,
	  .target_text = ">= 70% (<= 1.43x)" },
	{ L1("1 GiB touched->private PRESERVE", "conv_1g_preserve_us"),
	  .base_key = "conv_1g_twob_us", .base_label = TWOB, .base_note = true },
	{ L1("1 GiB touched->private ZERO", "conv_1g_zero_us"),
	  .base_key = "conv_1g_twob_us", .base_label = TWOB, .base_note = true },
	{ L1("1 GiB ZERO beside zeroing it", "conv_1g_zero_us"),
	  .name = "conv_1g_zero_vs_memset", .base_key = "conv_1g_memset_us",
	  .base_label = "memset of the same 1 GiB",
	  .limit_key = "conv_1g_memset_gb_per_s",
	  .limit_text = "one thread zeroing", .base_note = true,
	  .goal = GOAL_LE, .on_ratio = true, .target = 1.5,
	  .target_text = "<= 1.5x" },
	{ L1("4 KiB touched->private PRESERVE", "conv_4k_preserve_us"),
	  .base_key = "conv_4k_twob_us", .base_label = TWOB, .base_note = true },
	{ L1("4 KiB touched->private ZERO", "conv_4k_zero_us"),
	  .base_key = "conv_4k_twob_us", .base_label = TWOB, .base_note = true },
	{ L1("4 KiB untouched->private PRESERVE",
	     "conv_4k_untouched_preserve_us"),
	  .base_key = "conv_4k_untouched_twob_us", .base_label = TWOB,
	  .base_note = true },
	{ L1("4 KiB untouched->private ZERO", "conv_4k_untouched_zero_us"),
	  .base_key = "conv_4k_untouched_twob_us", .base_label = TWOB,
	  .base_note = true },
	{ L1("64 GiB guest private at boot", "boot_64g_gmem_us"),
	  .base_key = "boot_64g_pagestore_us", .base_label = PAGESTORE,
	  .base_note = true },
	{ L1("1 TiB guest private at boot", "boot_1t_gmem_us"),
	  .base_key = "boot_1t_pagestore_us", .base_label = PAGESTORE,
	  .base_note = true },
	{ L1("read 64 B, 1 slot, no range", "slots_1_unfragmented_gmem_read_ns"),
	  .base_key = "slots_1_bare_ns", .base_label = BARE },
	{ L1("read 64 B, 1 slot, 100k ranges", "slots_1_gmem_read_ns"),
	  .base_key = "slots_1_bare_ns", .base_label = BARE, LE2 },
	{ L1("read 64 B, 64 slots, 100k ranges", "slots_64_gmem_read_ns"),
	  .base_key = "slots_64_bare_ns", .base_label = BARE, LE2 },
	{ L1("read 64 B, 512 slots, 100k ranges", "slots_512_gmem_read_ns"),
	  .base_key = "slots_512_bare_ns", .base_label = BARE, LE2 },
	{ L1("the same, converting: 1 slot",
	     "slots_1_loaded_gmem_read_ns"),
	  .base_key = "slots_1_loaded_bare_ns", .base_label = BARE_LOADED,
	  LE3 },
	{ L1("the same, converting: 64 slots",
	     "slots_64_loaded_gmem_read_ns"),
	  .base_key = "slots_64_loaded_bare_ns", .base_label = BARE_LOADED,
	  LE3 },
	{ L1("the same, converting: 512 slots",
	     "slots_512_loaded_gmem_read_ns"),
	  .base_key = "slots_512_loaded_bare_ns", .base_label = BARE_LOADED,
	  LE3 },
	{ L1("the converting thread, paced", "slots_loaded_gmem_conv_per_s"),
	  .base_key = "slots_loaded_twob_conv_per_s",
	  .base_label = "the two-backing converter", .rate = true },
	{ L1("1 GiB -> private, 1 listener", "listen_1_1g_private_us"),
	  .base_key = "listen_0_1g_private_us", .base_label = NOLS },
	{ L1("1 GiB -> private, 8 listeners", "listen_8_1g_private_us"),
	  .base_key = "listen_0_1g_private_us", .base_label = NOLS },
	{ L1("1 GiB -> shared, 1 listener", "listen_1_1g_shared_us"),
	  .base_key = "listen_0_1g_shared_us", .base_label = NOLS },
	{ L1("1 GiB -> shared, 8 listeners", "listen_8_1g_shared_us"),
	  .base_key = "listen_0_1g_shared_us", .base_label = NOLS },
	{ L1("alternating 4 KiB, 1 listener", "listen_1_alt_per_s"),
	  .base_key = "listen_0_alt_per_s", .base_label = NOLS_ALT,
	  .rate = true },
	{ L1("alternating 4 KiB, 8 listeners", "listen_8_alt_per_s"),
	  .base_key = "listen_0_alt_per_s", .base_label = NOLS_ALT,
	  .rate = true },
	{ L1("listener calls for 1 GiB contiguous", "listen_1g_calls"),
	  .goal = GOAL_LE, .target = 1, .target_text = "1 per listener" },
	{ L1("4 KiB -> private, vhost-user-blk", "vhost_blk_4k_us"),
	  .base_key = "vhost_none_4k_us", .base_label = NODEV,
	  .optional = true },
	{ L1("4 KiB -> private, vhost-user-net", "vhost_net_4k_us"),
	  .base_key = "vhost_none_4k_us", .base_label = NODEV,
	  .optional = true },
	{ L1("1 GiB -> private, vhost-user-blk", "vhost_blk_1g_us"),
	  .base_key = "vhost_none_1g_us", .base_label = NODEV,
	  .optional = true },
	{ L1("1 GiB -> private, vhost-user-net", "vhost_net_1g_us"),
	  .base_key = "vhost_none_1g_us", .base_label = NODEV,
	  .optional = true },
	{ L1("blk table messages, 1 GiB", "vhost_blk_1g_messages"),
	  .goal = GOAL_LE, .target = 1, .target_text = "1 per device",
	  .optional = true },
	{ L1("net table messages, 1 GiB", "vhost_net_1g_messages"),
	  .goal = GOAL_LE, .target = 1, .target_text = "1 per device",
	  .optional = true },
	{ L1("4 KiB -> private, VFIO device", "vfio_dev_4k_us"),
	  .base_key = "vfio_none_4k_us", .base_label = NODEV,
	  .optional = true },
	{ L1("4 KiB -> private, VFIO device", "vfio_dev_4k_us"),
	  .name = "vfio_dev_4k_vs_vhost", .base_key = "vfio_vu_4k_us",
	  .base_label = VU_BLK, .optional = true },
	{ L1("64 MiB -> private, VFIO device", "vfio_dev_64m_us"),
	  .base_key = "vfio_none_64m_us", .base_label = NODEV,
	  .optional = true },
	{ L1("64 MiB -> private, VFIO device", "vfio_dev_64m_us"),
	  .name = "vfio_dev_64m_vs_vhost", .base_key = "vfio_vu_64m_us",
	  .base_label = VU_BLK, .optional = true },
	{ L1("IOMMU mappings, alternating pages", "vfio_maps_gmem"),
	  .base_key = "vfio_maps_page", .base_label = PER_PAGE,
	  .optional = true },
	{ L1("time to make those mappings", "vfio_maps_gmem_ms"),
	  .base_key = "vfio_maps_page_ms", .base_label = PER_PAGE,
	  .optional = true },
	{ L1("NVMe writes 4 KiB, guest_memfd", "vfio_nvme_write_mbs"),
	  .base_key = "vfio_nvme_write_memfd_mbs", .base_label = MEMFD,
	  .rate = true, .optional = true },
	{ L1("NVMe reads 4 KiB, guest_memfd", "vfio_nvme_read_mbs"),
	  .base_key = "vfio_nvme_read_memfd_mbs", .base_label = MEMFD,
	  .rate = true, .optional = true },
	SNAP_ROWS("0", "0 %"),
	SNAP_ROWS("50", "50 %"),
	SNAP_ROWS("100", "100 %"),
	{ L1("cp of a memfd (copy_file_range)", "snap_cp_cfr_mb_per_s"),
	  .base_key = "snap_100_write_mb_per_s", .base_label = WRITE,
	  .rate = true, .base_note = true, .optional = true },
	{ L1("cp of a memfd (read/write 128 KiB)", "snap_cp_rw_mb_per_s"),
	  .base_key = "snap_100_write_mb_per_s", .base_label = WRITE,
	  .rate = true, .base_note = true, .optional = true },
	LEVEL_ROWS("4 KiB -> private", "4k_private"),
	LEVEL_ROWS("4 KiB -> shared", "4k_shared"),
	LEVEL_ROWS("2 MiB -> private", "2m_private"),
	LEVEL_ROWS("2 MiB -> shared", "2m_shared"),
	{ L1("huge 1 GiB file mapped by PMDs, touched", "lvl_pmd_touched_mib"),
	  .optional = true },
	{ L1("... after the 4 KiB round trips", "lvl_pmd_after_mib"),
	  .optional = true },
	{ RN("VM start to first sync", "vm_start_runner_us"),
	  .base_key = "vm_start_bare_us",
	  .base_label = "bare KVM ioctl sequence", .goal = GOAL_LE,
	  .on_ratio = true, .target = 1.5, .target_text = "<= 1.5x" },
	{ RN("conversion round trip, 4 KiB", "conv_roundtrip_us"),
	  .base_key = "portio_exit_us", .base_label = "2 bare port-I/O exits",
	  .base_scale = 2 },
	{ RN("conversions/s, 1 vCPU", "conv_1vcpu_per_s"),
	  .base_key = "portio_1vcpu_exits_per_s",
	  .base_label = "port-I/O exits/s, 1 vCPU", .rate = true },
	{ RN("conversions/s, 2 vCPUs", "conv_2vcpu_per_s"),
	  .base_key = "portio_2vcpu_exits_per_s",
	  .base_label = "port-I/O exits/s, 2 vCPUs", .rate = true },
	{ RN("conversions/s, 4 vCPUs", "conv_4vcpu_per_s"),
	  .base_key = "portio_4vcpu_exits_per_s",
	  .base_label = "port-I/O exits/s, 4 vCPUs", .rate = true },
	{ RN("guest first touch, 256 MiB", "guest_touch_gmem_ms"),
	  .base_key = "guest_touch_anon_ms", .base_label = ANON },
	{ RN("guest first touch, 256 MiB", "guest_touch_gmem_ms"),
	  .name = "guest_touch_gmem_vs_thp", .base_key = "guest_touch_thp_ms",
	  .base_label = THP },
	{ RN("guest touch + prefault, 256 MiB",
	     "guest_touch_prefault_total_ms"),
	  .base_key = "guest_touch_prefault_thp_ms", .base_label = THP,
	  .goal = GOAL_LE, .on_ratio = true, .target = 1.5,
	  .target_text = "<= 1.5x" },
	{ RN("guest touch after prefault, 256 MiB", "guest_touch_prefault_ms"),
	  .base_key = "guest_touch_prefault_thp_ms", .base_label = THP },
	{ RN("prefault itself, 256 MiB", "guest_prefault_ms"),
	  .base_key = "guest_touch_prefault_thp_ms", .base_label = THP },
	{ RN("prefault itself, 2 vCPUs, 256 MiB", "guest_prefault_split2_ms"),
	  .base_key = "guest_prefault_ms", .base_label = ONE_VCPU },
	{ RN("touch + prefault, 2 vCPUs, 256 MiB",
	     "guest_touch_prefault_split2_total_ms"),
	  .base_key = "guest_touch_prefault_thp_ms", .base_label = THP },
	{ RN("guest touch + prefault, 1 GiB",
	     "guest_touch_1g_prefault_total_ms"),
	  .base_key = "guest_touch_1g_thp_ms", .base_label = THP,
	  .goal = GOAL_LE, .on_ratio = true, .target = 1.5,
	  .target_text = "<= 1.5x" },
	{ RN("guest touch after prefault, 1 GiB", "guest_touch_1g_prefault_ms"),
	  .base_key = "guest_touch_1g_thp_ms", .base_label = THP },
	{ RN("prefault itself, 1 GiB", "guest_prefault_1g_ms"),
	  .base_key = "guest_touch_1g_thp_ms", .base_label = THP },
	{ RN("prefault itself, 2 vCPUs, 1 GiB", "guest_prefault_1g_split2_ms"),
	  .base_key = "guest_prefault_1g_ms", .base_label = ONE_VCPU },
	{ RN("touch + prefault, 2 vCPUs, 1 GiB",
	     "guest_touch_1g_prefault_split2_total_ms"),
	  .base_key = "guest_touch_1g_thp_ms", .base_label = THP },
	HUGE_ROWS("256 MiB", ""),
	HUGE_ROWS("1 GiB", "1g_"),
	{ RN("guest write pass, 256 MiB", "guest_write_gmem_mb_per_s"),
	  .base_key = "guest_write_anon_mb_per_s", .base_label = ANON,
	  .rate = true },
	{ RN("guest read pass, 256 MiB", "guest_read_gmem_mb_per_s"),
	  .base_key = "guest_read_anon_mb_per_s", .base_label = ANON,
	  .rate = true },
	{ RN("VM start, 1 VM alive", "vms_1_start_us"),
	  .base_key = "vms_1_bare_start_us", .base_label = BARE_VM },
	{ RN("VM start, 10 VMs alive", "vms_10_start_us"),
	  .base_key = "vms_10_bare_start_us", .base_label = BARE_VM },
	{ RN("VM start, " VMS_100, "vms_100_start_us"),
	  .base_key = "vms_100_bare_start_us", .base_label = BARE_VM },
	{ RN("Rss per VM, 1 VM", "vms_1_rss_kib"),
	  .base_key = "vms_1_bare_rss_kib", .base_label = BARE_VM },
	{ RN("Rss per VM, 10 VMs", "vms_10_rss_kib"),
	  .base_key = "vms_10_bare_rss_kib", .base_label = BARE_VM },
	{ RN("Rss per VM, " VMS_100, "vms_100_rss_kib"),
	  .base_key = "vms_100_bare_rss_kib", .base_label = BARE_VM },
	RESUME_ROWS("64m", "64 MiB (--quick: 1)"),
	RESUME_ROWS("256m", "256 MiB (--quick: 2)"),
	MIGRATE_ROW("64m", "64 MiB (--quick: 1)"),
	MIGRATE_ROW("256m", "256 MiB (--quick: 2)"),
	MIGRATE_ROW("1g", "1 GiB (--quick: 4)"),
	{ RN("guest blk writes 4 KiB, guest_memfd", "vhost_blk_guest_write_mbs"),
	  .base_key = "vhost_blk_guest_write_memfd_mbs",
	  .base_label = MEMFD, .rate = true, .optional = true },
	{ RN("guest blk reads 4 KiB, guest_memfd", "vhost_blk_guest_read_mbs"),
	  .base_key = "vhost_blk_guest_read_memfd_mbs",
	  .base_label = MEMFD, .rate = true, .optional = true },
};

const size_t cli_bench_nr_measures = sizeof(cli_bench_measures) /
				  sizeof(cli_bench_measures[0]);
