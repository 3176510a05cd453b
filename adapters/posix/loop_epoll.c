/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop_epoll.c - the epoll, timerfd and eventfd loop behind core/loop.h
 * (contract in loop_epoll.h).  Each loop runs on the one thread that calls
 * loop_epoll_run(); other threads only wake, post or stop it.
 */
#include "loop_epoll.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SRC_NAME_MAX 48
/* Events taken per epoll_wait; more stay pending for the next call. */
#define BATCH_MAX 64

enum src_kind { SRC_FD, SRC_TIMER, SRC_WAIT, SRC_POST };

/*
 * Life of a wait, guarded by loop->lock because loop_wake() reads it from
 * other threads: IDLE -> QUEUED (woken, in loop->pending) -> BATCH (taken
 * by the dispatcher) -> DONE (ran, or removed).
 */
enum wait_state { WAIT_IDLE, WAIT_QUEUED, WAIT_BATCH, WAIT_DONE };

struct loop_source {
	struct cds_list_head node;   /* loop->sources, then loop->zombies */
	struct cds_list_head qnode;  /* loop->pending or a dispatch batch */
	struct loop_epoll *loop;
	enum src_kind kind;
	bool removed;                /* loop thread only */
	enum wait_state wstate;      /* waits only; loop->lock */
	int fd;                      /* watched fd, or the timer's timerfd */
	uint64_t period_ns;          /* timers; 0 = one-shot */
	loop_fd_fn fd_fn;
	loop_fn fn;
	void *arg;
	char name[SRC_NAME_MAX];
};

/* The implementation behind a generic loop handed out by loop_epoll_loop(). */
static inline struct loop_epoll *to_epoll(struct loop *loop)
{
	return caa_container_of(loop, struct loop_epoll, base);
}

/* Allocate a source of `kind`; returns NULL when out of memory. */
static struct loop_source *src_new(struct loop_epoll *l, enum src_kind kind, const char *name,
				   void *arg)
{
	struct loop_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = l;
	s->kind = kind;
	s->fd = -1;
	s->arg = arg;
	s->wstate = WAIT_IDLE;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "(unnamed)");
	CDS_INIT_LIST_HEAD(&s->node);
	CDS_INIT_LIST_HEAD(&s->qnode);
	return s;
}

/* Release a source's memory and its timerfd.  The source is unlinked. */
static void src_free(struct loop_source *s)
{
	if (s->kind == SRC_TIMER && s->fd >= 0)
		close(s->fd);
	free(s);
}

/*
 * Wake the owner's epoll_wait.  Called with l->lock held so the eventfd
 * cannot be closed underneath.  A full counter (EAGAIN) already means
 * "readable", so it is not an error.
 */
static void notify_locked(struct loop_epoll *l)
{
	uint64_t one = 1;

	if (write(l->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		PERROR_NUM(errno, "loop '%s': eventfd write", l->name);
}

/* loop_ops.now_ns: CLOCK_MONOTONIC in ns.  Any thread. */
static uint64_t ep_now_ns(struct loop *loop)
{
	struct timespec ts;

	(void)loop;
	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* Register `s` (fd or timer) in epoll.  Returns 0 or -errno. */
static int epoll_add_src(struct loop_epoll *l, struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	return 0;
}

/* loop_ops.add_fd: level-triggered epoll watch.  Returns 0 or -errno (epoll_ctl's). */
static int ep_add_fd(struct loop *loop, int fd, const char *name, loop_fd_fn fn, void *arg,
		     struct loop_source **out)
{
	struct loop_epoll *l = to_epoll(loop);
	struct loop_source *s;
	int ret;

	if (!fn) {
		ERR("loop '%s': fd watch '%s' without callback", l->name, name ? name : "");
		return -EINVAL;
	}
	s = src_new(l, SRC_FD, name, arg);
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->fd_fn = fn;
	ret = epoll_add_src(l, s, EPOLLIN | EPOLLRDHUP);
	if (ret < 0) {
		ERR("loop '%s': cannot watch fd %d for '%s': %s", l->name, fd, s->name,
		    log_strerror(-ret));
		free(s);
		return ret;
	}
	cds_list_add_tail(&s->node, &l->sources);
	if (out)
		*out = s;
	return 0;
}

/* Split a ns count for itimerspec. */
static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / UINT64_C(1000000000)),
		.tv_nsec = (long)(ns % UINT64_C(1000000000)),
	};
	return ts;
}

/* loop_ops.add_timer: one timerfd per timer.  Returns 0 or -errno. */
static int ep_add_timer(struct loop *loop, uint64_t first_ns, uint64_t period_ns,
			const char *name, loop_fn fn, void *arg, struct loop_source **out)
{
	struct loop_epoll *l = to_epoll(loop);
	/* An all-zero it_value disarms a timerfd: "fire now" becomes 1 ns. */
	struct itimerspec its = {
		.it_value = ns_to_ts(first_ns ? first_ns : 1),
		.it_interval = ns_to_ts(period_ns),
	};
	struct loop_source *s;
	int ret;

	if (!fn) {
		ERR("loop '%s': timer '%s' without callback", l->name, name ? name : "");
		return -EINVAL;
	}
	s = src_new(l, SRC_TIMER, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->period_ns = period_ns;
	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0 || timerfd_settime(s->fd, 0, &its, NULL) < 0) {
		ret = -errno;
		goto error;
	}
	ret = epoll_add_src(l, s, EPOLLIN);
	if (ret < 0)
		goto error;
	cds_list_add_tail(&s->node, &l->sources);
	if (out)
		*out = s;
	return 0;
error:
	ERR("loop '%s': cannot create timer '%s': %s", l->name, s->name, log_strerror(-ret));
	src_free(s);
	return ret;
}

/* loop_ops.add_wait: a source with no fd; loop_wake() queues it.  Returns 0 or -errno. */
static int ep_add_wait(struct loop *loop, const char *name, loop_fn fn, void *arg,
		       struct loop_source **out)
{
	struct loop_epoll *l = to_epoll(loop);
	struct loop_source *s;

	/* A wait nobody can wake would never complete. */
	if (!fn || !out) {
		ERR("loop '%s': wait '%s' needs a callback and an out pointer", l->name,
		    name ? name : "");
		return -EINVAL;
	}
	s = src_new(l, SRC_WAIT, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	cds_list_add_tail(&s->node, &l->sources);
	*out = s;
	return 0;
}

/*
 * A source handed to wake / remove must belong to the loop it is given
 * with: the other loop's lock would not guard it.  Logs and returns false
 * otherwise.
 */
static bool owned_by(const struct loop_epoll *l, const struct loop_source *s, const char *op)
{
	if (s->loop == l)
		return true;
	ERR("loop '%s': %s of '%s', a source of loop '%s'", l->name, op, s->name, s->loop->name);
	return false;
}

/* loop_ops.wake, any thread.  Only an IDLE wait is queued: repeated wakes are no-ops. */
static void ep_wake(struct loop *loop, struct loop_source *s)
{
	struct loop_epoll *l = to_epoll(loop);

	if (!owned_by(l, s, "wake"))
		return;
	if (s->kind != SRC_WAIT) {
		ERR("loop '%s': wake on '%s', which is not a wait", l->name, s->name);
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (s->wstate == WAIT_IDLE) {
		s->wstate = WAIT_QUEUED;
		cds_list_add_tail(&s->qnode, &l->pending);
		notify_locked(l);
	}
	pthread_mutex_unlock(&l->lock);
}

/* loop_ops.post, any thread: FIFO with woken waits.  Returns 0 or -errno. */
static int ep_post(struct loop *loop, const char *name, loop_fn fn, void *arg)
{
	struct loop_epoll *l = to_epoll(loop);
	struct loop_source *s;

	if (!fn) {
		ERR("loop '%s': post '%s' without function", l->name, name ? name : "");
		return -EINVAL;
	}
	s = src_new(l, SRC_POST, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	pthread_mutex_lock(&l->lock);
	cds_list_add_tail(&s->qnode, &l->pending);
	notify_locked(l);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

/*
 * Unlink `s` so it never runs again.  Memory is kept on the zombie list
 * while a batch is being dispatched, since that batch may still hold a
 * pointer to it; otherwise it is freed now.  Loop thread only.
 */
static void detach(struct loop_source *s)
{
	struct loop_epoll *l = s->loop;

	s->removed = true;
	if (s->kind == SRC_FD || s->kind == SRC_TIMER) {
		/* EBADF/ENOENT: the caller closed its fd first; epoll forgot it already. */
		if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0)
			DBG("loop '%s': unwatching '%s' (fd %d): %s", l->name, s->name, s->fd,
			    log_strerror(errno));
	}
	if (s->kind == SRC_WAIT) {
		pthread_mutex_lock(&l->lock);
		if (s->wstate == WAIT_QUEUED)
			cds_list_del(&s->qnode);
		s->wstate = WAIT_DONE;
		pthread_mutex_unlock(&l->lock);
	}
	cds_list_del(&s->node);
	if (l->dispatching) {
		cds_list_add_tail(&s->node, &l->zombies);
	} else {
		src_free(s);
	}
}

/* loop_ops.remove, loop thread.  Posts never get here: their sources are not handed out. */
static void ep_remove(struct loop *loop, struct loop_source *s)
{
	if (!owned_by(to_epoll(loop), s, "remove"))
		return;
	/* Only reachable inside the batch that fired a one-shot timer or a wait. */
	if (s->removed) {
		DBG("loop '%s': '%s' already removed", s->loop->name, s->name);
		return;
	}
	detach(s);
}

/* epoll bits to LOOP_* bits. */
static unsigned int map_events(uint32_t ev)
{
	unsigned int out = 0;

	if (ev & EPOLLIN)
		out |= LOOP_IN;
	if (ev & (EPOLLHUP | EPOLLRDHUP))
		out |= LOOP_HUP;
	if (ev & EPOLLERR)
		out |= LOOP_ERR;
	return out;
}

/* Run one fd or timer event of the current batch.  Returns callbacks run. */
static int dispatch_src(struct loop_source *s, uint32_t events)
{
	uint64_t expirations;

	if (s->removed)
		return 0;
	if (s->kind == SRC_FD) {
		s->fd_fn(s->arg, s->fd, map_events(events));
		return 1;
	}
	/* Reading re-arms the level; EAGAIN means the expiry was already consumed. */
	if (read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return 0;
	if (expirations > 1)
		DBG3("loop '%s': timer '%s' overran %llu periods", s->loop->name, s->name,
		     (unsigned long long)(expirations - 1));
	/* The contract removes a one-shot timer for the caller; do it before it runs. */
	if (s->period_ns == 0)
		detach(s);
	s->fn(s->arg);
	return 1;
}

/*
 * Run every woken wait and post queued so far.  Work queued by these
 * callbacks waits for the next run_once, so a self-reposting function cannot
 * starve fd events.  Returns callbacks run.
 */
static int dispatch_pending(struct loop_epoll *l)
{
	struct cds_list_head batch;
	struct loop_source *s, *tmp;
	uint64_t count;
	int ran = 0;

	if (read(l->evfd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		PERROR_NUM(errno, "loop '%s': eventfd read", l->name);
	CDS_INIT_LIST_HEAD(&batch);
	pthread_mutex_lock(&l->lock);
	cds_list_splice(&l->pending, &batch);
	CDS_INIT_LIST_HEAD(&l->pending);
	cds_list_for_each_entry(s, &batch, qnode) {
		if (s->kind == SRC_WAIT)
			s->wstate = WAIT_BATCH;
	}
	pthread_mutex_unlock(&l->lock);

	cds_list_for_each_entry_safe(s, tmp, &batch, qnode) {
		cds_list_del(&s->qnode);
		if (s->kind == SRC_POST) {
			s->fn(s->arg);
			free(s);
			ran++;
			continue;
		}
		/* Removed by an earlier callback of this batch: detach() set DONE. */
		if (s->removed)
			continue;
		detach(s);
		s->fn(s->arg);
		ran++;
	}
	return ran;
}

int loop_epoll_run_once(struct loop_epoll *l, int timeout_ms)
{
	struct epoll_event ev[BATCH_MAX];
	struct loop_source *s, *tmp;
	int n, ran = 0;

	if (l->dispatching) {
		ERR("loop '%s': run_once called from one of its callbacks", l->name);
		return -EBUSY;
	}
	n = epoll_wait(l->epfd, ev, BATCH_MAX, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		n = -errno;
		PERROR_NUM(-n, "loop '%s': epoll_wait", l->name);
		return n;
	}
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr)
			ran += dispatch_src(ev[i].data.ptr, ev[i].events);
		else
			ran += dispatch_pending(l);
	}
	l->dispatching = false;
	cds_list_for_each_entry_safe(s, tmp, &l->zombies, node) {
		cds_list_del(&s->node);
		src_free(s);
	}
	return ran;
}

int loop_epoll_run(struct loop_epoll *l)
{
	int ret = 0;

	while (!atomic_load(&l->stop)) {
		ret = loop_epoll_run_once(l, -1);
		if (ret < 0)
			break;
	}
	atomic_store(&l->stop, false);
	return ret < 0 ? ret : 0;
}

void loop_epoll_stop(struct loop_epoll *l)
{
	atomic_store(&l->stop, true);
	pthread_mutex_lock(&l->lock);
	notify_locked(l);
	pthread_mutex_unlock(&l->lock);
}

static const struct loop_ops loop_epoll_ops = {
	.add_fd = ep_add_fd,
	.add_timer = ep_add_timer,
	.add_wait = ep_add_wait,
	.wake = ep_wake,
	.post = ep_post,
	.remove = ep_remove,
	.now_ns = ep_now_ns,
};

int loop_epoll_create(const char *name, struct loop_epoll **out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct loop_epoll *l;
	int ret;

	if (!out) {
		ERR("loop_epoll_create: NULL out pointer");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = -1;
	l->evfd = -1;
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "(unnamed)");
	l->base.ops = &loop_epoll_ops;
	l->base.name = l->name;
	CDS_INIT_LIST_HEAD(&l->pending);
	CDS_INIT_LIST_HEAD(&l->sources);
	CDS_INIT_LIST_HEAD(&l->zombies);
	atomic_init(&l->stop, false);
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		ret = -errno;
		goto error;
	}
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->evfd < 0) {
		ret = -errno;
		goto error;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0) {
		ret = -errno;
		goto error;
	}
	*out = l;
	return 0;
error:
	ERR("loop '%s': cannot create: %s", l->name, log_strerror(-ret));
	loop_epoll_destroy(l);
	return ret;
}

void loop_epoll_destroy(struct loop_epoll *l)
{
	struct loop_source *s, *tmp;

	if (!l)
		return;
	/* Waits on `pending` are also on `sources`: free only the posts here. */
	cds_list_for_each_entry_safe(s, tmp, &l->pending, qnode) {
		if (s->kind == SRC_POST)
			free(s);
	}
	/* Zombies are always empty here: run_once frees them before returning. */
	cds_list_for_each_entry_safe(s, tmp, &l->sources, node)
		src_free(s);
	if (l->evfd >= 0)
		close(l->evfd);
	if (l->epfd >= 0)
		close(l->epfd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
