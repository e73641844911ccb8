/* SPDX-License-Identifier: MIT */
/*
 * be_redis_int.h - private interface between the files of the Redis backend:
 * be_redis.c (open, keyspace, strings, attributes, extended attributes, watch),
 * be_redis_coll.c (hashes, lists, sets, sorted sets) and be_redis_scan.c (listing).
 * docs/remote.md describes the mapping these files implement.
 */
#ifndef HKVFS_BE_REDIS_INT_H
#define HKVFS_BE_REDIS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "backend.h"
#include "hkv/cluster.h"
#include "hkv/resp.h"

/* the longest slot tag (be_redis.c builds one per slot, at most this many bytes) */
#define RBE_TAG_MAX 4

/* the reserved names beside a key KEY, in KEY's slot: "{TAG}hkvfs.meta:KEY" and "...empty:" */
#define RBE_META_SFX "hkvfs.meta:"
#define RBE_EMPTY_SFX "hkvfs.empty:"

struct rbe_walk;

/**
 * struct rbe - the Redis backend's handle.
 * @be:        the interface handle (first member).
 * @cl:        the cluster client; thread-safe.
 * @opts:      the mount options (borrowed from the daemon).
 * @tags:      per slot, a NUL-terminated brace-free string whose slot is that slot; fixed.
 * @vclock:    the mount's change counter (hkvfs_be_version()): every change reported gets
 *             the next value.
 * @watch_lock: protects @watch and @watch_arg against hkvfs_be_set_watch() running
 *             concurrently with an event (read-mostly: a rwlock).
 * @walk_lock: protects @walks (listing state, be_redis_scan.c).
 * @log_lock:  protects @last_log_err/@last_log_s (one log line per cause and second).
 */
struct rbe {
	struct hkvfs_be be;
	struct hkv_cluster *cl;
	const struct hkvfs_opts *opts;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	char tags[HKV_CLUSTER_SLOTS][RBE_TAG_MAX + 1];
	_Atomic uint64_t vclock;
	pthread_rwlock_t watch_lock;
	hkvfs_be_watch_fn watch;
	void *watch_arg;
	pthread_mutex_t walk_lock;
	struct rbe_walk *walks;
	unsigned nwalks;
	_Atomic uint64_t walk_ids;
	pthread_mutex_t log_lock;
	int last_log_err;
	int64_t last_log_s;
	int64_t mount_ns;
};

static inline struct rbe *rbe_of(struct hkvfs_be *be)
{
	return (struct rbe *)be;
}

/*
 * A command being built: up to RBE_ARGS arguments, borrowed pointers, plus small owned
 * buffers for numbers.
 */
#define RBE_ARGS 24
struct rbe_cmd {
	int argc;
	const char *argv[RBE_ARGS];
	size_t len[RBE_ARGS];
	char num[12][32];
	int nnum;
};

void rbe_cmd_init(struct rbe_cmd *c, const char *name);
void rbe_arg(struct rbe_cmd *c, const void *p, size_t n);
void rbe_arg_str(struct rbe_cmd *c, const char *s);
void rbe_arg_ll(struct rbe_cmd *c, long long v);
void rbe_arg_dbl(struct rbe_cmd *c, double v);

/**
 * struct rbe_keys - the three names of one key: the key, its metadata hash and its
 * empty-collection marker (malloc()ed, freed by rbe_keys_release()).
 */
struct rbe_keys {
	const void *k;
	size_t klen;
	char *m, *e;
	size_t mlen, elen;
};
int rbe_keys_init(struct rbe *r, struct rbe_keys *ks, const void *key, size_t klen);
void rbe_keys_release(struct rbe_keys *ks);

/*
 * rbe_run() - send one command for @key's slot (@write: a change; with sync=replicas it is
 * followed by WAIT). Return: 0 and *@reply (never an error reply: those are mapped to -errno
 * and freed); -errno.
 */
int rbe_run(struct rbe *r, const void *key, size_t klen, bool write, const struct rbe_cmd *c,
	    struct hkv_resp_value **reply, const char *what);

/*
 * rbe_eval() - EVAL @script with the names of @ks as KEYS (3) and the mount's "now", mode,
 * uid, gid (from @ca, "" for NULL) as ARGV[1..4], then @nextra more arguments.
 */
int rbe_eval(struct rbe *r, const struct rbe_keys *ks, bool write, const char *script,
	     const struct hkv_create_attr *ca, int nextra, const void *const *extra,
	     const size_t *extralen, struct hkv_resp_value **reply, const char *what);

/* report a change of @key to the watch: @deleted gives version 0 */
void rbe_changed(struct rbe *r, const void *key, size_t klen, bool deleted);

/* the user key of a reserved name ("{TAG}hkvfs.meta:KEY"), or NULL if @name is not one */
const unsigned char *rbe_reserved_key(struct rbe *r, const void *name, size_t len,
				      size_t *klen, bool *is_empty_marker);

void rbe_logf(struct rbe *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* a reply's integer (INTEGER, or a BULK holding a number); 0 if neither */
long long rbe_int(const struct hkv_resp_value *v);
/* copy a BULK reply into a struct hkv_buf. Return: 0; -ENOENT (null); -ENOMEM */
int rbe_buf(const struct hkv_resp_value *v, struct hkv_buf *out);

/* the Lua prelude shared by every script (KEYS: key, meta, marker; ktype(), wmeta(), ...) */
extern const char rbe_lua_prelude[];

/* be_redis_coll.c */
extern const struct hkvfs_be_ops rbe_ops;
int rbe_hget(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen,
	     struct hkv_buf *out);
int rbe_hset(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen,
	     const void *val, size_t vlen, const struct hkv_create_attr *ca);
int rbe_hsetnx(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
	       size_t flen, const void *val, size_t vlen, const struct hkv_create_attr *ca);
int rbe_hdel(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen);
int rbe_hscan(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg);
int64_t rbe_llen(struct hkvfs_be *be, const void *key, size_t klen);
int rbe_lindex(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
	       struct hkv_buf *out);
int rbe_lset(struct hkvfs_be *be, const void *key, size_t klen, int64_t index, const void *val,
	     size_t vlen);
int64_t rbe_lpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		  size_t vlen, const struct hkv_create_attr *ca);
int64_t rbe_rpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		  size_t vlen, const struct hkv_create_attr *ca);
int rbe_lpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out);
int rbe_rpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out);
int rbe_list_pop_at(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
		    struct hkv_buf *out);
int rbe_sadd(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen, const struct hkv_create_attr *ca);
int rbe_srem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen);
int rbe_sismember(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		  size_t mlen);
int rbe_sscan(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg);
int rbe_zadd(struct hkvfs_be *be, const void *key, size_t klen, double score,
	     const void *member, size_t mlen, unsigned flags, double *out,
	     const struct hkv_create_attr *ca);
int rbe_zrem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen);
int rbe_zscore(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	       size_t mlen, double *out);
int rbe_zwalk(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      size_t count, hkv_zrange_fn cb, void *arg);

/* be_redis_scan.c */
int rbe_scan(struct hkvfs_be *be, struct hkv_cursor *cur, const struct hkv_scan_opts *opts,
	     hkv_scan_fn cb, void *arg);
int rbe_cursor_after(struct hkvfs_be *be, struct hkv_cursor *cur, const void *key, size_t klen,
		     bool is_prefix);
void rbe_walks_free(struct rbe *r);

#endif /* HKVFS_BE_REDIS_INT_H */
