// SPDX-License-Identifier: MIT
/*
 * config.c - CONFIG GET, CONFIG SET, CONFIG RESETSTAT, CONFIG REWRITE, CONFIG HELP, and
 * hkv_server_config_set() for embedders.
 *
 * One table lists every parameter Redis 7.0 has, with its alias, kind, bounds and default.
 * Parameters fall in two groups:
 *
 *   live      the server reads them (port, requirepass, appendfsync, maxclients, timeout,
 *             notify-keyspace-events, hz, query and bulk limits, output buffer limits,
 *             maxmemory, slowlog...). CONFIG GET reports the value in use and CONFIG SET
 *             changes it at once; those fixed at start (port, bind, unixsocket, dir...) are
 *             immutable, as in Redis.
 *   accepted  knobs of Redis internals that hkvfs does not have (encodings of small
 *             collections, replication, RDB, defragmentation, TLS...). They are validated
 *             exactly as Redis validates them, stored, and reported back, so that clients
 *             and tools that set them keep working; they change nothing in the store. The
 *             encoding thresholds feed OBJECT ENCODING's answer (keyspace.c).
 *
 * CONFIG SET with several pairs is all or nothing: every pair is validated before any is
 * applied, and a duplicate parameter is an error, as in Redis 7.0. Values of "accepted"
 * parameters live in srv->opaque_config (name -> malloc'ed string).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

enum ckind { CK_BOOL, CK_INT, CK_MEM, CK_ENUM, CK_STR, CK_SPECIAL };

enum clive {
	LV_NONE,
	LV_PORT,
	LV_BIND,
	LV_UNIXSOCKET,
	LV_UNIXSOCKETPERM,
	LV_DIR,
	LV_REQUIREPASS,
	LV_APPENDFSYNC,
	LV_APPENDONLY,
	LV_MAXCLIENTS,
	LV_TIMEOUT,
	LV_PROTECTED,
	LV_NOTIFY,
	LV_HZ,
	LV_KEEPALIVE,
	LV_BACKLOG,
	LV_QBUF,
	LV_BULK,
	LV_OBUF,
	LV_MAXMEMORY,
	LV_SLOWLOG_SLOWER,
	LV_SLOWLOG_LEN,
	LV_DATABASES,
	LV_SAVE,
	LV_BUSY_POLL,
};

#define CF_IMMUTABLE 1u
#define CF_HIDDEN 2u /* not matched by a glob in CONFIG GET (Redis's debugging knobs) */

struct cdef {
	const char *name;
	const char *alias;
	enum ckind kind;
	long long min, max;
	const char *enums; /* CK_ENUM: space-separated values */
	const char *def;
	unsigned flags;
	enum clive live;
};

#define B(n, a, d) { n, a, CK_BOOL, 0, 1, NULL, d, 0, LV_NONE }
#define I(n, a, lo, hi, d) { n, a, CK_INT, lo, hi, NULL, d, 0, LV_NONE }
#define M(n, a, lo, hi, d) { n, a, CK_MEM, lo, hi, NULL, d, 0, LV_NONE }
#define E(n, a, v, d) { n, a, CK_ENUM, 0, 0, v, d, 0, LV_NONE }
#define S(n, a, d) { n, a, CK_STR, 0, 0, NULL, d, 0, LV_NONE }
#define IMM(n, a, k, d) { n, a, k, 0, 0, NULL, d, CF_IMMUTABLE, LV_NONE }

static const struct cdef defs[] = {
	/* live */
	{ "port", NULL, CK_INT, 0, 65535, NULL, "6379", 0, LV_PORT },
	{ "bind", NULL, CK_SPECIAL, 0, 0, NULL, "", CF_IMMUTABLE, LV_BIND },
	{ "unixsocket", NULL, CK_STR, 0, 0, NULL, "", CF_IMMUTABLE, LV_UNIXSOCKET },
	{ "unixsocketperm", NULL, CK_INT, 0, 0777, NULL, "0", CF_IMMUTABLE, LV_UNIXSOCKETPERM },
	{ "dir", NULL, CK_SPECIAL, 0, 0, NULL, "", CF_IMMUTABLE, LV_DIR },
	{ "requirepass", NULL, CK_STR, 0, 0, NULL, "", 0, LV_REQUIREPASS },
	{ "appendfsync", NULL, CK_ENUM, 0, 0, "always everysec no", "everysec", 0, LV_APPENDFSYNC },
	{ "appendonly", NULL, CK_BOOL, 0, 1, NULL, "yes", 0, LV_APPENDONLY },
	{ "maxclients", NULL, CK_INT, 1, UINT_MAX, NULL, "10000", 0, LV_MAXCLIENTS },
	{ "timeout", NULL, CK_INT, 0, INT_MAX, NULL, "0", 0, LV_TIMEOUT },
	{ "protected-mode", NULL, CK_BOOL, 0, 1, NULL, "yes", 0, LV_PROTECTED },
	{ "notify-keyspace-events", NULL, CK_SPECIAL, 0, 0, NULL, "", 0, LV_NOTIFY },
	{ "hz", NULL, CK_INT, 0, INT_MAX, NULL, "10", 0, LV_HZ },
	{ "tcp-keepalive", NULL, CK_INT, 0, INT_MAX, NULL, "300", 0, LV_KEEPALIVE },
	{ "tcp-backlog", NULL, CK_INT, 0, INT_MAX, NULL, "511", CF_IMMUTABLE, LV_BACKLOG },
	{ "client-query-buffer-limit", NULL, CK_MEM, 1024 * 1024, LLONG_MAX, NULL, "1073741824", 0,
	  LV_QBUF },
	{ "proto-max-bulk-len", NULL, CK_MEM, 1024 * 1024, LLONG_MAX, NULL, "536870912", 0,
	  LV_BULK },
	{ "client-output-buffer-limit", NULL, CK_SPECIAL, 0, 0, NULL, "", 0, LV_OBUF },
	{ "maxmemory", NULL, CK_MEM, 0, LLONG_MAX, NULL, "0", 0, LV_MAXMEMORY },
	{ "slowlog-log-slower-than", NULL, CK_INT, -1, LLONG_MAX, NULL, "10000", 0,
	  LV_SLOWLOG_SLOWER },
	{ "slowlog-max-len", NULL, CK_INT, 0, LONG_MAX, NULL, "128", 0, LV_SLOWLOG_LEN },
	{ "databases", NULL, CK_INT, 1, INT_MAX, NULL, "1", CF_IMMUTABLE, LV_DATABASES },
	{ "save", NULL, CK_SPECIAL, 0, 0, NULL, "", 0, LV_SAVE },
	/* hkv-server's own: see busy_poll() in server.c */
	{ "busy-poll-us", NULL, CK_INT, 0, 1000, NULL, "50", 0, LV_BUSY_POLL },

	/* accepted: Redis internals hkvfs does not have */
	IMM("rdbchecksum", NULL, CK_BOOL, "yes"), IMM("daemonize", NULL, CK_BOOL, "no"),
	B("io-threads-do-reads", NULL, "no"), IMM("always-show-logo", NULL, CK_BOOL, "no"),
	B("rdbcompression", NULL, "yes"), B("rdb-del-sync-files", NULL, "no"),
	B("activerehashing", NULL, "yes"), B("stop-writes-on-bgsave-error", NULL, "yes"),
	IMM("set-proc-title", NULL, CK_BOOL, "yes"), B("dynamic-hz", NULL, "yes"),
	B("lazyfree-lazy-eviction", NULL, "no"), B("lazyfree-lazy-expire", NULL, "no"),
	B("lazyfree-lazy-server-del", NULL, "no"), B("lazyfree-lazy-user-del", NULL, "no"),
	B("lazyfree-lazy-user-flush", NULL, "no"), B("repl-disable-tcp-nodelay", NULL, "no"),
	B("repl-diskless-sync", NULL, "yes"), B("aof-rewrite-incremental-fsync", NULL, "yes"),
	B("no-appendfsync-on-rewrite", NULL, "no"),
	B("cluster-require-full-coverage", NULL, "yes"),
	B("rdb-save-incremental-fsync", NULL, "yes"), B("aof-load-truncated", NULL, "yes"),
	B("aof-use-rdb-preamble", NULL, "yes"), B("aof-timestamp-enabled", NULL, "no"),
	B("cluster-replica-no-failover", "cluster-slave-no-failover", "no"),
	B("replica-lazy-flush", "slave-lazy-flush", "no"),
	B("replica-serve-stale-data", "slave-serve-stale-data", "yes"),
	B("replica-read-only", "slave-read-only", "yes"),
	B("replica-ignore-maxmemory", "slave-ignore-maxmemory", "yes"),
	B("jemalloc-bg-thread", NULL, "yes"), B("activedefrag", NULL, "no"),
	IMM("syslog-enabled", NULL, CK_BOOL, "no"), B("cluster-allow-reads-when-down", NULL, "no"),
	B("cluster-allow-pubsubshard-when-down", NULL, "yes"),
	B("crash-log-enabled", NULL, "yes"), B("crash-memcheck-enabled", NULL, "yes"),
	{ "use-exit-on-panic", NULL, CK_BOOL, 0, 1, NULL, "no", CF_HIDDEN, LV_NONE }, IMM("disable-thp", NULL, CK_BOOL, "yes"),
	B("cluster-allow-replica-migration", NULL, "yes"), B("replica-announced", NULL, "yes"),
	B("latency-tracking", NULL, "yes"), B("aof-disable-auto-gc", NULL, "no"),
	B("replica-ignore-disk-write-errors", NULL, "no"),
	IMM("cluster-enabled", NULL, CK_BOOL, "no"),
	S("replica-announce-ip", "slave-announce-ip", ""), S("masteruser", NULL, ""),
	S("cluster-announce-ip", NULL, ""), S("cluster-announce-hostname", NULL, ""),
	IMM("syslog-ident", NULL, CK_STR, "redis"), S("dbfilename", NULL, "dump.rdb"),
	IMM("appendfilename", NULL, CK_STR, "appendonly.aof"),
	IMM("appenddirname", NULL, CK_STR, "appendonlydir"),
	IMM("aclfile", NULL, CK_STR, ""), IMM("pidfile", NULL, CK_STR, ""),
	IMM("logfile", NULL, CK_STR, ""), S("ignore-warnings", NULL, ""),
	S("proc-title-template", NULL, "{title} {listen-addr} {server-mode}"),
	S("bind-source-addr", NULL, ""), S("masterauth", NULL, ""),
	E("loglevel", NULL, "debug verbose notice warning", "notice"),
	E("maxmemory-policy", NULL,
	  "volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru allkeys-lfu "
	  "allkeys-random noeviction",
	  "noeviction"),
	E("oom-score-adj", NULL, "no yes relative absolute", "no"),
	E("acl-pubsub-default", NULL, "allchannels resetchannels", "resetchannels"),
	E("sanitize-dump-payload", NULL, "no yes clients", "no"),
	E("repl-diskless-load", NULL, "disabled on-empty-db swapdb", "disabled"),
	E("cluster-preferred-endpoint-type", NULL, "ip hostname unknown-endpoint", "ip"),
	E("propagation-error-behavior", NULL, "ignore panic panic-on-replicas", "ignore"),
	E("shutdown-on-sigint", NULL, "default save nosave now force", "default"),
	E("shutdown-on-sigterm", NULL, "default save nosave now force", "default"),
	I("io-threads", NULL, 1, 128, "1"),
	I("auto-aof-rewrite-percentage", NULL, 0, INT_MAX, "100"),
	I("cluster-replica-validity-factor", "cluster-slave-validity-factor", 0, INT_MAX, "10"),
	I("list-max-listpack-size", "list-max-ziplist-size", INT_MIN, INT_MAX, "-2"),
	I("cluster-migration-barrier", NULL, 0, INT_MAX, "1"),
	I("active-defrag-cycle-min", NULL, 1, 99, "1"),
	I("active-defrag-cycle-max", NULL, 1, 99, "25"),
	I("active-defrag-threshold-lower", NULL, 0, 1000, "10"),
	I("active-defrag-threshold-upper", NULL, 0, 1000, "100"),
	I("lfu-log-factor", NULL, 0, INT_MAX, "10"), I("lfu-decay-time", NULL, 0, INT_MAX, "1"),
	I("replica-priority", "slave-priority", 0, INT_MAX, "100"),
	I("repl-diskless-sync-delay", NULL, 0, INT_MAX, "5"),
	I("maxmemory-samples", NULL, 1, 64, "5"),
	I("maxmemory-eviction-tenacity", NULL, 0, 100, "10"),
	I("replica-announce-port", "slave-announce-port", 0, 65535, "0"),
	I("cluster-announce-bus-port", NULL, 0, 65535, "0"),
	I("cluster-announce-port", NULL, 0, 65535, "0"),
	I("cluster-announce-tls-port", NULL, 0, 65535, "0"),
	I("repl-timeout", NULL, 1, INT_MAX, "60"),
	I("repl-ping-replica-period", "repl-ping-slave-period", 1, INT_MAX, "10"),
	I("list-compress-depth", NULL, 0, INT_MAX, "0"),
	{ "rdb-key-save-delay", NULL, CK_INT, INT_MIN, INT_MAX, NULL, "0", CF_HIDDEN, LV_NONE },
	{ "key-load-delay", NULL, CK_INT, INT_MIN, INT_MAX, NULL, "0", CF_HIDDEN, LV_NONE },
	I("active-expire-effort", NULL, 1, 10, "1"),
	I("min-replicas-to-write", "min-slaves-to-write", 0, INT_MAX, "0"),
	I("min-replicas-max-lag", "min-slaves-max-lag", 0, INT_MAX, "10"),
	{ "watchdog-period", NULL, CK_INT, 0, INT_MAX, NULL, "0", CF_HIDDEN, LV_NONE },
	I("shutdown-timeout", NULL, 0, INT_MAX, "10"),
	I("repl-diskless-sync-max-replicas", NULL, 0, INT_MAX, "0"),
	IMM("socket-mark-id", NULL, CK_INT, "0"),
	I("active-defrag-max-scan-fields", NULL, 1, LONG_MAX, "1000"),
	I("acllog-max-len", NULL, 0, LONG_MAX, "128"),
	I("busy-reply-threshold", "lua-time-limit", 0, LONG_MAX, "5000"),
	I("cluster-node-timeout", NULL, 0, LLONG_MAX, "15000"),
	I("latency-monitor-threshold", NULL, 0, LLONG_MAX, "0"),
	I("stream-node-max-entries", NULL, 0, LLONG_MAX, "100"),
	M("repl-backlog-size", NULL, 1, LLONG_MAX, "1048576"),
	M("cluster-link-sendbuf-limit", NULL, 0, LLONG_MAX, "0"),
	M("hash-max-listpack-entries", "hash-max-ziplist-entries", 0, LONG_MAX, "128"),
	M("set-max-intset-entries", NULL, 0, LONG_MAX, "512"),
	M("zset-max-listpack-entries", "zset-max-ziplist-entries", 0, LONG_MAX, "128"),
	M("active-defrag-ignore-bytes", NULL, 1, LONG_MAX, "104857600"),
	M("hash-max-listpack-value", "hash-max-ziplist-value", 0, LONG_MAX, "64"),
	M("stream-node-max-bytes", NULL, 0, LONG_MAX, "4096"),
	M("zset-max-listpack-value", "zset-max-ziplist-value", 0, LONG_MAX, "64"),
	M("hll-sparse-max-bytes", NULL, 0, LONG_MAX, "3000"),
	M("tracking-table-max-keys", NULL, 0, LONG_MAX, "1000000"),
	M("maxmemory-clients", NULL, 0, LLONG_MAX, "0"),
	I("repl-backlog-ttl", NULL, 0, LONG_MAX, "3600"),
	M("auto-aof-rewrite-min-size", NULL, 0, LLONG_MAX, "67108864"),
	{ "loading-process-events-interval-bytes", NULL, CK_MEM, 1024, INT_MAX, NULL, "2097152", CF_HIDDEN, LV_NONE },
	S("latency-tracking-info-percentiles", NULL, "50 99 99.9"),
	S("oom-score-adj-values", NULL, "0 200 800"),
	IMM("supervised", NULL, CK_ENUM, "no"),
	IMM("syslog-facility", NULL, CK_ENUM, "local0"),
	IMM("enable-protected-configs", NULL, CK_ENUM, "no"),
	IMM("enable-debug-command", NULL, CK_ENUM, "no"),
	IMM("enable-module-command", NULL, CK_ENUM, "no"),
	IMM("cluster-port", NULL, CK_INT, "0"),
	IMM("cluster-config-file", NULL, CK_STR, "nodes.conf"),
	IMM("tls-port", NULL, CK_INT, "0"),
	IMM("replicaof", "slaveof", CK_STR, ""),
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static const struct cdef *def_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcasecmp(defs[i].name, name) ||
		    (defs[i].alias && !strcasecmp(defs[i].alias, name)))
			return &defs[i];
	return NULL;
}

/* The first entry of a name wins (io-threads is listed twice: the later one never answers). */
static bool def_first(const struct cdef *d)
{
	return def_find(d->name) == d;
}

static const char *opaque_get(struct hkv_server *srv, const char *name)
{
	struct dict_entry *e = dict_find(&srv->opaque_config, name, strlen(name));

	return e ? e->val : "";
}

const char *config_get_str(struct hkv_server *srv, const char *name)
{
	return opaque_get(srv, name);
}

static int opaque_put(struct hkv_server *srv, const char *name, const char *val)
{
	char *v = strdup(val);
	struct dict_entry *e;

	if (!v)
		return -ENOMEM;
	e = dict_add(&srv->opaque_config, name, strlen(name), NULL, NULL);
	if (!e) {
		free(v);
		return -ENOMEM;
	}
	free(e->val);
	e->val = v;
	return 0;
}

long long config_get_ll(struct hkv_server *srv, const char *name, long long def)
{
	struct dict_entry *e = dict_find(&srv->opaque_config, name, strlen(name));
	long long v;

	if (!e || !str2ll(e->val, strlen(e->val), &v))
		return def;
	return v;
}

/* Redis's memory units: b, k, kb, m, mb, g, gb (k = 1000, kb = 1024). */
static bool parse_mem(const char *s, long long *out)
{
	size_t n = strlen(s), i = n;
	long long mul = 1, v;
	char *end;

	while (i > 0 && isalpha((unsigned char)s[i - 1]))
		i--;
	if (i < n) {
		const char *u = s + i;

		if (!strcasecmp(u, "b"))
			mul = 1;
		else if (!strcasecmp(u, "k"))
			mul = 1000;
		else if (!strcasecmp(u, "kb"))
			mul = 1024;
		else if (!strcasecmp(u, "m"))
			mul = 1000 * 1000;
		else if (!strcasecmp(u, "mb"))
			mul = 1024 * 1024;
		else if (!strcasecmp(u, "g"))
			mul = 1000LL * 1000 * 1000;
		else if (!strcasecmp(u, "gb"))
			mul = 1024LL * 1024 * 1024;
		else
			return false;
	}
	if (i == 0)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end != s + i)
		return false;
	if (v && (v > LLONG_MAX / mul || v < LLONG_MIN / mul))
		return false;
	*out = v * mul;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes"))
		*out = true;
	else if (!strcasecmp(s, "no"))
		*out = false;
	else
		return false;
	return true;
}

static bool enum_ok(const struct cdef *d, const char *v)
{
	const char *p = d->enums;
	size_t n = strlen(v);

	if (!p) /* an immutable one lists no values: only the value in use is accepted */
		return true;
	while (*p) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncasecmp(p, v, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* client-output-buffer-limit: "<class> <hard> <soft> <seconds>" repeated. */
static int parse_obuf(const char *v, struct hkv_server_obuf_limit *normal,
		      struct hkv_server_obuf_limit *pubsub, const char **why)
{
	char *copy = strdup(v), *save = NULL, *w[64];
	int n = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == 64)
			goto bad;
		w[n++] = t;
	}
	if (n % 4)
		goto bad;
	for (int i = 0; i < n; i += 4) {
		long long hard, soft, secs;
		struct hkv_server_obuf_limit *l = NULL;

		if (!strcasecmp(w[i], "normal"))
			l = normal;
		else if (!strcasecmp(w[i], "pubsub"))
			l = pubsub;
		else if (strcasecmp(w[i], "replica") && strcasecmp(w[i], "slave"))
			goto bad;
		if (!parse_mem(w[i + 1], &hard) || !parse_mem(w[i + 2], &soft) ||
		    !str2ll(w[i + 3], strlen(w[i + 3]), &secs) || hard < 0 || soft < 0 ||
		    secs < 0 || secs > UINT32_MAX)
			goto bad;
		if (l) {
			l->hard = (uint64_t)hard;
			l->soft = (uint64_t)soft;
			l->soft_seconds = (uint32_t)secs;
		}
	}
	free(copy);
	return 0;
bad:
	free(copy);
	*why = "Wrong number of arguments in buffer limit configuration.";
	return -EINVAL;
}

static bool save_ok(const char *v)
{
	char *copy = strdup(v), *save = NULL;
	int n = 0;
	bool ok = true;

	if (!copy)
		return false;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		long long x;

		if (!str2ll(t, strlen(t), &x) || x < 0)
			ok = false;
		n++;
	}
	free(copy);
	return ok && n % 2 == 0;
}

/* The value of @d in use, formatted into @buf (or returned as a borrowed string). */
static const char *config_value(struct hkv_server *srv, const struct cdef *d, char *buf,
				size_t size)
{
	const struct hkv_server_config *cfg = &srv->cfg;

	switch (d->live) {
	case LV_NONE:
		return opaque_get(srv, d->name);
	case LV_PORT:
		snprintf(buf, size, "%d", cfg->port);
		return buf;
	case LV_BIND: {
		size_t off = 0;

		buf[0] = 0;
		for (int i = 0; i < cfg->nbind && off < size; i++)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? " " : "",
						cfg->bind[i]);
		return buf;
	}
	case LV_UNIXSOCKET:
		return cfg->unixsocket ? cfg->unixsocket : "";
	case LV_UNIXSOCKETPERM:
		snprintf(buf, size, "%o", cfg->unixsocketperm);
		return buf;
	case LV_DIR:
		return cfg->dir ? cfg->dir : "";
	case LV_REQUIREPASS:
		return cfg->requirepass ? cfg->requirepass : "";
	case LV_APPENDFSYNC:
		if (cfg->flush == HKV_FLUSH_ENGINE) { /* the daemon: the mount's sync= decides */
			enum hkv_sync p = hkv_sync_policy(srv->db);

			return p == HKV_SYNC_ALWAYS ? "always" : p == HKV_SYNC_NONE ? "no" : "everysec";
		}
		return cfg->flush == HKV_FLUSH_ALWAYS	? "always"
		       : cfg->flush == HKV_FLUSH_NO ? "no"
						    : "everysec";
	case LV_APPENDONLY:
		return "yes";
	case LV_MAXCLIENTS:
		snprintf(buf, size, "%u", cfg->maxclients);
		return buf;
	case LV_TIMEOUT:
		snprintf(buf, size, "%u", cfg->timeout);
		return buf;
	case LV_PROTECTED:
		return cfg->protected_mode ? "yes" : "no";
	case LV_NOTIFY:
		notify_format(srv->notify_flags, buf);
		return buf;
	case LV_HZ:
		snprintf(buf, size, "%u", cfg->hz);
		return buf;
	case LV_KEEPALIVE:
		snprintf(buf, size, "%u", cfg->tcp_keepalive);
		return buf;
	case LV_BACKLOG:
		snprintf(buf, size, "%d", cfg->tcp_backlog);
		return buf;
	case LV_QBUF:
		snprintf(buf, size, "%llu", (unsigned long long)cfg->query_buffer_limit);
		return buf;
	case LV_BULK:
		snprintf(buf, size, "%llu", (unsigned long long)cfg->proto_max_bulk_len);
		return buf;
	case LV_OBUF:
		snprintf(buf, size, "normal %llu %llu %u slave 268435456 67108864 60 pubsub %llu %llu %u",
			 (unsigned long long)cfg->obuf_normal.hard,
			 (unsigned long long)cfg->obuf_normal.soft, cfg->obuf_normal.soft_seconds,
			 (unsigned long long)cfg->obuf_pubsub.hard,
			 (unsigned long long)cfg->obuf_pubsub.soft, cfg->obuf_pubsub.soft_seconds);
		return buf;
	case LV_MAXMEMORY:
		snprintf(buf, size, "%llu", (unsigned long long)srv->maxmemory);
		return buf;
	case LV_SLOWLOG_SLOWER:
		snprintf(buf, size, "%lld", srv->slowlog_slower_than);
		return buf;
	case LV_SLOWLOG_LEN:
		snprintf(buf, size, "%lld", srv->slowlog_max_len);
		return buf;
	case LV_DATABASES:
		return "1";
	case LV_BUSY_POLL:
		snprintf(buf, size, "%u", cfg->busy_poll_us);
		return buf;
	case LV_SAVE:
		return opaque_get(srv, d->name);
	}
	return "";
}

/* A validated new value, applied after every pair of a CONFIG SET passed. */
struct pending {
	const struct cdef *d;
	const char *val;
	long long ll;
	bool b, pct;
	uint32_t notify;
	struct hkv_server_obuf_limit on, op;
};

/* Validate @val for @d, mutable or not. Return: NULL, or the reason (Redis's words). */
static const char *config_check_value(struct hkv_server *srv, const struct cdef *d,
				      const char *val, struct pending *p, char *why,
				      size_t whysize)
{
	const char *w = NULL;

	p->d = d;
	p->val = val;
	switch (d->kind) {
	case CK_BOOL:
		if (!parse_bool(val, &p->b))
			return "argument must be 'yes' or 'no'";
		if (d->live == LV_APPENDONLY && !p->b)
			return "the store always writes its log: appendonly cannot be turned off";
		break;
	case CK_INT:
	case CK_MEM:
		if (!strcmp(d->name, "maxmemory-clients") && *val && val[strlen(val) - 1] == '%') {
			/* a percentage of maxmemory, as Redis */
			if (!str2ll(val, strlen(val) - 1, &p->ll) || p->ll < 0)
				return "argument must be a memory or percent value";
			if (p->ll > 100)
				return "percentage argument must be less or equal to 100";
			p->pct = true;
			break;
		}
		if (d->kind == CK_MEM ? !parse_mem(val, &p->ll)
				      : !str2ll(val, strlen(val), &p->ll)) {
			return d->kind == CK_MEM ? "argument must be a memory value"
						 : "argument couldn't be parsed into an integer";
		}
		if (p->ll < d->min || p->ll > d->max) {
			snprintf(why, whysize, "argument must be between %lld and %lld inclusive",
				 d->min, d->max);
			return why;
		}
		break;
	case CK_ENUM:
		if (!enum_ok(d, val)) {
			size_t off = (size_t)snprintf(why, whysize,
						      "argument(s) must be one of the following: ");

			/* "a b c" is listed as "a, b, c" */
			for (const char *q = d->enums; *q && off + 3 < whysize; q++) {
				if (*q == ' ') {
					why[off++] = ',';
					why[off++] = ' ';
				} else {
					why[off++] = *q;
				}
			}
			why[off] = 0;
			return why;
		}
		break;
	case CK_STR:
		break;
	case CK_SPECIAL:
		switch (d->live) {
		case LV_NOTIFY:
			if (notify_parse(val, strlen(val), &p->notify))
				return "Invalid event class character. Use 'Ag$lshzxeKEtmd'.";
			break;
		case LV_OBUF:
			p->on = srv->cfg.obuf_normal;
			p->op = srv->cfg.obuf_pubsub;
			if (parse_obuf(val, &p->on, &p->op, &w))
				return w ? w : "out of memory";
			break;
		case LV_SAVE:
			if (!save_ok(val))
				return "Invalid save parameters";
			break;
		default:
			break;
		}
		break;
	}
	return NULL;
}

/* Validate @val for @d as CONFIG SET does. Return: NULL, or the reason (Redis's words). */
static const char *config_check(struct hkv_server *srv, const struct cdef *d, const char *val,
				struct pending *p, char *why, size_t whysize)
{
	if (d->flags & CF_IMMUTABLE)
		return "can't set immutable config";
	return config_check_value(srv, d, val, p, why, whysize);
}

/* Hand the hash-max-listpack-* settings to the store, which keeps small hashes in order. */
static void hash_limits_apply(struct hkv_server *srv)
{
	long long ent = config_get_ll(srv, "hash-max-listpack-entries", 128);
	long long val = config_get_ll(srv, "hash-max-listpack-value", 64);

	if (srv->db)
		hkv_hash_limits(srv->db, (uint64_t)(ent < 0 ? 0 : ent),
				(uint64_t)(val < 0 ? 0 : val));
}

static int config_apply(struct hkv_server *srv, const struct pending *p)
{
	struct hkv_server_config *cfg = &srv->cfg;

	switch (p->d->live) {
	case LV_NONE:
	case LV_SAVE: {
		char tmp[64];
		const char *v = p->val;

		/* numbers are kept in their canonical form (memory units expanded) */
		if (p->pct) {
			snprintf(tmp, sizeof(tmp), "%lld%%", p->ll);
			v = tmp;
		} else if (p->d->kind == CK_INT || p->d->kind == CK_MEM) {
			snprintf(tmp, sizeof(tmp), "%lld", p->ll);
			v = tmp;
		} else if (p->d->kind == CK_BOOL) {
			v = p->b ? "yes" : "no";
		}
		if (p->d->kind == CK_ENUM) {
			char low[128];
			size_t i;

			for (i = 0; v[i] && i < sizeof(low) - 1; i++)
				low[i] = (char)tolower((unsigned char)v[i]);
			low[i] = 0;
			return opaque_put(srv, p->d->name, low);
		}
		if (!strncmp(p->d->name, "hash-max-listpack-", 18)) {
			int rc = opaque_put(srv, p->d->name, v);

			if (!rc)
				hash_limits_apply(srv);
			return rc;
		}
		return opaque_put(srv, p->d->name, v);
	}
	case LV_REQUIREPASS: {
		char *pw = *p->val ? strdup(p->val) : NULL;

		if (*p->val && !pw)
			return -ENOMEM;
		free(srv->requirepass);
		srv->requirepass = pw;
		cfg->requirepass = pw;
		return 0;
	}
	case LV_APPENDFSYNC:
		if (!strcasecmp(p->val, "always"))
			cfg->flush = HKV_FLUSH_ALWAYS;
		else if (!strcasecmp(p->val, "no"))
			cfg->flush = HKV_FLUSH_NO;
		else
			cfg->flush = HKV_FLUSH_EVERYSEC;
		server_flush_policy_changed(srv);
		return 0;
	case LV_APPENDONLY:
		return 0;
	case LV_MAXCLIENTS:
		cfg->maxclients = (uint32_t)p->ll;
		return 0;
	case LV_TIMEOUT:
		cfg->timeout = (uint32_t)p->ll;
		return 0;
	case LV_PROTECTED:
		cfg->protected_mode = p->b;
		return 0;
	case LV_NOTIFY:
		srv->notify_flags = p->notify;
		return 0;
	case LV_HZ:
		cfg->hz = p->ll < 1 ? 1 : p->ll > 500 ? 500 : (uint32_t)p->ll;
		return 0;
	case LV_KEEPALIVE:
		cfg->tcp_keepalive = (uint32_t)(p->ll > UINT32_MAX ? UINT32_MAX : p->ll);
		return 0;
	case LV_QBUF:
		cfg->query_buffer_limit = (uint64_t)p->ll;
		return 0;
	case LV_BULK:
		cfg->proto_max_bulk_len = (uint64_t)p->ll;
		for (struct client *c = srv->clients; c; c = c->next)
			c->req.max_bulk = cfg->proto_max_bulk_len;
		return 0;
	case LV_OBUF:
		cfg->obuf_normal = p->on;
		cfg->obuf_pubsub = p->op;
		return 0;
	case LV_MAXMEMORY:
		srv->maxmemory = (uint64_t)p->ll;
		if (srv->maxmemory)
			srv_mem_sample(srv); /* the checks read the sample: take one now */
		return 0;
	case LV_SLOWLOG_SLOWER:
		srv->slowlog_slower_than = p->ll;
		return 0;
	case LV_SLOWLOG_LEN:
		srv->slowlog_max_len = p->ll;
		slowlog_trim(srv);
		return 0;
	case LV_BUSY_POLL:
		cfg->busy_poll_us = (uint32_t)p->ll;
		srv->poll_hot = false;
		return 0;
	default:
		return 0;
	}
}

int config_apply_defaults(struct hkv_server *srv)
{
	for (size_t i = 0; i < NDEFS; i++) {
		int rc;

		if ((defs[i].live != LV_NONE && defs[i].live != LV_SAVE) || !def_first(&defs[i]))
			continue;
		rc = opaque_put(srv, defs[i].name, defs[i].def);
		if (rc)
			return rc;
	}
	srv->slowlog_slower_than = 10000;
	srv->slowlog_max_len = 128;
	hash_limits_apply(srv);
	return 0;
}

static void free_str(void *p)
{
	free(p);
}

void config_free(struct hkv_server *srv)
{
	dict_release(&srv->opaque_config, free_str);
}

/*
 * Validate every pair, then apply them all. Return: 0, or -EINVAL with Redis's message in
 * @err.
 */
static int config_set_pairs(struct hkv_server *srv, int n, char **names, char **vals, char *err,
			    size_t errlen)
{
	struct pending *p = calloc((size_t)n, sizeof(*p));
	char why[512];
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "-OOM out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const struct cdef *d = def_find(names[i]);
		const char *msg;

		if (!d) {
			snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'",
				 names[i]);
			rc = -EINVAL;
			goto out;
		}
		for (int j = 0; j < i; j++) {
			if (p[j].d == d) {
				snprintf(err, errlen,
					 "CONFIG SET failed (possibly related to argument '%s') - "
					 "duplicate parameter",
					 names[i]);
				rc = -EINVAL;
				goto out;
			}
		}
		msg = config_check(srv, d, vals[i], &p[i], why, sizeof(why));
		if (msg) {
			snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s",
				 names[i], msg);
			rc = -EINVAL;
			goto out;
		}
	}
	/* the port first: it is the one change that can fail (a port in use), before any other */
	for (int i = 0; i < n; i++) {
		if (p[i].d->live != LV_PORT)
			continue;
		rc = net_set_port(srv, (int)p[i].ll);
		if (rc) {
			snprintf(err, errlen,
				 "CONFIG SET failed (possibly related to argument '%s') - Unable to "
				 "listen on this port: %s",
				 names[i], strerror(-rc));
			rc = -EINVAL;
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		rc = config_apply(srv, &p[i]);
		if (rc) {
			snprintf(err, errlen, "-OOM out of memory");
			goto out;
		}
	}
out:
	free(p);
	return rc;
}

int hkv_server_config_set(struct hkv_server *srv, const char *name, const char *value,
			  char *err, size_t errlen)
{
	char *n = (char *)name, *v = (char *)value;

	return config_set_pairs(srv, 1, &n, &v, err, errlen);
}

int hkv_server_config_start(struct hkv_server *srv, const char *name, const char *value,
			    char *err, size_t errlen)
{
	const struct cdef *d = def_find(name);
	struct pending p = { 0 };
	char why[512], buf[512];
	const char *msg, *cur;
	long long ll;
	bool b, same;

	if (!d || !(d->flags & CF_IMMUTABLE))
		return hkv_server_config_set(srv, name, value, err, errlen);
	msg = config_check_value(srv, d, value, &p, why, sizeof(why));
	if (!msg) {
		cur = config_value(srv, d, buf, sizeof(buf));
		if (!cur)
			cur = "";
		if (d->kind == CK_BOOL)
			same = parse_bool(cur, &b) && b == p.b;
		else if (d->kind == CK_INT || d->kind == CK_MEM)
			same = (d->kind == CK_MEM ? parse_mem(cur, &ll)
						  : str2ll(cur, strlen(cur), &ll)) && ll == p.ll;
		else
			same = !strcasecmp(cur, value);
		if (!same) {
			snprintf(why, sizeof(why), "hkv-server keeps it at '%s'", cur);
			msg = why;
		}
	}
	if (msg) {
		snprintf(err, errlen, "bad value '%s' for '%s': %s", value, name, msg);
		return -EINVAL;
	}
	return 0;
}

bool hkv_server_config_known(const char *name)
{
	return def_find(name) != NULL;
}

void config_set_command(struct client *c)
{
	int n = (c->argc - 2) / 2;
	char **names, **vals, err[1024];

	if ((c->argc - 2) % 2) {
		add_err_arity(c);
		return;
	}
	names = malloc((size_t)n * 2 * sizeof(char *));
	if (!names) {
		add_error(c, "-OOM out of memory");
		return;
	}
	vals = names + n;
	for (int i = 0; i < n; i++) {
		names[i] = c->argv[2 + 2 * i];
		vals[i] = c->argv[3 + 2 * i];
	}
	if (config_set_pairs(c->srv, n, names, vals, err, sizeof(err)))
		add_error(c, err);
	else
		add_ok(c);
	free(names);
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

void config_get_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	bool *seen = calloc(NDEFS * 2, sizeof(bool));
	size_t pos;
	long long n = 0;
	char buf[1024];

	if (!seen) {
		add_error(c, "-OOM out of memory");
		return;
	}
	pos = add_deferred(c);
	for (int a = 2; a < c->argc; a++) {
		const char *pat = c->argv[a];
		size_t plen = c->argvlen[a];

		for (size_t i = 0; i < NDEFS; i++) {
			const struct cdef *d = &defs[i];
			const char *names[2] = { d->name, d->alias };

			if (!def_first(d) || ((d->flags & CF_HIDDEN) && has_glob(pat)))
				continue;
			for (int k = 0; k < 2; k++) {
				if (!names[k] || seen[i * 2 + k])
					continue;
				if (has_glob(pat) ? !srv_glob_match(pat, plen, names[k], strlen(names[k]),
								true)
						  : strcasecmp(pat, names[k]))
					continue;
				seen[i * 2 + k] = true;
				add_bulk_str(c, names[k]);
				add_bulk_str(c, config_value(srv, d, buf, sizeof(buf)));
				n++;
			}
		}
	}
	set_deferred(c, pos, c->out.proto == 3 ? '%' : '*', c->out.proto == 3 ? n : n * 2);
	free(seen);
}

void config_resetstat_command(struct client *c)
{
	stats_reset(c->srv);
	add_ok(c);
}

void config_rewrite_command(struct client *c)
{
	/* hkv-server's configuration comes from its command line and a file it does not own */
	add_error(c, "CONFIG REWRITE is not supported: hkv-server never rewrites its "
		     "configuration file");
}

void config_help_command(struct client *c)
{
	static const char *const help[] = {
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}
