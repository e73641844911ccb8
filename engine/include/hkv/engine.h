/* SPDX-License-Identifier: MIT */
/*
 * hkv/engine.h - the public interface of libhkv-engine.
 *
 * libhkv-engine is an embedded key-value store with Redis data types. Its index is one LMDB
 * environment per store directory; string values above a size threshold live in a
 * Bitcask-style append-only value log that is compacted in the background.
 *
 * Conventions used by every function below:
 *
 *  - Keys, fields and members are byte strings (pointer + length); they may contain any byte,
 *    NUL included. Keys are 1..HKV_KEY_MAX bytes, fields and members 0..HKV_KEY_MAX bytes,
 *    values 0..HKV_VALUE_MAX bytes.
 *  - Functions return 0 (or a documented non-negative count) on success and a negative error
 *    code on failure: -errno, or one of the engine's own codes (-HKV_EWRONGTYPE, ...), which
 *    hkv_strerror() describes.
 *  - Memory handed to the caller (struct hkv_buf) is malloc()ed and owned by the caller, who
 *    releases it with hkv_buf_release(). Memory handed to a callback is borrowed: valid only
 *    until the callback returns. A callback must not call back into the engine.
 *  - A struct hkv is thread-safe: any number of threads may call any function concurrently.
 *    Readers never block writers or each other (LMDB MVCC); writes from many threads are
 *    committed in groups.
 *  - Every mutation is atomic: it is wholly visible to every reader or not at all, and a write
 *    that returned success is visible to every read that starts after it returned.
 *  - Long strings: a key, field or member longer than HKV_ORDER_PREFIX bytes is named in the
 *    index by its first HKV_ORDER_PREFIX bytes and a 128-bit SipHash of all of it under a
 *    secret key drawn when the store was created. Every lookup compares the stored full
 *    bytes, so one string never answers for another; a write that would store a string whose
 *    name another one already holds (a hash collision, which cannot be built without the
 *    store's secret) fails with -EEXIST and changes nothing.
 *  - Time: expiry times are Unix milliseconds from the store's clock (hkv_options.clock).
 *  - Flush errors are final: the first failed flush (fdatasync/fsync of the value log, or of
 *    the index) is logged and stops the store from taking writes until it is closed and
 *    reopened. The write whose flush failed returns that flush's -errno (usually -EIO); every
 *    later mutation, hkv_sync() and hkv_compact() return -HKV_ESTOPPED without touching the
 *    disk; reads keep working. A failed flush is never retried: on Linux a second fsync can
 *    succeed after the kernel dropped the dirty pages, so a retry would acknowledge writes
 *    that never reached the disk. Every mutation below can therefore also return
 *    -HKV_ESTOPPED.
 */
#ifndef HKV_ENGINE_H
#define HKV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Longest key, field or member, in bytes: Linux's PATH_MAX (4096) and 64 more, so that the
 * filesystem can store any path within PATH_MAX of its mount root as a key, a directory's
 * with its delimiter and its 8-byte directory marker.
 */
#define HKV_KEY_MAX (4096 + 64)
/** Largest value, in bytes (512 MiB, as Redis). */
#define HKV_VALUE_MAX (512u * 1024 * 1024)
/** Largest opaque cursor produced by the scan functions. */
#define HKV_CURSOR_MAX (HKV_KEY_MAX + 16)

/*
 * Engine-only error codes. Functions return their negation (-HKV_EWRONGTYPE). They lie above
 * every errno value so the two ranges never meet.
 */
#define HKV_ERRBASE 4096
enum {
	HKV_EWRONGTYPE = HKV_ERRBASE, /* operation against a key holding the wrong kind of value */
	HKV_ENOTINT,                  /* value is not an integer or out of range */
	HKV_ENOTFLOAT,                /* value is not a valid float */
	HKV_ECORRUPT,                 /* stored data failed its checksum or is malformed */
	HKV_EFORMAT,                  /* store was written by an unknown or newer format */
	HKV_ENOSCORE,                 /* resulting score is not a number (inf - inf) */
	HKV_ESTOPPED,                 /* a flush failed earlier: the store takes no more writes */
	HKV_ELAST
};

/**
 * hkv_strerror() - describe an error code returned by the engine.
 * @err: a return value of an engine function (negative), or its absolute value.
 *
 * Return: a static, NUL-terminated English string; never NULL. Thread-safe.
 */
const char *hkv_strerror(int err);

/** enum hkv_type - the kind of value a key holds. */
enum hkv_type {
	HKV_TYPE_NONE = 0,   /* no such key (as Redis TYPE "none") */
	HKV_TYPE_STRING = 1,
	HKV_TYPE_HASH = 2,
	HKV_TYPE_LIST = 3,
	HKV_TYPE_SET = 4,
	HKV_TYPE_ZSET = 5,
	HKV_TYPE_STREAM = 6, /* a Redis stream: records of hkv_xrec_*() (docs/engine-storage.md) */
};

/**
 * hkv_type_name() - Redis name of a type ("string", "hash", "list", "set", "zset", "stream",
 * "none").
 * Return: a static string; "none" for unknown values.
 */
const char *hkv_type_name(enum hkv_type type);

/**
 * hkv_type_parse() - inverse of hkv_type_name().
 * Return: the type, or HKV_TYPE_NONE if @name (of @len bytes) names none of them.
 */
enum hkv_type hkv_type_parse(const char *name, size_t len);

/** enum hkv_sync - when writes are flushed to stable storage (Redis's appendfsync names). */
enum hkv_sync {
	HKV_SYNC_ALWAYS = 0,   /* before a write returns; concurrent writers share one flush */
	HKV_SYNC_EVERYSEC = 1, /* by a background thread about once a second */
	HKV_SYNC_NONE = 2,     /* left to the operating system */
};

/**
 * hkv_sync_parse() - parse "always", "everysec" or "none".
 * Return: 0 and *@out set, or -EINVAL.
 */
int hkv_sync_parse(const char *s, enum hkv_sync *out);

struct hkv;
/** hkv_sync_policy() - the sync policy @db was opened with. Any thread. */
enum hkv_sync hkv_sync_policy(const struct hkv *db);

/**
 * struct hkv_options - how a store is opened. Fill with hkv_options_init() then change
 * fields; a value out of range makes hkv_open() fail with -EINVAL and a message on the log.
 * @sync:              flush policy, default HKV_SYNC_EVERYSEC.
 * @inline_max:        strings of at most this many bytes live in the index; longer ones go to
 *                     the value log. 0..65536, default 4096: up to a page, LMDB reads a value
 *                     in place, while a log read costs a pread and a checksum; above it the
 *                     log saves LMDB's copy-on-write of overflow pages on every overwrite.
 * @compress:          zlib-compress value-log records where that saves at least 1/8. Default
 *                     off (zlib level 1 costs more than it saves on incompressible data).
 * @compress_level:    zlib level 1..9, default 1.
 * @segment_size:      a value-log segment is sealed once it reaches this size; 1 MiB..4 GiB,
 *                     default 64 MiB.
 * @compact_dead_pct:  a sealed segment whose dead bytes reach this percentage is compacted by
 *                     the background thread; 1..100, default 50.
 * @compact_min_bytes: ... provided it holds at least this many dead bytes (default 1 MiB).
 * @bg_interval_ms:    period of the background thread (active expiry, compaction, everysec
 *                     flush); 0 disables the thread (tests drive hkv_expire_cycle() and
 *                     hkv_compact() themselves). Default 100.
 * @map_size:          LMDB map size in bytes, default 64 GiB (address space, not disk).
 * @read_only:         open without writing anything; mutations fail with -EROFS.
 * @create:            create the directory and an empty store if missing (default true).
 * @mode:              default mode of keys created without explicit attributes (0644).
 * @uid, @gid:         default owner of such keys (the opening process's ids).
 * @clock:             current time in Unix milliseconds; NULL means CLOCK_REALTIME. Tests
 *                     inject a clock here. Called from any thread, must be thread-safe.
 * @clock_arg:         passed to @clock.
 * @log:               receives one formatted line per notable event (level: 0 error,
 *                     1 warning, 2 info, 3 debug); NULL logs errors and warnings to stderr.
 * @log_arg:           passed to @log.
 * @ckpt_bytes:        memory budget of the memtable, the in-memory table of recent writes
 *                     (docs/engine-storage.md): when it holds this many bytes it is frozen
 *                     and the checkpointer applies it to the index. At most three exist (one
 *                     active, two being checkpointed) before writers wait. 1 MiB..4 GiB,
 *                     default 64 MiB. With the interval below it bounds what a crash leaves
 *                     to replay at the next open.
 * @ckpt_interval_ms:  ... or when its first write is this old (0: never by age). Default 2000.
 */
struct hkv_options {
	enum hkv_sync sync;
	uint32_t inline_max;
	bool compress;
	int compress_level;
	uint64_t segment_size;
	uint32_t compact_dead_pct;
	uint64_t compact_min_bytes;
	uint32_t bg_interval_ms;
	uint64_t map_size;
	bool read_only;
	bool create;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	int64_t (*clock)(void *arg);
	void *clock_arg;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	uint64_t ckpt_bytes;
	uint32_t ckpt_interval_ms;
};

/** hkv_options_init() - fill @opt with the defaults documented above. */
void hkv_options_init(struct hkv_options *opt);

struct hkv;

/**
 * hkv_open() - open (and, with @opt->create, create) the store in directory @dir.
 * @dir: path of the store directory; copied.
 * @opt: options, copied; NULL means the defaults.
 * @out: on success, the new handle, owned by the caller until hkv_close().
 *
 * A store is written by one process at a time: the first opener holds an exclusive lock on
 * DIR/LOCK for the life of the handle. Open time does not depend on the number of keys: no
 * index is rebuilt; a crash is recovered by LMDB's copy-on-write root and by truncating a torn
 * value-log tail.
 *
 * Return: 0; -EBUSY (the store is in use by another process), -HKV_EFORMAT (written by a newer
 * or unknown format), -HKV_ECORRUPT, -ENOENT (missing and !create), -EINVAL (bad option),
 * -ENOMEM, -EACCES, -EIO or another -errno from the filesystem.
 */
int hkv_open(const char *dir, const struct hkv_options *opt, struct hkv **out);

/**
 * hkv_close() - flush everything, stop the background thread and free @db.
 * No other thread may be using @db. @db may be NULL.
 * Return: 0, or the -errno of the final flush, or -HKV_ESTOPPED if a flush had failed before
 * (the handle is freed anyway).
 */
int hkv_close(struct hkv *db);

/**
 * hkv_sync() - make every write that has returned durable, whatever the sync policy.
 * Return: 0; -EIO or another -errno of the flush (the store then stops taking writes);
 * -HKV_ESTOPPED (an earlier flush failed).
 */
int hkv_sync(struct hkv *db);

/**
 * hkv_checkpoint() - apply every write that has returned to the index now, in one synced LMDB
 * transaction, and wait for it (the checkpointer does this by itself when the memtable is full
 * or old; hkv_close() does it last). Afterwards a reopen has nothing to replay. Any thread.
 * Return: 0; -EROFS; -HKV_ESTOPPED; -EIO or another -errno of a flush (the store then stops
 * taking writes).
 */
int hkv_checkpoint(struct hkv *db);

/*
 * ---------------------------------------------------------------------------------------
 * Transactions
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkv_txn_fn - the body of a transaction (hkv_txn_run()).
 * @tx:  a handle bound to the transaction: pass it instead of the store's handle to any
 *       function of this interface, reads and writes alike, to act inside the transaction.
 *       Valid only during the call and only in the calling thread.
 * @arg: hkv_txn_run()'s @arg.
 *
 * Return: >= 0 to commit every write made through @tx; < 0 to abort: nothing of it is applied
 * and hkv_txn_run() returns the value.
 */
typedef int (*hkv_txn_fn)(struct hkv *tx, void *arg);

/**
 * hkv_txn_run() - run @fn as one transaction: several reads and writes, atomically.
 * @db:  the store (or a transaction handle: the transaction then nests, see below).
 * @fn:  the body; called exactly once, in the calling thread.
 * @arg: passed to @fn.
 *
 * Inside @fn, every read through @tx sees one state of the store (the transactions of all
 * writers are applied one after another, never interleaved: serializable) plus the
 * transaction's own writes so far. Writes through @tx are applied together when @fn returns
 * >= 0, as one write: wholly visible to every reader or not at all, durable per the sync
 * policy like any single write (under sync=always, flushed before hkv_txn_run() returns), and
 * reported to the watcher (hkv_set_watch()) with one version each. Conditional logic is plain
 * C: read, decide, write, or return a negative value to abort (for example -EEXIST for a
 * rename that must not replace, or -ENOENT when a list turned out empty).
 *
 * A write through @tx that fails (returns < 0) changes nothing: its error is returned to @fn,
 * which may go on (the transaction keeps what succeeded) or abort. A nested hkv_txn_run(@tx,
 * ...) is a part of the enclosing transaction that is undone alone if its @fn returns < 0.
 *
 * @fn must not use @db (the store's handle) for writes: such a write would wait for the
 * transaction it is part of, and is refused with -EDEADLK. It must not call hkv_close(),
 * hkv_sync(), hkv_checkpoint(), hkv_compact() or hkv_set_watch() with @tx (-EINVAL), and
 * should be short: other writers wait while it runs.
 *
 * Return: @fn's return value if >= 0 and the transaction was applied; @fn's negative value
 * (nothing applied); -EINVAL (@fn NULL), -EROFS, -HKV_ESTOPPED, -ENOSPC, -ENOMEM, -EIO (the
 * write of the transaction failed: nothing applied).
 */
int hkv_txn_run(struct hkv *db, hkv_txn_fn fn, void *arg);

/** struct hkv_buf - a byte string owned by the caller. @data is NUL-terminated (not counted). */
struct hkv_buf {
	void *data;
	size_t len;
};

/** hkv_buf_release() - free @buf's data and zero it. NULL-safe. */
void hkv_buf_release(struct hkv_buf *buf);

/*
 * ---------------------------------------------------------------------------------------
 * Per-key attributes (used by the filesystem; meaningful for every type)
 * ---------------------------------------------------------------------------------------
 */

/**
 * struct hkv_attr - metadata of one key.
 * @type:      its type.
 * @mode:      permission bits (07777 range); not interpreted by the engine.
 * @uid, @gid: owner.
 * @mtime_ns:  last modification, Unix nanoseconds; every mutation sets it to the clock's now
 *             unless the caller sets it explicitly with hkv_attr_set().
 * @ctime_ns:  last change of attributes or value.
 * @expire_at: Unix milliseconds at which the key expires; 0 = never.
 * @version:   changes on every mutation of the key, its value, its elements or attributes;
 *             strictly increasing across the whole store (never reused, also after delete).
 * @size:      strings: length in bytes; collections: number of elements.
 * @id:        stable internal identity of the key (kept across rename).
 */
struct hkv_attr {
	enum hkv_type type;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	int64_t mtime_ns;
	int64_t ctime_ns;
	int64_t expire_at;
	uint64_t version;
	uint64_t size;
	uint64_t id;
};

/* Bits of hkv_attr_set()'s @which. */
#define HKV_ATTR_MODE (1u << 0)
#define HKV_ATTR_UID (1u << 1)
#define HKV_ATTR_GID (1u << 2)
#define HKV_ATTR_MTIME (1u << 3)

/**
 * hkv_attr_get() - read the attributes of @key.
 * Return: 0; -ENOENT (absent or expired), -EINVAL (bad key length), -EIO.
 */
int hkv_attr_get(struct hkv *db, const void *key, size_t klen, struct hkv_attr *out);

/**
 * hkv_attr_set() - change the fields of @key's attributes selected by @which.
 * The version changes and ctime is set to now.
 * Return: 0; -ENOENT, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int hkv_attr_set(struct hkv *db, const void *key, size_t klen, unsigned which,
		 const struct hkv_attr *attr);

/**
 * struct hkv_create_attr - attributes for a key that a write creates.
 * Functions taking one use it only when they create the key; NULL means the store's defaults
 * (hkv_options.mode/uid/gid). An existing key keeps its attributes.
 */
struct hkv_create_attr {
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
};

/**
 * hkv_create() - create an empty key of @type (an empty string, or an empty collection).
 * An empty collection made this way exists until it is deleted or until its last element is
 * removed (as in Redis, an aggregate disappears with its last element).
 * Return: 0; -EEXIST (key exists), -EINVAL (@type), -EROFS, -ENOSPC, -EIO.
 */
int hkv_create(struct hkv *db, const void *key, size_t klen, enum hkv_type type,
	       const struct hkv_create_attr *ca);

/*
 * User extended attributes: small (<= 64 KiB) name/value pairs stored with a key, dropped with
 * it, carried by rename. Names are 1..255 bytes.
 */

/**
 * hkv_xattr_get() - read extended attribute @name of @key into @out.
 * Return: 0; -ENOENT (no key), -ENODATA (no such attribute), -EINVAL, -ENOMEM, -EIO.
 */
int hkv_xattr_get(struct hkv *db, const void *key, size_t klen, const char *name,
		  struct hkv_buf *out);

/* hkv_xattr_set() flags, as setxattr(2). */
#define HKV_XATTR_CREATE 1
#define HKV_XATTR_REPLACE 2

/**
 * hkv_xattr_set() - set extended attribute @name of @key.
 * Return: 0; -ENOENT, -EEXIST (CREATE), -ENODATA (REPLACE), -E2BIG (value too large),
 * -ERANGE (name too long), -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int hkv_xattr_set(struct hkv *db, const void *key, size_t klen, const char *name,
		  const void *val, size_t vlen, int flags);

/**
 * hkv_xattr_del() - remove extended attribute @name of @key.
 * Return: 0; -ENOENT, -ENODATA, -EINVAL, -EROFS, -EIO.
 */
int hkv_xattr_del(struct hkv *db, const void *key, size_t klen, const char *name);

/**
 * hkv_xattr_list() - call @cb for each extended attribute name of @key, in name order.
 * @cb: gets a borrowed NUL-terminated name; a non-zero return stops the walk and is returned.
 * Return: 0, the callback's value; -ENOENT, -EINVAL, -EIO.
 */
int hkv_xattr_list(struct hkv *db, const void *key, size_t klen,
		   int (*cb)(void *arg, const char *name), void *arg);

/*
 * ---------------------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------------------------
 */

/* hkv_set() flags. */
#define HKV_SET_NX (1u << 0)      /* only if the key does not exist */
#define HKV_SET_XX (1u << 1)      /* only if the key exists */
#define HKV_SET_KEEPTTL (1u << 2) /* keep the existing expiry (default: clear it) */
#define HKV_SET_EXPIRE (1u << 3)  /* set hkv_set_opts.expire_at */

/**
 * struct hkv_set_opts - optional arguments of hkv_set().
 * @flags:     HKV_SET_* bits. NX and XX together, or KEEPTTL with EXPIRE, are -EINVAL.
 * @expire_at: with HKV_SET_EXPIRE, absolute expiry in Unix ms (> 0).
 * @ca:        attributes if the key is created; NULL for defaults.
 * @old:       if not NULL, receives the previous value (SET ... GET); data NULL if none.
 */
struct hkv_set_opts {
	unsigned flags;
	int64_t expire_at;
	const struct hkv_create_attr *ca;
	struct hkv_buf *old;
};

/**
 * hkv_set() - SET: store @val as the string value of @key, replacing any value of any type.
 * An existing key keeps its mode and owner; its expiry is cleared unless KEEPTTL or EXPIRE.
 * Return: 1 (stored), 0 (NX/XX condition not met, nothing changed); -EINVAL (lengths, flags),
 * -EFBIG (value over HKV_VALUE_MAX), -HKV_EWRONGTYPE (with @opts->old on a non-string key),
 * -EROFS, -ENOSPC, -ENOMEM, -EIO.
 */
int hkv_set(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
	    const struct hkv_set_opts *opts);

/**
 * hkv_get() - GET: copy the string value of @key into @out (caller frees).
 * Return: 0; -ENOENT (absent or expired), -HKV_EWRONGTYPE, -HKV_ECORRUPT (checksum), -ENOMEM,
 * -EINVAL, -EIO.
 */
int hkv_get(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out);

/**
 * hkv_getrange() - GETRANGE with byte offsets: copy up to @len bytes from @off into @buf.
 * Unlike Redis's inclusive negative indexes this is pread(2)-like, for the filesystem.
 * Return: bytes copied (0 at or past the end); -ENOENT, -HKV_EWRONGTYPE, -HKV_ECORRUPT,
 * -EINVAL, -EIO.
 */
ssize_t hkv_getrange(struct hkv *db, const void *key, size_t klen, uint64_t off, void *buf,
		     size_t len);

/**
 * hkv_getrange_redis() - GETRANGE key start end with Redis's inclusive, negative-from-end
 * indexes. @out receives the (possibly empty) substring. Absent key gives an empty string.
 * Return: 0; -HKV_EWRONGTYPE, -ENOMEM, -EIO.
 */
int hkv_getrange_redis(struct hkv *db, const void *key, size_t klen, int64_t start,
		       int64_t end, struct hkv_buf *out);

/**
 * hkv_strlen() - STRLEN. Return: length (0 if absent); -HKV_EWRONGTYPE, -EIO.
 */
int64_t hkv_strlen(struct hkv *db, const void *key, size_t klen);

/**
 * hkv_append() - APPEND @val to @key's string (created empty if absent).
 * @ca: attributes if created, NULL for defaults.
 * Return: the new length; -HKV_EWRONGTYPE, -EFBIG, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int64_t hkv_append(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		   const struct hkv_create_attr *ca);

/**
 * hkv_setrange() - SETRANGE: overwrite @key's string at @off with @val, zero-padding any gap.
 * Creates the key if absent (unless @vlen is 0, which then creates nothing).
 * Return: the new length; -HKV_EWRONGTYPE, -EFBIG, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int64_t hkv_setrange(struct hkv *db, const void *key, size_t klen, uint64_t off, const void *val,
		     size_t vlen, const struct hkv_create_attr *ca);

/**
 * hkv_truncate() - set @key's string to exactly @len bytes (cut, or zero-extended); the
 * filesystem's truncate(2). Expiry is kept.
 * Return: 0; -ENOENT, -HKV_EWRONGTYPE, -EFBIG, -EROFS, -ENOSPC, -EIO.
 */
int hkv_truncate(struct hkv *db, const void *key, size_t klen, uint64_t len);

/**
 * hkv_incrby() - INCRBY/DECRBY: add @delta to the 64-bit integer in @key (0 if absent).
 * Return: 0 and *@out = new value; -HKV_ENOTINT (not an integer, or overflow),
 * -HKV_EWRONGTYPE, -EROFS, -ENOSPC, -EIO.
 */
int hkv_incrby(struct hkv *db, const void *key, size_t klen, int64_t delta, int64_t *out);

/**
 * hkv_incrbyfloat() - INCRBYFLOAT. The value is stored formatted as Redis does ("%.17Lg",
 * trailing zeros removed).
 * Return: 0 and *@out; -HKV_ENOTFLOAT (not a float, or the result is NaN or infinite),
 * -HKV_EWRONGTYPE, -EROFS, -ENOSPC, -EIO.
 */
int hkv_incrbyfloat(struct hkv *db, const void *key, size_t klen, long double delta,
		    long double *out);

/*
 * ---------------------------------------------------------------------------------------
 * Keyspace
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkv_del() - DEL one key of any type, with its elements and extended attributes.
 * Return: 1 (deleted), 0 (did not exist); -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int hkv_del(struct hkv *db, const void *key, size_t klen);

/**
 * hkv_exists() - EXISTS. Return: 1, 0; -EINVAL, -EIO.
 */
int hkv_exists(struct hkv *db, const void *key, size_t klen);

/**
 * hkv_type() - TYPE. Return: the type (HKV_TYPE_NONE if absent) or a negative error.
 */
int hkv_type(struct hkv *db, const void *key, size_t klen);

/* hkv_rename() flags. */
#define HKV_RENAME_NX (1u << 0)       /* RENAMENX: fail with -EEXIST if @dst exists */
#define HKV_RENAME_SAMETYPE (1u << 1) /* replace @dst only if it has the same type, else
				       * -HKV_EWRONGTYPE (the filesystem's file/dir rule) */

/**
 * hkv_rename() - RENAME @src to @dst atomically, with its value, elements, attributes, extended
 * attributes and expiry. An existing @dst is replaced (deleted) unless a flag forbids it.
 * Renaming a key to itself succeeds if it exists.
 * Return: 0; -ENOENT (no @src), -EEXIST, -HKV_EWRONGTYPE, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int hkv_rename(struct hkv *db, const void *src, size_t slen, const void *dst, size_t dlen,
	       unsigned flags);

/**
 * hkv_pttl() - PTTL. Return: remaining milliseconds; -1 (no expiry); -2 (no key); or an error
 * below -2 (-EINVAL, -EIO).
 */
int64_t hkv_pttl(struct hkv *db, const void *key, size_t klen);

/**
 * hkv_ttl() - TTL in seconds, rounded as Redis does ((pttl + 500) / 1000).
 * Return: as hkv_pttl().
 */
int64_t hkv_ttl(struct hkv *db, const void *key, size_t klen);

/* hkv_pexpireat() flags, as Redis 7's EXPIRE options. */
#define HKV_EXPIRE_NX (1u << 0) /* only if the key has no expiry */
#define HKV_EXPIRE_XX (1u << 1) /* only if the key has an expiry */
#define HKV_EXPIRE_GT (1u << 2) /* only if the new expiry is greater */
#define HKV_EXPIRE_LT (1u << 3) /* only if the new expiry is less */

/**
 * hkv_pexpireat() - PEXPIREAT: set @key to expire at Unix ms @at. A time in the past deletes
 * the key now (as Redis).
 * Return: 1 (set), 0 (no key, or condition not met); -EINVAL (bad flags), -EROFS, -EIO.
 */
int hkv_pexpireat(struct hkv *db, const void *key, size_t klen, int64_t at, unsigned flags);

/** hkv_pexpire() - PEXPIRE: relative milliseconds. Returns as hkv_pexpireat(). */
int hkv_pexpire(struct hkv *db, const void *key, size_t klen, int64_t ms, unsigned flags);

/** hkv_expire() - EXPIRE: relative seconds. -EINVAL on overflow. As hkv_pexpireat(). */
int hkv_expire(struct hkv *db, const void *key, size_t klen, int64_t sec, unsigned flags);

/** hkv_expireat() - EXPIREAT: absolute Unix seconds. As hkv_pexpireat(). */
int hkv_expireat(struct hkv *db, const void *key, size_t klen, int64_t at_sec, unsigned flags);

/**
 * hkv_persist() - PERSIST: remove the expiry.
 * Return: 1 (removed), 0 (no key or no expiry); -EROFS, -EIO.
 */
int hkv_persist(struct hkv *db, const void *key, size_t klen);

/**
 * hkv_expire_cycle() - delete up to @max keys whose time has come (the active sweep that the
 * background thread runs every bg_interval_ms). Lazy expiry already hides them from readers.
 * Return: number of keys deleted; -EROFS, -EIO.
 */
int hkv_expire_cycle(struct hkv *db, unsigned max);

/**
 * hkv_expiring() - the live keys with the nearest expiries, nearest first, from the expiry
 * index (no scan of the keyspace): what eviction policies that only take keys with an expiry
 * (Redis's volatile-*) choose from.
 * @db:  the store.
 * @max: at most this many keys are reported.
 * @fn:  called once per key, in one read snapshot, with the key and its expiry (Unix ms);
 *       returns 0 to go on, 1 to stop, or a negative errno to stop with that error. It must
 *       not call the engine. Keys already expired (not yet swept) are left out.
 * @arg: passed to @fn.
 * Return: the number of keys reported; -EINVAL (@fn NULL), -HKV_ECORRUPT, -EIO, or @fn's
 * error.
 */
int hkv_expiring(struct hkv *db, unsigned max,
		 int (*fn)(void *arg, const void *key, size_t klen, int64_t expire_at), void *arg);

/**
 * struct hkv_cursor - an opaque, stateless scan position. Zero it (or hkv_cursor_init()) to
 * start; a scan sets @done when it has returned everything. It is a plain value: copy it,
 * store it, resume from it in another thread or after reopening the store.
 */
struct hkv_cursor {
	bool done;
	uint32_t len;
	unsigned char pos[HKV_CURSOR_MAX];
};

/** hkv_cursor_init() - reset @cur to the start. */
void hkv_cursor_init(struct hkv_cursor *cur);

/**
 * hkv_cursor_encode() - write @cur as a printable token: "0" for the start or the end,
 * else hexadecimal. @out must hold 2 * HKV_CURSOR_MAX + 2 bytes.
 */
void hkv_cursor_encode(const struct hkv_cursor *cur, char *out);

/**
 * hkv_cursor_decode() - parse a token made by hkv_cursor_encode().
 * Return: 0; -EINVAL if @s is not such a token.
 */
int hkv_cursor_decode(const char *s, struct hkv_cursor *cur);

/**
 * struct hkv_scan_opts - filters of hkv_scan(). Zero-initialise for "everything".
 * @match:      glob pattern (Redis MATCH: * ? [abc] [^a] [a-z] \x), NUL-terminated; NULL none.
 * @type:       only keys of this type; HKV_TYPE_NONE for any.
 * @count:      work hint: how many keys to examine before returning (default 10, as Redis).
 *              hkv_scan() returns after examining about @count keys even if none matched.
 * @prefix:     only keys starting with these @prefix_len bytes.
 * @delim:      with @has_delim, keys that contain @delim after @prefix are rolled up into one
 *              entry per distinct "prefix + part + delim" (an S3-style common prefix), reported
 *              once with @is_prefix set, and the scan skips the rest of that group.
 */
struct hkv_scan_opts {
	const char *match;
	enum hkv_type type;
	size_t count;
	const void *prefix;
	size_t prefix_len;
	bool has_delim;
	unsigned char delim;
};

/**
 * hkv_scan_fn - called by hkv_scan() for each entry.
 * @key:       borrowed key bytes (or common-prefix bytes, including the delimiter).
 * @type:      the key's type (HKV_TYPE_NONE for a common prefix).
 * @is_prefix: true for a rolled-up common prefix.
 * Return: 0 to continue; HKV_SCAN_AGAIN stops the scan with the cursor *at* this entry (it
 * is reported again by the next call: for a caller whose buffer is full); any other non-zero
 * value stops the scan with the cursor *after* this entry. hkv_scan() then returns the value.
 */
#define HKV_SCAN_AGAIN 0x5CA9
typedef int (*hkv_scan_fn)(void *arg, const void *key, size_t klen, enum hkv_type type,
			   bool is_prefix);

/**
 * hkv_scan() - SCAN: resume the keyspace walk at @cur and report up to about @opts->count keys.
 *
 * Guarantees (those of Redis SCAN, kept under concurrent writers): a key present from the
 * start to the end of a full iteration is returned; a key is returned at most once per full
 * iteration (stronger than Redis); a key added or removed during the iteration may or may not
 * be returned; an expired key is never returned. Keys come in a fixed order (byte order of
 * keys, except that among keys longer than HKV_ORDER_PREFIX sharing that many first bytes the
 * order is by a hash), so a cursor is just the position.
 * @opts: NULL for no filter.
 * Return: number of entries reported, or the callback's non-zero value, or -EINVAL (bad
 * cursor), -EIO.
 */
int hkv_scan(struct hkv *db, struct hkv_cursor *cur, const struct hkv_scan_opts *opts,
	     hkv_scan_fn cb, void *arg);

/**
 * hkv_cursor_after() - the cursor hkv_scan() would hold right after reporting @key (a key, or
 * with @is_prefix a rolled-up common prefix including its delimiter), without asking the
 * store: lets a caller that takes many entries from one hkv_scan() call resume after any one
 * of them. For a key of at most HKV_ORDER_PREFIX bytes it is byte for byte the cursor
 * hkv_scan() holds; for a longer key (whose position depends on the store's secret hash key)
 * it is a cursor of another form that resumes at exactly the same place.
 * Return: 0 and @cur; -ERANGE (a prefix longer than HKV_ORDER_PREFIX: its end is not a
 * position); -EINVAL (bad length).
 */
int hkv_cursor_after(struct hkv_cursor *cur, const void *key, size_t klen, bool is_prefix);

/** Keys are ordered bytewise over their first HKV_ORDER_PREFIX bytes (see hkv_scan()). */
#define HKV_ORDER_PREFIX 448

/**
 * hkv_glob_match() - Redis-style glob match of @str against NUL-terminated @pattern.
 * Return: true on a match.
 */
bool hkv_glob_match(const char *pattern, const void *str, size_t len);

/*
 * ---------------------------------------------------------------------------------------
 * Collections. Every function below returns -HKV_EWRONGTYPE when the key holds another type,
 * -EINVAL for bad lengths, and on writes -EROFS, -ENOSPC, -EIO. A write that creates the key
 * takes attributes from @ca (NULL for defaults). A write that removes the last element
 * deletes the key.
 * Callbacks get borrowed bytes; a non-zero return stops the walk and is returned.
 * ---------------------------------------------------------------------------------------
 */

/** hkv_elem_fn - callback for one element: @a is a field/member/element, @b its value. */
typedef int (*hkv_elem_fn)(void *arg, const void *a, size_t alen, const void *b, size_t blen);

/* Hashes ------------------------------------------------------------------------------- */

/** hkv_hset() - HSET one field. Return: 1 (new field), 0 (updated). */
int hkv_hset(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	     const void *val, size_t vlen, const struct hkv_create_attr *ca);
/** hkv_hsetnx() - HSETNX. Return: 1 (set), 0 (field existed). */
int hkv_hsetnx(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	       const void *val, size_t vlen, const struct hkv_create_attr *ca);
/** hkv_hget() - HGET into @out. Return: 0; -ENOENT (no key or no field). */
int hkv_hget(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
	     struct hkv_buf *out);
/** hkv_hdel() - HDEL one field. Return: 1 (removed), 0 (absent). */
int hkv_hdel(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen);
/** hkv_hexists() - HEXISTS. Return: 1, 0. */
int hkv_hexists(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen);
/** hkv_hlen() - HLEN. Return: number of fields (0 if no key). */
int64_t hkv_hlen(struct hkv *db, const void *key, size_t klen);
/**
 * hkv_hgetall() - HGETALL: @cb(field, value) for every field, in insertion order while the
 * hash is small (see hkv_hash_limits()), in field byte order once it has been large.
 */
int hkv_hgetall(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg);
/**
 * hkv_hincrby() - HINCRBY. Return: 0 and *@out; -HKV_ENOTINT.
 */
int hkv_hincrby(struct hkv *db, const void *key, size_t klen, const void *field, size_t flen,
		int64_t delta, int64_t *out);
/**
 * hkv_hscan() - HSCAN from @cur with optional @match over field names; about @count fields.
 * Same guarantees as hkv_scan(). Return: number reported, or callback's value.
 */
int hkv_hscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg);

/*
 * Field order. A hash is "small" while it has at most max_entries fields and no field name or
 * value longer than max_value bytes (Redis's hash-max-listpack-entries and
 * hash-max-listpack-value): its fields then come back from hkv_hgetall() in insertion order
 * (an update keeps a field's place, a field deleted and set again goes to the end). The first
 * write that takes a hash beyond either limit makes it "large" for the rest of its life, as
 * Redis converts a listpack to a hashtable and never back: its fields come back in byte order.
 * hkv_hscan() walks fields in byte order in both cases, so that its cursor keeps the exactly-once
 * guarantee of hkv_scan().
 */
/**
 * hkv_hash_limits() - set the limits of a small hash (defaults 128 entries, 64 bytes). They
 * apply from the next write of each hash on; a hash already large stays large. Thread-safe.
 */
void hkv_hash_limits(struct hkv *db, uint64_t max_entries, uint64_t max_value);
/**
 * hkv_hsmall() - whether the hash @key keeps insertion order (Redis's "listpack" encoding).
 * Return: 1 (small, or without fields), 0 (large, or written by an older version of the
 * store: byte order); -ENOENT, -HKV_EWRONGTYPE, -EINVAL, -HKV_ECORRUPT.
 */
int hkv_hsmall(struct hkv *db, const void *key, size_t klen);
/**
 * hkv_hgetall_small() - the first HSCAN call on a small hash (Redis returns a listpack whole):
 * if @key is a small hash, @cb(field, value) for every field in insertion order, in one read
 * transaction; if it is large, no call (the caller walks it with hkv_hscan()).
 * Return: 1 (done: every field given, also for an absent key), 0 (large: nothing given),
 * @cb's non-zero value, -HKV_EWRONGTYPE, -EINVAL, -ENOMEM, -HKV_ECORRUPT, -EIO.
 */
int hkv_hgetall_small(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg);

/* Lists ------------------------------------------------------------------------------- */

/** hkv_lpush()/hkv_rpush() - push one element at the head/tail. Return: new length. */
int64_t hkv_lpush(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		  const struct hkv_create_attr *ca);
int64_t hkv_rpush(struct hkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		  const struct hkv_create_attr *ca);
/** hkv_lpop()/hkv_rpop() - pop one element into @out. Return: 0; -ENOENT (no key). */
int hkv_lpop(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out);
int hkv_rpop(struct hkv *db, const void *key, size_t klen, struct hkv_buf *out);
/** hkv_lindex() - LINDEX (negative from the tail). Return: 0; -ENOENT (no key or index). */
int hkv_lindex(struct hkv *db, const void *key, size_t klen, int64_t index,
	       struct hkv_buf *out);
/** hkv_lset() - LSET. Return: 0; -ENOENT (no key), -ERANGE (index out of range). */
int hkv_lset(struct hkv *db, const void *key, size_t klen, int64_t index, const void *val,
	     size_t vlen);
/**
 * hkv_lrange() - LRANGE start stop (inclusive, negative from the tail): @cb(elem, NULL-ish
 * index as 8-byte little-endian int64 in @b) for each element in order.
 */
int hkv_lrange(struct hkv *db, const void *key, size_t klen, int64_t start, int64_t stop,
	       hkv_elem_fn cb, void *arg);
/** hkv_llen() - LLEN. Return: length (0 if no key). */
int64_t hkv_llen(struct hkv *db, const void *key, size_t klen);
/**
 * hkv_lrem() - LREM count value: remove up to |@count| occurrences (from the head if > 0,
 * from the tail if < 0, all if 0). Return: number removed.
 */
int64_t hkv_lrem(struct hkv *db, const void *key, size_t klen, int64_t count, const void *val,
		 size_t vlen);
/** hkv_ltrim() - LTRIM start stop. Return: 0. */
int hkv_ltrim(struct hkv *db, const void *key, size_t klen, int64_t start, int64_t stop);
/**
 * hkv_linsert() - LINSERT BEFORE|AFTER pivot value.
 * Return: new length; -1 (pivot not found); 0 (no key).
 */
int64_t hkv_linsert(struct hkv *db, const void *key, size_t klen, bool before,
		    const void *pivot, size_t plen, const void *val, size_t vlen);

/* Sets -------------------------------------------------------------------------------- */

/** hkv_sadd() - SADD one member. Return: 1 (added), 0 (already a member). */
int hkv_sadd(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen,
	     const struct hkv_create_attr *ca);
/** hkv_srem() - SREM one member. Return: 1 (removed), 0. */
int hkv_srem(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen);
/** hkv_sismember() - SISMEMBER. Return: 1, 0. */
int hkv_sismember(struct hkv *db, const void *key, size_t klen, const void *member,
		  size_t mlen);
/** hkv_scard() - SCARD. Return: number of members. */
int64_t hkv_scard(struct hkv *db, const void *key, size_t klen);
/** hkv_smembers() - SMEMBERS: @cb(member, NULL, 0) in member byte order. */
int hkv_smembers(struct hkv *db, const void *key, size_t klen, hkv_elem_fn cb, void *arg);
/** hkv_sscan() - SSCAN; as hkv_hscan(), @cb(member, NULL, 0). */
int hkv_sscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg);

/* Sorted sets ------------------------------------------------------------------------- */

/* hkv_zadd() flags (Redis ZADD options). */
#define HKV_ZADD_NX (1u << 0)
#define HKV_ZADD_XX (1u << 1)
#define HKV_ZADD_GT (1u << 2)
#define HKV_ZADD_LT (1u << 3)
#define HKV_ZADD_INCR (1u << 4)
#define HKV_ZADD_CH (1u << 5)

/**
 * hkv_zadd() - ZADD one member with @score and Redis's option rules (NX with XX, or GT/LT
 * with NX, is -EINVAL; NaN score is -HKV_ENOTFLOAT).
 * @out: if not NULL, receives the member's score after the call (for INCR).
 * Return: 1 (added, or with CH changed), 0 (not added/changed, or condition not met: with
 * INCR then *@out is NaN to mean nil); -HKV_ENOSCORE (INCR produced NaN).
 */
int hkv_zadd(struct hkv *db, const void *key, size_t klen, double score, const void *member,
	     size_t mlen, unsigned flags, double *out, const struct hkv_create_attr *ca);
/** hkv_zincrby() - ZINCRBY. Return: 0 and *@out. */
int hkv_zincrby(struct hkv *db, const void *key, size_t klen, double delta,
		const void *member, size_t mlen, double *out);
/** hkv_zrem() - ZREM one member. Return: 1, 0. */
int hkv_zrem(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen);
/** hkv_zscore() - ZSCORE. Return: 0 and *@out; -ENOENT (no key or member). */
int hkv_zscore(struct hkv *db, const void *key, size_t klen, const void *member, size_t mlen,
	       double *out);
/** hkv_zcard() - ZCARD. Return: number of members. */
int64_t hkv_zcard(struct hkv *db, const void *key, size_t klen);
/**
 * hkv_zrank() - ZRANK / ZREVRANK. Return: 0-based rank (order by score, then member bytes);
 * -ENOENT.
 */
int64_t hkv_zrank(struct hkv *db, const void *key, size_t klen, const void *member,
		  size_t mlen, bool rev);

/**
 * struct hkv_zrange_opts - ZRANGE arguments.
 * @by_score: false: @start/@stop are ranks (inclusive, negative from the end);
 *            true: @min/@max are scores, exclusive if @min_excl/@max_excl.
 * @rev:      walk from the highest score (REV); with @by_score, @min/@max keep their meaning.
 * @offset, @limit: LIMIT offset count (@limit < 0: no limit); only with @by_score.
 */
struct hkv_zrange_opts {
	bool by_score;
	bool rev;
	int64_t start, stop;
	double min, max;
	bool min_excl, max_excl;
	int64_t offset, limit;
};

/** hkv_zrange_fn - one member of a range with its score. */
typedef int (*hkv_zrange_fn)(void *arg, const void *member, size_t mlen, double score);

/** hkv_zrange() - ZRANGE: @cb for each member in range, in order. Return: 0 or cb value. */
int hkv_zrange(struct hkv *db, const void *key, size_t klen, const struct hkv_zrange_opts *o,
	       hkv_zrange_fn cb, void *arg);
/**
 * hkv_zwalk() - walk a sorted set in ZRANGE order (score, then member) from a stateless
 * cursor, reporting about @count members per call (@count 0: 10); each call is one seek, so a
 * whole walk is linear however large the set. A callback return of HKV_SCAN_AGAIN stops with
 * the cursor at that member, any other non-zero value after it. Guarantees as hkv_scan() for
 * members whose score does not change during the walk (one whose score changes may be
 * reported at its old and its new place, or at neither).
 * Return: number reported, or the callback's value; -EINVAL (bad cursor), -HKV_EWRONGTYPE,
 * -HKV_ECORRUPT, -EIO. An absent key is an empty walk.
 */
int hkv_zwalk(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      size_t count, hkv_zrange_fn cb, void *arg);

/** hkv_zscan() - ZSCAN over members in member byte order; @cb(member, score). */
int hkv_zscan(struct hkv *db, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_zrange_fn cb, void *arg);

/*
 * ---------------------------------------------------------------------------------------
 * Streams (stream.c; layout in docs/engine-storage.md)
 * ---------------------------------------------------------------------------------------
 *
 * A stream is a key of type HKV_TYPE_STREAM that holds an ordered map of records. A record is
 * named by a record key of 1..HKV_XREC_KEY_MAX bytes, compared bytewise; its first byte is its
 * class. Records of class HKV_XREC_ENTRY are the stream's entries: the key's size
 * (hkv_attr.size, XLEN) is their number. The other classes (metadata, consumer groups,
 * consumers, pending entries) are the caller's, who gives every record its meaning; the
 * engine stores them with the key, deletes them with it, carries them through rename, and
 * changes them atomically inside a transaction (hkv_txn_run()) like any other write.
 *
 * Unlike the other collections, a stream is not deleted when its last entry goes: as in
 * Redis, an empty stream keeps its last ID and its groups until DEL.
 */

/** Longest stream record key, in bytes (LMDB's key limit less the key id, with margin). */
#define HKV_XREC_KEY_MAX 480
/** Class byte of the record keys that are stream entries (counted in the key's size). */
#define HKV_XREC_ENTRY 'E'

/**
 * hkv_xrec_get() - copy the value of record @rk of stream @key into @out (caller frees).
 * Return: 0; -ENOENT (no such key or record), -HKV_EWRONGTYPE, -EINVAL (lengths), -ENOMEM,
 * -EIO.
 */
int hkv_xrec_get(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen,
		 struct hkv_buf *out);

/**
 * hkv_xrec_put() - store @val as record @rk of stream @key, creating the stream (with @ca, or
 * the store's defaults when NULL) if the key is absent.
 * Return: 1 (new record), 0 (replaced); -HKV_EWRONGTYPE, -EINVAL, -EROFS, -ENOSPC, -EIO.
 */
int hkv_xrec_put(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen,
		 const void *val, size_t vlen, const struct hkv_create_attr *ca);

/**
 * hkv_xrec_del() - delete record @rk of stream @key. The stream stays, also when empty.
 * Return: 1 (deleted), 0 (no such key or record); -HKV_EWRONGTYPE, -EINVAL, -EROFS, -EIO.
 */
int hkv_xrec_del(struct hkv *db, const void *key, size_t klen, const void *rk, size_t rklen);

/** hkv_xrec_fn - one record of a walk: borrowed bytes, valid during the call only. */
typedef int (*hkv_xrec_fn)(void *arg, const void *rk, size_t rklen, const void *val,
			   size_t vlen);

/**
 * hkv_xrec_range() - call @cb for every record of stream @key whose record key lies in
 * [@lo, @hi] (inclusive, bytewise), in ascending order, or descending with @rev. @cb must not
 * call into the engine; a non-zero return stops the walk and is returned.
 * Return: 0, @cb's value; -ENOENT (no such key), -HKV_EWRONGTYPE, -EINVAL, -EIO.
 */
int hkv_xrec_range(struct hkv *db, const void *key, size_t klen, const void *lo, size_t lolen,
		   const void *hi, size_t hilen, bool rev, hkv_xrec_fn cb, void *arg);

/*
 * ---------------------------------------------------------------------------------------
 * Value log, compaction, statistics
 * ---------------------------------------------------------------------------------------
 */

/**
 * hkv_compact() - compact now: rewrite the live records of every sealed segment with any dead
 * bytes (@all) or only of those over the configured thresholds, then drop the old segments
 * once no reader can still use them. Readers and writers keep running meanwhile. With @all
 * the memtables are checkpointed first, so that segments holding log records the index did not
 * hold yet are compacted too.
 * Return: number of segments compacted; -EROFS, -ENOSPC, -EIO.
 */
int hkv_compact(struct hkv *db, bool all);

/** struct hkv_segment_stat - one value-log segment. */
struct hkv_segment_stat {
	uint32_t id;
	bool active;      /* the segment new records are appended to */
	uint64_t bytes;   /* file size */
	uint64_t live;    /* bytes of records still referenced */
	uint64_t dead;    /* bytes - live */
};

/**
 * struct hkv_stats - counters since open (ops) and state (keys, bytes).
 * Segments are reported through hkv_segments().
 */
struct hkv_stats {
	uint64_t keys;          /* keys, including those expired but not yet swept */
	uint64_t expires;       /* keys with an expiry */
	uint64_t index_bytes;   /* LMDB pages in use * page size */
	uint64_t vlog_bytes;    /* sum of segment sizes */
	uint64_t vlog_live;     /* live bytes in the value log */
	uint64_t vlog_dead;
	uint32_t segments;
	uint64_t reads;         /* read operations (one per read transaction) */
	uint64_t writes;        /* committed write operations */
	uint64_t commits;       /* LMDB write transactions (writes / commits = group size) */
	uint64_t syncs;         /* flushes to stable storage */
	uint64_t compactions;   /* segments compacted */
	uint64_t compact_bytes; /* bytes reclaimed by compaction */
	uint64_t expired;       /* keys deleted because their time came (lazy + active) */
	uint64_t crc_errors;    /* records that failed their checksum */
	int flush_error;        /* 0, or the -errno of the failed flush that stopped writes */
	uint64_t mem_bytes;     /* memory held by the memtables (not yet checkpointed writes) */
	uint64_t checkpoints;   /* checkpoints committed to the index */
	uint64_t ckpt_records;  /* index records they applied */
};

/** hkv_stats_get() - fill @out. Return: 0; -EIO. */
int hkv_stats_get(struct hkv *db, struct hkv_stats *out);

/**
 * hkv_segments() - call @cb for every value-log segment, in id order.
 * Return: 0, or the callback's non-zero value.
 */
int hkv_segments(struct hkv *db, int (*cb)(void *arg, const struct hkv_segment_stat *s),
		 void *arg);

/**
 * hkv_version() - the last version number handed out by the store. Called from a watch
 * callback it is at least the version of every change reported so far (a tombstone taken
 * from it covers them all); elsewhere it may lag behind concurrent writers. Any thread.
 */
uint64_t hkv_version(struct hkv *db);

/**
 * hkv_set_watch() - register @fn to be called after each committed mutation of a key, from the
 * thread that committed it, with the key and its new version (0 if deleted). Used by the
 * filesystem to invalidate caches. @fn must not call into the engine (hkv_version() excepted)
 * and must be thread-safe: the callbacks of two consecutive groups may run concurrently (one
 * group's flush overlaps the next group's commit), but each runs before any writer of its
 * group returns. Only one watcher.
 * Mutations by other processes are not seen (a store has one writer process).
 */
void hkv_set_watch(struct hkv *db, void (*fn)(void *arg, const void *key, size_t klen,
					       uint64_t version), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* HKV_ENGINE_H */
