// SPDX-License-Identifier: MIT
/*
 * keys.c - key records: encoding (the table in hkv_int.h), lookup with expiry, and the
 * create/store/delete steps every write function is built from.
 *
 * Invariants kept here:
 *  - a key record and its entry in the exp table agree: the exp table has (expire_at, ekey)
 *    exactly for the records whose expire_at is not 0;
 *  - every stored record has a version taken from the store-wide counter at the time of the
 *    write, so versions strictly increase and are never reused, even across a delete;
 *  - deleting a key drops everything stored under its id (elements, score index, xattrs) and
 *    releases its value-log record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mem_int.h"

/* Append @v as an unsigned LEB128 varint at @p. Return: the bytes written (1..10). */
static size_t uv_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* Append the signed @v zigzag-coded (see hkv_int.h). */
static size_t sv_put(unsigned char *p, int64_t v)
{
	return uv_put(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Read a varint at *@off of @p (@n bytes) into @v. Return: false if it runs past @n or 10 bytes. */
static bool uv_get(const unsigned char *p, size_t n, size_t *off, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	while (*off < n && shift < 70) {
		unsigned char b = p[(*off)++];

		if (shift == 63 && b > 1)
			return false;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
		shift += 7;
	}
	return false;
}

static bool sv_get(const unsigned char *p, size_t n, size_t *off, int64_t *v)
{
	uint64_t u;

	if (!uv_get(p, n, off, &u))
		return false;
	*v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
	return true;
}

/* Encode @m's header in the varint layout into @p (KREC_HDR_MAX bytes). Return: its length. */
static size_t krec_hdr_encode(unsigned char *p, const struct kmeta *m, uint8_t flags,
			      size_t longlen)
{
	size_t n = 2;

	p[0] = m->type;
	p[1] = flags | KF_VARINT;
	if (flags & KF_LONGKEY)
		n += uv_put(p + n, longlen);
	n += uv_put(p + n, m->mode);
	n += uv_put(p + n, m->uid);
	n += uv_put(p + n, m->gid);
	n += uv_put(p + n, m->id);
	n += uv_put(p + n, m->version);
	n += sv_put(p + n, m->mtime_ns);
	n += sv_put(p + n, (int64_t)((uint64_t)m->ctime_ns - (uint64_t)m->mtime_ns));
	n += sv_put(p + n, m->expire_at);
	n += uv_put(p + n, m->size);
	n += sv_put(p + n, m->head);
	n += sv_put(p + n, m->tail);
	return n;
}

/* Decode the fixed layout's header. Return: its length (with the full key's), 0 if corrupt. */
static size_t krec_hdr_fixed(const unsigned char *p, size_t n, struct kmeta *m, size_t *kl)
{
	if (n < KREC_HDR)
		return 0;
	m->mode = get_le32(p + 4);
	m->uid = get_le32(p + 8);
	m->gid = get_le32(p + 12);
	m->id = get_le64(p + 16);
	m->version = get_le64(p + 24);
	m->mtime_ns = (int64_t)get_le64(p + 32);
	m->ctime_ns = (int64_t)get_le64(p + 40);
	m->expire_at = (int64_t)get_le64(p + 48);
	m->size = get_le64(p + 56);
	m->head = (int64_t)get_le64(p + 64);
	m->tail = (int64_t)get_le64(p + 72);
	*kl = get_le16(p + 2);
	return KREC_HDR;
}

/* Decode the varint layout's header. Return: its length, 0 if corrupt. */
static size_t krec_hdr_varint(const unsigned char *p, size_t n, struct kmeta *m, size_t *kl)
{
	size_t off = 2;
	uint64_t u[6], kl64 = 0;
	int64_t s[5];

	if (m->flags & KF_LONGKEY && !uv_get(p, n, &off, &kl64))
		return 0;
	for (int i = 0; i < 5; i++)
		if (!uv_get(p, n, &off, &u[i]))
			return 0;
	if (!sv_get(p, n, &off, &s[0]) || !sv_get(p, n, &off, &s[1]) ||
	    !sv_get(p, n, &off, &s[2]) || !uv_get(p, n, &off, &u[5]) ||
	    !sv_get(p, n, &off, &s[3]) || !sv_get(p, n, &off, &s[4]))
		return 0;
	if (u[0] > UINT32_MAX || u[1] > UINT32_MAX || u[2] > UINT32_MAX || kl64 > HKV_KEY_MAX)
		return 0;
	m->mode = (uint32_t)u[0];
	m->uid = (uint32_t)u[1];
	m->gid = (uint32_t)u[2];
	m->id = u[3];
	m->version = u[4];
	m->mtime_ns = s[0];
	m->ctime_ns = (int64_t)((uint64_t)s[0] + (uint64_t)s[1]);
	m->expire_at = s[2];
	m->size = u[5];
	m->head = s[3];
	m->tail = s[4];
	*kl = (size_t)kl64;
	return off;
}

/* kmeta_decode(), and with @blind a blind record too (a string in the varint layout). */
static int kmeta_decode_any(const MDB_val *v, struct kmeta *m, bool blind)
{
	const unsigned char *p = v->mv_data;
	size_t n = v->mv_size, off, kl = 0;

	if (n < 2)
		return -HKV_ECORRUPT;
	m->type = p[0];
	m->flags = p[1];
	if (m->type < HKV_TYPE_STRING || m->type > HKV_TYPE_STREAM ||
	    (m->flags & KF_INLINE && m->flags & KF_VLOG) ||
	    m->flags & ~(KF_INLINE | KF_VLOG | KF_LONGKEY | KF_VARINT | KF_BLIND))
		return -HKV_ECORRUPT;
	if (m->flags & KF_BLIND &&
	    (!blind || m->type != HKV_TYPE_STRING || m->flags & KF_LONGKEY ||
	     !(m->flags & KF_VARINT)))
		return -HKV_ECORRUPT;
	off = m->flags & KF_VARINT ? krec_hdr_varint(p, n, m, &kl) : krec_hdr_fixed(p, n, m, &kl);
	if (!off)
		return -HKV_ECORRUPT;
	m->fullkey = NULL;
	m->fullkey_len = 0;
	m->key = NULL;
	m->klen = 0;
	if (m->flags & KF_LONGKEY) {
		if (kl <= EKEY_SHORT || kl > HKV_KEY_MAX || off + kl > n)
			return -HKV_ECORRUPT;
		m->fullkey = p + off;
		m->fullkey_len = kl;
		off += kl;
	}
	m->inl = NULL;
	m->inl_len = 0;
	memset(&m->ref, 0, sizeof(m->ref));
	if (m->flags & KF_INLINE) {
		m->inl = p + off;
		m->inl_len = n - off;
		if (m->inl_len != m->size)
			return -HKV_ECORRUPT;
	} else if (m->flags & KF_VLOG) {
		if (n - off != VLOG_REF_SIZE)
			return -HKV_ECORRUPT;
		vlog_ref_decode(p + off, &m->ref);
		if (m->ref.vlen != m->size)
			return -HKV_ECORRUPT;
	} else if (n != off || (m->type == HKV_TYPE_STRING && m->size)) {
		return -HKV_ECORRUPT;
	}
	return 0;
}

int kmeta_decode(const MDB_val *v, struct kmeta *m)
{
	return kmeta_decode_any(v, m, false);
}

int kmeta_decode_blind(const MDB_val *v, struct kmeta *m)
{
	return kmeta_decode_any(v, m, true);
}

/*
 * The user key of a record found under @ek: the stored full key of a long one, else the
 * string @ek was made from (the caller's, which outlives the encoding), else @ek itself.
 */
static void kmeta_set_key(struct kmeta *m, const struct ekey *ek)
{
	if (m->fullkey) {
		m->key = m->fullkey;
		m->klen = m->fullkey_len;
	} else {
		m->key = ek->src ? ek->src : ek->b;
		m->klen = ek->len;
	}
}

/*
 * Whether the record @m found under the long encoding @ek belongs to another key than the one
 * @ek was made from (same first EKEY_SHORT bytes and same keyed hash): then the key asked for
 * is absent, never answered by the other key's record.
 */
static bool kmeta_other_key(struct hkv *db, const struct kmeta *m, const struct ekey *ek)
{
	if (!m->fullkey || !ek->src)
		return false;
	if (m->fullkey_len == ek->srclen && !memcmp(m->fullkey, ek->src, ek->srclen))
		return false;
	hkv_log(db, 3, "long key: another key of %zu bytes holds the index slot of a %zu-byte "
		"key", m->fullkey_len, ek->srclen);
	return true;
}

static int key_find(struct hkv *db, struct kvtx *txn, const struct ekey *ek, int64_t now_ms,
		    struct kmeta *m, bool merged)
{
	MDB_val k = { ek->len, (void *)ek->b }, v;
	int rc;

	rc = merged ? kv_get(txn, db->dbi_keys, &k, &v) : kv_get_unmerged(txn, db->dbi_keys, &k, &v);
	if (rc)
		return lmdb_err(rc);
	/*
	 * The record spans several cache lines (an 80-byte header, then an inline value) that a
	 * read then touches in turn: ask for them all at once, so their misses overlap.
	 */
	for (size_t off = 64; off < v.mv_size && off < 320; off += 64)
		__builtin_prefetch((const char *)v.mv_data + off);
	if (v.mv_size <= 320)
		__builtin_prefetch((const char *)v.mv_data + v.mv_size - 1);
	rc = kmeta_decode_any(&v, m, !merged);
	if (rc) {
		hkv_log(db, 0, "malformed key record (%zu bytes)", v.mv_size);
		return rc;
	}
	m->flags &= (uint8_t)~KF_BLIND;
	if (kmeta_other_key(db, m, ek))
		return -ENOENT;
	kmeta_set_key(m, ek);
	if (m->expire_at && now_ms == HKV_NOW_LAZY)
		now_ms = hkv_now_ms(db);
	if (kmeta_expired(m, now_ms))
		return -ENOENT;
	return 0;
}

int key_lookup(struct hkv *db, struct kvtx *txn, const struct ekey *ek, int64_t now_ms,
	       struct kmeta *m)
{
	return key_find(db, txn, ek, now_ms, m, true);
}

int key_lookup_value(struct hkv *db, struct kvtx *txn, const struct ekey *ek, int64_t now_ms,
		     struct kmeta *m)
{
	return key_find(db, txn, ek, now_ms, m, false);
}

static int exp_entry(struct wtx *w, const struct ekey *ek, int64_t at, bool add)
{
	unsigned char buf[8 + EKEY_LONG];
	MDB_val k = { 8 + ek->len, buf }, v = { 0, NULL };
	int rc;

	put_be64(buf, (uint64_t)at);
	memcpy(buf + 8, ek->b, ek->len);
	if (add)
		return lmdb_err(kv_put(w->txn, w->db->dbi_exp, &k, &v, 0));
	rc = kv_del(w->txn, w->db->dbi_exp, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int wkey_delete(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		const struct kmeta *m)
{
	struct hkv *db = w->db;
	MDB_val k = { ek->len, (void *)ek->b };
	unsigned char idb[KEY_ID_LEN];
	int rc = 0;

	if (m->expire_at)
		rc = exp_entry(w, ek, m->expire_at, false);
	if (!rc && m->type != HKV_TYPE_STRING)
		rc = coll_delete_all(w, m);
	if (!rc && m->flags & KF_VLOG)
		rc = vlog_ref_dead(w, &m->ref);
	if (!rc) {
		put_be64(idb, m->id);
		rc = range_delete(w->txn, db->dbi_xattr, idb, sizeof(idb));
	}
	if (!rc)
		rc = lmdb_err(kv_del(w->txn, db->dbi_keys, &k, NULL));
	if (!rc)
		wtx_touch(w, key, klen, 0);
	return rc;
}

int wkey_lookup(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		struct kmeta *m)
{
	MDB_val k = { ek->len, (void *)ek->b }, v;
	int rc;

	rc = kv_get(w->txn, w->db->dbi_keys, &k, &v);
	if (rc)
		return lmdb_err(rc);
	rc = kmeta_decode(&v, m);
	if (rc) {
		hkv_log(w->db, 0, "malformed key record (%zu bytes)", v.mv_size);
		return rc;
	}
	if (kmeta_other_key(w->db, m, ek))
		return -ENOENT;
	kmeta_set_key(m, ek);
	if (!kmeta_expired(m, w->now_ms))
		return 0;
	rc = wkey_delete(w, ek, key, klen, m);
	if (rc)
		return rc;
	atomic_fetch_add_explicit(&w->db->st.expired, 1, memory_order_relaxed);
	return -ENOENT;
}

int wkey_prepare(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		 enum hkv_type type, const struct hkv_create_attr *ca, struct kmeta *m,
		 bool *created)
{
	int rc = wkey_lookup(w, ek, key, klen, m);

	*created = false;
	if (!rc)
		return m->type == type ? 0 : -HKV_EWRONGTYPE;
	if (rc != -ENOENT)
		return rc;
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->id = wtx_new_id(w);
	m->mode = ca ? ca->mode & 07777 : w->db->opt.mode;
	m->uid = ca ? ca->uid : w->db->opt.uid;
	m->gid = ca ? ca->gid : w->db->opt.gid;
	*created = true;
	return 0;
}

/* Encode and put the record of @m, without touching times, version or the exp table. */
int krec_put(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
	     const struct kmeta *m, const void *inl, size_t inl_len)
{
	bool is_long = ek->len == EKEY_LONG;
	size_t n, hlen;
	MDB_val k = { ek->len, (void *)ek->b }, v;
	unsigned char *p, hdr[KREC_HDR_MAX];
	uint8_t flags = m->flags & (KF_INLINE | KF_VLOG | KF_BLIND);
	unsigned char stackbuf[1024];
	void *tmp = NULL;
	int rc;

	/*
	 * @inl may borrow from this very record (a rewrite that keeps the value), which the put
	 * below can move within its page: take a copy first.
	 */
	if (flags & KF_INLINE && inl_len) {
		if (inl_len <= sizeof(stackbuf)) {
			memcpy(stackbuf, inl, inl_len);
			inl = stackbuf;
		} else {
			tmp = malloc(inl_len);
			if (!tmp)
				return -ENOMEM;
			memcpy(tmp, inl, inl_len);
			inl = tmp;
		}
	}
	if (is_long) {
		MDB_val cur;
		struct kmeta om;

		/* a long key never takes over the slot of another key (see kmeta_other_key()) */
		rc = kv_get(w->txn, w->db->dbi_keys, &k, &cur);
		if (rc && rc != MDB_NOTFOUND) {
			free(tmp);
			return lmdb_err(rc);
		}
		if (!rc && !kmeta_decode(&cur, &om) &&
		    (om.fullkey_len != klen || memcmp(om.fullkey, key, klen))) {
			hkv_log(w->db, 1, "long key: a %zu-byte key cannot be stored: another key holds "
				"its index slot (a collision of the keyed hash)", klen);
			free(tmp);
			return -EEXIST;
		}
		flags |= KF_LONGKEY;
	}
	hlen = krec_hdr_encode(hdr, m, flags, klen);
	n = hlen + (is_long ? klen : 0);
	if (flags & KF_INLINE)
		n += inl_len;
	else if (flags & KF_VLOG)
		n += VLOG_REF_SIZE;
	v.mv_size = n;
	rc = kv_put(w->txn, w->db->dbi_keys, &k, &v, MDB_RESERVE);
	if (rc) {
		free(tmp);
		return lmdb_err(rc);
	}
	p = v.mv_data;
	memcpy(p, hdr, hlen);
	p += hlen;
	if (is_long) {
		memcpy(p, key, klen);
		p += klen;
	}
	if (flags & KF_INLINE && inl_len)
		memcpy(p, inl, inl_len);
	else if (flags & KF_VLOG)
		vlog_ref_encode(p, &m->ref);
	free(tmp);
	return 0;
}

int wkey_store(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
	       struct kmeta *m, const void *inl, size_t inl_len, int64_t old_expire)
{
	int rc = 0;

	m->version = wtx_version(w);
	m->mtime_ns = m->ctime_ns = w->now_ns;
	if (old_expire != m->expire_at) {
		if (old_expire)
			rc = exp_entry(w, ek, old_expire, false);
		if (!rc && m->expire_at)
			rc = exp_entry(w, ek, m->expire_at, true);
		if (rc)
			return rc;
	}
	rc = krec_put(w, ek, key, klen, m, inl, inl_len);
	if (!rc)
		wtx_touch(w, key, klen, m->version);
	return rc;
}

int wkey_set_expire(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		    struct kmeta *m, int64_t at)
{
	int64_t old = m->expire_at;
	int rc = 0;

	if (old == at)
		return 0;
	if (old)
		rc = exp_entry(w, ek, old, false);
	if (!rc && at)
		rc = exp_entry(w, ek, at, true);
	if (rc)
		return rc;
	m->expire_at = at;
	m->version = wtx_version(w);
	m->ctime_ns = w->now_ns;
	rc = krec_put(w, ek, key, klen, m, m->inl, m->inl_len);
	if (!rc)
		wtx_touch(w, key, klen, m->version);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Blind SETs
 *
 * A plain SET (no NX, XX, KEEPTTL or GET) replaces whatever the key held, and of the record
 * it replaces it keeps only the mode, the owner and, if that record was a string, the id.
 * Reading that record from the index is a B-tree search of its own, a third of a SET at a
 * million keys. So when no memtable holds the key (then the record, if any, is the index's)
 * and the key cannot have an expiry (below), string.c writes the new record blind instead:
 * flagged KF_BLIND, with a fresh id and the default mode and owner, and does not look.
 *
 * Invariants:
 *  - a key's blind versions in a memtable are its oldest ones there (a SET over a blind
 *    record copies its id, mode and owner and is blind too; any other write reads the merge
 *    and writes a whole record), and each stands for a merge with the same record: the
 *    newest version in an older memtable of the view, or in the index (at the first blind
 *    write, in neither: then in the index; a reader holding an older view may still find a
 *    memtable version in between, see kv.c);
 *  - its merge with that record (krec_merge()) is what a SET that looked would have written:
 *    the old mode, uid and gid, the old id if the old record is a string, else the fresh one.
 *    The merge is pure and idempotent, so a reader whose index snapshot already holds the
 *    merged record (checkpointed) gets the same answer from it;
 *  - kv.c returns every blind record merged, so no other code sees the flag; the index never
 *    holds one: the checkpointer writes the merge;
 *  - the replaced record had no expiry: every put into the exp table marks its key in the
 *    expiry filter (db->ttl_bits), which is filled from the exp table when the store opens
 *    and allows blind SETs only once it is; a SET of a marked key looks. So the exp table
 *    never holds an entry for a key whose current record has another expiry, and DBSIZE,
 *    INFO's expires and the expiry sweep stay exact;
 *  - what a SET that looked would also have dropped (a collection's elements and score
 *    index, the extended attributes of an id that is not kept, the old value's value-log
 *    record counted dead) the checkpointer drops in the transaction that writes the merge
 *    (krec_blind_apply()): the old id is unreachable from the moment the blind record is
 *    published, so nothing reads those records in between, and nothing writes them again.
 *
 * Crash points: the blind record is in the log like any write. Before the checkpoint that
 * applies it commits, the index still holds the old record, and replay puts the blind record
 * back as the oldest version of its key; after, the index holds the merge and the drops,
 * atomically, and the log from the checkpoint on no longer holds the blind record.
 */

ssize_t krec_merge(const MDB_val *blind, const MDB_val *base, unsigned char *out)
{
	struct kmeta b, o;
	size_t n;

	if (kmeta_decode_any(blind, &b, true) || !(b.flags & KF_BLIND))
		return -HKV_ECORRUPT;
	if (base) {
		if (kmeta_decode(base, &o) || o.flags & KF_LONGKEY)
			return -HKV_ECORRUPT;
		b.mode = o.mode;
		b.uid = o.uid;
		b.gid = o.gid;
		if (o.type == HKV_TYPE_STRING)
			b.id = o.id;
	}
	n = krec_hdr_encode(out, &b, b.flags & (KF_INLINE | KF_VLOG), 0);
	if (b.flags & KF_INLINE) {
		memcpy(out + n, b.inl, b.inl_len);
		n += b.inl_len;
	} else if (b.flags & KF_VLOG) {
		vlog_ref_encode(out + n, &b.ref);
		n += VLOG_REF_SIZE;
	}
	return (ssize_t)n;
}

/* Delete every record of @dbi whose key starts with @prefix, in the raw index @txn. */
static int raw_range_delete(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		return lmdb_err(rc);
	for (;;) {
		k.mv_size = plen;
		k.mv_data = (void *)prefix;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

int krec_blind_apply(struct hkv *db, MDB_txn *txn, const MDB_val *ek, const MDB_val *blind,
		     const MDB_val *base, struct vlog_ref *dead, bool *has_dead)
{
	unsigned char idb[KEY_ID_LEN], eb[8 + EKEY_LONG];
	struct kmeta b, o;
	int rc = 0;

	*has_dead = false;
	if (!base)
		return 0;
	if (kmeta_decode_any(blind, &b, true) || kmeta_decode(base, &o) ||
	    ek->mv_size > EKEY_LONG)
		return -HKV_ECORRUPT;
	/*
	 * A base as new as the blind record is this memtable's own result, applied already (a
	 * checkpoint applied again after a failure to install its view): nothing more to drop.
	 * What the blind record replaced was written before it, with a lower version.
	 */
	if (o.version >= b.version)
		return 0;
	if (o.expire_at && o.expire_at != b.expire_at) {
		/* not reached while the expiry filter works; kept so the index stays consistent */
		MDB_val k = { 8 + ek->mv_size, eb };

		put_be64(eb, (uint64_t)o.expire_at);
		memcpy(eb + 8, ek->mv_data, ek->mv_size);
		rc = mdb_del(txn, db->dbi_exp, &k, NULL);
		rc = rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
	}
	if (!rc && o.type != HKV_TYPE_STRING) {
		/* the key took the blind record's id: the old one's records go */
		put_be64(idb, o.id);
		rc = raw_range_delete(txn, db->dbi_elems, idb, sizeof(idb));
		if (!rc && o.type == HKV_TYPE_ZSET)
			rc = raw_range_delete(txn, db->dbi_zidx, idb, sizeof(idb));
		if (!rc)
			rc = raw_range_delete(txn, db->dbi_xattr, idb, sizeof(idb));
	}
	if (!rc && o.flags & KF_VLOG) {
		*dead = o.ref;
		*has_dead = true;
	}
	return rc;
}

int ttl_init(struct hkv *db)
{
	uint64_t bits = 1ull << 23, n = 0;
	MDB_txn *txn;
	MDB_stat st;

	/* about 32 bits per key that has an expiry now, at least 1 MiB */
	if (!mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn)) {
		if (!mdb_stat(txn, db->dbi_exp, &st))
			n = st.ms_entries;
		mdb_txn_abort(txn);
	}
	n += atomic_load(&db->view)->mem[0]->nodes; /* replayed records, some of them expiries */
	while (bits < n * 32 && bits < (1ull << 36))
		bits <<= 1;
	db->ttl_bits = calloc(bits / 64, sizeof(*db->ttl_bits));
	if (!db->ttl_bits)
		return -ENOMEM;
	db->ttl_mask = bits - 1;
	return 0;
}

void ttl_mark(struct hkv *db, const void *ek, size_t len)
{
	uint64_t h;

	db = db->root;
	if (!db->ttl_bits)
		return;
	h = mem_hash(db, KV_KEYS, ek, len) & db->ttl_mask;
	atomic_fetch_or_explicit(&db->ttl_bits[h >> 6], 1ull << (h & 63), memory_order_relaxed);
}

bool ttl_maybe(struct hkv *db, uint64_t h)
{
	db = db->root;
	if (!atomic_load_explicit(&db->ttl_ready, memory_order_acquire))
		return true;
	h &= db->ttl_mask;
	return atomic_load_explicit(&db->ttl_bits[h >> 6], memory_order_relaxed) >> (h & 63) & 1;
}

void ttl_prefetch(struct hkv *db, uint64_t h)
{
	db = db->root;
	if (db->ttl_bits)
		__builtin_prefetch((const void *)&db->ttl_bits[(h & db->ttl_mask) >> 6]);
}

int ttl_build(struct hkv *db)
{
	struct kvtx *txn;
	struct kvcur *cur;
	MDB_val k, v;
	uint64_t n = 0;
	int rc;

	if (!db->ttl_bits)
		return 0;
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = kv_cursor_open(txn, db->dbi_exp, &cur);
	if (!rc) {
		for (rc = kv_cursor_get(cur, &k, &v, MDB_FIRST); !rc;
		     rc = kv_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size > 8)
				ttl_mark(db, (const char *)k.mv_data + 8, k.mv_size - 8);
			n++;
		}
		kv_cursor_close(cur);
	}
	rtx_end(db, txn);
	if (rc != MDB_NOTFOUND) {
		hkv_log(db, 1, "expiry filter: %s; SETs will read the record they replace",
			hkv_strerror(lmdb_err(rc)));
		return lmdb_err(rc);
	}
	hkv_log(db, 3, "expiry filter: %" PRIu64 " keys with an expiry, %" PRIu64 " bits", n,
		db->ttl_mask + 1);
	atomic_store_explicit(&db->ttl_ready, true, memory_order_release);
	return 0;
}
