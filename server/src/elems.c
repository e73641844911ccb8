// SPDX-License-Identifier: MIT
/*
 * elems.c - a collection's elements read into memory at once, for the commands the engine has
 * no single operation for (random members, set algebra, SORT, DUMP, COPY): fields or members
 * (@a), values (@b, hashes) and scores (zsets), stored in one arena so that loading a
 * collection of N elements costs a few reallocations, not N mallocs.
 *
 * Offsets, not pointers, are kept while loading (the arena moves as it grows); elem_a() and
 * elem_b() turn them into pointers once loading is done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"

void elems_init(struct elems *e)
{
	memset(e, 0, sizeof(*e));
}

void elems_free(struct elems *e)
{
	free(e->v);
	free(e->arena);
	elems_init(e);
}

static int arena_put(struct elems *e, const void *p, size_t n, size_t *off)
{
	if (e->alen + n + 1 > e->acap) {
		size_t cap = e->acap ? e->acap : 1024;
		char *a;

		while (cap < e->alen + n + 1)
			cap *= 2;
		a = realloc(e->arena, cap);
		if (!a)
			return -ENOMEM;
		e->arena = a;
		e->acap = cap;
	}
	*off = e->alen;
	if (n)
		memcpy(e->arena + e->alen, p, n);
	e->arena[e->alen + n] = 0;
	e->alen += n + 1;
	return 0;
}

int elems_push(struct elems *e, const void *a, size_t alen, const void *b, size_t blen,
	       double score)
{
	struct elem *x;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct elem *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	x = &e->v[e->n];
	x->alen = alen;
	x->blen = blen;
	x->score = score;
	x->has_b = b != NULL;
	if (arena_put(e, a, alen, &x->aoff))
		return -ENOMEM;
	if (b && arena_put(e, b, blen, &x->boff))
		return -ENOMEM;
	e->n++;
	return 0;
}

static int pair_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	return elems_push(arg, a, alen, b, blen, 0) ? -ENOMEM : 0;
}

static int member_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	(void)b;
	(void)blen;
	return elems_push(arg, a, alen, NULL, 0, 0) ? -ENOMEM : 0;
}

static int zcb(void *arg, const void *m, size_t mlen, double score)
{
	return elems_push(arg, m, mlen, NULL, 0, score) ? -ENOMEM : 0;
}

int elems_load_hash(struct hkv *db, const void *key, size_t klen, struct elems *e)
{
	return hkv_hgetall(db, key, klen, pair_cb, e);
}

int elems_load_set(struct hkv *db, const void *key, size_t klen, struct elems *e)
{
	return hkv_smembers(db, key, klen, member_cb, e);
}

int elems_load_list(struct hkv *db, const void *key, size_t klen, struct elems *e)
{
	return hkv_lrange(db, key, klen, 0, -1, member_cb, e);
}

int elems_load_zset(struct hkv *db, const void *key, size_t klen, struct elems *e)
{
	struct hkv_zrange_opts o = { .start = 0, .stop = -1, .limit = -1 };

	return hkv_zrange(db, key, klen, &o, zcb, e);
}

int elems_load_zrange(struct hkv *db, const void *key, size_t klen,
		      const struct hkv_zrange_opts *o, struct elems *e)
{
	return hkv_zrange(db, key, klen, o, zcb, e);
}

int elems_load_stream(struct hkv *db, const void *key, size_t klen, struct elems *e)
{
	unsigned char lo[1] = { 0 }, hi[HKV_XREC_KEY_MAX];
	int rc;

	memset(hi, 0xff, sizeof(hi));
	rc = hkv_xrec_range(db, key, klen, lo, 1, hi, sizeof(hi), false, pair_cb, e);
	return rc == -ENOENT ? 0 : rc;
}
