/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_snapshot.c - SNAPSHOT_CHANNEL (spec §3.14), cmd loop.
 *
 * Snapshot channels are unmonitored: their streams stay on the channel's
 * private list, owned by the cmd loop, so the copy runs right here.  The
 * metadata snapshot first asks the session daemon for the whole metadata on
 * the metadata socket (asynchronously; the command connection is paused),
 * then writes the cache through a temporary metadata stream.
 *
 * The output is the chunk's: a snapshot to a relay output comes with a
 * relay chunk (CREATE_TRACE_CHUNK with the relay's id), whose streams are
 * added to the relay for the copy and closed after it.
 */
#include <stdlib.h>

#include <urcu/uatomic.h>

#include "cmd_snapshot.h"
#include "alloc.h"
#include "conn.h"
#include "consumer_priv.h"
#include "log.h"
#include "metadata_req.h"
#include "stream_snapshot.h"

/*
 * A snapshot copies packets outside the read path: what its fresh output
 * took counts in the consumer's totals (the metadata snapshot never did).
 */
static void snapshot_count(struct consumer *c, const struct sink_stream *out)
{
	struct sink_stats st;

	sink_stream_stats(out, &st);
	uatomic_add(&c->written.packets, st.packets);
	uatomic_add(&c->written.bytes, st.bytes_written);
}

/* Data channel: every private stream into <pathname>/<stream> of the current chunk. */
static int32_t snapshot_data(struct channel *ch, uint64_t nb_packets)
{
	struct stream *s;
	uint64_t written, lost;
	int ret;

	cds_list_for_each_entry(s, &ch->private_streams, node) {
		ret = stream_open_output(s, ch->chunk, true);
		if (ret)
			return CONSUMER_SNAPSHOT_FAILED;
		written = lost = 0;
		ret = stream_snapshot(s->rbs, s->out, nb_packets, s->quiescent, &written, &lost);
		s->stats.lost_packets += lost;
		snapshot_count(ch->c, s->out);
		stream_close_output(s);
		if (ret) {
			ERR("SNAPSHOT_CHANNEL %" PRIu64 ": stream %s: %s", ch->key, s->name,
			    log_strerror(-ret));
			return CONSUMER_SNAPSHOT_FAILED;
		}
		DBG("snapshot of %s: %" PRIu64 " packets, %" PRIu64 " lost", s->name, written, lost);
	}
	return CONSUMER_SUCCESS;
}

/* Write the whole metadata cache of ch to a "metadata" file of its chunk. */
static int32_t snapshot_metadata_write(struct channel *ch)
{
	struct sink_stream_params p = {
		.pathname = ch->pathname, .name = "metadata", .metadata = true, .snapshot = true,
	};
	struct metadata_pump pump = { 0 };
	struct sink_stream *out = NULL;
	struct rb_stream *rbs = NULL;
	int32_t code = CONSUMER_SNAPSHOT_FAILED;
	bool opened = false;
	int ret;

	if (rb_stream_create(ch->rbc, 0, &rbs) != RB_OK) {
		ERR("SNAPSHOT_CHANNEL %" PRIu64 ": no metadata stream", ch->key);
		return code;
	}
	if (sink_stream_open(chunk_sink(ch->chunk), &p, &out))
		goto out;
	if (mdcache_stream_open(ch->cache))
		goto out;
	opened = true;
	if (metadata_pump_init(&pump, ch->cache, ch->rbc, rbs, out))
		goto out;
	ret = metadata_pump(&pump);
	metadata_pump_fini(&pump);
	if (ret < 0)
		goto out;
	code = CONSUMER_SUCCESS;
out:
	if (opened)
		mdcache_stream_close(ch->cache);
	if (out && sink_stream_close(out))
		code = CONSUMER_SNAPSHOT_FAILED;
	rb_stream_destroy(rbs);
	return code;
}

struct snap_md {
	uint64_t key;
};

/* The metadata request finished: write the cache, reply. */
static void snapshot_md_done(struct consumer *c, void *arg, int32_t code)
{
	struct snap_md *sm = arg;
	struct channel *ch = channel_lookup(c, sm->key);

	free(sm);
	if (code) {
		ERR("SNAPSHOT_CHANNEL: metadata request failed (%d)", code);
		code = CONSUMER_SNAPSHOT_FAILED;
	} else if (!ch || !ch->chunk) {
		ERR("SNAPSHOT_CHANNEL: metadata channel gone or without chunk");
		code = CONSUMER_SNAPSHOT_FAILED;
	} else {
		code = snapshot_metadata_write(ch);
	}
	conn_finish(c->conn, REPLY_ST(code));
}

/* SNAPSHOT_CHANNEL: ST(0), 119 unknown channel, 122 failure. */
void cmd_snapshot_channel(struct consumer *c, const struct cmd *cmd)
{
	const struct cmd_snapshot *sn = &cmd->u.snapshot;
	struct channel *ch = channel_lookup(c, sn->key);
	struct snap_md *sm;

	if (!ch) {
		ERR("SNAPSHOT_CHANNEL: unknown channel %" PRIu64, sn->key);
		conn_reply(c->conn, REPLY_ST(CONSUMER_CHAN_NOT_FOUND));
		return;
	}
	if (!ch->chunk || ch->monitor || !chunk_sink(ch->chunk)) {
		ERR("SNAPSHOT_CHANNEL %" PRIu64 ": %s", sn->key,
		    ch->monitor ? "channel is not a snapshot channel" : "no current trace chunk");
		conn_reply(c->conn, REPLY_ST(CONSUMER_SNAPSHOT_FAILED));
		return;
	}
	if (!ch->metadata) {
		conn_reply(c->conn, REPLY_ST(snapshot_data(ch, sn->nb_packets_per_stream)));
		return;
	}
	sm = sl_malloc(sizeof(*sm));
	if (!sm) {
		conn_reply(c->conn, REPLY_ST(CONSUMER_SNAPSHOT_FAILED));
		return;
	}
	sm->key = ch->key;
	conn_pause(c->conn);
	if (metadata_req_submit(c->mreq, ch->key, false, snapshot_md_done, sm)) {
		free(sm);
		conn_finish(c->conn, REPLY_ST(CONSUMER_SNAPSHOT_FAILED));
	}
}
