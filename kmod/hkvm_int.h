/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hkvm_int.h - private interfaces between the files of hkv.ko.
 *
 * cache.c   the RCU hash table, eviction, tombstones, counters
 * snap.c    read-only snapshot files handed out by HKV_IOC_OPEN
 * events.c  the ring of eviction/expiry records read from /dev/hkv
 * main.c    module parameters, /dev/hkv, ioctls, sysfs, init/exit
 */
#ifndef HKVM_INT_H
#define HKVM_INT_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/atomic.h>
#include <linux/uidgid.h>
#include <linux/time64.h>
#include <uapi/linux/hkv.h>

/**
 * struct hkvm_entry - one cached value; immutable once published.
 * @hnode: hash chain link; RCU readers, changed only under hkvm_cache.lock.
 * @lnode: insertion-order list link; only under hkvm_cache.lock.
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
 * @atime: LRU clock tick of the last hit (or of the insertion); written
 *	locklessly by readers, read by the evicting writer.
 * @freq: hits since insertion (LFU); lockless like @atime.
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
 * Every field except @atime, @freq and @dentry is written before the entry is
 * published with hlist_add_head_rcu() and never changes afterwards, so a
 * reader holding a reference may use it without a lock.
 */
struct hkvm_entry {
	struct hlist_node hnode;
	struct list_head lnode;
	struct rcu_head rcu;
	refcount_t ref;
	u32 hash;
	u32 key_len;
	u32 val_len;
	umode_t mode;
	u64 ns;
	u64 version;
	u64 expire_ms;
	atomic64_t atime;
	atomic64_t freq;
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

#endif /* HKVM_INT_H */
