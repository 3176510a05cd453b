/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * channel.c - channel objects, the RCU channel table and the hand-off of
 * private streams (see channel.h).  Table changes and frees run on the cmd
 * loop; references are taken and dropped on any loop.
 *
 * Keys and attributes come from the session daemon and are checked by the
 * handlers (cmd_channel.c); reference counting is ours alone, so a count
 * going below zero or rising from zero is a bug and is asserted.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/uatomic.h>

#include "channel.h"
#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"

/* Initial (and fixed) bucket count of the channel table. */
#define CHANNEL_BUCKETS 1024

/* Hash of a channel key (splitmix64 finaliser: keys are small integers). */
static unsigned long key_hash(uint64_t k)
{
	k ^= k >> 30;
	k *= UINT64_C(0xbf58476d1ce4e5b9);
	k ^= k >> 27;
	k *= UINT64_C(0x94d049bb133111eb);
	k ^= k >> 31;
	return (unsigned long)k;
}

/* cds_lfht match function: channel key equality. */
static int key_match(struct cds_lfht_node *node, const void *key)
{
	const struct channel *ch = caa_container_of(node, struct channel, node);

	return ch->key == *(const uint64_t *)key;
}

/* See channel.h. */
int channel_table_create(struct consumer *c, void (*freed)(struct consumer *c))
{
	assert(c && freed);
	CDS_INIT_LIST_HEAD(&c->channels.unlinked);
	c->channels.freed = freed;
	c->channels.ht = cds_lfht_new(CHANNEL_BUCKETS, CHANNEL_BUCKETS, CHANNEL_BUCKETS, 0, NULL);
	return c->channels.ht ? 0 : -ENOMEM;
}

static void channel_destroy(struct channel *ch);

/* See channel.h.  No loop runs: every channel left is freed directly. */
void channel_table_destroy(struct consumer *c)
{
	struct cds_lfht_iter it;
	struct channel *ch, *tmp;

	if (!c->channels.ht)
		return;
	/* Unlinked dying channels whose queued free will never run now. */
	cds_list_for_each_entry_safe(ch, tmp, &c->channels.unlinked, unlinked_node)
		channel_destroy(ch);
	for (;;) {
		ch = NULL;
		rcu_read_lock();
		cds_lfht_first(c->channels.ht, &it);
		if (cds_lfht_iter_get_node(&it))
			ch = caa_container_of(cds_lfht_iter_get_node(&it), struct channel, node);
		rcu_read_unlock();
		if (!ch)
			break;
		channel_destroy(ch);
	}
	if (cds_lfht_destroy(c->channels.ht, NULL))
		ERR("channel table not empty at destroy");
	c->channels.ht = NULL;
}

/* See channel.h. */
struct channel *channel_alloc(struct consumer *c, const struct cmd_ask_channel *a)
{
	struct channel *ch;

	assert(c && a);
	ch = sl_calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	cds_lfht_node_init(&ch->node);
	ch->c = c;
	ch->key = a->key;
	ch->session_id = a->session_id;
	ch->session_id_per_pid = a->session_id_per_pid;
	ch->ust_app_uid = a->ust_app_uid;
	ch->creds = a->buffer_creds;
	memcpy(ch->pathname, a->pathname, sizeof(ch->pathname));
	memcpy(ch->name, a->name, sizeof(ch->name));
	ch->metadata = a->type == CMD_CHAN_METADATA;
	ch->monitor = a->monitor;
	ch->tracefile_size = a->tracefile_size;
	ch->tracefile_count = a->tracefile_count;
	ch->monitor_timer_us = a->monitor_timer_us;
	ch->switch_timer_us = a->switch_timer_us;
	/* Only a relay can serve live viewers: a local live channel is a plain one. */
	ch->live_timer_us = a->relayd_id.set ? a->live_timer_us : 0;
	ch->ctf_stream_id = a->chan_id;
	ch->refcount = 1;
	ch->poll_wr = -1;
	CDS_INIT_LIST_HEAD(&ch->private_streams);
	CDS_INIT_LIST_HEAD(&ch->data_streams);
	CDS_INIT_LIST_HEAD(&ch->monitor_node);
	return ch;
}

/*
 * Whether the last reference is gone: the free is queued on the cmd loop.
 * Such a channel is dead to every command (failure mode 7): a reference
 * taken now would be freed under its holder.  Once 0 the count never rises
 * again (channel_tryget), so the answer cannot go stale on the cmd loop.
 */
static bool channel_dying(struct channel *ch)
{
	return uatomic_read(&ch->refcount) <= 0;
}

/*
 * Whether a new channel may take ch's key: ch is dying, or it is a metadata
 * channel CLOSE_METADATA already gave up (only its stream still drains).
 * The session daemon never reuses a key; a peer that does gets a fresh
 * channel rather than one half torn down (failure mode 7).
 */
static bool channel_key_reusable(struct channel *ch)
{
	return channel_dying(ch) || (ch->metadata && ch->cmd_ref_dropped);
}

/*
 * Take such a channel out of the table before its free runs, so its key can
 * name a fresh channel at once (cmd loop, RCU read side held by the caller).
 * It stays counted (channel_count) and its free still waits for a grace
 * period (unlinked).
 */
static void channel_unlink(struct channel *ch)
{
	if (!ch->in_table)
		return;
	if (cds_lfht_del(ch->c->channels.ht, &ch->node) == 0) {
		ch->in_table = false;
		ch->unlinked = true;
		cds_list_add_tail(&ch->unlinked_node, &ch->c->channels.unlinked);
	}
}

/* See channel.h. */
int channel_publish(struct channel *ch)
{
	struct cds_lfht_node *n;
	struct channel *old;

	/* Published once, by ASK_CHANNEL, with the creator's reference. */
	assert(!ch->in_table && !ch->unlinked && uatomic_read(&ch->refcount) > 0);
	rcu_read_lock();
	n = cds_lfht_add_unique(ch->c->channels.ht, key_hash(ch->key), key_match, &ch->key,
				&ch->node);
	if (n != &ch->node) {
		old = caa_container_of(n, struct channel, node);
		if (channel_key_reusable(old)) {
			channel_unlink(old);
			n = cds_lfht_add_unique(ch->c->channels.ht, key_hash(ch->key), key_match,
						&ch->key, &ch->node);
		}
	}
	rcu_read_unlock();
	if (n != &ch->node)
		return -EEXIST;
	ch->in_table = true;
	uatomic_inc(&ch->c->st_channels);
	return 0;
}

/* See channel.h. */
struct channel *channel_lookup(struct consumer *c, uint64_t key)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	struct channel *ch = NULL;

	rcu_read_lock();
	cds_lfht_lookup(c->channels.ht, key_hash(key), key_match, &key, &it);
	n = cds_lfht_iter_get_node(&it);
	if (n)
		ch = caa_container_of(n, struct channel, node);
	rcu_read_unlock();
	if (ch && channel_dying(ch))
		return NULL;
	return ch;
}

/* See channel.h. */
void channel_for_each(struct consumer *c, void (*fn)(struct channel *ch, void *arg), void *arg)
{
	struct cds_lfht_iter it;
	struct channel *ch;

	rcu_read_lock();
	cds_lfht_for_each_entry(c->channels.ht, &it, ch, node)
		if (!channel_dying(ch))
			fn(ch, arg);
	rcu_read_unlock();
	/* Closed metadata channels whose key was reused still drain and quit. */
	cds_list_for_each_entry(ch, &c->channels.unlinked, unlinked_node)
		if (!channel_dying(ch))
			fn(ch, arg);
}

/* See channel.h.  Unlinked dying channels count until their free has run. */
unsigned long channel_count(struct consumer *c)
{
	long split1, split2;
	unsigned long n = 0;
	struct channel *ch;

	rcu_read_lock();
	cds_lfht_count_nodes(c->channels.ht, &split1, &n, &split2);
	rcu_read_unlock();
	cds_list_for_each_entry(ch, &c->channels.unlinked, unlinked_node)
		n++;
	return n;
}

/* See channel.h. */
void channel_get(struct channel *ch)
{
	/* From 0 would revive a channel whose free is queued: use channel_tryget. */
	long now = uatomic_add_return(&ch->refcount, 1);

	assert(now > 1);
	(void)now;
}

/* See channel.h. */
bool channel_tryget(struct channel *ch)
{
	long old = uatomic_read(&ch->refcount);

	while (old > 0) {
		long seen = uatomic_cmpxchg(&ch->refcount, old, old + 1);

		if (seen == old)
			return true;
		old = seen;
	}
	return false;
}

/* Cmd-loop callback of the last put. */
static void channel_free_cb(void *arg)
{
	channel_free_now(arg);
}

/* See channel.h. */
void channel_put(struct channel *ch)
{
	long left = uatomic_sub_return(&ch->refcount, 1);

	/* Below zero: a put without its get; the free was already queued. */
	assert(left >= 0);
	if (left != 0)
		return;
	if (loop_post(ch->c->env.cmd_loop, "channel free", channel_free_cb, ch))
		ERR("cannot schedule the free of channel %" PRIu64 "; freed at destroy", ch->key);
}

/* See channel.h. */
void channel_drop_cmd_ref(struct channel *ch)
{
	if (ch->cmd_ref_dropped)
		return;
	ch->cmd_ref_dropped = true;
	if (ch->hup_src) {
		loop_remove(ch->c->env.cmd_loop, ch->hup_src);
		ch->hup_src = NULL;
	}
	channel_put(ch);
}

/* See channel.h. */
void channel_set_chunk(struct channel *ch, struct chunk *chunk)
{
	if (chunk)
		chunk_ref(chunk);
	if (ch->chunk)
		chunk_put(ch->chunk);
	ch->chunk = chunk;
}

/* See channel.h. */
void channel_free_now(struct channel *ch)
{
	struct consumer *c = ch->c;

	/* Only the last reference frees: the creator's (1) or the queued free (0). */
	assert(uatomic_read(&ch->refcount) <= 1);
	channel_destroy(ch);
	c->channels.freed(c);
}

/* Leave the table (after a grace period), free the private streams, then ch. */
static void channel_destroy(struct channel *ch)
{
	struct consumer *c = ch->c;
	struct stream *s, *tmp;

	if (ch->in_table) {
		rcu_read_lock();
		cds_lfht_del(c->channels.ht, &ch->node);
		rcu_read_unlock();
		ch->in_table = false;
		uatomic_dec(&c->st_channels);
		synchronize_rcu();
	} else if (ch->unlinked) {
		/* Unlinked early by channel_publish(): readers may still see it. */
		cds_list_del(&ch->unlinked_node);
		ch->unlinked = false;
		uatomic_dec(&c->st_channels);
		synchronize_rcu();
	}
	if (ch->hup_src) {
		loop_remove(c->env.cmd_loop, ch->hup_src);
		ch->hup_src = NULL;
	}
	cds_list_for_each_entry_safe(s, tmp, &ch->private_streams, node) {
		cds_list_del(&s->node);
		stream_free(s);
	}
	if (ch->poll_wr >= 0) {
		close(ch->poll_wr);
		ch->poll_wr = -1;
	}
	if (ch->chunk)
		chunk_put(ch->chunk);
	ch->chunk = NULL;
	DBG("channel %" PRIu64 " freed", ch->key);
	rb_channel_destroy(ch->rbc);
	mdcache_destroy(ch->cache);
	relayd_put(ch->relayd);
	/* Only at consumer_destroy: a live round holds a channel ref until it ends. */
	free(ch->live_round);
	free(ch);
}

/* Streams of a hand-off that never happened go back to their channel. */
static void handoff_give_back(struct xop *x)
{
	struct channel_handoff *h = xop_of(x, struct channel_handoff);
	struct stream *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &h->streams, node) {
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &h->ch->private_streams);
		h->ch->dispatched = false;
		/* the cmd loop's own reference keeps the channel */
		uatomic_dec(&h->ch->refcount);
	}
}

/* See channel.h. */
struct channel_handoff *channel_handoff_new(struct channel *ch, const char *name, xop_fn done)
{
	struct channel_handoff *h = xop_new(ch->c, struct channel_handoff, name, done);
	struct stream *s, *tmp;

	if (!h)
		return NULL;
	h->x.release = handoff_give_back;
	h->ch = ch;
	CDS_INIT_LIST_HEAD(&h->streams);
	cds_list_for_each_entry_safe(s, tmp, &ch->private_streams, node) {
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &h->streams);
		channel_get(ch);
	}
	return h;
}

/* See channel.h. */
const char *channel_label(const struct channel *ch, char *buf, size_t len)
{
	const char *who = strstr(ch->pathname, "ust/");

	snprintf(buf, len, "channel %" PRIu64 " '%s' (%s)", ch->key, ch->name,
		 who ? who : ch->pathname);
	return buf;
}
