/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop_epoll.h - production implementation of the events-and-time seam
 * (core/loop.h): one loop per thread over epoll, timerfd and
 * CLOCK_MONOTONIC.
 *
 *  - fd watches are level-triggered epoll registrations (EPOLLIN |
 *    EPOLLRDHUP); EPOLLIN gives LOOP_IN, EPOLLHUP / EPOLLRDHUP give
 *    LOOP_HUP, EPOLLERR gives LOOP_ERR.  The fd stays owned by the caller.
 *  - every timer owns a timerfd (CLOCK_MONOTONIC).  Overruns are coalesced:
 *    a periodic timer that missed several periods runs its callback once.
 *  - loop_wake() / loop_post() queue work under a mutex and write an
 *    eventfd that wakes the owner; the queue runs FIFO.  A callback that
 *    queues more work defers it to the next loop_epoll_run_once().
 *  - removal from a callback is safe: a removed source is flagged and its
 *    memory is kept until the current epoll_wait batch is dispatched, so a
 *    pending event of that source in the same batch is dropped.
 *
 * Thread contract: everything but loop_wake(), loop_post() and
 * loop_epoll_stop() is called from the loop's own thread (or while the loop
 * is not running).  loop_epoll_destroy() must not race with any call.
 */
#ifndef SLUICE_ADAPTERS_POSIX_LOOP_EPOLL_H
#define SLUICE_ADAPTERS_POSIX_LOOP_EPOLL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <urcu/list.h>

#include "loop.h"

#define LOOP_EPOLL_NAME_MAX 32

/* Fields are private to loop_epoll.c; `base` comes first so a cast works. */
struct loop_epoll {
	struct loop base;
	int epfd;
	int evfd;                      /* wakes epoll_wait for wake/post/stop */
	pthread_mutex_t lock;          /* guards `pending` and every wait's state */
	struct cds_list_head pending;  /* woken waits and posts, FIFO (lock) */
	struct cds_list_head sources;  /* live fd, timer and wait sources */
	struct cds_list_head zombies;  /* removed while dispatching; freed after the batch */
	bool dispatching;              /* inside run_once's dispatch */
	atomic_bool stop;
	char name[LOOP_EPOLL_NAME_MAX];
};

/*
 * Create a loop named `name` (for logs; truncated).  Returns 0 and sets
 * *out, or -errno (-EINVAL, -ENOMEM, -EMFILE, ...).
 */
int loop_epoll_create(const char *name, struct loop_epoll **out);

/*
 * Free the loop and every source still registered; pending posts and woken
 * waits are dropped without running.  Callers' fds are not closed.  Must
 * not be called from a callback of this loop.  NULL is a no-op.
 */
void loop_epoll_destroy(struct loop_epoll *l);

/* The generic view used by core code. */
static inline struct loop *loop_epoll_loop(struct loop_epoll *l) { return &l->base; }

/*
 * Wait at most `timeout_ms` (-1 = forever, 0 = poll) for events, then run
 * the callbacks of everything that was ready.  Returns the number of
 * callbacks run (>= 0; 0 also on EINTR) or -errno; -EBUSY when called from
 * one of this loop's callbacks.
 */
int loop_epoll_run_once(struct loop_epoll *l, int timeout_ms);

/*
 * Run until loop_epoll_stop().  Returns 0 after a stop (the stop request is
 * consumed, so the loop can be run again) or -errno if epoll failed.
 */
int loop_epoll_run(struct loop_epoll *l);

/*
 * Ask loop_epoll_run() to return after the batch it is dispatching.  Any
 * thread, or a callback.  A stop that arrives while the loop is not running
 * makes the next loop_epoll_run() return at once.
 */
void loop_epoll_stop(struct loop_epoll *l);

#endif /* SLUICE_ADAPTERS_POSIX_LOOP_EPOLL_H */
