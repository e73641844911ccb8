/* SPDX-License-Identifier: MIT */
/*
 * server_int.h - internals shared by the files of the command layer: the server, its
 * clients, the command table and the helpers command implementations use.
 *
 * Threading: everything here belongs to the server thread (the one running the event loop),
 * except the fields marked "any thread", which are atomics or under @ev_lock.
 */
#ifndef HKV_SERVER_INT_H
#define HKV_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dict.h"
#include "hkv/engine.h"
#include "hkv/resp.h"
#include "hkv/server.h"

struct client;
struct hkv_server;

/* ---------------------------------------------------------------------------------------
 * Command table (cmdtable.c)
 * --------------------------------------------------------------------------------------- */

typedef void (*cmd_proc)(struct client *c);

/* Command flags: Redis's, with its COMMAND INFO names (cmdtable.c lists them). */
#define CMD_WRITE (1u << 0)
#define CMD_READONLY (1u << 1)
#define CMD_DENYOOM (1u << 2)
#define CMD_ADMIN (1u << 3)
#define CMD_PUBSUB (1u << 4)
#define CMD_NOSCRIPT (1u << 5)
#define CMD_BLOCKING (1u << 6)
#define CMD_LOADING (1u << 7)
#define CMD_STALE (1u << 8)
#define CMD_SKIP_MONITOR (1u << 9)
#define CMD_SKIP_SLOWLOG (1u << 10)
#define CMD_FAST (1u << 11)
#define CMD_NO_AUTH (1u << 12)
#define CMD_MAY_REPLICATE (1u << 13)
#define CMD_NO_MULTI (1u << 14)
#define CMD_MOVABLE_KEYS (1u << 15)
#define CMD_ALLOW_BUSY (1u << 16)
#define CMD_NO_ASYNC_LOADING (1u << 17)
#define CMD_SENTINEL (1u << 18)
#define CMD_ONLY_SENTINEL (1u << 19)
#define CMD_NO_MANDATORY_KEYS (1u << 20)
#define CMD_PROTECTED (1u << 21)
#define CMD_TOUCHES_ALL (1u << 22) /* ours: writes keys not named in argv (FLUSHALL) */

/* ACL categories (COMMAND INFO's third-from-last field). */
#define ACL_KEYSPACE (1u << 0)
#define ACL_READ (1u << 1)
#define ACL_WRITE (1u << 2)
#define ACL_SET (1u << 3)
#define ACL_SORTEDSET (1u << 4)
#define ACL_LIST (1u << 5)
#define ACL_HASH (1u << 6)
#define ACL_STRING (1u << 7)
#define ACL_BITMAP (1u << 8)
#define ACL_HYPERLOGLOG (1u << 9)
#define ACL_GEO (1u << 10)
#define ACL_STREAM (1u << 11)
#define ACL_PUBSUB (1u << 12)
#define ACL_ADMIN (1u << 13)
#define ACL_FAST (1u << 14)
#define ACL_SLOW (1u << 15)
#define ACL_BLOCKING (1u << 16)
#define ACL_DANGEROUS (1u << 17)
#define ACL_CONNECTION (1u << 18)
#define ACL_TRANSACTION (1u << 19)
#define ACL_SCRIPTING (1u << 20)

/**
 * struct cmd - one command or subcommand.
 * @name:      lower-case name ("get"; "get" under "config").
 * @arity:     Redis's arity, counting the name (and for subcommands, the container too).
 * @flags:     CMD_*.
 * @acl:       ACL_* categories beyond those the flags imply.
 * @first, @last, @step: key positions (0 0 0: no keys; last -1: to the end).
 * @proc:      the implementation; NULL for a container of subcommands.
 * @getkeys:   for commands whose keys move (numkeys arguments): fills @out with argument
 *             indexes of the keys and returns their number.
 * @group, @since, @summary, @complexity: COMMAND DOCS.
 * @sub:       subcommands of a container, ending with a zeroed entry.
 * Mutable, filled at start: @fullname ("config|get"), @parent, statistics.
 */
struct cmd {
	const char *name;
	int arity;
	uint32_t flags;
	uint32_t acl;
	int first, last, step;
	cmd_proc proc;
	int (*getkeys)(struct client *c, int *out, int max);
	const char *group;
	const char *since;
	const char *summary;
	const char *complexity;
	struct cmd *sub;

	char fullname[64];
	struct cmd *parent;
	/* call.c: one engine write whatever the arguments, or with exactly @txn_free_argc */
	bool single_write;
	int txn_free_argc;
	uint64_t calls, usec, rejected, failed;
	/* embedder commands */
	hkv_server_ext_fn ext;
	void *ext_arg;
};

/** cmd_lookup() - the command named by @argv (a container resolves @argv[1]). */
struct cmd *cmd_lookup(struct hkv_server *srv, int argc, char **argv, const size_t *argvlen);
/** cmd_lookup_name() - a top-level command by name, case-insensitively. */
struct cmd *cmd_lookup_name(struct hkv_server *srv, const char *name, size_t len);
/** cmd_table_init() - fill full names and parents; sort for lookup. Once per process. */
void cmd_table_init(void);
/** cmd_foreach() - call @fn for every top-level command (built-in and embedder's). */
void cmd_foreach(struct hkv_server *srv, void (*fn)(struct cmd *, void *), void *arg);
/** cmd_count() - number of top-level commands. */
size_t cmd_count(struct hkv_server *srv);
/** cmd_getkeys() - argument indexes of the keys of the command in @c->argv. */
int cmd_getkeys(struct client *c, struct cmd *cmd, int *out, int max);

/* ---------------------------------------------------------------------------------------
 * Clients
 * --------------------------------------------------------------------------------------- */

#define CL_MULTI (1u << 0)
#define CL_DIRTY_EXEC (1u << 1)     /* an error while queueing: EXEC aborts */
#define CL_CLOSE_AFTER_REPLY (1u << 2)
#define CL_CLOSE_ASAP (1u << 3)
#define CL_PUBSUB (1u << 4)
#define CL_BLOCKED (1u << 5)
#define CL_UNIX (1u << 6)
#define CL_FAKE (1u << 7)           /* in-process (hkvctl): no socket, never blocks */
#define CL_PROTO_ERROR (1u << 8)
#define CL_REPLY_OFF (1u << 9)
#define CL_REPLY_SKIP_NEXT (1u << 10)
#define CL_REPLY_SKIP (1u << 11)
#define CL_IN_EXEC (1u << 12)
#define CL_PENDING_WRITE (1u << 13)
#define CL_NO_EVICT (1u << 14)
#define CL_DIRTY_CAS (1u << 15)     /* shown by CLIENT LIST; computed at EXEC from versions */
#define CL_UNBLOCKED (1u << 16)     /* unblocked: process its pending pipeline */
#define CL_PUSHING (1u << 17)       /* writing a push (pub/sub): CLIENT REPLY OFF does not apply */
#define CL_SCRIPT_HOLD (1u << 18)   /* replies held while a busy script serves the loop */

/** struct mcmd - a command queued by MULTI (one allocation holds the arguments). */
struct mcmd {
	struct cmd *cmd;
	int argc;
	char **argv;
	size_t *argvlen;
};

/** struct watched - a WATCHed key and the version it had (0: absent). */
struct watched {
	uint64_t version;
	size_t klen;
	char key[];
};

enum block_type { BLOCK_NONE, BLOCK_LIST, BLOCK_ZSET, BLOCK_SLEEP, BLOCK_STREAM };

/**
 * struct bstate - what a blocked client waits for.
 * @keys:      the keys (dict: key -> NULL), in @order as well for FIFO-fair serving order.
 * @timeout:   absolute deadline in ms (0: forever).
 * @cmd:       the blocking command (decides the reply shape).
 * @target:    BLMOVE/BRPOPLPUSH destination; @wherefrom/@whereto: 0 left, 1 right.
 * @count:     BLMPOP/BZMPOP COUNT; @zmax: BZPOPMAX / BZMPOP MAX.
 */
struct bstate {
	enum block_type type;
	struct dict keys;
	char **order;
	size_t *order_len;
	int norder;
	int64_t timeout;
	struct cmd *cmd;
	char *target;
	size_t target_len;
	int wherefrom, whereto;
	long count;
	bool zmax;
	bool mpop;
	/* XREAD/XREADGROUP (t_stream.c): 16 bytes of ID per key of @order; the group */
	unsigned char *xids;
	char *xgroup, *xconsumer;
	size_t xglen, xclen;
	bool xnoack;
};

/**
 * struct client - one connection (or an in-process caller).
 * The output buffer @out holds replies not yet written; @sent bytes of it have been.
 */
struct client {
	uint64_t id;
	int fd;
	struct hkv_server *srv;
	/* the store's handle, or during EXEC and multi-write commands the transaction's */
	struct hkv *db;
	uint32_t flags;
	bool authenticated;
	char *name;
	char addr[136];
	char laddr[136];
	int64_t ctime_ms;
	int64_t last_ms;

	/* input */
	char *qbuf;
	size_t qlen, qcap, qpos;
	uint64_t qbuf_peak;
	struct hkv_resp_req req;

	/* the command being run */
	int argc;
	char **argv;
	size_t *argvlen;
	struct cmd *cmd, *lastcmd;
	bool cmd_failed;    /* the command replied with an error */
	int64_t cmd_start_us;
	/* reply-producing commands run with the client's protocol */
	struct hkv_resp_out out;
	size_t sent;
	int64_t obuf_soft_since; /* ms when over the soft limit, 0 below it */

	/* MULTI */
	struct mcmd *mq;
	int mcount, mcap;
	/* WATCH */
	struct watched **watch;
	int nwatch, watch_cap;
	/* blocking */
	struct bstate bs;
	/* pub/sub: channel -> NULL, pattern -> NULL */
	struct dict channels;
	struct dict patterns;
	struct dict shard_channels;

	/* lists */
	struct client *next, *prev;        /* all clients */
	struct client *next_pending;       /* clients with output to send */
	struct client *next_unblocked;     /* clients to resume */
	struct client *next_close;         /* clients to free after the iteration */
	struct client *next_blocked, *prev_blocked; /* timeout list */
	int epoll_events;
	uint64_t net_in, net_out;
};

/* ---------------------------------------------------------------------------------------
 * Server
 * --------------------------------------------------------------------------------------- */

/** struct listener - a listening socket. */
struct listener {
	int fd;
	bool unix_sock;
	char addr[128];
	char *path; /* unix: the file to remove */
};

/** struct wev - a key changed by a write the server did not make (queued by the watch). */
struct wev {
	struct wev *next;
	uint64_t version;
	size_t klen;
	char key[];
};

/** struct clist - clients in arrival order (subscribers of a channel, blocked on a key). */
struct clist {
	int n, cap;
	struct client **v;
};

int clist_add(struct clist *l, struct client *c);
/** clist_del() - remove @c, keeping the order. Return: whether it was there. */
bool clist_del(struct clist *l, struct client *c);
void clist_free(void *l);

/** struct srv_stats - INFO stats counters (server thread). */
struct srv_stats {
	uint64_t connections;
	uint64_t commands;
	uint64_t rejected_conn;
	uint64_t expired_keys;
	uint64_t keyspace_hits, keyspace_misses;
	uint64_t pubsub_messages;
	uint64_t net_in, net_out;
	uint64_t total_error_replies;
	uint64_t unexpected_error_replies;
	uint64_t dirty; /* writes since start */
	uint64_t blocked_keys_served;
	uint64_t evicted_clients;
	uint64_t evicted_keys;
	uint64_t flushes; /* group flushes for appendfsync always */
	uint64_t reads, writes; /* read and write events on client sockets */
	uint64_t busy_polls, busy_poll_hits; /* busy_poll(): polls, and those that found events */
	struct dict errorstats; /* error code -> (uintptr_t) count */
};

/** struct scan_slot - a SCAN cursor handed out as a number (see keyspace.c). */
struct scan_slot {
	uint64_t id;
	int64_t last_used;
	struct hkv_cursor cur;
};

#define OPS_SAMPLES 16
struct ops_sample {
	int64_t ms;
	uint64_t commands, net_in, net_out;
};

enum { BGJOB_NONE, BGJOB_SAVE, BGJOB_REWRITE };

struct hkv_server {
	struct hkv *db;
	void *hkvfs_cmd; /* hkv_server_add_hkvfs()'s state, freed with the server */
	struct hkv_server_config cfg;
	char *bind_copy[HKV_SERVER_BIND_MAX];
	char *unixsocket, *extra_unixsocket, *requirepass, *dir;
	uint32_t notify_flags;
	/* settings CONFIG SET accepts but the engine has no use for (encoding knobs...) */
	struct dict opaque_config;
	uint64_t maxmemory;

	int epfd, wakefd;
	struct listener *listeners;
	int nlisteners;
	bool stop;                    /* any thread: atomic via __atomic builtins */
	bool running;
	bool poll_hot;                 /* busy_poll(): the last wait ended within the window */
	pthread_t thread;
	bool thread_started;
	int64_t start_ms;
	uint64_t run_id_rand;
	char run_id[41];

	/* clients */
	struct client *clients;
	uint32_t nclients;
	uint64_t next_client_id;
	struct dict clients_by_id;     /* id (8 bytes) -> client */
	struct client *current;
	struct client *pending;        /* clients with output to write */
	struct client *unblocked;      /* clients to resume after a command */
	struct client *to_close;       /* to free at the end of the iteration */
	struct client *blocked_head;   /* blocked clients (timeouts) */
	uint32_t nblocked;
	struct client *fake;           /* in-process client for hkv_server_call() */

	/* blocking: key -> struct clist (clients in arrival order) */
	struct dict blocking;
	struct dict ready;             /* keys signalled since the last serving pass (dedupe) */
	char **ready_keys;             /* ... in the order they were signalled */
	size_t *ready_lens;
	int nready, ready_cap;
	bool serving_ready;

	/* pub/sub: channel (or pattern) -> struct clist of subscribers */
	struct dict channels;
	struct dict shard_channels;
	struct dict patterns;

	/* writes by other doors and by expiry (any thread: under ev_lock) */
	pthread_mutex_t ev_lock;
	struct wev *ev_head, **ev_tail;
	atomic_bool ev_pending;
	atomic_bool ev_woken; /* the wake-up eventfd was written since the last drain */
	/* the command being executed: its own engine events are recognised by its argv */
	struct client *exec_client;
	/* a client's pipeline running as one engine transaction (net.c): keys it modified */
	bool in_batch;
	struct dict batch_keys;
	/*
	 * Command timing in a batch: call() ends each command with one clock reading
	 * (call_end_us); the batch hands it to the next command as its start (call_start_us,
	 * 0 = read the clock), so commands run back to back read the clock once each.
	 */
	int64_t call_start_us, call_end_us;
	/* the last command name looked up in the static table, as sent, and its command */
	struct {
		char name[32];
		size_t len;
		struct cmd *cmd;
	} cmd_memo;
	bool touches_all;
	struct dict volatile_keys;     /* daemon mode: key -> (int64) expire_at seen */

	/* durability */
	bool dirty_since_flush;        /* a write ran since the last group flush */
	atomic_bool flusher_dirty;     /* everysec: something to flush (any thread) */
	pthread_t flusher;
	bool flusher_started;
	pthread_mutex_t flusher_lock;
	pthread_cond_t flusher_cond;
	bool flusher_stop;
	int flush_error;               /* the first failed flush (writes are then refused) */

	/* SCAN cursors */
	struct dict scan_slots;        /* id (8 bytes) -> struct scan_slot */
	uint64_t scan_next;

	/* embedder's commands */
	struct cmd *ext_cmds;
	int next_ext, ext_cap;

	struct srv_stats st;
	uint64_t stat_peak_mem;
	uint64_t mem_sampled;   /* srv_mem_sample()'s last measure, what maxmemory checks read */
	struct ops_sample ops_samples[OPS_SAMPLES];
	unsigned ops_idx;
	int64_t ops_last_ms;

	/* slow log (info.c): newest first */
	void *slowlog;
	long long slowlog_len;
	uint64_t slowlog_next_id;
	long long slowlog_slower_than;
	long long slowlog_max_len;

	/* persistence commands (admin.c) */
	uint64_t dirty_since_save;
	int64_t lastsave_ms;
	uint64_t saves;
	int bgjob;
	pthread_t bgjob_thread;
	bool bgjob_done;             /* set by the job's thread (atomic builtins) */
	int bgjob_rc;
	int64_t bgjob_start_ms;
	uint64_t bgjob_dirty;
	bool last_bgsave_ok, last_bgrewrite_ok;

	int64_t cron_last_ms;
	uint64_t rng;
	/* Lua scripting (script.c), opaque here */
	void *lua;
};

/* ---------------------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------------------------- */

int64_t srv_now_ms(void);
int64_t srv_now_us(void);
void srv_log(struct hkv_server *srv, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t srv_rand(struct hkv_server *srv);

/* networking (net.c) */
int net_listen(struct hkv_server *srv);
void net_close_listeners(struct hkv_server *srv);
/** net_set_port() - listen on @port instead (0: no TCP). Return: 0, or -errno (old kept). */
int net_set_port(struct hkv_server *srv, int port);
/** net_adopt_listener() - serve on the embedder's listening socket @fd (it is ours after). */
int net_adopt_listener(struct hkv_server *srv, int fd);
void net_accept(struct hkv_server *srv, struct listener *l);
/**
 * server_own_event() - handle an epoll event that is the server's own rather than a client's:
 * the wake-up eventfd (drained) or a listener (a connection accepted).
 * Return: true if @p was one of them.
 */
bool server_own_event(struct hkv_server *srv, void *p);
void net_read(struct client *c);
void net_write(struct client *c);
void net_flush_pending(struct hkv_server *srv);
void client_free(struct client *c);
void client_close_async(struct client *c);
struct client *client_new(struct hkv_server *srv, int fd, bool unix_sock);
void client_process_input(struct client *c);
void client_want_write(struct client *c);
void client_check_obuf(struct client *c);
void client_reset_cmd(struct client *c);
size_t client_info(struct client *c, char *buf, size_t size);

/* dispatch (call.c) */
void process_command(struct client *c);
void call(struct client *c, struct cmd *cmd);
void call_in_txn(struct client *c);
/** call_table_init() - mark the write commands that need no transaction (call.c). */
void call_table_init(struct cmd *cmd);
void after_command(struct hkv_server *srv);
void drain_watch_events(struct hkv_server *srv);

/* replies on a client (reply.c): RESP version follows the client's protocol */
void add_reply_raw(struct client *c, const void *p, size_t n);
void add_status(struct client *c, const char *s);
void add_ok(struct client *c);
void add_error(struct client *c, const char *msg);
void add_errorf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void add_int(struct client *c, long long v);
void add_bulk(struct client *c, const void *p, size_t n);
void add_bulk_str(struct client *c, const char *s);
void add_bulk_ll(struct client *c, long long v);
void add_null(struct client *c);
void add_null_array(struct client *c);
void add_array(struct client *c, long long n);
void add_map(struct client *c, long long n);
void add_set(struct client *c, long long n);
void add_push(struct client *c, long long n);
void add_double(struct client *c, double d);
void add_bool(struct client *c, bool b);
void add_verbatim(struct client *c, const char *p, size_t n);
size_t add_deferred(struct client *c);
void set_deferred(struct client *c, size_t pos, char type, long long n);
/* Redis's common errors */
void add_err_arity(struct client *c);
void add_err_syntax(struct client *c);
void add_err_wrongtype(struct client *c);
void add_err_notint(struct client *c);
void add_err_notfloat(struct client *c);
void add_err_engine(struct client *c, int rc);
void add_err_subcommand(struct client *c);
/** add_help() - a HELP reply: @lines (NULL-terminated) as status strings. */
void add_help(struct client *c, const char *const *lines);
/* push to a client that may not be the current one (pub/sub, unblocking) */
void client_pushed(struct client *c);

/* argument parsing (util.c) */
bool str2ll(const char *s, size_t len, long long *out);
bool str2ull(const char *s, size_t len, unsigned long long *out);
bool str2d(const char *s, size_t len, double *out);
bool str2ld(const char *s, size_t len, long double *out);
int ll2str(char *buf, long long v);
int d2str(char *buf, size_t size, double d);
int ld2str_human(char *buf, size_t size, long double v);
bool arg_eq(const struct client *c, int i, const char *kw);
bool get_ll_or_reply(struct client *c, int i, long long *out, const char *msg);
bool get_pos_ll_or_reply(struct client *c, int i, long long *out, const char *msg);
bool get_range_ll_or_reply(struct client *c, int i, long long min, long long max,
			   long long *out, const char *msg);
bool get_double_or_reply(struct client *c, int i, double *out, const char *msg);
bool get_ld_or_reply(struct client *c, int i, long double *out, const char *msg);
bool get_timeout_or_reply(struct client *c, int i, int64_t *deadline_ms);
bool srv_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);
char *xstrndup(const char *s, size_t n);

/* keyspace notifications and modification signals (notify.c) */
#define NOTIFY_KEYSPACE (1u << 0)
#define NOTIFY_KEYEVENT (1u << 1)
#define NOTIFY_GENERIC (1u << 2)
#define NOTIFY_STRING (1u << 3)
#define NOTIFY_LIST (1u << 4)
#define NOTIFY_SET (1u << 5)
#define NOTIFY_HASH (1u << 6)
#define NOTIFY_ZSET (1u << 7)
#define NOTIFY_EXPIRED (1u << 8)
#define NOTIFY_EVICTED (1u << 9)
#define NOTIFY_STREAM (1u << 10)
#define NOTIFY_KEY_MISS (1u << 11)
#define NOTIFY_LOADED (1u << 12)
#define NOTIFY_MODULE (1u << 13)
#define NOTIFY_NEW (1u << 14)
/* the classes of the events that name a type (foreign_write_event()'s) */
#define NOTIFY_TYPES (NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | \
		      NOTIFY_STREAM)
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_TYPES | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_MODULE)
int notify_parse(const char *s, size_t len, uint32_t *out);
size_t notify_format(uint32_t flags, char *buf);
/**
 * notify_listened() - whether an event of a class in @types would reach anyone: the class is
 * enabled (notify-keyspace-events) and some client subscribes to a channel or pattern.
 */
bool notify_listened(const struct hkv_server *srv, uint32_t types);
void notify_event(struct hkv_server *srv, uint32_t type, const char *event, const void *key,
		  size_t klen);
/**
 * key_modified() - the command changed @key: fire @event of class @type, wake clients blocked
 * on it, count a write. Redis's notifyKeyspaceEvent() and signalModifiedKey() in one.
 */
void key_modified(struct client *c, uint32_t type, const char *event, const void *key,
		  size_t klen);
/** key_created() - @key did not exist before this write ("new" events). */
bool key_exists_for_new(struct client *c, const void *key, size_t klen);
void signal_key_ready(struct hkv_server *srv, const void *key, size_t klen);

/* pub/sub (pubsub.c) */
long pubsub_publish(struct hkv_server *srv, const void *ch, size_t chlen, const void *msg,
		    size_t mlen, bool shard);
void pubsub_unsubscribe_all(struct client *c, bool notify);
int pubsub_count(struct client *c);

/* blocking (blocking.c) */
void block_client(struct client *c, enum block_type type, int64_t deadline, char **keys,
		  size_t *klens, int nkeys);
void unblock_client(struct client *c, bool timed_out);
void serve_ready_keys(struct hkv_server *srv);
void check_block_timeouts(struct hkv_server *srv);
int64_t next_block_deadline(struct hkv_server *srv);
void block_state_free(struct client *c);

/* transactions (multi.c) */
void multi_queue(struct client *c);
void multi_discard(struct client *c);
void unwatch_all(struct client *c);
void flag_transaction(struct client *c);

/* scripting (script.c) */
/** script_timedout() - a script runs past busy-reply-threshold: others get -BUSY. */
bool script_timedout(struct hkv_server *srv);
/** script_client() - whether @c is the client scripts run their commands through. */
bool script_client(const struct client *c);
/** script_release() - free the Lua interpreter and the script cache (server teardown). */
void script_release(struct hkv_server *srv);

/* stats (info.c) */
#define HKV_SERVER_VERSION "0.1.0"
void stat_error(struct hkv_server *srv, const char *msg);
void stats_reset(struct hkv_server *srv);
void stats_cron(struct hkv_server *srv);
void cmd_reset_stats(struct hkv_server *srv);
void slowlog_push(struct client *c, int64_t duration_us);
void slowlog_trim(struct hkv_server *srv);
void slowlog_free(struct hkv_server *srv);

/* administration (admin.c) */
void bgjob_reap(struct hkv_server *srv, bool wait);
uint64_t mem_rss(void);
uint64_t mem_used(void);
uint64_t srv_mem_sample(struct hkv_server *srv);
bool srv_over_maxmemory(const struct hkv_server *srv);

/* config (config.c) */
int config_apply_defaults(struct hkv_server *srv);
long long config_get_ll(struct hkv_server *srv, const char *name, long long def);
/** config_get_str() - the value of an "accepted" parameter ("" if unknown). Borrowed. */
const char *config_get_str(struct hkv_server *srv, const char *name);

/* maxmemory eviction (evict.c) */
/** evict_if_needed() - evict per maxmemory-policy; @c: the client about to run, or NULL. */
void evict_if_needed(struct hkv_server *srv, struct client *c);
void config_free(struct hkv_server *srv);

/* type checks and shared helpers of the type files */
bool check_type(struct client *c, int keyi, enum hkv_type want, bool *exists);
void random_pick(struct hkv_server *srv, size_t *idx, size_t n, size_t k);
/** scan_collection() - HSCAN, SSCAN, ZSCAN: c->argv = [cmd, key, cursor, options...]. */
void scan_collection(struct client *c, enum hkv_type type);

/* scan cursors (keyspace.c) */
void scan_slots_free(struct hkv_server *srv);
void scan_slots_expire(struct hkv_server *srv);

/* durability (server.c) */
void write_done(struct hkv_server *srv);
/** server_flush_policy_changed() - appendfsync changed: start the flusher if now needed. */
void server_flush_policy_changed(struct hkv_server *srv);
bool writes_refused(struct client *c);


/* Commands: every proc, by file. */
#define PROC(name) void name##_command(struct client *c)
/* t_string.c */
PROC(get); PROC(set); PROC(setnx); PROC(setex); PROC(psetex); PROC(getex); PROC(getdel);
PROC(getset); PROC(mget); PROC(mset); PROC(msetnx); PROC(append); PROC(strlen);
PROC(getrange); PROC(setrange); PROC(incr); PROC(decr); PROC(incrby); PROC(decrby);
PROC(incrbyfloat); PROC(setbit); PROC(getbit); PROC(bitcount); PROC(lcs); PROC(bitpos);
PROC(bitop);
/* t_stream.c */
PROC(xadd); PROC(xlen); PROC(xrange); PROC(xrevrange); PROC(xdel); PROC(xtrim); PROC(xread);
PROC(xreadgroup); PROC(xsetid); PROC(xgroup); PROC(xack); PROC(xpending); PROC(xclaim);
PROC(xautoclaim); PROC(xinfo);
int stream_walk_records(struct hkv *db, const char *key, size_t klen,
			int (*cb)(void *arg, const void *rk, size_t rklen, const void *v,
				  size_t vlen),
			void *arg);
bool stream_record_valid(const void *rk, size_t rklen);
/* t_hash.c */
PROC(hset); PROC(hsetnx); PROC(hget); PROC(hmget); PROC(hmset); PROC(hdel); PROC(hlen); PROC(hstrlen);
PROC(hexists); PROC(hkeys); PROC(hvals); PROC(hgetall); PROC(hincrby); PROC(hincrbyfloat);
PROC(hrandfield); PROC(hscan);
/* t_list.c */
PROC(lpush); PROC(rpush); PROC(lpushx); PROC(rpushx); PROC(lpop); PROC(rpop); PROC(llen);
PROC(lindex); PROC(lset); PROC(lrange); PROC(ltrim); PROC(lrem); PROC(linsert); PROC(lpos);
PROC(lmove); PROC(rpoplpush); PROC(lmpop); PROC(blpop); PROC(brpop); PROC(blmove);
PROC(brpoplpush); PROC(blmpop);
/* t_set.c */
PROC(sadd); PROC(srem); PROC(smove); PROC(sismember); PROC(smismember); PROC(scard);
PROC(smembers); PROC(spop); PROC(srandmember); PROC(sinter); PROC(sintercard);
PROC(sinterstore); PROC(sunion); PROC(sunionstore); PROC(sdiff); PROC(sdiffstore);
PROC(sscan);
/* t_zset.c */
PROC(zadd); PROC(zincrby); PROC(zrem); PROC(zcard); PROC(zscore); PROC(zmscore); PROC(zrank);
PROC(zrevrank); PROC(zcount); PROC(zlexcount); PROC(zrange); PROC(zrangestore);
PROC(zrevrange); PROC(zrangebyscore); PROC(zrevrangebyscore); PROC(zrangebylex);
PROC(zrevrangebylex); PROC(zremrangebyscore); PROC(zremrangebyrank); PROC(zremrangebylex);
PROC(zpopmin); PROC(zpopmax); PROC(bzpopmin); PROC(bzpopmax); PROC(zmpop); PROC(bzmpop);
PROC(zunionstore); PROC(zinterstore); PROC(zdiffstore); PROC(zunion); PROC(zinter);
PROC(zdiff); PROC(zintercard); PROC(zrandmember); PROC(zscan);
/* keyspace.c */
PROC(del); PROC(unlink); PROC(exists); PROC(type); PROC(rename); PROC(renamenx); PROC(copy);
PROC(dbsize); PROC(flushall); PROC(flushdb); PROC(scan); PROC(keys); PROC(randomkey);
 PROC(object_encoding); PROC(object_freq); PROC(object_idletime);
PROC(object_refcount); PROC(object_help); PROC(touch); PROC(move); PROC(swapdb);
PROC(sort); PROC(sort_ro); PROC(dump); PROC(restore); PROC(memory_usage); PROC(memory_help);
PROC(memory_stats); PROC(memory_doctor); PROC(memory_malloc_stats); PROC(memory_purge);
/* expire.c */
PROC(expire); PROC(pexpire); PROC(expireat); PROC(pexpireat); PROC(ttl); PROC(pttl);
PROC(expiretime); PROC(pexpiretime); PROC(persist);
/* conn.c: connection and server */
PROC(ping); PROC(echo); PROC(quit); PROC(reset); PROC(select); PROC(time); PROC(auth);
PROC(hello); PROC(client_id); PROC(client_list); PROC(client_kill); PROC(client_setname);
PROC(client_getname); PROC(client_unblock); PROC(client_info); PROC(client_reply);
PROC(client_help); PROC(client_no_evict);

 PROC(info); PROC(config_get);
PROC(config_set); PROC(config_resetstat); PROC(config_rewrite); PROC(config_help);
PROC(command); PROC(command_count); PROC(command_info); PROC(command_docs);
PROC(command_list); PROC(command_getkeys); PROC(command_help); PROC(lastsave); PROC(save);
PROC(bgsave); PROC(bgrewriteaof); PROC(shutdown); PROC(function_flush); PROC(function_list);
PROC(function_help); PROC(latency_help); PROC(latency_latest);
PROC(latency_reset); PROC(slowlog_get); PROC(slowlog_len); PROC(slowlog_reset);
PROC(slowlog_help); PROC(readonly); PROC(readwrite); PROC(wait);
/* script.c */
PROC(eval); PROC(evalsha); PROC(eval_ro); PROC(evalsha_ro); PROC(script_load);
PROC(script_exists); PROC(script_flush); PROC(script_kill); PROC(script_help);
/* multi.c */
PROC(multi); PROC(exec); PROC(discard); PROC(watch); PROC(unwatch);
/* pubsub.c */
PROC(subscribe); PROC(unsubscribe); PROC(psubscribe); PROC(punsubscribe); PROC(publish);
PROC(ssubscribe); PROC(sunsubscribe); PROC(spublish); PROC(pubsub_channels);
PROC(pubsub_numsub); PROC(pubsub_numpat); PROC(pubsub_shardchannels);
PROC(pubsub_shardnumsub); PROC(pubsub_help);
#undef PROC

#endif /* HKV_SERVER_INT_H */
