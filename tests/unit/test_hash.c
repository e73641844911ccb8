// SPDX-License-Identifier: MIT
/*
 * test_hash.c - hashes: HSET/HSETNX/HGET/HDEL/HEXISTS/HLEN/HGETALL/HINCRBY/HSCAN, their
 * errors, attributes, long fields, persistence, expiry, and HSCAN under a concurrent writer.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "colltest.h"

static void assert_hget(struct hkv *db, const char *key, const void *f, size_t flen,
			const void *want, size_t wlen)
{
	struct hkv_buf b;

	assert_int_equal(hkv_hget(db, key, strlen(key), f, flen, &b), 0);
	assert_int_equal(b.len, wlen);
	assert_memory_equal(b.data, want, wlen);
	assert_int_equal(((char *)b.data)[wlen], 0);
	hkv_buf_release(&b);
}

static void test_hash_basic(void **state)
{
	struct cfix *f = *state;
	struct hkv_buf b;
	uint64_t id;

	assert_int_equal(hkv_hlen(f->db, S("h")), 0);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f1"), S("v1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f2"), S("v2"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f1"), S("v1b"), NULL), 0);
	assert_int_equal(hkv_type(f->db, S("h")), HKV_TYPE_HASH);
	assert_int_equal(hkv_hlen(f->db, S("h")), 2);
	assert_hget(f->db, "h", S("f1"), S("v1b"));
	assert_hget(f->db, "h", S("f2"), S("v2"));
	assert_int_equal(hkv_hget(f->db, S("h"), S("nope"), &b), -ENOENT);
	assert_null(b.data);
	assert_int_equal(hkv_hget(f->db, S("nokey"), S("f1"), &b), -ENOENT);
	assert_int_equal(hkv_hexists(f->db, S("h"), S("f1")), 1);
	assert_int_equal(hkv_hexists(f->db, S("h"), S("f3")), 0);
	assert_int_equal(hkv_hexists(f->db, S("nokey"), S("f1")), 0);

	assert_int_equal(hkv_hsetnx(f->db, S("h"), S("f1"), S("zz"), NULL), 0);
	assert_hget(f->db, "h", S("f1"), S("v1b"));
	assert_int_equal(hkv_hsetnx(f->db, S("h"), S("f3"), S("v3"), NULL), 1);
	assert_int_equal(hkv_hlen(f->db, S("h")), 3);

	/* empty field, empty value, binary bytes */
	assert_int_equal(hkv_hset(f->db, S("h"), "", 0, "", 0, NULL), 1);
	assert_hget(f->db, "h", "", 0, "", 0);
	assert_int_equal(hkv_hset(f->db, S("h"), "a\0b", 3, "x\0y", 3, NULL), 1);
	assert_hget(f->db, "h", "a\0b", 3, "x\0y", 3);
	assert_int_equal(hkv_hexists(f->db, S("h"), "a", 1), 0);
	assert_int_equal(hkv_hlen(f->db, S("h")), 5);

	id = key_id(f->db, "h");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 5);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f1")), 1);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f1")), 0);
	assert_int_equal(hkv_hdel(f->db, S("nokey"), S("f1")), 0);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f2")), 1);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f3")), 1);
	assert_int_equal(hkv_hdel(f->db, S("h"), "", 0), 1);
	assert_int_equal(hkv_exists(f->db, S("h")), 1);
	/* the last field takes the key with it */
	assert_int_equal(hkv_hdel(f->db, S("h"), "a\0b", 3), 1);
	assert_int_equal(hkv_exists(f->db, S("h")), 0);
	assert_int_equal(hkv_hlen(f->db, S("h")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	/* and it can be made again, as a new key */
	assert_int_equal(hkv_hset(f->db, S("h"), S("f"), S("v"), NULL), 1);
	assert_int_equal(hkv_hlen(f->db, S("h")), 1);
	assert_true(key_id(f->db, "h") != id);
}

static void test_hash_errors(void **state)
{
	struct cfix *f = *state;
	char big[HKV_KEY_MAX + 1];
	struct hkv_cursor cur;
	struct clist l = { 0 };
	struct hkv_buf b;
	int64_t v;

	memset(big, 'k', sizeof(big));
	assert_int_equal(hkv_set(f->db, S("str"), S("x"), NULL), 1);
	assert_int_equal(hkv_sadd(f->db, S("set"), S("m"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("str"), S("f"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hsetnx(f->db, S("set"), S("f"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hget(f->db, S("str"), S("f"), &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hdel(f->db, S("set"), S("m")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hexists(f->db, S("str"), S("f")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hlen(f->db, S("set")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hgetall(f->db, S("str"), clist_elem_cb, &l), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hincrby(f->db, S("set"), S("f"), 1, &v), -HKV_EWRONGTYPE);
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_hscan(f->db, S("str"), &cur, NULL, 10, clist_elem_cb, &l),
			 -HKV_EWRONGTYPE);
	assert_int_equal(l.n, 0);
	/* the string and the set are untouched */
	assert_int_equal(hkv_type(f->db, S("str")), HKV_TYPE_STRING);
	assert_int_equal(hkv_scard(f->db, S("set")), 1);

	/* lengths: empty key, key over the limit, field over the limit */
	assert_int_equal(hkv_hset(f->db, "", 0, S("f"), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_hset(f->db, big, sizeof(big), S("f"), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_hset(f->db, S("h"), big, sizeof(big), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_hget(f->db, "", 0, S("f"), &b), -EINVAL);
	assert_int_equal(hkv_hget(f->db, S("h"), big, sizeof(big), &b), -EINVAL);
	assert_int_equal(hkv_hdel(f->db, big, sizeof(big), S("f")), -EINVAL);
	assert_int_equal(hkv_hexists(f->db, S("h"), big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_hlen(f->db, "", 0), -EINVAL);
	assert_int_equal(hkv_hincrby(f->db, S("h"), big, sizeof(big), 1, &v), -EINVAL);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f"), NULL, 3, NULL), -EINVAL);
	assert_int_equal(hkv_exists(f->db, S("h")), 0);
	/* a key of exactly HKV_KEY_MAX bytes and a field of HKV_KEY_MAX bytes are fine */
	assert_int_equal(hkv_hset(f->db, big, HKV_KEY_MAX, big, HKV_KEY_MAX, S("v"), NULL), 1);
	assert_int_equal(hkv_hexists(f->db, big, HKV_KEY_MAX, big, HKV_KEY_MAX), 1);

	/* a bad cursor */
	hkv_cursor_init(&cur);
	cur.len = 3;
	cur.pos[0] = 'x';
	assert_int_equal(hkv_hscan(f->db, big, HKV_KEY_MAX, &cur, NULL, 10, clist_elem_cb, &l),
			 -EINVAL);
	clist_free(&l);
}

static void test_hash_attrs(void **state)
{
	struct cfix *f = *state;
	struct hkv_create_attr ca = { 0600, 42, 43 };
	struct hkv_attr a1, a2;

	assert_int_equal(hkv_hset(f->db, S("h"), S("f"), S("v"), &ca), 1);
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a1), 0);
	assert_int_equal(a1.type, HKV_TYPE_HASH);
	assert_int_equal(a1.mode, 0600);
	assert_int_equal(a1.uid, 42);
	assert_int_equal(a1.gid, 43);
	assert_int_equal(a1.size, 1);
	assert_int_equal(a1.mtime_ns, f->clk.now * 1000000);

	f->clk.now += 1000;
	/* an existing key keeps its attributes; size counts fields; version and mtime move */
	assert_int_equal(hkv_hset(f->db, S("h"), S("g"), S("w"), NULL), 1);
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a2), 0);
	assert_int_equal(a2.mode, 0600);
	assert_int_equal(a2.uid, 42);
	assert_int_equal(a2.size, 2);
	assert_true(a2.version > a1.version);
	assert_int_equal(a2.mtime_ns, f->clk.now * 1000000);
	assert_int_equal(a2.id, a1.id);

	a1 = a2;
	assert_int_equal(hkv_hset(f->db, S("h"), S("g"), S("w2"), NULL), 0);
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a2), 0);
	assert_true(a2.version > a1.version);
	assert_int_equal(a2.size, 2);

	/* nothing changed: no new version */
	a1 = a2;
	assert_int_equal(hkv_hsetnx(f->db, S("h"), S("g"), S("w3"), NULL), 0);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("absent")), 0);
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a2), 0);
	assert_int_equal(a2.version, a1.version);

	assert_int_equal(hkv_hdel(f->db, S("h"), S("g")), 1);
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a2), 0);
	assert_int_equal(a2.size, 1);
	assert_true(a2.version > a1.version);
	/* default attributes from the options */
	assert_int_equal(hkv_hset(f->db, S("h2"), S("f"), S("v"), NULL), 1);
	assert_int_equal(hkv_attr_get(f->db, S("h2"), &a2), 0);
	assert_int_equal(a2.mode, f->opt.mode);
	assert_int_equal(a2.uid, f->opt.uid);
}

static void test_hash_create_empty(void **state)
{
	struct cfix *f = *state;
	struct clist l = { 0 };

	assert_int_equal(hkv_create(f->db, S("h"), HKV_TYPE_HASH, NULL), 0);
	assert_int_equal(hkv_type(f->db, S("h")), HKV_TYPE_HASH);
	assert_int_equal(hkv_hlen(f->db, S("h")), 0);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f")), 0);
	assert_int_equal(hkv_exists(f->db, S("h")), 1);
	assert_int_equal(hkv_hgetall(f->db, S("h"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f"), S("v"), NULL), 1);
	assert_int_equal(hkv_hdel(f->db, S("h"), S("f")), 1);
	assert_int_equal(hkv_exists(f->db, S("h")), 0);
}

static void test_hash_incrby(void **state)
{
	struct cfix *f = *state;
	static const char *bad[] = { "abc", "01", " 1", "1 ", "+1", "", "-", "-0", "1.5",
				     "9223372036854775808", "-9223372036854775809",
				     "123456789012345678901" };
	int64_t v = 99;

	assert_int_equal(hkv_hincrby(f->db, S("h"), S("n"), 5, &v), 0);
	assert_int_equal(v, 5);
	assert_hget(f->db, "h", S("n"), S("5"));
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("n"), -12, &v), 0);
	assert_int_equal(v, -7);
	assert_hget(f->db, "h", S("n"), S("-7"));
	assert_int_equal(hkv_hlen(f->db, S("h")), 1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hkv_hset(f->db, S("h"), S("s"), S(bad[i]), NULL), i ? 0 : 1);
		assert_int_equal(hkv_hincrby(f->db, S("h"), S("s"), 1, &v), -HKV_ENOTINT);
		assert_hget(f->db, "h", S("s"), S(bad[i]));
	}
	assert_int_equal(hkv_hset(f->db, S("h"), S("s"), S("0"), NULL), 0);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("s"), 0, &v), 0);
	assert_int_equal(v, 0);

	/* limits and overflow */
	assert_int_equal(hkv_hset(f->db, S("h"), S("m"), S("9223372036854775807"), NULL), 1);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("m"), 1, &v), -HKV_ENOTINT);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("m"), 0, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(hkv_hset(f->db, S("h"), S("m"), S("-9223372036854775808"), NULL), 0);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("m"), -1, &v), -HKV_ENOTINT);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("m"), 1, &v), 0);
	assert_int_equal(v, INT64_MIN + 1);
	assert_hget(f->db, "h", S("m"), S("-9223372036854775807"));
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("new"), INT64_MIN, &v), 0);
	assert_int_equal(v, INT64_MIN);
	assert_hget(f->db, "h", S("new"), S("-9223372036854775808"));

	/* a failed increment on a fresh key creates nothing */
	assert_int_equal(hkv_set(f->db, S("str"), S("1"), NULL), 1);
	assert_int_equal(hkv_hincrby(f->db, S("str"), S("n"), 1, &v), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_type(f->db, S("str")), HKV_TYPE_STRING);
}

/* Fields of @key by hkv_hgetall(), as "name=value" joined by ',' into @out. */
static void hfields(struct hkv *db, const char *key, char *out, size_t cap)
{
	struct clist l = { 0 };
	size_t off = 0;

	assert_int_equal(hkv_hgetall(db, key, strlen(key), clist_elem_cb, &l), 0);
	out[0] = 0;
	for (size_t i = 0; i < l.n; i++) {
		int n = snprintf(out + off, cap - off, "%s%s=%s", i ? "," : "", l.v[i].a, l.v[i].b);

		assert_true(n > 0 && (size_t)n < cap - off);
		off += (size_t)n;
	}
	clist_free(&l);
}

#define assert_hfields(db, key, want)                                                      \
	do {                                                                               \
		char got_[1024];                                                           \
		hfields(db, key, got_, sizeof(got_));                                      \
		assert_string_equal(got_, want);                                           \
	} while (0)

static void test_hash_getall_order(void **state)
{
	struct cfix *f = *state;
	static const char *fields[] = { "b", "a", "", "ab", "\xff", "\x01", "B" };
	static const char *sorted[] = { "", "\x01", "B", "a", "ab", "b", "\xff" };
	struct clist l = { 0 };

	/* a small hash gives its fields in insertion order */
	for (size_t i = 0; i < 7; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%zu", i);
		assert_int_equal(hkv_hset(f->db, S("h"), S(fields[i]), S(v), NULL), 1);
	}
	assert_int_equal(hkv_hsmall(f->db, S("h")), 1);
	assert_int_equal(hkv_hgetall(f->db, S("h"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 7);
	for (size_t i = 0; i < 7; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%zu", i);
		assert_true(citem_is(&l.v[i], S(fields[i])));
		assert_int_equal(l.v[i].blen, strlen(v));
		assert_memory_equal(l.v[i].b, v, l.v[i].blen);
	}
	clist_free(&l);
	/* a callback's non-zero value stops the walk and is returned */
	l.stop_after = 3;
	assert_int_equal(hkv_hgetall(f->db, S("h"), clist_elem_cb, &l), 7);
	assert_int_equal(l.n, 3);
	assert_true(citem_is(&l.v[2], S("")));
	clist_free(&l);
	assert_int_equal(hkv_hgetall(f->db, S("absent"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 0);

	/* beyond the entries limit, the hash is large: field byte order */
	hkv_hash_limits(f->db, 7, 64);
	assert_int_equal(hkv_hset(f->db, S("h"), S("b"), S("v0b"), NULL), 0);
	assert_int_equal(hkv_hsmall(f->db, S("h")), 1); /* 7 fields: still small */
	assert_int_equal(hkv_hset(f->db, S("h"), S("c"), S("v7"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("h")), 0);
	assert_int_equal(hkv_hgetall(f->db, S("h"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 8);
	for (size_t i = 0, j = 0; i < 8; i++) {
		/* sorted[] with "c" in its place (between "b" and "\xff") */
		const char *want = i == 6 ? "c" : sorted[j++];

		assert_true(citem_is(&l.v[i], S(want)));
		if (!strcmp(want, "b"))
			assert_memory_equal(l.v[i].b, "v0b", 3);
		if (!strcmp(want, "c"))
			assert_memory_equal(l.v[i].b, "v7", 2);
	}
	clist_free(&l);
	/* ... and stays large when it shrinks back, as Redis's hashtable never converts back */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(hkv_hdel(f->db, S("h"), S(fields[i])), 1);
	assert_int_equal(hkv_hlen(f->db, S("h")), 3);
	assert_int_equal(hkv_hsmall(f->db, S("h")), 0);
	assert_hfields(f->db, "h", "\x01=v5,B=v6,c=v7");
	/* once deleted, the key is made again small */
	assert_int_equal(hkv_del(f->db, S("h")), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("z"), S("1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("y"), S("2"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("h")), 1);
	assert_hfields(f->db, "h", "z=1,y=2");
}

/* Updates keep a field's place; a field deleted and set again goes to the end. */
static void test_hash_order_updates(void **state)
{
	struct cfix *f = *state;
	struct hkv_attr a;
	int64_t v;

	assert_int_equal(hkv_hset(f->db, S("h"), S("c"), S("1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("a"), S("2"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("b"), S("3"), NULL), 1);
	assert_hfields(f->db, "h", "c=1,a=2,b=3");
	assert_int_equal(hkv_hset(f->db, S("h"), S("c"), S("10"), NULL), 0);
	assert_int_equal(hkv_hsetnx(f->db, S("h"), S("a"), S("x"), NULL), 0);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("a"), 5, &v), 0);
	assert_hfields(f->db, "h", "c=10,a=7,b=3");
	assert_int_equal(hkv_hdel(f->db, S("h"), S("c")), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("c"), S("4"), NULL), 1);
	assert_int_equal(hkv_hsetnx(f->db, S("h"), S("d"), S("5"), NULL), 1);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("e"), 6, &v), 0);
	assert_hfields(f->db, "h", "a=7,b=3,c=4,d=5,e=6");
	/* the deletes and re-adds leave the count right */
	assert_int_equal(hkv_attr_get(f->db, S("h"), &a), 0);
	assert_int_equal(a.size, 5);
	assert_int_equal(hkv_hlen(f->db, S("h")), 5);

	/* the order survives a restart and a rename (the record and its id move together) */
	cfix_reopen(f);
	assert_hfields(f->db, "h", "a=7,b=3,c=4,d=5,e=6");
	assert_int_equal(hkv_rename(f->db, S("h"), S("h2"), 0), 0);
	assert_hfields(f->db, "h2", "a=7,b=3,c=4,d=5,e=6");
	assert_int_equal(hkv_hset(f->db, S("h2"), S("a"), S("8"), NULL), 0);
	assert_int_equal(hkv_hset(f->db, S("h2"), S("0"), S("9"), NULL), 1);
	assert_hfields(f->db, "h2", "a=8,b=3,c=4,d=5,e=6,0=9");

	/* sequence numbers past one varint byte (128) and two (16384) keep the order */
	assert_int_equal(hkv_hset(f->db, S("c"), S("first"), S("1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("c"), S("x"), S("0"), NULL), 1);
	for (int i = 0; i < 16400; i++) {
		/* y replaces x, then x replaces y: each add takes a new number */
		assert_int_equal(hkv_hset(f->db, S("c"), i & 1 ? "x" : "y", 1, S("v"), NULL), 1);
		assert_int_equal(hkv_hdel(f->db, S("c"), i & 1 ? "y" : "x", 1), 1);
	}
	assert_int_equal(hkv_hset(f->db, S("c"), S("last"), S("2"), NULL), 1);
	assert_hfields(f->db, "c", "first=1,x=v,last=2");
	cfix_reopen(f);
	assert_hfields(f->db, "c", "first=1,x=v,last=2");

	/* 100 fields (more than a walk keeps on its stack), added in reverse byte order */
	for (int i = 99; i >= 0; i--) {
		char fl[8];

		snprintf(fl, sizeof(fl), "r%02d", i);
		assert_int_equal(hkv_hset(f->db, S("r"), S(fl), S(fl), NULL), 1);
	}
	{
		struct clist l = { 0 };

		assert_int_equal(hkv_hsmall(f->db, S("r")), 1);
		assert_int_equal(hkv_hgetall(f->db, S("r"), clist_elem_cb, &l), 0);
		assert_int_equal(l.n, 100);
		for (int i = 0; i < 100; i++) {
			char fl[16];

			snprintf(fl, sizeof(fl), "r%02d", 99 - i);
			assert_true(citem_is(&l.v[i], S(fl)));
		}
		clist_free(&l);
	}

	/* a hash made empty by hkv_create() takes the order from its first field */
	assert_int_equal(hkv_create(f->db, S("e"), HKV_TYPE_HASH, NULL), 0);
	assert_int_equal(hkv_hsmall(f->db, S("e")), 1);
	assert_int_equal(hkv_hset(f->db, S("e"), S("y"), S("1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("e"), S("x"), S("2"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("e")), 1);
	assert_hfields(f->db, "e", "y=1,x=2");
}

/* The value limit, limit changes, and hkv_hgetall_small() (HSCAN of a small hash). */
static void test_hash_order_limits(void **state)
{
	struct cfix *f = *state;
	char big[65];
	struct hkv_cursor cur;
	struct clist l = { 0 };

	memset(big, 'x', sizeof(big));
	assert_int_equal(hkv_hsmall(f->db, S("nokey")), -ENOENT);
	assert_int_equal(hkv_set(f->db, S("str"), S("1"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("str")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hgetall_small(f->db, S("str"), clist_elem_cb, &l), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_hgetall_small(f->db, S("nokey"), clist_elem_cb, &l), 1);
	assert_int_equal(l.n, 0);

	/* a value of 64 bytes (the default limit) is small, 65 is not; same for a field name */
	assert_int_equal(hkv_hset(f->db, S("v"), S("f"), big, 64, NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("v")), 1);
	assert_int_equal(hkv_hset(f->db, S("v"), S("g"), big, 65, NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("v")), 0);
	assert_int_equal(hkv_hset(f->db, S("n"), big, 64, S("1"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("n")), 1);
	assert_int_equal(hkv_hset(f->db, S("n"), big, 65, S("1"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("n")), 0);
	/* a large hash stays large when its long value is replaced */
	assert_int_equal(hkv_hset(f->db, S("v"), S("g"), S("short"), NULL), 0);
	assert_int_equal(hkv_hsmall(f->db, S("v")), 0);
	/* hkv_hgetall_small() gives nothing for a large hash */
	assert_int_equal(hkv_hgetall_small(f->db, S("v"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 0);

	/* new limits apply from a hash's next write on; raising them converts nothing back */
	assert_int_equal(hkv_hset(f->db, S("s"), S("k2"), S("a"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("s"), S("k1"), S("b"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("s"), S("k0"), S("c"), NULL), 1);
	hkv_hash_limits(f->db, 2, 64);
	assert_int_equal(hkv_hsmall(f->db, S("s")), 1);
	assert_int_equal(hkv_hgetall_small(f->db, S("s"), clist_elem_cb, &l), 1);
	assert_int_equal(l.n, 3);
	assert_true(citem_is(&l.v[0], S("k2")) && citem_is(&l.v[2], S("k0")));
	assert_memory_equal(l.v[0].b, "a", 1);
	clist_free(&l);
	l.stop_after = 1;
	assert_int_equal(hkv_hgetall_small(f->db, S("s"), clist_elem_cb, &l), 7);
	clist_free(&l);
	assert_int_equal(hkv_hset(f->db, S("s"), S("k1"), S("B"), NULL), 0);
	assert_int_equal(hkv_hsmall(f->db, S("s")), 0);
	assert_hfields(f->db, "s", "k0=c,k1=B,k2=a");
	hkv_hash_limits(f->db, 128, 64);
	assert_int_equal(hkv_hset(f->db, S("s"), S("k3"), S("d"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("s")), 0);
	/* a limit of 0 entries makes every hash large from its first field (Redis's rule) */
	hkv_hash_limits(f->db, 0, 64);
	assert_int_equal(hkv_hset(f->db, S("z"), S("f"), S("1"), NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, S("z")), 0);

	/* HSCAN's cursor walks byte order, small or large, and reads the values right */
	hkv_hash_limits(f->db, 128, 64);
	assert_int_equal(hkv_hset(f->db, S("o"), S("b"), S("1"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("o"), S("a"), S("2"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("o"), S("c"), S("3"), NULL), 1);
	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_hscan(f->db, S("o"), &cur, NULL, 2, clist_elem_cb, &l) >= 0);
	assert_int_equal(l.n, 3);
	assert_true(citem_is(&l.v[0], S("a")) && citem_is(&l.v[1], S("b")) &&
		    citem_is(&l.v[2], S("c")));
	assert_memory_equal(l.v[0].b, "2", 1);
	assert_memory_equal(l.v[1].b, "1", 1);
	assert_int_equal(l.v[2].blen, 1);
	clist_free(&l);
	/* and so does a long field: its value comes after the name and the sequence number */
	{
		unsigned char *lf = long_member(500, 'l', 1);

		assert_int_equal(hkv_hset(f->db, S("o"), lf, 500, S("lv"), NULL), 1);
		assert_hget(f->db, "o", lf, 500, S("lv"));
		free(lf);
	}
}

static void test_hash_long_fields(void **state)
{
	struct cfix *f = *state;
	static const size_t lens[] = { 447, 448, 449, 500, 1000, 4095, 4096 };
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	unsigned char *fld[2 * N];
	struct hkv_cursor cur;
	struct clist l = { 0 };
	int64_t v;
	size_t i, j, seen;

	/* two fields of each length sharing the first len - 4 bytes */
	for (i = 0; i < 2 * N; i++) {
		fld[i] = long_member(lens[i / 2], 'q', (uint32_t)i);
		assert_int_equal(hkv_hset(f->db, S("h"), fld[i], lens[i / 2], &i, sizeof(i), NULL),
				 1);
	}
	assert_int_equal(hkv_hlen(f->db, S("h")), 2 * N);
	for (i = 0; i < 2 * N; i++) {
		assert_hget(f->db, "h", fld[i], lens[i / 2], &i, sizeof(i));
		assert_int_equal(hkv_hset(f->db, S("h"), fld[i], lens[i / 2], &i, sizeof(i), NULL),
				 0);
	}
	/* same prefix, different length or tail: not the same field */
	assert_int_equal(hkv_hexists(f->db, S("h"), fld[12], 4094), 0);
	fld[12][0] ^= 1;
	assert_int_equal(hkv_hexists(f->db, S("h"), fld[12], 4096), 0);
	fld[12][0] ^= 1;

	assert_int_equal(hkv_hgetall(f->db, S("h"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 2 * N);
	for (i = 0; i < 2 * N; i++) {
		for (j = 0; j < l.n; j++)
			if (citem_is(&l.v[j], fld[i], lens[i / 2]))
				break;
		assert_true(j < l.n);
		assert_memory_equal(l.v[j].b, &i, sizeof(i));
	}
	clist_free(&l);

	hkv_cursor_init(&cur);
	for (seen = 0; !cur.done;) {
		int rc = hkv_hscan(f->db, S("h"), &cur, "qq*", 3, clist_elem_cb, &l);

		assert_true(rc >= 0 && rc <= 3);
		seen += (size_t)rc;
	}
	assert_int_equal(seen, 2 * N);
	assert_int_equal(l.n, 2 * N);
	clist_free(&l);

	assert_int_equal(hkv_hincrby(f->db, S("h"), fld[13], 4096, 10, &v), -HKV_ENOTINT);
	for (i = 0; i < 2 * N; i++)
		assert_int_equal(hkv_hdel(f->db, S("h"), fld[i], lens[i / 2]), 1);
	assert_int_equal(hkv_exists(f->db, S("h")), 0);
	for (i = 0; i < 2 * N; i++)
		free(fld[i]);
}

static void test_hash_scan(void **state)
{
	struct cfix *f = *state;
	enum { N = 500 };
	unsigned char seen[N] = { 0 };
	struct hkv_cursor cur;
	struct clist l = { 0 };
	char fld[32], tok[2 * HKV_CURSOR_MAX + 2];
	size_t calls = 0, total = 0;
	int rc;

	for (int i = 0; i < N; i++) {
		snprintf(fld, sizeof(fld), "f%04d", i);
		assert_int_equal(hkv_hset(f->db, S("h"), S(fld), S(fld), NULL), 1);
	}
	hkv_cursor_init(&cur);
	while (!cur.done) {
		/* the cursor survives encoding and a reopen of the store */
		hkv_cursor_encode(&cur, tok);
		assert_int_equal(hkv_cursor_decode(tok, &cur), 0);
		if (calls == 20)
			cfix_reopen(f);
		rc = hkv_hscan(f->db, S("h"), &cur, NULL, 7, clist_elem_cb, &l);
		assert_true(rc >= 0 && rc <= 7);
		calls++;
		total += (size_t)rc;
	}
	assert_int_equal(total, N);
	assert_int_equal(l.n, N);
	for (size_t i = 0; i < l.n; i++) {
		int k = atoi((char *)l.v[i].a + 1);

		assert_int_equal(seen[k], 0);
		seen[k] = 1;
		assert_int_equal(l.v[i].blen, 5);
	}
	assert_true(calls >= N / 7);
	clist_free(&l);

	/* a finished cursor reports nothing more */
	assert_int_equal(hkv_hscan(f->db, S("h"), &cur, NULL, 7, clist_elem_cb, &l), 0);

	/* MATCH filters but COUNT still bounds the work */
	hkv_cursor_init(&cur);
	rc = hkv_hscan(f->db, S("h"), &cur, "f00[1-2]?", 10, clist_elem_cb, &l);
	assert_int_equal(rc, 0); /* f0000..f0009 examined, none match */
	assert_false(cur.done);
	for (total = 0; !cur.done;)
		total += (size_t)hkv_hscan(f->db, S("h"), &cur, "f00[1-2]?", 10, clist_elem_cb,
					   &l);
	assert_int_equal(total, 20);
	clist_free(&l);

	/* a stopping callback: the cursor resumes after the entry it stopped at */
	hkv_cursor_init(&cur);
	l.stop_after = 1;
	for (total = 0; !cur.done; total++) {
		size_t before = l.n;

		l.stop_after = l.n + 1;
		rc = hkv_hscan(f->db, S("h"), &cur, NULL, 1000, clist_elem_cb, &l);
		assert_true(rc == 7 || (rc == 0 && cur.done && l.n == before));
	}
	assert_int_equal(l.n, N);
	for (size_t i = 0; i < l.n; i++) {
		snprintf(fld, sizeof(fld), "f%04zu", i);
		assert_true(citem_is(&l.v[i], S(fld)));
	}
	clist_free(&l);

	/* an absent key: done at once */
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_hscan(f->db, S("nokey"), &cur, NULL, 10, clist_elem_cb, &l), 0);
	assert_true(cur.done);
}

static void test_hash_persist_expire(void **state)
{
	struct cfix *f = *state;
	int64_t v;

	assert_int_equal(hkv_hset(f->db, S("h"), S("a"), S("1"), NULL), 1);
	assert_int_equal(hkv_hincrby(f->db, S("h"), S("b"), 2, &v), 0);
	cfix_reopen(f);
	assert_int_equal(hkv_hlen(f->db, S("h")), 2);
	assert_hget(f->db, "h", S("a"), S("1"));
	assert_hget(f->db, "h", S("b"), S("2"));

	assert_int_equal(hkv_pexpire(f->db, S("h"), 1000, 0), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("c"), S("3"), NULL), 1);
	assert_true(hkv_pttl(f->db, S("h")) > 0); /* HSET keeps the expiry */
	f->clk.now += 1000;
	assert_int_equal(hkv_hlen(f->db, S("h")), 0);
	assert_int_equal(hkv_hexists(f->db, S("h"), S("a")), 0);
	/* an expired hash is gone: a write starts a fresh one */
	assert_int_equal(hkv_hset(f->db, S("h"), S("z"), S("9"), NULL), 1);
	assert_int_equal(hkv_hlen(f->db, S("h")), 1);
	assert_int_equal(hkv_pttl(f->db, S("h")), -1);
}

struct hscan_writer {
	struct hkv *db;
	atomic_bool stop;
	int rc;
	unsigned rounds;
};

static void *hscan_writer_main(void *arg)
{
	struct hscan_writer *w = arg;
	uint64_t rng = 77;
	char fld[16];

	while (!atomic_load(&w->stop) || w->rounds < 50) {
		/* volatile fields are "v...", interleaved with the stable "s..." ones */
		snprintf(fld, sizeof(fld), "v%03u", (unsigned)(test_rng(&rng) % 400));
		if (test_rng(&rng) & 1)
			w->rc = hkv_hset(w->db, S("h"), S(fld), S("x"), NULL);
		else
			w->rc = hkv_hdel(w->db, S("h"), S(fld));
		if (w->rc < 0)
			break;
		w->rounds++;
	}
	return NULL;
}

static void test_hash_scan_concurrent(void **state)
{
	struct cfix *f = *state;
	enum { N = 300 };
	struct hscan_writer w = { .db = f->db };
	unsigned char seen[N] = { 0 };
	struct hkv_cursor cur;
	struct clist l = { 0 };
	pthread_t th;
	char fld[16];

	for (int i = 0; i < N; i++) {
		snprintf(fld, sizeof(fld), "s%03d", i);
		assert_int_equal(hkv_hset(f->db, S("h"), S(fld), S("y"), NULL), 1);
		snprintf(fld, sizeof(fld), "v%03d", i);
		assert_int_equal(hkv_hset(f->db, S("h"), S(fld), S("x"), NULL), 1);
	}
	atomic_init(&w.stop, false);
	assert_int_equal(pthread_create(&th, NULL, hscan_writer_main, &w), 0);
	for (int round = 0; round < 3; round++) {
		memset(seen, 0, sizeof(seen));
		hkv_cursor_init(&cur);
		for (unsigned j = 0; !cur.done; j++) {
			int rc = hkv_hscan(f->db, S("h"), &cur, NULL, 5, clist_elem_cb, &l);

			assert_true(rc >= 0);
			/* and a deterministic interleaving from this thread */
			snprintf(fld, sizeof(fld), "v%03u", (j * 37) % N);
			assert_true(hkv_hdel(f->db, S("h"), S(fld)) >= 0);
			snprintf(fld, sizeof(fld), "v%03u", (j * 53) % N);
			assert_true(hkv_hset(f->db, S("h"), S(fld), S("x"), NULL) >= 0);
		}
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].a[0] != 's')
				continue;
			int k = atoi((char *)l.v[i].a + 1);

			assert_int_equal(seen[k], 0); /* at most once */
			seen[k] = 1;
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(seen[i], 1); /* present throughout: returned */
		/* no volatile field twice either */
		for (size_t i = 1; i < l.n; i++)
			assert_true(memcmp(l.v[i - 1].a, l.v[i].a, 4) < 0);
		clist_free(&l);
	}
	atomic_store(&w.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(w.rc >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hash_basic, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_errors, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_attrs, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_create_empty, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_incrby, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_getall_order, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_order_updates, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_order_limits, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_long_fields, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_scan, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_persist_expire, cfix_setup,
						cfix_teardown),
		cmocka_unit_test_setup_teardown(test_hash_scan_concurrent, cfix_setup,
						cfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
