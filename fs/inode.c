// SPDX-License-Identifier: MIT
/*
 * inode.c - the table of inodes the kernel holds.
 *
 * An inode's FUSE node id is its address (the root is node 1). Inodes are found by identity
 * (kind, key, element) through an RCU hash table (liburcu's cds_lfht), itab, whose hash covers
 * the key and, for an element, the element: a lookup costs the same however many elements of
 * one collection the kernel holds. A second table, ctab, indexes the element entries alone by
 * the hash of their key, so that "every element of key K" is one walk over K's duplicates
 * there. An element entry is in ctab exactly while it is in itab (mark_hashed(),
 * mark_unhashed(), under itab_lock).
 *
 * Identity. An inode's identity lives in a separate, immutable object, struct itab_ent, that
 * is also the hash table node. Renaming an inode never rewrites bytes in place: the writer
 * builds a new entry, publishes it in @in->ent (rcu_assign_pointer), swaps it into the table
 * and frees the old entry after a grace period (call_rcu). A reader that copies an identity
 * (hkvfs_itab_snapshot) therefore sees the old or the new identity, whole, never a mix.
 *
 * Locking and RCU rules, field by field (debug builds assert the itab_lock and read-side
 * rules where they are relied on):
 *
 * | field                 | rule                                                                  |
 * | --------------------- | --------------------------------------------------------------------- |
 * | itab (the table)      | lookups and walks inside rcu_read_lock(); add, del and replace only   |
 * |                       | by a writer holding itab_lock, inside rcu_read_lock() as cds_lfht     |
 * |                       | requires                                                              |
 * | hkvfs_inode.ent       | rcu_dereference() inside rcu_read_lock(), or a plain read by a writer |
 * |                       | holding itab_lock; written with rcu_assign_pointer() under itab_lock; |
 * |                       | the old entry is freed by call_rcu()                                  |
 * | hkvfs_inode.nlookup   | atomic. Grows lock-free, only from a non-zero value (ref_live);       |
 * |                       | shrinks lock-free in FORGET. Zero is final: the FORGET that reached   |
 * |                       | it unhashes the inode under itab_lock and frees it with call_rcu().   |
 * |                       | Static inodes: atomic, never freed                                    |
 * | hkvfs_inode.all_*     | itab_lock (every dynamic inode, for shutdown)                         |
 * | hkvfs_inode.is_static | immutable                                                             |
 * | hkvfs_inode.commits,  | win_lock_of(inode): a request's commit windows and the watch events   |
 * |   .handed             | handed to it (hkvfs_itab_commit_begin(), hkvfs_itab_claim(); below)   |
 * | itab_ent identity     | immutable from publication until freed                                |
 * | itab_ent.in, .hash    | immutable                                                             |
 * | itab_ent.hashed, .mv  | itab_lock (writers only)                                              |
 * | rcu_registered        | thread-local; rcu_key's destructor unregisters at thread exit         |
 *
 * Who takes what. Readers never take itab_lock: hkvfs_itab_snapshot(), hkvfs_itab_find(),
 * hkvfs_itab_children() and a LOOKUP that finds its inode (hkvfs_itab_ref() fast path: a
 * table hit, an atomic increment, and a check that the entry it found is still the inode's
 * current, hashed identity, so the reference is taken while the inode has the name looked up,
 * as it was under a lock; if not, the reference is dropped and the slow path runs) are
 * lock-free. Writers serialise on itab_lock among themselves: creating an inode (a LOOKUP
 * that missed, re-checked under the lock so two racing LOOKUPs of one name make one inode),
 * the FORGET that brings nlookup to zero, and re-keying (rename, a directory becoming a typed
 * key). Nothing calls the engine or sends a FUSE notification while holding itab_lock or
 * inside a read-side section, and nothing waits for a grace period (synchronize_rcu) at all:
 * retired memory goes through call_rcu(); only shutdown waits, in rcu_barrier().
 *
 * Lifetime: the kernel's lookup count (nlookup) is the reference count. An inode lives until
 * FORGET brings nlookup to 0; then it leaves the table at once and its memory is freed after
 * a grace period, so a reader that found it a moment earlier may still read it (and sees it
 * dead: nlookup 0, never revived). A renamed-over or retyped inode is unhashed but lives
 * until its FORGET. Node ids never change while the kernel holds them. Static inodes (root,
 * .hkv and its files) are never hashed and never die.
 *
 * Identity uniqueness: at most one hashed entry per identity; a writer that hashes an identity
 * already present replaces the older entry (cds_lfht_add_replace), whose inode becomes stale
 * (unhashed, still valid for the kernel until its FORGET).
 *
 * Re-keying for readers: a renamed inode's old entry leaves the table before the new one
 * enters, so a lock-free lookup in between misses both names; a LOOKUP that misses then waits
 * for itab_lock and finds the new one. Each inode's identity changes atomically; a directory
 * rename moves its inodes one by one.
 *
 * Commit windows. A request that commits a change and then invalidates what the kernel caches
 * for it itself (the commit of an open file, a CREATE) brackets the engine call with
 * hkvfs_itab_commit_begin()/_end() on the inode it will invalidate. The engine's watch
 * callback (inval.c), on whatever thread runs it, claims an event whose invalidation that
 * request will do (hkvfs_itab_claim(): @handed grows while @commits is non-zero), instead of
 * waking the invalidation thread; _end() tells the request it was handed events, and the
 * request invalidates after _end(), so after every commit it was handed, foreign ones
 * included. A claim and _end() take the same lock (one of a few, by inode address), so a claim
 * either finds the window open and is counted in what _end() returns, or finds it closed and
 * the event goes to the thread as before.
 *
 * The namespace lock. An operation that turns an inode's identity into a key and then acts on
 * the engine and the table (LOOKUP, CREATE, MKNOD, MKDIR, UNLINK, RMDIR, the commit of an open
 * file, a writer's first load) holds it shared from the snapshot until its engine call is done
 * and its inode referenced; a rename or a retype (the writers that re-key inodes) holds it
 * exclusive from its snapshots until the table matches the engine again. Without it a LOOKUP
 * that copied the old name of a directory being renamed answered from the engine after the keys
 * had moved: a negative entry, or a new inode under the old name, under the renamed directory;
 * a CREATE made a key under the old name (the directory came back), a commit was dropped as if
 * its file had been removed. The lock is writer-preferring (renames are not starved by a stream
 * of lookups) and not recursive: a holder never takes it again, never takes a handle's lock (a
 * commit holds that lock and then takes this one), and never notifies the kernel. A sequence
 * count, odd while a writer holds it, lets the operations that do not take it (OPEN, READ,
 * GETATTR, SETATTR, the xattr operations) tell an ENOENT (for an attribute, also ENODATA)
 * caused by a rename in flight from a real one and retry.
 *
 * URCU flavour: the default one (urcu-memb: membarrier, read side a compiler barrier). It
 * needs every reading thread registered. libfuse creates and retires worker threads itself,
 * so each thread registers itself on its first table access (a thread-local flag) and a
 * pthread key destructor unregisters it when the thread exits.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include "hkvfs_int.h"

/*
 * struct itab_ent - one identity of one inode; the hash table node.
 * @node:   itab linkage (while hashed).
 * @cnode:  ctab linkage (while hashed, elements only).
 * @rcu:    call_rcu() linkage when the entry is retired.
 * @in:     the inode it names (immutable).
 * @hash:   itab hash: of the key, and of the element for an element (immutable).
 * @hashed: in the table (itab_lock).
 * @mv:     writer's temporary list link while re-keying (itab_lock).
 * @kind, @ctl, @klen, @elen, @key, @elem: the identity (immutable); @key and @elem point into
 *          @data (key, a NUL, then the element).
 */
struct itab_ent {
	struct cds_lfht_node node;
	struct cds_lfht_node cnode;
	struct rcu_head rcu;
	struct hkvfs_inode *in;
	unsigned long hash;
	bool hashed;
	struct itab_ent *mv;
	enum hkvfs_kind kind;
	int ctl;
	size_t klen, elen;
	const unsigned char *key;
	const unsigned char *elem;
	unsigned char data[];
};

/*
 * struct hkvfs_inode - see the table above.
 * @ent:       current identity (RCU pointer).
 * @nlookup:   the kernel's lookup count = reference count (atomic, 0 is final).
 * @is_static: root, .hkv and its files (immutable).
 * @commits:   commit windows open on it; @handed: watch events claimed in them (see above).
 * @all_next, @all_pprev: every dynamic inode, for shutdown (itab_lock).
 * @rcu:       deferred free after the last FORGET.
 */
struct hkvfs_inode {
	struct itab_ent *ent;
	_Atomic uint64_t nlookup;
	unsigned commits, handed;
	bool is_static;
	struct hkvfs_inode *all_next, **all_pprev;
	struct rcu_head rcu;
};

/* a lookup key: an identity to match */
struct itab_query {
	enum hkvfs_kind kind;
	const void *key;
	size_t klen;
	const void *elem;
	size_t elen;
};

static pthread_mutex_t itab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cds_lfht *itab;
static struct cds_lfht *ctab; /* element entries by the hash of their key (see the top) */

/*
 * The tables' sizes. liburcu's automatic resizing (CDS_LFHT_AUTO_RESIZE) is not used: its
 * lazy launch queues the resize work and only then marks a resize as initiated, so a worker
 * that runs the whole resize in between leaves the mark set for good and no later resize is
 * ever launched (liburcu 0.13, and still so upstream). The table then kept 1024 buckets
 * while inodes accumulated, and a lookup walked a chain of inodes/1024 entries (1.6 us per
 * missed lookup at 40,000 inodes, in one run of three). Instead the writers count the
 * entries (under itab_lock) and grow a table themselves, synchronously, once it holds more
 * than twice as many entries as buckets: to the smallest power of two not below its entries,
 * at least twice its size. A grow waits for no grace period (liburcu waits only when it
 * shrinks), so it runs under itab_lock, outside any read-side section, while readers go on
 * lock-free; growing by doubling keeps its cost amortised to a constant per entry. Tables
 * never shrink (a table sized for a peak of N inodes keeps about 16 * N / 2 bytes of
 * buckets).
 */
#define TAB_MIN 1024ul
static unsigned long itab_nodes, itab_buckets = TAB_MIN; /* itab_lock */
static unsigned long ctab_nodes, ctab_buckets = TAB_MIN; /* itab_lock */
static struct hkvfs_inode *itab_all; /* every dynamic inode not yet forgotten (itab_lock) */
static pthread_key_t rcu_key;
static bool rcu_key_made;
static __thread bool rcu_registered;
#ifndef NDEBUG
static __thread bool itab_lock_held;
#endif

#define STATIC_ENT(name, k, c) \
	static struct itab_ent name = { .kind = (k), .ctl = (c), .key = (const unsigned char *)"" }
STATIC_ENT(ent_root, HKVFS_ROOT, 0);
STATIC_ENT(ent_ctldir, HKVFS_CTLDIR, 0);
STATIC_ENT(ent_stats, HKVFS_CTLFILE, HKVFS_CTL_STATS);
STATIC_ENT(ent_config, HKVFS_CTLFILE, HKVFS_CTL_CONFIG);
STATIC_ENT(ent_hot, HKVFS_CTLFILE, HKVFS_CTL_HOT);

struct hkvfs_inode hkvfs_root = { .ent = &ent_root, .is_static = true, .nlookup = 1 };
struct hkvfs_inode hkvfs_ctldir = { .ent = &ent_ctldir, .is_static = true };
struct hkvfs_inode hkvfs_ctl_stats = { .ent = &ent_stats, .is_static = true };
struct hkvfs_inode hkvfs_ctl_config = { .ent = &ent_config, .is_static = true };
struct hkvfs_inode hkvfs_ctl_hot = { .ent = &ent_hot, .is_static = true };

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	if (rcu_registered) {
		rcu_unregister_thread();
		rcu_registered = false;
	}
}

/* make the calling thread an RCU reader (once per thread; undone at thread exit) */
static void rcu_enter(void)
{
	if (rcu_registered)
		return;
	rcu_register_thread();
	rcu_registered = true;
	if (rcu_key_made)
		pthread_setspecific(rcu_key, &rcu_registered);
}

static void lock_itab(void)
{
	pthread_mutex_lock(&itab_lock);
#ifndef NDEBUG
	itab_lock_held = true;
#endif
}

/* grow @t to fit @nodes entries if it holds over twice as many as its @buckets (itab_lock) */
static void grow_table(struct cds_lfht *t, unsigned long nodes, unsigned long *buckets)
{
	unsigned long n = *buckets * 2;

	if (nodes <= *buckets * 2)
		return;
	while (n < nodes)
		n *= 2;
	cds_lfht_resize(t, n);
	*buckets = n;
}

static void unlock_itab(void)
{
	/* the writer that pushed a table over its load grows it (not inside a read section) */
	if (itab && !rcu_read_ongoing()) {
		grow_table(itab, itab_nodes, &itab_buckets);
		grow_table(ctab, ctab_nodes, &ctab_buckets);
	}
#ifndef NDEBUG
	itab_lock_held = false;
#endif
	pthread_mutex_unlock(&itab_lock);
}

#define assert_writer() assert(itab_lock_held && rcu_read_ongoing())
#define assert_reader() assert(rcu_read_ongoing())

static unsigned long hash_key(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	/* the table splits buckets by the high bits too: mix them (murmur3's finaliser) */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (unsigned long)h;
}

/* itab's hash of an identity: the key's, extended by the element's bytes for an element */
static unsigned long hash_ident(enum hkvfs_kind kind, const void *key, size_t klen,
				const void *elem, size_t elen)
{
	const unsigned char *p = elem;
	uint64_t h = hash_key(key, klen);

	if (kind != HKVFS_ELEM)
		return (unsigned long)h;
	for (size_t i = 0; i < elen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (unsigned long)h;
}

static int match_ident(struct cds_lfht_node *node, const void *arg)
{
	const struct itab_ent *e = caa_container_of(node, struct itab_ent, node);
	const struct itab_query *q = arg;

	return e->kind == q->kind && e->klen == q->klen && e->elen == q->elen &&
	       memcmp(e->key, q->key, q->klen) == 0 &&
	       (!q->elen || memcmp(e->elem, q->elem, q->elen) == 0);
}

/* element inodes of the collection key q->key (a ctab node) */
static int match_child(struct cds_lfht_node *node, const void *arg)
{
	const struct itab_ent *e = caa_container_of(node, struct itab_ent, cnode);
	const struct itab_query *q = arg;

	return e->kind == HKVFS_ELEM && e->klen == q->klen && memcmp(e->key, q->key, q->klen) == 0;
}

/*
 * Walk the element entries of key q->key in ctab (hash @h: hash_key() of the key). Not
 * liburcu's cds_lfht_for_each_entry_duplicate(): its container_of() of the NULL that ends the
 * walk is undefined for a member at a non-zero offset, as cnode is.
 */
static struct itab_ent *child_at(struct cds_lfht_iter *it)
{
	struct cds_lfht_node *n = cds_lfht_iter_get_node(it);

	return n ? caa_container_of(n, struct itab_ent, cnode) : NULL;
}

static struct itab_ent *child_first(const struct itab_query *q, unsigned long h,
				    struct cds_lfht_iter *it)
{
	cds_lfht_lookup(ctab, h, match_child, q, it);
	return child_at(it);
}

static struct itab_ent *child_next(const struct itab_query *q, struct cds_lfht_iter *it)
{
	cds_lfht_next_duplicate(ctab, match_child, q, it);
	return child_at(it);
}

#define for_each_child(q, h, it, e) \
	for ((e) = child_first((q), (h), (it)); (e); (e) = child_next((q), (it)))

/* @e has just entered itab: an element enters ctab too */
static void mark_hashed(struct itab_ent *e)
{
	assert_writer();
	e->hashed = true;
	itab_nodes++;
	if (e->kind == HKVFS_ELEM) {
		cds_lfht_add(ctab, hash_key(e->key, e->klen), &e->cnode);
		ctab_nodes++;
	}
}

/* @e has just left itab (deleted or replaced there): an element leaves ctab too */
static void mark_unhashed(struct itab_ent *e)
{
	assert_writer();
	if (!e->hashed)
		return;
	e->hashed = false;
	itab_nodes--;
	if (e->kind == HKVFS_ELEM) {
		cds_lfht_del(ctab, &e->cnode);
		ctab_nodes--;
	}
}

int hkvfs_itab_init(void)
{
	int rc;

	rc = -pthread_key_create(&rcu_key, rcu_thread_exit);
	if (rc)
		return rc;
	rcu_key_made = true;
	/* no CDS_LFHT_AUTO_RESIZE: the writers size the tables (see itab_nodes above) */
	itab = cds_lfht_new(TAB_MIN, TAB_MIN, 0, 0, NULL);
	ctab = cds_lfht_new(TAB_MIN, TAB_MIN, 0, 0, NULL);
	itab_nodes = ctab_nodes = 0;
	itab_buckets = ctab_buckets = TAB_MIN;
	if (!itab || !ctab) {
		if (itab)
			cds_lfht_destroy(itab, NULL);
		if (ctab)
			cds_lfht_destroy(ctab, NULL);
		itab = ctab = NULL;
		return -ENOMEM;
	}
	return 0;
}

int hkvfs_itab_destroy(void)
{
	int rc = 0;
	struct hkvfs_inode *in, *next;
	struct cds_lfht_iter it;
	struct itab_ent *e;

	if (!itab)
		return 0;
	rcu_enter();
	/* no FUSE worker is left: empty the table, then free what was retired and what lives */
	lock_itab();
	rcu_read_lock();
	cds_lfht_for_each_entry(itab, &it, e, node) {
		cds_lfht_del(itab, &e->node);
		mark_unhashed(e);
	}
	rcu_read_unlock();
	in = itab_all;
	itab_all = NULL;
	unlock_itab();
	rcu_barrier(); /* runs every pending call_rcu() free */
	for (; in; in = next) {
		next = in->all_next;
		free(in->ent);
		free(in);
	}
	/* both tables are empty now; an element left in ctab alone would be a broken invariant */
	if (cds_lfht_destroy(itab, NULL))
		rc = -EBUSY;
	if (cds_lfht_destroy(ctab, NULL))
		rc = -EBUSY;
	if (rc)
		HLOG_WARN("inode table not empty at shutdown");
	itab = ctab = NULL;
	rcu_thread_exit(NULL);
	return rc;
}

struct hkvfs_inode *hkvfs_ino(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &hkvfs_root;
	return (struct hkvfs_inode *)(uintptr_t)ino;
}

fuse_ino_t hkvfs_ino_id(const struct hkvfs_inode *in)
{
	if (in == &hkvfs_root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)in;
}

static struct itab_ent *ent_new(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
				size_t klen, const void *elem, size_t elen)
{
	struct itab_ent *e = malloc(sizeof(*e) + klen + 1 + elen);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	cds_lfht_node_init(&e->node);
	e->in = in;
	e->hash = hash_ident(kind, key, klen, elem, elen);
	e->kind = kind;
	e->klen = klen;
	e->elen = elen;
	if (klen)
		memcpy(e->data, key, klen);
	e->data[klen] = 0;
	if (elen)
		memcpy(e->data + klen + 1, elem, elen);
	e->key = e->data;
	e->elem = elen ? e->data + klen + 1 : NULL;
	return e;
}

static void ent_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct itab_ent, rcu));
}

static void inode_free_rcu(struct rcu_head *head)
{
	struct hkvfs_inode *in = caa_container_of(head, struct hkvfs_inode, rcu);

	free(in->ent);
	free(in);
}

/* nlookup++ unless the inode is already dead (0 is final) */
static bool ref_live(struct hkvfs_inode *in)
{
	uint64_t n = atomic_load_explicit(&in->nlookup, memory_order_relaxed);

	while (n) {
		if (atomic_compare_exchange_weak_explicit(&in->nlookup, &n, n + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

static struct itab_ent *lookup_rcu(const struct itab_query *q)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	assert_reader();
	cds_lfht_lookup(itab, hash_ident(q->kind, q->key, q->klen, q->elem, q->elen), match_ident,
			q, &it);
	node = cds_lfht_iter_get_node(&it);
	return node ? caa_container_of(node, struct itab_ent, node) : NULL;
}

static void unhash(struct itab_ent *e)
{
	assert_writer();
	if (!e->hashed)
		return;
	cds_lfht_del(itab, &e->node);
	mark_unhashed(e);
}

/* hash @e, replacing (and unhashing) an entry of the same identity */
static void hash_replace(struct itab_ent *e)
{
	struct itab_query q = { e->kind, e->key, e->klen, e->elem, e->elen };
	struct cds_lfht_node *old;

	assert_writer();
	old = cds_lfht_add_replace(itab, e->hash, match_ident, &q, &e->node);
	mark_hashed(e);
	if (old)
		mark_unhashed(caa_container_of(old, struct itab_ent, node));
}

static struct hkvfs_inode *static_inode(const struct hkvfs_ident *id)
{
	switch (id->kind) {
	case HKVFS_ROOT:
		return &hkvfs_root;
	case HKVFS_CTLDIR:
		return &hkvfs_ctldir;
	case HKVFS_CTLFILE:
		return id->ctl == HKVFS_CTL_STATS    ? &hkvfs_ctl_stats
		       : id->ctl == HKVFS_CTL_CONFIG ? &hkvfs_ctl_config
						     : &hkvfs_ctl_hot;
	default:
		return NULL;
	}
}

int hkvfs_itab_ref(const struct hkvfs_ident *id, struct hkvfs_inode **out)
{
	struct itab_query q = { id->kind, id->key, id->klen, id->elem, id->elen };
	struct hkvfs_inode *in = static_inode(id);
	struct cds_lfht_iter it;
	struct itab_ent *e;
	bool stale;

	if (in) {
		atomic_fetch_add_explicit(&in->nlookup, 1, memory_order_relaxed);
		*out = in;
		return 0;
	}
	rcu_enter();
	rcu_read_lock();
	e = lookup_rcu(&q);
	in = e && ref_live(e->in) ? e->in : NULL;
	/* referenced while it still has this identity, as under a lock, or not at all */
	stale = in && (rcu_dereference(in->ent) != e || cds_lfht_is_node_deleted(&e->node));
	rcu_read_unlock();
	if (in && !stale) {
		*out = in;
		return 0;
	}
	if (stale) /* re-keyed or renamed over meanwhile: ask again under the lock */
		hkvfs_itab_forget(in, 1);
	/* a miss: create under the writers' lock, after looking again */
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	e = ent_new(in, id->kind, id->key, id->klen, id->elem, id->elen);
	if (!e) {
		free(in);
		return -ENOMEM;
	}
	atomic_init(&in->nlookup, 1);
	in->ent = e;
	lock_itab();
	rcu_read_lock();
	cds_lfht_lookup(itab, e->hash, match_ident, &q, &it);
	if (cds_lfht_iter_get_node(&it)) {
		struct itab_ent *old = caa_container_of(cds_lfht_iter_get_node(&it),
							struct itab_ent, node);

		if (ref_live(old->in)) {
			rcu_read_unlock();
			unlock_itab();
			free(e);
			free(in);
			*out = old->in;
			return 0;
		}
		/* dead, its FORGET waiting for the lock: take its place atomically */
		if (cds_lfht_replace(itab, &it, e->hash, match_ident, &q, &e->node) == 0) {
			mark_unhashed(old);
			mark_hashed(e);
		}
	}
	if (!e->hashed) {
		cds_lfht_add(itab, e->hash, &e->node);
		mark_hashed(e);
	}
	in->all_next = itab_all;
	if (itab_all)
		itab_all->all_pprev = &in->all_next;
	in->all_pprev = &itab_all;
	itab_all = in;
	rcu_read_unlock();
	unlock_itab();
	*out = in;
	return 0;
}

void hkvfs_itab_forget(struct hkvfs_inode *in, uint64_t n)
{
	uint64_t cur = atomic_load_explicit(&in->nlookup, memory_order_relaxed), left;

	do {
		if (!cur)
			return;
		left = cur > n ? cur - n : 0;
	} while (!atomic_compare_exchange_weak_explicit(&in->nlookup, &cur, left,
							memory_order_release,
							memory_order_relaxed));
	if (left || in->is_static)
		return;
	/* this FORGET killed it: no one can revive it (ref_live), so unhash and retire it */
	rcu_enter();
	lock_itab();
	rcu_read_lock();
	unhash(in->ent);
	*in->all_pprev = in->all_next;
	if (in->all_next)
		in->all_next->all_pprev = in->all_pprev;
	rcu_read_unlock();
	unlock_itab();
	call_rcu(&in->rcu, inode_free_rcu);
}

void hkvfs_itab_snapshot(struct hkvfs_inode *in, struct hkvfs_ident *id)
{
	const struct itab_ent *e;

	rcu_enter();
	rcu_read_lock();
	e = rcu_dereference(in->ent);
	id->kind = e->kind;
	id->ctl = e->ctl;
	id->klen = e->klen;
	id->elen = e->elen;
	if (e->klen)
		memcpy(id->key, e->key, e->klen);
	if (e->elen)
		memcpy(id->elem, e->elem, e->elen);
	rcu_read_unlock();
}

fuse_ino_t hkvfs_itab_find(enum hkvfs_kind kind, const void *key, size_t klen, const void *elem,
			   size_t elen)
{
	struct itab_query q = { kind, key, klen, elem, elen };
	struct itab_ent *e;
	fuse_ino_t ino = 0;

	if (kind == HKVFS_ROOT)
		return FUSE_ROOT_ID;
	rcu_enter();
	rcu_read_lock();
	e = lookup_rcu(&q);
	if (e && atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
		ino = hkvfs_ino_id(e->in);
	rcu_read_unlock();
	return ino;
}

/*
 * Give @in the identity (kind, key, elem): publish the new entry, then swap it into the table
 * in place of the old one; the old entry is freed after a grace period. A dead inode only
 * leaves the table. On ENOMEM the inode keeps its old identity but leaves the table: a stale
 * inode (ENOENT or the old key's data), never one that reaches another key's data by mistake.
 */
static int move_ent(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key, size_t klen,
		    const void *elem, size_t elen)
{
	struct itab_ent *old = in->ent, *e;

	assert_writer();
	if (!atomic_load_explicit(&in->nlookup, memory_order_relaxed)) {
		unhash(old);
		return 0;
	}
	e = ent_new(in, kind, key, klen, elem, elen);
	if (!e) {
		unhash(old);
		return -ENOMEM;
	}
	rcu_assign_pointer(in->ent, e);
	unhash(old);
	hash_replace(e);
	call_rcu(&old->rcu, ent_free_rcu);
	return 0;
}

/* collect the element entries of collection @key on a list through ->mv */
static struct itab_ent *collect_children(const void *key, size_t klen)
{
	struct itab_query q = { HKVFS_ELEM, key, klen, NULL, 0 };
	struct itab_ent *list = NULL, *e;
	struct cds_lfht_iter it;

	assert_writer();
	for_each_child(&q, hash_key(key, klen), &it, e) {
		e->mv = list;
		list = e;
	}
	return list;
}

static int rekey_locked(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
			size_t klen)
{
	struct itab_ent *old = in->ent, *c, *next;
	int rc, r;

	if (old->kind == kind && old->klen == klen && !memcmp(old->key, key, klen))
		return 0;
	/* element inodes follow their collection; `old` stays valid: freed after a grace period */
	c = collect_children(old->key, old->klen);
	rc = move_ent(in, kind, key, klen, NULL, 0);
	for (; c; c = next) {
		next = c->mv;
		c->mv = NULL;
		r = move_ent(c->in, HKVFS_ELEM, key, klen, c->elem, c->elen);
		rc = rc ? rc : r;
	}
	return rc;
}

int hkvfs_itab_rekey(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
		     size_t klen)
{
	int rc;

	rcu_enter();
	lock_itab();
	rcu_read_lock();
	rc = rekey_locked(in, kind, key, klen);
	rcu_read_unlock();
	unlock_itab();
	return rc;
}

int hkvfs_itab_move(enum hkvfs_kind kind, const void *from, size_t flen, const void *to,
		    size_t tlen)
{
	struct itab_query q = { kind, from, flen, NULL, 0 };
	struct itab_ent *e;
	int rc = 0;

	rcu_enter();
	lock_itab();
	rcu_read_lock();
	e = lookup_rcu(&q);
	if (e && atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
		rc = rekey_locked(e->in, kind, to, tlen);
	rcu_read_unlock();
	unlock_itab();
	return rc;
}

int hkvfs_itab_rename_prefix(const void *from, size_t flen, const void *to, size_t tlen)
{
	unsigned char *k = malloc(HKV_KEY_MAX + 1); /* what a struct hkvfs_ident can hold */
	struct itab_ent *moved = NULL, *e, *next;
	struct cds_lfht_iter it;
	int rc = 0;

	rcu_enter();
	lock_itab();
	rcu_read_lock();
	/* collect first: re-keyed entries re-enter the table and must not be visited again */
	cds_lfht_for_each_entry(itab, &it, e, node) {
		if (e->klen < flen || memcmp(e->key, from, flen) != 0)
			continue;
		e->mv = moved;
		moved = e;
	}
	for (e = moved; e; e = next) {
		size_t nlen = e->klen - flen + tlen;

		next = e->mv;
		e->mv = NULL;
		if (!k || nlen > HKV_KEY_MAX + 1) {
			unhash(e); /* stale, never wrong */
			rc = k ? -ENAMETOOLONG : -ENOMEM;
			continue;
		}
		memcpy(k, to, tlen);
		memcpy(k + tlen, e->key + flen, e->klen - flen);
		if (move_ent(e->in, e->kind, k, nlen, e->elem, e->elen))
			rc = -ENOMEM;
	}
	rcu_read_unlock();
	unlock_itab();
	free(k);
	return rc;
}

void hkvfs_itab_each(void (*cb)(void *arg, fuse_ino_t ino, enum hkvfs_kind kind,
				const unsigned char *key, size_t klen, const unsigned char *elem,
				size_t elen),
		     void *arg)
{
	struct cds_lfht_iter it;
	struct itab_ent *e;

	rcu_enter();
	rcu_read_lock();
	cds_lfht_for_each_entry(itab, &it, e, node) {
		if (atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
			cb(arg, hkvfs_ino_id(e->in), e->kind, e->key, e->klen, e->elem, e->elen);
	}
	rcu_read_unlock();
}

void hkvfs_itab_children(const void *key, size_t klen,
			 void (*cb)(void *arg, fuse_ino_t ino, const unsigned char *elem,
				    size_t elen),
			 void *arg)
{
	struct itab_query q = { HKVFS_ELEM, key, klen, NULL, 0 };
	struct cds_lfht_iter it;
	struct itab_ent *e;

	rcu_enter();
	rcu_read_lock();
	for_each_child(&q, hash_key(key, klen), &it, e) {
		if (atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
			cb(arg, hkvfs_ino_id(e->in), e->elem, e->elen);
	}
	rcu_read_unlock();
}

/* the locks of the commit windows (see the top), by inode address */
#define WIN_LOCKS 16
static pthread_mutex_t win_locks[WIN_LOCKS] = { [0 ... WIN_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER };

static pthread_mutex_t *win_lock_of(const struct hkvfs_inode *in)
{
	return &win_locks[((uintptr_t)in / sizeof(*in)) % WIN_LOCKS];
}

void hkvfs_itab_commit_begin(struct hkvfs_inode *in)
{
	pthread_mutex_lock(win_lock_of(in));
	in->commits++;
	pthread_mutex_unlock(win_lock_of(in));
}

unsigned hkvfs_itab_commit_end(struct hkvfs_inode *in)
{
	unsigned handed;

	pthread_mutex_lock(win_lock_of(in));
	in->commits--;
	handed = in->handed;
	in->handed = 0;
	pthread_mutex_unlock(win_lock_of(in));
	return handed;
}

int hkvfs_itab_claim(enum hkvfs_kind kind, const void *key, size_t klen, bool leaf)
{
	struct itab_query q = { kind, key, klen, NULL, 0 };
	struct cds_lfht_iter it;
	struct hkvfs_inode *in = NULL;
	struct itab_ent *e;
	int rc = HKVFS_CLAIM_KNOWN;

	rcu_enter();
	rcu_read_lock();
	if (kind == HKVFS_ROOT) {
		in = &hkvfs_root;
	} else {
		e = lookup_rcu(&q);
		if (e && atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
			in = e->in;
	}
	if (!in) {
		rc = HKVFS_CLAIM_NONE;
		goto out_unlock;
	}
	if (leaf) {
		/* a collection with element inodes: their entries are the thread's to drop */
		q.kind = HKVFS_ELEM;
		for_each_child(&q, hash_key(key, klen), &it, e) {
			if (atomic_load_explicit(&e->in->nlookup, memory_order_relaxed))
				goto out_unlock;
		}
	}
	pthread_mutex_lock(win_lock_of(in));
	if (in->commits) {
		in->handed++;
		rc = HKVFS_CLAIM_TAKEN;
	}
	pthread_mutex_unlock(win_lock_of(in));
out_unlock:
	rcu_read_unlock();
	return rc;
}

/* the namespace lock and its sequence count (see the top) */
static pthread_rwlock_t ns_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static _Atomic unsigned long ns_seq;

void hkvfs_ns_read_lock(void)
{
	pthread_rwlock_rdlock(&ns_lock);
}

void hkvfs_ns_write_lock(void)
{
	pthread_rwlock_wrlock(&ns_lock);
	atomic_fetch_add(&ns_seq, 1);
}

void hkvfs_ns_read_unlock(void)
{
	pthread_rwlock_unlock(&ns_lock);
}

void hkvfs_ns_write_unlock(void)
{
	atomic_fetch_add(&ns_seq, 1);
	pthread_rwlock_unlock(&ns_lock);
}

unsigned long hkvfs_ns_seq(void)
{
	return atomic_load(&ns_seq);
}

bool hkvfs_ns_moved(unsigned long seq)
{
	return (seq & 1) || atomic_load(&ns_seq) != seq;
}

bool hkvfs_ns_retry(unsigned long *seq, int *tries)
{
	if (!hkvfs_ns_moved(*seq) || ++*tries > 100)
		return false;
	/* the rename or retype in flight, if any, is over once the lock is had */
	pthread_rwlock_rdlock(&ns_lock);
	*seq = atomic_load(&ns_seq);
	pthread_rwlock_unlock(&ns_lock);
	return true;
}

bool hkvfs_itab_current(struct hkvfs_inode *in)
{
	struct itab_ent *e;
	bool cur;

	if (in->is_static)
		return true;
	rcu_enter();
	rcu_read_lock();
	e = rcu_dereference(in->ent);
	cur = e && CMM_LOAD_SHARED(e->hashed);
	rcu_read_unlock();
	return cur;
}

void hkvfs_itab_size(unsigned long *entries, unsigned long *buckets)
{
	pthread_mutex_lock(&itab_lock);
	*entries = itab_nodes;
	*buckets = itab_buckets;
	pthread_mutex_unlock(&itab_lock);
}
