/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - lttng-style logging (ERR / WARN / DBG / PERROR) for all of sluice.
 *
 * Lines go to stderr as lttng prints them:
 *   Error: <msg> [in <func>() at <file>:<line>]
 *   Warning: <msg> [in ...]
 *   DEBUG1 - <prefix>: <msg> [in ...]
 * The prefix comes from a pluggable hook so the core never reads a clock:
 * the daemon installs wall time and [pid/tid], the simulator installs
 * virtual time and step number (so two runs of a seed diff cleanly).
 *
 * Levels: log_level = -1 quiet (nothing), 0 errors and warnings (default),
 * 1..3 debug verbosity (-v, -vv, -vvv).
 */
#ifndef SLUICE_CORE_LOG_H
#define SLUICE_CORE_LOG_H

#include <stddef.h>

enum log_kind { LOG_ERR, LOG_WARN, LOG_DBG };

/* Writes a line prefix (no newline) into buf; used for debug lines. */
typedef void (*log_prefix_fn)(char *buf, size_t len);

extern int log_level;

void log_set_prefix(log_prefix_fn fn);
void log_emit(enum log_kind kind, int dbg_level, const char *func, const char *file, int line,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define ERR(fmt, ...) log_emit(LOG_ERR, 0, __func__, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define WARN(fmt, ...) log_emit(LOG_WARN, 0, __func__, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define DBG(fmt, ...) log_emit(LOG_DBG, 1, __func__, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define DBG2(fmt, ...) log_emit(LOG_DBG, 2, __func__, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define DBG3(fmt, ...) log_emit(LOG_DBG, 3, __func__, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
/* ERR with ": <strerror(errnum)>" appended; errnum is a positive errno. */
#define PERROR_NUM(errnum, fmt, ...) \
	ERR(fmt ": %s", ##__VA_ARGS__, log_strerror(errnum))

/* Thread-safe strerror for log lines (thread-local buffer). */
const char *log_strerror(int errnum);

#endif /* SLUICE_CORE_LOG_H */
