/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.c - ERR/WARN/DBG output in lttng's format (see log.h), from any thread.
 * Each line is formatted first and written with one fprintf so that lines of
 * different loops do not interleave.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int log_level;
static log_prefix_fn prefix_fn;

void log_set_prefix(log_prefix_fn fn)
{
	prefix_fn = fn;
}

const char *log_strerror(int errnum)
{
	static __thread char buf[128], hinted[320];
	const char *text;
	struct rlimit rl;

	/* GNU strerror_r may return a static string instead of filling buf. */
	text = strerror_r(errnum, buf, sizeof(buf));
	if (errnum != EMFILE || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return text;
	/* The one failure a user can fix at once: say how. */
	snprintf(hinted, sizeof(hinted), "%s (the limit of %llu descriptors is reached: raise the "
		 "session daemon's, e.g. `ulimit -n` or LimitNOFILE=, which the consumer inherits)",
		 text, (unsigned long long)rl.rlim_cur);
	return hinted;
}

void log_emit(enum log_kind kind, int dbg_level, const char *func, const char *file, int line,
	      const char *fmt, ...)
{
	char msg[1024];
	char prefix[96] = "";
	va_list ap;

	if (log_level < 0 || (kind == LOG_DBG && dbg_level > log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (prefix_fn)
		prefix_fn(prefix, sizeof(prefix));

	/* One fprintf per line so lines from several threads do not interleave. */
	switch (kind) {
	case LOG_ERR:
		fprintf(stderr, "Error: %s%s%s [in %s() at %s:%d]\n", prefix, *prefix ? ": " : "",
			msg, func, file, line);
		break;
	case LOG_WARN:
		fprintf(stderr, "Warning: %s%s%s [in %s() at %s:%d]\n", prefix, *prefix ? ": " : "",
			msg, func, file, line);
		break;
	case LOG_DBG:
		fprintf(stderr, "DEBUG%d - %s: %s [in %s() at %s:%d]\n", dbg_level, prefix, msg,
			func, file, line);
		break;
	}
}
