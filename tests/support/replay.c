/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.c - the capture replay harness (see replay.h).
 *
 * Choices the captures leave open, and how they are made here:
 *  - Metadata: the capture's PUSH_METADATA payloads are the real lttng TSDL,
 *    which does not describe the sim's packets.  The harness keeps the
 *    commands (same key, same order, same "payload follows" flow) but
 *    substitutes the payload: the first push of a metadata channel carries
 *    sim_app_tsdl() of the data channels of the same (session, per-pid
 *    session) and every later push a TSDL comment naming the recorded
 *    offset and length; target_offset / len are rewritten so offsets stay
 *    contiguous, as a session daemon's registry would make them.  The
 *    replies are compared as recorded.
 *  - Time: before each session-daemon command the harness lets the sim
 *    settle (runs every ready event, at most one timer period of virtual
 *    time), standing in for the milliseconds between commands in the
 *    capture.  No wall-clock sleep anywhere.
 *  - Applications: one sim_app per data channel, attached from the objects
 *    read in the GET_CHANNEL reply; a batch of events on CPUs 0 and 1 right
 *    after GET_CHANNEL and after OPEN_CHANNEL_PACKETS (the post-clear app of
 *    rotate-clear; it re-attaches).  The app goes away before the
 *    FLUSH_CHANNEL of its channel (app exit / stop); in app-killed it first
 *    reserves one event it never commits (kill -9 mid-packet).  Per-PID
 *    channels (pathname "pid/..."): the harness releases its object copies
 *    after the reply to DISCARDED_EVENTS for that channel, the session
 *    daemon's last act for an exited app; every other copy is released at
 *    the end, like the session daemon releasing the buffers.
 *  - Credentials: as root, chunk directories are created owned by the
 *    chunk's recorded user (1001), so the consumer's setfsuid path runs for
 *    real.  Otherwise (or with SLUICE_REPLAY_OWN_CREDS set) the chunk
 *    credentials and buffer owners in CREATE_TRACE_CHUNK / ASK_CHANNEL are
 *    rewritten to ours, as a session daemon of this user would send them.
 *  - SLUICE_REPLAY_KEEP set: the temporary trace directory is kept.
 *  - Chunks: CREATE_TRACE_CHUNK gets the dirfd of <tmp>/chunk<id>/ust; the
 *    channel directories (<pathname> and <pathname>/index) are created in
 *    every open chunk when a chunk is created and before each ASK_CHANNEL.
 *  - Streaming: a simulated relay peer (sim_relayd.h) sits in the consumer's
 *    io stack; ADD_RELAYD_SOCKET hands over the consumer's ends of one of its
 *    connections (control, then data, of the recorded relay session and
 *    protocol minor) and must succeed (ack and final status compared).  The
 *    walk goes on through the relay commands: the peer answers as relayd
 *    2.13, the recorded relay lines are not compared (their content is the
 *    real tracer's), every message the consumer sends the peer is validated
 *    instead (res->relay_errors).  A relayd chunk's CLOSE_TRACE_CHUNK path
 *    (and its length) is the peer's, masked.  The core has no live timer
 *    yet (README): in a live capture the walk stops at the first metadata
 *    request, which only the live timer makes, and skips the rest
 *    (res->stopped_at_live); the capture then ends as the others do.
 *  - End: apps gone, objects closed, then EOF on the command socket; the
 *    consumer must call on_quit.  babeltrace2 then reads <tmp>.
 *  - Invariants (invariants.h) are checked after every step; the first one
 *    broken is reported in the result.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "consumer.h"
#include "fdpass.h"
#include "invariants.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "replay.h"
#include "sim_app.h"
#include "sim_loop.h"
#include "sim_rb.h"
#include "sim_relayd.h"
#include "sim_world.h"
#include "sink_mem.h"
#include "wire.h"

#define MAX_CHANS 16
#define MAX_CHUNKS 8
#define NR_CPUS 2
#define STEP_LIMIT 200000u      /* callbacks per wait: ~minutes of virtual time */
#define SETTLE_LIMIT 100000u
#define OBJ_SIZE_MAX (64u * 1024)     /* also the largest reply read at once */
#define EVENT_STEP_NS 1000u

struct chan {
	uint64_t key;
	uint64_t session_id;
	uint64_t spp;                   /* session_id_per_pid */
	bool metadata;
	bool monitor;                   /* consumed as it goes (not snapshot-only) */
	char pathname[CMD_PATH_MAX];
	bool have_objs;
	struct sim_app_objects objs;
	struct sim_app *app;
	struct rb_channel *rbc;         /* referenced: alive for TSDL and stats */
	uint64_t pushed;                /* metadata: substituted bytes pushed so far */
};

struct chunk {
	uint64_t id;
	bool closed;
	char dir[PATH_MAX];             /* <tmp>/chunk<id>/ust */
	uid_t uid;                      /* owner of its directories, -1: ours */
	gid_t gid;
};

struct replay {
	const char *name;
	const struct capture *cap;
	struct replay_result *res;
	unsigned int batch;             /* events per CPU per batch */
	bool kill_apps;                 /* apps die mid-packet (app-killed) */
	unsigned int relayd_replies;    /* capture reply lines relayd_add() compared */
	unsigned int relayd_fd_lines;   /* capture fd lines relayd_add() stood for */
	struct sim_world world;
	struct sim_stepper st;
	bool st_init;
	struct rb rb;
	bool rb_init;
	struct consumer *c;
	int cmd_fd, md_fd;              /* harness ends */
	int c_cmd, c_md;                /* consumer ends until consumer_create took them */
	int mon_rd, mon_wr;
	int relayd[2];                  /* consumer ends of the peer's connection, until sent */
	struct sink_mem_fs *relay_fs;   /* the peer's output */
	struct sim_relayd *relay;
	bool live;                      /* a channel has a live timer */
	int quit_calls;
	struct invariants inv;          /* checked after every step */
	char tmp[64];
	struct chan chans[MAX_CHANS];
	unsigned int nr_chans;
	struct chunk chunks[MAX_CHUNKS];
	unsigned int nr_chunks;
	struct cmd last[CAPTURE_SOCK_COUNT]; /* last decoded s2c command per socket */
	uint64_t payload_left[CAPTURE_SOCK_COUNT]; /* a PUSH_METADATA payload line follows */
	const uint8_t *subst;           /* substituted payload for that line */
	char *subst_owned[CAPTURE_SOCK_COUNT];
	size_t subst_len[CAPTURE_SOCK_COUNT];
	bool close_path_pending;        /* next c2s: CLOSE_TRACE_CHUNK path */
	uint32_t close_path_len;
	uint8_t buf[OBJ_SIZE_MAX];      /* one reply or channel object at a time */
	uint8_t mon[64 * 1024];
	size_t mon_len;
};

/* ---- small helpers ---- */

/* Count nothing; log one mismatch (first 32 bytes of each side) and remember the first. */
static void note_mismatch(struct replay *r, const struct capture_msg *m, const char *what,
			  const uint8_t *act, size_t alen)
{
	char exp_hex[65] = "", act_hex[65] = "";
	size_t i;

	for (i = 0; i < m->len && i < 32; i++)
		sprintf(exp_hex + 2 * i, "%02x", m->bytes[i]);
	for (i = 0; act && i < alen && i < 32; i++)
		sprintf(act_hex + 2 * i, "%02x", act[i]);
	fprintf(stderr, "replay %s: #%zu (after %s) mismatch: %s; expected %zu B %s%s, got %zu B %s%s\n",
		r->name, m->line, wire_cmd_name(r->last[m->sock].type), what, m->len, exp_hex,
		m->len > 32 ? "..." : "", alen, act_hex, alen > 32 ? "..." : "");
	if (!r->res->first_mismatch[0])
		snprintf(r->res->first_mismatch, sizeof(r->res->first_mismatch),
			 "#%zu (after %s): %s; expected %s got %s", m->line,
			 wire_cmd_name(r->last[m->sock].type), what, exp_hex, act_hex);
}

/* Stop the walk for good; the first reason wins. */
static void abort_walk(struct replay *r, size_t line, const char *fmt, const char *detail)
{
	if (r->res->aborted)
		return;
	r->res->aborted = true;
	snprintf(r->res->abort_reason, sizeof(r->res->abort_reason), "#%zu: %s%s%s", line, fmt,
		 detail ? ": " : "", detail ? detail : "");
	fprintf(stderr, "replay %s: aborted at %s\n", r->name, r->res->abort_reason);
}

/* The channel the session daemon created with `key`, or NULL. */
static struct chan *chan_find(struct replay *r, uint64_t key)
{
	for (unsigned int i = 0; i < r->nr_chans; i++)
		if (r->chans[i].key == key)
			return &r->chans[i];
	return NULL;
}

/*
 * mkdir -p of `rel` under the existing directory `base`; every directory
 * created is given to uid:gid (the chunk's owner, as the session daemon
 * does) when uid != (uid_t)-1.  0 or -errno.
 */
static int mkdir_p(const char *base, const char *rel, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];
	int len = snprintf(path, sizeof(path), "%s/%s", base, rel);

	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	for (size_t i = strlen(base) + 1; i <= (size_t)len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char save = path[i];

		path[i] = '\0';
		if (mkdir(path, 0755)) {
			if (errno != EEXIST)
				return -errno;
		} else if (uid != (uid_t)-1 && lchown(path, uid, gid)) {
			return -errno;
		}
		path[i] = save;
	}
	return 0;
}

/* Create <pathname> and <pathname>/index of every data channel in every open chunk. */
static int chunk_dirs(struct replay *r)
{
	char idx[CMD_PATH_MAX + 8];
	int ret;

	for (unsigned int k = 0; k < r->nr_chunks; k++) {
		if (r->chunks[k].closed)
			continue;
		for (unsigned int i = 0; i < r->nr_chans; i++) {
			snprintf(idx, sizeof(idx), "%s/index", r->chans[i].pathname);
			ret = mkdir_p(r->chunks[k].dir, idx, r->chunks[k].uid, r->chunks[k].gid);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- stepping ---- */

/* Move whatever the monitor pipe holds into r->mon. */
static void monitor_drain(struct replay *r)
{
	ssize_t n;

	if (r->mon_rd < 0)
		return;
	/*
	 * When r->mon is full (2048 unclaimed samples) the pipe fills next and
	 * the consumer's writes fail with EAGAIN, which it must tolerate.
	 */
	while (r->mon_len < sizeof(r->mon)) {
		n = read(r->mon_rd, r->mon + r->mon_len, sizeof(r->mon) - r->mon_len);
		if (n <= 0)
			break;
		r->mon_len += (size_t)n;
	}
}

struct wait_arg {
	struct replay *r;
	int fd;                 /* -1: wait for monitor bytes */
	size_t need;
};

/* sim_step_until predicate: w->need bytes readable (monitor pipe drained on the way). */
static bool pred_ready(void *arg)
{
	struct wait_arg *w = arg;
	int n = 0;

	monitor_drain(w->r);
	if (w->fd < 0)
		return w->r->mon_len >= w->need;
	if (ioctl(w->fd, FIONREAD, &n))
		return true;    /* let the read report the error */
	return (size_t)n >= w->need;
}

/* Step until `need` bytes are readable on fd.  0, or -ETIMEDOUT. */
static int wait_bytes(struct replay *r, int fd, size_t need)
{
	struct wait_arg w = { .r = r, .fd = fd, .need = need };

	return sim_step_until(&r->st, pred_ready, &w, STEP_LIMIT) == SIM_STEP_PRED_TRUE ?
		0 : -ETIMEDOUT;
}

/* Run every ready event, stopping at the first time advance (or idle). */
static void settle(struct replay *r)
{
	for (unsigned int i = 0; i < SETTLE_LIMIT; i++) {
		if (sim_step(&r->st) != SIM_STEP_STEPPED)
			break;
	}
	monitor_drain(r);
}

/* sim_step_until predicate: the consumer called on_quit. */
static bool pred_quit(void *arg)
{
	struct replay *r = arg;

	monitor_drain(r);
	return r->quit_calls > 0;
}

/* consumer_env.on_quit. */
static void on_quit(void *arg)
{
	((struct replay *)arg)->quit_calls++;
}

/* ---- applications ---- */

/* Every attached app writes r->batch events on each CPU; counts what was accepted. */
static void write_batch(struct replay *r)
{
	for (unsigned int i = 0; i < r->nr_chans; i++) {
		struct chan *ch = &r->chans[i];

		if (!ch->app || !sim_app_attached(ch->app))
			continue;
		for (int cpu = 0; cpu < NR_CPUS; cpu++) {
			int ret = sim_app_write(ch->app, cpu, (unsigned int)cpu % SIM_APP_NR_CLASSES,
						r->batch, EVENT_STEP_NS);

			if (ret < 0) {
				fprintf(stderr, "replay %s: app write on chan %" PRIu64 " cpu %d: %d\n",
					r->name, ch->key, cpu, ret);
				continue;
			}
			r->res->events_written += (uint64_t)ret;
			r->res->events_lost += r->batch - (unsigned int)ret;
		}
	}
}

/* The app of a channel whose objects were just received: attach, reference, write. */
static void attach_app(struct replay *r, struct chan *ch)
{
	char name[SIM_APP_NAME_MAX];
	int ret;

	snprintf(name, sizeof(name), "app%" PRIu64, ch->key);
	ch->app = sim_app_create(&r->world, name);
	if (!ch->app)
		return;
	ret = sim_app_attach_objects(ch->app, &r->rb, &ch->objs);
	if (ret) {
		fprintf(stderr, "replay %s: app on chan %" PRIu64 " cannot attach: %d\n", r->name,
			ch->key, ret);
		return;
	}
	ch->rbc = sim_rb_channel_lookup(&r->rb, ch->objs.chan.sim_id);
	if (ch->rbc)
		sim_rb_channel_ref(ch->rbc);
	write_batch(r);
}

/* Sum a counter of the sim buffers of a channel. */
static uint64_t chan_stat(struct chan *ch, bool lost_packets)
{
	struct sim_rb_stats s;
	uint64_t sum = 0;
	int n;

	if (!ch || !ch->rbc)
		return 0;
	/*
	 * Lost packets are the sequence-number gaps the consumer sees while
	 * reading; a snapshot-only channel is never read, so none (the stock
	 * consumer answered 0 in overwrite-snapshot despite the wrap-around).
	 */
	if (lost_packets && !ch->monitor)
		return 0;
	n = sim_rb_channel_nr_streams(ch->rbc);
	for (int cpu = 0; cpu < n; cpu++) {
		if (sim_rb_stats(ch->rbc, cpu, &s) == 0)
			sum += lost_packets ? s.packets_overwritten : s.events_discarded;
	}
	return sum;
}

/* ---- comparing ---- */

/* Compare one c2s message under its rule and count it. */
static void compare(struct replay *r, const struct capture_msg *m, enum replay_part part,
		    const struct replay_hint *hint, const uint8_t *act, size_t alen)
{
	const char *why = NULL;

	r->res->compared++;
	if (replay_mask_match(part, hint, m->bytes, m->len, act, alen, &why)) {
		r->res->matched++;
		return;
	}
	note_mismatch(r, m, why, act, alen);
}

/* Read exactly len bytes once they arrived.  0 or -errno (walk aborted). */
static int read_exact(struct replay *r, const struct capture_msg *m, int fd, uint8_t *buf,
		      size_t len)
{
	ssize_t n;

	if (wait_bytes(r, fd, len)) {
		abort_walk(r, m->line, "reply never arrived", wire_cmd_name(r->last[m->sock].type));
		return -ETIMEDOUT;
	}
	n = fdpass_recv_all(fd, buf, len);
	if (n != (ssize_t)len) {
		abort_walk(r, m->line, "cannot read the reply", NULL);
		return n < 0 ? (int)n : -EPIPE;
	}
	return 0;
}

/* Receive an FD[n] and compare the count; the fds go to out (or are closed). */
static int read_fds(struct replay *r, const struct capture_msg *m, int fd, int *out)
{
	int fds[FDPASS_MAX_FDS];
	int n;
	uint8_t one = 0;

	if (wait_bytes(r, fd, 1)) {
		abort_walk(r, m->line, "fds never arrived", NULL);
		return -ETIMEDOUT;
	}
	/* fdpass asserts its count: a line with no (or too many) fds cannot match. */
	n = m->nfds > 0 && m->nfds <= FDPASS_MAX_FDS ? fdpass_recv_fds(fd, fds, m->nfds) : -EINVAL;
	r->res->compared++;
	if (n != (int)m->nfds) {
		note_mismatch(r, m, "fd count differs", &one, 1);
		abort_walk(r, m->line, "FD[n] shape differs", NULL);
		return -EPROTO;
	}
	r->res->matched++;
	for (int i = 0; i < n; i++) {
		if (out)
			out[i] = fds[i];
		else
			close(fds[i]);
	}
	return 0;
}

/*
 * The whole GET_CHANNEL reply, from its first c2s line.  Returns the index
 * of the last capture line consumed.
 */
static size_t get_channel_reply(struct replay *r, size_t i)
{
	const struct capture *cap = r->cap;
	struct chan *ch = chan_find(r, r->last[CAPTURE_SOCK_COMMAND].u.channel.key);
	struct sim_app_objects objs;
	uint8_t b[16];
	uint64_t size;
	int fd = r->cmd_fd, fds[2];
	int32_t st_exp, st_act;

	memset(&objs, 0, sizeof(objs));
	objs.chan_wakeup_fd = -1;
	for (unsigned int k = 0; k < SIM_MAX_CPUS; k++)
		objs.streams[k].shm_fd = objs.streams[k].wakeup_fd = -1;
#define LINE(k) (&cap->msgs[(k)])
	if (read_exact(r, LINE(i), fd, b, 4))
		return i;
	compare(r, LINE(i), REPLAY_PART_EXACT, NULL, b, 4);
	memcpy(&st_exp, LINE(i)->bytes, 4);
	memcpy(&st_act, b, 4);
	if (st_exp != 0 || st_act != 0) {
		if ((st_exp != 0) != (st_act != 0))
			abort_walk(r, LINE(i)->line, "GET_CHANNEL pre-send status differs", NULL);
		return i;
	}
	i++;
	if (read_exact(r, LINE(i), fd, b, 8))
		return i;
	compare(r, LINE(i), REPLAY_PART_CHAN_OBJ_SIZE, NULL, b, 8);
	memcpy(&size, b, 8);
	if (size == 0 || size > OBJ_SIZE_MAX) {
		abort_walk(r, LINE(i)->line, "channel object size out of range", NULL);
		return i;
	}
	i++;
	if (read_exact(r, LINE(i), fd, b, 4))
		return i;
	compare(r, LINE(i), REPLAY_PART_EXACT, NULL, b, 4);
	memcpy(&objs.chan_type, b, 4);
	i++;
	if (read_exact(r, LINE(i), fd, r->buf, size))
		return i;
	compare(r, LINE(i), REPLAY_PART_CHAN_OBJ_DATA, NULL, r->buf, size);
	/* Not a sim object: attaching the app fails later, and says so. */
	sim_rb_chan_obj_decode(r->buf, size, &objs.chan);
	i++;
	if (read_fds(r, LINE(i), fd, fds))
		return i;
	objs.chan_wakeup_fd = fds[0];
	for (;;) {
		i++;
		if (i + 1 >= cap->count || LINE(i)->dir != CAPTURE_C2S || LINE(i)->len != 8) {
			abort_walk(r, i < cap->count ? LINE(i)->line : 0,
				   "capture GET_CHANNEL reply malformed", NULL);
			goto out;
		}
		if (read_exact(r, LINE(i), fd, b, 8))
			goto out;
		memcpy(&size, b, 8);
		if (memcmp(LINE(i)->bytes, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0) {
			compare(r, LINE(i), REPLAY_PART_EXACT, NULL, b, 8);
			if (size != UINT64_MAX) {
				abort_walk(r, LINE(i)->line, "more streams than recorded", NULL);
				goto out;
			}
			break;
		}
		compare(r, LINE(i), REPLAY_PART_STREAM_SIZE, NULL, b, 8);
		if (size == UINT64_MAX) {
			abort_walk(r, LINE(i)->line, "fewer streams than recorded", NULL);
			goto out;
		}
		i++;
		if (read_exact(r, LINE(i), fd, b, 4))
			goto out;
		compare(r, LINE(i), REPLAY_PART_EXACT, NULL, b, 4);
		if (objs.nr_streams >= SIM_MAX_CPUS) {
			abort_walk(r, LINE(i)->line, "too many streams", NULL);
			goto out;
		}
		memcpy(&objs.streams[objs.nr_streams].cpu, b, 4);
		objs.streams[objs.nr_streams].size = size;
		objs.streams[objs.nr_streams].shm_fd = -1;
		objs.streams[objs.nr_streams].wakeup_fd = -1;
		i++;
		if (read_fds(r, LINE(i), fd, fds))
			goto out;
		objs.streams[objs.nr_streams].shm_fd = fds[0];
		objs.streams[objs.nr_streams].wakeup_fd = fds[1];
		objs.nr_streams++;
	}
	i++;
	if (read_exact(r, LINE(i), fd, b, 4))
		goto out;
	compare(r, LINE(i), REPLAY_PART_EXACT, NULL, b, 4);
	if (ch && !ch->have_objs) {
		ch->objs = objs;
		ch->have_objs = true;
		attach_app(r, ch);
		return i;
	}
out:
	sim_app_objects_close(&objs);
	return i;
#undef LINE
}

/* A c2s monitor line: the oldest buffered sample of that key, else wait for one. */
static void monitor_line(struct replay *r, const struct capture_msg *m)
{
	for (unsigned int tries = 0; tries < 8; tries++) {
		for (size_t off = 0; off + WIRE_MONITOR_SAMPLE_SIZE <= r->mon_len;
		     off += WIRE_MONITOR_SAMPLE_SIZE) {
			if (m->len < 8 || memcmp(r->mon + off, m->bytes, 8) != 0)
				continue;
			compare(r, m, REPLAY_PART_MONITOR, NULL, r->mon + off, WIRE_MONITOR_SAMPLE_SIZE);
			r->res->extra_monitor += off / WIRE_MONITOR_SAMPLE_SIZE;
			r->mon_len -= off + WIRE_MONITOR_SAMPLE_SIZE;
			memmove(r->mon, r->mon + off + WIRE_MONITOR_SAMPLE_SIZE, r->mon_len);
			return;
		}
		if (wait_bytes(r, -1, r->mon_len + WIRE_MONITOR_SAMPLE_SIZE))
			break;
	}
	r->res->compared++;
	note_mismatch(r, m, "no monitor sample for this channel", r->mon,
		      r->mon_len < WIRE_MONITOR_SAMPLE_SIZE ? r->mon_len : WIRE_MONITOR_SAMPLE_SIZE);
}

/* Any other c2s line on the command or metadata socket. */
static void reply_line(struct replay *r, const struct capture_msg *m)
{
	int fd = m->sock == CAPTURE_SOCK_METADATA ? r->md_fd : r->cmd_fd;
	const struct cmd *last = &r->last[m->sock];
	struct replay_hint hint = { 0 };
	enum replay_part part = REPLAY_PART_EXACT;
	size_t len = m->len;
	uint8_t *buf = r->buf;

	if (m->nfds > 0) {
		read_fds(r, m, fd, NULL);
		return;
	}
	if (r->close_path_pending) {
		part = REPLAY_PART_CLOSE_CHUNK_PATH;
		hint.relayd_chunk = last->u.close_chunk.relayd_id.set;
		len = r->close_path_len;    /* follow the stream the consumer sent */
		r->close_path_pending = false;
	} else if (last->type == CMD_CLOSE_TRACE_CHUNK && m->len == WIRE_CLOSE_CHUNK_HEADER_SIZE) {
		part = REPLAY_PART_CLOSE_CHUNK_HEADER;
		hint.relayd_chunk = last->u.close_chunk.relayd_id.set;
	} else if (last->type == CMD_DATA_PENDING) {
		part = REPLAY_PART_DATA_PENDING;
	} else if (last->type == CMD_DISCARDED_EVENTS || last->type == CMD_LOST_PACKETS) {
		part = REPLAY_PART_STAT_COUNT;
		hint.sim_stat = chan_stat(chan_find(r, last->u.stats.key),
					  last->type == CMD_LOST_PACKETS);
	}
	if (len > sizeof(r->buf)) {
		abort_walk(r, m->line, "reply length out of range", NULL);
		return;
	}
	if (read_exact(r, m, fd, buf, len) == 0) {
		compare(r, m, part, &hint, buf, len);
		if (last->type == CMD_CLOSE_TRACE_CHUNK && len == WIRE_CLOSE_CHUNK_HEADER_SIZE &&
		    part == REPLAY_PART_CLOSE_CHUNK_HEADER) {
			int32_t code;
			uint32_t plen;

			if (wire_decode_close_chunk_header(buf, &code, &plen) == 0) {
				r->close_path_pending = true;
				r->close_path_len = plen;
			} else {
				abort_walk(r, m->line, "bad CLOSE_TRACE_CHUNK reply header", NULL);
			}
		}
	}
}

/* ---- sending ---- */

/* Build the substituted payload of a PUSH_METADATA and patch the command bytes. */
static void subst_metadata(struct replay *r, enum capture_socket sock, uint8_t *msg,
			   const struct cmd *cmd)
{
	struct chan *md = chan_find(r, cmd->u.push_metadata.key);
	struct rb_channel *chans[MAX_CHANS];
	unsigned int nr = 0;
	char *text = NULL;
	uint64_t off;

	free(r->subst_owned[sock]);
	r->subst_owned[sock] = NULL;
	if (cmd->u.push_metadata.len == 0)
		return;
	if (md && md->pushed == 0) {
		for (unsigned int i = 0; i < r->nr_chans; i++) {
			struct chan *ch = &r->chans[i];

			if (!ch->metadata && ch->rbc && ch->session_id == md->session_id &&
			    ch->spp == md->spp)
				chans[nr++] = ch->rbc;
		}
		if (nr)
			text = sim_app_tsdl(chans, nr);
	}
	if (!text && asprintf(&text, "\n/* replay: recorded push of %" PRIu64 " bytes at %" PRIu64
			      " */\n", cmd->u.push_metadata.len,
			      cmd->u.push_metadata.target_offset) < 0)
		text = NULL;    /* the payload line then aborts the walk */
	if (!text)
		return;
	r->subst_owned[sock] = text;
	r->subst_len[sock] = strlen(text);
	off = md ? md->pushed : 0;
	if (md)
		md->pushed += r->subst_len[sock];
	memcpy(msg + WIRE_OFF_PUSH_TARGET_OFFSET, &off, 8);
	memcpy(msg + WIRE_OFF_PUSH_LEN, &(uint64_t){ r->subst_len[sock] }, 8);
}

/*
 * Not root: the capture's user (uid 1001 on the capture machine) cannot be
 * assumed, so chunk credentials and channel buffer owners become ours, as
 * a per-user session daemon run by this user would send.  Replies do not
 * echo them; the metadata requests' app uid (not rewritten) does.
 */
static void own_creds(uint8_t *msg, const struct cmd *cmd)
{
	uint32_t uid = (uint32_t)geteuid(), gid = (uint32_t)getegid();

	/* SLUICE_REPLAY_OWN_CREDS: take this path as root too (tests it). */
	if (uid == 0 && !getenv("SLUICE_REPLAY_OWN_CREDS"))
		return;
	if (cmd->type == CMD_CREATE_TRACE_CHUNK && cmd->u.create_chunk.creds.set) {
		memcpy(msg + WIRE_OFF_CREATE_CREDS + 1, &uid, 4);
		memcpy(msg + WIRE_OFF_CREATE_CREDS + 5, &gid, 4);
	} else if (cmd->type == CMD_ASK_CHANNEL) {
		memcpy(msg + WIRE_OFF_ASK_UID, &uid, 4);
		memcpy(msg + WIRE_OFF_ASK_GID, &gid, 4);
	}
}

/*
 * ADD_RELAYD_SOCKET: the command, its ack, the socket fd, the final status;
 * the capture's ack and final status are both SUCCESS.  The capture lines
 * this exchange stands for (the fd line, the two replies) are skipped.
 */
static void relayd_add(struct replay *r, const struct capture_msg *m)
{
	const struct cmd_relayd_sock *rs = &r->last[CAPTURE_SOCK_COMMAND].u.relayd_sock;
	bool data = rs->type == CMD_RELAYD_DATA;
	uint8_t b[4] = { 0 };
	int32_t code = CONSUMER_SUCCESS;
	int ret;

	r->relayd_fd_lines++;
	/* The control socket opens a connection of the peer; the data socket is its other end. */
	if (!data) {
		for (int k = 0; k < 2; k++)
			if (r->relayd[k] >= 0)
				close(r->relayd[k]);
		r->relayd[0] = r->relayd[1] = -1;
		ret = sim_relayd_connect(r->relay, rs->relayd_session_id, rs->minor, &r->relayd[0],
					 &r->relayd[1]);
		if (ret) {
			abort_walk(r, m->line, "sim relay cannot connect", strerror(-ret));
			return;
		}
	}
	if (r->relayd[data] < 0) {
		abort_walk(r, m->line, "ADD_RELAYD_SOCKET of a data socket before its control socket",
			   NULL);
		return;
	}
	for (int step = 0; step < 2 && code == CONSUMER_SUCCESS; step++) {
		if ((step == 0 ? fdpass_send_all(r->cmd_fd, m->bytes, m->len) :
		     fdpass_send_fds(r->cmd_fd, &r->relayd[data], 1)) ||
		    read_exact(r, m, r->cmd_fd, b, 4)) {
			abort_walk(r, m->line, "ADD_RELAYD_SOCKET exchange failed", NULL);
			return;
		}
		code = wire_decode_status(b);
		r->relayd_replies++;
		r->res->compared++;
		if (code == CONSUMER_SUCCESS)
			r->res->matched++;
	}
	if (code != CONSUMER_SUCCESS)
		note_mismatch(r, m, "consumer refused a relayd socket", b, 4);
	/* The consumer has its copy now. */
	close(r->relayd[data]);
	r->relayd[data] = -1;
}

/* Things a session daemon / the apps do before a command goes out. */
static int before_command(struct replay *r, const struct cmd *cmd)
{
	char rel[64];
	struct chunk *ck;
	struct chan *ch;
	int ret;

	switch (cmd->type) {
	case CMD_ASK_CHANNEL:
		if (r->nr_chans >= MAX_CHANS)
			return -ENOSPC;
		if (cmd->u.ask_channel.live_timer_us)
			r->live = true;
		ch = &r->chans[r->nr_chans++];
		memset(ch, 0, sizeof(*ch));
		ch->key = cmd->u.ask_channel.key;
		ch->session_id = cmd->u.ask_channel.session_id;
		ch->spp = cmd->u.ask_channel.session_id_per_pid;
		ch->metadata = cmd->u.ask_channel.type == CMD_CHAN_METADATA;
		ch->monitor = cmd->u.ask_channel.monitor;
		/* No objects yet: nothing for sim_app_objects_close() to close. */
		ch->objs.chan_wakeup_fd = -1;
		for (unsigned int k = 0; k < SIM_MAX_CPUS; k++)
			ch->objs.streams[k].shm_fd = ch->objs.streams[k].wakeup_fd = -1;
		/* cmd lives in r->last: copy with an explicit bound (no overlap). */
		memcpy(ch->pathname, cmd->u.ask_channel.pathname,
		       strnlen(cmd->u.ask_channel.pathname, sizeof(ch->pathname) - 1));
		return chunk_dirs(r);
	case CMD_CREATE_TRACE_CHUNK:
		if (cmd->u.create_chunk.relayd_id.set)
			return 0;
		if (r->nr_chunks >= MAX_CHUNKS)
			return -ENOSPC;
		ck = &r->chunks[r->nr_chunks];
		ck->id = cmd->u.create_chunk.chunk_id;
		ck->closed = false;
		ck->uid = (uid_t)-1;
		ck->gid = (gid_t)-1;
		if (cmd->u.create_chunk.creds.set && geteuid() == 0 &&
		    !getenv("SLUICE_REPLAY_OWN_CREDS")) {
			ck->uid = cmd->u.create_chunk.creds.value.uid;
			ck->gid = cmd->u.create_chunk.creds.value.gid;
		}
		snprintf(rel, sizeof(rel), "chunk%" PRIu64 "/ust", ck->id);
		ret = mkdir_p(r->tmp, rel, ck->uid, ck->gid);
		if (ret)
			return ret;
		snprintf(ck->dir, sizeof(ck->dir), "%s/%s", r->tmp, rel);
		r->nr_chunks++;
		return chunk_dirs(r);
	case CMD_CLOSE_TRACE_CHUNK:
		for (unsigned int k = 0; k < r->nr_chunks; k++)
			if (r->chunks[k].id == cmd->u.close_chunk.chunk_id)
				r->chunks[k].closed = true;
		return 0;
	case CMD_FLUSH_CHANNEL:
		ch = chan_find(r, cmd->u.channel.key);
		if (ch && ch->app && r->kill_apps && sim_app_attached(ch->app))
			sim_app_die_mid_packet(ch->app, 0);   /* kill -9: one event never committed */
		if (ch && ch->app)
			sim_app_go_away(ch->app);
		return 0;
	default:
		return 0;
	}
}

/* Things that follow a command's reply. */
static void after_command(struct replay *r, const struct cmd *cmd)
{
	struct chan *ch;

	if (cmd->type == CMD_DISCARDED_EVENTS) {
		/*
		 * Per-PID buffers: the statistics query is the session daemon's
		 * last act for an exited app; then it releases the app's objects.
		 */
		ch = chan_find(r, cmd->u.stats.key);
		if (ch && !strncmp(ch->pathname, "pid/", 4)) {
			if (ch->app)
				sim_app_go_away(ch->app);
			sim_app_objects_close(&ch->objs);
		}
		return;
	}
	if (cmd->type == CMD_OPEN_CHANNEL_PACKETS) {
		/* rotate-clear: the app started after the clear. */
		for (unsigned int i = 0; i < r->nr_chans; i++) {
			struct chan *ch = &r->chans[i];

			if (ch->app && !sim_app_attached(ch->app) && ch->have_objs &&
			    sim_app_attach_objects(ch->app, &r->rb, &ch->objs))
				fprintf(stderr, "replay %s: app of chan %" PRIu64 " cannot re-attach\n",
					r->name, ch->key);
		}
		write_batch(r);
	}
}

/* An s2c line on the command or metadata socket. */
static void send_line(struct replay *r, const struct capture_msg *m)
{
	int fd = m->sock == CAPTURE_SOCK_METADATA ? r->md_fd : r->cmd_fd;
	enum capture_socket s = m->sock;
	const struct cmd *last = &r->last[s];
	int ret, sendfd = -1;

	if (m->nfds > 0) {
		if (last->type == CMD_SET_MONITOR_PIPE)
			sendfd = r->mon_wr;
		else if (last->type == CMD_CREATE_TRACE_CHUNK && r->nr_chunks > 0)
			sendfd = open(r->chunks[r->nr_chunks - 1].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sendfd < 0) {
			abort_walk(r, m->line, "no fd to send for", wire_cmd_name(last->type));
			return;
		}
		ret = fdpass_send_fds(fd, &sendfd, 1);
		if (last->type == CMD_CREATE_TRACE_CHUNK)
			close(sendfd);
		goto sent;
	}
	if (r->payload_left[s]) {
		/* No substitute (out of memory): the walk cannot go on. */
		r->payload_left[s] = 0;
		ret = r->subst_owned[s] ?
			fdpass_send_all(fd, r->subst_owned[s], r->subst_len[s]) : -ENOMEM;
		goto sent;
	}
	if (m->len != WIRE_MSG_SIZE) {
		abort_walk(r, m->line, "unexpected s2c line", NULL);
		return;
	}
	ret = s == CAPTURE_SOCK_METADATA ? wire_decode_metadata_reply(m->bytes, &r->last[s]) :
		wire_decode(m->bytes, &r->last[s]);
	if (ret) {
		abort_walk(r, m->line, "capture command does not decode", wire_strerror(ret));
		return;
	}
	if (last->type == CMD_ADD_RELAYD_SOCKET) {
		relayd_add(r, m);
		return;
	}
	settle(r);
	ret = before_command(r, last);
	if (ret) {
		abort_walk(r, m->line, "harness preparation failed", strerror(-ret));
		return;
	}
	memcpy(r->buf, m->bytes, WIRE_MSG_SIZE);
	own_creds(r->buf, last);
	if (last->type == CMD_PUSH_METADATA) {
		subst_metadata(r, s, r->buf, last);
		r->payload_left[s] = last->u.push_metadata.len;
	}
	ret = fdpass_send_all(fd, r->buf, WIRE_MSG_SIZE);
sent:
	if (ret)
		abort_walk(r, m->line, "cannot send to the consumer", strerror(-ret));
}

/* ---- setup / teardown ---- */

/*
 * World, stepper, sim ring buffers, the sockets and pipes, and the consumer.
 * Returns 0 or -errno; whatever was made is undone by teardown().
 */
static int setup(struct replay *r, uint64_t seed)
{
	struct consumer_env env = { .rb = &r->rb, .on_quit = on_quit, .on_quit_arg = r };
	int cmd[2] = { -1, -1 }, md[2] = { -1, -1 }, mon[2] = { -1, -1 };
	int ret;

	/* The chunk owner (another user when we are root) must traverse the dir. */
	if (!mkdtemp(r->tmp) || chmod(r->tmp, 0755) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, md) ||
	    pipe2(mon, O_CLOEXEC | O_NONBLOCK))
		ret = -errno;
	else
		ret = sim_world_init(&r->world, seed, NR_CPUS, NR_CPUS, 1000000000ull);
	/* The relay peer in the io stack: transparent to everything but its own sockets. */
	if (!ret)
		ret = sink_mem_fs_create(&r->relay_fs);
	if (!ret)
		ret = sim_relayd_create(&io_posix, r->relay_fs, "relay", &r->relay);
	if (!ret)
		env.io = sim_relayd_io(r->relay);
	r->cmd_fd = cmd[0];
	r->c_cmd = cmd[1];
	r->md_fd = md[0];
	r->c_md = md[1];
	r->mon_rd = mon[0];
	r->mon_wr = mon[1];
	if (ret || (ret = sim_stepper_init(&r->st, &r->world)))
		return ret;
	r->st_init = true;
	ret = sim_rb_init(&r->rb, &r->world);
	if (ret)
		return ret;
	r->rb_init = true;
	env.cmd_loop = sim_loop_base(sim_loop_create(&r->st, "cmd"));
	env.metadata_loop = sim_loop_base(sim_loop_create(&r->st, "metadata"));
	env.data_loop = sim_loop_base(sim_loop_create(&r->st, "data"));
	env.cmd_fd = r->c_cmd;
	env.metadata_fd = r->c_md;
	ret = consumer_create(&env, &r->c);
	if (ret)
		return ret;
	r->c_cmd = r->c_md = -1;        /* the consumer's now */
	invariants_attach(&r->inv, &r->st, r->c, &r->rb, &r->world.faults, &r->quit_calls);
	return 0;
}

/* nftw callback of the final rm -rf. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Count the events babeltrace2 prints for everything under r->tmp. */
static long run_bt2(struct replay *r)
{
	char cmdline[PATH_MAX + 64];
	char line[4096];
	long n = 0;
	FILE *p;

	snprintf(cmdline, sizeof(cmdline), "babeltrace2 '%s' 2>/dev/null", r->tmp);
	p = popen(cmdline, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (strchr(line, '\n'))
			n++;
	if (pclose(p) != 0)
		return -1;
	return n;
}

/*
 * Apps gone, objects released, EOF on the command socket, wait for on_quit,
 * free everything, then babeltrace2 (if asked and the walk completed) and
 * removal of the trace directory.
 */
static void teardown(struct replay *r, bool run_bt2_check)
{
	for (unsigned int i = 0; i < r->nr_chans; i++) {
		if (r->chans[i].app)
			sim_app_go_away(r->chans[i].app);
		sim_app_objects_close(&r->chans[i].objs);
	}
	if (r->c) {
		settle(r);
		if (r->cmd_fd >= 0) {
			close(r->cmd_fd);
			r->cmd_fd = -1;
		}
		sim_step_until(&r->st, pred_quit, r, STEP_LIMIT);
		r->res->quit_clean = r->quit_calls > 0;
		if (!r->quit_calls)
			fprintf(stderr, "replay %s: consumer did not quit after EOF\n", r->name);
		invariants_detach(&r->inv);
		snprintf(r->res->invariant, sizeof(r->res->invariant), "%s", r->inv.msg);
		consumer_destroy(r->c);
		r->c = NULL;
	}
	if (r->relay) {
		r->res->relay_errors = sim_relayd_error_count(r->relay);
		r->res->relay_msgs = sim_relayd_msg_count(r->relay, SIM_RELAYD_MSG_ANY);
		_Static_assert(REPLAY_RELAY_KINDS == SIM_RELAYD_MSG_MAX, "relay kinds");
		for (unsigned int k = 0; k < REPLAY_RELAY_KINDS; k++)
			r->res->relay_counts[k] = sim_relayd_msg_count(r->relay, k);
		if (r->res->relay_errors) {
			snprintf(r->res->relay_error, sizeof(r->res->relay_error), "%s",
				 sim_relayd_error(r->relay, 0));
			fprintf(stderr, "replay %s: relay protocol error: %s\n", r->name,
				r->res->relay_error);
		}
		sim_relayd_destroy(r->relay);
		r->relay = NULL;
	}
	if (r->relay_fs)
		sink_mem_fs_destroy(r->relay_fs);
	r->relay_fs = NULL;
	for (unsigned int i = 0; i < r->nr_chans; i++) {
		struct chan *ch = &r->chans[i];

		if (ch->rbc && !ch->metadata) {
			int n = sim_rb_channel_nr_streams(ch->rbc);
			struct sim_rb_stats s;

			for (int cpu = 0; cpu < n; cpu++)
				if (sim_rb_stats(ch->rbc, cpu, &s) == 0)
					r->res->events_lost += s.events_lost;
		}
		sim_app_destroy(ch->app);
		ch->app = NULL;
		if (ch->rbc)
			sim_rb_channel_unref(ch->rbc);
		ch->rbc = NULL;
	}
	if (r->st_init)
		sim_stepper_fini(&r->st);
	if (r->rb_init)
		sim_rb_fini(&r->rb);
	for (int s = 0; s < CAPTURE_SOCK_COUNT; s++)
		free(r->subst_owned[s]);
	int *fds[] = { &r->cmd_fd, &r->md_fd, &r->c_cmd, &r->c_md, &r->mon_rd, &r->mon_wr,
		       &r->relayd[0], &r->relayd[1] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (run_bt2_check && !r->res->aborted)
		r->res->bt2_events = run_bt2(r);
	/* SLUICE_REPLAY_KEEP=1 keeps the trace for a look (path in res->outdir). */
	if (getenv("SLUICE_REPLAY_KEEP"))
		fprintf(stderr, "replay %s: trace kept in %s\n", r->name, r->tmp);
	else if (r->tmp[0] && strcmp(r->tmp, "/tmp/sluice-replay-XXXXXX") != 0)
		nftw(r->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Events per CPU per batch: the scenario's app, scaled down. */
static unsigned int batch_for(const char *scenario)
{
	if (!strcmp(scenario, "tracefile-rotation"))
		return 200;     /* 4 KiB sub-buffers: 3 tracefiles used, none recycled */
	if (!strcmp(scenario, "overwrite-snapshot"))
		return 600;     /* wraps a 4 x 4 KiB overwrite buffer */
	return 100;
}

/* See replay.h. */
int replay_run(const char *scenario, uint64_t seed, bool run_bt2_check, struct replay_result *res)
{
	struct capture cap = { 0 };
	struct replay *r;
	bool stop = false;
	int ret;

	if (!scenario || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->bt2_events = -1;
	ret = capture_load_scenario(scenario, &cap);
	if (ret) {
		ERR("replay %s: cannot load the capture (%d)", scenario, ret);
		return -ENOENT;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		capture_free(&cap);
		return -ENOMEM;
	}
	r->name = scenario;
	r->cap = &cap;
	r->res = res;
	r->batch = batch_for(scenario);
	r->kill_apps = !strcmp(scenario, "app-killed");
	r->cmd_fd = r->md_fd = r->mon_rd = r->mon_wr = r->c_cmd = r->c_md = -1;
	r->relayd[0] = r->relayd[1] = -1;
	snprintf(r->tmp, sizeof(r->tmp), "/tmp/sluice-replay-XXXXXX");
	ret = setup(r, seed);
	if (ret) {
		ERR("replay %s: setup failed: %s", scenario, strerror(-ret));
		teardown(r, false);
		goto out;
	}
	snprintf(res->outdir, sizeof(res->outdir), "%s", r->tmp);
	for (size_t i = 0; i < cap.count && !res->aborted; i++) {
		const struct capture_msg *m = &cap.msgs[i];

		/* A live timer's metadata request: the core has none (see the top). */
		if (!stop && r->live && m->dir == CAPTURE_C2S && m->sock == CAPTURE_SOCK_METADATA &&
		    m->len == 32) {
			res->stopped_at_live = true;
			stop = true;
		}
		if (stop) {
			if (m->dir == CAPTURE_C2S && m->sock != CAPTURE_SOCK_ERROR)
				res->skipped++;
			continue;
		}
		if (m->dir == CAPTURE_C2S && m->sock == CAPTURE_SOCK_COMMAND && r->relayd_replies) {
			r->relayd_replies--;            /* compared by relayd_add() */
			continue;
		}
		if (m->dir == CAPTURE_S2C && m->nfds > 0 && r->relayd_fd_lines) {
			r->relayd_fd_lines--;           /* sent by relayd_add() */
			continue;
		}
		if (m->sock == CAPTURE_SOCK_ERROR) {
			res->skipped++;
			continue;
		}
		if (m->sock == CAPTURE_SOCK_RELAYD_CONTROL || m->sock == CAPTURE_SOCK_RELAYD_DATA) {
			res->relay_lines++;     /* the sim relay peer plays them */
			continue;
		}
		if (m->dir == CAPTURE_S2C) {
			send_line(r, m);
			continue;
		}
		if (m->sock == CAPTURE_SOCK_MONITOR) {
			monitor_line(r, m);
			continue;
		}
		if (m->sock == CAPTURE_SOCK_COMMAND && r->last[m->sock].type == CMD_GET_CHANNEL &&
		    m->len == 4 && !r->close_path_pending) {
			i = get_channel_reply(r, i);
			r->last[m->sock].type = CMD_INVALID;
			continue;
		}
		reply_line(r, m);
		if (m->sock == CAPTURE_SOCK_COMMAND)
			after_command(r, &r->last[m->sock]);
	}
	teardown(r, run_bt2_check);
	fprintf(stderr, "replay %s: %zu replies compared, %zu matching%s%s\n", scenario,
		res->compared, res->matched, res->aborted ? ", ABORTED: " : "",
		res->aborted ? res->abort_reason : "");
	ret = 0;
out:
	free(r);
	capture_free(&cap);
	return ret;
}
