// SPDX-License-Identifier: MIT
/*
 * xattr.c - extended attributes: the user.* namespace stored by the engine, and the hkv.*
 * names that expose TTL, type and version.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "ops_int.h"

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
static int set_dir_type(struct hkvfs *fs, fuse_ino_t ino, struct hkvfs_ident *id, const char *val,
			size_t len)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_create_attr ca = { 0777 & ~fs->opts.umask, fs->opts.uid,
				      fs->opts.gid };
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
		rc = hkvfs_be_type(fs->be, id->key, id->klen);
		if (rc == (int)t)
			return 0;
		HLOG_WARN("user.hkv.type of an existing key is read-only (EPERM)");
		return -EPERM;
	}
	if (id->kind != HKVFS_PREFIX) {
		HLOG_WARN("user.hkv.type can only be set on an empty directory (EPERM)");
		return -EPERM;
	}
	if (t == HKV_TYPE_STREAM) {
		HLOG_WARN("user.hkv.type stream refused: streams are read-only through the mount, "
			  "made over RESP (EPERM)");
		return -EPERM;
	}
	rc = hkvfs_prefix_has_keys(fs, id->key, id->klen, true);
	if (rc) {
		if (rc > 0)
			HLOG_WARN("user.hkv.type on a non-empty directory (ENOTEMPTY)");
		return rc > 0 ? -ENOTEMPTY : rc;
	}
	mklen = hkvfs_marker_key(id->key, id->klen, mk);
	if (hkvfs_be_attr_get(fs->be, mk, mklen, &a) == 0) {
		ca.mode = a.mode;
		ca.uid = a.uid;
		ca.gid = a.gid;
	}
	rc = hkvfs_be_create(fs->be, id->key, id->klen - 1, t, &ca);
	if (rc)
		return hkvfs_fserr(rc);
	hkvfs_be_del(fs->be, mk, mklen);
	hkvfs_itab_rekey(hkvfs_ino(ino), HKVFS_KEY, id->key, id->klen - 1);
	return 0;
}

void hkvfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	size_t aklen;
	unsigned long seq;
	int64_t v;
	int rc, tries = 0;

	CNT(xattrs);
	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	seq = hkvfs_ns_seq();
again:
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (hkvfs_opts_fs_ro(&fs->opts)) {
		rc = -EROFS;
		goto out;
	}
	if (strcmp(name, XA_TYPE) == 0) {
		/* a retype re-keys the inode: exclusive, from a snapshot taken under the lock */
		hkvfs_ns_write_lock();
		hkvfs_itab_snapshot(hkvfs_ino(ino), id);
		rc = set_dir_type(fs, ino, id, value, size);
		hkvfs_ns_write_unlock();
		if (!rc)
			hkvfs_inval_now(fs, ino);
		goto out_reply; /* its snapshot was taken under the lock: nothing to retry */
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
		rc = ttl ? hkvfs_be_expire(fs->be, id->key, id->klen, v, 0)
			 : hkvfs_be_pexpireat(fs->be, id->key, id->klen, v, 0);
		rc = rc < 0 ? rc : (rc ? 0 : -ENOENT);
		if (!rc)
			hkvfs_inval_now(fs, ino);
		goto out;
	}
	if (strncmp(name, "user.hkv.", 9) == 0) {
		HLOG_WARN("xattr %s: reserved name (EINVAL)", name);
		rc = -EINVAL;
		goto out;
	}
	rc = hkvfs_attr_key(fs, id, ak, &aklen);
	if (!rc)
		rc = hkvfs_be_xattr_set(fs->be, ak, aklen, name + 5, value, size,
					(flags & XATTR_CREATE) ? HKV_XATTR_CREATE
					: (flags & XATTR_REPLACE) ? HKV_XATTR_REPLACE
								  : 0);
	if (rc == -E2BIG || rc == -ERANGE)
		HLOG_WARN("xattr %s: too large (%s)", name, hkv_strerror(rc));
out:
	if (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries))
		goto again; /* renamed meanwhile (inode.c, "The namespace lock") */
out_reply:
	free(id);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
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

void hkvfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned char *ak;
	struct hkv_buf v = { 0 };
	struct hkv_attr a;
	char tmp[64];
	unsigned long seq;
	int rc = 0, tries = 0;

	CNT(xattrs);
	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	ak = (unsigned char *)(id + 1);
	seq = hkvfs_ns_seq();
again:
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0) {
		rc = -ENODATA;
		goto out;
	}
	if ((id->kind != HKVFS_KEY && id->kind != HKVFS_PREFIX) ||
	    strcmp(name + 5, HKVFS_XA_ATIME) == 0) {
		rc = -ENODATA;
		goto out;
	}
	if (strcmp(name, XA_TTL) == 0 || strcmp(name, XA_EXPIRE) == 0 ||
	    strcmp(name, XA_TYPE) == 0) {
		if (id->kind != HKVFS_KEY) {
			rc = -ENODATA;
			goto out;
		}
		rc = hkvfs_be_attr_get(fs->be, id->key, id->klen, &a);
		if (rc)
			goto out;
		if (name[9] == 't' && name[10] == 't') {
			int64_t t = hkvfs_be_ttl(fs->be, id->key, id->klen);

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
		rc = hkvfs_be_xattr_get(fs->be, id->key, id->klen, name + 5, &v);
	} else {
		size_t l = hkvfs_marker_key(id->key, id->klen, ak);

		rc = hkvfs_be_xattr_get(fs->be, ak, l, name + 5, &v);
		if (rc == -ENOENT)
			rc = -ENODATA;
	}
	if (!rc) {
		reply_xattr(req, size, v.data, v.len);
		hkvfs_be_buf_release(&v);
		free(id);
		return;
	}
out:
	/* a directory's attributes live on its marker: ENODATA too may be a rename in flight */
	if ((rc == -ENOENT || rc == -ENODATA) && hkvfs_ns_retry(&seq, &tries)) {
		rc = 0;
		goto again;
	}
	free(id);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
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
	if (strncmp(name, "hkv.", 4) == 0)
		return 0; /* hkvfs's own (the atime), never a user's */
	return xl_add(arg, name, "user.");
}

void hkvfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	struct xl x = { 0 };
	unsigned long seq;
	int rc = 0, tries = 0;

	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	seq = hkvfs_ns_seq();
again:
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (id->kind == HKVFS_KEY) {
		rc = xl_add(&x, XA_TYPE, "");
		if (!rc)
			rc = xl_add(&x, XA_TTL, "");
		if (!rc)
			rc = xl_add(&x, XA_EXPIRE, "");
		if (!rc)
			rc = hkvfs_be_xattr_list(fs->be, id->key, id->klen, xl_cb, &x);
	} else if (id->kind == HKVFS_PREFIX) {
		unsigned char *ak = (unsigned char *)(id + 1);
		size_t l = hkvfs_marker_key(id->key, id->klen, ak);

		rc = hkvfs_be_xattr_list(fs->be, ak, l, xl_cb, &x);
	}
	if (rc == -ENOENT && hkvfs_ns_retry(&seq, &tries)) {
		free(x.buf); /* renamed meanwhile (inode.c, "The namespace lock") */
		memset(&x, 0, sizeof(x));
		rc = 0;
		goto again;
	}
	if (rc == -ENOENT && id->kind == HKVFS_PREFIX)
		rc = 0; /* a directory without a marker has no attributes */
	if (rc)
		hkvfs_reply_err(req, hkvfs_fserr(rc));
	else
		reply_xattr(req, size, x.buf ? x.buf : "", x.len);
	free(x.buf);
	free(id);
}

void hkvfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_ident *id = malloc(sizeof(*id) + HKV_KEY_MAX + HKVFS_MARKER_LEN + 1);
	unsigned long seq;
	int rc, tries = 0;

	if (!id) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	seq = hkvfs_ns_seq();
again:
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (strncmp(name, "user.", 5) != 0 ||
	    (id->kind != HKVFS_KEY && id->kind != HKVFS_PREFIX) ||
	    strcmp(name + 5, HKVFS_XA_ATIME) == 0) {
		rc = -ENODATA;
	} else if (hkvfs_opts_fs_ro(&fs->opts)) {
		rc = -EROFS;
	} else if (strcmp(name, XA_TTL) == 0 || strcmp(name, XA_EXPIRE) == 0) {
		rc = id->kind == HKVFS_KEY ? hkvfs_be_persist(fs->be, id->key, id->klen) : 0;
		rc = rc < 0 ? rc : 0;
		if (!rc)
			hkvfs_inval_now(fs, ino);
	} else if (strcmp(name, XA_TYPE) == 0) {
		HLOG_WARN("user.hkv.type cannot be removed (EPERM)");
		rc = -EPERM;
	} else if (id->kind == HKVFS_KEY) {
		rc = hkvfs_be_xattr_del(fs->be, id->key, id->klen, name + 5);
	} else {
		unsigned char *ak = (unsigned char *)(id + 1);

		rc = hkvfs_be_xattr_del(fs->be, ak, hkvfs_marker_key(id->key, id->klen, ak),
					name + 5);
		if (rc == -ENOENT)
			rc = -ENODATA;
	}
	if ((rc == -ENOENT || rc == -ENODATA) && hkvfs_ns_retry(&seq, &tries))
		goto again; /* renamed meanwhile (inode.c, "The namespace lock") */
	free(id);
	hkvfs_reply_err(req, hkvfs_fserr(rc));
}
