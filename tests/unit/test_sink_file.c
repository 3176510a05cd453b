/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of core/sink_file.c (and adapters/posix/io_posix.c under it): the
 * local trace output of spec §3.4, §3.11, §4.1 and §6, on a real file system in
 * a mkdtemp directory, with faults from adapters/sim/sim_io.
 *
 * Each test starts from a fresh tree laid out as the session daemon would:
 *   <tmp>/ust/uid/1000/64-bit/index/      (the domain dir "ust" is the chunk fd)
 * and checks on exit that the process has exactly the fds it had before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "assert_hook.h"

#include "test_fds.h"

#include "ctf_index.h"
#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "sim_io.h"
#include "sink.h"

#define CHAN_DIR "uid/1000/64-bit"
#define PAGE 4096u
#define NOBODY 65534u

struct fx {
	char root[64];        /* mkdtemp directory */
	int domfd;            /* <root>/ust */
	int fds_at_start;
	mode_t old_umask;
	struct sim_faults faults;
	struct sim_io sim;
};

/* mkdir -p of <root>/<rel> with mode 0770. */
static void mkdirs(struct fx *fx, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
	for (char *p = path + strlen(fx->root) + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			assert_true(mkdir(path, 0770) == 0 || errno == EEXIST);
			*p = c;
			if (c == '\0')
				break;
		}
	}
}

/* A domain directory <root>/<dom> with the channel dir and its index/, as the sessiond makes it. */
static int make_domain(struct fx *fx, const char *dom)
{
	char rel[256], path[512];
	int fd;

	snprintf(rel, sizeof(rel), "%s/" CHAN_DIR "/index", dom);
	mkdirs(fx, rel);
	snprintf(path, sizeof(path), "%s/%s", fx->root, dom);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf <root>/<rel> */
static void remove_tree(struct fx *fx, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	/* umask 022 would turn a plain 0660 create into 0640: the sink must not let it. */
	fx->old_umask = umask(022);
	fx->fds_at_start = test_open_fd_count();
	strcpy(fx->root, "/tmp/sluice-sink-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	fx->domfd = make_domain(fx, "ust");
	sim_io_init(&fx->sim, &io_posix, &fx->faults);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	int fds;

	close(fx->domfd);
	remove_tree(fx, "");
	umask(fx->old_umask);
	fds = test_open_fd_count();
	assert_int_equal(fds, fx->fds_at_start);
	free(fx);
	return 0;
}

/* A chunk on a dup of dirfd (the chunk owns its fd), writing as the current user. */
static struct sink_chunk *new_chunk(const struct io *io, int dirfd)
{
	struct sink_chunk *chunk = NULL;
	int fd = dup(dirfd);

	assert_true(fd >= 0);
	assert_int_equal(sink_file_chunk_create(io, fd, getuid(), getgid(), &chunk), 0);
	return chunk;
}

static struct sink_stream *open_stream(struct sink_chunk *chunk, const char *name, uint64_t size,
				       uint64_t count, bool with_index)
{
	struct sink_stream_params p = {
		.pathname = CHAN_DIR, .name = name, .tracefile_size = size,
		.tracefile_count = count, .with_index = with_index,
	};
	struct sink_stream *s = NULL;

	assert_int_equal(sink_stream_open(chunk, &p, &s), 0);
	assert_non_null(s);
	return s;
}

/* Deterministic packet bytes; tag makes packets distinguishable. */
static uint8_t *packet(size_t len, unsigned tag)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(tag * 31u + i * 7u + (i >> 8));
	return buf;
}

/* Index info of a packet; the offset is garbage on purpose: the sink owns it. */
static struct ctf_index_entry info_for(size_t len, unsigned tag)
{
	return (struct ctf_index_entry){
		.offset = 0xdeadbeef, .packet_size = len * 8, .content_size = len * 8 - 64 * tag,
		.timestamp_begin = 1000u * tag, .timestamp_end = 1000u * tag + 999,
		.events_discarded = tag / 2, .stream_id = 3, .stream_instance_id = 0,
		.packet_seq_num = tag,
	};
}

/* Write packet `tag` of len bytes; returns the sink's status. */
static int put(struct sink_stream *s, size_t len, unsigned tag)
{
	uint8_t *buf = packet(len, tag);
	struct ctf_index_entry info = info_for(len, tag);
	int ret = sink_write_packet(s, buf, len, len, &info);

	free(buf);
	return ret;
}

/* Whole file <dirfd>/<rel>, or NULL when it does not exist. */
static uint8_t *slurp(int dirfd, const char *rel, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static bool exists(int dirfd, const char *rel)
{
	struct stat st;

	return fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The file holds exactly packets tags[0..n) of the given sizes, in order. */
static void assert_packets(int dirfd, const char *rel, const size_t *lens, const unsigned *tags,
			   int n)
{
	size_t len = 0, off = 0;
	uint8_t *file = slurp(dirfd, rel, &len);

	assert_non_null(file);
	for (int i = 0; i < n; i++) {
		uint8_t *want = packet(lens[i], tags[i]);

		assert_true(off + lens[i] <= len);
		assert_memory_equal(file + off, want, lens[i]);
		off += lens[i];
		free(want);
	}
	assert_int_equal(len, off);
	free(file);
}

/* The index holds exactly one entry per packet, offsets running from 0. */
static void assert_index(int dirfd, const char *rel, const size_t *lens, const unsigned *tags,
			 int n)
{
	struct ctf_index_entry got[16];
	size_t len = 0;
	uint64_t off = 0;
	uint8_t *file = slurp(dirfd, rel, &len);

	assert_non_null(file);
	assert_int_equal(len, CTF_INDEX_HEADER_SIZE + (size_t)n * CTF_INDEX_ENTRY_SIZE);
	assert_int_equal(ctf_index_decode(file, len, got, 16), n);
	for (int i = 0; i < n; i++) {
		struct ctf_index_entry want = info_for(lens[i], tags[i]);

		want.offset = off;
		assert_memory_equal(&got[i], &want, sizeof(want));
		off += lens[i];
	}
	free(file);
}

/* Run fn with stderr captured; returns what was logged (malloc'd). */
static char *capture_log(void (*fn)(void *), void *arg)
{
	int saved_level = log_level;
	int mfd = memfd_create("log", MFD_CLOEXEC);
	int saved = dup(STDERR_FILENO);
	char *text = calloc(1, 8192);
	ssize_t n;

	assert_true(mfd >= 0 && saved >= 0 && text);
	fflush(stderr);
	dup2(mfd, STDERR_FILENO);
	log_level = 0;
	fn(arg);
	log_level = saved_level;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(mfd, text, 8191, 0);
	assert_true(n >= 0);
	close(mfd);
	return text;
}

/* ---- names, modes, contents ---------------------------------------------- */

/* §6.2: stream + index names, metadata without index, mode exactly 0660 under umask 022. */
static void test_names_and_mode(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *data = open_stream(chunk, "chan_0", 0, 0, true);
	struct sink_stream *meta = open_stream(chunk, "metadata", 0, 0, false);
	const char *files[] = { CHAN_DIR "/chan_0", CHAN_DIR "/index/chan_0.idx", CHAN_DIR "/metadata" };
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(fstatat(fx->domfd, files[i], &st, 0), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0660);
		assert_int_equal(st.st_uid, getuid());
		assert_int_equal(st.st_gid, getgid());
	}
	assert_false(exists(fx->domfd, CHAN_DIR "/index/metadata.idx"));
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0_0"));
	assert_int_equal(sink_chunk_created_count(chunk), 3);
	assert_int_equal(sink_stream_close(data), 0);
	assert_int_equal(sink_stream_close(meta), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* Packets land back to back with their padded length; the index points at each. */
static void test_packets_and_index(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_1", 0, 0, true);
	const size_t lens[] = { PAGE, 2 * PAGE, PAGE };
	const unsigned tags[] = { 1, 2, 3 };
	struct sink_stats st;

	for (int i = 0; i < 3; i++)
		assert_int_equal(put(s, lens[i], tags[i]), 0);
	sink_stream_stats(s, &st);
	assert_int_equal(st.bytes_written, 4 * PAGE);
	assert_int_equal(st.packets, 3);
	assert_int_equal(st.tracefile_index, 0);
	assert_int_equal(st.tracefile_bytes, 4 * PAGE);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/chan_1", lens, tags, 3);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_1.idx", lens, tags, 3);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* §6.2: tracefile_size switches BEFORE the packet that would overflow: _0 _1 _2. */
static void test_tracefile_size_rotation(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 3 * PAGE, 0, true);
	const size_t lens[] = { PAGE, PAGE, 2 * PAGE, PAGE, PAGE };
	const unsigned tags[] = { 1, 2, 3, 4, 5 };
	struct sink_stats st;

	for (int i = 0; i < 5; i++)
		assert_int_equal(put(s, lens[i], tags[i]), 0);
	sink_stream_stats(s, &st);
	assert_int_equal(st.tracefile_index, 2);
	assert_int_equal(st.tracefile_bytes, PAGE);
	assert_int_equal(st.bytes_written, 6 * PAGE);
	assert_int_equal(sink_stream_close(s), 0);

	/* 2P + 2P would exceed 3P: the 2P packet opens _1; 3P + P opens _2. */
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0"));
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_0", lens, tags, 2);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_1", lens + 2, tags + 2, 2);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_2", lens + 4, tags + 4, 1);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_0.idx", lens, tags, 2);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_1.idx", lens + 2, tags + 2, 2);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_2.idx", lens + 4, tags + 4, 1);
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0_3"));
	assert_int_equal(sink_chunk_created_count(chunk), 6);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* tracefile_count wraps to _0: the reused file is truncated, its index restarts. */
static void test_tracefile_count_wrap(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 2 * PAGE, 2, true);
	const size_t lens[] = { 2 * PAGE, PAGE, PAGE, PAGE };
	const unsigned tags[] = { 1, 2, 3, 4 };
	struct sink_stats st;

	for (int i = 0; i < 4; i++)
		assert_int_equal(put(s, lens[i], tags[i]), 0);
	sink_stream_stats(s, &st);
	assert_int_equal(st.tracefile_index, 0);
	assert_int_equal(sink_stream_close(s), 0);

	/* 1 -> _0, 2 3 -> _1, 4 -> _0 again (packet 1 gone). */
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_0", lens + 3, tags + 3, 1);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_0.idx", lens + 3, tags + 3, 1);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_1", lens + 1, tags + 1, 2);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_1.idx", lens + 1, tags + 1, 2);
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0_2"));
	/* Reopened names are listed once. */
	assert_int_equal(sink_chunk_created_count(chunk), 4);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* A packet larger than tracefile_size fills an empty file alone (no empty tracefiles). */
static void test_oversized_packet(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", PAGE, 0, false);
	const size_t lens[] = { 2 * PAGE, 2 * PAGE };
	const unsigned tags[] = { 1, 2 };

	assert_int_equal(put(s, lens[0], tags[0]), 0);
	assert_int_equal(put(s, lens[1], tags[1]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_0", lens, tags, 1);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_1", lens + 1, tags + 1, 1);
	assert_false(exists(fx->domfd, CHAN_DIR "/index/chan_0_0.idx"));
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* §4.1: reset empties the file (index back to its header), then writing restarts at 0. */
static void test_reset_truncates(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *meta = open_stream(chunk, "metadata", 0, 0, false);
	struct sink_stream *data = open_stream(chunk, "chan_0", 0, 0, true);
	const size_t lens[] = { PAGE };
	const unsigned tags[] = { 9 };
	struct sink_stats st;

	assert_int_equal(put(meta, PAGE, 1), 0);
	assert_int_equal(put(meta, PAGE, 2), 0);
	assert_int_equal(put(data, PAGE, 1), 0);
	assert_int_equal(sink_reset(meta, 0), 0);
	assert_int_equal(sink_reset(data, 0), 0);
	assert_packets(fx->domfd, CHAN_DIR "/metadata", lens, tags, 0);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 0);
	assert_int_equal(put(meta, PAGE, 9), 0);
	assert_int_equal(put(data, PAGE, 9), 0);
	sink_stream_stats(meta, &st);
	assert_int_equal(st.packets, 3);
	assert_int_equal(st.bytes_written, 3 * PAGE);
	assert_int_equal(st.tracefile_bytes, PAGE);
	assert_int_equal(sink_stream_close(meta), 0);
	assert_int_equal(sink_stream_close(data), 0);
	assert_packets(fx->domfd, CHAN_DIR "/metadata", lens, tags, 1);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 1);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* §3.11: reopening a stream in the next chunk starts again at tracefile _0. */
static void test_rotation_to_new_chunk(void **state)
{
	struct fx *fx = *state;
	int dom2 = make_domain(fx, "chunk2");
	struct sink_chunk *old = new_chunk(&io_posix, fx->domfd);
	struct sink_chunk *next = new_chunk(&io_posix, dom2);
	struct sink_stream *s = open_stream(old, "chan_0", PAGE, 0, true);
	const size_t lens[] = { PAGE };
	const unsigned tags[] = { 3 };
	struct sink_stats st;

	assert_int_equal(put(s, PAGE, 1), 0);
	assert_int_equal(put(s, PAGE, 2), 0);
	assert_int_equal(sink_stream_close(s), 0);
	s = open_stream(next, "chan_0", PAGE, 0, true);
	assert_int_equal(put(s, PAGE, 3), 0);
	sink_stream_stats(s, &st);
	assert_int_equal(st.tracefile_index, 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_true(exists(fx->domfd, CHAN_DIR "/chan_0_1"));
	assert_packets(dom2, CHAN_DIR "/chan_0_0", lens, tags, 1);
	assert_index(dom2, CHAN_DIR "/index/chan_0_0.idx", lens, tags, 1);
	assert_false(exists(dom2, CHAN_DIR "/chan_0_1"));
	assert_int_equal(sink_chunk_destroy(old), 0);
	assert_int_equal(sink_chunk_destroy(next), 0);
	close(dom2);
}

/* ---- errors and refusals -------------------------------------------------- */

static void open_missing_dir(void *arg)
{
	struct sink_chunk *chunk = arg;
	struct sink_stream_params p = { .pathname = "uid/2000/64-bit", .name = "chan_0" };
	struct sink_stream *s = NULL;

	assert_int_equal(sink_stream_open(chunk, &p, &s), -ENOENT);
	assert_null(s);
}

/* A missing channel directory is an error with a clear log line; nothing is created. */
static void test_missing_directory(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream_params p = { .pathname = "uid/1000/32-bit", .name = "chan_0",
					.with_index = true };
	struct sink_stream *s = NULL;
	char *log = capture_log(open_missing_dir, chunk);

	assert_non_null(strstr(log, "Error: Cannot create \"uid/2000/64-bit/chan_0\""));
	assert_non_null(strstr(log, "directory does not exist"));
	free(log);
	assert_false(exists(fx->domfd, "uid/2000"));
	/* Channel dir present but its index/ missing: fails too, the data fd is not leaked. */
	mkdirs(fx, "ust/uid/1000/32-bit");
	assert_int_equal(sink_stream_open(chunk, &p, &s), -ENOENT);
	assert_null(s);
	assert_false(exists(fx->domfd, "uid/1000/32-bit/index"));
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* Untrusted pathname / name: "..", absolute, separators, empty -> -EINVAL, nothing opened. */
static void test_bad_paths_refused(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	static const char *const bad_dirs[] = { "..", "../ust/" CHAN_DIR, "uid/../../x", "/tmp",
						"uid/1000/64-bit/.." };
	static const char *const bad_names[] = { "", ".", "..", "a/b", "/chan_0" };
	char long_name[300], long_dir[5000];
	struct sink_stream_params p = { .pathname = CHAN_DIR, .name = "chan_0" };
	struct sink_stream *s = NULL;

	for (size_t i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
		p.pathname = bad_dirs[i];
		assert_int_equal(sink_stream_open(chunk, &p, &s), -EINVAL);
	}
	p.pathname = CHAN_DIR;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		p.name = bad_names[i];
		assert_int_equal(sink_stream_open(chunk, &p, &s), -EINVAL);
	}
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	p.name = long_name;
	assert_int_equal(sink_stream_open(chunk, &p, &s), -EINVAL);
	p.name = NULL;
	expect_assert_failure(sink_stream_open(chunk, &p, &s));
	expect_assert_failure(sink_stream_open(chunk, NULL, &s));
	/* Too long a path overall: refused before any syscall. */
	memset(long_dir, 'd', sizeof(long_dir) - 1);
	long_dir[sizeof(long_dir) - 1] = '\0';
	p.pathname = long_dir;
	p.name = "chan_0";
	assert_int_equal(sink_stream_open(chunk, &p, &s), -ENAMETOOLONG);
	/* The stream file name would fit, its index name would not. */
	long_dir[4085] = '\0';
	p.with_index = true;
	assert_int_equal(sink_stream_open(chunk, &p, &s), -ENAMETOOLONG);
	p.with_index = false;
	assert_null(s);
	assert_int_equal(sink_chunk_created_count(chunk), 0);
	assert_false(exists(fx->domfd, "../x"));
	/* "dots" inside a component are fine; only the ".." component is refused. */
	mkdirs(fx, "ust/a..b/index");
	p.pathname = "./a..b/";
	p.name = "..chan";
	assert_int_equal(sink_stream_open(chunk, &p, &s), 0);
	assert_true(exists(fx->domfd, "a..b/..chan"));
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(sink_chunk_created_count(chunk), 1);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
	assert_int_equal(sink_file_chunk_create(&io_posix, -1, 0, 0, &chunk), -EINVAL);
	assert_int_equal(sink_file_chunk_create(NULL, fx->domfd, 0, 0, &chunk), -EINVAL);
}

/* write_packet: NULL buffer or index info is a caller's bug, a zero length is refused. */
static void test_bad_packet_refused(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 0, 0, true);
	uint8_t buf[16] = { 0 };
	struct ctf_index_entry info = info_for(16, 1);
	struct sink_stats st;

	expect_assert_failure(sink_write_packet(s, NULL, 16, 16, &info));
	assert_int_equal(sink_write_packet(s, buf, 0, 0, &info), -EINVAL);
	expect_assert_failure(sink_write_packet(s, buf, 16, 16, NULL));
	sink_stream_stats(s, &st);
	assert_int_equal(st.packets, 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(sink_stream_close(NULL), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
	assert_int_equal(sink_chunk_destroy(NULL), 0);
}

/* §3.4 DELETE: every file created through the chunk goes, nothing else does. */
static void test_unlink_created(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(&io_posix, fx->domfd);
	struct sink_stream *a = open_stream(chunk, "chan_0", PAGE, 0, true);
	struct sink_stream *m = open_stream(chunk, "metadata", 0, 0, false);
	int fd;

	assert_int_equal(put(a, PAGE, 1), 0);
	assert_int_equal(put(a, PAGE, 2), 0);
	assert_int_equal(put(m, PAGE, 1), 0);
	/* Files the consumer did not create (another consumer's, the sessiond's). */
	fd = openat(fx->domfd, CHAN_DIR "/chan_1", O_WRONLY | O_CREAT | O_CLOEXEC, 0660);
	assert_true(fd >= 0);
	close(fd);
	fd = openat(fx->domfd, CHAN_DIR "/index/chan_1.idx", O_WRONLY | O_CREAT | O_CLOEXEC, 0660);
	assert_true(fd >= 0);
	close(fd);

	/* Refused while streams still write in the chunk. */
	assert_int_equal(sink_chunk_unlink_created(chunk), -EBUSY);
	assert_int_equal(sink_chunk_destroy(chunk), -EBUSY);
	assert_true(exists(fx->domfd, CHAN_DIR "/chan_0_0"));
	assert_int_equal(sink_stream_close(a), 0);
	assert_int_equal(sink_stream_close(m), 0);

	assert_int_equal(sink_chunk_created_count(chunk), 5);
	/* One already gone is not an error. */
	assert_int_equal(unlinkat(fx->domfd, CHAN_DIR "/chan_0_1", 0), 0);
	assert_int_equal(sink_chunk_unlink_created(chunk), 0);
	assert_int_equal(sink_chunk_created_count(chunk), 0);
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0_0"));
	assert_false(exists(fx->domfd, CHAN_DIR "/index/chan_0_0.idx"));
	assert_false(exists(fx->domfd, CHAN_DIR "/index/chan_0_1.idx"));
	assert_false(exists(fx->domfd, CHAN_DIR "/metadata"));
	assert_true(exists(fx->domfd, CHAN_DIR "/chan_1"));
	assert_true(exists(fx->domfd, CHAN_DIR "/index/chan_1.idx"));
	assert_true(exists(fx->domfd, CHAN_DIR "/index"));
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* ---- credentials (io_posix) ----------------------------------------------- */

/* Files belong to the chunk's uid:gid, mode 0660; the thread's fs ids come back. */
static void test_open_as_chunk_user(void **state)
{
	struct fx *fx = *state;
	const char *dirs[] = { "ust", "ust/uid", "ust/uid/1000", "ust/" CHAN_DIR,
			       "ust/" CHAN_DIR "/index" };
	struct sink_chunk *chunk = NULL;
	struct sink_stream *s;
	char path[512];
	struct stat st;
	int fd;

	if (geteuid() != 0)
		skip();
	/* As the root sessiond does for a user's session: directories owned by the user. */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->root, dirs[i]);
		assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	}
	fd = dup(fx->domfd);
	assert_int_equal(sink_file_chunk_create(&io_posix, fd, NOBODY, NOBODY, &chunk), 0);
	s = open_stream(chunk, "chan_0", 0, 0, true);
	assert_int_equal(put(s, PAGE, 1), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(fstatat(fx->domfd, CHAN_DIR "/chan_0", &st, 0), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOBODY);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(fstatat(fx->domfd, CHAN_DIR "/index/chan_0.idx", &st, 0), 0);
	assert_int_equal(st.st_uid, NOBODY);
	/* A file found there, owned by someone else but writable: written as found. */
	fd = openat(fx->domfd, CHAN_DIR "/chan_1", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	s = open_stream(chunk, "chan_1", 0, 0, false);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(fstatat(fx->domfd, CHAN_DIR "/chan_1", &st, 0), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(setfsuid((uid_t)-1), 0);
	assert_int_equal(setfsgid((gid_t)-1), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* Raise or drop CAP_SETUID + CAP_SETGID in this thread's effective set (root only). */
static void setid_caps(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	const uint32_t bits = (1u << CAP_SETUID) | (1u << CAP_SETGID);

	assert_int_equal(syscall(SYS_capget, &hdr, data), 0);
	data[0].effective = on ? data[0].effective | bits : data[0].effective & ~bits;
	assert_int_equal(syscall(SYS_capset, &hdr, data), 0);
}

/*
 * Without the right to change ids, acting as another uid or gid must be
 * refused with -EPERM (setfsuid fails silently; the backend must notice),
 * nothing created, and the thread's fs ids left as they were.  As root the
 * right is dropped from this thread's effective capabilities for the test.
 */
static void test_credentials_refused(void **state)
{
	struct fx *fx = *state;
	uid_t me = getuid();
	gid_t mygid = getgid();
	uid_t other = me == 0 ? NOBODY : 0;
	struct sink_stream_params p = { .pathname = CHAN_DIR, .name = "chan_0" };
	struct sink_stream *s = NULL;
	struct sink_chunk *chunk = NULL;
	int r1, r2, r3, r4, fd = dup(fx->domfd);

	assert_int_equal(sink_file_chunk_create(&io_posix, fd, other, other, &chunk), 0);
	if (geteuid() == 0)
		setid_caps(false);
	r1 = io_openat(&io_posix, fx->domfd, "x", O_WRONLY | O_CREAT, 0660, other, mygid);
	r2 = io_openat(&io_posix, fx->domfd, "x", O_WRONLY | O_CREAT, 0660, me, other);
	r3 = io_openat(&io_posix, fx->domfd, "x", O_WRONLY | O_CREAT, 0660, (uid_t)-1, mygid);
	r4 = sink_stream_open(chunk, &p, &s);
	if (geteuid() == 0)
		setid_caps(true);
	assert_int_equal(r1, -EPERM);
	assert_int_equal(r2, -EPERM);
	assert_int_equal(r3, -EINVAL);
	assert_int_equal(r4, -EPERM);
	assert_null(s);
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0"));
	assert_int_equal(sink_chunk_destroy(chunk), 0);
	assert_int_equal(setfsuid((uid_t)-1), me);
	assert_int_equal(setfsgid((gid_t)-1), mygid);
	assert_false(exists(fx->domfd, "x"));
}

/* A write that makes no progress and reports no error is an I/O error, not a spin. */
static ssize_t stuck_pwrite(const struct io *io, int fd, const void *buf, size_t len, off_t off)
{
	(void)io;
	(void)fd;
	(void)buf;
	(void)len;
	(void)off;
	return 0;
}

static void test_zero_progress_write(void **state)
{
	struct fx *fx = *state;
	struct io_ops ops = io_posix_ops;
	const struct io stuck = { .ops = &ops };
	struct sink_chunk *chunk;
	struct sink_stream_params p = { .pathname = CHAN_DIR, .name = "chan_0" };
	struct sink_stream *s = NULL;

	ops.pwrite = stuck_pwrite;
	chunk = new_chunk(&stuck, fx->domfd);
	assert_int_equal(sink_stream_open(chunk, &p, &s), 0);
	assert_int_equal(put(s, PAGE, 1), -EIO);
	assert_int_equal(sink_stream_close(s), 0);
	p.with_index = true;
	assert_int_equal(sink_stream_open(chunk, &p, &s), -EIO);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* ---- faults through sim_io ----------------------------------------------- */

/* §faults: ENOSPC on a packet: error returned, earlier packets and index untouched. */
static void test_enospc_keeps_earlier_packets(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(sim_io_io(&fx->sim), fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 0, 0, true);
	const size_t lens[] = { PAGE, 2 * PAGE, PAGE, PAGE };
	const unsigned tags[] = { 1, 2, 3, 4 };
	struct sink_stats st;

	for (int i = 0; i < 3; i++)
		assert_int_equal(put(s, lens[i], tags[i]), 0);
	/* Data write fails. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = ENOSPC }), 0);
	assert_int_equal(put(s, lens[3], tags[3]), -ENOSPC);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 3);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 3);
	/* Data written, index entry fails with EIO: the data is taken back too. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = EIO }), 0);
	assert_int_equal(put(s, lens[3], tags[3]), -EIO);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 3);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 3);
	/* Half the packet reaches the disk, then ENOSPC: the half is cut away. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = SIM_FAULT_SHORT }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = ENOSPC }), 0);
	assert_int_equal(put(s, lens[3], tags[3]), -ENOSPC);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 3);
	sink_stream_stats(s, &st);
	assert_int_equal(st.packets, 3);
	assert_int_equal(st.bytes_written, 4 * PAGE);
	/* Space is back: the same packet goes where it belongs. */
	assert_int_equal(put(s, lens[3], tags[3]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 4);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 4);
	assert_int_equal(fx->faults.op[SIM_IO_PWRITE].fired, 4);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* The rollback itself fails: the stream stays dirty and repairs itself before the next packet. */
static void test_failed_rollback_repaired(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(sim_io_io(&fx->sim), fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 0, 0, true);
	const size_t lens[] = { PAGE, PAGE };
	const unsigned tags[] = { 1, 2 };
	size_t len = 0;
	uint8_t *raw;

	assert_int_equal(put(s, lens[0], tags[0]), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = SIM_FAULT_SHORT }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = EIO }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_FTRUNCATE, .nth = 1, .every = 1, .err = EIO }), 0);
	assert_int_equal(put(s, lens[1], tags[1]), -EIO);
	/* The half packet is still on disk... */
	raw = slurp(fx->domfd, CHAN_DIR "/chan_0", &len);
	free(raw);
	assert_int_equal(len, PAGE + PAGE / 2);
	/* ...and blocks further writes while it cannot be cut. */
	assert_int_equal(put(s, lens[1], tags[1]), -EIO);
	sim_fault_disarm_all(&fx->faults);
	assert_int_equal(put(s, lens[1], tags[1]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 2);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 2);
	/* A failing reset is repaired the same way. */
	s = open_stream(chunk, "metadata", 0, 0, false);
	assert_int_equal(put(s, PAGE, 5), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_FTRUNCATE, .nth = 1, .err = EIO }), 0);
	assert_int_equal(sink_reset(s, 0), -EIO);
	assert_int_equal(put(s, lens[0], tags[0]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/metadata", lens, tags, 1);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* A tracefile switch whose open fails: error now, the next packet opens it. */
static void test_switch_open_failure_heals(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(sim_io_io(&fx->sim), fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", PAGE, 0, true);
	const size_t lens[] = { PAGE, PAGE };
	const unsigned tags[] = { 1, 2 };
	struct sink_stats st;

	assert_int_equal(put(s, lens[0], tags[0]), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 1, .err = ENOSPC }), 0);
	assert_int_equal(put(s, lens[1], tags[1]), -ENOSPC);
	sink_stream_stats(s, &st);
	assert_int_equal(st.tracefile_index, 1);
	assert_int_equal(st.tracefile_bytes, 0);
	/* Reset with no file open is a no-op. */
	assert_int_equal(sink_reset(s, 0), 0);
	/* Index open fails after the data file was made: both closed, retried later. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 2, .err = EIO }), 0);
	assert_int_equal(put(s, lens[1], tags[1]), -EIO);
	/* Index header write fails. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = ENOSPC }), 0);
	assert_int_equal(put(s, lens[1], tags[1]), -ENOSPC);
	assert_int_equal(put(s, lens[1], tags[1]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_0", lens, tags, 1);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0_1", lens + 1, tags + 1, 1);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0_1.idx", lens + 1, tags + 1, 1);
	/* An open failure at stream open: nothing leaks (teardown counts fds). */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = EIO }), 0);
	{
		struct sink_stream_params p = { .pathname = CHAN_DIR, .name = "chan_1",
						.with_index = true };
		struct sink_stream *t = NULL;

		assert_int_equal(sink_stream_open(chunk, &p, &t), -EIO);
		assert_null(t);
	}
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* EINTR everywhere and short writes are invisible; persistent EINTR gives up, cleanly. */
static void test_eintr_and_short_writes_retried(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(sim_io_io(&fx->sim), fx->domfd);
	struct sink_stream *s;
	const size_t lens[] = { 2 * PAGE, PAGE, PAGE };
	const unsigned tags[] = { 1, 2, 3 };
	uint64_t fired;

	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 1, .err = EINTR }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 3, .err = EINTR }), 0);
	s = open_stream(chunk, "chan_0", 0, 0, true);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .every = 1, .err = SIM_FAULT_SHORT }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 3, .err = EINTR }), 0);
	assert_int_equal(put(s, lens[0], tags[0]), 0);
	sim_fault_disarm_all(&fx->faults);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .err = EINTR }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_FTRUNCATE, .nth = 1, .err = EINTR }), 0);
	assert_int_equal(put(s, lens[1], tags[1]), 0);
	assert_int_equal(sink_reset(s, 0), 0);
	assert_int_equal(put(s, lens[0], tags[0]), 0);
	assert_int_equal(put(s, lens[1], tags[1]), 0);
	/* Never-ending EINTR: bounded, reported, nothing half-written. */
	fired = fx->faults.op[SIM_IO_PWRITE].fired;
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .every = 1, .err = EINTR }), 0);
	assert_int_equal(put(s, lens[2], tags[2]), -EINTR);
	assert_int_equal(fx->faults.op[SIM_IO_PWRITE].fired - fired, SINK_MAX_EINTR_RETRIES);
	sim_fault_disarm_all(&fx->faults);
	assert_int_equal(put(s, lens[2], tags[2]), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(fx->faults.op[SIM_IO_OPENAT].fired, 2);
	assert_packets(fx->domfd, CHAN_DIR "/chan_0", lens, tags, 3);
	assert_index(fx->domfd, CHAN_DIR "/index/chan_0.idx", lens, tags, 3);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* Close and unlink errors: reported, the fd is released anyway, a later DELETE finishes. */
static void test_close_and_unlink_errors(void **state)
{
	struct fx *fx = *state;
	struct sink_chunk *chunk = new_chunk(sim_io_io(&fx->sim), fx->domfd);
	struct sink_stream *s = open_stream(chunk, "chan_0", 0, 0, true);

	assert_int_equal(put(s, PAGE, 1), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_CLOSE, .nth = 2, .err = EIO }), 0);
	assert_int_equal(sink_stream_close(s), -EIO);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_UNLINKAT, .nth = 1, .err = EIO }), 0);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_UNLINKAT, .nth = 2, .err = EINTR }), 0);
	assert_int_equal(sink_chunk_unlink_created(chunk), -EIO);
	assert_int_equal(sink_chunk_created_count(chunk), 1);
	assert_true(exists(fx->domfd, CHAN_DIR "/chan_0"));
	assert_false(exists(fx->domfd, CHAN_DIR "/index/chan_0.idx"));
	assert_int_equal(sink_chunk_unlink_created(chunk), 0);
	assert_false(exists(fx->domfd, CHAN_DIR "/chan_0"));
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_CLOSE, .nth = 1, .err = EIO }), 0);
	assert_int_equal(sink_chunk_destroy(chunk), -EIO);
}

/*
 * Reference workload: rotation with wrap, a metadata reset; every failing
 * call is retried up to `retries` times.  Returns how many calls failed.
 */
static int workload(const struct io *io, int dirfd, int retries)
{
	static const size_t lens[] = { PAGE, 2 * PAGE, PAGE, PAGE, 2 * PAGE, PAGE, 2 * PAGE };
	struct sink_stream_params dp = { .pathname = CHAN_DIR, .name = "chan_0",
					 .tracefile_size = 3 * PAGE, .tracefile_count = 3,
					 .with_index = true };
	struct sink_stream_params mp = { .pathname = CHAN_DIR, .name = "metadata" };
	struct sink_stream *d = NULL, *m = NULL;
	struct sink_chunk *chunk = new_chunk(io, dirfd);
	int errors = 0, ret, t;

	for (t = 0; (ret = sink_stream_open(chunk, &dp, &d)) < 0 && t < retries; t++)
		errors++;
	assert_int_equal(ret, 0);
	for (t = 0; (ret = sink_stream_open(chunk, &mp, &m)) < 0 && t < retries; t++)
		errors++;
	assert_int_equal(ret, 0);
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (t = 0; (ret = put(d, lens[i], i + 1)) < 0 && t < retries; t++)
			errors++;
		assert_int_equal(ret, 0);
		if (i == 3) {
			for (t = 0; (ret = sink_reset(m, 0)) < 0 && t < retries; t++)
				errors++;
			assert_int_equal(ret, 0);
		}
		for (t = 0; (ret = put(m, PAGE, 100 + i)) < 0 && t < retries; t++)
			errors++;
		assert_int_equal(ret, 0);
	}
	errors += sink_stream_close(d) < 0;
	errors += sink_stream_close(m) < 0;
	errors += sink_chunk_destroy(chunk) < 0;
	return errors;
}

/* Same file names and bytes below CHAN_DIR (and its index/) of two domains. */
static void assert_same_tree(int a, int b, const char *sub)
{
	char rel[600];
	struct dirent **na = NULL, **nb = NULL;
	int ca, cb;
	char pa[512], pb[512];

	snprintf(pa, sizeof(pa), "/proc/self/fd/%d/%s", a, sub);
	snprintf(pb, sizeof(pb), "/proc/self/fd/%d/%s", b, sub);
	ca = scandir(pa, &na, NULL, alphasort);
	cb = scandir(pb, &nb, NULL, alphasort);
	assert_int_equal(ca, cb);
	for (int i = 0; i < ca; i++) {
		size_t la = 0, lb = 0;
		uint8_t *fa, *fb;

		assert_string_equal(na[i]->d_name, nb[i]->d_name);
		if (na[i]->d_type == DT_REG) {
			snprintf(rel, sizeof(rel), "%s/%s", sub, na[i]->d_name);
			fa = slurp(a, rel, &la);
			fb = slurp(b, rel, &lb);
			assert_non_null(fa);
			assert_non_null(fb);
			assert_int_equal(la, lb);
			assert_memory_equal(fa, fb, la);
			free(fa);
			free(fb);
		}
	}
	for (int i = 0; i < ca; i++) {
		free(na[i]);
		free(nb[i]);
	}
	free(na);
	free(nb);
}

/*
 * The exhaustive sweep (SQLite style): for each syscall and error, fail its
 * Nth call for N = 1, 2, ... until the workload no longer reaches an Nth
 * call.  With each failed operation retried, the trace must come out
 * byte-identical to the fault-free run: no fault corrupts what was written.
 */
static void test_fault_sweep_output_identical(void **state)
{
	struct fx *fx = *state;
	static const struct { enum sim_op call; int err; } plan[] = {
		{ SIM_IO_OPENAT, ENOSPC }, { SIM_IO_OPENAT, EINTR }, { SIM_IO_PWRITE, ENOSPC },
		{ SIM_IO_PWRITE, EIO }, { SIM_IO_PWRITE, EINTR }, { SIM_IO_PWRITE, SIM_FAULT_SHORT },
		{ SIM_IO_FTRUNCATE, EIO }, { SIM_IO_CLOSE, EIO },
	};
	int ref = make_domain(fx, "ref");
	int runs = 0;

	assert_int_equal(workload(&io_posix, ref, 0), 0);
	for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++) {
		for (uint64_t n = 1; n < 1000; n++) {
			int dom = make_domain(fx, "sweep");
			int errors;

			memset(&fx->faults, 0, sizeof(fx->faults));
			assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
				.op = plan[k].call, .nth = n, .err = plan[k].err }), 0);
			errors = workload(sim_io_io(&fx->sim), dom, 2);
			if (sim_fault_fired(&fx->faults, SIM_KIND_IO) == 0) {
				close(dom);
				remove_tree(fx, "sweep");
				break;
			}
			runs++;
			/*
			 * Transient EINTR and short writes never surface; another
			 * error fails exactly one operation, except a close at a
			 * tracefile switch, which is only logged.
			 */
			if (plan[k].err == EINTR || plan[k].err == SIM_FAULT_SHORT)
				assert_int_equal(errors, 0);
			else if (plan[k].call == SIM_IO_CLOSE)
				assert_in_range(errors, 0, 1);
			else
				assert_int_equal(errors, 1);
			assert_same_tree(ref, dom, CHAN_DIR);
			assert_same_tree(ref, dom, CHAN_DIR "/index");
			close(dom);
			remove_tree(fx, "sweep");
		}
	}
	/* Sanity: the sweep really failed many distinct calls. */
	assert_true(runs > 60);
	close(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_and_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets_and_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracefile_size_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracefile_count_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_to_new_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_packet_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_as_chunk_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_progress_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_keeps_earlier_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_rollback_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_open_failure_heals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eintr_and_short_writes_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_and_unlink_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_sweep_output_identical, setup, teardown),
	};

	/* Error paths are exercised on purpose; their log lines are checked where it matters. */
	log_level = -1;
	return cmocka_run_group_tests_name("sink_file", tests, NULL, NULL);
}
