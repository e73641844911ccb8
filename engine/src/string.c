// SPDX-License-Identifier: MIT
/*
 * string.c - the string type: SET and GET, ranges, APPEND, SETRANGE, truncate, INCRBY and
 * INCRBYFLOAT.
 *
 * A value of at most opt.inline_max bytes is stored in the key record itself; a longer one is
 * a record in the value log and the key record holds its vlog_ref. hkv_set() appends a large
 * value before it queues its write, so the copy and any compression run in the caller's thread
 * in parallel with other writers, and the write function only links the record. Functions that
 * derive the new value from the old one (APPEND, SETRANGE, INCR...) must read the old value
 * inside the write transaction, so they append from within the write function; a run that is
 * aborted leaves a dead record that compaction reclaims.
 *
 * A reader looks the key up and reads the value log while holding its LMDB read transaction;
 * if compaction removed the segment in between (-EAGAIN) it simply looks again.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_int.h"

#define READ_RETRIES 1000

ssize_t str_read(struct hkv *db, const struct kmeta *m, uint64_t off, void *buf, size_t len)
{
	if (off >= m->size)
		return 0;
	if (len > m->size - off)
		len = m->size - off;
	if (m->flags & KF_VLOG)
		return vlog_read(db->vlog, &m->ref, m->key, m->klen, off, buf, len);
	if (m->inl_len < off + len)
		return -HKV_ECORRUPT;
	memcpy(buf, (const char *)m->inl + off, len);
	return (ssize_t)len;
}

/* Copy the whole string value of @m into a new NUL-terminated buffer. */
static int str_load(struct hkv *db, const struct kmeta *m, struct hkv_buf *out)
{
	ssize_t n;

	out->data = malloc(m->size + 1);
	if (!out->data)
		return -ENOMEM;
	n = str_read(db, m, 0, out->data, m->size);
	if (n < 0 || (uint64_t)n != m->size) {
		free(out->data);
		out->data = NULL;
		return n < 0 ? (int)n : -HKV_ECORRUPT;
	}
	((char *)out->data)[m->size] = 0;
	out->len = m->size;
	return 0;
}

/*
 * Point the string record @m at @val: inline, or a value-log record (@pre if the caller
 * appended it already, else appended here), and store it. @m holds the old record's flags and
 * ref on entry (KF_VLOG: that record becomes dead).
 */
static int str_store(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		     struct kmeta *m, const void *val, size_t vlen, const struct vlog_ref *pre,
		     int64_t old_expire)
{
	struct vlog_ref ref;
	int rc;

	if (m->flags & KF_VLOG) {
		rc = vlog_ref_dead(w, &m->ref);
		if (rc)
			return rc;
	}
	m->flags &= (uint8_t) ~(KF_INLINE | KF_VLOG);
	m->size = vlen;
	if (vlen > w->db->opt.inline_max) {
		if (pre) {
			ref = *pre;
		} else {
			rc = vlog_append(w->db->vlog, key, klen, val, vlen, &ref);
			if (rc)
				return rc;
		}
		rc = vlog_ref_live(w, &ref);
		if (rc)
			return rc;
		m->flags |= KF_VLOG;
		m->ref = ref;
		return wkey_store(w, ek, key, klen, m, NULL, 0, old_expire);
	}
	m->flags |= KF_INLINE;
	return wkey_store(w, ek, key, klen, m, val, vlen, old_expire);
}

struct set_args {
	const void *key;
	size_t klen;
	const void *val;
	size_t vlen;
	const struct hkv_set_opts *o;
	const struct vlog_ref *pre;
	struct ekey ek;
};

/*
 * Whether the SET @a may be written blind, without reading the record it replaces from the
 * index (keys.c, "Blind SETs"): a plain SET (an expiry allowed) of a short key that cannot have
 * an expiry and that no memtable holds, or whose newest version is blind itself. Return: 1
 * and the blind record's id, mode and owner in @m, the key's mem_hash() in *@hp; 0 (read the
 * record); or an error.
 */
static int set_blind(struct wtx *w, const struct set_args *a, unsigned flags, struct kmeta *m,
		     uint64_t *hp)
{
	const struct hkv_create_attr *ca = a->o ? a->o->ca : NULL;
	MDB_val k = { a->ek.len, (void *)a->ek.b }, v;
	struct kmeta prev;
	uint64_t h;
	int rc, at;

	if (flags & ~HKV_SET_EXPIRE || (a->o && a->o->old) || a->ek.len == EKEY_LONG)
		return 0;
	h = *hp = mem_hash(w->db, KV_KEYS, a->ek.b, a->ek.len);
	/* the filter's word is a cache miss: let it overlap with the memtables' probes */
	ttl_prefetch(w->db, h);
	rc = kv_mem_get(w->txn, w->db->dbi_keys, &k, h, &v, &at);
	if (ttl_maybe(w->db, h))
		return 0;
	memset(m, 0, sizeof(*m));
	m->type = HKV_TYPE_STRING;
	m->flags = KF_BLIND;
	if (rc == MDB_NOTFOUND) {
		/* what a new key gets; the merge keeps the old record's id, mode and owner */
		m->id = wtx_new_id(w);
		m->mode = ca ? ca->mode & 07777 : w->db->opt.mode;
		m->uid = ca ? ca->uid : w->db->opt.uid;
		m->gid = ca ? ca->gid : w->db->opt.gid;
		return 1;
	}
	if (rc || !krec_is_blind(v.mv_data, v.mv_size))
		return 0;
	/*
	 * Over a blind record: the new one stands for the same merge, with its own value. The
	 * value it replaces is the blind record's own, known here: counted dead now if that
	 * record is in the active memtable too. One in an older memtable is in the index when
	 * this memtable is checkpointed, where the record the new one replaced is found, and its
	 * value counted dead, as for any blind record (krec_blind_apply()).
	 */
	if (kmeta_decode_blind(&v, &prev)) {
		hkv_log(w->db, 0, "malformed key record (%zu bytes)", v.mv_size);
		return -HKV_ECORRUPT;
	}
	if (prev.expire_at)
		return 0;
	m->id = prev.id;
	m->mode = prev.mode;
	m->uid = prev.uid;
	m->gid = prev.gid;
	if (at == 0 && prev.flags & KF_VLOG) {
		rc = vlog_ref_dead(w, &prev.ref);
		if (rc)
			return rc;
	}
	return 1;
}

static int set_fn(struct wtx *w, void *arg)
{
	struct set_args *a = arg;
	const struct hkv_set_opts *o = a->o;
	unsigned flags = o ? o->flags : 0;
	struct kmeta m;
	int64_t old_expire = 0;
	uint64_t h = 0;
	bool exists;
	int rc;

	rc = set_blind(w, a, flags, &m, &h);
	if (rc < 0)
		return rc;
	if (rc) {
		m.expire_at = flags & HKV_SET_EXPIRE ? o->expire_at : 0;
		/* the key's hash, computed once: the put of its record uses it (kv.c) */
		w->hint_key = a->ek.b;
		w->hint_len = a->ek.len;
		w->hint_h = h;
		rc = str_store(w, &a->ek, a->key, a->klen, &m, a->val, a->vlen, a->pre, 0);
		w->hint_key = NULL;
		if (rc)
			return rc;
		atomic_fetch_add_explicit(&w->db->root->blind_sets, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->txn->view->mem[0]->blind, 1, memory_order_relaxed);
		return 1;
	}
	rc = wkey_lookup(w, &a->ek, a->key, a->klen, &m);
	if (rc && rc != -ENOENT)
		return rc;
	exists = !rc;
	if (o && o->old) {
		hkv_buf_release(o->old);
		if (exists && m.type != HKV_TYPE_STRING)
			return -HKV_EWRONGTYPE;
		if (exists) {
			rc = str_load(w->db, &m, o->old);
			if (rc)
				return rc;
		}
	}
	if ((flags & HKV_SET_NX && exists) || (flags & HKV_SET_XX && !exists))
		return 0;
	if (exists) {
		old_expire = m.expire_at;
		if (m.type != HKV_TYPE_STRING) {
			/* the value of another type goes; the key keeps its mode and owner */
			struct kmeta keep = m;

			rc = wkey_delete(w, &a->ek, a->key, a->klen, &m);
			if (rc)
				return rc;
			memset(&m, 0, sizeof(m));
			m.mode = keep.mode;
			m.uid = keep.uid;
			m.gid = keep.gid;
			m.id = wtx_new_id(w);
			/* wkey_delete dropped the exp entry; KEEPTTL adds it back below */
			m.expire_at = keep.expire_at;
			old_expire = 0;
		}
	} else {
		const struct hkv_create_attr *ca = o ? o->ca : NULL;

		memset(&m, 0, sizeof(m));
		m.id = wtx_new_id(w);
		m.mode = ca ? ca->mode & 07777 : w->db->opt.mode;
		m.uid = ca ? ca->uid : w->db->opt.uid;
		m.gid = ca ? ca->gid : w->db->opt.gid;
	}
	m.type = HKV_TYPE_STRING;
	if (flags & HKV_SET_EXPIRE)
		m.expire_at = o->expire_at;
	else if (!(flags & HKV_SET_KEEPTTL))
		m.expire_at = 0;
	rc = str_store(w, &a->ek, a->key, a->klen, &m, a->val, a->vlen, a->pre, old_expire);
	return rc ? rc : 1;
}

int hkv_set(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
	    const struct hkv_set_opts *opts)
{
	struct set_args a = { key, klen, val, vlen, opts, NULL, { 0 } };
	struct vlog_ref ref;
	unsigned flags = opts ? opts->flags : 0;
	int rc;

	if (key_check(klen))
		return -EINVAL;
	if (vlen > HKV_VALUE_MAX)
		return -EFBIG;
	if ((flags & HKV_SET_NX && flags & HKV_SET_XX) ||
	    (flags & HKV_SET_KEEPTTL && flags & HKV_SET_EXPIRE) ||
	    (flags & HKV_SET_EXPIRE && opts->expire_at <= 0) ||
	    flags & ~(HKV_SET_NX | HKV_SET_XX | HKV_SET_KEEPTTL | HKV_SET_EXPIRE))
		return -EINVAL;
	if (db->opt.read_only)
		return -EROFS;
	rc = hkv_writable(db);
	if (rc)
		return rc;
	ekey_make(db, &a.ek, key, klen);
	for (int tries = 0;; tries++) {
		if (vlen > db->opt.inline_max) {
			rc = vlog_append(db->vlog, key, klen, val, vlen, &ref);
			if (rc)
				return rc;
			a.pre = &ref;
		}
		rc = hkv_write(db, set_fn, &a);
		/* -EAGAIN: compaction dropped the segment of our record before we linked it */
		if (rc != -EAGAIN || !a.pre || tries >= 8)
			return rc;
	}
}

/* Look @key up for reading as a string. */
static int str_lookup(struct hkv *db, struct kvtx *txn, const void *key, size_t klen,
		      struct kmeta *m)
{
	struct ekey ek;
	int rc;

	if (key_check(klen))
		return -EINVAL;
	ekey_make(db, &ek, key, klen);
	/* the value alone: a blind record needs no merge (keys.c, "Blind SETs") */
	rc = key_lookup_value(db, txn, &ek, HKV_NOW_LAZY, m);
	if (!rc && m->type != HKV_TYPE_STRING)
		rc = -HKV_EWRONGTYPE;
	return rc;
}

int hkv_get(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out)
{
	struct kmeta m;
	struct kvtx *txn;
	int rc, tries = 0;

	out->data = NULL;
	out->len = 0;
	do {
		rc = rtx_begin(db, &txn);
		if (rc)
			return rc;
		rc = str_lookup(db, txn, key, klen, &m);
		if (!rc)
			rc = str_load(db, &m, out);
		rtx_end(db, txn);
	} while (rc == -EAGAIN && ++tries < READ_RETRIES);
	return rc;
}

ssize_t hkv_getrange(struct hkv *db, const void *key, size_t klen, uint64_t off, void *buf,
		     size_t len)
{
	struct kmeta m;
	struct kvtx *txn;
	ssize_t n;
	int rc, tries = 0;

	do {
		rc = rtx_begin(db, &txn);
		if (rc)
			return rc;
		rc = str_lookup(db, txn, key, klen, &m);
		n = rc ? rc : str_read(db, &m, off, buf, len);
		rtx_end(db, txn);
	} while (n == -EAGAIN && ++tries < READ_RETRIES);
	return n;
}

int hkv_getrange_redis(struct hkv *db, const void *key, size_t klen, int64_t start,
		       int64_t end, struct hkv_buf *out)
{
	struct kmeta m;
	struct kvtx *txn;
	int64_t len;
	ssize_t n = 0;
	int rc, tries = 0;

	out->data = NULL;
	out->len = 0;
	do {
		rc = rtx_begin(db, &txn);
		if (rc)
			return rc;
		rc = str_lookup(db, txn, key, klen, &m);
		if (rc == -ENOENT) {
			m.size = 0;
			rc = 0;
		}
		len = (int64_t)m.size;
		if (start < 0)
			start += len;
		if (end < 0)
			end += len;
		if (start < 0)
			start = 0;
		if (end < 0)
			end = 0;
		if (end >= len)
			end = len - 1;
		if (!rc) {
			size_t want = start > end || !len ? 0 : (size_t)(end - start + 1);

			out->data = malloc(want + 1);
			if (!out->data) {
				rc = -ENOMEM;
			} else {
				n = want ? str_read(db, &m, (uint64_t)start, out->data, want) : 0;
				if (n < 0) {
					rc = (int)n;
					free(out->data);
					out->data = NULL;
				} else {
					((char *)out->data)[n] = 0;
					out->len = (size_t)n;
				}
			}
		}
		rtx_end(db, txn);
	} while (rc == -EAGAIN && ++tries < READ_RETRIES);
	return rc;
}

int64_t hkv_strlen(struct hkv *db, const void *key, size_t klen)
{
	struct kmeta m;
	struct kvtx *txn;
	int rc;

	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = str_lookup(db, txn, key, klen, &m);
	rtx_end(db, txn);
	if (rc == -ENOENT)
		return 0;
	return rc ? rc : (int64_t)m.size;
}

/*
 * Read-modify-write of a string: look the key up (or prepare a new one), load its value, let
 * @edit produce the new one, store it.
 */
struct rmw_args {
	const void *key;
	size_t klen;
	struct ekey ek;
	const struct hkv_create_attr *ca;
	bool must_exist;  /* -ENOENT if absent */
	bool keep_absent; /* an absent key stays absent if the edit is empty */
	int (*edit)(struct rmw_args *a, struct hkv_buf *val);
	const void *arg;
	size_t arglen;
	uint64_t off;
	int64_t idelta;
	long double fdelta;
	int64_t iout;
	long double fout;
};

static int rmw_fn(struct wtx *w, void *arg)
{
	struct rmw_args *a = arg;
	struct hkv_buf val = { NULL, 0 };
	struct kmeta m;
	bool created;
	int64_t old_expire;
	int rc;

	rc = wkey_prepare(w, &a->ek, a->key, a->klen, HKV_TYPE_STRING, a->ca, &m, &created);
	if (rc)
		return rc;
	if (created && a->must_exist)
		return -ENOENT;
	if (created && a->keep_absent && !a->arglen) {
		a->iout = 0;
		return 0;
	}
	old_expire = created ? 0 : m.expire_at;
	if (!created) {
		rc = str_load(w->db, &m, &val);
		if (rc)
			return rc;
	}
	rc = a->edit(a, &val);
	if (!rc)
		rc = str_store(w, &a->ek, a->key, a->klen, &m, val.data, val.len, NULL,
			       old_expire);
	hkv_buf_release(&val);
	return rc;
}

static int rmw(struct hkv *db, struct rmw_args *a)
{
	if (key_check(a->klen))
		return -EINVAL;
	if (db->opt.read_only)
		return -EROFS;
	ekey_make(db, &a->ek, a->key, a->klen);
	return hkv_write(db, rmw_fn, a);
}

/* Grow @val to @len bytes, zero-filling. */
static int buf_resize(struct hkv_buf *val, size_t len)
{
	char *p;

	if (len > HKV_VALUE_MAX)
		return -EFBIG;
	p = realloc(val->data, len + 1);
	if (!p)
		return -ENOMEM;
	if (len > val->len)
		memset(p + val->len, 0, len - val->len);
	p[len] = 0;
	val->data = p;
	val->len = len;
	return 0;
}

static int append_edit(struct rmw_args *a, struct hkv_buf *val)
{
	size_t old = val->len;
	int rc;

	if (a->arglen > HKV_VALUE_MAX - old)
		return -EFBIG;
	rc = buf_resize(val, old + a->arglen);
	if (rc)
		return rc;
	memcpy((char *)val->data + old, a->arg, a->arglen);
	a->iout = (int64_t)val->len;
	return 0;
}

int64_t hkv_append(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		   const struct hkv_create_attr *ca)
{
	struct rmw_args a = { .key = key, .klen = klen, .ca = ca, .edit = append_edit,
			      .arg = val, .arglen = vlen };
	int rc;

	if (vlen > HKV_VALUE_MAX)
		return -EFBIG;
	rc = rmw(db, &a);
	return rc ? rc : a.iout;
}

static int setrange_edit(struct rmw_args *a, struct hkv_buf *val)
{
	size_t end = a->off + a->arglen;
	int rc;

	if (end > val->len) {
		rc = buf_resize(val, end);
		if (rc)
			return rc;
	}
	memcpy((char *)val->data + a->off, a->arg, a->arglen);
	a->iout = (int64_t)val->len;
	return 0;
}

int64_t hkv_setrange(struct hkv *db, const void *key, size_t klen, uint64_t off, const void *val,
		     size_t vlen, const struct hkv_create_attr *ca)
{
	struct rmw_args a = { .key = key, .klen = klen, .ca = ca, .edit = setrange_edit,
			      .arg = val, .arglen = vlen, .off = off, .keep_absent = true };
	int64_t len;
	int rc;

	if (off > HKV_VALUE_MAX || vlen > HKV_VALUE_MAX - off)
		return -EFBIG;
	if (!vlen) {
		/* nothing to write: Redis answers the current length */
		len = hkv_strlen(db, key, klen);
		return len;
	}
	rc = rmw(db, &a);
	return rc ? rc : a.iout;
}

static int truncate_edit(struct rmw_args *a, struct hkv_buf *val)
{
	return buf_resize(val, a->off);
}

int hkv_truncate(struct hkv *db, const void *key, size_t klen, uint64_t len)
{
	struct rmw_args a = { .key = key, .klen = klen, .edit = truncate_edit, .off = len,
			      .must_exist = true };

	if (len > HKV_VALUE_MAX)
		return -EFBIG;
	return rmw(db, &a);
}

/* Make @val a copy of the @n bytes of text at @s (the new value of an INCR). */
static int buf_replace(struct hkv_buf *val, const char *s, size_t n)
{
	hkv_buf_release(val);
	val->data = strdup(s);
	if (!val->data)
		return -ENOMEM;
	val->len = n;
	return 0;
}

/*
 * Redis's string2ll(): an optional '-', then digits without leading zeros ("0" itself is
 * fine, "-0" is not), no spaces, no '+', within the range of long long.
 */
static bool parse_ll(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0;
	bool neg = false;
	size_t i = 0;

	if (!len || len > 20)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (~0ull - (unsigned)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (neg) {
		if (v > (unsigned long long)INT64_MAX + 1)
			return false;
		*out = v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
	} else {
		if (v > INT64_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

static int incr_edit(struct rmw_args *a, struct hkv_buf *val)
{
	long long v = 0;
	char buf[32];
	int n;

	if (val->data && !parse_ll(val->data, val->len, &v))
		return -HKV_ENOTINT;
	if ((a->idelta > 0 && v > INT64_MAX - a->idelta) ||
	    (a->idelta < 0 && v < INT64_MIN - a->idelta))
		return -HKV_ENOTINT;
	v += a->idelta;
	n = snprintf(buf, sizeof(buf), "%lld", v);
	a->iout = v;
	return buf_replace(val, buf, (size_t)n);
}

int hkv_incrby(struct hkv *db, const void *key, size_t klen, int64_t delta, int64_t *out)
{
	struct rmw_args a = { .key = key, .klen = klen, .edit = incr_edit, .idelta = delta };
	int rc = rmw(db, &a);

	if (!rc && out)
		*out = a.iout;
	return rc;
}

/* Redis's string2ld(): the whole string is a finite long double, no leading space. */
static bool parse_ld(const char *s, size_t len, long double *out)
{
	char buf[5120], *end;
	long double v;

	if (!len || len >= sizeof(buf) || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	v = strtold(buf, &end);
	if (*end || errno == ERANGE || isnan(v) || isinf(v))
		return false;
	*out = v;
	return true;
}

/* Format as Redis's ld2string(LD_STR_HUMAN): %.17Lf without trailing zeros or dot. */
static int format_ld(long double v, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%.17Lf", v);

	if (n < 0 || (size_t)n >= size)
		return -HKV_ENOTFLOAT;
	if (strchr(buf, '.')) {
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = 0;
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = 0;
	}
	if (!strcmp(buf, "-0"))
		strcpy(buf, "0"), n = 1;
	return n;
}

static int incrf_edit(struct rmw_args *a, struct hkv_buf *val)
{
	long double v = 0;
	char buf[5120];
	int n;

	if (val->data && !parse_ld(val->data, val->len, &v))
		return -HKV_ENOTFLOAT;
	v += a->fdelta;
	if (isnan(v) || isinf(v))
		return -HKV_ENOTFLOAT;
	n = format_ld(v, buf, sizeof(buf));
	if (n < 0)
		return n;
	a->fout = v;
	return buf_replace(val, buf, (size_t)n);
}

int hkv_incrbyfloat(struct hkv *db, const void *key, size_t klen, long double delta,
		    long double *out)
{
	struct rmw_args a = { .key = key, .klen = klen, .edit = incrf_edit, .fdelta = delta };
	int rc;

	if (isnan(delta) || isinf(delta))
		return -HKV_ENOTFLOAT;
	rc = rmw(db, &a);
	if (!rc && out)
		*out = a.fout;
	return rc;
}
