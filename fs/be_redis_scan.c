// SPDX-License-Identifier: MIT
/*
 * be_redis_scan.c - listing (hkvfs_be_scan()) on a Redis Cluster or a standalone Redis.
 *
 * A directory listing of PREFIX is one SCAN walk over every master in turn, each batch one
 * EVAL on that master (lua_scan): SCAN COUNT 1000, and for each key of the batch that starts
 * with PREFIX its type (TYPE inside the script: no round trip per key), and the empty-collection
 * markers "{TAG}hkvfs.empty:PREFIX...". O(keys in the cluster) per listing whatever PREFIX
 * matches, streaming, constant memory for keys (one batch at a time). Reserved names are
 * never reported as keys. The script needs Redis 7.0 (shebang flags allow-cross-slot-keys and
 * no-writes).
 *
 * The cursor is a plain value (struct hkv_cursor.pos, little-endian):
 *
 *   offset size  field
 *   0      1     0; 1 once the walk is done
 *   1      2     first slot of the master being scanned (its slot tag routes the SCAN);
 *                16384 in the cursor of a walk that has not chosen its first master
 *   3      8     that master's SCAN cursor
 *   11     4     entries of the batch at that cursor already reported (resume inside it:
 *                the batch is fetched again with the same MATCH, COUNT and TYPE)
 *   15     8     walk id (the roll-up memory below)
 *   23     4     hash of the node id that served the cursor (a different node after a
 *                failover cannot continue it: that master is scanned again from 0, so keys
 *                may be reported twice there, never skipped)
 *
 * hkv-remote's own SCAN iterator is an object, not a value; readdir keeps cursors per
 * directory offset and resumes from any of them, so the walk routes SCAN itself, per master,
 * with hkv_cluster_call() and the master's slot tag. hkvfs_be_cursor_after() gives the exact
 * position after any entry of the walk's last batch (the walk remembers what that batch
 * reported), so readdir can stop after any entry (a full getdents buffer) and resume there.
 *
 * Roll-up: with a delimiter, keys below a subdirectory are reported once as the prefix
 * "PREFIX part DELIM". SCAN's order is the hash table's, so one subdirectory's keys come
 * anywhere in the walk; the walk remembers the prefixes it reported (struct rbe_walk, by walk
 * id, with the position each was reported at, so a batch fetched again reports them again).
 * That memory is O(subdirectories of the listed directory) plus one batch per walk; at most
 * RBE_WALKS walks are remembered (the least recently used is dropped: a prefix may then be
 * reported again, and cursor_after() falls back to -EOPNOTSUPP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "be_redis_int.h"

#define CUR_LEN 27
#define SCAN_COUNT 1000
#define SCAN_LIMIT 128 /* entries one call returns at most (readdir takes 64 at a time) */
#define PASSES 1 /* one pass over each master (the cursor's pass byte: 0, or 1 when done) */
#define RBE_WALKS 16

/*
 * One batch of a master's keyspace: SCAN from ARGV[1] with COUNT ARGV[2], and for each key
 * that starts with the prefix ARGV[3] its index in the batch, the key and its type; for each
 * "{...}" ARGV[4] name whose rest starts with the prefix (an empty-collection marker, if its
 * tag is canonical: checked by the caller) the same with the type "marker". One round trip and
 * one pass over the keyspace per listing; the keys are this node's own (allow-cross-slot-keys
 * lets the script read them whatever their slot; Redis 7.0 and later).
 */
static const char lua_scan[] =
	"#!lua flags=no-writes,allow-cross-slot-keys\n"
	"local r = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])\n"
	"local p, sfx = ARGV[3], ARGV[4]\n"
	"local skip, limit = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
	"local pl, sl = #p, #sfx\n"
	"local out, n = {}, 0\n"
	"for i, k in ipairs(r[2]) do\n"
	"  if i - 1 >= skip then\n"
	"    local c = string.sub(k, 1, 1) == '{' and string.find(k, '}', 2, true)\n"
	"    local t = nil\n"
	"    if c and c <= 6 and string.sub(k, c + 1, c + sl) == sfx then\n"
	"      if string.sub(k, c + sl + 1, c + sl + pl) == p then t = 'marker' end\n"
	"    elseif string.sub(k, 1, pl) == p then\n"
	"      t = redis.call('TYPE', k)['ok']\n"
	"    end\n"
	"    if t then\n"
	"      if n == limit then return {r[1], out, i - 1} end\n"
	"      out[#out + 1] = i - 1; out[#out + 1] = k; out[#out + 1] = t\n"
	"      n = n + 1\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {r[1], out, -1}\n";

struct seen {
	struct seen *next;
	unsigned char pos[15]; /* pass, slot, cursor, index: where it was reported */
	size_t len;
	unsigned char p[];
};

/*
 * The entries the last batch of a walk reported, with their index in the batch: what
 * hkvfs_be_cursor_after() needs to give the exact position after any of them.
 */
struct batch_ent {
	uint32_t idx;
	bool is_prefix;
	size_t off, len;
};

struct rbe_walk {
	struct rbe_walk *next;
	uint64_t id;
	uint64_t used;
	size_t nbuckets, n;
	struct seen **b;
	/* the last batch: its position (pass, slot, Redis cursor) and what it reported */
	bool have_batch;
	unsigned pass, slot;
	uint32_t idh;
	uint64_t cur;
	struct batch_ent *ents;
	size_t nents, capents;
	unsigned char *buf;
	size_t blen, bcap;
};

/* the masters: first slot and node-id hash of each, in slot order */
struct master {
	unsigned slot;
	uint32_t idh;
};

static uint32_t hash32(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

static void walk_free(struct rbe_walk *w)
{
	size_t i;

	for (i = 0; i < w->nbuckets; i++) {
		while (w->b[i]) {
			struct seen *s = w->b[i];

			w->b[i] = s->next;
			free(s);
		}
	}
	free(w->b);
	free(w->ents);
	free(w->buf);
	free(w);
}

void rbe_walks_free(struct rbe *r)
{
	while (r->walks) {
		struct rbe_walk *w = r->walks;

		r->walks = w->next;
		walk_free(w);
	}
	r->nwalks = 0;
}

/* find (or create) walk @id; caller holds walk_lock */
static struct rbe_walk *walk_get(struct rbe *r, uint64_t id, bool create)
{
	static uint64_t tick;
	struct rbe_walk *w, **pp, **lru = NULL;

	for (pp = &r->walks; (w = *pp); pp = &w->next) {
		if (w->id == id) {
			w->used = ++tick;
			return w;
		}
	}
	if (!create)
		return NULL;
	if (r->nwalks >= RBE_WALKS) {
		for (pp = &r->walks; *pp; pp = &(*pp)->next)
			if (!lru || (*pp)->used < (*lru)->used)
				lru = pp;
		w = *lru;
		*lru = w->next;
		walk_free(w);
		r->nwalks--;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->nbuckets = 64;
	w->b = calloc(w->nbuckets, sizeof(*w->b));
	if (!w->b) {
		free(w);
		return NULL;
	}
	w->id = id;
	w->used = ++tick;
	w->next = r->walks;
	r->walks = w;
	r->nwalks++;
	return w;
}

/*
 * Report prefix @p of walk @id at position @pos? Yes if never reported, or reported at this
 * very position (the batch is being read again). Returns -ENOMEM when it cannot remember.
 */
static int walk_first(struct rbe *r, uint64_t id, const unsigned char *pos, const void *p,
		      size_t len)
{
	struct rbe_walk *w;
	struct seen *s;
	size_t h;
	int rc = 1;

	pthread_mutex_lock(&r->walk_lock);
	w = walk_get(r, id, true);
	if (!w) {
		rc = -ENOMEM;
		goto out;
	}
	if (w->n > w->nbuckets * 2) {
		size_t nb = w->nbuckets * 4, i;
		struct seen **b = calloc(nb, sizeof(*b));

		if (b) {
			for (i = 0; i < w->nbuckets; i++) {
				while ((s = w->b[i])) {
					w->b[i] = s->next;
					h = hash32(s->p, s->len) % nb;
					s->next = b[h];
					b[h] = s;
				}
			}
			free(w->b);
			w->b = b;
			w->nbuckets = nb;
		}
	}
	h = hash32(p, len) % w->nbuckets;
	for (s = w->b[h]; s; s = s->next) {
		if (s->len == len && !memcmp(s->p, p, len)) {
			rc = !memcmp(s->pos, pos, sizeof(s->pos));
			goto out;
		}
	}
	s = malloc(sizeof(*s) + len);
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(s->pos, pos, sizeof(s->pos));
	s->len = len;
	memcpy(s->p, p, len);
	s->next = w->b[h];
	w->b[h] = s;
	w->n++;
out:
	pthread_mutex_unlock(&r->walk_lock);
	return rc;
}

/* start recording the batch at (@pass, @slot, @cur) of walk @id */
static void batch_begin(struct rbe *r, uint64_t id, unsigned pass, unsigned slot, uint32_t idh,
			uint64_t cur)
{
	struct rbe_walk *w;

	pthread_mutex_lock(&r->walk_lock);
	w = walk_get(r, id, true);
	if (w) {
		w->have_batch = true;
		w->pass = pass;
		w->slot = slot;
		w->idh = idh;
		w->cur = cur;
		w->nents = 0;
		w->blen = 0;
	}
	pthread_mutex_unlock(&r->walk_lock);
}

/* remember that the batch reported @key (or prefix) at index @idx; on ENOMEM forget it all */
static void batch_add(struct rbe *r, uint64_t id, uint32_t idx, const void *key, size_t klen,
		      bool is_prefix)
{
	struct rbe_walk *w;

	pthread_mutex_lock(&r->walk_lock);
	w = walk_get(r, id, false);
	if (!w || !w->have_batch)
		goto out;
	if (w->nents == w->capents) {
		size_t c = w->capents ? w->capents * 2 : 64;
		struct batch_ent *e = realloc(w->ents, c * sizeof(*e));

		if (!e) {
			w->have_batch = false;
			goto out;
		}
		w->ents = e;
		w->capents = c;
	}
	if (w->blen + klen > w->bcap) {
		size_t c = w->bcap ? w->bcap * 2 : 4096;
		unsigned char *b;

		while (c < w->blen + klen)
			c *= 2;
		b = realloc(w->buf, c);
		if (!b) {
			w->have_batch = false;
			goto out;
		}
		w->buf = b;
		w->bcap = c;
	}
	memcpy(w->buf + w->blen, key, klen);
	w->ents[w->nents++] = (struct batch_ent){ idx, is_prefix, w->blen, klen };
	w->blen += klen;
out:
	pthread_mutex_unlock(&r->walk_lock);
}

/* the masters, in slot order, from CLUSTER SLOTS (a standalone server: one, slot 0) */
static int masters_get(struct rbe *r, struct master *ms, int max)
{
	struct hkv_resp_value *v;
	struct rbe_cmd c;
	size_t i;
	int n = 0, j, rc;

	if (!hkv_cluster_is_cluster(r->cl)) {
		ms[0].slot = 0;
		ms[0].idh = 0;
		return 1;
	}
	rbe_cmd_init(&c, "CLUSTER");
	rbe_arg_str(&c, "SLOTS");
	rc = rbe_run(r, NULL, 0, false, &c, &v, "CLUSTER SLOTS");
	if (rc)
		return rc;
	for (i = 0; v->type == HKV_RESP_ARRAY && i < v->nelem; i++) {
		const struct hkv_resp_value *e = v->elem[i], *node;
		unsigned start;
		uint32_t idh;

		if (e->type != HKV_RESP_ARRAY || e->nelem < 3 || e->elem[2]->type != HKV_RESP_ARRAY)
			continue;
		start = (unsigned)e->elem[0]->integer;
		node = e->elem[2];
		idh = node->nelem >= 3 && node->elem[2]->str ? hash32(node->elem[2]->str,
								      node->elem[2]->len) : 0;
		for (j = 0; j < n; j++)
			if (ms[j].idh == idh)
				break;
		if (j < n) {
			if (start < ms[j].slot)
				ms[j].slot = start;
			continue;
		}
		if (n == max)
			break;
		ms[n].slot = start;
		ms[n].idh = idh;
		n++;
	}
	hkv_resp_value_free(v);
	/* slot order: insertion sort, n is small */
	for (j = 1; j < n; j++) {
		struct master t = ms[j];
		int k = j;

		while (k > 0 && ms[k - 1].slot > t.slot) {
			ms[k] = ms[k - 1];
			k--;
		}
		ms[k] = t;
	}
	return n ? n : -EIO;
}

struct pos {
	unsigned pass;
	unsigned slot;
	uint64_t cur;
	uint32_t skip;
	uint64_t walk;
	uint32_t idh;
};

static void pos_put(const struct pos *p, struct hkv_cursor *c)
{
	uint16_t s = (uint16_t)p->slot;

	c->pos[0] = (unsigned char)p->pass;
	memcpy(c->pos + 1, &s, 2);
	memcpy(c->pos + 3, &p->cur, 8);
	memcpy(c->pos + 11, &p->skip, 4);
	memcpy(c->pos + 15, &p->walk, 8);
	memcpy(c->pos + 23, &p->idh, 4);
	c->len = CUR_LEN;
}

static void pos_get(const struct hkv_cursor *c, struct pos *p)
{
	uint16_t s;

	p->pass = c->pos[0];
	memcpy(&s, c->pos + 1, 2);
	p->slot = s;
	memcpy(&p->cur, c->pos + 3, 8);
	memcpy(&p->skip, c->pos + 11, 4);
	memcpy(&p->walk, c->pos + 15, 8);
	memcpy(&p->idh, c->pos + 23, 4);
}

/*
 * The type of the empty collection whose marker names @key, or HKV_TYPE_NONE when the key
 * itself exists (its own pass reports it; the marker is stale) or the marker is gone.
 */
static const char lua_marker[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 'none' end\n"
	"return redis.call('GET', KEYS[3]) or 'none'\n";

static int marker_type(struct rbe *r, const void *key, size_t klen)
{
	struct hkv_resp_value *v;
	struct rbe_keys ks;
	int rc;

	rc = rbe_keys_init(r, &ks, key, klen);
	if (rc)
		return rc;
	rc = rbe_eval(r, &ks, false, lua_marker, NULL, 0, NULL, NULL, &v, "listing (marker)");
	rbe_keys_release(&ks);
	if (rc)
		return rc;
	rc = v->type == HKV_RESP_BULK ? (int)hkv_type_parse(v->str, v->len) : -EIO;
	if (rc == HKV_TYPE_STREAM)
		rc = HKV_TYPE_NONE; /* streams are not shown */
	hkv_resp_value_free(v);
	return rc;
}

int rbe_scan(struct hkvfs_be *be, struct hkv_cursor *cur, const struct hkv_scan_opts *o,
	     hkv_scan_fn cb, void *arg)
{
	static const struct hkv_scan_opts none;
	struct rbe *r = rbe_of(be);
	struct master ms[64] = { 0 };
	struct hkv_resp_value *v = NULL;
	const struct hkv_resp_value *items;
	struct pos p;
	struct rbe_cmd c;
	char cs[32], tagkey[RBE_TAG_MAX + 3];
	int nm, i, rc, reported = 0;
	size_t i3;
	uint32_t idx;
	uint64_t next;

	if (!o)
		o = &none;
	if (cur->done)
		return 0;
	if (cur->len == 0) {
		/*
		 * A new walk: hand back its identity before reporting anything, so that every
		 * entry is reported from a cursor that names the walk (cursor_after() needs it).
		 */
		memset(&p, 0, sizeof(p));
		p.walk = atomic_fetch_add(&r->walk_ids, 1) + 1;
		p.slot = HKV_CLUSTER_SLOTS; /* "the first master", resolved by the next call */
		pos_put(&p, cur);
		return 0;
	} else if (cur->len == CUR_LEN) {
		pos_get(cur, &p);
		if (p.pass >= PASSES)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	nm = masters_get(r, ms, 64);
	if (nm < 0)
		return nm;
	if (nm == 0)
		return -EHOSTUNREACH; /* no master known: nothing to scan yet */
	/* where the cursor stands: its master, or the first one of a new walk */
	if (p.slot == HKV_CLUSTER_SLOTS) {
		p.slot = ms[0].slot;
		p.idh = ms[0].idh;
		p.cur = 0;
	} else {
		for (i = 0; i < nm; i++)
			if (ms[i].slot == p.slot)
				break;
		if (i == nm || ms[i].idh != p.idh) {
			/* the slot's master changed (failover, resharding): scan it again */
			int j;

			for (j = 0; j < nm && ms[j].slot <= p.slot; j++)
				;
			j = j ? j - 1 : 0;
			if (p.cur || p.skip)
				rbe_logf(r, 1, "redis: listing: the master of slot %u changed; its "
					 "keys are scanned again from the start", p.slot);
			p.slot = ms[j].slot;
			p.idh = ms[j].idh;
			p.cur = 0;
			p.skip = 0;
		}
	}
	snprintf(cs, sizeof(cs), "%llu", (unsigned long long)p.cur);
	snprintf(tagkey, sizeof(tagkey), "{%s}", r->tags[p.slot]);
	rbe_cmd_init(&c, "EVAL");
	rbe_arg_str(&c, lua_scan);
	rbe_arg_str(&c, "0");
	rbe_arg_str(&c, cs);
	rbe_arg_ll(&c, SCAN_COUNT);
	rbe_arg(&c, o->prefix, o->prefix_len);
	rbe_arg_str(&c, RBE_EMPTY_SFX);
	rbe_arg_ll(&c, p.skip);
	rbe_arg_ll(&c, SCAN_LIMIT);
	rc = rbe_run(r, tagkey, strlen(tagkey), false, &c, &v, "SCAN");
	if (rc)
		return rc;
	if (v->type != HKV_RESP_ARRAY || v->nelem != 3 || v->elem[1]->type != HKV_RESP_ARRAY ||
	    v->elem[1]->nelem % 3) {
		hkv_resp_value_free(v);
		return -EIO;
	}
	items = v->elem[1];
	batch_begin(r, p.walk, p.pass, p.slot, p.idh, p.cur);
	for (i3 = 0; i3 < items->nelem; i3 += 3) {
		const struct hkv_resp_value *it = items->elem[i3 + 1], *ty = items->elem[i3 + 2];
		const unsigned char *key = (const unsigned char *)it->str;
		size_t klen = it->len, rl;
		enum hkv_type type;
		bool is_prefix = false, emp, marker;
		const unsigned char *uk;
		unsigned char at[15];
		int t;

		idx = (uint32_t)rbe_int(items->elem[i3]);
		if (idx < p.skip || !ty->str)
			continue;
		marker = strcmp(ty->str, "marker") == 0;
		uk = rbe_reserved_key(r, key, klen, &rl, &emp);
		if (marker && (!uk || !emp)) {
			/* an ordinary key that only looks like a marker (not the slot's tag) */
			marker = false;
			if (klen < o->prefix_len || memcmp(key, o->prefix, o->prefix_len))
				continue;
			t = hkvfs_be_type(be, key, klen);
			if (t < 0) {
				rc = t;
				goto out;
			}
			if (t == HKV_TYPE_NONE)
				continue;
			type = (enum hkv_type)t;
		} else if (marker) {
			key = uk;
			klen = rl;
			type = HKV_TYPE_NONE;
		} else {
			if (uk)
				continue; /* metadata or a marker: not a key */
			type = hkv_type_parse(ty->str, ty->len);
			if (type == HKV_TYPE_NONE || type == HKV_TYPE_STREAM)
				continue; /* streams, module types: not shown */
		}
		if (klen < o->prefix_len || memcmp(key, o->prefix, o->prefix_len))
			continue;
		if (o->has_delim) {
			const unsigned char *d = memchr(key + o->prefix_len, o->delim,
							klen - o->prefix_len);

			if (d) {
				klen = (size_t)(d - key) + 1;
				is_prefix = true;
				type = HKV_TYPE_NONE;
			}
		}
		if (!is_prefix && o->match && !hkv_glob_match(o->match, key, klen))
			continue;
		if (!is_prefix && marker) {
			t = marker_type(r, key, klen);
			if (t < 0) {
				rc = t;
				goto out;
			}
			if (t == HKV_TYPE_NONE)
				continue;
			type = (enum hkv_type)t;
		}
		if (!is_prefix && o->type != HKV_TYPE_NONE && type != o->type)
			continue;
		if (is_prefix) {
			at[0] = (unsigned char)p.pass;
			memcpy(at + 1, &p.slot, 2);
			memcpy(at + 3, &p.cur, 8);
			memcpy(at + 11, &idx, 4);
			rc = walk_first(r, p.walk, at, key, klen);
			if (rc < 0)
				goto out;
			if (!rc)
				continue;
		}
		batch_add(r, p.walk, idx, key, klen, is_prefix);
		rc = cb(arg, key, klen, type, is_prefix);
		if (rc) {
			p.skip = rc == HKV_SCAN_AGAIN ? idx : idx + 1;
			pos_put(&p, cur);
			goto out;
		}
		reported++;
	}
	/* the script stopped inside the batch (SCAN_LIMIT entries): go on from there */
	if (rbe_int(v->elem[2]) >= 0) {
		p.skip = (uint32_t)rbe_int(v->elem[2]);
		pos_put(&p, cur);
		rc = reported;
		goto out;
	}
	/* the batch is done: the next cursor, or the next master */
	next = strtoull(v->elem[0]->str, NULL, 10);
	p.skip = 0;
	if (next) {
		p.cur = next;
	} else {
		for (i = 0; i < nm && ms[i].slot <= p.slot; i++)
			;
		p.cur = 0;
		if (i < nm) {
			p.slot = ms[i].slot;
			p.idh = ms[i].idh;
		} else {
			p.pass = PASSES;
		}
	}
	if (p.pass >= PASSES) {
		cur->done = true;
		/* the walk's memory stays for cursor_after() on its last batch (LRU drops it) */
		pos_put(&(struct pos){ .pass = PASSES - 1, .walk = p.walk }, cur);
	} else {
		pos_put(&p, cur);
	}
	rc = reported;
out:
	hkv_resp_value_free(v);
	return rc;
}

/*
 * The position right after @key of the last batch of @cur's walk, @cur being the position
 * before it (readdir hands in the cursor it holds): the batch's Redis cursor with the index
 * after @key's. -EOPNOTSUPP when the walk no longer remembers that batch.
 */
int rbe_cursor_after(struct hkvfs_be *be, struct hkv_cursor *cur, const void *key, size_t klen,
		     bool is_prefix)
{
	struct rbe *r = rbe_of(be);
	struct rbe_walk *w;
	struct pos p;
	size_t i;
	int rc = -EOPNOTSUPP;

	if (cur->len != CUR_LEN || cur->done)
		return -EOPNOTSUPP;
	pos_get(cur, &p);
	pthread_mutex_lock(&r->walk_lock);
	w = walk_get(r, p.walk, false);
	if (w && w->have_batch && p.slot == HKV_CLUSTER_SLOTS && p.cur == 0 && w->cur == 0) {
		/* the walk's first batch, read from the cursor that had not chosen a master */
		p.slot = w->slot;
		p.idh = w->idh;
	}
	if (!w || !w->have_batch || w->pass != p.pass || w->slot != p.slot || w->cur != p.cur)
		goto out;
	for (i = 0; i < w->nents; i++) {
		const struct batch_ent *e = &w->ents[i];

		if (e->idx < p.skip || e->is_prefix != is_prefix || e->len != klen ||
		    memcmp(w->buf + e->off, key, klen))
			continue;
		p.skip = e->idx + 1;
		pos_put(&p, cur);
		rc = 0;
		break;
	}
out:
	pthread_mutex_unlock(&r->walk_lock);
	return rc;
}
