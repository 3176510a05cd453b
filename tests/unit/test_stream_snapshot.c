/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of core/stream_snapshot.c (§3.14) on the simulated tracer,
 * writing through the real file sink into the in-memory file system.  In
 * the sim every packet fills one sub-buffer from position 0, so the packet
 * at position p has sequence number p / SUBBUF: the expected output of a
 * snapshot is the ring's packets of a known sequence range, byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "test_fds.h"

#include "log.h"
#include "rb.h"
#include "sim_app.h"
#include "sim_ctf.h"
#include "sim_rb.h"
#include "sim_world.h"
#include "sink.h"
#include "sink_mem.h"
#include "stream_snapshot.h"

#define SUBBUF 8192u
#define NUM_SUBBUF 4u
#define DIR_PATH "s/ust/uid/1000/64-bit"

struct fx {
	struct sim_world w;
	struct rb rb;
	struct rb_channel *chan;
	struct rb_stream *s;
	struct sim_app *app;
	struct sink_mem_fs *fs;
	struct sink_chunk *chunk;
	struct sink_stream *out;
	int fds_before;
};

/* Open (or reopen, truncating) the snapshot output `name`. */
static void open_out(struct fx *f, const char *name)
{
	struct sink_stream_params p = { .pathname = "uid/1000/64-bit", .name = name };

	if (f->out)
		assert_int_equal(sink_stream_close(f->out), 0);
	f->out = NULL;
	assert_int_equal(sink_stream_open(f->chunk, &p, &f->out), 0);
}

static struct fx *fx_new(bool overwrite)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rb_channel_attr a = {
		.type = RB_CHAN_PER_CPU,
		.subbuf_size = SUBBUF,
		.num_subbuf = NUM_SUBBUF,
		.overwrite = overwrite,
		.chan_id = 1,
	};

	assert_non_null(f);
	f->fds_before = test_open_fd_count();
	assert_int_equal(sim_world_init(&f->w, 99, 1, 1, 5000ull), 0);
	assert_int_equal(sim_rb_init(&f->rb, &f->w), 0);
	assert_int_equal(rb_channel_create(&f->rb, &a, &f->chan), RB_OK);
	assert_int_equal(rb_stream_create(f->chan, 0, &f->s), RB_OK);
	f->app = sim_app_create(&f->w, "snapper");
	assert_non_null(f->app);
	assert_int_equal(sim_app_attach(f->app, f->chan), 0);
	assert_int_equal(sink_mem_fs_create(&f->fs), 0);
	assert_int_equal(sink_mem_fs_mkdir(f->fs, DIR_PATH "/index"), 0);
	assert_int_equal(sink_mem_chunk_create(f->fs, "s/ust", 1000, 1000, &f->chunk), 0);
	open_out(f, "chan_0");
	return f;
}

static void fx_free(struct fx *f)
{
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);
	assert_int_equal(sink_stream_close(f->out), 0);
	assert_int_equal(sink_chunk_destroy(f->chunk), 0);
	assert_int_equal(sink_mem_fs_open_fds(f->fs), 0);
	sink_mem_fs_destroy(f->fs);
	sim_app_destroy(f->app);
	rb_stream_destroy(f->s);
	rb_channel_destroy(f->chan);
	assert_int_equal(sim_rb_fini(&f->rb), 0);
	assert_int_equal(test_open_fd_count(), f->fds_before);
	free(f);
}

static struct sim_rb_stats stats(struct fx *f)
{
	struct sim_rb_stats s;

	assert_int_equal(sim_rb_stats(f->chan, 0, &s), 0);
	return s;
}

/* Write events until `n` more packets were delivered. */
static void produce_packets(struct fx *f, uint64_t n)
{
	uint64_t target = stats(f).packets_delivered + n;

	while (stats(f).packets_delivered < target)
		assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_QUAD, 1, 50), 1);
}

/*
 * Output file `name` is exactly the ring's packets of sequence numbers
 * first .. first + n - 1 (skipping `skip`, UINT64_MAX for none), in order.
 */
static void check_out(struct fx *f, const char *name, uint64_t first, uint64_t n, uint64_t skip)
{
	const uint8_t *ring = NULL, *data = NULL;
	size_t ring_len = 0, len = 0, off = 0;
	char path[128];

	snprintf(path, sizeof(path), DIR_PATH "/%s", name);
	assert_int_equal(sim_rb_buffer(f->chan, 0, (const void **)&ring, &ring_len), 0);
	assert_int_equal(sink_mem_fs_read(f->fs, path, &data, &len), 0);
	for (uint64_t seq = first; seq < first + n; seq++) {
		const uint8_t *pkt = ring + (seq % NUM_SUBBUF) * SUBBUF;
		struct sim_ctf_stream_info info;
		struct sim_ctf_packet_ctx ctx;

		if (seq == skip)
			continue;
		assert_int_equal(sim_ctf_read_packet_header(pkt, SUBBUF, &info, &ctx), 0);
		assert_int_equal(ctx.seq_num, seq);
		assert_true(off + ctx.packet_size / 8 <= len);
		assert_memory_equal(data + off, pkt, ctx.packet_size / 8);
		off += ctx.packet_size / 8;
	}
	assert_int_equal(off, len);
}

/* A lapped overwrite ring with an open packet: 4 complete packets after the flush. */
static void run_overwrite(struct fx *f)
{
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 4000, 10), 4000);
	assert_true(stats(f).packets_overwritten > 0);
	assert_true(stats(f).packet_open);
}

/* nb_packets 0: every packet between consumed and produced; consumed does not move. */
static void test_snapshot_all(void **state)
{
	struct fx *f = fx_new(true);
	struct sim_rb_stats before, after;
	uint64_t w = 99, l = 99;

	(void)state;
	run_overwrite(f);
	before = stats(f);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, false, &w, &l), 0);
	after = stats(f);
	assert_int_equal(w, NUM_SUBBUF);
	assert_int_equal(l, 0);
	assert_int_equal(after.consumed, before.consumed);
	assert_int_equal(after.packets_consumed, 0);
	assert_int_equal(after.snap_consumed, before.consumed);
	assert_int_equal(after.snap_produced - after.snap_consumed, NUM_SUBBUF * SUBBUF);
	assert_false(after.packet_open);           /* the final flush closed it */
	assert_false(after.held);
	check_out(f, "chan_0", after.snap_consumed / SUBBUF, NUM_SUBBUF, UINT64_MAX);
	/* The ring is still readable from the same place by the data path. */
	assert_int_equal(rb_get_next_subbuf(f->s), RB_OK);
	assert_int_equal(rb_put_subbuf(f->s), RB_OK);
	assert_int_equal(stats(f).consumed, before.consumed);
	fx_free(f);
}

/* nb_packets 2: only the last two packets before produced. */
static void test_snapshot_last_two(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t w = 0, l = 0;

	(void)state;
	run_overwrite(f);
	assert_int_equal(stream_snapshot(f->s, f->out, 2, false, &w, &l), 0);
	assert_int_equal(w, 2);
	assert_int_equal(l, 0);
	check_out(f, "chan_0", stats(f).snap_produced / SUBBUF - 2, 2, UINT64_MAX);
	fx_free(f);
}

/* More packets asked than the ring holds (even absurdly many): start at consumed. */
static void test_snapshot_more_than_ring(void **state)
{
	static const uint64_t nbs[] = { NUM_SUBBUF, 1000, UINT64_MAX / 2, UINT64_MAX };
	struct fx *f = fx_new(true);

	(void)state;
	run_overwrite(f);
	for (size_t i = 0; i < sizeof(nbs) / sizeof(nbs[0]); i++) {
		uint64_t w = 0, l = 0;
		char name[16];

		snprintf(name, sizeof(name), "n%zu", i);
		open_out(f, name);
		assert_int_equal(stream_snapshot(f->s, f->out, nbs[i], true, &w, &l), 0);
		assert_int_equal(w, NUM_SUBBUF - 1);    /* quiescent: the open packet stays open */
		assert_int_equal(l, 0);
		check_out(f, name, stats(f).snap_consumed / SUBBUF, NUM_SUBBUF - 1, UINT64_MAX);
	}
	assert_true(stats(f).packet_open);
	fx_free(f);
}

/* A partly consumed discard ring: the snapshot starts at consumed, or later with nb. */
static void test_snapshot_after_consume(void **state)
{
	struct fx *f = fx_new(false);
	uint64_t w = 0, l = 0;

	(void)state;
	produce_packets(f, 3);
	assert_int_equal(rb_get_next_subbuf(f->s), RB_OK);
	assert_int_equal(rb_put_next_subbuf(f->s), RB_OK);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), 0);
	assert_int_equal(w, 2);
	check_out(f, "chan_0", 1, 2, UINT64_MAX);
	open_out(f, "one");
	assert_int_equal(stream_snapshot(f->s, f->out, 1, true, &w, &l), 0);
	assert_int_equal(w, 1);
	check_out(f, "one", 2, 1, UINT64_MAX);
	assert_int_equal(stats(f).consumed, SUBBUF);
	fx_free(f);
}

/* Positions that cannot be read (overwritten / incomplete) are skipped and counted lost. */
static void test_snapshot_overwritten_lost(void **state)
{
	struct fx *f = fx_new(true);
	struct sim_app_slot slot;
	uint64_t w = 0, l = 0, base;

	(void)state;
	/* A slot held open in packet 0: that packet never becomes readable. */
	assert_int_equal(sim_app_reserve(f->app, 0, SIM_APP_CLASS_TICK, &slot), 0);
	while (stats(f).produced < 2 * SUBBUF + 100)
		assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 1, 10), 1);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, false, &w, &l), 0);
	assert_int_equal(w, 2);
	assert_int_equal(l, 1);
	check_out(f, "chan_0", 0, 3, 0);
	assert_int_equal(sim_app_commit(f->app, &slot), 0);
	/* The writer lapping between the sampling and a read: injected at the 2nd get. */
	open_out(f, "lap");
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_SUBBUF, .nth = 2, .err = RB_OVERWRITTEN });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), 0);
	assert_int_equal(w, 2);
	assert_int_equal(l, 1);
	base = stats(f).snap_consumed / SUBBUF;
	check_out(f, "lap", base, 3, base + 1);
	fx_free(f);
}

/* Empty ring: a final flush makes one empty packet; a quiescent one gives nothing. */
static void test_snapshot_empty(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t w = 9, l = 9;

	(void)state;
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), 0);
	assert_int_equal(w, 0);
	assert_int_equal(l, 0);
	check_out(f, "chan_0", 0, 0, UINT64_MAX);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, false, &w, &l), 0);
	assert_int_equal(w, 1);
	check_out(f, "chan_0", 0, 1, UINT64_MAX);
	fx_free(f);
}

/* Every seam failure is a clean error with nothing left held and nothing consumed. */
static void test_snapshot_seam_faults(void **state)
{
	static const enum sim_op ops[] = {
		SIM_OP_FLUSH, SIM_OP_MAX_SUBBUF_SIZE, SIM_OP_SNAPSHOT, SIM_OP_SNAPSHOT_PRODUCED,
		SIM_OP_SNAPSHOT_CONSUMED, SIM_OP_GET_SUBBUF, SIM_OP_PADDED_SUBBUF_SIZE,
		SIM_OP_READ_PTR,
	};
	struct fx *f = fx_new(true);
	uint64_t w, l;

	(void)state;
	run_overwrite(f);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		sim_fault_arm(&f->w.faults, &(struct sim_fault){
			.op = ops[i], .nth = 1, .err = RB_ERROR });
		assert_int_equal(stream_snapshot(f->s, f->out, 0, false, &w, &l), -EIO);
		assert_int_equal(w, 0);
		assert_false(stats(f).held);
		assert_int_equal(stats(f).packets_consumed, 0);
	}
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_SNAPSHOT, .nth = 1, .err = RB_NOMEM });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -ENOMEM);
	/* Failure on the third packet: two were written and are reported. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_READ_PTR, .nth = 3, .err = RB_ERROR });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -EIO);
	assert_int_equal(w, 2);
	assert_false(stats(f).held);
	/* put_subbuf refused: reported; the hold is the caller's to resolve. */
	open_out(f, "chan_0");
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_PUT_SUBBUF, .nth = 1, .err = RB_ERROR });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -EIO);
	assert_true(stats(f).held);
	assert_int_equal(rb_put_subbuf(f->s), RB_OK);
	/* Both the read and the release failing: the first error is the one returned. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_READ_PTR, .nth = 1, .err = RB_NOMEM });
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_PUT_SUBBUF, .nth = 1, .err = RB_ERROR });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -ENOMEM);
	assert_int_equal(rb_put_subbuf(f->s), RB_OK);
	/* Afterwards a clean snapshot still gets everything. */
	open_out(f, "chan_0");
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), 0);
	assert_int_equal(w, NUM_SUBBUF);
	check_out(f, "chan_0", stats(f).snap_consumed / SUBBUF, NUM_SUBBUF, UINT64_MAX);
	fx_free(f);
}

/*
 * Issue 11: a padded size beyond the sub-buffer (the app wrote its ring
 * buffer) is not written, nothing is read past the packet: the stream is
 * marked corrupt with the hold kept (stream_destroy releases it) and the
 * next snapshot does not enter the ring buffer.
 */
static void test_snapshot_nonsense_padded(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t w = 9, l = 9, calls;

	(void)state;
	run_overwrite(f);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_PADDED_SUBBUF_SIZE, .nth = 1, .err = SIM_FAULT_NONSENSE });
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -EIO);
	assert_int_equal(w, 0);
	assert_true(f->s->corrupt);
	assert_string_equal(f->s->corrupt_why, "packet sizes make no sense");
	assert_true(stats(f).held);
	check_out(f, "chan_0", 0, 0, UINT64_MAX);
	calls = f->w.faults.op[SIM_OP_SNAPSHOT].calls;
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, &w, &l), -EIO);
	assert_int_equal(f->w.faults.op[SIM_OP_SNAPSHOT].calls, calls);
	/* What stream_destroy does in production, for fx_free. */
	assert_int_equal(f->s->ops->put_subbuf(f->s), RB_OK);
	f->s->hold = RB_HOLD_NONE;
	fx_free(f);
}

/* Disk full: the sink's error, the hold released, the file left consistent. */
static void test_snapshot_enospc(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t w = 9, l = 9;

	(void)state;
	run_overwrite(f);
	sink_mem_fs_set_capacity(f->fs, SUBBUF + 100);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, false, &w, &l), -ENOSPC);
	assert_int_equal(w, 1);
	assert_int_equal(l, 0);
	assert_false(stats(f).held);
	check_out(f, "chan_0", stats(f).snap_consumed / SUBBUF, 1, UINT64_MAX);
	sink_mem_fs_set_capacity(f->fs, 0);
	fx_free(f);
}

/* NULL stream or output: a caller's bug, asserted; NULL count pointers are fine. */
static void test_snapshot_bad_arguments(void **state)
{
	struct fx *f = fx_new(true);
	uint64_t w = 5, l = 5;

	(void)state;
	expect_assert_failure(stream_snapshot(NULL, f->out, 0, true, &w, &l));
	expect_assert_failure(stream_snapshot(f->s, NULL, 0, true, &w, &l));
	produce_packets(f, 1);
	assert_int_equal(stream_snapshot(f->s, f->out, 0, true, NULL, NULL), 0);
	check_out(f, "chan_0", 0, 1, UINT64_MAX);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_all),
		cmocka_unit_test(test_snapshot_last_two),
		cmocka_unit_test(test_snapshot_more_than_ring),
		cmocka_unit_test(test_snapshot_after_consume),
		cmocka_unit_test(test_snapshot_overwritten_lost),
		cmocka_unit_test(test_snapshot_empty),
		cmocka_unit_test(test_snapshot_seam_faults),
		cmocka_unit_test(test_snapshot_enospc),
		cmocka_unit_test(test_snapshot_nonsense_padded),
		cmocka_unit_test(test_snapshot_bad_arguments),
	};

	log_level = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
