/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * monitor.c - the monitor timer of a data channel (spec §3.3): every
 * monitor_timer_us, one 32-byte usage sample to the monitor pipe.  Runs on
 * the data loop, which owns the streams it samples.
 */
#include <errno.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "consumer_priv.h"
#include "log.h"
#include "monitor.h"
#include "wire.h"

/* One sample of channel ch; nothing without streams or on sampling error. */
static void monitor_tick(void *arg)
{
	struct channel *ch = arg;
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

/* See monitor.h. */
int monitor_timer_start(struct channel *ch)
{
	uint64_t ns = (uint64_t)ch->monitor_timer_us * 1000;

	return loop_add_timer(ch->c->env.data_loop, ns, ns, "monitor timer", monitor_tick, ch,
			      &ch->monitor_timer);
}

/* See monitor.h. */
void monitor_timer_stop(struct channel *ch)
{
	if (ch->monitor_timer) {
		loop_remove(ch->c->env.data_loop, ch->monitor_timer);
		ch->monitor_timer = NULL;
	}
}
