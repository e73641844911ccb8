// SPDX-License-Identifier: MIT
/*
 * test_zset.c - sorted sets: ZADD with every option combination, ZINCRBY, ZREM, ZSCORE,
 * ZCARD, ZRANK/ZREVRANK, ZRANGE by rank and by score (exclusive bounds, LIMIT, REV), ZSCAN,
 * errors, long members, persistence, a fixed-seed randomized run against a simple model, and
 * ZSCAN under a concurrent writer.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "colltest.h"

static struct hkv_zrange_opts by_rank(int64_t start, int64_t stop, bool rev)
{
	struct hkv_zrange_opts o = { 0 };

	o.start = start;
	o.stop = stop;
	o.rev = rev;
	o.limit = -1;
	return o;
}

static struct hkv_zrange_opts by_score(double min, bool min_excl, double max, bool max_excl,
				       bool rev, int64_t offset, int64_t limit)
{
	struct hkv_zrange_opts o = { 0 };

	o.by_score = true;
	o.min = min;
	o.max = max;
	o.min_excl = min_excl;
	o.max_excl = max_excl;
	o.rev = rev;
	o.offset = offset;
	o.limit = limit;
	return o;
}

/* Assert that a range returns exactly the NUL-separated members in @want ("a,b,c"). */
static void assert_zrange(struct hkv *db, const char *key, const struct hkv_zrange_opts *o,
			  const char *want)
{
	struct clist l = { 0 };
	char buf[512];
	size_t off = 0;

	assert_int_equal(hkv_zrange(db, S(key), o, clist_z_cb, &l), 0);
	buf[0] = 0;
	for (size_t i = 0; i < l.n; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%.*s", i ? "," : "",
					(int)l.v[i].alen, (char *)l.v[i].a);
	}
	assert_string_equal(buf, want);
	clist_free(&l);
}

static double score_of(struct hkv *db, const char *key, const void *m, size_t mlen)
{
	double s = NAN;

	assert_int_equal(hkv_zscore(db, S(key), m, mlen, &s), 0);
	return s;
}

static void test_zset_basic(void **state)
{
	struct cfix *f = *state;
	struct hkv_attr a;
	double out;
	uint64_t id, v;

	assert_int_equal(hkv_zcard(f->db, S("z")), 0);
	assert_int_equal(hkv_zadd(f->db, S("z"), 2, S("b"), 0, &out, NULL), 1);
	assert_true(out == 2);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("a"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 3, S("c"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_type(f->db, S("z")), HKV_TYPE_ZSET);
	assert_int_equal(hkv_zcard(f->db, S("z")), 3);
	assert_true(score_of(f->db, "z", S("b")) == 2);
	assert_int_equal(hkv_zscore(f->db, S("z"), S("x"), &out), -ENOENT);
	assert_int_equal(hkv_zscore(f->db, S("nokey"), S("x"), &out), -ENOENT);

	assert_int_equal(hkv_attr_get(f->db, S("z"), &a), 0);
	assert_int_equal(a.size, 3);
	v = a.version;
	/* same score: no change at all */
	assert_int_equal(hkv_zadd(f->db, S("z"), 2, S("b"), HKV_ZADD_CH, &out, NULL), 0);
	assert_int_equal(hkv_attr_get(f->db, S("z"), &a), 0);
	assert_int_equal(a.version, v);
	/* new score: 0 without CH, 1 with */
	assert_int_equal(hkv_zadd(f->db, S("z"), 5, S("b"), 0, &out, NULL), 0);
	assert_true(out == 5);
	assert_int_equal(hkv_zadd(f->db, S("z"), 0, S("b"), HKV_ZADD_CH, NULL, NULL), 1);
	assert_int_equal(hkv_attr_get(f->db, S("z"), &a), 0);
	assert_true(a.version > v);
	assert_int_equal(a.size, 3);
	struct hkv_zrange_opts all = by_rank(0, -1, false);
	assert_zrange(f->db, "z", &all, "b,a,c");

	id = key_id(f->db, "z");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 3);
	assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, id), 3);
	assert_int_equal(hkv_zrem(f->db, S("z"), S("a")), 1);
	assert_int_equal(hkv_zrem(f->db, S("z"), S("a")), 0);
	assert_int_equal(hkv_zrem(f->db, S("nokey"), S("a")), 0);
	assert_int_equal(hkv_zcard(f->db, S("z")), 2);
	assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, id), 2);
	assert_int_equal(hkv_zrem(f->db, S("z"), S("b")), 1);
	assert_int_equal(hkv_zrem(f->db, S("z"), S("c")), 1);
	assert_int_equal(hkv_exists(f->db, S("z")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, id), 0);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("a"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zcard(f->db, S("z")), 1);

	/* DEL drops both indexes */
	id = key_id(f->db, "z");
	assert_int_equal(hkv_del(f->db, S("z")), 1);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, id), 0);

	/* the empty member and binary members */
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, "", 0, 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, "\0", 1, 0, NULL, NULL), 1);
	assert_true(score_of(f->db, "z", "", 0) == 1);
	assert_int_equal(hkv_zrank(f->db, S("z"), "\0", 1, false), 1);
}

static void test_zset_flags(void **state)
{
	struct cfix *f = *state;
	static const unsigned bad[] = {
		HKV_ZADD_NX | HKV_ZADD_XX, HKV_ZADD_NX | HKV_ZADD_GT, HKV_ZADD_NX | HKV_ZADD_LT,
		HKV_ZADD_GT | HKV_ZADD_LT, HKV_ZADD_NX | HKV_ZADD_XX | HKV_ZADD_INCR, 1u << 6,
	};
	double out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("m"), bad[i], &out, NULL), -EINVAL);
	assert_int_equal(hkv_zadd(f->db, S("z"), NAN, S("m"), 0, &out, NULL), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_zincrby(f->db, S("z"), NAN, S("m"), &out), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_exists(f->db, S("z")), 0);

	/* XX never adds, and does not create the key */
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("m"), HKV_ZADD_XX, &out, NULL), 0);
	assert_true(isnan(out));
	assert_int_equal(hkv_exists(f->db, S("z")), 0);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("m"), HKV_ZADD_XX | HKV_ZADD_INCR, &out,
				  NULL),
			 0);
	assert_true(isnan(out));
	assert_int_equal(hkv_exists(f->db, S("z")), 0);

	/* NX adds but never updates */
	assert_int_equal(hkv_zadd(f->db, S("z"), 10, S("m"), HKV_ZADD_NX, &out, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 20, S("m"), HKV_ZADD_NX | HKV_ZADD_CH, &out,
				  NULL),
			 0);
	assert_true(out == 10);
	assert_int_equal(hkv_zadd(f->db, S("z"), 5, S("m"), HKV_ZADD_NX | HKV_ZADD_INCR, &out,
				  NULL),
			 0);
	assert_true(isnan(out)); /* nil */
	assert_true(score_of(f->db, "z", S("m")) == 10);

	/* XX updates */
	assert_int_equal(hkv_zadd(f->db, S("z"), 11, S("m"), HKV_ZADD_XX | HKV_ZADD_CH, &out,
				  NULL),
			 1);
	assert_true(score_of(f->db, "z", S("m")) == 11);

	/* GT / LT only move the score in their direction */
	assert_int_equal(hkv_zadd(f->db, S("z"), 5, S("m"), HKV_ZADD_GT | HKV_ZADD_CH, &out,
				  NULL),
			 0);
	assert_true(out == 11);
	assert_int_equal(hkv_zadd(f->db, S("z"), 11, S("m"), HKV_ZADD_GT | HKV_ZADD_CH, &out,
				  NULL),
			 0);
	assert_int_equal(hkv_zadd(f->db, S("z"), 15, S("m"), HKV_ZADD_GT | HKV_ZADD_CH, &out,
				  NULL),
			 1);
	assert_true(score_of(f->db, "z", S("m")) == 15);
	assert_int_equal(hkv_zadd(f->db, S("z"), 20, S("m"), HKV_ZADD_LT, &out, NULL), 0);
	assert_true(score_of(f->db, "z", S("m")) == 15);
	assert_int_equal(hkv_zadd(f->db, S("z"), 12, S("m"), HKV_ZADD_LT, &out, NULL), 0);
	assert_true(score_of(f->db, "z", S("m")) == 12);
	/* ... but do not stop new members from being added */
	assert_int_equal(hkv_zadd(f->db, S("z"), -100, S("g"), HKV_ZADD_GT, &out, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 100, S("l"), HKV_ZADD_LT, &out, NULL), 1);
	/* GT|XX, LT|XX together are allowed */
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("new"), HKV_ZADD_GT | HKV_ZADD_XX, &out,
				  NULL),
			 0);
	assert_int_equal(hkv_zadd(f->db, S("z"), 200, S("l"), HKV_ZADD_GT | HKV_ZADD_XX |
				  HKV_ZADD_CH, &out, NULL),
			 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 0, S("l"), HKV_ZADD_LT | HKV_ZADD_XX, &out,
				  NULL),
			 0);
	assert_true(score_of(f->db, "z", S("l")) == 0);
	assert_int_equal(hkv_zcard(f->db, S("z")), 3);

	/* INCR */
	assert_int_equal(hkv_zadd(f->db, S("z"), 2.5, S("i"), HKV_ZADD_INCR, &out, NULL), 1);
	assert_true(out == 2.5);
	assert_int_equal(hkv_zadd(f->db, S("z"), 2.5, S("i"), HKV_ZADD_INCR, &out, NULL), 0);
	assert_true(out == 5);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("i"), HKV_ZADD_INCR | HKV_ZADD_CH, &out,
				  NULL),
			 1);
	assert_true(out == 6);
	assert_int_equal(hkv_zadd(f->db, S("z"), -1, S("i"), HKV_ZADD_INCR | HKV_ZADD_GT, &out,
				  NULL),
			 0);
	assert_true(isnan(out));
	assert_int_equal(hkv_zadd(f->db, S("z"), 0, S("i"), HKV_ZADD_INCR | HKV_ZADD_CH, &out,
				  NULL),
			 0);
	assert_true(out == 6); /* unchanged, but not nil */
	assert_int_equal(hkv_zadd(f->db, S("z"), -1, S("i"), HKV_ZADD_INCR | HKV_ZADD_LT, &out,
				  NULL),
			 0);
	assert_true(out == 5);
	assert_int_equal(hkv_zincrby(f->db, S("z"), 10, S("i"), &out), 0);
	assert_true(out == 15);
	assert_int_equal(hkv_zincrby(f->db, S("z"), -3, S("j"), &out), 0);
	assert_true(out == -3);
	assert_true(score_of(f->db, "z", S("j")) == -3);

	/* infinities are scores; inf - inf is not */
	assert_int_equal(hkv_zadd(f->db, S("z"), INFINITY, S("inf"), 0, &out, NULL), 1);
	assert_int_equal(hkv_zincrby(f->db, S("z"), -INFINITY, S("inf"), &out), -HKV_ENOSCORE);
	assert_int_equal(hkv_zadd(f->db, S("z"), -INFINITY, S("inf"), HKV_ZADD_INCR, &out,
				  NULL),
			 -HKV_ENOSCORE);
	assert_true(isinf(score_of(f->db, "z", S("inf"))));
	assert_int_equal(hkv_zincrby(f->db, S("z"), 1, S("inf"), &out), 0);
	assert_true(isinf(out) && out > 0);
}

static void test_zset_errors(void **state)
{
	struct cfix *f = *state;
	struct hkv_zrange_opts o = by_rank(0, -1, false);
	char big[HKV_KEY_MAX + 1];
	struct hkv_cursor cur;
	struct clist l = { 0 };
	double out;

	memset(big, 'z', sizeof(big));
	assert_int_equal(hkv_set(f->db, S("str"), S("x"), NULL), 1);
	assert_int_equal(hkv_rpush(f->db, S("list"), S("x"), NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("str"), 1, S("m"), 0, &out, NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zadd(f->db, S("list"), 1, S("m"), HKV_ZADD_XX, &out, NULL),
			 -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zincrby(f->db, S("list"), 1, S("m"), &out), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zrem(f->db, S("str"), S("m")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zscore(f->db, S("list"), S("m"), &out), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zcard(f->db, S("str")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zrank(f->db, S("list"), S("m"), false), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zrange(f->db, S("str"), &o, clist_z_cb, &l), -HKV_EWRONGTYPE);
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_zscan(f->db, S("list"), &cur, NULL, 0, clist_z_cb, &l),
			 -HKV_EWRONGTYPE);
	assert_int_equal(l.n, 0);
	assert_int_equal(hkv_llen(f->db, S("list")), 1);

	assert_int_equal(hkv_zadd(f->db, "", 0, 1, S("m"), 0, &out, NULL), -EINVAL);
	assert_int_equal(hkv_zadd(f->db, big, sizeof(big), 1, S("m"), 0, &out, NULL), -EINVAL);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, big, sizeof(big), 0, &out, NULL), -EINVAL);
	assert_int_equal(hkv_zincrby(f->db, S("z"), 1, big, sizeof(big), &out), -EINVAL);
	assert_int_equal(hkv_zrem(f->db, S("z"), big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_zscore(f->db, S("z"), big, sizeof(big), &out), -EINVAL);
	assert_int_equal(hkv_zrank(f->db, S("z"), big, sizeof(big), true), -EINVAL);
	assert_int_equal(hkv_zcard(f->db, "", 0), -EINVAL);
	assert_int_equal(hkv_zrange(f->db, "", 0, &o, clist_z_cb, &l), -EINVAL);
	assert_int_equal(hkv_exists(f->db, S("z")), 0);

	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("m"), 0, &out, NULL), 1);
	o = by_score(NAN, false, 1, false, false, 0, -1);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), -HKV_ENOTFLOAT);
	o = by_score(0, false, NAN, false, false, 0, -1);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_zrank(f->db, S("z"), S("x"), false), -ENOENT);
	assert_int_equal(hkv_zrank(f->db, S("nokey"), S("m"), false), -ENOENT);
	assert_int_equal(l.n, 0);
}

static void test_zset_rank_range(void **state)
{
	struct cfix *f = *state;
	struct hkv_zrange_opts o;
	struct clist l = { 0 };

	/* scores with ties: ties are ordered by member bytes */
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("a"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 2, S("c"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 2, S("b"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 2, S("bb"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), -1.5, S("n"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), INFINITY, S("pinf"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), -INFINITY, S("ninf"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 3, S("d"), 0, NULL, NULL), 1);
	/* ninf n a b bb c d pinf */
	static const char *order[] = { "ninf", "n", "a", "b", "bb", "c", "d", "pinf" };
	for (int i = 0; i < 8; i++) {
		assert_int_equal(hkv_zrank(f->db, S("z"), S(order[i]), false), i);
		assert_int_equal(hkv_zrank(f->db, S("z"), S(order[i]), true), 7 - i);
	}

	o = by_rank(0, -1, false);
	assert_zrange(f->db, "z", &o, "ninf,n,a,b,bb,c,d,pinf");
	o = by_rank(0, -1, true);
	assert_zrange(f->db, "z", &o, "pinf,d,c,bb,b,a,n,ninf");
	o = by_rank(2, 4, false);
	assert_zrange(f->db, "z", &o, "a,b,bb");
	o = by_rank(2, 4, true);
	assert_zrange(f->db, "z", &o, "c,bb,b");
	o = by_rank(-2, -1, false);
	assert_zrange(f->db, "z", &o, "d,pinf");
	o = by_rank(-100, 0, false);
	assert_zrange(f->db, "z", &o, "ninf");
	o = by_rank(6, 100, false);
	assert_zrange(f->db, "z", &o, "d,pinf");
	o = by_rank(6, 100, true);
	assert_zrange(f->db, "z", &o, "n,ninf");
	o = by_rank(5, 4, false);
	assert_zrange(f->db, "z", &o, "");
	o = by_rank(8, 9, false);
	assert_zrange(f->db, "z", &o, "");
	o = by_rank(-1, -2, false);
	assert_zrange(f->db, "z", &o, "");
	o = by_rank(INT64_MIN, INT64_MAX, false);
	assert_zrange(f->db, "z", &o, "ninf,n,a,b,bb,c,d,pinf");
	o = by_rank(0, -1, false);
	o.limit = 0; /* LIMIT is ignored by rank */
	assert_zrange(f->db, "z", &o, "ninf,n,a,b,bb,c,d,pinf");

	o = by_score(2, false, 2, false, false, 0, -1);
	assert_zrange(f->db, "z", &o, "b,bb,c");
	o = by_score(2, true, 3, false, false, 0, -1);
	assert_zrange(f->db, "z", &o, "d");
	o = by_score(1, false, 3, true, false, 0, -1);
	assert_zrange(f->db, "z", &o, "a,b,bb,c");
	o = by_score(1, true, 3, true, false, 0, -1);
	assert_zrange(f->db, "z", &o, "b,bb,c");
	o = by_score(2, true, 2, false, false, 0, -1);
	assert_zrange(f->db, "z", &o, "");
	o = by_score(3, false, 2, false, false, 0, -1);
	assert_zrange(f->db, "z", &o, "");
	o = by_score(-INFINITY, false, INFINITY, false, false, 0, -1);
	assert_zrange(f->db, "z", &o, "ninf,n,a,b,bb,c,d,pinf");
	o = by_score(-INFINITY, true, INFINITY, true, false, 0, -1);
	assert_zrange(f->db, "z", &o, "n,a,b,bb,c,d");
	o = by_score(-INFINITY, false, INFINITY, false, true, 0, -1);
	assert_zrange(f->db, "z", &o, "pinf,d,c,bb,b,a,n,ninf");
	o = by_score(1, false, 3, false, true, 0, -1);
	assert_zrange(f->db, "z", &o, "d,c,bb,b,a");
	o = by_score(1, true, 3, true, true, 0, -1);
	assert_zrange(f->db, "z", &o, "c,bb,b");
	o = by_score(-2, false, 0, false, true, 0, -1);
	assert_zrange(f->db, "z", &o, "n");
	/* LIMIT offset count */
	o = by_score(-INFINITY, false, INFINITY, false, false, 2, 3);
	assert_zrange(f->db, "z", &o, "a,b,bb");
	o = by_score(-INFINITY, false, INFINITY, false, true, 2, 3);
	assert_zrange(f->db, "z", &o, "c,bb,b");
	o = by_score(2, false, 3, false, false, 1, -5);
	assert_zrange(f->db, "z", &o, "bb,c,d");
	o = by_score(2, false, 3, false, false, 3, 10);
	assert_zrange(f->db, "z", &o, "d");
	o = by_score(2, false, 3, false, false, 4, 10);
	assert_zrange(f->db, "z", &o, "");
	o = by_score(2, false, 3, false, false, 0, 0);
	assert_zrange(f->db, "z", &o, "");
	o = by_score(2, false, 3, false, false, -1, 10);
	assert_zrange(f->db, "z", &o, "");

	/* scores reported with members; a stopping callback */
	o = by_score(2, false, 2, false, false, 0, -1);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].score == 2);
	clist_free(&l);
	l.stop_after = 2;
	o = by_rank(0, -1, true);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), 7);
	assert_int_equal(l.n, 2);
	clist_free(&l);
	o = by_rank(0, -1, false);
	assert_int_equal(hkv_zrange(f->db, S("nokey"), &o, clist_z_cb, &l), 0);
	assert_int_equal(l.n, 0);

	/* -0.0 and 0.0 are the same score */
	assert_int_equal(hkv_zadd(f->db, S("zero"), -0.0, S("a"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("zero"), 0.0, S("a"), HKV_ZADD_CH, NULL, NULL), 0);
	assert_int_equal(hkv_zadd(f->db, S("zero"), 0.0, S("b"), 0, NULL, NULL), 1);
	o = by_score(-0.0, false, 0.0, false, false, 0, -1);
	assert_zrange(f->db, "zero", &o, "a,b");
	o = by_score(0.0, true, 1, false, false, 0, -1);
	assert_zrange(f->db, "zero", &o, "");
	o = by_score(-1, false, -0.0, true, true, 0, -1);
	assert_zrange(f->db, "zero", &o, "");
}

static void test_zset_long_members(void **state)
{
	struct cfix *f = *state;
	static const size_t lens[] = { 448, 449, 600, 4096 };
	enum { N = 4, PER = 3 };
	unsigned char *m[N * PER];
	struct hkv_zrange_opts o;
	struct hkv_cursor cur;
	struct clist l = { 0 };
	int64_t r;
	size_t i, j;
	double out;

	/* all with the same score and the same first 448 bytes */
	for (i = 0; i < N * PER; i++) {
		m[i] = long_member(lens[i / PER], 'L', (uint32_t)(i + 1) * 2654435761u);
		assert_int_equal(hkv_zadd(f->db, S("z"), 7, m[i], lens[i / PER], 0, &out, NULL),
				 1);
	}
	assert_int_equal(hkv_zadd(f->db, S("z"), 6, S("low"), 0, &out, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 8, S("high"), 0, &out, NULL), 1);
	cfix_reopen(f);
	assert_int_equal(hkv_zcard(f->db, S("z")), N * PER + 2);
	o = by_rank(0, -1, false);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), 0);
	assert_int_equal(l.n, N * PER + 2);
	assert_true(citem_is(&l.v[0], S("low")));
	assert_true(citem_is(&l.v[l.n - 1], S("high")));
	for (i = 0; i < N * PER; i++) {
		for (j = 0; j < l.n; j++)
			if (citem_is(&l.v[j], m[i], lens[i / PER]))
				break;
		assert_true(j > 0 && j < l.n - 1);
		assert_true(l.v[j].score == 7);
		/* the rank agrees with the range order */
		r = hkv_zrank(f->db, S("z"), m[i], lens[i / PER], false);
		assert_int_equal(r, (int64_t)j);
		assert_int_equal(hkv_zrank(f->db, S("z"), m[i], lens[i / PER], true),
				 (int64_t)(l.n - 1 - j));
	}
	clist_free(&l);
	o = by_score(7, false, 7, false, true, 1, 3);
	assert_int_equal(hkv_zrange(f->db, S("z"), &o, clist_z_cb, &l), 0);
	assert_int_equal(l.n, 3);
	clist_free(&l);

	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_zscan(f->db, S("z"), &cur, "L*", 3, clist_z_cb, &l) >= 0);
	assert_int_equal(l.n, N * PER);
	for (i = 0; i < l.n; i++)
		assert_true(l.v[i].score == 7);
	clist_free(&l);

	assert_int_equal(hkv_zincrby(f->db, S("z"), 1.5, m[N * PER - 1], 4096, &out), 0);
	assert_true(out == 8.5);
	assert_int_equal(hkv_zrank(f->db, S("z"), m[N * PER - 1], 4096, true), 0);
	for (i = 0; i < N * PER; i++)
		assert_int_equal(hkv_zrem(f->db, S("z"), m[i], lens[i / PER]), 1);
	assert_int_equal(hkv_zcard(f->db, S("z")), 2);
	assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, key_id(f->db, "z")), 2);
	for (i = 0; i < N * PER; i++)
		free(m[i]);
}

static void test_zset_persist_scan(void **state)
{
	struct cfix *f = *state;
	struct hkv_create_attr ca = { 0400, 1, 2 };
	struct hkv_cursor cur;
	struct clist l = { 0 };
	struct hkv_attr a;
	char mem[16];
	int calls = 0;

	for (int i = 0; i < 300; i++) {
		snprintf(mem, sizeof(mem), "m%03d", i);
		assert_int_equal(hkv_zadd(f->db, S("z"), 300 - i, S(mem), 0, NULL, i ? NULL : &ca),
				 1);
	}
	cfix_reopen(f);
	assert_int_equal(hkv_attr_get(f->db, S("z"), &a), 0);
	assert_int_equal(a.mode, 0400);
	assert_int_equal(a.size, 300);
	assert_int_equal(hkv_zrank(f->db, S("z"), S("m000"), false), 299);
	assert_int_equal(hkv_zrank(f->db, S("z"), S("m150"), false), 149);
	/* ZSCAN walks member order and survives a reopen mid-way */
	hkv_cursor_init(&cur);
	while (!cur.done) {
		if (++calls == 10)
			cfix_reopen(f);
		assert_true(hkv_zscan(f->db, S("z"), &cur, NULL, 16, clist_z_cb, &l) >= 0);
	}
	assert_int_equal(l.n, 300);
	for (size_t i = 0; i < l.n; i++) {
		snprintf(mem, sizeof(mem), "m%03zu", i % 1000);
		assert_true(citem_is(&l.v[i], S(mem)));
		assert_true(l.v[i].score == 300 - (double)i);
	}
	clist_free(&l);
	/* expiry */
	assert_int_equal(hkv_pexpire(f->db, S("z"), 5, 0), 1);
	f->clk.now += 5;
	assert_int_equal(hkv_zcard(f->db, S("z")), 0);
	assert_int_equal(hkv_zrank(f->db, S("z"), S("m000"), false), -ENOENT);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("x"), HKV_ZADD_XX, NULL, NULL), 0);
	assert_int_equal(hkv_exists(f->db, S("z")), 0);
}

/* The model: members "m0".."m39" with a score, or absent. */
struct zmodel {
	bool in[40];
	double s[40];
};

static int zm_cmp(const struct zmodel *m, int a, int b)
{
	char ma[8], mb[8];

	if (m->s[a] != m->s[b])
		return m->s[a] < m->s[b] ? -1 : 1;
	snprintf(ma, sizeof(ma), "m%d", a);
	snprintf(mb, sizeof(mb), "m%d", b);
	return strcmp(ma, mb);
}

/* Members of the model in score order. Return: count. */
static size_t zm_sorted(const struct zmodel *m, int *out)
{
	size_t n = 0;

	for (int i = 0; i < 40; i++) {
		if (!m->in[i])
			continue;
		size_t j = n++;

		while (j > 0 && zm_cmp(m, out[j - 1], i) > 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return n;
}

static void zm_expect(struct cfix *f, const struct hkv_zrange_opts *o, const int *want,
		      size_t n)
{
	struct clist l = { 0 };
	char mem[8];

	assert_int_equal(hkv_zrange(f->db, S("r"), o, clist_z_cb, &l), 0);
	assert_int_equal(l.n, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(mem, sizeof(mem), "m%d", want[i]);
		assert_true(citem_is(&l.v[i], S(mem)));
	}
	clist_free(&l);
}

static void test_zset_random_model(void **state)
{
	static const double scores[] = { -INFINITY, -2, -0.5, 0, 1, 1, 3, 3.25, 7, INFINITY };
	static const unsigned flagsets[] = { 0,
					     HKV_ZADD_NX,
					     HKV_ZADD_XX,
					     HKV_ZADD_GT,
					     HKV_ZADD_LT,
					     HKV_ZADD_CH,
					     HKV_ZADD_INCR,
					     HKV_ZADD_XX | HKV_ZADD_GT | HKV_ZADD_CH,
					     HKV_ZADD_XX | HKV_ZADD_LT,
					     HKV_ZADD_NX | HKV_ZADD_INCR,
					     HKV_ZADD_GT | HKV_ZADD_INCR | HKV_ZADD_CH,
					     HKV_ZADD_LT | HKV_ZADD_INCR };
	struct cfix *f = *state;
	struct zmodel m = { 0 };
	uint64_t rng = 0x2a2a2a2a;
	int sorted[40], want[40];
	char mem[8];

	for (int step = 0; step < 4000; step++) {
		unsigned op = (unsigned)(test_rng(&rng) % 6);
		int k = (int)(test_rng(&rng) % 40);
		double sc = scores[test_rng(&rng) % 10];
		size_t n = zm_sorted(&m, sorted), w = 0;
		struct hkv_zrange_opts o;
		double out;

		snprintf(mem, sizeof(mem), "m%d", k);
		switch (op) {
		case 0:
		case 1: {
			unsigned fl = flagsets[test_rng(&rng) % 12];
			bool incr = fl & HKV_ZADD_INCR;
			int rc = hkv_zadd(f->db, S("r"), sc, S(mem), fl, &out, NULL), want_rc = 0;
			double ns = sc, want_out = NAN;

			if (!m.in[k]) {
				if (!(fl & HKV_ZADD_XX)) {
					m.in[k] = true;
					m.s[k] = sc;
					want_rc = 1;
					want_out = sc;
				}
			} else if (!(fl & HKV_ZADD_NX)) {
				ns = incr ? m.s[k] + sc : sc;
				if (isnan(ns)) {
					assert_int_equal(rc, -HKV_ENOSCORE);
					break;
				}
				if (!(((fl & HKV_ZADD_GT) && ns <= m.s[k]) ||
				      ((fl & HKV_ZADD_LT) && ns >= m.s[k]))) {
					want_rc = (fl & HKV_ZADD_CH) && ns != m.s[k];
					m.s[k] = ns;
					want_out = ns;
				} else if (!incr) {
					want_out = m.s[k];
				}
			} else if (!incr) {
				want_out = m.s[k];
			}
			assert_int_equal(rc, want_rc);
			assert_true(isnan(want_out) ? isnan(out) : out == want_out);
			break;
		}
		case 2:
			assert_int_equal(hkv_zrem(f->db, S("r"), S(mem)), m.in[k]);
			m.in[k] = false;
			break;
		case 3:
			if (!m.in[k]) {
				assert_int_equal(hkv_zrank(f->db, S("r"), S(mem), false), -ENOENT);
				break;
			}
			for (w = 0; sorted[w] != k; w++)
				;
			assert_int_equal(hkv_zrank(f->db, S("r"), S(mem), false), (int64_t)w);
			assert_int_equal(hkv_zrank(f->db, S("r"), S(mem), true),
					 (int64_t)(n - 1 - w));
			assert_true(score_of(f->db, "r", S(mem)) == m.s[k]);
			break;
		case 4: {
			int64_t a = (int64_t)(test_rng(&rng) % 50) - 25;
			int64_t b = (int64_t)(test_rng(&rng) % 50) - 25;
			bool rev = test_rng(&rng) & 1;

			o = by_rank(a, b, rev);
			if (a < 0)
				a += (int64_t)n;
			if (b < 0)
				b += (int64_t)n;
			if (a < 0)
				a = 0;
			if (b >= (int64_t)n)
				b = (int64_t)n - 1;
			for (int64_t i = a; i <= b && a < (int64_t)n; i++)
				want[w++] = rev ? sorted[n - 1 - (size_t)i] : sorted[i];
			zm_expect(f, &o, want, w);
			break;
		}
		case 5: {
			double lo = scores[test_rng(&rng) % 10], hi = scores[test_rng(&rng) % 10];
			bool lx = test_rng(&rng) & 1, hx = test_rng(&rng) & 1;
			bool rev = test_rng(&rng) & 1;
			int64_t off = (int64_t)(test_rng(&rng) % 4) - 1;
			int64_t lim = (int64_t)(test_rng(&rng) % 6) - 1;
			int64_t skip = off, left = lim;

			o = by_score(lo, lx, hi, hx, rev, off, lim);
			for (size_t i = 0; i < n && off >= 0; i++) {
				int x = sorted[rev ? n - 1 - i : i];
				double s = m.s[x];

				if (!(lx ? s > lo : s >= lo) || !(hx ? s < hi : s <= hi))
					continue;
				if (skip > 0) {
					skip--;
					continue;
				}
				if (!left)
					break;
				want[w++] = x;
				if (left > 0)
					left--;
			}
			zm_expect(f, &o, want, w);
			break;
		}
		}
		if (step % 50 == 0) {
			n = zm_sorted(&m, sorted);
			assert_int_equal(hkv_zcard(f->db, S("r")), (int64_t)n);
			assert_int_equal(hkv_exists(f->db, S("r")), n > 0);
			o = by_rank(0, -1, false);
			zm_expect(f, &o, sorted, n);
			if (n) {
				uint64_t id = key_id(f->db, "r");

				assert_int_equal(count_id_records(f->db, f->db->dbi_zidx, id), n);
				assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), n);
			}
		}
		if (step == 2000)
			cfix_reopen(f);
	}
}

struct zscan_writer {
	struct hkv *db;
	atomic_bool stop;
	int rc;
	unsigned rounds;
};

static void *zscan_writer_main(void *arg)
{
	struct zscan_writer *w = arg;
	uint64_t rng = 999;
	char mem[16];

	while (!atomic_load(&w->stop) || w->rounds < 50) {
		unsigned k = (unsigned)(test_rng(&rng) % 400);

		snprintf(mem, sizeof(mem), "m%03u+", k);
		switch (test_rng(&rng) % 3) {
		case 0:
			w->rc = hkv_zadd(w->db, S("z"), (double)(test_rng(&rng) % 100), S(mem), 0,
					 NULL, NULL);
			break;
		case 1:
			w->rc = hkv_zrem(w->db, S("z"), S(mem));
			break;
		default:
			/* stable members change score: ZSCAN must still see them once */
			snprintf(mem, sizeof(mem), "m%03u", k);
			w->rc = hkv_zadd(w->db, S("z"), (double)(test_rng(&rng) % 100), S(mem),
					 HKV_ZADD_XX, NULL, NULL);
			break;
		}
		if (w->rc < 0)
			break;
		w->rounds++;
	}
	return NULL;
}

static void test_zset_scan_concurrent(void **state)
{
	struct cfix *f = *state;
	enum { N = 400 };
	struct zscan_writer w = { .db = f->db };
	unsigned char seen[N];
	struct hkv_cursor cur;
	struct clist l = { 0 };
	pthread_t th;
	char mem[16];

	for (int i = 0; i < N; i++) {
		snprintf(mem, sizeof(mem), "m%03d", i);
		assert_int_equal(hkv_zadd(f->db, S("z"), i, S(mem), 0, NULL, NULL), 1);
	}
	atomic_init(&w.stop, false);
	assert_int_equal(pthread_create(&th, NULL, zscan_writer_main, &w), 0);
	for (int round = 0; round < 3; round++) {
		memset(seen, 0, sizeof(seen));
		hkv_cursor_init(&cur);
		for (unsigned j = 0; !cur.done; j++) {
			assert_true(hkv_zscan(f->db, S("z"), &cur, NULL, 6, clist_z_cb, &l) >= 0);
			/* and a deterministic interleaving from this thread */
			snprintf(mem, sizeof(mem), "m%03u", (j * 37) % N);
			assert_true(hkv_zincrby(f->db, S("z"), 1000, S(mem), NULL) >= 0);
			snprintf(mem, sizeof(mem), "m%03u+", (j * 53) % N);
			assert_true(hkv_zrem(f->db, S("z"), S(mem)) >= 0);
		}
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].alen != 4)
				continue;
			int k = atoi((char *)l.v[i].a + 1);

			assert_int_equal(seen[k], 0);
			seen[k] = 1;
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(seen[i], 1);
		clist_free(&l);
	}
	atomic_store(&w.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(w.rc >= 0);
	assert_int_equal(hkv_zcard(f->db, S("z")),
			 (int64_t)count_id_records(f->db, f->db->dbi_zidx, key_id(f->db, "z")));
}


struct zw {
	int n;
	char names[64][16];
	double scores[64];
	int again_at; /* return HKV_SCAN_AGAIN once at this index (-1: never) */
};

static int zw_cb(void *arg, const void *member, size_t mlen, double score)
{
	struct zw *z = arg;

	if (z->n == z->again_at) {
		z->again_at = -1;
		return HKV_SCAN_AGAIN;
	}
	assert_true(z->n < 64 && mlen < 16);
	memcpy(z->names[z->n], member, mlen);
	z->names[z->n][mlen] = 0;
	z->scores[z->n] = score;
	z->n++;
	return 0;
}

/* The score-ordered walk: ZRANGE order, any count per call, resumable, linear. */
static void test_zset_walk(void **state)
{
	struct cfix *f = *state;
	struct hkv_cursor cur;
	struct zw z = { .again_at = -1 };
	char m[16];
	int calls = 0;

	hkv_cursor_init(&cur);
	assert_int_equal(hkv_zwalk(f->db, S("none"), &cur, 5, zw_cb, &z), 0);
	assert_true(cur.done);
	for (int i = 0; i < 40; i++) {
		snprintf(m, sizeof(m), "m%02d", i);
		/* scores repeat, so member order breaks ties */
		assert_int_equal(hkv_zadd(f->db, S("z"), (double)((i * 7) % 10) - 3.5, m,
					  strlen(m), 0, NULL, NULL), 1);
	}
	hkv_cursor_init(&cur);
	z.again_at = 11;
	while (!cur.done) {
		char tok[2 * HKV_CURSOR_MAX + 2];

		assert_true(hkv_zwalk(f->db, S("z"), &cur, 3, zw_cb, &z) >= 0);
		hkv_cursor_encode(&cur, tok);
		assert_int_equal(hkv_cursor_decode(tok, &cur), 0);
		if (!strcmp(tok, "0"))
			break;
		assert_true(++calls < 100);
	}
	assert_int_equal(z.n, 40);
	for (int i = 1; i < 40; i++)
		assert_true(z.scores[i - 1] < z.scores[i] ||
			    (z.scores[i - 1] == z.scores[i] &&
			     strcmp(z.names[i - 1], z.names[i]) < 0));
	/* the same as ZRANGE 0 -1 */
	struct hkv_zrange_opts o = { .start = 0, .stop = -1, .limit = -1 };
	struct zw r = { .again_at = -1 };

	assert_int_equal(hkv_zrange(f->db, S("z"), &o, zw_cb, &r), 0);
	assert_int_equal(r.n, 40);
	for (int i = 0; i < 40; i++)
		assert_string_equal(r.names[i], z.names[i]);
	/* wrong type and bad cursors */
	assert_int_equal(hkv_set(f->db, S("str"), "v", 1, NULL), 1);
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_zwalk(f->db, S("str"), &cur, 3, zw_cb, &z), -HKV_EWRONGTYPE);
	cur.len = HKV_CURSOR_MAX;
	assert_int_equal(hkv_zwalk(f->db, S("z"), &cur, 3, zw_cb, &z), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zset_basic, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_walk, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_flags, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_errors, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_rank_range, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_long_members, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_persist_scan, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_random_model, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_zset_scan_concurrent, cfix_setup,
						cfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
