// SPDX-License-Identifier: MIT
/*
 * readdir_test.c - directory listing (fs/readdir.c) over a backend that cannot tell the
 * position after an entry: hkvfs_be_cursor_after() answers -EOPNOTSUPP (always, or every
 * other call), as a network backend does when it no longer remembers the batch a cursor came
 * from. The real readdir.c and inode table run without a FUSE session: fuse_reply_buf,
 * fuse_reply_open and fuse_req_userdata are wrapped (-Wl,--wrap) and the replies decoded.
 *
 * The backend holds NKEYS string keys at the root and reports them in batches of irregular
 * size (its cursor is the index of the next key). Checked, for getdents buffers of several
 * sizes (a few entries each: most replies end inside a batch): every key is listed exactly
 * once and in order, offsets grow by one; a listing resumed from an offset of the last reply
 * (as after seekdir) continues with the entry after that offset. The same with an exact
 * cursor_after(), the backend's usual case.
 *
 * Handle lifetime: RELEASEDIR served on one thread while a READDIR of the same handle is in
 * the middle of its scan on another (the backend's scan waits on a barrier while the main
 * thread releases the handle). The READDIR must finish with a handle that is still whole
 * (under AddressSanitizer, any use of the freed handle aborts the test) and list its entries;
 * afterwards the released number answers EBADF to READDIR and RELEASEDIR, also once a new
 * directory handle reuses the table's slot.
 *
 * Usage: readdir_test   (exit 0, or 1 with a message per failed check)
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"
#define TESTCHECK_HKVFS_LOG
#include "testcheck.h"

struct hkvfs hkvfs_g;

#define NKEYS 500

/* ---------------------------------------------------------------------------------------- */
/* the backend                                                                              */

enum after_mode { AFTER_NEVER, AFTER_ALTERNATE, AFTER_EXACT };
static enum after_mode after_mode;
static unsigned after_calls;

/* set: the next scan stops between the two barriers (the handle is in use meanwhile) */
static atomic_bool hold_scan;
static pthread_barrier_t in_scan, scan_go_on;

static void key_name(unsigned i, char *out)
{
	snprintf(out, 16, "k%05u", i);
}

static unsigned cur_get(const struct hkv_cursor *cur)
{
	uint32_t v = 0;

	if (cur->len == sizeof(v))
		memcpy(&v, cur->pos, sizeof(v));
	return v;
}

static void cur_put(struct hkv_cursor *cur, unsigned v)
{
	uint32_t u = v;

	memcpy(cur->pos, &u, sizeof(u));
	cur->len = sizeof(u);
	cur->done = v >= NKEYS;
}

/* batches of 5..17 keys, depending on where they start, at most opts->count */
static int fake_scan(struct hkvfs_be *be, struct hkv_cursor *cur,
		     const struct hkv_scan_opts *opts, hkv_scan_fn cb, void *arg)
{
	unsigned i = cur_get(cur), end = i + 5 + (i * 7) % 13, n = 0;
	char k[16];
	int rc;

	(void)be;
	if (atomic_exchange(&hold_scan, false)) {
		pthread_barrier_wait(&in_scan);
		pthread_barrier_wait(&scan_go_on);
	}
	if (cur->done)
		return 0;
	if (end > NKEYS)
		end = NKEYS;
	for (; i < end && n < opts->count; i++) {
		key_name(i, k);
		rc = cb(arg, k, strlen(k), HKV_TYPE_STRING, false);
		if (rc == HKV_SCAN_AGAIN)
			break;
		n++;
		if (rc) {
			i++;
			break;
		}
	}
	cur_put(cur, i);
	return (int)n;
}

static int fake_cursor_after(struct hkvfs_be *be, struct hkv_cursor *cur, const void *key,
			     size_t klen, bool is_prefix)
{
	char k[16];

	(void)be;
	(void)is_prefix;
	if (after_mode == AFTER_NEVER || (after_mode == AFTER_ALTERNATE && after_calls++ % 2))
		return -EOPNOTSUPP;
	if (klen != 6 || memcmp(key, "k", 1))
		return -EINVAL;
	memcpy(k, key, klen);
	k[klen] = 0;
	cur_put(cur, (unsigned)atoi(k + 1) + 1);
	return 0;
}

static int fake_exists(struct hkvfs_be *be, const void *key, size_t klen)
{
	(void)be;
	(void)key;
	(void)klen;
	return 0;
}

static const struct hkvfs_be_ops fake_ops = {
	.scan = fake_scan,
	.cursor_after = fake_cursor_after,
	.exists = fake_exists,
};
static struct hkvfs_be fake_be = { .ops = &fake_ops };

/* ---------------------------------------------------------------------------------------- */
/* the parts of the daemon readdir.c calls, and FUSE's replies                               */

bool hkvfs_is_marker(const unsigned char *c, size_t len)
{
	return len == HKVFS_MARKER_LEN && !memcmp(c, HKVFS_MARKER, len);
}

int hkvfs_key_type(struct hkvfs *fs, const struct hkvfs_ident *id)
{
	(void)fs;
	(void)id;
	return -ENOTDIR;
}

static int reply_errno;
static char reply_buf[65536];
static size_t reply_len;

void hkvfs_reply_err(fuse_req_t req, int rc)
{
	(void)req;
	reply_errno = rc < 0 ? -rc : rc;
}

void *__wrap_fuse_req_userdata(fuse_req_t req);
void *__wrap_fuse_req_userdata(fuse_req_t req)
{
	(void)req;
	return &hkvfs_g;
}

int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size);
int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	(void)req;
	memcpy(reply_buf, buf, size);
	reply_len = size;
	return 0;
}

int __wrap_fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi);
int __wrap_fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	(void)req;
	(void)fi;
	return 0;
}

int __wrap_fuse_reply_err(fuse_req_t req, int err);
int __wrap_fuse_reply_err(fuse_req_t req, int err)
{
	(void)req;
	reply_errno = err;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* a getdents loop, as the kernel drives READDIR                                            */

struct ent {
	uint64_t off;
	char name[64];
};

/* one READDIR of @size bytes from @off: the entries into @out (at most @max) */
static int readdir_once(struct fuse_file_info *fi, size_t size, uint64_t off, struct ent *out,
			int max)
{
	size_t pos = 0;
	int n = 0;

	reply_errno = 0;
	reply_len = 0;
	hkvfs_op_readdir(NULL, FUSE_ROOT_ID, size, (off_t)off, fi);
	if (reply_errno)
		return -reply_errno;
	while (pos + 24 <= reply_len && n < max) {
		/* struct fuse_dirent: ino, off, namelen, type, name (8-byte aligned records) */
		uint64_t eoff;
		uint32_t namelen;

		memcpy(&eoff, reply_buf + pos + 8, 8);
		memcpy(&namelen, reply_buf + pos + 16, 4);
		if (namelen >= sizeof(out[n].name))
			return -E2BIG;
		out[n].off = eoff;
		memcpy(out[n].name, reply_buf + pos + 24, namelen);
		out[n].name[namelen] = 0;
		n++;
		pos += (24 + namelen + 7) & ~(size_t)7;
	}
	return n;
}

/* list the root with READDIRs of @size bytes; every key once, in order, offsets 1, 2, ... */
static void list_all(size_t size, const char *what)
{
	struct fuse_file_info fi = { 0 };
	struct ent e[256];
	uint64_t off = 0, want_off = 1;
	unsigned next_key = 0, calls = 0;
	char k[16];
	bool ok = true;
	int n, i;

	hkvfs_op_opendir(NULL, FUSE_ROOT_ID, &fi);
	for (;;) {
		n = readdir_once(&fi, size, off, e, 256);
		calls++;
		if (n < 0) {
			fprintf(stderr, "FAIL %s, %zu-byte buffers: readdir: %s\n", what, size,
				strerror(-n));
			failures++;
			ok = false;
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n && ok; i++) {
			if (e[i].off != want_off) {
				fprintf(stderr, "FAIL %s, %zu-byte buffers: offset %llu, not %llu\n",
					what, size, (unsigned long long)e[i].off,
					(unsigned long long)want_off);
				ok = false;
			}
			want_off++;
			if (e[i].off <= 3)
				continue; /* ".", "..", ".hkv" */
			key_name(next_key, k);
			if (strcmp(e[i].name, k)) {
				fprintf(stderr, "FAIL %s, %zu-byte buffers: entry %llu is %s, not %s\n",
					what, size, (unsigned long long)e[i].off, e[i].name, k);
				ok = false;
			}
			next_key++;
		}
		if (!ok) {
			failures++;
			break;
		}
		/* every other reply, resume from an earlier offset of it (seekdir back) */
		if (n > 1 && calls % 2) {
			uint64_t back = e[n / 2 - 1].off;
			struct ent r[256];
			int rn = readdir_once(&fi, size, back, r, 256);

			CHECK(rn > 0 && r[0].off == back + 1 && !strcmp(r[0].name, e[n / 2].name));
		}
		off = e[n - 1].off;
	}
	if (ok && next_key != NKEYS) {
		fprintf(stderr, "FAIL %s, %zu-byte buffers: %u keys listed, not %u\n", what, size,
			next_key, NKEYS);
		failures++;
	}
	hkvfs_op_releasedir(NULL, FUSE_ROOT_ID, &fi);
}

/* ---------------------------------------------------------------------------------------- */
/* RELEASEDIR while a READDIR of the same handle runs                                       */

struct race_reader {
	struct fuse_file_info *fi;
	struct ent e[64];
	int n;
};

static void *race_read(void *arg)
{
	struct race_reader *r = arg;

	r->n = readdir_once(r->fi, 1000, 0, r->e, 64);
	return NULL;
}

static void release_during_readdir(void)
{
	struct fuse_file_info fi = { 0 }, fi2 = { 0 };
	struct race_reader r = { .fi = &fi };
	struct ent e[64];
	pthread_t t;
	int n;

	after_mode = AFTER_EXACT;
	pthread_barrier_init(&in_scan, NULL, 2);
	pthread_barrier_init(&scan_go_on, NULL, 2);
	hkvfs_op_opendir(NULL, FUSE_ROOT_ID, &fi);
	CHECK(fi.fh != 0);
	atomic_store(&hold_scan, true);
	if (pthread_create(&t, NULL, race_read, &r)) {
		fprintf(stderr, "FAIL: cannot start the reader thread\n");
		failures++;
		return;
	}
	/* the READDIR is inside the backend's scan, holding the handle */
	pthread_barrier_wait(&in_scan);
	reply_errno = -1;
	hkvfs_op_releasedir(NULL, FUSE_ROOT_ID, &fi);
	CHECK(reply_errno == 0);
	pthread_barrier_wait(&scan_go_on);
	pthread_join(t, NULL);
	/* the READDIR that was running lists what it found: ".", "..", ".hkv", k00000, ... */
	CHECK(r.n > 4);
	if (r.n > 4) {
		CHECK(r.e[0].off == 1 && !strcmp(r.e[0].name, "."));
		CHECK(r.e[3].off == 4 && !strcmp(r.e[3].name, "k00000"));
	}
	/* the number is gone: EBADF, never the freed handle */
	CHECK(readdir_once(&fi, 1000, 0, e, 64) == -EBADF);
	reply_errno = 0;
	hkvfs_op_releasedir(NULL, FUSE_ROOT_ID, &fi);
	CHECK(reply_errno == EBADF);
	/* a new handle takes the freed slot; the old number still finds nothing */
	hkvfs_op_opendir(NULL, FUSE_ROOT_ID, &fi2);
	CHECK(fi2.fh != 0 && fi2.fh != fi.fh);
	CHECK(readdir_once(&fi, 1000, 0, e, 64) == -EBADF);
	n = readdir_once(&fi2, 1000, 0, e, 64);
	CHECK(n > 4 && !strcmp(e[3].name, "k00000"));
	reply_errno = -1;
	hkvfs_op_releasedir(NULL, FUSE_ROOT_ID, &fi2);
	CHECK(reply_errno == 0);
	pthread_barrier_destroy(&in_scan);
	pthread_barrier_destroy(&scan_go_on);
}

int main(void)
{
	static const size_t sizes[] = { 100, 200, 330, 1000, 4096 };
	static const struct {
		enum after_mode mode;
		const char *what;
	} modes[] = {
		{ AFTER_NEVER, "cursor_after unsupported" },
		{ AFTER_ALTERNATE, "cursor_after failing every other call" },
		{ AFTER_EXACT, "exact cursor_after" },
	};
	size_t s, m;

	hkvfs_g.opts.delim = '/';
	hkvfs_g.opts.cache = HKVFS_CACHE_ON;
	hkvfs_g.be = &fake_be;
	if (hkvfs_itab_init()) {
		fprintf(stderr, "FAIL: cannot start the inode table\n");
		return 1;
	}
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		after_mode = modes[m].mode;
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			list_all(sizes[s], modes[m].what);
	}
	release_during_readdir();
	hkvfs_itab_destroy();
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
