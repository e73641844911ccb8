// SPDX-License-Identifier: MIT
/*
 * test_txn.c - engine transactions (hkv_txn_run): several reads and writes applied at once or
 * not at all; reads inside see the transaction's own writes; a failed operation inside changes
 * nothing and the transaction goes on; a nested transaction is undone alone; readers outside
 * never see part of one, also while checkpoints run; misuse is refused, never a deadlock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teststore.h"
#include "hkv_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "txn", 64, 0);
}

static void expect_str(struct hkv *db, const char *key, const char *val)
{
	struct hkv_buf b;
	int rc = hkv_get(db, key, strlen(key), &b);

	if (!val) {
		assert_int_equal(rc, -ENOENT);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(b.len, strlen(val));
	assert_memory_equal(b.data, val, b.len);
	hkv_buf_release(&b);
}

struct watch_log {
	atomic_int calls;
	atomic_int aborted_seen;
};

static void watch_fn(void *arg, const void *key, size_t klen, uint64_t version)
{
	struct watch_log *l = arg;

	(void)version;
	atomic_fetch_add(&l->calls, 1);
	if (klen >= 7 && !memcmp(key, "aborted", 7))
		atomic_fetch_add(&l->aborted_seen, 1);
}

/* Writes of several kinds, read back inside before the commit, all visible after it. */
static int body_commit(struct hkv *tx, void *arg)
{
	char big[300];
	struct hkv_buf b;

	(void)arg;
	memset(big, 'v', sizeof(big));
	assert_int_equal(hkv_set(tx, "a", 1, "1", 1, NULL), 1);
	assert_int_equal(hkv_set(tx, "big", 3, big, sizeof(big), NULL), 1);
	assert_int_equal(hkv_hset(tx, "h", 1, "f", 1, "x", 1, NULL), 1);
	assert_int_equal(hkv_rpush(tx, "l", 1, "e1", 2, NULL), 1);
	assert_int_equal(hkv_rpush(tx, "l", 1, "e2", 2, NULL), 2);
	assert_int_equal(hkv_pexpire(tx, "a", 1, 100000, 0), 1);
	/* the transaction sees itself */
	assert_int_equal(hkv_get(tx, "a", 1, &b), 0);
	assert_memory_equal(b.data, "1", 1);
	hkv_buf_release(&b);
	assert_int_equal(hkv_get(tx, "big", 3, &b), 0);
	assert_int_equal(b.len, sizeof(big));
	hkv_buf_release(&b);
	assert_int_equal(hkv_llen(tx, "l", 1), 2);
	assert_true(hkv_pttl(tx, "a", 1) > 0);
	return 7;
}

static void test_commit(void **state)
{
	struct test_store *f = *state;
	struct hkv_attr aa, ah;

	test_store_open(f);
	assert_int_equal(hkv_txn_run(f->db, body_commit, NULL), 7);
	expect_str(f->db, "a", "1");
	assert_int_equal(hkv_hexists(f->db, "h", 1, "f", 1), 1);
	assert_int_equal(hkv_llen(f->db, "l", 1), 2);
	assert_true(hkv_pttl(f->db, "a", 1) > 0);
	/* one transaction: versions taken in order, all before any later write */
	assert_int_equal(hkv_attr_get(f->db, "a", 1, &aa), 0);
	assert_int_equal(hkv_attr_get(f->db, "h", 1, &ah), 0);
	assert_true(ah.version > 0 && aa.version > ah.version);
	test_store_reopen(f);
	expect_str(f->db, "a", "1");
	assert_int_equal(hkv_llen(f->db, "l", 1), 2);
}

static int body_abort(struct hkv *tx, void *arg)
{
	(void)arg;
	assert_int_equal(hkv_set(tx, "aborted-1", 9, "x", 1, NULL), 1);
	assert_int_equal(hkv_del(tx, "keep", 4), 1);
	assert_int_equal(hkv_hset(tx, "aborted-h", 9, "f", 1, "x", 1, NULL), 1);
	expect_str(tx, "keep", NULL);
	return -ECANCELED;
}

/* An abort leaves nothing: no key, no deletion, no notification. */
static void test_abort(void **state)
{
	struct test_store *f = *state;
	struct watch_log wl = { 0 };
	uint64_t v0;

	test_store_open(f);
	assert_int_equal(hkv_set(f->db, "keep", 4, "k", 1, NULL), 1);
	hkv_set_watch(f->db, watch_fn, &wl);
	v0 = hkv_version(f->db);
	assert_int_equal(hkv_txn_run(f->db, body_abort, NULL), -ECANCELED);
	expect_str(f->db, "aborted-1", NULL);
	assert_int_equal(hkv_exists(f->db, "aborted-h", 9), 0);
	expect_str(f->db, "keep", "k");
	assert_int_equal(atomic_load(&wl.calls), 0);
	assert_true(hkv_version(f->db) >= v0);
	test_store_reopen(f);
	expect_str(f->db, "aborted-1", NULL);
	expect_str(f->db, "keep", "k");
}

/* Compound operations the filesystem needs, as conditional transactions. */
static int rename_noreplace(struct hkv *tx, void *arg)
{
	const char *const *kv = arg;
	int rc = hkv_exists(tx, kv[1], strlen(kv[1]));

	if (rc)
		return rc < 0 ? rc : -EEXIST;
	return hkv_rename(tx, kv[0], strlen(kv[0]), kv[1], strlen(kv[1]), 0);
}

struct pop_last {
	struct hkv_buf out;
	int64_t ttl_before;
};

/* Pop the only element of a list and keep the key (and its TTL) as an empty list. */
static int pop_keep(struct hkv *tx, void *arg)
{
	struct pop_last *p = arg;
	int64_t n = hkv_llen(tx, "q", 1);
	int rc;

	if (n <= 0)
		return n < 0 ? (int)n : -ENOENT;
	p->ttl_before = hkv_pttl(tx, "q", 1);
	rc = hkv_lpop(tx, "q", 1, &p->out);
	if (rc)
		return rc;
	if (n == 1) {
		/* the key went with its last element: make it again, with its expiry */
		rc = hkv_create(tx, "q", 1, HKV_TYPE_LIST, NULL);
		if (!rc && p->ttl_before > 0)
			rc = hkv_pexpire(tx, "q", 1, p->ttl_before, 0) == 1 ? 0 : -EIO;
	}
	return rc;
}

static void test_conditional(void **state)
{
	struct test_store *f = *state;
	const char *ab[2] = { "src", "dst" };
	struct pop_last p = { { 0 }, 0 };

	test_store_open(f);
	assert_int_equal(hkv_set(f->db, "src", 3, "s", 1, NULL), 1);
	assert_int_equal(hkv_set(f->db, "dst", 3, "d", 1, NULL), 1);
	assert_int_equal(hkv_txn_run(f->db, rename_noreplace, ab), -EEXIST);
	expect_str(f->db, "src", "s");
	expect_str(f->db, "dst", "d");
	assert_int_equal(hkv_del(f->db, "dst", 3), 1);
	assert_int_equal(hkv_txn_run(f->db, rename_noreplace, ab), 0);
	expect_str(f->db, "src", NULL);
	expect_str(f->db, "dst", "s");

	assert_int_equal(hkv_rpush(f->db, "q", 1, "only", 4, NULL), 1);
	assert_int_equal(hkv_pexpire(f->db, "q", 1, 50000, 0), 1);
	assert_int_equal(hkv_txn_run(f->db, pop_keep, &p), 0);
	assert_int_equal(p.out.len, 4);
	assert_memory_equal(p.out.data, "only", 4);
	hkv_buf_release(&p.out);
	assert_int_equal(hkv_type(f->db, "q", 1), HKV_TYPE_LIST);
	assert_int_equal(hkv_llen(f->db, "q", 1), 0);
	assert_true(hkv_pttl(f->db, "q", 1) > 0);
	/* an empty list: nothing to pop, the transaction aborts */
	assert_int_equal(hkv_txn_run(f->db, pop_keep, &p), -ENOENT);
	assert_int_equal(hkv_type(f->db, "q", 1), HKV_TYPE_LIST);
}

static int body_inner_abort(struct hkv *tx, void *arg)
{
	(void)arg;
	assert_int_equal(hkv_set(tx, "inner", 5, "i", 1, NULL), 1);
	return -EAGAIN;
}

static int body_inner_ok(struct hkv *tx, void *arg)
{
	(void)arg;
	return hkv_set(tx, "inner-ok", 8, "o", 1, NULL);
}

static int body_partial(struct hkv *tx, void *arg)
{
	int64_t out;

	(void)arg;
	assert_int_equal(hkv_set(tx, "n", 1, "notanumber", 10, NULL), 1);
	assert_int_equal(hkv_set(tx, "c", 1, "5", 1, NULL), 1);
	/* a failing operation changes nothing; the transaction goes on */
	assert_int_equal(hkv_incrby(tx, "n", 1, 1, &out), -HKV_ENOTINT);
	expect_str(tx, "n", "notanumber");
	assert_int_equal(hkv_incrby(tx, "c", 1, 2, &out), 0);
	assert_int_equal(out, 7);
	/* a nested transaction that aborts is undone alone */
	assert_int_equal(hkv_txn_run(tx, body_inner_abort, NULL), -EAGAIN);
	expect_str(tx, "inner", NULL);
	assert_int_equal(hkv_txn_run(tx, body_inner_ok, NULL), 1);
	expect_str(tx, "inner-ok", "o");
	return 0;
}

static void test_partial_and_nested(void **state)
{
	struct test_store *f = *state;

	test_store_open(f);
	assert_int_equal(hkv_txn_run(f->db, body_partial, NULL), 0);
	expect_str(f->db, "n", "notanumber");
	expect_str(f->db, "c", "7");
	expect_str(f->db, "inner", NULL);
	expect_str(f->db, "inner-ok", "o");
}

static int body_misuse(struct hkv *tx, void *arg)
{
	struct hkv *db = arg;

	/* the store's own handle for a write: it would wait for this very transaction */
	assert_int_equal(hkv_set(db, "x", 1, "y", 1, NULL), -EDEADLK);
	assert_int_equal(hkv_sync(tx), -EINVAL);
	assert_int_equal(hkv_checkpoint(tx), -EINVAL);
	assert_int_equal(hkv_compact(tx, true), -EINVAL);
	assert_int_equal(hkv_close(tx), -EINVAL);
	/* reads through the store's handle are fine: the state before the transaction */
	assert_int_equal(hkv_set(tx, "mine", 4, "m", 1, NULL), 1);
	expect_str(db, "mine", NULL);
	expect_str(tx, "mine", "m");
	return 0;
}

static void test_misuse(void **state)
{
	struct test_store *f = *state;

	test_store_open(f);
	assert_int_equal(hkv_txn_run(f->db, NULL, NULL), -EINVAL);
	assert_int_equal(hkv_txn_run(f->db, body_misuse, f->db), 0);
	expect_str(f->db, "x", NULL);
	expect_str(f->db, "mine", "m");
}

/*
 * Readers never see part of a transaction: a transfer between two fields of a hash (one
 * HSET each) keeps their sum; HGETALL, one read, must always find the same sum, while
 * checkpoints run under the writers.
 */
struct xfer {
	struct hkv *db;
	atomic_bool stop;
	atomic_long reads, torn;
	uint64_t seed;
};

static int field_val(struct hkv *tx, const char *field, long *out)
{
	struct hkv_buf b;
	int rc = hkv_hget(tx, "acct", 4, field, 1, &b);

	if (rc)
		return rc;
	*out = strtol(b.data, NULL, 10);
	hkv_buf_release(&b);
	return 0;
}

static int transfer(struct hkv *tx, void *arg)
{
	struct xfer *x = arg;
	long a, b, amount = (long)(test_rng(&x->seed) % 21) - 10;
	char buf[32];
	int rc, n;

	rc = field_val(tx, "a", &a);
	if (!rc)
		rc = field_val(tx, "b", &b);
	if (rc)
		return rc;
	n = snprintf(buf, sizeof(buf), "%ld", a - amount);
	rc = hkv_hset(tx, "acct", 4, "a", 1, buf, (size_t)n, NULL);
	if (rc < 0)
		return rc;
	n = snprintf(buf, sizeof(buf), "%ld", b + amount);
	rc = hkv_hset(tx, "acct", 4, "b", 1, buf, (size_t)n, NULL);
	return rc < 0 ? rc : 0;
}

struct sum_acc {
	long sum;
	int n;
};

static int sum_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct sum_acc *s = arg;
	char buf[32];

	(void)a;
	(void)alen;
	assert_true(blen < sizeof(buf));
	memcpy(buf, b, blen);
	buf[blen] = 0;
	s->sum += strtol(buf, NULL, 10);
	s->n++;
	return 0;
}

static void *xfer_reader(void *arg)
{
	struct xfer *x = arg;

	while (!atomic_load(&x->stop)) {
		struct sum_acc s = { 0, 0 };

		assert_int_equal(hkv_hgetall(x->db, "acct", 4, sum_cb, &s), 0);
		if (s.n != 2 || s.sum != 1000)
			atomic_fetch_add(&x->torn, 1);
		atomic_fetch_add(&x->reads, 1);
	}
	return NULL;
}

static void *ckpt_thread(void *arg)
{
	struct xfer *x = arg;

	while (!atomic_load(&x->stop))
		assert_int_equal(hkv_checkpoint(x->db), 0);
	return NULL;
}

static void test_readers_all_or_nothing(void **state)
{
	struct test_store *f = *state;
	struct xfer x = { .seed = 17 };
	pthread_t r[3], c;

	f->opt.ckpt_bytes = 1 << 20;
	test_store_open(f);
	x.db = f->db;
	assert_int_equal(hkv_hset(f->db, "acct", 4, "a", 1, "500", 3, NULL), 1);
	assert_int_equal(hkv_hset(f->db, "acct", 4, "b", 1, "500", 3, NULL), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&r[i], NULL, xfer_reader, &x), 0);
	assert_int_equal(pthread_create(&c, NULL, ckpt_thread, &x), 0);
	for (int i = 0; i < 4000; i++)
		assert_int_equal(hkv_txn_run(f->db, transfer, &x), 0);
	atomic_store(&x.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	pthread_join(c, NULL);
	assert_true(atomic_load(&x.reads) > 0);
	assert_int_equal(atomic_load(&x.torn), 0);
	{
		struct sum_acc s = { 0, 0 };

		test_store_reopen(f);
		assert_int_equal(hkv_hgetall(f->db, "acct", 4, sum_cb, &s), 0);
		assert_int_equal(s.sum, 1000);
	}
}

/* Transactions from many threads are serializable: counters incremented read-then-write. */
static int incr_pair(struct hkv *tx, void *arg)
{
	struct hkv_buf b;
	long v = 0;
	char buf[32];
	int rc, n;

	(void)arg;
	rc = hkv_get(tx, "ctr", 3, &b);
	if (rc && rc != -ENOENT)
		return rc;
	if (!rc) {
		v = strtol(b.data, NULL, 10);
		hkv_buf_release(&b);
	}
	n = snprintf(buf, sizeof(buf), "%ld", v + 1);
	rc = hkv_set(tx, "ctr", 3, buf, (size_t)n, NULL);
	return rc < 0 ? rc : 0;
}

static void *incr_worker(void *arg)
{
	struct hkv *db = arg;

	for (int i = 0; i < 500; i++)
		assert_int_equal(hkv_txn_run(db, incr_pair, NULL), 0);
	return NULL;
}

static void test_serializable(void **state)
{
	struct test_store *f = *state;
	pthread_t t[4];

	test_store_open(f);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, incr_worker, f->db), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	expect_str(f->db, "ctr", "2000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_conditional, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_partial_and_nested, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_misuse, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_readers_all_or_nothing, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_serializable, setup, test_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
