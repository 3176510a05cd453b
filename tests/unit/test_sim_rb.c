/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the simulated ring buffer (adapters/sim/sim_rb*.c) through
 * the seam wrappers of core/rb.h, with sim_app as the writer.
 *
 * Event sizes used below (sim_ctf.h layout, 84-byte packet header): the
 * first event of a packet starts at 84 and is padded to 88, so a "sim:tick"
 * (1 field) takes 28 bytes there and 24 after; a "sim:value" (2 fields) 36
 * then 32.  A 256-byte sub-buffer therefore holds 7 ticks (exactly full:
 * 112 + 6 * 24 = 256) or 5 values (120 + 4 * 32 = 248).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_fds.h"

#include "log.h"
#include "rb.h"
#include "sim_app.h"
#include "sim_ctf.h"
#include "sim_rb.h"
#include "sim_world.h"

#define T0 1000u

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	struct sim_world w;
	struct rb rb;
	struct rb_channel *chan;
	struct rb_stream *s[SIM_MAX_CPUS];
	int nr;
	struct sim_app *app;
	int fd_start;
};

static struct rb_channel_attr data_attr(uint64_t subbuf, uint64_t num, bool overwrite)
{
	struct rb_channel_attr a = {
		.type = RB_CHAN_PER_CPU,
		.subbuf_size = subbuf,
		.num_subbuf = num,
		.overwrite = overwrite,
		.chan_id = 7,
		.blocking_timeout_us = 0,
	};

	for (int i = 0; i < RB_UUID_LEN; i++)
		a.uuid[i] = (uint8_t)(0xa0 + i);
	return a;
}

/* World of ncpu possible CPUs (all online), one data channel, its streams, an attached app. */
static struct fx *fx_new_seed(uint64_t seed, int ncpu, uint64_t subbuf, uint64_t num,
			      bool overwrite)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rb_channel_attr a = data_attr(subbuf, num, overwrite);

	assert_non_null(f);
	f->fd_start = test_open_fd_count();
	assert_int_equal(sim_world_init(&f->w, seed, ncpu, ncpu, T0), 0);
	assert_int_equal(sim_rb_init(&f->rb, &f->w), 0);
	assert_int_equal(rb_channel_create(&f->rb, &a, &f->chan), RB_OK);
	f->nr = ncpu;
	for (int i = 0; i < ncpu; i++)
		assert_int_equal(rb_stream_create(f->chan, i, &f->s[i]), RB_OK);
	f->app = sim_app_create(&f->w, "app");
	assert_non_null(f->app);
	assert_int_equal(sim_app_attach(f->app, f->chan), 0);
	return f;
}

static struct fx *fx_new(uint64_t subbuf, uint64_t num, bool overwrite)
{
	return fx_new_seed(42, 2, subbuf, num, overwrite);
}

/* Tear everything down and check nothing leaked. */
static void fx_free(struct fx *f)
{
	sim_app_destroy(f->app);
	for (int i = 0; i < f->nr; i++)
		rb_stream_destroy(f->s[i]);
	rb_channel_destroy(f->chan);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);
	assert_int_equal(sim_rb_fini(&f->rb), 0);
	assert_int_equal(test_open_fd_count(), f->fd_start);
	free(f);
}

static struct sim_rb_stats stats(struct fx *f, int cpu)
{
	struct sim_rb_stats st;

	assert_int_equal(sim_rb_stats(f->chan, cpu, &st), 0);
	return st;
}

/* Packet context of the held sub-buffer, through the seam accessors. */
struct pkt {
	uint64_t begin, end, discarded, content, packet, seq, stream_id, instance, size, padded;
	const uint8_t *p;
};

static struct pkt held_pkt(struct rb_stream *s)
{
	struct pkt k;
	const void *p = NULL;

	assert_int_equal(rb_timestamp_begin(s, &k.begin), RB_OK);
	assert_int_equal(rb_timestamp_end(s, &k.end), RB_OK);
	assert_int_equal(rb_events_discarded(s, &k.discarded), RB_OK);
	assert_int_equal(rb_content_size(s, &k.content), RB_OK);
	assert_int_equal(rb_packet_size(s, &k.packet), RB_OK);
	assert_int_equal(rb_sequence_number(s, &k.seq), RB_OK);
	assert_int_equal(rb_stream_id(s, &k.stream_id), RB_OK);
	assert_int_equal(rb_instance_id(s, &k.instance), RB_OK);
	assert_int_equal(rb_subbuf_size(s, &k.size), RB_OK);
	assert_int_equal(rb_padded_subbuf_size(s, &k.padded), RB_OK);
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	k.p = p;
	return k;
}

/* get_next + packet context + put_next: the consumer's read of one packet. */
static struct pkt read_next(struct rb_stream *s)
{
	struct pkt k;

	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	k = held_pkt(s);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	return k;
}

/* Number of events in a packet, decoded with the default classes. */
static unsigned int count_events(const uint8_t *p, uint64_t content_bytes, uint64_t *first_ts)
{
	unsigned int nr, n = 0;
	const struct sim_ctf_event_class *cls = sim_app_classes(&nr);
	size_t off = SIM_CTF_PACKET_HEADER_SIZE;
	uint64_t ts, fields[SIM_CTF_MAX_FIELDS];
	uint32_t id;

	while (sim_ctf_read_event(p, content_bytes, &off, cls, nr, &id, &ts, fields) == 0) {
		if (n == 0 && first_ts)
			*first_ts = ts;
		n++;
	}
	assert_int_equal(off, content_bytes);
	return n;
}

static short poll_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents;
}

/* ---- construction ---------------------------------------------------------- */

/* Every op of the table exists, init/fini validate, nr_streams = possible CPUs. */
static void test_ops_table_and_init(void **state)
{
	void *slots[sizeof(struct rb_ops) / sizeof(void *)];
	struct sim_world w;
	struct rb rb;

	(void)state;
	assert_int_equal(sizeof(struct rb_ops) % sizeof(void *), 0);
	memcpy(slots, &sim_rb_ops, sizeof(slots));
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		assert_non_null(slots[i]);
	assert_string_equal(sim_rb_ops.name, "sim");
	assert_int_equal(sim_rb_init(NULL, NULL), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, 3, 1, 0), 0);
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	assert_ptr_equal(rb.ops, &sim_rb_ops);
	assert_int_equal(rb_nr_streams_per_channel(&rb), 3);
	assert_int_equal(sim_rb_fini(&rb), 0);
	assert_null(rb.ctx);
	assert_int_equal(sim_rb_fini(&rb), 0);
}

/* Bad attributes are refused with RB_ERROR and leave nothing open. */
static void test_channel_create_rejects_bad_attr(void **state)
{
	struct sim_world w;
	struct rb rb;
	struct rb_channel *c = (struct rb_channel *)&w;   /* must stay untouched */
	int fds[3] = { 0, 1, -1 };
	int start = test_open_fd_count();
	struct rb_channel_attr bad[9];

	(void)state;
	assert_int_equal(sim_world_init(&w, 1, 2, 2, 0), 0);
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	for (int i = 0; i < 9; i++)
		bad[i] = data_attr(4096, 4, false);
	bad[0].subbuf_size = 3000;
	bad[1].subbuf_size = 128;
	bad[2].num_subbuf = 1;
	bad[3].num_subbuf = 3;
	bad[4].subbuf_size = 16u << 20;          /* 16 MiB x 8 > 64 MiB */
	bad[4].num_subbuf = 8;
	bad[5].type = 7;
	bad[6].stream_fds = fds;                 /* 3 fds for 2 streams */
	bad[6].nr_stream_fds = 3;
	bad[7].stream_fds = fds + 1;             /* second fd is -1 */
	bad[7].nr_stream_fds = 2;
	bad[8].num_subbuf = 2048;
	for (int i = 0; i < 9; i++) {
		assert_int_equal(rb_channel_create(&rb, &bad[i], &c), RB_ERROR);
		assert_ptr_equal(c, &w);
	}
	assert_int_equal(rb_channel_create(&rb, NULL, &c), RB_ERROR);
	assert_int_equal(test_open_fd_count(), start);
	assert_int_equal(sim_rb_fini(&rb), 0);
}

/* Consumer-provided shm fds become the channel's and are closed by its destroy. */
static void test_channel_owns_stream_fds(void **state)
{
	struct sim_world w;
	struct rb rb;
	struct rb_channel *c = NULL, *m = NULL;
	int fds[2], mfd, start = test_open_fd_count();
	struct rb_channel_attr a = data_attr(4096, 2, false);
	struct rb_channel_attr ma = data_attr(4096, 2, false);

	(void)state;
	assert_int_equal(sim_world_init(&w, 1, 2, 2, 0), 0);
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	fds[0] = memfd_create("t0", MFD_CLOEXEC);
	fds[1] = memfd_create("t1", MFD_CLOEXEC);
	mfd = memfd_create("tm", MFD_CLOEXEC);
	a.stream_fds = fds;
	a.nr_stream_fds = 2;
	ma.type = RB_CHAN_METADATA;
	ma.chan_id = UINT32_MAX;
	ma.stream_fds = &mfd;
	ma.nr_stream_fds = 1;
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	assert_int_equal(rb_channel_create(&rb, &ma, &m), RB_OK);
	assert_int_equal(sim_rb_channel_nr_streams(m), 1);
	rb_channel_destroy(c);
	rb_channel_destroy(m);
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);
	assert_int_equal(fcntl(fds[1], F_GETFD), -1);
	assert_int_equal(fcntl(mfd, F_GETFD), -1);
	assert_int_equal(test_open_fd_count(), start);
	assert_int_equal(sim_rb_fini(&rb), 0);
}

/* Streams exist for every possible CPU (online or not) and stop at nr_possible. */
static void test_stream_create_stops_at_nr_possible(void **state)
{
	struct sim_world w;
	struct rb rb;
	struct rb_channel *c = NULL, *m = NULL;
	struct rb_stream *s[4] = { NULL }, *x = NULL;
	struct rb_channel_attr a = data_attr(4096, 2, false);
	int start = test_open_fd_count(), cpu;

	(void)state;
	assert_int_equal(sim_world_init(&w, 1, 3, 1, 0), 0);   /* CPUs 1, 2 offline */
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	/* The consumer's creation loop: until RB_NO_STREAM. */
	for (cpu = 0; cpu < 4; cpu++) {
		enum rb_status st = rb_stream_create(c, cpu, &s[cpu]);

		if (st == RB_NO_STREAM)
			break;
		assert_int_equal(st, RB_OK);
		assert_int_equal(s[cpu]->cpu, cpu);
		assert_ptr_equal(s[cpu]->chan, c);
		assert_true(rb_stream_wait_fd(s[cpu]) >= 0);
	}
	assert_int_equal(cpu, 3);
	assert_null(s[3]);
	assert_int_equal(rb_stream_create(c, -1, &x), RB_ERROR);
	assert_int_equal(rb_stream_create(c, 0, &x), RB_ERROR);   /* already has a handle */
	assert_null(x);
	/* A destroyed handle can be created again; the consumer's fds stay closed. */
	rb_stream_destroy(s[2]);
	assert_int_equal(rb_stream_create(c, 2, &s[2]), RB_OK);
	assert_int_equal(rb_stream_wait_fd(s[2]), -1);
	assert_int_equal(rb_stream_wakeup_fd(s[2]), -1);
	a.type = RB_CHAN_METADATA;
	assert_int_equal(rb_channel_create(&rb, &a, &m), RB_OK);
	assert_int_equal(rb_stream_create(m, 0, &x), RB_OK);
	assert_int_equal(rb_stream_create(m, 1, &s[3]), RB_NO_STREAM);
	rb_stream_destroy(x);
	for (cpu = 0; cpu < 3; cpu++)
		rb_stream_destroy(s[cpu]);
	rb_channel_destroy(c);
	rb_channel_destroy(m);
	assert_int_equal(test_open_fd_count(), start);
	assert_int_equal(sim_rb_fini(&rb), 0);
}

/* ---- packets ---------------------------------------------------------------- */

/* The first event opens a packet whose header and context say who wrote it. */
static void test_first_event_opens_packet(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct sim_ctf_stream_info info;
	struct sim_ctf_packet_ctx ctx;
	struct sim_rb_stats st;
	struct pkt k;
	uint64_t ts[3], fields[SIM_CTF_MAX_FIELDS], max;
	uint32_t id;
	unsigned int nr;
	const struct sim_ctf_event_class *cls = sim_app_classes(&nr);
	size_t off = SIM_CTF_PACKET_HEADER_SIZE;

	(void)state;
	assert_false(stats(f, 1).packet_open);
	assert_int_equal(sim_app_write(f->app, 1, SIM_APP_CLASS_TICK, 3, 10), 3);
	st = stats(f, 1);
	assert_true(st.packet_open);
	assert_int_equal(st.produced, 112 + 24 * 2);
	assert_int_equal(st.packets_delivered, 0);
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_NO_DATA);
	assert_int_equal(rb_flush(f->s[1], true), RB_OK);
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_OK);
	k = held_pkt(f->s[1]);
	assert_int_equal(k.begin, T0);
	assert_int_equal(k.end, T0 + 30);
	assert_int_equal(k.content, 160 * 8);
	assert_int_equal(k.packet, 256 * 8);
	assert_int_equal(k.size, 160);
	assert_int_equal(k.padded, 256);
	assert_int_equal(k.seq, 0);
	assert_int_equal(k.stream_id, 7);
	assert_int_equal(k.instance, 1);
	assert_int_equal(k.discarded, 0);
	assert_int_equal(rb_max_subbuf_size(f->s[1], &max), RB_OK);
	assert_int_equal(max, 256);
	/* The bytes themselves: header, then three events 10 ns apart. */
	assert_int_equal(sim_ctf_read_packet_header(k.p, k.size, &info, &ctx), 0);
	assert_int_equal(ctx.cpu_id, 1);
	assert_int_equal(info.stream_id, 7);
	assert_int_equal(info.uuid[0], 0xa0);
	assert_int_equal(info.uuid[15], 0xaf);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sim_ctf_read_event(k.p, k.size, &off, cls, nr, &id, &ts[i], fields),
				 0);
		assert_int_equal(id, SIM_APP_CLASS_TICK);
		assert_int_equal(fields[0], (uint64_t)i);
		assert_int_equal(ts[i], T0 + 10 * (uint64_t)i);
	}
	assert_int_equal(off, k.size);
	assert_int_equal(rb_put_next_subbuf(f->s[1]), RB_OK);
	st = stats(f, 1);
	assert_int_equal(st.consumed, 256);
	assert_int_equal(st.packets_consumed, 1);
	assert_int_equal(st.bytes_consumed, 256);
	assert_int_equal(st.events_written, 3);
	/* CPU 0 saw nothing. */
	assert_int_equal(stats(f, 0).produced, 0);
	fx_free(f);
}

/* Padded size is the content rounded up to a page, capped by the sub-buffer. */
static void test_padding_and_packet_sizes(void **state)
{
	struct fx *f = fx_new(8192, 2, false);
	struct pkt k;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 5, 0), 5);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, 208);
	assert_int_equal(k.content, 208 * 8);
	assert_int_equal(k.padded, 4096);
	assert_int_equal(k.packet, 4096 * 8);
	/* 4888 bytes of content: two pages. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 200, 0), 200);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, 112 + 199 * 24);
	assert_int_equal(k.padded, 8192);
	assert_int_equal(k.packet, 8192 * 8);
	assert_int_equal(k.seq, 1);
	assert_int_equal(stats(f, 0).bytes_delivered, 4096 + 8192);
	fx_free(f);
}

/* An exactly full packet is switched at once; an event that does not fit goes to the next. */
static void test_switch_when_event_does_not_fit(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct sim_rb_stats st;
	struct pkt k;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 7, 1), 7);
	st = stats(f, 0);
	assert_false(st.packet_open);
	assert_int_equal(st.packets_delivered, 1);
	assert_int_equal(st.produced, 256);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, 256);
	assert_int_equal(count_events(k.p, k.size, NULL), 7);
	/* Values: 5 fit (248 bytes), the 6th opens packet 2. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 6, 1), 6);
	assert_int_equal(stats(f, 0).produced, 512 + 120);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, 248);
	assert_int_equal(k.seq, 1);
	assert_int_equal(count_events(k.p, k.size, NULL), 5);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 2);
	assert_int_equal(count_events(k.p, k.size, NULL), 1);
	fx_free(f);
}

/* ---- full ring ------------------------------------------------------------------ */

/* Discard mode: a full ring drops events; the packet open meanwhile reports them. */
static void test_discard_full_ring(void **state)
{
	struct fx *f = fx_new(256, 2, false);
	struct sim_rb_stats st;
	struct pkt k;

	(void)state;
	/* 10 values fill both sub-buffers (packet 1 stays open); 3 more are dropped. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 13, 1), 10);
	st = stats(f, 0);
	assert_int_equal(st.events_discarded, 3);
	assert_int_equal(st.events_written, 10);
	assert_true(st.packet_open);
	assert_int_equal(sim_app_events_dropped(f->app), 3);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 0);
	assert_int_equal(k.discarded, 0);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	/* Room again: the open packet closes with the drops counted. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 1, 1), 1);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 1);
	assert_int_equal(k.discarded, 3);
	assert_int_equal(count_events(k.p, k.size, NULL), 5);
	assert_int_equal(stats(f, 0).packets_overwritten, 0);
	fx_free(f);
}

/* Overwrite mode: the writer laps the reader; lost packets show as seq gaps. */
static void test_overwrite_laps_reader(void **state)
{
	struct fx *f = fx_new(256, 2, true);
	struct sim_rb_stats st;
	struct pkt k;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 20, 1), 20);
	st = stats(f, 0);
	assert_int_equal(st.packets_overwritten, 2);
	assert_int_equal(st.events_lost, 10);
	assert_int_equal(st.bytes_overwritten, 512);
	assert_int_equal(st.events_discarded, 0);
	assert_int_equal(st.consumed, 512);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 2);                 /* 0 and 1 are gone */
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 3);
	assert_int_equal(k.discarded, 0);
	fx_free(f);
}

/* Overwrite mode never overwrites the sub-buffer the reader holds: events are dropped. */
static void test_overwrite_spares_held_subbuf(void **state)
{
	struct fx *f = fx_new(256, 2, true);
	uint8_t copy[256];
	struct pkt k;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 6, 1), 6);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_OK);
	k = held_pkt(f->s[0]);
	memcpy(copy, k.p, sizeof(copy));
	/* Packet 1 fills up, then the writer needs the held slot: 3 drops. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 7, 1), 4);
	assert_int_equal(stats(f, 0).events_discarded, 3);
	assert_int_equal(stats(f, 0).packets_overwritten, 0);
	assert_memory_equal(k.p, copy, sizeof(copy));
	assert_int_equal(rb_put_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 1, 1), 1);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 1);
	assert_int_equal(k.discarded, 3);
	assert_int_equal(stats(f, 0).packets_overwritten, 0);
	fx_free(f);
}

/* A sub-buffer with an uncommitted slot is never reused: the writer drops instead. */
static void test_writer_never_laps_uncommitted_slot(void **state)
{
	struct fx *f = fx_new(256, 2, true);
	struct sim_app_slot slot;

	(void)state;
	assert_int_equal(sim_app_reserve(f->app, 0, SIM_APP_CLASS_VALUE, &slot), 0);
	/* 4 more fill packet 0, 5 fill packet 1, then slot 0 is still pending. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 12, 1), 9);
	assert_int_equal(stats(f, 0).events_discarded, 3);
	assert_int_equal(stats(f, 0).packets_overwritten, 0);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	assert_int_equal(sim_app_commit(f->app, &slot), 0);
	assert_int_equal(sim_app_commit(f->app, &slot), -EINVAL);   /* not pending any more */
	assert_int_equal(read_next(f->s[0]).seq, 0);
	/* Discard mode with clear: consumed jumps past the pending slot, the writer still waits. */
	fx_free(f);
	f = fx_new(256, 2, false);
	assert_int_equal(sim_app_reserve(f->app, 0, SIM_APP_CLASS_VALUE, &slot), 0);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 5, 1), 5);
	assert_int_equal(rb_clear(f->s[0]), RB_OK);
	assert_int_equal(stats(f, 0).consumed, 256);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 5, 1), 4);
	assert_int_equal(stats(f, 0).events_discarded, 1);
	assert_int_equal(sim_app_commit(f->app, &slot), 0);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 1, 1), 1);
	fx_free(f);
}

/* ---- flush / clear / snapshot -------------------------------------------------- */

/* Active flush closes only an open packet; the final flush makes an empty one. */
static void test_flush_active_vs_final(void **state)
{
	struct fx *f = fx_new(4096, 2, false);
	struct pkt k;

	(void)state;
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(stats(f, 0).packets_delivered, 0);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	sim_world_advance(&f->w, 5);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, SIM_CTF_PACKET_HEADER_SIZE);
	assert_int_equal(k.content, 84 * 8);
	assert_int_equal(k.packet, 4096 * 8);
	assert_int_equal(k.begin, T0 + 5);
	assert_int_equal(k.end, T0 + 5);
	assert_int_equal(k.seq, 0);
	/* With a packet open, the final flush only closes it. */
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 2, 1), 2);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	k = read_next(f->s[0]);
	assert_int_equal(k.size, 112 + 24);
	assert_int_equal(k.seq, 1);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	fx_free(f);
}

/* Final flush on a full ring: discard counts nothing, overwrite loses the oldest packet. */
static void test_flush_final_full_ring(void **state)
{
	struct fx *f = fx_new(256, 2, false);
	struct sim_rb_stats st;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 10, 1), 10);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(stats(f, 0).packets_delivered, 2);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	st = stats(f, 0);
	assert_int_equal(st.packets_delivered, 2);
	assert_int_equal(st.events_discarded, 0);
	assert_int_equal(st.produced, 512);
	fx_free(f);

	f = fx_new(256, 2, true);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 10, 1), 10);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	st = stats(f, 0);
	assert_int_equal(st.packets_delivered, 3);
	assert_int_equal(st.packets_overwritten, 1);
	assert_int_equal(read_next(f->s[0]).seq, 1);
	assert_int_equal(read_next(f->s[0]).size, SIM_CTF_PACKET_HEADER_SIZE);
	fx_free(f);
}

/* Clear drops every complete unconsumed packet, not the open one; refused while held. */
static void test_clear(void **state)
{
	struct fx *f = fx_new(256, 4, false);

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 12, 1), 12);
	assert_int_equal(rb_clear(f->s[0]), RB_OK);
	assert_int_equal(stats(f, 0).consumed, 512);
	assert_int_equal(stats(f, 0).packets_cleared, 2);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_clear(f->s[0]), RB_ERROR);
	assert_int_equal(rb_put_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_clear(f->s[0]), RB_OK);              /* nothing left: no-op */
	assert_int_equal(stats(f, 0).packets_cleared, 2);
	assert_int_equal(stats(f, 0).consumed, 768);
	fx_free(f);
}

/* snapshot needs a complete sub-buffer; sample_positions samples raw positions. */
static void test_snapshot_positions(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	uint64_t prod = 99, cons = 99;

	(void)state;
	assert_int_equal(rb_snapshot(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_snapshot_produced(f->s[0], &prod), RB_OK);
	assert_int_equal(prod, 0);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 6, 1), 6);
	assert_int_equal(rb_snapshot(f->s[0]), RB_OK);
	assert_int_equal(rb_snapshot_produced(f->s[0], &prod), RB_OK);
	assert_int_equal(rb_snapshot_consumed(f->s[0], &cons), RB_OK);
	assert_int_equal(prod, 256);
	assert_int_equal(cons, 0);
	assert_int_equal(rb_snapshot_sample_positions(f->s[0]), RB_OK);
	assert_int_equal(rb_snapshot_produced(f->s[0], &prod), RB_OK);
	assert_int_equal(prod, 256 + 120);
	read_next(f->s[0]);
	/* No complete sub-buffer between consumed and produced: samples unchanged. */
	assert_int_equal(rb_snapshot(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_snapshot_produced(f->s[0], &prod), RB_OK);
	assert_int_equal(rb_snapshot_consumed(f->s[0], &cons), RB_OK);
	assert_int_equal(prod, 256 + 120);
	assert_int_equal(cons, 0);
	assert_int_equal(rb_snapshot_sample_positions(f->s[0]), RB_OK);
	assert_int_equal(rb_snapshot_consumed(f->s[0], &cons), RB_OK);
	assert_int_equal(cons, 256);
	assert_int_equal(rb_snapshot_produced(f->s[0], NULL), RB_ERROR);
	assert_int_equal(rb_snapshot_consumed(f->s[0], NULL), RB_ERROR);
	fx_free(f);
}

/* get_subbuf at positions: overwritten, live, mid-packet, open and future ones. */
static void test_get_subbuf_at_positions(void **state)
{
	struct fx *f = fx_new(256, 2, true);
	uint64_t seq;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 20, 1), 20);
	assert_int_equal(rb_get_subbuf(f->s[0], 0), RB_OVERWRITTEN);
	assert_int_equal(rb_get_subbuf(f->s[0], 256), RB_OVERWRITTEN);
	assert_int_equal(rb_get_subbuf(f->s[0], 512), RB_OK);
	assert_int_equal(rb_sequence_number(f->s[0], &seq), RB_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(rb_put_next_subbuf(f->s[0]), RB_ERROR);   /* not a get_next hold */
	assert_int_equal(rb_put_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_get_subbuf(f->s[0], 600), RB_OK);      /* floors to 512 */
	assert_int_equal(rb_sequence_number(f->s[0], &seq), RB_OK);
	assert_int_equal(seq, 2);
	assert_int_equal(rb_get_subbuf(f->s[0], 512), RB_ERROR);   /* already holding */
	assert_int_equal(rb_put_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_get_subbuf(f->s[0], 768), RB_OVERWRITTEN);   /* open packet */
	assert_int_equal(rb_get_subbuf(f->s[0], 1024), RB_OVERWRITTEN);  /* future */
	assert_int_equal(stats(f, 0).consumed, 512);                     /* untouched */
	assert_int_equal(stats(f, 0).gets, 2);
	assert_int_equal(stats(f, 0).puts, 2);
	fx_free(f);
}

/* ---- reader contract ----------------------------------------------------------- */

/* Misuse gives RB_ERROR; put_subbuf after get_next releases without consuming. */
static void test_get_put_misuse(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct rb_stream foreign = { .ops = NULL };
	uint64_t v;
	const void *p;

	(void)state;
	assert_int_equal(rb_put_next_subbuf(f->s[0]), RB_ERROR);
	assert_int_equal(rb_put_subbuf(f->s[0]), RB_ERROR);
	assert_int_equal(rb_subbuf_size(f->s[0], &v), RB_ERROR);
	assert_int_equal(rb_padded_subbuf_size(f->s[0], &v), RB_ERROR);
	assert_int_equal(rb_read_ptr(f->s[0], &p), RB_ERROR);
	assert_int_equal(rb_timestamp_begin(f->s[0], &v), RB_ERROR);
	assert_int_equal(rb_sequence_number(f->s[0], &v), RB_ERROR);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 7, 1), 7);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_ERROR);
	assert_int_equal(rb_get_subbuf(f->s[0], 0), RB_ERROR);
	assert_int_equal(rb_subbuf_size(f->s[0], NULL), RB_ERROR);
	assert_int_equal(rb_max_subbuf_size(f->s[0], NULL), RB_ERROR);
	assert_int_equal(rb_current_timestamp(f->s[0], NULL), RB_ERROR);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 1);
	assert_true(stats(f, 0).held);
	/* DATA_PENDING peeks with get_next + put_subbuf: nothing consumed. */
	assert_int_equal(rb_put_subbuf(f->s[0]), RB_OK);
	assert_int_equal(stats(f, 0).consumed, 0);
	assert_int_equal(read_next(f->s[0]).seq, 0);
	/* Objects of another adapter are refused, not dereferenced further. */
	assert_int_equal(sim_rb_ops.get_next_subbuf(&foreign), RB_ERROR);
	assert_int_equal(sim_rb_ops.stream_wait_fd(&foreign), -1);
	assert_int_equal(sim_rb_ops.channel_wait_fd(NULL), -1);
	assert_int_equal(sim_rb_stats(NULL, 0, NULL), -EINVAL);
	assert_int_equal(sim_rb_stats(f->chan, 2, NULL), -EINVAL);
	assert_false(sim_rb_stream_hung_up(f->chan, 5));
	fx_free(f);
}

/* The reader reads in order: an uncommitted slot blocks later packets until committed. */
static void test_reader_waits_for_uncommitted_slot(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct sim_app_slot slot;
	struct pkt k;
	char byte;

	(void)state;
	assert_int_equal(sim_app_reserve(f->app, 0, SIM_APP_CLASS_TICK, &slot), 0);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_VALUE, 10, 1), 10);
	/* Packet 0 closed but pending, packet 1 delivered, packet 2 open. */
	assert_int_equal(stats(f, 0).packets_delivered, 1);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_get_subbuf(f->s[0], 0), RB_OVERWRITTEN);   /* not complete */
	while (read(rb_stream_wait_fd(f->s[0]), &byte, 1) == 1)
		;
	assert_int_equal(sim_app_commit(f->app, &slot), 0);
	assert_true(poll_fd(rb_stream_wait_fd(f->s[0])) & POLLIN);
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 0);
	assert_int_equal(count_events(k.p, k.size, NULL), 5);   /* the tick and 4 values */
	k = read_next(f->s[0]);
	assert_int_equal(k.seq, 1);
	fx_free(f);
}

/* Each delivery writes exactly one byte to the stream pipe, none before. */
static void test_wakeup_byte_on_delivery(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	int wfd = rb_stream_wait_fd(f->s[0]);
	char buf[8];

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 6, 1), 6);
	assert_false(poll_fd(wfd) & POLLIN);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 1 + 7 + 1, 1), 9);
	assert_int_equal(read(wfd, buf, sizeof(buf)), 2);   /* two packets delivered */
	assert_int_equal(read(wfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	/* A consumer flush wakes through the consumer's own copy... */
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(read(wfd, buf, sizeof(buf)), 1);
	assert_int_equal(stats(f, 0).wakeups, 3);
	/* ...and silently once that copy is closed. */
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	assert_int_equal(stats(f, 0).packets_delivered, 4);
	assert_int_equal(stats(f, 0).wakeups, 3);
	assert_false(poll_fd(wfd) & POLLIN);
	fx_free(f);
}

/* Hang-up: POLLHUP once every copy of the wakeup fd is closed, and not before. */
static void test_hangup_needs_every_copy_closed(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	int leak;

	(void)state;
	assert_false(poll_fd(rb_stream_wait_fd(f->s[0])) & POLLHUP);
	sim_app_go_away(f->app);
	assert_false(sim_rb_stream_hung_up(f->chan, 0));           /* consumer copy left */
	assert_false(poll_fd(rb_channel_wait_fd(f->chan)) & POLLHUP);
	leak = dup(rb_stream_wakeup_fd(f->s[0]));                  /* a leaking consumer */
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);   /* idempotent */
	assert_int_equal(rb_stream_wakeup_fd(f->s[0]), -1);
	assert_false(poll_fd(rb_stream_wait_fd(f->s[0])) & POLLHUP);
	close(leak);
	assert_true(poll_fd(rb_stream_wait_fd(f->s[0])) & POLLHUP);
	assert_true(stats(f, 0).hung_up);
	assert_false(sim_rb_stream_hung_up(f->chan, 1));
	assert_int_equal(rb_channel_close_wakeup_fd(f->chan), RB_OK);
	assert_true(poll_fd(rb_channel_wait_fd(f->chan)) & POLLHUP);
	assert_true(sim_rb_channel_hung_up(f->chan));
	/* The probe survives the consumer closing its wait fd. */
	assert_int_equal(rb_stream_close_wait_fd(f->s[0]), RB_OK);
	assert_int_equal(rb_stream_close_wait_fd(f->s[0]), RB_OK);
	assert_int_equal(rb_stream_wait_fd(f->s[0]), -1);
	assert_true(sim_rb_stream_hung_up(f->chan, 0));
	assert_int_equal(rb_channel_close_wait_fd(f->chan), RB_OK);
	assert_int_equal(rb_channel_close_wait_fd(f->chan), RB_OK);
	assert_int_equal(rb_channel_wait_fd(f->chan), -1);
	assert_int_equal(rb_channel_wakeup_fd(f->chan), -1);
	fx_free(f);
}

/* Finalized = writers gone and nothing a final flush could still deliver. */
static void test_finalized_after_writers_gone(void **state)
{
	struct fx *f = fx_new(256, 4, false);

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 8, 1), 8);
	sim_app_go_away(f->app);
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);
	read_next(f->s[0]);
	/* An open packet with data: readable after the hang-up flush, not finalized yet. */
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_NO_DATA);
	assert_int_equal(rb_flush(f->s[0], false), RB_OK);
	assert_int_equal(count_events(read_next(f->s[0]).p, 112, NULL), 1);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_FINALIZED);
	/* CPU 1: writers gone but the consumer still holds its copy: just no data. */
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_NO_DATA);
	fx_free(f);
}

/* ---- metadata ------------------------------------------------------------------- */

/* write_metadata_packet fills one sub-buffer per call, RB_FULL when none is free. */
static void test_metadata_write_packet(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct rb_channel_attr a = data_attr(256, 2, false);
	struct rb_channel *m = NULL;
	struct rb_stream *ms = NULL;
	char tsdl[600];
	const uint8_t *p;
	const void *vp;
	uint64_t v;
	uint32_t u;

	(void)state;
	for (size_t i = 0; i < sizeof(tsdl); i++)
		tsdl[i] = (char)('a' + i % 26);
	a.type = RB_CHAN_METADATA;
	a.chan_id = UINT32_MAX;
	assert_int_equal(rb_channel_create(&f->rb, &a, &m), RB_OK);
	assert_int_equal(rb_stream_create(m, 0, &ms), RB_OK);
	assert_int_equal(rb_write_metadata_packet(m, tsdl, sizeof(tsdl)), 256 - 37);
	assert_int_equal(rb_flush(ms, true), RB_OK);                 /* harmless */
	assert_int_equal(rb_write_metadata_packet(m, tsdl + 219, 10), 10);
	assert_int_equal(rb_write_metadata_packet(m, tsdl, 5), -RB_FULL);
	assert_int_equal(rb_write_metadata_packet(f->chan, tsdl, 5), -RB_ERROR);
	assert_int_equal(rb_write_metadata_packet(m, tsdl, 0), -RB_ERROR);
	assert_true(poll_fd(rb_stream_wait_fd(ms)) & POLLIN);
	assert_int_equal(rb_get_next_subbuf(ms), RB_OK);
	assert_int_equal(rb_subbuf_size(ms, &v), RB_OK);
	assert_int_equal(v, 256);
	assert_int_equal(rb_padded_subbuf_size(ms, &v), RB_OK);
	assert_int_equal(v, 256);
	assert_int_equal(rb_read_ptr(ms, &vp), RB_OK);
	p = vp;
	memcpy(&u, p, 4);
	assert_int_equal(u, SIM_CTF_METADATA_MAGIC);
	assert_memory_equal(p + 4, a.uuid, 16);
	memcpy(&u, p + 24, 4);
	assert_int_equal(u, 256 * 8);
	memcpy(&u, p + 28, 4);
	assert_int_equal(u, 256 * 8);
	assert_memory_equal(p + 37, tsdl, 219);
	/* Metadata packets have no data packet context. */
	assert_int_equal(rb_timestamp_begin(ms, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_sequence_number(ms, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_content_size(ms, &v), RB_UNSUPPORTED);
	assert_int_equal(rb_put_next_subbuf(ms), RB_OK);
	assert_int_equal(rb_get_next_subbuf(ms), RB_OK);
	assert_int_equal(rb_subbuf_size(ms, &v), RB_OK);
	assert_int_equal(v, 37 + 10);
	assert_int_equal(rb_read_ptr(ms, &vp), RB_OK);
	memcpy(&u, (const uint8_t *)vp + 24, 4);
	assert_int_equal(u, 47 * 8);
	memcpy(&u, (const uint8_t *)vp + 28, 4);
	assert_int_equal(u, 256 * 8);
	assert_int_equal(rb_put_next_subbuf(ms), RB_OK);
	/* Final flush of an idle metadata ring: an empty metadata packet. */
	assert_int_equal(rb_flush(ms, false), RB_OK);
	assert_int_equal(rb_get_next_subbuf(ms), RB_OK);
	assert_int_equal(rb_subbuf_size(ms, &v), RB_OK);
	assert_int_equal(v, 37);
	assert_int_equal(rb_put_next_subbuf(ms), RB_OK);
	/* Apps do not write events into metadata channels. */
	struct sim_rb_slot slot;

	assert_int_equal(sim_rb_reserve(m, 0, 1, -1, &slot), -EINVAL);
	rb_stream_destroy(ms);
	rb_channel_destroy(m);
	fx_free(f);
}

/* ---- fault injection --------------------------------------------------------------- */

/* Everything a failed op could have changed, for a before/after comparison. */
struct observed {
	struct sim_rb_stats st[2];
	struct sim_rb_stats meta;
	uint8_t buf[2][1024];
	uint8_t mbuf[512];
	uint64_t snap_prod, snap_cons, outstanding;
	int fds;
	int fd_flags[6];
};

struct fault_fx {
	struct fx *f;
	struct rb_channel *m;
	struct rb_stream *ms;
	int sock[2];
	struct rb_channel *created;
	struct rb_stream *created_stream;
};

static void observe(struct fault_fx *x, struct observed *o)
{
	const void *mem;
	size_t len;
	int fds[6] = {
		rb_stream_wait_fd(x->f->s[0]), rb_stream_wakeup_fd(x->f->s[0]),
		rb_channel_wait_fd(x->f->chan), rb_channel_wakeup_fd(x->f->chan),
		rb_stream_wait_fd(x->ms), rb_stream_wakeup_fd(x->ms),
	};

	memset(o, 0, sizeof(*o));
	for (int c = 0; c < 2; c++) {
		assert_int_equal(sim_rb_stats(x->f->chan, c, &o->st[c]), 0);
		assert_int_equal(sim_rb_buffer(x->f->chan, c, &mem, &len), 0);
		assert_int_equal(len, sizeof(o->buf[c]));
		memcpy(o->buf[c], mem, len);
	}
	assert_int_equal(sim_rb_stats(x->m, 0, &o->meta), 0);
	assert_int_equal(sim_rb_buffer(x->m, 0, &mem, &len), 0);
	memcpy(o->mbuf, mem, len);
	o->outstanding = sim_rb_outstanding_gets(&x->f->rb);
	o->fds = test_open_fd_count();
	for (int i = 0; i < 6; i++)
		o->fd_flags[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_GETFD);
}

static void assert_same(const struct observed *a, const struct observed *b)
{
	for (int c = 0; c < 2; c++) {
		assert_memory_equal(&a->st[c], &b->st[c], offsetof(struct sim_rb_stats, held));
		assert_int_equal(a->st[c].held, b->st[c].held);
		assert_int_equal(a->st[c].packet_open, b->st[c].packet_open);
		assert_int_equal(a->st[c].hung_up, b->st[c].hung_up);
	}
	assert_memory_equal(&a->meta, &b->meta, offsetof(struct sim_rb_stats, held));
	assert_memory_equal(a->buf, b->buf, sizeof(a->buf));
	assert_memory_equal(a->mbuf, b->mbuf, sizeof(a->mbuf));
	assert_int_equal(a->outstanding, b->outstanding);
	assert_int_equal(a->fds, b->fds);
	assert_memory_equal(a->fd_flags, b->fd_flags, sizeof(a->fd_flags));
}

/*
 * A state where every op succeeds: stream 0 has a delivered packet and an
 * open one, a sample taken; metadata ring has one free sub-buffer; stream 1's
 * handle is destroyed (so stream_create(1) can succeed); ops needing a held
 * sub-buffer get it first.
 */
static struct fault_fx *fault_fx_new(enum sim_op op)
{
	struct fault_fx *x = calloc(1, sizeof(*x));
	struct rb_channel_attr a = data_attr(256, 2, false);

	assert_non_null(x);
	x->f = fx_new(256, 4, false);
	a.type = RB_CHAN_METADATA;
	assert_int_equal(rb_channel_create(&x->f->rb, &a, &x->m), RB_OK);
	assert_int_equal(rb_stream_create(x->m, 0, &x->ms), RB_OK);
	assert_int_equal(rb_write_metadata_packet(x->m, "abc", 3), 3);
	assert_int_equal(sim_app_write(x->f->app, 0, SIM_APP_CLASS_VALUE, 6, 1), 6);
	assert_int_equal(rb_snapshot_sample_positions(x->f->s[0]), RB_OK);
	rb_stream_destroy(x->f->s[1]);
	x->f->s[1] = NULL;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x->sock), 0);
	switch (op) {
	case SIM_OP_PUT_NEXT_SUBBUF:
	case SIM_OP_SUBBUF_SIZE:
	case SIM_OP_PADDED_SUBBUF_SIZE:
	case SIM_OP_READ_PTR:
	case SIM_OP_TIMESTAMP_BEGIN:
	case SIM_OP_TIMESTAMP_END:
	case SIM_OP_EVENTS_DISCARDED:
	case SIM_OP_CONTENT_SIZE:
	case SIM_OP_PACKET_SIZE:
	case SIM_OP_SEQUENCE_NUMBER:
	case SIM_OP_STREAM_ID:
	case SIM_OP_INSTANCE_ID:
	case SIM_OP_PUT_SUBBUF:
		assert_int_equal(rb_get_next_subbuf(x->f->s[0]), RB_OK);
		break;
	default:
		break;
	}
	return x;
}

static void fault_fx_free(struct fault_fx *x)
{
	char sink[4096];

	if (x->created_stream)
		rb_stream_destroy(x->created_stream);
	if (x->created)
		rb_channel_destroy(x->created);
	if (stats(x->f, 0).held)
		assert_int_equal(rb_put_subbuf(x->f->s[0]), RB_OK);
	/* Drain fds a send passed, so they are closed with the socket. */
	while (recv(x->sock[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	close(x->sock[0]);
	close(x->sock[1]);
	rb_stream_destroy(x->ms);
	rb_channel_destroy(x->m);
	fx_free(x->f);
	free(x);
}

/* Call op once in the fault fixture; returns its status (negated for metadata writes). */
static int call_op(struct fault_fx *x, enum sim_op op)
{
	struct rb_stream *s = x->f->s[0];
	struct rb_channel_attr a = data_attr(256, 2, false);
	uint64_t v;
	const void *p;

	switch (op) {
	case SIM_OP_CHANNEL_CREATE:
		return rb_channel_create(&x->f->rb, &a, &x->created);
	case SIM_OP_STREAM_CREATE:
		return rb_stream_create(x->f->chan, 1, &x->created_stream);
	case SIM_OP_CHANNEL_CLOSE_WAIT_FD: return rb_channel_close_wait_fd(x->f->chan);
	case SIM_OP_CHANNEL_CLOSE_WAKEUP_FD: return rb_channel_close_wakeup_fd(x->f->chan);
	case SIM_OP_STREAM_CLOSE_WAIT_FD: return rb_stream_close_wait_fd(s);
	case SIM_OP_STREAM_CLOSE_WAKEUP_FD: return rb_stream_close_wakeup_fd(s);
	case SIM_OP_GET_NEXT_SUBBUF: return rb_get_next_subbuf(s);
	case SIM_OP_PUT_NEXT_SUBBUF: return rb_put_next_subbuf(s);
	case SIM_OP_GET_SUBBUF: return rb_get_subbuf(s, 0);
	case SIM_OP_PUT_SUBBUF: return rb_put_subbuf(s);
	case SIM_OP_MAX_SUBBUF_SIZE: return rb_max_subbuf_size(s, &v);
	case SIM_OP_SUBBUF_SIZE: return rb_subbuf_size(s, &v);
	case SIM_OP_PADDED_SUBBUF_SIZE: return rb_padded_subbuf_size(s, &v);
	case SIM_OP_READ_PTR: return rb_read_ptr(s, &p);
	case SIM_OP_FLUSH: return rb_flush(s, false);
	case SIM_OP_CLEAR: return rb_clear(s);
	case SIM_OP_SNAPSHOT: return rb_snapshot(s);
	case SIM_OP_SNAPSHOT_SAMPLE_POSITIONS: return rb_snapshot_sample_positions(s);
	case SIM_OP_SNAPSHOT_PRODUCED: return rb_snapshot_produced(s, &v);
	case SIM_OP_SNAPSHOT_CONSUMED: return rb_snapshot_consumed(s, &v);
	case SIM_OP_TIMESTAMP_BEGIN: return rb_timestamp_begin(s, &v);
	case SIM_OP_TIMESTAMP_END: return rb_timestamp_end(s, &v);
	case SIM_OP_EVENTS_DISCARDED: return rb_events_discarded(s, &v);
	case SIM_OP_CONTENT_SIZE: return rb_content_size(s, &v);
	case SIM_OP_PACKET_SIZE: return rb_packet_size(s, &v);
	case SIM_OP_SEQUENCE_NUMBER: return rb_sequence_number(s, &v);
	case SIM_OP_STREAM_ID: return rb_stream_id(s, &v);
	case SIM_OP_INSTANCE_ID: return rb_instance_id(s, &v);
	case SIM_OP_CURRENT_TIMESTAMP: return rb_current_timestamp(s, &v);
	case SIM_OP_WRITE_METADATA_PACKET: {
		ssize_t n = rb_write_metadata_packet(x->m, "xyz", 3);

		return n > 0 ? RB_OK : (int)-n;
	}
	case SIM_OP_SEND_CHANNEL: return rb_send_channel(x->f->chan, x->sock[0]);
	case SIM_OP_SEND_STREAM: return rb_send_stream(x->f->chan, s, x->sock[0]);
	default:
		break;
	}
	fail_msg("not a ring-buffer op: %d", (int)op);
	return -1;
}

/* Nothing arrived on the peer socket. */
static void assert_socket_empty(struct fault_fx *x)
{
	char c;

	assert_int_equal(recv(x->sock[1], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* Transient fault on each op: fails once with the armed status and no effect, then works. */
static void test_fault_each_op_transient(void **state)
{
	(void)state;
	for (int op = 0; sim_op_kind(op) == SIM_KIND_RB; op++) {
		struct fault_fx *x = NULL;
		struct rb_channel *c0 = NULL;

		/* A destroy returns nothing: its one fault (STUCK) has its own test. */
		if (op == SIM_OP_CHANNEL_DESTROY)
			continue;
		x = fault_fx_new(op);
		c0 = x->created;
		struct observed before, after;

		observe(x, &before);
		sim_fault_arm(&x->f->w.faults, &(struct sim_fault){
			.op = op, .nth = 1, .err = RB_IO });
		if (call_op(x, op) != RB_IO)
			fail_msg("op %s did not fail", sim_op_name(op));
		observe(x, &after);
		assert_same(&before, &after);
		assert_ptr_equal(x->created, c0);
		assert_null(x->created_stream);
		assert_socket_empty(x);
		if (call_op(x, op) != RB_OK)
			fail_msg("op %s did not recover", sim_op_name(op));
		assert_int_equal(x->f->w.faults.op[op].fired, 1);
		assert_int_equal(sim_fault_fired(&x->f->w.faults, SIM_KIND_RB), 1);
		fault_fx_free(x);
	}
}

/* Persistent fault on each op: keeps failing, without effect, until disarmed. */
static void test_fault_each_op_persistent(void **state)
{
	(void)state;
	for (int op = 0; sim_op_kind(op) == SIM_KIND_RB; op++) {
		struct fault_fx *x = NULL;
		struct observed before, after;

		if (op == SIM_OP_CHANNEL_DESTROY)
			continue;   /* see test_fault_each_op_transient */
		x = fault_fx_new(op);
		observe(x, &before);
		sim_fault_arm(&x->f->w.faults, &(struct sim_fault){
			.op = op, .nth = 1, .every = 1, .err = RB_NOMEM });
		for (int i = 0; i < 3; i++)
			if (call_op(x, op) != RB_NOMEM)
				fail_msg("op %s call %d did not fail", sim_op_name(op), i);
		observe(x, &after);
		assert_same(&before, &after);
		assert_socket_empty(x);
		assert_int_equal(x->f->w.faults.op[op].fired, 3);
		sim_fault_disarm(&x->f->w.faults, op);
		if (call_op(x, op) != RB_OK)
			fail_msg("op %s did not recover", sim_op_name(op));
		fault_fx_free(x);
	}
}

/* ---- handing objects to the session daemon ------------------------------------------ */

/* Receive exactly len bytes. */
static void recv_exact(int sock, void *buf, size_t len)
{
	assert_int_equal(recv(sock, buf, len, MSG_WAITALL), (ssize_t)len);
}

/* Receive the 1-byte message and its fds; returns how many fds came. */
static int recv_fds(int sock, int *fds, int max)
{
	char byte = 1;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int n;

	assert_int_equal(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC), 1);
	assert_int_equal(byte, 0);
	cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_level, SOL_SOCKET);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	assert_true(n <= max);
	memcpy(fds, CMSG_DATA(cm), (size_t)n * sizeof(int));
	return n;
}

/* send_channel / send_stream emit liblttng-ust-ctl's shapes, with working fds. */
static void test_send_channel_and_streams(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct sim_rb_chan_obj obj;
	uint8_t bytes[SIM_RB_CHAN_OBJ_SIZE];
	uint64_t u64;
	int32_t type;
	uint32_t cpu;
	int sv[2], fds[4];
	char path[64], target[128];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rb_send_channel(f->chan, sv[0]), RB_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(rb_send_stream(f->chan, f->s[i], sv[0]), RB_OK);
	assert_int_equal(rb_send_stream(f->chan, NULL, sv[0]), RB_OK);

	recv_exact(sv[1], &u64, 8);
	assert_int_equal(u64, SIM_RB_CHAN_OBJ_SIZE);
	recv_exact(sv[1], &type, 4);
	assert_int_equal(type, RB_CHAN_PER_CPU);
	recv_exact(sv[1], bytes, sizeof(bytes));
	assert_memory_equal(bytes, "CMIS", 4);       /* magic, little endian */
	assert_int_equal(sim_rb_chan_obj_decode(bytes, sizeof(bytes), &obj), 0);
	assert_int_equal(obj.subbuf_size, 256);
	assert_int_equal(obj.num_subbuf, 4);
	assert_int_equal(obj.chan_id, 7);
	assert_int_equal(obj.nr_streams, 2);
	assert_int_equal(obj.uuid[3], 0xa3);
	assert_ptr_equal(sim_rb_channel_lookup(&f->rb, obj.sim_id), f->chan);
	assert_int_equal(recv_fds(sv[1], fds, 4), 1);
	/* It is a copy of the channel pipe's write end. */
	assert_true(sim_rb_same_pipe(f->chan, -1, fds[0]));
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_true(poll_fd(rb_channel_wait_fd(f->chan)) & POLLIN);
	close(fds[0]);
	for (int i = 0; i < 2; i++) {
		recv_exact(sv[1], &u64, 8);
		assert_int_equal(u64, 1024);
		recv_exact(sv[1], &cpu, 4);
		assert_int_equal(cpu, (uint32_t)i);
		assert_int_equal(recv_fds(sv[1], fds, 4), 2);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
		memset(target, 0, sizeof(target));
		assert_true(readlink(path, target, sizeof(target) - 1) > 0);
		assert_non_null(strstr(target, "memfd:"));
		assert_true(sim_rb_same_pipe(f->chan, i, fds[1]));
		assert_false(sim_rb_same_pipe(f->chan, 1 - i, fds[1]));
		assert_false(poll_fd(rb_stream_wait_fd(f->s[i])) & POLLIN);
		assert_int_equal(write(fds[1], "x", 1), 1);
		assert_true(poll_fd(rb_stream_wait_fd(f->s[i])) & POLLIN);
		close(fds[0]);
		close(fds[1]);
	}
	recv_exact(sv[1], &u64, 8);
	assert_int_equal(u64, UINT64_MAX);
	close(sv[0]);
	close(sv[1]);
	fx_free(f);
}

/*
 * close_shm_fds closes the consumer's shm copies, one per buffer, and only
 * those: the streams keep their wait fds and stay readable, a stream can no
 * longer be sent (its shm fd is gone), a second call is a no-op.
 */
static void test_close_shm_fds(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	int before, sv[2];

	(void)state;
	before = test_open_fd_count();
	assert_int_equal(rb_channel_close_shm_fds(f->chan), RB_OK);
	assert_int_equal(test_open_fd_count(), before - 2);
	assert_int_equal(rb_channel_close_shm_fds(f->chan), RB_OK);
	assert_int_equal(test_open_fd_count(), before - 2);
	for (int i = 0; i < 2; i++) {
		assert_true(rb_stream_wait_fd(f->s[i]) >= 0);
		assert_int_equal(rb_get_next_subbuf(f->s[i]), RB_NO_DATA);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rb_send_channel(f->chan, sv[0]), RB_OK);
	assert_int_equal(rb_send_stream(f->chan, f->s[0], sv[0]), RB_ERROR);
	close(sv[0]);
	close(sv[1]);
	fx_free(f);
}

/* Socket errors map to RB_IO (and raise no SIGPIPE); closed fds or wrong streams to RB_ERROR. */
static void test_send_errors(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct rb_channel *other = NULL;
	struct rb_stream *os = NULL;
	struct rb_channel_attr a = data_attr(256, 2, false);
	int sv[2];

	(void)state;
	assert_int_equal(rb_channel_create(&f->rb, &a, &other), RB_OK);
	assert_int_equal(rb_stream_create(other, 0, &os), RB_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rb_send_stream(f->chan, os, sv[0]), RB_ERROR);
	close(sv[1]);
	assert_int_equal(rb_send_channel(f->chan, sv[0]), RB_IO);
	assert_int_equal(rb_send_stream(f->chan, f->s[0], sv[0]), RB_IO);
	assert_int_equal(rb_send_stream(f->chan, NULL, sv[0]), RB_IO);
	assert_int_equal(rb_send_channel(f->chan, -1), RB_IO);
	close(sv[0]);
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);
	assert_int_equal(rb_send_stream(f->chan, f->s[0], -1), RB_ERROR);
	assert_int_equal(rb_channel_close_wakeup_fd(f->chan), RB_OK);
	assert_int_equal(rb_send_channel(f->chan, -1), RB_ERROR);
	/* Decoding rejects other objects. */
	struct sim_rb_chan_obj obj;
	uint8_t bytes[SIM_RB_CHAN_OBJ_SIZE] = { 0 };

	assert_int_equal(sim_rb_chan_obj_decode(bytes, sizeof(bytes), &obj), -EPROTO);
	assert_int_equal(sim_rb_chan_obj_decode(bytes, 12, &obj), -EPROTO);
	rb_stream_destroy(os);
	rb_channel_destroy(other);
	fx_free(f);
}

/* ---- lifetime, determinism ----------------------------------------------------------- */

/* Destroying the channel before its streams is survivable: freed with the last stream. */
static void test_destroy_channel_before_stream(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	uint64_t v;

	(void)state;
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 7, 1), 7);
	sim_app_destroy(f->app);
	f->app = NULL;
	rb_channel_destroy(f->chan);
	rb_channel_destroy(f->chan);                 /* logged, ignored */
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_sequence_number(f->s[0], &v), RB_OK);
	assert_int_equal(rb_put_next_subbuf(f->s[0]), RB_OK);
	assert_int_equal(rb_stream_create(f->chan, 0, &f->s[0]), RB_ERROR);
	rb_stream_destroy(f->s[0]);
	rb_stream_destroy(f->s[1]);
	f->nr = 0;
	f->chan = NULL;
	fx_free(f);
}

/*
 * Issue 11: a destroy stuck in the library abandons the channel as the
 * production reaper does: returns at once, the channel pipes and shm fds
 * closed, counted once, never freed twice (a second destroy is refused and
 * not counted), the leak released by fini (the process exit).  A destroy can
 * only get stuck: no other status can be armed for it.
 */
static void test_destroy_stuck_abandons(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct rb_channel *c = f->chan;
	struct sim_faults *t = &f->w.faults;

	(void)state;
	assert_int_equal(sim_fault_arm(t, &(struct sim_fault){
		.op = SIM_OP_CHANNEL_DESTROY, .nth = 1, .err = RB_ERROR }), -EINVAL);
	assert_int_equal(sim_fault_arm(t, &(struct sim_fault){
		.op = SIM_OP_CHANNEL_DESTROY, .nth = 1, .err = SIM_FAULT_STUCK }), 0);
	assert_int_equal(sim_app_write(f->app, 0, SIM_APP_CLASS_TICK, 7, 1), 7);
	sim_app_destroy(f->app);
	f->app = NULL;
	for (int i = 0; i < f->nr; i++)
		rb_stream_destroy(f->s[i]);
	f->nr = 0;
	assert_int_equal(sim_rb_abandoned_channels(&f->rb), 0);
	rb_channel_destroy(c);
	assert_int_equal(sim_rb_abandoned_channels(&f->rb), 1);
	assert_int_equal(t->op[SIM_OP_CHANNEL_DESTROY].fired, 1);
	/* The leak stands for the library's channel: memory kept, its pipes closed. */
	assert_int_equal(rb_channel_wait_fd(c), -1);
	assert_int_equal(rb_channel_wakeup_fd(c), -1);
	rb_channel_destroy(c);                          /* logged, ignored */
	assert_int_equal(sim_rb_abandoned_channels(&f->rb), 1);
	assert_int_equal(t->op[SIM_OP_CHANNEL_DESTROY].calls, 1);
	f->chan = NULL;
	fx_free(f);                                     /* fini: no channel left, no fd */
}

/* fini with channels alive reports them; the last one frees the context. */
static void test_fini_with_live_channel(void **state)
{
	struct sim_world w;
	struct rb rb;
	struct rb_channel *c = NULL;
	struct rb_stream *s = NULL;
	struct rb_channel_attr a = data_attr(256, 2, false);

	(void)state;
	assert_int_equal(sim_world_init(&w, 1, 1, 1, 0), 0);
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	assert_int_equal(rb_channel_create(&rb, &a, &c), RB_OK);
	assert_int_equal(rb_stream_create(c, 0, &s), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_NO_DATA);
	assert_int_equal(sim_rb_fini(&rb), 1);
	assert_null(rb.ops);
	rb_channel_destroy(c);
	/* Destroyed while holding: released, but the get stays unmatched. */
	assert_int_equal(rb_flush(s, false), RB_OK);
	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	rb_stream_destroy(s);
}

/* Run a fixed script of writes, drops, flushes and reads; return the fixture. */
static struct fx *scripted_run(uint64_t seed)
{
	struct fx *f = fx_new_seed(seed, 2, 256, 4, false);

	for (int round = 0; round < 5; round++) {
		assert_true(sim_app_write(f->app, round & 1, SIM_APP_CLASS_VALUE, 9, 3) >= 0);
		assert_true(sim_app_write(f->app, 0, SIM_APP_CLASS_QUAD, 4, 7) >= 0);
		assert_int_equal(rb_flush(f->s[1], round == 4), RB_OK);
		if (round == 2)
			read_next(f->s[0]);
	}
	return f;
}

/* Same seed, same actions: byte-identical buffers and counters; another seed differs. */
static void test_determinism(void **state)
{
	struct fx *a = scripted_run(7), *b = scripted_run(7), *c = scripted_run(8);
	const void *ma, *mb, *mc;
	size_t la, lb, lc;

	(void)state;
	for (int cpu = 0; cpu < 2; cpu++) {
		struct sim_rb_stats sa = stats(a, cpu), sb = stats(b, cpu);

		assert_int_equal(sim_rb_buffer(a->chan, cpu, &ma, &la), 0);
		assert_int_equal(sim_rb_buffer(b->chan, cpu, &mb, &lb), 0);
		assert_int_equal(sim_rb_buffer(c->chan, cpu, &mc, &lc), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(ma, mb, la);
		assert_memory_equal(&sa, &sb, offsetof(struct sim_rb_stats, held));
		assert_true(sa.events_written > 0);
		if (cpu == 0) {
			assert_true(sa.events_discarded > 0);
			/* sim:value carries random payloads: another seed, other bytes. */
			assert_memory_not_equal(ma, mc, la);
		}
	}
	/* Reverse order: each fixture's fd baseline includes the older ones. */
	fx_free(c);
	fx_free(b);
	fx_free(a);
}

/* Running out of fds at any point of channel_create fails cleanly (RB_NOMEM, no leak). */
static void test_channel_create_fd_exhaustion(void **state)
{
	struct sim_world w;
	struct rb rb;
	struct rb_channel *c = NULL;
	struct rb_channel_attr a = data_attr(256, 2, false);
	struct rlimit old, lim;
	int start = test_open_fd_count(), failures = 0, top = dup(0);
	enum rb_status st;

	(void)state;
	assert_true(top >= 0);
	close(top);
	assert_int_equal(sim_world_init(&w, 1, 2, 2, 0), 0);
	assert_int_equal(sim_rb_init(&rb, &w), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Allow 0, 1, 2, ... more fds until the 11 a 2-stream channel needs fit. */
	for (int extra = 0; extra < 64; extra++) {
		lim = old;
		lim.rlim_cur = (rlim_t)(top + extra);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
		st = rb_channel_create(&rb, &a, &c);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		if (st == RB_OK)
			break;
		assert_int_equal(st, RB_NOMEM);
		assert_int_equal(test_open_fd_count(), start);
		failures++;
	}
	assert_true(failures >= 11);   /* one per fd the channel needs, at least */
	assert_non_null(c);
	rb_channel_destroy(c);
	assert_int_equal(test_open_fd_count(), start);
	assert_int_equal(sim_rb_fini(&rb), 0);
}

/* NULL and foreign handles are refused everywhere; scribbled packets read as errors. */
static void test_foreign_and_null_handles(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	struct rb_channel fc = { .ops = NULL };
	struct rb_stream fs = { .ops = NULL };
	struct rb bad = { .ops = NULL, .ctx = NULL };
	struct rb_channel *c = NULL;
	struct rb_channel_attr a = data_attr(256, 2, false);
	struct sim_rb_slot slot;
	uint64_t v;
	const void *p;
	int ro;

	(void)state;
	assert_int_equal(sim_rb_ops.channel_create(&bad, &a, &c), RB_ERROR);
	assert_int_equal(sim_rb_ops.nr_streams_per_channel(&bad), -1);
	assert_int_equal(sim_rb_outstanding_gets(&bad), 0);
	assert_int_equal(sim_rb_outstanding_gets(NULL), 0);
	assert_null(sim_rb_channel_lookup(&bad, 0));
	assert_int_equal(sim_rb_fini(NULL), 0);
	assert_int_equal(sim_rb_ops.stream_create(&fc, 0, NULL), RB_ERROR);
	assert_int_equal(sim_rb_ops.channel_close_wait_fd(&fc), RB_ERROR);
	assert_int_equal(sim_rb_ops.stream_close_wait_fd(&fs), RB_ERROR);
	assert_int_equal(sim_rb_ops.channel_wakeup_fd(&fc), -1);
	assert_int_equal(sim_rb_ops.stream_wakeup_fd(&fs), -1);
	assert_int_equal(sim_rb_ops.send_channel(&fc, 0), RB_ERROR);
	assert_int_equal(sim_rb_ops.send_stream(&fc, NULL, 0), RB_ERROR);
	assert_int_equal(sim_rb_ops.write_metadata_packet(&fc, "x", 1), -RB_ERROR);
	assert_int_equal(sim_rb_ops.flush(&fs, true), RB_ERROR);
	assert_int_equal(sim_rb_reserve(&fc, 0, 1, -1, &slot), -EINVAL);
	assert_int_equal(sim_rb_commit(&fc, &slot, 0, &v, -1), -EINVAL);
	assert_int_equal(sim_rb_channel_nr_streams(&fc), -EINVAL);
	assert_int_equal(sim_rb_channel_attr(&fc, &a), -EINVAL);
	assert_int_equal(sim_rb_buffer(f->chan, 0, NULL, NULL), -EINVAL);
	assert_false(sim_rb_channel_hung_up(&fc));
	assert_false(sim_rb_same_pipe(&fc, 0, 0));
	assert_false(sim_rb_same_pipe(f->chan, 0, -1));
	assert_int_equal(sim_rb_consumer_wakeup_fd(&fc, 0), -1);
	sim_rb_ops.channel_destroy(&fc);
	sim_rb_ops.stream_destroy(&fs);
	sim_rb_channel_ref(&fc);
	sim_rb_channel_unref(&fc);
	assert_int_equal(rb_stream_create(f->chan, 0, NULL), RB_ERROR);
	/* A wakeup fd that cannot be written is logged and not counted. */
	ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(sim_rb_reserve(f->chan, 1, 1, ro, &slot), 0);
		assert_int_equal(sim_rb_commit(f->chan, &slot, 0, &v, ro), 0);
	}
	close(ro);
	assert_int_equal(stats(f, 1).packets_delivered, 1);
	assert_int_equal(stats(f, 1).wakeups, 0);
	/* The accessors read the packet bytes: scribbled bytes are not a packet. */
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_OK);
	assert_int_equal(rb_read_ptr(f->s[1], &p), RB_OK);
	memset((void *)p, 0, 4);
	assert_int_equal(rb_timestamp_end(f->s[1], &v), RB_ERROR);
	assert_int_equal(rb_put_next_subbuf(f->s[1]), RB_OK);
	fx_free(f);
}

/* The clock accessor reads the world clock. */
static void test_current_timestamp(void **state)
{
	struct fx *f = fx_new(256, 4, false);
	uint64_t v;

	(void)state;
	sim_world_advance(&f->w, 123);
	assert_int_equal(rb_current_timestamp(f->s[0], &v), RB_OK);
	assert_int_equal(v, T0 + 123);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_table_and_init),
		cmocka_unit_test(test_channel_create_rejects_bad_attr),
		cmocka_unit_test(test_channel_owns_stream_fds),
		cmocka_unit_test(test_stream_create_stops_at_nr_possible),
		cmocka_unit_test(test_first_event_opens_packet),
		cmocka_unit_test(test_padding_and_packet_sizes),
		cmocka_unit_test(test_switch_when_event_does_not_fit),
		cmocka_unit_test(test_discard_full_ring),
		cmocka_unit_test(test_overwrite_laps_reader),
		cmocka_unit_test(test_overwrite_spares_held_subbuf),
		cmocka_unit_test(test_writer_never_laps_uncommitted_slot),
		cmocka_unit_test(test_flush_active_vs_final),
		cmocka_unit_test(test_flush_final_full_ring),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_snapshot_positions),
		cmocka_unit_test(test_get_subbuf_at_positions),
		cmocka_unit_test(test_get_put_misuse),
		cmocka_unit_test(test_reader_waits_for_uncommitted_slot),
		cmocka_unit_test(test_wakeup_byte_on_delivery),
		cmocka_unit_test(test_hangup_needs_every_copy_closed),
		cmocka_unit_test(test_finalized_after_writers_gone),
		cmocka_unit_test(test_metadata_write_packet),
		cmocka_unit_test(test_fault_each_op_transient),
		cmocka_unit_test(test_fault_each_op_persistent),
		cmocka_unit_test(test_send_channel_and_streams),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_close_shm_fds),
		cmocka_unit_test(test_destroy_channel_before_stream),
		cmocka_unit_test(test_destroy_stuck_abandons),
		cmocka_unit_test(test_fini_with_live_channel),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_current_timestamp),
		cmocka_unit_test(test_channel_create_fd_exhaustion),
		cmocka_unit_test(test_foreign_and_null_handles),
	};

	log_level = -1;   /* the misuse tests log on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
