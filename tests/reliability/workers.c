// SPDX-License-Identifier: MIT
/* Worker threads of the stress tests (see workers.h). */
#include <stdatomic.h>

#include "harness.h"
#include "workers.h"

static atomic_bool stop;

bool worker_running(struct worker *w)
{
	w->ops++;
	wd_tick(w->wd);
	return !atomic_load_explicit(&stop, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->wd = wd_register(w->name);
	w->fn(w);
	wd_done(w->wd);
	return NULL;
}

void workers_start(struct worker *w, unsigned int n, uint64_t seed)
{
	atomic_store(&stop, false);
	for (unsigned int i = 0; i < n; i++) {
		w[i].seed = seed * (i + 1);
		TEST_ASSERT(!pthread_create(&w[i].tid, NULL, worker_main, &w[i]),
			    "pthread_create");
	}
}

void workers_stop(struct worker *w, unsigned int n)
{
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
}
