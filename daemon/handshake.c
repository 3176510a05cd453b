/* SPDX-License-Identifier: GPL-2.0-only */
#include "handshake.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"

void handshake_socks_init(struct handshake_socks *s)
{
	s->err_fd = -1;
	s->cmd_fd = -1;
	s->metadata_fd = -1;
}

/* Close *fd if open and mark it -1. */
static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void handshake_close(struct handshake_socks *s)
{
	if (!s)
		return;
	close_fd(&s->err_fd);
	close_fd(&s->cmd_fd);
	close_fd(&s->metadata_fd);
}

/*
 * Fill a UNIX socket address for `path`.  Returns 0, or -ENAMETOOLONG
 * (logged with `what`) when the path does not fit sun_path.
 */
static int make_addr(const char *what, const char *path, struct sockaddr_un *addr)
{
	size_t len = strlen(path);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (len >= sizeof(addr->sun_path)) {
		ERR("handshake: %s path too long (%zu bytes, at most %zu): %s", what, len,
		    sizeof(addr->sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(addr->sun_path, path, len + 1);
	return 0;
}

/* Step 1: connect to the sessiond's error socket.  Returns the fd or -errno. */
static int connect_err_sock(const char *path)
{
	struct sockaddr_un addr;
	int fd, ret;

	ret = make_addr("error socket", path, &addr);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		PERROR_NUM(-ret, "handshake: socket() for the error socket %s", path);
		return ret;
	}
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* AF_UNIX connects synchronously: an interrupted one left nothing behind. */
		if (errno == EINTR)
			continue;
		ret = -errno;
		PERROR_NUM(-ret, "handshake: connect to the session daemon's error socket %s "
				 "(is lttng-sessiond running?)", path);
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Step 2: create the listening command socket.  The path is unlinked
 * first because a stale socket file from a previous consumer makes bind()
 * fail; the sessiond expects us to own that path.  The socket is
 * non-blocking so an accept() after a connection vanished cannot block.
 * Returns the fd or -errno.
 */
static int listen_cmd_sock(const char *path)
{
	struct sockaddr_un addr;
	const char *step;
	int fd, ret;

	ret = make_addr("command socket", path, &addr);
	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		DBG("handshake: unlink stale command socket %s: %s", path, log_strerror(errno));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		PERROR_NUM(-ret, "handshake: socket() for the command socket %s", path);
		return ret;
	}
	step = "bind";
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_close;
	step = "listen on";
	if (listen(fd, HANDSHAKE_BACKLOG) < 0)
		goto err_close;
	return fd;

err_close:
	ret = -errno;
	PERROR_NUM(-ret, "handshake: %s command socket %s", step, path);
	close(fd);
	return ret;
}

/*
 * Step 4: wait for one connection on `lfd` (at most timeout_ms per wait,
 * 0 = forever; an EINTR restarts the wait) and accept it.  Any event on
 * err_fd ends the wait: the sessiond never writes there, so it hung up.
 * Returns the accepted fd (blocking, close-on-exec) or -errno.
 */
static int accept_one(int lfd, int err_fd, int timeout_ms, const char *path, const char *which)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = err_fd, .events = POLLIN | POLLRDHUP },
	};
	int fd, n, ret;

	for (;;) {
		n = poll(pfd, 2, timeout_ms > 0 ? timeout_ms : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			PERROR_NUM(-ret, "handshake: poll while waiting for the %s connection on %s",
				   which, path);
			return ret;
		}
		if (n == 0) {
			ERR("handshake: no %s connection on %s within %d ms", which, path,
			    timeout_ms);
			return -ETIMEDOUT;
		}
		if (pfd[1].revents) {
			ERR("handshake: the session daemon hung up the error socket while we waited "
			    "for the %s connection on %s", which, path);
			return -ECONNRESET;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		/* The connection went away between poll and accept: wait for the next. */
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ECONNABORTED)
			continue;
		ret = -errno;
		PERROR_NUM(-ret, "handshake: accept the %s connection on %s", which, path);
		return ret;
	}
}

int handshake_run(const char *err_path, const char *cmd_path, int accept_timeout_ms,
		  struct handshake_socks *out)
{
	struct handshake_socks s;
	const int32_t ready = HANDSHAKE_READY_CODE;
	int lfd = -1;
	int ret;

	if (!out || !err_path || !cmd_path || !err_path[0] || !cmd_path[0]) {
		ERR("handshake: missing error or command socket path");
		return -EINVAL;
	}
	handshake_socks_init(out);
	handshake_socks_init(&s);

	ret = connect_err_sock(err_path);
	if (ret < 0)
		goto err;
	s.err_fd = ret;
	DBG("handshake: connected to error socket %s", err_path);

	ret = listen_cmd_sock(cmd_path);
	if (ret < 0)
		goto err;
	lfd = ret;
	DBG("handshake: listening on command socket %s", cmd_path);

	/* Host byte order, as every sessiond<->consumer integer. */
	ret = fdpass_send_all(s.err_fd, &ready, sizeof(ready));
	if (ret < 0) {
		PERROR_NUM(-ret, "handshake: send the ready code on error socket %s", err_path);
		goto err;
	}

	ret = accept_one(lfd, s.err_fd, accept_timeout_ms, cmd_path, "command");
	if (ret < 0)
		goto err;
	s.cmd_fd = ret;
	ret = accept_one(lfd, s.err_fd, accept_timeout_ms, cmd_path, "metadata");
	if (ret < 0)
		goto err;
	s.metadata_fd = ret;
	close(lfd);
	DBG("handshake: command fd %d, metadata fd %d, error fd %d", s.cmd_fd, s.metadata_fd,
	    s.err_fd);
	*out = s;
	return 0;

err:
	if (lfd >= 0)
		close(lfd);
	handshake_close(&s);
	return ret;
}
