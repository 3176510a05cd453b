/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream_snapshot.c - per-stream snapshot (spec §3.14); contract in
 * stream_snapshot.h.
 */
#include "stream_snapshot.h"

#include <assert.h>
#include <errno.h>

#include "log.h"

/* Log a seam failure; returns the errno the caller reports (negative). */
static int seam_error(struct rb_stream *s, const char *what, enum rb_status rs)
{
	/* A corrupted stream is reported once, by its owner loop, when it drops it. */
	if (rs == RB_CORRUPT)
		DBG("snapshot of stream (cpu %d): %s: %s", s->cpu, what, rb_status_str(rs));
	else
		ERR("snapshot of stream (cpu %d): %s failed: %s", s->cpu, what, rb_status_str(rs));
	return rs == RB_NOMEM ? -ENOMEM : -EIO;
}

/*
 * First position to read: consumed, or the start of the last nb_packets
 * sub-buffers before produced if that is later.  Positions are compared
 * as a signed distance, as the ring's counters are (a start "before 0"
 * wraps around and must still lose against consumed).
 */
static uint64_t start_position(uint64_t consumed, uint64_t produced, uint64_t max_sb,
			       uint64_t nb_packets)
{
	uint64_t start;

	if (nb_packets == 0 || nb_packets > UINT64_MAX / max_sb)
		return consumed;
	start = (produced & ~(max_sb - 1)) - max_sb * nb_packets;
	if ((int64_t)(start - consumed) < 0)
		return consumed;
	return start;
}

/*
 * Write the held sub-buffer (padded bytes, no index) and release it.
 * Returns 0 or a negative errno (logged); the hold is released either way
 * unless the seam refuses (logged).  A padded size beyond the sub-buffer
 * (issue 11: the app wrote its ring buffer) would make the sink read past
 * the packet: the stream is marked corrupt instead.
 */
static int write_held(struct rb_stream *s, struct sink_stream *out, uint64_t pos,
		      uint64_t max_sb)
{
	uint64_t padded = 0;
	const void *ptr = NULL;
	enum rb_status rs;
	int ret = 0;

	rs = rb_padded_subbuf_size(s, &padded);
	if (rs != RB_OK) {
		ret = seam_error(s, "padded_subbuf_size", rs);
		goto put;
	}
	if (padded == 0 || padded > max_sb) {
		DBG("snapshot of stream (cpu %d): padded size %llu, sub-buffer %llu", s->cpu,
		    (unsigned long long)padded, (unsigned long long)max_sb);
		rb_mark_corrupt(s, "packet sizes make no sense");
		return -EIO;   /* the hold stays: stream_destroy releases it */
	}
	rs = rb_read_ptr(s, &ptr);
	if (rs != RB_OK) {
		ret = seam_error(s, "read_ptr", rs);
		goto put;
	}
	/* Padding included as data: one ring call fewer, the packet reads the same. */
	ret = sink_write_packet(out, ptr, padded, padded, NULL);
	if (ret < 0)
		ERR("snapshot of stream (cpu %d): packet at %llu not written (%d)", s->cpu,
		    (unsigned long long)pos, ret);
put:
	rs = rb_put_subbuf(s);
	if (rs != RB_OK && ret == 0)
		ret = seam_error(s, "put_subbuf", rs);
	else if (rs != RB_OK)
		ERR("snapshot of stream (cpu %d): put_subbuf failed too: %s", s->cpu,
		    rb_status_str(rs));
	return ret;
}

int stream_snapshot(struct rb_stream *s, struct sink_stream *out, uint64_t nb_packets,
		    bool quiescent, uint64_t *written, uint64_t *lost)
{
	uint64_t consumed = 0, produced = 0, max_sb = 0, pos, nw = 0, nl = 0;
	enum rb_status rs;
	int ret = 0;

	assert(s && out);
	if (!quiescent) {
		rs = rb_flush(s, false);
		if (rs != RB_OK) {
			ret = seam_error(s, "flush", rs);
			goto end;
		}
	}
	rs = rb_max_subbuf_size(s, &max_sb);
	if (rs != RB_OK) {
		ret = seam_error(s, "max_subbuf_size", rs);
		goto end;
	}
	if (max_sb == 0 || (max_sb & (max_sb - 1))) {
		ERR("snapshot of stream (cpu %d): bad sub-buffer size %llu", s->cpu,
		    (unsigned long long)max_sb);
		ret = -EIO;
		goto end;
	}
	rs = rb_snapshot(s);
	if (rs == RB_NO_DATA)
		goto end;
	if (rs != RB_OK) {
		ret = seam_error(s, "snapshot", rs);
		goto end;
	}
	rs = rb_snapshot_produced(s, &produced);
	if (rs == RB_OK)
		rs = rb_snapshot_consumed(s, &consumed);
	if (rs != RB_OK) {
		ret = seam_error(s, "snapshot positions", rs);
		goto end;
	}
	pos = start_position(consumed, produced, max_sb, nb_packets);
	DBG("snapshot of stream (cpu %d): consumed %llu produced %llu start %llu", s->cpu,
	    (unsigned long long)consumed, (unsigned long long)produced, (unsigned long long)pos);
	for (; (int64_t)(pos - produced) < 0; pos += max_sb) {
		rs = rb_get_subbuf(s, pos);
		if (rs == RB_OVERWRITTEN) {
			/* The writer lapped us there: that packet is gone (§3.15). */
			nl++;
			continue;
		}
		if (rs != RB_OK) {
			ret = seam_error(s, "get_subbuf", rs);
			goto end;
		}
		ret = write_held(s, out, pos, max_sb);
		if (ret < 0)
			goto end;
		nw++;
	}
end:
	if (written)
		*written = nw;
	if (lost)
		*lost = nl;
	return ret;
}
