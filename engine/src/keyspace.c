// SPDX-License-Identifier: MIT
/*
 * keyspace.c - commands on whole keys: DEL, EXISTS, TYPE, RENAME, the expiry family, the
 * active expiry sweep, SCAN, attributes, empty typed keys and extended attributes.
 *
 * SCAN walks the keys table in its byte order, so the cursor is simply the position to resume
 * at (an LMDB key, usually "last key returned" + a NUL byte, the smallest key after it).
 * Because the order is fixed and independent of what else is stored, a key present during a
 * whole iteration is met exactly once, whatever is inserted or deleted meanwhile; this is
 * stronger than Redis, whose cursor over a rehashing table may repeat keys. The optional
 * delimiter rolls up every key below a common prefix into one entry and jumps past the group
 * with one seek (the successor of the prefix), so listing a directory costs one step per
 * entry shown, not per key below it.
 *
 * Expiry: an expired key is invisible to every reader from the millisecond its time comes
 * (key_lookup compares with the clock); writers that meet it delete it (lazy expiry); the
 * background thread deletes the rest in expiry order from the exp table (active expiry).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hkv_int.h"

#define XATTR_NAME_MAX 255
#define XATTR_VALUE_MAX 65536

struct key_args {
	const void *key;
	size_t klen;
	struct ekey ek;
	const void *key2;
	size_t klen2;
	struct ekey ek2;
	unsigned flags;
	int64_t at;
	enum hkv_type type;
	const struct hkv_create_attr *ca;
	const struct hkv_attr *attr;
	const char *name;
	const void *val;
	size_t vlen;
};

static int key_args_init(struct hkv *db, struct key_args *a, const void *key, size_t klen)
{
	if (key_check(klen))
		return -EINVAL;
	a->key = key;
	a->klen = klen;
	ekey_make(db, &a->ek, key, klen);
	return 0;
}

/* Run a read of @key's record. */
static int read_meta(struct hkv *db, const void *key, size_t klen, struct kmeta *m)
{
	struct ekey ek;
	struct kvtx *txn;
	int rc;

	if (key_check(klen))
		return -EINVAL;
	ekey_make(db, &ek, key, klen);
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = key_lookup(db, txn, &ek, HKV_NOW_LAZY, m);
	/* pointers into the record are not used after this */
	m->inl = m->fullkey = NULL;
	rtx_end(db, txn);
	return rc;
}

static int del_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct kmeta m;
	int rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);

	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = wkey_delete(w, &a->ek, a->key, a->klen, &m);
	return rc ? rc : 1;
}

/* Run the write @fn on @key alone (no other argument). */
static int key_write(struct hkv *db, const void *key, size_t klen, wtx_fn fn)
{
	struct key_args a = { 0 };

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	return hkv_write(db, fn, &a);
}

int hkv_del(struct hkv *db, const void *key, size_t klen)
{
	return key_write(db, key, klen, del_fn);
}

int hkv_exists(struct hkv *db, const void *key, size_t klen)
{
	struct kmeta m;
	int rc = read_meta(db, key, klen, &m);

	if (rc == -ENOENT)
		return 0;
	return rc ? rc : 1;
}

int hkv_type(struct hkv *db, const void *key, size_t klen)
{
	struct kmeta m;
	int rc = read_meta(db, key, klen, &m);

	if (rc == -ENOENT)
		return HKV_TYPE_NONE;
	return rc ? rc : m.type;
}

static bool same_key(const struct key_args *a)
{
	return a->klen == a->klen2 && !memcmp(a->key, a->key2, a->klen);
}

static int rename_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct hkv *db = w->db;
	struct kmeta m, d;
	void *copy = NULL;
	MDB_val k;
	int rc;

	rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);
	if (rc)
		return rc;
	if (same_key(a))
		return 0;
	rc = wkey_lookup(w, &a->ek2, a->key2, a->klen2, &d);
	if (!rc) {
		if (a->flags & HKV_RENAME_NX)
			return -EEXIST;
		if (a->flags & HKV_RENAME_SAMETYPE && d.type != m.type)
			return -HKV_EWRONGTYPE;
		rc = wkey_delete(w, &a->ek2, a->key2, a->klen2, &d);
		if (rc)
			return rc;
		/* the delete may have moved the source record: read it again */
		rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	if (rc)
		return rc;

	if (m.flags & KF_VLOG) {
		/*
		 * A value-log record names the key that owns it (compaction checks liveness by
		 * that name), so the value moves to a record under the new name.
		 */
		struct vlog_ref ref;
		ssize_t n;

		copy = malloc(m.size ? m.size : 1);
		if (!copy)
			return -ENOMEM;
		n = str_read(db, &m, 0, copy, m.size);
		rc = n < 0 ? (int)n : (uint64_t)n != m.size ? -HKV_ECORRUPT : 0;
		if (!rc)
			rc = vlog_append(db->vlog, a->key2, a->klen2, copy, m.size, &ref);
		if (!rc)
			rc = vlog_ref_dead(w, &m.ref);
		if (!rc)
			rc = vlog_ref_live(w, &ref);
		if (rc)
			goto out;
		m.ref = ref;
	} else if (m.flags & KF_INLINE && m.inl_len) {
		copy = malloc(m.inl_len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, m.inl, m.inl_len);
		m.inl = copy;
	}
	k.mv_size = a->ek.len;
	k.mv_data = a->ek.b;
	rc = lmdb_err(kv_del(w->txn, db->dbi_keys, &k, NULL));
	if (!rc && m.expire_at) {
		/* move the exp entry: drop the old one, wkey_set_expire-like add below */
		unsigned char buf[8 + EKEY_LONG];
		MDB_val ek = { 8 + a->ek.len, buf }, ev = { 0, NULL };

		put_be64(buf, (uint64_t)m.expire_at);
		memcpy(buf + 8, a->ek.b, a->ek.len);
		rc = kv_del(w->txn, db->dbi_exp, &ek, NULL);
		rc = rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
		if (!rc) {
			memcpy(buf + 8, a->ek2.b, a->ek2.len);
			ek.mv_size = 8 + a->ek2.len;
			rc = lmdb_err(kv_put(w->txn, db->dbi_exp, &ek, &ev, 0));
		}
	}
	if (rc)
		goto out;
	m.version = wtx_version(w);
	m.ctime_ns = w->now_ns;
	rc = krec_put(w, &a->ek2, a->key2, a->klen2, &m, m.inl, m.inl_len);
	if (!rc) {
		wtx_touch(w, a->key, a->klen, 0);
		wtx_touch(w, a->key2, a->klen2, m.version);
	}
out:
	free(copy);
	return rc;
}

int hkv_rename(struct hkv *db, const void *src, size_t slen, const void *dst, size_t dlen,
	       unsigned flags)
{
	struct key_args a = { 0 };

	if (key_args_init(db, &a, src, slen) || key_check(dlen))
		return -EINVAL;
	if (flags & ~(HKV_RENAME_NX | HKV_RENAME_SAMETYPE))
		return -EINVAL;
	a.key2 = dst;
	a.klen2 = dlen;
	ekey_make(db, &a.ek2, dst, dlen);
	a.flags = flags;
	return hkv_write(db, rename_fn, &a);
}

int64_t hkv_pttl(struct hkv *db, const void *key, size_t klen)
{
	struct kmeta m;
	int64_t left;
	int rc = read_meta(db, key, klen, &m);

	if (rc == -ENOENT)
		return -2;
	if (rc)
		return rc < -2 ? rc : -EIO;
	if (!m.expire_at)
		return -1;
	left = m.expire_at - hkv_now_ms(db);
	return left > 0 ? left : 0;
}

int64_t hkv_ttl(struct hkv *db, const void *key, size_t klen)
{
	int64_t ms = hkv_pttl(db, key, klen);

	return ms < 0 ? ms : (ms + 500) / 1000;
}

static int expire_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct kmeta m;
	int rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if ((a->flags & HKV_EXPIRE_NX && m.expire_at) ||
	    (a->flags & HKV_EXPIRE_XX && !m.expire_at) ||
	    (a->flags & HKV_EXPIRE_GT && (!m.expire_at || a->at <= m.expire_at)) ||
	    (a->flags & HKV_EXPIRE_LT && m.expire_at && a->at >= m.expire_at))
		return 0;
	if (a->at <= w->now_ms)
		rc = wkey_delete(w, &a->ek, a->key, a->klen, &m);
	else
		rc = wkey_set_expire(w, &a->ek, a->key, a->klen, &m, a->at);
	return rc ? rc : 1;
}

int hkv_pexpireat(struct hkv *db, const void *key, size_t klen, int64_t at, unsigned flags)
{
	struct key_args a = { 0 };
	unsigned f = flags;

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	if (f & ~(HKV_EXPIRE_NX | HKV_EXPIRE_XX | HKV_EXPIRE_GT | HKV_EXPIRE_LT) ||
	    (f & HKV_EXPIRE_NX && f & (HKV_EXPIRE_XX | HKV_EXPIRE_GT | HKV_EXPIRE_LT)) ||
	    (f & HKV_EXPIRE_GT && f & HKV_EXPIRE_LT))
		return -EINVAL;
	a.flags = flags;
	a.at = at;
	return hkv_write(db, expire_fn, &a);
}

int hkv_pexpire(struct hkv *db, const void *key, size_t klen, int64_t ms, unsigned flags)
{
	int64_t now = hkv_now_ms(db), at;

	if (__builtin_add_overflow(now, ms, &at))
		return -EINVAL;
	return hkv_pexpireat(db, key, klen, at, flags);
}

int hkv_expire(struct hkv *db, const void *key, size_t klen, int64_t sec, unsigned flags)
{
	int64_t ms;

	if (__builtin_mul_overflow(sec, 1000, &ms))
		return -EINVAL;
	return hkv_pexpire(db, key, klen, ms, flags);
}

int hkv_expireat(struct hkv *db, const void *key, size_t klen, int64_t at_sec, unsigned flags)
{
	int64_t ms;

	if (__builtin_mul_overflow(at_sec, 1000, &ms))
		return -EINVAL;
	return hkv_pexpireat(db, key, klen, ms, flags);
}

static int persist_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct kmeta m;
	int rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (!m.expire_at)
		return 0;
	rc = wkey_set_expire(w, &a->ek, a->key, a->klen, &m, 0);
	return rc ? rc : 1;
}

int hkv_persist(struct hkv *db, const void *key, size_t klen)
{
	return key_write(db, key, klen, persist_fn);
}

struct sweep_args {
	unsigned max;
	int done;
};

#define SWEEP_BATCH 64

static int sweep_fn(struct wtx *w, void *arg)
{
	struct sweep_args *a = arg;
	struct hkv *db = w->db;
	struct ekey eks[SWEEP_BATCH];
	unsigned n = 0, want = a->max < SWEEP_BATCH ? a->max : SWEEP_BATCH;
	struct kvcur *cur;
	MDB_val k, v;
	int rc;

	a->done = 0;
	rc = lmdb_err(kv_cursor_open(w->txn, db->dbi_exp, &cur));
	if (rc)
		return rc;
	for (rc = kv_cursor_get(cur, &k, &v, MDB_FIRST); !rc && n < want;
	     rc = kv_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 8 || k.mv_size > 8 + EKEY_LONG) {
			rc = -HKV_ECORRUPT;
			break;
		}
		if ((int64_t)get_be64(k.mv_data) > w->now_ms)
			break;
		eks[n].len = k.mv_size - 8;
		memcpy(eks[n].b, (char *)k.mv_data + 8, eks[n].len);
		n++;
	}
	kv_cursor_close(cur);
	if (rc == -HKV_ECORRUPT)
		return rc;
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	for (unsigned i = 0; i < n; i++) {
		unsigned char key[HKV_KEY_MAX];
		struct kmeta m;
		size_t klen;

		rc = key_lookup(db, w->txn, &eks[i], 0 /* no expiry check: the caller decides */, &m);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		if (!kmeta_expired(&m, w->now_ms))
			continue;
		klen = m.fullkey ? m.fullkey_len : eks[i].len;
		memcpy(key, m.fullkey ? m.fullkey : eks[i].b, klen);
		rc = wkey_delete(w, &eks[i], key, klen, &m);
		if (rc)
			return rc;
		a->done++;
	}
	return 0;
}

/*
 * Is the earliest expiry in the index due? A read transaction only, so that a store with
 * nothing to expire is never written by the sweep (an idle store makes no write groups). On
 * any error it answers yes: the write transaction then reports the error.
 */
static bool expiry_due(struct hkv *db)
{
	struct kvtx *txn;
	struct kvcur *cur;
	MDB_val k, v;
	bool due = true;
	int rc;

	if (rtx_begin(db, &txn))
		return true;
	if (!kv_cursor_open(txn, db->dbi_exp, &cur)) {
		rc = kv_cursor_get(cur, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND)
			due = false;
		else if (!rc && k.mv_size >= 8 && (int64_t)get_be64(k.mv_data) > hkv_now_ms(db))
			due = false;
		kv_cursor_close(cur);
	}
	rtx_end(db, txn);
	return due;
}

int hkv_expire_cycle(struct hkv *db, unsigned max)
{
	struct sweep_args a = { 0, 0 };
	int total = 0, rc;

	if (db->opt.read_only)
		return -EROFS;
	if (!expiry_due(db))
		return 0;
	while (max) {
		a.max = max;
		rc = hkv_write(db, sweep_fn, &a);
		if (rc < 0)
			return rc;
		total += a.done;
		atomic_fetch_add_explicit(&db->root->st.expired, (uint64_t)a.done,
					  memory_order_relaxed);
		if (a.done < (a.max < SWEEP_BATCH ? (int)a.max : SWEEP_BATCH))
			break;
		max -= (unsigned)a.done;
	}
	return total;
}

int hkv_expiring(struct hkv *db, unsigned max,
		 int (*fn)(void *arg, const void *key, size_t klen, int64_t expire_at), void *arg)
{
	int64_t now = hkv_now_ms(db);
	struct kvtx *txn;
	struct kvcur *cur;
	unsigned n = 0;
	MDB_val k, v;
	int rc, err = 0, stop = 0;

	if (!fn)
		return -EINVAL;
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = lmdb_err(kv_cursor_open(txn, db->dbi_exp, &cur));
	if (rc) {
		rtx_end(db, txn);
		return rc;
	}
	for (MDB_cursor_op op = MDB_FIRST; n < max && !stop; op = MDB_NEXT) {
		struct ekey ek = { 0 };
		struct kmeta m;
		int r;

		rc = kv_cursor_get(cur, &k, &v, op);
		if (rc) {
			if (rc != MDB_NOTFOUND)
				err = lmdb_err(rc);
			break;
		}

		if (k.mv_size < 8 || k.mv_size > 8 + EKEY_LONG) {
			hkv_log(db, 0, "malformed expiry index entry (%zu bytes)", k.mv_size);
			err = -HKV_ECORRUPT;
			break;
		}
		ek.len = k.mv_size - 8;
		memcpy(ek.b, (const char *)k.mv_data + 8, ek.len);
		r = key_lookup(db, txn, &ek, now, &m);
		if (r == -ENOENT)
			continue; /* expired, not swept yet */
		if (r) {
			err = r;
			break;
		}
		stop = fn(arg, m.key, m.klen, m.expire_at);
		n++;
	}
	kv_cursor_close(cur);
	rtx_end(db, txn);
	if (err)
		return err;
	return stop < 0 ? stop : (int)n;
}

/*
 * The smallest byte string greater than every string starting with @p: drop trailing 0xff
 * bytes and increment the last one. Return: its length, 0 if there is none (p is all 0xff).
 */
static size_t prefix_successor(unsigned char *p, size_t len)
{
	while (len && p[len - 1] == 0xff)
		len--;
	if (len)
		p[len - 1]++;
	return len;
}

/* Ends a key cursor (hkv_cursor_after() of a long key); its last byte is not 0. */
static const unsigned char key_cursor_tag[16] = "\xffhkv-after-key!\xa5";

int hkv_cursor_after(struct hkv_cursor *cur, const void *key, size_t klen, bool is_prefix)
{
	if (!klen || klen > HKV_KEY_MAX)
		return -EINVAL;
	hkv_cursor_init(cur);
	if (is_prefix) {
		/* hkv_scan() jumps past a rolled-up prefix only when it is short enough */
		if (klen > EKEY_SHORT)
			return -ERANGE;
		memcpy(cur->pos, key, klen);
		cur->len = (uint32_t)prefix_successor(cur->pos, klen);
		cur->done = !cur->len;
		return 0;
	}
	if (klen > EKEY_SHORT) {
		/*
		 * A long key's position depends on the store's secret hash key, which this
		 * function does not have: the cursor holds the key itself, followed by a tag, and
		 * hkv_scan() turns it into the position (key_cursor_pos()).
		 */
		memcpy(cur->pos, key, klen);
		memcpy(cur->pos + klen, key_cursor_tag, sizeof(key_cursor_tag));
		cur->len = (uint32_t)(klen + sizeof(key_cursor_tag));
		return 0;
	}
	memcpy(cur->pos, key, klen);
	cur->pos[klen] = 0;
	cur->len = (uint32_t)klen + 1;
	return 0;
}

/*
 * If @cur is a key cursor of hkv_cursor_after() (a long key + key_cursor_tag), put the scan
 * position right after that key into @seek. Positions a scan produces are at most EKEY_LONG +
 * 1 bytes, and those of exactly that length end in a NUL byte, where a key cursor ends in the
 * tag's last byte; so the two forms never meet.
 * Return: 0 and *@seeklen; 1 (not a key cursor); -EINVAL (malformed).
 */
static int key_cursor_pos(struct hkv *db, const struct hkv_cursor *cur, unsigned char *seek,
			  size_t *seeklen)
{
	size_t tl = sizeof(key_cursor_tag), klen;
	struct ekey ek;

	if (cur->len < EKEY_LONG + 1 || (cur->len == EKEY_LONG + 1 && !cur->pos[EKEY_LONG]))
		return 1;
	if (cur->len > HKV_CURSOR_MAX || memcmp(cur->pos + cur->len - tl, key_cursor_tag, tl))
		return -EINVAL;
	klen = cur->len - tl;
	if (klen <= EKEY_SHORT || klen > HKV_KEY_MAX)
		return -EINVAL;
	ekey_make(db, &ek, cur->pos, klen);
	memcpy(seek, ek.b, ek.len);
	seek[ek.len] = 0;
	*seeklen = ek.len + 1;
	return 0;
}

int hkv_scan(struct hkv *db, struct hkv_cursor *cur, const struct hkv_scan_opts *opts,
	     hkv_scan_fn cb, void *arg)
{
	static const struct hkv_scan_opts none;
	const struct hkv_scan_opts *o = opts ? opts : &none;
	size_t count = o->count ? o->count : 10, examined = 0, plen = o->prefix_len;
	static const unsigned char empty[1];
	const unsigned char *prefix = o->prefix ? o->prefix : empty;
	size_t pcmp = plen > EKEY_SHORT ? EKEY_SHORT : plen;
	unsigned char seek[HKV_CURSOR_MAX], pos[EKEY_LONG + 1];
	size_t seeklen, poslen;
	int64_t now = hkv_now_ms(db);
	struct kvcur *mc;
	struct kvtx *txn;
	MDB_val k, v;
	int rc, reported = 0, ret = 0;

	if (cur->done)
		return 0;
	if (plen > HKV_KEY_MAX)
		return -EINVAL;
	rc = key_cursor_pos(db, cur, pos, &poslen);
	if (rc < 0)
		return rc;
	if (rc) {
		if (cur->len > EKEY_LONG + 1)
			return -EINVAL;
		memcpy(pos, cur->pos, cur->len);
		poslen = cur->len;
	}
	/* start at the cursor, or at the prefix if the cursor is before it */
	if (poslen && (memcmp(pos, prefix, poslen < pcmp ? poslen : pcmp) > 0 ||
		       (poslen >= pcmp && !memcmp(pos, prefix, pcmp)))) {
		memcpy(seek, pos, poslen);
		seeklen = poslen;
	} else {
		memcpy(seek, prefix, pcmp);
		seeklen = pcmp;
	}
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = lmdb_err(kv_cursor_open(txn, db->dbi_keys, &mc));
	if (rc)
		goto out_end;
	k.mv_size = seeklen;
	k.mv_data = seek;
	rc = kv_cursor_get(mc, &k, &v, seeklen ? MDB_SET_RANGE : MDB_FIRST);
	while (!rc) {
		const unsigned char *key;
		struct kmeta m;
		size_t klen;
		bool at_prefix = false;

		if (k.mv_size < pcmp || memcmp(k.mv_data, prefix, pcmp))
			break; /* past the prefix: done */
		rc = kmeta_decode(&v, &m);
		if (rc) {
			hkv_log(db, 0, "scan: malformed key record");
			break;
		}
		key = m.fullkey ? m.fullkey : k.mv_data;
		klen = m.fullkey ? m.fullkey_len : k.mv_size;
		/* the position after this key; k.mv_size + 1 <= 512 always fits */
		memcpy(seek, k.mv_data, k.mv_size);
		seek[k.mv_size] = 0;
		seeklen = k.mv_size + 1;
		if (plen > pcmp && (klen < plen || memcmp(key, prefix, plen)))
			goto next;
		if (kmeta_expired(&m, now))
			goto next;
		if (o->has_delim) {
			const unsigned char *d = memchr(key + plen, o->delim, klen - plen);

			if (d) {
				size_t clen = (size_t)(d - key) + 1;

				if (clen <= EKEY_SHORT) {
					/* jump past every key below this common prefix */
					memcpy(seek, key, clen);
					seeklen = prefix_successor(seek, clen);
				}
				at_prefix = true;
				examined++;
				ret = cb(arg, key, clen, HKV_TYPE_NONE, true);
				reported++;
				if (ret == HKV_SCAN_AGAIN) {
					memcpy(seek, k.mv_data, k.mv_size);
					seeklen = k.mv_size;
					reported--;
				}
				if (ret || examined >= count || (clen <= EKEY_SHORT && !seeklen))
					break;
				goto next;
			}
		}
		examined++;
		if ((o->type == HKV_TYPE_NONE || o->type == m.type) &&
		    (!o->match || glob_match(o->match, key, klen))) {
			reported++;
			ret = cb(arg, key, klen, (enum hkv_type)m.type, false);
			if (ret == HKV_SCAN_AGAIN) {
				memcpy(seek, k.mv_data, k.mv_size);
				seeklen = k.mv_size;
				reported--;
			}
			if (ret)
				break;
		}
		if (examined >= count)
			break;
next:
		if (at_prefix) {
			k.mv_size = seeklen;
			k.mv_data = seek;
			rc = kv_cursor_get(mc, &k, &v, MDB_SET_RANGE);
		} else {
			rc = kv_cursor_get(mc, &k, &v, MDB_NEXT);
		}
	}
	kv_cursor_close(mc);
	if (rc == MDB_NOTFOUND || (rc == 0 && !ret && examined < count) ||
	    (rc == 0 && seeklen == 0)) {
		/* ran off the end of the table or of the prefix */
		cur->done = true;
		cur->len = 0;
		rc = 0;
	} else if (rc) {
		rc = rc == -HKV_ECORRUPT ? rc : lmdb_err(rc);
	} else {
		memcpy(cur->pos, seek, seeklen);
		cur->len = (uint32_t)seeklen;
	}
out_end:
	rtx_end(db, txn);
	if (rc)
		return rc;
	return ret ? ret : reported;
}

int hkv_attr_get(struct hkv *db, const void *key, size_t klen, struct hkv_attr *out)
{
	struct kmeta m;
	int rc = read_meta(db, key, klen, &m);

	if (rc)
		return rc;
	out->type = (enum hkv_type)m.type;
	out->mode = m.mode;
	out->uid = m.uid;
	out->gid = m.gid;
	out->mtime_ns = m.mtime_ns;
	out->ctime_ns = m.ctime_ns;
	out->expire_at = m.expire_at;
	out->version = m.version;
	out->size = m.size;
	out->id = m.id;
	return 0;
}

static int attr_set_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct kmeta m;
	int rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);

	if (rc)
		return rc;
	if (a->flags & HKV_ATTR_MODE)
		m.mode = a->attr->mode & 07777;
	if (a->flags & HKV_ATTR_UID)
		m.uid = a->attr->uid;
	if (a->flags & HKV_ATTR_GID)
		m.gid = a->attr->gid;
	if (a->flags & HKV_ATTR_MTIME)
		m.mtime_ns = a->attr->mtime_ns;
	m.version = wtx_version(w);
	m.ctime_ns = w->now_ns;
	rc = krec_put(w, &a->ek, a->key, a->klen, &m, m.inl, m.inl_len);
	if (!rc)
		wtx_touch(w, a->key, a->klen, m.version);
	return rc;
}

int hkv_attr_set(struct hkv *db, const void *key, size_t klen, unsigned which,
		 const struct hkv_attr *attr)
{
	struct key_args a = { 0 };

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	if (which & ~(HKV_ATTR_MODE | HKV_ATTR_UID | HKV_ATTR_GID | HKV_ATTR_MTIME))
		return -EINVAL;
	a.flags = which;
	a.attr = attr;
	return hkv_write(db, attr_set_fn, &a);
}

static int create_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	struct kmeta m;
	bool created;
	int rc;

	rc = wkey_prepare(w, &a->ek, a->key, a->klen, a->type, a->ca, &m, &created);
	if (rc == -HKV_EWRONGTYPE || (!rc && !created))
		return -EEXIST;
	if (rc)
		return rc;
	if (a->type == HKV_TYPE_STRING)
		m.flags = KF_INLINE;
	return wkey_store(w, &a->ek, a->key, a->klen, &m, "", 0, 0);
}

int hkv_create(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	       const struct hkv_create_attr *ca)
{
	struct key_args a = { 0 };

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	if (type < HKV_TYPE_STRING || type > HKV_TYPE_STREAM)
		return -EINVAL;
	a.type = type;
	a.ca = ca;
	return hkv_write(db, create_fn, &a);
}

/* xattr table key: id(8 BE) + name */
static size_t xattr_key(unsigned char *buf, uint64_t id, const char *name)
{
	size_t n = strlen(name);

	put_be64(buf, id);
	memcpy(buf + 8, name, n);
	return 8 + n;
}

static int xattr_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (!n)
		return -EINVAL;
	return n > XATTR_NAME_MAX ? -ERANGE : 0;
}

int hkv_xattr_get(struct hkv *db, const void *key, size_t klen, const char *name,
		  struct hkv_buf *out)
{
	unsigned char kb[8 + XATTR_NAME_MAX];
	struct ekey ek;
	struct kmeta m;
	struct kvtx *txn;
	MDB_val k, v;
	int rc;

	out->data = NULL;
	out->len = 0;
	if (key_check(klen))
		return -EINVAL;
	rc = xattr_name_check(name);
	if (rc)
		return rc;
	ekey_make(db, &ek, key, klen);
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = key_lookup(db, txn, &ek, HKV_NOW_LAZY, &m);
	if (!rc) {
		k.mv_size = xattr_key(kb, m.id, name);
		k.mv_data = kb;
		rc = kv_get(txn, db->dbi_xattr, &k, &v);
		rc = rc == MDB_NOTFOUND ? -ENODATA : lmdb_err(rc);
	}
	if (!rc) {
		out->data = malloc(v.mv_size + 1);
		if (!out->data) {
			rc = -ENOMEM;
		} else {
			memcpy(out->data, v.mv_data, v.mv_size);
			((char *)out->data)[v.mv_size] = 0;
			out->len = v.mv_size;
		}
	}
	rtx_end(db, txn);
	return rc;
}

static int xattr_set_fn(struct wtx *w, void *arg)
{
	struct key_args *a = arg;
	unsigned char kb[8 + XATTR_NAME_MAX];
	struct kmeta m;
	MDB_val k, v;
	int rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);

	if (rc)
		return rc;
	k.mv_size = xattr_key(kb, m.id, a->name);
	k.mv_data = kb;
	rc = kv_get(w->txn, w->db->dbi_xattr, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if (a->val) {
		if (!rc && a->flags & HKV_XATTR_CREATE)
			return -EEXIST;
		if (rc && a->flags & HKV_XATTR_REPLACE)
			return -ENODATA;
		v.mv_size = a->vlen;
		v.mv_data = (void *)a->val;
		rc = lmdb_err(kv_put(w->txn, w->db->dbi_xattr, &k, &v, 0));
	} else {
		if (rc)
			return -ENODATA;
		rc = lmdb_err(kv_del(w->txn, w->db->dbi_xattr, &k, NULL));
	}
	if (rc)
		return rc;
	m.version = wtx_version(w);
	m.ctime_ns = w->now_ns;
	rc = krec_put(w, &a->ek, a->key, a->klen, &m, m.inl, m.inl_len);
	if (!rc)
		wtx_touch(w, a->key, a->klen, m.version);
	return rc;
}

int hkv_xattr_set(struct hkv *db, const void *key, size_t klen, const char *name,
		  const void *val, size_t vlen, int flags)
{
	struct key_args a = { 0 };
	int rc;

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	rc = xattr_name_check(name);
	if (rc)
		return rc;
	if (vlen > XATTR_VALUE_MAX)
		return -E2BIG;
	if (flags & ~(HKV_XATTR_CREATE | HKV_XATTR_REPLACE) ||
	    flags == (HKV_XATTR_CREATE | HKV_XATTR_REPLACE))
		return -EINVAL;
	a.name = name;
	a.val = val ? val : "";
	a.vlen = vlen;
	a.flags = (unsigned)flags;
	return hkv_write(db, xattr_set_fn, &a);
}

int hkv_xattr_del(struct hkv *db, const void *key, size_t klen, const char *name)
{
	struct key_args a = { 0 };
	int rc;

	if (key_args_init(db, &a, key, klen))
		return -EINVAL;
	rc = xattr_name_check(name);
	if (rc)
		return rc;
	a.name = name;
	a.val = NULL;
	return hkv_write(db, xattr_set_fn, &a);
}

int hkv_xattr_list(struct hkv *db, const void *key, size_t klen,
		   int (*cb)(void *arg, const char *name), void *arg)
{
	unsigned char idb[8];
	char name[XATTR_NAME_MAX + 1];
	struct ekey ek;
	struct kmeta m;
	struct kvcur *mc;
	struct kvtx *txn;
	MDB_val k, v;
	int rc, ret = 0;

	if (key_check(klen))
		return -EINVAL;
	ekey_make(db, &ek, key, klen);
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = key_lookup(db, txn, &ek, HKV_NOW_LAZY, &m);
	if (rc)
		goto out_end;
	rc = lmdb_err(kv_cursor_open(txn, db->dbi_xattr, &mc));
	if (rc)
		goto out_end;
	put_be64(idb, m.id);
	k.mv_size = 8;
	k.mv_data = idb;
	for (rc = kv_cursor_get(mc, &k, &v, MDB_SET_RANGE); !rc;
	     rc = kv_cursor_get(mc, &k, &v, MDB_NEXT)) {
		size_t n = k.mv_size - 8;

		if (k.mv_size < 8 || memcmp(k.mv_data, idb, 8))
			break;
		if (n > XATTR_NAME_MAX)
			continue;
		memcpy(name, (char *)k.mv_data + 8, n);
		name[n] = 0;
		ret = cb(arg, name);
		if (ret)
			break;
	}
	kv_cursor_close(mc);
	rc = rc == MDB_NOTFOUND || !rc ? 0 : lmdb_err(rc);
out_end:
	rtx_end(db, txn);
	return rc ? rc : ret;
}
