/* SPDX-License-Identifier: GPL-2.0-only */
#include "sim_world.h"

#include <errno.h>
#include <string.h>

int sim_world_init(struct sim_world *w, uint64_t seed, int nr_possible_cpus, int nr_online,
		   uint64_t start_ns)
{
	if (nr_possible_cpus < 1 || nr_possible_cpus > SIM_MAX_CPUS || nr_online < 0 ||
	    nr_online > nr_possible_cpus)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->seed = seed;
	sim_rand_seed(&w->rng, seed);
	w->now_ns = start_ns;
	w->nr_possible_cpus = nr_possible_cpus;
	w->online_mask = nr_online == 64 ? UINT64_MAX : ((UINT64_C(1) << nr_online) - 1);
	return 0;
}

void sim_world_advance(struct sim_world *w, uint64_t delta_ns)
{
	w->now_ns += delta_ns;
}

int sim_world_cpu_set_online(struct sim_world *w, int cpu, bool online)
{
	if (cpu < 0 || cpu >= w->nr_possible_cpus)
		return -EINVAL;
	if (online)
		w->online_mask |= UINT64_C(1) << cpu;
	else
		w->online_mask &= ~(UINT64_C(1) << cpu);
	return 0;
}

bool sim_world_cpu_online(const struct sim_world *w, int cpu)
{
	if (cpu < 0 || cpu >= w->nr_possible_cpus)
		return false;
	return (w->online_mask >> cpu) & 1;
}
