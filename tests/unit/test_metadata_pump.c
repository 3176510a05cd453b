/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of core/metadata_pump.c: metadata cache -> simulated metadata
 * ring (adapters/sim) -> file sink over the in-memory file system, with
 * faults from the sim fault table (ring side) and sim_io (file side).
 *
 * Sizes: a sim metadata packet has a 37-byte header, so a 256-byte
 * sub-buffer carries 219 bytes of TSDL and is written out as 256 bytes
 * (padded = content rounded to a page, capped at the sub-buffer); a
 * 4096-byte sub-buffer carries 4059 bytes and is written as 4096.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "log.h"
#include "mdcache.h"
#include "metadata_pump.h"
#include "rb.h"
#include "sim_ctf.h"
#include "sim_io.h"
#include "sim_rb.h"
#include "sim_world.h"
#include "sink.h"
#include "sink_mem.h"

#define HDR SIM_CTF_METADATA_HEADER_SIZE
#define SMALL 256u               /* tiny sub-buffer: 219 bytes of TSDL per packet */
#define SMALL_ROOM (SMALL - HDR)
#define PATH0 "c0/ust/metadata"
#define PATH1 "c1/ust/metadata"

struct fx {
	struct sim_world w;
	struct rb rb;
	struct rb_channel *chan;
	struct rb_stream *stream;
	struct mdcache *cache;
	struct sink_mem_fs *fs;
	struct sim_io sio;
	struct sink_chunk *chunk[2];
	struct sink_stream *out[2];
	struct metadata_pump p;
	bool pump_ready;
};

/* Open one metadata output in chunk directory `dir` through the sim_io shim. */
static void open_output(struct fx *f, int i, const char *dir)
{
	const struct sink_stream_params params = { .pathname = "ust", .name = "metadata" };
	const struct io *io = sim_io_io(&f->sio);
	int dirfd = io_openat(io, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, 1000, 1000);

	assert_true(dirfd >= 0);
	assert_int_equal(sink_file_chunk_create(io, dirfd, 1000, 1000, &f->chunk[i]), 0);
	assert_int_equal(sink_stream_open(f->chunk[i], &params, &f->out[i]), 0);
}

/* A world with a metadata channel of num x subbuf, an attached cache and output 0. */
static struct fx *fx_new(uint64_t subbuf, uint64_t num)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rb_channel_attr a = {
		.type = RB_CHAN_METADATA,
		.subbuf_size = subbuf,
		.num_subbuf = num,
		.chan_id = UINT32_MAX,
	};

	assert_non_null(f);
	for (int i = 0; i < RB_UUID_LEN; i++)
		a.uuid[i] = (uint8_t)(0x40 + i);
	assert_int_equal(sim_world_init(&f->w, 77, 1, 1, 1000), 0);
	assert_int_equal(sim_rb_init(&f->rb, &f->w), 0);
	assert_int_equal(rb_channel_create(&f->rb, &a, &f->chan), RB_OK);
	assert_int_equal(rb_stream_create(f->chan, 0, &f->stream), RB_OK);
	assert_int_equal(mdcache_create(&f->cache), 0);
	assert_int_equal(mdcache_stream_open(f->cache), 0);
	assert_int_equal(sink_mem_fs_create(&f->fs), 0);
	assert_int_equal(sink_mem_fs_mkdir(f->fs, "c0/ust"), 0);
	assert_int_equal(sink_mem_fs_mkdir(f->fs, "c1/ust"), 0);
	sim_io_init(&f->sio, sink_mem_fs_io(f->fs), &f->w.faults);
	open_output(f, 0, "c0");
	assert_int_equal(metadata_pump_init(&f->p, f->cache, f->chan, f->stream, f->out[0]), 0);
	f->pump_ready = true;
	return f;
}

static void fx_free(struct fx *f)
{
	if (f->pump_ready)
		metadata_pump_fini(&f->p);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);
	for (int i = 0; i < 2; i++) {
		if (f->out[i])
			assert_int_equal(sink_stream_close(f->out[i]), 0);
		if (f->chunk[i])
			assert_int_equal(sink_chunk_destroy(f->chunk[i]), 0);
	}
	rb_stream_destroy(f->stream);
	rb_channel_destroy(f->chan);
	assert_int_equal(sim_rb_fini(&f->rb), 0);
	mdcache_destroy(f->cache);
	assert_int_equal(sink_mem_fs_open_fds(f->fs), 0);
	sink_mem_fs_destroy(f->fs);
	free(f);
}

/* Deterministic TSDL-ish text: byte i of version v. */
static uint8_t text_byte(uint64_t i, uint64_t v)
{
	return (uint8_t)('a' + (i * 7 + v * 3 + i / 26) % 26);
}

/* Store [off, off + len) of version v's text in the cache; returns the write result. */
static enum mdcache_write_result push(struct fx *f, uint64_t off, uint64_t len, uint64_t v)
{
	enum mdcache_write_result r = MDCACHE_NO_CHANGE;
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	for (uint64_t i = 0; i < len; i++)
		b[i] = text_byte(off + i, v);
	assert_int_equal(mdcache_write(f->cache, off, len, v, b, &r), 0);
	free(b);
	return r;
}

/*
 * Parse the metadata file at `path` into its packets: each has the metadata
 * magic and a packet size equal to its span in the file.  Returns the
 * concatenated TSDL (caller frees) and its length; *packets counts packets.
 */
static uint8_t *file_payload(struct fx *f, const char *path, size_t *len, size_t *packets)
{
	const uint8_t *d = NULL;
	size_t n = 0, off = 0, np = 0, plen = 0;
	uint8_t *out;

	assert_int_equal(sink_mem_fs_read(f->fs, path, &d, &n), 0);
	out = malloc(n + 1);
	assert_non_null(out);
	while (off < n) {
		uint32_t magic, content, psize;

		assert_true(n - off >= HDR);
		memcpy(&magic, d + off, 4);
		memcpy(&content, d + off + 24, 4);
		memcpy(&psize, d + off + 28, 4);
		assert_int_equal(magic, SIM_CTF_METADATA_MAGIC);
		assert_true(content / 8 >= HDR && content <= psize);
		assert_true(psize / 8 <= n - off);
		memcpy(out + plen, d + off + HDR, content / 8 - HDR);
		plen += content / 8 - HDR;
		off += psize / 8;
		np++;
	}
	*len = plen;
	if (packets)
		*packets = np;
	return out;
}

/* Size of the file at path. */
static size_t file_size(struct fx *f, const char *path)
{
	const uint8_t *d = NULL;
	size_t n = 0;

	assert_int_equal(sink_mem_fs_read(f->fs, path, &d, &n), 0);
	return n;
}

/* The file at path holds exactly bytes [0, len) of version v's text. */
static void assert_file_holds(struct fx *f, const char *path, uint64_t len, uint64_t v)
{
	size_t plen = 0;
	uint8_t *pl = file_payload(f, path, &plen, NULL);

	assert_int_equal(plen, len);
	for (uint64_t i = 0; i < len; i++)
		if (pl[i] != text_byte(i, v))
			fail_msg("byte %llu differs", (unsigned long long)i);
	free(pl);
}

/* Copy of the file's bytes (caller frees). */
static uint8_t *file_copy(struct fx *f, const char *path, size_t *len)
{
	const uint8_t *d = NULL;
	uint8_t *c;

	assert_int_equal(sink_mem_fs_read(f->fs, path, &d, len), 0);
	c = malloc(*len + 1);
	assert_non_null(c);
	memcpy(c, d, *len);
	return c;
}

/* ---- tests -------------------------------------------------------------- */

/* A small TSDL fits one packet: one 4096-byte packet whose payload is the cache. */
static void test_small_tsdl(void **state)
{
	struct fx *f = fx_new(4096, 2);
	struct mdcache_state s;

	(void)state;
	assert_true(mdcache_data_pending(f->cache));   /* empty cache: pending */
	assert_int_equal(metadata_pump(&f->p), 0);      /* nothing yet */
	assert_int_equal(push(f, 0, 1000, 0), MDCACHE_APPENDED);
	assert_int_equal(metadata_pump(&f->p), 4096);
	assert_int_equal(file_size(f, PATH0), 4096);
	assert_file_holds(f, PATH0, 1000, 0);
	assert_int_equal(mdcache_get_state(f->cache, &s), 0);
	assert_int_equal(s.flushed, 1000);
	assert_false(mdcache_data_pending(f->cache));
	/* Woken again with nothing new: no packet. */
	assert_int_equal(metadata_pump(&f->p), 0);
	assert_int_equal(file_size(f, PATH0), 4096);
	/* An appended fragment becomes a second packet. */
	assert_int_equal(push(f, 1000, 500, 0), MDCACHE_APPENDED);
	assert_int_equal(metadata_pump(&f->p), 4096);
	assert_file_holds(f, PATH0, 1500, 0);
	assert_int_equal(mdcache_flushed(f->cache), 1500);
	fx_free(f);
}

/* A cache much bigger than the ring goes out through the RB_FULL path, in order. */
static void test_cache_bigger_than_ring(void **state)
{
	struct fx *f = fx_new(SMALL, 2);
	size_t plen = 0, packets = 0;
	uint64_t expect = (5000 + SMALL_ROOM - 1) / SMALL_ROOM;   /* 23 packets */
	uint8_t *pl;

	(void)state;
	push(f, 0, 5000, 0);
	assert_int_equal(metadata_pump(&f->p), (int)(expect * SMALL));
	pl = file_payload(f, PATH0, &plen, &packets);
	free(pl);
	assert_int_equal(packets, expect);
	assert_file_holds(f, PATH0, 5000, 0);
	/* The ring refused packets (only 2 fit at once): calls > packets. */
	assert_true(f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].calls > expect);
	assert_int_equal(mdcache_flushed(f->cache), 5000);
	fx_free(f);
}

/* Only the contiguous prefix is pumped; the rest after the hole is filled. */
static void test_hole(void **state)
{
	struct fx *f = fx_new(SMALL, 4);

	(void)state;
	push(f, 0, 300, 0);
	assert_int_equal(push(f, 600, 300, 0), MDCACHE_NO_CHANGE);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 300, 0);
	assert_int_equal(mdcache_flushed(f->cache), 300);
	assert_true(mdcache_data_pending(f->cache));   /* bytes beyond the hole */
	assert_int_equal(push(f, 300, 300, 0), MDCACHE_APPENDED);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 900, 0);
	assert_false(mdcache_data_pending(f->cache));
	fx_free(f);
}

struct wait_rec {
	struct fx *f;
	int calls;
	enum mdcache_wait_status status;
	size_t payload_at_call;  /* TSDL bytes in the file when the callback ran */
};

static void on_wait(void *arg, enum mdcache_wait_status status)
{
	struct wait_rec *r = arg;
	uint8_t *pl;

	r->calls++;
	r->status = status;
	pl = file_payload(r->f, PATH0, &r->payload_at_call, NULL);
	free(pl);
}

/* A waiter for offset N is woken once the pump passed N with the bytes written, not before. */
static void test_waiter(void **state)
{
	struct fx *f = fx_new(SMALL, 2);
	struct mdcache_waiter w = MDCACHE_WAITER_INIT;
	struct wait_rec r = { .f = f };

	(void)state;
	push(f, 0, 500, 0);
	assert_int_equal(mdcache_wait(f->cache, &w, 0, 700, on_wait, &r), MDCACHE_WAIT_QUEUED);
	assert_true(metadata_pump(&f->p) > 0);
	assert_int_equal(r.calls, 0);                   /* 500 < 700 */
	push(f, 500, 500, 0);
	/* The ring refuses the next packet: no progress, still waiting. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .err = RB_IO });
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_int_equal(r.calls, 0);
	assert_int_equal(mdcache_flushed(f->cache), 500);
	assert_true(metadata_pump(&f->p) > 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, MDCACHE_WAIT_FLUSHED);
	assert_true(r.payload_at_call >= 700);          /* written out, not only in the ring */
	assert_int_equal(mdcache_flushed(f->cache), 1000);
	fx_free(f);
}

/* A version bump truncates the file and rewrites it from 0 with the new content. */
static void test_version_bump(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 1000, 1);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 1000, 1);
	assert_int_equal(push(f, 0, 300, 2), MDCACHE_INVALIDATED);
	assert_int_equal(metadata_pump(&f->p), 2 * SMALL);
	assert_int_equal(file_size(f, PATH0), 2 * SMALL);
	assert_file_holds(f, PATH0, 300, 2);
	assert_int_equal(mdcache_flushed(f->cache), 300);
	/* Empty new content: the file is emptied at once. */
	push(f, 0, 0, 3);
	assert_int_equal(metadata_pump(&f->p), 0);
	assert_int_equal(file_size(f, PATH0), 0);
	push(f, 0, 100, 3);
	assert_int_equal(metadata_pump(&f->p), SMALL);
	assert_file_holds(f, PATH0, 100, 3);
	fx_free(f);
}

/* Old packets still in the ring when the version changes never mix with the new file. */
static void test_version_bump_with_old_packets_in_ring(void **state)
{
	struct fx *f = fx_new(SMALL, 4);

	(void)state;
	push(f, 0, 2000, 1);
	/* The second packet write fails: old packets stay in the ring. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = EIO });
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_WRITE, .nth = 2, .err = EIO });
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_int_equal(mdcache_flushed(f->cache), 0);
	assert_int_equal(push(f, 0, 500, 2), MDCACHE_INVALIDATED);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 500, 2);
	assert_int_equal(mdcache_flushed(f->cache), 500);
	fx_free(f);
}

/* A failed truncate keeps the reset pending: nothing of the new content is written until it works. */
static void test_reset_failure(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 400, 1);
	assert_true(metadata_pump(&f->p) > 0);
	push(f, 0, 100, 2);
	assert_int_equal(sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_FTRUNCATE, .nth = 1, .err = EIO }), 0);
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_file_holds(f, PATH0, 400, 1);            /* untouched */
	assert_int_equal(mdcache_flushed(f->cache), 0);
	assert_int_equal(metadata_pump(&f->p), SMALL);
	assert_file_holds(f, PATH0, 100, 2);
	fx_free(f);
}

/* Rotation rewrites the whole cache into the new chunk; the old file stays complete. */
static void test_rotation(void **state)
{
	struct fx *f = fx_new(SMALL, 2);
	struct mdcache_waiter w = MDCACHE_WAITER_INIT;
	struct wait_rec r = { .f = f };

	(void)state;
	push(f, 0, 1000, 0);
	assert_true(metadata_pump(&f->p) > 0);
	push(f, 1000, 500, 0);
	/* The ring holds unwritten packets (disk error) when the rotation comes. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = ENOSPC });
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_WRITE, .nth = 2, .err = ENOSPC });
	assert_int_equal(metadata_pump(&f->p), -ENOSPC);
	open_output(f, 1, "c1");
	assert_int_equal(metadata_pump_reset_for_rotation(&f->p, f->out[1]), 0);
	/* Everything pushed before the rotation went to the old file. */
	{
		size_t plen = 0;
		uint8_t *pl = file_payload(f, PATH0, &plen, NULL);

		free(pl);
		assert_true(plen > 1000);
	}
	assert_int_equal(mdcache_flushed(f->cache), 0);
	assert_true(mdcache_data_pending(f->cache));
	assert_int_equal(mdcache_wait(f->cache, &w, 0, 1500, on_wait, &r), MDCACHE_WAIT_QUEUED);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH1, 1500, 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(mdcache_flushed(f->cache), 1500);
	/* Later appends go to the new file only. */
	push(f, 1500, 10, 0);
	assert_int_equal(metadata_pump(&f->p), SMALL);
	assert_file_holds(f, PATH1, 1510, 0);
	fx_free(f);
}

/* A failed drain refuses the rotation and switches nothing. */
static void test_rotation_drain_failure(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 300, 0);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_NEXT_SUBBUF, .nth = 2, .err = RB_IO });
	assert_int_equal(metadata_pump(&f->p), -EIO);   /* pushed, not drained */
	open_output(f, 1, "c1");
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .err = RB_IO });
	assert_int_equal(metadata_pump_reset_for_rotation(&f->p, f->out[1]), -EIO);
	expect_assert_failure(metadata_pump_reset_for_rotation(NULL, f->out[1]));
	expect_assert_failure(metadata_pump_reset_for_rotation(&f->p, NULL));
	assert_int_equal(metadata_pump_reset_for_rotation(&f->p, f->out[1]), 0);
	assert_file_holds(f, PATH0, 300, 0);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH1, 300, 0);
	fx_free(f);
}

/* Disk full: error, and once room is back the file is complete, no byte lost or doubled. */
static void test_sink_enospc(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 3000, 0);
	sink_mem_fs_set_capacity(f->fs, 3 * SMALL);
	assert_int_equal(metadata_pump(&f->p), -ENOSPC);
	assert_int_equal(file_size(f, PATH0), 3 * SMALL);
	assert_true(mdcache_flushed(f->cache) <= 3 * SMALL_ROOM);
	assert_true(mdcache_data_pending(f->cache));
	assert_int_equal(metadata_pump(&f->p), -ENOSPC); /* still full */
	sink_mem_fs_set_capacity(f->fs, 0);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 3000, 0);
	assert_false(mdcache_data_pending(f->cache));
	fx_free(f);
}

/* Reference file of a fault-free run of the scenario used by the sweeps. */
static uint8_t *reference_file(size_t *len)
{
	struct fx *f = fx_new(SMALL, 2);
	uint8_t *c;

	push(f, 0, 1200, 0);
	assert_true(metadata_pump(&f->p) > 0);
	c = file_copy(f, PATH0, len);
	fx_free(f);
	return c;
}

/*
 * Fail the nth call of a seam op, n = 1, 2, ... until no fault fires: each
 * run ends with an error, then repeated pumps recover a file identical to
 * the fault-free one.
 */
static void sweep_op(enum sim_op op, int status, int expect_err)
{
	size_t ref_len = 0;
	uint8_t *ref = reference_file(&ref_len);

	for (uint64_t nth = 1;; nth++) {
		struct fx *f = fx_new(SMALL, 2);
		size_t len = 0;
		uint8_t *got;
		int ret, tries = 0;

		push(f, 0, 1200, 0);
		sim_fault_arm(&f->w.faults, &(struct sim_fault){
			.op = op, .nth = nth, .err = status });
		ret = metadata_pump(&f->p);
		if (!f->w.faults.op[op].fired) {
			assert_true(ret > 0);
			fx_free(f);
			assert_true(nth > 1);   /* the op was used at least once */
			break;
		}
		assert_int_equal(ret, expect_err);
		while (ret < 0 && tries++ < 10)
			ret = metadata_pump(&f->p);
		assert_true(ret >= 0);
		assert_int_equal(metadata_pump(&f->p), 0);
		got = file_copy(f, PATH0, &len);
		assert_int_equal(len, ref_len);
		assert_memory_equal(got, ref, len);
		free(got);
		assert_int_equal(mdcache_flushed(f->cache), 1200);
		fx_free(f);
	}
	free(ref);
}

static void test_fault_write_metadata_packet(void **state)
{
	(void)state;
	sweep_op(SIM_OP_WRITE_METADATA_PACKET, RB_IO, -EIO);
}

static void test_fault_get_next_subbuf(void **state)
{
	(void)state;
	sweep_op(SIM_OP_GET_NEXT_SUBBUF, RB_IO, -EIO);
	sweep_op(SIM_OP_GET_NEXT_SUBBUF, RB_NOMEM, -ENOMEM);
}

/* A put that fails after the write must not make the packet appear twice. */
static void test_fault_put_next_subbuf(void **state)
{
	(void)state;
	sweep_op(SIM_OP_PUT_NEXT_SUBBUF, RB_IO, -EIO);
}

static void test_fault_packet_accessors_and_flush(void **state)
{
	(void)state;
	sweep_op(SIM_OP_PADDED_SUBBUF_SIZE, RB_IO, -EIO);
	sweep_op(SIM_OP_READ_PTR, RB_IO, -EIO);
	sweep_op(SIM_OP_FLUSH, RB_IO, -EIO);
}

/* A flush that keeps failing: the pushed bytes are not pushed again, the packet is closed later. */
static void test_flush_retry(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 100, 0);
	/* Sim metadata packets close themselves; the flush only has to be retried. */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_FLUSH, .nth = 1, .every = 1, .err = RB_IO });
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_int_equal(metadata_pump(&f->p), -EIO);   /* retried first, fails again */
	assert_int_equal(f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].calls, 1);
	sim_fault_disarm(&f->w.faults, SIM_OP_FLUSH);
	assert_int_equal(metadata_pump(&f->p), SMALL);
	assert_file_holds(f, PATH0, 100, 0);
	assert_int_equal(f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].calls, 1);
	fx_free(f);
}

/* The next sink write fails with EIO, and so does the put_subbuf after it. */
static void fail_sink_and_put(struct fx *f)
{
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = EIO });
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_WRITE, .nth = 1, .err = EIO });
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_PUT_SUBBUF, .nth = 1, .err = RB_IO });
}

/* Sink failure plus a failing put_subbuf: the hold is kept, retried, released by fini. */
static void test_put_subbuf_failure(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 300, 0);
	fail_sink_and_put(f);
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 1);
	assert_true(metadata_pump(&f->p) > 0);
	assert_file_holds(f, PATH0, 300, 0);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);

	/* Same again, but the pump is torn down while holding. */
	push(f, 300, 100, 0);
	fail_sink_and_put(f);
	assert_int_equal(metadata_pump(&f->p), -EIO);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 1);
	metadata_pump_fini(&f->p);
	f->pump_ready = false;
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);
	fx_free(f);
}

/* A ring that refuses a packet right after a full drain is an error, not a silent stop. */
static void test_full_after_drain(void **state)
{
	struct fx *f = fx_new(SMALL, 2);

	(void)state;
	push(f, 0, 100, 0);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .err = RB_FULL });
	assert_int_equal(metadata_pump(&f->p), -ENOBUFS);
	assert_int_equal(mdcache_flushed(f->cache), 0);
	assert_int_equal(metadata_pump(&f->p), SMALL);
	assert_file_holds(f, PATH0, 100, 0);
	fx_free(f);
}

/* Bad arguments stop at their assertion; a failing max_subbuf_size is refused cleanly. */
static void test_init_errors(void **state)
{
	struct fx *f = fx_new(SMALL, 2);
	struct metadata_pump p2;
	struct metadata_pump zero = { 0 };

	(void)state;
	expect_assert_failure(metadata_pump_init(NULL, f->cache, f->chan, f->stream, f->out[0]));
	expect_assert_failure(metadata_pump_init(&p2, NULL, f->chan, f->stream, f->out[0]));
	expect_assert_failure(metadata_pump_init(&p2, f->cache, NULL, f->stream, f->out[0]));
	expect_assert_failure(metadata_pump_init(&p2, f->cache, f->chan, NULL, f->out[0]));
	expect_assert_failure(metadata_pump_init(&p2, f->cache, f->chan, f->stream, NULL));
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_MAX_SUBBUF_SIZE, .nth = 1, .err = RB_IO });
	assert_int_equal(metadata_pump_init(&p2, f->cache, f->chan, f->stream, f->out[0]), -EIO);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_MAX_SUBBUF_SIZE, .nth = 1, .err = RB_NOMEM });
	assert_int_equal(metadata_pump_init(&p2, f->cache, f->chan, f->stream, f->out[0]),
			 -ENOMEM);
	expect_assert_failure(metadata_pump(NULL));
	expect_assert_failure(metadata_pump(&zero));
	metadata_pump_fini(NULL);
	metadata_pump_fini(&zero);
	/* The pump adopts the version the cache has at init. */
	push(f, 0, 50, 9);
	assert_int_equal(metadata_pump_init(&p2, f->cache, f->chan, f->stream, f->out[0]), 0);
	assert_int_equal(p2.version, 9);
	metadata_pump_fini(&p2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_tsdl),
		cmocka_unit_test(test_cache_bigger_than_ring),
		cmocka_unit_test(test_hole),
		cmocka_unit_test(test_waiter),
		cmocka_unit_test(test_version_bump),
		cmocka_unit_test(test_version_bump_with_old_packets_in_ring),
		cmocka_unit_test(test_reset_failure),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_rotation_drain_failure),
		cmocka_unit_test(test_sink_enospc),
		cmocka_unit_test(test_fault_write_metadata_packet),
		cmocka_unit_test(test_fault_get_next_subbuf),
		cmocka_unit_test(test_fault_put_next_subbuf),
		cmocka_unit_test(test_fault_packet_accessors_and_flush),
		cmocka_unit_test(test_flush_retry),
		cmocka_unit_test(test_put_subbuf_failure),
		cmocka_unit_test(test_full_after_drain),
		cmocka_unit_test(test_init_errors),
	};

	log_level = -1;   /* the error paths log on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
