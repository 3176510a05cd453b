/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the production loop (adapters/posix/loop_epoll.c).  Time-based
 * tests use 1-5 ms timers and bounded loop_epoll_run_once() waits; nothing
 * sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "loop_epoll.h"

#define MS UINT64_C(1000000)
/* Upper bound on run_once iterations of any test, each bounded by its timeout. */
#define MAX_ITER 200

struct fd_rec {
	int calls;
	int fd;
	unsigned int events;
	bool consume;                /* read one byte on LOOP_IN */
	bool remove_self;
	struct loop *loop;
	struct loop_source *self;
	struct loop_source **other;  /* removed (and cleared) on first call */
};

static void fd_cb(void *arg, int fd, unsigned int events)
{
	struct fd_rec *r = arg;
	char c;

	r->calls++;
	r->fd = fd;
	r->events = events;
	if (r->consume && (events & LOOP_IN))
		assert_int_equal(read(fd, &c, 1), 1);
	if (r->remove_self)
		loop_remove(r->loop, r->self);
	if (r->other && *r->other) {
		loop_remove(r->loop, *r->other);
		*r->other = NULL;
	}
}

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

static int setup(void **state)
{
	struct loop_epoll *l = NULL;

	if (loop_epoll_create("test", &l) < 0)
		return -1;
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	loop_epoll_destroy(*state);
	return 0;
}

/* Run bounded iterations until *counter reaches target; returns iterations used. */
static int run_until(struct loop_epoll *l, const int *counter, int target, int timeout_ms)
{
	int i;

	for (i = 0; i < MAX_ITER && *counter < target; i++)
		assert_true(loop_epoll_run_once(l, timeout_ms) >= 0);
	return i;
}

/* A readable pipe runs the callback with LOOP_IN and the right fd, once per byte. */
static void test_fd_readable_in(void **state)
{
	struct loop_epoll *l = *state;
	struct fd_rec r = { .consume = true };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), p[0], "pipe", fd_cb, &r, NULL), 0);
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, LOOP_IN);
	/* Consumed: nothing more to report. */
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(r.calls, 1);
	close(p[0]);
	close(p[1]);
}

/* Level-triggered: an fd left readable is reported again on every pass. */
static void test_fd_level_triggered(void **state)
{
	struct loop_epoll *l = *state;
	struct fd_rec r = { .consume = false };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), p[0], "pipe", fd_cb, &r, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(loop_epoll_run_once(l, 1000), 1);
		assert_int_equal(r.calls, i);
	}
	close(p[0]);
	close(p[1]);
}

/* Closing the peer gives LOOP_HUP, for a pipe and for a socket (EPOLLRDHUP). */
static void test_fd_hup(void **state)
{
	struct loop_epoll *l = *state;
	struct fd_rec rp = { .remove_self = true, .loop = loop_epoll_loop(l) };
	struct fd_rec rs = { .remove_self = true, .loop = loop_epoll_loop(l) };
	int p[2], sv[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), p[0], "pipe", fd_cb, &rp, &rp.self), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), sv[0], "sock", fd_cb, &rs, &rs.self), 0);
	close(p[1]);
	close(sv[1]);
	run_until(l, &rs.calls, 1, 1000);
	run_until(l, &rp.calls, 1, 1000);
	assert_int_equal(rp.calls, 1);
	assert_true(rp.events & LOOP_HUP);
	assert_false(rp.events & LOOP_IN);
	assert_int_equal(rs.calls, 1);
	assert_true(rs.events & LOOP_HUP);
	/* Both removed themselves: the hang-ups are not reported again. */
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	close(p[0]);
	close(sv[0]);
}

/* The write end of a pipe whose reader is gone reports LOOP_ERR. */
static void test_fd_err(void **state)
{
	struct loop_epoll *l = *state;
	struct fd_rec r = { .remove_self = true, .loop = loop_epoll_loop(l) };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), p[1], "wr", fd_cb, &r, &r.self), 0);
	close(p[0]);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_true(r.events & LOOP_ERR);
	close(p[1]);
}

/* A one-shot timer fires once, no earlier than asked, and is then gone. */
static void test_timer_one_shot(void **state)
{
	struct loop_epoll *l = *state;
	struct loop *lp = loop_epoll_loop(l);
	uint64_t t0 = loop_now_ns(lp);
	int fired = 0;

	assert_int_equal(loop_add_timer(lp, 2 * MS, 0, "once", count_cb, &fired, NULL), 0);
	run_until(l, &fired, 1, 50);
	assert_int_equal(fired, 1);
	assert_true(loop_now_ns(lp) - t0 >= 2 * MS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_epoll_run_once(l, 5), 0);
	assert_int_equal(fired, 1);
	/* first_ns == 0 means "as soon as possible", not "disarmed". */
	assert_int_equal(loop_add_timer(lp, 0, 0, NULL, count_cb, &fired, NULL), 0);
	run_until(l, &fired, 2, 50);
	assert_int_equal(fired, 2);
}

struct periodic {
	struct loop *loop;
	struct loop_source *src;
	int fired;
	int stop_at;
	uint64_t t[4];
};

static void periodic_cb(void *arg)
{
	struct periodic *p = arg;

	if (p->fired < 4)
		p->t[p->fired] = loop_now_ns(p->loop);
	p->fired++;
	if (p->fired == p->stop_at)
		loop_remove(p->loop, p->src);
}

/* A periodic timer fires every period until it removes itself from its callback. */
static void test_timer_periodic(void **state)
{
	struct loop_epoll *l = *state;
	struct periodic p = { .loop = loop_epoll_loop(l), .stop_at = 3 };
	uint64_t t0 = loop_now_ns(p.loop);

	assert_int_equal(loop_add_timer(p.loop, MS, MS, "tick", periodic_cb, &p, &p.src), 0);
	run_until(l, &p.fired, 3, 50);
	assert_int_equal(p.fired, 3);
	assert_true(p.t[0] - t0 >= MS);
	assert_true(p.t[2] - t0 >= 3 * MS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_epoll_run_once(l, 5), 0);
	assert_int_equal(p.fired, 3);
}

/* Missed periods are coalesced into one callback, like a timerfd read. */
static void test_timer_overrun_coalesced(void **state)
{
	struct loop_epoll *l = *state;
	struct loop_epoll *idle = NULL;
	struct loop_source *src = NULL;
	int fired = 0;

	assert_int_equal(loop_epoll_create("idle", &idle), 0);
	assert_int_equal(loop_add_timer(loop_epoll_loop(l), MS, MS, "tick", count_cb, &fired,
					&src), 0);
	/* Let about five periods pass without running `l`: a bounded epoll wait elsewhere. */
	assert_int_equal(loop_epoll_run_once(idle, 6), 0);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(fired, 1);
	loop_remove(loop_epoll_loop(l), src);
	loop_epoll_destroy(idle);
}

struct waiter {
	struct loop *loop;
	struct loop_source *src;
	int ran;
};

static void wait_cb(void *arg)
{
	struct waiter *w = arg;

	w->ran++;
	/* The wait is already complete: these must be harmless no-ops. */
	loop_wake(w->loop, w->src);
	loop_remove(w->loop, w->src);
}

/* A wait runs only after a wake, exactly once however often it is woken. */
static void test_wait_wake_same_thread(void **state)
{
	struct loop_epoll *l = *state;
	struct waiter w = { .loop = loop_epoll_loop(l) };

	assert_int_equal(loop_add_wait(w.loop, "reply", wait_cb, &w, &w.src), 0);
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(w.ran, 0);
	loop_wake(w.loop, w.src);
	loop_wake(w.loop, w.src);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(w.ran, 1);
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(w.ran, 1);
}

static void *waker_thread(void *arg)
{
	struct waiter *w = arg;

	loop_wake(w->loop, w->src);
	return NULL;
}

/* loop_wake() from another thread wakes the owner's epoll_wait. */
static void test_wait_wake_other_thread(void **state)
{
	struct loop_epoll *l = *state;
	struct waiter w = { .loop = loop_epoll_loop(l) };
	pthread_t th;

	assert_int_equal(loop_add_wait(w.loop, "reply", wait_cb, &w, &w.src), 0);
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	run_until(l, &w.ran, 1, 1000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.ran, 1);
}

#define NR_POSTS 100

struct post_log {
	struct loop *loop;
	int n;
	int post_errors;             /* cmocka asserts only on the main thread */
	int order[NR_POSTS];
	int slot[NR_POSTS];
};

struct post_arg {
	struct post_log *log;
	int i;
};

static struct post_arg post_args[NR_POSTS];

static void post_cb(void *arg)
{
	struct post_arg *a = arg;

	a->log->order[a->log->n++] = a->i;
}

static void *poster_thread(void *arg)
{
	struct post_log *pl = arg;

	for (int i = 0; i < NR_POSTS; i++) {
		post_args[i].log = pl;
		post_args[i].i = i;
		if (loop_post(pl->loop, "post", post_cb, &post_args[i]) != 0)
			pl->post_errors++;
	}
	return NULL;
}

/* Posts from another thread all run on the loop, in FIFO order. */
static void test_post_other_thread(void **state)
{
	struct loop_epoll *l = *state;
	struct post_log pl = { .loop = loop_epoll_loop(l) };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, poster_thread, &pl), 0);
	run_until(l, &pl.n, NR_POSTS, 1000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(pl.post_errors, 0);
	assert_int_equal(pl.n, NR_POSTS);
	for (int i = 0; i < NR_POSTS; i++)
		assert_int_equal(pl.order[i], i);
}

/* A watch removing itself while its fd stays readable is never called again. */
static void test_remove_in_own_callback(void **state)
{
	struct loop_epoll *l = *state;
	struct fd_rec r = { .remove_self = true, .loop = loop_epoll_loop(l) };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(r.loop, p[0], "pipe", fd_cb, &r, &r.self), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(r.calls, 1);
	close(p[0]);
	close(p[1]);
}

/*
 * Two readable fds land in one epoll batch; whichever runs first removes
 * the other, whose already-returned event must be dropped.
 */
static void test_remove_other_in_same_batch(void **state)
{
	struct loop_epoll *l = *state;
	struct loop_source *sa = NULL, *sb = NULL;
	struct fd_rec a = { .loop = loop_epoll_loop(l), .other = &sb };
	struct fd_rec b = { .loop = loop_epoll_loop(l), .other = &sa };
	int pa[2], pb[2];

	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(write(pb[1], "x", 1), 1);
	assert_int_equal(loop_add_fd(a.loop, pa[0], "a", fd_cb, &a, &sa), 0);
	assert_int_equal(loop_add_fd(b.loop, pb[0], "b", fd_cb, &b, &sb), 0);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	/* The survivor stays readable and keeps running; the other never does. */
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_true((a.calls == 2 && b.calls == 0) || (a.calls == 0 && b.calls == 2));
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

struct remover {
	struct loop *loop;
	struct loop_source *victim;
};

static void remove_victim_cb(void *arg)
{
	struct remover *r = arg;

	loop_remove(r->loop, r->victim);
}

/* A woken wait removed before it ran (in the same batch, or before any run) never runs. */
static void test_remove_woken_wait(void **state)
{
	struct loop_epoll *l = *state;
	struct waiter w = { .loop = loop_epoll_loop(l) };
	struct waiter w2 = { .loop = loop_epoll_loop(l) };
	struct remover r = { .loop = loop_epoll_loop(l) };

	assert_int_equal(loop_add_wait(w.loop, "w", wait_cb, &w, &w.src), 0);
	r.victim = w.src;
	assert_int_equal(loop_post(r.loop, "remover", remove_victim_cb, &r), 0);
	loop_wake(w.loop, w.src);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(w.ran, 0);

	assert_int_equal(loop_add_wait(w2.loop, "w2", wait_cb, &w2, &w2.src), 0);
	loop_wake(w2.loop, w2.src);
	loop_remove(w2.loop, w2.src);
	assert_int_equal(loop_epoll_run_once(l, 0), 0);
	assert_int_equal(w2.ran, 0);
}

struct stopper {
	struct loop_epoll *l;
	int ran;
};

static void stop_cb(void *arg)
{
	struct stopper *s = arg;

	s->ran++;
	loop_epoll_stop(s->l);
}

static void *stop_thread(void *arg)
{
	loop_epoll_stop(arg);
	return NULL;
}

/* loop_epoll_run() returns after a stop from a callback, from a thread, or beforehand. */
static void test_stop(void **state)
{
	struct loop_epoll *l = *state;
	struct stopper s = { .l = l };
	pthread_t th;

	assert_int_equal(loop_add_timer(loop_epoll_loop(l), MS, 0, "stop", stop_cb, &s, NULL), 0);
	assert_int_equal(loop_epoll_run(l), 0);
	assert_int_equal(s.ran, 1);

	assert_int_equal(pthread_create(&th, NULL, stop_thread, l), 0);
	assert_int_equal(loop_epoll_run(l), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	loop_epoll_stop(l);
	assert_int_equal(loop_epoll_run(l), 0);
}

/* now_ns is CLOCK_MONOTONIC: positive and never going back. */
static void test_now_monotonic(void **state)
{
	struct loop *lp = loop_epoll_loop(*state);
	uint64_t prev = loop_now_ns(lp);

	assert_true(prev > 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t t = loop_now_ns(lp);

		assert_true(t >= prev);
		prev = t;
	}
}

/* Destroy frees every kind of source still registered and leaves callers' fds open. */
static void test_destroy_with_live_sources(void **state)
{
	struct loop_epoll *l = NULL;
	struct loop_source *w1 = NULL, *w2 = NULL;
	struct fd_rec r = { 0 };
	int fired = 0;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_epoll_create("doomed", &l), 0);
	assert_int_equal(loop_add_fd(loop_epoll_loop(l), p[0], "pipe", fd_cb, &r, NULL), 0);
	assert_int_equal(loop_add_timer(loop_epoll_loop(l), MS, MS, "tick", count_cb, &fired,
					NULL), 0);
	assert_int_equal(loop_add_wait(loop_epoll_loop(l), "idle", count_cb, &fired, &w1), 0);
	assert_int_equal(loop_add_wait(loop_epoll_loop(l), "woken", count_cb, &fired, &w2), 0);
	loop_wake(loop_epoll_loop(l), w2);
	assert_int_equal(loop_post(loop_epoll_loop(l), "post", count_cb, &fired), 0);
	loop_epoll_destroy(l);
	loop_epoll_destroy(NULL);
	assert_int_equal(fired, 0);
	assert_int_not_equal(fcntl(p[0], F_GETFD), -1);
	close(p[0]);
	close(p[1]);
}

static void reenter_cb(void *arg)
{
	struct stopper *s = arg;

	s->ran = loop_epoll_run_once(s->l, 0);
}

/* Bad input gives an error status, never a crash. */
static void test_bad_arguments(void **state)
{
	struct loop_epoll *l = *state;
	struct loop *lp = loop_epoll_loop(l);
	struct loop_source *src = NULL;
	struct stopper s = { .l = l };
	struct fd_rec r = { 0 };
	struct loop_epoll *other = NULL;
	int p[2], mfd;

	assert_int_equal(loop_epoll_create("x", NULL), -EINVAL);
	assert_int_equal(loop_add_fd(lp, 0, "nofn", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(loop_add_fd(lp, -1, "badfd", fd_cb, &r, NULL), -EBADF);
	mfd = memfd_create("regular", 0);
	assert_true(mfd >= 0);
	assert_int_equal(loop_add_fd(lp, mfd, "regular", fd_cb, &r, NULL), -EPERM);
	close(mfd);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(lp, p[0], "once", fd_cb, &r, &src), 0);
	assert_int_equal(loop_add_fd(lp, p[0], "twice", fd_cb, &r, NULL), -EEXIST);
	/* Not a wait: logged and ignored. */
	loop_wake(lp, src);
	/* A source handed with another loop than its own: logged and ignored. */
	assert_int_equal(loop_epoll_create("other", &other), 0);
	loop_wake(loop_epoll_loop(other), src);
	loop_remove(loop_epoll_loop(other), src);
	loop_epoll_destroy(other);
	/* The caller closed the fd before removing the watch: still clean. */
	close(p[0]);
	loop_remove(lp, src);
	loop_remove(lp, NULL);
	close(p[1]);
	assert_int_equal(loop_add_timer(lp, MS, 0, "nofn", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(loop_add_wait(lp, "noout", count_cb, NULL, NULL), -EINVAL);
	assert_int_equal(loop_post(lp, "nofn", NULL, NULL), -EINVAL);
	/* run_once from a callback of the same loop is refused. */
	assert_int_equal(loop_post(lp, "reenter", reenter_cb, &s), 0);
	assert_int_equal(loop_epoll_run_once(l, 1000), 1);
	assert_int_equal(s.ran, -EBUSY);
}

static void remove_self_timer_cb(void *arg)
{
	struct periodic *p = arg;

	p->fired++;
	/* A one-shot timer is already removed by the loop: this is a no-op. */
	loop_remove(p->loop, p->src);
}

/* Removing a fired one-shot timer from its own callback is harmless. */
static void test_one_shot_remove_in_callback(void **state)
{
	struct loop_epoll *l = *state;
	struct periodic p = { .loop = loop_epoll_loop(l) };

	assert_int_equal(loop_add_timer(p.loop, MS, 0, "once", remove_self_timer_cb, &p, &p.src),
			 0);
	run_until(l, &p.fired, 1, 50);
	assert_int_equal(p.fired, 1);
}

/* Running out of fds: create and add_timer fail with -EMFILE, and clean up. */
static void test_fd_exhaustion(void **state)
{
	struct loop_epoll *l = *state;
	struct loop_epoll *l2 = NULL;
	struct rlimit old, low;
	int fds[4096];
	int n = 0, fired = 0;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 256;
	/* Under valgrind the limit may stay higher; filling the table still works. */
	(void)setrlimit(RLIMIT_NOFILE, &low);
	while (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
		int fd = dup(p[0]);

		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	assert_int_equal(errno, EMFILE);
	assert_int_equal(loop_epoll_create("nofd", &l2), -EMFILE);
	assert_int_equal(loop_add_timer(loop_epoll_loop(l), MS, 0, "t", count_cb, &fired, NULL),
			 -EMFILE);
	close(fds[--n]);
	/* The epoll fd fits, the eventfd does not; the epoll fd is released again. */
	assert_int_equal(loop_epoll_create("nofd", &l2), -EMFILE);
	close(fds[--n]);
	assert_int_equal(loop_epoll_create("fits", &l2), 0);
	loop_epoll_destroy(l2);
	while (n > 0)
		close(fds[--n]);
	close(p[0]);
	close(p[1]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

/* A failing epoll_wait is reported by run_once and ends loop_epoll_run. */
static void test_epoll_failure(void **state)
{
	struct loop_epoll *l = NULL;
	int p[2];

	(void)state;
	assert_int_equal(loop_epoll_create("broken", &l), 0);
	assert_int_equal(pipe(p), 0);
	/* Swap the epoll fd for a pipe behind the loop's back: epoll_wait says EINVAL. */
	assert_int_equal(dup2(p[0], l->epfd), l->epfd);
	assert_int_equal(loop_epoll_run_once(l, 0), -EINVAL);
	assert_int_equal(loop_epoll_run(l), -EINVAL);
	loop_epoll_destroy(l);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fd_readable_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_level_triggered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_hup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_err, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_overrun_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_wake_same_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_wake_other_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_other_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_in_own_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_other_in_same_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_woken_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_now_monotonic, setup, teardown),
		cmocka_unit_test(test_destroy_with_live_sources),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_shot_remove_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_exhaustion, setup, teardown),
		cmocka_unit_test(test_epoll_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
