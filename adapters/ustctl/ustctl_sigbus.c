/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ustctl_sigbus.c - the SIGBUS state and handler liblttng-ust-ctl needs,
 * and the guard that makes a SIGBUS inside a library call recoverable
 * (why the library's own recovery is not used: ustctl_sigbus.h).
 *
 * Linking: this object holds the one definition of the TLS variable the
 * shared library refers to.  A static archive member is only pulled in when
 * something already linked refers to it, and references coming from a shared
 * library listed later on the command line do not count; ustctl_rb.o calls
 * ustctl_sigbus_install() and ustctl_sigbus_call(), which is what drags this
 * file (and so the definition) into every program that uses the adapter.
 */
#include "ustctl_sigbus.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <lttng/ust-ctl.h>
#include <lttng/ust-sigbus.h>
#include <urcu/list.h>
#include <urcu/system.h>

#include "log.h"

/* Initial-exec TLS, as the library's extern declaration requires. */
DEFINE_LTTNG_UST_SIGBUS_STATE();

/*
 * Per-thread guard of ustctl_sigbus_call().  Initial-exec so the signal
 * handler never triggers a lazy TLS allocation.
 */
struct sigbus_guard {
	volatile sig_atomic_t active;
	sigjmp_buf env;
};
static __thread __attribute__((tls_model("initial-exec"))) struct sigbus_guard guard;

/*
 * Runs on the faulting thread.  Only async-signal-safe calls: siglongjmp,
 * the library hook (which itself siglongjmps or returns), write(2),
 * sigaction(2), raise(3).
 */
static void ustctl_sigbus_handler(int sig, siginfo_t *info, void *uctx)
{
	static const char msg[] = "sluice: SIGBUS outside a ring-buffer access, aborting\n";
	struct sigaction dfl;
	ssize_t wret;

	(void)uctx;
	if (guard.active)
		siglongjmp(guard.env, 1);
	if (info)
		lttng_ust_ctl_sigbus_handle(info->si_addr);

	/*
	 * Still here: not a truncated ring buffer.  Carrying on would re-run the
	 * faulting instruction forever, so die of the same signal instead; the
	 * re-raised signal stays pending until this handler returns.
	 */
	wret = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)wret;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(sig, &dfl, NULL);
	(void)raise(sig);
}

int ustctl_sigbus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ustctl_sigbus_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0) {
		int err = errno;

		PERROR_NUM(err, "sigaction(SIGBUS)");
		return -err;
	}
	return 0;
}

int ustctl_sigbus_call(int (*fn)(void *arg), void *arg)
{
	int ret;

	if (guard.active)
		return fn(arg);   /* the outer call's jump point covers us */
	/*
	 * No mask saving: that would cost a system call on every ring-buffer
	 * access; only the (rare) recovery path fixes the mask up.
	 */
	if (sigsetjmp(guard.env, 0) != 0) {
		sigset_t bus;

		/*
		 * Back from the handler, which ran with SIGBUS blocked: unblock it.
		 * The library may have been inside one of its transactions: clear
		 * it, and forget the range records it had linked from frames that
		 * no longer exist.
		 */
		guard.active = 0;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &bus, NULL);
		CMM_STORE_SHARED(lttng_ust_sigbus_state.jmp_ready, 0);
		CDS_INIT_LIST_HEAD(&lttng_ust_sigbus_state.head);
		return -EIO;
	}
	guard.active = 1;
	ret = fn(arg);
	guard.active = 0;
	return ret;
}
