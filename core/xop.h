/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xop.h - cross-loop operations.  A handler on the cmd loop posts work to
 * the loop that owns the objects it needs (data or metadata loop, see
 * doc/core-design.md); the work calls xop_complete() there, and the
 * operation's `done` then runs back on the cmd loop, which replies.
 *
 * Each operation is a struct of its own: the header `struct xop x` first
 * (or first in its first member), then the named fields of its request and
 * result.  xop_new() allocates one, xop_of() finds it again from the header
 * (or from a loop_fn's arg).
 * In-flight operations sit on the consumer's list, under its xops_lock (a
 * leaf lock), so consumer_destroy() can free those that never completed.
 */
#ifndef SLUICE_CORE_XOP_H
#define SLUICE_CORE_XOP_H

#include <stdbool.h>
#include <stddef.h>

#include <urcu/compiler.h>
#include <urcu/list.h>

#include "loop.h"

struct consumer;
struct xop;

typedef void (*xop_fn)(struct xop *x);

struct xop {
	struct cds_list_head node;         /* on the consumer's in-flight list */
	struct consumer *c;
	const char *name;
	struct loop_source *wait;          /* cmd-loop wait that xop_complete() wakes */
	xop_fn done;                       /* cmd loop, once completed; the op is freed after */
	xop_fn release;                    /* optional, at the free: drop what the op still holds */
	bool completed;                    /* owner loop: xop_complete() ran (it runs once) */
};

/* The operation of `type` (header member `x`) that a header pointer belongs to. */
#define xop_of(ptr, type) caa_container_of((struct xop *)(ptr), type, x)

/*
 * A zeroed operation of `type`, which begins with its header (see above);
 * `done` runs on the cmd loop once it completed.  NULL on ENOMEM (logged).
 */
#define xop_new(c, type, name, done) ((type *)xop_alloc((c), sizeof(type), (name), (done)))
void *xop_alloc(struct consumer *c, size_t size, const char *name, xop_fn done);

/*
 * Post `fn(x)` on `loop`; when fn calls xop_complete(), x->done runs on the
 * cmd loop and x is freed.  Returns 0, or -errno: x is then freed and done
 * NOT called.
 */
int xop_start(struct xop *x, struct loop *loop, loop_fn fn);
/* Signal completion (on the loop that ran the work). */
void xop_complete(struct xop *x);
/* Free an operation that was never started (its release runs). */
void xop_free(struct xop *x);
/* Free every operation still in flight (consumer_destroy: no loop runs). */
void xop_destroy_all(struct consumer *c);

#endif /* SLUICE_CORE_XOP_H */
