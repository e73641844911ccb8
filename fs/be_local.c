// SPDX-License-Identifier: MIT
/*
 * be_local.c - the local backend: the embedded engine (libhkv-engine) in a store directory,
 * behind the storage interface of backend.h.
 *
 * What it owns: the engine handle of the mounted store, opened here (after the daemon forked,
 * as LMDB requires) through hkvfs_open_store(), which waits for a daemon that is handing the
 * same store over (handover.c), and closed here; and the "live mount" lock of that store
 * directory, held from hkvfs_be_session_begin() to hkvfs_be_session_end().
 *
 * Every storage operation is a pass-through to the engine function of the same name: the
 * interface was made from the engine's, so there is nothing to translate (types, error codes
 * and ownership rules are the engine's). The handle is struct be_local, whose first member is
 * the struct hkvfs_be the daemon holds.
 *
 * Transactions. hkv_txn_run() hands its body a struct hkv * bound to the transaction; the
 * body here expects a struct hkvfs_be *. local_txn_run() runs the engine transaction with a
 * trampoline that wraps that engine handle in a struct be_local on its stack (marked @tx: the
 * whole-store operations refuse it) and calls the body with it, so every operation of the
 * body goes to the engine's transaction handle. Nested transactions nest the same way.
 *
 * Capabilities: all of them (HKVFS_BE_CAP_TXN, _ENGINE, _STATS). The engine has no other
 * writer than this process, so the watch never reports "everything may be stale".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "handover.h"
#include "hkvfs_int.h"

/**
 * struct be_local - the local backend's handle.
 * @be:      what the daemon holds (first member).
 * @db:      the engine, or the transaction handle for @tx.
 * @tx:      a transaction's handle (on the stack of local_txn_body()).
 * @live:    the live-mount lock is held (session_begin was called and session_end not yet).
 * @log, @log_arg: the daemon's logger (struct hkvfs_be_args).
 * @dir:     the store directory, absolute (NULL for @tx).
 */
struct be_local {
	struct hkvfs_be be;
	struct hkv *db;
	bool tx;
	bool live;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	char *dir;
};

static const struct hkvfs_be_ops local_ops;

#define LOCAL_CAPS (HKVFS_BE_CAP_TXN | HKVFS_BE_CAP_ENGINE | HKVFS_BE_CAP_STATS)

static inline struct be_local *to_local(struct hkvfs_be *be)
{
	return (struct be_local *)be;
}

static inline struct hkv *ldb(struct hkvfs_be *be)
{
	return to_local(be)->db;
}

static void local_engine_log(void *arg, int level, const char *msg)
{
	struct be_local *l = arg;
	char line[1100];

	snprintf(line, sizeof(line), "engine: %s", msg);
	l->log(l->log_arg, level < 0 ? 0 : level > 3 ? 3 : level, line);
}

int hkvfs_be_local_open(const char *source, const struct hkvfs_be_args *args,
			struct hkvfs_be **out)
{
	const struct hkvfs_opts *o = args->opts;
	const char *refused = hkvfs_opts_refused(o, HKVFS_OPTS_NETWORK);
	struct hkv_options eo;
	struct be_local *l;
	char msg[256];
	int rc;

	if (refused) {
		snprintf(msg, sizeof(msg), "option %s is for a network source (redis://HOST:PORT), "
			 "not the store directory %s", refused, source);
		args->log(args->log_arg, 0, msg);
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->be.ops = &local_ops;
	l->be.caps = LOCAL_CAPS;
	l->log = args->log;
	l->log_arg = args->log_arg;
	l->dir = strdup(source);
	if (!l->dir) {
		rc = -ENOMEM;
		goto out_free;
	}
	hkv_options_init(&eo);
	eo.sync = (enum hkv_sync)o->sync;
	eo.compress = o->compress;
	eo.compress_level = o->compress_level;
	eo.read_only = o->ro;
	eo.mode = 0666 & ~o->umask;
	eo.uid = o->uid;
	eo.gid = o->gid;
	eo.log = local_engine_log;
	eo.log_arg = l;
	rc = hkvfs_open_store(l->dir, &eo, &l->db);
	if (rc)
		goto out_free_dir;
	*out = &l->be;
	return 0;

out_free_dir:
	free(l->dir);
out_free:
	free(l);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* lifecycle and whole-store operations                                                     */

static int local_close(struct hkvfs_be *be)
{
	struct be_local *l = to_local(be);
	int rc;

	if (l->tx)
		return -EINVAL;
	if (l->live)
		hkvfs_live_end();
	rc = hkv_close(l->db);
	free(l->dir);
	free(l);
	return rc;
}

static int local_session_begin(struct hkvfs_be *be)
{
	struct be_local *l = to_local(be);
	int rc;

	if (l->tx)
		return -EINVAL;
	rc = hkvfs_live_begin(l->dir);
	if (!rc)
		l->live = true;
	return rc;
}

static void local_session_end(struct hkvfs_be *be)
{
	struct be_local *l = to_local(be);

	if (l->tx || !l->live)
		return;
	hkvfs_live_end();
	l->live = false;
}

/* the engine has no time budget: nothing to bound */
static void local_request_noop(struct hkvfs_be *be)
{
	(void)be;
}

static struct hkv *local_engine(struct hkvfs_be *be)
{
	return to_local(be)->tx ? NULL : ldb(be);
}

static int local_sync(struct hkvfs_be *be)
{
	return to_local(be)->tx ? -EINVAL : hkv_sync(ldb(be));
}

static int local_stats_get(struct hkvfs_be *be, struct hkv_stats *out)
{
	return hkv_stats_get(ldb(be), out);
}

static uint64_t local_version(struct hkvfs_be *be)
{
	return hkv_version(ldb(be));
}

static void local_set_watch(struct hkvfs_be *be, hkvfs_be_watch_fn fn, void *arg)
{
	if (!to_local(be)->tx)
		hkv_set_watch(ldb(be), fn, arg);
}

struct local_txn {
	hkvfs_be_txn_fn fn;
	void *arg;
};

static int local_txn_body(struct hkv *tx, void *arg)
{
	const struct local_txn *t = arg;
	struct be_local sub = {
		.be = { .ops = &local_ops, .caps = LOCAL_CAPS },
		.db = tx,
		.tx = true,
	};

	return t->fn(&sub.be, t->arg);
}

static int local_txn_run(struct hkvfs_be *be, hkvfs_be_txn_fn fn, void *arg)
{
	struct local_txn t = { .fn = fn, .arg = arg };

	if (!fn)
		return -EINVAL;
	return hkv_txn_run(ldb(be), local_txn_body, &t);
}

/* ---------------------------------------------------------------------------------------- */
/* keyspace                                                                                 */

static int local_exists(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_exists(ldb(be), key, klen);
}

static int local_type(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_type(ldb(be), key, klen);
}

static int local_del(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_del(ldb(be), key, klen);
}

static int local_rename(struct hkvfs_be *be, const void *src, size_t slen, const void *dst,
			size_t dlen, unsigned flags)
{
	return hkv_rename(ldb(be), src, slen, dst, dlen, flags);
}

static int local_create(struct hkvfs_be *be, const void *key, size_t klen, enum hkv_type type,
			const struct hkv_create_attr *ca)
{
	return hkv_create(ldb(be), key, klen, type, ca);
}

static int local_attr_get(struct hkvfs_be *be, const void *key, size_t klen,
			  struct hkv_attr *out)
{
	return hkv_attr_get(ldb(be), key, klen, out);
}

static int local_attr_set(struct hkvfs_be *be, const void *key, size_t klen, unsigned which,
			  const struct hkv_attr *attr)
{
	return hkv_attr_set(ldb(be), key, klen, which, attr);
}

static int64_t local_ttl(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_ttl(ldb(be), key, klen);
}

static int local_expire(struct hkvfs_be *be, const void *key, size_t klen, int64_t sec,
			unsigned flags)
{
	return hkv_expire(ldb(be), key, klen, sec, flags);
}

static int local_pexpireat(struct hkvfs_be *be, const void *key, size_t klen, int64_t at,
			   unsigned flags)
{
	return hkv_pexpireat(ldb(be), key, klen, at, flags);
}

static int local_persist(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_persist(ldb(be), key, klen);
}

static int local_scan(struct hkvfs_be *be, struct hkv_cursor *cur,
		      const struct hkv_scan_opts *opts, hkv_scan_fn cb, void *arg)
{
	return hkv_scan(ldb(be), cur, opts, cb, arg);
}

static int local_cursor_after(struct hkvfs_be *be, struct hkv_cursor *cur, const void *key,
			      size_t klen, bool is_prefix)
{
	(void)be;
	return hkv_cursor_after(cur, key, klen, is_prefix);
}

/* ---------------------------------------------------------------------------------------- */
/* extended attributes                                                                      */

static int local_xattr_get(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			   struct hkv_buf *out)
{
	return hkv_xattr_get(ldb(be), key, klen, name, out);
}

static int local_xattr_set(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			   const void *val, size_t vlen, int flags)
{
	return hkv_xattr_set(ldb(be), key, klen, name, val, vlen, flags);
}

static int local_xattr_del(struct hkvfs_be *be, const void *key, size_t klen, const char *name)
{
	return hkv_xattr_del(ldb(be), key, klen, name);
}

static int local_xattr_list(struct hkvfs_be *be, const void *key, size_t klen,
			    int (*cb)(void *arg, const char *name), void *arg)
{
	return hkv_xattr_list(ldb(be), key, klen, cb, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* strings                                                                                  */

static int local_get(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	return hkv_get(ldb(be), key, klen, out);
}

static int local_set(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		     size_t vlen, const struct hkv_set_opts *opts)
{
	return hkv_set(ldb(be), key, klen, val, vlen, opts);
}

static ssize_t local_getrange(struct hkvfs_be *be, const void *key, size_t klen, uint64_t off,
			      void *buf, size_t len)
{
	return hkv_getrange(ldb(be), key, klen, off, buf, len);
}

static int64_t local_append(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			    size_t vlen, const struct hkv_create_attr *ca)
{
	return hkv_append(ldb(be), key, klen, val, vlen, ca);
}

static int local_truncate(struct hkvfs_be *be, const void *key, size_t klen, uint64_t len)
{
	return hkv_truncate(ldb(be), key, klen, len);
}

/* ---------------------------------------------------------------------------------------- */
/* hashes                                                                                   */

static int local_hget(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		      size_t flen, struct hkv_buf *out)
{
	return hkv_hget(ldb(be), key, klen, field, flen, out);
}

static int local_hset(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		      size_t flen, const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	return hkv_hset(ldb(be), key, klen, field, flen, val, vlen, ca);
}

static int local_hsetnx(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
			size_t flen, const void *val, size_t vlen,
			const struct hkv_create_attr *ca)
{
	return hkv_hsetnx(ldb(be), key, klen, field, flen, val, vlen, ca);
}

static int local_hdel(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		      size_t flen)
{
	return hkv_hdel(ldb(be), key, klen, field, flen);
}

static int local_hscan(struct hkvfs_be *be, const void *key, size_t klen,
		       struct hkv_cursor *cur, const char *match, size_t count, hkv_elem_fn cb,
		       void *arg)
{
	return hkv_hscan(ldb(be), key, klen, cur, match, count, cb, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* lists                                                                                    */

static int64_t local_llen(struct hkvfs_be *be, const void *key, size_t klen)
{
	return hkv_llen(ldb(be), key, klen);
}

static int local_lindex(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
			struct hkv_buf *out)
{
	return hkv_lindex(ldb(be), key, klen, index, out);
}

static int local_lset(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
		      const void *val, size_t vlen)
{
	return hkv_lset(ldb(be), key, klen, index, val, vlen);
}

static int64_t local_lpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			   size_t vlen, const struct hkv_create_attr *ca)
{
	return hkv_lpush(ldb(be), key, klen, val, vlen, ca);
}

static int64_t local_rpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			   size_t vlen, const struct hkv_create_attr *ca)
{
	return hkv_rpush(ldb(be), key, klen, val, vlen, ca);
}

static int local_lpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	return hkv_lpop(ldb(be), key, klen, out);
}

static int local_rpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	return hkv_rpop(ldb(be), key, klen, out);
}

struct pop_at {
	const void *key;
	size_t klen;
	int64_t index;
	struct hkv_buf *out;
};

static int pop_at_txn(struct hkv *tx, void *arg)
{
	const struct pop_at *p = arg;
	struct hkv_buf tmp = { 0 };
	int64_t n = hkv_llen(tx, p->key, p->klen);
	int rc;

	if (n < 0)
		return (int)n;
	if (p->index < 0 || p->index >= n)
		return -ENOENT;
	if (p->index != 0 && p->index != n - 1)
		return -EPERM;
	rc = p->index == 0 ? hkv_lpop(tx, p->key, p->klen, p->out ? p->out : &tmp)
			   : hkv_rpop(tx, p->key, p->klen, p->out ? p->out : &tmp);
	hkv_buf_release(&tmp);
	return rc;
}

/* inside a transaction of fs/ the engine nests it (undone alone if it fails) */
static int local_list_pop_at(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
			     struct hkv_buf *out)
{
	struct pop_at p = { key, klen, index, out };

	return hkv_txn_run(ldb(be), pop_at_txn, &p);
}

/* ---------------------------------------------------------------------------------------- */
/* sets                                                                                     */

static int local_sadd(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		      size_t mlen, const struct hkv_create_attr *ca)
{
	return hkv_sadd(ldb(be), key, klen, member, mlen, ca);
}

static int local_srem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		      size_t mlen)
{
	return hkv_srem(ldb(be), key, klen, member, mlen);
}

static int local_sismember(struct hkvfs_be *be, const void *key, size_t klen,
			   const void *member, size_t mlen)
{
	return hkv_sismember(ldb(be), key, klen, member, mlen);
}

static int local_sscan(struct hkvfs_be *be, const void *key, size_t klen,
		       struct hkv_cursor *cur, const char *match, size_t count, hkv_elem_fn cb,
		       void *arg)
{
	return hkv_sscan(ldb(be), key, klen, cur, match, count, cb, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* sorted sets                                                                              */

static int local_zadd(struct hkvfs_be *be, const void *key, size_t klen, double score,
		      const void *member, size_t mlen, unsigned flags, double *out,
		      const struct hkv_create_attr *ca)
{
	return hkv_zadd(ldb(be), key, klen, score, member, mlen, flags, out, ca);
}

static int local_zrem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		      size_t mlen)
{
	return hkv_zrem(ldb(be), key, klen, member, mlen);
}

static int local_zscore(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
			size_t mlen, double *out)
{
	return hkv_zscore(ldb(be), key, klen, member, mlen, out);
}

static int local_zwalk(struct hkvfs_be *be, const void *key, size_t klen,
		       struct hkv_cursor *cur, size_t count, hkv_zrange_fn cb, void *arg)
{
	return hkv_zwalk(ldb(be), key, klen, cur, count, cb, arg);
}

static int local_xrec_range(struct hkvfs_be *be, const void *key, size_t klen, const void *lo,
			    size_t lolen, const void *hi, size_t hilen, hkv_xrec_fn cb, void *arg)
{
	return hkv_xrec_range(ldb(be), key, klen, lo, lolen, hi, hilen, false, cb, arg);
}

static const struct hkvfs_be_ops local_ops = {
	.close = local_close,
	.session_begin = local_session_begin,
	.session_end = local_session_end,
	.request_begin = local_request_noop,
	.request_end = local_request_noop,
	.engine = local_engine,
	.sync = local_sync,
	.stats_get = local_stats_get,
	.version = local_version,
	.set_watch = local_set_watch,
	.txn_run = local_txn_run,
	.exists = local_exists,
	.type = local_type,
	.del = local_del,
	.rename = local_rename,
	.create = local_create,
	.attr_get = local_attr_get,
	.attr_set = local_attr_set,
	.ttl = local_ttl,
	.expire = local_expire,
	.pexpireat = local_pexpireat,
	.persist = local_persist,
	.scan = local_scan,
	.cursor_after = local_cursor_after,
	.xattr_get = local_xattr_get,
	.xattr_set = local_xattr_set,
	.xattr_del = local_xattr_del,
	.xattr_list = local_xattr_list,
	.get = local_get,
	.set = local_set,
	.getrange = local_getrange,
	.append = local_append,
	.truncate = local_truncate,
	.hget = local_hget,
	.hset = local_hset,
	.hsetnx = local_hsetnx,
	.hdel = local_hdel,
	.hscan = local_hscan,
	.llen = local_llen,
	.lindex = local_lindex,
	.lset = local_lset,
	.lpush = local_lpush,
	.rpush = local_rpush,
	.lpop = local_lpop,
	.rpop = local_rpop,
	.list_pop_at = local_list_pop_at,
	.sadd = local_sadd,
	.srem = local_srem,
	.sismember = local_sismember,
	.sscan = local_sscan,
	.zadd = local_zadd,
	.zrem = local_zrem,
	.zscore = local_zscore,
	.zwalk = local_zwalk,
	.xrec_range = local_xrec_range,
};
