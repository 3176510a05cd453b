/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the start-up fd limit (daemon/fd_limit.c).  Each test runs
 * in a forked child, so the limits it sets never reach the other tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd_limit.h"

/* Run fn in a child; the child's exit status 0 means every check passed. */
static void in_child(int (*fn)(void))
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct rlimit limits_now(void)
{
	struct rlimit rl = { 0, 0 };

	getrlimit(RLIMIT_NOFILE, &rl);
	return rl;
}

/*
 * The session daemon's soft 1024 under a larger hard limit (only the soft one
 * is lowered: valgrind refuses to move the hard one).  Returns the hard
 * limit, or 0 when the setting failed.
 */
static rlim_t session_daemon_limits(void)
{
	struct rlimit rl = limits_now();

	if (rl.rlim_max <= 1024)
		return 0;
	rl.rlim_cur = 1024;
	return setrlimit(RLIMIT_NOFILE, &rl) ? 0 : rl.rlim_max;
}

/* The soft limit goes up to the hard one; a second call has nothing to do. */
static int child_soft_raised_to_hard(void)
{
	rlim_t hard = session_daemon_limits();
	struct fd_limit fl;

	if (!hard)
		return 10;
	if (fd_limit_raise(false, &fl))
		return 11;
	if (fl.soft_before != 1024 || fl.hard_before != hard || fl.hard != hard)
		return 12;
	if (fl.soft != (hard == RLIM_INFINITY ? fl.soft : hard) || limits_now().rlim_cur != fl.soft)
		return 13;
	if (fd_limit_raise(false, &fl) || fl.soft_before != fl.soft)
		return 14;
	return 0;
}

static void test_soft_raised_to_hard(void **state)
{
	(void)state;
	in_child(child_soft_raised_to_hard);
}

/*
 * Privileged: both limits up to the stock consumer's 65535 when the kernel
 * allows it (root with CAP_SYS_RESOURCE, not under valgrind), otherwise the
 * soft one up to the hard one; never less, and what is reported is in force.
 */
static int child_privileged(void)
{
	rlim_t hard = session_daemon_limits();
	struct fd_limit fl;
	struct rlimit now;

	if (!hard)
		return 20;
	if (fd_limit_raise(true, &fl))
		return 21;
	now = limits_now();
	if (now.rlim_cur != fl.soft || now.rlim_max != fl.hard)
		return 22;
	if (hard < FD_LIMIT_ROOT_MIN && fl.hard == FD_LIMIT_ROOT_MIN)
		return fl.soft == FD_LIMIT_ROOT_MIN ? 0 : 23;
	return fl.hard == hard && fl.soft >= (hard == RLIM_INFINITY ? 1024 : hard) ? 0 : 24;
}

static void test_privileged(void **state)
{
	(void)state;
	in_child(child_privileged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soft_raised_to_hard),
		cmocka_unit_test(test_privileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
