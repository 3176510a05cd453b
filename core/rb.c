/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rb.c - the hold-checked wrappers of the ring-buffer seam (rb.h): the one
 * record of which get holds a sub-buffer (struct rb_stream.hold) and the one
 * place that refuses what the hold does not allow, so the adapters do not
 * check it again.  Runs on the loop owning the stream; status names.
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
