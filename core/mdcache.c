/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mdcache.c - metadata cache of one metadata channel.  The design, the
 * invalidation rule and the lock contract are in mdcache.h.  Used from any
 * loop: written by PUSH_METADATA and the metadata requests (cmd loop), read
 * by the metadata stream (metadata loop), behind one leaf mutex.
 *
 * Implementation notes:
 *  - Validity is kept as a prefix [0, contiguous) plus a small sorted array
 *    of disjoint, non-touching islands that all start past `contiguous`.
 *    When a fragment reaches the prefix, the islands it now touches are
 *    absorbed, which is how the contiguous length "jumps" when a hole fills.
 *  - Every fallible step (bounds, island slot, buffer growth) is checked
 *    before anything is modified, so a failed write leaves the cache as it
 *    was, version included.
 *  - Waiters live in a list sorted by target (FIFO among equal targets), so
 *    progress wakes a prefix of it in target order.  Ending waiters is done in
 *    two phases: under the lock they move to a list private to the calling
 *    thread and become FIRING (no longer cancellable, not re-registrable);
 *    then, lock released, each is popped, made IDLE under a short lock hold and
 *    its callback called with no lock held.  The waiter is never touched after
 *    its callback started, so the callback may free or reuse it.
 *  - Errors found under the lock are logged after it is released: the lock
 *    stays a leaf even with respect to stdio's lock.
 */
#include "mdcache.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

/* First allocation; metadata of a small session fits in a few KiB. */
#define MDCACHE_INITIAL_CAPACITY 4096

struct mdcache_range {
	uint64_t start;
	uint64_t end; /* exclusive */
};

struct mdcache {
	pthread_mutex_t lock; /* leaf; protects every field below */
	uint8_t *buf;
	uint64_t capacity;
	uint64_t version;
	uint64_t size;
	uint64_t contiguous;
	uint64_t flushed; /* <= contiguous */
	unsigned int nr_ranges;
	struct mdcache_range ranges[MDCACHE_MAX_RANGES];
	struct cds_list_head waiters; /* sorted by target */
	unsigned int nr_waiters;
	bool stream_open;
	bool destroying;
};

int mdcache_create(struct mdcache **out)
{
	struct mdcache *c = NULL;
	int ret;

	assert(out);
	c = sl_calloc(1, sizeof(*c));
	if (!c) {
		ERR("mdcache: out of memory allocating a cache");
		return -ENOMEM;
	}
	ret = pthread_mutex_init(&c->lock, NULL);
	if (ret) {
		PERROR_NUM(ret, "mdcache: pthread_mutex_init");
		goto error_free;
	}
	CDS_INIT_LIST_HEAD(&c->waiters);
	*out = c;
	return 0;

error_free:
	free(c);
	return -ret;
}

/*
 * Move queued waiters to the private list `out` with `status`: all of them if
 * `all`, otherwise those whose target <= limit.  Caller holds the lock.
 */
static void collect_locked(struct mdcache *c, struct cds_list_head *out, bool all, uint64_t limit,
			   enum mdcache_wait_status status)
{
	struct mdcache_waiter *w, *tmp;

	cds_list_for_each_entry_safe(w, tmp, &c->waiters, node) {
		if (!all && w->target > limit)
			break; /* sorted: nobody further is reached either */
		cds_list_del(&w->node);
		cds_list_add_tail(&w->node, out);
		w->state = MDCACHE_WAITER_FIRING;
		w->status = status;
		c->nr_waiters--;
	}
}

/*
 * Call the callback of every waiter on the private list `list`, in list order.
 * Caller must NOT hold the lock.
 */
static void fire(struct mdcache *c, struct cds_list_head *list)
{
	/* Only this thread unlinks from `list`; peeking at it needs no lock. */
	while (!cds_list_empty(list)) {
		struct mdcache_waiter *w;
		enum mdcache_wait_status status;
		mdcache_wait_fn fn;
		void *arg;

		pthread_mutex_lock(&c->lock);
		w = cds_list_first_entry(list, struct mdcache_waiter, node);
		cds_list_del(&w->node);
		fn = w->fn;
		arg = w->arg;
		status = w->status;
		w->cache = NULL;
		w->state = MDCACHE_WAITER_IDLE;
		pthread_mutex_unlock(&c->lock);
		fn(arg, status);
	}
}

void mdcache_destroy(struct mdcache *cache)
{
	struct cds_list_head list;

	if (!cache)
		return;
	CDS_INIT_LIST_HEAD(&list);
	pthread_mutex_lock(&cache->lock);
	/* From here on no waiter can queue, so the list stays empty after fire(). */
	cache->destroying = true;
	cache->stream_open = false;
	collect_locked(cache, &list, true, 0, MDCACHE_WAIT_CLOSED);
	pthread_mutex_unlock(&cache->lock);
	fire(cache, &list);

	pthread_mutex_destroy(&cache->lock);
	free(cache->buf);
	free(cache);
}

/*
 * Index of the first island that [start, end) overlaps or touches, or of the
 * position where it would be inserted.  *merges tells which.  Lock held.
 */
static unsigned int range_find_locked(const struct mdcache *c, uint64_t start, uint64_t end,
				      bool *merges)
{
	unsigned int i = 0;

	while (i < c->nr_ranges && c->ranges[i].end < start)
		i++;
	*merges = i < c->nr_ranges && c->ranges[i].start <= end;
	return i;
}

/*
 * Mark [start, end) valid, absorbing islands into the prefix or into each
 * other.  The caller checked that a new island has a free slot.  Lock held.
 */
static void range_add_locked(struct mdcache *c, uint64_t start, uint64_t end)
{
	unsigned int i, j, absorbed = 0;
	bool merges;

	if (start <= c->contiguous) {
		if (end > c->contiguous)
			c->contiguous = end;
		/* Islands now reached by the prefix join it (a hole was filled). */
		while (absorbed < c->nr_ranges && c->ranges[absorbed].start <= c->contiguous) {
			if (c->ranges[absorbed].end > c->contiguous)
				c->contiguous = c->ranges[absorbed].end;
			absorbed++;
		}
		memmove(&c->ranges[0], &c->ranges[absorbed],
			(c->nr_ranges - absorbed) * sizeof(c->ranges[0]));
		c->nr_ranges -= absorbed;
		return;
	}

	i = range_find_locked(c, start, end, &merges);
	if (!merges) {
		memmove(&c->ranges[i + 1], &c->ranges[i], (c->nr_ranges - i) * sizeof(c->ranges[0]));
		c->ranges[i].start = start;
		c->ranges[i].end = end;
		c->nr_ranges++;
		return;
	}
	/* Merge islands i..j-1, all overlapping or touching [start, end). */
	if (c->ranges[i].start < start)
		start = c->ranges[i].start;
	for (j = i; j < c->nr_ranges && c->ranges[j].start <= end; j++) {
		if (c->ranges[j].end > end)
			end = c->ranges[j].end;
	}
	c->ranges[i].start = start;
	c->ranges[i].end = end;
	memmove(&c->ranges[i + 1], &c->ranges[j], (c->nr_ranges - j) * sizeof(c->ranges[0]));
	c->nr_ranges -= j - i - 1;
}

/* Make room for `end` bytes.  Returns 0 or -ENOMEM (buffer unchanged).  Lock held. */
static int reserve_locked(struct mdcache *c, uint64_t end)
{
	uint64_t cap = c->capacity ? c->capacity : MDCACHE_INITIAL_CAPACITY;
	uint8_t *buf;

	if (end <= c->capacity)
		return 0;
	/* Doubling keeps a stream of small appends amortised O(1). */
	while (cap < end)
		cap *= 2;
	if (cap > MDCACHE_MAX_SIZE)
		cap = MDCACHE_MAX_SIZE;
	buf = sl_realloc(c->buf, cap);
	if (!buf)
		return -ENOMEM;
	c->buf = buf;
	c->capacity = cap;
	return 0;
}

int mdcache_write(struct mdcache *cache, uint64_t target_offset, uint64_t len, uint64_t version,
		  const void *bytes, enum mdcache_write_result *result)
{
	struct cds_list_head list;
	enum mdcache_write_result res;
	uint64_t end, old_contiguous;
	bool invalidate, merges;
	int ret = 0;

	assert(cache && (len == 0 || bytes));
	/* Written so that it cannot overflow: len <= MAX, then offset <= MAX - len. */
	if (len > MDCACHE_MAX_SIZE || target_offset > MDCACHE_MAX_SIZE - len) {
		ERR("mdcache: fragment at offset %" PRIu64 " of %" PRIu64
		    " bytes exceeds the %" PRIu64 "-byte limit",
		    target_offset, len, MDCACHE_MAX_SIZE);
		return -EFBIG;
	}
	end = target_offset + len;
	CDS_INIT_LIST_HEAD(&list);

	pthread_mutex_lock(&cache->lock);
	invalidate = version != cache->version;
	if (len > 0) {
		/*
		 * Fallible checks first.  After an invalidation the cache holds no
		 * island, so only a same-version fragment can run out of slots.
		 */
		if (!invalidate && target_offset > cache->contiguous &&
		    cache->nr_ranges == MDCACHE_MAX_RANGES) {
			range_find_locked(cache, target_offset, end, &merges);
			if (!merges) {
				ret = -ENOSPC;
				goto unlock;
			}
		}
		ret = reserve_locked(cache, end);
		if (ret)
			goto unlock;
	}

	if (invalidate) {
		cache->version = version;
		cache->size = 0;
		cache->contiguous = 0;
		cache->flushed = 0;
		cache->nr_ranges = 0;
		collect_locked(cache, &list, true, 0, MDCACHE_WAIT_INVALIDATED);
	}
	old_contiguous = cache->contiguous;
	if (len > 0) {
		memcpy(cache->buf + target_offset, bytes, len);
		range_add_locked(cache, target_offset, end);
		if (end > cache->size)
			cache->size = end;
	}
	if (invalidate)
		res = MDCACHE_INVALIDATED;
	else if (cache->contiguous > old_contiguous)
		res = MDCACHE_APPENDED;
	else
		res = MDCACHE_NO_CHANGE;
	if (result)
		*result = res;

unlock:
	pthread_mutex_unlock(&cache->lock);
	if (ret == -ENOSPC)
		ERR("mdcache: fragment at offset %" PRIu64 " of %" PRIu64
		    " bytes would leave more than %d holes",
		    target_offset, len, MDCACHE_MAX_RANGES);
	else if (ret == -ENOMEM)
		ERR("mdcache: out of memory growing the cache to %" PRIu64 " bytes", end);
	if (!ret && invalidate)
		DBG("mdcache: invalidated, now version %" PRIu64, version);
	fire(cache, &list);
	return ret;
}

int mdcache_read(struct mdcache *cache, uint64_t offset, void *dst, size_t n, uint64_t *version)
{
	uint64_t contiguous;
	int ret = 0;

	assert(cache && (n == 0 || dst));
	pthread_mutex_lock(&cache->lock);
	contiguous = cache->contiguous;
	if (offset > contiguous || n > contiguous - offset) {
		ret = -ERANGE;
	} else {
		if (n > 0)
			memcpy(dst, cache->buf + offset, n);
		if (version)
			*version = cache->version;
	}
	pthread_mutex_unlock(&cache->lock);
	if (ret)
		ERR("mdcache: read of %zu bytes at offset %" PRIu64
		    " past the contiguous length %" PRIu64,
		    n, offset, contiguous);
	return ret;
}

ssize_t mdcache_read_unflushed(struct mdcache *cache, void *dst, size_t max, uint64_t *offset,
			       uint64_t *version)
{
	uint64_t avail;

	assert(cache && (max == 0 || dst));
	pthread_mutex_lock(&cache->lock);
	avail = cache->contiguous - cache->flushed;
	if (avail > max)
		avail = max;
	if (avail > 0)
		memcpy(dst, cache->buf + cache->flushed, avail);
	if (offset)
		*offset = cache->flushed;
	if (version)
		*version = cache->version;
	pthread_mutex_unlock(&cache->lock);
	/* avail <= MDCACHE_MAX_SIZE, which fits ssize_t. */
	return (ssize_t)avail;
}

int mdcache_set_flushed(struct mdcache *cache, uint64_t version, uint64_t pushed)
{
	struct cds_list_head list;
	uint64_t cur_version = 0, contiguous = 0, flushed = 0;
	int ret = 0;

	assert(cache);
	CDS_INIT_LIST_HEAD(&list);
	pthread_mutex_lock(&cache->lock);
	cur_version = cache->version;
	contiguous = cache->contiguous;
	flushed = cache->flushed;
	if (version != cur_version) {
		ret = -ESTALE;
	} else if (pushed > contiguous) {
		ret = -ERANGE;
	} else if (pushed < flushed) {
		ret = -EINVAL;
	} else {
		cache->flushed = pushed;
		collect_locked(cache, &list, false, pushed, MDCACHE_WAIT_FLUSHED);
	}
	pthread_mutex_unlock(&cache->lock);

	switch (ret) {
	case -ESTALE:
		/* Normal race with a regeneration: the reader re-reads. */
		DBG("mdcache: progress for version %" PRIu64 " ignored, cache is at version %" PRIu64,
		    version, cur_version);
		break;
	case -ERANGE:
		ERR("mdcache: flushed position %" PRIu64 " past the contiguous length %" PRIu64,
		    pushed, contiguous);
		break;
	case -EINVAL:
		ERR("mdcache: flushed position moved back from %" PRIu64 " to %" PRIu64, flushed,
		    pushed);
		break;
	default:
		break;
	}
	fire(cache, &list);
	return ret;
}

void mdcache_reset_flushed(struct mdcache *cache)
{
	if (!cache)
		return;
	pthread_mutex_lock(&cache->lock);
	cache->flushed = 0;
	pthread_mutex_unlock(&cache->lock);
}

int mdcache_stream_open(struct mdcache *cache)
{
	int ret = 0;

	assert(cache);
	pthread_mutex_lock(&cache->lock);
	if (cache->destroying) {
		ret = -EBADF;
	} else if (cache->stream_open) {
		ret = -EBUSY;
	} else {
		cache->stream_open = true;
		cache->flushed = 0;
	}
	pthread_mutex_unlock(&cache->lock);
	if (ret == -EBUSY)
		ERR("mdcache: a metadata stream is already attached");
	else if (ret == -EBADF)
		ERR("mdcache: stream attached to a cache being destroyed");
	return ret;
}

void mdcache_stream_close(struct mdcache *cache)
{
	struct cds_list_head list;

	if (!cache)
		return;
	CDS_INIT_LIST_HEAD(&list);
	pthread_mutex_lock(&cache->lock);
	cache->stream_open = false;
	collect_locked(cache, &list, true, 0, MDCACHE_WAIT_CLOSED);
	pthread_mutex_unlock(&cache->lock);
	fire(cache, &list);
}

int mdcache_wait(struct mdcache *cache, struct mdcache_waiter *waiter, uint64_t version,
		 uint64_t target, mdcache_wait_fn fn, void *arg)
{
	struct cds_list_head *pos;
	int ret;

	assert(cache && waiter && fn);
	if (target > MDCACHE_MAX_SIZE) {
		ERR("mdcache: wait target %" PRIu64 " beyond the %" PRIu64 "-byte limit", target,
		    MDCACHE_MAX_SIZE);
		return -EFBIG;
	}
	pthread_mutex_lock(&cache->lock);
	if (waiter->state != MDCACHE_WAITER_IDLE) {
		ret = -EBUSY;
	} else if (version != cache->version) {
		ret = MDCACHE_WAIT_INVALIDATED;
	} else if (cache->flushed >= target) {
		ret = MDCACHE_WAIT_FLUSHED;
	} else if (!cache->stream_open) {
		ret = MDCACHE_WAIT_CLOSED;
	} else {
		/* Insert after the last waiter with target <= ours: FIFO among equals. */
		for (pos = cache->waiters.prev; pos != &cache->waiters; pos = pos->prev) {
			if (cds_list_entry(pos, struct mdcache_waiter, node)->target <= target)
				break;
		}
		cds_list_add(&waiter->node, pos);
		waiter->cache = cache;
		waiter->target = target;
		waiter->fn = fn;
		waiter->arg = arg;
		waiter->state = MDCACHE_WAITER_QUEUED;
		cache->nr_waiters++;
		ret = MDCACHE_WAIT_QUEUED;
	}
	pthread_mutex_unlock(&cache->lock);
	if (ret == -EBUSY)
		ERR("mdcache: waiter %p registered while still pending", (void *)waiter);
	return ret;
}

int mdcache_cancel(struct mdcache *cache, struct mdcache_waiter *waiter)
{
	int ret;

	assert(cache && waiter);
	pthread_mutex_lock(&cache->lock);
	if (waiter->state != MDCACHE_WAITER_QUEUED) {
		ret = -ENOENT;
	} else if (waiter->cache != cache) {
		ret = -EINVAL;
	} else {
		cds_list_del(&waiter->node);
		waiter->cache = NULL;
		waiter->state = MDCACHE_WAITER_IDLE;
		cache->nr_waiters--;
		ret = 0;
	}
	pthread_mutex_unlock(&cache->lock);
	if (ret == -EINVAL)
		ERR("mdcache: waiter %p cancelled on a cache it is not queued on", (void *)waiter);
	return ret;
}

bool mdcache_data_pending(struct mdcache *cache)
{
	bool pending;

	if (!cache)
		return false;
	pthread_mutex_lock(&cache->lock);
	pending = cache->size == 0 || cache->flushed != cache->size;
	pthread_mutex_unlock(&cache->lock);
	return pending;
}

int mdcache_get_state(struct mdcache *cache, struct mdcache_state *out)
{
	assert(cache && out);
	pthread_mutex_lock(&cache->lock);
	out->version = cache->version;
	out->size = cache->size;
	out->contiguous = cache->contiguous;
	out->flushed = cache->flushed;
	out->stream_open = cache->stream_open;
	out->nr_waiters = cache->nr_waiters;
	pthread_mutex_unlock(&cache->lock);
	return 0;
}

/* The single-counter getters read one field of a locked snapshot. */
uint64_t mdcache_version(struct mdcache *cache)
{
	struct mdcache_state s;

	return cache && !mdcache_get_state(cache, &s) ? s.version : 0;
}

uint64_t mdcache_size(struct mdcache *cache)
{
	struct mdcache_state s;

	return cache && !mdcache_get_state(cache, &s) ? s.size : 0;
}

uint64_t mdcache_contiguous(struct mdcache *cache)
{
	struct mdcache_state s;

	return cache && !mdcache_get_state(cache, &s) ? s.contiguous : 0;
}

uint64_t mdcache_flushed(struct mdcache *cache)
{
	struct mdcache_state s;

	return cache && !mdcache_get_state(cache, &s) ? s.flushed : 0;
}
