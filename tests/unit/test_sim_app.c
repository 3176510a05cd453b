/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the simulated application (adapters/sim/sim_app.c): attach
 * (direct, from a socket, from a session daemon's objects), writing, held
 * and abandoned slots, going away and the hang-up it causes, CPU hotplug.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

#define T0 5000u

struct fx {
	struct sim_world w;
	struct rb rb;
	struct rb_channel *chan;
	struct rb_stream *s[SIM_MAX_CPUS];
	int nr;
	int fd_start;
};

static struct rb_channel_attr attr(uint32_t chan_id, uint8_t uuid0)
{
	struct rb_channel_attr a = {
		.type = RB_CHAN_PER_CPU,
		.subbuf_size = 256,
		.num_subbuf = 4,
		.chan_id = chan_id,
	};

	for (int i = 0; i < RB_UUID_LEN; i++)
		a.uuid[i] = (uint8_t)(uuid0 + i);
	return a;
}

/* ncpu possible CPUs of which nonline online; one channel and all its streams. */
static struct fx *fx_new(int ncpu, int nonline)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct rb_channel_attr a = attr(3, 0x10);

	assert_non_null(f);
	f->fd_start = test_open_fd_count();
	assert_int_equal(sim_world_init(&f->w, 99, ncpu, nonline, T0), 0);
	assert_int_equal(sim_rb_init(&f->rb, &f->w), 0);
	assert_int_equal(rb_channel_create(&f->rb, &a, &f->chan), RB_OK);
	for (f->nr = 0; f->nr < SIM_MAX_CPUS; f->nr++) {
		enum rb_status st = rb_stream_create(f->chan, f->nr, &f->s[f->nr]);

		if (st == RB_NO_STREAM)
			break;
		assert_int_equal(st, RB_OK);
	}
	return f;
}

static void fx_free(struct fx *f)
{
	for (int i = 0; i < f->nr; i++)
		rb_stream_destroy(f->s[i]);
	rb_channel_destroy(f->chan);
	assert_int_equal(sim_rb_outstanding_gets(&f->rb), 0);
	assert_int_equal(sim_rb_fini(&f->rb), 0);
	assert_int_equal(test_open_fd_count(), f->fd_start);
	free(f);
}

static bool hup(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents & POLLHUP;
}

/* Hand the channel and its streams to a socket as GET_CHANNEL does. */
static void send_all_objects(struct fx *f, int sock)
{
	assert_int_equal(rb_send_channel(f->chan, sock), RB_OK);
	for (int i = 0; i < f->nr; i++)
		assert_int_equal(rb_send_stream(f->chan, f->s[i], sock), RB_OK);
	assert_int_equal(rb_send_stream(f->chan, NULL, sock), RB_OK);
}

/* Events of the packet the consumer reads next: count, first seq and first timestamp. */
static unsigned int drain_one(struct rb_stream *s, uint64_t *first_seq, uint64_t *first_ts)
{
	unsigned int nr, n = 0;
	const struct sim_ctf_event_class *cls = sim_app_classes(&nr);
	uint64_t size, ts, fields[SIM_CTF_MAX_FIELDS];
	size_t off = SIM_CTF_PACKET_HEADER_SIZE;
	const void *p;
	uint32_t id;

	assert_int_equal(rb_get_next_subbuf(s), RB_OK);
	assert_int_equal(rb_subbuf_size(s, &size), RB_OK);
	assert_int_equal(rb_read_ptr(s, &p), RB_OK);
	while (sim_ctf_read_event(p, size, &off, cls, nr, &id, &ts, fields) == 0) {
		if (n == 0 && first_seq)
			*first_seq = fields[0];
		if (n == 0 && first_ts)
			*first_ts = ts;
		n++;
	}
	assert_int_equal(off, size);
	assert_int_equal(rb_put_next_subbuf(s), RB_OK);
	return n;
}

/* ---- classes and TSDL ---------------------------------------------------------- */

/* The default classes and the TSDL built for a set of channels. */
static void test_classes_and_tsdl(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct rb_channel_attr a2 = attr(9, 0x10), a3 = attr(4, 0x77), am = attr(0, 0x10);
	struct rb_channel *c2 = NULL, *c3 = NULL, *m = NULL;
	struct rb_channel *set[2];
	unsigned int nr = 0;
	const struct sim_ctf_event_class *cls = sim_app_classes(&nr);
	char *tsdl;

	(void)state;
	assert_int_equal(nr, SIM_APP_NR_CLASSES);
	assert_true(nr >= 2);
	assert_string_equal(cls[SIM_APP_CLASS_TICK].name, "sim:tick");
	assert_string_equal(cls[SIM_APP_CLASS_VALUE].field_names[1], "value");
	assert_int_equal(cls[SIM_APP_CLASS_QUAD].nr_fields, 4);
	assert_ptr_equal(sim_app_classes(NULL), cls);
	am.type = RB_CHAN_METADATA;
	assert_int_equal(rb_channel_create(&f->rb, &a2, &c2), RB_OK);
	assert_int_equal(rb_channel_create(&f->rb, &a3, &c3), RB_OK);
	assert_int_equal(rb_channel_create(&f->rb, &am, &m), RB_OK);
	set[0] = f->chan;
	set[1] = c2;
	tsdl = sim_app_tsdl(set, 2);
	assert_non_null(tsdl);
	assert_non_null(strstr(tsdl, "uuid = \"10111213-1415-1617-1819-1a1b1c1d1e1f\""));
	assert_non_null(strstr(tsdl, "id = 3;"));
	assert_non_null(strstr(tsdl, "id = 9;"));
	assert_non_null(strstr(tsdl, "\"sim:quad\""));
	free(tsdl);
	set[1] = c3;                                  /* another trace's uuid */
	assert_null(sim_app_tsdl(set, 2));
	set[1] = m;                                   /* metadata is no data channel */
	assert_null(sim_app_tsdl(set, 2));
	assert_null(sim_app_tsdl(NULL, 1));
	assert_null(sim_app_tsdl(set, 0));
	rb_channel_destroy(c2);
	rb_channel_destroy(c3);
	rb_channel_destroy(m);
	fx_free(f);
}

/* ---- attaching ------------------------------------------------------------------ */

/* Direct attach dups the consumer's wakeup fds; go-away closes exactly those. */
static void test_attach_direct(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "direct");
	int before = test_open_fd_count();

	(void)state;
	assert_false(sim_app_attached(app));
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 1, 0), -EPIPE);
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	assert_true(sim_app_attached(app));
	assert_int_equal(test_open_fd_count(), before + 3);
	assert_int_equal(sim_app_attach(app, f->chan), -EBUSY);
	assert_int_equal(sim_app_attach(NULL, f->chan), -EINVAL);
	sim_app_go_away(app);
	sim_app_go_away(app);                          /* idempotent */
	assert_false(sim_app_attached(app));
	assert_int_equal(test_open_fd_count(), before);
	/* No copy to take once the consumer closed its own: refused, nothing leaked. */
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[1]), RB_OK);
	assert_int_equal(sim_app_attach(app, f->chan), -EBADF);
	assert_int_equal(test_open_fd_count(), before - 1);
	assert_int_equal(rb_channel_close_wakeup_fd(f->chan), RB_OK);
	assert_int_equal(sim_app_attach(app, f->chan), -EBADF);
	assert_false(sim_app_attached(app));
	sim_app_destroy(app);
	assert_null(sim_app_create(NULL, "x"));
	sim_app_destroy(NULL);
	fx_free(f);
}

/* An app attaches from the bytes and fds a consumer sent, and its events reach the consumer. */
static void test_attach_from_socket(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "sock");
	int sv[2], before;
	uint64_t seq = 99;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	before = test_open_fd_count();
	send_all_objects(f, sv[0]);
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), 0);
	/* One copy of the channel wakeup fd, two of each stream (shm + wakeup). */
	assert_int_equal(test_open_fd_count(), before + 5);
	assert_int_equal(sim_app_write(app, 1, SIM_APP_CLASS_VALUE, 6, 1), 6);
	assert_int_equal(drain_one(f->s[1], &seq, NULL), 5);
	assert_int_equal(seq, 0);
	assert_int_equal(sim_app_events_written(app), 6);
	/* The consumer lets go of its copies: the app keeps the pipes alive. */
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[1]), RB_OK);
	assert_int_equal(rb_channel_close_wakeup_fd(f->chan), RB_OK);
	assert_false(hup(rb_stream_wait_fd(f->s[1])));
	assert_false(hup(rb_channel_wait_fd(f->chan)));
	sim_app_destroy(app);
	assert_true(hup(rb_stream_wait_fd(f->s[1])));
	assert_true(hup(rb_channel_wait_fd(f->chan)));
	assert_false(hup(rb_stream_wait_fd(f->s[0])));
	assert_int_equal(test_open_fd_count(), before - 2);
	assert_int_equal(sim_app_attach_from_socket(NULL, &f->rb, sv[1]), -EINVAL);
	close(sv[0]);
	close(sv[1]);
	fx_free(f);
}

/* Send raw fields on sock, each its own write, as the consumer would. */
static void send_raw(int sock, const void *p, size_t len)
{
	assert_int_equal(send(sock, p, len, 0), (ssize_t)len);
}

static void send_with_fds(int sock, const int *fds, int nr)
{
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	if (nr) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nr * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nr * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nr * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &msg, 0), 1);
}

/* Send a channel object naming channel c, with chan_fd as its wakeup fd. */
static void send_chan_obj(int sock, struct rb_channel *c, int chan_fd, uint32_t sim_id)
{
	struct rb_channel_attr a;
	struct sim_rb_chan_obj obj = { 0 };
	uint8_t bytes[SIM_RB_CHAN_OBJ_SIZE];
	uint64_t size = SIM_RB_CHAN_OBJ_SIZE;
	int32_t type = 0;

	assert_int_equal(sim_rb_channel_attr(c, &a), 0);
	obj.sim_id = sim_id;
	obj.subbuf_size = a.subbuf_size;
	obj.num_subbuf = a.num_subbuf;
	obj.chan_id = a.chan_id;
	memcpy(obj.uuid, a.uuid, RB_UUID_LEN);
	obj.nr_streams = (uint32_t)sim_rb_channel_nr_streams(c);
	sim_rb_chan_obj_encode(&obj, bytes);
	send_raw(sock, &size, sizeof(size));
	send_raw(sock, &type, sizeof(type));
	send_raw(sock, bytes, sizeof(bytes));
	send_with_fds(sock, &chan_fd, chan_fd < 0 ? 0 : 1);
}

/* Malformed, truncated, foreign or mismatching objects are refused and leak nothing. */
static void test_objects_rejected(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "bad");
	struct sim_app_objects o;
	uint64_t size, term = UINT64_MAX;
	uint32_t cpu;
	int sv[2], p[2], before, fds[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	before = test_open_fd_count();
	/* 1: an object of another size. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	size = 12;
	send_raw(sv[0], &size, sizeof(size));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	/* 1b: the peer closes where the fd message should be. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	size = SIM_RB_CHAN_OBJ_SIZE;
	send_raw(sv[0], &size, sizeof(size));
	send_raw(sv[0], &term, 4);
	{
		uint8_t bytes[SIM_RB_CHAN_OBJ_SIZE];
		struct sim_rb_chan_obj obj = { .sim_id = 0 };

		sim_rb_chan_obj_encode(&obj, bytes);
		send_raw(sv[0], bytes, sizeof(bytes));
	}
	close(sv[0]);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -ECONNRESET);
	close(sv[1]);
	/* 1c: the peer closes after a stream size. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_chan_obj(sv[0], f->chan, p[1], 0);
	size = 1024;
	send_raw(sv[0], &size, sizeof(size));
	close(sv[0]);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -ECONNRESET);
	close(sv[1]);
	/* 1d: three fds where two are expected: all of them closed. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_chan_obj(sv[0], f->chan, p[1], 0);
	cpu = 0;
	send_raw(sv[0], &size, sizeof(size));
	send_raw(sv[0], &cpu, sizeof(cpu));
	{
		int three[3] = { p[0], p[1], p[0] };

		send_with_fds(sv[0], three, 3);
	}
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(test_open_fd_count(), before);
	/* 2: peer closes mid-object. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	size = SIM_RB_CHAN_OBJ_SIZE;
	send_raw(sv[0], &size, sizeof(size));
	close(sv[0]);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -ECONNRESET);
	close(sv[1]);
	/* 3: the fd message carries no fd. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_chan_obj(sv[0], f->chan, -1, 0);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	/* 4: a stream message with one fd instead of two, after a good channel. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_chan_obj(sv[0], f->chan, p[1], 0);
	size = 1024;
	cpu = 0;
	send_raw(sv[0], &size, sizeof(size));
	send_raw(sv[0], &cpu, sizeof(cpu));
	send_with_fds(sv[0], &p[1], 1);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), -EPROTO);
	assert_int_equal(test_open_fd_count(), before + 2);
	close(sv[0]);
	close(sv[1]);
	/* 5: well formed, but the channel fd is some other pipe. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_chan_obj(sv[0], f->chan, p[1], 0);
	send_raw(sv[0], &term, sizeof(term));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -EPROTO);
	/* 6: unknown channel id. */
	send_chan_obj(sv[0], f->chan, rb_channel_wakeup_fd(f->chan), 77);
	send_raw(sv[0], &term, sizeof(term));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -ENOENT);
	/* 7: right channel, a stream fd of the wrong stream. */
	send_chan_obj(sv[0], f->chan, rb_channel_wakeup_fd(f->chan), 0);
	size = 1024;
	cpu = 0;
	fds[0] = p[0];
	fds[1] = rb_stream_wakeup_fd(f->s[1]);
	send_raw(sv[0], &size, sizeof(size));
	send_raw(sv[0], &cpu, sizeof(cpu));
	send_with_fds(sv[0], fds, 2);
	send_raw(sv[0], &term, sizeof(term));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -EPROTO);
	/* 8: the same stream twice. */
	send_chan_obj(sv[0], f->chan, rb_channel_wakeup_fd(f->chan), 0);
	fds[1] = rb_stream_wakeup_fd(f->s[0]);
	for (int i = 0; i < 2; i++) {
		send_raw(sv[0], &size, sizeof(size));
		send_raw(sv[0], &cpu, sizeof(cpu));
		send_with_fds(sv[0], fds, 2);
	}
	send_raw(sv[0], &term, sizeof(term));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -EPROTO);
	/* 9: a stream that is not the channel's size. */
	send_chan_obj(sv[0], f->chan, rb_channel_wakeup_fd(f->chan), 0);
	size = 4096;
	send_raw(sv[0], &size, sizeof(size));
	send_raw(sv[0], &cpu, sizeof(cpu));
	send_with_fds(sv[0], fds, 2);
	send_raw(sv[0], &term, sizeof(term));
	assert_int_equal(sim_app_attach_from_socket(app, &f->rb, sv[1]), -EPROTO);
	assert_false(sim_app_attached(app));
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(test_open_fd_count(), before);
	assert_int_equal(sim_app_objects_recv(-1, &o), -EBADF);
	assert_int_equal(sim_app_objects_recv(0, NULL), -EINVAL);
	assert_int_equal(sim_app_attach_objects(app, NULL, &o), -EINVAL);
	sim_app_objects_close(NULL);
	close(p[0]);
	close(p[1]);
	sim_app_destroy(app);
	fx_free(f);
}

/*
 * The session daemon keeps its own copies: the hang-up needs them closed too,
 * and apps attached from them hold their own.
 */
static void test_sessiond_copies_delay_hangup(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *a1 = sim_app_create(&f->w, "a1");
	struct sim_app *a2 = sim_app_create(&f->w, "a2");
	struct sim_app_objects sessiond;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_all_objects(f, sv[0]);
	assert_int_equal(sim_app_objects_recv(sv[1], &sessiond), 0);
	assert_int_equal(sessiond.nr_streams, 2);
	assert_int_equal(sessiond.streams[1].cpu, 1);
	assert_int_equal(sessiond.streams[1].size, 1024);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(sim_app_attach_objects(a1, &f->rb, &sessiond), 0);
	assert_int_equal(sim_app_attach_objects(a1, &f->rb, &sessiond), -EBUSY);
	assert_int_equal(sim_app_attach_objects(a2, &f->rb, &sessiond), 0);
	/* Consumer closes its copies (GET_CHANNEL, channel HUP handling). */
	assert_int_equal(rb_channel_close_wakeup_fd(f->chan), RB_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(rb_stream_close_wakeup_fd(f->s[i]), RB_OK);
	sim_app_go_away(a1);
	sim_app_go_away(a2);
	assert_false(hup(rb_channel_wait_fd(f->chan)));
	assert_false(hup(rb_stream_wait_fd(f->s[0])));
	sim_app_objects_close(&sessiond);
	sim_app_objects_close(&sessiond);
	assert_true(hup(rb_channel_wait_fd(f->chan)));
	assert_true(hup(rb_stream_wait_fd(f->s[0])));
	assert_true(hup(rb_stream_wait_fd(f->s[1])));
	sim_app_destroy(a1);
	sim_app_destroy(a2);
	fx_free(f);
}

/* Running out of fds while dup'ing the objects fails cleanly, at every point. */
static void test_attach_fd_exhaustion(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "tight");
	struct sim_app_objects o;
	struct rlimit old, lim;
	int sv[2], before, failures = 0, top, ret = -1;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	send_all_objects(f, sv[0]);
	assert_int_equal(sim_app_objects_recv(sv[1], &o), 0);
	close(sv[0]);
	close(sv[1]);
	before = test_open_fd_count();
	top = dup(0);
	assert_true(top >= 0);
	close(top);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	for (int extra = 0; extra < 32 && ret; extra++) {
		lim = old;
		lim.rlim_cur = (rlim_t)(top + extra);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
		ret = sim_app_attach_objects(app, &f->rb, &o);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		if (ret) {
			assert_int_equal(ret, -EMFILE);
			assert_false(sim_app_attached(app));
			assert_int_equal(test_open_fd_count(), before);
			failures++;
		}
	}
	assert_int_equal(ret, 0);
	assert_true(failures >= 5);                 /* chan + 2 x (wakeup, shm) */
	assert_int_equal(test_open_fd_count(), before + 5);
	sim_app_objects_close(&o);
	sim_app_destroy(app);
	fx_free(f);
}

/* ---- writing ----------------------------------------------------------------------- */

/* Events take the world clock at reserve and move it by the step; argument errors. */
static void test_write_and_clock(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "clock");
	struct sim_app_slot slot;
	uint64_t ts = 0, seq = 9;

	(void)state;
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 5, 100), 5);
	assert_int_equal(sim_world_now(&f->w), T0 + 500);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 0, 100), 0);
	assert_int_equal(sim_world_now(&f->w), T0 + 500);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(drain_one(f->s[0], &seq, &ts), 5);
	assert_int_equal(ts, T0);
	assert_int_equal(seq, 0);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_NR_CLASSES, 1, 0), -EINVAL);
	assert_int_equal(sim_app_write(app, 2, SIM_APP_CLASS_TICK, 1, 0), -ENOENT);
	assert_int_equal(sim_app_write(app, -1, SIM_APP_CLASS_TICK, 1, 0), -ENOENT);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 1u << 31, 0), -EINVAL);
	assert_int_equal(sim_app_reserve(app, 0, SIM_APP_CLASS_TICK, NULL), -EINVAL);
	assert_int_equal(sim_app_commit(app, NULL), -EINVAL);
	assert_int_equal(sim_app_write(NULL, 0, 0, 1, 0), -EINVAL);
	assert_int_equal(sim_app_events_written(NULL), 0);
	assert_int_equal(sim_app_events_dropped(NULL), 0);
	/* The raw writer API refuses bad slots and arguments. */
	memset(&slot, 0, sizeof(slot));
	assert_int_equal(sim_rb_reserve(f->chan, 5, 1, -1, &slot.rs), -EINVAL);
	assert_int_equal(sim_rb_reserve(f->chan, 0, SIM_CTF_MAX_FIELDS + 1, -1, &slot.rs),
			 -EINVAL);
	assert_int_equal(sim_rb_commit(f->chan, &slot.rs, 0, slot.fields, -1), -EINVAL);
	slot.rs.nr_fields = 1;
	assert_int_equal(sim_rb_commit(f->chan, &slot.rs, 0, NULL, -1), -EINVAL);
	sim_app_destroy(app);
	fx_free(f);
}

/* Offline CPUs: streams exist, the app may not write there, they never produce. */
static void test_offline_cpu_never_produces(void **state)
{
	struct fx *f = fx_new(4, 2);
	struct sim_app *app = sim_app_create(&f->w, "hot");
	struct sim_app_slot slot;
	struct sim_rb_stats st;

	(void)state;
	assert_int_equal(f->nr, 4);
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	assert_int_equal(sim_app_write(app, 3, SIM_APP_CLASS_TICK, 10, 1), -ENODEV);
	assert_int_equal(sim_app_reserve(app, 2, SIM_APP_CLASS_TICK, &slot), -ENODEV);
	assert_int_equal(sim_app_die_mid_packet(app, 3), -ENODEV);
	assert_false(sim_app_attached(app));
	for (int cpu = 2; cpu < 4; cpu++) {
		assert_int_equal(sim_rb_stats(f->chan, cpu, &st), 0);
		assert_int_equal(st.produced, 0);
		assert_int_equal(st.events_written + st.events_discarded, 0);
		assert_int_equal(rb_get_next_subbuf(f->s[cpu]), RB_NO_DATA);
		assert_int_equal(rb_snapshot(f->s[cpu]), RB_NO_DATA);
	}
	sim_app_destroy(app);
	fx_free(f);
}

/* A CPU that comes online mid-trace starts producing on its own stream. */
static void test_cpu_comes_online_mid_trace(void **state)
{
	struct fx *f = fx_new(2, 1);
	struct sim_app *app = sim_app_create(&f->w, "hot");
	uint64_t ts = 0, v;

	(void)state;
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 3, 10), 3);
	assert_int_equal(sim_app_write(app, 1, SIM_APP_CLASS_TICK, 3, 10), -ENODEV);
	assert_int_equal(sim_world_cpu_set_online(&f->w, 1, true), 0);
	assert_int_equal(sim_app_write(app, 1, SIM_APP_CLASS_VALUE, 2, 10), 2);
	assert_int_equal(rb_flush(f->s[1], false), RB_OK);
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_OK);
	assert_int_equal(rb_instance_id(f->s[1], &v), RB_OK);
	assert_int_equal(v, 1);
	assert_int_equal(rb_sequence_number(f->s[1], &v), RB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(rb_timestamp_begin(f->s[1], &v), RB_OK);
	assert_int_equal(v, T0 + 30);
	assert_int_equal(rb_put_subbuf(f->s[1]), RB_OK);
	assert_int_equal(drain_one(f->s[1], NULL, &ts), 2);
	assert_int_equal(ts, T0 + 30);
	/* Going offline again stops it. */
	assert_int_equal(sim_world_cpu_set_online(&f->w, 1, false), 0);
	assert_int_equal(sim_app_write(app, 1, SIM_APP_CLASS_TICK, 1, 0), -ENODEV);
	sim_app_destroy(app);
	fx_free(f);
}

/* ---- held and abandoned slots -------------------------------------------------------- */

/* A held slot keeps its packet (and the ones after it) from the reader until committed. */
static void test_reserve_commit_later(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "holder");
	struct sim_app_slot slot;
	uint64_t seq = 99, ts = 0;
	char byte;

	(void)state;
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	sim_world_advance(&f->w, 7);
	assert_int_equal(sim_app_reserve(app, 1, SIM_APP_CLASS_VALUE, &slot), 0);
	/* 4 more fill packet 0, 5 fill packet 1, the last opens packet 2. */
	assert_int_equal(sim_app_write(app, 1, SIM_APP_CLASS_VALUE, 10, 1), 10);
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_NO_DATA);
	assert_int_equal(read(rb_stream_wait_fd(f->s[1]), &byte, 1), 1);   /* packet 1 */
	assert_int_equal(read(rb_stream_wait_fd(f->s[1]), &byte, 1), -1);
	assert_int_equal(sim_app_commit(app, &slot), 0);
	assert_int_equal(read(rb_stream_wait_fd(f->s[1]), &byte, 1), 1);   /* packet 0 */
	assert_int_equal(drain_one(f->s[1], &seq, &ts), 5);
	assert_int_equal(seq, 0);                  /* the held event kept its place */
	assert_int_equal(ts, T0 + 7);              /* and its reserve-time timestamp */
	assert_int_equal(drain_one(f->s[1], &seq, NULL), 5);
	assert_int_equal(seq, 5);
	sim_app_destroy(app);
	fx_free(f);
}

/* An app that dies mid-packet leaves an undeliverable packet; the stream ends finalized. */
static void test_die_mid_packet(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "dies");
	struct sim_app_slot slot;

	(void)state;
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_TICK, 7, 1), 7);   /* 1 full packet */
	assert_int_equal(sim_app_reserve(app, 1, SIM_APP_CLASS_TICK, &slot), 0);
	assert_int_equal(sim_app_die_mid_packet(app, 0), 0);
	assert_false(sim_app_attached(app));
	assert_int_equal(sim_app_commit(app, &slot), -ESTALE);
	/* The consumer handles the hang-up: close its copies, final flush, drain. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(rb_stream_close_wakeup_fd(f->s[i]), RB_OK);
	assert_true(sim_rb_stream_hung_up(f->chan, 0));
	for (int i = 0; i < 2; i++)
		assert_int_equal(rb_flush(f->s[i], false), RB_OK);
	assert_int_equal(drain_one(f->s[0], NULL, NULL), 7);
	assert_int_equal(rb_get_next_subbuf(f->s[0]), RB_FINALIZED);
	assert_int_equal(rb_get_next_subbuf(f->s[1]), RB_FINALIZED);
	/* Re-attaching directly needs the consumer's copies, closed by now. */
	assert_int_equal(sim_app_attach(app, f->chan), -EBADF);
	sim_app_destroy(app);
	fx_free(f);
}

/* Two apps share a per-UID channel: same buffers, own seqs, hang-up after both. */
static void test_two_apps_share_channel(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *a = sim_app_create(&f->w, "a");
	struct sim_app *b = sim_app_create(&f->w, "b");
	struct sim_app *a_again = sim_app_create(&f->w, "a");
	struct sim_app_slot sa, sb, sa2;
	uint64_t seq = 9;

	(void)state;
	assert_int_equal(sim_app_attach(a, f->chan), 0);
	assert_int_equal(sim_app_attach(b, f->chan), 0);
	assert_int_equal(sim_app_attach(a_again, f->chan), 0);
	assert_int_equal(sim_app_write(a, 0, SIM_APP_CLASS_TICK, 2, 1), 2);
	assert_int_equal(sim_app_write(b, 0, SIM_APP_CLASS_TICK, 3, 1), 3);
	assert_int_equal(rb_flush(f->s[0], true), RB_OK);
	assert_int_equal(drain_one(f->s[0], &seq, NULL), 5);
	/* Payload generators: per name, not per instance. */
	assert_int_equal(sim_app_reserve(a, 1, SIM_APP_CLASS_VALUE, &sa), 0);
	assert_int_equal(sim_app_reserve(b, 1, SIM_APP_CLASS_VALUE, &sb), 0);
	assert_int_equal(sim_app_reserve(a_again, 1, SIM_APP_CLASS_VALUE, &sa2), 0);
	assert_true(sa.fields[1] != sb.fields[1]);
	assert_int_equal(sa2.fields[1], sa.fields[1]);
	assert_int_equal(sa.fields[0], 2);
	assert_int_equal(sb.fields[0], 3);
	assert_int_equal(sim_app_commit(a, &sa), 0);
	assert_int_equal(sim_app_commit(b, &sb), 0);
	assert_int_equal(sim_app_commit(a_again, &sa2), 0);
	assert_int_equal(rb_stream_close_wakeup_fd(f->s[0]), RB_OK);
	sim_app_destroy(a);
	sim_app_destroy(a_again);
	assert_false(sim_rb_stream_hung_up(f->chan, 0));
	assert_int_equal(sim_app_write(b, 0, SIM_APP_CLASS_TICK, 1, 1), 1);
	sim_app_destroy(b);
	assert_true(sim_rb_stream_hung_up(f->chan, 0));
	fx_free(f);
}

/* The app outlives every consumer object: it keeps writing, memory goes with it. */
static void test_app_outlives_consumer(void **state)
{
	struct fx *f = fx_new(2, 2);
	struct sim_app *app = sim_app_create(&f->w, "last");
	struct sim_rb_stats st;
	int start = f->fd_start;

	(void)state;
	assert_int_equal(sim_app_attach(app, f->chan), 0);
	for (int i = 0; i < f->nr; i++)
		rb_stream_destroy(f->s[i]);
	rb_channel_destroy(f->chan);
	assert_int_equal(sim_rb_fini(&f->rb), 1);
	/* 3 quads per packet: packets 0-2 delivered, packet 3 open. */
	assert_int_equal(sim_app_write(app, 0, SIM_APP_CLASS_QUAD, 10, 1), 10);
	assert_int_equal(sim_rb_stats(f->chan, 0, &st), 0);
	assert_int_equal(st.events_written, 10);
	assert_int_equal(st.packets_delivered, 3);
	assert_int_equal(st.wakeups, 3);           /* through the app's copy; no reader left */
	sim_app_destroy(app);
	assert_int_equal(test_open_fd_count(), start);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_and_tsdl),
		cmocka_unit_test(test_attach_direct),
		cmocka_unit_test(test_attach_from_socket),
		cmocka_unit_test(test_objects_rejected),
		cmocka_unit_test(test_sessiond_copies_delay_hangup),
		cmocka_unit_test(test_attach_fd_exhaustion),
		cmocka_unit_test(test_write_and_clock),
		cmocka_unit_test(test_offline_cpu_never_produces),
		cmocka_unit_test(test_cpu_comes_online_mid_trace),
		cmocka_unit_test(test_reserve_commit_later),
		cmocka_unit_test(test_die_mid_packet),
		cmocka_unit_test(test_two_apps_share_channel),
		cmocka_unit_test(test_app_outlives_consumer),
	};

	log_level = -1;   /* the rejection tests log on purpose */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
