// SPDX-License-Identifier: MIT
/*
 * t_hash.c - hash commands over the engine's hashes (fields are ordered records under the
 * key: HGETALL and HSCAN walk them in field byte order).
 *
 * Multi-field writes (HSET f1 v1 f2 v2, HDEL f1 f2) are one engine write per field; the type
 * is checked before the first, so a WRONGTYPE never leaves half a command applied.
 * HINCRBYFLOAT and HRANDFIELD are composed here (read, compute, write / read all, pick).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

/* The key's type is @want or absent. Replies WRONGTYPE (or an engine error) otherwise. */
bool check_type(struct client *c, int keyi, enum hkv_type want, bool *exists)
{
	int t = hkv_type(c->db, c->argv[keyi], c->argvlen[keyi]);

	if (t < 0) {
		add_err_engine(c, t);
		return false;
	}
	if (exists)
		*exists = t != HKV_TYPE_NONE;
	if (t != HKV_TYPE_NONE && t != (int)want) {
		add_err_wrongtype(c);
		return false;
	}
	return true;
}

static void hset_generic(struct client *c, bool hmset)
{
	long long created = 0;
	bool exists;

	if (c->argc % 2 == 1) {
		add_err_arity(c);
		return;
	}
	if (!check_type(c, 1, HKV_TYPE_HASH, &exists) || writes_refused(c))
		return;
	for (int i = 2; i < c->argc; i += 2) {
		int rc = hkv_hset(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i],
				  c->argv[i + 1], c->argvlen[i + 1], NULL);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		created += rc;
	}
	if (!exists)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_HASH, "hset", c->argv[1], c->argvlen[1]);
	if (hmset)
		add_ok(c);
	else
		add_int(c, created);
}

void hset_command(struct client *c)
{
	hset_generic(c, false);
}

void hmset_command(struct client *c)
{
	hset_generic(c, true);
}

void hsetnx_command(struct client *c)
{
	bool exists;
	int rc;

	if (!check_type(c, 1, HKV_TYPE_HASH, &exists) || writes_refused(c))
		return;
	rc = hkv_hsetnx(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2],
			c->argv[3], c->argvlen[3], NULL);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (rc) {
		if (!exists)
			notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
		key_modified(c, NOTIFY_HASH, "hset", c->argv[1], c->argvlen[1]);
	}
	add_int(c, rc);
}

void hget_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	int rc = hkv_hget(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], &v);

	if (rc == -ENOENT)
		add_null(c);
	else if (rc)
		add_err_engine(c, rc);
	else
		add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
}

void hmget_command(struct client *c)
{
	if (!check_type(c, 1, HKV_TYPE_HASH, NULL))
		return;
	add_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct hkv_buf v = { 0 };

		if (hkv_hget(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i],
			     &v) == 0)
			add_bulk(c, v.data, v.len);
		else
			add_null(c);
		hkv_buf_release(&v);
	}
}

void hdel_command(struct client *c)
{
	long long deleted = 0;

	if (!check_type(c, 1, HKV_TYPE_HASH, NULL) || writes_refused(c))
		return;
	for (int i = 2; i < c->argc; i++) {
		int rc = hkv_hdel(c->db, c->argv[1], c->argvlen[1], c->argv[i],
				  c->argvlen[i]);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		deleted += rc;
	}
	if (deleted) {
		key_modified(c, NOTIFY_HASH, "hdel", c->argv[1], c->argvlen[1]);
		if (hkv_exists(c->db, c->argv[1], c->argvlen[1]) == 0)
			notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
	}
	add_int(c, deleted);
}

void hlen_command(struct client *c)
{
	int64_t n = hkv_hlen(c->db, c->argv[1], c->argvlen[1]);

	if (n < 0)
		add_err_engine(c, (int)n);
	else
		add_int(c, n);
}

void hstrlen_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	int rc = hkv_hget(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], &v);

	if (rc == -ENOENT)
		add_int(c, 0);
	else if (rc)
		add_err_engine(c, rc);
	else
		add_int(c, (long long)v.len);
	hkv_buf_release(&v);
}

void hexists_command(struct client *c)
{
	int rc = hkv_hexists(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2]);

	if (rc < 0)
		add_err_engine(c, rc);
	else
		add_int(c, rc);
}

enum { H_KEYS = 1, H_VALS = 2 };

static void hgetall_generic(struct client *c, int what)
{
	struct elems e;
	int rc;

	elems_init(&e);
	rc = elems_load_hash(c->db, c->argv[1], c->argvlen[1], &e);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	if (what == (H_KEYS | H_VALS))
		add_map(c, (long long)e.n);
	else
		add_array(c, (long long)e.n);
	for (size_t i = 0; i < e.n; i++) {
		if (what & H_KEYS)
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
		if (what & H_VALS)
			add_bulk(c, elem_b(&e, i), e.v[i].blen);
	}
out:
	elems_free(&e);
}

void hkeys_command(struct client *c)
{
	hgetall_generic(c, H_KEYS);
}

void hvals_command(struct client *c)
{
	hgetall_generic(c, H_VALS);
}

void hgetall_command(struct client *c)
{
	hgetall_generic(c, H_KEYS | H_VALS);
}

void hincrby_command(struct client *c)
{
	long long delta;
	int64_t out;
	bool exists;
	int rc;

	if (!get_ll_or_reply(c, 3, &delta, NULL))
		return;
	if (!check_type(c, 1, HKV_TYPE_HASH, &exists) || writes_refused(c))
		return;
	rc = hkv_hincrby(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], delta,
			 &out);
	if (rc == -HKV_ENOTINT) {
		struct hkv_buf v = { 0 };
		long long cur;
		bool isint = !hkv_hget(c->db, c->argv[1], c->argvlen[1], c->argv[2],
				       c->argvlen[2], &v) &&
			     str2ll(v.data, v.len, &cur);

		hkv_buf_release(&v);
		add_error(c, isint ? "increment or decrement would overflow"
				   : "hash value is not an integer");
		return;
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (!exists)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_HASH, "hincrby", c->argv[1], c->argvlen[1]);
	add_int(c, out);
}

void hincrbyfloat_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	long double cur = 0, incr;
	char buf[5120];
	bool exists;
	int rc, len;

	if (!get_ld_or_reply(c, 3, &incr, NULL))
		return;
	if (isnan(incr) || isinf(incr)) {
		add_error(c, "value is NaN or Infinity");
		return;
	}
	if (!check_type(c, 1, HKV_TYPE_HASH, &exists))
		return;
	rc = hkv_hget(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], &v);
	if (rc == 0 && !str2ld(v.data, v.len, &cur)) {
		hkv_buf_release(&v);
		add_error(c, "hash value is not a float");
		return;
	}
	hkv_buf_release(&v);
	if (rc && rc != -ENOENT) {
		add_err_engine(c, rc);
		return;
	}
	cur += incr;
	if (isnan(cur) || isinf(cur)) {
		add_error(c, "increment would produce NaN or Infinity");
		return;
	}
	len = ld2str_human(buf, sizeof(buf), cur);
	if (len <= 0) {
		add_error(c, "hash value is not a float");
		return;
	}
	if (writes_refused(c))
		return;
	rc = hkv_hset(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], buf,
		      (size_t)len, NULL);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (!exists)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_HASH, "hincrbyfloat", c->argv[1], c->argvlen[1]);
	add_bulk(c, buf, (size_t)len);
}

/* A uniformly random permutation prefix of [0, n): the first @k of @idx are distinct picks. */
void random_pick(struct hkv_server *srv, size_t *idx, size_t n, size_t k)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = 0; i < k && i < n; i++) {
		size_t j = i + (size_t)(srv_rand(srv) % (n - i));
		size_t t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}

void hrandfield_command(struct client *c)
{
	long long l = 0;
	bool withvalues = false, with_count = c->argc >= 3;
	struct elems e;
	int rc;

	if (with_count) {
		if (!get_range_ll_or_reply(c, 2, -LONG_MAX, LONG_MAX, &l, NULL))
			return;
		if (c->argc > 4 || (c->argc == 4 && !arg_eq(c, 3, "withvalues"))) {
			add_err_syntax(c);
			return;
		}
		if (c->argc == 4) {
			withvalues = true;
			if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
				add_error(c, "value is out of range");
				return;
			}
		}
	}
	elems_init(&e);
	rc = elems_load_hash(c->db, c->argv[1], c->argvlen[1], &e);
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

		add_array(c, (long long)(withvalues && c->out.proto == 2 ? count * 2 : count));
		while (count--) {
			size_t i = (size_t)(srv_rand(c->srv) % e.n);

			if (withvalues && c->out.proto == 3)
				add_array(c, 2);
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
			if (withvalues)
				add_bulk(c, elem_b(&e, i), e.v[i].blen);
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
		/* the whole hash is given in its own order, as Redis does (its case 1) */
		if (k == e.n) {
			for (size_t j = 0; j < k; j++)
				idx[j] = j;
		} else {
			random_pick(c->srv, idx, e.n, k);
		}
		add_array(c, (long long)(withvalues && c->out.proto == 2 ? k * 2 : k));
		for (size_t j = 0; j < k; j++) {
			size_t i = idx[j];

			if (withvalues && c->out.proto == 3)
				add_array(c, 2);
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
			if (withvalues)
				add_bulk(c, elem_b(&e, i), e.v[i].blen);
		}
		free(idx);
	}
out:
	elems_free(&e);
}

void hscan_command(struct client *c)
{
	scan_collection(c, HKV_TYPE_HASH);
}
