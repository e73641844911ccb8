/* SPDX-License-Identifier: MIT */
/*
 * elems.h - a collection's elements loaded into memory (see elems.c).
 */
#ifndef HKV_SERVER_ELEMS_H
#define HKV_SERVER_ELEMS_H

#include <stdbool.h>
#include <stddef.h>

#include "hkv/engine.h"

struct elem {
	size_t aoff, alen;
	size_t boff, blen;
	double score;
	bool has_b;
};

struct elems {
	struct elem *v;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
};

void elems_init(struct elems *e);
void elems_free(struct elems *e);
/** elems_push() - append one element (@b NULL: none). Return: 0, -ENOMEM. */
int elems_push(struct elems *e, const void *a, size_t alen, const void *b, size_t blen,
	       double score);

/* Loaders: the engine's return value (0, -HKV_EWRONGTYPE, -ENOMEM, -EIO...). Absent: empty. */
int elems_load_hash(struct hkv *db, const void *key, size_t klen, struct elems *e);
int elems_load_set(struct hkv *db, const void *key, size_t klen, struct elems *e);
int elems_load_list(struct hkv *db, const void *key, size_t klen, struct elems *e);
int elems_load_zset(struct hkv *db, const void *key, size_t klen, struct elems *e);
/** elems_load_stream() - every record of a stream: @a the record key, @b its value. */
int elems_load_stream(struct hkv *db, const void *key, size_t klen, struct elems *e);
int elems_load_zrange(struct hkv *db, const void *key, size_t klen,
		      const struct hkv_zrange_opts *o, struct elems *e);

/*
 * A whole value (keyspace.c): read_value() loads @key's type, expiry and value (@e for a
 * collection, @str for a string); write_value() writes one as @dst, which must not exist.
 * Return: 0, or a negative engine error (-ENOENT: no such key).
 */
int read_value(struct hkv *db, const char *key, size_t klen, int *type, struct elems *e,
	       struct hkv_buf *str, int64_t *expire_at);
int write_value(struct hkv *db, const char *dst, size_t dlen, int t, const struct elems *e,
		const void *str, size_t slen, int64_t expire_at);

static inline const char *elem_a(const struct elems *e, size_t i)
{
	return e->arena + e->v[i].aoff;
}

static inline const char *elem_b(const struct elems *e, size_t i)
{
	return e->arena + e->v[i].boff;
}

#endif /* HKV_SERVER_ELEMS_H */
