/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_run.c - replays one scenario (scenario.h) on the consumer core +
 * simulated tracer, on the runner's one thread: builds the fixture, runs
 * the statements in order through the verb table at the end of the
 * statements (the format is in tests/scenarios/README.md), tears everything
 * down and checks that nothing was left behind.
 *
 * Determinism: every choice comes from the world seed (the stepper's event
 * picks, the apps' field values); the output directory name is the only
 * thing that differs between runs and it is never hashed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdpass.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "scenario_priv.h"
#include "test_fds.h"
#include "wire.h"

#define T0_NS 1000000000ull
#define DEFAULT_MAX_STEPS 200000ull

/* ---- failure, digest ---------------------------------------------------- */

/* See scenario_priv.h. */
int scn_fail(struct scn_runctx *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->r->failed)
		return -1;
	x->r->failed = true;
	n = snprintf(x->r->msg, sizeof(x->r->msg), "%s:%d: step %" PRIu64 " t=%" PRIu64 "ns: ",
		     x->s->path, x->line, x->st_ok ? sim_stepper_steps(&x->st) : 0, x->w.now_ns);
	if (n < 0 || (size_t)n >= sizeof(x->r->msg))
		return -1;
	va_start(ap, fmt);
	vsnprintf(x->r->msg + n, sizeof(x->r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* See scenario_priv.h. */
void scn_digest(struct scn_runctx *x, const char *tag, uint64_t v)
{
	x->digest = scn_fnv(x->digest, tag, strlen(tag));
	x->digest = scn_fnv(x->digest, &v, sizeof(v));
}

/* ---- argument helpers ------------------------------------------------- */

/* Value of `key=...` in the step, or NULL. */
static const char *kv(const struct scn_step *s, const char *key)
{
	size_t n = strlen(key);

	for (int i = 1; i < s->argc; i++)
		if (!strncmp(s->argv[i], key, n) && s->argv[i][n] == '=')
			return s->argv[i] + n + 1;
	return NULL;
}

static bool flag(const struct scn_step *s, const char *word)
{
	for (int i = 1; i < s->argc; i++)
		if (!strcmp(s->argv[i], word))
			return true;
	return false;
}

static int parse_u64(struct scn_runctx *x, const char *v, uint64_t *out)
{
	char *end;

	if (!v || !*v)
		return scn_fail(x, "missing number");
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno || *end)
		return scn_fail(x, "bad number '%s'", v);
	return 0;
}

/* kv as a number with a default. */
static int kv_u64(struct scn_runctx *x, const struct scn_step *s, const char *key, uint64_t def,
		  uint64_t *out)
{
	const char *v = kv(s, key);

	*out = def;
	return v ? parse_u64(x, v, out) : 0;
}

/* Positional argument i as a number. */
static int pos_u64(struct scn_runctx *x, const struct scn_step *s, int i, uint64_t *out)
{
	if (i >= s->argc)
		return scn_fail(x, "'%s' needs argument %d", s->argv[0], i);
	return parse_u64(x, s->argv[i], out);
}

/* See scenario_priv.h. */
const char *scn_kv(const struct scn_step *s, const char *key) { return kv(s, key); }
bool scn_flag(const struct scn_step *s, const char *word) { return flag(s, word); }
int scn_pos_u64(struct scn_runctx *x, const struct scn_step *s, int i, uint64_t *out)
{
	return pos_u64(x, s, i, out);
}
int scn_kv_u64(struct scn_runctx *x, const struct scn_step *s, const char *key, uint64_t def,
	       uint64_t *out)
{
	return kv_u64(x, s, key, def, out);
}

/* "10ms", "5us", "3s", "100" (ns). */
static int parse_dur(struct scn_runctx *x, const char *v, uint64_t *ns)
{
	char *end;
	uint64_t n;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || end == v)
		return scn_fail(x, "bad duration '%s'", v);
	if (!*end || !strcmp(end, "ns"))
		*ns = n;
	else if (!strcmp(end, "us"))
		*ns = n * 1000;
	else if (!strcmp(end, "ms"))
		*ns = n * 1000000;
	else if (!strcmp(end, "s"))
		*ns = n * 1000000000ull;
	else
		return scn_fail(x, "bad duration unit in '%s'", v);
	return 0;
}

/* Reply code by name ("SUCCESS", "CHAN_NOT_FOUND", ...) or number. */
static int parse_code(struct scn_runctx *x, const char *v, int64_t *out)
{
	char *end;

	for (int32_t c = 0; c < 256; c++)
		if (!strcmp(wire_code_name(c), v)) {
			*out = c;
			return 0;
		}
	errno = 0;
	*out = strtoll(v, &end, 0);
	if (errno || *end || end == v)
		return scn_fail(x, "unknown reply code '%s'", v);
	return 0;
}

static struct scn_chan *chan_find(struct scn_runctx *x, uint64_t key)
{
	for (unsigned int i = 0; i < x->nr_chans; i++)
		if (x->chans[i].key == key)
			return &x->chans[i];
	return NULL;
}

static struct scn_chan *chan_get(struct scn_runctx *x, uint64_t key)
{
	struct scn_chan *c = chan_find(x, key);

	if (c || x->nr_chans == SCN_MAX_CHANS)
		return c;
	c = &x->chans[x->nr_chans++];
	memset(c, 0, sizeof(*c));
	c->key = key;
	c->objs.chan_wakeup_fd = -1;
	return c;
}

static struct scn_app *app_find(struct scn_runctx *x, const char *name)
{
	for (unsigned int i = 0; i < x->nr_apps; i++)
		if (!strcmp(x->apps[i].name, name))
			return &x->apps[i];
	return NULL;
}

/* ---- the fixture -------------------------------------------------------- */

static void on_quit(void *arg)
{
	struct scn_runctx *x = arg;

	x->quit_calls++;
}

/* mkdir -p of <dir>/<sub>/ust/<pathname>/index. */
static int make_chunk_dirs(struct scn_runctx *x, const char *sub)
{
	char p[512];
	const char *parts[] = { "", "/ust", "/ust/uid", "/ust/uid/1000", "/ust/uid/1000/64-bit",
				"/ust/uid/1000/64-bit/index" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s%s", x->r->dir, sub, parts[i]);
		if (mkdir(p, 0755) && errno != EEXIST)
			return scn_fail(x, "mkdir %s: %s", p, strerror(errno));
	}
	return 0;
}

static int setup(struct scn_runctx *x, int possible, int online)
{
	struct consumer_env env = { 0 };
	const struct io *relay_io = NULL;
	int ccmd = -1, cmd_md = -1;
	const char *tmp = getenv("TMPDIR");

	snprintf(x->r->dir, sizeof(x->r->dir), "%s/sluice-scn-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(x->r->dir))
		return scn_fail(x, "mkdtemp: %s", strerror(errno));
	if (sim_world_init(&x->w, x->o->seed, possible, online, T0_NS))
		return scn_fail(x, "bad cpus %d %d", possible, online);
	if (sim_rb_init(&x->rb, &x->w))
		return scn_fail(x, "sim_rb_init failed");
	x->rb_ok = true;
	if (sim_stepper_init(&x->st, &x->w))
		return scn_fail(x, "sim_stepper_init failed");
	x->st_ok = true;
	if (x->o->verbose >= 2)
		sim_stepper_install_log_prefix(&x->st);
	x->cmd = sim_loop_create(&x->st, "cmd");
	x->md = sim_loop_create(&x->st, "metadata");
	x->data = sim_loop_create(&x->st, "data");
	if (!x->cmd || !x->md || !x->data)
		return scn_fail(x, "sim_loop_create failed");
	if (fake_sessiond_init(&x->fs, &x->st, &ccmd, &cmd_md))
		return scn_fail(x, "fake_sessiond_init failed");
	x->fs_ok = true;
	x->fs.max_steps = x->max_steps;
	/* consumer -> sim_io (syscall faults) -> relay peer -> posix */
	if (scn_relay_setup(x, &io_posix, &relay_io))
		return -1;
	sim_io_init(&x->sio, relay_io, &x->w.faults);
	if (x->o->fault.nth && sim_fault_arm(&x->w.faults, &x->o->fault))
		return scn_fail(x, "bad fault");
	env.rb = &x->rb;
	env.io = sim_io_io(&x->sio);
	env.cmd_loop = sim_loop_base(x->cmd);
	env.metadata_loop = sim_loop_base(x->md);
	env.data_loop = sim_loop_base(x->data);
	env.cmd_fd = ccmd;
	env.metadata_fd = cmd_md;
	env.on_quit = on_quit;
	env.on_quit_arg = x;
	/* From here to teardown the core's allocations are faultable (kind alloc). */
	sim_fault_alloc_attach(&x->w.faults);
	if (consumer_create(&env, &x->c)) {
		close(ccmd);
		close(cmd_md);
		/* A swept allocation failure of the start-up is a clean end. */
		if (x->o->sweep && sim_fault_fired(&x->w.faults, SIM_KIND_ALLOC))
			return 1;
		return scn_fail(x, "consumer_create failed");
	}
	invariants_attach(&x->inv, &x->st, x->c, &x->rb, &x->w.faults, &x->quit_calls);
	sim_stepper_add_hook(&x->st, &x->report, scn_after_step, x);
	return 0;
}

/* ---- replies -------------------------------------------------------------- */

/* Why a reply never came: deadlock report, pending waits. */
static int no_reply(struct scn_runctx *x, const char *what)
{
	char pend[512];
	const char *dl = sim_stepper_deadlock_report(&x->st);

	sim_stepper_describe_pending(&x->st, pend, sizeof(pend));
	if (dl && *dl)
		return scn_fail(x, "%s: no reply, DEADLOCK: %s", what, dl);
	return scn_fail(x, "%s: no reply (consumer idle or step limit; pending: %s; last event: %s)",
			what, pend[0] ? pend : "none", sim_stepper_last_event(&x->st));
}

static int check_code(struct scn_runctx *x, struct scn_pending_reply *p, int64_t got)
{
	scn_digest(x, p->verb, (uint64_t)got);
	if (x->o->verbose)
		fprintf(stderr, "  line %d: %s -> %" PRId64 " (%s)\n", p->line, p->verb, got,
			(p->kind == RK_I32 || p->kind == RK_U64) ? "value" : wire_code_name((int32_t)got));
	if (x->o->sweep || !p->has_expect || got == p->expect)
		return 0;
	return scn_fail(x, "%s replied %" PRId64 " (%s), expected %" PRId64 " (%s)", p->verb, got,
			wire_code_name((int32_t)got), p->expect, wire_code_name((int32_t)p->expect));
}

/* `reply objects`: collect only GET_CHANNEL's first status + objects; the final status stays owed. */
static bool reply_objects_only;

/* Collect the reply a command owes. */
static int finish_reply(struct scn_runctx *x)
{
	struct scn_pending_reply p = x->pend;
	bool objects_only = reply_objects_only;
	struct reply_channel rc;
	struct reply_close_chunk rcc;
	int32_t code;
	uint64_t u;

	x->pend.active = false;
	reply_objects_only = false;
	switch (p.kind) {
	case RK_STATUS:
		code = fake_sessiond_recv_status(&x->fs);
		if (code == INT32_MIN)
			return no_reply(x, p.verb);
		return check_code(x, &p, code);
	case RK_I32:
		code = fake_sessiond_recv_i32(&x->fs);
		if (code == INT32_MIN)
			return no_reply(x, p.verb);
		return check_code(x, &p, code);
	case RK_U64:
		u = fake_sessiond_recv_u64(&x->fs);
		if (u == UINT64_MAX)
			return no_reply(x, p.verb);
		return check_code(x, &p, (int64_t)u);
	case RK_CLOSE_CHUNK:
		if (fake_sessiond_recv_close_chunk(&x->fs, &rcc))
			return no_reply(x, p.verb);
		return check_code(x, &p, rcc.code);
	case RK_CHANNEL:
		if (fake_sessiond_recv_channel(&x->fs, &rc))
			return no_reply(x, p.verb);
		scn_digest(x, "ask.streams", rc.stream_count);
		if (!x->o->sweep && p.has_streams && rc.code == 0 && rc.stream_count != p.streams)
			return scn_fail(x, "ASK_CHANNEL created %u streams, expected %u",
					rc.stream_count, p.streams);
		return check_code(x, &p, rc.code);
	case RK_GET:
		code = fake_sessiond_recv_status(&x->fs);
		if (code == INT32_MIN)
			return no_reply(x, p.verb);
		if (code == 0) {
			struct scn_chan *c = p.chan;

			int fl, ret;

			if (!fake_sessiond_wait_bytes(&x->fs, x->fs.cmd_fd, 1))
				return no_reply(x, "GET_CHANNEL objects");
			/*
			 * The consumer writes the objects within one handler: read
			 * them without blocking, so a partial hand-off (injected
			 * send fault) is an error here, never a hang.
			 */
			fl = fcntl(x->fs.cmd_fd, F_GETFL);
			fcntl(x->fs.cmd_fd, F_SETFL, fl | O_NONBLOCK);
			ret = sim_app_objects_recv(x->fs.cmd_fd, &c->objs);
			fcntl(x->fs.cmd_fd, F_SETFL, fl);
			if (ret) {
				scn_digest(x, "get.objs", (uint64_t)(int64_t)ret);
				if (!x->o->sweep)
					return scn_fail(x, "GET_CHANNEL: malformed channel objects: %s",
							strerror(-ret));
				/* out of sync: the session daemon gives up on this consumer */
				fake_sessiond_close_cmd(&x->fs);
				x->cmd_closed = true;
				return 0;
			}
			c->have_objs = true;
			scn_digest(x, "get.streams", c->objs.nr_streams);
			if (!c->rbc) {
				c->rbc = sim_rb_channel_lookup(&x->rb, c->objs.chan.sim_id);
				if (c->rbc)
					sim_rb_channel_ref(c->rbc);
			}
			if (objects_only) {
				/* The hand-off may still be posted: the final status comes later. */
				x->pend = p;
				x->pend.kind = RK_STATUS;
				return 0;
			}
			code = fake_sessiond_recv_status(&x->fs);
			if (code == INT32_MIN)
				return no_reply(x, p.verb);
		}
		return check_code(x, &p, code);
	}
	return scn_fail(x, "internal: bad reply kind");
}

/* Register the reply the command just sent owes; default expectation SUCCESS. */
static int owe(struct scn_runctx *x, const struct scn_step *s, enum scn_reply_kind kind,
	       const char *verb, bool default_success)
{
	const char *e = kv(s, "expect");

	memset(&x->pend, 0, sizeof(x->pend));
	x->pend.active = true;
	x->pend.kind = kind;
	x->pend.line = x->line;
	x->pend.verb = verb;
	if (e && !strcmp(e, "any"))
		return 0;   /* a race the seed decides: the answer only goes into the digest */
	if (e) {
		x->pend.has_expect = true;
		return parse_code(x, e, &x->pend.expect);
	}
	x->pend.has_expect = default_success;
	x->pend.expect = 0;
	return 0;
}

static int send_cmd(struct scn_runctx *x, const struct cmd *c)
{
	if (x->cmd_closed)
		return scn_fail(x, "%s after the command socket was closed", wire_cmd_name(c->type));
	if (fake_sessiond_send(&x->fs, c))
		return scn_fail(x, "cannot send %s (socket closed?)", wire_cmd_name(c->type));
	return 0;
}

/*
 * Commands followed by an fd: the ack is collected here; a non-zero ack is
 * the final answer (no fd sent), so it becomes the owed reply's value.
 */
static int send_cmd_fd(struct scn_runctx *x, const struct scn_step *s, const struct cmd *c, int fd,
		       const char *verb)
{
	int32_t ack;

	if (send_cmd(x, c))
		return -1;
	ack = fake_sessiond_recv_status(&x->fs);
	if (ack == INT32_MIN)
		return no_reply(x, verb);
	if (owe(x, s, RK_STATUS, verb, true))
		return -1;
	if (ack != 0) {
		x->pend.active = false;
		return check_code(x, &x->pend, ack);
	}
	if (fake_sessiond_send_fd(&x->fs, fd))
		return scn_fail(x, "%s: cannot send the fd", verb);
	return 0;
}

/* TSDL of the data channels (for=K: that one only) received so far; malloc'd or NULL. */
static char *tsdl_for(struct scn_runctx *x, const struct scn_step *s)
{
	struct rb_channel *rcs[SCN_MAX_CHANS];
	unsigned int n = 0;
	uint64_t only = 0;
	bool have_only = kv(s, "for") != NULL;

	if (have_only && kv_u64(x, s, "for", 0, &only))
		return NULL;
	for (unsigned int i = 0; i < x->nr_chans; i++) {
		struct scn_chan *c = &x->chans[i];

		if (c->metadata || !c->rbc || (have_only && c->key != only))
			continue;
		rcs[n++] = c->rbc;
	}
	if (!n)
		return strdup("/* CTF 1.8 */\n");
	return sim_app_tsdl(rcs, n);
}

/* See scenario_priv.h. */
char *scn_tsdl(struct scn_runctx *x, const char *for_key)
{
	char word[] = "tsdl", opt[64];
	struct scn_step all = { .argc = 1, .argv = { word, opt } };

	if (for_key) {
		snprintf(opt, sizeof(opt), "for=%s", for_key);
		all.argc = 2;
	}
	return tsdl_for(x, &all);
}

/* See scenario_priv.h. */
int scn_cmd_fd(struct scn_runctx *x, const struct scn_step *s, const struct cmd *c, int fd,
	       const char *verb)
{
	if (send_cmd_fd(x, s, c, fd, verb))
		return -1;
	return x->pend.active ? finish_reply(x) : 0;
}

/* Remember where a metadata unit ended (the coherence check of `expect relay`). */
static void md_unit(struct scn_runctx *x, uint64_t end)
{
	if (x->nr_md_units < SCN_MAX_MD_UNITS)
		x->md_units[x->nr_md_units++] = end;
}

/* ---- statements: session daemon commands --------------------------------- */

static int st_startup(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd init = { .type = CMD_INIT };
	struct cmd mp = { .type = CMD_SET_MONITOR_PIPE };
	int p[2];

	memset(init.u.init.sessiond_uuid, 0xab, CMD_UUID_LEN);
	if (send_cmd(x, &init) || owe(x, s, RK_STATUS, "INIT", true) || finish_reply(x))
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return scn_fail(x, "pipe: %s", strerror(errno));
	x->mon_rd = p[0];
	if (send_cmd_fd(x, s, &mp, p[1], "SET_MONITOR_PIPE")) {
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return x->pend.active ? finish_reply(x) : 0;
}

static int st_chunk(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_CREATE_TRACE_CHUNK };
	char sub[64], p[512];
	const char *d = kv(s, "dir");
	uint64_t id;
	int fd, ret;

	if (pos_u64(x, s, 1, &id))
		return -1;
	if (kv(s, "relayd")) {
		/* A chunk on the relay: created there, no directory fd follows. */
		c.u.create_chunk.relayd_id.set = true;
		if (kv_u64(x, s, "relayd", 0, &c.u.create_chunk.relayd_id.value))
			return -1;
		if (kv_u64(x, s, "session", SCN_SESSION, &c.u.create_chunk.session_id))
			return -1;
		c.u.create_chunk.chunk_id = id;
		c.u.create_chunk.creation_ts_s = 1700000000;
		if (kv(s, "name"))
			snprintf(c.u.create_chunk.override_name,
				 sizeof(c.u.create_chunk.override_name), "%s", kv(s, "name"));
		if (send_cmd(x, &c))
			return -1;
		return owe(x, s, RK_STATUS, "CREATE_TRACE_CHUNK", true);
	}
	if (d)
		snprintf(sub, sizeof(sub), "%s", d);
	else
		snprintf(sub, sizeof(sub), "c%" PRIu64, id);
	if (make_chunk_dirs(x, sub))
		return -1;
	snprintf(p, sizeof(p), "%s/%s/ust", x->r->dir, sub);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return scn_fail(x, "open %s: %s", p, strerror(errno));
	c.u.create_chunk.session_id = SCN_SESSION;
	c.u.create_chunk.chunk_id = id;
	c.u.create_chunk.creation_ts_s = 1700000000;
	c.u.create_chunk.creds.set = true;
	c.u.create_chunk.creds.value.uid = getuid();
	c.u.create_chunk.creds.value.gid = getgid();
	ret = send_cmd_fd(x, s, &c, fd, "CREATE_TRACE_CHUNK");
	close(fd);
	return ret;
}

static int st_close_chunk(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_CLOSE_TRACE_CHUNK };
	uint64_t id;

	if (pos_u64(x, s, 1, &id))
		return -1;
	if (kv_u64(x, s, "session", SCN_SESSION, &c.u.close_chunk.session_id))
		return -1;
	c.u.close_chunk.chunk_id = id;
	if (kv(s, "relayd")) {
		c.u.close_chunk.relayd_id.set = true;
		if (kv_u64(x, s, "relayd", 0, &c.u.close_chunk.relayd_id.value))
			return -1;
	}
	c.u.close_chunk.close_ts_s = 1700000001;
	c.u.close_chunk.close_command_set = flag(s, "delete");
	c.u.close_chunk.close_command = flag(s, "delete") ? CMD_CLOSE_DELETE :
							    CMD_CLOSE_MOVE_TO_COMPLETED;
	if (flag(s, "delete"))
		x->check_bytes = false;
	if (send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_CLOSE_CHUNK, "CLOSE_TRACE_CHUNK", true);
}

static int st_chunk_exists(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_TRACE_CHUNK_EXISTS };
	uint64_t id;

	if (pos_u64(x, s, 1, &id))
		return -1;
	if (kv_u64(x, s, "session", SCN_SESSION, &c.u.chunk_exists.session_id))
		return -1;
	c.u.chunk_exists.chunk_id = id;
	if (kv(s, "relayd")) {
		c.u.chunk_exists.relayd_id.set = true;
		if (kv_u64(x, s, "relayd", 0, &c.u.chunk_exists.relayd_id.value))
			return -1;
	}
	if (send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_STATUS, "TRACE_CHUNK_EXISTS", false);
}

static int st_ask(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_ASK_CHANNEL };
	struct cmd_ask_channel *a = &c.u.ask_channel;
	struct scn_chan *ch;
	uint64_t key, v;
	bool md;

	if (pos_u64(x, s, 1, &key))
		return -1;
	if (strcmp(s->argv[2], "data") && strcmp(s->argv[2], "metadata"))
		return scn_fail(x, "ask <key> data|metadata ...");
	md = !strcmp(s->argv[2], "metadata");
	ch = chan_find(x, key);
	if (ch && (ch->rbc || ch->have_objs))
		ch->key = UINT64_MAX - (uint64_t)(ch - x->chans);   /* key reused: retire the old record */
	ch = chan_get(x, key);
	if (!ch)
		return scn_fail(x, "too many channels");
	ch->metadata = md;
	ch->overwrite = flag(s, "overwrite");
	ch->relay = kv(s, "relayd") != NULL;
	a->key = key;
	if (kv_u64(x, s, "session", SCN_SESSION, &a->session_id) ||
	    kv_u64(x, s, "session_per_pid", 0, &a->session_id_per_pid))
		return -1;
	a->type = md ? CMD_CHAN_METADATA : CMD_CHAN_PER_CPU;
	a->mode = md ? CMD_MODE_UNSPECIFIED : (ch->overwrite ? CMD_MODE_OVERWRITE : CMD_MODE_DISCARD);
	a->output = CMD_OUTPUT_MMAP;
	if (kv_u64(x, s, "subbuf", 4096, &a->subbuf_size) ||
	    kv_u64(x, s, "nsub", md ? 2 : 4, &a->num_subbuf))
		return -1;
	if (kv_u64(x, s, "switch_us", 0, &v))
		return -1;
	a->switch_timer_us = (uint32_t)v;
	if (kv_u64(x, s, "monitor_us", 0, &v))
		return -1;
	a->monitor_timer_us = (uint32_t)v;
	if (kv_u64(x, s, "live_us", 0, &v))
		return -1;
	a->live_timer_us = (uint32_t)v;
	a->monitor = !flag(s, "nomonitor");
	a->buffer_creds.uid = getuid();
	a->buffer_creds.gid = getgid();
	a->ust_app_uid = 1000;
	if (kv(s, "chunk")) {
		a->chunk_id.set = true;
		if (kv_u64(x, s, "chunk", 0, &a->chunk_id.value))
			return -1;
	}
	if (kv(s, "relayd")) {
		a->relayd_id.set = true;
		if (kv_u64(x, s, "relayd", 0, &a->relayd_id.value))
			return -1;
	}
	memset(a->uuid, 0x5a, CMD_UUID_LEN);
	if (kv_u64(x, s, "chan_id", md ? UINT32_MAX : key, &v))
		return -1;
	a->chan_id = (uint32_t)v;
	snprintf(a->pathname, sizeof(a->pathname), "%s", SCN_PATHNAME);
	if (kv(s, "name"))
		snprintf(a->name, sizeof(a->name), "%s", kv(s, "name"));
	else if (md)
		snprintf(a->name, sizeof(a->name), "metadata");
	else
		snprintf(a->name, sizeof(a->name), "chan%" PRIu64, key);
	if (send_cmd(x, &c) || owe(x, s, RK_CHANNEL, "ASK_CHANNEL", true))
		return -1;
	x->pend.chan = ch;
	if (kv(s, "streams")) {
		x->pend.has_streams = true;
		if (kv_u64(x, s, "streams", 0, &v))
			return -1;
		x->pend.streams = (uint32_t)v;
	}
	return 0;
}

/* Commands whose only field is a channel key (the verb's) and whose reply is a status. */
static int st_key_cmd(struct scn_runctx *x, const struct scn_step *s)
{
	enum cmd_type t = s->verb->cmd;
	struct cmd c = { .type = t };
	struct scn_chan *ch;

	if (pos_u64(x, s, 1, &c.u.channel.key))
		return -1;
	ch = chan_find(x, c.u.channel.key);
	if (t == CMD_CLEAR_CHANNEL && ch) {
		ch->cleared = true;
		x->check_bytes = false;
	}
	if (send_cmd(x, &c))
		return -1;
	if (t == CMD_GET_CHANNEL) {
		ch = chan_get(x, c.u.channel.key);
		if (!ch)
			return scn_fail(x, "too many channels");
		if (owe(x, s, RK_GET, "GET_CHANNEL", true))
			return -1;
		x->pend.chan = ch;
		return 0;
	}
	return owe(x, s, RK_STATUS, wire_cmd_name(t), true);
}

static int st_push(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_PUSH_METADATA };
	char *tsdl = tsdl_for(x, s);
	uint64_t off, len, full;
	int32_t ack;
	int ret = -1;

	if (!tsdl)
		return scn_fail(x, "no TSDL for push");
	full = strlen(tsdl);
	if (pos_u64(x, s, 1, &c.u.push_metadata.key) || kv_u64(x, s, "offset", 0, &off) ||
	    kv_u64(x, s, "version", 0, &c.u.push_metadata.version))
		goto out;
	if (off > full)
		off = full;
	if (kv_u64(x, s, "len", full - off, &len))
		goto out;
	if (len > full - off)
		len = full - off;
	c.u.push_metadata.target_offset = off;
	c.u.push_metadata.len = len;
	md_unit(x, off + len);
	if (send_cmd(x, &c))
		goto out;
	ack = fake_sessiond_recv_status(&x->fs);
	if (ack == INT32_MIN) {
		ret = no_reply(x, "PUSH_METADATA");
		goto out;
	}
	if (owe(x, s, RK_STATUS, "PUSH_METADATA", true))
		goto out;
	if (ack != 0 || len == 0) {
		x->pend.active = false;
		ret = check_code(x, &x->pend, ack);
		goto out;
	}
	if (fdpass_send_all(x->fs.cmd_fd, tsdl + off, len)) {
		ret = scn_fail(x, "PUSH_METADATA: cannot send the bytes");
		goto out;
	}
	ret = 0;
out:
	free(tsdl);
	return ret;
}

static int st_serve_metadata(struct scn_runctx *x, const struct scn_step *s)
{
	struct metadata_request req;
	char *tsdl = tsdl_for(x, s);
	uint64_t off, len, full;
	int ret;

	if (!tsdl)
		return scn_fail(x, "no TSDL");
	full = strlen(tsdl);
	if (kv_u64(x, s, "offset", 0, &off)) {
		free(tsdl);
		return -1;
	}
	if (off > full)
		off = full;
	len = flag(s, "empty") ? 0 : full - off;
	if (kv(s, "len")) {
		uint64_t want;

		if (kv_u64(x, s, "len", 0, &want)) {
			free(tsdl);
			return -1;
		}
		if (want < len)
			len = want;
	}
	md_unit(x, off + len);
	ret = fake_sessiond_serve_metadata(&x->fs, &req, off, 0, tsdl + off, len,
					   flag(s, "noregistry"));
	free(tsdl);
	if (ret && !x->o->sweep)
		return no_reply(x, "metadata request");
	scn_digest(x, "mdreq.key", ret ? UINT64_MAX : req.key);
	return 0;
}

static int st_data_pending(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_DATA_PENDING };

	if (kv_u64(x, s, "session", SCN_SESSION, &c.u.data_pending.session_id) || send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_I32, "DATA_PENDING", false);
}

/* DATA_PENDING until it answers 0 (bounded). */
static int st_drain(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_DATA_PENDING };

	if (kv_u64(x, s, "session", SCN_SESSION, &c.u.data_pending.session_id))
		return -1;
	for (int i = 0; i < 50; i++) {
		int32_t v;

		if (send_cmd(x, &c))
			return -1;
		v = fake_sessiond_recv_i32(&x->fs);
		if (v == INT32_MIN)
			return no_reply(x, "DATA_PENDING");
		if (v == 0) {
			scn_digest(x, "drain", (uint64_t)i);
			return 0;
		}
		if (sim_run_until_idle(&x->st, x->max_steps) == SIM_STEP_DEADLOCK)
			return no_reply(x, "drain");
	}
	if (x->o->sweep)
		return 0;
	return scn_fail(x, "DATA_PENDING never reached 0");
}

/* DISCARDED_EVENTS or LOST_PACKETS (the verb's) of one channel. */
static int st_stats_cmd(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = s->verb->cmd };

	c.u.stats.session_id = SCN_SESSION;
	if (pos_u64(x, s, 1, &c.u.stats.key) || send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_U64, wire_cmd_name(c.type), false);
}

static int st_rotate(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_ROTATE_CHANNEL };

	if (pos_u64(x, s, 1, &c.u.rotate.key))
		return -1;
	c.u.rotate.metadata = flag(s, "metadata");
	if (send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_STATUS, "ROTATE_CHANNEL", true);
}

static int st_snapshot(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_SNAPSHOT_CHANNEL };

	if (pos_u64(x, s, 1, &c.u.snapshot.key))
		return -1;
	snprintf(c.u.snapshot.pathname, sizeof(c.u.snapshot.pathname), "%s", SCN_PATHNAME);
	if (send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_STATUS, "SNAPSHOT_CHANNEL", true);
}

static int st_add_relayd(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_ADD_RELAYD_SOCKET };
	int p[2], ret;

	if (pos_u64(x, s, 1, &c.u.relayd_sock.relayd_id))
		return -1;
	c.u.relayd_sock.type = flag(s, "data") ? CMD_RELAYD_DATA : CMD_RELAYD_CONTROL;
	c.u.relayd_sock.proto = CMD_SOCK_TCP;
	c.u.relayd_sock.major = 2;
	c.u.relayd_sock.minor = 13;
	c.u.relayd_sock.session_id = SCN_SESSION;
	if (pipe2(p, O_CLOEXEC))
		return scn_fail(x, "pipe: %s", strerror(errno));
	ret = send_cmd_fd(x, s, &c, p[0], "ADD_RELAYD_SOCKET");
	close(p[0]);
	close(p[1]);
	return ret;
}

static int st_destroy_relayd(struct scn_runctx *x, const struct scn_step *s)
{
	struct cmd c = { .type = CMD_DESTROY_RELAYD };

	if (pos_u64(x, s, 1, &c.u.destroy_relayd.relayd_id) || send_cmd(x, &c))
		return -1;
	return owe(x, s, RK_STATUS, "DESTROY_RELAYD", true);
}

/* A whole message of type N, zero fields: the consumer must answer and keep serving. */
static int st_garbage(struct scn_runctx *x, const struct scn_step *s)
{
	uint8_t msg[WIRE_MSG_SIZE];
	uint64_t type;
	uint32_t t;

	if (pos_u64(x, s, 1, &type))
		return -1;
	memset(msg, flag(s, "ones") ? 0xff : 0, sizeof(msg));
	t = (uint32_t)type;
	memcpy(msg, &t, sizeof(t));
	if (fake_sessiond_send_raw(&x->fs, msg, sizeof(msg)))
		return scn_fail(x, "cannot send garbage");
	return owe(x, s, RK_STATUS, "garbage", false);
}

/* ---- statements: apps, world, ordering -------------------------------- */

static int st_attach(struct scn_runctx *x, const struct scn_step *s)
{
	struct scn_app *a;
	struct scn_chan *ch;
	uint64_t key;
	int ret;

	if (pos_u64(x, s, 2, &key))
		return scn_fail(x, "attach <app> <key>");
	ch = chan_find(x, key);
	if (!ch || !ch->have_objs) {
		if (x->o->sweep)
			return 0;
		return scn_fail(x, "attach: channel %" PRIu64 " was never got", key);
	}
	if (app_find(x, s->argv[1]) || x->nr_apps == SCN_MAX_APPS)
		return scn_fail(x, "attach: duplicate app or too many apps");
	a = &x->apps[x->nr_apps];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", s->argv[1]);
	a->app = sim_app_create(&x->w, a->name);
	if (!a->app)
		return scn_fail(x, "sim_app_create failed");
	x->nr_apps++;
	a->chan = ch;
	ret = sim_app_attach_objects(a->app, &x->rb, &ch->objs);
	scn_digest(x, "attach", (uint64_t)ret);
	if (ret && !x->o->sweep)
		return scn_fail(x, "attach %s: %s", a->name, strerror(-ret));
	return 0;
}

static int st_app(struct scn_runctx *x, const struct scn_step *s)
{
	struct scn_app *a;
	uint64_t cpu, n, cls, step_ns;
	const char *what;
	int ret = 0;

	a = app_find(x, s->argv[1]);
	what = s->argv[2];
	if (!a) {
		if (x->o->sweep)
			return 0;
		return scn_fail(x, "app '%s' never attached", s->argv[1]);
	}
	if (kv_u64(x, s, "cpu", 0, &cpu) || kv_u64(x, s, "n", 1, &n) ||
	    kv_u64(x, s, "cls", 0, &cls) || kv_u64(x, s, "step_ns", 1000, &step_ns))
		return -1;
	if (!strcmp(what, "write")) {
		ret = sim_app_write(a->app, (int)cpu, (unsigned int)cls % SIM_APP_NR_CLASSES,
				    (unsigned int)n, step_ns);
	} else if (!strcmp(what, "reserve")) {
		if (a->have_slot)
			return scn_fail(x, "app %s already holds a slot", a->name);
		ret = sim_app_reserve(a->app, (int)cpu, (unsigned int)cls % SIM_APP_NR_CLASSES,
				      &a->slot);
		a->have_slot = ret == 0;
		if (a->have_slot && a->chan)
			a->chan->tainted = true;
	} else if (!strcmp(what, "commit")) {
		if (!a->have_slot)
			return scn_fail(x, "app %s holds no slot", a->name);
		ret = sim_app_commit(a->app, &a->slot);
		a->have_slot = false;
	} else if (!strcmp(what, "die")) {
		ret = sim_app_die_mid_packet(a->app, (int)cpu);
		if (a->chan)
			a->chan->tainted = true;
	} else if (!strcmp(what, "exit")) {
		if (a->have_slot && a->chan)
			a->chan->tainted = true;
		sim_app_go_away(a->app);
	} else {
		return scn_fail(x, "unknown app action '%s'", what);
	}
	scn_digest(x, what, (uint64_t)(int64_t)ret);
	if (ret < 0 && ret != -ENODEV && ret != -ENOSPC && !x->o->sweep)
		return scn_fail(x, "app %s %s: %s", a->name, what, strerror(-ret));
	return 0;
}

struct pend_pred {
	struct scn_runctx *x;
	const char *sub;
	enum sim_src_kind kind;      /* SIM_SRC_WAIT or SIM_SRC_POST */
};

static bool pending_pred(void *arg)
{
	struct pend_pred *p = arg;

	return sim_stepper_pending(&p->x->st, p->kind, p->sub) || p->x->r->failed;
}

static bool quit_pred(void *arg)
{
	struct scn_runctx *x = arg;

	return x->quit_calls > 0 || x->r->failed;
}

/* Step-result check shared by the ordering statements. */
static int step_result(struct scn_runctx *x, enum sim_step_result r, const char *what)
{
	if (r == SIM_STEP_PRED_TRUE || r == SIM_STEP_IDLE)
		return x->r->failed ? -1 : 0;
	if (r == SIM_STEP_DEADLOCK)
		return scn_fail(x, "%s: DEADLOCK: %s", what, sim_stepper_deadlock_report(&x->st));
	if (r == SIM_STEP_LIMIT)
		return scn_fail(x, "%s: no progress after %" PRIu64 " steps (livelock?)", what,
				x->max_steps);
	return scn_fail(x, "%s: stepper error", what);
}

static int st_when(struct scn_runctx *x, const struct scn_step *s)
{
	struct pend_pred p = { .x = x };
	char sub[128] = "";
	enum sim_step_result r;

	if (strcmp(s->argv[1], "waiting") && strcmp(s->argv[1], "posted"))
		return scn_fail(x, "when waiting|posted <name words>");
	for (int i = 2; i < s->argc; i++) {
		size_t o = strlen(sub);

		snprintf(sub + o, sizeof(sub) - o, "%s%s", i > 2 ? " " : "", s->argv[i]);
	}
	p.sub = sub;
	p.kind = strcmp(s->argv[1], "posted") ? SIM_SRC_WAIT : SIM_SRC_POST;
	r = sim_step_until(&x->st, pending_pred, &p, x->max_steps);
	if (r == SIM_STEP_PRED_TRUE)
		return x->r->failed ? -1 : 0;
	if (r == SIM_STEP_IDLE) {
		if (x->o->sweep)
			return 0;
		return scn_fail(x, "when %s '%s': never happened (consumer went idle)", s->argv[1],
				sub);
	}
	return step_result(x, r, "when");
}

static int st_step(struct scn_runctx *x, const struct scn_step *s)
{
	uint64_t n;

	if (s->argc > 1 ? pos_u64(x, s, 1, &n) : ((n = 1), 0))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		enum sim_step_result r = sim_step(&x->st);

		if (r == SIM_STEP_ADVANCED_TIME)
			r = sim_step(&x->st);
		if (r == SIM_STEP_IDLE)
			break;
		if (r != SIM_STEP_STEPPED)
			return step_result(x, r, "step");
	}
	return x->r->failed ? -1 : 0;
}

static int st_fault(struct scn_runctx *x, const struct scn_step *s)
{
	int kind = sim_op_kind_from_name(s->argv[1]);
	const char *errname = kv(s, kind == SIM_KIND_IO ? "err" : "status");
	struct sim_fault f = { .err = RB_ERROR };
	int op;

	if (kind < 0)
		return scn_fail(x, "fault rb|io <op> [nth=N] ...");
	op = sim_op_from_name(kind, s->argv[2]);
	if (op < 0)
		return scn_fail(x, "unknown %s op '%s'", s->argv[1], s->argv[2]);
	f.op = op;
	if (kv_u64(x, s, "nth", 1, &f.nth) || kv_u64(x, s, "every", flag(s, "persistent"), &f.every))
		return -1;
	if (kind == SIM_KIND_IO && !errname)
		return scn_fail(x, "fault io needs err=ENOSPC|EIO|EINTR|EACCES|EAGAIN|short");
	if (errname && sim_fault_err_from_name(f.op, errname, &f.err))
		return scn_fail(x, "fault %s %s cannot return '%s'", s->argv[1], s->argv[2], errname);
	if (kind == SIM_KIND_IO)
		x->check_bytes = false;
	if (sim_fault_arm(&x->w.faults, &f))
		return scn_fail(x, "cannot arm the fault");
	return 0;
}

static int st_expect(struct scn_runctx *x, const struct scn_step *s)
{
	const char *what = s->argv[1];

	if (!strcmp(what, "stats")) {
		struct consumer_stats cs;
		uint64_t v;

		consumer_get_stats(x->c, &cs);
		scn_digest(x, "stats.channels", cs.channels);
		scn_digest(x, "stats.streams", cs.streams);
		if (x->o->sweep)
			return 0;
		if (kv(s, "channels") && (kv_u64(x, s, "channels", 0, &v) || v != cs.channels))
			return scn_fail(x, "channels = %" PRIu64 ", expected %s", cs.channels,
					kv(s, "channels"));
		if (kv(s, "streams") && (kv_u64(x, s, "streams", 0, &v) || v != cs.streams))
			return scn_fail(x, "streams = %" PRIu64 ", expected %s", cs.streams,
					kv(s, "streams"));
		return 0;
	}
	if (!strcmp(what, "quit") || !strcmp(what, "noquit")) {
		bool want = !strcmp(what, "quit");

		if (!x->o->sweep && (x->quit_calls > 0) != want)
			return scn_fail(x, "on_quit %s called", x->quit_calls ? "was" : "was not");
		if (x->quit_calls > 1)
			return scn_fail(x, "on_quit called %d times", x->quit_calls);
		return 0;
	}
	if (!strcmp(what, "elapsed")) {
		uint64_t max;
		uint64_t el = x->w.now_ns - x->mark_ns;

		if (!kv(s, "max") || parse_dur(x, kv(s, "max"), &max))
			return scn_fail(x, "expect elapsed max=<duration>");
		scn_digest(x, "elapsed", el);
		if (!x->o->sweep && el > max)
			return scn_fail(x, "%" PRIu64 " ns of virtual time since mark, max %" PRIu64,
					el, max);
		return 0;
	}
	if (!strcmp(what, "abandoned")) {
		uint64_t n, got = sim_rb_abandoned_channels(&x->rb);

		if (pos_u64(x, s, 2, &n))
			return -1;
		scn_digest(x, "abandoned", got);
		if (!x->o->sweep && got != n)
			return scn_fail(x, "%" PRIu64 " channel(s) abandoned, expected %" PRIu64, got, n);
		return 0;
	}
	if (!strcmp(what, "gets")) {
		uint64_t g = sim_rb_outstanding_gets(&x->rb);

		if (g)
			return scn_fail(x, "%" PRIu64 " sub-buffer gets not put", g);
		return 0;
	}
	if (!strcmp(what, "pending")) {
		if (s->argc < 3)
			return scn_fail(x, "expect pending <name>");
		if (!x->o->sweep && !sim_stepper_pending(&x->st, SIM_SRC_WAIT, s->argv[2]))
			return scn_fail(x, "no wait '%s' pending", s->argv[2]);
		return 0;
	}
	if (!strcmp(what, "relay"))
		return scn_relay_expect(x, s);
	if (!strcmp(what, "events")) {
		uint64_t n;

		if (pos_u64(x, s, 2, &n))
			return -1;
		x->want_events = (int64_t)n;   /* checked on the output, at the end */
		return 0;
	}
	return scn_fail(x, "unknown expectation '%s'", what);
}

static int st_nocheck(struct scn_runctx *x, const struct scn_step *s)
{
	for (int i = 1; i < s->argc; i++) {
		if (!strcmp(s->argv[i], "bytes"))
			x->check_bytes = false;
		else if (!strcmp(s->argv[i], "flush"))
			x->check_flush = false;
		else
			return scn_fail(x, "nocheck bytes|flush");
	}
	return 0;
}

/* `cpus` past the first statement (scn_run reads it there). */
static int st_cpus(struct scn_runctx *x, const struct scn_step *s)
{
	(void)s;
	return scn_fail(x, "'cpus' must be the first statement");
}

static int st_cpu(struct scn_runctx *x, const struct scn_step *s)
{
	uint64_t n;

	if (pos_u64(x, s, 1, &n))
		return -1;
	if (strcmp(s->argv[2], "online") && strcmp(s->argv[2], "offline"))
		return scn_fail(x, "cpu <n> online|offline");
	if (sim_world_cpu_set_online(&x->w, (int)n, !strcmp(s->argv[2], "online")))
		return scn_fail(x, "cpu %" PRIu64 " is not possible", n);
	return 0;
}

static int st_advance(struct scn_runctx *x, const struct scn_step *s)
{
	uint64_t ns;

	if (parse_dur(x, s->argv[1], &ns))
		return -1;
	sim_world_advance(&x->w, ns);
	return 0;
}

static int st_mark(struct scn_runctx *x, const struct scn_step *s)
{
	(void)s;
	x->mark_ns = x->w.now_ns;
	return 0;
}

static int st_run(struct scn_runctx *x, const struct scn_step *s)
{
	(void)s;
	return step_result(x, sim_run_until_idle(&x->st, x->max_steps), "run");
}

static int st_until(struct scn_runctx *x, const struct scn_step *s)
{
	if (strcmp(s->argv[1], "quit"))
		return scn_fail(x, "until quit");
	return step_result(x, sim_step_until(&x->st, quit_pred, x, x->max_steps), "until quit");
}

/* The session daemon closes its command or metadata socket. */
static int st_close(struct scn_runctx *x, const struct scn_step *s)
{
	if (!strcmp(s->argv[1], "cmd")) {
		fake_sessiond_close_cmd(&x->fs);
		x->cmd_closed = true;
		return 0;
	}
	if (strcmp(s->argv[1], "md"))
		return scn_fail(x, "close cmd|md");
	if (x->fs.md_fd >= 0)
		close(x->fs.md_fd);
	x->fs.md_fd = -1;
	return 0;
}

/* The session daemon closes its copies of a channel's fds. */
static int st_release(struct scn_runctx *x, const struct scn_step *s)
{
	struct scn_chan *ch;
	uint64_t key;

	if (pos_u64(x, s, 1, &key))
		return -1;
	ch = chan_find(x, key);
	if (ch && ch->have_objs) {
		sim_app_objects_close(&ch->objs);
		ch->have_objs = false;
	}
	return 0;
}

static int exec(struct scn_runctx *x, const struct scn_step *s);

/* The statement after `send`: s without its first word. */
static struct scn_step sent_step(const struct scn_step *s)
{
	struct scn_step inner = *s;

	inner.argc = s->argc - 1;
	memmove(inner.argv, s->argv + 1, sizeof(char *) * (size_t)inner.argc);
	inner.verb = scn_verb_find(inner.argv[0]);
	return inner;
}

/* Send a command without collecting its reply (`reply` does). */
static int st_send(struct scn_runctx *x, const struct scn_step *s)
{
	struct scn_step inner = sent_step(s);

	if (x->pend.active)
		return scn_fail(x, "send: a reply is still owed (line %d)", x->pend.line);
	return exec(x, &inner);
}

static int st_reply(struct scn_runctx *x, const struct scn_step *s)
{
	const char *e = kv(s, "expect");

	if (!x->pend.active)
		return scn_fail(x, "reply: nothing owed");
	reply_objects_only = s->argc > 1 && !strcmp(s->argv[1], "objects");
	if (reply_objects_only && x->pend.kind != RK_GET)
		return scn_fail(x, "reply objects: only after 'send get'");
	if (e) {
		x->pend.has_expect = true;
		if (parse_code(x, e, &x->pend.expect))
			return -1;
	}
	return finish_reply(x);
}

/* Flags of a verb. */
#define LOCAL 0x1u      /* does not use the command socket: runs after the sessiond gave up */
#define OWED  0x2u      /* may run while a command's reply is owed */
/* Words a statement may have after its verb, at most. */
#define ANY (SCN_MAX_ARGS - 1)

/*
 * The scenario language (tests/scenarios/README.md): the words after the
 * verb, options included, are counted against min / max when the file is
 * loaded.
 */
static const struct scn_verb verbs[] = {
	{ "cpus", 2, 2, st_cpus, 0, 0, "cpus POSSIBLE ONLINE (first statement only)" },
	{ "cpu", 2, 2, st_cpu, LOCAL | OWED, 0, "cpu N online|offline" },
	{ "advance", 1, 1, st_advance, LOCAL | OWED, 0, "advance DURATION" },
	{ "startup", 0, 1, st_startup, 0, 0, "startup" },
	{ "chunk", 1, 5, st_chunk, 0, 0, "chunk ID [dir=NAME] | chunk ID relayd=R [name=S] "
	  "[session=N]" },
	{ "close_chunk", 1, 5, st_close_chunk, 0, 0, "close_chunk ID [delete] [relayd=R] [session=N]" },
	{ "chunk_exists", 1, 4, st_chunk_exists, 0, 0, "chunk_exists ID [relayd=R] [session=N]" },
	{ "ask", 2, 17, st_ask, 0, 0, "ask KEY data|metadata [chunk=ID] [overwrite] [nomonitor] "
	  "[subbuf=N] [nsub=N] [switch_us=N] [monitor_us=N] [live_us=N] [relayd=ID] [name=S] "
	  "[streams=N] [session=N] [session_per_pid=N] [chan_id=N]" },
	{ "get", 1, 2, st_key_cmd, 0, CMD_GET_CHANNEL, "get KEY" },
	{ "release", 1, 1, st_release, LOCAL | OWED, 0, "release KEY" },
	{ "setup_metadata", 1, 2, st_key_cmd, 0, CMD_SETUP_METADATA, "setup_metadata KEY" },
	{ "close_metadata", 1, 2, st_key_cmd, 0, CMD_CLOSE_METADATA, "close_metadata KEY" },
	{ "flush", 1, 2, st_key_cmd, 0, CMD_FLUSH_CHANNEL, "flush KEY" },
	{ "clear_quiescent", 1, 2, st_key_cmd, 0, CMD_CLEAR_QUIESCENT_CHANNEL,
	  "clear_quiescent KEY" },
	{ "clear", 1, 2, st_key_cmd, 0, CMD_CLEAR_CHANNEL, "clear KEY" },
	{ "open_packets", 1, 2, st_key_cmd, 0, CMD_OPEN_CHANNEL_PACKETS, "open_packets KEY" },
	{ "destroy", 1, 2, st_key_cmd, 0, CMD_DESTROY_CHANNEL, "destroy KEY" },
	{ "rotate", 1, 3, st_rotate, 0, 0, "rotate KEY [metadata]" },
	{ "snapshot", 1, 2, st_snapshot, 0, 0, "snapshot KEY" },
	{ "push", 1, 6, st_push, 0, 0, "push KEY [offset=N] [len=N] [version=N] [for=DATAKEY]" },
	{ "serve_metadata", 0, 5, st_serve_metadata, LOCAL | OWED, 0,
	  "serve_metadata [offset=N] [len=N] [empty] [noregistry] [for=DATAKEY]" },
	{ "data_pending", 0, 2, st_data_pending, 0, 0, "data_pending [expect=N] [session=N]" },
	{ "drain", 0, 1, st_drain, 0, 0, "drain [session=N]" },
	{ "discarded", 1, 2, st_stats_cmd, 0, CMD_DISCARDED_EVENTS, "discarded KEY" },
	{ "lost", 1, 2, st_stats_cmd, 0, CMD_LOST_PACKETS, "lost KEY" },
	{ "add_relayd", 1, 3, st_add_relayd, 0, 0, "add_relayd ID [data]" },
	{ "destroy_relayd", 1, 2, st_destroy_relayd, 0, 0, "destroy_relayd ID" },
	{ "relay", 1, 6, scn_relay_verb, LOCAL | OWED, 0, "relay start [minor=N] | relay connect ID [session=N] "
	  "| relay fault MSG action=fail|close|stall|short|garbage [nth=N] [persistent] | "
	  "relay kill | relay pending on|off" },
	{ "garbage", 1, 3, st_garbage, 0, 0, "garbage TYPE [ones]" },
	{ "close", 1, 1, st_close, LOCAL | OWED, 0, "close cmd|md" },
	{ "send", 1, ANY, st_send, OWED, 0, "send COMMAND ... (its reply is collected by `reply`)" },
	{ "reply", 0, 2, st_reply, OWED, 0, "reply [objects]" },
	{ "attach", 2, 2, st_attach, LOCAL | OWED, 0, "attach APP KEY" },
	{ "app", 2, 6, st_app, LOCAL | OWED, 0,
	  "app APP write|reserve|commit|die|exit [cpu=N] [n=N] [cls=0|1|2] [step_ns=N]" },
	{ "step", 0, 1, st_step, LOCAL | OWED, 0, "step [N]" },
	{ "run", 0, 0, st_run, LOCAL, 0, "run" },
	{ "when", 2, ANY, st_when, LOCAL | OWED, 0, "when waiting|posted NAME..." },
	{ "until", 1, 1, st_until, LOCAL | OWED, 0, "until quit" },
	{ "mark", 0, 0, st_mark, LOCAL | OWED, 0, "mark" },
	{ "fault", 2, 6, st_fault, LOCAL | OWED, 0, "fault rb OP [nth=N] [status=S] [persistent] "
	  "[every=K] | fault io CALL [nth=N] err=E [persistent] [every=K]" },
	{ "expect", 1, 8, st_expect, LOCAL | OWED, 0, "expect stats [channels=N] [streams=N] | "
	  "quit | noquit | elapsed max=DURATION | gets | pending NAME | events N | abandoned N | "
	  "relay [errors=N] [streams=N] [packets=N] [events=N] [unannounced=N] [live=N] "
	  "[refused=N] [metadata=coherent|complete [for=DATAKEY]] [stream=NAME]" },
	{ "nocheck", 1, 2, st_nocheck, LOCAL, 0, "nocheck bytes|flush" },
};

/* See scenario_priv.h. */
const struct scn_verb *scn_verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

/* See scenario_priv.h. */
int scn_verb_check(const struct scn_step *s, char *err, size_t len)
{
	const struct scn_verb *v = scn_verb_find(s->argv[0]);
	int words = s->argc - 1;

	if (!v) {
		snprintf(err, len, "unknown statement '%s'", s->argv[0]);
		return -1;
	}
	if (words < v->min_args || words > v->max_args) {
		snprintf(err, len, "'%s' takes %d to %d words, not %d (%s)", v->name, v->min_args,
			 v->max_args, words, v->help);
		return -1;
	}
	if (v->run == st_send) {
		struct scn_step inner = sent_step(s);

		return scn_verb_check(&inner, err, len);
	}
	return 0;
}

/* Run one statement.  0 / -1 (x->r->msg says why). */
static int exec(struct scn_runctx *x, const struct scn_step *s)
{
	const struct scn_verb *v = s->verb;

	if (x->o->sweep && x->cmd_closed && !(v->flags & LOCAL))
		return 0;   /* the session daemon gave up: its later commands never happen */
	if (x->pend.active && !(v->flags & OWED))
		return scn_fail(x, "'%s' while the reply of line %d is owed (add 'reply')", v->name,
				x->pend.line);
	return v->run(x, s);
}

/* ---- teardown --------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag_, struct FTW *ftw)
{
	(void)sb;
	(void)flag_;
	(void)ftw;
	return remove(p);
}

/*
 * The session daemon goes away: apps exit, the command socket closes; the
 * consumer must drain, flush and quit with nothing left, then everything is
 * freed and counted.
 */
static void teardown(struct scn_runctx *x)
{
	bool ok = !x->r->failed;
	enum sim_step_result res;
	int left;

	x->in_teardown = true;
	x->line = 0;
	if (ok && x->pend.active && finish_reply(x))
		ok = false;
	for (unsigned int i = 0; i < x->nr_apps; i++)
		if (x->apps[i].app) {
			if (x->apps[i].have_slot && x->apps[i].chan)
				x->apps[i].chan->tainted = true;
			sim_app_go_away(x->apps[i].app);
		}
	for (unsigned int i = 0; i < x->nr_chans; i++)
		if (x->chans[i].have_objs) {
			sim_app_objects_close(&x->chans[i].objs);
			x->chans[i].have_objs = false;
		}
	if (x->fs_ok && !x->cmd_closed) {
		fake_sessiond_close_cmd(&x->fs);
		x->cmd_closed = true;
	}
	if (x->c && ok) {
		res = sim_step_until(&x->st, quit_pred, x, x->max_steps);
		if (res == SIM_STEP_DEADLOCK)
			{ scn_fail(x, "teardown: DEADLOCK: %s", sim_stepper_deadlock_report(&x->st)); ok = false; }
		else if (!x->r->failed && x->quit_calls != 1)
			{ scn_fail(x, "teardown: the consumer never quit after the session daemon "
					"and every app went away (%s)",
					res == SIM_STEP_LIMIT ? "step limit" : "went idle"); ok = false; }
		if (ok) {
			res = sim_run_until_idle(&x->st, x->max_steps);
			if (res != SIM_STEP_IDLE)
				{ step_result(x, res, "teardown"); ok = false; }
		}
		if (ok && scn_check_end(x))
			ok = false;
	}
	x->r->quit = x->quit_calls > 0;
	if (x->c) {
		invariants_detach(&x->inv);
		consumer_destroy(x->c);
	}
	x->c = NULL;
	sim_fault_alloc_attach(NULL);
	/* The consumer closed its relay sockets: the peer's output joins the run's. */
	if (scn_relay_end(x, ok))
		ok = false;
	scn_relay_free(x);
	if (x->fs_ok)
		fake_sessiond_fini(&x->fs);
	if (x->st_ok)
		sim_stepper_fini(&x->st);
	if (x->st_ok) {
		x->r->steps = sim_stepper_steps(&x->st);
		x->st_ok = false;
	}
	for (unsigned int i = 0; i < x->nr_apps; i++)
		sim_app_destroy(x->apps[i].app);
	for (unsigned int i = 0; i < x->nr_chans; i++)
		if (x->chans[i].rbc)
			sim_rb_channel_unref(x->chans[i].rbc);
	if (x->mon_rd >= 0)
		close(x->mon_rd);
	for (int i = 0; i < SIM_OP_COUNT; i++)
		x->r->calls[i] = x->w.faults.op[i].calls;
	x->r->faults_fired += sim_fault_fired(&x->w.faults, SIM_KIND_RB) +
			      sim_fault_fired(&x->w.faults, SIM_KIND_IO) +
			      sim_fault_fired(&x->w.faults, SIM_KIND_ALLOC);
	if (x->rb_ok) {
		left = sim_rb_fini(&x->rb);
		if (left && ok)
			{ scn_fail(x, "leak: %d ring-buffer channel(s) (shm buffers) never "
					"destroyed", left); ok = false; }
	}
	if (ok && x->o->bt2 && scn_bt2_check(x))
		ok = false;
	if (ok) {
		uint64_t bytes = 0, events = 0;

		if (scn_digest_output(x, &bytes, &events))
			ok = false;
	}
	if (ok && test_open_fd_count() != x->fds_start)
		{ scn_fail(x, "leak: %d fds open, %d at start", test_open_fd_count(),
				x->fds_start); ok = false; }
	if (ok && test_thread_count() != x->threads_start)
		{ scn_fail(x, "leak: %d threads, %d at start", test_thread_count(),
				x->threads_start); ok = false; }
	x->r->digest = x->digest;
	if (!x->o->keep && !x->r->failed && x->r->dir[0])
		nftw(x->r->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* See scenario.h. */
int scn_run(const struct scn *s, const struct scn_opts *o, struct scn_result *r)
{
	struct scn_runctx *x = calloc(1, sizeof(*x));
	uint64_t possible = 2, online = 2;
	size_t i = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!x) {
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		r->failed = true;
		return -1;
	}
	x->s = s;
	x->o = o;
	x->r = r;
	x->mon_rd = -1;
	x->check_bytes = true;
	x->check_flush = true;
	x->want_events = -1;
	x->digest = SCN_FNV_INIT;
	x->max_steps = o->max_steps ? o->max_steps : DEFAULT_MAX_STEPS;
	x->fds_start = test_open_fd_count();
	x->threads_start = test_thread_count();
	if (s->nr_steps && !strcmp(s->steps[0].argv[0], "cpus")) {
		x->line = s->steps[0].line;
		if (pos_u64(x, &s->steps[0], 1, &possible) || pos_u64(x, &s->steps[0], 2, &online))
			goto out;
		i = 1;
	}
	if (setup(x, (int)possible, (int)online))
		goto out;
	for (; i < s->nr_steps; i++) {
		x->line = s->steps[i].line;
		if (o->verbose)
			fprintf(stderr, "line %d: %s\n", x->line, s->steps[i].argv[0]);
		if (exec(x, &s->steps[i]))
			break;
		if (x->pend.active && x->pend.line == x->line &&
		    strcmp(s->steps[i].argv[0], "send") && finish_reply(x))
			break;
		if (x->r->failed)
			break;
	}
out:
	teardown(x);
	ret = r->failed ? -1 : 0;
	free(x);
	return ret;
}
