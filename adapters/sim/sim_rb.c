/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rb.c - objects of the simulated ring buffer: adapter context, channels
 * (with their per-stream buffers), consumer stream handles, their pipes and
 * the const ops table.  The writer/reader engine is sim_rb_buf.c, the object
 * hand-over sim_rb_send.c; the model is described in sim_rb.h.
 *
 * Why a reference count on channels: in production the consumer, the session
 * daemon and every app each map the buffers and hold fd copies; any of them
 * can go first.  The sim reproduces that: channel_destroy only drops the
 * consumer's reference, the memory goes with the last holder, so scenarios
 * where the app outlives the consumer's objects (or the reverse) neither
 * crash nor leak.
 */
#include "sim_rb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sim_rb_priv.h"

/* Close *fd if open and mark it closed.  Safe on -1. */
static void close_fd(int *fd)
{
	if (*fd < 0)
		return;
	/* Linux releases the descriptor even when close() reports EINTR. */
	if (close(*fd) < 0)
		PERROR_NUM(errno, "close fd %d", *fd);
	*fd = -1;
}

/*
 * Create a pipe plus the sim's private copy of its read end.  Returns 0 or
 * -errno (logged); on error nothing stays open.
 */
static int make_pipe(int *rd, int *wr, int *peek)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		int err = errno;

		PERROR_NUM(err, "pipe2");
		return -err;
	}
	*peek = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
	if (*peek < 0) {
		int err = errno;

		PERROR_NUM(err, "dup of pipe read end");
		close(p[0]);
		close(p[1]);
		return -err;
	}
	*rd = p[0];
	*wr = p[1];
	return 0;
}

/* True when the pipe probed by peek_fd has no writer left. */
static bool pipe_hung_up(int peek_fd)
{
	struct pollfd pfd = { .fd = peek_fd, .events = POLLIN };

	/* A negative fd is ignored by poll(): no event, not hung up. */
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP);
}

bool sim_rb_buf_hung_up(const struct sim_rb_buf *b)
{
	return pipe_hung_up(b->peek_fd);
}

int sim_rb_fault(struct sim_rb_ctx *ctx, enum sim_op op)
{
	return sim_fault_check(&ctx->w->faults, op);
}

struct sim_rb_chan *sim_rb_chan_of(struct rb_channel *c)
{
	if (!c || c->ops != &sim_rb_ops) {
		ERR("not a sim channel: %p", (void *)c);
		return NULL;
	}
	return (struct sim_rb_chan *)c;
}

struct sim_rb_buf *sim_rb_buf_of(struct rb_stream *s)
{
	if (!s || s->ops != &sim_rb_ops) {
		ERR("not a sim stream: %p", (void *)s);
		return NULL;
	}
	return ((struct sim_rb_stream *)s)->buf;
}

/* Buffer of `cpu` in channel c, or NULL (logged). */
static struct sim_rb_buf *chan_buf(struct rb_channel *c, int cpu)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	if (!ch)
		return NULL;
	if (cpu < 0 || cpu >= ch->nr_bufs) {
		ERR("channel %u has no stream %d", ch->sim_id, cpu);
		return NULL;
	}
	return &ch->bufs[cpu];
}

/* ---- adapter context ---------------------------------------------------- */

int sim_rb_init(struct rb *rb, struct sim_world *w)
{
	struct sim_rb_ctx *ctx;

	if (!rb || !w) {
		ERR("NULL argument");
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		ERR("out of memory");
		return -ENOMEM;
	}
	ctx->w = w;
	rb->ops = &sim_rb_ops;
	rb->ctx = ctx;
	return 0;
}

int sim_rb_fini(struct rb *rb)
{
	struct sim_rb_ctx *ctx;
	int left;

	if (!rb || rb->ops != &sim_rb_ops || !rb->ctx)
		return 0;
	ctx = rb->ctx;
	/* The process exits: the memory of abandoned channels goes with it. */
	for (struct sim_rb_chan *ch = ctx->chans, *next; ch; ch = next) {
		next = ch->next;
		if (ch->abandoned) {
			ch->abandoned = false;
			sim_rb_channel_unref(&ch->base);
		}
	}
	left = (int)ctx->nr_chans;
	rb->ops = NULL;
	rb->ctx = NULL;
	if (left) {
		WARN("sim ring buffer released with %d channel(s) alive", left);
		ctx->closing = true;
		return left;
	}
	free(ctx);
	return 0;
}

unsigned int sim_rb_abandoned_channels(const struct rb *rb)
{
	if (!rb || rb->ops != &sim_rb_ops || !rb->ctx)
		return 0;
	return ((const struct sim_rb_ctx *)rb->ctx)->abandoned;
}

uint64_t sim_rb_outstanding_gets(const struct rb *rb)
{
	const struct sim_rb_ctx *ctx;

	if (!rb || rb->ops != &sim_rb_ops || !rb->ctx)
		return 0;
	ctx = rb->ctx;
	return ctx->gets - ctx->puts;
}

/* Number of possible CPUs: the streams of a per-CPU channel. */
static int sim_nr_streams_per_channel(struct rb *rb)
{
	if (!rb || !rb->ctx) {
		ERR("NULL adapter");
		return -1;
	}
	return ((struct sim_rb_ctx *)rb->ctx)->w->nr_possible_cpus;
}

/* ---- channels ------------------------------------------------------------ */

/* Is v a power of two within [lo, hi]? */
static bool pow2_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* Check creation attributes; returns true or logs why not. */
static bool attr_ok(const struct rb_channel_attr *a, int nr_bufs)
{
	if (a->type != RB_CHAN_PER_CPU && a->type != RB_CHAN_METADATA) {
		ERR("unknown channel type %d", (int)a->type);
		return false;
	}
	if (!pow2_in(a->subbuf_size, SIM_RB_MIN_SUBBUF_SIZE, SIM_RB_MAX_SUBBUF_SIZE) ||
	    !pow2_in(a->num_subbuf, SIM_RB_MIN_NUM_SUBBUF, SIM_RB_MAX_NUM_SUBBUF) ||
	    a->subbuf_size * a->num_subbuf > SIM_RB_MAX_BUF_SIZE) {
		ERR("bad geometry: %" PRIu64 " sub-buffers of %" PRIu64 " bytes", a->num_subbuf,
		    a->subbuf_size);
		return false;
	}
	if (a->stream_fds) {
		if (a->nr_stream_fds != nr_bufs) {
			ERR("%d stream fds for %d streams", a->nr_stream_fds, nr_bufs);
			return false;
		}
		for (int i = 0; i < nr_bufs; i++) {
			if (a->stream_fds[i] < 0) {
				ERR("stream fd %d is %d", i, a->stream_fds[i]);
				return false;
			}
		}
	}
	return true;
}

/*
 * Free a channel and everything in it, closing every fd still open.  Used
 * by the last unref and by a failed channel_create (then shm fds not created
 * here are -1).  The caller unlinked it from the context already.
 */
static void chan_free(struct sim_rb_chan *ch)
{
	for (int i = 0; ch->bufs && i < ch->nr_bufs; i++) {
		struct sim_rb_buf *b = &ch->bufs[i];

		close_fd(&b->wait_fd);
		close_fd(&b->wakeup_fd);
		close_fd(&b->peek_fd);
		free(b->mem);
		free(b->sb);
	}
	for (int i = 0; ch->shm_fds && i < ch->nr_bufs; i++)
		close_fd(&ch->shm_fds[i]);
	close_fd(&ch->wait_fd);
	close_fd(&ch->wakeup_fd);
	close_fd(&ch->peek_fd);
	free(ch->shm_fds);
	free(ch->shm_path);
	free(ch->shm_root);
	free(ch->label);
	free(ch->bufs);
	free(ch);
}

/* Allocate a channel with nr_bufs buffers, pipes and shm fds (own memfds). */
static struct sim_rb_chan *chan_alloc(const struct rb_channel_attr *attr, int nr_bufs)
{
	struct sim_rb_chan *ch = calloc(1, sizeof(*ch));
	size_t bytes = attr->subbuf_size * attr->num_subbuf;

	if (!ch)
		return NULL;
	ch->attr = *attr;
	ch->attr.stream_fds = NULL;
	ch->attr.nr_stream_fds = 0;
	/* Kept for tests (sim_rb_channel_attr); the sim's memory is never a file. */
	ch->attr.shm_path = ch->shm_path = strdup(attr->shm_path ? attr->shm_path : "");
	ch->attr.shm_root = ch->shm_root = strdup(attr->shm_root ? attr->shm_root : "");
	if (!ch->shm_path || !ch->shm_root)
		goto err;
	ch->attr.label = NULL;
	if (attr->label && !(ch->attr.label = ch->label = strdup(attr->label)))
		goto err;
	ch->nr_bufs = nr_bufs;
	ch->wait_fd = ch->wakeup_fd = ch->peek_fd = -1;
	ch->bufs = calloc((size_t)nr_bufs, sizeof(*ch->bufs));
	ch->shm_fds = malloc((size_t)nr_bufs * sizeof(*ch->shm_fds));
	if (!ch->bufs || !ch->shm_fds)
		goto err;
	for (int i = 0; i < nr_bufs; i++) {
		ch->shm_fds[i] = -1;
		ch->bufs[i].wait_fd = ch->bufs[i].wakeup_fd = ch->bufs[i].peek_fd = -1;
	}
	if (make_pipe(&ch->wait_fd, &ch->wakeup_fd, &ch->peek_fd) < 0)
		goto err;
	for (int i = 0; i < nr_bufs; i++) {
		struct sim_rb_buf *b = &ch->bufs[i];

		b->chan = ch;
		b->cpu = i;
		b->mem = calloc(1, bytes);
		b->sb = calloc(attr->num_subbuf, sizeof(*b->sb));
		if (!b->mem || !b->sb)
			goto err;
		sim_rb_buf_reset(b);
		if (make_pipe(&b->wait_fd, &b->wakeup_fd, &b->peek_fd) < 0)
			goto err;
		if (!attr->stream_fds) {
			/* The "shm" only travels to the session daemon; its size is moot. */
			ch->shm_fds[i] = memfd_create("sim-rb-shm", MFD_CLOEXEC);
			if (ch->shm_fds[i] < 0) {
				PERROR_NUM(errno, "memfd_create");
				goto err;
			}
		}
	}
	return ch;
err:
	ERR("cannot allocate a channel of %d stream(s)", nr_bufs);
	chan_free(ch);
	return NULL;
}

/*
 * Create a channel and every stream buffer (with pipes and shm fds) at once,
 * as lttng-ust does.  RB_OK and *out set; RB_ERROR for bad attributes;
 * RB_NOMEM when memory or fds run out (nothing left open, attr fds untouched).
 */
static enum rb_status sim_channel_create(struct rb *rb, const struct rb_channel_attr *attr,
					 struct rb_channel **out)
{
	struct sim_rb_ctx *ctx = rb ? rb->ctx : NULL;
	struct sim_rb_chan *ch;
	int nr_bufs, st;

	if (!ctx || rb->ops != &sim_rb_ops) {
		ERR("not a sim adapter");
		return RB_ERROR;
	}
	st = sim_rb_fault(ctx, SIM_OP_CHANNEL_CREATE);
	if (st)
		return st;
	if (!attr || !out) {
		ERR("NULL argument");
		return RB_ERROR;
	}
	nr_bufs = attr->type == RB_CHAN_METADATA ? 1 : ctx->w->nr_possible_cpus;
	if (!attr_ok(attr, nr_bufs))
		return RB_ERROR;
	ch = chan_alloc(attr, nr_bufs);
	if (!ch)
		return RB_NOMEM;
	/* Success: the consumer's shm fds are ours from here on. */
	if (attr->stream_fds)
		memcpy(ch->shm_fds, attr->stream_fds, (size_t)nr_bufs * sizeof(int));
	ch->base.ops = &sim_rb_ops;
	ch->base.rb = rb;
	ch->ctx = ctx;
	ch->sim_id = ctx->next_id++;
	ch->refs = 1;
	ch->next = ctx->chans;
	ctx->chans = ch;
	ctx->nr_chans++;
	DBG("sim channel %u created: type %d, %" PRIu64 " x %" PRIu64 " bytes, %d stream(s)",
	    ch->sim_id, (int)attr->type, attr->num_subbuf, attr->subbuf_size, nr_bufs);
	*out = &ch->base;
	return RB_OK;
}

void sim_rb_channel_ref(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	if (ch)
		ch->refs++;
}

void sim_rb_channel_unref(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_ctx *ctx;

	if (!ch || --ch->refs)
		return;
	ctx = ch->ctx;
	for (struct sim_rb_chan **pp = &ctx->chans; *pp; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	}
	ctx->nr_chans--;
	DBG("sim channel %u freed", ch->sim_id);
	chan_free(ch);
	if (ctx->closing && ctx->nr_chans == 0)
		free(ctx);
}

/*
 * A destroy stuck in the library (SIM_FAULT_STUCK), as the production
 * adapter's reaper ends it at the deadline (sim_rb.h): the library closed
 * the channel's pipes, the adapter its shm fds; the rest (buffers, the
 * library's fd copies of streams without a handle) is leaked until
 * sim_rb_fini.  One log line, counted, never freed twice: the consumer's
 * reference stays with the leak.
 */
static void chan_abandon(struct sim_rb_chan *ch)
{
	ch->abandoned = true;
	for (int i = 0; i < ch->nr_bufs; i++)
		close_fd(&ch->shm_fds[i]);
	ch->ctx->abandoned++;
	ERR("%s: ring buffer corrupted, ring-buffer destroy stuck; channel abandoned (its memory "
	    "is leaked; %u channel(s) abandoned so far)", ch->label ? ch->label : "channel",
	    ch->ctx->abandoned);
}

/*
 * Consumer's destroy: close the consumer's fd copies (channel, shm, and
 * streams without a handle; a live handle closes its own) and drop the
 * consumer's reference.  A stuck destroy abandons the channel instead
 * (chan_abandon).  Returns at once either way, as the production adapter
 * does (its destroys run on the reaper).
 */
static void sim_channel_destroy(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	int handles = 0;

	if (!ch)
		return;
	if (ch->consumer_gone) {
		ERR("channel %u destroyed twice", ch->sim_id);
		return;
	}
	ch->consumer_gone = true;
	close_fd(&ch->wait_fd);
	close_fd(&ch->wakeup_fd);
	if (sim_rb_fault(ch->ctx, SIM_OP_CHANNEL_DESTROY) == SIM_FAULT_STUCK) {
		chan_abandon(ch);
		return;
	}
	for (int i = 0; i < ch->nr_bufs; i++) {
		struct sim_rb_buf *b = &ch->bufs[i];

		close_fd(&ch->shm_fds[i]);
		if (b->handle) {
			handles++;
			continue;
		}
		close_fd(&b->wait_fd);
		close_fd(&b->wakeup_fd);
	}
	if (handles)
		ERR("channel %u destroyed with %d stream(s) alive; freed after them", ch->sim_id,
		    handles);
	sim_rb_channel_unref(c);
}

/* Consumer's channel wait fd (read end), or -1 once closed. */
static int sim_channel_wait_fd(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	return ch ? ch->wait_fd : -1;
}

/* Consumer's copy of the channel wakeup fd, or -1 once closed. */
static int sim_channel_wakeup_fd(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	return ch ? ch->wakeup_fd : -1;
}

/* Close one consumer fd of a channel after the fault check.  Idempotent. */
static enum rb_status chan_close(struct rb_channel *c, enum sim_op op, bool wait)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	int st;

	if (!ch)
		return RB_ERROR;
	st = sim_rb_fault(ch->ctx, op);
	if (st)
		return st;
	close_fd(wait ? &ch->wait_fd : &ch->wakeup_fd);
	return RB_OK;
}

/* Close the consumer's channel wait fd (idempotent). */
static enum rb_status sim_channel_close_wait_fd(struct rb_channel *c)
{
	return chan_close(c, SIM_OP_CHANNEL_CLOSE_WAIT_FD, true);
}

/* Close the consumer's copy of the channel wakeup fd (idempotent). */
static enum rb_status sim_channel_close_wakeup_fd(struct rb_channel *c)
{
	return chan_close(c, SIM_OP_CHANNEL_CLOSE_WAKEUP_FD, false);
}

/*
 * Close the consumer's shm fd copies (rb.h); the buffers stay readable,
 * send_stream refuses from then on (idempotent).
 */
static enum rb_status sim_channel_close_shm_fds(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	if (!ch)
		return RB_ERROR;
	for (int i = 0; i < ch->nr_bufs; i++)
		close_fd(&ch->shm_fds[i]);
	return RB_OK;
}

/* ---- streams ------------------------------------------------------------- */

/*
 * Create the consumer handle of buffer `cpu`.  RB_NO_STREAM past the last
 * stream (possible CPUs; 1 for metadata), RB_ERROR for a negative cpu or a
 * second handle on the same buffer.
 */
static enum rb_status sim_stream_create(struct rb_channel *c, int cpu, struct rb_stream **out)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_stream *s;
	int st;

	if (!ch)
		return RB_ERROR;
	st = sim_rb_fault(ch->ctx, SIM_OP_STREAM_CREATE);
	if (st)
		return st;
	if (!out || cpu < 0 || ch->consumer_gone) {
		ERR("channel %u: bad stream_create (cpu %d)", ch->sim_id, cpu);
		return RB_ERROR;
	}
	if (cpu >= ch->nr_bufs) {
		DBG("channel %u: no stream %d (%d possible)", ch->sim_id, cpu, ch->nr_bufs);
		return RB_NO_STREAM;
	}
	if (ch->bufs[cpu].handle) {
		ERR("channel %u: stream %d already created", ch->sim_id, cpu);
		return RB_ERROR;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ERR("out of memory");
		return RB_NOMEM;
	}
	s->base.ops = &sim_rb_ops;
	s->base.chan = c;
	s->base.cpu = cpu;
	s->buf = &ch->bufs[cpu];
	s->buf->handle = s;
	ch->refs++;
	*out = &s->base;
	return RB_OK;
}

/*
 * Destroy a consumer handle: close the consumer's fd copies of the stream.
 * A sub-buffer still held is released (logged) but stays counted as a get
 * without a put, which the harness invariant reports.
 */
static void sim_stream_destroy(struct rb_stream *s)
{
	struct sim_rb_buf *b = sim_rb_buf_of(s);

	if (!b)
		return;
	if (sim_rb_buf_held(b))
		WARN("stream %d destroyed while holding a sub-buffer", b->cpu);
	close_fd(&b->wait_fd);
	close_fd(&b->wakeup_fd);
	b->handle = NULL;
	free(s);
	sim_rb_channel_unref(&b->chan->base);
}

/* Consumer's stream wait fd (read end), or -1 once closed. */
static int sim_stream_wait_fd(struct rb_stream *s)
{
	struct sim_rb_buf *b = sim_rb_buf_of(s);

	return b ? b->wait_fd : -1;
}

/* Consumer's copy of the stream wakeup fd, or -1 once closed. */
static int sim_stream_wakeup_fd(struct rb_stream *s)
{
	struct sim_rb_buf *b = sim_rb_buf_of(s);

	return b ? b->wakeup_fd : -1;
}

/* Close one consumer fd of a stream after the fault check.  Idempotent. */
static enum rb_status stream_close(struct rb_stream *s, enum sim_op op, bool wait)
{
	struct sim_rb_buf *b = sim_rb_buf_of(s);
	int st;

	if (!b)
		return RB_ERROR;
	st = sim_rb_fault(b->chan->ctx, op);
	if (st)
		return st;
	close_fd(wait ? &b->wait_fd : &b->wakeup_fd);
	return RB_OK;
}

/* Close the consumer's stream wait fd (idempotent). */
static enum rb_status sim_stream_close_wait_fd(struct rb_stream *s)
{
	return stream_close(s, SIM_OP_STREAM_CLOSE_WAIT_FD, true);
}

/* Close the consumer's copy of the stream wakeup fd (idempotent). */
static enum rb_status sim_stream_close_wakeup_fd(struct rb_stream *s)
{
	return stream_close(s, SIM_OP_STREAM_CLOSE_WAKEUP_FD, false);
}

/* ---- introspection and writer-side helpers --------------------------------- */

int sim_rb_stats(struct rb_channel *c, int cpu, struct sim_rb_stats *out)
{
	struct sim_rb_buf *b = chan_buf(c, cpu);

	if (!b || !out)
		return -EINVAL;
	*out = b->stats;
	out->produced = b->wpos;
	out->consumed = b->consumed;
	out->snap_produced = b->snap_produced;
	out->snap_consumed = b->snap_consumed;
	out->held = sim_rb_buf_held(b);
	out->packet_open = b->packet_open;
	out->hung_up = sim_rb_buf_hung_up(b);
	return 0;
}

int sim_rb_buffer(struct rb_channel *c, int cpu, const void **mem, size_t *len)
{
	struct sim_rb_buf *b = chan_buf(c, cpu);

	if (!b || !mem || !len)
		return -EINVAL;
	*mem = b->mem;
	*len = sim_rb_buf_size(b);
	return 0;
}

bool sim_rb_channel_hung_up(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	return ch && pipe_hung_up(ch->peek_fd);
}

bool sim_rb_stream_hung_up(struct rb_channel *c, int cpu)
{
	struct sim_rb_buf *b = chan_buf(c, cpu);

	return b && sim_rb_buf_hung_up(b);
}

int sim_rb_channel_nr_streams(struct rb_channel *c)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	return ch ? ch->nr_bufs : -EINVAL;
}

int sim_rb_channel_attr(struct rb_channel *c, struct rb_channel_attr *out)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	if (!ch || !out)
		return -EINVAL;
	*out = ch->attr;
	return 0;
}

struct rb_channel *sim_rb_channel_lookup(const struct rb *rb, uint32_t sim_id)
{
	const struct sim_rb_ctx *ctx;

	if (!rb || rb->ops != &sim_rb_ops || !rb->ctx)
		return NULL;
	ctx = rb->ctx;
	for (struct sim_rb_chan *ch = ctx->chans; ch; ch = ch->next)
		if (ch->sim_id == sim_id)
			return &ch->base;
	return NULL;
}

bool sim_rb_same_pipe(struct rb_channel *c, int cpu, int fd)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct stat a, b;
	int peek;

	if (!ch || cpu >= ch->nr_bufs)
		return false;
	peek = cpu < 0 ? ch->peek_fd : ch->bufs[cpu].peek_fd;
	/* Both ends of a pipe share one inode on pipefs. */
	if (fd < 0 || fstat(fd, &a) < 0 || fstat(peek, &b) < 0)
		return false;
	return S_ISFIFO(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int sim_rb_consumer_wakeup_fd(struct rb_channel *c, int cpu)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);

	if (!ch || cpu >= ch->nr_bufs)
		return -1;
	return cpu < 0 ? ch->wakeup_fd : ch->bufs[cpu].wakeup_fd;
}

/* ---- the ops table ----------------------------------------------------------- */

const struct rb_ops sim_rb_ops = {
	.name = "sim",
	.nr_streams_per_channel = sim_nr_streams_per_channel,
	.channel_create = sim_channel_create,
	.channel_destroy = sim_channel_destroy,
	.channel_wait_fd = sim_channel_wait_fd,
	.channel_wakeup_fd = sim_channel_wakeup_fd,
	.channel_close_wait_fd = sim_channel_close_wait_fd,
	.channel_close_wakeup_fd = sim_channel_close_wakeup_fd,
	.channel_close_shm_fds = sim_channel_close_shm_fds,
	.stream_create = sim_stream_create,
	.stream_destroy = sim_stream_destroy,
	.stream_wait_fd = sim_stream_wait_fd,
	.stream_wakeup_fd = sim_stream_wakeup_fd,
	.stream_close_wait_fd = sim_stream_close_wait_fd,
	.stream_close_wakeup_fd = sim_stream_close_wakeup_fd,
	.get_next_subbuf = sim_rb_op_get_next_subbuf,
	.put_next_subbuf = sim_rb_op_put_next_subbuf,
	.get_subbuf = sim_rb_op_get_subbuf,
	.put_subbuf = sim_rb_op_put_subbuf,
	.max_subbuf_size = sim_rb_op_max_subbuf_size,
	.subbuf_size = sim_rb_op_subbuf_size,
	.padded_subbuf_size = sim_rb_op_padded_subbuf_size,
	.read_ptr = sim_rb_op_read_ptr,
	.flush = sim_rb_op_flush,
	.clear = sim_rb_op_clear,
	.snapshot = sim_rb_op_snapshot,
	.snapshot_sample_positions = sim_rb_op_snapshot_sample_positions,
	.snapshot_produced = sim_rb_op_snapshot_produced,
	.snapshot_consumed = sim_rb_op_snapshot_consumed,
	.timestamp_begin = sim_rb_op_timestamp_begin,
	.timestamp_end = sim_rb_op_timestamp_end,
	.events_discarded = sim_rb_op_events_discarded,
	.content_size = sim_rb_op_content_size,
	.packet_size = sim_rb_op_packet_size,
	.sequence_number = sim_rb_op_sequence_number,
	.stream_id = sim_rb_op_stream_id,
	.instance_id = sim_rb_op_instance_id,
	.current_timestamp = sim_rb_op_current_timestamp,
	.write_metadata_packet = sim_rb_op_write_metadata_packet,
	.send_channel = sim_rb_op_send_channel,
	.send_stream = sim_rb_op_send_stream,
};
