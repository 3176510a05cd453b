/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_sigbus.h - SIGBUS recovery around liblttng-ust-ctl calls.
 *
 * The ring buffers live in shared memory files that someone else may
 * truncate (a --shm-path file, a misbehaving peer).  Touching a truncated
 * mapping raises SIGBUS.  lttng-ust 2.13 meant to handle this itself: every
 * access to a stream's mapping is bracketed by a sigsetjmp "transaction"
 * and lttng_ust_ctl_sigbus_handle(), called from the executable's SIGBUS
 * handler, jumps back so the call returns -EIO.  The executable must define
 * the per-thread transaction state (DEFINE_LTTNG_UST_SIGBUS_STATE(), TLS
 * symbol `lttng_ust_sigbus_state`, or the library does not even load);
 * ustctl_sigbus.c holds that one definition, no other sluice file may.
 *
 * Why we do not rely on the library's recovery:
 *   - in 2.13.5 (Debian 12) the macro that opens a transaction always
 *     evaluates to "no fault", so after the jump the library retries the
 *     faulting access forever (upstream fix "ustctl: sigbus handling:
 *     statement with no effect", first released in 2.13.10);
 *   - even fixed, it returns without unlinking its on-stack range record
 *     from the TLS list, so the next transaction writes into a dead stack
 *     frame;
 *   - a few consumer calls touch the shm outside any transaction (snapshot
 *     position getters, wait fd getters, stream open/close).
 * So every adapter call that touches a stream's shm goes through
 * ustctl_sigbus_call(): on a SIGBUS inside it the handler jumps back to us,
 * we reset the library's transaction state and the call returns -EIO.
 *
 * The same guard contains an app that corrupts its ring buffers (issue 11).
 * The library trusts what it reads from the shm: offsets and shm references
 * it follows (a NULL it dereferences: SIGSEGV), assertions it makes
 * (`client_buffer_begin: Assertion 'header' failed` with a zeroed buffer)
 * and loop bounds (channel destroy walks from consumed to produced: with
 * random positions that is ~2^50 iterations).  None of it can be checked
 * from outside in all cases, so inside ustctl_sigbus_call():
 *   - a SIGSEGV jumps back like a SIGBUS: the call returns -EFAULT;
 *   - a failed assert() of the library jumps back too (-EFAULT): this
 *     executable interposes glibc's __assert_fail, which the library calls
 *     (ustctl_sigbus.c); outside a guarded call it prints and aborts as
 *     glibc's does;
 *   - a call that runs longer than ustctl_sigbus_deadline_ms() is ended by
 *     the watchdog thread with SIGUSR2 (to that thread only): -ETIMEDOUT.
 * Jumping out is safe for the calls we guard because none of them takes a
 * lock or allocates on those paths (the lock-free ring buffer); the object
 * behind the call must be treated as broken afterwards (ustctl_rb.c marks
 * it and never calls the library on it again, except to destroy it, on the
 * reaper thread and under the same guard).
 */
#ifndef SLUICE_USTCTL_SIGBUS_H
#define SLUICE_USTCTL_SIGBUS_H

/*
 * Install the process-wide SA_SIGINFO SIGBUS handler.  A SIGBUS inside
 * ustctl_sigbus_call() resumes there; otherwise the library gets its chance
 * (lttng_ust_ctl_sigbus_handle(si_addr)); failing both it is a real crash:
 * one line on stderr, default action restored, signal re-raised, so the
 * process dies of SIGBUS as it would have without us.  Idempotent.
 * Returns 0 or a negative errno.  Thread-safe (sigaction is).
 */
int ustctl_sigbus_install(void);

/*
 * Run fn(arg) on this thread with SIGBUS recovery.  Returns fn's result, or
 * -EIO when a SIGBUS interrupted it (fn did not complete; whatever it was
 * doing in the ring buffer is abandoned, the shm is unusable anyway).
 * Nested calls run fn under the outer guard.  Needs ustctl_sigbus_install().
 * fn must not take locks: it may be abandoned half-way.
 */
int ustctl_sigbus_call(int (*fn)(void *arg), void *arg);

/*
 * Bound on one guarded call, and the watchdog that enforces it.  The
 * watchdog thread starts with ustctl_sigbus_install(); it checks every
 * thread that made a guarded call every 100 ms, and a call still running
 * past the deadline is interrupted (-ETIMEDOUT).  Default 2000 ms.  The
 * rule (deadline counted from the first scan that saw the call, one signal
 * per call) is ustctl_watchdog.h, unit-tested on a virtual clock.
 */
#define USTCTL_CALL_DEADLINE_MS 2000
unsigned int ustctl_sigbus_deadline_ms(void);
/* Tests: change the deadline (ms, > 0). */
void ustctl_sigbus_set_deadline_ms(unsigned int ms);
/* Guarded calls interrupted so far: faults (SIGSEGV, assert) and deadlines. */
unsigned long ustctl_sigbus_faults(void);
unsigned long ustctl_sigbus_timeouts(void);

#endif /* SLUICE_USTCTL_SIGBUS_H */
