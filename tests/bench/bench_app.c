/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluice-bench-app: the load generator of `make bench` (tests/bench/README.md).
 *
 *   sluice-bench-app [-n EVENTS] [-t THREADS] [-w FILE]
 *
 * THREADS threads (default 1), pinned round-robin to the online CPUs, emit
 * EVENTS events in all (default 1000000, split evenly between the threads)
 * of one fixed 53-byte payload, flat out, with no pause.  With -w it prints
 * "ready" once registered with the session daemon (liblttng-ust does that
 * before main), then waits until FILE exists: the runner samples the machine
 * and then opens the gate.  The clock starts when every thread is pinned and
 * ready and stops when the last one is done.  On success it prints the line
 *
 *   emitted N ns ELAPSED cpu_ns CPU
 *
 * N events emitted, ELAPSED nanoseconds of emission (monotonic clock), CPU
 * nanoseconds of user + system time of the whole process.  Exit status 0 on
 * success, 1 on a run-time failure, 2 on a usage error.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_tp.h"

#define MAX_THREADS 256

struct worker {
	pthread_t tid;
	uint32_t index;
	uint64_t events;
	pthread_barrier_t *ready;
};

/* The payload blob, the same for every event: only thread and seq vary. */
static const uint8_t blob[SLUICE_BENCH_BLOB] = "sluice bench: 41 bytes of fixed payload.";

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu > 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->index % (unsigned long)ncpu, &set);
		/* Best effort: an affinity failure only changes which stream is used. */
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	pthread_barrier_wait(w->ready);
	for (uint64_t seq = 0; seq < w->events; seq++)
		lttng_ust_tracepoint(sluice_bench, event, w->index, seq, blob);
	return NULL;
}

/* Wait until `path` exists; bounded (120 s) rather than hang a run.  0 or 1. */
static int wait_for_file(const char *path)
{
	for (int i = 0; access(path, F_OK) != 0; i++) {
		if (i == 120000) {
			fprintf(stderr, "sluice-bench-app: %s never appeared\n", path);
			return 1;
		}
		pause_ms(1);
	}
	return 0;
}

/* A whole decimal number in [min, max], or -1 (errno-free, no sign, no junk). */
static int parse_count(const char *s, unsigned long long min, unsigned long long max,
		       unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n EVENTS] [-t THREADS (1-%d)] [-w FILE]\n", argv0,
		MAX_THREADS);
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long long events = 1000000, threads = 1;
	const char *wait_file = NULL;
	struct worker *workers;
	pthread_barrier_t ready;
	struct rusage ru;
	uint64_t t0, t1, cpu_ns;
	unsigned long long started = 0;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "n:t:w:")) != -1) {
		switch (opt) {
		case 'n':
			if (parse_count(optarg, 0, ULLONG_MAX / 2, &events))
				return usage(argv[0]);
			break;
		case 't':
			if (parse_count(optarg, 1, MAX_THREADS, &threads))
				return usage(argv[0]);
			break;
		case 'w': wait_file = optarg; break;
		default: return usage(argv[0]);
		}
	}
	if (optind != argc)
		return usage(argv[0]);
	if (wait_file && (puts("ready") < 0 || fflush(stdout) != 0 || wait_for_file(wait_file)))
		return 1;
	workers = calloc(threads, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, "sluice-bench-app: out of memory\n");
		return 1;
	}
	errno = pthread_barrier_init(&ready, NULL, (unsigned int)threads + 1);
	if (errno) {
		perror("sluice-bench-app: pthread_barrier_init");
		free(workers);
		return 1;
	}
	for (unsigned long long i = 0; i < threads; i++) {
		workers[i] = (struct worker){
			.index = (uint32_t)i,
			.events = events / threads + (i < events % threads ? 1 : 0),
			.ready = &ready,
		};
		errno = pthread_create(&workers[i].tid, NULL, run, &workers[i]);
		if (errno) {
			perror("sluice-bench-app: pthread_create");
			/* The barrier cannot be released short of its count: give up at once. */
			_exit(1);
		}
		started++;
	}
	pthread_barrier_wait(&ready);
	t0 = now_ns();
	for (unsigned long long i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	t1 = now_ns();
	if (getrusage(RUSAGE_SELF, &ru) != 0) {
		perror("sluice-bench-app: getrusage");
		rc = 1;
	} else {
		cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
			 ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
		if (printf("emitted %llu ns %llu cpu_ns %llu\n", events,
			   (unsigned long long)(t1 - t0), (unsigned long long)cpu_ns) < 0 ||
		    fflush(stdout) != 0)
			rc = 1;
	}
	pthread_barrier_destroy(&ready);
	free(workers);
	return rc;
}
