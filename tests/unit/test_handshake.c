/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the start-up handshake (daemon/handshake.c) against a fake
 * session daemon played by the test thread, in a temporary directory.  The
 * handshake runs in a second thread with a bounded accept timeout so a bug
 * fails the test instead of hanging it; the fake sessiond's own waits are
 * bounded polls.  Nothing sleeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_fds.h"

#include "handshake.h"

/* Bound on every wait of a test; far above what a working handshake needs. */
#define WAIT_MS 5000

struct fixture {
	char dir[64];
	char err_path[128];
	char cmd_path[128];
	int err_listen;  /* the fake sessiond's error socket */
	int err_conn;    /* its accepted end of our connection */
	int fds_at_start;
	/* the handshake thread */
	pthread_t th;
	bool running;
	int timeout_ms;
	int ret;
	struct handshake_socks socks;
};

static void fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a->sun_path));
	memcpy(a->sun_path, path, strlen(path) + 1);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un a;

	if (!f)
		return -1;
	f->fds_at_start = test_open_fd_count();
	snprintf(f->dir, sizeof(f->dir), "/tmp/sluice-hs-XXXXXX");
	if (!mkdtemp(f->dir))
		goto fail;
	snprintf(f->err_path, sizeof(f->err_path), "%s/error", f->dir);
	snprintf(f->cmd_path, sizeof(f->cmd_path), "%s/command", f->dir);
	f->err_conn = -1;
	handshake_socks_init(&f->socks);
	f->timeout_ms = WAIT_MS;
	/* The sessiond listens on the error socket before it forks the consumer. */
	f->err_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->err_listen < 0)
		goto fail;
	fill_addr(&a, f->err_path);
	if (bind(f->err_listen, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(f->err_listen, 8) < 0)
		goto fail;
	*state = f;
	return 0;
fail:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int leaked;

	if (f->running)
		pthread_join(f->th, NULL);
	handshake_close(&f->socks);
	if (f->err_conn >= 0)
		close(f->err_conn);
	close(f->err_listen);
	unlink(f->err_path);
	unlink(f->cmd_path);
	rmdir(f->dir);
	leaked = test_open_fd_count() - f->fds_at_start;
	free(f);
	return leaked == 0 ? 0 : -1;
}

static void *handshake_main(void *arg)
{
	struct fixture *f = arg;

	f->ret = handshake_run(f->err_path, f->cmd_path, f->timeout_ms, &f->socks);
	return NULL;
}

static void start(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->th, NULL, handshake_main, f), 0);
	f->running = true;
}

static int finish(struct fixture *f)
{
	assert_int_equal(pthread_join(f->th, NULL), 0);
	f->running = false;
	return f->ret;
}

/* Bounded wait for `events` on fd; returns the revents (0 on timeout). */
static short wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	assert_true(poll(&p, 1, ms) >= 0);
	return p.revents;
}

/* The fake sessiond accepts the consumer on its error socket. */
static void sessiond_accept_err(struct fixture *f)
{
	assert_true(wait_fd(f->err_listen, POLLIN, WAIT_MS) & POLLIN);
	f->err_conn = accept4(f->err_listen, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->err_conn >= 0);
}

/* Read exactly 4 bytes from the error connection within the bound. */
static void sessiond_read_ready(struct fixture *f)
{
	uint8_t b[4];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n;

		assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
		n = recv(f->err_conn, b + got, sizeof(b) - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(b[0], 0x64);
	assert_int_equal(b[1], 0x00);
	assert_int_equal(b[2], 0x00);
	assert_int_equal(b[3], 0x00);
}

/* Connect to the consumer's command socket path; returns fd or -errno. */
static int sessiond_connect(struct fixture *f)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret;

	assert_true(fd >= 0);
	fill_addr(&a, f->cmd_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static char read_marker(int fd)
{
	char c = 0;

	assert_true(wait_fd(fd, POLLIN, WAIT_MS) & POLLIN);
	assert_int_equal(recv(fd, &c, 1, 0), 1);
	return c;
}

/*
 * The whole exchange as the 2.13.9 sessiond does it: the ready code is
 * 64 00 00 00 and is only sent once the command socket listens (connecting
 * right after reading it succeeds); first connection = command, second =
 * metadata; afterwards the error socket stays silent and the listening
 * socket is gone.
 */
static void test_full_handshake(void **state)
{
	struct fixture *f = *state;
	int c1, c2, c3;

	start(f);
	sessiond_accept_err(f);
	sessiond_read_ready(f);
	c1 = sessiond_connect(f);
	assert_true(c1 >= 0);
	assert_int_equal(send(c1, "C", 1, 0), 1);
	c2 = sessiond_connect(f);
	assert_true(c2 >= 0);
	assert_int_equal(send(c2, "M", 1, 0), 1);
	assert_int_equal(finish(f), 0);

	assert_int_equal(read_marker(f->socks.cmd_fd), 'C');
	assert_int_equal(read_marker(f->socks.metadata_fd), 'M');
	/* Replies travel back on the right connection too. */
	assert_int_equal(send(f->socks.cmd_fd, "c", 1, 0), 1);
	assert_int_equal(read_marker(c1), 'c');
	assert_true(fcntl(f->socks.cmd_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(f->socks.metadata_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(f->socks.err_fd, F_GETFD) & FD_CLOEXEC);
	/* Accepted sockets are blocking, whatever the listener was. */
	assert_false(fcntl(f->socks.cmd_fd, F_GETFL) & O_NONBLOCK);

	/* The listener is closed; its path stays for the sessiond to unlink. */
	c3 = sessiond_connect(f);
	assert_int_equal(c3, -ECONNREFUSED);

	/* Nothing but the ready code on the error socket, not even at close. */
	assert_int_equal(wait_fd(f->err_conn, POLLIN, 0), 0);
	handshake_close(&f->socks);
	assert_int_equal(f->socks.err_fd, -1);
	assert_int_equal(f->socks.cmd_fd, -1);
	assert_int_equal(f->socks.metadata_fd, -1);
	{
		char b;

		assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
		assert_int_equal(recv(f->err_conn, &b, 1, 0), 0);
	}
	handshake_close(&f->socks); /* idempotent */
	handshake_close(NULL);
	close(c1);
	close(c2);
}

/* A stale file at the command socket path is replaced, not a bind failure. */
static void test_stale_command_path(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd, c1, c2;

	fd = open(f->cmd_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	start(f);
	sessiond_accept_err(f);
	sessiond_read_ready(f);
	c1 = sessiond_connect(f);
	c2 = sessiond_connect(f);
	assert_true(c1 >= 0 && c2 >= 0);
	assert_int_equal(finish(f), 0);
	assert_int_equal(stat(f->cmd_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	close(c1);
	close(c2);
}

/* No sessiond listening at the error path: -ENOENT, nothing created, nothing open. */
static void test_no_error_socket(void **state)
{
	struct fixture *f = *state;
	struct handshake_socks s;
	char missing[160];
	struct stat st;

	snprintf(missing, sizeof(missing), "%s/nonexistent", f->dir);
	assert_int_equal(handshake_run(missing, f->cmd_path, 100, &s), -ENOENT);
	assert_int_equal(s.err_fd, -1);
	assert_int_equal(s.cmd_fd, -1);
	assert_int_equal(s.metadata_fd, -1);
	assert_int_equal(stat(f->cmd_path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* A path that exists but nobody listens on: refused. */
	close(f->err_listen);
	f->err_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->err_listen >= 0);
	assert_int_equal(handshake_run(f->err_path, f->cmd_path, 100, &s), -ECONNREFUSED);
}

/*
 * The command socket cannot be created: the handshake fails and the ready
 * code is never sent (the sessiond sees the error socket close silently).
 */
static void test_bind_failure_sends_nothing(void **state)
{
	struct fixture *f = *state;
	char b;

	snprintf(f->cmd_path, sizeof(f->cmd_path), "%s/no-such-dir/command", f->dir);
	start(f);
	sessiond_accept_err(f);
	assert_int_equal(finish(f), -ENOENT);
	assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
	assert_int_equal(recv(f->err_conn, &b, 1, 0), 0);
	assert_int_equal(f->socks.err_fd, -1);
}

/* Only one connection arrives: the bounded wait for the second times out cleanly. */
static void test_accept_timeout(void **state)
{
	struct fixture *f = *state;
	int c1;

	f->timeout_ms = 30;
	start(f);
	sessiond_accept_err(f);
	sessiond_read_ready(f);
	c1 = sessiond_connect(f);
	assert_true(c1 >= 0);
	assert_int_equal(finish(f), -ETIMEDOUT);
	assert_int_equal(f->socks.cmd_fd, -1);
	/* The consumer's end of c1 was closed with the failure. */
	assert_true(wait_fd(c1, POLLIN, WAIT_MS) & (POLLIN | POLLHUP));
	close(c1);
}

/*
 * The sessiond dies after reading the ready code: the wait for connections
 * ends with -ECONNRESET even with no timeout (production mode).
 */
static void test_sessiond_hangup_while_waiting(void **state)
{
	struct fixture *f = *state;

	f->timeout_ms = 0;
	start(f);
	sessiond_accept_err(f);
	sessiond_read_ready(f);
	close(f->err_conn);
	f->err_conn = -1;
	assert_int_equal(finish(f), -ECONNRESET);
	assert_int_equal(f->socks.err_fd, -1);
}

/* Bad arguments and paths that do not fit a sockaddr_un. */
static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct handshake_socks s;
	char longp[200];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(handshake_run(NULL, f->cmd_path, 0, &s), -EINVAL);
	assert_int_equal(handshake_run(f->err_path, "", 0, &s), -EINVAL);
	assert_int_equal(handshake_run(f->err_path, f->cmd_path, 0, NULL), -EINVAL);
	assert_int_equal(handshake_run(longp, f->cmd_path, 0, &s), -ENAMETOOLONG);

	/* A too-long command path is found after connecting: the sessiond sees a silent close. */
	assert_int_equal(handshake_run(f->err_path, longp, 0, &s), -ENAMETOOLONG);
	sessiond_accept_err(f);
	{
		char b;

		assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
		assert_int_equal(recv(f->err_conn, &b, 1, 0), 0);
	}
}

/* A soft RLIMIT_NOFILE under which exactly `extra` (< 7) more fds can be opened. */
static rlim_t limit_allowing(int extra)
{
	int fds[8], i;
	rlim_t lim;

	for (i = 0; i <= extra; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	lim = (rlim_t)fds[extra];
	for (i = 0; i <= extra; i++)
		close(fds[i]);
	return lim;
}

/* Lower the soft fd limit to `lim`, saving the old limits in *old. */
static void set_fd_limit(rlim_t lim, struct rlimit *old)
{
	struct rlimit l;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, old), 0);
	l = *old;
	l.rlim_cur = lim;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &l), 0);
}

static void restore_fd_limit(const struct rlimit *old)
{
	assert_int_equal(setrlimit(RLIMIT_NOFILE, old), 0);
}

/* The fd table is full at each socket() step: -EMFILE, nothing left open or sent. */
static void test_out_of_fds(void **state)
{
	struct fixture *f = *state;
	struct handshake_socks s;
	struct rlimit old;
	struct stat st;
	char b;

	/* No fd at all: the error socket cannot even be created. */
	set_fd_limit(limit_allowing(0), &old);
	assert_int_equal(handshake_run(f->err_path, f->cmd_path, 100, &s), -EMFILE);
	restore_fd_limit(&old);
	assert_int_equal(stat(f->cmd_path, &st), -1);

	/* One fd: connected to the sessiond, but no command socket. */
	set_fd_limit(limit_allowing(1), &old);
	assert_int_equal(handshake_run(f->err_path, f->cmd_path, 100, &s), -EMFILE);
	restore_fd_limit(&old);
	sessiond_accept_err(f);
	assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
	assert_int_equal(recv(f->err_conn, &b, 1, 0), 0);
}

/*
 * Room for the error and listening sockets only: accept() fails with
 * EMFILE, which ends the handshake (it would otherwise spin on a readable
 * listener).  The fake sessiond does not accept the error connection and
 * pre-creates its socket, so it needs no fd while the limit is low; it
 * finds the listener by retrying connect (bounded).
 */
static void test_accept_fails(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un a;
	struct rlimit old;
	int c, tries;

	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	fill_addr(&a, f->cmd_path);
	set_fd_limit(limit_allowing(2), &old);
	start(f);
	for (tries = 0; tries < 10000000; tries++) {
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		assert_true(errno == ENOENT || errno == ECONNREFUSED);
		sched_yield();
	}
	assert_int_equal(finish(f), -EMFILE);
	restore_fd_limit(&old);
	close(c);
}

/* A directory where the command socket goes: cannot be replaced, bind fails, nothing sent. */
static void test_cmd_path_is_directory(void **state)
{
	struct fixture *f = *state;
	char b;

	assert_int_equal(mkdir(f->cmd_path, 0700), 0);
	assert_int_equal(handshake_run(f->err_path, f->cmd_path, 100, &f->socks), -EADDRINUSE);
	assert_int_equal(rmdir(f->cmd_path), 0);
	sessiond_accept_err(f);
	assert_true(wait_fd(f->err_conn, POLLIN, WAIT_MS) & POLLIN);
	assert_int_equal(recv(f->err_conn, &b, 1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_command_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_error_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_failure_sends_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessiond_hangup_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_path_is_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
