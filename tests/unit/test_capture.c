/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of tests/support/capture.c: the .bytes parser on synthetic
 * files (good and malformed), the walkers, the .txt helpers, and every real
 * capture against the message counts its transcript announces.  Missing
 * captures make the tests fail: they are a required input, not optional.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "log.h"
#include "wire.h"

static int saved_stderr = -1;
static FILE *errlog;
static char tmp_path[64];

/* Redirect stderr (log lines) into a temporary file for one test. */
static int setup(void **state)
{
	(void)state;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	errlog = tmpfile();
	if (saved_stderr < 0 || !errlog)
		return -1;
	dup2(fileno(errlog), STDERR_FILENO);
	log_level = 0;
	tmp_path[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(errlog);
	if (tmp_path[0])
		unlink(tmp_path);
	return 0;
}

/* Everything logged since setup. */
static const char *logged(void)
{
	static char buf[8192];
	size_t n;

	fflush(stderr);
	rewind(errlog);
	n = fread(buf, 1, sizeof(buf) - 1, errlog);
	buf[n] = '\0';
	return buf;
}

/* Write `content` into a fresh temporary file whose path is tmp_path. */
static void write_tmp(const char *content, size_t len)
{
	int fd;

	if (tmp_path[0])
		unlink(tmp_path);
	strcpy(tmp_path, "/tmp/sluice-capture-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

/* Three well-formed lines, one with CRLF, are parsed field by field. */
static void test_synthetic_ok(void **state)
{
	static const char text[] = "c2s error 0 64000000\n"
				   "s2c command 1 00\r\n"
				   "c2r relayd-data 0 DeadBEEF\n";
	struct capture cap;
	size_t pos = 0;

	(void)state;
	write_tmp(text, sizeof(text) - 1);
	assert_int_equal(capture_load(tmp_path, &cap), 0);
	assert_int_equal(cap.count, 3);
	assert_int_equal(cap.msgs[0].dir, CAPTURE_C2S);
	assert_int_equal(cap.msgs[0].sock, CAPTURE_SOCK_ERROR);
	assert_int_equal(cap.msgs[0].len, 4);
	assert_int_equal(wire_decode_status(cap.msgs[0].bytes), 100);
	assert_int_equal(cap.msgs[1].dir, CAPTURE_S2C);
	assert_int_equal(cap.msgs[1].nfds, 1);
	assert_int_equal(cap.msgs[1].len, 1);
	assert_int_equal(cap.msgs[1].bytes[0], 0);
	assert_int_equal(cap.msgs[1].line, 2);
	assert_int_equal(cap.msgs[2].sock, CAPTURE_SOCK_RELAYD_DATA);
	assert_memory_equal(cap.msgs[2].bytes, "\xde\xad\xbe\xef", 4);
	assert_int_equal(capture_count(&cap, CAPTURE_SOCK_ERROR), 1);
	assert_int_equal(capture_count(&cap, CAPTURE_SOCK_METADATA), 0);
	assert_ptr_equal(capture_next(&cap, &pos, CAPTURE_S2C, CAPTURE_SOCK_COMMAND), &cap.msgs[1]);
	assert_int_equal(pos, 2);
	assert_null(capture_next(&cap, &pos, CAPTURE_S2C, CAPTURE_SOCK_COMMAND));
	assert_int_equal(pos, 3);
	assert_string_equal(capture_socket_name(CAPTURE_SOCK_RELAYD_CONTROL), "relayd-control");
	assert_string_equal(capture_socket_name(CAPTURE_SOCK_COUNT), "?");
	capture_free(&cap);
	assert_null(cap.msgs);
	capture_free(NULL);
}

/* Every kind of malformed line is refused with its line number and a log line. */
static void test_synthetic_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *log;
	} cases[] = {
		{ "s2c command 0\n", "3 fields" },
		{ "s2c command 0 00 00\n", "more than 4 fields" },
		{ "x2y command 0 00\n", "unknown direction 'x2y'" },
		{ "s2c commands 0 00\n", "unknown socket 'commands'" },
		{ "s2c command -1 00\n", "bad fd count '-1'" },
		{ "s2c command 1x 00\n", "bad fd count '1x'" },
		{ "s2c command 65 00\n", "bad fd count '65'" },
		{ "s2c command 0 abc\n", "odd number of hex digits" },
		{ "s2c command 0 0g\n", "non-hex character at payload offset 0" },
		{ "\n", "empty line" },
		{ "s2c command 0 00\x00 junk\n", "NUL byte in line" },
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capture cap;
		size_t n;

		/* A good first line, so the bad one is line 2. */
		n = (size_t)snprintf(text, sizeof(text), "c2s command 0 00000000\n");
		if (strcmp(cases[i].log, "NUL byte in line") == 0) {
			memcpy(text + n, "s2c command 0 00\0 junk\n", 23);
			n += 23;
		} else {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", cases[i].text);
		}
		write_tmp(text, n);
		assert_int_equal(capture_load(tmp_path, &cap), CAPTURE_ERR_SYNTAX);
		assert_int_equal(cap.err_line, 2);
		assert_null(cap.msgs);
		assert_int_equal(cap.count, 0);
		assert_non_null(strstr(logged(), cases[i].log));
		assert_non_null(strstr(logged(), ":2: "));
	}
	assert_int_equal(capture_load("/nonexistent/sluice.bytes", &(struct capture){ 0 }),
			 CAPTURE_ERR_IO);
	assert_non_null(strstr(logged(), "cannot open capture /nonexistent/sluice.bytes"));
	assert_int_equal(capture_load(NULL, &(struct capture){ 0 }), CAPTURE_ERR_INVAL);
	/* A directory opens but cannot be read. */
	assert_int_equal(capture_load("/", &(struct capture){ 0 }), CAPTURE_ERR_IO);
	assert_non_null(strstr(logged(), "/: read error after line 0"));
}

/* Append one hex line "<dir> command 0 <hex of bytes>" to text. */
static size_t add_line(char *text, size_t n, const char *dir, const uint8_t *b, size_t len)
{
	size_t i;

	n += (size_t)sprintf(text + n, "%s command 0 ", dir);
	for (i = 0; i < len; i++)
		n += (size_t)sprintf(text + n, "%02x", b[i]);
	text[n++] = '\n';
	return n;
}

/*
 * capture_next_command skips the raw metadata payload after a PUSH_METADATA
 * whose ready status was 0, even when that payload is exactly 12690 bytes
 * long, and does not skip anything when the ready status was an error.
 */
static void test_next_command_skips_payload(void **state)
{
	uint8_t push[WIRE_MSG_SIZE], payload[WIRE_MSG_SIZE], flush[WIRE_MSG_SIZE], st[4];
	struct cmd c = { .type = CMD_PUSH_METADATA };
	const struct capture_msg *m;
	struct capture cap;
	size_t n = 0, pos = 0;
	char *text = malloc(8 * (2 * WIRE_MSG_SIZE + 32));

	(void)state;
	assert_non_null(text);
	c.u.push_metadata.key = 2;
	c.u.push_metadata.len = WIRE_MSG_SIZE;
	assert_int_equal(wire_encode(&c, push), 0);
	memset(payload, 'x', sizeof(payload));
	c = (struct cmd){ .type = CMD_FLUSH_CHANNEL, .u.channel.key = 1 };
	assert_int_equal(wire_encode(&c, flush), 0);

	n = add_line(text, n, "s2c", push, sizeof(push));		/* line 1: command */
	wire_encode_status(0, st);
	n = add_line(text, n, "c2s", st, sizeof(st));			/* ready */
	n = add_line(text, n, "s2c", payload, sizeof(payload));	/* payload, skipped */
	n = add_line(text, n, "c2s", st, sizeof(st));
	n = add_line(text, n, "s2c", push, sizeof(push));		/* line 5: command */
	wire_encode_status(CONSUMER_CHANNEL_FAIL, st);
	n = add_line(text, n, "c2s", st, sizeof(st));			/* refused: no payload */
	n = add_line(text, n, "s2c", flush, sizeof(flush));		/* line 7: command */
	write_tmp(text, n);
	free(text);

	assert_int_equal(capture_load(tmp_path, &cap), 0);
	assert_int_equal(cap.count, 7);
	m = capture_next_command(&cap, &pos, CAPTURE_SOCK_COMMAND);
	assert_non_null(m);
	assert_int_equal(m->line, 1);
	m = capture_next_command(&cap, &pos, CAPTURE_SOCK_COMMAND);
	assert_non_null(m);
	assert_int_equal(m->line, 5);
	m = capture_next_command(&cap, &pos, CAPTURE_SOCK_COMMAND);
	assert_non_null(m);
	assert_int_equal(m->line, 7);
	assert_null(capture_next_command(&cap, &pos, CAPTURE_SOCK_COMMAND));
	pos = 0;
	assert_null(capture_next_command(&cap, &pos, CAPTURE_SOCK_METADATA));
	capture_free(&cap);
}

/* Count the "R<n> " relayd lines of a transcript. */
static size_t count_relayd_lines(const char *txt)
{
	char line[512];
	size_t n = 0;
	FILE *f = fopen(txt, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += line[0] == 'R' && line[1] >= '0' && line[1] <= '9';
	fclose(f);
	return n;
}

/*
 * Every real capture loads, and its per-socket message counts match the
 * "message counts per socket" header of its transcript; the relayd captures
 * hold as many messages as the transcript has "R<n>" lines.
 */
static void test_real_captures_match_transcripts(void **state)
{
	size_t s, total = 0;

	(void)state;
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		const char *name = capture_scenarios[s];
		size_t counts[CAPTURE_SOCK_COUNT], k, nrel;
		struct capture cap, rel;
		char txt[4096], relpath[4096];

		assert_int_equal(capture_path(txt, sizeof(txt), name, ".txt"), 0);
		if (capture_txt_counts(txt, counts) != 0)
			fail_msg("transcript %s missing or malformed", txt);
		if (capture_load_scenario(name, &cap) != 0)
			fail_msg("capture %s missing or malformed (SLUICE_SHARED=%s)", name,
				 getenv("SLUICE_SHARED") ? getenv("SLUICE_SHARED") : "(unset)");
		for (k = 0; k < CAPTURE_SOCK_COUNT; k++)
			assert_int_equal(capture_count(&cap, (enum capture_socket)k), counts[k]);
		assert_true(counts[CAPTURE_SOCK_COMMAND] > 0);
		assert_int_equal(counts[CAPTURE_SOCK_ERROR], 1);
		total += cap.count;
		capture_free(&cap);

		nrel = count_relayd_lines(txt);
		if (strncmp(name, "streaming", 9) == 0) {
			assert_int_equal(capture_path(relpath, sizeof(relpath), name, ".relayd.bytes"),
					 0);
			assert_int_equal(capture_load(relpath, &rel), 0);
			assert_int_equal(rel.count, nrel);
			assert_true(capture_count(&rel, CAPTURE_SOCK_RELAYD_CONTROL) > 0);
			assert_true(capture_count(&rel, CAPTURE_SOCK_RELAYD_DATA) > 0);
			capture_free(&rel);
		} else {
			assert_int_equal(nrel, 0);
		}
	}
	/* Sum of the scenario sizes given in the captures' README. */
	assert_int_equal(total, 61 + 80 + 55 + 56 + 97 + 64 + 80 + 52 + 55);
}

/* The .txt helpers: a known line and its fields, and their failure modes. */
static void test_txt_helpers(void **state)
{
	char txt[4096], desc[8192], val[64];
	size_t counts[CAPTURE_SOCK_COUNT];

	(void)state;
	assert_int_equal(capture_path(txt, sizeof(txt), "basic", ".txt"), 0);
	assert_int_equal(capture_txt_line(txt, 13, desc, sizeof(desc)), 0);
	assert_string_equal(desc, "reply status_channel ret_code=SUCCESS(0) key=1 stream_count=2");
	assert_int_equal(capture_txt_line(txt, 12, desc, sizeof(desc)), 0);
	assert_int_equal(capture_txt_field(desc, "name", val, sizeof(val)), 0);
	assert_string_equal(val, "channel0");
	/* "key" must not match inside "monkey=" or "session_id_per_pid"-like tokens. */
	assert_int_equal(capture_txt_field("monkey=3 key=7", "key", val, sizeof(val)), 0);
	assert_string_equal(val, "7");
	assert_int_equal(capture_txt_field("monkey=3", "key", val, sizeof(val)),
			 CAPTURE_ERR_NOT_FOUND);
	assert_int_equal(capture_txt_field("key=123456", "key", val, 4), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_txt_field(NULL, "key", val, 4), CAPTURE_ERR_INVAL);

	assert_int_equal(capture_txt_line(txt, 100000, desc, sizeof(desc)), CAPTURE_ERR_NOT_FOUND);
	assert_non_null(strstr(logged(), "message #100000 not found"));
	assert_int_equal(capture_txt_line(txt, 12, desc, 8), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_txt_line("/nonexistent.txt", 1, desc, 8), CAPTURE_ERR_IO);
	assert_int_equal(capture_txt_line(NULL, 1, desc, 8), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_txt_counts("/nonexistent.txt", counts), CAPTURE_ERR_IO);
	assert_int_equal(capture_txt_counts(NULL, counts), CAPTURE_ERR_INVAL);

	write_tmp("# nothing here\n", 15);
	assert_int_equal(capture_txt_counts(tmp_path, counts), CAPTURE_ERR_NOT_FOUND);
	write_tmp("# message counts per socket: command=5, bogus=1\n", 48);
	assert_int_equal(capture_txt_counts(tmp_path, counts), CAPTURE_ERR_SYNTAX);
	write_tmp("# message counts per socket: command\n", 37);
	assert_int_equal(capture_txt_counts(tmp_path, counts), CAPTURE_ERR_SYNTAX);
	write_tmp("# message counts per socket: command=x\n", 39);
	assert_int_equal(capture_txt_counts(tmp_path, counts), CAPTURE_ERR_SYNTAX);
	assert_non_null(strstr(logged(), "malformed '# message counts per socket:' header"));
	write_tmp("#7     t S->C command  len=1 nfds=0\n", 36);
	assert_int_equal(capture_txt_line(tmp_path, 7, desc, sizeof(desc)), CAPTURE_ERR_NOT_FOUND);
	write_tmp("#7     t S->C command  len=1\n", 29);
	assert_int_equal(capture_txt_line(tmp_path, 7, desc, sizeof(desc)), CAPTURE_ERR_NOT_FOUND);
}

/* SLUICE_SHARED moves the captures dir; a wrong one makes loading fail. */
static void test_shared_dir_env(void **state)
{
	const char *old = getenv("SLUICE_SHARED");
	char *saved = old ? strdup(old) : NULL;
	char path[4096], longstem[5000];
	struct capture cap;

	(void)state;
	assert_int_equal(setenv("SLUICE_SHARED", "/nonexistent-shared", 1), 0);
	assert_int_equal(capture_path(path, sizeof(path), "basic", ".bytes"), 0);
	assert_string_equal(path, "/nonexistent-shared/protocol/captures/basic.bytes");
	assert_int_equal(capture_load_scenario("basic", &cap), CAPTURE_ERR_IO);
	assert_int_equal(cap.count, 0);
	assert_int_equal(setenv("SLUICE_SHARED", "", 1), 0);
	assert_int_equal(capture_path(path, sizeof(path), "", ""), 0);
	assert_string_equal(path, "../shared/protocol/captures/");
	memset(longstem, 'a', sizeof(longstem) - 1);
	longstem[sizeof(longstem) - 1] = '\0';
	assert_int_equal(capture_path(path, sizeof(path), longstem, ""), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_load_scenario(longstem, &cap), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_path(NULL, 0, "", ""), CAPTURE_ERR_INVAL);
	assert_int_equal(capture_load_scenario("basic", NULL), CAPTURE_ERR_INVAL);
	if (saved) {
		assert_int_equal(setenv("SLUICE_SHARED", saved, 1), 0);
		free(saved);
	} else {
		assert_int_equal(unsetenv("SLUICE_SHARED"), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_synthetic_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_synthetic_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_command_skips_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_captures_match_transcripts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_txt_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_dir_env, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
