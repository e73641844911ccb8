// SPDX-License-Identifier: MIT
/*
 * be_redis_coll.c - hashes, lists, sets and sorted sets of the Redis backend (backend.h),
 * each the Redis type of the same name under the key's own name (docs/remote.md).
 *
 * Every write is one Lua script on the key's slot (the prelude of be_redis.c): the type
 * check, the change, the metadata's times and, for a write that creates the key, its owner
 * and mode, and the expiry of the metadata kept equal to the key's. A write into an empty
 * collection (only its marker exists) removes the marker and gives the new key the marker's
 * expiry. A removal that takes the last element leaves the empty collection in the same
 * script (Redis deletes the key; the script writes its marker with the key's TTL and keeps the
 * metadata), so no client ever sees the directory absent in between (docs/remote.md).
 *
 * Cursors (hscan, sscan, zwalk) are plain values in struct hkv_cursor.pos:
 *   hscan/sscan  u64 Redis cursor, u32 entries of that batch already reported (the batch is
 *                fetched again with the same COUNT to resume inside it)
 *   zwalk        u64 rank of the next member (a member whose rank changes during a walk may
 *                be skipped or repeated, as with ZRANGE paging in any client)
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be_redis_int.h"

/* one script per shape; ARGV[5..] are the operation's arguments */

/* a write that may create KEY of type ARGV[5]: ARGV[6] the Redis command, ARGV[7..] its args */
static const char lua_coll_write_fmt[] =
	"local t, emp = ktype()\n"
	"if t ~= 'none' and t ~= ARGV[5] then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"materialize(emp)\n"
	"local args = {}\n"
	"for i = 7, #ARGV do args[#args + 1] = ARGV[i] end\n"
	"local r = redis.call(ARGV[6], k, unpack(args))\n"
	"fin(t == 'none')\n"
	"return r\n";

/*
 * a removal: ARGV[5] type, ARGV[6] command, ARGV[7..] args; returns {reply, deleted}. The
 * command POPAT (ARGV[7]: an index) pops that index of a list if it is the first or the last,
 * the length checked in the same script. A removal that takes the last element (Redis then
 * deletes the key) leaves the empty collection in the same script: the marker with the key's
 * type and its remaining TTL, the metadata (mode, owner, xattrs) kept with that TTL. The key
 * is not gone for the filesystem (deleted 0).
 */
static const char lua_coll_remove_fmt[] =
	"local t, emp = ktype()\n"
	"if t == 'none' or emp then return {false, 0} end\n"
	"if t ~= ARGV[5] then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"local ttl = redis.call('PTTL', k)\n"
	"local args = {}\n"
	"for i = 7, #ARGV do args[#args + 1] = ARGV[i] end\n"
	"local r\n"
	"if ARGV[6] == 'POPAT' then\n"
	"  local n, i = redis.call('LLEN', k), tonumber(ARGV[7])\n"
	"  if i < 0 or i >= n then return {false, 0} end\n"
	"  if i ~= 0 and i ~= n - 1 then return redis.error_reply('HKVFS EPERM') end\n"
	"  r = redis.call(i == 0 and 'LPOP' or 'RPOP', k)\n"
	"else\n"
	"  r = redis.call(ARGV[6], k, unpack(args))\n"
	"end\n"
	"if r == 0 or not r then return {r, 0} end\n"
	"if redis.call('EXISTS', k) == 1 then return {r, gone()} end\n"
	"if ttl > 0 then redis.call('SET', e, t, 'PX', ttl) else redis.call('SET', e, t) end\n"
	"redis.call('HSET', m, 'mtime', now, 'ctime', now)\n"
	"syncttl(e)\n"
	"return {r, 0}\n";

/* ARGV[5] flags (words), ARGV[6] score, ARGV[7] member; returns {reply, score after or false} */
static const char lua_zadd_body[] =
	"local t, emp = ktype()\n"
	"if t ~= 'none' and t ~= 'zset' then return redis.error_reply('HKVFS EWRONGTYPE') end\n"
	"materialize(emp)\n"
	"local args = {}\n"
	"for w in string.gmatch(ARGV[5], '%a+') do args[#args + 1] = w end\n"
	"args[#args + 1] = ARGV[6]\n"
	"args[#args + 1] = ARGV[7]\n"
	"local r = redis.call('ZADD', k, unpack(args))\n"
	"if redis.call('EXISTS', k) == 0 then return {0, false, 0} end\n"
	"local changed = (r and r ~= 0) and 1 or 0\n"
	"if changed == 1 or string.find(ARGV[5], 'INCR') then fin(t == 'none') end\n"
	"return {r, redis.call('ZSCORE', k, ARGV[7]), changed}\n";

static char *lua_write, *lua_remove, *lua_zadd;
static pthread_once_t lua_once = PTHREAD_ONCE_INIT;

static void lua_build(void)
{
	size_t p = strlen(rbe_lua_prelude);

	lua_write = malloc(p + sizeof(lua_coll_write_fmt));
	lua_remove = malloc(p + sizeof(lua_coll_remove_fmt));
	if (lua_write) {
		memcpy(lua_write, rbe_lua_prelude, p);
		memcpy(lua_write + p, lua_coll_write_fmt, sizeof(lua_coll_write_fmt));
	}
	if (lua_remove) {
		memcpy(lua_remove, rbe_lua_prelude, p);
		memcpy(lua_remove + p, lua_coll_remove_fmt, sizeof(lua_coll_remove_fmt));
	}
	lua_zadd = malloc(p + sizeof(lua_zadd_body));
	if (lua_zadd) {
		memcpy(lua_zadd, rbe_lua_prelude, p);
		memcpy(lua_zadd + p, lua_zadd_body, sizeof(lua_zadd_body));
	}
}

/*
 * coll_op() - run @cmd (with @n arguments after the key) on collection @key of type @type.
 * @remove: a removal (reply {result, deleted}); else a write that may create the key with @ca.
 * @reply:  the command's own reply, owned by the caller; may be NULL.
 * Return: 0; -errno.
 */
static int coll_op(struct rbe *r, const void *key, size_t klen, const char *type, bool remove,
		   const char *cmd, int n, const void *const *a, const size_t *al,
		   const struct hkv_create_attr *ca, struct hkv_resp_value **reply,
		   bool *deleted)
{
	const void *x[RBE_ARGS];
	size_t xl[RBE_ARGS];
	struct hkv_resp_value *v, *res;
	struct rbe_keys ks;
	bool del = false;
	int rc, i;

	pthread_once(&lua_once, lua_build);
	if (!lua_write || !lua_remove)
		return -ENOMEM;
	if (n + 2 > RBE_ARGS - 10)
		return -EINVAL;
	x[0] = type;
	xl[0] = strlen(type);
	x[1] = cmd;
	xl[1] = strlen(cmd);
	for (i = 0; i < n; i++) {
		x[2 + i] = a[i];
		xl[2 + i] = al[i];
	}
	rc = rbe_keys_init(r, &ks, key, klen);
	if (rc)
		return rc;
	rc = rbe_eval(r, &ks, true, remove ? lua_remove : lua_write, remove ? NULL : ca, n + 2, x,
		      xl, &v, cmd);
	rbe_keys_release(&ks);
	if (rc)
		return rc;
	res = v;
	if (remove) {
		if (v->type != HKV_RESP_ARRAY || v->nelem != 2) {
			hkv_resp_value_free(v);
			return -EIO;
		}
		del = rbe_int(v->elem[1]) != 0;
		res = v->elem[0];
		v->elem[0] = NULL;
		hkv_resp_value_free(v);
		/* a removal that removed nothing changed nothing */
		if (res->type != HKV_RESP_NULL && !(res->type == HKV_RESP_INTEGER && !res->integer))
			rbe_changed(r, key, klen, del);
	} else {
		rbe_changed(r, key, klen, false);
	}
	if (deleted)
		*deleted = del;
	if (reply)
		*reply = res;
	else
		hkv_resp_value_free(res);
	return 0;
}

static int coll_int(struct rbe *r, const void *key, size_t klen, const char *type, bool remove,
		    const char *cmd, int n, const void *const *a, const size_t *al,
		    const struct hkv_create_attr *ca, long long *out)
{
	struct hkv_resp_value *v;
	int rc;

	rc = coll_op(r, key, klen, type, remove, cmd, n, a, al, ca, &v, NULL);
	if (rc)
		return rc;
	*out = rbe_int(v);
	hkv_resp_value_free(v);
	return 0;
}

/* a read: @cmd KEY args...; WRONGTYPE maps to -HKV_EWRONGTYPE in rbe_run() */
static int coll_read(struct rbe *r, const void *key, size_t klen, const char *cmd, int n,
		     const void *const *a, const size_t *al, struct hkv_resp_value **reply)
{
	struct rbe_cmd c;
	int i;

	if (klen < 1 || klen > HKV_KEY_MAX)
		return -EINVAL;
	rbe_cmd_init(&c, cmd);
	rbe_arg(&c, key, klen);
	for (i = 0; i < n; i++)
		rbe_arg(&c, a[i], al[i]);
	return rbe_run(r, key, klen, false, &c, reply, cmd);
}

/* ---------------------------------------------------------------------------------------- */
/* hashes                                                                                   */

int rbe_hget(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen,
	     struct hkv_buf *out)
{
	const void *a[1] = { field };
	size_t al[1] = { flen };
	struct hkv_resp_value *v;
	int rc;

	rc = coll_read(rbe_of(be), key, klen, "HGET", 1, a, al, &v);
	if (rc)
		return rc;
	rc = rbe_buf(v, out);
	hkv_resp_value_free(v);
	return rc;
}

int rbe_hset(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen,
	     const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	const void *a[2] = { field, val };
	size_t al[2] = { flen, vlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "hash", false, "HSET", 2, a, al, ca, &n);
	return rc ? rc : (int)n;
}

int rbe_hsetnx(struct hkvfs_be *be, const void *key, size_t klen, const void *field,
	       size_t flen, const void *val, size_t vlen, const struct hkv_create_attr *ca)
{
	const void *a[2] = { field, val };
	size_t al[2] = { flen, vlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "hash", false, "HSETNX", 2, a, al, ca, &n);
	return rc ? rc : (int)n;
}

int rbe_hdel(struct hkvfs_be *be, const void *key, size_t klen, const void *field, size_t flen)
{
	const void *a[1] = { field };
	size_t al[1] = { flen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "hash", true, "HDEL", 1, a, al, NULL, &n);
	return rc ? rc : (int)n;
}

/* cursor of hscan/sscan: u64 Redis cursor, u32 entries of its batch already reported */
#define ECUR_LEN 12
#define ECOUNT 256

static int elem_scan(struct rbe *r, const char *cmd, bool pairs, const void *key, size_t klen,
		     struct hkv_cursor *cur, const char *match, hkv_elem_fn cb, void *arg)
{
	uint64_t rc_cur = 0;
	uint32_t skip = 0, i, idx;
	struct hkv_resp_value *v;
	const struct hkv_resp_value *items;
	struct rbe_cmd c;
	char cs[32];
	int rc, reported = 0, step = pairs ? 2 : 1;

	if (cur->done)
		return 0;
	if (cur->len == ECUR_LEN) {
		memcpy(&rc_cur, cur->pos, 8);
		memcpy(&skip, cur->pos + 8, 4);
	} else if (cur->len != 0) {
		return -EINVAL;
	}
	snprintf(cs, sizeof(cs), "%llu", (unsigned long long)rc_cur);
	rbe_cmd_init(&c, cmd);
	rbe_arg(&c, key, klen);
	rbe_arg_str(&c, cs);
	if (match) {
		rbe_arg_str(&c, "MATCH");
		rbe_arg_str(&c, match);
	}
	rbe_arg_str(&c, "COUNT");
	rbe_arg_ll(&c, ECOUNT);
	rc = rbe_run(r, key, klen, false, &c, &v, cmd);
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem != 2 || v->elem[1]->type != HKV_RESP_ARRAY) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	items = v->elem[1];
	for (i = skip, idx = skip * step; idx + step - 1 < items->nelem; i++, idx += step) {
		const struct hkv_resp_value *a = items->elem[idx];
		const struct hkv_resp_value *b = pairs ? items->elem[idx + 1] : NULL;

		rc = cb(arg, a->str, a->len, b ? b->str : NULL, b ? b->len : 0);
		if (rc) {
			uint32_t at = rc == HKV_SCAN_AGAIN ? i : i + 1;

			memcpy(cur->pos, &rc_cur, 8);
			memcpy(cur->pos + 8, &at, 4);
			cur->len = ECUR_LEN;
			hkv_resp_value_free(v);
			return rc;
		}
		reported++;
	}
	rc_cur = strtoull(v->elem[0]->str, NULL, 10);
	skip = 0;
	memcpy(cur->pos, &rc_cur, 8);
	memcpy(cur->pos + 8, &skip, 4);
	cur->len = ECUR_LEN;
	cur->done = rc_cur == 0;
	hkv_resp_value_free(v);
	return reported;
}

int rbe_hscan(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg)
{
	(void)count;
	return elem_scan(rbe_of(be), "HSCAN", true, key, klen, cur, match, cb, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* lists                                                                                    */

int64_t rbe_llen(struct hkvfs_be *be, const void *key, size_t klen)
{
	struct hkv_resp_value *v;
	int64_t n;
	int rc;

	rc = coll_read(rbe_of(be), key, klen, "LLEN", 0, NULL, NULL, &v);
	if (rc)
		return rc;
	n = rbe_int(v);
	hkv_resp_value_free(v);
	return n;
}

int rbe_lindex(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
	       struct hkv_buf *out)
{
	char b[32];
	const void *a[1] = { b };
	size_t al[1];
	struct hkv_resp_value *v;
	int rc;

	snprintf(b, sizeof(b), "%lld", (long long)index);
	al[0] = strlen(b);
	rc = coll_read(rbe_of(be), key, klen, "LINDEX", 1, a, al, &v);
	if (rc)
		return rc;
	rc = rbe_buf(v, out);
	hkv_resp_value_free(v);
	return rc;
}

int rbe_lset(struct hkvfs_be *be, const void *key, size_t klen, int64_t index, const void *val,
	     size_t vlen)
{
	char b[32];
	const void *a[2] = { b, val };
	size_t al[2];
	struct hkv_resp_value *v;
	struct rbe *r = rbe_of(be);
	int rc;

	snprintf(b, sizeof(b), "%lld", (long long)index);
	al[0] = strlen(b);
	al[1] = vlen;
	/* LSET on an absent list is "no such key": never creates it */
	rc = coll_op(r, key, klen, "list", false, "LSET", 2, a, al, NULL, &v, NULL);
	if (rc)
		return rc;
	hkv_resp_value_free(v);
	return 0;
}

int64_t rbe_lpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		  size_t vlen, const struct hkv_create_attr *ca)
{
	const void *a[1] = { val };
	size_t al[1] = { vlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "list", false, "LPUSH", 1, a, al, ca, &n);
	return rc ? rc : n;
}

int64_t rbe_rpush(struct hkvfs_be *be, const void *key, size_t klen, const void *val,
		  size_t vlen, const struct hkv_create_attr *ca)
{
	const void *a[1] = { val };
	size_t al[1] = { vlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "list", false, "RPUSH", 1, a, al, ca, &n);
	return rc ? rc : n;
}

static int pop(struct hkvfs_be *be, const void *key, size_t klen, const char *cmd,
	       struct hkv_buf *out)
{
	struct hkv_resp_value *v;
	int rc;

	rc = coll_op(rbe_of(be), key, klen, "list", true, cmd, 0, NULL, NULL, NULL, &v, NULL);
	if (rc)
		return rc;
	rc = rbe_buf(v, out);
	hkv_resp_value_free(v);
	return rc;
}

int rbe_lpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	return pop(be, key, klen, "LPOP", out);
}

int rbe_rpop(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_buf *out)
{
	return pop(be, key, klen, "RPOP", out);
}

int rbe_list_pop_at(struct hkvfs_be *be, const void *key, size_t klen, int64_t index,
		    struct hkv_buf *out)
{
	struct hkv_buf tmp = { 0 };
	struct hkv_resp_value *v;
	char b[24];
	const void *a[1] = { b };
	size_t al[1];
	int rc;

	al[0] = (size_t)snprintf(b, sizeof(b), "%" PRId64, index);
	rc = coll_op(rbe_of(be), key, klen, "list", true, "POPAT", 1, a, al, NULL, &v, NULL);
	if (rc)
		return rc;
	rc = rbe_buf(v, out ? out : &tmp);
	hkv_buf_release(&tmp);
	hkv_resp_value_free(v);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* sets                                                                                     */

int rbe_sadd(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen, const struct hkv_create_attr *ca)
{
	const void *a[1] = { member };
	size_t al[1] = { mlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "set", false, "SADD", 1, a, al, ca, &n);
	return rc ? rc : (int)n;
}

int rbe_srem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen)
{
	const void *a[1] = { member };
	size_t al[1] = { mlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "set", true, "SREM", 1, a, al, NULL, &n);
	return rc ? rc : (int)n;
}

int rbe_sismember(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
		  size_t mlen)
{
	const void *a[1] = { member };
	size_t al[1] = { mlen };
	struct hkv_resp_value *v;
	int rc;

	rc = coll_read(rbe_of(be), key, klen, "SISMEMBER", 1, a, al, &v);
	if (rc)
		return rc;
	rc = (int)rbe_int(v);
	hkv_resp_value_free(v);
	return rc;
}

int rbe_sscan(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      const char *match, size_t count, hkv_elem_fn cb, void *arg)
{
	(void)count;
	return elem_scan(rbe_of(be), "SSCAN", false, key, klen, cur, match, cb, arg);
}

/* ---------------------------------------------------------------------------------------- */
/* sorted sets                                                                              */

int rbe_zadd(struct hkvfs_be *be, const void *key, size_t klen, double score,
	     const void *member, size_t mlen, unsigned flags, double *out,
	     const struct hkv_create_attr *ca)
{
	struct rbe *r = rbe_of(be);
	char fl[64] = "", sc[40];
	const void *x[3] = { fl, sc, member };
	size_t xl[3];
	struct hkv_resp_value *v;
	struct rbe_keys ks;
	int rc;

	pthread_once(&lua_once, lua_build);
	if (!lua_zadd)
		return -ENOMEM;
	if (isnan(score))
		return -HKV_ENOTFLOAT;
	if (((flags & HKV_ZADD_NX) && (flags & HKV_ZADD_XX)) ||
	    ((flags & HKV_ZADD_NX) && (flags & (HKV_ZADD_GT | HKV_ZADD_LT))) ||
	    ((flags & HKV_ZADD_GT) && (flags & HKV_ZADD_LT)))
		return -EINVAL;
	if (flags & HKV_ZADD_NX)
		strcat(fl, "NX ");
	if (flags & HKV_ZADD_XX)
		strcat(fl, "XX ");
	if (flags & HKV_ZADD_GT)
		strcat(fl, "GT ");
	if (flags & HKV_ZADD_LT)
		strcat(fl, "LT ");
	if (flags & HKV_ZADD_CH)
		strcat(fl, "CH ");
	if (flags & HKV_ZADD_INCR)
		strcat(fl, "INCR ");
	if (isinf(score))
		snprintf(sc, sizeof(sc), "%s", score > 0 ? "+inf" : "-inf");
	else
		snprintf(sc, sizeof(sc), "%.17g", score);
	xl[0] = strlen(fl);
	xl[1] = strlen(sc);
	xl[2] = mlen;
	rc = rbe_keys_init(r, &ks, key, klen);
	if (rc)
		return rc;
	rc = rbe_eval(r, &ks, true, lua_zadd, ca, 3, x, xl, &v, "ZADD");
	rbe_keys_release(&ks);
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem != 3) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	if (flags & HKV_ZADD_INCR)
		rc = v->elem[0]->type == HKV_RESP_NULL ? 0 : 1;
	else
		rc = (int)rbe_int(v->elem[0]);
	if (out)
		*out = v->elem[1]->type == HKV_RESP_BULK ? strtod(v->elem[1]->str, NULL) : NAN;
	if (rbe_int(v->elem[2]))
		rbe_changed(r, key, klen, false);
	hkv_resp_value_free(v);
	return rc;
}

int rbe_zrem(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	     size_t mlen)
{
	const void *a[1] = { member };
	size_t al[1] = { mlen };
	long long n;
	int rc;

	rc = coll_int(rbe_of(be), key, klen, "zset", true, "ZREM", 1, a, al, NULL, &n);
	return rc ? rc : (int)n;
}

int rbe_zscore(struct hkvfs_be *be, const void *key, size_t klen, const void *member,
	       size_t mlen, double *out)
{
	const void *a[1] = { member };
	size_t al[1] = { mlen };
	struct hkv_resp_value *v;
	int rc;

	rc = coll_read(rbe_of(be), key, klen, "ZSCORE", 1, a, al, &v);
	if (rc)
		return rc;
	if (v->type == HKV_RESP_NULL) {
		rc = -ENOENT;
	} else if (v->type == HKV_RESP_DOUBLE) {
		*out = v->dbl;
	} else if (v->type == HKV_RESP_BULK) {
		*out = strtod(v->str, NULL);
	} else {
		rc = -EIO;
	}
	hkv_resp_value_free(v);
	return rc;
}

int rbe_zwalk(struct hkvfs_be *be, const void *key, size_t klen, struct hkv_cursor *cur,
	      size_t count, hkv_zrange_fn cb, void *arg)
{
	uint64_t rank = 0;
	char b1[32], b2[32];
	const void *a[3] = { b1, b2, "WITHSCORES" };
	size_t al[3], i;
	struct hkv_resp_value *v;
	int rc, reported = 0;

	if (cur->done)
		return 0;
	if (cur->len == 8)
		memcpy(&rank, cur->pos, 8);
	else if (cur->len != 0)
		return -EINVAL;
	if (!count)
		count = 10;
	snprintf(b1, sizeof(b1), "%llu", (unsigned long long)rank);
	snprintf(b2, sizeof(b2), "%llu", (unsigned long long)(rank + count - 1));
	al[0] = strlen(b1);
	al[1] = strlen(b2);
	al[2] = strlen("WITHSCORES");
	rc = coll_read(rbe_of(be), key, klen, "ZRANGE", 3, a, al, &v);
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	for (i = 0; i + 1 < v->nelem; i += 2) {
		const struct hkv_resp_value *m = v->elem[i], *s = v->elem[i + 1];
		double score = s->type == HKV_RESP_DOUBLE ? s->dbl : strtod(s->str, NULL);

		rc = cb(arg, m->str, m->len, score);
		if (rc) {
			uint64_t at = rank + i / 2 + (rc == HKV_SCAN_AGAIN ? 0 : 1);

			memcpy(cur->pos, &at, 8);
			cur->len = 8;
			hkv_resp_value_free(v);
			return rc;
		}
		reported++;
	}
	rank += v->nelem / 2;
	memcpy(cur->pos, &rank, 8);
	cur->len = 8;
	cur->done = v->nelem / 2 < count;
	hkv_resp_value_free(v);
	return reported;
}
