// SPDX-License-Identifier: MIT
/*
 * test_string.c - the string commands: SET options, GET, ranges, APPEND, SETRANGE, truncate,
 * INCRBY/INCRBYFLOAT parsing and formatting, limits, long keys, value-log values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct fx {
	char *dir;
	struct hkv *db;
	struct test_clock clk;
	struct hkv_options opt;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->clk.now = 1700000000000;
	f->dir = test_mkdtemp("string");
	test_options(&f->opt, &f->clk);
	f->opt.inline_max = 64; /* so medium values go through the value log */
	f->db = test_open(f->dir, &f->opt);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hkv_close(f->db), 0);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void assert_value(struct hkv *db, const char *key, const void *want, size_t wlen)
{
	struct hkv_buf b;

	assert_int_equal(hkv_get(db, key, strlen(key), &b), 0);
	assert_int_equal(b.len, wlen);
	assert_memory_equal(b.data, want, wlen);
	assert_int_equal(((char *)b.data)[wlen], 0);
	hkv_buf_release(&b);
}

static void test_set_get(void **state)
{
	struct fx *f = *state;
	struct hkv_buf b;

	assert_int_equal(hkv_set(f->db, "k", 1, "v1", 2, NULL), 1);
	assert_value(f->db, "k", "v1", 2);
	assert_int_equal(hkv_set(f->db, "k", 1, "", 0, NULL), 1);
	assert_value(f->db, "k", "", 0);
	assert_int_equal(hkv_get(f->db, "nope", 4, &b), -ENOENT);
	assert_null(b.data);
	/* binary keys and values with NUL bytes */
	assert_int_equal(hkv_set(f->db, "a\0b", 3, "x\0y", 3, NULL), 1);
	assert_int_equal(hkv_get(f->db, "a\0b", 3, &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "x\0y", 3);
	hkv_buf_release(&b);
	assert_int_equal(hkv_get(f->db, "a", 1, &b), -ENOENT);
}

static void test_set_flags(void **state)
{
	struct fx *f = *state;
	struct hkv_buf old = { 0 };
	struct hkv_set_opts o = { 0 };

	o.flags = HKV_SET_XX;
	assert_int_equal(hkv_set(f->db, "k", 1, "a", 1, &o), 0);
	assert_int_equal(hkv_exists(f->db, "k", 1), 0);
	o.flags = HKV_SET_NX;
	assert_int_equal(hkv_set(f->db, "k", 1, "a", 1, &o), 1);
	assert_int_equal(hkv_set(f->db, "k", 1, "b", 1, &o), 0);
	assert_value(f->db, "k", "a", 1);
	o.flags = HKV_SET_XX;
	assert_int_equal(hkv_set(f->db, "k", 1, "c", 1, &o), 1);
	assert_value(f->db, "k", "c", 1);

	/* EX then plain SET clears the TTL; KEEPTTL keeps it */
	o.flags = HKV_SET_EXPIRE;
	o.expire_at = f->clk.now + 10000;
	assert_int_equal(hkv_set(f->db, "k", 1, "d", 1, &o), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), 10000);
	o.flags = HKV_SET_KEEPTTL;
	assert_int_equal(hkv_set(f->db, "k", 1, "e", 1, &o), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), 10000);
	assert_int_equal(hkv_set(f->db, "k", 1, "f", 1, NULL), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), -1);

	/* GET returns the old value */
	o.flags = 0;
	o.old = &old;
	assert_int_equal(hkv_set(f->db, "k", 1, "g", 1, &o), 1);
	assert_int_equal(old.len, 1);
	assert_memory_equal(old.data, "f", 1);
	hkv_buf_release(&old);
	assert_int_equal(hkv_set(f->db, "new", 3, "g", 1, &o), 1);
	assert_null(old.data);

	/* invalid combinations */
	o.old = NULL;
	o.flags = HKV_SET_NX | HKV_SET_XX;
	assert_int_equal(hkv_set(f->db, "k", 1, "z", 1, &o), -EINVAL);
	o.flags = HKV_SET_KEEPTTL | HKV_SET_EXPIRE;
	assert_int_equal(hkv_set(f->db, "k", 1, "z", 1, &o), -EINVAL);
	o.flags = HKV_SET_EXPIRE;
	o.expire_at = 0;
	assert_int_equal(hkv_set(f->db, "k", 1, "z", 1, &o), -EINVAL);
	o.flags = 1u << 20;
	assert_int_equal(hkv_set(f->db, "k", 1, "z", 1, &o), -EINVAL);
	assert_value(f->db, "k", "g", 1);
}

static void test_wrongtype(void **state)
{
	struct fx *f = *state;
	struct hkv_buf b = { 0 };
	struct hkv_set_opts o = { .old = &b };
	int64_t n;

	assert_int_equal(hkv_create(f->db, "h", 1, HKV_TYPE_HASH, NULL), 0);
	assert_int_equal(hkv_get(f->db, "h", 1, &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_append(f->db, "h", 1, "x", 1, NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_incrby(f->db, "h", 1, 1, &n), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_strlen(f->db, "h", 1), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_set(f->db, "h", 1, "x", 1, &o), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_type(f->db, "h", 1), HKV_TYPE_HASH);
	/* plain SET replaces a value of any type */
	assert_int_equal(hkv_set(f->db, "h", 1, "x", 1, NULL), 1);
	assert_int_equal(hkv_type(f->db, "h", 1), HKV_TYPE_STRING);
	assert_value(f->db, "h", "x", 1);
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	char *big = malloc(HKV_KEY_MAX + 2);
	struct hkv_buf b;

	memset(big, 'k', HKV_KEY_MAX + 1);
	assert_int_equal(hkv_set(f->db, "", 0, "v", 1, NULL), -EINVAL);
	assert_int_equal(hkv_get(f->db, "", 0, &b), -EINVAL);
	assert_int_equal(hkv_set(f->db, big, HKV_KEY_MAX + 1, "v", 1, NULL), -EINVAL);
	/* the size check comes before the value is touched */
	assert_int_equal(hkv_set(f->db, "k", 1, big, (size_t)HKV_VALUE_MAX + 1, NULL), -EFBIG);
	assert_int_equal(hkv_setrange(f->db, "k", 1, HKV_VALUE_MAX, "x", 1, NULL), -EFBIG);
	assert_int_equal(hkv_truncate(f->db, "k", 1, (uint64_t)HKV_VALUE_MAX + 1), -EFBIG);
	assert_int_equal(hkv_exists(f->db, "k", 1), 0);
	/* the longest key works */
	assert_int_equal(hkv_set(f->db, big, HKV_KEY_MAX, "v", 1, NULL), 1);
	assert_int_equal(hkv_get(f->db, big, HKV_KEY_MAX, &b), 0);
	assert_memory_equal(b.data, "v", 1);
	hkv_buf_release(&b);
	free(big);
}

/* Keys longer than the ordering prefix, sharing it, differing only in their tails. */
static void test_long_keys(void **state)
{
	struct fx *f = *state;
	size_t lens[] = { 447, 448, 449, 450, 511, 512, 1000, 4095, 4096 };
	char key[HKV_KEY_MAX];
	char val[32];

	memset(key, 'p', sizeof(key));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int t = 0; t < 3; t++) {
			key[lens[i] - 1] = (char)('a' + t);
			snprintf(val, sizeof(val), "%zu-%d", lens[i], t);
			assert_int_equal(hkv_set(f->db, key, lens[i], val, strlen(val), NULL), 1);
		}
		key[lens[i] - 1] = 'p';
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int t = 0; t < 3; t++) {
			struct hkv_buf b;

			key[lens[i] - 1] = (char)('a' + t);
			snprintf(val, sizeof(val), "%zu-%d", lens[i], t);
			assert_int_equal(hkv_get(f->db, key, lens[i], &b), 0);
			assert_int_equal(b.len, strlen(val));
			assert_memory_equal(b.data, val, b.len);
			hkv_buf_release(&b);
		}
		key[lens[i] - 1] = 'p';
	}
	/* a long key differing from another only in its last byte is a different key */
	key[4095] = 'z';
	assert_int_equal(hkv_exists(f->db, key, 4096), 0);
	key[4095] = 'a';
	assert_int_equal(hkv_del(f->db, key, 4096), 1);
	assert_int_equal(hkv_exists(f->db, key, 4096), 0);
	key[4095] = 'b';
	assert_int_equal(hkv_exists(f->db, key, 4096), 1);
}

static void test_vlog_values(void **state)
{
	struct fx *f = *state;
	size_t sizes[] = { 64, 65, 1000, 70000, 1 << 20 };
	uint64_t seed = 42;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *v = malloc(sizes[i]);
		char key[16];
		struct hkv_buf b;

		for (size_t j = 0; j < sizes[i]; j++)
			v[j] = (unsigned char)test_rng(&seed);
		snprintf(key, sizeof(key), "v%zu", i);
		assert_int_equal(hkv_set(f->db, key, strlen(key), v, sizes[i], NULL), 1);
		assert_int_equal(hkv_get(f->db, key, strlen(key), &b), 0);
		assert_int_equal(b.len, sizes[i]);
		assert_memory_equal(b.data, v, sizes[i]);
		hkv_buf_release(&b);
		/* ranges read from the middle of a log record */
		unsigned char part[40];

		assert_int_equal(hkv_getrange(f->db, key, strlen(key), sizes[i] / 2, part, 40),
				 sizes[i] - sizes[i] / 2 < 40 ? sizes[i] - sizes[i] / 2 : 40);
		assert_memory_equal(part, v + sizes[i] / 2,
				    sizes[i] - sizes[i] / 2 < 40 ? sizes[i] - sizes[i] / 2 : 40);
		assert_int_equal(hkv_getrange(f->db, key, strlen(key), sizes[i], part, 40), 0);
		free(v);
	}
	/* a log value survives reopen, and overwriting it by a small one inlines it */
	assert_int_equal(hkv_close(f->db), 0);
	f->db = test_open(f->dir, &f->opt);
	assert_int_equal(hkv_strlen(f->db, "v3", 2), 70000);
	assert_int_equal(hkv_set(f->db, "v3", 2, "tiny", 4, NULL), 1);
	assert_value(f->db, "v3", "tiny", 4);
}

static void test_append_setrange(void **state)
{
	struct fx *f = *state;
	struct hkv_buf b;
	char want[200];

	assert_int_equal(hkv_append(f->db, "a", 1, "hello", 5, NULL), 5);
	assert_int_equal(hkv_append(f->db, "a", 1, " world", 6, NULL), 11);
	assert_value(f->db, "a", "hello world", 11);
	assert_int_equal(hkv_setrange(f->db, "a", 1, 6, "W", 1, NULL), 11);
	assert_value(f->db, "a", "hello World", 11);
	/* a gap is zero-padded */
	assert_int_equal(hkv_setrange(f->db, "s", 1, 3, "x", 1, NULL), 4);
	assert_value(f->db, "s", "\0\0\0x", 4);
	/* empty SETRANGE on a missing key creates nothing */
	assert_int_equal(hkv_setrange(f->db, "none", 4, 5, "", 0, NULL), 0);
	assert_int_equal(hkv_exists(f->db, "none", 4), 0);
	/* growing across the inline threshold moves the value to the log */
	memset(want, 'q', sizeof(want));
	memcpy(want, "hello World", 11);
	assert_int_equal(hkv_append(f->db, "a", 1, want + 11, sizeof(want) - 11, NULL), 200);
	assert_value(f->db, "a", want, sizeof(want));
	/* truncate cuts and zero-extends */
	assert_int_equal(hkv_truncate(f->db, "a", 1, 5), 0);
	assert_value(f->db, "a", "hello", 5);
	assert_int_equal(hkv_truncate(f->db, "a", 1, 7), 0);
	assert_value(f->db, "a", "hello\0\0", 7);
	assert_int_equal(hkv_truncate(f->db, "missing", 7, 1), -ENOENT);
	/* Redis GETRANGE indexes */
	assert_int_equal(hkv_set(f->db, "r", 1, "This is a string", 16, NULL), 1);
	assert_int_equal(hkv_getrange_redis(f->db, "r", 1, 0, 3, &b), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "This", 4);
	hkv_buf_release(&b);
	assert_int_equal(hkv_getrange_redis(f->db, "r", 1, -3, -1, &b), 0);
	assert_memory_equal(b.data, "ing", 3);
	hkv_buf_release(&b);
	assert_int_equal(hkv_getrange_redis(f->db, "r", 1, 0, -1, &b), 0);
	assert_int_equal(b.len, 16);
	hkv_buf_release(&b);
	assert_int_equal(hkv_getrange_redis(f->db, "r", 1, 10, 100, &b), 0);
	assert_memory_equal(b.data, "string", 6);
	hkv_buf_release(&b);
	assert_int_equal(hkv_getrange_redis(f->db, "r", 1, 5, 3, &b), 0);
	assert_int_equal(b.len, 0);
	hkv_buf_release(&b);
	assert_int_equal(hkv_getrange_redis(f->db, "nokey", 5, 0, -1, &b), 0);
	assert_int_equal(b.len, 0);
	hkv_buf_release(&b);
}

static void test_incr(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "", " 1", "1 ", "+1", "01", "-0", "1.0", "abc",
					   "99999999999999999999", "-", "9223372036854775808" };
	long double d;
	int64_t n;

	assert_int_equal(hkv_incrby(f->db, "n", 1, 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(hkv_incrby(f->db, "n", 1, -7, &n), 0);
	assert_int_equal(n, -2);
	assert_value(f->db, "n", "-2", 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hkv_set(f->db, "b", 1, bad[i], strlen(bad[i]), NULL), 1);
		assert_int_equal(hkv_incrby(f->db, "b", 1, 1, &n), -HKV_ENOTINT);
		assert_value(f->db, "b", bad[i], strlen(bad[i]));
	}
	assert_int_equal(hkv_set(f->db, "m", 1, "9223372036854775807", 19, NULL), 1);
	assert_int_equal(hkv_incrby(f->db, "m", 1, 1, &n), -HKV_ENOTINT);
	assert_int_equal(hkv_set(f->db, "m", 1, "-9223372036854775808", 20, NULL), 1);
	assert_int_equal(hkv_incrby(f->db, "m", 1, -1, &n), -HKV_ENOTINT);
	assert_int_equal(hkv_incrby(f->db, "m", 1, 1, &n), 0);
	assert_int_equal(n, -9223372036854775807LL);

	assert_int_equal(hkv_set(f->db, "f", 1, "10.50", 5, NULL), 1);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, 0.1L, &d), 0);
	assert_value(f->db, "f", "10.6", 4);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, -5.0L, &d), 0);
	assert_value(f->db, "f", "5.6", 3);
	assert_int_equal(hkv_set(f->db, "f", 1, "5.0e3", 5, NULL), 1);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, 2.0e2L, &d), 0);
	assert_value(f->db, "f", "5200", 4);
	assert_int_equal(hkv_incrbyfloat(f->db, "g", 1, 3.0L, &d), 0);
	assert_value(f->db, "g", "3", 1);
	assert_int_equal(hkv_set(f->db, "f", 1, "abc", 3, NULL), 1);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, 1.0L, &d), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_set(f->db, "f", 1, " 1", 2, NULL), 1);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, 1.0L, &d), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_set(f->db, "f", 1, "nan", 3, NULL), 1);
	assert_int_equal(hkv_incrbyfloat(f->db, "f", 1, 1.0L, &d), -HKV_ENOTFLOAT);
	assert_int_equal(hkv_incrbyfloat(f->db, "g", 1, 1.0L / 0.0L, &d), -HKV_ENOTFLOAT);
	assert_value(f->db, "g", "3", 1);
}

static void test_expiry_keeps_value(void **state)
{
	struct fx *f = *state;
	struct hkv_set_opts o = { .flags = HKV_SET_EXPIRE, .expire_at = f->clk.now + 1000 };
	struct hkv_buf b;

	assert_int_equal(hkv_set(f->db, "t", 1, "v", 1, &o), 1);
	f->clk.now += 999;
	assert_value(f->db, "t", "v", 1);
	f->clk.now += 1;
	assert_int_equal(hkv_get(f->db, "t", 1, &b), -ENOENT);
	assert_int_equal(hkv_strlen(f->db, "t", 1), 0);
	/* APPEND to an expired key starts from nothing */
	assert_int_equal(hkv_append(f->db, "t", 1, "w", 1, NULL), 1);
	assert_int_equal(hkv_pttl(f->db, "t", 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlog_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_setrange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_keeps_value, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
