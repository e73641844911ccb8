// SPDX-License-Identifier: MIT
/*
 * handle_test.c - open file handles (fs/handle.c) and the handle table (fs/htab.c) when
 * RELEASE is served on one worker thread while another request of the same handle is still
 * being served on another. The real handle.c, htab.c and inode table run without a FUSE
 * session: the libfuse replies are wrapped (-Wl,--wrap) and recorded per request, the store
 * is a test backend holding one hash field, and the daemon functions handle.c calls from
 * other files (attributes, elements, control files) are small stand-ins below.
 *
 * Checked:
 *  - A WRITE that is inside its first engine call (the backend waits on a barrier) while the
 *    main thread serves RELEASE of the same handle: RELEASE answers 0 and commits nothing
 *    (nothing was written yet); the WRITE then finds the handle released and answers EBADF,
 *    and nothing is committed after RELEASE. Under AddressSanitizer any use of the freed
 *    handle aborts the test.
 *  - After RELEASE the number answers EBADF to READ, WRITE, FLUSH, FSYNC and RELEASE, also
 *    once a new handle reuses the table slot; the new handle works.
 *  - The usual life: OPEN, WRITE, RELEASE commits the content exactly once.
 *
 * Usage: handle_test   (exit 0, or 1 with a message per failed check)
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

/* one request and what the daemon replied to it */
struct fuse_req {
	int err;       /* errno replied (0: success), -1 before the reply */
	size_t len;    /* bytes read or written */
	char data[64]; /* the READ reply */
};

static void req_init(struct fuse_req *r)
{
	memset(r, 0, sizeof(*r));
	r->err = -1;
}

/* ---------------------------------------------------------------------------------------- */
/* the backend: one hash "h" whose field content lives in the stand-ins of elem.c below    */

static atomic_bool hold_type; /* set: the next type() waits between the two barriers */
static pthread_barrier_t in_store, store_go_on;
static atomic_int commits;
static char committed[64];
static size_t committed_len;

static int fake_type(struct hkvfs_be *be, const void *key, size_t klen)
{
	(void)be;
	(void)key;
	(void)klen;
	if (atomic_exchange(&hold_type, false)) {
		pthread_barrier_wait(&in_store);
		pthread_barrier_wait(&store_go_on);
	}
	return HKV_TYPE_HASH;
}

static int fake_txn_run(struct hkvfs_be *be, hkvfs_be_txn_fn fn, void *arg)
{
	return fn(be, arg);
}

static int fake_sync(struct hkvfs_be *be)
{
	(void)be;
	return 0;
}

static const struct hkvfs_be_ops fake_ops = {
	.type = fake_type,
	.txn_run = fake_txn_run,
	.sync = fake_sync,
};
static struct hkvfs_be fake_be = { .ops = &fake_ops };

/* ---------------------------------------------------------------------------------------- */
/* what handle.c calls in other files of the daemon                                         */

int hkvfs_elem_get(struct hkvfs *fs, const struct hkvfs_ident *id, enum hkv_type type,
		   struct hkv_buf *out)
{
	(void)fs;
	(void)id;
	(void)type;
	out->data = malloc(committed_len ? committed_len : 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, committed, committed_len);
	out->len = committed_len;
	return 0;
}

int hkvfs_elem_put(struct hkvfs_be *be, const struct hkvfs_ident *id, enum hkv_type type,
		   const void *data, size_t len, const struct hkv_create_attr *ca)
{
	(void)be;
	(void)id;
	(void)type;
	(void)ca;
	if (len > sizeof(committed))
		return -EFBIG;
	memcpy(committed, data, len);
	committed_len = len;
	atomic_fetch_add(&commits, 1);
	return 0;
}

bool hkvfs_list_push_name(const struct hkvfs_ident *id, bool *tail)
{
	(void)id;
	(void)tail;
	return false;
}

int hkvfs_fill_attr(struct hkvfs *fs, const struct hkvfs_ident *id, fuse_ino_t ino, struct stat *st,
		    double *tmo)
{
	(void)fs;
	(void)id;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)committed_len;
	*tmo = 0;
	return 0;
}

void hkvfs_promoter_read(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	(void)p;
	(void)key;
	(void)klen;
}

ssize_t hkvfs_ctl_text(int ctl, char **out)
{
	(void)ctl;
	(void)out;
	return -EINVAL;
}

/* no watch runs here: no event is ever handed to a commit */
void hkvfs_inval_handed(struct hkvfs *fs, struct hkvfs_inode *in, unsigned n)
{
	(void)fs;
	(void)in;
	CHECK(n == 0);
}

bool hkvfs_caching(struct hkvfs *fs)
{
	(void)fs;
	return false;
}

const struct fuse_ctx *hkvfs_ctx(fuse_req_t req)
{
	static const struct fuse_ctx ctx = { .uid = 0, .gid = 0, .pid = 4242 };

	(void)req;
	return &ctx;
}

int hkvfs_fserr(int rc)
{
	return rc;
}

void hkvfs_reply_err(fuse_req_t req, int rc)
{
	req->err = rc < 0 ? -rc : rc;
}

void *__wrap_fuse_req_userdata(fuse_req_t req);
void *__wrap_fuse_req_userdata(fuse_req_t req)
{
	(void)req;
	return &hkvfs_g;
}

int __wrap_fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi);
int __wrap_fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	(void)fi;
	req->err = 0;
	return 0;
}

int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size);
int __wrap_fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	req->err = 0;
	req->len = size < sizeof(req->data) ? size : sizeof(req->data);
	memcpy(req->data, buf, req->len);
	return 0;
}

int __wrap_fuse_reply_write(fuse_req_t req, size_t count);
int __wrap_fuse_reply_write(fuse_req_t req, size_t count)
{
	req->err = 0;
	req->len = count;
	return 0;
}

int __wrap_fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
					    off_t len);
int __wrap_fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
					    off_t len)
{
	(void)se;
	(void)ino;
	(void)off;
	(void)len;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* the cases                                                                                */

static fuse_ino_t field_ino;

static uint64_t do_open(int flags)
{
	struct fuse_file_info fi = { .flags = flags };
	struct fuse_req r;

	req_init(&r);
	hkvfs_op_open(&r, field_ino, &fi);
	CHECK(r.err == 0 && fi.fh != 0);
	return fi.fh;
}

static int do_release(uint64_t fh)
{
	struct fuse_file_info fi = { .fh = fh };
	struct fuse_req r;

	req_init(&r);
	hkvfs_op_release(&r, field_ino, &fi);
	return r.err;
}

static int do_write(uint64_t fh, const char *s)
{
	struct fuse_file_info fi = { .fh = fh, .flags = O_WRONLY, .lock_owner = 7 };
	struct fuse_req r;

	req_init(&r);
	hkvfs_op_write(&r, field_ino, s, strlen(s), 0, &fi);
	return r.err;
}

static int do_read(uint64_t fh)
{
	struct fuse_file_info fi = { .fh = fh };
	struct fuse_req r;

	req_init(&r);
	hkvfs_op_read(&r, field_ino, 64, 0, &fi);
	return r.err;
}

struct writer {
	uint64_t fh;
	struct fuse_req r;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;
	struct fuse_file_info fi = { .fh = w->fh, .flags = O_WRONLY, .lock_owner = 7 };

	hkvfs_op_write(&w->r, field_ino, "late", 4, 0, &fi);
	return NULL;
}

/* RELEASE served while a WRITE of the same handle is inside its first engine call */
static void release_during_write(void)
{
	struct writer w;
	pthread_t t;
	int before;

	req_init(&w.r);
	w.fh = do_open(O_WRONLY);
	before = atomic_load(&commits);
	atomic_store(&hold_type, true);
	if (pthread_create(&t, NULL, write_thread, &w)) {
		fprintf(stderr, "FAIL: cannot start the writer thread\n");
		failures++;
		return;
	}
	pthread_barrier_wait(&in_store); /* the WRITE holds the handle, inside the backend */
	CHECK(do_release(w.fh) == 0);
	pthread_barrier_wait(&store_go_on);
	pthread_join(t, NULL);
	CHECK(w.r.err == EBADF);
	CHECK(atomic_load(&commits) == before);
	CHECK(committed_len == 3 && !memcmp(committed, "old", 3));
	/* the number is gone for every request */
	CHECK(do_write(w.fh, "x") == EBADF);
	CHECK(do_read(w.fh) == EBADF);
	{
		struct fuse_file_info fi = { .fh = w.fh };
		struct fuse_req r;

		req_init(&r);
		hkvfs_op_flush(&r, field_ino, &fi);
		CHECK(r.err == EBADF);
		req_init(&r);
		hkvfs_op_fsync(&r, field_ino, 0, &fi);
		CHECK(r.err == EBADF);
	}
	CHECK(do_release(w.fh) == EBADF);
}

/* the usual life, and a stale number next to a new handle in the same slot */
static void open_write_release(void)
{
	uint64_t old = do_open(O_RDONLY), fh;
	int before;

	CHECK(do_read(old) == 0);
	CHECK(do_release(old) == 0);
	fh = do_open(O_WRONLY);
	CHECK(fh != old);
	CHECK(do_read(old) == EBADF);
	before = atomic_load(&commits);
	CHECK(do_write(fh, "new") == 0);
	CHECK(do_release(old) == EBADF);
	CHECK(atomic_load(&commits) == before);
	CHECK(do_release(fh) == 0);
	CHECK(atomic_load(&commits) == before + 1);
	CHECK(committed_len == 3 && !memcmp(committed, "new", 3));
	memcpy(committed, "old", 3);
}

int main(void)
{
	struct hkvfs_ident id;
	struct hkvfs_inode *in = NULL;

	hkvfs_g.opts.delim = '/';
	hkvfs_g.opts.cache = HKVFS_CACHE_ON;
	hkvfs_g.opts.wbuf_handle = 1 << 20;
	hkvfs_g.opts.wbuf_total = 4 << 20;
	hkvfs_g.be = &fake_be;
	memcpy(committed, "old", 3);
	committed_len = 3;
	pthread_barrier_init(&in_store, NULL, 2);
	pthread_barrier_init(&store_go_on, NULL, 2);
	if (hkvfs_itab_init()) {
		fprintf(stderr, "FAIL: cannot start the inode table\n");
		return 1;
	}
	memset(&id, 0, sizeof(id));
	id.kind = HKVFS_ELEM;
	id.klen = 1;
	memcpy(id.key, "h", 1);
	id.elen = 2;
	memcpy(id.elem, "f1", 2);
	if (hkvfs_itab_ref(&id, &in)) {
		fprintf(stderr, "FAIL: cannot enter the field's inode\n");
		return 1;
	}
	field_ino = hkvfs_ino_id(in);
	release_during_write();
	open_write_release();
	hkvfs_itab_forget(in, 1);
	hkvfs_itab_destroy();
	pthread_barrier_destroy(&in_store);
	pthread_barrier_destroy(&store_go_on);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
