// SPDX-License-Identifier: MIT
/*
 * test_vlog.c - the value log: round trips of many sizes, compression, segment rollover,
 * reopen, ranges, corruption detection and recovery of torn or uncommitted tails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "teststore.h"
#include "hkv_int.h"
#include "vlog_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "vlog", 16, 1 << 20);
}

/* Deterministic bytes: random (incompressible) or a repeating text (compressible). */
static void fill(unsigned char *p, size_t len, uint64_t seed, bool compressible)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	if (compressible) {
		for (size_t i = 0; i < len; i++)
			p[i] = (unsigned char)("the quick brown fox "[(i + seed) % 20]);
		return;
	}
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = test_rng(&s);

		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

static void put(struct hkv *db, const char *key, size_t len, uint64_t seed, bool compressible)
{
	unsigned char *v = malloc(len + 1);

	assert_non_null(v);
	fill(v, len, seed, compressible);
	assert_int_equal(hkv_set(db, key, strlen(key), v, len, NULL), 1);
	free(v);
}

static void check(struct hkv *db, const char *key, size_t len, uint64_t seed, bool compressible)
{
	unsigned char *v = malloc(len + 1);
	struct hkv_buf b;

	assert_non_null(v);
	fill(v, len, seed, compressible);
	assert_int_equal(hkv_get(db, key, strlen(key), &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, v, len);
	hkv_buf_release(&b);
	free(v);
}

static char *seg_path(const struct test_store *f, uint32_t id)
{
	char *p;

	assert_true(asprintf(&p, "%s/vlog/%08x.seg", f->dir, id) > 0);
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Number of .seg files in the store's vlog directory. */
static size_t count_seg_files(const struct test_store *f)
{
	char *path;
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	assert_true(asprintf(&path, "%s/vlog", f->dir) > 0);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".seg"))
			n++;
	closedir(d);
	free(path);
	return n;
}

/*
 * Walk the records of segment file @path: value records ("HKVR") and the log's group records
 * ("HKVW"), which must tile the file exactly. Return: the offset of the value record of @key
 * (or -1) with *@flags and *@len; *@wal gets the bytes of group records (if not NULL).
 */
static long walk_records(const char *path, const char *key, unsigned *flags, size_t *len,
			 uint64_t *wal)
{
	FILE *fp = fopen(path, "rb");
	unsigned char h[WAL_HDR], kb[HKV_KEY_MAX];
	long off = 0, found = -1;
	uint64_t wb = 0;
	size_t got;

	assert_non_null(fp);
	while ((got = fread(h, 1, VLOG_REC_HDR, fp)) == VLOG_REC_HDR) {
		uint32_t magic = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
		uint32_t klen = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
		uint32_t slen = h[20] | h[21] << 8 | h[22] << 16 | (uint32_t)h[23] << 24;

		if (magic == WAL_MAGIC) {
			long rl = WAL_HDR + (long)(h[16] | h[17] << 8 | h[18] << 16 |
						   (uint32_t)h[19] << 24);

			off += rl;
			wb += (uint64_t)rl;
			assert_int_equal(fseek(fp, off, SEEK_SET), 0);
			continue;
		}
		assert_int_equal(magic, VLOG_REC_MAGIC);
		assert_true(klen <= HKV_KEY_MAX);
		assert_int_equal(fread(kb, 1, klen, fp), klen);
		if (key && klen == strlen(key) && !memcmp(kb, key, klen)) {
			found = off;
			*flags = h[8];
			*len = VLOG_REC_HDR + klen + slen;
		}
		off += VLOG_REC_HDR + klen + slen;
		assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	}
	assert_int_equal(got, 0); /* no partial record at the end */
	fclose(fp);
	if (wal)
		*wal = wb;
	return found;
}

static long find_record(const char *path, const char *key, unsigned *flags, size_t *len)
{
	return walk_records(path, key, flags, len, NULL);
}

/* Bytes of group records in segment file @path (the rest are value records). */
static uint64_t wal_bytes(const char *path)
{
	uint64_t wb;

	walk_records(path, NULL, NULL, NULL, &wb);
	return wb;
}

static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static const size_t sizes[] = {
	0, 1, 15, 16, 17, 100, 255, 1000, 4095, 4096, 4097, 65535, 65536, 100000, 262144,
	(1 << 20) - 1, (1 << 20) + 3, 3 * (1 << 20) + 7,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void round_trip(struct test_store *f, bool compress)
{
	char key[32];

	f->opt.compress = compress;
	test_store_open(f);
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(key, sizeof(key), "size-%zu", i);
		put(f->db, key, sizes[i], i, i % 2);
		check(f->db, key, sizes[i], i, i % 2);
	}
	test_store_reopen(f);
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(key, sizeof(key), "size-%zu", i);
		check(f->db, key, sizes[i], i, i % 2);
		assert_int_equal(hkv_strlen(f->db, key, strlen(key)), (int64_t)sizes[i]);
	}
}

static void test_round_trip(void **state)
{
	round_trip(*state, false);
}

static void test_round_trip_compressed(void **state)
{
	round_trip(*state, true);
}

/* Compression is decided per record: only where it saves at least 1/8. */
static void test_compress_flag(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	unsigned flags;
	size_t len;
	char *path;
	struct hkv_stats st;

	f->opt.compress = true;
	test_store_open(f);
	put(f->db, "text", 200000, 1, true);
	put(f->db, "noise", 200000, 2, false);
	put(f->db, "short", 40, 3, true); /* too short to be worth it */
	test_segments(f->db, &l);
	assert_int_equal(l.n, 1);
	path = seg_path(f, l.s[0].id);
	assert_true(find_record(path, "text", &flags, &len) >= 0);
	assert_int_equal(flags, VLOG_REC_ZLIB);
	assert_true(len < 200000 / 8);
	assert_true(find_record(path, "noise", &flags, &len) >= 0);
	assert_int_equal(flags, 0);
	assert_int_equal(len, VLOG_REC_HDR + 5 + 200000);
	assert_true(find_record(path, "short", &flags, &len) >= 0);
	assert_int_equal(flags, 0);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.vlog_bytes, file_size(path));
	/* the log's group records are dead bytes from the start: the index holds them */
	assert_int_equal(st.vlog_live, st.vlog_bytes - wal_bytes(path));
	assert_int_equal(st.vlog_dead, wal_bytes(path));
	test_store_reopen(f);
	check(f->db, "text", 200000, 1, true);
	check(f->db, "noise", 200000, 2, false);
	check(f->db, "short", 40, 3, true);

	/* compression off: a compressible value is stored as it is */
	f->opt.compress = false;
	test_store_reopen(f);
	put(f->db, "text2", 200000, 4, true);
	assert_true(find_record(path, "text2", &flags, &len) >= 0);
	assert_int_equal(flags, 0);
	check(f->db, "text", 200000, 1, true);
	free(path);
}

static void test_rollover(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	struct hkv_stats st;
	uint64_t total = 0;
	char key[32];
	int active = 0;

	test_store_open(f);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		put(f->db, key, 100000, (uint64_t)i, false);
	}
	test_segments(f->db, &l);
	assert_true(l.n >= 4);
	for (size_t i = 0; i < l.n; i++) {
		char *p = seg_path(f, l.s[i].id);

		if (i)
			assert_true(l.s[i].id > l.s[i - 1].id);
		active += l.s[i].active;
		assert_int_equal(l.s[i].bytes, file_size(p));
		assert_true(l.s[i].bytes <= f->opt.segment_size);
		assert_int_equal(l.s[i].live, l.s[i].bytes - wal_bytes(p));
		total += l.s[i].bytes;
		free(p);
	}
	assert_int_equal(active, 1);
	assert_true(l.s[l.n - 1].active);
	assert_int_equal(count_seg_files(f), l.n);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.segments, l.n);
	assert_int_equal(st.vlog_bytes, total);
	test_store_reopen(f);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		check(f->db, key, 100000, (uint64_t)i, false);
	}
	test_segments(f->db, &l);
	assert_int_equal(count_seg_files(f), l.n);
}

/* Overwrites and deletes turn live bytes into dead ones. */
static void test_accounting(void **state)
{
	struct test_store *f = *state;
	struct hkv_stats st;

	struct test_seglist l;
	char *path;

	test_store_open(f);
	put(f->db, "a", 1000, 1, false);
	put(f->db, "b", 2000, 2, false);
	test_segments(f->db, &l);
	assert_int_equal(l.n, 1);
	path = seg_path(f, l.s[0].id);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.vlog_live, 2 * VLOG_REC_HDR + 2 + 3000);
	assert_int_equal(st.vlog_dead, wal_bytes(path));
	put(f->db, "a", 500, 3, false);
	assert_int_equal(hkv_del(f->db, "b", 1), 1);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.vlog_live, VLOG_REC_HDR + 1 + 500);
	assert_int_equal(st.vlog_dead, 2 * VLOG_REC_HDR + 2 + 3000 + wal_bytes(path));
	free(path);
	/* a short value goes inline: the old record dies */
	assert_int_equal(hkv_set(f->db, "a", 1, "x", 1, NULL), 1);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.vlog_live, 0);
	test_store_reopen(f);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.vlog_live, 0);
}

static void getrange(struct test_store *f, bool compress)
{
	const size_t len = 300000;
	unsigned char *v = malloc(len), *buf = malloc(len + 10);
	static const struct {
		uint64_t off;
		size_t len;
	} cases[] = {
		{ 0, 1 }, { 0, 300000 }, { 1, 299999 }, { 12345, 4096 }, { 299999, 1 },
		{ 299999, 100 }, { 150000, 0 }, { 262143, 65536 }, { 100, 300000 },
	};

	f->opt.compress = compress;
	test_store_open(f);
	fill(v, len, 7, compress);
	assert_int_equal(hkv_set(f->db, "r", 1, v, len, NULL), 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t o = cases[i].off;
		size_t want = o + cases[i].len > len ? len - o : cases[i].len;

		memset(buf, 0xee, len + 10);
		assert_int_equal(hkv_getrange(f->db, "r", 1, o, buf, cases[i].len),
				 (ssize_t)want);
		assert_memory_equal(buf, v + o, want);
		assert_int_equal(buf[want], 0xee);
	}
	assert_int_equal(hkv_getrange(f->db, "r", 1, len, buf, 10), 0);
	assert_int_equal(hkv_getrange(f->db, "r", 1, len + 100, buf, 10), 0);
	free(v);
	free(buf);
}

static void test_getrange(void **state)
{
	getrange(*state, false);
}

static void test_getrange_compressed(void **state)
{
	getrange(*state, true);
}

static void corrupt_one(struct test_store *f, bool compress, long where)
{
	struct test_seglist l;
	struct hkv_stats st;
	struct hkv_buf b = { 0 };
	unsigned char buf[64];
	unsigned flags;
	size_t len;
	long off;
	char *path;

	f->opt.compress = compress;
	test_store_open(f);
	put(f->db, "before", 50000, 1, compress);
	put(f->db, "victim", 50000, 2, compress);
	put(f->db, "after", 50000, 3, compress);
	test_segments(f->db, &l);
	assert_int_equal(l.n, 1);
	path = seg_path(f, l.s[0].id);
	off = find_record(path, "victim", &flags, &len);
	assert_true(off >= 0);
	assert_int_equal(flags, compress ? VLOG_REC_ZLIB : 0);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	flip_byte(path, off + (where >= 0 ? where : (long)len + where));
	test_store_open(f);

	assert_int_equal(hkv_get(f->db, "victim", 6, &b), -HKV_ECORRUPT);
	assert_null(b.data);
	assert_int_equal(hkv_getrange(f->db, "victim", 6, 0, buf, sizeof(buf)), -HKV_ECORRUPT);
	assert_int_equal(hkv_getrange(f->db, "victim", 6, 49990, buf, 10), -HKV_ECORRUPT);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.crc_errors, 3);
	check(f->db, "before", 50000, 1, compress);
	check(f->db, "after", 50000, 3, compress);
	/* the key can still be replaced */
	put(f->db, "victim", 50000, 4, compress);
	check(f->db, "victim", 50000, 4, compress);
	free(path);
}

static void test_corrupt_body(void **state)
{
	corrupt_one(*state, false, -100);
}

static void test_corrupt_body_compressed(void **state)
{
	corrupt_one(*state, true, -3);
}

static void test_corrupt_header(void **state)
{
	corrupt_one(*state, false, 0); /* magic */
}

static void test_corrupt_key(void **state)
{
	corrupt_one(*state, false, VLOG_REC_HDR + 1);
}

static void test_corrupt_length(void **state)
{
	corrupt_one(*state, true, 16); /* vlen */
}

/* A torn write at the end of the active segment is cut off at open; nothing committed is lost. */
static void test_torn_tail(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	unsigned char junk[5000];
	uint64_t size;
	char *path;
	int fd;

	test_store_open(f);
	put(f->db, "a", 30000, 1, false);
	put(f->db, "b", 30000, 2, false);
	test_segments(f->db, &l);
	path = seg_path(f, l.s[l.n - 1].id);
	size = file_size(path);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;

	/* half a record: a valid-looking header and part of its body */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	fill(junk, sizeof(junk), 9, false);
	memcpy(junk, "HKVR", 4);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(file_size(path), size + sizeof(junk));

	test_store_open(f);
	assert_int_equal(file_size(path), size);
	check(f->db, "a", 30000, 1, false);
	check(f->db, "b", 30000, 2, false);
	put(f->db, "c", 30000, 3, false);
	test_store_reopen(f);
	check(f->db, "a", 30000, 1, false);
	check(f->db, "b", 30000, 2, false);
	check(f->db, "c", 30000, 3, false);
	/* nothing of the junk is left: the records tile the file, c's right where it was cut */
	{
		unsigned flags;
		size_t len;

		assert_int_equal(find_record(path, "c", &flags, &len), (long)size);
		assert_int_equal(len, VLOG_REC_HDR + 1 + 30000);
	}
	free(path);
}

/* Records appended by writes that never committed are gone after a reopen. */
static void test_uncommitted_tail(void **state)
{
	struct test_store *f = *state;
	struct vlog_ref ref;
	struct test_seglist l;
	unsigned char v[20000];
	uint64_t size;
	char *path;

	test_store_open(f);
	put(f->db, "a", 20000, 1, false);
	test_segments(f->db, &l);
	path = seg_path(f, l.s[0].id);
	size = file_size(path);
	fill(v, sizeof(v), 2, false);
	assert_int_equal(vlog_append(f->db->vlog, "zz", 2, v, sizeof(v), &ref), 0);
	assert_int_equal(ref.seg, l.s[0].id);
	assert_int_equal(ref.off, size);
	assert_int_equal(vlog_read(f->db->vlog, &ref, "zz", 2, 0, v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(file_size(path), size + ref.len);
	test_store_reopen(f);
	assert_int_equal(file_size(path), size);
	check(f->db, "a", 20000, 1, false);
	free(path);
}

/*
 * Segment files the index does not know: an older one (before the checkpoint: nothing in it
 * can be referred to) and a newer one (after the end of the log: left by a crash) are both
 * removed at open; new records go to a segment numbered after every id ever seen.
 */
static void test_orphan_segments(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	char *old, *newer;
	uint32_t id;
	FILE *fp;

	test_store_open(f);
	put(f->db, "a", 20000, 1, false);
	test_segments(f->db, &l);
	id = l.s[0].id;
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	assert_true(id > 0);
	old = seg_path(f, id - 1);
	newer = seg_path(f, id + 5);
	fp = fopen(old, "w");
	assert_non_null(fp);
	fputs("garbage", fp);
	fclose(fp);
	fp = fopen(newer, "w");
	assert_non_null(fp);
	fputs("more garbage", fp);
	fclose(fp);

	test_store_open(f);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(access(newer, F_OK), -1);
	check(f->db, "a", 20000, 1, false);
	put(f->db, "b", 20000, 2, false);
	test_segments(f->db, &l);
	assert_true(l.n >= 1);
	assert_true(l.s[l.n - 1].active);
	assert_true(l.s[l.n - 1].id == id || l.s[l.n - 1].id > id + 5);
	test_store_reopen(f);
	check(f->db, "a", 20000, 1, false);
	check(f->db, "b", 20000, 2, false);
	free(old);
	free(newer);
}

/* A segment file that disappeared: its values read as corrupt, never hang or crash. */
static void test_missing_segment(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	struct hkv_buf b = { 0 };
	char key[16];
	char *path;

	test_store_open(f);
	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "m%d", i);
		put(f->db, key, 100000, (uint64_t)i, false);
	}
	test_segments(f->db, &l);
	assert_true(l.n >= 3);
	path = seg_path(f, l.s[0].id);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	assert_int_equal(unlink(path), 0);
	test_store_open(f);
	assert_int_equal(hkv_get(f->db, "m0", 2, &b), -HKV_ECORRUPT);
	check(f->db, "m29", 100000, 29, false);
	free(path);
}

/*
 * Another key's intact record where a reference points (a reused offset, a misdirected write):
 * the CRC holds, but the record names another key, so the read is -HKV_ECORRUPT, never that
 * key's bytes.
 */
static void test_wrong_key_record(void **state)
{
	struct test_store *f = *state;
	struct hkv_buf b = { 0 };
	struct hkv_stats st;
	struct test_seglist l;
	unsigned char *rec;
	unsigned flags;
	size_t alen, blen;
	long aoff, boff;
	char *path;
	int fd;

	test_store_open(f);
	put(f->db, "ka", 5000, 1, false);
	put(f->db, "kb", 5000, 2, false);
	test_segments(f->db, &l);
	path = seg_path(f, l.s[0].id);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	aoff = find_record(path, "ka", &flags, &alen);
	boff = find_record(path, "kb", &flags, &blen);
	assert_true(aoff >= 0 && boff >= 0);
	assert_int_equal(alen, blen);
	/* kb's record, byte for byte, where ka's reference points */
	rec = malloc(blen);
	assert_non_null(rec);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, rec, blen, boff), (ssize_t)blen);
	assert_int_equal(pwrite(fd, rec, blen, aoff), (ssize_t)blen);
	close(fd);
	free(rec);

	test_store_open(f);
	assert_int_equal(hkv_get(f->db, "ka", 2, &b), -HKV_ECORRUPT);
	assert_null(b.data);
	check(f->db, "kb", 5000, 2, false);
	assert_int_equal(hkv_stats_get(f->db, &st), 0);
	assert_int_equal(st.crc_errors, 1);
	/* the key can be overwritten */
	put(f->db, "ka", 5000, 3, false);
	check(f->db, "ka", 5000, 3, false);
	free(path);
}

/*
 * A segment found shorter than its committed end (the tail lost in a system crash): the
 * references past its end read as -HKV_ECORRUPT, those before it read fine, and the segment
 * is sealed: new records go to a new segment, never to offsets old references still name.
 */
static void test_short_segment(void **state)
{
	struct test_store *f = *state;
	struct hkv_buf b = { 0 };
	struct test_seglist l;
	uint32_t id;
	uint64_t cut;
	char key[16];
	char *path;

	test_store_open(f);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		put(f->db, key, 10000, (uint64_t)i, false);
	}
	test_segments(f->db, &l);
	assert_int_equal(l.n, 1);
	id = l.s[0].id;
	path = seg_path(f, id);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	/* keep the first four records and half of the fifth */
	cut = 4 * (VLOG_REC_HDR + 2 + 10000) + 5000;
	assert_true(file_size(path) > cut);
	assert_int_equal(truncate(path, (off_t)cut), 0);

	for (int round = 0; round < 2; round++) {
		test_store_open(f);
		for (int i = 0; i < 8; i++) {
			snprintf(key, sizeof(key), "s%d", i);
			if (i < 4) {
				check(f->db, key, 10000, (uint64_t)i, false);
			} else {
				assert_int_equal(hkv_get(f->db, key, strlen(key), &b), -HKV_ECORRUPT);
				assert_null(b.data);
			}
		}
		/* new values land in another segment; the short one keeps its size */
		snprintf(key, sizeof(key), "n%d", round);
		put(f->db, key, 10000, 100 + (uint64_t)round, false);
		assert_int_equal(file_size(path), cut);
		test_segments(f->db, &l);
		assert_true(l.n >= 2);
		assert_int_equal(l.s[0].id, id);
		assert_false(l.s[0].active);
		for (int r = 0; r <= round; r++) {
			snprintf(key, sizeof(key), "n%d", r);
			check(f->db, key, 10000, 100 + (uint64_t)r, false);
		}
		assert_int_equal(hkv_close(f->db), 0);
		f->db = NULL;
	}
	test_store_open(f);
	free(path);
}

/*
 * The record checksum (crc.c) is zlib's crc32(), whichever way it is computed: every length up
 * to 1100 bytes (every path of the folding loops, and the tails) at every alignment of 16,
 * from three starting values, over bytes of a fixed generator.
 */
static void test_crc32_is_zlibs(void **state)
{
	static unsigned char b[1200];
	static const uint32_t init[] = { 0, 0xdeadbeef, 0xffffffff };
	uint64_t s = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(b); i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(s >> 56);
	}
	for (size_t len = 0; len <= 1100; len++)
		for (size_t off = 0; off < 16; off++)
			for (size_t c = 0; c < 3; c++)
				assert_int_equal(hkv_crc32(init[c], b + off, len),
						 (uint32_t)crc32_z(init[c], b + off, len));
	/* a checksum in pieces is the checksum of the whole */
	assert_int_equal(hkv_crc32(hkv_crc32(0, b, 77), b + 77, 900),
			 (uint32_t)crc32_z(0, b, 977));
}

static void test_ref_codec(void **state)
{
	struct vlog_ref a = { 0x01020304, 0xa0b0c0d0, 0x1122334455667788ull, 0xffeeddccull }, b;
	unsigned char p[VLOG_REF_SIZE];

	(void)state;
	vlog_ref_encode(p, &a);
	vlog_ref_decode(p, &b);
	assert_int_equal(a.seg, b.seg);
	assert_int_equal(a.len, b.len);
	assert_int_equal(a.off, b.off);
	assert_int_equal(a.vlen, b.vlen);
	assert_int_equal(p[0], 0x04);
}

/* Read-only opens change nothing, not even a torn tail. */
static void test_read_only(void **state)
{
	struct test_store *f = *state;
	struct test_seglist l;
	uint64_t size;
	char *path;
	int fd;

	test_store_open(f);
	put(f->db, "a", 20000, 1, false);
	test_segments(f->db, &l);
	path = seg_path(f, l.s[0].id);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	size = file_size(path);
	f->opt.read_only = true;
	test_store_open(f);
	check(f->db, "a", 20000, 1, false);
	assert_int_equal(hkv_compact(f->db, true), -EROFS);
	assert_int_equal(file_size(path), size);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_is_zlibs),
		cmocka_unit_test(test_ref_codec),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_compressed, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_compress_flag, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_rollover, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_accounting, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_getrange, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_getrange_compressed, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_body, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_body_compressed, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_key, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_length, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_tail, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_segments, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_missing_segment, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_record, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_short_segment, setup, test_store_teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, test_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
