// SPDX-License-Identifier: MIT
/*
 * attr.c - attributes: GETATTR and SETATTR (mode, owner, times, size), the stat of every kind
 * of node, and truncation.
 *
 * Replies carry the committed attributes, except to the thread that wrote a handle's
 * uncommitted content (it sees its buffered size, uncached: handle.c) and for a removed name
 * still open (the orphan's attributes). Inode numbers, atime, link counts: see below.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

/*
 * Inode numbers. st_ino names the object, not the kernel's node: it is the engine's stable
 * identity of the key (hkv_attr.id, kept across rename), so a renamed file keeps its number
 * and a file looked up again after the kernel forgot it gets the same one. A directory with a
 * marker has its marker's identity; an implicit directory, an element and the .hkv/ nodes get
 * a number derived from their name, in a range engine identities never reach (top bit set).
 */
#define INO_SYNTH (1ULL << 63)

static uint64_t ino_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL; /* FNV-1a */
	}
	return h;
}

static ino_t ino_synth(uint64_t seed, const void *p, size_t len)
{
	return (ino_t)(INO_SYNTH | (ino_hash(0xcbf29ce484222325ULL ^ seed, p, len) >> 1));
}

static void fill_dir_defaults(struct hkvfs *fs, struct stat *st)
{
	st->st_mode = S_IFDIR | (0777 & ~fs->opts.umask);
	st->st_uid = fs->opts.uid;
	st->st_gid = fs->opts.gid;
	st->st_nlink = 2;
	hkvfs_ns_to_ts(fs->mount_time_ns, &st->st_mtim);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
}

/*
 * Access times. The engine keeps mtime and ctime; atime is kept in the key's reserved
 * extended attribute HKVFS_XA_ATIME (decimal nanoseconds), written only when a program sets
 * it (utimensat(2), touch -a). Reads never write it: the mount behaves as noatime, so a read
 * never turns into a store write. A key whose atime was never set reports its mtime.
 */
static void fill_from_attr(struct hkvfs *fs, struct stat *st, const void *key, size_t klen,
			   const struct hkv_attr *a)
{
	struct hkv_buf v = { 0 };
	char tmp[32];

	st->st_ino = (ino_t)a->id;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	hkvfs_ns_to_ts(a->mtime_ns, &st->st_mtim);
	hkvfs_ns_to_ts(a->ctime_ns, &st->st_ctim);
	st->st_atim = st->st_mtim;
	st->st_blksize = 4096;
	if (key && hkvfs_be_xattr_get(fs->be, key, klen, HKVFS_XA_ATIME, &v) == 0) {
		if (v.len < sizeof(tmp)) {
			memcpy(tmp, v.data, v.len);
			tmp[v.len] = 0;
			hkvfs_ns_to_ts(strtoll(tmp, NULL, 10), &st->st_atim);
		}
		hkvfs_be_buf_release(&v);
	}
}

/*
 * Directory link counts: 2 + the number of subdirectories (prefixes and collections), as
 * on a local filesystem, counted by a scan of the directory. The scan stops after
 * NLINK_SCAN_MAX entries: a larger directory, or one with a subdirectory deeper than the
 * engine's ordered key prefix, reports 1, the value Linux filesystems use for "not counted"
 * (find(1) and fts then stop relying on it).
 *
 * The count is cached per directory (struct nlc_ent), because the kernel asks for the
 * parent's attributes after every create and unlink in it (it drops them itself), and a scan
 * of a full directory costs a thousand entries. Every committed mutation reaches
 * hkvfs_nlink_event() from the engine's watch callback, before the writer returns:
 *  - "everything may be stale" (no key) drops every entry;
 *  - a key two or more levels below a cached directory may add or remove a prefix
 *    subdirectory there: the entry is dropped;
 *  - a direct child may be (or have been) a collection: it is remembered as touched. The next
 *    stat keeps the cached count if every touched child is a string now (or gone) and none
 *    was a collection when the directory was counted (the collections seen are kept, up to
 *    NLC_COLL); anything else counts again. A "not counted" (1) entry is kept across
 *    creations and counted again after a removal.
 * An entry's @gen changes with every event that reaches it; a count that raced with one is
 * returned but not kept. Expiry removes a key without an event until the sweep deletes it, so
 * a count may include an expired collection until then, as the kernel's cached attributes
 * would anyway.
 */
#define NLINK_SCAN_MAX 1024
#define NLC_SLOTS 128
#define NLC_TOUCH 8
#define NLC_COLL 16

struct nlc_child {
	size_t len;
	unsigned char *key;
};

struct nlc_ent {
	bool used;
	uint64_t hash, gen;
	size_t klen;
	unsigned char *key;
	nlink_t nlink;
	bool removed;      /* a touched child was deleted */
	bool coll_overflow; /* more than NLC_COLL collections: any touch counts again */
	unsigned ncoll, ntouch;
	struct nlc_child coll[NLC_COLL], touch[NLC_TOUCH];
};

static pthread_mutex_t nlc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nlc_ent nlc[NLC_SLOTS];

static void nlc_children_free(struct nlc_child *c, unsigned *n)
{
	unsigned i;

	for (i = 0; i < *n; i++)
		free(c[i].key);
	*n = 0;
}

/* forget the cached count of @e (nlc_lock held); the slot stays claimed */
static void nlc_drop(struct nlc_ent *e)
{
	e->gen++;
	e->nlink = 0;
	e->removed = false;
	e->coll_overflow = false;
	nlc_children_free(e->coll, &e->ncoll);
	nlc_children_free(e->touch, &e->ntouch);
}

static bool child_in(const struct nlc_child *c, unsigned n, const void *key, size_t len)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (c[i].len == len && !memcmp(c[i].key, key, len))
			return true;
	return false;
}

static bool child_add(struct nlc_child *c, unsigned *n, unsigned max, const void *key,
		      size_t len)
{
	if (child_in(c, *n, key, len))
		return true;
	if (*n == max || !(c[*n].key = malloc(len ? len : 1)))
		return false;
	memcpy(c[*n].key, key, len);
	c[*n].len = len;
	(*n)++;
	return true;
}

/* the slot of directory [0, @len) of @key with FNV-1a hash @h, or NULL (nlc_lock held) */
static struct nlc_ent *nlc_find(const void *key, size_t len, uint64_t h)
{
	struct nlc_ent *e = &nlc[h % NLC_SLOTS];

	if (e->used && e->hash == h && e->klen == len && !memcmp(e->key, key, len))
		return e;
	return NULL;
}

void hkvfs_nlink_event(struct hkvfs *fs, const void *key, size_t klen, uint64_t version)
{
	const unsigned char *k = key;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t start = 0, done = 0, next;
	unsigned i;

	pthread_mutex_lock(&nlc_lock);
	if (!key) {
		/* everything may be stale: forget every count */
		for (i = 0; i < NLC_SLOTS; i++)
			if (nlc[i].used)
				nlc_drop(&nlc[i]);
		pthread_mutex_unlock(&nlc_lock);
		return;
	}
	while (start < klen) {
		struct nlc_ent *e;

		h = ino_hash(h, k + done, start - done); /* hash of the directory [0, start) */
		done = start;
		hkv_pathmap_next_comp(k, klen, start, (unsigned char)fs->opts.delim, &next);
		e = nlc_find(k, start, h);
		if (e && (next < klen || !e->nlink)) {
			/* below a subdirectory of it (that one may come or go), or being counted */
			nlc_drop(e);
		} else if (e) {
			e->gen++;
			if (version == 0)
				e->removed = true;
			if (!child_add(e->touch, &e->ntouch, NLC_TOUCH, k, klen))
				nlc_drop(e);
		}
		start = next;
	}
	pthread_mutex_unlock(&nlc_lock);
}

bool hkvfs_nlink_keeps(struct hkvfs *fs, const void *key, size_t klen)
{
	size_t start = hkvfs_last_comp_start(fs, key, klen);
	uint64_t h = ino_hash(0xcbf29ce484222325ULL, key, start);
	struct nlc_ent *e;
	bool keep = false, counted = false;
	int t;

	pthread_mutex_lock(&nlc_lock);
	e = nlc_find(key, start, h);
	if (e && e->nlink == 1) {
		keep = true; /* "not counted" stays so while keys are only added or changed */
	} else if (e && e->nlink) {
		keep = !e->coll_overflow && !child_in(e->coll, e->ncoll, key, klen);
		counted = true;
	}
	pthread_mutex_unlock(&nlc_lock);
	if (keep && counted) {
		t = hkvfs_be_type(fs->be, key, klen);
		keep = t == HKV_TYPE_NONE || t == HKV_TYPE_STRING;
	}
	return keep;
}

struct nlink_arg {
	size_t seen, dirs, plen;
	struct nlc_child coll[NLC_COLL];
	unsigned ncoll;
	bool coll_overflow;
};

static int nlink_cb(void *arg, const void *key, size_t klen, enum hkv_type type,
		    bool is_prefix)
{
	struct nlink_arg *na = arg;

	/* a prefix past the engine's ordered length repeats (readdir.c): not counted */
	if (is_prefix && klen > HKV_ORDER_PREFIX)
		na->seen = NLINK_SCAN_MAX;
	if (is_prefix || (type != HKV_TYPE_STRING && type != HKV_TYPE_NONE))
		na->dirs++;
	if (!is_prefix && type != HKV_TYPE_STRING && type != HKV_TYPE_NONE && !na->coll_overflow &&
	    !child_add(na->coll, &na->ncoll, NLC_COLL, key, klen))
		na->coll_overflow = true;
	return ++na->seen > NLINK_SCAN_MAX ? 1 : 0;
}

/* count by a scan; *@ok false if the scan failed (the 1 returned is then not a count) */
static nlink_t nlink_scan(struct hkvfs *fs, const void *prefix, size_t plen,
			  struct nlink_arg *na, bool *ok)
{
	struct hkv_scan_opts so = { .count = 256, .prefix = prefix, .prefix_len = plen,
				    .has_delim = true, .delim = fs->opts.delim };
	struct hkv_cursor cur;

	*ok = true;
	hkvfs_be_cursor_init(&cur);
	while (!cur.done && na->seen <= NLINK_SCAN_MAX) {
		if (hkvfs_be_scan(fs->be, &cur, &so, nlink_cb, na) < 0) {
			*ok = false;
			return 1;
		}
	}
	if (na->seen > NLINK_SCAN_MAX)
		return 1;
	return (nlink_t)(2 + na->dirs);
}

/* may the cached count of @e stand after its touched children? (engine calls, no lock) */
static bool touches_keep(struct hkvfs *fs, const struct nlc_ent *snap)
{
	unsigned i;

	if (snap->nlink == 1)
		return !snap->removed; /* more entries than counted: creations cannot change that */
	if (snap->coll_overflow)
		return false;
	for (i = 0; i < snap->ntouch; i++) {
		int t = hkvfs_be_type(fs->be, snap->touch[i].key, snap->touch[i].len);

		if (child_in(snap->coll, snap->ncoll, snap->touch[i].key, snap->touch[i].len))
			return false;
		if (t != HKV_TYPE_NONE && t != HKV_TYPE_STRING)
			return false;
	}
	return true;
}

static nlink_t dir_nlink(struct hkvfs *fs, const void *prefix, size_t plen)
{
	uint64_t h = ino_hash(0xcbf29ce484222325ULL, prefix, plen), gen;
	struct nlink_arg na = { .plen = plen };
	struct nlc_ent *e, snap;
	nlink_t n;
	bool ok, keep;
	unsigned i;

	pthread_mutex_lock(&nlc_lock);
	e = nlc_find(prefix, plen, h);
	if (e && e->nlink && e->ntouch == 0) {
		n = e->nlink;
		pthread_mutex_unlock(&nlc_lock);
		return n;
	}
	if (e && e->nlink) {
		/* a copy of the touched and collection lists to check without the lock */
		snap = *e;
		for (i = 0; i < e->ntouch; i++)
			snap.touch[i].key = NULL;
		for (i = 0; i < e->ncoll; i++)
			snap.coll[i].key = NULL;
		snap.ntouch = snap.ncoll = 0;
		for (i = 0; i < e->ntouch; i++)
			child_add(snap.touch, &snap.ntouch, NLC_TOUCH, e->touch[i].key,
				  e->touch[i].len);
		for (i = 0; i < e->ncoll; i++)
			child_add(snap.coll, &snap.ncoll, NLC_COLL, e->coll[i].key, e->coll[i].len);
		gen = e->gen;
		pthread_mutex_unlock(&nlc_lock);
		keep = snap.ntouch == e->ntouch && snap.ncoll == e->ncoll && touches_keep(fs, &snap);
		n = snap.nlink;
		nlc_children_free(snap.touch, &snap.ntouch);
		nlc_children_free(snap.coll, &snap.ncoll);
		if (keep) {
			pthread_mutex_lock(&nlc_lock);
			if (nlc_find(prefix, plen, h) == e && e->gen == gen)
				nlc_children_free(e->touch, &e->ntouch);
			else
				keep = false;
			pthread_mutex_unlock(&nlc_lock);
			if (keep)
				return n;
		}
		pthread_mutex_lock(&nlc_lock);
	}
	/* count: remember the generation of the slot to keep the result only if nothing raced */
	e = &nlc[h % NLC_SLOTS];
	if (!nlc_find(prefix, plen, h)) {
		unsigned char *k = malloc(plen ? plen : 1);

		if (k) {
			if (e->used)
				nlc_drop(e);
			free(e->key);
			memcpy(k, prefix, plen);
			e->key = k;
			e->klen = plen;
			e->hash = h;
			e->used = true;
		}
	}
	gen = e->gen;
	pthread_mutex_unlock(&nlc_lock);
	n = nlink_scan(fs, prefix, plen, &na, &ok);
	pthread_mutex_lock(&nlc_lock);
	if (ok && nlc_find(prefix, plen, h) == e && e->gen == gen) {
		nlc_drop(e);
		e->nlink = n;
		e->coll_overflow = na.coll_overflow;
		for (i = 0; i < na.ncoll; i++)
			e->coll[i] = na.coll[i];
		e->ncoll = na.ncoll;
		na.ncoll = 0;
	}
	pthread_mutex_unlock(&nlc_lock);
	nlc_children_free(na.coll, &na.ncoll);
	return n;
}

/*
 * hkvfs_fill_attr() - stat of the node @id; *@tmo receives the cache timeout.
 * Return: 0; -ENOENT; another -errno.
 */
int hkvfs_fill_attr(struct hkvfs *fs, const struct hkvfs_ident *id, fuse_ino_t ino, struct stat *st,
		    double *tmo)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_attr a;
	struct hkv_buf v;
	size_t mklen;
	int rc;

	(void)ino;
	memset(st, 0, sizeof(*st));
	*tmo = hkvfs_caching(fs) ? fs->opts.timeout : 0;
	switch (id->kind) {
	case HKVFS_ROOT:
		fill_dir_defaults(fs, st);
		st->st_ino = FUSE_ROOT_ID;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = dir_nlink(fs, "", 0);
		if (st->st_nlink > 1)
			st->st_nlink++; /* .hkv */
		return 0;
	case HKVFS_CTLDIR:
		fill_dir_defaults(fs, st);
		st->st_ino = ino_synth(1, HKV_CTL_DIR, strlen(HKV_CTL_DIR));
		st->st_mode = S_IFDIR | 0555;
		return 0;
	case HKVFS_CTLFILE:
		fill_dir_defaults(fs, st);
		st->st_ino = ino_synth(2, &id->ctl, sizeof(id->ctl));
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
		fill_dir_defaults(fs, st);
		st->st_ino = ino_synth(3, id->key, id->klen);
		if (id->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX &&
		    hkvfs_be_attr_get(fs->be, mk, mklen = hkvfs_marker_key(id->key, id->klen, mk),
				      &a) == 0) {
			fill_from_attr(fs, st, mk, mklen, &a);
			st->st_mode = S_IFDIR | (a.mode & 07777);
			st->st_nlink = dir_nlink(fs, id->key, id->klen);
			return 0;
		}
		rc = hkvfs_prefix_has_keys(fs, id->key, id->klen, false);
		if (rc < 0)
			return rc;
		if (!rc)
			return -ENOENT;
		st->st_nlink = dir_nlink(fs, id->key, id->klen);
		return 0;
	case HKVFS_KEY:
		rc = hkvfs_be_attr_get(fs->be, id->key, id->klen, &a);
		if (rc)
			return hkvfs_fserr(rc);
		fill_from_attr(fs, st, id->key, id->klen, &a);
		if (a.type == HKV_TYPE_STRING) {
			st->st_mode = S_IFREG | (a.mode & 07777);
			st->st_nlink = 1;
		} else {
			/* a collection is searchable wherever it is readable, whoever made it */
			st->st_mode = S_IFDIR | hkvfs_coll_mode(a.mode);
			/* a stream is read-only through the mount */
			if (a.type == HKV_TYPE_STREAM)
				st->st_mode &= ~(mode_t)0222;
			st->st_nlink = 2;
		}
		st->st_size = (off_t)a.size;
		st->st_blocks = (blkcnt_t)((a.size + 511) / 512);
		*tmo = hkvfs_timeout_for(fs, a.expire_at);
		return 0;
	case HKVFS_ELEM: {
		bool tail;

		rc = hkvfs_be_attr_get(fs->be, id->key, id->klen, &a);
		if (rc)
			return hkvfs_fserr(rc);
		if (a.type == HKV_TYPE_STRING || a.type == HKV_TYPE_NONE)
			return -ENOENT;
		fill_from_attr(fs, st, NULL, 0, &a);
		st->st_ino = ino_synth(a.id, id->elem, id->elen);
		st->st_nlink = 1;
		*tmo = hkvfs_timeout_for(fs, a.expire_at);
		if (a.type == HKV_TYPE_LIST && hkvfs_list_push_name(id, &tail)) {
			st->st_mode = S_IFREG | (a.mode & 0222);
			return 0;
		}
		st->st_mode = S_IFREG | (a.mode & (a.type == HKV_TYPE_STREAM ? 0444 : 0666));
		rc = hkvfs_elem_get(fs, id, a.type, &v);
		if (rc)
			return hkvfs_fserr(rc);
		st->st_size = (off_t)v.len;
		hkvfs_be_buf_release(&v);
		return 0;
	}
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------------------------------- */
/* attributes                                                                               */
void hkvfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident ident, *id = &ident; /* on the stack: nothing allocated per request */
	struct stat st;
	unsigned long seq;
	double t;
	int rc, tries = 0;

	CNT(getattrs);
	seq = hkvfs_ns_seq();
	do {
		/* a rename of the node or a directory above it may be in flight: try again */
		hkvfs_itab_snapshot(hkvfs_ino(ino), id);
		rc = hkvfs_fill_attr(fs, id, ino, &st, &t);
	} while (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries));
	/*
	 * The writer's own stat shows what it wrote, an unlinked open file what it holds (FUSE's
	 * fstat carries no handle: the caller's thread decides). Not cached (timeout 0).
	 */
	(void)fi;
	if ((rc == 0 || rc == -ENOENT) &&
	    hkvfs_fh_getattr(hkvfs_ino(ino), hkvfs_ctx(req)->pid, rc == -ENOENT, &st)) {
		rc = 0;
		t = 0;
	}
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
}

/* the key whose attributes stand for node @id (the marker for a prefix; created if needed) */
int hkvfs_attr_key(struct hkvfs *fs, const struct hkvfs_ident *id, unsigned char *out, size_t *olen)
{
	struct hkv_create_attr ca = {
		.mode = 0777 & ~fs->opts.umask,
		.uid = fs->opts.uid,
		.gid = fs->opts.gid,
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
	rc = hkvfs_be_create(fs->be, out, *olen, HKV_TYPE_STRING, &ca);
	return rc == -EEXIST ? 0 : rc;
}

static int truncate_node(struct hkvfs *fs, const struct hkvfs_ident *id, uint64_t size)
{
	struct hkv_buf v = { 0 };
	char *whole;
	bool tail;
	int rc, t;

	if (id->kind == HKVFS_KEY) {
		rc = hkvfs_be_truncate(fs->be, id->key, id->klen, size);
		return hkvfs_fserr(rc == -HKV_EWRONGTYPE ? -EISDIR : rc);
	}
	if (id->kind != HKVFS_ELEM)
		return -EPERM;
	t = hkvfs_key_type(fs, id);
	if (t < 0)
		return t;
	if (t == HKV_TYPE_LIST && hkvfs_list_push_name(id, &tail))
		return 0; /* nothing to truncate: each close that wrote data pushes */
	if (t == HKV_TYPE_SET)
		return size ? -EINVAL : 0;
	if (t == HKV_TYPE_ZSET)
		return 0; /* O_TRUNC before a new score: the write replaces it whole */
	rc = hkvfs_elem_get(fs, id, (enum hkv_type)t, &v);
	if (rc)
		return hkvfs_fserr(rc);
	whole = calloc(1, size + 1);
	if (!whole) {
		hkvfs_be_buf_release(&v);
		return -ENOMEM;
	}
	memcpy(whole, v.data, v.len < size ? v.len : size);
	rc = hkvfs_elem_put(fs->be, id, (enum hkv_type)t, whole, size, NULL);
	free(whole);
	hkvfs_be_buf_release(&v);
	return hkvfs_fserr(rc);
}

/*
 * SETATTR(size). With atomic O_TRUNC (ops.c), the kernel sends SETATTR(size) with a handle
 * for ftruncate(2), which is buffered with the rest of the handle's new content
 * (*@deferred), and without one for truncate(2), which commits at once.
 */
static int setattr_size(struct hkvfs *fs, fuse_ino_t ino, pid_t tid, const struct hkvfs_ident *id,
			struct hkvfs_fh *fh, size_t size, bool *deferred)
{
	int rc;

	if (fh && fh->write) {
		pthread_mutex_lock(&fh->lock);
		if (fh->released) {
			rc = -EBADF;
		} else if (fh->append_only) {
			/* O_TRUNC on a list's push name is meaningless: each close pushes */
			rc = size == 0 ? 0 : -EINVAL;
		} else {
			if (size == 0) {
				fh->loaded = true; /* nothing of the old content is needed */
				fh->len = 0;
			}
			rc = hkvfs_fh_load(fs, fh, id);
			if (!rc)
				rc = hkvfs_fh_resize(fs, fh, size);
			if (!rc)
				fh->dirty = true;
			if (!rc && fh->nwtids < HKVFS_FH_OWNERS)
				fh->wtids[fh->nwtids++] = tid; /* its fstat shows the new size */
		}
		pthread_mutex_unlock(&fh->lock);
		*deferred = true;
		return rc;
	}
	rc = truncate_node(fs, id, (uint64_t)size);
	if (!rc)
		hkvfs_inval_now(fs, ino);
	return rc;
}

/*
 * The attributes SETATTR stores (mode, owner, mtime in the key record; atime as an xattr) in
 * one engine transaction: a reader never sees the new mtime with the old atime, and a failure
 * changes neither.
 */
struct setattr_args {
	const unsigned char *key;
	size_t klen;
	unsigned which;
	const struct hkv_attr *a;
	char atime[32]; /* "" when atime is not set */
};

static int setattr_txn(struct hkvfs_be *tx, void *arg)
{
	struct setattr_args *sa = arg;
	int rc = 0;

	if (sa->which)
		rc = hkvfs_be_attr_set(tx, sa->key, sa->klen, sa->which, sa->a);
	if (!rc && sa->atime[0])
		rc = hkvfs_be_xattr_set(tx, sa->key, sa->klen, HKVFS_XA_ATIME, sa->atime,
					strlen(sa->atime), 0);
	return rc;
}

void hkvfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_fh *fh = NULL;
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	struct hkv_attr a = { 0 };
	struct setattr_args sa = { 0 };
	unsigned which = 0;
	struct stat st;
	size_t aklen;
	bool deferred = false;
	unsigned long seq = 0;
	double t;
	int rc = 0, tries = 0;

	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	rc = hkvfs_fh_get(fi, &fh); /* a reference until the reply: RELEASE may run meanwhile */
	if (rc)
		goto out;
	seq = hkvfs_ns_seq();
again:
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	HLOG_DBG("setattr valid %#x size %lld fh %d tid %d", (unsigned)to_set,
		 (long long)attr->st_size, fh != NULL, (int)hkvfs_ctx(req)->pid);
	if (hkvfs_opts_fs_ro(&fs->opts)) {
		rc = -EROFS;
		goto out;
	}
	if (id->kind == HKVFS_CTLDIR || id->kind == HKVFS_CTLFILE || id->kind == HKVFS_ROOT) {
		rc = (to_set & ~(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) ? -EPERM : 0;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		rc = setattr_size(fs, ino, hkvfs_ctx(req)->pid, id, fh, (size_t)attr->st_size,
				  &deferred);
		if (rc)
			goto out;
		if (deferred) /* an ftruncate's mtime comes with its commit */
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
	if (which && id->kind == HKVFS_ELEM) {
		/* an element has its collection's owner and mode; only times are kept */
		rc = (which & ~HKV_ATTR_MTIME) ? -EPERM : 0;
		goto out;
	}
	if ((to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) &&
	    (id->kind == HKVFS_KEY || id->kind == HKVFS_PREFIX)) {
		int64_t at = (to_set & FUSE_SET_ATTR_ATIME_NOW)
				     ? hkvfs_now_ns()
				     : (int64_t)attr->st_atim.tv_sec * 1000000000 +
					       attr->st_atim.tv_nsec;

		snprintf(sa.atime, sizeof(sa.atime), "%" PRId64, at);
	}
	if (which || sa.atime[0]) {
		rc = hkvfs_attr_key(fs, id, ak, &aklen);
		if (rc)
			goto out;
		sa.key = ak;
		sa.klen = aklen;
		sa.which = which;
		sa.a = &a;
		rc = hkvfs_fserr(hkvfs_be_txn_run(fs->be, setattr_txn, &sa));
		if (rc)
			goto out;
		hkvfs_inval_now(fs, ino);
	}
out:
	/* the committed attributes: a buffered truncation must not reach the shared inode */
	if (!rc)
		rc = hkvfs_fill_attr(fs, id, ino, &st, &t);
	if (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries)) {
		/* renamed meanwhile (inode.c, "The namespace lock"): again, under the new name */
		which = 0;
		memset(&a, 0, sizeof(a));
		memset(&sa, 0, sizeof(sa));
		rc = 0;
		goto again;
	}
	if (!rc && hkvfs_fh_getattr(hkvfs_ino(ino), hkvfs_ctx(req)->pid, false, &st))
		t = 0; /* the caller's own descriptor shows its size */
	free(id);
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, t);
	hkvfs_fh_put(fh);
}
