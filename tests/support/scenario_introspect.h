/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_introspect.h - read-only looks into the consumer core's private
 * objects (core/consumer_priv.h) for the scenario invariants.  Called only
 * between stepper steps, when no handler runs, so no loop ownership rule is
 * broken by reading another loop's fields.
 */
#ifndef SLUICE_TEST_SCENARIO_INTROSPECT_H
#define SLUICE_TEST_SCENARIO_INTROSPECT_H

#include <stddef.h>

struct consumer;

/*
 * Check the invariants that need the core's state:
 *  - metadata: no stream's pump copied more of the cache into the ring than
 *    the cache holds contiguously, and never reported more as flushed than
 *    it pushed;
 *  - every dispatched data / metadata stream still points at a live channel
 *    (refcount >= 1): no stream outlives its channel.
 * Returns 0, or -1 with a message in msg.
 */
int scn_introspect_check(struct consumer *c, char *msg, size_t len);

#endif /* SLUICE_TEST_SCENARIO_INTROSPECT_H */
