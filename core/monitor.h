/* SPDX-License-Identifier: GPL-2.0-only */
/* monitor.h - the monitor timer of a data channel (data loop). */
#ifndef SLUICE_CORE_MONITOR_H
#define SLUICE_CORE_MONITOR_H

struct channel;

/* Start sampling ch every monitor_timer_us.  0 / -errno. */
int monitor_timer_start(struct channel *ch);
/* Stop it (no-op when not running). */
void monitor_timer_stop(struct channel *ch);

#endif /* SLUICE_CORE_MONITOR_H */
