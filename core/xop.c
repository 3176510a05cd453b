/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xop.c - cross-loop operations (see xop.h): allocation, the post to the
 * owner loop, and the wait that brings the completion back to the cmd loop.
 * xop_complete() runs on the owner loop; everything else on the cmd loop
 * (or in consumer_destroy, when no loop runs).
 *
 * Nothing here sees peer input: misuse (no `done`, a start or completion
 * twice, a completion without a start) is our own bug and is asserted.
 */
#include <assert.h>
#include <stdlib.h>

#include "alloc.h"
#include "consumer_priv.h"
#include "log.h"
#include "xop.h"

/* See xop.h. */
void *xop_alloc(struct consumer *c, size_t size, const char *name, xop_fn done)
{
	struct xop *x;

	assert(c && name && done && size >= sizeof(*x));
	x = sl_calloc(1, size);
	if (!x) {
		ERR("%s: out of memory", name);
		return NULL;
	}
	x->c = c;
	x->name = name;
	x->done = done;
	CDS_INIT_LIST_HEAD(&x->node);
	return x;
}

/* See xop.h: unlink (a node never listed is its own list), release, free. */
void xop_free(struct xop *x)
{
	assert(x);
	pthread_mutex_lock(&x->c->xops_lock);
	cds_list_del(&x->node);
	pthread_mutex_unlock(&x->c->xops_lock);
	if (x->release)
		x->release(x);
	free(x);
}

/* Cmd-loop side of a completed operation. */
static void xop_wait_cb(void *arg)
{
	struct xop *x = arg;

	x->wait = NULL;
	x->done(x);
	xop_free(x);
}

/* See xop.h. */
int xop_start(struct xop *x, struct loop *loop, loop_fn fn)
{
	struct consumer *c;
	int ret;

	assert(x && loop && fn && x->done);
	/* Started once: a listed node or a wait means it is already in flight. */
	assert(cds_list_empty(&x->node) && !x->wait && !x->completed);
	c = x->c;
	/* Listed before the post: consumer_destroy must find it if no loop runs it. */
	pthread_mutex_lock(&c->xops_lock);
	cds_list_add_tail(&x->node, &c->xops);
	pthread_mutex_unlock(&c->xops_lock);
	/* The wait exists before the work is posted, so a completion cannot miss it. */
	ret = loop_add_wait(c->env.cmd_loop, x->name, xop_wait_cb, x, &x->wait);
	if (ret)
		goto err;
	ret = loop_post(loop, x->name, fn, x);
	if (ret) {
		loop_remove(c->env.cmd_loop, x->wait);
		goto err;
	}
	return 0;
err:
	ERR("%s: cannot schedule the work: %s", x->name, log_strerror(-ret));
	xop_free(x);
	return ret;
}

/* See xop.h. */
void xop_complete(struct xop *x)
{
	/*
	 * A second completion would run done twice and free x twice; one
	 * without xop_start() has no wait to wake.  Only the owner loop
	 * touches `completed`, and before the wake, so no lock is needed.
	 */
	assert(x && x->wait && !x->completed);
	x->completed = true;
	loop_wake(x->c->env.cmd_loop, x->wait);
}

/* See xop.h. */
void xop_destroy_all(struct consumer *c)
{
	struct xop *x, *tmp;

	cds_list_for_each_entry_safe(x, tmp, &c->xops, node)
		xop_free(x);
}
