/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of core/rb.c: the checks of what an app can make nonsense by
 * writing its ring buffer (issue 11), over a scripted adapter whose answers
 * each test sets.  Each failed check answers RB_CORRUPT, marks the stream
 * with its reason, and the stream's adapter is never called again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "rb.h"

/* The scripted adapter: one channel, one stream, answers set by the test. */
static struct script {
	uint64_t max_sb, produced, consumed;
	unsigned int calls;              /* adapter ops called */
} sc;

static enum rb_status op_max(struct rb_stream *s, uint64_t *o)
{
	(void)s;
	sc.calls++;
	if (!o)
		return RB_ERROR;
	*o = sc.max_sb;
	return RB_OK;
}

static enum rb_status op_sample(struct rb_stream *s)
{
	(void)s;
	sc.calls++;
	return RB_OK;
}

static enum rb_status op_produced(struct rb_stream *s, uint64_t *o)
{
	(void)s;
	sc.calls++;
	if (!o)
		return RB_ERROR;
	*o = sc.produced;
	return RB_OK;
}

static enum rb_status op_consumed(struct rb_stream *s, uint64_t *o)
{
	(void)s;
	sc.calls++;
	if (!o)
		return RB_ERROR;
	*o = sc.consumed;
	return RB_OK;
}

static struct rb_channel chan;

static enum rb_status op_create(struct rb *rb, const struct rb_channel_attr *a,
				struct rb_channel **out)
{
	(void)rb;
	(void)a;
	sc.calls++;
	chan.buf_size = 0;
	*out = &chan;
	return RB_OK;
}

static const struct rb_ops ops = {
	.name = "script",
	.channel_create = op_create,
	.max_subbuf_size = op_max,
	.snapshot = op_sample,
	.snapshot_sample_positions = op_sample,
	.snapshot_produced = op_produced,
	.snapshot_consumed = op_consumed,
};

static struct rb rb = { .ops = &ops };
static struct rb_stream stream;

/* A fresh stream of a channel of 4 sub-buffers of 4096 bytes (16384 per stream). */
static int setup(void **state)
{
	struct rb_channel_attr a = { .subbuf_size = 4096, .num_subbuf = 4 };
	struct rb_channel *c = NULL;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	sc.max_sb = 4096;
	if (rb_channel_create(&rb, &a, &c) != RB_OK || c != &chan)
		return -1;
	chan.ops = &ops;
	stream = (struct rb_stream){ .ops = &ops, .chan = &chan };
	return 0;
}

/* Sample, then read produced and consumed; returns the first non-OK status. */
static enum rb_status sample(uint64_t consumed, uint64_t produced)
{
	uint64_t p = 0, c = 0;
	enum rb_status rs;

	sc.consumed = consumed;
	sc.produced = produced;
	rs = rb_snapshot_sample_positions(&stream);
	if (rs == RB_OK)
		rs = rb_snapshot_produced(&stream, &p);
	if (rs == RB_OK)
		rs = rb_snapshot_consumed(&stream, &c);
	return rs;
}

/* The stream is corrupt for `why` and the adapter is not called again. */
static void assert_dropped(const char *why)
{
	unsigned int calls = sc.calls;
	uint64_t v;

	assert_true(stream.corrupt);
	assert_string_equal(stream.corrupt_why, why);
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_CORRUPT);
	assert_int_equal(sample(0, 0), RB_CORRUPT);
	assert_int_equal(sc.calls, calls);
}

/* rb_channel_create records the stream buffer size; an overflowing geometry stays unknown. */
static void test_create_records_buf_size(void **state)
{
	struct rb_channel_attr a = { .subbuf_size = UINT64_C(1) << 40, .num_subbuf = 1u << 30 };
	struct rb_channel *c = NULL;

	(void)state;
	assert_int_equal(chan.buf_size, 16384);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	assert_int_equal(chan.buf_size, 0);
}

/* Sane positions pass, forward moves pass, the sub-buffer size is kept. */
static void test_sane_positions(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	assert_int_equal(v, 4096);
	assert_int_equal(sample(0, 0), RB_OK);
	assert_int_equal(sample(0, 1000), RB_OK);
	/* rb_snapshot floors produced: 1000 then 0 is the same sub-buffer, not a step back. */
	assert_int_equal(sample(0, 0), RB_OK);
	assert_int_equal(sample(8192, 8192 + 300), RB_OK);
	/* The most a writer can be ahead: the buffer plus the sub-buffer it is opening. */
	assert_int_equal(sample(8192, 8192 + 16384 + 4096), RB_OK);
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	assert_false(stream.corrupt);
	/* NULL out pointers reach the adapter, which refuses them; no check trips. */
	assert_int_equal(rb_snapshot_produced(&stream, NULL), RB_ERROR);
	assert_false(stream.corrupt);
}

static void test_max_subbuf_not_pow2(void **state)
{
	uint64_t v;

	(void)state;
	sc.max_sb = 3000;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_CORRUPT);
	assert_dropped("sub-buffer size not a power of two");
}

static void test_max_subbuf_zero(void **state)
{
	uint64_t v;

	(void)state;
	sc.max_sb = 0;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_CORRUPT);
	assert_dropped("sub-buffer size not a power of two");
}

static void test_max_subbuf_changes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	sc.max_sb = 8192;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_CORRUPT);
	assert_dropped("sub-buffer size changed");
}

static void test_consumed_backwards(void **state)
{
	(void)state;
	assert_int_equal(sample(8192, 12288), RB_OK);
	assert_int_equal(sample(4096, 12288), RB_CORRUPT);
	assert_dropped("consumed position went backwards");
}

/* Produced is compared by sub-buffer once the sub-buffer size is known. */
static void test_produced_backwards(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	assert_int_equal(sample(0, 8192 + 10), RB_OK);
	assert_int_equal(sample(0, 4096 + 10), RB_CORRUPT);
	assert_dropped("produced position went backwards");
}

/* Counters that wrapped are still "forward": signed distances. */
static void test_positions_wrap(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	assert_int_equal(sample(UINT64_MAX - 8191, UINT64_MAX - 4095), RB_OK);
	assert_int_equal(sample(UINT64_MAX - 4095, 4096), RB_OK);
	assert_false(stream.corrupt);
}

static void test_consumed_past_produced(void **state)
{
	(void)state;
	assert_int_equal(sample(8192, 4096), RB_CORRUPT);
	assert_dropped("consumed position past the produced one");
}

static void test_positions_too_far_apart(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(rb_max_subbuf_size(&stream, &v), RB_OK);
	assert_int_equal(sample(0, 16384 + 4096 + 1), RB_CORRUPT);
	assert_dropped("positions further apart than the buffer size");
}

/* Without the sizes (unknown geometry or sub-buffer size) the distance is not bounded. */
static void test_bound_unknown(void **state)
{
	(void)state;
	/* max_subbuf_size never asked: no bound, produced not compared. */
	assert_int_equal(sample(0, UINT64_C(1) << 50), RB_OK);
	assert_int_equal(sample(0, 4096), RB_OK);
	assert_false(stream.corrupt);
}

/* A corruption the core found (rb_mark_corrupt) keeps its first reason. */
static void test_mark_keeps_first_reason(void **state)
{
	(void)state;
	rb_mark_corrupt(&stream, "first");
	rb_mark_corrupt(&stream, "second");
	assert_dropped("first");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create_records_buf_size, setup),
		cmocka_unit_test_setup(test_sane_positions, setup),
		cmocka_unit_test_setup(test_max_subbuf_not_pow2, setup),
		cmocka_unit_test_setup(test_max_subbuf_zero, setup),
		cmocka_unit_test_setup(test_max_subbuf_changes, setup),
		cmocka_unit_test_setup(test_consumed_backwards, setup),
		cmocka_unit_test_setup(test_produced_backwards, setup),
		cmocka_unit_test_setup(test_positions_wrap, setup),
		cmocka_unit_test_setup(test_consumed_past_produced, setup),
		cmocka_unit_test_setup(test_positions_too_far_apart, setup),
		cmocka_unit_test_setup(test_bound_unknown, setup),
		cmocka_unit_test_setup(test_mark_keeps_first_reason, setup),
	};

	log_level = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
