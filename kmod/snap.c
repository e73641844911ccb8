// SPDX-License-Identifier: GPL-2.0
/*
 * snap.c - read-only snapshot files returned by HKV_IOC_OPEN.
 *
 * A snapshot is a struct file on a private, never-attached pseudo filesystem
 * ("hkv").  Each cache entry gets, on its first OPEN, one inode and one
 * parentless dentry of its own (d_alloc_anon(): the exported sibling of
 * d_alloc_pseudo(), which modules cannot call), kept in hkvm_entry.dentry
 * until the entry is freed, so that fstat() tells the truth: S_IFREG | the
 * entry's mode, its uid and gid, st_size = value length, the key's mtime (or
 * the insertion time) as timestamps.  Every OPEN of that entry is then a
 * dentry_open() of the cached dentry: one struct file, no inode or dentry
 * allocation, no path walk.  readlink of /proc/PID/fd/N shows "hkv:[ino]".
 *
 * file->private_data holds a reference on the entry itself, taken by the
 * ioctl; entries are immutable, so reads copy straight from the entry
 * (->read_iter only; read(2), readv(2) and splice all go through it) and
 * nothing is copied at open time.  The reference is dropped in ->release().
 * A file opened any other way (reopening /proc/PID/fd/N) has no private data
 * and fails every read with -ENXIO.
 *
 * Lifetime and unloading
 * ----------------------
 * The filesystem type is static and owned by this module (.owner), so every
 * superblock of it holds a reference on the module from its creation until
 * put_filesystem(), the very last thing the VFS does when the superblock
 * dies; ->kill_sb is the VFS's kill_anon_super(), and no callback of this
 * module runs after that reference is gone.  A snapshot file holds its
 * mount and dentry, hence the superblock, until __fput() has called
 * ->release(), so the file operations need no module reference of their own
 * (hkvm_snap_fops has no .owner: an open costs no atomic on the module's
 * reference count).  The module therefore cannot be
 * unloaded while a snapshot file, a snapshot dentry or the mount exists, and
 * a final close racing with rmmod only delays the unload.
 *
 * The mount exists while at least one /dev/hkv descriptor is open
 * (hkvm_snap_get() in its ->open, hkvm_snap_put() in its ->release; counted
 * in @hkvm_snap_users under @hkvm_snap_lock).  When the last one closes, no
 * ioctl can be running, so every dentry cached in a table entry is dropped
 * (hkvm_cache_forget_snapshots()) and the mount released; snapshot files
 * still open keep their own reference on it, and the superblock (and with it
 * the module) goes with the last of them.  Entries that are no longer in the
 * table can only be reached through their open snapshot files, so a dentry
 * never outlives its superblock.  The next /dev/hkv open mounts a fresh one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/version.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/pseudo_fs.h>
#include <linux/fs_context.h>
#include <linux/splice.h>
#include <linux/uio.h>
#include <linux/err.h>
#include <linux/cred.h>
#include <linux/dcache.h>

#include "hkvm_int.h"

#define HKVM_SNAP_MAGIC 0x686b7673	/* "hkvs" */

static DEFINE_MUTEX(hkvm_snap_lock);
/* Under hkvm_snap_lock; stable (READ_ONCE) for a holder of a user count. */
static struct vfsmount *hkvm_snap_mnt;
static unsigned int hkvm_snap_users;

static ssize_t hkvm_snap_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	const struct hkvm_entry *e = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	size_t want, done;

	if (!e)
		return -ENXIO;
	if (pos < 0)
		return -EINVAL;
	if (pos >= e->val_len)
		return 0;
	want = min_t(size_t, e->val_len - pos, iov_iter_count(to));
	done = copy_to_iter(hkvm_entry_val(e) + pos, want, to);
	if (!done && want)
		return -EFAULT;
	iocb->ki_pos = pos + done;
	return done;
}

static loff_t hkvm_snap_llseek(struct file *file, loff_t offset, int whence)
{
	/* As on a regular file: seeking past the end is allowed. */
	return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE,
					i_size_read(file_inode(file)));
}

/* Runs for the ioctl's own open and for any reopen through /proc. */
static int hkvm_snap_fop_open(struct inode *inode, struct file *file)
{
	return (file->f_mode & FMODE_WRITE) ? -EACCES : 0;
}

static int hkvm_snap_release(struct inode *inode, struct file *file)
{
	if (file->private_data)
		hkvm_entry_put(file->private_data);
	return 0;
}

/*
 * No .owner: a snapshot file pins the module through its superblock (see
 * "Lifetime and unloading"), which outlives ->release(), so the per-open
 * try_module_get()/module_put() pair of fops_get()/fops_put() (two atomics
 * on the module's shared reference count) would buy nothing.
 */
static const struct file_operations hkvm_snap_fops = {
	.open = hkvm_snap_fop_open,
	.read_iter = hkvm_snap_read_iter,
	.llseek = hkvm_snap_llseek,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	/* No page cache here: splice copies through ->read_iter. */
	.splice_read = copy_splice_read,
#else
	.splice_read = generic_file_splice_read,
#endif
	.release = hkvm_snap_release,
};

#define HKVM_SNAP_FLAGS (O_NONBLOCK | O_LARGEFILE | O_NOATIME)

/* Snapshot metadata mirrors the entry: chmod, chown, utimes are refused. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static int hkvm_snap_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
			     struct iattr *attr)
#else
static int hkvm_snap_setattr(struct user_namespace *mnt_userns,
			     struct dentry *dentry, struct iattr *attr)
#endif
{
	return -EPERM;
}

static const struct inode_operations hkvm_snap_iops = {
	.setattr = hkvm_snap_setattr,
};

/* "hkv:[ino]" for /proc/PID/fd and d_path(), as pipes show "pipe:[ino]". */
static char *hkvm_snap_dname(struct dentry *dentry, char *buffer, int buflen)
{
	char name[32];
	int len;

	len = snprintf(name, sizeof(name), "hkv:[%lu]",
		       d_inode(dentry)->i_ino) + 1;
	if (len > buflen)
		return ERR_PTR(-ENAMETOOLONG);
	buffer += buflen - len;
	memcpy(buffer, name, len);
	return buffer;
}

static const struct dentry_operations hkvm_snap_dops = {
	.d_dname = hkvm_snap_dname,
};

static void hkvm_snap_set_times(struct inode *inode, struct timespec64 ts)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	inode_set_atime_to_ts(inode, ts);
	inode_set_mtime_to_ts(inode, ts);
	inode_set_ctime_to_ts(inode, ts);
#else
	inode->i_atime = ts;
	inode->i_mtime = ts;
	inode->i_ctime = ts;
#endif
}

/* The entry's dentry, created on first use; borrowed from the entry. */
static struct dentry *hkvm_snap_dentry(struct hkvm_entry *e)
{
	struct super_block *sb = READ_ONCE(hkvm_snap_mnt)->mnt_sb;
	struct dentry *d, *old;
	struct inode *inode;

	/* Pairs with the cmpxchg_release() below: the dentry is set up. */
	d = smp_load_acquire(&e->dentry);
	if (d)
		return d;
	inode = alloc_anon_inode(sb);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	inode->i_mode = S_IFREG | e->mode;
	inode->i_uid = e->uid;
	inode->i_gid = e->gid;
	inode->i_size = e->val_len;
	hkvm_snap_set_times(inode, e->mtime_ns ? ns_to_timespec64(e->mtime_ns) :
						 e->ctime);
	inode->i_fop = &hkvm_snap_fops;
	inode->i_op = &hkvm_snap_iops;
	d = d_alloc_anon(sb);
	if (!d) {
		iput(inode);
		return ERR_PTR(-ENOMEM);
	}
	d_instantiate(d, inode);
	/* Two first OPENs may race: one dentry wins, the other is dropped. */
	old = cmpxchg_release(&e->dentry, NULL, d);
	if (old) {
		dput(d);
		return old;
	}
	return d;
}

/**
 * hkvm_snap_open() - open a snapshot file of @e.  Process context, called
 * from an ioctl on a /dev/hkv descriptor (which holds a user count, so the
 * mount is there).
 * @e: entry; the caller's reference moves to the file on success and is
 *	left with the caller on failure.
 * @flags: open(2) flags already validated by the caller (O_RDONLY plus
 *	O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW);
 *	O_NOATIME was checked against the entry's owner by the caller.
 *
 * Return: the file, not yet installed in any descriptor table (fput() it to
 * undo, which drops the entry reference), or ERR_PTR(-ENFILE, -ENOMEM).
 */
struct file *hkvm_snap_open(struct hkvm_entry *e, int flags)
{
	struct path path = { .mnt = READ_ONCE(hkvm_snap_mnt) };
	struct file *file;

	path.dentry = hkvm_snap_dentry(e);
	if (IS_ERR(path.dentry))
		return ERR_CAST(path.dentry);
	file = dentry_open(&path, O_RDONLY | (flags & HKVM_SNAP_FLAGS),
			   current_cred());
	if (!IS_ERR(file))
		file->private_data = e;
	return file;
}

static int hkvm_snap_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, HKVM_SNAP_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->dops = &hkvm_snap_dops;
	return 0;
}

static struct file_system_type hkvm_snap_fs_type = {
	.owner = THIS_MODULE,
	.name = "hkv",
	.init_fs_context = hkvm_snap_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * hkvm_snap_get() - count one more /dev/hkv descriptor; the first mounts the
 * snapshot filesystem.  Process context (the device's ->open).
 *
 * Return: 0 or the kern_mount() error (-ENOMEM).
 */
int hkvm_snap_get(void)
{
	struct vfsmount *mnt;
	int rc = 0;

	mutex_lock(&hkvm_snap_lock);
	if (!hkvm_snap_users) {
		mnt = kern_mount(&hkvm_snap_fs_type);
		if (IS_ERR(mnt)) {
			rc = PTR_ERR(mnt);
			pr_err("cannot mount the snapshot filesystem: %d\n", rc);
			goto out_unlock;
		}
		WRITE_ONCE(hkvm_snap_mnt, mnt);
	}
	hkvm_snap_users++;
out_unlock:
	mutex_unlock(&hkvm_snap_lock);
	return rc;
}

/**
 * hkvm_snap_put() - count one /dev/hkv descriptor less; the last one drops
 * the dentries cached in the table and releases the mount (open snapshot
 * files keep it until they close).  Process context (the device's
 * ->release); may sleep for an RCU grace period.
 */
void hkvm_snap_put(void)
{
	struct vfsmount *mnt = NULL;

	mutex_lock(&hkvm_snap_lock);
	if (!WARN_ON_ONCE(!hkvm_snap_users) && !--hkvm_snap_users) {
		hkvm_cache_forget_snapshots();
		mnt = hkvm_snap_mnt;
		WRITE_ONCE(hkvm_snap_mnt, NULL);
	}
	mutex_unlock(&hkvm_snap_lock);
	if (mnt)
		kern_unmount(mnt);
}

/**
 * hkvm_snap_exit() - module exit check: with the module's reference count at
 * zero no /dev/hkv descriptor, mount or snapshot can exist.
 */
void hkvm_snap_exit(void)
{
	WARN_ON_ONCE(hkvm_snap_users || hkvm_snap_mnt);
}
