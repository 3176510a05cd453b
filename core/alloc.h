/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * alloc.h - the allocation seam of the core: every heap allocation of the
 * core goes through these wrappers, so the simulation can fail any one
 * of them (sim_fault.h, kind "alloc") and the fault sweep can check that
 * each failure ends in a clean error: no crash, no leak, no hang.
 *
 * Production never sets a hook: the wrappers are the libc calls plus one
 * predictable branch.  The hook is process-wide (an allocation has no
 * context to find a simulated world through); set it only while no other
 * thread allocates through the seam (the simulation runs on one thread).
 * Memory from these wrappers is released with free().
 */
#ifndef SLUICE_CORE_ALLOC_H
#define SLUICE_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Asked before each allocation: true = this one fails (NULL, errno ENOMEM). */
typedef bool (*sl_alloc_fail_fn)(void *arg);

/* Install `fn` (NULL: none, the default). */
void sl_alloc_set_hook(sl_alloc_fail_fn fn, void *arg);

void *sl_malloc(size_t size);
void *sl_calloc(size_t nmemb, size_t size);
/* On failure `ptr` is untouched and still the caller's. */
void *sl_realloc(void *ptr, size_t size);
char *sl_strdup(const char *s);

#endif /* SLUICE_CORE_ALLOC_H */
