/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_reaper.c - the reaper thread: a FIFO of jobs (channel destroys of
 * ustctl_rb.c) run off the event loops, so that a library call looping on
 * a corrupted ring buffer blocks no loop (contract in ustctl_reaper.h).
 * Runs on its own detached thread; submit and drain are called from any
 * thread (the cmd loop, teardown, tests).
 */
#include "ustctl_reaper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <urcu/list.h>

#include "log.h"

struct job {
	struct cds_list_head node;
	void (*fn)(void *arg);
	void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;   /* a job was queued */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;   /* queue empty, nothing running */
static CDS_LIST_HEAD(queue);
static bool started, busy;

/* The reaper: take the oldest job, run it unlocked, repeat. */
static void *reaper_main(void *arg)
{
	sigset_t s;

	(void)arg;
	/* The watchdog's signal must reach us (we inherit the submitter's mask). */
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	pthread_mutex_lock(&lock);
	for (;;) {
		struct job *j;

		while (cds_list_empty(&queue)) {
			busy = false;
			pthread_cond_broadcast(&idle);
			pthread_cond_wait(&work, &lock);
		}
		j = cds_list_first_entry(&queue, struct job, node);
		cds_list_del(&j->node);
		busy = true;
		pthread_mutex_unlock(&lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&lock);
	}
	return NULL;
}

/* Start the thread (lock held).  false: run jobs inline. */
static bool start_locked(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	int ret;

	if (started)
		return true;
	ret = pthread_attr_init(&attr);
	if (ret == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ret = pthread_create(&tid, &attr, reaper_main, NULL);
		pthread_attr_destroy(&attr);
	}
	if (ret != 0) {
		ERR("reaper thread: %s; ring-buffer teardown runs on the caller's loop",
		    log_strerror(ret));
		return false;
	}
	started = true;
	return true;
}

void ustctl_reaper_submit(void (*fn)(void *arg), void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	bool queued = false;

	if (j) {
		j->fn = fn;
		j->arg = arg;
		pthread_mutex_lock(&lock);
		if (start_locked()) {
			cds_list_add_tail(&j->node, &queue);
			busy = true;
			pthread_cond_signal(&work);
			queued = true;
		}
		pthread_mutex_unlock(&lock);
	} else {
		ERR("reaper: out of memory; ring-buffer teardown runs on the caller's loop");
	}
	if (!queued) {
		free(j);
		fn(arg);
	}
}

bool ustctl_reaper_drain(unsigned int timeout_ms)
{
	struct timespec until;
	bool drained;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (busy && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&idle, &lock, &until);
	drained = !busy;
	pthread_mutex_unlock(&lock);
	return drained;
}
