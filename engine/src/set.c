// SPDX-License-Identifier: MIT
/*
 * set.c - Redis sets: SADD, SREM, SISMEMBER, SCARD, SMEMBERS, SSCAN.
 *
 * A set is a key record of type HKV_TYPE_SET whose size is the number of members, and one
 * elems record per member: key = id + ekey(member), value = [u16 length + member if long]
 * and no payload (layout in coll.c). Members come in elems order: byte order, except among
 * members longer than 448 bytes sharing their first 448 bytes (then by hash).
 *
 * Complexity (n members): SADD, SREM, SISMEMBER O(log n); SCARD O(1); SMEMBERS O(n);
 * SSCAN O(count + log n) per call.
 */
#include "coll_int.h"

struct smember_args {
	const void *key, *member;
	size_t klen, mlen;
	const struct hkv_create_attr *ca;
};

static int sadd_fn(struct wtx *w, void *arg)
{
	struct smember_args *a = arg;
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	bool created;
	int rc;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_SET, a->ca, &m, &created);
	if (rc)
		return rc;
	rc = elem_find(w->db, w->txn, m.id, a->member, a->mlen, &e);
	if (rc)
		return rc < 0 ? rc : 0;
	if (e.collision)
		return -EEXIST;
	rc = elem_val_put(w, &e.k, e.is_long, a->member, a->mlen, NULL, 0);
	if (rc)
		return rc;
	m.size++;
	rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
	return rc ? rc : 1;
}

static int smember_write(struct hkv *db, wtx_fn fn, const void *key, size_t klen,
			 const void *member, size_t mlen, const struct hkv_create_attr *ca)
{
	struct smember_args a = { key, member, klen, mlen, ca };

	if (key_check(klen) || !key || member_check(mlen) || bytes_arg(&a.member, mlen))
		return -EINVAL;
	return hkv_write(db, fn, &a);
}

int hkv_sadd(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen,
	     const struct hkv_create_attr *ca)
{
	return smember_write(db, sadd_fn, key, klen, member, mlen, ca);
}

int hkv_srem(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen)
{
	struct coll_rm_args a = { HKV_TYPE_SET, key, member, klen, mlen };

	if (key_check(klen) || !key || member_check(mlen) || bytes_arg(&a.member, mlen))
		return -EINVAL;
	return hkv_write(db, coll_remove_fn, &a);
}

int hkv_sismember(struct hkv *db, const void *key, size_t klen, const void *member,
		  size_t mlen)
{
	struct coll_rd rd;
	struct elem_ref e;
	int rc;

	if (member_check(mlen) || bytes_arg(&member, mlen))
		return -EINVAL;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_SET, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = elem_find(db, rd.txn, rd.m.id, member, mlen, &e);
	coll_rd_end(db, &rd);
	return rc;
}

int64_t hkv_scard(struct hkv *db, const void *key, size_t klen)
{
	return coll_card(db, key, klen, HKV_TYPE_SET);
}

struct emit_member {
	hkv_elem_fn cb;
	void *arg;
};

static int emit_member(void *arg, const void *mem, size_t mlen, const void *pay, size_t plen)
{
	struct emit_member *e = arg;

	(void)pay;
	(void)plen;
	return e->cb(e->arg, mem, mlen, NULL, 0);
}

int hkv_smembers(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg)
{
	struct emit_member e = { cb, arg };

	return coll_walk(db, key, klen, HKV_TYPE_SET, emit_member, &e);
}

int hkv_sscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg)
{
	struct emit_member e = { cb, arg };

	return coll_scan(db, key, klen, HKV_TYPE_SET, cur, match, count, emit_member, &e);
}
