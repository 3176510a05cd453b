/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_reaper.h - where the adapter runs library calls that may never
 * come back: lttng_ust_ctl_destroy_channel() walks a stream's buffer from
 * its consumed to its produced position, both read from shared memory the
 * traced app can write (lttng-ust 2.13 ring_buffer_frontend.c,
 * lib_ring_buffer_print_buffer_errors(): with random positions, ~2^50
 * iterations).  The caller's loop must not wait for that (issue 11).
 *
 * One reaper thread (detached, started at the first job) runs the jobs in
 * submission order.  Each job runs its library call under the guard of
 * ustctl_sigbus.h, so a call stuck past the deadline is interrupted by the
 * watchdog and the job learns it (-ETIMEDOUT) and abandons its object: the
 * job owns the object from submission on, so nothing is freed twice.
 * Nobody waits for the reaper at exit: ustctl_reaper_drain() is bounded.
 */
#ifndef SLUICE_USTCTL_REAPER_H
#define SLUICE_USTCTL_REAPER_H

#include <stdbool.h>

/*
 * Run fn(arg) on the reaper thread, after the jobs already queued.  Never
 * fails: without memory for the job or without a thread, fn runs here and
 * now (logged).  Thread-safe.
 */
void ustctl_reaper_submit(void (*fn)(void *arg), void *arg);

/*
 * Wait until every job submitted so far has run, at most timeout_ms.
 * Returns true when drained, false on timeout (a job is stuck: it will be
 * interrupted by the watchdog, or the process exits without it).
 */
bool ustctl_reaper_drain(unsigned int timeout_ms);

#endif /* SLUICE_USTCTL_REAPER_H */
