// SPDX-License-Identifier: MIT
/*
 * t_set.c - set commands.
 *
 * The engine keeps a set's members as ordered records, so SMEMBERS returns them in byte order
 * and the set algebra here is a linear merge of sorted member lists (intersection, union,
 * difference), not hash probing. Random members (SPOP, SRANDMEMBER) read the set and pick
 * uniformly: O(N) per call, the price of an ordered store (documented in docs/server.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

void sadd_command(struct client *c)
{
	long long added = 0;
	bool exists;

	if (!check_type(c, 1, HKV_TYPE_SET, &exists) || writes_refused(c))
		return;
	for (int i = 2; i < c->argc; i++) {
		int rc = hkv_sadd(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i],
				  NULL);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		added += rc;
	}
	if (added) {
		if (!exists)
			notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
		key_modified(c, NOTIFY_SET, "sadd", c->argv[1], c->argvlen[1]);
	}
	add_int(c, added);
}

static void removed_event(struct client *c, const char *event, const char *key, size_t klen)
{
	key_modified(c, NOTIFY_SET, event, key, klen);
	if (hkv_exists(c->db, key, klen) == 0)
		notify_event(c->srv, NOTIFY_GENERIC, "del", key, klen);
}

void srem_command(struct client *c)
{
	long long removed = 0;

	if (!check_type(c, 1, HKV_TYPE_SET, NULL) || writes_refused(c))
		return;
	for (int i = 2; i < c->argc; i++) {
		int rc = hkv_srem(c->db, c->argv[1], c->argvlen[1], c->argv[i], c->argvlen[i]);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		removed += rc;
	}
	if (removed)
		removed_event(c, "srem", c->argv[1], c->argvlen[1]);
	add_int(c, removed);
}

void smove_command(struct client *c)
{
	bool src_exists, dst_exists;
	int rc;

	if (!check_type(c, 1, HKV_TYPE_SET, &src_exists) ||
	    !check_type(c, 2, HKV_TYPE_SET, &dst_exists))
		return;
	if (!src_exists) {
		add_int(c, 0);
		return;
	}
	rc = hkv_sismember(c->db, c->argv[1], c->argvlen[1], c->argv[3], c->argvlen[3]);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (c->argvlen[1] == c->argvlen[2] && !memcmp(c->argv[1], c->argv[2], c->argvlen[1])) {
		add_int(c, rc);
		return;
	}
	if (!rc) {
		add_int(c, 0);
		return;
	}
	if (writes_refused(c))
		return;
	rc = hkv_srem(c->db, c->argv[1], c->argvlen[1], c->argv[3], c->argvlen[3]);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	removed_event(c, "srem", c->argv[1], c->argvlen[1]);
	rc = hkv_sadd(c->db, c->argv[2], c->argvlen[2], c->argv[3], c->argvlen[3], NULL);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (!dst_exists)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[2], c->argvlen[2]);
	if (rc)
		key_modified(c, NOTIFY_SET, "sadd", c->argv[2], c->argvlen[2]);
	add_int(c, 1);
}

void sismember_command(struct client *c)
{
	int rc = hkv_sismember(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2]);

	if (rc < 0)
		add_err_engine(c, rc);
	else
		add_int(c, rc);
}

void smismember_command(struct client *c)
{
	if (!check_type(c, 1, HKV_TYPE_SET, NULL))
		return;
	add_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		int rc = hkv_sismember(c->db, c->argv[1], c->argvlen[1], c->argv[i],
				       c->argvlen[i]);

		add_int(c, rc > 0);
	}
}

void scard_command(struct client *c)
{
	int64_t n = hkv_scard(c->db, c->argv[1], c->argvlen[1]);

	if (n < 0)
		add_err_engine(c, (int)n);
	else
		add_int(c, n);
}

void smembers_command(struct client *c)
{
	struct elems e;
	int rc;

	elems_init(&e);
	rc = elems_load_set(c->db, c->argv[1], c->argvlen[1], &e);
	if (rc) {
		add_err_engine(c, rc);
	} else {
		add_set(c, (long long)e.n);
		for (size_t i = 0; i < e.n; i++)
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
	}
	elems_free(&e);
}

void spop_command(struct client *c)
{
	long long count = 1;
	bool with_count = c->argc == 3;
	struct elems e;
	size_t *idx = NULL, k;
	int rc;

	if (c->argc > 3) {
		add_err_syntax(c);
		return;
	}
	if (with_count && !get_pos_ll_or_reply(c, 2, &count, NULL))
		return;
	elems_init(&e);
	rc = elems_load_set(c->db, c->argv[1], c->argvlen[1], &e);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	if (e.n == 0 || (with_count && count == 0)) {
		if (with_count)
			add_set(c, 0);
		else
			add_null(c);
		goto out;
	}
	if (writes_refused(c))
		goto out;
	k = (size_t)count < e.n ? (size_t)count : e.n;
	idx = malloc(e.n * sizeof(*idx));
	if (!idx) {
		add_error(c, "-OOM out of memory");
		goto out;
	}
	random_pick(c->srv, idx, e.n, k);
	if (with_count)
		add_set(c, (long long)k);
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];

		rc = hkv_srem(c->db, c->argv[1], c->argvlen[1], elem_a(&e, i), e.v[i].alen);
		if (rc < 0 && !with_count) {
			add_err_engine(c, rc);
			goto out;
		}
		add_bulk(c, elem_a(&e, i), e.v[i].alen);
	}
	removed_event(c, "spop", c->argv[1], c->argvlen[1]);
out:
	free(idx);
	elems_free(&e);
}

void srandmember_command(struct client *c)
{
	long long l = 1;
	bool with_count = c->argc == 3;
	struct elems e;
	int rc;

	if (c->argc > 3) {
		add_err_syntax(c);
		return;
	}
	if (with_count && !get_range_ll_or_reply(c, 2, -LONG_MAX, LONG_MAX, &l, NULL))
		return;
	elems_init(&e);
	rc = elems_load_set(c->db, c->argv[1], c->argvlen[1], &e);
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
		unsigned long long n = l < 0 ? (unsigned long long)-l : 1;

		add_array(c, (long long)n);
		while (n--) {
			size_t i = (size_t)(srv_rand(c->srv) % e.n);

			add_bulk(c, elem_a(&e, i), e.v[i].alen);
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
		add_array(c, (long long)k);
		for (size_t j = 0; j < k; j++)
			add_bulk(c, elem_a(&e, idx[j]), e.v[idx[j]].alen);
		free(idx);
	}
out:
	elems_free(&e);
}

/* ---- set algebra ------------------------------------------------------------------------ */

enum { OP_INTER, OP_UNION, OP_DIFF };

static int cmp_mem(const struct elems *a, size_t i, const struct elems *b, size_t j)
{
	size_t la = a->v[i].alen, lb = b->v[j].alen;
	int r = memcmp(elem_a(a, i), elem_a(b, j), la < lb ? la : lb);

	return r ? r : (la < lb ? -1 : la > lb);
}

/*
 * Load every set named at argv[first .. first+n) (absent: empty) and combine them with @op.
 * @limit stops an intersection early (SINTERCARD). Return: 0 with @out filled; -1 replied.
 */
static int combine(struct client *c, int first, int n, int op, size_t limit, struct elems *out)
{
	struct elems *sets = calloc((size_t)n, sizeof(*sets));
	int rc = 0;

	elems_init(out);
	if (!sets) {
		add_error(c, "-OOM out of memory");
		return -1;
	}
	/* every key's type is checked before anything is combined, as Redis does */
	for (int i = 0; i < n; i++) {
		elems_init(&sets[i]);
		rc = elems_load_set(c->db, c->argv[first + i], c->argvlen[first + i], &sets[i]);
		if (rc) {
			add_err_engine(c, rc);
			rc = -1;
			goto out;
		}
	}
	if (op == OP_INTER) {
		for (int i = 0; i < n; i++)
			if (!sets[i].n)
				goto out;
		size_t *pos = calloc((size_t)n, sizeof(*pos));

		if (!pos) {
			add_error(c, "-OOM out of memory");
			rc = -1;
			goto out;
		}
		for (size_t i = 0; i < sets[0].n; i++) {
			bool all = true;

			for (int s = 1; s < n && all; s++) {
				while (pos[s] < sets[s].n && cmp_mem(&sets[s], pos[s], &sets[0], i) < 0)
					pos[s]++;
				all = pos[s] < sets[s].n && cmp_mem(&sets[s], pos[s], &sets[0], i) == 0;
			}
			if (!all)
				continue;
			elems_push(out, elem_a(&sets[0], i), sets[0].v[i].alen, NULL, 0, 0);
			if (limit && out->n >= limit)
				break;
		}
		free(pos);
	} else if (op == OP_UNION) {
		/* k-way merge of sorted lists, keeping each member once */
		size_t *pos = calloc((size_t)n, sizeof(*pos));

		if (!pos) {
			add_error(c, "-OOM out of memory");
			rc = -1;
			goto out;
		}
		for (;;) {
			int best = -1;

			for (int s = 0; s < n; s++)
				if (pos[s] < sets[s].n &&
				    (best < 0 || cmp_mem(&sets[s], pos[s], &sets[best], pos[best]) < 0))
					best = s;
			if (best < 0)
				break;
			elems_push(out, elem_a(&sets[best], pos[best]), sets[best].v[pos[best]].alen,
				   NULL, 0, 0);
			size_t bi = pos[best];

			for (int s = 0; s < n; s++)
				while (pos[s] < sets[s].n && (s == best ? pos[s] == bi
									 : cmp_mem(&sets[s], pos[s],
										   &sets[best], bi) == 0))
					pos[s]++;
		}
		free(pos);
	} else {
		size_t *pos = calloc((size_t)n, sizeof(*pos));

		if (!pos) {
			add_error(c, "-OOM out of memory");
			rc = -1;
			goto out;
		}
		for (size_t i = 0; i < sets[0].n; i++) {
			bool found = false;

			for (int s = 1; s < n && !found; s++) {
				while (pos[s] < sets[s].n && cmp_mem(&sets[s], pos[s], &sets[0], i) < 0)
					pos[s]++;
				found = pos[s] < sets[s].n && cmp_mem(&sets[s], pos[s], &sets[0], i) == 0;
			}
			if (!found)
				elems_push(out, elem_a(&sets[0], i), sets[0].v[i].alen, NULL, 0, 0);
		}
		free(pos);
	}
out:
	for (int i = 0; i < n; i++)
		elems_free(&sets[i]);
	free(sets);
	if (rc)
		elems_free(out);
	return rc;
}

/* Replace @dst with the members in @e (deleting it when @e is empty). */
static int store_set(struct client *c, const char *dst, size_t dlen, struct elems *e,
		     const char *event)
{
	int rc = hkv_del(c->db, dst, dlen);
	bool existed = rc == 1;

	if (rc < 0) {
		add_err_engine(c, rc);
		return -1;
	}
	for (size_t i = 0; i < e->n; i++) {
		rc = hkv_sadd(c->db, dst, dlen, elem_a(e, i), e->v[i].alen, NULL);
		if (rc < 0) {
			add_err_engine(c, rc);
			return -1;
		}
	}
	if (e->n) {
		if (!existed)
			notify_event(c->srv, NOTIFY_NEW, "new", dst, dlen);
		key_modified(c, NOTIFY_SET, event, dst, dlen);
	} else if (existed) {
		key_modified(c, NOTIFY_GENERIC, "del", dst, dlen);
	}
	add_int(c, (long long)e->n);
	return 0;
}

static void algebra(struct client *c, int first, int n, int op, bool store, const char *event)
{
	struct elems e;

	if (combine(c, first, n, op, 0, &e))
		return;
	if (store) {
		if (!writes_refused(c))
			store_set(c, c->argv[1], c->argvlen[1], &e, event);
	} else {
		add_set(c, (long long)e.n);
		for (size_t i = 0; i < e.n; i++)
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
	}
	elems_free(&e);
}

void sinter_command(struct client *c)
{
	algebra(c, 1, c->argc - 1, OP_INTER, false, NULL);
}

void sinterstore_command(struct client *c)
{
	algebra(c, 2, c->argc - 2, OP_INTER, true, "sinterstore");
}

void sunion_command(struct client *c)
{
	algebra(c, 1, c->argc - 1, OP_UNION, false, NULL);
}

void sunionstore_command(struct client *c)
{
	algebra(c, 2, c->argc - 2, OP_UNION, true, "sunionstore");
}

void sdiff_command(struct client *c)
{
	algebra(c, 1, c->argc - 1, OP_DIFF, false, NULL);
}

void sdiffstore_command(struct client *c)
{
	algebra(c, 2, c->argc - 2, OP_DIFF, true, "sdiffstore");
}

void sintercard_command(struct client *c)
{
	long long numkeys, limit = 0;
	struct elems e;

	if (!get_range_ll_or_reply(c, 1, 1, LONG_MAX, &numkeys, "numkeys should be greater than 0"))
		return;
	if (numkeys > c->argc - 2) {
		add_error(c, "Number of keys can't be greater than number of args");
		return;
	}
	for (int j = 2 + (int)numkeys; j < c->argc; j++) {
		if (arg_eq(c, j, "limit") && j + 1 < c->argc) {
			j++;
			if (!get_pos_ll_or_reply(c, j, &limit, "LIMIT can't be negative"))
				return;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (combine(c, 2, (int)numkeys, OP_INTER, (size_t)limit, &e))
		return;
	add_int(c, (long long)e.n);
	elems_free(&e);
}

void sscan_command(struct client *c)
{
	scan_collection(c, HKV_TYPE_SET);
}
