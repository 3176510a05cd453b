/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of adapters/ustctl/ustctl_watchdog.c: the deadline rule of the
 * ring-buffer watchdog, on a virtual clock (no thread, no signal, no sleep).
 * Each test plays the watchdog's scans every PERIOD ms and says at which
 * virtual time a call is ended.  The thread and its signal are exercised
 * by test_ustctl_rb on the real library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ustctl_watchdog.h"

#define PERIOD 100u
#define DEADLINE 2000u

/* Scan at `now` as the watchdog does; a due call is signalled (fired) when `kill_ok`. */
static bool scan(struct ustctl_watch *w, bool active, unsigned long seq, uint64_t now, bool kill_ok)
{
	bool due = ustctl_watch_due(w, active, seq, now, DEADLINE);

	if (due)
		w->fired = kill_ok;
	return due;
}

/* A call stuck from t=50: first seen at the scan of t=100, ended at the scan of t=2100. */
static void test_stuck_call_ended_once(void **state)
{
	struct ustctl_watch w = { 0 };
	uint64_t t;

	(void)state;
	assert_false(scan(&w, false, 0, 0, true));            /* idle */
	for (t = PERIOD; t < PERIOD + DEADLINE; t += PERIOD)
		assert_false(scan(&w, true, 1, t, true));
	assert_true(scan(&w, true, 1, t, true));              /* t = 2100 */
	assert_int_equal(t, 2100);
	/* Still seen in it (the signal is on its way): never a second signal. */
	for (t += PERIOD; t < 10000; t += PERIOD)
		assert_false(scan(&w, true, 1, t, true));
}

/* A busy thread making short calls is never ended, however long it is busy. */
static void test_busy_thread_never_ended(void **state)
{
	struct ustctl_watch w = { 0 };
	unsigned long seq = 1;

	(void)state;
	for (uint64_t t = 0; t < 60000; t += PERIOD)
		assert_false(scan(&w, true, seq++, t, true));
}

/* A call that ends just before its deadline is not ended; the next one has its own. */
static void test_next_call_starts_over(void **state)
{
	struct ustctl_watch w = { 0 };
	uint64_t t;

	(void)state;
	for (t = 0; t < DEADLINE; t += PERIOD)              /* seen 0 .. 1900 */
		assert_false(scan(&w, true, 1, t, true));
	assert_false(scan(&w, false, 1, t, true));           /* t = 2000: returned */
	for (t += PERIOD; t < 2100 + DEADLINE; t += PERIOD)   /* call 2 seen from 2100 */
		assert_false(scan(&w, true, 2, t, true));
	assert_true(scan(&w, true, 2, t, true));              /* t = 4100 */
	/* A call after an ended one gets a deadline of its own. */
	assert_false(scan(&w, true, 3, t + PERIOD, true));
	assert_false(scan(&w, true, 3, t + DEADLINE, true));
	assert_true(scan(&w, true, 3, t + PERIOD + DEADLINE, true));
}

/* A signal that could not be sent is retried at the next scan, then never again. */
static void test_failed_kill_retried(void **state)
{
	struct ustctl_watch w = { 0 };

	(void)state;
	assert_false(scan(&w, true, 7, 0, false));
	assert_true(scan(&w, true, 7, DEADLINE, false));
	assert_true(scan(&w, true, 7, DEADLINE + PERIOD, true));
	assert_false(scan(&w, true, 7, DEADLINE + 2 * PERIOD, true));
}

/* The deadline is read at each scan: lowering it (tests do) applies to the running call. */
static void test_deadline_is_per_scan(void **state)
{
	struct ustctl_watch w = { 0 };

	(void)state;
	assert_false(ustctl_watch_due(&w, true, 4, 1000, DEADLINE));
	assert_false(ustctl_watch_due(&w, true, 4, 1100, DEADLINE));
	assert_true(ustctl_watch_due(&w, true, 4, 1100, 100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuck_call_ended_once),
		cmocka_unit_test(test_busy_thread_never_ended),
		cmocka_unit_test(test_next_call_starts_over),
		cmocka_unit_test(test_failed_kill_retried),
		cmocka_unit_test(test_deadline_is_per_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
