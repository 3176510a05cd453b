/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of adapters/sim/sink_mem.c: the in-memory file system under the
 * file sink, so core tests can assert trace output (names, rotation, index
 * bytes, DELETE, full disk) without a disk, and its POSIX-like io semantics.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctf_index.h"
#include "io.h"
#include "log.h"
#include "sim_io.h"
#include "sink.h"
#include "sink_mem.h"

#define DOM "s1/ust"
#define CHAN_DIR "uid/1000/64-bit"
#define PAGE 4096u

static int setup(void **state)
{
	struct sink_mem_fs *fs = NULL;

	assert_int_equal(sink_mem_fs_create(&fs), 0);
	/* What the session daemon creates before the consumer writes. */
	assert_int_equal(sink_mem_fs_mkdir(fs, DOM "/" CHAN_DIR "/index"), 0);
	*state = fs;
	return 0;
}

static int teardown(void **state)
{
	struct sink_mem_fs *fs = *state;

	assert_int_equal(sink_mem_fs_open_fds(fs), 0);
	sink_mem_fs_destroy(fs);
	return 0;
}

static void fill(uint8_t *buf, size_t len, unsigned tag)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(tag * 13u + i);
}

/* Write packet `tag` (len bytes, index info derived from tag). */
static int put(struct sink_stream *s, size_t len, unsigned tag)
{
	uint8_t *buf = malloc(len);
	struct ctf_index_entry info = {
		.packet_size = len * 8, .content_size = len * 8 - tag, .timestamp_begin = tag,
		.timestamp_end = tag + 1, .stream_id = 1, .stream_instance_id = 0,
		.packet_seq_num = tag,
	};
	int ret;

	assert_non_null(buf);
	fill(buf, len, tag);
	ret = sink_write_packet(s, buf, len, len, &info);
	free(buf);
	return ret;
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
	return s;
}

/* File `path` holds packets tags[0..n) of PAGE bytes each, exactly. */
static void assert_pages(struct sink_mem_fs *fs, const char *path, const unsigned *tags, int n)
{
	const uint8_t *data = NULL;
	uint8_t want[PAGE];
	size_t len = 0;

	assert_int_equal(sink_mem_fs_read(fs, path, &data, &len), 0);
	assert_int_equal(len, (size_t)n * PAGE);
	for (int i = 0; i < n; i++) {
		fill(want, PAGE, tags[i]);
		assert_memory_equal(data + (size_t)i * PAGE, want, PAGE);
	}
}

/* Same file set and bytes in two file systems. */
static void assert_same_fs(struct sink_mem_fs *a, struct sink_mem_fs *b)
{
	size_t n = sink_mem_fs_file_count(a);

	assert_int_equal(sink_mem_fs_file_count(b), n);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *da, *db;
		size_t la, lb;

		assert_string_equal(sink_mem_fs_file_name(a, i), sink_mem_fs_file_name(b, i));
		assert_int_equal(sink_mem_fs_read(a, sink_mem_fs_file_name(a, i), &da, &la), 0);
		assert_int_equal(sink_mem_fs_read(b, sink_mem_fs_file_name(b, i), &db, &lb), 0);
		assert_int_equal(la, lb);
		if (la)
			assert_memory_equal(da, db, la);
	}
}

/* Names with tracefile rotation and wrap, index bytes, mode and owner: as on disk. */
static void test_mem_sink_output(void **state)
{
	struct sink_mem_fs *fs = *state;
	static const char *const names[] = {
		DOM "/" CHAN_DIR "/chan_0_0", DOM "/" CHAN_DIR "/chan_0_1",
		DOM "/" CHAN_DIR "/index/chan_0_0.idx", DOM "/" CHAN_DIR "/index/chan_0_1.idx",
		DOM "/" CHAN_DIR "/metadata",
	};
	static const unsigned t_0[] = { 5 }, t_1[] = { 3, 4 }, t_meta[] = { 7 };
	struct ctf_index_entry e[4];
	struct sink_chunk *chunk = NULL;
	struct sink_stream *d, *m;
	const uint8_t *idx;
	size_t len;
	struct stat st;

	assert_int_equal(sink_mem_chunk_create(fs, DOM, 1000, 100, &chunk), 0);
	d = open_stream(chunk, "chan_0", 2 * PAGE, 2, true);
	m = open_stream(chunk, "metadata", 0, 0, false);
	for (unsigned tag = 1; tag <= 5; tag++)
		assert_int_equal(put(d, PAGE, tag), 0);
	assert_int_equal(put(m, PAGE, 6), 0);
	assert_int_equal(sink_reset(m, 0), 0);
	assert_int_equal(put(m, PAGE, 7), 0);
	assert_int_equal(sink_mem_fs_open_fds(fs), 4);
	assert_int_equal(sink_stream_close(d), 0);
	assert_int_equal(sink_stream_close(m), 0);

	assert_int_equal(sink_mem_fs_file_count(fs), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(sink_mem_fs_file_name(fs, i), names[i]);
	assert_null(sink_mem_fs_file_name(fs, 5));
	/* 1 2 -> _0, 3 4 -> _1, 5 -> _0 again (truncated). */
	assert_pages(fs, names[0], t_0, 1);
	assert_pages(fs, names[1], t_1, 2);
	assert_pages(fs, names[4], t_meta, 1);
	assert_int_equal(sink_mem_fs_read(fs, names[3], &idx, &len), 0);
	assert_int_equal(ctf_index_decode(idx, len, e, 4), 2);
	assert_int_equal(e[0].offset, 0);
	assert_int_equal(e[1].offset, PAGE);
	assert_int_equal(e[1].packet_seq_num, 4);
	assert_int_equal(e[1].content_size, PAGE * 8 - 4);
	assert_int_equal(sink_mem_fs_read(fs, names[2], &idx, &len), 0);
	assert_int_equal(ctf_index_decode(idx, len, e, 4), 1);
	assert_int_equal(e[0].packet_seq_num, 5);

	assert_int_equal(sink_mem_fs_stat(fs, names[0], &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0660);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 100);
	assert_int_equal(st.st_size, PAGE);
	assert_int_equal(sink_mem_fs_stat(fs, DOM, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* Missing directories fail as on disk; DELETE removes exactly the chunk's files. */
static void test_mem_missing_dir_and_delete(void **state)
{
	struct sink_mem_fs *fs = *state;
	const struct io *io = sink_mem_fs_io(fs);
	struct sink_stream_params p = { .pathname = "uid/0/64-bit", .name = "chan_0" };
	struct sink_chunk *chunk = NULL;
	struct sink_stream *s = NULL;
	int fd;

	assert_int_equal(sink_mem_chunk_create(fs, "s2/ust", 0, 0, &chunk), -ENOENT);
	assert_int_equal(sink_mem_chunk_create(fs, DOM, 0, 0, &chunk), 0);
	assert_int_equal(sink_stream_open(chunk, &p, &s), -ENOENT);
	assert_null(s);
	/* Someone else's file in the same directory. */
	fd = io_openat(io, AT_FDCWD, DOM "/" CHAN_DIR "/chan_9", O_WRONLY | O_CREAT, 0600, 0, 0);
	assert_true(fd >= SINK_MEM_FD_BASE);
	assert_int_equal(io_close(io, fd), 0);
	s = open_stream(chunk, "chan_0", 0, 0, true);
	assert_int_equal(put(s, PAGE, 1), 0);
	assert_int_equal(sink_chunk_unlink_created(chunk), -EBUSY);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(sink_mem_fs_file_count(fs), 3);
	assert_int_equal(sink_chunk_unlink_created(chunk), 0);
	assert_int_equal(sink_mem_fs_file_count(fs), 1);
	assert_string_equal(sink_mem_fs_file_name(fs, 0), DOM "/" CHAN_DIR "/chan_9");
	assert_int_equal(sink_chunk_destroy(chunk), 0);
	/* mkdir through a file. */
	assert_int_equal(sink_mem_fs_mkdir(fs, DOM "/" CHAN_DIR "/chan_9/x"), -ENOTDIR);
}

/* A filling disk: short write then ENOSPC; the packet is rolled back whole. */
static void test_mem_capacity(void **state)
{
	struct sink_mem_fs *fs = *state;
	static const unsigned tags[] = { 1, 2, 3 };
	struct sink_chunk *chunk = NULL;
	struct sink_stream *s;
	const uint8_t *idx;
	size_t len;

	assert_int_equal(sink_mem_chunk_create(fs, DOM, 0, 0, &chunk), 0);
	s = open_stream(chunk, "chan_0", 0, 0, true);
	/* Header 16 + 2 pages + 2 entries, plus half a page of room. */
	sink_mem_fs_set_capacity(fs, CTF_INDEX_HEADER_SIZE + 2 * (PAGE + CTF_INDEX_ENTRY_SIZE) +
				 PAGE / 2);
	assert_int_equal(put(s, PAGE, 1), 0);
	assert_int_equal(put(s, PAGE, 2), 0);
	assert_int_equal(put(s, PAGE, 3), -ENOSPC);
	assert_pages(fs, DOM "/" CHAN_DIR "/chan_0", tags, 2);
	assert_int_equal(sink_mem_fs_read(fs, DOM "/" CHAN_DIR "/index/chan_0.idx", &idx, &len), 0);
	assert_int_equal(len, CTF_INDEX_HEADER_SIZE + 2 * CTF_INDEX_ENTRY_SIZE);
	/* Data fits exactly, the index entry does not: both taken back. */
	sink_mem_fs_set_capacity(fs, CTF_INDEX_HEADER_SIZE + 3 * PAGE + 2 * CTF_INDEX_ENTRY_SIZE);
	assert_int_equal(put(s, PAGE, 3), -ENOSPC);
	assert_pages(fs, DOM "/" CHAN_DIR "/chan_0", tags, 2);
	sink_mem_fs_set_capacity(fs, 0);
	assert_int_equal(put(s, PAGE, 3), 0);
	assert_pages(fs, DOM "/" CHAN_DIR "/chan_0", tags, 3);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);
}

/* The file sink over sim_io over the memory fs: every pwrite failure, output unchanged. */
static void test_mem_under_fault_sweep(void **state)
{
	struct sink_mem_fs *ref = *state;
	struct sink_chunk *chunk = NULL;
	struct sink_stream *s;
	int runs = 0;

	assert_int_equal(sink_mem_chunk_create(ref, DOM, 0, 0, &chunk), 0);
	s = open_stream(chunk, "chan_0", 2 * PAGE, 0, true);
	for (unsigned tag = 1; tag <= 4; tag++)
		assert_int_equal(put(s, PAGE, tag), 0);
	assert_int_equal(sink_stream_close(s), 0);
	assert_int_equal(sink_chunk_destroy(chunk), 0);

	for (uint64_t n = 1; ; n++) {
		struct sink_stream_params p = { .pathname = CHAN_DIR, .name = "chan_0",
						.tracefile_size = 2 * PAGE, .with_index = true };
		struct sink_mem_fs *fs = NULL;
		struct sim_faults faults = { 0 };
		struct sim_io sim;
		int fd, ret = 0;

		assert_int_equal(sink_mem_fs_create(&fs), 0);
		assert_int_equal(sink_mem_fs_mkdir(fs, DOM "/" CHAN_DIR "/index"), 0);
		sim_io_init(&sim, sink_mem_fs_io(fs), &faults);
		fd = io_openat(sink_mem_fs_io(fs), AT_FDCWD, DOM, O_RDONLY | O_DIRECTORY, 0, 0, 0);
		assert_int_equal(sink_file_chunk_create(sim_io_io(&sim), fd, 0, 0, &chunk), 0);
		assert_int_equal(sim_fault_arm(&faults, &(struct sim_fault){
			.op = SIM_IO_PWRITE, .nth = n, .err = EIO }), 0);
		s = NULL;
		if (sink_stream_open(chunk, &p, &s) < 0)
			assert_int_equal(sink_stream_open(chunk, &p, &s), 0);
		for (unsigned tag = 1; tag <= 4; tag++) {
			ret = put(s, PAGE, tag);
			if (ret < 0)
				ret = put(s, PAGE, tag);
			assert_int_equal(ret, 0);
		}
		assert_int_equal(sink_stream_close(s), 0);
		assert_int_equal(sink_chunk_destroy(chunk), 0);
		if (sim_fault_fired(&faults, SIM_KIND_IO) == 0) {
			sink_mem_fs_destroy(fs);
			break;
		}
		runs++;
		assert_same_fs(ref, fs);
		assert_int_equal(sink_mem_fs_open_fds(fs), 0);
		sink_mem_fs_destroy(fs);
	}
	/* 2 headers + 4 packets + 4 entries, once each. */
	assert_int_equal(runs, 10);
}

/* POSIX semantics below the seam, call by call. */
static void test_mem_io_semantics(void **state)
{
	struct sink_mem_fs *fs = *state;
	const struct io *io = sink_mem_fs_io(fs);
	const uint8_t *data;
	uint8_t zero[4] = { 0 };
	struct stat st;
	size_t len;
	int fd, fd2, dfd;

	/* O_EXCL, O_DIRECTORY, EISDIR, ENOENT without O_CREAT, ENOTDIR parent. */
	fd = io_openat(io, AT_FDCWD, "/s1/./ust//../ust/f", O_RDWR | O_CREAT | O_EXCL, 0640, 7, 8);
	assert_true(fd >= 0);
	assert_int_equal(io_openat(io, AT_FDCWD, DOM "/f", O_WRONLY | O_CREAT | O_EXCL, 0640, 7, 8),
			 -EEXIST);
	assert_int_equal(io_openat(io, AT_FDCWD, DOM "/f", O_RDONLY | O_DIRECTORY, 0, 0, 0),
			 -ENOTDIR);
	assert_int_equal(io_openat(io, AT_FDCWD, DOM, O_WRONLY, 0, 0, 0), -EISDIR);
	assert_int_equal(io_openat(io, AT_FDCWD, "nope", O_WRONLY, 0, 0, 0), -ENOENT);
	assert_int_equal(io_openat(io, AT_FDCWD, DOM "/f/g", O_WRONLY | O_CREAT, 0600, 0, 0),
			 -ENOTDIR);
	assert_int_equal(io_openat(io, fd, "g", O_WRONLY | O_CREAT, 0600, 0, 0), -ENOTDIR);
	assert_int_equal(io_openat(io, 12345, "g", O_WRONLY | O_CREAT, 0600, 0, 0), -EBADF);
	assert_int_equal(io_openat(io, AT_FDCWD, "g", O_WRONLY, 0600, (uid_t)-1, 0), -EINVAL);

	/* write advances the position, pwrite does not; holes read as zeros. */
	assert_int_equal(io_write(io, fd, "abcd", 4), 4);
	assert_int_equal(io_write(io, fd, "ef", 2), 2);
	assert_int_equal(io_pwrite(io, fd, "XY", 2, 10), 2);
	assert_int_equal(io_write(io, fd, "g", 1), 1);
	assert_int_equal(io_pwrite(io, fd, "Z", 1, -1), -EINVAL);
	assert_int_equal(sink_mem_fs_read(fs, DOM "/f", &data, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(data, "abcdefg", 7);
	assert_memory_equal(data + 7, zero, 3);
	assert_memory_equal(data + 10, "XY", 2);
	assert_int_equal(io_ftruncate(io, fd, 3), 0);
	assert_int_equal(io_ftruncate(io, fd, 5), 0);
	assert_int_equal(io_ftruncate(io, fd, -1), -EINVAL);
	assert_int_equal(io_fstat(io, fd, &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mode, S_IFREG | 0640);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(io_fsync(io, fd), 0);
	assert_int_equal(io_fdatasync(io, fd), 0);

	/* Read-only fds and directory fds refuse writes. */
	fd2 = io_openat(io, AT_FDCWD, DOM "/f", O_RDONLY | O_TRUNC, 0, 0, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(io_write(io, fd2, "x", 1), -EBADF);
	dfd = io_openat(io, AT_FDCWD, DOM, O_RDONLY | O_DIRECTORY, 0, 0, 0);
	assert_true(dfd >= 0);
	assert_int_equal(io_ftruncate(io, dfd, 0), -EBADF);
	assert_int_equal(io_pwrite(io, dfd, "x", 1, 0), -EBADF);

	/* Unlink while open: gone from the namespace, data alive until the last close. */
	assert_int_equal(io_unlinkat(io, dfd, "f", 0), 0);
	assert_int_equal(sink_mem_fs_read(fs, DOM "/f", &data, &len), -ENOENT);
	assert_int_equal(io_pwrite(io, fd, "q", 1, 0), 1);
	assert_int_equal(io_fstat(io, fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(io_close(io, fd), 0);
	assert_int_equal(io_close(io, fd2), 0);
	assert_int_equal(io_close(io, fd), -EBADF);
	assert_int_equal(io_fsync(io, fd), -EBADF);
	assert_int_equal(io_fstat(io, fd, &st), -EBADF);
	assert_int_equal(io_write(io, fd, "x", 1), -EBADF);

	/* Directory removal rules. */
	assert_int_equal(io_unlinkat(io, dfd, CHAN_DIR, AT_REMOVEDIR), -ENOTEMPTY);
	assert_int_equal(io_unlinkat(io, dfd, CHAN_DIR "/index", 0), -EISDIR);
	assert_int_equal(io_unlinkat(io, dfd, CHAN_DIR "/index", AT_REMOVEDIR), 0);
	assert_int_equal(io_unlinkat(io, dfd, CHAN_DIR "/index", AT_REMOVEDIR), -ENOENT);
	assert_int_equal(io_unlinkat(io, AT_FDCWD, "/", AT_REMOVEDIR), -EBUSY);
	assert_int_equal(io_unlinkat(io, dfd, "x", 0x4000), -EINVAL);
	fd = io_openat(io, dfd, "file", O_WRONLY | O_CREAT, 0600, 0, 0);
	assert_int_equal(io_close(io, fd), 0);
	assert_int_equal(io_unlinkat(io, dfd, "file", AT_REMOVEDIR), -ENOTDIR);
	assert_int_equal(io_close(io, dfd), 0);
	assert_int_equal(sink_mem_fs_read(fs, DOM, &data, &len), -EISDIR);
	assert_int_equal(sink_mem_fs_stat(fs, "missing", &st), -ENOENT);
}

/* Limits: descriptor table, capacity on ftruncate; destroy with fds still open. */
static void test_mem_limits(void **state)
{
	struct sink_mem_fs *fs = *state;
	const struct io *io = sink_mem_fs_io(fs);
	struct sink_mem_fs *leaky = NULL;
	int fds[SINK_MEM_MAX_FDS];
	int fd;

	for (int i = 0; i < SINK_MEM_MAX_FDS; i++) {
		fds[i] = io_openat(io, AT_FDCWD, DOM, O_RDONLY | O_DIRECTORY, 0, 0, 0);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(io_openat(io, AT_FDCWD, DOM, O_RDONLY, 0, 0, 0), -EMFILE);
	for (int i = 0; i < SINK_MEM_MAX_FDS; i++)
		assert_int_equal(io_close(io, fds[i]), 0);

	sink_mem_fs_set_capacity(fs, 100);
	fd = io_openat(io, AT_FDCWD, "big", O_WRONLY | O_CREAT, 0600, 0, 0);
	assert_int_equal(io_ftruncate(io, fd, 101), -ENOSPC);
	assert_int_equal(io_ftruncate(io, fd, 100), 0);
	assert_int_equal(io_pwrite(io, fd, "x", 1, 100), -ENOSPC);
	assert_int_equal(io_pwrite(io, fd, "x", 1, 99), 1);
	assert_int_equal(io_pwrite(io, fd, "x", 1, (off_t)INT64_MAX), -EFBIG);
	assert_int_equal(io_close(io, fd), 0);
	assert_int_equal(sink_mem_fs_mkdir(fs, NULL), -EINVAL);
	assert_int_equal(sink_mem_fs_create(NULL), -EINVAL);
	assert_int_equal(sink_mem_fs_read(fs, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(io_unlinkat(io, 4242, "x", 0), -EBADF);
	/* The chunk fd is given back when the chunk cannot be made. */
	assert_int_equal(sink_mem_chunk_create(fs, DOM, 0, 0, NULL), -EINVAL);
	assert_int_equal(sink_mem_fs_open_fds(fs), 0);
	{
		char *path = malloc(PATH_MAX + 8);

		assert_non_null(path);
		memset(path, 'p', PATH_MAX + 7);
		path[PATH_MAX + 7] = '\0';
		assert_int_equal(sink_mem_fs_mkdir(fs, path), -ENAMETOOLONG);
		assert_int_equal(io_openat(io, AT_FDCWD, path, O_RDONLY, 0, 0, 0), -ENAMETOOLONG);
		free(path);
	}

	/* Destroying with open fds (a leak elsewhere) still frees everything. */
	assert_int_equal(sink_mem_fs_create(&leaky), 0);
	assert_int_equal(sink_mem_fs_mkdir(leaky, "d"), 0);
	fd = io_openat(sink_mem_fs_io(leaky), AT_FDCWD, "d/a", O_WRONLY | O_CREAT, 0600, 0, 0);
	assert_true(fd >= 0);
	assert_true(io_openat(sink_mem_fs_io(leaky), AT_FDCWD, "d/b", O_WRONLY | O_CREAT, 0600, 0,
			      0) >= 0);
	assert_int_equal(io_write(sink_mem_fs_io(leaky), fd, "abc", 3), 3);
	assert_int_equal(io_unlinkat(sink_mem_fs_io(leaky), AT_FDCWD, "d/a", 0), 0);
	assert_int_equal(sink_mem_fs_open_fds(leaky), 2);
	sink_mem_fs_destroy(leaky);
	sink_mem_fs_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mem_sink_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_missing_dir_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_under_fault_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_io_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_limits, setup, teardown),
	};

	log_level = -1;
	return cmocka_run_group_tests_name("sink_mem", tests, NULL, NULL);
}
