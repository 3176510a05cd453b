/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the lttng-consumerd compatible command line (daemon/cli.c)
 * and of the health socket path computation.  Output streams are captured
 * with open_memstream so messages are asserted, not just return codes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define CMD_PATH "/home/tracer/.lttng/ustconsumerd64/command"
#define ERR_PATH "/home/tracer/.lttng/ustconsumerd64/error"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Captured output of one cli_parse() call. */
struct capture {
	FILE *out, *err;
	char *out_buf, *err_buf;
	size_t out_len, err_len;
	struct cli_opts opts;
	enum cli_action act;
};

/* Parse argv with both streams captured; the texts are in c->out_buf/err_buf. */
static void parse(struct capture *c, int argc, char *argv[])
{
	memset(c, 0, sizeof(*c));
	c->out = open_memstream(&c->out_buf, &c->out_len);
	c->err = open_memstream(&c->err_buf, &c->err_len);
	assert_non_null(c->out);
	assert_non_null(c->err);
	c->act = cli_parse(argc, argv, &c->opts, c->out, c->err);
	assert_int_equal(fflush(c->out), 0);
	assert_int_equal(fflush(c->err), 0);
}

static void capture_free(struct capture *c)
{
	fclose(c->out);
	fclose(c->err);
	free(c->out_buf);
	free(c->err_buf);
}

/* The exact 9-entry argv of the 2.13.9 session daemon, empty argv[1] included. */
static void test_sessiond_argv(void **state)
{
	char *argv[] = { "lttng-consumerd", "", "-u", "--consumerd-cmd-sock", CMD_PATH,
			 "--consumerd-err-sock", ERR_PATH, "--group", "tracing" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(argv), argv);
	assert_int_equal(c.act, CLI_RUN);
	assert_string_equal(c.opts.cmd_sock_path, CMD_PATH);
	assert_string_equal(c.opts.err_sock_path, ERR_PATH);
	assert_string_equal(c.opts.group, "tracing");
	assert_true(c.opts.ust);
	assert_int_equal(c.opts.verbose, 0);
	assert_false(c.opts.quiet);
	assert_false(c.opts.daemonize);
	assert_int_equal(cli_log_level(&c.opts), 0);
	assert_int_equal(c.out_len, 0);
	assert_int_equal(c.err_len, 0);
	/* argv is not permuted: the empty operand is still in its slot. */
	assert_string_equal(argv[1], "");
	assert_string_equal(argv[2], "-u");
	capture_free(&c);
}

/* The sessiond's verbosity slot filled with --verbose / --quiet. */
static void test_sessiond_verbosity_slot(void **state)
{
	char *verbose[] = { "lttng-consumerd", "--verbose", "-u", "--consumerd-cmd-sock", CMD_PATH,
			    "--consumerd-err-sock", ERR_PATH, "--group", "tracing" };
	char *quiet[] = { "lttng-consumerd", "--quiet", "-u", "--consumerd-cmd-sock", CMD_PATH,
			  "--consumerd-err-sock", ERR_PATH, "--group", "tracing" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(verbose), verbose);
	assert_int_equal(c.act, CLI_RUN);
	assert_int_equal(c.opts.verbose, 1);
	assert_int_equal(cli_log_level(&c.opts), 1);
	capture_free(&c);

	parse(&c, ARGC(quiet), quiet);
	assert_int_equal(c.act, CLI_RUN);
	assert_true(c.opts.quiet);
	assert_int_equal(cli_log_level(&c.opts), -1);
	capture_free(&c);
}

/* Short forms, defaults, and the flags main() acts on. */
static void test_short_forms(void **state)
{
	char *argv[] = { "lttng-consumerd", "-c", "/tmp/c", "-e", "/tmp/e", "-g", "grp", "-d",
			 "-b" };
	char *dflt[] = { "lttng-consumerd", "-c/tmp/c", "-e/tmp/e" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(argv), argv);
	assert_int_equal(c.act, CLI_RUN);
	assert_string_equal(c.opts.cmd_sock_path, "/tmp/c");
	assert_string_equal(c.opts.err_sock_path, "/tmp/e");
	assert_string_equal(c.opts.group, "grp");
	assert_true(c.opts.daemonize);
	assert_true(c.opts.background);
	assert_false(c.opts.ust);
	capture_free(&c);

	/* Attached arguments; group defaults to "tracing". */
	parse(&c, ARGC(dflt), dflt);
	assert_int_equal(c.act, CLI_RUN);
	assert_string_equal(c.opts.cmd_sock_path, "/tmp/c");
	assert_string_equal(c.opts.err_sock_path, "/tmp/e");
	assert_string_equal(c.opts.group, CLI_DEFAULT_GROUP);
	assert_false(c.opts.daemonize);
	assert_false(c.opts.background);
	capture_free(&c);
}

/* Long forms, including "--opt=value" and an unambiguous abbreviation. */
static void test_long_forms(void **state)
{
	char *argv[] = { "lttng-consumerd", "--ust", "--consumerd-cmd-sock=/tmp/c",
			 "--consumerd-err=/tmp/e", "--group=g2", "--daemonize", "--background" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(argv), argv);
	assert_int_equal(c.act, CLI_RUN);
	assert_string_equal(c.opts.cmd_sock_path, "/tmp/c");
	assert_string_equal(c.opts.err_sock_path, "/tmp/e");
	assert_string_equal(c.opts.group, "g2");
	assert_true(c.opts.ust);
	assert_true(c.opts.daemonize);
	assert_true(c.opts.background);
	capture_free(&c);
}

/* -vvv counts 3, more are capped, --verbose repeats; quiet wins for the level. */
static void test_verbosity(void **state)
{
	char *vvv[] = { "lttng-consumerd", "-vvv", "-c", "/c", "-e", "/e" };
	char *many[] = { "lttng-consumerd", "-vv", "-v", "-vv", "-c", "/c", "-e", "/e" };
	char *two[] = { "lttng-consumerd", "--verbose", "-c", "/c", "--verbose", "-e", "/e" };
	char *q[] = { "lttng-consumerd", "-q", "-vv", "-c", "/c", "-e", "/e" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(vvv), vvv);
	assert_int_equal(c.act, CLI_RUN);
	assert_int_equal(c.opts.verbose, 3);
	assert_int_equal(cli_log_level(&c.opts), 3);
	capture_free(&c);

	parse(&c, ARGC(many), many);
	assert_int_equal(c.act, CLI_RUN);
	assert_int_equal(c.opts.verbose, CLI_MAX_VERBOSE);
	capture_free(&c);

	parse(&c, ARGC(two), two);
	assert_int_equal(c.act, CLI_RUN);
	assert_int_equal(c.opts.verbose, 2);
	capture_free(&c);

	parse(&c, ARGC(q), q);
	assert_int_equal(c.act, CLI_RUN);
	assert_true(c.opts.quiet);
	assert_int_equal(c.opts.verbose, 2);
	assert_int_equal(cli_log_level(&c.opts), -1);
	capture_free(&c);

	assert_int_equal(cli_log_level(NULL), 0);
}

/* Unknown short and long options are usage errors naming the option. */
static void test_unknown_option(void **state)
{
	char *lng[] = { "lttng-consumerd", "-u", "--bogus", "-c", "/c", "-e", "/e" };
	char *shrt[] = { "lttng-consumerd", "-vx", "-c", "/c", "-e", "/e" };
	char *witharg[] = { "lttng-consumerd", "--quiet=1", "-c", "/c", "-e", "/e" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(lng), lng);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "unrecognized option '--bogus'"));
	assert_non_null(strstr(c.err_buf, "lttng-consumerd --help"));
	assert_int_equal(c.out_len, 0);
	capture_free(&c);

	/* Mid-cluster failure leaves getopt state behind; the next parse must not care. */
	parse(&c, ARGC(shrt), shrt);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "unrecognized option '-x'"));
	capture_free(&c);

	parse(&c, ARGC(witharg), witharg);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "'--quiet=1'"));
	capture_free(&c);
}

/* Options whose argument is missing. */
static void test_missing_argument(void **state)
{
	char *shrt[] = { "lttng-consumerd", "-e", "/e", "-c" };
	char *lng[] = { "lttng-consumerd", "-c", "/c", "-e", "/e", "--group" };
	char *empty_group[] = { "lttng-consumerd", "-c", "/c", "-e", "/e", "-g", "" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(shrt), shrt);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "option '-c' requires an argument"));
	capture_free(&c);

	parse(&c, ARGC(lng), lng);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "option '--group' requires an argument"));
	capture_free(&c);

	parse(&c, ARGC(empty_group), empty_group);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "empty group name"));
	capture_free(&c);
}

/* Empty operands are ignored anywhere; non-empty ones are rejected, also after "--". */
static void test_operands(void **state)
{
	char *stray[] = { "lttng-consumerd", "", "-c", "/c", "foo", "-e", "/e" };
	char *dash[] = { "lttng-consumerd", "-c", "/c", "-e", "/e", "-" };
	char *after_ddash[] = { "lttng-consumerd", "-c", "/c", "-e", "/e", "--", "", "bar" };
	char *empties[] = { "lttng-consumerd", "", "-c", "/c", "", "-e", "/e", "--", "" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(stray), stray);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "unexpected argument 'foo'"));
	capture_free(&c);

	parse(&c, ARGC(dash), dash);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "unexpected argument '-'"));
	capture_free(&c);

	parse(&c, ARGC(after_ddash), after_ddash);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "unexpected argument 'bar'"));
	capture_free(&c);

	parse(&c, ARGC(empties), empties);
	assert_int_equal(c.act, CLI_RUN);
	assert_int_equal(c.err_len, 0);
	capture_free(&c);
}

/* -k / --kernel: sluice consumes UST buffers only. */
static void test_kernel_rejected(void **state)
{
	char *shrt[] = { "lttng-consumerd", "-k", "-c", "/c", "-e", "/e" };
	char *lng[] = { "lttng-consumerd", "-c", "/c", "-e", "/e", "--kernel" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(shrt), shrt);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "kernel tracing is not supported"));
	assert_non_null(strstr(c.err_buf, "UST"));
	capture_free(&c);

	parse(&c, ARGC(lng), lng);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "kernel tracing is not supported"));
	capture_free(&c);
}

/* Socket paths: both required, non-empty, and fitting a sockaddr_un. */
static void test_socket_paths(void **state)
{
	char *no_c[] = { "lttng-consumerd", "", "-u", "-e", "/e" };
	char *no_e[] = { "lttng-consumerd", "-u", "-c", "/c" };
	char *empty_c[] = { "lttng-consumerd", "-c", "", "-e", "/e" };
	char longp[200];
	char *long_e[] = { "lttng-consumerd", "-c", "/c", "-e", longp };
	char fits[108];
	char *max_c[] = { "lttng-consumerd", "-c", fits, "-e", "/e" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(no_c), no_c);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "missing -c/--consumerd-cmd-sock PATH"));
	capture_free(&c);

	parse(&c, ARGC(no_e), no_e);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "missing -e/--consumerd-err-sock PATH"));
	capture_free(&c);

	parse(&c, ARGC(empty_c), empty_c);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "empty path given to -c/--consumerd-cmd-sock"));
	capture_free(&c);

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	parse(&c, ARGC(long_e), long_e);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "path is too long (199 bytes, at most 107)"));
	capture_free(&c);

	/* 107 bytes is the longest path sun_path holds with its NUL. */
	memset(fits, 'b', sizeof(fits) - 1);
	fits[0] = '/';
	fits[sizeof(fits) - 1] = '\0';
	parse(&c, ARGC(max_c), max_c);
	assert_int_equal(c.act, CLI_RUN);
	capture_free(&c);
}

/* --help lists every option on the output stream and exits OK. */
static void test_help(void **state)
{
	static const char *const opts[] = { "--help", "--consumerd-cmd-sock", "--consumerd-err-sock",
					    "--daemonize", "--background", "--quiet", "--verbose",
					    "--version", "--group", "--ust", "--kernel" };
	char *argv[] = { "/usr/lib/lttng/libexec/lttng-consumerd", "-h", "--bogus" };
	char *lng[] = { "lttng-consumerd", "--help" };
	struct capture c;
	size_t i;

	(void)state;
	/* -h wins before the bad option is reached, like getopt order says. */
	parse(&c, ARGC(argv), argv);
	assert_int_equal(c.act, CLI_EXIT_OK);
	assert_int_equal(c.err_len, 0);
	assert_non_null(strstr(c.out_buf, "Usage: /usr/lib/lttng/libexec/lttng-consumerd OPTIONS"));
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		assert_non_null(strstr(c.out_buf, opts[i]));
	for (i = 0; i < strlen("hcedbqvVguk"); i++) {
		char shrt[4] = { '-', "hcedbqvVguk"[i], ',', '\0' };

		assert_non_null(strstr(c.out_buf, shrt));
	}
	capture_free(&c);

	parse(&c, ARGC(lng), lng);
	assert_int_equal(c.act, CLI_EXIT_OK);
	assert_non_null(strstr(c.out_buf, "Usage: lttng-consumerd OPTIONS"));
	capture_free(&c);
}

/* --version: one line, the lttng release we implement plus ours. */
static void test_version(void **state)
{
	char *shrt[] = { "lttng-consumerd", "-V" };
	char *lng[] = { "", "--version" };
	struct capture c;

	(void)state;
	parse(&c, ARGC(shrt), shrt);
	assert_int_equal(c.act, CLI_EXIT_OK);
	assert_string_equal(c.out_buf, "lttng-consumerd 2.13.9 (sluice " SLUICE_VERSION ")\n");
	assert_int_equal(c.err_len, 0);
	capture_free(&c);

	parse(&c, ARGC(lng), lng);
	assert_int_equal(c.act, CLI_EXIT_OK);
	assert_string_equal(c.out_buf, "lttng-consumerd 2.13.9 (sluice " SLUICE_VERSION ")\n");
	capture_free(&c);
}

/* Bad calls: NULL argv/opts, argc 0; an empty argv[0] still gives a program name. */
static void test_bad_calls(void **state)
{
	char *argv[] = { "lttng-consumerd", "-c", "/c", "-e", "/e" };
	char *noname[] = { "", "-x" };
	struct cli_opts o;
	struct capture c;

	(void)state;
	parse(&c, ARGC(argv), NULL);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "no arguments"));
	capture_free(&c);

	parse(&c, 0, argv);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	capture_free(&c);

	parse(&c, ARGC(noname), noname);
	assert_int_equal(c.act, CLI_EXIT_USAGE);
	assert_non_null(strstr(c.err_buf, "lttng-consumerd: unrecognized option '-x'"));
	capture_free(&c);

	assert_int_equal(cli_parse(ARGC(argv), argv, NULL, NULL, NULL), CLI_EXIT_USAGE);
	/* NULL streams default to stdout/stderr; a valid parse prints nothing. */
	assert_int_equal(cli_parse(ARGC(argv), argv, &o, NULL, NULL), CLI_RUN);
	assert_string_equal(o.cmd_sock_path, "/c");
}

/* Fake environment for cli_health_path(). */
static const char *env_lttng_home;
static const char *env_home;

static char *fake_getenv(const char *name)
{
	if (strcmp(name, "LTTNG_HOME") == 0)
		return (char *)env_lttng_home;
	if (strcmp(name, "HOME") == 0)
		return (char *)env_home;
	return NULL;
}

/* Root uses the global run dir, whatever the environment says. */
static void test_health_path_root(void **state)
{
	char buf[256];

	(void)state;
	env_lttng_home = "/lh";
	env_home = "/root";
	assert_int_equal(cli_health_path(0, fake_getenv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/run/lttng/ustconsumerd64/health");
	env_lttng_home = NULL;
	env_home = NULL;
	assert_int_equal(cli_health_path(0, fake_getenv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/run/lttng/ustconsumerd64/health");
}

/* Non-root: LTTNG_HOME beats HOME; HOME is the fallback; neither is -ENOENT. */
static void test_health_path_user(void **state)
{
	char buf[256];
	char tiny[20];

	(void)state;
	env_lttng_home = "/srv/lh";
	env_home = "/home/tracer";
	assert_int_equal(cli_health_path(1001, fake_getenv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/lh/.lttng/ustconsumerd64/health");

	env_lttng_home = NULL;
	assert_int_equal(cli_health_path(1001, fake_getenv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/home/tracer/.lttng/ustconsumerd64/health");

	/* Set but empty still counts, as in lttng's own lookup. */
	env_lttng_home = "";
	assert_int_equal(cli_health_path(1001, fake_getenv, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/.lttng/ustconsumerd64/health");

	env_lttng_home = NULL;
	env_home = NULL;
	assert_int_equal(cli_health_path(1001, fake_getenv, buf, sizeof(buf)), -ENOENT);

	env_home = "/home/tracer";
	assert_int_equal(cli_health_path(1001, fake_getenv, tiny, sizeof(tiny)), -ENAMETOOLONG);
	assert_string_equal(tiny, "");
	assert_int_equal(cli_health_path(0, fake_getenv, tiny, sizeof(tiny)), -ENAMETOOLONG);

	assert_int_equal(cli_health_path(1001, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cli_health_path(1001, fake_getenv, NULL, 10), -EINVAL);
	assert_int_equal(cli_health_path(1001, fake_getenv, buf, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessiond_argv),
		cmocka_unit_test(test_sessiond_verbosity_slot),
		cmocka_unit_test(test_short_forms),
		cmocka_unit_test(test_long_forms),
		cmocka_unit_test(test_verbosity),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_kernel_rejected),
		cmocka_unit_test(test_socket_paths),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_bad_calls),
		cmocka_unit_test(test_health_path_root),
		cmocka_unit_test(test_health_path_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
