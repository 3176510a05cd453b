/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink_file.c - the local-file sink: stream and index files below a trace
 * chunk's directory fd, over the io seam (core/io.h).
 *
 * Why pwrite at a tracked offset rather than write(): the sink always knows
 * where the next packet starts (it is also the index entry's offset), and
 * after a failed or partial write it truncates the file back to that offset.
 * With write() the fd's file position would be left past the truncation
 * point and the next packet would land after a hole.  The packet still goes
 * from the caller's buffer to the kernel in one syscall in the common case,
 * with no copy and no fsync/sync_file_range on this path.
 *
 * Failure model (failure-modes.md "Faults to inject everywhere"): EINTR and
 * short writes are retried here, transparently; any other error is logged
 * and returned with the stream files rolled back to their last complete
 * packet.  If even the rollback fails the stream is marked dirty and the
 * next write_packet retries it before writing anything.  A failed tracefile
 * switch leaves the stream without an open file; the next write_packet
 * opens it again, so a full disk that frees up later heals by itself.
 *
 * Locking: one chunk lock protects the created-file list and the count of
 * open streams (streams of one chunk may run on several threads).  Stream
 * state is the caller's (one thread per stream at a time); no lock of ours
 * is held across a write.
 */
#include "sink.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

/* Longest suffix the sink appends to a name: "_<u64>.idx". */
#define NAME_SUFFIX_MAX (sizeof("_18446744073709551615.idx") - 1)
#define INDEX_DIR "index/"

struct file_chunk {
	struct sink_chunk base;     /* first: the ops */
	const struct io *io;
	int dirfd;                  /* owned: the chunk's domain directory */
	uid_t uid;
	gid_t gid;
	pthread_mutex_t lock;       /* protects everything below */
	char **created;             /* relative paths, each once */
	size_t nr_created;
	size_t cap_created;
	unsigned long nr_streams;   /* streams opened and not yet closed */
};

struct file_stream {
	struct sink_stream base;    /* first: the ops and chunk */
	struct file_chunk *chunk;
	char *dir;                  /* channel pathname + '/' (or "" for the chunk dir) */
	char *name;
	uint64_t tracefile_size;
	uint64_t tracefile_count;
	bool with_index;
	int fd;                     /* current tracefile, -1 while not open */
	int idx_fd;                 /* its index, -1 without index or not open */
	uint64_t tracefile_index;
	uint64_t file_bytes;        /* valid bytes in the tracefile = next packet offset */
	uint64_t idx_bytes;         /* valid bytes in the index file */
	bool dirty;                 /* files may hold bytes past file_bytes / idx_bytes */
	uint64_t bytes_written;
	uint64_t packets;
};

static const struct sink_ops file_sink_ops;

static struct file_chunk *to_chunk(struct sink_chunk *c)
{
	return (struct file_chunk *)c;
}

static struct file_stream *to_stream(struct sink_stream *s)
{
	return (struct file_stream *)s;
}

/*
 * True when `path` is relative and has no ".." component: the sessiond's
 * pathname is untrusted input and must not climb out of the chunk.
 */
static bool path_is_contained(const char *path)
{
	const char *p = path;

	if (*p == '/')
		return false;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += len;
		p += strspn(p, "/");
	}
	return true;
}

/* True when `name` is a single, non-empty, non-dot file name short enough for its suffixes. */
static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len + NAME_SUFFIX_MAX > NAME_MAX || strchr(name, '/'))
		return false;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * Relative path of the stream's current tracefile (or its index) into
 * out[size].  Returns 0 or -ENAMETOOLONG.
 */
static int stream_path(const struct file_stream *s, bool index, char *out, size_t size)
{
	char suffix[NAME_SUFFIX_MAX + 1] = "";
	int n;

	if (s->tracefile_size > 0)
		snprintf(suffix, sizeof(suffix), "_%" PRIu64, s->tracefile_index);
	n = snprintf(out, size, "%s%s%s%s%s", s->dir, index ? INDEX_DIR : "", s->name, suffix,
		     index ? ".idx" : "");
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Remember `path` as created through the chunk, once.  Called BEFORE the
 * open so that no file can exist on disk without being in the list.
 * Returns 0 or -ENOMEM.  Takes the chunk lock.
 */
static int chunk_note_created(struct file_chunk *c, const char *path)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nr_created; i++) {
		if (strcmp(c->created[i], path) == 0)
			goto unlock;
	}
	if (c->nr_created == c->cap_created) {
		size_t cap = c->cap_created ? 2 * c->cap_created : 8;
		char **grown = sl_realloc(c->created, cap * sizeof(*grown));

		if (!grown) {
			ret = -ENOMEM;
			goto unlock;
		}
		c->created = grown;
		c->cap_created = cap;
	}
	c->created[c->nr_created] = sl_strdup(path);
	if (!c->created[c->nr_created]) {
		ret = -ENOMEM;
		goto unlock;
	}
	c->nr_created++;
unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* openat in the chunk as its owner, retrying EINTR.  fd or -errno. */
static int chunk_open(struct file_chunk *c, const char *path)
{
	int fd, tries = 0;

	do {
		fd = io_openat(c->io, c->dirfd, path, O_WRONLY | O_CREAT | O_TRUNC, SINK_FILE_MODE,
			       c->uid, c->gid);
	} while (fd == -EINTR && ++tries < SINK_MAX_EINTR_RETRIES);
	if (fd == -ENOENT)
		ERR("Cannot create \"%s\" in trace chunk: its directory does not exist "
		    "(directories are created by the session daemon, never by the consumer)", path);
	else if (fd == -EPERM)
		ERR("Cannot create \"%s\" in trace chunk as uid %u gid %u: permission denied",
		    path, (unsigned int)c->uid, (unsigned int)c->gid);
	else if (fd < 0)
		PERROR_NUM(-fd, "Cannot create \"%s\" in trace chunk", path);
	return fd;
}

/* ftruncate retrying EINTR.  0 or -errno. */
static int truncate_retry(const struct io *io, int fd, uint64_t length)
{
	int ret, tries = 0;

	do {
		ret = io_ftruncate(io, fd, (off_t)length);
	} while (ret == -EINTR && ++tries < SINK_MAX_EINTR_RETRIES);
	return ret;
}

/*
 * Write all of buf at `offset`: short writes continue where they stopped,
 * EINTR is retried up to SINK_MAX_EINTR_RETRIES times in a row.  A write
 * that makes no progress without an error is reported as -EIO (a regular
 * file never does that; looping on it would never end).  0 or -errno.
 */
static int pwrite_all(const struct io *io, int fd, const void *buf, size_t len, uint64_t offset)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int eintr = 0;

	while (done < len) {
		ssize_t n = io_pwrite(io, fd, p + done, len - done, (off_t)(offset + done));

		if (n == -EINTR) {
			if (++eintr >= SINK_MAX_EINTR_RETRIES)
				return -EINTR;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		eintr = 0;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Cut both files back to their last complete packet (file_bytes,
 * idx_bytes).  Clears `dirty` on success.  0 or -errno (logged).
 */
static int stream_rollback(struct file_stream *s)
{
	const struct io *io = s->chunk->io;
	char path[PATH_MAX];
	int ret;

	s->dirty = true;
	ret = truncate_retry(io, s->fd, s->file_bytes);
	if (ret == 0 && s->with_index)
		ret = truncate_retry(io, s->idx_fd, s->idx_bytes);
	if (ret < 0) {
		/* Built successfully when the file was opened: it fits. */
		(void)stream_path(s, false, path, sizeof(path));
		PERROR_NUM(-ret, "Cannot truncate \"%s\" back to its last complete packet "
			   "(offset %" PRIu64 "); will retry before the next packet", path,
			   s->file_bytes);
		return ret;
	}
	s->dirty = false;
	return 0;
}

/* Close the current tracefile and index, if open.  0 or the first -errno (logged). */
static int stream_close_files(struct file_stream *s)
{
	const struct io *io = s->chunk->io;
	int fds[2] = { s->fd, s->idx_fd };
	int ret = 0;

	for (int i = 0; i < 2; i++) {
		int r;

		if (fds[i] < 0)
			continue;
		r = io_close(io, fds[i]);
		if (r < 0) {
			PERROR_NUM(-r, "Closing output of stream \"%s%s\"", s->dir, s->name);
			if (ret == 0)
				ret = r;
		}
	}
	s->fd = -1;
	s->idx_fd = -1;
	s->file_bytes = 0;
	s->idx_bytes = 0;
	s->dirty = false;
	return ret;
}

/*
 * Open (create or truncate) the current tracefile and, with an index, its
 * index file with the header written.  On failure nothing stays open.
 * 0 or -errno (logged).
 */
static int stream_open_files(struct file_stream *s)
{
	struct file_chunk *c = s->chunk;
	uint8_t header[CTF_INDEX_HEADER_SIZE];
	char path[PATH_MAX], idx_path[PATH_MAX];
	int fd = -1, idx_fd = -1;
	int ret;

	/* Both names first: a name that cannot be built fails before any syscall. */
	if (stream_path(s, false, path, sizeof(path)) < 0 ||
	    (s->with_index && stream_path(s, true, idx_path, sizeof(idx_path)) < 0)) {
		ERR("Output path of stream \"%s%s\" is too long", s->dir, s->name);
		return -ENAMETOOLONG;
	}
	ret = chunk_note_created(c, path);
	if (ret < 0)
		goto err_nomem;
	fd = chunk_open(c, path);
	if (fd < 0)
		return fd;
	if (s->with_index) {
		ret = chunk_note_created(c, idx_path);
		if (ret < 0)
			goto err_nomem;
		idx_fd = chunk_open(c, idx_path);
		if (idx_fd < 0) {
			ret = idx_fd;
			goto err_close;
		}
		ctf_index_encode_header(header);
		ret = pwrite_all(c->io, idx_fd, header, sizeof(header), 0);
		if (ret < 0) {
			PERROR_NUM(-ret, "Writing index header of \"%s\"", idx_path);
			goto err_close;
		}
	}
	s->fd = fd;
	s->idx_fd = idx_fd;
	s->file_bytes = 0;
	s->idx_bytes = s->with_index ? CTF_INDEX_HEADER_SIZE : 0;
	s->dirty = false;
	return 0;

err_nomem:
	ERR("Out of memory recording a file of stream \"%s%s\" as created in its chunk", s->dir,
	    s->name);
err_close:
	if (idx_fd >= 0)
		io_close(c->io, idx_fd);
	if (fd >= 0)
		io_close(c->io, fd);
	return ret;
}

/* sink_ops.stream_open for local files; see sink.h. */
static int file_stream_open(struct sink_chunk *base, const struct sink_stream_params *p,
			    struct sink_stream **out)
{
	struct file_chunk *c = to_chunk(base);
	struct file_stream *s = NULL;
	const char *pathname;
	size_t plen;
	int ret;

	assert(p && out && p->name);
	pathname = p->pathname ? p->pathname : "";
	if (!path_is_contained(pathname)) {
		ERR("Refusing channel pathname \"%s\": must be relative to the chunk, without \"..\"",
		    pathname);
		return -EINVAL;
	}
	if (!name_is_valid(p->name)) {
		ERR("Refusing stream name \"%s\": must be a plain file name", p->name);
		return -EINVAL;
	}
	s = sl_calloc(1, sizeof(*s));
	if (!s)
		goto err_nomem;
	plen = strlen(pathname);
	s->dir = sl_malloc(plen + 2);
	s->name = sl_strdup(p->name);
	if (!s->dir || !s->name)
		goto err_nomem;
	memcpy(s->dir, pathname, plen);
	/* One separator unless the pathname is empty or already ends with one. */
	if (plen > 0 && pathname[plen - 1] != '/')
		s->dir[plen++] = '/';
	s->dir[plen] = '\0';
	s->base.ops = &file_sink_ops;
	s->base.chunk = base;
	s->chunk = c;
	s->tracefile_size = p->tracefile_size;
	s->tracefile_count = p->tracefile_count;
	s->with_index = p->with_index;
	s->fd = -1;
	s->idx_fd = -1;

	/* Counted before any file exists, so unlink_created cannot race the open. */
	pthread_mutex_lock(&c->lock);
	c->nr_streams++;
	pthread_mutex_unlock(&c->lock);
	ret = stream_open_files(s);
	if (ret < 0)
		goto err_unregister;
	DBG("Opened output \"%s%s\" (tracefile size %" PRIu64 ", count %" PRIu64 ", index %d)",
	    s->dir, s->name, s->tracefile_size, s->tracefile_count, s->with_index);
	*out = &s->base;
	return 0;

err_unregister:
	pthread_mutex_lock(&c->lock);
	c->nr_streams--;
	pthread_mutex_unlock(&c->lock);
	goto err_free;
err_nomem:
	ERR("Out of memory opening stream output \"%s\"", p->name);
	ret = -ENOMEM;
err_free:
	if (s) {
		free(s->dir);
		free(s->name);
	}
	free(s);
	return ret;
}

/* sink_ops.write_packet for local files; see sink.h. */
static int file_write_packet(struct sink_stream *base, const void *buf, size_t content,
			     size_t len, const struct ctf_index_entry *info)
{
	struct file_stream *s = to_stream(base);
	const struct io *io = s->chunk->io;
	uint8_t raw[CTF_INDEX_ENTRY_SIZE];
	struct ctf_index_entry entry;
	char path[PATH_MAX];
	int ret;

	assert(buf && (!s->with_index || info) && content <= len);
	/* The length comes from the ring buffer, which an app can corrupt. */
	if (len == 0 || len > (size_t)INT64_MAX) {
		ERR("Invalid packet for stream \"%s%s\" (len %zu)", s->dir, s->name, len);
		return -EINVAL;
	}
	if (s->fd >= 0 && s->dirty) {
		ret = stream_rollback(s);
		if (ret < 0)
			return ret;
	}
	/* An empty tracefile takes the packet whatever its size: no empty files. */
	if (s->fd >= 0 && s->tracefile_size > 0 && s->file_bytes > 0 &&
	    s->file_bytes + len > s->tracefile_size) {
		/* A close error loses nothing we could still save: logged, go on. */
		stream_close_files(s);
		s->tracefile_index++;
		if (s->tracefile_count > 0)
			s->tracefile_index %= s->tracefile_count;
	}
	if (s->fd < 0) {
		ret = stream_open_files(s);
		if (ret < 0)
			return ret;
	}

	ret = pwrite_all(io, s->fd, buf, len, s->file_bytes);
	if (ret < 0)
		goto err_rollback;
	if (s->with_index) {
		entry = *info;
		entry.offset = s->file_bytes;
		ctf_index_encode_entry(&entry, raw);
		ret = pwrite_all(io, s->idx_fd, raw, sizeof(raw), s->idx_bytes);
		if (ret < 0)
			goto err_rollback;
		s->idx_bytes += sizeof(raw);
	}
	s->file_bytes += len;
	s->bytes_written += len;
	s->packets++;
	return 0;

err_rollback:
	(void)stream_path(s, false, path, sizeof(path));
	PERROR_NUM(-ret, "Writing a %zu-byte packet to \"%s\" at offset %" PRIu64, len, path,
		   s->file_bytes);
	stream_rollback(s);
	return ret;
}

/*
 * sink_ops.reset: empty the current tracefile (and its index down to the
 * header), for metadata regeneration.  Shares the rollback path, so a
 * failure leaves the stream dirty and the next write finishes the job.
 */
static int file_reset(struct sink_stream *base, uint64_t version)
{
	struct file_stream *s = to_stream(base);

	(void)version; /* a local file just starts over */
	if (s->fd < 0)
		return 0;   /* the next open truncates anyway */
	s->file_bytes = 0;
	s->idx_bytes = s->with_index ? CTF_INDEX_HEADER_SIZE : 0;
	return stream_rollback(s);
}

/* sink_ops.stream_close: close files, leave the chunk, free. */
static int file_stream_close(struct sink_stream *base)
{
	struct file_stream *s = to_stream(base);
	struct file_chunk *c = s->chunk;
	int ret;

	ret = stream_close_files(s);
	pthread_mutex_lock(&c->lock);
	c->nr_streams--;
	pthread_mutex_unlock(&c->lock);
	free(s->dir);
	free(s->name);
	free(s);
	return ret;
}

/* sink_ops.stats. */
static void file_stats(const struct sink_stream *base, struct sink_stats *out)
{
	const struct file_stream *s = (const struct file_stream *)base;

	out->bytes_written = s->bytes_written;
	out->packets = s->packets;
	out->tracefile_index = s->tracefile_index;
	out->tracefile_bytes = s->file_bytes;
}

/*
 * sink_ops.unlink_created: see sink.h.  Runs with the caller's credentials
 * (the consumer owns or may remove what it created).  Paths that could not
 * be removed stay in the list so a later call can try again.
 */
static int file_unlink_created(struct sink_chunk *base)
{
	struct file_chunk *c = to_chunk(base);
	size_t kept = 0;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nr_streams > 0) {
		ERR("Cannot delete the files of a trace chunk while %lu stream(s) still write in it",
		    c->nr_streams);
		ret = -EBUSY;
		goto unlock;
	}
	for (size_t i = 0; i < c->nr_created; i++) {
		int r, tries = 0;

		do {
			r = io_unlinkat(c->io, c->dirfd, c->created[i], 0);
		} while (r == -EINTR && ++tries < SINK_MAX_EINTR_RETRIES);
		if (r == 0 || r == -ENOENT) {
			free(c->created[i]);
			continue;
		}
		PERROR_NUM(-r, "Cannot delete \"%s\" from its trace chunk", c->created[i]);
		if (ret == 0)
			ret = r;
		c->created[kept++] = c->created[i];
	}
	c->nr_created = kept;
unlock:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* sink_ops.created_count. */
static size_t file_created_count(struct sink_chunk *base)
{
	struct file_chunk *c = to_chunk(base);
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->nr_created;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* sink_ops.chunk_destroy: see sink.h. */
static int file_chunk_destroy(struct sink_chunk *base)
{
	struct file_chunk *c = to_chunk(base);
	unsigned long busy;
	int ret;

	pthread_mutex_lock(&c->lock);
	busy = c->nr_streams;
	pthread_mutex_unlock(&c->lock);
	if (busy > 0) {
		ERR("Trace chunk still has %lu open stream(s); not destroyed", busy);
		return -EBUSY;
	}
	for (size_t i = 0; i < c->nr_created; i++)
		free(c->created[i]);
	free(c->created);
	ret = io_close(c->io, c->dirfd);
	if (ret < 0)
		PERROR_NUM(-ret, "Closing trace chunk directory fd %d", c->dirfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}

int sink_file_chunk_create(const struct io *io, int dirfd, uid_t uid, gid_t gid,
			   struct sink_chunk **out)
{
	struct file_chunk *c;

	/* Kept an error: the sim's chunk tests use it to check that dirfd is given back. */
	if (!io || !out || dirfd < 0) {
		ERR("Invalid trace chunk output (dirfd %d)", dirfd);
		return -EINVAL;
	}
	c = sl_calloc(1, sizeof(*c));
	if (!c) {
		ERR("Out of memory creating a trace chunk output");
		return -ENOMEM;
	}
	c->base.ops = &file_sink_ops;
	c->io = io;
	c->dirfd = dirfd;
	c->uid = uid;
	c->gid = gid;
	pthread_mutex_init(&c->lock, NULL);
	*out = &c->base;
	return 0;
}

static const struct sink_ops file_sink_ops = {
	.name = "file",
	.stream_open = file_stream_open,
	.write_packet = file_write_packet,
	.reset = file_reset,
	.stream_close = file_stream_close,
	.stats = file_stats,
	.unlink_created = file_unlink_created,
	.created_count = file_created_count,
	.chunk_destroy = file_chunk_destroy,
};
