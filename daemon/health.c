/* SPDX-License-Identifier: GPL-2.0-only */
#include "health.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HEALTH_BACKLOG 16
#define NS_PER_MS 1000000ll

/*
 * One component.  `progress_ns` is published before `busy` is raised (both
 * seq_cst), so a checker that sees busy > 0 also sees the fresh progress
 * time and never reports a thread stalled the instant it leaves a wait.
 */
struct health_state {
	atomic_uint_fast64_t progress_ns; /* last tick or idle transition */
	atomic_int busy;                  /* threads of the component outside a wait */
};

struct health {
	struct health_state comp[HEALTH_NR_COMP];
	health_clock_fn clock;
	void *clock_ctx;
	uint64_t timeout_ns;
	int io_timeout_ms;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)]; /* bound path, "" = none */
};

uint64_t health_clock_monotonic(void *ctx)
{
	struct timespec ts = { 0, 0 };

	(void)ctx;
	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int health_create(health_clock_fn clock, void *clock_ctx, uint64_t timeout_ns,
		  struct health **out)
{
	struct health *h;
	uint64_t now;
	int i;

	if (!out || !clock || timeout_ns == 0) {
		ERR("health: bad arguments (clock %s, timeout %llu ns)", clock ? "set" : "NULL",
		    (unsigned long long)timeout_ns);
		return -EINVAL;
	}
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		ERR("health: out of memory");
		return -ENOMEM;
	}
	h->clock = clock;
	h->clock_ctx = clock_ctx;
	h->timeout_ns = timeout_ns;
	h->io_timeout_ms = HEALTH_IO_TIMEOUT_MS;
	h->listen_fd = -1;
	now = clock(clock_ctx);
	for (i = 0; i < HEALTH_NR_COMP; i++) {
		atomic_init(&h->comp[i].progress_ns, now);
		atomic_init(&h->comp[i].busy, 0);
	}
	*out = h;
	return 0;
}

void health_destroy(struct health *h)
{
	if (!h)
		return;
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->path[0] && unlink(h->path) < 0 && errno != ENOENT)
		DBG("health: unlink %s: %s", h->path, log_strerror(errno));
	free(h);
}

/* The state of component `c`, or NULL (logged) for a bad handle or id. */
static struct health_state *comp_state(struct health *h, enum health_comp c, const char *op)
{
	if (!h || (unsigned int)c >= HEALTH_NR_COMP) {
		ERR("health: %s on %s component %d", op, h ? "unknown" : "no tracker for",
		    (int)c);
		return NULL;
	}
	return &h->comp[c];
}

void health_tick(struct health *h, enum health_comp c)
{
	struct health_state *s = comp_state(h, c, "tick");

	if (s)
		atomic_store(&s->progress_ns, h->clock(h->clock_ctx));
}

void health_idle_enter(struct health *h, enum health_comp c)
{
	struct health_state *s = comp_state(h, c, "idle_enter");
	int busy;

	if (!s)
		return;
	atomic_store(&s->progress_ns, h->clock(h->clock_ctx));
	busy = atomic_load(&s->busy);
	do {
		if (busy <= 0) {
			/* Unbalanced enter: keep the count sane rather than go negative. */
			ERR("health: component %d enters idle while no thread is busy", (int)c);
			return;
		}
	} while (!atomic_compare_exchange_weak(&s->busy, &busy, busy - 1));
}

void health_idle_leave(struct health *h, enum health_comp c)
{
	struct health_state *s = comp_state(h, c, "idle_leave");

	if (!s)
		return;
	/* Progress first: see struct health_state. */
	atomic_store(&s->progress_ns, h->clock(h->clock_ctx));
	atomic_fetch_add(&s->busy, 1);
}

uint64_t health_check(struct health *h)
{
	uint64_t mask = 0;
	int i;

	if (!h)
		return 0;
	for (i = 0; i < HEALTH_NR_COMP; i++) {
		struct health_state *s = &h->comp[i];
		uint64_t last, now;

		if (atomic_load(&s->busy) <= 0)
			continue;
		last = atomic_load(&s->progress_ns);
		/* Read the clock after the state, so `now` is never older than `last`. */
		now = h->clock(h->clock_ctx);
		if (now > last && now - last > h->timeout_ns)
			mask |= UINT64_C(1) << i;
	}
	return mask;
}

int health_listen(struct health *h, const char *path, gid_t gid)
{
	struct sockaddr_un addr;
	const char *step;
	bool bound = false;
	size_t len;
	int fd, ret;

	if (!h || !path || !path[0]) {
		ERR("health: no socket path");
		return -EINVAL;
	}
	if (h->listen_fd >= 0) {
		ERR("health: already listening on %s", h->path);
		return -EBUSY;
	}
	len = strlen(path);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (len >= sizeof(addr.sun_path)) {
		ERR("health: socket path too long (%zu bytes, at most %zu): %s", len,
		    sizeof(addr.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, len + 1);

	/* A socket file left by a consumer that died makes bind() fail with EADDRINUSE. */
	if (unlink(path) < 0 && errno != ENOENT)
		DBG("health: unlink stale %s: %s", path, log_strerror(errno));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		PERROR_NUM(-ret, "health: socket() for %s", path);
		return ret;
	}
	step = "bind";
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_close;
	/* From here the file is ours: remove it on failure. */
	bound = true;
	/* Before listen(), so nobody connects while the umask decides the mode. */
	step = "chmod 0660";
	if (chmod(path, 0660) < 0)
		goto err_close;
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
		WARN("health: chown %s to gid %u: %s (tracing group members cannot query it)",
		     path, (unsigned int)gid, log_strerror(errno));
	step = "listen on";
	if (listen(fd, HEALTH_BACKLOG) < 0)
		goto err_close;
	h->listen_fd = fd;
	memcpy(h->path, path, len + 1);
	DBG("health: listening on %s", path);
	return fd;

err_close:
	ret = -errno;
	PERROR_NUM(-ret, "health: %s %s", step, path);
	if (bound)
		unlink(path);
	close(fd);
	return ret;
}

int health_listen_fd(const struct health *h)
{
	return h ? h->listen_fd : -1;
}

void health_set_io_timeout_ms(struct health *h, int timeout_ms)
{
	if (h && timeout_ms > 0)
		h->io_timeout_ms = timeout_ms;
}

/* Milliseconds left until `deadline_ns` on CLOCK_MONOTONIC (0 when past). */
static int ms_left(uint64_t deadline_ns)
{
	uint64_t now = health_clock_monotonic(NULL);

	if (now >= deadline_ns)
		return 0;
	return (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
}

/*
 * Serve one accepted connection: read the u32 command within the I/O
 * bound, send the bitmask.  Never blocks past the bound.  The caller
 * closes `fd`.  Failures are the client's problem: logged at debug level.
 */
static void serve_one(struct health *h, int fd)
{
	uint32_t cmd = 0;
	uint64_t reply;
	size_t got = 0;
	uint64_t deadline = health_clock_monotonic(NULL) +
			    (uint64_t)h->io_timeout_ms * (uint64_t)NS_PER_MS;
	ssize_t n;

	while (got < sizeof(cmd)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ready = poll(&pfd, 1, ms_left(deadline));

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			DBG("health: client sent %zu of %zu command bytes in %d ms; closing", got,
			    sizeof(cmd), h->io_timeout_ms);
			return;
		}
		n = recv(fd, (char *)&cmd + got, sizeof(cmd) - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		/* A client may connect and leave without asking anything. */
		DBG("health: client left after %zu command bytes%s%s", got, n < 0 ? ": " : "",
		    n < 0 ? log_strerror(errno) : "");
		return;
	}
	if (cmd != HEALTH_CMD_CHECK)
		DBG("health: unknown command %u, answering as CHECK", cmd);
	reply = health_check(h);
	/* 8 bytes into a fresh socket buffer; if even that does not fit, drop the client. */
	n = send(fd, &reply, sizeof(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(reply))
		DBG("health: reply not sent whole (%zd): %s", n, n < 0 ? log_strerror(errno) : "short");
}

int health_handle_listen_ready(struct health *h)
{
	int served = 0;

	if (!h || h->listen_fd < 0) {
		ERR("health: not listening");
		return -EBADF;
	}
	while (served < HEALTH_ACCEPT_BATCH) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int err;

		if (fd < 0) {
			err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK)
				break;
			if (err == EINTR || err == ECONNABORTED)
				continue;
			PERROR_NUM(err, "health: accept on %s", h->path);
			return -err;
		}
		serve_one(h, fd);
		close(fd);
		served++;
	}
	return served;
}
