/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_loop.h - simulation implementation of the events-and-time seam
 * (core/loop.h): N named loops ("cmd", "data", "metadata", ...) stepped by
 * one seeded stepper on one thread, over the virtual clock of a sim_world.
 *
 * One step (sim_step):
 *  1. Collect the ready events of every loop, in source creation order
 *     (one counter shared by all loops of the stepper; a post counts as
 *     created when it is posted):
 *       - fd watch: poll() with timeout 0 on the real fd; POLLIN gives
 *         LOOP_IN, POLLHUP / POLLRDHUP give LOOP_HUP, POLLERR gives
 *         LOOP_ERR.  The sim's wait/wake-up fds are pipes written
 *         synchronously, so readiness is a function of the steps run.  A
 *         closed fd (POLLNVAL) is never ready, as with epoll, and is flagged
 *         in logs and deadlock reports;
 *       - timer whose deadline <= now;
 *       - woken wait;
 *       - posted function.
 *  2. If k >= 1 events are ready, pick index sim_rand_below(rng, k) (no
 *     draw when k == 1, so a forced step does not shift later choices), run
 *     that one callback, count the step, run the after-step hooks:
 *     SIM_STEP_STEPPED.
 *  3. Else if a timer exists, move the world clock to the earliest deadline
 *     (ties: lowest creation order) without running anything:
 *     SIM_STEP_ADVANCED_TIME.  No wall time passes.
 *  4. Else if a wait is pending, nothing can ever become ready:
 *     SIM_STEP_DEADLOCK, with a report naming every pending wait and every
 *     fd watch (sim_stepper_deadlock_report()).
 *  5. Else SIM_STEP_IDLE (only external input, e.g. a test writing a pipe,
 *     can make something ready).
 *
 * The rng is sim_rand_fork(&world->rng, "stepper"): the same seed gives the
 * same sequence of events; different seeds give different interleavings
 * whenever more than one event is ready.
 *
 * Timers: deadline = now + first_ns at creation; a periodic timer's next
 * deadline is the previous deadline + period (exactly k * period), skipping
 * to the first multiple after now when the clock jumped past several
 * (production timerfd coalesces overruns the same way).  A one-shot timer,
 * a wait and a post are removed by the stepper just before their callback.
 *
 * After-step hooks (sim_stepper_add_hook) are how every user of the
 * simulation checks its invariants at each step boundary; between steps the
 * stepper also answers what is pending (sim_stepper_pending), so nobody
 * needs to wrap the loops to track their waits and posts.
 *
 * Removal from callbacks (and from hooks) is safe: the source is unlinked
 * at once and freed after the step.  Everything is single-threaded:
 * loop_wake() / loop_post() are called from callbacks or the test itself.
 */
#ifndef SLUICE_SIM_LOOP_H
#define SLUICE_SIM_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/list.h>

#include "loop.h"
#include "sim_rand.h"
#include "sim_world.h"

#define SIM_LOOP_NAME_MAX 32
#define SIM_REPORT_MAX 4096
#define SIM_EVENT_MAX 160

enum sim_step_result {
	SIM_STEP_STEPPED,        /* one callback ran */
	SIM_STEP_ADVANCED_TIME,  /* nothing ready: the clock moved to the next deadline */
	SIM_STEP_IDLE,           /* nothing ready, no timer, no pending wait */
	SIM_STEP_DEADLOCK,       /* nothing ready, no timer, waits pending */
	SIM_STEP_LIMIT,          /* run helpers: max_steps callbacks ran first */
	SIM_STEP_PRED_TRUE,      /* sim_step_until: the predicate holds */
	SIM_STEP_ERROR,          /* misuse (re-entrant step, bad argument) or poll() failure */
};

struct sim_stepper;

/* Kinds of event sources, as named in logs and reports. */
enum sim_src_kind { SIM_SRC_FD, SIM_SRC_TIMER, SIM_SRC_WAIT, SIM_SRC_POST };

/*
 * An after-step hook, owned by its user and linked into the stepper by
 * sim_stepper_add_hook(): fn(arg) runs after every callback step (not after
 * time advances), hooks in the order they were added.  fn may add and
 * remove sources but must not step, nor add or remove hooks.
 */
struct sim_step_hook {
	struct cds_list_head node;
	void (*fn)(void *arg);
	void *arg;
};

/* One simulated event loop.  `base` first: (struct loop *) casts work. */
struct sim_loop {
	struct loop base;
	struct cds_list_head node;     /* stepper->loops, creation order */
	struct sim_stepper *st;
	char name[SIM_LOOP_NAME_MAX];
};

/* Fields are private to sim_loop.c; the struct is public for embedding. */
struct sim_stepper {
	struct sim_world *world;
	struct sim_rand rng;
	struct cds_list_head loops;     /* struct sim_loop, creation order */
	struct cds_list_head sources;   /* live sources, creation order */
	struct cds_list_head zombies;   /* removed during a step, freed after it */
	size_t nr_sources;
	size_t cap;                     /* capacity of the three scratch arrays */
	struct loop_source **ready;
	unsigned int *ready_events;
	struct pollfd *pfd;
	uint64_t next_seq;
	uint64_t steps;
	bool in_step;
	struct cds_list_head hooks;     /* struct sim_step_hook, run order */
	char last_event[SIM_EVENT_MAX];
	char report[SIM_REPORT_MAX];
};

/* Bind a stepper to `world` (not owned).  Returns 0 or -EINVAL. */
int sim_stepper_init(struct sim_stepper *st, struct sim_world *world);

/*
 * Free every loop and source of the stepper (callers' fds are not closed)
 * and uninstall its log prefix if installed.  Not from a callback.
 */
void sim_stepper_fini(struct sim_stepper *st);

/*
 * Create a loop named `name` (unique within the stepper, truncated to
 * SIM_LOOP_NAME_MAX - 1).  Owned by the stepper.  Returns NULL on bad
 * arguments, a duplicate name or no memory (logged).
 */
struct sim_loop *sim_loop_create(struct sim_stepper *st, const char *name);

/* The loop named `name`, or NULL. */
struct sim_loop *sim_loop_find(struct sim_stepper *st, const char *name);

/* The generic view used by core code. */
static inline struct loop *sim_loop_base(struct sim_loop *sl) { return &sl->base; }

/* One step, as described at the top of this file. */
enum sim_step_result sim_step(struct sim_stepper *st);

/*
 * Step until IDLE or DEADLOCK (returned) or until max_steps callbacks ran
 * in this call (SIM_STEP_LIMIT).  Time advances do not count as steps but
 * are always followed by one.  SIM_STEP_ERROR on misuse.
 */
enum sim_step_result sim_run_until_idle(struct sim_stepper *st, uint64_t max_steps);

/*
 * raft-style: step until pred(arg) holds (checked before the first step and
 * after every step or time advance): SIM_STEP_PRED_TRUE.  Otherwise IDLE,
 * DEADLOCK, LIMIT (max_steps callbacks ran) or ERROR.
 */
enum sim_step_result sim_step_until(struct sim_stepper *st, bool (*pred)(void *arg), void *arg,
				    uint64_t max_steps);

/* Report of the last SIM_STEP_DEADLOCK ("" if none yet). */
const char *sim_stepper_deadlock_report(const struct sim_stepper *st);

/* Callbacks run so far. */
uint64_t sim_stepper_steps(const struct sim_stepper *st);

/* Last event run, e.g. "loop 'cmd' fd 'sessiond' IN|HUP" ("" if none yet). */
const char *sim_stepper_last_event(const struct sim_stepper *st);

/* Run fn(arg) after every step from now on (see struct sim_step_hook); `h` is the caller's. */
void sim_stepper_add_hook(struct sim_stepper *st, struct sim_step_hook *h, void (*fn)(void *arg),
			  void *arg);
/* Unlink a hook added before (not from a hook). */
void sim_stepper_remove_hook(struct sim_step_hook *h);

/*
 * Is a source of `kind` (SIM_SRC_WAIT, SIM_SRC_TIMER or SIM_SRC_POST)
 * pending whose name contains `sub`?  A wait is pending until woken, a
 * timer until removed (or fired, one-shot), a post until it ran.
 */
bool sim_stepper_pending(const struct sim_stepper *st, enum sim_src_kind kind, const char *sub);

/*
 * Every pending wait (woken ones flagged), timer (with its deadline) and
 * post, "; "-separated and truncated to `len`, e.g.
 * "cmd wait 'PUSH_METADATA flushed'; data timer 'monitor' at 1000ns"; "" if none.
 */
void sim_stepper_describe_pending(const struct sim_stepper *st, char *buf, size_t len);

/*
 * Make log lines of this process carry "t=<virtual ns> step=<n>" of `st`
 * (core/log.h log_set_prefix).  One stepper at a time; fini uninstalls it.
 */
void sim_stepper_install_log_prefix(struct sim_stepper *st);

/* The prefix function itself (writes "" when no stepper is installed). */
void sim_stepper_log_prefix(char *buf, size_t len);

#endif /* SLUICE_SIM_LOOP_H */
