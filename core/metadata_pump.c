/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata_pump.c - metadata cache -> metadata ring buffer -> output, on the
 * metadata loop; the ring is read by the metadata kind of the one read path
 * (subbuf_read.h).  The loop, the meaning of "flushed" and the no-loss rules on errors are
 * described in metadata_pump.h.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "alloc.h"
#include "log.h"
#include "metadata_pump.h"

/* How a fill round ended. */
enum fill_end {
	FILL_DONE, /* contiguous prefix all pushed, or the version changed */
	FILL_FULL, /* the ring refused a packet */
};

static const struct subbuf_kind metadata_kind;

/*
 * Map a seam status to the errno this module returns.  RB_NOMEM is the only
 * status a caller can act on differently; everything else is an I/O failure
 * of the tracer side, already logged by the adapter or by us.
 */
static int status_errno(enum rb_status st)
{
	return st == RB_NOMEM ? -ENOMEM : -EIO;
}

int metadata_pump_init(struct metadata_pump *p, struct mdcache *cache, struct rb_channel *chan,
		       struct rb_stream *stream, struct sink_stream *out)
{
	enum rb_status st;
	uint64_t max = 0;

	assert(p && cache && chan && stream && out);
	*p = (struct metadata_pump){ 0 };
	st = rb_max_subbuf_size(stream, &max);
	if (st != RB_OK) {
		ERR("metadata pump: max_subbuf_size failed: %s", rb_status_str(st));
		return status_errno(st);
	}
	/* A packet never carries more than a sub-buffer, so more would be waste. */
	if (max == 0 || max > SIZE_MAX) {
		ERR("metadata pump: unusable sub-buffer size %" PRIu64, max);
		return -EIO;
	}
	p->scratch = sl_malloc((size_t)max);
	if (!p->scratch) {
		ERR("metadata pump: cannot allocate %" PRIu64 " bytes", max);
		return -ENOMEM;
	}
	p->scratch_len = (size_t)max;
	p->cache = cache;
	p->chan = chan;
	p->stream = stream;
	p->out = out;
	p->version = mdcache_version(cache);
	p->reader.kind = &metadata_kind;
	p->reader.arg = p;
	return 0;
}

void metadata_pump_fini(struct metadata_pump *p)
{
	if (!p)
		return;
	if (p->stream)
		subbuf_reader_release(&p->reader, p->stream);
	free(p->scratch);
	p->scratch = NULL;
	p->scratch_len = 0;
}

/* Discard the output if a regeneration asked for it.  Returns 0 or the sink's -errno. */
static int apply_reset(struct metadata_pump *p)
{
	int ret;

	if (!p->reset_pending)
		return 0;
	ret = sink_reset(p->out, p->version);
	if (ret < 0) {
		ERR("metadata pump: output reset for version %" PRIu64 " failed (%d)", p->version,
		    ret);
		return ret;
	}
	p->reset_pending = false;
	return 0;
}

/*
 * Close a pushed packet left open by an earlier flush failure, so the drain
 * can see it.  Returns 0 or -errno.
 */
static int close_packet(struct metadata_pump *p)
{
	enum rb_status st;

	if (!p->flush_pending)
		return 0;
	st = rb_flush(p->stream, true);
	if (st != RB_OK) {
		ERR("metadata pump: flush failed: %s", rb_status_str(st));
		return status_errno(st);
	}
	p->flush_pending = false;
	return 0;
}

/*
 * subbuf_kind.describe: a pending output reset first (nothing of the new
 * version before it), then the padded size; metadata has no index.
 */
static int md_describe(void *arg, struct rb_stream *s, struct subbuf *sb)
{
	struct metadata_pump *p = arg;
	enum rb_status st;
	int ret;

	ret = apply_reset(p);
	if (ret < 0)
		return ret;
	st = rb_padded_subbuf_size(s, &sb->padded);
	if (st != RB_OK) {
		ERR("metadata pump: cannot read the held sub-buffer: %s", rb_status_str(st));
		return status_errno(st);
	}
	/*
	 * Written whole, padding included, to every output: the metadata file
	 * is the same locally and on a relay, and no extra ring call is made.
	 */
	sb->size = sb->padded;
	return 0;
}

/* subbuf_kind.written: count the bytes this metadata_pump() call wrote. */
static void md_written(void *arg, struct rb_stream *s, const struct subbuf *sb)
{
	(void)s;
	((struct metadata_pump *)arg)->drained += sb->padded;
}

static const struct subbuf_kind metadata_kind = {
	.hold = SUBBUF_KEEP,
	.describe = md_describe,
	.written = md_written,
};

/*
 * Move every readable sub-buffer to the output, resuming a hold left by an
 * earlier error.  Returns 0 once the ring has nothing readable, or -errno
 * (see the no-loss rules in the header).  p->drained accumulates bytes.
 */
static int drain(struct metadata_pump *p)
{
	int ret;

	while ((ret = subbuf_read(&p->reader, p->stream, p->out)) > 0)
		;
	return ret;
}

/*
 * The ring is empty: everything pushed is written out, tell the cache.  Its
 * errors need no action here: -ESTALE means a regeneration that the next
 * step adopts, anything else is a caller contract breach mdcache logged.
 */
static void report(struct metadata_pump *p)
{
	if (p->pushed <= p->reported)
		return;
	if (mdcache_set_flushed(p->cache, p->version, p->pushed) == 0)
		p->reported = p->pushed;
}

/*
 * Adopt a new cache version (ring empty): restart from offset 0 and discard
 * the output before anything of it is written.  Returns the contiguous length
 * of the cache (of the adopted version).
 */
static uint64_t adopt(struct metadata_pump *p)
{
	struct mdcache_state s;

	(void)mdcache_get_state(p->cache, &s); /* cannot fail: cache is not NULL */
	if (s.version != p->version) {
		DBG("metadata pump: content version %" PRIu64 " -> %" PRIu64 ", rewriting from 0",
		    p->version, s.version);
		p->version = s.version;
		p->pushed = 0;
		p->reported = 0;
		p->reset_pending = true;
	}
	return s.contiguous;
}

/*
 * Copy cache bytes [pushed, contiguous) into the ring, one closed packet per
 * call.  Returns 0 with *end set, or -errno; *moved counts bytes pushed.
 */
static int fill(struct metadata_pump *p, uint64_t contiguous, uint64_t *moved,
		enum fill_end *end)
{
	uint64_t version = 0;
	ssize_t w;
	size_t n;
	int ret;

	*end = FILL_DONE;
	while (p->pushed < contiguous) {
		n = contiguous - p->pushed < p->scratch_len ? (size_t)(contiguous - p->pushed)
							     : p->scratch_len;
		ret = mdcache_read(p->cache, p->pushed, p->scratch, n, &version);
		/* -ERANGE / other version: invalidated meanwhile, adopted next round. */
		if (ret == -ERANGE || (ret == 0 && version != p->version))
			return 0;
		if (ret < 0)
			return ret;
		w = rb_write_metadata_packet(p->chan, p->scratch, n);
		if (w == -RB_FULL) {
			*end = FILL_FULL;
			return 0;
		}
		if (w < 0) {
			ERR("metadata pump: write_metadata_packet failed: %s",
			    rb_status_str((enum rb_status)-w));
			return status_errno((enum rb_status)-w);
		}
		if (w == 0 || (size_t)w > n) {
			ERR("metadata pump: write_metadata_packet took %zd of %zu bytes", w, n);
			return -EIO;
		}
		/* In the ring now, whatever the flush says: never push them twice. */
		p->pushed += (uint64_t)w;
		*moved += (uint64_t)w;
		p->flush_pending = true;
		ret = close_packet(p);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int metadata_pump(struct metadata_pump *p)
{
	enum fill_end end = FILL_DONE;
	uint64_t moved, contiguous;
	int ret;

	assert(p && p->cache && p->scratch);   /* initialised by metadata_pump_init */
	p->drained = 0;
	for (;;) {
		ret = close_packet(p);
		if (ret < 0)
			return ret;
		ret = drain(p);
		if (ret < 0)
			return ret;
		report(p);
		contiguous = adopt(p);
		ret = apply_reset(p);
		if (ret < 0)
			return ret;
		moved = 0;
		ret = fill(p, contiguous, &moved, &end);
		if (ret < 0)
			return ret;
		if (moved)
			continue;
		if (end == FILL_FULL) {
			/* Just drained, yet no room: the ring is not ours alone or is broken. */
			ERR("metadata pump: ring full although drained");
			return -ENOBUFS;
		}
		break;
	}
	return p->drained > INT_MAX ? INT_MAX : (int)p->drained;
}

int metadata_pump_reset_for_rotation(struct metadata_pump *p, struct sink_stream *new_out)
{
	int ret;

	assert(p && p->cache && new_out);
	/* What the ring holds belongs to the old chunk's file. */
	ret = close_packet(p);
	if (ret == 0)
		ret = drain(p);
	if (ret < 0) {
		ERR("metadata pump: cannot drain before rotation (%d)", ret);
		return ret;
	}
	p->out = new_out;
	p->pushed = 0;
	p->reported = 0;
	/* The new file starts empty: an old pending discard has nothing to do. */
	p->reset_pending = false;
	mdcache_reset_flushed(p->cache);
	return 0;
}
