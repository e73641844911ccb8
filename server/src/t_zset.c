// SPDX-License-Identifier: MIT
/*
 * t_zset.c - sorted set commands.
 *
 * The engine orders a sorted set by (score, member bytes) in a score index, so ranges by rank
 * and by score, ZRANK and pops at both ends are index walks. Lexicographical ranges (BYLEX,
 * ZLEXCOUNT, ZREMRANGEBYLEX) are meaningful, as in Redis, when all scores are equal: the set is
 * walked in rank order and members compared bytewise. The set operations (ZUNION, ZINTER,
 * ZDIFF and their STORE forms) read their inputs, which may be sets (score 1) or sorted sets,
 * merge them by member and write the result.
 *
 * Replies follow Redis 7.0: scores are doubles (bulk "%.17g" in RESP2), WITHSCORES is a flat
 * array in RESP2 and an array of [member, score] pairs in RESP3.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

/* ---- ranges --------------------------------------------------------------------------- */

struct srange {
	double min, max;
	bool minex, maxex;
};

/* zslParseRange: "(" makes a bound exclusive; strtod over the rest (which may be empty). */
static bool parse_score_bound(const char *s, double *v, bool *ex)
{
	char *end;

	*ex = false;
	if (s[0] == '(') {
		*ex = true;
		s++;
	}
	*v = strtod(s, &end);
	return *end == 0 && !isnan(*v);
}

static bool parse_srange(struct client *c, int mini, int maxi, struct srange *r)
{
	if (!parse_score_bound(c->argv[mini], &r->min, &r->minex) ||
	    !parse_score_bound(c->argv[maxi], &r->max, &r->maxex) ||
	    strlen(c->argv[mini]) != c->argvlen[mini] || strlen(c->argv[maxi]) != c->argvlen[maxi]) {
		add_error(c, "min or max is not a float");
		return false;
	}
	return true;
}

struct lrange {
	const char *min, *max;
	size_t minlen, maxlen;
	int mininf, maxinf; /* -1 "-", +1 "+", 0 a value */
	bool minex, maxex;
};

static bool parse_lex_bound(const char *s, size_t len, const char **v, size_t *vl, int *inf,
			    bool *ex)
{
	*inf = 0;
	*ex = false;
	if (len == 1 && s[0] == '+') {
		*inf = 1;
		return true;
	}
	if (len == 1 && s[0] == '-') {
		*inf = -1;
		return true;
	}
	if (len >= 1 && (s[0] == '(' || s[0] == '[')) {
		*ex = s[0] == '(';
		*v = s + 1;
		*vl = len - 1;
		return true;
	}
	return false;
}

static bool parse_lrange(struct client *c, int mini, int maxi, struct lrange *r)
{
	if (!parse_lex_bound(c->argv[mini], c->argvlen[mini], &r->min, &r->minlen, &r->mininf,
			     &r->minex) ||
	    !parse_lex_bound(c->argv[maxi], c->argvlen[maxi], &r->max, &r->maxlen, &r->maxinf,
			     &r->maxex)) {
		add_error(c, "min or max not valid string range item");
		return false;
	}
	return true;
}

static int memcmp2(const char *a, size_t al, const char *b, size_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);

	return r ? r : (al < bl ? -1 : al > bl);
}

static bool lex_gte_min(const struct lrange *r, const char *m, size_t ml)
{
	if (r->mininf)
		return r->mininf < 0;
	int cmp = memcmp2(m, ml, r->min, r->minlen);

	return r->minex ? cmp > 0 : cmp >= 0;
}

static bool lex_lte_max(const struct lrange *r, const char *m, size_t ml)
{
	if (r->maxinf)
		return r->maxinf > 0;
	int cmp = memcmp2(m, ml, r->max, r->maxlen);

	return r->maxex ? cmp < 0 : cmp <= 0;
}

static bool lrange_empty(const struct lrange *r)
{
	if (r->mininf > 0 || r->maxinf < 0)
		return true;
	if (r->mininf || r->maxinf)
		return false;
	int cmp = memcmp2(r->min, r->minlen, r->max, r->maxlen);

	return cmp > 0 || (cmp == 0 && (r->minex || r->maxex));
}

/* ---- replies ---------------------------------------------------------------------------- */

static void reply_members(struct client *c, const struct elems *e, bool withscores)
{
	add_array(c, (long long)(withscores && c->out.proto == 2 ? e->n * 2 : e->n));
	for (size_t i = 0; i < e->n; i++) {
		if (withscores && c->out.proto == 3)
			add_array(c, 2);
		add_bulk(c, elem_a(e, i), e->v[i].alen);
		if (withscores)
			add_double(c, e->v[i].score);
	}
}

/* Replace @dst with the members and scores in @e; reply the count. */
static int store_zset(struct client *c, const char *dst, size_t dlen, const struct elems *e,
		      const char *event)
{
	int rc;
	bool existed;

	if (writes_refused(c))
		return -1;
	rc = hkv_del(c->db, dst, dlen);
	if (rc < 0) {
		add_err_engine(c, rc);
		return -1;
	}
	existed = rc == 1;
	for (size_t i = 0; i < e->n; i++) {
		rc = hkv_zadd(c->db, dst, dlen, e->v[i].score, elem_a(e, i), e->v[i].alen, 0,
			      NULL, NULL);
		if (rc < 0) {
			add_err_engine(c, rc);
			return -1;
		}
	}
	if (e->n) {
		if (!existed)
			notify_event(c->srv, NOTIFY_NEW, "new", dst, dlen);
		key_modified(c, NOTIFY_ZSET, event, dst, dlen);
	} else if (existed) {
		key_modified(c, NOTIFY_GENERIC, "del", dst, dlen);
	}
	add_int(c, (long long)e->n);
	return 0;
}

/* ---- ZADD, ZINCRBY, ZREM --------------------------------------------------------------- */

static void zadd_generic(struct client *c, bool incr_cmd)
{
	unsigned flags = 0;
	bool ch = false, incr = incr_cmd, exists;
	int idx = 2, pairs;
	double *scores = NULL, out = 0;
	long long changed = 0, processed = 0;
	int64_t before = 0, after;

	if (incr_cmd) {
		/* ZINCRBY key increment member */
		idx = 2;
	} else {
		for (; idx < c->argc; idx++) {
			if (arg_eq(c, idx, "nx"))
				flags |= HKV_ZADD_NX;
			else if (arg_eq(c, idx, "xx"))
				flags |= HKV_ZADD_XX;
			else if (arg_eq(c, idx, "ch"))
				ch = true;
			else if (arg_eq(c, idx, "incr"))
				incr = true;
			else if (arg_eq(c, idx, "gt"))
				flags |= HKV_ZADD_GT;
			else if (arg_eq(c, idx, "lt"))
				flags |= HKV_ZADD_LT;
			else
				break;
		}
	}
	pairs = c->argc - idx;
	if (pairs % 2 || !pairs) {
		add_err_syntax(c);
		return;
	}
	pairs /= 2;
	if ((flags & HKV_ZADD_NX) && (flags & HKV_ZADD_XX)) {
		add_error(c, "XX and NX options at the same time are not compatible");
		return;
	}
	if (((flags & HKV_ZADD_GT) && (flags & HKV_ZADD_NX)) ||
	    ((flags & HKV_ZADD_LT) && (flags & HKV_ZADD_NX)) ||
	    ((flags & HKV_ZADD_GT) && (flags & HKV_ZADD_LT))) {
		add_error(c, "GT, LT, and/or NX options at the same time are not compatible");
		return;
	}
	if (incr && pairs > 1) {
		add_error(c, "INCR option supports a single increment-element pair");
		return;
	}
	scores = malloc((size_t)pairs * sizeof(*scores));
	if (!scores) {
		add_error(c, "-OOM out of memory");
		return;
	}
	for (int j = 0; j < pairs; j++)
		if (!get_double_or_reply(c, idx + 2 * j, &scores[j], NULL))
			goto out;
	if (!check_type(c, 1, HKV_TYPE_ZSET, &exists))
		goto out;
	if (!exists && (flags & HKV_ZADD_XX)) {
		if (incr)
			add_null(c);
		else
			add_int(c, 0);
		goto out;
	}
	if (writes_refused(c))
		goto out;
	before = exists ? hkv_zcard(c->db, c->argv[1], c->argvlen[1]) : 0;
	for (int j = 0; j < pairs; j++) {
		unsigned f = flags | HKV_ZADD_CH | (incr ? HKV_ZADD_INCR : 0);
		int rc = hkv_zadd(c->db, c->argv[1], c->argvlen[1], scores[j],
				  c->argv[idx + 2 * j + 1], c->argvlen[idx + 2 * j + 1], f, &out, NULL);

		if (rc == -HKV_ENOSCORE || rc == -HKV_ENOTFLOAT) {
			add_error(c, "resulting score is not a number (NaN)");
			goto events;
		}
		if (rc < 0) {
			add_err_engine(c, rc);
			goto events;
		}
		changed += rc;
		if (incr)
			processed = !isnan(out);
	}
	after = hkv_zcard(c->db, c->argv[1], c->argvlen[1]);
	if (incr) {
		if (processed)
			add_double(c, out);
		else
			add_null(c);
	} else {
		add_int(c, ch ? changed : after - before);
	}
events:
	if (changed) {
		if (!exists)
			notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
		key_modified(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", c->argv[1], c->argvlen[1]);
	}
out:
	free(scores);
}

void zadd_command(struct client *c)
{
	zadd_generic(c, false);
}

void zincrby_command(struct client *c)
{
	zadd_generic(c, true);
}

static void removed_event(struct client *c, const char *event, const char *key, size_t klen)
{
	key_modified(c, NOTIFY_ZSET, event, key, klen);
	if (hkv_exists(c->db, key, klen) == 0)
		notify_event(c->srv, NOTIFY_GENERIC, "del", key, klen);
}

void zrem_command(struct client *c)
{
	long long deleted = 0;

	if (!check_type(c, 1, HKV_TYPE_ZSET, NULL) || writes_refused(c))
		return;
	for (int i = 2; i < c->argc; i++) {
		int rc = hkv_zrem(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i]);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		deleted += rc;
	}
	if (deleted)
		removed_event(c, "zrem", c->argv[1], c->argvlen[1]);
	add_int(c, deleted);
}

void zcard_command(struct client *c)
{
	int64_t n = hkv_zcard(c->db, c->argv[1], c->argvlen[1]);

	if (n < 0)
		add_err_engine(c, (int)n);
	else
		add_int(c, n);
}

void zscore_command(struct client *c)
{
	double s;
	int rc = hkv_zscore(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], &s);

	if (rc == -ENOENT)
		add_null(c);
	else if (rc)
		add_err_engine(c, rc);
	else
		add_double(c, s);
}

void zmscore_command(struct client *c)
{
	if (!check_type(c, 1, HKV_TYPE_ZSET, NULL))
		return;
	add_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		double s;

		if (hkv_zscore(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i],
			       &s) == 0)
			add_double(c, s);
		else
			add_null(c);
	}
}

static void zrank_generic(struct client *c, bool rev)
{
	int64_t r = hkv_zrank(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2],
			      rev);

	if (r == -ENOENT)
		add_null(c);
	else if (r < 0)
		add_err_engine(c, (int)r);
	else
		add_int(c, r);
}

void zrank_command(struct client *c)
{
	zrank_generic(c, false);
}

void zrevrank_command(struct client *c)
{
	zrank_generic(c, true);
}

/* ---- ranges ------------------------------------------------------------------------------ */

enum rtype { R_AUTO, R_RANK, R_SCORE, R_LEX };
enum rdir { D_AUTO, D_FWD, D_REV };

/*
 * Collect the members ZRANGE's arguments select. Return: 1 collected (@e), 0 the key is
 * absent (nothing replied), -1 replied an error.
 */
struct zspec {
	enum rtype type;
	enum rdir dir;
	bool withscores;
	long long offset, limit;
	long long start, end;
	struct srange sr;
	struct lrange lr;
};

static int collect_lex(struct client *c, const char *key, size_t klen, const struct zspec *s,
		       struct elems *out)
{
	struct elems all;
	long long skip = s->offset, left = s->limit;
	int rc;

	elems_init(&all);
	rc = elems_load_zset(c->db, key, klen, &all);
	if (rc) {
		elems_free(&all);
		return rc;
	}
	if (s->offset < 0 || lrange_empty(&s->lr))
		goto done;
	for (size_t k = 0; k < all.n; k++) {
		size_t i = s->dir == D_REV ? all.n - 1 - k : k;
		const char *m = elem_a(&all, i);
		size_t ml = all.v[i].alen;

		if (!lex_gte_min(&s->lr, m, ml) || !lex_lte_max(&s->lr, m, ml))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		if (left == 0)
			break;
		elems_push(out, m, ml, NULL, 0, all.v[i].score);
		if (left > 0)
			left--;
	}
done:
	elems_free(&all);
	return 0;
}

static int collect_range(struct client *c, const char *key, size_t klen, const struct zspec *s,
			 struct elems *out)
{
	struct hkv_zrange_opts o = { .limit = -1 };

	if (s->type == R_LEX)
		return collect_lex(c, key, klen, s, out);
	o.rev = s->dir == D_REV;
	if (s->type == R_RANK) {
		o.start = s->start;
		o.stop = s->end;
	} else {
		o.by_score = true;
		o.min = s->sr.min;
		o.max = s->sr.max;
		o.min_excl = s->sr.minex;
		o.max_excl = s->sr.maxex;
		o.offset = s->offset;
		o.limit = s->limit;
		if (s->offset < 0)
			return 0;
	}
	return elems_load_zrange(c->db, key, klen, &o, out);
}

/*
 * Redis's zrangeGenericCommand: @src index of the source key; min/max follow it; options
 * after. @store: ZRANGESTORE (argv[1] is the destination).
 */
static void zrange_generic(struct client *c, int src, bool store, enum rtype type,
			   enum rdir dir)
{
	struct zspec s = { .type = type, .dir = dir, .limit = -1 };
	int mini = src + 1, maxi = src + 2, rc;
	struct elems e;

	for (int j = src + 3; j < c->argc; j++) {
		int left = c->argc - j - 1;

		if (!store && arg_eq(c, j, "withscores")) {
			s.withscores = true;
		} else if (arg_eq(c, j, "limit") && left >= 2) {
			if (!get_ll_or_reply(c, j + 1, &s.offset, NULL) ||
			    !get_ll_or_reply(c, j + 2, &s.limit, NULL))
				return;
			j += 2;
		} else if (dir == D_AUTO && arg_eq(c, j, "rev")) {
			s.dir = D_REV;
		} else if (type == R_AUTO && arg_eq(c, j, "bylex")) {
			s.type = R_LEX;
		} else if (type == R_AUTO && arg_eq(c, j, "byscore")) {
			s.type = R_SCORE;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (s.dir == D_AUTO)
		s.dir = D_FWD;
	if (s.type == R_AUTO)
		s.type = R_RANK;
	if (s.limit != -1 && s.type == R_RANK) {
		add_error(c, "syntax error, LIMIT is only supported in combination with either "
			     "BYSCORE or BYLEX");
		return;
	}
	if (s.withscores && s.type == R_LEX) {
		add_error(c, "syntax error, WITHSCORES not supported in combination with BYLEX");
		return;
	}
	if (s.dir == D_REV && (s.type == R_SCORE || s.type == R_LEX)) {
		int t = mini;

		mini = maxi;
		maxi = t;
	}
	if (s.type == R_RANK) {
		if (!get_ll_or_reply(c, mini, &s.start, NULL) ||
		    !get_ll_or_reply(c, maxi, &s.end, NULL))
			return;
	} else if (s.type == R_SCORE) {
		if (!parse_srange(c, mini, maxi, &s.sr))
			return;
	} else if (!parse_lrange(c, mini, maxi, &s.lr)) {
		return;
	}
	if (!check_type(c, src, HKV_TYPE_ZSET, NULL))
		return;
	elems_init(&e);
	rc = collect_range(c, c->argv[src], c->argvlen[src], &s, &e);
	if (rc < 0) {
		add_err_engine(c, rc);
	} else if (store) {
		store_zset(c, c->argv[1], c->argvlen[1], &e, "zrangestore");
	} else {
		reply_members(c, &e, s.withscores);
	}
	elems_free(&e);
}

void zrange_command(struct client *c)
{
	zrange_generic(c, 1, false, R_AUTO, D_AUTO);
}

void zrangestore_command(struct client *c)
{
	zrange_generic(c, 2, true, R_AUTO, D_AUTO);
}

void zrevrange_command(struct client *c)
{
	zrange_generic(c, 1, false, R_RANK, D_REV);
}

void zrangebyscore_command(struct client *c)
{
	zrange_generic(c, 1, false, R_SCORE, D_FWD);
}

void zrevrangebyscore_command(struct client *c)
{
	zrange_generic(c, 1, false, R_SCORE, D_REV);
}

void zrangebylex_command(struct client *c)
{
	zrange_generic(c, 1, false, R_LEX, D_FWD);
}

void zrevrangebylex_command(struct client *c)
{
	zrange_generic(c, 1, false, R_LEX, D_REV);
}

void zcount_command(struct client *c)
{
	struct zspec s = { .type = R_SCORE, .dir = D_FWD, .limit = -1 };
	struct elems e;
	int rc;

	if (!parse_srange(c, 2, 3, &s.sr) || !check_type(c, 1, HKV_TYPE_ZSET, NULL))
		return;
	elems_init(&e);
	rc = collect_range(c, c->argv[1], c->argvlen[1], &s, &e);
	if (rc < 0)
		add_err_engine(c, rc);
	else
		add_int(c, (long long)e.n);
	elems_free(&e);
}

void zlexcount_command(struct client *c)
{
	struct zspec s = { .type = R_LEX, .dir = D_FWD, .limit = -1 };
	struct elems e;
	int rc;

	if (!parse_lrange(c, 2, 3, &s.lr) || !check_type(c, 1, HKV_TYPE_ZSET, NULL))
		return;
	elems_init(&e);
	rc = collect_range(c, c->argv[1], c->argvlen[1], &s, &e);
	if (rc < 0)
		add_err_engine(c, rc);
	else
		add_int(c, (long long)e.n);
	elems_free(&e);
}

static void zremrange_generic(struct client *c, enum rtype type, const char *event)
{
	struct zspec s = { .type = type, .dir = D_FWD, .limit = -1 };
	struct elems e;
	bool exists;
	int rc;

	if (type == R_RANK) {
		if (!get_ll_or_reply(c, 2, &s.start, NULL) || !get_ll_or_reply(c, 3, &s.end, NULL))
			return;
	} else if (type == R_SCORE) {
		if (!parse_srange(c, 2, 3, &s.sr))
			return;
	} else if (!parse_lrange(c, 2, 3, &s.lr)) {
		return;
	}
	if (!check_type(c, 1, HKV_TYPE_ZSET, &exists))
		return;
	if (!exists) {
		add_int(c, 0);
		return;
	}
	if (writes_refused(c))
		return;
	elems_init(&e);
	rc = collect_range(c, c->argv[1], c->argvlen[1], &s, &e);
	if (rc < 0) {
		add_err_engine(c, rc);
		goto out;
	}
	for (size_t i = 0; i < e.n; i++) {
		rc = hkv_zrem(c->db, c->argv[1], c->argvlen[1], elem_a(&e, i), e.v[i].alen);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
	}
	if (e.n)
		removed_event(c, event, c->argv[1], c->argvlen[1]);
	add_int(c, (long long)e.n);
out:
	elems_free(&e);
}

void zremrangebyscore_command(struct client *c)
{
	zremrange_generic(c, R_SCORE, "zremrangebyscore");
}

void zremrangebyrank_command(struct client *c)
{
	zremrange_generic(c, R_RANK, "zremrangebyrank");
}

void zremrangebylex_command(struct client *c)
{
	zremrange_generic(c, R_LEX, "zremrangebylex");
}

/* ---- pops ----------------------------------------------------------------------------- */

enum { ZMIN = 0, ZMAX = 1 };

/*
 * Pop up to @count (-1: one, the plain form) from the first non-empty of @keys, Redis's
 * genericZpopCommand: @emitkey prefixes the key, @nested replies [member, score] pairs.
 * Return: true popped or replied, false nothing to pop (nothing replied if @quiet_empty).
 */
static bool zpop_generic(struct client *c, char **keys, size_t *klens, int nkeys, int where,
			 bool emitkey, long long count, bool nested, bool nil_when_empty,
			 bool quiet_empty)
{
	struct hkv_zrange_opts o = { .start = 0, .stop = 0, .limit = -1 };
	int k = -1;
	struct elems e;
	int64_t llen = 0;

	for (int j = 0; j < nkeys; j++) {
		int t = hkv_type(c->db, keys[j], klens[j]);

		if (t == HKV_TYPE_NONE)
			continue;
		if (t != HKV_TYPE_ZSET) {
			if (t < 0)
				add_err_engine(c, t);
			else
				add_err_wrongtype(c);
			return true;
		}
		k = j;
		break;
	}
	if (k < 0) {
		if (quiet_empty)
			return false;
		if (nil_when_empty)
			add_null_array(c);
		else
			add_array(c, 0);
		return true;
	}
	if (count == 0) {
		add_array(c, 0);
		return true;
	}
	if (count == -1)
		count = 1;
	if (writes_refused(c))
		return true;
	llen = hkv_zcard(c->db, keys[k], klens[k]);
	if (llen <= 0) {
		if (quiet_empty)
			return false;
		add_array(c, 0);
		return true;
	}
	o.stop = (count > llen ? llen : count) - 1;
	o.rev = where == ZMAX;
	elems_init(&e);
	if (elems_load_zrange(c->db, keys[k], klens[k], &o, &e)) {
		add_error(c, "-IOERR reading the sorted set failed");
		elems_free(&e);
		return true;
	}
	if (!nested && !emitkey) {
		add_array(c, (long long)e.n * 2);
	} else if (nested && !emitkey) {
		add_array(c, (long long)e.n);
	} else if (!nested && emitkey) {
		add_array(c, (long long)e.n * 2 + 1);
		add_bulk(c, keys[k], klens[k]);
	} else {
		add_array(c, 2);
		add_bulk(c, keys[k], klens[k]);
		add_array(c, (long long)e.n);
	}
	for (size_t i = 0; i < e.n; i++) {
		hkv_zrem(c->db, keys[k], klens[k], elem_a(&e, i), e.v[i].alen);
		if (nested)
			add_array(c, 2);
		add_bulk(c, elem_a(&e, i), e.v[i].alen);
		add_double(c, e.v[i].score);
	}
	elems_free(&e);
	removed_event(c, where == ZMAX ? "zpopmax" : "zpopmin", keys[k], klens[k]);
	return true;
}

static void zpop_command(struct client *c, int where)
{
	long long count = -1;

	if (c->argc > 3) {
		add_err_syntax(c);
		return;
	}
	if (c->argc == 3 && !get_pos_ll_or_reply(c, 2, &count, NULL))
		return;
	zpop_generic(c, &c->argv[1], &c->argvlen[1], 1, where, false, count,
		     c->out.proto > 2 && count != -1, false, false);
}

void zpopmin_command(struct client *c)
{
	zpop_command(c, ZMIN);
}

void zpopmax_command(struct client *c)
{
	zpop_command(c, ZMAX);
}

static bool deny_blocking(struct client *c)
{
	return (c->flags & (CL_IN_EXEC | CL_FAKE)) != 0;
}

static void bzpop_generic(struct client *c, char **keys, size_t *klens, int nkeys, int where,
			  int timeout_arg, long long count, bool mpop)
{
	int64_t deadline;

	if (!get_timeout_or_reply(c, timeout_arg, &deadline))
		return;
	if (zpop_generic(c, keys, klens, nkeys, where, true, count, mpop, mpop, true))
		return;
	if (deny_blocking(c)) {
		add_null_array(c);
		return;
	}
	block_client(c, BLOCK_ZSET, deadline, keys, klens, nkeys);
	if (c->flags & CL_BLOCKED) {
		c->bs.zmax = where == ZMAX;
		c->bs.count = count;
		c->bs.mpop = mpop;
	}
}

void bzpopmin_command(struct client *c)
{
	bzpop_generic(c, c->argv + 1, c->argvlen + 1, c->argc - 2, ZMIN, c->argc - 1, -1, false);
}

void bzpopmax_command(struct client *c)
{
	bzpop_generic(c, c->argv + 1, c->argvlen + 1, c->argc - 2, ZMAX, c->argc - 1, -1, false);
}

static void zmpop_generic(struct client *c, int nk_idx, bool block)
{
	long long numkeys, count = -1;
	int where, where_idx;

	if (!get_range_ll_or_reply(c, nk_idx, 1, LONG_MAX, &numkeys,
				   "numkeys should be greater than 0"))
		return;
	if (numkeys >= c->argc - nk_idx) {
		add_err_syntax(c);
		return;
	}
	where_idx = nk_idx + (int)numkeys + 1;
	if (where_idx >= c->argc) {
		add_err_syntax(c);
		return;
	}
	if (arg_eq(c, where_idx, "min")) {
		where = ZMIN;
	} else if (arg_eq(c, where_idx, "max")) {
		where = ZMAX;
	} else {
		add_err_syntax(c);
		return;
	}
	for (int j = where_idx + 1; j < c->argc; j++) {
		if (count == -1 && arg_eq(c, j, "count") && j + 1 < c->argc) {
			j++;
			if (!get_range_ll_or_reply(c, j, 1, LONG_MAX, &count,
						   "count should be greater than 0"))
				return;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (count == -1)
		count = 1;
	if (block)
		bzpop_generic(c, c->argv + nk_idx + 1, c->argvlen + nk_idx + 1, (int)numkeys, where,
			      1, count, true);
	else
		zpop_generic(c, c->argv + nk_idx + 1, c->argvlen + nk_idx + 1, (int)numkeys, where,
			     true, count, true, true, false);
}

void zmpop_command(struct client *c)
{
	zmpop_generic(c, 1, false);
}

void bzmpop_command(struct client *c)
{
	zmpop_generic(c, 2, true);
}

bool zset_serve_blocked(struct client *c, const char *key, size_t klen)
{
	char *k = (char *)key;
	size_t kl = klen;

	if (hkv_type(c->db, key, klen) != HKV_TYPE_ZSET)
		return false;
	return zpop_generic(c, &k, &kl, 1, c->bs.zmax ? ZMAX : ZMIN, true, c->bs.count,
			    c->bs.mpop, c->bs.mpop, true);
}

/* ---- set operations ---------------------------------------------------------------------- */

enum { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

static int by_member(const void *pa, const void *pb, void *arg)
{
	const struct elems *e = arg;
	const struct elem *a = pa, *b = pb;

	return memcmp2(e->arena + a->aoff, a->alen, e->arena + b->aoff, b->alen);
}

static int by_score_member(const void *pa, const void *pb, void *arg)
{
	const struct elems *e = arg;
	const struct elem *a = pa, *b = pb;

	if (a->score < b->score)
		return -1;
	if (a->score > b->score)
		return 1;
	return memcmp2(e->arena + a->aoff, a->alen, e->arena + b->aoff, b->alen);
}

static void aggregate(double *target, double val, int agg)
{
	if (agg == AGG_SUM) {
		*target += val;
		if (isnan(*target))
			*target = 0.0;
	} else if (agg == AGG_MIN) {
		*target = val < *target ? val : *target;
	} else {
		*target = val > *target ? val : *target;
	}
}

/* Load one input (a sorted set, or a set with score 1), sorted by member. */
static int load_input(struct client *c, int argi, struct elems *e)
{
	int t = hkv_type(c->db, c->argv[argi], c->argvlen[argi]);
	int rc = 0;

	if (t < 0)
		return t;
	if (t == HKV_TYPE_NONE)
		return 0;
	if (t == HKV_TYPE_SET) {
		rc = elems_load_set(c->db, c->argv[argi], c->argvlen[argi], e);
		for (size_t i = 0; i < e->n; i++)
			e->v[i].score = 1.0;
		return rc;
	}
	if (t != HKV_TYPE_ZSET)
		return -HKV_EWRONGTYPE;
	rc = elems_load_zset(c->db, c->argv[argi], c->argvlen[argi], e);
	if (!rc && e->n > 1)
		qsort_r(e->v, e->n, sizeof(*e->v), by_member, e);
	return rc;
}

static int cmp_in(const struct elems *a, size_t i, const struct elems *b, size_t j)
{
	return memcmp2(elem_a(a, i), a->v[i].alen, elem_a(b, j), b->v[j].alen);
}

/* Redis's zunionInterDiffGenericCommand. @dst_idx: 0 for the forms that reply. */
static void zsetop(struct client *c, int dst_idx, int nk_idx, int op, bool card_only)
{
	long long setnum, limit = 0;
	struct elems *src = NULL, out;
	double *weights = NULL;
	int agg = AGG_SUM, j, rc;
	bool withscores = false;

	elems_init(&out);
	if (!get_ll_or_reply(c, nk_idx, &setnum, NULL))
		return;
	if (setnum < 1) {
		add_errorf(c, "at least 1 input key is needed for '%s' command", c->cmd->fullname);
		return;
	}
	if (setnum > c->argc - (nk_idx + 1)) {
		add_err_syntax(c);
		return;
	}
	src = calloc((size_t)setnum, sizeof(*src));
	weights = malloc((size_t)setnum * sizeof(*weights));
	if (!src || !weights) {
		add_error(c, "-OOM out of memory");
		goto out;
	}
	/* types first: WRONGTYPE wins over syntax errors in the options, as in Redis */
	for (int i = 0; i < setnum; i++) {
		int t = hkv_type(c->db, c->argv[nk_idx + 1 + i], c->argvlen[nk_idx + 1 + i]);

		elems_init(&src[i]);
		weights[i] = 1.0;
		if (t < 0) {
			add_err_engine(c, t);
			goto out;
		}
		if (t != HKV_TYPE_NONE && t != HKV_TYPE_ZSET && t != HKV_TYPE_SET) {
			add_err_wrongtype(c);
			goto out;
		}
	}
	j = nk_idx + 1 + (int)setnum;
	while (j < c->argc) {
		int remaining = c->argc - j;

		if (op != ZOP_DIFF && !card_only && remaining >= setnum + 1 &&
		    arg_eq(c, j, "weights")) {
			j++;
			for (int i = 0; i < setnum; i++, j++)
				if (!get_double_or_reply(c, j, &weights[i], "weight value is not a float"))
					goto out;
		} else if (op != ZOP_DIFF && !card_only && remaining >= 2 &&
			   arg_eq(c, j, "aggregate")) {
			j++;
			if (arg_eq(c, j, "sum"))
				agg = AGG_SUM;
			else if (arg_eq(c, j, "min"))
				agg = AGG_MIN;
			else if (arg_eq(c, j, "max"))
				agg = AGG_MAX;
			else {
				add_err_syntax(c);
				goto out;
			}
			j++;
		} else if (remaining >= 1 && !dst_idx && !card_only && arg_eq(c, j, "withscores")) {
			j++;
			withscores = true;
		} else if (card_only && remaining >= 2 && arg_eq(c, j, "limit")) {
			j++;
			if (!get_pos_ll_or_reply(c, j, &limit, "LIMIT can't be negative"))
				goto out;
			j++;
		} else {
			add_err_syntax(c);
			goto out;
		}
	}
	for (int i = 0; i < setnum; i++) {
		rc = load_input(c, nk_idx + 1 + i, &src[i]);
		if (rc) {
			add_err_engine(c, rc);
			goto out;
		}
	}
	if (op == ZOP_UNION) {
		size_t *pos = calloc((size_t)setnum, sizeof(*pos));

		if (!pos)
			goto oom;
		for (;;) {
			int best = -1;
			double score = 0;

			for (int s = 0; s < setnum; s++)
				if (pos[s] < src[s].n &&
				    (best < 0 || cmp_in(&src[s], pos[s], &src[best], pos[best]) < 0))
					best = s;
			if (best < 0)
				break;
			size_t bi = pos[best];
			bool first = true;

			for (int s = 0; s < setnum; s++) {
				if (pos[s] < src[s].n &&
				    (s == best || cmp_in(&src[s], pos[s], &src[best], bi) == 0)) {
					double v = src[s].v[pos[s]].score * weights[s];

					if (isnan(v))
						v = 0;
					if (first) {
						score = v;
						first = false;
					} else {
						aggregate(&score, v, agg);
					}
					if (s != best)
						pos[s]++;
				}
			}
			elems_push(&out, elem_a(&src[best], bi), src[best].v[bi].alen, NULL, 0, score);
			pos[best]++;
		}
		free(pos);
	} else if (op == ZOP_INTER) {
		size_t *pos = calloc((size_t)setnum, sizeof(*pos));

		if (!pos)
			goto oom;
		for (size_t i = 0; i < src[0].n; i++) {
			double score = src[0].v[i].score * weights[0];
			bool all = true;

			if (isnan(score))
				score = 0;
			for (int s = 1; s < setnum && all; s++) {
				while (pos[s] < src[s].n && cmp_in(&src[s], pos[s], &src[0], i) < 0)
					pos[s]++;
				all = pos[s] < src[s].n && cmp_in(&src[s], pos[s], &src[0], i) == 0;
				if (all)
					aggregate(&score, src[s].v[pos[s]].score * weights[s], agg);
			}
			if (!all)
				continue;
			elems_push(&out, elem_a(&src[0], i), src[0].v[i].alen, NULL, 0, score);
			if (card_only && limit && (long long)out.n >= limit)
				break;
		}
		free(pos);
	} else {
		size_t *pos = calloc((size_t)setnum, sizeof(*pos));

		if (!pos)
			goto oom;
		for (size_t i = 0; i < src[0].n; i++) {
			bool found = false;

			for (int s = 1; s < setnum && !found; s++) {
				while (pos[s] < src[s].n && cmp_in(&src[s], pos[s], &src[0], i) < 0)
					pos[s]++;
				found = pos[s] < src[s].n && cmp_in(&src[s], pos[s], &src[0], i) == 0;
			}
			if (!found)
				elems_push(&out, elem_a(&src[0], i), src[0].v[i].alen, NULL, 0,
					   src[0].v[i].score);
		}
		free(pos);
	}
	if (card_only) {
		add_int(c, (long long)out.n);
		goto out;
	}
	if (out.n > 1)
		qsort_r(out.v, out.n, sizeof(*out.v), by_score_member, &out);
	if (dst_idx)
		store_zset(c, c->argv[dst_idx], c->argvlen[dst_idx], &out,
			   op == ZOP_UNION ? "zunionstore"
			   : op == ZOP_INTER ? "zinterstore"
					     : "zdiffstore");
	else
		reply_members(c, &out, withscores);
	goto out;
oom:
	add_error(c, "-OOM out of memory");
out:
	if (src)
		for (int i = 0; i < setnum; i++)
			elems_free(&src[i]);
	free(src);
	free(weights);
	elems_free(&out);
}

void zunionstore_command(struct client *c)
{
	zsetop(c, 1, 2, ZOP_UNION, false);
}

void zinterstore_command(struct client *c)
{
	zsetop(c, 1, 2, ZOP_INTER, false);
}

void zdiffstore_command(struct client *c)
{
	zsetop(c, 1, 2, ZOP_DIFF, false);
}

void zunion_command(struct client *c)
{
	zsetop(c, 0, 1, ZOP_UNION, false);
}

void zinter_command(struct client *c)
{
	zsetop(c, 0, 1, ZOP_INTER, false);
}

void zdiff_command(struct client *c)
{
	zsetop(c, 0, 1, ZOP_DIFF, false);
}

void zintercard_command(struct client *c)
{
	zsetop(c, 0, 1, ZOP_INTER, true);
}

/* ---- random members, scan ------------------------------------------------------------- */

void zrandmember_command(struct client *c)
{
	long long l = 0;
	bool withscores = false, with_count = c->argc >= 3;
	struct elems e;
	int rc;

	if (with_count) {
		if (!get_range_ll_or_reply(c, 2, -LONG_MAX, LONG_MAX, &l, NULL))
			return;
		if (c->argc > 4 || (c->argc == 4 && !arg_eq(c, 3, "withscores"))) {
			add_err_syntax(c);
			return;
		}
		if (c->argc == 4) {
			withscores = true;
			if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
				add_error(c, "value is out of range");
				return;
			}
		}
	}
	if (!check_type(c, 1, HKV_TYPE_ZSET, NULL))
		return;
	elems_init(&e);
	rc = elems_load_zset(c->db, c->argv[1], c->argvlen[1], &e);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	if (!with_count) {
		if (!e.n) {
			add_null(c);
		} else {
			size_t i = (size_t)(srv_rand(c->srv) % e.n);

			add_bulk(c, elem_a(&e, i), e.v[i].alen);
		}
		goto out;
	}
	if (l == 0 || e.n == 0) {
		add_array(c, 0);
		goto out;
	}
	if (l < 0 || l == 1) {
		unsigned long long count = l < 0 ? (unsigned long long)-l : 1;

		add_array(c, (long long)(withscores && c->out.proto == 2 ? count * 2 : count));
		while (count--) {
			size_t i = (size_t)(srv_rand(c->srv) % e.n);

			if (withscores && c->out.proto == 3)
				add_array(c, 2);
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
			if (withscores)
				add_double(c, e.v[i].score);
			if (c->out.oom)
				break;
		}
		goto out;
	}
	{
		size_t k = (size_t)l < e.n ? (size_t)l : e.n;
		size_t *idx = malloc(e.n * sizeof(*idx));

		if (!idx) {
			add_error(c, "-OOM out of memory");
			goto out;
		}
		random_pick(c->srv, idx, e.n, k);
		add_array(c, (long long)(withscores && c->out.proto == 2 ? k * 2 : k));
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];

			if (withscores && c->out.proto == 3)
				add_array(c, 2);
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
			if (withscores)
				add_double(c, e.v[i].score);
		}
		free(idx);
	}
out:
	elems_free(&e);
}

void zscan_command(struct client *c)
{
	scan_collection(c, HKV_TYPE_ZSET);
}
