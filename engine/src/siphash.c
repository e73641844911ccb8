// SPDX-License-Identifier: MIT
/*
 * siphash.c - SipHash-2-4 (Aumasson and Bernstein, 2012), 64- and 128-bit output: a keyed
 * pseudo-random function; and SipHash-1-3 (one compression round, three finalisation rounds),
 * the faster variant hash tables use, for the memtable's index (mem.c), whose collisions
 * cost time, never correctness. The engine keys it with a random 128-bit secret drawn when a store
 * is created (the "hashkey" record of the info table), and uses the 128-bit form to name long
 * keys and members in the index (util.c, ekey_make()): without the secret nobody can choose
 * two strings with the same name.
 *
 * The algorithm, for key k = (k0, k1) (two little-endian words) and message m:
 *
 *   v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
 *   (128-bit output: v1 ^= 0xee)
 *   for each 8-byte little-endian word w of m, then for the last word (the 0..7 remaining
 *   bytes, with the message length mod 256 in its top byte):
 *       v3 ^= w; 2 SipRounds; v0 ^= w
 *   v2 ^= 0xff (128-bit: 0xee); 4 SipRounds; out0 = v0 ^ v1 ^ v2 ^ v3
 *   128-bit only: v1 ^= 0xdd; 4 SipRounds; out1 = v0 ^ v1 ^ v2 ^ v3
 *
 * Words are assembled from bytes, so the result is the same on every host. The test vectors of
 * the reference implementation are checked in tests/unit/test_hash_key.c.
 */
#include <stdint.h>
#include <string.h>

#include "hkv_int.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static inline void sip_word(struct sip *s, uint64_t w, int crounds)
{
	s->v3 ^= w;
	for (int r = 0; r < crounds; r++)
		sip_round(s);
	s->v0 ^= w;
}

static void sip_absorb(struct sip *s, const uint64_t key[2], const unsigned char *p,
		       size_t len, bool wide, int crounds)
{
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	size_t i = 0;

	s->v0 = key[0] ^ 0x736f6d6570736575ull;
	s->v1 = key[1] ^ 0x646f72616e646f6dull;
	s->v2 = key[0] ^ 0x6c7967656e657261ull;
	s->v3 = key[1] ^ 0x7465646279746573ull;
	if (wide)
		s->v1 ^= 0xee;
	for (; i + 8 <= len; i += 8)
		sip_word(s, le64(p + i), crounds);
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	sip_word(s, last, crounds);
}

static uint64_t sip_out(struct sip *s, uint64_t x, int drounds)
{
	s->v2 ^= x;
	for (int r = 0; r < drounds; r++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t siphash24(const uint64_t key[2], const void *p, size_t len)
{
	struct sip s;

	sip_absorb(&s, key, p, len, false, 2);
	return sip_out(&s, 0xff, 4);
}

uint64_t siphash13(const uint64_t key[2], const void *p, size_t len)
{
	struct sip s;

	sip_absorb(&s, key, p, len, false, 1);
	return sip_out(&s, 0xff, 3);
}

void siphash24_128(const uint64_t key[2], const void *p, size_t len, uint64_t out[2])
{
	struct sip s;

	sip_absorb(&s, key, p, len, true, 2);
	out[0] = sip_out(&s, 0xee, 4);
	s.v1 ^= 0xdd;
	out[1] = sip_out(&s, 0, 4);
}
