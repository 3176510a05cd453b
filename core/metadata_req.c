/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metadata_req.c - metadata requests on the metadata socket (see
 * metadata_req.h): owns that socket, the request queue and the answer being
 * read.  Runs on the cmd loop; only mreq_cache_cb runs on the metadata
 * loop, and it only wakes the cmd loop.
 *
 * The answers are the session daemon's and are checked (a bad one kills
 * the requester, every request then fails); the callers' arguments and the
 * state machine's own invariants are asserted.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "consumer_priv.h"
#include "fdpass.h"
#include "log.h"
#include "metadata_req.h"
#include "wire.h"

enum mreq_state {
	MREQ_IDLE,
	MREQ_READ_MSG,
	MREQ_READ_BYTES,
	MREQ_WAIT_FLUSH,
	MREQ_DEAD,
};

struct mreq {
	struct cds_list_head node;
	uint64_t key;
	bool wait_flush;
	metadata_req_fn fn;
	void *arg;
};

struct metadata_req {
	struct consumer *c;
	void (*finished)(struct consumer *c);
	int fd;
	struct loop_source *src;
	enum mreq_state state;
	struct cds_list_head queue;    /* struct mreq; head is the active one */
	uint8_t msg[WIRE_MSG_SIZE];
	size_t have;
	struct cmd cmd;
	uint8_t *payload;
	size_t need;
	struct mdcache_waiter waiter;
	struct mdcache *wait_cache;
	struct loop_source *wait_src;
	size_t nr_queued;              /* entries of `queue` */
	bool driving;                  /* mreq_next's loop is on the stack */
};

static void mreq_event(void *arg, int fd, unsigned int events);
static void mreq_next(struct metadata_req *m);

/* See metadata_req.h. */
int metadata_req_create(struct consumer *c, int fd, void (*finished)(struct consumer *c),
			struct metadata_req **out)
{
	struct metadata_req *m;

	assert(c && finished && out);
	m = sl_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->c = c;
	m->finished = finished;
	m->fd = fd;
	m->state = MREQ_IDLE;
	CDS_INIT_LIST_HEAD(&m->queue);
	*out = m;
	return 0;
}

/* See metadata_req.h. */
void metadata_req_release_fd(struct metadata_req *m)
{
	m->fd = -1;
}

/* Drop the active request's wait registrations. */
static void mreq_unwait(struct metadata_req *m)
{
	if (m->wait_cache) {
		if (mdcache_cancel(m->wait_cache, &m->waiter) == 0)
			loop_remove(m->c->env.cmd_loop, m->wait_src);
		m->wait_cache = NULL;
		m->wait_src = NULL;
	}
}

/* See metadata_req.h. */
void metadata_req_destroy(struct metadata_req *m)
{
	struct mreq *r, *tmp;

	if (!m)
		return;
	if (m->src)
		loop_remove(m->c->env.cmd_loop, m->src);
	mreq_unwait(m);
	cds_list_for_each_entry_safe(r, tmp, &m->queue, node) {
		cds_list_del(&r->node);
		free(r);
	}
	m->nr_queued = 0;
	free(m->payload);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

/*
 * Finish the active request with `code` and start the next one.  Called
 * from inside mreq_next's loop (a request that cannot start), the
 * mreq_next below only returns: that loop goes on with the next request.
 */
static void mreq_finish(struct metadata_req *m, int32_t code)
{
	struct mreq *r;

	if (m->src) {
		loop_remove(m->c->env.cmd_loop, m->src);
		m->src = NULL;
	}
	free(m->payload);
	m->payload = NULL;
	/* A flush wake that cancel_all could not take back arrives to an empty queue. */
	if (cds_list_empty(&m->queue))
		return;
	r = cds_list_first_entry(&m->queue, struct mreq, node);
	cds_list_del(&r->node);
	m->nr_queued--;
	if (m->state != MREQ_DEAD)
		m->state = MREQ_IDLE;
	r->fn(m->c, r->arg, code);
	free(r);
	mreq_next(m);
	/* A push waiting behind a hole may have lost its last chance of filling it. */
	m->finished(m->c);
}

/*
 * The socket broke: every request fails from now on.  mreq_next fails the
 * queued ones, in a loop: however many are queued, the stack stays flat.
 */
static void mreq_die(struct metadata_req *m)
{
	if (m->state != MREQ_DEAD)
		ERR("metadata socket unusable: metadata requests fail from now on");
	m->state = MREQ_DEAD;
	mreq_next(m);
}

/* ST(code) on the metadata socket; a send failure kills the requester. */
static void mreq_send_status(struct metadata_req *m, int32_t code)
{
	uint8_t b[WIRE_REPLY_MAX];
	size_t len;
	int ret;

	ret = wire_encode_reply(REPLY_ST(code), b, &len);
	assert(ret == 0); /* a status always encodes */
	if (fdpass_send_all(m->fd, b, len))
		m->state = MREQ_DEAD;
}

/*
 * Start the head request if idle; on a dead socket fail every queued one.
 * A request that ends here (unknown channel, dead socket) runs its
 * callback, which may submit again, and its end starts the next: a loop,
 * not a recursion (mreq_finish -> callback -> mreq_next -> mreq_finish ...
 * was one stack frame chain per queued request, and a socket dying under
 * thousands of them overflowed the stack).  Re-entered from a callback,
 * it returns at once: the loop on the stack picks the new state up.
 */
static void mreq_next(struct metadata_req *m)
{
	struct mreq *r;
	struct channel *ch;
	struct metadata_request q;
	uint8_t b[WIRE_METADATA_REQUEST_SIZE];

	if (m->driving)
		return;
	m->driving = true;
	while (!cds_list_empty(&m->queue)) {
		if (m->state == MREQ_DEAD) {
			mreq_finish(m, CONSUMER_ERROR_METADATA);
			continue;
		}
		if (m->state != MREQ_IDLE)
			break;
		r = cds_list_first_entry(&m->queue, struct mreq, node);
		ch = channel_lookup(m->c, r->key);
		if (!ch || !ch->metadata) {
			ERR("metadata request for unknown metadata channel %" PRIu64, r->key);
			mreq_finish(m, CONSUMER_CHAN_NOT_FOUND);
			continue;
		}
		q.session_id = ch->session_id;
		q.session_id_per_pid = ch->session_id_per_pid;
		q.bits_per_long = 64;
		q.uid = ch->ust_app_uid;
		q.key = ch->key;
		wire_encode_metadata_request(&q, b);
		if (fdpass_send_all(m->fd, b, sizeof(b))) {
			ERR("metadata socket unusable: metadata requests fail from now on");
			m->state = MREQ_DEAD;
			continue;
		}
		m->have = 0;
		m->state = MREQ_READ_MSG;
		if (loop_add_fd(m->c->env.cmd_loop, m->fd, "sessiond metadata", mreq_event, m,
				&m->src)) {
			m->src = NULL;
			ERR("metadata socket unusable: metadata requests fail from now on");
			m->state = MREQ_DEAD;
			continue;
		}
		break;
	}
	m->driving = false;
}

/* See metadata_req.h. */
int metadata_req_submit(struct metadata_req *m, uint64_t key, bool wait_flush,
			metadata_req_fn fn, void *arg)
{
	struct mreq *r;

	assert(m && fn);
	r = sl_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->key = key;
	r->wait_flush = wait_flush;
	r->fn = fn;
	r->arg = arg;
	cds_list_add_tail(&r->node, &m->queue);
	m->nr_queued++;
	mreq_next(m);
	return 0;
}

/* See metadata_req.h. */
size_t metadata_req_queued(const struct metadata_req *m)
{
	return m ? m->nr_queued : 0;
}

/* See metadata_req.h. */
bool metadata_req_answer_due(struct metadata_req *m, uint64_t key)
{
	struct mreq *r;
	bool head = true;

	if (!m || m->state == MREQ_DEAD)
		return false;
	cds_list_for_each_entry(r, &m->queue, node) {
		/* The head's answer is stored once it waits for the flush. */
		if (r->key == key && !(head && m->state == MREQ_WAIT_FLUSH))
			return true;
		head = false;
	}
	return false;
}

/* See metadata_req.h. */
bool metadata_req_alive(struct metadata_req *m)
{
	return m && m->state != MREQ_DEAD;
}

/* See metadata_req.h. */
void metadata_req_cancel_all(struct metadata_req *m)
{
	if (!m)
		return;
	mreq_unwait(m);
	while (!cds_list_empty(&m->queue)) {
		m->state = MREQ_DEAD;
		mreq_finish(m, CONSUMER_FATAL);
	}
}

/* See metadata_req.h. */
void metadata_wake_stream(struct channel *ch)
{
	uint8_t one = 1;

	if (ch->poll_wr < 0)
		return;
	if (write(ch->poll_wr, &one, 1) < 0 && errno != EAGAIN)
		PERROR_NUM(errno, "waking metadata stream of channel %" PRIu64, ch->key);
}

/* Cmd-loop side of the flush wait. */
static void mreq_flushed_cb(void *arg)
{
	struct metadata_req *m = arg;

	m->wait_src = NULL;
	m->wait_cache = NULL;
	mreq_send_status(m, 0);
	mreq_finish(m, 0);
}

/* mdcache callback (metadata loop): hand over to the cmd loop. */
static void mreq_cache_cb(void *arg, enum mdcache_wait_status status)
{
	struct metadata_req *m = arg;

	(void)status;
	loop_wake(m->c->env.cmd_loop, m->wait_src);
}

/* Payload complete: store it, then acknowledge (after the flush if asked). */
static void mreq_store(struct metadata_req *m)
{
	struct mreq *r = cds_list_first_entry(&m->queue, struct mreq, node);
	const struct cmd_push_metadata *p = &m->cmd.u.push_metadata;
	struct channel *ch = channel_lookup(m->c, p->key);
	enum mdcache_write_result wr;
	int ret;

	if (!ch || !ch->cache) {
		mreq_send_status(m, CONSUMER_CHANNEL_FAIL);
		mreq_finish(m, 0);
		return;
	}
	ret = mdcache_write(ch->cache, p->target_offset, p->len, p->version, m->payload, &wr);
	if (ret) {
		ERR("metadata reply of channel %" PRIu64 " not stored: %s", p->key,
		    log_strerror(-ret));
		mreq_send_status(m, ret == -ENOMEM ? CONSUMER_ENOMEM : CONSUMER_ERROR_METADATA);
		mreq_finish(m, CONSUMER_ERROR_METADATA);
		return;
	}
	if (wr != MDCACHE_NO_CHANGE)
		metadata_wake_stream(ch);
	/*
	 * A fragment beyond a hole cannot be flushed until the hole is pushed,
	 * and no later request is served while this one waits: acknowledge now
	 * (the bytes are kept, DATA_PENDING still sees the hole).
	 */
	if (r->wait_flush && mdcache_contiguous(ch->cache) < p->target_offset + p->len) {
		WARN("metadata answer for channel %" PRIu64 " lies beyond the contiguous "
		     "metadata; kept, not waiting for its flush", p->key);
	} else if (r->wait_flush) {
		if (loop_add_wait(m->c->env.cmd_loop, "metadata request flush", mreq_flushed_cb, m,
				  &m->wait_src) == 0) {
			m->state = MREQ_WAIT_FLUSH;
			m->wait_cache = ch->cache;
			m->waiter = (struct mdcache_waiter)MDCACHE_WAITER_INIT;
			ret = mdcache_wait(ch->cache, &m->waiter, p->version, p->target_offset + p->len,
					   mreq_cache_cb, m);
			if (ret != MDCACHE_WAIT_QUEUED) {
				m->wait_cache = NULL;
				loop_wake(m->c->env.cmd_loop, m->wait_src);
			}
			return;
		}
	}
	mreq_send_status(m, 0);
	mreq_finish(m, 0);
}

/* A complete answer MSG. */
static void mreq_handle_msg(struct metadata_req *m)
{
	struct mreq *r = cds_list_first_entry(&m->queue, struct mreq, node);
	int ret = wire_decode_metadata_reply(m->msg, &m->cmd);

	if (ret) {
		ERR("bad answer to a metadata request: %s", wire_strerror(ret));
		mreq_die(m);
		return;
	}
	if (m->cmd.type == CMD_METADATA_NO_REGISTRY) {
		DBG("metadata request for channel %" PRIu64 ": no registry", r->key);
		mreq_send_status(m, 0);
		mreq_finish(m, 0);
		return;
	}
	if (m->cmd.u.push_metadata.key != r->key)
		WARN("metadata answer for key %" PRIu64 " to a request for %" PRIu64,
		     m->cmd.u.push_metadata.key, r->key);
	if (m->cmd.u.push_metadata.len > MDCACHE_MAX_SIZE ||
	    m->cmd.u.push_metadata.target_offset > MDCACHE_MAX_SIZE - m->cmd.u.push_metadata.len) {
		/* Checked before allocating: the peer's len is not to be trusted. */
		ERR("metadata answer for channel %" PRIu64 ": [%" PRIu64 ", +%" PRIu64
		    ") exceeds the metadata cache maximum", r->key,
		    m->cmd.u.push_metadata.target_offset, m->cmd.u.push_metadata.len);
		mreq_die(m);
		return;
	}
	mreq_send_status(m, 0);
	m->need = m->cmd.u.push_metadata.len;
	m->have = 0;
	if (m->need == 0) {
		mreq_finish(m, 0);
		return;
	}
	/* The ack above already went out: without memory the socket is out of step. */
	m->payload = sl_malloc(m->need);
	if (!m->payload) {
		mreq_die(m);
		return;
	}
	m->state = MREQ_READ_BYTES;
}

/* Readable metadata socket. */
static void mreq_event(void *arg, int fd, unsigned int events)
{
	struct metadata_req *m = arg;
	ssize_t n;

	(void)events;
	/* Reading is for the head request: mreq_next watches only with one queued. */
	assert(!(m->state == MREQ_READ_MSG || m->state == MREQ_READ_BYTES) ||
	       !cds_list_empty(&m->queue));
	if (m->state == MREQ_READ_MSG)
		n = recv(fd, m->msg + m->have, WIRE_MSG_SIZE - m->have, MSG_DONTWAIT);
	else if (m->state == MREQ_READ_BYTES)
		n = recv(fd, m->payload + m->have, m->need - m->have, MSG_DONTWAIT);
	else
		return;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		mreq_die(m);
		return;
	}
	m->have += (size_t)n;
	if (m->state == MREQ_READ_MSG && m->have == WIRE_MSG_SIZE) {
		mreq_handle_msg(m);
	} else if (m->state == MREQ_READ_BYTES && m->have == m->need) {
		if (m->src) {
			loop_remove(m->c->env.cmd_loop, m->src);
			m->src = NULL;
		}
		mreq_store(m);
	}
}
