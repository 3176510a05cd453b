/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * invariants.c - the after-step invariant checker (invariants.h).  Lives in
 * tests/support, not core/, because only fixtures read the core's private
 * objects (core/consumer_priv.h) this way.
 */
#include "invariants.h"

#include <inttypes.h>
#include <stdio.h>

#include <urcu/uatomic.h>

#include "consumer_priv.h"
#include "sim_rb.h"

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

/* The metadata pump of `s` against its channel's cache. */
static int check_metadata(const struct stream *s, char *msg, size_t len)
{
	struct mdcache_state st;

	if (!s->pump_ready || !s->chan->cache || mdcache_get_state(s->chan->cache, &st))
		return 0;
	if (st.flushed > st.contiguous) {
		snprintf(msg, len, "metadata cache of channel %" PRIu64 ": flushed %" PRIu64
			 " > contiguous %" PRIu64, s->chan->key, st.flushed, st.contiguous);
		return -1;
	}
	if (s->pump.version == st.version && s->pump.pushed > st.contiguous) {
		snprintf(msg, len, "metadata of channel %" PRIu64 " written past the cache: pushed %"
			 PRIu64 " > cached %" PRIu64, s->chan->key, s->pump.pushed, st.contiguous);
		return -1;
	}
	if (s->pump.reported > s->pump.pushed) {
		snprintf(msg, len, "metadata of channel %" PRIu64 ": reported flushed %" PRIu64
			 " > pushed %" PRIu64, s->chan->key, s->pump.reported, s->pump.pushed);
		return -1;
	}
	return 0;
}

/* The checks that read the core's objects.  0, or -1 with a message. */
static int check_consumer(struct consumer *c, char *msg, size_t len)
{
	struct stream *s;

	cds_list_for_each_entry(s, &c->data_streams, node)
		if (check_stream_chan(s, "data", msg, len))
			return -1;
	cds_list_for_each_entry(s, &c->metadata_streams, node)
		if (check_stream_chan(s, "metadata", msg, len) || check_metadata(s, msg, len))
			return -1;
	return 0;
}

/* The after-step hook. */
static void check(void *arg)
{
	struct invariants *inv = arg;
	const char *ev = sim_stepper_last_event(inv->st);
	uint64_t gets;
	char what[INVARIANTS_MSG_MAX - 64];

	if (inv->msg[0])
		return;
	gets = sim_rb_outstanding_gets(inv->rb);
	if (gets && sim_fault_fired(inv->faults, SIM_KIND_RB) == 0)
		snprintf(inv->msg, sizeof(inv->msg),
			 "%" PRIu64 " sub-buffer(s) got and not put after '%s'", gets, ev);
	else if (check_consumer(inv->c, what, sizeof(what)))
		snprintf(inv->msg, sizeof(inv->msg), "%s (after '%s')", what, ev);
	else if (*inv->quit_calls > 1)
		snprintf(inv->msg, sizeof(inv->msg), "on_quit called %d times", *inv->quit_calls);
	if (inv->msg[0])
		inv->step = sim_stepper_steps(inv->st);
}

/* See invariants.h. */
void invariants_attach(struct invariants *inv, struct sim_stepper *st, struct consumer *c,
		       struct rb *rb, const struct sim_faults *faults, const int *quit_calls)
{
	*inv = (struct invariants){
		.st = st, .c = c, .rb = rb, .faults = faults, .quit_calls = quit_calls,
	};
	sim_stepper_add_hook(st, &inv->hook, check, inv);
}

/* See invariants.h. */
void invariants_detach(struct invariants *inv)
{
	sim_stepper_remove_hook(&inv->hook);
}
