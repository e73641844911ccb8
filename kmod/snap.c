// SPDX-License-Identifier: GPL-2.0
/*
 * snap.c - read-only snapshot files returned by HKV_IOC_OPEN.
 *
 * A snapshot is a struct file on a private, never-mounted pseudo filesystem
 * ("hkv").  Each cache entry gets, on its first OPEN, one dentry and inode
 * of its own (kept in hkvm_entry.dentry until the entry is freed), so that
 * fstat() tells the truth: S_IFREG | the entry's mode, its uid and gid,
 * st_size = value length, the insertion time as timestamps.  Every OPEN of
 * that entry is then a dentry_open() of the cached dentry: one struct file,
 * no inode or dentry allocation, no path walk.
 *
 * file->private_data holds a reference on the entry itself, taken by the
 * ioctl; entries are immutable, so reads copy straight from the entry and
 * nothing is copied at open time.  The reference is dropped in ->release().
 * A file opened any other way (reopening /proc/PID/fd/N) has no private data
 * and fails every read with -ENXIO.
 *
 * Snapshot files pin the module through their f_op, so hkv.ko cannot be
 * unloaded while one is open; entries (and with them the dentries) are all
 * released before the filesystem is unmounted at module exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/fs_context.h>
#include <linux/uio.h>
#include <linux/err.h>
#include <linux/cred.h>
#include <linux/dcache.h>

#include "hkvm_int.h"

#define HKVM_SNAP_MAGIC 0x686b7673	/* "hkvs" */

static struct vfsmount *hkvm_snap_mnt;

static ssize_t hkvm_snap_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	const struct hkvm_entry *e = file->private_data;

	if (!e)
		return -ENXIO;
	return simple_read_from_buffer(buf, count, ppos, hkvm_entry_val(e),
				       e->val_len);
}

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
static int hkvm_snap_open(struct inode *inode, struct file *file)
{
	return (file->f_mode & FMODE_WRITE) ? -EACCES : 0;
}

static int hkvm_snap_release(struct inode *inode, struct file *file)
{
	if (file->private_data)
		hkvm_entry_put(file->private_data);
	return 0;
}

static const struct file_operations hkvm_snap_fops = {
	.owner = THIS_MODULE,
	.open = hkvm_snap_open,
	.read = hkvm_snap_read,
	.read_iter = hkvm_snap_read_iter,
	.llseek = hkvm_snap_llseek,
	.splice_read = generic_file_splice_read,
	.release = hkvm_snap_release,
};

#define HKVM_SNAP_FLAGS (O_NONBLOCK | O_LARGEFILE | O_NOATIME)

/* Snapshot metadata mirrors the entry: chmod, chown, utimes are refused. */
static int hkvm_snap_setattr(struct user_namespace *mnt_userns,
			     struct dentry *dentry, struct iattr *attr)
{
	return -EPERM;
}

static const struct inode_operations hkvm_snap_iops = {
	.setattr = hkvm_snap_setattr,
};

/* The entry's dentry, created on first use; borrowed from the entry. */
static struct dentry *hkvm_snap_dentry(struct hkvm_entry *e)
{
	struct super_block *sb = hkvm_snap_mnt->mnt_sb;
	struct dentry *d, *old;
	struct inode *inode;

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
	inode->i_atime = e->ctime;
	inode->i_mtime = e->ctime;
	inode->i_ctime = e->ctime;
	inode->i_fop = &hkvm_snap_fops;
	inode->i_op = &hkvm_snap_iops;
	d = d_alloc_name(sb->s_root, "hkv");
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
 * hkvm_snap_install() - open a snapshot file of @e and install it in the
 * caller's descriptor table.  Process context.
 * @e: entry; the caller's reference moves to the file on success and is
 *	left with the caller on failure.
 * @flags: open(2) flags already validated by the caller (O_RDONLY plus
 *	O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW).
 *
 * Return: the new descriptor, or -EMFILE, -ENFILE, -ENOMEM.
 */
int hkvm_snap_install(struct hkvm_entry *e, int flags)
{
	struct path path = { .mnt = hkvm_snap_mnt };
	struct file *file;
	int fd, rc;

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	path.dentry = hkvm_snap_dentry(e);
	if (IS_ERR(path.dentry)) {
		rc = PTR_ERR(path.dentry);
		goto out_put_fd;
	}
	file = dentry_open(&path, O_RDONLY | (flags & HKVM_SNAP_FLAGS),
			   current_cred());
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto out_put_fd;
	}
	file->private_data = e;
	fd_install(fd, file);
	return fd;

out_put_fd:
	put_unused_fd(fd);
	return rc;
}

static int hkvm_snap_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, HKVM_SNAP_MAGIC) ? 0 : -ENOMEM;
}

/*
 * The filesystem type is allocated, not static: the last reference to the
 * snapshot superblock can be dropped by a closing snapshot file on another
 * CPU just after that file released its hold on the module (__fput() puts
 * f_op's module before the mount).  Module exit therefore waits for the
 * superblock to die (hkvm_snap_kill_sb() completes @hkvm_snap_sb_dead); if it
 * did not die inside kern_unmount() itself, the small type object is left
 * allocated, because the VFS still reads it after ->kill_sb() returns.
 */
struct hkvm_snap_fstype {
	struct file_system_type type;
	char name[4];
};

static struct hkvm_snap_fstype *hkvm_snap_fs;
static DECLARE_COMPLETION(hkvm_snap_sb_dead);

static void hkvm_snap_kill_sb(struct super_block *sb)
{
	kill_anon_super(sb);
	complete(&hkvm_snap_sb_dead);
}

/**
 * hkvm_snap_init() - mount the private snapshot filesystem.  Module init.
 *
 * Return: 0, -ENOMEM or the kern_mount() error.
 */
int hkvm_snap_init(void)
{
	int rc;

	hkvm_snap_fs = kzalloc(sizeof(*hkvm_snap_fs), GFP_KERNEL);
	if (!hkvm_snap_fs)
		return -ENOMEM;
	strscpy(hkvm_snap_fs->name, "hkv", sizeof(hkvm_snap_fs->name));
	hkvm_snap_fs->type.name = hkvm_snap_fs->name;
	hkvm_snap_fs->type.init_fs_context = hkvm_snap_init_fs_context;
	hkvm_snap_fs->type.kill_sb = hkvm_snap_kill_sb;
	hkvm_snap_mnt = kern_mount(&hkvm_snap_fs->type);
	if (IS_ERR(hkvm_snap_mnt)) {
		rc = PTR_ERR(hkvm_snap_mnt);
		pr_err("cannot mount the snapshot filesystem: %d\n", rc);
		hkvm_snap_mnt = NULL;
		kfree(hkvm_snap_fs);
		hkvm_snap_fs = NULL;
		return rc;
	}
	return 0;
}

/**
 * hkvm_snap_exit() - unmount it and wait until its superblock is gone.
 * Module exit, after every cached entry (and so every cached dentry) was
 * released; no snapshot file can be open (each pins the module), at most one
 * can be finishing its close.
 */
void hkvm_snap_exit(void)
{
	bool synchronous;

	kern_unmount(hkvm_snap_mnt);
	synchronous = completion_done(&hkvm_snap_sb_dead);
	wait_for_completion(&hkvm_snap_sb_dead);
	if (synchronous)
		kfree(hkvm_snap_fs);
	else
		pr_info("snapshot filesystem outlived unload; keeping its type\n");
	hkvm_snap_fs = NULL;
}
