// SPDX-License-Identifier: MIT
/*
 * t_list.c - list commands, including the blocking ones.
 *
 * The engine keeps a list as elements indexed from a head and a tail counter, so pushes and
 * pops at both ends, LINDEX and LSET are single seeks; LPOS and the multi-element pops walk or
 * repeat them. A blocking command that finds nothing registers the client (blocking.c);
 * list_serve_blocked() completes it later, exactly as the command would have done at that
 * moment.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

enum { LEFT = 0, RIGHT = 1 };

static bool deny_blocking(struct client *c)
{
	return (c->flags & (CL_IN_EXEC | CL_FAKE)) != 0;
}

static int where_arg(struct client *c, int i)
{
	if (arg_eq(c, i, "left"))
		return LEFT;
	if (arg_eq(c, i, "right"))
		return RIGHT;
	add_err_syntax(c);
	return -1;
}

/* After elements were popped from @key: the pop event, and "del" if it is now gone. */
static void elements_removed(struct client *c, const char *key, size_t klen, int where)
{
	key_modified(c, NOTIFY_LIST, where == LEFT ? "lpop" : "rpop", key, klen);
	if (hkv_exists(c->db, key, klen) == 0)
		notify_event(c->srv, NOTIFY_GENERIC, "del", key, klen);
}

static int pop_one(struct client *c, const char *key, size_t klen, int where,
		   struct hkv_buf *out)
{
	return where == LEFT ? hkv_lpop(c->db, key, klen, out)
			     : hkv_rpop(c->db, key, klen, out);
}

static int64_t push_one(struct client *c, const char *key, size_t klen, int where,
			const void *v, size_t vlen)
{
	return where == LEFT ? hkv_lpush(c->db, key, klen, v, vlen, NULL)
			     : hkv_rpush(c->db, key, klen, v, vlen, NULL);
}

static void push_generic(struct client *c, int where, bool xx)
{
	bool exists;
	int64_t len = 0;

	if (!check_type(c, 1, HKV_TYPE_LIST, &exists) || writes_refused(c))
		return;
	if (xx && !exists) {
		add_int(c, 0);
		return;
	}
	for (int i = 2; i < c->argc; i++) {
		len = push_one(c, c->argv[1], c->argvlen[1], where, c->argv[i], c->argvlen[i]);
		if (len < 0) {
			add_err_engine(c, (int)len);
			return;
		}
	}
	if (!exists)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_LIST, where == LEFT ? "lpush" : "rpush", c->argv[1],
		     c->argvlen[1]);
	add_int(c, len);
}

void lpush_command(struct client *c)
{
	push_generic(c, LEFT, false);
}

void rpush_command(struct client *c)
{
	push_generic(c, RIGHT, false);
}

void lpushx_command(struct client *c)
{
	push_generic(c, LEFT, true);
}

void rpushx_command(struct client *c)
{
	push_generic(c, RIGHT, true);
}

/* Pop up to @count elements and reply them as an array (after an optional key header). */
static void pop_range_reply(struct client *c, const char *key, size_t klen, int where,
			    long long count, bool with_key)
{
	int64_t llen = hkv_llen(c->db, key, klen);
	long long n = count < llen ? count : llen;

	if (with_key) {
		add_array(c, 2);
		add_bulk(c, key, klen);
	}
	add_array(c, n);
	for (long long i = 0; i < n; i++) {
		struct hkv_buf v = { 0 };
		int rc = pop_one(c, key, klen, where, &v);

		if (rc) {
			/* the reply promised n elements: keep it well formed */
			add_null(c);
			continue;
		}
		add_bulk(c, v.data, v.len);
		hkv_buf_release(&v);
	}
	elements_removed(c, key, klen, where);
}

static void pop_generic(struct client *c, int where)
{
	long long count = 0;
	bool has_count = c->argc == 3, exists;

	if (c->argc > 3) {
		add_err_arity(c);
		return;
	}
	if (has_count && !get_pos_ll_or_reply(c, 2, &count, NULL))
		return;
	if (!check_type(c, 1, HKV_TYPE_LIST, &exists))
		return;
	if (!exists) {
		if (has_count)
			add_null_array(c);
		else
			add_null(c);
		return;
	}
	if (has_count && !count) {
		add_array(c, 0);
		return;
	}
	if (writes_refused(c))
		return;
	if (!has_count) {
		struct hkv_buf v = { 0 };
		int rc = pop_one(c, c->argv[1], c->argvlen[1], where, &v);

		if (rc == -ENOENT) {
			add_null(c);
			return;
		}
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
		add_bulk(c, v.data, v.len);
		hkv_buf_release(&v);
		elements_removed(c, c->argv[1], c->argvlen[1], where);
		return;
	}
	pop_range_reply(c, c->argv[1], c->argvlen[1], where, count, false);
}

void lpop_command(struct client *c)
{
	pop_generic(c, LEFT);
}

void rpop_command(struct client *c)
{
	pop_generic(c, RIGHT);
}

void llen_command(struct client *c)
{
	int64_t n = hkv_llen(c->db, c->argv[1], c->argvlen[1]);

	if (n < 0)
		add_err_engine(c, (int)n);
	else
		add_int(c, n);
}

void lindex_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	long long idx;
	int rc;

	if (!get_ll_or_reply(c, 2, &idx, NULL))
		return;
	rc = hkv_lindex(c->db, c->argv[1], c->argvlen[1], idx, &v);
	if (rc == -ENOENT)
		add_null(c);
	else if (rc)
		add_err_engine(c, rc);
	else
		add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
}

void lset_command(struct client *c)
{
	long long idx;
	int rc;

	if (!get_ll_or_reply(c, 2, &idx, NULL) || writes_refused(c))
		return;
	rc = hkv_lset(c->db, c->argv[1], c->argvlen[1], idx, c->argv[3], c->argvlen[3]);
	if (rc == -ENOENT) {
		add_error(c, "no such key");
	} else if (rc == -ERANGE) {
		add_error(c, "index out of range");
	} else if (rc) {
		add_err_engine(c, rc);
	} else {
		key_modified(c, NOTIFY_LIST, "lset", c->argv[1], c->argvlen[1]);
		add_ok(c);
	}
}

struct lrange_ctx {
	struct client *c;
	long long n;
};

static int lrange_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct lrange_ctx *l = arg;

	(void)b;
	(void)blen;
	add_bulk(l->c, a, alen);
	l->n++;
	return 0;
}

void lrange_command(struct client *c)
{
	struct lrange_ctx l = { c, 0 };
	long long start, end;
	size_t pos;
	int rc;

	if (!get_ll_or_reply(c, 2, &start, NULL) || !get_ll_or_reply(c, 3, &end, NULL))
		return;
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL))
		return;
	pos = add_deferred(c);
	rc = hkv_lrange(c->db, c->argv[1], c->argvlen[1], start, end, lrange_cb, &l);
	if (rc < 0) {
		c->out.len = pos;
		add_err_engine(c, rc);
		return;
	}
	set_deferred(c, pos, '*', l.n);
}

void ltrim_command(struct client *c)
{
	long long start, end;
	int rc;

	if (!get_ll_or_reply(c, 2, &start, NULL) || !get_ll_or_reply(c, 3, &end, NULL))
		return;
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL) || writes_refused(c))
		return;
	rc = hkv_ltrim(c->db, c->argv[1], c->argvlen[1], start, end);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	key_modified(c, NOTIFY_LIST, "ltrim", c->argv[1], c->argvlen[1]);
	if (hkv_exists(c->db, c->argv[1], c->argvlen[1]) == 0)
		notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
	add_ok(c);
}

void lrem_command(struct client *c)
{
	long long count;
	int64_t n;

	if (!get_ll_or_reply(c, 2, &count, NULL))
		return;
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL) || writes_refused(c))
		return;
	n = hkv_lrem(c->db, c->argv[1], c->argvlen[1], count, c->argv[3], c->argvlen[3]);
	if (n < 0) {
		add_err_engine(c, (int)n);
		return;
	}
	if (n) {
		key_modified(c, NOTIFY_LIST, "lrem", c->argv[1], c->argvlen[1]);
		if (hkv_exists(c->db, c->argv[1], c->argvlen[1]) == 0)
			notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
	}
	add_int(c, n);
}

void linsert_command(struct client *c)
{
	bool before;
	int64_t n;

	if (arg_eq(c, 2, "before")) {
		before = true;
	} else if (arg_eq(c, 2, "after")) {
		before = false;
	} else {
		add_err_syntax(c);
		return;
	}
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL) || writes_refused(c))
		return;
	n = hkv_linsert(c->db, c->argv[1], c->argvlen[1], before, c->argv[3], c->argvlen[3],
			c->argv[4], c->argvlen[4]);
	if (n < -1) {
		add_err_engine(c, (int)n);
		return;
	}
	if (n > 0)
		key_modified(c, NOTIFY_LIST, "linsert", c->argv[1], c->argvlen[1]);
	add_int(c, n);
}

void lpos_command(struct client *c)
{
	long long rank = 1, count = -1, maxlen = 0, matches = 0, found = 0;
	bool from_tail = false;
	struct elems e;
	size_t pos = 0;
	int rc;

	for (int j = 3; j < c->argc; j++) {
		bool more = j + 1 < c->argc;

		if (arg_eq(c, j, "rank") && more) {
			j++;
			if (!get_ll_or_reply(c, j, &rank, NULL))
				return;
			if (rank == 0) {
				add_error(c, "RANK can't be zero: use 1 to start from the first match, "
					     "2 from the second ... or use negative to start from the "
					     "end of the list");
				return;
			}
			if (rank == LLONG_MIN) {
				add_error(c, "value is out of range");
				return;
			}
		} else if (arg_eq(c, j, "count") && more) {
			j++;
			if (!get_pos_ll_or_reply(c, j, &count, "COUNT can't be negative"))
				return;
		} else if (arg_eq(c, j, "maxlen") && more) {
			j++;
			if (!get_pos_ll_or_reply(c, j, &maxlen, "MAXLEN can't be negative"))
				return;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (rank < 0) {
		rank = -rank;
		from_tail = true;
	}
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL))
		return;
	elems_init(&e);
	rc = elems_load_list(c->db, c->argv[1], c->argvlen[1], &e);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	if (e.n == 0) {
		if (count != -1)
			add_array(c, 0);
		else
			add_null(c);
		goto out;
	}
	if (count != -1)
		pos = add_deferred(c);
	for (long long k = 0; k < (long long)e.n && (maxlen == 0 || k < maxlen); k++) {
		size_t i = from_tail ? e.n - 1 - (size_t)k : (size_t)k;

		if (e.v[i].alen != c->argvlen[2] || memcmp(elem_a(&e, i), c->argv[2], c->argvlen[2]))
			continue;
		matches++;
		if (matches < rank)
			continue;
		if (count == -1) {
			add_int(c, (long long)i);
			goto out;
		}
		add_int(c, (long long)i);
		found++;
		if (count && found >= count)
			break;
	}
	if (count != -1)
		set_deferred(c, pos, '*', found);
	else
		add_null(c);
out:
	elems_free(&e);
}

/*
 * Pop from @src and push to @dst (LMOVE's body, also used when serving a blocked BLMOVE).
 * Return: 1 moved (the element was replied), 0 @src empty, -1 replied an error.
 */
static int move_one(struct client *c, const char *src, size_t slen, const char *dst,
		    size_t dlen, int from, int to)
{
	struct hkv_buf v = { 0 };
	int64_t n;
	int t, rc;

	t = hkv_type(c->db, dst, dlen);
	if (t != HKV_TYPE_NONE && t != HKV_TYPE_LIST) {
		if (t < 0)
			add_err_engine(c, t);
		else
			add_err_wrongtype(c);
		return -1;
	}
	rc = pop_one(c, src, slen, from, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		add_err_engine(c, rc);
		return -1;
	}
	n = push_one(c, dst, dlen, to, v.data, v.len);
	if (n < 0) {
		/* put it back where it came from rather than lose it */
		push_one(c, src, slen, from, v.data, v.len);
		hkv_buf_release(&v);
		add_err_engine(c, (int)n);
		return -1;
	}
	if (t == HKV_TYPE_NONE)
		notify_event(c->srv, NOTIFY_NEW, "new", dst, dlen);
	key_modified(c, NOTIFY_LIST, to == LEFT ? "lpush" : "rpush", dst, dlen);
	elements_removed(c, src, slen, from);
	add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
	return 1;
}

static void lmove_generic(struct client *c, int from, int to)
{
	if (!check_type(c, 1, HKV_TYPE_LIST, NULL) || writes_refused(c))
		return;
	if (move_one(c, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], from, to) == 0)
		add_null(c);
}

void lmove_command(struct client *c)
{
	int from = where_arg(c, 3), to;

	if (from < 0 || (to = where_arg(c, 4)) < 0)
		return;
	lmove_generic(c, from, to);
}

void rpoplpush_command(struct client *c)
{
	lmove_generic(c, RIGHT, LEFT);
}

static void set_target(struct client *c, const char *dst, size_t dlen)
{
	c->bs.target = xstrndup(dst, dlen);
	c->bs.target_len = c->bs.target ? dlen : 0;
}

static void blmove_generic(struct client *c, int from, int to, int timeout_arg)
{
	int64_t deadline;
	bool exists;

	if (!get_timeout_or_reply(c, timeout_arg, &deadline))
		return;
	if (!check_type(c, 1, HKV_TYPE_LIST, &exists))
		return;
	if (exists) {
		lmove_generic(c, from, to);
		return;
	}
	if (deny_blocking(c)) {
		add_null(c);
		return;
	}
	block_client(c, BLOCK_LIST, deadline, &c->argv[1], &c->argvlen[1], 1);
	if (c->flags & CL_BLOCKED) {
		c->bs.wherefrom = from;
		c->bs.whereto = to;
		set_target(c, c->argv[2], c->argvlen[2]);
	}
}

void blmove_command(struct client *c)
{
	int from = where_arg(c, 3), to;

	if (from < 0 || (to = where_arg(c, 4)) < 0)
		return;
	blmove_generic(c, from, to, 5);
}

void brpoplpush_command(struct client *c)
{
	blmove_generic(c, RIGHT, LEFT, 3);
}

/* BLPOP/BRPOP/BLMPOP: @count -1 for the single-element forms. */
static void blocking_pop(struct client *c, char **keys, size_t *klens, int nkeys, int where,
			 int timeout_arg, long long count)
{
	int64_t deadline;

	if (!get_timeout_or_reply(c, timeout_arg, &deadline))
		return;
	for (int j = 0; j < nkeys; j++) {
		int t = hkv_type(c->db, keys[j], klens[j]);

		if (t == HKV_TYPE_NONE)
			continue;
		if (t != HKV_TYPE_LIST) {
			if (t < 0)
				add_err_engine(c, t);
			else
				add_err_wrongtype(c);
			return;
		}
		if (writes_refused(c))
			return;
		if (count != -1) {
			pop_range_reply(c, keys[j], klens[j], where, count, true);
			return;
		}
		struct hkv_buf v = { 0 };
		int rc = pop_one(c, keys[j], klens[j], where, &v);

		if (rc == -ENOENT)
			continue;
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
		add_array(c, 2);
		add_bulk(c, keys[j], klens[j]);
		add_bulk(c, v.data, v.len);
		hkv_buf_release(&v);
		elements_removed(c, keys[j], klens[j], where);
		return;
	}
	if (deny_blocking(c)) {
		add_null_array(c);
		return;
	}
	block_client(c, BLOCK_LIST, deadline, keys, klens, nkeys);
	if (c->flags & CL_BLOCKED) {
		c->bs.wherefrom = where;
		c->bs.count = count;
		c->bs.mpop = count != -1;
	}
}

void blpop_command(struct client *c)
{
	blocking_pop(c, c->argv + 1, c->argvlen + 1, c->argc - 2, LEFT, c->argc - 1, -1);
}

void brpop_command(struct client *c)
{
	blocking_pop(c, c->argv + 1, c->argvlen + 1, c->argc - 2, RIGHT, c->argc - 1, -1);
}

/* LMPOP numkeys key... LEFT|RIGHT [COUNT n], BLMPOP timeout numkeys ... */
static void lmpop_generic(struct client *c, int nk_idx, bool block)
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
	where = where_arg(c, where_idx);
	if (where < 0)
		return;
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
	if (block) {
		blocking_pop(c, c->argv + nk_idx + 1, c->argvlen + nk_idx + 1, (int)numkeys, where,
			     1, count);
		return;
	}
	for (int j = 0; j < numkeys; j++) {
		char *key = c->argv[nk_idx + 1 + j];
		size_t klen = c->argvlen[nk_idx + 1 + j];
		int t = hkv_type(c->db, key, klen);

		if (t == HKV_TYPE_NONE)
			continue;
		if (t != HKV_TYPE_LIST) {
			if (t < 0)
				add_err_engine(c, t);
			else
				add_err_wrongtype(c);
			return;
		}
		if (writes_refused(c))
			return;
		pop_range_reply(c, key, klen, where, count, true);
		return;
	}
	add_null_array(c);
}

void lmpop_command(struct client *c)
{
	lmpop_generic(c, 1, false);
}

void blmpop_command(struct client *c)
{
	lmpop_generic(c, 2, true);
}

/* Complete a blocked list command on @key, which became ready. */
bool list_serve_blocked(struct client *c, const char *key, size_t klen)
{
	int64_t llen = hkv_llen(c->db, key, klen);

	if (llen <= 0)
		return false;
	if (c->bs.target) {
		int rc = move_one(c, key, klen, c->bs.target, c->bs.target_len, c->bs.wherefrom,
				  c->bs.whereto);

		return rc != 0;
	}
	if (c->bs.mpop) {
		pop_range_reply(c, key, klen, c->bs.wherefrom, c->bs.count, true);
		return true;
	}
	{
		struct hkv_buf v = { 0 };

		if (pop_one(c, key, klen, c->bs.wherefrom, &v))
			return false;
		add_array(c, 2);
		add_bulk(c, key, klen);
		add_bulk(c, v.data, v.len);
		hkv_buf_release(&v);
		elements_removed(c, key, klen, c->bs.wherefrom);
	}
	return true;
}
