/* SPDX-License-Identifier: MIT */
/*
 * hkv/cluster.h - a thread-safe client of Redis Cluster (and of a standalone Redis, which it
 * treats as a cluster of one node that owns every slot).
 *
 * What it does (docs/remote-client.md has the design and the measurements):
 *   - routing: a command goes to the master that owns the slot of its key (CRC16-XMODEM of the
 *     key, or of its non-empty {hash tag}, mod 16384); the slot map comes from CLUSTER SHARDS
 *     (CLUSTER SLOTS on servers without it) and is refreshed after MOVED or a failure;
 *   - redirects: MOVED (map updated, full refresh scheduled) and ASK (ASKING on the target,
 *     map unchanged), at most opts.max_redirects per call;
 *   - retries: TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN and lost connections are retried with
 *     exponential backoff until opts.io_timeout_ms, the budget of the whole call, is spent;
 *   - a pool of idle connections per node, shared by all threads;
 *   - pipelines (MULTI/EXEC, WATCH, EVAL then WAIT) on one connection to one slot's master;
 *   - SCAN over every master, one cursor per node, constant memory;
 *   - invalidations: one RESP3 connection per master with CLIENT TRACKING ON BCAST, read by one
 *     background thread that calls the caller back per changed key, and with a NULL key
 *     ("drop everything") when a tracking connection is lost or the cluster changes.
 *
 * Errors are negative errno values: -ETIMEDOUT (the budget was spent), -EHOSTUNREACH or
 * -ECONNREFUSED (no node could be reached), -EIO (protocol error, or a result that cannot be
 * known), -EINVAL (bad argument), -ENOMEM. Every failure is also logged as one line through
 * opts.log. Error replies of Redis itself (WRONGTYPE, ERR ...) are not failures: they come
 * back as replies of type HKV_RESP_ERROR.
 *
 * Every function may be called from any thread, concurrently, on one struct hkv_cluster,
 * except hkv_cluster_close() (no call may be running or start) and a scan iterator, which
 * belongs to one thread at a time.
 */
#ifndef HKV_CLUSTER_H
#define HKV_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hkv/resp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Number of hash slots of a Redis Cluster. */
#define HKV_CLUSTER_SLOTS 16384

/** Levels of the log callback (the same numbers as syslog's LOG_ERR, LOG_WARNING, ...). */
enum hkv_cluster_log_level {
	HKV_CLUSTER_LOG_ERR = 3,
	HKV_CLUSTER_LOG_WARN = 4,
	HKV_CLUSTER_LOG_INFO = 6,
	HKV_CLUSTER_LOG_DEBUG = 7,
};

/**
 * typedef hkv_cluster_log_fn - where the client's log lines go.
 * @arg:   opts.log_arg.
 * @level: enum hkv_cluster_log_level.
 * @msg:   one line without a trailing newline; borrowed for the duration of the call.
 *
 * Called from the calling thread or from the tracking thread, possibly concurrently: the
 * function must be thread-safe and must not call back into the client.
 */
typedef void (*hkv_cluster_log_fn)(void *arg, int level, const char *msg);

/**
 * struct hkv_cluster_opts - how to reach the cluster. Zero means "the default" everywhere.
 * @seeds:              "host:port[,host:port...]" (IPv6 as "[addr]:port"); at least one
 *                      must answer at hkv_cluster_open(). Required.
 * @user:               ACL user for AUTH / HELLO AUTH; NULL with a @password: "default".
 * @password:           NULL: no authentication.
 * @connect_timeout_ms: one TCP connect plus its handshake (AUTH, HELLO). Default 1000.
 * @io_timeout_ms:      budget of one whole call (hkv_cluster_call(), _pipeline(), one
 *                      hkv_cluster_scan_next()), including redirects, reconnections, slot map
 *                      refreshes and backoff. Default 5000.
 * @max_redirects:      MOVED/ASK followed per call before -EIO. Default 16.
 * @pool_idle_max:      idle connections kept per node (more are closed when given back).
 *                      Default 32.
 * @wait_replicas:      for HKV_CLUSTER_WAIT: WAIT's numreplicas. Default 1.
 * @wait_timeout_ms:    for HKV_CLUSTER_WAIT: WAIT's timeout. Default 1000 (never 0, which
 *                      would make WAIT block forever).
 * @log, @log_arg:      log sink; NULL: lines go to stderr as "hkv-remote: ...".
 * @log_level:          most verbose level logged. Default HKV_CLUSTER_LOG_WARN.
 *
 * The strings are copied by hkv_cluster_open(); the caller may free them afterwards.
 */
struct hkv_cluster_opts {
	const char *seeds;
	const char *user;
	const char *password;
	int connect_timeout_ms;
	int io_timeout_ms;
	int max_redirects;
	int pool_idle_max;
	int wait_replicas;
	int wait_timeout_ms;
	hkv_cluster_log_fn log;
	void *log_arg;
	int log_level;
};

/** Opaque handle of one cluster (its slot map, connection pools, tracking thread). */
struct hkv_cluster;

/**
 * hkv_cluster_keyslot() - the hash slot of a key, as Redis computes it: CRC16-CCITT (XMODEM)
 * of the key, or of the bytes between the first '{' and the next '}' when there is at least
 * one byte between them, mod 16384.
 * Return: 0..16383.
 */
unsigned int hkv_cluster_keyslot(const void *key, size_t klen);

/**
 * hkv_cluster_open() - connect to the cluster named by @o->seeds.
 * @out: on success the new handle, owned by the caller until hkv_cluster_close().
 * @o:   borrowed for the duration of the call.
 *
 * Tries the seeds in order until one answers (connect, AUTH, then CLUSTER SHARDS, falling back
 * to CLUSTER SLOTS). A server that answers "cluster support disabled" is a standalone Redis:
 * every slot then belongs to it. No connection is kept to nodes the map lists until a call
 * needs one.
 *
 * Return: 0; -EINVAL (@o->seeds missing or malformed, or an option out of range), -ETIMEDOUT
 * (no seed answered within the connect timeout), -EHOSTUNREACH (no seed resolves),
 * -ECONNREFUSED (every seed refused), -EACCES (authentication refused), -EIO (a seed answered
 * something that is not a slot map), -ENOMEM.
 */
int hkv_cluster_open(struct hkv_cluster **out, const struct hkv_cluster_opts *o);

/**
 * hkv_cluster_close() - stop the tracking thread, close every connection, free @cl.
 * NULL-safe. No other call on @cl may be running, and scan iterators must be closed first.
 */
void hkv_cluster_close(struct hkv_cluster *cl);

/**
 * hkv_cluster_is_cluster() - whether @cl talks to a Redis Cluster (true) or to a standalone
 * server (false). Fixed at hkv_cluster_open().
 */
bool hkv_cluster_is_cluster(const struct hkv_cluster *cl);

/**
 * hkv_cluster_request_begin() - give every call the calling thread makes on @cl from now until
 * hkv_cluster_request_end() one shared deadline, @budget_ms from now (<= 0: opts.io_timeout_ms).
 *
 * A caller that serves one request of its own with several calls (a filesystem operation that
 * looks up, writes and commits) bounds the whole request this way: each call ends by the
 * earlier of this deadline and its own budget, redirects, reconnections, retries and
 * tracking waits included, and a call made once the deadline has passed fails at once with
 * -ETIMEDOUT (logged as "the request's deadline spent"). Only the calling thread is affected;
 * the deadline is per thread and per @cl. A second begin replaces the first (no nesting).
 */
void hkv_cluster_request_begin(struct hkv_cluster *cl, int budget_ms);

/** hkv_cluster_request_end() - the calling thread's calls on @cl get their own budgets again. */
void hkv_cluster_request_end(struct hkv_cluster *cl);

/**
 * hkv_cluster_call() - run one command on the master that owns @key's slot.
 * @key, @klen: the key that routes the command (normally one of @argv); NULL: any master
 *              (for commands without keys).
 * @argc, @argv, @argvlen: the command, binary-safe; borrowed for the duration of the call.
 * @reply: on success the reply, owned by the caller (hkv_resp_value_free()); Redis error
 *         replies (WRONGTYPE, ERR, NOSCRIPT, ...) are returned here, with 0.
 *
 * MOVED and ASK are followed; TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN and connection
 * failures are retried with backoff until the budget (opts.io_timeout_ms) is spent. A command
 * whose connection broke after it was sent is sent again after reconnecting (as every Redis
 * Cluster client does): use hkv_cluster_pipeline() with HKV_CLUSTER_ONCE for commands that
 * must not run twice.
 *
 * Return: 0 and *@reply; -EINVAL (@argc < 1), -ETIMEDOUT (budget spent before a reply),
 * -EHOSTUNREACH / -ECONNREFUSED (no node reachable and no budget left to wait), -EIO
 * (protocol error, too many redirects), -EACCES (a new connection's AUTH was refused),
 * -ENOMEM. On failure *@reply is NULL.
 */
int hkv_cluster_call(struct hkv_cluster *cl, const void *key, size_t klen, int argc,
		     const char *const *argv, const size_t *argvlen,
		     struct hkv_resp_value **reply);

/**
 * struct hkv_cluster_cmd - one command of a pipeline.
 * @argc, @argv, @argvlen: as for hkv_cluster_call(); borrowed.
 */
struct hkv_cluster_cmd {
	int argc;
	const char *const *argv;
	const size_t *argvlen;
};

/* Flags of hkv_cluster_pipeline(). */
/** After the commands, WAIT opts.wait_replicas opts.wait_timeout_ms on the same connection. */
#define HKV_CLUSTER_WAIT 0x1u
/**
 * Never send the commands twice: a connection lost after sending is -EIO (outcome unknown),
 * or -ETIMEDOUT when the budget ran out waiting for the replies.
 */
#define HKV_CLUSTER_ONCE 0x2u
/** The commands may run twice: replay them whole after any redirect (see below). */
#define HKV_CLUSTER_IDEMPOTENT 0x4u

/**
 * hkv_cluster_pipeline() - send @n commands for one slot back to back on one connection to
 * its master and read the @n replies in order.
 * @key, @klen: the key whose slot every command uses (NULL: any master).
 * @flags:      HKV_CLUSTER_WAIT, HKV_CLUSTER_ONCE, HKV_CLUSTER_IDEMPOTENT, or 0.
 * @n, @cmds:   the commands (@n >= 1); borrowed.
 * @replies:    array of @n; on success replies[i] is the reply to cmds[i], owned by the caller.
 *
 * This is how transactions without a decision in the middle are made: { MULTI, ..., EXEC },
 * or { EVAL ... } with HKV_CLUSTER_WAIT. A check-and-set (WATCH k, GET k, decide, then MULTI,
 * SET k v, EXEC) needs the same connection across round trips: hkv_cluster_session_open().
 *
 * Redirects: when a reply is MOVED/ASK/TRYAGAIN/CLUSTERDOWN, the whole pipeline is sent
 * again to the right node (after ASKING for ASK) if nothing in it took effect: every other
 * reply is +QUEUED, an EXECABORT error, or the reply of MULTI, WATCH, UNWATCH, DISCARD or
 * ASKING. With HKV_CLUSTER_IDEMPOTENT it is sent again in any case. Otherwise (a slot moved in
 * the middle of a pipeline of plain writes) the replies are returned as they are, the
 * redirect errors included, and a line is logged.
 *
 * HKV_CLUSTER_WAIT: when WAIT reports fewer than opts.wait_replicas replicas within
 * opts.wait_timeout_ms, the commands did run on the master but are not known to be
 * replicated: the call returns -EIO (replies freed) and logs it.
 *
 * Return: 0 and @replies; -EINVAL (@n < 1 or a command with argc < 1), -ETIMEDOUT, -EHOSTUNREACH,
 * -ECONNREFUSED, -EIO, -ENOMEM, as hkv_cluster_call(). On failure every replies[i] is NULL.
 */
int hkv_cluster_pipeline(struct hkv_cluster *cl, const void *key, size_t klen,
			 unsigned int flags, int n, const struct hkv_cluster_cmd *cmds,
			 struct hkv_resp_value **replies);

/** Opaque handle of hkv_cluster_session_open(): one connection held across round trips. */
struct hkv_cluster_session;

/**
 * hkv_cluster_session_open() - take one connection to the master of @key's slot and keep it
 * for several round trips, for WATCH ... MULTI ... EXEC with a decision in the middle.
 * @out: the session, owned by the caller until hkv_cluster_session_close(); one thread at a
 *       time.
 *
 * Finding the master and connecting follow the rules of hkv_cluster_call() (refresh, retries
 * within one budget). Nothing is sent. Commands then go to that connection only: no redirect
 * is followed and nothing is sent twice, since a transaction cannot move to another node.
 *
 * Return: 0; -ETIMEDOUT, -EHOSTUNREACH, -ECONNREFUSED, -EACCES, -ENOMEM.
 */
int hkv_cluster_session_open(struct hkv_cluster *cl, const void *key, size_t klen,
			     struct hkv_cluster_session **out);

/**
 * hkv_cluster_session_pipeline() - send @n commands on the session's connection and read the
 * @n replies, within one budget (opts.io_timeout_ms).
 * @flags:   HKV_CLUSTER_WAIT or 0.
 * @replies: as for hkv_cluster_pipeline(); Redis error replies are returned there.
 *
 * Return: 0; -EAGAIN (a reply was MOVED, ASK, TRYAGAIN or CLUSTERDOWN: the slot is moving or
 * the cluster is failing; close the session and run the whole transaction again later; a
 * MOVED schedules a slot map reload), -EIO (connection lost or protocol error: the outcome of
 * what was sent is unknown; WAIT short of replicas), -ETIMEDOUT, -EINVAL, -ENOMEM. After
 * -EIO or -ETIMEDOUT the session is broken: every later call returns -EIO. On failure every
 * replies[i] is NULL.
 */
int hkv_cluster_session_pipeline(struct hkv_cluster_session *s, unsigned int flags, int n,
				 const struct hkv_cluster_cmd *cmds,
				 struct hkv_resp_value **replies);

/**
 * hkv_cluster_session_close() - give the connection back (after UNWATCH or DISCARD if a WATCH
 * or a MULTI was left open, so that no later user of the pooled connection inherits them),
 * or close it if the session is broken. NULL-safe.
 */
void hkv_cluster_session_close(struct hkv_cluster_session *s);

/**
 * typedef hkv_cluster_master_fn - called by hkv_cluster_call_masters() once per master.
 * @arg:   the caller's.
 * @addr:  "host:port" of the master; borrowed for the duration of the call.
 * @reply: that master's reply; borrowed (freed after the callback returns).
 * Return: 0 to go on, non-zero to stop (hkv_cluster_call_masters() returns it).
 */
typedef int (*hkv_cluster_master_fn)(void *arg, const char *addr,
				     const struct hkv_resp_value *reply);

/**
 * hkv_cluster_call_masters() - run one keyless command (DBSIZE, INFO, FLUSHALL, ...) on
 * every master of the current slot map, one after the other, and hand each reply to @fn.
 * A master that cannot be reached within the budget fails the whole call (it is not skipped).
 * Return: 0; what @fn returned when non-zero; else as hkv_cluster_call().
 */
int hkv_cluster_call_masters(struct hkv_cluster *cl, int argc, const char *const *argv,
			     const size_t *argvlen, hkv_cluster_master_fn fn, void *arg);

/**
 * hkv_cluster_refresh() - reload the slot map now from any reachable node (normally done by
 * the client itself after MOVED or failures).
 * Return: 0; -ETIMEDOUT, -EHOSTUNREACH, -ECONNREFUSED, -EIO, -ENOMEM.
 */
int hkv_cluster_refresh(struct hkv_cluster *cl);

/**
 * hkv_cluster_nodes() - the masters of the current slot map.
 * @buf, @size: receives "host:port,host:port,..." NUL-terminated (truncated to @size).
 * Return: the number of masters.
 */
int hkv_cluster_nodes(struct hkv_cluster *cl, char *buf, size_t size);

/**
 * hkv_cluster_addr_of() - the master that serves @key's slot in the current map.
 * @buf, @size: receives "host:port" NUL-terminated (truncated to @size).
 * Return: 0; -EHOSTUNREACH (no master is known for that slot).
 */
int hkv_cluster_addr_of(struct hkv_cluster *cl, const void *key, size_t klen, char *buf,
			size_t size);

/* -------------------------------------------------------------------------------------
 * SCAN over every master
 * ------------------------------------------------------------------------------------- */

/** Opaque iterator of hkv_cluster_scan_open(). */
struct hkv_cluster_scan;

/**
 * hkv_cluster_scan_open() - start a SCAN of the whole keyspace.
 * @pattern, @patlen: MATCH pattern (glob, binary-safe); NULL: every key.
 * @type:    TYPE filter ("string", "hash", ...); NULL: any type.
 * @count:   COUNT hint per SCAN call; 0: 100.
 * @out:     the iterator, owned by the caller until hkv_cluster_scan_close().
 *
 * The masters of the slot map at this moment are scanned one after the other, each with its
 * own cursor. Memory is constant: one batch at a time. Keys that exist for the whole scan and
 * stay on one node are returned at least once (exactly once when nothing is written during
 * the scan); keys written during the scan may or may not be returned, as with SCAN.
 *
 * Cost: SCAN with MATCH reads the whole keyspace of every master, O(keys in the cluster)
 * whatever the pattern matches.
 *
 * Return: 0; -EINVAL, -ENOMEM.
 */
int hkv_cluster_scan_open(struct hkv_cluster *cl, const void *pattern, size_t patlen,
			  const char *type, unsigned int count, struct hkv_cluster_scan **out);

/**
 * hkv_cluster_scan_next() - the next batch of keys.
 * @batch: on 1, an array reply (type HKV_RESP_ARRAY, elements HKV_RESP_BULK keys, possibly
 *         zero of them), owned by the caller.
 *
 * When a master being scanned fails (connection lost, failover), the slot map is refreshed,
 * and that node's part of the keyspace is scanned again from cursor 0 on the master that now
 * owns its slots: keys already returned from it may be returned again (never skipped), a line
 * is logged and hkv_cluster_scan_restarts() counts it. A master that stays unreachable for the
 * whole budget makes the call fail; calling again retries it.
 *
 * Return: 1 and *@batch; 0 the scan is complete; -ETIMEDOUT, -EHOSTUNREACH, -ECONNREFUSED,
 * -EIO, -ENOMEM.
 */
int hkv_cluster_scan_next(struct hkv_cluster_scan *it, struct hkv_resp_value **batch);

/** hkv_cluster_scan_restarts() - how many node scans restarted from cursor 0 after a failure. */
unsigned int hkv_cluster_scan_restarts(const struct hkv_cluster_scan *it);

/** hkv_cluster_scan_close() - free the iterator. NULL-safe. */
void hkv_cluster_scan_close(struct hkv_cluster_scan *it);

/* -------------------------------------------------------------------------------------
 * Invalidations (client tracking)
 * ------------------------------------------------------------------------------------- */

/**
 * typedef hkv_cluster_inval_fn - invalidation callback.
 * @arg:        the caller's, from hkv_cluster_track().
 * @key, @klen: a key that changed (written, deleted, expired or evicted) on some master,
 *              borrowed for the duration of the call; NULL, 0: anything read from the
 *              cluster may be stale, drop every cached value.
 *
 * Called from the tracking thread, or from a thread inside a hkv_cluster_*() call that finds
 * invalidations waiting when its reply arrives (they must go through before that reply is
 * returned); never two calls at once (they run under the client's tracking lock). It must not
 * block for long (it delays every other invalidation and the calls waiting for them) and must
 * not call hkv_cluster_*() functions.
 */
typedef void (*hkv_cluster_inval_fn)(void *arg, const void *key, size_t klen);

/**
 * hkv_cluster_track() - subscribe to the invalidations of every master.
 *
 * Starts the tracking thread: per master one RESP3 connection (HELLO 3, CLIENT TRACKING ON
 * BCAST; CLIENT LIST shows it with name=hkv-track), so that every write on that node by any
 * client is reported, whether or not this process read the key. When a tracking connection
 * is lost, or the slot map changes (a node gone, a failover), @cb(@arg, NULL, 0) is called,
 * and the thread reconnects with backoff (reloading the slot map itself, so that an idle
 * process finds a promoted replica); once a tracking connection is subscribed again,
 * @cb(@arg, NULL, 0) is called again.
 *
 * Ordering: a call to a master returns only after (1) that master's tracking connection is
 * subscribed (a call waits for it within its budget) and (2) everything that connection had
 * already received when the reply arrived (invalidations, or its loss) has gone through @cb.
 * On one host this means that a call never returns before the invalidations of the writes
 * that Redis ran in an earlier event-loop iteration, nor before the "drop everything" of a
 * tracking connection that Redis closed before running the call. docs/remote-client.md gives
 * the argument, the cases it does not cover, and what a cache must add.
 *
 * Return: 0; -EALREADY (tracking already on), -ENOMEM, -EAGAIN (thread creation failed).
 */
int hkv_cluster_track(struct hkv_cluster *cl, hkv_cluster_inval_fn cb, void *arg);

/**
 * hkv_cluster_track_gen() - a counter increased after every "drop everything" callback.
 * A cache may read it before a call and store the reply only if it is unchanged after the
 * call and hkv_cluster_track_live() holds.
 */
uint64_t hkv_cluster_track_gen(struct hkv_cluster *cl);

/**
 * hkv_cluster_track_live() - whether every master of the slot map has a subscribed tracking
 * connection right now.
 */
bool hkv_cluster_track_live(struct hkv_cluster *cl);

#ifdef __cplusplus
}
#endif
#endif /* HKV_CLUSTER_H */
