/* SPDX-License-Identifier: MIT */
/*
 * hist.c - log-linear latency histogram (see hist.h for the bucket layout).
 *
 * Values below 2^HIST_SUB_BITS get one bucket each (index = value). Above, a value with its
 * highest bit at position e >= HIST_SUB_BITS lands in index
 *   ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) | (the HIST_SUB_BITS bits below bit e),
 * which grows monotonically with the value, so a cumulative walk gives quantiles.
 */
#include <string.h>

#include "hist.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) |
	       (unsigned)((v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* Lowest value of bucket @i and its width. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
	unsigned e, m;

	if (i < (1u << HIST_SUB_BITS)) {
		*lo = i;
		*width = 1;
		return;
	}
	e = (i >> HIST_SUB_BITS) + HIST_SUB_BITS - 1;
	m = i & ((1u << HIST_SUB_BITS) - 1);
	*lo = (1ull << e) | ((uint64_t)m << (e - HIST_SUB_BITS));
	*width = 1ull << (e - HIST_SUB_BITS);
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, lo, width;
	unsigned i;

	if (!h->count)
		return 0;
	rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > rank) {
			bucket_range(i, &lo, &width);
			return lo + width / 2;
		}
	}
	return h->max;
}
