/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_mdcache.c - unit tests of the metadata cache (core/mdcache.c).
 *
 * Content: fragments in order, out of order with holes, overlapping, re-sent,
 * version changes either way, len 0, bounds.  Waits: immediate answers,
 * wake-up exactly once in target order on progress, cancellation, close,
 * invalidation, destroy, callbacks that re-enter the cache, and one two-thread
 * run (command side vs. metadata stream side) joined deterministically.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "log.h"
#include "mdcache.h"

/* Deterministic content: byte i of version v. */
static uint8_t pat(uint64_t v, uint64_t i)
{
	return (uint8_t)(i * 31 + v * 101 + 7);
}

static void fill(uint8_t *dst, uint64_t v, uint64_t off, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		dst[i] = pat(v, off + i);
}

/* Write [off, off+len) of version v's pattern; returns the mdcache_write() code. */
static int put(struct mdcache *c, uint64_t off, uint64_t len, uint64_t v,
	       enum mdcache_write_result *res)
{
	uint8_t buf[1024];

	assert_true(len <= sizeof(buf));
	fill(buf, v, off, len);
	return mdcache_write(c, off, len, v, buf, res);
}

/* Expect a successful write with result `want`. */
static void put_ok(struct mdcache *c, uint64_t off, uint64_t len, uint64_t v,
		   enum mdcache_write_result want)
{
	enum mdcache_write_result res = (enum mdcache_write_result)-1;

	assert_int_equal(put(c, off, len, v, &res), 0);
	assert_int_equal(res, want);
}

/* Check that [0, n) reads back as version v's pattern. */
static void check_content(struct mdcache *c, uint64_t n, uint64_t v)
{
	uint8_t got[1024], want[1024];
	uint64_t ver = UINT64_MAX;

	assert_true(n <= sizeof(got));
	fill(want, v, 0, n);
	assert_int_equal(mdcache_read(c, 0, got, n, &ver), 0);
	assert_memory_equal(got, want, n);
	assert_int_equal(ver, v);
}

static void check_state(struct mdcache *c, uint64_t version, uint64_t size, uint64_t contiguous,
			uint64_t flushed)
{
	struct mdcache_state s;

	assert_int_equal(mdcache_get_state(c, &s), 0);
	assert_int_equal(s.version, version);
	assert_int_equal(s.size, size);
	assert_int_equal(s.contiguous, contiguous);
	assert_int_equal(s.flushed, flushed);
	/* The single getters agree with the snapshot. */
	assert_int_equal(mdcache_version(c), version);
	assert_int_equal(mdcache_size(c), size);
	assert_int_equal(mdcache_contiguous(c), contiguous);
	assert_int_equal(mdcache_flushed(c), flushed);
}

static unsigned int nr_waiters(struct mdcache *c)
{
	struct mdcache_state s;

	assert_int_equal(mdcache_get_state(c, &s), 0);
	return s.nr_waiters;
}

/* ---- callback recorder -------------------------------------------------- */

#define MAX_EVENTS 64

struct event {
	int id;
	enum mdcache_wait_status status;
};

static struct event events[MAX_EVENTS];
static unsigned int nr_events;

/*
 * One waiting party: its registration and what its callback should do.  Tests
 * keep parties in static storage: if an assertion fails, cmocka leaves the test
 * by longjmp and the teardown still ends the queued waiters.
 */
struct party {
	int id;
	struct mdcache_waiter w;
	struct mdcache *cache;
	void (*hook)(struct party *p); /* optional re-entrant action */
	struct party *other;
	int hook_ret;
	int hook_ret2;
};

static void record(void *arg, enum mdcache_wait_status status)
{
	struct party *p = arg;

	assert_true(nr_events < MAX_EVENTS);
	events[nr_events].id = p->id;
	events[nr_events].status = status;
	nr_events++;
	if (p->hook)
		p->hook(p);
}

static void party_init(struct party *p, int id, struct mdcache *c)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->cache = c;
}

static int party_wait(struct party *p, uint64_t version, uint64_t target)
{
	return mdcache_wait(p->cache, &p->w, version, target, record, p);
}

static void expect_events(const struct event *want, unsigned int n)
{
	assert_int_equal(nr_events, n);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(events[i].id, want[i].id);
		assert_int_equal(events[i].status, want[i].status);
	}
}

/* ---- fixture -------------------------------------------------------------- */

static int setup(void **state)
{
	struct mdcache *c = NULL;

	nr_events = 0;
	memset(events, 0, sizeof(events));
	if (mdcache_create(&c))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	mdcache_destroy(*state);
	return 0;
}

/* ---- content ------------------------------------------------------------ */

/* A new cache is empty, version 0, without stream, and reports data pending. */
static void test_create_empty(void **state)
{
	struct mdcache *c = *state;
	struct mdcache_state s;

	check_state(c, 0, 0, 0, 0);
	assert_int_equal(mdcache_get_state(c, &s), 0);
	assert_false(s.stream_open);
	assert_int_equal(s.nr_waiters, 0);
	assert_true(mdcache_data_pending(c));
	expect_assert_failure(mdcache_create(NULL));
	expect_assert_failure(mdcache_get_state(NULL, &s));
	expect_assert_failure(mdcache_get_state(c, NULL));
	assert_int_equal(mdcache_version(NULL), 0);
	assert_int_equal(mdcache_size(NULL), 0);
	assert_int_equal(mdcache_contiguous(NULL), 0);
	assert_int_equal(mdcache_flushed(NULL), 0);
	assert_false(mdcache_data_pending(NULL));
	mdcache_destroy(NULL);
}

/* In-order fragments append; the content reads back; growth past the first allocation. */
static void test_in_order_append(void **state)
{
	struct mdcache *c = *state;

	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	check_state(c, 0, 100, 100, 0);
	put_ok(c, 100, 1000, 0, MDCACHE_APPENDED);
	put_ok(c, 1100, 1000, 0, MDCACHE_APPENDED);
	put_ok(c, 2100, 1000, 0, MDCACHE_APPENDED);
	put_ok(c, 3100, 1000, 0, MDCACHE_APPENDED);
	put_ok(c, 4100, 1000, 0, MDCACHE_APPENDED); /* past 4096: the buffer grew */
	check_state(c, 0, 5100, 5100, 0);
	check_content(c, 1024, 0);

	uint8_t got[1000], want[1000];

	fill(want, 0, 4100, 1000);
	assert_int_equal(mdcache_read(c, 4100, got, 1000, NULL), 0);
	assert_memory_equal(got, want, 1000);
}

/* A fragment past a hole is stored but not readable; filling the hole makes the length jump. */
static void test_out_of_order_hole_then_fill(void **state)
{
	struct mdcache *c = *state;
	uint8_t buf[100];

	put_ok(c, 100, 100, 0, MDCACHE_NO_CHANGE);
	check_state(c, 0, 200, 0, 0);
	assert_int_equal(mdcache_read(c, 100, buf, 1, NULL), -ERANGE);
	assert_int_equal(mdcache_read_unflushed(c, buf, sizeof(buf), NULL, NULL), 0);
	assert_true(mdcache_data_pending(c));

	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	check_state(c, 0, 200, 200, 0);
	check_content(c, 200, 0);
}

/* Several islands merge with each other (overlapping and touching) and then with the prefix. */
static void test_islands_merge(void **state)
{
	struct mdcache *c = *state;
	uint8_t buf[8];

	put_ok(c, 30, 10, 0, MDCACHE_NO_CHANGE);  /* islands: [30,40) */
	put_ok(c, 10, 10, 0, MDCACHE_NO_CHANGE);  /* [10,20) [30,40) */
	put_ok(c, 60, 10, 0, MDCACHE_NO_CHANGE);  /* [10,20) [30,40) [60,70) */
	put_ok(c, 15, 20, 0, MDCACHE_NO_CHANGE);  /* [10,40) [60,70) */
	put_ok(c, 5, 5, 0, MDCACHE_NO_CHANGE);    /* touching on the left: [5,40) [60,70) */
	put_ok(c, 40, 5, 0, MDCACHE_NO_CHANGE);   /* touching on the right: [5,45) [60,70) */
	put_ok(c, 50, 2, 0, MDCACHE_NO_CHANGE);   /* between two islands: [5,45) [50,52) [60,70) */
	check_state(c, 0, 70, 0, 0);
	/* The prefix reaches [5,45) only: the hole at 45 stops it. */
	put_ok(c, 0, 5, 0, MDCACHE_APPENDED);
	check_state(c, 0, 70, 45, 0);
	assert_int_equal(mdcache_read(c, 44, buf, 2, NULL), -ERANGE);
	/* Filling [45,60) absorbs [50,52) and [60,70). */
	put_ok(c, 45, 15, 0, MDCACHE_APPENDED);
	check_state(c, 0, 70, 70, 0);
	check_content(c, 70, 0);
}

/* Overlapping fragments: growing overlap appends, contained overlap changes nothing. */
static void test_overlap(void **state)
{
	struct mdcache *c = *state;

	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	put_ok(c, 50, 100, 0, MDCACHE_APPENDED);
	check_state(c, 0, 150, 150, 0);
	put_ok(c, 20, 30, 0, MDCACHE_NO_CHANGE);
	put_ok(c, 0, 150, 0, MDCACHE_NO_CHANGE);
	check_state(c, 0, 150, 150, 0);
	check_content(c, 150, 0);
}

/* Re-sending identical fragments is NO_CHANGE and leaves every counter alone. */
static void test_identical_resend(void **state)
{
	struct mdcache *c = *state;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 64, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_set_flushed(c, 0, 32), 0);
	put_ok(c, 0, 64, 0, MDCACHE_NO_CHANGE);
	put_ok(c, 0, 64, 0, MDCACHE_NO_CHANGE);
	check_state(c, 0, 64, 64, 32);
	check_content(c, 64, 0);
}

/* A higher version empties the cache before the copy and resets the flushed position. */
static void test_version_bump_invalidates(void **state)
{
	struct mdcache *c = *state;
	uint8_t buf[16];

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 200, 0, MDCACHE_APPENDED);
	put_ok(c, 300, 10, 0, MDCACHE_NO_CHANGE); /* an island, dropped too */
	assert_int_equal(mdcache_set_flushed(c, 0, 200), 0);
	check_state(c, 0, 310, 200, 200);

	put_ok(c, 0, 10, 1, MDCACHE_INVALIDATED);
	check_state(c, 1, 10, 10, 0);
	check_content(c, 10, 1);
	assert_int_equal(mdcache_read(c, 10, buf, 1, NULL), -ERANGE);
	/* The old island is gone: filling up to it does not reach 310. */
	put_ok(c, 10, 290, 1, MDCACHE_APPENDED);
	check_state(c, 1, 300, 300, 0);
	/* Same version again: plain append semantics. */
	put_ok(c, 300, 10, 1, MDCACHE_APPENDED);
	check_state(c, 1, 310, 310, 0);
}

/* Any version difference invalidates, a lower number too; invalidation beyond a hole. */
static void test_version_lower_invalidates(void **state)
{
	struct mdcache *c = *state;

	put_ok(c, 0, 50, 5, MDCACHE_INVALIDATED); /* 0 -> 5 on an empty cache */
	check_state(c, 5, 50, 50, 0);
	put_ok(c, 0, 50, 5, MDCACHE_NO_CHANGE);
	put_ok(c, 20, 10, 3, MDCACHE_INVALIDATED); /* lower, and lands past a hole */
	check_state(c, 3, 30, 0, 0);
	put_ok(c, 0, 20, 3, MDCACHE_APPENDED);
	check_state(c, 3, 30, 30, 0);
	check_content(c, 30, 3);
}

/* len 0: nothing stored, bytes may be NULL, but the version rule still applies. */
static void test_len_zero(void **state)
{
	struct mdcache *c = *state;
	enum mdcache_write_result res = MDCACHE_APPENDED;

	put_ok(c, 0, 40, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_write(c, 40, 0, 0, NULL, &res), 0);
	assert_int_equal(res, MDCACHE_NO_CHANGE);
	assert_int_equal(mdcache_write(c, 4000, 0, 0, NULL, NULL), 0); /* no hole created */
	check_state(c, 0, 40, 40, 0);
	assert_int_equal(mdcache_write(c, 40, 0, 7, NULL, &res), 0);
	assert_int_equal(res, MDCACHE_INVALIDATED);
	check_state(c, 7, 0, 0, 0);
}

/* NULL arguments stop at an assertion; out-of-bounds fragments leave the cache unchanged. */
static void test_write_bounds(void **state)
{
	struct mdcache *c = *state;
	uint8_t b[4] = { 1, 2, 3, 4 };
	enum mdcache_write_result res = MDCACHE_APPENDED;

	put_ok(c, 0, 4, 0, MDCACHE_APPENDED);
	expect_assert_failure(mdcache_write(NULL, 0, 4, 0, b, &res));
	expect_assert_failure(mdcache_write(c, 0, 4, 0, NULL, &res));
	assert_int_equal(mdcache_write(c, MDCACHE_MAX_SIZE, 1, 9, b, &res), -EFBIG);
	assert_int_equal(mdcache_write(c, MDCACHE_MAX_SIZE - 3, 4, 9, b, &res), -EFBIG);
	assert_int_equal(mdcache_write(c, MDCACHE_MAX_SIZE + 1, 0, 9, NULL, &res), -EFBIG);
	assert_int_equal(mdcache_write(c, 0, MDCACHE_MAX_SIZE + 1, 9, b, &res), -EFBIG);
	/* The sum would wrap around u64 to a small value. */
	assert_int_equal(mdcache_write(c, UINT64_MAX - 1, 4, 9, b, &res), -EFBIG);
	assert_int_equal(mdcache_write(c, 2, UINT64_MAX, 9, b, &res), -EFBIG);
	/* The boundary itself is allowed (len 0 allocates nothing). */
	assert_int_equal(mdcache_write(c, MDCACHE_MAX_SIZE, 0, 0, NULL, &res), 0);
	assert_int_equal(res, MDCACHE_NO_CHANGE);
	check_state(c, 0, 4, 4, 0);
	check_content(c, 4, 0);
}

/* More than MDCACHE_MAX_RANGES islands is refused; merging fragments are still accepted. */
static void test_too_many_holes(void **state)
{
	struct mdcache *c = *state;
	uint64_t i;

	for (i = 0; i < MDCACHE_MAX_RANGES; i++)
		put_ok(c, 2 + 2 * i, 1, 0, MDCACHE_NO_CHANGE);
	check_state(c, 0, 2 * MDCACHE_MAX_RANGES + 1, 0, 0);
	/* A 65th separate island: refused, nothing changed. */
	assert_int_equal(put(c, 500, 1, 0, NULL), -ENOSPC);
	check_state(c, 0, 2 * MDCACHE_MAX_RANGES + 1, 0, 0);
	/* Bridging two islands frees a slot; touching one needs none. */
	put_ok(c, 3, 1, 0, MDCACHE_NO_CHANGE);
	put_ok(c, 2 * MDCACHE_MAX_RANGES + 1, 1, 0, MDCACHE_NO_CHANGE);
	put_ok(c, 500, 1, 0, MDCACHE_NO_CHANGE);
	assert_int_equal(put(c, 600, 1, 0, NULL), -ENOSPC);
	/* At the limit, a new version is still accepted: it empties the islands. */
	put_ok(c, 600, 1, 1, MDCACHE_INVALIDATED);
	check_state(c, 1, 601, 0, 0);
	/* 64 islands again, then filling from 0 absorbs all of them at once. */
	for (i = 0; i < MDCACHE_MAX_RANGES - 1; i++)
		put_ok(c, 2 + 2 * i, 1, 1, MDCACHE_NO_CHANGE);
	put_ok(c, 0, 600, 1, MDCACHE_APPENDED);
	check_state(c, 1, 601, 601, 0);
	check_content(c, 601, 1);
}

/* Reads must stay within the contiguous length. */
static void test_read_bounds(void **state)
{
	struct mdcache *c = *state;
	uint8_t buf[64];
	uint64_t ver = 99;

	put_ok(c, 0, 32, 2, MDCACHE_INVALIDATED);
	assert_int_equal(mdcache_read(c, 0, buf, 32, &ver), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(buf[31], pat(2, 31));
	assert_int_equal(mdcache_read(c, 16, buf, 16, NULL), 0);
	assert_int_equal(buf[0], pat(2, 16));
	assert_int_equal(mdcache_read(c, 32, NULL, 0, NULL), 0); /* empty read at the end */
	assert_int_equal(mdcache_read(c, 0, buf, 33, NULL), -ERANGE);
	assert_int_equal(mdcache_read(c, 31, buf, 2, NULL), -ERANGE);
	assert_int_equal(mdcache_read(c, 33, buf, 0, NULL), -ERANGE);
	assert_int_equal(mdcache_read(c, UINT64_MAX, buf, 2, NULL), -ERANGE);
	assert_int_equal(mdcache_read(c, 1, buf, SIZE_MAX, NULL), -ERANGE);
	expect_assert_failure(mdcache_read(c, 0, NULL, 1, NULL));
	expect_assert_failure(mdcache_read(NULL, 0, buf, 1, NULL));
}

/* The stream's read starts at the flushed position and is bounded by max and contiguous. */
static void test_read_unflushed(void **state)
{
	struct mdcache *c = *state;
	uint8_t buf[64];
	uint64_t off = 99, ver = 99;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	put_ok(c, 150, 10, 0, MDCACHE_NO_CHANGE);
	assert_int_equal(mdcache_read_unflushed(c, buf, 64, &off, &ver), 64);
	assert_int_equal(off, 0);
	assert_int_equal(ver, 0);
	assert_int_equal(buf[63], pat(0, 63));
	assert_int_equal(mdcache_set_flushed(c, ver, off + 64), 0);
	assert_int_equal(mdcache_read_unflushed(c, buf, 64, &off, &ver), 36); /* stops at the hole */
	assert_int_equal(off, 64);
	assert_int_equal(buf[0], pat(0, 64));
	assert_int_equal(mdcache_set_flushed(c, ver, off + 36), 0);
	assert_int_equal(mdcache_read_unflushed(c, buf, 64, &off, NULL), 0);
	assert_int_equal(off, 100);
	assert_int_equal(mdcache_read_unflushed(c, NULL, 0, NULL, NULL), 0);
	expect_assert_failure(mdcache_read_unflushed(c, NULL, 1, NULL, NULL));
	expect_assert_failure(mdcache_read_unflushed(NULL, buf, 1, NULL, NULL));
}

/* Progress reports are checked: stale version, beyond contiguous, backwards. */
static void test_set_flushed_errors(void **state)
{
	struct mdcache *c = *state;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	put_ok(c, 200, 10, 0, MDCACHE_NO_CHANGE);
	assert_int_equal(mdcache_set_flushed(c, 0, 60), 0);
	assert_int_equal(mdcache_set_flushed(c, 1, 80), -ESTALE);
	assert_int_equal(mdcache_set_flushed(c, 0, 101), -ERANGE);
	assert_int_equal(mdcache_set_flushed(c, 0, 210), -ERANGE); /* beyond a hole */
	assert_int_equal(mdcache_set_flushed(c, 0, 59), -EINVAL);
	expect_assert_failure(mdcache_set_flushed(NULL, 0, 1));
	check_state(c, 0, 210, 100, 60);
	assert_int_equal(mdcache_set_flushed(c, 0, 60), 0); /* same position: accepted */
	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	check_state(c, 0, 210, 100, 100);
}

/* ---- waits -------------------------------------------------------------- */

/* Waits that end at once return their status and never call the callback. */
static void test_wait_immediate(void **state)
{
	struct mdcache *c = *state;
	static struct party p;

	party_init(&p, 1, c);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	/* No stream attached (snapshot mode / stream gone): do not wait. */
	assert_int_equal(party_wait(&p, 0, 100), MDCACHE_WAIT_CLOSED);
	assert_int_equal(party_wait(&p, 0, 0), MDCACHE_WAIT_FLUSHED); /* target 0 is reached */
	assert_int_equal(mdcache_stream_open(c), 0);
	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	assert_int_equal(party_wait(&p, 0, 100), MDCACHE_WAIT_FLUSHED);
	assert_int_equal(party_wait(&p, 0, 50), MDCACHE_WAIT_FLUSHED);
	assert_int_equal(party_wait(&p, 1, 50), MDCACHE_WAIT_INVALIDATED);
	assert_int_equal(party_wait(&p, 0, MDCACHE_MAX_SIZE + 1), -EFBIG);
	expect_assert_failure(mdcache_wait(c, &p.w, 0, 200, NULL, &p));
	expect_assert_failure(mdcache_wait(c, NULL, 0, 200, record, &p));
	expect_assert_failure(mdcache_wait(NULL, &p.w, 0, 200, record, &p));
	assert_int_equal(nr_events, 0);
	assert_int_equal(nr_waiters(c), 0);
	assert_int_equal(p.w.state, MDCACHE_WAITER_IDLE);
}

/* Progress wakes exactly the reached waiters, once each, in target order (FIFO on ties). */
static void test_wait_progress_order(void **state)
{
	struct mdcache *c = *state;
	static struct party p[5];

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 400, 0, MDCACHE_APPENDED);
	for (int i = 0; i < 5; i++)
		party_init(&p[i], i, c);
	assert_int_equal(party_wait(&p[0], 0, 300), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&p[1], 0, 100), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&p[2], 0, 200), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&p[3], 0, 100), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&p[4], 0, 400), MDCACHE_WAIT_QUEUED);
	assert_int_equal(nr_waiters(c), 5);
	/* A waiter cannot be registered twice. */
	assert_int_equal(party_wait(&p[1], 0, 50), -EBUSY);

	assert_int_equal(mdcache_set_flushed(c, 0, 99), 0);
	assert_int_equal(nr_events, 0);
	assert_int_equal(mdcache_set_flushed(c, 0, 150), 0);
	const struct event want1[] = { { 1, MDCACHE_WAIT_FLUSHED }, { 3, MDCACHE_WAIT_FLUSHED } };
	expect_events(want1, 2);
	assert_int_equal(mdcache_set_flushed(c, 0, 150), 0); /* no new progress, no new call */
	expect_events(want1, 2);

	assert_int_equal(mdcache_set_flushed(c, 0, 300), 0);
	const struct event want2[] = { { 1, MDCACHE_WAIT_FLUSHED },
				       { 3, MDCACHE_WAIT_FLUSHED },
				       { 2, MDCACHE_WAIT_FLUSHED },
				       { 0, MDCACHE_WAIT_FLUSHED } };
	expect_events(want2, 4);
	assert_int_equal(nr_waiters(c), 1);
	assert_int_equal(p[0].w.state, MDCACHE_WAITER_IDLE);
	assert_int_equal(p[4].w.state, MDCACHE_WAITER_QUEUED);
	/* A failed progress report wakes nobody. */
	assert_int_equal(mdcache_set_flushed(c, 1, 400), -ESTALE);
	expect_events(want2, 4);
	/* Waits for bytes not received yet are fine: they end when they are flushed. */
	party_init(&p[0], 5, c);
	assert_int_equal(party_wait(&p[0], 0, 500), MDCACHE_WAIT_QUEUED);
	put_ok(c, 400, 100, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_set_flushed(c, 0, 500), 0);
	const struct event want3[] = { { 1, MDCACHE_WAIT_FLUSHED }, { 3, MDCACHE_WAIT_FLUSHED },
				       { 2, MDCACHE_WAIT_FLUSHED }, { 0, MDCACHE_WAIT_FLUSHED },
				       { 4, MDCACHE_WAIT_FLUSHED }, { 5, MDCACHE_WAIT_FLUSHED } };
	expect_events(want3, 6);
	assert_int_equal(nr_waiters(c), 0);
}

/* A cancelled waiter is never called; cancel contracts for idle / foreign / ended waiters. */
static void test_wait_cancel(void **state)
{
	struct mdcache *c = *state;
	struct mdcache *other = NULL;
	static struct party a, b;

	assert_int_equal(mdcache_create(&other), 0);
	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	party_init(&a, 1, c);
	party_init(&b, 2, c);
	assert_int_equal(mdcache_cancel(c, &a.w), -ENOENT); /* never registered */
	assert_int_equal(party_wait(&a, 0, 50), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&b, 0, 50), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_cancel(other, &a.w), -EINVAL);
	expect_assert_failure(mdcache_cancel(NULL, &a.w));
	expect_assert_failure(mdcache_cancel(c, NULL));
	assert_int_equal(mdcache_cancel(c, &a.w), 0);
	assert_int_equal(mdcache_cancel(c, &a.w), -ENOENT);
	assert_int_equal(nr_waiters(c), 1);

	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	const struct event want[] = { { 2, MDCACHE_WAIT_FLUSHED } };
	expect_events(want, 1);
	assert_int_equal(mdcache_cancel(c, &b.w), -ENOENT); /* already ended */
	mdcache_stream_close(c);
	mdcache_destroy(other);
	expect_events(want, 1);

	/* A cancelled waiter can be reused at once. */
	assert_int_equal(mdcache_stream_open(c), 0);
	assert_int_equal(party_wait(&a, 0, 10), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_set_flushed(c, 0, 10), 0);
	const struct event want2[] = { { 2, MDCACHE_WAIT_FLUSHED }, { 1, MDCACHE_WAIT_FLUSHED } };
	expect_events(want2, 2);
}

/* Closing the stream ends every waiter with CLOSED; later waits end at once; reopen restarts. */
static void test_close_wakes_all(void **state)
{
	struct mdcache *c = *state;
	static struct party p[3];

	assert_int_equal(mdcache_stream_open(c), 0);
	assert_int_equal(mdcache_stream_open(c), -EBUSY);
	expect_assert_failure(mdcache_stream_open(NULL));
	put_ok(c, 0, 300, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_set_flushed(c, 0, 50), 0);
	for (int i = 0; i < 3; i++) {
		party_init(&p[i], i, c);
		assert_int_equal(party_wait(&p[i], 0, 300 - 100 * (uint64_t)i), MDCACHE_WAIT_QUEUED);
	}
	mdcache_stream_close(c);
	const struct event want[] = { { 2, MDCACHE_WAIT_CLOSED },
				      { 1, MDCACHE_WAIT_CLOSED },
				      { 0, MDCACHE_WAIT_CLOSED } };
	expect_events(want, 3);
	assert_int_equal(nr_waiters(c), 0);
	mdcache_stream_close(c); /* idempotent */
	mdcache_stream_close(NULL);
	expect_events(want, 3);
	assert_int_equal(party_wait(&p[0], 0, 300), MDCACHE_WAIT_CLOSED);
	/* The content survives; a new stream starts from offset 0. */
	check_state(c, 0, 300, 300, 50);
	assert_int_equal(mdcache_stream_open(c), 0);
	check_state(c, 0, 300, 300, 0);
	assert_int_equal(party_wait(&p[0], 0, 300), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_set_flushed(c, 0, 300), 0);
	assert_int_equal(nr_events, 4);
	assert_int_equal(events[3].status, MDCACHE_WAIT_FLUSHED);
}

/* A version change ends pending waiters with INVALIDATED; waits on the old version end at once. */
static void test_invalidation_ends_waiters(void **state)
{
	struct mdcache *c = *state;
	static struct party a, b;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 200, 0, MDCACHE_APPENDED);
	party_init(&a, 1, c);
	party_init(&b, 2, c);
	assert_int_equal(party_wait(&a, 0, 100), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&b, 0, 200), MDCACHE_WAIT_QUEUED);
	/* A write that fails does not invalidate anything. */
	assert_int_equal(mdcache_write(c, MDCACHE_MAX_SIZE, 1, 1, "x", NULL), -EFBIG);
	assert_int_equal(nr_events, 0);

	put_ok(c, 0, 50, 1, MDCACHE_INVALIDATED);
	const struct event want[] = { { 1, MDCACHE_WAIT_INVALIDATED },
				      { 2, MDCACHE_WAIT_INVALIDATED } };
	expect_events(want, 2);
	assert_int_equal(nr_waiters(c), 0);
	/* A late wait on version 0 content: nothing to wait for. */
	assert_int_equal(party_wait(&a, 0, 200), MDCACHE_WAIT_INVALIDATED);
	/* A progress report read before the change is stale and ignored. */
	assert_int_equal(mdcache_set_flushed(c, 0, 150), -ESTALE);
	assert_int_equal(party_wait(&a, 1, 50), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_set_flushed(c, 1, 50), 0);
	assert_int_equal(nr_events, 3);
	assert_int_equal(events[2].status, MDCACHE_WAIT_FLUSHED);
}

/* Destroy ends pending waiters with CLOSED; their callbacks may still use the cache. */
static void hook_during_destroy(struct party *p)
{
	uint8_t b[4];

	p->hook_ret = party_wait(p->other, 0, 1000);
	p->hook_ret2 = mdcache_stream_open(p->cache);
	assert_int_equal(mdcache_read(p->cache, 0, b, 4, NULL), 0);
}

static void test_destroy_wakes_waiters(void **state)
{
	struct mdcache *c = NULL;
	static struct party a, b;

	(void)state; /* uses a cache of its own, destroyed by the test itself */
	assert_int_equal(mdcache_create(&c), 0);
	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	party_init(&a, 1, c);
	party_init(&b, 2, c);
	a.hook = hook_during_destroy;
	a.other = &b;
	assert_int_equal(party_wait(&a, 0, 100), MDCACHE_WAIT_QUEUED);
	mdcache_destroy(c);
	const struct event want[] = { { 1, MDCACHE_WAIT_CLOSED } };
	expect_events(want, 1);
	assert_int_equal(a.hook_ret, MDCACHE_WAIT_CLOSED); /* nothing may queue any more */
	assert_int_equal(a.hook_ret2, -EBADF);
	assert_int_equal(a.w.state, MDCACHE_WAITER_IDLE);
}

/*
 * A callback re-enters the cache: reads, registers a waiter that is already
 * satisfied and one that is not, and re-registers its own waiter.  Nothing
 * deadlocks (callbacks run without the lock) and the new waiters end normally.
 */
static void hook_reenter(struct party *p)
{
	uint8_t b[16];

	assert_int_equal(mdcache_read(p->cache, 0, b, sizeof(b), NULL), 0);
	assert_int_equal(b[15], pat(0, 15));
	assert_int_equal(mdcache_contiguous(p->cache), 300);
	if (p->hook_ret2++ > 0)
		return; /* only on the first call */
	assert_int_equal(party_wait(p->other, 0, 50), MDCACHE_WAIT_FLUSHED);
	p->hook_ret = party_wait(p->other, 0, 250);
	/* Its own waiter is idle again while its callback runs: reuse it. */
	assert_int_equal(party_wait(p, 0, 300), MDCACHE_WAIT_QUEUED);
}

static void test_callback_reenters(void **state)
{
	struct mdcache *c = *state;
	static struct party a, b;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 300, 0, MDCACHE_APPENDED);
	party_init(&a, 1, c);
	party_init(&b, 2, c);
	a.hook = hook_reenter;
	a.other = &b;
	assert_int_equal(party_wait(&a, 0, 100), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_set_flushed(c, 0, 200), 0);
	assert_int_equal(a.hook_ret, MDCACHE_WAIT_QUEUED);
	assert_int_equal(nr_waiters(c), 2);
	assert_int_equal(mdcache_set_flushed(c, 0, 300), 0);
	const struct event want[] = { { 1, MDCACHE_WAIT_FLUSHED },
				      { 2, MDCACHE_WAIT_FLUSHED },
				      { 1, MDCACHE_WAIT_FLUSHED } };
	expect_events(want, 3);
	assert_int_equal(nr_waiters(c), 0);
}

/*
 * Waiters of one wake-up batch are taken off the list before any callback
 * runs: from the first callback, the second waiter can no longer be cancelled
 * or re-registered, and its callback still runs exactly once.
 */
static void hook_cancel_other(struct party *p)
{
	p->hook_ret = mdcache_cancel(p->cache, &p->other->w);
	p->hook_ret2 = party_wait(p->other, 0, 10);
}

static void test_cancel_while_firing(void **state)
{
	struct mdcache *c = *state;
	static struct party a, b;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	party_init(&a, 1, c);
	party_init(&b, 2, c);
	a.hook = hook_cancel_other;
	a.other = &b;
	assert_int_equal(party_wait(&a, 0, 50), MDCACHE_WAIT_QUEUED);
	assert_int_equal(party_wait(&b, 0, 60), MDCACHE_WAIT_QUEUED);
	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	assert_int_equal(a.hook_ret, -ENOENT);
	assert_int_equal(a.hook_ret2, -EBUSY);
	const struct event want[] = { { 1, MDCACHE_WAIT_FLUSHED }, { 2, MDCACHE_WAIT_FLUSHED } };
	expect_events(want, 2);
	assert_int_equal(b.w.state, MDCACHE_WAITER_IDLE);
}

/* DATA_PENDING: empty, unflushed, hole, fully flushed, after a reset. */
static void test_data_pending(void **state)
{
	struct mdcache *c = *state;

	assert_int_equal(mdcache_stream_open(c), 0);
	assert_true(mdcache_data_pending(c)); /* size 0 counts as pending (§3.10) */
	put_ok(c, 0, 100, 0, MDCACHE_APPENDED);
	assert_true(mdcache_data_pending(c));
	assert_int_equal(mdcache_set_flushed(c, 0, 99), 0);
	assert_true(mdcache_data_pending(c));
	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	assert_false(mdcache_data_pending(c));
	put_ok(c, 150, 10, 0, MDCACHE_NO_CHANGE); /* everything contiguous is flushed, but a hole */
	assert_true(mdcache_data_pending(c));
	put_ok(c, 100, 50, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_set_flushed(c, 0, 160), 0);
	assert_false(mdcache_data_pending(c));
	mdcache_reset_flushed(c);
	assert_true(mdcache_data_pending(c));
}

/* Rotation resets the flushed position to 0; queued waiters stay and need the new progress. */
static void test_reset_flushed(void **state)
{
	struct mdcache *c = *state;
	static struct party p;

	assert_int_equal(mdcache_stream_open(c), 0);
	put_ok(c, 0, 300, 0, MDCACHE_APPENDED);
	assert_int_equal(mdcache_set_flushed(c, 0, 100), 0);
	party_init(&p, 1, c);
	assert_int_equal(party_wait(&p, 0, 200), MDCACHE_WAIT_QUEUED);
	mdcache_reset_flushed(c);
	mdcache_reset_flushed(NULL);
	check_state(c, 0, 300, 300, 0);
	/* The whole cache is readable again from offset 0. */
	uint8_t b[8];
	uint64_t off = 1;
	assert_int_equal(mdcache_read_unflushed(c, b, sizeof(b), &off, NULL), 8);
	assert_int_equal(off, 0);
	assert_int_equal(mdcache_set_flushed(c, 0, 150), 0);
	assert_int_equal(nr_events, 0);
	assert_int_equal(mdcache_set_flushed(c, 0, 200), 0);
	const struct event want[] = { { 1, MDCACHE_WAIT_FLUSHED } };
	expect_events(want, 1);
}

/* ---- two threads ------------------------------------------------------------ */

/*
 * The command side writes fragments and waits for each to be flushed; a
 * stream thread copies the cache out in 7-byte steps whenever it is signalled.
 * The command side blocks on a semaphore posted by the waiter callback (which
 * runs on the stream thread), so each wait ends by progress alone.
 */
#define TT_FRAGMENTS 40
#define TT_FRAG_LEN 50

struct tt {
	struct mdcache *c;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned int work; /* fragments announced to the stream thread */
	bool quit;
	sem_t done;
	unsigned int callbacks; /* FLUSHED callbacks; read after the join */
	unsigned int errors;    /* stream-thread failures (cmocka asserts only on main) */
	uint8_t out[TT_FRAGMENTS * TT_FRAG_LEN];
	uint64_t out_len;
};

static void tt_flushed(void *arg, enum mdcache_wait_status status)
{
	struct tt *t = arg;

	/* Runs on the stream thread; main reads the counters after the join. */
	if (status == MDCACHE_WAIT_FLUSHED)
		t->callbacks++;
	else
		t->errors++;
	sem_post(&t->done);
}

static void *tt_stream(void *arg)
{
	struct tt *t = arg;
	unsigned int seen = 0;

	for (;;) {
		uint8_t buf[7];
		uint64_t off, ver;
		ssize_t n;

		pthread_mutex_lock(&t->mu);
		while (t->work == seen && !t->quit)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->work == seen && t->quit) {
			pthread_mutex_unlock(&t->mu);
			break;
		}
		seen = t->work;
		pthread_mutex_unlock(&t->mu);

		while ((n = mdcache_read_unflushed(t->c, buf, sizeof(buf), &off, &ver)) > 0) {
			if (off != t->out_len || ver != 0)
				t->errors++;
			memcpy(t->out + t->out_len, buf, (size_t)n);
			t->out_len += (uint64_t)n;
			if (mdcache_set_flushed(t->c, ver, t->out_len))
				t->errors++;
		}
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct mdcache *c = *state;
	static struct mdcache_waiter w;
	static struct tt t;
	pthread_t th;
	uint8_t want[TT_FRAGMENTS * TT_FRAG_LEN];
	unsigned int queued = 0;

	/* Static: a failed assertion must not leave the cache pointing into a dead frame. */
	w = (struct mdcache_waiter)MDCACHE_WAITER_INIT;
	memset(&t, 0, sizeof(t));
	t.c = c;
	assert_int_equal(pthread_mutex_init(&t.mu, NULL), 0);
	assert_int_equal(pthread_cond_init(&t.cv, NULL), 0);
	assert_int_equal(sem_init(&t.done, 0, 0), 0);
	assert_int_equal(mdcache_stream_open(c), 0);
	assert_int_equal(pthread_create(&th, NULL, tt_stream, &t), 0);

	for (uint64_t i = 0; i < TT_FRAGMENTS; i++) {
		uint64_t off = i * TT_FRAG_LEN;
		int ret;

		put_ok(c, off, TT_FRAG_LEN, 0, MDCACHE_APPENDED);
		/* Wake the stream (the poll-pipe byte in the daemon). */
		pthread_mutex_lock(&t.mu);
		t.work++;
		pthread_cond_signal(&t.cv);
		pthread_mutex_unlock(&t.mu);
		/* Then wait for the flush; it may already be done. */
		ret = mdcache_wait(c, &w, 0, off + TT_FRAG_LEN, tt_flushed, &t);
		assert_true(ret == MDCACHE_WAIT_QUEUED || ret == MDCACHE_WAIT_FLUSHED);
		if (ret == MDCACHE_WAIT_QUEUED) {
			queued++;
			while (sem_wait(&t.done) != 0)
				assert_int_equal(errno, EINTR);
		}
		assert_true(mdcache_flushed(c) >= off + TT_FRAG_LEN);
	}

	pthread_mutex_lock(&t.mu);
	t.quit = true;
	pthread_cond_signal(&t.cv);
	pthread_mutex_unlock(&t.mu);
	assert_int_equal(pthread_join(th, NULL), 0);

	fill(want, 0, 0, sizeof(want));
	assert_int_equal(t.out_len, sizeof(want));
	assert_memory_equal(t.out, want, sizeof(want));
	assert_int_equal(t.errors, 0);
	assert_int_equal(t.callbacks, queued);
	assert_false(mdcache_data_pending(c));
	assert_int_equal(nr_waiters(c), 0);
	sem_destroy(&t.done);
	pthread_cond_destroy(&t.cv);
	pthread_mutex_destroy(&t.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_order_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_hole_then_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_islands_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_resend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_bump_invalidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_lower_invalidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_len_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_unflushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_flushed_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_immediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_progress_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_wakes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidation_ends_waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_wakes_waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_reenters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_while_firing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_flushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads, setup, teardown),
	};

	/* The error paths are exercised on purpose; keep the output to cmocka's. */
	log_level = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
