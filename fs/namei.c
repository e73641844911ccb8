// SPDX-License-Identifier: MIT
/*
 * namei.c - names: LOOKUP and FORGET, and the namespace operations CREATE, MKNOD, MKDIR,
 * UNLINK, RMDIR and RENAME, with the directory-marker rules of implicit prefix directories.
 *
 * A prefix directory exists while any key starts with it; a mkdir'd or emptied directory is
 * kept by its marker key (prefix + HKVFS_MARKER), which also holds its mode, owner and times.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

bool hkvfs_is_marker(const unsigned char *c, size_t len)
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
	    hkvfs_is_marker((const unsigned char *)key + fa->plen, HKVFS_MARKER_LEN))
		return 0;
	fa->found = true;
	return 1;
}

/* does any key (other than the directory marker with @skip_marker) start with @p? Through
 * @be: the store, or a transaction's handle. */
static int prefix_has_keys(struct hkvfs *fs, struct hkvfs_be *be, const void *p, size_t plen,
			   bool skip_marker)
{
	struct hkv_scan_opts so = { .count = 64, .prefix = p, .prefix_len = plen };
	struct first_arg fa = { .skip_marker = skip_marker, .plen = plen };
	struct hkv_cursor cur;
	int rc;

	if (skip_marker) {
		so.has_delim = true;
		so.delim = fs->opts.delim;
	}
	hkvfs_be_cursor_init(&cur);
	while (!cur.done && !fa.found) {
		rc = hkvfs_be_scan(be, &cur, &so, first_cb, &fa);
		if (rc < 0)
			return rc;
	}
	return fa.found;
}

int hkvfs_prefix_has_keys(struct hkvfs *fs, const void *p, size_t plen, bool skip_marker)
{
	return prefix_has_keys(fs, fs->be, p, plen, skip_marker);
}

size_t hkvfs_marker_key(const unsigned char *p, size_t plen, unsigned char *out)
{
	memcpy(out, p, plen);
	memcpy(out + plen, HKVFS_MARKER, HKVFS_MARKER_LEN);
	return plen + HKVFS_MARKER_LEN;
}

/* start of the last component of @key (0 if it has one component) */
size_t hkvfs_last_comp_start(struct hkvfs *fs, const unsigned char *key, size_t klen)
{
	size_t start = 0, next, last = 0;

	while (start < klen) {
		last = start;
		hkv_pathmap_next_comp(key, klen, start, fs->opts.delim, &next);
		start = next;
	}
	return last;
}

/*
 * A secondary write of a namespace operation (a parent's marker, its times) failed. Inside a
 * transaction (HKVFS_BE_CAP_TXN) the whole operation fails with it and nothing is applied;
 * without one the operation itself was already applied, so this is logged and it succeeds.
 */
static int secondary(struct hkvfs_be *be, int rc, const char *what)
{
	if (rc >= 0 || rc == -ENOENT || rc == -EEXIST)
		return 0;
	if (be->caps & HKVFS_BE_CAP_TXN)
		return rc;
	HLOG_WARN("%s: %s", what, hkv_strerror(rc));
	return 0;
}

/*
 * Keep the directory holding @key alive after its last entry went away through the
 * filesystem, as a local filesystem would: write the marker of the parent prefix. Through @be
 * (the operation's transaction). Return: 0, or the error secondary() keeps.
 */
static int keep_parent(struct hkvfs *fs, struct hkvfs_be *be, const unsigned char *key,
		       size_t klen)
{
	unsigned char mk[HKV_KEY_MAX + 1];
	size_t plen = hkvfs_last_comp_start(fs, key, klen);
	struct hkv_create_attr ca = {
		.mode = 0777 & ~fs->opts.umask,
		.uid = fs->opts.uid,
		.gid = fs->opts.gid,
	};
	int rc;

	if (plen == 0 || plen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return 0;
	rc = prefix_has_keys(fs, be, key, plen, false);
	if (rc != 0)
		return secondary(be, rc, "cannot keep directory marker");
	rc = hkvfs_be_create(be, mk, hkvfs_marker_key(key, plen, mk), HKV_TYPE_STRING, &ca);
	return secondary(be, rc, "cannot keep directory marker");
}

/*
 * A name was added to or removed from directory @dir: its mtime and ctime become now, as on
 * a local filesystem. A directory with a marker keeps its times there; an implicit directory
 * (no marker) and the root show the mount time; a collection's times are its key's, which
 * the engine updates with every element change. Through @be, the transaction of the change
 * itself: a reader sees the new name and the new times together.
 */
static int dir_changed(struct hkvfs *fs, struct hkvfs_be *be, const struct hkvfs_ident *dir)
{
	unsigned char mk[HKV_KEY_MAX + 1];
	struct hkv_attr a = { .mtime_ns = hkvfs_now_ns() };

	(void)fs;
	if (dir->kind != HKVFS_PREFIX || dir->klen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return 0;
	return secondary(be, hkvfs_be_attr_set(be, mk, hkvfs_marker_key(dir->key, dir->klen, mk),
					       HKV_ATTR_MTIME, &a),
			 "directory times not updated");
}

/* ---------------------------------------------------------------------------------------- */
/* lookup                                                                                   */

/*
 * resolve() - identity of @name in directory @dir.
 * Return: 0 and @out filled; -ENOENT, -ENAMETOOLONG, -EINVAL (not a canonical name).
 */
static int resolve(struct hkvfs *fs, const struct hkvfs_ident *dir, const char *name,
		   struct hkvfs_ident *out, bool must_exist)
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
		c = hkv_pathmap_decode(name, fs->opts.delim, comp, sizeof(comp));
		if (c < 0)
			return c == -ENAMETOOLONG ? c : -EINVAL;
		if (dir->klen + (size_t)c + 1 > HKV_KEY_MAX)
			return -ENAMETOOLONG;
		if (hkvfs_is_marker(comp, (size_t)c))
			return -EINVAL;
		memcpy(out->key, dir->key, dir->klen);
		memcpy(out->key + dir->klen, comp, (size_t)c);
		out->klen = dir->klen + (size_t)c;
		if (hkv_pathmap_comp_ok(comp, (size_t)c, fs->opts.delim, false)) {
			out->kind = HKVFS_KEY;
			/* a name to create needs no lookup: the creating transaction checks */
			if (!must_exist)
				return 0;
			rc = hkvfs_be_exists(fs->be, out->key, out->klen);
			if (rc < 0)
				return rc;
			if (rc > 0)
				return 0;
		}
		if (!hkv_pathmap_comp_ok(comp, (size_t)c, fs->opts.delim, true))
			return must_exist ? -ENOENT : -EINVAL;
		out->key[out->klen++] = fs->opts.delim;
		out->kind = HKVFS_PREFIX;
		if (!must_exist)
			return 0;
		rc = hkvfs_prefix_has_keys(fs, out->key, out->klen, false);
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

static int make_entry(struct hkvfs *fs, const struct hkvfs_ident *id, struct fuse_entry_param *e)
{
	struct hkvfs_inode *in;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = hkvfs_itab_ref(id, &in);
	if (rc)
		return rc;
	e->ino = hkvfs_ino_id(in);
	rc = hkvfs_fill_attr(fs, id, e->ino, &e->attr, &e->attr_timeout);
	if (rc) {
		hkvfs_itab_forget(in, 1);
		return rc;
	}
	e->entry_timeout = e->attr_timeout;
	return 0;
}

void hkvfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident idents[2], *dir = &idents[0], *id = &idents[1];
	struct fuse_entry_param e;
	int rc;

	CNT(lookups);
	/* the parent's name, the engine and the new inode agree: no rename in between */
	hkvfs_ns_read_lock();
	hkvfs_itab_snapshot(hkvfs_ino(parent), dir);
	rc = resolve(fs, dir, name, id, true);
	if (rc == -EINVAL)
		rc = -ENOENT;
	if (!rc)
		rc = make_entry(fs, id, &e);
	hkvfs_ns_read_unlock();
	if (rc) {
		if (rc == -ENOENT)
			CNT(lookup_miss);
		hkvfs_reply_err(req, rc);
	} else {
		fuse_reply_entry(req, &e);
	}
}

void hkvfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	hkvfs_itab_forget(hkvfs_ino(ino), nlookup);
	fuse_reply_none(req);
}

void hkvfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		hkvfs_itab_forget(hkvfs_ino(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}
/* ---------------------------------------------------------------------------------------- */
/* namespace operations                                                                     */

static int parent_and_child(struct hkvfs *fs, fuse_ino_t parent, const char *name,
			    struct hkvfs_ident **dir, struct hkvfs_ident **id, bool must_exist)
{
	int rc;

	*dir = malloc(2 * sizeof(**dir));
	if (!*dir)
		return -ENOMEM;
	*id = *dir + 1;
	hkvfs_itab_snapshot(hkvfs_ino(parent), *dir);
	if ((*dir)->kind == HKVFS_CTLDIR)
		return -EACCES;
	if (hkvfs_opts_fs_ro(&fs->opts))
		return -EROFS;
	rc = resolve(fs, *dir, name, *id, must_exist);
	if (rc == -EINVAL && !must_exist)
		HLOG_WARN("name '%s' is not a canonical hkvfs name (EINVAL)", name);
	return rc;
}

/*
 * Creating a string key is one transaction: no directory of that name (no key below it), the
 * key, and its directory's times.
 */
struct create_key {
	struct hkvfs *fs;
	const struct hkvfs_ident *dir;
	struct hkvfs_ident *id;
	const struct hkv_create_attr *ca;
	bool excl;
};

static int create_key_txn(struct hkvfs_be *tx, void *arg)
{
	struct create_key *ck = arg;
	struct hkvfs_ident *id = ck->id;
	int rc;

	if (id->klen < HKV_KEY_MAX) {
		id->key[id->klen] = ck->fs->opts.delim;
		rc = prefix_has_keys(ck->fs, tx, id->key, id->klen + 1, false);
		if (rc)
			return rc > 0 ? (ck->excl ? -EEXIST : -EISDIR) : rc;
	}
	rc = hkvfs_be_create(tx, id->key, id->klen, HKV_TYPE_STRING, ck->ca);
	if (rc)
		return rc;
	return dir_changed(ck->fs, tx, ck->dir);
}

/*
 * create the node named @name in @dir: a string key, or an element. *@own (if not NULL) is
 * set to 1 when a new string key was written whose watch event goes to @dir's commit window,
 * else 0 (hkvfs_inval_created()). The event goes there when the kernel knows no inode of the
 * key: one it still holds (a file removed while open, then created again) takes the event
 * itself, and counting it here would let a foreign event in the window go unnoticed. No
 * inode of the key can appear meanwhile: the kernel holds the directory's lock through a
 * CREATE, and a LOOKUP of that name needs it.
 */
static int create_node(fuse_req_t req, const struct hkvfs_ident *dir, struct hkvfs_ident *id,
		       mode_t mode, bool excl, unsigned *own)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkv_create_attr ca = { mode & 07777, hkvfs_ctx(req)->uid, hkvfs_ctx(req)->gid };
	struct hkvfs_be *be = fs->be;
	int64_t idx;
	bool tail;
	int rc, t;

	if (own)
		*own = 0;
	if (id->kind == HKVFS_PREFIX)
		return excl ? -EEXIST : -EISDIR;
	if (id->kind == HKVFS_KEY) {
		struct create_key ck = { fs, dir, id, &ca, excl };
		bool known = own && hkvfs_itab_find(HKVFS_KEY, id->key, id->klen, NULL, 0);

		rc = hkvfs_be_txn_run(be, create_key_txn, &ck);
		if (rc == 0 && own && !known)
			*own = 1;
		if (rc == -EEXIST && !excl)
			rc = hkvfs_be_type(be, id->key, id->klen) == HKV_TYPE_STRING ? 0 : -EISDIR;
		return hkvfs_fserr(rc);
	}
	if (id->kind != HKVFS_ELEM)
		return -EACCES;
	t = hkvfs_key_type(fs, dir);
	if (t < 0)
		return t;
	switch (t) {
	case HKV_TYPE_HASH:
		rc = hkvfs_be_hsetnx(be, id->key, id->klen, id->elem, id->elen, "", 0, NULL);
		break;
	case HKV_TYPE_SET:
		rc = hkvfs_be_sadd(be, id->key, id->klen, id->elem, id->elen, NULL);
		break;
	case HKV_TYPE_ZSET:
		rc = hkvfs_be_zadd(be, id->key, id->klen, 0.0, id->elem, id->elen, HKV_ZADD_NX,
				   NULL, NULL);
		break;
	case HKV_TYPE_LIST:
		if (hkvfs_list_push_name(id, &tail))
			return 0;
		if (hkvfs_index_parse(id->elem, id->elen, &idx) == 0 &&
		    idx < hkvfs_be_llen(be, id->key, id->klen))
			return excl ? -EEXIST : 0;
		HLOG_WARN("list directories only take '%s', '%s' or an existing index (EINVAL)",
			 HKVFS_LIST_APPEND, HKVFS_LIST_PREPEND);
		return -EINVAL;
	case HKV_TYPE_STREAM:
		HLOG_WARN("create in a stream refused: streams are read-only through the mount "
			  "(EPERM)");
		return -EPERM;
	default:
		return -ENOTDIR;
	}
	if (rc == 0 && excl)
		return -EEXIST;
	return hkvfs_fserr(rc);
}

void hkvfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	unsigned own;
	int rc;

	CNT(creates);
	hkvfs_ns_read_lock();
	rc = parent_and_child(fs, parent, name, &dir, &id, false);
	if (!rc) {
		/*
		 * A commit window on the directory (inode.c): the writes of the create (the new
		 * key, the directory's times) are handed to this request, which drops the
		 * directory's cached attributes itself, instead of waking the invalidation thread
		 * (after the namespace lock: its holders notify the kernel of nothing), and only
		 * if they changed: its new file alone changes nothing cached for the directory
		 * (hkvfs_inval_created()).
		 */
		hkvfs_itab_commit_begin(hkvfs_ino(parent));
		rc = create_node(req, dir, id, mode, fi->flags & O_EXCL, &own);
		if (!rc)
			rc = make_entry(fs, id, &e);
		hkvfs_ns_read_unlock();
		hkvfs_inval_created(fs, hkvfs_ino(parent),
				    hkvfs_itab_commit_end(hkvfs_ino(parent)), own);
	} else {
		hkvfs_ns_read_unlock();
	}
	if (rc) {
		hkvfs_reply_err(req, rc);
		free(dir);
		return;
	}
	free(dir);
	/* a handle as from OPEN, in every cache mode (cache=noopen too: the kernel sends
	 * FLUSH and RELEASE for created files) */
	{
		struct hkvfs_fh *fh = hkvfs_fh_new(hkvfs_ino(e.ino), req, mode);
		struct hkvfs_ident *nid = malloc(sizeof(*nid));
		bool tail;

		if (!fh || !nid) {
			hkvfs_fh_put(fh);
			free(nid);
			hkvfs_itab_forget(hkvfs_ino(e.ino), 1);
			hkvfs_reply_err(req, ENOMEM);
			return;
		}
		hkvfs_itab_snapshot(fh->in, nid);
		fh->write = (fi->flags & O_ACCMODE) != O_RDONLY;
		if (nid->kind == HKVFS_ELEM && hkvfs_key_type(fs, nid) == HKV_TYPE_LIST &&
		    hkvfs_list_push_name(nid, &tail))
			fh->append_only = true;
		fh->loaded = fh->append_only || (fi->flags & O_TRUNC);
		fh->dirty = !fh->append_only && (fi->flags & O_TRUNC) && fh->write;
		fh->st = e.attr;
		if (fi->flags & O_TRUNC)
			fh->st.st_size = 0;
		free(nid);
		if (hkvfs_fh_publish(fh, fi)) {
			hkvfs_fh_put(fh);
			hkvfs_itab_forget(hkvfs_ino(e.ino), 1);
			hkvfs_reply_err(req, ENOMEM);
			return;
		}
		if (fuse_reply_create(req, &e, fi) == -ENOENT)
			hkvfs_fh_reply_failed(fi);
	}
}

void hkvfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	int rc;

	(void)rdev;
	if (!S_ISREG(mode)) {
		HLOG_WARN("mknod of a non-regular file '%s' refused (EPERM)", name);
		hkvfs_reply_err(req, EPERM);
		return;
	}
	hkvfs_ns_read_lock();
	rc = parent_and_child(fs, parent, name, &dir, &id, false);
	if (!rc)
		rc = create_node(req, dir, id, mode, true, NULL);
	if (!rc)
		rc = make_entry(fs, id, &e);
	hkvfs_ns_read_unlock();
	free(dir);
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

/*
 * mkdir is one transaction: the name is free (no key of that name, no key below it), the
 * marker, and the parent's times.
 */
struct mkdir_op {
	struct hkvfs *fs;
	const struct hkvfs_ident *dir;
	struct hkvfs_ident *id;
	const struct hkv_create_attr *ca;
	bool key_too; /* a key named as the directory (its prefix without the delimiter) */
};

static int mkdir_txn(struct hkvfs_be *tx, void *arg)
{
	struct mkdir_op *mo = arg;
	struct hkvfs *fs = mo->fs;
	struct hkvfs_ident *id = mo->id;
	unsigned char *mk;
	int rc;

	if (mo->key_too) {
		rc = hkvfs_be_exists(tx, id->key, id->klen - 1);
		if (rc)
			return rc > 0 ? -EEXIST : rc;
	}
	rc = prefix_has_keys(fs, tx, id->key, id->klen, false);
	if (rc)
		return rc > 0 ? -EEXIST : rc;
	mk = malloc(HKV_KEY_MAX + 1);
	if (!mk)
		return -ENOMEM;
	rc = hkvfs_be_create(tx, mk, hkvfs_marker_key(id->key, id->klen, mk), HKV_TYPE_STRING,
			     mo->ca);
	free(mk);
	if (rc)
		return rc;
	return dir_changed(fs, tx, mo->dir);
}

void hkvfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkv_create_attr ca = { mode & 07777, hkvfs_ctx(req)->uid, hkvfs_ctx(req)->gid };
	struct hkvfs_ident *dir, *id;
	struct fuse_entry_param e;
	bool key_too = false;
	int rc;

	CNT(creates);
	hkvfs_ns_read_lock();
	rc = parent_and_child(fs, parent, name, &dir, &id, false);
	if (rc)
		goto out;
	if (id->kind == HKVFS_ELEM) {
		HLOG_WARN("mkdir inside a collection refused (EPERM)");
		rc = -EPERM;
		goto out;
	}
	if (id->kind == HKVFS_KEY) {
		/* a name whose key exists is taken (mkdir_txn() looks); otherwise the
		 * directory is its prefix */
		if (!hkv_pathmap_comp_ok(id->key + dir->klen, id->klen - dir->klen,
					 fs->opts.delim, true)) {
			rc = -EINVAL;
			goto out;
		}
		id->key[id->klen++] = fs->opts.delim;
		id->kind = HKVFS_PREFIX;
		key_too = true;
	}
	if (id->klen + HKVFS_MARKER_LEN > HKV_KEY_MAX) {
		HLOG_WARN("mkdir: a directory key of %zu bytes and its marker exceed %d bytes "
			  "(ENAMETOOLONG)", id->klen, HKV_KEY_MAX);
		rc = -ENAMETOOLONG;
		goto out;
	}
	{
		struct mkdir_op mo = { fs, dir, id, &ca, key_too };

		rc = hkvfs_fserr(hkvfs_be_txn_run(fs->be, mkdir_txn, &mo));
	}
	if (!rc)
		rc = make_entry(fs, id, &e);
out:
	hkvfs_ns_read_unlock();
	free(dir);
	if (rc)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

/*
 * Removing an element (rm COLL/NAME) is one engine transaction: the list's length check and its
 * pop, and, when the element was the collection's last, putting the collection back (a
 * directory survives its last file, as on a local filesystem) with its mode, owner, expiry and
 * extended attributes. No reader sees the collection missing, a concurrent push cannot make
 * `rm LIST/N` pop another element, and a TTL set on the directory stays.
 */
struct elem_xattr {
	char *name;
	struct hkv_buf val;
};

struct elem_unlink {
	const struct hkvfs_ident *id;
	struct hkv_attr a;      /* the collection's, read inside the transaction */
	struct elem_xattr *xa;  /* its extended attributes, when the element is the last */
	size_t nxa, cap;
};

static int elem_xattr_name(void *arg, const char *name)
{
	struct elem_unlink *u = arg;

	if (u->nxa == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 8;
		struct elem_xattr *xa = realloc(u->xa, cap * sizeof(*xa));

		if (!xa)
			return -ENOMEM;
		u->xa = xa;
		u->cap = cap;
	}
	u->xa[u->nxa].name = strdup(name);
	if (!u->xa[u->nxa].name)
		return -ENOMEM;
	u->xa[u->nxa].val = (struct hkv_buf){ 0 };
	u->nxa++;
	return 0;
}

static void elem_unlink_free(struct elem_unlink *u)
{
	for (size_t i = 0; i < u->nxa; i++) {
		free(u->xa[i].name);
		hkvfs_be_buf_release(&u->xa[i].val);
	}
	free(u->xa);
}

/* Put back the collection @u->a describes, emptied by the removal, with what it carried. */
static int elem_unlink_keep(struct hkvfs_be *tx, struct elem_unlink *u)
{
	const struct hkvfs_ident *id = u->id;
	struct hkv_create_attr ca = { u->a.mode, u->a.uid, u->a.gid };
	int64_t r;
	int rc;

	rc = hkvfs_be_create(tx, id->key, id->klen, u->a.type, &ca);
	if (rc)
		return rc;
	if (u->a.expire_at) {
		r = hkvfs_be_pexpireat(tx, id->key, id->klen, u->a.expire_at, 0);
		if (r < 0)
			return (int)r;
	}
	for (size_t i = 0; i < u->nxa; i++) {
		rc = hkvfs_be_xattr_set(tx, id->key, id->klen, u->xa[i].name, u->xa[i].val.data,
					u->xa[i].val.len, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int elem_unlink_txn(struct hkvfs_be *tx, void *arg)
{
	struct elem_unlink *u = arg;
	const struct hkvfs_ident *id = u->id;
	int64_t idx, r;
	bool tail;
	int rc;

	rc = hkvfs_be_attr_get(tx, id->key, id->klen, &u->a);
	if (rc)
		return rc;
	if (u->a.size == 1) {
		/* the last element: keep what the collection carries, to put it back */
		rc = hkvfs_be_xattr_list(tx, id->key, id->klen, elem_xattr_name, u);
		for (size_t i = 0; !rc && i < u->nxa; i++)
			rc = hkvfs_be_xattr_get(tx, id->key, id->klen, u->xa[i].name,
						&u->xa[i].val);
		if (rc)
			return rc;
	}
	switch (u->a.type) {
	case HKV_TYPE_HASH:
		r = hkvfs_be_hdel(tx, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_SET:
		r = hkvfs_be_srem(tx, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_ZSET:
		r = hkvfs_be_zrem(tx, id->key, id->klen, id->elem, id->elen);
		break;
	case HKV_TYPE_LIST:
		/* the length check and the pop are one step (a push meanwhile cannot move N) */
		r = hkvfs_list_push_name(id, &tail) || hkvfs_index_parse(id->elem, id->elen, &idx)
			    ? -EPERM
			    : hkvfs_be_list_pop_at(tx, id->key, id->klen, idx, NULL);
		if (r == -EPERM)
			HLOG_WARN("rm in a list may only pop index 0 or the last (EPERM)");
		r = r < 0 ? r : 1;
		break;
	case HKV_TYPE_STREAM:
		HLOG_WARN("rm of a stream entry refused: streams are read-only through the mount "
			  "(EPERM)");
		return -EPERM;
	default:
		return -ENOENT;
	}
	if (r < 0)
		return (int)r;
	if (r == 0)
		return -ENOENT;
	rc = hkvfs_be_exists(tx, id->key, id->klen);
	if (rc < 0)
		return rc;
	return rc ? 0 : elem_unlink_keep(tx, u);
}

/*
 * Removing a name (unlink of a string key, rmdir) is one transaction: the checks, the
 * removal, the parent's marker when the parent would otherwise vanish (keep_parent()), and
 * the parent's times.
 */
struct ns_remove {
	struct hkvfs *fs;
	const struct hkvfs_ident *dir, *id;
};

static int unlink_key_txn(struct hkvfs_be *tx, void *arg)
{
	struct ns_remove *nr = arg;
	const struct hkvfs_ident *id = nr->id;
	int rc, t;

	t = hkvfs_be_type(tx, id->key, id->klen);
	if (t != HKV_TYPE_STRING)
		return t < 0 ? t : (t == HKV_TYPE_NONE ? -ENOENT : -EISDIR);
	rc = hkvfs_be_del(tx, id->key, id->klen);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	rc = keep_parent(nr->fs, tx, id->key, id->klen);
	return rc ? rc : dir_changed(nr->fs, tx, nr->dir);
}

static int rmdir_txn(struct hkvfs_be *tx, void *arg)
{
	struct ns_remove *nr = arg;
	struct hkvfs *fs = nr->fs;
	const struct hkvfs_ident *id = nr->id;
	unsigned char mk[HKV_KEY_MAX + 1];
	struct hkv_attr a;
	size_t plen;
	int rc, t;

	if (id->kind == HKVFS_KEY) {
		/* a collection: removed when it has no element */
		t = hkvfs_be_type(tx, id->key, id->klen);
		if (t == HKV_TYPE_STRING)
			return -ENOTDIR;
		if (t == HKV_TYPE_NONE)
			return -ENOENT;
		if (t < 0)
			return t;
		if (t == HKV_TYPE_STREAM) {
			/* an empty stream still has its last ID and groups: only DEL drops it */
			HLOG_WARN("rmdir of a stream refused: streams are read-only through the "
				  "mount (EPERM)");
			return -EPERM;
		}
		rc = hkvfs_be_attr_get(tx, id->key, id->klen, &a);
		if (rc)
			return rc;
		if (a.size)
			return -ENOTEMPTY;
		rc = hkvfs_be_del(tx, id->key, id->klen);
		if (rc < 0)
			return rc;
		plen = id->klen;
	} else {
		/* a prefix directory: removed when only its marker is left */
		rc = prefix_has_keys(fs, tx, id->key, id->klen, true);
		if (rc)
			return rc > 0 ? -ENOTEMPTY : rc;
		if (id->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX) {
			rc = hkvfs_be_del(tx, mk, hkvfs_marker_key(id->key, id->klen, mk));
			if (rc < 0)
				return rc;
		}
		plen = id->klen - 1;
	}
	rc = keep_parent(fs, tx, id->key, plen);
	return rc ? rc : dir_changed(fs, tx, nr->dir);
}

void hkvfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *dir, *id;
	struct hkvfs_be *be = fs->be;
	struct hkv_attr a;
	fuse_ino_t ino;
	int rc;

	CNT(unlinks);
	hkvfs_ns_read_lock();
	rc = parent_and_child(fs, parent, name, &dir, &id, true);
	if (rc)
		goto out_unlock;
	if (id->kind == HKVFS_KEY) {
		struct ns_remove nr = { fs, dir, id };

		ino = hkvfs_itab_find(HKVFS_KEY, id->key, id->klen, NULL, 0);
		rc = hkvfs_be_txn_run(be, unlink_key_txn, &nr);
		hkvfs_ns_read_unlock(); /* before the handles' locks */
		if (!rc)
			hkvfs_fh_orphan(ino);
		goto out;
	}
	if (id->kind != HKVFS_ELEM) {
		rc = id->kind == HKVFS_PREFIX ? -EISDIR : -EPERM;
		goto out_unlock;
	}
	{
		struct elem_unlink u = { .id = id };

		rc = hkvfs_be_txn_run(be, elem_unlink_txn, &u);
		a = u.a;
		elem_unlink_free(&u);
	}
	hkvfs_ns_read_unlock();
	if (!rc && a.type != HKV_TYPE_LIST)
		hkvfs_fh_orphan(hkvfs_itab_find(HKVFS_ELEM, id->key, id->klen, id->elem, id->elen));
	if (!rc && a.type == HKV_TYPE_LIST)
		hkvfs_inval_children(fs, id->key, id->klen);
	goto out;
out_unlock:
	hkvfs_ns_read_unlock();
out:
	free(dir);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
}

void hkvfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *dir, *id;
	int rc;

	CNT(unlinks);
	hkvfs_ns_read_lock();
	rc = parent_and_child(fs, parent, name, &dir, &id, true);
	if (rc)
		goto out;
	if (id->kind != HKVFS_KEY && id->kind != HKVFS_PREFIX) {
		rc = -ENOTDIR;
		goto out;
	}
	{
		struct ns_remove nr = { fs, dir, id };

		rc = hkvfs_be_txn_run(fs->be, rmdir_txn, &nr);
	}
out:
	hkvfs_ns_read_unlock();
	free(dir);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
}

/*
 * RENAME is one transaction: the checks on source and destination, the move (one key, or
 * every key below a directory), the removal of the empty directory it replaces, the marker
 * that keeps the source's parent, and both parents' times. A reader sees the tree before or
 * after, never half a directory moved; a failure (or a crash) moves nothing. Without
 * HKVFS_BE_CAP_TXN the same calls run in the same order, each atomic on its own.
 */
struct rename_op {
	struct hkvfs *fs;
	const struct hkvfs_ident *dir, *src, *ndir;
	struct hkvfs_ident *dst;
	unsigned flags;
	fuse_ino_t dino; /* the replaced key's node, if any */
};

#define MV_BATCH 64

struct mv_arg {
	unsigned char (*keys)[HKV_KEY_MAX + 1];
	size_t lens[MV_BATCH];
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
	return m->n == MV_BATCH ? 1 : 0;
}

/*
 * Rename every key under prefix @from to @to (+ the rest), through @be (the rename's
 * transaction). Keys are collected MV_BATCH at a time and moved between scans. With
 * transactions the scan goes on from its cursor (a position after the last key returned: the
 * keys moved before it are not seen again, and the destination is outside @from); without,
 * each batch starts a new scan, which never sees a key it moved.
 */
static int rename_prefix(struct hkvfs *fs, struct hkvfs_be *be, const unsigned char *from,
			 size_t flen, const unsigned char *to, size_t tlen)
{
	struct hkv_scan_opts so = { .count = MV_BATCH, .prefix = from, .prefix_len = flen };
	bool restart = !(be->caps & HKVFS_BE_CAP_TXN);
	struct mv_arg m = { 0 };
	struct hkv_cursor cur;
	unsigned char *nk;
	size_t i;
	int rc = 0;

	(void)fs;
	m.keys = malloc(MV_BATCH * sizeof(*m.keys));
	nk = malloc(HKV_KEY_MAX + 1);
	if (!m.keys || !nk) {
		rc = -ENOMEM;
		goto out_free;
	}
	hkvfs_be_cursor_init(&cur);
	for (;;) {
		if (restart)
			hkvfs_be_cursor_init(&cur);
		m.n = 0;
		while (!cur.done && m.n < MV_BATCH) {
			rc = hkvfs_be_scan(be, &cur, &so, collect_cb, &m);
			if (rc < 0)
				goto out_free;
		}
		if (m.n == 0)
			break;
		for (i = 0; i < m.n; i++) {
			size_t nl = m.lens[i] - flen + tlen;

			if (nl > HKV_KEY_MAX) {
				HLOG_WARN("rename: a key below the directory would be %zu bytes, "
					  "over %d (ENAMETOOLONG)", nl, HKV_KEY_MAX);
				rc = -ENAMETOOLONG;
				goto out_free;
			}
			memcpy(nk, to, tlen);
			memcpy(nk + tlen, m.keys[i] + flen, m.lens[i] - flen);
			rc = hkvfs_be_rename(be, m.keys[i], m.lens[i], nk, nl, 0);
			if (rc < 0 && rc != -ENOENT)
				goto out_free;
		}
		if (!restart && cur.done)
			break;
	}
	rc = 0;
out_free:
	free(m.keys);
	free(nk);
	return rc;
}

/* a key (string or collection) renamed: checks, the move, the empty directory it replaces */
static int rename_key(struct rename_op *ro, struct hkvfs_be *tx)
{
	struct hkvfs *fs = ro->fs;
	const struct hkvfs_ident *src = ro->src;
	struct hkvfs_ident *dst = ro->dst;
	unsigned char mk[HKV_KEY_MAX + 1];
	int full = 0, any = 0, st, dt, rc;

	st = hkvfs_be_type(tx, src->key, src->klen);
	if (st < 0)
		return st;
	if (st == HKV_TYPE_NONE)
		return -ENOENT;
	if (dst->kind == HKVFS_PREFIX)
		return st == HKV_TYPE_STRING ? -EISDIR : -ENOTEMPTY;
	if (dst->klen + 1 + HKVFS_MARKER_LEN <= HKV_KEY_MAX) {
		dst->key[dst->klen] = fs->opts.delim;
		full = prefix_has_keys(fs, tx, dst->key, dst->klen + 1, true);
		if (full < 0)
			return full;
		any = prefix_has_keys(fs, tx, dst->key, dst->klen + 1, false);
		if (any < 0)
			return any;
	}
	if (full > 0 || (any > 0 && st == HKV_TYPE_STRING))
		return st == HKV_TYPE_STRING ? -EISDIR : -ENOTEMPTY;
	if (any > 0 && (ro->flags & RENAME_NOREPLACE))
		return -EEXIST; /* an empty directory is there */
	dt = hkvfs_be_type(tx, dst->key, dst->klen);
	if (dt < 0)
		return dt;
	if (dt > 0 && (ro->flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (dt > 0 && (dt == HKV_TYPE_STRING) != (st == HKV_TYPE_STRING))
		return st == HKV_TYPE_STRING ? -EISDIR : -ENOTDIR;
	if (dt == HKV_TYPE_STREAM) {
		HLOG_WARN("rename over a stream refused: streams are read-only through the mount "
			  "(EPERM)");
		return -EPERM;
	}
	if (dt > 0 && dt != HKV_TYPE_STRING) {
		struct hkv_attr a;

		if (hkvfs_be_attr_get(tx, dst->key, dst->klen, &a) == 0 && a.size)
			return -ENOTEMPTY;
	}
	ro->dino = dt > 0 ? hkvfs_itab_find(HKVFS_KEY, dst->key, dst->klen, NULL, 0) : 0;
	rc = hkvfs_be_rename(tx, src->key, src->klen, dst->key, dst->klen,
			     (ro->flags & RENAME_NOREPLACE) ? HKV_RENAME_NX : 0);
	if (rc)
		return rc;
	/* the empty mkdir'd directory it replaces */
	if (any > 0) {
		rc = hkvfs_be_del(tx, mk, hkvfs_marker_key(dst->key, dst->klen + 1, mk));
		if (rc < 0)
			return rc;
	}
	return keep_parent(fs, tx, src->key, src->klen);
}

/* a directory (prefix) renamed: the destination must be absent or an empty directory */
static int rename_dir(struct rename_op *ro, struct hkvfs_be *tx)
{
	struct hkvfs *fs = ro->fs;
	const struct hkvfs_ident *src = ro->src;
	struct hkvfs_ident *dst = ro->dst;
	unsigned char mk[HKV_KEY_MAX + 1];
	int rc;

	if (dst->kind == HKVFS_KEY) {
		rc = hkvfs_be_exists(tx, dst->key, dst->klen);
		if (rc)
			return rc > 0 ? -ENOTDIR : rc;
		dst->key[dst->klen++] = fs->opts.delim;
		dst->kind = HKVFS_PREFIX;
	}
	if (dst->klen >= src->klen && memcmp(dst->key, src->key, src->klen) == 0)
		return -EINVAL;
	rc = prefix_has_keys(fs, tx, dst->key, dst->klen, true);
	if (rc)
		return rc > 0 ? ((ro->flags & RENAME_NOREPLACE) ? -EEXIST : -ENOTEMPTY) : rc;
	if (dst->klen + HKVFS_MARKER_LEN <= HKV_KEY_MAX) {
		rc = hkvfs_be_del(tx, mk, hkvfs_marker_key(dst->key, dst->klen, mk));
		if (rc < 0)
			return rc;
	}
	rc = rename_prefix(fs, tx, src->key, src->klen, dst->key, dst->klen);
	if (rc)
		return rc;
	return keep_parent(fs, tx, src->key, src->klen - 1);
}

static int rename_txn(struct hkvfs_be *tx, void *arg)
{
	struct rename_op *ro = arg;
	int rc;

	rc = ro->src->kind == HKVFS_KEY ? rename_key(ro, tx) : rename_dir(ro, tx);
	if (!rc)
		rc = dir_changed(ro->fs, tx, ro->dir);
	if (!rc && (ro->ndir->klen != ro->dir->klen ||
		    memcmp(ro->ndir->key, ro->dir->key, ro->dir->klen)))
		rc = dir_changed(ro->fs, tx, ro->ndir);
	return rc;
}

void hkvfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *dir, *src, *ndir, *dst;
	int rc;

	CNT(renames);
	ndir = NULL;
	/* exclusive: no operation turns an old name into a key while the keys and inodes move */
	hkvfs_ns_write_lock();
	rc = parent_and_child(fs, parent, name, &dir, &src, true);
	if (rc)
		goto out;
	rc = parent_and_child(fs, newparent, newname, &ndir, &dst, false);
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
	if (src->kind != HKVFS_KEY && src->kind != HKVFS_PREFIX) {
		rc = -EPERM;
		goto out;
	}
	{
		struct rename_op ro = { fs, dir, src, ndir, dst, flags, 0 };

		rc = hkvfs_be_txn_run(fs->be, rename_txn, &ro);
		if (rc)
			goto out;
		if (src->kind == HKVFS_KEY)
			hkvfs_itab_move(HKVFS_KEY, src->key, src->klen, dst->key, dst->klen);
		else
			hkvfs_itab_rename_prefix(src->key, src->klen, dst->key, dst->klen);
		hkvfs_ns_write_unlock();
		/*
		 * The file renamed over: its open handles commit nothing any more. A commit
		 * before this finds its inode out of the table (fh_store()) and drops too.
		 */
		hkvfs_fh_orphan(ro.dino);
		goto out_unlocked;
	}
out:
	hkvfs_ns_write_unlock();
out_unlocked:
	free(dir);
	free(ndir);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
}

/*
 * FSYNCDIR: a create, unlink or rename in the directory was committed to the engine when it
 * returned; make it durable under every sync policy, as fsync(2) of a file does.
 */
void hkvfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	(void)ino;
	(void)datasync;
	(void)fi;
	CNT(fsyncdirs);
	hkvfs_reply_err(req, hkvfs_fserr(hkvfs_be_sync(fs->be)));
}
