/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * invariants.h - the consumer's safety invariants on the simulation,
 * checked by the sim stepper after every step (an after-step hook) in every
 * fixture that runs a consumer there: the scenario runner, test_consumer,
 * the capture replay and the dispatch fuzzer.  Runs on the stepper's thread
 * between two steps, when no handler runs, so reading the objects of every
 * loop breaks no ownership rule.
 *
 * After every step:
 *  - every sub-buffer got is put again within the same handler (handlers
 *    never block, so a hold never spans steps), while no ring-buffer fault
 *    fired: a failed put legitimately keeps the hold for a retry;
 *  - every dispatched data / metadata stream points at a live channel
 *    (refcount >= 1): no stream outlives its channel;
 *  - metadata: no stream's pump copied more of the cache into the ring than
 *    the cache holds contiguously, nor reported more flushed than it pushed;
 *  - on_quit at most once.
 * The first violation is kept (message and step); later steps are not checked.
 */
#ifndef SLUICE_TEST_INVARIANTS_H
#define SLUICE_TEST_INVARIANTS_H

#include <stdint.h>

#include "sim_loop.h"

struct consumer;
struct rb;

#define INVARIANTS_MSG_MAX 512

struct invariants {
	struct sim_step_hook hook;
	struct sim_stepper *st;
	struct consumer *c;
	struct rb *rb;                      /* the sim ring buffer the consumer reads */
	const struct sim_faults *faults;    /* the table of rb's world */
	const int *quit_calls;              /* the fixture's on_quit count */
	char msg[INVARIANTS_MSG_MAX];       /* first violation, "" while none */
	uint64_t step;                      /* stepper step it was seen after */
};

/*
 * Check consumer `c` (reading sim ring buffer `rb`, faults from `faults`)
 * after every step of `st` from now on, until invariants_detach(), which
 * must come before consumer_destroy().
 */
void invariants_attach(struct invariants *inv, struct sim_stepper *st, struct consumer *c,
		       struct rb *rb, const struct sim_faults *faults, const int *quit_calls);
void invariants_detach(struct invariants *inv);

#endif /* SLUICE_TEST_INVARIANTS_H */
