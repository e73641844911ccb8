// SPDX-License-Identifier: MIT
/*
 * handle.c - open files: handles and their whole-content write buffers, the write-buffer
 * budget, and OPEN, READ, WRITE, FLUSH, FSYNC, RELEASE.
 *
 * Writes. Every open file handle that may write buffers the whole new content; the content
 * is committed with one engine call (hkv_set, hkv_hset, hkv_zadd, hkv_lset, push), so
 * readers see the old or the new value, never a mix.
 *
 * When to commit. FLUSH comes at every close(2) of any copy of the descriptor: a forked
 * child's exit, exec closing a close-on-exec copy (Python opens files close-on-exec and
 * subprocess forks). Committing at each would publish a half-written value whenever a writer
 * runs a subprocess. FUSE says who closes: FLUSH carries the closing file table's lock owner,
 * and a direct-I/O WRITE carries the writer's (every writable handle here is direct I/O). A
 * handle remembers the lock owners that wrote to it and commits at a FLUSH by one of them
 * (a close by the file table that wrote), at FSYNC, and at RELEASE (the last close); a FLUSH
 * by a table that never wrote commits nothing. A handle that was only truncated (O_TRUNC, no
 * write yet) commits at any FLUSH: it has no writer to wait for; except an empty sorted set
 * member, whose empty content is no score: it waits for a write or for RELEASE.
 *
 * Truncation. The mount takes FUSE's atomic O_TRUNC: OPEN carries O_TRUNC and the new
 * buffer starts empty and dirty. The kernel sets its cached size to 0 when the open returns
 * and marks the size stale, so the next stat asks again and gets the committed size; readers
 * (direct I/O) read their snapshots, which that size does not bound. A size-0 SETATTR
 * without a handle is truncate(2) and applies at once; with a handle it is ftruncate(2) and
 * is buffered with the handle's content (attr.c).
 *
 * What a writer sees. The kernel's fstat sends GETATTR without a handle, so a stat from a
 * thread that wrote through a handle with uncommitted content (@wtids) shows that handle's
 * size, uncached; every other stat shows the committed attributes. A name removed while open
 * (unlink, rename over it) makes its handles orphans: they commit nothing (a removed name
 * never reappears at a close) and a stat that finds the name gone answers from the handle
 * (nlink 0, the size it holds). A string key removed by another client while open is not
 * re-created either: the commit is a SET with XX.
 *
 * Budget. A handle's buffer is limited to wbuf_handle bytes (EFBIG past it) and all buffers
 * together to wbuf_total (ENOSPC past it, until other files close), each with a log line; a
 * buffer grows to what the write needs, doubling only below the per-handle limit, so a
 * 1-byte write at offset 511 MiB is refused instead of allocating 512 MiB.
 *
 * Reads. Every open file uses direct I/O: a read-only open takes a snapshot of the value
 * (one open reads one version; values over SNAPSHOT_MAX are read in place) and the page cache
 * holds no file data. Pages are per page and the inode's size is shared: a multi-page read
 * could combine a page cached before a commit with one read after it, and a writer's
 * direct-I/O writes grow the cached size before its commit. A read-only open needs no FLUSH
 * (FOPEN_NOFLUSH): the kernel then sends none at its close.
 *
 * cache=noopen and -o ro. Both mounts are read-only through the filesystem (writes EROFS:
 * without handles a write could not be tied to the close that commits it), so OPEN and FLUSH
 * are answered ENOSYS, after which the kernel sends neither again: it keeps no handles, reads
 * through its page cache, and a cached open+read+close costs no round trip. The page cache
 * stays coherent through the invalidations every committed change sends (inval.c); an -o ro
 * store cannot change at all while mounted.
 *
 * Lifetime. The kernel's fi->fh is a number in the handle table (htab.c), never an address:
 * RELEASE can be served on one worker thread while a READ, WRITE, FLUSH, FSYNC or SETATTR
 * carrying the same number is still served on another. Invariant: every request that uses a
 * handle holds a reference to it from hkvfs_fh_get() to hkvfs_fh_put(), taken through the
 * table under its lock and dropped after the request's last access to the handle (a reply
 * built from its buffer included); the table holds one more from OPEN/CREATE to RELEASE.
 * RELEASE takes the handle out of the table (the number then answers EBADF), commits, marks
 * it @released and frees its buffer and budget under its lock, and drops the table's
 * reference before it replies; whoever drops the last reference frees the handle.
 * A request that finds its handle @released answers EBADF: nothing written after the last
 * commit could be committed any more.
 *
 * Locking: hkvfs_fh_lock protects the handle list (hkvfs_fh_list); each handle's lock
 * protects its fields. Take hkvfs_fh_lock before a handle lock, never the other way round.
 * The table's lock (htab.c) is taken alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

pthread_mutex_t hkvfs_fh_lock = PTHREAD_MUTEX_INITIALIZER;
struct hkvfs_fh hkvfs_fh_list = { .next = &hkvfs_fh_list, .prev = &hkvfs_fh_list };
/* bytes of write buffers charged to the mount's budget (wbuf_total) */
static atomic_uint_fast64_t wbuf_used;
/* open writable handles: a stat looks for its caller's handle only when there are some */
static atomic_int nwritable;

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

/* the last reference is gone (struct hkvfs_href.free) */
static void fh_free(struct hkvfs_href *h)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)h;

	if (fh->counted)
		atomic_fetch_sub(&nwritable, 1);
	if (fh->charged)
		atomic_fetch_sub(&wbuf_used, fh->charged);
	pthread_mutex_destroy(&fh->lock);
	free(fh->buf);
	free(fh);
}

/* drop a released handle's buffer and its charge (fh->lock held) */
static void fh_uncharge(struct hkvfs_fh *fh)
{
	if (fh->charged)
		atomic_fetch_sub(&wbuf_used, fh->charged);
	fh->charged = 0;
	free(fh->buf);
	fh->buf = NULL;
	fh->len = fh->cap = 0;
}

/*
 * Charge a writable handle's buffer growing to @cap bytes against the budgets.
 * Return: 0; -EFBIG (over wbuf_handle); -ENOSPC (over wbuf_total).
 */
static int fh_charge(struct hkvfs *fs, struct hkvfs_fh *fh, size_t cap)
{
	uint64_t add, used;

	if (!fh->write || cap <= fh->charged)
		return 0;
	if (cap > fs->opts.wbuf_handle) {
		HLOG_WARN("write of a %zu-byte value refused (EFBIG): one open file buffers at "
			  "most wbuf_handle=%" PRIu64 " bytes", cap, fs->opts.wbuf_handle);
		return -EFBIG;
	}
	add = cap - fh->charged;
	used = atomic_fetch_add(&wbuf_used, add) + add;
	if (used > fs->opts.wbuf_total) {
		atomic_fetch_sub(&wbuf_used, add);
		HLOG_WARN("write refused (ENOSPC): open files buffer %" PRIu64 " bytes, "
			  "wbuf_total=%" PRIu64, used - add, fs->opts.wbuf_total);
		return -ENOSPC;
	}
	fh->charged = cap;
	return 0;
}

static int buf_reserve(struct hkvfs *fs, struct hkvfs_fh *fh, size_t need)
{
	size_t cap = fh->cap ? fh->cap : 256;
	size_t limit = fs->opts.wbuf_handle;
	char *n;
	int rc;

	if (need <= fh->cap)
		return 0;
	if (need > HKV_VALUE_MAX) {
		HLOG_WARN("write past %u bytes refused (EFBIG): larger than a value can be",
			  HKV_VALUE_MAX);
		return -EFBIG;
	}
	while (cap < need)
		cap *= 2;
	if (fh->write && cap > limit)
		cap = need > limit ? need : limit; /* never double past the budget */
	rc = fh_charge(fs, fh, cap);
	if (rc)
		return rc;
	n = realloc(fh->buf, cap);
	if (!n) {
		HLOG_WARN("cannot allocate a %zu-byte write buffer (ENOMEM)", cap);
		return -ENOMEM;
	}
	fh->buf = n;
	fh->cap = cap;
	return 0;
}

/* write @size bytes at @off into the handle's whole-content buffer */
static int buf_splice(struct hkvfs *fs, struct hkvfs_fh *fh, const char *data, size_t size,
		      off_t off)
{
	int rc;

	if ((uint64_t)off + size > HKV_VALUE_MAX) {
		HLOG_WARN("write past %u bytes refused (EFBIG): larger than a value can be",
			  HKV_VALUE_MAX);
		return -EFBIG;
	}
	rc = buf_reserve(fs, fh, (size_t)off + size);
	if (rc)
		return rc;
	if ((size_t)off > fh->len)
		memset(fh->buf + fh->len, 0, (size_t)off - fh->len);
	memcpy(fh->buf + off, data, size);
	if ((size_t)off + size > fh->len)
		fh->len = (size_t)off + size;
	return 0;
}

int hkvfs_fh_resize(struct hkvfs *fs, struct hkvfs_fh *fh, size_t size)
{
	int rc = buf_reserve(fs, fh, size);

	if (rc)
		return rc;
	if (size > fh->len)
		memset(fh->buf + fh->len, 0, size - fh->len);
	fh->len = size;
	return 0;
}

int hkvfs_key_type(struct hkvfs *fs, const struct hkvfs_ident *id)
{
	int t = hkvfs_be_type(fs->be, id->key, id->klen);

	return t == HKV_TYPE_NONE ? -ENOENT : t;
}

/* current committed content of @id into the handle buffer */
static int fh_load_id(struct hkvfs *fs, struct hkvfs_fh *fh, const struct hkvfs_ident *id)
{
	struct hkv_buf v = { 0 };
	int rc, t;

	if (id->kind == HKVFS_CTLFILE) {
		char *t = NULL;
		ssize_t n = hkvfs_ctl_text(id->ctl, &t);

		if (n < 0)
			return (int)n;
		v.data = t;
		v.len = (size_t)n;
	} else if (id->kind == HKVFS_KEY) {
		rc = hkvfs_be_get(fs->be, id->key, id->klen, &v);
		if (rc == -ENOENT && fh->write)
			rc = 0; /* removed while open for writing: the commit drops it (fh_store) */
		if (rc)
			return hkvfs_fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	} else {
		t = hkvfs_key_type(fs, id);
		if (t < 0)
			return t;
		rc = hkvfs_elem_get(fs, id, (enum hkv_type)t, &v);
		if (rc == -ENOENT && fh->write)
			rc = 0;
		if (rc)
			return hkvfs_fserr(rc);
	}
	rc = fh_charge(fs, fh, v.len);
	if (rc) {
		hkvfs_be_buf_release(&v);
		return rc;
	}
	free(fh->buf);
	fh->buf = v.data;
	fh->len = fh->cap = v.len;
	if (!fh->buf)
		fh->cap = 0;
	fh->loaded = true;
	return 0;
}

int hkvfs_fh_load(struct hkvfs *fs, struct hkvfs_fh *fh, const struct hkvfs_ident *id)
{
	struct hkvfs_ident cur;
	int rc;

	if (fh->loaded)
		return 0;
	if (!fh->write || id->kind == HKVFS_CTLFILE)
		return fh_load_id(fs, fh, id);
	/*
	 * A writer's handle reads "absent" as removed while open, and starts empty: under the
	 * namespace lock, from the inode's name now, that is never a rename in flight.
	 */
	hkvfs_ns_read_lock();
	hkvfs_itab_snapshot(fh->in, &cur);
	rc = fh_load_id(fs, fh, &cur);
	hkvfs_ns_read_unlock();
	return rc;
}

void hkvfs_inval_now(struct hkvfs *fs, fuse_ino_t ino)
{
	int rc;

	if (!hkvfs_caching(fs) || !ino)
		return;
	rc = fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

/*
 * Store a dirty handle's content with one engine call, so the new content appears
 * atomically. The caller then invalidates the inode (hkvfs_inval_now) before it replies.
 * Called with fh->lock held. An orphan's content is dropped.
 */
/*
 * An element's commit is one engine transaction: the collection's type, then the write. A
 * collection removed while one of its files was open (hkvctl del, expiry, rm -r) is gone with
 * its files, as a directory removed under an open file on a local filesystem: the commit must
 * not bring it back, so it writes nothing and says so (@gone).
 */
struct elem_commit {
	const struct hkvfs_ident *id;
	const void *data;
	size_t len;
	const struct hkv_create_attr *ca;
	bool gone;
};

static int elem_commit_txn(struct hkvfs_be *tx, void *arg)
{
	struct elem_commit *ec = arg;
	int t = hkvfs_be_type(tx, ec->id->key, ec->id->klen);

	if (t < 0)
		return t;
	if (t == HKV_TYPE_NONE) {
		ec->gone = true;
		return 0;
	}
	return hkvfs_elem_put(tx, ec->id, (enum hkv_type)t, ec->data, ec->len, ec->ca);
}

/* An O_APPEND commit: APPEND only to a key that still exists (one transaction). */
struct append_commit {
	const struct hkvfs_ident *id;
	const void *data;
	size_t len;
	const struct hkv_create_attr *ca;
	bool gone;
};

static int append_commit_txn(struct hkvfs_be *tx, void *arg)
{
	struct append_commit *ac = arg;
	int64_t n;
	int rc = hkvfs_be_exists(tx, ac->id->key, ac->id->klen);

	if (rc <= 0) {
		ac->gone = rc == 0;
		return rc;
	}
	n = hkvfs_be_append(tx, ac->id->key, ac->id->klen, ac->data, ac->len, ac->ca);
	return n < 0 ? (int)n : 0;
}

static int fh_store(struct hkvfs *fs, struct hkvfs_fh *fh)
{
	struct hkvfs_ident ident, *id = &ident;
	/* an empty value is never a NULL pointer: the engine copies len bytes from it */
	const void *data = fh->buf ? fh->buf : "";
	int rc = 0;

	if (!fh->dirty || fh->orphan)
		return 0;
	/*
	 * Under the namespace lock the inode's name is the key's: a rename of the file or of a
	 * directory above it is either done (engine and table) or not begun. An inode out of the
	 * table was renamed over: its file is gone, as if unlinked while open.
	 */
	hkvfs_ns_read_lock();
	if (!hkvfs_itab_current(fh->in)) {
		hkvfs_ns_read_unlock();
		HLOG_INFO("a file renamed over while open was closed: its content is dropped");
		fh->orphan = true;
		fh->dirty = false;
		return 0;
	}
	hkvfs_itab_snapshot(fh->in, id);
	if (id->kind == HKVFS_KEY) {
		if (fh->append_only) {
			/* the key exists from OPEN or CREATE on: as XX above, never re-created */
			struct append_commit ac = { id, data, fh->len, &fh->ca, false };

			rc = hkvfs_be_txn_run(fs->be, append_commit_txn, &ac);
			if (!rc && ac.gone) {
				HLOG_INFO("a file removed while open for appending was closed: "
					  "its content is dropped");
				fh->orphan = true;
			}
			if (!rc)
				fh->len = 0;
		} else {
			/*
			 * XX: the key exists from OPEN or CREATE on; if another client removed it
			 * meanwhile (hkvctl del, expiry), the file was unlinked while open and the
			 * commit must not bring the name back. One engine call: no window.
			 */
			struct hkv_set_opts so = { .flags = HKV_SET_KEEPTTL | HKV_SET_XX,
						   .ca = &fh->ca };

			rc = hkvfs_be_set(fs->be, id->key, id->klen, data, fh->len, &so);
			if (rc == 0) {
				HLOG_INFO("a file removed while open was closed: its content is "
					  "dropped");
				fh->orphan = true;
			}
			rc = rc < 0 ? rc : 0;
		}
	} else if (id->kind == HKVFS_ELEM) {
		struct elem_commit ec = { id, data, fh->len, &fh->ca, false };

		rc = hkvfs_be_txn_run(fs->be, elem_commit_txn, &ec);
		if (!rc && ec.gone) {
			HLOG_INFO("a file whose collection was removed while it was open was "
				  "closed: its content is dropped");
			fh->orphan = true;
		}
		if (!rc && fh->append_only)
			fh->len = 0; /* list pushes: each commit pushes what came since */
	} else {
		rc = -EBADF;
	}
	hkvfs_ns_read_unlock();
	if (rc == 0) {
		fh->dirty = false;
		CNT(commits);
	} else {
		HLOG_WARN("commit failed: %s", hkv_strerror(rc));
	}
	return hkvfs_fserr(rc);
}

/*
 * Commit a handle and drop the kernel's cached pages and attributes before replying. The
 * commit runs in a commit window on the inode (inode.c): the watch event of the write is
 * handed to this request rather than to the invalidation thread, and the request does here
 * what the thread would have done (the inode, and its directory if its link count changed).
 */
static int fh_commit(struct hkvfs *fs, struct hkvfs_fh *fh)
{
	bool was_dirty = fh->dirty && !fh->orphan;
	unsigned handed;
	int rc;

	if (!was_dirty)
		return fh_store(fs, fh);
	hkvfs_itab_commit_begin(fh->in);
	rc = fh_store(fs, fh);
	handed = hkvfs_itab_commit_end(fh->in);
	if (handed)
		hkvfs_inval_handed(fs, fh->in, handed); /* the inode included */
	else if (!rc)
		hkvfs_inval_now(fs, hkvfs_ino_id(fh->in));
	return rc;
}

struct hkvfs_fh *hkvfs_fh_new(struct hkvfs_inode *in, fuse_req_t req, mode_t mode)
{
	struct hkvfs_fh *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	atomic_init(&fh->ref.refs, 1);
	fh->ref.free = fh_free;
	pthread_mutex_init(&fh->lock, NULL);
	fh->next = fh->prev = fh;
	fh->in = in;
	fh->ca.mode = mode & 07777;
	fh->ca.uid = hkvfs_ctx(req)->uid;
	fh->ca.gid = hkvfs_ctx(req)->gid;
	return fh;
}

void hkvfs_fh_put(struct hkvfs_fh *fh)
{
	if (fh)
		hkvfs_href_put(&fh->ref);
}

int hkvfs_fh_get(const struct fuse_file_info *fi, struct hkvfs_fh **out)
{
	*out = NULL;
	if (!fi || !fi->fh)
		return 0;
	*out = (struct hkvfs_fh *)hkvfs_htab_get(fi->fh);
	if (!*out) {
		HLOG_WARN("request on file handle %#" PRIx64 ", which is not open (EBADF)",
			  (uint64_t)fi->fh);
		return -EBADF;
	}
	return 0;
}

int hkvfs_fh_publish(struct hkvfs_fh *fh, struct fuse_file_info *fi)
{
	uint64_t num;
	int rc = hkvfs_htab_add(&fh->ref, &num);

	if (rc)
		return rc;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->noflush = !fh->write;
	fi->fh = num;
	if (fh->write) {
		fh->counted = true;
		atomic_fetch_add(&nwritable, 1);
	}
	pthread_mutex_lock(&hkvfs_fh_lock);
	hkvfs_fh_link_locked(fh);
	pthread_mutex_unlock(&hkvfs_fh_lock);
	return 0;
}

void hkvfs_fh_reply_failed(const struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)hkvfs_htab_remove(fi->fh);

	if (!fh)
		return;
	pthread_mutex_lock(&hkvfs_fh_lock);
	hkvfs_fh_unlink_locked(fh);
	pthread_mutex_unlock(&hkvfs_fh_lock);
	hkvfs_fh_put(fh);
}

void hkvfs_fh_orphan(fuse_ino_t ino)
{
	struct hkvfs_fh *fh;

	if (!ino)
		return;
	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list; fh = fh->next) {
		if (hkvfs_ino_id(fh->in) != ino)
			continue;
		pthread_mutex_lock(&fh->lock);
		if (!fh->orphan) {
			if (fh->write && fh->loaded)
				fh->st.st_size = (off_t)fh->len;
			fh->orphan = true;
		}
		pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
}

static bool fh_wrote(const struct hkvfs_fh *fh, pid_t tid)
{
	unsigned i;

	for (i = 0; i < fh->nwtids; i++)
		if (fh->wtids[i] == tid)
			return true;
	return false;
}

bool hkvfs_fh_getattr(struct hkvfs_inode *in, pid_t caller, bool gone, struct stat *st)
{
	struct hkvfs_fh *fh;
	bool found = false;

	if (atomic_load(&nwritable) == 0 && !gone)
		return false;
	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list && !found; fh = fh->next) {
		if (fh->in != in)
			continue;
		pthread_mutex_lock(&fh->lock);
		if (gone && fh->orphan) {
			*st = fh->st;
			if (fh->write && fh->loaded)
				st->st_size = (off_t)fh->len;
			st->st_nlink = 0;
			found = true;
		} else if (!gone && fh->write && fh->dirty && fh->loaded && !fh->append_only &&
			   fh_wrote(fh, caller)) {
			st->st_size = (off_t)fh->len;
			st->st_blocks = (blkcnt_t)((fh->len + 511) / 512);
			found = true;
		}
		pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
	return found;
}

void hkvfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_inode *in = hkvfs_ino(ino);
	struct hkvfs_ident ident, *id = &ident;
	struct hkvfs_fh *fh;
	int acc = fi->flags & O_ACCMODE;
	bool tail;
	unsigned long seq;
	double t;
	int rc, tries = 0;

	CNT(opens);
	if (hkvfs_opts_fs_ro(&fs->opts)) {
		/* no writes to tie to a handle: ENOSYS once and the kernel sends no more OPEN */
		hkvfs_reply_err(req, ENOSYS);
		return;
	}
	fh = hkvfs_fh_new(in, req, 0644);
	if (!fh) {
		rc = -ENOMEM;
		goto out_free;
	}
	seq = hkvfs_ns_seq();
retry:
	hkvfs_itab_snapshot(in, id);
	fh->write = acc != O_RDONLY;
	if (fh->write && (id->kind == HKVFS_CTLFILE || id->kind == HKVFS_CTLDIR)) {
		rc = -EACCES;
		goto out_free;
	}
	if (fh->write && hkvfs_opts_fs_ro(&fs->opts)) {
		rc = -EROFS;
		goto out_free;
	}
	rc = hkvfs_fill_attr(fs, id, ino, &fh->st, &t);
	if (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries))
		goto retry; /* renamed meanwhile (inode.c, "The namespace lock") */
	if (rc)
		goto out_free;
	if (fh->write && id->kind == HKVFS_ELEM && hkvfs_key_type(fs, id) == HKV_TYPE_STREAM) {
		/* refused at open, also for root, rather than at the commit */
		HLOG_WARN("open for writing of a stream entry refused: streams are read-only "
			  "through the mount (EPERM)");
		rc = -EPERM;
		goto out_free;
	}
	if (id->kind == HKVFS_ELEM && hkvfs_key_type(fs, id) == HKV_TYPE_LIST &&
	    hkvfs_list_push_name(id, &tail)) {
		if (acc != O_WRONLY) {
			rc = -EACCES;
			goto out_free;
		}
		fh->append_only = true;
		fh->loaded = true;
	} else if (fh->write && (fi->flags & O_TRUNC)) {
		/* atomic O_TRUNC: the new content starts empty, the old stays until the commit */
		fh->loaded = true;
		fh->dirty = true;
		fh->st.st_size = 0;
	} else if (fh->write && acc == O_WRONLY && (fi->flags & O_APPEND) &&
		   id->kind == HKVFS_KEY) {
		fh->append_only = true;
		fh->loaded = true;
	} else if (!fh->write) {
		if (id->kind == HKVFS_KEY)
			hkvfs_promoter_read(fs->prom, id->key, id->klen);
		/* one open reads one version: a snapshot, read with direct I/O (see top) */
		if ((uint64_t)fh->st.st_size <= SNAPSHOT_MAX) {
			rc = hkvfs_fh_load(fs, fh, id);
			if (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries))
				goto retry;
			if (rc)
				goto out_free;
		}
	}
	rc = hkvfs_fh_publish(fh, fi);
	if (rc)
		goto out_free;
	if (fuse_reply_open(req, fi) == -ENOENT)
		hkvfs_fh_reply_failed(fi);
	return;
out_free:
	hkvfs_fh_put(fh);
	hkvfs_reply_err(req, rc);
}

static int read_direct(struct hkvfs *fs, const struct hkvfs_ident *id, size_t size, off_t off,
		       char **out, size_t *n)
{
	struct hkv_buf v = { 0 };
	ssize_t r;
	int rc, t;

	*out = malloc(size ? size : 1);
	if (!*out)
		return -ENOMEM;
	if (id->kind == HKVFS_KEY) {
		r = hkvfs_be_getrange(fs->be, id->key, id->klen, (uint64_t)off, *out, size);
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
	t = hkvfs_key_type(fs, id);
	if (t < 0)
		return t;
	rc = hkvfs_elem_get(fs, id, (enum hkv_type)t, &v);
	if (rc)
		return hkvfs_fserr(rc);
	*n = (size_t)off < v.len ? v.len - (size_t)off : 0;
	if (*n > size)
		*n = size;
	if (*n)
		memcpy(*out, (char *)v.data + off, *n);
	hkvfs_be_buf_release(&v);
	return 0;
}

/* reply with [@off, @off + @size) of a whole-content buffer */
static void reply_slice(fuse_req_t req, const char *buf, size_t len, size_t size, off_t off)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	size_t n = (size_t)off < len ? len - (size_t)off : 0;

	if (n > size)
		n = size;
	CNTN(read_bytes, n);
	fuse_reply_buf(req, n ? buf + off : NULL, n);
}

void hkvfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh;
	struct hkvfs_ident ident, *id = &ident;
	char *out = NULL;
	size_t n = 0;
	unsigned long seq;
	int rc, tries = 0;

	CNT(reads);
	rc = hkvfs_fh_get(fi, &fh);
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		if (fh->released || fh->append_only) {
			rc = -EBADF;
		} else if (fh->loaded) {
			reply_slice(req, fh->buf, fh->len, size, off);
			pthread_mutex_unlock(&fh->lock);
			goto out_put;
		}
		pthread_mutex_unlock(&fh->lock);
	}
	seq = hkvfs_ns_seq();
	hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
	if (fh && fh->write && !rc) {
		pthread_mutex_lock(&fh->lock);
		rc = fh->released ? -EBADF : hkvfs_fh_load(fs, fh, id);
		if (!rc)
			reply_slice(req, fh->buf, fh->len, size, off);
		pthread_mutex_unlock(&fh->lock);
		if (rc)
			hkvfs_reply_err(req, rc);
		goto out_put;
	}
	if (!fh && id->kind == HKVFS_KEY && off == 0)
		hkvfs_promoter_read(fs->prom, id->key, id->klen);
	if (!rc)
		rc = read_direct(fs, id, size, off, &out, &n);
	while (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries)) {
		/* renamed meanwhile (inode.c, "The namespace lock"): read under the new name */
		free(out);
		out = NULL;
		hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
		rc = read_direct(fs, id, size, off, &out, &n);
	}
	if (rc) {
		hkvfs_reply_err(req, rc);
	} else {
		CNTN(read_bytes, n);
		fuse_reply_buf(req, out, n);
	}
out_put:
	hkvfs_fh_put(fh);
	free(out);
}

/* a set member holds no content: refuse the write itself, with a log line */
static int check_writable(struct hkvfs *fs, const struct hkvfs_ident *id, size_t size)
{
	if (id->kind == HKVFS_ELEM && size && hkvfs_key_type(fs, id) == HKV_TYPE_SET) {
		HLOG_WARN("write of %zu bytes into a set member refused (EINVAL)", size);
		return -EINVAL;
	}
	if (id->kind != HKVFS_KEY && id->kind != HKVFS_ELEM)
		return -EACCES;
	return 0;
}

/* a zset member's content must read as a score once complete: reject what can never be one */
static int check_score_prefix(struct hkvfs *fs, const struct hkvfs_ident *id, const char *buf,
			      size_t len)
{
	size_t i;

	if (id->kind != HKVFS_ELEM || hkvfs_key_type(fs, id) != HKV_TYPE_ZSET)
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

/*
 * A write by a process without CAP_FSETID (here: any uid but root) clears the file's SUID
 * bit, and its SGID bit when group-execute is set, as Linux does on a local filesystem. The
 * kernel does this itself for chown and truncate; for a direct-I/O write it leaves it to us.
 */
/* Clear SUID (and SGID with group-exec) in one transaction: a chmod meanwhile is never undone. */
static int kill_privs_txn(struct hkvfs_be *tx, void *arg)
{
	const struct hkvfs_ident *id = arg;
	struct hkv_attr a;
	uint32_t mode;
	int rc = hkvfs_be_attr_get(tx, id->key, id->klen, &a);

	if (rc)
		return rc;
	mode = a.mode;
	if (mode & S_ISUID)
		mode &= ~(uint32_t)S_ISUID;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		mode &= ~(uint32_t)S_ISGID;
	if (mode == a.mode)
		return 0;
	a.mode = mode;
	rc = hkvfs_be_attr_set(tx, id->key, id->klen, HKV_ATTR_MODE, &a);
	return rc ? rc : 1;
}

static void kill_privs(fuse_req_t req, const struct hkvfs_ident *id, fuse_ino_t ino)
{
	struct hkvfs *fs = fuse_req_userdata(req);

	if (id->kind != HKVFS_KEY || hkvfs_ctx(req)->uid == 0)
		return;
	if (hkvfs_be_txn_run(fs->be, kill_privs_txn, (void *)id) > 0)
		hkvfs_inval_now(fs, ino);
}

/* remember @owner as one of the file tables that wrote through @fh (fh->lock held) */
static void fh_add_owner(struct hkvfs_fh *fh, uint64_t owner)
{
	unsigned i;

	for (i = 0; i < fh->nowners; i++)
		if (fh->owners[i] == owner)
			return;
	if (fh->nowners < HKVFS_FH_OWNERS)
		fh->owners[fh->nowners++] = owner;
	else
		fh->many_owners = true;
}

void hkvfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh;
	struct hkvfs_ident ident, *id = &ident;
	bool privs = true;
	int rc;

	CNT(writes);
	rc = hkvfs_fh_get(fi, &fh);
	if (!rc && !fh)
		rc = -EROFS; /* no handle: only cache=noopen, read-only through the filesystem */
	if (rc)
		goto out;
	hkvfs_itab_snapshot(fh->in, id);
	rc = check_writable(fs, id, size);
	if (rc)
		goto out;
	pthread_mutex_lock(&fh->lock);
	if (fh->released) {
		rc = -EBADF;
	} else if (fh->append_only) {
		privs = fh->privs;
		fh->privs = true;
		rc = buf_reserve(fs, fh, fh->len + size);
		if (!rc) {
			memcpy(fh->buf + fh->len, data, size);
			fh->len += size;
		}
	} else {
		privs = fh->privs;
		fh->privs = true;
		rc = hkvfs_fh_load(fs, fh, id);
		if (!rc && (fi->flags & O_APPEND))
			off = (off_t)fh->len;
		if (!rc)
			rc = buf_splice(fs, fh, data, size, off);
		if (!rc)
			rc = check_score_prefix(fs, id, fh->buf, fh->len);
	}
	if (!rc) {
		fh->dirty = true;
		fh_add_owner(fh, fi->lock_owner);
		if (!fh_wrote(fh, hkvfs_ctx(req)->pid) && fh->nwtids < HKVFS_FH_OWNERS)
			fh->wtids[fh->nwtids++] = hkvfs_ctx(req)->pid;
	}
	pthread_mutex_unlock(&fh->lock);
	if (!rc && !privs && (fh->st.st_mode & (S_ISUID | S_ISGID)))
		kill_privs(req, id, ino);
out:
	if (rc) {
		hkvfs_reply_err(req, rc);
	} else {
		CNTN(write_bytes, size);
		fuse_reply_write(req, size);
	}
	hkvfs_fh_put(fh);
}

/*
 * An only-truncated, still empty handle on a sorted set member: its empty content is no score,
 * so a FLUSH leaves it for the write that follows (a shell's `echo 2.5 > z/m` opens, moves the
 * descriptor with dup2 and closes the first copy before writing) or for RELEASE, which reports
 * the empty score then. (fh->lock held)
 */
static bool flush_waits_for_score(struct hkvfs *fs, const struct hkvfs_fh *fh)
{
	struct hkvfs_ident id;

	if (fh->nowners || fh->many_owners || fh->len)
		return false;
	hkvfs_itab_snapshot(fh->in, &id);
	return id.kind == HKVFS_ELEM && hkvfs_key_type(fs, &id) == HKV_TYPE_ZSET;
}

/* does a FLUSH by lock owner @owner commit @fh? (fh->lock held) */
static bool flush_commits(struct hkvfs *fs, const struct hkvfs_fh *fh, uint64_t owner)
{
	unsigned i;

	if (fh->nowners == 0 || fh->many_owners)
		/* only truncated so far, or too many writers to tell */
		return !flush_waits_for_score(fs, fh);
	for (i = 0; i < fh->nowners; i++)
		if (fh->owners[i] == owner)
			return true;
	return false;
}

void hkvfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh = NULL;
	int rc = 0;

	(void)ino;
	CNT(flushes);
	if (hkvfs_opts_fs_ro(&fs->opts)) {
		/* nothing can be buffered: ENOSYS once and the kernel sends no more FLUSH */
		hkvfs_reply_err(req, ENOSYS);
		return;
	}
	rc = hkvfs_fh_get(fi, &fh);
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		if (fh->released)
			rc = -EBADF;
		else if (fh->dirty && flush_commits(fs, fh, fi->lock_owner))
			rc = fh_commit(fs, fh);
		else if (fh->dirty)
			HLOG_DBG("flush by lock owner %#" PRIx64 ", which did not write: no commit",
				 (uint64_t)fi->lock_owner);
		pthread_mutex_unlock(&fh->lock);
	}
	hkvfs_reply_err(req, rc);
	hkvfs_fh_put(fh);
}

void hkvfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh;
	int rc;

	(void)ino;
	(void)datasync;
	rc = hkvfs_fh_get(fi, &fh);
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		rc = fh->released ? -EBADF : fh_commit(fs, fh);
		pthread_mutex_unlock(&fh->lock);
	}
	if (!rc)
		rc = hkvfs_be_sync(fs->be);
	hkvfs_reply_err(req, rc);
	hkvfs_fh_put(fh);
}

void hkvfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh = NULL;
	int rc = 0;

	(void)ino;
	CNT(releases);
	if (fi->fh) {
		/* the table's reference: requests still using the handle hold their own */
		fh = (struct hkvfs_fh *)hkvfs_htab_remove(fi->fh);
		if (!fh) {
			HLOG_WARN("release of file handle %#" PRIx64 ", which is not open (EBADF)",
				  (uint64_t)fi->fh);
			rc = -EBADF;
		}
	}
	if (fh) {
		pthread_mutex_lock(&hkvfs_fh_lock);
		hkvfs_fh_unlink_locked(fh);
		pthread_mutex_unlock(&hkvfs_fh_lock);
		pthread_mutex_lock(&fh->lock);
		rc = fh_commit(fs, fh);
		fh->released = true;
		/* nothing is read or written through it any more: its budget is free at once,
		 * even while a request that raced this one still holds a reference */
		fh_uncharge(fh);
		pthread_mutex_unlock(&fh->lock);
	}
	/* before the reply, as the close(2) that sent this may already write to another file */
	hkvfs_fh_put(fh);
	hkvfs_reply_err(req, rc);
}

void hkvfs_flush_all(void)
{
	struct hkvfs *fs = &hkvfs_g;
	struct hkvfs_fh *fh;

	pthread_mutex_lock(&hkvfs_fh_lock);
	for (fh = hkvfs_fh_list.next; fh != &hkvfs_fh_list; fh = fh->next) {
		pthread_mutex_lock(&fh->lock);
		if (fh_store(fs, fh))
			HLOG_ERR("shutdown: a buffered write could not be committed");
		pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&hkvfs_fh_lock);
}
