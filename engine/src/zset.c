// SPDX-License-Identifier: MIT
/*
 * zset.c - Redis sorted sets: ZADD (NX XX GT LT INCR CH), ZINCRBY, ZREM, ZSCORE, ZCARD,
 * ZRANK/ZREVRANK, ZRANGE (by rank or by score, REV, LIMIT), ZSCAN.
 *
 * A zset is a key record of type HKV_TYPE_ZSET whose size is the number of members, and two
 * records per member (layouts in coll.c):
 *
 *   elems  id + ekey(member)               -> [u16 len + member if long] + score (8, sortable)
 *   zidx   id + score (8, sortable) + ekey(member) -> empty
 *
 * elems answers "what is the score of m" in O(log n) and gives member order for ZSCAN; zidx
 * is the score order for ZRANGE and ZRANK. Both always hold the same members with the same
 * score. Order is by score, then by the member's ekey: member bytes, except among members
 * longer than 448 bytes that share their first 448 bytes and their score, which are ordered
 * by a hash of the whole member. -0.0 is stored as 0.0.
 *
 * LMDB keeps no subtree counts, so a rank is found by walking zidx: ZRANK walks from both
 * ends at once and stops at the member, O(min(r, n - r)) with r its rank; ZRANGE by rank
 * starts with the same walk to its first element. ZRANGE by score seeks the bound in
 * O(log n), then walks LIMIT offset + returned entries.
 *
 * Complexity (n members): ZADD, ZINCRBY, ZREM, ZSCORE O(log n); ZCARD O(1);
 * ZRANK O(log n + min(r, n - r)); ZRANGE by rank O(min(start, n - start) + returned);
 * ZRANGE by score O(log n + offset + returned); ZSCAN O(count + log n) per call.
 */
#include <math.h>
#include <string.h>

#include "coll_int.h"

#define ZSCORE_LEN 8
#define ZPREFIX_LEN (KEY_ID_LEN + ZSCORE_LEN)

#define ZADD_ALL \
	(HKV_ZADD_NX | HKV_ZADD_XX | HKV_ZADD_GT | HKV_ZADD_LT | HKV_ZADD_INCR | HKV_ZADD_CH)

/* Build the zidx key of a member whose elems key is @ek (id + ekey). */
static void zkey(unsigned char *out, MDB_val *k, const MDB_val *ek, double score)
{
	memcpy(out, ek->mv_data, KEY_ID_LEN);
	put_sortable_double(out + KEY_ID_LEN, score);
	memcpy(out + ZPREFIX_LEN, (const unsigned char *)ek->mv_data + KEY_ID_LEN,
	       ek->mv_size - KEY_ID_LEN);
	k->mv_size = ek->mv_size + ZSCORE_LEN;
	k->mv_data = out;
}

static int zscore_of(const struct elem_ref *e, double *score)
{
	if (e->plen != ZSCORE_LEN)
		return -HKV_ECORRUPT;
	*score = get_sortable_double(e->payload);
	return 0;
}

/* Put the member @e (key built by elem_find) with @score into elems and zidx. */
static int zput(struct wtx *w, struct elem_ref *e, const void *member, size_t mlen,
		double score)
{
	unsigned char zb[ZIDX_KEY_MAX], sb[ZSCORE_LEN];
	MDB_val zk, empty = { 0, "" };
	int rc;

	put_sortable_double(sb, score);
	rc = elem_val_put(w, &e->k, e->is_long, member, mlen, sb, sizeof(sb));
	if (rc)
		return rc;
	zkey(zb, &zk, &e->k, score);
	rc = kv_put(w->txn, w->db->dbi_zidx, &zk, &empty, 0);
	return rc ? lmdb_err(rc) : 0;
}

static int zidx_del(struct wtx *w, const struct elem_ref *e, double score)
{
	unsigned char zb[ZIDX_KEY_MAX];
	MDB_val zk;
	int rc;

	zkey(zb, &zk, &e->k, score);
	rc = kv_del(w->txn, w->db->dbi_zidx, &zk, NULL);
	if (rc == MDB_NOTFOUND)
		return -HKV_ECORRUPT;
	return rc ? lmdb_err(rc) : 0;
}

struct zadd_args {
	const void *key, *member;
	size_t klen, mlen;
	double score;
	unsigned flags;
	const struct hkv_create_attr *ca;
	double out;
};

/* Redis's zsetAdd() for one member. Return: 1 (added, or changed with CH), 0, or an error. */
static int zadd_fn(struct wtx *w, void *arg)
{
	struct zadd_args *a = arg;
	unsigned f = a->flags;
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	double cur, score;
	bool created;
	int found, rc;

	a->out = NAN;
	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_ZSET, a->ca, &m, &created);
	if (rc)
		return rc;
	found = elem_find(w->db, w->txn, m.id, a->member, a->mlen, &e);
	if (found < 0)
		return found;
	if (!found) {
		if (e.collision)
			return -EEXIST;
		if (f & HKV_ZADD_XX)
			return 0; /* nothing created: a fresh key record is simply not stored */
		rc = zput(w, &e, a->member, a->mlen, a->score);
		if (rc)
			return rc;
		m.size++;
		a->out = a->score;
		rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
		return rc ? rc : 1;
	}
	rc = zscore_of(&e, &cur);
	if (rc)
		return rc;
	if (f & HKV_ZADD_NX) {
		if (!(f & HKV_ZADD_INCR))
			a->out = cur;
		return 0;
	}
	score = f & HKV_ZADD_INCR ? cur + a->score : a->score;
	if (isnan(score))
		return -HKV_ENOSCORE;
	if (((f & HKV_ZADD_LT) && score >= cur) || ((f & HKV_ZADD_GT) && score <= cur)) {
		if (!(f & HKV_ZADD_INCR))
			a->out = cur;
		return 0;
	}
	a->out = score;
	if (score == cur)
		return 0;
	rc = zidx_del(w, &e, cur);
	if (rc)
		return rc;
	rc = zput(w, &e, a->member, a->mlen, score);
	if (rc)
		return rc;
	rc = wkey_store(w, &ek, a->key, a->klen, &m, NULL, 0, m.expire_at);
	return rc ? rc : !!(f & HKV_ZADD_CH);
}

static int zadd_check(const void *key, size_t klen, const void **member, size_t mlen,
		      unsigned flags)
{
	if (key_check(klen) || !key || member_check(mlen) || bytes_arg(member, mlen))
		return -EINVAL;
	if (flags & ~ZADD_ALL)
		return -EINVAL;
	if ((flags & HKV_ZADD_NX) && (flags & (HKV_ZADD_XX | HKV_ZADD_GT | HKV_ZADD_LT)))
		return -EINVAL;
	if ((flags & HKV_ZADD_GT) && (flags & HKV_ZADD_LT))
		return -EINVAL;
	return 0;
}

int hkv_zadd(struct hkv *db, const void *key, size_t klen, double score, const void *member,
	     size_t mlen, unsigned flags, double *out, const struct hkv_create_attr *ca)
{
	struct zadd_args a = { key, member, klen, mlen, score, flags, ca, NAN };
	int rc;

	rc = zadd_check(key, klen, &a.member, mlen, flags);
	if (rc)
		return rc;
	if (isnan(score))
		return -HKV_ENOTFLOAT;
	rc = hkv_write(db, zadd_fn, &a);
	if (rc >= 0 && out)
		*out = a.out;
	return rc;
}

int hkv_zincrby(struct hkv *db, const void *key, size_t klen, double delta,
		const void *member, size_t mlen, double *out)
{
	struct zadd_args a = { key, member, klen, mlen, delta, HKV_ZADD_INCR, NULL, NAN };
	int rc;

	rc = zadd_check(key, klen, &a.member, mlen, 0);
	if (rc)
		return rc;
	if (isnan(delta))
		return -HKV_ENOTFLOAT;
	rc = hkv_write(db, zadd_fn, &a);
	if (rc < 0)
		return rc;
	if (out)
		*out = a.out;
	return 0;
}

struct zrem_args {
	const void *key, *member;
	size_t klen, mlen;
};

static int zrem_fn(struct wtx *w, void *arg)
{
	struct zrem_args *a = arg;
	struct elem_ref e;
	struct ekey ek;
	struct kmeta m;
	double cur;
	int rc;

	rc = coll_wlookup(w, &ek, a->key, a->klen, HKV_TYPE_ZSET, &m);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = elem_find(w->db, w->txn, m.id, a->member, a->mlen, &e);
	if (rc <= 0)
		return rc;
	rc = zscore_of(&e, &cur);
	if (rc)
		return rc;
	rc = zidx_del(w, &e, cur);
	if (rc)
		return rc;
	rc = kv_del(w->txn, w->db->dbi_elems, &e.k, NULL);
	if (rc)
		return lmdb_err(rc);
	m.size--;
	rc = coll_commit(w, &ek, a->key, a->klen, &m);
	return rc ? rc : 1;
}

int hkv_zrem(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen)
{
	struct zrem_args a = { key, member, klen, mlen };

	if (key_check(klen) || !key || member_check(mlen) || bytes_arg(&a.member, mlen))
		return -EINVAL;
	return hkv_write(db, zrem_fn, &a);
}

/* Look up a member for a reader; on 1 the transaction is left open in @rd. */
static int zmember_read(struct hkv *db, const void *key, size_t klen, const void *member,
			size_t mlen, struct coll_rd *rd, struct elem_ref *e, double *score)
{
	int rc;

	if (member_check(mlen) || bytes_arg(&member, mlen))
		return -EINVAL;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_ZSET, rd);
	if (rc)
		return rc;
	rc = elem_find(db, rd->txn, rd->m.id, member, mlen, e);
	if (rc == 1) {
		rc = zscore_of(e, score);
		if (!rc)
			return 1;
	}
	coll_rd_end(db, rd);
	return rc ? rc : -ENOENT;
}

int hkv_zscore(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen,
	       double *out)
{
	struct coll_rd rd;
	struct elem_ref e;
	double score = 0;
	int rc;

	rc = zmember_read(db, key, klen, member, mlen, &rd, &e, &score);
	if (rc < 0)
		return rc;
	coll_rd_end(db, &rd);
	*out = score;
	return 0;
}

int64_t hkv_zcard(struct hkv *db, const void *key, size_t klen)
{
	return coll_card(db, key, klen, HKV_TYPE_ZSET);
}

/* Position @c on the last zidx record of collection @id. Return: 0, MDB_NOTFOUND, LMDB code. */
static int zlast(struct kvcur *c, uint64_t id, MDB_val *k, MDB_val *v)
{
	unsigned char b[KEY_ID_LEN];

	put_be64(b, id);
	return seek_lt(c, be_inc(b, sizeof(b)) ? b : NULL, sizeof(b), k, v);
}

static int zfirst(struct kvcur *c, uint64_t id, MDB_val *k, MDB_val *v)
{
	unsigned char b[KEY_ID_LEN];

	put_be64(b, id);
	k->mv_size = sizeof(b);
	k->mv_data = b;
	return kv_cursor_get(c, k, v, MDB_SET_RANGE);
}

/* An LMDB status while walking @n records that the key record promises: all must exist. */
static int zwalk_err(int rc, const MDB_val *k, uint64_t id)
{
	if (rc == MDB_NOTFOUND || (!rc && (!has_id(k, id) || k->mv_size < ZPREFIX_LEN)))
		return -HKV_ECORRUPT;
	return rc ? lmdb_err(rc) : 0;
}

int64_t hkv_zrank(struct hkv *db, const void *key, size_t klen, const void *member,
		  size_t mlen, bool rev)
{
	unsigned char zb[ZIDX_KEY_MAX];
	struct kvcur *fc = NULL, *bc = NULL;
	MDB_val zk, fk, bk, v;
	struct coll_rd rd;
	struct elem_ref e;
	int64_t n, i, rank = -1;
	double score = 0;
	int rc;

	rc = zmember_read(db, key, klen, member, mlen, &rd, &e, &score);
	if (rc < 0)
		return rc;
	zkey(zb, &zk, &e.k, score);
	n = (int64_t)rd.m.size;
	rc = kv_cursor_open(rd.txn, db->dbi_zidx, &fc);
	if (!rc)
		rc = kv_cursor_open(rd.txn, db->dbi_zidx, &bc);
	if (rc) {
		rc = lmdb_err(rc);
		goto out;
	}
	/* two walkers, one from each end; whichever meets the member first knows its rank */
	rc = zwalk_err(zfirst(fc, rd.m.id, &fk, &v), &fk, rd.m.id);
	if (!rc)
		rc = zwalk_err(zlast(bc, rd.m.id, &bk, &v), &bk, rd.m.id);
	for (i = 0; !rc && 2 * i < n + 1; i++) {
		if (fk.mv_size == zk.mv_size && !memcmp(fk.mv_data, zk.mv_data, zk.mv_size)) {
			rank = i;
			break;
		}
		if (bk.mv_size == zk.mv_size && !memcmp(bk.mv_data, zk.mv_data, zk.mv_size)) {
			rank = n - 1 - i;
			break;
		}
		rc = zwalk_err(kv_cursor_get(fc, &fk, &v, MDB_NEXT), &fk, rd.m.id);
		if (!rc)
			rc = zwalk_err(kv_cursor_get(bc, &bk, &v, MDB_PREV), &bk, rd.m.id);
	}
	if (!rc && rank < 0)
		rc = -HKV_ECORRUPT; /* in elems but not in zidx */
out:
	kv_cursor_close(bc);
	kv_cursor_close(fc);
	coll_rd_end(db, &rd);
	if (rc)
		return rc;
	return rev ? n - 1 - rank : rank;
}

/* Report the zidx record @k (with the member's full bytes fetched from elems if long). */
static int zemit(struct hkv *db, struct kvtx *txn, const MDB_val *k, hkv_zrange_fn cb, void *arg)
{
	const unsigned char *p = k->mv_data;
	unsigned char eb[ELEM_KEY_MAX];
	MDB_val ek, ev;
	const void *mem, *pay;
	size_t mlen, plen;
	double score = get_sortable_double(p + KEY_ID_LEN);
	int rc;

	if (!ekey_is_long(k->mv_size - ZPREFIX_LEN))
		return cb(arg, p + ZPREFIX_LEN, k->mv_size - ZPREFIX_LEN, score);
	memcpy(eb, p, KEY_ID_LEN);
	memcpy(eb + KEY_ID_LEN, p + ZPREFIX_LEN, k->mv_size - ZPREFIX_LEN);
	ek.mv_size = k->mv_size - ZSCORE_LEN;
	ek.mv_data = eb;
	rc = kv_get(txn, db->dbi_elems, &ek, &ev);
	if (rc)
		return rc == MDB_NOTFOUND ? -HKV_ECORRUPT : lmdb_err(rc);
	rc = elem_val_split(&ek, &ev, &mem, &mlen, &pay, &plen);
	if (rc)
		return rc;
	return cb(arg, mem, mlen, score);
}

static int zrange_rank(struct hkv *db, struct coll_rd *rd, struct kvcur *c,
		       const struct hkv_zrange_opts *o, hkv_zrange_fn cb, void *arg)
{
	int64_t n = (int64_t)rd->m.size, start = o->start, stop = o->stop, first, i, cnt;
	MDB_cursor_op toward;
	MDB_val k, v;
	int rc;

	if (start < 0)
		start += n;
	if (stop < 0)
		stop += n;
	if (start < 0)
		start = 0;
	if (start > stop || start >= n)
		return 0;
	if (stop >= n)
		stop = n - 1;
	/* first: forward rank of the first member reported; then walk @toward */
	first = o->rev ? n - 1 - start : start;
	toward = o->rev ? MDB_PREV : MDB_NEXT;
	if (first <= n - 1 - first) {
		rc = zwalk_err(zfirst(c, rd->m.id, &k, &v), &k, rd->m.id);
		for (i = 0; !rc && i < first; i++)
			rc = zwalk_err(kv_cursor_get(c, &k, &v, MDB_NEXT), &k, rd->m.id);
	} else {
		rc = zwalk_err(zlast(c, rd->m.id, &k, &v), &k, rd->m.id);
		for (i = n - 1; !rc && i > first; i--)
			rc = zwalk_err(kv_cursor_get(c, &k, &v, MDB_PREV), &k, rd->m.id);
	}
	for (cnt = stop - start + 1; !rc; ) {
		rc = zemit(db, rd->txn, &k, cb, arg);
		if (rc || !--cnt)
			break;
		rc = zwalk_err(kv_cursor_get(c, &k, &v, toward), &k, rd->m.id);
	}
	return rc;
}

/* Whether @s is above the lower bound / below the upper bound of @o. */
static bool above_min(const struct hkv_zrange_opts *o, double s)
{
	return o->min_excl ? s > o->min : s >= o->min;
}

static bool below_max(const struct hkv_zrange_opts *o, double s)
{
	return o->max_excl ? s < o->max : s <= o->max;
}

static int zrange_score(struct hkv *db, struct coll_rd *rd, struct kvcur *c,
			const struct hkv_zrange_opts *o, hkv_zrange_fn cb, void *arg)
{
	unsigned char b[ZPREFIX_LEN];
	int64_t skip = o->offset, left = o->limit;
	MDB_val k, v;
	double s;
	int rc;

	if (o->offset < 0 || !o->limit || o->min > o->max)
		return 0;
	put_be64(b, rd->m.id);
	if (!o->rev) {
		/* first record >= (min, or just above it if exclusive) */
		put_sortable_double(b + KEY_ID_LEN, o->min);
		if (o->min_excl && !be_inc(b + KEY_ID_LEN, ZSCORE_LEN))
			return 0;
		k.mv_size = sizeof(b);
		k.mv_data = b;
		rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE);
	} else {
		/* last record < (max, or just above it if inclusive) */
		bool bounded = true;

		put_sortable_double(b + KEY_ID_LEN, o->max);
		if (!o->max_excl && !be_inc(b + KEY_ID_LEN, ZSCORE_LEN))
			bounded = be_inc(b, KEY_ID_LEN);
		rc = seek_lt(c, bounded ? b : NULL, sizeof(b), &k, &v);
	}
	for (; !rc; rc = kv_cursor_get(c, &k, &v, o->rev ? MDB_PREV : MDB_NEXT)) {
		if (!has_id(&k, rd->m.id))
			break;
		if (k.mv_size < ZPREFIX_LEN)
			return -HKV_ECORRUPT;
		s = get_sortable_double((const unsigned char *)k.mv_data + KEY_ID_LEN);
		if (o->rev ? !above_min(o, s) : !below_max(o, s))
			break;
		if (o->rev ? !below_max(o, s) : !above_min(o, s))
			continue; /* only -0.0 vs 0.0 can land here */
		if (skip) {
			skip--;
			continue;
		}
		rc = zemit(db, rd->txn, &k, cb, arg);
		if (rc)
			return rc;
		if (left > 0 && !--left)
			return 0;
	}
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int hkv_zrange(struct hkv *db, const void *key, size_t klen, const struct hkv_zrange_opts *o,
	       hkv_zrange_fn cb, void *arg)
{
	struct coll_rd rd;
	struct kvcur *c;
	int rc;

	if (!o)
		return -EINVAL;
	if (o->by_score && (isnan(o->min) || isnan(o->max)))
		return -HKV_ENOTFLOAT;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_ZSET, &rd);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = kv_cursor_open(rd.txn, db->dbi_zidx, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	if (o->by_score)
		rc = zrange_score(db, &rd, c, o, cb, arg);
	else
		rc = zrange_rank(db, &rd, c, o, cb, arg);
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	return rc;
}

struct emit_z {
	hkv_zrange_fn cb;
	void *arg;
};

static int emit_zscan(void *arg, const void *mem, size_t mlen, const void *pay, size_t plen)
{
	struct emit_z *e = arg;

	if (plen != ZSCORE_LEN)
		return -HKV_ECORRUPT;
	return e->cb(e->arg, mem, mlen, get_sortable_double(pay));
}

int hkv_zscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_zrange_fn cb, void *arg)
{
	struct emit_z e = { cb, arg };

	return coll_scan(db, key, klen, HKV_TYPE_ZSET, cur, match, count, emit_zscan, &e);
}

/*
 * The score-ordered walk: the cursor is the position in the score index after the last
 * member reported (its zidx key without the id, plus a NUL byte: the smallest key after it),
 * so each call is one seek however far the walk has gone.
 */
int hkv_zwalk(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      size_t count, hkv_zrange_fn cb, void *arg)
{
	unsigned char b[KEY_ID_LEN + ZSCORE_LEN + EKEY_LONG + 1];
	struct coll_rd rd;
	struct kvcur *c;
	MDB_val k, v;
	int rc, ret = 0, n = 0;

	if (cur->done)
		return 0;
	if (cur->len > sizeof(b) - KEY_ID_LEN)
		return -EINVAL;
	if (!count)
		count = SCAN_COUNT_DEFAULT;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_ZSET, &rd);
	if (rc == -ENOENT) {
		cursor_finish(cur);
		return 0;
	}
	if (rc)
		return rc;
	rc = kv_cursor_open(rd.txn, db->dbi_zidx, &c);
	if (rc) {
		rc = lmdb_err(rc);
		goto out_end;
	}
	put_be64(b, rd.m.id);
	memcpy(b + KEY_ID_LEN, cur->pos, cur->len);
	k.mv_size = KEY_ID_LEN + cur->len;
	k.mv_data = b;
	for (rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
	     rc = kv_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t plen = k.mv_size - KEY_ID_LEN;

		if (!has_id(&k, rd.m.id))
			break;
		if (k.mv_size < ZPREFIX_LEN || plen + 1 > sizeof(cur->pos)) {
			rc = -HKV_ECORRUPT;
			break;
		}
		if ((size_t)n >= count) {
			/* resume here next time */
			memcpy(cur->pos, (const unsigned char *)k.mv_data + KEY_ID_LEN, plen);
			cur->len = (uint32_t)plen;
			goto out_close;
		}
		/* a non-zero return (the callback's, or an error of the lookup) stops the walk */
		ret = zemit(db, rd.txn, &k, cb, arg);
		memcpy(cur->pos, (const unsigned char *)k.mv_data + KEY_ID_LEN, plen);
		cur->len = (uint32_t)plen;
		if (ret == HKV_SCAN_AGAIN)
			goto out_close;
		cur->pos[cur->len++] = 0;
		n++;
		if (ret)
			goto out_close;
	}
	if (rc == MDB_NOTFOUND || !rc) {
		cursor_finish(cur);
		rc = 0;
	} else if (rc > 0 || rc < -HKV_ELAST) {
		rc = lmdb_err(rc);
	}
out_close:
	kv_cursor_close(c);
out_end:
	coll_rd_end(db, &rd);
	if (rc)
		return rc;
	return ret ? ret : n;
}
