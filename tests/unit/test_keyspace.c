// SPDX-License-Identifier: MIT
/*
 * test_keyspace.c - DEL/EXISTS/TYPE, RENAME, the expiry family with an injected clock, the
 * active sweep, SCAN (filters, prefixes, delimiter roll-up, guarantees under a concurrent
 * writer), attributes and versions, extended attributes, opening rules (one owner, format,
 * options, read-only) and group commit from many threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	f->dir = test_mkdtemp("keyspace");
	test_options(&f->opt, &f->clk);
	f->opt.inline_max = 16;
	f->db = test_open(f->dir, &f->opt);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->db)
		assert_int_equal(hkv_close(f->db), 0);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void put(struct hkv *db, const char *k, const char *v)
{
	assert_int_equal(hkv_set(db, k, strlen(k), v, strlen(v), NULL), 1);
}

static void assert_value(struct hkv *db, const char *key, const char *want)
{
	struct hkv_buf b;

	assert_int_equal(hkv_get(db, key, strlen(key), &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	hkv_buf_release(&b);
}

static void test_del_exists_type(void **state)
{
	struct fx *f = *state;

	put(f->db, "a", "1");
	assert_int_equal(hkv_exists(f->db, "a", 1), 1);
	assert_int_equal(hkv_type(f->db, "a", 1), HKV_TYPE_STRING);
	assert_int_equal(hkv_type(f->db, "b", 1), HKV_TYPE_NONE);
	assert_int_equal(hkv_del(f->db, "a", 1), 1);
	assert_int_equal(hkv_del(f->db, "a", 1), 0);
	assert_int_equal(hkv_exists(f->db, "a", 1), 0);
	assert_int_equal(hkv_del(f->db, "", 0), -EINVAL);
	assert_int_equal(hkv_create(f->db, "z", 1, HKV_TYPE_ZSET, NULL), 0);
	assert_int_equal(hkv_create(f->db, "z", 1, HKV_TYPE_ZSET, NULL), -EEXIST);
	assert_int_equal(hkv_create(f->db, "z", 1, HKV_TYPE_SET, NULL), -EEXIST);
	assert_int_equal(hkv_create(f->db, "q", 1, (enum hkv_type)9, NULL), -EINVAL);
	assert_int_equal(hkv_type(f->db, "z", 1), HKV_TYPE_ZSET);
	assert_string_equal(hkv_type_name(HKV_TYPE_ZSET), "zset");
	assert_int_equal(hkv_type_parse("list", 4), HKV_TYPE_LIST);
	assert_int_equal(hkv_type_parse("lists", 5), HKV_TYPE_NONE);
}

static void test_rename(void **state)
{
	struct fx *f = *state;
	struct hkv_attr a1, a2;
	char big[100];

	put(f->db, "src", "value");
	assert_int_equal(hkv_pexpire(f->db, "src", 3, 5000, 0), 1);
	assert_int_equal(hkv_xattr_set(f->db, "src", 3, "user.x", "1", 1, 0), 0);
	assert_int_equal(hkv_attr_get(f->db, "src", 3, &a1), 0);
	assert_int_equal(hkv_rename(f->db, "src", 3, "dst", 3, 0), 0);
	assert_int_equal(hkv_exists(f->db, "src", 3), 0);
	assert_value(f->db, "dst", "value");
	assert_int_equal(hkv_pttl(f->db, "dst", 3), 5000);
	assert_int_equal(hkv_attr_get(f->db, "dst", 3, &a2), 0);
	assert_int_equal(a2.id, a1.id);
	assert_true(a2.version > a1.version);
	struct hkv_buf xb;

	assert_int_equal(hkv_xattr_get(f->db, "dst", 3, "user.x", &xb), 0);
	assert_memory_equal(xb.data, "1", 1);
	hkv_buf_release(&xb);
	/* the expiry moved with the key: the sweep deletes dst, not a ghost src */
	f->clk.now += 5000;
	assert_int_equal(hkv_expire_cycle(f->db, 100), 1);
	assert_int_equal(hkv_exists(f->db, "dst", 3), 0);

	assert_int_equal(hkv_rename(f->db, "nope", 4, "x", 1, 0), -ENOENT);
	put(f->db, "a", "A");
	put(f->db, "b", "B");
	assert_int_equal(hkv_rename(f->db, "a", 1, "b", 1, HKV_RENAME_NX), -EEXIST);
	assert_int_equal(hkv_rename(f->db, "a", 1, "a", 1, 0), 0);
	assert_value(f->db, "a", "A");
	assert_int_equal(hkv_create(f->db, "h", 1, HKV_TYPE_HASH, NULL), 0);
	assert_int_equal(hkv_rename(f->db, "a", 1, "h", 1, HKV_RENAME_SAMETYPE),
			 -HKV_EWRONGTYPE);
	assert_int_equal(hkv_rename(f->db, "a", 1, "b", 1, 0), 0);
	assert_value(f->db, "b", "A");
	assert_int_equal(hkv_exists(f->db, "a", 1), 0);
	/* a value-log value, to and from a long key */
	memset(big, 'v', sizeof(big));
	big[99] = 0;
	put(f->db, "logged", big);
	char lk[1000];

	memset(lk, 'L', sizeof(lk));
	assert_int_equal(hkv_rename(f->db, "logged", 6, lk, sizeof(lk), 0), 0);
	assert_int_equal(hkv_strlen(f->db, lk, sizeof(lk)), 99);
	assert_int_equal(hkv_rename(f->db, lk, sizeof(lk), "back", 4, 0), 0);
	assert_value(f->db, "back", big);
	assert_int_equal(hkv_compact(f->db, true) >= 0, 1);
	assert_value(f->db, "back", big);
}

static void test_expire_family(void **state)
{
	struct fx *f = *state;
	int64_t t0 = f->clk.now;

	assert_int_equal(hkv_pttl(f->db, "k", 1), -2);
	assert_int_equal(hkv_ttl(f->db, "k", 1), -2);
	assert_int_equal(hkv_expire(f->db, "k", 1, 10, 0), 0);
	put(f->db, "k", "v");
	assert_int_equal(hkv_ttl(f->db, "k", 1), -1);
	assert_int_equal(hkv_persist(f->db, "k", 1), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 10, HKV_EXPIRE_XX), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 10, HKV_EXPIRE_GT), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 10, HKV_EXPIRE_NX), 1);
	assert_int_equal(hkv_ttl(f->db, "k", 1), 10);
	assert_int_equal(hkv_expire(f->db, "k", 1, 20, HKV_EXPIRE_NX), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 5, HKV_EXPIRE_GT), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 20, HKV_EXPIRE_GT), 1);
	assert_int_equal(hkv_expire(f->db, "k", 1, 30, HKV_EXPIRE_LT), 0);
	assert_int_equal(hkv_expire(f->db, "k", 1, 15, HKV_EXPIRE_LT), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), 15000);
	assert_int_equal(hkv_expire(f->db, "k", 1, 15, HKV_EXPIRE_NX | HKV_EXPIRE_XX), -EINVAL);
	assert_int_equal(hkv_expire(f->db, "k", 1, 15, HKV_EXPIRE_GT | HKV_EXPIRE_LT), -EINVAL);
	assert_int_equal(hkv_expire(f->db, "k", 1, INT64_MAX / 10, 0), -EINVAL);
	/* TTL rounds like Redis: 1499 ms -> 1 s, 1500 ms -> 2 s */
	assert_int_equal(hkv_pexpireat(f->db, "k", 1, t0 + 1499, 0), 1);
	assert_int_equal(hkv_ttl(f->db, "k", 1), 1);
	assert_int_equal(hkv_pexpireat(f->db, "k", 1, t0 + 1500, 0), 1);
	assert_int_equal(hkv_ttl(f->db, "k", 1), 2);
	assert_int_equal(hkv_expireat(f->db, "k", 1, t0 / 1000 + 100, 0), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), (t0 / 1000 + 100) * 1000 - t0);
	assert_int_equal(hkv_persist(f->db, "k", 1), 1);
	assert_int_equal(hkv_pttl(f->db, "k", 1), -1);
	/* a time in the past deletes the key now */
	assert_int_equal(hkv_pexpireat(f->db, "k", 1, t0 - 1, 0), 1);
	assert_int_equal(hkv_exists(f->db, "k", 1), 0);
}

static void test_lazy_and_active_expiry(void **state)
{
	struct fx *f = *state;
	struct hkv_stats st;
	char k[16];

	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "e%03d", i);
		put(f->db, k, "v");
		assert_int_equal(hkv_pexpire(f->db, k, strlen(k), 100 + (i % 3) * 100, 0), 1);
	}
	put(f->db, "keep", "v");
	f->clk.now += 100;
	/* invisible at once to every reader, before any sweep */
	assert_int_equal(hkv_exists(f->db, "e000", 4), 0);
	assert_int_equal(hkv_exists(f->db, "e001", 4), 1);
	assert_int_equal(hkv_pttl(f->db, "e000", 4), -2);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.keys, 301);
	assert_int_equal(hkv_expire_cycle(f->db, 1000), 100);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.keys, 201);
	assert_int_equal(st.expires, 200);
	assert_int_equal(st.expired, 100);
	/* a bounded sweep deletes at most its budget */
	f->clk.now += 200;
	assert_int_equal(hkv_expire_cycle(f->db, 50), 50);
	assert_int_equal(hkv_expire_cycle(f->db, 1000), 150);
	assert_int_equal(hkv_expire_cycle(f->db, 1000), 0);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.keys, 1);
	assert_int_equal(st.expires, 0);
	/* a write meeting an expired key deletes it first (lazy expiry) */
	put(f->db, "w", "v");
	assert_int_equal(hkv_pexpire(f->db, "w", 1, 10, 0), 1);
	f->clk.now += 10;
	struct hkv_set_opts o = { .flags = HKV_SET_NX };

	assert_int_equal(hkv_set(f->db, "w", 1, "new", 3, &o), 1);
	assert_int_equal(hkv_pttl(f->db, "w", 1), -1);
}

struct expiring {
	char keys[8][400];
	size_t klen[8];
	int64_t at[8];
	int n, stop_after;
};

static int expiring_cb(void *arg, const void *key, size_t klen, int64_t expire_at)
{
	struct expiring *x = arg;

	assert_true(x->n < 8 && klen < sizeof(x->keys[0]));
	memcpy(x->keys[x->n], key, klen);
	x->klen[x->n] = klen;
	x->at[x->n++] = expire_at;
	return x->n == x->stop_after ? 1 : 0;
}

/* hkv_expiring(): the nearest expiries first, from the index; expired and persisted keys out */
static void test_expiring(void **state)
{
	struct fx *f = *state;
	struct expiring x = { .stop_after = 0 };
	int64_t t0 = f->clk.now;
	char longkey[300];

	for (int i = 0; i < 50; i++) {
		char k[16];

		snprintf(k, sizeof(k), "plain%02d", i);
		put(f->db, k, "v");
	}
	put(f->db, "far", "v");
	assert_int_equal(hkv_pexpire(f->db, "far", 3, 9000, 0), 1);
	put(f->db, "near", "v");
	assert_int_equal(hkv_pexpire(f->db, "near", 4, 1000, 0), 1);
	put(f->db, "gone", "v");
	assert_int_equal(hkv_pexpire(f->db, "gone", 4, 10, 0), 1);
	put(f->db, "kept", "v");
	assert_int_equal(hkv_pexpire(f->db, "kept", 4, 500, 0), 1);
	assert_int_equal(hkv_persist(f->db, "kept", 4), 1);
	memset(longkey, 'L', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	put(f->db, longkey, "v");
	assert_int_equal(hkv_pexpire(f->db, longkey, strlen(longkey), 5000, 0), 1);
	f->clk.now += 10; /* "gone" expired, not swept */

	assert_int_equal(hkv_expiring(f->db, 8, expiring_cb, &x), 3);
	assert_int_equal(x.klen[0], 4);
	assert_memory_equal(x.keys[0], "near", 4);
	assert_int_equal(x.at[0], t0 + 1000);
	/* a long key comes back whole, not as its index encoding */
	assert_int_equal(x.klen[1], strlen(longkey));
	assert_memory_equal(x.keys[1], longkey, strlen(longkey));
	assert_int_equal(x.at[1], t0 + 5000);
	assert_memory_equal(x.keys[2], "far", 3);

	memset(&x, 0, sizeof(x));
	assert_int_equal(hkv_expiring(f->db, 1, expiring_cb, &x), 1);
	assert_memory_equal(x.keys[0], "near", 4);
	memset(&x, 0, sizeof(x));
	x.stop_after = 2;
	assert_int_equal(hkv_expiring(f->db, 8, expiring_cb, &x), 2);
	memset(&x, 0, sizeof(x));
	assert_int_equal(hkv_expiring(f->db, 0, expiring_cb, &x), 0);
	assert_int_equal(hkv_expiring(f->db, 8, NULL, NULL), -EINVAL);
	f->clk.now = t0 + 9000;
	assert_int_equal(hkv_expiring(f->db, 8, expiring_cb, &x), 0);
}

struct collect {
	char **keys;
	size_t n, cap;
	bool prefixes_only;
};

static int collect_cb(void *arg, const void *key, size_t klen, enum hkv_type type,
		      bool is_prefix)
{
	struct collect *c = arg;

	(void)type;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
	}
	c->keys[c->n] = malloc(klen + 2);
	memcpy(c->keys[c->n], key, klen);
	c->keys[c->n][klen] = is_prefix ? '*' : 0;
	c->keys[c->n][klen + (is_prefix ? 1 : 0)] = 0;
	c->n++;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->keys[i]);
	free(c->keys);
	memset(c, 0, sizeof(*c));
}

static void scan_all(struct hkv *db, const struct hkv_scan_opts *o, struct collect *c)
{
	struct hkv_cursor cur;
	int calls = 0;

	hkv_cursor_init(&cur);
	while (!cur.done) {
		char tok[2 * HKV_CURSOR_MAX + 2];

		assert_true(hkv_scan(db, &cur, o, collect_cb, c) >= 0);
		/* the cursor survives a round trip through its printable form */
		hkv_cursor_encode(&cur, tok);
		assert_int_equal(hkv_cursor_decode(tok, &cur), 0);
		if (!strcmp(tok, "0"))
			break;
		assert_true(++calls < 100000);
	}
}

static void test_scan_filters(void **state)
{
	struct fx *f = *state;
	struct hkv_scan_opts o = { 0 };
	struct collect c = { 0 };
	char k[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "user:%04d", i);
		put(f->db, k, "x");
	}
	assert_int_equal(hkv_create(f->db, "user:h", 6, HKV_TYPE_HASH, NULL), 0);
	put(f->db, "other", "x");
	scan_all(f->db, NULL, &c);
	assert_int_equal(c.n, 1002);
	for (size_t i = 1; i < c.n; i++)
		assert_true(strcmp(c.keys[i - 1], c.keys[i]) < 0);
	collect_free(&c);

	o.match = "user:00?[0-4]";
	o.count = 7;
	scan_all(f->db, &o, &c);
	assert_int_equal(c.n, 50);
	collect_free(&c);

	o.match = NULL;
	o.type = HKV_TYPE_HASH;
	scan_all(f->db, &o, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.keys[0], "user:h");
	collect_free(&c);

	/* COUNT bounds the work of one call even when nothing matches */
	struct hkv_cursor cur;

	hkv_cursor_init(&cur);
	o.type = HKV_TYPE_LIST;
	o.count = 10;
	assert_int_equal(hkv_scan(f->db, &cur, &o, collect_cb, &c), 0);
	assert_false(cur.done);
	assert_int_equal(hkv_cursor_decode("zz", &cur), -EINVAL);
	assert_int_equal(hkv_cursor_decode("c0", &cur), -EINVAL);
}

static void test_scan_prefix_delim(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = { "a",     "a/b",   "a/c/d", "a/c/e", "a/c/f/g",
					    "a/d",   "a/e/",  "ab",    "b/x",   "a/\xff/z",
					    "a/\xff\xff", "c" };
	struct hkv_scan_opts o = { 0 };
	struct collect c = { 0 };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(f->db, keys[i], "v");
	o.prefix = "a/";
	o.prefix_len = 2;
	o.has_delim = true;
	o.delim = '/';
	o.count = 1;
	scan_all(f->db, &o, &c);
	assert_int_equal(c.n, 6);
	assert_string_equal(c.keys[0], "a/b");
	assert_string_equal(c.keys[1], "a/c/*");
	assert_string_equal(c.keys[2], "a/d");
	assert_string_equal(c.keys[3], "a/e/*");
	assert_string_equal(c.keys[4], "a/\xff/*");
	assert_string_equal(c.keys[5], "a/\xff\xff");
	collect_free(&c);
	/* top level */
	o.prefix = NULL;
	o.prefix_len = 0;
	scan_all(f->db, &o, &c);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "a");
	assert_string_equal(c.keys[1], "a/*");
	assert_string_equal(c.keys[2], "ab");
	assert_string_equal(c.keys[3], "b/*");
	assert_string_equal(c.keys[4], "c");
	collect_free(&c);
	/* a prefix longer than the ordering prefix still selects exactly */
	char lp[600];

	memset(lp, 'x', sizeof(lp));
	for (int i = 0; i < 5; i++) {
		lp[599] = (char)('0' + i);
		assert_int_equal(hkv_set(f->db, lp, 600, "v", 1, NULL), 1);
	}
	lp[500] = 'y';
	assert_int_equal(hkv_set(f->db, lp, 600, "v", 1, NULL), 1);
	lp[500] = 'x';
	o.prefix = lp;
	o.prefix_len = 550;
	o.has_delim = false;
	scan_all(f->db, &o, &c);
	assert_int_equal(c.n, 5);
	collect_free(&c);
}

struct churn {
	struct hkv *db;
	atomic_bool stop;
	uint64_t seed;
};

static void *churn_main(void *arg)
{
	struct churn *ch = arg;
	char k[32];

	while (!atomic_load(&ch->stop)) {
		uint64_t r = test_rng(&ch->seed);

		snprintf(k, sizeof(k), "t%05u", (unsigned)(r % 4000));
		if (r & (1 << 20))
			hkv_set(ch->db, k, strlen(k), "c", 1, NULL);
		else
			hkv_del(ch->db, k, strlen(k));
	}
	return NULL;
}

/* Keys present for the whole iteration are reported exactly once while a writer churns. */
static void test_scan_concurrent(void **state)
{
	struct fx *f = *state;
	struct churn ch = { f->db, false, 7 };
	struct hkv_scan_opts o = { .count = 25 };
	struct collect c = { 0 };
	pthread_t th;
	char k[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "s%05d", i);
		put(f->db, k, "stable");
	}
	assert_int_equal(pthread_create(&th, NULL, churn_main, &ch), 0);
	scan_all(f->db, &o, &c);
	atomic_store(&ch.stop, true);
	pthread_join(th, NULL);
	size_t stable = 0;

	for (size_t i = 0; i < c.n; i++) {
		if (c.keys[i][0] == 's')
			stable++;
		if (i)
			assert_true(strcmp(c.keys[i - 1], c.keys[i]) < 0); /* never twice */
	}
	assert_int_equal(stable, 2000);
	collect_free(&c);
}

static void test_attrs_versions(void **state)
{
	struct fx *f = *state;
	struct hkv_attr a, b;
	struct hkv_create_attr ca = { 0600, 1000, 1001 };
	struct hkv_set_opts o = { .ca = &ca };

	assert_int_equal(hkv_set(f->db, "k", 1, "v", 1, &o), 1);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	assert_int_equal(a.mode, 0600);
	assert_int_equal(a.uid, 1000);
	assert_int_equal(a.gid, 1001);
	assert_int_equal(a.size, 1);
	assert_int_equal(a.type, HKV_TYPE_STRING);
	assert_int_equal(a.mtime_ns, f->clk.now * 1000000);
	/* an overwrite keeps the owner; the version grows with every mutation */
	f->clk.now += 5;
	assert_int_equal(hkv_set(f->db, "k", 1, "vv", 2, NULL), 1);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &b), 0);
	assert_int_equal(b.uid, 1000);
	assert_true(b.version > a.version);
	assert_int_equal(b.mtime_ns, f->clk.now * 1000000);
	a = b;
	b.mode = 0640;
	b.mtime_ns = 12345;
	assert_int_equal(hkv_attr_set(f->db, "k", 1, HKV_ATTR_MODE | HKV_ATTR_MTIME, &b), 0);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &b), 0);
	assert_int_equal(b.mode, 0640);
	assert_int_equal(b.mtime_ns, 12345);
	assert_true(b.version > a.version);
	assert_value(f->db, "k", "vv");
	assert_int_equal(hkv_attr_set(f->db, "k", 1, 1u << 9, &b), -EINVAL);
	assert_int_equal(hkv_attr_set(f->db, "none", 4, HKV_ATTR_MODE, &b), -ENOENT);
	/* versions are never reused, also after delete and reopen */
	a = b;
	assert_int_equal(hkv_del(f->db, "k", 1), 1);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = test_open(f->dir, &f->opt);
	put(f->db, "k", "again");
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &b), 0);
	assert_true(b.version > a.version);
	assert_true(b.id != a.id);
}

static int list_cb(void *arg, const char *name)
{
	struct collect *c = arg;

	return collect_cb(c, name, strlen(name), HKV_TYPE_NONE, false);
}

static void test_xattrs(void **state)
{
	struct fx *f = *state;
	struct collect c = { 0 };
	struct hkv_buf b;
	char name[300];

	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.a", "1", 1, 0), -ENOENT);
	put(f->db, "k", "v");
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.b", "2", 1, 0), 0);
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.a", "1", 1, HKV_XATTR_CREATE), 0);
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.a", "9", 1, HKV_XATTR_CREATE),
			 -EEXIST);
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.c", "9", 1, HKV_XATTR_REPLACE),
			 -ENODATA);
	assert_int_equal(hkv_xattr_get(f->db, "k", 1, "user.a", &b), 0);
	assert_int_equal(b.len, 1);
	assert_memory_equal(b.data, "1", 1);
	hkv_buf_release(&b);
	assert_int_equal(hkv_xattr_get(f->db, "k", 1, "user.zz", &b), -ENODATA);
	assert_int_equal(hkv_xattr_list(f->db, "k", 1, list_cb, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[0], "user.a");
	assert_string_equal(c.keys[1], "user.b");
	collect_free(&c);
	memset(name, 'n', sizeof(name));
	name[299] = 0;
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, name, "1", 1, 0), -ERANGE);
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "", "1", 1, 0), -EINVAL);
	assert_int_equal(hkv_xattr_set(f->db, "k", 1, "user.big", name, 65537, 0), -E2BIG);
	assert_int_equal(hkv_xattr_del(f->db, "k", 1, "user.a"), 0);
	assert_int_equal(hkv_xattr_del(f->db, "k", 1, "user.a"), -ENODATA);
	/* xattrs go with the key */
	assert_int_equal(hkv_del(f->db, "k", 1), 1);
	put(f->db, "k", "v");
	assert_int_equal(hkv_xattr_get(f->db, "k", 1, "user.b", &b), -ENODATA);
}

static void test_open_rules(void **state)
{
	struct fx *f = *state;
	struct hkv_options o = f->opt;
	struct hkv *db2 = NULL;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char path[4096];

	/* one owner: a second opener is refused and changes nothing */
	put(f->db, "k", "v");
	assert_int_equal(hkv_open(f->dir, &f->opt, &db2), -EBUSY);
	assert_null(db2);
	assert_value(f->db, "k", "v");
	o.read_only = true;
	assert_int_equal(hkv_open(f->dir, &o, &db2), -EBUSY);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	/* read-only opener: reads work, writes are -EROFS */
	assert_int_equal(hkv_open(f->dir, &o, &db2), 0);
	assert_value(db2, "k", "v");
	assert_int_equal(hkv_set(db2, "k", 1, "w", 1, NULL), -EROFS);
	assert_int_equal(hkv_del(db2, "k", 1), -EROFS);
	assert_int_equal(hkv_close(db2), 0);
	/* bad options */
	o = f->opt;
	o.compress_level = 0;
	assert_int_equal(hkv_open(f->dir, &o, &db2), -EINVAL);
	o = f->opt;
	o.segment_size = 1000;
	assert_int_equal(hkv_open(f->dir, &o, &db2), -EINVAL);
	o = f->opt;
	o.create = false;
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(hkv_open(path, &o, &db2), -ENOENT);
	/* a newer format is refused */
	snprintf(path, sizeof(path), "%s/index", f->dir);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, path, 0, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "info", 0, &dbi), 0);
	uint64_t v = 99;
	MDB_val k = { 6, "format" }, d = { 8, &v };

	assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(hkv_open(f->dir, &f->opt, &db2), -HKV_EFORMAT);
}

struct writer {
	struct hkv *db;
	int id;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char k[32], v[32];

	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "w%02d-%03d", w->id, i);
		snprintf(v, sizeof(v), "%d-%d", w->id, i);
		if (hkv_set(w->db, k, strlen(k), v, strlen(v), NULL) != 1)
			return (void *)1;
	}
	return NULL;
}

/* Many writers: every write lands, and they share commits. */
static void test_group_commit(void **state)
{
	struct fx *f = *state;
	struct writer w[16];
	pthread_t th[16];
	struct hkv_stats st;
	char k[32], v[32];

	for (int i = 0; i < 16; i++) {
		w[i].db = f->db;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 16; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 200; j++) {
			snprintf(k, sizeof(k), "w%02d-%03d", i, j);
			snprintf(v, sizeof(v), "%d-%d", i, j);
			assert_value(f->db, k, v);
		}
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.keys, 3200);
	assert_true(st.writes >= 3200);
	assert_true(st.commits <= st.writes);
	/* a failing write in a group does not take the others down */
	assert_int_equal(hkv_create(f->db, "h", 1, HKV_TYPE_HASH, NULL), 0);
	assert_int_equal(hkv_incrby(f->db, "h", 1, 1, NULL), -HKV_EWRONGTYPE);
}


struct last_entry {
	unsigned char key[HKV_KEY_MAX];
	size_t klen;
	bool is_prefix;
	int n;
};

static int last_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct last_entry *l = arg;

	(void)type;
	memcpy(l->key, key, klen);
	l->klen = klen;
	l->is_prefix = is_prefix;
	l->n++;
	return 1; /* one entry per call: the engine's cursor is then "after it" */
}

/* hkv_cursor_after() computes exactly the cursor hkv_scan() keeps after each entry. */
static void test_cursor_after(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = { "a", "a/b", "a/c/d", "a/c/e", "b", "b/\xff\xff/x",
					    "c/", "d" };
	struct hkv_scan_opts o = { .has_delim = true, .delim = '/' };
	struct hkv_cursor cur, mine;
	char big[1000];
	int steps = 0, long_seen = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(f->db, keys[i], "v");
	memset(big, 'L', sizeof(big));
	for (int i = 0; i < 3; i++) {
		big[999] = (char)('0' + i);
		assert_int_equal(hkv_set(f->db, big, sizeof(big), "v", 1, NULL), 1);
	}
	for (int pass = 0; pass < 2; pass++) {
		o.has_delim = pass == 0;
		hkv_cursor_init(&cur);
		while (!cur.done) {
			struct last_entry l = { .n = 0 };
			int rc = hkv_scan(f->db, &cur, &o, last_cb, &l);

			assert_true(rc >= 0);
			if (!l.n)
				continue;
			assert_int_equal(hkv_cursor_after(&mine, l.key, l.klen, l.is_prefix), 0);
			assert_int_equal(mine.done, cur.done);
			if (!cur.done && l.klen <= HKV_ORDER_PREFIX) {
				assert_int_equal(mine.len, cur.len);
				assert_memory_equal(mine.pos, cur.pos, cur.len);
			} else if (!cur.done) {
				/*
				 * A long key's position depends on the store's secret hash key: the
				 * cursor has another form, and resumes at the same place.
				 */
				struct hkv_cursor c2 = cur;
				struct last_entry a = { .n = 0 }, b = { .n = 0 };

				assert_int_equal(hkv_scan(f->db, &c2, &o, last_cb, &a),
						 hkv_scan(f->db, &mine, &o, last_cb, &b));
				assert_int_equal(a.n, b.n);
				assert_int_equal(mine.done, c2.done);
				if (a.n) {
					assert_int_equal(a.klen, b.klen);
					assert_memory_equal(a.key, b.key, a.klen);
					assert_int_equal(mine.len, c2.len);
					assert_memory_equal(mine.pos, c2.pos, c2.len);
				}
				long_seen++;
			}
			assert_true(++steps < 100);
		}
	}
	assert_int_equal(long_seen, 2 * 3);
	/* a prefix longer than the ordering prefix has no position of its own */
	assert_int_equal(hkv_cursor_after(&mine, big, 500, true), -ERANGE);
	assert_int_equal(hkv_cursor_after(&mine, big, 0, false), -EINVAL);
	/* the successor of an all-0xff prefix is the end */
	assert_int_equal(hkv_cursor_after(&mine, "\xff\xff", 2, true), 0);
	assert_true(mine.done);
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(hkv_glob_match("*", "", 0));
	assert_true(hkv_glob_match("a*b*c", "axxbyyc", 7));
	assert_false(hkv_glob_match("a*b*c", "axxbyy", 6));
	assert_true(hkv_glob_match("h?llo", "hello", 5));
	assert_true(hkv_glob_match("h[ae]llo", "hallo", 5));
	assert_false(hkv_glob_match("h[^e]llo", "hello", 5));
	assert_true(hkv_glob_match("h[a-b]llo", "hbllo", 5));
	assert_true(hkv_glob_match("a\\*b", "a*b", 3));
	assert_false(hkv_glob_match("a\\*b", "axb", 3));
	assert_true(hkv_glob_match("*:*:name", "user:1001:name", 14));
	assert_true(hkv_glob_match("a?c", "a\0c", 3));
	/* a hostile pattern finishes */
	char s[200];

	memset(s, 'a', sizeof(s));
	assert_false(hkv_glob_match("*a*a*a*a*a*a*a*a*a*a*a*b", s, sizeof(s)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_del_exists_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_family, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_and_active_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_prefix_delim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attrs_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_after, setup, teardown),
		cmocka_unit_test(test_glob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
