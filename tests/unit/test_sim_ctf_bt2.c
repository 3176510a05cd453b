/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_sim_ctf_bt2.c - the simulated tracer's CTF is real CTF: a trace
 * directory written with sim_ctf.h (packetized metadata over several
 * packets, four stream files of two stream classes on two CPUs, multi-page
 * packets, discarded events) is read by babeltrace2, which must print every
 * event, in timestamp order, with its payload, and must refuse a trace with a
 * corrupted magic.
 *
 * babeltrace2 is a required test dependency (ci/install-deps.sh installs
 * it): when it is missing these tests fail, they do not skip.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim_ctf.h"

#define PAGE 4096u
/* Metadata text per packet: small enough that the TSDL needs several packets. */
#define META_CHUNK 700u
#define MAX_EVENTS 1024u

static const uint8_t trace_uuid[16] = {
	0x5c, 0x1e, 0xce, 0x00, 0x12, 0x34, 0x45, 0x67,
	0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0,
};

static const uint32_t stream_ids[] = { 0, 1 };
#define NR_STREAMS ((unsigned int)(sizeof(stream_ids) / sizeof(stream_ids[0])))

static const struct sim_ctf_event_class classes[] = {
	{ .id = 1, .name = "sim:tick", .nr_fields = 1, .field_names = { "count" } },
	{ .id = 2, .name = "sim:pair", .nr_fields = 2, .field_names = { "a", "b" } },
	{ .id = 3, .name = "sim:empty", .nr_fields = 0 },
	{ .id = 4, .name = "sim:quad", .nr_fields = 4, .field_names = { "w", "x", "y", "z" } },
};
#define NR_CLASSES ((unsigned int)(sizeof(classes) / sizeof(classes[0])))

/* One file per (stream class, cpu), named like lttng's "<channel>_<cpu>". */
static const struct stream_file {
	const char *name;
	uint32_t stream_id;
	uint32_t cpu;
} files[] = {
	{ "chan0_0", 0, 0 },
	{ "chan0_1", 0, 1 },
	{ "chan1_0", 1, 0 },
	{ "chan1_1", 1, 1 },
};
#define NR_FILES ((unsigned int)(sizeof(files) / sizeof(files[0])))
#define NR_PACKETS 3u

/* The stream file and packet whose events_discarded counter goes up, and by how much. */
#define LOSSY_FILE 0u
#define LOSSY_PACKET 1u
#define LOST_EVENTS 7u

struct expected_event {
	uint64_t ts;
	const struct sim_ctf_event_class *cls;
	uint64_t fields[SIM_CTF_MAX_FIELDS];
};

struct trace_fixture {
	char root[64];              /* mkdtemp() dir: trace/ and babeltrace2's stderr */
	char dir[96];               /* the trace directory given to babeltrace2 */
	struct expected_event ev[MAX_EVENTS];
	unsigned int nr_ev;
	unsigned int nr_meta_packets;
	unsigned int nr_multi_page_packets;
};

/* Events in packet p of file f; one packet is long enough to span two pages. */
static unsigned int events_in(unsigned int f, unsigned int p)
{
	return (f == 1 && p == 1) ? 150 : 2 + f + 3 * p;
}

/* Timestamps unique over the whole trace, increasing within every stream. */
static uint64_t event_ts(unsigned int f, unsigned int p, unsigned int e)
{
	return 1000000 + ((uint64_t)(p * 1000 + e) * NR_FILES + f) * 10;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	int ret = 0;

	if (!fp)
		return -errno;
	if (fwrite(data, 1, len, fp) != len)
		ret = -EIO;
	if (fclose(fp) != 0 && !ret)
		ret = -EIO;
	return ret;
}

static int append_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "ab");
	int ret = 0;

	if (!fp)
		return -errno;
	if (fwrite(data, 1, len, fp) != len)
		ret = -EIO;
	if (fclose(fp) != 0 && !ret)
		ret = -EIO;
	return ret;
}

/*
 * Metadata file: the TSDL cut into META_CHUNK pieces, one page-sized packet
 * each.  Returns 0 or -1.  Fixture code: no cmocka asserts, so a failure
 * still lets setup remove the directory.
 */
static int write_metadata(struct trace_fixture *fx)
{
	char path[160];
	char *tsdl = sim_ctf_tsdl(trace_uuid, stream_ids, NR_STREAMS, classes, NR_CLASSES);
	uint8_t *pkt = malloc(PAGE);
	size_t len, done = 0;
	int ret = -1;

	if (!tsdl || !pkt)
		goto out;
	len = strlen(tsdl);
	snprintf(path, sizeof(path), "%s/metadata", fx->dir);
	if (write_file(path, "", 0))
		goto out;
	while (done < len) {
		size_t chunk = len - done < META_CHUNK ? len - done : META_CHUNK;

		memset(pkt, 0, PAGE);
		sim_ctf_write_metadata_header(pkt, trace_uuid,
					      (uint32_t)((SIM_CTF_METADATA_HEADER_SIZE + chunk) * 8),
					      PAGE * 8);
		memcpy(pkt + SIM_CTF_METADATA_HEADER_SIZE, tsdl + done, chunk);
		if (append_file(path, pkt, PAGE))
			goto out;
		done += chunk;
		fx->nr_meta_packets++;
	}
	ret = 0;
out:
	free(pkt);
	free(tsdl);
	return ret;
}

/* One stream file: NR_PACKETS packets, each padded to whole pages.  Returns 0 or -1. */
static int write_stream_file(struct trace_fixture *fx, unsigned int f)
{
	const struct sim_ctf_stream_info info = {
		.uuid = { 0x5c, 0x1e, 0xce, 0x00, 0x12, 0x34, 0x45, 0x67,
			  0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0 },
		.stream_id = files[f].stream_id,
		.instance_id = files[f].cpu,
	};
	uint64_t discarded = 0;
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, files[f].name);
	if (write_file(path, "", 0))
		return -1;
	for (unsigned int p = 0; p < NR_PACKETS; p++) {
		unsigned int n = events_in(f, p);
		size_t cap = SIM_CTF_PACKET_HEADER_SIZE +
			     n * sim_ctf_event_size(1, SIM_CTF_MAX_FIELDS);
		size_t padded = (cap + PAGE - 1) / PAGE * PAGE;
		uint8_t *pkt;
		struct sim_ctf_packet_ctx ctx = {
			.timestamp_begin = event_ts(f, p, 0) - 5,
			.seq_num = p,
			.events_discarded = discarded,
			.cpu_id = files[f].cpu,
		};
		size_t off = SIM_CTF_PACKET_HEADER_SIZE;
		int ret;

		if (fx->nr_ev + n > MAX_EVENTS)
			return -1;
		pkt = calloc(1, padded);
		if (!pkt)
			return -1;
		/* Open the packet as the tracer does: context unknown until close. */
		sim_ctf_write_packet_header(pkt, &info, &ctx);
		for (unsigned int e = 0; e < n; e++) {
			struct expected_event *x = &fx->ev[fx->nr_ev++];

			x->ts = event_ts(f, p, e);
			x->cls = &classes[(e + f) % NR_CLASSES];
			for (unsigned int i = 0; i < x->cls->nr_fields; i++)
				x->fields[i] = x->ts * 10 + i;
			off += sim_ctf_write_event(pkt, off, x->cls->id, x->ts, x->fields,
						   x->cls->nr_fields);
		}
		if (f == LOSSY_FILE && p == LOSSY_PACKET)
			discarded += LOST_EVENTS;
		padded = (off + PAGE - 1) / PAGE * PAGE;
		if (padded > PAGE)
			fx->nr_multi_page_packets++;
		ctx.timestamp_end = event_ts(f, p, n - 1) + 5;
		ctx.content_size = (uint64_t)off * 8;
		ctx.packet_size = (uint64_t)padded * 8;
		ctx.events_discarded = discarded;
		sim_ctf_update_packet_context(pkt, &ctx);
		ret = append_file(path, pkt, padded);
		free(pkt);
		if (ret)
			return -1;
	}
	return 0;
}

static int cmp_ts(const void *a, const void *b)
{
	const struct expected_event *x = a, *y = b;

	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove the fixture's directory tree and free it.  Returns 0 or -1. */
static int destroy_fixture(struct trace_fixture *fx)
{
	int ret = nftw(fx->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

	free(fx);
	return ret == 0 ? 0 : -1;
}

/* Build a fresh trace under a new mkdtemp() directory for each test. */
static int setup_trace(void **state)
{
	struct trace_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	strcpy(fx->root, "/tmp/sluice-ctf-bt2-XXXXXX");
	if (!mkdtemp(fx->root)) {
		free(fx);
		return -1;
	}
	snprintf(fx->dir, sizeof(fx->dir), "%s/trace", fx->root);
	if (mkdir(fx->dir, 0700) != 0 || write_metadata(fx) != 0)
		goto fail;
	for (unsigned int f = 0; f < NR_FILES; f++)
		if (write_stream_file(fx, f) != 0)
			goto fail;
	/* babeltrace2 merges the streams by time; so do we. */
	qsort(fx->ev, fx->nr_ev, sizeof(fx->ev[0]), cmp_ts);
	*state = fx;
	return 0;
fail:
	/* cmocka skips teardown after a failed setup: clean up here. */
	destroy_fixture(fx);
	return -1;
}

static int teardown_trace(void **state)
{
	return destroy_fixture(*state);
}

/*
 * Run a shell command; its stdout goes to *out (malloc'd, NUL-terminated),
 * its stderr to the file errpath.  Returns the exit status, or -1.
 */
static int run(const char *cmd_fmt, const struct trace_fixture *fx, const char *errpath,
	       char **out)
{
	char cmd[512];
	FILE *fp;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	char tmp[4096];
	size_t n;
	int st;

	if (!mem)
		return -1;
	snprintf(cmd, sizeof(cmd), cmd_fmt, fx->dir);
	strncat(cmd, " 2>", sizeof(cmd) - strlen(cmd) - 1);
	strncat(cmd, errpath, sizeof(cmd) - strlen(cmd) - 1);
	fp = popen(cmd, "r");
	if (!fp) {
		fclose(mem);
		free(buf);
		return -1;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		fwrite(tmp, 1, n, mem);
	st = pclose(fp);
	fclose(mem);
	*out = buf;
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Whole content of a (small) file, malloc'd and NUL-terminated; NULL on error. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	char tmp[4096];
	size_t n;

	if (!fp)
		return NULL;
	mem = open_memstream(&buf, &len);
	if (!mem) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		fwrite(tmp, 1, n, mem);
	fclose(fp);
	fclose(mem);
	return buf;
}

/* The shell must find babeltrace2: a missing reader is a failed test, not a skip. */
static void test_babeltrace2_is_installed(void **state)
{
	(void)state;
	if (system("command -v babeltrace2 >/dev/null 2>&1") != 0)
		fail_msg("babeltrace2 not found in PATH: run ci/install-deps.sh");
}

/* The trace has the shape this file promises, before babeltrace2 judges it. */
static void test_trace_shape(void **state)
{
	struct trace_fixture *fx = *state;
	unsigned int per_class[NR_CLASSES] = { 0 };

	assert_true(fx->nr_meta_packets >= 2);
	assert_true(fx->nr_multi_page_packets >= 1);
	for (unsigned int i = 0; i < fx->nr_ev; i++)
		per_class[fx->ev[i].cls - classes]++;
	for (unsigned int c = 0; c < NR_CLASSES; c++)
		assert_true(per_class[c] >= 2);
	for (unsigned int i = 1; i < fx->nr_ev; i++)
		assert_true(fx->ev[i - 1].ts < fx->ev[i].ts);
}

/* Our own reader walks every packet of every file and finds every event. */
static void test_sim_reader_reads_files(void **state)
{
	struct trace_fixture *fx = *state;
	unsigned int total = 0;

	for (unsigned int f = 0; f < NR_FILES; f++) {
		char path[160];
		char *data;
		struct stat sb;
		size_t pos = 0;
		uint64_t expect_seq = 0;

		snprintf(path, sizeof(path), "%s/%s", fx->dir, files[f].name);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_size % PAGE, 0);
		data = slurp(path);
		assert_non_null(data);
		while (pos < (size_t)sb.st_size) {
			struct sim_ctf_stream_info info;
			struct sim_ctf_packet_ctx ctx;
			size_t off = SIM_CTF_PACKET_HEADER_SIZE;
			uint64_t prev_ts = 0, ts;
			int ret;

			assert_int_equal(sim_ctf_read_packet_header(data + pos, sb.st_size - pos,
								    &info, &ctx), 0);
			assert_memory_equal(info.uuid, trace_uuid, 16);
			assert_int_equal(info.stream_id, files[f].stream_id);
			assert_int_equal(info.instance_id, files[f].cpu);
			assert_int_equal(ctx.cpu_id, files[f].cpu);
			assert_int_equal(ctx.seq_num, expect_seq++);
			assert_int_equal(ctx.packet_size % (PAGE * 8), 0);
			assert_true(ctx.content_size <= ctx.packet_size);
			while ((ret = sim_ctf_read_event(data + pos, ctx.content_size / 8, &off,
							 classes, NR_CLASSES, NULL, &ts,
							 NULL)) == 0) {
				assert_true(ts > prev_ts);
				assert_true(ts > ctx.timestamp_begin && ts < ctx.timestamp_end);
				prev_ts = ts;
				total++;
			}
			assert_int_equal(ret, -ENOENT);
			pos += ctx.packet_size / 8;
		}
		assert_int_equal(expect_seq, NR_PACKETS);
		free(data);
	}
	assert_int_equal(total, fx->nr_ev);
}

/*
 * Does `line` print event x?  With --clock-cycles babeltrace2 2.0 prints
 * "[<ts as 20 digits>] <name>: { cpu_id = N }, { <field> = <value>, ... }".
 */
static int line_matches(const char *line, const struct expected_event *x)
{
	char head[128], field[64];

	snprintf(head, sizeof(head), "[%020" PRIu64 "] %s: ", x->ts, x->cls->name);
	if (strncmp(line, head, strlen(head)) != 0)
		return 0;
	for (unsigned int i = 0; i < x->cls->nr_fields; i++) {
		snprintf(field, sizeof(field), " %s = %" PRIu64 "", x->cls->field_names[i],
			 x->fields[i]);
		if (!strstr(line, field))
			return 0;
	}
	return 1;
}

/* babeltrace2 prints exactly our events, merged in timestamp order, with payloads. */
static void test_babeltrace2_prints_every_event(void **state)
{
	struct trace_fixture *fx = *state;
	char errpath[128], discard_msg[64];
	char *out = NULL, *err, *save = NULL;
	unsigned int nr_lines = 0;
	int st;

	snprintf(errpath, sizeof(errpath), "%s/stderr.txt", fx->root);
	st = run("babeltrace2 --clock-cycles --no-delta '%s'", fx, errpath, &out);
	err = slurp(errpath);
	assert_non_null(out);
	assert_non_null(err);
	if (st != 0)
		fail_msg("babeltrace2 exit %d, stderr:\n%s", st, err);
	if (strstr(err, "ERROR"))
		fail_msg("babeltrace2 stderr has errors:\n%s", err);

	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* Every stdout line is an event line. */
		if (nr_lines >= fx->nr_ev)
			fail_msg("unexpected extra line: %s", line);
		if (!line_matches(line, &fx->ev[nr_lines]))
			fail_msg("line %u is \"%s\", expected event %s at %" PRIu64, nr_lines,
				 line, fx->ev[nr_lines].cls->name, fx->ev[nr_lines].ts);
		nr_lines++;
	}
	assert_int_equal(nr_lines, fx->nr_ev);

	/* The events_discarded counter jump is reported, with its size. */
	snprintf(discard_msg, sizeof(discard_msg), "discarded %u events", LOST_EVENTS);
	if (!strstr(err, discard_msg))
		fail_msg("no \"%s\" warning on stderr:\n%s", discard_msg, err);
	free(out);
	free(err);
}

/* The dummy sink decodes the whole trace without printing: a pure validity check. */
static void test_babeltrace2_dummy_sink_clean(void **state)
{
	struct trace_fixture *fx = *state;
	char errpath[128];
	char *out = NULL, *err;
	int st;

	snprintf(errpath, sizeof(errpath), "%s/stderr-dummy.txt", fx->root);
	st = run("babeltrace2 --output-format=dummy '%s'", fx, errpath, &out);
	err = slurp(errpath);
	assert_non_null(out);
	assert_non_null(err);
	if (st != 0 || strstr(err, "ERROR"))
		fail_msg("babeltrace2 exit %d, stderr:\n%s", st, err);
	assert_string_equal(out, "");
	free(out);
	free(err);
}

/* Overwrite 4 bytes at offset `at` of trace file `name`. */
static void clobber(const struct trace_fixture *fx, const char *name, long at)
{
	char path[160];
	const uint8_t junk[4] = { 0xde, 0xad, 0xbe, 0xef };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, at, SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
}

/* babeltrace2 must exit non-zero and name the problem (`why`) on stderr. */
static void expect_babeltrace2_failure(const struct trace_fixture *fx, const char *why)
{
	char errpath[128];
	char *out = NULL, *err;
	int st;

	snprintf(errpath, sizeof(errpath), "%s/stderr-bad.txt", fx->root);
	st = run("babeltrace2 '%s'", fx, errpath, &out);
	err = slurp(errpath);
	assert_non_null(out);
	assert_non_null(err);
	if (st <= 0)
		fail_msg("babeltrace2 accepted a corrupted trace (exit %d), stderr:\n%s", st, err);
	if (!strstr(err, "ERROR") || !strstr(err, why))
		fail_msg("babeltrace2 stderr lacks ERROR or \"%s\":\n%s", why, err);
	free(out);
	free(err);
}

/* A stream packet with a bad magic makes babeltrace2 fail. */
static void test_babeltrace2_rejects_bad_packet_magic(void **state)
{
	struct trace_fixture *fx = *state;

	/* The second packet, so the failure is found mid-stream, not at open. */
	clobber(fx, files[2].name, PAGE);
	expect_babeltrace2_failure(fx, "Invalid CTF magic number");
}

/*
 * A metadata file whose first magic is wrong makes babeltrace2 fail.  Only
 * the first packet's magic counts: babeltrace2 2.0 uses it to tell
 * packetized from plain-text metadata and does not recheck later packets.
 */
static void test_babeltrace2_rejects_bad_metadata_magic(void **state)
{
	struct trace_fixture *fx = *state;

	clobber(fx, "metadata", 0);
	expect_babeltrace2_failure(fx, "metadata");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_babeltrace2_is_installed),
		cmocka_unit_test_setup_teardown(test_trace_shape, setup_trace, teardown_trace),
		cmocka_unit_test_setup_teardown(test_sim_reader_reads_files, setup_trace,
						teardown_trace),
		cmocka_unit_test_setup_teardown(test_babeltrace2_prints_every_event, setup_trace,
						teardown_trace),
		cmocka_unit_test_setup_teardown(test_babeltrace2_dummy_sink_clean, setup_trace,
						teardown_trace),
		cmocka_unit_test_setup_teardown(test_babeltrace2_rejects_bad_packet_magic,
						setup_trace, teardown_trace),
		cmocka_unit_test_setup_teardown(test_babeltrace2_rejects_bad_metadata_magic,
						setup_trace, teardown_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
