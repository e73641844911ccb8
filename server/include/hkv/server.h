/* SPDX-License-Identifier: MIT */
/*
 * hkv/server.h - the one command layer of hkvfs: Redis's commands over the engine, served on
 * TCP and unix sockets (RESP2/RESP3), or run in-process.
 *
 * Every door into a store goes through the same command table:
 *   - hkv-server, a standalone server for a data directory;
 *   - the hkvfs daemon, which serves DATA_DIR/hkvfs.sock (and TCP when asked) while mounted;
 *   - hkvctl, which runs a command in-process (hkv_server_call()) when it can open the store,
 *     and over the daemon's socket when it cannot: the replies are the same bytes either way.
 *
 * Threading: a server runs its event loop on one thread (hkv_server_run() in the caller's
 * thread, or hkv_server_start() in a new one); all commands run on that thread, one at a time,
 * as in Redis, so MULTI/EXEC, blocking pops and pub/sub need no locks. The engine may be used
 * by other threads meanwhile (the daemon's filesystem): their writes reach the server through
 * hkv_server_watch() and fire keyspace notifications, wake blocked clients and break WATCHes.
 * hkv_server_stop() and hkv_server_watch() may be called from any thread.
 */
#ifndef HKV_SERVER_H
#define HKV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hkv/engine.h"
#include "hkv/resp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of Redis whose commands and replies the server reproduces. */
#define HKV_SERVER_REDIS_VERSION "7.0.15"

/**
 * enum hkv_server_flush - when a write is acknowledged (appendfsync).
 * @HKV_FLUSH_ALWAYS:   replies to writes are sent after one hkv_sync() that covers every write
 *                      of the event-loop iteration, from all clients (group flush).
 * @HKV_FLUSH_EVERYSEC: a flusher thread syncs once a second when something was written.
 * @HKV_FLUSH_NO:       left to the operating system.
 * @HKV_FLUSH_ENGINE:   the engine's own sync policy decides (the hkvfs daemon, whose mount
 *                      options own the store); the server adds nothing.
 */
enum hkv_server_flush {
	HKV_FLUSH_ALWAYS = 0,
	HKV_FLUSH_EVERYSEC = 1,
	HKV_FLUSH_NO = 2,
	HKV_FLUSH_ENGINE = 3,
};

/** Most addresses in hkv_server_config.bind. */
#define HKV_SERVER_BIND_MAX 16

/**
 * struct hkv_server_obuf_limit - client-output-buffer-limit of one client class: a client
 * whose pending output exceeds @hard bytes, or stays above @soft bytes for @soft_seconds, is
 * disconnected. 0 disables a limit.
 */
struct hkv_server_obuf_limit {
	uint64_t hard;
	uint64_t soft;
	uint32_t soft_seconds;
};

/**
 * struct hkv_server_config - how a server is set up; fill with hkv_server_config_init(), then
 * change fields. Strings are copied by hkv_server_new().
 * @port:             TCP port; 0 disables TCP. Default 6379.
 * @bind, @nbind:     addresses to listen on (default "127.0.0.1" and "::1"; an address that
 *                    cannot be bound is an error unless prefixed with '-', as in Redis).
 * @unixsocket:       path of a unix socket to listen on, or NULL.
 * @unixsocketperm:   its mode (0 leaves the umask's).
 * @extra_unixsocket: a second unix socket (hkv-server's DATA_DIR/hkvfs.sock for hkvctl).
 * @extra_unixsocketperm: its mode.
 * @requirepass:      password of the default user, or NULL (no AUTH needed).
 * @protected_mode:   refuse clients from non-loopback addresses when no password is set.
 * @maxclients:       most simultaneous clients (default 10000).
 * @timeout:          close clients idle this many seconds (0: never).
 * @tcp_keepalive:    SO_KEEPALIVE interval in seconds (default 300; 0 off).
 * @tcp_backlog:      listen() backlog (default 511).
 * @flush:            acknowledgement policy, default HKV_FLUSH_EVERYSEC.
 * @query_buffer_limit: client-query-buffer-limit (default 1 GiB).
 * @proto_max_bulk_len: largest bulk argument (default 512 MiB).
 * @obuf_normal, @obuf_pubsub: output limits of normal and pub/sub clients (defaults as
 *                    Redis: none; 32 MiB hard, 8 MiB for 60 s).
 * @hz:               frequency of the periodic task (timeouts, stats), default 10.
 * @busy_poll_us:     how long the event loop polls for more requests before it sleeps,
 *                    while requests arrive closer together than that (microseconds,
 *                    0..1000, default 50; 0 never polls). CONFIG busy-poll-us.
 * @notify_keyspace_events: notify-keyspace-events flags ("" none).
 * @dir:              the data directory (reported by CONFIG GET dir and INFO).
 * @daemon_mode:      the store has other writers (a mount): writes the server did not make
 *                    are told apart from expiry by the expiry the server last saw.
 * @log:              receives log lines (level 0 error .. 3 debug); NULL logs errors and
 *                    warnings to stderr.
 * @log_arg:          passed to @log.
 * @before_reply:     if set, called on the server thread after commands that wrote and
 *                    before their replies are sent (the daemon waits there until the kernel
 *                    caches dropped what changed).
 * @before_reply_arg: passed to @before_reply.
 */
struct hkv_server_config {
	int port;
	const char *bind[HKV_SERVER_BIND_MAX];
	int nbind;
	const char *unixsocket;
	uint32_t unixsocketperm;
	const char *extra_unixsocket;
	uint32_t extra_unixsocketperm;
	const char *requirepass;
	bool protected_mode;
	uint32_t maxclients;
	uint32_t timeout;
	uint32_t tcp_keepalive;
	int tcp_backlog;
	enum hkv_server_flush flush;
	uint64_t query_buffer_limit;
	uint64_t proto_max_bulk_len;
	struct hkv_server_obuf_limit obuf_normal;
	struct hkv_server_obuf_limit obuf_pubsub;
	uint32_t hz;
	uint32_t busy_poll_us;
	const char *notify_keyspace_events;
	const char *dir;
	bool daemon_mode;
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	void (*before_reply)(void *arg);
	void *before_reply_arg;
};

/** hkv_server_config_init() - the defaults documented above. */
void hkv_server_config_init(struct hkv_server_config *cfg);

struct hkv_server;

/**
 * hkv_server_new() - a server over the open store @db (borrowed: it must outlive the server).
 * Nothing listens yet. Installs nothing on @db: the owner of @db forwards the engine's watch
 * callback to hkv_server_watch() (the engine has one watcher).
 * @db may be NULL for a server that only describes its table (hkvctl's help): such a server
 * may be given COMMAND and its subcommands through hkv_server_call(), and commands that the
 * table refuses before running them (unknown name, wrong number of arguments); nothing else.
 * Return: 0 and *@out; -EINVAL (bad configuration, logged), -ENOMEM.
 */
int hkv_server_new(struct hkv *db, const struct hkv_server_config *cfg,
		   struct hkv_server **out);

/**
 * hkv_server_listen() - open the configured sockets (TCP addresses, unix sockets; a stale
 * unix socket file is replaced).
 * Return: 0; -EADDRINUSE, -EACCES, -ENAMETOOLONG or another -errno (logged with the address).
 */
int hkv_server_listen(struct hkv_server *srv);

/**
 * hkv_server_listen_fd() - serve on @fd as well: an already bound and listening stream socket
 * (TCP or unix) that the embedder made, for instance one passed by a service manager. Call
 * before hkv_server_run()/hkv_server_start(), after hkv_server_listen() if the configured
 * sockets are wanted too (run() opens them only when nothing listens yet). The server owns
 * @fd from then on and closes it in hkv_server_free(); nothing is unlinked for a unix
 * socket it did not create.
 * Return: 0; -ENOTSOCK, -EINVAL (not listening), -ENOMEM or another -errno.
 */
int hkv_server_listen_fd(struct hkv_server *srv, int fd);

/**
 * hkv_server_run() - serve until hkv_server_stop(): then stop accepting, run what was already
 * read, send every pending reply (for at most a few seconds), close every client.
 * Return: 0, or a -errno from epoll.
 */
int hkv_server_run(struct hkv_server *srv);

/** hkv_server_start() - hkv_server_run() on a new thread. Return: 0, -errno. */
int hkv_server_start(struct hkv_server *srv);

/**
 * hkv_server_stop() - ask the loop to stop. Async-signal-safe and thread-safe; returns at once.
 * After hkv_server_start(), hkv_server_free() joins the thread.
 */
void hkv_server_stop(struct hkv_server *srv);

/**
 * hkv_server_free() - stop (joining a started thread), close the sockets, remove unix socket
 * files, free everything. The store is not closed. NULL-safe.
 */
void hkv_server_free(struct hkv_server *srv);

/**
 * hkv_server_watch() - the engine's watch callback, to be called (or chained) by the owner of
 * the store: hkv_set_watch(db, hkv_server_watch, srv). Any thread; never blocks on the server.
 */
void hkv_server_watch(void *srv, const void *key, size_t klen, uint64_t version);

/**
 * hkv_server_call() - run one command in-process, as an authenticated client speaking
 * protocol @out->proto, and append its reply to @out. Used by hkvctl on a store it opened
 * itself. Commands that would block return as on timeout; SUBSCRIBE and the like reply with
 * an error. Must not be used concurrently with hkv_server_run() on the same server.
 * Return: 0 (the reply may be an error reply); -ENOMEM.
 */
int hkv_server_call(struct hkv_server *srv, int argc, char **argv, const size_t *argvlen,
		    struct hkv_resp_out *out);

/**
 * hkv_server_cursors_save() - the SCAN cursors (of SCAN, HSCAN, SSCAN, ZSCAN) this server
 * remembers, at most the @max most recently used, as bytes for hkv_server_cursors_load() in a
 * later server over the same store: an embedder whose server lives for one command (hkvctl)
 * keeps them between its runs so that a walk can go on with the cursor the last run printed.
 * The format is native-endian (docs in keyspace.c): keep the bytes on this machine.
 * @out, @outlen: a malloc()ed buffer, owned by the caller (empty when there is no cursor).
 * Not to be used concurrently with hkv_server_run() on the same server.
 * Return: 0; -ENOMEM.
 */
int hkv_server_cursors_save(struct hkv_server *srv, size_t max, void **out, size_t *outlen);

/**
 * hkv_server_cursors_load() - remember the cursors in @buf (from hkv_server_cursors_save()),
 * except those unused for longer than a cursor lives (15 minutes) and ids already known.
 * Same threading rule as hkv_server_cursors_save().
 * Return: 0; -EINVAL (@buf is not what save wrote; cursors before the bad one are kept),
 * -ENOMEM.
 */
int hkv_server_cursors_load(struct hkv_server *srv, const void *buf, size_t len);

/**
 * hkv_server_ext_fn - an embedder's command. @argv[0] is the command name. Writes its reply to
 * @out (exactly one reply). Runs on the server thread.
 */
typedef void (*hkv_server_ext_fn)(void *arg, int argc, char **argv, const size_t *argvlen,
				  struct hkv_resp_out *out);

/**
 * hkv_server_add_command() - add a command to this server's table (the daemon's HKVFS ...).
 * @name:  lower-case name, not one of the built-in commands; copied.
 * @arity: Redis's convention (N exactly, -N at least N, counting the name).
 * @write: the command may change the store (it is then flushed and acknowledged like other
 *         writes).
 * Return: 0; -EEXIST, -EINVAL, -ENOMEM.
 */
int hkv_server_add_command(struct hkv_server *srv, const char *name, int arity, bool write,
			   const char *summary, hkv_server_ext_fn fn, void *arg);

/**
 * struct hkv_hkvfs_hooks - what a mount adds to the HKVFS command (hkv_server_add_hkvfs()).
 * Each hook writes exactly one reply to @out; a NULL hook gives the store-only answer (STATS:
 * the engine's counters and segments; CONFIG and PATH: "ERR not mounted").
 * @stats:  HKVFS STATS.
 * @config: HKVFS CONFIG.
 * @path:   HKVFS PATH @key.
 * @arg:    passed to the hooks.
 */
struct hkv_hkvfs_hooks {
	void (*stats)(void *arg, struct hkv_resp_out *out);
	void (*config)(void *arg, struct hkv_resp_out *out);
	void (*path)(void *arg, const char *key, size_t klen, struct hkv_resp_out *out);
	void *arg;
};

/**
 * hkv_server_add_hkvfs() - add hkvfs's own command, HKVFS STATS|CONFIG|COMPACT [ALL]|SYNC|
 * PATH key|HELP, to @srv over @db (NULL for a server that only describes its table). The
 * daemon passes @hooks for what only a mount has; hkvctl passes NULL. One dispatcher for both,
 * so the doors give the same replies and errors.
 * Return: 0; -EEXIST, -ENOMEM.
 */
int hkv_server_add_hkvfs(struct hkv_server *srv, struct hkv *db,
			 const struct hkv_hkvfs_hooks *hooks);

/**
 * hkv_server_config_set() - CONFIG SET @name @value as a client would (same names and rules).
 * Return: 0; -EINVAL with a message in @err (Redis's CONFIG SET error text).
 */
int hkv_server_config_set(struct hkv_server *srv, const char *name, const char *value,
			  char *err, size_t errlen);

/**
 * hkv_server_config_start() - a parameter given at start (a configuration file, a flag):
 * hkv_server_config_set() for a parameter CONFIG SET may change; for one it may not (Redis's
 * immutable ones: daemonize, databases, logfile...), the value is validated as Redis does and
 * accepted only if it is the one in use, which hkv-server keeps (`--daemonize no` states what
 * it does; `--daemonize yes` is refused rather than ignored).
 * Return: 0; -EINVAL with a message in @err.
 */
int hkv_server_config_start(struct hkv_server *srv, const char *name, const char *value,
			    char *err, size_t errlen);

/**
 * hkv_server_config_known() - whether @name (or its alias) is a parameter of CONFIG GET/SET.
 * Needs no server: for a front end that checks its options before it opens the store.
 */
bool hkv_server_config_known(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* HKV_SERVER_H */
