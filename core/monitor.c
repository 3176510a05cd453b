/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * monitor.c - the monitor timer of data channels (spec §3.3): every
 * monitor_timer_us, one 32-byte usage sample per channel to the monitor
 * pipe.  Runs on the data loop, which owns the streams it samples.
 *
 * Why groups: channels share one timer per sampling period (the session
 * daemon gives every channel the same one unless told otherwise), so a
 * thousand per-PID channels cost one timer descriptor and one wake-up per
 * period, not a thousand of each.  A channel joins the group of its period
 * when its streams are dispatched and leaves it with its last stream; the
 * group's timer goes with its last channel.  A channel's first sample may
 * therefore come less than one period after it joined.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"
#include "monitor.h"
#include "wire.h"

struct monitor_group {
	struct cds_list_head node;      /* consumer.monitor_groups */
	struct cds_list_head channels;  /* channel.monitor_node, in joining order */
	uint32_t period_us;
	struct loop_source *timer;
};

/* One sample of channel ch; nothing without streams or on sampling error. */
static void monitor_sample_channel(struct channel *ch)
{
	struct consumer *c = ch->c;
	struct monitor_sample m = { .key = ch->key, .lowest = UINT64_MAX };
	uint8_t b[WIRE_MONITOR_SAMPLE_SIZE];
	struct stream *s;
	unsigned int n = 0;
	int fd = uatomic_read(&c->monitor_fd);

	if (fd < 0)
		return;
	cds_list_for_each_entry(s, &ch->data_streams, chan_node) {
		uint64_t produced, consumed, used;

		/* Issue 11: a corrupted stream (its drop pending) says nothing true. */
		if (s->rbs->corrupt)
			continue;
		if (rb_snapshot_sample_positions(s->rbs) != RB_OK ||
		    rb_snapshot_produced(s->rbs, &produced) != RB_OK ||
		    rb_snapshot_consumed(s->rbs, &consumed) != RB_OK)
			return;
		used = produced > consumed ? produced - consumed : 0;
		if (used < m.lowest)
			m.lowest = used;
		if (used > m.highest)
			m.highest = used;
		m.total_consumed += s->stats.bytes;
		n++;
	}
	if (!n)
		return;
	wire_encode_monitor_sample(&m, b);
	if (write(fd, b, sizeof(b)) < 0 && errno != EAGAIN)
		PERROR_NUM(errno, "monitor sample of channel %" PRIu64, ch->key);
}

/* Timer of a group: one sample per channel (none leaves the group meanwhile). */
static void monitor_tick(void *arg)
{
	struct monitor_group *g = arg;
	struct channel *ch;

	cds_list_for_each_entry(ch, &g->channels, monitor_node)
		monitor_sample_channel(ch);
}

/* See monitor.h. */
int monitor_timer_start(struct channel *ch)
{
	struct consumer *c = ch->c;
	struct monitor_group *g;
	uint64_t ns = (uint64_t)ch->monitor_timer_us * 1000;
	int ret;

	cds_list_for_each_entry(g, &c->monitor_groups, node) {
		if (g->period_us == ch->monitor_timer_us)
			goto join;
	}
	g = sl_calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->period_us = ch->monitor_timer_us;
	CDS_INIT_LIST_HEAD(&g->channels);
	ret = loop_add_timer(c->env.data_loop, ns, ns, "monitor timer", monitor_tick, g, &g->timer);
	if (ret) {
		free(g);
		return ret;
	}
	cds_list_add_tail(&g->node, &c->monitor_groups);
join:
	cds_list_add_tail(&ch->monitor_node, &g->channels);
	ch->monitor_group = g;
	return 0;
}

/* See monitor.h. */
void monitor_timer_stop(struct channel *ch)
{
	struct monitor_group *g = ch->monitor_group;

	if (!g)
		return;
	cds_list_del_init(&ch->monitor_node);
	ch->monitor_group = NULL;
	if (!cds_list_empty(&g->channels))
		return;
	loop_remove(ch->c->env.data_loop, g->timer);
	cds_list_del(&g->node);
	free(g);
}
