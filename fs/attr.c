// SPDX-License-Identifier: MIT
/*
 * attr.c - attributes: GETATTR and SETATTR (mode, owner, times, size), the stat of every kind
 * of node, and truncation.
 *
 * SETATTR replies carry the committed attributes, never a handle's buffered size, so the
 * shared inode never shows uncommitted state.
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
/* attributes                                                                               */

static void fill_dir_defaults(struct stat *st)
{
	st->st_mode = S_IFDIR | (0777 & ~hkvfs_g.opts.umask);
	st->st_uid = hkvfs_g.opts.uid;
	st->st_gid = hkvfs_g.opts.gid;
	st->st_nlink = 2;
	hkvfs_ns_to_ts(hkvfs_g.mount_time_ns, &st->st_mtim);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
}

static void fill_from_attr(struct stat *st, const struct hkv_attr *a)
{
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	hkvfs_ns_to_ts(a->mtime_ns, &st->st_mtim);
	hkvfs_ns_to_ts(a->ctime_ns, &st->st_ctim);
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
}

/*
 * hkvfs_fill_attr() - stat of the node @id; *@tmo receives the cache timeout.
 * Return: 0; -ENOENT; another -errno.
 */
int hkvfs_fill_attr(const struct hkvfs_ident *id, fuse_ino_t ino, struct stat *st, double *tmo)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_attr a;
	struct hkv_buf v;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	*tmo = hkvfs_caching() ? hkvfs_g.opts.timeout : 0;
	switch (id->kind) {
	case HKVFS_ROOT:
		fill_dir_defaults(st);
		st->st_mode = S_IFDIR | 0755;
		return 0;
	case HKVFS_CTLDIR:
		fill_dir_defaults(st);
		st->st_mode = S_IFDIR | 0555;
		return 0;
	case HKVFS_CTLFILE:
		fill_dir_defaults(st);
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		{
			char *t = NULL;
			ssize_t n = hkvfs_ctl_text(id->ctl, &t);

			free(t);
			if (n < 0)
				return (int)n;
			st->st_size = (off_t)n;
		}
		/* a new mtime each time makes the kernel drop stale pages (auto_inval_data) */
		hkvfs_ns_to_ts(hkvfs_now_ns(), &st->st_mtim);
		*tmo = 0;
		return 0;
	case HKVFS_PREFIX:
		fill_dir_defaults(st);
		if (id->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX &&
		    hkv_attr_get(hkvfs_g.db, mk, hkvfs_marker_key(id->key, id->klen, mk), &a) == 0) {
			fill_from_attr(st, &a);
			st->st_mode = S_IFDIR | (a.mode & 07777);
			return 0;
		}
		rc = hkvfs_prefix_has_keys(id->key, id->klen, false);
		if (rc < 0)
			return rc;
		return rc ? 0 : -ENOENT;
	case HKVFS_KEY:
		rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
		if (rc)
			return hkvfs_fserr(rc);
		fill_from_attr(st, &a);
		if (a.type == HKV_TYPE_STRING) {
			st->st_mode = S_IFREG | (a.mode & 07777);
			st->st_nlink = 1;
			st->st_size = (off_t)a.size;
		} else {
			st->st_mode = S_IFDIR | (a.mode & 07777);
			st->st_nlink = 2;
			st->st_size = (off_t)a.size;
		}
		st->st_blocks = (blkcnt_t)((a.size + 511) / 512);
		*tmo = hkvfs_timeout_for(a.expire_at);
		return 0;
	case HKVFS_ELEM: {
		bool tail;

		rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
		if (rc)
			return hkvfs_fserr(rc);
		if (a.type == HKV_TYPE_STRING || a.type == HKV_TYPE_NONE)
			return -ENOENT;
		fill_from_attr(st, &a);
		st->st_nlink = 1;
		*tmo = hkvfs_timeout_for(a.expire_at);
		if (a.type == HKV_TYPE_LIST && hkvfs_list_push_name(id, &tail)) {
			st->st_mode = S_IFREG | (a.mode & 0222);
			return 0;
		}
		st->st_mode = S_IFREG | (a.mode & 0666);
		rc = hkvfs_elem_get(id, a.type, &v);
		if (rc)
			return hkvfs_fserr(rc);
		st->st_size = (off_t)v.len;
		hkv_buf_release(&v);
		return 0;
	}
	}
	return -ENOENT;
}
/* ---------------------------------------------------------------------------------------- */
/* attributes                                                                               */
void hkvfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_ident *id = malloc(sizeof(*id));
	struct stat st;
	double t;
	int rc;

	(void)fi;
	CNT(getattrs);
	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	rc = hkvfs_fill_attr(id, ino, &st, &t);
	if (!rc)
		hkvfs_pending_size(id, &st);
	free(id);
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
}

/* the key whose attributes stand for node @id (the marker for a prefix; created if needed) */
int hkvfs_attr_key(const struct hkvfs_ident *id, unsigned char *out, size_t *olen)
{
	struct hkv_create_attr ca = {
		.mode = 0777 & ~hkvfs_g.opts.umask,
		.uid = hkvfs_g.opts.uid,
		.gid = hkvfs_g.opts.gid,
	};
	int rc;

	if (id->kind == HKVFS_KEY) {
		memcpy(out, id->key, id->klen);
		*olen = id->klen;
		return 0;
	}
	if (id->kind != HKVFS_PREFIX)
		return -EPERM;
	if (id->klen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return -ENAMETOOLONG;
	*olen = hkvfs_marker_key(id->key, id->klen, out);
	rc = hkv_create(hkvfs_g.db, out, *olen, HKV_TYPE_STRING, &ca);
	return rc == -EEXIST ? 0 : rc;
}

static int truncate_node(const struct hkvfs_ident *id, uint64_t size)
{
	struct hkv_buf v = { 0 };
	char *whole;
	bool tail;
	int rc, t;

	if (id->kind == HKVFS_KEY) {
		rc = hkv_truncate(hkvfs_g.db, id->key, id->klen, size);
		return hkvfs_fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	}
	if (id->kind != HKVFS_ELEM)
		return -EPERM;
	t = hkvfs_key_type(id);
	if (t < 0)
		return t;
	if (t == HKV_TYPE_LIST && hkvfs_list_push_name(id, &tail))
		return 0; /* nothing to truncate: each close that wrote data pushes */
	if (t == HKV_TYPE_SET)
		return size ? -EINVAL : 0;
	if (t == HKV_TYPE_ZSET)
		return 0; /* O_TRUNC before a new score: the write replaces it whole */
	rc = hkvfs_elem_get(id, (enum hkv_type)t, &v);
	if (rc)
		return hkvfs_fserr(rc);
	whole = calloc(1, size + 1);
	if (!whole) {
		hkv_buf_release(&v);
		return -ENOMEM;
	}
	memcpy(whole, v.data, v.len < size ? v.len : size);
	rc = hkvfs_elem_put(id, (enum hkv_type)t, whole, size, NULL);
	free(whole);
	hkv_buf_release(&v);
	return hkvfs_fserr(rc);
}

/*
 * Which system call is thread @tid (blocked on this request) in? Its /proc/TID/syscall,
 * readable by the daemon's user for its own processes and by root for all. The kernel
 * answers "running" while the thread is runnable: it queued this request but has not gone to
 * sleep on it yet (preempted in between, on a busy machine). It will sleep, since it waits
 * for our reply, so that answer is asked again, for up to CALLER_WAIT_NS.
 * Return: 1 open(2)/openat(2)/creat(2) (a truncating open), 0 another call, -1 unknown.
 */
#define CALLER_WAIT_NS (200 * 1000 * 1000LL)
static int caller_in_open(pid_t tid)
{
	char path[64], buf[64];
	int64_t deadline = 0;
	int fd, tries = 0;
	ssize_t n;
	long nr;

	if (tid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)tid);
	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 7 || memcmp(buf, "running", 7) != 0)
			break;
		if (!deadline)
			deadline = hkvfs_now_ns() + CALLER_WAIT_NS;
		else if (hkvfs_now_ns() > deadline)
			break;
		tries++;
		if (tries < 64) {
			sched_yield();
		} else {
			struct timespec ts = { 0, 20 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	if (tries)
		HLOG_DBG("thread %d was runnable: asked %d more times", (int)tid, tries);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	buf[n] = 0;
	nr = strtol(buf, NULL, 10);
#ifdef SYS_open
	if (nr == SYS_open)
		return 1;
#endif
#ifdef SYS_creat
	if (nr == SYS_creat)
		return 1;
#endif
#ifdef SYS_openat2
	if (nr == SYS_openat2)
		return 1;
#endif
	return nr == SYS_openat;
}

/*
 * SETATTR(size): ftruncate(2) on a writable handle and the truncation of a truncating open
 * are buffered with the rest of the new content (*@deferred); truncate(2) commits at once.
 */
static int setattr_size(fuse_req_t req, fuse_ino_t ino, const struct hkvfs_ident *id,
			struct hkvfs_fh *fh, size_t size, bool *deferred)
{
	struct hkvfs_fh *p = NULL;
	bool trunc_open = false, handle = fh != NULL, tail;
	int rc, in_open;

	if (fh && fh->write) {
		pthread_mutex_lock(&fh->lock);
	} else if (!fh && size == 0) {
		/*
		 * A truncating open, or truncate(2)? The kernel sends both without a handle and
		 * with the same flags; the caller's system call tells them apart. When it cannot
		 * be read, the caller's fresh writable handle of this inode decides (cache=on).
		 */
		in_open = caller_in_open(hkvfs_ctx(req)->pid);
		HLOG_DBG("size 0 without a handle from thread %d: in open(2): %d",
			 (int)hkvfs_ctx(req)->pid, in_open);
		if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN)
			trunc_open = in_open == 1 &&
				     !(id->kind == HKVFS_ELEM && hkvfs_list_push_name(id, &tail));
		else if (in_open != 0)
			fh = hkvfs_trunc_open_handle(req, hkvfs_ino(ino));
	} else {
		fh = NULL;
	}
	if (fh) {
		bool open_trunc = fh->fresh && size == 0 && !handle;

		fh->fresh = false;
		if (fh->append_only) {
			/* O_TRUNC on a list's push name is meaningless: each close pushes */
			rc = open_trunc ? 0 : -EINVAL;
		} else {
			if (size == 0)
				fh->loaded = true; /* nothing of the old content is needed */
			rc = hkvfs_fh_load(fh, id);
			if (!rc)
				rc = hkvfs_fh_resize(fh, size);
			if (!rc)
				fh->dirty = true;
		}
		pthread_mutex_unlock(&fh->lock);
		*deferred = true;
		return rc;
	}
	if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN && (trunc_open || atomic_load(&hkvfs_npending))) {
		pthread_mutex_lock(&hkvfs_fh_lock);
		rc = 0;
		if (trunc_open)
			rc = hkvfs_pending_get_locked(req, ino, id, true, &p);
		else
			p = hkvfs_pending_find_locked(id, hkvfs_ctx(req)->pid);
		if (!rc && p) {
			rc = hkvfs_fh_resize(p, size);
			p->dirty = true;
		}
		pthread_mutex_unlock(&hkvfs_fh_lock);
		if (rc || p) {
			*deferred = true;
			return rc;
		}
	}
	rc = truncate_node(id, (uint64_t)size);
	if (!rc)
		hkvfs_inval_now(ino);
	return rc;
}

void hkvfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = fi ? (struct hkvfs_fh *)(uintptr_t)fi->fh : NULL;
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	struct hkv_attr a = { 0 };
	unsigned which = 0;
	struct stat st;
	size_t aklen;
	bool deferred = false;
	double t;
	int rc = 0;

	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	HLOG_DBG("setattr valid %#x size %lld fh %d tid %d", (unsigned)to_set,
		 (long long)attr->st_size, fh != NULL, (int)hkvfs_ctx(req)->pid);
	if (hkvfs_g.opts.ro) {
		rc = -EROFS;
		goto out;
	}
	if (id->kind == HKVFS_CTLDIR || id->kind == HKVFS_CTLFILE || id->kind == HKVFS_ROOT) {
		rc = (to_set & ~(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) ? -EPERM : 0;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		rc = setattr_size(req, ino, id, fh, (size_t)attr->st_size, &deferred);
		if (rc)
			goto out;
		if (deferred) /* the truncating open's mtime comes with its commit */
			to_set &= ~(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW);
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		which |= HKV_ATTR_MODE;
		a.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		which |= HKV_ATTR_UID;
		a.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		which |= HKV_ATTR_GID;
		a.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		which |= HKV_ATTR_MTIME;
		a.mtime_ns = hkvfs_now_ns();
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		which |= HKV_ATTR_MTIME;
		a.mtime_ns = (int64_t)attr->st_mtim.tv_sec * 1000000000 + attr->st_mtim.tv_nsec;
	}
	if (which) {
		if (id->kind == HKVFS_ELEM) {
			/* an element has its collection's owner and mode; only times are kept */
			rc = (which & ~HKV_ATTR_MTIME) ? -EPERM : 0;
			goto out;
		}
		rc = hkvfs_attr_key(id, ak, &aklen);
		if (!rc)
			rc = hkvfs_fserr(hkv_attr_set(hkvfs_g.db, ak, aklen, which, &a));
		if (rc)
			goto out;
		hkvfs_inval_now(ino);
	}
out:
	/* the committed attributes: a buffered truncation must not reach the shared inode */
	if (!rc)
		rc = hkvfs_fill_attr(id, ino, &st, &t);
	if (!rc)
		hkvfs_pending_size(id, &st);
	free(id);
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
}
