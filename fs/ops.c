// SPDX-License-Identifier: MIT
/*
 * ops.c - the FUSE low-level operations of hkvfs, and cache invalidation.
 *
 * Model. A directory is either an implicit key prefix (ROOT, PREFIX: every key under it,
 * rolled up at the delimiter by hkv_scan) or a collection key (hash, set, zset, list) whose
 * elements are its files. A string key is a regular file. A key and a prefix of the same name
 * ("a" and "a/b") cannot both be shown: the key wins, the prefix is hidden (docs).
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
 * Coherence. The kernel caches entries and attributes for `timeout` seconds (never past a
 * key's expiry) and (noopen) file pages until told otherwise. Every mutation is followed by
 * explicit invalidation: an operation that changed a key invalidates the inode itself before
 * replying (so close() returns only after stale attributes and pages are gone), and the
 * engine's watch callback - called for every committed mutation, including hkvctl requests
 * and the expiry sweep - drops the key from the kernel hot cache at once and queues it for
 * the invalidation thread, which holds no lock while it notifies the kernel
 * (notify_inval_entry waits for the directory's lock, which a request in flight may hold);
 * the control socket waits for that thread before it replies.
 *
 * Directory offsets. An offset is the ordinal of an entry in the walk (1 = ".", 2 = "..").
 * The handle keeps the engine cursor after each entry of the last reply, which covers every
 * offset the kernel continues from; any other offset (seekdir far back) is served by walking
 * again from the start, so memory stays constant for any number of keys.
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

#include "hkvfs_int.h"

#define CNT(f) atomic_fetch_add_explicit(&hkvfs_g.cnt.f, 1, memory_order_relaxed)
#define CNTN(f, n) atomic_fetch_add_explicit(&hkvfs_g.cnt.f, (n), memory_order_relaxed)
#define SNAPSHOT_MAX (64u << 20)

/* ---------------------------------------------------------------------------------------- */
/* small helpers                                                                            */

static int fserr(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc == -HKV_ENOTINT || rc == -HKV_ENOTFLOAT || rc == -HKV_ENOSCORE)
		return -EINVAL;
	if (rc == -HKV_EWRONGTYPE)
		return -ENOTDIR;
	if (rc <= -HKV_ERRBASE)
		return -EIO;
	return rc;
}

static void reply_err(fuse_req_t req, int rc)
{
	if (rc < 0)
		rc = -rc;
	if (rc && rc != ENOENT && rc != ENODATA)
		CNT(errors);
	fuse_reply_err(req, rc);
}

static bool caching(void)
{
	return hkvfs_g.opts.cache != HKVFS_CACHE_OFF;
}

static double timeout_for(int64_t expire_at)
{
	double t = caching() ? hkvfs_g.opts.timeout : 0;
	struct timespec ts;
	double rem;

	if (expire_at <= 0 || t == 0)
		return t;
	clock_gettime(CLOCK_REALTIME, &ts);
	rem = (double)(expire_at - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000)) / 1000.0;
	if (rem < 0)
		rem = 0;
	return rem < t ? rem : t;
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

static const struct fuse_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_ctx(req);
}

/* format a score as the shortest text that reads back as the same double */
static int score_format(double s, char *out, size_t sz)
{
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, sz, "%.*g", prec, s);
		if (strtod(out, NULL) == s)
			break;
	}
	return (int)strlen(strcat(out, "\n"));
}

static int score_parse(const char *buf, size_t len, double *out)
{
	char tmp[128], *end;
	double v;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
		       buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = 0;
	errno = 0;
	v = strtod(tmp, &end);
	if (*end || isnan(v) || errno == ERANGE)
		return -EINVAL;
	*out = v;
	return 0;
}

/* canonical non-negative decimal index ("0", "17"; not "01", "+1", "-1") */
static int index_parse(const unsigned char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool is_marker(const unsigned char *c, size_t len)
{
	return len == HKVFS_MARKER_LEN && memcmp(c, HKVFS_MARKER, len) == 0;
}

/* ---------------------------------------------------------------------------------------- */
/* prefixes                                                                                 */

struct first_arg {
	bool found;
	bool skip_marker;
	size_t plen;
};

static int first_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct first_arg *fa = arg;

	(void)type;
	if (fa->skip_marker && !is_prefix && klen == fa->plen + HKVFS_MARKER_LEN &&
	    is_marker((const unsigned char *)key + fa->plen, HKVFS_MARKER_LEN))
		return 0;
	fa->found = true;
	return 1;
}

/* does any key (other than the directory marker with @skip_marker) start with @p? */
static int prefix_has_keys(const void *p, size_t plen, bool skip_marker)
{
	struct hkv_scan_opts so = { .count = 64, .prefix = p, .prefix_len = plen };
	struct first_arg fa = { .skip_marker = skip_marker, .plen = plen };
	struct hkv_cursor cur;
	int rc;

	if (skip_marker) {
		so.has_delim = true;
		so.delim = hkvfs_g.opts.delim;
	}
	hkv_cursor_init(&cur);
	while (!cur.done && !fa.found) {
		rc = hkv_scan(hkvfs_g.db, &cur, &so, first_cb, &fa);
		if (rc < 0)
			return rc;
	}
	return fa.found;
}

static size_t marker_key(const unsigned char *p, size_t plen, unsigned char *out)
{
	memcpy(out, p, plen);
	memcpy(out + plen, HKVFS_MARKER, HKVFS_MARKER_LEN);
	return plen + HKVFS_MARKER_LEN;
}

/* start of the last component of @key (0 if it has one component) */
static size_t last_comp_start(const unsigned char *key, size_t klen)
{
	size_t start = 0, next, last = 0;

	while (start < klen) {
		last = start;
		hkv_pathmap_next_comp(key, klen, start, hkvfs_g.opts.delim, &next);
		start = next;
	}
	return last;
}

/*
 * Keep the directory holding @key alive after its last entry went away through the
 * filesystem, as a local filesystem would: write the marker of the parent prefix.
 */
static void keep_parent(const unsigned char *key, size_t klen)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	size_t plen = last_comp_start(key, klen);
	struct hkv_create_attr ca = {
		.mode = 0777 & ~hkvfs_g.opts.umask,
		.uid = hkvfs_g.opts.uid,
		.gid = hkvfs_g.opts.gid,
	};
	int rc;

	if (plen == 0 || plen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return;
	rc = prefix_has_keys(key, plen, false);
	if (rc != 0)
		return;
	rc = hkv_create(hkvfs_g.db, mk, marker_key(key, plen, mk), HKV_TYPE_STRING, &ca);
	if (rc < 0 && rc != -EEXIST)
		HLOG_WARN("cannot keep directory marker: %s", hkv_strerror(rc));
}

/* ---------------------------------------------------------------------------------------- */
/* attributes                                                                               */

static void fill_dir_defaults(struct stat *st)
{
	st->st_mode = S_IFDIR | (0777 & ~hkvfs_g.opts.umask);
	st->st_uid = hkvfs_g.opts.uid;
	st->st_gid = hkvfs_g.opts.gid;
	st->st_nlink = 2;
	ns_to_ts(hkvfs_g.mount_time_ns, &st->st_mtim);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
}

static void fill_from_attr(struct stat *st, const struct hkv_attr *a)
{
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	ns_to_ts(a->mtime_ns, &st->st_mtim);
	ns_to_ts(a->ctime_ns, &st->st_ctim);
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
}

/* value of an element as its file content; @out owned by caller */
static int elem_get(const struct hkvfs_ident *id, enum hkv_type type, struct hkv_buf *out)
{
	struct hkv *db = hkvfs_g.db;
	char tmp[64];
	int64_t idx;
	double s;
	int rc;

	out->data = NULL;
	out->len = 0;
	switch (type) {
	case HKV_TYPE_HASH:
		return hkv_hget(db, id->key, id->klen, id->elem, id->elen, out);
	case HKV_TYPE_SET:
		rc = hkv_sismember(db, id->key, id->klen, id->elem, id->elen);
		if (rc < 0)
			return rc;
		return rc ? 0 : -ENOENT;
	case HKV_TYPE_ZSET:
		rc = hkv_zscore(db, id->key, id->klen, id->elem, id->elen, &s);
		if (rc < 0)
			return rc;
		rc = score_format(s, tmp, sizeof(tmp));
		out->data = malloc((size_t)rc + 1);
		if (!out->data)
			return -ENOMEM;
		memcpy(out->data, tmp, (size_t)rc + 1);
		out->len = (size_t)rc;
		return 0;
	case HKV_TYPE_LIST:
		if ((id->elen == 6 && !memcmp(id->elem, HKVFS_LIST_APPEND, 6)) ||
		    (id->elen == 7 && !memcmp(id->elem, HKVFS_LIST_PREPEND, 7)))
			return 0;
		if (index_parse(id->elem, id->elen, &idx))
			return -ENOENT;
		return hkv_lindex(db, id->key, id->klen, idx, out);
	default:
		return -ENOENT;
	}
}

static bool list_push_name(const struct hkvfs_ident *id, bool *tail)
{
	if (id->elen == 6 && !memcmp(id->elem, HKVFS_LIST_APPEND, 6)) {
		*tail = true;
		return true;
	}
	if (id->elen == 7 && !memcmp(id->elem, HKVFS_LIST_PREPEND, 7)) {
		*tail = false;
		return true;
	}
	return false;
}

/* store @data as the whole content of element @id */
static int elem_put(const struct hkvfs_ident *id, enum hkv_type type, const void *data,
		    size_t len, const struct hkv_create_attr *ca)
{
	struct hkv *db = hkvfs_g.db;
	int64_t idx, n;
	bool tail;
	double s;
	int rc;

	switch (type) {
	case HKV_TYPE_HASH:
		rc = hkv_hset(db, id->key, id->klen, id->elem, id->elen, data, len, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_SET:
		if (len) {
			HLOG_WARN("write of %zu bytes into a set member refused (EINVAL)", len);
			return -EINVAL;
		}
		rc = hkv_sadd(db, id->key, id->klen, id->elem, id->elen, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_ZSET:
		if (score_parse(data, len, &s)) {
			HLOG_WARN("invalid score '%.*s' for a zset member (EINVAL)",
				 (int)(len > 40 ? 40 : len), (const char *)data);
			return -EINVAL;
		}
		rc = hkv_zadd(db, id->key, id->klen, s, id->elem, id->elen, 0, NULL, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_LIST:
		if (list_push_name(id, &tail)) {
			n = tail ? hkv_rpush(db, id->key, id->klen, data, len, ca)
				 : hkv_lpush(db, id->key, id->klen, data, len, ca);
			return n < 0 ? (int)n : 0;
		}
		if (index_parse(id->elem, id->elen, &idx))
			return -EINVAL;
		rc = hkv_lset(db, id->key, id->klen, idx, data, len);
		return rc == -ERANGE ? -ENOENT : rc;
	default:
		return -EINVAL;
	}
}

/*
 * fill_attr() - stat of the node @id; *@tmo receives the cache timeout.
 * Return: 0; -ENOENT; another -errno.
 */
static int fill_attr(const struct hkvfs_ident *id, fuse_ino_t ino, struct stat *st, double *tmo)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_attr a;
	struct hkv_buf v;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	*tmo = caching() ? hkvfs_g.opts.timeout : 0;
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
		ns_to_ts(hkvfs_now_ns(), &st->st_mtim);
		*tmo = 0;
		return 0;
	case HKVFS_PREFIX:
		fill_dir_defaults(st);
		if (id->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX &&
		    hkv_attr_get(hkvfs_g.db, mk, marker_key(id->key, id->klen, mk), &a) == 0) {
			fill_from_attr(st, &a);
			st->st_mode = S_IFDIR | (a.mode & 07777);
			return 0;
		}
		rc = prefix_has_keys(id->key, id->klen, false);
		if (rc < 0)
			return rc;
		return rc ? 0 : -ENOENT;
	case HKVFS_KEY:
		rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
		if (rc)
			return fserr(rc);
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
		*tmo = timeout_for(a.expire_at);
		return 0;
	case HKVFS_ELEM: {
		bool tail;

		rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
		if (rc)
			return fserr(rc);
		if (a.type == HKV_TYPE_STRING || a.type == HKV_TYPE_NONE)
			return -ENOENT;
		fill_from_attr(st, &a);
		st->st_nlink = 1;
		*tmo = timeout_for(a.expire_at);
		if (a.type == HKV_TYPE_LIST && list_push_name(id, &tail)) {
			st->st_mode = S_IFREG | (a.mode & 0222);
			return 0;
		}
		st->st_mode = S_IFREG | (a.mode & 0666);
		rc = elem_get(id, a.type, &v);
		if (rc)
			return fserr(rc);
		st->st_size = (off_t)v.len;
		hkv_buf_release(&v);
		return 0;
	}
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------------------------------- */
/* lookup                                                                                   */

/*
 * resolve() - identity of @name in directory @dir.
 * Return: 0 and @out filled; -ENOENT, -ENAMETOOLONG, -EINVAL (not a canonical name).
 */
static int resolve(const struct hkvfs_ident *dir, const char *name, struct hkvfs_ident *out,
		   bool must_exist)
{
	unsigned char comp[HKV_NAME_MAX + 1];
	size_t nlen = strlen(name);
	int c, rc;

	memset(out, 0, offsetof(struct hkvfs_ident, key));
	if (nlen > HKV_NAME_MAX) {
		HLOG_WARN("name of %zu bytes is longer than %d (ENAMETOOLONG)", nlen, HKV_NAME_MAX);
		return -ENAMETOOLONG;
	}
	switch (dir->kind) {
	case HKVFS_ROOT:
		if (strcmp(name, HKV_CTL_DIR) == 0) {
			out->kind = HKVFS_CTLDIR;
			return 0;
		}
		/* fall through */
	case HKVFS_PREFIX:
		c = hkv_pathmap_decode(name, hkvfs_g.opts.delim, comp, sizeof(comp));
		if (c < 0)
			return c == -ENAMETOOLONG ? c : -EINVAL;
		if (dir->klen + (size_t)c + 1 > HKV_KEY_MAX)
			return -ENAMETOOLONG;
		if (is_marker(comp, (size_t)c))
			return -EINVAL;
		memcpy(out->key, dir->key, dir->klen);
		memcpy(out->key + dir->klen, comp, (size_t)c);
		out->klen = dir->klen + (size_t)c;
		if (hkv_pathmap_comp_ok(comp, (size_t)c, hkvfs_g.opts.delim, false)) {
			out->kind = HKVFS_KEY;
			rc = hkv_exists(hkvfs_g.db, out->key, out->klen);
			if (rc < 0)
				return rc;
			if (rc > 0 || !must_exist)
				return 0;
		}
		if (!hkv_pathmap_comp_ok(comp, (size_t)c, hkvfs_g.opts.delim, true))
			return must_exist ? -ENOENT : -EINVAL;
		out->key[out->klen++] = hkvfs_g.opts.delim;
		out->kind = HKVFS_PREFIX;
		if (!must_exist)
			return 0;
		rc = prefix_has_keys(out->key, out->klen, false);
		if (rc < 0)
			return rc;
		return rc ? 0 : -ENOENT;
	case HKVFS_KEY:
		c = hkv_pathmap_decode(name, -1, comp, sizeof(comp));
		if (c < 0)
			return c == -ENAMETOOLONG ? c : -EINVAL;
		out->kind = HKVFS_ELEM;
		memcpy(out->key, dir->key, dir->klen);
		out->klen = dir->klen;
		memcpy(out->elem, comp, (size_t)c);
		out->elen = (size_t)c;
		return 0;
	case HKVFS_CTLDIR:
		out->kind = HKVFS_CTLFILE;
		if (strcmp(name, "stats") == 0)
			out->ctl = HKVFS_CTL_STATS;
		else if (strcmp(name, "config") == 0)
			out->ctl = HKVFS_CTL_CONFIG;
		else if (strcmp(name, "hot") == 0)
			out->ctl = HKVFS_CTL_HOT;
		else
			return -ENOENT;
		return 0;
	default:
		return -ENOTDIR;
	}
}

static int make_entry(const struct hkvfs_ident *id, struct fuse_entry_param *e)
{
	struct hkvfs_inode *in;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = hkvfs_itab_ref(id, &in);
	if (rc)
		return rc;
	e->ino = hkvfs_ino_id(in);
	rc = fill_attr(id, e->ino, &e->attr, &e->attr_timeout);
	if (rc) {
		hkvfs_itab_forget(in, 1);
		return rc;
	}
	e->entry_timeout = e->attr_timeout;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hkvfs_ident *dir = malloc(2 * sizeof(*dir)), *id;
	struct fuse_entry_param e;
	int rc;

	CNT(lookups);
	if (!dir) {
		reply_err(req, ENOMEM);
		return;
	}
	id = dir + 1;
	hkvfs_itab_snapshot(hkvfs_ino(parent), dir);
	rc = resolve(dir, name, id, true);
	if (rc == -EINVAL)
		rc = -ENOENT;
	if (!rc)
		rc = make_entry(id, &e);
	if (rc) {
		if (rc == -ENOENT)
			CNT(lookup_miss);
		reply_err(req, rc);
	} else {
		fuse_reply_entry(req, &e);
	}
	free(dir);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	hkvfs_itab_forget(hkvfs_ino(ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		hkvfs_itab_forget(hkvfs_ino(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---------------------------------------------------------------------------------------- */
/* file handles                                                                             */

/**
 * struct hkvfs_fh - an open file, or (cache=noopen) the pending content one thread wrote to
 * an existing file. @lock protects the fields below it; the handle list (fh_lock) links every
 * handle and pending buffer so a shutdown can commit what is still buffered.
 * @id:      pending buffers only: a copy of the node's identity (the kernel may forget the
 *           inode once the file is closed); NULL for handles, which use @in.
 * @tid:     the thread that opened the handle (or wrote the pending buffer).
 * @fresh:   a writable handle that has not been written, read or truncated since OPEN: the
 *           SETATTR(size 0) of a truncating open(2) belongs to it.
 * @buf:     the snapshot (read-only direct-I/O handles) or the whole new content (writable
 *           handles); for append-only handles only the bytes to append.
 */
struct hkvfs_fh {
	struct hkvfs_fh *next, *prev;
	struct hkvfs_inode *in;
	struct hkvfs_ident *id;
	pid_t tid;
	bool pending;
	pthread_mutex_t lock;
	bool write, append_only, dirty, loaded, fresh;
	char *buf;
	size_t len, cap;
	struct hkv_create_attr ca;
};

static pthread_mutex_t fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hkvfs_fh fh_list = { .next = &fh_list, .prev = &fh_list };
static atomic_int npending; /* pending buffers in fh_list (cache=noopen) */

static void fh_link_locked(struct hkvfs_fh *fh)
{
	fh->next = fh_list.next;
	fh->prev = &fh_list;
	fh_list.next->prev = fh;
	fh_list.next = fh;
}

static void fh_unlink_locked(struct hkvfs_fh *fh)
{
	fh->prev->next = fh->next;
	fh->next->prev = fh->prev;
	fh->next = fh->prev = fh;
}

static void fh_free(struct hkvfs_fh *fh)
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

static int buf_resize(struct hkvfs_fh *fh, size_t size)
{
	int rc = buf_reserve(fh, size);

	if (rc)
		return rc;
	if (size > fh->len)
		memset(fh->buf + fh->len, 0, size - fh->len);
	fh->len = size;
	return 0;
}

static int key_type(const struct hkvfs_ident *id)
{
	int t = hkv_type(hkvfs_g.db, id->key, id->klen);

	return t == HKV_TYPE_NONE ? -ENOENT : t;
}

/* current committed content of @id into the handle buffer */
static int fh_load(struct hkvfs_fh *fh, const struct hkvfs_ident *id)
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
			return fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	} else {
		t = key_type(id);
		if (t < 0)
			return t;
		rc = elem_get(id, (enum hkv_type)t, &v);
		if (rc == -ENOENT && fh->write)
			rc = 0;
		if (rc)
			return fserr(rc);
	}
	free(fh->buf);
	fh->buf = v.data;
	fh->len = fh->cap = v.len;
	if (!fh->buf)
		fh->cap = 0;
	fh->loaded = true;
	return 0;
}

static void inval_now(fuse_ino_t ino)
{
	int rc;

	if (!caching() || !ino)
		return;
	rc = fuse_lowlevel_notify_inval_inode(hkvfs_g.se, ino, 0, 0);
	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

/*
 * Store a dirty handle's content with one engine call, so the new content appears
 * atomically. The caller then invalidates the inode (inval_now) before it replies. Called
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
		t = key_type(id);
		rc = t < 0 ? t : elem_put(id, (enum hkv_type)t, data, fh->len, &fh->ca);
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
	return fserr(rc);
}

/* commit a handle and drop the kernel's cached pages and attributes before replying */
static int fh_commit(struct hkvfs_fh *fh)
{
	bool was_dirty = fh->dirty;
	int rc = fh_store(fh);

	if (!rc && was_dirty)
		inval_now(hkvfs_ino_id(fh->in));
	return rc;
}

static struct hkvfs_fh *fh_new(struct hkvfs_inode *in, fuse_req_t req, mode_t mode)
{
	struct hkvfs_fh *fh = calloc(1, sizeof(*fh));

	if (!fh)
		return NULL;
	pthread_mutex_init(&fh->lock, NULL);
	fh->next = fh->prev = fh;
	fh->in = in;
	fh->tid = ctx_of(req)->pid;
	fh->ca.mode = mode & 07777;
	fh->ca.uid = ctx_of(req)->uid;
	fh->ca.gid = ctx_of(req)->gid;
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
 * fh_lock. @tid < 0: the most recently written buffer of the node, whatever its thread.
 */
static struct hkvfs_fh *pending_find_locked(const struct hkvfs_ident *id, pid_t tid)
{
	struct hkvfs_fh *fh;

	for (fh = fh_list.next; fh != &fh_list; fh = fh->next)
		if (fh->pending && (tid < 0 || fh->tid == tid) && same_ident(fh->id, id))
			return fh;
	return NULL;
}

/* the pending buffer of (@id, the caller's thread), created (loaded unless @empty) */
static int pending_get_locked(fuse_req_t req, fuse_ino_t ino, const struct hkvfs_ident *id,
			      bool empty, struct hkvfs_fh **out)
{
	struct hkvfs_fh *fh = pending_find_locked(id, ctx_of(req)->pid);
	int rc;

	if (fh) {
		/* most recently written first: readers of the node see the latest writes */
		fh_unlink_locked(fh);
		fh_link_locked(fh);
		*out = fh;
		return 0;
	}
	fh = fh_new(hkvfs_ino(ino), req, 0644);
	if (!fh)
		return -ENOMEM;
	fh->id = malloc(sizeof(*fh->id));
	if (!fh->id) {
		fh_free(fh);
		return -ENOMEM;
	}
	memcpy(fh->id, id, sizeof(*id));
	fh->pending = true;
	fh->write = true;
	fh->loaded = empty;
	rc = empty ? 0 : fh_load(fh, id);
	if (rc) {
		fh_free(fh);
		return rc;
	}
	fh_link_locked(fh);
	atomic_fetch_add(&npending, 1);
	*out = fh;
	return 0;
}

/*
 * FLUSH or FSYNC without a handle (cache=noopen): commit the caller's pending buffer of @id,
 * and those of threads that no longer exist. Each is detached first, so the kernel
 * invalidation (which waits for READs in flight) runs without fh_lock.
 */
static int pending_commit(fuse_req_t req, fuse_ino_t ino, const struct hkvfs_ident *id)
{
	struct hkvfs_fh *fh, *next, *done = NULL;
	pid_t tid = ctx_of(req)->pid;
	int rc = 0, r;

	if (atomic_load(&npending) == 0)
		return 0;
	pthread_mutex_lock(&fh_lock);
	for (fh = fh_list.next; fh != &fh_list; fh = next) {
		next = fh->next;
		if (!fh->pending || !same_ident(fh->id, id) ||
		    (fh->tid != tid && thread_alive(fh->tid)))
			continue;
		fh_unlink_locked(fh);
		atomic_fetch_sub(&npending, 1);
		r = fh_store(fh);
		if (r && fh->tid == tid)
			rc = r;
		fh->next = done;
		done = fh;
	}
	pthread_mutex_unlock(&fh_lock);
	if (done)
		inval_now(ino);
	for (fh = done; fh; fh = next) {
		next = fh->next;
		fh_free(fh);
	}
	return rc;
}

/*
 * A truncating open(2) without FUSE's atomic O_TRUNC arrives as OPEN (flags without O_TRUNC)
 * and then, from the same thread, SETATTR(size 0, mtime now) without a file handle (the
 * kernel drops the handle for ATTR_OPEN). truncate(2) sends no mtime, ftruncate(2) a handle.
 * Return the fresh writable handle of @in opened by the caller's thread, locked, or NULL.
 */
static struct hkvfs_fh *trunc_open_handle(fuse_req_t req, struct hkvfs_inode *in)
{
	struct hkvfs_fh *fh, *found = NULL;
	pid_t tid = ctx_of(req)->pid;

	pthread_mutex_lock(&fh_lock);
	for (fh = fh_list.next; fh != &fh_list && !found; fh = fh->next) {
		if (fh->pending || fh->in != in || !fh->write || fh->tid != tid)
			continue;
		pthread_mutex_lock(&fh->lock);
		if (fh->fresh)
			found = fh; /* the newest such handle: the list is newest first */
		else
			pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&fh_lock);
	return found;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_inode *in = hkvfs_ino(ino);
	struct hkvfs_ident *id;
	struct hkvfs_fh *fh;
	int acc = fi->flags & O_ACCMODE;
	bool tail;
	int rc;

	if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN) {
		reply_err(req, ENOSYS);
		return;
	}
	id = malloc(sizeof(*id));
	fh = fh_new(in, req, 0644);
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
	if (id->kind == HKVFS_ELEM && key_type(id) == HKV_TYPE_LIST && list_push_name(id, &tail)) {
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

		rc = fill_attr(id, ino, &st, &t);
		if (rc)
			goto out_free;
		if (id->kind == HKVFS_KEY)
			hkvfs_promoter_read(hkvfs_g.prom, id->key, id->klen);
		/* one open reads one version: a snapshot, read with direct I/O (see top) */
		if ((uint64_t)st.st_size <= SNAPSHOT_MAX) {
			rc = fh_load(fh, id);
			if (rc)
				goto out_free;
		}
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->fh = (uint64_t)(uintptr_t)fh;
	pthread_mutex_lock(&fh_lock);
	fh_link_locked(fh);
	pthread_mutex_unlock(&fh_lock);
	free(id);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		pthread_mutex_lock(&fh_lock);
		fh_unlink_locked(fh);
		pthread_mutex_unlock(&fh_lock);
		fh_free(fh);
	}
	return;
out_free:
	if (fh)
		fh_free(fh);
	free(id);
	reply_err(req, rc);
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
			return fserr(r == -HKV_EWRONGTYPE ? -EISDIR : (int)r);
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
	t = key_type(id);
	if (t < 0)
		return t;
	rc = elem_get(id, (enum hkv_type)t, &v);
	if (rc)
		return fserr(rc);
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

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
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
		reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
	if (fh) {
		pthread_mutex_lock(&fh->lock);
		fh->fresh = false;
		if (fh->append_only) {
			rc = -EBADF;
		} else if (fh->loaded || fh->write) {
			rc = fh_load(fh, id);
			if (!rc)
				reply_slice(req, fh->buf, fh->len, size, off);
			pthread_mutex_unlock(&fh->lock);
			if (rc)
				reply_err(req, rc);
			free(id);
			return;
		}
		pthread_mutex_unlock(&fh->lock);
	} else {
		if (id->kind == HKVFS_KEY && off == 0)
			hkvfs_promoter_read(hkvfs_g.prom, id->key, id->klen);
		if (atomic_load(&npending)) {
			/* cache=noopen: this mount shows a writer's bytes as they are written */
			pthread_mutex_lock(&fh_lock);
			p = pending_find_locked(id, -1);
			if (p)
				reply_slice(req, p->buf, p->len, size, off);
			pthread_mutex_unlock(&fh_lock);
			if (p) {
				free(id);
				return;
			}
		}
	}
	if (!rc)
		rc = read_direct(id, size, off, &out, &n);
	if (rc) {
		reply_err(req, rc);
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
	if (id->kind == HKVFS_ELEM && size && key_type(id) == HKV_TYPE_SET) {
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

	if (id->kind != HKVFS_ELEM || key_type(id) != HKV_TYPE_ZSET)
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

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh, *p;
	struct hkvfs_ident *id = malloc(sizeof(*id));
	bool tail;
	int rc = 0;

	CNT(writes);
	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(fh ? fh->in : hkvfs_ino(ino), id);
	rc = check_writable(id, size);
	if (rc)
		goto out;
	if (!fh) {
		/* cache=noopen: buffer per (node, thread) until that thread's flush */
		pthread_mutex_lock(&fh_lock);
		rc = pending_get_locked(req, ino, id, false, &p);
		if (!rc && id->kind == HKVFS_ELEM && key_type(id) == HKV_TYPE_LIST &&
		    list_push_name(id, &tail))
			p->append_only = true;
		if (!rc && p->append_only)
			off = (off_t)p->len;
		if (!rc)
			rc = buf_splice(p, data, size, off);
		if (!rc)
			rc = check_score_prefix(id, p->buf, p->len);
		if (!rc)
			p->dirty = true;
		pthread_mutex_unlock(&fh_lock);
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
		rc = fh_load(fh, id);
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
		reply_err(req, rc);
	} else {
		CNTN(write_bytes, size);
		fuse_reply_write(req, size);
	}
}

static int flush_nohandle(fuse_req_t req, fuse_ino_t ino)
{
	struct hkvfs_ident *id;
	int rc;

	if (atomic_load(&npending) == 0)
		return 0;
	id = malloc(sizeof(*id));
	if (!id)
		return -ENOMEM;
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	rc = pending_commit(req, ino, id);
	free(id);
	return rc;
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
	reply_err(req, rc);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
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
	reply_err(req, rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_fh *fh = (struct hkvfs_fh *)(uintptr_t)fi->fh;
	int rc = 0;

	(void)ino;
	if (fh) {
		pthread_mutex_lock(&fh_lock);
		fh_unlink_locked(fh);
		pthread_mutex_unlock(&fh_lock);
		pthread_mutex_lock(&fh->lock);
		rc = fh_commit(fh);
		pthread_mutex_unlock(&fh->lock);
		fh_free(fh);
	}
	reply_err(req, rc);
}

void hkvfs_flush_all(void)
{
	struct hkvfs_fh *fh;

	pthread_mutex_lock(&fh_lock);
	for (fh = fh_list.next; fh != &fh_list; fh = fh->next) {
		pthread_mutex_lock(&fh->lock);
		if (fh_store(fh))
			HLOG_ERR("shutdown: a buffered write could not be committed");
		pthread_mutex_unlock(&fh->lock);
	}
	pthread_mutex_unlock(&fh_lock);
}

/* ---------------------------------------------------------------------------------------- */
/* attributes                                                                               */

/* cache=noopen: this mount shows the size of a pending buffer of the node (as written) */
static void pending_size(const struct hkvfs_ident *id, struct stat *st)
{
	struct hkvfs_fh *p;

	if (atomic_load(&npending) == 0)
		return;
	pthread_mutex_lock(&fh_lock);
	p = pending_find_locked(id, -1);
	if (p) {
		st->st_size = (off_t)p->len;
		st->st_blocks = (blkcnt_t)((p->len + 511) / 512);
	}
	pthread_mutex_unlock(&fh_lock);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_ident *id = malloc(sizeof(*id));
	struct stat st;
	double t;
	int rc;

	(void)fi;
	CNT(getattrs);
	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	rc = fill_attr(id, ino, &st, &t);
	if (!rc)
		pending_size(id, &st);
	free(id);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
}

/* the key whose attributes stand for node @id (the marker for a prefix; created if needed) */
static int attr_key(const struct hkvfs_ident *id, unsigned char *out, size_t *olen)
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
	*olen = marker_key(id->key, id->klen, out);
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
		return fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	}
	if (id->kind != HKVFS_ELEM)
		return -EPERM;
	t = key_type(id);
	if (t < 0)
		return t;
	if (t == HKV_TYPE_LIST && list_push_name(id, &tail))
		return 0; /* nothing to truncate: each close that wrote data pushes */
	if (t == HKV_TYPE_SET)
		return size ? -EINVAL : 0;
	if (t == HKV_TYPE_ZSET)
		return 0; /* O_TRUNC before a new score: the write replaces it whole */
	rc = elem_get(id, (enum hkv_type)t, &v);
	if (rc)
		return fserr(rc);
	whole = calloc(1, size + 1);
	if (!whole) {
		hkv_buf_release(&v);
		return -ENOMEM;
	}
	memcpy(whole, v.data, v.len < size ? v.len : size);
	rc = elem_put(id, (enum hkv_type)t, whole, size, NULL);
	free(whole);
	hkv_buf_release(&v);
	return fserr(rc);
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
		in_open = caller_in_open(ctx_of(req)->pid);
		HLOG_DBG("size 0 without a handle from thread %d: in open(2): %d",
			 (int)ctx_of(req)->pid, in_open);
		if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN)
			trunc_open = in_open == 1 &&
				     !(id->kind == HKVFS_ELEM && list_push_name(id, &tail));
		else if (in_open != 0)
			fh = trunc_open_handle(req, hkvfs_ino(ino));
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
			rc = fh_load(fh, id);
			if (!rc)
				rc = buf_resize(fh, size);
			if (!rc)
				fh->dirty = true;
		}
		pthread_mutex_unlock(&fh->lock);
		*deferred = true;
		return rc;
	}
	if (hkvfs_g.opts.cache == HKVFS_CACHE_NOOPEN && (trunc_open || atomic_load(&npending))) {
		pthread_mutex_lock(&fh_lock);
		rc = 0;
		if (trunc_open)
			rc = pending_get_locked(req, ino, id, true, &p);
		else
			p = pending_find_locked(id, ctx_of(req)->pid);
		if (!rc && p) {
			rc = buf_resize(p, size);
			p->dirty = true;
		}
		pthread_mutex_unlock(&fh_lock);
		if (rc || p) {
			*deferred = true;
			return rc;
		}
	}
	rc = truncate_node(id, (uint64_t)size);
	if (!rc)
		inval_now(ino);
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
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
		reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	HLOG_DBG("setattr valid %#x size %lld fh %d tid %d", (unsigned)to_set,
		 (long long)attr->st_size, fh != NULL, (int)ctx_of(req)->pid);
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
		rc = attr_key(id, ak, &aklen);
		if (!rc)
			rc = fserr(hkv_attr_set(hkvfs_g.db, ak, aklen, which, &a));
		if (rc)
			goto out;
		inval_now(ino);
	}
out:
	/* the committed attributes: a buffered truncation must not reach the shared inode */
	if (!rc)
		rc = fill_attr(id, ino, &st, &t);
	if (!rc)
		pending_size(id, &st);
	free(id);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
}

/* ---------------------------------------------------------------------------------------- */
/* namespace operations                                                                     */

static int parent_and_child(fuse_ino_t parent, const char *name, struct hkvfs_ident **dir,
			    struct hkvfs_ident **id, bool must_exist)
{
	int rc;

	*dir = malloc(2 * sizeof(**dir));
	if (!*dir)
		return -ENOMEM;
	*id = *dir + 1;
	hkvfs_itab_snapshot(hkvfs_ino(parent), *dir);
	if ((*dir)->kind == HKVFS_CTLDIR)
		return -EACCES;
	if (hkvfs_g.opts.ro)
		return -EROFS;
	rc = resolve(*dir, name, *id, must_exist);
	if (rc == -EINVAL && !must_exist)
		HLOG_WARN("name '%s' is not a canonical hkvfs name (EINVAL)", name);
	return rc;
}

/* create the node named @name in @dir: a string key, or an element */
static int create_node(fuse_req_t req, const struct hkvfs_ident *dir, struct hkvfs_ident *id,
		       mode_t mode, bool excl)
{
	struct hkv_create_attr ca = { mode & 07777, ctx_of(req)->uid, ctx_of(req)->gid };
	struct hkv *db = hkvfs_g.db;
	int64_t idx;
	bool tail;
	int rc, t;

	if (id->kind == HKVFS_PREFIX)
		return excl ? -EEXIST : -EISDIR;
	if (id->kind == HKVFS_KEY) {
		if (id->klen < HKV_KEY_MAX) {
			id->key[id->klen] = hkvfs_g.opts.delim;
			rc = prefix_has_keys(id->key, id->klen + 1, false);
			if (rc)
				return rc > 0 ? (excl ? -EEXIST : -EISDIR) : rc;
		}
		rc = hkv_create(db, id->key, id->klen, HKV_TYPE_STRING, &ca);
		if (rc == -EEXIST && !excl)
			rc = hkv_type(db, id->key, id->klen) == HKV_TYPE_STRING ? 0 : -EISDIR;
		return fserr(rc);
	}
	if (id->kind != HKVFS_ELEM)
		return -EACCES;
	t = key_type(dir);
	if (t < 0)
		return t;
	switch (t) {
	case HKV_TYPE_HASH:
		rc = hkv_hsetnx(db, id->key, id->klen, id->elem, id->elen, "", 0, NULL);
		break;
	case HKV_TYPE_SET:
		rc = hkv_sadd(db, id->key, id->klen, id->elem, id->elen, NULL);
		break;
	case HKV_TYPE_ZSET:
		rc = hkv_zadd(db, id->key, id->klen, 0.0, id->elem, id->elen, HKV_ZADD_NX, NULL,
			      NULL);
		break;
	case HKV_TYPE_LIST:
		if (list_push_name(id, &tail))
			return 0;
		if (index_parse(id->elem, id->elen, &idx) == 0 &&
		    idx < hkv_llen(db, id->key, id->klen))
			return excl ? -EEXIST : 0;
		HLOG_WARN("list directories only take '%s', '%s' or an existing index (EINVAL)",
			 HKVFS_LIST_APPEND, HKVFS_LIST_PREPEND);
		return -EINVAL;
	default:
		return -ENOTDIR;
	}
	if (rc == 0 && excl)
		return -EEXIST;
	return fserr(rc);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	int rc;

	CNT(creates);
	rc = parent_and_child(parent, name, &dir, &id, false);
	if (!rc)
		rc = create_node(req, dir, id, mode, fi->flags & O_EXCL);
	if (!rc)
		rc = make_entry(id, &e);
	if (rc) {
		reply_err(req, rc);
		free(dir);
		return;
	}
	free(dir);
	/* a handle as from OPEN, in every cache mode (cache=noopen too: the kernel sends
	 * FLUSH and RELEASE for created files) */
	{
		struct hkvfs_fh *fh = fh_new(hkvfs_ino(e.ino), req, mode);
		struct hkvfs_ident *nid = malloc(sizeof(*nid));
		bool tail;

		if (!fh || !nid) {
			if (fh)
				fh_free(fh);
			free(nid);
			hkvfs_itab_forget(hkvfs_ino(e.ino), 1);
			reply_err(req, ENOMEM);
			return;
		}
		hkvfs_itab_snapshot(fh->in, nid);
		fh->write = (fi->flags & O_ACCMODE) != O_RDONLY;
		if (nid->kind == HKVFS_ELEM && key_type(nid) == HKV_TYPE_LIST &&
		    list_push_name(nid, &tail))
			fh->append_only = true;
		fh->loaded = fh->append_only || (fi->flags & O_TRUNC);
		fh->dirty = !fh->append_only && (fi->flags & O_TRUNC) && fh->write;
		free(nid);
		fi->direct_io = 1;
		fi->keep_cache = 0;
		fi->fh = (uint64_t)(uintptr_t)fh;
		pthread_mutex_lock(&fh_lock);
		fh_link_locked(fh);
		pthread_mutex_unlock(&fh_lock);
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			pthread_mutex_lock(&fh_lock);
			fh_unlink_locked(fh);
			pthread_mutex_unlock(&fh_lock);
			fh_free(fh);
		}
	}
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	int rc;

	(void)rdev;
	if (!S_ISREG(mode)) {
		HLOG_WARN("mknod of a non-regular file '%s' refused (EPERM)", name);
		reply_err(req, EPERM);
		return;
	}
	rc = parent_and_child(parent, name, &dir, &id, false);
	if (!rc)
		rc = create_node(req, dir, id, mode, true);
	if (!rc)
		rc = make_entry(id, &e);
	free(dir);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	unsigned char *mk = NULL;
	struct hkv_create_attr ca = { mode & 07777, ctx_of(req)->uid, ctx_of(req)->gid };
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	int rc;

	CNT(creates);
	rc = parent_and_child(parent, name, &dir, &id, false);
	if (rc)
		goto out;
	if (id->kind == HKVFS_ELEM) {
		HLOG_WARN("mkdir inside a collection refused (EPERM)");
		rc = -EPERM;
		goto out;
	}
	if (id->kind == HKVFS_KEY) {
		/* a name whose key exists is taken; otherwise the directory is its prefix */
		rc = hkv_exists(hkvfs_g.db, id->key, id->klen);
		if (rc > 0) {
			rc = -EEXIST;
			goto out;
		}
		if (!hkv_pathmap_comp_ok(id->key + dir->klen, id->klen - dir->klen,
					 hkvfs_g.opts.delim, true)) {
			rc = -EINVAL;
			goto out;
		}
		id->key[id->klen++] = hkvfs_g.opts.delim;
		id->kind = HKVFS_PREFIX;
	}
	if (id->klen + HKVFS_MARKER_LEN > HKV_KEY_MAX) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = prefix_has_keys(id->key, id->klen, false);
	if (rc) {
		rc = rc > 0 ? -EEXIST : rc;
		goto out;
	}
	mk = malloc(HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	if (!mk) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fserr(hkv_create(hkvfs_g.db, mk, marker_key(id->key, id->klen, mk), HKV_TYPE_STRING,
			      &ca));
	if (!rc)
		rc = make_entry(id, &e);
out:
	free(mk);
	free(dir);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

static void inval_children(const unsigned char *key, size_t klen);

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hkvfs_ident *dir, *id;
	struct hkv *db = hkvfs_g.db;
	struct hkv_buf v = { 0 };
	struct hkv_attr a;
	int64_t idx, len;
	bool tail;
	int rc, t;

	CNT(unlinks);
	rc = parent_and_child(parent, name, &dir, &id, true);
	if (rc)
		goto out;
	if (id->kind == HKVFS_KEY) {
		t = hkv_type(db, id->key, id->klen);
		if (t != HKV_TYPE_STRING) {
			rc = t < 0 ? t : (t == HKV_TYPE_NONE ? -ENOENT : -EISDIR);
			goto out;
		}
		rc = hkv_del(db, id->key, id->klen);
		rc = rc < 0 ? rc : (rc ? 0 : -ENOENT);
		if (!rc)
			keep_parent(id->key, id->klen);
		goto out;
	}
	if (id->kind != HKVFS_ELEM) {
		rc = id->kind == HKVFS_PREFIX ? -EISDIR : -EPERM;
		goto out;
	}
	rc = hkv_attr_get(db, id->key, id->klen, &a);
	if (rc)
		goto out;
	switch (a.type) {
	case HKV_TYPE_HASH:
		rc = hkv_hdel(db, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_SET:
		rc = hkv_srem(db, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_ZSET:
		rc = hkv_zrem(db, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_LIST:
		len = hkv_llen(db, id->key, id->klen);
		if (list_push_name(id, &tail) || index_parse(id->elem, id->elen, &idx) ||
		    (idx != 0 && idx != len - 1)) {
			HLOG_WARN("rm in a list may only pop index 0 or the last (EPERM)");
			rc = -EPERM;
			break;
		}
		rc = idx == 0 ? hkv_lpop(db, id->key, id->klen, &v)
			      : hkv_rpop(db, id->key, id->klen, &v);
		hkv_buf_release(&v);
		rc = rc < 0 ? rc : 1;
		break;
	default:
		rc = -ENOENT;
	}
	if (rc == 0)
		rc = -ENOENT;
	else if (rc > 0)
		rc = 0;
	/* a directory survives its last file, as on a local filesystem */
	if (!rc && hkv_exists(db, id->key, id->klen) == 0) {
		struct hkv_create_attr ca = { a.mode, a.uid, a.gid };

		hkv_create(db, id->key, id->klen, a.type, &ca);
	}
	if (!rc && a.type == HKV_TYPE_LIST)
		inval_children(id->key, id->klen);
out:
	free(dir);
	reply_err(req, fserr(rc));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unsigned char *mk = NULL;
	struct hkvfs_ident *dir, *id;
	int rc;

	CNT(unlinks);
	rc = parent_and_child(parent, name, &dir, &id, true);
	if (rc)
		goto out;
	if (id->kind == HKVFS_KEY) {
		int t = hkv_type(hkvfs_g.db, id->key, id->klen);

		if (t == HKV_TYPE_STRING) {
			rc = -ENOTDIR;
		} else if (t == HKV_TYPE_NONE) {
			rc = -ENOENT;
		} else if (t > 0) {
			struct hkv_attr a;

			rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
			if (!rc && a.size)
				rc = -ENOTEMPTY;
			if (!rc)
				rc = hkv_del(hkvfs_g.db, id->key, id->klen) < 0 ? -EIO : 0;
			if (!rc)
				keep_parent(id->key, id->klen);
		} else {
			rc = t;
		}
		goto out;
	}
	if (id->kind != HKVFS_PREFIX) {
		rc = -ENOTDIR;
		goto out;
	}
	rc = prefix_has_keys(id->key, id->klen, true);
	if (rc) {
		rc = rc > 0 ? -ENOTEMPTY : rc;
		goto out;
	}
	mk = malloc(HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	if (!mk) {
		rc = -ENOMEM;
		goto out;
	}
	rc = hkv_del(hkvfs_g.db, mk, marker_key(id->key, id->klen, mk));
	rc = rc < 0 ? rc : 0;
	if (!rc)
		keep_parent(id->key, id->klen - 1);
out:
	free(mk);
	free(dir);
	reply_err(req, fserr(rc));
}

struct mv_arg {
	const unsigned char *from, *to;
	size_t flen, tlen;
	int err;
	size_t moved;
	unsigned char *nk;
	unsigned char (*keys)[HKV_KEY_MAX + 1];
	size_t *lens;
	size_t n;
};

static int collect_cb(void *arg, const void *key, size_t klen, enum hkv_type type,
		      bool is_prefix)
{
	struct mv_arg *m = arg;

	(void)type;
	(void)is_prefix;
	memcpy(m->keys[m->n], key, klen);
	m->lens[m->n++] = klen;
	return m->n == 64 ? 1 : 0;
}

/*
 * Rename every key under prefix @from to @to (+ the rest). Not atomic across keys: each key
 * moves atomically, a crash in the middle leaves some keys under each name (docs). Keys are
 * collected 64 at a time so the scan never sees a key it moved.
 */
static int rename_prefix(const unsigned char *from, size_t flen, const unsigned char *to,
			 size_t tlen)
{
	struct hkv_scan_opts so = { .count = 64, .prefix = from, .prefix_len = flen };
	struct mv_arg m = { .from = from, .to = to, .flen = flen, .tlen = tlen };
	struct hkv_cursor cur;
	size_t i;
	int rc = 0;

	m.keys = malloc(64 * sizeof(*m.keys));
	m.lens = malloc(64 * sizeof(*m.lens));
	m.nk = malloc(2 * HKV_KEY_MAX + 1);
	if (!m.keys || !m.lens || !m.nk) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (;;) {
		hkv_cursor_init(&cur);
		m.n = 0;
		while (!cur.done && m.n < 64) {
			rc = hkv_scan(hkvfs_g.db, &cur, &so, collect_cb, &m);
			if (rc < 0)
				goto out_free;
		}
		if (m.n == 0)
			break;
		for (i = 0; i < m.n; i++) {
			size_t nl = m.lens[i] - flen + tlen;

			if (nl > HKV_KEY_MAX) {
				rc = -ENAMETOOLONG;
				goto out_free;
			}
			memcpy(m.nk, to, tlen);
			memcpy(m.nk + tlen, m.keys[i] + flen, m.lens[i] - flen);
			rc = hkv_rename(hkvfs_g.db, m.keys[i], m.lens[i], m.nk, nl, 0);
			if (rc < 0 && rc != -ENOENT)
				goto out_free;
		}
	}
	rc = 0;
out_free:
	free(m.keys);
	free(m.lens);
	free(m.nk);
	return rc;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct hkvfs_ident *dir, *src, *ndir, *dst;
	int rc, st, dt;

	CNT(renames);
	ndir = NULL;
	rc = parent_and_child(parent, name, &dir, &src, true);
	if (rc)
		goto out;
	rc = parent_and_child(newparent, newname, &ndir, &dst, false);
	if (rc)
		goto out;
	if (flags & ~RENAME_NOREPLACE) {
		rc = -EINVAL;
		goto out;
	}
	if (src->kind == HKVFS_ELEM || dst->kind == HKVFS_ELEM) {
		rc = -EXDEV; /* mv copies; rename(2) of elements is not supported (docs) */
		goto out;
	}
	if (src->kind == HKVFS_KEY) {
		unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
		int full = 0, any = 0;

		st = hkv_type(hkvfs_g.db, src->key, src->klen);
		if (dst->kind == HKVFS_PREFIX) {
			rc = st == HKV_TYPE_STRING ? -EISDIR : -ENOTEMPTY;
			goto out;
		}
		if (dst->klen + 1 + HKVFS_MARKER_LEN <= HKV_KEY_MAX) {
			dst->key[dst->klen] = hkvfs_g.opts.delim;
			full = prefix_has_keys(dst->key, dst->klen + 1, true);
			any = prefix_has_keys(dst->key, dst->klen + 1, false);
		}
		if (full > 0 || (any > 0 && st == HKV_TYPE_STRING)) {
			rc = st == HKV_TYPE_STRING ? -EISDIR : -ENOTEMPTY;
			goto out;
		}
		if (any > 0) /* an empty mkdir'd directory is replaced by the collection */
			hkv_del(hkvfs_g.db, mk, marker_key(dst->key, dst->klen + 1, mk));
		dt = hkv_type(hkvfs_g.db, dst->key, dst->klen);
		if (dt > 0 && (flags & RENAME_NOREPLACE)) {
			rc = -EEXIST;
			goto out;
		}
		if (dt > 0 && (dt == HKV_TYPE_STRING) != (st == HKV_TYPE_STRING)) {
			rc = st == HKV_TYPE_STRING ? -EISDIR : -ENOTDIR;
			goto out;
		}
		if (dt > 0 && dt != HKV_TYPE_STRING) {
			struct hkv_attr a;

			if (hkv_attr_get(hkvfs_g.db, dst->key, dst->klen, &a) == 0 && a.size) {
				rc = -ENOTEMPTY;
				goto out;
			}
		}
		rc = hkv_rename(hkvfs_g.db, src->key, src->klen, dst->key, dst->klen,
				(flags & RENAME_NOREPLACE) ? HKV_RENAME_NX : 0);
		if (rc)
			goto out;
		hkvfs_itab_move(HKVFS_KEY, src->key, src->klen, dst->key, dst->klen);
		keep_parent(src->key, src->klen);
		goto out;
	}
	if (src->kind != HKVFS_PREFIX) {
		rc = -EPERM;
		goto out;
	}
	/* directory (prefix) rename: the destination must be absent or an empty directory */
	if (dst->kind == HKVFS_KEY) {
		if (hkv_exists(hkvfs_g.db, dst->key, dst->klen) > 0) {
			rc = -ENOTDIR;
			goto out;
		}
		dst->key[dst->klen++] = hkvfs_g.opts.delim;
		dst->kind = HKVFS_PREFIX;
	}
	if (dst->klen >= src->klen && memcmp(dst->key, src->key, src->klen) == 0) {
		rc = -EINVAL;
		goto out;
	}
	rc = prefix_has_keys(dst->key, dst->klen, true);
	if (rc) {
		rc = rc > 0 ? ((flags & RENAME_NOREPLACE) ? -EEXIST : -ENOTEMPTY) : rc;
		goto out;
	}
	{
		unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];

		if (dst->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX)
			hkv_del(hkvfs_g.db, mk, marker_key(dst->key, dst->klen, mk));
	}
	rc = rename_prefix(src->key, src->klen, dst->key, dst->klen);
	if (rc)
		goto out;
	hkvfs_itab_rename_prefix(src->key, src->klen, dst->key, dst->klen);
	keep_parent(src->key, src->klen - 1);
out:
	free(dir);
	free(ndir);
	reply_err(req, fserr(rc));
}

/* ---------------------------------------------------------------------------------------- */
/* readdir                                                                                  */

struct win_ent {
	uint64_t off;
	struct hkv_cursor *cur;
};

/*
 * struct prefetch - entries of a key-prefix directory taken from one hkv_scan() call and
 * handed out one by one. @at is the engine cursor of the next entry (the position before it),
 * so the batch is used only while the directory's cursor is still there; any other cursor
 * (a seek, an entry put back because the reply was full) refetches from that cursor.
 * hkv_cursor_after() gives the cursor after each entry, exactly as the engine would.
 */
#define PF_MAX 64

struct pf_ent {
	size_t off, klen;
	enum hkv_type type;
	bool is_prefix;
};

struct prefetch {
	struct hkv_cursor at;
	struct hkv_cursor end;
	bool valid;
	unsigned n, i;
	struct pf_ent e[PF_MAX];
	unsigned char *buf;
	size_t len, cap;
};

/**
 * struct hkvfs_dh - an open directory. @lock protects all fields.
 * @cur:   engine cursor after the entry at offset @off (or the start).
 * @win:   cursors after each entry of the last reply, so any offset the kernel resumes from
 *         is found without walking again.
 */
struct hkvfs_dh {
	pthread_mutex_t lock;
	struct hkv_cursor cur;
	uint64_t off;
	struct win_ent *win;
	size_t nwin, capwin;
	struct prefetch pf;
};

static void dh_reset(struct hkvfs_dh *dh)
{
	hkv_cursor_init(&dh->cur);
	dh->off = 0;
	dh->pf.valid = false;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_dh *dh = calloc(1, sizeof(*dh));

	(void)ino;
	if (!dh) {
		reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&dh->lock, NULL);
	dh_reset(dh);
	fi->fh = (uint64_t)(uintptr_t)dh;
	fuse_reply_open(req, fi);
}

static void win_clear(struct hkvfs_dh *dh)
{
	size_t i;

	for (i = 0; i < dh->nwin; i++)
		free(dh->win[i].cur);
	dh->nwin = 0;
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_dh *dh = (struct hkvfs_dh *)(uintptr_t)fi->fh;

	(void)ino;
	win_clear(dh);
	free(dh->win);
	free(dh->pf.buf);
	pthread_mutex_destroy(&dh->lock);
	free(dh);
	fuse_reply_err(req, 0);
}

/* one directory entry produced by next_entry() */
struct dent {
	char name[HKV_NAME_MAX + 1];
	mode_t mode;
	bool have;
	/* what the scan callback saw; filtered after the scan returns (no engine calls there) */
	const struct hkvfs_ident *dir;
	bool raw, raw_prefix;
	enum hkv_type raw_type;
	size_t raw_len;
	unsigned char raw_key[HKV_KEY_MAX + 1];
};

static int pf_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct prefetch *pf = arg;

	if (pf->len + klen > pf->cap) {
		size_t cap = pf->cap ? pf->cap * 2 : 16384;
		unsigned char *b;

		while (cap < pf->len + klen)
			cap *= 2;
		b = realloc(pf->buf, cap);
		if (!b)
			return pf->n ? HKV_SCAN_AGAIN : -ENOMEM;
		pf->buf = b;
		pf->cap = cap;
	}
	memcpy(pf->buf + pf->len, key, klen);
	pf->e[pf->n].off = pf->len;
	pf->e[pf->n].klen = klen;
	pf->e[pf->n].type = type;
	pf->e[pf->n].is_prefix = is_prefix;
	pf->len += klen;
	pf->n++;
	/* a prefix with no position of its own (hkv_cursor_after) ends the batch */
	if (is_prefix && klen > HKV_ORDER_PREFIX)
		return 1;
	return pf->n == PF_MAX;
}

static bool cursor_eq(const struct hkv_cursor *a, const struct hkv_cursor *b)
{
	return a->done == b->done && a->len == b->len && !memcmp(a->pos, b->pos, a->len);
}

/* The next raw entry of a prefix directory at @cur into @d; @cur then points after it. */
static int pf_next(const struct hkvfs_ident *dir, struct prefetch *pf, struct hkv_cursor *cur,
		   struct dent *d)
{
	struct hkv_scan_opts so = {
		.count = PF_MAX, .prefix = dir->key, .prefix_len = dir->klen,
		.has_delim = true, .delim = hkvfs_g.opts.delim,
	};
	const struct pf_ent *e;
	int rc;

	if (!pf->valid || !cursor_eq(&pf->at, cur)) {
		pf->valid = false;
		pf->n = pf->i = 0;
		pf->len = 0;
		pf->end = *cur;
		rc = hkv_scan(hkvfs_g.db, &pf->end, &so, pf_cb, pf);
		if (rc < 0)
			return rc;
		pf->at = *cur;
		pf->valid = true;
	}
	if (pf->i == pf->n) {
		/* nothing reported in this stretch (expired keys): go on from its end */
		*cur = pf->end;
		pf->valid = false;
		return 0;
	}
	e = &pf->e[pf->i++];
	if (pf->i == pf->n || hkv_cursor_after(cur, pf->buf + e->off, e->klen, e->is_prefix))
		*cur = pf->end;
	if (pf->i == pf->n)
		pf->valid = false; /* the next call fetches from the end */
	pf->at = *cur;
	memcpy(d->raw_key, pf->buf + e->off, e->klen);
	d->raw_len = e->klen;
	d->raw_type = e->type;
	d->raw_prefix = e->is_prefix;
	d->raw = true;
	return 1;
}

/* turn the raw scan entry into a directory entry, or skip it */
static void dent_prefix_filter(struct dent *d)
{
	const struct hkvfs_ident *dir = d->dir;
	const unsigned char *c = d->raw_key + dir->klen;
	size_t clen = d->raw_len - dir->klen;
	int n;

	d->raw = false;
	if (d->raw_prefix) {
		clen--; /* drop the delimiter */
		/* a key of the same name hides the prefix */
		if (hkv_exists(hkvfs_g.db, d->raw_key, d->raw_len - 1) > 0)
			return;
	} else if (is_marker(c, clen)) {
		return;
	}
	if (clen == 0)
		return;
	n = hkv_pathmap_encode(c, clen, hkvfs_g.opts.delim, d->name);
	if (n < 0) {
		HLOG_WARN("a key component of %zu bytes has no file name (ENAMETOOLONG)", clen);
		return;
	}
	d->mode = (d->raw_prefix || d->raw_type != HKV_TYPE_STRING) ? S_IFDIR : S_IFREG;
	d->have = true;
}

static int dent_elem_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct dent *d = arg;

	(void)b;
	(void)blen;
	if (hkv_pathmap_encode(a, alen, -1, d->name) < 0) {
		HLOG_WARN("an element of %zu bytes has no file name (ENAMETOOLONG)", alen);
		return 1;
	}
	d->mode = S_IFREG;
	d->have = true;
	return 1;
}

static int dent_z_cb(void *arg, const void *member, size_t mlen, double score)
{
	(void)score;
	return dent_elem_cb(arg, member, mlen, NULL, 0);
}

/*
 * next_entry() - advance @cur past the next entry of directory @dir.
 * Return: 1 and @d filled; 0 at the end; -errno.
 */
static int next_entry(const struct hkvfs_ident *dir, int type, struct hkv_cursor *cur,
		      struct dent *d, struct prefetch *pf)
{
	struct hkv *db = hkvfs_g.db;
	uint64_t rank;
	int rc;

	d->have = false;
	d->dir = dir;
	while (!d->have) {
		if (cur->done)
			return 0;
		if (dir->kind == HKVFS_ROOT || dir->kind == HKVFS_PREFIX) {
			d->raw = false;
			rc = pf_next(dir, pf, cur, d);
			if (rc > 0)
				dent_prefix_filter(d);
		} else if (dir->kind == HKVFS_CTLDIR) {
			static const char *const names[] = { "stats", "config", "hot" };

			rank = cur->len ? cur->pos[0] : 0;
			if (rank >= 3) {
				cur->done = true;
				return 0;
			}
			strcpy(d->name, names[rank]);
			d->mode = S_IFREG;
			cur->pos[0] = (unsigned char)(rank + 1);
			cur->len = 1;
			return 1;
		} else if (type == HKV_TYPE_HASH) {
			rc = hkv_hscan(db, dir->key, dir->klen, cur, NULL, 32, dent_elem_cb, d);
		} else if (type == HKV_TYPE_SET) {
			rc = hkv_sscan(db, dir->key, dir->klen, cur, NULL, 32, dent_elem_cb, d);
		} else if (type == HKV_TYPE_ZSET) {
			/* score order from the engine's position cursor: one seek per entry */
			rc = hkv_zwalk(db, dir->key, dir->klen, cur, 1, dent_z_cb, d);
		} else if (type == HKV_TYPE_LIST) {
			/* by index: the cursor holds the next index */
			memcpy(&rank, cur->pos, sizeof(rank));
			if (cur->len == 0)
				rank = 0;
			rc = (int64_t)rank < hkv_llen(db, dir->key, dir->klen);
			if (rc) {
				snprintf(d->name, sizeof(d->name), "%" PRIu64, rank);
				d->mode = S_IFREG;
				d->have = true;
			}
			if (rc < 0)
				return rc;
			if (!d->have) {
				cur->done = true;
				return 0;
			}
			rank++;
			memcpy(cur->pos, &rank, sizeof(rank));
			cur->len = sizeof(rank);
			return 1;
		} else {
			return -ENOTDIR;
		}
		if (rc < 0)
			return rc;
	}
	return 1;
}

static int win_push(struct hkvfs_dh *dh, uint64_t off, const struct hkv_cursor *cur)
{
	size_t sz = offsetof(struct hkv_cursor, pos) + cur->len;
	struct hkv_cursor *c;

	if (dh->nwin == dh->capwin) {
		size_t cap = dh->capwin ? dh->capwin * 2 : 64;
		struct win_ent *w = realloc(dh->win, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		dh->win = w;
		dh->capwin = cap;
	}
	c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, cur, sz);
	dh->win[dh->nwin].off = off;
	dh->win[dh->nwin].cur = c;
	dh->nwin++;
	return 0;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct hkvfs_dh *dh = (struct hkvfs_dh *)(uintptr_t)fi->fh;
	struct hkvfs_ident *id = malloc(sizeof(*id));
	struct dent *d = malloc(sizeof(*d));
	char *buf = malloc(size);
	struct hkv_cursor save;
	uint64_t ndots, o;
	size_t pos = 0, i;
	int type = 0, rc = 0;

	CNT(readdirs);
	if (!id || !d || !buf) {
		rc = -ENOMEM;
		goto out_free;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (id->kind == HKVFS_KEY) {
		type = key_type(id);
		if (type < 0) {
			rc = type;
			goto out_free;
		}
	}
	ndots = id->kind == HKVFS_ROOT ? 3 : 2;
	pthread_mutex_lock(&dh->lock);
	/* find the cursor for @off */
	if ((uint64_t)off != dh->off) {
		for (i = 0; i < dh->nwin; i++)
			if (dh->win[i].off == (uint64_t)off)
				break;
		if (i < dh->nwin) {
			memcpy(&dh->cur, dh->win[i].cur,
			       offsetof(struct hkv_cursor, pos) + dh->win[i].cur->len);
			dh->off = (uint64_t)off;
		} else {
			/* an offset we no longer hold: walk again from the start */
			dh_reset(dh);
			while (dh->off < (uint64_t)off) {
				if (dh->off >= ndots) {
					rc = next_entry(id, type, &dh->cur, d, &dh->pf);
					if (rc <= 0)
						break;
				}
				dh->off++;
			}
			rc = rc < 0 ? rc : 0;
		}
	}
	win_clear(dh);
	while (rc >= 0) {
		struct stat st = { 0 };
		const char *name;
		size_t n;

		o = dh->off + 1;
		save = dh->cur;
		if (dh->off < ndots) {
			name = dh->off == 0 ? "." : dh->off == 1 ? ".." : HKV_CTL_DIR;
			st.st_mode = S_IFDIR;
		} else {
			rc = next_entry(id, type, &dh->cur, d, &dh->pf);
			if (rc <= 0)
				break;
			name = d->name;
			st.st_mode = d->mode;
		}
		st.st_ino = o + 1;
		n = fuse_add_direntry(req, buf + pos, size - pos, name, &st, (off_t)o);
		if (n > size - pos) {
			dh->cur = save; /* did not fit: the next call starts with it again */
			break;
		}
		pos += n;
		dh->off = o;
		CNT(dirents);
		if (win_push(dh, o, &dh->cur)) {
			rc = -ENOMEM;
			break;
		}
	}
	pthread_mutex_unlock(&dh->lock);
out_free:
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
	free(d);
	free(id);
}

/* ---------------------------------------------------------------------------------------- */
/* extended attributes                                                                      */

#define XA_TTL "user.hkv.ttl"
#define XA_EXPIRE "user.hkv.expire_at"
#define XA_TYPE "user.hkv.type"

static int parse_i64(const char *v, size_t len, int64_t *out)
{
	char tmp[32], *end;
	long long x;

	while (len && (v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	errno = 0;
	x = strtoll(tmp, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

/* turn the empty mkdir'd directory @id into a collection key of type @name */
static int set_dir_type(fuse_ino_t ino, struct hkvfs_ident *id, const char *val, size_t len)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_create_attr ca = { 0777 & ~hkvfs_g.opts.umask, hkvfs_g.opts.uid,
				      hkvfs_g.opts.gid };
	enum hkv_type t;
	struct hkv_attr a;
	size_t mklen;
	int rc;

	while (len && val[len - 1] == '\n')
		len--;
	t = hkv_type_parse(val, len);
	if (t == HKV_TYPE_NONE || t == HKV_TYPE_STRING) {
		HLOG_WARN("user.hkv.type '%.*s' is not one of hash, list, set, zset (EINVAL)",
			 (int)(len > 32 ? 32 : len), val);
		return -EINVAL;
	}
	if (id->kind == HKVFS_KEY) {
		rc = hkv_type(hkvfs_g.db, id->key, id->klen);
		if (rc == (int)t)
			return 0;
		HLOG_WARN("user.hkv.type of an existing key is read-only (EPERM)");
		return -EPERM;
	}
	if (id->kind != HKVFS_PREFIX) {
		HLOG_WARN("user.hkv.type can only be set on an empty directory (EPERM)");
		return -EPERM;
	}
	rc = prefix_has_keys(id->key, id->klen, true);
	if (rc) {
		if (rc > 0)
			HLOG_WARN("user.hkv.type on a non-empty directory (ENOTEMPTY)");
		return rc > 0 ? -ENOTEMPTY : rc;
	}
	mklen = marker_key(id->key, id->klen, mk);
	if (hkv_attr_get(hkvfs_g.db, mk, mklen, &a) == 0) {
		ca.mode = a.mode;
		ca.uid = a.uid;
		ca.gid = a.gid;
	}
	rc = hkv_create(hkvfs_g.db, id->key, id->klen - 1, t, &ca);
	if (rc)
		return fserr(rc);
	hkv_del(hkvfs_g.db, mk, mklen);
	hkvfs_itab_rekey(hkvfs_ino(ino), HKVFS_KEY, id->key, id->klen - 1);
	inval_now(ino);
	return 0;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	size_t aklen;
	int64_t v;
	int rc;

	CNT(xattrs);
	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (hkvfs_g.opts.ro) {
		rc = -EROFS;
		goto out;
	}
	if (strcmp(name, XA_TYPE) == 0) {
		rc = set_dir_type(ino, id, value, size);
		goto out;
	}
	if (id->kind == HKVFS_ELEM || id->kind == HKVFS_CTLDIR || id->kind == HKVFS_CTLFILE ||
	    id->kind == HKVFS_ROOT) {
		HLOG_WARN("xattr %s: not supported on this node (ENOTSUP)", name);
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (strcmp(name, XA_TTL) == 0 || strcmp(name, XA_EXPIRE) == 0) {
		bool ttl = name[9] == 't';

		if (id->kind != HKVFS_KEY) {
			HLOG_WARN("%s on a directory that is not a key (EINVAL)", name);
			rc = -EINVAL;
			goto out;
		}
		if (parse_i64(value, size, &v) || v <= 0 ||
		    (ttl && v > INT64_MAX / 1000 - 1)) {
			HLOG_WARN("%s: invalid value '%.*s' (EINVAL): expected a positive integer",
				 name, (int)(size > 32 ? 32 : size), value);
			rc = -EINVAL;
			goto out;
		}
		rc = ttl ? hkv_expire(hkvfs_g.db, id->key, id->klen, v, 0)
			 : hkv_pexpireat(hkvfs_g.db, id->key, id->klen, v, 0);
		rc = rc < 0 ? rc : (rc ? 0 : -ENOENT);
		if (!rc)
			inval_now(ino);
		goto out;
	}
	if (strncmp(name, "user.hkv.", 9) == 0) {
		HLOG_WARN("xattr %s: reserved name (EINVAL)", name);
		rc = -EINVAL;
		goto out;
	}
	rc = attr_key(id, ak, &aklen);
	if (!rc)
		rc = hkv_xattr_set(hkvfs_g.db, ak, aklen, name + 5, value, size,
				   (flags & XATTR_CREATE) ? HKV_XATTR_CREATE
				   : (flags & XATTR_REPLACE) ? HKV_XATTR_REPLACE
							     : 0);
	if (rc == -E2BIG || rc == -ERANGE)
		HLOG_WARN("xattr %s: too large (%s)", name, hkv_strerror(rc));
out:
	free(id);
	reply_err(req, fserr(rc));
}

static void reply_xattr(fuse_req_t req, size_t size, const void *val, size_t len)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	struct hkv_buf v = { 0 };
	struct hkv_attr a;
	char tmp[64];
	int rc = 0;

	CNT(xattrs);
	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0) {
		rc = -ENODATA;
		goto out;
	}
	if (id->kind != HKVFS_KEY && id->kind != HKVFS_PREFIX) {
		rc = -ENODATA;
		goto out;
	}
	if (strcmp(name, XA_TTL) == 0 || strcmp(name, XA_EXPIRE) == 0 ||
	    strcmp(name, XA_TYPE) == 0) {
		if (id->kind != HKVFS_KEY) {
			rc = -ENODATA;
			goto out;
		}
		rc = hkv_attr_get(hkvfs_g.db, id->key, id->klen, &a);
		if (rc)
			goto out;
		if (name[9] == 't' && name[10] == 't') {
			int64_t t = hkv_ttl(hkvfs_g.db, id->key, id->klen);

			if (t == -2) {
				rc = -ENOENT;
				goto out;
			}
			snprintf(tmp, sizeof(tmp), "%" PRId64, t);
		} else if (name[9] == 'e') {
			snprintf(tmp, sizeof(tmp), "%" PRId64, a.expire_at ? a.expire_at : -1);
		} else {
			snprintf(tmp, sizeof(tmp), "%s", hkv_type_name(a.type));
		}
		reply_xattr(req, size, tmp, strlen(tmp));
		free(id);
		return;
	}
	if (id->kind == HKVFS_KEY) {
		rc = hkv_xattr_get(hkvfs_g.db, id->key, id->klen, name + 5, &v);
	} else {
		size_t l = marker_key(id->key, id->klen, ak);

		rc = hkv_xattr_get(hkvfs_g.db, ak, l, name + 5, &v);
		if (rc == -ENOENT)
			rc = -ENODATA;
	}
	if (!rc) {
		reply_xattr(req, size, v.data, v.len);
		hkv_buf_release(&v);
		free(id);
		return;
	}
out:
	free(id);
	reply_err(req, fserr(rc));
}

struct xl {
	char *buf;
	size_t len, cap;
};

static int xl_add(struct xl *x, const char *name, const char *ns)
{
	size_t n = strlen(ns) + strlen(name) + 1;

	if (x->len + n > x->cap) {
		size_t cap = (x->cap + n) * 2;
		char *b = realloc(x->buf, cap);

		if (!b)
			return -ENOMEM;
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, ns, strlen(ns));
	memcpy(x->buf + x->len + strlen(ns), name, strlen(name) + 1);
	x->len += n;
	return 0;
}

static int xl_cb(void *arg, const char *name)
{
	return xl_add(arg, name, "user.");
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	struct xl x = { 0 };
	int rc = 0;

	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (id->kind == HKVFS_KEY) {
		rc = xl_add(&x, XA_TYPE, "");
		if (!rc)
			rc = xl_add(&x, XA_TTL, "");
		if (!rc)
			rc = xl_add(&x, XA_EXPIRE, "");
		if (!rc)
			rc = hkv_xattr_list(hkvfs_g.db, id->key, id->klen, xl_cb, &x);
	} else if (id->kind == HKVFS_PREFIX) {
		unsigned char *ak = (unsigned char *)(id + 1);
		size_t l = marker_key(id->key, id->klen, ak);

		rc = hkv_xattr_list(hkvfs_g.db, ak, l, xl_cb, &x);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc)
		reply_err(req, fserr(rc));
	else
		reply_xattr(req, size, x.buf ? x.buf : "", x.len);
	free(x.buf);
	free(id);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	int rc;

	if (!id) {
		reply_err(req, ENOMEM);
		return;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0 ||
	    (id->kind != HKVFS_KEY && id->kind != HKVFS_PREFIX)) {
		rc = -ENODATA;
	} else if (hkvfs_g.opts.ro) {
		rc = -EROFS;
	} else if (strcmp(name, XA_TTL) == 0 || strcmp(name, XA_EXPIRE) == 0) {
		rc = id->kind == HKVFS_KEY ? hkv_persist(hkvfs_g.db, id->key, id->klen) : 0;
		rc = rc < 0 ? rc : 0;
		if (!rc)
			inval_now(ino);
	} else if (strcmp(name, XA_TYPE) == 0) {
		HLOG_WARN("user.hkv.type cannot be removed (EPERM)");
		rc = -EPERM;
	} else if (id->kind == HKVFS_KEY) {
		rc = hkv_xattr_del(hkvfs_g.db, id->key, id->klen, name + 5);
	} else {
		unsigned char *ak = (unsigned char *)(id + 1);

		rc = hkv_xattr_del(hkvfs_g.db, ak, marker_key(id->key, id->klen, ak), name + 5);
		if (rc == -ENOENT)
			rc = -ENODATA;
	}
	free(id);
	reply_err(req, fserr(rc));
}

/* ---------------------------------------------------------------------------------------- */

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct hkv_stats s = { 0 };
	struct statvfs sv, host;

	(void)ino;
	hkv_stats_get(hkvfs_g.db, &s);
	memset(&sv, 0, sizeof(sv));
	if (statvfs(hkvfs_g.data_dir, &host) == 0) {
		sv.f_bfree = host.f_bfree * host.f_frsize / 4096;
		sv.f_bavail = host.f_bavail * host.f_frsize / 4096;
		sv.f_ffree = host.f_favail;
	}
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (s.index_bytes + s.vlog_bytes + 4095) / 4096 + sv.f_bfree;
	sv.f_files = s.keys + sv.f_ffree;
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = HKV_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/*
	 * No atomic O_TRUNC: with it the kernel sets the shared inode's size to 0 and drops its
	 * pages when a writer opens with O_TRUNC, so cached readers would see an empty file
	 * until the close. Without it the truncation arrives as SETATTR and is buffered.
	 */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~FUSE_CAP_READDIRPLUS;
}

const struct fuse_lowlevel_ops hkvfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
};

/* ---------------------------------------------------------------------------------------- */
/* invalidation thread                                                                      */

struct inval_ev {
	struct inval_ev *next;
	uint64_t seq;
	uint64_t version;
	size_t klen;
	unsigned char key[];
};

static pthread_mutex_t iq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t iq_cond = PTHREAD_COND_INITIALIZER;
static struct inval_ev *iq_head, **iq_tail = &iq_head;
static pthread_cond_t iq_done_cond = PTHREAD_COND_INITIALIZER;
static bool iq_stop;
static pthread_t iq_thread;
static bool iq_running;
/* events queued so far, and the last one whose notifications were all sent (iq_lock) */
static uint64_t iq_queued, iq_done;

void hkvfs_watch(void *arg, const void *key, size_t klen, uint64_t version)
{
	struct inval_ev *ev;

	(void)arg;
	/* the kernel hot cache drops the key before the write is acknowledged (design.md) */
	hkvfs_promoter_invalidate_version(hkvfs_g.prom, key, klen, version);
	if (!caching())
		return;
	ev = malloc(sizeof(*ev) + klen);
	if (!ev) {
		CNT(inval_errors);
		return;
	}
	ev->next = NULL;
	ev->version = version;
	ev->klen = klen;
	memcpy(ev->key, key, klen);
	pthread_mutex_lock(&iq_lock);
	ev->seq = ++iq_queued;
	*iq_tail = ev;
	iq_tail = &ev->next;
	pthread_cond_signal(&iq_cond);
	pthread_mutex_unlock(&iq_lock);
}

struct child_list {
	size_t n, cap;
	struct {
		fuse_ino_t ino;
		char name[HKV_NAME_MAX + 1];
	} *c;
};

static void collect_child_cb(void *arg, fuse_ino_t ino, const unsigned char *elem, size_t elen)
{
	struct child_list *cl = arg;

	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? cl->cap * 2 : 16;
		void *p = realloc(cl->c, cap * sizeof(*cl->c));

		if (!p)
			return;
		cl->c = p;
		cl->cap = cap;
	}
	cl->c[cl->n].ino = ino;
	if (hkv_pathmap_encode(elem, elen, -1, cl->c[cl->n].name) < 0)
		return;
	cl->n++;
}

/* list indexes shift on a pop: drop the cached content of every element (no entry: the
 * directory's lock is held by the request being served) */
static void inval_children(const unsigned char *key, size_t klen)
{
	struct child_list cl = { 0 };
	size_t i;

	hkvfs_itab_children(key, klen, collect_child_cb, &cl);
	for (i = 0; i < cl.n; i++)
		inval_now(cl.c[i].ino);
	free(cl.c);
}

static void notify_entry(fuse_ino_t parent, const char *name)
{
	int rc = fuse_lowlevel_notify_inval_entry(hkvfs_g.se, parent, name, strlen(name));

	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

static void notify_inode(fuse_ino_t ino)
{
	int rc = fuse_lowlevel_notify_inval_inode(hkvfs_g.se, ino, 0, 0);

	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

/* the parent node id and file name of key or prefix [0, @len) of @key; 0 if not known */
static fuse_ino_t parent_of(const unsigned char *key, size_t len, char *name)
{
	size_t start = last_comp_start(key, len);

	if (hkv_pathmap_encode(key + start, len - start, hkvfs_g.opts.delim, name) < 0)
		return 0;
	if (start == 0)
		return FUSE_ROOT_ID;
	return hkvfs_itab_find(HKVFS_PREFIX, key, start, NULL, 0);
}

static void inval_key(const struct inval_ev *ev)
{
	char name[HKV_NAME_MAX + 1];
	struct child_list cl = { 0 };
	fuse_ino_t ino, parent;
	size_t i, plen;

	ino = hkvfs_itab_find(HKVFS_KEY, ev->key, ev->klen, NULL, 0);
	parent = parent_of(ev->key, ev->klen, name);
	if (ino) {
		notify_inode(ino);
		if (ev->version == 0 && parent)
			notify_entry(parent, name);
		hkvfs_itab_children(ev->key, ev->klen, collect_child_cb, &cl);
		for (i = 0; i < cl.n; i++) {
			notify_inode(cl.c[i].ino);
			notify_entry(ino, cl.c[i].name);
		}
		free(cl.c);
	}
	if (parent)
		notify_inode(parent);
	if (ev->version != 0)
		return;
	/* implicit directories that lost their last key disappear */
	plen = last_comp_start(ev->key, ev->klen);
	while (plen > 0) {
		fuse_ino_t pino = hkvfs_itab_find(HKVFS_PREFIX, ev->key, plen, NULL, 0);
		fuse_ino_t pp;

		if (!pino || prefix_has_keys(ev->key, plen, false) != 0)
			break;
		pp = parent_of(ev->key, plen - 1, name);
		if (pp)
			notify_entry(pp, name);
		notify_inode(pino);
		plen = last_comp_start(ev->key, plen - 1);
	}
}

static void *inval_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&iq_lock);
	for (;;) {
		struct inval_ev *ev;

		while (!iq_head && !iq_stop)
			pthread_cond_wait(&iq_cond, &iq_lock);
		if (!iq_head)
			break;
		ev = iq_head;
		iq_head = ev->next;
		if (!iq_head)
			iq_tail = &iq_head;
		pthread_mutex_unlock(&iq_lock);
		inval_key(ev);
		pthread_mutex_lock(&iq_lock);
		iq_done = ev->seq;
		pthread_cond_broadcast(&iq_done_cond);
		free(ev);
	}
	iq_done = iq_queued;
	pthread_cond_broadcast(&iq_done_cond);
	pthread_mutex_unlock(&iq_lock);
	return NULL;
}

void hkvfs_inval_wait(void)
{
	uint64_t target;

	pthread_mutex_lock(&iq_lock);
	target = iq_queued;
	while (iq_done < target && !iq_stop)
		pthread_cond_wait(&iq_done_cond, &iq_lock);
	pthread_mutex_unlock(&iq_lock);
}

int hkvfs_inval_start(void)
{
	int rc = pthread_create(&iq_thread, NULL, inval_main, NULL);

	if (rc)
		return -rc;
	iq_running = true;
	return 0;
}

void hkvfs_inval_stop(void)
{
	struct inval_ev *ev;

	if (!iq_running)
		return;
	pthread_mutex_lock(&iq_lock);
	iq_stop = true;
	/* the session is going away: drop what is left */
	while ((ev = iq_head)) {
		iq_head = ev->next;
		free(ev);
	}
	iq_tail = &iq_head;
	iq_done = iq_queued;
	pthread_cond_signal(&iq_cond);
	pthread_cond_broadcast(&iq_done_cond);
	pthread_mutex_unlock(&iq_lock);
	pthread_join(iq_thread, NULL);
	iq_running = false;
}

/* ---------------------------------------------------------------------------------------- */

size_t hkvfs_stats_format(char *buf, size_t sz)
{
	struct hkvfs_counters *c = &hkvfs_g.cnt;
	struct hkv_stats s = { 0 };
	uint64_t lk = c->lookups, miss = c->lookup_miss;
	int n;

	hkv_stats_get(hkvfs_g.db, &s);
	n = snprintf(buf, sz,
		     "keys %" PRIu64 "\nexpires %" PRIu64 "\nindex_bytes %" PRIu64
		     "\nvlog_bytes %" PRIu64 "\nvlog_live %" PRIu64 "\nvlog_dead %" PRIu64
		     "\nsegments %u\nengine_reads %" PRIu64 "\nengine_writes %" PRIu64
		     "\ncommits %" PRIu64 "\nsyncs %" PRIu64 "\ncompactions %" PRIu64
		     "\ncompact_bytes %" PRIu64 "\nexpired %" PRIu64 "\ncrc_errors %" PRIu64
		     "\nfs_lookups %" PRIu64 "\nfs_lookup_hit_rate %.4f\nfs_getattrs %" PRIu64
		     "\nfs_reads %" PRIu64 "\nfs_read_bytes %" PRIu64 "\nfs_writes %" PRIu64
		     "\nfs_write_bytes %" PRIu64 "\nfs_commits %" PRIu64 "\nfs_creates %" PRIu64
		     "\nfs_unlinks %" PRIu64 "\nfs_renames %" PRIu64 "\nfs_readdirs %" PRIu64
		     "\nfs_dirents %" PRIu64 "\nfs_xattrs %" PRIu64 "\nfs_invalidations %" PRIu64
		     "\nfs_invalidation_errors %" PRIu64 "\nfs_ctl_requests %" PRIu64
		     "\nfs_errors %" PRIu64 "\n",
		     s.keys, s.expires, s.index_bytes, s.vlog_bytes, s.vlog_live, s.vlog_dead,
		     s.segments, s.reads, s.writes, s.commits, s.syncs, s.compactions,
		     s.compact_bytes, s.expired, s.crc_errors, lk,
		     lk ? (double)(lk - miss) / (double)lk : 0.0, (uint64_t)c->getattrs,
		     (uint64_t)c->reads, (uint64_t)c->read_bytes, (uint64_t)c->writes,
		     (uint64_t)c->write_bytes, (uint64_t)c->commits, (uint64_t)c->creates,
		     (uint64_t)c->unlinks, (uint64_t)c->renames, (uint64_t)c->readdirs,
		     (uint64_t)c->dirents, (uint64_t)c->xattrs, (uint64_t)c->invals,
		     (uint64_t)c->inval_errors, (uint64_t)c->ctl_requests, (uint64_t)c->errors);
	if (n < 0)
		return 0;
	return (size_t)n < sz ? (size_t)n : sz - 1;
}

ssize_t hkvfs_ctl_text(int ctl, char **out)
{
	struct hkvfs_promote_stats ps;
	size_t cap = 16384, n;
	char *buf;
	int r;

	*out = NULL;
	if (ctl == HKVFS_CTL_HOT) {
		if (hkvfs_g.prom) {
			r = hkvfs_promoter_format(hkvfs_g.prom, out);
			return r;
		}
		*out = strdup("# reads/s\tkernel\tkey\n");
		return *out ? (ssize_t)strlen(*out) : -ENOMEM;
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (ctl == HKVFS_CTL_STATS) {
		n = hkvfs_stats_format(buf, cap);
		hkvfs_promoter_stats(hkvfs_g.prom, &ps);
		r = snprintf(buf + n, cap - n,
			     "hot_device %d\nhot_promotions %" PRIu64 "\nhot_stale %" PRIu64
			     "\nhot_demotions %" PRIu64 "\nhot_invalidations %" PRIu64
			     "\nhot_evictions %" PRIu64 "\nhot_cached %" PRIu64 "\n",
			     ps.device, ps.promotions, ps.stale, ps.demotions, ps.invalidations,
			     ps.evictions, ps.cached);
	} else {
		n = hkvfs_opts_format(&hkvfs_g.opts, buf, cap);
		r = snprintf(buf + n, cap - n, "ns=0x%016" PRIx64 "\n", hkvfs_g.ns);
	}
	if (r > 0)
		n += (size_t)r < cap - n ? (size_t)r : cap - n - 1;
	*out = buf;
	return (ssize_t)n;
}

/* is the implicit or marked directory @prefix (with its trailing delimiter) o+x? */
static bool dir_searchable(const unsigned char *prefix, size_t plen)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_attr a;

	if (plen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return false;
	if (hkv_attr_get(hkvfs_g.db, mk, marker_key(prefix, plen, mk), &a) == 0)
		return (a.mode & S_IXOTH) != 0;
	return ((0777 & ~hkvfs_g.opts.umask) & S_IXOTH) != 0;
}

bool hkvfs_hot_eligible(void *arg, const void *key, size_t klen)
{
	const unsigned char *k = key;
	size_t start = 0, end, next;
	char *path;
	int rc;

	(void)arg;
	if (klen == 0 || klen > HKV_KEY_MAX)
		return false;
	path = malloc(HKV_KEY_MAX * 3 + 64);
	if (!path)
		return false;
	rc = hkv_pathmap_key_to_path(key, klen, hkvfs_g.opts.delim, path, HKV_KEY_MAX * 3 + 64);
	free(path);
	if (rc < 0)
		return false;
	for (;;) {
		end = hkv_pathmap_next_comp(key, klen, start, hkvfs_g.opts.delim, &next);
		if (next >= klen)
			break;
		/* a key named like a directory on the path hides everything under it */
		if (hkv_exists(hkvfs_g.db, key, end) != 0)
			return false;
		if (!hkv_pathmap_comp_ok(k + start, end - start, hkvfs_g.opts.delim, true) ||
		    !dir_searchable(k, next))
			return false;
		start = next;
	}
	return !is_marker(k + start, end - start) &&
	       hkv_pathmap_comp_ok(k + start, end - start, hkvfs_g.opts.delim, false);
}
