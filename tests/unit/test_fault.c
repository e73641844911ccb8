// SPDX-License-Identifier: MIT
/*
 * test_fault.c - I/O failures in the engine's own writes: pwrite(), write(), fdatasync() and
 * fsync() are wrapped at link time (test_fault.cmake) and made to fail with ENOSPC or EIO on
 * the N-th call. The failing operation must return that error, the store must stay readable,
 * and nothing acknowledged before may be lost, also after reopening. A failed flush is final:
 * the store then refuses every write with -HKV_ESTOPPED and never calls fdatasync/fsync again
 * until it is reopened.
 *
 * LMDB is a shared library: its own I/O is not wrapped, so the faults land in the value log.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "hkv_int.h"

enum { F_PWRITE = 1, F_WRITE = 2, F_FDATASYNC = 4, F_FSYNC = 8, F_ALL = 15 };

static atomic_int calls;      /* counted calls since arm() */
static atomic_int fail_at;    /* the call that fails; 0: none */
static atomic_int fired;      /* how many calls failed */
static unsigned fail_mask;    /* which functions count */
static int fail_errno;
static bool fail_torn;        /* a failing pwrite first writes half of its bytes */

ssize_t __real_pwrite(int fd, const void *buf, size_t n, off_t off);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fdatasync(int fd);
int __real_fsync(int fd);

static void arm(unsigned mask, int at, int err, bool torn)
{
	atomic_store(&calls, 0);
	atomic_store(&fired, 0);
	fail_mask = mask;
	fail_errno = err;
	fail_torn = torn;
	atomic_store(&fail_at, at);
}

static void disarm(void)
{
	atomic_store(&fail_at, 0);
}

/* Whether this call of a function of class @what fails (then errno is set). */
static bool fault(unsigned what)
{
	int at = atomic_load(&fail_at);

	if (!at || !(fail_mask & what))
		return false;
	if (atomic_fetch_add(&calls, 1) + 1 != at)
		return false;
	atomic_fetch_add(&fired, 1);
	return true;
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault(F_PWRITE)) {
		if (fail_torn && n > 1)
			__real_pwrite(fd, buf, n / 2, off);
		errno = fail_errno;
		return -1;
	}
	return __real_pwrite(fd, buf, n, off);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (fault(F_WRITE)) {
		errno = fail_errno;
		return -1;
	}
	return __real_write(fd, buf, n);
}

int __wrap_fdatasync(int fd)
{
	if (fault(F_FDATASYNC)) {
		errno = fail_errno;
		return -1;
	}
	return __real_fdatasync(fd);
}

int __wrap_fsync(int fd)
{
	if (fault(F_FSYNC)) {
		errno = fail_errno;
		return -1;
	}
	return __real_fsync(fd);
}

/* ------------------------------------------------------------------------------------ */

enum { NKEYS = 48 };

/*
 * The model: for each key the acknowledged generation (-1 absent), and a generation that may
 * or may not have landed because its write failed (-2: none).
 */
struct model {
	int64_t acked[NKEYS];
	int64_t maybe[NKEYS];
};

struct fixture {
	char *dir;
	struct hkv_options opt;
	struct hkv *db;
	struct model m;
	atomic_int stop_lines; /* log lines announcing that the store stopped taking writes */
};

static void fixture_log(void *arg, int level, const char *msg)
{
	struct fixture *f = arg;

	if (level == 0 && strstr(msg, "takes no more writes"))
		atomic_fetch_add(&f->stop_lines, 1);
	if (level <= 1)
		fprintf(stderr, "hkv: %s\n", msg);
}

/* Whether the store stopped taking writes after a failed flush. */
static bool stopped(struct fixture *f)
{
	struct hkv_stats st;

	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	return st.flush_error != 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_mkdtemp("fault");
	assert_non_null(f->dir);
	test_options(&f->opt, NULL);
	f->opt.inline_max = 64;
	f->opt.segment_size = 1 << 20;
	f->opt.sync = HKV_SYNC_ALWAYS;
	f->opt.log = fixture_log;
	f->opt.log_arg = f;
	for (int i = 0; i < NKEYS; i++) {
		f->m.acked[i] = -1;
		f->m.maybe[i] = -2;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	disarm();
	hkv_close(f->db);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Value of key @i at generation @g: a short inline one for some generations. */
static size_t gen_len(int i, int64_t g)
{
	uint64_t s = (uint64_t)i * 131 + (uint64_t)g * 7 + 3;
	uint64_t r = test_rng(&s);

	return r % 5 == 0 ? 40 : 1000 + r % 60000;
}

static void gen_fill(unsigned char *p, size_t len, int i, int64_t g)
{
	uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)g + 1;

	for (size_t k = 0; k < len; k++) {
		if (!(k % 8))
			s = test_rng(&s) | 1;
		p[k] = (unsigned char)(s >> (k % 8 * 8));
	}
}

static void key_of(char *out, int i)
{
	snprintf(out, 16, "f%02d", i);
}

/* Write generation @g of key @i. Return: the engine's result. */
static int write_gen(struct hkv *db, int i, int64_t g)
{
	size_t len = gen_len(i, g);
	unsigned char *v = malloc(len);
	char key[16];
	int rc;

	assert_non_null(v);
	gen_fill(v, len, i, g);
	key_of(key, i);
	rc = hkv_set(db, key, strlen(key), v, len, NULL);
	free(v);
	return rc;
}

/* Whether key @i currently holds generation @g (-1: absent). */
static bool holds(struct hkv *db, int i, int64_t g)
{
	struct hkv_buf b;
	char key[16];
	unsigned char *v;
	size_t len;
	bool ok;
	int rc;

	key_of(key, i);
	rc = hkv_get(db, key, strlen(key), &b);
	if (g < 0)
		return rc == -ENOENT;
	if (rc)
		return false;
	len = gen_len(i, g);
	v = malloc(len);
	assert_non_null(v);
	gen_fill(v, len, i, g);
	ok = b.len == len && !memcmp(b.data, v, len);
	free(v);
	hkv_buf_release(&b);
	return ok;
}

/* Every key holds its acknowledged generation or the one whose write failed. */
static void verify(struct fixture *f)
{
	for (int i = 0; i < NKEYS; i++) {
		bool ok = holds(f->db, i, f->m.acked[i]);

		if (!ok && f->m.maybe[i] != -2 && holds(f->db, i, f->m.maybe[i])) {
			/* the failed write did land: it is the current state from now on */
			f->m.acked[i] = f->m.maybe[i];
			ok = true;
		}
		if (!ok)
			fail_msg("key %d: neither generation %lld nor %lld", i,
				 (long long)f->m.acked[i], (long long)f->m.maybe[i]);
		f->m.maybe[i] = -2;
	}
}

/*
 * Write @n generations over random keys; failures are recorded as "maybe"; writes refused
 * because an earlier flush failed (-HKV_ESTOPPED) changed nothing and count in *@refused.
 */
static int workload_r(struct fixture *f, uint64_t *seed, int n, int *errors, int *refused)
{
	int ok = 0;

	for (int k = 0; k < n; k++) {
		int i = (int)(test_rng(seed) % NKEYS);
		int64_t g = (f->m.acked[i] < 0 ? 0 : f->m.acked[i]) + 1 + (int64_t)k;
		int rc = write_gen(f->db, i, g);

		if (rc == 1) {
			assert_false(stopped(f));
			f->m.acked[i] = g;
			f->m.maybe[i] = -2;
			ok++;
			continue;
		}
		if (rc == -HKV_ESTOPPED) {
			assert_non_null(refused);
			assert_true(stopped(f));
			(*refused)++;
			continue;
		}
		assert_true(rc == -EIO || rc == -ENOSPC);
		assert_int_equal(rc, -fail_errno);
		f->m.maybe[i] = g;
		(*errors)++;
	}
	return ok;
}

static int workload(struct fixture *f, uint64_t *seed, int n, int *errors)
{
	return workload_r(f, seed, n, errors, NULL);
}

static void reopen(struct fixture *f)
{
	disarm();
	hkv_close(f->db);
	f->db = test_open(f->dir, &f->opt);
}

/* A value-log append that cannot write returns ENOSPC and changes nothing. */
static void test_append_enospc(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 1;
	int errors = 0;

	f->db = test_open(f->dir, &f->opt);
	workload(f, &seed, 30, &errors);
	assert_int_equal(errors, 0);
	arm(F_PWRITE, 1, ENOSPC, false);
	assert_int_equal(write_gen(f->db, 3, 1000), -ENOSPC);
	assert_int_equal(atomic_load(&fired), 1);
	disarm();
	verify(f);
	assert_true(holds(f->db, 3, f->m.acked[3]));
	assert_int_equal(write_gen(f->db, 3, 1001), 1);
	f->m.acked[3] = 1001;
	verify(f);
	reopen(f);
	verify(f);
}

/*
 * A memtable whose every write group failed is checkpointed with the log position of the one
 * before it: it once recorded position 0, and the next open cut the log there and removed
 * every segment, acknowledged data with them.
 */
static int first_seg(void *arg, const struct hkv_segment_stat *s)
{
	*(uint32_t *)arg = s->id;
	return 1;
}

static void test_checkpoint_of_failed_groups(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 9;
	uint32_t first = 0;
	int errors = 0;

	f->opt.sync = HKV_SYNC_NONE;
	f->db = test_open(f->dir, &f->opt);
	/* a log whose first segments compaction removed: it does not start at position 0 */
	workload(f, &seed, 400, &errors);
	assert_int_equal(errors, 0);
	while (hkv_compact(f->db, true) > 0)
		;
	hkv_segments(f->db, first_seg, &first);
	assert_true(first > 1);
	assert_int_equal(hkv_checkpoint(f->db), 0); /* the active memtable is a fresh one */
	arm(F_PWRITE, 1, ENOSPC, false);
	/* an inline value: the group record is the only append, and it fails */
	assert_int_equal(hkv_set(f->db, "zz", 2, "small", 5, NULL), -ENOSPC);
	assert_int_equal(atomic_load(&fired), 1);
	disarm();
	assert_false(stopped(f));
	assert_int_equal(hkv_checkpoint(f->db), 0);
	verify(f);
	reopen(f);
	verify(f);
	assert_int_equal(hkv_exists(f->db, "zz", 2), 0);
}

/* A torn record (half written, then EIO) is overwritten by the next append. */
static void test_append_torn(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 2;
	int errors = 0;

	f->db = test_open(f->dir, &f->opt);
	workload(f, &seed, 20, &errors);
	arm(F_PWRITE, 2, EIO, true); /* the body write of a record */
	assert_int_equal(write_gen(f->db, 5, 777), -EIO);
	disarm();
	verify(f);
	workload(f, &seed, 20, &errors);
	assert_int_equal(errors, 0);
	verify(f);
	reopen(f);
	verify(f);
	/* and with the torn bytes left as the last thing in the segment */
	arm(F_PWRITE, 1, EIO, true);
	assert_int_equal(write_gen(f->db, 6, 778), -EIO);
	reopen(f);
	verify(f);
}

/*
 * A flush that fails under sync=always fails its write, and is final: every later write and
 * hkv_sync() is refused without another flush, reads keep working, and after reopening the
 * store holds every acknowledged value and takes writes again.
 */
static void test_flush_eio(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 3;
	int errors = 0, refused = 0;
	struct hkv_stats st;

	f->db = test_open(f->dir, &f->opt);
	workload(f, &seed, 10, &errors);
	arm(F_FDATASYNC, 1, EIO, false);
	assert_int_equal(write_gen(f->db, 7, 999), -EIO);
	f->m.maybe[7] = 999;
	assert_int_equal(atomic_load(&fired), 1);
	assert_int_equal(atomic_load(&f->stop_lines), 1);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.flush_error, -EIO);
	/* from now on: no flush is even tried (a second call would be counted) */
	arm(F_ALL, 1000000, EIO, false);
	workload_r(f, &seed, 10, &errors, &refused);
	assert_int_equal(errors, 0);
	assert_int_equal(refused, 10);
	assert_int_equal(hkv_del(f->db, "f00", 3), -HKV_ESTOPPED);
	assert_int_equal(hkv_sync(f->db), -HKV_ESTOPPED);
	assert_int_equal(hkv_compact(f->db, true), -HKV_ESTOPPED);
	assert_int_equal(atomic_load(&calls), 0);
	assert_int_equal(atomic_load(&f->stop_lines), 1);
	disarm();
	verify(f);
	reopen(f);
	assert_false(stopped(f));
	verify(f);
	workload(f, &seed, 10, &errors);
	assert_int_equal(errors, 0);
	reopen(f);
	verify(f);
}

/* hkv_sync() reports a failing flush of a segment or of the directory, once, and stops. */
static void test_sync_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 4;
	int errors = 0, refused = 0;

	f->opt.sync = HKV_SYNC_NONE;
	f->db = test_open(f->dir, &f->opt);
	workload(f, &seed, 10, &errors);
	arm(F_FDATASYNC | F_FSYNC, 1, EIO, false);
	assert_int_equal(hkv_sync(f->db), -EIO);
	assert_true(stopped(f));
	/* the failed flush is not retried: the next one fails at once without a call */
	arm(F_ALL, 1000000, ENOSPC, false);
	assert_int_equal(hkv_sync(f->db), -HKV_ESTOPPED);
	workload_r(f, &seed, 5, &errors, &refused);
	assert_int_equal(refused, 5);
	assert_int_equal(atomic_load(&calls), 0);
	disarm();
	verify(f);
	assert_int_equal(hkv_close(f->db), -HKV_ESTOPPED);
	f->db = test_open(f->dir, &f->opt);
	verify(f);
	assert_int_equal(hkv_sync(f->db), 0);
	workload(f, &seed, 10, &errors);
	assert_int_equal(errors, 0);
	reopen(f);
	verify(f);
}

/* Fail each I/O call of a stretch of writes in turn. */
static void test_write_sweep(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 5;
	int errors = 0, failed = 0;

	f->db = test_open(f->dir, &f->opt);
	workload(f, &seed, 40, &errors);
	for (int n = 1; n <= 40; n++) {
		int err = n % 2 ? EIO : ENOSPC, refused = 0;

		arm(F_ALL, n, err, n % 3 == 0);
		errors = 0;
		workload_r(f, &seed, 8, &errors, &refused);
		/* a failed call fails exactly one write, unless it was not in a write path */
		assert_true(errors <= atomic_load(&fired));
		failed += errors;
		disarm();
		verify(f);
		/* a failed flush stops the store; it takes writes again once reopened */
		if (refused || stopped(f) || n % 8 == 0) {
			reopen(f);
			verify(f);
		}
	}
	assert_true(failed >= 20);
	reopen(f);
	verify(f);
}

/* Fail each I/O call of a compaction in turn: the compaction fails, nothing is lost. */
static void test_compact_sweep(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = 6;
	int errors = 0, n, done = 0, failed = 0;
	struct hkv_stats st;

	f->opt.sync = HKV_SYNC_NONE;
	f->db = test_open(f->dir, &f->opt);
	for (n = 1; n <= 60 && !done; n++) {
		int err = n % 2 ? EIO : ENOSPC, rc;

		workload(f, &seed, 60, &errors);
		assert_int_equal(errors, 0);
		arm(F_ALL, n, err, n % 3 == 0);
		rc = hkv_compact(f->db, true);
		if (atomic_load(&fired)) {
			assert_int_equal(rc, -err);
			failed++;
		}
		else
			done = rc > 0; /* the whole compaction ran below n calls */
		disarm();
		verify(f);
		if (stopped(f) || n % 10 == 0) {
			reopen(f);
			verify(f);
		}
	}
	assert_true(done);
	assert_true(failed >= 3);
	assert_true(hkv_compact(f->db, true) >= 0);
	verify(f);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.crc_errors, 0);
	reopen(f);
	verify(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_of_failed_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_sweep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
