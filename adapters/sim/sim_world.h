/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_world.h - what every simulated component shares: the seed-driven
 * random generator, the virtual clock, the fault table (sim_fault.h: the
 * ring-buffer ops of sim_rb and the syscalls of a sim_io shim bound to it)
 * and the simulated CPU topology (possible vs. online CPUs, for hotplug).
 *
 * Nothing here reads the real clock or any global state: two worlds built
 * from the same seed behave identically.
 */
#ifndef SLUICE_SIM_WORLD_H
#define SLUICE_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_fault.h"
#include "sim_rand.h"

#define SIM_MAX_CPUS 64

struct sim_world {
	uint64_t seed;
	struct sim_rand rng;        /* root generator; components fork from it */
	uint64_t now_ns;            /* virtual monotonic clock */
	struct sim_faults faults;   /* sim_rb's, and sim_io's when bound to it */
	int nr_possible_cpus;       /* streams per per-CPU channel */
	uint64_t online_mask;       /* bit n set = CPU n online */
};

/*
 * Initialise a world: clock at `start_ns`, `nr_possible_cpus` possible CPUs
 * (1..SIM_MAX_CPUS) of which the low `nr_online` are online.
 * Returns 0 or -EINVAL.
 */
int sim_world_init(struct sim_world *w, uint64_t seed, int nr_possible_cpus, int nr_online,
		   uint64_t start_ns);

static inline uint64_t sim_world_now(const struct sim_world *w) { return w->now_ns; }

/* Move the virtual clock forward (never backward). */
void sim_world_advance(struct sim_world *w, uint64_t delta_ns);

/* Hotplug. Returns 0 or -EINVAL for a CPU that is not possible. */
int sim_world_cpu_set_online(struct sim_world *w, int cpu, bool online);
bool sim_world_cpu_online(const struct sim_world *w, int cpu);

#endif /* SLUICE_SIM_WORLD_H */
