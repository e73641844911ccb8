// SPDX-License-Identifier: MIT
/*
 * be_redis.c - the filesystem over a Redis Cluster or a standalone Redis (backend.h), through
 * the hkv-remote client (hkv/cluster.h). This file holds opening (source, credentials, slot
 * tags), the command plumbing, the keyspace operations, strings, attributes, extended
 * attributes and the watch; be_redis_coll.c holds the collections, be_redis_scan.c listing.
 *
 * The data stays Redis data (docs/remote.md has the full table): a string key is a Redis
 * string, a hash a hash, a list a list, a set a set, a sorted set a zset, under the key's own
 * name. What Redis has no place for lives beside the key, in the key's slot, under two
 * reserved names built from a slot tag TAG (a short brace-free string whose CRC16 slot is the
 * key's slot, from a table computed identically by every mount):
 *
 *   {TAG}hkvfs.meta:KEY   hash: mode, uid, gid, mtime, ctime (ns), x:NAME (extended attrs)
 *   {TAG}hkvfs.empty:KEY  string holding a type name: an empty collection (Redis deletes a
 *                         collection with its last element; the filesystem keeps the
 *                         directory), present only while KEY itself is absent
 *
 * Invariants:
 *  - The key's existence and type are Redis's: KEY exists, or (only when KEY is absent) the
 *    marker does. Metadata without its key is stale (another client deleted the key) and is
 *    ignored by every read and deleted by the next attribute read of that name; a marker
 *    beside an existing KEY is stale too and deleted the same way.
 *  - Every change of KEY through the mount and of its metadata is one Lua script on KEY's
 *    slot (EVAL: atomic); the metadata's TTL is set from KEY's in the same script, so they
 *    expire together.
 *  - Absent metadata means the mount's defaults: uid=, gid=, 0666/0777 & ~umask, the mount
 *    time. A client that knows nothing of hkvfs never needs the reserved names.
 *
 * Versions (hkvfs_be_version()): @vclock numbers every change this mount reports. A change
 * made through the mount is reported with the next value; a change learnt from the tracking
 * connection (any client, any host, or this mount's own write echoed back) is reported with
 * version 0 ("gone", so the kernel drops the name as well). Attributes report the counter as
 * it was before the read, so a read that misses a change reports a lower version (rule (2) of
 * backend.h), and one that sees it reports at least its version.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "be_redis_int.h"

/* ---------------------------------------------------------------------------------------- */
/* small helpers                                                                            */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rbe_logf(struct rbe *r, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->log(r->log_arg, level, msg);
}

/* one line per failure cause and second: a dead node fails every call for a while */
static void log_fail(struct rbe *r, int err, const char *what)
{
	int64_t s = now_ns() / 1000000000;
	bool say;

	pthread_mutex_lock(&r->log_lock);
	say = err != r->last_log_err || s != r->last_log_s;
	r->last_log_err = err;
	r->last_log_s = s;
	pthread_mutex_unlock(&r->log_lock);
	if (say)
		rbe_logf(r, 0, "redis: %s failed: %s", what, strerror(-err));
}

void rbe_cmd_init(struct rbe_cmd *c, const char *name)
{
	c->argc = 0;
	c->nnum = 0;
	rbe_arg_str(c, name);
}

void rbe_arg(struct rbe_cmd *c, const void *p, size_t n)
{
	if (c->argc >= RBE_ARGS)
		return; /* callers stay below; a bad count shows as a Redis arity error */
	c->argv[c->argc] = p ? p : "";
	c->len[c->argc] = n;
	c->argc++;
}

void rbe_arg_str(struct rbe_cmd *c, const char *s)
{
	rbe_arg(c, s, strlen(s));
}

void rbe_arg_ll(struct rbe_cmd *c, long long v)
{
	char *b = c->num[c->nnum++ % 12];

	snprintf(b, 32, "%lld", v);
	rbe_arg_str(c, b);
}

void rbe_arg_dbl(struct rbe_cmd *c, double v)
{
	char *b = c->num[c->nnum++ % 12];

	if (isinf(v))
		snprintf(b, 32, "%s", v > 0 ? "+inf" : "-inf");
	else
		snprintf(b, 32, "%.17g", v);
	rbe_arg_str(c, b);
}

long long rbe_int(const struct hkv_resp_value *v)
{
	if (!v)
		return 0;
	if (v->type == HKV_RESP_INTEGER)
		return v->integer;
	if (v->type == HKV_RESP_BULK || v->type == HKV_RESP_STATUS)
		return strtoll(v->str, NULL, 10);
	return 0;
}

int rbe_buf(const struct hkv_resp_value *v, struct hkv_buf *out)
{
	out->data = NULL;
	out->len = 0;
	if (!v || v->type == HKV_RESP_NULL)
		return -ENOENT;
	if (v->type != HKV_RESP_BULK && v->type != HKV_RESP_STATUS)
		return -EIO;
	out->data = malloc(v->len + 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, v->str, v->len);
	((char *)out->data)[v->len] = 0;
	out->len = v->len;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* reserved names                                                                           */

static int names_make(struct rbe *r, const void *key, size_t klen, const char *sfx, char **out,
		      size_t *olen)
{
	const char *tag = r->tags[hkv_cluster_keyslot(key, klen)];
	size_t tl = strlen(tag), sl = strlen(sfx), n = 2 + tl + sl + klen;
	char *p = malloc(n + 1);

	if (!p)
		return -ENOMEM;
	p[0] = '{';
	memcpy(p + 1, tag, tl);
	p[1 + tl] = '}';
	memcpy(p + 2 + tl, sfx, sl);
	memcpy(p + 2 + tl + sl, key, klen);
	p[n] = 0;
	*out = p;
	*olen = n;
	return 0;
}

int rbe_keys_init(struct rbe *r, struct rbe_keys *ks, const void *key, size_t klen)
{
	int rc;

	memset(ks, 0, sizeof(*ks));
	if (klen < 1 || klen > HKV_KEY_MAX)
		return -EINVAL;
	ks->k = key;
	ks->klen = klen;
	rc = names_make(r, key, klen, RBE_META_SFX, &ks->m, &ks->mlen);
	if (!rc)
		rc = names_make(r, key, klen, RBE_EMPTY_SFX, &ks->e, &ks->elen);
	if (rc)
		rbe_keys_release(ks);
	return rc;
}

void rbe_keys_release(struct rbe_keys *ks)
{
	free(ks->m);
	free(ks->e);
	ks->m = ks->e = NULL;
}

const unsigned char *rbe_reserved_key(struct rbe *r, const void *name, size_t len,
				      size_t *klen, bool *is_empty_marker)
{
	const unsigned char *p = name, *close;
	size_t tl, ml = strlen(RBE_META_SFX), el = strlen(RBE_EMPTY_SFX), off;
	bool emp;

	if (len < 3 || p[0] != '{')
		return NULL;
	close = memchr(p + 1, '}', len - 1 < RBE_TAG_MAX + 1 ? len - 1 : RBE_TAG_MAX + 1);
	if (!close || close == p + 1)
		return NULL;
	tl = (size_t)(close - p) - 1;
	off = tl + 2;
	if (len - off > ml && memcmp(p + off, RBE_META_SFX, ml) == 0) {
		emp = false;
		off += ml;
	} else if (len - off > el && memcmp(p + off, RBE_EMPTY_SFX, el) == 0) {
		emp = true;
		off += el;
	} else {
		return NULL;
	}
	/* only the canonical tag of the key's slot makes a reserved name */
	{
		const char *tag = r->tags[hkv_cluster_keyslot(p + off, len - off)];

		if (strlen(tag) != tl || memcmp(tag, p + 1, tl))
			return NULL;
	}
	*klen = len - off;
	if (is_empty_marker)
		*is_empty_marker = emp;
	return p + off;
}

/*
 * One tag per slot: the first strings in the order "0".."9","a".."z", then two characters,
 * and so on, that hash to each slot. Deterministic, so every mount (and any tool) computes the
 * same table; 4 characters cover every slot.
 */
static void tags_build(struct rbe *r)
{
	static const char al[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned filled = 0, len, idx[RBE_TAG_MAX], i, s;
	char buf[RBE_TAG_MAX + 1];

	memset(r->tags, 0, sizeof(r->tags));
	for (len = 1; len <= RBE_TAG_MAX && filled < HKV_CLUSTER_SLOTS; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			for (i = 0; i < len; i++)
				buf[i] = al[idx[i]];
			buf[len] = 0;
			s = hkv_cluster_keyslot(buf, len);
			if (!r->tags[s][0]) {
				memcpy(r->tags[s], buf, len + 1);
				if (++filled == HKV_CLUSTER_SLOTS)
					return;
			}
			for (i = len; i-- > 0;) {
				if (++idx[i] < sizeof(al) - 1)
					break;
				idx[i] = 0;
			}
			if (i == (unsigned)-1)
				break;
		}
	}
}

/* ---------------------------------------------------------------------------------------- */
/* commands                                                                                 */

static bool prefix_is(const struct hkv_resp_value *v, const char *p)
{
	return strncmp(v->str, p, strlen(p)) == 0;
}

/* a Redis error reply (or one of our scripts' "HKVFS E..." codes) as -errno */
static int reply_errno(struct rbe *r, const struct hkv_resp_value *v, const char *what)
{
	static const struct {
		const char *p;
		int err;
	} map[] = {
		{ "HKVFS ENOENT", -ENOENT }, { "HKVFS EEXIST", -EEXIST },
		{ "HKVFS EWRONGTYPE", -HKV_EWRONGTYPE }, { "HKVFS ENODATA", -ENODATA },
		{ "HKVFS ERANGE", -ERANGE }, { "HKVFS E2BIG", -E2BIG },
		{ "HKVFS EINVAL", -EINVAL }, { "HKVFS EPERM", -EPERM }, { "WRONGTYPE", -HKV_EWRONGTYPE },
		{ "ERR no such key", -ENOENT }, { "ERR index out of range", -ERANGE },
		{ "ERR value is not a valid float", -HKV_ENOTFLOAT },
		{ "ERR resulting score is not a number", -HKV_ENOSCORE },
		{ "ERR value is not an integer", -HKV_ENOTINT },
		{ "ERR string exceeds maximum allowed size", -EFBIG },
		{ "OOM", -ENOSPC }, { "READONLY", -EROFS }, { "NOPERM", -EACCES },
		{ "NOAUTH", -EACCES },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (prefix_is(v, map[i].p))
			return map[i].err;
	rbe_logf(r, 0, "redis: %s: unexpected error reply: %.200s", what, v->str);
	return -EIO;
}

int rbe_run(struct rbe *r, const void *key, size_t klen, bool write, const struct rbe_cmd *c,
	    struct hkv_resp_value **reply, const char *what)
{
	struct hkv_resp_value *v = NULL;
	int rc;

	if (write && r->opts->ro)
		return -EROFS;
	if (write) {
		struct hkv_cluster_cmd cmd = { c->argc, c->argv, c->len };

		rc = hkv_cluster_pipeline(r->cl, key, klen,
					  r->opts->sync_replicas ? HKV_CLUSTER_WAIT : 0, 1, &cmd,
					  &v);
		if (rc == -EIO && r->opts->sync_replicas)
			rbe_logf(r, 0, "redis: %s: not acknowledged by a replica (sync=replicas)",
				 what);
	} else {
		rc = hkv_cluster_call(r->cl, key, klen, c->argc, c->argv, c->len, &v);
	}
	if (rc) {
		/* backend.h's vocabulary: a node that refuses connections is unreachable */
		if (rc == -ECONNREFUSED)
			rc = -EHOSTUNREACH;
		log_fail(r, rc, what);
		return rc;
	}
	if (v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR) {
		rc = reply_errno(r, v, what);
		hkv_resp_value_free(v);
		return rc;
	}
	*reply = v;
	return 0;
}

int rbe_eval(struct rbe *r, const struct rbe_keys *ks, bool write, const char *script,
	     const struct hkv_create_attr *ca, int nextra, const void *const *extra,
	     const size_t *extralen, struct hkv_resp_value **reply, const char *what)
{
	struct rbe_cmd c;
	int i;

	if (nextra > RBE_ARGS - 10)
		return -EINVAL;
	rbe_cmd_init(&c, "EVAL");
	rbe_arg_str(&c, script);
	rbe_arg_str(&c, "3");
	rbe_arg(&c, ks->k, ks->klen);
	rbe_arg(&c, ks->m, ks->mlen);
	rbe_arg(&c, ks->e, ks->elen);
	rbe_arg_ll(&c, now_ns());
	if (ca) {
		rbe_arg_ll(&c, ca->mode & 07777);
		rbe_arg_ll(&c, ca->uid);
		rbe_arg_ll(&c, ca->gid);
	} else {
		rbe_arg_str(&c, "");
		rbe_arg_str(&c, "");
		rbe_arg_str(&c, "");
	}
	for (i = 0; i < nextra; i++)
		rbe_arg(&c, extra[i], extralen[i]);
	return rbe_run(r, ks->k, ks->klen, write, &c, reply, what);
}

/*
 * The Lua prelude. KEYS[1] the key, KEYS[2] its metadata hash, KEYS[3] its empty-collection
 * marker; ARGV[1] now (ns), ARGV[2..4] mode, uid, gid for a key this script creates ("" for
 * the mount's defaults).
 *   ktype()        the key's type name and whether it is only a marker (empty collection)
 *   wmeta(created) metadata after a write: a created key's stale metadata is dropped and its
 *                  owner and mode recorded; mtime and ctime become now
 *   syncttl(src)   the metadata and marker get @src's expiry
 *   materialize()  a write into an empty collection: drop the marker, keep its expiry for
 *                  the key (call fin() after the write)
 */
#define LUA_PRELUDE                                                                          \
	"local k, m, e = KEYS[1], KEYS[2], KEYS[3]\n"                                        \
	"local now = ARGV[1]\n"                                                              \
	"local function ktype()\n"                                                           \
	"  local t = redis.call('TYPE', k)['ok']\n"                                          \
	"  if t ~= 'none' then return t, false end\n"                                        \
	"  local x = redis.call('GET', e)\n"                                                 \
	"  if x then return x, true end\n"                                                   \
	"  return 'none', false\n"                                                           \
	"end\n"                                                                              \
	"local function wmeta(created)\n"                                                    \
	"  if created then\n"                                                                \
	"    redis.call('DEL', m)\n"                                                         \
	"    if ARGV[2] ~= '' then redis.call('HSET', m, 'mode', ARGV[2], 'uid', ARGV[3], "  \
	"'gid', ARGV[4]) end\n"                                                              \
	"  end\n"                                                                            \
	"  redis.call('HSET', m, 'mtime', now, 'ctime', now)\n"                              \
	"end\n"                                                                              \
	"local function syncttl(src)\n"                                                      \
	"  local p = redis.call('PTTL', src)\n"                                              \
	"  for _, x in ipairs({m, e}) do\n"                                                  \
	"    if x ~= src then\n"                                                             \
	"      if p > 0 then redis.call('PEXPIRE', x, p) elseif p == -1 then "               \
	"redis.call('PERSIST', x) end\n"                                                     \
	"    end\n"                                                                          \
	"  end\n"                                                                            \
	"end\n"                                                                              \
	"local mat_ttl = -1\n"                                                               \
	"local function materialize(emp)\n"                                                  \
	"  if emp then mat_ttl = redis.call('PTTL', e); redis.call('DEL', e) end\n"          \
	"end\n"                                                                              \
	"local function fin(created)\n"                                                      \
	"  wmeta(created)\n"                                                                 \
	"  if mat_ttl > 0 then redis.call('PEXPIRE', k, mat_ttl) end\n"                      \
	"  syncttl(k)\n"                                                                     \
	"end\n"                                                                              \
	"local function gone()\n"                                                            \
	"  if redis.call('EXISTS', k) == 0 then redis.call('DEL', m); return 1 end\n"        \
	"  redis.call('HSET', m, 'mtime', now, 'ctime', now); syncttl(k); return 0\n"        \
	"end\n"

const char rbe_lua_prelude[] = LUA_PRELUDE;

/* ---------------------------------------------------------------------------------------- */
/* watch                                                                                    */

static void emit(struct rbe *r, const void *key, size_t klen, uint64_t version)
{
	pthread_rwlock_rdlock(&r->watch_lock);
	if (r->watch)
		r->watch(r->watch_arg, key, klen, version);
	pthread_rwlock_unlock(&r->watch_lock);
}

void rbe_changed(struct rbe *r, const void *key, size_t klen, bool deleted)
{
	uint64_t v = atomic_fetch_add(&r->vclock, 1) + 1;

	emit(r, key, klen, deleted ? 0 : v);
}

/* from the tracking thread: another client (or this mount, echoed) changed @key */
static void track_cb(void *arg, const void *key, size_t klen)
{
	struct rbe *r = arg;
	const unsigned char *uk;
	size_t ulen;

	atomic_fetch_add(&r->vclock, 1);
	if (!key) {
		emit(r, NULL, 0, 0);
		return;
	}
	uk = rbe_reserved_key(r, key, klen, &ulen, NULL);
	if (uk)
		emit(r, uk, ulen, 0);
	else
		emit(r, key, klen, 0);
}

static void rbe_set_watch(struct hkvfs_be *be, hkvfs_be_watch_fn fn, void *arg)
{
	struct rbe *r = rbe_of(be);

	pthread_rwlock_wrlock(&r->watch_lock);
	r->watch = fn;
	r->watch_arg = arg;
	pthread_rwlock_unlock(&r->watch_lock);
}

/* ---------------------------------------------------------------------------------------- */
/* open and close                                                                           */

static void cl_log(void *arg, int level, const char *msg)
{
	struct rbe *r = arg;
	int lv = level <= HKV_CLUSTER_LOG_ERR ? 0 : level == HKV_CLUSTER_LOG_WARN ? 1
		 : level == HKV_CLUSTER_LOG_INFO ? 2 : 3;

	rbe_logf(r, lv, "redis: %s", msg);
}

/* "redis://HOST:PORT[,HOST:PORT...]" -> "HOST:PORT,..." with every element checked */
static int source_seeds(struct rbe *r, const char *source, char **out)
{
	const char *p = source + strlen("redis://");
	char *s, *tok, *save = NULL, *copy;
	int n = 0;

	if (strncasecmp(source, "redis://", 8) || !*p) {
		rbe_logf(r, 0, "%s: expected redis://HOST:PORT[,HOST:PORT...]", source);
		return -EINVAL;
	}
	if (strpbrk(p, "/@?#")) {
		rbe_logf(r, 0, "%s: a user, a password, a path or parameters in the source are "
			 "not accepted (use -o user=,credentials=)", source);
		return -EINVAL;
	}
	copy = strdup(p);
	s = strdup(p);
	if (!copy || !s) {
		free(copy);
		free(s);
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':'), *end;
		long port;

		if (!colon || colon == tok || (tok[0] == '[' && colon[-1] != ']'))
			goto bad;
		port = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || port < 1 || port > 65535)
			goto bad;
		n++;
		continue;
bad:
		rbe_logf(r, 0, "%s: '%s' is not HOST:PORT (port 1..65535, [ADDR]:PORT for IPv6)",
			 source, tok);
		free(copy);
		free(s);
		return -EINVAL;
	}
	free(copy);
	if (!n) {
		rbe_logf(r, 0, "%s: no HOST:PORT", source);
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/*
 * The password file of credentials=: a regular file owned by root or by the daemon's user,
 * readable by its owner only; its first line is the password.
 */
static int read_credentials(struct rbe *r, const char *path, char **out)
{
	struct stat st;
	char buf[1024];
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		rbe_logf(r, 0, "credentials=%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rbe_logf(r, 0, "credentials=%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rbe_logf(r, 0, "credentials=%s: refused: owned by uid %u, not by root or the "
			 "daemon's user (uid %u)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		rc = -EACCES;
		goto out;
	}
	if (st.st_mode & 077) {
		rbe_logf(r, 0, "credentials=%s: refused: mode %04o lets the group or others read "
			 "it (chmod 600)", path, (unsigned)(st.st_mode & 07777));
		rc = -EACCES;
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		rc = -errno;
		rbe_logf(r, 0, "credentials=%s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		rbe_logf(r, 0, "credentials=%s: the first line (the password) is empty", path);
		rc = -EINVAL;
		goto out;
	}
	*out = strdup(buf);
	if (!*out)
		rc = -ENOMEM;
out:
	memset(buf, 0, sizeof(buf));
	close(fd);
	return rc;
}

static int rbe_close(struct hkvfs_be *be)
{
	struct rbe *r = rbe_of(be);

	rbe_set_watch(be, NULL, NULL);
	hkv_cluster_close(r->cl);
	rbe_walks_free(r);
	pthread_rwlock_destroy(&r->watch_lock);
	pthread_mutex_destroy(&r->walk_lock);
	pthread_mutex_destroy(&r->log_lock);
	free(r);
	return 0;
}

int hkvfs_be_redis_open(const char *source, const struct hkvfs_be_args *args,
			struct hkvfs_be **out)
{
	struct hkv_cluster_opts co = { 0 };
	char *seeds = NULL, *password = NULL;
	struct rbe *r;
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->be.ops = &rbe_ops;
	r->be.caps = 0;
	r->opts = args->opts;
	r->log = args->log;
	r->log_arg = args->log_arg;
	r->mount_ns = now_ns();
	pthread_rwlock_init(&r->watch_lock, NULL);
	pthread_mutex_init(&r->walk_lock, NULL);
	pthread_mutex_init(&r->log_lock, NULL);
	rc = source_seeds(r, source, &seeds);
	if (rc)
		goto out_free;
	if (hkvfs_opts_refused(r->opts, HKVFS_OPTS_LOCAL)) {
		rbe_logf(r, 0, "option %s is for a local store directory, not a redis:// source "
			 "(Redis's own configuration decides persistence; there is no RESP listener)",
			 hkvfs_opts_refused(r->opts, HKVFS_OPTS_LOCAL));
		rc = -EINVAL;
		goto out_free;
	}
	if (r->opts->user[0] && !r->opts->credentials[0]) {
		rbe_logf(r, 0, "user=%s needs credentials=FILE (the password)", r->opts->user);
		rc = -EINVAL;
		goto out_free;
	}
	if (r->opts->credentials[0]) {
		rc = read_credentials(r, r->opts->credentials, &password);
		if (rc)
			goto out_free;
	}
	tags_build(r);
	co.seeds = seeds;
	co.user = r->opts->user[0] ? r->opts->user : NULL;
	co.password = password;
	co.io_timeout_ms = (int)r->opts->timeout_ms;
	co.connect_timeout_ms = r->opts->timeout_ms < 1000 ? (int)r->opts->timeout_ms : 1000;
	co.wait_replicas = 1;
	co.wait_timeout_ms = r->opts->timeout_ms / 2 ? (int)r->opts->timeout_ms / 2 : 1;
	co.log = cl_log;
	co.log_arg = r;
	co.log_level = r->opts->loglevel >= 3 ? HKV_CLUSTER_LOG_DEBUG : HKV_CLUSTER_LOG_INFO;
	rc = hkv_cluster_open(&r->cl, &co);
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	if (rc) {
		rbe_logf(r, 0, "redis: cannot reach %s: %s", seeds, strerror(-rc));
		goto out_free;
	}
	rc = hkv_cluster_track(r->cl, track_cb, r);
	if (rc) {
		rbe_logf(r, 0, "redis: cannot start invalidation tracking: %s", strerror(-rc));
		hkv_cluster_close(r->cl);
		goto out_free;
	}
	rbe_logf(r, 2, "redis: %s %s (timeout_ms=%u%s)", hkv_cluster_is_cluster(r->cl)
		 ? "cluster" : "standalone server", seeds, r->opts->timeout_ms,
		 r->opts->sync_replicas ? ", sync=replicas" : "");
	free(seeds);
	*out = &r->be;
	return 0;

out_free:
	free(seeds);
	pthread_rwlock_destroy(&r->watch_lock);
	pthread_mutex_destroy(&r->walk_lock);
	pthread_mutex_destroy(&r->log_lock);
	free(r);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* whole-store operations                                                                   */

static int rbe_session_begin(struct hkvfs_be *be)
{
	(void)be;
	return 0;
}

static void rbe_session_end(struct hkvfs_be *be)
{
	(void)be;
}

/* one deadline, timeout_ms from now, for every call of this thread until the end */
static void rbe_request_begin(struct hkvfs_be *be)
{
	struct rbe *r = rbe_of(be);

	hkv_cluster_request_begin(r->cl, (int)r->opts->timeout_ms);
}

static void rbe_request_end(struct hkvfs_be *be)
{
	hkv_cluster_request_end(rbe_of(be)->cl);
}

static struct hkv *rbe_engine(struct hkvfs_be *be)
{
	(void)be;
	return NULL;
}

/*
 * Every write returned only after Redis acknowledged it (and, with sync=replicas, after WAIT
 * saw a replica take it): there is nothing left to flush.
 */
static int rbe_sync(struct hkvfs_be *be)
{
	(void)be;
	return 0;
}

static int rbe_stats_get(struct hkvfs_be *be, struct hkv_stats *out)
{
	(void)be;
	memset(out, 0, sizeof(*out));
	return -EOPNOTSUPP;
}

static uint64_t rbe_version(struct hkvfs_be *be)
{
	return atomic_load(&rbe_of(be)->vclock);
}

/* no transactions across keys: a grouping (backend.h, without HKVFS_BE_CAP_TXN) */
static int rbe_txn_run(struct hkvfs_be *be, hkvfs_be_txn_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	return fn(be, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* keyspace                                                                                 */

static int eval_simple(struct rbe *r, const void *key, size_t klen, bool write,
		       const char *script, const struct hkv_create_attr *ca, int nextra,
		       const void *const *extra, const size_t *extralen,
		       struct hkv_resp_value **reply, const char *what)
{
	struct rbe_keys ks;
	int rc;

	rc = rbe_keys_init(r, &ks, key, klen);
	if (rc)
		return rc;
	rc = rbe_eval(r, &ks, write, script, ca, nextra, extra, extralen, reply, what);
	rbe_keys_release(&ks);
	return rc;
}

/*
 * Run a write script on @key whose answer carries nothing (a Redis error reply is the failure):
 * the key changed and is still there, which the watch hears. Returns 0 or -errno.
 */
static int eval_write(struct rbe *r, const void *key, size_t klen, const char *script,
		      int nextra, const void *const *extra, const size_t *extralen,
		      const char *what)
{
	struct hkv_resp_value *v;
	int rc;

	rc = eval_simple(r, key, klen, true, script, NULL, nextra, extra, extralen, &v, what);
	if (rc)
		return rc;
	hkv_resp_value_free(v);
	rbe_changed(r, key, klen, false);
	return 0;
}

/* the type; metadata whose key is gone is stale: dropped here, as by the attribute read */
static const char lua_type[] = LUA_PRELUDE
	"local t = ktype()\n"
	"if t == 'none' and ARGV[5] == 'c' and redis.call('EXISTS', m) == 1 then "
	"redis.call('DEL', m) end\n"
	"return t\n";

/* ARGV[5] of the reading scripts: "c" when they may delete stale names (not on -o ro) */
static const char *cleanup_arg(struct rbe *r)
{
	return r->opts->ro ? "" : "c";
}

static int type_parse(const struct hkv_resp_value *v)
{
	enum hkv_type t;

	if (!v || (v->type != HKV_RESP_BULK && v->type != HKV_RESP_STATUS))
		return -EIO;
	if (strcmp(v->str, "none") == 0)
		return HKV_TYPE_NONE;
	t = hkv_type_parse(v->str, v->len);
	/* streams and module types have no layout: the mount does not show them */
	return t == HKV_TYPE_STREAM ? HKV_TYPE_NONE : t;
}

static int rbe_type(struct hkvfs_be *be, const void *key, size_t klen)
{
	const char *c = cleanup_arg(rbe_of(be));
	const void *x[1] = { c };
	size_t xl[1] = { strlen(c) };
	struct hkv_resp_value *v;
	int rc;

	rc = eval_simple(rbe_of(be), key, klen, false, lua_type, NULL, 1, x, xl, &v, "TYPE");
	if (rc)
		return rc;
	rc = type_parse(v);
	hkv_resp_value_free(v);
	return rc;
}

static int rbe_exists(struct hkvfs_be *be, const void *key, size_t klen)
{
	int t = rbe_type(be, key, klen);

	return t < 0 ? t : t != HKV_TYPE_NONE;
}

static const char lua_del[] = LUA_PRELUDE
	"local t = ktype()\n"
	"redis.call('DEL', k, m, e)\n"
	"if t == 'none' then return 0 end\n"
	"return 1\n";

/*
 * Run a write script on @key that answers 1 (changed) or 0 (nothing to do); a change is
 * reported to the watch (@gone: the key no longer exists). Returns that answer or -errno.
 */
static int eval_changed(struct rbe *r, const void *key, size_t klen, const char *script,
			const char *what, bool gone)
{
	struct hkv_resp_value *v;
	int rc;

	rc = eval_simple(r, key, klen, true, script, NULL, 0, NULL, NULL, &v, what);
	if (rc)
		return rc;
	rc = (int)rbe_int(v);
	hkv_resp_value_free(v);
	if (rc)
		rbe_changed(r, key, klen, gone);
	return rc;
}

static int rbe_del(struct hkvfs_be *be, const void *key, size_t klen)
{
	return eval_changed(rbe_of(be), key, klen, lua_del, "DEL", true);
}

static const char lua_create[] = LUA_PRELUDE
	"local t = ktype()\n"
	"if t ~= 'none' then return redis.error_reply('HKVFS EEXIST') end\n"
	"if ARGV[5] == 'string' then redis.call('SET', k, '') else redis.call('SET', e, ARGV[5]) end\n"
	"wmeta(true)\n"
	"syncttl(ARGV[5] == 'string' and k or e)\n"
	"return 1\n";

static int rbe_create(struct hkvfs_be *be, const void *key, size_t klen, enum hkv_type type,
		      const struct hkv_create_attr *ca)
{
	struct rbe *r = rbe_of(be);
	const char *tn = hkv_type_name(type);
	const void *x[1] = { tn };
	size_t xl[1] = { strlen(tn) };
	struct hkv_resp_value *v;
	int rc;

	if (type < HKV_TYPE_STRING || type > HKV_TYPE_ZSET)
		return -EINVAL;
	rc = eval_simple(r, key, klen, true, lua_create, ca, 1, x, xl, &v, "create");
	if (rc)
		return rc;
	hkv_resp_value_free(v);
	rbe_changed(r, key, klen, false);
	return 0;
}

/*
 * Rename within one slot: one script. KEYS: source key, meta, marker, then the destination's
 * three names; ARGV[5] "n" (NX), ARGV[6] "s" (SAMETYPE).
 */
static const char lua_rename[] =
	"local function ty(kk, ee)\n"
	"  local t = redis.call('TYPE', kk)['ok']\n"
	"  if t ~= 'none' then return t end\n"
	"  return redis.call('GET', ee) or 'none'\n"
	"end\n"
	"local t1 = ty(KEYS[1], KEYS[3])\n"
	"if t1 == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"if KEYS[1] == KEYS[4] then return 0 end\n"
	"local t2 = ty(KEYS[4], KEYS[6])\n"
	"if ARGV[2] == 'n' and t2 ~= 'none' then return redis.error_reply('HKVFS EEXIST') end\n"
	"if ARGV[3] == 's' and t2 ~= 'none' and t2 ~= t1 then "
	"return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])\n"
	"for i = 1, 3 do\n"
	"  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('RENAME', KEYS[i], KEYS[i + 3]) end\n"
	"end\n"
	"redis.call('HSET', KEYS[5], 'ctime', ARGV[1])\n"
	"local src = redis.call('EXISTS', KEYS[4]) == 1 and KEYS[4] or KEYS[6]\n"
	"local p = redis.call('PTTL', src)\n"
	"if p > 0 then redis.call('PEXPIRE', KEYS[5], p) end\n"
	"return 0\n";

/* cross-slot, step 1 on the source's slot: what to copy */
static const char lua_rename_dump[] = LUA_PRELUDE
	"local t = ktype()\n"
	"if t == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"return {t, redis.call('DUMP', k) or '', redis.call('PTTL', k),\n"
	"        redis.call('DUMP', m) or '', redis.call('PTTL', m),\n"
	"        redis.call('GET', e) or '', redis.call('PTTL', e)}\n";

/* step 2 on the destination's slot: ARGV[5] src type, [6] n, [7] s, then 3 (dump, pttl) */
static const char lua_rename_restore[] = LUA_PRELUDE
	"local t2 = ktype()\n"
	"if ARGV[6] == 'n' and t2 ~= 'none' then return redis.error_reply('HKVFS EEXIST') end\n"
	"if ARGV[7] == 's' and t2 ~= 'none' and t2 ~= ARGV[5] then "
	"return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"redis.call('DEL', k, m, e)\n"
	"local function ttl(p) p = tonumber(p); if p > 0 then return p end; return 0 end\n"
	"if ARGV[8] ~= '' then redis.call('RESTORE', k, ttl(ARGV[9]), ARGV[8]) end\n"
	"if ARGV[10] ~= '' then redis.call('RESTORE', m, ttl(ARGV[11]), ARGV[10]) end\n"
	"if ARGV[12] ~= '' then\n"
	"  redis.call('SET', e, ARGV[12])\n"
	"  if ttl(ARGV[13]) > 0 then redis.call('PEXPIRE', e, ttl(ARGV[13])) end\n"
	"end\n"
	"redis.call('HSET', m, 'ctime', now)\n"
	"syncttl(redis.call('EXISTS', k) == 1 and k or e)\n"
	"return 0\n";

/* step 3 on the source's slot: delete it if it is still what was copied */
static const char lua_rename_drop[] = LUA_PRELUDE
	"if (redis.call('DUMP', k) or '') ~= ARGV[5] or (redis.call('GET', e) or '') ~= ARGV[6] "
	"then return 0 end\n"
	"redis.call('DEL', k, m, e)\n"
	"return 1\n";

static int rename_cross(struct rbe *r, const struct rbe_keys *s, const struct rbe_keys *d,
			unsigned flags)
{
	struct hkv_resp_value *v = NULL, *w = NULL;
	const void *x[9];
	size_t xl[9];
	char num[6][32];
	int rc, i;

	rc = rbe_eval(r, s, false, lua_rename_dump, NULL, 0, NULL, NULL, &v, "rename (copy)");
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem != 7) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	x[0] = v->elem[0]->str;
	xl[0] = v->elem[0]->len;
	x[1] = flags & HKV_RENAME_NX ? "n" : "";
	xl[1] = strlen(x[1]);
	x[2] = flags & HKV_RENAME_SAMETYPE ? "s" : "";
	xl[2] = strlen(x[2]);
	for (i = 0; i < 6; i++) {
		const struct hkv_resp_value *e = v->elem[1 + i];

		if (e->type == HKV_RESP_INTEGER) {
			snprintf(num[i], sizeof(num[i]), "%lld", e->integer);
			x[3 + i] = num[i];
			xl[3 + i] = strlen(num[i]);
		} else {
			x[3 + i] = e->str ? e->str : "";
			xl[3 + i] = e->str ? e->len : 0;
		}
	}
	rc = rbe_eval(r, d, true, lua_rename_restore, NULL, 9, x, xl, &w, "rename (restore)");
	if (rc)
		goto out;
	hkv_resp_value_free(w);
	rbe_changed(r, d->k, d->klen, false);
	{
		const void *y[2] = { x[3], x[7] };
		size_t yl[2] = { xl[3], xl[7] };

		rc = rbe_eval(r, s, true, lua_rename_drop, NULL, 2, y, yl, &w, "rename (drop)");
	}
	if (rc) {
		rbe_logf(r, 0, "redis: rename across slots: copied, but the source could not be "
			 "deleted (%s): the key now exists under both names", strerror(-rc));
		goto out;
	}
	if (rbe_int(w) == 0) {
		rbe_logf(r, 0, "redis: rename across slots: the source changed during the copy; "
			 "both names kept");
		rc = -EIO;
	} else {
		rbe_changed(r, s->k, s->klen, true);
	}
	hkv_resp_value_free(w);
out:
	hkv_resp_value_free(v);
	return rc;
}

static int rbe_rename(struct hkvfs_be *be, const void *src, size_t slen, const void *dst,
		      size_t dlen, unsigned flags)
{
	struct rbe *r = rbe_of(be);
	struct rbe_keys s, d;
	struct hkv_resp_value *v;
	struct rbe_cmd c;
	int rc;

	if (flags & ~(HKV_RENAME_NX | HKV_RENAME_SAMETYPE))
		return -EINVAL;
	rc = rbe_keys_init(r, &s, src, slen);
	if (rc)
		return rc;
	rc = rbe_keys_init(r, &d, dst, dlen);
	if (rc) {
		rbe_keys_release(&s);
		return rc;
	}
	if (hkv_cluster_keyslot(src, slen) != hkv_cluster_keyslot(dst, dlen)) {
		rc = rename_cross(r, &s, &d, flags);
		goto out;
	}
	rbe_cmd_init(&c, "EVAL");
	rbe_arg_str(&c, lua_rename);
	rbe_arg_str(&c, "6");
	rbe_arg(&c, s.k, s.klen);
	rbe_arg(&c, s.m, s.mlen);
	rbe_arg(&c, s.e, s.elen);
	rbe_arg(&c, d.k, d.klen);
	rbe_arg(&c, d.m, d.mlen);
	rbe_arg(&c, d.e, d.elen);
	rbe_arg_ll(&c, now_ns());
	rbe_arg_str(&c, flags & HKV_RENAME_NX ? "n" : "");
	rbe_arg_str(&c, flags & HKV_RENAME_SAMETYPE ? "s" : "");
	rc = rbe_run(r, src, slen, true, &c, &v, "RENAME");
	if (rc)
		goto out;
	hkv_resp_value_free(v);
	if (slen != dlen || memcmp(src, dst, slen)) {
		rbe_changed(r, dst, dlen, false);
		rbe_changed(r, src, slen, true);
	}
out:
	rbe_keys_release(&s);
	rbe_keys_release(&d);
	return rc;
}

/* attributes: {type, size, pttl, mode, uid, gid, mtime, ctime} */
static const char lua_attr[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"local clean = ARGV[5] == 'c'\n"
	"if t == 'none' then\n"
	"  if clean and redis.call('EXISTS', m) == 1 then redis.call('DEL', m) end\n"
	"  return {'none'}\n"
	"end\n"
	"local n, src = 0, k\n"
	"if emp then src = e\n"
	"else\n"
	"  if t == 'string' then n = redis.call('STRLEN', k)\n"
	"  elseif t == 'hash' then n = redis.call('HLEN', k)\n"
	"  elseif t == 'list' then n = redis.call('LLEN', k)\n"
	"  elseif t == 'set' then n = redis.call('SCARD', k)\n"
	"  elseif t == 'zset' then n = redis.call('ZCARD', k) end\n"
	"  if clean and redis.call('EXISTS', e) == 1 then redis.call('DEL', e) end\n"
	"end\n"
	"local a = redis.call('HMGET', m, 'mode', 'uid', 'gid', 'mtime', 'ctime')\n"
	"return {t, n, redis.call('PTTL', src), a[1] or '', a[2] or '', a[3] or '', "
	"a[4] or '', a[5] or ''}\n";

/* a stable identity for a name: FNV-1a, top bit clear (fs/ keeps the top bit for its own) */
static uint64_t key_id(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (h & ~(1ULL << 63)) | 1;
}

static bool field_ll(const struct hkv_resp_value *v, long long *out)
{
	char *end;

	if (!v || v->type != HKV_RESP_BULK || !v->len)
		return false;
	*out = strtoll(v->str, &end, 10);
	return *end == 0;
}

static int rbe_attr_get(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_attr *out)
{
	struct rbe *r = rbe_of(be);
	const char *c = cleanup_arg(r);
	const void *ca[1] = { c };
	size_t cal[1] = { strlen(c) };
	uint64_t ver = atomic_load(&r->vclock);
	struct hkv_resp_value *v;
	long long x;
	int rc, t;

	rc = eval_simple(r, key, klen, false, lua_attr, NULL, 1, ca, cal, &v, "attributes");
	if (rc)
		return rc;
	rc = -EIO;
	if (v->type != HKV_RESP_ARRAY || v->nelem < 1)
		goto out;
	t = type_parse(v->elem[0]);
	if (t <= 0 || v->nelem != 8) {
		rc = t < 0 ? t : -ENOENT;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->type = t;
	out->size = (uint64_t)rbe_int(v->elem[1]);
	x = rbe_int(v->elem[2]);
	out->expire_at = x > 0 ? now_ns() / 1000000 + x : 0;
	out->mode = field_ll(v->elem[3], &x) ? (uint32_t)x & 07777
		    : (t == HKV_TYPE_STRING ? 0666u : 0777u) & ~r->opts->umask;
	out->uid = field_ll(v->elem[4], &x) ? (uint32_t)x : r->opts->uid;
	out->gid = field_ll(v->elem[5], &x) ? (uint32_t)x : r->opts->gid;
	out->mtime_ns = field_ll(v->elem[6], &x) ? x : r->mount_ns;
	out->ctime_ns = field_ll(v->elem[7], &x) ? x : out->mtime_ns;
	out->version = ver;
	out->id = key_id(key, klen);
	rc = 0;
out:
	hkv_resp_value_free(v);
	return rc;
}

/* ARGV[5] which-bits, [6] mode, [7] uid, [8] gid, [9] mtime */
static const char lua_attr_set[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"local w = tonumber(ARGV[5])\n"
	"if w % 2 == 1 then redis.call('HSET', m, 'mode', ARGV[6]) end\n"
	"if math.floor(w / 2) % 2 == 1 then redis.call('HSET', m, 'uid', ARGV[7]) end\n"
	"if math.floor(w / 4) % 2 == 1 then redis.call('HSET', m, 'gid', ARGV[8]) end\n"
	"if math.floor(w / 8) % 2 == 1 then redis.call('HSET', m, 'mtime', ARGV[9]) end\n"
	"redis.call('HSET', m, 'ctime', now)\n"
	"syncttl(emp and e or k)\n"
	"return 0\n";

static int rbe_attr_set(struct hkvfs_be *be, const void *key, size_t klen, unsigned which,
			const struct hkv_attr *a)
{
	struct rbe *r = rbe_of(be);
	char b[5][32];
	const void *x[5] = { b[0], b[1], b[2], b[3], b[4] };
	size_t xl[5];
	int i;

	snprintf(b[0], 32, "%u", which);
	snprintf(b[1], 32, "%u", a->mode & 07777);
	snprintf(b[2], 32, "%u", a->uid);
	snprintf(b[3], 32, "%u", a->gid);
	snprintf(b[4], 32, "%" PRId64, a->mtime_ns);
	for (i = 0; i < 5; i++)
		xl[i] = strlen(b[i]);
	return eval_write(r, key, klen, lua_attr_set, 5, x, xl, "setattr");
}

/* ---------------------------------------------------------------------------------------- */
/* TTL                                                                                      */

static const char lua_pttl[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t == 'none' then return -2 end\n"
	"return redis.call('PTTL', emp and e or k)\n";

static int64_t rbe_ttl(struct hkvfs_be *be, const void *key, size_t klen)
{
	struct hkv_resp_value *v;
	long long p;
	int rc;

	rc = eval_simple(rbe_of(be), key, klen, false, lua_pttl, NULL, 0, NULL, NULL, &v, "PTTL");
	if (rc)
		return rc < -2 ? rc : -EIO;
	p = rbe_int(v);
	hkv_resp_value_free(v);
	if (p < 0)
		return p;
	return (p + 500) / 1000;
}

/* ARGV[5] at (ms), ARGV[6] "" or NX/XX/GT/LT; returns {set, deleted} */
static const char lua_pexpireat[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t == 'none' then return {0, 0} end\n"
	"local src = emp and e or k\n"
	"local rr\n"
	"if ARGV[6] == '' then rr = redis.call('PEXPIREAT', src, ARGV[5])\n"
	"else rr = redis.call('PEXPIREAT', src, ARGV[5], ARGV[6]) end\n"
	"if rr == 1 and redis.call('EXISTS', src) == 0 then redis.call('DEL', k, m, e); "
	"return {1, 1} end\n"
	"if rr == 1 then syncttl(src) end\n"
	"return {rr, 0}\n";

static int rbe_pexpireat(struct hkvfs_be *be, const void *key, size_t klen, int64_t at,
			 unsigned flags)
{
	struct rbe *r = rbe_of(be);
	const char *f = "";
	char b[32];
	const void *x[2] = { b, NULL };
	size_t xl[2];
	struct hkv_resp_value *v;
	int rc;

	switch (flags) {
	case 0: break;
	case HKV_EXPIRE_NX: f = "NX"; break;
	case HKV_EXPIRE_XX: f = "XX"; break;
	case HKV_EXPIRE_GT: f = "GT"; break;
	case HKV_EXPIRE_LT: f = "LT"; break;
	default: return -EINVAL;
	}
	snprintf(b, sizeof(b), "%" PRId64, at);
	xl[0] = strlen(b);
	x[1] = f;
	xl[1] = strlen(f);
	rc = eval_simple(r, key, klen, true, lua_pexpireat, NULL, 2, x, xl, &v, "PEXPIREAT");
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem != 2) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	rc = (int)rbe_int(v->elem[0]);
	if (rc)
		rbe_changed(r, key, klen, rbe_int(v->elem[1]) != 0);
	hkv_resp_value_free(v);
	return rc;
}

static int rbe_expire(struct hkvfs_be *be, const void *key, size_t klen, int64_t sec,
		      unsigned flags)
{
	if (sec > INT64_MAX / 1000 - now_ns() / 1000000 || sec < -(INT64_MAX / 2000))
		return -EINVAL;
	return rbe_pexpireat(be, key, klen, now_ns() / 1000000 + sec * 1000, flags);
}

static const char lua_persist[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t == 'none' then return 0 end\n"
	"local src = emp and e or k\n"
	"local rr = redis.call('PERSIST', src)\n"
	"syncttl(src)\n"
	"return rr\n";

static int rbe_persist(struct hkvfs_be *be, const void *key, size_t klen)
{
	return eval_changed(rbe_of(be), key, klen, lua_persist, "PERSIST", false);
}

/* ---------------------------------------------------------------------------------------- */
/* extended attributes: fields "x:NAME" of the metadata hash                                 */

#define XA_VALUE_MAX (64 * 1024)

static int xa_field(const char *name, char *out, size_t sz)
{
	size_t n = strlen(name);

	if (n < 1)
		return -EINVAL;
	if (n > 255)
		return -ERANGE;
	snprintf(out, sz, "x:%s", name);
	return 0;
}

static const char lua_xget[] = LUA_PRELUDE
	"if ktype() == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"local v = redis.call('HGET', m, ARGV[5])\n"
	"if not v then return redis.error_reply('HKVFS ENODATA') end\n"
	"return v\n";

static int rbe_xattr_get(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			 struct hkv_buf *out)
{
	char f[300];
	const void *x[1] = { f };
	size_t xl[1];
	struct hkv_resp_value *v;
	int rc;

	rc = xa_field(name, f, sizeof(f));
	if (rc)
		return rc;
	xl[0] = strlen(f);
	rc = eval_simple(rbe_of(be), key, klen, false, lua_xget, NULL, 1, x, xl, &v, "getxattr");
	if (rc)
		return rc;
	rc = rbe_buf(v, out);
	hkv_resp_value_free(v);
	return rc;
}

/* ARGV[5] field, [6] value, [7] "c" CREATE / "r" REPLACE */
static const char lua_xset[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"local has = redis.call('HEXISTS', m, ARGV[5]) == 1\n"
	"if ARGV[7] == 'c' and has then return redis.error_reply('HKVFS EEXIST') end\n"
	"if ARGV[7] == 'r' and not has then return redis.error_reply('HKVFS ENODATA') end\n"
	"redis.call('HSET', m, ARGV[5], ARGV[6], 'ctime', now)\n"
	"syncttl(emp and e or k)\n"
	"return 0\n";

static int rbe_xattr_set(struct hkvfs_be *be, const void *key, size_t klen, const char *name,
			 const void *val, size_t vlen, int flags)
{
	struct rbe *r = rbe_of(be);
	char f[300];
	const char *fl = flags & HKV_XATTR_CREATE ? "c" : flags & HKV_XATTR_REPLACE ? "r" : "";
	const void *x[3] = { f, val, fl };
	size_t xl[3];
	int rc;

	if (vlen > XA_VALUE_MAX)
		return -E2BIG;
	if ((flags & HKV_XATTR_CREATE) && (flags & HKV_XATTR_REPLACE))
		return -EINVAL;
	rc = xa_field(name, f, sizeof(f));
	if (rc)
		return rc;
	xl[0] = strlen(f);
	xl[1] = vlen;
	xl[2] = strlen(fl);
	return eval_write(r, key, klen, lua_xset, 3, x, xl, "setxattr");
}

static const char lua_xdel[] = LUA_PRELUDE
	"if ktype() == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"if redis.call('HDEL', m, ARGV[5]) == 0 then return redis.error_reply('HKVFS ENODATA') end\n"
	"redis.call('HSET', m, 'ctime', now)\n"
	"local t, emp = ktype()\n"
	"syncttl(emp and e or k)\n"
	"return 0\n";

static int rbe_xattr_del(struct hkvfs_be *be, const void *key, size_t klen, const char *name)
{
	struct rbe *r = rbe_of(be);
	char f[300];
	const void *x[1] = { f };
	size_t xl[1];
	int rc;

	rc = xa_field(name, f, sizeof(f));
	if (rc)
		return rc;
	xl[0] = strlen(f);
	return eval_write(r, key, klen, lua_xdel, 1, x, xl, "removexattr");
}

static const char lua_xlist[] = LUA_PRELUDE
	"if ktype() == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"local out = {}\n"
	"for _, f in ipairs(redis.call('HKEYS', m)) do\n"
	"  if string.sub(f, 1, 2) == 'x:' then out[#out + 1] = string.sub(f, 3) end\n"
	"end\n"
	"table.sort(out)\n"
	"return out\n";

static int rbe_xattr_list(struct hkvfs_be *be, const void *key, size_t klen,
			  int (*cb)(void *arg, const char *name), void *arg)
{
	struct hkv_resp_value *v;
	size_t i;
	int rc;

	rc = eval_simple(rbe_of(be), key, klen, false, lua_xlist, NULL, 0, NULL, NULL, &v,
			 "listxattr");
	if (rc)
		return rc;
	rc = 0;
	for (i = 0; v->type == HKV_RESP_ARRAY && i < v->nelem && !rc; i++)
		if (v->elem[i]->type == HKV_RESP_BULK && strlen(v->elem[i]->str) == v->elem[i]->len)
			rc = cb(arg, v->elem[i]->str);
	hkv_resp_value_free(v);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* strings                                                                                  */

static int rbe_get(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	struct rbe *r = rbe_of(be);
	struct hkv_resp_value *v;
	struct rbe_cmd c;
	int rc;

	if (klen < 1 || klen > HKV_KEY_MAX)
		return -EINVAL;
	rbe_cmd_init(&c, "GET");
	rbe_arg(&c, key, klen);
	rc = rbe_run(r, key, klen, false, &c, &v, "GET");
	if (rc)
		return rc;
	rc = rbe_buf(v, out);
	hkv_resp_value_free(v);
	return rc;
}

/* ARGV[5] value, [6] flags n/x/k/e letters, [7] expire_at ms, [8] "g": return the old value */
static const char lua_set[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"local ex = t ~= 'none'\n"
	"local f = ARGV[6]\n"
	"local old = false\n"
	"if ARGV[8] == 'g' then\n"
	"  if ex and t ~= 'string' then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"  if t == 'string' then old = redis.call('GET', k) end\n"
	"end\n"
	"if (string.find(f, 'n') and ex) or (string.find(f, 'x') and not ex) then "
	"return {0, old} end\n"
	"if emp then redis.call('DEL', e) end\n"
	"if string.find(f, 'k') then redis.call('SET', k, ARGV[5], 'KEEPTTL')\n"
	"elseif string.find(f, 'e') then redis.call('SET', k, ARGV[5], 'PXAT', ARGV[7])\n"
	"else redis.call('SET', k, ARGV[5]) end\n"
	"wmeta(not ex)\n"
	"syncttl(k)\n"
	"return {1, old}\n";

static int rbe_set(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		   size_t vlen, const struct hkv_set_opts *o)
{
	struct rbe *r = rbe_of(be);
	unsigned fl = o ? o->flags : 0;
	char f[8] = "", at[32] = "0";
	const void *x[4] = { val, f, at, "" };
	size_t xl[4];
	struct hkv_resp_value *v;
	int rc, n = 0;

	if (((fl & HKV_SET_NX) && (fl & HKV_SET_XX)) ||
	    ((fl & HKV_SET_KEEPTTL) && (fl & HKV_SET_EXPIRE)) ||
	    ((fl & HKV_SET_EXPIRE) && o->expire_at <= 0))
		return -EINVAL;
	if (vlen > HKV_VALUE_MAX)
		return -EFBIG;
	if (fl & HKV_SET_NX)
		f[n++] = 'n';
	if (fl & HKV_SET_XX)
		f[n++] = 'x';
	if (fl & HKV_SET_KEEPTTL)
		f[n++] = 'k';
	if (fl & HKV_SET_EXPIRE) {
		f[n++] = 'e';
		snprintf(at, sizeof(at), "%" PRId64, o->expire_at);
	}
	if (o && o->old) {
		x[3] = "g";
		o->old->data = NULL;
		o->old->len = 0;
	}
	xl[0] = vlen;
	xl[1] = strlen(f);
	xl[2] = strlen(at);
	xl[3] = strlen(x[3]);
	rc = eval_simple(r, key, klen, true, lua_set, o ? o->ca : NULL, 4, x, xl, &v, "SET");
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem < 1) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	rc = (int)rbe_int(v->elem[0]);
	if (o && o->old && v->nelem > 1 && v->elem[1]->type == HKV_RESP_BULK &&
	    rbe_buf(v->elem[1], o->old) == -ENOMEM) {
		hkv_resp_value_free(v);
		return -ENOMEM;
	}
	hkv_resp_value_free(v);
	if (rc)
		rbe_changed(r, key, klen, false);
	return rc;
}

/* ARGV[5] offset, [6] length */
static const char lua_getrange[] =
	"local t = redis.call('TYPE', KEYS[1])['ok']\n"
	"if t == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"if t ~= 'string' then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"return redis.call('GETRANGE', KEYS[1], ARGV[1], ARGV[2])\n";

static ssize_t rbe_getrange(struct hkvfs_be *be, const void *key, size_t klen, uint64_t off,
			    void *buf, size_t len)
{
	struct rbe *r = rbe_of(be);
	struct hkv_resp_value *v;
	struct rbe_cmd c;
	ssize_t n;
	int rc;

	if (klen < 1 || klen > HKV_KEY_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (off > HKV_VALUE_MAX)
		return 0;
	rbe_cmd_init(&c, "EVAL");
	rbe_arg_str(&c, lua_getrange);
	rbe_arg_str(&c, "1");
	rbe_arg(&c, key, klen);
	rbe_arg_ll(&c, (long long)off);
	rbe_arg_ll(&c, (long long)(off + len - 1));
	rc = rbe_run(r, key, klen, false, &c, &v, "GETRANGE");
	if (rc)
		return rc;
	if (v->type != HKV_RESP_BULK) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	n = (ssize_t)(v->len < len ? v->len : len);
	memcpy(buf, v->str, (size_t)n);
	hkv_resp_value_free(v);
	return n;
}

/* ARGV[5] the bytes to append */
static const char lua_append[] = LUA_PRELUDE
	"local t, emp = ktype()\n"
	"if t ~= 'none' and t ~= 'string' then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"local n = redis.call('APPEND', k, ARGV[5])\n"
	"fin(t == 'none')\n"
	"return n\n";

static int64_t rbe_append(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
			  size_t vlen, const struct hkv_create_attr *ca)
{
	struct rbe *r = rbe_of(be);
	const void *x[1] = { val };
	size_t xl[1] = { vlen };
	struct hkv_resp_value *v;
	int64_t n;
	int rc;

	rc = eval_simple(r, key, klen, true, lua_append, ca, 1, x, xl, &v, "APPEND");
	if (rc)
		return rc;
	n = rbe_int(v);
	hkv_resp_value_free(v);
	rbe_changed(r, key, klen, false);
	return n;
}

/* ARGV[5] new length */
static const char lua_truncate[] = LUA_PRELUDE
	"local t = ktype()\n"
	"if t == 'none' then return redis.error_reply('HKVFS ENOENT') end\n"
	"if t ~= 'string' then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"local n = tonumber(ARGV[5])\n"
	"local cur = redis.call('STRLEN', k)\n"
	"if n < cur then\n"
	"  local v = n > 0 and redis.call('GETRANGE', k, 0, n - 1) or ''\n"
	"  redis.call('SET', k, v, 'KEEPTTL')\n"
	"elseif n > cur then redis.call('SETRANGE', k, n - 1, '\\0') end\n"
	"wmeta(false)\n"
	"syncttl(k)\n"
	"return 0\n";

static int rbe_truncate(struct hkvfs_be *be, const void *key, size_t klen, uint64_t len)
{
	struct rbe *r = rbe_of(be);
	char b[32];
	const void *x[1] = { b };
	size_t xl[1];

	if (len > HKV_VALUE_MAX)
		return -EFBIG;
	snprintf(b, sizeof(b), "%" PRIu64, len);
	xl[0] = strlen(b);
	return eval_write(r, key, klen, lua_truncate, 1, x, xl, "truncate");
}

const struct hkvfs_be_ops rbe_ops = {
	.close = rbe_close,
	.session_begin = rbe_session_begin,
	.session_end = rbe_session_end,
	.request_begin = rbe_request_begin,
	.request_end = rbe_request_end,
	.engine = rbe_engine,
	.sync = rbe_sync,
	.stats_get = rbe_stats_get,
	.version = rbe_version,
	.set_watch = rbe_set_watch,
	.txn_run = rbe_txn_run,
	.exists = rbe_exists,
	.type = rbe_type,
	.del = rbe_del,
	.rename = rbe_rename,
	.create = rbe_create,
	.attr_get = rbe_attr_get,
	.attr_set = rbe_attr_set,
	.ttl = rbe_ttl,
	.expire = rbe_expire,
	.pexpireat = rbe_pexpireat,
	.persist = rbe_persist,
	.scan = rbe_scan,
	.cursor_after = rbe_cursor_after,
	.xattr_get = rbe_xattr_get,
	.xattr_set = rbe_xattr_set,
	.xattr_del = rbe_xattr_del,
	.xattr_list = rbe_xattr_list,
	.get = rbe_get,
	.set = rbe_set,
	.getrange = rbe_getrange,
	.append = rbe_append,
	.truncate = rbe_truncate,
	.hget = rbe_hget,
	.hset = rbe_hset,
	.hsetnx = rbe_hsetnx,
	.hdel = rbe_hdel,
	.hscan = rbe_hscan,
	.llen = rbe_llen,
	.lindex = rbe_lindex,
	.lset = rbe_lset,
	.lpush = rbe_lpush,
	.rpush = rbe_rpush,
	.lpop = rbe_lpop,
	.rpop = rbe_rpop,
	.list_pop_at = rbe_list_pop_at,
	.sadd = rbe_sadd,
	.srem = rbe_srem,
	.sismember = rbe_sismember,
	.sscan = rbe_sscan,
	.zadd = rbe_zadd,
	.zrem = rbe_zrem,
	.zscore = rbe_zscore,
	.zwalk = rbe_zwalk,
};
