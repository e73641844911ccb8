// SPDX-License-Identifier: MIT
/*
 * test_compact.c - value-log compaction: values survive unchanged, space is reclaimed,
 * thresholds are honoured, renamed keys are found, readers and writers run meanwhile, and a
 * crash at every step of a compaction loses nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "teststore.h"
#include "hkv_int.h"
#include "vlog_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "compact", 16, 1 << 20);
}

/*
 * Self-describing values: bytes 0-7 the key index, 8-15 the generation, the rest derived
 * from both; the length too. A reader can tell which write it sees and that it is intact.
 */
static size_t val_len(uint32_t idx, uint64_t gen, size_t lo, size_t hi)
{
	uint64_t s = (idx + 1) * 1000003ull + gen * 7919 + 17;

	return lo + test_rng(&s) % (hi - lo + 1);
}

static void val_fill(unsigned char *p, size_t len, uint32_t idx, uint64_t gen)
{
	uint64_t s = (idx + 1) * 0x9E3779B97F4A7C15ull ^ (gen + 1) * 0xC2B2AE3D27D4EB4Full;
	uint64_t x = idx;

	memcpy(p, &x, 8);
	memcpy(p + 8, &gen, 8);
	for (size_t i = 16; i < len; i += 8) {
		uint64_t r = test_rng(&s);

		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

/* Return the generation of an intact value of key @idx, or -1. */
static int64_t val_check(const unsigned char *p, size_t len, uint32_t idx, size_t lo,
			 size_t hi)
{
	uint64_t x, gen;
	unsigned char *want;
	bool ok;

	if (len < 16)
		return -1;
	memcpy(&x, p, 8);
	memcpy(&gen, p + 8, 8);
	if (x != idx || len != val_len(idx, gen, lo, hi))
		return -1;
	want = malloc(len);
	assert_non_null(want);
	val_fill(want, len, idx, gen);
	ok = !memcmp(want, p, len);
	free(want);
	return ok ? (int64_t)gen : -1;
}

static void key_name(char *out, uint32_t idx)
{
	snprintf(out, 32, "key-%05u", idx);
}

static void put_gen(struct hkv *db, uint32_t idx, uint64_t gen, size_t lo, size_t hi)
{
	size_t len = val_len(idx, gen, lo, hi);
	unsigned char *v = malloc(len);
	char key[32];

	assert_non_null(v);
	key_name(key, idx);
	val_fill(v, len, idx, gen);
	assert_int_equal(hkv_set(db, key, strlen(key), v, len, NULL), 1);
	free(v);
}

/* Check every key against @gen (-1: absent). */
static void verify(struct hkv *db, const int64_t *gen, uint32_t n, size_t lo, size_t hi)
{
	struct hkv_buf b;
	char key[32];

	for (uint32_t i = 0; i < n; i++) {
		int rc;

		key_name(key, i);
		rc = hkv_get(db, key, strlen(key), &b);
		if (gen[i] < 0) {
			assert_int_equal(rc, -ENOENT);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(val_check(b.data, b.len, i, lo, hi), gen[i]);
		hkv_buf_release(&b);
	}
}

static bool seg_file_exists(const char *dir, uint32_t id)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/vlog/%08x.seg", dir, id);
	return access(path, F_OK) == 0;
}

/* Number and total size of the .seg files of the store. */
static size_t seg_files(const char *dir, uint64_t *bytes)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	DIR *d;

	*bytes = 0;
	snprintf(path, sizeof(path), "%s/vlog", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".seg"))
			continue;
		snprintf(path, sizeof(path), "%s/vlog/%s", dir, de->d_name);
		assert_int_equal(stat(path, &st), 0);
		*bytes += (uint64_t)st.st_size;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * Bytes of the log's group records in segment @id (the rest of the file is value records):
 * they are dead from the start (the index holds them once checkpointed).
 */
static uint64_t seg_wal_bytes(const char *dir, uint32_t id)
{
	char path[4096];
	unsigned char h[WAL_HDR];
	uint64_t off = 0, wal = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/vlog/%08x.seg", dir, id);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	while (fread(h, 1, VLOG_REC_HDR, fp) == VLOG_REC_HDR) {
		uint32_t magic = get_le32(h);

		if (magic == WAL_MAGIC) {
			assert_int_equal(fread(h + VLOG_REC_HDR, 1, WAL_HDR - VLOG_REC_HDR, fp),
					 WAL_HDR - VLOG_REC_HDR);
			off += WAL_HDR + get_le32(h + 16);
			wal += WAL_HDR + get_le32(h + 16);
		} else {
			assert_int_equal(magic, VLOG_REC_MAGIC);
			off += VLOG_REC_HDR + get_le32(h + 12) + (uint64_t)get_le32(h + 20);
		}
		assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
	}
	fclose(fp);
	return wal;
}

/*
 * Files on disk are exactly the segments the store reports, and every sealed one is clean:
 * no dead value, only (checkpointed) group records.
 */
static void check_files(struct test_store *f, bool sealed_clean)
{
	struct test_seglist l;
	struct hkv_stats st;
	uint64_t bytes;

	test_segments(f->db, &l);
	assert_int_equal(seg_files(f->dir, &bytes), l.n);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.segments, l.n);
	assert_int_equal(st.vlog_bytes, bytes);
	for (size_t i = 0; i < l.n; i++) {
		assert_true(seg_file_exists(f->dir, l.s[i].id));
		if (sealed_clean && !l.s[i].active)
			assert_int_equal(l.s[i].dead, seg_wal_bytes(f->dir, l.s[i].id));
	}
}

/* Compact until no sealed segment has dead bytes (copies can seal the active segment). */
static void compact_until_clean(struct test_store *f)
{
	int rounds = 0;

	while (hkv_compact(f->db, true) > 0)
		assert_true(++rounds < 5);
	check_files(f, true);
}

#define LO 2000
#define HI 20000

static void test_compact_all(void **state)
{
	struct test_store *f = *state;
	enum { N = 200 };
	int64_t gen[N];
	struct hkv_stats before, after;
	struct test_seglist l;
	uint64_t files_before, files_after;
	int rc;

	test_store_open(f);
	for (uint32_t i = 0; i < N; i++) {
		put_gen(f->db, i, 0, LO, HI);
		gen[i] = 0;
	}
	for (uint32_t i = 0; i < N; i += 3) {
		put_gen(f->db, i, 1, LO, HI);
		gen[i] = 1;
	}
	for (uint32_t i = 0; i < N; i += 5) {
		char key[32];

		key_name(key, i);
		assert_int_equal(hkv_del(f->db, key, strlen(key)), 1);
		gen[i] = -1;
	}
	verify(f->db, gen, N, LO, HI);
	assert_int_equal(hkv_stats_get(f->db, &before), 0);
	assert_true(before.vlog_dead > 0);
	assert_true(before.segments >= 3);
	seg_files(f->dir, &files_before);
	test_segments(f->db, &l);

	rc = hkv_compact(f->db, true);
	assert_true(rc > 0);
	verify(f->db, gen, N, LO, HI);
	assert_int_equal(hkv_stats_get(f->db, &after), 0);
	assert_int_equal(after.compactions, (uint64_t)rc);
	assert_true(after.compact_bytes > 0);
	assert_true(after.vlog_bytes < before.vlog_bytes);
	assert_int_equal(after.vlog_live, before.vlog_live);
	assert_int_equal(after.crc_errors, 0);
	seg_files(f->dir, &files_after);
	assert_true(files_after < files_before);
	assert_true(before.vlog_bytes - after.vlog_bytes <= after.compact_bytes);
	/* every sealed segment that had dead bytes is gone */
	for (size_t i = 0; i < l.n; i++)
		if (!l.s[i].active && l.s[i].dead)
			assert_false(seg_file_exists(f->dir, l.s[i].id));
	/* the segment active during the run may have been sealed since, with dead bytes */
	check_files(f, false);
	compact_until_clean(f);
	verify(f->db, gen, N, LO, HI);

	test_store_reopen(f);
	verify(f->db, gen, N, LO, HI);
	check_files(f, true);
	assert_int_equal(hkv_compact(f->db, true), 0);
	verify(f->db, gen, N, LO, HI);
}

/* The background rule: only segments over both thresholds. */
static void test_compact_thresholds(void **state)
{
	struct test_store *f = *state;
	enum { N = 60, SZ = 50000 };
	int64_t gen[N];
	struct test_seglist l;
	uint32_t first, second;

	f->opt.compact_dead_pct = 50;
	f->opt.compact_min_bytes = 100000;
	test_store_open(f);
	/* 20 values of SZ bytes fill one 1 MiB segment */
	for (uint32_t i = 0; i < N; i++) {
		put_gen(f->db, i, 0, SZ, SZ);
		gen[i] = 0;
	}
	test_segments(f->db, &l);
	assert_true(l.n >= 3);
	first = l.s[0].id;
	second = l.s[1].id;
	for (uint32_t i = 0; i < 14; i++) { /* 70% of the first segment */
		put_gen(f->db, i, 1, SZ, SZ);
		gen[i] = 1;
	}
	for (uint32_t i = 20; i < 22; i++) { /* 10% of the second */
		put_gen(f->db, i, 1, SZ, SZ);
		gen[i] = 1;
	}
	assert_int_equal(hkv_compact(f->db, false), 1);
	assert_false(seg_file_exists(f->dir, first));
	assert_true(seg_file_exists(f->dir, second));
	verify(f->db, gen, N, SZ, SZ);
	assert_int_equal(hkv_compact(f->db, false), 0);
	/* @all takes the second too */
	assert_int_equal(hkv_compact(f->db, true), 1);
	assert_false(seg_file_exists(f->dir, second));
	verify(f->db, gen, N, SZ, SZ);
	compact_until_clean(f);
}

/* A renamed key is not named by its record: the index search finds it. */
static void test_compact_renamed(void **state)
{
	struct test_store *f = *state;
	enum { N = 40, SZ = 50000 };
	int64_t gen[N];
	struct test_seglist l;
	struct hkv_buf b;
	char key[32];
	uint32_t first;

	test_store_open(f);
	for (uint32_t i = 0; i < N; i++) {
		put_gen(f->db, i, 0, SZ, SZ);
		gen[i] = 0;
	}
	test_segments(f->db, &l);
	first = l.s[0].id;
	/* keys 0..4 live in the first segment under other names */
	for (uint32_t i = 0; i < 5; i++) {
		char to[32];

		key_name(key, i);
		snprintf(to, sizeof(to), "moved-%u", i);
		assert_int_equal(hkv_rename(f->db, key, strlen(key), to, strlen(to), 0), 0);
		gen[i] = -1;
	}
	for (uint32_t i = 5; i < 10; i++) {
		put_gen(f->db, i, 1, SZ, SZ);
		gen[i] = 1;
	}
	assert_true(hkv_compact(f->db, true) >= 1);
	assert_false(seg_file_exists(f->dir, first));
	verify(f->db, gen, N, SZ, SZ);
	for (uint32_t i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "moved-%u", i);
		assert_int_equal(hkv_get(f->db, key, strlen(key), &b), 0);
		assert_int_equal(val_check(b.data, b.len, i, SZ, SZ), 0);
		hkv_buf_release(&b);
	}
	compact_until_clean(f);
	test_store_reopen(f);
	verify(f->db, gen, N, SZ, SZ);
}

/* A compaction with nothing to do, and one of a segment whose every record died. */
static void test_compact_trivial(void **state)
{
	struct test_store *f = *state;
	enum { N = 40, SZ = 50000 };
	int64_t gen[N];
	struct hkv_stats st;
	char key[32];

	test_store_open(f);
	assert_int_equal(hkv_compact(f->db, true), 0);
	for (uint32_t i = 0; i < N; i++) {
		put_gen(f->db, i, 0, SZ, SZ);
		gen[i] = 0;
	}
	assert_int_equal(hkv_compact(f->db, true), 0);
	for (uint32_t i = 0; i < 20; i++) {
		key_name(key, i);
		assert_int_equal(hkv_del(f->db, key, strlen(key)), 1);
		gen[i] = -1;
	}
	assert_int_equal(hkv_compact(f->db, true), 1);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_true(st.compact_bytes >= 20 * (uint64_t)SZ);
	verify(f->db, gen, N, SZ, SZ);
	compact_until_clean(f);
}

/* ------------------------------------------------------------------------------------
 * Readers and writers during compaction
 */

enum { CN = 64, CLO = 4000, CHI = 40000 };

struct conc {
	struct hkv *db;
	atomic_int_fast64_t gen[CN];  /* last generation whose write returned */
	atomic_bool stop;
	atomic_int errors;
	atomic_long reads;
};

/* A reader's own arguments: its seed is set before the thread starts, never shared. */
struct reader_arg {
	struct conc *c;
	uint64_t seed;
};

static void *reader_main(void *arg)
{
	struct reader_arg *ra = arg;
	struct conc *c = ra->c;
	uint64_t s = ra->seed;
	char key[32];

	while (!atomic_load(&c->stop)) {
		uint32_t i = (uint32_t)(test_rng(&s) % CN);
		int64_t g0 = atomic_load(&c->gen[i]), g;
		struct hkv_buf b;
		int rc;

		key_name(key, i);
		rc = hkv_get(c->db, key, strlen(key), &b);
		if (rc) {
			fprintf(stderr, "reader: %s: %s\n", key, hkv_strerror(rc));
			atomic_fetch_add(&c->errors, 1);
			continue;
		}
		g = val_check(b.data, b.len, i, CLO, CHI);
		if (g < g0) {
			fprintf(stderr, "reader: %s: generation %lld, expected >= %lld\n", key,
				(long long)g, (long long)g0);
			atomic_fetch_add(&c->errors, 1);
		}
		hkv_buf_release(&b);
		atomic_fetch_add(&c->reads, 1);
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct conc *c = arg;
	uint64_t s = 12345;

	for (int n = 0; n < 1500; n++) {
		uint32_t i = (uint32_t)(test_rng(&s) % CN);
		int64_t g = atomic_load(&c->gen[i]) + 1;

		put_gen(c->db, i, (uint64_t)g, CLO, CHI);
		atomic_store(&c->gen[i], g);
	}
	atomic_store(&c->stop, true);
	return NULL;
}

static void test_compact_concurrent(void **state)
{
	struct test_store *f = *state;
	struct conc c = { 0 };
	struct reader_arg ra[2];
	pthread_t rd[2], wr;
	int64_t gen[CN];
	struct hkv_stats st;
	int rounds = 0, total = 0;

	test_store_open(f);
	c.db = f->db;
	for (uint32_t i = 0; i < CN; i++) {
		put_gen(f->db, i, 0, CLO, CHI);
		atomic_init(&c.gen[i], 0);
	}
	for (int i = 0; i < 2; i++) {
		ra[i] = (struct reader_arg){ &c, 99 + (uint64_t)i };
		assert_int_equal(pthread_create(&rd[i], NULL, reader_main, &ra[i]), 0);
	}
	assert_int_equal(pthread_create(&wr, NULL, writer_main, &c), 0);
	while (!atomic_load(&c.stop)) {
		int rc = hkv_compact(f->db, true);

		assert_true(rc >= 0);
		total += rc;
		rounds++;
	}
	assert_int_equal(pthread_join(wr, NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(rd[i], NULL), 0);
	assert_int_equal(atomic_load(&c.errors), 0);
	assert_true(atomic_load(&c.reads) > 0);
	assert_true(rounds > 0);

	for (uint32_t i = 0; i < CN; i++)
		gen[i] = atomic_load(&c.gen[i]);
	verify(f->db, gen, CN, CLO, CHI);
	assert_true(total > 0);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.compactions, (uint64_t)total);
	assert_int_equal(st.crc_errors, 0);
	compact_until_clean(f);
	verify(f->db, gen, CN, CLO, CHI);
	test_store_reopen(f);
	verify(f->db, gen, CN, CLO, CHI);
}

/* ------------------------------------------------------------------------------------
 * Crash at every step: a child compacts and is killed at the k-th hook call
 */

enum { XN = 2500, XLO = 900, XHI = 1100 };

static int hook_calls, hook_kill_at;

static void kill_hook(struct hkv *db, enum vlog_stage stage, uint32_t seg)
{
	(void)db;
	(void)stage;
	(void)seg;
	if (++hook_calls == hook_kill_at)
		raise(SIGKILL);
}

static void populate(struct test_store *f, int64_t *gen)
{
	test_store_open(f);
	for (uint32_t i = 0; i < XN; i++) {
		put_gen(f->db, i, 0, XLO, XHI);
		gen[i] = 0;
	}
	for (uint32_t i = 0; i < XN; i += 4) {
		put_gen(f->db, i, 1, XLO, XHI);
		gen[i] = 1;
	}
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
}

/* Run a compaction in a child killed at hook call @kill_at (0: never). Return its status. */
static int child_compact(struct test_store *f, int kill_at)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		struct hkv *db = NULL;

		f->opt.sync = HKV_SYNC_ALWAYS;
		hook_calls = 0;
		hook_kill_at = kill_at;
		vlog_test_hook = kill_hook;
		if (hkv_open(f->dir, &f->opt, &db))
			_exit(100);
		if (hkv_compact(db, true) <= 0)
			_exit(101);
		hkv_close(db);
		_exit(hook_calls < 100 ? hook_calls : 99);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_compact_crash_steps(void **state)
{
	struct test_store *f = *state;
	int64_t *gen = calloc(XN, sizeof(*gen));
	int status, calls;

	assert_non_null(gen);
	populate(f, gen);
	status = child_compact(f, 0);
	assert_true(WIFEXITED(status));
	calls = WEXITSTATUS(status);
	/* two sealed segments, two batches each: copy, sync, commit twice, flush, drop */
	assert_true(calls >= 8 && calls < 99);

	for (int k = 1; k <= calls; k++) {
		struct hkv_stats st;

		test_rmrf(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		populate(f, gen);
		status = child_compact(f, k);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		test_store_open(f);
		verify(f->db, gen, XN, XLO, XHI);
		check_files(f, false);
		compact_until_clean(f);
		verify(f->db, gen, XN, XLO, XHI);
		assert_int_equal(hkv_stats_get(f->db, &st), 0);
		assert_int_equal(st.crc_errors, 0);
		test_store_reopen(f);
		verify(f->db, gen, XN, XLO, XHI);
		assert_int_equal(hkv_close(f->db), 0);
		f->db = NULL;
	}
	free(gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compact_all, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compact_thresholds, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compact_renamed, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compact_trivial, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compact_concurrent, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compact_crash_steps, setup, test_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
