// SPDX-License-Identifier: MIT
/*
 * inval.c - keeping the kernel's caches coherent with the store: the engine watch callback and
 * the invalidation thread that sends the kernel notifications.
 *
 * Coherence. The kernel caches entries and attributes for `timeout` seconds (never past a
 * key's expiry) and (noopen) file pages until told otherwise. Every mutation is followed by
 * explicit invalidation: an operation that changed a key invalidates the inode itself before
 * replying (so close() returns only after stale attributes and pages are gone), and the
 * engine's watch callback - called for every committed mutation, including hkvctl requests
 * and the expiry sweep - drops the key from the kernel hot cache at once and queues it for
 * the invalidation thread, which holds no lock while it notifies the kernel
 * (notify_inval_entry waits for the directory's lock, which a request in flight may hold);
 * the RESP socket waits for that thread before it replies.
 *
 * "Everything may be stale". A backend that may have missed changes (a network backend whose
 * invalidation connection was lost, backend.h) reports a NULL key. The watch callback then
 * clears this mount's namespace in the kernel hot cache and forgets every cached directory
 * link count at once, and queues one event for which the thread drops the kernel's cached
 * attributes and pages of every inode it knows (the root included) and the directory entry
 * of every name it knows (a directory's entry takes the cached names below it along).
 * Negative entries the kernel caches for names that did not exist are not known to the
 * daemon; they expire after the mount's timeout= like any entry. The RESP socket is not told
 * (it exists only over the local engine, which never reports this).
 *
 * Changes a request invalidates itself. The commit of an open file and a CREATE open a commit
 * window on the inode they invalidate after their engine call (inode.c, "Commit windows").
 * The watch callback hands them, instead of the thread, the write events (not deletes) whose
 * whole invalidation they then do on their own thread, after the commit and before the
 * reply: the write of a string key whose inode has a window open and no element inodes (the
 * committing request runs what inval_key() would, hkvfs_inval_handed()), and the write of a
 * key the kernel has no inode for, whose directory has a window open (the CREATE drops that
 * directory's attributes, which is all inval_key() could do for such a key, unless its own
 * new file was all it was handed: that changes nothing cached for the directory, whose times,
 * where it keeps any, are another event, its marker's; hkvfs_inval_created()). Anything else
 * wakes the thread as before, so a create and the commit of its file do not wake it. The RESP
 * socket, which waits before its reply until the kernel was told of the changes it made,
 * also waits for the requests that were handed events by then (claims_taken, claims_done).
 *
 * The same event stands in for one the daemon failed to queue: when the allocation for a
 * key's event fails, the statically allocated lost_ev ("everything may be stale") is queued
 * instead (once: lost_queued says it is in the queue), so an out-of-memory condition costs
 * the kernel its whole cache, never a stale entry, and the RESP socket still waits for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

/* ---------------------------------------------------------------------------------------- */
/* invalidation thread                                                                      */

struct inval_ev {
	struct inval_ev *next;
	uint64_t seq;
	uint64_t version;
	bool all;       /* everything may be stale: no key */
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
/* watch events handed to requests so far, and those the requests have invalidated (iq_lock) */
static uint64_t claims_taken, claims_done;
/* the event queued when allocating one failed (never freed), and whether it is queued */
static struct inval_ev lost_ev = { .all = true };
static bool lost_queued; /* iq_lock */

/* append @ev to the queue (iq_lock held) */
static void iq_push(struct inval_ev *ev)
{
	ev->next = NULL;
	ev->seq = ++iq_queued;
	*iq_tail = ev;
	iq_tail = &ev->next;
	pthread_cond_signal(&iq_cond);
}

static void ev_free(struct inval_ev *ev)
{
	if (ev != &lost_ev)
		free(ev);
}

/* a change cannot be named (no memory for its event): drop everything instead (see the top) */
static void queue_lost(struct hkvfs *fs)
{
	CNT(inval_errors);
	pthread_mutex_lock(&iq_lock);
	if (!lost_queued && !iq_stop) {
		lost_queued = true;
		iq_push(&lost_ev);
	}
	pthread_mutex_unlock(&iq_lock);
}

/*
 * Does a request in flight invalidate for this write itself (see the top)? The key's own
 * inode first: known and not claimed means the thread must drop it.
 */
static bool watch_claimed(struct hkvfs *fs, const unsigned char *key, size_t klen)
{
	int c = hkvfs_itab_claim(HKVFS_KEY, key, klen, true);
	size_t start;

	if (c != HKVFS_CLAIM_NONE)
		return c == HKVFS_CLAIM_TAKEN;
	start = hkvfs_last_comp_start(fs, key, klen);
	if (start == 0)
		return hkvfs_itab_claim(HKVFS_ROOT, NULL, 0, false) == HKVFS_CLAIM_TAKEN;
	return hkvfs_itab_claim(HKVFS_PREFIX, key, start, false) == HKVFS_CLAIM_TAKEN;
}

void hkvfs_watch(void *arg, const void *key, size_t klen, uint64_t version)
{
	struct hkvfs *fs = arg; /* main.c installs the watch with the daemon's state */
	struct inval_ev *ev;

	if (!key)
		klen = 0; /* everything may be stale (see the top) */

	/* the kernel hot cache drops the key before the write is acknowledged (docs/hot-path.md) */
	hkvfs_promoter_invalidate_version(fs->prom, key, klen, version);
	/* RESP clients: notifications, WATCH, blocked pops (resp.c) */
	if (key)
		hkvfs_resp_watch(key, klen, version);
	hkvfs_nlink_event(fs, key, klen, version);
	if (!hkvfs_caching(fs))
		return;
	if (key && klen && version != 0 && watch_claimed(fs, key, klen)) {
		pthread_mutex_lock(&iq_lock);
		claims_taken++;
		pthread_mutex_unlock(&iq_lock);
		return;
	}
	ev = malloc(sizeof(*ev) + klen);
	if (!ev) {
		queue_lost(fs);
		return;
	}
	ev->all = !key;
	ev->version = version;
	ev->klen = klen;
	if (klen)
		memcpy(ev->key, key, klen);
	pthread_mutex_lock(&iq_lock);
	iq_push(ev);
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
void hkvfs_inval_children(struct hkvfs *fs, const unsigned char *key, size_t klen)
{
	struct child_list cl = { 0 };
	size_t i;

	hkvfs_itab_children(key, klen, collect_child_cb, &cl);
	for (i = 0; i < cl.n; i++)
		hkvfs_inval_now(fs, cl.c[i].ino);
	free(cl.c);
}

static void notify_entry(struct hkvfs *fs, fuse_ino_t parent, const char *name)
{
	int rc = fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));

	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

static void notify_inode(struct hkvfs *fs, fuse_ino_t ino)
{
	int rc = fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);

	CNT(invals);
	if (rc && rc != -ENOENT)
		CNT(inval_errors);
}

/* the parent node id and file name of key or prefix [0, @len) of @key; 0 if not known */
static fuse_ino_t parent_of(struct hkvfs *fs, const unsigned char *key, size_t len, char *name)
{
	size_t start = hkvfs_last_comp_start(fs, key, len);

	if (hkv_pathmap_encode(key + start, len - start, fs->opts.delim, name) < 0)
		return 0;
	if (start == 0)
		return FUSE_ROOT_ID;
	return hkvfs_itab_find(HKVFS_PREFIX, key, start, NULL, 0);
}

/*
 * The directory of @key is not known to the kernel, so a key appearing or going there may
 * add or remove subdirectories up to the nearest directory the kernel does know: drop that
 * one's attributes (its link count) too.
 */
static void inval_known_ancestor(struct hkvfs *fs, const unsigned char *key, size_t klen)
{
	size_t plen = hkvfs_last_comp_start(fs, key, klen);
	fuse_ino_t pino;

	while (plen > 0) {
		plen = hkvfs_last_comp_start(fs, key, plen - 1);
		if (plen == 0) {
			notify_inode(fs, FUSE_ROOT_ID);
			return;
		}
		pino = hkvfs_itab_find(HKVFS_PREFIX, key, plen, NULL, 0);
		if (pino) {
			notify_inode(fs, pino);
			return;
		}
	}
}

/*
 * Drop what the kernel caches for a change of key @ev->key. @children: also the entries of its
 * element inodes (a request thread passes false: it sends no entry notification, which waits
 * for the directory's lock; hkvfs_inval_handed() queues those for the thread).
 */
static void inval_key(struct hkvfs *fs, const struct inval_ev *ev, bool children)
{
	char name[HKV_NAME_MAX + 1];
	struct child_list cl = { 0 };
	fuse_ino_t ino, parent;
	size_t i, plen, start;

	ino = hkvfs_itab_find(HKVFS_KEY, ev->key, ev->klen, NULL, 0);
	parent = parent_of(fs, ev->key, ev->klen, name);
	if (ino) {
		notify_inode(fs, ino);
		if (ev->version == 0 && parent)
			notify_entry(fs, parent, name);
		if (children)
			hkvfs_itab_children(ev->key, ev->klen, collect_child_cb, &cl);
		for (i = 0; i < cl.n; i++) {
			notify_inode(fs, cl.c[i].ino);
			notify_entry(fs, ino, cl.c[i].name);
		}
		free(cl.c);
	}
	/*
	 * The directory's cached attributes change with its link count and, in a mkdir'd
	 * directory, with its marker (which holds its mode, owner and times); listings are not
	 * cached and an implicit directory shows the mount time. Any other write that leaves the
	 * count alone spares it, so a create and the commit after it cost no notification of the
	 * directory.
	 */
	start = hkvfs_last_comp_start(fs, ev->key, ev->klen);
	if (parent && (ev->version == 0 ||
		       hkvfs_is_marker(ev->key + start, ev->klen - start) ||
		       !hkvfs_nlink_keeps(fs, ev->key, ev->klen)))
		notify_inode(fs, parent);
	else if (!parent)
		inval_known_ancestor(fs, ev->key, ev->klen);
	if (ev->version != 0)
		return;
	/* implicit directories that lost their last key disappear */
	plen = hkvfs_last_comp_start(fs, ev->key, ev->klen);
	while (plen > 0) {
		fuse_ino_t pino = hkvfs_itab_find(HKVFS_PREFIX, ev->key, plen, NULL, 0);
		fuse_ino_t pp;

		if (!pino || hkvfs_prefix_has_keys(fs, ev->key, plen, false) != 0)
			break;
		pp = parent_of(fs, ev->key, plen - 1, name);
		if (pp)
			notify_entry(fs, pp, name);
		notify_inode(fs, pino);
		plen = hkvfs_last_comp_start(fs, ev->key, plen - 1);
	}
}

/* one inode inval_all() notifies: its node id and what names it (copied from the table) */
struct known {
	fuse_ino_t ino;
	enum hkvfs_kind kind;
	size_t klen, elen;
	unsigned char *key; /* key bytes, then the element's */
};

struct known_list {
	size_t n, cap;
	bool oom;
	struct known *k;
};

static void collect_known_cb(void *arg, fuse_ino_t ino, enum hkvfs_kind kind,
			     const unsigned char *key, size_t klen, const unsigned char *elem,
			     size_t elen)
{
	struct known_list *kl = arg;
	struct known *k;

	if (kl->n == kl->cap) {
		size_t cap = kl->cap ? kl->cap * 2 : 64;
		void *p = realloc(kl->k, cap * sizeof(*kl->k));

		if (!p) {
			kl->oom = true;
			return;
		}
		kl->k = p;
		kl->cap = cap;
	}
	k = &kl->k[kl->n];
	k->key = malloc(klen + elen + 1);
	if (!k->key) {
		kl->oom = true;
		return;
	}
	memcpy(k->key, key, klen);
	if (elen)
		memcpy(k->key + klen, elem, elen);
	k->ino = ino;
	k->kind = kind;
	k->klen = klen;
	k->elen = elen;
	kl->n++;
}

/*
 * Everything may be stale: drop the cached attributes and pages of every known inode and the
 * entry of every known name. Attributes first: a name whose entry is dropped is looked up
 * again, and its inode's attributes must not be served from the cache meanwhile.
 */
static void inval_all(struct hkvfs *fs)
{
	struct known_list kl = { 0 };
	char name[HKV_NAME_MAX + 1];
	fuse_ino_t parent;
	size_t i;

	hkvfs_itab_each(collect_known_cb, &kl);
	if (kl.oom) {
		CNT(inval_errors);
		HLOG_ERR("out of memory listing the inodes to invalidate: %zu of them will "
			 "expire after timeout= instead", kl.n);
	}
	notify_inode(fs, FUSE_ROOT_ID);
	for (i = 0; i < kl.n; i++)
		notify_inode(fs, kl.k[i].ino);
	for (i = 0; i < kl.n; i++) {
		const struct known *k = &kl.k[i];

		if (k->kind == HKVFS_ELEM) {
			parent = hkvfs_itab_find(HKVFS_KEY, k->key, k->klen, NULL, 0);
			if (parent &&
			    hkv_pathmap_encode(k->key + k->klen, k->elen, -1, name) >= 0)
				notify_entry(fs, parent, name);
		} else if (k->kind == HKVFS_KEY && k->klen) {
			parent = parent_of(fs, k->key, k->klen, name);
			if (parent)
				notify_entry(fs, parent, name);
		} else if (k->kind == HKVFS_PREFIX && k->klen > 1) {
			parent = parent_of(fs, k->key, k->klen - 1, name);
			if (parent)
				notify_entry(fs, parent, name);
		}
	}
	for (i = 0; i < kl.n; i++)
		free(kl.k[i].key);
	free(kl.k);
	HLOG_INFO("everything may be stale: dropped the kernel's cache of %zu inodes", kl.n);
}

static void *inval_main(void *arg)
{
	struct hkvfs *fs = &hkvfs_g;
	(void)arg;
	pthread_mutex_lock(&iq_lock);
	for (;;) {
		struct inval_ev *ev;
		uint64_t seq;

		while (!iq_head && !iq_stop)
			pthread_cond_wait(&iq_cond, &iq_lock);
		if (!iq_head)
			break;
		ev = iq_head;
		iq_head = ev->next;
		if (!iq_head)
			iq_tail = &iq_head;
		/* lost_ev may be queued again while it is served: take what it says now */
		seq = ev->seq;
		if (ev == &lost_ev)
			lost_queued = false;
		pthread_mutex_unlock(&iq_lock);
		if (ev->all)
			inval_all(fs);
		else
			inval_key(fs, ev, true);
		pthread_mutex_lock(&iq_lock);
		iq_done = seq;
		pthread_cond_broadcast(&iq_done_cond);
		ev_free(ev);
	}
	iq_done = iq_queued;
	pthread_cond_broadcast(&iq_done_cond);
	pthread_mutex_unlock(&iq_lock);
	return NULL;
}

static void count_child_cb(void *arg, fuse_ino_t ino, const unsigned char *elem, size_t elen)
{
	(void)ino;
	(void)elem;
	(void)elen;
	(*(size_t *)arg)++;
}

/* what inval_key() would do for the events handed to the window on @in */
static void handed_inval(struct hkvfs *fs, struct hkvfs_inode *in)
{
	struct hkvfs_ident *id = malloc(sizeof(*id));
	struct inval_ev *ev = NULL;
	size_t nchildren = 0;

	if (id)
		hkvfs_itab_snapshot(in, id);
	if (id && id->kind == HKVFS_KEY)
		ev = malloc(sizeof(*ev) + id->klen);
	if (!id || (id->kind == HKVFS_KEY && !ev)) {
		free(id);
		queue_lost(fs);
		return;
	}
	if (id->kind != HKVFS_KEY) {
		/* a directory's window (CREATE): new keys change nothing cached but its attributes */
		notify_inode(fs, hkvfs_ino_id(in));
		free(id);
		return;
	}
	ev->all = false;
	ev->version = 1; /* a write: any non-zero version */
	ev->klen = id->klen;
	memcpy(ev->key, id->key, id->klen);
	free(id);
	inval_key(fs, ev, false);
	hkvfs_itab_children(ev->key, ev->klen, count_child_cb, &nchildren);
	pthread_mutex_lock(&iq_lock);
	if (nchildren && !iq_stop)
		iq_push(ev); /* element inodes appeared: the thread drops their entries */
	else
		free(ev);
	pthread_mutex_unlock(&iq_lock);
}

void hkvfs_inval_handed(struct hkvfs *fs, struct hkvfs_inode *in, unsigned n)
{
	hkvfs_inval_created(fs, in, n, 0);
}

void hkvfs_inval_created(struct hkvfs *fs, struct hkvfs_inode *in, unsigned n, unsigned own)
{
	if (!n)
		return;
	/*
	 * Only the caller's own new string keys: they change nothing the kernel caches for the
	 * directory (a file is no link; an implicit directory and the root show the mount time,
	 * and a mkdir'd one's new times are one more event, its marker's).
	 */
	if (n > own)
		handed_inval(fs, in);
	pthread_mutex_lock(&iq_lock);
	claims_done += n;
	pthread_cond_broadcast(&iq_done_cond);
	pthread_mutex_unlock(&iq_lock);
}

void hkvfs_inval_wait(void)
{
	uint64_t target, claims;

	pthread_mutex_lock(&iq_lock);
	target = iq_queued;
	claims = claims_taken;
	while ((iq_done < target || claims_done < claims) && !iq_stop)
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
		ev_free(ev);
	}
	lost_queued = false;
	iq_tail = &iq_head;
	iq_done = iq_queued;
	pthread_cond_signal(&iq_cond);
	pthread_cond_broadcast(&iq_done_cond);
	pthread_mutex_unlock(&iq_lock);
	pthread_join(iq_thread, NULL);
	iq_running = false;
}
