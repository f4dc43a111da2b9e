// SPDX-License-Identifier: MIT
/*
 * The watchdog and the progress ticks (kicking a vCPU out of KVM_RUN is
 * stop.c's).
 *
 * A vCPU spinning on an instruction the host never sees (a VMCALL under
 * PVM, a tight loop) makes no exit, so nothing on its thread can stop it.
 * The watchdog thread looks at when each vCPU last entered KVM_RUN, that
 * is, at its last exit of any kind: a guest that works long between real
 * requests sends heartbeats (GUEST_PORT_HEARTBEAT) and is never stopped.
 * Past the limit it sets the vCPU's immediate_exit and signals its thread.
 * The signal makes KVM_RUN return EINTR; immediate_exit covers the window
 * where the signal lands just before the thread enters KVM_RUN again.
 *
 * The same thread calls the progress callback every RUNNER_PROGRESS_MS.
 *
 * Lock order: only r->console_lock (rn_progress), a leaf.
 */
#include <time.h>

#include "runner-int.h"
static void check_vcpus(struct runner *r, uint64_t limit_ns)
{
	uint64_t now = rn_now_ns();

	for (unsigned int i = 0; i < r->cfg.nr_vcpus; i++) {
		struct rvcpu *v = &r->vcpus[i];
		uint64_t since = atomic_load(&v->run_since);

		/* The vCPU may have entered KVM_RUN after @now was read. */
		if (!since || since > now || now - since < limit_ns ||
		    atomic_load(&v->watchdog_fired))
			continue;
		atomic_store(&v->watchdog_fired, true);
		rn_kick(v);
	}
}

static void *watchdog_thread(void *arg)
{
	struct runner *r = arg;
	uint64_t limit = r->cfg.watchdog_ms * 1000000ULL;
	uint64_t tick = limit / 8, last_progress = rn_now_ns();
	struct timespec ts;

	if (tick > 50000000ULL)
		tick = 50000000ULL;
	if (tick < 1000000ULL)
		tick = 1000000ULL;
	ts.tv_sec = tick / 1000000000ULL;
	ts.tv_nsec = tick % 1000000000ULL;
	/* At once: even a short run shows its line (and the tests see it). */
	if (r->cfg.on_progress)
		rn_progress(r, false);
	while (!atomic_load(&r->watchdog_quit)) {
		nanosleep(&ts, NULL);
		check_vcpus(r, limit);
		if (r->cfg.on_progress && rn_now_ns() - last_progress >=
		    RUNNER_PROGRESS_MS * 1000000ULL) {
			last_progress = rn_now_ns();
			rn_progress(r, false);
		}
	}
	return NULL;
}

int rn_watchdog_start(struct runner *r)
{
	int ret;

	atomic_store(&r->watchdog_quit, false);
	ret = pthread_create(&r->watchdog, NULL, watchdog_thread, r);
	if (ret)
		return -ret;
	r->watchdog_started = true;
	return 0;
}

void rn_watchdog_stop(struct runner *r)
{
	if (!r->watchdog_started)
		return;
	atomic_store(&r->watchdog_quit, true);
	pthread_join(r->watchdog, NULL);
	r->watchdog_started = false;
}
