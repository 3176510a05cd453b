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

/* A transient fault fails exactly the nth call, then calls succeed again. */
static void test_fault_transient(void **state)
{
	struct sim_faults f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(sim_fault_check(&f, SIM_OP_FLUSH), 0);
	sim_fault_arm(&f, SIM_OP_FLUSH, 2, RB_ERROR, false);
	assert_int_equal(sim_fault_check(&f, SIM_OP_FLUSH), 0);
	assert_int_equal(sim_fault_check(&f, SIM_OP_FLUSH), RB_ERROR);
	assert_int_equal(sim_fault_check(&f, SIM_OP_FLUSH), 0);
	assert_int_equal(sim_fault_check(&f, SIM_OP_FLUSH), 0);
	assert_int_equal(f.op[SIM_OP_FLUSH].calls, 5);
	assert_int_equal(sim_fault_total_fired(&f), 1);
	/* Other ops are untouched. */
	assert_int_equal(sim_fault_check(&f, SIM_OP_CLEAR), 0);
}

/* A persistent fault keeps failing until disarmed; nth 0 means the next call. */
static void test_fault_persistent(void **state)
{
	struct sim_faults f;

	(void)state;
	memset(&f, 0, sizeof(f));
	sim_fault_arm(&f, SIM_OP_GET_NEXT_SUBBUF, 0, RB_NOMEM, true);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sim_fault_check(&f, SIM_OP_GET_NEXT_SUBBUF), RB_NOMEM);
	sim_fault_disarm(&f, SIM_OP_GET_NEXT_SUBBUF);
	assert_int_equal(sim_fault_check(&f, SIM_OP_GET_NEXT_SUBBUF), 0);
	assert_int_equal(f.op[SIM_OP_GET_NEXT_SUBBUF].fired, 4);
}

/* Every op has a unique name that maps back to it. */
static void test_fault_names(void **state)
{
	(void)state;
	for (int i = 0; i < SIM_OP_COUNT; i++) {
		const char *name = sim_op_name(i);

		assert_non_null(name);
		assert_int_equal(sim_op_from_name(name), i);
	}
	assert_null(sim_op_name(SIM_OP_COUNT));
	assert_null(sim_op_name(-1));
	assert_int_equal(sim_op_from_name("no_such_op"), -1);
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
		cmocka_unit_test(test_fault_transient),
		cmocka_unit_test(test_fault_persistent),
		cmocka_unit_test(test_fault_names),
		cmocka_unit_test(test_world),
	};

	return cmocka_run_group_tests_name("sim_world", tests, NULL, NULL);
}
