// SPDX-License-Identifier: MIT
/*
 * keyspace.c - commands on keys of any type: DEL, EXISTS, TYPE, RENAME, COPY, DBSIZE,
 * FLUSHALL, SCAN and its collection forms, KEYS, RANDOMKEY, OBJECT, TOUCH, MEMORY USAGE.
 *
 * SCAN cursors. The engine's cursor is a position in key order (up to 4 KiB: the last key
 * seen), stable under writes and restarts. Clients, though, treat Redis cursors as unsigned
 * 64-bit integers (redis-cli and go-redis parse them as such), so the server hands out numbers:
 * "0" is the start and the end; any other cursor is a random 63-bit id of a slot that holds
 * the engine position. Slots live in memory for 15 minutes after their last use and at most
 * HKV_SCAN_SLOTS of them exist (the oldest go first); an unknown id is "ERR invalid cursor".
 * A walk therefore survives anything but a server restart or a 15-minute pause. An embedder
 * whose server lives for one command (hkvctl) carries the slots from one server to the next
 * with hkv_server_cursors_save() and hkv_server_cursors_load().
 *
 * FLUSHALL deletes key by key (the engine has no truncate), without a notification per key,
 * as Redis; WATCHed keys see their versions change.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

#define HKV_SCAN_SLOTS 100000
#define SCAN_SLOT_TTL_MS (15 * 60 * 1000)

/* ---- cursors ------------------------------------------------------------------------ */

struct slot {
	uint64_t id;
	int64_t used;
	uint32_t len;
	unsigned char pos[];
};

void scan_slots_free(struct hkv_server *srv)
{
	dict_release(&srv->scan_slots, free);
}

void scan_slots_expire(struct hkv_server *srv)
{
	int64_t now = srv_now_ms();
	struct dict_iter it;
	struct dict_entry *e;

	dict_iter_init(&it, &srv->scan_slots);
	while ((e = dict_iter_next(&it))) {
		struct slot *s = e->val;

		if (now - s->used > SCAN_SLOT_TTL_MS)
			free(dict_del(&srv->scan_slots, &s->id, sizeof(s->id)));
	}
}

static void evict_oldest(struct hkv_server *srv)
{
	struct dict_iter it;
	struct dict_entry *e;
	struct slot *old = NULL;

	dict_iter_init(&it, &srv->scan_slots);
	while ((e = dict_iter_next(&it))) {
		struct slot *s = e->val;

		if (!old || s->used < old->used)
			old = s;
	}
	if (old)
		free(dict_del(&srv->scan_slots, &old->id, sizeof(old->id)));
}

/*
 * Cursors that outlive the server: an embedder whose server lives for one command (hkvctl,
 * one process per command) saves the slots after a SCAN and loads them into the next server
 * over the same store, so a walk continues across processes as it does across one server's
 * clients. The bytes never leave the machine, so they are in native byte order; per slot:
 *
 *   offset  size  field
 *   0       8     id (the cursor the client holds)
 *   8       8     last use, Unix ms
 *   16      4     n, length of the engine position (<= HKV_CURSOR_MAX)
 *   20      n     the engine position
 */
#define SLOT_HDR 20

static int slot_newer(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;

	return x->used < y->used ? 1 : x->used > y->used ? -1 : 0;
}

int hkv_server_cursors_save(struct hkv_server *srv, size_t max, void **out, size_t *outlen)
{
	size_t n = 0, i, len = 0;
	int64_t now = srv_now_ms();
	struct dict_iter it;
	struct dict_entry *e;
	struct slot **all;
	unsigned char *buf, *p;

	*out = NULL;
	*outlen = 0;
	all = malloc((dict_size(&srv->scan_slots) + 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	dict_iter_init(&it, &srv->scan_slots);
	while ((e = dict_iter_next(&it))) {
		struct slot *s = e->val;

		if (now - s->used <= SCAN_SLOT_TTL_MS)
			all[n++] = s;
	}
	qsort(all, n, sizeof(*all), slot_newer);
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		len += SLOT_HDR + all[i]->len;
	buf = malloc(len ? len : 1);
	if (!buf) {
		free(all);
		return -ENOMEM;
	}
	for (p = buf, i = 0; i < n; i++) {
		memcpy(p, &all[i]->id, 8);
		memcpy(p + 8, &all[i]->used, 8);
		memcpy(p + 16, &all[i]->len, 4);
		memcpy(p + SLOT_HDR, all[i]->pos, all[i]->len);
		p += SLOT_HDR + all[i]->len;
	}
	free(all);
	*out = buf;
	*outlen = len;
	return 0;
}

int hkv_server_cursors_load(struct hkv_server *srv, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	int64_t now = srv_now_ms();

	while (p < end) {
		struct slot *s;
		uint64_t id;
		int64_t used;
		uint32_t n;

		if ((size_t)(end - p) < SLOT_HDR)
			return -EINVAL;
		memcpy(&id, p, 8);
		memcpy(&used, p + 8, 8);
		memcpy(&n, p + 16, 4);
		if (n > HKV_CURSOR_MAX || (size_t)(end - p - SLOT_HDR) < n || !id)
			return -EINVAL;
		if (now - used <= SCAN_SLOT_TTL_MS &&
		    !dict_find(&srv->scan_slots, &id, sizeof(id))) {
			if (dict_size(&srv->scan_slots) >= HKV_SCAN_SLOTS)
				evict_oldest(srv);
			s = malloc(sizeof(*s) + n);
			if (!s)
				return -ENOMEM;
			s->id = id;
			s->used = used;
			s->len = n;
			memcpy(s->pos, p + SLOT_HDR, n);
			if (!dict_add(&srv->scan_slots, &s->id, sizeof(s->id), s, NULL)) {
				free(s);
				return -ENOMEM;
			}
		}
		p += SLOT_HDR + n;
	}
	return 0;
}

/* Parse a cursor argument into an engine position. Replies on error. */
static bool cursor_parse(struct client *c, int i, struct hkv_cursor *cur)
{
	unsigned long long id;
	struct dict_entry *e;
	struct slot *s;

	hkv_cursor_init(cur);
	if (!str2ull(c->argv[i], c->argvlen[i], &id)) {
		add_error(c, "invalid cursor");
		return false;
	}
	if (id == 0)
		return true;
	e = dict_find(&c->srv->scan_slots, &id, sizeof(id));
	if (!e) {
		add_error(c, "invalid cursor");
		return false;
	}
	s = e->val;
	s->used = srv_now_ms();
	cur->len = s->len;
	memcpy(cur->pos, s->pos, s->len);
	return true;
}

/* The cursor to hand back: "0" when done, else a new slot's id. */
static void cursor_reply(struct client *c, const struct hkv_cursor *cur)
{
	struct hkv_server *srv = c->srv;
	struct slot *s;
	uint64_t id;
	char buf[24];

	if (cur->done) {
		add_bulk(c, "0", 1);
		return;
	}
	if (dict_size(&srv->scan_slots) >= HKV_SCAN_SLOTS)
		evict_oldest(srv);
	s = malloc(sizeof(*s) + cur->len);
	do
		id = srv_rand(srv) >> 1;
	while (!id || dict_find(&srv->scan_slots, &id, sizeof(id)));
	if (!s || !dict_add(&srv->scan_slots, &id, sizeof(id), s, NULL)) {
		free(s);
		/* no memory to remember the position: end the walk rather than loop forever */
		add_bulk(c, "0", 1);
		return;
	}
	s->id = id;
	s->used = srv_now_ms();
	s->len = cur->len;
	memcpy(s->pos, cur->pos, cur->len);
	add_bulk(c, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id));
}

struct scan_opts {
	const char *match;
	size_t mlen;
	size_t count;
	int type; /* -1 any; HKV_TYPE_NONE for an unknown name: nothing matches */
};

static bool scan_options(struct client *c, int first, bool with_type, struct scan_opts *o)
{
	o->match = NULL;
	o->mlen = 0;
	o->count = 10;
	o->type = -1;
	for (int j = first; j < c->argc; j++) {
		bool more = j + 1 < c->argc;

		if (arg_eq(c, j, "count") && more) {
			long long n;

			j++;
			if (!get_ll_or_reply(c, j, &n, NULL))
				return false;
			if (n < 1) {
				add_err_syntax(c);
				return false;
			}
			o->count = (size_t)n;
		} else if (arg_eq(c, j, "match") && more) {
			j++;
			o->match = c->argv[j];
			o->mlen = c->argvlen[j];
			if (o->mlen == 1 && o->match[0] == '*')
				o->match = NULL;
		} else if (with_type && arg_eq(c, j, "type") && more) {
			j++;
			o->type = hkv_type_parse(c->argv[j], c->argvlen[j]);
		} else {
			add_err_syntax(c);
			return false;
		}
	}
	return true;
}

struct collect {
	struct elems *e;
	const struct scan_opts *o;
	int err;
};

static int collect_key(void *arg, const void *key, size_t klen, enum hkv_type type,
		       bool is_prefix)
{
	struct collect *k = arg;

	(void)is_prefix;
	if (k->o->type >= 0 && (int)type != k->o->type)
		return 0;
	if (k->o->match && !srv_glob_match(k->o->match, k->o->mlen, key, klen, false))
		return 0;
	if (elems_push(k->e, key, klen, NULL, 0, 0))
		k->err = -ENOMEM;
	return 0;
}

void scan_command(struct client *c)
{
	struct hkv_scan_opts so = { 0 };
	struct hkv_cursor cur;
	struct scan_opts o;
	struct collect k;
	struct elems e;
	int rc;

	if (!cursor_parse(c, 1, &cur) || !scan_options(c, 2, true, &o))
		return;
	elems_init(&e);
	k.e = &e;
	k.o = &o;
	k.err = 0;
	so.count = o.count;
	if (o.type == HKV_TYPE_NONE) {
		cur.done = true; /* an unknown type matches no key */
	} else {
		rc = hkv_scan(c->db, &cur, &so, collect_key, &k);
		if (rc < 0 || k.err) {
			add_err_engine(c, rc < 0 ? rc : k.err);
			goto out;
		}
	}
	add_array(c, 2);
	cursor_reply(c, &cur);
	add_array(c, (long long)e.n);
	for (size_t i = 0; i < e.n; i++)
		add_bulk(c, elem_a(&e, i), e.v[i].alen);
out:
	elems_free(&e);
}

struct ccollect {
	struct elems *e;
	const struct scan_opts *o;
	bool pairs;
	char scorebuf[64];
};

static int collect_elem(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct ccollect *k = arg;

	if (k->o->match && !srv_glob_match(k->o->match, k->o->mlen, a, alen, false))
		return 0;
	return elems_push(k->e, a, alen, k->pairs ? b : NULL, blen, 0) ? -ENOMEM : 0;
}

static int collect_zelem(void *arg, const void *m, size_t mlen, double score)
{
	struct ccollect *k = arg;
	int n = d2str(k->scorebuf, sizeof(k->scorebuf), score);

	return collect_elem(arg, m, mlen, k->scorebuf, (size_t)n);
}

void scan_collection(struct client *c, enum hkv_type type)
{
	struct hkv_cursor cur;
	struct scan_opts o;
	struct ccollect k = { 0 };
	struct elems e;
	int rc;

	if (!cursor_parse(c, 2, &cur) || !scan_options(c, 3, false, &o))
		return;
	if (!check_type(c, 1, type, NULL))
		return;
	elems_init(&e);
	k.e = &e;
	k.o = &o;
	k.pairs = type != HKV_TYPE_SET;
	if (type == HKV_TYPE_HASH) {
		/*
		 * A small hash is given whole by its first call, in insertion order, as Redis
		 * gives a listpack; a large one is walked by the cursor (docs/resp.md).
		 */
		rc = 0;
		if (!cur.len) {
			rc = hkv_hgetall_small(c->db, c->argv[1], c->argvlen[1], collect_elem, &k);
			if (rc == 1)
				cur.done = true;
		}
		if (!rc)
			rc = hkv_hscan(c->db, c->argv[1], c->argvlen[1], &cur, NULL, o.count,
				       collect_elem, &k);
	} else if (type == HKV_TYPE_SET)
		rc = hkv_sscan(c->db, c->argv[1], c->argvlen[1], &cur, NULL, o.count,
			       collect_elem, &k);
	else
		rc = hkv_zscan(c->db, c->argv[1], c->argvlen[1], &cur, NULL, o.count,
			       collect_zelem, &k);
	if (rc < 0) {
		add_err_engine(c, rc);
		goto out;
	}
	add_array(c, 2);
	cursor_reply(c, &cur);
	add_array(c, (long long)(k.pairs ? e.n * 2 : e.n));
	for (size_t i = 0; i < e.n; i++) {
		add_bulk(c, elem_a(&e, i), e.v[i].alen);
		if (k.pairs)
			add_bulk(c, elem_b(&e, i), e.v[i].blen);
	}
out:
	elems_free(&e);
}

/* Walk the whole keyspace in batches, calling @fn for every key (MATCH-filtered). */
static int walk_keys(struct hkv *db, const struct scan_opts *o, struct elems *e)
{
	struct hkv_scan_opts so = { .count = 1000 };
	struct hkv_cursor cur;
	struct collect k = { e, o, 0 };
	int rc;

	hkv_cursor_init(&cur);
	while (!cur.done) {
		rc = hkv_scan(db, &cur, &so, collect_key, &k);
		if (rc < 0)
			return rc;
		if (k.err)
			return k.err;
	}
	return 0;
}

void keys_command(struct client *c)
{
	struct scan_opts o = { .match = c->argv[1], .mlen = c->argvlen[1], .type = -1 };
	struct elems e;
	int rc;

	if (o.mlen == 1 && o.match[0] == '*')
		o.match = NULL;
	elems_init(&e);
	rc = walk_keys(c->db, &o, &e);
	if (rc) {
		add_err_engine(c, rc);
	} else {
		add_array(c, (long long)e.n);
		for (size_t i = 0; i < e.n; i++)
			add_bulk(c, elem_a(&e, i), e.v[i].alen);
	}
	elems_free(&e);
}

static int flush_all(struct client *c)
{
	int swept;

	struct scan_opts o = { .type = -1 };
	struct elems e;
	int rc;

	/* in batches of keys, so that a huge store is not read into memory at once */
	for (;;) {
		struct hkv_scan_opts so = { .count = 10000 };
		struct hkv_cursor cur;
		struct collect k = { &e, &o, 0 };

		elems_init(&e);
		hkv_cursor_init(&cur);
		rc = hkv_scan(c->db, &cur, &so, collect_key, &k);
		if (rc >= 0 && k.err)
			rc = k.err;
		if (rc >= 0 && !e.n) {
			elems_free(&e);
			break;
		}
		for (size_t i = 0; rc >= 0 && i < e.n; i++)
			rc = hkv_del(c->db, elem_a(&e, i), e.v[i].alen);
		elems_free(&e);
		if (rc < 0)
			return rc;
		if (cur.done)
			break;
	}
	/* keys whose time has come but that the sweep has not deleted yet go too */
	do {
		swept = hkv_expire_cycle(c->db, 10000);
	} while (swept > 0);
	return swept < 0 ? swept : 0;
}

static void flush_generic(struct client *c)
{
	int rc;

	if (c->argc > 2 || (c->argc == 2 && !arg_eq(c, 1, "sync") && !arg_eq(c, 1, "async"))) {
		add_err_syntax(c);
		return;
	}
	if (writes_refused(c))
		return;
	rc = flush_all(c);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	c->srv->st.dirty++;
	/* every key with blocked clients is gone: XREADGROUP readers learn it (signalFlushedDb) */
	{
		struct dict_iter it;
		struct dict_entry *e;

		dict_iter_init(&it, &c->srv->blocking);
		while ((e = dict_iter_next(&it)))
			signal_key_ready(c->srv, e->key, e->klen);
	}
	add_ok(c);
}

void flushall_command(struct client *c)
{
	flush_generic(c);
}

void flushdb_command(struct client *c)
{
	flush_generic(c);
}

void dbsize_command(struct client *c)
{
	struct hkv_stats st;
	int rc = hkv_stats_get(c->db, &st);

	if (rc)
		add_err_engine(c, rc);
	else
		add_int(c, (long long)st.keys);
}

static void del_generic(struct client *c)
{
	long long n = 0;

	if (writes_refused(c))
		return;
	for (int i = 1; i < c->argc; i++) {
		int rc = hkv_del(c->db, c->argv[i], c->argvlen[i]);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		if (rc) {
			key_modified(c, NOTIFY_GENERIC, "del", c->argv[i], c->argvlen[i]);
			n++;
		}
	}
	add_int(c, n);
}

void del_command(struct client *c)
{
	del_generic(c);
}

void unlink_command(struct client *c)
{
	del_generic(c);
}

void exists_command(struct client *c)
{
	long long n = 0;

	for (int i = 1; i < c->argc; i++) {
		int rc = hkv_exists(c->db, c->argv[i], c->argvlen[i]);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		n += rc;
	}
	add_int(c, n);
}

void touch_command(struct client *c)
{
	exists_command(c);
}

void type_command(struct client *c)
{
	int t = hkv_type(c->db, c->argv[1], c->argvlen[1]);

	if (t < 0)
		add_err_engine(c, t);
	else
		add_status(c, hkv_type_name((enum hkv_type)t));
}

static void rename_generic(struct client *c, bool nx)
{
	int rc;

	if (c->argvlen[1] == c->argvlen[2] && !memcmp(c->argv[1], c->argv[2], c->argvlen[1])) {
		rc = hkv_exists(c->db, c->argv[1], c->argvlen[1]);
		if (rc < 0)
			add_err_engine(c, rc);
		else if (!rc)
			add_error(c, "no such key");
		else if (nx)
			add_int(c, 0);
		else
			add_ok(c);
		return;
	}
	if (writes_refused(c))
		return;
	rc = hkv_rename(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2],
			nx ? HKV_RENAME_NX : 0);
	if (rc == -ENOENT) {
		add_error(c, "no such key");
		return;
	}
	if (rc == -EEXIST) {
		add_int(c, 0);
		return;
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	key_modified(c, NOTIFY_GENERIC, "rename_from", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_GENERIC, "rename_to", c->argv[2], c->argvlen[2]);
	if (nx)
		add_int(c, 1);
	else
		add_ok(c);
}

void rename_command(struct client *c)
{
	rename_generic(c, false);
}

void renamenx_command(struct client *c)
{
	rename_generic(c, true);
}

/*
 * Write @e as the value of @dst of type @t (a copy or a restore). @dst must not exist.
 * Return: 0, or a negative engine error.
 */
int write_value(struct hkv *db, const char *dst, size_t dlen, int t,
		const struct elems *e, const void *str, size_t slen, int64_t expire_at)
{
	int rc = 0;

	switch (t) {
	case HKV_TYPE_STRING: {
		struct hkv_set_opts o = { 0 };

		if (expire_at) {
			o.flags = HKV_SET_EXPIRE;
			o.expire_at = expire_at;
		}
		rc = hkv_set(db, dst, dlen, str, slen, &o);
		return rc < 0 ? rc : 0;
	}
	case HKV_TYPE_HASH:
		for (size_t i = 0; rc >= 0 && i < e->n; i++)
			rc = hkv_hset(db, dst, dlen, elem_a(e, i), e->v[i].alen, elem_b(e, i),
				      e->v[i].blen, NULL);
		break;
	case HKV_TYPE_LIST:
		for (size_t i = 0; rc >= 0 && i < e->n; i++)
			rc = (int)hkv_rpush(db, dst, dlen, elem_a(e, i), e->v[i].alen, NULL);
		break;
	case HKV_TYPE_SET:
		for (size_t i = 0; rc >= 0 && i < e->n; i++)
			rc = hkv_sadd(db, dst, dlen, elem_a(e, i), e->v[i].alen, NULL);
		break;
	case HKV_TYPE_ZSET:
		for (size_t i = 0; rc >= 0 && i < e->n; i++)
			rc = hkv_zadd(db, dst, dlen, e->v[i].score, elem_a(e, i), e->v[i].alen,
				      0, NULL, NULL);
		break;
	case HKV_TYPE_STREAM:
		/* a stream is its records (t_stream.c); an empty one still exists */
		rc = hkv_create(db, dst, dlen, HKV_TYPE_STREAM, NULL);
		for (size_t i = 0; rc >= 0 && i < e->n; i++)
			rc = hkv_xrec_put(db, dst, dlen, elem_a(e, i), e->v[i].alen, elem_b(e, i),
					  e->v[i].blen, NULL);
		if (rc >= 0 && expire_at)
			rc = hkv_pexpireat(db, dst, dlen, expire_at, 0);
		return rc < 0 ? rc : 0;
	default:
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	if (expire_at && e->n)
		rc = hkv_pexpireat(db, dst, dlen, expire_at, 0);
	return rc < 0 ? rc : 0;
}

/* Read the whole value of @key: type, and @e (collections) or @str (strings). */
int read_value(struct hkv *db, const char *key, size_t klen, int *type,
	       struct elems *e, struct hkv_buf *str, int64_t *expire_at)
{
	struct hkv_attr a;
	int rc = hkv_attr_get(db, key, klen, &a);

	if (rc)
		return rc;
	*type = a.type;
	if (expire_at)
		*expire_at = a.expire_at;
	switch (a.type) {
	case HKV_TYPE_STRING:
		return hkv_get(db, key, klen, str);
	case HKV_TYPE_HASH:
		return elems_load_hash(db, key, klen, e);
	case HKV_TYPE_LIST:
		return elems_load_list(db, key, klen, e);
	case HKV_TYPE_SET:
		return elems_load_set(db, key, klen, e);
	case HKV_TYPE_ZSET:
		return elems_load_zset(db, key, klen, e);
	case HKV_TYPE_STREAM:
		return elems_load_stream(db, key, klen, e);
	default:
		return -HKV_ECORRUPT;
	}
}

void copy_command(struct client *c)
{
	bool replace = false;
	struct hkv_buf str = { 0 };
	struct elems e;
	int64_t exp = 0;
	int t, rc;

	for (int j = 3; j < c->argc; j++) {
		if (arg_eq(c, j, "replace")) {
			replace = true;
		} else if (arg_eq(c, j, "db") && j + 1 < c->argc) {
			long long db;

			if (!get_ll_or_reply(c, j + 1, &db, NULL))
				return;
			if (db != 0) {
				add_error(c, "DB index is out of range");
				return;
			}
			j++;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (c->argvlen[1] == c->argvlen[2] && !memcmp(c->argv[1], c->argv[2], c->argvlen[1])) {
		add_error(c, "source and destination objects are the same");
		return;
	}
	elems_init(&e);
	rc = read_value(c->db, c->argv[1], c->argvlen[1], &t, &e, &str, &exp);
	if (rc == -ENOENT) {
		add_int(c, 0);
		goto out;
	}
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	rc = hkv_exists(c->db, c->argv[2], c->argvlen[2]);
	if (rc < 0) {
		add_err_engine(c, rc);
		goto out;
	}
	if (rc && !replace) {
		add_int(c, 0);
		goto out;
	}
	if (writes_refused(c))
		goto out;
	if (rc) {
		rc = hkv_del(c->db, c->argv[2], c->argvlen[2]);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
	}
	rc = write_value(c->db, c->argv[2], c->argvlen[2], t, &e, str.data ? str.data : "",
			 str.len, exp);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	key_modified(c, NOTIFY_GENERIC, "copy_to", c->argv[2], c->argvlen[2]);
	add_int(c, 1);
out:
	hkv_buf_release(&str);
	elems_free(&e);
}

/* Keys compare as the engine orders them: bytes, then length. */
static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	return r ? r : (alen > blen) - (alen < blen);
}

#define RANDOMKEY_WINDOW 16
#define RANDOMKEY_SMALL 1024

/*
 * RANDOMKEY: the keys are only reachable in order. A keyspace of at most RANDOMKEY_SMALL keys
 * is read whole and one key picked uniformly. A larger one is entered at a random byte
 * position: the next RANDOMKEY_WINDOW keys (wrapping around once, never past the start) are
 * taken and one of them picked, which smooths the gaps between keys (a position alone picks the
 * key after the widest gap most often) but still favours keys that follow wide gaps.
 */
void randomkey_command(struct client *c)
{
	struct hkv_scan_opts so = { .count = RANDOMKEY_WINDOW };
	struct scan_opts o = { .type = -1 };
	struct hkv_cursor cur;
	unsigned char rnd[8];
	uint64_t r = srv_rand(c->srv);
	struct elems e;
	struct collect k = { &e, &o, 0 };
	struct hkv_stats st;
	size_t wrap;
	int rc;

	memcpy(rnd, &r, sizeof(rnd));
	elems_init(&e);
	if (hkv_stats_get(c->db, &st) == 0 && st.keys <= RANDOMKEY_SMALL) {
		so.count = RANDOMKEY_SMALL;
		hkv_cursor_init(&cur);
		while (!cur.done) {
			rc = hkv_scan(c->db, &cur, &so, collect_key, &k);
			if (rc < 0 || k.err) {
				add_err_engine(c, rc < 0 ? rc : k.err);
				goto out;
			}
		}
		goto pick;
	}
	if (hkv_cursor_after(&cur, rnd, sizeof(rnd), false))
		hkv_cursor_init(&cur);
	for (int pass = 0; pass < 2 && e.n < RANDOMKEY_WINDOW; pass++) {
		wrap = e.n;
		while (!cur.done && e.n < RANDOMKEY_WINDOW) {
			rc = hkv_scan(c->db, &cur, &so, collect_key, &k);
			if (rc < 0 || k.err) {
				add_err_engine(c, rc < 0 ? rc : k.err);
				goto out;
			}
		}
		if (pass == 1) /* the second pass stops where the first one started */
			while (e.n > wrap && key_cmp(elem_a(&e, e.n - 1), e.v[e.n - 1].alen, rnd,
						     sizeof(rnd)) > 0)
				e.n--;
		hkv_cursor_init(&cur);
	}
pick:
	if (e.n) {
		size_t i = (size_t)(srv_rand(c->srv) % e.n);

		add_bulk(c, elem_a(&e, i), e.v[i].alen);
	} else {
		add_null(c);
	}
out:
	elems_free(&e);
}

/* ---- OBJECT, MEMORY -------------------------------------------------------------------- */

static bool is_int_string(const char *s, size_t len)
{
	long long v;

	return len <= 20 && str2ll(s, len, &v);
}

/*
 * The encoding Redis 7.0 would use for this value with the current encoding settings
 * (hkvfs stores every type the same way; clients and tools read this field as a size hint).
 * A hash is "listpack" while the store keeps it small, in insertion order (hkv_hsmall()).
 */
static const char *encoding_of(struct client *c, const char *key, size_t klen, int *err)
{
	struct hkv_server *srv = c->srv;
	struct hkv_buf str = { 0 };
	struct elems e;
	int64_t exp;
	const char *enc = NULL;
	int t, rc;

	/* a stream has one encoding whatever its size: no need to load it */
	if (hkv_type(c->db, key, klen) == HKV_TYPE_STREAM) {
		*err = 0;
		return "stream";
	}
	elems_init(&e);
	rc = read_value(c->db, key, klen, &t, &e, &str, &exp);
	*err = rc;
	if (rc)
		goto out;
	switch (t) {
	case HKV_TYPE_STRING:
		enc = is_int_string(str.data, str.len) ? "int" : str.len <= 44 ? "embstr" : "raw";
		break;
	case HKV_TYPE_LIST:
		enc = "quicklist";
		break;
	case HKV_TYPE_HASH:
		/* the store's own state: a hash that went beyond the limits once stays large */
		rc = hkv_hsmall(c->db, key, klen);
		if (rc < 0) {
			*err = rc;
			goto out;
		}
		enc = rc ? "listpack" : "hashtable";
		break;
	case HKV_TYPE_SET: {
		long long ent = config_get_ll(srv, "set-max-intset-entries", 512);

		enc = (long long)e.n <= ent ? "intset" : "hashtable";
		for (size_t i = 0; i < e.n && enc[0] == 'i'; i++)
			if (!is_int_string(elem_a(&e, i), e.v[i].alen))
				enc = "hashtable";
		break;
	}
	case HKV_TYPE_ZSET: {
		long long ent = config_get_ll(srv, "zset-max-listpack-entries", 128);
		long long val = config_get_ll(srv, "zset-max-listpack-value", 64);

		enc = (long long)e.n <= ent ? "listpack" : "skiplist";
		for (size_t i = 0; i < e.n && enc[0] == 'l'; i++)
			if ((long long)e.v[i].alen > val)
				enc = "skiplist";
		break;
	}
	}
out:
	hkv_buf_release(&str);
	elems_free(&e);
	return enc;
}

void object_encoding_command(struct client *c)
{
	int err;
	const char *enc = encoding_of(c, c->argv[2], c->argvlen[2], &err);

	if (err == -ENOENT)
		add_null(c);
	else if (err)
		add_err_engine(c, err);
	else
		add_bulk_str(c, enc);
}

void object_refcount_command(struct client *c)
{
	int rc = hkv_exists(c->db, c->argv[2], c->argvlen[2]);

	if (rc < 0)
		add_err_engine(c, rc);
	else if (!rc)
		add_null(c);
	else
		add_int(c, 1);
}

void object_idletime_command(struct client *c)
{
	struct hkv_attr a;
	int rc = hkv_attr_get(c->db, c->argv[2], c->argvlen[2], &a);

	if (rc == -ENOENT)
		add_null(c);
	else if (rc)
		add_err_engine(c, rc);
	else
		add_int(c, (srv_now_ms() - a.mtime_ns / 1000000) / 1000);
}

void object_freq_command(struct client *c)
{
	int rc = hkv_exists(c->db, c->argv[2], c->argvlen[2]);

	if (rc < 0)
		add_err_engine(c, rc);
	else if (!rc)
		add_null(c);
	else
		add_error(c, "An LFU maxmemory policy is not selected, access frequency not "
			     "tracked. Please note that when switching between policies at "
			     "runtime LRU and LFU data will take some time to adjust.");
}

void object_help_command(struct client *c)
{
	static const char *const help[] = {
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>",
		"    The encoding Redis would use for the value of <key> (hkvfs stores all",
		"    values the same way).",
		"FREQ <key>",
		"    Access frequency: not tracked (no LFU policy).",
		"IDLETIME <key>",
		"    Seconds since <key> was last written.",
		"REFCOUNT <key>",
		"    Always 1.",
		"HELP",
		"    This text.",
		NULL
	};

	add_help(c, help);
}

void memory_usage_command(struct client *c)
{
	struct hkv_buf str = { 0 };
	struct elems e;
	long long bytes;
	int64_t exp;
	int t, rc;

	if (c->argc != 3 && !(c->argc == 5 && arg_eq(c, 3, "samples"))) {
		add_err_syntax(c);
		return;
	}
	elems_init(&e);
	rc = read_value(c->db, c->argv[2], c->argvlen[2], &t, &e, &str, &exp);
	if (rc == -ENOENT) {
		add_null(c);
		goto out;
	}
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	/* bytes the engine keeps for the key: its record, then each element's record */
	bytes = 96 + (long long)c->argvlen[2] + (long long)str.len;
	for (size_t i = 0; i < e.n; i++)
		bytes += 32 + (long long)e.v[i].alen + (long long)e.v[i].blen;
	add_int(c, bytes);
out:
	hkv_buf_release(&str);
	elems_free(&e);
}

void move_command(struct client *c)
{
	long long db;

	if (!get_ll_or_reply(c, 2, &db, NULL))
		return;
	if (db == 0)
		add_error(c, "source and destination objects are the same");
	else
		add_error(c, "DB index is out of range");
}

void swapdb_command(struct client *c)
{
	long long a, b;

	if (!get_ll_or_reply(c, 1, &a, "invalid first DB index") ||
	    !get_ll_or_reply(c, 2, &b, "invalid second DB index"))
		return;
	if (a != 0 || b != 0)
		add_error(c, "DB index is out of range");
	else
		add_ok(c);
}
