/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the storage interface of the hkvfs daemon: what fs/ asks of a store.
 *
 * The filesystem code (fs/) never calls a store directly. It holds a struct hkvfs_be, a
 * handle whose first member points at a table of operations (struct hkvfs_be_ops), and calls
 * the static inline wrappers below (hkvfs_be_get(be, ...)), which go through the table. Two
 * implementations exist:
 *
 *   be_local.c   the embedded engine (engine/include/hkv/engine.h) in a store directory;
 *                every operation is a pass-through to the engine function of the same name;
 *   be_redis.c   a Redis server or Redis Cluster reached over the network (docs/remote.md).
 *
 * Vocabulary. The interface speaks the engine's types and codes, and a backend produces
 * exactly them: keys, fields and members are byte strings of 1..HKV_KEY_MAX (keys) or
 * 0..HKV_KEY_MAX bytes; types are enum hkv_type; metadata is struct hkv_attr; returned bytes
 * are a struct hkv_buf whose data is malloc()ed (NUL-terminated, not counted) and owned by the
 * caller, who frees it with hkvfs_be_buf_release(); scan positions are struct hkv_cursor
 * values (opaque bytes, at most HKV_CURSOR_MAX); errors are -errno or -HKV_E* (hkv_strerror()
 * describes both). Each operation's contract is the engine function's contract (engine.h,
 * named in its kernel-doc below), with the differences stated there. Every operation may also
 * return:
 *
 *   -EIO           the store failed (a disk error, or a reply the client could not parse);
 *   -ETIMEDOUT     a network backend got no answer within the mount's timeout;
 *   -EHOSTUNREACH  a network backend has no connection to the node that holds the key;
 *   -HKV_ESTOPPED  (writes) the local store stopped taking writes after a failed flush;
 *   -EROFS         (writes) the store or the mount is read-only.
 *
 * A backend logs the cause of an -EIO, -ETIMEDOUT or -EHOSTUNREACH once (not per call); the
 * caller turns the code into the FUSE reply (hkvfs_fserr()).
 *
 * Requests and deadlines. One FUSE request may make several calls (a create looks the name
 * up, creates the key, commits its metadata). The daemon brackets each request it serves with
 * hkvfs_be_request_begin() and hkvfs_be_request_end() on the serving thread; a backend with a
 * time budget (a network backend's timeout_ms=) then gives the whole request one deadline,
 * set at the begin: every call of that thread until the end shares what is left of it, and a
 * call made after it passed fails at once with -ETIMEDOUT. So one request, and the system call
 * it serves, ends within the budget (plus the time to build the reply), whatever number of
 * calls it makes. Calls outside a request (the invalidation and promotion threads, start-up,
 * shutdown) each get the whole budget.
 *
 * Threads. A struct hkvfs_be is used by every FUSE worker, the invalidation thread and the
 * promotion thread at once: every operation must be thread-safe, except where said.
 *
 * Capabilities. What a backend may lack is a bit in hkvfs_be.caps (HKVFS_BE_CAP_*), fixed
 * when it is opened. Code in fs/ that needs such a property tests the bit, never which
 * backend it runs on; an operation whose capability is absent still exists and answers with
 * its documented fallback (-EOPNOTSUPP, NULL, or the weaker guarantee given below).
 *
 * Watch events. Caches in the daemon and the kernel stay coherent through one callback that
 * the backend calls for every change (hkvfs_be_set_watch()): (key, klen, version) after a
 * change of a key, version 0 when the key is gone; and (NULL, 0, 0), "everything may be
 * stale", when the backend cannot say what changed (a network backend lost the connection
 * that reported changes, so changes may have been missed): the daemon then drops every entry,
 * attribute and page the kernel caches and the kernel hot cache's copies (inval.c).
 *
 * Choosing a backend. hkvfs_be_open() looks at the mount source: a "SCHEME://..." source
 * goes to the backend registered for SCHEME in backend.c's table, anything else is a store
 * directory for the local engine. A network backend is a separate source file that defines
 * its constructor (hkvfs_be_redis_open()); the table refers to it through a weak symbol, so
 * the daemon links without that file and then refuses the scheme with -EPROTONOSUPPORT and a
 * log line. Adding the file to the hkvfs target in fs/CMakeLists.txt is all it takes to
 * enable it.
 */
#ifndef HKVFS_BACKEND_H
#define HKVFS_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hkv/engine.h"
#include "opts.h"

struct hkvfs_be_ops;

/*
 * Capabilities (struct hkvfs_be.caps).
 *
 * HKVFS_BE_CAP_TXN     hkvfs_be_txn_run() has the engine's semantics for any set of keys:
 *                      serializable, reads see the transaction's own writes, all writes are
 *                      applied together or (on a negative return) not at all. Without it a
 *                      transaction is only a grouping: see hkvfs_be_txn_run().
 * HKVFS_BE_CAP_ENGINE  hkvfs_be_engine() returns the local engine's handle. The daemon serves
 *                      its RESP listener (DATA_DIR/hkvfs.sock, -o resp=) and the HKVFS admin
 *                      commands (compaction, sync) over it; without it there is no listener.
 * HKVFS_BE_CAP_STATS   hkvfs_be_stats_get() reports the engine's counters (.hkv/stats); without
 *                      it the call returns -EOPNOTSUPP and the counters are left out.
 */
#define HKVFS_BE_CAP_TXN (1u << 0)
#define HKVFS_BE_CAP_ENGINE (1u << 1)
#define HKVFS_BE_CAP_STATS (1u << 2)

/**
 * struct hkvfs_be - an open store, as fs/ sees it.
 * @ops:  the implementation's operation table; never NULL, never changes.
 * @caps: HKVFS_BE_CAP_* bits; set by the constructor, never changed afterwards.
 *
 * An implementation embeds this as the first member of its own handle and finds that handle
 * again with container_of-style casting in its operations. A transaction handle (the @tx of a
 * hkvfs_be_txn_fn) is a struct hkvfs_be too, with the same @ops and @caps.
 */
struct hkvfs_be {
	const struct hkvfs_be_ops *ops;
	unsigned caps;
};

/**
 * hkvfs_be_watch_fn - the change callback (hkvfs_be_set_watch()).
 * @arg:     the value given to hkvfs_be_set_watch().
 * @key:     borrowed for the call: the changed key; NULL for "everything may be stale".
 * @klen:    its length; 0 with a NULL @key.
 * @version: the key's version after the change (as hkv_attr.version reports it from then on);
 *           0 if the key no longer exists, and for "everything may be stale".
 */
typedef void (*hkvfs_be_watch_fn)(void *arg, const void *key, size_t klen, uint64_t version);

/**
 * hkvfs_be_txn_fn - the body of a transaction (hkvfs_be_txn_run()).
 * @tx:  the handle to use for every read and write that belongs to the transaction; valid only
 *       during the call and only in the calling thread.
 * @arg: hkvfs_be_txn_run()'s @arg.
 *
 * Return: >= 0 to commit, < 0 to abort (that value is returned by hkvfs_be_txn_run()).
 */
typedef int (*hkvfs_be_txn_fn)(struct hkvfs_be *tx, void *arg);

/**
 * struct hkvfs_be_args - what a backend constructor gets besides the source.
 * @opts:    the parsed mount options (sync=, compress=, ro, uid=, gid=, umask=, timeout=, ...);
 *           borrowed: valid until the handle is closed. A backend reads the options that mean
 *           something to it and ignores the others.
 * @log:     receives one formatted line per notable event (level 0 error .. 3 debug); any
 *           thread. Never NULL.
 * @log_arg: passed to @log.
 */
struct hkvfs_be_args {
	const struct hkvfs_opts *opts;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

/**
 * hkvfs_be_open_fn - a backend constructor.
 * @source: the mount source (a directory, or "SCHEME://..."), NUL-terminated; borrowed.
 * @args:   see struct hkvfs_be_args.
 * @out:    on success, the new handle, owned by the caller until hkvfs_be_close().
 *
 * Called once, in the daemon's process after it detached (never before a fork), from its
 * main thread, before the FUSE session exists.
 *
 * Return: 0; -EINVAL (a malformed source or option, logged), -EBUSY (store in use), -ENOMEM,
 * or the error that made the store unreachable (logged).
 */
typedef int hkvfs_be_open_fn(const char *source, const struct hkvfs_be_args *args,
			     struct hkvfs_be **out);

/**
 * hkvfs_be_open() - open the backend the mount source names (see "Choosing a backend").
 * Return: as hkvfs_be_open_fn; -EPROTONOSUPPORT (a scheme this build does not include, or
 * none registered under that name: logged).
 */
int hkvfs_be_open(const char *source, const struct hkvfs_be_args *args, struct hkvfs_be **out);

/**
 * hkvfs_be_source_prepare() - make the mount source canonical, before the daemon detaches
 * (errors then reach the terminal). A directory source is created if missing (mode 0700) and
 * made absolute (the daemon changes its directory to /); a "SCHEME://..." source is copied.
 * @out: receives the canonical source, NUL-terminated, at most @outsz bytes.
 * Return: 0; -ENAMETOOLONG; -errno of mkdir(2) or realpath(3).
 */
int hkvfs_be_source_prepare(const char *source, char *out, size_t outsz);

/** hkvfs_be_local_open() - the local engine's constructor (be_local.c). */
hkvfs_be_open_fn hkvfs_be_local_open;

/**
 * hkvfs_be_redis_open() - the Redis backend's constructor (be_redis.c), for "redis://"
 * sources. Weak: NULL in a daemon built without be_redis.c.
 */
hkvfs_be_open_fn hkvfs_be_redis_open __attribute__((weak));

/**
 * struct hkvfs_be_ops - the operations of a backend. Every member is required (none may be
 * NULL); one whose capability the backend lacks returns the fallback its wrapper documents.
 * The kernel-doc of each wrapper below is the contract of the member of the same name.
 */
struct hkvfs_be_ops {
	/* lifecycle and whole-store operations */
	int (*close)(struct hkvfs_be *be);
	int (*session_begin)(struct hkvfs_be *be);
	void (*session_end)(struct hkvfs_be *be);
	struct hkv *(*engine)(struct hkvfs_be *be);
	void (*request_begin)(struct hkvfs_be *be);
	void (*request_end)(struct hkvfs_be *be);
	int (*sync)(struct hkvfs_be *be);
	int (*stats_get)(struct hkvfs_be *be, struct hkv_stats *out);
	uint64_t (*version)(struct hkvfs_be *be);
	void (*set_watch)(struct hkvfs_be *be, hkvfs_be_watch_fn fn, void *arg);
	int (*txn_run)(struct hkvfs_be *be, hkvfs_be_txn_fn fn, void *arg);

	/* keyspace */
	int (*exists)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*type)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*del)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*rename)(struct hkvfs_be *be, const void *src, size_t slen, const void *dst,
		      size_t dlen, unsigned flags);
	int (*create)(struct hkvfs_be *be, const void *key, size_t klen, enum hkv_type type,
		      const struct hkv_create_attr *ca);
	int (*attr_get)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_attr *out);
	int (*attr_set)(struct hkvfs_be *be, const void *key, size_t klen, unsigned which,
			const struct hkv_attr *attr);
	int64_t (*ttl)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*expire)(struct hkvfs_be *be, const void *key, size_t klen, int64_t sec,
		      unsigned flags);
	int (*pexpireat)(struct hkvfs_be *be, const void *key, size_t klen, int64_t at,
			 unsigned flags);
	int (*persist)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*scan)(struct hkvfs_be *be, struct hkv_cursor *cur, const struct hkv_scan_opts *opts,
		    hkv_scan_fn cb, void *arg);
	int (*cursor_after)(struct hkvfs_be *be, struct hkv_cursor *cur, const void *key,
			    size_t klen, bool is_prefix);

	/* extended attributes */
	int (*xattr_get)(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			 struct hkv_buf *out);
	int (*xattr_set)(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			 const void *val, size_t vlen, int flags);
	int (*xattr_del)(struct hkvfs_be *be, const void *key, size_t klen, const char *name);
	int (*xattr_list)(struct hkvfs_be *be, const void *key, size_t klen,
			  int (*cb)(void *arg, const char *name), void *arg);

	/* strings */
	int (*get)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out);
	int (*set)(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		   size_t vlen, const struct hkv_set_opts *opts);
	ssize_t (*getrange)(struct hkvfs_be *be, const void *key, size_t klen, uint64_t off,
			    void *buf, size_t len);
	int64_t (*append)(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			  size_t vlen, const struct hkv_create_attr *ca);
	int (*truncate)(struct hkvfs_be *be, const void *key, size_t klen, uint64_t len);

	/* hashes */
	int (*hget)(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		    size_t flen, struct hkv_buf *out);
	int (*hset)(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		    size_t flen, const void *val, size_t vlen, const struct hkv_create_attr *ca);
	int (*hsetnx)(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		      size_t flen, const void *val, size_t vlen,
		      const struct hkv_create_attr *ca);
	int (*hdel)(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
		    size_t flen);
	int (*hscan)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
		     const char *match, size_t count, hkv_elem_fn cb, void *arg);

	/* lists */
	int64_t (*llen)(struct hkvfs_be *be, const void *key, size_t klen);
	int (*lindex)(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
		      struct hkv_buf *out);
	int (*lset)(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
		    const void *val, size_t vlen);
	int64_t (*lpush)(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			 size_t vlen, const struct hkv_create_attr *ca);
	int64_t (*rpush)(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			 size_t vlen, const struct hkv_create_attr *ca);
	int (*lpop)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out);
	int (*rpop)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out);
	int (*list_pop_at)(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
			   struct hkv_buf *out);

	/* sets */
	int (*sadd)(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		    size_t mlen, const struct hkv_create_attr *ca);
	int (*srem)(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		    size_t mlen);
	int (*sismember)(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
			 size_t mlen);
	int (*sscan)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
		     const char *match, size_t count, hkv_elem_fn cb, void *arg);

	/* sorted sets */
	int (*zadd)(struct hkvfs_be *be, const void *key, size_t klen, double score,
		    const void *member, size_t mlen, unsigned flags, double *out,
		    const struct hkv_create_attr *ca);
	int (*zrem)(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		    size_t mlen);
	int (*zscore)(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		      size_t mlen, double *out);
	int (*zwalk)(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
		     size_t count, hkv_zrange_fn cb, void *arg);

	/* streams (read-only through the mount); NULL where the backend hides streams */
	int (*xrec_range)(struct hkvfs_be *be, const void *key, size_t klen, const void *lo,
			  size_t lolen, const void *hi, size_t hilen, hkv_xrec_fn cb, void *arg);
};

/*
 * ---------------------------------------------------------------------------------------
 * Lifecycle and whole-store operations
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkvfs_be_close() - flush what the store still holds, disconnect, and free @be.
 * No other thread may use @be (the watch is removed first). Not on a transaction handle.
 * Return: 0; the -errno of a final flush (local: see hkv_close()); the handle is freed anyway.
 */
static inline int hkvfs_be_close(struct hkvfs_be *be)
{
	return be->ops->close(be);
}

/**
 * hkvfs_be_session_begin() - the mount that serves @be is up (called once, after the FUSE
 * mount succeeded and before start-up is reported). The local backend advertises a live
 * mount of its store here (handover.c), so a second daemon for the same store fails at once
 * instead of waiting for it; a backend with nothing to advertise returns 0.
 * Return: 0; -errno (the daemon then unmounts and fails to start).
 */
static inline int hkvfs_be_session_begin(struct hkvfs_be *be)
{
	return be->ops->session_begin(be);
}

/**
 * hkvfs_be_session_end() - the FUSE session ended (unmounted); @be stays open for the
 * shutdown's final commits. Idempotent.
 */
static inline void hkvfs_be_session_end(struct hkvfs_be *be)
{
	be->ops->session_end(be);
}

/**
 * hkvfs_be_request_begin() - the calling thread starts serving one request (a FUSE
 * operation): its calls on @be until hkvfs_be_request_end() share one deadline (see
 * "Requests and deadlines"). The local backend has no deadline: a no-op. Not nested.
 */
static inline void hkvfs_be_request_begin(struct hkvfs_be *be)
{
	be->ops->request_begin(be);
}

/** hkvfs_be_request_end() - the calling thread finished its request (hkvfs_be_request_begin()). */
static inline void hkvfs_be_request_end(struct hkvfs_be *be)
{
	be->ops->request_end(be);
}

/**
 * hkvfs_be_engine() - the local engine behind @be, for the users that need the engine itself
 * (the daemon's RESP listener over hkv_server). Borrowed: lives until hkvfs_be_close().
 * Return: the handle if @be has HKVFS_BE_CAP_ENGINE, otherwise NULL.
 */
static inline struct hkv *hkvfs_be_engine(struct hkvfs_be *be)
{
	return be->ops->engine(be);
}

/**
 * hkvfs_be_sync() - make every write that returned durable as the store defines it (local:
 * hkv_sync(), flushed to disk whatever sync= says; Redis: acknowledged by the server, and with
 * sync=replicas by its replicas). fsync(2) and fsyncdir(2) call it. Not on a transaction
 * handle.
 * Return: 0; -EIO or another -errno of the flush; -HKV_ESTOPPED; -ETIMEDOUT.
 */
static inline int hkvfs_be_sync(struct hkvfs_be *be)
{
	return be->ops->sync(be);
}

/**
 * hkvfs_be_stats_get() - the store's counters (hkv_stats_get()) for .hkv/stats.
 * Return: 0; -EOPNOTSUPP (no HKVFS_BE_CAP_STATS; @out is zeroed); -EIO.
 */
static inline int hkvfs_be_stats_get(struct hkvfs_be *be, struct hkv_stats *out)
{
	return be->ops->stats_get(be, out);
}

/**
 * hkvfs_be_version() - a version at least as high as every version handed out so far, in
 * attributes or watch events (hkv_version()); any thread, also from the watch callback.
 *
 * Versions. The kernel hot cache refuses a value whose version is not above the key's last
 * tombstone, so what a backend reports must order its changes: (1) a change reported to the
 * watch with version v > 0 gives the key's attributes version v until its next change, and
 * (2) an attribute read that did not see a change reports a version below that change's
 * (or the change is reported with version 0). The engine's store-wide counter does this; a
 * backend without one may number the changes it learns of itself (a counter per mount, never
 * reused while the mount lives), as long as (1) and (2) hold.
 */
static inline uint64_t hkvfs_be_version(struct hkvfs_be *be)
{
	return be->ops->version(be);
}

/**
 * hkvfs_be_set_watch() - install @fn as the one change callback (NULL removes it; after the
 * call returns no callback runs any more). Not on a transaction handle.
 *
 * What the backend guarantees, which fs/ relies on for coherence:
 *  - every change of a key made through @be (or a transaction handle of it) is reported before
 *    the call that made it returns, from the thread that made it or one the caller waits
 *    for; a committed transaction reports each key it changed;
 *  - a change made by someone else (another process, another host, the store's own expiry)
 *    is reported as soon as the backend learns of it; the local engine has no other writer
 *    and reports its expiry sweep;
 *  - when changes may have been missed (a connection that reported them was lost), the
 *    backend reports (NULL, 0, 0) before it serves any read that could return data changed
 *    meanwhile, and keeps reporting what it learns afterwards.
 * @fn must be thread-safe, must not block for long and must not call into @be
 * (hkvfs_be_version() excepted). Two events for different keys may be reported concurrently.
 */
static inline void hkvfs_be_set_watch(struct hkvfs_be *be, hkvfs_be_watch_fn fn, void *arg)
{
	be->ops->set_watch(be, fn, arg);
}

/**
 * hkvfs_be_txn_run() - run @fn as one transaction over @be (or nested, over a transaction
 * handle).
 *
 * With HKVFS_BE_CAP_TXN: exactly hkv_txn_run()'s contract. @fn is called once; every read
 * through @tx sees one state of the store plus the transaction's own writes; the writes are
 * applied together when @fn returns >= 0 (one version each, reported to the watch) or not at
 * all when it returns < 0; a nested transaction is undone alone if its @fn aborts.
 *
 * Without HKVFS_BE_CAP_TXN the transaction is a grouping of operations, no more: @fn is
 * called once; each operation through @tx is atomic by itself and is applied when it returns
 * (reads after a write see it); a negative return of @fn undoes nothing. A backend may do
 * better for the keys it can (one MULTI/EXEC per slot) but fs/ may not count on it. fs/ writes
 * its transactions so that the partial outcome of an aborted one leaves a consistent tree
 * (the write that makes a change visible comes last).
 *
 * Either way @fn must use @tx, not @be, for everything it does, must not call the close,
 * sync, set_watch or session operations, and should be short.
 *
 * Return: @fn's value (>= 0: committed; < 0: aborted, see above); -EINVAL (@fn NULL); or the
 * error of applying the writes (nothing applied with HKVFS_BE_CAP_TXN): -EROFS,
 * -HKV_ESTOPPED, -ENOSPC, -ENOMEM, -EIO, -ETIMEDOUT.
 */
static inline int hkvfs_be_txn_run(struct hkvfs_be *be, hkvfs_be_txn_fn fn, void *arg)
{
	return be->ops->txn_run(be, fn, arg);
}

/*
 * ---------------------------------------------------------------------------------------
 * Keyspace
 * ---------------------------------------------------------------------------------------
 */

/** hkvfs_be_exists() - as hkv_exists(). Return: 1, 0; -EINVAL, -EIO. */
static inline int hkvfs_be_exists(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->exists(be, key, klen);
}

/**
 * hkvfs_be_type() - as hkv_type(). Return: enum hkv_type (HKV_TYPE_NONE if absent); a
 * negative error.
 */
static inline int hkvfs_be_type(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->type(be, key, klen);
}

/**
 * hkvfs_be_del() - as hkv_del(): the key with its elements, attributes and extended
 * attributes. Return: 1 (deleted), 0 (absent); -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
static inline int hkvfs_be_del(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->del(be, key, klen);
}

/**
 * hkvfs_be_rename() - as hkv_rename(): @src becomes @dst with its value, elements,
 * attributes, extended attributes and expiry, atomically (a reader sees the key under one name
 * or the other, never both or neither); HKV_RENAME_NX and HKV_RENAME_SAMETYPE as there. A
 * backend that cannot do this atomically for two given keys (keys in different Redis Cluster
 * slots) copies then deletes, and documents the window; it never loses the value.
 * Return: 0; -ENOENT (no @src), -EEXIST (NX), -HKV_EWRONGTYPE (SAMETYPE), -EINVAL, -EROFS,
 * -ENOSPC, -EIO.
 */
static inline int hkvfs_be_rename(struct hkvfs_be *be, const void *src, size_t slen,
				  const void *dst, size_t dlen, unsigned flags)
{
	return be->ops->rename(be, src, slen, dst, dlen, flags);
}

/**
 * hkvfs_be_create() - as hkv_create(): an empty key of @type, attributes from @ca (NULL: the
 * mount's defaults). An empty collection exists until deleted or until its last element goes;
 * a backend whose store cannot hold an empty collection (Redis) keeps it by a marker of its
 * own, invisible to hkvfs_be_scan() as a separate key.
 * Return: 0; -EEXIST, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
static inline int hkvfs_be_create(struct hkvfs_be *be, const void *key, size_t klen,
				  enum hkv_type type, const struct hkv_create_attr *ca)
{
	return be->ops->create(be, key, klen, type, ca);
}

/**
 * hkvfs_be_attr_get() - as hkv_attr_get(). A backend fills what its store lacks from the
 * mount's defaults (mode from umask=, uid=, gid=, times from the mount time) and reports
 * @out->version per hkvfs_be_version()'s rules; @out->id is stable for the key's life under
 * one name at least. Return: 0; -ENOENT (absent or expired), -EINVAL, -EIO.
 */
static inline int hkvfs_be_attr_get(struct hkvfs_be *be, const void *key, size_t klen,
				    struct hkv_attr *out)
{
	return be->ops->attr_get(be, key, klen, out);
}

/**
 * hkvfs_be_attr_set() - as hkv_attr_set(): the HKV_ATTR_* fields @which selects; ctime is set
 * to now and the change is reported to the watch.
 * Return: 0; -ENOENT, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
static inline int hkvfs_be_attr_set(struct hkvfs_be *be, const void *key, size_t klen,
				    unsigned which, const struct hkv_attr *attr)
{
	return be->ops->attr_set(be, key, klen, which, attr);
}

/**
 * hkvfs_be_ttl() - as hkv_ttl(): seconds left, Redis rounding.
 * Return: >= 0; -1 (no expiry); -2 (no key); below -2 an error (-EINVAL, -EIO).
 */
static inline int64_t hkvfs_be_ttl(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->ttl(be, key, klen);
}

/**
 * hkvfs_be_expire() - as hkv_expire(): expire in @sec seconds (HKV_EXPIRE_* @flags).
 * Return: 1 (set), 0 (no key, or condition not met); -EINVAL, -EROFS, -EIO.
 */
static inline int hkvfs_be_expire(struct hkvfs_be *be, const void *key, size_t klen,
				  int64_t sec, unsigned flags)
{
	return be->ops->expire(be, key, klen, sec, flags);
}

/**
 * hkvfs_be_pexpireat() - as hkv_pexpireat(): expire at Unix milliseconds @at (the past
 * deletes the key now). Return: 1, 0; -EINVAL, -EROFS, -EIO.
 */
static inline int hkvfs_be_pexpireat(struct hkvfs_be *be, const void *key, size_t klen,
				     int64_t at, unsigned flags)
{
	return be->ops->pexpireat(be, key, klen, at, flags);
}

/** hkvfs_be_persist() - as hkv_persist(). Return: 1 (removed), 0; -EROFS, -EIO. */
static inline int hkvfs_be_persist(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->persist(be, key, klen);
}

/**
 * hkvfs_be_scan() - as hkv_scan(): resume the walk at @cur, report about @opts->count entries,
 * with the prefix and delimiter roll-up of struct hkv_scan_opts (fs/ lists directories with
 * it) and HKV_SCAN_AGAIN.
 *
 * Guarantees fs/ relies on (readdir): a key present for a whole walk is reported; no entry
 * (key or rolled-up prefix) is reported twice in one walk; expired keys are not reported;
 * @type is the key's type; the cursor is a plain value that can be copied and resumed from
 * in another thread. The order is the backend's (the engine: byte order); fs/ only needs it
 * fixed for one walk.
 * Return: number of entries reported, or the callback's non-zero value; -EINVAL (bad cursor),
 * -EIO.
 */
static inline int hkvfs_be_scan(struct hkvfs_be *be, struct hkv_cursor *cur,
				const struct hkv_scan_opts *opts, hkv_scan_fn cb, void *arg)
{
	return be->ops->scan(be, cur, opts, cb, arg);
}

/**
 * hkvfs_be_cursor_after() - as hkv_cursor_after(): the cursor hkvfs_be_scan() would hold right
 * after reporting @key (or the rolled-up prefix @key, with @is_prefix), computed without the
 * store. readdir uses it to resume after any entry of one scan batch.
 * Return: 0 and @cur; -ERANGE (no position for that entry) or -EOPNOTSUPP (the backend's
 * cursors are not positions, such as Redis SCAN's): the caller then resumes from the cursor
 * at the end of the batch (and keeps the batch meanwhile).
 */
static inline int hkvfs_be_cursor_after(struct hkvfs_be *be, struct hkv_cursor *cur,
					const void *key, size_t klen, bool is_prefix)
{
	return be->ops->cursor_after(be, cur, key, klen, is_prefix);
}

/** hkvfs_be_cursor_init() - reset @cur to the start of a walk (any backend). */
static inline void hkvfs_be_cursor_init(struct hkv_cursor *cur)
{
	hkv_cursor_init(cur);
}

/** hkvfs_be_buf_release() - free the data of a struct hkv_buf any backend returned. */
static inline void hkvfs_be_buf_release(struct hkv_buf *buf)
{
	hkv_buf_release(buf);
}

/*
 * ---------------------------------------------------------------------------------------
 * Extended attributes: small name/value pairs stored with a key, dropped with it, carried by
 * rename. Names 1..255 bytes, values up to 64 KiB. fs/ keeps its own reserved names among
 * them (HKVFS_XA_ATIME) besides the user's.
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkvfs_be_xattr_get() - as hkv_xattr_get().
 * Return: 0; -ENOENT (no key), -ENODATA (no such attribute), -EINVAL, -ENOMEM, -EIO.
 */
static inline int hkvfs_be_xattr_get(struct hkvfs_be *be, const void *key, size_t klen,
				     const char *name, struct hkv_buf *out)
{
	return be->ops->xattr_get(be, key, klen, name, out);
}

/**
 * hkvfs_be_xattr_set() - as hkv_xattr_set() (HKV_XATTR_CREATE / HKV_XATTR_REPLACE @flags).
 * Return: 0; -ENOENT, -EEXIST, -ENODATA, -E2BIG, -ERANGE, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
static inline int hkvfs_be_xattr_set(struct hkvfs_be *be, const void *key, size_t klen,
				     const char *name, const void *val, size_t vlen, int flags)
{
	return be->ops->xattr_set(be, key, klen, name, val, vlen, flags);
}

/** hkvfs_be_xattr_del() - as hkv_xattr_del(). Return: 0; -ENOENT, -ENODATA, -EINVAL, -EROFS,
 * -EIO. */
static inline int hkvfs_be_xattr_del(struct hkvfs_be *be, const void *key, size_t klen,
				     const char *name)
{
	return be->ops->xattr_del(be, key, klen, name);
}

/**
 * hkvfs_be_xattr_list() - as hkv_xattr_list(): @cb for each name (borrowed), in name order.
 * Return: 0, the callback's non-zero value; -ENOENT, -EINVAL, -EIO.
 */
static inline int hkvfs_be_xattr_list(struct hkvfs_be *be, const void *key, size_t klen,
				      int (*cb)(void *arg, const char *name), void *arg)
{
	return be->ops->xattr_list(be, key, klen, cb, arg);
}

/*
 * ---------------------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkvfs_be_get() - as hkv_get(): the whole value into @out (caller frees).
 * Return: 0; -ENOENT, -HKV_EWRONGTYPE, -HKV_ECORRUPT, -ENOMEM, -EINVAL, -EIO.
 */
static inline int hkvfs_be_get(struct hkvfs_be *be, const void *key, size_t klen,
			       struct hkv_buf *out)
{
	return be->ops->get(be, key, klen, out);
}

/**
 * hkvfs_be_set() - as hkv_set(), with struct hkv_set_opts (NX/XX/KEEPTTL/EXPIRE, @ca, @old).
 * Return: 1 (stored), 0 (condition not met); -EINVAL, -EFBIG, -HKV_EWRONGTYPE, -EROFS,
 * -ENOSPC, -ENOMEM, -EIO.
 */
static inline int hkvfs_be_set(struct hkvfs_be *be, const void *key, size_t klen,
			       const void *val, size_t vlen, const struct hkv_set_opts *opts)
{
	return be->ops->set(be, key, klen, val, vlen, opts);
}

/**
 * hkvfs_be_getrange() - as hkv_getrange(): pread(2)-like, up to @len bytes from @off.
 * Return: bytes copied (0 at or past the end); -ENOENT, -HKV_EWRONGTYPE, -HKV_ECORRUPT,
 * -EINVAL, -EIO.
 */
static inline ssize_t hkvfs_be_getrange(struct hkvfs_be *be, const void *key, size_t klen,
					uint64_t off, void *buf, size_t len)
{
	return be->ops->getrange(be, key, klen, off, buf, len);
}

/**
 * hkvfs_be_append() - as hkv_append() (creates the key with @ca if absent).
 * Return: the new length; -HKV_EWRONGTYPE, -EFBIG, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
static inline int64_t hkvfs_be_append(struct hkvfs_be *be, const void *key, size_t klen,
				      const void *val, size_t vlen,
				      const struct hkv_create_attr *ca)
{
	return be->ops->append(be, key, klen, val, vlen, ca);
}

/**
 * hkvfs_be_truncate() - as hkv_truncate(): exactly @len bytes, zero-extended; expiry kept.
 * Return: 0; -ENOENT, -HKV_EWRONGTYPE, -EFBIG, -EROFS, -ENOSPC, -EIO.
 */
static inline int hkvfs_be_truncate(struct hkvfs_be *be, const void *key, size_t klen,
				    uint64_t len)
{
	return be->ops->truncate(be, key, klen, len);
}

/*
 * ---------------------------------------------------------------------------------------
 * Collections: as engine.h's. Each returns -HKV_EWRONGTYPE on a key of another type, -EINVAL
 * for bad lengths, and on writes -EROFS, -ENOSPC, -EIO. A write that creates the key takes
 * @ca (NULL: defaults); a write that removes the last element deletes the key (and reports
 * version 0 to the watch), except on a backend that keeps empty collections itself: there
 * (Redis, whose removal script writes the empty-collection marker with the key's TTL and keeps
 * its metadata, in the same step) the key still exists afterwards as an empty collection and
 * hkvfs_be_exists() says so, so a caller re-creates the empty collection only if the key is
 * gone. Callbacks get borrowed bytes; a non-zero return stops the walk and is returned.
 * ---------------------------------------------------------------------------------------
 */

/** hkvfs_be_hget() - as hkv_hget(). Return: 0; -ENOENT (no key or no field). */
static inline int hkvfs_be_hget(struct hkvfs_be *be, const void *key, size_t klen,
				const void *field, size_t flen, struct hkv_buf *out)
{
	return be->ops->hget(be, key, klen, field, flen, out);
}

/** hkvfs_be_hset() - as hkv_hset(). Return: 1 (new field), 0 (updated). */
static inline int hkvfs_be_hset(struct hkvfs_be *be, const void *key, size_t klen,
				const void *field, size_t flen, const void *val, size_t vlen,
				const struct hkv_create_attr *ca)
{
	return be->ops->hset(be, key, klen, field, flen, val, vlen, ca);
}

/** hkvfs_be_hsetnx() - as hkv_hsetnx(). Return: 1 (set), 0 (field existed). */
static inline int hkvfs_be_hsetnx(struct hkvfs_be *be, const void *key, size_t klen,
				  const void *field, size_t flen, const void *val, size_t vlen,
				  const struct hkv_create_attr *ca)
{
	return be->ops->hsetnx(be, key, klen, field, flen, val, vlen, ca);
}

/** hkvfs_be_hdel() - as hkv_hdel(). Return: 1 (removed), 0 (absent). */
static inline int hkvfs_be_hdel(struct hkvfs_be *be, const void *key, size_t klen,
				const void *field, size_t flen)
{
	return be->ops->hdel(be, key, klen, field, flen);
}

/**
 * hkvfs_be_hscan() - as hkv_hscan(): fields (and values) from @cur, about @count of them, each
 * field at most once per walk. Return: number reported, or the callback's value.
 */
static inline int hkvfs_be_hscan(struct hkvfs_be *be, const void *key, size_t klen,
				 struct hkv_cursor *cur, const char *match, size_t count,
				 hkv_elem_fn cb, void *arg)
{
	return be->ops->hscan(be, key, klen, cur, match, count, cb, arg);
}

/** hkvfs_be_llen() - as hkv_llen(). Return: length (0 if no key); a negative error. */
static inline int64_t hkvfs_be_llen(struct hkvfs_be *be, const void *key, size_t klen)
{
	return be->ops->llen(be, key, klen);
}

/** hkvfs_be_lindex() - as hkv_lindex(). Return: 0; -ENOENT (no key or no such index). */
static inline int hkvfs_be_lindex(struct hkvfs_be *be, const void *key, size_t klen,
				  int64_t index, struct hkv_buf *out)
{
	return be->ops->lindex(be, key, klen, index, out);
}

/** hkvfs_be_lset() - as hkv_lset(). Return: 0; -ENOENT (no key), -ERANGE (index). */
static inline int hkvfs_be_lset(struct hkvfs_be *be, const void *key, size_t klen,
				int64_t index, const void *val, size_t vlen)
{
	return be->ops->lset(be, key, klen, index, val, vlen);
}

/** hkvfs_be_lpush() - as hkv_lpush(). Return: the new length; a negative error. */
static inline int64_t hkvfs_be_lpush(struct hkvfs_be *be, const void *key, size_t klen,
				     const void *val, size_t vlen,
				     const struct hkv_create_attr *ca)
{
	return be->ops->lpush(be, key, klen, val, vlen, ca);
}

/** hkvfs_be_rpush() - as hkv_rpush(). Return: the new length; a negative error. */
static inline int64_t hkvfs_be_rpush(struct hkvfs_be *be, const void *key, size_t klen,
				     const void *val, size_t vlen,
				     const struct hkv_create_attr *ca)
{
	return be->ops->rpush(be, key, klen, val, vlen, ca);
}

/** hkvfs_be_lpop() - as hkv_lpop(). Return: 0; -ENOENT (no key). */
static inline int hkvfs_be_lpop(struct hkvfs_be *be, const void *key, size_t klen,
				struct hkv_buf *out)
{
	return be->ops->lpop(be, key, klen, out);
}

/** hkvfs_be_rpop() - as hkv_rpop(). Return: 0; -ENOENT (no key). */
static inline int hkvfs_be_rpop(struct hkvfs_be *be, const void *key, size_t klen,
				struct hkv_buf *out)
{
	return be->ops->rpop(be, key, klen, out);
}

/**
 * hkvfs_be_list_pop_at() - remove the element at @index of list @key if it is the first or
 * the last one, in one step: the length is checked and the end popped atomically (local: one
 * engine transaction; Redis: one script on the key's slot), so a concurrent push cannot make
 * it remove another element than the one at @index. A list left empty is deleted, as by
 * hkvfs_be_lpop().
 * @out: the removed element (caller frees with hkvfs_be_buf_release()); may be NULL.
 * Return: 0; -ENOENT (no key, or no element at @index); -EPERM (@index is neither 0 nor the
 * last); -HKV_EWRONGTYPE.
 */
static inline int hkvfs_be_list_pop_at(struct hkvfs_be *be, const void *key, size_t klen,
				       int64_t index, struct hkv_buf *out)
{
	return be->ops->list_pop_at(be, key, klen, index, out);
}

/** hkvfs_be_sadd() - as hkv_sadd(). Return: 1 (added), 0 (already a member). */
static inline int hkvfs_be_sadd(struct hkvfs_be *be, const void *key, size_t klen,
				const void *member, size_t mlen, const struct hkv_create_attr *ca)
{
	return be->ops->sadd(be, key, klen, member, mlen, ca);
}

/** hkvfs_be_srem() - as hkv_srem(). Return: 1 (removed), 0. */
static inline int hkvfs_be_srem(struct hkvfs_be *be, const void *key, size_t klen,
				const void *member, size_t mlen)
{
	return be->ops->srem(be, key, klen, member, mlen);
}

/** hkvfs_be_sismember() - as hkv_sismember(). Return: 1, 0. */
static inline int hkvfs_be_sismember(struct hkvfs_be *be, const void *key, size_t klen,
				     const void *member, size_t mlen)
{
	return be->ops->sismember(be, key, klen, member, mlen);
}

/**
 * hkvfs_be_sscan() - as hkv_sscan(): @cb(member, NULL, 0), each member at most once per walk.
 * Return: number reported, or the callback's value.
 */
static inline int hkvfs_be_sscan(struct hkvfs_be *be, const void *key, size_t klen,
				 struct hkv_cursor *cur, const char *match, size_t count,
				 hkv_elem_fn cb, void *arg)
{
	return be->ops->sscan(be, key, klen, cur, match, count, cb, arg);
}

/**
 * hkvfs_be_zadd() - as hkv_zadd() (HKV_ZADD_* @flags; @out: the score after, may be NULL).
 * Return: 1 (added, or changed with CH), 0; -HKV_ENOTFLOAT, -HKV_ENOSCORE.
 */
static inline int hkvfs_be_zadd(struct hkvfs_be *be, const void *key, size_t klen, double score,
				const void *member, size_t mlen, unsigned flags, double *out,
				const struct hkv_create_attr *ca)
{
	return be->ops->zadd(be, key, klen, score, member, mlen, flags, out, ca);
}

/** hkvfs_be_zrem() - as hkv_zrem(). Return: 1, 0. */
static inline int hkvfs_be_zrem(struct hkvfs_be *be, const void *key, size_t klen,
				const void *member, size_t mlen)
{
	return be->ops->zrem(be, key, klen, member, mlen);
}

/** hkvfs_be_zscore() - as hkv_zscore(). Return: 0 and *@out; -ENOENT (no key or member). */
static inline int hkvfs_be_zscore(struct hkvfs_be *be, const void *key, size_t klen,
				  const void *member, size_t mlen, double *out)
{
	return be->ops->zscore(be, key, klen, member, mlen, out);
}

/**
 * hkvfs_be_zwalk() - as hkv_zwalk(): members in ZRANGE order (score, then member bytes) from a
 * stateless cursor, about @count per call (HKV_SCAN_AGAIN as there). readdir of a sorted set
 * lists it in that order, one member per call.
 * Return: number reported, or the callback's value; -EINVAL (bad cursor), -HKV_EWRONGTYPE,
 * -EIO. An absent key is an empty walk.
 */
static inline int hkvfs_be_zwalk(struct hkvfs_be *be, const void *key, size_t klen,
				 struct hkv_cursor *cur, size_t count, hkv_zrange_fn cb,
				 void *arg)
{
	return be->ops->zwalk(be, key, klen, cur, count, cb, arg);
}

/**
 * hkvfs_be_xrec_range() - as hkv_xrec_range() in ascending order: the records of stream @key
 * with record keys in [@lo, @hi]. readdir and reads of a stream's entries use it.
 * Return: 0, the callback's value; -ENOENT (no key), -HKV_EWRONGTYPE, -EIO; -EOPNOTSUPP from a
 * backend that has no streams (it never reports a key of type stream).
 */
static inline int hkvfs_be_xrec_range(struct hkvfs_be *be, const void *key, size_t klen,
				      const void *lo, size_t lolen, const void *hi, size_t hilen,
				      hkv_xrec_fn cb, void *arg)
{
	if (!be->ops->xrec_range)
		return -EOPNOTSUPP;
	return be->ops->xrec_range(be, key, klen, lo, lolen, hi, hilen, cb, arg);
}

#endif /* HKVFS_BACKEND_H */
