/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_loop.c - the pending-wait tracking loop wrapper (scenario_loop.h).
 *
 * Every wait and post the core registers gets a small record; the callback
 * handed to the sim loop is a trampoline that drops the record before
 * running the real callback, so "pending" is exact at every step boundary.
 */
#include "scenario_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/compiler.h>

struct scn_pending {
	struct cds_list_head node;
	struct loop_source *src;     /* the inner source (NULL for posts) */
	bool post;
	bool woken;
	loop_fn fn;
	void *arg;
	char name[64];
};

static struct scn_tracker *tracker;
/* The ops of the wrapped loops (all sim loops share one table). */
static const struct loop_ops *scn_inner_ops;

static struct loop *inner_of(struct loop *l)
{
	return caa_container_of(l, struct scn_loop, base)->inner;
}

/* Record of an inner source, or NULL. */
static struct scn_pending *find(struct loop_source *src)
{
	struct scn_pending *p;

	if (!tracker || !src)
		return NULL;
	cds_list_for_each_entry(p, &tracker->pending, node)
		if (p->src == src)
			return p;
	return NULL;
}

/* Trampoline: forget the record, then run the real callback. */
static void tramp(void *arg)
{
	struct scn_pending *p = arg;
	loop_fn fn = p->fn;
	void *a = p->arg;

	cds_list_del(&p->node);
	free(p);
	fn(a);
}

static struct scn_pending *record(const char *name, loop_fn fn, void *arg, bool post)
{
	struct scn_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->arg = arg;
	p->post = post;
	snprintf(p->name, sizeof(p->name), "%s", name ? name : "?");
	return p;
}

static int w_add_fd(struct loop *l, int fd, const char *name, loop_fd_fn fn, void *arg,
		    struct loop_source **out)
{
	return loop_add_fd(inner_of(l), fd, name, fn, arg, out);
}

static int w_add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns, const char *name,
		       loop_fn fn, void *arg, struct loop_source **out)
{
	return loop_add_timer(inner_of(l), first_ns, period_ns, name, fn, arg, out);
}

static int w_add_wait(struct loop *l, const char *name, loop_fn fn, void *arg,
		      struct loop_source **out)
{
	struct scn_pending *p = record(name, fn, arg, false);
	int ret;

	if (!p)
		return -ENOMEM;
	ret = loop_add_wait(inner_of(l), name, tramp, p, &p->src);
	if (ret) {
		free(p);
		return ret;
	}
	cds_list_add_tail(&p->node, &tracker->pending);
	tracker->waits_added++;
	*out = p->src;
	return 0;
}

static void w_wake(struct loop_source *src)
{
	struct scn_pending *p = find(src);

	if (p)
		p->woken = true;
	/* every wrapped loop is a sim loop: one ops table, and wake needs no loop */
	scn_inner_ops->wake(src);
}

static int w_post(struct loop *l, const char *name, loop_fn fn, void *arg)
{
	struct scn_pending *p = record(name, fn, arg, true);
	int ret;

	if (!p)
		return -ENOMEM;
	ret = loop_post(inner_of(l), name, tramp, p);
	if (ret) {
		free(p);
		return ret;
	}
	cds_list_add_tail(&p->node, &tracker->pending);
	tracker->posts_added++;
	return 0;
}

static void w_remove(struct loop_source *src)
{
	struct scn_pending *p = find(src);

	if (p) {
		cds_list_del(&p->node);
		free(p);
	}
	scn_inner_ops->remove(src);
}

static uint64_t w_now_ns(struct loop *l)
{
	return loop_now_ns(inner_of(l));
}

static const struct loop_ops scn_loop_ops = {
	.add_fd = w_add_fd,
	.add_timer = w_add_timer,
	.add_wait = w_add_wait,
	.wake = w_wake,
	.post = w_post,
	.remove = w_remove,
	.now_ns = w_now_ns,
};

/* See scenario_loop.h. */
void scn_tracker_init(struct scn_tracker *t)
{
	CDS_INIT_LIST_HEAD(&t->pending);
	t->waits_added = 0;
	t->posts_added = 0;
	tracker = t;
}

/* See scenario_loop.h. */
void scn_tracker_fini(struct scn_tracker *t)
{
	struct scn_pending *p, *n;

	cds_list_for_each_entry_safe(p, n, &t->pending, node) {
		cds_list_del(&p->node);
		free(p);
	}
	if (tracker == t)
		tracker = NULL;
}

/* See scenario_loop.h. */
void scn_loop_wrap(struct scn_loop *l, struct loop *inner)
{
	l->base.ops = &scn_loop_ops;
	l->base.name = inner->name;
	l->inner = inner;
	scn_inner_ops = inner->ops;
}

/* See scenario_loop.h. */
bool scn_tracker_pending(const struct scn_tracker *t, const char *sub, bool posts)
{
	const struct scn_pending *p;

	cds_list_for_each_entry(p, &t->pending, node)
		if (p->post == posts && !p->woken && strstr(p->name, sub))
			return true;
	return false;
}

/* See scenario_loop.h. */
void scn_tracker_describe(const struct scn_tracker *t, char *buf, size_t len)
{
	const struct scn_pending *p;
	size_t o = 0;

	buf[0] = '\0';
	cds_list_for_each_entry(p, &t->pending, node) {
		int n = snprintf(buf + o, len - o, "%s%s '%s'%s", o ? "; " : "",
				 p->post ? "post" : "wait", p->name, p->woken ? " (woken)" : "");

		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
}
