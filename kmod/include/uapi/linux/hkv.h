/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hkv.h - the ioctl ABI of /dev/hkv, the hkvfs kernel cache of hot values.
 *
 * This is the one header shared between the kernel module (kmod/) and user
 * space (the hkvfs daemon, the preload shim, hkvctl).  User space includes it
 * as <linux/hkv.h> with kmod/include/uapi on the include path.
 *
 * Model
 * -----
 * The cache maps (namespace, key) to an immutable value snapshot carrying the
 * owner uid/gid, a file mode, an expiry time and a version.  The namespace is
 * a u64 chosen by the daemon (one per mounted filesystem) so that several
 * mounts never collide.  Keys are byte strings of 1..HKV_DEV_KEY_MAX bytes; values
 * are 0..max_value bytes (module parameter).
 *
 * Readers (any user) use HKV_IOC_GET or HKV_IOC_OPEN; both check the caller's
 * fsuid/fsgid/supplementary groups against the entry's uid/gid/mode exactly as
 * the VFS checks the read bit of a file (CAP_DAC_OVERRIDE or
 * CAP_DAC_READ_SEARCH bypass it).  Expired entries are never returned.
 *
 * Writers (HKV_IOC_PUT, HKV_IOC_DEL, HKV_IOC_CLEAR, HKV_IOC_POLICY) must hold
 * CAP_SYS_ADMIN or call through a file descriptor that was made the owner
 * descriptor with HKV_IOC_OWNER (which itself needs CAP_SYS_ADMIN, so a
 * daemon may claim ownership and then drop its privileges).
 *
 * Extensible structures
 * ---------------------
 * Every ioctl argument starts with "__u32 size", which the caller sets to
 * sizeof() of the structure it was compiled with; the command encodes the
 * same size (_IOC_SIZE), as the HKV_IOC_* macros below do.  The module
 * dispatches on the whole command: type, number, direction and size.  A
 * command whose type, number or direction is not one listed below, or whose
 * size is below the first published size of its structure (HKV_*_SIZE_VER0)
 * or above 4096, is not a command of this device: -ENOTTY.  Within those
 * bounds any size is accepted: when the caller's structure is larger than the
 * module's, the extra bytes must be zero (else -E2BIG), when it is smaller
 * the missing fields read as zero.  The structure's size field must equal the
 * command's size (else -EINVAL).  Output fields are written back only up to
 * the caller's size.  All reserved fields and unknown flags must be zero
 * (else -EINVAL).  Pointers are passed as __u64.
 *
 * Versions and stale promotions
 * -----------------------------
 * Each entry carries a version chosen by the daemon; versions of one key only
 * grow.  HKV_IOC_DEL with a non-zero version records a tombstone "versions <=
 * V of this key are stale"; a later HKV_IOC_PUT of a version <= V fails with
 * -ESTALE, as does a PUT whose version is lower than the cached entry's.
 * Tombstones are kept in a bounded FIFO (module parameter max_tombstones).  To
 * stay safe when an old tombstone has been dropped, a PUT may carry a ticket:
 * the inval_seq read with HKV_IOC_STAT before the daemon read the value.  A
 * PUT whose ticket is older than the oldest invalidation the module still
 * remembers (or than the last CLEAR) fails with -ESTALE: the module refuses
 * whenever it cannot prove the promotion is fresh, it never guesses.
 *
 * Eviction events
 * ---------------
 * An owner descriptor may subscribe with HKV_IOC_EVENTS; read() on it then
 * returns whole struct hkv_event records (a buffer smaller than one record
 * gets -EINVAL), blocks unless O_NONBLOCK (then -EAGAIN), and poll() reports
 * POLLIN while records are pending.  A reader that falls behind the ring gets
 * one HKV_EV_LOST record carrying the number of records it missed.
 */
#ifndef UAPI_LINUX_HKV_H
#define UAPI_LINUX_HKV_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Largest key, in bytes.  Keys are never empty. */
#define HKV_DEV_KEY_MAX		1024

/* Eviction policies (module parameter "policy": "lru", "lfu", "fifo"). */
#define HKV_POLICY_LRU		0
#define HKV_POLICY_LFU		1
#define HKV_POLICY_FIFO		2
/* HKV_IOC_POLICY: leave the policy unchanged, only report it. */
#define HKV_POLICY_QUERY	0xffffffffu

/**
 * struct hkv_get - HKV_IOC_GET: copy a value into a user buffer.
 * @size: sizeof(struct hkv_get) as compiled by the caller.
 * @flags: must be 0.
 * @ns: namespace id.
 * @key_ptr: user address of the key bytes.
 * @key_len: key length, 1..HKV_DEV_KEY_MAX.
 * @buf_len: capacity of @buf_ptr; 0 asks for the size only.
 * @buf_ptr: user address receiving the value.
 * @value_len: out: the value length.  Set also when the call fails with
 *	-ERANGE because @buf_len is too small (nothing else is copied then).
 * @mode: out: the entry's permission bits (07777).
 * @uid: out: owner uid, in the caller's user namespace.
 * @gid: out: owner gid, in the caller's user namespace.
 * @reserved: must be 0.
 * @reserved2: must be 0.
 * @version: out: the entry's version.
 * @expire_ms: out: expiry in Unix milliseconds, 0 when none.
 * @mtime_ns: out: the key's modification time in Unix nanoseconds as given
 *	by the PUT (0 when the PUT gave none).  Not in the VER0 structure.
 *
 * Return: 0, -ENOENT (absent or expired), -EACCES (no read permission),
 * -ERANGE (buffer too small, @value_len set), -EFAULT, -EINVAL,
 * -ENAMETOOLONG (key too long), -E2BIG (non-zero tail of a larger struct).
 */
struct hkv_get {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__u64 key_ptr;
	__u32 key_len;
	__u32 buf_len;
	__u64 buf_ptr;
	__u32 value_len;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 reserved;
	__u32 reserved2;
	__u64 version;
	__u64 expire_ms;
	__u64 mtime_ns;
};

#define HKV_GET_SIZE_VER0	80	/* without mtime_ns */
#define HKV_GET_SIZE_VER1	88

/*
 * HKV_IOC_OPEN flags: O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_NOATIME,
 * O_NOCTTY, O_NOFOLLOW are accepted (the access mode must be O_RDONLY).
 */

/**
 * struct hkv_open - HKV_IOC_OPEN: get a read-only file holding the value.
 * @size: sizeof(struct hkv_open).
 * @flags: open(2) flags, see above; anything else is -EINVAL.
 * @ns: namespace id.
 * @key_ptr: user address of the key bytes.
 * @key_len: key length, 1..HKV_DEV_KEY_MAX.
 * @reserved: must be 0.
 * @value_len: out: length of the snapshot's value (its st_size).
 * @mode: out: the entry's permission bits (07777).
 * @uid: out: owner uid, in the caller's user namespace.
 * @gid: out: owner gid, in the caller's user namespace.
 * @version: out: the snapshot's version.
 * @expire_ms: out: expiry in Unix milliseconds, 0 when none.
 * @mtime_ns: out: the key's modification time (Unix ns), 0 when unknown.
 * @path_ptr: with HKV_OPEN_CHECK_PATH: the user address of the NUL-terminated
 *	absolute path the caller is about to open(2) as this key, else 0 (not
 *	in the VER0/VER1 structures).  The module then walks the path as
 *	open(2) would (the caller's root, mount namespace and credentials:
 *	search permission on every directory; the last component is followed
 *	unless @flags has O_NOFOLLOW) and serves the key only if the walk ends
 *	on a regular file of the filesystem bound to @ns (HKV_IOC_BIND) at
 *	exactly the path @path_ptr + @path_off from that filesystem's root.
 *	So a key is never served for a path that no longer leads to it: a
 *	mount on top, a chroot, another mount namespace, a bind mount of a
 *	subdirectory, a stacked mount all make the walk end elsewhere.
 * @path_off: with HKV_OPEN_CHECK_PATH: offset in the path of the part below
 *	the filesystem's root; it must start with '/' (e.g. 7 for
 *	"/mnt/kv/a/b" when /mnt/kv is the mount point, 0 when the filesystem is
 *	mounted on "/").  That part is compared byte for byte with the file's
 *	path from the filesystem's root, so it must be in normal form (no "."
 *	or ".." or empty components, no trailing '/').  Else 0.
 * @checks: HKV_OPEN_CHECK_* bits; 0 for none.
 * @mnt_fd: with HKV_OPEN_CHECK_MOUNTS: the caller's open descriptor of
 *	/proc/self/mountinfo (or /proc/PID/mountinfo), else 0.  The module
 *	polls it as poll(2) would (POLLPRI: the mount table changed since the
 *	descriptor was last polled, which consumes the change) and fails with
 *	-EXDEV if it changed, before looking the key up: the cheap form of
 *	"poll mountinfo, then open", in one system call.
 * @reserved2: must be 0.
 *
 * On success the ioctl returns a new file descriptor and fills the output
 * fields (as far as @size reaches) with the metadata of the very snapshot the
 * descriptor reads, so the caller needs no fstat() to learn what it opened.
 * The file is a snapshot of the value at the time of the call: read, pread,
 * readv, lseek, fstat, sendfile and close work as on a regular file; fstat
 * reports S_IFREG with the entry's mode, uid, gid, st_size == value length
 * and st_mtime == @mtime_ns (the insertion time when the PUT gave none).
 * Later PUT/DEL of the key do not change an open snapshot.  As open(2) does,
 * O_NOATIME is refused with -EPERM unless the caller owns the entry (fsuid ==
 * uid) or has CAP_FOWNER in a user namespace where the uid is mapped.
 *
 * Return: a descriptor, or -ENOENT, -EACCES, -EPERM (O_NOATIME), -EMFILE,
 * -ENFILE, -ENOMEM, -EFAULT (also when the output fields cannot be written:
 * no descriptor is installed then), -EINVAL, -ENAMETOOLONG, -E2BIG.  With
 * HKV_OPEN_CHECK_PATH also: -EXDEV when the walk ends outside the filesystem
 * bound to @ns, or at another path in it, or @ns has no binding; -ENOENT
 * when the path names no regular file; any error of the walk (-ENOENT,
 * -EACCES, -ENOTDIR, -ELOOP, -ENAMETOOLONG, ...); -EINVAL when the path is
 * not absolute or @path_off is past its end or not at a '/'.  With
 * HKV_OPEN_CHECK_MOUNTS also: -EXDEV when the mount table changed, -EBADFD
 * when @mnt_fd is not an open mountinfo descriptor.  Unknown @checks bits,
 * or a field of a check that is not asked for being non-zero: -EINVAL.
 */
struct hkv_open {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__u64 key_ptr;
	__u32 key_len;
	__u32 reserved;
	__u32 value_len;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u64 version;
	__u64 expire_ms;
	__u64 mtime_ns;
	__u64 path_ptr;
	__u32 path_off;
	__u32 checks;
	__s32 mnt_fd;
	__u32 reserved2;
};

#define HKV_OPEN_SIZE_VER0	32	/* input fields only */
#define HKV_OPEN_SIZE_VER1	72	/* without the checks */
#define HKV_OPEN_SIZE_VER2	96

/* struct hkv_open.checks */
#define HKV_OPEN_CHECK_PATH	0x1	/* @path_ptr leads to the key */
#define HKV_OPEN_CHECK_MOUNTS	0x2	/* @mnt_fd reports no mount change */

/**
 * struct hkv_put - HKV_IOC_PUT: insert or replace a value (owner only).
 * @size: sizeof(struct hkv_put).
 * @flags: must be 0.
 * @ns: namespace id.
 * @key_ptr: user address of the key bytes.
 * @key_len: key length, 1..HKV_DEV_KEY_MAX.
 * @value_len: value length, 0..max_value.
 * @value_ptr: user address of the value bytes.
 * @version: version of this value; see "Versions" above.
 * @expire_ms: expiry in Unix milliseconds (CLOCK_REALTIME), 0 for none.  A
 *	value already expired is not inserted (an older cached value of the key
 *	is removed) and the call returns 0.
 * @uid: owner uid, in the caller's user namespace.
 * @gid: owner gid, in the caller's user namespace.
 * @mode: permission bits; only 07777 may be set.
 * @reserved: must be 0.
 * @inval_seq: ticket: 0, or HKV_IOC_STAT's inval_seq sampled before the value
 *	was read from the store.
 * @mtime_ns: the key's modification time in Unix nanoseconds, reported back
 *	by GET and OPEN and as the snapshot files' st_mtime; 0 = unknown (the
 *	snapshot then shows the insertion time).  Not in the VER0 structure.
 *
 * Inserting may evict other entries (policy, max_items, max_bytes).
 *
 * Return: 0, -EPERM (not owner), -ESTALE (stale version or ticket),
 * -EFBIG (value larger than max_value or max_bytes), -ENOMEM, -EFAULT,
 * -EINVAL (bad uid/gid/mode/flags), -ENAMETOOLONG, -E2BIG.
 */
struct hkv_put {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__u64 key_ptr;
	__u32 key_len;
	__u32 value_len;
	__u64 value_ptr;
	__u64 version;
	__u64 expire_ms;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 reserved;
	__u64 inval_seq;
	__u64 mtime_ns;
};

#define HKV_PUT_SIZE_VER0	80	/* without mtime_ns */
#define HKV_PUT_SIZE_VER1	88

/**
 * struct hkv_del - HKV_IOC_DEL: invalidate a key (owner only).
 * @size: sizeof(struct hkv_del).
 * @flags: must be 0.
 * @ns: namespace id.
 * @key_ptr: user address of the key bytes.
 * @key_len: key length, 1..HKV_DEV_KEY_MAX.
 * @reserved: must be 0.
 * @version: 0, or "versions <= @version of this key are stale": recorded as
 *	a tombstone even when the key is not cached.
 *
 * When the ioctl returns, no reader that starts later sees the old value
 * (snapshots opened earlier keep their copy).
 *
 * Return: 0 (an entry was removed), -ENOENT (none was cached; the tombstone
 * is still recorded), -EPERM, -ENOMEM (tombstone not recorded; the entry is
 * removed all the same), -EFAULT, -EINVAL, -ENAMETOOLONG, -E2BIG.
 */
struct hkv_del {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__u64 key_ptr;
	__u32 key_len;
	__u32 reserved;
	__u64 version;
};

#define HKV_DEL_SIZE_VER0	40

/* HKV_IOC_CLEAR flags */
#define HKV_CLEAR_NS		0x1	/* only namespace @ns, else everything */

/**
 * struct hkv_clear - HKV_IOC_CLEAR: drop all entries, or one namespace's.
 * @size: sizeof(struct hkv_clear).
 * @flags: 0 or HKV_CLEAR_NS.
 * @ns: namespace id when HKV_CLEAR_NS is set, else must be 0.
 * @removed: out: number of entries removed.
 *
 * Tombstones of the cleared entries are kept; every PUT carrying a ticket
 * older than the clear is refused.
 *
 * Return: 0, -EPERM, -EFAULT, -EINVAL, -E2BIG.
 */
struct hkv_clear {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__u64 removed;
};

#define HKV_CLEAR_SIZE_VER0	24

/**
 * struct hkv_stat - HKV_IOC_STAT: counters and limits (anyone).
 * @size: sizeof(struct hkv_stat).
 * @policy: out: HKV_POLICY_*.
 * @items: out: cached entries.
 * @bytes: out: key + value bytes of the cached entries.
 * @hits: out: GET/OPEN that found a readable, unexpired entry.
 * @misses: out: GET/OPEN that found nothing (or an expired entry).
 * @insertions: out: successful PUTs that inserted a value.
 * @evictions: out: entries removed by the policy to respect the limits.
 * @invalidations: out: entries removed by DEL or CLEAR.
 * @expirations: out: entries removed because their expiry passed.
 * @stale: out: PUTs refused with -ESTALE.
 * @tombstones: out: tombstones currently held.
 * @inval_seq: out: invalidation sequence; use it as a PUT ticket.
 * @max_items: out: parameter max_items.
 * @max_bytes: out: parameter max_bytes.
 * @max_value: out: parameter max_value.
 *
 * Return: 0, -EFAULT, -EINVAL.
 */
struct hkv_stat {
	__u32 size;
	__u32 policy;
	__u64 items;
	__u64 bytes;
	__u64 hits;
	__u64 misses;
	__u64 insertions;
	__u64 evictions;
	__u64 invalidations;
	__u64 expirations;
	__u64 stale;
	__u64 tombstones;
	__u64 inval_seq;
	__u64 max_items;
	__u64 max_bytes;
	__u64 max_value;
};

#define HKV_STAT_SIZE_VER0	120

/**
 * struct hkv_policy - HKV_IOC_POLICY: switch the eviction policy.
 * @size: sizeof(struct hkv_policy).
 * @policy: in: HKV_POLICY_* or HKV_POLICY_QUERY; out: the previous policy.
 *
 * Setting needs owner rights; HKV_POLICY_QUERY is allowed to anyone.
 *
 * Return: 0, -EPERM, -EINVAL, -EFAULT.
 */
struct hkv_policy {
	__u32 size;
	__u32 policy;
};

#define HKV_POLICY_SIZE_VER0	8

/* HKV_IOC_OWNER flags */
#define HKV_OWNER_CLAIM		0x1	/* make this descriptor an owner */
#define HKV_OWNER_RELEASE	0x2	/* give up owner rights */

/**
 * struct hkv_owner - HKV_IOC_OWNER: make this open file an owner descriptor.
 * @size: sizeof(struct hkv_owner).
 * @flags: exactly one of HKV_OWNER_CLAIM (needs CAP_SYS_ADMIN) or
 *	HKV_OWNER_RELEASE.
 *
 * Owner rights belong to the open file description (they follow dup() and
 * fork()), not to a pid.
 *
 * Return: 0, -EPERM, -EINVAL, -EFAULT.
 */
struct hkv_owner {
	__u32 size;
	__u32 flags;
};

#define HKV_OWNER_SIZE_VER0	8

/**
 * struct hkv_events - HKV_IOC_EVENTS: subscribe this descriptor to events.
 * @size: sizeof(struct hkv_events).
 * @flags: must be 0.
 * @next_seq: out: sequence number of the first record this descriptor reads.
 *
 * Needs owner rights.  Subscribing again restarts at the newest record.
 *
 * Return: 0, -EPERM, -EINVAL, -EFAULT.
 */
struct hkv_events {
	__u32 size;
	__u32 flags;
	__u64 next_seq;
};

#define HKV_EVENTS_SIZE_VER0	16

/* struct hkv_event.type */
#define HKV_EV_EVICT		1	/* removed by the eviction policy */
#define HKV_EV_EXPIRE		2	/* removed because it expired */
#define HKV_EV_LOST		3	/* @version holds the count of lost records */

/**
 * struct hkv_event - one record read() from a subscribed descriptor.
 * @size: sizeof(struct hkv_event) as written by the module.
 * @type: HKV_EV_*.
 * @seq: sequence number of the record (consecutive).
 * @ns: namespace of the removed key.
 * @version: version of the removed value (HKV_EV_LOST: records lost).
 * @key_len: length of @key.
 * @policy: the policy in force for HKV_EV_EVICT.
 * @key: the key bytes; only the first @key_len are meaningful.
 */
struct hkv_event {
	__u32 size;
	__u32 type;
	__u64 seq;
	__u64 ns;
	__u64 version;
	__u32 key_len;
	__u32 policy;
	__u8 key[HKV_DEV_KEY_MAX];
};

/* HKV_IOC_BIND flags */
#define HKV_BIND_REMOVE		0x1	/* drop @ns's binding */

/**
 * struct hkv_bind - HKV_IOC_BIND: tell the module which filesystem a
 *	namespace's keys are the files of (owner only).
 * @size: sizeof(struct hkv_bind).
 * @flags: 0 to bind, HKV_BIND_REMOVE to unbind.
 * @ns: namespace id, non-zero.
 * @fd: to bind: a descriptor of any file or directory of the filesystem (an
 *	O_PATH descriptor of its root is enough); ignored (must be 0) with
 *	HKV_BIND_REMOVE.
 * @reserved: must be 0.
 *
 * HKV_IOC_OPEN with a path serves @ns's keys only for paths that lead to
 * that filesystem (its superblock: every mount of it, in any namespace).
 * Binding @ns again moves the binding.  A binding lives until it is removed
 * or the owner descriptor that made it is closed (a daemon that dies takes
 * its bindings with it, so a later filesystem can never be mistaken for the
 * dead one's).  At most 4096 namespaces are bound at a time.
 *
 * Return: 0, -EPERM (not owner), -EBADF (@fd), -ENOENT (HKV_BIND_REMOVE of
 * an unbound @ns), -ENOSPC (too many bindings), -ENOMEM, -EFAULT, -EINVAL,
 * -E2BIG.
 */
struct hkv_bind {
	__u32 size;
	__u32 flags;
	__u64 ns;
	__s32 fd;
	__u32 reserved;
};

#define HKV_BIND_SIZE_VER0	24

/*
 * The commands.  Direction is from user space's view: _IOW structures are
 * only read by the module, _IOWR ones are also written back.
 */
#define HKV_IOC_MAGIC		0xb7
#define HKV_IOC_GET		_IOWR(HKV_IOC_MAGIC, 1, struct hkv_get)
#define HKV_IOC_OPEN		_IOWR(HKV_IOC_MAGIC, 2, struct hkv_open)
#define HKV_IOC_PUT		_IOW(HKV_IOC_MAGIC, 3, struct hkv_put)
#define HKV_IOC_DEL		_IOW(HKV_IOC_MAGIC, 4, struct hkv_del)
#define HKV_IOC_CLEAR		_IOWR(HKV_IOC_MAGIC, 5, struct hkv_clear)
#define HKV_IOC_STAT		_IOWR(HKV_IOC_MAGIC, 6, struct hkv_stat)
#define HKV_IOC_POLICY		_IOWR(HKV_IOC_MAGIC, 7, struct hkv_policy)
#define HKV_IOC_OWNER		_IOW(HKV_IOC_MAGIC, 8, struct hkv_owner)
#define HKV_IOC_EVENTS		_IOWR(HKV_IOC_MAGIC, 9, struct hkv_events)
#define HKV_IOC_BIND		_IOW(HKV_IOC_MAGIC, 10, struct hkv_bind)

#endif /* UAPI_LINUX_HKV_H */
