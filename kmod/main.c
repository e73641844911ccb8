// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - /dev/hkv: module parameters, the ioctl ABI, sysfs, init and exit.
 *
 * /dev/hkv is a misc character device, mode 0666: every process may open it
 * to read cached values (GET, OPEN, STAT), since the per-entry uid/gid/mode
 * check is what guards the values.  Writes (PUT, DEL, CLEAR, setting the
 * policy, subscribing to events) need CAP_SYS_ADMIN or an owner descriptor
 * (HKV_IOC_OWNER).  Each open file carries a struct hkvm_file.
 *
 * Every ioctl argument is an extensible structure whose size the command
 * itself encodes.  hkvm_ioctl() dispatches on the whole command through
 * hkvm_iocs[]: type and number select the entry, the direction must be the
 * published one, and the size must lie in [first published size, PAGE_SIZE];
 * anything else is -ENOTTY.  hkvm_copy_arg() then checks that the
 * structure's own size field repeats the command's size (-EINVAL) and copies
 * with copy_struct_from_user() (missing tail = zero, extra tail must be
 * zero).  Outputs are written back with hkvm_copy_out(), never beyond the
 * caller's size.  Keys are copied into a small on-stack buffer or a
 * kmalloc'd one.
 *
 * Read checks are probes: a reader denied here (the preload shim) falls back
 * to the real open(2) of the file, which does the audited check.  They use
 * the _noaudit capability forms, in the caller's user namespace and only for
 * entries whose uid and gid are mapped there, as the VFS's
 * capable_wrt_inode_uidgid() does.  Writer checks are real denials and stay
 * audited (capable(CAP_SYS_ADMIN) in the initial namespace: the cache is
 * shared by the whole machine).
 *
 * Sysfs: /sys/kernel/hkv/{items,bytes,hits,misses,insertions,evictions,
 * invalidations,expirations,stale,tombstones,inval_seq,policy}; policy is
 * writable by root.  Parameters live in /sys/module/hkv/parameters/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/mutex.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/log2.h>
#include <linux/build_bug.h>
#include <linux/user_namespace.h>

#include "hkvm_int.h"

unsigned int hkvm_buckets = 4096;
module_param_named(buckets, hkvm_buckets, uint, 0444);
MODULE_PARM_DESC(buckets, "hash chains, power of two, 16..16777216 (4096)");

unsigned long hkvm_max_items = 16384;
module_param_named(max_items, hkvm_max_items, ulong, 0444);
MODULE_PARM_DESC(max_items, "most cached entries, 1..16777216 (16384)");

unsigned long hkvm_max_bytes = 64UL << 20;
module_param_named(max_bytes, hkvm_max_bytes, ulong, 0444);
MODULE_PARM_DESC(max_bytes,
		 "most key+value bytes cached, 4096..2^40 (67108864)");

unsigned int hkvm_max_value = 1U << 20;
module_param_named(max_value, hkvm_max_value, uint, 0444);
MODULE_PARM_DESC(max_value,
		 "largest value, 1..min(max_bytes,64 MiB) (1048576)");

unsigned int hkvm_max_tombstones = 65536;
module_param_named(max_tombstones, hkvm_max_tombstones, uint, 0444);
MODULE_PARM_DESC(max_tombstones,
		 "invalidation tombstones kept, 1..16777216 (65536)");

unsigned int hkvm_event_slots = 256;
module_param_named(event_slots, hkvm_event_slots, uint, 0444);
MODULE_PARM_DESC(event_slots, "records in the event ring, 16..65536 (256)");

static int hkvm_param_policy_set(const char *val, const struct kernel_param *kp)
{
	int policy = hkvm_policy_parse(val);

	if (policy < 0) {
		pr_err("policy: \"%s\" is not one of lru, lfu, fifo\n", val);
		return -EINVAL;
	}
	hkvm_policy_set(policy);
	return 0;
}

static int hkvm_param_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", hkvm_policy_name(hkvm_policy_get()));
}

static const struct kernel_param_ops hkvm_param_policy_ops = {
	.set = hkvm_param_policy_set,
	.get = hkvm_param_policy_get,
};
module_param_cb(policy, &hkvm_param_policy_ops, NULL, 0644);
MODULE_PARM_DESC(policy, "eviction policy: lru, lfu or fifo (lru)");

/**
 * struct hkvm_file - state of one open /dev/hkv.
 * @owner: owner rights (HKV_IOC_OWNER); READ_ONCE/WRITE_ONCE.
 * @subscribed: events subscribed; set under @ev_lock.
 * @ev_lock: serializes event reads and (re)subscription.
 * @ev_next: event cursor; under @ev_lock (read locklessly by poll).
 */
struct hkvm_file {
	bool owner;
	bool subscribed;
	struct mutex ev_lock;	/* event reads, (re)subscription */
	u64 ev_next;
};

/* Small keys stay on the stack; the rest go to the heap. */
#define HKVM_KEY_INLINE 128

struct hkvm_key {
	u8 *p;
	u32 len;
	u8 inline_buf[HKVM_KEY_INLINE];
};

static int hkvm_key_copy(struct hkvm_key *k, u64 uptr, u32 len)
{
	k->p = NULL;
	k->len = len;
	if (!len)
		return -EINVAL;
	if (len > HKV_DEV_KEY_MAX)
		return -ENAMETOOLONG;
	if (len <= HKVM_KEY_INLINE) {
		k->p = k->inline_buf;
	} else {
		k->p = kmalloc(len, GFP_KERNEL);
		if (!k->p)
			return -ENOMEM;
	}
	if (copy_from_user(k->p, u64_to_user_ptr(uptr), len)) {
		if (k->p != k->inline_buf)
			kfree(k->p);
		k->p = NULL;
		return -EFAULT;
	}
	return 0;
}

static void hkvm_key_release(struct hkvm_key *k)
{
	if (k->p && k->p != k->inline_buf)
		kfree(k->p);
	k->p = NULL;
}

/*
 * Copy an extensible structure of @usize bytes (the command's size, already
 * checked by hkvm_ioctl()); its first field must repeat that size.
 */
static int hkvm_copy_arg(void *karg, size_t ksize, void __user *uarg,
			 u32 usize)
{
	u32 field;
	int rc;

	if (get_user(field, (u32 __user *)uarg))
		return -EFAULT;
	if (field != usize)
		return -EINVAL;
	rc = copy_struct_from_user(karg, ksize, uarg, usize);
	if (rc)
		return rc;
	*(u32 *)karg = usize;
	return 0;
}

/* Write back bytes [@from, end) of @karg, clipped to the caller's size. */
static int hkvm_copy_out(void __user *uarg, const void *karg, size_t ksize,
			 u32 usize, size_t from)
{
	size_t end = min_t(size_t, ksize, usize);

	if (end <= from)
		return 0;
	if (copy_to_user(uarg + from, karg + from, end - from))
		return -EFAULT;
	return 0;
}

static bool hkvm_may_write(struct file *file)
{
	struct hkvm_file *hf = file->private_data;

	return READ_ONCE(hf->owner) || capable(CAP_SYS_ADMIN);
}

/* hkvm_copy_arg() for a command that changes the cache: owner or CAP_SYS_ADMIN only. */
static int hkvm_copy_warg(struct file *file, void *karg, size_t ksize,
			  void __user *uarg, u32 usize)
{
	if (!hkvm_may_write(file))
		return -EPERM;
	return hkvm_copy_arg(karg, ksize, uarg, usize);
}

/* The mode-bits part of the VFS's read check; never sleeps. */
static bool hkvm_mode_allows_read(const struct hkvm_entry *e)
{
	umode_t mode = e->mode;

	if (uid_eq(current_fsuid(), e->uid))
		mode >>= 6;
	else if (in_group_p(e->gid))
		mode >>= 3;
	return mode & 0004;
}

/*
 * capable_wrt_inode_uidgid() for an entry, without an audit record: @cap in
 * the caller's user namespace, which must map the entry's uid and gid.
 */
static bool hkvm_capable_wrt_entry(const struct hkvm_entry *e, int cap)
{
	struct user_namespace *ns = current_user_ns();

	return kuid_has_mapping(ns, e->uid) && kgid_has_mapping(ns, e->gid) &&
	       ns_capable_noaudit(ns, cap);
}

/* The VFS's read check (generic_permission, MAY_READ) against an entry. */
static bool hkvm_may_read(const struct hkvm_entry *e)
{
	return hkvm_mode_allows_read(e) ||
	       hkvm_capable_wrt_entry(e, CAP_DAC_READ_SEARCH) ||
	       hkvm_capable_wrt_entry(e, CAP_DAC_OVERRIDE);
}

/*
 * inode_owner_or_capable() for an entry, without an audit record: what
 * open(2) asks of an O_NOATIME caller (may_open()).
 */
static bool hkvm_owner_or_capable(const struct hkvm_entry *e)
{
	struct user_namespace *ns = current_user_ns();

	if (uid_eq(current_fsuid(), e->uid))
		return true;
	return kuid_has_mapping(ns, e->uid) &&
	       ns_capable_noaudit(ns, CAP_FOWNER);
}

/*
 * Look a key up for a reader: returns a referenced, unexpired, readable
 * entry or an error, and counts the hit or miss.
 */
static struct hkvm_entry *hkvm_lookup_readable(u64 ns, const struct hkvm_key *k)
{
	struct hkvm_entry *e;

	e = hkvm_cache_get(ns, k->p, k->len);
	if (!e) {
		hkvm_cache_count(false);
		return ERR_PTR(-ENOENT);
	}
	if (hkvm_expired_now(e)) {
		hkvm_entry_put(e);
		hkvm_cache_reap_async();
		hkvm_cache_count(false);
		return ERR_PTR(-ENOENT);
	}
	if (!hkvm_may_read(e)) {
		hkvm_entry_put(e);
		return ERR_PTR(-EACCES);
	}
	hkvm_cache_touch(e);
	hkvm_cache_count(true);
	return e;
}

static void hkvm_get_meta(struct hkv_get *a, const struct hkvm_entry *e)
{
	a->value_len = e->val_len;
	a->mode = e->mode;
	a->uid = from_kuid_munged(current_user_ns(), e->uid);
	a->gid = from_kgid_munged(current_user_ns(), e->gid);
	a->version = e->version;
	a->expire_ms = e->expire_ms;
	a->mtime_ns = e->mtime_ns;
}

/*
 * Small values are copied to the stack inside the RCU read-side section, so
 * the common GET takes no reference (two atomics fewer); anything else (a
 * large value, a short buffer, a check that needs capable()) goes the
 * referenced way.
 */
#define HKVM_GET_INLINE 192

static long hkvm_ioc_get(struct file *file, void __user *uarg, u32 usize)
{
	u8 small[HKVM_GET_INLINE];
	struct hkvm_entry *e;
	struct hkv_get a;
	struct hkvm_key k;
	u32 len;
	long rc;

	rc = hkvm_copy_arg(&a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.flags || a.reserved || a.reserved2)
		return -EINVAL;
	rc = hkvm_key_copy(&k, a.key_ptr, a.key_len);
	if (rc)
		return rc;

	rcu_read_lock();
	e = hkvm_cache_find_rcu(a.ns, k.p, k.len);
	if (e && e->val_len <= sizeof(small) && a.buf_len >= e->val_len &&
	    !hkvm_expired_now(e) && hkvm_mode_allows_read(e)) {
		len = e->val_len;
		memcpy(small, hkvm_entry_val(e), len);
		hkvm_get_meta(&a, e);
		hkvm_cache_touch(e);
		rcu_read_unlock();
		hkvm_key_release(&k);
		hkvm_cache_count(true);
		if (len && copy_to_user(u64_to_user_ptr(a.buf_ptr), small, len))
			return -EFAULT;
		return hkvm_copy_out(uarg, &a, sizeof(a), usize,
				     offsetof(struct hkv_get, value_len));
	}
	rcu_read_unlock();

	e = hkvm_lookup_readable(a.ns, &k);
	hkvm_key_release(&k);
	if (IS_ERR(e))
		return PTR_ERR(e);
	hkvm_get_meta(&a, e);
	if (a.buf_len < e->val_len)
		rc = -ERANGE;
	else if (e->val_len &&
		 copy_to_user(u64_to_user_ptr(a.buf_ptr), hkvm_entry_val(e),
			      e->val_len))
		rc = -EFAULT;
	hkvm_entry_put(e);
	if (rc != -EFAULT &&
	    hkvm_copy_out(uarg, &a, sizeof(a), usize,
			  offsetof(struct hkv_get, value_len)))
		rc = -EFAULT;
	return rc;
}

#define HKVM_OPEN_FLAGS (O_CLOEXEC | O_NONBLOCK | O_LARGEFILE | O_NOATIME | \
			 O_NOCTTY | O_NOFOLLOW)

/*
 * The output fields are written before the descriptor is installed, so a
 * failed copy leaves no descriptor behind.
 */
static long hkvm_ioc_open(struct file *file, void __user *uarg, u32 usize)
{
	struct hkvm_entry *e;
	struct file *snap;
	struct hkv_open a;
	struct hkvm_key k;
	int fd;
	long rc;

	rc = hkvm_copy_arg(&a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.reserved || a.reserved2 || (a.flags & ~HKVM_OPEN_FLAGS) ||
	    (a.flags & O_ACCMODE) != O_RDONLY ||
	    (a.checks & ~(HKV_OPEN_CHECK_PATH | HKV_OPEN_CHECK_MOUNTS)) ||
	    (!(a.checks & HKV_OPEN_CHECK_PATH) && (a.path_ptr || a.path_off)) ||
	    (!(a.checks & HKV_OPEN_CHECK_MOUNTS) && a.mnt_fd))
		return -EINVAL;
	/*
	 * The checks come before the lookup: a key is served only if the
	 * mounts the caller resolved the path with are still current (the
	 * walk may sleep: the filesystem revalidating a name).
	 */
	if (a.checks & HKV_OPEN_CHECK_MOUNTS) {
		rc = hkvm_mounts_check(a.mnt_fd);
		if (rc)
			return rc;
	}
	if (a.checks & HKV_OPEN_CHECK_PATH) {
		rc = hkvm_bind_check(a.ns, u64_to_user_ptr(a.path_ptr),
				     a.path_off, !(a.flags & O_NOFOLLOW));
		if (rc)
			return rc;
	}
	rc = hkvm_key_copy(&k, a.key_ptr, a.key_len);
	if (rc)
		return rc;
	e = hkvm_lookup_readable(a.ns, &k);
	hkvm_key_release(&k);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if ((a.flags & O_NOATIME) && !hkvm_owner_or_capable(e)) {
		hkvm_entry_put(e);
		return -EPERM;
	}
	a.value_len = e->val_len;
	a.mode = e->mode;
	a.uid = from_kuid_munged(current_user_ns(), e->uid);
	a.gid = from_kgid_munged(current_user_ns(), e->gid);
	a.version = e->version;
	a.expire_ms = e->expire_ms;
	a.mtime_ns = e->mtime_ns;
	snap = hkvm_snap_open(e, a.flags);
	if (IS_ERR(snap)) {
		hkvm_entry_put(e);
		return PTR_ERR(snap);
	}
	/* From here the file holds the entry reference. */
	fd = get_unused_fd_flags(a.flags & O_CLOEXEC);
	if (fd < 0) {
		fput(snap);
		return fd;
	}
	if (hkvm_copy_out(uarg, &a, sizeof(a), usize,
			  offsetof(struct hkv_open, value_len))) {
		put_unused_fd(fd);
		fput(snap);
		return -EFAULT;
	}
	fd_install(fd, snap);
	return fd;
}

static long hkvm_ioc_put(struct file *file, void __user *uarg, u32 usize)
{
	struct hkvm_entry *e;
	struct hkv_put a;
	kuid_t uid;
	kgid_t gid;
	long rc;

	rc = hkvm_copy_warg(file, &a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.flags || a.reserved || (a.mode & ~07777))
		return -EINVAL;
	uid = make_kuid(current_user_ns(), a.uid);
	gid = make_kgid(current_user_ns(), a.gid);
	if (!uid_valid(uid) || !gid_valid(gid))
		return -EINVAL;
	if (!a.key_len)
		return -EINVAL;
	if (a.key_len > HKV_DEV_KEY_MAX)
		return -ENAMETOOLONG;
	if (a.value_len > hkvm_max_value ||
	    (u64)a.key_len + a.value_len > hkvm_max_bytes)
		return -EFBIG;

	e = hkvm_entry_alloc(a.key_len, a.value_len);
	if (!e)
		return -ENOMEM;
	if (copy_from_user(e->data, u64_to_user_ptr(a.key_ptr), a.key_len) ||
	    (a.value_len &&
	     copy_from_user(e->data + a.key_len, u64_to_user_ptr(a.value_ptr),
			    a.value_len))) {
		hkvm_entry_put(e);
		return -EFAULT;
	}
	e->ns = a.ns;
	e->version = a.version;
	e->expire_ms = a.expire_ms;
	e->uid = uid;
	e->gid = gid;
	e->mode = a.mode;
	e->mtime_ns = a.mtime_ns;
	return hkvm_cache_put(e, a.inval_seq);
}

static long hkvm_ioc_del(struct file *file, void __user *uarg, u32 usize)
{
	struct hkv_del a;
	struct hkvm_key k;
	long rc;

	rc = hkvm_copy_warg(file, &a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.flags || a.reserved)
		return -EINVAL;
	rc = hkvm_key_copy(&k, a.key_ptr, a.key_len);
	if (rc)
		return rc;
	rc = hkvm_cache_del(a.ns, k.p, k.len, a.version);
	hkvm_key_release(&k);
	return rc;
}

static long hkvm_ioc_clear(struct file *file, void __user *uarg, u32 usize)
{
	struct hkv_clear a;
	long rc;

	rc = hkvm_copy_warg(file, &a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if ((a.flags & ~HKV_CLEAR_NS) || (!(a.flags & HKV_CLEAR_NS) && a.ns))
		return -EINVAL;
	a.removed = hkvm_cache_clear(a.flags & HKV_CLEAR_NS, a.ns);
	return hkvm_copy_out(uarg, &a, sizeof(a), usize,
			     offsetof(struct hkv_clear, removed));
}

static long hkvm_ioc_stat(struct file *file, void __user *uarg, u32 usize)
{
	struct hkv_stat a;
	long rc;

	rc = hkvm_copy_arg(&a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	hkvm_cache_stat(&a);
	return hkvm_copy_out(uarg, &a, sizeof(a), usize,
			     offsetof(struct hkv_stat, policy));
}

static long hkvm_ioc_policy(struct file *file, void __user *uarg, u32 usize)
{
	struct hkv_policy a;
	long rc;

	rc = hkvm_copy_arg(&a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.policy == HKV_POLICY_QUERY) {
		a.policy = hkvm_policy_get();
	} else {
		if (!hkvm_may_write(file))
			return -EPERM;
		if (a.policy > HKV_POLICY_FIFO)
			return -EINVAL;
		rc = hkvm_policy_set(a.policy);
		if (rc < 0)
			return rc;
		a.policy = rc;
	}
	return hkvm_copy_out(uarg, &a, sizeof(a), usize,
			     offsetof(struct hkv_policy, policy));
}

static long hkvm_ioc_owner(struct file *file, void __user *uarg, u32 usize)
{
	struct hkvm_file *hf = file->private_data;
	struct hkv_owner a;
	long rc;

	rc = hkvm_copy_arg(&a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	switch (a.flags) {
	case HKV_OWNER_CLAIM:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		WRITE_ONCE(hf->owner, true);
		return 0;
	case HKV_OWNER_RELEASE:
		WRITE_ONCE(hf->owner, false);
		return 0;
	default:
		return -EINVAL;
	}
}

static long hkvm_ioc_events(struct file *file, void __user *uarg, u32 usize)
{
	struct hkvm_file *hf = file->private_data;
	struct hkv_events a;
	long rc;

	rc = hkvm_copy_warg(file, &a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if (a.flags)
		return -EINVAL;
	mutex_lock(&hf->ev_lock);
	hf->ev_next = hkvm_events_head();
	a.next_seq = hf->ev_next;
	WRITE_ONCE(hf->subscribed, true);
	mutex_unlock(&hf->ev_lock);
	return hkvm_copy_out(uarg, &a, sizeof(a), usize,
			     offsetof(struct hkv_events, next_seq));
}

static long hkvm_ioc_bind(struct file *file, void __user *uarg, u32 usize)
{
	struct hkv_bind a;
	long rc;

	rc = hkvm_copy_warg(file, &a, sizeof(a), uarg, usize);
	if (rc)
		return rc;
	if ((a.flags & ~HKV_BIND_REMOVE) || a.reserved || !a.ns)
		return -EINVAL;
	if (a.flags & HKV_BIND_REMOVE)
		return a.fd ? -EINVAL : hkvm_bind_remove(a.ns);
	return hkvm_bind_set(file, a.ns, a.fd);
}

/**
 * struct hkvm_ioc - one command of /dev/hkv.
 * @cmd: the published command; its direction is the one accepted, its size
 *	is the module's structure size.
 * @ver0: smallest structure size accepted (HKV_*_SIZE_VER0).
 * @fn: handler; gets the caller's structure size (the command's).
 */
struct hkvm_ioc {
	unsigned int cmd;
	u32 ver0;
	long (*fn)(struct file *file, void __user *uarg, u32 usize);
};

static const struct hkvm_ioc hkvm_iocs[] = {
	[_IOC_NR(HKV_IOC_GET)] = { HKV_IOC_GET, HKV_GET_SIZE_VER0,
				   hkvm_ioc_get },
	[_IOC_NR(HKV_IOC_OPEN)] = { HKV_IOC_OPEN, HKV_OPEN_SIZE_VER0,
				    hkvm_ioc_open },
	[_IOC_NR(HKV_IOC_PUT)] = { HKV_IOC_PUT, HKV_PUT_SIZE_VER0,
				   hkvm_ioc_put },
	[_IOC_NR(HKV_IOC_DEL)] = { HKV_IOC_DEL, HKV_DEL_SIZE_VER0,
				   hkvm_ioc_del },
	[_IOC_NR(HKV_IOC_CLEAR)] = { HKV_IOC_CLEAR, HKV_CLEAR_SIZE_VER0,
				     hkvm_ioc_clear },
	[_IOC_NR(HKV_IOC_STAT)] = { HKV_IOC_STAT, HKV_STAT_SIZE_VER0,
				    hkvm_ioc_stat },
	[_IOC_NR(HKV_IOC_POLICY)] = { HKV_IOC_POLICY, HKV_POLICY_SIZE_VER0,
				      hkvm_ioc_policy },
	[_IOC_NR(HKV_IOC_OWNER)] = { HKV_IOC_OWNER, HKV_OWNER_SIZE_VER0,
				     hkvm_ioc_owner },
	[_IOC_NR(HKV_IOC_EVENTS)] = { HKV_IOC_EVENTS, HKV_EVENTS_SIZE_VER0,
				      hkvm_ioc_events },
	[_IOC_NR(HKV_IOC_BIND)] = { HKV_IOC_BIND, HKV_BIND_SIZE_VER0,
				    hkvm_ioc_bind },
};

static long hkvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	const struct hkvm_ioc *ioc;
	u32 usize = _IOC_SIZE(cmd);

	if (_IOC_TYPE(cmd) != HKV_IOC_MAGIC ||
	    _IOC_NR(cmd) >= ARRAY_SIZE(hkvm_iocs))
		return -ENOTTY;
	ioc = &hkvm_iocs[_IOC_NR(cmd)];
	if (!ioc->fn || _IOC_DIR(cmd) != _IOC_DIR(ioc->cmd) ||
	    usize < ioc->ver0 || usize > PAGE_SIZE)
		return -ENOTTY;
	return ioc->fn(file, (void __user *)arg, usize);
}

static int hkvm_open(struct inode *inode, struct file *file)
{
	struct hkvm_file *hf;
	int rc;

	hf = kzalloc(sizeof(*hf), GFP_KERNEL);
	if (!hf)
		return -ENOMEM;
	rc = hkvm_snap_get();
	if (rc) {
		kfree(hf);
		return rc;
	}
	mutex_init(&hf->ev_lock);
	file->private_data = hf;
	return 0;
}

static int hkvm_release(struct inode *inode, struct file *file)
{
	struct hkvm_file *hf = file->private_data;

	hkvm_bind_release(file);
	hkvm_snap_put();
	mutex_destroy(&hf->ev_lock);
	kfree(hf);
	return 0;
}

static ssize_t hkvm_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct hkvm_file *hf = file->private_data;
	ssize_t rc;

	if (!READ_ONCE(hf->subscribed))
		return -EINVAL;
	if (mutex_lock_interruptible(&hf->ev_lock))
		return -ERESTARTSYS;
	rc = hkvm_events_read(&hf->ev_next, buf, count,
			      file->f_flags & O_NONBLOCK);
	mutex_unlock(&hf->ev_lock);
	return rc;
}

static __poll_t hkvm_poll(struct file *file, struct poll_table_struct *pt)
{
	struct hkvm_file *hf = file->private_data;

	if (!READ_ONCE(hf->subscribed))
		return EPOLLERR;
	poll_wait(file, hkvm_events_wq(), pt);
	return hkvm_events_pending(READ_ONCE(hf->ev_next)) ?
	       EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_operations hkvm_fops = {
	.owner = THIS_MODULE,
	.open = hkvm_open,
	.release = hkvm_release,
	.read = hkvm_read,
	.poll = hkvm_poll,
	.unlocked_ioctl = hkvm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice hkvm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hkv",
	.fops = &hkvm_fops,
	.mode = 0666,
};

/* /sys/kernel/hkv */

#define HKVM_STAT_ATTR(field)						\
static ssize_t field##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct hkv_stat st;						\
									\
	hkvm_cache_stat(&st);						\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)st.field);	\
}									\
static struct kobj_attribute hkvm_attr_##field = __ATTR_RO(field)

HKVM_STAT_ATTR(items);
HKVM_STAT_ATTR(bytes);
HKVM_STAT_ATTR(hits);
HKVM_STAT_ATTR(misses);
HKVM_STAT_ATTR(insertions);
HKVM_STAT_ATTR(evictions);
HKVM_STAT_ATTR(invalidations);
HKVM_STAT_ATTR(expirations);
HKVM_STAT_ATTR(stale);
HKVM_STAT_ATTR(tombstones);
HKVM_STAT_ATTR(inval_seq);

static ssize_t policy_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", hkvm_policy_name(hkvm_policy_get()));
}

static ssize_t policy_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	int policy = hkvm_policy_parse(buf);

	if (policy < 0)
		return -EINVAL;
	hkvm_policy_set(policy);
	return count;
}

static struct kobj_attribute hkvm_attr_policy = __ATTR_RW(policy);

static struct attribute *hkvm_attrs[] = {
	&hkvm_attr_items.attr,
	&hkvm_attr_bytes.attr,
	&hkvm_attr_hits.attr,
	&hkvm_attr_misses.attr,
	&hkvm_attr_insertions.attr,
	&hkvm_attr_evictions.attr,
	&hkvm_attr_invalidations.attr,
	&hkvm_attr_expirations.attr,
	&hkvm_attr_stale.attr,
	&hkvm_attr_tombstones.attr,
	&hkvm_attr_inval_seq.attr,
	&hkvm_attr_policy.attr,
	NULL,
};

static const struct attribute_group hkvm_attr_group = {
	.attrs = hkvm_attrs,
};

static struct kobject *hkvm_kobj;

static int hkvm_check_params(void)
{
	if (hkvm_buckets < 16 || hkvm_buckets > (1U << 24) ||
	    !is_power_of_2(hkvm_buckets)) {
		pr_err("buckets=%u: must be a power of two in 16..16777216\n",
		       hkvm_buckets);
		return -EINVAL;
	}
	if (hkvm_max_items < 1 || hkvm_max_items > (1UL << 24)) {
		pr_err("max_items=%lu: must be in 1..16777216\n",
		       hkvm_max_items);
		return -EINVAL;
	}
	if (hkvm_max_bytes < 4096 || hkvm_max_bytes > (1UL << 40)) {
		pr_err("max_bytes=%lu: must be in 4096..2^40\n", hkvm_max_bytes);
		return -EINVAL;
	}
	if (hkvm_max_value < 1 || hkvm_max_value > (64U << 20) ||
	    hkvm_max_value > hkvm_max_bytes) {
		pr_err("max_value=%u: must be in 1..min(max_bytes, 67108864)\n",
		       hkvm_max_value);
		return -EINVAL;
	}
	if (hkvm_max_tombstones < 1 || hkvm_max_tombstones > (1U << 24)) {
		pr_err("max_tombstones=%u: must be in 1..16777216\n",
		       hkvm_max_tombstones);
		return -EINVAL;
	}
	if (hkvm_event_slots < 16 || hkvm_event_slots > 65536) {
		pr_err("event_slots=%u: must be in 16..65536\n",
		       hkvm_event_slots);
		return -EINVAL;
	}
	return 0;
}

static int __init hkvm_init(void)
{
	int rc;

	static_assert(sizeof(struct hkv_get) == HKV_GET_SIZE_VER1);
	static_assert(sizeof(struct hkv_open) == HKV_OPEN_SIZE_VER2);
	static_assert(sizeof(struct hkv_put) == HKV_PUT_SIZE_VER1);
	static_assert(sizeof(struct hkv_del) == HKV_DEL_SIZE_VER0);
	static_assert(sizeof(struct hkv_clear) == HKV_CLEAR_SIZE_VER0);
	static_assert(sizeof(struct hkv_stat) == HKV_STAT_SIZE_VER0);
	static_assert(sizeof(struct hkv_policy) == HKV_POLICY_SIZE_VER0);
	static_assert(sizeof(struct hkv_owner) == HKV_OWNER_SIZE_VER0);
	static_assert(sizeof(struct hkv_events) == HKV_EVENTS_SIZE_VER0);
	static_assert(sizeof(struct hkv_bind) == HKV_BIND_SIZE_VER0);

	rc = hkvm_check_params();
	if (rc)
		return rc;
	rc = hkvm_cache_init();
	if (rc)
		return rc;
	rc = hkvm_events_init();
	if (rc)
		goto out_cache;
	hkvm_kobj = kobject_create_and_add("hkv", kernel_kobj);
	if (!hkvm_kobj) {
		rc = -ENOMEM;
		goto out_events;
	}
	rc = sysfs_create_group(hkvm_kobj, &hkvm_attr_group);
	if (rc)
		goto out_kobj;
	rc = misc_register(&hkvm_misc);
	if (rc) {
		pr_err("misc_register failed: %d\n", rc);
		goto out_kobj;
	}
	pr_info("ready: buckets=%u max_items=%lu max_bytes=%lu max_value=%u policy=%s\n",
		hkvm_buckets, hkvm_max_items, hkvm_max_bytes, hkvm_max_value,
		hkvm_policy_name(hkvm_policy_get()));
	return 0;

out_kobj:
	kobject_put(hkvm_kobj);
out_events:
	hkvm_events_exit();
out_cache:
	hkvm_cache_exit();
	return rc;
}

static void __exit hkvm_exit(void)
{
	misc_deregister(&hkvm_misc);
	kobject_put(hkvm_kobj);
	hkvm_snap_exit();
	hkvm_cache_exit();
	hkvm_events_exit();
}

module_init(hkvm_init);
module_exit(hkvm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hkvfs kernel cache of hot values (/dev/hkv)");
