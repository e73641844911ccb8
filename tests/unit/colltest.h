/* SPDX-License-Identifier: MIT */
/*
 * colltest.h - fixture and helpers shared by the collection tests (test_hash.c, test_list.c,
 * test_set.c, test_zset.c): a store in a scratch directory with a manual clock, reopening
 * it, collecting callback output, and counting the raw records left under a key id.
 */
#ifndef HKV_COLLTEST_H
#define HKV_COLLTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv_int.h"
#include "testutil.h"

struct cfix {
	char *dir;
	struct hkv *db;
	struct test_clock clk;
	struct hkv_options opt;
};

static inline int cfix_setup(void **state)
{
	struct cfix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->clk.now = 1700000000000;
	f->dir = test_mkdtemp("coll");
	assert_non_null(f->dir);
	test_options(&f->opt, &f->clk);
	f->db = test_open(f->dir, &f->opt);
	*state = f;
	return 0;
}

static inline int cfix_teardown(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(hkv_close(f->db), 0);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static inline void cfix_reopen(struct cfix *f)
{
	assert_int_equal(hkv_close(f->db), 0);
	f->db = test_open(f->dir, &f->opt);
}

/* The id of @key (fails the test if absent). */
static inline uint64_t key_id(struct hkv *db, const char *key)
{
	struct hkv_attr a;

	assert_int_equal(hkv_attr_get(db, key, strlen(key), &a), 0);
	return a.id;
}

/* Number of records of @dbi whose key starts with the 8-byte @id. */
static inline size_t count_id_records(struct hkv *db, MDB_dbi dbi, uint64_t id)
{
	unsigned char p[8];
	struct kvtx *txn;
	struct kvcur *c;
	MDB_val k = { 8, p }, v;
	size_t n = 0;
	int rc;

	put_be64(p, id);
	assert_int_equal(rtx_begin(db, &txn), 0);
	assert_int_equal(kv_cursor_open(txn, dbi, &c), 0);
	for (rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
	     rc = kv_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 8 || memcmp(k.mv_data, p, 8))
			break;
		n++;
	}
	kv_cursor_close(c);
	rtx_end(db, txn);
	return n;
}

/* One element reported by a callback: copies of its two byte strings. */
struct citem {
	unsigned char *a, *b;
	size_t alen, blen;
	double score;
};

struct clist {
	struct citem *v;
	size_t n, cap;
	size_t stop_after; /* the callback returns 7 after this many items (0: never) */
};

static inline void clist_add(struct clist *l, const void *a, size_t alen, const void *b,
			     size_t blen, double score)
{
	struct citem *it;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	it = &l->v[l->n++];
	it->a = malloc(alen + 1);
	it->b = malloc(blen + 1);
	assert_non_null(it->a);
	assert_non_null(it->b);
	if (alen)
		memcpy(it->a, a, alen);
	if (blen)
		memcpy(it->b, b, blen);
	it->a[alen] = 0; /* so that tests may treat them as strings */
	it->b[blen] = 0;
	it->alen = alen;
	it->blen = blen;
	it->score = score;
}

static inline void clist_free(struct clist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].a);
		free(l->v[i].b);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static inline int clist_elem_cb(void *arg, const void *a, size_t alen, const void *b,
				size_t blen)
{
	struct clist *l = arg;

	clist_add(l, a, alen, b, blen, 0);
	return l->stop_after && l->n >= l->stop_after ? 7 : 0;
}

static inline int clist_z_cb(void *arg, const void *m, size_t mlen, double score)
{
	struct clist *l = arg;

	clist_add(l, m, mlen, NULL, 0, score);
	return l->stop_after && l->n >= l->stop_after ? 7 : 0;
}

static inline bool citem_is(const struct citem *it, const void *a, size_t alen)
{
	return it->alen == alen && !memcmp(it->a, a, alen);
}

/* A member of @len bytes: @len - 4 copies of @fill followed by a 4-byte tag (or a prefix). */
static inline unsigned char *long_member(size_t len, unsigned char fill, uint32_t tag)
{
	unsigned char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memset(p, fill, len);
	for (size_t i = 0; i < 4 && i < len; i++)
		p[len - 1 - i] = (unsigned char)(tag >> (8 * i));
	return p;
}

#define S(x) (x), strlen(x)

#endif /* HKV_COLLTEST_H */
