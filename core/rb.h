/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rb.h - the ring-buffer seam.
 *
 * Every ring-buffer operation a 2.13 UST consumer performs goes through the
 * const ops table below.  Two adapters implement it: adapters/ustctl (over
 * liblttng-ust-ctl, production) and adapters/sim (in-memory simulated tracer).
 * The consumer core never sees a lttng_ust_ctl_* type.
 *
 * Objects: an adapter allocates its own channel / stream structures and embeds
 * `struct rb_channel` / `struct rb_stream` as their FIRST member, so the core
 * can reach the ops through the object (SQLite VFS style).  Callers use the
 * rb_*() wrappers at the bottom of this file, never the ops directly: they are
 * the single place for argument checks and test hooks, and they alone track
 * which sub-buffer a stream holds (struct rb_stream.hold, see rb.c).
 *
 * Positions are byte counters that only grow (like lttng-ust's): the
 * sub-buffer holding position p starts at p & ~(max_subbuf_size - 1).
 *
 * Statuses crossing the seam are `enum rb_status`; each adapter maps raw
 * errno values and documents the mapping next to its code.
 *
 * Threading: an adapter object may be used from several threads, but never
 * concurrently on the same stream: each stream is used only by the loop that
 * owns it (one thread per loop in production, one stepper in the sim).
 */
#ifndef SLUICE_CORE_RB_H
#define SLUICE_CORE_RB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <sys/types.h>

#define RB_UUID_LEN 16

enum rb_status {
	RB_OK = 0,
	RB_NO_DATA,        /* nothing to read now (lttng: -EAGAIN from get_next) */
	RB_FINALIZED,      /* nothing to read and never will be (-ENODATA) */
	RB_OVERWRITTEN,    /* get at position: the sub-buffer was overwritten or
			    * is not complete (lttng: -EAGAIN from get_subbuf) */
	RB_FULL,           /* metadata ring full, retry after a read (-ENOBUFS) */
	RB_NO_STREAM,      /* stream_create past the last possible CPU */
	RB_UNSUPPORTED,    /* field not provided by this tracer (-ENOTTY) */
	RB_NOMEM,
	RB_IO,             /* fd passing / socket error while handing objects */
	RB_CORRUPT,        /* the ring buffer's shared memory makes no sense (the app
			    * wrote into it): the stream is unusable for good */
	RB_ERROR,          /* anything else; the adapter logged the detail */
};

/* Human-readable name of a status, for log lines. Never NULL. */
const char *rb_status_str(enum rb_status status);

enum rb_chan_type {
	RB_CHAN_PER_CPU = 0,   /* values match the lttng-ust ABI on purpose */
	RB_CHAN_METADATA = 1,
};

/* Channel creation attributes (lttng_ust_ctl_consumer_channel_attr). */
struct rb_channel_attr {
	enum rb_chan_type type;
	uint64_t subbuf_size;          /* bytes, power of 2 */
	uint64_t num_subbuf;           /* power of 2 */
	bool overwrite;                /* false: discard mode */
	uint32_t switch_timer_us;      /* periodic packet switch, 0 = off */
	uint32_t read_timer_us;        /* != 0 selects the "rt" transport */
	uint32_t chan_id;              /* CTF stream id; UINT32_MAX for metadata */
	uint8_t uuid[RB_UUID_LEN];     /* trace uuid, written in packet headers */
	int64_t blocking_timeout_us;   /* -1 infinite, 0 non-blocking */
	/*
	 * One shm fd per stream, created by the consumer (anonymous shm or a
	 * --shm-path file) and owned by the adapter from here on; NULL lets the
	 * adapter create its own.  nr_stream_fds must equal
	 * rb_nr_streams_per_channel() for per-CPU channels, 1 for metadata.
	 */
	const int *stream_fds;
	int nr_stream_fds;
	/*
	 * --shm-path (ignored when stream_fds is given): when shm_path is
	 * non-empty, stream i's buffer lives in the file "<shm_path><i>"
	 * instead of anonymous memory, so that lttng-crash can read it after a
	 * crash.  The adapter creates each file (it must not exist; mode 0600,
	 * owned by shm_uid:shm_gid) and, at channel_destroy, unlinks them and
	 * removes the directories left empty, from the files' own up to
	 * shm_root included (when non-empty and above the files).  The
	 * strings are read during channel_create only.
	 */
	const char *shm_path;
	const char *shm_root;
	uid_t shm_uid;
	gid_t shm_gid;
	/* Who the channel is, for the adapter's log lines (copied), or NULL. */
	const char *label;
};

struct rb_ops;
struct rb;

/* Base of every adapter channel; first member of the adapter's struct. */
struct rb_channel {
	const struct rb_ops *ops;
	struct rb *rb;
	/*
	 * Bytes of one stream's buffer (sub-buffer size x count), written by
	 * rb_channel_create() for the position checks of rb.c; 0 = unknown.
	 */
	uint64_t buf_size;
};

/*
 * What the wrappers saw of a stream (rb.c), to check each new answer of the
 * app-writable ring buffer against the last ones (issue 11).  Written by the
 * rb_* wrappers only; zero at creation.
 */
struct rb_seen {
	uint64_t max_sb;           /* first max_subbuf_size answer; 0 until then */
	uint64_t consumed;         /* last consumed position read */
	uint64_t produced_sb;      /* last produced position read, floored to max_sb */
	bool has_consumed, has_produced;
	/* the positions read from the current sample (rb_snapshot / sample_positions) */
	uint64_t s_consumed, s_produced;
	bool s_has_consumed, s_has_produced;
};

/* Which get holds a sub-buffer of a stream: it decides the matching put. */
enum rb_hold {
	RB_HOLD_NONE = 0,
	RB_HOLD_NEXT,   /* get_next_subbuf: put_next_subbuf moves consumed */
	RB_HOLD_AT,     /* get_subbuf(pos): put_subbuf only */
};

/* Base of every adapter stream; first member of the adapter's struct. */
struct rb_stream {
	const struct rb_ops *ops;
	struct rb_channel *chan;
	int cpu;
	enum rb_hold hold;   /* written by the rb_* wrappers only; zero at creation */
	/*
	 * Written by the rb_* wrappers only: an op answered RB_CORRUPT.  From
	 * then on every wrapper of a ring-buffer op answers RB_CORRUPT without
	 * calling the adapter (fd getters, fd closes and destroy excepted), so
	 * a corrupted buffer is entered at most once more.
	 */
	bool corrupt;
	/* Why, when a check of the wrappers or of the core found it (static string), or NULL. */
	const char *corrupt_why;
	struct rb_seen seen;
};

/* An adapter instance: its ops and its private context. */
struct rb {
	const struct rb_ops *ops;
	void *ctx;
};

/*
 * The operations.  Unless stated otherwise a call returns RB_OK or an error
 * status and has no effect on error.  "Held sub-buffer" means one obtained by
 * get_next_subbuf or get_subbuf and not yet put back; the packet accessors
 * (subbuf_size ... instance_id, read_ptr) describe the held sub-buffer.  The
 * wrappers refuse (RB_ERROR, logged) a get or clear while holding, a put
 * without the matching hold and an accessor without a hold, so an adapter op
 * is only called when the hold allows it.
 */
struct rb_ops {
	const char *name;

	/* Number of possible CPUs = streams of a per-CPU channel (> 0), or < 0. */
	int (*nr_streams_per_channel)(struct rb *rb);

	/* Channel lifetime. */
	enum rb_status (*channel_create)(struct rb *rb, const struct rb_channel_attr *attr,
					 struct rb_channel **out);
	/* Frees the channel; its streams must already be destroyed. */
	void (*channel_destroy)(struct rb_channel *chan);

	/*
	 * Channel wait fd (read end: HUP once every holder of the wakeup fd,
	 * i.e. the session daemon and the apps, released the channel) and the
	 * consumer's own copy of the wakeup fd.  get returns the fd or -1 when
	 * closed; close returns RB_OK also when already closed.
	 */
	int (*channel_wait_fd)(struct rb_channel *chan);
	int (*channel_wakeup_fd)(struct rb_channel *chan);
	enum rb_status (*channel_close_wait_fd)(struct rb_channel *chan);
	enum rb_status (*channel_close_wakeup_fd)(struct rb_channel *chan);
	/*
	 * Close the consumer's copies of the stream shm fds.  The buffers stay
	 * mapped; the fds only serve to send the streams (send_stream refuses
	 * from then on), so the core calls this once every stream went to the
	 * session daemon.  The --shm-path files stay where they are.  RB_OK also
	 * when already closed.  A metadata channel (RB_CHAN_METADATA) is never
	 * sent and its stream is polled through the core's own pipe: an adapter
	 * may close its shm fd and the channel's wait and wakeup fds at
	 * creation; the channel getters then return -1.
	 */
	enum rb_status (*channel_close_shm_fds)(struct rb_channel *chan);

	/*
	 * Create the stream of `cpu` (metadata: cpu 0 only).  Returns
	 * RB_NO_STREAM past the last possible CPU: that ends the creation loop.
	 */
	enum rb_status (*stream_create)(struct rb_channel *chan, int cpu, struct rb_stream **out);
	void (*stream_destroy)(struct rb_stream *stream);

	/* Stream wait fd (readable on a delivered sub-buffer, HUP when every
	 * writer is gone; always O_NONBLOCK, it is read from an event loop)
	 * and the consumer's copy of the stream wakeup fd. */
	int (*stream_wait_fd)(struct rb_stream *stream);
	int (*stream_wakeup_fd)(struct rb_stream *stream);
	enum rb_status (*stream_close_wait_fd)(struct rb_stream *stream);
	enum rb_status (*stream_close_wakeup_fd)(struct rb_stream *stream);

	/* Sequential reading: the next complete sub-buffer after consumed. */
	enum rb_status (*get_next_subbuf)(struct rb_stream *stream);
	enum rb_status (*put_next_subbuf)(struct rb_stream *stream);

	/*
	 * Reading at a position (snapshots): pos is a byte position.
	 * put_subbuf releases ANY hold (get_subbuf or get_next_subbuf) without
	 * moving consumed: that is also how DATA_PENDING peeks at a stream.
	 */
	enum rb_status (*get_subbuf)(struct rb_stream *stream, uint64_t pos);
	enum rb_status (*put_subbuf)(struct rb_stream *stream);

	/* Sizes. max_subbuf_size does not need a held sub-buffer. */
	enum rb_status (*max_subbuf_size)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*subbuf_size)(struct rb_stream *stream, uint64_t *out);        /* content bytes */
	enum rb_status (*padded_subbuf_size)(struct rb_stream *stream, uint64_t *out); /* content rounded up to a page */
	/* Address of the held sub-buffer's first byte (mmap base + read offset). */
	enum rb_status (*read_ptr)(struct rb_stream *stream, const void **out);

	/*
	 * Flush: active=true closes the open packet only if it holds data
	 * (SWITCH_ACTIVE); active=false closes it, making an empty packet if
	 * none is open (SWITCH_FLUSH, the "final" flush).
	 */
	enum rb_status (*flush)(struct rb_stream *stream, bool active);
	/* Discard everything not yet consumed. */
	enum rb_status (*clear)(struct rb_stream *stream);

	/*
	 * snapshot: sample consumed and produced (produced floored to a
	 * sub-buffer boundary); RB_NO_DATA when no complete sub-buffer lies
	 * between them.  sample_positions: sample both, unconditionally.
	 * Read the samples with snapshot_produced / snapshot_consumed.
	 */
	enum rb_status (*snapshot)(struct rb_stream *stream);
	enum rb_status (*snapshot_sample_positions)(struct rb_stream *stream);
	enum rb_status (*snapshot_produced)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*snapshot_consumed)(struct rb_stream *stream, uint64_t *out);

	/* Packet context of the held sub-buffer (sizes in bits as in CTF). */
	enum rb_status (*timestamp_begin)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*timestamp_end)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*events_discarded)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*content_size)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*packet_size)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*sequence_number)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*stream_id)(struct rb_stream *stream, uint64_t *out);
	enum rb_status (*instance_id)(struct rb_stream *stream, uint64_t *out);
	/* Tracer clock now, as the stream's timestamps count it. */
	enum rb_status (*current_timestamp)(struct rb_stream *stream, uint64_t *out);

	/*
	 * Copy at most one packet of metadata into a metadata channel.
	 * Returns the number of bytes taken (> 0), or a negative enum
	 * rb_status: -RB_FULL when the ring has no free sub-buffer.
	 */
	ssize_t (*write_metadata_packet)(struct rb_channel *chan, const void *buf, size_t len);

	/*
	 * Hand objects to the session daemon over `sock`: the channel object
	 * (size, type, bytes, FD[1] wakeup), a stream (size, cpu, FD[2] shm +
	 * wakeup) or, with stream == NULL, the end-of-streams terminator.
	 */
	enum rb_status (*send_channel)(struct rb_channel *chan, int sock);
	enum rb_status (*send_stream)(struct rb_channel *chan, struct rb_stream *stream, int sock);
};

/* ---- wrappers: the only way the core calls the seam ---- */

static inline int rb_nr_streams_per_channel(struct rb *rb)
{ return rb->ops->nr_streams_per_channel(rb); }
/* Also records the buffer size for the position checks (rb_channel.buf_size). */
enum rb_status rb_channel_create(struct rb *rb, const struct rb_channel_attr *attr,
				 struct rb_channel **out);
static inline void rb_channel_destroy(struct rb_channel *c)
{ if (c) c->ops->channel_destroy(c); }
static inline int rb_channel_wait_fd(struct rb_channel *c) { return c->ops->channel_wait_fd(c); }
static inline int rb_channel_wakeup_fd(struct rb_channel *c) { return c->ops->channel_wakeup_fd(c); }
static inline enum rb_status rb_channel_close_wait_fd(struct rb_channel *c)
{ return c->ops->channel_close_wait_fd(c); }
static inline enum rb_status rb_channel_close_wakeup_fd(struct rb_channel *c)
{ return c->ops->channel_close_wakeup_fd(c); }
static inline enum rb_status rb_channel_close_shm_fds(struct rb_channel *c)
{ return c->ops->channel_close_shm_fds(c); }
static inline enum rb_status rb_stream_create(struct rb_channel *c, int cpu, struct rb_stream **out)
{ return c->ops->stream_create(c, cpu, out); }
static inline void rb_stream_destroy(struct rb_stream *s) { if (s) s->ops->stream_destroy(s); }
static inline int rb_stream_wait_fd(struct rb_stream *s) { return s->ops->stream_wait_fd(s); }
static inline int rb_stream_wakeup_fd(struct rb_stream *s) { return s->ops->stream_wakeup_fd(s); }
static inline enum rb_status rb_stream_close_wait_fd(struct rb_stream *s)
{ return s->ops->stream_close_wait_fd(s); }
static inline enum rb_status rb_stream_close_wakeup_fd(struct rb_stream *s)
{ return s->ops->stream_close_wakeup_fd(s); }
/*
 * The core found what the ring buffer reports impossible (issue 11: sizes
 * against each other, sequence numbers going back): the stream is corrupt
 * from now on, as if an op had said so.  `why` (a static string) goes into
 * the one log line of the stream's drop (rb_stream.corrupt_why).
 */
static inline void rb_mark_corrupt(struct rb_stream *s, const char *why)
{ if (!s->corrupt) s->corrupt_why = why; s->corrupt = true; }
/* Record a RB_CORRUPT answer on the stream (rb_stream.corrupt). */
static inline enum rb_status rb_note(struct rb_stream *s, enum rb_status st)
{ if (st == RB_CORRUPT) s->corrupt = true; return st; }
static inline enum rb_status rb_flush(struct rb_stream *s, bool active)
{ return s->corrupt ? RB_CORRUPT : rb_note(s, s->ops->flush(s, active)); }
static inline enum rb_status rb_current_timestamp(struct rb_stream *s, uint64_t *o)
{ return s->corrupt ? RB_CORRUPT : rb_note(s, s->ops->current_timestamp(s, o)); }
/*
 * Checked wrappers (rb.c) of what the app can make nonsense (issue 11):
 * max_subbuf_size must be a power of two and never change; the positions
 * never go back (produced compared by sub-buffer, as rb_snapshot floors it)
 * and, from one sample, consumed <= produced <= consumed + buffer size + one
 * sub-buffer (a writer in overwrite mode moves its position before pushing
 * the reader's).  A failed check answers RB_CORRUPT and marks the stream
 * (rb_mark_corrupt) without a log line: the owner of the stream logs its drop.
 */
enum rb_status rb_max_subbuf_size(struct rb_stream *s, uint64_t *o);
enum rb_status rb_snapshot(struct rb_stream *s);
enum rb_status rb_snapshot_sample_positions(struct rb_stream *s);
enum rb_status rb_snapshot_produced(struct rb_stream *s, uint64_t *o);
enum rb_status rb_snapshot_consumed(struct rb_stream *s, uint64_t *o);
/*
 * Hold-checked wrappers (rb.c): they keep s->hold and refuse, with one ERR
 * line, what the hold does not allow.
 */
enum rb_status rb_get_next_subbuf(struct rb_stream *s);
enum rb_status rb_put_next_subbuf(struct rb_stream *s);
enum rb_status rb_get_subbuf(struct rb_stream *s, uint64_t pos);
enum rb_status rb_put_subbuf(struct rb_stream *s);
enum rb_status rb_clear(struct rb_stream *s);
enum rb_status rb_subbuf_size(struct rb_stream *s, uint64_t *o);
enum rb_status rb_padded_subbuf_size(struct rb_stream *s, uint64_t *o);
enum rb_status rb_read_ptr(struct rb_stream *s, const void **o);
enum rb_status rb_timestamp_begin(struct rb_stream *s, uint64_t *o);
enum rb_status rb_timestamp_end(struct rb_stream *s, uint64_t *o);
enum rb_status rb_events_discarded(struct rb_stream *s, uint64_t *o);
enum rb_status rb_content_size(struct rb_stream *s, uint64_t *o);
enum rb_status rb_packet_size(struct rb_stream *s, uint64_t *o);
enum rb_status rb_sequence_number(struct rb_stream *s, uint64_t *o);
enum rb_status rb_stream_id(struct rb_stream *s, uint64_t *o);
enum rb_status rb_instance_id(struct rb_stream *s, uint64_t *o);

static inline ssize_t rb_write_metadata_packet(struct rb_channel *c, const void *buf, size_t len)
{ return c->ops->write_metadata_packet(c, buf, len); }
static inline enum rb_status rb_send_channel(struct rb_channel *c, int sock)
{ return c->ops->send_channel(c, sock); }
static inline enum rb_status rb_send_stream(struct rb_channel *c, struct rb_stream *s, int sock)
{ return c->ops->send_stream(c, s, sock); }

#endif /* SLUICE_CORE_RB_H */
