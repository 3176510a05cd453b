/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scenario_check.c - the invariants of a scenario run and the digest of its
 * output (scenario_priv.h), on the runner's thread.
 *
 * After every step: the checks of invariants.h, shared with every other
 * fixture of the simulation; the first violation fails the run here.
 * At the end, once the consumer quit:
 *   - no channel or stream left in the consumer;
 *   - every hung-up stream got its final flush: no packet left open, every
 *     delivered byte consumed or declared lost (overwritten / cleared);
 *   - bytes in the data files = bytes the ring buffers handed out, events in
 *     the data files = events committed - events declared lost (when the
 *     scenario wrote every packet to a chunk and no fault fired);
 *   - after the teardown (scenario_run.c): no ring-buffer channel (shm
 *     buffer), fd or thread left; memory by the valgrind runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_priv.h"
#include "sim_ctf.h"

/* See scenario_priv.h. */
void scn_after_step(void *arg)
{
	struct scn_runctx *x = arg;

	if (x->inv.msg[0])
		scn_fail(x, "invariant: %s", x->inv.msg);
}

/* See scenario_priv.h. */
int scn_check_end(struct scn_runctx *x)
{
	struct consumer_stats cs;
	bool rb_faults = sim_fault_fired(&x->w.faults, SIM_KIND_RB) != 0;
	bool io_faults = sim_fault_fired(&x->w.faults, SIM_KIND_IO) != 0;
	/*
	 * An allocation failure makes the command it hit fail: the session
	 * daemon's next steps (a clear-quiescent that did not happen, a flush
	 * refused) legitimately change what is flushed and written, as a ring
	 * buffer fault does.  Crashes, leaks, hangs and invariants still count.
	 */
	bool alloc_faults = sim_fault_fired(&x->w.faults, SIM_KIND_ALLOC) != 0;
	/* Faults on the relay sockets only: local output must not notice them. */
	uint64_t relay_io = x->w.faults.op[SIM_IO_SEND].fired + x->w.faults.op[SIM_IO_RECV].fired;
	bool io_local = sim_fault_fired(&x->w.faults, SIM_KIND_IO) > relay_io;
	uint64_t bytes = 0, events = 0, lbytes = 0, levents = 0;

	consumer_get_stats(x->c, &cs);
	if (cs.channels || cs.streams)
		return scn_fail(x, "end: %" PRIu64 " channel(s), %" PRIu64 " stream(s) left after quit",
				cs.channels, cs.streams);
	if (!rb_faults && sim_rb_outstanding_gets(&x->rb))
		return scn_fail(x, "end: %" PRIu64 " sub-buffer gets never put",
				sim_rb_outstanding_gets(&x->rb));
	for (unsigned int i = 0; i < x->nr_chans; i++) {
		struct scn_chan *c = &x->chans[i];
		int n;

		if (!c->rbc || c->metadata)
			continue;
		n = sim_rb_channel_nr_streams(c->rbc);
		for (int cpu = 0; cpu < n; cpu++) {
			struct sim_rb_stats st;

			if (sim_rb_stats(c->rbc, cpu, &st))
				continue;
			bytes += st.bytes_consumed;
			events += st.events_written - st.events_lost;
			if (!c->relay) {
				lbytes += st.bytes_consumed;
				levents += st.events_written - st.events_lost;
			}
			/* a disk that keeps failing cannot be drained into */
			if (rb_faults || alloc_faults || (io_faults && x->o->fault.every) || c->tainted ||
			    !x->check_flush || !st.hung_up)
				continue;
			if (st.packet_open)
				return scn_fail(x, "end: channel %" PRIu64 " cpu %d hung up without its "
						"final flush (packet still open)", c->key, cpu);
			if (st.bytes_delivered !=
			    st.bytes_consumed + st.bytes_overwritten)
				return scn_fail(x, "end: channel %" PRIu64 " cpu %d: %" PRIu64
						" bytes delivered, %" PRIu64 " consumed + %" PRIu64
						" overwritten (not drained)", c->key, cpu,
						st.bytes_delivered, st.bytes_consumed,
						st.bytes_overwritten);
		}
	}
	x->exp_valid = x->check_bytes && !rb_faults && !alloc_faults && !io_faults &&
		       !scn_relay_faulted(x);
	x->exp_bytes = bytes;
	x->exp_events = events;
	x->exp_local_valid = x->check_bytes && !rb_faults && !alloc_faults && !io_local;
	x->exp_local_bytes = lbytes;
	x->exp_local_events = levents;
	return 0;
}

/* ---- output walk ------------------------------------------------------ */

struct walk {
	struct scn_runctx *x;
	bool hash;
	uint64_t data_bytes;
	uint64_t events;
	uint64_t md_bytes;
	uint64_t local_bytes;        /* the same outside the relay's copied output (relay-*) */
	uint64_t local_events;
	char bad[256];               /* first corrupt file */
};

/* See scenario_priv.h. */
int scn_ctf_events(const uint8_t *buf, size_t len, uint64_t *events, uint64_t *packets,
		   size_t *bad_at)
{
	unsigned int nr;
	const struct sim_ctf_event_class *cls = sim_app_classes(&nr);
	size_t off = 0;

	while (off < len) {
		struct sim_ctf_stream_info info;
		struct sim_ctf_packet_ctx ctx;
		size_t psize, csize, o = SIM_CTF_PACKET_HEADER_SIZE;
		uint32_t id;
		uint64_t ts, fields[SIM_CTF_MAX_FIELDS];
		int ret;

		if (sim_ctf_read_packet_header(buf + off, len - off, &info, &ctx))
			goto bad;
		psize = (size_t)(ctx.packet_size / 8);
		csize = (size_t)(ctx.content_size / 8);
		if (!psize || psize > len - off || csize > psize || csize < o)
			goto bad;
		while ((ret = sim_ctf_read_event(buf + off, csize, &o, cls, nr, &id, &ts, fields)) == 0)
			(*events)++;
		if (ret != -ENOENT)
			goto bad;
		(*packets)++;
		off += psize;
	}
	return 0;
bad:
	if (bad_at)
		*bad_at = off;
	return -1;
}

/* Count the events of one data file (CTF packets of the sim tracer). */
static void parse_data(struct walk *w, const char *rel, const uint8_t *buf, size_t len)
{
	uint64_t packets = 0;
	size_t off = 0;

	if (scn_ctf_events(buf, len, &w->events, &packets, &off) && !w->bad[0])
		snprintf(w->bad, sizeof(w->bad), "%s at byte %zu", rel, off);
}

static int sel(const struct dirent *e)
{
	return strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
}

/* Recursive, sorted walk of `path` (relative name `rel`). */
static int walk_dir(struct walk *w, const char *path, const char *rel)
{
	struct dirent **list = NULL;
	int n = scandir(path, &list, sel, alphasort);
	int ret = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char p[1024], r[1024];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", path, list[i]->d_name);
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", list[i]->d_name);
		if (!ret && lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				ret = walk_dir(w, p, r);
			} else if (S_ISREG(st.st_mode)) {
				uint8_t *buf = malloc((size_t)st.st_size + 1);
				int fd = open(p, O_RDONLY | O_CLOEXEC);
				ssize_t got = -1;

				if (buf && fd >= 0)
					got = read(fd, buf, (size_t)st.st_size);
				if (fd >= 0)
					close(fd);
				if (got == st.st_size) {
					const char *base = list[i]->d_name;

					if (w->hash) {
						w->x->digest = scn_fnv(w->x->digest, r, strlen(r) + 1);
						w->x->digest = scn_fnv(w->x->digest, buf, (size_t)got);
					}
					if (!strncmp(base, "metadata", 8))
						w->md_bytes += (uint64_t)got;
					else if (!strstr(r, "/index/")) {
						uint64_t before = w->events;

						w->data_bytes += (uint64_t)got;
						parse_data(w, r, buf, (size_t)got);
						if (strncmp(r, "relay-", 6)) {
							w->local_bytes += (uint64_t)got;
							w->local_events += w->events - before;
						}
					}
				} else {
					ret = -EIO;
				}
				free(buf);
			}
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

/* See scenario_priv.h. */
int scn_digest_output(struct scn_runctx *x, uint64_t *data_bytes, uint64_t *events)
{
	struct walk w = { .x = x, .hash = true };
	int ret = walk_dir(&w, x->r->dir, "");

	if (ret)
		return scn_fail(x, "end: cannot read the output: %s", strerror(-ret));
	*data_bytes = w.data_bytes;
	*events = w.events;
	x->r->events = w.events;
	scn_digest(x, "out.bytes", w.data_bytes);
	scn_digest(x, "out.events", w.events);
	if (w.bad[0])
		return scn_fail(x, "end: corrupt trace file %s", w.bad);
	/* Also in sweeps: a fault that only hit the relay leaves local output whole. */
	if (x->exp_local_valid && (w.local_bytes != x->exp_local_bytes ||
				   w.local_events != x->exp_local_events))
		return scn_fail(x, "end: local output: %" PRIu64 " data bytes, %" PRIu64 " events; "
				"the local channels' ring buffers handed out %" PRIu64 " bytes, %" PRIu64
				" events", w.local_bytes, w.local_events, x->exp_local_bytes,
				x->exp_local_events);
	if (x->o->sweep)
		return 0;
	if (x->want_events >= 0 && (uint64_t)x->want_events != w.events)
		return scn_fail(x, "end: %" PRIu64 " events in the trace, expected %" PRId64, w.events,
				x->want_events);
	if (x->exp_valid && w.data_bytes != x->exp_bytes)
		return scn_fail(x, "end: %" PRIu64 " data bytes written, ring buffers handed out %"
				PRIu64, w.data_bytes, x->exp_bytes);
	if (x->exp_valid && w.events != x->exp_events)
		return scn_fail(x, "end: %" PRIu64 " events in the trace, %" PRIu64 " committed and "
				"not declared lost", w.events, x->exp_events);
	return 0;
}

/* See scenario_priv.h. */
int scn_bt2_check(struct scn_runctx *x)
{
	struct dirent **list = NULL;
	int n = scandir(x->r->dir, &list, sel, alphasort);
	int ret = 0;

	if (n < 0)
		return scn_fail(x, "end: cannot list %s", x->r->dir);
	for (int i = 0; i < n; i++) {
		char p[1024], md[1200], cmd[1400], line[4096];
		struct walk w = { .x = x };
		struct stat st;
		long lines = 0;
		FILE *f;
		int status;

		snprintf(p, sizeof(p), "%s/%s", x->r->dir, list[i]->d_name);
		snprintf(md, sizeof(md), "%s/ust/%s/metadata", p, SCN_PATHNAME);
		if (ret || stat(md, &st) || st.st_size == 0)
			goto next;
		if (walk_dir(&w, p, list[i]->d_name) || w.bad[0] || w.data_bytes == 0)
			goto next;
		snprintf(cmd, sizeof(cmd), "babeltrace2 '%s' 2>/dev/null", p);
		f = popen(cmd, "r");
		if (!f) {
			ret = scn_fail(x, "end: cannot run babeltrace2");
			goto next;
		}
		while (fgets(line, sizeof(line), f))
			lines += strchr(line, '\n') != NULL;
		status = pclose(f);
		x->r->bt2_runs++;
		if (status != 0)
			ret = scn_fail(x, "end: babeltrace2 cannot read chunk '%s' (status %d)",
				       list[i]->d_name, status);
		else if ((uint64_t)lines != w.events)
			ret = scn_fail(x, "end: babeltrace2 read %ld events in '%s', the CTF parse %"
				       PRIu64, lines, list[i]->d_name, w.events);
next:
		free(list[i]);
	}
	free(list);
	return ret;
}
