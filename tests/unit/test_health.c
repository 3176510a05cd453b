/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the health tracker and socket (daemon/health.c).  The
 * tracker runs on a fake clock; socket tests connect real clients in a
 * temporary directory and serve them from the test thread (the client's
 * bytes are queued before serving, so no second thread is needed).  The
 * only real-time wait is the 10 ms I/O bound of the silent-client test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_fds.h"

#include "health.h"

#define TIMEOUT_NS 1000u
#define WAIT_MS 5000

struct fixture {
	uint64_t now; /* the fake clock */
	struct health *h;
	char dir[64];
	char path[128];
	int fds_at_start;
};

static uint64_t fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fds_at_start = test_open_fd_count();
	f->now = 5000;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sluice-health-XXXXXX");
	if (!mkdtemp(f->dir) || health_create(fake_clock, f, TIMEOUT_NS, &f->h) != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/health", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int leaked;

	health_destroy(f->h);
	unlink(f->path);
	rmdir(f->dir);
	leaked = test_open_fd_count() - f->fds_at_start;
	free(f);
	return leaked == 0 ? 0 : -1;
}

/* A fresh tracker is healthy however much time passes: nothing runs yet. */
static void test_fresh_is_healthy(void **state)
{
	struct fixture *f = *state;

	assert_true(health_check(f->h) == 0);
	f->now += 100 * TIMEOUT_NS;
	assert_true(health_check(f->h) == 0);
}

/* Busy without progress: healthy up to the timeout, unhealthy past it. */
static void test_unhealthy_after_timeout(void **state)
{
	struct fixture *f = *state;

	health_idle_leave(f->h, HEALTH_DATA);
	f->now += TIMEOUT_NS;
	assert_true(health_check(f->h) == 0);
	f->now += 1;
	assert_true(health_check(f->h) == UINT64_C(1) << HEALTH_DATA);
}

/* A component waiting for work is never unhealthy, and leaving the wait starts afresh. */
static void test_idle_never_unhealthy(void **state)
{
	struct fixture *f = *state;

	health_idle_leave(f->h, HEALTH_SESSIOND);
	health_idle_enter(f->h, HEALTH_SESSIOND);
	f->now += 1000 * TIMEOUT_NS;
	assert_true(health_check(f->h) == 0);
	/* Leaving a long wait counts as progress: not stalled the instant it wakes. */
	health_idle_leave(f->h, HEALTH_SESSIOND);
	assert_true(health_check(f->h) == 0);
	f->now += TIMEOUT_NS + 1;
	assert_true(health_check(f->h) == UINT64_C(1) << HEALTH_SESSIOND);
}

/* A tick after a stall makes the component healthy again. */
static void test_tick_recovers(void **state)
{
	struct fixture *f = *state;

	health_idle_leave(f->h, HEALTH_METADATA);
	f->now += 2 * TIMEOUT_NS;
	assert_true(health_check(f->h) == UINT64_C(1) << HEALTH_METADATA);
	health_tick(f->h, HEALTH_METADATA);
	assert_true(health_check(f->h) == 0);
	/* Regular ticks keep it healthy over many timeouts. */
	for (int i = 0; i < 10; i++) {
		f->now += TIMEOUT_NS / 2;
		health_tick(f->h, HEALTH_METADATA);
		assert_true(health_check(f->h) == 0);
	}
}

/* Components are independent bits; a shared component counts its busy threads. */
static void test_components_and_shared_threads(void **state)
{
	struct fixture *f = *state;
	int c;

	for (c = 0; c < HEALTH_NR_COMP; c++)
		health_idle_leave(f->h, (enum health_comp)c);
	f->now += TIMEOUT_NS + 1;
	health_tick(f->h, HEALTH_CHANNEL_MGMT);
	health_tick(f->h, HEALTH_METADATA);
	health_tick(f->h, HEALTH_SESSIOND);
	assert_true(health_check(f->h) ==
		    ((UINT64_C(1) << HEALTH_DATA) | (UINT64_C(1) << HEALTH_METADATA_TIMER)));

	/* A second data thread leaves its wait; one of the two idles again: still busy. */
	health_idle_leave(f->h, HEALTH_DATA);
	health_idle_enter(f->h, HEALTH_DATA);
	f->now += TIMEOUT_NS + 1;
	assert_true(health_check(f->h) & (UINT64_C(1) << HEALTH_DATA));
	/* Both idle: healthy. */
	health_idle_enter(f->h, HEALTH_DATA);
	assert_false(health_check(f->h) & (UINT64_C(1) << HEALTH_DATA));
}

/* Misuse is logged and ignored: bad ids, no tracker, unbalanced idle_enter. */
static void test_misuse(void **state)
{
	struct fixture *f = *state;
	struct health *h = NULL;

	health_tick(f->h, HEALTH_NR_COMP);
	health_tick(f->h, (enum health_comp)-1);
	health_idle_enter(NULL, HEALTH_DATA);
	health_idle_leave(f->h, (enum health_comp)99);
	health_tick(NULL, HEALTH_DATA);
	/* Enter without a leave must not make the count negative... */
	health_idle_enter(f->h, HEALTH_DATA);
	health_idle_enter(f->h, HEALTH_DATA);
	/* ...so one leave makes the component busy again. */
	health_idle_leave(f->h, HEALTH_DATA);
	f->now += TIMEOUT_NS + 1;
	assert_true(health_check(f->h) == UINT64_C(1) << HEALTH_DATA);
	assert_true(health_check(NULL) == 0);

	assert_int_equal(health_create(NULL, NULL, TIMEOUT_NS, &h), -EINVAL);
	assert_int_equal(health_create(fake_clock, f, 0, &h), -EINVAL);
	assert_int_equal(health_create(fake_clock, f, TIMEOUT_NS, NULL), -EINVAL);
	assert_null(h);
	health_destroy(NULL);
	assert_int_equal(health_listen_fd(NULL), -1);
	health_set_io_timeout_ms(NULL, 5);
}

/* The production clock is monotonic and in nanoseconds. */
static void test_monotonic_clock(void **state)
{
	uint64_t a = health_clock_monotonic(NULL);
	uint64_t b = health_clock_monotonic(NULL);
	struct health *h = NULL;

	(void)state;
	assert_true(a > 0);
	assert_true(b >= a);
	assert_int_equal(health_create(health_clock_monotonic, NULL, HEALTH_DEFAULT_TIMEOUT_NS, &h),
			 0);
	health_idle_leave(h, HEALTH_DATA);
	assert_true(health_check(h) == 0);
	health_destroy(h);
}

/* Connect a client to the health socket; returns the fd. */
static int client_connect(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Read the u64 reply (bounded); returns bytes read (8, or 0 on EOF). */
static ssize_t client_reply(int fd, uint64_t *reply)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	return recv(fd, reply, sizeof(*reply), MSG_WAITALL);
}

/* The liblttng-ctl exchange: u32 CHECK in, packed u64 bitmask out, then close. */
static void test_socket_query(void **state)
{
	struct fixture *f = *state;
	uint32_t cmd = HEALTH_CMD_CHECK;
	uint64_t reply = 0xdead;
	int fd, c;

	fd = health_listen(f->h, f->path, (gid_t)-1);
	assert_true(fd >= 0);
	assert_int_equal(health_listen_fd(f->h), fd);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Nothing pending: returns at once. */
	assert_int_equal(health_handle_listen_ready(f->h), 0);

	/* All healthy. */
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 8);
	assert_true(reply == 0);
	assert_int_equal(recv(c, &reply, 1, 0), 0); /* closed after one query */
	close(c);

	/* Data and metadata timer stalled. */
	health_idle_leave(f->h, HEALTH_DATA);
	health_idle_leave(f->h, HEALTH_METADATA_TIMER);
	f->now += TIMEOUT_NS + 1;
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 8);
	assert_true(reply == ((UINT64_C(1) << 2) | (UINT64_C(1) << 4)));
	close(c);

	/* An unknown command still gets the bitmask (documented choice). */
	cmd = 7;
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 8);
	assert_true(reply == ((UINT64_C(1) << 2) | (UINT64_C(1) << 4)));
	close(c);
}

/* Several clients queued: one call serves them all, each its own reply. */
static void test_socket_batch(void **state)
{
	struct fixture *f = *state;
	uint32_t cmd = HEALTH_CMD_CHECK;
	uint64_t reply;
	int c[3], i;

	assert_true(health_listen(f->h, f->path, (gid_t)-1) >= 0);
	for (i = 0; i < 3; i++) {
		c[i] = client_connect(f->path);
		/* Sent in two pieces: the server must gather the u32. */
		assert_int_equal(send(c[i], &cmd, 1, 0), 1);
		assert_int_equal(send(c[i], (char *)&cmd + 1, 3, 0), 3);
	}
	assert_int_equal(health_handle_listen_ready(f->h), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(client_reply(c[i], &reply), 8);
		assert_true(reply == 0);
		close(c[i]);
	}
}

/* Clients that leave early, stall, or vanish before the reply cost nothing. */
static void test_socket_bad_clients(void **state)
{
	struct fixture *f = *state;
	uint32_t cmd = HEALTH_CMD_CHECK;
	uint64_t reply;
	int c;

	assert_true(health_listen(f->h, f->path, (gid_t)-1) >= 0);

	/* Connects and closes without a word. */
	c = client_connect(f->path);
	close(c);
	assert_int_equal(health_handle_listen_ready(f->h), 1);

	/* Sends half a command and stalls: dropped after the I/O bound. */
	health_set_io_timeout_ms(f->h, 10);
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, 2, 0), 2);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 0);
	close(c);

	/* Sends the command and leaves before the reply. */
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	close(c);
	assert_int_equal(health_handle_listen_ready(f->h), 1);

	/* The socket still serves a good client afterwards. */
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 8);
	close(c);
}

/* A stale file at the path is replaced; the socket is 0660 whatever the umask. */
static void test_stale_file_and_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old_umask;
	int fd;

	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	old_umask = umask(0077);
	fd = health_listen(f->h, f->path, getgid());
	umask(old_umask);
	assert_true(fd >= 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getgid());
	/* A second listen on the same tracker is refused. */
	assert_int_equal(health_listen(f->h, f->path, (gid_t)-1), -EBUSY);
	/* destroy unlinks what it bound. */
	health_destroy(f->h);
	f->h = NULL;
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A socket file left by a dead consumer is replaced too, and the new one answers. */
static void test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un a;
	uint32_t cmd = HEALTH_CMD_CHECK;
	uint64_t reply = 1;
	int dead, c;

	/* A consumer that died: its socket file stays, nobody listens on it. */
	dead = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(dead >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(bind(dead, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(dead, 1), 0);
	close(dead);

	assert_true(health_listen(f->h, f->path, (gid_t)-1) >= 0);
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	assert_int_equal(health_handle_listen_ready(f->h), 1);
	assert_int_equal(client_reply(c, &reply), 8);
	assert_true(reply == 0);
	close(c);
}

/* Listen failures: bad arguments, too-long path, missing directory; serving while closed. */
static void test_listen_errors(void **state)
{
	struct fixture *f = *state;
	char longp[200], missing[160];

	memset(longp, 'h', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	snprintf(missing, sizeof(missing), "%s/nope/health", f->dir);
	assert_int_equal(health_listen(NULL, f->path, (gid_t)-1), -EINVAL);
	assert_int_equal(health_listen(f->h, NULL, (gid_t)-1), -EINVAL);
	assert_int_equal(health_listen(f->h, "", (gid_t)-1), -EINVAL);
	assert_int_equal(health_listen(f->h, longp, (gid_t)-1), -ENAMETOOLONG);
	assert_int_equal(health_listen(f->h, missing, (gid_t)-1), -ENOENT);
	assert_int_equal(health_listen_fd(f->h), -1);
	assert_int_equal(health_handle_listen_ready(f->h), -EBADF);
	assert_int_equal(health_handle_listen_ready(NULL), -EBADF);
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

/* Out of fds: listen fails cleanly (no file left); accept fails with -EMFILE, then recovers. */
static void test_out_of_fds(void **state)
{
	struct fixture *f = *state;
	uint32_t cmd = HEALTH_CMD_CHECK;
	uint64_t reply = 1;
	struct rlimit old, low;
	struct stat st;
	int c, ret;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = limit_allowing(0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(health_listen(f->h, f->path, (gid_t)-1), -EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(stat(f->path, &st), -1);

	assert_true(health_listen(f->h, f->path, (gid_t)-1) >= 0);
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	low.rlim_cur = limit_allowing(0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(health_handle_listen_ready(f->h), -EMFILE);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	close(c);
	/*
	 * The socket serves again once fds are back.  The first client may
	 * still wait in the backlog (natively) or be gone (valgrind accepts
	 * and then refuses the fd), hence one or two connections.
	 */
	c = client_connect(f->path);
	assert_int_equal(send(c, &cmd, sizeof(cmd), 0), 4);
	ret = health_handle_listen_ready(f->h);
	assert_true(ret == 1 || ret == 2);
	assert_int_equal(client_reply(c, &reply), 8);
	assert_true(reply == 0);
	close(c);
}

/*
 * A directory at the path cannot be replaced: -EADDRINUSE.  And destroy
 * copes with its bound path having been replaced by a directory.
 */
static void test_path_is_directory(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(health_listen(f->h, f->path, (gid_t)-1), -EADDRINUSE);
	assert_int_equal(rmdir(f->path), 0);

	assert_true(health_listen(f->h, f->path, (gid_t)-1) >= 0);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	health_destroy(f->h);
	f->h = NULL;
	assert_int_equal(rmdir(f->path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_is_healthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhealthy_after_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_never_unhealthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_components_and_shared_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monotonic_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_bad_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_file_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_is_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
