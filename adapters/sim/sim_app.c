/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_app.c - the simulated traced application (contract in sim_app.h).
 *
 * The app only ever touches the ring buffer through sim_rb_reserve() /
 * sim_rb_commit() and its own fd copies; it never sees the consumer's fds
 * except to dup() them in the direct attach.  That keeps hang-up honest: a
 * consumer that forgets to close one of its copies never sees POLLHUP, as
 * with the real tracer.
 */
#include "sim_app.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

struct sim_app {
	struct sim_world *w;
	char name[SIM_APP_NAME_MAX];
	struct sim_rand rng;
	struct rb_channel *chan;           /* referenced while attached */
	int chan_wakeup_fd;
	int nr_streams;
	int wakeup_fds[SIM_MAX_CPUS];
	int shm_fds[SIM_MAX_CPUS];
	uint64_t gen;                      /* bumped at each go-away */
	uint64_t seq;
	uint64_t written, dropped;
};

static const struct sim_ctf_event_class classes[SIM_APP_NR_CLASSES] = {
	[SIM_APP_CLASS_TICK] = { .id = SIM_APP_CLASS_TICK, .name = "sim:tick",
				 .nr_fields = 1, .field_names = { "seq" } },
	[SIM_APP_CLASS_VALUE] = { .id = SIM_APP_CLASS_VALUE, .name = "sim:value",
				  .nr_fields = 2, .field_names = { "seq", "value" } },
	[SIM_APP_CLASS_QUAD] = { .id = SIM_APP_CLASS_QUAD, .name = "sim:quad",
				 .nr_fields = 4, .field_names = { "seq", "a", "b", "c" } },
};

const struct sim_ctf_event_class *sim_app_classes(unsigned int *nr)
{
	if (nr)
		*nr = SIM_APP_NR_CLASSES;
	return classes;
}

char *sim_app_tsdl(struct rb_channel *const *chans, unsigned int nr)
{
	uint32_t ids[64];
	struct rb_channel_attr a, first = { 0 };
	if (!chans || !nr || nr > 64) {
		ERR("bad channel list (%u)", nr);
		return NULL;
	}
	for (unsigned int i = 0; i < nr; i++) {
		if (sim_rb_channel_attr(chans[i], &a) < 0 || a.type != RB_CHAN_PER_CPU) {
			ERR("channel %u is not a sim data channel", i);
			return NULL;
		}
		if (i == 0)
			first = a;
		else if (memcmp(a.uuid, first.uuid, RB_UUID_LEN) != 0) {
			ERR("channel %u belongs to another trace (uuid differs)", i);
			return NULL;
		}
		ids[i] = a.chan_id;
	}
	/* sim_ctf_tsdl() logs its own failures (only ENOMEM for this class table). */
	return sim_ctf_tsdl(first.uuid, ids, nr, classes, SIM_APP_NR_CLASSES);
}

/* ---- receiving objects -------------------------------------------------- */

/* Receive exactly len bytes.  Returns 0, -ECONNRESET on EOF, -errno. */
static int recv_all(int sock, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n;

		do {
			n = recv(sock, p, len, MSG_WAITALL);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			int err = errno;

			PERROR_NUM(err, "recv on socket %d", sock);
			return -err;
		}
		if (n == 0) {
			ERR("socket %d: peer closed mid-object", sock);
			return -ECONNRESET;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive the 1-byte message carrying exactly nr fds.  Returns 0 or -errno. */
static int recv_fds(int sock, int *fds, unsigned int nr)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	unsigned int got = 0;
	ssize_t n;

	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		int err = n < 0 ? errno : ECONNRESET;

		PERROR_NUM(err, "recvmsg of %u fd(s) on socket %d", nr, sock);
		return -err;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned int k = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (unsigned int i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < nr)
				fds[got] = fd;
			else
				close(fd);
			got++;
		}
	}
	if (got != nr || (msg.msg_flags & MSG_CTRUNC)) {
		ERR("socket %d: expected %u fd(s), got %u", sock, nr, got);
		for (unsigned int i = 0; i < got && i < nr; i++) {
			close(fds[i]);
			fds[i] = -1;
		}
		return -EPROTO;
	}
	return 0;
}

/* Empty objects: every fd -1. */
static void objects_init(struct sim_app_objects *o)
{
	memset(o, 0, sizeof(*o));
	o->chan_wakeup_fd = -1;
	for (int i = 0; i < SIM_MAX_CPUS; i++)
		o->streams[i].shm_fd = o->streams[i].wakeup_fd = -1;
}

void sim_app_objects_close(struct sim_app_objects *o)
{
	if (!o)
		return;
	if (o->chan_wakeup_fd >= 0)
		close(o->chan_wakeup_fd);
	o->chan_wakeup_fd = -1;
	for (int i = 0; i < SIM_MAX_CPUS; i++) {
		if (o->streams[i].shm_fd >= 0)
			close(o->streams[i].shm_fd);
		if (o->streams[i].wakeup_fd >= 0)
			close(o->streams[i].wakeup_fd);
		o->streams[i].shm_fd = o->streams[i].wakeup_fd = -1;
	}
	o->nr_streams = 0;
}

int sim_app_objects_recv(int sock, struct sim_app_objects *o)
{
	uint8_t obj[SIM_RB_CHAN_OBJ_SIZE];
	uint64_t size;
	int ret;

	if (!o)
		return -EINVAL;
	objects_init(o);
	ret = recv_all(sock, &size, sizeof(size));
	if (ret)
		goto err;
	if (size != SIM_RB_CHAN_OBJ_SIZE) {
		ERR("channel object of %" PRIu64 " bytes is not a sim channel", size);
		ret = -EPROTO;
		goto err;
	}
	ret = recv_all(sock, &o->chan_type, sizeof(o->chan_type));
	if (!ret)
		ret = recv_all(sock, obj, sizeof(obj));
	if (!ret)
		ret = sim_rb_chan_obj_decode(obj, sizeof(obj), &o->chan);
	if (!ret)
		ret = recv_fds(sock, &o->chan_wakeup_fd, 1);
	while (!ret) {
		unsigned int i = o->nr_streams;

		ret = recv_all(sock, &size, sizeof(size));
		if (ret || size == UINT64_MAX)
			break;
		if (i == SIM_MAX_CPUS) {
			ERR("more than %d streams", SIM_MAX_CPUS);
			ret = -EPROTO;
			break;
		}
		o->streams[i].size = size;
		ret = recv_all(sock, &o->streams[i].cpu, sizeof(o->streams[i].cpu));
		if (ret)
			break;
		int fds[2] = { -1, -1 };

		ret = recv_fds(sock, fds, 2);
		if (ret)
			break;
		o->streams[i].shm_fd = fds[0];
		o->streams[i].wakeup_fd = fds[1];
		o->nr_streams++;
	}
	if (ret)
		goto err;
	return 0;
err:
	sim_app_objects_close(o);
	return ret;
}

/* ---- app lifetime -------------------------------------------------------- */

struct sim_app *sim_app_create(struct sim_world *w, const char *name)
{
	struct sim_app *app;
	char tag[SIM_APP_NAME_MAX + 8];

	if (!w || !name) {
		ERR("NULL argument");
		return NULL;
	}
	app = calloc(1, sizeof(*app));
	if (!app) {
		ERR("out of memory");
		return NULL;
	}
	app->w = w;
	snprintf(app->name, sizeof(app->name), "%s", name);
	snprintf(tag, sizeof(tag), "app:%s", app->name);
	sim_rand_fork(&w->rng, tag, &app->rng);
	app->chan_wakeup_fd = -1;
	for (int i = 0; i < SIM_MAX_CPUS; i++)
		app->wakeup_fds[i] = app->shm_fds[i] = -1;
	return app;
}

/* Close every fd copy the app holds. */
static void close_app_fds(struct sim_app *app)
{
	if (app->chan_wakeup_fd >= 0)
		close(app->chan_wakeup_fd);
	app->chan_wakeup_fd = -1;
	for (int i = 0; i < SIM_MAX_CPUS; i++) {
		if (app->wakeup_fds[i] >= 0)
			close(app->wakeup_fds[i]);
		if (app->shm_fds[i] >= 0)
			close(app->shm_fds[i]);
		app->wakeup_fds[i] = app->shm_fds[i] = -1;
	}
}

void sim_app_go_away(struct sim_app *app)
{
	if (!app || !app->chan)
		return;
	close_app_fds(app);
	DBG("app %s went away", app->name);
	sim_rb_channel_unref(app->chan);
	app->chan = NULL;
	app->nr_streams = 0;
	app->gen++;
}

void sim_app_destroy(struct sim_app *app)
{
	if (!app)
		return;
	sim_app_go_away(app);
	free(app);
}

bool sim_app_attached(const struct sim_app *app)
{
	return app && app->chan;
}

uint64_t sim_app_events_written(const struct sim_app *app)
{
	return app ? app->written : 0;
}

uint64_t sim_app_events_dropped(const struct sim_app *app)
{
	return app ? app->dropped : 0;
}

/* dup with close-on-exec; -errno (logged) on failure. */
static int dup_fd(int fd)
{
	int d = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (d < 0) {
		int err = fd < 0 ? EBADF : errno;

		PERROR_NUM(err, "dup of fd %d", fd);
		return -err;
	}
	return d;
}

/* Finish an attach with fds already dup'ed into app; takes a channel ref. */
static void attach_done(struct sim_app *app, struct rb_channel *chan, int nr_streams)
{
	sim_rb_channel_ref(chan);
	app->chan = chan;
	app->nr_streams = nr_streams;
	DBG("app %s attached (%d streams)", app->name, nr_streams);
}

int sim_app_attach(struct sim_app *app, struct rb_channel *chan)
{
	int nr, fd;

	if (!app || !chan || (nr = sim_rb_channel_nr_streams(chan)) < 0)
		return -EINVAL;
	if (app->chan)
		return -EBUSY;
	fd = dup_fd(sim_rb_consumer_wakeup_fd(chan, -1));
	if (fd < 0)
		return fd;
	app->chan_wakeup_fd = fd;
	for (int i = 0; i < nr; i++) {
		fd = dup_fd(sim_rb_consumer_wakeup_fd(chan, i));
		if (fd < 0) {
			close_app_fds(app);
			return fd;
		}
		app->wakeup_fds[i] = fd;
	}
	attach_done(app, chan, nr);
	return 0;
}

/* Do objs describe channel c exactly (geometry, uuid, fds)? */
static int objects_match(struct rb_channel *c, const struct sim_app_objects *o)
{
	struct rb_channel_attr a;
	int nr = sim_rb_channel_nr_streams(c);

	sim_rb_channel_attr(c, &a);
	if (o->chan.type != (uint32_t)a.type || o->chan_type != (int32_t)a.type ||
	    o->chan.subbuf_size != a.subbuf_size || o->chan.num_subbuf != a.num_subbuf ||
	    o->chan.chan_id != a.chan_id || memcmp(o->chan.uuid, a.uuid, RB_UUID_LEN) ||
	    o->chan.nr_streams != (uint32_t)nr || !sim_rb_same_pipe(c, -1, o->chan_wakeup_fd)) {
		ERR("channel object %u does not match the channel", o->chan.sim_id);
		return -EPROTO;
	}
	for (unsigned int i = 0; i < o->nr_streams; i++) {
		uint32_t cpu = o->streams[i].cpu;

		if (cpu >= (uint32_t)nr || !sim_rb_same_pipe(c, (int)cpu, o->streams[i].wakeup_fd) ||
		    o->streams[i].size != a.subbuf_size * a.num_subbuf) {
			ERR("stream object %u (cpu %u) does not match channel %u", i, cpu,
			    o->chan.sim_id);
			return -EPROTO;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (o->streams[j].cpu == cpu) {
				ERR("stream %u received twice", cpu);
				return -EPROTO;
			}
		}
	}
	return 0;
}

int sim_app_attach_objects(struct sim_app *app, struct rb *rb, const struct sim_app_objects *o)
{
	struct rb_channel *c;
	int ret, fd;

	if (!app || !rb || !o)
		return -EINVAL;
	if (app->chan)
		return -EBUSY;
	c = sim_rb_channel_lookup(rb, o->chan.sim_id);
	if (!c) {
		ERR("no sim channel %u", o->chan.sim_id);
		return -ENOENT;
	}
	ret = objects_match(c, o);
	if (ret)
		return ret;
	/* Take a reference first so go-away can unwind a partial dup. */
	attach_done(app, c, sim_rb_channel_nr_streams(c));
	fd = dup_fd(o->chan_wakeup_fd);
	app->chan_wakeup_fd = fd;
	for (unsigned int i = 0; fd >= 0 && i < o->nr_streams; i++) {
		int cpu = (int)o->streams[i].cpu;

		fd = dup_fd(o->streams[i].wakeup_fd);
		app->wakeup_fds[cpu] = fd;
		if (fd >= 0) {
			fd = dup_fd(o->streams[i].shm_fd);
			app->shm_fds[cpu] = fd;
		}
	}
	if (fd < 0) {
		sim_app_go_away(app);
		return fd;
	}
	return 0;
}

int sim_app_attach_from_socket(struct sim_app *app, struct rb *rb, int sock)
{
	struct sim_app_objects o;
	int ret;

	if (!app || !rb)
		return -EINVAL;
	ret = sim_app_objects_recv(sock, &o);
	if (ret)
		return ret;
	ret = sim_app_attach_objects(app, rb, &o);
	sim_app_objects_close(&o);
	return ret;
}

/* ---- writing -------------------------------------------------------------- */

/* Can the app emit class cls on cpu now?  Returns 0 or -errno. */
static int can_emit(const struct sim_app *app, int cpu, unsigned int cls)
{
	if (!app || cls >= SIM_APP_NR_CLASSES)
		return -EINVAL;
	if (!app->chan)
		return -EPIPE;
	if (cpu < 0 || cpu >= app->nr_streams || app->wakeup_fds[cpu] < 0)
		return -ENOENT;
	if (!sim_world_cpu_online(app->w, cpu))
		return -ENODEV;
	return 0;
}

int sim_app_reserve(struct sim_app *app, int cpu, unsigned int cls, struct sim_app_slot *slot)
{
	int ret = can_emit(app, cpu, cls);

	if (ret)
		return ret;
	if (!slot)
		return -EINVAL;
	memset(slot, 0, sizeof(*slot));
	slot->gen = app->gen;
	slot->cls = cls;
	slot->fields[0] = app->seq++;
	for (unsigned int i = 1; i < classes[cls].nr_fields; i++)
		slot->fields[i] = sim_rand_next(&app->rng);
	ret = sim_rb_reserve(app->chan, cpu, classes[cls].nr_fields, app->wakeup_fds[cpu],
			     &slot->rs);
	if (ret == -ENOSPC)
		app->dropped++;
	return ret;
}

int sim_app_commit(struct sim_app *app, const struct sim_app_slot *slot)
{
	int ret;

	if (!app || !slot)
		return -EINVAL;
	if (!app->chan || slot->gen != app->gen)
		return -ESTALE;
	ret = sim_rb_commit(app->chan, &slot->rs, classes[slot->cls].id, slot->fields,
			    app->wakeup_fds[slot->rs.cpu]);
	if (!ret)
		app->written++;
	return ret;
}

int sim_app_write(struct sim_app *app, int cpu, unsigned int cls, unsigned int n,
		  uint64_t step_ns)
{
	struct sim_app_slot slot;
	int ret = can_emit(app, cpu, cls), accepted = 0;

	if (ret)
		return ret;
	if (n > INT_MAX)
		return -EINVAL;
	/* can_emit() passed, so a reserve either succeeds or drops (-ENOSPC). */
	for (unsigned int i = 0; i < n; i++) {
		if (sim_app_reserve(app, cpu, cls, &slot) == 0 && sim_app_commit(app, &slot) == 0)
			accepted++;
		sim_world_advance(app->w, step_ns);
	}
	return accepted;
}

int sim_app_die_mid_packet(struct sim_app *app, int cpu)
{
	struct sim_app_slot slot;
	int ret = sim_app_reserve(app, cpu, SIM_APP_CLASS_TICK, &slot);

	sim_app_go_away(app);
	return ret;
}
