// SPDX-License-Identifier: MIT
/*
 * handle.c - open files: handles, the whole-content write buffers, the cache=noopen pending
 * buffers, and OPEN, READ, WRITE, FLUSH, FSYNC, RELEASE.
 *
 * Writes. Every open file handle that may write buffers the whole new content; the content
 * is committed with one engine call (hkv_set, hkv_hset, hkv_zadd, hkv_lset, push) at flush,
 * fsync or release, so readers see the old or the new value, never a mix. A truncating
 * open(2) is not FUSE's atomic O_TRUNC (which makes the kernel empty the shared inode at the
 * writer's open): it arrives as SETATTR(size 0) without a handle, is recognised by the
 * caller's system call (/proc/TID/syscall) or, failing that, by the caller's fresh writable
 * handle, and is buffered like a write. SETATTR replies carry the committed attributes, never
 * a handle's buffered size, so the shared inode never shows uncommitted state.
 *
 * Reads (cache=on and off). Every open file uses direct I/O: a read-only open takes a
 * snapshot of the value (one open reads one version) and the page cache holds no file data.
 * Pages are per page and the inode's size is shared: a multi-page read could combine a page
 * cached before a commit with one read after it, and a writer's direct-I/O writes grow the
 * cached size before its commit; both showed up as mixed and truncated reads under the
 * concurrency test, so file data is not cached in these modes (entries and attributes are).
 *
 * cache=noopen. OPEN is answered ENOSYS, so the kernel keeps no handles, caches file pages
 * and sends WRITE through its page cache. Writes to an existing file are buffered per (node,
 * writing thread) and committed by that thread's FLUSH or FSYNC; this mount's reads and
 * stats show the buffered bytes (as a local filesystem shows a writer's bytes), the store
 * and every other client see only committed values. Created files get handles as above.
 *
 * Locking: hkvfs_fh_lock protects the handle list (hkvfs_fh_list) and the pending buffers;
 * each handle's lock protects its buffer. Take hkvfs_fh_lock before a handle lock, never the
 * other way round.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "ops_int.h"

/* ---------------------------------------------------------------------------------------- */
/* file handles                                                                             */


pthread_mutex_t hkvfs_fh_lock = PTHREAD_MUTEX_INITIALIZER;
struct hkvfs_fh hkvfs_fh_list = { .next = &hkvfs_fh_list, .prev = &hkvfs_fh_list };
atomic_int hkvfs_npending; /* pending buffers in hkvfs_fh_list (cache=noopen) */

void hkvfs_fh_link_locked(struct hkvfs_fh *fh)
{
	fh->next = hkvfs_fh_list.next;
	fh->prev = &hkvfs_fh_list;
	hkvfs_fh_list.next->prev = fh;
	hkvfs_fh_list.next = fh;
}

void hkvfs_fh_unlink_locked(struct hkvfs_fh *fh)
{
	fh->prev->next = fh->next;
	fh->next->prev = fh->prev;
	fh->next = fh->prev = fh;
}

void hkvfs_fh_free(struct hkvfs_fh *fh)
{
	pthread_mutex_destroy(&fh->lock);
	free(fh->buf);
	free(fh->id);
	free(fh);
}

static int buf_reserve(struct hkvfs_fh *fh, size_t need)
{
	size_t cap = fh->cap ? fh->cap : 256;
	char *n;

	if (need <= fh->cap)
		return 0;
	if (need > HKV_VALUE_MAX)
		return -EFBIG;
	while (cap < need)
		cap *= 2;
	n = realloc(fh->buf, cap);
	if (!n)
		return -ENOMEM;
	fh->buf = n;
	fh->cap = cap;
	return 0;
}

/* write @size bytes at @off into the handle's whole-content buffer */
static int buf_splice(struct hkvfs_fh *fh, const char *data, size_t size, off_t off)
{
	int rc = buf_reserve(fh, (size_t)off + size);

	if (rc)
		return rc;
	if ((size_t)off > fh->len)
		memset(fh->buf + fh->len, 0, (size_t)off - fh->len);
	memcpy(fh->buf + off, data, size);
	if ((size_t)off + size > fh->len)
		fh->len = (size_t)off + size;
	return 0;
}

int hkvfs_fh_resize(struct hkvfs_fh *fh, size_t size)
{
	int rc = buf_reserve(fh, size);

	if (rc)
		return rc;
	if (size > fh->len)
		memset(fh->buf + fh->len, 0, size - fh->len);
	fh->len = size;
	return 0;
}

int hkvfs_key_type(const struct hkvfs_ident *id)
{
	int t = hkv_type(hkvfs_g.db, id->key, id->klen);

	return t == HKV_TYPE_NONE ? -ENOENT : t;
}

/* current committed content of @id into the handle buffer */
int hkvfs_fh_load(struct hkvfs_fh *fh, const struct hkvfs_ident *id)
{
	struct hkv_buf v = { 0 };
	int rc, t;

	if (fh->loaded)
		return 0;
	if (id->kind == HKVFS_CTLFILE) {
		char *t = NULL;
		ssize_t n = hkvfs_ctl_text(id->ctl, &t);

		if (n < 0)
			return (int)n;
		v.data = t;
		v.len = (size_t)n;
	} else if (id->kind == HKVFS_KEY) {
		rc = hkv_get(hkvfs_g.db, id->key, id->klen, &v);
		if (rc == -ENOENT && fh->write)
			rc = 0; /* deleted while open for writing: the write re-creates it */
		if (rc)
			return hkvfs_fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	} else {
		t = hkvfs_key_type(id);
		if (t < 0)
			return t;
		rc = hkvfs_elem_get(id, (enum hkv_type)t, &v);
		if (rc == -ENOENT && fh->write)
			rc = 0;
		if (rc)
			return hkvfs_fserr(rc);
	}
	free(fh->buf);
	fh->buf = v.data;
	fh->len = fh->cap = v.len;
	if (!fh->buf)
		fh->cap = 0;
	fh->loaded = true;
	return 0;
}

void hkvfs_inval_now(fuse_ino_t ino)
{
	int rc;

	if (!hkvfs_caching() || !ino)
		return;
	rc = fuse_lowlevel_notify_inval_inode(hkvfs_g.se, ino, 0, 0);
	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

/*
 * Store a dirty handle's content with one engine call, so the new content appears
 * atomically. The caller then invalidates the inode (hkvfs_inval_now) before it replies. Called
 * with fh->lock held (or with the buffer detached from the list).
 */
static int fh_store(struct hkvfs_fh *fh)
{
	struct hkvfs_ident *id = fh->id;
	/* an empty value is never a NULL pointer: the engine copies len bytes from it */
	const void *data = fh->buf ? fh->buf : "";
	int rc = 0, t;

	if (!fh->dirty)
		return 0;
	if (!id) {
		id = malloc(sizeof(*id));
		if (!id)
			return -ENOMEM;
		hkvfs_itab_snapshot(fh->in, id);
	}
	if (id->kind == HKVFS_KEY) {
		if (fh->append_only) {
			int64_t n = hkv_append(hkvfs_g.db, id->key, id->klen, data, fh->len,
					       &fh->ca);
			rc = n < 0 ? (int)n : 0;
			if (!rc)
				fh->len = 0;
		} else {
			struct hkv_set_opts so = { .flags = HKV_SET_KEEPTTL, .ca = &fh->ca };

			rc = hkv_set(hkvfs_g.db, id->key, id->klen, data, fh->len, &so);
			rc = rc < 0 ? rc : 0;
		}
	} else if (id->kind == HKVFS_ELEM) {
		t = hkvfs_key_type(id);
		rc = t < 0 ? t : hkvfs_elem_put(id, (enum hkv_type)t, data, fh->len, &fh->ca);
		if (!rc && fh->append_only)
			fh->len = 0; /* list pushes: each commit pushes what came since */
	} else {
		rc = -EBADF;
	}
	if (rc == 0) {
		fh->dirty = false;
		CNT(commits);
	} else {
		HLOG_WARN("commit failed: %s", hkv_strerror(rc));
	}
	if (id != fh->id)
		free(id);
	return hkvfs_fserr(rc);
}

/* commit a handle and drop the kernel's cached pages and attributes before replying */
static int fh_commit(struct hkvfs_fh *fh)
{
	bool was_dirty = fh->dirty;
	int rc = fh_store(fh);

	if (!rc && was_dirty)
		hkvfs_inval_now(hkvfs_ino_id(fh->in));
	return rc;
}

struct hkvfs_fh *hkvfs_fh_new(struct hkvfs_inode *in, fuse_req_t req, mode_t mode)
{
	struct hkvfs_fh *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	pthread_mutex_init(&fh->lock, NULL);
	fh->next = fh->prev = fh;
	fh->in = in;
	fh->tid = hkvfs_ctx(req)->pid;
	fh->ca.mode = mode & 07777;
	fh->ca.uid = hkvfs_ctx(req)->uid;
	fh->ca.gid = hkvfs_ctx(req)->gid;
	return fh;
}

static bool same_ident(const struct hkvfs_ident *a, const struct hkvfs_ident *b)
{
	return a->kind == b->kind && a->klen == b->klen && a->elen == b->elen &&
	       !memcmp(a->key, b->key, a->klen) && !memcmp(a->elem, b->elem, a->elen);
}

static bool thread_alive(pid_t tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d", (int)tid);
	return tid > 0 && access(p, F_OK) == 0;
}

/*
 * cache=noopen keeps no handles: the content a thread writes to an existing file is kept in
 * a pending buffer per (node, thread) and committed by that thread's FLUSH or FSYNC. Under
 * hkvfs_fh_lock. @tid < 0: the most recently written buffer of the node, whatever its thread.
 */
struct hkvfs_fh *hkvfs_pending_find_locked(const struct hkvfs_ident *id, pid_t tid)
{
	struct hkvfs_fh *fh;

	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list; fh = fh->next)
		if (fh->pending && (tid < 0 || fh->tid == tid) && same_ident(fh->id, id))
			return fh;
	return NULL;
}

/* the pending buffer of (@id, the caller's thread), created (loaded unless @empty) */
int hkvfs_pending_get_locked(fuse_req_t req, fuse_ino_t ino, const struct hkvfs_ident *id,
			      bool empty, struct hkvfs_fh **out)
{
	struct hkvfs_fh *fh = hkvfs_pending_find_locked(id, hkvfs_ctx(req)->pid);
	int rc;

	if (fh) {
		/* most recently written first: readers of the node see the latest writes */
		hkvfs_fh_unlink_locked(fh);
		hkvfs_fh_link_locked(fh);
		*out = fh;
		return 0;
	}
	fh = hkvfs_fh_new(hkvfs_ino(ino), req, 0644);
	if (!fh)
		return -ENOMEM;
	fh->id = malloc(sizeof(*fh->id));
	if (!fh->id) {
		hkvfs_fh_free(fh);
		return -ENOMEM;
	}
	memcpy(fh->id, id, sizeof(*id));
	fh->pending = true;
	fh->write = true;
	fh->loaded = empty;
	rc = empty ? 0 : hkvfs_fh_load(fh, id);
	if (rc) {
		hkvfs_fh_free(fh);
		return rc;
	}
	hkvfs_fh_link_locked(fh);
	atomic_fetch_add(&hkvfs_npending, 1);
	*out = fh;
	return 0;
}

/*
 * FLUSH or FSYNC without a handle (cache=noopen): commit the caller's pending buffer of @id,
 * and those of threads that no longer exist. Each is detached first, so the kernel
 * invalidation (which waits for READs in flight) runs without hkvfs_fh_lock.
 */
static int pending_commit(fuse_req_t req, fuse_ino_t ino, const struct hkvfs_ident *id)
{
	struct hkvfs_fh *fh, *next, *done = NULL;
	pid_t tid = hkvfs_ctx(req)->pid;
	int rc = 0, r;

	if (atomic_load(&hkvfs_npending) == 0)
		return 0;
	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list; fh = next) {
		next = fh->next;
		if (!fh->pending || !same_ident(fh->id, id) ||
		    (fh->tid != tid && thread_alive(fh->tid)))
			continue;
		hkvfs_fh_unlink_locked(fh);
		atomic_fetch_sub(&hkvfs_npending, 1);
		r = fh_store(fh);
		if (r && fh->tid == tid)
			rc = r;
		fh->next = done;
		done = fh;
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
	if (done)
		hkvfs_inval_now(ino);
	for (fh = done; fh; fh = next) {
		next = fh->next;
		hkvfs_fh_free(fh);
	}
	return rc;
}

/*
 * A truncating open(2) without FUSE's atomic O_TRUNC arrives as OPEN (flags without O_TRUNC)
 * and then, from the same thread, SETATTR(size 0, mtime now) without a file handle (the
 * kernel drops the handle for ATTR_OPEN). truncate(2) sends no mtime, ftruncate(2) a handle.
 * Return the fresh writable handle of @in opened by the caller's thread, locked, or NULL.
 */
struct hkvfs_fh *hkvfs_trunc_open_handle(fuse_req_t req, struct hkvfs_inode *in)
{
	struct hkvfs_fh *fh, *found = NULL;
	pid_t tid = hkvfs_ctx(req)->pid;

	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list && !found; fh = fh->next) {
		if (fh->pending || fh->in != in || !fh->write || fh->tid != tid)
			continue;
		pthread_mutex_lock(&fh->lock);
		if (fh->fresh)
			found = fh; /* the newest such handle: the list is newest first */
		else
			pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
	return found;
}

void hkvfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_inode *in = hkvfs_ino(ino);
	struct hkvfs_ident *id;
	struct hkvfs_fh *fh;
	int acc = fi->flags & O_ACCMODE;
	bool tail;
	int rc;

	if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN) {
		hkvfs_reply_err(req, ENOSYS);
		return;
	}
	id = malloc(sizeof(*id));
	fh = hkvfs_fh_new(in, req, 0644);
	if (!id || !fh) {
		rc = -ENOMEM;
		goto out_free;
	}
	hkvfs_itab_snapshot(in, id);
	fh->write = acc != O_RDONLY;
	fh->fresh = fh->write;
	if (fh->write && (id->kind == HKVFS_CTLFILE || id->kind == HKVFS_CTLDIR)) {
		rc = -EACCES;
		goto out_free;
	}
	if (fh->write && hkvfs_g.opts.ro) {
		rc = -EROFS;
		goto out_free;
	}
	if (id->kind == HKVFS_ELEM && hkvfs_key_type(id) == HKV_TYPE_LIST && hkvfs_list_push_name(id, &tail)) {
		if (acc != O_WRONLY) {
			rc = -EACCES;
			goto out_free;
		}
		fh->append_only = true;
		fh->loaded = true;
	} else if (fh->write && (fi->flags & O_TRUNC)) {
		fh->loaded = true; /* only with atomic O_TRUNC, which is not enabled */
		fh->dirty = true;
	} else if (fh->write && acc == O_WRONLY && (fi->flags & O_APPEND) &&
		   id->kind == HKVFS_KEY) {
		fh->append_only = true;
		fh->loaded = true;
	} else if (!fh->write) {
		struct stat st;
		double t;

		rc = hkvfs_fill_attr(id, ino, &st, &t);
		if (rc)
			goto out_free;
		if (id->kind == HKVFS_KEY)
			hkvfs_promoter_read(hkvfs_g.prom, id->key, id->klen);
		/* one open reads one version: a snapshot, read with direct I/O (see top) */
		if ((uint64_t)st.st_size <= SNAPSHOT_MAX) {
			rc = hkvfs_fh_load(fh, id);
			if (rc)
				goto out_free;
		}
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->fh = (uint64_t)(uintptr_t)fh;
	pthread_mutex_lock(&hkvfs_fh_lock);
	hkvfs_fh_link_locked(fh);
	pthread_mutex_unlock(&hkvfs_fh_lock);
	free(id);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		pthread_mutex_lock(&hkvfs_fh_lock);
		hkvfs_fh_unlink_locked(fh);
		pthread_mutex_unlock(&hkvfs_fh_lock);
		hkvfs_fh_free(fh);
	}
	return;
out_free:
	if (fh)
		hkvfs_fh_free(fh);
	free(id);
	hkvfs_reply_err(req, rc);
}

static int read_direct(const struct hkvfs_ident *id, size_t size, off_t off, char **out,
		       size_t *n)
{
	struct hkv_buf v = { 0 };
	ssize_t r;
	int rc, t;

	*out = malloc(size ? size : 1);
	if (!*out)
		return -ENOMEM;
	if (id->kind == HKVFS_KEY) {
		r = hkv_getrange(hkvfs_g.db, id->key, id->klen, (uint64_t)off, *out, size);
		if (r < 0)
			return hkvfs_fserr(r == -HKV_EWRONGTYPE ? -EISDIR : (int)r);
		*n = (size_t)r;
		return 0;
	}
	if (id->kind == HKVFS_CTLFILE) {
		char *t = NULL;
		ssize_t len = hkvfs_ctl_text(id->ctl, &t);

		if (len < 0)
			return (int)len;
		*n = off < len ? (size_t)(len - off) : 0;
		if (*n > size)
			*n = size;
		memcpy(*out, t + off, *n);
		free(t);
		return 0;
	}
	t = hkvfs_key_type(id);
	if (t < 0)
		return t;
	rc = hkvfs_elem_get(id, (enum hkv_type)t, &v);
	if (rc)
		return hkvfs_fserr(rc);
	*n = (size_t)off < v.len ? v.len - (size_t)off : 0;
	if (*n > size)
		*n = size;
	if (*n)
		memcpy(*out, (char *)v.data + off, *n);
	hkv_buf_release(&v);
	return 0;
}

/* reply with [@off, @off + @size) of a whole-content buffer */
static void reply_slice(fuse_req_t req, const char *buf, size_t len, size_t size, off_t off)
{
	size_t n = (size_t)off < len ? len - (size_t)off : 0;

	if (n > size)
		n = size;
	CNTN(read_bytes, n);
	fuse_reply_buf(req, n ? buf + off : NULL, n);
}

void hkvfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh, *p;
	struct hkvfs_ident *id;
	char *out = NULL;
	size_t n = 0;
	int rc = 0;

	CNT(reads);
	id = malloc(sizeof(*id));
	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		fh->fresh = false;
		if (fh->append_only) {
			rc = -EBADF;
		} else if (fh->loaded || fh->write) {
			rc = hkvfs_fh_load(fh, id);
			if (!rc)
				reply_slice(req, fh->buf, fh->len, size, off);
			pthread_mutex_unlock(&fh->lock);
			if (rc)
				hkvfs_reply_err(req, rc);
			free(id);
			return;
		}
		pthread_mutex_unlock(&fh->lock);
	} else {
		if (id->kind == HKVFS_KEY && off == 0)
			hkvfs_promoter_read(hkvfs_g.prom, id->key, id->klen);
		if (atomic_load(&hkvfs_npending)) {
			/* cache=noopen: this mount shows a writer's bytes as they are written */
			pthread_mutex_lock(&hkvfs_fh_lock);
			p = hkvfs_pending_find_locked(id, -1);
			if (p)
				reply_slice(req, p->buf, p->len, size, off);
			pthread_mutex_unlock(&hkvfs_fh_lock);
			if (p) {
				free(id);
				return;
			}
		}
	}
	if (!rc)
		rc = read_direct(id, size, off, &out, &n);
	if (rc) {
		hkvfs_reply_err(req, rc);
	} else {
		CNTN(read_bytes, n);
		fuse_reply_buf(req, out, n);
	}
	free(out);
	free(id);
}

/* a set member holds no content: refuse the write itself, with a log line */
static int check_writable(const struct hkvfs_ident *id, size_t size)
{
	if (id->kind == HKVFS_ELEM && size && hkvfs_key_type(id) == HKV_TYPE_SET) {
		HLOG_WARN("write of %zu bytes into a set member refused (EINVAL)", size);
		return -EINVAL;
	}
	if (id->kind != HKVFS_KEY && id->kind != HKVFS_ELEM)
		return -EACCES;
	return 0;
}

/* a zset member's content must read as a score once complete: reject what can never be one */
static int check_score_prefix(const struct hkvfs_ident *id, const char *buf, size_t len)
{
	size_t i;

	if (id->kind != HKVFS_ELEM || hkvfs_key_type(id) != HKV_TYPE_ZSET)
		return 0;
	for (i = 0; i < len; i++) {
		if (!strchr("0123456789+-.eEinfatyINFATY \t\r\n", buf[i])) {
			HLOG_WARN("invalid score '%.*s' for a zset member (EINVAL)",
				  (int)(len > 40 ? 40 : len), buf);
			return -EINVAL;
		}
	}
	return 0;
}

void hkvfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh, *p;
	struct hkvfs_ident *id = malloc(sizeof(*id));
	bool tail;
	int rc = 0;

	CNT(writes);
	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
	rc = check_writable(id, size);
	if (rc)
		goto out;
	if (!fh) {
		/* cache=noopen: buffer per (node, thread) until that thread's flush */
		pthread_mutex_lock(&hkvfs_fh_lock);
		rc = hkvfs_pending_get_locked(req, ino, id, false, &p);
		if (!rc && id->kind == HKVFS_ELEM && hkvfs_key_type(id) == HKV_TYPE_LIST &&
		    hkvfs_list_push_name(id, &tail))
			p->append_only = true;
		if (!rc && p->append_only)
			off = (off_t)p->len;
		if (!rc)
			rc = buf_splice(p, data, size, off);
		if (!rc)
			rc = check_score_prefix(id, p->buf, p->len);
		if (!rc)
			p->dirty = true;
		pthread_mutex_unlock(&hkvfs_fh_lock);
		goto out;
	}
	pthread_mutex_lock(&fh->lock);
	fh->fresh = false;
	if (fh->append_only) {
		rc = buf_reserve(fh, fh->len + size);
		if (!rc) {
			memcpy(fh->buf + fh->len, data, size);
			fh->len += size;
		}
	} else {
		rc = hkvfs_fh_load(fh, id);
		if (!rc && (fi->flags & O_APPEND))
			off = (off_t)fh->len;
		if (!rc)
			rc = buf_splice(fh, data, size, off);
		if (!rc)
			rc = check_score_prefix(id, fh->buf, fh->len);
	}
	if (!rc)
		fh->dirty = true;
	pthread_mutex_unlock(&fh->lock);
out:
	free(id);
	if (rc) {
		hkvfs_reply_err(req, rc);
	} else {
		CNTN(write_bytes, size);
		fuse_reply_write(req, size);
	}
}

static int flush_nohandle(fuse_req_t req, fuse_ino_t ino)
{
	struct hkvfs_ident *id;
	int rc;

	if (atomic_load(&hkvfs_npending) == 0)
		return 0;
	id = malloc(sizeof(*id));
	if (!id)
		return -ENOMEM;
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	rc = pending_commit(req, ino, id);
	free(id);
	return rc;
}

void hkvfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh;
	int rc = 0;

	if (fh) {
		pthread_mutex_lock(&fh->lock);
		rc = fh_commit(fh);
		pthread_mutex_unlock(&fh->lock);
	} else {
		rc = flush_nohandle(req, ino);
	}
	hkvfs_reply_err(req, rc);
}

void hkvfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh;
	int rc = 0;

	(void)datasync;
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		rc = fh_commit(fh);
		pthread_mutex_unlock(&fh->lock);
	} else {
		rc = flush_nohandle(req, ino);
	}
	if (!rc)
		rc = hkv_sync(hkvfs_g.db);
	hkvfs_reply_err(req, rc);
}

void hkvfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh;
	int rc = 0;

	(void)ino;
	if (fh) {
		pthread_mutex_lock(&hkvfs_fh_lock);
		hkvfs_fh_unlink_locked(fh);
		pthread_mutex_unlock(&hkvfs_fh_lock);
		pthread_mutex_lock(&fh->lock);
		rc = fh_commit(fh);
		pthread_mutex_unlock(&fh->lock);
		hkvfs_fh_free(fh);
	}
	hkvfs_reply_err(req, rc);
}

void hkvfs_flush_all(void)
{
	struct hkvfs_fh *fh;

	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list; fh = fh->next) {
		pthread_mutex_lock(&fh->lock);
		if (fh_store(fh))
			HLOG_ERR("shutdown: a buffered write could not be committed");
		pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
}

/* cache=noopen: this mount shows the size of a pending buffer of the node (as written) */
void hkvfs_pending_size(const struct hkvfs_ident *id, struct stat *st)
{
	struct hkvfs_fh *p;

	if (atomic_load(&hkvfs_npending) == 0)
		return;
	pthread_mutex_lock(&hkvfs_fh_lock);
	p = hkvfs_pending_find_locked(id, -1);
	if (p) {
		st->st_size = (off_t)p->len;
		st->st_blocks = (blkcnt_t)((p->len + 511) / 512);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
}

