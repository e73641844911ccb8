// SPDX-License-Identifier: MIT
/*
 * hash.c - Redis hashes: HSET, HSETNX, HGET, HDEL, HEXISTS, HLEN, HGETALL, HINCRBY, HSCAN.
 *
 * A hash is a key record of type HKV_TYPE_HASH whose size is the number of fields, and one
 * elems record per field: key = id + ekey(field), value = [u16 length + field if long] + the
 * field's value (layout in coll.c). Fields come in elems order: field byte order, except
 * among fields longer than 448 bytes sharing their first 448 bytes (then by hash).
 *
 * Complexity (n fields): HSET, HSETNX, HGET, HDEL, HEXISTS, HINCRBY O(log n); HLEN O(1);
 * HGETALL O(n); HSCAN O(count + log n) per call.
 *
 * Invariants: the key record's size equals the number of elems records under its id; the
 * key exists only while it has at least one field, unless it was made empty by hkv_create().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "coll_int.h"

struct hset_args {
	const void *key, *field, *val;
	size_t klen, flen, vlen;
	const struct hkv_create_attr *ca;
	bool nx;
};

static int hset_fn(struct wtx *w, void *arg)
{
	struct hset_args *a = arg;
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	bool created;
	int found, rc;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_HASH, a->ca, &m, &created);
	if (rc)
		return rc;
	found = elem_find(w->db, w->txn, m.id, a->field, a->flen, &e);
	if (found < 0)
		return found;
	if (e.collision)
		return -EEXIST;
	if (found && a->nx)
		return 0;
	rc = elem_val_put(w, &e.k, e.is_long, a->field, a->flen, a->val, a->vlen);
	if (rc)
		return rc;
	if (!found)
		m.size++;
	rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
	return rc ? rc : !found;
}

static int hset_common(struct hkv *db, const void *key, size_t klen, const void *field,
		       size_t flen, const void *val, size_t vlen,
		       const struct hkv_create_attr *ca, bool nx)
{
	struct hset_args a = { key, field, val, klen, flen, vlen, ca, nx };

	if (key_check(klen) || !key || member_check(flen) || bytes_arg(&a.field, flen) ||
	    vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	return hkv_write(db, hset_fn, &a);
}

int hkv_hset(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	     const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	return hset_common(db, key, klen, field, flen, val, vlen, ca, false);
}

int hkv_hsetnx(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	       const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	return hset_common(db, key, klen, field, flen, val, vlen, ca, true);
}

/* Look up one field for a reader; on 1 the transaction is left open in @rd. */
static int hfield_read(struct hkv *db, const void *key, size_t klen, const void *field,
		       size_t flen, struct coll_rd *rd, struct elem_ref *e)
{
	int rc;

	if (member_check(flen) || bytes_arg(&field, flen))
		return -EINVAL;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_HASH, rd);
	if (rc)
		return rc;
	rc = elem_find(db, rd->txn, rd->m.id, field, flen, e);
	if (rc <= 0)
		coll_rd_end(db, rd);
	return rc;
}

int hkv_hget(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	     struct hkv_buf *out)
{
	struct coll_rd rd;
	struct elem_ref e;
	int rc;

	out->data = NULL;
	out->len = 0;
	rc = hfield_read(db, key, klen, field, flen, &rd, &e);
	if (rc <= 0)
		return rc ? rc : -ENOENT;
	rc = buf_set(out, e.payload, e.plen);
	coll_rd_end(db, &rd);
	return rc;
}

int hkv_hexists(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen)
{
	struct coll_rd rd;
	struct elem_ref e;
	int rc;

	rc = hfield_read(db, key, klen, field, flen, &rd, &e);
	if (rc == -ENOENT)
		return 0;
	if (rc == 1)
		coll_rd_end(db, &rd);
	return rc;
}

int hkv_hdel(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen)
{
	struct coll_rm_args a = { HKV_TYPE_HASH, key, field, klen, flen };

	if (key_check(klen) || !key || member_check(flen) || bytes_arg(&a.member, flen))
		return -EINVAL;
	return hkv_write(db, coll_remove_fn, &a);
}

int64_t hkv_hlen(struct hkv *db, const void *key, size_t klen)
{
	return coll_card(db, key, klen, HKV_TYPE_HASH);
}

struct emit_elem {
	hkv_elem_fn cb;
	void *arg;
};

static int emit_field(void *arg, const void *mem, size_t mlen, const void *pay, size_t plen)
{
	struct emit_elem *e = arg;

	return e->cb(e->arg, mem, mlen, pay, plen);
}

int hkv_hgetall(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg)
{
	struct emit_elem e = { cb, arg };

	return coll_walk(db, key, klen, HKV_TYPE_HASH, emit_field, &e);
}

int hkv_hscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg)
{
	struct emit_elem e = { cb, arg };

	return coll_scan(db, key, klen, HKV_TYPE_HASH, cur, match, count, emit_field, &e);
}

/*
 * The strict integer syntax of Redis (string2ll): optional '-', no '+', no leading zeros, no
 * spaces, within int64.
 */
static bool parse_i64(const unsigned char *s, size_t n, int64_t *out)
{
	uint64_t v = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (!n || n > 20)
		return false;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i >= n || s[i] < '1' || s[i] > '9')
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = s[i] - '0';

		if (d > 9 || v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

struct hincr_args {
	const void *key, *field;
	size_t klen, flen;
	int64_t delta;
	int64_t out;
};

static int hincr_fn(struct wtx *w, void *arg)
{
	struct hincr_args *a = arg;
	char num[24];
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	int64_t cur = 0;
	bool created;
	int found, rc, n;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_HASH, NULL, &m, &created);
	if (rc)
		return rc;
	found = elem_find(w->db, w->txn, m.id, a->field, a->flen, &e);
	if (found < 0)
		return found;
	if (e.collision)
		return -EEXIST;
	if (found && !parse_i64(e.payload, e.plen, &cur))
		return -HKV_ENOTINT;
	if (__builtin_add_overflow(cur, a->delta, &a->out))
		return -HKV_ENOTINT;
	n = snprintf(num, sizeof(num), "%" PRId64, a->out);
	rc = elem_val_put(w, &e.k, e.is_long, a->field, a->flen, num, (size_t)n);
	if (rc)
		return rc;
	if (!found)
		m.size++;
	return wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
}

int hkv_hincrby(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
		int64_t delta, int64_t *out)
{
	struct hincr_args a = { key, field, klen, flen, delta, 0 };
	int rc;

	if (key_check(klen) || !key || member_check(flen) || bytes_arg(&a.field, flen))
		return -EINVAL;
	rc = hkv_write(db, hincr_fn, &a);
	if (!rc && out)
		*out = a.out;
	return rc;
}
