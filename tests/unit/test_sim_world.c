/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests of the sim world basics: seeded rng, fault injection, clock, CPU topology. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rb.h"
#include "sim_world.h"

/* Same seed, same stream of numbers; another seed, another stream. */
static void test_rand_deterministic(void **state)
{
	struct sim_rand a, b, c;
	int differ = 0;

	(void)state;
	sim_rand_seed(&a, 42);
	sim_rand_seed(&b, 42);
	sim_rand_seed(&c, 43);
	for (int i = 0; i < 100; i++) {
		uint64_t x = sim_rand_next(&a);

		assert_int_equal(x, sim_rand_next(&b));
		differ += x != sim_rand_next(&c);
	}
	assert_true(differ > 90);
}

/* below(n) stays in range, hits every value of a small range, below(0) is 0. */
static void test_rand_below(void **state)
{
	struct sim_rand r;
	int seen[7] = { 0 };

	(void)state;
	sim_rand_seed(&r, 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = sim_rand_below(&r, 7);

		assert_true(v < 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(seen[i] > 0);
	assert_int_equal(sim_rand_below(&r, 0), 0);
	assert_int_equal(sim_rand_below(&r, 1), 0);
}

/* Forked generators depend on the tag and do not advance the parent. */
static void test_rand_fork(void **state)
{
	struct sim_rand root, root_copy, x1, x2, y;

	(void)state;
	sim_rand_seed(&root, 7);
	root_copy = root;
	sim_rand_fork(&root, "stepper", &x1);
	sim_rand_fork(&root, "stepper", &x2);
	sim_rand_fork(&root, "writer", &y);
	assert_memory_equal(&root, &root_copy, sizeof(root));
	assert_int_equal(sim_rand_next(&x1), sim_rand_next(&x2));
	assert_int_not_equal(sim_rand_next(&x1), sim_rand_next(&y));
}

/* Arm `f` on table t; the test fails if arming does. */
static void arm(struct sim_faults *t, struct sim_fault f)
{
	assert_int_equal(sim_fault_arm(t, &f), 0);
}

/* A one-time fault fails exactly the nth call, then calls succeed again. */
static void test_fault_once(void **state)
{
	struct sim_faults t = { 0 };

	(void)state;
	assert_int_equal(sim_fault_check(&t, SIM_OP_FLUSH), 0);
	arm(&t, (struct sim_fault){ .op = SIM_OP_FLUSH, .nth = 2, .err = RB_ERROR });
	assert_int_equal(sim_fault_check(&t, SIM_OP_FLUSH), 0);
	assert_int_equal(sim_fault_check(&t, SIM_OP_FLUSH), RB_ERROR);
	assert_int_equal(sim_fault_check(&t, SIM_OP_FLUSH), 0);
	assert_int_equal(sim_fault_check(&t, SIM_OP_FLUSH), 0);
	assert_int_equal(t.op[SIM_OP_FLUSH].calls, 5);
	assert_int_equal(sim_fault_fired(&t, SIM_KIND_RB), 1);
	/* Other ops are untouched; one-time faults expire even when their op is not called. */
	assert_int_equal(sim_fault_check(&t, SIM_OP_CLEAR), 0);
	arm(&t, (struct sim_fault){ .op = SIM_IO_FSYNC, .nth = 1, .err = EIO });
	arm(&t, (struct sim_fault){ .op = SIM_OP_CLEAR, .nth = 1, .err = RB_IO });
	assert_int_equal(sim_fault_check(&t, SIM_OP_CLEAR), RB_IO);
	assert_int_equal(sim_fault_check(&t, SIM_IO_FSYNC), EIO);
	assert_int_equal(sim_fault_fired(&t, SIM_KIND_IO), 1);
	assert_int_equal(sim_fault_fired(&t, SIM_KIND_RB), 2);
}

/* every = 1 keeps failing until disarmed; every = k fails every kth call from nth on. */
static void test_fault_repeating(void **state)
{
	struct sim_faults t = { 0 };
	const int want[] = { 0, 0, RB_NOMEM, 0, 0, RB_NOMEM, 0, 0, RB_NOMEM };

	(void)state;
	arm(&t, (struct sim_fault){ .op = SIM_OP_GET_NEXT_SUBBUF, .nth = 1, .every = 1,
				   .err = RB_NOMEM });
	for (int i = 0; i < 4; i++)
		assert_int_equal(sim_fault_check(&t, SIM_OP_GET_NEXT_SUBBUF), RB_NOMEM);
	sim_fault_disarm(&t, SIM_OP_GET_NEXT_SUBBUF);
	assert_int_equal(sim_fault_check(&t, SIM_OP_GET_NEXT_SUBBUF), 0);
	assert_int_equal(t.op[SIM_OP_GET_NEXT_SUBBUF].fired, 4);
	arm(&t, (struct sim_fault){ .op = SIM_OP_READ_PTR, .nth = 3, .every = 3, .err = RB_NOMEM });
	for (int i = 0; i < 9; i++)
		assert_int_equal(sim_fault_check(&t, SIM_OP_READ_PTR), want[i]);
	sim_fault_disarm_all(&t);
	assert_int_equal(sim_fault_check(&t, SIM_OP_READ_PTR), 0);
}

/*
 * A fault at its first call wins over one already repeating (short writes
 * from now on, EINTR on the 2nd); two firsts on one call: the first armed
 * fires, the other is dropped.
 */
static void test_fault_precedence(void **state)
{
	struct sim_faults t = { 0 };

	(void)state;
	arm(&t, (struct sim_fault){ .op = SIM_IO_PWRITE, .nth = 1, .every = 1,
				   .err = SIM_FAULT_SHORT });
	arm(&t, (struct sim_fault){ .op = SIM_IO_PWRITE, .nth = 2, .err = EINTR });
	assert_int_equal(sim_fault_check(&t, SIM_IO_PWRITE), SIM_FAULT_SHORT);
	assert_int_equal(sim_fault_check(&t, SIM_IO_PWRITE), EINTR);
	assert_int_equal(sim_fault_check(&t, SIM_IO_PWRITE), SIM_FAULT_SHORT);
	sim_fault_disarm_all(&t);
	arm(&t, (struct sim_fault){ .op = SIM_IO_FSYNC, .nth = 1, .err = EIO });
	arm(&t, (struct sim_fault){ .op = SIM_IO_FSYNC, .nth = 1, .err = ENOSPC });
	assert_int_equal(sim_fault_check(&t, SIM_IO_FSYNC), EIO);
	assert_int_equal(sim_fault_check(&t, SIM_IO_FSYNC), 0);
	assert_int_equal(t.op[SIM_IO_FSYNC].fired, 1);
}

/* Arming is validated (op, nth, an err the op's kind can return) and bounded. */
static void test_fault_arm_validation(void **state)
{
	static const struct sim_fault bad[] = {
		{ .op = SIM_IO_PWRITE, .nth = 0, .err = EIO },
		{ .op = SIM_IO_PWRITE, .nth = 1, .err = 0 },
		{ .op = SIM_IO_OPENAT, .nth = 1, .err = SIM_FAULT_SHORT },
		{ .op = SIM_OP_FLUSH, .nth = 1, .err = SIM_FAULT_SHORT },
		{ .op = SIM_OP_FLUSH, .nth = 1, .err = RB_ERROR + 1 },
		{ .op = SIM_OP_COUNT, .nth = 1, .err = EIO },
	};
	struct sim_faults t = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sim_fault_arm(&t, &bad[i]), -EINVAL);
	for (uint64_t i = 0; i < SIM_FAULT_MAX; i++)
		arm(&t, (struct sim_fault){ .op = SIM_IO_FSTAT, .nth = 100 + i, .err = EIO });
	assert_int_equal(sim_fault_arm(&t, &(struct sim_fault){ .op = SIM_IO_FSTAT, .nth = 1,
								 .err = EIO }), -ENOSPC);
	sim_fault_disarm(&t, SIM_IO_FSTAT);
	arm(&t, (struct sim_fault){ .op = SIM_IO_FSTAT, .nth = 1, .err = EIO });
}

/* Every op has a unique name within its kind that maps back to it; errs have names too. */
static void test_fault_names(void **state)
{
	int err = 0;

	(void)state;
	for (int i = 0; i < SIM_OP_COUNT; i++) {
		const char *name = sim_op_name(i);

		assert_non_null(name);
		assert_int_equal(sim_op_from_name(sim_op_kind(i), name), i);
		assert_int_equal(sim_op_from_name(sim_op_kind(i) == SIM_KIND_RB ? SIM_KIND_IO :
						   SIM_KIND_RB, name), -1);
	}
	assert_null(sim_op_name(SIM_OP_COUNT));
	assert_null(sim_op_name(-1));
	assert_int_equal(sim_op_from_name(SIM_KIND_RB, "no_such_op"), -1);
	assert_int_equal(sim_op_kind_from_name(sim_op_kind_name(SIM_KIND_IO)), SIM_KIND_IO);
	assert_int_equal(sim_op_kind_from_name("no_such_kind"), -1);
	/* Allocations of the core: one op, failing with ENOMEM only. */
	assert_int_equal(sim_op_kind_from_name("alloc"), SIM_KIND_ALLOC);
	assert_int_equal(sim_op_kind(SIM_ALLOC), SIM_KIND_ALLOC);
	assert_int_equal(sim_op_from_name(SIM_KIND_ALLOC, "any"), SIM_ALLOC);
	assert_int_equal(sim_fault_err_from_name(SIM_ALLOC, "ENOMEM", &err), 0);
	assert_int_equal(err, ENOMEM);
	assert_int_equal(sim_fault_err_from_name(SIM_ALLOC, "EIO", &err), -1);
	assert_string_equal(sim_fault_err_name(SIM_ALLOC, EIO), "?");
	for (int e = RB_NO_DATA; e <= RB_ERROR; e++) {
		assert_int_equal(sim_fault_err_from_name(SIM_OP_FLUSH,
							 sim_fault_err_name(SIM_OP_FLUSH, e), &err), 0);
		assert_int_equal(err, e);
	}
	assert_int_equal(sim_fault_err_from_name(SIM_IO_WRITE, "short", &err), 0);
	assert_int_equal(err, SIM_FAULT_SHORT);
	assert_string_equal(sim_fault_err_name(SIM_IO_PWRITE, ENOSPC), "ENOSPC");
	assert_string_equal(sim_fault_err_name(SIM_IO_PWRITE, EPERM), "?");
	assert_string_equal(sim_fault_err_name(SIM_OP_FLUSH, RB_OK), "?");
	assert_int_equal(sim_fault_err_from_name(SIM_IO_OPENAT, "short", &err), -1);
	assert_int_equal(sim_fault_err_from_name(SIM_IO_OPENAT, "ERROR", &err), -1);
	assert_int_equal(sim_fault_err_from_name(SIM_OP_FLUSH, "EIO", &err), -1);
}

/* World: validation, clock, hotplug. */
static void test_world(void **state)
{
	struct sim_world w;

	(void)state;
	assert_int_equal(sim_world_init(&w, 1, 0, 0, 0), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, SIM_MAX_CPUS + 1, 1, 0), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, 2, 3, 0), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, 2, -1, 0), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, 4, 2, 1000), 0);
	assert_int_equal(sim_world_now(&w), 1000);
	sim_world_advance(&w, 500);
	assert_int_equal(sim_world_now(&w), 1500);
	assert_true(sim_world_cpu_online(&w, 0));
	assert_true(sim_world_cpu_online(&w, 1));
	assert_false(sim_world_cpu_online(&w, 2));
	assert_false(sim_world_cpu_online(&w, 4));
	assert_false(sim_world_cpu_online(&w, -1));
	assert_int_equal(sim_world_cpu_set_online(&w, 3, true), 0);
	assert_true(sim_world_cpu_online(&w, 3));
	assert_int_equal(sim_world_cpu_set_online(&w, 0, false), 0);
	assert_false(sim_world_cpu_online(&w, 0));
	assert_int_equal(sim_world_cpu_set_online(&w, 4, true), -EINVAL);
	assert_int_equal(sim_world_init(&w, 1, 64, 64, 0), 0);
	assert_true(sim_world_cpu_online(&w, 63));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rand_deterministic),
		cmocka_unit_test(test_rand_below),
		cmocka_unit_test(test_rand_fork),
		cmocka_unit_test(test_fault_once),
		cmocka_unit_test(test_fault_repeating),
		cmocka_unit_test(test_fault_precedence),
		cmocka_unit_test(test_fault_arm_validation),
		cmocka_unit_test(test_fault_names),
		cmocka_unit_test(test_world),
	};

	return cmocka_run_group_tests_name("sim_world", tests, NULL, NULL);
}
