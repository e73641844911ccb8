/* SPDX-License-Identifier: MIT */
/*
 * ops_int.h - what the files implementing the FUSE operations (ops.c, handle.c, attr.c,
 * namei.c, readdir.c, xattr.c, elem.c, inval.c, ctldir.c, eligible.c) share: the open file
 * handle, the operation entry points the table in ops.c lists, and helpers. Private to fs/.
 */
#ifndef HKVFS_OPS_INT_H
#define HKVFS_OPS_INT_H

#include <sys/stat.h>
#include <time.h>

#include "hkvfs_int.h"

#define CNT(f) atomic_fetch_add_explicit(&fs->cnt.f, 1, memory_order_relaxed)
#define CNTN(f, n) atomic_fetch_add_explicit(&fs->cnt.f, (n), memory_order_relaxed)
/* a read-only open snapshots values up to this size; larger ones are read in place */
#define SNAPSHOT_MAX (64u << 20)

/* the engine name of the reserved extended attribute that holds a key's atime (attr.c);
 * user.hkv.* is hkvfs's own namespace, so no user attribute can reach it */
#define HKVFS_XA_ATIME "hkv.atime"

/* a collection directory's mode: x wherever it has r (as mkdir under a umask would make it),
 * also for collections created outside the mount (hkvctl hset) with a file's mode */
static inline unsigned hkvfs_coll_mode(unsigned mode)
{
	return (mode & 07777) | ((mode & 0444) >> 2);
}

/*
 * Handles and their numbers (htab.c). An open file (struct hkvfs_fh) and an open directory
 * (readdir.c) start with a struct hkvfs_href; the kernel's fi->fh is the number the table
 * gave it, never its address.
 */
/**
 * struct hkvfs_href - the reference count of a handle.
 * @refs: the table's reference while the handle is in the table, plus one per request using
 *        it; the last hkvfs_href_put() calls @free.
 * @free: frees the handle that embeds this.
 */
struct hkvfs_href {
	atomic_uint refs;
	void (*free)(struct hkvfs_href *h);
};

/**
 * hkvfs_htab_add() - enter handle @h in the table: the caller's reference (@h->refs is 1)
 * becomes the table's.
 * Return: 0 and its number in *@num (never 0); -ENOMEM.
 */
int hkvfs_htab_add(struct hkvfs_href *h, uint64_t *num);
/**
 * hkvfs_htab_get() - the handle numbered @num with a new reference for the caller.
 * Return: the handle; NULL if no handle has that number (released, or never issued).
 */
struct hkvfs_href *hkvfs_htab_get(uint64_t num);
/**
 * hkvfs_htab_remove() - take the handle numbered @num out of the table: later lookups fail.
 * Return: the handle with the table's reference, now the caller's to drop; NULL if none.
 */
struct hkvfs_href *hkvfs_htab_remove(uint64_t num);
/** hkvfs_href_put() - drop a reference to @h (NULL: nothing); the last one frees it. */
void hkvfs_href_put(struct hkvfs_href *h);

/* lock owners (file tables) a handle remembers as writers before it commits at every FLUSH */
#define HKVFS_FH_OWNERS 4

/**
 * struct hkvfs_fh - an open file (the kernel's fi->fh). @lock protects the fields below it;
 * the handle list (hkvfs_fh_lock) links every handle so a shutdown can commit what is still
 * buffered and an unlink can find the handles of the name it removes.
 * @write:    opened for writing: @buf is the whole new content (append-only handles: only
 *            the bytes to append), committed at a FLUSH by a file table that wrote, at FSYNC
 *            and at RELEASE.
 * @dirty:    @buf differs from the committed value.
 * @loaded:   @buf holds the committed value (or its replacement, after O_TRUNC).
 * @released: RELEASE has committed and taken the handle out of the table; a request still
 *            holding a reference answers EBADF.
 * @orphan:   the name was removed (unlink, rename over it) while open: nothing is committed
 *            any more and fstat answers from @st.
 * @owners:   lock owners of the WRITEs so far (@nowners of them; @many_owners when more wrote
 *            than fit: then every FLUSH commits).
 * @wtids:    the threads that wrote (@nwtids of them): a stat from one of them is the
 *            writer's own fstat (GETATTR carries no handle) and shows the buffered size.
 * @privs:    the first write checked the SUID/SGID bits.
 * @charged:  bytes of @cap counted in the mount's write-buffer budget (hkvfs_wbuf_used).
 * @st:       the attributes at open (fstat of an orphan).
 * @buf:      the snapshot (read-only handles) or the new content (writable handles).
 */
struct hkvfs_fh {
	struct hkvfs_href ref; /* first: hkvfs_fh_of() */
	struct hkvfs_fh *next, *prev;
	struct hkvfs_inode *in;
	pthread_mutex_t lock;
	bool write, append_only, dirty, loaded, orphan, many_owners, privs, released;
	bool counted; /* counted in the open writable handles (handle.c) */
	unsigned nowners;
	uint64_t owners[HKVFS_FH_OWNERS];
	unsigned nwtids;
	pid_t wtids[HKVFS_FH_OWNERS];
	char *buf;
	size_t len, cap, charged;
	struct hkv_create_attr ca;
	struct stat st;
};

extern pthread_mutex_t hkvfs_fh_lock;
extern struct hkvfs_fh hkvfs_fh_list;

/* ops.c */
bool hkvfs_caching(struct hkvfs *fs);
const struct fuse_ctx *hkvfs_ctx(fuse_req_t req);
double hkvfs_timeout_for(struct hkvfs *fs, int64_t expire_at);
int hkvfs_fserr(int rc);
void hkvfs_ns_to_ts(int64_t ns, struct timespec *ts);
void hkvfs_reply_err(fuse_req_t req, int rc);

/* handle.c */
int hkvfs_fh_load(struct hkvfs *fs, struct hkvfs_fh *fh, const struct hkvfs_ident *id);
int hkvfs_fh_resize(struct hkvfs *fs, struct hkvfs_fh *fh, size_t size);
int hkvfs_key_type(struct hkvfs *fs, const struct hkvfs_ident *id);
struct hkvfs_fh *hkvfs_fh_new(struct hkvfs_inode *in, fuse_req_t req, mode_t mode);
/**
 * hkvfs_fh_publish() - enter a new handle in the handle table (its creator's reference
 * becomes the table's) and the list, and set @fi for the reply.
 * Return: 0; -ENOMEM (the handle is still the caller's to drop).
 */
int hkvfs_fh_publish(struct hkvfs_fh *fh, struct fuse_file_info *fi);
/**
 * hkvfs_fh_reply_failed() - the open/create reply did not reach the kernel: take the handle
 * numbered @fi->fh out of the table and the list, and drop the table's reference.
 */
void hkvfs_fh_reply_failed(const struct fuse_file_info *fi);
/**
 * hkvfs_fh_get() - the handle of a request with a reference for it (drop it with
 * hkvfs_fh_put() after the reply). Return: 0 and *@out (NULL when @fi carries no handle, as
 * in cache=noopen); -EBADF, with a log line, when @fi->fh names no open handle.
 */
int hkvfs_fh_get(const struct fuse_file_info *fi, struct hkvfs_fh **out);
/** hkvfs_fh_put() - drop a reference to @fh (NULL: nothing); the last one frees it. */
void hkvfs_fh_put(struct hkvfs_fh *fh);
/**
 * hkvfs_fh_orphan() - the name of node @ino was removed: its open handles commit nothing any
 * more (a removed name never comes back at a close) and answer fstat from their own state.
 */
void hkvfs_fh_orphan(fuse_ino_t ino);
/**
 * hkvfs_fh_getattr() - what stat of node @in shows to thread @caller when a handle decides
 * it: the buffered size of a handle @caller wrote through (the writer sees what it wrote; the
 * kernel's fstat sends GETATTR without the handle), or, when the name is gone (@gone), the
 * state of an open orphan (nlink 0). Return: true if @st was filled from a handle.
 */
bool hkvfs_fh_getattr(struct hkvfs_inode *in, pid_t caller, bool gone, struct stat *st);
void hkvfs_fh_link_locked(struct hkvfs_fh *fh);
void hkvfs_fh_unlink_locked(struct hkvfs_fh *fh);
void hkvfs_inval_now(struct hkvfs *fs, fuse_ino_t ino);
/**
 * hkvfs_inval_handed() - with @n, what hkvfs_itab_commit_end() on @in returned: if watch
 * events were handed to the caller, drop on the caller's thread what the invalidation thread
 * would have dropped for them (inval.c, "Changes a request invalidates itself"). Call it
 * before replying, holding no lock a request in flight could wait for besides the handle's.
 */
void hkvfs_inval_handed(struct hkvfs *fs, struct hkvfs_inode *in, unsigned n);
/**
 * hkvfs_inval_created() - hkvfs_inval_handed() for the window a CREATE opened on its
 * directory @in, where @own of the @n events handed are the caller's writes of new string
 * keys named in @in. Those change nothing the kernel caches for @in (a file adds no link, and
 * a directory's times that do change are written to its marker, another event), so the
 * directory's attributes are dropped only if something else was handed too.
 */
void hkvfs_inval_created(struct hkvfs *fs, struct hkvfs_inode *in, unsigned n, unsigned own);
void hkvfs_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hkvfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void hkvfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hkvfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void hkvfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hkvfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
		struct fuse_file_info *fi);

/* attr.c */
int hkvfs_attr_key(struct hkvfs *fs, const struct hkvfs_ident *id, unsigned char *out,
		   size_t *olen);
int hkvfs_fill_attr(struct hkvfs *fs, const struct hkvfs_ident *id, fuse_ino_t ino, struct stat *st,
		    double *tmo);
void hkvfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hkvfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		struct fuse_file_info *fi);
/*
 * hkvfs_nlink_event() - a committed mutation of @key (@version 0: deleted) for the cached
 * directory link counts; called from the engine watch callback (no engine calls).
 */
void hkvfs_nlink_event(struct hkvfs *fs, const void *key, size_t klen, uint64_t version);
/*
 * hkvfs_nlink_keeps() - does the link count of @key's directory stay what the kernel was told
 * after @key was written (not deleted)? True only when the count is cached, @key is not a
 * collection now and was not one when the directory was counted. Engine calls: not from the
 * watch callback.
 */
bool hkvfs_nlink_keeps(struct hkvfs *fs, const void *key, size_t klen);

/* namei.c */
bool hkvfs_is_marker(const unsigned char *c, size_t len);
int hkvfs_prefix_has_keys(struct hkvfs *fs, const void *p, size_t plen, bool skip_marker);
size_t hkvfs_last_comp_start(struct hkvfs *fs, const unsigned char *key, size_t klen);
size_t hkvfs_marker_key(const unsigned char *p, size_t plen, unsigned char *out);
void hkvfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		struct fuse_file_info *fi);
void hkvfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void hkvfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void hkvfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void hkvfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		       struct fuse_file_info *fi);
void hkvfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void hkvfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		dev_t rdev);
void hkvfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		const char *newname, unsigned int flags);
void hkvfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void hkvfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);

/* readdir.c */
void hkvfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void hkvfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void hkvfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* xattr.c */
void hkvfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void hkvfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void hkvfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void hkvfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		size_t size, int flags);

/* elem.c */
bool hkvfs_list_push_name(const struct hkvfs_ident *id, bool *tail);
int hkvfs_elem_get(struct hkvfs *fs, const struct hkvfs_ident *id, enum hkv_type type,
		   struct hkv_buf *out);
int hkvfs_elem_put(struct hkvfs_be *be, const struct hkvfs_ident *id, enum hkv_type type,
		   const void *data, size_t len, const struct hkv_create_attr *ca);
int hkvfs_index_parse(const unsigned char *s, size_t len, int64_t *out);
/**
 * hkvfs_stream_id_parse() - the entry record key ('E' + ms + seq, big-endian) of a stream
 * entry's file name "MS-SEQ" (decimal, no sign, no leading zero). Return: 0, -ENOENT.
 */
int hkvfs_stream_id_parse(const unsigned char *s, size_t n, unsigned char rk[17]);

/* inval.c */
void hkvfs_inval_children(struct hkvfs *fs, const unsigned char *key, size_t klen);

#endif /* HKVFS_OPS_INT_H */
