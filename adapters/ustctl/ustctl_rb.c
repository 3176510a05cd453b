/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_rb.c - core/rb.h implemented over liblttng-ust-ctl 2.13.
 *
 * Most ops are one library call plus a translation of its negative errno
 * into enum rb_status; each translation says why next to it.  What the
 * adapter adds on top of the library, and why:
 *
 *   - Metadata guards.  The metadata transport registers no packet-context
 *     callbacks, and data transports have no packet_avail_size; the 2.13
 *     library calls several of those pointers without checking them.  Such
 *     calls are answered here (RB_UNSUPPORTED / RB_ERROR) without entering
 *     the library.
 *   - SIGBUS guard.  Every call that touches a stream's shared memory runs
 *     under ustctl_sigbus_call(), because the library's own recovery is
 *     broken in 2.13.5 (ustctl_sigbus.h); a truncated shm file gives -EIO.
 *   - Stream-limit check before lttng_ust_ctl_create_stream(): for the
 *     metadata (global) buffer the library ignores `cpu` and would happily
 *     open buffer 0 again under another number.
 *   - Stale-fd guards before sending objects: the library caches fd numbers
 *     in its own structures and would send a number that was closed (and
 *     possibly reused by an unrelated file) after a close_*_wakeup_fd.
 *   - Stream shm fd ownership.  The library never closes fds it was given
 *     (it marks them "not owned"), so the channel keeps them and closes them
 *     after the library channel is destroyed; --shm-path files are unlinked
 *     then too (ustctl_shm_files.h).
 *
 * errno -> rb_status, in short (the "why" sits at each call):
 *   get_next_subbuf / snapshot: -EAGAIN -> RB_NO_DATA, -ENODATA -> RB_FINALIZED;
 *   get_subbuf: -EAGAIN -> RB_OVERWRITTEN, -ENODATA -> RB_FINALIZED;
 *   write_one_packet: -ENOBUFS -> -RB_FULL;  create_stream past the last
 *   buffer -> RB_NO_STREAM;  packet getters: -ENOTTY / -ENOSYS ->
 *   RB_UNSUPPORTED;  close of a closed fd (-ENOENT) -> RB_OK;  -ENOMEM ->
 *   RB_NOMEM;  send_* failures -> RB_IO;  anything else (incl. -EIO from a
 *   SIGBUS) -> RB_ERROR with an ERR line.
 *
 * Threading: stream ops are serialised per stream by the caller (rb.h); the
 * only state shared between streams is the channel's live-stream counter,
 * which is atomic.
 */
#include "ustctl_rb.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lttng/ust-ctl.h>

#include "log.h"
#include "ustctl_reaper.h"
#include "ustctl_shm_files.h"
#include "ustctl_sigbus.h"

_Static_assert(sizeof(unsigned long) == sizeof(uint64_t),
	       "positions cross the seam as uint64_t; sluice is a 64-bit consumer");
_Static_assert(sizeof(struct lttng_ust_ctl_consumer_channel_attr) == 64,
	       "packed channel attributes of lttng-ust 2.13");
_Static_assert(RB_UUID_LEN == LTTNG_UST_UUID_LEN, "trace uuid length");

/* Bound on name collisions when creating anonymous shm objects. */
#define ANON_SHM_ATTEMPTS 64

struct ustctl_channel {
	struct rb_channel base;                     /* first: rb.h casts through it */
	struct lttng_ust_ctl_consumer_channel *uchan;
	enum rb_chan_type type;
	int nr_streams_max;                         /* streams the channel can have */
	int *stream_fds;                            /* owned, closed after uchan is gone */
	int nr_stream_fds;
	char *shm_path;                             /* --shm-path file prefix, or NULL */
	char *shm_root;                             /* prune empty directories up to here */
	char *label;                                /* for log lines, or NULL */
	atomic_int nr_streams;                      /* live streams: destroy waits for 0 */
};

struct ustctl_stream {
	struct rb_stream base;                      /* first: rb.h casts through it */
	struct lttng_ust_ctl_consumer_stream *ustream;
};

/* ---- helpers ---------------------------------------------------------- */

/* The adapter channel behind `c`, or NULL (logged) if it is not ours. */
static struct ustctl_channel *chan_of(struct rb_channel *c, const char *op)
{
	if (!c || c->ops != &ustctl_rb_ops) {
		ERR("%s: not a ustctl channel", op);
		return NULL;
	}
	return (struct ustctl_channel *)c;
}

/* The adapter stream behind `s`, or NULL (logged) if it is not ours. */
static struct ustctl_stream *stream_of(struct rb_stream *s, const char *op)
{
	if (!s || s->ops != &ustctl_rb_ops) {
		ERR("%s: not a ustctl stream", op);
		return NULL;
	}
	return (struct ustctl_stream *)s;
}

/* True for the stream of a metadata channel. */
static bool is_metadata(const struct ustctl_stream *s)
{
	return ((const struct ustctl_channel *)s->base.chan)->type == RB_CHAN_METADATA;
}

/*
 * Translate a negative errno that has no call-specific meaning.  Logs, since
 * every caller treats these as failures.
 */
static enum rb_status map_errno(int ret, const char *op, int cpu)
{
	switch (ret) {
	case -ENOMEM:
		/* Allocation inside the library: the caller may retry later. */
		ERR("%s (cpu %d): out of memory", op, cpu);
		return RB_NOMEM;
	case -EIO:
		/*
		 * The library's SIGBUS transaction fired: the stream's shm file was
		 * truncated under us.  The buffer is unusable but the process is fine.
		 */
		ERR("%s (cpu %d): ring-buffer shared memory is gone (SIGBUS caught)", op, cpu);
		return RB_ERROR;
	case -EFAULT:
	case -ETIMEDOUT:
		/*
		 * The guard (ustctl_sigbus.h) abandoned the call: a fault or a failed
		 * assertion inside the library, or a call stuck past its deadline.
		 * Both mean the app wrote nonsense into the shm; the guard logged it.
		 */
		ERR("%s (cpu %d): ring buffer corrupted", op, cpu);
		return RB_CORRUPT;
	case -EPERM:
		/*
		 * lttng-ust 2.13 answers -EPERM when a shm reference it follows from
		 * the buffer (buf->backend.chan, a sub-buffer table entry) points
		 * outside its mappings (ring_buffer_frontend.c: lib_ring_buffer_
		 * snapshot(), lib_ring_buffer_get_subbuf()): its own corruption check.
		 */
		ERR("%s (cpu %d): ring buffer corrupted (shm reference out of range)", op, cpu);
		return RB_CORRUPT;
	default:
		ERR("%s (cpu %d): %s", op, cpu, log_strerror(-ret));
		return RB_ERROR;
	}
}

/*
 * Translate the errno of a packet-field getter: "this tracer has no such
 * field" is an answer, not a failure.
 */
static enum rb_status map_getter_errno(int ret, const char *op, int cpu)
{
	switch (ret) {
	case -ENOTTY:
		/* lttng-tools' reading of an ABI without the field (older tracers). */
	case -ENOSYS:
		/* 2.13: the transport registered no callback for this field. */
		DBG("%s (cpu %d): not provided by this tracer", op, cpu);
		return RB_UNSUPPORTED;
	default:
		return map_errno(ret, op, cpu);
	}
}

/* Close `n` fds, logging (not failing on) errors: used on teardown paths. */
static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0 && close(fds[i]) < 0)
			PERROR_NUM(errno, "close stream shm fd %d", fds[i]);
	}
}

/* close_fds on the channel's own array, each slot then -1 (closing twice is a no-op). */
static void close_own_fds(int *fds, int n)
{
	close_fds(fds, n);
	for (int i = 0; i < n; i++)
		fds[i] = -1;
}

/*
 * Create an anonymous POSIX shm object: a unique name opened with O_EXCL and
 * unlinked at once, so nothing is left in /dev/shm even if we crash later.
 * Returns the fd (close-on-exec, as shm_open makes it) or a negative errno.
 */
static int anon_shm_create(void)
{
	static atomic_uint seq;
	char name[64];

	for (int attempt = 0; attempt < ANON_SHM_ATTEMPTS; attempt++) {
		int fd, err;

		snprintf(name, sizeof(name), "/sluice-ust-%ld-%u", (long)getpid(),
			 atomic_fetch_add(&seq, 1));
		fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0700);
		if (fd < 0) {
			err = errno;
			if (err == EEXIST)
				continue;   /* leftover of a crashed process with our pid */
			PERROR_NUM(err, "shm_open %s", name);
			return -err;
		}
		if (shm_unlink(name) < 0) {
			err = errno;
			PERROR_NUM(err, "shm_unlink %s", name);
			close(fd);
			return -err;
		}
		return fd;
	}
	ERR("shm_open: %d name collisions in a row", ANON_SHM_ATTEMPTS);
	return -EEXIST;
}

/* ---- library calls under the SIGBUS guard ------------------------------ */

/*
 * Every library call that reads or writes a stream's shared memory runs
 * through ustctl_sigbus_call(), so a truncated shm file turns into -EIO
 * (see ustctl_sigbus.h for why the library cannot be trusted with this).
 * Calls that only touch the channel's private heap objects (fd getters and
 * closers of the channel, stream fd closers, sends) run unguarded.
 */

typedef int (*plain_fn)(struct lttng_ust_ctl_consumer_stream *);
typedef int (*ulong_fn)(struct lttng_ust_ctl_consumer_stream *, unsigned long *);
typedef int (*u64_fn)(struct lttng_ust_ctl_consumer_stream *, uint64_t *);

/* Arguments and results of one guarded stream call. */
struct lib_call {
	struct lttng_ust_ctl_consumer_stream *us;
	plain_fn plain;
	ulong_fn ulong;
	u64_fn u64;
	unsigned long ul;
	uint64_t v;
	char *base;
	bool held;
};

/* Thunks: unpack a struct lib_call and make the call inside the guard. */
static int thunk_plain(void *arg)
{
	struct lib_call *c = arg;

	return c->plain(c->us);
}

static int thunk_ulong(void *arg)
{
	struct lib_call *c = arg;

	return c->ulong(c->us, &c->ul);
}

static int thunk_u64(void *arg)
{
	struct lib_call *c = arg;

	return c->u64(c->us, &c->v);
}

/* mmap base (NULL if the library caught a fault) and reader-slot offset. */
static int thunk_read_ptr(void *arg)
{
	struct lib_call *c = arg;

	c->base = lttng_ust_ctl_get_mmap_base(c->us);
	if (!c->base)
		return -EIO;   /* a fixed library caught the fault itself */
	return lttng_ust_ctl_get_mmap_read_offset(c->us, &c->ul);
}

/* Release a held reader slot unconsumed, then close the reader side. */
static int thunk_destroy(void *arg)
{
	struct lib_call *c = arg;

	if (c->held)
		(void)lttng_ust_ctl_put_subbuf(c->us);
	lttng_ust_ctl_destroy_stream(c->us);
	return 0;
}

/* fn(us): its result, or -EIO after a SIGBUS. */
static int call_plain(struct lttng_ust_ctl_consumer_stream *us, plain_fn fn)
{
	struct lib_call c = { .us = us, .plain = fn };

	return ustctl_sigbus_call(thunk_plain, &c);
}

/* fn(us, inout): *inout is read and, on success, written back. */
static int call_ulong(struct lttng_ust_ctl_consumer_stream *us, ulong_fn fn, unsigned long *inout)
{
	struct lib_call c = { .us = us, .ulong = fn, .ul = *inout };
	int ret = ustctl_sigbus_call(thunk_ulong, &c);

	if (ret >= 0)
		*inout = c.ul;
	return ret;
}

/* fn(us, out): *out written on success only. */
static int call_u64(struct lttng_ust_ctl_consumer_stream *us, u64_fn fn, uint64_t *out)
{
	struct lib_call c = { .us = us, .u64 = fn };
	int ret = ustctl_sigbus_call(thunk_u64, &c);

	if (ret >= 0)
		*out = c.v;
	return ret;
}

/* The flush modes as one-argument calls, for call_plain(). */
static int lib_flush_active(struct lttng_ust_ctl_consumer_stream *us)
{
	return lttng_ust_ctl_flush_buffer(us, 1);
}

static int lib_flush_final(struct lttng_ust_ctl_consumer_stream *us)
{
	return lttng_ust_ctl_flush_buffer(us, 0);
}

struct create_call {
	struct lttng_ust_ctl_consumer_channel *uchan;
	int cpu;
	struct lttng_ust_ctl_consumer_stream *us;
};

/* Open the reader side of one buffer; -EBUSY when the library returns NULL. */
static int thunk_create_stream(void *arg)
{
	struct create_call *c = arg;

	c->us = lttng_ust_ctl_create_stream(c->uchan, c->cpu);
	return c->us ? 0 : -EBUSY;   /* NULL in range: opened twice (or no memory) */
}

struct write_call {
	struct lttng_ust_ctl_consumer_channel *uchan;
	const char *buf;
	size_t len;
	ssize_t n;
};

/* One metadata packet write; the library result is left in c->n. */
static int thunk_write_packet(void *arg)
{
	struct write_call *c = arg;

	c->n = lttng_ust_ctl_write_one_packet_to_channel(c->uchan, c->buf, c->len);
	return 0;
}

/* ---- adapter-wide ----------------------------------------------------- */

/* Number of possible CPUs as the library counts them (highest id + 1). */
static int ustctl_nr_streams_per_channel(struct rb *rb)
{
	int n = lttng_ust_ctl_get_nr_stream_per_channel();

	(void)rb;
	if (n <= 0) {
		ERR("lttng_ust_ctl_get_nr_stream_per_channel returned %d", n);
		return n < 0 ? n : -EINVAL;
	}
	return n;
}

/* ---- channel ---------------------------------------------------------- */

/* True for a non-zero power of two. */
static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * Fill the library's packed attributes.  Returns false (logged) for a type
 * the library does not know.
 */
static bool fill_lib_attr(const struct rb_channel_attr *attr,
			  struct lttng_ust_ctl_consumer_channel_attr *uattr)
{
	memset(uattr, 0, sizeof(*uattr));
	switch (attr->type) {
	case RB_CHAN_PER_CPU:
		uattr->type = LTTNG_UST_ABI_CHAN_PER_CPU;
		break;
	case RB_CHAN_METADATA:
		uattr->type = LTTNG_UST_ABI_CHAN_METADATA;
		break;
	default:
		ERR("channel type %d unknown", (int)attr->type);
		return false;
	}
	uattr->subbuf_size = attr->subbuf_size;
	uattr->num_subbuf = attr->num_subbuf;
	uattr->overwrite = attr->overwrite ? 1 : 0;
	uattr->switch_timer_interval = attr->switch_timer_us;
	uattr->read_timer_interval = attr->read_timer_us;
	/* The only output lttng-ust 2.13 consumers support. */
	uattr->output = LTTNG_UST_ABI_MMAP;
	uattr->chan_id = attr->chan_id;
	memcpy(uattr->uuid, attr->uuid, sizeof(uattr->uuid));
	uattr->blocking_timeout = attr->blocking_timeout_us;
	return true;
}

/* Close the stream shm fds, remove the --shm-path files, free the names. */
static void channel_free_fds(struct ustctl_channel *c)
{
	close_fds(c->stream_fds, c->nr_stream_fds);
	if (c->shm_path && c->nr_stream_fds > 0)
		ustctl_shm_files_remove(c->shm_path, c->nr_stream_fds, c->shm_root);
	free(c->stream_fds);
	free(c->shm_path);
	free(c->shm_root);
	free(c->label);
}

/*
 * A metadata channel is never sent to anyone and the core polls its stream
 * through a pipe of its own (rb.h): the shm fd (mapped by now; unless
 * `supplied` by the caller) and the channel's wait and wakeup pipe are
 * closed at once, three descriptors per session (per app with per-PID
 * buffers) that would never be used.  The buffer's own wait and wakeup pipe
 * stays: a closed one would be harmless, but the stream getters report it.
 * A failed close only leaves that fd open (logged).
 */
static void metadata_channel_close_unused_fds(struct ustctl_channel *c, bool supplied)
{
	int ret;

	/* A caller that supplied the shm fd may still use it: it stays open until the destroy. */
	if (!supplied)
		close_own_fds(c->stream_fds, c->nr_stream_fds);
	ret = lttng_ust_ctl_channel_close_wait_fd(c->uchan);
	if (ret < 0 && ret != -ENOENT)
		PERROR_NUM(-ret, "metadata channel: closing its unused wait fd");
	ret = lttng_ust_ctl_channel_close_wakeup_fd(c->uchan);
	if (ret < 0 && ret != -ENOENT)
		PERROR_NUM(-ret, "metadata channel: closing its unused wakeup fd");
}

/*
 * Create a channel: shm fds (given, --shm-path files or anonymous), then
 * the library channel.
 * Caller-supplied stream_fds are ours whatever the outcome.
 */
static enum rb_status ustctl_channel_create(struct rb *rb, const struct rb_channel_attr *attr,
					    struct rb_channel **out)
{
	struct lttng_ust_ctl_consumer_channel_attr uattr;
	struct ustctl_channel *c = NULL;
	enum rb_status st = RB_ERROR;
	int expected;

	if (!attr) {
		ERR("channel_create: no attributes");
		return RB_ERROR;
	}
	if (!rb || !out) {
		ERR("channel_create: NULL rb or out");
		goto error_supplied;
	}
	if (!fill_lib_attr(attr, &uattr))
		goto error_supplied;
	if (!is_pow2(attr->subbuf_size) || !is_pow2(attr->num_subbuf)) {
		ERR("channel_create: sub-buffer size %" PRIu64 " and count %" PRIu64
		    " must be non-zero powers of 2", attr->subbuf_size, attr->num_subbuf);
		goto error_supplied;
	}
	if (attr->type == RB_CHAN_METADATA) {
		expected = 1;   /* one global buffer */
	} else {
		expected = ustctl_nr_streams_per_channel(rb);
		if (expected <= 0)
			goto error_supplied;
	}
	if (attr->stream_fds && attr->nr_stream_fds != expected) {
		ERR("channel_create: %d stream fds given, the channel has %d streams",
		    attr->nr_stream_fds, expected);
		goto error_supplied;
	}

	c = calloc(1, sizeof(*c));
	if (c)
		c->stream_fds = calloc((size_t)expected, sizeof(*c->stream_fds));
	if (!c || !c->stream_fds) {
		ERR("channel_create: out of memory");
		st = RB_NOMEM;
		goto error_alloc;
	}
	if (attr->stream_fds) {
		memcpy(c->stream_fds, attr->stream_fds, (size_t)expected * sizeof(int));
		c->nr_stream_fds = expected;
	} else if (attr->shm_path && attr->shm_path[0]) {
		c->shm_path = strdup(attr->shm_path);
		c->shm_root = attr->shm_root && attr->shm_root[0] ? strdup(attr->shm_root) : NULL;
		if (!c->shm_path || (attr->shm_root && attr->shm_root[0] && !c->shm_root)) {
			st = RB_NOMEM;
			goto error_fds;
		}
		if (ustctl_shm_files_create(c->shm_path, expected, attr->shm_uid, attr->shm_gid,
					    c->stream_fds) < 0)
			goto error_fds;
		c->nr_stream_fds = expected;
	} else {
		while (c->nr_stream_fds < expected) {
			int fd = anon_shm_create();

			if (fd < 0) {
				st = fd == -ENOMEM ? RB_NOMEM : RB_ERROR;
				goto error_fds;
			}
			c->stream_fds[c->nr_stream_fds++] = fd;
		}
	}

	if (attr->label && !(c->label = strdup(attr->label))) {
		st = RB_NOMEM;
		goto error_fds;
	}
	c->uchan = lttng_ust_ctl_create_channel(&uattr, c->stream_fds, c->nr_stream_fds);
	if (!c->uchan) {
		/* The library says nothing more; its usual refusals are sizes. */
		ERR("lttng_ust_ctl_create_channel failed (type %d, %" PRIu64 " x %" PRIu64
		    " bytes, overwrite %d)", (int)attr->type, attr->num_subbuf, attr->subbuf_size,
		    uattr.overwrite);
		st = RB_ERROR;
		goto error_fds;
	}
	if (attr->type == RB_CHAN_METADATA)
		metadata_channel_close_unused_fds(c, attr->stream_fds != NULL);
	c->base.ops = &ustctl_rb_ops;
	c->base.rb = rb;
	c->type = attr->type;
	c->nr_streams_max = expected;
	atomic_init(&c->nr_streams, 0);
	*out = &c->base;
	DBG("ustctl channel created: type %d, %d streams, %" PRIu64 " x %" PRIu64 " bytes",
	    (int)c->type, expected, attr->num_subbuf, attr->subbuf_size);
	return RB_OK;

error_fds:
	channel_free_fds(c);
	free(c);
	return st;
error_alloc:
	if (c)
		free(c->stream_fds);
	free(c);
error_supplied:
	if (attr->stream_fds && attr->nr_stream_fds > 0)
		close_fds(attr->stream_fds, attr->nr_stream_fds);
	return st;
}

/* Channels the reaper gave up on (their destroy was stuck or faulted). */
static atomic_ulong nr_abandoned;

unsigned long ustctl_rb_abandoned_channels(void)
{
	return atomic_load(&nr_abandoned);
}

static int thunk_destroy_channel(void *arg)
{
	lttng_ust_ctl_destroy_channel(arg);
	return 0;
}

/*
 * Reaper job: destroy the library channel (it closes its wait/wakeup pipes
 * and unmaps), then the stream shm fds the library does not own.  The
 * library walks each stream's buffer between positions the app can write:
 * under the guard, a destroy that faults or runs past the deadline is
 * abandoned: the library's channel (heap and mappings) is leaked, never
 * touched again; our fds and files are released all the same.
 */
static void reap_channel(void *arg)
{
	struct ustctl_channel *c = arg;
	int ret = ustctl_sigbus_call(thunk_destroy_channel, c->uchan);

	if (ret < 0) {
		unsigned long n = atomic_fetch_add(&nr_abandoned, 1) + 1;

		ERR("%s: ring buffer corrupted, liblttng-ust-ctl destroy %s; channel abandoned "
		    "(its memory is leaked; %lu channel(s) abandoned so far)",
		    c->label ? c->label : "channel", ret == -ETIMEDOUT ? "stuck" : "crashed", n);
	}
	channel_free_fds(c);
	free(c);
}

/*
 * Hand the channel to the reaper (ustctl_reaper.h) and return at once.
 * Refused while streams live: they point into this channel.
 */
static void ustctl_channel_destroy(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_destroy");
	int live;

	if (!c)
		return;
	live = atomic_load(&c->nr_streams);
	if (live > 0) {
		ERR("channel_destroy: %d stream(s) still alive; channel kept", live);
		return;
	}
	ustctl_reaper_submit(reap_channel, c);
}

bool ustctl_rb_drain(unsigned int timeout_ms)
{
	return ustctl_reaper_drain(timeout_ms);
}

/* Channel wait fd (pipe read end), -1 once closed. */
static int ustctl_channel_wait_fd(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_wait_fd");
	int fd;

	if (!c)
		return -1;
	fd = lttng_ust_ctl_channel_get_wait_fd(c->uchan);
	return fd < 0 ? -1 : fd;   /* closed slots read -1 */
}

/* Our copy of the channel wakeup fd (pipe write end), -1 once closed. */
static int ustctl_channel_wakeup_fd(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_wakeup_fd");
	int fd;

	if (!c)
		return -1;
	fd = lttng_ust_ctl_channel_get_wakeup_fd(c->uchan);
	return fd < 0 ? -1 : fd;   /* closed slots read -1 */
}

/*
 * Result of a library close_*_fd call.  -ENOENT: the slot was already -1,
 * i.e. closed before; rb.h makes closing idempotent, so that is success.
 * Other errors come from close(2) itself, after the library forgot the fd.
 */
static enum rb_status map_close(int ret, const char *op, int cpu)
{
	if (ret == 0 || ret == -ENOENT)
		return RB_OK;
	return map_errno(ret, op, cpu);
}

/* Close the channel wait fd; RB_OK when already closed. */
static enum rb_status ustctl_channel_close_wait_fd(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_close_wait_fd");

	if (!c)
		return RB_ERROR;
	return map_close(lttng_ust_ctl_channel_close_wait_fd(c->uchan), "channel_close_wait_fd", -1);
}

/* Close our channel wakeup copy (after GET_CHANNEL); RB_OK when already closed. */
static enum rb_status ustctl_channel_close_wakeup_fd(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_close_wakeup_fd");

	if (!c)
		return RB_ERROR;
	return map_close(lttng_ust_ctl_channel_close_wakeup_fd(c->uchan),
			 "channel_close_wakeup_fd", -1);
}

/*
 * Close our stream shm fds (rb.h).  The library mapped them at channel
 * creation and, not owning them, uses them only to send a stream
 * (lttng_ust_ctl_send_stream_to_sessiond); send_stream checks for the -1
 * left here.  The count stays: the --shm-path files are removed by name.
 */
static enum rb_status ustctl_channel_close_shm_fds(struct rb_channel *chan)
{
	struct ustctl_channel *c = chan_of(chan, "channel_close_shm_fds");

	if (!c)
		return RB_ERROR;
	close_own_fds(c->stream_fds, c->nr_stream_fds);
	return RB_OK;
}

/* ---- stream ----------------------------------------------------------- */

static int ustctl_stream_wait_fd(struct rb_stream *stream);

/* Make a wait fd non-blocking; a failure is logged (the reader may then block). */
static void set_nonblock(int fd, const char *what, int cpu)
{
	int flags;

	if (fd < 0)
		return;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		ERR("%s (cpu %d): cannot make it non-blocking: %s", what, cpu, log_strerror(errno));
}

/*
 * Open the reader side of buffer `cpu`.  RB_NO_STREAM from the first cpu
 * past the channel's last buffer: that is how the caller's loop ends (the
 * library would return NULL there for per-CPU channels, and for metadata it
 * would silently reopen buffer 0, hence the check before calling it).
 */
static enum rb_status ustctl_stream_create(struct rb_channel *chan, int cpu, struct rb_stream **out)
{
	struct ustctl_channel *c = chan_of(chan, "stream_create");
	struct create_call cc = { 0 };
	struct ustctl_stream *s;
	int ret;

	if (!c)
		return RB_ERROR;
	if (!out || cpu < 0) {
		ERR("stream_create: bad arguments (cpu %d)", cpu);
		return RB_ERROR;
	}
	if (cpu >= c->nr_streams_max)
		return RB_NO_STREAM;
	s = calloc(1, sizeof(*s));
	if (!s) {
		ERR("stream_create (cpu %d): out of memory", cpu);
		return RB_NOMEM;
	}
	cc.uchan = c->uchan;
	cc.cpu = cpu;
	ret = ustctl_sigbus_call(thunk_create_stream, &cc);
	if (ret < 0) {
		free(s);
		if (ret == -EBUSY) {
			ERR("lttng_ust_ctl_create_stream failed for cpu %d (stream already open?)",
			    cpu);
			return RB_ERROR;
		}
		return map_errno(ret, "stream_create", cpu);
	}
	s->ustream = cc.us;
	s->base.ops = &ustctl_rb_ops;
	s->base.chan = &c->base;
	s->base.cpu = cpu;
	atomic_fetch_add(&c->nr_streams, 1);
	/*
	 * The library's wait fd is a blocking pipe; the consumer reads its
	 * wake-up bytes from an event loop, which must never block (rb.h).
	 */
	set_nonblock(ustctl_stream_wait_fd(&s->base), "stream wait fd", cpu);
	*out = &s->base;
	return RB_OK;
}

/*
 * Close the reader side (the library also closes the stream's wait and
 * wakeup fds).  A sub-buffer still held is released without consuming it,
 * so whoever reads this buffer next still finds the packet.
 */
static void ustctl_stream_destroy(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "stream_destroy");
	struct lib_call call = { 0 };
	struct ustctl_channel *c;

	if (!s)
		return;
	c = (struct ustctl_channel *)s->base.chan;
	if (s->base.hold != RB_HOLD_NONE)
		WARN("stream_destroy (cpu %d): sub-buffer still held, released unconsumed",
		     s->base.cpu);
	/*
	 * The fds first, outside the shm: if the destroy below hits a SIGBUS, the
	 * library's small stream record leaks but no descriptor does.
	 */
	(void)lttng_ust_ctl_stream_close_wait_fd(s->ustream);
	(void)lttng_ust_ctl_stream_close_wakeup_fd(s->ustream);
	call.us = s->ustream;
	call.held = s->base.hold != RB_HOLD_NONE;
	if (ustctl_sigbus_call(thunk_destroy, &call) < 0)
		ERR("stream_destroy (cpu %d): shared memory gone (SIGBUS caught), reader state leaked",
		    s->base.cpu);
	atomic_fetch_sub(&c->nr_streams, 1);
	free(s);
}

/* Stream wait fd, -1 once closed (or, logged, if the shm is gone). */
static int ustctl_stream_wait_fd(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "stream_wait_fd");
	int fd;

	if (!s)
		return -1;
	fd = call_plain(s->ustream, lttng_ust_ctl_stream_get_wait_fd);
	if (fd == -EIO)
		ERR("stream_wait_fd (cpu %d): shared memory is gone (SIGBUS caught)", s->base.cpu);
	return fd < 0 ? -1 : fd;   /* closed slots read -1 */
}

/* Our copy of the stream wakeup fd, -1 once closed (or, logged, if the shm is gone). */
static int ustctl_stream_wakeup_fd(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "stream_wakeup_fd");
	int fd;

	if (!s)
		return -1;
	fd = call_plain(s->ustream, lttng_ust_ctl_stream_get_wakeup_fd);
	if (fd == -EIO)
		ERR("stream_wakeup_fd (cpu %d): shared memory is gone (SIGBUS caught)", s->base.cpu);
	return fd < 0 ? -1 : fd;   /* closed slots read -1 */
}

/* Close the stream wait fd; RB_OK when already closed.  Heap only: unguarded. */
static enum rb_status ustctl_stream_close_wait_fd(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "stream_close_wait_fd");

	if (!s)
		return RB_ERROR;
	return map_close(lttng_ust_ctl_stream_close_wait_fd(s->ustream), "stream_close_wait_fd",
			 s->base.cpu);
}

/* Close our stream wakeup copy (on channel hang-up); RB_OK when already closed. */
static enum rb_status ustctl_stream_close_wakeup_fd(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "stream_close_wakeup_fd");

	if (!s)
		return RB_ERROR;
	return map_close(lttng_ust_ctl_stream_close_wakeup_fd(s->ustream),
			 "stream_close_wakeup_fd", s->base.cpu);
}

/* ---- reading ---------------------------------------------------------- */

/*
 * The library's packet getters read whatever the reader slot points at, held
 * or not, and a second get would leak the first: the rb.h wrappers refuse
 * both before any op below is called.
 */

/* Hold the next complete sub-buffer after the consumed position. */
static enum rb_status ustctl_get_next_subbuf(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "get_next_subbuf");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_get_next_subbuf);
	switch (ret) {
	case 0:
		return RB_OK;
	case -EAGAIN:
		/* Writer still in the only unread sub-buffer, or it is not fully committed. */
		return RB_NO_DATA;
	case -ENODATA:
		/* Buffer finalized and everything consumed: nothing will ever come. */
		return RB_FINALIZED;
	default:
		return map_errno(ret, "get_next_subbuf", s->base.cpu);
	}
}

/* Give back a get_next sub-buffer and move the consumer past it. */
static enum rb_status ustctl_put_next_subbuf(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "put_next_subbuf");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_put_next_subbuf);
	if (ret < 0)
		return map_errno(ret, "put_next_subbuf", s->base.cpu);
	return RB_OK;
}

/* Hold the sub-buffer at byte position `pos` (snapshots); nothing consumed. */
static enum rb_status ustctl_get_subbuf(struct rb_stream *stream, uint64_t pos)
{
	struct ustctl_stream *s = stream_of(stream, "get_subbuf");
	unsigned long lpos = pos;
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_ulong(s->ustream, lttng_ust_ctl_get_subbuf, &lpos);
	switch (ret) {
	case 0:
		return RB_OK;
	case -EAGAIN:
		/*
		 * The position is behind the consumer (overwritten in flight-recorder
		 * mode), or that sub-buffer is not complete (writer head, or a commit
		 * still missing after the library's short retries).
		 */
		return RB_OVERWRITTEN;
	case -ENODATA:
		/* Same, on a finalized buffer: it will not get better. */
		return RB_FINALIZED;
	default:
		return map_errno(ret, "get_subbuf", s->base.cpu);
	}
}

/*
 * Give back a held sub-buffer without moving the consumer position: the
 * end of a snapshot read, or a DATA_PENDING peek after get_next_subbuf
 * (the library's put_next is this plus the consumer move).
 */
static enum rb_status ustctl_put_subbuf(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "put_subbuf");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_put_subbuf);
	if (ret < 0)
		return map_errno(ret, "put_subbuf", s->base.cpu);
	return RB_OK;
}

/* Shared body of the size getters. */
static enum rb_status get_ulong(struct rb_stream *stream, uint64_t *out, ulong_fn fn,
				const char *op)
{
	struct ustctl_stream *s = stream_of(stream, op);
	unsigned long v = 0;
	int ret;

	if (!s)
		return RB_ERROR;
	if (!out) {
		ERR("%s: NULL out", op);
		return RB_ERROR;
	}
	ret = call_ulong(s->ustream, fn, &v);
	if (ret < 0)
		return map_errno(ret, op, s->base.cpu);
	*out = v;
	return RB_OK;
}

/* Sub-buffer size of the channel; no held packet needed. */
static enum rb_status ustctl_max_subbuf_size(struct rb_stream *stream, uint64_t *out)
{
	return get_ulong(stream, out, lttng_ust_ctl_get_max_subbuf_size, "max_subbuf_size");
}

/* Content bytes of the held packet. */
static enum rb_status ustctl_subbuf_size(struct rb_stream *stream, uint64_t *out)
{
	return get_ulong(stream, out, lttng_ust_ctl_get_subbuf_size, "subbuf_size");
}

/* Content bytes of the held packet rounded up to a page. */
static enum rb_status ustctl_padded_subbuf_size(struct rb_stream *stream, uint64_t *out)
{
	return get_ulong(stream, out, lttng_ust_ctl_get_padded_subbuf_size, "padded_subbuf_size");
}

/* mmap base + the reader slot's offset: where the held packet starts. */
static enum rb_status ustctl_read_ptr(struct rb_stream *stream, const void **out)
{
	struct ustctl_stream *s = stream_of(stream, "read_ptr");
	struct lib_call call = { 0 };
	int ret;

	if (!s)
		return RB_ERROR;
	if (!out) {
		ERR("read_ptr: NULL out");
		return RB_ERROR;
	}
	call.us = s->ustream;
	ret = ustctl_sigbus_call(thunk_read_ptr, &call);
	if (ret < 0)
		return map_errno(ret, "read_ptr", s->base.cpu);
	*out = call.base + call.ul;
	return RB_OK;
}

/* Close the open packet: active = only if it holds data; else also an empty one. */
static enum rb_status ustctl_flush(struct rb_stream *stream, bool active)
{
	struct ustctl_stream *s = stream_of(stream, "flush");
	int ret;

	if (!s)
		return RB_ERROR;
	/* 1 = SWITCH_ACTIVE (only a packet with data), 0 = SWITCH_FLUSH (final). */
	ret = call_plain(s->ustream, active ? lib_flush_active : lib_flush_final);
	if (ret < 0)
		return map_errno(ret, "flush", s->base.cpu);
	return RB_OK;
}

/* Move the consumer position to the writer's (never while held: rb.h wrappers). */
static enum rb_status ustctl_clear(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "clear");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_clear_buffer);
	if (ret < 0)
		return map_errno(ret, "clear", s->base.cpu);
	return RB_OK;
}

/* Sample consumed/produced (floored); RB_NO_DATA if no complete sub-buffer. */
static enum rb_status ustctl_snapshot(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "snapshot");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_snapshot);
	switch (ret) {
	case 0:
		return RB_OK;
	case -EAGAIN:
		/* Consumed and produced are in the same sub-buffer: nothing complete. */
		return RB_NO_DATA;
	case -ENODATA:
		/* Same, and the buffer is finalized. */
		return RB_FINALIZED;
	default:
		return map_errno(ret, "snapshot", s->base.cpu);
	}
}

/* Sample consumed/produced unconditionally. */
static enum rb_status ustctl_snapshot_sample_positions(struct rb_stream *stream)
{
	struct ustctl_stream *s = stream_of(stream, "snapshot_sample_positions");
	int ret;

	if (!s)
		return RB_ERROR;
	ret = call_plain(s->ustream, lttng_ust_ctl_snapshot_sample_positions);
	if (ret < 0)
		return map_errno(ret, "snapshot_sample_positions", s->base.cpu);
	return RB_OK;
}

/* Produced position of the last sample (reads the shm: guarded). */
static enum rb_status ustctl_snapshot_produced(struct rb_stream *stream, uint64_t *out)
{
	return get_ulong(stream, out, lttng_ust_ctl_snapshot_get_produced, "snapshot_produced");
}

/* Consumed position of the last sample (reads the shm: guarded). */
static enum rb_status ustctl_snapshot_consumed(struct rb_stream *stream, uint64_t *out)
{
	return get_ulong(stream, out, lttng_ust_ctl_snapshot_get_consumed, "snapshot_consumed");
}

/* ---- packet context --------------------------------------------------- */

/*
 * Shared body of the u64 packet-context getters.  data_only: the library
 * calls the metadata transport's callback unchecked, so it is not called.
 */
static enum rb_status get_u64(struct rb_stream *stream, uint64_t *out, u64_fn fn,
			      bool data_only, const char *op)
{
	struct ustctl_stream *s = stream_of(stream, op);
	uint64_t v = 0;
	int ret;

	if (!s)
		return RB_ERROR;
	if (!out) {
		ERR("%s: NULL out", op);
		return RB_ERROR;
	}
	if (data_only && is_metadata(s)) {
		/* Metadata packets carry no such field; calling in would crash. */
		DBG("%s: not provided by metadata streams", op);
		return RB_UNSUPPORTED;
	}
	ret = call_u64(s->ustream, fn, &v);
	if (ret < 0)
		return map_getter_errno(ret, op, s->base.cpu);
	*out = v;
	return RB_OK;
}

/* Packet-context fields of the held data packet (RB_UNSUPPORTED on metadata). */
static enum rb_status ustctl_timestamp_begin(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_timestamp_begin,
		       true, "timestamp_begin");
}

static enum rb_status ustctl_timestamp_end(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_timestamp_end,
		       true, "timestamp_end");
}

static enum rb_status ustctl_events_discarded(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_events_discarded,
		       true, "events_discarded");
}

static enum rb_status ustctl_content_size(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_content_size,
		       true, "content_size");
}

static enum rb_status ustctl_packet_size(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_packet_size,
		       true, "packet_size");
}

/* The library checks this callback itself (-ENOSYS on metadata). */
static enum rb_status ustctl_sequence_number(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_sequence_number, false,
		       "sequence_number");
}

/* CTF stream id (= chan_id) and instance id (= cpu) of the held data packet. */
static enum rb_status ustctl_stream_id(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_stream_id,
		       true, "stream_id");
}

static enum rb_status ustctl_instance_id(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_instance_id,
		       true, "instance_id");
}

/* No held packet needed; the library checks the callback (-ENOSYS on metadata). */
static enum rb_status ustctl_current_timestamp(struct rb_stream *stream, uint64_t *out)
{
	return get_u64(stream, out, lttng_ust_ctl_get_current_timestamp, false, "current_timestamp");
}

/* ---- metadata --------------------------------------------------------- */

/*
 * Copy at most one packet.  Returns bytes taken (> 0) or a negative
 * rb_status.  The metadata ring is in discard mode, so a full ring refuses
 * the reservation (-ENOBUFS) until the reader puts a sub-buffer back.
 */
static ssize_t ustctl_write_metadata_packet(struct rb_channel *chan, const void *buf, size_t len)
{
	struct ustctl_channel *c = chan_of(chan, "write_metadata_packet");
	struct write_call wc = { 0 };
	ssize_t n;

	if (!c)
		return -RB_ERROR;
	if (c->type != RB_CHAN_METADATA) {
		/* Data transports have no packet_avail_size: the library would crash. */
		ERR("write_metadata_packet: not a metadata channel");
		return -RB_ERROR;
	}
	if (!buf || len == 0) {
		ERR("write_metadata_packet: nothing to write");
		return -RB_ERROR;
	}
	wc.uchan = c->uchan;
	wc.buf = buf;
	wc.len = len;
	if (ustctl_sigbus_call(thunk_write_packet, &wc) < 0)
		return -(ssize_t)map_errno(-EIO, "write_metadata_packet", 0);
	n = wc.n;
	if (n > 0)
		return n;
	if (n == -ENOBUFS)
		return -RB_FULL;
	if (n == 0) {
		/* A zero-byte reservation cannot happen for len > 0. */
		ERR("write_metadata_packet: library took 0 of %zu bytes", len);
		return -RB_ERROR;
	}
	return -(ssize_t)map_errno((int)n, "write_metadata_packet", 0);
}

/* ---- handing objects to the session daemon ---------------------------- */

/*
 * Channel object: u64 size, i32 type, the bytes, then FD[1] (wakeup).
 * The library sends what it cached at creation; refuse once our copy of the
 * wakeup fd was closed rather than send a dead descriptor.
 */
static enum rb_status ustctl_send_channel(struct rb_channel *chan, int sock)
{
	struct ustctl_channel *c = chan_of(chan, "send_channel");
	int ret;

	if (!c)
		return RB_ERROR;
	if (lttng_ust_ctl_channel_get_wakeup_fd(c->uchan) < 0) {
		ERR("send_channel: the channel wakeup fd is already closed");
		return RB_ERROR;
	}
	ret = lttng_ust_ctl_send_channel_to_sessiond(sock, c->uchan);
	if (ret < 0) {
		/* Every failure here is the socket's (short write, peer gone). */
		PERROR_NUM(-ret, "send_channel on fd %d", sock);
		return RB_IO;
	}
	return RB_OK;
}

/*
 * Stream object: u64 size, u32 cpu, FD[2] (shm, wakeup); stream NULL sends
 * the terminator (u64 all-ones).  The library caches the wakeup fd number in
 * its stream; after close_wakeup_fd that number is stale, hence the check.
 */
static enum rb_status ustctl_send_stream(struct rb_channel *chan, struct rb_stream *stream,
					int sock)
{
	struct ustctl_channel *c = chan_of(chan, "send_stream");
	struct ustctl_stream *s = NULL;
	int ret;

	if (!c)
		return RB_ERROR;
	if (stream) {
		s = stream_of(stream, "send_stream");
		if (!s)
			return RB_ERROR;
		if (s->base.chan != chan) {
			ERR("send_stream: stream (cpu %d) belongs to another channel", s->base.cpu);
			return RB_ERROR;
		}
		if (call_plain(s->ustream, lttng_ust_ctl_stream_get_wakeup_fd) < 0) {
			ERR("send_stream: the wakeup fd of stream cpu %d is already closed",
			    s->base.cpu);
			return RB_ERROR;
		}
		/* The library caches the shm fd number too (channel_close_shm_fds). */
		if (s->base.cpu >= c->nr_stream_fds || c->stream_fds[s->base.cpu] < 0) {
			ERR("send_stream: the shm fd of stream cpu %d is already closed",
			    s->base.cpu);
			return RB_ERROR;
		}
	}
	ret = lttng_ust_ctl_send_stream_to_sessiond(sock, s ? s->ustream : NULL);
	if (ret < 0) {
		PERROR_NUM(-ret, "send_stream (%s) on fd %d", s ? "stream" : "terminator", sock);
		return RB_IO;
	}
	return RB_OK;
}

/* ---- the table -------------------------------------------------------- */

int ustctl_rb_init(struct rb *rb)
{
	int ret;

	if (!rb) {
		ERR("ustctl_rb_init: NULL rb");
		return -EINVAL;
	}
	/* Also what links ustctl_sigbus.o, and with it the TLS state, in. */
	ret = ustctl_sigbus_install();
	if (ret < 0)
		return ret;
	rb->ops = &ustctl_rb_ops;
	rb->ctx = NULL;
	return 0;
}

const struct rb_ops ustctl_rb_ops = {
	.name = "ustctl",
	.nr_streams_per_channel = ustctl_nr_streams_per_channel,
	.channel_create = ustctl_channel_create,
	.channel_destroy = ustctl_channel_destroy,
	.channel_wait_fd = ustctl_channel_wait_fd,
	.channel_wakeup_fd = ustctl_channel_wakeup_fd,
	.channel_close_wait_fd = ustctl_channel_close_wait_fd,
	.channel_close_wakeup_fd = ustctl_channel_close_wakeup_fd,
	.channel_close_shm_fds = ustctl_channel_close_shm_fds,
	.stream_create = ustctl_stream_create,
	.stream_destroy = ustctl_stream_destroy,
	.stream_wait_fd = ustctl_stream_wait_fd,
	.stream_wakeup_fd = ustctl_stream_wakeup_fd,
	.stream_close_wait_fd = ustctl_stream_close_wait_fd,
	.stream_close_wakeup_fd = ustctl_stream_close_wakeup_fd,
	.get_next_subbuf = ustctl_get_next_subbuf,
	.put_next_subbuf = ustctl_put_next_subbuf,
	.get_subbuf = ustctl_get_subbuf,
	.put_subbuf = ustctl_put_subbuf,
	.max_subbuf_size = ustctl_max_subbuf_size,
	.subbuf_size = ustctl_subbuf_size,
	.padded_subbuf_size = ustctl_padded_subbuf_size,
	.read_ptr = ustctl_read_ptr,
	.flush = ustctl_flush,
	.clear = ustctl_clear,
	.snapshot = ustctl_snapshot,
	.snapshot_sample_positions = ustctl_snapshot_sample_positions,
	.snapshot_produced = ustctl_snapshot_produced,
	.snapshot_consumed = ustctl_snapshot_consumed,
	.timestamp_begin = ustctl_timestamp_begin,
	.timestamp_end = ustctl_timestamp_end,
	.events_discarded = ustctl_events_discarded,
	.content_size = ustctl_content_size,
	.packet_size = ustctl_packet_size,
	.sequence_number = ustctl_sequence_number,
	.stream_id = ustctl_stream_id,
	.instance_id = ustctl_instance_id,
	.current_timestamp = ustctl_current_timestamp,
	.write_metadata_packet = ustctl_write_metadata_packet,
	.send_channel = ustctl_send_channel,
	.send_stream = ustctl_send_stream,
};
