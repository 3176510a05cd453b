/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluice-app: the traced application of the e2e tests and of `make demo`.
 *
 *   sluice-app [-n EVENTS] [-t THREADS] [-d DELAY_US] [-w FILE] [-l FILE]
 *
 * Each of THREADS threads (pinned round-robin to the online CPUs, so
 * several per-CPU streams get data) emits EVENTS events, alternating
 * sluice_app:tick and sluice_app:message.  With -w it first waits until
 * FILE exists (tests start tracing, then let the app go).  It prints the
 * number of events it emitted, which the tests compare with the trace.
 * With -l it then stays alive (its per-PID buffers with it) until FILE
 * exists: the crash-recovery test kills the daemons meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sluice_tp.h"

struct worker {
	pthread_t tid;
	uint32_t index;
	uint64_t events;
	unsigned int delay_us;
};

static void pause_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char text[64];

	if (ncpu > 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->index % (unsigned long)ncpu, &set);
		/* Best effort: an affinity failure only changes which stream is used. */
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (uint64_t seq = 0; seq < w->events; seq++) {
		if (seq % 2 == 0) {
			lttng_ust_tracepoint(sluice_app, tick, w->index, seq);
		} else {
			snprintf(text, sizeof(text), "thread %u says %llu", w->index,
				 (unsigned long long)seq);
			lttng_ust_tracepoint(sluice_app, message, w->index, seq, text);
		}
		if (w->delay_us)
			pause_us(w->delay_us);
	}
	return NULL;
}

/* Wait until `path` exists; bounded (60 s) rather than hang a test.  0 or 1. */
static int wait_for_file(const char *path)
{
	for (int i = 0; access(path, F_OK) != 0; i++) {
		if (i == 60000) {
			fprintf(stderr, "sluice-app: %s never appeared\n", path);
			return 1;
		}
		pause_us(1000);
	}
	return 0;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n EVENTS] [-t THREADS] [-d DELAY_US] [-w FILE] [-l FILE]\n",
		argv0);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long events = 1000, threads = 1, delay_us = 0;
	const char *wait_file = NULL, *linger_file = NULL;
	struct worker *workers;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:d:w:l:")) != -1) {
		char *end = NULL;

		switch (opt) {
		case 'n': events = strtoul(optarg, &end, 10); break;
		case 't': threads = strtoul(optarg, &end, 10); break;
		case 'd': delay_us = strtoul(optarg, &end, 10); break;
		case 'w': wait_file = optarg; break;
		case 'l': linger_file = optarg; break;
		default: return usage(argv[0]);
		}
		if (end && *end)
			return usage(argv[0]);
	}
	if (threads == 0 || threads > 256 || optind != argc)
		return usage(argv[0]);
	if (wait_file && wait_for_file(wait_file))
		return 1;
	workers = calloc(threads, sizeof(*workers));
	if (!workers)
		return 1;
	for (unsigned long i = 0; i < threads; i++) {
		workers[i] = (struct worker){ .index = (uint32_t)i, .events = events,
					      .delay_us = (unsigned int)delay_us };
		if (pthread_create(&workers[i].tid, NULL, run, &workers[i]) != 0) {
			fprintf(stderr, "sluice-app: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned long i = 0; i < threads; i++)
		pthread_join(workers[i].tid, NULL);
	printf("%lu\n", events * threads);
	free(workers);
	/* -l: stay registered (per-PID buffers alive) until told to go. */
	if (linger_file && (fflush(stdout) || wait_for_file(linger_file)))
		return 1;
	return 0;
}
