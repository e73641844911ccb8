// SPDX-License-Identifier: MIT
/*
 * hash.c - Redis hashes: HSET, HSETNX, HGET, HDEL, HEXISTS, HLEN, HGETALL, HINCRBY, HSCAN,
 * and the order of a hash's fields.
 *
 * A hash is a key record of type HKV_TYPE_HASH whose size is the number of fields, and one
 * elems record per field (layout in coll.c): key = id + ekey(field), value = [u16 length +
 * field if long] + [sequence number] + the field's value. The key record's list fields are
 * the hash's order state:
 *
 *   head  flags: HASH_SEQ (1): every field's value starts with its sequence number;
 *         HASH_LARGE (2): the hash has been beyond the limits of a small hash. Other bits are
 *         never set (a record with one is corrupt).
 *   tail  the sequence number the next new field takes; 0 without HASH_SEQ.
 *
 * A sequence number is stored as an unsigned LEB128 varint: 7 bits per byte, the low group
 * first, the top bit set on every byte but the last; 1 byte below 128, 2 below 16384, at most
 * 10. (A fixed 8 bytes would add a third to a small field of a few bytes.)
 *
 * A field takes the sequence number tail (then tail + 1) when it is added, and keeps it when
 * its value is replaced; deleting it frees nothing, so a field deleted and set again comes
 * last. Sequence numbers of one hash are thus distinct and in insertion order.
 *
 * Order: a hash with HASH_SEQ and without HASH_LARGE is "small" and gives its fields in
 * sequence order (hkv_hgetall() reads them all and sorts them: n <= the entries limit). The
 * first write after which the hash has more fields than db->hash_max_entries, or that writes
 * a field name or value longer than db->hash_max_value bytes, sets HASH_LARGE for good: the
 * fields then come in elems order (field byte order, except among fields longer than 448
 * bytes sharing their first 448 bytes). Such a hash keeps its sequence numbers (the layout of
 * a hash never changes while it has fields), they are just not used. A hash written by a
 * store before sequence numbers (head 0) keeps that layout and byte order until it is empty;
 * a write that finds a hash without fields (new, or made empty by hkv_create()) gives it the
 * current layout.
 *
 * hkv_hscan() walks elems order with coll.c's cursor for every hash, which keeps the
 * exactly-once guarantee of a full scan; hkv_hgetall_small() is the one-call alternative for
 * a small hash (Redis's HSCAN of a listpack).
 *
 * Crash safety: the flags, counter and sequence numbers are bytes of the key and elems
 * records, written in the same write function as the rest, so the log records of that write
 * cover them like any other (docs/engine-storage.md).
 *
 * Complexity (n fields): HSET, HSETNX, HGET, HDEL, HEXISTS, HINCRBY O(log n); HLEN O(1);
 * HGETALL O(n) for a large hash, O(n log n) for a small one (n bounded by the limit);
 * HSCAN O(count + log n) per call.
 *
 * Invariants: the key record's size equals the number of elems records under its id; the
 * key exists only while it has at least one field, unless it was made empty by hkv_create();
 * with HASH_SEQ, every field's sequence number is below tail and no two are equal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_int.h"

#define HASH_SEQ   1u
#define HASH_LARGE 2u
#define HASH_FLAGS (HASH_SEQ | HASH_LARGE)
#define HSEQ_MAX   10 /* bytes of the longest varint of a u64 */

void hkv_hash_limits(struct hkv *db, uint64_t max_entries, uint64_t max_value)
{
	atomic_store(&db->root->hash_max_entries, max_entries);
	atomic_store(&db->root->hash_max_value, max_value);
}

static bool h_seq(const struct kmeta *m)
{
	return (uint64_t)m->head & HASH_SEQ;
}

static bool h_small(const struct kmeta *m)
{
	return ((uint64_t)m->head & HASH_FLAGS) == HASH_SEQ;
}

/* The order state of a hash record is something this file writes. */
static int h_check(struct hkv *db, const struct kmeta *m)
{
	if ((uint64_t)m->head & ~(uint64_t)HASH_FLAGS || (!h_seq(m) && m->tail)) {
		hkv_log(db, 0, "malformed hash record: flags %#" PRIx64 ", next sequence %" PRId64,
			(uint64_t)m->head, m->tail);
		return -HKV_ECORRUPT;
	}
	return 0;
}

/*
 * Before a write that may add a field: a hash without fields takes the current layout, and
 * the order state must be sane.
 */
static int h_prepare(struct hkv *db, struct kmeta *m)
{
	if (!m->size) {
		m->head = HASH_SEQ;
		m->tail = 0;
	}
	return h_check(db, m);
}

/* After a write of a field of @flen/@vlen bytes (size already counts it). */
static void h_note(struct hkv *db, struct kmeta *m, size_t flen, size_t vlen)
{
	uint64_t ment, mval;

	if (!h_small(m))
		return;
	ment = atomic_load_explicit(&db->root->hash_max_entries, memory_order_relaxed);
	mval = atomic_load_explicit(&db->root->hash_max_value, memory_order_relaxed);
	if (m->size > ment || flen > mval || vlen > mval)
		m->head = (int64_t)((uint64_t)m->head | HASH_LARGE);
}

/* Bytes of the varint of @v. */
static size_t seq_len(uint64_t v)
{
	size_t n = 1;

	while (v >>= 7)
		n++;
	return n;
}

static void seq_put(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p = (unsigned char)v;
}

/* Split the sequence number off a field's payload. */
static int h_unseq(const void **pay, size_t *plen, uint64_t *seq)
{
	const unsigned char *p = *pay;
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < *plen && i < HSEQ_MAX; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			break;
	}
	/* truncated, longer than 10 bytes, or a 10th byte beyond bit 63 */
	if (i == *plen || i == HSEQ_MAX || (i == HSEQ_MAX - 1 && p[i] > 1))
		return -HKV_ECORRUPT;
	*seq = v;
	*pay = p + i + 1;
	*plen -= i + 1;
	return 0;
}

/*
 * elem_find() for a field of the hash @m: on 1, @e->payload is the field's value and *@seq
 * its sequence number (0 without HASH_SEQ).
 */
static int hfind(struct hkv *db, struct kvtx *txn, const struct kmeta *m, const void *field,
		 size_t flen, struct elem_ref *e, uint64_t *seq)
{
	int rc = elem_find(db, txn, m->id, field, flen, e);

	*seq = 0;
	if (rc == 1 && h_seq(m) && h_unseq(&e->payload, &e->plen, seq)) {
		hkv_log(db, 0, "malformed hash field record (%zu bytes)", e->v.mv_size);
		return -HKV_ECORRUPT;
	}
	return rc;
}

/* Put the elems record of a field: [u16 length + field if long] + [seq] + value. */
static int hval_put(struct wtx *w, const struct kmeta *m, struct elem_ref *e, uint64_t seq,
		    const void *field, size_t flen, const void *val, size_t vlen)
{
	size_t hdr = e->is_long ? 2 + flen : 0, sl = h_seq(m) ? seq_len(seq) : 0;
	unsigned char *p;
	MDB_val v;
	int rc;

	if (!sl)
		return elem_val_put(w, &e->k, e->is_long, field, flen, val, vlen);
	v.mv_size = hdr + sl + vlen;
	/* MDB_RESERVE: build the record in place instead of in a temporary buffer */
	rc = kv_put(w->txn, w->db->dbi_elems, &e->k, &v, MDB_RESERVE);
	if (rc)
		return lmdb_err(rc);
	p = v.mv_data;
	if (e->is_long) {
		p[0] = (unsigned char)flen;
		p[1] = (unsigned char)(flen >> 8);
		memcpy(p + 2, field, flen);
	}
	seq_put(p + hdr, seq);
	if (vlen)
		memcpy(p + hdr + sl, val, vlen);
	return 0;
}

/*
 * Set @field of the hash @m to @val in a write: a new field takes the next sequence number,
 * an existing one keeps its own. @found: what hfind() said; @seq: the sequence it gave.
 */
static int hfield_put(struct wtx *w, struct kmeta *m, struct elem_ref *e, int found,
		      uint64_t seq, const void *field, size_t flen, const void *val, size_t vlen)
{
	int rc;

	if (!found && h_seq(m))
		seq = (uint64_t)m->tail++;
	rc = hval_put(w, m, e, seq, field, flen, val, vlen);
	if (rc)
		return rc;
	if (!found)
		m->size++;
	h_note(w->db, m, flen, vlen);
	return 0;
}

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
	uint64_t seq;
	bool created;
	int found, rc;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_HASH, a->ca, &m, &created);
	if (!rc)
		rc = h_prepare(w->db, &m);
	if (rc)
		return rc;
	found = hfind(w->db, w->txn, &m, a->field, a->flen, &e, &seq);
	if (found < 0)
		return found;
	if (e.collision)
		return -EEXIST;
	if (found && a->nx)
		return 0;
	rc = hfield_put(w, &m, &e, found, seq, a->field, a->flen, a->val, a->vlen);
	if (rc)
		return rc;
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
	uint64_t seq;
	int rc;

	if (member_check(flen) || bytes_arg(&field, flen))
		return -EINVAL;
	rc = coll_rd_begin(db, key, klen, HKV_TYPE_HASH, rd);
	if (rc)
		return rc;
	rc = h_check(db, &rd->m);
	if (!rc)
		rc = hfind(db, rd->txn, &rd->m, field, flen, e, &seq);
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

int hkv_hsmall(struct hkv *db, const void *key, size_t klen)
{
	struct coll_rd rd;
	int rc;

	rc = coll_rd_begin(db, key, klen, HKV_TYPE_HASH, &rd);
	if (rc)
		return rc;
	rc = h_check(db, &rd.m);
	if (!rc) /* a hash without fields takes the current layout at its first write */
		rc = h_small(&rd.m) || !rd.m.size;
	coll_rd_end(db, &rd);
	return rc;
}

/* One field of a small hash, borrowed from the read transaction until it ends. */
struct hent {
	uint64_t seq;
	const void *f, *v;
	size_t flen, vlen;
};

/* Fields a walk of a small hash sorts without allocating (the default limit is 128). */
#define HWALK_STACK 64

static int hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort by sequence: insertion sort for the usual few dozen fields, else qsort(). */
static void hent_sort(struct hent *e, size_t n)
{
	if (n > HWALK_STACK) {
		qsort(e, n, sizeof(*e), hent_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct hent t = e[i];
		size_t j = i;

		for (; j && e[j - 1].seq > t.seq; j--)
			e[j] = e[j - 1];
		e[j] = t;
	}
}

/*
 * Every field of the hash in @rd: in sequence order if it is small, else in elems order
 * (@small_only: then nothing, and 0). Return: 1 (done), 0 (large and @small_only), @cb's
 * value, or an error.
 */
static int hwalk(struct hkv *db, struct coll_rd *rd, bool small_only, hkv_elem_fn cb,
		 void *arg)
{
	unsigned char idk[KEY_ID_LEN];
	bool small = h_small(&rd->m), seq = h_seq(&rd->m);
	struct hent stack_ents[HWALK_STACK], *ents = stack_ents;
	size_t n = 0, cap = HWALK_STACK;
	bool sorted = true;
	struct kvcur *c;
	MDB_val k, v;
	int rc;

	if (small_only && !small)
		return 0;
	rc = kv_cursor_open(rd->txn, db->dbi_elems, &c);
	if (rc)
		return lmdb_err(rc);
	put_be64(idk, rd->m.id);
	k.mv_size = sizeof(idk);
	k.mv_data = idk;
	for (rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
	     rc = kv_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct hent h = { 0 };

		if (!has_id(&k, rd->m.id))
			break;
		rc = elem_val_split(&k, &v, &h.f, &h.flen, &h.v, &h.vlen);
		if (!rc && seq)
			rc = h_unseq(&h.v, &h.vlen, &h.seq);
		if (rc) {
			hkv_log(db, 0, "malformed hash field record (%zu bytes)", v.mv_size);
			goto out;
		}
		if (!small) {
			rc = cb(arg, h.f, h.flen, h.v, h.vlen);
			if (rc)
				goto out;
			continue;
		}
		if (n == cap) {
			struct hent *ne = malloc(2 * cap * sizeof(*ents));

			if (!ne) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(ne, ents, n * sizeof(*ents));
			if (ents != stack_ents)
				free(ents);
			ents = ne;
			cap *= 2;
		}
		if (n && h.seq < ents[n - 1].seq)
			sorted = false;
		ents[n++] = h;
	}
	if (rc && rc != MDB_NOTFOUND) {
		rc = lmdb_err(rc);
		goto out;
	}
	rc = 0;
	if (!sorted)
		hent_sort(ents, n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = cb(arg, ents[i].f, ents[i].flen, ents[i].v, ents[i].vlen);
out:
	if (ents != stack_ents)
		free(ents);
	kv_cursor_close(c);
	return rc ? rc : 1;
}

static int hgetall_common(struct hkv *db, const void *key, size_t klen, bool small_only,
			  hkv_elem_fn cb, void *arg)
{
	struct coll_rd rd;
	int rc;

	rc = coll_rd_begin(db, key, klen, HKV_TYPE_HASH, &rd);
	if (rc)
		return rc == -ENOENT ? 1 : rc;
	rc = h_check(db, &rd.m);
	if (!rc)
		rc = hwalk(db, &rd, small_only, cb, arg);
	coll_rd_end(db, &rd);
	return rc;
}

int hkv_hgetall(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg)
{
	int rc = hgetall_common(db, key, klen, false, cb, arg);

	return rc == 1 ? 0 : rc;
}

int hkv_hgetall_small(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg)
{
	return hgetall_common(db, key, klen, true, cb, arg);
}

struct emit_elem {
	hkv_elem_fn cb;
	void *arg;
	bool seq;
};

static int emit_prep(void *arg, const struct kmeta *m)
{
	struct emit_elem *e = arg;

	e->seq = h_seq(m);
	return (uint64_t)m->head & ~(uint64_t)HASH_FLAGS ? -HKV_ECORRUPT : 0;
}

static int emit_field(void *arg, const void *mem, size_t mlen, const void *pay, size_t plen)
{
	struct emit_elem *e = arg;
	uint64_t seq;

	if (e->seq && h_unseq(&pay, &plen, &seq))
		return -HKV_ECORRUPT;
	return e->cb(e->arg, mem, mlen, pay, plen);
}

int hkv_hscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg)
{
	struct emit_elem e = { cb, arg, false };

	return coll_scan_prep(db, key, klen, HKV_TYPE_HASH, cur, match, count, emit_prep,
			      emit_field, &e);
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
	uint64_t seq;
	bool created;
	int found, rc, n;

	ekey_make(w->db, &ek, a->key, a->klen);
	rc = wkey_prepare(w, &ek, a->key, a->klen, HKV_TYPE_HASH, NULL, &m, &created);
	if (!rc)
		rc = h_prepare(w->db, &m);
	if (rc)
		return rc;
	found = hfind(w->db, w->txn, &m, a->field, a->flen, &e, &seq);
	if (found < 0)
		return found;
	if (e.collision)
		return -EEXIST;
	if (found && !parse_i64(e.payload, e.plen, &cur))
		return -HKV_ENOTINT;
	if (__builtin_add_overflow(cur, a->delta, &a->out))
		return -HKV_ENOTINT;
	n = snprintf(num, sizeof(num), "%" PRId64, a->out);
	rc = hfield_put(w, &m, &e, found, seq, a->field, a->flen, num, (size_t)n);
	if (rc)
		return rc;
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
