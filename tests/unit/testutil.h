/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by the engine's unit tests: scratch directories, a manual
 * clock, and a store opened with test-friendly options.
 */
#ifndef HKV_TESTUTIL_H
#define HKV_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hkv/engine.h"

/** struct test_clock - a clock the test moves by hand (Unix ms). */
struct test_clock {
	int64_t now;
};

/** test_clock_fn() - hkv_options.clock reading a struct test_clock. */
int64_t test_clock_fn(void *arg);

/** test_mkdtemp() - a fresh empty directory under $TMPDIR or /tmp; returns a malloc()ed path. */
char *test_mkdtemp(const char *tag);

/** test_rmrf() - remove @path recursively; returns 0 or -errno. */
int test_rmrf(const char *path);

/**
 * test_options() - defaults for tests: sync none, no background thread, @clk as the clock
 * (may be NULL), errors logged to stderr.
 */
void test_options(struct hkv_options *opt, struct test_clock *clk);

/** test_open() - hkv_open() that fails the test on error. */
struct hkv *test_open(const char *dir, const struct hkv_options *opt);

/** test_rng() - xorshift64* with an explicit state (fixed seeds in tests). */
uint64_t test_rng(uint64_t *state);

#endif
