/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of exact-size transfers and fd passing (daemon/fdpass.c) over
 * socketpairs.  Partial transfers come from small socket buffers and
 * non-blocking ends drained or filled by a second thread; nothing sleeps.
 * Every test checks that the process has as many fds at the end as at the
 * start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "test_fds.h"

#include "fdpass.h"

#define BIG_LEN (1024 * 1024)
#define MSG_LEN 12690 /* one lttcomm_consumer_msg */

struct fixture {
	int sv[2];
	int fds_at_start;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fds_at_start = test_open_fd_count();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int leaked;

	if (f->sv[0] >= 0)
		close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	leaked = test_open_fd_count() - f->fds_at_start;
	free(f);
	/* A leaked fd fails the test that leaked it. */
	return leaked == 0 ? 0 : -1;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static uint8_t *pattern(size_t len)
{
	uint8_t *p = malloc(len);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8));
	return p;
}

struct xfer {
	int fd;
	uint8_t *buf;
	size_t len;
	ssize_t ret;
};

static void *reader_main(void *arg)
{
	struct xfer *x = arg;

	x->ret = fdpass_recv_all(x->fd, x->buf, x->len);
	return NULL;
}

/*
 * 1 MiB through a 4 KiB send buffer from a non-blocking sender: the kernel
 * takes a little at a time and says EAGAIN in between, so send_all must
 * continue partial writes and wait; the reader thread must gather many
 * partial reads into one exact message.
 */
static void test_big_partial_transfers(void **state)
{
	struct fixture *f = *state;
	uint8_t *src = pattern(BIG_LEN);
	uint8_t *dst = calloc(1, BIG_LEN);
	struct xfer rx = { .fd = f->sv[1], .buf = dst, .len = BIG_LEN, .ret = -1 };
	int small = 4096;
	pthread_t th;

	assert_non_null(dst);
	assert_int_equal(setsockopt(f->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	set_nonblock(f->sv[0]);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &rx), 0);
	assert_int_equal(fdpass_send_all(f->sv[0], src, BIG_LEN), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(rx.ret, BIG_LEN);
	assert_memory_equal(src, dst, BIG_LEN);
	free(src);
	free(dst);
}

/*
 * A non-blocking receiver gets a message in two halves: it takes the
 * first, finds nothing (EAGAIN) and must wait for the second rather than
 * return short.
 */
static void test_recv_waits_for_rest(void **state)
{
	struct fixture *f = *state;
	uint8_t *src = pattern(MSG_LEN);
	uint8_t *dst = calloc(1, MSG_LEN);
	struct xfer rx = { .fd = f->sv[1], .buf = dst, .len = MSG_LEN, .ret = -1 };
	pthread_t th;
	int pending = 1;
	int spins;

	assert_non_null(dst);
	set_nonblock(f->sv[1]);
	assert_int_equal(send(f->sv[0], src, 5000, 0), 5000);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &rx), 0);
	/* Bounded wait until the reader has taken the first half. */
	for (spins = 0; spins < 10000000 && pending > 0; spins++) {
		assert_int_equal(ioctl(f->sv[1], FIONREAD, &pending), 0);
		if (pending > 0)
			sched_yield();
	}
	assert_int_equal(pending, 0);
	assert_int_equal(send(f->sv[0], src + 5000, MSG_LEN - 5000, 0), MSG_LEN - 5000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(rx.ret, MSG_LEN);
	assert_memory_equal(src, dst, MSG_LEN);
	free(src);
	free(dst);
}

/* Several messages back to back are read one exact size at a time. */
static void test_back_to_back_messages(void **state)
{
	struct fixture *f = *state;
	uint32_t a = 0x11223344, got32 = 0;
	uint64_t b = 0x5566778899aabbccull, got64 = 0;
	uint8_t c = 0x7f, got8 = 0;

	assert_int_equal(fdpass_send_all(f->sv[0], &a, sizeof(a)), 0);
	assert_int_equal(fdpass_send_all(f->sv[0], &b, sizeof(b)), 0);
	assert_int_equal(fdpass_send_all(f->sv[0], &c, sizeof(c)), 0);
	assert_int_equal(fdpass_send_all(f->sv[0], &c, 0), 0);
	assert_int_equal(fdpass_recv_all(f->sv[1], &got32, sizeof(got32)), 4);
	assert_int_equal(fdpass_recv_all(f->sv[1], &got64, sizeof(got64)), 8);
	assert_int_equal(fdpass_recv_all(f->sv[1], &got8, sizeof(got8)), 1);
	assert_int_equal(got32, a);
	assert_true(got64 == b);
	assert_int_equal(got8, c);
}

/* EOF at a message boundary is 0; EOF inside a message is -EPIPE. */
static void test_eof(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	assert_int_equal(fdpass_send_all(f->sv[0], "abc", 3), 0);
	assert_int_equal(shutdown(f->sv[0], SHUT_WR), 0);
	assert_int_equal(fdpass_recv_all(f->sv[1], buf, 3), 3);
	assert_int_equal(fdpass_recv_all(f->sv[1], buf, sizeof(buf)), 0);
	/* And again: the end of the stream stays the end. */
	assert_int_equal(fdpass_recv_all(f->sv[1], buf, sizeof(buf)), 0);

	/* The other direction: 3 bytes, then close, while 8 are expected. */
	assert_int_equal(fdpass_send_all(f->sv[1], "xyz", 3), 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(fdpass_recv_all(f->sv[0], buf, sizeof(buf)), -EPIPE);
}

/* A vanished peer: -EPIPE on send (no SIGPIPE), -ECONNRESET passed through on recv. */
static void test_peer_gone(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4];
	int one = 1;

	/* sv[1] closes with our byte unread: the kernel resets sv[0]. */
	assert_int_equal(fdpass_send_all(f->sv[0], "q", 1), 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(fdpass_recv_all(f->sv[0], buf, sizeof(buf)), -ECONNRESET);
	assert_int_equal(fdpass_send_all(f->sv[0], "more", 4), -EPIPE);
	assert_int_equal(fdpass_send_fds(f->sv[0], &one, 1), -EPIPE);
}

/* Bad arguments are a caller's bug: they stop at an assertion before any syscall. */
static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	int fds[FDPASS_MAX_FDS + 1] = { 0 };
	uint8_t buf[4];

	expect_assert_failure(fdpass_send_all(-1, "a", 1));
	expect_assert_failure(fdpass_send_all(f->sv[0], NULL, 1));
	expect_assert_failure(fdpass_recv_all(-1, buf, 1));
	expect_assert_failure(fdpass_recv_all(f->sv[0], NULL, 1));
	expect_assert_failure(fdpass_recv_all(f->sv[0], buf, 0));
	expect_assert_failure(fdpass_send_fds(f->sv[0], fds, 0));
	expect_assert_failure(fdpass_send_fds(f->sv[0], NULL, 1));
	expect_assert_failure(fdpass_send_fds(f->sv[0], fds, FDPASS_MAX_FDS + 1));
	expect_assert_failure(fdpass_send_fds(-1, fds, 1));
	expect_assert_failure(fdpass_recv_fds(f->sv[0], fds, 0));
	expect_assert_failure(fdpass_recv_fds(f->sv[0], NULL, 1));
	expect_assert_failure(fdpass_recv_fds(-1, fds, 1));
	expect_assert_failure(fdpass_recv_fds(f->sv[0], fds, FDPASS_MAX_FDS + 1));
	/* A socket error passes through (not a socket at all here). */
	assert_int_equal(fdpass_send_all(0x7fff, "a", 1), -EBADF);
	assert_int_equal(fdpass_recv_all(0x7fff, buf, 1), -EBADF);
	assert_int_equal(fdpass_recv_fds(0x7fff, fds, 1), -EBADF);
	assert_int_equal(fdpass_send_fds(0x7fff, fds, 1), -EBADF);
}

/* FD[1] on the wire: one data byte 0x00 and one SCM_RIGHTS of exactly CMSG_LEN(4). */
static void test_send_fds_wire_format(void **state)
{
	struct fixture *f = *state;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctrl;
	uint8_t data[4] = { 0xff, 0xff, 0xff, 0xff };
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
			      .msg_controllen = sizeof(ctrl.buf) };
	struct cmsghdr *cmsg;
	int p[2], got;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fdpass_send_fds(f->sv[0], &p[1], 1), 0);
	assert_int_equal(recvmsg(f->sv[1], &msg, MSG_CMSG_CLOEXEC), 1);
	assert_int_equal(data[0], 0x00);
	cmsg = CMSG_FIRSTHDR(&msg);
	assert_non_null(cmsg);
	assert_int_equal(cmsg->cmsg_level, SOL_SOCKET);
	assert_int_equal(cmsg->cmsg_type, SCM_RIGHTS);
	assert_int_equal(cmsg->cmsg_len, CMSG_LEN(sizeof(int)));
	assert_null(CMSG_NXTHDR(&msg, cmsg));
	memcpy(&got, CMSG_DATA(cmsg), sizeof(got));
	assert_true(got >= 0);
	close(got);
	close(p[0]);
	close(p[1]);
}

/* One fd round trip: the received fd works and is close-on-exec. */
static void test_pass_one_fd(void **state)
{
	struct fixture *f = *state;
	int p[2], got = -1;
	char c = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fdpass_send_fds(f->sv[0], &p[1], 1), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], &got, 1), 1);
	assert_true(got >= 0);
	assert_int_not_equal(got, p[1]);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "k", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'k');
	close(got);
	close(p[0]);
	close(p[1]);
}

/*
 * Two fds in order (as GET_CHANNEL sends shm + wakeup), with SO_PASSCRED on
 * the receiver so an SCM_CREDENTIALS cmsg rides along and must be tolerated.
 */
static void test_pass_two_fds(void **state)
{
	struct fixture *f = *state;
	int a[2], b[2], got[2] = { -1, -1 }, send_fds[2];
	int one = 1;
	char c = 0;

	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(setsockopt(f->sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	send_fds[0] = a[1];
	send_fds[1] = b[1];
	assert_int_equal(fdpass_send_fds(f->sv[0], send_fds, 2), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], got, 2), 2);
	assert_int_equal(write(got[0], "A", 1), 1);
	assert_int_equal(write(got[1], "B", 1), 1);
	assert_int_equal(read(a[0], &c, 1), 1);
	assert_int_equal(c, 'A');
	assert_int_equal(read(b[0], &c, 1), 1);
	assert_int_equal(c, 'B');
	close(got[0]);
	close(got[1]);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

struct fd_rx {
	int sock;
	int fd;
	int ret;
};

static void *fd_reader_main(void *arg)
{
	struct fd_rx *r = arg;

	r->ret = fdpass_recv_fds(r->sock, &r->fd, 1);
	return NULL;
}

/*
 * A non-blocking receiver that may run before the sender (EAGAIN) waits
 * instead of failing; either ordering must give the fd.
 */
static void test_recv_fds_waits(void **state)
{
	struct fixture *f = *state;
	struct fd_rx r = { .sock = f->sv[1], .fd = -1, .ret = -1 };
	pthread_t th;
	int p[2];

	assert_int_equal(pipe(p), 0);
	set_nonblock(f->sv[1]);
	assert_int_equal(pthread_create(&th, NULL, fd_reader_main, &r), 0);
	assert_int_equal(fdpass_send_fds(f->sv[0], &p[0], 1), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.ret, 1);
	assert_true(r.fd >= 0);
	close(r.fd);
	close(p[0]);
	close(p[1]);
}

struct drain {
	int sock;
	size_t filler;
	ssize_t filler_ret;
	int fd;
	int ret;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	uint8_t *buf = malloc(d->filler);

	d->filler_ret = buf ? fdpass_recv_all(d->sock, buf, d->filler) : -ENOMEM;
	free(buf);
	d->ret = fdpass_recv_fds(d->sock, &d->fd, 1);
	return NULL;
}

/*
 * The fd message meets a full socket buffer on a non-blocking sender: it
 * must wait for room (EAGAIN + poll), not fail, and arrive after the data.
 */
static void test_send_fds_waits_for_room(void **state)
{
	struct fixture *f = *state;
	struct drain d = { .sock = f->sv[1], .fd = -1, .ret = -1 };
	uint8_t chunk[4096] = { 0 };
	int small = 4096, p[2];
	pthread_t th;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(setsockopt(f->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	set_nonblock(f->sv[0]);
	while ((n = send(f->sv[0], chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
		d.filler += (size_t)n;
	assert_int_equal(errno, EAGAIN);
	assert_true(d.filler > 0);
	assert_int_equal(pthread_create(&th, NULL, drain_main, &d), 0);
	assert_int_equal(fdpass_send_fds(f->sv[0], &p[1], 1), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(d.filler_ret, (ssize_t)d.filler);
	assert_int_equal(d.ret, 1);
	assert_true(d.fd >= 0);
	close(d.fd);
	close(p[0]);
	close(p[1]);
}

/* Wrong fd counts and fd-less bytes are -EPROTO, and every received fd is closed. */
static void test_wrong_count_rejected(void **state)
{
	struct fixture *f = *state;
	int p[2], got[2] = { 7, 7 };
	int before;

	assert_int_equal(pipe(p), 0);
	before = test_open_fd_count();

	/* Two sent, one expected. */
	assert_int_equal(fdpass_send_fds(f->sv[0], p, 2), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], got, 1), -EPROTO);
	assert_int_equal(got[0], -1);
	assert_int_equal(test_open_fd_count(), before);

	/* One sent, two expected. */
	assert_int_equal(fdpass_send_fds(f->sv[0], p, 1), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], got, 2), -EPROTO);
	assert_int_equal(got[0], -1);
	assert_int_equal(got[1], -1);
	assert_int_equal(test_open_fd_count(), before);

	/* A plain data byte where fds were expected. */
	assert_int_equal(fdpass_send_all(f->sv[0], "\0", 1), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], got, 1), -EPROTO);
	assert_int_equal(test_open_fd_count(), before);

	/* End of stream: 0, nothing received. */
	assert_int_equal(shutdown(f->sv[0], SHUT_WR), 0);
	assert_int_equal(fdpass_recv_fds(f->sv[1], got, 1), 0);
	assert_int_equal(got[0], -1);
	close(p[0]);
	close(p[1]);
}

/* More fds than the control buffer holds: MSG_CTRUNC, rejected, nothing leaks. */
static void test_truncated_control_rejected(void **state)
{
	struct fixture *f = *state;
	enum { N = 40 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * N)];
		struct cmsghdr align;
	} ctrl;
	uint8_t byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
			      .msg_controllen = sizeof(ctrl.buf) };
	struct cmsghdr *cmsg;
	int fds[N], p[2], got = 7, i, before;

	assert_int_equal(pipe(p), 0);
	for (i = 0; i < N; i++)
		fds[i] = p[i % 2];
	memset(&ctrl, 0, sizeof(ctrl));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * N);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	before = test_open_fd_count();
	assert_int_equal(sendmsg(f->sv[0], &msg, 0), 1);
	assert_int_equal(fdpass_recv_fds(f->sv[1], &got, 1), -EPROTO);
	assert_int_equal(got, -1);
	assert_int_equal(test_open_fd_count(), before);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_big_partial_transfers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_waits_for_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_to_back_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_fds_wire_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_one_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pass_two_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_fds_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_fds_waits_for_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_count_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_control_rejected, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
