/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_introspect.c - see scenario_introspect.h.  Lives in tests/support
 * rather than core/ because only the scenario harness uses it.
 */
#include "scenario_introspect.h"

#include <stdio.h>

#include <urcu/uatomic.h>

#include "consumer_priv.h"

/* A stream whose channel is gone or dying while the stream is listed. */
static int check_stream_chan(const struct stream *s, const char *what, char *msg, size_t len)
{
	if (!s->chan) {
		snprintf(msg, len, "%s stream '%s' has no channel", what, s->name);
		return -1;
	}
	if (uatomic_read(&s->chan->refcount) < 1) {
		snprintf(msg, len, "%s stream '%s' used after its channel %" PRIu64 " was released",
			 what, s->name, s->chan->key);
		return -1;
	}
	return 0;
}

/* See scenario_introspect.h. */
int scn_introspect_check(struct consumer *c, char *msg, size_t len)
{
	struct stream *s;

	cds_list_for_each_entry(s, &c->data_streams, node)
		if (check_stream_chan(s, "data", msg, len))
			return -1;
	cds_list_for_each_entry(s, &c->metadata_streams, node) {
		struct mdcache_state st;

		if (check_stream_chan(s, "metadata", msg, len))
			return -1;
		if (!s->pump_ready || !s->chan->cache)
			continue;
		if (mdcache_get_state(s->chan->cache, &st))
			continue;
		if (st.flushed > st.contiguous) {
			snprintf(msg, len, "metadata cache of channel %" PRIu64 ": flushed %" PRIu64
				 " > contiguous %" PRIu64, s->chan->key, st.flushed, st.contiguous);
			return -1;
		}
		if (s->pump.version == st.version && s->pump.pushed > st.contiguous) {
			snprintf(msg, len, "metadata of channel %" PRIu64 " written past the cache: pushed %"
				 PRIu64 " > cached %" PRIu64, s->chan->key, s->pump.pushed,
				 st.contiguous);
			return -1;
		}
		if (s->pump.reported > s->pump.pushed) {
			snprintf(msg, len, "metadata of channel %" PRIu64 ": reported flushed %" PRIu64
				 " > pushed %" PRIu64, s->chan->key, s->pump.reported, s->pump.pushed);
			return -1;
		}
	}
	return 0;
}
