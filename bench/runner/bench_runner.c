// SPDX-License-Identifier: MIT
/*
 * bench-runner: the runner benchmark (measure.c) on its own, as text.
 * `gmem bench` runs the same code and adds ratios and target marks.
 * Prints numbers only; nothing here asserts on time.
 */
#include <errno.h>
#include <stdio.h>

#include "measure.h"

static void print_text(const struct bench_table *t)
{
	printf("VM start to first sync (median of %.0f):\n",
	       bench_value(t, "vm_start_samples"));
	printf("  runner (libgmem)       %8.1f us\n",
	       bench_value(t, "vm_start_runner_us"));
	printf("  bare ioctls            %8.1f us\n",
	       bench_value(t, "vm_start_bare_us"));
	printf("  ratio                  %8.2fx (target <= 1.5x)\n",
	       bench_value(t, "vm_start_ratio"));
	printf("guest-requested conversion round trip (1 vCPU, doorbell):\n");
	printf("  bare port-I/O exit     %8.2f us\n",
	       bench_value(t, "portio_exit_us"));
	printf("  4 KiB private+shared   %8.2f us (two doorbell exits)\n",
	       bench_value(t, "conv_roundtrip_us"));
	printf("  per conversion         %8.2f us, %.2f us above its exit\n",
	       bench_value(t, "conv_per_conversion_us"),
	       bench_value(t, "conv_above_exit_us"));
	printf("conversions with 2 vCPUs:\n");
	printf("  %.0f conversions in %.3f s: %.0f conversions/s\n",
	       bench_value(t, "conv_2vcpu_conversions"),
	       bench_value(t, "conv_2vcpu_seconds"),
	       bench_value(t, "conv_2vcpu_per_s"));
}

int main(void)
{
	struct bench_opts o = { 0 };
	struct bench_table t = { 0 };
	int r = bench_runner(&o, &t);

	if (r) {
		fprintf(stderr, "bench-runner: %s\n", t.error);
		return r == -ENODEV ? 77 : 1;
	}
	print_text(&t);
	return 0;
}
