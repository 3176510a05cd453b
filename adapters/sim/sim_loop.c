/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_loop.c - the simulated loops and their seeded stepper (contract in
 * sim_loop.h).  Everything runs on the test's one thread: the stepper runs
 * one callback per step, then the after-step hooks.
 */
#include "sim_loop.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SRC_NAME_MAX 48

struct loop_source {
	struct cds_list_head node;   /* stepper->sources, then stepper->zombies */
	struct sim_loop *loop;
	enum sim_src_kind kind;
	uint64_t seq;                /* creation order across all loops */
	bool removed;
	bool woken;                  /* waits */
	bool closed;                 /* fd watches: last poll said POLLNVAL */
	bool closed_warned;
	int fd;
	uint64_t deadline_ns;        /* timers */
	uint64_t period_ns;          /* timers; 0 = one-shot */
	loop_fd_fn fd_fn;
	loop_fn fn;
	void *arg;
	char name[SRC_NAME_MAX];
};

static const char *const kind_names[] = {
	[SIM_SRC_FD] = "fd", [SIM_SRC_TIMER] = "timer", [SIM_SRC_WAIT] = "wait",
	[SIM_SRC_POST] = "post",
};

/* The stepper whose time and step count prefix log lines (one per process). */
static struct sim_stepper *log_stepper;

/* The implementation behind a generic loop handed out by sim_loop_base(). */
static inline struct sim_loop *to_sim(struct loop *loop)
{
	return caa_container_of(loop, struct sim_loop, base);
}

/* a + b, saturating: a deadline past the end of time never fires. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/*
 * Grow the scratch arrays so that sim_step never allocates: they hold one
 * entry per live source.  Returns 0 or -ENOMEM (arrays unchanged in size
 * as far as `cap` is concerned).
 */
static int reserve(struct sim_stepper *st, size_t want)
{
	size_t cap = st->cap ? st->cap : 16;
	void *p;

	if (want <= st->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = realloc(st->ready, cap * sizeof(*st->ready));
	if (!p)
		return -ENOMEM;
	st->ready = p;
	p = realloc(st->ready_events, cap * sizeof(*st->ready_events));
	if (!p)
		return -ENOMEM;
	st->ready_events = p;
	p = realloc(st->pfd, cap * sizeof(*st->pfd));
	if (!p)
		return -ENOMEM;
	st->pfd = p;
	st->cap = cap;
	return 0;
}

/* Allocate and link a source in creation order.  Returns NULL without memory. */
static struct loop_source *src_add(struct sim_loop *sl, enum sim_src_kind kind, const char *name,
				   void *arg)
{
	struct sim_stepper *st = sl->st;
	struct loop_source *s;

	if (reserve(st, st->nr_sources + 1) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = sl;
	s->kind = kind;
	s->seq = st->next_seq++;
	s->fd = -1;
	s->arg = arg;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "(unnamed)");
	cds_list_add_tail(&s->node, &st->sources);
	st->nr_sources++;
	return s;
}

/* Unlink `s` so it is never offered again; freed now, or after the running step. */
static void detach(struct loop_source *s)
{
	struct sim_stepper *st = s->loop->st;

	s->removed = true;
	cds_list_del(&s->node);
	st->nr_sources--;
	if (st->in_step)
		cds_list_add_tail(&s->node, &st->zombies);
	else
		free(s);
}

/* loop_ops.add_fd: polled at every step.  Returns 0 or -errno. */
static int sim_add_fd(struct loop *loop, int fd, const char *name, loop_fd_fn fn, void *arg,
		      struct loop_source **out)
{
	struct sim_loop *sl = to_sim(loop);
	struct loop_source *s;

	if (!fn || fd < 0) {
		ERR("loop '%s': bad fd watch '%s' (fd %d)", sl->name, name ? name : "", fd);
		return fd < 0 ? -EBADF : -EINVAL;
	}
	s = src_add(sl, SIM_SRC_FD, name, arg);
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->fd_fn = fn;
	if (out)
		*out = s;
	return 0;
}

/* loop_ops.add_timer: deadline on the world clock.  Returns 0 or -errno. */
static int sim_add_timer(struct loop *loop, uint64_t first_ns, uint64_t period_ns,
			 const char *name, loop_fn fn, void *arg, struct loop_source **out)
{
	struct sim_loop *sl = to_sim(loop);
	struct loop_source *s;

	if (!fn) {
		ERR("loop '%s': timer '%s' without callback", sl->name, name ? name : "");
		return -EINVAL;
	}
	s = src_add(sl, SIM_SRC_TIMER, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->deadline_ns = sat_add(sim_world_now(sl->st->world), first_ns);
	s->period_ns = period_ns;
	if (out)
		*out = s;
	return 0;
}

/* loop_ops.add_wait: ready once woken.  Returns 0 or -errno. */
static int sim_add_wait(struct loop *loop, const char *name, loop_fn fn, void *arg,
			struct loop_source **out)
{
	struct sim_loop *sl = to_sim(loop);
	struct loop_source *s;

	/* A wait nobody can wake would never complete. */
	if (!fn || !out) {
		ERR("loop '%s': wait '%s' needs a callback and an out pointer", sl->name,
		    name ? name : "");
		return -EINVAL;
	}
	s = src_add(sl, SIM_SRC_WAIT, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	*out = s;
	return 0;
}

/*
 * A source handed to wake / remove must belong to the loop it comes with
 * (the core names the owner loop at every call).  Logs and returns false
 * otherwise.
 */
static bool owned_by(struct loop *loop, const struct loop_source *s, const char *op)
{
	struct sim_loop *sl = to_sim(loop);

	if (s->loop == sl)
		return true;
	ERR("loop '%s': %s of %s '%s', a source of loop '%s'", sl->name, op, kind_names[s->kind],
	    s->name, s->loop->name);
	return false;
}

/* loop_ops.wake: mark ready; repeated wakes are no-ops. */
static void sim_wake(struct loop *loop, struct loop_source *s)
{
	if (!owned_by(loop, s, "wake"))
		return;
	if (s->kind != SIM_SRC_WAIT) {
		ERR("loop '%s': wake on %s '%s', which is not a wait", s->loop->name,
		    kind_names[s->kind], s->name);
		return;
	}
	/* Reachable only from the wait's own callback or later in that step. */
	if (s->removed) {
		DBG("loop '%s': wake on completed wait '%s'", s->loop->name, s->name);
		return;
	}
	s->woken = true;
}

/* loop_ops.post: a source that is ready at once.  Returns 0 or -errno. */
static int sim_post(struct loop *loop, const char *name, loop_fn fn, void *arg)
{
	struct sim_loop *sl = to_sim(loop);
	struct loop_source *s;

	if (!fn) {
		ERR("loop '%s': post '%s' without function", sl->name, name ? name : "");
		return -EINVAL;
	}
	s = src_add(sl, SIM_SRC_POST, name, arg);
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	return 0;
}

/* loop_ops.remove (see the contract in core/loop.h). */
static void sim_remove(struct loop *loop, struct loop_source *s)
{
	if (!owned_by(loop, s, "remove"))
		return;
	/* A fired one-shot timer or a completed wait, still in its own step. */
	if (s->removed) {
		DBG("loop '%s': %s '%s' already removed", s->loop->name, kind_names[s->kind],
		    s->name);
		return;
	}
	detach(s);
}

/* loop_ops.now_ns: the world's virtual clock. */
static uint64_t sim_now_ns(struct loop *loop)
{
	return sim_world_now(to_sim(loop)->st->world);
}

static const struct loop_ops sim_loop_ops = {
	.add_fd = sim_add_fd,
	.add_timer = sim_add_timer,
	.add_wait = sim_add_wait,
	.wake = sim_wake,
	.post = sim_post,
	.remove = sim_remove,
	.now_ns = sim_now_ns,
};

int sim_stepper_init(struct sim_stepper *st, struct sim_world *world)
{
	if (!st || !world) {
		ERR("sim_stepper_init: NULL argument");
		return -EINVAL;
	}
	memset(st, 0, sizeof(*st));
	st->world = world;
	sim_rand_fork(&world->rng, "stepper", &st->rng);
	CDS_INIT_LIST_HEAD(&st->loops);
	CDS_INIT_LIST_HEAD(&st->sources);
	CDS_INIT_LIST_HEAD(&st->zombies);
	CDS_INIT_LIST_HEAD(&st->hooks);
	return 0;
}

void sim_stepper_fini(struct sim_stepper *st)
{
	struct loop_source *s, *stmp;
	struct sim_loop *sl, *ltmp;

	if (!st)
		return;
	if (log_stepper == st) {
		log_set_prefix(NULL);
		log_stepper = NULL;
	}
	cds_list_for_each_entry_safe(s, stmp, &st->sources, node)
		free(s);
	cds_list_for_each_entry_safe(s, stmp, &st->zombies, node)
		free(s);
	cds_list_for_each_entry_safe(sl, ltmp, &st->loops, node)
		free(sl);
	free(st->ready);
	free(st->ready_events);
	free(st->pfd);
	CDS_INIT_LIST_HEAD(&st->loops);
	CDS_INIT_LIST_HEAD(&st->sources);
	CDS_INIT_LIST_HEAD(&st->zombies);
	CDS_INIT_LIST_HEAD(&st->hooks);
	st->ready = NULL;
	st->ready_events = NULL;
	st->pfd = NULL;
	st->cap = 0;
	st->nr_sources = 0;
}

struct sim_loop *sim_loop_find(struct sim_stepper *st, const char *name)
{
	struct sim_loop *sl;

	if (!st || !name)
		return NULL;
	cds_list_for_each_entry(sl, &st->loops, node) {
		if (strncmp(sl->name, name, sizeof(sl->name) - 1) == 0)
			return sl;
	}
	return NULL;
}

struct sim_loop *sim_loop_create(struct sim_stepper *st, const char *name)
{
	struct sim_loop *sl;

	if (!st || !name || !*name) {
		ERR("sim_loop_create: a stepper and a non-empty name are required");
		return NULL;
	}
	if (sim_loop_find(st, name)) {
		ERR("sim_loop_create: loop '%s' already exists", name);
		return NULL;
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return NULL;
	snprintf(sl->name, sizeof(sl->name), "%s", name);
	sl->base.ops = &sim_loop_ops;
	sl->base.name = sl->name;
	sl->st = st;
	cds_list_add_tail(&sl->node, &st->loops);
	return sl;
}

/* poll bits to LOOP_* bits (POLLNVAL is handled by the caller). */
static unsigned int map_revents(short rev)
{
	unsigned int out = 0;

	if (rev & POLLIN)
		out |= LOOP_IN;
	if (rev & (POLLHUP | POLLRDHUP))
		out |= LOOP_HUP;
	if (rev & POLLERR)
		out |= LOOP_ERR;
	return out;
}

/* Next deadline of a periodic timer that fired at s->deadline_ns. */
static void timer_rearm(struct loop_source *s, uint64_t now)
{
	uint64_t next = sat_add(s->deadline_ns, s->period_ns);

	/* The clock jumped past several periods: coalesce like timerfd. */
	if (next <= now && next != UINT64_MAX) {
		uint64_t periods = (now - s->deadline_ns) / s->period_ns + 1;
		uint64_t delta;

		if (__builtin_mul_overflow(periods, s->period_ns, &delta))
			delta = UINT64_MAX;
		next = sat_add(s->deadline_ns, delta);
	}
	s->deadline_ns = next;
}

/* Describe the chosen event for logs and sim_stepper_last_event(). */
static void describe(struct sim_stepper *st, const struct loop_source *s, unsigned int ev)
{
	if (s->kind != SIM_SRC_FD) {
		snprintf(st->last_event, sizeof(st->last_event), "loop '%s' %s '%s'",
			 s->loop->name, kind_names[s->kind], s->name);
		return;
	}
	snprintf(st->last_event, sizeof(st->last_event), "loop '%s' fd '%s' %s%s%s%s%s",
		 s->loop->name, s->name, ev & LOOP_IN ? "IN" : "",
		 (ev & LOOP_IN) && (ev & (LOOP_HUP | LOOP_ERR)) ? "|" : "",
		 ev & LOOP_HUP ? "HUP" : "", (ev & LOOP_HUP) && (ev & LOOP_ERR) ? "|" : "",
		 ev & LOOP_ERR ? "ERR" : "");
}

/* Run the chosen event as step number steps + 1. */
static void run_one(struct sim_stepper *st, struct loop_source *s, unsigned int ev)
{
	struct loop_source *z, *tmp;
	struct sim_step_hook *h;

	st->in_step = true;
	st->steps++;
	describe(st, s, ev);
	DBG2("%s", st->last_event);
	switch (s->kind) {
	case SIM_SRC_FD:
		s->fd_fn(s->arg, s->fd, ev);
		break;
	case SIM_SRC_TIMER:
		/* Rearm or remove first, so the callback may remove or re-add it. */
		if (s->period_ns)
			timer_rearm(s, sim_world_now(st->world));
		else
			detach(s);
		s->fn(s->arg);
		break;
	case SIM_SRC_WAIT:
	case SIM_SRC_POST:
		detach(s);
		s->fn(s->arg);
		break;
	}
	cds_list_for_each_entry(h, &st->hooks, node)
		h->fn(h->arg);
	st->in_step = false;
	cds_list_for_each_entry_safe(z, tmp, &st->zombies, node) {
		cds_list_del(&z->node);
		free(z);
	}
}

static size_t report_add(struct sim_stepper *st, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append to the deadlock report; a full report ends with "...". */
static size_t report_add(struct sim_stepper *st, size_t len, const char *fmt, ...)
{
	static const char ellipsis[] = "...\n";
	va_list ap;
	int n;

	if (len >= sizeof(st->report) - 1)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(st->report + len, sizeof(st->report) - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(st->report) - len) {
		memcpy(st->report + sizeof(st->report) - sizeof(ellipsis), ellipsis,
		       sizeof(ellipsis));
		return sizeof(st->report) - 1;
	}
	return len + (size_t)n;
}

/* Fill st->report: every pending wait and every fd watch, loop by loop. */
static void build_report(struct sim_stepper *st)
{
	struct loop_source *s;
	struct sim_loop *sl;
	size_t len = 0;

	len = report_add(st, len, "deadlock at t=%llu step=%llu: waits pending, nothing ready\n",
			 (unsigned long long)sim_world_now(st->world),
			 (unsigned long long)st->steps);
	cds_list_for_each_entry(sl, &st->loops, node) {
		cds_list_for_each_entry(s, &st->sources, node) {
			if (s->loop != sl)
				continue;
			if (s->kind == SIM_SRC_WAIT)
				len = report_add(st, len, "loop '%s' waits: %s\n", sl->name,
						 s->name);
			else if (s->kind == SIM_SRC_FD)
				len = report_add(st, len, "loop '%s' fd %d %s: %s\n", sl->name,
						 s->fd, s->closed ? "closed" : "not ready",
						 s->name);
		}
	}
}

/* poll() every fd watch at once; results land in st->pfd in source order. */
static int poll_fds(struct sim_stepper *st)
{
	struct loop_source *s;
	nfds_t n = 0;
	int ret;

	cds_list_for_each_entry(s, &st->sources, node) {
		if (s->kind != SIM_SRC_FD)
			continue;
		st->pfd[n].fd = s->fd;
		st->pfd[n].events = POLLIN | POLLRDHUP;
		st->pfd[n].revents = 0;
		n++;
	}
	if (n == 0)
		return 0;
	do {
		ret = poll(st->pfd, n, 0);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		PERROR_NUM(errno, "sim stepper: poll");
		return -1;
	}
	return 0;
}

enum sim_step_result sim_step(struct sim_stepper *st)
{
	struct loop_source *s, *earliest = NULL;
	uint64_t now = sim_world_now(st->world);
	bool waits = false;
	size_t nready = 0, ifd = 0, pick = 0;

	if (st->in_step) {
		ERR("sim_step called from a callback or after_step hook");
		return SIM_STEP_ERROR;
	}
	if (poll_fds(st) < 0)
		return SIM_STEP_ERROR;
	cds_list_for_each_entry(s, &st->sources, node) {
		unsigned int ev = 0;

		switch (s->kind) {
		case SIM_SRC_FD: {
			short rev = st->pfd[ifd++].revents;

			s->closed = rev & POLLNVAL;
			if (s->closed && !s->closed_warned) {
				WARN("loop '%s': watched fd %d of '%s' is closed", s->loop->name,
				     s->fd, s->name);
				s->closed_warned = true;
			}
			ev = s->closed ? 0 : map_revents(rev);
			break;
		}
		case SIM_SRC_TIMER:
			if (s->deadline_ns <= now)
				ev = 1;
			else if (!earliest || s->deadline_ns < earliest->deadline_ns)
				earliest = s;
			break;
		case SIM_SRC_WAIT:
			if (s->woken)
				ev = 1;
			else
				waits = true;
			break;
		case SIM_SRC_POST:
			ev = 1;
			break;
		}
		if (ev) {
			st->ready[nready] = s;
			st->ready_events[nready] = ev;
			nready++;
		}
	}
	if (nready) {
		if (nready > 1)
			pick = (size_t)sim_rand_below(&st->rng, nready);
		run_one(st, st->ready[pick], st->ready_events[pick]);
		return SIM_STEP_STEPPED;
	}
	if (earliest) {
		DBG3("sim: clock %llu -> %llu for timer '%s'", (unsigned long long)now,
		     (unsigned long long)earliest->deadline_ns, earliest->name);
		sim_world_advance(st->world, earliest->deadline_ns - now);
		return SIM_STEP_ADVANCED_TIME;
	}
	if (waits) {
		build_report(st);
		DBG("%s", st->report);
		return SIM_STEP_DEADLOCK;
	}
	return SIM_STEP_IDLE;
}

enum sim_step_result sim_run_until_idle(struct sim_stepper *st, uint64_t max_steps)
{
	uint64_t start = st->steps;
	enum sim_step_result r;

	for (;;) {
		if (st->steps - start >= max_steps)
			return SIM_STEP_LIMIT;
		r = sim_step(st);
		if (r != SIM_STEP_STEPPED && r != SIM_STEP_ADVANCED_TIME)
			return r;
	}
}

enum sim_step_result sim_step_until(struct sim_stepper *st, bool (*pred)(void *arg), void *arg,
				    uint64_t max_steps)
{
	uint64_t start = st->steps;
	enum sim_step_result r;

	if (!pred) {
		ERR("sim_step_until: NULL predicate");
		return SIM_STEP_ERROR;
	}
	for (;;) {
		if (pred(arg))
			return SIM_STEP_PRED_TRUE;
		if (st->steps - start >= max_steps)
			return SIM_STEP_LIMIT;
		r = sim_step(st);
		if (r != SIM_STEP_STEPPED && r != SIM_STEP_ADVANCED_TIME)
			return r;
	}
}

const char *sim_stepper_deadlock_report(const struct sim_stepper *st)
{
	return st->report;
}

uint64_t sim_stepper_steps(const struct sim_stepper *st)
{
	return st->steps;
}

const char *sim_stepper_last_event(const struct sim_stepper *st)
{
	return st->last_event;
}

void sim_stepper_add_hook(struct sim_stepper *st, struct sim_step_hook *h, void (*fn)(void *arg),
			  void *arg)
{
	h->fn = fn;
	h->arg = arg;
	cds_list_add_tail(&h->node, &st->hooks);
}

void sim_stepper_remove_hook(struct sim_step_hook *h)
{
	cds_list_del(&h->node);
}

bool sim_stepper_pending(const struct sim_stepper *st, enum sim_src_kind kind, const char *sub)
{
	const struct loop_source *s;

	/* Only waits are ever woken; an fd watch is never "pending". */
	cds_list_for_each_entry(s, &st->sources, node)
		if (s->kind == kind && kind != SIM_SRC_FD && !s->woken && strstr(s->name, sub))
			return true;
	return false;
}

void sim_stepper_describe_pending(const struct sim_stepper *st, char *buf, size_t len)
{
	const struct loop_source *s;
	size_t o = 0;

	if (!len)
		return;
	buf[0] = '\0';
	cds_list_for_each_entry(s, &st->sources, node) {
		char at[32] = "";
		int n;

		if (s->kind == SIM_SRC_FD)
			continue;
		if (s->kind == SIM_SRC_TIMER)
			snprintf(at, sizeof(at), " at %lluns", (unsigned long long)s->deadline_ns);
		n = snprintf(buf + o, len - o, "%s%s %s '%s'%s%s", o ? "; " : "", s->loop->name,
			     kind_names[s->kind], s->name, at, s->woken ? " (woken)" : "");
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}

void sim_stepper_log_prefix(char *buf, size_t len)
{
	if (!len)
		return;
	if (!log_stepper) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "t=%llu step=%llu",
		 (unsigned long long)sim_world_now(log_stepper->world),
		 (unsigned long long)log_stepper->steps);
}

void sim_stepper_install_log_prefix(struct sim_stepper *st)
{
	log_stepper = st;
	log_set_prefix(st ? sim_stepper_log_prefix : NULL);
}
