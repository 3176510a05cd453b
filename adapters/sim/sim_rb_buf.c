/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rb_buf.c - the engine of the simulated ring buffer: packets opened,
 * switched and delivered by the writer; sub-buffers held and released by the
 * reader; flush, clear, snapshots, packet accessors and metadata packets.
 * The model and its statuses are described in sim_rb.h.
 *
 * The races this file makes reproducible (each has a test in
 * tests/unit/test_sim_rb.c):
 *   - writer laps the reader: discard drops the event (the drop shows in the
 *     events_discarded of the packet open at the time, read later);
 *     overwrite pushes consumed and loses a packet (packet_seq_num gap) but
 *     never touches the sub-buffer the reader holds;
 *   - a reserved slot never committed: its sub-buffer is closed but not
 *     delivered and blocks in-order reading until the commit;
 *   - a flush racing an empty ring: final flush makes an empty packet only
 *     when a sub-buffer is free.
 * No locks: the caller serialises per stream (one stepper).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim_rb_priv.h"

/* Any event fits in an empty packet: no "event larger than a sub-buffer" case. */
_Static_assert(SIM_CTF_PACKET_HEADER_SIZE + 8 + 16 + 8 * SIM_CTF_MAX_FIELDS <= SIM_RB_MIN_SUBBUF_SIZE,
	       "minimum sub-buffer too small for the largest event");

/* Packet header size of this buffer's packets (CTF data or metadata). */
static uint32_t hdr_size(const struct sim_rb_buf *b)
{
	return sim_rb_is_metadata(b->chan) ? SIM_CTF_METADATA_HEADER_SIZE
					   : SIM_CTF_PACKET_HEADER_SIZE;
}

/* Start of the sub-buffer holding pos. */
static uint64_t floor_sb(const struct sim_rb_buf *b, uint64_t pos)
{
	return pos & ~(sim_rb_sb_size(b) - 1);
}

/* Ring slot of position pos. */
static uint64_t slot_index(const struct sim_rb_buf *b, uint64_t pos)
{
	return (pos / sim_rb_sb_size(b)) & (b->chan->attr.num_subbuf - 1);
}

/* Book-keeping of the slot of pos. */
static struct sim_rb_subbuf *sb_at(struct sim_rb_buf *b, uint64_t pos)
{
	return &b->sb[slot_index(b, pos)];
}

/* Bytes of the slot of pos. */
static uint8_t *mem_at(struct sim_rb_buf *b, uint64_t pos)
{
	return b->mem + slot_index(b, pos) * sim_rb_sb_size(b);
}

/* Content rounded up to a page, never past the sub-buffer. */
static uint64_t padded(const struct sim_rb_buf *b, uint64_t used)
{
	uint64_t p = (used + SIM_RB_PAGE_SIZE - 1) & ~(uint64_t)(SIM_RB_PAGE_SIZE - 1);

	return p < sim_rb_sb_size(b) ? p : sim_rb_sb_size(b);
}

/* Mark every slot of a new buffer as never used. */
void sim_rb_buf_reset(struct sim_rb_buf *b)
{
	for (uint64_t i = 0; i < b->chan->attr.num_subbuf; i++)
		b->sb[i].start = SIM_RB_NO_PACKET;
}

/* ---- writer ----------------------------------------------------------------- */

/* Write the one wakeup byte; a full pipe (EAGAIN) already says "readable". */
static void wake(struct sim_rb_buf *b, int wake_fd)
{
	ssize_t n;

	if (wake_fd < 0)
		return;
	do {
		n = write(wake_fd, "", 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		b->stats.wakeups++;
	else if (errno != EAGAIN)
		PERROR_NUM(errno, "stream %d: wakeup write on fd %d", b->cpu, wake_fd);
}

/* Make a closed, fully committed packet readable and wake the reader. */
static void deliver(struct sim_rb_buf *b, struct sim_rb_subbuf *sb, int wake_fd)
{
	sb->delivered = true;
	b->stats.packets_delivered++;
	b->stats.bytes_delivered += padded(b, sb->used);
	wake(b, wake_fd);
}

enum open_check {
	OPEN_OK,          /* the sub-buffer is free */
	OPEN_OVERWRITE,   /* free once the oldest unconsumed packet is dropped */
	OPEN_FULL,        /* discard mode, ring full */
	OPEN_BUSY,        /* held by the reader or not fully committed */
};

/* May a packet be opened at boundary `start`?  Pure. */
static enum open_check can_open(struct sim_rb_buf *b, uint64_t start)
{
	struct sim_rb_subbuf *sb = sb_at(b, start);

	if (sb->start != SIM_RB_NO_PACKET &&
	    (sb->uncommitted || (sim_rb_buf_held(b) && b->hold_start == sb->start)))
		return OPEN_BUSY;
	if (start - b->consumed < sim_rb_buf_size(b))
		return OPEN_OK;
	if (!b->chan->attr.overwrite || sim_rb_is_metadata(b->chan))
		return OPEN_FULL;
	return OPEN_OVERWRITE;
}

/* Overwrite mode, ring full: lose the packet at consumed. */
static void overwrite_oldest(struct sim_rb_buf *b)
{
	struct sim_rb_subbuf *sb = sb_at(b, b->consumed);

	b->stats.packets_overwritten++;
	b->stats.bytes_overwritten += padded(b, sb->used);
	b->stats.events_lost += sb->nr_events;
	b->consumed += sim_rb_sb_size(b);
}

/* Open a packet at boundary `start` (checked by can_open()). */
static void open_packet(struct sim_rb_buf *b, uint64_t start)
{
	struct sim_rb_subbuf *sb = sb_at(b, start);

	memset(mem_at(b, start), 0, sim_rb_sb_size(b));
	memset(sb, 0, sizeof(*sb));
	sb->start = start;
	sb->used = hdr_size(b);
	if (!sim_rb_is_metadata(b->chan)) {
		struct sim_ctf_stream_info info = {
			.stream_id = b->chan->attr.chan_id,
			.instance_id = (uint64_t)b->cpu,
		};

		memcpy(info.uuid, b->chan->attr.uuid, sizeof(info.uuid));
		/* Sizes unknown until the close, as lttng-ust leaves them. */
		sb->ctx = (struct sim_ctf_packet_ctx){
			.timestamp_begin = sim_world_now(b->chan->ctx->w),
			.content_size = UINT64_MAX,
			.packet_size = UINT64_MAX,
			.seq_num = b->seq_next++,
			.cpu_id = (uint32_t)b->cpu,
		};
		sim_ctf_write_packet_header(mem_at(b, start), &info, &sb->ctx);
	}
	b->cur = start;
	b->wpos = start + sb->used;
	b->packet_open = true;
}

/* Close the open packet; deliver it unless a slot is still pending. */
static void close_packet(struct sim_rb_buf *b, int wake_fd)
{
	struct sim_rb_subbuf *sb = sb_at(b, b->cur);
	uint64_t psize = padded(b, sb->used);

	if (sim_rb_is_metadata(b->chan)) {
		sim_ctf_write_metadata_header(mem_at(b, b->cur), b->chan->attr.uuid, sb->used * 8,
					      (uint32_t)psize * 8);
	} else {
		sb->ctx.timestamp_end = sim_world_now(b->chan->ctx->w);
		sb->ctx.content_size = (uint64_t)sb->used * 8;
		sb->ctx.packet_size = psize * 8;
		sb->ctx.events_discarded = b->discarded;
		sim_ctf_update_packet_context(mem_at(b, b->cur), &sb->ctx);
	}
	sb->closed = true;
	b->packet_open = false;
	b->wpos = b->cur + sim_rb_sb_size(b);
	if (!sb->uncommitted)
		deliver(b, sb, wake_fd);
}

/*
 * Make a packet open at the write position if none is.  Returns true, or
 * false when the ring has no free sub-buffer (nothing changed).
 */
static bool ensure_open(struct sim_rb_buf *b, uint64_t start)
{
	switch (can_open(b, start)) {
	case OPEN_FULL:
	case OPEN_BUSY:
		return false;
	case OPEN_OVERWRITE:
		overwrite_oldest(b);
		break;
	case OPEN_OK:
		break;
	}
	open_packet(b, start);
	return true;
}

/* Count one dropped event (discarded); returns -ENOSPC for the writer. */
static int drop(struct sim_rb_buf *b)
{
	b->discarded++;
	b->stats.events_discarded++;
	return -ENOSPC;
}

int sim_rb_reserve(struct rb_channel *c, int cpu, unsigned int nr_fields, int wake_fd,
		   struct sim_rb_slot *slot)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_buf *b;
	struct sim_rb_subbuf *sb;
	uint64_t size, sbsize;

	if (!ch || !slot || cpu < 0 || cpu >= ch->nr_bufs || sim_rb_is_metadata(ch) ||
	    nr_fields > SIM_CTF_MAX_FIELDS) {
		ERR("bad reserve (cpu %d, %u fields)", cpu, nr_fields);
		return -EINVAL;
	}
	b = &ch->bufs[cpu];
	sbsize = sim_rb_sb_size(b);
	if (!b->packet_open && !ensure_open(b, b->wpos))
		return drop(b);
	sb = sb_at(b, b->cur);
	size = sim_ctf_event_size(sb->used, nr_fields);
	if (sb->used + size > sbsize) {
		uint64_t next = b->cur + sbsize;
		enum open_check oc = can_open(b, next);

		/* Like lttng-ust: the packet stays open if the next one cannot be. */
		if (oc == OPEN_FULL || oc == OPEN_BUSY)
			return drop(b);
		close_packet(b, wake_fd);
		ensure_open(b, next);
		sb = sb_at(b, b->cur);
		size = sim_ctf_event_size(sb->used, nr_fields);
	}
	*slot = (struct sim_rb_slot){
		.cpu = cpu,
		.packet_start = b->cur,
		.offset = sb->used,
		.nr_fields = nr_fields,
		.timestamp = sim_world_now(ch->ctx->w),
	};
	sb->used += (uint32_t)size;
	sb->uncommitted++;
	b->wpos += size;
	/* A packet filled to the last byte is switched at once, as lttng-ust's. */
	if (sb->used == sbsize)
		close_packet(b, wake_fd);
	return 0;
}

int sim_rb_commit(struct rb_channel *c, const struct sim_rb_slot *slot, uint32_t id,
		  const uint64_t *fields, int wake_fd)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	struct sim_rb_buf *b;
	struct sim_rb_subbuf *sb;

	if (!ch || !slot || slot->cpu < 0 || slot->cpu >= ch->nr_bufs ||
	    (slot->nr_fields && !fields)) {
		ERR("bad commit");
		return -EINVAL;
	}
	b = &ch->bufs[slot->cpu];
	sb = sb_at(b, slot->packet_start);
	if (sb->start != slot->packet_start || !sb->uncommitted ||
	    slot->offset >= sb->used) {
		ERR("stream %d: no pending slot at %" PRIu64 "+%u", slot->cpu, slot->packet_start,
		    slot->offset);
		return -EINVAL;
	}
	sim_ctf_write_event(mem_at(b, sb->start), slot->offset, id, slot->timestamp, fields,
			    slot->nr_fields);
	sb->uncommitted--;
	sb->nr_events++;
	b->stats.events_written++;
	if (sb->closed && !sb->uncommitted)
		deliver(b, sb, wake_fd);
	return 0;
}

/*
 * Flush: close the open packet; with active == false and none open, add an
 * empty packet if a sub-buffer is free (nothing is counted otherwise).
 * Always RB_OK.
 */
enum rb_status sim_rb_buf_flush(struct sim_rb_buf *b, bool active, int wake_fd)
{
	if (b->packet_open) {
		close_packet(b, wake_fd);
		return RB_OK;
	}
	if (active)
		return RB_OK;
	/* Final flush on a closed packet boundary: an empty packet, if room. */
	if (ensure_open(b, b->wpos))
		close_packet(b, wake_fd);
	return RB_OK;
}

/*
 * One metadata packet: header + as much of data as fits, delivered at once.
 * Returns the bytes taken or -RB_FULL.
 */
ssize_t sim_rb_buf_write_metadata(struct sim_rb_buf *b, const void *data, size_t len,
				  int wake_fd)
{
	uint64_t room = sim_rb_sb_size(b) - SIM_CTF_METADATA_HEADER_SIZE;
	size_t n = len < room ? len : (size_t)room;
	struct sim_rb_subbuf *sb;

	/* Metadata packets are opened and closed here only: none is ever left open. */
	if (!ensure_open(b, b->wpos))
		return -RB_FULL;
	sb = sb_at(b, b->cur);
	memcpy(mem_at(b, b->cur) + sb->used, data, n);
	sb->used += (uint32_t)n;
	close_packet(b, wake_fd);
	return (ssize_t)n;
}

/* ---- reader ----------------------------------------------------------------- */

/*
 * Each sim_rb_op_* below implements the rb_ops member of the same name
 * (contract in core/rb.h, status mapping in sim_rb.h): fault check first.
 * The rb.h wrappers already refused a get, put, clear or accessor that the
 * hold does not allow.
 */

/*
 * Common prologue of a stream op: resolve the buffer, then ask the fault
 * table.  Returns the buffer, or NULL with *st set.
 */
static struct sim_rb_buf *op_begin(struct rb_stream *s, enum sim_op op, enum rb_status *st)
{
	struct sim_rb_buf *b = sim_rb_buf_of(s);
	int f;

	*st = RB_ERROR;
	if (!b)
		return NULL;
	f = sim_rb_fault(b->chan->ctx, op);
	if (f) {
		*st = f;
		return NULL;
	}
	return b;
}

/* A SIM_FAULT_NONSENSE fault: the getter "succeeds" with a size that makes no sense. */
static enum rb_status nonsense(int st, uint64_t *out)
{
	if (st != SIM_FAULT_NONSENSE)
		return (enum rb_status)st;
	if (out)
		*out = SIM_FAULT_NONSENSE_VALUE;
	return RB_OK;
}

/* Writers gone and nothing that a final flush could still make readable. */
static bool finalized(struct sim_rb_buf *b)
{
	struct sim_rb_subbuf *sb = sb_at(b, b->consumed);

	if (!sim_rb_buf_hung_up(b))
		return false;
	return !(b->packet_open && b->cur == b->consumed && !sb->uncommitted);
}

/* Record a get (the invariant counters live in the context too). */
static void take_hold(struct sim_rb_buf *b, uint64_t start)
{
	b->hold_start = start;
	b->stats.gets++;
	b->chan->ctx->gets++;
}

/* Record the matching put. */
static void release_hold(struct sim_rb_buf *b)
{
	b->stats.puts++;
	b->chan->ctx->puts++;
}

enum rb_status sim_rb_op_get_next_subbuf(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_GET_NEXT_SUBBUF, &st);
	struct sim_rb_subbuf *sb;

	if (!b)
		return st;
	sb = sb_at(b, b->consumed);
	if (sb->start == b->consumed && sb->delivered) {
		take_hold(b, b->consumed);
		return RB_OK;
	}
	return finalized(b) ? RB_FINALIZED : RB_NO_DATA;
}

enum rb_status sim_rb_op_put_next_subbuf(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_PUT_NEXT_SUBBUF, &st);
	struct sim_rb_subbuf *sb;

	if (!b)
		return st;
	sb = sb_at(b, b->hold_start);
	b->stats.packets_consumed++;
	b->stats.bytes_consumed += padded(b, sb->used);
	b->consumed = b->hold_start + sim_rb_sb_size(b);
	release_hold(b);
	return RB_OK;
}

enum rb_status sim_rb_op_get_subbuf(struct rb_stream *s, uint64_t pos)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_GET_SUBBUF, &st);
	struct sim_rb_subbuf *sb;
	uint64_t start;

	if (!b)
		return st;
	start = floor_sb(b, pos);
	sb = sb_at(b, start);
	if (sb->start != start || !sb->delivered)
		return RB_OVERWRITTEN;
	take_hold(b, start);
	return RB_OK;
}

/* Releases either kind of hold without moving consumed (DATA_PENDING peeks so). */
enum rb_status sim_rb_op_put_subbuf(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_PUT_SUBBUF, &st);

	if (!b)
		return st;
	release_hold(b);
	return RB_OK;
}

enum rb_status sim_rb_op_max_subbuf_size(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_MAX_SUBBUF_SIZE, &st);

	if (!b)
		return st;
	if (!out)
		return RB_ERROR;
	*out = sim_rb_sb_size(b);
	return RB_OK;
}

/* The held sub-buffer's slot (the wrapper checked the hold), or NULL (logged) without out. */
static struct sim_rb_subbuf *held(struct sim_rb_buf *b, const void *out)
{
	if (!out) {
		ERR("stream %d: NULL out", b->cpu);
		return NULL;
	}
	return sb_at(b, b->hold_start);
}

enum rb_status sim_rb_op_subbuf_size(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_SUBBUF_SIZE, &st);
	struct sim_rb_subbuf *sb = b ? held(b, out) : NULL;

	if (!sb)
		return nonsense(st, out);
	*out = sb->used;
	return RB_OK;
}

enum rb_status sim_rb_op_padded_subbuf_size(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_PADDED_SUBBUF_SIZE, &st);
	struct sim_rb_subbuf *sb = b ? held(b, out) : NULL;

	if (!sb)
		return nonsense(st, out);
	*out = padded(b, sb->used);
	return RB_OK;
}

enum rb_status sim_rb_op_read_ptr(struct rb_stream *s, const void **out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_READ_PTR, &st);
	struct sim_rb_subbuf *sb = b ? held(b, out) : NULL;

	if (!sb)
		return st;
	*out = mem_at(b, sb->start);
	return RB_OK;
}

enum rb_status sim_rb_op_flush(struct rb_stream *s, bool active)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_FLUSH, &st);

	if (!b)
		return st;
	return sim_rb_buf_flush(b, active, b->wakeup_fd);
}

enum rb_status sim_rb_op_clear(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_CLEAR, &st);
	uint64_t prod;

	if (!b)
		return st;
	prod = floor_sb(b, b->wpos);
	if (prod > b->consumed) {
		b->stats.packets_cleared += (prod - b->consumed) / sim_rb_sb_size(b);
		b->consumed = prod;
	}
	return RB_OK;
}

enum rb_status sim_rb_op_snapshot(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_SNAPSHOT, &st);
	uint64_t prod;

	if (!b)
		return st;
	prod = floor_sb(b, b->wpos);
	if (prod == b->consumed)
		return RB_NO_DATA;
	b->snap_produced = prod;
	b->snap_consumed = b->consumed;
	return RB_OK;
}

enum rb_status sim_rb_op_snapshot_sample_positions(struct rb_stream *s)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_SNAPSHOT_SAMPLE_POSITIONS, &st);

	if (!b)
		return st;
	b->snap_produced = b->wpos;
	b->snap_consumed = b->consumed;
	return RB_OK;
}

enum rb_status sim_rb_op_snapshot_produced(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_SNAPSHOT_PRODUCED, &st);

	if (!b)
		return st;
	if (!out)
		return RB_ERROR;
	*out = b->snap_produced;
	return RB_OK;
}

enum rb_status sim_rb_op_snapshot_consumed(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_SNAPSHOT_CONSUMED, &st);

	if (!b)
		return st;
	if (!out)
		return RB_ERROR;
	*out = b->snap_consumed;
	return RB_OK;
}

enum ctx_field { F_BEGIN, F_END, F_DISCARDED, F_CONTENT, F_PACKET, F_SEQ, F_STREAM, F_INSTANCE };

/*
 * Read one packet-context field of the held packet from the packet bytes
 * themselves, so the consumer sees exactly what a trace reader will.
 */
static enum rb_status ctx_field(struct rb_stream *s, enum sim_op op, enum ctx_field f,
				uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, op, &st);
	struct sim_rb_subbuf *sb = b ? held(b, out) : NULL;
	struct sim_ctf_stream_info info;
	struct sim_ctf_packet_ctx ctx;
	uint64_t v[8];

	if (!sb)
		return nonsense(st, out);
	if (sim_rb_is_metadata(b->chan))
		return RB_UNSUPPORTED;
	if (sim_ctf_read_packet_header(mem_at(b, sb->start), sb->used, &info, &ctx) < 0)
		return RB_ERROR;
	v[F_BEGIN] = ctx.timestamp_begin;
	v[F_END] = ctx.timestamp_end;
	v[F_DISCARDED] = ctx.events_discarded;
	v[F_CONTENT] = ctx.content_size;
	v[F_PACKET] = ctx.packet_size;
	v[F_SEQ] = ctx.seq_num;
	v[F_STREAM] = info.stream_id;
	v[F_INSTANCE] = info.instance_id;
	*out = v[f];
	return RB_OK;
}

enum rb_status sim_rb_op_timestamp_begin(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_TIMESTAMP_BEGIN, F_BEGIN, out);
}

enum rb_status sim_rb_op_timestamp_end(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_TIMESTAMP_END, F_END, out);
}

enum rb_status sim_rb_op_events_discarded(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_EVENTS_DISCARDED, F_DISCARDED, out);
}

enum rb_status sim_rb_op_content_size(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_CONTENT_SIZE, F_CONTENT, out);
}

enum rb_status sim_rb_op_packet_size(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_PACKET_SIZE, F_PACKET, out);
}

enum rb_status sim_rb_op_sequence_number(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_SEQUENCE_NUMBER, F_SEQ, out);
}

enum rb_status sim_rb_op_stream_id(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_STREAM_ID, F_STREAM, out);
}

enum rb_status sim_rb_op_instance_id(struct rb_stream *s, uint64_t *out)
{
	return ctx_field(s, SIM_OP_INSTANCE_ID, F_INSTANCE, out);
}

enum rb_status sim_rb_op_current_timestamp(struct rb_stream *s, uint64_t *out)
{
	enum rb_status st;
	struct sim_rb_buf *b = op_begin(s, SIM_OP_CURRENT_TIMESTAMP, &st);

	if (!b)
		return st;
	if (!out)
		return RB_ERROR;
	*out = sim_world_now(b->chan->ctx->w);
	return RB_OK;
}

/*
 * Copy at most one packet of TSDL into the metadata ring.  Returns the bytes
 * taken, -RB_FULL with no free sub-buffer, or -(status) on a fault / misuse.
 */
ssize_t sim_rb_op_write_metadata_packet(struct rb_channel *c, const void *buf, size_t len)
{
	struct sim_rb_chan *ch = sim_rb_chan_of(c);
	int st;

	if (!ch)
		return -RB_ERROR;
	st = sim_rb_fault(ch->ctx, SIM_OP_WRITE_METADATA_PACKET);
	if (st)
		return -st;
	if (!sim_rb_is_metadata(ch) || !buf || !len) {
		ERR("channel %u: bad metadata write (%zu bytes)", ch->sim_id, len);
		return -RB_ERROR;
	}
	return sim_rb_buf_write_metadata(&ch->bufs[0], buf, len, ch->bufs[0].wakeup_fd);
}
