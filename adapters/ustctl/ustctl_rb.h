/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_rb.h - the production ring-buffer adapter: core/rb.h over
 * liblttng-ust-ctl 2.13 (the consumer half of the lttng-ust ring buffer).
 *
 * Only the daemon includes this; the core sees `struct rb` and its ops.
 * Link with -llttng-ust-ctl -llttng-ust-common -lurcu.
 *
 * Behaviour the core can rely on, beyond core/rb.h:
 *   - stream_fds handed to channel_create belong to the adapter whatever the
 *     outcome (closed on failure, closed after the library channel is
 *     destroyed); the library itself never closes fds it did not create.
 *   - Packet accessors on a metadata stream return RB_UNSUPPORTED: the
 *     metadata transport has no packet context (the library would call a
 *     NULL callback there).
 *   - A SIGBUS on a truncated shm file turns the call into RB_ERROR
 *     (logged) instead of killing (or, with lttng-ust 2.13.5, hanging) the
 *     process; ustctl_rb_init() installs the handler that makes this work
 *     (see ustctl_sigbus.h).  So nothing outside this adapter should call
 *     liblttng-ust-ctl ring-buffer functions.
 *   - A library call that faults, fails an assertion or runs past its
 *     deadline on an app-corrupted ring buffer returns RB_CORRUPT (guard
 *     and watchdog: ustctl_sigbus.h); so do calls the library refuses with
 *     -EPERM (its own range check of shm references).
 *   - channel_destroy with live streams is refused (ERR, channel untouched)
 *     rather than leaving the streams dangling; clear while a sub-buffer is
 *     held is refused (RB_ERROR); stream_destroy while one is held puts it
 *     back unconsumed (WARN).
 */
#ifndef SLUICE_USTCTL_RB_H
#define SLUICE_USTCTL_RB_H

#include "rb.h"

/* The ops table; name "ustctl". */
extern const struct rb_ops ustctl_rb_ops;

/*
 * Make `rb` the ustctl adapter (ops = &ustctl_rb_ops, no private context)
 * and install the SIGBUS handler the library depends on.  Call once at
 * start-up, before any thread touches a ring buffer.  Returns 0 or a
 * negative errno (rb untouched then).
 */
int ustctl_rb_init(struct rb *rb);

/*
 * channel_destroy returns at once: the library call runs on the reaper
 * thread (ustctl_reaper.h), bounded by the watchdog (ustctl_sigbus.h).
 * ustctl_rb_drain waits (at most timeout_ms) until every destroy submitted
 * so far is done; true when they are.  Tests call it before counting fds;
 * the daemon at exit, bounded, so a stuck destroy never holds it up.
 */
bool ustctl_rb_drain(unsigned int timeout_ms);
/* Channels whose destroy was stuck or crashed in the library: leaked, counted. */
unsigned long ustctl_rb_abandoned_channels(void);

#endif /* SLUICE_USTCTL_RB_H */
