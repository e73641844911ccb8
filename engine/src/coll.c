// SPDX-License-Identifier: MIT
/*
 * coll.c - what the four collection types share: element records, the scan cursor, the
 * sortable encoding of scores, and deleting a whole collection.
 *
 * A collection is a key record (keys.c) of type hash, list, set or zset whose size field is
 * the number of elements, plus element records under the key's id, which never changes and is
 * never reused. Because every element key starts with the id, a collection is one contiguous
 * range of the elems database (and, for a zset, of zidx): walks, ranges and scans are cursor
 * walks, and deleting the key is a range delete (coll_delete_all()).
 *
 * elems record of a hash field, set member or zset member:
 *
 *   key:   off  size        field
 *          ---  ----------  -----------------------------------------------------------
 *            0  8           key id, big-endian
 *            8  0..464      ekey(member): the member itself if it has at most EKEY_SHORT
 *                           (448) bytes, else its first 448 bytes + a 16-byte hash
 *   value: off  size        field
 *          ---  ----------  -----------------------------------------------------------
 *            0  2           only for a long member: its length, little-endian
 *            2  449..4160   only for a long member: its bytes (HKV_KEY_MAX)
 *            -  rest        payload: hash = the field's value; set = nothing;
 *                           zset = the score, 8 bytes in the sortable encoding below
 *
 * zidx record of a zset member (score order):
 *
 *   key:   0  8  key id, big-endian
 *          8  8  score, sortable encoding
 *         16  -  ekey(member)
 *   value: empty
 *
 * elems record of a list element (list.c):
 *
 *   key:   0  8  key id, big-endian
 *          8  8  index, sortable i64 (head <= index < tail, both in the key record)
 *   value: the element's bytes
 *
 * The sortable encoding of a double flips every bit of a negative number and only the sign
 * bit of a positive one, so that the 8 big-endian bytes compare like the numbers; -0.0 is
 * stored as +0.0 (they are equal as scores). NaN is never stored.
 *
 * Long members: the ekey orders members bytewise over their first 448 bytes, then by hash, so
 * member order is byte order except among long members sharing those 448 bytes. Two distinct
 * long members with the same prefix and hash (a 128-bit collision) cannot both be stored: the
 * second add fails with -EEXIST. Lookups compare the full stored bytes, so a collision never
 * makes one member answer for another.
 *
 * Scan cursor (struct hkv_cursor.pos), stateless:
 *
 *   off  size    field
 *   ---  ------  -----------------------------------------------------------------------
 *     0  1       CURSOR_TAG
 *     1  0..464  ekey of the last element returned; the next call resumes strictly after it
 *
 * len == 0 means "from the start" (the empty member has an empty ekey, hence the tag byte).
 * Since the position is a key in a fixed order and not a slot, an element present for a whole
 * iteration is returned exactly once, whatever is added or removed meanwhile, also across
 * reopening the store. A cursor whose @done is set returns nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "coll_int.h"

#define CURSOR_TAG 0x45

void put_sortable_double(unsigned char *p, double d)
{
	uint64_t bits;

	if (d == 0)
		d = 0.0; /* fold -0.0 into +0.0 */
	memcpy(&bits, &d, sizeof(bits));
	if (bits >> 63)
		bits = ~bits;
	else
		bits |= 1ull << 63;
	put_be64(p, bits);
}

double get_sortable_double(const unsigned char *p)
{
	uint64_t bits = get_be64(p);
	double d;

	if (bits >> 63)
		bits &= ~(1ull << 63);
	else
		bits = ~bits;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

bool be_inc(unsigned char *p, size_t n)
{
	while (n--) {
		if (++p[n])
			return true;
	}
	return false;
}

size_t elem_key(const struct hkv *db, unsigned char *out, uint64_t id, const void *member,
		size_t mlen, bool *is_long)
{
	struct ekey ek;

	*is_long = ekey_make(db, &ek, member, mlen);
	put_be64(out, id);
	memcpy(out + KEY_ID_LEN, ek.b, ek.len);
	return KEY_ID_LEN + ek.len;
}

int elem_val_put(struct wtx *w, MDB_val *k, bool is_long, const void *member, size_t mlen,
		 const void *payload, size_t plen)
{
	size_t hdr = is_long ? 2 + mlen : 0;
	unsigned char *p;
	MDB_val v;
	int rc;

	v.mv_size = hdr + plen;
	if (!v.mv_size) {
		v.mv_data = "";
		rc = kv_put(w->txn, w->db->dbi_elems, k, &v, 0);
		return rc ? lmdb_err(rc) : 0;
	}
	/* MDB_RESERVE: build the record in place instead of in a temporary buffer */
	rc = kv_put(w->txn, w->db->dbi_elems, k, &v, MDB_RESERVE);
	if (rc)
		return lmdb_err(rc);
	p = v.mv_data;
	if (is_long) {
		p[0] = (unsigned char)mlen;
		p[1] = (unsigned char)(mlen >> 8);
		memcpy(p + 2, member, mlen);
	}
	if (plen)
		memcpy(p + hdr, payload, plen);
	return 0;
}

int elem_val_split(const MDB_val *k, const MDB_val *v, const void **member, size_t *mlen,
		   const void **payload, size_t *plen)
{
	const unsigned char *p = v->mv_data;
	size_t n;

	if (k->mv_size < KEY_ID_LEN)
		return -HKV_ECORRUPT;
	if (!ekey_is_long(k->mv_size - KEY_ID_LEN)) {
		*member = (const unsigned char *)k->mv_data + KEY_ID_LEN;
		*mlen = k->mv_size - KEY_ID_LEN;
		*payload = p;
		*plen = v->mv_size;
		return 0;
	}
	if (v->mv_size < 2)
		return -HKV_ECORRUPT;
	n = (size_t)p[0] | (size_t)p[1] << 8;
	if (n <= EKEY_SHORT || n > HKV_KEY_MAX || v->mv_size < 2 + n)
		return -HKV_ECORRUPT;
	*member = p + 2;
	*mlen = n;
	*payload = p + 2 + n;
	*plen = v->mv_size - 2 - n;
	return 0;
}

int range_delete(struct kvtx *txn, MDB_dbi dbi, const void *prefix, size_t plen)
{
	struct kvcur *c;
	MDB_val k = { plen, (void *)prefix }, v;
	int rc;

	rc = kv_cursor_open(txn, dbi, &c);
	if (rc)
		return lmdb_err(rc);
	rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (!rc) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
			break;
		rc = kv_cursor_del(c);
		if (rc)
			break;
		/* after a delete, MDB_NEXT yields the record that followed the deleted one */
		rc = kv_cursor_get(c, &k, &v, MDB_NEXT);
	}
	kv_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int coll_delete_all(struct wtx *w, const struct kmeta *m)
{
	unsigned char id[KEY_ID_LEN];
	int rc;

	switch (m->type) {
	case HKV_TYPE_HASH:
	case HKV_TYPE_LIST:
	case HKV_TYPE_SET:
	case HKV_TYPE_ZSET:
	case HKV_TYPE_STREAM:
		break;
	default:
		return 0;
	}
	put_be64(id, m->id);
	rc = range_delete(w->txn, w->db->dbi_elems, id, sizeof(id));
	if (!rc && m->type == HKV_TYPE_ZSET)
		rc = range_delete(w->txn, w->db->dbi_zidx, id, sizeof(id));
	return rc;
}

int coll_rd_begin(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
		  struct coll_rd *rd)
{
	int rc;

	rc = key_check(klen);
	if (rc)
		return rc;
	if (!key)
		return -EINVAL;
	rc = rtx_begin(db, &rd->txn);
	if (rc)
		return rc;
	ekey_make(db, &rd->ek, key, klen);
	rc = key_lookup(db, rd->txn, &rd->ek, HKV_NOW_LAZY, &rd->m);
	if (!rc && rd->m.type != type)
		rc = -HKV_EWRONGTYPE;
	if (rc)
		rtx_end(db, rd->txn);
	return rc;
}

void coll_rd_end(struct hkv *db, struct coll_rd *rd)
{
	rtx_end(db, rd->txn);
}

int coll_wlookup(struct wtx *w, struct ekey *ek, const void *key, size_t klen,
		 enum hkv_type type, struct kmeta *m)
{
	int rc;

	ekey_make(w->db, ek, key, klen);
	rc = wkey_lookup(w, ek, key, klen, m);
	if (!rc && m->type != type)
		rc = -HKV_EWRONGTYPE;
	return rc;
}

int coll_commit(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		struct kmeta *m)
{
	if (!m->size)
		return wkey_delete(w, ek, key, klen, m);
	return wkey_store(w, ek, key, klen, m, NULL, 0, m->expire_at);
}

int elem_find(struct hkv *db, struct kvtx *txn, uint64_t id, const void *member, size_t mlen,
	      struct elem_ref *e)
{
	const void *stored;
	size_t slen;
	int rc;

	e->k.mv_size = elem_key(db, e->kb, id, member, mlen, &e->is_long);
	e->k.mv_data = e->kb;
	e->collision = false;
	rc = kv_get(txn, db->dbi_elems, &e->k, &e->v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_err(rc);
	rc = elem_val_split(&e->k, &e->v, &stored, &slen, &e->payload, &e->plen);
	if (rc)
		return rc;
	if (e->is_long && (slen != mlen || memcmp(stored, member, mlen))) {
		e->collision = true;
		return 0;
	}
	return 1;
}

int buf_set(struct hkv_buf *out, const void *p, size_t n)
{
	unsigned char *d = malloc(n + 1);

	if (!d)
		return -ENOMEM;
	if (n)
		memcpy(d, p, n);
	d[n] = 0;
	free(out->data);
	out->data = d;
	out->len = n;
	return 0;
}

int seek_lt(struct kvcur *c, const void *bound, size_t blen, MDB_val *k, MDB_val *v)
{
	MDB_val bk = { blen, (void *)bound };
	int rc;

	if (!bound)
		return kv_cursor_get(c, k, v, MDB_LAST);
	rc = kv_cursor_get(c, &bk, v, MDB_SET_RANGE);
	if (!rc)
		return kv_cursor_get(c, k, v, MDB_PREV);
	if (rc == MDB_NOTFOUND)
		return kv_cursor_get(c, k, v, MDB_LAST);
	return rc;
}

int coll_walk(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	      coll_emit_fn emit, void *arg)
{
	struct coll_rd rd;
	unsigned char idk[KEY_ID_LEN];
	struct kvcur *c;
	MDB_val k, v;
	const void *mem, *pay;
	size_t mlen, plen;
	int rc;

	rc = coll_rd_begin(db, key, klen, type, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = kv_cursor_open(rd.txn, db->dbi_elems, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	put_be64(idk, rd.m.id);
	k.mv_size = sizeof(idk);
	k.mv_data = idk;
	for (rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
	     rc = kv_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (!has_id(&k, rd.m.id))
			break;
		rc = elem_val_split(&k, &v, &mem, &mlen, &pay, &plen);
		if (rc)
			goto out_close;
		rc = emit(arg, mem, mlen, pay, plen);
		if (rc)
			goto out_close;
	}
	rc = rc == MDB_NOTFOUND || !rc ? 0 : lmdb_err(rc);
out_close:
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}

static int cursor_check(const struct hkv_cursor *cur)
{
	size_t n;

	if (!cur->len)
		return 0;
	if (cur->len > HKV_CURSOR_MAX || cur->pos[0] != CURSOR_TAG)
		return -EINVAL;
	n = cur->len - 1;
	return n <= EKEY_SHORT || n == EKEY_LONG ? 0 : -EINVAL;
}

static void cursor_set(struct hkv_cursor *cur, const MDB_val *k)
{
	cur->pos[0] = CURSOR_TAG;
	memcpy(cur->pos + 1, (const unsigned char *)k->mv_data + KEY_ID_LEN,
	       k->mv_size - KEY_ID_LEN);
	cur->len = (uint32_t)(1 + k->mv_size - KEY_ID_LEN);
}

int coll_scan(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	      struct hkv_cursor *cur, const char *match, size_t count, coll_emit_fn emit,
	      void *arg)
{
	return coll_scan_prep(db, key, klen, type, cur, match, count, NULL, emit, arg);
}

int coll_scan_prep(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
		   struct hkv_cursor *cur, const char *match, size_t count,
		   int (*prep)(void *arg, const struct kmeta *m), coll_emit_fn emit, void *arg)
{
	unsigned char seek[ELEM_KEY_MAX];
	struct coll_rd rd;
	struct kvcur *c;
	MDB_val k, v;
	const void *mem, *pay;
	size_t mlen, plen, seen = 0;
	int rc, reported = 0;

	rc = cursor_check(cur);
	if (rc)
		return rc;
	if (cur->done)
		return 0;
	if (!count)
		count = SCAN_COUNT_DEFAULT;
	rc = coll_rd_begin(db, key, klen, type, &rd);
	if (rc == -ENOENT) {
		cursor_finish(cur);
		return 0;
	}
	if (rc)
		return rc;
	if (prep) {
		rc = prep(arg, &rd.m);
		if (rc)
			goto out_end;
	}
	rc = kv_cursor_open(rd.txn, db->dbi_elems, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	put_be64(seek, rd.m.id);
	k.mv_size = KEY_ID_LEN;
	if (cur->len) {
		memcpy(seek + KEY_ID_LEN, cur->pos + 1, cur->len - 1);
		k.mv_size += cur->len - 1;
	}
	k.mv_data = seek;
	rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE);
	/* the cursor names the last element returned: resume strictly after it */
	if (!rc && cur->len && k.mv_size == KEY_ID_LEN + cur->len - 1 &&
	    !memcmp(k.mv_data, seek, k.mv_size))
		rc = kv_cursor_get(c, &k, &v, MDB_NEXT);
	while (!rc && has_id(&k, rd.m.id)) {
		rc = elem_val_split(&k, &v, &mem, &mlen, &pay, &plen);
		if (rc)
			goto out_close;
		seen++;
		cursor_set(cur, &k);
		if (!match || glob_match(match, mem, mlen)) {
			rc = emit(arg, mem, mlen, pay, plen);
			if (rc)
				goto out_close;
			reported++;
		}
		rc = kv_cursor_get(c, &k, &v, MDB_NEXT);
		if (seen >= count)
			break;
	}
	if (rc && rc != MDB_NOTFOUND) {
		rc = lmdb_err(rc);
		goto out_close;
	}
	if (rc == MDB_NOTFOUND || !has_id(&k, rd.m.id))
		cursor_finish(cur);
	rc = reported;
out_close:
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}

int64_t coll_card(struct hkv *db, const void *key, size_t klen, enum hkv_type type)
{
	struct coll_rd rd;
	int64_t n;
	int rc;

	rc = coll_rd_begin(db, key, klen, type, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	n = (int64_t)rd.m.size;
	coll_rd_end(db, &rd);
	return n;
}

int coll_remove_fn(struct wtx *w, void *arg)
{
	struct coll_rm_args *a = arg;
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	int rc;

	rc = coll_wlookup(w, &ek, a->key, a->klen, a->type, &m);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = elem_find(w->db, w->txn, m.id, a->member, a->mlen, &e);
	if (rc <= 0)
		return rc;
	rc = kv_del(w->txn, w->db->dbi_elems, &e.k, NULL);
	if (rc)
		return lmdb_err(rc);
	m.size--;
	rc = coll_commit(w, &ek, a->key, a->klen, &m);
	return rc ? rc : 1;
}
