// SPDX-License-Identifier: MIT
/* The hang watchdog of the reliability tests (see watchdog.h). */
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watchdog.h"

static struct wd_thread threads[WD_MAX_THREADS];
static atomic_uint nthreads;
static atomic_bool stopping;
static pthread_t wd_tid;
static unsigned int stall_limit, deadline;

static void dump_stack(int sig)
{
	void *frames[64];
	int n = backtrace(frames, 64);
	static const char hdr[] = "--- thread stack:\n";

	(void)sig;
	if (write(STDERR_FILENO, hdr, sizeof(hdr) - 1) < 0)
		return;
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

struct wd_thread *wd_register(const char *name)
{
	unsigned int i = atomic_fetch_add(&nthreads, 1);

	if (i >= WD_MAX_THREADS) {
		fprintf(stderr, "watchdog: too many threads\n");
		exit(1);
	}
	threads[i].name = name;
	threads[i].tid = pthread_self();
	return &threads[i];
}

/* gdb gives symbolised stacks of every thread, if it is installed. */
static void run_gdb(void)
{
	char pid[16];
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	child = fork();
	if (child == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("gdb", "gdb", "-batch", "-nx", "-p", pid, "-ex",
		       "thread apply all bt", (char *)NULL);
		_exit(127);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
}

static void report_hang(const char *why, unsigned int who)
{
	unsigned int n = atomic_load(&nthreads);

	fprintf(stderr, "FAIL watchdog: %s", why);
	if (who < n)
		fprintf(stderr, " (thread '%s')", threads[who].name);
	fprintf(stderr, "\n");
	for (unsigned int i = 0; i < n; i++) {
		fprintf(stderr, "thread %u '%s': %llu ops\n", i,
			threads[i].name,
			(unsigned long long)atomic_load(&threads[i].progress));
		pthread_kill(threads[i].tid, SIGUSR2);
		usleep(100000);	/* let it print before the next one */
	}
	run_gdb();
	_exit(1);
}

static void *watch(void *arg)
{
	uint64_t last[WD_MAX_THREADS] = { 0 };
	unsigned int still[WD_MAX_THREADS] = { 0 }, elapsed = 0;

	(void)arg;
	while (!atomic_load(&stopping)) {
		unsigned int n = atomic_load(&nthreads);

		sleep(1);
		if (++elapsed > deadline)
			report_hang("test overran its deadline", n);
		for (unsigned int i = 0; i < n; i++) {
			uint64_t p = atomic_load(&threads[i].progress);

			still[i] = p == last[i] ? still[i] + 1 : 0;
			last[i] = p;
			if (still[i] > stall_limit &&
			    !atomic_load(&threads[i].done))
				report_hang("no progress", i);
		}
	}
	return NULL;
}

void wd_start(unsigned int stall_s, unsigned int deadline_s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dump_stack;
	sigaction(SIGUSR2, &sa, NULL);
	stall_limit = stall_s;
	deadline = deadline_s;
	pthread_create(&wd_tid, NULL, watch, NULL);
}

void wd_stop(void)
{
	atomic_store(&stopping, true);
	pthread_join(wd_tid, NULL);
}
