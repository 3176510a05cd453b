/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live.c - beacons and index-gate rounds of live channels (contract and
 * reasoning in live.h).  Data loop, except the round's metadata request,
 * which runs on the cmd loop.
 */
#include "live.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"
#include "metadata_req.h"
#include "sink_relay.h"

/* One round of a channel: created and ended on the data loop. */
struct live_round {
	struct channel *ch;               /* ref for the round's life */
	void (*resume)(struct stream *s);
	struct loop_source *done;         /* data-loop wait the cmd loop wakes */
	int32_t code;                     /* the metadata request's result (cmd loop) */
};

bool live_stream(const struct stream *s)
{
	return s->chan->live_timer_us && s->out && sink_is_relay(s->out);
}

unsigned int live_drain_budget(const struct stream *s)
{
	size_t held;

	if (!live_stream(s))
		return UINT_MAX;
	held = sink_relay_held(s->out);
	return held >= LIVE_MAX_HELD ? 0 : LIVE_MAX_HELD - (unsigned int)held;
}

bool live_stream_pending(const struct stream *s)
{
	return live_stream(s) && sink_relay_held(s->out) > 0;
}

/* Data loop: the round is over; its marked indexes go out. */
static void round_end(void *arg)
{
	struct live_round *r = arg;
	struct channel *ch = r->ch;
	struct stream *s, *tmp;

	if (r->code)
		WARN("channel %" PRIu64 ": live metadata round failed (%" PRId32
		     "): indexes sent without it", ch->key, r->code);
	cds_list_for_each_entry(s, &ch->data_streams, chan_node) {
		if (!live_stream(s))
			continue;
		DBG3("stream %s: live round over: %zu indexes out", s->name,
		     sink_relay_held(s->out) - sink_relay_unmarked(s->out));
		if (sink_relay_send_marked(s->out))
			DBG("stream %s: live indexes not sent (relay gone)", s->name);
	}
	assert(ch->live_round == r);
	ch->live_round = NULL;
	cds_list_for_each_entry_safe(s, tmp, &ch->data_streams, chan_node)
		r->resume(s);
	/* Indexes held during the round, or by the resumed drains: next round. */
	live_round_request(ch, r->resume);
	channel_put(ch);
	free(r);
}

/* Cmd loop: the request ended (0 or a consumer code); back to the data loop. */
static void round_md_done(struct consumer *c, void *arg, int32_t code)
{
	struct live_round *r = arg;

	/* Quitting cancels the requests: the indexes go out, nothing to warn about. */
	r->code = c->quitting ? 0 : code;
	loop_wake(c->env.data_loop, r->done);
}

struct md_find {
	uint64_t session_id;
	struct channel *md;
};

/* The metadata channel of the session, if the cmd loop still serves it. */
static void find_md(struct channel *ch, void *arg)
{
	struct md_find *f = arg;

	if (!f->md && ch->metadata && ch->session_id == f->session_id && !ch->cmd_ref_dropped)
		f->md = ch;
}

/* Cmd loop: ask the session daemon for the latest metadata, waiting for it to be written. */
static void round_cmd(void *arg)
{
	struct live_round *r = arg;
	struct channel *ch = r->ch;
	struct consumer *c = ch->c;
	struct channel *md = ch->live_md_known ? channel_lookup(c, ch->live_md_key) : NULL;

	if (!md || !md->metadata || md->cmd_ref_dropped) {
		struct md_find f = { .session_id = ch->session_id };

		channel_for_each(c, find_md, &f);
		md = f.md;
		ch->live_md_known = md != NULL;
		ch->live_md_key = md ? md->key : 0;
	}
	if (!md) {
		/* No metadata channel (yet, or any more): nothing to wait for. */
		round_md_done(c, r, 0);
		return;
	}
	if (c->quitting || !metadata_req_alive(c->mreq) ||
	    metadata_req_submit(c->mreq, md->key, true, round_md_done, r))
		round_md_done(c, r, CONSUMER_FATAL);
}

/* Data loop: start a round for every held index of ch. */
static void round_start(struct channel *ch, void (*resume)(struct stream *s))
{
	struct consumer *c = ch->c;
	struct live_round *r = sl_calloc(1, sizeof(*r));
	struct stream *s;

	if (!r || loop_add_wait(c->env.data_loop, "live metadata round", round_end, r, &r->done)) {
		/* Cannot wait: send the indexes now rather than never. */
		ERR("channel %" PRIu64 ": no memory for a live metadata round", ch->key);
		free(r);
		cds_list_for_each_entry(s, &ch->data_streams, chan_node)
			if (live_stream(s)) {
				sink_relay_mark_held(s->out);
				(void)sink_relay_send_marked(s->out);
			}
		return;
	}
	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		if (live_stream(s))
			sink_relay_mark_held(s->out);
	channel_get(ch);
	r->ch = ch;
	r->resume = resume;
	ch->live_round = r;
	if (loop_post(c->env.cmd_loop, "live metadata round", round_cmd, r)) {
		r->code = CONSUMER_FATAL;
		loop_wake(c->env.data_loop, r->done);
	}
}

void live_round_request(struct channel *ch, void (*resume)(struct stream *s))
{
	struct stream *s;
	bool unmarked = false;

	cds_list_for_each_entry(s, &ch->data_streams, chan_node)
		if (live_stream(s) && sink_relay_unmarked(s->out)) {
			unmarked = true;
			break;
		}
	/* A running round's end looks again (round_end). */
	if (unmarked && !ch->live_round)
		round_start(ch, resume);
}

int live_beacon_if_idle(struct stream *s, uint64_t ts)
{
	enum rb_status rs;
	int ret;

	assert(live_stream(s));
	if (sink_relay_held(s->out))
		return 0;
	rs = rb_get_next_subbuf(s->rbs);
	if (rs == RB_OK) {
		rb_put_subbuf(s->rbs);
		return 0;
	}
	if (rs != RB_NO_DATA && rs != RB_FINALIZED)
		return 0;
	DBG3("stream %s: idle, live beacon at %" PRIu64, s->name, ts);
	ret = sink_relay_beacon(s->out, s->chan->ctf_stream_id, ts);
	if (ret)
		WARN("stream %s: live beacon not sent: %s", s->name, log_strerror(-ret));
	return ret;
}
