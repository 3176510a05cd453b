/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fdpass.c - exact-size transfers and SCM_RIGHTS on the session-daemon
 * sockets (see fdpass.h).  Stateless; called from the cmd loop (command and
 * metadata sockets) and from the daemon's start-up handshake.  Arguments come
 * from our own code and are asserted; what the peer sends is checked.
 */
#include "fdpass.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/*
 * Room for the largest SCM_RIGHTS we accept plus an SCM_CREDENTIALS that
 * the kernel adds when the socket has SO_PASSCRED.  The buffer is sized
 * for FDPASS_MAX_FDS whatever n the caller expects, so a peer sending a
 * few too many fds is reported as a count mismatch (and its fds closed)
 * rather than as a truncation.
 */
#define CTRL_LEN (CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred)))

/*
 * Decide what to do after a send/recv/sendmsg/recvmsg on `sock` failed
 * with errno: retry after EINTR; after EAGAIN (non-blocking socket) block
 * in poll() until `events` (or an error/hang-up, which the retried call
 * then reports) and retry.  Returns 0 to retry, or -errno to give up.
 */
static int retry_after(int sock, short events)
{
	struct pollfd pfd = { .fd = sock, .events = events };
	int err = errno;

	if (err == EINTR)
		return 0;
	if (err != EAGAIN && err != EWOULDBLOCK)
		return -err;
	while (poll(&pfd, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int fdpass_send_all(int sock, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int ret;

	assert(sock >= 0 && (buf || !len));
	while (done < len) {
		ssize_t n = send(sock, p + done, len - done, MSG_NOSIGNAL);

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		ret = retry_after(sock, POLLOUT);
		if (ret < 0) {
			DBG("fdpass: send on fd %d failed after %zu of %zu bytes: %s", sock, done,
			    len, log_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

ssize_t fdpass_recv_all(int sock, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;
	int ret;

	assert(sock >= 0 && buf && len > 0 && len <= SSIZE_MAX);
	while (done < len) {
		ssize_t n = recv(sock, p + done, len - done, 0);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (done == 0)
				return 0;
			/* The peer closed mid-message: whatever we parse now would be garbage. */
			ERR("fdpass: peer closed fd %d after %zu of %zu bytes", sock, done, len);
			return -EPIPE;
		}
		ret = retry_after(sock, POLLIN);
		if (ret < 0) {
			DBG("fdpass: recv on fd %d failed after %zu of %zu bytes: %s", sock, done,
			    len, log_strerror(-ret));
			return ret;
		}
	}
	return (ssize_t)len;
}

int fdpass_send_fds(int sock, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	uint8_t byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { 0 };
	struct cmsghdr *cmsg;
	int ret;

	assert(sock >= 0 && fds && n > 0 && n <= FDPASS_MAX_FDS);
	memset(&ctrl, 0, sizeof(ctrl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctrl.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n);

	for (;;) {
		ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);

		/* A stream socket sends the single byte whole or not at all. */
		if (sent >= 0)
			return 0;
		ret = retry_after(sock, POLLOUT);
		if (ret < 0) {
			DBG("fdpass: sending %zu fds on fd %d failed: %s", n, sock,
			    log_strerror(-ret));
			return ret;
		}
	}
}

/* Close every fd carried by any SCM_RIGHTS cmsg of `msg`. */
static void close_received(struct msghdr *msg)
{
	struct cmsghdr *cmsg;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t count, i;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
			if (fd >= 0)
				close(fd);
		}
	}
}

/*
 * Validate a received FD[n] message and copy its fds out.  The kernel
 * merges all fds of one message into a single SCM_RIGHTS cmsg, so "exactly
 * one, of the right length" is what a well-behaved peer produces.
 * Returns 0 or -EPROTO (logged); the caller closes the fds on failure.
 */
static int check_fd_message(int sock, struct msghdr *msg, int *fds, size_t n)
{
	struct cmsghdr *cmsg;
	struct cmsghdr *rights = NULL;
	size_t nrights = 0;

	if (msg->msg_flags & MSG_CTRUNC) {
		ERR("fdpass: control data truncated on fd %d (more fds than expected)", sock);
		return -EPROTO;
	}
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		/* SCM_CREDENTIALS (SO_PASSCRED) and anything else is ignored. */
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
			rights = cmsg;
			nrights++;
		}
	}
	if (nrights == 0) {
		ERR("fdpass: expected %zu fds on fd %d, got a byte without fds", n, sock);
		return -EPROTO;
	}
	if (nrights != 1 || rights->cmsg_len != CMSG_LEN(sizeof(int) * n)) {
		ERR("fdpass: expected one SCM_RIGHTS of %zu fds on fd %d, got %zu with %zu fds in the "
		    "last", n, sock, nrights, (size_t)(rights->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		return -EPROTO;
	}
	memcpy(fds, CMSG_DATA(rights), sizeof(int) * n);
	return 0;
}

int fdpass_recv_fds(int sock, int *fds, size_t n)
{
	union {
		char buf[CTRL_LEN];
		struct cmsghdr align;
	} ctrl;
	uint8_t byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { 0 };
	ssize_t got;
	size_t i;
	int ret;

	assert(sock >= 0 && fds && n > 0 && n <= FDPASS_MAX_FDS);
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (;;) {
		memset(&ctrl, 0, sizeof(ctrl));
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctrl.buf;
		msg.msg_controllen = sizeof(ctrl.buf);
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (got >= 0)
			break;
		ret = retry_after(sock, POLLIN);
		if (ret < 0) {
			DBG("fdpass: receiving %zu fds on fd %d failed: %s", n, sock,
			    log_strerror(-ret));
			return ret;
		}
	}
	if (got == 0) {
		/* Stream sockets carry no fds without data; close defensively anyway. */
		close_received(&msg);
		return 0;
	}
	ret = check_fd_message(sock, &msg, fds, n);
	if (ret < 0) {
		close_received(&msg);
		for (i = 0; i < n; i++)
			fds[i] = -1;
		return ret;
	}
	return (int)n;
}
