// SPDX-License-Identifier: MIT
/*
 * inval_test.c - the watch callback and the invalidation thread (fs/inval.c) with the real
 * inode table (fs/inode.c) and no FUSE session: the kernel notifications are recorded by
 * wrapping fuse_lowlevel_notify_inval_inode/_entry (-Wl,--wrap), and the other parts of the
 * daemon inval.c calls (hot-cache promoter, RESP server, link counts, path helpers) are
 * replaced by recorders below.
 *
 * Checked: "everything may be stale" (a NULL key, backend.h) reaches the promoter as a
 * whole-namespace invalidation and the link-count cache as a NULL key, is not forwarded to
 * the RESP server, and makes the invalidation thread drop the attributes of the root and of
 * every live inode and the entry of every known name (keys under their directory, prefixes
 * under theirs, elements under their collection); an inode already forgotten is not touched.
 * A change of one key still invalidates that key only; one whose event cannot be allocated
 * (malloc wrapped to fail once) is counted as an invalidation error and handled as
 * "everything may be stale", which hkvfs_inval_wait() still waits for.
 *
 * Commit windows (inode.c): a write event of a key whose inode has a window open, and one of a
 * key without an inode in a directory with a window open, are handed to the window's request
 * (hkvfs_itab_commit_end() counts them, the thread sends nothing for them), another client's
 * write landing in the window too; hkvfs_inval_handed() then sends what the thread would have;
 * a deletion, a write outside any window and a write of another known key still go to the
 * thread. hkvfs_inval_wait() (the RESP socket's wait) returns only after the handed events
 * were invalidated: the waiter is known to be waiting (pthread_cond_wait wrapped) before the
 * request invalidates.
 *
 * Usage: inval_test   (exit 0, or 1 with a message per failed check)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

#include "testcheck.h"

struct hkvfs hkvfs_g;

/* ---------------------------------------------------------------------------------------- */
/* recorders                                                                                */

#define MAXREC 64
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static fuse_ino_t inode_calls[MAXREC];
static int ninode;
static struct {
	fuse_ino_t parent;
	char name[64];
} entry_calls[MAXREC];
static int nentry;
static int prom_all, prom_key, resp_calls, nlink_all, nlink_key;
static _Atomic bool fail_next_malloc;
/* the thread that waits in hkvfs_inval_wait(), and whether it reached pthread_cond_wait */
static pthread_t waiter;
static _Atomic bool waiter_set, waiter_waiting;

int __real_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (atomic_load(&waiter_set) && pthread_equal(pthread_self(), waiter))
		atomic_store(&waiter_waiting, true);
	return __real_pthread_cond_wait(c, m);
}

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
	if (atomic_exchange(&fail_next_malloc, false))
		return NULL;
	return __real_malloc(size);
}

int __wrap_fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
					    off_t len);
int __wrap_fuse_lowlevel_notify_inval_inode(struct fuse_session *se, fuse_ino_t ino, off_t off,
					    off_t len)
{
	(void)se;
	(void)off;
	(void)len;
	pthread_mutex_lock(&rec_lock);
	if (ninode < MAXREC)
		inode_calls[ninode++] = ino;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

int __wrap_fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent,
					    const char *name, size_t namelen);
int __wrap_fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent,
					    const char *name, size_t namelen)
{
	(void)se;
	pthread_mutex_lock(&rec_lock);
	if (nentry < MAXREC && namelen < 64) {
		entry_calls[nentry].parent = parent;
		memcpy(entry_calls[nentry].name, name, namelen);
		entry_calls[nentry].name[namelen] = 0;
		nentry++;
	}
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static void rec_reset(void)
{
	pthread_mutex_lock(&rec_lock);
	ninode = nentry = 0;
	prom_all = prom_key = resp_calls = nlink_all = nlink_key = 0;
	pthread_mutex_unlock(&rec_lock);
}

static int inode_count(fuse_ino_t ino)
{
	int i, n = 0;

	for (i = 0; i < ninode; i++)
		n += inode_calls[i] == ino;
	return n;
}

static int entry_count(fuse_ino_t parent, const char *name)
{
	int i, n = 0;

	for (i = 0; i < nentry; i++)
		n += entry_calls[i].parent == parent && !strcmp(entry_calls[i].name, name);
	return n;
}

void hkvfs_promoter_invalidate_version(struct hkvfs_promoter *p, const void *key, size_t klen,
				       uint64_t version)
{
	(void)p;
	(void)key;
	(void)version;
	if (klen)
		prom_key++;
	else
		prom_all++;
}

void hkvfs_resp_watch(const void *key, size_t klen, uint64_t version)
{
	(void)key;
	(void)klen;
	(void)version;
	resp_calls++;
}

void hkvfs_nlink_event(struct hkvfs *fs, const void *key, size_t klen, uint64_t version)
{
	(void)fs;
	(void)klen;
	(void)version;
	if (key)
		nlink_key++;
	else
		nlink_all++;
}

bool hkvfs_nlink_keeps(struct hkvfs *fs, const void *key, size_t klen)
{
	(void)fs;
	(void)key;
	(void)klen;
	return false;
}

/* the daemon's helpers, for delimiter '/' */
bool hkvfs_caching(struct hkvfs *fs)
{
	(void)fs;
	return true;
}

void hkvfs_inval_now(struct hkvfs *fs, fuse_ino_t ino)
{
	(void)fs;
	__wrap_fuse_lowlevel_notify_inval_inode(NULL, ino, 0, 0);
}

bool hkvfs_is_marker(const unsigned char *c, size_t len)
{
	return len == HKVFS_MARKER_LEN && !memcmp(c, HKVFS_MARKER, len);
}

int hkvfs_prefix_has_keys(struct hkvfs *fs, const void *p, size_t plen, bool skip_marker)
{
	(void)fs;
	(void)p;
	(void)plen;
	(void)skip_marker;
	return 1;
}

size_t hkvfs_last_comp_start(struct hkvfs *fs, const unsigned char *key, size_t klen)
{
	size_t i;

	(void)fs;
	for (i = klen; i > 0; i--)
		if (key[i - 1] == '/')
			return i;
	return 0;
}

void hkvfs_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* ---------------------------------------------------------------------------------------- */

static struct hkvfs_inode *ref(enum hkvfs_kind kind, const char *key, const char *elem)
{
	struct hkvfs_ident id;
	struct hkvfs_inode *in = NULL;

	memset(&id, 0, sizeof(id));
	id.kind = kind;
	id.klen = strlen(key);
	memcpy(id.key, key, id.klen);
	if (elem) {
		id.elen = strlen(elem);
		memcpy(id.elem, elem, id.elen);
	}
	CHECK(hkvfs_itab_ref(&id, &in) == 0);
	return in;
}

static _Atomic int waiter_saw_key;
static _Atomic bool waiter_done;

static void *wait_main(void *arg)
{
	fuse_ino_t ikey = *(fuse_ino_t *)arg;

	waiter = pthread_self();
	atomic_store(&waiter_set, true);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	atomic_store(&waiter_saw_key, inode_count(ikey));
	pthread_mutex_unlock(&rec_lock);
	atomic_store(&waiter_done, true);
	return NULL;
}

static void commit_windows(struct hkvfs_inode *dir, struct hkvfs_inode *key, fuse_ino_t idir,
			   fuse_ino_t ikey, fuse_ino_t icoll)
{
	pthread_t t;
	unsigned n;

	/* the commit of a/k's handle, and another client's write of a/k landing meanwhile */
	rec_reset();
	hkvfs_itab_commit_begin(key);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 50);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 51);
	hkvfs_watch(&hkvfs_g, "h", 1, 52); /* a known key without a window: the thread's */
	n = hkvfs_itab_commit_end(key);
	CHECK(n == 2);
	hkvfs_inval_handed(&hkvfs_g, key, n);
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(ikey) == 1);
	CHECK(inode_count(idir) >= 1); /* its link count may have changed (the stub says so) */
	pthread_mutex_unlock(&rec_lock);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(icoll) == 1);
	CHECK(inode_count(ikey) == 1); /* handed: the thread sent nothing more for a/k */
	CHECK(entry_count(idir, "k") == 0 && entry_count(icoll, "f1") == 1 && nentry == 1);
	pthread_mutex_unlock(&rec_lock);

	/* a deletion in the window and a write after it: the thread's */
	rec_reset();
	hkvfs_itab_commit_begin(key);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 0);
	CHECK(hkvfs_itab_commit_end(key) == 0);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 53);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(ikey) == 2);
	CHECK(entry_count(idir, "k") == 1);
	pthread_mutex_unlock(&rec_lock);

	/* a CREATE in a/: the new key (no inode) and the directory's marker are handed */
	rec_reset();
	hkvfs_itab_commit_begin(dir);
	hkvfs_watch(&hkvfs_g, "a/new", 5, 54);
	hkvfs_watch(&hkvfs_g, "a/" HKVFS_MARKER, 2 + HKVFS_MARKER_LEN, 55);
	hkvfs_watch(&hkvfs_g, "b/new", 5, 56); /* another directory: the thread's */
	n = hkvfs_itab_commit_end(dir);
	CHECK(n == 2);
	hkvfs_inval_handed(&hkvfs_g, dir, n);
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(idir) == 1);
	pthread_mutex_unlock(&rec_lock);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(FUSE_ROOT_ID) == 1); /* b/ is unknown: its nearest known ancestor */
	CHECK(inode_count(idir) == 1);
	pthread_mutex_unlock(&rec_lock);

	/* the RESP socket's wait covers a handed event until the request invalidated it */
	rec_reset();
	hkvfs_itab_commit_begin(key);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 57);
	n = hkvfs_itab_commit_end(key);
	CHECK(n == 1);
	atomic_store(&waiter_waiting, false);
	if (pthread_create(&t, NULL, wait_main, &ikey)) {
		fprintf(stderr, "FAIL: cannot start the waiting thread\n");
		failures++;
		hkvfs_inval_handed(&hkvfs_g, key, n);
		return;
	}
	/* until the waiter is inside hkvfs_inval_wait() (or, wrongly, back from it) */
	while (!atomic_load(&waiter_waiting) && !atomic_load(&waiter_done))
		sched_yield();
	hkvfs_inval_handed(&hkvfs_g, key, n);
	pthread_join(t, NULL);
	atomic_store(&waiter_set, false);
	CHECK(atomic_load(&waiter_saw_key) == 1);
}

int main(void)
{
	struct hkvfs_inode *dir, *key, *coll, *el, *gone;
	fuse_ino_t idir, ikey, icoll, iel, igone;

	hkvfs_g.opts.delim = '/';
	hkvfs_g.opts.cache = HKVFS_CACHE_ON;
	if (hkvfs_itab_init() || hkvfs_inval_start()) {
		fprintf(stderr, "FAIL: cannot start the inode table or the invalidation thread\n");
		return 1;
	}
	dir = ref(HKVFS_PREFIX, "a/", NULL);
	key = ref(HKVFS_KEY, "a/k", NULL);
	coll = ref(HKVFS_KEY, "h", NULL);
	el = ref(HKVFS_ELEM, "h", "f1");
	gone = ref(HKVFS_KEY, "a/gone", NULL);
	idir = hkvfs_ino_id(dir);
	ikey = hkvfs_ino_id(key);
	icoll = hkvfs_ino_id(coll);
	iel = hkvfs_ino_id(el);
	igone = hkvfs_ino_id(gone);
	hkvfs_itab_forget(gone, 1);

	/* everything may be stale */
	rec_reset();
	hkvfs_watch(&hkvfs_g, NULL, 0, 0);
	CHECK(prom_all == 1 && prom_key == 0);
	CHECK(nlink_all == 1 && nlink_key == 0);
	CHECK(resp_calls == 0);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(FUSE_ROOT_ID) == 1);
	CHECK(inode_count(idir) == 1);
	CHECK(inode_count(ikey) == 1);
	CHECK(inode_count(icoll) == 1);
	CHECK(inode_count(iel) == 1);
	CHECK(inode_count(igone) == 0);
	CHECK(ninode == 5);
	CHECK(entry_count(FUSE_ROOT_ID, "a") == 1);
	CHECK(entry_count(idir, "k") == 1);
	CHECK(entry_count(FUSE_ROOT_ID, "h") == 1);
	CHECK(entry_count(icoll, "f1") == 1);
	CHECK(entry_count(idir, "gone") == 0);
	CHECK(nentry == 4);
	pthread_mutex_unlock(&rec_lock);

	/* one key changed: that key only */
	rec_reset();
	hkvfs_watch(&hkvfs_g, "a/k", 3, 42);
	CHECK(prom_key == 1 && prom_all == 0);
	CHECK(nlink_key == 1 && nlink_all == 0);
	CHECK(resp_calls == 1);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(ikey) == 1);
	CHECK(inode_count(icoll) == 0);
	CHECK(inode_count(iel) == 0);
	CHECK(entry_count(idir, "k") == 0); /* a write, not a deletion: the name stays */
	pthread_mutex_unlock(&rec_lock);

	/* a change whose event cannot be allocated: everything, instead of nothing */
	rec_reset();
	atomic_store(&hkvfs_g.cnt.inval_errors, 0);
	atomic_store(&fail_next_malloc, true);
	hkvfs_watch(&hkvfs_g, "a/k", 3, 43);
	CHECK(!atomic_load(&fail_next_malloc));
	CHECK(atomic_load(&hkvfs_g.cnt.inval_errors) == 1);
	hkvfs_inval_wait();
	pthread_mutex_lock(&rec_lock);
	CHECK(inode_count(FUSE_ROOT_ID) == 1);
	CHECK(inode_count(idir) == 1);
	CHECK(inode_count(ikey) == 1);
	CHECK(inode_count(icoll) == 1);
	CHECK(inode_count(iel) == 1);
	CHECK(nentry == 4);
	pthread_mutex_unlock(&rec_lock);

	commit_windows(dir, key, idir, ikey, icoll);

	hkvfs_inval_stop();
	hkvfs_itab_forget(dir, 1);
	hkvfs_itab_forget(key, 1);
	hkvfs_itab_forget(coll, 1);
	hkvfs_itab_forget(el, 1);
	hkvfs_itab_destroy();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
