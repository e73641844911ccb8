// SPDX-License-Identifier: MIT
/*
 * crc.c - the CRC-32 of log and value records: zlib's crc32() (the IEEE 802.3 polynomial,
 * reflected, pre- and post-inverted), computed with carry-less multiplication where the CPU
 * has it.
 *
 * Every group record of the log is checksummed on the write path, and zlib's table-driven
 * loop takes about 100 ns for the 150 bytes of a small SET's record on the machines measured
 * (docs/benchmarks.md). Folding 16 bytes at a time with PCLMULQDQ gives the same value in a
 * fraction of that. The method is the one of Intel's white paper "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ Instruction" (Gopal et al., 2009), in its bit-reflected
 * form:
 *
 *   - the running CRC is XORed into the first 16 bytes; while 64 or more bytes remain, four
 *     128-bit accumulators are each folded forward by 512 bits (multiplied by x^(512+64) and
 *     x^512 mod P, the constants K1 and K2) and the next 64 bytes are XORed in; the four are
 *     then folded into one by 128 bits at a time (K3, K4), as is every further 16 bytes;
 *   - the last 128 bits are reduced to 64 (K4), then to 32 bits (K5), then by a Barrett
 *     reduction (MU, P) to the CRC; a tail of under 16 bytes goes through zlib.
 *
 * The constants are x^n mod P for the n above, bit-reflected, with P = 0x104C11DB7. The
 * result is checked against zlib's for every length up to 1 KiB at every alignment
 * (tests/unit/test_vlog.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "hkv_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CLMUL __attribute__((target("pclmul,sse4.1")))

CLMUL static inline __m128i fold(__m128i x, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
					   _mm_clmulepi64_si128(x, k, 0x11)),
			     next);
}

CLMUL static uint32_t crc32_clmul(uint32_t crc, const unsigned char *p, size_t len)
{
	const __m128i k12 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
	const __m128i k34 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i pmu = _mm_set_epi64x(0x1f7011641, 0x1db710641);
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x, x2, x3, x4, t;
	uint32_t state;

	/* zlib's CRC is the inverse of the polynomial remainder's running state */
	x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)~crc));
	p += 16;
	len -= 16;
	if (len >= 48) {
		x2 = _mm_loadu_si128((const __m128i *)p);
		x3 = _mm_loadu_si128((const __m128i *)(p + 16));
		x4 = _mm_loadu_si128((const __m128i *)(p + 32));
		p += 48;
		len -= 48;
		while (len >= 64) {
			x = fold(x, k12, _mm_loadu_si128((const __m128i *)p));
			x2 = fold(x2, k12, _mm_loadu_si128((const __m128i *)(p + 16)));
			x3 = fold(x3, k12, _mm_loadu_si128((const __m128i *)(p + 32)));
			x4 = fold(x4, k12, _mm_loadu_si128((const __m128i *)(p + 48)));
			p += 64;
			len -= 64;
		}
		x = fold(x, k34, x2);
		x = fold(x, k34, x3);
		x = fold(x, k34, x4);
	}
	while (len >= 16) {
		x = fold(x, k34, _mm_loadu_si128((const __m128i *)p));
		p += 16;
		len -= 16;
	}
	/* 128 -> 64 bits: the low half times K4, into the high half */
	t = _mm_clmulepi64_si128(k34, x, 0x01);
	x = _mm_xor_si128(_mm_srli_si128(x, 8), t);
	/* 64 -> 32 bits (with 32 zero bits appended): the low 32 bits times K5 */
	t = _mm_srli_si128(x, 4);
	x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5, 0x00), t);
	/* Barrett reduction, bit-reflected */
	t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), pmu, 0x10);
	t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pmu, 0x00);
	x = _mm_xor_si128(x, t);
	state = (uint32_t)_mm_extract_epi32(x, 1);
	return len ? (uint32_t)crc32_z(~state, p, len) : ~state;
}

/* Whether the CPU has the instructions (a test of what libgcc read at start-up). */
static bool have_clmul(void)
{
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}
#endif

uint32_t hkv_crc32(uint32_t crc, const void *p, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (len >= 16 && have_clmul())
		return crc32_clmul(crc, p, len);
#endif
	return (uint32_t)crc32_z(crc, p, len);
}
