// SPDX-License-Identifier: MIT
/*
 * One run of the benchmark guest through the runner: the host takes the
 * time of every sync in on_sync(), on the vCPU's thread, so a span
 * between two syncs is what the guest did between them plus one exit.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "images.h"
#include "job.h"

uint64_t bench_job_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int bench_job_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int on_sync(struct runner *r, unsigned int id, struct guest_mailbox *mb,
		   void *arg)
{
	struct span *s = arg;
	uint64_t t = bench_job_now_ns(), zero = 0;

	(void)r;
	(void)id;
	atomic_compare_exchange_strong(&s->first_sync, &zero, t);
	if (mb->stage < BENCH_NR_SYNC)
		atomic_store(&s->stage[mb->stage], t);
	if (mb->stage == BENCH_SYNC_BEGIN) {
		zero = 0;
		atomic_compare_exchange_strong(&s->begin, &zero, t);
	} else if (mb->stage == BENCH_SYNC_END) {
		atomic_store(&s->end, t);	/* the last END wins */
	}
	return 0;
}

void bench_job_config(struct job *j, struct runner_config *cfg)
{
	uint64_t ram = j->ram_size ? j->ram_size : 1 << 20;

	*cfg = (struct runner_config){
		.nr_vcpus = j->vcpus,
		.ram_size = j->kind == BENCH_START && !j->ram_size ? 0 : ram,
		.image = guest_bench,
		.image_size = guest_bench_size,
		.param = { j->kind, j->n },
		.on_sync = on_sync,
		.arg = &j->s,
		.prefault = j->prefault,
		.huge = j->huge,
		.memfd_backing = j->huge,
	};
}

int bench_job_start(struct bench_table *t, struct job *j, struct runner **out)
{
	struct runner_config cfg;
	struct runner *r;
	int ret;

	memset(&j->s, 0, sizeof(j->s));
	bench_job_config(j, &cfg);
	j->s.t0 = bench_job_now_ns();
	ret = runner_create(&cfg, &r);
	if (ret)
		return bench_fail(t, ret, "runner_create: %s", strerror(-ret));
	if (runner_run(r)) {
		bench_fail(t, -EIO, "%s", runner_error(r));
		runner_destroy(r);
		return -EIO;
	}
	runner_get_stats(r, &j->st);
	j->start_ns = j->s.first_sync - j->s.t0;
	j->ns = j->s.end - j->s.begin;
	*out = r;
	return 0;
}

int bench_job_run(struct bench_table *t, struct job *j)
{
	struct runner *r;
	int ret = bench_job_start(t, j, &r);

	if (!ret)
		runner_destroy(r);
	return ret;
}
