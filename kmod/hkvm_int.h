/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hkvm_int.h - private interfaces between the files of hkv.ko.
 *
 * cache.c   the RCU hash table, tombstones, counters, insertion and removal
 * evict.c   the eviction (FIFO, LRU, LFU) and expiry orders
 * snap.c    read-only snapshot files handed out by HKV_IOC_OPEN
 * events.c  the ring of eviction/expiry records read from /dev/hkv
 * bind.c    namespace-to-filesystem bindings, the path check of OPEN
 * main.c    module parameters, /dev/hkv, ioctls, sysfs, init/exit
 */
#ifndef HKVM_INT_H
#define HKVM_INT_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/atomic.h>
#include <linux/uidgid.h>
#include <linux/time64.h>
#include <uapi/linux/hkv.h>

/**
 * struct hkvm_order_node - an entry's place in the orders of evict.c.
 * @fifo: insertion-order list link.
 * @lru: link in the LRU tree, keyed by (@lru_gen, @lru_seq).
 * @lfu: link in the LFU tree, keyed by (@lfu_freq, @lfu_gen, @lfu_seq).
 * @exp: link in the expiry tree, keyed by (expire_ms, @ins_seq); only for
 *	entries with an expiry.
 * @lru_gen: @gen when queued in @lru.
 * @lru_seq: queue sequence in @lru.
 * @lfu_freq: @freq when queued in @lfu.
 * @lfu_gen: @gen when queued in @lfu.
 * @lfu_seq: queue sequence in @lfu.
 * @ins_seq: sequence of the insertion.
 * @gen: generation of the last use (insertion or hit); raised by readers
 *	with cmpxchg, never lowered.
 * @freq: generations in which the entry was hit; raised by the reader that
 *	raised @gen.
 *
 * All but @gen and @freq change only under the cache's writer lock.
 */
struct hkvm_order_node {
	struct list_head fifo;
	struct rb_node lru;
	struct rb_node lfu;
	struct rb_node exp;
	u64 lru_gen;
	u64 lru_seq;
	u64 lfu_freq;
	u64 lfu_gen;
	u64 lfu_seq;
	u64 ins_seq;
	atomic64_t gen;
	atomic64_t freq;
};

/**
 * struct hkvm_order - the eviction and expiry orders (evict.c).
 * @fifo: entries, oldest insertion first.
 * @lru: LRU tree.
 * @lfu: LFU tree.
 * @exp: expiry tree.
 * @gen: current generation, advanced by every insertion; written under the
 *	writer lock, read locklessly by readers (READ_ONCE).
 * @seq: queue sequence counter.
 *
 * Everything but the readers' view of @gen is under the writer lock.
 */
struct hkvm_order {
	struct list_head fifo;
	struct rb_root_cached lru;
	struct rb_root_cached lfu;
	struct rb_root_cached exp;
	u64 gen;
	u64 seq;
};

/**
 * struct hkvm_entry - one cached value; immutable once published.
 * @hnode: hash chain link; RCU readers, changed only under hkvm_cache.lock.
 * @order: place in the eviction and expiry orders (evict.c).
 * @rcu: for kvfree_rcu() once the last reference is gone.
 * @ref: one reference held by the table while linked, one per reader
 *	(GET in progress, open snapshot file).
 * @hash: hash of (@ns, key).
 * @key_len: key length, 1..HKV_DEV_KEY_MAX.
 * @val_len: value length.
 * @mode: permission bits (07777).
 * @ns: namespace id.
 * @version: version given by the daemon.
 * @expire_ms: Unix ms, 0 for none.
 * @uid: owner.
 * @gid: owner group.
 * @ctime: wall time of insertion; the snapshot's timestamps when @mtime_ns
 *	is 0.
 * @mtime_ns: the key's modification time given by the PUT (Unix ns), 0 if
 *	none; the snapshot's timestamps.
 * @dentry: NULL, or the snapshot dentry (and inode) every HKV_IOC_OPEN of
 *	this entry opens; created on the first OPEN (cmpxchg), released with
 *	the last reference.
 * @data: @key_len key bytes followed by @val_len value bytes.
 *
 * Every field except @order and @dentry is written before the entry is
 * published with hlist_add_head_rcu() and never changes afterwards, so a
 * reader holding a reference may use it without a lock.
 */
struct hkvm_entry {
	struct hlist_node hnode;
	struct hkvm_order_node order;
	struct rcu_head rcu;
	refcount_t ref;
	u32 hash;
	u32 key_len;
	u32 val_len;
	umode_t mode;
	u64 ns;
	u64 version;
	u64 expire_ms;
	kuid_t uid;
	kgid_t gid;
	struct timespec64 ctime;
	u64 mtime_ns;
	struct dentry *dentry;
	u8 data[];
};

static inline const u8 *hkvm_entry_key(const struct hkvm_entry *e)
{
	return e->data;
}

static inline const u8 *hkvm_entry_val(const struct hkvm_entry *e)
{
	return e->data + e->key_len;
}

/* Module parameters, validated at load; read-only afterwards except policy. */
extern unsigned int hkvm_buckets;
extern unsigned long hkvm_max_items;
extern unsigned long hkvm_max_bytes;
extern unsigned int hkvm_max_value;
extern unsigned int hkvm_max_tombstones;
extern unsigned int hkvm_event_slots;

/* cache.c */
int hkvm_cache_init(void);
void hkvm_cache_exit(void);
u64 hkvm_now_ms(void);
bool hkvm_expired(const struct hkvm_entry *e, u64 now_ms);

/*
 * hkvm_expired_now() - hkvm_expired() at the current time; reads no clock for
 * an entry without expiry (most hits).
 */
static inline bool hkvm_expired_now(const struct hkvm_entry *e)
{
	return e->expire_ms && e->expire_ms <= hkvm_now_ms();
}

struct hkvm_entry *hkvm_entry_alloc(u32 key_len, u32 val_len);
void hkvm_entry_put(struct hkvm_entry *e);
struct hkvm_entry *hkvm_cache_find_rcu(u64 ns, const u8 *key, u32 key_len);
struct hkvm_entry *hkvm_cache_get(u64 ns, const u8 *key, u32 key_len);
void hkvm_cache_touch(struct hkvm_entry *e);
void hkvm_cache_count(bool hit);
void hkvm_cache_reap_async(void);
int hkvm_cache_put(struct hkvm_entry *e, u64 inval_seq);
int hkvm_cache_del(u64 ns, const u8 *key, u32 key_len, u64 version);
u64 hkvm_cache_clear(bool one_ns, u64 ns);
void hkvm_cache_stat(struct hkv_stat *st);
void hkvm_cache_forget_snapshots(void);
int hkvm_policy_get(void);
int hkvm_policy_set(int policy);
const char *hkvm_policy_name(int policy);
int hkvm_policy_parse(const char *s);

/* evict.c */
void hkvm_order_init(struct hkvm_order *o);
void hkvm_order_insert(struct hkvm_order *o, struct hkvm_entry *e);
void hkvm_order_remove(struct hkvm_order *o, struct hkvm_entry *e);
void hkvm_order_touch(struct hkvm_order *o, struct hkvm_entry *e);
struct hkvm_entry *hkvm_order_victim(struct hkvm_order *o, int policy,
				     const struct hkvm_entry *keep);
struct hkvm_entry *hkvm_order_expired(struct hkvm_order *o, u64 now_ms,
				      const struct hkvm_entry *keep);

/* snap.c */
int hkvm_snap_get(void);
void hkvm_snap_put(void);
void hkvm_snap_exit(void);
struct file *hkvm_snap_open(struct hkvm_entry *e, int flags);

/* events.c */
int hkvm_events_init(void);
void hkvm_events_exit(void);
void hkvm_events_emit(u32 type, const struct hkvm_entry *e, u32 policy);
u64 hkvm_events_head(void);
ssize_t hkvm_events_read(u64 *next, char __user *buf, size_t count,
			 bool nonblock);
bool hkvm_events_pending(u64 next);
struct wait_queue_head *hkvm_events_wq(void);

/* bind.c */
struct file;
int hkvm_bind_set(const struct file *owner, u64 ns, int fd);
int hkvm_bind_remove(u64 ns);
void hkvm_bind_release(const struct file *owner);
int hkvm_bind_check(u64 ns, const char __user *upath, u32 off, bool follow);
int hkvm_mounts_check(int fd);

#endif /* HKVM_INT_H */
