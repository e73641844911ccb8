/* SPDX-License-Identifier: MIT */
/*
 * coll_int.h - helpers shared by the collection types (hash.c, list.c, set.c, zset.c),
 * implemented in coll.c. The record layouts they read and write are described at the top of
 * coll.c.
 */
#ifndef HKV_COLL_INT_H
#define HKV_COLL_INT_H

#include "hkv_int.h"

/** Longest elems key: id + ekey(member). */
#define ELEM_KEY_MAX (KEY_ID_LEN + EKEY_LONG)
/** Longest zidx key: id + sortable score + ekey(member). */
#define ZIDX_KEY_MAX (KEY_ID_LEN + 8 + EKEY_LONG)

/**
 * bytes_arg() - normalise a (pointer, length) argument: NULL is accepted only with length 0
 * and is replaced by an empty string, so that memcpy()/memcmp() never see NULL.
 * Return: 0, -EINVAL.
 */
static inline int bytes_arg(const void **p, size_t len)
{
	if (!*p) {
		if (len)
			return -EINVAL;
		*p = "";
	}
	return 0;
}

/** struct coll_rd - a read of one collection key: the transaction and the key record. */
struct coll_rd {
	struct kvtx *txn;
	struct ekey ek;
	struct kmeta m;
};

/**
 * coll_rd_begin() - start a read transaction and look up @key, which must hold @type.
 * On success the caller ends it with coll_rd_end(); on failure nothing is left open.
 * Return: 0; -EINVAL (key length), -ENOENT (absent or expired), -HKV_EWRONGTYPE, -EIO,
 * -ENOMEM, -HKV_ECORRUPT.
 */
int coll_rd_begin(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
		  struct coll_rd *rd);
void coll_rd_end(struct hkv *db, struct coll_rd *rd);

/** Elements a collection scan examines per call when the caller gives no count (Redis's). */
#define SCAN_COUNT_DEFAULT 10

/** cursor_finish() - mark @cur as at the end of its walk. */
static inline void cursor_finish(struct hkv_cursor *cur)
{
	cur->done = true;
	cur->len = 0;
}

/** struct coll_rm_args - arguments of coll_remove_fn(). */
struct coll_rm_args {
	enum hkv_type type;
	const void *key, *member;
	size_t klen, mlen;
};

/**
 * coll_remove_fn() - write function of HDEL and SREM: remove one element (field or member)
 * of the hash or set @arg->key; the key goes with its last element (coll_commit()).
 * Return: 1 (removed), 0 (no such key or element); -HKV_EWRONGTYPE, an LMDB error.
 */
int coll_remove_fn(struct wtx *w, void *arg);

/**
 * coll_card() - the element count of @key, which must hold @type (HLEN, SCARD, ZCARD).
 * Return: the count, 0 for an absent or expired key; -HKV_EWRONGTYPE, -EINVAL, -EIO.
 */
int64_t coll_card(struct hkv *db, const void *key, size_t klen, enum hkv_type type);

/**
 * coll_wlookup() - in a write: encode @key into @ek and look it up; it must hold @type.
 * Return: 0; -ENOENT, -HKV_EWRONGTYPE, or an error of wkey_lookup().
 */
int coll_wlookup(struct wtx *w, struct ekey *ek, const void *key, size_t klen,
		 enum hkv_type type, struct kmeta *m);

/**
 * coll_commit() - after a mutation: delete the key if it has no element left, else store its
 * record (new version, mtime).
 */
int coll_commit(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		struct kmeta *m);

/**
 * struct elem_ref - the result of elem_find(): the elems key built for the member (reusable
 * for mdb_put/mdb_del in the same transaction) and, if found, the record.
 * @collision: a long member's key is taken by another member with the same first EKEY_SHORT
 *             bytes and the same hash (see coll.c).
 */
struct elem_ref {
	unsigned char kb[ELEM_KEY_MAX];
	MDB_val k, v;
	bool is_long, collision;
	const void *payload;
	size_t plen;
};

/**
 * elem_find() - look up @member of the collection @id in db->dbi_elems.
 * Return: 1 (found: @e->payload/@e->plen set), 0 (absent), -HKV_ECORRUPT, -EIO.
 */
int elem_find(struct hkv *db, struct kvtx *txn, uint64_t id, const void *member, size_t mlen,
	      struct elem_ref *e);

/** coll_emit_fn - one element of a walk or scan (borrowed bytes). */
typedef int (*coll_emit_fn)(void *arg, const void *member, size_t mlen, const void *payload,
			    size_t plen);

/**
 * coll_walk() - call @emit for every element of the hash/set/zset @key in elems order.
 * Return: 0 (also for an absent key), @emit's non-zero value, or an error of coll_rd_begin()
 * other than -ENOENT.
 */
int coll_walk(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	      coll_emit_fn emit, void *arg);

/**
 * coll_scan() - the HSCAN/SSCAN/ZSCAN walk over elems (see coll.c for the cursor format).
 * Return: number of elements reported, @emit's non-zero value, -EINVAL (bad cursor or key),
 * -HKV_EWRONGTYPE, -EIO.
 */
int coll_scan(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	      struct hkv_cursor *cur, const char *match, size_t count, coll_emit_fn emit,
	      void *arg);

/**
 * coll_scan_prep() - coll_scan() that first calls @prep(@arg, key record) in the scan's read
 * transaction, before any @emit (a type whose element layout depends on its key record reads
 * it there). A non-zero return of @prep ends the scan with that value.
 */
int coll_scan_prep(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
		   struct hkv_cursor *cur, const char *match, size_t count,
		   int (*prep)(void *arg, const struct kmeta *m), coll_emit_fn emit, void *arg);

/**
 * buf_set() - make @out a malloc()ed, NUL-terminated copy of @n bytes at @p, freeing what
 * @out held before (so that a write function that is run again does not leak).
 * Return: 0, -ENOMEM.
 */
int buf_set(struct hkv_buf *out, const void *p, size_t n);

/**
 * seek_lt() - position @c at the last record whose key is < @bound (@bound NULL: the last
 * record of the database).
 * Return: 0 and @k/@v; MDB_NOTFOUND; another LMDB code.
 */
int seek_lt(struct kvcur *c, const void *bound, size_t blen, MDB_val *k, MDB_val *v);

/** be_inc() - add one to the big-endian number of @n bytes at @p. Return: false on overflow. */
bool be_inc(unsigned char *p, size_t n);

/** has_id() - whether LMDB key @k belongs to the collection @id. */
static inline bool has_id(const MDB_val *k, uint64_t id)
{
	return k->mv_size >= KEY_ID_LEN && get_be64(k->mv_data) == id;
}

#endif /* HKV_COLL_INT_H */
