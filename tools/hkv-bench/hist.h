/* SPDX-License-Identifier: MIT */
/*
 * hist.h - a fixed-size latency histogram for hkv-bench.
 *
 * Log-linear buckets: a value v (nanoseconds) falls in bucket (e, m) where e is the position
 * of its highest set bit and m the next HIST_SUB_BITS bits, so every bucket is at most 1/16
 * (6.25%) wide relative to its values. Recording is a few instructions and never allocates,
 * so it can run on every operation; one histogram per thread, merged at the end.
 */
#ifndef HKV_BENCH_HIST_H
#define HKV_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 4
#define HIST_BUCKETS (64 << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/** hist_merge() - add @src's counts into @dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/**
 * hist_quantile() - the value below which a fraction @q (0..1) of the samples lie; the
 * midpoint of the bucket holding that sample. 0 if the histogram is empty.
 */
uint64_t hist_quantile(const struct hist *h, double q);

#endif /* HKV_BENCH_HIST_H */
