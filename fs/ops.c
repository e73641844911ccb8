// SPDX-License-Identifier: MIT
/*
 * ops.c - the FUSE low-level operations table of hkvfs, its INIT and STATFS, and the small
 * helpers every operation file shares (errno translation, cache timeouts).
 *
 * Model. A directory is either an implicit key prefix (ROOT, PREFIX: every key under it,
 * rolled up at the delimiter by hkv_scan) or a collection key (hash, set, zset, list) whose
 * elements are its files. A string key is a regular file. A key and a prefix of the same name
 * ("a" and "a/b") cannot both be shown: the key wins, the prefix is hidden (docs).
 *
 * Each concern has its own file: handle.c (open files, write buffers and their budget,
 * open/read/write/flush/fsync/release), attr.c (getattr/setattr, inode numbers, times, link
 * counts, truncation), namei.c (lookup, the namespace operations, fsyncdir), readdir.c
 * (listing and prefetch), xattr.c, elem.c (collection elements as file content), inval.c
 * (kernel cache invalidation), ctldir.c (the .hkv/ files' text), eligible.c (hot-path
 * eligibility).
 *
 * State travels explicitly, as in libfuse's passthrough_ll.c: the session's userdata is the
 * daemon's struct hkvfs, every operation takes it from fuse_req_userdata(req) and passes it
 * (fs) to the helpers it calls; only the entries from outside FUSE (main.c, the control
 * socket, the promoter's eligibility filter, the invalidation thread) start from the one
 * instance. A request's own state (identity copies) lives on the serving thread's stack.
 */
#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "ops_int.h"

int hkvfs_fserr(int rc)
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

void hkvfs_reply_err(fuse_req_t req, int rc)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	if (rc < 0)
		rc = -rc;
	if (rc && rc != ENOENT && rc != ENODATA)
		CNT(errors);
	fuse_reply_err(req, rc);
}

bool hkvfs_caching(struct hkvfs *fs)
{
	return fs->opts.cache != HKVFS_CACHE_OFF;
}

double hkvfs_timeout_for(struct hkvfs *fs, int64_t expire_at)
{
	double t = hkvfs_caching(fs) ? fs->opts.timeout : 0;
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

void hkvfs_ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

const struct fuse_ctx *hkvfs_ctx(fuse_req_t req)
{
	return fuse_req_ctx(req);
}
/* ---------------------------------------------------------------------------------------- */

static void hkvfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkv_stats s = { 0 };
	struct statvfs sv, host;

	(void)ino;
	hkvfs_be_stats_get(fs->be, &s);
	memset(&sv, 0, sizeof(sv));
	if (statvfs(fs->source, &host) == 0) {
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
	 * Atomic O_TRUNC: OPEN carries O_TRUNC and the handle's new content starts empty, so a
	 * size-0 SETATTR without a handle is always truncate(2) (handle.c).
	 */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	else
		HLOG_WARN("the kernel lacks atomic O_TRUNC: "
			  "open(O_TRUNC) empties the file at once");
	/* the kernel clears SUID/SGID on chown and truncate; writes do it in handle.c */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~FUSE_CAP_READDIRPLUS;
}

/*
 * One deadline per request (backend.h, "Requests and deadlines"): each operation that may
 * reach the store runs between hkvfs_be_request_begin() and hkvfs_be_request_end() on its
 * worker thread; the table below points at these wrappers. INIT and FORGET never reach it.
 */
#define REQUEST(op, params, args)                                                   \
	static void req_##op params                                                 \
	{                                                                           \
		struct hkvfs_be *be = ((struct hkvfs *)fuse_req_userdata(req))->be; \
                                                                                    \
		hkvfs_be_request_begin(be);                                         \
		hkvfs_op_##op args;                                                 \
		hkvfs_be_request_end(be);                                           \
	}

REQUEST(lookup, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
REQUEST(getattr, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(setattr, (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	struct fuse_file_info *fi), (req, ino, attr, to_set, fi))
REQUEST(mknod, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev),
	(req, parent, name, mode, rdev))
REQUEST(mkdir, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode),
	(req, parent, name, mode))
REQUEST(unlink, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
REQUEST(rmdir, (fuse_req_t req, fuse_ino_t parent, const char *name), (req, parent, name))
REQUEST(rename, (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	const char *newname, unsigned int flags), (req, parent, name, newparent, newname, flags))
REQUEST(open, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(read, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi),
	(req, ino, size, off, fi))
REQUEST(write, (fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
	struct fuse_file_info *fi), (req, ino, data, size, off, fi))
REQUEST(flush, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(release, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(fsync, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	(req, ino, datasync, fi))
REQUEST(fsyncdir, (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi),
	(req, ino, datasync, fi))
REQUEST(opendir, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(readdir, (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	struct fuse_file_info *fi), (req, ino, size, off, fi))
REQUEST(releasedir, (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi), (req, ino, fi))
REQUEST(statfs, (fuse_req_t req, fuse_ino_t ino), (req, ino))
REQUEST(setxattr, (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
	int flags), (req, ino, name, value, size, flags))
REQUEST(getxattr, (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size),
	(req, ino, name, size))
REQUEST(listxattr, (fuse_req_t req, fuse_ino_t ino, size_t size), (req, ino, size))
REQUEST(removexattr, (fuse_req_t req, fuse_ino_t ino, const char *name), (req, ino, name))
REQUEST(create, (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	struct fuse_file_info *fi), (req, parent, name, mode, fi))

const struct fuse_lowlevel_ops hkvfs_ops = {
	.init = op_init,
	.lookup = req_lookup,
	.forget = hkvfs_op_forget,
	.forget_multi = hkvfs_op_forget_multi,
	.getattr = req_getattr,
	.setattr = req_setattr,
	.mknod = req_mknod,
	.mkdir = req_mkdir,
	.unlink = req_unlink,
	.rmdir = req_rmdir,
	.rename = req_rename,
	.open = req_open,
	.read = req_read,
	.write = req_write,
	.flush = req_flush,
	.release = req_release,
	.fsync = req_fsync,
	.fsyncdir = req_fsyncdir,
	.opendir = req_opendir,
	.readdir = req_readdir,
	.releasedir = req_releasedir,
	.statfs = req_statfs,
	.setxattr = req_setxattr,
	.getxattr = req_getxattr,
	.listxattr = req_listxattr,
	.removexattr = req_removexattr,
	.create = req_create,
};
