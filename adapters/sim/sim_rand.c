/* SPDX-License-Identifier: GPL-2.0-only */
#include "sim_rand.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void sim_rand_seed(struct sim_rand *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t sim_rand_next(struct sim_rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t sim_rand_below(struct sim_rand *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Rejection sampling keeps the distribution exactly uniform. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;

	do {
		v = sim_rand_next(r);
	} while (v >= limit);
	return v % n;
}

void sim_rand_fork(const struct sim_rand *parent, const char *tag, struct sim_rand *child)
{
	/* FNV-1a of the tag, mixed with the parent's state (not advanced). */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = tag; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	sim_rand_seed(child, h ^ parent->s[0] ^ rotl(parent->s[2], 13));
}
