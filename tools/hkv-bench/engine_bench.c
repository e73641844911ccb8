/* SPDX-License-Identifier: MIT */
/*
 * engine_bench.c - `hkv-bench engine`: the engine's GET, SET and mixed throughput and latency,
 * measured in the same run, on the same keys and values, next to raw LMDB used directly: the
 * floor the engine is built on (its index is an LMDB environment).
 *
 * What is compared (docs/benchmarks.md explains each row):
 *
 *   row             engine                          LMDB baseline
 *   load            hkv_set of N new keys           one write txn per mdb_put, MDB_NOSYNC
 *   bulk load       -                               all N puts in one write txn
 *   GET             hkv_get (value copied out)      read txn reset/renew per op, value copied
 *   SET             hkv_set overwriting a key       one write txn per put, MDB_NOSYNC
 *   GET/SET 90/10   the two above, 9 in 10 GETs     the two above
 *   durability      hkv_set with sync=always,       one write txn per put, fsync on commit
 *                   1 and 32 threads                (LMDB's default), 1 and 32 threads
 *   reopen          hkv_open + hkv_close of the     mdb_env_open + close of the LMDB store
 *                   N-key store, median of runs
 *
 * Both sides use sync "none" in the main table (engine HKV_SYNC_NONE, LMDB MDB_NOSYNC): what
 * is measured is the work per operation, not the disk's flush latency, which the durability
 * rows measure on their own.
 *
 * Every operation is timed with clock_gettime(CLOCK_MONOTONIC) (about 20 ns through the vDSO)
 * into a per-thread log-linear histogram (hist.c); throughput is operations over the wall
 * time from the first thread's start (all are released together by a barrier) to the last
 * one's end, both read by the workers themselves: the main thread, which may not run again
 * until the workers are done, takes no part in the timing.
 *
 * Keys are "k:" + 16 hex digits of splitmix64(seed + i * gamma): distinct (a bijection of i),
 * 18 bytes, in an order unrelated to their byte order, as hashed keys are in practice. Values
 * are slices of one buffer of seeded random bytes (incompressible). Operation streams use a
 * per-thread xorshift64* seeded from --seed: the same run gives the same operations.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "hkv/engine.h"

#define KLEN 18
#define VSLACK 256 /* values start at a random offset in [0, VSLACK) of the value buffer */

struct cfg {
	uint64_t keys;
	uint64_t ops;       /* operations per row (0: same as keys) */
	size_t vsizes[2];
	int nvsizes;
	int threads;        /* thread count of the multi-thread rows */
	int sync_threads;   /* thread count of the group-commit row */
	uint64_t sync_ops;  /* operations per durability row */
	int reopen_runs;
	const char *parent; /* where the scratch directory goes */
	uint64_t seed;
	bool pin;
	bool keep;
	int compress;       /* -1: engine default, 0 off, 1 on */
	uint64_t ckpt_ops;  /* SETs of the checkpoint rows */
	uint64_t ckpt_bytes; /* the engine's memtable budget in the storage rows (0: default) */
	unsigned tables;    /* TABLE_* bits: which tables to measure */
};

#define TABLE_MAIN 1u    /* load, GET, SET, mix, reopen */
#define TABLE_STORAGE 2u /* sync policies, checkpoints, recovery (needs the main table) */
#define TABLE_SYNC 4u    /* durability: fsync per write vs group commit */

enum op_kind { OP_LOAD, OP_GET, OP_SET, OP_MIX };

/* One measured row: what to run, on which store, with how many threads. */
struct run {
	enum op_kind kind;
	bool lmdb;
	struct hkv *db;
	MDB_env *env;
	MDB_dbi dbi;
	size_t vsize;
	uint64_t nops;
	uint64_t nkeys; /* keys that exist (GET picks among them) */
	int nthreads;
	bool pin;
	pthread_barrier_t barrier;
	/* results */
	struct hist hist;
	double secs;
	int err;
};

struct worker {
	struct run *run;
	int id;
	uint64_t first, count;
	uint64_t start_ns, end_ns; /* this worker's first and last clock reading */
	struct hist h;
	int err;
	pthread_t thread;
};

static char *g_keys;      /* keys[i] at g_keys + i * KLEN */
static char *g_vals;      /* random bytes, largest value size + VSLACK */
static uint64_t g_seed;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *key_at(uint64_t i)
{
	return g_keys + i * KLEN;
}

static int make_data(uint64_t nkeys, size_t vmax)
{
	char tmp[KLEN + 1];
	uint64_t i, s;

	g_keys = malloc(nkeys * KLEN);
	g_vals = malloc(vmax + VSLACK);
	if (!g_keys || !g_vals)
		return -ENOMEM;
	for (i = 0; i < nkeys; i++) {
		snprintf(tmp, sizeof(tmp), "k:%016" PRIx64,
			 splitmix64(g_seed + i * 0x9e3779b97f4a7c15ull));
		memcpy(g_keys + i * KLEN, tmp, KLEN);
	}
	s = splitmix64(g_seed ^ 0x5bd1e995u) | 1;
	for (i = 0; i < vmax + VSLACK; i++)
		g_vals[i] = (char)rng_next(&s);
	return 0;
}

static int lmdb_put1(MDB_env *env, MDB_dbi dbi, const void *k, const void *v, size_t vlen)
{
	MDB_val mk = { KLEN, (void *)k }, mv = { vlen, (void *)v };
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		return rc;
	rc = mdb_put(txn, dbi, &mk, &mv, 0);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	uint64_t rng = splitmix64(g_seed ^ ((uint64_t)(w->id + 1) << 32) ^ (uint64_t)r->kind) | 1;
	MDB_txn *rtxn = NULL;
	char *copy = NULL;
	uint64_t i, idx, t0, t1;
	int rc = 0;

	if (r->pin)
		pin_to(0);
	if (r->lmdb) {
		copy = malloc(r->vsize + 1);
		rc = copy ? mdb_txn_begin(r->env, NULL, MDB_RDONLY, &rtxn) : ENOMEM;
		if (!rc)
			mdb_txn_reset(rtxn);
		else
			w->err = rc;
	}
	pthread_barrier_wait(&r->barrier);
	w->start_ns = now_ns();
	for (i = 0; i < w->count && !w->err; i++) {
		uint64_t x = rng_next(&rng);
		const char *k, *v;
		bool get;

		idx = r->kind == OP_LOAD ? w->first + i : x % r->nkeys;
		get = r->kind == OP_GET || (r->kind == OP_MIX && (x >> 40) % 100 < 90);
		k = key_at(idx);
		v = g_vals + (x >> 20) % VSLACK;
		t0 = now_ns();
		if (r->lmdb && get) {
			MDB_val mk = { KLEN, (void *)k }, mv;

			rc = mdb_txn_renew(rtxn);
			if (!rc)
				rc = mdb_get(rtxn, r->dbi, &mk, &mv);
			if (!rc)
				memcpy(copy, mv.mv_data, mv.mv_size);
			mdb_txn_reset(rtxn);
		} else if (r->lmdb) {
			rc = lmdb_put1(r->env, r->dbi, k, v, r->vsize);
		} else if (get) {
			struct hkv_buf b = { 0 };

			rc = hkv_get(r->db, k, KLEN, &b);
			hkv_buf_release(&b);
		} else {
			rc = hkv_set(r->db, k, KLEN, v, r->vsize, NULL);
			rc = rc == 1 ? 0 : rc < 0 ? rc : -EIO;
		}
		t1 = now_ns();
		hist_add(&w->h, t1 - t0);
		if (rc)
			w->err = rc;
	}
	w->end_ns = now_ns();
	if (rtxn)
		mdb_txn_abort(rtxn);
	free(copy);
	return NULL;
}

/* Run @r with r->nthreads threads splitting r->nops; fill the results. */
static void run_row(struct run *r)
{
	struct worker *w;
	uint64_t t0 = UINT64_MAX, t1 = 0, per;
	int i;

	w = calloc((size_t)r->nthreads, sizeof(*w));
	if (!w) {
		r->err = -ENOMEM;
		return;
	}
	hist_init(&r->hist);
	r->err = 0;
	pthread_barrier_init(&r->barrier, NULL, (unsigned)r->nthreads + 1);
	per = r->nops / (uint64_t)r->nthreads;
	for (i = 0; i < r->nthreads; i++) {
		w[i].run = r;
		w[i].id = i;
		w[i].first = (uint64_t)i * per;
		w[i].count = i == r->nthreads - 1 ? r->nops - (uint64_t)i * per : per;
		hist_init(&w[i].h);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			fprintf(stderr, "hkv-bench: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&r->barrier);
	for (i = 0; i < r->nthreads; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < r->nthreads; i++) {
		t0 = w[i].start_ns < t0 ? w[i].start_ns : t0;
		t1 = w[i].end_ns > t1 ? w[i].end_ns : t1;
		hist_merge(&r->hist, &w[i].h);
		if (w[i].err && !r->err)
			r->err = w[i].err;
	}
	pthread_barrier_destroy(&r->barrier);
	r->secs = (double)(t1 - t0) / 1e9;
	free(w);
}

static const char *errstr(bool lmdb, int err)
{
	return lmdb ? mdb_strerror(err) : hkv_strerror(err);
}

static double rate(const struct run *r)
{
	return r->secs > 0 ? (double)r->hist.count / r->secs : 0;
}

/* "1,234,567" */
static const char *fmt_count(double v, char *buf, size_t size)
{
	char raw[32];
	size_t n, i, o = 0;

	snprintf(raw, sizeof(raw), "%.0f", v);
	n = strlen(raw);
	for (i = 0; i < n && o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static void print_side(const struct run *r)
{
	char b[32];

	if (!r) {
		printf(" | %12s %8s %8s", "-", "-", "-");
		return;
	}
	printf(" | %12s %8.2f %8.2f", fmt_count(rate(r), b, sizeof(b)),
	       (double)hist_quantile(&r->hist, 0.50) / 1e3,
	       (double)hist_quantile(&r->hist, 0.99) / 1e3);
}

static void print_row(const char *name, int threads, const struct run *eng,
		      const struct run *lm)
{
	printf("%-18s %3d", name, threads);
	print_side(eng);
	print_side(lm);
	if (eng && lm && rate(lm) > 0)
		printf(" | %7.2fx\n", rate(eng) / rate(lm));
	else
		printf(" | %8s\n", "-");
	fflush(stdout);
}

static void check(const struct run *r, const char *what)
{
	if (r->err) {
		fprintf(stderr, "hkv-bench: %s (%s) failed: %s\n", what, r->lmdb ? "LMDB" : "engine",
			errstr(r->lmdb, r->err));
		exit(1);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *fs_name(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf))
		return "unknown";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs (fsync rows are meaningless here)";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	case 0x2FC12FC1: return "zfs";
	case 0xF2F52010: return "f2fs";
	default: return "other";
	}
}

static void open_lmdb(const char *path, unsigned flags, MDB_env **env, MDB_dbi *dbi)
{
	MDB_txn *txn;
	int rc;

	mkdir(path, 0755);
	rc = mdb_env_create(env);
	if (!rc)
		rc = mdb_env_set_mapsize(*env, 64ull << 30);
	if (!rc)
		rc = mdb_env_set_maxreaders(*env, 256);
	if (!rc)
		rc = mdb_env_open(*env, path, flags | MDB_NOTLS, 0644);
	if (!rc)
		rc = mdb_txn_begin(*env, NULL, 0, &txn);
	if (!rc) {
		rc = mdb_dbi_open(txn, NULL, 0, dbi);
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc) {
		fprintf(stderr, "hkv-bench: LMDB %s: %s\n", path, mdb_strerror(rc));
		exit(1);
	}
}

static int g_compress = -1;
static long g_inline_max = -1; /* -1: the engine's default */

static struct hkv *open_engine(const char *path, enum hkv_sync sync)
{
	struct hkv_options opt;
	struct hkv *db;
	int rc;

	hkv_options_init(&opt);
	opt.sync = sync;
	if (g_compress >= 0)
		opt.compress = g_compress;
	if (g_inline_max >= 0)
		opt.inline_max = (uint32_t)g_inline_max;
	rc = hkv_open(path, &opt, &db);
	if (rc) {
		fprintf(stderr, "hkv-bench: hkv_open %s: %s\n", path, hkv_strerror(rc));
		exit(1);
	}
	return db;
}

static void print_header(void)
{
	printf("%-18s %3s | %12s %8s %8s | %12s %8s %8s | %8s\n", "op", "thr", "engine ops/s",
	       "p50 us", "p99 us", "LMDB ops/s", "p50 us", "p99 us", "eng/LMDB");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double set1, setn;      /* engine SET rows, smallest value size */
	double lmdb_fsync1, eng_always1, eng_alwaysn;
	double reopen_ms;
	double set_none, set_everysec;
	double open_clean_ms, open_crash_ms;
	uint64_t crash_writes;
	double ckpt_us_per_rec, ckpt_recs_per_s;
	double p99_ckpt, p99_nockpt, max_ckpt, max_nockpt;
	uint64_t ckpts_during;
};

static void bench_storage(const struct cfg *c, const char *epath, size_t vsize,
			  struct summary *sum);

/* The main table for one value size; measures reopen on the first (smallest) one. */
static void bench_size(const struct cfg *c, const char root[1024], size_t vsize, bool reopen,
		       struct summary *sum)
{
	char epath[4096], lpath[4096], bpath[4096];
	struct run e = { 0 }, l = { 0 };
	uint64_t ops = c->ops ? c->ops : c->keys;
	uint64_t *times;
	int i, j;
	static const struct {
		enum op_kind kind;
		const char *name;
	} rows[] = {
		{ OP_GET, "GET" },
		{ OP_SET, "SET" },
		{ OP_MIX, "GET/SET 90/10" },
	};

	snprintf(epath, sizeof(epath), "%s/engine-%zu", root, vsize);
	snprintf(lpath, sizeof(lpath), "%s/lmdb-%zu", root, vsize);
	snprintf(bpath, sizeof(bpath), "%s/lmdb-bulk-%zu", root, vsize);
	printf("\nvalue %zu B, %" PRIu64 " keys, %" PRIu64 " ops per row\n", vsize, c->keys, ops);
	print_header();

	e.db = open_engine(epath, HKV_SYNC_NONE);
	open_lmdb(lpath, MDB_NOSYNC, &l.env, &l.dbi);
	l.lmdb = true;
	e.vsize = l.vsize = vsize;
	e.nkeys = l.nkeys = c->keys;

	/* load: every key once, one thread, in key-index (random byte) order */
	e.kind = l.kind = OP_LOAD;
	e.nops = l.nops = c->keys;
	e.nthreads = l.nthreads = 1;
	e.pin = l.pin = c->pin;
	run_row(&e);
	check(&e, "load");
	run_row(&l);
	check(&l, "load");
	print_row("load (SET new)", 1, &e, &l);

	/* bulk load: LMDB only, one write transaction */
	{
		struct run b = { 0 };
		MDB_txn *txn;
		uint64_t k, t0, t1;
		int rc;

		b.lmdb = true;
		open_lmdb(bpath, MDB_NOSYNC, &b.env, &b.dbi);
		hist_init(&b.hist);
		if (c->pin)
			pin_to(0);
		t0 = now_ns();
		rc = mdb_txn_begin(b.env, NULL, 0, &txn);
		for (k = 0; k < c->keys && !rc; k++) {
			MDB_val mk = { KLEN, (void *)key_at(k) };
			MDB_val mv = { vsize, g_vals + k % VSLACK };
			uint64_t a = now_ns();

			rc = mdb_put(txn, b.dbi, &mk, &mv, 0);
			hist_add(&b.hist, now_ns() - a);
		}
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		t1 = now_ns();
		b.secs = (double)(t1 - t0) / 1e9;
		b.err = rc;
		check(&b, "bulk load");
		mdb_env_close(b.env);
		rm_rf(bpath);
		print_row("bulk load (1 txn)", 1, NULL, &b);
	}

	for (i = 0; i < 3; i++) {
		int thr[2] = { 1, c->threads };

		for (j = 0; j < 2; j++) {
			e.kind = l.kind = rows[i].kind;
			e.nops = l.nops = ops;
			e.nthreads = l.nthreads = thr[j];
			e.pin = l.pin = c->pin && thr[j] == 1;
			run_row(&e);
			check(&e, rows[i].name);
			run_row(&l);
			check(&l, rows[i].name);
			print_row(rows[i].name, thr[j], &e, &l);
			if (rows[i].kind == OP_SET && sum->set1 == 0 && j == 0)
				sum->set1 = rate(&e);
			if (rows[i].kind == OP_SET && sum->setn == 0 && j == 1)
				sum->setn = rate(&e);
		}
	}
	hkv_close(e.db);
	mdb_env_close(l.env);

	if (reopen) {
		struct hkv_options opt;
		struct hkv *db;
		MDB_env *env;
		MDB_dbi dbi;
		uint64_t t0, lm_med;

		times = calloc((size_t)c->reopen_runs, sizeof(*times));
		if (!times)
			exit(1);
		hkv_options_init(&opt);
		opt.sync = HKV_SYNC_NONE;
		for (i = 0; i < c->reopen_runs; i++) {
			t0 = now_ns();
			if (hkv_open(epath, &opt, &db)) {
				fprintf(stderr, "hkv-bench: reopen failed\n");
				exit(1);
			}
			hkv_close(db);
			times[i] = now_ns() - t0;
		}
		qsort(times, (size_t)c->reopen_runs, sizeof(*times), cmp_u64);
		sum->reopen_ms = (double)times[c->reopen_runs / 2] / 1e6;
		printf("reopen: hkv_open+hkv_close of the %" PRIu64 "-key store: median %.2f ms "
		       "over %d runs (min %.2f, max %.2f)\n", c->keys, sum->reopen_ms,
		       c->reopen_runs, (double)times[0] / 1e6,
		       (double)times[c->reopen_runs - 1] / 1e6);
		for (i = 0; i < c->reopen_runs; i++) {
			t0 = now_ns();
			open_lmdb(lpath, MDB_NOSYNC, &env, &dbi);
			mdb_env_close(env);
			times[i] = now_ns() - t0;
		}
		qsort(times, (size_t)c->reopen_runs, sizeof(*times), cmp_u64);
		lm_med = times[c->reopen_runs / 2];
		printf("reopen: LMDB mdb_env_open+close of the same keys: median %.2f ms\n",
		       (double)lm_med / 1e6);
		free(times);
		if (c->tables & TABLE_STORAGE)
			bench_storage(c, epath, vsize, sum);
	}
	if (!c->keep) {
		rm_rf(epath);
		rm_rf(lpath);
	}
}

/* ---------------------------------------------------------------------------------------
 * Storage rows: sync policies, checkpoints, recovery (docs/engine-storage.md)
 */

static struct hkv *open_engine_opt(const char *path, enum hkv_sync sync, uint64_t ckpt_bytes,
				   uint32_t ckpt_interval_ms)
{
	struct hkv_options opt;
	struct hkv *db;
	int rc;

	hkv_options_init(&opt);
	opt.sync = sync;
	if (g_compress >= 0)
		opt.compress = g_compress;
	if (g_inline_max >= 0)
		opt.inline_max = (uint32_t)g_inline_max;
	if (ckpt_bytes)
		opt.ckpt_bytes = ckpt_bytes;
	opt.ckpt_interval_ms = ckpt_interval_ms;
	rc = hkv_open(path, &opt, &db);
	if (rc) {
		fprintf(stderr, "hkv-bench: hkv_open %s: %s\n", path, hkv_strerror(rc));
		exit(1);
	}
	return db;
}

static void stats(struct hkv *db, struct hkv_stats *st)
{
	if (hkv_stats_get(db, st)) {
		fprintf(stderr, "hkv-bench: hkv_stats_get failed\n");
		exit(1);
	}
}

/* A 1-thread SET row of @nops on @db. */
static void set_row(const struct cfg *c, struct hkv *db, size_t vsize, uint64_t nops,
		    struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->kind = OP_SET;
	r->vsize = vsize;
	r->nkeys = c->keys;
	r->nops = nops;
	r->nthreads = 1;
	r->pin = c->pin;
	run_row(r);
	check(r, "SET");
}

static void print_lat(const char *name, const struct run *r, const char *extra)
{
	char b[32];

	printf("%-40s | %12s %8.2f %8.2f %9.2f %9.1f | %s\n", name,
	       fmt_count(rate(r), b, sizeof(b)), (double)hist_quantile(&r->hist, 0.50) / 1e3,
	       (double)hist_quantile(&r->hist, 0.99) / 1e3,
	       (double)hist_quantile(&r->hist, 0.999) / 1e3, (double)r->hist.max / 1e3, extra);
	fflush(stdout);
}

/*
 * Write SETs into @path until the memtable holds about 90% of its budget (no checkpoint:
 * interval 0), then return the number written. The first 10000 measure the bytes per write.
 */
static uint64_t fill_memtable(const struct cfg *c, struct hkv *db, size_t vsize,
			      uint64_t budget)
{
	struct hkv_stats st0, st;
	uint64_t probe = 10000, n, per;
	struct run r;

	stats(db, &st0);
	set_row(c, db, vsize, probe, &r);
	stats(db, &st);
	per = (st.mem_bytes - st0.mem_bytes) / probe;
	if (!per)
		per = 1;
	n = budget * 9 / 10 > st.mem_bytes ? (budget * 9 / 10 - st.mem_bytes) / per : 0;
	if (n)
		set_row(c, db, vsize, n, &r);
	return probe + n;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void bench_storage(const struct cfg *c, const char *epath, size_t vsize,
			  struct summary *sum)
{
	uint64_t budget = c->ckpt_bytes;
	struct hkv_options dflt;
	struct hkv_stats st0, st;
	struct hkv *db;
	struct run r;
	char extra[160];
	uint64_t t0;
	double opens[7];
	int runs = c->reopen_runs < 7 ? c->reopen_runs : 7;

	hkv_options_init(&dflt);
	if (!budget)
		budget = dflt.ckpt_bytes;
	printf("\nstorage: %zu B SETs, 1 thread, on the %" PRIu64 "-key store; memtable budget "
	       "%" PRIu64 " MiB\n", vsize, c->keys, budget >> 20);
	printf("%-40s | %12s %8s %8s %9s %9s |\n", "row", "ops/s", "p50 us", "p99 us",
	       "p99.9 us", "max us");

	/*
	 * sync policies: none and everysec cost no flush on the write path. Each row is two
	 * slices of half its operations, run in the order none, everysec, everysec, none: a
	 * drift during the rows (the log and the tree grow, the checkpointer falls behind, the
	 * machine's load changes) weighs on both policies alike, where one row after the
	 * other charged it all to the second.
	 */
	{
		static const enum hkv_sync order[4] = { HKV_SYNC_NONE, HKV_SYNC_EVERYSEC,
							HKV_SYNC_EVERYSEC, HKV_SYNC_NONE };
		uint64_t n = c->ops ? c->ops : c->keys;
		struct run acc[2];
		bool have[2] = { false, false };

		for (int i = 0; i < 4; i++) {
			int p = order[i] != HKV_SYNC_NONE;

			db = open_engine_opt(epath, order[i], budget, dflt.ckpt_interval_ms);
			set_row(c, db, vsize, (n + 1) / 2, &r);
			hkv_close(db);
			if (!have[p]) {
				acc[p] = r;
				have[p] = true;
			} else {
				hist_merge(&acc[p].hist, &r.hist);
				acc[p].secs += r.secs;
			}
		}
		sum->set_none = rate(&acc[0]);
		sum->set_everysec = rate(&acc[1]);
		print_lat("SET sync=none", &acc[0], "");
		snprintf(extra, sizeof(extra), "%.2fx sync=none", sum->set_everysec /
			 sum->set_none);
		print_lat("SET sync=everysec", &acc[1], extra);
	}

	/* the write stall of checkpoints: the same SETs without any, and with several */
	db = open_engine_opt(epath, HKV_SYNC_NONE, 4ull << 30, 0);
	set_row(c, db, vsize, c->ckpt_ops, &r);
	sum->p99_nockpt = (double)hist_quantile(&r.hist, 0.99) / 1e3;
	sum->max_nockpt = (double)r.hist.max / 1e3;
	print_lat("SET, no checkpoint (4 GiB memtable)", &r, "");
	hkv_close(db);
	db = open_engine_opt(epath, HKV_SYNC_NONE, budget, dflt.ckpt_interval_ms);
	stats(db, &st0);
	set_row(c, db, vsize, c->ckpt_ops, &r);
	stats(db, &st);
	sum->ckpts_during = st.checkpoints - st0.checkpoints;
	sum->p99_ckpt = (double)hist_quantile(&r.hist, 0.99) / 1e3;
	sum->max_ckpt = (double)r.hist.max / 1e3;
	snprintf(extra, sizeof(extra), "%" PRIu64 " checkpoints during the row",
		 sum->ckpts_during);
	print_lat("SET, checkpoints running", &r, extra);
	hkv_close(db);

	/* one checkpoint of a full memtable: cost per index record */
	db = open_engine_opt(epath, HKV_SYNC_NONE, budget, 0);
	fill_memtable(c, db, vsize, budget);
	stats(db, &st0);
	t0 = now_ns();
	if (hkv_checkpoint(db)) {
		fprintf(stderr, "hkv-bench: hkv_checkpoint failed\n");
		exit(1);
	}
	{
		double secs = (double)(now_ns() - t0) / 1e9;
		uint64_t recs;

		stats(db, &st);
		recs = st.ckpt_records - st0.ckpt_records;
		sum->ckpt_us_per_rec = recs ? secs * 1e6 / (double)recs : 0;
		sum->ckpt_recs_per_s = secs > 0 ? (double)recs / secs : 0;
		printf("checkpoint of a full memtable: %" PRIu64 " index records in %.1f ms: "
		       "%.2f us per record (%.0f records/s), synced LMDB commit included\n", recs,
		       secs * 1e3, sum->ckpt_us_per_rec, sum->ckpt_recs_per_s);
	}
	hkv_close(db);

	/* open after a clean close: nothing to replay */
	for (int i = 0; i < runs; i++) {
		t0 = now_ns();
		db = open_engine_opt(epath, HKV_SYNC_NONE, budget, 0);
		opens[i] = (double)(now_ns() - t0) / 1e6;
		hkv_close(db);
	}
	qsort(opens, (size_t)runs, sizeof(opens[0]), cmp_dbl);
	sum->open_clean_ms = opens[runs / 2];
	printf("open after a clean close: median %.2f ms over %d runs (hkv_open alone)\n",
	       sum->open_clean_ms, runs);

	/* open after a crash that left a full memtable to replay */
	runs = runs < 3 ? runs : 3;
	for (int i = 0; i < runs; i++) {
		int fds[2], status;
		uint64_t n = 0;
		pid_t pid;

		if (pipe(fds)) {
			perror("pipe");
			exit(1);
		}
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (!pid) {
			close(fds[0]);
			db = open_engine_opt(epath, HKV_SYNC_NONE, budget, 0);
			n = fill_memtable(c, db, vsize, budget);
			if (write(fds[1], &n, sizeof(n)) != sizeof(n))
				_exit(3);
			_exit(0); /* no close, no checkpoint: as a kill -9 */
		}
		close(fds[1]);
		if (read(fds[0], &n, sizeof(n)) != sizeof(n) || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "hkv-bench: the crashing writer failed\n");
			exit(1);
		}
		close(fds[0]);
		t0 = now_ns();
		db = open_engine_opt(epath, HKV_SYNC_NONE, budget, 0);
		opens[i] = (double)(now_ns() - t0) / 1e6;
		sum->crash_writes = n;
		hkv_close(db);
	}
	qsort(opens, (size_t)runs, sizeof(opens[0]), cmp_dbl);
	sum->open_crash_ms = opens[runs / 2];
	printf("open after a crash with a full memtable (%" PRIu64 " writes) to replay: median "
	       "%.2f ms over %d runs (replay and flush of the replayed log included)\n",
	       sum->crash_writes, sum->open_crash_ms, runs);
}

/* Durability rows: fsync per write vs group commit. */
static void bench_sync(const struct cfg *c, const char root[1024], struct summary *sum)
{
	char epath[4096], lpath[4096];
	struct run e = { 0 }, l = { 0 };
	size_t vsize = 64;
	int thr[2] = { 1, c->sync_threads };
	double base;
	int j;

	snprintf(epath, sizeof(epath), "%s/engine-sync", root);
	snprintf(lpath, sizeof(lpath), "%s/lmdb-sync", root);
	printf("\ndurability: every write on stable storage before it returns; %zu B values, "
	       "%" PRIu64 " writes per row\n", vsize, c->sync_ops);
	printf("%-36s %3s | %12s %8s %8s | %8s\n", "row", "thr", "ops/s", "p50 us", "p99 us",
	       "vs base");

	e.db = open_engine(epath, HKV_SYNC_ALWAYS);
	open_lmdb(lpath, 0, &l.env, &l.dbi);
	l.lmdb = true;
	e.vsize = l.vsize = vsize;
	e.nkeys = l.nkeys = c->keys;
	e.kind = l.kind = OP_SET;
	e.nops = l.nops = c->sync_ops;
	base = 0;
	for (j = 0; j < 2; j++) {
		char b[32];

		l.nthreads = thr[j];
		l.pin = c->pin && thr[j] == 1;
		run_row(&l);
		check(&l, "LMDB fsync");
		if (!base)
			base = rate(&l);
		printf("%-36s %3d | %12s %8.1f %8.1f | %7.2fx\n",
		       j ? "LMDB, fsync per txn" : "LMDB, fsync per txn (baseline)", thr[j],
		       fmt_count(rate(&l), b, sizeof(b)),
		       (double)hist_quantile(&l.hist, 0.5) / 1e3,
		       (double)hist_quantile(&l.hist, 0.99) / 1e3, rate(&l) / base);
		fflush(stdout);
	}
	sum->lmdb_fsync1 = base;
	for (j = 0; j < 2; j++) {
		char b[32];

		e.nthreads = thr[j];
		e.pin = c->pin && thr[j] == 1;
		run_row(&e);
		check(&e, "engine sync=always");
		printf("%-36s %3d | %12s %8.1f %8.1f | %7.2fx\n",
		       j ? "engine sync=always (group commit)" : "engine sync=always", thr[j],
		       fmt_count(rate(&e), b, sizeof(b)),
		       (double)hist_quantile(&e.hist, 0.5) / 1e3,
		       (double)hist_quantile(&e.hist, 0.99) / 1e3, rate(&e) / base);
		fflush(stdout);
		if (j)
			sum->eng_alwaysn = rate(&e);
		else
			sum->eng_always1 = rate(&e);
	}
	hkv_close(e.db);
	mdb_env_close(l.env);
	if (!c->keep) {
		rm_rf(epath);
		rm_rf(lpath);
	}
}

static void usage(FILE *f)
{
	fputs("Usage: hkv-bench engine [OPTIONS]\n"
	      "\n"
	      "The engine's GET, SET and 90/10 mix next to raw LMDB, group commit under\n"
	      "sync=always, and reopen time. Prints a table; see docs/benchmarks.md.\n"
	      "\n"
	      "  --keys N          keys per store (default 1000000)\n"
	      "  --ops N           operations per GET/SET/mix row (default: --keys)\n"
	      "  --value-size B    only this value size (default: 64 and 4096)\n"
	      "  --threads T       threads of the multi-thread rows (default 8)\n"
	      "  --sync-threads T  threads of the group-commit row (default 32)\n"
	      "  --sync-ops N      writes per durability row (default 4000)\n"
	      "  --reopen-runs N   reopen measurements, median reported (default 7)\n"
	      "  --dir D           scratch directory goes under D (default /var/tmp)\n"
	      "  --seed S          seed of keys, values and operation streams (default 42)\n"
	      "  --no-pin          do not pin single-thread rows to CPU 0\n"
	      "  --keep            keep the stores afterwards\n"
	      "  --compress on|off value-log compression (default: the engine's default)\n"
	      "  --inline-max B    values above B bytes go to the value log (default: the engine's)\n"
	      "  --ckpt-ops N      SETs of the checkpoint rows (default 1000000)\n"
	      "  --ckpt-mib M      the engine's memtable budget in the storage rows (default: the\n"
	      "                    engine's)\n"
	      "  --tables LIST     which tables, comma-separated, main always among them: main\n"
	      "                    (load, GET, SET, mix, reopen), storage (sync policies,\n"
	      "                    checkpoints, recovery), sync (durability rows)\n"
	      "                    (default: main,storage,sync)\n"
	      "  --quick           20000 keys, 400 sync writes, 3 reopen runs (smoke test)\n",
	      f);
}

/* "main,storage,sync" (any non-empty subset) into TABLE_* bits. Return: 0, or -1. */
static int parse_tables(const char *s, unsigned *out)
{
	static const char *const names[] = { "main", "storage", "sync" };
	unsigned bits = 0;

	while (*s) {
		size_t n = strcspn(s, ","), i;

		for (i = 0; i < 3; i++)
			if (strlen(names[i]) == n && !strncmp(s, names[i], n))
				break;
		if (i == 3)
			return -1;
		bits |= 1u << i;
		s += n + (s[n] == ',');
	}
	if (!(bits & TABLE_MAIN))
		return -1; /* every other table works on the stores the main table loads */
	*out = bits;
	return 0;
}

int bench_engine_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "ops", required_argument, NULL, 'o' },
		{ "value-size", required_argument, NULL, 'v' },
		{ "threads", required_argument, NULL, 't' },
		{ "sync-threads", required_argument, NULL, 'T' },
		{ "sync-ops", required_argument, NULL, 'S' },
		{ "reopen-runs", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "keep", no_argument, NULL, 'K' },
		{ "quick", no_argument, NULL, 'q' },
		{ "compress", required_argument, NULL, 'c' },
		{ "inline-max", required_argument, NULL, 'i' },
		{ "ckpt-ops", required_argument, NULL, 'C' },
		{ "ckpt-mib", required_argument, NULL, 'M' },
		{ "tables", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg c = {
		.keys = 1000000, .vsizes = { 64, 4096 }, .nvsizes = 2, .threads = 8,
		.sync_threads = 32, .sync_ops = 4000, .reopen_runs = 7, .parent = "/var/tmp",
		.seed = 42, .pin = true, .compress = -1, .ckpt_ops = 1000000,
		.tables = TABLE_MAIN | TABLE_STORAGE | TABLE_SYNC,
	};
	struct summary sum = { 0 };
	bool quick = false, keys_given = false, sops_given = false, runs_given = false;
	bool cops_given = false;
	char root[1024], b1[32], b2[32];
	uint64_t start = now_ns();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int opt, i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end = NULL;
		unsigned long long v = 0;

		if (strchr("kovtTSrsCM", opt)) {
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg || (opt != 's' && !v)) {
				fprintf(stderr, "hkv-bench: bad number '%s'\n", optarg);
				return 2;
			}
		}
		switch (opt) {
		case 'k': c.keys = v; keys_given = true; break;
		case 'o': c.ops = v; break;
		case 'v': c.vsizes[0] = (size_t)v; c.nvsizes = 1; break;
		case 't': c.threads = (int)v; break;
		case 'T': c.sync_threads = (int)v; break;
		case 'S': c.sync_ops = v; sops_given = true; break;
		case 'r': c.reopen_runs = (int)v; runs_given = true; break;
		case 'd': c.parent = optarg; break;
		case 's': c.seed = v; break;
		case 'P': c.pin = false; break;
		case 'K': c.keep = true; break;
		case 'q': quick = true; break;
		case 'C': c.ckpt_ops = v; cops_given = true; break;
		case 'M': c.ckpt_bytes = v << 20; break;
		case 'c':
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "hkv-bench: --compress on|off\n");
				return 2;
			}
			c.compress = !strcmp(optarg, "on");
			break;
		case 'i':
			errno = 0;
			g_inline_max = strtol(optarg, &end, 0);
			if (errno || *end || !*optarg || g_inline_max < 0 || g_inline_max > 65536) {
				fprintf(stderr, "hkv-bench: --inline-max 0..65536\n");
				return 2;
			}
			break;
		case 'B':
			if (parse_tables(optarg, &c.tables)) {
				fprintf(stderr, "hkv-bench: --tables: main, optionally with storage and "
					"sync (e.g. main,storage)\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (quick) {
		if (!keys_given)
			c.keys = 20000;
		if (!sops_given)
			c.sync_ops = 400;
		if (!runs_given)
			c.reopen_runs = 3;
		if (!cops_given)
			c.ckpt_ops = 60000;
		if (!c.ckpt_bytes)
			c.ckpt_bytes = 2ull << 20;
	}
	if (c.vsizes[0] > HKV_VALUE_MAX || c.threads > 1024 || c.sync_threads > 1024) {
		fprintf(stderr, "hkv-bench: value size or thread count out of range\n");
		return 2;
	}
	g_seed = c.seed;
	g_compress = c.compress;
	if (make_data(c.keys, c.nvsizes == 2 ? c.vsizes[1] : c.vsizes[0])) {
		fprintf(stderr, "hkv-bench: out of memory\n");
		return 1;
	}
	if (strlen(c.parent) > sizeof(root) - 32) {
		fprintf(stderr, "hkv-bench: --dir path too long\n");
		return 2;
	}
	snprintf(root, sizeof(root), "%s/hkv-bench.XXXXXX", c.parent);
	if (!mkdtemp(root)) {
		fprintf(stderr, "hkv-bench: mkdtemp %s: %s\n", root, strerror(errno));
		return 1;
	}
	printf("hkv-bench engine: %" PRIu64 " keys of %d B, seed %" PRIu64 ", %ld CPUs online\n",
	       c.keys, KLEN, c.seed, ncpu);
	printf("stores in %s (%s)\n", root, fs_name(root));
	{
		struct hkv_options d;

		hkv_options_init(&d);
		printf("engine options: defaults (inline_max %ld, compress %s level %d, "
		       "segment_size %llu MiB, background thread every %u ms)%s\n",
		       g_inline_max >= 0 ? g_inline_max : (long)d.inline_max,
		       (c.compress >= 0 ? c.compress : d.compress) ? "on" : "off",
		       d.compress_level, (unsigned long long)(d.segment_size >> 20),
		       d.bg_interval_ms, c.compress >= 0 ? " but --compress" : "");
	}
	printf("cpu: %s; multi-thread rows unpinned\n",
	       c.pin ? "1-thread rows pinned to CPU 0" : "no pinning");
	printf("main table: engine sync=none vs LMDB MDB_NOSYNC; latency per op, p50/p99 in us;"
	       " eng/LMDB = throughput ratio\n");
	fflush(stdout);

	for (i = 0; i < c.nvsizes; i++)
		bench_size(&c, root, c.vsizes[i], i == 0, &sum);
	if (c.tables & TABLE_SYNC)
		bench_sync(&c, root, &sum);

	printf("\nsummary (targets of docs/benchmarks.md, engine section)\n");
	printf("  SET sync=none, 1 thread, %zu B: %s/s (target >= 500,000/s); %d threads %s/s\n",
	       c.vsizes[0], fmt_count(sum.set1, b1, sizeof(b1)), c.threads,
	       fmt_count(sum.setn, b2, sizeof(b2)));
	if (c.tables & TABLE_STORAGE)
		printf("  SET sync=everysec / sync=none, 1 thread: %.2fx (target >= 0.90x)\n",
		       sum.set_none > 0 ? sum.set_everysec / sum.set_none : 0);
	if (c.tables & TABLE_SYNC)
		printf("  sync=always: engine %d threads / LMDB fsync-per-txn 1 thread = %.1fx; "
		       "/ engine 1 thread = %.1fx (target 10x LMDB)\n", c.sync_threads,
		       sum.lmdb_fsync1 > 0 ? sum.eng_alwaysn / sum.lmdb_fsync1 : 0,
		       sum.eng_always1 > 0 ? sum.eng_alwaysn / sum.eng_always1 : 0);
	if (c.tables & TABLE_STORAGE) {
		printf("  open after a clean close: %.2f ms (target < 50 ms); after a crash with a "
		       "full memtable to replay: %.2f ms (target < 500 ms)\n", sum.open_clean_ms,
		       sum.open_crash_ms);
		printf("  checkpoint: %.2f us per index record; SET p99 %.1f us with %" PRIu64
		       " checkpoints running vs %.1f us without (max %.0f vs %.0f us)\n",
		       sum.ckpt_us_per_rec, sum.p99_ckpt, sum.ckpts_during, sum.p99_nockpt,
		       sum.max_ckpt, sum.max_nockpt);
	}
	printf("  reopen %" PRIu64 " keys (hkv_open + hkv_close): %.2f ms median\n", c.keys,
	       sum.reopen_ms);
	printf("  total time %.1f s\n", (double)(now_ns() - start) / 1e9);
	if (!c.keep)
		rm_rf(root);
	free(g_keys);
	free(g_vals);
	return 0;
}
