// SPDX-License-Identifier: MIT
/*
 * crash_sigkill.c - kill -9 a writer at pseudo-random points and check that nothing it was
 * told had been written is lost.
 *
 *   crash_sigkill [--compact | --checkpoint] [--sync POLICY] [--cycles N] [--seed S]
 *                 [--dir PATH]
 *
 * Each cycle forks a child that opens the store (sync=always unless --sync says otherwise:
 * a kill -9 must lose nothing under any policy, since every write is in the kernel before the
 * call returns) and performs operations on strings (inline and value-log values,
 * SET/APPEND/DEL), hashes (whose fields must come back in insertion order), sets and lists.
 * After each call returns success the child writes the operation's number to a pipe. The
 * parent SIGKILLs the child after a pseudo-random number of acknowledgements (or, with
 * --compact, while a compaction thread in the child is at one of its steps; with --checkpoint,
 * while a thread checkpointing again and again, over a 1 MiB memtable budget, is at one of
 * the checkpoint's steps), reopens the store and checks every
 * object against its model: each acknowledged operation is there, the one that was in flight
 * may or may not be, nothing else changed, every value reads back with a good checksum.
 *
 * Operations are a pure function of (seed, operation number, model state), and the child
 * inherits the parent's model through fork(), so parent and child agree on every operation
 * without sending data. Exit status: 0 pass, 1 fail.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ftw.h>

#include "hkv/engine.h"
#include "hkv_int.h"
#include "vlog_int.h"

enum { NSTR = 8, NHASH = 3, NFIELD = 8, NSET = 3, NMEMB = 16, NLIST = 3, LMAX = 48 };
enum { STR_CAP = 400000 };

enum op_kind { OP_SET, OP_APPEND, OP_DEL, OP_HSET, OP_HDEL, OP_SADD, OP_SREM, OP_RPUSH, OP_LPOP };

struct op {
	enum op_kind kind;
	int obj;        /* index within its type */
	int sub;        /* field or member */
	uint64_t gen;   /* the operation's global number: seeds its bytes */
	size_t len;
};

struct str_obj {
	bool exists;
	size_t len;
	unsigned char *data; /* STR_CAP bytes */
};

struct model {
	struct str_obj str[NSTR];
	int64_t hash[NHASH][NFIELD]; /* generation of the field's value, -1 absent */
	uint64_t hadd[NHASH][NFIELD]; /* generation of the HSET that added the field */
	bool set[NSET][NMEMB];
	uint64_t list[NLIST][LMAX];
	int llen[NLIST];
};

static struct {
	bool compact;
	bool checkpoint;
	enum hkv_sync sync;
	int cycles;
	uint64_t seed;
	const char *dir;
	int pipe_fd;
	struct hkv *db;
	atomic_bool stop;
} g = { .cycles = 100, .seed = 1 };

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "crash_sigkill: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static void bytes_of(unsigned char *p, size_t len, uint64_t gen)
{
	uint64_t s = mix(gen * 0x9E3779B97F4A7C15ull + 7);
	bool text = gen % 3 == 0; /* compressible */

	for (size_t i = 0; i < len; i++) {
		if (text) {
			p[i] = (unsigned char)"lorem ipsum dolor sit amet "[(i + gen) % 27];
			continue;
		}
		if (!(i % 8))
			s = mix(s + i);
		p[i] = (unsigned char)(s >> (i % 8 * 8));
	}
}

static void key_name(char *out, char type, int obj)
{
	snprintf(out, 16, "%c:%d", type, obj);
}

/* ------------------------------------------------------------------------------------
 * The model
 */

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < NSTR; i++) {
		m->str[i].data = malloc(STR_CAP);
		if (!m->str[i].data)
			die("out of memory");
	}
	for (int i = 0; i < NHASH; i++)
		for (int j = 0; j < NFIELD; j++)
			m->hash[i][j] = -1;
}

static void model_copy(struct model *dst, const struct model *src)
{
	for (int i = 0; i < NSTR; i++) {
		unsigned char *keep = dst->str[i].data;

		memcpy(keep, src->str[i].data, src->str[i].len);
		dst->str[i] = src->str[i];
		dst->str[i].data = keep;
	}
	memcpy(dst->hash, src->hash, sizeof(dst->hash));
	memcpy(dst->hadd, src->hadd, sizeof(dst->hadd));
	memcpy(dst->set, src->set, sizeof(dst->set));
	memcpy(dst->list, src->list, sizeof(dst->list));
	memcpy(dst->llen, src->llen, sizeof(dst->llen));
}

/* Operation number @n given the state @m it applies to. */
static struct op op_make(const struct model *m, uint64_t n)
{
	uint64_t r = mix(g.seed * 1000003 + n);
	struct op o = { .gen = n };
	unsigned pick = r % 100;

	r = mix(r);
	if (pick < 30) {
		o.kind = OP_SET;
		o.obj = (int)(r % NSTR);
		r = mix(r);
		/* half inline (<= 256 bytes), half in the value log */
		o.len = r % 2 ? r % 200 : (g.compact ? 20000 : 1000) + r % 60000;
	} else if (pick < 45) {
		o.kind = OP_APPEND;
		o.obj = (int)(r % NSTR);
		o.len = 1 + mix(r) % 20000;
		if (m->str[o.obj].len + o.len > STR_CAP)
			o.kind = OP_DEL;
	} else if (pick < 52) {
		o.kind = OP_DEL;
		o.obj = (int)(r % NSTR);
	} else if (pick < 64) {
		o.kind = OP_HSET;
		o.obj = (int)(r % NHASH);
		o.sub = (int)(mix(r) % NFIELD);
		o.len = 1 + mix(r + 1) % 2000;
	} else if (pick < 70) {
		o.kind = OP_HDEL;
		o.obj = (int)(r % NHASH);
		o.sub = (int)(mix(r) % NFIELD);
	} else if (pick < 78) {
		o.kind = OP_SADD;
		o.obj = (int)(r % NSET);
		o.sub = (int)(mix(r) % NMEMB);
	} else if (pick < 84) {
		o.kind = OP_SREM;
		o.obj = (int)(r % NSET);
		o.sub = (int)(mix(r) % NMEMB);
	} else if (pick < 94) {
		o.kind = OP_RPUSH;
		o.obj = (int)(r % NLIST);
		o.len = 1 + mix(r) % 300;
		if (m->llen[o.obj] == LMAX)
			o.kind = OP_LPOP;
	} else {
		o.kind = OP_LPOP;
		o.obj = (int)(r % NLIST);
	}
	return o;
}

/* The element bytes of list element generation @gen. */
static size_t elem_len(uint64_t gen)
{
	return 1 + mix(gen + 99) % 300;
}

static void op_apply_model(struct model *m, const struct op *o)
{
	struct str_obj *s;

	switch (o->kind) {
	case OP_SET:
		s = &m->str[o->obj];
		bytes_of(s->data, o->len, o->gen);
		s->len = o->len;
		s->exists = true;
		break;
	case OP_APPEND:
		s = &m->str[o->obj];
		bytes_of(s->data + s->len, o->len, o->gen);
		s->len += o->len;
		s->exists = true;
		break;
	case OP_DEL:
		m->str[o->obj].exists = false;
		m->str[o->obj].len = 0;
		break;
	case OP_HSET:
		if (m->hash[o->obj][o->sub] < 0)
			m->hadd[o->obj][o->sub] = o->gen;
		m->hash[o->obj][o->sub] = (int64_t)o->gen;
		break;
	case OP_HDEL:
		m->hash[o->obj][o->sub] = -1;
		break;
	case OP_SADD:
		m->set[o->obj][o->sub] = true;
		break;
	case OP_SREM:
		m->set[o->obj][o->sub] = false;
		break;
	case OP_RPUSH:
		m->list[o->obj][m->llen[o->obj]++] = o->gen;
		break;
	case OP_LPOP:
		if (m->llen[o->obj]) {
			memmove(m->list[o->obj], m->list[o->obj] + 1,
				(size_t)(m->llen[o->obj] - 1) * sizeof(uint64_t));
			m->llen[o->obj]--;
		}
		break;
	}
}

/* ------------------------------------------------------------------------------------
 * The child: perform operations until killed
 */

static size_t hval_len(uint64_t gen)
{
	return 1 + mix(gen + 1) % 2000;
}

static int op_apply_store(struct hkv *db, const struct op *o)
{
	unsigned char buf[65536 + 2048], *big = NULL;
	char key[16], sub[16];
	struct hkv_buf out = { 0 };
	int64_t n;
	int rc = 0;

	switch (o->kind) {
	case OP_SET:
	case OP_APPEND:
		big = malloc(o->len + 1);
		if (!big)
			return -ENOMEM;
		bytes_of(big, o->len, o->gen);
		key_name(key, 's', o->obj);
		if (o->kind == OP_SET) {
			rc = hkv_set(db, key, strlen(key), big, o->len, NULL);
			rc = rc == 1 ? 0 : rc < 0 ? rc : -EPROTO;
		} else {
			n = hkv_append(db, key, strlen(key), big, o->len, NULL);
			rc = n < 0 ? (int)n : 0;
		}
		free(big);
		return rc;
	case OP_DEL:
		key_name(key, 's', o->obj);
		rc = hkv_del(db, key, strlen(key));
		return rc < 0 ? rc : 0;
	case OP_HSET:
		key_name(key, 'h', o->obj);
		snprintf(sub, sizeof(sub), "f%d", o->sub);
		bytes_of(buf, hval_len(o->gen), o->gen);
		rc = hkv_hset(db, key, strlen(key), sub, strlen(sub), buf, hval_len(o->gen), NULL);
		return rc < 0 ? rc : 0;
	case OP_HDEL:
		key_name(key, 'h', o->obj);
		snprintf(sub, sizeof(sub), "f%d", o->sub);
		rc = hkv_hdel(db, key, strlen(key), sub, strlen(sub));
		return rc < 0 ? rc : 0;
	case OP_SADD:
	case OP_SREM:
		key_name(key, 'z', o->obj);
		snprintf(sub, sizeof(sub), "m%d", o->sub);
		if (o->kind == OP_SADD)
			rc = hkv_sadd(db, key, strlen(key), sub, strlen(sub), NULL);
		else
			rc = hkv_srem(db, key, strlen(key), sub, strlen(sub));
		return rc < 0 ? rc : 0;
	case OP_RPUSH:
		key_name(key, 'l', o->obj);
		bytes_of(buf, elem_len(o->gen), o->gen);
		n = hkv_rpush(db, key, strlen(key), buf, elem_len(o->gen), NULL);
		return n < 0 ? (int)n : 0;
	case OP_LPOP:
		key_name(key, 'l', o->obj);
		rc = hkv_lpop(db, key, strlen(key), &out);
		hkv_buf_release(&out);
		return rc == -ENOENT ? 0 : rc;
	}
	return -EINVAL;
}

struct msg {
	uint32_t type; /* 1: operation acknowledged, 2: compaction step */
	uint32_t val;
};

static void send_msg(uint32_t type, uint32_t val)
{
	struct msg m = { type, val };

	if (write(g.pipe_fd, &m, sizeof(m)) != sizeof(m))
		_exit(4);
}

static void stage_hook(struct hkv *db, enum vlog_stage stage, uint32_t seg)
{
	(void)db;
	(void)seg;
	send_msg(2, (uint32_t)stage);
}

static void ckpt_hook(struct hkv *db, enum ckpt_stage stage)
{
	(void)db;
	send_msg(2, (uint32_t)stage);
}

static void *ckpt_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&g.stop)) {
		int rc = hkv_checkpoint(g.db);

		if (rc < 0) {
			fprintf(stderr, "child: hkv_checkpoint: %s\n", hkv_strerror(rc));
			_exit(3);
		}
		usleep(2000);
	}
	return NULL;
}

static void *compact_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&g.stop)) {
		int rc = hkv_compact(g.db, true);

		if (rc < 0) {
			fprintf(stderr, "child: hkv_compact: %s\n", hkv_strerror(rc));
			_exit(3);
		}
		if (!rc)
			usleep(1000); /* pacing: nothing to do yet */
	}
	return NULL;
}

static void options(struct hkv_options *opt)
{
	hkv_options_init(opt);
	opt->sync = g.sync;
	opt->bg_interval_ms = 0;
	if (g.checkpoint)
		opt->ckpt_bytes = 1 << 20;
	opt->map_size = 1ull << 30;
	opt->inline_max = 256;
	opt->compress = true;
	opt->segment_size = 1 << 20;
}

static void child(struct model *m, uint64_t base)
{
	struct hkv_options opt;
	pthread_t th;
	int rc;

	options(&opt);
	if (g.compact)
		vlog_test_hook = stage_hook;
	if (g.checkpoint)
		ckpt_test_hook = ckpt_hook;
	rc = hkv_open(g.dir, &opt, &g.db);
	if (rc) {
		fprintf(stderr, "child: hkv_open: %s\n", hkv_strerror(rc));
		_exit(3);
	}
	/* values reach 2000 bytes: keep every hash small, so that its order is insertion order */
	hkv_hash_limits(g.db, 128, 4096);
	if (g.compact && pthread_create(&th, NULL, compact_main, NULL))
		_exit(3);
	if (g.checkpoint && pthread_create(&th, NULL, ckpt_main, NULL))
		_exit(3);
	for (uint32_t k = 0;; k++) {
		struct op o = op_make(m, base + k);

		rc = op_apply_store(g.db, &o);
		if (rc) {
			fprintf(stderr, "child: operation %llu (kind %d): %s\n",
				(unsigned long long)(base + k), o.kind, hkv_strerror(rc));
			_exit(3);
		}
		op_apply_model(m, &o);
		send_msg(1, k);
	}
}

/* ------------------------------------------------------------------------------------
 * The parent: verification
 */

enum obj_type { T_STR, T_HASH, T_SET, T_LIST };

struct cmp_ctx {
	const struct model *m;
	int obj;
	int count;
	bool bad;
	int idx;
	uint64_t last_add; /* hashes: generation of the previous field's HSET-add */
};

static int hash_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct cmp_ctx *c = arg;
	unsigned char want[2048];
	int f;
	int64_t gen;

	char name[16];

	if (alen < 2 || alen >= sizeof(name)) {
		c->bad = true;
		return 0;
	}
	memcpy(name, a, alen); /* borrowed bytes, not NUL-terminated */
	name[alen] = 0;
	if (sscanf(name, "f%d", &f) != 1 || f < 0 || f >= NFIELD) {
		c->bad = true;
		return 0;
	}
	gen = c->m->hash[c->obj][f];
	if (getenv("CRASH_DEBUG"))
		fprintf(stderr, "field f%d: model gen %lld (len %zu), stored len %zu\n", f,
			(long long)gen, gen >= 0 ? hval_len((uint64_t)gen) : 0, blen);
	if (gen < 0 || blen != hval_len((uint64_t)gen)) {
		c->bad = true;
		return 0;
	}
	bytes_of(want, blen, (uint64_t)gen);
	if (memcmp(want, b, blen))
		c->bad = true;
	/* a small hash gives its fields in the order they were added */
	if (c->count && c->m->hadd[c->obj][f] <= c->last_add)
		c->bad = true;
	c->last_add = c->m->hadd[c->obj][f];
	c->count++;
	return 0;
}

static int set_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct cmp_ctx *c = arg;
	char tmp[16];
	int mb;

	(void)b;
	(void)blen;
	if (alen >= sizeof(tmp)) {
		c->bad = true;
		return 0;
	}
	memcpy(tmp, a, alen);
	tmp[alen] = 0;
	if (sscanf(tmp, "m%d", &mb) != 1 || mb < 0 || mb >= NMEMB || !c->m->set[c->obj][mb])
		c->bad = true;
	c->count++;
	return 0;
}

static int list_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct cmp_ctx *c = arg;
	unsigned char want[512];
	uint64_t gen;

	(void)b;
	(void)blen;
	if (c->idx >= c->m->llen[c->obj]) {
		c->bad = true;
		return 0;
	}
	gen = c->m->list[c->obj][c->idx++];
	if (alen != elem_len(gen)) {
		c->bad = true;
		return 0;
	}
	bytes_of(want, alen, gen);
	if (memcmp(want, a, alen))
		c->bad = true;
	return 0;
}

/* Whether object @obj of @t in the store equals the model. */
static bool obj_matches(struct hkv *db, const struct model *m, enum obj_type t, int obj)
{
	struct cmp_ctx c = { .m = m, .obj = obj };
	struct hkv_buf b;
	char key[16];
	int rc, want = 0;

	switch (t) {
	case T_STR:
		key_name(key, 's', obj);
		rc = hkv_get(db, key, strlen(key), &b);
		if (rc == -HKV_ECORRUPT)
			die("%s: corrupt value", key);
		if (rc)
			return rc == -ENOENT && !m->str[obj].exists;
		if (!m->str[obj].exists) {
			hkv_buf_release(&b);
			return false;
		}
		rc = b.len == m->str[obj].len && !memcmp(b.data, m->str[obj].data, b.len);
		hkv_buf_release(&b);
		return rc;
	case T_HASH:
		key_name(key, 'h', obj);
		for (int f = 0; f < NFIELD; f++)
			want += m->hash[obj][f] >= 0;
		rc = hkv_hgetall(db, key, strlen(key), hash_cb, &c);
		break;
	case T_SET:
		key_name(key, 'z', obj);
		for (int mb = 0; mb < NMEMB; mb++)
			want += m->set[obj][mb];
		rc = hkv_smembers(db, key, strlen(key), set_cb, &c);
		break;
	case T_LIST:
		key_name(key, 'l', obj);
		want = m->llen[obj];
		rc = hkv_lrange(db, key, strlen(key), 0, -1, list_cb, &c);
		c.count = c.idx;
		break;
	default:
		return false;
	}
	if (rc == -ENOENT)
		rc = 0;
	if (getenv("CRASH_DEBUG") && (rc || c.bad || c.count != want))
		fprintf(stderr, "%s: rc %d bad %d count %d want %d\n", key, rc, c.bad, c.count,
			want);
	return !rc && !c.bad && c.count == want;
}

static int nobjs(enum obj_type t)
{
	return t == T_STR ? NSTR : t == T_HASH ? NHASH : t == T_SET ? NSET : NLIST;
}

static enum obj_type op_type(const struct op *o)
{
	switch (o->kind) {
	case OP_SET:
	case OP_APPEND:
	case OP_DEL:
		return T_STR;
	case OP_HSET:
	case OP_HDEL:
		return T_HASH;
	case OP_SADD:
	case OP_SREM:
		return T_SET;
	default:
		return T_LIST;
	}
}

static int count_cb(void *arg, const void *key, size_t klen, enum hkv_type type,
		    bool is_prefix)
{
	(void)key;
	(void)klen;
	(void)type;
	(void)is_prefix;
	(*(int *)arg)++;
	return 0;
}

static int model_keys(const struct model *m)
{
	int n = 0;

	for (int i = 0; i < NSTR; i++)
		n += m->str[i].exists;
	for (int i = 0; i < NHASH; i++) {
		bool any = false;

		for (int f = 0; f < NFIELD; f++)
			any |= m->hash[i][f] >= 0;
		n += any;
	}
	for (int i = 0; i < NSET; i++) {
		bool any = false;

		for (int mb = 0; mb < NMEMB; mb++)
			any |= m->set[i][mb];
		n += any;
	}
	for (int i = 0; i < NLIST; i++)
		n += m->llen[i] > 0;
	return n;
}

/*
 * Check the store against @m (every acknowledged operation) where the operation @inflight may
 * also have happened; on success @m is the store's exact state.
 */
static void verify(struct model *m, struct model *alt, const struct op *inflight, int cycle)
{
	struct hkv_options opt;
	struct hkv_cursor cur;
	struct hkv_stats st;
	struct hkv *db;
	enum obj_type it = op_type(inflight);
	int rc, keys = 0;

	options(&opt);
	rc = hkv_open(g.dir, &opt, &db);
	if (rc)
		die("cycle %d: reopen: %s", cycle, hkv_strerror(rc));
	model_copy(alt, m);
	op_apply_model(alt, inflight);
	for (int t = T_STR; t <= T_LIST; t++) {
		for (int i = 0; i < nobjs((enum obj_type)t); i++) {
			if (obj_matches(db, m, (enum obj_type)t, i))
				continue;
			if ((enum obj_type)t == it && i == inflight->obj &&
			    obj_matches(db, alt, (enum obj_type)t, i)) {
				/* the operation in flight landed */
				model_copy(m, alt);
				if (getenv("CRASH_DEBUG"))
					fprintf(stderr, "cycle %d: in-flight op %d landed\n", cycle,
						inflight->kind);
				continue;
			}
			die("cycle %d: object %d of type %d differs from every allowed state",
			    cycle, i, t);
		}
	}
	hkv_cursor_init(&cur);
	do {
		struct hkv_scan_opts so = { .count = 100 };

		rc = hkv_scan(db, &cur, &so, count_cb, &keys);
		if (rc < 0)
			die("cycle %d: scan: %s", cycle, hkv_strerror(rc));
	} while (!cur.done);
	if (keys != model_keys(m))
		die("cycle %d: %d keys in the store, %d expected", cycle, keys, model_keys(m));
	if (hkv_stats_get(db, &st))
		die("cycle %d: stats", cycle);
	if (st.crc_errors)
		die("cycle %d: %llu checksum errors", cycle, (unsigned long long)st.crc_errors);
	if (hkv_close(db))
		die("cycle %d: close", cycle);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "compact", no_argument, NULL, 'c' },
		{ "checkpoint", no_argument, NULL, 'k' },
		{ "sync", required_argument, NULL, 'y' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct model m, alt;
	char tmpl[] = "/tmp/hkv-crash-XXXXXX";
	uint64_t base = 0, rng;
	int c, killed_in_compaction = 0, stages = 0;
	long acked_total = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			g.compact = true;
			break;
		case 'k':
			g.checkpoint = true;
			break;
		case 'y':
			if (hkv_sync_parse(optarg, &g.sync))
				die("--sync %s: not always|everysec|none", optarg);
			break;
		case 'n':
			g.cycles = atoi(optarg);
			break;
		case 's':
			g.seed = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			g.dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [--compact|--checkpoint] [--sync POLICY] "
				"[--cycles N] [--seed S] [--dir D]\n", argv[0]);
			return 2;
		}
	}
	if (!g.dir) {
		g.dir = mkdtemp(tmpl);
		if (!g.dir)
			die("mkdtemp: %s", strerror(errno));
	}
	model_init(&m);
	model_init(&alt);
	rng = mix(g.seed + 12345);

	for (int cycle = 0; cycle < g.cycles; cycle++) {
		int fds[2], status;
		uint32_t acks = 0, kill_after;
		bool killed = false, in_compaction = false;
		struct msg msg;
		struct op inflight;
		pid_t pid;
		ssize_t r;

		rng = mix(rng + (uint64_t)cycle);
		kill_after = 1 + (uint32_t)(rng % (g.compact ? 60 : 30));
		if (pipe(fds))
			die("pipe: %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			close(fds[0]);
			g.pipe_fd = fds[1];
			child(&m, base);
		}
		close(fds[1]);
		while ((r = read(fds[0], &msg, sizeof(msg))) == sizeof(msg)) {
			if (msg.type == 1) {
				struct op o = op_make(&m, base + acks);

				if (msg.val != acks)
					die("cycle %d: acknowledgement %u out of order", cycle, msg.val);
				op_apply_model(&m, &o);
				acks++;
				if (!killed && acks >= kill_after) {
					kill(pid, SIGKILL);
					killed = true;
				}
			} else if (msg.type == 2) {
				stages++;
				rng = mix(rng + msg.val);
				if (!killed && rng % 3 == 0) {
					kill(pid, SIGKILL);
					killed = in_compaction = true;
				}
			}
		}
		if (r != 0)
			die("cycle %d: pipe read: %s", cycle, r < 0 ? strerror(errno) : "short");
		close(fds[0]);
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid: %s", strerror(errno));
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			die("cycle %d: the child ended by itself (status 0x%x)", cycle, status);
		killed_in_compaction += in_compaction;
		acked_total += acks;

		inflight = op_make(&m, base + acks);
		verify(&m, &alt, &inflight, cycle);
		base += acks + 1;
	}
	printf("crash_sigkill: %d cycles (sync=%s), %ld acknowledged operations, %d %s steps "
	       "seen, %d kills during one\n", g.cycles,
	       g.sync == HKV_SYNC_ALWAYS ? "always" : g.sync == HKV_SYNC_EVERYSEC ? "everysec" :
	       "none", acked_total, stages, g.checkpoint ? "checkpoint" : "compaction",
	       killed_in_compaction);
	if ((g.compact || g.checkpoint) && killed_in_compaction < g.cycles / 10)
		die("only %d of %d kills landed during a %s", killed_in_compaction, g.cycles,
		    g.checkpoint ? "checkpoint" : "compaction");
	if (!strncmp(g.dir, "/tmp/hkv-crash-", 15))
		nftw(g.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (int i = 0; i < NSTR; i++) {
		free(m.str[i].data);
		free(alt.str[i].data);
	}
	return 0;
}
