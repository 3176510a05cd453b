/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * assert_hook.h - route the core's assert() to cmocka.
 *
 * The core is built once, outside any test, so cmocka cannot redefine its
 * assert().  Defining glibc's __assert_fail in the test binary interposes on
 * libc's, which lets expect_assert_failure() check that an internal misuse
 * stops at its assertion.  Include after <cmocka.h>, in one file per binary.
 */
#ifndef SLUICE_ASSERT_HOOK_H
#define SLUICE_ASSERT_HOOK_H

#include <stdlib.h>

void __assert_fail(const char *expr, const char *file, unsigned int line, const char *func)
	__attribute__((noreturn));

void __assert_fail(const char *expr, const char *file, unsigned int line, const char *func)
{
	(void)func;
	mock_assert(0, expr, file, (int)line);
	abort(); /* not reached: mock_assert jumps back into the test or fails it */
}

#endif
