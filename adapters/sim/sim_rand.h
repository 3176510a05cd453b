/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sim_rand.h - the simulation's only source of randomness.
 *
 * xoshiro256** seeded through splitmix64.  Every component derives its own
 * generator with sim_rand_fork() so that adding a random choice in one
 * component does not shift the choices of the others (TigerBeetle's
 * per-component sub-seeds).
 */
#ifndef SLUICE_SIM_RAND_H
#define SLUICE_SIM_RAND_H

#include <stdint.h>

struct sim_rand {
	uint64_t s[4];
};

/* Seed a generator; any seed (including 0) is valid. */
void sim_rand_seed(struct sim_rand *r, uint64_t seed);
/* Next 64 random bits. */
uint64_t sim_rand_next(struct sim_rand *r);
/* Uniform integer in [0, n); returns 0 when n == 0. */
uint64_t sim_rand_below(struct sim_rand *r, uint64_t n);
/* Derive an independent generator for the component named `tag`. */
void sim_rand_fork(const struct sim_rand *parent, const char *tag, struct sim_rand *child);

#endif /* SLUICE_SIM_RAND_H */
