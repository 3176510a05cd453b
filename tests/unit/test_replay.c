/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replay of the nine recorded session-daemon conversations into the consumer
 * core on the simulation (tests/support/replay.h).  One test per capture:
 * every compared reply must match (under replay_mask.c), the walk must reach
 * the end (streaming ones over the sim relay peer, which must record no
 * protocol error; the live one up to its first live-timer line), the consumer must quit on
 * EOF, and for the local captures babeltrace2 must read exactly the events
 * the sim apps wrote, minus what the sim declared lost (not app-killed: the
 * killed app's open packet, with its uncommitted event, is unreadable by
 * design and the sim does not count its events as lost).
 * Plus synthetic captures (derived from basic or built with wire_encode)
 * showing that the harness notices wrong replies, missing replies, other
 * stream counts and malformed lines, and unit tests of the mask rules.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cmd.h"
#include "replay.h"
#include "test_fds.h"
#include "wire.h"

#define SEED 0x5eed2026u

/* Replay one real capture and assert everything the harness measured. */
static void run_live(const char *scenario, bool bt2, bool streaming, bool live)
{
	struct replay_result res;
	int fds_before = test_open_fd_count();

	struct capture cap;
	size_t c2s = 0;

	/* Every consumer -> session daemon line but the error socket's is compared. */
	assert_int_equal(capture_load_scenario(scenario, &cap), 0);
	for (size_t i = 0; i < cap.count; i++)
		if (cap.msgs[i].dir == CAPTURE_C2S && cap.msgs[i].sock != CAPTURE_SOCK_ERROR)
			c2s++;
	capture_free(&cap);
	assert_int_equal(replay_run(scenario, SEED, bt2, &res), 0);
	printf("replay %s: %zu replies compared, %zu matching, %zu skipped, %zu extra monitor "
	       "samples, events written %lu lost %lu, babeltrace2 %ld\n", scenario, res.compared,
	       res.matched, res.skipped, res.extra_monitor, (unsigned long)res.events_written,
	       (unsigned long)res.events_lost, res.bt2_events);
	if (res.first_mismatch[0])
		printf("replay %s: first mismatch %s\n", scenario, res.first_mismatch);
	if (res.aborted)
		printf("replay %s: aborted %s\n", scenario, res.abort_reason);
	assert_false(res.aborted);
	assert_string_equal(res.invariant, "");
	assert_true(res.compared > 0);
	assert_int_equal(res.matched, res.compared);
	/* Streaming goes through: the sim relay peer answers, and found nothing to reject. */
	assert_false(res.stopped_at_relayd);
	assert_int_equal(res.relay_errors, 0);
	printf("replay %s: relay peer: %" PRIu64 " messages, %zu capture relay lines:", scenario,
	       res.relay_msgs, res.relay_lines);
	for (unsigned int k = 1; k < REPLAY_RELAY_KINDS; k++)
		if (res.relay_counts[k])
			printf(" %u=%" PRIu64, k, res.relay_counts[k]);
	printf("\n");
	assert_true(streaming ? res.relay_msgs > (live ? 3u : 10u) :
		    res.relay_msgs == 0);
	if (streaming) {
		/*
		 * The conversation has the stock consumer's shape (capture header:
		 * "relayd message counts"); packet, index, metadata and data-pending
		 * counts follow the sim's trace and timing, not compared.
		 */
		assert_int_equal(res.relay_counts[1], 3);     /* ADD_STREAM */
		assert_int_equal(res.relay_counts[16], 1);    /* STREAMS_SENT */
		assert_int_equal(res.relay_counts[19], 1);    /* CREATE_TRACE_CHUNK */
		assert_int_equal(res.relay_counts[7], 3);     /* CLOSE_STREAM */
		if (!live) {
			assert_int_equal(res.relay_counts[18], 2);    /* ROTATE_STREAMS */
			assert_int_equal(res.relay_counts[20], 1);    /* CLOSE_TRACE_CHUNK */
			assert_int_equal(res.relay_counts[21], 1);    /* TRACE_CHUNK_EXISTS */
		}
	}
	/* Each line is compared or skipped (the error line, and past a live-timer stop). */
	assert_int_equal(res.compared + res.skipped, c2s + 1);
	assert_int_equal(res.stopped_at_live, live);
	if (!live)
		assert_int_equal(res.skipped, 1);
	assert_true(res.quit_clean);
	if (bt2) {
		assert_true(res.events_written > 0);
		assert_int_equal(res.bt2_events, (long)(res.events_written - res.events_lost));
	}
	assert_int_equal(test_open_fd_count(), fds_before);
}

static void run(const char *scenario, bool bt2, bool streaming)
{
	run_live(scenario, bt2, streaming, false);
}

static void test_basic(void **state) { (void)state; run("basic", true, false); }
static void test_buffers_pid(void **state) { (void)state; run("buffers-pid", true, false); }
static void test_snapshot(void **state) { (void)state; run("snapshot", true, false); }
static void test_rotate_clear(void **state) { (void)state; run("rotate-clear", true, false); }
static void test_tracefile_rotation(void **state)
{
	(void)state;
	run("tracefile-rotation", true, false);
}
static void test_app_killed(void **state) { (void)state; run("app-killed", false, false); }
static void test_overwrite_snapshot(void **state)
{
	(void)state;
	run("overwrite-snapshot", true, false);
}
static void test_streaming(void **state) { (void)state; run("streaming", false, true); }
static void test_streaming_live(void **state)
{
	(void)state;
	run_live("streaming-live", false, true, true);
}

static void test_unknown_capture(void **state)
{
	struct replay_result res;

	(void)state;
	assert_int_equal(replay_run("no-such-capture", SEED, false, &res), -2);
	assert_int_equal(replay_run(NULL, SEED, false, &res), -22);
}

/* ---- synthetic captures: the harness must notice what goes wrong ---- */

static char syn_dir[64];

/* One .bytes line. */
static void hex_line(FILE *f, const char *dir, const char *sock, unsigned int nfds,
		     const uint8_t *b, size_t len)
{
	fprintf(f, "%s %s %u ", dir, sock, nfds);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
	fputc('\n', f);
}

/* An encoded session-daemon command as an s2c line. */
static void cmd_line(FILE *f, const struct cmd *c)
{
	uint8_t msg[WIRE_MSG_SIZE];

	assert_int_equal(wire_encode(c, msg), 0);
	hex_line(f, "s2c", "command", 0, msg, sizeof(msg));
}

/* Open "<syn_dir>/protocol/captures/<name>.bytes" for writing; an INIT exchange first. */
static FILE *syn_open(const char *name, const uint8_t init_reply[4])
{
	char path[160];
	struct cmd init = { .type = CMD_INIT };
	FILE *f;

	snprintf(path, sizeof(path), "%s/protocol/captures/%s.bytes", syn_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	hex_line(f, "c2s", "error", 0, (const uint8_t *)"\x64\0\0\0", 4);
	cmd_line(f, &init);
	hex_line(f, "c2s", "command", 0, init_reply, 4);
	return f;
}

/* Replay a synthetic capture from syn_dir; the harness must not leak fds. */
static void syn_run(const char *name, struct replay_result *res)
{
	int fds_before = test_open_fd_count();
	const char *env = getenv("SLUICE_SHARED");
	char *saved = env ? strdup(env) : NULL;
	int ret;

	/* The caller's SLUICE_SHARED (captures kept elsewhere) must hold for the real replays. */
	assert_true(!env || saved);
	setenv("SLUICE_SHARED", syn_dir, 1);
	ret = replay_run(name, SEED, false, res);
	if (saved)
		setenv("SLUICE_SHARED", saved, 1);
	else
		unsetenv("SLUICE_SHARED");
	free(saved);
	assert_int_equal(ret, 0);
	assert_int_equal(test_open_fd_count(), fds_before);
}

/* A scratch $SLUICE_SHARED/protocol/captures for synthetic captures. */
static int syn_setup(void **state)
{
	char sub[128];

	(void)state;
	snprintf(syn_dir, sizeof(syn_dir), "/tmp/sluice-syn-XXXXXX");
	if (!mkdtemp(syn_dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/protocol", syn_dir);
	if (mkdir(sub, 0700))
		return -1;
	snprintf(sub, sizeof(sub), "%s/protocol/captures", syn_dir);
	return mkdir(sub, 0700);
}

/* Remove it. */
static int syn_teardown(void **state)
{
	char cmdline[128];

	(void)state;
	snprintf(cmdline, sizeof(cmdline), "rm -rf '%s'", syn_dir);
	return system(cmdline) == 0 ? 0 : -1;
}

static const uint8_t ok4[4] = { 0 };

/* A wrong recorded reply is a mismatch, counted and described; the walk goes on. */
static void test_syn_mismatch(void **state)
{
	const uint8_t bad[4] = { 1 };
	struct replay_result res;
	struct cmd pending = { .type = CMD_DATA_PENDING };

	(void)state;
	FILE *f = syn_open("syn-mismatch", bad);

	struct cmd stats = { .type = CMD_DISCARDED_EVENTS, .u.stats.key = 99 };
	const uint8_t zero8[8] = { 0 };

	/* A recorded "1, still pending" accepts the sim's 0 (replay_mask.c). */
	cmd_line(f, &pending);
	hex_line(f, "c2s", "command", 0, bad, 4);
	/* Statistics of a channel nobody knows: 0, like the sim's count. */
	cmd_line(f, &stats);
	hex_line(f, "c2s", "command", 0, zero8, 8);
	fclose(f);
	syn_run("syn-mismatch", &res);
	assert_false(res.aborted);
	assert_int_equal(res.compared, 3);
	assert_int_equal(res.matched, 2);
	assert_int_equal(res.skipped, 1);
	assert_non_null(strstr(res.first_mismatch, "#3"));
	assert_true(res.quit_clean);
}

/* A reply that never comes aborts the walk instead of hanging. */
static void test_syn_no_reply(void **state)
{
	struct replay_result res;
	FILE *f = syn_open("syn-noreply", ok4);

	(void)state;
	hex_line(f, "c2s", "command", 0, ok4, 4);
	fclose(f);
	syn_run("syn-noreply", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "never arrived"));
	assert_int_equal(res.compared, 1);
}

/* Malformed s2c lines abort: a short command, an undecodable one, an fd out of context. */
static void test_syn_bad_lines(void **state)
{
	uint8_t msg[WIRE_MSG_SIZE] = { 99 };
	struct replay_result res;
	FILE *f;

	(void)state;
	f = syn_open("syn-short", ok4);
	hex_line(f, "s2c", "command", 0, ok4, 4);
	fclose(f);
	syn_run("syn-short", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "unexpected s2c line"));

	f = syn_open("syn-undecodable", ok4);
	hex_line(f, "s2c", "command", 0, msg, sizeof(msg));
	fclose(f);
	syn_run("syn-undecodable", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "does not decode"));

	/* Recorded fds the consumer never sends; a reply too long to be one. */
	f = syn_open("syn-nofds", ok4);
	hex_line(f, "c2s", "command", 1, ok4, 1);
	fclose(f);
	syn_run("syn-nofds", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "fds never arrived"));

	f = syn_open("syn-long", ok4);
	{
		static uint8_t huge[70000];

		hex_line(f, "c2s", "command", 0, huge, sizeof(huge));
	}
	fclose(f);
	syn_run("syn-long", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "out of range"));

	f = syn_open("syn-fd", ok4);
	hex_line(f, "s2c", "command", 1, ok4, 1);
	fclose(f);
	syn_run("syn-fd", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "no fd to send"));
}

/* GET_CHANNEL of an unknown key: the refusal differs from a recorded success. */
static void test_syn_get_unknown_channel(void **state)
{
	struct cmd get = { .type = CMD_GET_CHANNEL, .u.channel.key = 7 };
	struct replay_result res;
	FILE *f = syn_open("syn-get", ok4);

	(void)state;
	cmd_line(f, &get);
	hex_line(f, "c2s", "command", 0, ok4, 4);
	fclose(f);
	syn_run("syn-get", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "pre-send status differs"));
	assert_int_equal(res.matched + 1, res.compared);

	/* Recorded as refused too (CHAN_NOT_FOUND): a match, and the walk goes on. */
	f = syn_open("syn-get-refused", ok4);
	cmd_line(f, &get);
	hex_line(f, "c2s", "command", 0, (const uint8_t *)"\x77\0\0\0", 4);
	fclose(f);
	syn_run("syn-get-refused", &res);
	assert_false(res.aborted);
	assert_int_equal(res.matched, res.compared);
}

/* A recorded monitor sample with no channel to sample: a mismatch, not a hang. */
static void test_syn_monitor_missing(void **state)
{
	uint8_t sample[32] = { 1 };
	struct replay_result res;
	FILE *f = syn_open("syn-monitor", ok4);

	(void)state;
	hex_line(f, "c2s", "monitor", 0, sample, sizeof(sample));
	fclose(f);
	syn_run("syn-monitor", &res);
	assert_false(res.aborted);
	assert_int_equal(res.compared, 2);
	assert_int_equal(res.matched, 1);
	assert_non_null(strstr(res.first_mismatch, "no monitor sample"));
}

/*
 * Write "<name>.bytes" from basic.bytes: the lines numbered in seq (1-based,
 * in that order; 0 ends), line n replaced by repl[n] when set.
 */
static void syn_from_basic(const char *name, const unsigned int *seq,
			   const char *const *repl, size_t nrepl)
{
	char src[256], dst[160];
	char *lines[128] = { 0 };
	size_t cap = 0, n = 0;
	FILE *in, *out;

	assert_int_equal(capture_path(src, sizeof(src), "basic", ".bytes"), 0);
	snprintf(dst, sizeof(dst), "%s/protocol/captures/%s.bytes", syn_dir, name);
	in = fopen(src, "r");
	out = fopen(dst, "w");
	assert_non_null(in);
	assert_non_null(out);
	while (n + 1 < 128 && getline(&lines[n + 1], &cap, in) > 0) {
		n++;
		cap = 0;
	}
	for (; *seq; seq++) {
		assert_true(*seq <= n);
		if (*seq < nrepl && repl[*seq])
			fprintf(out, "%s\n", repl[*seq]);
		else
			fputs(lines[*seq], out);
	}
	for (size_t i = 0; i < 128; i++)
		free(lines[i]);
	fclose(in);
	fclose(out);
}

/* Fill seq with from..to (inclusive) at *pos. */
static void seq_range(unsigned int *seq, size_t *pos, unsigned int from, unsigned int to)
{
	for (unsigned int i = from; i <= to; i++)
		seq[(*pos)++] = i;
	seq[*pos] = 0;
}

/* GET_CHANNEL: a consumer with another stream count than recorded is caught. */
static void test_syn_stream_count(void **state)
{
	unsigned int seq[128];
	struct replay_result res;
	size_t pos = 0;

	(void)state;
	/* Recorded with one stream: the consumer's second one is "more than recorded". */
	seq_range(seq, &pos, 1, 22);
	seq_range(seq, &pos, 26, 27);
	syn_from_basic("syn-more", seq, NULL, 0);
	syn_run("syn-more", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "more streams than recorded"));

	/* Recorded with three streams. */
	pos = 0;
	seq_range(seq, &pos, 1, 25);
	seq_range(seq, &pos, 23, 27);
	syn_from_basic("syn-fewer", seq, NULL, 0);
	syn_run("syn-fewer", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "fewer streams than recorded"));

	/* A recorded stream shape the consumer does not follow (no fds where recorded). */
	pos = 0;
	seq_range(seq, &pos, 1, 21);
	seq_range(seq, &pos, 21, 27);
	syn_from_basic("syn-shape", seq, NULL, 0);
	syn_run("syn-shape", &res);
	assert_true(res.aborted);

	/* A capture whose stream size line is not a u64. */
	{
		const char *repl[21] = { [20] = "c2s command 0 00000000" };

		pos = 0;
		seq_range(seq, &pos, 1, 27);
		syn_from_basic("syn-malformed", seq, repl, 21);
		syn_run("syn-malformed", &res);
		assert_true(res.aborted);
		assert_non_null(strstr(res.abort_reason, "capture GET_CHANNEL reply malformed"));
	}
}

/* A channel path too long for the harness's chunk directory: a clean abort. */
static void test_syn_long_path(void **state)
{
	struct capture cap;
	unsigned int seq[128];
	const char *repl[13] = { 0 };
	char *line;
	struct replay_result res;
	size_t pos = 0, off = strlen("s2c command 0 ");

	(void)state;
	assert_int_equal(capture_load_scenario("basic", &cap), 0);
	line = malloc(off + 2 * WIRE_MSG_SIZE + 1);
	assert_non_null(line);
	strcpy(line, "s2c command 0 ");
	/* pathname "aaaa...": 4000 bytes, still a valid field */
	memset(cap.msgs[11].bytes + WIRE_OFF_ASK_PATHNAME, 'a', 4000);
	for (size_t i = 0; i < WIRE_MSG_SIZE; i++)
		sprintf(line + off + 2 * i, "%02x", cap.msgs[11].bytes[i]);
	capture_free(&cap);
	repl[12] = line;
	seq_range(seq, &pos, 1, 13);
	syn_from_basic("syn-longpath", seq, repl, 13);
	free(line);
	syn_run("syn-longpath", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "File name too long"));
}

/* Masked parts still catch what they must: a monitor key, a close-chunk path. */
static void test_syn_masked_fields(void **state)
{
	const char *repl[58] = { 0 };
	unsigned int seq[128];
	struct replay_result res;
	size_t pos = 0;

	(void)state;
	repl[57] = "c2s monitor 0 0900000000000000000000000000000000000000000000000000000000000000";
	seq_range(seq, &pos, 1, 61);
	syn_from_basic("syn-monkey", seq, repl, 58);
	syn_run("syn-monkey", &res);
	assert_false(res.aborted);
	assert_int_equal(res.compared, 37);
	assert_int_equal(res.matched, 36);
	assert_non_null(strstr(res.first_mismatch, "#57"));

	repl[57] = NULL;
	repl[55] = "c2s command 0 0000000006000000";
	repl[56] = "c2s command 0 7661622f7800";
	syn_from_basic("syn-path", seq, repl, 58);
	syn_run("syn-path", &res);
	assert_false(res.aborted);
	assert_int_equal(res.compared, 37);
	assert_int_equal(res.matched, 35);
	assert_non_null(strstr(res.first_mismatch, "#55"));
}

/* More trace chunks than the harness tracks: a clean abort, not an overflow. */
static void test_syn_too_many_chunks(void **state)
{
	struct cmd create = { .type = CMD_CREATE_TRACE_CHUNK };
	struct replay_result res;
	FILE *f = syn_open("syn-chunks", ok4);

	(void)state;
	create.u.create_chunk.creds.set = true;
	create.u.create_chunk.creds.value.uid = (uint32_t)getuid();
	create.u.create_chunk.creds.value.gid = (uint32_t)getgid();
	for (unsigned int id = 0; id < 9; id++) {
		create.u.create_chunk.chunk_id = id;
		cmd_line(f, &create);
		hex_line(f, "c2s", "command", 0, ok4, 4);
		hex_line(f, "s2c", "command", 1, ok4, 1);
		hex_line(f, "c2s", "command", 0, ok4, 4);
	}
	fclose(f);
	syn_run("syn-chunks", &res);
	assert_true(res.aborted);
	assert_non_null(strstr(res.abort_reason, "harness preparation failed"));
	assert_int_equal(res.compared, 1 + 8 * 2);
	assert_int_equal(res.matched, res.compared);
}

/* The non-root path: chunk and buffer owners rewritten to ours. */
static void test_own_creds(void **state)
{
	struct replay_result res;
	char path[160];
	struct stat st;

	setenv("SLUICE_REPLAY_OWN_CREDS", "1", 1);
	run("basic", true, false);
	/* Kept (SLUICE_REPLAY_KEEP), the trace is where the session daemon put it, ours. */
	setenv("SLUICE_REPLAY_KEEP", "1", 1);
	assert_int_equal(replay_run("basic", SEED, false, &res), 0);
	unsetenv("SLUICE_REPLAY_KEEP");
	unsetenv("SLUICE_REPLAY_OWN_CREDS");
	snprintf(path, sizeof(path), "%s/chunk0/ust/uid/1001/64-bit/metadata", res.outdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_true(st.st_size > 0);
	snprintf(path, sizeof(path), "rm -rf '%s'", res.outdir);
	assert_int_equal(system(path), 0);
	(void)state;
}

/* The mask: what is compared and what is not. */
static void test_mask_rules(void **state)
{
	const uint8_t zero8[8] = { 0 }, one8[8] = { 1 }, two8[8] = { 2 };
	const uint8_t ones8[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t i0[4] = { 0 }, i1[4] = { 1 }, i2[4] = { 2 };
	uint8_t s1[32] = { 1 }, s2[32] = { 1, 0, 0, 0, 0, 0, 0, 0, 9, 9 }, s3[32] = { 2 };
	struct replay_hint h = { .sim_stat = 2 };
	const char *why = NULL;

	(void)state;
	/* exact */
	assert_true(replay_mask_match(REPLAY_PART_EXACT, NULL, i0, 4, i0, 4, &why));
	assert_false(replay_mask_match(REPLAY_PART_EXACT, NULL, i0, 4, i1, 4, &why));
	assert_string_equal(why, "bytes differ");
	assert_false(replay_mask_match(REPLAY_PART_EXACT, NULL, i0, 4, zero8, 8, &why));
	assert_string_equal(why, "length differs");
	assert_false(replay_mask_match(REPLAY_PART_EXACT, NULL, NULL, 4, i0, 4, &why));
	/* object sizes: any u64 but 0 and the terminator */
	assert_true(replay_mask_match(REPLAY_PART_CHAN_OBJ_SIZE, NULL, one8, 8, two8, 8, NULL));
	assert_false(replay_mask_match(REPLAY_PART_STREAM_SIZE, NULL, one8, 8, zero8, 8, NULL));
	assert_false(replay_mask_match(REPLAY_PART_STREAM_SIZE, NULL, one8, 8, ones8, 8, NULL));
	assert_false(replay_mask_match(REPLAY_PART_STREAM_SIZE, NULL, one8, 8, i0, 4, NULL));
	assert_true(replay_mask_match(REPLAY_PART_CHAN_OBJ_DATA, NULL, one8, 8, i0, 4, NULL));
	/* data pending: recorded 1 accepts 0/1, recorded 0 needs 0 */
	assert_true(replay_mask_match(REPLAY_PART_DATA_PENDING, NULL, i1, 4, i0, 4, NULL));
	assert_true(replay_mask_match(REPLAY_PART_DATA_PENDING, NULL, i1, 4, i1, 4, NULL));
	assert_false(replay_mask_match(REPLAY_PART_DATA_PENDING, NULL, i1, 4, i2, 4, NULL));
	assert_false(replay_mask_match(REPLAY_PART_DATA_PENDING, NULL, i0, 4, i1, 4, NULL));
	assert_false(replay_mask_match(REPLAY_PART_DATA_PENDING, NULL, i0, 4, zero8, 8, NULL));
	/* statistics: the sim's counter, not the recorded one */
	assert_true(replay_mask_match(REPLAY_PART_STAT_COUNT, &h, one8, 8, two8, 8, NULL));
	assert_false(replay_mask_match(REPLAY_PART_STAT_COUNT, &h, two8, 8, one8, 8, NULL));
	assert_false(replay_mask_match(REPLAY_PART_STAT_COUNT, NULL, two8, 8, two8, 8, NULL));
	/* monitor: key only */
	assert_true(replay_mask_match(REPLAY_PART_MONITOR, NULL, s1, 32, s2, 32, NULL));
	assert_false(replay_mask_match(REPLAY_PART_MONITOR, NULL, s1, 32, s3, 32, NULL));
	assert_false(replay_mask_match(REPLAY_PART_MONITOR, NULL, s1, 32, s3, 8, NULL));
	/* close chunk path: "" compared locally, any terminated path on a relayd */
	h.relayd_chunk = true;
	assert_true(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_PATH, &h, (const uint8_t *)"", 1,
				      (const uint8_t *)"vm/x", 5, NULL));
	assert_false(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_PATH, &h, (const uint8_t *)"", 1,
				       (const uint8_t *)"vm/x", 4, NULL));
	assert_false(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_PATH, NULL, (const uint8_t *)"", 1,
				       (const uint8_t *)"vm/x", 5, NULL));
	/* close chunk header {code, path length}: the length only varies on a relayd */
	{
		uint8_t rec[8] = { 0 }, act[8] = { 0 }, bad[8] = { 0 };
		uint32_t rl = 22, al = 20, code = 124;

		memcpy(rec + 4, &rl, 4);
		memcpy(act + 4, &al, 4);
		memcpy(bad, &code, 4);
		memcpy(bad + 4, &al, 4);
		assert_true(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_HEADER, &h, rec, 8, act, 8,
					      NULL));
		assert_false(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_HEADER, &h, rec, 8, bad, 8,
					       NULL));
		assert_false(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_HEADER, &h, rec, 8, zero8, 8,
					       NULL));   /* no path */
		h.relayd_chunk = false;
		assert_false(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_HEADER, &h, rec, 8, act, 8,
					       NULL));
		assert_true(replay_mask_match(REPLAY_PART_CLOSE_CHUNK_HEADER, &h, rec, 8, rec, 8,
					      NULL));
	}
	assert_string_equal(replay_part_name(REPLAY_PART_MONITOR), "monitor sample");
	assert_string_equal(replay_part_name(REPLAY_PART_COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_rules),
		cmocka_unit_test(test_unknown_capture),
		cmocka_unit_test_setup_teardown(test_syn_mismatch, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_no_reply, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_bad_lines, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_get_unknown_channel, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_monitor_missing, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_stream_count, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_masked_fields, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_too_many_chunks, syn_setup, syn_teardown),
		cmocka_unit_test_setup_teardown(test_syn_long_path, syn_setup, syn_teardown),
		cmocka_unit_test(test_own_creds),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_buffers_pid),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_rotate_clear),
		cmocka_unit_test(test_tracefile_rotation),
		cmocka_unit_test(test_app_killed),
		cmocka_unit_test(test_overwrite_snapshot),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_streaming_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
