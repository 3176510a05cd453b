/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests of core/log.c (lttng-style lines, levels, prefix hook) and rb_status_str. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "rb.h"

static int saved_stderr = -1;
static FILE *capture;

/* Redirect stderr into a temporary file for the duration of one test. */
static int setup(void **state)
{
	(void)state;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	capture = tmpfile();
	if (saved_stderr < 0 || !capture)
		return -1;
	dup2(fileno(capture), STDERR_FILENO);
	log_level = 0;
	log_set_prefix(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(capture);
	log_level = 0;
	log_set_prefix(NULL);
	return 0;
}

/* Everything written to stderr since setup. */
static const char *captured(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	rewind(capture);
	n = fread(buf, 1, sizeof(buf) - 1, capture);
	buf[n] = '\0';
	return buf;
}

static void fixed_prefix(char *buf, size_t len)
{
	snprintf(buf, len, "t=42 step=7");
}

static void test_error_line(void **state)
{
	(void)state;
	ERR("channel %d not found", 5);
	assert_non_null(strstr(captured(), "Error: channel 5 not found [in test_error_line() at "));
}

static void test_warning_line(void **state)
{
	(void)state;
	WARN("odd");
	assert_non_null(strstr(captured(), "Warning: odd [in test_warning_line()"));
}

/* Debug lines appear only up to the configured verbosity. */
static void test_debug_levels(void **state)
{
	(void)state;
	DBG("hidden at level 0");
	assert_string_equal(captured(), "");
	log_level = 2;
	DBG("one");
	DBG2("two");
	DBG3("three");
	assert_non_null(strstr(captured(), "DEBUG1 - : one"));
	assert_non_null(strstr(captured(), "DEBUG2 - : two"));
	assert_null(strstr(captured(), "three"));
}

/* Quiet suppresses even errors. */
static void test_quiet(void **state)
{
	(void)state;
	log_level = -1;
	ERR("nothing");
	WARN("nothing");
	assert_string_equal(captured(), "");
}

/* The prefix hook (virtual time in the sim) is printed on every kind of line. */
static void test_prefix(void **state)
{
	(void)state;
	log_level = 1;
	log_set_prefix(fixed_prefix);
	DBG("x");
	ERR("y");
	assert_non_null(strstr(captured(), "DEBUG1 - t=42 step=7: x"));
	assert_non_null(strstr(captured(), "Error: t=42 step=7: y"));
}

static void test_perror(void **state)
{
	(void)state;
	PERROR_NUM(ENOSPC, "write %s", "chan_0");
	assert_non_null(strstr(captured(), "Error: write chan_0: No space left on device"));
	assert_non_null(strstr(log_strerror(EINVAL), "Invalid argument"));
	/* Out of descriptors: the message names the limit and how to raise it. */
	{
		struct rlimit rl;
		char limit[64];

		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		snprintf(limit, sizeof(limit), "limit of %llu descriptors",
			 (unsigned long long)rl.rlim_cur);
		assert_non_null(strstr(log_strerror(EMFILE), "Too many open files"));
		assert_non_null(strstr(log_strerror(EMFILE), limit));
		assert_non_null(strstr(log_strerror(EMFILE), "ulimit -n"));
		assert_null(strstr(log_strerror(EINVAL), "ulimit"));
	}
}

/* Every status has its own name. */
static void test_rb_status_str(void **state)
{
	(void)state;
	for (int a = RB_OK; a <= RB_ERROR; a++) {
		assert_string_not_equal(rb_status_str(a), "unknown status");
		for (int b = a + 1; b <= RB_ERROR; b++)
			assert_string_not_equal(rb_status_str(a), rb_status_str(b));
	}
	assert_string_equal(rb_status_str((enum rb_status)99), "unknown status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_error_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perror, setup, teardown),
		cmocka_unit_test(test_rb_status_str),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
