/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * alloc.c - the allocation seam (alloc.h).  Called from every loop; the
 * hook is read without synchronisation because it is only ever set while
 * a single thread runs the core (the simulation, unit tests).
 */
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static sl_alloc_fail_fn fail_hook;
static void *fail_arg;

void sl_alloc_set_hook(sl_alloc_fail_fn fn, void *arg)
{
	fail_hook = fn;
	fail_arg = arg;
}

/* Does the hook fail this allocation?  Sets errno as libc would. */
static bool injected_failure(void)
{
	if (!fail_hook || !fail_hook(fail_arg))
		return false;
	errno = ENOMEM;
	return true;
}

void *sl_malloc(size_t size)
{
	return injected_failure() ? NULL : malloc(size);
}

void *sl_calloc(size_t nmemb, size_t size)
{
	return injected_failure() ? NULL : calloc(nmemb, size);
}

void *sl_realloc(void *ptr, size_t size)
{
	return injected_failure() ? NULL : realloc(ptr, size);
}

char *sl_strdup(const char *s)
{
	return injected_failure() ? NULL : strdup(s);
}
