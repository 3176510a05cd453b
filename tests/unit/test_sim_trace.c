/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * End-to-end check of the simulated tracer: sim apps write events into two
 * data channels (different chan_id) on two CPUs, every stream is drained
 * through the ring-buffer seam only (get_next_subbuf / padded_subbuf_size /
 * read_ptr / put_next_subbuf, exactly what a consumer does) into
 * <channel>_<cpu> files, the TSDL goes through a metadata channel with
 * write_metadata_packet and is drained the same way, and babeltrace2 must
 * read the result and print exactly the events written.
 *
 * babeltrace2 is a required test dependency (ci/install-deps.sh): a missing
 * reader is a failure, never a skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "rb.h"
#include "sim_app.h"
#include "sim_rb.h"
#include "sim_world.h"

#define NR_CPUS 2
#define NR_CHANS 2

struct trace_fx {
	struct sim_world w;
	struct rb rb;
	struct rb_channel *chan[NR_CHANS];
	struct rb_stream *s[NR_CHANS][NR_CPUS];
	struct sim_app *app[NR_CHANS];
	char root[64];            /* mkdtemp(): trace/ and babeltrace2's stderr */
	char dir[96];             /* the trace directory */
};

static const char *const chan_names[NR_CHANS] = { "chan_a", "chan_b" };

/* Drain every readable packet of s, through the seam only, appending to path. */
static unsigned int drain_to_file(struct rb_stream *s, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	unsigned int packets = 0;
	enum rb_status st;

	assert_true(fd >= 0);
	while ((st = rb_get_next_subbuf(s)) == RB_OK) {
		uint64_t padded = 0;
		const void *p = NULL;

		assert_int_equal(rb_padded_subbuf_size(s, &padded), RB_OK);
		assert_int_equal(rb_read_ptr(s, &p), RB_OK);
		assert_int_equal(write(fd, p, padded), (ssize_t)padded);
		assert_int_equal(rb_put_next_subbuf(s), RB_OK);
		packets++;
	}
	assert_int_equal(st, RB_NO_DATA);
	close(fd);
	return packets;
}

static void stream_path(struct trace_fx *t, int c, int cpu, char *out, size_t len)
{
	snprintf(out, len, "%s/%s_%d", t->dir, chan_names[c], cpu);
}

static void drain_all(struct trace_fx *t)
{
	char path[160];

	for (int c = 0; c < NR_CHANS; c++)
		for (int cpu = 0; cpu < NR_CPUS; cpu++) {
			stream_path(t, c, cpu, path, sizeof(path));
			drain_to_file(t->s[c][cpu], path);
		}
}

/*
 * World, trace dir, two data channels of one trace (chan_id 0 and 5) with
 * their streams, app 0 attached directly, app 1 from the objects the
 * consumer sends over a socket (the way a real app gets them).  Channel 0
 * is in discard mode, channel 1 in overwrite mode if overwrite_b.
 */
static struct trace_fx *trace_new(uint64_t subbuf, uint64_t num, bool overwrite_b)
{
	struct trace_fx *t = calloc(1, sizeof(*t));
	int sv[2];

	assert_non_null(t);
	assert_int_equal(sim_world_init(&t->w, 2024, NR_CPUS, NR_CPUS, 1000000000ull), 0);
	assert_int_equal(sim_rb_init(&t->rb, &t->w), 0);
	snprintf(t->root, sizeof(t->root), "/tmp/sluice-simtrace-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->dir, sizeof(t->dir), "%s/trace", t->root);
	assert_int_equal(mkdir(t->dir, 0755), 0);
	for (int c = 0; c < NR_CHANS; c++) {
		struct rb_channel_attr a = {
			.type = RB_CHAN_PER_CPU,
			.subbuf_size = subbuf,
			.num_subbuf = num,
			.overwrite = c == 1 && overwrite_b,
			.chan_id = (uint32_t)(c * 5),
		};

		for (int i = 0; i < RB_UUID_LEN; i++)
			a.uuid[i] = (uint8_t)(0x31 * (i + 1));
		assert_int_equal(rb_channel_create(&t->rb, &a, &t->chan[c]), RB_OK);
		for (int cpu = 0; cpu < NR_CPUS; cpu++)
			assert_int_equal(rb_stream_create(t->chan[c], cpu, &t->s[c][cpu]), RB_OK);
		t->app[c] = sim_app_create(&t->w, chan_names[c]);
		assert_non_null(t->app[c]);
	}
	assert_int_equal(sim_app_attach(t->app[0], t->chan[0]), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rb_send_channel(t->chan[1], sv[0]), RB_OK);
	for (int cpu = 0; cpu < NR_CPUS; cpu++)
		assert_int_equal(rb_send_stream(t->chan[1], t->s[1][cpu], sv[0]), RB_OK);
	assert_int_equal(rb_send_stream(t->chan[1], NULL, sv[0]), RB_OK);
	assert_int_equal(sim_app_attach_from_socket(t->app[1], &t->rb, sv[1]), 0);
	close(sv[0]);
	close(sv[1]);
	return t;
}

/* Push the TSDL of both channels through a metadata channel into <dir>/metadata. */
static void write_metadata(struct trace_fx *t)
{
	struct rb_channel_attr a;
	struct rb_channel *m = NULL;
	struct rb_stream *ms = NULL;
	char path[160];
	char *tsdl = sim_app_tsdl(t->chan, NR_CHANS);
	size_t len, off = 0;
	unsigned int fulls = 0, packets = 0;

	assert_non_null(tsdl);
	len = strlen(tsdl);
	/* Small metadata sub-buffers: many packets and several "ring full" rounds. */
	assert_true(len > 2 * (256 - 37));
	assert_int_equal(sim_rb_channel_attr(t->chan[0], &a), 0);   /* the trace uuid */
	a.type = RB_CHAN_METADATA;
	a.subbuf_size = 256;
	a.num_subbuf = 2;
	a.chan_id = UINT32_MAX;
	assert_int_equal(rb_channel_create(&t->rb, &a, &m), RB_OK);
	assert_int_equal(rb_stream_create(m, 0, &ms), RB_OK);
	snprintf(path, sizeof(path), "%s/metadata", t->dir);
	while (off < len) {
		ssize_t n = rb_write_metadata_packet(m, tsdl + off, len - off);

		if (n == -RB_FULL) {
			fulls++;
			packets += drain_to_file(ms, path);
			continue;
		}
		assert_true(n > 0);
		off += (size_t)n;
		assert_int_equal(rb_flush(ms, true), RB_OK);   /* as the consumer does: harmless */
	}
	packets += drain_to_file(ms, path);
	assert_true(fulls >= 1);
	assert_int_equal(packets, (len + 218) / 219);
	free(tsdl);
	rb_stream_destroy(ms);
	rb_channel_destroy(m);
}

/* Run babeltrace2 on the trace; returns its exit status, fills stdout lines. */
static int run_babeltrace(struct trace_fx *t, char ***lines, size_t *nr_lines, char *err,
			  size_t err_len)
{
	char cmd[512], errpath[128], buf[4096];
	FILE *fp;
	size_t n = 0, cap = 0;
	char **v = NULL;
	int status, fd;
	ssize_t r;

	snprintf(errpath, sizeof(errpath), "%s/bt2.err", t->root);
	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s' 2>'%s'", t->dir, errpath);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	while (fgets(buf, sizeof(buf), fp)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[n++] = strdup(buf);
	}
	status = pclose(fp);
	fd = open(errpath, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	r = read(fd, err, err_len - 1);
	err[r > 0 ? r : 0] = '\0';
	close(fd);
	unlink(errpath);
	*lines = v;
	*nr_lines = n;
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 127)
		fail_msg("babeltrace2 not found: run ci/install-deps.sh (%s)", err);
	return WEXITSTATUS(status);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static size_t count_matching(char **v, size_t n, const char *needle)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strstr(v[i], needle) != NULL;
	return k;
}

/* Destroy everything and remove the trace directory. */
static void trace_free(struct trace_fx *t)
{
	char path[160];

	for (int c = 0; c < NR_CHANS; c++) {
		sim_app_destroy(t->app[c]);
		for (int cpu = 0; cpu < NR_CPUS; cpu++) {
			rb_stream_destroy(t->s[c][cpu]);
			stream_path(t, c, cpu, path, sizeof(path));
			unlink(path);
		}
		rb_channel_destroy(t->chan[c]);
	}
	snprintf(path, sizeof(path), "%s/metadata", t->dir);
	unlink(path);
	assert_int_equal(rmdir(t->dir), 0);
	assert_int_equal(rmdir(t->root), 0);
	assert_int_equal(sim_rb_outstanding_gets(&t->rb), 0);
	assert_int_equal(sim_rb_fini(&t->rb), 0);
	free(t);
}

/* The shell must find babeltrace2: a missing reader is a failed test, not a skip. */
static void test_babeltrace2_is_installed(void **state)
{
	(void)state;
	if (system("command -v babeltrace2 >/dev/null 2>&1") != 0)
		fail_msg("babeltrace2 not found in PATH: run ci/install-deps.sh");
}

/* Four streams, three event classes, drained mid-way and at the end: babeltrace2 reads all. */
static void test_babeltrace2_reads_drained_trace(void **state)
{
	struct trace_fx *t = trace_new(4096, 4, false);
	unsigned int ticks = 0, values = 0, quads = 0;
	char err[4096], **lines = NULL;
	size_t nr_lines = 0;
	int st;

	(void)state;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(sim_app_write(t->app[0], 0, SIM_APP_CLASS_TICK, 60, 1000), 60);
		assert_int_equal(sim_app_write(t->app[0], 1, SIM_APP_CLASS_VALUE, 25, 700), 25);
		assert_int_equal(sim_app_write(t->app[1], 0, SIM_APP_CLASS_QUAD, 30, 300), 30);
		assert_int_equal(sim_app_write(t->app[1], 1, SIM_APP_CLASS_VALUE, 20, 900), 20);
		assert_int_equal(sim_app_write(t->app[1], 1, SIM_APP_CLASS_TICK, 10, 100), 10);
		ticks += 70;
		values += 45;
		quads += 30;
		if (round == 1)
			drain_all(t);              /* a consumer woken mid-trace */
	}
	/* lttng stop: final flush of every stream, then drain everything. */
	for (int c = 0; c < NR_CHANS; c++)
		for (int cpu = 0; cpu < NR_CPUS; cpu++)
			assert_int_equal(rb_flush(t->s[c][cpu], false), RB_OK);
	drain_all(t);
	write_metadata(t);
	for (int c = 0; c < NR_CHANS; c++)
		for (int cpu = 0; cpu < NR_CPUS; cpu++) {
			struct sim_rb_stats s;

			assert_int_equal(sim_rb_stats(t->chan[c], cpu, &s), 0);
			assert_int_equal(s.events_discarded, 0);
			assert_int_equal(s.packets_consumed, s.packets_delivered);
		}

	st = run_babeltrace(t, &lines, &nr_lines, err, sizeof(err));
	if (st != 0)
		fail_msg("babeltrace2 exit %d, stderr:\n%s", st, err);
	assert_int_equal(nr_lines, ticks + values + quads);
	assert_int_equal(count_matching(lines, nr_lines, "sim:tick:"), ticks);
	assert_int_equal(count_matching(lines, nr_lines, "sim:value:"), values);
	assert_int_equal(count_matching(lines, nr_lines, "sim:quad:"), quads);
	assert_int_equal(count_matching(lines, nr_lines, "cpu_id = 1"), 25 * 3 + 30 * 3);
	free_lines(lines, nr_lines);
	trace_free(t);
}

/*
 * Drops and lost packets keep the trace readable: babeltrace2 prints exactly
 * the events that survived, and reports the losses the packet headers carry.
 */
static void test_babeltrace2_reads_lossy_trace(void **state)
{
	struct trace_fx *t = trace_new(4096, 2, true);
	uint64_t survived = 0, discarded = 0, lost_packets = 0;
	char err[4096], msg[128], **lines = NULL;
	size_t nr_lines = 0;
	int st;

	(void)state;
	/* One packet read from channel 1 first, so that a later gap is a gap. */
	assert_int_equal(sim_app_write(t->app[1], 1, SIM_APP_CLASS_VALUE, 40, 10), 40);
	assert_int_equal(rb_flush(t->s[1][1], true), RB_OK);
	drain_all(t);
	/* Discard mode, no reader: 2 sub-buffers hold 2 x 167 ticks, the rest is dropped. */
	assert_int_equal(sim_app_write(t->app[0], 0, SIM_APP_CLASS_TICK, 1000, 10), 334);
	/* Overwrite mode, no reader: the writer laps, the oldest packets are lost. */
	assert_int_equal(sim_app_write(t->app[1], 1, SIM_APP_CLASS_VALUE, 1000, 10), 1000);
	drain_all(t);
	assert_int_equal(sim_app_write(t->app[0], 0, SIM_APP_CLASS_TICK, 10, 10), 10);
	for (int c = 0; c < NR_CHANS; c++)
		for (int cpu = 0; cpu < NR_CPUS; cpu++)
			assert_int_equal(rb_flush(t->s[c][cpu], false), RB_OK);
	drain_all(t);
	write_metadata(t);
	for (int c = 0; c < NR_CHANS; c++)
		for (int cpu = 0; cpu < NR_CPUS; cpu++) {
			struct sim_rb_stats s;

			assert_int_equal(sim_rb_stats(t->chan[c], cpu, &s), 0);
			survived += s.events_written - s.events_lost;
			discarded += s.events_discarded;
			lost_packets += s.packets_overwritten;
		}
	assert_int_equal(discarded, 1000 - 334);
	assert_true(lost_packets > 0);
	st = run_babeltrace(t, &lines, &nr_lines, err, sizeof(err));
	if (st != 0)
		fail_msg("babeltrace2 exit %d, stderr:\n%s", st, err);
	assert_int_equal(nr_lines, survived);
	snprintf(msg, sizeof(msg), "Tracer discarded %" PRIu64 " events", discarded);
	if (!strstr(err, msg))
		fail_msg("no \"%s\" in babeltrace2's stderr:\n%s", msg, err);
	snprintf(msg, sizeof(msg), "Tracer discarded %" PRIu64 " packets", lost_packets);
	if (!strstr(err, msg))
		fail_msg("no \"%s\" in babeltrace2's stderr:\n%s", msg, err);
	free_lines(lines, nr_lines);
	trace_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_babeltrace2_is_installed),
		cmocka_unit_test(test_babeltrace2_reads_drained_trace),
		cmocka_unit_test(test_babeltrace2_reads_lossy_trace),
	};

	log_level = -1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
