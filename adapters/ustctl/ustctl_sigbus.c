/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_sigbus.c - the SIGBUS state and handler liblttng-ust-ctl needs,
 * and the guard that makes a SIGBUS inside a library call recoverable
 * (why the library's own recovery is not used: ustctl_sigbus.h); the same
 * guard for SIGSEGV and assertions inside the library, and the watchdog
 * thread that ends a guarded call stuck past its deadline (issue 11).
 * Runs on whichever thread makes the call (cmd, metadata, data loops, the
 * reaper of ustctl_reaper.c); the watchdog is a detached thread of its own.
 *
 * Linking: this object holds the one definition of the TLS variable the
 * shared library refers to.  A static archive member is only pulled in when
 * something already linked refers to it, and references coming from a shared
 * library listed later on the command line do not count; ustctl_rb.o calls
 * ustctl_sigbus_install() and ustctl_sigbus_call(), which is what drags this
 * file (and so the definition) into every program that uses the adapter.
 */
#include "ustctl_sigbus.h"
#include "ustctl_watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lttng/ust-ctl.h>
#include <lttng/ust-sigbus.h>
#include <urcu/list.h>
#include <urcu/system.h>

#include "log.h"

/* Initial-exec TLS, as the library's extern declaration requires. */
DEFINE_LTTNG_UST_SIGBUS_STATE();

/* siglongjmp values: why a guarded call was left. */
enum jump_why { JUMP_BUS = 1, JUMP_FAULT, JUMP_ASSERT, JUMP_DEADLINE };

/* Signal the watchdog sends to a thread stuck in a guarded call. */
#define WATCHDOG_SIGNAL SIGUSR2
/* Watchdog period, and the most threads it watches (loops, reaper, tests). */
#define WATCHDOG_PERIOD_MS 100
#define MAX_WATCHED_THREADS 64

/*
 * Per-thread guard of ustctl_sigbus_call().  Initial-exec so the signal
 * handler never triggers a lazy TLS allocation.  seq counts the guarded
 * calls of the thread (the watchdog's way to tell a stuck call from a busy
 * thread); kill_seq is the call the watchdog asked to end.
 */
struct sigbus_guard {
	volatile sig_atomic_t active;
	bool registered;
	atomic_ulong seq;
	atomic_ulong kill_seq;
	const char *assertion;        /* the library's failed assert(), for the log */
	const char *assert_func;
	sigjmp_buf env;
};
static __thread __attribute__((tls_model("initial-exec"))) struct sigbus_guard guard;

/*
 * liblttng-ust-ctl 2.13 opens a SIGBUS "transaction" in nearly every stream
 * call (21 functions: get_next_subbuf, put_next_subbuf, each packet getter,
 * the mmap read offset, ...) with sigsetjmp(env, 1): one rt_sigprocmask
 * system call per library call, about 15 per packet at 16 KiB sub-buffers,
 * most of the consumer's system calls (measured, issue 12).  The saved mask
 * is only used if lttng_ust_ctl_sigbus_handle() jumps back to that
 * transaction, and our handler calls it only OUTSIDE a guarded call: inside
 * one (guard.active) every SIGBUS, SIGSEGV, assertion and deadline jumps to
 * guard.env instead, whose recovery path unblocks the signals itself.  So
 * inside a guarded call the library's mask save is dead work.
 *
 * This executable therefore defines __sigsetjmp (the symbol the sigsetjmp()
 * macro calls; an executable's definition comes first in symbol lookup, as
 * for __assert_fail below): inside a guarded call, or when no mask save is
 * asked, it tail-jumps to glibc's _setjmp (= __sigsetjmp(env, 0)); otherwise
 * to glibc's setjmp (= __sigsetjmp(env, 1)).  Both reach glibc's own
 * __sigsetjmp by a direct jump inside libc, never back here.  A tail jump
 * (no call frame of ours) is required: the jump buffer records the caller's
 * stack pointer and return address, which must be those of the caller.
 * guard.active is read with a local-exec TLS access: the guard lives in the
 * executable (this object is only linked into executables).
 */
#if defined(__x86_64__)
/* Elsewhere the library keeps its mask save: correct, one system call more per library call. */
_Static_assert(offsetof(struct sigbus_guard, active) == 0, "__sigsetjmp reads guard.active");
_Static_assert(sizeof(((struct sigbus_guard *)0)->active) == 4, "__sigsetjmp reads 4 bytes");
__asm__(".text\n"
	".globl __sigsetjmp\n"
	".type __sigsetjmp, @function\n"
	"__sigsetjmp:\n"
	"\t.cfi_startproc\n"
	"\tendbr64\n"
	"\ttestl %esi, %esi\n"
	"\tje 1f\n"
	"\tcmpl $0, %fs:guard@tpoff\n"
	"\tjne 1f\n"
	"\tjmp setjmp@PLT\n"
	"1:\n"
	"\tjmp _setjmp@PLT\n"
	"\t.cfi_endproc\n"
	".size __sigsetjmp, .-__sigsetjmp\n");
#endif

/* Threads the watchdog watches: registered at their first guarded call. */
struct watched {
	struct sigbus_guard *g;       /* NULL: free slot */
	pthread_t tid;
	struct ustctl_watch w;        /* the deadline rule's memory (ustctl_watchdog.h) */
};
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watched watched[MAX_WATCHED_THREADS];
static pthread_key_t watch_key;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static int watch_init_err;
static atomic_uint deadline_ms = USTCTL_CALL_DEADLINE_MS;
static atomic_ulong nr_faults, nr_timeouts;

unsigned int ustctl_sigbus_deadline_ms(void)
{
	return atomic_load(&deadline_ms);
}

void ustctl_sigbus_set_deadline_ms(unsigned int ms)
{
	if (ms > 0)
		atomic_store(&deadline_ms, ms);
}

unsigned long ustctl_sigbus_faults(void)
{
	return atomic_load(&nr_faults);
}

unsigned long ustctl_sigbus_timeouts(void)
{
	return atomic_load(&nr_timeouts);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Thread exit (pthread key destructor): forget the thread before it is gone. */
static void unwatch(void *arg)
{
	struct sigbus_guard *g = arg;

	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < MAX_WATCHED_THREADS; i++) {
		if (watched[i].g == g)
			watched[i].g = NULL;
	}
	pthread_mutex_unlock(&watch_lock);
}

/*
 * The watchdog: every WATCHDOG_PERIOD_MS, a thread seen in the same guarded
 * call for longer than the deadline gets WATCHDOG_SIGNAL (once per call).
 * The lock is held while signalling: a thread leaves the table (unwatch)
 * before it exits, so the pthread_t signalled is always a live thread.
 */
static void *watchdog_main(void *arg)
{
	struct timespec period = { .tv_sec = 0, .tv_nsec = WATCHDOG_PERIOD_MS * 1000000L };
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		uint64_t now;

		nanosleep(&period, NULL);
		now = now_ms();
		pthread_mutex_lock(&watch_lock);
		for (int i = 0; i < MAX_WATCHED_THREADS; i++) {
			struct watched *w = &watched[i];
			unsigned long seq;

			if (!w->g)
				continue;
			seq = atomic_load(&w->g->seq);
			if (!ustctl_watch_due(&w->w, w->g->active, seq, now,
					      ustctl_sigbus_deadline_ms()))
				continue;
			atomic_store(&w->g->kill_seq, seq);
			w->w.fired = pthread_kill(w->tid, WATCHDOG_SIGNAL) == 0;
		}
		pthread_mutex_unlock(&watch_lock);
	}
	return NULL;
}

/* Once per process: the thread-exit key and the watchdog thread (detached). */
static void watch_init(void)
{
	pthread_t tid;
	int ret = pthread_key_create(&watch_key, unwatch);

	if (ret == 0) {
		ret = pthread_create(&tid, NULL, watchdog_main, NULL);
		if (ret == 0)
			ret = pthread_detach(tid);
	}
	watch_init_err = ret;
}

/* First guarded call of this thread: put it under the watchdog. */
static void watch_me(void)
{
	bool placed = false;

	guard.registered = true;
	if (watch_init_err)
		return;
	pthread_mutex_lock(&watch_lock);
	for (int i = 0; i < MAX_WATCHED_THREADS && !placed; i++) {
		if (watched[i].g)
			continue;
		watched[i] = (struct watched){ .g = &guard, .tid = pthread_self() };
		placed = true;
	}
	pthread_mutex_unlock(&watch_lock);
	if (!placed || pthread_setspecific(watch_key, &guard) != 0) {
		unwatch(&guard);
		ERR("ring-buffer watchdog: this thread is not watched (table full); its calls into "
		    "liblttng-ust-ctl are not bounded in time");
	}
}

/*
 * Runs on the faulting thread.  Only async-signal-safe calls: siglongjmp,
 * the library hook (which itself siglongjmps or returns), write(2),
 * sigaction(2), raise(3).
 */
static void ustctl_sigbus_handler(int sig, siginfo_t *info, void *uctx)
{
	static const char msg_bus[] = "sluice: SIGBUS outside a ring-buffer access, aborting\n";
	static const char msg_segv[] = "sluice: SIGSEGV outside a ring-buffer access, aborting\n";
	struct sigaction dfl;
	ssize_t wret;

	(void)uctx;
	if (sig == WATCHDOG_SIGNAL) {
		/* Only the call the watchdog found stuck; a late signal is ignored. */
		if (guard.active && atomic_load(&guard.seq) == atomic_load(&guard.kill_seq))
			siglongjmp(guard.env, JUMP_DEADLINE);
		return;
	}
	if (guard.active)
		siglongjmp(guard.env, sig == SIGBUS ? JUMP_BUS : JUMP_FAULT);
	if (sig == SIGBUS && info)
		lttng_ust_ctl_sigbus_handle(info->si_addr);

	/*
	 * Still here: not a ring-buffer access.  Carrying on would re-run the
	 * faulting instruction forever, so die of the same signal instead; the
	 * re-raised signal stays pending until this handler returns.
	 */
	if (sig == SIGBUS)
		wret = write(STDERR_FILENO, msg_bus, sizeof(msg_bus) - 1);
	else
		wret = write(STDERR_FILENO, msg_segv, sizeof(msg_segv) - 1);
	(void)wret;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(sig, &dfl, NULL);
	(void)raise(sig);
}

/*
 * glibc's assert() failure entry, interposed: liblttng-ust-ctl resolves it
 * here (an executable's definition comes first in symbol lookup).  In a
 * guarded call the call is abandoned (-EFAULT); anywhere else, glibc's
 * behaviour: the message, then abort().
 */
void __assert_fail(const char *assertion, const char *file, unsigned int line,
		   const char *function)
{
	if (guard.active) {
		guard.assertion = assertion;
		guard.assert_func = function;
		siglongjmp(guard.env, JUMP_ASSERT);
	}
	fprintf(stderr, "%s: %s:%u: %s%sAssertion `%s' failed.\n", program_invocation_short_name,
		file, line, function ? function : "", function ? ": " : "", assertion);
	fflush(stderr);
	abort();
}

int ustctl_sigbus_install(void)
{
	static const int sigs[] = { SIGBUS, SIGSEGV, WATCHDOG_SIGNAL };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ustctl_sigbus_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			int err = errno;

			PERROR_NUM(err, "sigaction(%d)", sigs[i]);
			return -err;
		}
	}
	pthread_once(&watch_once, watch_init);
	if (watch_init_err) {
		ERR("ring-buffer watchdog not started: %s", log_strerror(watch_init_err));
		return -watch_init_err;
	}
	return 0;
}

int ustctl_sigbus_call(int (*fn)(void *arg), void *arg)
{
	int ret, why;

	if (guard.active)
		return fn(arg);   /* the outer call's jump point covers us */
	if (!guard.registered)
		watch_me();
	/*
	 * No mask saving: that would cost a system call on every ring-buffer
	 * access; only the (rare) recovery path fixes the mask up.
	 */
	atomic_fetch_add(&guard.seq, 1);
	why = sigsetjmp(guard.env, 0);
	if (why != 0) {
		sigset_t sigs;

		/*
		 * Back from a handler, which ran with these signals blocked:
		 * unblock them.  The library may have been inside one of its
		 * transactions: clear it, and forget the range records it had
		 * linked from frames that no longer exist.
		 */
		guard.active = 0;
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGBUS);
		sigaddset(&sigs, SIGSEGV);
		sigaddset(&sigs, WATCHDOG_SIGNAL);
		pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
		CMM_STORE_SHARED(lttng_ust_sigbus_state.jmp_ready, 0);
		CDS_INIT_LIST_HEAD(&lttng_ust_sigbus_state.head);
		switch (why) {
		case JUMP_BUS:
			return -EIO;
		case JUMP_DEADLINE:
			atomic_fetch_add(&nr_timeouts, 1);
			ERR("liblttng-ust-ctl call stuck for %u ms (corrupted ring buffer?): "
			    "interrupted", ustctl_sigbus_deadline_ms());
			return -ETIMEDOUT;
		case JUMP_ASSERT:
			atomic_fetch_add(&nr_faults, 1);
			ERR("liblttng-ust-ctl assertion `%s' failed in %s (corrupted ring buffer): "
			    "call abandoned", guard.assertion ? guard.assertion : "?",
			    guard.assert_func ? guard.assert_func : "?");
			return -EFAULT;
		default:
			atomic_fetch_add(&nr_faults, 1);
			ERR("segmentation fault inside liblttng-ust-ctl (corrupted ring buffer): "
			    "call abandoned");
			return -EFAULT;
		}
	}
	guard.active = 1;
	ret = fn(arg);
	guard.active = 0;
	return ret;
}
