/* SPDX-License-Identifier: GPL-2.0-only */
/* monitor.h - the monitor timer of data channels, one per period (data loop). */
#ifndef SLUICE_CORE_MONITOR_H
#define SLUICE_CORE_MONITOR_H

struct channel;

/*
 * Start sampling ch every monitor_timer_us: it joins the timer of that
 * period, which starts with its first channel.  0 / -errno (not sampled).
 */
int monitor_timer_start(struct channel *ch);
/* Stop sampling ch (no-op when not sampled); the timer goes with its last channel. */
void monitor_timer_stop(struct channel *ch);

#endif /* SLUICE_CORE_MONITOR_H */
