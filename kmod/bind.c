// SPDX-License-Identifier: GPL-2.0
/*
 * bind.c - the mount checks of HKV_IOC_OPEN: the mountinfo poll, and the path
 * check (which filesystem a namespace's keys belong to).
 *
 * The mountinfo poll
 * ------------------
 * The preload shim resolves a path with its copy of the mount table and must
 * learn, before each served open, whether the mounts changed.  poll(2) of
 * /proc/self/mountinfo says so exactly (POLLPRI) but is a system call of its
 * own.  HKV_IOC_OPEN with HKV_OPEN_CHECK_MOUNTS makes the same poll from the
 * ioctl (vfs_poll() of the caller's descriptor, no wait queue) and refuses
 * with -EXDEV on a change: one system call per served open.
 *
 * Why
 * ---
 * The preload shim maps an opened path to (namespace, key) from its own
 * picture of the mounts.  That picture can be stale (a mount on top, a
 * chroot, another mount namespace, a stacked mount), and asking the kernel
 * about mount changes before every served open costs a system call.  Instead
 * the shim hands the path to HKV_IOC_OPEN and the module walks it itself, in
 * the caller's context, exactly as open(2) will: the caller's root and mount
 * namespace, its credentials for search permission.  The key is served only
 * if the walk ends on a regular file of the filesystem the namespace is
 * bound to, at the path (from that filesystem's root) the shim derived the
 * key from.  Whatever the shim believed, a served value is then the value of
 * the file the path leads to at the time of the call.
 *
 * Bindings
 * --------
 * The daemon binds its namespace to its superblock (HKV_IOC_BIND with a
 * descriptor on its mount).  A binding records the superblock pointer and
 * s_dev (compared, never dereferenced: no reference is held, so unmounting
 * is never blocked) and the owner file that made it; closing that file
 * drops its bindings (hkvm_bind_release()).  A daemon holds its owner
 * descriptor for as long as its mount can be used, so a recorded superblock
 * is live, and a freed one can never be mistaken for a new one at the same
 * address: the daemon that bound it is gone, and its bindings with it.
 *
 * Locking: @hkvm_binds is an RCU list; writers hold hkvm_binds_lock (a
 * spinlock; nothing sleeps under it); readers (the path check) use
 * rcu_read_lock() alone.  Bindings are freed with kfree_rcu().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/dcache.h>
#include <linux/mount.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/poll.h>
#include <linux/magic.h>

/* fd_file() arrived with 6.12's struct fd; before it, the file was a field. */
#ifndef fd_file
#define fd_file(f) ((f).file)
#endif

#include "hkvm_int.h"

#define HKVM_MAX_BINDS 4096

/**
 * struct hkvm_bind - one namespace bound to one superblock.
 * @node: link in hkvm_binds (RCU).
 * @rcu: for kfree_rcu().
 * @ns: namespace id.
 * @sb: the superblock; compared only, never dereferenced.
 * @dev: its s_dev at binding time.
 * @owner: the /dev/hkv file that made the binding; compared only.
 */
struct hkvm_bind {
	struct list_head node;
	struct rcu_head rcu;
	u64 ns;
	const struct super_block *sb;
	dev_t dev;
	const struct file *owner;
};

static LIST_HEAD(hkvm_binds);
static DEFINE_SPINLOCK(hkvm_binds_lock);	/* writers of hkvm_binds */
static unsigned int hkvm_nbinds;		/* under hkvm_binds_lock */

static struct hkvm_bind *hkvm_bind_find_locked(u64 ns)
{
	struct hkvm_bind *b;

	list_for_each_entry(b, &hkvm_binds, node)
		if (b->ns == ns)
			return b;
	return NULL;
}

/**
 * hkvm_bind_set() - bind @ns to the filesystem of @fd, replacing any
 * earlier binding of @ns.
 * @owner: the owner /dev/hkv file making the binding; the binding goes away
 *	when it is released.
 * @ns: non-zero namespace id.
 * @fd: a descriptor of the caller's, on the filesystem.
 *
 * Process context.  Return: 0, -EBADF, -ENOSPC, -ENOMEM.
 */
int hkvm_bind_set(const struct file *owner, u64 ns, int fd)
{
	struct hkvm_bind *b, *old;
	struct super_block *sb;
	struct file *file;
	int rc = 0;

	file = fget_raw(fd);	/* O_PATH descriptors too */
	if (!file)
		return -EBADF;
	sb = file_inode(file)->i_sb;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		fput(file);
		return -ENOMEM;
	}
	b->ns = ns;
	b->sb = sb;
	b->dev = sb->s_dev;
	b->owner = owner;
	fput(file);

	spin_lock(&hkvm_binds_lock);
	old = hkvm_bind_find_locked(ns);
	if (old) {
		list_replace_rcu(&old->node, &b->node);
	} else if (hkvm_nbinds >= HKVM_MAX_BINDS) {
		rc = -ENOSPC;
	} else {
		list_add_rcu(&b->node, &hkvm_binds);
		hkvm_nbinds++;
	}
	spin_unlock(&hkvm_binds_lock);
	if (old)
		kfree_rcu(old, rcu);
	if (rc)
		kfree(b);
	return rc;
}

/**
 * hkvm_bind_remove() - drop the binding of @ns.
 * @ns: namespace id.
 *
 * Return: 0, or -ENOENT when @ns was not bound.
 */
int hkvm_bind_remove(u64 ns)
{
	struct hkvm_bind *b;

	spin_lock(&hkvm_binds_lock);
	b = hkvm_bind_find_locked(ns);
	if (b) {
		list_del_rcu(&b->node);
		hkvm_nbinds--;
	}
	spin_unlock(&hkvm_binds_lock);
	if (!b)
		return -ENOENT;
	kfree_rcu(b, rcu);
	return 0;
}

/**
 * hkvm_bind_release() - drop every binding made through @owner; called when
 * that /dev/hkv file is released.
 * @owner: the file being released.
 */
void hkvm_bind_release(const struct file *owner)
{
	struct hkvm_bind *b, *tmp;

	spin_lock(&hkvm_binds_lock);
	list_for_each_entry_safe(b, tmp, &hkvm_binds, node) {
		if (b->owner != owner)
			continue;
		list_del_rcu(&b->node);
		hkvm_nbinds--;
		kfree_rcu(b, rcu);
	}
	spin_unlock(&hkvm_binds_lock);
}

static bool hkvm_bind_match(u64 ns, const struct super_block *sb)
{
	struct hkvm_bind *b;
	bool ok = false;

	rcu_read_lock();
	list_for_each_entry_rcu(b, &hkvm_binds, node) {
		if (b->ns == ns) {
			ok = b->sb == sb && b->dev == sb->s_dev;
			break;
		}
	}
	rcu_read_unlock();
	return ok;
}

/**
 * hkvm_bind_check() - does the absolute path at @upath lead, for the caller,
 * to the file at @upath + @off of the filesystem bound to @ns?
 * @ns: namespace id.
 * @upath: user address of a NUL-terminated absolute path.
 * @off: offset of the part below the filesystem's root; starts with '/'.
 * @follow: follow a symbolic link in the last component.
 *
 * Walks the path with kern_path() as the caller (root, mount namespace,
 * credentials), then compares the superblock with the binding of @ns and the
 * dentry's path from the superblock's root with @upath + @off.  Process
 * context; may sleep (the walk may ask the filesystem).
 *
 * Return: 0 when it does; -EXDEV when it leads elsewhere (or @ns is not
 * bound); -ENOENT when it names no regular file; -EINVAL (not absolute,
 * bad @off); -EFAULT; -ENAMETOOLONG; -ENOMEM; or the walk's error.
 */
int hkvm_bind_check(u64 ns, const char __user *upath, u32 off, bool follow)
{
	struct path path;
	char *name, *buf, *where;
	long len;
	int rc;

	name = __getname();
	if (!name)
		return -ENOMEM;
	len = strncpy_from_user(name, upath, PATH_MAX);
	rc = len < 0 ? (int)len : 0;
	if (!rc && len >= PATH_MAX)
		rc = -ENAMETOOLONG;
	if (!rc && (name[0] != '/' || off >= len || name[off] != '/'))
		rc = -EINVAL;
	if (rc)
		goto out_name;
	rc = kern_path(name, follow ? LOOKUP_FOLLOW : 0, &path);
	if (rc)
		goto out_name;
	rc = -ENOENT;
	if (!d_is_reg(path.dentry))
		goto out_path;
	rc = -EXDEV;
	if (!hkvm_bind_match(ns, path.mnt->mnt_sb))
		goto out_path;
	buf = __getname();
	if (!buf) {
		rc = -ENOMEM;
		goto out_path;
	}
	where = dentry_path_raw(path.dentry, buf, PATH_MAX);
	if (IS_ERR(where))
		rc = PTR_ERR(where) == -ENAMETOOLONG ? -ENAMETOOLONG : -EXDEV;
	else if (!strcmp(where, name + off))
		rc = 0;
	__putname(buf);
out_path:
	path_put(&path);
out_name:
	__putname(name);
	return rc;
}

/**
 * hkvm_mounts_check() - poll the caller's mountinfo descriptor @fd.
 * @fd: a descriptor of /proc/self/mountinfo (or /proc/PID/mountinfo).
 *
 * A proc file named "mountinfo" answers poll with POLLIN and never POLLOUT;
 * POLLPRI (with POLLERR) means the mount namespace changed since the
 * descriptor was last polled, and polling consumes that.  Process context;
 * does not sleep.
 *
 * Return: 0 (no change), -EXDEV (changed), -EBADFD (@fd is not an open
 * mountinfo descriptor).
 */
int hkvm_mounts_check(int fd)
{
	struct fd f = fdget(fd);
	struct file *file = fd_file(f);
	__poll_t mask;
	int rc;

	if (!file)
		return -EBADFD;
	if (file_inode(file)->i_sb->s_magic != PROC_SUPER_MAGIC ||
	    !(file->f_mode & FMODE_READ) || !file->f_op->poll ||
	    strcmp(file->f_path.dentry->d_name.name, "mountinfo")) {
		fdput(f);
		return -EBADFD;
	}
	mask = vfs_poll(file, NULL);
	fdput(f);
	if (!(mask & EPOLLIN) || (mask & EPOLLOUT))
		rc = -EBADFD;
	else if (mask & (EPOLLPRI | EPOLLERR))
		rc = -EXDEV;
	else
		rc = 0;
	return rc;
}
