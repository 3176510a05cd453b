/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_consumer.c - the consumer core end to end on the simulation: a fake
 * session daemon (tests/support/fake_sessiond) drives a consumer running on
 * three sim loops over the simulated tracer, writing a real trace with
 * io_posix into a mkdtemp() directory, which babeltrace2 must read back
 * with exactly the events the simulated apps wrote.  The fixture checks the
 * consumer's invariants after every stepper step (tests/support/invariants.h),
 * as the scenario runner does; a violation fails the test at teardown.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_hook.h"
#include <urcu.h>

#include "consumer.h"
#include "fake_sessiond.h"
#include "fdpass.h"
#include "invariants.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "metadata_req.h"
#include "sim_app.h"
#include "sim_fault.h"
#include "sim_loop.h"
#include "sim_io.h"
#include "sim_rb.h"
#include "test_fds.h"
#include "wire.h"

#define T0 1000000000ull
#define SESSION 7
#define PATHNAME "uid/1000/64-bit"
#define DATA_KEY 1
#define MD_KEY 2

struct fx {
	struct sim_world w;
	struct rb rb;
	struct sim_io sio;
	struct sim_stepper st;
	struct sim_loop *cmd, *md, *data;
	struct fake_sessiond fs;
	struct consumer *c;
	struct invariants inv;
	char dir[64];
	int quit_calls;
	int fds_at_start;
	int mon_rd;             /* read end of the monitor pipe */
	struct sim_app_objects objs;
	bool have_objs;
	struct sim_app *apps[4];
	unsigned int nr_apps;
};

/* World seed: SLUICE_SEED varies the interleavings the stepper picks. */
static uint64_t seed = 42;

static void on_quit(void *arg)
{
	struct fx *f = arg;

	f->quit_calls++;
}

/* Make <dir>/<sub>/ust/<PATHNAME>/index as the session daemon would. */
static void make_chunk_dirs(struct fx *f, const char *sub)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s/ust/%s/index'", f->dir, sub, PATHNAME);
	assert_int_equal(system(cmd), 0);
}

static int open_chunk_dir(struct fx *f, const char *sub)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s/ust", f->dir, sub);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct consumer_env env = { 0 };
	int ccmd, cmd_md;

	assert_non_null(f);
	f->fds_at_start = test_open_fd_count();
	f->mon_rd = -1;
	strcpy(f->dir, "/tmp/sluice-consumer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(sim_world_init(&f->w, seed, 2, 2, T0), 0);
	assert_int_equal(sim_rb_init(&f->rb, &f->w), 0);
	assert_int_equal(sim_stepper_init(&f->st, &f->w), 0);
	f->cmd = sim_loop_create(&f->st, "cmd");
	f->md = sim_loop_create(&f->st, "metadata");
	f->data = sim_loop_create(&f->st, "data");
	assert_non_null(f->data);
	assert_int_equal(fake_sessiond_init(&f->fs, &f->st, &ccmd, &cmd_md), 0);
	env.rb = &f->rb;
	sim_io_init(&f->sio, &io_posix, &f->w.faults);
	env.io = sim_io_io(&f->sio);
	env.cmd_loop = sim_loop_base(f->cmd);
	env.metadata_loop = sim_loop_base(f->md);
	env.data_loop = sim_loop_base(f->data);
	env.cmd_fd = ccmd;
	env.metadata_fd = cmd_md;
	env.on_quit = on_quit;
	env.on_quit_arg = f;
	assert_int_equal(consumer_create(&env, &f->c), 0);
	invariants_attach(&f->inv, &f->st, f->c, &f->rb, &f->w.faults, &f->quit_calls);
	*state = f;
	return 0;
}

static void close_md_socket(struct fx *f)
{
	close(f->fs.md_fd);
	f->fs.md_fd = -1;
}

static void drop_apps(struct fx *f)
{
	for (unsigned int i = 0; i < f->nr_apps; i++)
		sim_app_destroy(f->apps[i]);
	f->nr_apps = 0;
	if (f->have_objs)
		sim_app_objects_close(&f->objs);
	f->have_objs = false;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct invariants inv;
	char cmd[128];

	drop_apps(f);
	invariants_detach(&f->inv);
	inv = f->inv;   /* kept for the verdict, after everything is freed */
	consumer_destroy(f->c);
	fake_sessiond_fini(&f->fs);
	sim_stepper_fini(&f->st);
	assert_int_equal(sim_rb_fini(&f->rb), 0);
	if (f->mon_rd >= 0)
		close(f->mon_rd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(test_open_fd_count(), f->fds_at_start);
	free(f);
	if (inv.msg[0])
		fail_msg("invariant after step %" PRIu64 ": %s", inv.step, inv.msg);
	return 0;
}

/* ---- command builders ---- */

static struct cmd c_key(enum cmd_type t, uint64_t key)
{
	struct cmd c = { .type = t };

	c.u.channel.key = key;
	return c;
}

static void do_startup(struct fx *f)
{
	struct cmd init = { .type = CMD_INIT };
	struct cmd mp = { .type = CMD_SET_MONITOR_PIPE };
	int p[2];
	int32_t ack;

	memset(init.u.init.sessiond_uuid, 0xab, CMD_UUID_LEN);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &init), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fake_sessiond_cmd_fd(&f->fs, &mp, p[1], &ack), 0);
	assert_int_equal(ack, 0);
	close(p[1]);
	f->mon_rd = p[0];
}

static int32_t create_chunk(struct fx *f, uint64_t session, uint64_t id, const char *sub)
{
	struct cmd c = { .type = CMD_CREATE_TRACE_CHUNK };
	int32_t ret, ack;
	int fd;

	make_chunk_dirs(f, sub);
	fd = open_chunk_dir(f, sub);
	c.u.create_chunk.session_id = session;
	c.u.create_chunk.chunk_id = id;
	c.u.create_chunk.creation_ts_s = 1700000000;
	c.u.create_chunk.creds.set = true;
	c.u.create_chunk.creds.value.uid = getuid();
	c.u.create_chunk.creds.value.gid = getgid();
	ret = fake_sessiond_cmd_fd(&f->fs, &c, fd, &ack);
	assert_int_equal(ack, 0);
	close(fd);
	return ret;
}

/* An ASK_CHANNEL_CREATION as the session daemon sends it for these choices. */
static struct cmd ask_cmd(uint64_t key, bool metadata, bool monitor, bool overwrite,
			  bool with_chunk, uint64_t chunk)
{
	struct cmd c = { .type = CMD_ASK_CHANNEL };
	struct cmd_ask_channel *a = &c.u.ask_channel;

	a->key = key;
	a->session_id = SESSION;
	a->session_id_per_pid = 0;
	a->type = metadata ? CMD_CHAN_METADATA : CMD_CHAN_PER_CPU;
	a->mode = metadata ? CMD_MODE_UNSPECIFIED : (overwrite ? CMD_MODE_OVERWRITE : CMD_MODE_DISCARD);
	a->output = CMD_OUTPUT_MMAP;
	a->subbuf_size = 4096;
	a->num_subbuf = metadata ? 2 : 4;
	a->monitor = monitor;
	a->buffer_creds.uid = getuid();
	a->buffer_creds.gid = getgid();
	a->ust_app_uid = 1000;
	a->chunk_id.set = with_chunk;
	a->chunk_id.value = with_chunk ? chunk : 0;
	memset(a->uuid, 0x5a, CMD_UUID_LEN);
	a->chan_id = metadata ? UINT32_MAX : 0;
	a->blocking_timeout_us = 0;
	strcpy(a->pathname, PATHNAME);
	strcpy(a->name, metadata ? "metadata" : "chan");
	return c;
}

static struct reply_channel ask(struct fx *f, uint64_t key, bool metadata, bool monitor,
				bool overwrite, bool with_chunk, uint64_t chunk)
{
	struct cmd c = ask_cmd(key, metadata, monitor, overwrite, with_chunk, chunk);
	struct reply_channel r;

	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
	return r;
}

/* GET_CHANNEL, the objects received as the session daemon, apps attached. */
static void get_channel(struct fx *f, uint64_t key, unsigned int nr_apps)
{
	struct cmd c = c_key(CMD_GET_CHANNEL, key);

	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(sim_app_objects_recv(f->fs.cmd_fd, &f->objs), 0);
	f->have_objs = true;
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	for (unsigned int i = 0; i < nr_apps; i++) {
		char name[16];

		snprintf(name, sizeof(name), "app%u", i);
		f->apps[f->nr_apps] = sim_app_create(&f->w, name);
		assert_non_null(f->apps[f->nr_apps]);
		assert_int_equal(sim_app_attach_objects(f->apps[f->nr_apps], &f->rb, &f->objs), 0);
		f->nr_apps++;
	}
}

static char *data_tsdl(struct fx *f)
{
	struct rb_channel *rc = sim_rb_channel_lookup(&f->rb, f->objs.chan.sim_id);
	char *t;

	assert_non_null(rc);
	t = sim_app_tsdl(&rc, 1);
	assert_non_null(t);
	return t;
}

static uint64_t write_events(struct fx *f, unsigned int n)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < f->nr_apps; i++)
		for (int cpu = 0; cpu < 2; cpu++) {
			int r = sim_app_write(f->apps[i], cpu, (unsigned int)(i + cpu) % SIM_APP_NR_CLASSES,
					      n, 1000);

			assert_true(r >= 0);
			total += (uint64_t)r;
		}
	return total;
}

static void data_pending_until_zero(struct fx *f)
{
	struct cmd c = { .type = CMD_DATA_PENDING };
	int i;

	c.u.data_pending.session_id = SESSION;
	for (i = 0; i < 50; i++) {
		assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
		if (fake_sessiond_recv_i32(&f->fs) == 0)
			return;
		sim_run_until_idle(&f->st, 10000);
	}
	fail_msg("DATA_PENDING never reached 0");
}

static int32_t chunk_exists(struct fx *f, uint64_t id)
{
	struct cmd c = { .type = CMD_TRACE_CHUNK_EXISTS };

	c.u.chunk_exists.session_id = SESSION;
	c.u.chunk_exists.chunk_id = id;
	return fake_sessiond_cmd(&f->fs, &c);
}

static int32_t close_chunk(struct fx *f, uint64_t id, bool del)
{
	struct cmd c = { .type = CMD_CLOSE_TRACE_CHUNK };
	struct reply_close_chunk r;

	c.u.close_chunk.session_id = SESSION;
	c.u.close_chunk.chunk_id = id;
	c.u.close_chunk.close_ts_s = 1700000001;
	c.u.close_chunk.close_command_set = del;
	c.u.close_chunk.close_command = del ? CMD_CLOSE_DELETE : CMD_CLOSE_MOVE_TO_COMPLETED;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_close_chunk(&f->fs, &r), 0);
	assert_string_equal(r.path, "");
	return r.code;
}

static int32_t rotate(struct fx *f, uint64_t key, bool metadata)
{
	struct cmd c = { .type = CMD_ROTATE_CHANNEL };

	c.u.rotate.key = key;
	c.u.rotate.metadata = metadata;
	return fake_sessiond_cmd(&f->fs, &c);
}

/* Number of events babeltrace2 prints for trace directory `sub` (exit status must be 0). */
static long bt2_count(struct fx *f, const char *sub)
{
	char cmd[512];
	char line[4096];
	FILE *p;
	long n = 0;

	snprintf(cmd, sizeof(cmd), "babeltrace2 '%s/%s' 2>/dev/null", f->dir, sub);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (strchr(line, '\n'))
			n++;
	if (pclose(p) != 0)
		return -1;
	return n;
}

static off_t file_size(struct fx *f, const char *sub, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/ust/%s/%s", f->dir, sub, PATHNAME, name);
	if (stat(p, &st))
		return -1;
	return st.st_size;
}

static bool quit_called(void *arg)
{
	struct fx *f = arg;

	return f->quit_calls > 0;
}

/* ---- tests ---- */

/* INIT and the monitor pipe at start-up; repeats answer ALREADY_SET. */
static void test_startup(void **state)
{
	struct fx *f = *state;
	struct cmd init = { .type = CMD_INIT };
	struct cmd mp = { .type = CMD_SET_MONITOR_PIPE };
	struct consumer_stats s;
	int p[2];
	int32_t ack;

	do_startup(f);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &init), CONSUMER_ALREADY_SET);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fake_sessiond_cmd_fd(&f->fs, &mp, p[1], &ack), CONSUMER_ALREADY_SET);
	assert_int_equal(ack, 0);
	close(p[0]);
	close(p[1]);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.commands, 4);
	assert_int_equal(s.command_errors, 2);
	assert_false(s.quitting);
}

/* A bad environment is a caller's bug (assertion); NULL consumers are no-ops. */
static void test_create_invalid(void **state)
{
	struct fx *f = *state;
	struct consumer_env env = { 0 };
	struct consumer *c = NULL;
	struct consumer_stats st;

	expect_assert_failure(consumer_create(NULL, &c));
	expect_assert_failure(consumer_create(&env, &c));
	env.rb = &f->rb;
	env.io = &io_posix;
	env.cmd_loop = env.metadata_loop = env.data_loop = sim_loop_base(f->cmd);
	env.cmd_fd = -1;
	env.metadata_fd = 0;
	expect_assert_failure(consumer_create(&env, &c));
	assert_null(c);
	consumer_destroy(NULL);
	memset(&st, 0xff, sizeof(st));
	consumer_get_stats(NULL, &st);
	assert_int_equal(st.commands, 0);
	assert_false(st.quitting);
}

/* A whole per-UID session, read back by babeltrace2. */
static void test_full_session(void **state)
{
	struct fx *f = *state;
	struct reply_channel r;
	struct cmd c;
	char *tsdl;
	uint64_t written;
	long seen;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "trace"), 0);
	r = ask(f, DATA_KEY, false, true, false, true, 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.key, DATA_KEY);
	assert_int_equal(r.stream_count, 2);
	get_channel(f, DATA_KEY, 2);
	r = ask(f, MD_KEY, true, true, false, true, 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.key, MD_KEY);
	assert_int_equal(r.stream_count, 1);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);

	written = write_events(f, 100);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	/* The reply came only once the metadata file held the TSDL. */
	assert_true(file_size(f, "trace", "metadata") >= (off_t)strlen(tsdl));
	free(tsdl);

	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_TRACE_CHUNK_EXISTS_LOCAL);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(close_chunk(f, 0, false), 0);

	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	sim_run_until_idle(&f->st, 100000);

	seen = bt2_count(f, "trace");
	assert_int_equal(seen, (long)written);
}


/* Full monitored session set-up on chunk `id` in directory `sub`: data + metadata channels. */
static void monitored_session(struct fx *f, uint64_t id, const char *sub, unsigned int apps)
{
	struct reply_channel r;
	struct cmd c;
	char *tsdl;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, id, sub), 0);
	r = ask(f, DATA_KEY, false, true, false, true, id);
	assert_int_equal(r.code, 0);
	get_channel(f, DATA_KEY, apps);
	r = ask(f, MD_KEY, true, true, false, true, id);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
}

/* Unknown keys, sessions and chunks get the documented codes. */
static void test_unknown_keys(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	struct reply_channel r;

	do_startup(f);
	c = c_key(CMD_GET_CHANNEL, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	c = c_key(CMD_DESTROY_CHANNEL, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_SETUP_METADATA, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	assert_int_equal(fake_sessiond_push(&f->fs, 99, 0, 0, "x", 1), CONSUMER_CHANNEL_FAIL);
	c = c_key(CMD_CLOSE_METADATA, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	c = c_key(CMD_FLUSH_CHANNEL, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	c = c_key(CMD_CLEAR_QUIESCENT_CHANNEL, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	c = c_key(CMD_CLEAR_CHANNEL, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	c = c_key(CMD_OPEN_CHANNEL_PACKETS, 99);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	assert_int_equal(rotate(f, 99, false), CONSUMER_CHAN_NOT_FOUND);
	c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
	c.u.snapshot.key = 99;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	c = (struct cmd){ .type = CMD_DATA_PENDING };
	c.u.data_pending.session_id = 99;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_i32(&f->fs), 0);
	c = (struct cmd){ .type = CMD_DISCARDED_EVENTS };
	c.u.stats.session_id = 99;
	c.u.stats.key = 99;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_u64(&f->fs), 0);
	c.type = CMD_LOST_PACKETS;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_u64(&f->fs), 0);
	assert_int_equal(chunk_exists(f, 5), CONSUMER_UNKNOWN_TRACE_CHUNK);
	assert_int_equal(close_chunk(f, 5, false), CONSUMER_UNKNOWN_TRACE_CHUNK);
	r = ask(f, DATA_KEY, false, true, false, true, 5);      /* unknown chunk */
	assert_int_equal(r.code, CONSUMER_CHANNEL_FAIL);
	assert_int_equal(r.key, 0);
	assert_int_equal(r.stream_count, 0);
	/* metadata channel: OPEN_CHANNEL_PACKETS refused, CLEAR a no-op */
	r = ask(f, MD_KEY, true, true, false, false, 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_OPEN_CHANNEL_PACKETS, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_INVALID_PARAMETERS);
	c = c_key(CMD_CLEAR_CHANNEL, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_GET_CHANNEL, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	/* same key twice */
	r = ask(f, MD_KEY, true, true, false, false, 0);
	assert_int_equal(r.code, CONSUMER_CHANNEL_FAIL);
	/* a never-dispatched channel destroyed; then the key is free again */
	c = c_key(CMD_DESTROY_CHANNEL, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
}


/*
 * --shm-path: the session daemon's per-stream file prefix, the root to prune
 * up to and the buffer owner reach the ring-buffer adapter unchanged.
 */
static void test_shm_path_reaches_adapter(void **state)
{
	struct fx *f = *state;
	struct cmd c = ask_cmd(DATA_KEY, false, true, false, false, 0);
	struct rb_channel_attr a;
	struct reply_channel r;
	struct rb_channel *rc;

	do_startup(f);
	strcpy(c.u.ask_channel.shm_path, "/dev/shm/x/s-20261202-101010/ust/uid/7/64-bit/chan_");
	strcpy(c.u.ask_channel.root_shm_path, "/dev/shm/x/s-20261202-101010");
	c.u.ask_channel.buffer_creds.uid = 4242;
	c.u.ask_channel.buffer_creds.gid = 4343;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
	assert_int_equal(r.code, CONSUMER_SUCCESS);
	get_channel(f, DATA_KEY, 0);
	rc = sim_rb_channel_lookup(&f->rb, f->objs.chan.sim_id);
	assert_non_null(rc);
	assert_int_equal(sim_rb_channel_attr(rc, &a), 0);
	assert_string_equal(a.shm_path, c.u.ask_channel.shm_path);
	assert_string_equal(a.shm_root, c.u.ask_channel.root_shm_path);
	assert_int_equal(a.shm_uid, 4242);
	assert_int_equal(a.shm_gid, 4343);
}

/*
 * Relay pairs: an unsupported version or transport is refused with
 * RELAYD_FAIL (the socket closed), a socket received twice too; commands
 * naming an incomplete or unknown pair fail cleanly; DESTROY_RELAYD drops a
 * known pair once.
 */
static void add_relayd_sock(struct fx *f, uint32_t minor, enum cmd_sock_proto proto,
			    int32_t expect)
{
	struct cmd c = { .type = CMD_ADD_RELAYD_SOCKET };
	int32_t ack;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.u.relayd_sock.relayd_id = 3;
	c.u.relayd_sock.type = CMD_RELAYD_CONTROL;
	c.u.relayd_sock.proto = proto;
	c.u.relayd_sock.major = 2;
	c.u.relayd_sock.minor = minor;
	c.u.relayd_sock.session_id = SESSION;
	assert_int_equal(fake_sessiond_cmd_fd(&f->fs, &c, p[0], &ack), expect);
	assert_int_equal(ack, 0);
	close(p[0]);
	close(p[1]);
}

static void test_relayd_errors(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	do_startup(f);
	add_relayd_sock(f, 10, CMD_SOCK_TCP, CONSUMER_RELAYD_FAIL);
	add_relayd_sock(f, 13, CMD_SOCK_UDP, CONSUMER_RELAYD_FAIL);
	add_relayd_sock(f, 13, CMD_SOCK_TCP, CONSUMER_SUCCESS);
	add_relayd_sock(f, 13, CMD_SOCK_TCP, CONSUMER_RELAYD_FAIL);
	/* Without its data socket the pair cannot be used. */
	c = (struct cmd){ .type = CMD_CREATE_TRACE_CHUNK };
	c.u.create_chunk.relayd_id.set = true;
	c.u.create_chunk.relayd_id.value = 3;
	c.u.create_chunk.session_id = SESSION;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CREATE_TRACE_CHUNK_FAILED);
	c = (struct cmd){ .type = CMD_TRACE_CHUNK_EXISTS };
	c.u.chunk_exists.relayd_id.set = true;
	c.u.chunk_exists.relayd_id.value = 3;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_INVALID_PARAMETERS);
	{
		struct reply_close_chunk rc;

		c = (struct cmd){ .type = CMD_CLOSE_TRACE_CHUNK };
		c.u.close_chunk.relayd_id.set = true;
		c.u.close_chunk.relayd_id.value = 3;
		assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
		assert_int_equal(fake_sessiond_recv_close_chunk(&f->fs, &rc), 0);
		/* stock order: the chunk lookup comes first */
		assert_int_equal(rc.code, CONSUMER_UNKNOWN_TRACE_CHUNK);
		assert_string_equal(rc.path, "");
		/* a known chunk is closed all the same, then the unusable relayd fails it */
		assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
		c.u.close_chunk.session_id = SESSION;
		assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
		assert_int_equal(fake_sessiond_recv_close_chunk(&f->fs, &rc), 0);
		assert_int_equal(rc.code, CONSUMER_CLOSE_TRACE_CHUNK_FAILED);
		assert_string_equal(rc.path, "");
		assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
	}
	{
		struct cmd a = { .type = CMD_ASK_CHANNEL };
		struct reply_channel r;

		a.u.ask_channel.key = 4;
		a.u.ask_channel.type = CMD_CHAN_PER_CPU;
		a.u.ask_channel.mode = CMD_MODE_DISCARD;
		a.u.ask_channel.subbuf_size = 4096;
		a.u.ask_channel.num_subbuf = 4;
		a.u.ask_channel.relayd_id.set = true;
		a.u.ask_channel.relayd_id.value = 3;
		strcpy(a.u.ask_channel.name, "chan");
		assert_int_equal(fake_sessiond_send(&f->fs, &a), 0);
		assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
		assert_int_equal(r.code, CONSUMER_CHANNEL_FAIL);
	}
	assert_int_equal(ask(f, MD_KEY, true, true, false, false, 0).code, 0);
	c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
	c.u.snapshot.key = MD_KEY;
	c.u.snapshot.use_relayd = true;
	c.u.snapshot.relayd_id.set = true;
	c.u.snapshot.relayd_id.value = 3;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	c = (struct cmd){ .type = CMD_DESTROY_RELAYD };
	c.u.destroy_relayd.relayd_id = 3;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SUCCESS);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_RELAYD_FAIL);
}

/* Undecodable messages get an error reply; the consumer keeps serving. */
static void test_decode_errors(void **state)
{
	struct fx *f = *state;
	uint8_t msg[WIRE_MSG_SIZE];
	uint32_t type;
	struct cmd c = { .type = CMD_ASK_CHANNEL };
	struct reply_channel r;

	do_startup(f);
	memset(msg, 0, sizeof(msg));
	type = 99;
	memcpy(msg, &type, 4);
	/* in two halves: the consumer must keep the partial message */
	assert_int_equal(fake_sessiond_send_raw(&f->fs, msg, 100), 0);
	sim_run_until_idle(&f->st, 1000);
	assert_int_equal(fake_sessiond_send_raw(&f->fs, msg + 100, sizeof(msg) - 100), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), CONSUMER_INVALID_PARAMETERS);
	type = 0; /* ADD_CHANNEL: kernel only */
	memcpy(msg, &type, 4);
	assert_int_equal(fake_sessiond_send_raw(&f->fs, msg, sizeof(msg)), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), CONSUMER_INVALID_PARAMETERS);
	/* ASK with a bad geometry: STC echoing the key */
	c.u.ask_channel.key = 12;
	c.u.ask_channel.type = CMD_CHAN_PER_CPU;
	c.u.ask_channel.mode = CMD_MODE_DISCARD;
	c.u.ask_channel.subbuf_size = 3000;
	c.u.ask_channel.num_subbuf = 4;
	strcpy(c.u.ask_channel.name, "chan");
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
	assert_int_equal(r.code, CONSUMER_CHANNEL_FAIL);
	assert_int_equal(r.key, 12);
	/* shapes of the other replies */
	type = WIRE_CMD_DATA_PENDING;
	memcpy(msg, &type, 4);
	msg[WIRE_MSG_SIZE - 1] = 0;
	{
		static const uint32_t types[] = { WIRE_CMD_DATA_PENDING, WIRE_CMD_DISCARDED_EVENTS,
						  WIRE_CMD_CLOSE_TRACE_CHUNK, WIRE_CMD_PUSH_METADATA };
		for (unsigned int i = 0; i < 4; i++) {
			memset(msg, 0, sizeof(msg));
			memcpy(msg, &types[i], 4);
			msg[4] = 7; /* invalid optional / flag byte, or a huge offset */
			memset(msg + 12, 0xff, 16);
			if (wire_decode(msg, &c) == 0)
				continue;
			assert_int_equal(fake_sessiond_send_raw(&f->fs, msg, sizeof(msg)), 0);
			if (types[i] == WIRE_CMD_DATA_PENDING)
				assert_int_equal(fake_sessiond_recv_i32(&f->fs), 0);
			else if (types[i] == WIRE_CMD_DISCARDED_EVENTS)
				assert_int_equal(fake_sessiond_recv_u64(&f->fs), 0);
			else if (types[i] == WIRE_CMD_CLOSE_TRACE_CHUNK) {
				struct reply_close_chunk rc;

				assert_int_equal(fake_sessiond_recv_close_chunk(&f->fs, &rc), 0);
				assert_int_equal(rc.code, CONSUMER_CLOSE_TRACE_CHUNK_FAILED);
			} else
				assert_int_equal(fake_sessiond_recv_status(&f->fs), CONSUMER_ERROR_METADATA);
		}
	}
	c = (struct cmd){ .type = CMD_INIT };
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ALREADY_SET);
}

/* Snapshot session: two records into two chunks, each readable. */
static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct reply_channel r;
	struct cmd c;
	char *tsdl;
	uint64_t written;
	struct metadata_request req;

	do_startup(f);
	r = ask(f, DATA_KEY, false, false, true, false, 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.stream_count, 2);
	get_channel(f, DATA_KEY, 1);
	r = ask(f, MD_KEY, true, false, false, false, 0);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.stream_count, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	c = c_key(CMD_OPEN_CHANNEL_PACKETS, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	written = write_events(f, 20);

	for (int rec = 1; rec <= 2; rec++) {
		char sub[16];

		snprintf(sub, sizeof(sub), "snap%d", rec);
		assert_int_equal(create_chunk(f, SESSION, (uint64_t)rec, sub), 0);
		c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
		c.u.snapshot.key = DATA_KEY;
		strcpy(c.u.snapshot.pathname, PATHNAME);
		assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
		c.u.snapshot.key = MD_KEY;
		c.u.snapshot.metadata = true;
		assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
		assert_int_equal(fake_sessiond_serve_metadata(&f->fs, &req, strlen(tsdl), 0, NULL, 0,
							      false), 0);
		assert_int_equal(req.key, MD_KEY);
		assert_int_equal(req.bits_per_long, 64);
		assert_int_equal(req.uid, 1000);
		assert_int_equal(req.session_id, SESSION);
		assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
		assert_int_equal(close_chunk(f, (uint64_t)rec, false), 0);
		assert_int_equal(chunk_exists(f, (uint64_t)rec), CONSUMER_UNKNOWN_TRACE_CHUNK);
		assert_int_equal(bt2_count(f, sub), (long)written);
		assert_int_equal(file_size(f, sub, "index/chan_0.idx"), -1);
		written += write_events(f, 10);
	}
	free(tsdl);
	c = c_key(CMD_CLEAR_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	{
		struct consumer_stats s;

		consumer_get_stats(f->c, &s);
		assert_int_equal(s.channels, 0);
		assert_int_equal(s.streams, 0);
	}
}

/* Rotation to a new chunk mid-run: both chunks readable, every event in one of them. */
static void test_rotation(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	uint64_t written;
	long a, b;

	monitored_session(f, 0, "c0", 1);
	written = write_events(f, 30);
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(close_chunk(f, 0, false), 0);
	written += write_events(f, 30);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
	assert_int_equal(chunk_exists(f, 1), CONSUMER_TRACE_CHUNK_EXISTS_LOCAL);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 1, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 1), CONSUMER_UNKNOWN_TRACE_CHUNK);
	a = bt2_count(f, "c0");
	b = bt2_count(f, "c1");
	assert_true(a > 0);
	assert_true(b > 0);
	assert_int_equal(a + b, (long)written);
}

/* CLEAR then DELETE close: the old chunk's files are unlinked once released. */
static void test_clear_delete(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	monitored_session(f, 0, "c0", 1);
	write_events(f, 30);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	assert_true(file_size(f, "c0", "chan_0") > 0);
	c = c_key(CMD_CLEAR_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_CLEAR_CHANNEL, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(close_chunk(f, 0, true), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
	assert_int_equal(file_size(f, "c0", "chan_0"), -1);
	assert_int_equal(file_size(f, "c0", "metadata"), -1);
	assert_int_equal(file_size(f, "c0", "index/chan_0.idx"), -1);
	assert_true(file_size(f, "c1", "metadata") > 0);
	c = c_key(CMD_CLEAR_QUIESCENT_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 1, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(bt2_count(f, "c1"), 0);
}

/* Metadata regeneration (version + 1 from offset 0) truncates and rewrites. */
static void test_metadata_regeneration(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	char *tsdl;
	off_t before;
	uint64_t written;

	monitored_session(f, 0, "c0", 1);
	before = file_size(f, "c0", "metadata");
	assert_true(before > 0);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 1, tsdl, strlen(tsdl)), 0);
	assert_int_equal(file_size(f, "c0", "metadata"), before);
	/* a len-0 push and an overlapping re-send change nothing */
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, strlen(tsdl), 1, NULL, 0), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 1, tsdl, 10), 0);
	free(tsdl);
	written = write_events(f, 5);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);   /* already quiescent */
	data_pending_until_zero(f);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(file_size(f, "c0", "metadata"), before);
	assert_int_equal(bt2_count(f, "c0"), (long)written);
}

static void stats_streams_gone(struct fx *f, uint64_t expect);

/* Statistics commands and the monitor timer's samples. */
static void test_stats_and_monitor(void **state)
{
	struct fx *f = *state;
	struct cmd c = { .type = CMD_DISCARDED_EVENTS };
	struct reply_channel r;
	struct monitor_sample m;
	uint8_t b[WIRE_MONITOR_SAMPLE_SIZE];
	struct cmd a = { .type = CMD_ASK_CHANNEL };

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	a.u.ask_channel.key = DATA_KEY;
	a.u.ask_channel.session_id = SESSION;
	a.u.ask_channel.type = CMD_CHAN_PER_CPU;
	a.u.ask_channel.mode = CMD_MODE_DISCARD;
	a.u.ask_channel.subbuf_size = 4096;
	a.u.ask_channel.num_subbuf = 2;
	a.u.ask_channel.monitor = true;
	a.u.ask_channel.monitor_timer_us = 1000;
	a.u.ask_channel.chunk_id.set = true;
	a.u.ask_channel.buffer_creds.uid = getuid();
	a.u.ask_channel.buffer_creds.gid = getgid();
	strcpy(a.u.ask_channel.pathname, PATHNAME);
	strcpy(a.u.ask_channel.name, "chan");
	assert_int_equal(fake_sessiond_send(&f->fs, &a), 0);
	assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
	assert_int_equal(r.code, 0);
	get_channel(f, DATA_KEY, 1);
	/* a full discard ring: events are dropped until the consumer reads */
	write_events(f, 2000);
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->mon_rd, WIRE_MONITOR_SAMPLE_SIZE));
	assert_int_equal(read(f->mon_rd, b, sizeof(b)), (ssize_t)sizeof(b));
	wire_decode_monitor_sample(b, &m);
	assert_int_equal(m.key, DATA_KEY);
	assert_true(m.highest >= m.lowest);
	/* the final flush needs a free sub-buffer for its packet: read first */
	data_pending_until_zero(f);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	c = (struct cmd){ .type = CMD_DISCARDED_EVENTS };
	c.u.stats.session_id = SESSION;
	c.u.stats.key = DATA_KEY;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_true(sim_app_events_dropped(f->apps[0]) > 0);
	assert_int_equal(fake_sessiond_recv_u64(&f->fs), sim_app_events_dropped(f->apps[0]));
	c.type = CMD_LOST_PACKETS;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_u64(&f->fs), 0);
	/* the streams hang up, the channel stays: its total stays */
	stats_streams_gone(f, sim_app_events_dropped(f->apps[0]));
}

/* Monitor timers pending on the loops ("monitor timer" sources). */
static unsigned int monitor_timers(struct fx *f)
{
	char buf[4096];
	unsigned int n = 0;

	sim_stepper_describe_pending(&f->st, buf, sizeof(buf));
	for (const char *p = buf; (p = strstr(p, "'monitor timer'")); p++)
		n++;
	return n;
}

/*
 * Channels of one sampling period share one timer (monitor.c): three
 * channels, two periods, two timers; every channel is sampled; the timers
 * go with the last stream of their channels.
 */
static void test_monitor_timer_shared_by_period(void **state)
{
	static const uint32_t period_us[] = { 1000, 1000, 2000 };
	struct fx *f = *state;
	uint8_t b[WIRE_MONITOR_SAMPLE_SIZE];
	struct sim_app_objects objs[3];
	struct monitor_sample m;
	bool seen[3] = { false };
	struct reply_channel r;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	for (unsigned int i = 0; i < 3; i++) {
		struct cmd a = ask_cmd(10 + i, false, true, false, true, 0);

		a.u.ask_channel.monitor_timer_us = period_us[i];
		snprintf(a.u.ask_channel.name, sizeof(a.u.ask_channel.name), "chan%u", i);
		assert_int_equal(fake_sessiond_send(&f->fs, &a), 0);
		assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
		assert_int_equal(r.code, 0);
		/* Kept as the session daemon keeps them: closing them releases the channel. */
		get_channel(f, 10 + i, 0);
		objs[i] = f->objs;
		f->have_objs = false;
	}
	assert_int_equal(monitor_timers(f), 2);
	for (unsigned int i = 0; i < 12 && !(seen[0] && seen[1] && seen[2]); i++) {
		assert_true(fake_sessiond_wait_bytes(&f->fs, f->mon_rd, sizeof(b)));
		assert_int_equal(read(f->mon_rd, b, sizeof(b)), (ssize_t)sizeof(b));
		wire_decode_monitor_sample(b, &m);
		assert_true(m.key >= 10 && m.key < 13);
		seen[m.key - 10] = true;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	/* The session daemon's copies go: channels and streams hang up. */
	for (unsigned int i = 0; i < 3; i++)
		sim_app_objects_close(&objs[i]);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(monitor_timers(f), 0);
}

static uint64_t channel_stat(struct fx *f, enum cmd_type t, uint64_t session, uint64_t key)
{
	struct cmd c = { .type = t };

	c.u.stats.session_id = session;
	c.u.stats.key = key;
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	return fake_sessiond_recv_u64(&f->fs);
}

/*
 * DISCARDED_EVENTS of DATA_KEY: `expect` while the channel lives, 0 for
 * another session or an unknown key, 0 once the channel is gone (as stock).
 */
static void stats_streams_gone(struct fx *f, uint64_t expect)
{
	struct consumer_stats st;

	assert_int_equal(channel_stat(f, CMD_DISCARDED_EVENTS, SESSION, DATA_KEY), expect);
	assert_int_equal(channel_stat(f, CMD_DISCARDED_EVENTS, SESSION + 1, DATA_KEY), 0);
	assert_int_equal(channel_stat(f, CMD_DISCARDED_EVENTS, SESSION, 99), 0);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	consumer_get_stats(f->c, &st);
	assert_int_equal(st.channels, 0);
	assert_int_equal(st.streams, 0);
	assert_int_equal(channel_stat(f, CMD_DISCARDED_EVENTS, SESSION, DATA_KEY), 0);
}

/* Sum of the sizes of the files the session wrote in `sub`. */
static off_t trace_bytes(struct fx *f, const char *sub)
{
	static const char *const names[] = { "chan_0", "chan_1", "metadata" };
	off_t total = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (file_size(f, sub, names[i]) > 0)
			total += file_size(f, sub, names[i]);
	return total;
}

/*
 * §3.11 step 4: after a rotation to a new chunk, each data stream opens an
 * (empty) packet there at once, before any event or stop; the written
 * packets and bytes are counted as they are written (open streams).
 */
static void test_rotation_opens_packets(void **state)
{
	struct fx *f = *state;
	struct consumer_stats st;
	struct cmd c;
	uint64_t written;

	monitored_session(f, 0, "c0", 1);
	written = write_events(f, 40);
	data_pending_until_zero(f);
	consumer_get_stats(f->c, &st);
	assert_true(st.packets_written > 0);
	assert_int_equal(st.bytes_written, (uint64_t)trace_bytes(f, "c0"));
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	sim_run_until_idle(&f->st, 100000);
	/* no event since the rotation, yet both streams have a packet in c1 */
	assert_true(file_size(f, "c1", "chan_0") > 0);
	assert_true(file_size(f, "c1", "chan_1") > 0);
	consumer_get_stats(f->c, &st);
	assert_int_equal(st.bytes_written, (uint64_t)(trace_bytes(f, "c0") + trace_bytes(f, "c1")));
	assert_int_equal(close_chunk(f, 0, false), 0);
	written += write_events(f, 10);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 1, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(bt2_count(f, "c0") + bt2_count(f, "c1"), (long)written);
}

/*
 * §3.11 step 4 with full rings: the packet cannot be opened at the rotation
 * (no free sub-buffer); it is opened after the first packet consumed, once
 * per stream, and the two chunks still hold every event.
 */
static void test_rotation_full_ring_opens_later(void **state)
{
	struct fx *f = *state;
	struct sim_op_count *flush = &f->w.faults.op[SIM_OP_FLUSH];
	struct cmd c;
	uint64_t written, flushes;

	monitored_session(f, 0, "c0", 1);
	/* the consumer cannot read: the discard rings fill up */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .every = 1, .err = RB_ERROR });
	written = write_events(f, 2000);
	sim_run_until_idle(&f->st, 100000);
	assert_true(sim_app_events_dropped(f->apps[0]) > 0);
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	flushes = flush->calls;
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	sim_run_until_idle(&f->st, 100000);
	/* per stream: the step-1 flush and the (failed) packet open */
	assert_int_equal(flush->calls - flushes, 4);
	sim_fault_disarm(&f->w.faults, SIM_OP_GET_NEXT_SUBBUF);
	flushes = flush->calls;
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	/* per stream: the final flush, then one packet open after the first read */
	assert_int_equal(flush->calls - flushes, 4);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(close_chunk(f, 0, false), 0);
	assert_true(file_size(f, "c1", "chan_0") > 0);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 1, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(bt2_count(f, "c0") + bt2_count(f, "c1"), (long)written);
}


/* ---- fault recovery: metadata pump retries, hand-off and wakeup-fd failures ---- */

/* Start-up, chunk 0, data channel handed out to one app, metadata channel set up. */
static void session_before_push(struct fx *f)
{
	struct reply_channel r;
	struct cmd c;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	r = ask(f, DATA_KEY, false, true, false, true, 0);
	assert_int_equal(r.code, 0);
	get_channel(f, DATA_KEY, 1);
	r = ask(f, MD_KEY, true, true, false, true, 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
}

/* The session daemon and the apps go away: the consumer must quit, leaving nothing. */
static void expect_quit(struct fx *f)
{
	struct consumer_stats s;

	drop_apps(f);
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 100000), SIM_STEP_PRED_TRUE);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(f->quit_calls, 1);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.channels, 0);
	assert_int_equal(s.streams, 0);
}

/*
 * One failed metadata write (ENOSPC once, then a failed ring read): nothing
 * wakes the stream again, so the retry timer must re-run the pump on virtual
 * time; the push then succeeds and the trace is complete.
 */
static void test_metadata_pump_transient_retry(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	uint64_t t0, written;
	char *tsdl;

	session_before_push(f);
	tsdl = data_tsdl(f);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = ENOSPC });
	t0 = sim_world_now(&f->w);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	/* the reply waited for the first retry, not for a wake-up that never came */
	assert_true(sim_world_now(&f->w) - t0 >= 1000000);
	assert_true(file_size(f, "c0", "metadata") >= (off_t)strlen(tsdl));
	/* a second failure, at another call of the pump, is retried the same way */
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .err = RB_ERROR });
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, strlen(tsdl), 0, "\n", 1), 0);
	free(tsdl);
	written = write_events(f, 10);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	expect_quit(f);
	assert_int_equal(bt2_count(f, "c0"), (long)written);
}

/*
 * A metadata write that keeps failing: the push ends (bounded virtual time)
 * with ERROR_METADATA, later pushes fail at once, the stream is closed
 * cleanly and the consumer still quits.
 */
static void test_metadata_pump_persistent_error(void **state)
{
	struct fx *f = *state;
	struct consumer_stats s;
	uint64_t t0, errors;
	char *tsdl;

	session_before_push(f);
	tsdl = data_tsdl(f);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .every = 1, .err = RB_ERROR });
	t0 = sim_world_now(&f->w);
	consumer_get_stats(f->c, &s);
	errors = s.command_errors;
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)),
			 CONSUMER_ERROR_METADATA);
	/* 1 + 2 + 4 + 8 + 16 ms of retries, nothing more */
	assert_true(sim_world_now(&f->w) - t0 >= 31000000);
	assert_true(sim_world_now(&f->w) - t0 < 1000000000);
	assert_int_equal(f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].fired, 1 + 5);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.command_errors, errors + 1);
	/* the stream gave up: the next push does not wait */
	t0 = sim_world_now(&f->w);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)),
			 CONSUMER_ERROR_METADATA);
	assert_int_equal(sim_world_now(&f->w), t0);
	assert_int_equal(f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].fired, 1 + 5);
	sim_fault_disarm(&f->w.faults, SIM_OP_WRITE_METADATA_PACKET);
	/* a fresh output (rotation) makes the stream write again */
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, strlen(tsdl), 0, "\n", 1), 0);
	assert_true(file_size(f, "c1", "metadata") > (off_t)strlen(tsdl));
	free(tsdl);
	expect_quit(f);
}

/* A persistent output error at the last pump (CLOSE_METADATA): the stream still closes. */
static void test_metadata_pump_error_at_close(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	char *tsdl;

	session_before_push(f);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .every = 1, .err = RB_ERROR });
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	sim_run_until_idle(&f->st, 100000);
	sim_fault_disarm(&f->w.faults, SIM_OP_GET_NEXT_SUBBUF);
	expect_quit(f);
}

/* Read and drop whatever the consumer left on the command socket, closing passed fds. */
static void drain_cmd_socket(struct fx *f)
{
	char buf[4096];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 8)];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m;
	struct cmsghdr *h;
	ssize_t n;

	do {
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cm.b;
		m.msg_controllen = sizeof(cm.b);
		n = recvmsg(f->fs.cmd_fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		for (h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
			int *fds = (int *)CMSG_DATA(h);
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++)
				close(fds[i]);
		}
	} while (n > 0);
}

/* GET_CHANNEL whose object sending fails at `op`: error, channel kept private. */
static void get_channel_failing(struct fx *f, uint64_t key, enum sim_op op, uint64_t nth)
{
	struct cmd c = c_key(CMD_GET_CHANNEL, key);
	struct consumer_stats s;

	sim_fault_arm(&f->w.faults, &(struct sim_fault){ .op = op, .nth = nth, .err = RB_IO });
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(f->w.faults.op[op].fired, 1);
	drain_cmd_socket(f);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.command_errors, 1);
	/* never handed over: a second GET_CHANNEL still finds it */
	assert_int_equal(s.channels, 1);
}

/*
 * A failed object hand-off (GET_CHANNEL): the channel is not dispatched, the
 * DESTROY_CHANNEL the session daemon sends next frees it; one never
 * destroyed is freed at quit.
 */
static void test_get_channel_send_failure(void **state)
{
	struct fx *f = *state;
	struct consumer_stats s;
	struct cmd c;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	get_channel_failing(f, DATA_KEY, SIM_OP_SEND_STREAM, 2);
	c = c_key(CMD_DESTROY_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.channels, 0);
	assert_int_equal(s.streams, 0);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_SEND_CHANNEL, .nth = 1, .err = RB_IO });
	c = c_key(CMD_GET_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), CONSUMER_FATAL);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.channels, 1);
	assert_int_equal(s.streams, 2);
	expect_quit(f);
}

/*
 * Our copy of the channel wakeup fd cannot be closed (persistently): the
 * channel never hangs up by itself; at quit the close is retried and the
 * channel treated as released, and the data written is all in the trace.
 */
static void test_channel_close_wakeup_fd_failure(void **state)
{
	struct fx *f = *state;
	uint64_t written;
	struct cmd c;
	char *tsdl;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_CHANNEL_CLOSE_WAKEUP_FD, .nth = 1, .every = 1, .err = RB_ERROR });
	get_channel(f, DATA_KEY, 1);
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
	written = write_events(f, 10);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	/* everyone else released the channel, but our copy keeps it open */
	assert_int_equal(f->quit_calls, 0);
	expect_quit(f);
	assert_int_equal(f->w.faults.op[SIM_OP_CHANNEL_CLOSE_WAKEUP_FD].fired, 2);
	assert_int_equal(bt2_count(f, "c0"), (long)written);
}

/*
 * The close of our stream wakeup fds fails: once transiently (the immediate
 * retry closes it), then persistently (the stream is hung up at once: its
 * channel was released by every producer).  Quit still ends, data complete.
 */
static void test_stream_close_wakeup_fd_failure(void **state)
{
	struct fx *f = *state;
	uint64_t written;
	char *tsdl;

	session_before_push(f);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
	written = write_events(f, 10);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_STREAM_CLOSE_WAKEUP_FD, .nth = 1, .err = RB_ERROR });
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(f->w.faults.op[SIM_OP_STREAM_CLOSE_WAKEUP_FD].fired, 1);
	expect_quit(f);
	assert_int_equal(bt2_count(f, "c0"), (long)written);
}

static void test_stream_close_wakeup_fd_persistent(void **state)
{
	struct fx *f = *state;
	uint64_t written;
	char *tsdl;

	session_before_push(f);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
	written = write_events(f, 10);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_STREAM_CLOSE_WAKEUP_FD, .nth = 1, .every = 1, .err = RB_ERROR });
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	/* two tries per stream, then the forced hang-up */
	assert_int_equal(f->w.faults.op[SIM_OP_STREAM_CLOSE_WAKEUP_FD].fired, 4);
	expect_quit(f);
	assert_int_equal(bt2_count(f, "c0"), (long)written);
}

/*
 * The close of our channel wakeup fd fails once at GET_CHANNEL: the channel
 * cannot hang up while every other holder is gone; the retry at quit closes
 * it and the ordinary hang-up then releases it.
 */
static void test_channel_close_wakeup_fd_transient(void **state)
{
	struct fx *f = *state;
	struct consumer_stats s;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_CHANNEL_CLOSE_WAKEUP_FD, .nth = 1, .err = RB_ERROR });
	get_channel(f, DATA_KEY, 1);
	write_events(f, 5);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.channels, 1);
	assert_int_equal(s.streams, 2);
	expect_quit(f);
	assert_int_equal(f->w.faults.op[SIM_OP_CHANNEL_CLOSE_WAKEUP_FD].fired, 1);
	assert_int_equal(f->w.faults.op[SIM_OP_CHANNEL_CLOSE_WAKEUP_FD].calls, 2);
}

/*
 * Everyone releases the channel right after GET_CHANNEL, before the data
 * loop took the streams: whichever of the hang-up and the hand-off the
 * stepper runs first (over several seeds), the streams hang up and the
 * channel is freed without waiting for the quit.
 */
static void test_release_races_hand_off(void **state)
{
	uint64_t saved = seed;

	(void)state;
	for (seed = 1; seed <= 24; seed++) {
		struct consumer_stats s;
		struct cmd c = c_key(CMD_GET_CHANNEL, DATA_KEY);
		struct fx *f;
		void *st = NULL;

		assert_int_equal(setup(&st), 0);
		f = st;
		do_startup(f);
		assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
		assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
		assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
		assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
		assert_int_equal(sim_app_objects_recv(f->fs.cmd_fd, &f->objs), 0);
		sim_app_objects_close(&f->objs);
		assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
		sim_run_until_idle(&f->st, 100000);
		consumer_get_stats(f->c, &s);
		assert_int_equal(s.channels, 0);
		assert_int_equal(s.streams, 0);
		expect_quit(f);
		assert_int_equal(teardown(&st), 0);
	}
	seed = saved;
}

/* PUSH_METADATA sent (command, ack, bytes) without waiting for its final status. */
static void push_no_wait(struct fx *f, uint64_t offset, const void *buf, size_t len)
{
	struct cmd c = { .type = CMD_PUSH_METADATA };

	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.target_offset = offset;
	c.u.push_metadata.len = len;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fdpass_send_all(f->fs.cmd_fd, buf, len), 0);
}

static void ask_md_switch_timer(struct fx *f);

/* write_metadata_packet failures to wait for (sim_step_until predicate). */
static uint64_t md_fired_target;

static bool md_write_failed(void *arg)
{
	struct fx *f = arg;

	return f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET].fired >= md_fired_target;
}

/*
 * Wake-ups of the metadata stream (bytes from the switch timer's metadata
 * request) while a retry is armed: a failing one leaves the armed retry in
 * charge; a succeeding one cancels it.  Either way both waits end.
 */
static void test_metadata_wake_while_retry_armed(void **state)
{
	struct fx *f = *state;
	struct sim_op_count *wmp = &f->w.faults.op[SIM_OP_WRITE_METADATA_PACKET];
	char *tsdl;
	size_t len;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	get_channel(f, DATA_KEY, 1);
	ask_md_switch_timer(f);
	tsdl = data_tsdl(f);
	len = strlen(tsdl);
	/*
	 * round 1: with a metadata request already pending (so that its answer
	 * is read before the retry is due), the push fails and arms the retry,
	 * the wake-up of the answer fails again, the retry succeeds
	 */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .err = RB_ERROR });
	push_no_wait(f, 0, tsdl, len / 2);
	md_fired_target = 1;
	assert_int_equal(sim_step_until(&f->st, md_write_failed, f, 100000), SIM_STEP_PRED_TRUE);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .err = RB_ERROR });
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 0, tsdl, len / 2 + 10, false),
			 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	assert_int_equal(wmp->fired, 2);
	/* round 2: the wake-up succeeds and cancels the armed retry */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_WRITE_METADATA_PACKET, .nth = 1, .err = RB_ERROR });
	push_no_wait(f, len / 2 + 10, tsdl + len / 2 + 10, 10);
	md_fired_target = 3;
	assert_int_equal(sim_step_until(&f->st, md_write_failed, f, 100000), SIM_STEP_PRED_TRUE);
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 0, tsdl, len, false), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	assert_int_equal(wmp->fired, 3);
	assert_true(file_size(f, "c0", "metadata") >= (off_t)len);
	free(tsdl);
	expect_quit(f);
}

/* Destroying the consumer in the middle of a session frees everything. */
static void test_destroy_midway(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	monitored_session(f, 0, "c0", 2);
	write_events(f, 50);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	/* a second, never dispatched channel and a pending rotation target */
	assert_int_equal(ask(f, 9, false, true, false, true, 0).code, 0);
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	/* DESTROY_CHANNEL of a dispatched channel only drops the command side */
	c = c_key(CMD_DESTROY_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	sim_run_until_idle(&f->st, 1000);
}

/* ASK + SETUP of a monitored metadata channel with a 1 ms switch timer. */
static void ask_md_switch_timer(struct fx *f)
{
	struct cmd c = { .type = CMD_ASK_CHANNEL };
	struct cmd_ask_channel *a = &c.u.ask_channel;
	struct reply_channel r;

	a->key = MD_KEY;
	a->session_id = SESSION;
	a->session_id_per_pid = 33;
	a->type = CMD_CHAN_METADATA;
	a->subbuf_size = 4096;
	a->num_subbuf = 2;
	a->switch_timer_us = 1000;
	a->monitor = true;
	a->ust_app_uid = 1000;
	a->chunk_id.set = true;
	a->chan_id = UINT32_MAX;
	a->buffer_creds.uid = getuid();
	a->buffer_creds.gid = getgid();
	strcpy(a->pathname, PATHNAME);
	strcpy(a->name, "metadata");
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_recv_channel(&f->fs, &r), 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
}

/* Command socket EOF while a metadata request waits for its answer. */
static void test_eof_with_pending_metadata_request(void **state)
{
	struct fx *f = *state;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	ask_md_switch_timer(f);
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 100000), SIM_STEP_PRED_TRUE);
	assert_int_equal(f->quit_calls, 1);
}

/* The metadata switch timer asks the session daemon for metadata. */
static void test_metadata_switch_timer(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	struct reply_channel r;
	struct metadata_request req;
	char *tsdl;
	size_t len;
	uint8_t junk[WIRE_MSG_SIZE] = { 0 };

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	r = ask(f, DATA_KEY, false, true, false, true, 0);
	assert_int_equal(r.code, 0);
	get_channel(f, DATA_KEY, 1);
	ask_md_switch_timer(f);
	tsdl = data_tsdl(f);
	len = strlen(tsdl);
	/* tick 1: the whole TSDL, acknowledged once it is written out */
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, &req, 0, 0, tsdl, len, false), 0);
	assert_int_equal(req.session_id_per_pid, 33);
	assert_true(file_size(f, "c0", "metadata") >= (off_t)len);
	free(tsdl);
	/* tick 2: nothing new; tick 3: no registry */
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, len, 0, NULL, 0, false), 0);
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 0, NULL, 0, true), 0);
	/* tick 4: garbage makes the metadata socket unusable; the consumer keeps serving */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	assert_int_equal(read(f->fs.md_fd, junk, WIRE_METADATA_REQUEST_SIZE),
			 WIRE_METADATA_REQUEST_SIZE);
	memset(junk, 0, sizeof(junk));
	junk[0] = 99;
	assert_int_equal(write(f->fs.md_fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	/* the failed request stops the periodic timer: the simulation goes idle */
	assert_int_equal(sim_run_until_idle(&f->st, 20000), SIM_STEP_IDLE);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(bt2_count(f, "c0"), 0);
}

/* The metadata socket breaks during a metadata snapshot: SNAPSHOT_FAILED. */
static void test_metadata_socket_eof(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	struct reply_channel r;
	uint8_t req[WIRE_METADATA_REQUEST_SIZE];

	do_startup(f);
	r = ask(f, MD_KEY, true, false, false, false, 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, "/* CTF 1.8 */", 13), 0);
	c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
	c.u.snapshot.key = MD_KEY;
	c.u.snapshot.metadata = true;
	/* no chunk yet */
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	assert_int_equal(create_chunk(f, SESSION, 0, "s0"), 0);
	assert_int_equal(fake_sessiond_send(&f->fs, &c), 0);
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, sizeof(req)));
	assert_int_equal(read(f->fs.md_fd, req, sizeof(req)), (ssize_t)sizeof(req));
	close_md_socket(f);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), CONSUMER_SNAPSHOT_FAILED);
	/* later requests fail at once */
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 0, false), 0);
	sim_run_until_idle(&f->st, 1000);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
}

/* Requests finished by the tests below, and how. */
struct md_reqs {
	struct metadata_req *m;
	uint64_t done, failed, resubmit;
};

static void md_req_cb(struct consumer *c, void *arg, int32_t code)
{
	struct md_reqs *q = arg;

	(void)c;
	q->done++;
	q->failed += code == CONSUMER_ERROR_METADATA;
	/* A callback that asks again, as the switch timer's next tick may. */
	if (q->resubmit) {
		q->resubmit--;
		assert_int_equal(metadata_req_submit(q->m, MD_KEY, false, md_req_cb, q), 0);
	}
}

/*
 * Regression: the metadata socket dies with many requests queued.  Each
 * finished request started the next one from inside the previous one's
 * end (mreq_finish -> mreq_next -> mreq_die -> mreq_finish ...), one stack
 * frame chain per request: 200,000 of them overflowed the stack.  Then a
 * callback that submits again on a dead socket: the same chain.
 */
static void test_metadata_socket_death_many_queued(void **state)
{
	struct fx *f = *state;
	struct md_reqs q = { .m = consumer_metadata_req(f->c) };
	const uint64_t n = 200000;
	struct cmd c;
	struct reply_channel r;

	do_startup(f);
	r = ask(f, MD_KEY, true, false, false, false, 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(metadata_req_submit(q.m, MD_KEY, false, md_req_cb, &q), 0);
	/* The first is on the socket, the others wait behind it. */
	assert_int_equal(metadata_req_queued(q.m), n);
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	close_md_socket(f);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(q.done, n);
	assert_int_equal(q.failed, n);
	assert_int_equal(metadata_req_queued(q.m), 0);
	assert_false(metadata_req_alive(q.m));
	/* Dead socket: each callback submits again, each submit fails at once. */
	q.done = q.failed = 0;
	q.resubmit = n;
	assert_int_equal(metadata_req_submit(q.m, MD_KEY, false, md_req_cb, &q), 0);
	assert_int_equal(q.done, n + 1);
	assert_int_equal(q.failed, n + 1);
	assert_int_equal(metadata_req_queued(q.m), 0);
}

/* sim_step_until predicate: 100 ms of virtual time went by since T0. */
static bool hundred_ms_later(void *arg)
{
	struct fx *f = arg;

	return sim_world_now(&f->w) >= T0 + 100000000ull;
}

/*
 * Regression: a session daemon that does not answer the metadata switch
 * timer's requests (1 ms period here).  Each tick queued one more request:
 * after 100 ms, about 100 were queued and the queue had no bound.  At most
 * one per channel is queued now; the others' ticks are skipped.
 */
static void test_switch_timer_one_request_queued(void **state)
{
	struct fx *f = *state;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	ask_md_switch_timer(f);
	/* The first request is sent and never answered. */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, WIRE_METADATA_REQUEST_SIZE));
	assert_int_equal(sim_step_until(&f->st, hundred_ms_later, f, 1000000), SIM_STEP_PRED_TRUE);
	assert_int_equal(metadata_req_queued(consumer_metadata_req(f->c)), 1);
	/* Quit: the pending request is cancelled, its callback frees it. */
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 100000), SIM_STEP_PRED_TRUE);
	assert_int_equal(metadata_req_queued(consumer_metadata_req(f->c)), 0);
}

/* Ring-buffer and file-system failures give each command's error code. */
static void test_faults(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	struct consumer *bad;
	struct consumer_env env = { 0 };

	expect_assert_failure(consumer_create(NULL, &bad));
	expect_assert_failure(consumer_create(&env, &bad));
	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), CONSUMER_CREATE_TRACE_CHUNK_FAILED);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_CHANNEL_CREATE, .nth = 1, .err = RB_NOMEM });
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, CONSUMER_CHANNEL_FAIL);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_STREAM_CREATE, .nth = 2, .err = RB_NOMEM });
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, CONSUMER_CHANNEL_FAIL);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_MAX_SUBBUF_SIZE, .nth = 1, .err = RB_ERROR });
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, CONSUMER_CHANNEL_FAIL);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 1, .err = EACCES });
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, CONSUMER_CHANNEL_FAIL);
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	get_channel(f, DATA_KEY, 1);
	write_events(f, 10);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_FLUSH, .nth = 1, .err = RB_ERROR });
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_BUFFER_FLUSH_FAILED);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_CLEAR, .nth = 1, .err = RB_ERROR });
	c = c_key(CMD_CLEAR_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_FATAL);
	c = c_key(CMD_OPEN_CHANNEL_PACKETS, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_GET_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
	c.u.snapshot.key = DATA_KEY;   /* monitored: not a snapshot channel */
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
	/* snapshot channel: private streams */
	assert_int_equal(ask(f, 5, false, false, true, true, 0).code, 0);
	get_channel(f, 5, 1);
	write_events(f, 10);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_FLUSH, .nth = 1, .err = RB_ERROR });
	c = c_key(CMD_OPEN_CHANNEL_PACKETS, 5);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_UNKNOWN_ERROR);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_CLEAR, .nth = 1, .err = RB_ERROR });
	c = c_key(CMD_CLEAR_CHANNEL, 5);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_FATAL);
	c = c_key(CMD_CLEAR_QUIESCENT_CHANNEL, 5);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_FLUSH_CHANNEL, 5);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(rotate(f, 5, false), 0);
	c = (struct cmd){ .type = CMD_SNAPSHOT_CHANNEL };
	c.u.snapshot.key = 5;
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 1, .err = EACCES });
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	sim_fault_arm(&f->w.faults, &(struct sim_fault){
		.op = SIM_OP_SNAPSHOT, .nth = 1, .err = RB_ERROR });
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_SNAPSHOT_FAILED);
	c.u.snapshot.key = DATA_KEY;   /* hung up and freed when its app went away */
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	drop_apps(f);
	sim_run_until_idle(&f->st, 100000);
}

/* End of stream in the middle of a message or while an fd is expected. */
static void test_eof_midway(void **state)
{
	struct fx *f = *state;
	struct cmd c = { .type = CMD_SET_MONITOR_PIPE };
	uint8_t msg[WIRE_MSG_SIZE] = { 0 };

	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);   /* ack; fd never sent */
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 1000), SIM_STEP_PRED_TRUE);
	(void)msg;
}

static void test_eof_partial_message(void **state)
{
	struct fx *f = *state;
	uint8_t msg[WIRE_MSG_SIZE] = { 0 };

	assert_int_equal(fake_sessiond_send_raw(&f->fs, msg, 1000), 0);
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 1000), SIM_STEP_PRED_TRUE);
	assert_int_equal(f->quit_calls, 1);
}

static void test_eof_during_payload(void **state)
{
	struct fx *f = *state;
	struct cmd c = { .type = CMD_PUSH_METADATA };

	do_startup(f);
	assert_int_equal(ask(f, MD_KEY, true, false, false, false, 0).code, 0);
	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.len = 100;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_send_raw(&f->fs, (const uint8_t *)"abc", 3), 0);
	fake_sessiond_close_cmd(&f->fs);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 1000), SIM_STEP_PRED_TRUE);
}


/* Stop, rotate to nothing, start again in a new chunk: nothing leaks across. */
static void test_rotate_to_nothing_then_new_chunk(void **state)
{
	struct fx *f = *state;
	struct cmd c;
	uint64_t w0, w1;

	monitored_session(f, 0, "c0", 1);
	w0 = write_events(f, 20);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	assert_int_equal(close_chunk(f, 0, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 0), CONSUMER_UNKNOWN_TRACE_CHUNK);
	/* without a chunk, packets are consumed and dropped; pushes reply at once */
	c = c_key(CMD_CLEAR_QUIESCENT_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	write_events(f, 10);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	/* start again in chunk 1 */
	assert_int_equal(create_chunk(f, SESSION, 1, "c1"), 0);
	assert_int_equal(rotate(f, DATA_KEY, false), 0);
	assert_int_equal(rotate(f, MD_KEY, true), 0);
	c = c_key(CMD_CLEAR_QUIESCENT_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	w1 = write_events(f, 15);
	c = c_key(CMD_FLUSH_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	data_pending_until_zero(f);
	drop_apps(f);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(close_chunk(f, 1, false), 0);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(chunk_exists(f, 1), CONSUMER_UNKNOWN_TRACE_CHUNK);
	assert_int_equal(bt2_count(f, "c0"), (long)w0);
	assert_int_equal(bt2_count(f, "c1"), (long)w1);
}

/* Every command type that can fail to decode gets its own reply shape. */
static void test_decode_error_shapes(void **state)
{
	struct fx *f = *state;
	static const struct { uint32_t type; int32_t code; } t[] = {
		{ WIRE_CMD_CREATE_TRACE_CHUNK, CONSUMER_CREATE_TRACE_CHUNK_FAILED },
		{ WIRE_CMD_TRACE_CHUNK_EXISTS, CONSUMER_INVALID_PARAMETERS },
		{ WIRE_CMD_ADD_RELAYD_SOCKET, CONSUMER_ERROR_RECV_FD },
		{ WIRE_CMD_SNAPSHOT_CHANNEL, CONSUMER_SNAPSHOT_FAILED },
		{ WIRE_CMD_ROTATE_CHANNEL, CONSUMER_ROTATION_FAIL },
		{ WIRE_CMD_UPDATE_STREAM, CONSUMER_INVALID_PARAMETERS },
		{ WIRE_CMD_STOP, CONSUMER_INVALID_PARAMETERS },
	};
	uint8_t msg[WIRE_MSG_SIZE];
	struct cmd c;
	struct consumer_stats s;
	unsigned int sent = 0;

	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(msg, 0x07, sizeof(msg));
		memcpy(msg, &t[i].type, 4);
		if (wire_decode(msg, &c) == 0)
			continue;
		assert_int_equal(fake_sessiond_send_raw(&f->fs, msg, sizeof(msg)), 0);
		assert_int_equal(fake_sessiond_recv_status(&f->fs), t[i].code);
		sent++;
	}
	assert_true(sent >= 5);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.commands, sent);
	assert_int_equal(s.command_errors, sent);
}

/* Command socket EOF: metadata closed at once, on_quit once data streams hung up. */
static void test_eof_quit(void **state)
{
	struct fx *f = *state;
	struct reply_channel r;
	struct cmd c;
	struct consumer_stats s;
	char *tsdl;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "trace"), 0);
	r = ask(f, DATA_KEY, false, true, false, true, 0);
	assert_int_equal(r.code, 0);
	get_channel(f, DATA_KEY, 1);
	r = ask(f, MD_KEY, true, true, false, true, 0);
	assert_int_equal(r.code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	tsdl = data_tsdl(f);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, tsdl, strlen(tsdl)), 0);
	free(tsdl);
	write_events(f, 10);

	fake_sessiond_close_cmd(&f->fs);
	sim_run_until_idle(&f->st, 100000);
	consumer_get_stats(f->c, &s);
	assert_true(s.quitting);
	assert_int_equal(f->quit_calls, 0);     /* the data streams are still open */
	assert_int_equal(s.streams, 2);
	drop_apps(f);
	assert_int_equal(sim_step_until(&f->st, quit_called, f, 100000), SIM_STEP_PRED_TRUE);
	sim_run_until_idle(&f->st, 100000);
	assert_int_equal(f->quit_calls, 1);
	consumer_get_stats(f->c, &s);
	assert_int_equal(s.streams, 0);
	assert_int_equal(s.channels, 0);
	assert_true(bt2_count(f, "trace") == 20);
}


/*
 * Fuzz finding 1: after a version change emptied the cache, a fragment at
 * offset 12621 leaves a hole.  Its flush could never reach 12838 while the
 * command socket waits, so the final status must come at once (the stepper
 * reports a deadlock otherwise); the push filling the hole then waits and
 * everything reaches the file.
 */
static void test_push_hole_replies_at_once(void **state)
{
	struct fx *f = *state;
	static char buf[12838];
	struct cmd c;

	session_before_push(f);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 1, buf, 4000), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 12621, 2, buf + 12621, 217), 0);
	/* still in step: the next command gets its own answer */
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 2, buf, 12621), 0);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	expect_quit(f);
	/* the whole regenerated content, padded to 4 KiB metadata packets */
	assert_true(file_size(f, "c0", "metadata") >= (off_t)sizeof(buf));
}

/*
 * Fuzz finding 2: CLOSE_METADATA, the key asked again (a fresh channel even
 * while the old one waits for its free), closed again, then SETUP_METADATA:
 * the closed channel must answer 59, never hand a stream out of a channel
 * being freed (use-after-free / double free under valgrind or ASan).
 */
static void test_setup_after_close_recreated_key(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	/* closed, its stream possibly still draining: never handed out again */
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	/* re-asked at once: the old channel may still wait for its free */
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERR_UST_CHAN_NOT_FOUND);
	/* a third incarnation works normally */
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	/* a data channel destroyed before GET_CHANNEL cannot be handed out */
	assert_int_equal(ask(f, DATA_KEY, false, true, false, true, 0).code, 0);
	c = c_key(CMD_DESTROY_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	c = c_key(CMD_GET_CHANNEL, DATA_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_CHAN_NOT_FOUND);
	expect_quit(f);
}

/* Send a PUSH_METADATA, expect ack 0, send `len` payload bytes, return the final status. */
static int32_t push_raw(struct fx *f, uint64_t offset, uint64_t len, size_t send)
{
	struct cmd c = { .type = CMD_PUSH_METADATA };
	static uint8_t junk[8192];

	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.target_offset = offset;
	c.u.push_metadata.len = len;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	memset(junk, 'j', sizeof(junk));
	for (size_t done = 0; done < send;) {
		size_t n = send - done < sizeof(junk) ? send - done : sizeof(junk);

		assert_int_equal(fdpass_send_all(f->fs.cmd_fd, junk, n), 0);
		done += n;
		/* let the consumer read: the socket buffer is finite */
		sim_run_until_idle(&f->st, 1000);
	}
	return send == len ? fake_sessiond_recv_status(&f->fs) : 0;
}

/*
 * Fuzz finding 3: the peer's len is bounded by the cache maximum before
 * anything is allocated; the payload that follows the ack is read and
 * dropped in small chunks, the final status is 115, and the socket stays
 * in step.  A 2^63-byte announcement allocates nothing (valgrind reports
 * any "fishy" allocation size) and EOF midway still quits.
 */
static void test_push_len_bounded(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	session_before_push(f);
	assert_int_equal(push_raw(f, UINT64_C(1) << 30, 20000, 20000), CONSUMER_ERROR_METADATA);
	assert_int_equal(push_raw(f, UINT64_MAX - 100, 11, 11), CONSUMER_ERROR_METADATA);
	/* offset + len not representable: a decode error, answered before any ack */
	c = (struct cmd){ .type = CMD_PUSH_METADATA };
	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.target_offset = UINT64_MAX - 10;
	c.u.push_metadata.len = 11;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), CONSUMER_ERROR_METADATA);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, "abc", 3), 0);
	push_raw(f, 0, UINT64_C(1) << 63, 10000);
	expect_quit(f);
}


/*
 * The metadata-request path has the same two traps: an answer beyond a hole
 * is acknowledged without waiting for a flush that only a later push could
 * allow (the requests would stay blocked behind it), and an answer whose
 * range exceeds the cache maximum is refused before allocating: the
 * metadata socket is dropped, the command socket keeps working.
 */
static void test_metadata_request_hole_and_bound(void **state)
{
	struct fx *f = *state;
	struct cmd c = { .type = CMD_PUSH_METADATA };
	char buf[300];
	uint8_t req[WIRE_METADATA_REQUEST_SIZE];
	uint8_t msg[WIRE_MSG_SIZE];

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	ask_md_switch_timer(f);
	memset(buf, 'h', sizeof(buf));
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 0, buf, 100, false), 0);
	/* version 1 empties the cache: [12621, +217) is an island */
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 12621, 1, buf, 217, false), 0);
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 1, buf, 300, false), 0);
	/* an answer of 2^40 bytes: refused unallocated, the socket is dropped */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, sizeof(req)));
	assert_int_equal(read(f->fs.md_fd, req, sizeof(req)), (ssize_t)sizeof(req));
	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.len = UINT64_C(1) << 40;
	assert_int_equal(wire_encode(&c, msg), 0);
	assert_int_equal(fdpass_send_all(f->fs.md_fd, msg, sizeof(msg)), 0);
	assert_int_equal(sim_run_until_idle(&f->st, 20000), SIM_STEP_IDLE);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	expect_quit(f);
}


/* Bytes queued on fd after `steps` simulation steps. */
static int queued_after(struct fx *f, int fd, unsigned int steps)
{
	int n = 0;

	for (unsigned int i = 0; i < steps; i++)
		sim_step(&f->st);
	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/*
 * A push beyond a hole while the metadata socket may still fill it (a
 * request is out, or the switch timer keeps asking) does wait for its
 * flush; it ends when the answer fills the hole, and at once when the
 * metadata socket breaks (nothing can fill it any more).
 */
static void test_push_hole_waits_for_metadata_answer(void **state)
{
	struct fx *f = *state;
	struct cmd c = { .type = CMD_PUSH_METADATA };
	static char buf[3000];
	uint8_t req[WIRE_METADATA_REQUEST_SIZE];
	uint8_t msg[WIRE_MSG_SIZE] = { 0 };

	memset(buf, 'w', sizeof(buf));
	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	ask_md_switch_timer(f);
	/* a request is out: the island [500, 600) waits for it */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, sizeof(req)));
	c.u.push_metadata.key = MD_KEY;
	c.u.push_metadata.target_offset = 500;
	c.u.push_metadata.len = 100;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fdpass_send_all(f->fs.cmd_fd, buf, 100), 0);
	assert_int_equal(queued_after(f, f->fs.cmd_fd, 3000), 0);
	assert_int_equal(fake_sessiond_serve_metadata(&f->fs, NULL, 0, 0, buf, 500, false), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	/* island [2000, 2100): the timer keeps asking, so it waits ... */
	c.u.push_metadata.target_offset = 2000;
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fdpass_send_all(f->fs.cmd_fd, buf, 100), 0);
	assert_int_equal(queued_after(f, f->fs.cmd_fd, 3000), 0);
	/* ... until the metadata socket breaks: then it answers at once */
	assert_true(fake_sessiond_wait_bytes(&f->fs, f->fs.md_fd, sizeof(req)));
	assert_int_equal(read(f->fs.md_fd, req, sizeof(req)), (ssize_t)sizeof(req));
	msg[0] = 99;
	assert_int_equal(fdpass_send_all(f->fs.md_fd, msg, sizeof(msg)), 0);
	assert_int_equal(fake_sessiond_recv_status(&f->fs), 0);
	c = c_key(CMD_CLOSE_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	expect_quit(f);
}


/*
 * Fuzz finding 4 (consumers never reaching on_quit): DESTROY_CHANNEL of a set
 * up metadata channel must close its poll pipe as CLOSE_METADATA does, or the
 * stream never hangs up; and a closed metadata channel whose key was asked
 * again (unlinked from the table) must still be closed at quit.
 */
static void test_quit_after_metadata_destroy_and_key_reuse(void **state)
{
	struct fx *f = *state;
	struct cmd c;

	do_startup(f);
	assert_int_equal(create_chunk(f, SESSION, 0, "c0"), 0);
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(fake_sessiond_push(&f->fs, MD_KEY, 0, 0, "/* CTF 1.8 */", 13), 0);
	c = c_key(CMD_DESTROY_CHANNEL, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	assert_int_equal(ask(f, MD_KEY, true, true, false, true, 0).code, 0);
	c = c_key(CMD_SETUP_METADATA, MD_KEY);
	assert_int_equal(fake_sessiond_cmd(&f->fs, &c), 0);
	expect_quit(f);
}

/*
 * The allocation seam (core/alloc.h): consumer_create with its 1st, 2nd,
 * ... allocation failing returns -ENOMEM with nothing held (descriptors are
 * counted here, memory by the valgrind gate), until one run needs no more
 * than were failed and succeeds.
 */
static void test_create_alloc_failures(void **state)
{
	struct fx *f = *state;
	struct consumer_env env = {
		.rb = &f->rb, .io = sim_io_io(&f->sio), .cmd_loop = sim_loop_base(f->cmd),
		.metadata_loop = sim_loop_base(f->md), .data_loop = sim_loop_base(f->data),
		.on_quit = on_quit, .on_quit_arg = f,
	};
	struct consumer *c = NULL;
	int fds_before = test_open_fd_count();
	uint64_t n;
	int cmd_sv[2], md_sv[2], ret = -ENOMEM;

	sim_fault_alloc_attach(&f->w.faults);
	for (n = 1; n < 100 && ret; n++) {
		uint64_t fired = f->w.faults.op[SIM_ALLOC].fired;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd_sv), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, md_sv), 0);
		env.cmd_fd = cmd_sv[0];
		env.metadata_fd = md_sv[0];
		assert_int_equal(sim_fault_arm(&f->w.faults, &(struct sim_fault){
			.op = SIM_ALLOC, .nth = n, .err = ENOMEM }), 0);
		ret = consumer_create(&env, &c);
		sim_fault_disarm_all(&f->w.faults);
		if (ret) {
			assert_int_equal(ret, -ENOMEM);
			assert_int_equal(f->w.faults.op[SIM_ALLOC].fired, fired + 1);
			close(cmd_sv[0]);
			close(md_sv[0]);
		} else {
			/* No allocation left to fail: the fault expired unfired. */
			assert_int_equal(f->w.faults.op[SIM_ALLOC].fired, fired);
			consumer_destroy(c);
		}
		close(cmd_sv[1]);
		close(md_sv[1]);
	}
	sim_fault_alloc_attach(NULL);
	assert_int_equal(ret, 0);
	assert_true(n > 3);  /* consumer, chunk registry, relay registry at least */
	assert_int_equal(test_open_fd_count(), fds_before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_startup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_alloc_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relayd_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_path_reaches_adapter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_regeneration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_and_monitor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_timer_shared_by_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_opens_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_full_ring_opens_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_to_nothing_then_new_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_error_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_switch_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_socket_death_many_queued, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_switch_timer_one_request_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_with_pending_metadata_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_socket_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_partial_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_during_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_pump_transient_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_pump_persistent_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_pump_error_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_channel_send_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_close_wakeup_fd_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_close_wakeup_fd_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_close_wakeup_fd_persistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_close_wakeup_fd_transient, setup, teardown),
		cmocka_unit_test(test_release_races_hand_off),
		cmocka_unit_test_setup_teardown(test_metadata_wake_while_retry_armed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_hole_replies_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_after_close_recreated_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_len_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_request_hole_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_hole_waits_for_metadata_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_after_metadata_destroy_and_key_reuse, setup,
						teardown),
	};
	int ret;

	rcu_register_thread();
	log_level = -1;
	if (getenv("SLUICE_SEED"))
		seed = strtoull(getenv("SLUICE_SEED"), NULL, 0);
	if (getenv("SLUICE_TEST_LOG"))
		log_level = atoi(getenv("SLUICE_TEST_LOG"));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return ret;
}
