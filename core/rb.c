/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rb.c - the checked wrappers of the ring-buffer seam (rb.h): the one
 * record of which get holds a sub-buffer (struct rb_stream.hold) and the one
 * place that refuses what the hold does not allow, so the adapters do not
 * check it again; and the one place that checks what an app can make
 * nonsense by writing its ring buffer (sub-buffer size, positions: issue
 * 11), before the core loops over it or hands it back to the library.
 * Runs on the loop owning the stream; status names.
 */
#include "rb.h"

#include "log.h"

const char *rb_status_str(enum rb_status status)
{
	switch (status) {
	case RB_OK: return "ok";
	case RB_NO_DATA: return "no data";
	case RB_FINALIZED: return "finalized";
	case RB_OVERWRITTEN: return "overwritten";
	case RB_FULL: return "full";
	case RB_NO_STREAM: return "no stream";
	case RB_UNSUPPORTED: return "unsupported";
	case RB_NOMEM: return "out of memory";
	case RB_IO: return "i/o error";
	case RB_CORRUPT: return "ring buffer corrupted";
	case RB_ERROR: return "error";
	}
	return "unknown status";
}

/* ---- checks of what the app can write (issue 11; contract in rb.h) ---- */

enum rb_status rb_channel_create(struct rb *rb, const struct rb_channel_attr *attr,
				 struct rb_channel **out)
{
	enum rb_status rs = rb->ops->channel_create(rb, attr, out);

	/* Geometry the adapter accepted; an overflowing product stays "unknown". */
	if (rs == RB_OK && attr && out && *out && attr->num_subbuf &&
	    attr->subbuf_size <= UINT64_MAX / attr->num_subbuf)
		(*out)->buf_size = attr->subbuf_size * attr->num_subbuf;
	return rs;
}

/* A check failed: the stream is corrupt for good (rb.h).  Always RB_CORRUPT. */
static enum rb_status insane(struct rb_stream *s, const char *why)
{
	DBG("stream (cpu %d): ring buffer corrupted: %s", s->cpu, why);
	rb_mark_corrupt(s, why);
	return RB_CORRUPT;
}

enum rb_status rb_max_subbuf_size(struct rb_stream *s, uint64_t *o)
{
	enum rb_status rs;

	if (s->corrupt)
		return RB_CORRUPT;
	rs = rb_note(s, s->ops->max_subbuf_size(s, o));
	if (rs != RB_OK || !o)
		return rs;
	if (*o == 0 || (*o & (*o - 1)))
		return insane(s, "sub-buffer size not a power of two");
	if (s->seen.max_sb && *o != s->seen.max_sb)
		return insane(s, "sub-buffer size changed");
	s->seen.max_sb = *o;
	return RB_OK;
}

/* A new sample: its positions are checked against each other once both are read. */
static enum rb_status sampled(struct rb_stream *s, enum rb_status rs)
{
	if (rs == RB_OK)
		s->seen.s_has_consumed = s->seen.s_has_produced = false;
	return rb_note(s, rs);
}

enum rb_status rb_snapshot(struct rb_stream *s)
{
	return s->corrupt ? RB_CORRUPT : sampled(s, s->ops->snapshot(s));
}

enum rb_status rb_snapshot_sample_positions(struct rb_stream *s)
{
	return s->corrupt ? RB_CORRUPT : sampled(s, s->ops->snapshot_sample_positions(s));
}

/*
 * Both positions of the current sample are known: consumed <= produced
 * <= consumed + buffer size + one sub-buffer (signed distances: the
 * counters may wrap).  Bounds unknown (buf_size or max_sb 0) are skipped.
 */
static enum rb_status check_sample(struct rb_stream *s)
{
	uint64_t used = s->seen.s_produced - s->seen.s_consumed;
	uint64_t bound = s->chan ? s->chan->buf_size : 0;

	if (!s->seen.s_has_consumed || !s->seen.s_has_produced)
		return RB_OK;
	if ((int64_t)used < 0)
		return insane(s, "consumed position past the produced one");
	if (bound && s->seen.max_sb && bound <= UINT64_MAX - s->seen.max_sb &&
	    used > bound + s->seen.max_sb)
		return insane(s, "positions further apart than the buffer size");
	return RB_OK;
}

enum rb_status rb_snapshot_produced(struct rb_stream *s, uint64_t *o)
{
	enum rb_status rs;
	uint64_t sb;

	if (s->corrupt)
		return RB_CORRUPT;
	rs = rb_note(s, s->ops->snapshot_produced(s, o));
	if (rs != RB_OK || !o)
		return rs;
	/* rb_snapshot floors produced, sample_positions does not: compare sub-buffers. */
	if (s->seen.max_sb) {
		sb = *o & ~(s->seen.max_sb - 1);
		if (s->seen.has_produced && (int64_t)(sb - s->seen.produced_sb) < 0)
			return insane(s, "produced position went backwards");
		s->seen.produced_sb = sb;
		s->seen.has_produced = true;
	}
	s->seen.s_produced = *o;
	s->seen.s_has_produced = true;
	return check_sample(s);
}

enum rb_status rb_snapshot_consumed(struct rb_stream *s, uint64_t *o)
{
	enum rb_status rs;

	if (s->corrupt)
		return RB_CORRUPT;
	rs = rb_note(s, s->ops->snapshot_consumed(s, o));
	if (rs != RB_OK || !o)
		return rs;
	if (s->seen.has_consumed && (int64_t)(*o - s->seen.consumed) < 0)
		return insane(s, "consumed position went backwards");
	s->seen.consumed = *o;
	s->seen.has_consumed = true;
	s->seen.s_consumed = *o;
	s->seen.s_has_consumed = true;
	return check_sample(s);
}

/* ---- hold checks ---- */

/* A get (or a clear) needs a stream that holds nothing: it would leak the hold. */
static bool idle(const struct rb_stream *s, const char *op)
{
	if (s->hold == RB_HOLD_NONE)
		return true;
	ERR("%s (cpu %d): a sub-buffer is already held", op, s->cpu);
	return false;
}

/* A put or an accessor needs a hold; `how` (unless RB_HOLD_NONE) a hold by that get. */
static bool holding(const struct rb_stream *s, enum rb_hold how, const char *op)
{
	if (s->hold != RB_HOLD_NONE && (how == RB_HOLD_NONE || s->hold == how))
		return true;
	ERR("%s (cpu %d): no matching sub-buffer held", op, s->cpu);
	return false;
}

/* Take the hold `how` if the get succeeded. */
static enum rb_status got(struct rb_stream *s, enum rb_status rs, enum rb_hold how)
{
	if (rs == RB_OK)
		s->hold = how;
	return rb_note(s, rs);
}

/* Drop the hold if the put succeeded. */
static enum rb_status put(struct rb_stream *s, enum rb_status rs)
{
	if (rs == RB_OK)
		s->hold = RB_HOLD_NONE;
	return rb_note(s, rs);
}

enum rb_status rb_get_next_subbuf(struct rb_stream *s)
{
	if (s->corrupt)
		return RB_CORRUPT;
	if (!idle(s, "get_next_subbuf"))
		return RB_ERROR;
	return got(s, s->ops->get_next_subbuf(s), RB_HOLD_NEXT);
}

enum rb_status rb_put_next_subbuf(struct rb_stream *s)
{
	if (s->corrupt)
		return RB_CORRUPT;
	if (!holding(s, RB_HOLD_NEXT, "put_next_subbuf"))
		return RB_ERROR;
	return put(s, s->ops->put_next_subbuf(s));
}

enum rb_status rb_get_subbuf(struct rb_stream *s, uint64_t pos)
{
	if (s->corrupt)
		return RB_CORRUPT;
	if (!idle(s, "get_subbuf"))
		return RB_ERROR;
	return got(s, s->ops->get_subbuf(s, pos), RB_HOLD_AT);
}

/* Releases either hold without moving consumed (rb.h). */
enum rb_status rb_put_subbuf(struct rb_stream *s)
{
	if (s->corrupt)
		return RB_CORRUPT;   /* the hold stays; stream_destroy releases it */
	if (!holding(s, RB_HOLD_NONE, "put_subbuf"))
		return RB_ERROR;
	return put(s, s->ops->put_subbuf(s));
}

/* Clearing moves consumed: a held sub-buffer would move under the reader. */
enum rb_status rb_clear(struct rb_stream *s)
{
	if (s->corrupt)
		return RB_CORRUPT;
	if (!idle(s, "clear"))
		return RB_ERROR;
	return rb_note(s, s->ops->clear(s));
}

enum rb_status rb_read_ptr(struct rb_stream *s, const void **o)
{
	if (s->corrupt)
		return RB_CORRUPT;
	if (!holding(s, RB_HOLD_NONE, "read_ptr"))
		return RB_ERROR;
	return rb_note(s, s->ops->read_ptr(s, o));
}

/* The u64 accessors of the held sub-buffer, one line each. */
#define HELD_U64(name)                                                  \
	enum rb_status rb_##name(struct rb_stream *s, uint64_t *o)     \
	{                                                               \
		if (s->corrupt)                                         \
			return RB_CORRUPT;                              \
		if (!holding(s, RB_HOLD_NONE, #name))                   \
			return RB_ERROR;                                \
		return rb_note(s, s->ops->name(s, o));                  \
	}

HELD_U64(subbuf_size)
HELD_U64(padded_subbuf_size)
HELD_U64(timestamp_begin)
HELD_U64(timestamp_end)
HELD_U64(events_discarded)
HELD_U64(content_size)
HELD_U64(packet_size)
HELD_U64(sequence_number)
HELD_U64(stream_id)
HELD_U64(instance_id)
