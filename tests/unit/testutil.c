// SPDX-License-Identifier: MIT
/*
 * testutil.c - see testutil.h.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

int64_t test_clock_fn(void *arg)
{
	struct test_clock *c = arg;

	return __atomic_load_n(&c->now, __ATOMIC_SEQ_CST);
}

char *test_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/hkv-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

int test_rmrf(const char *path)
{
	if (!path)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void test_options(struct hkv_options *opt, struct test_clock *clk)
{
	hkv_options_init(opt);
	opt->sync = HKV_SYNC_NONE;
	opt->bg_interval_ms = 0;
	opt->map_size = 1ull << 30;
	if (clk) {
		opt->clock = test_clock_fn;
		opt->clock_arg = clk;
	}
}

struct hkv *test_open(const char *dir, const struct hkv_options *opt)
{
	struct hkv *db = NULL;
	int rc = hkv_open(dir, opt, &db);

	if (rc)
		fail_msg("hkv_open(%s): %s", dir, hkv_strerror(rc));
	return db;
}

uint64_t test_rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}
