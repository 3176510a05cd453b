/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * subbuf_read.c - read one sub-buffer of any stream into its output: the
 * only get_next_subbuf / put_next_subbuf sequence of the core.  Called on
 * the stream's owner loop (data loop: stream_drain.c; metadata loop:
 * metadata_pump.c).  The failure policy is in subbuf_read.h.
 */
#include "subbuf_read.h"

#include <errno.h>

#include <urcu/uatomic.h>

#include "log.h"

/* Log a seam failure; returns the errno the caller reports (negative). */
static int seam_error(struct rb_stream *s, const char *what, enum rb_status rs)
{
	/* A corrupted stream is reported once, by its owner loop, when it drops it. */
	if (rs == RB_CORRUPT)
		DBG("stream (cpu %d): %s: %s", s->cpu, what, rb_status_str(rs));
	else
		ERR("stream (cpu %d): %s failed: %s", s->cpu, what, rb_status_str(rs));
	return rs == RB_NOMEM ? -ENOMEM : -EIO;
}

enum release_result { RELEASED, CONSUMED, STILL_HELD };

/* SUBBUF_KEEP: the hold left by the last call (the stream's own, rb.h) is retried. */
static bool kept(const struct subbuf_reader *r, const struct rb_stream *s)
{
	return r->kind->hold == SUBBUF_KEEP && s->hold == RB_HOLD_NEXT;
}

/*
 * Give the held sub-buffer back without consuming it, so the next call
 * reads it again.  SUBBUF_RELEASE: if the seam refuses, consume it instead
 * (see the header); SUBBUF_KEEP: keep the hold, the next call retries.
 */
static enum release_result release_unconsumed(struct subbuf_reader *r, struct rb_stream *s)
{
	enum rb_status rs = rb_put_subbuf(s);

	if (rs == RB_OK) {
		r->held_written = false;
		return RELEASED;
	}
	if (r->kind->hold == SUBBUF_KEEP) {
		seam_error(s, "put_subbuf", rs);
		return STILL_HELD;
	}
	if (rs == RB_CORRUPT)
		return STILL_HELD;   /* stream_destroy releases it */
	ERR("stream (cpu %d): put_subbuf failed: %s; consuming the sub-buffer instead", s->cpu,
	    rb_status_str(rs));
	rs = rb_put_next_subbuf(s);
	if (rs == RB_OK)
		return CONSUMED;
	ERR("stream (cpu %d): put_next_subbuf failed too: %s; sub-buffer left held", s->cpu,
	    rb_status_str(rs));
	return STILL_HELD;
}

/* Consume the held sub-buffer, already in the output.  1 or -errno. */
static int consume_written(struct subbuf_reader *r, struct rb_stream *s, const struct subbuf *sb)
{
	const struct subbuf_kind *k = r->kind;
	enum rb_status rs = rb_put_next_subbuf(s);
	int ret;

	if (rs == RB_OK) {
		r->held_written = false;
		if (k->put_done)
			k->put_done(r->arg, sb, false);
		return 1;
	}
	ret = seam_error(s, "put_next_subbuf", rs);
	/* SUBBUF_KEEP: the hold stays, marked written; the retry only puts. */
	if (k->hold == SUBBUF_KEEP)
		return ret;
	if (k->put_done)
		k->put_done(r->arg, sb, true);
	if (release_unconsumed(r, s) == CONSUMED && k->put_done)
		k->put_done(r->arg, sb, false);
	return ret;
}

/* Describe and write the held sub-buffer.  0 or -errno (nothing written). */
static int write_held(struct subbuf_reader *r, struct rb_stream *s, struct sink_stream *out,
		      struct subbuf *sb)
{
	const void *ptr = NULL;
	enum rb_status rs;
	int ret;

	if (!out)
		return 0;
	rs = rb_read_ptr(s, &ptr);
	if (rs != RB_OK)
		return seam_error(s, "read_ptr", rs);
	ret = sink_write_packet(out, ptr, sb->size, sb->padded, sb->has_index ? &sb->idx : NULL);
	if (ret < 0) {
		ERR("stream (cpu %d): %llu-byte packet not written (%d): kept in the ring",
		    s->cpu, (unsigned long long)sb->padded, ret);
		return ret;
	}
	/* Counted where it is written: no other copy of these totals exists. */
	if (r->totals) {
		uatomic_add(&r->totals->packets, 1);
		uatomic_add(&r->totals->bytes, sb->padded);
	}
	if (r->kind->written)
		r->kind->written(r->arg, s, sb);
	return 0;
}

/* See subbuf_read.h. */
int subbuf_read(struct subbuf_reader *r, struct rb_stream *s, struct sink_stream *out)
{
	const struct subbuf_kind *k = r->kind;
	struct subbuf sb = { 0 };
	enum rb_status rs;
	int ret;

	if (!kept(r, s)) {
		rs = rb_get_next_subbuf(s);
		if (rs == RB_NO_DATA || rs == RB_FINALIZED)
			return 0;
		if (rs != RB_OK)
			return seam_error(s, "get_next_subbuf", rs);
		r->held_written = false;
	}
	if (!r->held_written) {
		ret = k->describe(r->arg, s, &sb);
		if (ret == 0 && k->written_before && k->written_before(r->arg, &sb))
			return consume_written(r, s, &sb);
		if (ret == 0)
			ret = write_held(r, s, out, &sb);
		if (ret < 0) {
			release_unconsumed(r, s);
			return ret;
		}
		r->held_written = k->hold == SUBBUF_KEEP;
	}
	return consume_written(r, s, &sb);
}

/* See subbuf_read.h. */
void subbuf_reader_release(struct subbuf_reader *r, struct rb_stream *s)
{
	if (kept(r, s))
		(void)release_unconsumed(r, s);
}
