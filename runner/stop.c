// SPDX-License-Identifier: MIT
/*
 * Stopping a VM, which every other runner file may ask for and which asks
 * none of them: the first message wins (runner_stop), every vCPU is
 * kicked out of KVM_RUN with a signal, and the runner's clock.
 *
 * Lock order: r->err_lock is a leaf.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner-int.h"

#define RN_KICK_SIGNAL	SIGUSR1

uint64_t rn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void kick_handler(int sig)
{
	(void)sig;	/* only here to interrupt KVM_RUN */
}

/* No SA_RESTART: the point of the signal is KVM_RUN failing with EINTR. */
int rn_signal_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(RN_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

void rn_kick(struct rvcpu *v)
{
	/* kvm_run is shared with the kernel: store through an atomic view */
	atomic_store((_Atomic __u8 *)&v->run->immediate_exit, 1);
	/* A vCPU not started yet sees immediate_exit or r->stopping. */
	if (atomic_load(&v->started))
		pthread_kill(v->self, RN_KICK_SIGNAL);
}

void rn_kick_all(struct runner *r)
{
	for (unsigned int i = 0; r->vcpus && i < r->cfg.nr_vcpus; i++)
		rn_kick(&r->vcpus[i]);
}

void runner_stop(struct runner *r, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pthread_mutex_lock(&r->err_lock);
	if (!r->error && msg) {
		r->error = msg;
		msg = NULL;
	} else if (!r->error) {
		r->error = strdup("VM stopped");
	}
	pthread_mutex_unlock(&r->err_lock);
	free(msg);
	atomic_store(&r->stopping, true);
	rn_kick_all(r);
}

const char *runner_error(const struct runner *r)
{
	const char *e;

	pthread_mutex_lock((pthread_mutex_t *)&r->err_lock);
	e = r->error;
	pthread_mutex_unlock((pthread_mutex_t *)&r->err_lock);
	return e;
}
