/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_loop.h - a loop (core/loop.h) that forwards every call to a sim
 * loop and remembers which waits and posts are pending, by name, so that a
 * scenario can say "run this step while the command handler is waiting on
 * `PUSH_METADATA flushed`" (`when waiting ...`) or "... while the GET_CHANNEL
 * hand-off is posted to the data loop but has not run" (`when posted ...`).
 *
 * The core never sees the difference: same ordering, same sources, the sim
 * stepper still picks every event.  One tracker per process at a time (the
 * wake / remove ops carry no loop, so the tracker is found through a static).
 */
#ifndef SLUICE_TEST_SCENARIO_LOOP_H
#define SLUICE_TEST_SCENARIO_LOOP_H

#include <stdbool.h>

#include <urcu/list.h>

#include "loop.h"

struct scn_loop {
	struct loop base;            /* first: (struct loop *) casts work */
	struct loop *inner;
};

struct scn_tracker {
	struct cds_list_head pending;   /* struct scn_pending, creation order */
	unsigned long waits_added;
	unsigned long posts_added;
};

/* Install the process-wide tracker (empty). */
void scn_tracker_init(struct scn_tracker *t);
/* Forget every record (call after sim_stepper_fini: sources are gone). */
void scn_tracker_fini(struct scn_tracker *t);
/* Wrap `inner` into l (l->base is what the core gets). */
void scn_loop_wrap(struct scn_loop *l, struct loop *inner);
/*
 * Is a wait (posts == false) or post (posts == true) pending whose name
 * contains `sub`?  A wait counts as pending until woken.
 */
bool scn_tracker_pending(const struct scn_tracker *t, const char *sub, bool posts);
/* Names of the pending waits and posts, "; "-separated, into buf (for messages). */
void scn_tracker_describe(const struct scn_tracker *t, char *buf, size_t len);

#endif /* SLUICE_TEST_SCENARIO_LOOP_H */
