/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop.h - the events-and-time seam.
 *
 * Core logic is a set of handlers that never block: "fd readable / hung up",
 * "timer fired", "a deferred completion was signalled".  A handler that has
 * to wait for something (e.g. the PUSH_METADATA reply waits until the
 * metadata is written) registers a *wait* and returns; whoever satisfies it
 * calls loop_wake() and the waiter's callback runs later, as an event of the
 * waiter's loop.
 *
 * Two implementations:
 *  - production (adapters/posix/loop_epoll.c): one loop per thread over epoll,
 *    timerfd and CLOCK_MONOTONIC; loop_wake()/loop_post() may be called from
 *    any thread (an eventfd wakes the owner).
 *  - simulation (adapters/sim/sim_loop.c): every loop is stepped by one
 *    seeded stepper that picks the next ready event across all loops,
 *    advances virtual time when only timers remain and reports a deadlock
 *    when waits are pending and nothing can ever become ready.
 *
 * Contract common to both:
 *  - fd watches are level-triggered: the callback runs again while the fd
 *    stays readable / hung up, so a handler consumes what it was told about
 *    or removes the watch.
 *  - a source is added and removed only from its own loop's thread (or
 *    while that loop is not running); removal from inside any callback of
 *    that loop, including the source's own, is allowed, and once
 *    loop_remove() returns the callback never runs again.  Because timers
 *    run on the loop that owns them, stopping a timer never waits for a
 *    running handler: the teardown-vs-timer deadlock cannot exist.
 *  - loop_wake() and loop_post() are the only cross-thread calls.
 *  - callbacks of one loop never run concurrently with each other.
 */
#ifndef SLUICE_CORE_LOOP_H
#define SLUICE_CORE_LOOP_H

#include <stdint.h>

/* fd event bits passed to loop_fd_fn */
#define LOOP_IN  0x1u
#define LOOP_HUP 0x2u
#define LOOP_ERR 0x4u

struct loop;
struct loop_source;

typedef void (*loop_fd_fn)(void *arg, int fd, unsigned int events);
typedef void (*loop_fn)(void *arg);

struct loop_ops {
	/* Watch `fd` for input and hang-up.  Returns 0 or -errno. */
	int (*add_fd)(struct loop *loop, int fd, const char *name, loop_fd_fn fn, void *arg,
		      struct loop_source **out);
	/*
	 * Timer firing first after `first_ns`, then every `period_ns`
	 * (0 = one-shot, removed by the loop after it fired: do not remove it
	 * again).  Returns 0 or -errno.
	 */
	int (*add_timer)(struct loop *loop, uint64_t first_ns, uint64_t period_ns, const char *name,
			 loop_fn fn, void *arg, struct loop_source **out);
	/*
	 * A deferred completion: `fn` runs once, on this loop, after
	 * loop_wake() was called on the returned source; the loop frees the
	 * source after `fn` ran.  `name` says who waits on what; the sim prints
	 * it in deadlock reports.  Returns 0 or -errno.
	 */
	int (*add_wait)(struct loop *loop, const char *name, loop_fn fn, void *arg,
			struct loop_source **out);
	/* Signal a wait of `loop` (any thread; idempotent until the callback ran). */
	void (*wake)(struct loop *loop, struct loop_source *src);
	/* Run `fn` once on `loop` soon (any thread).  Returns 0 or -errno. */
	int (*post)(struct loop *loop, const char *name, loop_fn fn, void *arg);
	/* Unregister a source of `loop` (see the contract above). */
	void (*remove)(struct loop *loop, struct loop_source *src);
	/* Monotonic time in ns (virtual in the sim). */
	uint64_t (*now_ns)(struct loop *loop);
};

/* Base of every loop implementation; first member of the implementation. */
struct loop {
	const struct loop_ops *ops;
	const char *name;
};

static inline int loop_add_fd(struct loop *l, int fd, const char *name, loop_fd_fn fn, void *arg,
			      struct loop_source **out)
{ return l->ops->add_fd(l, fd, name, fn, arg, out); }
static inline int loop_add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns,
				 const char *name, loop_fn fn, void *arg, struct loop_source **out)
{ return l->ops->add_timer(l, first_ns, period_ns, name, fn, arg, out); }
static inline int loop_add_wait(struct loop *l, const char *name, loop_fn fn, void *arg,
				struct loop_source **out)
{ return l->ops->add_wait(l, name, fn, arg, out); }
static inline void loop_wake(struct loop *l, struct loop_source *src) { l->ops->wake(l, src); }
static inline int loop_post(struct loop *l, const char *name, loop_fn fn, void *arg)
{ return l->ops->post(l, name, fn, arg); }
static inline void loop_remove(struct loop *l, struct loop_source *src)
{ if (src) l->ops->remove(l, src); }
static inline uint64_t loop_now_ns(struct loop *l) { return l->ops->now_ns(l); }

#endif /* SLUICE_CORE_LOOP_H */
