/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests of core/chunk.c: the trace chunk registry and its reference rules (§3.4). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chunk.h"
#include "sink.h"
#include "sink_mem.h"

struct fixture {
	struct chunk_registry *reg;
	struct sink_mem_fs *fs;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || chunk_registry_create(&f->reg) || sink_mem_fs_create(&f->fs) ||
	    sink_mem_fs_mkdir(f->fs, "c0/ust/uid/1000/64-bit/index"))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chunk_registry_destroy(f->reg);
	assert_int_equal(sink_mem_fs_open_fds(f->fs), 0);
	sink_mem_fs_destroy(f->fs);
	free(f);
	return 0;
}

/* A chunk over the in-memory file system, rooted at c0/ust. */
static struct sink_chunk *mem_chunk(struct fixture *f)
{
	struct sink_chunk *out = NULL;

	assert_int_equal(sink_mem_chunk_create(f->fs, "c0/ust", 1000, 1000, &out), 0);
	return out;
}

/* Write one file through the chunk so DELETE has something to remove. */
static void write_one_file(struct sink_chunk *out)
{
	struct sink_stream_params p = { .pathname = "uid/1000/64-bit", .name = "chan_0",
					.with_index = true };
	struct ctf_index_entry info = { .packet_size = 4096 * 8, .content_size = 84 * 8 };
	static const uint8_t packet[4096];
	struct sink_stream *s = NULL;

	assert_int_equal(sink_stream_open(out, &p, &s), 0);
	assert_int_equal(sink_write_packet(s, packet, sizeof(packet), sizeof(packet), &info), 0);
	assert_int_equal(sink_stream_close(s), 0);
}

/* CREATE then EXISTS, CLOSE then gone: the plain rotation path. */
static void test_create_close_exists(void **state)
{
	struct fixture *f = *state;

	assert_false(chunk_exists(f->reg, 1, 0));
	assert_int_equal(chunk_create(f->reg, 1, 0, mem_chunk(f), NULL), 0);
	assert_true(chunk_exists(f->reg, 1, 0));
	assert_false(chunk_exists(f->reg, 2, 0));
	assert_false(chunk_exists(f->reg, 1, 1));
	assert_int_equal(chunk_registry_count(f->reg), 1);
	assert_int_equal(chunk_close(f->reg, 1, 0, CHUNK_CLOSE_MOVE_TO_COMPLETED), 0);
	assert_false(chunk_exists(f->reg, 1, 0));
	assert_int_equal(chunk_registry_count(f->reg), 0);
}

/* A duplicate id is refused and the caller keeps its output. */
static void test_duplicate(void **state)
{
	struct fixture *f = *state;
	struct sink_chunk *second = mem_chunk(f);

	assert_int_equal(chunk_create(f->reg, 1, 0, mem_chunk(f), NULL), 0);
	assert_int_equal(chunk_create(f->reg, 1, 0, second, NULL), -EEXIST);
	assert_int_equal(sink_chunk_destroy(second), 0);
	/* Same chunk id in another session is another chunk. */
	assert_int_equal(chunk_create(f->reg, 2, 0, NULL, NULL), 0);
	assert_int_equal(chunk_registry_count(f->reg), 2);
}

/* Streams still writing keep the chunk "existing" after CLOSE (126 until they leave). */
static void test_refs_outlive_close(void **state)
{
	struct fixture *f = *state;
	struct chunk *c, *again;

	assert_int_equal(chunk_create(f->reg, 1, 3, mem_chunk(f), &c), 0);
	again = chunk_get(f->reg, 1, 3);
	assert_ptr_equal(again, c);
	chunk_ref(c);
	assert_int_equal(chunk_close(f->reg, 1, 3, CHUNK_CLOSE_NONE), 0);
	assert_true(chunk_exists(f->reg, 1, 3));
	chunk_put(again);
	assert_true(chunk_exists(f->reg, 1, 3));
	chunk_put(c);
	assert_false(chunk_exists(f->reg, 1, 3));
	assert_null(chunk_get(f->reg, 1, 3));
}

/* Closing twice or closing an unknown chunk are errors, not crashes. */
static void test_close_errors(void **state)
{
	struct fixture *f = *state;
	struct chunk *c;

	assert_int_equal(chunk_close(f->reg, 9, 9, CHUNK_CLOSE_DELETE), -ENOENT);
	assert_int_equal(chunk_create(f->reg, 1, 0, NULL, &c), 0);
	chunk_ref(c);
	assert_int_equal(chunk_close(f->reg, 1, 0, CHUNK_CLOSE_NONE), 0);
	assert_int_equal(chunk_close(f->reg, 1, 0, CHUNK_CLOSE_DELETE), -EALREADY);
	chunk_put(c);
	chunk_put(NULL);
}

/* DELETE: files created through the chunk are unlinked once the last reference drops. */
static void test_delete_unlinks_files(void **state)
{
	struct fixture *f = *state;
	struct chunk *c;
	const uint8_t *data;
	size_t len;

	assert_int_equal(chunk_create(f->reg, 1, 0, mem_chunk(f), &c), 0);
	chunk_ref(c);
	write_one_file(chunk_sink(c));
	assert_int_equal(sink_mem_fs_read(f->fs, "c0/ust/uid/1000/64-bit/chan_0", &data, &len), 0);
	assert_int_equal(len, 4096);
	assert_int_equal(chunk_close(f->reg, 1, 0, CHUNK_CLOSE_DELETE), 0);
	/* A stream still references it: nothing deleted yet. */
	assert_int_equal(sink_mem_fs_read(f->fs, "c0/ust/uid/1000/64-bit/chan_0", &data, &len), 0);
	chunk_put(c);
	assert_int_equal(sink_mem_fs_read(f->fs, "c0/ust/uid/1000/64-bit/chan_0", &data, &len),
			 -ENOENT);
	assert_int_equal(sink_mem_fs_read(f->fs, "c0/ust/uid/1000/64-bit/index/chan_0.idx", &data,
					  &len), -ENOENT);
}

/* MOVE_TO_COMPLETED keeps the files (the session daemon renames the directory). */
static void test_move_keeps_files(void **state)
{
	struct fixture *f = *state;
	struct chunk *c;
	const uint8_t *data;
	size_t len;

	assert_int_equal(chunk_create(f->reg, 1, 0, mem_chunk(f), &c), 0);
	write_one_file(chunk_sink(c));
	assert_int_equal(chunk_session_id(c), 1);
	assert_int_equal(chunk_id(c), 0);
	assert_int_equal(chunk_close(f->reg, 1, 0, CHUNK_CLOSE_MOVE_TO_COMPLETED), 0);
	assert_int_equal(sink_mem_fs_read(f->fs, "c0/ust/uid/1000/64-bit/chan_0", &data, &len), 0);
}

/* Destroying the registry releases chunks still held (with a warning), no leak. */
static void test_destroy_with_live_chunks(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(chunk_create(f->reg, 1, 0, mem_chunk(f), NULL), 0);
	assert_int_equal(chunk_create(f->reg, 1, 1, mem_chunk(f), NULL), 0);
	assert_int_equal(chunk_create(f->reg, 2, 0, NULL, NULL), 0);
	assert_int_equal(chunk_registry_count(f->reg), 3);
	/* teardown destroys the registry and checks no fd of the fs stays open */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_close_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs_outlive_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_unlinks_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_keeps_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_live_chunks, setup, teardown),
	};

	return cmocka_run_group_tests_name("chunk", tests, NULL, NULL);
}
