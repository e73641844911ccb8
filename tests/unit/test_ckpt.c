// SPDX-License-Identifier: MIT
/*
 * test_ckpt.c - the storage design of docs/engine-storage.md: writes in memtables and the
 * log, checkpoints into LMDB, replay at open.
 *
 *  - the merged view: with the checkpointer held at its first step, frozen memtables pile up
 *    (the active one and two frozen), and every read — point reads, SCAN in both directions
 *    of a zset, collection walks, deletes hiding older versions in older memtables and in
 *    LMDB — must match a model, before and after the checkpoints run;
 *  - replay: a process that dies without closing leaves its writes in the log; the next open
 *    replays them (and a clean close leaves nothing to replay);
 *  - a failed commit of a checkpoint (a flush of the index) is final: writes stop, reads go on
 *    from the memtables, a reopen replays the log;
 *  - readers never see part of a write: a key renamed back and forth is always found exactly
 *    once by a SCAN, while checkpoints run all the time;
 *  - key order of the memtable, whose skiplists are filled only when a walk needs them (mem.c,
 *    "Order"): small and large batches of pending keys, merged into a skiplist that already
 *    holds keys, SCANs that resume while keys are added, and a write group too large for the
 *    hash index (lookups then go through the skiplists): SCAN and GET must match a model.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "teststore.h"
#include "hkv_int.h"
#include "mem_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "ckpt", 64, 1 << 20);
}

static void gate_set(bool closed);

static int teardown(void **state)
{
	int rc;

	/* the store's threads read the hooks until it is closed: close it first */
	gate_set(false);
	rc = test_store_teardown(state);
	ckpt_test_hook = NULL;
	ckpt_test_commit_fault = NULL;
	wtx_test_reserve = 0;
	wtx_test_rotate_hook = NULL;
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Holding the checkpointer
 */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static int gate_waiting;

static void gate_hook(struct hkv *db, enum ckpt_stage stage)
{
	(void)db;
	if (stage != CKPT_STAGE_SYNCED)
		return;
	pthread_mutex_lock(&gate_lock);
	gate_waiting++;
	pthread_cond_broadcast(&gate_cond);
	while (gate_closed)
		pthread_cond_wait(&gate_cond, &gate_lock);
	gate_waiting--;
	pthread_mutex_unlock(&gate_lock);
}

static void gate_set(bool closed)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* Freeze the active memtable (the next write group does it) without waiting for the result. */
static void freeze(struct hkv *db)
{
	atomic_store(&db->freeze_req, true);
	assert_int_equal(hkv_set(db, "~freeze", 7, "x", 1, NULL), 1);
}

static int view_size(struct hkv *db)
{
	return atomic_load(&db->view)->n;
}

/* ---------------------------------------------------------------------------------------
 * The merged view against a model
 */

enum { NK = 64, NM = 48 };

struct model {
	int str[NK];       /* generation, -1 absent */
	int hash[NM];      /* field value generation, -1 absent */
	double zs[NM];     /* score, NAN absent */
	bool zin[NM];
};

static void kname(char *out, int i)
{
	snprintf(out, 16, "k%03d", i);
}

static void mname(char *out, int i)
{
	snprintf(out, 16, "m%03d", i);
}

/* Value of generation @g: inline for even g, in the value log for odd g. */
static size_t vfill(char *buf, int i, int g)
{
	size_t n = g % 2 ? 100 + (size_t)(i * 7 + g) % 200 : (size_t)(i + g) % 40;

	for (size_t j = 0; j < n; j++)
		buf[j] = (char)('a' + (i * 31 + g * 17 + (int)j) % 26);
	return n;
}

/* @n random operations on @db and the model; with @db NULL, on the model alone. */
static void random_ops(struct hkv *db, struct model *m, uint64_t *seed, int n)
{
	char key[16], mem[16], buf[400];

	for (int k = 0; k < n; k++) {
		uint64_t r = test_rng(seed);
		int i = (int)(r % NK), j = (int)((r >> 16) % NM), op = (int)((r >> 32) % 10);

		kname(key, i);
		mname(mem, j);
		if (op < 4) {
			int g = m->str[i] + 1 + (int)(r >> 40) % 3;
			size_t len = vfill(buf, i, g);

			if (db)
				assert_int_equal(hkv_set(db, key, strlen(key), buf, len, NULL), 1);
			m->str[i] = g;
		} else if (op < 5) {
			if (db)
				assert_int_equal(hkv_del(db, key, strlen(key)), m->str[i] >= 0);
			m->str[i] = -1;
		} else if (op < 7) {
			int g = m->hash[j] + 1;
			size_t len = vfill(buf, j, g);

			if (db)
				assert_int_equal(hkv_hset(db, "H", 1, mem, strlen(mem), buf, len,
							  NULL), m->hash[j] < 0);
			m->hash[j] = g;
		} else if (op < 8) {
			if (db)
				assert_int_equal(hkv_hdel(db, "H", 1, mem, strlen(mem)),
						 m->hash[j] >= 0);
			m->hash[j] = -1;
		} else if (op < 9) {
			double sc = (double)((r >> 24) % 50) - 25;

			if (db)
				assert_true(hkv_zadd(db, "Z", 1, sc, mem, strlen(mem), 0, NULL,
						     NULL) >= 0);
			m->zs[j] = sc;
			m->zin[j] = true;
		} else {
			if (db)
				assert_int_equal(hkv_zrem(db, "Z", 1, mem, strlen(mem)), m->zin[j]);
			m->zin[j] = false;
		}
	}
}

struct scan_acc {
	int n;
	char keys[NK + 8][16];
};

static int scan_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool pre)
{
	struct scan_acc *a = arg;

	(void)type;
	(void)pre;
	assert_true(klen < 16 && a->n < NK + 8);
	memcpy(a->keys[a->n], key, klen);
	a->keys[a->n][klen] = 0;
	a->n++;
	return 0;
}

struct zacc {
	int n;
	char mem[NM][16];
	double score[NM];
};

static int z_cb(void *arg, const void *member, size_t mlen, double score)
{
	struct zacc *a = arg;

	assert_true(mlen < 16 && a->n < NM);
	memcpy(a->mem[a->n], member, mlen);
	a->mem[a->n][mlen] = 0;
	a->score[a->n] = score;
	a->n++;
	return 0;
}

/* Members of the model's zset in ZRANGE order (score, then bytes). */
static int model_zorder(const struct model *m, int *order)
{
	int n = 0;

	for (int j = 0; j < NM; j++)
		if (m->zin[j])
			order[n++] = j;
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0; b--) {
			int x = order[b - 1], y = order[b];

			if (m->zs[x] < m->zs[y] || (m->zs[x] == m->zs[y] && x < y))
				break;
			order[b - 1] = y;
			order[b] = x;
		}
	return n;
}

static void check_model(struct hkv *db, const struct model *m)
{
	char key[16], buf[400], mem[16];
	struct hkv_cursor cur;
	struct scan_acc acc = { 0 };
	struct hkv_scan_opts so = { .count = 7, .prefix = "k", .prefix_len = 1 };
	struct hkv_zrange_opts zo = { .start = 0, .stop = -1, .limit = -1 };
	struct zacc fwd = { 0 }, rev = { 0 };
	int order[NM], nz, expect = 0, hn = 0;

	for (int i = 0; i < NK; i++) {
		struct hkv_buf b;

		kname(key, i);
		if (m->str[i] < 0) {
			assert_int_equal(hkv_get(db, key, strlen(key), &b), -ENOENT);
			continue;
		}
		assert_int_equal(hkv_get(db, key, strlen(key), &b), 0);
		assert_int_equal(b.len, vfill(buf, i, m->str[i]));
		assert_memory_equal(b.data, buf, b.len);
		hkv_buf_release(&b);
		expect++;
	}
	/* SCAN in small steps: every live key once, in order */
	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_scan(db, &cur, &so, scan_cb, &acc) >= 0);
	assert_int_equal(acc.n, expect);
	for (int i = 0, k = 0; i < NK; i++) {
		if (m->str[i] < 0)
			continue;
		kname(key, i);
		assert_string_equal(acc.keys[k++], key);
	}
	/* the hash: every field, and no removed one */
	for (int j = 0; j < NM; j++) {
		struct hkv_buf b;

		mname(mem, j);
		if (m->hash[j] < 0) {
			assert_int_equal(hkv_hexists(db, "H", 1, mem, strlen(mem)), 0);
			continue;
		}
		assert_int_equal(hkv_hget(db, "H", 1, mem, strlen(mem), &b), 0);
		assert_int_equal(b.len, vfill(buf, j, m->hash[j]));
		assert_memory_equal(b.data, buf, b.len);
		hkv_buf_release(&b);
		hn++;
	}
	{
		int cnt = 0;

		assert_int_equal(hkv_hgetall(db, "H", 1, test_count_elem, &cnt), 0);
		assert_int_equal(cnt, hn);
		assert_int_equal(hkv_hlen(db, "H", 1), hn);
	}
	/* the zset in both directions */
	nz = model_zorder(m, order);
	assert_int_equal(hkv_zcard(db, "Z", 1), nz);
	assert_int_equal(hkv_zrange(db, "Z", 1, &zo, z_cb, &fwd), 0);
	zo.rev = true;
	assert_int_equal(hkv_zrange(db, "Z", 1, &zo, z_cb, &rev), 0);
	assert_int_equal(fwd.n, nz);
	assert_int_equal(rev.n, nz);
	for (int k = 0; k < nz; k++) {
		mname(mem, order[k]);
		assert_string_equal(fwd.mem[k], mem);
		assert_true(fwd.score[k] == m->zs[order[k]]);
		assert_string_equal(rev.mem[nz - 1 - k], mem);
		assert_int_equal(hkv_zrank(db, "Z", 1, mem, strlen(mem), false), k);
	}
}

static void model_init(struct model *m)
{
	for (int i = 0; i < NK; i++)
		m->str[i] = -1;
	for (int j = 0; j < NM; j++) {
		m->hash[j] = -1;
		m->zin[j] = false;
	}
}

static void test_merged_view(void **state)
{
	struct test_store *f = *state;
	struct model m;
	uint64_t seed = 42, nkeys;
	struct hkv_stats st;

	model_init(&m);
	ckpt_test_hook = gate_hook;
	test_store_open(f);
	/* a base in LMDB */
	random_ops(f->db, &m, &seed, 300);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	check_model(f->db, &m);
	/* hold the checkpointer: memtables pile up over the base */
	gate_set(true);
	for (int round = 0; round < 3; round++) {
		random_ops(f->db, &m, &seed, 150);
		check_model(f->db, &m);
		if (view_size(f->db) < MVIEW_MAX)
			freeze(f->db);
	}
	assert_int_equal(view_size(f->db), MVIEW_MAX);
	random_ops(f->db, &m, &seed, 150);
	check_model(f->db, &m);
	/* let the checkpoints through, then everything into LMDB */
	gate_set(false);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(view_size(f->db), 1);
	check_model(f->db, &m);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_true(st.checkpoints >= 3);
	nkeys = 1 /* ~freeze */ + hkv_exists(f->db, "H", 1) + hkv_exists(f->db, "Z", 1);
	for (int i = 0; i < NK; i++)
		nkeys += m.str[i] >= 0;
	assert_int_equal(st.keys, nkeys);
	test_store_reopen(f);
	check_model(f->db, &m);
}

/* ---------------------------------------------------------------------------------------
 * Replay
 */

/*
 * A process that opens the store, runs @n random operations after the model @m and @seed
 * (both left unchanged here) and dies without closing: its writes are only in the log.
 */
static void die_after_ops(struct test_store *f, const struct model *m, uint64_t seed, int n)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		struct hkv *db = test_open(f->dir, &f->opt);
		struct model cm = *m;

		random_ops(db, &cm, &seed, n);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_replay(void **state)
{
	struct test_store *f = *state;
	struct model m;
	uint64_t seed = 7;
	struct hkv_stats st;

	model_init(&m);
	f->opt.sync = HKV_SYNC_NONE;
	test_store_open(f);
	random_ops(f->db, &m, &seed, 200);
	test_store_reopen(f);
	/* a clean close leaves nothing to replay */
	assert_int_equal(atomic_load(&f->db->view)->mem[0]->nodes, 0);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;

	/* a process that writes and dies without closing (and without a checkpoint) */
	die_after_ops(f, &m, seed, 400);
	test_store_open(f);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.checkpoints, 0);
	assert_true(atomic_load(&f->db->view)->mem[0]->nodes > 100); /* replayed, in memory */
	/*
	 * The model after the child's operations: the same operations (they are a function of
	 * model and seed) run again on a scratch store brought to the same state.
	 */
	{
		char *dir2 = test_mkdtemp("ckpt-model");
		struct model tmp;
		uint64_t s2 = 7;
		struct hkv *db2;

		assert_non_null(dir2);
		db2 = test_open(dir2, &f->opt);
		model_init(&tmp);
		random_ops(db2, &tmp, &s2, 200);
		assert_int_equal(s2, seed);
		random_ops(db2, &m, &seed, 400);
		hkv_close(db2);
		test_rmrf(dir2);
		free(dir2);
	}
	check_model(f->db, &m);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	check_model(f->db, &m);
	test_store_reopen(f);
	check_model(f->db, &m);
}

/* ---------------------------------------------------------------------------------------
 * A failed commit of a checkpoint
 */

static int fail_eio(struct hkv *db)
{
	(void)db;
	return -EIO;
}

static void test_index_flush_fails(void **state)
{
	struct test_store *f = *state;
	struct model m;
	uint64_t seed = 99;
	struct hkv_stats st;

	model_init(&m);
	f->opt.sync = HKV_SYNC_ALWAYS;
	test_store_open(f);
	random_ops(f->db, &m, &seed, 200);
	ckpt_test_commit_fault = fail_eio;
	assert_int_equal(hkv_checkpoint(f->db), -EIO);
	ckpt_test_commit_fault = NULL;
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.flush_error, -EIO);
	/* writes refused, reads served from the memtables */
	assert_int_equal(hkv_set(f->db, "new", 3, "v", 1, NULL), -HKV_ESTOPPED);
	assert_int_equal(hkv_checkpoint(f->db), -HKV_ESTOPPED);
	check_model(f->db, &m);
	assert_int_equal(hkv_close(f->db), -HKV_ESTOPPED);
	/* the log holds every acknowledged write */
	test_store_open(f);
	check_model(f->db, &m);
	assert_int_equal(hkv_set(f->db, "new", 3, "v", 1, NULL), 1);
}

/* ---------------------------------------------------------------------------------------
 * Opening to read writes nothing; versions and ids only grow
 */

#define SNAP_MAX 16

/* The store's data files (the index and the log segments) as they are on disk. */
struct fsnap {
	int n;
	struct {
		char name[64];
		struct stat st;
		unsigned char *data;
	} f[SNAP_MAX];
};

static void snap_file(struct fsnap *s, const char *dir, const char *name)
{
	char path[512];
	FILE *fp;

	assert_true(s->n < SNAP_MAX);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(s->f[s->n].name, sizeof(s->f[s->n].name), "%s", name);
	assert_int_equal(stat(path, &s->f[s->n].st), 0);
	s->f[s->n].data = malloc(s->f[s->n].st.st_size + 1);
	assert_non_null(s->f[s->n].data);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(s->f[s->n].data, 1, s->f[s->n].st.st_size, fp),
			 (size_t)s->f[s->n].st.st_size);
	fclose(fp);
	s->n++;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* index/data.mdb and every vlog/NNNNNNNN.seg, in name order (not LOCK or LMDB's lock.mdb). */
static void snap_take(struct fsnap *s, const char *dir)
{
	char vdir[512], *names[SNAP_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	s->n = 0;
	snprintf(vdir, sizeof(vdir), "%s/vlog", dir);
	snap_file(s, dir, "index/data.mdb");
	d = opendir(vdir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".seg"))
			continue;
		assert_true(n < SNAP_MAX - 1);
		names[n] = malloc(strlen("vlog/") + strlen(e->d_name) + 1);
		assert_non_null(names[n]);
		sprintf(names[n++], "vlog/%s", e->d_name);
	}
	closedir(d);
	assert_true(n > 0);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (int i = 0; i < n; i++) {
		snap_file(s, dir, names[i]);
		free(names[i]);
	}
}

static void snap_free(struct fsnap *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->f[i].data);
	s->n = 0;
}

/* The same files, the same sizes, the same bytes, and not written to (mtime). */
static void snap_assert_same(const struct fsnap *a, const struct fsnap *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_string_equal(a->f[i].name, b->f[i].name);
		assert_int_equal(a->f[i].st.st_size, b->f[i].st.st_size);
		assert_int_equal(a->f[i].st.st_mtim.tv_sec, b->f[i].st.st_mtim.tv_sec);
		assert_int_equal(a->f[i].st.st_mtim.tv_nsec, b->f[i].st.st_mtim.tv_nsec);
		assert_memory_equal(a->f[i].data, b->f[i].data, a->f[i].st.st_size);
	}
}

static bool snap_same(const struct fsnap *a, const struct fsnap *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->f[i].name, b->f[i].name) || a->f[i].st.st_size != b->f[i].st.st_size ||
		    memcmp(a->f[i].data, b->f[i].data, a->f[i].st.st_size))
			return false;
	return true;
}

/* Open, read every key of the model, close: nothing written, nothing of the files changed. */
static void read_only_cycle(struct test_store *f, const struct model *m)
{
	struct fsnap before, after;
	struct hkv_stats st;

	snap_take(&before, f->dir);
	test_store_open(f);
	check_model(f->db, m);
	/* the background thread (expiry sweep, compaction check) runs a few rounds meanwhile */
	while (atomic_load(&f->db->bg_rounds) < 3)
		sched_yield();
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.commits, 0);
	assert_int_equal(st.writes, 0);
	assert_int_equal(st.syncs, 0);
	assert_int_equal(st.checkpoints, 0);
	assert_int_equal(atomic_load(&f->db->view)->mem[0]->nodes, 0); /* nothing replayed */
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	snap_take(&after, f->dir);
	snap_assert_same(&before, &after);
	snap_free(&before);
	snap_free(&after);
}

static void test_read_only_open_writes_nothing(void **state)
{
	struct test_store *f = *state;
	struct fsnap before, after;
	struct model m;
	uint64_t seed = 5;

	model_init(&m);
	/* strings inline and in the log, hashes, sets, zsets, deletes; the background thread on */
	f->opt.bg_interval_ms = 1;
	test_store_open(f);
	random_ops(f->db, &m, &seed, 300);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	for (int i = 0; i < 3; i++)
		read_only_cycle(f, &m);

	/* a process that writes and dies: the next open replays, and its close checkpoints */
	die_after_ops(f, &m, seed, 100);
	random_ops(NULL, &m, &seed, 100);
	snap_take(&before, f->dir);
	test_store_open(f);
	assert_true(atomic_load(&f->db->view)->mem[0]->nodes > 0);
	check_model(f->db, &m);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	snap_take(&after, f->dir);
	assert_false(snap_same(&before, &after)); /* the replayed writes went into the index */
	snap_free(&before);
	snap_free(&after);
	/* and from then on, reading writes nothing again */
	for (int i = 0; i < 2; i++)
		read_only_cycle(f, &m);
}

/*
 * Versions and ids after reopening. The counters' reservation is raised every 3 numbers
 * (wtx_test_reserve), so nearly every write crosses one, and the stores below are reopened
 * after a clean close, after opens that only read, after a process died (kill -9: the page
 * cache survives) and after a simulated power loss that takes every unflushed byte of the log:
 * each time, every version and id handed out afterwards is above every one in the store, and
 * above every one acknowledged durably before.
 */

#define VK 10

struct vrec {
	uint64_t version, id;
};

/* Write "<prefix><i>" for i in [from, to) one by one; the versions and ids they got. */
static void vwrite(struct hkv *db, const char *prefix, int from, int to, struct vrec *out)
{
	char key[32];
	struct hkv_attr a;

	for (int i = from; i < to; i++) {
		int n = snprintf(key, sizeof(key), "%s%d", prefix, i);

		assert_int_equal(hkv_set(db, key, (size_t)n, "v", 1, NULL), 1);
		assert_int_equal(hkv_attr_get(db, key, (size_t)n, &a), 0);
		out[i].version = a.version;
		out[i].id = a.id;
	}
}

/* The largest version and id of any key in the store. */
static void vmax(struct hkv *db, struct vrec *max)
{
	struct scan_acc acc = { 0 };
	struct hkv_cursor cur;
	struct hkv_scan_opts so = { .count = 1000 };
	struct hkv_attr a;

	*max = (struct vrec){ 0, 0 };
	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_scan(db, &cur, &so, scan_cb, &acc) >= 0);
	for (int i = 0; i < acc.n; i++) {
		assert_int_equal(hkv_attr_get(db, acc.keys[i], strlen(acc.keys[i]), &a), 0);
		if (a.version > max->version)
			max->version = a.version;
		if (a.id > max->id)
			max->id = a.id;
	}
}

/*
 * Open; every version and id handed out from now on is above @floor (and in order). Writes
 * and deletes keys, raises @floor to what it handed out, and closes the store cleanly.
 */
static void assert_counts_above(struct test_store *f, struct vrec *floor)
{
	struct vrec now, got[3];

	test_store_open(f);
	vmax(f->db, &now);
	assert_true(now.version <= floor->version && now.id <= floor->id);
	assert_true(hkv_version(f->db) >= floor->version);
	vwrite(f->db, "n", 0, 3, got);
	for (int i = 0; i < 3; i++) {
		assert_true(got[i].version > floor->version && got[i].id > floor->id);
		assert_true(i == 0 || (got[i].version > got[i - 1].version &&
				       got[i].id > got[i - 1].id));
	}
	/* the next round's keys are new again */
	for (int i = 0; i < 3; i++) {
		char key[8];
		int n = snprintf(key, sizeof(key), "n%d", i);

		assert_int_equal(hkv_del(f->db, key, (size_t)n), 1);
	}
	floor->version = hkv_version(f->db);
	floor->id = got[2].id;
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
}

static void vfloor(struct vrec *floor, const struct vrec *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].version > floor->version)
			floor->version = r[i].version;
		if (r[i].id > floor->id)
			floor->id = r[i].id;
	}
}

/* Cut every segment to its size in @l and remove those not in it: a power loss's log. */
static void vlog_cut(const char *dir, const struct test_seglist *l)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/vlog", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		unsigned id;
		size_t i;

		if (sscanf(e->d_name, "%8x.seg", &id) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/vlog/%s", dir, e->d_name);
		for (i = 0; i < l->n && l->s[i].id != id; i++)
			;
		if (i == l->n)
			assert_int_equal(unlink(path), 0);
		else
			assert_int_equal(truncate(path, (off_t)l->s[i].bytes), 0);
	}
	closedir(d);
}

enum vend {
	V_CLOSE, /* a clean close */
	V_DIE,   /* sync=always, the process dies: the page cache keeps everything */
	V_POWER, /* sync=none, a flush, more writes, then a power loss takes what followed it */
};

/*
 * Write @k new keys, end as @how says, and check that every version and id handed out after
 * the reopen is above every one in the store and every one acknowledged durably.
 */
static void vphase(struct test_store *f, enum vend how, int k, struct vrec *floor)
{
	struct vrec r[2 * VK];
	struct test_seglist l;
	char prefix[8];
	int status, p[2];
	pid_t pid;

	assert_true(k <= VK);
	snprintf(prefix, sizeof(prefix), "%c%d-", "cdp"[how], k);
	f->opt.sync = how == V_DIE ? HKV_SYNC_ALWAYS : HKV_SYNC_NONE;
	if (how == V_CLOSE) {
		test_store_open(f);
		vwrite(f->db, prefix, 0, k, r);
		assert_int_equal(hkv_close(f->db), 0);
		f->db = NULL;
		vfloor(floor, r, k);
		assert_counts_above(f, floor);
		return;
	}
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct hkv *db = test_open(f->dir, &f->opt);

		close(p[0]);
		for (int i = 0; i < k; i++) {
			vwrite(db, prefix, i, i + 1, r);
			/* acknowledged (under always: durable): tell the parent */
			assert_int_equal(write(p[1], &r[i], sizeof(r[i])), (ssize_t)sizeof(r[i]));
		}
		if (how == V_POWER) {
			assert_int_equal(hkv_sync(db), 0);
			test_segments(db, &l);
			assert_int_equal(write(p[1], &l, sizeof(l)), (ssize_t)sizeof(l));
			vwrite(db, prefix, k, 2 * k, r);
		}
		_exit(0);
	}
	close(p[1]);
	for (int i = 0; i < k; i++)
		assert_int_equal(read(p[0], &r[i], sizeof(r[i])), (ssize_t)sizeof(r[i]));
	if (how == V_POWER)
		assert_int_equal(read(p[0], &l, sizeof(l)), (ssize_t)sizeof(l));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (how == V_POWER)
		vlog_cut(f->dir, &l);
	test_store_open(f);
	for (int i = 0; i < (how == V_POWER ? 2 * k : k); i++) {
		char key[16];
		int n = snprintf(key, sizeof(key), "%s%d", prefix, i);
		struct hkv_attr a;

		/* the durable writes are there with their versions; under V_POWER no later one */
		if (i < k) {
			assert_int_equal(hkv_attr_get(f->db, key, (size_t)n, &a), 0);
			assert_true(a.version == r[i].version && a.id == r[i].id);
		} else {
			assert_int_equal(hkv_attr_get(f->db, key, (size_t)n, &a), -ENOENT);
		}
	}
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	vfloor(floor, r, k);
	assert_counts_above(f, floor);
}

static void test_versions_after_reopen(void **state)
{
	struct test_store *f = *state;
	struct vrec floor = { 0, 0 };

	wtx_test_reserve = 3;
	f->opt.ckpt_interval_ms = 0; /* no checkpoint unless asked for */
	/* every count of writes modulo the reservation step, before every kind of end */
	for (int k = 1; k <= 4; k++) {
		for (enum vend how = V_CLOSE; how <= V_POWER; how++) {
			vphase(f, how, k, &floor);
			/* an open that only reads changes nothing */
			test_store_open(f);
			assert_int_equal(hkv_close(f->db), 0);
			f->db = NULL;
			assert_counts_above(f, &floor);
		}
	}
	/* and after a checkpoint of all of it */
	test_store_open(f);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	vmax(f->db, &floor);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	assert_counts_above(f, &floor);
}

/* ---------------------------------------------------------------------------------------
 * Readers see whole writes while checkpoints run
 */

struct flip {
	struct hkv *db;
	atomic_bool stop;
	atomic_long seen;
};

static void *flip_reader(void *arg)
{
	struct flip *fl = arg;
	struct hkv_scan_opts so = { .count = 100, .prefix = "flip-", .prefix_len = 5 };

	while (!atomic_load(&fl->stop)) {
		struct hkv_cursor cur;
		int n = 0;

		hkv_cursor_init(&cur);
		/* one call, one transaction: the renamed key is there exactly once */
		assert_true(hkv_scan(fl->db, &cur, &so, test_count_key, &n) >= 0);
		assert_true(cur.done);
		assert_int_equal(n, 1);
		atomic_fetch_add(&fl->seen, 1);
	}
	return NULL;
}

static void *ckpt_loop(void *arg)
{
	struct flip *fl = arg;

	while (!atomic_load(&fl->stop))
		assert_int_equal(hkv_checkpoint(fl->db), 0);
	return NULL;
}

static void test_readers_see_whole_writes(void **state)
{
	struct test_store *f = *state;
	struct flip fl = { 0 };
	pthread_t r[2], c;
	char big[300];

	f->opt.ckpt_bytes = 1 << 20;
	test_store_open(f);
	fl.db = f->db;
	memset(big, 'b', sizeof(big));
	assert_int_equal(hkv_set(f->db, "flip-a", 6, big, sizeof(big), NULL), 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&r[i], NULL, flip_reader, &fl), 0);
	assert_int_equal(pthread_create(&c, NULL, ckpt_loop, &fl), 0);
	for (int i = 0; i < 3000; i++) {
		const char *from = i % 2 ? "flip-b" : "flip-a", *to = i % 2 ? "flip-a" : "flip-b";

		assert_int_equal(hkv_rename(f->db, from, 6, to, 6, 0), 0);
	}
	atomic_store(&fl.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	pthread_join(c, NULL);
	assert_true(atomic_load(&fl.seen) > 0);
}

/* ---------------------------------------------------------------------------------------
 * The leader's look at the current view while the checkpointer installs a new one
 */

static bool race_installed, race_armed;

static void race_ckpt_hook(struct hkv *db, enum ckpt_stage stage)
{
	gate_hook(db, stage);
	if (stage != CKPT_STAGE_INSTALLED)
		return;
	pthread_mutex_lock(&gate_lock);
	race_installed = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* in mem_rotate(), holding the view it took: let the checkpointer retire it meanwhile */
static void race_rotate_hook(struct hkv *db)
{
	(void)db;
	if (!race_armed)
		return;
	race_armed = false;
	gate_set(false);
	pthread_mutex_lock(&gate_lock);
	while (!race_installed)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

static void *race_checkpoint(void *arg)
{
	assert_int_equal(hkv_checkpoint(arg), 0);
	return NULL;
}

/*
 * The write leader decides whether to freeze the active memtable from the current view
 * without the checkpointer's lock. The checkpointer, finishing a frozen memtable, installs a
 * view without it and frees the old one once no hazard pointer holds it: the leader's look
 * must hold one (under AddressSanitizer, reading a freed view aborts the test).
 */
static void test_rotate_check_during_install(void **state)
{
	struct test_store *f = *state;
	struct hkv_buf v = { 0 };
	pthread_t t;

	race_installed = false;
	race_armed = false;
	gate_set(true);
	ckpt_test_hook = race_ckpt_hook;
	wtx_test_rotate_hook = race_rotate_hook;
	test_store_open(f);
	assert_int_equal(hkv_set(f->db, "before", 6, "1", 1, NULL), 1);
	/* a frozen memtable; the checkpointer holds at the gate before applying it */
	assert_int_equal(pthread_create(&t, NULL, race_checkpoint, f->db), 0);
	pthread_mutex_lock(&gate_lock);
	while (!gate_waiting)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	assert_int_equal(view_size(f->db), 2);
	/* this write's leader opens the gate from inside mem_rotate() and waits for the install */
	race_armed = true;
	assert_int_equal(hkv_set(f->db, "after", 5, "2", 1, NULL), 1);
	assert_false(race_armed);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(race_installed);
	assert_int_equal(view_size(f->db), 1);
	assert_int_equal(hkv_get(f->db, "before", 6, &v), 0);
	assert_memory_equal(v.data, "1", 1);
	hkv_buf_release(&v);
	assert_int_equal(hkv_get(f->db, "after", 5, &v), 0);
	assert_memory_equal(v.data, "2", 1);
	hkv_buf_release(&v);
}

/* ---------------------------------------------------------------------------------------
 * Key order of pending memtable nodes
 */

enum { OK_N = 3000, OK_BIG = 13000 };

struct okeys {
	char (*k)[16];
	size_t n, cap;
};

static int okeys_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool pre)
{
	struct okeys *a = arg;

	(void)type;
	(void)pre;
	assert_true(klen < 16 && a->n < a->cap);
	memcpy(a->k[a->n], key, klen);
	a->k[a->n][klen] = 0;
	a->n++;
	return 0;
}

static int okeys_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void oname(char *out, uint32_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
	/* random order; distinct for every i used here (a repeat would fail check_order()) */
	snprintf(out, 16, "o%08x", (uint32_t)(x >> 32));
}

/*
 * The keys of the store, by SCAN in steps of @count, must be exactly the present ones of
 * @have[0..@n) (oname()) plus @extra[0..@nextra), in byte order; each of them reads back.
 */
static void check_order(struct hkv *db, const bool *have, size_t n, char (*extra)[16],
			size_t nextra, size_t count)
{
	struct okeys got = { malloc((n + nextra + 1) * 16), 0, n + nextra + 1 };
	char (*want)[16] = malloc((n + nextra + 1) * 16);
	struct hkv_scan_opts so = { .count = count };
	struct hkv_cursor cur;
	size_t w = 0;

	assert_non_null(got.k);
	assert_non_null(want);
	for (size_t i = 0; i < n; i++)
		if (have[i])
			oname(want[w++], (uint32_t)i);
	for (size_t i = 0; i < nextra; i++)
		memcpy(want[w++], extra[i], 16);
	/* point reads first: a SCAN would put every pending key into the skiplists */
	for (size_t i = 0; i < w; i++) {
		struct hkv_buf b;

		assert_int_equal(hkv_get(db, want[i], strlen(want[i]), &b), 0);
		assert_int_equal(b.len, strlen(want[i]));
		assert_memory_equal(b.data, want[i], b.len);
		hkv_buf_release(&b);
	}
	qsort(want, w, 16, okeys_cmp);
	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_scan(db, &cur, &so, okeys_cb, &got) >= 0);
	assert_int_equal(got.n, w);
	for (size_t i = 0; i < w; i++)
		assert_string_equal(got.k[i], want[i]);
	free(got.k);
	free(want);
}

static void oset(struct hkv *db, bool *have, uint32_t i)
{
	char k[16];

	oname(k, i);
	assert_int_equal(hkv_set(db, k, strlen(k), k, strlen(k), NULL), 1);
	have[i] = true;
}

struct big_arg {
	char (*k)[16];
	size_t n;
};

static int big_txn(struct hkv *tx, void *arg)
{
	struct big_arg *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (hkv_set(tx, a->k[i], strlen(a->k[i]), a->k[i], strlen(a->k[i]), NULL) != 1)
			return -EIO;
	return 0;
}

static void test_pending_order(void **state)
{
	struct test_store *f = *state;
	bool *have = calloc(OK_N, sizeof(*have));
	struct big_arg big = { malloc(OK_BIG * 16), OK_BIG };
	struct okeys part = { malloc(OK_N * 16), 0, OK_N };
	struct hkv_scan_opts so = { .count = 5 };
	struct hkv_cursor cur;
	uint64_t seed = 7;
	char late[1][16] = { "p~late" };

	assert_non_null(have);
	assert_non_null(big.k);
	assert_non_null(part.k);
	ckpt_test_hook = gate_hook;
	f->opt.ckpt_bytes = 1 << 20; /* a hash index of at most 16384 slots (mem_buckets()) */
	test_store_open(f);
	gate_set(true); /* everything below stays in memtables until the end */
	/* a small batch, then a large one merged into a skiplist that holds the first */
	for (uint32_t i = 0; i < 40; i++)
		oset(f->db, have, i);
	check_order(f->db, have, OK_N, NULL, 0, 1000);
	check_order(f->db, have, OK_N, NULL, 0, 7);
	for (uint32_t i = 40; i < 2000; i++)
		oset(f->db, have, i);
	check_order(f->db, have, OK_N, NULL, 0, 1000);
	/* a SCAN in small steps, resumed while keys are added and deleted between its steps */
	hkv_cursor_init(&cur);
	for (uint32_t i = 2000; !cur.done; i++) {
		assert_true(hkv_scan(f->db, &cur, &so, okeys_cb, &part) >= 0);
		uint32_t d = (uint32_t)(test_rng(&seed) % OK_N);
		char k[16];

		if (i < OK_N)
			oset(f->db, have, i);
		oname(k, d);
		assert_int_equal(hkv_del(f->db, k, strlen(k)), have[d]);
		have[d] = false;
	}
	/* keys there from start to end were all reported, once each, in order */
	for (size_t i = 1; i < part.n; i++)
		assert_true(strcmp(part.k[i - 1], part.k[i]) < 0);
	check_order(f->db, have, OK_N, NULL, 0, 1000);
	check_order(f->db, have, OK_N, NULL, 0, 3);
	/* one group larger than the hash index: lookups go through the skiplists */
	for (size_t i = 0; i < OK_BIG; i++)
		snprintf(big.k[i], 16, "p%05zu", (i * 7919) % OK_BIG);
	assert_int_equal(hkv_txn_run(f->db, big_txn, &big), 0);
	{
		struct mview *v = atomic_load(&f->db->view);
		bool full = false;

		for (int i = 0; i < v->n; i++)
			full |= atomic_load(&v->mem[i]->hash_full);
		assert_true(full);
	}
	oset(f->db, have, 0);
	assert_int_equal(hkv_set(f->db, late[0], strlen(late[0]), late[0], strlen(late[0]), NULL),
			 1);
	{
		char (*extra)[16] = malloc((OK_BIG + 1) * 16);

		assert_non_null(extra);
		memcpy(extra, big.k, OK_BIG * 16);
		memcpy(extra[OK_BIG], late[0], 16);
		check_order(f->db, have, OK_N, extra, OK_BIG + 1, 1000);
		/* the same after the checkpoints, and after a reopen */
		gate_set(false);
		assert_int_equal(hkv_checkpoint(f->db), 0);
		check_order(f->db, have, OK_N, extra, OK_BIG + 1, 1000);
		test_store_reopen(f);
		check_order(f->db, have, OK_N, extra, OK_BIG + 1, 1000);
		free(extra);
	}
	free(part.k);
	free(big.k);
	free(have);
}


/* ---------------------------------------------------------------------------------------
 * Blind SETs (keys.c): a SET that does not read the record it replaces
 */

/* The expiry filter is built by the checkpointer thread right after open. */
static void wait_ttl_ready(struct hkv *db)
{
	while (!atomic_load(&db->ttl_ready))
		sched_yield();
}

static uint64_t blind_count(struct hkv *db)
{
	return atomic_load(&db->blind_sets);
}

static void expect_str(struct hkv *db, const char *k, const void *v, size_t n)
{
	struct hkv_buf b;

	assert_int_equal(hkv_get(db, k, strlen(k), &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, v, n);
	hkv_buf_release(&b);
}

/* @a and @b: the same key identity (id, type, mode, owner). */
static void expect_identity(const struct hkv_attr *a, const struct hkv_attr *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
}

/* Records of table @dbi under the 8-byte id @id (elements, scores, xattrs), merged view. */
static int rows_of_id(struct hkv *db, MDB_dbi dbi, uint64_t id)
{
	unsigned char p[8];
	MDB_val k = { sizeof(p), p }, v;
	struct kvtx *txn;
	struct kvcur *c;
	int n = 0, rc;

	put_be64(p, id);
	assert_int_equal(rtx_begin(db, &txn), 0);
	assert_int_equal(kv_cursor_open(txn, dbi, &c), 0);
	for (rc = kv_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     !rc && k.mv_size >= 8 && !memcmp(k.mv_data, p, 8);
	     rc = kv_cursor_get(c, &k, &v, MDB_NEXT))
		n++;
	kv_cursor_close(c);
	rtx_end(db, txn);
	return n;
}

/*
 * A blind SET is what a SET that looked would have written: the key keeps its id, mode and
 * owner over a string, in the index or in a memtable (blind itself), before and after the
 * checkpoint, across a reopen, and after a crash that leaves the blind records to replay.
 */
static void test_blind_keeps_identity(void **state)
{
	struct test_store *f = *state;
	struct hkv_create_attr ca = { 0640, 7, 8 };
	struct hkv_set_opts o = { .ca = &ca };
	struct hkv_attr want, a;
	uint64_t b0;
	int status;
	pid_t pid;

	test_store_open(f);
	wait_ttl_ready(f->db);
	b0 = blind_count(f->db);
	/* a new key: blind, with the attributes it is created with */
	assert_int_equal(hkv_set(f->db, "k", 1, "one", 3, &o), 1);
	assert_int_equal(blind_count(f->db), b0 + 1);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &want), 0);
	assert_int_equal(want.type, HKV_TYPE_STRING);
	assert_int_equal(want.mode, 0640);
	assert_int_equal(want.uid, 7);
	assert_int_equal(want.gid, 8);
	/* the mode changed, and everything in the index */
	want.mode = 0600;
	assert_int_equal(hkv_attr_set(f->db, "k", 1, HKV_ATTR_MODE, &want), 0);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	/* over the index's record; the create attributes of a SET do not apply to a key that exists */
	assert_int_equal(hkv_set(f->db, "k", 1, "two", 3, &o), 1);
	assert_int_equal(blind_count(f->db), b0 + 2);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	assert_int_equal(a.size, 3);
	expect_str(f->db, "k", "two", 3);
	/* over a blind record of the same memtable */
	assert_int_equal(hkv_set(f->db, "k", 1, "three", 5, NULL), 1);
	assert_int_equal(blind_count(f->db), b0 + 3);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	/* the index gets the merge */
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	expect_str(f->db, "k", "three", 5);
	test_store_reopen(f);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;

	/* a process that SETs blind, twice, and dies without a checkpoint */
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct hkv *db = test_open(f->dir, &f->opt);
		uint64_t b;

		wait_ttl_ready(db);
		b = blind_count(db);
		if (hkv_set(db, "k", 1, "four", 4, NULL) != 1 ||
		    hkv_set(db, "new", 3, "n", 1, &o) != 1 || blind_count(db) != b + 2)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_store_open(f);
	assert_true(atomic_load(&f->db->view)->mem[0]->blind >= 2); /* replayed, blind */
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	expect_str(f->db, "k", "four", 4);
	assert_int_equal(hkv_attr_get(f->db, "new", 3, &a), 0);
	assert_int_equal(a.mode, 0640);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(hkv_attr_get(f->db, "k", 1, &a), 0);
	expect_identity(&a, &want);
	expect_str(f->db, "k", "four", 4);
}

/*
 * A blind SET over a collection: the key becomes a string with a new id and keeps its mode and
 * owner; the collection's elements, score index and extended attributes are unreachable at
 * once and gone from the index with the checkpoint.
 */
static void test_blind_over_collection(void **state)
{
	struct test_store *f = *state;
	struct hkv_create_attr ca = { 0604, 11, 12 };
	struct hkv_attr ah, az, a;
	struct hkv_buf b;
	uint64_t b0;

	test_store_open(f);
	wait_ttl_ready(f->db);
	assert_int_equal(hkv_hset(f->db, "h", 1, "f1", 2, "v1", 2, &ca), 1);
	assert_int_equal(hkv_hset(f->db, "h", 1, "f2", 2, "v2", 2, &ca), 1);
	assert_int_equal(hkv_xattr_set(f->db, "h", 1, "user.x", "y", 1, 0), 0);
	assert_int_equal(hkv_zadd(f->db, "z", 1, 1.5, "m", 1, 0, NULL, &ca), 1);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(hkv_attr_get(f->db, "h", 1, &ah), 0);
	assert_int_equal(hkv_attr_get(f->db, "z", 1, &az), 0);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_elems, ah.id), 2);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_xattr, ah.id), 1);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_zidx, az.id), 1);

	b0 = blind_count(f->db);
	assert_int_equal(hkv_set(f->db, "h", 1, "s", 1, NULL), 1);
	assert_int_equal(hkv_set(f->db, "z", 1, "t", 1, NULL), 1);
	assert_int_equal(blind_count(f->db), b0 + 2);
	assert_int_equal(hkv_attr_get(f->db, "h", 1, &a), 0);
	assert_int_equal(a.type, HKV_TYPE_STRING);
	assert_true(a.id != ah.id);
	assert_int_equal(a.mode, 0604);
	assert_int_equal(a.uid, 11);
	assert_int_equal(a.gid, 12);
	assert_int_equal(hkv_hget(f->db, "h", 1, "f1", 2, &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_xattr_get(f->db, "h", 1, "user.x", &b), -ENODATA);
	expect_str(f->db, "h", "s", 1);
	expect_str(f->db, "z", "t", 1);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_elems, ah.id), 0);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_xattr, ah.id), 0);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_elems, az.id), 0);
	assert_int_equal(rows_of_id(f->db, f->db->dbi_zidx, az.id), 0);
	assert_int_equal(hkv_attr_get(f->db, "h", 1, &a), 0);
	assert_int_equal(a.mode, 0604);
	test_store_reopen(f);
	expect_str(f->db, "h", "s", 1);
	assert_int_equal(hkv_xattr_get(f->db, "h", 1, "user.x", &b), -ENODATA);
}

/* A plain SET of @k (which has an expiry) that looks, and leaves no key with an expiry. */
static void set_clears_expiry(struct hkv *db, const char *k)
{
	uint64_t b0 = blind_count(db);
	struct hkv_stats st;

	assert_int_equal(hkv_set(db, k, strlen(k), "b", 1, NULL), 1);
	assert_int_equal(blind_count(db), b0); /* it looked */
	assert_int_equal(hkv_pttl(db, k, strlen(k)), -1);
	assert_int_equal(hkv_stats_get(db, &st), 0);
	assert_int_equal(st.expires, 0);
}

/*
 * A key that has (or had) an expiry is never SET blind, so the exp table never holds an entry
 * that disagrees with its key: the count of keys with an expiry is exact at once.
 */
static void test_blind_not_over_expiry(void **state)
{
	struct test_store *f = *state;
	struct hkv_set_opts ex = { .flags = HKV_SET_EXPIRE };
	struct hkv_stats st;
	uint64_t b0;

	test_store_open(f);
	wait_ttl_ready(f->db);
	ex.expire_at = hkv_now_ms(f->db) + 3600 * 1000;
	assert_int_equal(hkv_set(f->db, "t", 1, "a", 1, &ex), 1);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.expires, 1);
	set_clears_expiry(f->db, "t");

	/* a key with an expiry in the index: the filter is built from the exp table at open */
	assert_int_equal(hkv_set(f->db, "e", 1, "a", 1, &ex), 1);
	test_store_reopen(f);
	wait_ttl_ready(f->db);
	set_clears_expiry(f->db, "e");
	/* one that never had an expiry is SET blind */
	b0 = blind_count(f->db);
	assert_int_equal(hkv_set(f->db, "p", 1, "a", 1, NULL), 1);
	assert_int_equal(blind_count(f->db), b0 + 1);
	/* one given an expiry while open, then checkpointed: no memtable holds it any more */
	assert_int_equal(hkv_set(f->db, "q", 1, "a", 1, &ex), 1);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	set_clears_expiry(f->db, "q");
}

/* Live bytes of all segments (after the dead-value notes are counted). */
static uint64_t live_bytes(struct hkv *db)
{
	struct test_seglist l;
	uint64_t n = 0;

	assert_true(vlog_dead_apply(db) >= 0);
	test_segments(db, &l);
	for (size_t i = 0; i < l.n; i++)
		n += l.s[i].live;
	return n;
}

static void put_big(struct hkv *db, const char *k, int gen)
{
	char v[1000];

	memset(v, 'a' + gen, sizeof(v));
	assert_int_equal(hkv_set(db, k, strlen(k), v, sizeof(v), NULL), 1);
}

/*
 * The value-log record a blind SET replaces is counted dead exactly once: over the index's
 * record (by the checkpoint), over a blind record of the same memtable (by the write), over
 * one of an older memtable not yet checkpointed (by the checkpoint of the new one).
 */
static void test_blind_value_accounting(void **state)
{
	struct test_store *f = *state;
	uint64_t one, b0;
	char v[1000];

	ckpt_test_hook = gate_hook;
	test_store_open(f);
	wait_ttl_ready(f->db);
	put_big(f->db, "v", 0);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	one = live_bytes(f->db);
	assert_true(one > 1000);

	b0 = blind_count(f->db);
	put_big(f->db, "v", 1); /* over the index's record */
	put_big(f->db, "v", 2); /* over a blind record of this memtable */
	assert_int_equal(blind_count(f->db), b0 + 2);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(live_bytes(f->db), one);

	/* over a blind record of a frozen memtable the checkpointer has not applied yet */
	gate_set(true);
	put_big(f->db, "v", 3);
	freeze(f->db);
	put_big(f->db, "v", 4);
	assert_int_equal(blind_count(f->db), b0 + 5); /* freeze()'s own SET is one too */
	assert_int_equal(view_size(f->db), 2);
	gate_set(false);
	assert_int_equal(hkv_checkpoint(f->db), 0);
	assert_int_equal(live_bytes(f->db), one);
	memset(v, 'a' + 4, sizeof(v));
	expect_str(f->db, "v", v, sizeof(v));
	/* compaction finds nothing live but that record, and keeps it */
	assert_true(hkv_compact(f->db, true) >= 0);
	expect_str(f->db, "v", v, sizeof(v));
	assert_int_equal(live_bytes(f->db), one);
	test_store_reopen(f);
	expect_str(f->db, "v", v, sizeof(v));
	assert_int_equal(live_bytes(f->db), one);

	/*
	 * A checkpoint applied again after it committed (its view could not be installed) finds
	 * the blind record's own merge in the index: nothing of it is dropped again.
	 */
	wait_ttl_ready(f->db);
	put_big(f->db, "v", 5);
	{
		MDB_val k = { 1, "v" }, raw, merged;
		struct vlog_ref dead;
		struct kvtx *txn;
		bool has_dead = true;
		MDB_txn *t;
		int at, rc;

		assert_int_equal(rtx_begin(f->db, &txn), 0);
		assert_int_equal(kv_mem_get(txn, f->db->dbi_keys, &k,
					    mem_hash(f->db, KV_KEYS, "v", 1), &raw, &at), 0);
		assert_true(krec_is_blind(raw.mv_data, raw.mv_size));
		assert_int_equal(kv_get(txn, f->db->dbi_keys, &k, &merged), 0);
		assert_false(krec_is_blind(merged.mv_data, merged.mv_size));
		assert_int_equal(mdb_txn_begin(f->db->env, NULL, 0, &t), 0);
		rc = krec_blind_apply(f->db, t, &k, &raw, &merged, &dead, &has_dead);
		/* the index's write transaction ends before any assertion can leave */
		mdb_txn_abort(t);
		rtx_end(f->db, txn);
		assert_int_equal(rc, 0);
		assert_false(has_dead);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merged_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_flush_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_open_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readers_see_whole_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_check_during_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_keeps_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_over_collection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_not_over_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blind_value_accounting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
