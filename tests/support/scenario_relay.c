/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_relay.c - the simulated relay peer (adapters/sim/sim_relayd.h)
 * in a scenario run, on the runner's thread: its place in the io stack,
 * the `relay` verb, `expect relay`, and the end-of-run checks.
 *
 * Every run has the peer in its io stack (consumer -> sim_io -> peer ->
 * posix), idle and transparent until `relay start`; `relay connect ID`
 * hands its two sockets to the consumer through the fake session daemon.
 * At the end, once the consumer is gone, a protocol error recorded by the
 * peer fails the run (also in fault sweeps: a fault may kill the pair, it
 * must never make the consumer send what a relay rejects), and the peer's
 * rebuilt trace is copied into the run's directory as relay-<session>-
 * <chunk>/, so that the digest, the CTF parse, the event count and the
 * babeltrace2 read cover it like local output.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_priv.h"
#include "wire.h"

/* Directory of the peer's output in its in-memory file system. */
#define RELAY_ROOT "relay"

/* See scenario_priv.h. */
int scn_relay_setup(struct scn_runctx *x, const struct io *inner, const struct io **out)
{
	if (sink_mem_fs_create(&x->relay_fs))
		return scn_fail(x, "sink_mem_fs_create failed");
	if (sim_relayd_create(inner, x->relay_fs, RELAY_ROOT, &x->relay))
		return scn_fail(x, "sim_relayd_create failed");
	if (x->o->relay_fault.nth && sim_relayd_arm(x->relay, &x->o->relay_fault))
		return scn_fail(x, "bad relay fault");
	x->relay_minor = 13;
	*out = sim_relayd_io(x->relay);
	return 0;
}

/* See scenario_priv.h. */
bool scn_relay_faulted(struct scn_runctx *x)
{
	return x->relay && sim_relayd_fired(x->relay) > 0;
}

/* ADD_RELAYD_SOCKET of one socket of pair `id`; the fd is ours to close. */
static int add_socket(struct scn_runctx *x, const struct scn_step *s, uint64_t id,
		      uint64_t session, bool data, int fd)
{
	struct cmd c = { .type = CMD_ADD_RELAYD_SOCKET };
	int ret;

	c.u.relayd_sock.relayd_id = id;
	c.u.relayd_sock.type = data ? CMD_RELAYD_DATA : CMD_RELAYD_CONTROL;
	c.u.relayd_sock.proto = CMD_SOCK_TCP;
	c.u.relayd_sock.major = 2;
	c.u.relayd_sock.minor = x->relay_minor;
	c.u.relayd_sock.session_id = session;
	c.u.relayd_sock.relayd_session_id = data ? 0 : SCN_RELAY_SESSION;
	ret = scn_cmd_fd(x, s, &c, fd, "ADD_RELAYD_SOCKET");
	close(fd);
	return ret;
}

/* relay connect ID: a new connection of the peer, both sockets to the consumer. */
static int relay_connect(struct scn_runctx *x, const struct scn_step *s)
{
	uint64_t id, session;
	int cfd = -1, dfd = -1, ret;

	if (scn_pos_u64(x, s, 2, &id) || scn_kv_u64(x, s, "session", SCN_SESSION, &session))
		return -1;
	if (!x->relay_started)
		return scn_fail(x, "relay connect before relay start");
	if (x->pend.active)
		return scn_fail(x, "relay connect while the reply of line %d is owed", x->pend.line);
	if (x->cmd_closed)
		return x->o->sweep ? 0 : scn_fail(x, "relay connect after the command socket closed");
	ret = sim_relayd_connect(x->relay, SCN_RELAY_SESSION, x->relay_minor, &cfd, &dfd);
	if (ret)
		return scn_fail(x, "sim_relayd_connect: %s", strerror(-ret));
	if (add_socket(x, s, id, session, false, cfd)) {
		close(dfd);
		return -1;
	}
	return add_socket(x, s, id, session, true, dfd);
}

/* relay fault MSG action=A [nth=N] [persistent] */
static int relay_fault(struct scn_runctx *x, const struct scn_step *s)
{
	struct sim_relayd_fault f = { .persistent = scn_flag(s, "persistent") };
	const char *a = scn_kv(s, "action");
	int msg, act;

	if (s->argc < 3)
		return scn_fail(x, "relay fault MSG action=...");
	msg = sim_relayd_msg_from_name(s->argv[2]);
	act = a ? sim_relayd_action_from_name(a) : -1;
	if (msg < 0 || act < 0)
		return scn_fail(x, "relay fault: unknown message '%s' or action '%s'", s->argv[2],
				a ? a : "(none)");
	f.msg = (unsigned int)msg;
	f.action = (enum sim_relayd_action)act;
	if (scn_kv_u64(x, s, "nth", 1, &f.nth))
		return -1;
	if (sim_relayd_arm(x->relay, &f))
		return scn_fail(x, "relay fault: cannot arm");
	return 0;
}

/* See scenario_priv.h. */
int scn_relay_verb(struct scn_runctx *x, const struct scn_step *s)
{
	const char *what = s->argv[1];
	uint64_t v;

	if (!strcmp(what, "start")) {
		if (scn_kv_u64(x, s, "minor", 13, &v))
			return -1;
		if (v < 11 || v > 13)
			return scn_fail(x, "relay start: minor %" PRIu64 " (11..13)", v);
		x->relay_minor = (uint32_t)v;
		x->relay_started = true;
		return 0;
	}
	if (!x->relay_started)
		return scn_fail(x, "relay %s before relay start", what);
	if (!strcmp(what, "connect"))
		return relay_connect(x, s);
	if (!strcmp(what, "fault"))
		return relay_fault(x, s);
	if (!strcmp(what, "kill")) {
		sim_relayd_kill(x->relay);
		return 0;
	}
	if (!strcmp(what, "pending") && s->argc == 3 &&
	    (!strcmp(s->argv[2], "on") || !strcmp(s->argv[2], "off"))) {
		sim_relayd_force_pending(x->relay, !strcmp(s->argv[2], "on"));
		return 0;
	}
	return scn_fail(x, "relay start|connect|fault|kill|pending on|off");
}

/* ---- expectations ---- */

/* Data packets and events in the peer's files of stream `only` (NULL: every data stream). */
static int relay_events(struct scn_runctx *x, const char *only, uint64_t *events,
			uint64_t *packets)
{
	const char *f;

	*events = *packets = 0;
	for (size_t i = 0; (f = sink_mem_fs_file_name(x->relay_fs, i)); i++) {
		const char *base = strrchr(f, '/');
		const uint8_t *buf;
		size_t len;

		base = base ? base + 1 : f;
		if (strstr(f, "/index/") || !strncmp(base, "metadata", 8) ||
		    (only && strcmp(base, only)))
			continue;
		if (sink_mem_fs_read(x->relay_fs, f, &buf, &len))
			return scn_fail(x, "relay output: cannot read %s", f);
		if (scn_ctf_events(buf, len, events, packets, NULL))
			return scn_fail(x, "relay output: %s is not a CTF stream", f);
	}
	return 0;
}

/*
 * Failure mode 12: what reached each relay metadata stream is a prefix of
 * the TSDL, and every SEND_METADATA ended where a push or a served request
 * ended (never inside a metadata unit); `complete`: the whole TSDL arrived.
 */
static int relay_metadata(struct scn_runctx *x, bool complete, const char *for_key)
{
	char *tsdl = scn_tsdl(x, for_key);
	size_t full, n = sim_relayd_stream_count(x->relay);
	int ret = 0;

	if (!tsdl)
		return scn_fail(x, "no TSDL");
	full = strlen(tsdl);
	for (size_t i = 0; i < n && !ret; i++) {
		const uint64_t *cuts;
		const char *text;
		size_t len, nr;

		if (sim_relayd_metadata_text(x->relay, i, &text, &len, &cuts, &nr))
			continue;
		if (len > full || (len && memcmp(text, tsdl, len)))
			ret = scn_fail(x, "relay metadata stream %zu: %zu bytes that are not a prefix "
				       "of the TSDL (%zu bytes)", i, len, full);
		for (size_t k = 0; k < nr && !ret; k++) {
			bool unit = cuts[k] == full;

			for (unsigned int u = 0; u < x->nr_md_units && !unit; u++)
				unit = x->md_units[u] == cuts[k];
			if (!unit)
				ret = scn_fail(x, "relay metadata stream %zu: SEND_METADATA %zu ended at "
					       "TSDL byte %" PRIu64 ", inside a metadata unit", i,
					       k + 1, cuts[k]);
		}
		if (!ret && complete && len != full)
			ret = scn_fail(x, "relay metadata stream %zu: %zu of %zu TSDL bytes", i, len,
				       full);
	}
	free(tsdl);
	return ret;
}

static int want(struct scn_runctx *x, const struct scn_step *s, const char *key, uint64_t got)
{
	uint64_t v;

	scn_digest(x, key, got);
	if (x->o->sweep || !scn_kv(s, key))
		return 0;
	if (scn_kv_u64(x, s, key, 0, &v))
		return -1;
	if (v != got)
		return scn_fail(x, "relay %s = %" PRIu64 ", expected %" PRIu64 "%s%s", key, got, v,
				!strcmp(key, "errors") && got ? "; first: " : "",
				!strcmp(key, "errors") && got ? sim_relayd_error(x->relay, 0) : "");
	return 0;
}

/* See scenario_priv.h. */
int scn_relay_expect(struct scn_runctx *x, const struct scn_step *s)
{
	const char *md = scn_kv(s, "metadata");
	uint64_t events = 0, packets = 0;

	if (!x->relay_started)
		return scn_fail(x, "expect relay before relay start");
	if (relay_events(x, scn_kv(s, "stream"), &events, &packets))
		return -1;
	if (want(x, s, "errors", sim_relayd_error_count(x->relay)) ||
	    want(x, s, "streams", sim_relayd_stream_count(x->relay)) ||
	    want(x, s, "packets", packets) || want(x, s, "events", events) ||
	    want(x, s, "unannounced", sim_relayd_unannounced(x->relay)) ||
	    want(x, s, "live", sim_relayd_live_conns(x->relay)) ||
	    want(x, s, "refused", sim_relayd_refused_count(x->relay)))
		return -1;
	if (md && strcmp(md, "coherent") && strcmp(md, "complete"))
		return scn_fail(x, "expect relay metadata=coherent|complete");
	if (md && !x->o->sweep)
		return relay_metadata(x, !strcmp(md, "complete"), scn_kv(s, "for"));
	return 0;
}

/* ---- end of run ---- */

/* mkdir -p of the directories of `path` (a file). */
static int mkdirs_for(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* Copy the peer's files: relay/session1/chunk0/ust/... -> <dir>/relay-session1-chunk0/ust/... */
static int dump(struct scn_runctx *x)
{
	const char *f;

	for (size_t i = 0; (f = sink_mem_fs_file_name(x->relay_fs, i)); i++) {
		char rel[1024], path[1400];
		const uint8_t *buf;
		size_t len;
		char *slash;
		int fd;

		if (strncmp(f, RELAY_ROOT "/", sizeof(RELAY_ROOT)))
			continue;
		snprintf(rel, sizeof(rel), "relay-%s", f + sizeof(RELAY_ROOT));
		slash = strchr(rel, '/');
		if (slash)
			*slash = '-';
		snprintf(path, sizeof(path), "%s/%s", x->r->dir, rel);
		if (sink_mem_fs_read(x->relay_fs, f, &buf, &len) || mkdirs_for(path))
			return scn_fail(x, "end: cannot copy relay file %s", f);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return scn_fail(x, "end: cannot create %s: %s", path, strerror(errno));
		if (len && write(fd, buf, len) != (ssize_t)len) {
			close(fd);
			return scn_fail(x, "end: cannot write %s", path);
		}
		close(fd);
	}
	return 0;
}

/* See scenario_priv.h. */
int scn_relay_end(struct scn_runctx *x, bool check)
{
	unsigned int n;

	if (!x->relay)
		return 0;
	n = sim_relayd_error_count(x->relay);
	x->r->relay_msgs = sim_relayd_msg_count(x->relay, SIM_RELAYD_MSG_ANY);
	x->r->faults_fired += sim_relayd_fired(x->relay);
	if (x->relay_started) {
		scn_digest(x, "relay.errors", n);
		scn_digest(x, "relay.msgs", x->r->relay_msgs);
	}
	if (check && n)
		return scn_fail(x, "relay: %u protocol error(s) (a real relay daemon rejects them), "
				"first: %s", n, sim_relayd_error(x->relay, 0));
	return x->r->dir[0] ? dump(x) : 0;
}

/* See scenario_priv.h. */
void scn_relay_free(struct scn_runctx *x)
{
	sim_relayd_destroy(x->relay);
	x->relay = NULL;
	if (x->relay_fs)
		sink_mem_fs_destroy(x->relay_fs);
	x->relay_fs = NULL;
}
