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
 *    once by a SCAN, while checkpoints run all the time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "teststore.h"
#include "hkv_int.h"
#include "mem_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "ckpt", 64, 1 << 20);
}

static int teardown(void **state)
{
	ckpt_test_hook = NULL;
	ckpt_test_commit_fault = NULL;
	return test_store_teardown(state);
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

			assert_int_equal(hkv_set(db, key, strlen(key), buf, len, NULL), 1);
			m->str[i] = g;
		} else if (op < 5) {
			assert_int_equal(hkv_del(db, key, strlen(key)), m->str[i] >= 0);
			m->str[i] = -1;
		} else if (op < 7) {
			int g = m->hash[j] + 1;
			size_t len = vfill(buf, j, g);

			assert_int_equal(hkv_hset(db, "H", 1, mem, strlen(mem), buf, len, NULL),
					 m->hash[j] < 0);
			m->hash[j] = g;
		} else if (op < 8) {
			assert_int_equal(hkv_hdel(db, "H", 1, mem, strlen(mem)), m->hash[j] >= 0);
			m->hash[j] = -1;
		} else if (op < 9) {
			double sc = (double)((r >> 24) % 50) - 25;

			assert_true(hkv_zadd(db, "Z", 1, sc, mem, strlen(mem), 0, NULL, NULL) >= 0);
			m->zs[j] = sc;
			m->zin[j] = true;
		} else {
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

static void test_replay(void **state)
{
	struct test_store *f = *state;
	struct model m;
	uint64_t seed = 7;
	struct hkv_stats st;
	int status;
	pid_t pid;

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
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct hkv *db = test_open(f->dir, &f->opt);
		struct model cm = m;
		uint64_t cs = seed;

		random_ops(db, &cm, &cs, 400);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
 * Readers see whole writes while checkpoints run
 */

struct flip {
	struct hkv *db;
	atomic_bool stop;
	atomic_long seen;
};

static int count_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool pre)
{
	(void)key;
	(void)klen;
	(void)type;
	(void)pre;
	(*(int *)arg)++;
	return 0;
}

static void *flip_reader(void *arg)
{
	struct flip *fl = arg;
	struct hkv_scan_opts so = { .count = 100, .prefix = "flip-", .prefix_len = 5 };

	while (!atomic_load(&fl->stop)) {
		struct hkv_cursor cur;
		int n = 0;

		hkv_cursor_init(&cur);
		/* one call, one transaction: the renamed key is there exactly once */
		assert_true(hkv_scan(fl->db, &cur, &so, count_cb, &n) >= 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merged_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_flush_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readers_see_whole_writes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
