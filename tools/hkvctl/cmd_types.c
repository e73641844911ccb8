/* SPDX-License-Identifier: MIT */
/*
 * cmd_types.c - hkvctl's hash, list, set and sorted-set commands.
 *
 * Commands that take several elements (HSET k f v f v, SADD k m m, ZADD k s m s m, ...) call
 * the engine once per element. That is not one atomic transaction, but hkvctl holds the
 * store's lock for the whole command, so no other process can observe the steps; a failure
 * half-way is reported as an error, with the elements before it applied.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkvctl.h"

#define KEY(i) argv[i], strlen(argv[i])

static struct ctl_reply *not_int(void)
{
	return reply_usage("ERR value is not an integer or out of range");
}

static struct ctl_reply *syntax_error(void)
{
	return reply_usage("ERR syntax error");
}

static struct ctl_reply *int_or_err(int64_t v)
{
	return v < 0 ? reply_engine((int)v) : reply_int(v);
}

/* Collects (a, b) pairs into an array: both if @pairs, else only a. */
struct collect {
	struct ctl_reply *arr;
	bool pairs;
};

static int collect_elem(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct collect *c = arg;

	reply_push(c->arr, reply_bulk(a, alen));
	if (c->pairs)
		reply_push(c->arr, reply_bulk(b ? b : "", b ? blen : 0));
	return 0;
}

static int collect_scored(void *arg, const void *member, size_t mlen, double score)
{
	struct collect *c = arg;

	reply_push(c->arr, reply_bulk(member, mlen));
	if (c->pairs)
		reply_push(c->arr, reply_double(score));
	return 0;
}

static struct ctl_reply *collected(struct collect *c, int rc)
{
	if (rc < 0) {
		reply_free(c->arr);
		return reply_engine(rc);
	}
	return c->arr;
}

/* Hashes -------------------------------------------------------------------------------- */

static struct ctl_reply *cmd_hset(struct hkv *db, int argc, char **argv)
{
	int64_t added = 0;
	int i, rc;

	if (argc % 2)
		return reply_usage("ERR wrong number of arguments for 'hset' command");
	for (i = 2; i < argc; i += 2) {
		rc = hkv_hset(db, KEY(1), KEY(i), KEY(i + 1), NULL);
		if (rc < 0)
			return reply_engine(rc);
		added += rc;
	}
	return reply_int(added);
}

static struct ctl_reply *cmd_hsetnx(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_hsetnx(db, KEY(1), KEY(2), KEY(3), NULL));
}

static struct ctl_reply *cmd_hget(struct hkv *db, int argc, char **argv)
{
	struct hkv_buf b = { 0 };
	int rc;

	(void)argc;
	rc = hkv_hget(db, KEY(1), KEY(2), &b);
	if (rc == -ENOENT)
		return reply_nil();
	return rc ? reply_engine(rc) : reply_bulk_take(&b);
}

static struct ctl_reply *cmd_hmget(struct hkv *db, int argc, char **argv)
{
	struct ctl_reply *r = reply_array();
	struct hkv_buf b;
	int i, rc;

	for (i = 2; i < argc; i++) {
		memset(&b, 0, sizeof(b));
		rc = hkv_hget(db, KEY(1), KEY(i), &b);
		if (rc == -ENOENT) {
			reply_push(r, reply_nil());
		} else if (rc) {
			reply_free(r);
			return reply_engine(rc);
		} else {
			reply_push(r, reply_bulk_take(&b));
		}
	}
	return r;
}

static struct ctl_reply *cmd_hdel(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 2; i < argc; i++) {
		rc = hkv_hdel(db, KEY(1), KEY(i));
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_hexists(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_hexists(db, KEY(1), KEY(2)));
}

static struct ctl_reply *cmd_hlen(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_hlen(db, KEY(1)));
}

static struct ctl_reply *hgetall_common(struct hkv *db, char **argv, bool keys, bool vals)
{
	struct collect c = { reply_array(), true };
	struct ctl_reply *r;
	size_t i, j;

	r = collected(&c, hkv_hgetall(db, KEY(1), collect_elem, &c));
	if (r->kind != CTL_REPLY_ARRAY || (keys && vals))
		return r;
	/* HKEYS / HVALS: keep every other element. */
	for (i = 0, j = 0; i < r->nelem; i++) {
		if ((i % 2 == 0) == keys)
			r->elem[j++] = r->elem[i];
		else
			reply_free(r->elem[i]);
	}
	r->nelem = j;
	return r;
}

static struct ctl_reply *cmd_hgetall(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return hgetall_common(db, argv, true, true);
}

static struct ctl_reply *cmd_hkeys(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return hgetall_common(db, argv, true, false);
}

static struct ctl_reply *cmd_hvals(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return hgetall_common(db, argv, false, true);
}

static struct ctl_reply *cmd_hincrby(struct hkv *db, int argc, char **argv)
{
	int64_t d, v;
	int rc;

	(void)argc;
	if (!parse_ll(argv[3], &d))
		return not_int();
	rc = hkv_hincrby(db, KEY(1), KEY(2), d, &v);
	if (rc == -HKV_ENOTINT)
		return reply_err("ERR hash value is not an integer or out of range");
	return rc ? reply_engine(rc) : reply_int(v);
}

static struct ctl_reply *cmd_hscan(struct hkv *db, int argc, char **argv)
{
	struct collect c = { NULL, true };
	struct ctl_scan_args a;
	struct ctl_reply *r;
	int rc;

	r = parse_scan_args(argc - 2, argv + 2, false, &a);
	if (r)
		return r;
	c.arr = reply_array();
	rc = hkv_hscan(db, KEY(1), &a.cur, a.match, a.count, collect_elem, &c);
	if (rc < 0)
		return collected(&c, rc);
	return scan_reply(&a.cur, c.arr);
}

/* Lists --------------------------------------------------------------------------------- */

static struct ctl_reply *push_common(struct hkv *db, int argc, char **argv, bool left)
{
	int64_t n = 0;
	int i;

	for (i = 2; i < argc; i++) {
		n = left ? hkv_lpush(db, KEY(1), KEY(i), NULL) : hkv_rpush(db, KEY(1), KEY(i), NULL);
		if (n < 0)
			return reply_engine((int)n);
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_lpush(struct hkv *db, int argc, char **argv)
{
	return push_common(db, argc, argv, true);
}

static struct ctl_reply *cmd_rpush(struct hkv *db, int argc, char **argv)
{
	return push_common(db, argc, argv, false);
}

/* LPOP/RPOP key [count]: one bulk without count, an array with it (nil if no key). */
static struct ctl_reply *pop_common(struct hkv *db, int argc, char **argv, bool left)
{
	struct hkv_buf b = { 0 };
	struct ctl_reply *arr;
	int64_t count = 1, i;
	int rc;

	if (argc > 3)
		return syntax_error();
	if (argc == 3 && (!parse_ll(argv[2], &count) || count < 0))
		return reply_usage("ERR value is out of range, must be positive");
	if (argc == 2) {
		rc = left ? hkv_lpop(db, KEY(1), &b) : hkv_rpop(db, KEY(1), &b);
		if (rc == -ENOENT)
			return reply_nil();
		return rc ? reply_engine(rc) : reply_bulk_take(&b);
	}
	rc = hkv_type(db, KEY(1));
	if (rc < 0)
		return reply_engine(rc);
	if (rc == HKV_TYPE_NONE)
		return reply_nil();
	if (rc != HKV_TYPE_LIST)
		return reply_engine(-HKV_EWRONGTYPE);
	arr = reply_array();
	for (i = 0; i < count; i++) {
		rc = left ? hkv_lpop(db, KEY(1), &b) : hkv_rpop(db, KEY(1), &b);
		if (rc == -ENOENT)
			break;
		if (rc) {
			reply_free(arr);
			return reply_engine(rc);
		}
		reply_push(arr, reply_bulk_take(&b));
	}
	return arr;
}

static struct ctl_reply *cmd_lpop(struct hkv *db, int argc, char **argv)
{
	return pop_common(db, argc, argv, true);
}

static struct ctl_reply *cmd_rpop(struct hkv *db, int argc, char **argv)
{
	return pop_common(db, argc, argv, false);
}

static struct ctl_reply *cmd_lindex(struct hkv *db, int argc, char **argv)
{
	struct hkv_buf b = { 0 };
	int64_t idx;
	int rc;

	(void)argc;
	if (!parse_ll(argv[2], &idx))
		return not_int();
	rc = hkv_lindex(db, KEY(1), idx, &b);
	if (rc == -ENOENT)
		return reply_nil();
	return rc ? reply_engine(rc) : reply_bulk_take(&b);
}

static struct ctl_reply *cmd_lset(struct hkv *db, int argc, char **argv)
{
	int64_t idx;
	int rc;

	(void)argc;
	if (!parse_ll(argv[2], &idx))
		return not_int();
	rc = hkv_lset(db, KEY(1), idx, KEY(3));
	if (rc == -ERANGE)
		return reply_err("ERR index out of range");
	return rc ? reply_engine(rc) : reply_status("OK");
}

static struct ctl_reply *cmd_lrange(struct hkv *db, int argc, char **argv)
{
	struct collect c = { NULL, false };
	int64_t start, stop;

	(void)argc;
	if (!parse_ll(argv[2], &start) || !parse_ll(argv[3], &stop))
		return not_int();
	c.arr = reply_array();
	return collected(&c, hkv_lrange(db, KEY(1), start, stop, collect_elem, &c));
}

static struct ctl_reply *cmd_llen(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_llen(db, KEY(1)));
}

static struct ctl_reply *cmd_lrem(struct hkv *db, int argc, char **argv)
{
	int64_t count;

	(void)argc;
	if (!parse_ll(argv[2], &count))
		return not_int();
	return int_or_err(hkv_lrem(db, KEY(1), count, KEY(3)));
}

static struct ctl_reply *cmd_ltrim(struct hkv *db, int argc, char **argv)
{
	int64_t start, stop;
	int rc;

	(void)argc;
	if (!parse_ll(argv[2], &start) || !parse_ll(argv[3], &stop))
		return not_int();
	rc = hkv_ltrim(db, KEY(1), start, stop);
	return rc ? reply_engine(rc) : reply_status("OK");
}

static struct ctl_reply *cmd_linsert(struct hkv *db, int argc, char **argv)
{
	bool before;
	int64_t n;

	(void)argc;
	if (arg_is(argv[2], "before"))
		before = true;
	else if (arg_is(argv[2], "after"))
		before = false;
	else
		return syntax_error();
	n = hkv_linsert(db, KEY(1), before, KEY(3), KEY(4));
	return n < -1 ? reply_engine((int)n) : reply_int(n);
}

/* Sets ---------------------------------------------------------------------------------- */

static struct ctl_reply *cmd_sadd(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 2; i < argc; i++) {
		rc = hkv_sadd(db, KEY(1), KEY(i), NULL);
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_srem(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 2; i < argc; i++) {
		rc = hkv_srem(db, KEY(1), KEY(i));
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_sismember(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_sismember(db, KEY(1), KEY(2)));
}

static struct ctl_reply *cmd_scard(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_scard(db, KEY(1)));
}

static struct ctl_reply *cmd_smembers(struct hkv *db, int argc, char **argv)
{
	struct collect c = { reply_array(), false };

	(void)argc;
	return collected(&c, hkv_smembers(db, KEY(1), collect_elem, &c));
}

static struct ctl_reply *cmd_sscan(struct hkv *db, int argc, char **argv)
{
	struct collect c = { NULL, false };
	struct ctl_scan_args a;
	struct ctl_reply *r;
	int rc;

	r = parse_scan_args(argc - 2, argv + 2, false, &a);
	if (r)
		return r;
	c.arr = reply_array();
	rc = hkv_sscan(db, KEY(1), &a.cur, a.match, a.count, collect_elem, &c);
	if (rc < 0)
		return collected(&c, rc);
	return scan_reply(&a.cur, c.arr);
}

/* Sorted sets --------------------------------------------------------------------------- */

static struct ctl_reply *cmd_zadd(struct hkv *db, int argc, char **argv)
{
	unsigned flags = 0;
	int64_t n = 0;
	double score, out;
	int i, j, rc;

	for (i = 2; i < argc; i++) {
		if (arg_is(argv[i], "nx"))
			flags |= HKV_ZADD_NX;
		else if (arg_is(argv[i], "xx"))
			flags |= HKV_ZADD_XX;
		else if (arg_is(argv[i], "gt"))
			flags |= HKV_ZADD_GT;
		else if (arg_is(argv[i], "lt"))
			flags |= HKV_ZADD_LT;
		else if (arg_is(argv[i], "ch"))
			flags |= HKV_ZADD_CH;
		else if (arg_is(argv[i], "incr"))
			flags |= HKV_ZADD_INCR;
		else
			break;
	}
	if (i == argc || (argc - i) % 2)
		return syntax_error();
	if ((flags & HKV_ZADD_NX) && (flags & HKV_ZADD_XX))
		return reply_usage("ERR XX and NX options at the same time are not compatible");
	if (((flags & HKV_ZADD_GT) && (flags & (HKV_ZADD_NX | HKV_ZADD_LT))) ||
	    ((flags & HKV_ZADD_LT) && (flags & HKV_ZADD_NX)))
		return reply_usage("ERR GT, LT, and/or NX options at the same time are not "
				   "compatible");
	if ((flags & HKV_ZADD_INCR) && argc - i != 2)
		return reply_usage("ERR INCR option supports a single increment-element pair");
	/* Every score is checked before anything is added, as Redis does. */
	for (j = i; j < argc; j += 2)
		if (!parse_double(argv[j], &score))
			return reply_usage("ERR value is not a valid float");
	for (j = i; j < argc; j += 2) {
		parse_double(argv[j], &score);
		rc = hkv_zadd(db, KEY(1), score, KEY(j + 1), flags, &out, NULL);
		if (rc < 0)
			return reply_engine(rc);
		if (flags & HKV_ZADD_INCR)
			return isnan(out) ? reply_nil() : reply_double(out);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_zrem(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 2; i < argc; i++) {
		rc = hkv_zrem(db, KEY(1), KEY(i));
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_zscore(struct hkv *db, int argc, char **argv)
{
	double s;
	int rc;

	(void)argc;
	rc = hkv_zscore(db, KEY(1), KEY(2), &s);
	if (rc == -ENOENT)
		return reply_nil();
	return rc ? reply_engine(rc) : reply_double(s);
}

static struct ctl_reply *cmd_zincrby(struct hkv *db, int argc, char **argv)
{
	double d, s;
	int rc;

	(void)argc;
	if (!parse_double(argv[2], &d))
		return reply_usage("ERR value is not a valid float");
	rc = hkv_zincrby(db, KEY(1), d, KEY(3), &s);
	return rc ? reply_engine(rc) : reply_double(s);
}

static struct ctl_reply *cmd_zcard(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return int_or_err(hkv_zcard(db, KEY(1)));
}

static struct ctl_reply *rank_common(struct hkv *db, char **argv, bool rev)
{
	int64_t r = hkv_zrank(db, KEY(1), KEY(2), rev);

	if (r == -ENOENT)
		return reply_nil();
	return int_or_err(r);
}

static struct ctl_reply *cmd_zrank(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return rank_common(db, argv, false);
}

static struct ctl_reply *cmd_zrevrank(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return rank_common(db, argv, true);
}

/* A ZRANGE BYSCORE bound: "1.5", "(1.5" (exclusive), "-inf", "+inf". */
static bool parse_score_bound(const char *s, double *v, bool *excl)
{
	*excl = *s == '(';
	return parse_double(s + *excl, v);
}

static struct ctl_reply *cmd_zrange(struct hkv *db, int argc, char **argv)
{
	struct hkv_zrange_opts o = { 0 };
	struct collect c = { NULL, false };
	bool limit = false;
	int i;

	o.limit = -1;
	for (i = 4; i < argc; i++) {
		if (arg_is(argv[i], "byscore")) {
			o.by_score = true;
		} else if (arg_is(argv[i], "rev")) {
			o.rev = true;
		} else if (arg_is(argv[i], "withscores")) {
			c.pairs = true;
		} else if (arg_is(argv[i], "limit") && i + 2 < argc) {
			if (!parse_ll(argv[i + 1], &o.offset) || !parse_ll(argv[i + 2], &o.limit))
				return not_int();
			limit = true;
			i += 2;
		} else if (arg_is(argv[i], "bylex")) {
			return reply_usage("ERR BYLEX is not supported");
		} else {
			return syntax_error();
		}
	}
	if (limit && !o.by_score)
		return reply_usage("ERR syntax error, LIMIT is only supported in combination with "
				   "either BYSCORE or BYLEX");
	if (o.by_score) {
		/* With REV, Redis takes the bounds as "max min". */
		const char *lo = o.rev ? argv[3] : argv[2];
		const char *hi = o.rev ? argv[2] : argv[3];

		if (!parse_score_bound(lo, &o.min, &o.min_excl) ||
		    !parse_score_bound(hi, &o.max, &o.max_excl))
			return reply_usage("ERR min or max is not a float");
	} else if (!parse_ll(argv[2], &o.start) || !parse_ll(argv[3], &o.stop)) {
		return not_int();
	}
	c.arr = reply_array();
	return collected(&c, hkv_zrange(db, KEY(1), &o, collect_scored, &c));
}

static struct ctl_reply *cmd_zscan(struct hkv *db, int argc, char **argv)
{
	struct collect c = { NULL, true };
	struct ctl_scan_args a;
	struct ctl_reply *r;
	int rc;

	r = parse_scan_args(argc - 2, argv + 2, false, &a);
	if (r)
		return r;
	c.arr = reply_array();
	rc = hkv_zscan(db, KEY(1), &a.cur, a.match, a.count, collect_scored, &c);
	if (rc < 0)
		return collected(&c, rc);
	return scan_reply(&a.cur, c.arr);
}

#define W CTL_CMD_WRITE
const struct ctl_cmd ctl_types_cmds[] = {
	{ "hset", -4, W, cmd_hset, "KEY FIELD VALUE [FIELD VALUE...]",
	  "set hash fields, print how many were new" },
	{ "hsetnx", 4, W, cmd_hsetnx, "KEY FIELD VALUE", "set a hash field if it is new" },
	{ "hget", 3, 0, cmd_hget, "KEY FIELD", "value of a hash field" },
	{ "hmget", -3, 0, cmd_hmget, "KEY FIELD [FIELD...]", "values of several hash fields" },
	{ "hdel", -3, W, cmd_hdel, "KEY FIELD [FIELD...]", "delete hash fields" },
	{ "hexists", 3, 0, cmd_hexists, "KEY FIELD", "1 if the hash field exists" },
	{ "hlen", 2, 0, cmd_hlen, "KEY", "number of hash fields" },
	{ "hgetall", 2, 0, cmd_hgetall, "KEY", "every field and value, in field order" },
	{ "hkeys", 2, 0, cmd_hkeys, "KEY", "every field name" },
	{ "hvals", 2, 0, cmd_hvals, "KEY", "every field value" },
	{ "hincrby", 4, W, cmd_hincrby, "KEY FIELD DELTA", "add to an integer hash field" },
	{ "hscan", -3, 0, cmd_hscan, "KEY CURSOR [MATCH PATTERN] [COUNT N]",
	  "walk hash fields: next cursor, then field/value pairs" },
	{ "lpush", -3, W, cmd_lpush, "KEY VALUE [VALUE...]", "push at the head, print length" },
	{ "rpush", -3, W, cmd_rpush, "KEY VALUE [VALUE...]", "push at the tail, print length" },
	{ "lpop", -2, W, cmd_lpop, "KEY [COUNT]", "pop from the head" },
	{ "rpop", -2, W, cmd_rpop, "KEY [COUNT]", "pop from the tail" },
	{ "lindex", 3, 0, cmd_lindex, "KEY INDEX", "element at INDEX (negative from the tail)" },
	{ "lset", 4, W, cmd_lset, "KEY INDEX VALUE", "replace the element at INDEX" },
	{ "lrange", 4, 0, cmd_lrange, "KEY START STOP", "elements START..STOP inclusive" },
	{ "llen", 2, 0, cmd_llen, "KEY", "length of the list" },
	{ "lrem", 4, W, cmd_lrem, "KEY COUNT VALUE",
	  "remove COUNT occurrences (<0 from the tail, 0 all)" },
	{ "ltrim", 4, W, cmd_ltrim, "KEY START STOP", "keep only elements START..STOP" },
	{ "linsert", 5, W, cmd_linsert, "KEY BEFORE|AFTER PIVOT VALUE",
	  "insert next to the first PIVOT" },
	{ "sadd", -3, W, cmd_sadd, "KEY MEMBER [MEMBER...]", "add members, print how many new" },
	{ "srem", -3, W, cmd_srem, "KEY MEMBER [MEMBER...]", "remove members" },
	{ "sismember", 3, 0, cmd_sismember, "KEY MEMBER", "1 if MEMBER is in the set" },
	{ "smembers", 2, 0, cmd_smembers, "KEY", "every member, in byte order" },
	{ "scard", 2, 0, cmd_scard, "KEY", "number of members" },
	{ "sscan", -3, 0, cmd_sscan, "KEY CURSOR [MATCH PATTERN] [COUNT N]",
	  "walk set members: next cursor, then members" },
	{ "zadd", -4, W, cmd_zadd, "KEY [NX|XX] [GT|LT] [CH] [INCR] SCORE MEMBER [SCORE MEMBER...]",
	  "add members with scores" },
	{ "zrem", -3, W, cmd_zrem, "KEY MEMBER [MEMBER...]", "remove members" },
	{ "zscore", 3, 0, cmd_zscore, "KEY MEMBER", "score of MEMBER" },
	{ "zincrby", 4, W, cmd_zincrby, "KEY DELTA MEMBER", "add DELTA to the score of MEMBER" },
	{ "zrange", -4, 0, cmd_zrange,
	  "KEY START STOP [BYSCORE] [REV] [LIMIT OFFSET COUNT] [WITHSCORES]",
	  "members by rank or (BYSCORE) by score; \"(1.5\" excludes, -inf/+inf" },
	{ "zrank", 3, 0, cmd_zrank, "KEY MEMBER", "rank by ascending score" },
	{ "zrevrank", 3, 0, cmd_zrevrank, "KEY MEMBER", "rank by descending score" },
	{ "zcard", 2, 0, cmd_zcard, "KEY", "number of members" },
	{ "zscan", -3, 0, cmd_zscan, "KEY CURSOR [MATCH PATTERN] [COUNT N]",
	  "walk members: next cursor, then member/score pairs" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};
#undef W
