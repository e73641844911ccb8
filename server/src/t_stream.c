// SPDX-License-Identifier: MIT
/*
 * t_stream.c - Redis streams over the engine's stream records (engine/src/stream.c):
 * XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD, XSETID, the consumer groups (XGROUP,
 * XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO, with Redis 7.0's replies,
 * errors and keyspace events.
 *
 * Everything a stream has lives in the store, as records under its key (the engine counts
 * the entry records as the key's size, so XLEN is O(1)). Record keys and values (all
 * integers big-endian, an ID is ms(8) + seq(8), so that record order is ID order):
 *
 *   record key                          value
 *   ----------------------------------  ------------------------------------------------
 *   0x00                                meta: last ID(16), entries added(8), max deleted
 *                                       ID(16)
 *   'E' ID                              entry: pairs(4), pairs x (len(4) field, len(4)
 *                                       value)
 *   'N' ID of the node's first entry    node: appended(8), live(8), bytes(8), last ID(16)
 *   'G' group                           group: last delivered ID(16), entries read(8, -1
 *                                       = unknown)
 *   'C' glen(2) group consumer          consumer: seen time (ms, 8)
 *   'P' glen(2) group ID                pending entry: delivery time(8), delivery
 *                                       count(8), owner (consumer name bytes)
 *   'Q' glen(2) group clen(1) consumer  the consumer's index of its pending entries:
 *       ID                              empty (one per 'P' record, under its owner)
 *
 * Nodes: Redis keeps entries in listpack nodes of at most stream-node-max-entries entries
 * (counting deleted ones) and about stream-node-max-bytes bytes, and MAXLEN/MINID "~"
 * trims whole nodes only. The 'N' records keep the same boundaries (a new node starts when
 * the last one is full; a node whose entries are all deleted goes), so that "~" trims
 * exactly what Redis would. A node's byte size is estimated from its fields and values.
 *
 * A write command runs in one engine transaction (call.c), so a command is applied whole or
 * not at all, and readers never see half of it. A stream outlives its last entry (as in
 * Redis); only DEL (or an expiry) removes it.
 *
 * Costs: entries and ranges are B-tree walks (O(log n + returned)); a consumer's pending
 * entries (XPENDING ... consumer, XREADGROUP history, XGROUP DELCONSUMER, the counts of XINFO
 * and XPENDING) are walked through its 'Q' records: O(log n + its entries). Invariant: every
 * 'P' record has exactly one 'Q' record, under the consumer the 'P' record names, and no 'Q'
 * record exists without its 'P' (pend_store() and pend_del() keep both).
 *
 * Blocking XREAD/XREADGROUP use blocking.c (BLOCK_STREAM): a client waits on its keys with
 * the IDs it asked for; any write to one of them makes the key ready, and stream_serve_blocked()
 * replies once the stream has an entry past that ID (XREAD) or past the group's last ID
 * (XREADGROUP), or the group went away (NOGROUP).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

#define REC_META 0x00
#define REC_ENTRY 'E'
#define REC_NODE 'N'
#define REC_GROUP 'G'
#define REC_CONS 'C'
#define REC_PEL 'P'
#define REC_CPEL 'Q'
#define META_LEN 40
#define NODE_LEN 40
#define GROUP_LEN 24
#define NAME_MAX_LEN 200
#define ENTRIES_READ_INVALID (-1)

struct sid {
	uint64_t ms, seq;
};

static const struct sid SID_MAX = { UINT64_MAX, UINT64_MAX };

static int sid_cmp(struct sid a, struct sid b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}

static bool sid_zero(struct sid a)
{
	return !a.ms && !a.seq;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void sid_put(unsigned char *p, struct sid id)
{
	put64(p, id.ms);
	put64(p + 8, id.seq);
}

static struct sid sid_get(const unsigned char *p)
{
	struct sid id = { get64(p), get64(p + 8) };

	return id;
}

static bool sid_incr(struct sid *id)
{
	if (id->seq == UINT64_MAX) {
		if (id->ms == UINT64_MAX)
			return false;
		id->ms++;
		id->seq = 0;
	} else {
		id->seq++;
	}
	return true;
}

static bool sid_decr(struct sid *id)
{
	if (id->seq == 0) {
		if (id->ms == 0)
			return false;
		id->ms--;
		id->seq = UINT64_MAX;
	} else {
		id->seq--;
	}
	return true;
}

static int sid_fmt(char *buf, struct sid id)
{
	return sprintf(buf, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

static void add_sid(struct client *c, struct sid id)
{
	char buf[48];

	add_bulk(c, buf, (size_t)sid_fmt(buf, id));
}

/* ---- records ---------------------------------------------------------------------------- */

/** Record key of class @cls followed by @id. */
static size_t rk_id(unsigned char *rk, int cls, struct sid id)
{
	rk[0] = (unsigned char)cls;
	sid_put(rk + 1, id);
	return 17;
}

/** Record key 'C'/'P' + glen + group [+ tail]. */
static size_t rk_group(unsigned char *rk, int cls, const char *g, size_t glen, const void *tail,
		       size_t tlen)
{
	rk[0] = (unsigned char)cls;
	rk[1] = (unsigned char)(glen >> 8);
	rk[2] = (unsigned char)glen;
	memcpy(rk + 3, g, glen);
	if (tlen)
		memcpy(rk + 3 + glen, tail, tlen);
	return 3 + glen + tlen;
}

struct smeta {
	struct sid last, maxdel;
	uint64_t added;
};

static int meta_load(struct hkv *db, const char *key, size_t klen, struct smeta *m)
{
	unsigned char rk = REC_META;
	struct hkv_buf b;
	int rc = hkv_xrec_get(db, key, klen, &rk, 1, &b);

	memset(m, 0, sizeof(*m));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (b.len >= META_LEN) {
		m->last = sid_get(b.data);
		m->added = get64((unsigned char *)b.data + 16);
		m->maxdel = sid_get((unsigned char *)b.data + 24);
	}
	hkv_buf_release(&b);
	return 0;
}

static int meta_store(struct hkv *db, const char *key, size_t klen, const struct smeta *m)
{
	unsigned char rk = REC_META, v[META_LEN];

	sid_put(v, m->last);
	put64(v + 16, m->added);
	sid_put(v + 24, m->maxdel);
	return hkv_xrec_put(db, key, klen, &rk, 1, v, sizeof(v), NULL) < 0 ? -EIO : 0;
}

/** A copied record of a walk. */
struct rec {
	unsigned char *rk, *v;
	size_t rklen, vlen;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	size_t limit; /* stop after this many (0: all) */
	bool oom;
};

static int recs_add(void *arg, const void *rk, size_t rklen, const void *val, size_t vlen)
{
	struct recs *r = arg;
	struct rec *e;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct rec *nv = realloc(r->v, cap * sizeof(*nv));

		if (!nv)
			goto oom;
		r->v = nv;
		r->cap = cap;
	}
	e = &r->v[r->n];
	e->rk = malloc(rklen + 1);
	e->v = malloc(vlen + 1);
	if (!e->rk || !e->v) {
		free(e->rk);
		free(e->v);
		goto oom;
	}
	memcpy(e->rk, rk, rklen);
	if (vlen)
		memcpy(e->v, val, vlen);
	e->rklen = rklen;
	e->vlen = vlen;
	r->n++;
	return r->limit && r->n >= r->limit ? 1 : 0;
oom:
	r->oom = true;
	return -ENOMEM;
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].rk);
		free(r->v[i].v);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/** Walk records [lo, hi] into @r (at most @limit, 0: all). Return: 0, -ENOENT, <0. */
static int recs_range(struct hkv *db, const char *key, size_t klen, const void *lo,
		      size_t lolen, const void *hi, size_t hilen, bool rev, size_t limit,
		      struct recs *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->limit = limit;
	rc = hkv_xrec_range(db, key, klen, lo, lolen, hi, hilen, rev, recs_add, r);
	return rc > 0 ? 0 : rc;
}

static int entries_range(struct hkv *db, const char *key, size_t klen, struct sid start,
			 struct sid end, bool rev, size_t limit, struct recs *r)
{
	unsigned char lo[17], hi[17];

	rk_id(lo, REC_ENTRY, start);
	rk_id(hi, REC_ENTRY, end);
	return recs_range(db, key, klen, lo, sizeof(lo), hi, sizeof(hi), rev, limit, r);
}

/** The first (or last) entry ID of the stream; false when it has none. */
static bool edge_id(struct hkv *db, const char *key, size_t klen, bool last, struct sid *out)
{
	struct recs r;
	bool found = false;

	if (entries_range(db, key, klen, (struct sid){ 0, 0 }, SID_MAX, last, 1, &r) == 0 &&
	    r.n) {
		*out = sid_get(r.v[0].rk + 1);
		found = true;
	}
	recs_free(&r);
	return found;
}

static uint64_t stream_len(struct hkv *db, const char *key, size_t klen)
{
	struct hkv_attr a;

	return hkv_attr_get(db, key, klen, &a) ? 0 : a.size;
}

static bool entry_exists(struct hkv *db, const char *key, size_t klen, struct sid id)
{
	unsigned char rk[17];
	struct hkv_buf b;
	int rc;

	rk_id(rk, REC_ENTRY, id);
	rc = hkv_xrec_get(db, key, klen, rk, sizeof(rk), &b);
	hkv_buf_release(&b);
	return rc == 0;
}

/* Reply one entry record as [id, [field, value, ...]]. */
static void add_entry(struct client *c, const struct rec *e)
{
	const unsigned char *p = e->v, *end = e->v + e->vlen;
	uint32_t pairs = e->vlen >= 4 ? get32(p) : 0;

	add_array(c, 2);
	add_sid(c, sid_get(e->rk + 1));
	p += 4;
	add_array(c, (long long)pairs * 2);
	for (uint32_t i = 0; i < pairs * 2; i++) {
		uint32_t n = p + 4 <= end ? get32(p) : 0;

		p += 4;
		if (p + n > end)
			n = 0;
		add_bulk(c, p, n);
		p += n;
	}
}

/* ---- ID parsing ------------------------------------------------------------------------- */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	unsigned long long v;
	char buf[32], *end;

	if (!n || n >= sizeof(buf) || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/*
 * Redis's streamGenericParseIDOrReply(): "-" and "+" (unless @strict), "ms", "ms-seq", and
 * with @seq_given "ms-*". Replies the error when @c is non-NULL.
 */
static bool parse_id(struct client *c, const char *s, size_t n, struct sid *id,
		     uint64_t missing_seq, bool strict, bool *seq_given)
{
	const char *dash;

	if (seq_given)
		*seq_given = true;
	if (n > 127)
		goto invalid;
	if (strict && n == 1 && (s[0] == '-' || s[0] == '+'))
		goto invalid;
	if (n == 1 && s[0] == '-') {
		*id = (struct sid){ 0, 0 };
		return true;
	}
	if (n == 1 && s[0] == '+') {
		*id = SID_MAX;
		return true;
	}
	dash = memchr(s, '-', n);
	if (!parse_u64(s, dash ? (size_t)(dash - s) : n, &id->ms))
		goto invalid;
	if (dash) {
		size_t sl = n - (size_t)(dash - s) - 1;

		if (seq_given && sl == 1 && dash[1] == '*') {
			id->seq = 0;
			*seq_given = false;
		} else if (!parse_u64(dash + 1, sl, &id->seq)) {
			goto invalid;
		}
	} else {
		id->seq = missing_seq;
	}
	return true;
invalid:
	if (c)
		add_error(c, "Invalid stream ID specified as stream command argument");
	return false;
}

static bool parse_arg_id(struct client *c, int i, struct sid *id, uint64_t missing_seq,
			 bool strict)
{
	return parse_id(c, c->argv[i], c->argvlen[i], id, missing_seq, strict, NULL);
}

/* An interval bound: "(" makes it exclusive (then "-"/"+" are invalid). */
static bool parse_interval(struct client *c, int i, struct sid *id, bool *ex,
			   uint64_t missing_seq)
{
	const char *s = c->argv[i];
	size_t n = c->argvlen[i];

	*ex = n > 1 && s[0] == '(';
	if (*ex)
		return parse_id(c, s + 1, n - 1, id, missing_seq, true, NULL);
	return parse_id(c, s, n, id, missing_seq, false, NULL);
}

static int stream_type(struct client *c, int keyi)
{
	int t = hkv_type(c->db, c->argv[keyi], c->argvlen[keyi]);

	if (t < 0) {
		add_err_engine(c, t);
		return -1;
	}
	if (t != HKV_TYPE_NONE && t != HKV_TYPE_STREAM) {
		add_err_wrongtype(c);
		return -1;
	}
	return t;
}

/* ---- nodes ------------------------------------------------------------------------------ */

struct node {
	struct sid first, last;
	uint64_t appended, live, bytes;
};

static void node_decode(const struct rec *r, struct node *n)
{
	n->first = sid_get(r->rk + 1);
	n->appended = r->vlen >= NODE_LEN ? get64(r->v) : 0;
	n->live = r->vlen >= NODE_LEN ? get64(r->v + 8) : 0;
	n->bytes = r->vlen >= NODE_LEN ? get64(r->v + 16) : 0;
	n->last = r->vlen >= NODE_LEN ? sid_get(r->v + 24) : n->first;
}

static int node_store(struct hkv *db, const char *key, size_t klen, const struct node *n)
{
	unsigned char rk[17], v[NODE_LEN];
	int rc;

	rk_id(rk, REC_NODE, n->first);
	if (!n->live) {
		rc = hkv_xrec_del(db, key, klen, rk, sizeof(rk));
		return rc < 0 ? rc : 0;
	}
	put64(v, n->appended);
	put64(v + 8, n->live);
	put64(v + 16, n->bytes);
	sid_put(v + 24, n->last);
	rc = hkv_xrec_put(db, key, klen, rk, sizeof(rk), v, sizeof(v), NULL);
	return rc < 0 ? rc : 0;
}

/** The node holding @id (the last node starting at or before it). Return: 1, 0, <0. */
static int node_of(struct hkv *db, const char *key, size_t klen, struct sid id, struct node *n)
{
	unsigned char lo[17], hi[17];
	struct recs r;
	int rc;

	rk_id(lo, REC_NODE, (struct sid){ 0, 0 });
	rk_id(hi, REC_NODE, id);
	rc = recs_range(db, key, klen, lo, sizeof(lo), hi, sizeof(hi), true, 1, &r);
	if (!rc && r.n)
		node_decode(&r.v[0], n);
	rc = rc ? rc : r.n ? 1 : 0;
	recs_free(&r);
	return rc;
}

/** Every node, in ID order. */
static int nodes_all(struct hkv *db, const char *key, size_t klen, struct recs *r)
{
	unsigned char lo[17], hi[17];

	rk_id(lo, REC_NODE, (struct sid){ 0, 0 });
	rk_id(hi, REC_NODE, SID_MAX);
	return recs_range(db, key, klen, lo, sizeof(lo), hi, sizeof(hi), false, 0, r);
}

/* ---- XADD ------------------------------------------------------------------------------- */

enum { TRIM_NONE, TRIM_MAXLEN, TRIM_MINID };

struct trim_args {
	int strategy;
	bool approx, nomkstream, id_given, seq_given;
	long long maxlen, limit;
	struct sid minid, id;
};

/** Append one entry (the caller checked the ID). */
static int stream_append(struct client *c, const char *key, size_t klen, struct sid id,
			 int fpos)
{
	struct hkv_server *srv = c->srv;
	long long max_entries = config_get_ll(srv, "stream-node-max-entries", 100);
	long long max_bytes = config_get_ll(srv, "stream-node-max-bytes", 4096);
	size_t pairs = (size_t)(c->argc - fpos) / 2, vlen = 4, tot = 0;
	unsigned char rk[17], *v, *p;
	struct node n;
	bool have;
	int rc;

	for (int i = fpos; i < c->argc; i++) {
		vlen += 4 + c->argvlen[i];
		tot += c->argvlen[i];
	}
	v = malloc(vlen);
	if (!v)
		return -ENOMEM;
	put32(v, (uint32_t)pairs);
	p = v + 4;
	for (int i = fpos; i < c->argc; i++) {
		put32(p, (uint32_t)c->argvlen[i]);
		memcpy(p + 4, c->argv[i], c->argvlen[i]);
		p += 4 + c->argvlen[i];
	}
	rk_id(rk, REC_ENTRY, id);
	rc = hkv_xrec_put(c->db, key, klen, rk, sizeof(rk), v, vlen, NULL);
	free(v);
	if (rc < 0)
		return rc;
	rc = node_of(c->db, key, klen, SID_MAX, &n);
	if (rc < 0)
		return rc;
	have = rc == 1;
	if (max_bytes <= 0 || max_bytes > (1LL << 30))
		max_bytes = 1LL << 30;
	if (have && (long long)(n.bytes + tot) >= max_bytes)
		have = false;
	else if (have && max_entries > 0 && (long long)n.appended >= max_entries)
		have = false;
	if (!have) {
		memset(&n, 0, sizeof(n));
		n.first = id;
		/* a listpack header, and the master entry that repeats the first fields */
		n.bytes = 7 + 4 + tot / 2 + pairs * 2;
	}
	n.appended++;
	n.live++;
	n.bytes += tot + pairs * 4 + 6;
	n.last = id;
	return node_store(c->db, key, klen, &n);
}

/* Delete one entry (it exists), keeping its node's counts. */
static int entry_delete(struct hkv *db, const char *key, size_t klen, struct sid id)
{
	unsigned char rk[17];
	struct node n;
	int rc;

	rk_id(rk, REC_ENTRY, id);
	rc = hkv_xrec_del(db, key, klen, rk, sizeof(rk));
	if (rc <= 0)
		return rc;
	rc = node_of(db, key, klen, id, &n);
	if (rc < 0)
		return rc;
	if (rc == 1 && n.live) {
		n.live--;
		rc = node_store(db, key, klen, &n);
		if (rc)
			return rc;
	}
	return 1;
}

/** Redis's streamTrim(). Return: entries deleted, or <0. */
static int64_t stream_trim(struct hkv *db, const char *key, size_t klen,
			   const struct trim_args *t)
{
	uint64_t len = stream_len(db, key, klen);
	int64_t deleted = 0;
	struct recs nodes;
	int rc;

	if (t->strategy == TRIM_NONE)
		return 0;
	rc = nodes_all(db, key, klen, &nodes);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	for (size_t i = 0; i < nodes.n; i++) {
		struct node n;
		bool remove;
		struct recs ents;

		if (t->strategy == TRIM_MAXLEN && len <= (uint64_t)t->maxlen)
			break;
		node_decode(&nodes.v[i], &n);
		if (t->limit && deleted + (int64_t)n.live > t->limit)
			break;
		if (t->strategy == TRIM_MAXLEN)
			remove = len - n.live >= (uint64_t)t->maxlen;
		else
			remove = sid_cmp(n.last, t->minid) < 0;
		rc = entries_range(db, key, klen, n.first, n.last, false, 0, &ents);
		if (rc)
			goto out;
		if (remove) {
			unsigned char rk[17];

			for (size_t j = 0; j < ents.n; j++) {
				rc = hkv_xrec_del(db, key, klen, ents.v[j].rk, ents.v[j].rklen);
				if (rc < 0)
					break;
			}
			recs_free(&ents);
			if (rc < 0)
				goto out;
			rk_id(rk, REC_NODE, n.first);
			rc = hkv_xrec_del(db, key, klen, rk, sizeof(rk));
			if (rc < 0)
				goto out;
			len -= n.live;
			deleted += (int64_t)n.live;
			continue;
		}
		if (t->approx) {
			recs_free(&ents);
			break;
		}
		for (size_t j = 0; j < ents.n; j++) {
			bool stop;

			if (t->strategy == TRIM_MAXLEN)
				stop = len <= (uint64_t)t->maxlen;
			else
				stop = sid_cmp(sid_get(ents.v[j].rk + 1), t->minid) >= 0;
			if (stop)
				break;
			rc = hkv_xrec_del(db, key, klen, ents.v[j].rk, ents.v[j].rklen);
			if (rc < 0)
				break;
			n.live--;
			len--;
			deleted++;
		}
		recs_free(&ents);
		if (rc < 0)
			goto out;
		rc = node_store(db, key, klen, &n);
		if (rc)
			goto out;
		break;
	}
	rc = 0;
out:
	recs_free(&nodes);
	return rc < 0 ? rc : deleted;
}

/* Redis's streamParseAddOrTrimArgsOrReply(). Return: the ID position (XADD), 0, or -1. */
static int parse_add_trim(struct client *c, struct trim_args *t, bool xadd)
{
	bool limit_given = false;
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 2; i < c->argc; i++) {
		int more = c->argc - 1 - i;
		const char *opt = c->argv[i];

		if (xadd && c->argvlen[i] == 1 && opt[0] == '*') {
			break;
		} else if ((arg_eq(c, i, "maxlen") || arg_eq(c, i, "minid")) && more) {
			bool maxlen = arg_eq(c, i, "maxlen");

			if (t->strategy != TRIM_NONE) {
				add_error(c, "syntax error, MAXLEN and MINID options at the same "
					     "time are not compatible");
				return -1;
			}
			t->approx = false;
			if (more >= 2 && c->argvlen[i + 1] == 1 && c->argv[i + 1][0] == '~') {
				t->approx = true;
				i++;
			} else if (more >= 2 && c->argvlen[i + 1] == 1 && c->argv[i + 1][0] == '=') {
				i++;
			}
			if (maxlen) {
				if (!get_ll_or_reply(c, i + 1, &t->maxlen, NULL))
					return -1;
				if (t->maxlen < 0) {
					add_error(c, "The MAXLEN argument must be >= 0.");
					return -1;
				}
				t->strategy = TRIM_MAXLEN;
			} else {
				if (!parse_arg_id(c, i + 1, &t->minid, 0, true))
					return -1;
				t->strategy = TRIM_MINID;
			}
			i++;
		} else if (arg_eq(c, i, "limit") && more) {
			if (!get_ll_or_reply(c, i + 1, &t->limit, NULL))
				return -1;
			if (t->limit < 0) {
				add_error(c, "The LIMIT argument must be >= 0.");
				return -1;
			}
			limit_given = true;
			i++;
		} else if (xadd && arg_eq(c, i, "nomkstream")) {
			t->nomkstream = true;
		} else if (xadd) {
			if (!parse_id(c, c->argv[i], c->argvlen[i], &t->id, 0, true, &t->seq_given))
				return -1;
			t->id_given = true;
			break;
		} else {
			add_err_syntax(c);
			return -1;
		}
	}
	if (t->limit && t->strategy == TRIM_NONE) {
		add_error(c, "syntax error, LIMIT cannot be used without specifying a trimming "
			     "strategy");
		return -1;
	}
	if (!xadd && t->strategy == TRIM_NONE) {
		add_error(c, "syntax error, XTRIM must be called with a trimming strategy");
		return -1;
	}
	if (limit_given) {
		if (!t->approx) {
			add_error(c, "syntax error, LIMIT cannot be used without the special ~ "
				     "option");
			return -1;
		}
	} else if (t->approx) {
		t->limit = 100 * config_get_ll(c->srv, "stream-node-max-entries", 100);
		if (t->limit <= 0)
			t->limit = 10000;
		if (t->limit > 1000000)
			t->limit = 1000000;
	} else {
		t->limit = 0;
	}
	return i;
}

void xadd_command(struct client *c)
{
	const char *key = c->argv[1];
	size_t klen = c->argvlen[1];
	struct trim_args t;
	struct smeta m;
	struct sid id;
	int idpos, fpos, type, rc;
	int64_t trimmed;

	idpos = parse_add_trim(c, &t, true);
	if (idpos < 0)
		return;
	fpos = idpos + 1;
	if (c->argc - fpos < 2 || (c->argc - fpos) % 2 == 1) {
		add_err_arity(c);
		return;
	}
	if (t.id_given && t.seq_given && sid_zero(t.id)) {
		add_error(c, "The ID specified in XADD must be greater than 0-0");
		return;
	}
	type = stream_type(c, 1);
	if (type < 0)
		return;
	if (type == HKV_TYPE_NONE && t.nomkstream) {
		add_null(c);
		return;
	}
	if (writes_refused(c))
		return;
	rc = meta_load(c->db, key, klen, &m);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (m.last.ms == UINT64_MAX && m.last.seq == UINT64_MAX) {
		add_error(c, "The stream has exhausted the last possible ID, unable to add more "
			     "items");
		return;
	}
	if (t.id_given) {
		id = t.id;
		if (!t.seq_given) {
			if (id.ms == m.last.ms) {
				if (m.last.seq == UINT64_MAX)
					goto too_small;
				id.seq = m.last.seq + 1;
			} else {
				id.seq = 0;
			}
		}
		if (sid_cmp(id, m.last) <= 0)
			goto too_small;
	} else {
		uint64_t ms = (uint64_t)srv_now_ms();

		if (ms > m.last.ms) {
			id = (struct sid){ ms, 0 };
		} else {
			id = m.last;
			sid_incr(&id);
		}
	}
	rc = stream_append(c, key, klen, id, fpos);
	if (!rc) {
		m.last = id;
		m.added++;
		rc = meta_store(c->db, key, klen, &m);
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	add_sid(c, id);
	if (type == HKV_TYPE_NONE)
		notify_event(c->srv, NOTIFY_NEW, "new", key, klen);
	key_modified(c, NOTIFY_STREAM, "xadd", key, klen);
	trimmed = stream_trim(c->db, key, klen, &t);
	if (trimmed > 0)
		notify_event(c->srv, NOTIFY_STREAM, "xtrim", key, klen);
	return;
too_small:
	add_error(c, "The ID specified in XADD is equal or smaller than the target stream top "
		     "item");
}

void xtrim_command(struct client *c)
{
	struct trim_args t;
	int64_t n;
	int type;

	type = stream_type(c, 1);
	if (type < 0)
		return;
	if (type == HKV_TYPE_NONE) {
		add_int(c, 0);
		return;
	}
	if (parse_add_trim(c, &t, false) < 0)
		return;
	n = stream_trim(c->db, c->argv[1], c->argvlen[1], &t);
	if (n < 0) {
		add_err_engine(c, (int)n);
		return;
	}
	if (n)
		key_modified(c, NOTIFY_STREAM, "xtrim", c->argv[1], c->argvlen[1]);
	add_int(c, n);
}

void xlen_command(struct client *c)
{
	int type = stream_type(c, 1);

	if (type < 0)
		return;
	add_int(c, type == HKV_TYPE_NONE ? 0 : (long long)stream_len(c->db, c->argv[1],
								     c->argvlen[1]));
}

static void xrange_generic(struct client *c, bool rev)
{
	int si = rev ? 3 : 2, ei = rev ? 2 : 3, type;
	struct sid start, end;
	long long count = -1;
	bool sx, ex;
	struct recs r;
	int rc;

	if (!parse_interval(c, si, &start, &sx, 0))
		return;
	if (sx && !sid_incr(&start)) {
		add_error(c, "invalid start ID for the interval");
		return;
	}
	if (!parse_interval(c, ei, &end, &ex, UINT64_MAX))
		return;
	if (ex && !sid_decr(&end)) {
		add_error(c, "invalid end ID for the interval");
		return;
	}
	for (int j = 4; j < c->argc; j++) {
		if (arg_eq(c, j, "count") && j + 1 < c->argc) {
			if (!get_ll_or_reply(c, j + 1, &count, NULL))
				return;
			if (count < 0)
				count = 0;
			j++;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	type = stream_type(c, 1);
	if (type < 0)
		return;
	if (type == HKV_TYPE_NONE) {
		add_array(c, 0);
		return;
	}
	if (count == 0) {
		add_null_array(c);
		return;
	}
	if (sid_cmp(start, end) > 0) {
		add_array(c, 0);
		return;
	}
	rc = entries_range(c->db, c->argv[1], c->argvlen[1], start, end, rev,
			   count > 0 ? (size_t)count : 0, &r);
	if (rc) {
		recs_free(&r);
		add_err_engine(c, rc);
		return;
	}
	add_array(c, (long long)r.n);
	for (size_t i = 0; i < r.n; i++)
		add_entry(c, &r.v[i]);
	recs_free(&r);
}

void xrange_command(struct client *c)
{
	xrange_generic(c, false);
}

void xrevrange_command(struct client *c)
{
	xrange_generic(c, true);
}

void xdel_command(struct client *c)
{
	const char *key = c->argv[1];
	size_t klen = c->argvlen[1];
	struct smeta m;
	long long deleted = 0;
	struct sid id;
	int type, rc = 0;

	/* every ID is checked before anything is deleted, as Redis does */
	for (int j = 2; j < c->argc; j++)
		if (!parse_arg_id(c, j, &id, 0, true))
			return;
	type = stream_type(c, 1);
	if (type < 0)
		return;
	if (type == HKV_TYPE_NONE) {
		add_int(c, 0);
		return;
	}
	rc = meta_load(c->db, key, klen, &m);
	for (int j = 2; !rc && j < c->argc; j++) {
		parse_id(NULL, c->argv[j], c->argvlen[j], &id, 0, true, NULL);
		rc = entry_delete(c->db, key, klen, id);
		if (rc == 1) {
			deleted++;
			if (sid_cmp(id, m.maxdel) > 0)
				m.maxdel = id;
			rc = 0;
		}
	}
	if (!rc && deleted)
		rc = meta_store(c->db, key, klen, &m);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (deleted)
		key_modified(c, NOTIFY_STREAM, "xdel", key, klen);
	add_int(c, deleted);
}

/* ---- consumer groups: records ------------------------------------------------------------ */

struct group {
	struct sid last;
	int64_t entries_read;
};

static bool name_ok(struct client *c, size_t len, const char *what)
{
	if (len <= NAME_MAX_LEN)
		return true;
	add_errorf(c, "%s name too long (at most %d bytes)", what, NAME_MAX_LEN);
	return false;
}

/** Return: 1 (found), 0 (no key or no group), <0. */
static int group_load(struct hkv *db, const char *key, size_t klen, const char *g,
		      size_t glen, struct group *out)
{
	unsigned char rk[1 + NAME_MAX_LEN];
	struct hkv_buf b;
	int rc;

	if (glen > NAME_MAX_LEN)
		return 0;
	rk[0] = REC_GROUP;
	memcpy(rk + 1, g, glen);
	rc = hkv_xrec_get(db, key, klen, rk, 1 + glen, &b);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (b.len >= GROUP_LEN) {
		out->last = sid_get(b.data);
		out->entries_read = (int64_t)get64((unsigned char *)b.data + 16);
	} else {
		out->last = (struct sid){ 0, 0 };
		out->entries_read = ENTRIES_READ_INVALID;
	}
	hkv_buf_release(&b);
	return 1;
}

static int group_store(struct hkv *db, const char *key, size_t klen, const char *g,
		       size_t glen, const struct group *grp)
{
	unsigned char rk[1 + NAME_MAX_LEN], v[GROUP_LEN];
	int rc;

	rk[0] = REC_GROUP;
	memcpy(rk + 1, g, glen);
	sid_put(v, grp->last);
	put64(v + 16, (uint64_t)grp->entries_read);
	rc = hkv_xrec_put(db, key, klen, rk, 1 + glen, v, sizeof(v), NULL);
	return rc < 0 ? rc : 0;
}

/** Look a consumer up, refreshing its seen time; create it if @create. Return: 1, 0, <0. */
static int consumer_touch(struct client *c, const char *key, size_t klen, const char *g,
			  size_t glen, const char *name, size_t nlen, bool create,
			  bool *created)
{
	unsigned char rk[3 + 2 * NAME_MAX_LEN], v[8];
	size_t n = rk_group(rk, REC_CONS, g, glen, name, nlen);
	struct hkv_buf b;
	int rc;

	if (created)
		*created = false;
	rc = hkv_xrec_get(c->db, key, klen, rk, n, &b);
	hkv_buf_release(&b);
	if (rc && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT && !create)
		return 0;
	put64(v, (uint64_t)srv_now_ms());
	rc = hkv_xrec_put(c->db, key, klen, rk, n, v, sizeof(v), NULL);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		if (created)
			*created = true;
		notify_event(c->srv, NOTIFY_STREAM, "xgroup-createconsumer", key, klen);
	}
	return 1;
}

struct pend {
	struct sid id;
	int64_t dtime;
	uint64_t count;
	const unsigned char *owner;
	size_t olen;
};

static void pend_decode(const struct rec *r, size_t glen, struct pend *p)
{
	p->id = sid_get(r->rk + 3 + glen);
	p->dtime = r->vlen >= 16 ? (int64_t)get64(r->v) : 0;
	p->count = r->vlen >= 16 ? get64(r->v + 8) : 0;
	p->owner = r->v + 16;
	p->olen = r->vlen >= 16 ? r->vlen - 16 : 0;
}

/** The group's pending entries with IDs in [start, end] (at most @limit). */
static int pend_range(struct hkv *db, const char *key, size_t klen, const char *g,
		      size_t glen, struct sid start, struct sid end, size_t limit,
		      struct recs *r)
{
	unsigned char lo[3 + NAME_MAX_LEN + 16], hi[3 + NAME_MAX_LEN + 16], b[16];
	size_t ln, hn;

	sid_put(b, start);
	ln = rk_group(lo, REC_PEL, g, glen, b, 16);
	sid_put(b, end);
	hn = rk_group(hi, REC_PEL, g, glen, b, 16);
	return recs_range(db, key, klen, lo, ln, hi, hn, false, limit, r);
}

/** One pending entry. Return: 1 and @r holding it, 0, <0. */
static int pend_get(struct hkv *db, const char *key, size_t klen, const char *g, size_t glen,
		    struct sid id, struct recs *r, struct pend *p)
{
	int rc = pend_range(db, key, klen, g, glen, id, id, 1, r);

	if (rc)
		return rc;
	if (!r->n)
		return 0;
	pend_decode(&r->v[0], glen, p);
	return 1;
}

/** Record key of the consumer index: 'Q' glen(2) group clen(1) consumer ID(16). */
static size_t rk_cpel(unsigned char *rk, const char *g, size_t glen, const void *cons,
		      size_t clen, const unsigned char *idb)
{
	size_t n = rk_group(rk, REC_CPEL, g, glen, NULL, 0);

	rk[n++] = (unsigned char)clen;
	memcpy(rk + n, cons, clen);
	n += clen;
	if (idb) {
		memcpy(rk + n, idb, 16);
		n += 16;
	}
	return n;
}

#define CPEL_KEY_MAX (4 + 2 * NAME_MAX_LEN + 16)

/*
 * Store the pending entry @id of group @g, owned by @owner; the consumer index follows its
 * owner (the old owner's 'Q' record goes, the new one's is put).
 */
static int pend_store(struct hkv *db, const char *key, size_t klen, const char *g,
		      size_t glen, struct sid id, int64_t dtime, uint64_t count,
		      const void *owner, size_t olen)
{
	unsigned char rk[3 + NAME_MAX_LEN + 16], qk[CPEL_KEY_MAX], idb[16], *v;
	struct recs old;
	struct pend p;
	bool same = false;
	size_t n;
	int rc;

	if (olen > NAME_MAX_LEN)
		return -EINVAL;
	sid_put(idb, id);
	rc = pend_get(db, key, klen, g, glen, id, &old, &p);
	if (rc == 1) {
		same = p.olen == olen && !memcmp(p.owner, owner, olen);
		if (!same && p.olen <= NAME_MAX_LEN)
			rc = hkv_xrec_del(db, key, klen, qk,
					  rk_cpel(qk, g, glen, p.owner, p.olen, idb));
	}
	recs_free(&old);
	if (rc < 0)
		return rc;
	if (!same) {
		rc = hkv_xrec_put(db, key, klen, qk, rk_cpel(qk, g, glen, owner, olen, idb), "", 0,
				  NULL);
		if (rc < 0)
			return rc;
	}
	n = rk_group(rk, REC_PEL, g, glen, idb, 16);
	v = malloc(16 + olen + 1);
	if (!v)
		return -ENOMEM;
	put64(v, (uint64_t)dtime);
	put64(v + 8, count);
	memcpy(v + 16, owner, olen);
	rc = hkv_xrec_put(db, key, klen, rk, n, v, 16 + olen, NULL);
	free(v);
	return rc < 0 ? rc : 0;
}

/** Delete the pending entry @id of group @g and its index record. Return: 1, 0, <0. */
static int pend_del(struct hkv *db, const char *key, size_t klen, const char *g, size_t glen,
		    struct sid id)
{
	unsigned char rk[3 + NAME_MAX_LEN + 16], qk[CPEL_KEY_MAX], idb[16];
	struct recs old;
	struct pend p;
	int rc;

	sid_put(idb, id);
	rc = pend_get(db, key, klen, g, glen, id, &old, &p);
	if (rc == 1 && p.olen <= NAME_MAX_LEN)
		rc = hkv_xrec_del(db, key, klen, qk, rk_cpel(qk, g, glen, p.owner, p.olen, idb));
	recs_free(&old);
	if (rc <= 0)
		return rc;
	return hkv_xrec_del(db, key, klen, rk, rk_group(rk, REC_PEL, g, glen, idb, 16));
}

/** The IDs @cons has pending in group @g from @start on, as 'Q' records (at most @limit). */
static int cpel_range(struct hkv *db, const char *key, size_t klen, const char *g, size_t glen,
		      const void *cons, size_t clen, struct sid start, size_t limit,
		      struct recs *r)
{
	unsigned char lo[CPEL_KEY_MAX], hi[CPEL_KEY_MAX], b[16];
	size_t ln, hn;

	memset(r, 0, sizeof(*r));
	if (clen > NAME_MAX_LEN)
		return 0;
	sid_put(b, start);
	ln = rk_cpel(lo, g, glen, cons, clen, b);
	memset(b, 0xff, sizeof(b));
	hn = rk_cpel(hi, g, glen, cons, clen, b);
	return recs_range(db, key, klen, lo, ln, hi, hn, false, limit, r);
}

/** How many entries @cons has pending in group @g (0 on error). */
static size_t cons_pending(struct hkv *db, const char *key, size_t klen, const char *g,
			   size_t glen, const void *cons, size_t clen)
{
	struct recs r;
	size_t n = cpel_range(db, key, klen, g, glen, cons, clen, (struct sid){ 0, 0 }, 0, &r)
			   ? 0
			   : r.n;

	recs_free(&r);
	return n;
}

/** Every consumer record of group @g. */
static int consumers_all(struct hkv *db, const char *key, size_t klen, const char *g,
			 size_t glen, struct recs *r)
{
	unsigned char lo[3 + NAME_MAX_LEN], hi[4 + 2 * NAME_MAX_LEN];
	size_t ln = rk_group(lo, REC_CONS, g, glen, NULL, 0);

	memcpy(hi, lo, ln);
	/* every consumer name (at most NAME_MAX_LEN bytes) sorts below this bound */
	memset(hi + ln, 0xff, NAME_MAX_LEN + 1);
	return recs_range(db, key, klen, lo, ln, hi, ln + NAME_MAX_LEN + 1, false, 0, r);
}

/* Redis's streamRangeHasTombstones() over [start, end]. */
static bool has_tombstones(struct hkv *db, const char *key, size_t klen, const struct smeta *m,
			   struct sid start, struct sid end)
{
	struct sid first;

	if (!stream_len(db, key, klen) || sid_zero(m->maxdel))
		return false;
	if (edge_id(db, key, klen, false, &first) && sid_cmp(first, m->maxdel) > 0)
		return false;
	return sid_cmp(start, m->maxdel) <= 0 && sid_cmp(m->maxdel, end) <= 0;
}

/* Redis's streamEstimateDistanceFromFirstEverEntry(). */
static int64_t estimate_distance(struct hkv *db, const char *key, size_t klen,
				 const struct smeta *m, struct sid id)
{
	uint64_t len = stream_len(db, key, klen);
	struct sid first = { 0, 0 };
	int cmp_last;

	if (!m->added)
		return 0;
	if (!len && sid_cmp(id, m->last) < 1)
		return (int64_t)m->added;
	cmp_last = sid_cmp(id, m->last);
	if (cmp_last == 0)
		return (int64_t)m->added;
	if (cmp_last > 0)
		return ENTRIES_READ_INVALID;
	edge_id(db, key, klen, false, &first);
	if (sid_zero(m->maxdel) || sid_cmp(m->maxdel, first) < 0) {
		int cf = sid_cmp(id, first);

		if (cf < 0)
			return (int64_t)(m->added - len);
		if (cf == 0)
			return (int64_t)(m->added - len + 1);
	}
	return ENTRIES_READ_INVALID;
}

/* ---- XREAD / XREADGROUP ------------------------------------------------------------------ */

struct read_group {
	const char *name, *consumer;
	size_t nlen, clen;
	bool noack;
};

/*
 * Reply the entries of @key after @start (XREAD, XREADGROUP ">") as an array, at most @count
 * (0: all), delivering them to the group @rg if given. Return: 0 or <0 (nothing replied).
 */
static int reply_new_entries(struct client *c, const char *key, size_t klen, struct sid start,
			     long long count, const struct read_group *rg)
{
	struct smeta m;
	struct group grp;
	struct recs r;
	int64_t now = srv_now_ms();
	int rc;

	rc = entries_range(c->db, key, klen, start, SID_MAX, false,
			   count > 0 ? (size_t)count : 0, &r);
	if (rc)
		goto out;
	if (rg) {
		rc = meta_load(c->db, key, klen, &m);
		if (!rc)
			rc = group_load(c->db, key, klen, rg->name, rg->nlen, &grp);
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < r.n; i++) {
			struct sid id = sid_get(r.v[i].rk + 1);
			if (sid_cmp(id, grp.last) > 0) {
				if (grp.entries_read != ENTRIES_READ_INVALID &&
				    !has_tombstones(c->db, key, klen, &m, id, SID_MAX))
					grp.entries_read++;
				else if (m.added)
					grp.entries_read = estimate_distance(c->db, key, klen, &m,
									     id);
				grp.last = id;
			}
			if (rg->noack)
				continue;
			/* a new pending entry, or one delivered before that is now ours */
			rc = pend_store(c->db, key, klen, rg->name, rg->nlen, id, now, 1,
					rg->consumer, rg->clen);
			if (rc)
				goto out;
		}
		rc = group_store(c->db, key, klen, rg->name, rg->nlen, &grp);
		if (rc)
			goto out;
	}
	add_array(c, (long long)r.n);
	for (size_t i = 0; i < r.n; i++)
		add_entry(c, &r.v[i]);
out:
	recs_free(&r);
	return rc;
}

/*
 * The pending entries of group @g with IDs from @start on, owned by @cons (NULL: anyone), as
 * 'P' records in ID order. A consumer's are found through its index records.
 */
static int pend_of(struct hkv *db, const char *key, size_t klen, const char *g, size_t glen,
		   const char *cons, size_t clen, struct sid start, struct recs *out)
{
	struct recs q;
	int rc;

	if (!cons)
		return pend_range(db, key, klen, g, glen, start, SID_MAX, 0, out);
	memset(out, 0, sizeof(*out));
	rc = cpel_range(db, key, klen, g, glen, cons, clen, start, 0, &q);
	for (size_t i = 0; !rc && i < q.n; i++) {
		struct recs one;
		struct pend p;
		int has = pend_get(db, key, klen, g, glen, sid_get(q.v[i].rk + q.v[i].rklen - 16),
				   &one, &p);

		if (has < 0)
			rc = has;
		else if (has)
			rc = recs_add(out, one.v[0].rk, one.v[0].rklen, one.v[0].v, one.v[0].vlen);
		recs_free(&one);
	}
	recs_free(&q);
	return rc;
}

/* XREADGROUP with an ID: the consumer's own pending entries after @start. */
static int reply_history(struct client *c, const char *key, size_t klen, struct sid start,
			 long long count, const struct read_group *rg)
{
	struct recs pr;
	size_t n = 0;
	size_t pos;
	int64_t now = srv_now_ms();
	int rc;

	rc = pend_of(c->db, key, klen, rg->name, rg->nlen, rg->consumer, rg->clen, start, &pr);
	if (rc)
		goto out;
	pos = add_deferred(c);
	for (size_t i = 0; i < pr.n && (count <= 0 || (long long)n < count); i++) {
		struct pend p;
		struct recs er;

		pend_decode(&pr.v[i], rg->nlen, &p);
		rc = entries_range(c->db, key, klen, p.id, p.id, false, 1, &er);
		if (rc) {
			recs_free(&er);
			goto out;
		}
		if (er.n) {
			add_entry(c, &er.v[0]);
			rc = pend_store(c->db, key, klen, rg->name, rg->nlen, p.id, now,
					p.count + 1, p.owner, p.olen);
		} else {
			add_array(c, 2);
			add_sid(c, p.id);
			add_null_array(c);
		}
		recs_free(&er);
		if (rc)
			goto out;
		n++;
	}
	set_deferred(c, pos, '*', (long long)n);
out:
	recs_free(&pr);
	return rc;
}

/** The last entry ID that exists (Redis's streamLastValidID()), 0-0 when empty. */
static struct sid last_valid(struct hkv *db, const char *key, size_t klen)
{
	struct sid id = { 0, 0 };

	edge_id(db, key, klen, true, &id);
	return id;
}

#define XREAD_BLOCKED_DEFAULT_COUNT 1000

static void xread_generic(struct client *c, bool xreadgroup)
{
	long long timeout = -1, count = 0;
	int streams_arg = 0, nstreams = 0;
	struct read_group rg = { 0 };
	bool has_group = false;
	struct sid *ids = NULL;
	size_t arraylen = 0, pos = 0;
	int rc;

	for (int i = 1; i < c->argc; i++) {
		int more = c->argc - i - 1;

		if (arg_eq(c, i, "block") && more) {
			if (script_client(c)) {
				add_errorf(c, "%.*s command is not allowed with BLOCK option from "
					      "scripts", (int)c->argvlen[0], c->argv[0]);
				return;
			}
			i++;
			if (!get_ll_or_reply(c, i, &timeout,
					     "timeout is not an integer or out of range"))
				return;
			if (timeout < 0) {
				add_error(c, "timeout is negative");
				return;
			}
		} else if (arg_eq(c, i, "count") && more) {
			i++;
			if (!get_ll_or_reply(c, i, &count, NULL))
				return;
			if (count < 0)
				count = 0;
		} else if (arg_eq(c, i, "streams") && more) {
			streams_arg = i + 1;
			nstreams = c->argc - streams_arg;
			if (nstreams % 2) {
				add_error(c, "Unbalanced XREAD list of streams: for each stream key "
					     "an ID or '$' must be specified.");
				return;
			}
			nstreams /= 2;
			break;
		} else if (arg_eq(c, i, "group") && more >= 2) {
			if (!xreadgroup) {
				add_error(c, "The GROUP option is only supported by XREADGROUP. You "
					     "called XREAD instead.");
				return;
			}
			rg.name = c->argv[i + 1];
			rg.nlen = c->argvlen[i + 1];
			rg.consumer = c->argv[i + 2];
			rg.clen = c->argvlen[i + 2];
			has_group = true;
			i += 2;
		} else if (arg_eq(c, i, "noack")) {
			if (!xreadgroup) {
				add_error(c, "The NOACK option is only supported by XREADGROUP. You "
					     "called XREAD instead.");
				return;
			}
			rg.noack = true;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (!streams_arg) {
		add_err_syntax(c);
		return;
	}
	if (xreadgroup && !has_group) {
		add_error(c, "Missing GROUP option for XREADGROUP");
		return;
	}
	if (has_group && (!name_ok(c, rg.nlen, "consumer group") ||
			  !name_ok(c, rg.clen, "consumer")))
		return;
	ids = calloc((size_t)nstreams + 1, sizeof(*ids));
	if (!ids) {
		add_err_engine(c, -ENOMEM);
		return;
	}
	for (int i = streams_arg + nstreams; i < c->argc; i++) {
		int k = i - nstreams, idx = i - streams_arg - nstreams;
		int t = stream_type(c, k);

		if (t < 0)
			goto out;
		if (has_group) {
			struct group g;

			rc = t == HKV_TYPE_NONE ? 0 : group_load(c->db, c->argv[k], c->argvlen[k],
								 rg.name, rg.nlen, &g);
			if (rc < 0) {
				add_err_engine(c, rc);
				goto out;
			}
			if (!rc) {
				add_errorf(c, "-NOGROUP No such key '%.*s' or consumer group '%.*s' "
					      "in XREADGROUP with GROUP option",
					   (int)c->argvlen[k], c->argv[k], (int)rg.nlen, rg.name);
				goto out;
			}
		}
		if (c->argvlen[i] == 1 && c->argv[i][0] == '$') {
			struct smeta m;

			if (xreadgroup) {
				add_error(c, "The $ ID is meaningless in the context of XREADGROUP: "
					     "you want to read the history of this consumer by "
					     "specifying a proper ID, or use the > ID to get new "
					     "messages. The $ ID would just return an empty result "
					     "set.");
				goto out;
			}
			rc = t == HKV_TYPE_NONE ? 0 : meta_load(c->db, c->argv[k], c->argvlen[k],
								&m);
			ids[idx] = t == HKV_TYPE_NONE || rc ? (struct sid){ 0, 0 } : m.last;
			continue;
		}
		if (c->argvlen[i] == 1 && c->argv[i][0] == '>') {
			if (!xreadgroup) {
				add_error(c, "The > ID can be specified only when calling XREADGROUP "
					     "using the GROUP <group> <consumer> option.");
				goto out;
			}
			ids[idx] = SID_MAX;
			continue;
		}
		if (!parse_arg_id(c, i, &ids[idx], 0, true))
			goto out;
	}
	for (int i = 0; i < nstreams; i++) {
		const char *key = c->argv[streams_arg + i];
		size_t klen = c->argvlen[streams_arg + i];
		struct sid gt = ids[i], start;
		bool sync = false, history = false;

		if (hkv_type(c->db, key, klen) != HKV_TYPE_STREAM)
			continue;
		if (has_group) {
			struct group g;

			if (gt.ms != UINT64_MAX || gt.seq != UINT64_MAX) {
				sync = history = true;
			} else if (stream_len(c->db, key, klen) &&
				   group_load(c->db, key, klen, rg.name, rg.nlen, &g) == 1 &&
				   sid_cmp(last_valid(c->db, key, klen), g.last) > 0) {
				sync = true;
				gt = g.last;
			}
		} else if (stream_len(c->db, key, klen) &&
			   sid_cmp(last_valid(c->db, key, klen), gt) > 0) {
			sync = true;
		}
		if (!sync)
			continue;
		if (!arraylen++)
			pos = add_deferred(c);
		start = gt;
		sid_incr(&start);
		if (c->out.proto == 2)
			add_array(c, 2);
		add_bulk(c, key, klen);
		rc = 0;
		if (has_group)
			rc = consumer_touch(c, key, klen, rg.name, rg.nlen, rg.consumer, rg.clen,
					    true, NULL);
		if (rc >= 0)
			rc = history ? reply_history(c, key, klen, start, count, &rg)
				     : reply_new_entries(c, key, klen, start, count,
							 has_group ? &rg : NULL);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
	}
	if (arraylen) {
		set_deferred(c, pos, c->out.proto == 2 ? '*' : '%', (long long)arraylen);
		goto out;
	}
	if (timeout == -1 || (c->flags & (CL_IN_EXEC | CL_FAKE))) {
		add_null_array(c);
		goto out;
	}
	block_client(c, BLOCK_STREAM, timeout ? srv_now_ms() + timeout : 0,
		     c->argv + streams_arg, c->argvlen + streams_arg, nstreams);
	if (!(c->flags & CL_BLOCKED))
		goto out;
	c->bs.count = count ? count : XREAD_BLOCKED_DEFAULT_COUNT;
	/* the ID of each distinct key, the first one given for it (as Redis) */
	c->bs.xids = malloc((size_t)c->bs.norder * 16 + 1);
	if (!c->bs.xids)
		goto oom;
	for (int o = 0; o < c->bs.norder; o++)
		for (int i = 0; i < nstreams; i++)
			if (c->argvlen[streams_arg + i] == c->bs.order_len[o] &&
			    !memcmp(c->argv[streams_arg + i], c->bs.order[o], c->bs.order_len[o])) {
				sid_put(c->bs.xids + 16 * o, ids[i]);
				break;
			}
	if (has_group) {
		c->bs.xgroup = xstrndup(rg.name, rg.nlen);
		c->bs.xconsumer = xstrndup(rg.consumer, rg.clen);
		if (!c->bs.xgroup || !c->bs.xconsumer)
			goto oom;
		c->bs.xglen = rg.nlen;
		c->bs.xclen = rg.clen;
		c->bs.xnoack = rg.noack;
	}
	goto out;
oom:
	unblock_client(c, false);
	add_error(c, "-OOM cannot block: out of memory");
out:
	free(ids);
}

void xread_command(struct client *c)
{
	xread_generic(c, false);
}

void xreadgroup_command(struct client *c)
{
	xread_generic(c, true);
}

/*
 * Serve @c, blocked in XREAD/XREADGROUP, on @key (blocking.c, inside a transaction).
 * Return: true when @c got its reply (entries, or NOGROUP) and is to be unblocked.
 */
bool stream_serve_blocked(struct client *c, const char *key, size_t klen)
{
	struct read_group rg = { c->bs.xgroup, c->bs.xconsumer, c->bs.xglen, c->bs.xclen,
				 c->bs.xnoack };
	struct sid gt = { 0, 0 }, start;
	struct smeta m;
	int idx = -1, rc;

	for (int i = 0; i < c->bs.norder; i++)
		if (c->bs.order_len[i] == klen && !memcmp(c->bs.order[i], key, klen)) {
			idx = i;
			break;
		}
	if (idx < 0 || !c->bs.xids)
		return false;
	rc = hkv_type(c->db, key, klen);
	if (rc < 0 || (rc != HKV_TYPE_STREAM && !rg.name))
		return false;
	gt = sid_get(c->bs.xids + 16 * idx);
	if (rg.name) {
		struct group g;

		/* the key deleted, replaced by another type, or the group destroyed */
		rc = rc != HKV_TYPE_STREAM ? 0 : group_load(c->db, key, klen, rg.name, rg.nlen, &g);
		if (rc < 0)
			return false;
		if (!rc) {
			add_error(c, "-NOGROUP the consumer group this client was blocked on no "
				     "longer exists");
			return true;
		}
		gt = g.last;
	}
	if (meta_load(c->db, key, klen, &m) || sid_cmp(m.last, gt) <= 0)
		return false;
	start = gt;
	sid_incr(&start);
	if (rg.name && consumer_touch(c, key, klen, rg.name, rg.nlen, rg.consumer, rg.clen, true,
				      NULL) < 0)
		return false;
	if (c->out.proto == 2) {
		add_array(c, 1);
		add_array(c, 2);
	} else {
		add_map(c, 1);
	}
	add_bulk(c, key, klen);
	rc = reply_new_entries(c, key, klen, start, c->bs.count, rg.name ? &rg : NULL);
	return rc == 0;
}

/* ---- XSETID, XGROUP ---------------------------------------------------------------------- */

void xsetid_command(struct client *c)
{
	const char *key = c->argv[1];
	size_t klen = c->argvlen[1];
	struct sid id, maxdel = { 0, 0 };
	long long added = -1;
	struct smeta m;
	int type, rc;

	if (!parse_arg_id(c, 2, &id, 0, true))
		return;
	for (int i = 3; i < c->argc; i += 2) {
		bool more = i + 1 < c->argc;

		if (arg_eq(c, i, "entriesadded") && more) {
			if (!get_ll_or_reply(c, i + 1, &added, NULL))
				return;
			if (added < 0) {
				add_error(c, "entries_added must be positive");
				return;
			}
		} else if (arg_eq(c, i, "maxdeletedid") && more) {
			if (!parse_arg_id(c, i + 1, &maxdel, 0, true))
				return;
			if (sid_cmp(id, maxdel) < 0) {
				add_error(c, "The ID specified in XSETID is smaller than the provided "
					     "max_deleted_entry_id");
				return;
			}
		} else {
			add_err_syntax(c);
			return;
		}
	}
	type = stream_type(c, 1);
	if (type < 0)
		return;
	if (type == HKV_TYPE_NONE) {
		add_error(c, "no such key");
		return;
	}
	rc = meta_load(c->db, key, klen, &m);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (stream_len(c->db, key, klen)) {
		if (sid_cmp(id, last_valid(c->db, key, klen)) < 0) {
			add_error(c, "The ID specified in XSETID is smaller than the target stream "
				     "top item");
			return;
		}
		if (added != -1 && stream_len(c->db, key, klen) > (uint64_t)added) {
			add_error(c, "The entries_added specified in XSETID is smaller than the "
				     "target stream length");
			return;
		}
	}
	m.last = id;
	if (added != -1)
		m.added = (uint64_t)added;
	if (!sid_zero(maxdel))
		m.maxdel = maxdel;
	rc = meta_store(c->db, key, klen, &m);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	add_ok(c);
	key_modified(c, NOTIFY_STREAM, "xsetid", key, klen);
}

static const char *const xgroup_help[] = {
	"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
	"HELP",
	"    Print this help.",
	NULL
};

/* Delete every record in [lo, hi]. Return: the number deleted, or <0. */
static long long delete_range(struct hkv *db, const char *key, size_t klen, const void *lo,
			      size_t lolen, const void *hi, size_t hilen)
{
	struct recs r;
	long long n = 0;
	int rc = recs_range(db, key, klen, lo, lolen, hi, hilen, false, 0, &r);

	for (size_t i = 0; !rc && i < r.n; i++) {
		rc = hkv_xrec_del(db, key, klen, r.v[i].rk, r.v[i].rklen);
		if (rc > 0) {
			n++;
			rc = 0;
		}
	}
	recs_free(&r);
	return rc < 0 ? rc : n;
}

void xgroup_command(struct client *c)
{
	const char *key = c->argc > 2 ? c->argv[2] : NULL;
	size_t klen = c->argc > 2 ? c->argvlen[2] : 0;
	const char *g = c->argc > 3 ? c->argv[3] : NULL;
	size_t glen = c->argc > 3 ? c->argvlen[3] : 0;
	bool mkstream = false, exists = false, create = arg_eq(c, 1, "create");
	bool setid = arg_eq(c, 1, "setid");
	long long entries_read = ENTRIES_READ_INVALID;
	struct group grp;
	int found = 0, rc;

	if (c->argc >= 4) {
		int t;

		for (int i = 5; i < c->argc;) {
			if (create && arg_eq(c, i, "mkstream")) {
				mkstream = true;
				i++;
			} else if ((create || setid) && arg_eq(c, i, "entriesread") &&
				   i + 1 < c->argc) {
				if (!get_ll_or_reply(c, i + 1, &entries_read, NULL))
					return;
				if (entries_read < 0 && entries_read != ENTRIES_READ_INVALID) {
					add_error(c, "value for ENTRIESREAD must be positive or -1");
					return;
				}
				i += 2;
			} else {
				add_err_subcommand(c);
				return;
			}
		}
		t = stream_type(c, 2);
		if (t < 0)
			return;
		exists = t == HKV_TYPE_STREAM;
		if (!name_ok(c, glen, "consumer group"))
			return;
	}
	if (c->argc >= 4 && !mkstream) {
		if (!exists) {
			add_error(c, "The XGROUP subcommand requires the key to exist. Note that for "
				     "CREATE you may want to use the MKSTREAM option to create an "
				     "empty stream automatically.");
			return;
		}
		found = group_load(c->db, key, klen, g, glen, &grp);
		if (found < 0) {
			add_err_engine(c, found);
			return;
		}
		if (!found && (setid || arg_eq(c, 1, "createconsumer") ||
			       arg_eq(c, 1, "delconsumer"))) {
			add_errorf(c, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'",
				   (int)glen, g, (int)klen, key);
			return;
		}
	}
	if (c->argc == 2 && arg_eq(c, 1, "help")) {
		add_help(c, xgroup_help);
	} else if (create && c->argc >= 5 && c->argc <= 8) {
		struct sid id = { 0, 0 };
		struct smeta m;

		if (c->argvlen[4] == 1 && c->argv[4][0] == '$') {
			if (exists) {
				rc = meta_load(c->db, key, klen, &m);
				if (rc) {
					add_err_engine(c, rc);
					return;
				}
				id = m.last;
			}
		} else if (!parse_arg_id(c, 4, &id, 0, true)) {
			return;
		}
		if (exists && group_load(c->db, key, klen, g, glen, &grp) == 1) {
			add_error(c, "-BUSYGROUP Consumer Group name already exists");
			return;
		}
		if (writes_refused(c))
			return;
		if (!exists) {
			struct smeta zero = { 0 };

			rc = hkv_create(c->db, key, klen, HKV_TYPE_STREAM, NULL);
			if (!rc)
				rc = meta_store(c->db, key, klen, &zero);
			if (rc) {
				add_err_engine(c, rc);
				return;
			}
			notify_event(c->srv, NOTIFY_NEW, "new", key, klen);
		}
		grp.last = id;
		grp.entries_read = entries_read;
		rc = group_store(c->db, key, klen, g, glen, &grp);
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
		add_ok(c);
		key_modified(c, NOTIFY_STREAM, "xgroup-create", key, klen);
	} else if (setid && (c->argc == 5 || c->argc == 7)) {
		struct sid id;
		struct smeta m;

		if (c->argvlen[4] == 1 && c->argv[4][0] == '$') {
			rc = meta_load(c->db, key, klen, &m);
			if (rc) {
				add_err_engine(c, rc);
				return;
			}
			id = m.last;
		} else if (!parse_arg_id(c, 4, &id, 0, false)) {
			return;
		}
		grp.last = id;
		grp.entries_read = entries_read;
		rc = group_store(c->db, key, klen, g, glen, &grp);
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
		add_ok(c);
		key_modified(c, NOTIFY_STREAM, "xgroup-setid", key, klen);
	} else if (arg_eq(c, 1, "destroy") && c->argc == 4) {
		unsigned char lo[3 + NAME_MAX_LEN + 16], hi[CPEL_KEY_MAX + 1];
		unsigned char grk[1 + NAME_MAX_LEN];
		size_t ln, hn;
		long long n;

		if (!found) {
			add_int(c, 0);
			return;
		}
		grk[0] = REC_GROUP;
		memcpy(grk + 1, g, glen);
		rc = hkv_xrec_del(c->db, key, klen, grk, 1 + glen);
		ln = rk_group(lo, REC_PEL, g, glen, NULL, 0);
		memcpy(hi, lo, ln);
		memset(hi + ln, 0xff, 16);
		hn = ln + 16;
		n = rc < 0 ? rc : delete_range(c->db, key, klen, lo, ln, hi, hn);
		if (n >= 0) {
			ln = rk_group(lo, REC_CONS, g, glen, NULL, 0);
			memcpy(hi, lo, ln);
			memset(hi + ln, 0xff, NAME_MAX_LEN + 1);
			n = delete_range(c->db, key, klen, lo, ln, hi, ln + NAME_MAX_LEN + 1);
		}
		if (n >= 0) {
			ln = rk_group(lo, REC_CPEL, g, glen, NULL, 0);
			memcpy(hi, lo, ln);
			memset(hi + ln, 0xff, 1 + NAME_MAX_LEN + 16);
			n = delete_range(c->db, key, klen, lo, ln, hi, ln + 1 + NAME_MAX_LEN + 16);
		}
		if (n < 0) {
			add_err_engine(c, (int)n);
			return;
		}
		add_int(c, 1);
		key_modified(c, NOTIFY_STREAM, "xgroup-destroy", key, klen);
	} else if (arg_eq(c, 1, "createconsumer") && c->argc == 5) {
		bool created;

		if (!name_ok(c, c->argvlen[4], "consumer"))
			return;
		rc = consumer_touch(c, key, klen, g, glen, c->argv[4], c->argvlen[4], true,
				    &created);
		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		add_int(c, created);
	} else if (arg_eq(c, 1, "delconsumer") && c->argc == 5) {
		unsigned char rk[3 + 2 * NAME_MAX_LEN];
		struct recs pr;
		size_t n;
		long long pending;

		if (c->argvlen[4] > NAME_MAX_LEN) {
			add_int(c, 0);
			return;
		}
		n = rk_group(rk, REC_CONS, g, glen, c->argv[4], c->argvlen[4]);
		rc = hkv_xrec_del(c->db, key, klen, rk, n);
		if (rc <= 0) {
			if (rc < 0)
				add_err_engine(c, rc);
			else
				add_int(c, 0);
			return;
		}
		rc = pend_of(c->db, key, klen, g, glen, c->argv[4], c->argvlen[4],
			     (struct sid){ 0, 0 }, &pr);
		pending = (long long)pr.n;
		for (size_t i = 0; !rc && i < pr.n; i++) {
			rc = pend_del(c->db, key, klen, g, glen, sid_get(pr.v[i].rk + 3 + glen));
			rc = rc < 0 ? rc : 0;
		}
		recs_free(&pr);
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
		add_int(c, pending);
		key_modified(c, NOTIFY_STREAM, "xgroup-delconsumer", key, klen);
	} else {
		add_err_subcommand(c);
	}
}

/* ---- XACK, XPENDING, XCLAIM, XAUTOCLAIM -------------------------------------------------- */

static bool group_or_nogroup(struct client *c, struct group *grp)
{
	int t = stream_type(c, 1), rc = 0;

	if (t < 0)
		return false;
	if (t == HKV_TYPE_STREAM)
		rc = group_load(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], grp);
	if (rc < 0) {
		add_err_engine(c, rc);
		return false;
	}
	if (!rc) {
		add_errorf(c, "-NOGROUP No such key '%.*s' or consumer group '%.*s'",
			   (int)c->argvlen[1], c->argv[1], (int)c->argvlen[2], c->argv[2]);
		return false;
	}
	return true;
}

void xack_command(struct client *c)
{
	const char *key = c->argv[1];
	size_t klen = c->argvlen[1];
	long long acked = 0;
	struct group grp;
	struct sid id;
	int t, rc;

	t = stream_type(c, 1);
	if (t < 0)
		return;
	if (t == HKV_TYPE_NONE ||
	    (rc = group_load(c->db, key, klen, c->argv[2], c->argvlen[2], &grp)) == 0) {
		add_int(c, 0);
		return;
	}
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	for (int j = 3; j < c->argc; j++)
		if (!parse_arg_id(c, j, &id, 0, true))
			return;
	for (int j = 3; j < c->argc; j++) {
		parse_id(NULL, c->argv[j], c->argvlen[j], &id, 0, true, NULL);
		rc = pend_del(c->db, key, klen, c->argv[2], c->argvlen[2], id);
		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		acked += rc;
	}
	add_int(c, acked);
}

void xpending_command(struct client *c)
{
	const char *key = c->argv[1], *g = c->argv[2];
	size_t klen = c->argvlen[1], glen = c->argvlen[2];
	const char *cons = NULL;
	size_t clen = 0;
	long long count = 0, minidle = 0;
	struct sid start, end;
	struct group grp;
	struct recs pr;
	bool justinfo = c->argc == 3, sx, ex;
	int64_t now = srv_now_ms();
	int rc;

	if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
		add_err_syntax(c);
		return;
	}
	if (c->argc >= 6) {
		int si = 3;

		if (arg_eq(c, 3, "idle")) {
			if (!get_ll_or_reply(c, 4, &minidle, NULL))
				return;
			if (c->argc < 8) {
				add_err_syntax(c);
				return;
			}
			si += 2;
		}
		if (!get_ll_or_reply(c, si + 2, &count, NULL))
			return;
		if (count < 0)
			count = 0;
		if (!parse_interval(c, si, &start, &sx, 0))
			return;
		if (sx && !sid_incr(&start)) {
			add_error(c, "invalid start ID for the interval");
			return;
		}
		if (!parse_interval(c, si + 1, &end, &ex, UINT64_MAX))
			return;
		if (ex && !sid_decr(&end)) {
			add_error(c, "invalid end ID for the interval");
			return;
		}
		if (si + 3 < c->argc) {
			cons = c->argv[si + 3];
			clen = c->argvlen[si + 3];
		}
	}
	if (!group_or_nogroup(c, &grp))
		return;
	if (justinfo) {
		struct recs cr;
		size_t pos, n = 0;

		rc = pend_of(c->db, key, klen, g, glen, NULL, 0, (struct sid){ 0, 0 }, &pr);
		if (rc) {
			recs_free(&pr);
			add_err_engine(c, rc);
			return;
		}
		add_array(c, 4);
		add_int(c, (long long)pr.n);
		if (!pr.n) {
			add_null(c);
			add_null(c);
			add_null_array(c);
			recs_free(&pr);
			return;
		}
		add_sid(c, sid_get(pr.v[0].rk + 3 + glen));
		add_sid(c, sid_get(pr.v[pr.n - 1].rk + 3 + glen));
		rc = consumers_all(c->db, key, klen, g, glen, &cr);
		pos = add_deferred(c);
		for (size_t i = 0; !rc && i < cr.n; i++) {
			const unsigned char *name = cr.v[i].rk + 3 + glen;
			size_t nl = cr.v[i].rklen - 3 - glen;
			long long cnt = (long long)cons_pending(c->db, key, klen, g, glen, name, nl);

			if (!cnt)
				continue;
			add_array(c, 2);
			add_bulk(c, name, nl);
			add_bulk_ll(c, cnt);
			n++;
		}
		set_deferred(c, pos, '*', (long long)n);
		recs_free(&cr);
		recs_free(&pr);
		return;
	}
	rc = pend_of(c->db, key, klen, g, glen, cons, clen, start, &pr);
	if (rc) {
		recs_free(&pr);
		add_err_engine(c, rc);
		return;
	}
	{
		size_t pos = add_deferred(c);
		long long n = 0;

		for (size_t i = 0; i < pr.n && n < count; i++) {
			struct pend p;
			int64_t idle;

			pend_decode(&pr.v[i], glen, &p);
			if (sid_cmp(p.id, start) < 0 || sid_cmp(p.id, end) > 0)
				continue;
			idle = now - p.dtime;
			if (minidle && idle < minidle)
				continue;
			add_array(c, 4);
			add_sid(c, p.id);
			add_bulk(c, p.owner, p.olen);
			add_int(c, idle);
			add_int(c, (long long)p.count);
			n++;
		}
		set_deferred(c, pos, '*', n);
	}
	recs_free(&pr);
}

/* Reply the entry @id (which exists) as XRANGE does one. */
static int reply_one_entry(struct client *c, const char *key, size_t klen, struct sid id)
{
	struct recs r;
	int rc = entries_range(c->db, key, klen, id, id, false, 1, &r);

	if (!rc && r.n)
		add_entry(c, &r.v[0]);
	else if (!rc)
		add_null_array(c);
	recs_free(&r);
	return rc;
}

void xclaim_command(struct client *c)
{
	const char *key = c->argv[1], *g = c->argv[2], *name = c->argv[3];
	size_t klen = c->argvlen[1], glen = c->argvlen[2], nlen = c->argvlen[3];
	long long minidle, retrycount = -1, dtime = -1;
	bool force = false, justid = false, have_cons = false, gchanged = false;
	struct sid lastid = { 0, 0 }, id;
	struct group grp;
	int64_t now = srv_now_ms();
	size_t pos, n = 0;
	int j, last_id_arg, rc = 0;

	if (!group_or_nogroup(c, &grp))
		return;
	if (!get_ll_or_reply(c, 4, &minidle, "Invalid min-idle-time argument for XCLAIM"))
		return;
	if (minidle < 0)
		minidle = 0;
	for (j = 5; j < c->argc; j++)
		if (!parse_id(NULL, c->argv[j], c->argvlen[j], &id, 0, true, NULL))
			break;
	last_id_arg = j - 1;
	for (; j < c->argc; j++) {
		bool more = j + 1 < c->argc;

		if (arg_eq(c, j, "force")) {
			force = true;
		} else if (arg_eq(c, j, "justid")) {
			justid = true;
		} else if (arg_eq(c, j, "idle") && more) {
			j++;
			if (!get_ll_or_reply(c, j, &dtime, "Invalid IDLE option argument for XCLAIM"))
				return;
			dtime = now - dtime;
		} else if (arg_eq(c, j, "time") && more) {
			j++;
			if (!get_ll_or_reply(c, j, &dtime, "Invalid TIME option argument for XCLAIM"))
				return;
		} else if (arg_eq(c, j, "retrycount") && more) {
			j++;
			if (!get_ll_or_reply(c, j, &retrycount,
					     "Invalid RETRYCOUNT option argument for XCLAIM"))
				return;
		} else if (arg_eq(c, j, "lastid") && more) {
			j++;
			if (!parse_arg_id(c, j, &lastid, 0, true))
				return;
		} else {
			add_errorf(c, "Unrecognized XCLAIM option '%.*s'", (int)c->argvlen[j],
				   c->argv[j]);
			return;
		}
	}
	if (!name_ok(c, nlen, "consumer"))
		return;
	if (sid_cmp(lastid, grp.last) > 0) {
		grp.last = lastid;
		gchanged = true;
	}
	if (dtime != -1) {
		if (dtime < 0 || dtime > now)
			dtime = now;
	} else {
		dtime = now;
	}
	if (gchanged) {
		rc = group_store(c->db, key, klen, g, glen, &grp);
		if (rc) {
			add_err_engine(c, rc);
			return;
		}
	}
	pos = add_deferred(c);
	for (j = 5; !rc && j <= last_id_arg; j++) {
		struct recs pr;
		struct pend p;
		int has;

		parse_id(NULL, c->argv[j], c->argvlen[j], &id, 0, true, NULL);
		has = pend_get(c->db, key, klen, g, glen, id, &pr, &p);
		if (has < 0) {
			rc = has;
			recs_free(&pr);
			break;
		}
		if (!entry_exists(c->db, key, klen, id)) {
			if (has == 1)
				rc = pend_del(c->db, key, klen, g, glen, id) < 0 ? -EIO : 0;
			recs_free(&pr);
			continue;
		}
		if (force && !has) {
			memset(&p, 0, sizeof(p));
			p.id = id;
			has = 2; /* new, no owner yet */
		}
		if (!has) {
			recs_free(&pr);
			continue;
		}
		if (has == 1 && minidle && now - p.dtime < minidle) {
			recs_free(&pr);
			continue;
		}
		if (!have_cons) {
			rc = consumer_touch(c, key, klen, g, glen, name, nlen, true, NULL);
			have_cons = true;
			if (rc < 0) {
				recs_free(&pr);
				break;
			}
		}
		if (retrycount >= 0)
			p.count = (uint64_t)retrycount;
		else if (!justid)
			p.count++;
		rc = pend_store(c->db, key, klen, g, glen, id, dtime, p.count, name, nlen);
		recs_free(&pr);
		if (rc)
			break;
		if (justid)
			add_sid(c, id);
		else
			rc = reply_one_entry(c, key, klen, id);
		n++;
	}
	if (rc < 0) {
		c->out.len = pos; /* withdraw the partial reply */
		add_err_engine(c, rc);
		return;
	}
	set_deferred(c, pos, '*', (long long)n);
}

void xautoclaim_command(struct client *c)
{
	const char *key = c->argv[1], *g = c->argv[2], *name = c->argv[3];
	size_t klen = c->argvlen[1], glen = c->argvlen[2], nlen = c->argvlen[3];
	long long minidle, count = 100, attempts;
	bool justid = false, sx, have_cons = false;
	struct sid start, endid = { 0, 0 };
	struct group grp;
	struct recs pr = { 0 }, deleted = { 0 }, claimed = { 0 };
	int64_t now = srv_now_ms();
	size_t i = 0;
	int rc = 0, t;

	if (!get_ll_or_reply(c, 4, &minidle, "Invalid min-idle-time argument for XAUTOCLAIM"))
		return;
	if (minidle < 0)
		minidle = 0;
	if (!parse_interval(c, 5, &start, &sx, 0))
		return;
	if (sx && !sid_incr(&start)) {
		add_error(c, "invalid start ID for the interval");
		return;
	}
	for (int j = 6; j < c->argc; j++) {
		if (arg_eq(c, j, "count") && j + 1 < c->argc) {
			if (!get_range_ll_or_reply(c, j + 1, 1, LONG_MAX / 16, &count,
						   "COUNT must be > 0"))
				return;
			j++;
		} else if (arg_eq(c, j, "justid")) {
			justid = true;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	t = stream_type(c, 1);
	if (t < 0)
		return;
	if (t == HKV_TYPE_NONE || group_load(c->db, key, klen, g, glen, &grp) != 1) {
		add_errorf(c, "-NOGROUP No such key '%.*s' or consumer group '%.*s'",
			   (int)klen, key, (int)glen, g);
		return;
	}
	if (!name_ok(c, nlen, "consumer"))
		return;
	attempts = count * 10;
	rc = pend_range(c->db, key, klen, g, glen, start, SID_MAX, (size_t)attempts + 1, &pr);
	for (i = 0; !rc && attempts-- > 0 && count && i < pr.n; i++) {
		struct pend p;

		pend_decode(&pr.v[i], glen, &p);
		if (!entry_exists(c->db, key, klen, p.id)) {
			rc = pend_del(c->db, key, klen, g, glen, p.id);
			if (rc >= 0)
				rc = recs_add(&deleted, pr.v[i].rk, pr.v[i].rklen, NULL, 0);
			count--;
			continue;
		}
		if (minidle && now - p.dtime < minidle)
			continue;
		if (!have_cons) {
			rc = consumer_touch(c, key, klen, g, glen, name, nlen, true, NULL);
			have_cons = true;
			if (rc < 0)
				break;
		}
		rc = pend_store(c->db, key, klen, g, glen, p.id, now,
				justid ? p.count : p.count + 1, name, nlen);
		if (!rc)
			rc = recs_add(&claimed, pr.v[i].rk, pr.v[i].rklen, NULL, 0);
		count--;
	}
	if (rc < 0) {
		add_err_engine(c, rc);
		goto out;
	}
	/* the next call starts at the first pending entry not examined (0-0: none left) */
	if (i < pr.n)
		endid = sid_get(pr.v[i].rk + 3 + glen);
	add_array(c, 3);
	add_sid(c, endid);
	add_array(c, (long long)claimed.n);
	for (size_t k = 0; k < claimed.n; k++) {
		struct sid id = sid_get(claimed.v[k].rk + 3 + glen);

		if (justid)
			add_sid(c, id);
		else
			reply_one_entry(c, key, klen, id);
	}
	add_array(c, (long long)deleted.n);
	for (size_t k = 0; k < deleted.n; k++)
		add_sid(c, sid_get(deleted.v[k].rk + 3 + glen));
out:
	recs_free(&claimed);
	recs_free(&pr);
	recs_free(&deleted);
}

/* ---- XINFO ------------------------------------------------------------------------------- */

static const char *const xinfo_help[] = {
	"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
	"HELP",
	"    Print this help.",
	NULL
};

static int groups_all(struct hkv *db, const char *key, size_t klen, struct recs *r)
{
	unsigned char lo[1] = { REC_GROUP }, hi[2 + NAME_MAX_LEN];

	hi[0] = REC_GROUP;
	memset(hi + 1, 0xff, NAME_MAX_LEN + 1);
	return recs_range(db, key, klen, lo, 1, hi, sizeof(hi), false, 0, r);
}

static void add_lag(struct client *c, const char *key, size_t klen, const struct smeta *m,
		    const struct group *g)
{
	int64_t er;

	if (!m->added) {
		add_int(c, 0);
	} else if (g->entries_read != ENTRIES_READ_INVALID &&
		   !has_tombstones(c->db, key, klen, m, g->last, SID_MAX)) {
		add_int(c, (long long)m->added - g->entries_read);
	} else {
		er = estimate_distance(c->db, key, klen, m, g->last);
		if (er != ENTRIES_READ_INVALID)
			add_int(c, (long long)m->added - er);
		else
			add_null(c);
	}
}

static void add_entries_read(struct client *c, const struct group *g)
{
	if (g->entries_read != ENTRIES_READ_INVALID)
		add_int(c, g->entries_read);
	else
		add_null(c);
}

static void group_decode(const struct rec *r, struct group *g)
{
	g->last = r->vlen >= GROUP_LEN ? sid_get(r->v) : (struct sid){ 0, 0 };
	g->entries_read = r->vlen >= GROUP_LEN ? (int64_t)get64(r->v + 16) : ENTRIES_READ_INVALID;
}

/* a group record of groups_all() @gr: its state, its pending entries and its consumers */
static void group_with_pending(struct client *c, const char *key, size_t klen,
			       const struct rec *gr, struct group *g, struct recs *pend,
			       struct recs *cons)
{
	const char *gname = (const char *)gr->rk + 1;
	size_t glen = gr->rklen - 1;

	group_decode(gr, g);
	pend_of(c->db, key, klen, gname, glen, NULL, 0, (struct sid){ 0, 0 }, pend);
	consumers_all(c->db, key, klen, gname, glen, cons);
}

/* XINFO's "last-delivered-id", "entries-read" and "lag" of group @g (six reply items) */
static void add_group_position(struct client *c, const char *key, size_t klen,
			       const struct smeta *m, const struct group *g)
{
	add_bulk_str(c, "last-delivered-id");
	add_sid(c, g->last);
	add_bulk_str(c, "entries-read");
	add_entries_read(c, g);
	add_bulk_str(c, "lag");
	add_lag(c, key, klen, m, g);
}

static int xinfo_stream(struct client *c, const char *key, size_t klen)
{
	long long count = 10;
	bool full = false;
	int optc = c->argc - 3, rc;
	struct smeta m;
	struct recs nodes, groups, r;
	struct sid first = { 0, 0 };

	if (optc) {
		if ((optc != 1 && optc != 3) || !arg_eq(c, 3, "full") ||
		    (optc == 3 && !arg_eq(c, 4, "count"))) {
			add_err_subcommand(c);
			return 0;
		}
		if (optc == 3 && !get_ll_or_reply(c, 5, &count, NULL))
			return 0;
		if (count < 0)
			count = 10;
		full = true;
	}
	rc = meta_load(c->db, key, klen, &m);
	if (rc)
		return rc;
	rc = nodes_all(c->db, key, klen, &nodes);
	if (rc)
		return rc;
	rc = groups_all(c->db, key, klen, &groups);
	if (rc) {
		recs_free(&nodes);
		return rc;
	}
	edge_id(c->db, key, klen, false, &first);
	add_map(c, full ? 9 : 10);
	add_bulk_str(c, "length");
	add_int(c, (long long)stream_len(c->db, key, klen));
	add_bulk_str(c, "radix-tree-keys");
	add_int(c, (long long)nodes.n);
	add_bulk_str(c, "radix-tree-nodes");
	add_int(c, (long long)nodes.n + 1);
	add_bulk_str(c, "last-generated-id");
	add_sid(c, m.last);
	add_bulk_str(c, "max-deleted-entry-id");
	add_sid(c, m.maxdel);
	add_bulk_str(c, "entries-added");
	add_int(c, (long long)m.added);
	add_bulk_str(c, "recorded-first-entry-id");
	add_sid(c, first);
	if (!full) {
		add_bulk_str(c, "groups");
		add_int(c, (long long)groups.n);
		for (int last = 0; last < 2; last++) {
			add_bulk_str(c, last ? "last-entry" : "first-entry");
			rc = entries_range(c->db, key, klen, (struct sid){ 0, 0 }, SID_MAX, last, 1,
					   &r);
			if (r.n)
				add_entry(c, &r.v[0]);
			else
				add_null(c);
			recs_free(&r);
		}
		goto out;
	}
	add_bulk_str(c, "entries");
	rc = entries_range(c->db, key, klen, (struct sid){ 0, 0 }, SID_MAX, false,
			   count > 0 ? (size_t)count : 0, &r);
	add_array(c, (long long)r.n);
	for (size_t i = 0; i < r.n; i++)
		add_entry(c, &r.v[i]);
	recs_free(&r);
	add_bulk_str(c, "groups");
	add_array(c, (long long)groups.n);
	for (size_t gi = 0; gi < groups.n; gi++) {
		const char *gname = (const char *)groups.v[gi].rk + 1;
		size_t glen = groups.v[gi].rklen - 1;
		struct recs pr, cr;
		struct group g;
		long long k;

		group_with_pending(c, key, klen, &groups.v[gi], &g, &pr, &cr);
		add_map(c, 7);
		add_bulk_str(c, "name");
		add_bulk(c, gname, glen);
		add_group_position(c, key, klen, &m, &g);
		add_bulk_str(c, "pel-count");
		add_int(c, (long long)pr.n);
		add_bulk_str(c, "pending");
		k = count && (long long)pr.n > count ? count : (long long)pr.n;
		add_array(c, k);
		for (long long j = 0; j < k; j++) {
			struct pend p;

			pend_decode(&pr.v[j], glen, &p);
			add_array(c, 4);
			add_sid(c, p.id);
			add_bulk(c, p.owner, p.olen);
			add_int(c, p.dtime);
			add_int(c, (long long)p.count);
		}
		add_bulk_str(c, "consumers");
		add_array(c, (long long)cr.n);
		for (size_t ci = 0; ci < cr.n; ci++) {
			const unsigned char *name = cr.v[ci].rk + 3 + glen;
			size_t nl = cr.v[ci].rklen - 3 - glen;
			long long shown = 0;
			struct recs cp;
			size_t pos;

			add_map(c, 4);
			add_bulk_str(c, "name");
			add_bulk(c, name, nl);
			add_bulk_str(c, "seen-time");
			add_int(c, cr.v[ci].vlen >= 8 ? (long long)get64(cr.v[ci].v) : 0);
			add_bulk_str(c, "pel-count");
			add_int(c, (long long)cons_pending(c->db, key, klen, gname, glen, name,
							      nl));
			add_bulk_str(c, "pending");
			pos = add_deferred(c);
			pend_of(c->db, key, klen, gname, glen, (const char *)name, nl,
				(struct sid){ 0, 0 }, &cp);
			for (size_t j = 0; j < cp.n && (!count || shown < count); j++) {
				struct pend p;

				pend_decode(&cp.v[j], glen, &p);
				add_array(c, 3);
				add_sid(c, p.id);
				add_int(c, p.dtime);
				add_int(c, (long long)p.count);
				shown++;
			}
			set_deferred(c, pos, '*', shown);
			recs_free(&cp);
		}
		recs_free(&pr);
		recs_free(&cr);
	}
out:
	recs_free(&nodes);
	recs_free(&groups);
	return 0;
}

void xinfo_command(struct client *c)
{
	const char *key;
	size_t klen;
	int t, rc = 0;

	if (arg_eq(c, 1, "help")) {
		if (c->argc != 2)
			add_err_subcommand(c);
		else
			add_help(c, xinfo_help);
		return;
	}
	if (c->argc < 3) {
		add_err_subcommand(c);
		return;
	}
	key = c->argv[2];
	klen = c->argvlen[2];
	t = stream_type(c, 2);
	if (t < 0)
		return;
	if (t == HKV_TYPE_NONE) {
		add_error(c, "no such key");
		return;
	}
	if (arg_eq(c, 1, "consumers") && c->argc == 4) {
		const char *g = c->argv[3];
		size_t glen = c->argvlen[3];
		struct group grp;
		struct recs cr;
		int64_t now = srv_now_ms();

		if (group_load(c->db, key, klen, g, glen, &grp) != 1) {
			add_errorf(c, "-NOGROUP No such consumer group '%.*s' for key name '%.*s'",
				   (int)glen, g, (int)klen, key);
			return;
		}
		rc = consumers_all(c->db, key, klen, g, glen, &cr);
		if (!rc) {
			add_array(c, (long long)cr.n);
			for (size_t i = 0; i < cr.n; i++) {
				const unsigned char *name = cr.v[i].rk + 3 + glen;
				size_t nl = cr.v[i].rklen - 3 - glen;
				int64_t idle = now - (cr.v[i].vlen >= 8 ? (int64_t)get64(cr.v[i].v)
									: now);

				add_map(c, 3);
				add_bulk_str(c, "name");
				add_bulk(c, name, nl);
				add_bulk_str(c, "pending");
				add_int(c, (long long)cons_pending(c->db, key, klen, g, glen, name,
								  nl));
				add_bulk_str(c, "idle");
				add_int(c, idle < 0 ? 0 : idle);
			}
		}
		recs_free(&cr);
	} else if (arg_eq(c, 1, "groups") && c->argc == 3) {
		struct recs groups;
		struct smeta m;

		rc = meta_load(c->db, key, klen, &m);
		if (!rc)
			rc = groups_all(c->db, key, klen, &groups);
		if (rc)
			goto out;
		add_array(c, (long long)groups.n);
		for (size_t i = 0; i < groups.n; i++) {
			const char *gname = (const char *)groups.v[i].rk + 1;
			size_t glen = groups.v[i].rklen - 1;
			struct recs pr, cr;
			struct group g;

			group_with_pending(c, key, klen, &groups.v[i], &g, &pr, &cr);
			add_map(c, 6);
			add_bulk_str(c, "name");
			add_bulk(c, gname, glen);
			add_bulk_str(c, "consumers");
			add_int(c, (long long)cr.n);
			add_bulk_str(c, "pending");
			add_int(c, (long long)pr.n);
			add_group_position(c, key, klen, &m, &g);
			recs_free(&pr);
			recs_free(&cr);
		}
		recs_free(&groups);
	} else if (arg_eq(c, 1, "stream")) {
		rc = xinfo_stream(c, key, klen);
	} else {
		add_err_subcommand(c);
	}
out:
	if (rc < 0)
		add_err_engine(c, rc);
}

/* ---- whole streams: COPY, DUMP/RESTORE --------------------------------------------------- */

/**
 * stream_walk_records() - call @cb for every record of stream @key (all classes, in record
 * order): COPY and DUMP carry a stream as its records. Return: 0, -ENOENT, <0.
 */
int stream_walk_records(struct hkv *db, const char *key, size_t klen,
			int (*cb)(void *arg, const void *rk, size_t rklen, const void *v,
				  size_t vlen),
			void *arg)
{
	unsigned char lo[1] = { 0 }, hi[HKV_XREC_KEY_MAX];

	memset(hi, 0xff, sizeof(hi));
	return hkv_xrec_range(db, key, klen, lo, 1, hi, sizeof(hi), false, cb, arg);
}

/**
 * stream_record_valid() - whether @rk can be the key of a stream record (RESTORE checks every
 * record of a payload with it, so that no payload makes the engine miscount entries).
 */
bool stream_record_valid(const void *rk, size_t rklen)
{
	const unsigned char *p = rk;

	if (!rklen || rklen > HKV_XREC_KEY_MAX)
		return false;
	switch (p[0]) {
	case REC_META:
		return rklen == 1;
	case REC_ENTRY:
	case REC_NODE:
		return rklen == 17;
	case REC_GROUP:
		return rklen >= 1 && rklen <= 1 + NAME_MAX_LEN;
	case REC_CONS:
	case REC_PEL:
		return rklen >= 3 && (size_t)(p[1] << 8 | p[2]) + 3 <= rklen;
	case REC_CPEL:
		return rklen >= 3 && (size_t)(p[1] << 8 | p[2]) + 4 + 16 <= rklen;
	default:
		return false;
	}
}
