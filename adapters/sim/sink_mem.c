/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sink_mem.c - an in-memory file system behind the io seam, so that tests
 * and simulations run the real local-file sink without touching a disk.
 *
 * Why a file system and not a second sink: the file sink's naming, tracefile
 * rotation, index encoding, rollback and DELETE bookkeeping are the code
 * under test; re-implementing them here would test a copy.  Below the io
 * seam the semantics to honour are small and well known: paths relative to
 * a directory fd, parent directories that must exist, O_CREAT / O_TRUNC /
 * O_EXCL / O_DIRECTORY, writes at a file position or an offset (holes read
 * as zeros), ftruncate, unlink of a file that is still open (data lives on
 * until its last close), fstat.  Permissions are recorded (mode, uid, gid)
 * but never checked.
 *
 * A capacity makes the store behave like a filling disk: a write that does
 * not fit is cut short to the space left, the next one fails with ENOSPC.
 *
 * Nodes are kept in an array sorted by path (byte order): lookups are a
 * binary search and listings come out in a deterministic order.  One mutex
 * serialises every entry point.
 */
#include "sink_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MEM_DIR_MODE 0770

struct mem_node {
	char *path;            /* from the root, no leading or trailing '/'; "" = root */
	bool is_dir;
	bool linked;           /* still reachable by path */
	mode_t mode;           /* permission bits only */
	uid_t uid;
	gid_t gid;
	uint64_t ino;
	uint8_t *data;
	size_t len;
	size_t cap;
	unsigned int open_refs;
};

struct mem_fd {
	struct mem_node *node; /* NULL: slot free */
	int flags;
	uint64_t pos;
};

struct sink_mem_fs {
	struct io io;          /* ops + ctx (this fs) */
	pthread_mutex_t lock;  /* serialises everything below */
	struct mem_node root;
	struct mem_node **nodes;   /* linked nodes except the root, sorted by path */
	size_t nr_nodes;
	size_t cap_nodes;
	struct mem_fd fds[SINK_MEM_MAX_FDS];
	size_t open_fds;
	uint64_t capacity;     /* 0 = unlimited */
	uint64_t used;         /* bytes held by file data, linked or still open */
	uint64_t next_ino;
};

static const struct io_ops mem_io_ops;

static struct sink_mem_fs *fs_of(const struct io *io)
{
	return io->ctx;
}

/* Free a node's memory (it must be unlinked and closed); returns its bytes to the capacity. */
static void node_free(struct sink_mem_fs *fs, struct mem_node *n)
{
	fs->used -= n->len;
	free(n->data);
	free(n->path);
	free(n);
}

/* Index of the first node whose path is >= path (binary search). */
static size_t node_pos(const struct sink_mem_fs *fs, const char *path)
{
	size_t lo = 0, hi = fs->nr_nodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(fs->nodes[mid]->path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Linked node at `path` ("" = root) or NULL. */
static struct mem_node *node_lookup(struct sink_mem_fs *fs, const char *path)
{
	size_t i;

	if (*path == '\0')
		return &fs->root;
	i = node_pos(fs, path);
	if (i < fs->nr_nodes && strcmp(fs->nodes[i]->path, path) == 0)
		return fs->nodes[i];
	return NULL;
}

/*
 * Create and link a node at `path` (which must not exist; its parent is
 * the caller's business).  Takes ownership of `path` on success.
 * Returns the node or NULL (-ENOMEM).
 */
static struct mem_node *node_insert(struct sink_mem_fs *fs, char *path, bool is_dir, mode_t mode,
				    uid_t uid, gid_t gid)
{
	struct mem_node *n;
	size_t i;

	if (fs->nr_nodes == fs->cap_nodes) {
		size_t cap = fs->cap_nodes ? 2 * fs->cap_nodes : 16;
		struct mem_node **grown = realloc(fs->nodes, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		fs->nodes = grown;
		fs->cap_nodes = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->path = path;
	n->is_dir = is_dir;
	n->linked = true;
	n->mode = mode & 07777;
	n->uid = uid;
	n->gid = gid;
	n->ino = ++fs->next_ino;
	i = node_pos(fs, path);
	memmove(&fs->nodes[i + 1], &fs->nodes[i], (fs->nr_nodes - i) * sizeof(*fs->nodes));
	fs->nodes[i] = n;
	fs->nr_nodes++;
	return n;
}

/* Unlink `n` from the namespace; its memory goes with its last open fd. */
static void node_unlink(struct sink_mem_fs *fs, struct mem_node *n)
{
	size_t i = node_pos(fs, n->path);

	memmove(&fs->nodes[i], &fs->nodes[i + 1], (fs->nr_nodes - i - 1) * sizeof(*fs->nodes));
	fs->nr_nodes--;
	n->linked = false;
	if (n->open_refs == 0)
		node_free(fs, n);
}

/* Open-file slot of `fd`, or NULL when fd is not one of ours / not open. */
static struct mem_fd *fd_lookup(struct sink_mem_fs *fs, int fd)
{
	long slot = (long)fd - SINK_MEM_FD_BASE;

	if (slot < 0 || slot >= SINK_MEM_MAX_FDS || !fs->fds[slot].node)
		return NULL;
	return &fs->fds[slot];
}

/*
 * Normalised absolute-from-root path of `path` taken relative to directory
 * fd `dirfd` (AT_FDCWD = the root): "." and empty components dropped, ".."
 * climbs (never above the root).  Returns 0 and a malloc'd *out, or -EBADF,
 * -ENOTDIR, -ENAMETOOLONG, -ENOMEM.
 */
static int path_resolve(struct sink_mem_fs *fs, int dirfd, const char *path, char **out)
{
	const char *base = "";
	const char *p = path;
	size_t len = 0;
	char *buf;

	if (*p == '/') {
		p += strspn(p, "/");
	} else if (dirfd != AT_FDCWD) {
		struct mem_fd *d = fd_lookup(fs, dirfd);

		if (!d)
			return -EBADF;
		if (!d->node->is_dir)
			return -ENOTDIR;
		base = d->node->path;
	}
	if (strlen(base) + strlen(p) + 2 > PATH_MAX)
		return -ENAMETOOLONG;
	buf = malloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	len = strlen(base);
	memcpy(buf, base, len + 1);
	while (*p) {
		size_t clen = strcspn(p, "/");

		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			char *slash;

			buf[len] = '\0';
			slash = strrchr(buf, '/');
			len = slash ? (size_t)(slash - buf) : 0;
		} else if (!(clen == 0 || (clen == 1 && p[0] == '.'))) {
			if (len > 0)
				buf[len++] = '/';
			memcpy(buf + len, p, clen);
			len += clen;
		}
		buf[len] = '\0';
		p += clen;
		p += strspn(p, "/");
	}
	*out = buf;
	return 0;
}

/* 0 when the parent directory of `path` exists, else -ENOENT or -ENOTDIR. */
static int parent_check(struct sink_mem_fs *fs, char *path)
{
	char *slash = strrchr(path, '/');
	struct mem_node *parent;

	if (!slash)
		return 0;   /* parent is the root */
	*slash = '\0';
	parent = node_lookup(fs, path);
	*slash = '/';
	if (!parent)
		return -ENOENT;
	return parent->is_dir ? 0 : -ENOTDIR;
}

/* Drop file bytes past `length` or zero-extend up to it; grows honour the capacity. */
static int node_resize(struct sink_mem_fs *fs, struct mem_node *n, size_t length)
{
	if (length > n->cap) {
		size_t cap = n->cap ? n->cap : 4096;
		uint8_t *grown;

		while (cap < length)
			cap *= 2;
		grown = realloc(n->data, cap);
		if (!grown)
			return -ENOMEM;
		n->data = grown;
		n->cap = cap;
	}
	if (length > n->len) {
		memset(n->data + n->len, 0, length - n->len);
		fs->used += length - n->len;
	} else {
		fs->used -= n->len - length;
	}
	n->len = length;
	return 0;
}

/*
 * Write len bytes at `off`.  With a capacity, only what fits is written
 * (short count); nothing fits => -ENOSPC.  Returns the count or -errno.
 */
static ssize_t node_write(struct sink_mem_fs *fs, struct mem_node *n, const void *buf, size_t len,
			  uint64_t off)
{
	uint64_t end;

	if (off > (uint64_t)SSIZE_MAX || len > (size_t)SSIZE_MAX - off)
		return -EFBIG;
	end = off + len;
	if (fs->capacity > 0 && end > n->len && fs->used + (end - n->len) > fs->capacity) {
		uint64_t room = fs->capacity > fs->used ? fs->capacity - fs->used : 0;

		if (n->len + room <= off)
			return -ENOSPC;
		end = n->len + room;
		len = (size_t)(end - off);
	}
	if (end > n->len) {
		int ret = node_resize(fs, n, (size_t)end);

		if (ret < 0)
			return ret;
	}
	memcpy(n->data + off, buf, len);
	return (ssize_t)len;
}

/*
 * Open slot of fd when it was opened for writing, or NULL with *err =
 * -EBADF.  Directories can only be opened read-only, so a writable fd is
 * always a regular file.
 */
static struct mem_fd *fd_writable(struct sink_mem_fs *fs, int fd, int *err)
{
	struct mem_fd *f = fd_lookup(fs, fd);

	if (!f || (f->flags & O_ACCMODE) == O_RDONLY) {
		*err = -EBADF;
		return NULL;
	}
	return f;
}

/* io_ops.openat; see io.h.  Credentials are recorded on create, not checked. */
static int mem_openat(const struct io *io, int dirfd, const char *path, int flags, mode_t mode,
		      uid_t uid, gid_t gid)
{
	struct sink_mem_fs *fs = fs_of(io);
	int accmode = flags & O_ACCMODE;
	struct mem_node *n;
	char *p = NULL;
	int ret, slot;

	if (!path || uid == (uid_t)-1 || gid == (gid_t)-1)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	ret = path_resolve(fs, dirfd, path, &p);
	if (ret < 0)
		goto unlock;
	for (slot = 0; slot < SINK_MEM_MAX_FDS && fs->fds[slot].node; slot++)
		;
	if (slot == SINK_MEM_MAX_FDS) {
		ret = -EMFILE;
		goto unlock;
	}
	n = node_lookup(fs, p);
	if (!n) {
		if (!(flags & O_CREAT) || (flags & O_DIRECTORY)) {
			ret = -ENOENT;
			goto unlock;
		}
		ret = parent_check(fs, p);
		if (ret < 0)
			goto unlock;
		n = node_insert(fs, p, false, mode, uid, gid);
		if (!n) {
			ret = -ENOMEM;
			goto unlock;
		}
		p = NULL;   /* owned by the node */
	} else if ((flags & O_CREAT) && (flags & O_EXCL)) {
		ret = -EEXIST;
		goto unlock;
	} else if ((flags & O_DIRECTORY) && !n->is_dir) {
		ret = -ENOTDIR;
		goto unlock;
	} else if (n->is_dir && accmode != O_RDONLY) {
		ret = -EISDIR;
		goto unlock;
	} else if (!n->is_dir && (flags & O_TRUNC) && accmode != O_RDONLY) {
		node_resize(fs, n, 0);   /* shrinking cannot fail */
	}
	fs->fds[slot] = (struct mem_fd){ .node = n, .flags = flags, .pos = 0 };
	n->open_refs++;
	fs->open_fds++;
	ret = SINK_MEM_FD_BASE + slot;
unlock:
	pthread_mutex_unlock(&fs->lock);
	free(p);
	return ret;
}

/* io_ops.write: at the fd position, which advances by the count written. */
static ssize_t mem_write(const struct io *io, int fd, const void *buf, size_t len)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_fd *f;
	ssize_t n;
	int err;

	pthread_mutex_lock(&fs->lock);
	f = fd_writable(fs, fd, &err);
	n = f ? node_write(fs, f->node, buf, len, f->pos) : err;
	if (n > 0)
		f->pos += (uint64_t)n;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* io_ops.pwrite: at `offset`, fd position untouched. */
static ssize_t mem_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t offset)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_fd *f;
	ssize_t n;
	int err;

	if (offset < 0)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	f = fd_writable(fs, fd, &err);
	n = f ? node_write(fs, f->node, buf, len, (uint64_t)offset) : err;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* io_ops.ftruncate: growing beyond the capacity fails whole with -ENOSPC. */
static int mem_ftruncate(const struct io *io, int fd, off_t length)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_fd *f;
	int ret;

	if (length < 0 || (uint64_t)length > (uint64_t)SSIZE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	f = fd_writable(fs, fd, &ret);
	if (!f)
		goto unlock;
	if (fs->capacity > 0 && (size_t)length > f->node->len &&
	    fs->used + ((size_t)length - f->node->len) > fs->capacity) {
		ret = -ENOSPC;
		goto unlock;
	}
	ret = node_resize(fs, f->node, (size_t)length);
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* io_ops.fsync / fdatasync: memory is always "durable"; only the fd is checked. */
static int mem_sync(const struct io *io, int fd)
{
	struct sink_mem_fs *fs = fs_of(io);
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = fd_lookup(fs, fd) ? 0 : -EBADF;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* io_ops.close: frees the node when it was unlinked and this was its last fd. */
static int mem_close(const struct io *io, int fd)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_fd *f;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	f = fd_lookup(fs, fd);
	if (!f) {
		ret = -EBADF;
		goto unlock;
	}
	f->node->open_refs--;
	if (!f->node->linked && f->node->open_refs == 0)
		node_free(fs, f->node);
	f->node = NULL;
	fs->open_fds--;
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* True when some linked node lives below directory path `dir`. */
static bool dir_has_children(struct sink_mem_fs *fs, const char *dir)
{
	size_t len = strlen(dir);

	for (size_t i = 0; i < fs->nr_nodes; i++) {
		const char *p = fs->nodes[i]->path;

		if (strncmp(p, dir, len) == 0 && p[len] == '/')
			return true;
	}
	return false;
}

/* io_ops.unlinkat: files, or empty directories with AT_REMOVEDIR. */
static int mem_unlinkat(const struct io *io, int dirfd, const char *path, int flags)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_node *n;
	char *p = NULL;
	int ret;

	if (!path || (flags & ~AT_REMOVEDIR))
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	ret = path_resolve(fs, dirfd, path, &p);
	if (ret < 0)
		goto unlock;
	n = node_lookup(fs, p);
	if (!n) {
		ret = -ENOENT;
	} else if (n == &fs->root) {
		ret = -EBUSY;
	} else if (flags & AT_REMOVEDIR) {
		if (!n->is_dir)
			ret = -ENOTDIR;
		else if (dir_has_children(fs, p))
			ret = -ENOTEMPTY;
		else
			node_unlink(fs, n);
	} else if (n->is_dir) {
		ret = -EISDIR;
	} else {
		node_unlink(fs, n);
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
	free(p);
	return ret;
}

/* Fill *st from a node. */
static void node_stat(const struct mem_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = (n->is_dir ? S_IFDIR : S_IFREG) | n->mode;
	st->st_size = (off_t)n->len;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_ino = n->ino;
	st->st_nlink = n->linked ? (n->is_dir ? 2 : 1) : 0;
	st->st_blksize = 4096;
}

/* io_ops.fstat. */
static int mem_fstat(const struct io *io, int fd, struct stat *st)
{
	struct sink_mem_fs *fs = fs_of(io);
	struct mem_fd *f;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	f = fd_lookup(fs, fd);
	if (f)
		node_stat(f->node, st);
	else
		ret = -EBADF;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* io_ops.send / recv: the in-memory file system holds no sockets. */
static ssize_t mem_send(const struct io *io, int fd, const void *buf, size_t len)
{
	(void)io, (void)fd, (void)buf, (void)len;
	return -ENOTSOCK;
}

static ssize_t mem_recv(const struct io *io, int fd, void *buf, size_t len)
{
	(void)io, (void)fd, (void)buf, (void)len;
	return -ENOTSOCK;
}

static const struct io_ops mem_io_ops = {
	.name = "mem",
	.openat = mem_openat,
	.write = mem_write,
	.pwrite = mem_pwrite,
	.ftruncate = mem_ftruncate,
	.fsync = mem_sync,
	.fdatasync = mem_sync,
	.close = mem_close,
	.unlinkat = mem_unlinkat,
	.fstat = mem_fstat,
	.send = mem_send,
	.recv = mem_recv,
};

int sink_mem_fs_create(struct sink_mem_fs **out)
{
	struct sink_mem_fs *fs;

	if (!out)
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		ERR("Out of memory creating an in-memory file system");
		return -ENOMEM;
	}
	fs->io.ops = &mem_io_ops;
	fs->io.ctx = fs;
	fs->root.path = (char *)"";
	fs->root.is_dir = true;
	fs->root.linked = true;
	fs->root.mode = MEM_DIR_MODE;
	pthread_mutex_init(&fs->lock, NULL);
	*out = fs;
	return 0;
}

void sink_mem_fs_destroy(struct sink_mem_fs *fs)
{
	if (!fs)
		return;
	if (fs->open_fds > 0)
		WARN("In-memory file system destroyed with %zu descriptor(s) still open",
		     fs->open_fds);
	for (size_t i = 0; i < SINK_MEM_MAX_FDS; i++) {
		struct mem_node *n = fs->fds[i].node;

		if (!n)
			continue;
		n->open_refs--;
		if (!n->linked && n->open_refs == 0)
			node_free(fs, n);
	}
	for (size_t i = 0; i < fs->nr_nodes; i++)
		node_free(fs, fs->nodes[i]);
	free(fs->nodes);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

const struct io *sink_mem_fs_io(struct sink_mem_fs *fs)
{
	return &fs->io;
}

int sink_mem_fs_mkdir(struct sink_mem_fs *fs, const char *path)
{
	char *p = NULL;
	char *cut;
	int ret;

	if (!path)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	ret = path_resolve(fs, AT_FDCWD, path, &p);
	if (ret < 0)
		goto unlock;
	/* Walk every prefix ending at a '/' and then the whole path. */
	cut = p;
	while (*p && cut) {
		struct mem_node *n;
		char *slash = strchr(cut, '/');

		if (slash)
			*slash = '\0';
		n = node_lookup(fs, p);
		if (!n) {
			char *copy = strdup(p);

			if (!copy || !node_insert(fs, copy, true, MEM_DIR_MODE, 0, 0)) {
				free(copy);
				ret = -ENOMEM;
				goto unlock;
			}
		} else if (!n->is_dir) {
			ret = -ENOTDIR;
			goto unlock;
		}
		if (slash)
			*slash = '/';
		cut = slash ? slash + 1 : NULL;
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
	free(p);
	return ret;
}

void sink_mem_fs_set_capacity(struct sink_mem_fs *fs, uint64_t bytes)
{
	pthread_mutex_lock(&fs->lock);
	fs->capacity = bytes;
	pthread_mutex_unlock(&fs->lock);
}

/* Linked node at root-relative `path`, or NULL with *err = -errno. */
static struct mem_node *lookup_path(struct sink_mem_fs *fs, const char *path, int *err)
{
	struct mem_node *n;
	char *p = NULL;

	*err = path ? path_resolve(fs, AT_FDCWD, path, &p) : -EINVAL;
	if (*err < 0)
		return NULL;
	n = node_lookup(fs, p);
	free(p);
	if (!n)
		*err = -ENOENT;
	return n;
}

int sink_mem_fs_read(struct sink_mem_fs *fs, const char *path, const uint8_t **data, size_t *len)
{
	struct mem_node *n;
	int ret;

	pthread_mutex_lock(&fs->lock);
	n = lookup_path(fs, path, &ret);
	if (n && n->is_dir) {
		ret = -EISDIR;
	} else if (n) {
		*data = n->data;
		*len = n->len;
		ret = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int sink_mem_fs_stat(struct sink_mem_fs *fs, const char *path, struct stat *st)
{
	struct mem_node *n;
	int ret;

	pthread_mutex_lock(&fs->lock);
	n = lookup_path(fs, path, &ret);
	if (n) {
		node_stat(n, st);
		ret = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

size_t sink_mem_fs_file_count(struct sink_mem_fs *fs)
{
	size_t count = 0;

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < fs->nr_nodes; i++)
		count += !fs->nodes[i]->is_dir;
	pthread_mutex_unlock(&fs->lock);
	return count;
}

const char *sink_mem_fs_file_name(struct sink_mem_fs *fs, size_t i)
{
	const char *name = NULL;

	pthread_mutex_lock(&fs->lock);
	for (size_t k = 0; k < fs->nr_nodes; k++) {
		if (fs->nodes[k]->is_dir)
			continue;
		if (i-- == 0) {
			name = fs->nodes[k]->path;
			break;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return name;
}

size_t sink_mem_fs_open_fds(struct sink_mem_fs *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->open_fds;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

int sink_mem_chunk_create(struct sink_mem_fs *fs, const char *dir, uid_t uid, gid_t gid,
			  struct sink_chunk **out)
{
	int dirfd, ret;

	dirfd = io_openat(&fs->io, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0, uid, gid);
	if (dirfd < 0) {
		PERROR_NUM(-dirfd, "Opening in-memory chunk directory \"%s\"", dir);
		return dirfd;
	}
	ret = sink_file_chunk_create(&fs->io, dirfd, uid, gid, out);
	if (ret < 0)
		io_close(&fs->io, dirfd);
	return ret;
}
