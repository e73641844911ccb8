// SPDX-License-Identifier: MIT
/*
 * stream.c - the records of Redis streams: an ordered map of record keys to values under a
 * key of type HKV_TYPE_STREAM.
 *
 * The engine knows a stream only as records; the server (server/src/t_stream.c) gives the
 * classes their meaning. Every record lives in the elems database under the key's id:
 *
 *   key:   off  size          field
 *          ---  ------------  ---------------------------------------------------------
 *            0  8             key id, big-endian
 *            8  1..480        record key: class byte + class-specific bytes
 *   value: the record's bytes (0..HKV_VALUE_MAX)
 *
 * Classes in use (docs/engine-storage.md has the value formats):
 *
 *   0x00 + "meta"                  last ID, entries added, max deleted ID, first ID
 *   'E' + ms(8 BE) + seq(8 BE)     one entry; its fields and values
 *   'G' + group                    one consumer group: last delivered ID, entries read
 *   'C' + len(2 BE) + group + consumer   one consumer: seen and active times
 *   'P' + len(2 BE) + group + ID(16)     one pending entry: owner, delivery time and count
 *   'Q' + len(2 BE) + group + len(1) + consumer + ID(16)   a consumer's index of its pending
 *                                  entries (empty value)
 *   'N' + ID of its first entry    one listpack node's bookkeeping (for MAXLEN/MINID ~)
 *
 * Big-endian IDs make record order ID order, so XRANGE/XREVRANGE are cursor walks and the
 * entries of one stream are one contiguous range, as are one group's consumers and pending
 * entries.
 *
 * Invariants: the key record's size is the number of 'E' records under its id; a stream
 * exists until it is deleted (removing its last entry does not delete it, as in Redis);
 * deleting or replacing the key range-deletes every record (coll_delete_all()).
 */
#include <stdlib.h>
#include <string.h>

#include "coll_int.h"

#define XREC_DB_KEY_MAX (KEY_ID_LEN + HKV_XREC_KEY_MAX)

static int key_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int r = memcmp(a->mv_data, b->mv_data, n);

	if (r)
		return r;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

static int xrec_args(const void *key, size_t klen, const void *rk, size_t rklen)
{
	if (key_check(klen) || !key || !rk || !rklen || rklen > HKV_XREC_KEY_MAX)
		return -EINVAL;
	return 0;
}

static void xrec_dbkey(unsigned char *out, uint64_t id, const void *rk, size_t rklen,
		       MDB_val *k)
{
	put_be64(out, id);
	memcpy(out + KEY_ID_LEN, rk, rklen);
	k->mv_size = KEY_ID_LEN + rklen;
	k->mv_data = out;
}

int hkv_xrec_get(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen,
		 struct hkv_buf *out)
{
	unsigned char kb[XREC_DB_KEY_MAX];
	struct coll_rd rd;
	MDB_val k, v;
	int rc;

	out->data = NULL;
	out->len = 0;
	rc = xrec_args(key, klen, rk, rklen);
	if (rc)
		return rc;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_STREAM, &rd);
	if (rc)
		return rc;
	xrec_dbkey(kb, rd.m.id, rk, rklen, &k);
	rc = kv_get(rd.txn, db->dbi_elems, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = -ENOENT;
	else if (rc)
		rc = lmdb_err(rc);
	else
		rc = buf_set(out, v.mv_data, v.mv_size);
	coll_rd_end(db, &rd);
	return rc;
}

struct xput_args {
	const void *key, *rk, *val;
	size_t klen, rklen, vlen;
	const struct hkv_create_attr *ca;
	bool del;
};

static int xput_fn(struct wtx *w, void *arg)
{
	struct xput_args *a = arg;
	unsigned char kb[XREC_DB_KEY_MAX];
	bool created, entry = ((const unsigned char *)a->rk)[0] == HKV_XREC_ENTRY;
	struct ekey ek;
	struct kmeta m;
	MDB_val k, v;
	int rc, found;

	ekey_make(w->db, &ek, a->key, a->klen);
	if (a->del) {
		rc = wkey_lookup(w, &ek, a->key, a->klen, &m);
		if (rc == -ENOENT)
			return 0;
		if (!rc && m.type != HKV_TYPE_STREAM)
			rc = -HKV_EWRONGTYPE;
	} else {
		rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_STREAM, a->ca, &m, &created);
	}
	if (rc)
		return rc;
	xrec_dbkey(kb, m.id, a->rk, a->rklen, &k);
	rc = kv_get(w->txn, w->db->dbi_elems, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	found = !rc;
	if (a->del) {
		if (!found)
			return 0;
		rc = kv_del(w->txn, w->db->dbi_elems, &k, NULL);
		if (rc)
			return lmdb_err(rc);
		if (entry)
			m.size--;
	} else {
		v.mv_size = a->vlen;
		v.mv_data = (void *)a->val;
		rc = kv_put(w->txn, w->db->dbi_elems, &k, &v, 0);
		if (rc)
			return lmdb_err(rc);
		if (entry && !found)
			m.size++;
	}
	rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
	if (rc)
		return rc;
	return a->del ? 1 : !found;
}

int hkv_xrec_put(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen,
		 const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	struct xput_args a = { key, rk, val, klen, rklen, vlen, ca, false };
	int rc = xrec_args(key, klen, rk, rklen);

	if (rc)
		return rc;
	if (vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	return hkv_write(db, xput_fn, &a);
}

int hkv_xrec_del(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen)
{
	struct xput_args a = { key, rk, NULL, klen, rklen, 0, NULL, true };
	int rc = xrec_args(key, klen, rk, rklen);

	if (rc)
		return rc;
	return hkv_write(db, xput_fn, &a);
}

int hkv_xrec_range(struct hkv *db, const void *key, size_t klen, const void *lo, size_t lolen,
		   const void *hi, size_t hilen, bool rev, hkv_xrec_fn cb, void *arg)
{
	unsigned char lb[XREC_DB_KEY_MAX], hb[XREC_DB_KEY_MAX];
	struct coll_rd rd;
	struct kvcur *c;
	MDB_val lk, hk, k, v;
	int rc;

	if (key_check(klen) || !key || !cb || !lo || !hi || lolen > HKV_XREC_KEY_MAX ||
	    hilen > HKV_XREC_KEY_MAX)
		return -EINVAL;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_STREAM, &rd);
	if (rc)
		return rc;
	xrec_dbkey(lb, rd.m.id, lo, lolen, &lk);
	xrec_dbkey(hb, rd.m.id, hi, hilen, &hk);
	rc = kv_cursor_open(rd.txn, db->dbi_elems, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	if (rev) {
		/* the last record <= hi: the first one > hi, then one back */
		unsigned char nb[XREC_DB_KEY_MAX + 1];

		memcpy(nb, hb, hk.mv_size);
		nb[hk.mv_size] = 0; /* hi + "\0" is the smallest key above hi */
		rc = seek_lt(c, nb, hk.mv_size + 1, &k, &v);
	} else {
		k = lk;
		rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	while (!rc) {
		if (!has_id(&k, rd.m.id) || k.mv_size == KEY_ID_LEN)
			break;
		if (rev ? key_cmp(&k, &lk) < 0 : key_cmp(&k, &hk) > 0)
			break;
		rc = cb(arg, (const unsigned char *)k.mv_data + KEY_ID_LEN,
			k.mv_size - KEY_ID_LEN, v.mv_data, v.mv_size);
		if (rc)
			goto out_close;
		rc = kv_cursor_get(c, &k, &v, rev ? MDB_PREV : MDB_NEXT);
	}
	rc = rc == MDB_NOTFOUND || !rc ? 0 : lmdb_err(rc);
out_close:
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}
