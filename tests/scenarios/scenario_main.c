/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_main.c - the scenario runner binary (build/scenario_run).
 *
 *   scenario_run [-s SEED] [-n SEEDS] [-d] [-b] [-k] [-v] FILE.scn...
 *       replay every scenario under SEEDS seeds starting at SEED; -d adds the
 *       determinism check (the first seed run twice, digests compared);
 *       -b reads every trace back with babeltrace2.
 *   scenario_run -S rb|io|alloc|all [-s SEED] [-B K] FILE.scn
 *       fault sweep: every ring-buffer op / output syscall / allocation of
 *       the core failing at call N = 1, 2, ... until no fault fires,
 *       transient and persistent, and for a streaming scenario the relay
 *       peer at message N; babeltrace2 reads every K-th sweep output
 *       (default 10).
 *   scenario_run -f rb:OP:N[:STATUS][:p] | io:CALL:N:ERR[:p] | alloc:any:N[:ENOMEM][:p]
 *                | relay:MSG:N:ACTION[:p] -s SEED FILE.scn
 *       one run with one fault (how a sweep failure is replayed).
 *
 * Output: one line per scenario with seeds run, steps, schedules per second
 * and the digest; on a failure `SEED=<n>` and the exact command replaying
 * it.  Exit status 0 when everything passed.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "log.h"
#include "rb.h"
#include "scenario.h"

static const char *argv0;
static int verbose;
static bool keep, bt2_all;
static uint64_t bt2_every = 10;
/* Known failures (-K file): exact -f arguments of sweep runs reported to the core's owner. */
static char *known[512];
static unsigned int nr_known;
static uint64_t known_hits;

/* Load -K: one fault argument per line ("rb:flush:1:ERROR"), '#' comments. */
static int load_known(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nr_known < 512) {
		char *h = strchr(line, '#'), *e;

		if (h)
			*h = '\0';
		for (e = line + strlen(line); e > line && strchr(" \t\r\n", e[-1]); e--)
			e[-1] = '\0';
		if (*line)
			known[nr_known++] = strdup(line);
	}
	fclose(f);
	return 0;
}

/* Is fault argument " -f X" listed as known? */
static bool is_known(const char *fa)
{
	if (strncmp(fa, " -f ", 4))
		return false;
	for (unsigned int i = 0; i < nr_known; i++)
		if (known[i] && !strcmp(known[i], fa + 4))
			return true;
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The -f argument that replays the run's fault ("" for none): an op's, or the relay peer's. */
static void fault_arg(const struct scn_opts *o, char *buf, size_t len)
{
	const struct sim_fault *f = &o->fault;
	const struct sim_relayd_fault *rf = &o->relay_fault;

	buf[0] = '\0';
	if (f->nth)
		snprintf(buf, len, " -f %s:%s:%" PRIu64 ":%s%s",
			 sim_op_kind_name(sim_op_kind(f->op)), sim_op_name(f->op), f->nth,
			 sim_fault_err_name(f->op, f->err), f->every ? ":p" : "");
	else if (rf->nth)
		snprintf(buf, len, " -f relay:%s:%" PRIu64 ":%s%s", sim_relayd_msg_name(rf->msg),
			 rf->nth, sim_relayd_action_name(rf->action), rf->persistent ? ":p" : "");
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void report_failure(const struct scn *s, const struct scn_opts *o,
			   const struct scn_result *r)
{
	char fa[128];

	fault_arg(o, fa, sizeof(fa));
	if (is_known(fa)) {
		if (verbose)
			printf("KNOWN %s%s: %s\n", s->name, fa, r->msg);
		if (r->dir[0] && !keep)
			nftw(r->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		return;
	}
	printf("FAIL %s SEED=%" PRIu64 "%s\n  %s\n", s->name, o->seed, fa, r->msg);
	if (r->dir[0])
		printf("  output kept in %s\n", r->dir);
	printf("  replay: SEED=%" PRIu64 " %s -s %" PRIu64 "%s%s -k -v %s\n", o->seed, argv0, o->seed,
	       fa, o->sweep ? " -w" : "", s->path);
	fflush(stdout);
}

/* Seeds [seed, seed + n) of one scenario (+ determinism check).  Returns failures. */
static int run_seeds(const struct scn *s, uint64_t seed, uint64_t n, bool determinism)
{
	struct scn_opts o = { .verbose = verbose, .keep = keep, .bt2 = bt2_all };
	struct scn_result r;
	uint64_t steps = 0, first_digest = 0, events = 0, bt2 = 0;
	double t0 = now_s(), dt;
	int fails = 0;

	for (uint64_t i = 0; i < n; i++) {
		o.seed = seed + i;
		if (scn_run(s, &o, &r)) {
			report_failure(s, &o, &r);
			if (++fails >= 3)
				break;
			continue;
		}
		if (i == 0)
			first_digest = r.digest;
		steps += r.steps;
		events += r.events;
		bt2 += r.bt2_runs;
	}
	dt = now_s() - t0;
	if (determinism && !fails) {
		struct scn_result a, b;

		o.seed = seed;
		o.bt2 = true;   /* the determinism runs also read the trace with babeltrace2 */
		if (scn_run(s, &o, &a) || scn_run(s, &o, &b)) {
			report_failure(s, &o, a.failed ? &a : &b);
			fails++;
		} else if (a.digest != b.digest || a.digest != first_digest) {
			printf("FAIL %s SEED=%" PRIu64 ": NOT DETERMINISTIC: digests %016" PRIx64
			       " %016" PRIx64 " %016" PRIx64 "\n  replay: SEED=%" PRIu64
			       " %s -s %" PRIu64 " -d %s\n", s->name, seed, first_digest, a.digest,
			       b.digest, seed, argv0, seed, s->path);
			fails++;
		}
		bt2 += a.bt2_runs + b.bt2_runs;
	}
	printf("%s %-40s seeds=%" PRIu64 " steps=%" PRIu64 " events=%" PRIu64
	       " %.0f schedules/s%s bt2=%" PRIu64 " digest=%016" PRIx64 "\n", fails ? "FAIL" : "ok  ",
	       s->name, n, steps, events, dt > 0 ? (double)n / dt : 0.0,
	       determinism ? " deterministic" : "", bt2, first_digest);
	fflush(stdout);
	return fails;
}

/* Realistic status for a failing ring-buffer op. */
static int rb_status_for(int op)
{
	switch (op) {
	case SIM_OP_CHANNEL_CREATE:
	case SIM_OP_STREAM_CREATE:
		return RB_NOMEM;
	case SIM_OP_SEND_CHANNEL:
	case SIM_OP_SEND_STREAM:
		return RB_IO;
	default:
		return RB_ERROR;
	}
}

struct sweep_stats {
	uint64_t runs, fired, fails, bt2;
};

static int sweep_one(const struct scn *s, struct scn_opts *o, struct sweep_stats *ss)
{
	struct scn_result r;

	o->bt2 = bt2_every && (ss->runs % bt2_every) == 0;
	ss->runs++;
	if (scn_run(s, o, &r)) {
		char fa[128];

		report_failure(s, o, &r);
		fault_arg(o, fa, sizeof(fa));
		if (is_known(fa)) {
			known_hits++;
			return 0;
		}
		ss->fails++;
		return -1;
	}
	ss->fired += r.faults_fired;
	ss->bt2 += r.bt2_runs;
	return 0;
}

/*
 * What a sweep fails `op` with: 0 and *n errs, the realistic status of a
 * ring-buffer op, or each disk error of a syscall (short writes for write
 * and pwrite only).
 */
static void sweep_errs(enum sim_op op, int errs[4], size_t *n)
{
	static const int io_errs[] = { ENOSPC, EIO, EINTR, SIM_FAULT_SHORT };

	*n = 0;
	if (op == SIM_OP_CHANNEL_DESTROY) {
		/* Issue 11: the only way a (void) destroy fails: it never returns. */
		errs[(*n)++] = SIM_FAULT_STUCK;
		return;
	}
	if (sim_op_kind(op) == SIM_KIND_RB) {
		errs[(*n)++] = rb_status_for(op);
		/* Issue 11: every stream op may find the app's buffer corrupted. */
		if (op >= SIM_OP_GET_NEXT_SUBBUF && op <= SIM_OP_CURRENT_TIMESTAMP)
			errs[(*n)++] = RB_CORRUPT;
		if (sim_fault_err_name(op, SIM_FAULT_NONSENSE)[0] != '?')
			errs[(*n)++] = SIM_FAULT_NONSENSE;
		return;
	}
	if (sim_op_kind(op) == SIM_KIND_ALLOC) {
		errs[(*n)++] = ENOMEM;
		return;
	}
	for (size_t e = 0; e < sizeof(io_errs) / sizeof(io_errs[0]); e++)
		if (io_errs[e] != SIM_FAULT_SHORT || op == SIM_IO_WRITE || op == SIM_IO_PWRITE ||
		    op == SIM_IO_SEND || op == SIM_IO_RECV)
			errs[(*n)++] = io_errs[e];
}

/* Fault sweep of one scenario over the ops of the kinds asked for.  Returns failures. */
static int sweep(const struct scn *s, uint64_t seed, bool rb, bool io, bool alloc)
{
	const bool kind_on[] = { [SIM_KIND_RB] = rb, [SIM_KIND_IO] = io, [SIM_KIND_ALLOC] = alloc };
	struct scn_opts o = { .seed = seed, .verbose = verbose, .keep = keep, .sweep = true };
	struct scn_result clean;
	struct sweep_stats ss = { 0 };
	uint64_t relay_runs;
	double t0 = now_s(), dt;

	if (scn_run(s, &o, &clean)) {
		report_failure(s, &o, &clean);
		return 1;
	}
	for (int op = 0; op < SIM_OP_COUNT && ss.fails < 100000; op++) {
		int errs[4];
		size_t nerrs;

		if (!kind_on[sim_op_kind(op)])
			continue;
		sweep_errs(op, errs, &nerrs);
		for (size_t e = 0; e < nerrs; e++) {
			for (uint64_t n = 1; n <= clean.calls[op] + 1 && ss.fails < 100000; n++) {
				for (uint64_t every = 0; every < 2; every++) {
					o.fault = (struct sim_fault){ .op = op, .nth = n,
								      .every = every,
								      .err = errs[e] };
					sweep_one(s, &o, &ss);
				}
			}
		}
	}
	/*
	 * The relay peer (a scenario that streams): every action at message N
	 * of any kind, N = 1 .. one past the clean run's, transient and
	 * persistent.
	 */
	o.fault = (struct sim_fault){ .nth = 0 };
	relay_runs = ss.runs;
	for (int a = 0; io && a < SIM_RELAYD_ACTION_COUNT && ss.fails < 100000; a++) {
		for (uint64_t n = 1; n <= clean.relay_msgs + (clean.relay_msgs > 0); n++) {
			for (int p = 0; p < 2; p++) {
				o.relay_fault = (struct sim_relayd_fault){
					.msg = SIM_RELAYD_MSG_ANY, .nth = n, .persistent = p,
					.action = (enum sim_relayd_action)a };
				sweep_one(s, &o, &ss);
			}
		}
	}
	o.relay_fault = (struct sim_relayd_fault){ .nth = 0 };
	relay_runs = ss.runs - relay_runs;
	if (relay_runs)
		printf("     sweep %-34s relay peer: %" PRIu64 " messages in the clean run, %" PRIu64
		       " runs\n", s->name, clean.relay_msgs, relay_runs);
	dt = now_s() - t0;
	printf("%s sweep %-34s %s%s%s%s runs=%" PRIu64 " faults_injected=%" PRIu64 " bt2=%" PRIu64
	       " known_failures=%" PRIu64 "/%u %.0f runs/s\n", ss.fails ? "FAIL" : "ok  ", s->name,
	       rb ? "rb" : "", io ? "+io" : "", alloc ? "+alloc" : "",
	       io && clean.relay_msgs ? "+relay" : "", ss.runs, ss.fired, ss.bt2, known_hits,
	       nr_known, dt > 0 ? (double)ss.runs / dt : 0.0);
	fflush(stdout);
	return (int)ss.fails;
}

/*
 * -f rb:OP:N[:STATUS][:p] | io:CALL:N:ERR[:p] | alloc:any:N[:ENOMEM][:p] (a ring-buffer op
 * fails with ERROR by default, an allocation with ENOMEM)
 */
static int parse_fault(const char *arg, struct sim_fault *f)
{
	char buf[128], *part[5] = { 0 }, *save = NULL;
	int np = 0, kind, op;
	bool every;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ":", &save); t && np < 5; t = strtok_r(NULL, ":", &save))
		part[np++] = t;
	if (np < 3)
		return -1;
	if (!strcmp(part[0], "relay"))
		return -2;   /* the relay peer's: parse_relay_fault */
	kind = sim_op_kind_from_name(part[0]);
	op = kind < 0 ? -1 : sim_op_from_name(kind, part[1]);
	every = !strcmp(part[np - 1], "p");
	if (op < 0)
		return -1;
	*f = (struct sim_fault){ .op = op, .nth = strtoull(part[2], NULL, 0), .every = every,
				 .err = kind == SIM_KIND_ALLOC ? ENOMEM : RB_ERROR };
	if (np - every > 3)
		return sim_fault_err_from_name(op, part[3], &f->err) || !f->nth ? -1 : 0;
	return kind == SIM_KIND_IO || !f->nth ? -1 : 0;
}

/* -f relay:MSG:N:ACTION[:p] (a fault of the relay peer). */
static int parse_relay_fault(const char *arg, struct sim_relayd_fault *f)
{
	char buf[128], *part[5] = { 0 }, *save = NULL;
	int np = 0, msg, act;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ":", &save); t && np < 5; t = strtok_r(NULL, ":", &save))
		part[np++] = t;
	if (np < 4 || strcmp(part[0], "relay"))
		return -1;
	msg = sim_relayd_msg_from_name(part[1]);
	act = sim_relayd_action_from_name(part[3]);
	if (msg < 0 || act < 0)
		return -1;
	*f = (struct sim_relayd_fault){ .msg = (unsigned int)msg, .nth = strtoull(part[2], NULL, 0),
					.action = (enum sim_relayd_action)act,
					.persistent = np == 5 && !strcmp(part[4], "p") };
	return f->nth ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-n SEEDS] [-d] [-b] [-k] [-v] [-S rb|io|alloc|all [-B K]]\n"
		"          [-f FAULT [-w]] FILE.scn...\n", argv0);
}

int main(int argc, char **argv)
{
	uint64_t seed = 1, nseeds = 1;
	bool determinism = false, sweep_mode = false;
	const char *sweep_kind = NULL;
	struct sim_fault fault = { .nth = 0 };
	struct sim_relayd_fault relay_fault = { .nth = 0 };
	int opt, fails = 0;
	double t0 = now_s();

	argv0 = argv[0];
	if (getenv("SEED"))
		seed = strtoull(getenv("SEED"), NULL, 0);
	while ((opt = getopt(argc, argv, "s:n:dbkvS:B:f:K:wh")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': nseeds = strtoull(optarg, NULL, 0); break;
		case 'd': determinism = true; break;
		case 'b': bt2_all = true; break;
		case 'k': keep = true; break;
		case 'v': verbose++; break;
		case 'S': sweep_kind = optarg; break;
		case 'B': bt2_every = strtoull(optarg, NULL, 0); break;
		case 'w': sweep_mode = true; break;
		case 'K':
			if (load_known(optarg)) {
				fprintf(stderr, "cannot read %s\n", optarg);
				return 2;
			}
			break;
		case 'f':
			if (!strncmp(optarg, "relay:", 6) ? parse_relay_fault(optarg, &relay_fault) :
			    parse_fault(optarg, &fault)) {
				fprintf(stderr, "bad fault '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	rcu_register_thread();
	log_level = verbose >= 2 ? 3 : -1;
	for (int i = optind; i < argc; i++) {
		struct scn *s = NULL;
		char err[512];

		if (scn_load(argv[i], &s, err, sizeof(err))) {
			printf("FAIL %s\n", err);
			fails++;
			continue;
		}
		if (sweep_kind) {
			bool all = !strcmp(sweep_kind, "all");

			fails += sweep(s, seed, all || !strcmp(sweep_kind, "rb"),
				       all || !strcmp(sweep_kind, "io"),
				       all || !strcmp(sweep_kind, "alloc"));
		} else if (fault.nth || relay_fault.nth) {
			struct scn_opts o = { .seed = seed, .fault = fault, .relay_fault = relay_fault,
					      .sweep = true, .verbose = verbose, .keep = keep,
					      .bt2 = bt2_all };
			struct scn_result r;

			(void)sweep_mode;
			if (scn_run(s, &o, &r)) {
				report_failure(s, &o, &r);
				fails++;
			} else {
				printf("ok   %s SEED=%" PRIu64 " faults_fired=%" PRIu64 " digest=%016" PRIx64
				       "\n", s->name, seed, r.faults_fired, r.digest);
			}
		} else {
			fails += run_seeds(s, seed, nseeds, determinism);
		}
		scn_free(s);
	}
	printf("%s: %d failure(s), %.1f s\n", fails ? "FAILED" : "passed", fails, now_s() - t0);
	for (unsigned int i = 0; i < nr_known; i++)
		free(known[i]);
	rcu_unregister_thread();
	return fails ? 1 : 0;
}
