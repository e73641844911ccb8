/* SPDX-License-Identifier: MIT */
/*
 * hkvfs_int.h - private interfaces of the hkvfs daemon (fs/).
 */
#ifndef HKVFS_INT_H
#define HKVFS_INT_H

#define FUSE_USE_VERSION 312 /* 3.14's fuse_loop_cfg misbehaves with 34 (field notes) */

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "hkv/engine.h"
#include "hkv/pathmap.h"
#include "opts.h"
#include "promote.h"

/* Last component of the key that keeps an otherwise empty mkdir'd directory alive. */
#define HKVFS_MARKER ".hkv.dir"
#define HKVFS_MARKER_LEN 8

/*
 * enum hkvfs_kind - what an inode stands for.
 * ROOT and PREFIX are implicit directories (key prefixes ending in the delimiter); KEY is a key
 * (a string is a file, a collection a directory); ELEM is one element of a collection key;
 * CTLDIR/CTLFILE are the read-only .hkv/ directory and its files.
 */
enum hkvfs_kind { HKVFS_ROOT, HKVFS_PREFIX, HKVFS_KEY, HKVFS_ELEM, HKVFS_CTLDIR, HKVFS_CTLFILE };

/* List directories accept these two write-only names to push at the tail / head. */
#define HKVFS_LIST_APPEND "append"
#define HKVFS_LIST_PREPEND "prepend"

/**
 * struct hkvfs_ident - a copy of an inode's identity (hkvfs_itab_snapshot), whole: an
 * operation never sees half of a concurrent rename.
 * @key:  KEY/ELEM: the key; PREFIX: the prefix including its trailing delimiter.
 * @elem: ELEM: the element (field, member, or list index as decimal text).
 * @ctl:  CTLFILE: which file.
 */
struct hkvfs_ident {
	enum hkvfs_kind kind;
	size_t klen, elen;
	int ctl;
	unsigned char key[HKV_KEY_MAX + 1];
	unsigned char elem[HKV_KEY_MAX + 1];
};

/*
 * struct hkvfs_inode - one node the kernel knows about; its address is the FUSE node id.
 * Opaque outside inode.c, whose design comment gives its fields and their locking rules. The
 * kernel's lookup count is its reference count: it lives until FORGET brings that to 0.
 */
struct hkvfs_inode;

enum { HKVFS_CTL_STATS = 1, HKVFS_CTL_CONFIG = 2, HKVFS_CTL_HOT = 3 };

/** struct hkvfs_counters - daemon-side operation counters (relaxed atomics). */
struct hkvfs_counters {
	atomic_uint_fast64_t lookups, lookup_miss, getattrs, reads, read_bytes, writes,
		write_bytes, commits, creates, unlinks, renames, readdirs, dirents, xattrs,
		invals, inval_errors, ctl_requests, errors, fsyncdirs, flushes, opens, releases;
};

/**
 * struct hkvfs - the daemon's global state (one mount per process).
 * @be:     the store, through the storage interface (backend.h); fs/ reaches it only there.
 * @source: the mount source, canonical (hkvfs_be_source_prepare()): the absolute path of a
 *          store directory, or a "SCHEME://..." address.
 */
struct hkvfs {
	struct hkvfs_be *be;
	struct fuse_session *se;
	struct hkvfs_opts opts;
	char source[4096];
	char mountpoint[4096];
	char sock_path[4200];
	int64_t mount_time_ns;
	uint64_t ns;                    /* this mount's namespace id in the kernel cache */
	struct hkvfs_promoter *prom;    /* set before the watch is installed; NULL if off */
	struct hkvfs_counters cnt;
	atomic_bool stopping;
};

extern struct hkvfs hkvfs_g;

/* main.c */
void hkvfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define HLOG_ERR(...) hkvfs_log(0, __VA_ARGS__)
#define HLOG_WARN(...) hkvfs_log(1, __VA_ARGS__)
#define HLOG_INFO(...) hkvfs_log(2, __VA_ARGS__)
#define HLOG_DBG(...) hkvfs_log(3, __VA_ARGS__)
int64_t hkvfs_now_ns(void);

/* inode.c: the inode table. Every function may be called from any thread, FUSE worker or
 * not (each registers itself with liburcu on first use); none may be called from inside an
 * RCU read-side section or a call_rcu callback. */
extern struct hkvfs_inode hkvfs_root, hkvfs_ctldir, hkvfs_ctl_stats, hkvfs_ctl_config,
	hkvfs_ctl_hot;
/** hkvfs_itab_init() - create the table, before any other itab call. Return: 0, -ENOMEM,
 * -EAGAIN (no thread-specific key left). */
int hkvfs_itab_init(void);
/** hkvfs_itab_destroy() - free the table and every inode; no other thread may use it any
 * more. Safe after a failed or missing hkvfs_itab_init(). Return: 0, or -EBUSY (logged) if an
 * entry was left in a table after they were emptied (a broken invariant; tests check it). */
int hkvfs_itab_destroy(void);
/**
 * hkvfs_itab_size() - how many identities the table holds and how many buckets it has now
 * (the writers keep at most two entries per bucket on average; see inode.c). Any thread.
 */
void hkvfs_itab_size(unsigned long *entries, unsigned long *buckets);
/** hkvfs_ino() - the inode of node id @ino; the kernel's reference keeps it alive. */
struct hkvfs_inode *hkvfs_ino(fuse_ino_t ino);
fuse_ino_t hkvfs_ino_id(const struct hkvfs_inode *in);
/**
 * hkvfs_itab_ref() - find or create the inode of identity @id and add one lookup reference
 * (the reply to a LOOKUP/CREATE/MKDIR passes it to the kernel, or hkvfs_itab_forget() drops
 * it). Lock-free when the inode exists; creation takes the writer lock.
 * @out: the inode; valid until the kernel forgets it.
 * Return: 0, -ENOMEM.
 */
int hkvfs_itab_ref(const struct hkvfs_ident *id, struct hkvfs_inode **out);
/** hkvfs_itab_forget() - drop @n lookup references (FORGET); the last one unhashes the inode
 * and frees it after a grace period. Lock-free unless this is the last one. */
void hkvfs_itab_forget(struct hkvfs_inode *in, uint64_t n);
/** hkvfs_itab_snapshot() - copy @in's current identity into @id (lock-free, never torn). */
void hkvfs_itab_snapshot(struct hkvfs_inode *in, struct hkvfs_ident *id);
/**
 * hkvfs_itab_find() - the node id of the live inode with this identity, 0 if none. Lock-free.
 * No reference is taken: use the id for kernel notifications only (a stale id is harmless
 * there), never to reach the inode.
 */
fuse_ino_t hkvfs_itab_find(enum hkvfs_kind kind, const void *key, size_t klen, const void *elem,
			   size_t elen);
/**
 * hkvfs_itab_rekey() - give @in (which the caller's request keeps alive) the identity
 * (@kind, @key) and move its element inodes along; an inode that had that identity becomes
 * stale (unhashed until its FORGET). Return: 0, -ENOMEM (the inode is left stale: it keeps
 * its old identity, out of the table).
 */
int hkvfs_itab_rekey(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
		     size_t klen);
/**
 * hkvfs_itab_move() - as hkvfs_itab_rekey() for the live inode of (@kind, @from), if any (a
 * key renamed by the engine). Return: 0, -ENOMEM.
 */
int hkvfs_itab_move(enum hkvfs_kind kind, const void *from, size_t flen, const void *to,
		    size_t tlen);
/**
 * hkvfs_itab_rename_prefix() - re-key every inode whose key starts with @from to start with
 * @to instead (a directory rename). Each inode changes identity atomically, one after the
 * other. Return: 0, -ENOMEM or -ENAMETOOLONG (those inodes are left stale).
 */
int hkvfs_itab_rename_prefix(const void *from, size_t flen, const void *to, size_t tlen);
/**
 * hkvfs_ns_read_lock() - hold the namespace lock shared (inode.c, "The namespace lock"): from
 * the snapshot of a parent's identity until the inode the operation makes is referenced. Not
 * recursive; the holder takes no handle lock and sends the kernel no notification.
 */
void hkvfs_ns_read_lock(void);
/** hkvfs_ns_read_unlock() - release what hkvfs_ns_read_lock() took. */
void hkvfs_ns_read_unlock(void);
/**
 * hkvfs_ns_write_lock() - hold the namespace lock exclusive: a rename or a retype, from its
 * snapshots until its inodes are re-keyed. The sequence count is odd meanwhile.
 */
void hkvfs_ns_write_lock(void);
/** hkvfs_ns_write_unlock() - release what hkvfs_ns_write_lock() took. */
void hkvfs_ns_write_unlock(void);
/** hkvfs_ns_seq() - the namespace sequence count, before a snapshot taken without the lock. */
unsigned long hkvfs_ns_seq(void);
/**
 * hkvfs_ns_moved() - did a rename or retype run since hkvfs_ns_seq() returned @seq (or was
 * one running then)? An ENOENT found from a snapshot taken then may be the rename's; retry.
 */
bool hkvfs_ns_moved(unsigned long seq);
/**
 * hkvfs_ns_retry() - after an ENOENT from a snapshot taken when the count was *@seq: if a
 * rename or retype ran meanwhile, wait for it to end, refresh *@seq and return true (take a
 * new snapshot and try again); false when none did, or after 100 tries (*@tries counts them).
 */
bool hkvfs_ns_retry(unsigned long *seq, int *tries);
/**
 * hkvfs_itab_current() - does @in still hold its identity in the table (not renamed over,
 * retyped away or forgotten)? Lock-free; stable under the namespace lock.
 */
bool hkvfs_itab_current(struct hkvfs_inode *in);
/**
 * hkvfs_itab_commit_begin() - open a commit window on @in: the caller is about to commit a
 * change and will invalidate what the kernel caches of @in after it (inode.c, "Commit
 * windows"). Every begin is paired with one hkvfs_itab_commit_end().
 */
void hkvfs_itab_commit_begin(struct hkvfs_inode *in);
/**
 * hkvfs_itab_commit_end() - close the window. Return: how many watch events were handed to the
 * caller meanwhile (hkvfs_itab_claim()); if any, it must now invalidate for them
 * (hkvfs_inval_handed()).
 */
unsigned hkvfs_itab_commit_end(struct hkvfs_inode *in);
enum { HKVFS_CLAIM_NONE, HKVFS_CLAIM_KNOWN, HKVFS_CLAIM_TAKEN };
/**
 * hkvfs_itab_claim() - hand a watch event to the request committing on the live inode
 * (@kind, @key) (HKVFS_ROOT: the root), if one has a window open on it; with @leaf only if
 * the inode has no live element inodes. Lock-free; calls neither the engine nor the kernel.
 * Return: HKVFS_CLAIM_TAKEN (the request invalidates for it), HKVFS_CLAIM_KNOWN (the kernel
 * knows the inode and no request took the event), HKVFS_CLAIM_NONE (no live inode).
 */
int hkvfs_itab_claim(enum hkvfs_kind kind, const void *key, size_t klen, bool leaf);
/**
 * hkvfs_itab_children() - call @cb for each live ELEM inode of @key, inside an RCU read-side
 * section: @cb must not block and must only copy what it needs (@elem is borrowed for the
 * call).
 */
void hkvfs_itab_children(const void *key, size_t klen,
			 void (*cb)(void *arg, fuse_ino_t ino, const unsigned char *elem,
				    size_t elen),
			 void *arg);

/**
 * hkvfs_itab_each() - call @cb for each live hashed inode (KEY, PREFIX and ELEM; not the static
 * ones), inside an RCU read-side section: @cb must not block and must only copy what it needs
 * (@key and @elem are borrowed for the call). An inode created or re-keyed during the walk
 * may be missed; "everything may be stale" (inval.c) relies only on the ones that existed
 * before it started.
 */
void hkvfs_itab_each(void (*cb)(void *arg, fuse_ino_t ino, enum hkvfs_kind kind,
				const unsigned char *key, size_t klen, const unsigned char *elem,
				size_t elen),
		     void *arg);

/* ops.c (the table; the operations live in the files ops_int.h lists), inval.c, handle.c */
extern const struct fuse_lowlevel_ops hkvfs_ops;
int hkvfs_inval_start(void);
void hkvfs_inval_stop(void);
/**
 * hkvfs_inval_wait() - wait until every kernel notification for the mutations committed so
 * far (queued by hkvfs_watch()) has been sent. The RESP server calls it before it replies to
 * writes, so a reader that starts after hkvctl or a client got its reply never sees the old
 * value through a kernel cache. Must not be called from a FUSE worker thread (a notification
 * may wait for a request it serves).
 */
void hkvfs_inval_wait(void);
/**
 * hkvfs_watch() - the backend's watch callback (hkvfs_be_set_watch()); @arg: the struct hkvfs.
 * A NULL @key means "everything may be stale" (inval.c).
 */
void hkvfs_watch(void *arg, const void *key, size_t klen, uint64_t version);
void hkvfs_flush_all(void);
size_t hkvfs_stats_format(char *buf, size_t sz);
/* ctldir.c */
/**
 * hkvfs_ctl_text() - the current content of control file @ctl (HKVFS_CTL_*).
 * @out: receives a malloc()ed buffer (caller frees), NUL-terminated.
 * Return: its length, or -ENOMEM.
 */
ssize_t hkvfs_ctl_text(int ctl, char **out);
/* eligible.c */
/**
 * hkvfs_hot_eligible() - promotion filter: may @key be served from the kernel cache? No when
 * its path would not resolve to it (a proper prefix is a key, a component has no file name,
 * it is a directory marker) or a directory on its path is not searchable by everyone.
 * Called by the promotion thread.
 */
bool hkvfs_hot_eligible(void *arg, const void *key, size_t klen);

/* resp.c: the daemon's RESP listener (DATA_DIR/hkvfs.sock, and TCP with -o resp=) */
/**
 * hkvfs_resp_new() - create the server (not listening yet); over a backend without
 * HKVFS_BE_CAP_ENGINE there is none (one log line) and the other hkvfs_resp_* do nothing.
 * Return: 0, -errno (logged).
 */
int hkvfs_resp_new(void);
/** hkvfs_resp_start() - listen and start the server thread. Return: 0, -errno (logged). */
int hkvfs_resp_start(void);
/** hkvfs_resp_stop() - finish pending replies, close clients and sockets, free. */
void hkvfs_resp_stop(void);
/** hkvfs_resp_watch() - forward an engine watch event to the server (notifications, WATCH,
 * blocked clients). Any thread. */
void hkvfs_resp_watch(const void *key, size_t klen, uint64_t version);

#endif /* HKVFS_INT_H */
