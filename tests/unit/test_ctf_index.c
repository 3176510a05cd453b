/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests of core/ctf_index.c: the big-endian .idx encoding of §6.3. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctf_index.h"

/* Header bytes as verified on a real 2.13 trace (spec §6.3). */
static void test_header_bytes(void **state)
{
	static const uint8_t expected[16] = {
		0xc1, 0xf1, 0xdc, 0xc1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0x48,
	};
	uint8_t out[CTF_INDEX_HEADER_SIZE];

	(void)state;
	ctf_index_encode_header(out);
	assert_memory_equal(out, expected, sizeof(expected));
}

/* Each field lands big endian at its documented offset. */
static void test_entry_layout(void **state)
{
	struct ctf_index_entry e = {
		.offset = 0x0102030405060708ULL, .packet_size = 0x8000, .content_size = 0x2a0,
		.timestamp_begin = 11, .timestamp_end = 12, .events_discarded = 13,
		.stream_id = 14, .stream_instance_id = 15, .packet_seq_num = 16,
	};
	uint8_t out[CTF_INDEX_ENTRY_SIZE];

	(void)state;
	ctf_index_encode_entry(&e, out);
	assert_int_equal(out[0], 0x01);
	assert_int_equal(out[7], 0x08);
	assert_int_equal(out[8 + 6], 0x80);   /* packet_size 0x8000 */
	assert_int_equal(out[16 + 6], 0x02);  /* content_size 0x2a0 */
	assert_int_equal(out[16 + 7], 0xa0);
	for (int i = 3; i < 9; i++)
		assert_int_equal(out[8 * i + 7], 8 + i);
}

/* encode then decode gives back every field, several entries. */
static void test_round_trip(void **state)
{
	uint8_t file[CTF_INDEX_HEADER_SIZE + 3 * CTF_INDEX_ENTRY_SIZE];
	struct ctf_index_entry in[3], out[3];

	(void)state;
	ctf_index_encode_header(file);
	for (int i = 0; i < 3; i++) {
		in[i] = (struct ctf_index_entry){
			.offset = 4096u * i, .packet_size = 4096 * 8, .content_size = 100 * 8 + i,
			.timestamp_begin = 1000 + i, .timestamp_end = 2000 + i, .events_discarded = i,
			.stream_id = 1, .stream_instance_id = UINT64_MAX, .packet_seq_num = i,
		};
		ctf_index_encode_entry(&in[i], file + CTF_INDEX_HEADER_SIZE + i * CTF_INDEX_ENTRY_SIZE);
	}
	assert_int_equal(ctf_index_decode(file, sizeof(file), out, 3), 3);
	assert_memory_equal(in, out, sizeof(in));
}

/* The decoder never writes past max and still reports what it decoded. */
static void test_decode_max(void **state)
{
	uint8_t file[CTF_INDEX_HEADER_SIZE + 2 * CTF_INDEX_ENTRY_SIZE] = { 0 };
	struct ctf_index_entry out[1];

	(void)state;
	ctf_index_encode_header(file);
	assert_int_equal(ctf_index_decode(file, sizeof(file), out, 1), 1);
	assert_int_equal(ctf_index_decode(file, CTF_INDEX_HEADER_SIZE, out, 1), 0);
}

/* Bad magic, version, entry size or a torn entry are rejected. */
static void test_decode_rejects(void **state)
{
	uint8_t file[CTF_INDEX_HEADER_SIZE + CTF_INDEX_ENTRY_SIZE] = { 0 };
	struct ctf_index_entry out[1];

	(void)state;
	assert_int_equal(ctf_index_decode(file, 8, out, 1), -EINVAL);
	assert_int_equal(ctf_index_decode(file, sizeof(file), out, 1), -EINVAL); /* magic 0 */
	ctf_index_encode_header(file);
	assert_int_equal(ctf_index_decode(file, sizeof(file) - 1, out, 1), -EINVAL);
	for (int field = 1; field < 4; field++) {
		uint8_t bad[sizeof(file)];

		memcpy(bad, file, sizeof(file));
		bad[4 * field + 3] ^= 0x40;
		assert_int_equal(ctf_index_decode(bad, sizeof(bad), out, 1), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_entry_layout),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_max),
		cmocka_unit_test(test_decode_rejects),
	};

	return cmocka_run_group_tests_name("ctf_index", tests, NULL, NULL);
}
