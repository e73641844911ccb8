// SPDX-License-Identifier: GPL-2.0
/*
 * cache.c - the hot-value table of hkv.ko.
 *
 * Design
 * ------
 * A fixed-size hash table (hkvm_buckets chains, a power of two) of
 * struct hkvm_entry, keyed by (namespace, key bytes).  Lookups run under
 * rcu_read_lock() alone and take a reference with refcount_inc_not_zero()
 * before leaving the read-side section, so a reader never blocks a writer and
 * never sleeps inside it (the copy to user space happens after unlock).
 *
 * Writers (PUT, DEL, CLEAR, eviction, expiry reaping) are serialized by
 * hkvm_cache.lock, a mutex.  An entry is never modified after publication: a
 * PUT builds a new entry and swaps it in with hlist_replace_rcu().  Unlinking
 * drops the table's reference; the memory goes back with kvfree_rcu() when
 * the last reference (a GET in flight, an open snapshot file) is dropped, so
 * a reader that found the entry just before it was unlinked still sees valid
 * memory.  A reader starting after the writer released the lock cannot find
 * the unlinked entry: hlist_del_rcu() happened before mutex_unlock().
 *
 * Eviction and expiry
 * -------------------
 * The orders live in evict.c (struct hkvm_order, embedded here as @order):
 * an insertion list (FIFO), lazily updated LRU and LFU trees fed by readers'
 * per-generation stamps, and an expiry tree.  When a PUT pushes the table
 * over max_items or max_bytes, the writer removes entries until both limits
 * hold again: expired ones first (earliest expiry first), then the policy's
 * victims; O(log n) per removal.  The entry just inserted is never removed.
 * Readers that meet an expired entry schedule @reap, which pops expired
 * entries off the expiry tree.
 *
 * Tombstones
 * ----------
 * DEL with a version records (ns, key, stale_upto) in a second hash table,
 * touched only under the writer lock.  A PUT whose version is <= stale_upto,
 * or lower than the cached entry's version, is refused with -ESTALE.  At most
 * max_tombstones are kept (FIFO); dropping one raises @horizon to its
 * invalidation sequence number, and a PUT carrying a ticket older than
 * @horizon is refused, so forgetting never lets a stale value in.
 *
 * Counters: hits and misses are per-CPU (readers); the others change only
 * under the writer lock and are read without it (READ_ONCE) for statistics.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/percpu.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/dcache.h>

#include "hkvm_int.h"

struct hkvm_tomb {
	struct hlist_node hnode;
	struct list_head lnode;
	u64 ns;
	u64 stale_upto;
	u64 seq;
	u32 hash;
	u32 key_len;
	u8 key[];
};

struct hkvm_pcpu {
	u64 hits;
	u64 misses;
};

/**
 * struct hkvm_cache - the single table instance.
 * @lock: serializes every writer; protects all fields below except where
 *	noted.
 * @table: RCU-protected chains of entries.
 * @tombs: chains of tombstones (writers only).
 * @mask: hkvm_buckets - 1.
 * @seed: hash seed, random per load.
 * @order: eviction and expiry orders (evict.c); @order.fifo lists every
 *	entry, oldest insertion first.
 * @tomb_list: all tombstones, oldest first.
 * @policy: HKV_POLICY_*; READ_ONCE/WRITE_ONCE, changed under @lock.
 * @pcpu: hits/misses, per CPU, lockless.
 * @reap: work item removing expired entries found by readers.
 * @items: entries linked in @table.
 * @bytes: key + value bytes of those entries.
 * @ntombs: tombstones on @tomb_list.
 * @inval_seq: count of DEL and CLEAR calls; the sequence of the last one.
 * @horizon: PUT tickets below this are refused (forgotten invalidations).
 * @insertions: counter, see struct hkv_stat.
 * @evictions: counter, see struct hkv_stat.
 * @invalidations: counter, see struct hkv_stat.
 * @expirations: counter, see struct hkv_stat.
 * @stale: counter, see struct hkv_stat.
 */
struct hkvm_cache {
	struct mutex lock;	/* the writer lock, see above */
	struct hlist_head *table;
	struct hlist_head *tombs;
	u32 mask;
	u32 seed;
	struct hkvm_order order;
	struct list_head tomb_list;
	int policy;
	struct hkvm_pcpu __percpu *pcpu;
	struct work_struct reap;
	u64 items;
	u64 bytes;
	u64 ntombs;
	u64 inval_seq;
	u64 horizon;
	u64 insertions;
	u64 evictions;
	u64 invalidations;
	u64 expirations;
	u64 stale;
};

static struct hkvm_cache hkvm_cache = {
	.lock = __MUTEX_INITIALIZER(hkvm_cache.lock),
	.policy = HKV_POLICY_LRU,
};

static const char *const hkvm_policy_names[] = {
	[HKV_POLICY_LRU] = "lru",
	[HKV_POLICY_LFU] = "lfu",
	[HKV_POLICY_FIFO] = "fifo",
};

/**
 * hkvm_policy_name() - name of a policy.
 * @policy: HKV_POLICY_*.
 *
 * Return: a static string, "?" for an unknown value.
 */
const char *hkvm_policy_name(int policy)
{
	if (policy < 0 || policy >= ARRAY_SIZE(hkvm_policy_names))
		return "?";
	return hkvm_policy_names[policy];
}

/**
 * hkvm_policy_parse() - parse "lru", "lfu" or "fifo" (a trailing newline is
 * accepted, as written by echo into sysfs).
 * @s: NUL-terminated string, borrowed.
 *
 * Return: HKV_POLICY_* or -EINVAL.
 */
int hkvm_policy_parse(const char *s)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(hkvm_policy_names); i++)
		if (sysfs_streq(s, hkvm_policy_names[i]))
			return i;
	return -EINVAL;
}

/**
 * hkvm_policy_get() - the eviction policy in force.
 *
 * Return: HKV_POLICY_*.  Lockless; any context.
 */
int hkvm_policy_get(void)
{
	return READ_ONCE(hkvm_cache.policy);
}

/**
 * hkvm_policy_set() - switch the eviction policy; takes effect with the next
 * eviction.  Process context (takes the writer lock).
 * @policy: HKV_POLICY_*.
 *
 * Return: the previous policy, or -EINVAL.
 */
int hkvm_policy_set(int policy)
{
	int old;

	if (policy < 0 || policy >= ARRAY_SIZE(hkvm_policy_names))
		return -EINVAL;
	mutex_lock(&hkvm_cache.lock);
	old = hkvm_cache.policy;
	WRITE_ONCE(hkvm_cache.policy, policy);
	mutex_unlock(&hkvm_cache.lock);
	return old;
}

/**
 * hkvm_now_ms() - wall-clock time in Unix milliseconds.
 *
 * Return: ktime_get_real() in ms.  Any context.
 */
u64 hkvm_now_ms(void)
{
	return div_u64(ktime_get_real_ns(), NSEC_PER_MSEC);
}

/**
 * hkvm_expired() - whether @e has expired at @now_ms.
 * @e: borrowed entry.
 * @now_ms: from hkvm_now_ms().
 *
 * Return: true when @e has an expiry and it is not after @now_ms.
 */
bool hkvm_expired(const struct hkvm_entry *e, u64 now_ms)
{
	return e->expire_ms && e->expire_ms <= now_ms;
}

static u32 hkvm_hash(u64 ns, const u8 *key, u32 key_len)
{
	return jhash(key, key_len,
		     hkvm_cache.seed ^ (u32)ns ^ (u32)(ns >> 32) * 0x9e3779b1u);
}

/**
 * hkvm_entry_alloc() - allocate an unpublished entry with room for a key and
 * a value.  The caller fills it in and either publishes it with
 * hkvm_cache_put() or frees it with hkvm_entry_put().  Process context.
 * @key_len: key bytes.
 * @val_len: value bytes.
 *
 * Return: the entry with one reference, or NULL on allocation failure.
 */
struct hkvm_entry *hkvm_entry_alloc(u32 key_len, u32 val_len)
{
	struct hkvm_entry *e;

	e = kvmalloc(struct_size(e, data, (size_t)key_len + val_len),
		     GFP_KERNEL_ACCOUNT);
	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	INIT_HLIST_NODE(&e->hnode);
	INIT_LIST_HEAD(&e->order.fifo);
	refcount_set(&e->ref, 1);
	e->key_len = key_len;
	e->val_len = val_len;
	return e;
}

/**
 * hkvm_entry_put() - drop one reference; the last one releases the entry's
 * snapshot dentry and frees the entry after an RCU grace period.  Process
 * context: may sleep (dput), never called under rcu_read_lock or a spinlock.
 * @e: entry; the caller's reference is gone on return.
 */
void hkvm_entry_put(struct hkvm_entry *e)
{
	might_sleep();
	if (refcount_dec_and_test(&e->ref)) {
		if (e->dentry)
			dput(e->dentry);
		kvfree_rcu(e, rcu);
	}
}

static bool hkvm_entry_match(const struct hkvm_entry *e, u32 hash, u64 ns,
			     const u8 *key, u32 key_len)
{
	return e->hash == hash && e->ns == ns && e->key_len == key_len &&
	       !memcmp(e->data, key, key_len);
}

/**
 * hkvm_cache_find_rcu() - find an entry; the caller holds rcu_read_lock().
 * @ns: namespace.
 * @key: key bytes, borrowed.
 * @key_len: 1..HKV_DEV_KEY_MAX.
 *
 * The entry may be expired or already unlinked; its memory stays valid until
 * the caller's rcu_read_unlock().  Never sleeps.
 *
 * Return: the entry (no reference taken) or NULL.
 */
struct hkvm_entry *hkvm_cache_find_rcu(u64 ns, const u8 *key, u32 key_len)
{
	u32 hash = hkvm_hash(ns, key, key_len);
	struct hkvm_entry *e;

	hlist_for_each_entry_rcu(e, &hkvm_cache.table[hash & hkvm_cache.mask],
				 hnode)
		if (hkvm_entry_match(e, hash, ns, key, key_len))
			return e;
	return NULL;
}

/**
 * hkvm_cache_get() - find an entry without taking any lock.
 * @ns: namespace.
 * @key: key bytes, borrowed.
 * @key_len: 1..HKV_DEV_KEY_MAX.
 *
 * The entry may be expired: the caller checks with hkvm_expired().  Process
 * context; never sleeps.
 *
 * Return: the entry with a reference the caller drops with hkvm_entry_put(),
 * or NULL.
 */
struct hkvm_entry *hkvm_cache_get(u64 ns, const u8 *key, u32 key_len)
{
	struct hkvm_entry *e;

	rcu_read_lock();
	e = hkvm_cache_find_rcu(ns, key, key_len);
	if (e && !refcount_inc_not_zero(&e->ref))
		e = NULL;
	rcu_read_unlock();
	return e;
}

/**
 * hkvm_cache_touch() - record a hit on @e for LRU and LFU.  Lockless; writes
 * at most once per entry and generation, nothing shared (evict.c).
 * @e: entry the caller holds a reference on, or reads under RCU.
 */
void hkvm_cache_touch(struct hkvm_entry *e)
{
	hkvm_order_touch(&hkvm_cache.order, e);
}

/**
 * hkvm_cache_count() - count a hit or a miss.  Lockless, any context.
 * @hit: which one.
 */
void hkvm_cache_count(bool hit)
{
	if (hit)
		this_cpu_inc(hkvm_cache.pcpu->hits);
	else
		this_cpu_inc(hkvm_cache.pcpu->misses);
}

/* Caller holds the lock. Drops the table's reference. */
static void hkvm_unlink(struct hkvm_entry *e)
{
	lockdep_assert_held(&hkvm_cache.lock);
	hlist_del_rcu(&e->hnode);
	hkvm_order_remove(&hkvm_cache.order, e);
	hkvm_cache.items--;
	hkvm_cache.bytes -= (u64)e->key_len + e->val_len;
	hkvm_entry_put(e);
}

static struct hkvm_entry *hkvm_find_locked(u32 hash, u64 ns, const u8 *key,
					   u32 key_len)
{
	struct hkvm_entry *e;

	hlist_for_each_entry(e, &hkvm_cache.table[hash & hkvm_cache.mask],
			     hnode)
		if (hkvm_entry_match(e, hash, ns, key, key_len))
			return e;
	return NULL;
}

static struct hkvm_tomb *hkvm_tomb_find(u32 hash, u64 ns, const u8 *key,
					u32 key_len)
{
	struct hkvm_tomb *t;

	hlist_for_each_entry(t, &hkvm_cache.tombs[hash & hkvm_cache.mask],
			     hnode)
		if (t->hash == hash && t->ns == ns && t->key_len == key_len &&
		    !memcmp(t->key, key, key_len))
			return t;
	return NULL;
}

static void hkvm_tomb_free(struct hkvm_tomb *t)
{
	hlist_del(&t->hnode);
	list_del(&t->lnode);
	hkvm_cache.ntombs--;
	kfree(t);
}

static void hkvm_expire_locked(struct hkvm_entry *e)
{
	hkvm_events_emit(HKV_EV_EXPIRE, e, hkvm_cache.policy);
	hkvm_cache.expirations++;
	hkvm_unlink(e);
}

/*
 * Caller holds the lock.  Removes an expired entry if there is one, else the
 * policy's victim; returns false when nothing but @keep is left.
 */
static bool hkvm_evict_one(struct hkvm_entry *keep, u64 now_ms)
{
	int policy = hkvm_cache.policy;
	struct hkvm_entry *victim;

	victim = hkvm_order_expired(&hkvm_cache.order, now_ms, keep);
	if (victim) {
		hkvm_expire_locked(victim);
		return true;
	}
	victim = hkvm_order_victim(&hkvm_cache.order, policy, keep);
	if (!victim)
		return false;
	hkvm_events_emit(HKV_EV_EVICT, victim, policy);
	hkvm_cache.evictions++;
	hkvm_unlink(victim);
	return true;
}

/**
 * hkvm_cache_put() - publish @e, replacing any entry of the same key, then
 * evict until the limits hold.  Process context; takes the writer lock.
 * @e: entry from hkvm_entry_alloc() with ns, key, value and metadata filled
 *	in; the caller's reference is consumed in every case.
 * @inval_seq: the PUT ticket, 0 for none.
 *
 * Return: 0 (also when @e had already expired: then it is not inserted and an
 * older cached value of the key is removed), -ESTALE.
 */
int hkvm_cache_put(struct hkvm_entry *e, u64 inval_seq)
{
	const u8 *key = hkvm_entry_key(e);
	struct hkvm_entry *old;
	struct hkvm_tomb *t;
	u64 now_ms;
	int rc = 0;

	e->hash = hkvm_hash(e->ns, key, e->key_len);
	ktime_get_real_ts64(&e->ctime);

	mutex_lock(&hkvm_cache.lock);
	if (inval_seq && inval_seq < hkvm_cache.horizon) {
		rc = -ESTALE;
		goto out_stale;
	}
	t = hkvm_tomb_find(e->hash, e->ns, key, e->key_len);
	if (t && e->version <= t->stale_upto) {
		rc = -ESTALE;
		goto out_stale;
	}
	old = hkvm_find_locked(e->hash, e->ns, key, e->key_len);
	if (old && e->version < old->version) {
		rc = -ESTALE;
		goto out_stale;
	}

	now_ms = hkvm_now_ms();
	if (hkvm_expired(e, now_ms)) {
		if (old)
			hkvm_expire_locked(old);
		hkvm_entry_put(e);
		goto out_unlock;
	}

	if (old) {
		hlist_replace_rcu(&old->hnode, &e->hnode);
		hkvm_order_remove(&hkvm_cache.order, old);
		hkvm_cache.bytes -= (u64)old->key_len + old->val_len;
		hkvm_entry_put(old);
	} else {
		hlist_add_head_rcu(&e->hnode,
				   &hkvm_cache.table[e->hash & hkvm_cache.mask]);
		hkvm_cache.items++;
	}
	hkvm_order_insert(&hkvm_cache.order, e);
	hkvm_cache.bytes += (u64)e->key_len + e->val_len;
	hkvm_cache.insertions++;

	while (hkvm_cache.items > hkvm_max_items ||
	       hkvm_cache.bytes > hkvm_max_bytes)
		if (WARN_ON_ONCE(!hkvm_evict_one(e, now_ms)))
			break;
	goto out_unlock;

out_stale:
	hkvm_cache.stale++;
	hkvm_entry_put(e);
out_unlock:
	mutex_unlock(&hkvm_cache.lock);
	return rc;
}

/**
 * hkvm_cache_del() - remove a key and optionally record a tombstone.
 * Process context; takes the writer lock.
 * @ns: namespace.
 * @key: key bytes, borrowed.
 * @key_len: 1..HKV_DEV_KEY_MAX.
 * @version: 0, or: versions <= @version of this key are stale.
 *
 * Return: 0 (removed), -ENOENT (not cached), -ENOMEM (no memory for the
 * tombstone; the entry is removed all the same).
 */
int hkvm_cache_del(u64 ns, const u8 *key, u32 key_len, u64 version)
{
	u32 hash = hkvm_hash(ns, key, key_len);
	struct hkvm_tomb *t, *nt = NULL;
	struct hkvm_entry *e;
	int rc = -ENOENT;

	if (version) {
		nt = kmalloc(struct_size(nt, key, key_len), GFP_KERNEL_ACCOUNT);
		if (nt) {
			nt->ns = ns;
			nt->hash = hash;
			nt->key_len = key_len;
			memcpy(nt->key, key, key_len);
		}
	}

	mutex_lock(&hkvm_cache.lock);
	hkvm_cache.inval_seq++;
	e = hkvm_find_locked(hash, ns, key, key_len);
	if (e) {
		hkvm_cache.invalidations++;
		hkvm_unlink(e);
		rc = 0;
	}
	if (version) {
		t = hkvm_tomb_find(hash, ns, key, key_len);
		if (t) {
			/* Move to the young end: it was just refreshed. */
			t->stale_upto = max(t->stale_upto, version);
			t->seq = hkvm_cache.inval_seq;
			list_move_tail(&t->lnode, &hkvm_cache.tomb_list);
		} else if (nt) {
			nt->stale_upto = version;
			nt->seq = hkvm_cache.inval_seq;
			hlist_add_head(&nt->hnode,
				       &hkvm_cache.tombs[hash & hkvm_cache.mask]);
			list_add_tail(&nt->lnode, &hkvm_cache.tomb_list);
			hkvm_cache.ntombs++;
			nt = NULL;
		} else {
			/* Cannot remember it: refuse every older ticket. */
			hkvm_cache.horizon = hkvm_cache.inval_seq;
			rc = -ENOMEM;
		}
		while (hkvm_cache.ntombs > hkvm_max_tombstones) {
			t = list_first_entry(&hkvm_cache.tomb_list,
					     struct hkvm_tomb, lnode);
			hkvm_cache.horizon = max(hkvm_cache.horizon, t->seq);
			hkvm_tomb_free(t);
		}
	}
	mutex_unlock(&hkvm_cache.lock);
	kfree(nt);
	return rc;
}

/**
 * hkvm_cache_clear() - remove every entry, or those of one namespace.
 * Process context; takes the writer lock.
 * @one_ns: restrict to @ns.
 * @ns: namespace when @one_ns.
 *
 * Tombstones stay; PUT tickets older than the clear are refused afterwards.
 *
 * Return: the number of entries removed.
 */
u64 hkvm_cache_clear(bool one_ns, u64 ns)
{
	struct hkvm_entry *e, *tmp;
	u64 n = 0;

	mutex_lock(&hkvm_cache.lock);
	hkvm_cache.inval_seq++;
	hkvm_cache.horizon = hkvm_cache.inval_seq;
	list_for_each_entry_safe(e, tmp, &hkvm_cache.order.fifo, order.fifo) {
		if (one_ns && e->ns != ns)
			continue;
		hkvm_unlink(e);
		n++;
	}
	hkvm_cache.invalidations += n;
	mutex_unlock(&hkvm_cache.lock);
	return n;
}

/* Pops expired entries in expiry order: O(log n) each, nothing else seen. */
static void hkvm_reap_fn(struct work_struct *work)
{
	struct hkvm_entry *e;
	u64 now_ms = hkvm_now_ms();

	mutex_lock(&hkvm_cache.lock);
	while ((e = hkvm_order_expired(&hkvm_cache.order, now_ms, NULL)))
		hkvm_expire_locked(e);
	mutex_unlock(&hkvm_cache.lock);
}

/**
 * hkvm_cache_reap_async() - ask a worker to remove expired entries; called by
 * readers that met one.  Any context.
 */
void hkvm_cache_reap_async(void)
{
	schedule_work(&hkvm_cache.reap);
}

/**
 * hkvm_cache_stat() - fill the counters of @st (not @st->size).  Lockless;
 * each counter is exact but they are not a consistent snapshot together.
 * @st: caller's structure.
 */
void hkvm_cache_stat(struct hkv_stat *st)
{
	int cpu;

	st->hits = 0;
	st->misses = 0;
	for_each_possible_cpu(cpu) {
		struct hkvm_pcpu *p = per_cpu_ptr(hkvm_cache.pcpu, cpu);

		st->hits += READ_ONCE(p->hits);
		st->misses += READ_ONCE(p->misses);
	}
	st->policy = READ_ONCE(hkvm_cache.policy);
	st->items = READ_ONCE(hkvm_cache.items);
	st->bytes = READ_ONCE(hkvm_cache.bytes);
	st->insertions = READ_ONCE(hkvm_cache.insertions);
	st->evictions = READ_ONCE(hkvm_cache.evictions);
	st->invalidations = READ_ONCE(hkvm_cache.invalidations);
	st->expirations = READ_ONCE(hkvm_cache.expirations);
	st->stale = READ_ONCE(hkvm_cache.stale);
	st->tombstones = READ_ONCE(hkvm_cache.ntombs);
	st->inval_seq = READ_ONCE(hkvm_cache.inval_seq);
	st->max_items = hkvm_max_items;
	st->max_bytes = hkvm_max_bytes;
	st->max_value = hkvm_max_value;
}

/**
 * hkvm_cache_forget_snapshots() - drop the snapshot dentry (and inode) of
 * every entry in the table.  Called by snap.c with its lock held when the
 * last /dev/hkv descriptor closes, before the snapshot mount goes: no ioctl
 * can be running then, so no OPEN is setting one.  Process context; takes
 * the writer lock.
 */
void hkvm_cache_forget_snapshots(void)
{
	struct hkvm_entry *e;
	struct dentry *d;

	mutex_lock(&hkvm_cache.lock);
	list_for_each_entry(e, &hkvm_cache.order.fifo, order.fifo) {
		d = xchg(&e->dentry, NULL);
		if (d)
			dput(d);
	}
	mutex_unlock(&hkvm_cache.lock);
}

/**
 * hkvm_cache_init() - allocate the tables.  Module init only, after the
 * parameters were validated.
 *
 * Return: 0 or -ENOMEM.
 */
int hkvm_cache_init(void)
{
	u32 i;

	hkvm_cache.table = kvmalloc_array(hkvm_buckets,
					  sizeof(*hkvm_cache.table),
					  GFP_KERNEL);
	if (!hkvm_cache.table)
		return -ENOMEM;
	hkvm_cache.tombs = kvmalloc_array(hkvm_buckets,
					  sizeof(*hkvm_cache.tombs),
					  GFP_KERNEL);
	if (!hkvm_cache.tombs)
		goto out_free_table;
	hkvm_cache.pcpu = alloc_percpu(struct hkvm_pcpu);
	if (!hkvm_cache.pcpu)
		goto out_free_tombs;
	for (i = 0; i < hkvm_buckets; i++) {
		INIT_HLIST_HEAD(&hkvm_cache.table[i]);
		INIT_HLIST_HEAD(&hkvm_cache.tombs[i]);
	}
	hkvm_cache.mask = hkvm_buckets - 1;
	hkvm_cache.seed = get_random_u32();
	hkvm_order_init(&hkvm_cache.order);
	INIT_LIST_HEAD(&hkvm_cache.tomb_list);
	INIT_WORK(&hkvm_cache.reap, hkvm_reap_fn);
	return 0;

out_free_tombs:
	kvfree(hkvm_cache.tombs);
out_free_table:
	kvfree(hkvm_cache.table);
	return -ENOMEM;
}

/**
 * hkvm_cache_exit() - free everything.  Module exit only, after /dev/hkv is
 * gone and no snapshot file exists (they pin the module).
 */
void hkvm_cache_exit(void)
{
	struct hkvm_tomb *t, *tt;

	cancel_work_sync(&hkvm_cache.reap);
	hkvm_cache_clear(false, 0);
	mutex_lock(&hkvm_cache.lock);
	list_for_each_entry_safe(t, tt, &hkvm_cache.tomb_list, lnode)
		hkvm_tomb_free(t);
	mutex_unlock(&hkvm_cache.lock);
	/* Wait for kvfree_rcu() of the entries before the tables go. */
	rcu_barrier();
	free_percpu(hkvm_cache.pcpu);
	kvfree(hkvm_cache.tombs);
	kvfree(hkvm_cache.table);
}
