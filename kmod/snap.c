// SPDX-License-Identifier: GPL-2.0
/*
 * snap.c - read-only snapshot files returned by HKV_IOC_OPEN.
 *
 * A snapshot is a struct file on a private, never-mounted pseudo filesystem
 * ("hkv").  Each file gets its own inode so that fstat() tells the truth:
 * S_IFREG | the entry's mode, its uid and gid, st_size = value length and
 * the insertion time as timestamps.  file->private_data holds a reference on
 * the cache entry itself; since entries are immutable, reads copy straight
 * from the entry and no value is copied at open time.  The reference is
 * dropped in ->release(), and the entry is freed after a grace period once
 * the table has let go of it too.
 *
 * A snapshot pins the module (like a file of any module's fops), so
 * hkv.ko cannot be unloaded while one is open.
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

#include "hkvm_int.h"

#define HKVM_SNAP_MAGIC 0x686b7673	/* "hkvs" */

static struct vfsmount *hkvm_snap_mnt;

static ssize_t hkvm_snap_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	const struct hkvm_entry *e = file->private_data;

	return simple_read_from_buffer(buf, count, ppos, hkvm_entry_val(e),
				       e->val_len);
}

static ssize_t hkvm_snap_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	const struct hkvm_entry *e = iocb->ki_filp->private_data;
	loff_t pos = iocb->ki_pos;
	size_t want, done;

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
	const struct hkvm_entry *e = file->private_data;

	return fixed_size_llseek(file, offset, whence, e->val_len);
}

static int hkvm_snap_release(struct inode *inode, struct file *file)
{
	hkvm_entry_put(file->private_data);
	return 0;
}

static const struct file_operations hkvm_snap_fops = {
	.owner = THIS_MODULE,
	.read = hkvm_snap_read,
	.read_iter = hkvm_snap_read_iter,
	.llseek = hkvm_snap_llseek,
	.splice_read = generic_file_splice_read,
	.release = hkvm_snap_release,
};

#define HKVM_SNAP_FLAGS (O_NONBLOCK | O_LARGEFILE | O_NOATIME)

/**
 * hkvm_snap_install() - make a snapshot file of @e and install it in the
 * caller's descriptor table.  Process context.
 * @e: entry; the caller's reference moves to the file on success and is
 *	left with the caller on failure.
 * @flags: open(2) flags already validated by the caller (O_RDONLY plus
 *	O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW).
 *
 * Return: the new descriptor, or -EMFILE, -ENFILE, -ENOMEM, -ENOENT (module
 * going away).
 */
int hkvm_snap_install(struct hkvm_entry *e, int flags)
{
	struct inode *inode;
	struct file *file;
	int fd, rc;

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	inode = alloc_anon_inode(hkvm_snap_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		rc = PTR_ERR(inode);
		goto out_put_fd;
	}
	inode->i_mode = S_IFREG | e->mode;
	inode->i_uid = e->uid;
	inode->i_gid = e->gid;
	inode->i_size = e->val_len;
	inode->i_atime = e->ctime;
	inode->i_mtime = e->ctime;
	inode->i_ctime = e->ctime;

	if (!try_module_get(THIS_MODULE)) {
		rc = -ENOENT;
		goto out_iput;
	}
	file = alloc_file_pseudo(inode, hkvm_snap_mnt, "hkv",
				 O_RDONLY | (flags & HKVM_SNAP_FLAGS),
				 &hkvm_snap_fops);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto out_module_put;
	}
	file->f_mode |= FMODE_PREAD | FMODE_LSEEK;
	file->private_data = e;
	fd_install(fd, file);
	return fd;

out_module_put:
	module_put(THIS_MODULE);
out_iput:
	iput(inode);
out_put_fd:
	put_unused_fd(fd);
	return rc;
}

static int hkvm_snap_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, HKVM_SNAP_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type hkvm_snap_fs = {
	.name = "hkv",
	.init_fs_context = hkvm_snap_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * hkvm_snap_init() - mount the private snapshot filesystem.  Module init.
 *
 * Return: 0 or the kern_mount() error.
 */
int hkvm_snap_init(void)
{
	hkvm_snap_mnt = kern_mount(&hkvm_snap_fs);
	if (IS_ERR(hkvm_snap_mnt)) {
		int rc = PTR_ERR(hkvm_snap_mnt);

		pr_err("cannot mount the snapshot filesystem: %d\n", rc);
		hkvm_snap_mnt = NULL;
		return rc;
	}
	return 0;
}

/**
 * hkvm_snap_exit() - unmount it.  Module exit; no snapshot file can exist.
 */
void hkvm_snap_exit(void)
{
	kern_unmount(hkvm_snap_mnt);
}
