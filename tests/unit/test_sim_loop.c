/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the simulated loops and their seeded stepper
 * (adapters/sim/sim_loop.c).  Virtual time only: nothing here waits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sim_loop.h"

#define MS UINT64_C(1000000)
#define T0 UINT64_C(1000)

struct fixture {
	struct sim_world world;
	struct sim_stepper st;
	struct sim_loop *cmd, *data, *meta;
};

static int setup_seed(void **state, uint64_t seed)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	if (sim_world_init(&fx.world, seed, 4, 4, T0) < 0 || sim_stepper_init(&fx.st, &fx.world) < 0)
		return -1;
	fx.cmd = sim_loop_create(&fx.st, "cmd");
	fx.data = sim_loop_create(&fx.st, "data");
	fx.meta = sim_loop_create(&fx.st, "metadata");
	if (!fx.cmd || !fx.data || !fx.meta)
		return -1;
	*state = &fx;
	return 0;
}

static int setup(void **state)
{
	return setup_seed(state, 1);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	sim_stepper_fini(&fx->st);
	return 0;
}

static uint64_t now(struct fixture *fx)
{
	return sim_world_now(&fx->world);
}

/* Records the virtual time of each call. */
struct tick {
	struct loop *loop;
	struct loop_source *src;
	int n;
	int remove_at;               /* remove own source at this count (0 = never) */
	uint64_t t[8];
};

static void tick_cb(void *arg)
{
	struct tick *tk = arg;

	if (tk->n < 8)
		tk->t[tk->n] = loop_now_ns(tk->loop);
	tk->n++;
	if (tk->n == tk->remove_at)
		loop_remove(tk->loop, tk->src);
}

/* Timers cost no wall time: the clock jumps exactly to each deadline, earliest first. */
static void test_timer_exact_virtual_time(void **state)
{
	struct fixture *fx = *state;
	struct tick a = { .loop = sim_loop_base(fx->cmd) };
	struct tick b = { .loop = sim_loop_base(fx->data) };

	assert_int_equal(loop_add_timer(a.loop, 5 * MS, 0, "a", tick_cb, &a, NULL), 0);
	assert_int_equal(loop_add_timer(b.loop, 2 * MS, 0, "b", tick_cb, &b, NULL), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_ADVANCED_TIME);
	assert_int_equal(now(fx), T0 + 2 * MS);
	assert_int_equal(sim_stepper_steps(&fx->st), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.t[0], T0 + 2 * MS);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_ADVANCED_TIME);
	assert_int_equal(now(fx), T0 + 5 * MS);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(a.t[0], T0 + 5 * MS);
	/* One-shot timers are gone after firing. */
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
	assert_int_equal(now(fx), T0 + 5 * MS);
	assert_int_equal(sim_stepper_steps(&fx->st), 2);
	/* first_ns == 0 is ready at once, without a clock move. */
	assert_int_equal(loop_add_timer(a.loop, 0, 0, "now", tick_cb, &a, NULL), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(a.t[1], T0 + 5 * MS);
}

/* A periodic timer fires at exactly first + k * period, until it removes itself. */
static void test_timer_periodic_k_period(void **state)
{
	struct fixture *fx = *state;
	struct tick tk = { .loop = sim_loop_base(fx->meta), .remove_at = 5 };

	assert_int_equal(loop_add_timer(tk.loop, 200 * MS, 200 * MS, "flush", tick_cb, &tk, &tk.src),
			 0);
	assert_int_equal(sim_run_until_idle(&fx->st, 100), SIM_STEP_IDLE);
	assert_int_equal(tk.n, 5);
	for (int k = 0; k < 5; k++)
		assert_int_equal(tk.t[k], T0 + (uint64_t)(k + 1) * 200 * MS);
	assert_int_equal(sim_stepper_steps(&fx->st), 5);
}

/* When the clock jumps past several periods, the timer fires once and skips ahead. */
static void test_timer_periodic_coalesces(void **state)
{
	struct fixture *fx = *state;
	struct tick tk = { .loop = sim_loop_base(fx->cmd), .remove_at = 2 };

	assert_int_equal(loop_add_timer(tk.loop, 10, 10, "t", tick_cb, &tk, &tk.src), 0);
	sim_world_advance(&fx->world, 35);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(tk.t[0], T0 + 35);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_ADVANCED_TIME);
	assert_int_equal(now(fx), T0 + 40);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(tk.n, 2);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
}

struct fd_rec {
	struct loop *loop;
	struct loop_source *src;
	int calls;
	int fd;
	unsigned int events;
	bool consume;
	bool remove_on_hup;
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
	if (r->remove_on_hup && (events & (LOOP_HUP | LOOP_ERR)))
		loop_remove(r->loop, r->src);
}

/* Readiness of a real pipe: idle while empty, LOOP_IN once written, idle once consumed. */
static void test_fd_pipe_readiness(void **state)
{
	struct fixture *fx = *state;
	struct fd_rec r = { .loop = sim_loop_base(fx->data), .consume = true };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(r.loop, p[0], "stream", fd_cb, &r, &r.src), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.events, LOOP_IN);
	assert_string_equal(sim_stepper_last_event(&fx->st), "loop 'data' fd 'stream' IN");
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
	close(p[0]);
	close(p[1]);
}

/* Level-triggered: a byte left in the pipe is offered on every step. */
static void test_fd_level_triggered(void **state)
{
	struct fixture *fx = *state;
	struct fd_rec r = { .loop = sim_loop_base(fx->data) };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(r.loop, p[0], "stream", fd_cb, &r, &r.src), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(sim_run_until_idle(&fx->st, 3), SIM_STEP_LIMIT);
	assert_int_equal(r.calls, 3);
	close(p[0]);
	close(p[1]);
}

/* Closing the write end gives LOOP_HUP; a writer whose reader left gets LOOP_ERR. */
static void test_fd_hup_and_err(void **state)
{
	struct fixture *fx = *state;
	struct fd_rec rd = { .loop = sim_loop_base(fx->data), .remove_on_hup = true };
	struct fd_rec wr = { .loop = sim_loop_base(fx->cmd), .remove_on_hup = true };
	int p[2], q[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(loop_add_fd(rd.loop, p[0], "rd", fd_cb, &rd, &rd.src), 0);
	assert_int_equal(loop_add_fd(wr.loop, q[1], "wr", fd_cb, &wr, &wr.src), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[1]);
	close(q[0]);
	assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
	assert_int_equal(rd.calls, 1);
	assert_int_equal(rd.events, LOOP_IN | LOOP_HUP);
	assert_int_equal(wr.calls, 1);
	assert_true(wr.events & LOOP_ERR);
	close(p[0]);
	close(q[1]);
}

struct waiter {
	struct loop *loop;
	struct loop_source *src;
	int ran;
	uint64_t step_seen;
	struct sim_stepper *st;
};

static void wait_cb(void *arg)
{
	struct waiter *w = arg;

	w->ran++;
	w->step_seen = sim_stepper_steps(w->st);
	/* Already complete: both must be no-ops. */
	loop_wake(w->loop, w->src);
	loop_remove(w->loop, w->src);
	/* The stepper frees it after this step. */
	w->src = NULL;
}

static void wake_cb(void *arg)
{
	struct waiter *w = arg;

	loop_wake(w->loop, w->src);
	loop_wake(w->loop, w->src);
}

/* A wait runs once, on its own loop, after a wake posted from another loop. */
static void test_wait_wake_and_post(void **state)
{
	struct fixture *fx = *state;
	struct waiter w = { .loop = sim_loop_base(fx->cmd), .st = &fx->st };

	assert_int_equal(loop_add_wait(w.loop, "metadata written", wait_cb, &w, &w.src), 0);
	assert_int_equal(loop_post(sim_loop_base(fx->meta), "writer", wake_cb, &w), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_string_equal(sim_stepper_last_event(&fx->st), "loop 'metadata' post 'writer'");
	assert_int_equal(w.ran, 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_string_equal(sim_stepper_last_event(&fx->st), "loop 'cmd' wait 'metadata written'");
	assert_int_equal(w.ran, 1);
	assert_int_equal(w.step_seen, 2);
	/* Posts and waits ran once and are gone. */
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
}

/* ---- the determinism scenario: three loops, pipes, timers, waits, posts ---- */

#define TRACE_LEN 100

struct scenario {
	struct fixture *fx;
	int p[3][2];
	struct fd_rec r[3];
	struct loop_source *wait;
	int posts;
	char trace[TRACE_LEN][SIM_EVENT_MAX];
	int n;
};

static void sc_record(void *arg)
{
	struct scenario *sc = arg;

	if (sc->n < TRACE_LEN)
		snprintf(sc->trace[sc->n++], SIM_EVENT_MAX, "%s",
			 sim_stepper_last_event(&sc->fx->st));
}

static void sc_refill(void *arg)
{
	struct scenario *sc = arg;

	for (int i = 0; i < 3; i++)
		assert_int_equal(write(sc->p[i][1], "x", 1), 1);
}

static void sc_wait_done(void *arg);

static void sc_ping(void *arg)
{
	struct scenario *sc = arg;

	/* Every ping completes the command loop's wait and posts the next ping. */
	if (sc->wait) {
		loop_wake(sim_loop_base(sc->fx->cmd), sc->wait);
		sc->wait = NULL;
	}
	if (++sc->posts < 40)
		assert_int_equal(loop_post(sim_loop_base(sc->fx->data), "ping", sc_ping, sc), 0);
}

static void sc_wait_done(void *arg)
{
	struct scenario *sc = arg;

	assert_int_equal(loop_add_wait(sim_loop_base(sc->fx->cmd), "reply", sc_wait_done, sc,
				       &sc->wait), 0);
}

/* Run the scenario for TRACE_LEN steps under `seed`, recording the events. */
static void run_scenario(uint64_t seed, struct scenario *sc)
{
	void *state = NULL;
	struct fixture *fx;
	const char *names[3] = { "s0", "s1", "s2" };
	struct sim_loop *owner[3];
	struct sim_step_hook record;

	memset(sc, 0, sizeof(*sc));
	assert_int_equal(setup_seed(&state, seed), 0);
	fx = state;
	sc->fx = fx;
	owner[0] = fx->data;
	owner[1] = fx->data;
	owner[2] = fx->meta;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pipe(sc->p[i]), 0);
		sc->r[i] = (struct fd_rec){ .loop = sim_loop_base(owner[i]), .consume = true };
		assert_int_equal(loop_add_fd(sim_loop_base(owner[i]), sc->p[i][0], names[i], fd_cb,
					     &sc->r[i], &sc->r[i].src), 0);
	}
	assert_int_equal(loop_add_timer(sim_loop_base(fx->cmd), MS, MS, "refill", sc_refill, sc,
					NULL), 0);
	assert_int_equal(loop_add_timer(sim_loop_base(fx->meta), 0, 3 * MS, "monitor", sc_refill,
					sc, NULL), 0);
	sc_wait_done(sc);
	assert_int_equal(loop_post(sim_loop_base(fx->data), "ping", sc_ping, sc), 0);
	sim_stepper_add_hook(&fx->st, &record, sc_record, sc);
	assert_int_equal(sim_run_until_idle(&fx->st, TRACE_LEN), SIM_STEP_LIMIT);
	assert_int_equal(sc->n, TRACE_LEN);
	teardown(&state);
	for (int i = 0; i < 3; i++) {
		close(sc->p[i][0]);
		close(sc->p[i][1]);
	}
}

static bool traces_equal(const struct scenario *a, const struct scenario *b)
{
	for (int i = 0; i < TRACE_LEN; i++) {
		if (strcmp(a->trace[i], b->trace[i]) != 0)
			return false;
	}
	return true;
}

static struct scenario sc_a, sc_b;

/* Same seed, same sequence of events, step for step. */
static void test_same_seed_same_order(void **state)
{
	int distinct = 0;

	(void)state;
	run_scenario(42, &sc_a);
	run_scenario(42, &sc_b);
	assert_true(traces_equal(&sc_a, &sc_b));
	/* The scenario really interleaves several kinds of events. */
	for (int i = 1; i < TRACE_LEN; i++)
		distinct += strcmp(sc_a.trace[i], sc_a.trace[i - 1]) != 0;
	assert_true(distinct > 50);
}

/* Different seeds, different interleavings. */
static void test_different_seeds_differ(void **state)
{
	(void)state;
	run_scenario(1, &sc_a);
	run_scenario(2, &sc_b);
	assert_false(traces_equal(&sc_a, &sc_b));
	run_scenario(3, &sc_b);
	assert_false(traces_equal(&sc_a, &sc_b));
}

/* Nothing ready, no timer, a wait pending: a deadlock report names who waits on what. */
static void test_deadlock_report(void **state)
{
	struct fixture *fx = *state;
	struct waiter w = { .loop = sim_loop_base(fx->cmd), .st = &fx->st };
	struct fd_rec r = { .loop = sim_loop_base(fx->data) };
	char line[128];
	int p[2];

	assert_string_equal(sim_stepper_deadlock_report(&fx->st), "");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(r.loop, p[0], "stream 3 wait fd", fd_cb, &r, &r.src), 0);
	assert_int_equal(loop_add_wait(w.loop, "push_metadata reply: metadata written", wait_cb, &w,
				       &w.src), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_DEADLOCK);
	assert_non_null(strstr(sim_stepper_deadlock_report(&fx->st),
			       "loop 'cmd' waits: push_metadata reply: metadata written\n"));
	snprintf(line, sizeof(line), "loop 'data' fd %d not ready: stream 3 wait fd\n", p[0]);
	assert_non_null(strstr(sim_stepper_deadlock_report(&fx->st), line));
	/* Waking it resolves the stall; a lone unready fd watch is merely idle. */
	loop_wake(w.loop, w.src);
	assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
	assert_int_equal(w.ran, 1);
	close(p[0]);
	close(p[1]);
}

/* A very long report is cut with "..." and stays a valid string. */
static void test_deadlock_report_truncated(void **state)
{
	struct fixture *fx = *state;
	struct loop_source *src[200];
	int dummy = 0;
	const char *rep;

	for (int i = 0; i < 200; i++)
		assert_int_equal(loop_add_wait(sim_loop_base(fx->meta),
					       "a wait with a rather long name to fill it up",
					       tick_cb, &dummy, &src[i]), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_DEADLOCK);
	rep = sim_stepper_deadlock_report(&fx->st);
	assert_int_equal(strlen(rep), SIM_REPORT_MAX - 1);
	assert_string_equal(rep + strlen(rep) - 4, "...\n");
}

/* No source at all, or only unready fds: idle, not a deadlock. */
static void test_idle(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
	assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
	assert_int_equal(sim_stepper_steps(&fx->st), 0);
	assert_string_equal(sim_stepper_last_event(&fx->st), "");
}

static bool reached(void *arg)
{
	struct tick *tk = arg;

	return tk->n >= 5;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

/* step_until stops as soon as the predicate holds, or at max_steps. */
static void test_step_until(void **state)
{
	struct fixture *fx = *state;
	struct tick tk = { .loop = sim_loop_base(fx->cmd) };
	struct waiter w = { .loop = sim_loop_base(fx->cmd), .st = &fx->st };

	assert_int_equal(loop_add_timer(tk.loop, MS, MS, "tick", tick_cb, &tk, &tk.src), 0);
	assert_int_equal(sim_step_until(&fx->st, reached, &tk, 100), SIM_STEP_PRED_TRUE);
	assert_int_equal(tk.n, 5);
	assert_int_equal(sim_stepper_steps(&fx->st), 5);
	assert_int_equal(now(fx), T0 + 5 * MS);
	/* Already true: no step at all. */
	assert_int_equal(sim_step_until(&fx->st, reached, &tk, 100), SIM_STEP_PRED_TRUE);
	assert_int_equal(sim_stepper_steps(&fx->st), 5);
	/* Never true: exactly max_steps callbacks run. */
	assert_int_equal(sim_step_until(&fx->st, never, NULL, 7), SIM_STEP_LIMIT);
	assert_int_equal(sim_stepper_steps(&fx->st), 12);
	assert_int_equal(sim_step_until(&fx->st, NULL, NULL, 7), SIM_STEP_ERROR);
	/* Stops on a deadlock instead of spinning. */
	loop_remove(tk.loop, tk.src);
	assert_int_equal(loop_add_wait(w.loop, "forever", wait_cb, &w, &w.src), 0);
	assert_int_equal(sim_step_until(&fx->st, never, NULL, 7), SIM_STEP_DEADLOCK);
	assert_int_equal(sim_run_until_idle(&fx->st, 7), SIM_STEP_DEADLOCK);
}

struct remover {
	struct loop *loop;
	struct loop_source **victims[3];
	struct loop *owners[3];      /* each victim's loop, which remove is given */
	int calls;
};

static void remover_cb(void *arg, int fd, unsigned int events)
{
	struct remover *rm = arg;

	(void)fd;
	(void)events;
	rm->calls++;
	for (int i = 0; i < 3; i++) {
		loop_remove(rm->owners[i], *rm->victims[i]);
		*rm->victims[i] = NULL;
	}
}

/* A callback removes itself, a ready timer, a woken wait: none of them runs again. */
static void test_remove_inside_callback(void **state)
{
	struct fixture *fx = *state;
	struct loop_source *self = NULL, *timer = NULL;
	struct waiter w = { .loop = sim_loop_base(fx->meta), .st = &fx->st };
	struct tick tk = { .loop = sim_loop_base(fx->cmd) };
	struct remover rm = { .loop = sim_loop_base(fx->data), .victims = { &self, &timer, &w.src },
			      .owners = { sim_loop_base(fx->data), tk.loop, w.loop } };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_add_fd(rm.loop, p[0], "remover", remover_cb, &rm, &self), 0);
	assert_int_equal(loop_add_timer(tk.loop, 0, MS, "tick", tick_cb, &tk, &timer), 0);
	assert_int_equal(loop_add_wait(w.loop, "w", wait_cb, &w, &w.src), 0);
	loop_wake(w.loop, w.src);
	/* Step until the remover ran; the others may run before it, never after. */
	for (int i = 0; i < 10 && rm.calls == 0; i++)
		assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(rm.calls, 1);
	{
		int tk_n = tk.n, w_ran = w.ran;

		assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
		assert_int_equal(tk.n, tk_n);
		assert_int_equal(w.ran, w_ran);
		assert_int_equal(rm.calls, 1);
	}
	close(p[0]);
	close(p[1]);
}

static void one_shot_self_remove(void *arg)
{
	struct tick *tk = arg;

	tk->n++;
	/* Already removed by the stepper: a harmless no-op. */
	loop_remove(tk->loop, tk->src);
}

/* Removing a fired one-shot timer from its own callback is harmless. */
static void test_one_shot_remove_in_callback(void **state)
{
	struct fixture *fx = *state;
	struct tick tk = { .loop = sim_loop_base(fx->cmd) };

	assert_int_equal(loop_add_timer(tk.loop, MS, 0, "once", one_shot_self_remove, &tk, &tk.src),
			 0);
	assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
	assert_int_equal(tk.n, 1);
}

struct hook {
	struct sim_stepper *st;
	struct loop *loop;
	struct loop_source *victim;
	int calls;
	uint64_t last_steps;
	enum sim_step_result nested;
	int *order;                  /* shared by the hooks of a test: who ran when */
	int order_seen;
};

static void hook_cb(void *arg)
{
	struct hook *h = arg;

	h->calls++;
	h->order_seen = ++*h->order;
	h->last_steps = sim_stepper_steps(h->st);
	h->nested = sim_step(h->st);
	if (h->victim && h->calls == 2) {
		loop_remove(h->loop, h->victim);
		h->victim = NULL;
	}
}

static void noop_cb(void *arg)
{
	(void)arg;
}

/* Hooks run after every callback step, not after time advances, in the order added. */
static void test_after_step_hooks(void **state)
{
	struct fixture *fx = *state;
	struct tick tk = { .loop = sim_loop_base(fx->cmd) };
	int order = 0;
	struct hook h = { .st = &fx->st, .loop = sim_loop_base(fx->cmd), .order = &order };
	struct hook h2 = { .st = &fx->st, .order = &order };
	struct sim_step_hook sh, sh2;

	assert_int_equal(loop_add_timer(tk.loop, MS, MS, "tick", tick_cb, &tk, &tk.src), 0);
	h.victim = tk.src;
	sim_stepper_add_hook(&fx->st, &sh, hook_cb, &h);
	sim_stepper_add_hook(&fx->st, &sh2, hook_cb, &h2);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_ADVANCED_TIME);
	assert_int_equal(h.calls, 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.last_steps, 1);
	assert_int_equal(h.order_seen, 1);
	assert_int_equal(h2.order_seen, 2);
	/* Stepping from inside a hook is refused. */
	assert_int_equal(h.nested, SIM_STEP_ERROR);
	/* The first hook removed the timer at its second call; the second hook is gone by then. */
	sim_stepper_remove_hook(&sh2);
	assert_int_equal(sim_run_until_idle(&fx->st, 10), SIM_STEP_IDLE);
	assert_int_equal(h.calls, 2);
	assert_int_equal(h2.calls, 1);
	assert_int_equal(tk.n, 2);
	sim_stepper_remove_hook(&sh);
}

/* What is pending between steps: unwoken waits, timers, posts not run yet; never fds. */
static void test_pending(void **state)
{
	struct fixture *fx = *state;
	struct waiter w = { .loop = sim_loop_base(fx->cmd), .st = &fx->st };
	struct loop_source *t = NULL;
	struct fd_rec r = { .loop = sim_loop_base(fx->data) };
	char buf[256];
	int dummy = 0;
	int p[2];

	sim_stepper_describe_pending(&fx->st, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(r.loop, p[0], "never written", fd_cb, &r, &r.src), 0);
	assert_int_equal(loop_add_wait(w.loop, "PUSH_METADATA flushed", wait_cb, &w, &w.src), 0);
	assert_int_equal(loop_add_timer(sim_loop_base(fx->data), MS, 0, "monitor", tick_cb, &dummy,
					&t), 0);
	assert_int_equal(loop_post(sim_loop_base(fx->meta), "GET_CHANNEL hand-off", noop_cb, NULL),
			 0);
	assert_true(sim_stepper_pending(&fx->st, SIM_SRC_WAIT, "flushed"));
	assert_false(sim_stepper_pending(&fx->st, SIM_SRC_POST, "flushed"));
	assert_true(sim_stepper_pending(&fx->st, SIM_SRC_POST, "hand-off"));
	assert_true(sim_stepper_pending(&fx->st, SIM_SRC_TIMER, "monitor"));
	assert_false(sim_stepper_pending(&fx->st, SIM_SRC_FD, "never"));
	sim_stepper_describe_pending(&fx->st, buf, sizeof(buf));
	assert_string_equal(buf, "cmd wait 'PUSH_METADATA flushed'; data timer 'monitor' at "
			    "1001000ns; metadata post 'GET_CHANNEL hand-off'");
	/* A woken wait is ready, no longer pending; a post that ran is gone. */
	loop_wake(w.loop, w.src);
	assert_false(sim_stepper_pending(&fx->st, SIM_SRC_WAIT, "flushed"));
	sim_stepper_describe_pending(&fx->st, buf, 41);
	assert_string_equal(buf, "cmd wait 'PUSH_METADATA flushed' (woken)");
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_false(sim_stepper_pending(&fx->st, SIM_SRC_POST, "hand-off"));
	sim_stepper_describe_pending(&fx->st, buf, 0);
	loop_remove(sim_loop_base(fx->data), t);
	assert_false(sim_stepper_pending(&fx->st, SIM_SRC_TIMER, "monitor"));
	loop_remove(r.loop, r.src);
	close(p[0]);
	close(p[1]);
}

/* A forced step (one ready event) draws nothing from the rng. */
static void test_single_ready_draws_nothing(void **state)
{
	struct fixture *fx = *state;
	struct sim_rand before = fx->st.rng;

	assert_int_equal(loop_post(sim_loop_base(fx->cmd), "only", noop_cb, NULL), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_memory_equal(&before, &fx->st.rng, sizeof(before));
	assert_int_equal(loop_post(sim_loop_base(fx->cmd), "one", noop_cb, NULL), 0);
	assert_int_equal(loop_post(sim_loop_base(fx->data), "two", noop_cb, NULL), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_memory_not_equal(&before, &fx->st.rng, sizeof(before));
}

/* Log lines carry the virtual time and the step number of the installed stepper. */
static void test_log_prefix(void **state)
{
	struct fixture *fx = *state;
	char buf[96];

	sim_stepper_install_log_prefix(&fx->st);
	assert_int_equal(loop_post(sim_loop_base(fx->cmd), "p", noop_cb, NULL), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	sim_world_advance(&fx->world, 42);
	sim_stepper_log_prefix(buf, sizeof(buf));
	assert_string_equal(buf, "t=1042 step=1");
	sim_stepper_log_prefix(buf, 0);
	sim_stepper_fini(&fx->st);
	/* fini uninstalled it. */
	sim_stepper_log_prefix(buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(sim_stepper_init(&fx->st, &fx->world), 0);
	sim_stepper_install_log_prefix(NULL);
}

static void closed_fd_cb(void *arg, int fd, unsigned int events)
{
	(void)fd;
	(void)events;
	(*(int *)arg)++;
}

/* A watched fd closed behind the stepper's back is never ready and is flagged. */
static void test_closed_fd_watch(void **state)
{
	struct fixture *fx = *state;
	struct waiter w = { .loop = sim_loop_base(fx->cmd), .st = &fx->st };
	char line[64];
	int calls = 0;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_add_fd(sim_loop_base(fx->data), p[0], "gone", closed_fd_cb, &calls,
				     NULL), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(loop_add_wait(w.loop, "w", wait_cb, &w, &w.src), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_DEADLOCK);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_DEADLOCK);
	assert_int_equal(calls, 0);
	snprintf(line, sizeof(line), "loop 'data' fd %d closed: gone\n", p[0]);
	assert_non_null(strstr(sim_stepper_deadlock_report(&fx->st), line));
}

static void reenter_cb(void *arg)
{
	struct fixture *fx = arg;

	assert_int_equal(sim_step(&fx->st), SIM_STEP_ERROR);
}

/* Bad input gives an error status and a log line, never a crash. */
static void test_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	struct loop *lp = sim_loop_base(fx->cmd);
	struct loop_source *t = NULL;
	int dummy = 0;

	assert_int_equal(sim_stepper_init(NULL, &fx->world), -EINVAL);
	assert_int_equal(sim_stepper_init(&fx->st, NULL), -EINVAL);
	assert_null(sim_loop_create(&fx->st, "cmd"));
	assert_null(sim_loop_create(&fx->st, ""));
	assert_null(sim_loop_create(NULL, "x"));
	assert_ptr_equal(sim_loop_find(&fx->st, "metadata"), fx->meta);
	assert_null(sim_loop_find(&fx->st, "nope"));
	assert_null(sim_loop_find(NULL, "cmd"));
	assert_string_equal(lp->name, "cmd");
	assert_int_equal(loop_add_fd(lp, -1, "bad", fd_cb, NULL, NULL), -EBADF);
	assert_int_equal(loop_add_fd(lp, 0, "nofn", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(loop_add_timer(lp, 0, 0, "nofn", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(loop_add_wait(lp, "noout", tick_cb, NULL, NULL), -EINVAL);
	assert_int_equal(loop_post(lp, "nofn", NULL, NULL), -EINVAL);
	/* Wake on a timer is logged and ignored; a NULL name is accepted. */
	assert_int_equal(loop_add_timer(lp, UINT64_MAX, 0, NULL, tick_cb, &dummy, &t), 0);
	loop_wake(lp, t);
	/* A source handed with another loop than its own: logged and ignored. */
	loop_remove(sim_loop_base(fx->data), t);
	loop_wake(sim_loop_base(fx->data), t);
	loop_remove(lp, t);
	loop_remove(lp, NULL);
	/* Stepping from a callback is refused. */
	assert_int_equal(loop_post(lp, "reenter", reenter_cb, fx), 0);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_STEPPED);
	assert_int_equal(sim_step(&fx->st), SIM_STEP_IDLE);
}

/* Fini frees loops and every kind of live source (checked under valgrind). */
static void test_fini_with_live_sources(void **state)
{
	struct fixture *fx = *state;
	struct loop_source *w = NULL;
	int dummy = 0;

	/* Enough sources to grow the scratch arrays a few times. */
	for (int i = 0; i < 40; i++)
		assert_int_equal(loop_add_timer(sim_loop_base(fx->cmd), MS, MS, "t", tick_cb,
						&dummy, NULL), 0);
	assert_int_equal(loop_add_fd(sim_loop_base(fx->data), 0, "stdin", fd_cb, NULL, NULL), 0);
	assert_int_equal(loop_add_wait(sim_loop_base(fx->meta), "w", tick_cb, &dummy, &w), 0);
	loop_wake(sim_loop_base(fx->meta), w);
	assert_int_equal(loop_post(sim_loop_base(fx->meta), "p", tick_cb, &dummy), 0);
	sim_stepper_fini(&fx->st);
	assert_int_equal(dummy, 0);
	/* Re-initialised so the teardown's fini has a valid (empty) stepper. */
	assert_int_equal(sim_stepper_init(&fx->st, &fx->world), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timer_exact_virtual_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic_k_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic_coalesces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_pipe_readiness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_level_triggered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_hup_and_err, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_wake_and_post, setup, teardown),
		cmocka_unit_test(test_same_seed_same_order),
		cmocka_unit_test(test_different_seeds_differ),
		cmocka_unit_test_setup_teardown(test_deadlock_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlock_report_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_until, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_shot_remove_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after_step_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_ready_draws_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_fd_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fini_with_live_sources, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
