/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli.h - command line of sluice, compatible with the stock lttng-consumerd
 * 2.13, and the health socket path derived from the user.
 *
 * The session daemon execs us with exactly (protocol §1.1):
 *   lttng-consumerd "" -u --consumerd-cmd-sock P --consumerd-err-sock P --group G
 * where argv[1] is the verbosity slot: "" by default, "--verbose" or
 * "--quiet" otherwise.  Options (short and long forms, abbreviations of the
 * long ones accepted as getopt_long does):
 *   -c/--consumerd-cmd-sock PATH  -e/--consumerd-err-sock PATH  (both required)
 *   -u/--ust       accepted; UST 64-bit is the only domain sluice serves,
 *                  so it is also the default (stock defaults to kernel)
 *   -k/--kernel    rejected with a clear message (UST only)
 *   -g/--group NAME  tracing group (default "tracing")
 *   -v/--verbose   repeatable, capped at 3 (-vvv); -q/--quiet
 *   -d/--daemonize, -b/--background  accepted and reported to main
 *   -V/--version   prints "lttng-consumerd 2.13.9 (sluice <version>)"
 *                  (the stock binary prints a bare "2.13.9"; nothing in
 *                  lttng parses it, so we say what we are)
 *   -h/--help      usage on stdout
 * Operands: an empty one is ignored (the sessiond's empty argv[1]); any
 * other operand is a usage error (the stock binary ignores them silently,
 * but a stray word is almost always a mistake worth reporting).
 *
 * Thread contract: cli_parse() uses getopt_long()'s global state (reset on
 * every call, so tests may parse repeatedly); call it from one thread,
 * before others start.  argv is not reordered.
 */
#ifndef SLUICE_DAEMON_CLI_H
#define SLUICE_DAEMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifndef SLUICE_VERSION
#error "SLUICE_VERSION is set by the Makefile (VERSION)"
#endif
/* The lttng-consumerd release whose protocol and command line we implement. */
#define SLUICE_LTTNG_COMPAT_VERSION "2.13.9"

#define CLI_DEFAULT_GROUP "tracing"
#define CLI_MAX_VERBOSE 3

enum cli_action {
	CLI_RUN,        /* options valid: start the daemon */
	CLI_EXIT_OK,    /* --help or --version printed: exit 0 */
	CLI_EXIT_USAGE, /* error printed on the error stream: exit 1 */
};

/* Parsed options.  Strings point into argv (valid as long as argv is). */
struct cli_opts {
	const char *cmd_sock_path; /* -c: where we listen for the sessiond */
	const char *err_sock_path; /* -e: the sessiond's error socket we connect to */
	const char *group;         /* -g: tracing group, default CLI_DEFAULT_GROUP */
	int verbose;               /* 0..CLI_MAX_VERBOSE */
	bool quiet;
	bool daemonize;            /* -d */
	bool background;           /* -b */
	bool ust;                  /* -u was given (informational) */
};

/*
 * Parse argv into *opts (fully overwritten, defaults first).  Help and
 * version text go to `out`, errors (one line naming the problem plus a
 * "Try --help" hint) to `err`; NULL streams mean stdout / stderr.
 * Returns CLI_RUN, CLI_EXIT_OK or CLI_EXIT_USAGE (also when opts or argv is
 * NULL).  Missing -c or -e is a usage error, and so is a socket path that
 * does not fit a sockaddr_un.
 */
enum cli_action cli_parse(int argc, char *const argv[], struct cli_opts *opts, FILE *out,
			  FILE *err);

/* The core/log.h level the options ask for: -1 when quiet, else verbose. */
int cli_log_level(const struct cli_opts *opts);

/* Environment lookup; getenv itself fits, tests pass a fake. */
typedef char *(*cli_getenv_fn)(const char *name);

/*
 * Compute the health socket path the lttng tools expect for a consumer run
 * by `uid` (health-socket.md): "/var/run/lttng/ustconsumerd64/health" for
 * root, else "<home>/.lttng/ustconsumerd64/health" where home is
 * $LTTNG_HOME if set (even empty, as lttng does), else $HOME.  Pure: reads
 * the environment only through `get_env`.
 * Returns 0 and the NUL-terminated path in buf; -ENOENT when neither
 * variable is set (the caller may fall back to the passwd entry);
 * -ENAMETOOLONG when it does not fit `len`; -EINVAL for bad arguments.
 */
int cli_health_path(uid_t uid, cli_getenv_fn get_env, char *buf, size_t len);

#endif /* SLUICE_DAEMON_CLI_H */
