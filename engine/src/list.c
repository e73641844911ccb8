// SPDX-License-Identifier: MIT
/*
 * list.c - Redis lists: LPUSH, RPUSH, LPOP, RPOP, LINDEX, LSET, LRANGE, LLEN, LREM, LTRIM,
 * LINSERT.
 *
 * A list is a key record of type HKV_TYPE_LIST holding head (index of the first element) and
 * tail (one past the last), and one elems record per element:
 *
 *   key:   id (8, big-endian) + index (8, sortable i64)      value: the element's bytes
 *
 * Invariants: the indexes in use are exactly head .. tail - 1 (no holes), and the key
 * record's size is tail - head. LPUSH stores at head - 1, RPUSH at tail, so pushing and
 * popping at either end touch one record and never renumber. An empty list created by
 * hkv_create() has head == tail (0).
 *
 * Positions p (0 = first element; negative counts from the tail as in Redis) map to index
 * head + p, so LINDEX and LSET are one B-tree lookup. LINSERT opens a hole by moving the
 * elements on the shorter side of the insertion point one index outward; LREM closes the holes
 * it makes by moving later elements towards the end it scans from. Both are O(n) like Redis's.
 *
 * Complexity (n elements): LPUSH, RPUSH, LPOP, RPOP, LLEN O(1) + O(log n) for the B-tree;
 * LINDEX, LSET O(log n); LRANGE O(log n + returned); LTRIM O(removed * log n);
 * LREM O(n log n) (scan + moves); LINSERT O(p + min(p, n - p)) lookups, p the pivot's
 * position.
 */
#include <stdlib.h>
#include <string.h>

#include "coll_int.h"

#define LKEY_LEN (KEY_ID_LEN + 8)

static void lkey(unsigned char *out, MDB_val *k, uint64_t id, int64_t idx)
{
	put_be64(out, id);
	put_sortable_i64(out + KEY_ID_LEN, idx);
	k->mv_size = LKEY_LEN;
	k->mv_data = out;
}

/* Whether the record says something a list cannot be. */
static bool list_bad(const struct kmeta *m)
{
	return m->tail < m->head || (uint64_t)m->tail - (uint64_t)m->head != m->size;
}

static int lget(struct hkv *db, struct kvtx *txn, uint64_t id, int64_t idx, MDB_val *v)
{
	unsigned char kb[LKEY_LEN];
	MDB_val k;
	int rc;

	lkey(kb, &k, id, idx);
	rc = kv_get(txn, db->dbi_elems, &k, v);
	if (rc == MDB_NOTFOUND)
		return -HKV_ECORRUPT; /* callers ask only for indexes inside [head, tail) */
	return rc ? lmdb_err(rc) : 0;
}

static int lput(struct wtx *w, uint64_t id, int64_t idx, const void *p, size_t n)
{
	unsigned char kb[LKEY_LEN];
	MDB_val k, v = { n, (void *)p };
	int rc;

	lkey(kb, &k, id, idx);
	rc = kv_put(w->txn, w->db->dbi_elems, &k, &v, 0);
	return rc ? lmdb_err(rc) : 0;
}

static int ldel(struct wtx *w, uint64_t id, int64_t idx)
{
	unsigned char kb[LKEY_LEN];
	MDB_val k;
	int rc;

	lkey(kb, &k, id, idx);
	rc = kv_del(w->txn, w->db->dbi_elems, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return -HKV_ECORRUPT;
	return rc ? lmdb_err(rc) : 0;
}

/* A growable copy buffer: LMDB data must not be the source of a put into the same txn. */
struct scratch {
	void *p;
	size_t cap;
};

/* Copy the element at @from to @to (overwriting it). */
static int lmove(struct wtx *w, uint64_t id, int64_t from, int64_t to, struct scratch *s)
{
	MDB_val v;
	int rc;

	rc = lget(w->db, w->txn, id, from, &v);
	if (rc)
		return rc;
	if (v.mv_size > s->cap) {
		void *np = realloc(s->p, v.mv_size);

		if (!np)
			return -ENOMEM;
		s->p = np;
		s->cap = v.mv_size;
	}
	if (v.mv_size)
		memcpy(s->p, v.mv_data, v.mv_size);
	return lput(w, id, to, s->p, v.mv_size);
}

/* Redis's index rule: negative counts from the tail. Return: false if out of range. */
static bool lpos(int64_t n, int64_t i, int64_t *out)
{
	if (i < 0)
		i += n;
	if (i < 0 || i >= n)
		return false;
	*out = i;
	return true;
}

/* Redis's range rule (LRANGE, LTRIM). Return: false if the range is empty. */
static bool lrange_norm(int64_t n, int64_t *start, int64_t *stop)
{
	if (*start < 0)
		*start += n;
	if (*stop < 0)
		*stop += n;
	if (*start < 0)
		*start = 0;
	if (*start > *stop || *start >= n)
		return false;
	if (*stop >= n)
		*stop = n - 1;
	return true;
}

static int list_wlookup(struct wtx *w, struct ekey *ek, const void *key, size_t klen,
			struct kmeta *m)
{
	int rc = coll_wlookup(w, ek, key, klen, HKV_TYPE_LIST, m);

	if (!rc && list_bad(m))
		rc = -HKV_ECORRUPT;
	return rc;
}

struct push_args {
	const void *key, *val;
	size_t klen, vlen;
	const struct hkv_create_attr *ca;
	bool left;
	int64_t len;
};

static int push_fn(struct wtx *w, void *arg)
{
	struct push_args *a = arg;
	struct ekey ek;
	struct kmeta m;
	bool created;
	int64_t idx;
	int rc;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_LIST, a->ca, &m, &created);
	if (rc)
		return rc;
	if (created)
		m.head = m.tail = 0;
	if (list_bad(&m))
		return -HKV_ECORRUPT;
	if (a->left ? m.head == INT64_MIN : m.tail == INT64_MAX)
		return -ENOSPC; /* 2^63 pushes at one end */
	idx = a->left ? m.head - 1 : m.tail;
	rc = lput(w, m.id, idx, a->val, a->vlen);
	if (rc)
		return rc;
	if (a->left)
		m.head--;
	else
		m.tail++;
	m.size++;
	a->len = (int64_t)m.size;
	return wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
}

static int64_t push(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		    const struct hkv_create_attr *ca, bool left)
{
	struct push_args a = { key, val, klen, vlen, ca, left, 0 };
	int rc;

	if (key_check(klen) || !key || vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	rc = hkv_write(db, push_fn, &a);
	return rc ? rc : a.len;
}

int64_t hkv_lpush(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		  const struct hkv_create_attr *ca)
{
	return push(db, key, klen, val, vlen, ca, true);
}

int64_t hkv_rpush(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		  const struct hkv_create_attr *ca)
{
	return push(db, key, klen, val, vlen, ca, false);
}

struct pop_args {
	const void *key;
	size_t klen;
	bool left;
	struct hkv_buf out;
};

static int pop_fn(struct wtx *w, void *arg)
{
	struct pop_args *a = arg;
	struct ekey ek;
	struct kmeta m;
	int64_t idx;
	MDB_val v;
	int rc;

	rc = list_wlookup(w, &ek, a->key, a->klen, &m);
	if (rc)
		return rc;
	if (!m.size)
		return -ENOENT;
	idx = a->left ? m.head : m.tail - 1;
	rc = lget(w->db, w->txn, m.id, idx, &v);
	if (rc)
		return rc;
	rc = buf_set(&a->out, v.mv_data, v.mv_size);
	if (rc)
		return rc;
	rc = ldel(w, m.id, idx);
	if (rc)
		return rc;
	if (a->left)
		m.head++;
	else
		m.tail--;
	m.size--;
	return coll_commit(w, &ek, a->key, a->klen, &m);
}

static int pop(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out, bool left)
{
	struct pop_args a = { key, klen, left, { NULL, 0 } };
	int rc;

	out->data = NULL;
	out->len = 0;
	if (key_check(klen) || !key)
		return -EINVAL;
	rc = hkv_write(db, pop_fn, &a);
	if (rc) {
		hkv_buf_release(&a.out);
		return rc;
	}
	*out = a.out;
	return 0;
}

int hkv_lpop(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out)
{
	return pop(db, key, klen, out, true);
}

int hkv_rpop(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out)
{
	return pop(db, key, klen, out, false);
}

static int list_rd_begin(struct hkv *db, const void *key, size_t klen, struct coll_rd *rd)
{
	int rc = coll_rd_begin(db, key, klen, HKV_TYPE_LIST, rd);

	if (!rc && list_bad(&rd->m)) {
		coll_rd_end(db, rd);
		rc = -HKV_ECORRUPT;
	}
	return rc;
}

int hkv_lindex(struct hkv *db, const void *key, size_t klen, int64_t index,
	       struct hkv_buf *out)
{
	struct coll_rd rd;
	int64_t p;
	MDB_val v;
	int rc;

	out->data = NULL;
	out->len = 0;
	rc = list_rd_begin(db, key, klen, &rd);
	if (rc)
		return rc;
	if (!lpos((int64_t)rd.m.size, index, &p)) {
		rc = -ENOENT;
		goto out_end;
	}
	rc = lget(db, rd.txn, rd.m.id, rd.m.head + p, &v);
	if (!rc)
		rc = buf_set(out, v.mv_data, v.mv_size);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}

struct lset_args {
	const void *key, *val;
	size_t klen, vlen;
	int64_t index;
};

static int lset_fn(struct wtx *w, void *arg)
{
	struct lset_args *a = arg;
	struct ekey ek;
	struct kmeta m;
	int64_t p;
	int rc;

	rc = list_wlookup(w, &ek, a->key, a->klen, &m);
	if (rc)
		return rc;
	if (!lpos((int64_t)m.size, a->index, &p))
		return -ERANGE;
	rc = lput(w, m.id, m.head + p, a->val, a->vlen);
	if (rc)
		return rc;
	return wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
}

int hkv_lset(struct hkv *db, const void *key, size_t klen, int64_t index, const void *val,
	     size_t vlen)
{
	struct lset_args a = { key, val, klen, vlen, index };

	if (key_check(klen) || !key || vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	return hkv_write(db, lset_fn, &a);
}

int hkv_lrange(struct hkv *db, const void *key, size_t klen, int64_t start, int64_t stop,
	       hkv_elem_fn cb, void *arg)
{
	unsigned char kb[LKEY_LEN], ib[8];
	struct coll_rd rd;
	struct kvcur *c;
	MDB_val k, v;
	int64_t p;
	int rc;

	rc = list_rd_begin(db, key, klen, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (!lrange_norm((int64_t)rd.m.size, &start, &stop))
		goto out_end; /* rc == 0 */
	rc = kv_cursor_open(rd.txn, db->dbi_elems, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	lkey(kb, &k, rd.m.id, rd.m.head + start);
	rc = kv_cursor_get(c, &k, &v, MDB_SET_KEY);
	for (p = start;; p++) {
		if (rc) {
			/* fewer records than the key record says */
			rc = rc == MDB_NOTFOUND ? -HKV_ECORRUPT : lmdb_err(rc);
			break;
		}
		if (k.mv_size != LKEY_LEN || !has_id(&k, rd.m.id) ||
		    get_sortable_i64((const unsigned char *)k.mv_data + KEY_ID_LEN) !=
			    rd.m.head + p) {
			rc = -HKV_ECORRUPT;
			break;
		}
		for (int i = 0; i < 8; i++)
			ib[i] = (unsigned char)((uint64_t)p >> (8 * i));
		rc = cb(arg, v.mv_data, v.mv_size, ib, sizeof(ib));
		if (rc || p == stop)
			break;
		rc = kv_cursor_get(c, &k, &v, MDB_NEXT);
	}
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}

int64_t hkv_llen(struct hkv *db, const void *key, size_t klen)
{
	struct coll_rd rd;
	int64_t n;
	int rc;

	rc = list_rd_begin(db, key, klen, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	n = (int64_t)rd.m.size;
	coll_rd_end(db, &rd);
	return n;
}

struct lrem_args {
	const void *key, *val;
	size_t klen, vlen;
	int64_t count;
	int64_t removed;
};

static bool same(const MDB_val *v, const void *p, size_t n)
{
	return v->mv_size == n && (!n || !memcmp(v->mv_data, p, n));
}

static int lrem_fn(struct wtx *w, void *arg)
{
	struct lrem_args *a = arg;
	struct scratch s = { NULL, 0 };
	struct ekey ek;
	struct kmeta m;
	uint64_t limit;
	int64_t i, wr, step, end;
	MDB_val v;
	int rc;

	a->removed = 0;
	rc = list_wlookup(w, &ek, a->key, a->klen, &m);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (!m.size)
		return 0;
	limit = a->count ? (a->count < 0 ? 0 - (uint64_t)a->count : (uint64_t)a->count) :
			   UINT64_MAX;
	/*
	 * Walk from the end named by the sign of count; survivors are moved towards that end
	 * over the holes, so the indexes in use stay contiguous (wr = next index to fill).
	 */
	if (a->count >= 0) {
		i = m.head;
		end = m.tail;
		step = 1;
	} else {
		i = m.tail - 1;
		end = m.head - 1;
		step = -1;
	}
	for (wr = i; i != end; i += step) {
		rc = lget(w->db, w->txn, m.id, i, &v);
		if (rc)
			goto out_free;
		if ((uint64_t)a->removed < limit && same(&v, a->val, a->vlen)) {
			a->removed++;
			continue;
		}
		if (wr != i) {
			rc = lmove(w, m.id, i, wr, &s);
			if (rc)
				goto out_free;
		}
		wr += step;
	}
	if (!a->removed)
		goto out_free; /* rc == 0: nothing changed, nothing to store */
	/* the slots [wr, end) in walk direction now hold stale copies or removed elements */
	for (i = wr; i != end; i += step) {
		rc = ldel(w, m.id, i);
		if (rc)
			goto out_free;
	}
	if (step > 0)
		m.tail = wr;
	else
		m.head = wr + 1;
	m.size -= (uint64_t)a->removed;
	rc = coll_commit(w, &ek, a->key, a->klen, &m);
out_free:
	free(s.p);
	return rc;
}

int64_t hkv_lrem(struct hkv *db, const void *key, size_t klen, int64_t count, const void *val,
		 size_t vlen)
{
	struct lrem_args a = { key, val, klen, vlen, count, 0 };
	int rc;

	if (key_check(klen) || !key || vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	rc = hkv_write(db, lrem_fn, &a);
	return rc ? rc : a.removed;
}

struct ltrim_args {
	const void *key;
	size_t klen;
	int64_t start, stop;
};

static int ltrim_fn(struct wtx *w, void *arg)
{
	struct ltrim_args *a = arg;
	int64_t start = a->start, stop = a->stop, i, nhead, ntail;
	struct ekey ek;
	struct kmeta m;
	int rc;

	rc = list_wlookup(w, &ek, a->key, a->klen, &m);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (!m.size)
		return 0;
	if (lrange_norm((int64_t)m.size, &start, &stop)) {
		nhead = m.head + start;
		ntail = m.head + stop + 1;
	} else {
		nhead = ntail = m.tail;
	}
	if (nhead == m.head && ntail == m.tail)
		return 0;
	for (i = m.head; i < nhead; i++) {
		rc = ldel(w, m.id, i);
		if (rc)
			return rc;
	}
	for (i = ntail; i < m.tail; i++) {
		rc = ldel(w, m.id, i);
		if (rc)
			return rc;
	}
	m.head = nhead;
	m.tail = ntail;
	m.size = (uint64_t)(ntail - nhead);
	return coll_commit(w, &ek, a->key, a->klen, &m);
}

int hkv_ltrim(struct hkv *db, const void *key, size_t klen, int64_t start, int64_t stop)
{
	struct ltrim_args a = { key, klen, start, stop };

	if (key_check(klen) || !key)
		return -EINVAL;
	return hkv_write(db, ltrim_fn, &a);
}

struct linsert_args {
	const void *key, *pivot, *val;
	size_t klen, plen, vlen;
	bool before;
	int64_t result;
};

static int linsert_fn(struct wtx *w, void *arg)
{
	struct linsert_args *a = arg;
	struct scratch s = { NULL, 0 };
	int64_t n, p, q, j;
	struct ekey ek;
	struct kmeta m;
	MDB_val v;
	int rc;

	a->result = 0;
	rc = list_wlookup(w, &ek, a->key, a->klen, &m);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	n = (int64_t)m.size;
	for (p = 0; p < n; p++) {
		rc = lget(w->db, w->txn, m.id, m.head + p, &v);
		if (rc)
			return rc;
		if (same(&v, a->pivot, a->plen))
			break;
	}
	if (p == n) {
		a->result = -1;
		return 0;
	}
	/* q: position the new element will have; shift the shorter side outward */
	q = a->before ? p : p + 1;
	if (q <= n - q) {
		if (m.head == INT64_MIN)
			return -ENOSPC;
		for (j = m.head; j < m.head + q; j++) {
			rc = lmove(w, m.id, j, j - 1, &s);
			if (rc)
				goto out_free;
		}
		rc = lput(w, m.id, m.head + q - 1, a->val, a->vlen);
		m.head--;
	} else {
		if (m.tail == INT64_MAX)
			return -ENOSPC;
		for (j = m.tail - 1; j >= m.head + q; j--) {
			rc = lmove(w, m.id, j, j + 1, &s);
			if (rc)
				goto out_free;
		}
		rc = lput(w, m.id, m.head + q, a->val, a->vlen);
		m.tail++;
	}
	if (rc)
		goto out_free;
	m.size++;
	a->result = (int64_t)m.size;
	rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
out_free:
	free(s.p);
	return rc;
}

int64_t hkv_linsert(struct hkv *db, const void *key, size_t klen, bool before,
		    const void *pivot, size_t plen, const void *val, size_t vlen)
{
	struct linsert_args a = { key, pivot, val, klen, plen, vlen, before, 0 };
	int rc;

	if (key_check(klen) || !key || plen > HKV_VALUE_MAX || bytes_arg(&a.pivot, plen) ||
	    vlen > HKV_VALUE_MAX || bytes_arg(&a.val, vlen))
		return -EINVAL;
	rc = hkv_write(db, linsert_fn, &a);
	return rc ? rc : a.result;
}
