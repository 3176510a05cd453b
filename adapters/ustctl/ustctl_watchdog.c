/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_watchdog.c - the deadline rule of the ring-buffer watchdog
 * (contract in ustctl_watchdog.h).  Called by the watchdog thread of
 * ustctl_sigbus.c under its lock.
 */
#include "ustctl_watchdog.h"

bool ustctl_watch_due(struct ustctl_watch *w, bool active, unsigned long seq, uint64_t now_ms,
		      unsigned int deadline_ms)
{
	if (!active || seq != w->seen_seq) {
		/* Idle, or a call not seen before: its time starts at this scan. */
		w->seen_seq = active ? seq : 0;
		w->since_ms = now_ms;
		w->fired = false;
		return false;
	}
	return !w->fired && now_ms - w->since_ms >= deadline_ms;
}
