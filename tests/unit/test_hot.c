// SPDX-License-Identifier: MIT
/*
 * test_hot.c - the daemon's hot-key tracker: estimates never undercount, a skewed workload's
 * hottest keys are the top-K, decay cools keys down, forget drops a key, many threads count.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "../../fs/hot.h"

#define NKEYS 5000

static void key_of(unsigned i, char *buf, size_t *len)
{
	*len = (size_t)snprintf(buf, 32, "user:%u:name", i);
}

/* Zipf(s=1.1) ranks by inversion of a precomputed CDF. */
static unsigned *zipf_draws(size_t n, uint64_t seed)
{
	double *cdf = malloc(NKEYS * sizeof(*cdf)), sum = 0;
	unsigned *v = malloc(n * sizeof(*v));

	for (unsigned i = 0; i < NKEYS; i++) {
		sum += 1.0 / pow(i + 1, 1.1);
		cdf[i] = sum;
	}
	for (size_t j = 0; j < n; j++) {
		double u = (double)(test_rng(&seed) >> 11) / (double)(1ull << 53) * sum;
		unsigned lo = 0, hi = NKEYS - 1;

		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;

			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		v[j] = lo;
	}
	free(cdf);
	return v;
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(hkvfs_hot_new(0, 1024, 4));
	assert_int_equal(errno, EINVAL);
	assert_null(hkvfs_hot_new(16, 10, 4));
	assert_null(hkvfs_hot_new(16, 1024, 9));
}

static void test_skewed_topk(void **state)
{
	size_t n = 200000, len;
	unsigned *draws = zipf_draws(n, 1234);
	unsigned *truth = calloc(NKEYS, sizeof(*truth));
	struct hkvfs_hot *h = hkvfs_hot_new(32, 4096, 4);
	struct hkvfs_hot_entry *top;
	char k[32];
	int got;

	(void)state;
	assert_non_null(h);
	for (size_t j = 0; j < n; j++) {
		key_of(draws[j], k, &len);
		hkvfs_hot_touch(h, k, len);
		truth[draws[j]]++;
	}
	/* a Count-Min estimate never undercounts */
	for (unsigned i = 0; i < NKEYS; i += 7) {
		key_of(i, k, &len);
		assert_true(hkvfs_hot_estimate(h, k, len) >= truth[i]);
	}
	got = hkvfs_hot_snapshot(h, &top);
	assert_int_equal(got, 32);
	/* the ten truly hottest keys (ranks 0..9 of the Zipf law) are all in the top-K */
	for (unsigned i = 0; i < 10; i++) {
		bool found = false;

		key_of(i, k, &len);
		for (int j = 0; j < got; j++)
			found |= top[j].klen == len && !memcmp(top[j].key, k, len);
		assert_true(found);
	}
	/* hottest first, and the first is rank 0 */
	for (int j = 1; j < got; j++)
		assert_true(top[j - 1].count >= top[j].count);
	key_of(0, k, &len);
	assert_int_equal(top[0].klen, len);
	assert_memory_equal(top[0].key, k, len);
	hkvfs_hot_entries_free(top, got);
	free(truth);
	free(draws);
	hkvfs_hot_free(h);
}

static void test_decay_and_forget(void **state)
{
	struct hkvfs_hot *h = hkvfs_hot_new(4, 1024, 4);
	struct hkvfs_hot_entry *top;
	int got;

	(void)state;
	for (int i = 0; i < 100; i++)
		hkvfs_hot_touch(h, "a", 1);
	for (int i = 0; i < 10; i++)
		hkvfs_hot_touch(h, "b", 1);
	assert_int_equal(hkvfs_hot_estimate(h, "a", 1), 100);
	hkvfs_hot_decay(h);
	assert_int_equal(hkvfs_hot_estimate(h, "a", 1), 50);
	assert_int_equal(hkvfs_hot_estimate(h, "b", 1), 5);
	/* a key nobody reads any more cools to zero and leaves the top-K */
	for (int i = 0; i < 4; i++)
		hkvfs_hot_decay(h);
	got = hkvfs_hot_snapshot(h, &top);
	assert_int_equal(got, 1);
	assert_memory_equal(top[0].key, "a", 1);
	assert_int_equal(top[0].count, 3);
	hkvfs_hot_entries_free(top, got);
	hkvfs_hot_forget(h, "a", 1);
	got = hkvfs_hot_snapshot(h, &top);
	assert_int_equal(got, 0);
	assert_null(top);
	/* a full top-K admits a hotter newcomer and drops the weakest */
	for (int i = 0; i < 4; i++) {
		char k = (char)('p' + i);

		for (int j = 0; j <= i; j++)
			hkvfs_hot_touch(h, &k, 1);
	}
	for (int j = 0; j < 10; j++)
		hkvfs_hot_touch(h, "z", 1);
	got = hkvfs_hot_snapshot(h, &top);
	assert_int_equal(got, 4);
	assert_memory_equal(top[0].key, "z", 1);
	for (int j = 0; j < got; j++)
		assert_true(memcmp(top[j].key, "p", 1) != 0);
	hkvfs_hot_entries_free(top, got);
	hkvfs_hot_free(h);
}

struct toucher {
	struct hkvfs_hot *h;
	uint64_t seed;
};

static void *touch_main(void *arg)
{
	struct toucher *t = arg;
	char k[32];
	size_t len;

	for (int i = 0; i < 50000; i++) {
		unsigned r = (unsigned)(test_rng(&t->seed) % 64);

		key_of(r < 32 ? 1 : r, k, &len);
		hkvfs_hot_touch(t->h, k, len);
		if (i % 10000 == 0)
			hkvfs_hot_decay(t->h);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct hkvfs_hot *h = hkvfs_hot_new(8, 1024, 4);
	struct toucher t[4];
	pthread_t th[4];
	struct hkvfs_hot_entry *top;
	char k[32];
	size_t len;
	int got;

	(void)state;
	for (int i = 0; i < 4; i++) {
		t[i].h = h;
		t[i].seed = 99 + (uint64_t)i;
		assert_int_equal(pthread_create(&th[i], NULL, touch_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	got = hkvfs_hot_snapshot(h, &top);
	assert_true(got >= 1 && got <= 8);
	key_of(1, k, &len);
	assert_int_equal(top[0].klen, len);
	assert_memory_equal(top[0].key, k, len);
	hkvfs_hot_entries_free(top, got);
	hkvfs_hot_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_skewed_topk),
		cmocka_unit_test(test_decay_and_forget),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
