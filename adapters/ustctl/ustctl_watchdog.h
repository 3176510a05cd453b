/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_watchdog.h - the deadline rule of the watchdog of ustctl_sigbus.c,
 * as a pure function of what one scan sees and of the time, so that it is
 * unit-tested on a virtual clock (tests/unit/test_ustctl_watchdog.c); the
 * watchdog thread (its period, the signal, the thread table) stays in
 * ustctl_sigbus.c.
 *
 * The watchdog cannot know when a guarded call began without a clock read
 * on every ring-buffer access; instead each scan notes the call number
 * (struct sigbus_guard.seq) it sees running on a thread.  A call is due once
 * the same call was seen running for at least the deadline, counted from
 * the first scan that saw it: it is ended after deadline .. deadline + one
 * period of running.  A thread that is idle, or in another call than at the
 * last scan, starts over.  Not thread-safe: the watchdog's lock covers it.
 */
#ifndef SLUICE_USTCTL_WATCHDOG_H
#define SLUICE_USTCTL_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

/* What the watchdog remembers of one thread between scans; zero = nothing seen. */
struct ustctl_watch {
	unsigned long seen_seq;   /* the call seen running at the last scan (0: none) */
	uint64_t since_ms;        /* when it was first seen */
	bool fired;               /* the caller ended seen_seq already: never twice */
};

/*
 * One scan of one thread at now_ms: `active` and `seq` as read from its
 * guard.  Returns true when call `seq` must be ended now; the caller then
 * sets w->fired if it could signal the thread (otherwise the next scan
 * answers true again).
 */
bool ustctl_watch_due(struct ustctl_watch *w, bool active, unsigned long seq, uint64_t now_ms,
		      unsigned int deadline_ms);

#endif /* SLUICE_USTCTL_WATCHDOG_H */
