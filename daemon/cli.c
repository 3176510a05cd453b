/* SPDX-License-Identifier: GPL-2.0-only */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <sys/un.h>

#define ROOT_HEALTH_PATH "/var/run/lttng/ustconsumerd64/health"
#define HOME_HEALTH_FMT "%s/.lttng/ustconsumerd64/health"

/*
 * Leading '-': operands come back in place as option 1 instead of being
 * permuted to the end, so argv stays untouched and the empty argv[1] is
 * seen where it is.  ':' next: a missing argument returns ':' (not '?'),
 * and getopt prints nothing itself.
 */
static const char short_opts[] = "-:c:e:g:udbhqvVk";

static const struct option long_opts[] = {
	{ "consumerd-cmd-sock", required_argument, NULL, 'c' },
	{ "consumerd-err-sock", required_argument, NULL, 'e' },
	{ "group", required_argument, NULL, 'g' },
	{ "ust", no_argument, NULL, 'u' },
	{ "kernel", no_argument, NULL, 'k' },
	{ "daemonize", no_argument, NULL, 'd' },
	{ "background", no_argument, NULL, 'b' },
	{ "help", no_argument, NULL, 'h' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Name to print for ourselves: argv[0] as the stock binary does. */
static const char *prog_name(int argc, char *const argv[])
{
	return argc > 0 && argv[0] && argv[0][0] ? argv[0] : "lttng-consumerd";
}

/* Print the full option list on `f`. */
static void print_usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s OPTIONS\n\n", prog);
	fprintf(f, "Options:\n");
	fprintf(f, "  -h, --help                         Display this usage.\n");
	fprintf(f, "  -c, --consumerd-cmd-sock PATH      Specify path for the command socket\n");
	fprintf(f, "  -e, --consumerd-err-sock PATH      Specify path for the error socket\n");
	fprintf(f, "  -d, --daemonize                    Start as a daemon.\n");
	fprintf(f, "  -b, --background                   Start in the background.\n");
	fprintf(f, "  -q, --quiet                        No output at all.\n");
	fprintf(f, "  -v, --verbose                      Verbose mode; repeat (-vvv) for more.\n");
	fprintf(f, "  -V, --version                      Show version number.\n");
	fprintf(f, "  -g, --group NAME                   Specify the tracing group name."
		   " (default: " CLI_DEFAULT_GROUP ")\n");
	fprintf(f, "  -u, --ust                          Consume UST buffers (the only domain"
		   " supported).\n");
	fprintf(f, "  -k, --kernel                       Not supported: sluice is a UST-only"
		   " consumer.\n");
}

/* Report a usage error on `err` with the --help hint; returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 3, 4)))
static enum cli_action usage_error(FILE *err, const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fprintf(err, "\nTry '%s --help' for more information.\n", prog);
	return CLI_EXIT_USAGE;
}

/*
 * Check a socket path given with `opt`: present, non-empty and short
 * enough for sun_path (bind/connect would fail much later, less clearly).
 */
static enum cli_action check_sock_path(FILE *err, const char *prog, const char *opt,
				       const char *path)
{
	size_t max = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;

	if (!path)
		return usage_error(err, prog, "missing %s PATH", opt);
	if (!path[0])
		return usage_error(err, prog, "empty path given to %s", opt);
	if (strlen(path) > max)
		return usage_error(err, prog, "%s path is too long (%zu bytes, at most %zu): %s",
				   opt, strlen(path), max, path);
	return CLI_RUN;
}

/* Name of the option that getopt rejected, for the error message. */
static const char *bad_option(int argc, char *const argv[], char *shortbuf, size_t len)
{
	/* getopt has advanced past the offending word except inside a -xyz cluster. */
	if (optind > 0 && optind <= argc && strncmp(argv[optind - 1], "--", 2) == 0)
		return argv[optind - 1];
	snprintf(shortbuf, len, "-%c", optopt ? optopt : '?');
	return shortbuf;
}

enum cli_action cli_parse(int argc, char *const argv[], struct cli_opts *opts, FILE *out,
			  FILE *err)
{
	const char *prog;
	char shortbuf[4];
	enum cli_action act;
	int c;

	out = out ? out : stdout;
	err = err ? err : stderr;
	if (!argv || !opts || argc < 1) {
		fprintf(err, "lttng-consumerd: no arguments to parse\n");
		return CLI_EXIT_USAGE;
	}
	prog = prog_name(argc, argv);
	memset(opts, 0, sizeof(*opts));
	opts->group = CLI_DEFAULT_GROUP;

	/* optind = 0 makes glibc reinitialise all of its scanning state. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 1:
			/* The sessiond fills the verbosity slot with "" by default. */
			if (optarg[0] != '\0')
				return usage_error(err, prog, "unexpected argument '%s'", optarg);
			break;
		case 'c':
			opts->cmd_sock_path = optarg;
			break;
		case 'e':
			opts->err_sock_path = optarg;
			break;
		case 'g':
			if (!optarg[0])
				return usage_error(err, prog, "empty group name");
			opts->group = optarg;
			break;
		case 'u':
			opts->ust = true;
			break;
		case 'k':
			return usage_error(err, prog,
					   "kernel tracing is not supported: sluice consumes "
					   "user-space (UST) buffers only; use -u");
		case 'd':
			opts->daemonize = true;
			break;
		case 'b':
			opts->background = true;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case 'v':
			if (opts->verbose < CLI_MAX_VERBOSE)
				opts->verbose++;
			break;
		case 'h':
			print_usage(out, prog);
			return CLI_EXIT_OK;
		case 'V':
			fprintf(out, "lttng-consumerd " SLUICE_LTTNG_COMPAT_VERSION
				     " (sluice " SLUICE_VERSION ")\n");
			return CLI_EXIT_OK;
		case ':':
			return usage_error(err, prog, "option '%s' requires an argument",
					   bad_option(argc, argv, shortbuf, sizeof(shortbuf)));
		default:
			return usage_error(err, prog, "unrecognized option '%s'",
					   bad_option(argc, argv, shortbuf, sizeof(shortbuf)));
		}
	}
	/* Only words after a "--" are left; they get the same operand rule. */
	for (; optind < argc; optind++) {
		if (argv[optind][0] != '\0')
			return usage_error(err, prog, "unexpected argument '%s'", argv[optind]);
	}

	act = check_sock_path(err, prog, "-c/--consumerd-cmd-sock", opts->cmd_sock_path);
	if (act != CLI_RUN)
		return act;
	return check_sock_path(err, prog, "-e/--consumerd-err-sock", opts->err_sock_path);
}

int cli_log_level(const struct cli_opts *opts)
{
	if (!opts)
		return 0;
	return opts->quiet ? -1 : opts->verbose;
}

int cli_health_path(uid_t uid, cli_getenv_fn get_env, char *buf, size_t len)
{
	const char *home;
	int n;

	if (!get_env || !buf || len == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (uid == 0) {
		n = snprintf(buf, len, "%s", ROOT_HEALTH_PATH);
	} else {
		home = get_env("LTTNG_HOME");
		if (!home)
			home = get_env("HOME");
		if (!home)
			return -ENOENT;
		n = snprintf(buf, len, HOME_HEALTH_FMT, home);
	}
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}
