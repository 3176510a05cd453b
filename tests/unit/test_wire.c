/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of core/wire.c, the 2.13.9 consumer protocol codec.
 *
 * Three layers:
 *  - the real conversations: every command the real session daemon sent in
 *    the nine captures decodes, re-encodes to the same bytes, and its fields
 *    match the transcript's decoding; every consumer reply whose shape
 *    follows from the command re-encodes to the recorded bytes;
 *  - validation: each malformed field is refused with its documented error
 *    and a log line naming it;
 *  - a seeded random-mutation loop over real messages: decode never crashes,
 *    and whatever decodes re-encodes to something that decodes identically.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "capture.h"
#include "cmd.h"
#include "log.h"
#include "sim_rand.h"
#include "wire.h"

/* ---- fixtures --------------------------------------------------------- */

static struct capture caps[CAPTURE_SCENARIO_COUNT];
static char txts[CAPTURE_SCENARIO_COUNT][4096];
static bool caps_loaded;

static int saved_stderr = -1;
static FILE *errlog;

/* Load all captures once; tests that need them fail (not skip) if absent. */
static int group_setup(void **state)
{
	size_t s;

	(void)state;
	caps_loaded = true;
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		if (capture_load_scenario(capture_scenarios[s], &caps[s]) != 0 ||
		    capture_path(txts[s], sizeof(txts[s]), capture_scenarios[s], ".txt") != 0 ||
		    access(txts[s], R_OK) != 0)
			caps_loaded = false;
	}
	return 0;
}

static int group_teardown(void **state)
{
	size_t s;

	(void)state;
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++)
		capture_free(&caps[s]);
	return 0;
}

static void need_captures(void)
{
	if (!caps_loaded)
		fail_msg("captures missing under $SLUICE_SHARED/protocol/captures (SLUICE_SHARED=%s)",
			 getenv("SLUICE_SHARED") ? getenv("SLUICE_SHARED") : "(unset: ../shared)");
}

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
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(errlog);
	log_level = 0;
	return 0;
}

/* Everything logged since setup or the last log_reset(). */
static const char *logged(void)
{
	static char buf[16384];
	size_t n;

	fflush(stderr);
	rewind(errlog);
	n = fread(buf, 1, sizeof(buf) - 1, errlog);
	buf[n] = '\0';
	return buf;
}

static void log_reset(void)
{
	fflush(stderr);
	rewind(errlog);
	assert_int_equal(ftruncate(fileno(errlog), 0), 0);
}

/* ---- transcript helpers ----------------------------------------------- */

/* Decoded description of message m of scenario s. */
static const char *desc_of(size_t s, const struct capture_msg *m)
{
	static char buf[16384];

	if (capture_txt_line(txts[s], m->line, buf, sizeof(buf)) != 0)
		fail_msg("%s: no transcript line #%zu", capture_scenarios[s], m->line);
	return buf;
}

/* Assert that field `key` of desc reads exactly as the printf-formatted value. */
static void expect_field(const char *desc, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void expect_field(const char *desc, const char *key, const char *fmt, ...)
{
	char want[8192], got[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (capture_txt_field(desc, key, got, sizeof(got)) != 0)
		fail_msg("field '%s' missing in: %.200s", key, desc);
	if (strcmp(want, got) != 0)
		fail_msg("field '%s': transcript says '%s', decoded '%s' (%.200s)", key, got, want,
			 desc);
}

static void expect_uuid(const char *desc, const char *key, const uint8_t u[16])
{
	expect_field(desc, key,
		     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		     u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		     u[14], u[15]);
}

/* "unset" or the value, as the transcript prints optional fields. */
static void expect_opt(const char *desc, const char *key, const struct cmd_opt_u64 *o)
{
	if (o->set)
		expect_field(desc, key, "%" PRIu64, o->value);
	else
		expect_field(desc, key, "unset");
}

/* Plain relayd ids are printed as -1 when absent. */
static void expect_plain_relayd(const char *desc, const struct cmd_opt_u64 *o)
{
	if (o->set)
		expect_field(desc, "relayd_id", "%" PRIu64, o->value);
	else
		expect_field(desc, "relayd_id", "-1");
}

/* "NAME(value)" as the transcript prints reply codes. */
static void expect_code(const char *desc, const char *key, int32_t code)
{
	expect_field(desc, key, "%s(%d)", wire_code_name(code), code);
}

/* Count for "<sock>:<NAME>" in the "# command counts:" header (0 when absent). */
static size_t header_count(size_t s, const char *sock, const char *name)
{
	char line[4096], tok[128];
	size_t n = 0;
	FILE *f = fopen(txts[s], "r");
	const char *p;

	assert_non_null(f);
	snprintf(tok, sizeof(tok), "%s:%s=", sock, name);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "# command counts:", 17) != 0)
			continue;
		p = strstr(line, tok);
		/* The token must start after a space, not inside a longer name. */
		while (p && p[-1] != ' ')
			p = strstr(p + 1, tok);
		if (p)
			n = strtoul(p + strlen(tok), NULL, 10);
		break;
	}
	fclose(f);
	return n;
}

/* ---- samples ------------------------------------------------------------ */

/*
 * Optionals are set member by member: assigning a compound literal may copy
 * indeterminate padding, and these structs are compared with memcmp.
 */
static void set_opt(struct cmd_opt_u64 *o, bool set, uint64_t value)
{
	o->set = set;
	o->value = value;
}

/* A per-UID data channel as the 2.13.9 session daemon asks for it. */
static void sample_ask(struct cmd *c)
{
	struct cmd_ask_channel *a = &c->u.ask_channel;
	static const uint8_t uuid[16] = { 0xef, 0xe3, 0xa7, 0x9f, 0xba, 0xdf, 0x47, 0xfd,
					  0xbd, 0x38, 0xd8, 0xb2, 0xc4, 0xe1, 0x67, 0xa3 };

	memset(c, 0, sizeof(*c));
	c->type = CMD_ASK_CHANNEL;
	a->key = 1;
	a->session_id_per_pid = 1;
	a->type = CMD_CHAN_PER_CPU;
	a->mode = CMD_MODE_DISCARD;
	a->output = CMD_OUTPUT_MMAP;
	a->subbuf_size = 524288;
	a->num_subbuf = 4;
	a->monitor_timer_us = 1000000;
	a->monitor = true;
	a->buffer_creds = (struct cmd_creds){ 1001, 1001 };
	a->ust_app_uid = 1001;
	set_opt(&a->chunk_id, true, 0);
	memcpy(a->uuid, uuid, sizeof(uuid));
	strcpy(a->pathname, "uid/1001/64-bit");
	strcpy(a->name, "channel0");
}

static void encode_ok(const struct cmd *c, uint8_t *buf)
{
	assert_int_equal(wire_encode(c, buf), 0);
}

/* Encode a sample ASK into buf. */
static void ask_bytes(uint8_t *buf)
{
	struct cmd c;

	sample_ask(&c);
	encode_ok(&c, buf);
}

/* Decode must fail with `err` and log a line containing `text`. */
static void expect_decode_error(const uint8_t *buf, int err, const char *text)
{
	struct cmd c;
	int ret;

	log_reset();
	ret = wire_decode(buf, &c);
	if (ret != err)
		fail_msg("decode returned %s, expected %s (log: %s)", wire_strerror(ret),
			 wire_strerror(err), logged());
	if (!strstr(logged(), text))
		fail_msg("log lacks '%s': %s", text, logged());
	assert_non_null(strstr(logged(), "Error: "));
}

static void expect_decode_ok(const uint8_t *buf, struct cmd *c)
{
	int ret = wire_decode(buf, c);

	if (ret != 0)
		fail_msg("decode failed: %s (log: %s)", wire_strerror(ret), logged());
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* ---- the captures: commands -------------------------------------------- */

/*
 * Every 12690-byte command of the command sockets of all nine captures
 * decodes, and re-encoding gives the recorded bytes exactly.
 */
static void test_captures_commands_roundtrip(void **state)
{
	uint8_t out[WIRE_MSG_SIZE];
	size_t s, total = 0;

	(void)state;
	need_captures();
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		const struct capture_msg *m;
		size_t pos = 0, n = 0;
		struct cmd c;

		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_COMMAND))) {
			assert_int_equal(m->len, WIRE_MSG_SIZE);
			expect_decode_ok(m->bytes, &c);
			encode_ok(&c, out);
			if (memcmp(out, m->bytes, WIRE_MSG_SIZE) != 0)
				fail_msg("%s #%zu: re-encoded %s differs", capture_scenarios[s],
					 m->line, wire_cmd_name(c.type));
			n++;
		}
		assert_true(n > 0);
		total += n;
	}
	print_message("round-tripped %zu command messages from %d captures\n", total,
		      CAPTURE_SCENARIO_COUNT);
	/* Per scenario, in capture_scenarios order (the rest are payloads, fds, replies). */
	assert_int_equal(total, 15 + 19 + 23 + 16 + 33 + 16 + 20 + 21 + 18);
}

/*
 * The decoded command type of every message is the one the transcript
 * names, and per scenario the numbers of each command match the transcript's
 * "command counts" header, on the command and the metadata socket.
 */
static void test_captures_command_names(void **state)
{
	size_t s;

	(void)state;
	need_captures();
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		size_t per_type[CMD_TYPE_COUNT] = { 0 }, meta_push = 0, t;
		const struct capture_msg *m;
		size_t pos = 0;
		struct cmd c;

		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_COMMAND))) {
			uint32_t wire_type;
			char want[64];

			expect_decode_ok(m->bytes, &c);
			memcpy(&wire_type, m->bytes, sizeof(wire_type));
			snprintf(want, sizeof(want), "%s(%" PRIu32 ") ", wire_cmd_name(c.type),
				 wire_type);
			if (strncmp(desc_of(s, m), want, strlen(want)) != 0)
				fail_msg("%s #%zu: decoded %s, transcript: %.80s",
					 capture_scenarios[s], m->line, want, desc_of(s, m));
			per_type[c.type]++;
		}
		for (t = CMD_INIT; t < CMD_METADATA_NO_REGISTRY; t++)
			assert_int_equal(per_type[t], header_count(s, "command", wire_cmd_name(t)));
		pos = 0;
		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_METADATA))) {
			assert_int_equal(wire_decode_metadata_reply(m->bytes, &c), 0);
			assert_int_equal(c.type, CMD_PUSH_METADATA);
			meta_push++;
		}
		assert_int_equal(meta_push, header_count(s, "metadata", "PUSH_METADATA"));
	}
}

/* Every field of every ASK_CHANNEL_CREATION matches the transcript. */
static void check_ask_fields(const char *d, const struct cmd_ask_channel *a)
{
	expect_field(d, "key", "%" PRIu64, a->key);
	expect_field(d, "session_id", "%" PRIu64, a->session_id);
	expect_field(d, "name", "%s", a->name);
	expect_field(d, "pathname", "%s", a->pathname);
	expect_field(d, "type", "%s", a->type == CMD_CHAN_METADATA ? "METADATA" : "PER_CPU");
	expect_field(d, "subbuf_size", "%" PRIu64, a->subbuf_size);
	expect_field(d, "num_subbuf", "%" PRIu64, a->num_subbuf);
	expect_field(d, "overwrite", "%d",
		     a->mode == CMD_MODE_UNSPECIFIED ? -1 : a->mode == CMD_MODE_OVERWRITE);
	expect_field(d, "switch_timer_us", "%" PRIu32, a->switch_timer_us);
	expect_field(d, "read_timer_us", "%" PRIu32, a->read_timer_us);
	expect_field(d, "live_timer_us", "%" PRIu32, a->live_timer_us);
	expect_field(d, "is_live", "%d", a->is_live);
	expect_field(d, "monitor_timer_us", "%" PRIu32, a->monitor_timer_us);
	expect_field(d, "output", "%s", a->output == CMD_OUTPUT_MMAP ? "MMAP" : "SPLICE");
	expect_field(d, "buffer_uid", "%" PRIu32, a->buffer_creds.uid);
	expect_field(d, "buffer_gid", "%" PRIu32, a->buffer_creds.gid);
	expect_plain_relayd(d, &a->relayd_id);
	expect_opt(d, "chunk_id", &a->chunk_id);
	expect_uuid(d, "uuid", a->uuid);
	expect_field(d, "chan_id", "%" PRIu32, a->chan_id);
	expect_field(d, "tracefile_size", "%" PRIu64, a->tracefile_size);
	expect_field(d, "tracefile_count", "%" PRIu32, a->tracefile_count);
	expect_field(d, "session_id_per_pid", "%" PRIu64, a->session_id_per_pid);
	expect_field(d, "monitor", "%d", a->monitor);
	expect_field(d, "ust_app_uid", "%" PRIu32, a->ust_app_uid);
	expect_field(d, "blocking_timeout", "%" PRId64, a->blocking_timeout_us);
	expect_field(d, "root_shm_path", "\"%s\"", a->root_shm_path);
	expect_field(d, "shm_path", "\"%s\"", a->shm_path);
}

static void check_push_fields(const char *d, const struct cmd_push_metadata *p)
{
	expect_field(d, "key", "%" PRIu64, p->key);
	expect_field(d, "target_offset", "%" PRIu64, p->target_offset);
	expect_field(d, "len", "%" PRIu64, p->len);
	expect_field(d, "version", "%" PRIu64, p->version);
}

static const char *close_command_name(const struct cmd_close_chunk *c)
{
	if (!c->close_command_set)
		return "unset";
	switch (c->close_command) {
	case CMD_CLOSE_MOVE_TO_COMPLETED:
		return "MOVE_TO_COMPLETED";
	case CMD_CLOSE_DELETE:
		return "DELETE";
	default:
		return "NO_OPERATION";
	}
}

/* Compare the fields of any decoded command with its transcript line. */
static void check_fields(const char *d, const struct cmd *c)
{
	switch (c->type) {
	case CMD_ASK_CHANNEL:
		check_ask_fields(d, &c->u.ask_channel);
		break;
	case CMD_PUSH_METADATA:
		check_push_fields(d, &c->u.push_metadata);
		break;
	case CMD_INIT:
		expect_uuid(d, "sessiond_uuid", c->u.init.sessiond_uuid);
		break;
	case CMD_CREATE_TRACE_CHUNK: {
		const struct cmd_create_chunk *k = &c->u.create_chunk;

		expect_opt(d, "relayd_id", &k->relayd_id);
		expect_field(d, "override_name", "%s",
			     k->override_name[0] ? k->override_name : "(none)");
		expect_field(d, "session_id", "%" PRIu64, k->session_id);
		expect_field(d, "chunk_id", "%" PRIu64, k->chunk_id);
		expect_field(d, "creation_timestamp", "%" PRIu64, k->creation_ts_s);
		if (k->creds.set)
			expect_field(d, "credentials", "uid=%" PRIu32 ",gid=%" PRIu32,
				     k->creds.value.uid, k->creds.value.gid);
		else
			expect_field(d, "credentials", "unset");
		break;
	}
	case CMD_CLOSE_TRACE_CHUNK:
		expect_opt(d, "relayd_id", &c->u.close_chunk.relayd_id);
		expect_field(d, "session_id", "%" PRIu64, c->u.close_chunk.session_id);
		expect_field(d, "chunk_id", "%" PRIu64, c->u.close_chunk.chunk_id);
		expect_field(d, "close_timestamp", "%" PRIu64, c->u.close_chunk.close_ts_s);
		expect_field(d, "close_command", "%s", close_command_name(&c->u.close_chunk));
		break;
	case CMD_TRACE_CHUNK_EXISTS:
		expect_opt(d, "relayd_id", &c->u.chunk_exists.relayd_id);
		expect_field(d, "session_id", "%" PRIu64, c->u.chunk_exists.session_id);
		expect_field(d, "chunk_id", "%" PRIu64, c->u.chunk_exists.chunk_id);
		break;
	case CMD_SNAPSHOT_CHANNEL:
		expect_field(d, "key", "%" PRIu64, c->u.snapshot.key);
		expect_field(d, "metadata", "%d", c->u.snapshot.metadata);
		expect_field(d, "use_relayd", "%d", c->u.snapshot.use_relayd);
		expect_plain_relayd(d, &c->u.snapshot.relayd_id);
		expect_field(d, "nb_packets_per_stream", "%" PRIu64,
			     c->u.snapshot.nb_packets_per_stream);
		expect_field(d, "pathname", "%s", c->u.snapshot.pathname);
		break;
	case CMD_ROTATE_CHANNEL:
		expect_field(d, "key", "%" PRIu64, c->u.rotate.key);
		expect_field(d, "metadata", "%d", c->u.rotate.metadata);
		expect_plain_relayd(d, &c->u.rotate.relayd_id);
		break;
	case CMD_ADD_RELAYD_SOCKET: {
		const struct cmd_relayd_sock *r = &c->u.relayd_sock;

		expect_field(d, "net_index", "%" PRIu64, r->relayd_id);
		expect_field(d, "type", "%s", r->type == CMD_RELAYD_CONTROL ? "CONTROL" : "DATA");
		expect_field(d, "major", "%" PRIu32, r->major);
		expect_field(d, "minor", "%" PRIu32, r->minor);
		expect_field(d, "protocol", "%s", r->proto == CMD_SOCK_TCP ? "TCP" : "UDP");
		expect_field(d, "session_id", "%" PRIu64, r->session_id);
		expect_field(d, "relayd_session_id", "%" PRIu64, r->relayd_session_id);
		break;
	}
	case CMD_DESTROY_RELAYD:
		expect_field(d, "net_seq_idx", "%" PRIu64, c->u.destroy_relayd.relayd_id);
		break;
	case CMD_DATA_PENDING:
		expect_field(d, "session_id", "%" PRIu64, c->u.data_pending.session_id);
		break;
	case CMD_DISCARDED_EVENTS:
	case CMD_LOST_PACKETS:
		expect_field(d, "session_id", "%" PRIu64, c->u.stats.session_id);
		expect_field(d, "channel_key", "%" PRIu64, c->u.stats.key);
		break;
	case CMD_SET_MONITOR_PIPE:
		break;
	default:
		expect_field(d, "key", "%" PRIu64, c->u.channel.key);
		break;
	}
}

/*
 * Spot checks against the transcripts: every decoded field of every
 * command (ASK pathname/name/key/uid..., PUSH_METADATA offset/len/version,
 * CREATE_TRACE_CHUNK ids and credentials, snapshot key and nb_packets,
 * close_command, ...) reads as the transcript's independent decoding.
 */
static void test_captures_fields_match_transcripts(void **state)
{
	size_t s, per_type[CMD_TYPE_COUNT] = { 0 };

	(void)state;
	need_captures();
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		const struct capture_msg *m;
		size_t pos = 0;
		struct cmd c;

		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_COMMAND))) {
			expect_decode_ok(m->bytes, &c);
			check_fields(desc_of(s, m), &c);
			per_type[c.type]++;
		}
		pos = 0;
		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_METADATA))) {
			assert_int_equal(wire_decode_metadata_reply(m->bytes, &c), 0);
			check_fields(desc_of(s, m), &c);
		}
	}
	/* The scenarios exercise these, so the checks above really ran. */
	assert_int_equal(per_type[CMD_ASK_CHANNEL], 20);
	assert_true(per_type[CMD_CREATE_TRACE_CHUNK] >= 9);
	assert_true(per_type[CMD_SNAPSHOT_CHANNEL] == 4);
	assert_true(per_type[CMD_ADD_RELAYD_SOCKET] == 4);
	assert_true(per_type[CMD_CLOSE_TRACE_CHUNK] >= 9);
}

/* A few literal values from the captures README, independent of the transcripts. */
static void test_captures_known_values(void **state)
{
	const struct capture_msg *m;
	size_t pos = 0;
	struct cmd c;
	int found = 0;

	(void)state;
	need_captures();
	/* basic (index 1): ASK key 1 channel0 uid/1001/64-bit, metadata key 2, two pushes. */
	while ((m = capture_next_command(&caps[1], &pos, CAPTURE_SOCK_COMMAND))) {
		expect_decode_ok(m->bytes, &c);
		if (c.type == CMD_ASK_CHANNEL && c.u.ask_channel.key == 1) {
			assert_string_equal(c.u.ask_channel.name, "channel0");
			assert_string_equal(c.u.ask_channel.pathname, "uid/1001/64-bit");
			assert_int_equal(c.u.ask_channel.ust_app_uid, 1001);
			assert_int_equal(c.u.ask_channel.num_subbuf, 4);
			assert_int_equal(c.u.ask_channel.mode, CMD_MODE_DISCARD);
			found |= 1;
		} else if (c.type == CMD_ASK_CHANNEL) {
			assert_int_equal(c.u.ask_channel.type, CMD_CHAN_METADATA);
			assert_int_equal(c.u.ask_channel.mode, CMD_MODE_UNSPECIFIED);
			assert_int_equal(c.u.ask_channel.chan_id, UINT32_MAX);
			found |= 2;
		} else if (c.type == CMD_PUSH_METADATA && c.u.push_metadata.target_offset == 12621) {
			assert_int_equal(c.u.push_metadata.len, 217);
			assert_int_equal(c.u.push_metadata.version, 0);
			found |= 4;
		} else if (c.type == CMD_CREATE_TRACE_CHUNK) {
			assert_false(c.u.create_chunk.relayd_id.set);
			assert_true(c.u.create_chunk.creds.set);
			assert_int_equal(c.u.create_chunk.creds.value.gid, 1001);
			found |= 8;
		}
	}
	assert_int_equal(found, 15);
	/* rotate-clear (index 4): close of chunk 1 with DELETE. */
	pos = 0;
	found = 0;
	while ((m = capture_next_command(&caps[4], &pos, CAPTURE_SOCK_COMMAND))) {
		expect_decode_ok(m->bytes, &c);
		if (c.type == CMD_CLOSE_TRACE_CHUNK && c.u.close_chunk.chunk_id == 1) {
			assert_true(c.u.close_chunk.close_command_set);
			assert_int_equal(c.u.close_chunk.close_command, CMD_CLOSE_DELETE);
			found++;
		}
	}
	assert_int_equal(found, 1);
	/* snapshot (index 5): the snapshot chunk's override name, metadata snapshot key 2. */
	pos = 0;
	found = 0;
	while ((m = capture_next_command(&caps[5], &pos, CAPTURE_SOCK_COMMAND))) {
		expect_decode_ok(m->bytes, &c);
		if (c.type == CMD_CREATE_TRACE_CHUNK) {
			assert_memory_equal(c.u.create_chunk.override_name, "snapshot-1-", 11);
			found |= 1;
		} else if (c.type == CMD_SNAPSHOT_CHANNEL && c.u.snapshot.metadata) {
			assert_int_equal(c.u.snapshot.key, 2);
			assert_int_equal(c.u.snapshot.nb_packets_per_stream, 0);
			assert_false(c.u.snapshot.relayd_id.set);
			found |= 2;
		}
	}
	assert_int_equal(found, 3);
}

/* ---- the captures: replies --------------------------------------------- */

struct reply_counts {
	size_t st, stc, i32, u64, close, mreq, mon, err, meta;
};

static void check_status(size_t s, const struct capture_msg *m, struct reply_counts *n)
{
	uint8_t out[WIRE_STATUS_SIZE];
	int32_t code;

	assert_int_equal(m->len, WIRE_STATUS_SIZE);
	code = wire_decode_status(m->bytes);
	wire_encode_status(code, out);
	assert_memory_equal(out, m->bytes, sizeof(out));
	expect_code(desc_of(s, m), m->sock == CAPTURE_SOCK_ERROR ? "code" : "ret_code", code);
	n->st++;
}

/*
 * Walk one capture's consumer->sessiond messages, infer each reply's shape
 * from the command it answers (as a session daemon does), decode it,
 * re-encode it from the decoded values and compare bytes; the decoded
 * values must also match the transcript.
 */
static void walk_replies(size_t s, struct reply_counts *n)
{
	const struct capture *cap = &caps[s];
	bool *is_cmd = calloc(cap->count, sizeof(bool));
	enum cmd_type last = CMD_INVALID;
	uint8_t close_buf[WIRE_CLOSE_CHUNK_HEADER_SIZE + WIRE_CLOSE_CHUNK_PATH_MAX];
	size_t i, pos = 0, k = 0;
	bool after_terminator = false;
	uint32_t path_length = 0;
	const struct capture_msg *m;

	assert_non_null(is_cmd);
	while ((m = capture_next_command(cap, &pos, CAPTURE_SOCK_COMMAND)))
		is_cmd[m - cap->msgs] = true;
	for (i = 0; i < cap->count; i++) {
		const char *d;
		struct cmd c;

		m = &cap->msgs[i];
		if (m->nfds)
			continue;
		if (m->sock == CAPTURE_SOCK_ERROR) {
			check_status(s, m, n);
			assert_int_equal(wire_decode_status(m->bytes), CONSUMER_COMMAND_SOCK_READY);
			n->err++;
			continue;
		}
		if (m->sock == CAPTURE_SOCK_MONITOR) {
			struct monitor_sample ms;
			uint8_t out[WIRE_MONITOR_SAMPLE_SIZE];

			assert_int_equal(m->len, WIRE_MONITOR_SAMPLE_SIZE);
			wire_decode_monitor_sample(m->bytes, &ms);
			wire_encode_monitor_sample(&ms, out);
			assert_memory_equal(out, m->bytes, sizeof(out));
			d = desc_of(s, m);
			expect_field(d, "key", "%" PRIu64, ms.key);
			expect_field(d, "lowest", "%" PRIu64, ms.lowest);
			expect_field(d, "highest", "%" PRIu64, ms.highest);
			expect_field(d, "total_consumed", "%" PRIu64, ms.total_consumed);
			n->mon++;
			continue;
		}
		if (m->sock == CAPTURE_SOCK_METADATA) {
			if (m->dir == CAPTURE_C2S && m->len == WIRE_METADATA_REQUEST_SIZE) {
				struct metadata_request r;
				uint8_t out[WIRE_METADATA_REQUEST_SIZE];

				wire_decode_metadata_request(m->bytes, &r);
				wire_encode_metadata_request(&r, out);
				assert_memory_equal(out, m->bytes, sizeof(out));
				d = desc_of(s, m);
				expect_field(d, "session_id", "%" PRIu64, r.session_id);
				expect_field(d, "session_id_per_pid", "%" PRIu64, r.session_id_per_pid);
				expect_field(d, "bits_per_long", "%" PRIu32, r.bits_per_long);
				assert_int_equal(r.bits_per_long, 64);
				expect_field(d, "uid", "%" PRIu32, r.uid);
				expect_field(d, "key", "%" PRIu64, r.key);
				n->mreq++;
			} else if (m->dir == CAPTURE_C2S) {
				check_status(s, m, n);
			} else if (m->len == WIRE_MSG_SIZE) {
				uint8_t out[WIRE_MSG_SIZE];

				assert_int_equal(wire_decode_metadata_reply(m->bytes, &c), 0);
				encode_ok(&c, out);
				assert_memory_equal(out, m->bytes, sizeof(out));
				n->meta++;
			}
			continue;
		}
		/* Command socket. */
		if (m->dir == CAPTURE_S2C) {
			if (is_cmd[i]) {
				expect_decode_ok(m->bytes, &c);
				last = c.type;
				k = 0;
				after_terminator = false;
			}
			continue;
		}
		k++;
		d = desc_of(s, m);
		switch (last) {
		case CMD_ASK_CHANNEL: {
			struct reply_channel r;
			uint8_t out[WIRE_STATUS_CHANNEL_SIZE];

			assert_int_equal(m->len, WIRE_STATUS_CHANNEL_SIZE);
			wire_decode_status_channel(m->bytes, &r);
			wire_encode_status_channel(&r, out);
			assert_memory_equal(out, m->bytes, sizeof(out));
			assert_non_null(strstr(d, "status_channel"));
			expect_code(d, "ret_code", r.code);
			expect_field(d, "key", "%" PRIu64, r.key);
			expect_field(d, "stream_count", "%" PRIu32, r.stream_count);
			n->stc++;
			break;
		}
		case CMD_DATA_PENDING: {
			uint8_t out[WIRE_I32_SIZE];
			int32_t v;

			assert_int_equal(m->len, WIRE_I32_SIZE);
			v = wire_decode_i32(m->bytes);
			wire_encode_i32(v, out);
			assert_memory_equal(out, m->bytes, sizeof(out));
			expect_field(d, "is_data_pending", "%d", v);
			n->i32++;
			break;
		}
		case CMD_DISCARDED_EVENTS:
		case CMD_LOST_PACKETS: {
			uint8_t out[WIRE_U64_SIZE];
			uint64_t v;

			assert_int_equal(m->len, WIRE_U64_SIZE);
			v = wire_decode_u64(m->bytes);
			wire_encode_u64(v, out);
			assert_memory_equal(out, m->bytes, sizeof(out));
			expect_field(d, last == CMD_LOST_PACKETS ? "lost_packets" : "discarded_events",
				     "%" PRIu64, v);
			n->u64++;
			break;
		}
		case CMD_CLOSE_TRACE_CHUNK:
			if (k == 1) {
				int32_t code;
				uint8_t out[WIRE_CLOSE_CHUNK_HEADER_SIZE];

				assert_int_equal(m->len, WIRE_CLOSE_CHUNK_HEADER_SIZE);
				assert_int_equal(wire_decode_close_chunk_header(m->bytes, &code,
										&path_length),
						 0);
				wire_encode_close_chunk_header(code, path_length, out);
				assert_memory_equal(out, m->bytes, sizeof(out));
				expect_code(d, "ret_code", code);
				expect_field(d, "path_length", "%" PRIu32, path_length);
				memcpy(close_buf, m->bytes, m->len);
			} else {
				struct reply_close_chunk r;
				uint8_t out[sizeof(close_buf)];
				size_t len = 0;

				assert_int_equal(k, 2);
				assert_int_equal(m->len, path_length);
				memcpy(close_buf + WIRE_CLOSE_CHUNK_HEADER_SIZE, m->bytes, m->len);
				assert_int_equal(wire_decode_close_chunk_reply(close_buf,
									       m->len + 8, &r),
						 0);
				assert_int_equal(wire_encode_close_chunk_reply(&r, out, sizeof(out),
									       &len),
						 0);
				assert_int_equal(len, m->len + WIRE_CLOSE_CHUNK_HEADER_SIZE);
				assert_memory_equal(out, close_buf, len);
				expect_field(d, "path", "\"%s\"", r.path);
				n->close++;
			}
			break;
		case CMD_GET_CHANNEL:
			/* Status, channel object..., streams..., terminator, final status. */
			if (m->len == WIRE_U64_SIZE && wire_decode_u64(m->bytes) == UINT64_MAX)
				after_terminator = true;
			else if (k == 1 || after_terminator)
				check_status(s, m, n);
			break;
		case CMD_INVALID:
			fail_msg("%s #%zu: reply before any command", capture_scenarios[s],
				 m->line);
			break;
		default:
			/* Every other command is answered with status messages only. */
			check_status(s, m, n);
			break;
		}
	}
	free(is_cmd);
}

/* Every consumer reply of the captures re-encodes byte for byte. */
static void test_captures_replies_roundtrip(void **state)
{
	struct reply_counts n = { 0 };
	size_t s;

	(void)state;
	need_captures();
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++)
		walk_replies(s, &n);
	print_message("replies: %zu ST, %zu STC, %zu I32, %zu U64, %zu close-chunk, "
		      "%zu metadata requests, %zu monitor samples, %zu metadata-socket commands\n",
		      n.st, n.stc, n.i32, n.u64, n.close, n.mreq, n.mon, n.meta);
	assert_int_equal(n.stc, 20);
	assert_int_equal(n.i32, 23);
	assert_int_equal(n.u64, 10);
	assert_int_equal(n.close, 11);
	assert_int_equal(n.mreq, 7);
	assert_int_equal(n.mon, 11);
	assert_int_equal(n.err, 9);
	assert_int_equal(n.meta, 7);
	assert_true(n.st > 150);
}

/* ---- synthetic round trips ---------------------------------------------- */

/* Fill distinctive values into every field of a command of type t. */
static void sample_of_type(enum cmd_type t, struct cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->type = t;
	switch (t) {
	case CMD_ASK_CHANNEL: {
		struct cmd_ask_channel *a = &c->u.ask_channel;

		sample_ask(c);
		a->type = CMD_CHAN_METADATA;
		a->mode = CMD_MODE_OVERWRITE;
		a->output = CMD_OUTPUT_SPLICE;
		a->subbuf_size = 1ULL << 40;
		a->num_subbuf = 1ULL << 63;
		a->switch_timer_us = 0x11111111;
		a->read_timer_us = 0x22222222;
		a->live_timer_us = 0x33333333;
		a->monitor_timer_us = 0x44444444;
		a->is_live = true;
		a->monitor = false;
		a->session_id = 0x0102030405060708ULL;
		a->session_id_per_pid = 0x1112131415161718ULL;
		a->key = 0x2122232425262728ULL;
		set_opt(&a->relayd_id, true, 0x3132333435363738ULL);
		set_opt(&a->chunk_id, true, UINT64_MAX);
		a->chan_id = 0x51525354;
		a->tracefile_size = 0x6162636465666768ULL;
		a->tracefile_count = 0x71727374;
		a->ust_app_uid = 0x81828384;
		a->buffer_creds = (struct cmd_creds){ 0x91929394, 0xa1a2a3a4 };
		a->blocking_timeout_us = -1;
		memset(a->pathname, 'p', sizeof(a->pathname) - 1);
		memset(a->name, 'n', sizeof(a->name) - 1);
		memset(a->root_shm_path, 'r', sizeof(a->root_shm_path) - 1);
		strcpy(a->shm_path, "/dev/shm/x/channel0_");
		break;
	}
	case CMD_INIT:
		memset(c->u.init.sessiond_uuid, 0xa5, CMD_UUID_LEN);
		break;
	case CMD_ADD_RELAYD_SOCKET:
		c->u.relayd_sock = (struct cmd_relayd_sock){ 7, CMD_RELAYD_DATA, 2, 13, CMD_SOCK_UDP,
							     0x55, 0x66 };
		break;
	case CMD_DESTROY_RELAYD:
		c->u.destroy_relayd.relayd_id = UINT64_MAX;
		break;
	case CMD_CREATE_TRACE_CHUNK:
		set_opt(&c->u.create_chunk.relayd_id, true, 2);
		c->u.create_chunk.session_id = 3;
		c->u.create_chunk.chunk_id = 4;
		c->u.create_chunk.creation_ts_s = 5;
		memset(c->u.create_chunk.override_name, 'o', CMD_CHUNK_NAME_MAX - 1);
		c->u.create_chunk.creds.set = true;
		c->u.create_chunk.creds.value.uid = 6;
		c->u.create_chunk.creds.value.gid = 7;
		break;
	case CMD_CLOSE_TRACE_CHUNK:
		set_opt(&c->u.close_chunk.relayd_id, true, 0);
		c->u.close_chunk.session_id = 8;
		c->u.close_chunk.chunk_id = 9;
		c->u.close_chunk.close_ts_s = 10;
		c->u.close_chunk.close_command_set = true;
		c->u.close_chunk.close_command = CMD_CLOSE_NO_OPERATION;
		break;
	case CMD_TRACE_CHUNK_EXISTS:
		set_opt(&c->u.chunk_exists.relayd_id, true, 11);
		c->u.chunk_exists.session_id = 12;
		c->u.chunk_exists.chunk_id = 13;
		break;
	case CMD_PUSH_METADATA:
		c->u.push_metadata = (struct cmd_push_metadata){ 2, UINT64_MAX - 5, 5, 9 };
		break;
	case CMD_DATA_PENDING:
		c->u.data_pending.session_id = 14;
		break;
	case CMD_DISCARDED_EVENTS:
	case CMD_LOST_PACKETS:
		c->u.stats = (struct cmd_stats){ 15, 16 };
		break;
	case CMD_SNAPSHOT_CHANNEL:
		c->u.snapshot.key = 17;
		c->u.snapshot.metadata = true;
		c->u.snapshot.use_relayd = true;
		set_opt(&c->u.snapshot.relayd_id, true, 18);
		c->u.snapshot.nb_packets_per_stream = 19;
		strcpy(c->u.snapshot.pathname, "vm/s1/ust/uid/1000/64-bit");
		break;
	case CMD_ROTATE_CHANNEL:
		c->u.rotate.key = 20;
		c->u.rotate.metadata = true;
		set_opt(&c->u.rotate.relayd_id, true, 21);
		break;
	case CMD_SET_MONITOR_PIPE:
	case CMD_METADATA_NO_REGISTRY:
		break;
	default:
		c->u.channel.key = 0xfedcba9876543210ULL;
		break;
	}
}

/*
 * Every command type, with every field set to a distinctive (often extreme)
 * value, survives encode then decode unchanged.
 */
static void test_encode_decode_every_type(void **state)
{
	uint8_t buf[WIRE_MSG_SIZE];
	enum cmd_type t;

	(void)state;
	for (t = CMD_INIT; t < CMD_TYPE_COUNT; t++) {
		struct cmd in, out;

		sample_of_type(t, &in);
		encode_ok(&in, buf);
		if (t == CMD_METADATA_NO_REGISTRY) {
			assert_int_equal(wire_decode_metadata_reply(buf, &out), 0);
		} else {
			expect_decode_ok(buf, &out);
		}
		if (memcmp(&in, &out, sizeof(in)) != 0)
			fail_msg("%s does not survive encode/decode", wire_cmd_name(t));
	}
}

/* Field placement checked against the spec's literal offsets (not WIRE_OFF_*). */
static void test_layout_literal_offsets(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	uint64_t v64;
	uint32_t v32;

	(void)state;
	sample_of_type(CMD_ASK_CHANNEL, &c);
	encode_ok(&c, b);
	memcpy(&v32, b + 0, 4);
	assert_int_equal(v32, 7);
	memcpy(&v64, b + 4, 8);
	assert_int_equal(v64, 1ULL << 40);
	assert_int_equal(b[36], 1);
	memcpy(&v32, b + 37, 4);
	assert_int_equal(v32, 0x44444444);
	memcpy(&v32, b + 41, 4);
	assert_int_equal(v32, 0); /* splice */
	memcpy(&v32, b + 45, 4);
	assert_int_equal(v32, 1); /* metadata */
	assert_int_equal(b[57], 'p');
	assert_int_equal(b[57 + 4094], 'p');
	assert_int_equal(b[57 + 4095], 0);
	assert_int_equal(b[4153], 'n');
	memcpy(&v64, b + 4425, 8);
	assert_int_equal(v64, 0x2122232425262728ULL);
	assert_int_equal(b[4433], 1);
	memcpy(&v64, b + 4434, 8);
	assert_int_equal(v64, UINT64_MAX);
	memcpy(&v32, b + 4486, 4);
	assert_int_equal(v32, 0x81828384);
	memcpy(&v64, b + 4490, 8);
	assert_int_equal(v64, UINT64_MAX); /* -1 */
	assert_int_equal(b[8594], '/');

	sample_of_type(CMD_CLOSE_TRACE_CHUNK, &c);
	c.u.close_chunk.close_command = CMD_CLOSE_DELETE;
	encode_ok(&c, b);
	assert_int_equal(b[37], 1);
	memcpy(&v32, b + 38, 4);
	assert_int_equal(v32, 2);

	sample_of_type(CMD_CREATE_TRACE_CHUNK, &c);
	encode_ok(&c, b);
	assert_int_equal(b[292], 1);
	memcpy(&v32, b + 297, 4);
	assert_int_equal(v32, 7); /* gid ends at 300 */

	sample_of_type(CMD_SNAPSHOT_CHANNEL, &c);
	encode_ok(&c, b);
	memcpy(&v64, b + 4116, 8);
	assert_int_equal(v64, 17);

	sample_of_type(CMD_PUSH_METADATA, &c);
	encode_ok(&c, b);
	memcpy(&v64, b + 20, 8);
	assert_int_equal(v64, 5);
	memcpy(&v64, b + 28, 8);
	assert_int_equal(v64, 9);
}

/* Plain relayd ids: "unset" is written as -1ULL, and -1ULL decodes as unset. */
static void test_plain_relayd_id(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c, d;

	(void)state;
	c = (struct cmd){ .type = CMD_ROTATE_CHANNEL, .u.rotate = { 3, false, { false, 0 } } };
	encode_ok(&c, b);
	assert_memory_equal(b + WIRE_OFF_ROTATE_RELAYD_ID, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	expect_decode_ok(b, &d);
	assert_false(d.u.rotate.relayd_id.set);
	assert_int_equal(d.u.rotate.relayd_id.value, 0);
	/* Set relayd id 0 is a real relayd, distinct from "none". */
	c.u.rotate.relayd_id = (struct cmd_opt_u64){ true, 0 };
	encode_ok(&c, b);
	expect_decode_ok(b, &d);
	assert_true(d.u.rotate.relayd_id.set);
}

/* The encoder zero-fills: nothing of a previous message leaks into unused bytes. */
static void test_encode_zero_fills(void **state)
{
	static const uint8_t zeros[WIRE_MSG_SIZE];
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;

	(void)state;
	memset(b, 0xaa, sizeof(b));
	c = (struct cmd){ .type = CMD_SET_MONITOR_PIPE };
	encode_ok(&c, b);
	assert_memory_equal(b, "\x14\0\0\0", 4);
	assert_memory_equal(b + 4, zeros, WIRE_MSG_SIZE - 4);

	memset(b, 0xaa, sizeof(b));
	sample_of_type(CMD_FLUSH_CHANNEL, &c);
	encode_ok(&c, b);
	assert_memory_equal(b + 12, zeros, WIRE_MSG_SIZE - 12);

	memset(b, 0xaa, sizeof(b));
	sample_ask(&c);
	encode_ok(&c, b);
	/* After "channel0" the name field, after the shm paths the message, are zeros. */
	assert_memory_equal(b + WIRE_OFF_ASK_NAME + 8, zeros, WIRE_NAME_LEN - 8);
	assert_memory_equal(b + WIRE_OFF_ASK_ROOT_SHM_PATH, zeros, 2 * WIRE_PATHNAME_LEN);

	/* On failure the output holds no stale bytes either. */
	memset(b, 0xaa, sizeof(b));
	c.u.ask_channel.mode = (enum cmd_buffer_mode)42;
	log_level = -1;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	log_level = 0;
	assert_null(memchr(b, 0xaa, sizeof(b)));
}

/*
 * Decoding never reads past the 12690 bytes: a message whose last byte sits
 * just before an inaccessible page decodes (or fails) without a fault, for
 * every command type and for the metadata-reply decoder.
 */
static void test_no_read_past_end(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t span = ((WIRE_MSG_SIZE + (size_t)page - 1) / (size_t)page + 1) * (size_t)page;
	uint8_t *map, *msg;
	enum cmd_type t;
	struct cmd c;

	(void)state;
	map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + span - (size_t)page, (size_t)page, PROT_NONE), 0);
	msg = map + span - (size_t)page - WIRE_MSG_SIZE;
	for (t = CMD_INIT; t < CMD_TYPE_COUNT; t++) {
		sample_of_type(t, &c);
		encode_ok(&c, msg);
		if (t == CMD_METADATA_NO_REGISTRY)
			assert_int_equal(wire_decode_metadata_reply(msg, &c), 0);
		else
			expect_decode_ok(msg, &c);
	}
	/* Strings filling their field up to the end of the message. */
	sample_ask(&c);
	encode_ok(&c, msg);
	memset(msg + WIRE_OFF_ASK_SHM_PATH, 'a', WIRE_PATHNAME_LEN);
	expect_decode_error(msg, WIRE_ERR_UNTERMINATED, "'shm_path'");
	assert_int_equal(munmap(map, span), 0);
}

/* The reply codes carry the numbers the 2.13.9 session daemon expects (spec 7.1). */
static void test_consumer_code_values(void **state)
{
	(void)state;
	assert_int_equal(CONSUMER_SUCCESS, 0);
	assert_int_equal(CONSUMER_ERR_UND, 12);
	assert_int_equal(CONSUMER_ERR_UST_CHAN_NOT_FOUND, 59);
	assert_int_equal(CONSUMER_COMMAND_SOCK_READY, 100);
	assert_int_equal(CONSUMER_ERROR_RECV_FD, 102);
	assert_int_equal(CONSUMER_ERROR_RECV_CMD, 103);
	assert_int_equal(CONSUMER_POLL_ERROR, 104);
	assert_int_equal(CONSUMER_OUTFD_ERROR, 109);
	assert_int_equal(CONSUMER_SPLICE_ESPIPE, 113);
	assert_int_equal(CONSUMER_ENOMEM, 114);
	assert_int_equal(CONSUMER_ERROR_METADATA, 115);
	assert_int_equal(CONSUMER_FATAL, 116);
	assert_int_equal(CONSUMER_RELAYD_FAIL, 117);
	assert_int_equal(CONSUMER_CHANNEL_FAIL, 118);
	assert_int_equal(CONSUMER_CHAN_NOT_FOUND, 119);
	assert_int_equal(CONSUMER_ALREADY_SET, 120);
	assert_int_equal(CONSUMER_ROTATION_FAIL, 121);
	assert_int_equal(CONSUMER_SNAPSHOT_FAILED, 122);
	assert_int_equal(CONSUMER_CREATE_TRACE_CHUNK_FAILED, 123);
	assert_int_equal(CONSUMER_CLOSE_TRACE_CHUNK_FAILED, 124);
	assert_int_equal(CONSUMER_INVALID_PARAMETERS, 125);
	assert_int_equal(CONSUMER_TRACE_CHUNK_EXISTS_LOCAL, 126);
	assert_int_equal(CONSUMER_TRACE_CHUNK_EXISTS_REMOTE, 127);
	assert_int_equal(CONSUMER_UNKNOWN_TRACE_CHUNK, 128);
	assert_int_equal(CONSUMER_RELAYD_CLEAR_DISALLOWED, 129);
	assert_int_equal(CONSUMER_UNKNOWN_ERROR, 130);
	assert_int_equal(CONSUMER_ERR_BUFFER_FLUSH_FAILED, 170);
	/* The wire sizes of the spec's reply table. */
	assert_int_equal(WIRE_STATUS_SIZE + WIRE_STATUS_CHANNEL_SIZE + WIRE_I32_SIZE +
				 WIRE_U64_SIZE + WIRE_CLOSE_CHUNK_HEADER_SIZE +
				 WIRE_METADATA_REQUEST_SIZE + WIRE_MONITOR_SAMPLE_SIZE,
			 4 + 16 + 4 + 8 + 8 + 32 + 32);
}

/* ---- validation ---------------------------------------------------------- */

/* cmd_type values outside the 2.13.9 enum are unknown. */
static void test_unknown_cmd_type(void **state)
{
	static const uint32_t bad[] = { 28, 29, 100, 0x7fffffff, 0xffffffff };
	uint8_t b[WIRE_MSG_SIZE] = { 0 };
	char text[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put32(b, 0, bad[i]);
		snprintf(text, sizeof(text), "unknown command type %" PRIu32, bad[i]);
		expect_decode_error(b, WIRE_ERR_UNKNOWN_CMD, text);
	}
}

/* Kernel-only and deprecated commands are refused by name. */
static void test_kernel_only_cmds(void **state)
{
	static const struct {
		uint32_t type;
		const char *name;
	} cases[] = {
		{ 0, "ADD_CHANNEL" },	{ 1, "ADD_STREAM" },	     { 2, "UPDATE_STREAM" },
		{ 3, "STOP" },		{ 15, "SNAPSHOT_METADATA" }, { 16, "STREAMS_SENT" },
	};
	uint8_t b[WIRE_MSG_SIZE] = { 0 };
	char text[96];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put32(b, 0, cases[i].type);
		snprintf(text, sizeof(text), "command %" PRIu32 " (%s) is not supported",
			 cases[i].type, cases[i].name);
		expect_decode_error(b, WIRE_ERR_UNSUPPORTED_CMD, text);
	}
}

/* Every string field must hold its NUL inside the field. */
static void test_unterminated_strings(void **state)
{
	static const struct {
		size_t off, len;
		const char *field;
	} ask[] = {
		{ WIRE_OFF_ASK_PATHNAME, 4096, "'pathname'" },
		{ WIRE_OFF_ASK_NAME, 256, "'name'" },
		{ WIRE_OFF_ASK_ROOT_SHM_PATH, 4096, "'root_shm_path'" },
		{ WIRE_OFF_ASK_SHM_PATH, 4096, "'shm_path'" },
	};
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ask) / sizeof(ask[0]); i++) {
		ask_bytes(b);
		memset(b + ask[i].off, 'a', ask[i].len);
		expect_decode_error(b, WIRE_ERR_UNTERMINATED, ask[i].field);
		assert_non_null(strstr(logged(), "ASK_CHANNEL_CREATION: string"));
		/* One byte shorter is fine. */
		b[ask[i].off + ask[i].len - 1] = '\0';
		expect_decode_ok(b, &c);
	}
	sample_of_type(CMD_SNAPSHOT_CHANNEL, &c);
	encode_ok(&c, b);
	memset(b + WIRE_OFF_SNAP_PATHNAME, 'a', WIRE_PATHNAME_LEN);
	expect_decode_error(b, WIRE_ERR_UNTERMINATED, "SNAPSHOT_CHANNEL: string 'pathname'");
	sample_of_type(CMD_CREATE_TRACE_CHUNK, &c);
	encode_ok(&c, b);
	b[WIRE_OFF_CREATE_OVERRIDE_NAME + WIRE_CHUNK_NAME_LEN - 1] = 'o';
	expect_decode_error(b, WIRE_ERR_UNTERMINATED, "'override_name'");
}

/* An encoder fed an unterminated array fills the field, so tests can craft one. */
static void test_encode_unterminated_crafting(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;

	(void)state;
	sample_ask(&c);
	memset(c.u.ask_channel.name, 'x', CMD_NAME_MAX);
	encode_ok(&c, b);
	assert_int_equal(b[WIRE_OFF_ASK_NAME + WIRE_NAME_LEN - 1], 'x');
	assert_int_equal(b[WIRE_OFF_ASK_UID], 0xe9); /* the next field is intact (1001) */
	expect_decode_error(b, WIRE_ERR_UNTERMINATED, "'name'");
}

/* Paths used under the chunk dir must not be absolute nor contain "..". */
static void test_path_escapes(void **state)
{
	static const char *const bad[] = {
		"/etc",	       "/",	     "..",	  "../x",	 "uid/../../x",
		"uid/1001/..", "a//../b",    "./..",	  "uid/1001/64-bit/..",
	};
	static const char *const good[] = {
		"",	"uid/1001/64-bit", "a/..b", "..a/b", "a/./b", "...", "a/...", "pid/x-1-2/",
	};
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c, snap;
	size_t i;

	(void)state;
	sample_of_type(CMD_SNAPSHOT_CHANNEL, &snap);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sample_ask(&c);
		strcpy(c.u.ask_channel.pathname, bad[i]);
		encode_ok(&c, b);
		expect_decode_error(b, WIRE_ERR_PATH_ESCAPES, bad[i]);
		assert_non_null(strstr(logged(), "path 'pathname'"));
		strcpy(snap.u.snapshot.pathname, bad[i]);
		encode_ok(&snap, b);
		expect_decode_error(b, WIRE_ERR_PATH_ESCAPES, "SNAPSHOT_CHANNEL: path 'pathname'");
	}
	expect_decode_error(b, WIRE_ERR_PATH_ESCAPES, "has a \"..\" component");
	strcpy(snap.u.snapshot.pathname, "/abs");
	encode_ok(&snap, b);
	expect_decode_error(b, WIRE_ERR_PATH_ESCAPES, "is absolute");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sample_ask(&c);
		strcpy(c.u.ask_channel.pathname, good[i]);
		encode_ok(&c, b);
		expect_decode_ok(b, &c);
		assert_string_equal(c.u.ask_channel.pathname, good[i]);
	}
}

/* The channel name becomes a file name: one plain component. */
static void test_bad_channel_name(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "/x", "x/" };
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sample_ask(&c);
		strcpy(c.u.ask_channel.name, bad[i]);
		encode_ok(&c, b);
		expect_decode_error(b, WIRE_ERR_BAD_NAME, "'name'");
		assert_non_null(strstr(logged(), "is not a plain file name"));
	}
	sample_ask(&c);
	strcpy(c.u.ask_channel.name, "..a");
	encode_ok(&c, b);
	expect_decode_ok(b, &c);
}

/* Optional fields: the is_set byte must be 0 or 1. */
static void test_bad_optional_flags(void **state)
{
	static const struct {
		enum cmd_type type;
		size_t off;
		const char *field;
	} cases[] = {
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_CHUNK_ID, "'chunk_id'" },
		{ CMD_CREATE_TRACE_CHUNK, WIRE_OFF_CREATE_RELAYD_ID, "'relayd_id'" },
		{ CMD_CREATE_TRACE_CHUNK, WIRE_OFF_CREATE_CREDS, "'credentials'" },
		{ CMD_CLOSE_TRACE_CHUNK, WIRE_OFF_CLOSE_RELAYD_ID, "'relayd_id'" },
		{ CMD_CLOSE_TRACE_CHUNK, WIRE_OFF_CLOSE_COMMAND, "'close_command'" },
		{ CMD_TRACE_CHUNK_EXISTS, WIRE_OFF_EXISTS_RELAYD_ID, "'relayd_id'" },
	};
	static const uint8_t values[] = { 2, 0x80, 0xff };
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i, v;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (v = 0; v < sizeof(values); v++) {
			sample_of_type(cases[i].type, &c);
			encode_ok(&c, b);
			b[cases[i].off] = values[v];
			expect_decode_error(b, WIRE_ERR_BAD_OPTIONAL, cases[i].field);
			assert_non_null(strstr(logged(), "expected 0 or 1"));
		}
	}
}

/* Boolean fields (u8 or u32 on the wire) must be 0 or 1. */
static void test_bad_flags(void **state)
{
	static const struct {
		enum cmd_type type;
		size_t off, width;
		const char *field;
	} cases[] = {
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_IS_LIVE, 1, "flag 'is_live' is 2" },
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_MONITOR, 4, "flag 'monitor' is 2" },
		{ CMD_SNAPSHOT_CHANNEL, WIRE_OFF_SNAP_USE_RELAYD, 4, "flag 'use_relayd' is 2" },
		{ CMD_SNAPSHOT_CHANNEL, WIRE_OFF_SNAP_METADATA, 4, "flag 'metadata' is 2" },
		{ CMD_ROTATE_CHANNEL, WIRE_OFF_ROTATE_METADATA, 4, "flag 'metadata' is 2" },
	};
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample_of_type(cases[i].type, &c);
		encode_ok(&c, b);
		if (cases[i].width == 1)
			b[cases[i].off] = 2;
		else
			put32(b, cases[i].off, 2);
		expect_decode_error(b, WIRE_ERR_BAD_FLAG, cases[i].field);
		if (cases[i].width == 4) {
			/* A u32 flag with a high byte set is not "1" either. */
			put32(b, cases[i].off, 0x01000001);
			expect_decode_error(b, WIRE_ERR_BAD_FLAG, "expected 0 or 1");
		}
	}
}

/* Enum fields outside their range. */
static void test_bad_enums(void **state)
{
	static const struct {
		enum cmd_type type;
		size_t off, width;
		int32_t value;
		const char *text;
	} cases[] = {
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_TYPE, 4, 2, "'type' is 2" },
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_TYPE, 4, -1, "'type' is -1" },
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_OVERWRITE, 4, 2, "'overwrite' is 2" },
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_OVERWRITE, 4, -2, "'overwrite' is -2" },
		{ CMD_ASK_CHANNEL, WIRE_OFF_ASK_OUTPUT, 4, 2, "'output' is 2" },
		{ CMD_ADD_RELAYD_SOCKET, WIRE_OFF_RELAYD_TYPE, 4, 2, "'type' is 2" },
		{ CMD_ADD_RELAYD_SOCKET, WIRE_OFF_RELAYD_PROTO, 1, 2,
		  "'relayd_socket_protocol' is 2" },
		{ CMD_CLOSE_TRACE_CHUNK, WIRE_OFF_CLOSE_COMMAND + 1, 4, 3, "'close_command' is 3" },
		{ CMD_CLOSE_TRACE_CHUNK, WIRE_OFF_CLOSE_COMMAND + 1, 4, -1,
		  "'close_command' is 4294967295" },
	};
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample_of_type(cases[i].type, &c);
		encode_ok(&c, b);
		if (cases[i].width == 1)
			b[cases[i].off] = (uint8_t)cases[i].value;
		else
			put32(b, cases[i].off, (uint32_t)cases[i].value);
		expect_decode_error(b, WIRE_ERR_BAD_ENUM, cases[i].text);
	}
	/* An unset close_command ignores its value bytes. */
	sample_of_type(CMD_CLOSE_TRACE_CHUNK, &c);
	c.u.close_chunk.close_command_set = false;
	encode_ok(&c, b);
	put32(b, WIRE_OFF_CLOSE_COMMAND + 1, 77);
	expect_decode_ok(b, &c);
	assert_false(c.u.close_chunk.close_command_set);
	assert_int_equal(c.u.close_chunk.close_command, 0);
}

/* Ring-buffer geometry: both sizes are non-zero powers of two. */
static void test_bad_geometry(void **state)
{
	static const uint64_t bad[] = { 0, 3, 6, 4097, 524289, (1ULL << 63) + 1, UINT64_MAX };
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ask_bytes(b);
		put64(b, WIRE_OFF_ASK_NUM_SUBBUF, bad[i]);
		expect_decode_error(b, WIRE_ERR_BAD_GEOMETRY, "'num_subbuf'");
		ask_bytes(b);
		put64(b, WIRE_OFF_ASK_SUBBUF_SIZE, bad[i]);
		expect_decode_error(b, WIRE_ERR_BAD_GEOMETRY, "'subbuf_size'");
	}
	assert_non_null(strstr(logged(), "is not a power of two"));
	ask_bytes(b);
	put64(b, WIRE_OFF_ASK_NUM_SUBBUF, 1);
	put64(b, WIRE_OFF_ASK_SUBBUF_SIZE, 1);
	expect_decode_ok(b, &c);
}

/* Values no session daemon can mean: metadata range overflow, timeout < -1. */
static void test_bad_ranges(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;

	(void)state;
	sample_of_type(CMD_PUSH_METADATA, &c);
	c.u.push_metadata.len = 6; /* offset UINT64_MAX - 5 */
	encode_ok(&c, b);
	expect_decode_error(b, WIRE_ERR_BAD_RANGE, "'target_offset' 18446744073709551610 + 'len' 6");
	c.u.push_metadata.len = 5; /* ends exactly at UINT64_MAX */
	encode_ok(&c, b);
	expect_decode_ok(b, &c);

	ask_bytes(b);
	put64(b, WIRE_OFF_ASK_BLOCKING_TIMEOUT, (uint64_t)-2);
	expect_decode_error(b, WIRE_ERR_BAD_RANGE, "'blocking_timeout' -2 is below -1");
	put64(b, WIRE_OFF_ASK_BLOCKING_TIMEOUT, (uint64_t)INT64_MIN);
	expect_decode_error(b, WIRE_ERR_BAD_RANGE, "'blocking_timeout'");
	put64(b, WIRE_OFF_ASK_BLOCKING_TIMEOUT, (uint64_t)INT64_MAX);
	expect_decode_ok(b, &c);
	assert_int_equal(c.u.ask_channel.blocking_timeout_us, INT64_MAX);
}

/*
 * Decoding is canonical: bytes after a string's NUL and the value of an
 * unset optional are ignored (the struct holds zeros), so re-encoding gives
 * the zero-filled form a session daemon sends.
 */
static void test_canonical_decode(void **state)
{
	uint8_t b[WIRE_MSG_SIZE], clean[WIRE_MSG_SIZE], again[WIRE_MSG_SIZE];
	struct cmd c, ref;

	(void)state;
	ask_bytes(clean);
	memcpy(b, clean, sizeof(b));
	memset(b + WIRE_OFF_ASK_PATHNAME + 20, 'z', 100); /* after "uid/1001/64-bit\0" */
	memset(b + WIRE_OFF_ASK_NAME + 10, 'z', 200);
	b[WIRE_OFF_ASK_CHUNK_ID] = 0;			/* unset, value bytes left */
	put64(b, WIRE_OFF_ASK_CHUNK_ID + 1, 1234);
	expect_decode_ok(b, &c);
	assert_string_equal(c.u.ask_channel.pathname, "uid/1001/64-bit");
	assert_int_equal(c.u.ask_channel.pathname[100], 0);
	assert_false(c.u.ask_channel.chunk_id.set);
	assert_int_equal(c.u.ask_channel.chunk_id.value, 0);
	encode_ok(&c, again);
	clean[WIRE_OFF_ASK_CHUNK_ID] = 0;
	assert_memory_equal(again, clean, sizeof(clean));

	/* Unused bytes past a small command's fields are ignored too. */
	sample_of_type(CMD_FLUSH_CHANNEL, &ref);
	encode_ok(&ref, b);
	memset(b + 12, 0x5a, 100);
	expect_decode_ok(b, &c);
	assert_memory_equal(&c, &ref, sizeof(c));

	/* Unset credentials ignore their value bytes. */
	sample_of_type(CMD_CREATE_TRACE_CHUNK, &ref);
	ref.u.create_chunk.creds.set = false;
	ref.u.create_chunk.creds.value.uid = 0;
	ref.u.create_chunk.creds.value.gid = 0;
	encode_ok(&ref, b);
	put32(b, WIRE_OFF_CREATE_CREDS + 1, 99);
	expect_decode_ok(b, &c);
	assert_memory_equal(&c, &ref, sizeof(c));
}

/* The metadata socket's reply decoder: PUSH_METADATA, "no registry", else refused. */
static void test_metadata_reply_decoder(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;

	(void)state;
	memset(b, 0, sizeof(b));
	put32(b, 0, 12);
	assert_int_equal(wire_decode_metadata_reply(b, &c), 0);
	assert_int_equal(c.type, CMD_METADATA_NO_REGISTRY);
	/* The same bytes on the command socket are SETUP_METADATA of key 0. */
	expect_decode_ok(b, &c);
	assert_int_equal(c.type, CMD_SETUP_METADATA);

	sample_of_type(CMD_PUSH_METADATA, &c);
	encode_ok(&c, b);
	assert_int_equal(wire_decode_metadata_reply(b, &c), 0);
	assert_int_equal(c.type, CMD_PUSH_METADATA);

	log_reset();
	sample_of_type(CMD_CLOSE_METADATA, &c);
	encode_ok(&c, b);
	assert_int_equal(wire_decode_metadata_reply(b, &c), WIRE_ERR_UNEXPECTED_CMD);
	assert_non_null(strstr(logged(), "expected PUSH_METADATA or no-registry, got CLOSE_METADATA"));
	put32(b, 0, 99);
	assert_int_equal(wire_decode_metadata_reply(b, &c), WIRE_ERR_UNKNOWN_CMD);
	sample_of_type(CMD_PUSH_METADATA, &c);
	encode_ok(&c, b);
	put64(b, WIRE_OFF_PUSH_LEN, UINT64_MAX);
	assert_int_equal(wire_decode_metadata_reply(b, &c), WIRE_ERR_BAD_RANGE);
	expect_assert_failure(wire_decode_metadata_reply(NULL, &c));
	expect_assert_failure(wire_decode_metadata_reply(b, NULL));
}

/* Structs the wire cannot represent are refused by the encoder. */
static void test_encode_errors(void **state)
{
	uint8_t b[WIRE_MSG_SIZE];
	struct cmd c;

	(void)state;
	log_reset();
	memset(&c, 0, sizeof(c));
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL); /* CMD_INVALID */
	c.type = CMD_TYPE_COUNT;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	c.type = (enum cmd_type)-1;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "cannot encode command type -1"));

	sample_ask(&c);
	c.u.ask_channel.relayd_id = (struct cmd_opt_u64){ true, WIRE_NO_RELAYD };
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "is the wire's \"no relayd\" value"));
	sample_ask(&c);
	c.u.ask_channel.type = (enum cmd_chan_type)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_ask(&c);
	c.u.ask_channel.mode = (enum cmd_buffer_mode)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_ask(&c);
	c.u.ask_channel.output = (enum cmd_output)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_of_type(CMD_ADD_RELAYD_SOCKET, &c);
	c.u.relayd_sock.type = (enum cmd_relayd_sock_type)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_of_type(CMD_ADD_RELAYD_SOCKET, &c);
	c.u.relayd_sock.proto = (enum cmd_sock_proto)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_of_type(CMD_CLOSE_TRACE_CHUNK, &c);
	c.u.close_chunk.close_command = (enum cmd_close_command)9;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_of_type(CMD_SNAPSHOT_CHANNEL, &c);
	c.u.snapshot.relayd_id.value = WIRE_NO_RELAYD;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	sample_of_type(CMD_ROTATE_CHANNEL, &c);
	c.u.rotate.relayd_id.value = WIRE_NO_RELAYD;
	assert_int_equal(wire_encode(&c, b), WIRE_ERR_INVAL);
	/* The same value in an optional (is_set byte) field is representable. */
	sample_of_type(CMD_TRACE_CHUNK_EXISTS, &c);
	c.u.chunk_exists.relayd_id.value = WIRE_NO_RELAYD;
	encode_ok(&c, b);
}

/* A NULL argument is a caller's bug: it stops at an assertion, never dereferenced. */
static void test_null_args(void **state)
{
	uint8_t b[WIRE_MSG_SIZE] = { 0 };
	struct reply_close_chunk r = { 0, "" };
	struct cmd c;
	size_t len;

	(void)state;
	expect_assert_failure(wire_decode(NULL, &c));
	expect_assert_failure(wire_decode(b, NULL));
	expect_assert_failure(wire_encode(NULL, b));
	sample_ask(&c);
	expect_assert_failure(wire_encode(&c, NULL));
	expect_assert_failure(wire_encode_close_chunk_reply(NULL, b, sizeof(b), &len));
	expect_assert_failure(wire_encode_close_chunk_reply(&r, NULL, sizeof(b), &len));
	expect_assert_failure(wire_encode_close_chunk_reply(&r, b, sizeof(b), NULL));
	expect_assert_failure(wire_decode_close_chunk_reply(NULL, 9, &r));
	expect_assert_failure(wire_decode_close_chunk_reply(b, 9, NULL));
}

/* CLOSE_TRACE_CHUNK reply: header + path, with the session daemon's limits. */
static void test_close_chunk_reply(void **state)
{
	uint8_t b[WIRE_CLOSE_CHUNK_HEADER_SIZE + WIRE_CLOSE_CHUNK_PATH_MAX + 8];
	struct reply_close_chunk r, d;
	size_t len = 0;
	int32_t code;
	uint32_t pl;

	(void)state;
	/* Local: empty path -> 00000000 01000000 00 (as captured). */
	r = (struct reply_close_chunk){ 0, "" };
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, sizeof(b), &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(b, "\0\0\0\0\1\0\0\0\0", 9);
	/* Relayd path, non-zero code. */
	r.code = CONSUMER_CLOSE_TRACE_CHUNK_FAILED;
	strcpy(r.path, "vm/s1-20261126-101741");
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, sizeof(b), &len), 0);
	assert_int_equal(len, 8 + 22);
	assert_int_equal(wire_decode_close_chunk_reply(b, len, &d), 0);
	assert_int_equal(d.code, 124);
	assert_string_equal(d.path, "vm/s1-20261126-101741");
	/* Exactly the size. */
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, 30, &len), 0);

	log_reset();
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, 29, &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "needs 30 bytes, buffer has 29"));
	memset(r.path, 'a', sizeof(r.path) - 1);
	r.path[sizeof(r.path) - 1] = '\0'; /* length 4095: path_length 4096 refused */
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, sizeof(b), &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "too long"));
	r.path[sizeof(r.path) - 1] = 'a';
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, sizeof(b), &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "not terminated"));
	r.path[4094] = '\0'; /* length 4094: path_length 4095, the maximum */
	assert_int_equal(wire_encode_close_chunk_reply(&r, b, sizeof(b), &len), 0);
	assert_int_equal(wire_decode_close_chunk_reply(b, len, &d), 0);
	assert_int_equal(strlen(d.path), 4094);

	/* Decoder failures. */
	wire_encode_close_chunk_header(0, 0, b);
	assert_int_equal(wire_decode_close_chunk_header(b, &code, &pl), WIRE_ERR_BAD_REPLY);
	wire_encode_close_chunk_header(0, 4096, b);
	assert_int_equal(wire_decode_close_chunk_header(b, &code, &pl), WIRE_ERR_BAD_REPLY);
	assert_non_null(strstr(logged(), "path_length 4096 not in [1, 4096)"));
	assert_int_equal(wire_decode_close_chunk_reply(b, 7, &d), WIRE_ERR_BAD_REPLY);
	assert_int_equal(wire_decode_close_chunk_reply(b, 9, &d), WIRE_ERR_BAD_REPLY);
	wire_encode_close_chunk_header(0, 3, b);
	memcpy(b + 8, "ab\0", 3);
	assert_int_equal(wire_decode_close_chunk_reply(b, 10, &d), WIRE_ERR_BAD_REPLY);
	assert_non_null(strstr(logged(), "10 bytes, header announces 3 path bytes"));
	assert_int_equal(wire_decode_close_chunk_reply(b, 11, &d), 0);
	memcpy(b + 8, "abc", 3);
	assert_int_equal(wire_decode_close_chunk_reply(b, 11, &d), WIRE_ERR_BAD_REPLY);
	memcpy(b + 8, "a\0\0", 3);
	assert_int_equal(wire_decode_close_chunk_reply(b, 11, &d), WIRE_ERR_BAD_REPLY);
	assert_non_null(strstr(logged(), "not a single NUL-terminated string"));
}

/* The fixed-size replies, byte by byte. */
static void test_fixed_replies(void **state)
{
	struct reply_channel rc = { CONSUMER_CHANNEL_FAIL, 0x0102030405060708ULL, 0x0a0b0c0d }, rc2;
	struct metadata_request mr = { 1, 2, 64, 1001, 0x1122334455667788ULL }, mr2;
	struct monitor_sample ms = { 1, 2, 3, UINT64_MAX }, ms2;
	uint8_t b[32];

	(void)state;
	wire_encode_status(CONSUMER_UNKNOWN_TRACE_CHUNK, b);
	assert_memory_equal(b, "\x80\0\0\0", 4);
	assert_int_equal(wire_decode_status(b), 128);
	wire_encode_status(-1, b);
	assert_int_equal(wire_decode_status(b), -1);

	wire_encode_status_channel(&rc, b);
	assert_memory_equal(b, "\x76\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01\x0d\x0c\x0b\x0a", 16);
	wire_decode_status_channel(b, &rc2);
	assert_int_equal(rc2.code, rc.code);
	assert_true(rc2.key == rc.key);
	assert_int_equal(rc2.stream_count, rc.stream_count);

	wire_encode_i32(1, b);
	assert_memory_equal(b, "\1\0\0\0", 4);
	assert_int_equal(wire_decode_i32(b), 1);
	wire_encode_u64(0x8000000000000001ULL, b);
	assert_memory_equal(b, "\1\0\0\0\0\0\0\x80", 8);
	assert_true(wire_decode_u64(b) == 0x8000000000000001ULL);

	wire_encode_metadata_request(&mr, b);
	assert_int_equal(b[16], 64);
	assert_int_equal(b[20], 0xe9);
	assert_int_equal(b[21], 0x03);
	assert_int_equal(b[24], 0x88);
	wire_decode_metadata_request(b, &mr2);
	assert_memory_equal(&mr, &mr2, sizeof(mr));

	wire_encode_monitor_sample(&ms, b);
	assert_int_equal(b[8], 2);
	assert_int_equal(b[16], 3);
	assert_memory_equal(b + 24, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	wire_decode_monitor_sample(b, &ms2);
	assert_memory_equal(&ms, &ms2, sizeof(ms));
}

/* wire_encode_reply: every kind in its exact bytes, the same as the per-shape encoders. */
static void test_encode_reply_kinds(void **state)
{
	static char long_path[WIRE_CLOSE_CHUNK_PATH_MAX + 1];
	struct reply r = { .kind = REPLY_STATUS, .code = CONSUMER_CHAN_NOT_FOUND };
	uint8_t b[WIRE_REPLY_MAX];
	size_t len = 0;

	(void)state;
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_STATUS_SIZE);
	assert_memory_equal(b, "\x77\0\0\0", 4);

	/* 126 / 128 are answers, but their bytes are a plain status. */
	r = (struct reply){ .kind = REPLY_CHUNK_EXISTS, .code = CONSUMER_TRACE_CHUNK_EXISTS_LOCAL };
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_STATUS_SIZE);
	assert_memory_equal(b, "\x7e\0\0\0", 4);

	r = (struct reply){ .kind = REPLY_CHANNEL, .code = CONSUMER_CHANNEL_FAIL };
	r.u.channel.key = 0x0102030405060708ULL;
	r.u.channel.stream_count = 0x0a0b0c0d;
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_STATUS_CHANNEL_SIZE);
	assert_memory_equal(b, "\x76\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01\x0d\x0c\x0b\x0a", 16);

	r = (struct reply){ .kind = REPLY_DATA_PENDING, .u.pending = true };
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_I32_SIZE);
	assert_memory_equal(b, "\1\0\0\0", 4);
	r.u.pending = false;
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_memory_equal(b, "\0\0\0\0", 4);

	r = (struct reply){ .kind = REPLY_COUNT, .u.count = 0x8000000000000001ULL };
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_U64_SIZE);
	assert_memory_equal(b, "\1\0\0\0\0\0\0\x80", 8);

	/* CLOSE_TRACE_CHUNK: {code, path_length counting the NUL} then the path. */
	r = (struct reply){ .kind = REPLY_CLOSE_CHUNK, .code = CONSUMER_UNKNOWN_TRACE_CHUNK,
			    .u.path = "" };
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_CLOSE_CHUNK_HEADER_SIZE + 1);
	assert_memory_equal(b, "\x80\0\0\0\1\0\0\0\0", 9);
	r.u.path = "a/b";
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_CLOSE_CHUNK_HEADER_SIZE + 4);
	assert_memory_equal(b, "\x80\0\0\0\4\0\0\0a/b\0", 12);

	/* The longest path the session daemon takes fills WIRE_REPLY_MAX exactly. */
	memset(long_path, 'p', WIRE_CLOSE_CHUNK_PATH_MAX - 2);
	r.u.path = long_path;
	assert_int_equal(wire_encode_reply(&r, b, &len), 0);
	assert_int_equal(len, WIRE_REPLY_MAX);
	assert_int_equal(b[WIRE_REPLY_MAX - 1], 0);
	long_path[WIRE_CLOSE_CHUNK_PATH_MAX - 2] = 'p';
	assert_int_equal(wire_encode_reply(&r, b, &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "close-chunk reply path is too long"));
	memset(long_path, 'p', WIRE_CLOSE_CHUNK_PATH_MAX);
	assert_int_equal(wire_encode_reply(&r, b, &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "close-chunk reply path is not terminated"));
	r.u.path = NULL;
	assert_int_equal(wire_encode_reply(&r, b, &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "close-chunk reply without a path"));

	r = (struct reply){ .kind = (enum reply_kind)99 };
	assert_int_equal(wire_encode_reply(&r, b, &len), WIRE_ERR_INVAL);
	assert_non_null(strstr(logged(), "cannot encode reply kind 99"));
	expect_assert_failure(wire_encode_reply(NULL, b, &len));
	expect_assert_failure(wire_encode_reply(REPLY_ST(0), NULL, &len));
	expect_assert_failure(wire_encode_reply(REPLY_ST(0), b, NULL));
}

/*
 * wire_decode_error_reply: every cmd_type gets the error in the shape the
 * session daemon waits for; the bytes are what it reads.
 */
static void test_decode_error_replies(void **state)
{
	static const struct {
		uint32_t type;
		enum reply_kind kind;
		int32_t code;
		size_t len;
		const char *bytes;
	} want[] = {
		{ WIRE_CMD_ADD_CHANNEL, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_ADD_STREAM, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_UPDATE_STREAM, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_STOP, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_ADD_RELAYD_SOCKET, REPLY_STATUS, 102, 4, "\x66\0\0\0" },
		{ WIRE_CMD_DESTROY_RELAYD, REPLY_STATUS, 117, 4, "\x75\0\0\0" },
		{ WIRE_CMD_DATA_PENDING, REPLY_DATA_PENDING, 125, 4, "\0\0\0\0" },
		{ WIRE_CMD_ASK_CHANNEL_CREATION, REPLY_CHANNEL, 118, 16,
		  "\x76\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01\0\0\0\0" },
		{ WIRE_CMD_GET_CHANNEL, REPLY_STATUS, 119, 4, "\x77\0\0\0" },
		{ WIRE_CMD_DESTROY_CHANNEL, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_PUSH_METADATA, REPLY_STATUS, 115, 4, "\x73\0\0\0" },
		{ WIRE_CMD_CLOSE_METADATA, REPLY_STATUS, 59, 4, "\x3b\0\0\0" },
		{ WIRE_CMD_SETUP_METADATA, REPLY_STATUS, 115, 4, "\x73\0\0\0" },
		{ WIRE_CMD_FLUSH_CHANNEL, REPLY_STATUS, 59, 4, "\x3b\0\0\0" },
		{ WIRE_CMD_SNAPSHOT_CHANNEL, REPLY_STATUS, 122, 4, "\x7a\0\0\0" },
		{ WIRE_CMD_SNAPSHOT_METADATA, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_STREAMS_SENT, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_DISCARDED_EVENTS, REPLY_COUNT, 125, 8, "\0\0\0\0\0\0\0\0" },
		{ WIRE_CMD_LOST_PACKETS, REPLY_COUNT, 125, 8, "\0\0\0\0\0\0\0\0" },
		{ WIRE_CMD_CLEAR_QUIESCENT_CHANNEL, REPLY_STATUS, 59, 4, "\x3b\0\0\0" },
		{ WIRE_CMD_SET_CHANNEL_MONITOR_PIPE, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_ROTATE_CHANNEL, REPLY_STATUS, 121, 4, "\x79\0\0\0" },
		{ WIRE_CMD_INIT, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_CREATE_TRACE_CHUNK, REPLY_STATUS, 123, 4, "\x7b\0\0\0" },
		{ WIRE_CMD_CLOSE_TRACE_CHUNK, REPLY_CLOSE_CHUNK, 124, 9, "\x7c\0\0\0\1\0\0\0\0" },
		{ WIRE_CMD_TRACE_CHUNK_EXISTS, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ WIRE_CMD_CLEAR_CHANNEL, REPLY_STATUS, 116, 4, "\x74\0\0\0" },
		{ WIRE_CMD_OPEN_CHANNEL_PACKETS, REPLY_STATUS, 130, 4, "\x82\0\0\0" },
		{ WIRE_CMD_MAX + 1, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
		{ UINT32_MAX, REPLY_STATUS, 125, 4, "\x7d\0\0\0" },
	};
	uint8_t b[WIRE_MSG_SIZE], out[WIRE_REPLY_MAX];
	char text[96];
	struct reply r;
	size_t i, len;

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), WIRE_CMD_MAX + 3);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* Garbage everywhere: only cmd_type (and ASK's raw key) may matter. */
		memset(b, 0xa5, sizeof(b));
		put32(b, WIRE_OFF_CMD_TYPE, want[i].type);
		put64(b, WIRE_OFF_ASK_KEY, 0x0102030405060708ULL);
		wire_decode_error_reply(b, WIRE_ERR_BAD_FLAG, &r);
		assert_int_equal(r.kind, want[i].kind);
		assert_int_equal(r.code, want[i].code);
		assert_int_equal(wire_encode_reply(&r, out, &len), 0);
		assert_int_equal(len, want[i].len);
		assert_memory_equal(out, want[i].bytes, len);
		snprintf(text, sizeof(text),
			 "undecodable command (cmd_type %" PRIu32 "): WIRE_ERR_BAD_FLAG", want[i].type);
		assert_non_null(strstr(logged(), text));
	}
}

/* Names for log lines: every enum value has one, unknown ones are "?". */
static void test_names(void **state)
{
	static const int32_t codes[] = { 0,   12,  59,  100, 101, 102, 103, 104, 105, 106, 107, 108,
					 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120,
					 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 170 };
	enum cmd_type t;
	size_t i, j;
	int e;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_string_not_equal(wire_code_name(codes[i]), "?");
		for (j = 0; j < i; j++)
			assert_string_not_equal(wire_code_name(codes[i]), wire_code_name(codes[j]));
	}
	assert_string_equal(wire_code_name(CONSUMER_CHAN_NOT_FOUND), "CHAN_NOT_FOUND");
	assert_string_equal(wire_code_name(131), "?");
	assert_string_equal(wire_code_name(-1), "?");
	for (e = WIRE_ERR_UNEXPECTED_CMD; e <= WIRE_OK; e++)
		assert_string_not_equal(wire_strerror(e), "?");
	assert_string_equal(wire_strerror(WIRE_ERR_PATH_ESCAPES), "WIRE_ERR_PATH_ESCAPES");
	assert_string_equal(wire_strerror(1), "?");
	assert_string_equal(wire_strerror(-99), "?");
	for (t = CMD_INVALID; t < CMD_TYPE_COUNT; t++)
		assert_string_not_equal(wire_cmd_name(t), "?");
	assert_string_equal(wire_cmd_name(CMD_ASK_CHANNEL), "ASK_CHANNEL_CREATION");
	assert_string_equal(wire_cmd_name(CMD_TYPE_COUNT), "?");
}

/* ---- random mutations --------------------------------------------------- */

/* Offsets worth hitting: the start of every field of the bigger layouts. */
static const size_t hot_offsets[] = {
	0,    4,    12,	  13,	20,   24,   25,	  28,	29,   32,   33,	  36,	37,   38,
	41,   45,   49,	  57,	268,  276,  284,  292,	293,  297,  4100, 4104, 4108, 4116,
	4124, 4152, 4153, 4408, 4409, 4417, 4425, 4433, 4434, 4442, 4458, 4462, 4470, 4474,
	4482, 4486, 4490, 4497, 4498, 8593, 8594, 12689,
};

/* String fields, whose NUL a mutation may overwrite all at once. */
static const struct {
	size_t off, len;
} string_fields[] = {
	{ WIRE_OFF_ASK_PATHNAME, WIRE_PATHNAME_LEN },	  { WIRE_OFF_ASK_NAME, WIRE_NAME_LEN },
	{ WIRE_OFF_ASK_ROOT_SHM_PATH, WIRE_PATHNAME_LEN }, { WIRE_OFF_ASK_SHM_PATH, WIRE_PATHNAME_LEN },
	{ WIRE_OFF_SNAP_PATHNAME, WIRE_PATHNAME_LEN },	  { WIRE_OFF_CREATE_OVERRIDE_NAME, WIRE_CHUNK_NAME_LEN },
};

/* Integers that sit on the edges of the validation rules. */
static const uint64_t edge_values[] = {
	0, 1, 2, 3, 4096, 4097, UINT64_MAX, UINT64_MAX - 1, 1ULL << 63, (uint64_t)INT64_MAX,
};

/* Apply one random mutation to a message. */
static void mutate(struct sim_rand *r, uint8_t *b)
{
	size_t off, i;

	switch (sim_rand_below(r, 6)) {
	case 0:
		off = sim_rand_below(r, 64);
		break;
	case 1:
		off = hot_offsets[sim_rand_below(r, sizeof(hot_offsets) / sizeof(hot_offsets[0]))] +
		      sim_rand_below(r, 9);
		break;
	case 2:
		off = sim_rand_below(r, WIRE_MSG_SIZE);
		break;
	case 3:
		/* Shift the command type: decode a layout with another one's bytes. */
		put32(b, 0, (uint32_t)sim_rand_below(r, 32));
		return;
	case 4:
		/* An edge value over a whole (possibly misaligned) u64 field. */
		off = hot_offsets[sim_rand_below(r, sizeof(hot_offsets) / sizeof(hot_offsets[0]))];
		if (off + 8 <= WIRE_MSG_SIZE)
			put64(b, off, edge_values[sim_rand_below(r, sizeof(edge_values) /
							       sizeof(edge_values[0]))]);
		return;
	default:
		/* Overwrite a string field, its NUL included, with one character. */
		i = sim_rand_below(r, sizeof(string_fields) / sizeof(string_fields[0]));
		memset(b + string_fields[i].off, "a/."[sim_rand_below(r, 3)], string_fields[i].len);
		return;
	}
	if (off >= WIRE_MSG_SIZE)
		off = WIRE_MSG_SIZE - 1;
	switch (sim_rand_below(r, 5)) {
	case 0:
		b[off] = (uint8_t)sim_rand_next(r);
		break;
	case 1:
		b[off] ^= (uint8_t)(1u << sim_rand_below(r, 8));
		break;
	case 2:
		b[off] = 0;
		break;
	case 3:
		b[off] = 0xff;
		break;
	default:
		b[off] = (uint8_t)"./"[sim_rand_below(r, 2)];
		break;
	}
}

/*
 * 20000 seeded mutations of real messages: decode never crashes; it either
 * fails with a documented error or succeeds, and then re-encoding and
 * decoding again gives the same struct (and the same bytes once more).
 */
static void test_random_mutations(void **state)
{
	enum { ITERATIONS = 20000 };
	const uint8_t *pool[256], *asks[64];
	size_t npool = 0, nasks = 0, s, i, ok = 0, bad = 0, seen_err[14] = { 0 }, kinds = 0;
	uint8_t *b = malloc(WIRE_MSG_SIZE), *e1 = malloc(WIRE_MSG_SIZE),
		*e2 = malloc(WIRE_MSG_SIZE);
	struct cmd *c1 = malloc(sizeof(struct cmd)), *c2 = malloc(sizeof(struct cmd));
	struct sim_rand r;

	(void)state;
	need_captures();
	assert_true(b && e1 && e2 && c1 && c2);
	for (s = 0; s < CAPTURE_SCENARIO_COUNT; s++) {
		const struct capture_msg *m;
		size_t pos = 0;

		while ((m = capture_next_command(&caps[s], &pos, CAPTURE_SOCK_COMMAND)) &&
		       npool < sizeof(pool) / sizeof(pool[0])) {
			pool[npool++] = m->bytes;
			if (m->bytes[0] == WIRE_CMD_ASK_CHANNEL_CREATION &&
			    nasks < sizeof(asks) / sizeof(asks[0]))
				asks[nasks++] = m->bytes;
		}
	}
	assert_true(npool > 100);
	assert_int_equal(nasks, 20);
	sim_rand_seed(&r, 0x5eed0f3c0dec);
	log_level = -1; /* 10^4 error lines would only slow this down */
	for (i = 0; i < ITERATIONS; i++) {
		size_t n = 1 + sim_rand_below(&r, 4), k;
		int ret;

		/* ASK has most of the rules: give it a third of the runs. */
		if (sim_rand_below(&r, 3) == 0)
			memcpy(b, asks[sim_rand_below(&r, nasks)], WIRE_MSG_SIZE);
		else
			memcpy(b, pool[sim_rand_below(&r, npool)], WIRE_MSG_SIZE);
		for (k = 0; k < n; k++)
			mutate(&r, b);
		ret = wire_decode(b, c1);
		if (ret != 0) {
			if (ret < WIRE_ERR_UNEXPECTED_CMD || ret > WIRE_ERR_UNKNOWN_CMD)
				fail_msg("iteration %zu: undocumented error %d", i, ret);
			seen_err[-ret]++;
			bad++;
			continue;
		}
		ok++;
		if (wire_encode(c1, e1) != 0 || wire_decode(e1, c2) != 0)
			fail_msg("iteration %zu: %s decoded but does not re-encode", i,
				 wire_cmd_name(c1->type));
		if (memcmp(c1, c2, sizeof(*c1)) != 0)
			fail_msg("iteration %zu: %s changes through encode/decode", i,
				 wire_cmd_name(c1->type));
		assert_int_equal(wire_encode(c2, e2), 0);
		assert_memory_equal(e1, e2, WIRE_MSG_SIZE);
	}
	log_level = 0;
	for (i = 0; i < sizeof(seen_err) / sizeof(seen_err[0]); i++) {
		if (seen_err[i])
			print_message("  %s: %zu\n", wire_strerror(-(int)i), seen_err[i]);
		kinds += seen_err[i] != 0;
	}
	print_message("mutations: %zu decoded, %zu refused, %zu distinct errors\n", ok, bad, kinds);
	assert_int_equal(ok + bad, ITERATIONS);
	assert_true(ok > 2000);
	assert_true(bad > 2000);
	/* Every error bytes can cause in wire_decode (not INVAL, BAD_REPLY, UNEXPECTED_CMD). */
	assert_int_equal(kinds, 10);
	free(b);
	free(e1);
	free(e2);
	free(c1);
	free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_captures_commands_roundtrip),
		T(test_captures_command_names),
		T(test_captures_fields_match_transcripts),
		T(test_captures_known_values),
		T(test_captures_replies_roundtrip),
		T(test_encode_decode_every_type),
		T(test_layout_literal_offsets),
		T(test_plain_relayd_id),
		T(test_encode_zero_fills),
		T(test_no_read_past_end),
		T(test_consumer_code_values),
		T(test_unknown_cmd_type),
		T(test_kernel_only_cmds),
		T(test_unterminated_strings),
		T(test_encode_unterminated_crafting),
		T(test_path_escapes),
		T(test_bad_channel_name),
		T(test_bad_optional_flags),
		T(test_bad_flags),
		T(test_bad_enums),
		T(test_bad_geometry),
		T(test_bad_ranges),
		T(test_canonical_decode),
		T(test_metadata_reply_decoder),
		T(test_encode_errors),
		T(test_null_args),
		T(test_close_chunk_reply),
		T(test_fixed_replies),
		T(test_encode_reply_kinds),
		T(test_decode_error_replies),
		T(test_names),
		T(test_random_mutations),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
