// SPDX-License-Identifier: MIT
/*
 * runner_pause_at(): every vCPU stops at one sync, so that the VM can be
 * saved while nothing runs (a stop-and-copy).
 *
 * A vCPU whose mailbox holds the sync asked for does not answer it: it
 * completes the port I/O exit (rn_vcpu_complete_exit()), reads its own
 * state into its slot of pause.state and waits. runner_run()'s thread
 * waits until every vCPU is in, then calls the caller's fn (which may call
 * runner_save()), and tells them the outcome: the run ends there, or the
 * sync is answered now and the guest runs on, as if nothing had happened.
 * A vCPU that stops the VM, or a thread that ends, before every vCPU is
 * in lets the others run on (and see the VM stopping) with no fn call.
 *
 * Lock order: pause.lock is a leaf (runner-int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "runner-int.h"

#define PAUSE_POLL_MS	50	/* the main thread looks at stopping */

void rn_pause_init(struct runner *r)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&r->pause.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->pause.cond, &ca);
	pthread_condattr_destroy(&ca);
}

void rn_pause_fini(struct runner *r)
{
	struct rn_pause *p = &r->pause;

	if (p->state) {
		/* registers of a confidential guest: wiped */
		OPENSSL_cleanse(p->state, p->size * r->cfg.nr_vcpus);
		free(p->state);
		p->state = NULL;
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

int runner_pause_at(struct runner *r, uint32_t stage, uint64_t arg0,
		    runner_pause_fn fn, void *arg)
{
	struct rn_pause *p = &r->pause;
	int ret;

	if (!fn || atomic_load(&p->armed) || atomic_load(&r->t0_ns))
		return -EINVAL;
	ret = rn_vlayout_probe(r, &p->layout);
	if (ret)
		return ret;
	p->layout.flags |= RN_VS_SYNC;
	p->size = rn_vstate_size(&p->layout);
	p->state = calloc(r->cfg.nr_vcpus, p->size);
	if (!p->state)
		return -ENOMEM;
	p->stage = stage;
	p->arg0 = arg0;
	p->fn = fn;
	p->arg = arg;
	p->outcome = RN_PAUSE_WAIT;
	atomic_store(&p->armed, true);
	return 0;
}

bool rn_pause_here(struct rvcpu *v)
{
	const struct rn_pause *p = &v->r->pause;

	return atomic_load(&p->armed) && v->mb->stage == p->stage && v->mb->args[0] == p->arg0;
}

enum rn_pause_outcome rn_pause_vcpu(struct rvcpu *v)
{
	struct runner *r = v->r;
	struct rn_pause *p = &r->pause;
	enum rn_pause_outcome out;
	int ret;

	ret = rn_vcpu_complete_exit(v);
	if (!ret)
		ret = rn_vstate_get(v, &p->layout, p->state + v->id * p->size);
	if (ret)
		rn_stop_exit(v, "KVM_RUN", 0,
			     "cannot read the vCPU's state for the snapshot: %s",
			     strerror(-ret));
	pthread_mutex_lock(&p->lock);
	p->in++;
	pthread_cond_broadcast(&p->cond);
	while (p->outcome == RN_PAUSE_WAIT)
		pthread_cond_wait(&p->cond, &p->lock);
	out = p->outcome;
	pthread_mutex_unlock(&p->lock);
	return out;
}

void rn_pause_thread_end(struct rvcpu *v)
{
	struct rn_pause *p = &v->r->pause;

	pthread_mutex_lock(&p->lock);
	p->out++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Until every vCPU is in, one ended, or the VM stops. */
static bool wait_all_in(struct runner *r)
{
	struct rn_pause *p = &r->pause;
	unsigned int n = r->cfg.nr_vcpus;
	bool all;

	pthread_mutex_lock(&p->lock);
	/* runner_stop() does not signal: look at stopping now and then */
	while (p->in < n && !p->out && !atomic_load(&r->stopping)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += PAUSE_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	}
	all = p->in == n;
	pthread_mutex_unlock(&p->lock);
	return all && !atomic_load(&r->stopping);
}

void rn_pause_main(struct runner *r)
{
	struct rn_pause *p = &r->pause;
	bool saved;

	if (!atomic_load(&p->armed))
		return;
	saved = wait_all_in(r) && !p->fn(r, p->arg);
	pthread_mutex_lock(&p->lock);
	p->outcome = saved ? RN_PAUSE_END : RN_PAUSE_RESUME;
	atomic_store(&p->armed, false);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

bool runner_saved(const struct runner *r)
{
	return r->pause.outcome == RN_PAUSE_END;
}
