// SPDX-License-Identifier: MIT
/*
 * served.c - descriptors the shim served look like the FUSE file in every stat call.
 *
 * A served descriptor is the module's snapshot file: its own device, inode number, file
 * system type and the promotion time as its times. The FUSE file's attributes are what a
 * program must see, so the shim remembers, for every descriptor it hands out, the absolute
 * path it opened, and the stat family answers for a snapshot with the attributes of that
 * path on its mount (the kernel has them cached: no daemon round trip while they are
 * valid).
 *
 * Records: rec[fd] for descriptors below FD_SLOTS (filled at the open, no system call; copied
 * by dup, dup2 and dup3, cleared by close, close_range and closefrom through libc), and
 * rec[FD_SLOTS + snapshot inode % XTRA_SLOTS] for higher ones (the open pays one fstat). A
 * record also learns, at its first use, the snapshot's inode number (so dup()s, forks and
 * /proc/self/fd/N paths find it) and the FUSE file's device and inode (so a path that now
 * names another file is noticed: the last attributes seen are answered instead, as a FUSE
 * descriptor keeps its inode). Each record has its own sequence lock, only ever try-locked.
 *
 * Which calls: fstat, fstatat/newfstatat with AT_EMPTY_PATH or on a path that leads to a
 * snapshot (/dev/stdin, /proc/self/fd/N), stat, statx, fstatfs, statfs, fstatvfs, statvfs,
 * their 64 variants and glibc's __fxstat/__fxstatat/__xstat compatibility entry points. The
 * cost for everything else is one compare of the returned device (or file system type)
 * against the snapshot device, known once this process has been served a descriptor.
 *
 * Limits: a served descriptor inherited across exec, or whose record was overwritten (a
 * snapshot of the same high descriptor slot, or rec[fd] after the program closed fd with a
 * raw system call and received another snapshot there), shows the snapshot's attributes.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "preload_int.h"

#define FD_SLOTS 1024
#define XTRA_SLOTS 256
#define SERVED_PATH 1024
#define SNAP_MAGIC 0x686b7673 /* the module's snapshot file system ("hkvs") */

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat");
_Static_assert(sizeof(struct statfs) == sizeof(struct statfs64), "statfs64 is statfs");
_Static_assert(sizeof(struct statvfs) == sizeof(struct statvfs64), "statvfs64 is statvfs");

struct served {
	atomic_uint seq;        /* odd while written; 0: never used */
	atomic_bool used;       /* holds a served descriptor's path */
	unsigned long snap_ino; /* 0: not known yet */
	bool have_fuse;         /* @fuse holds the FUSE file's last attributes */
	struct stat fuse;
	size_t len;
	char path[SERVED_PATH];
};

static struct served rec[FD_SLOTS + XTRA_SLOTS];
static atomic_ulong snap_dev; /* st_dev of snapshot files; 0 until the first one served */

static bool rec_lock(struct served *r, unsigned *s)
{
	*s = atomic_load_explicit(&r->seq, memory_order_acquire);
	return !(*s & 1) &&
	       atomic_compare_exchange_strong_explicit(&r->seq, s, *s + 1, memory_order_acq_rel,
						       memory_order_acquire);
}

static void rec_unlock(struct served *r, unsigned s)
{
	atomic_store_explicit(&r->seq, s + 2, memory_order_release);
}

/* Copy record @i into @c. Return: false if unused or being written. */
static bool rec_read(int i, struct served *c)
{
	struct served *r = &rec[i];
	unsigned s = atomic_load_explicit(&r->seq, memory_order_acquire);

	if (!s || s & 1 || !atomic_load_explicit(&r->used, memory_order_relaxed))
		return false;
	c->snap_ino = r->snap_ino;
	c->have_fuse = r->have_fuse;
	c->fuse = r->fuse;
	c->len = r->len < SERVED_PATH ? r->len : SERVED_PATH - 1;
	memcpy(c->path, r->path, c->len);
	c->path[c->len] = 0;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&r->seq, memory_order_relaxed) == s;
}

static int real_fstat(int fd, struct stat *st)
{
	if (!preload_ready())
		preload_init();
	return preload_real.fstat(fd, st);
}

bool served_is_snapshot_dev(dev_t dev)
{
	unsigned long d = atomic_load_explicit(&snap_dev, memory_order_relaxed);

	return d && (unsigned long)dev == d;
}

bool served_note(int fd, const char *path, size_t len)
{
	unsigned long ino = 0;
	struct served *r;
	struct stat st;
	unsigned s;
	int saved = errno;

	if (fd < 0 || len >= SERVED_PATH)
		return false;
	if (!atomic_load_explicit(&snap_dev, memory_order_relaxed) || fd >= FD_SLOTS) {
		if (real_fstat(fd, &st)) {
			errno = saved;
			return false;
		}
		atomic_store_explicit(&snap_dev, (unsigned long)st.st_dev, memory_order_relaxed);
		ino = (unsigned long)st.st_ino;
	}
	r = fd < FD_SLOTS ? &rec[fd] : &rec[FD_SLOTS + ino % XTRA_SLOTS];
	if (!rec_lock(r, &s))
		return false;
	r->snap_ino = ino;
	r->have_fuse = false;
	r->len = len;
	memcpy(r->path, path, len);
	r->path[len] = 0;
	atomic_store_explicit(&r->used, true, memory_order_relaxed);
	rec_unlock(r, s);
	return true;
}

void served_closed(int fd)
{
	struct served *r;
	unsigned s;

	if (fd < 0 || fd >= FD_SLOTS)
		return;
	r = &rec[fd];
	if (!atomic_load_explicit(&r->used, memory_order_relaxed))
		return; /* every close of a descriptor the shim never served: one load */
	if (rec_lock(r, &s)) {
		atomic_store_explicit(&r->used, false, memory_order_relaxed);
		rec_unlock(r, s);
	}
}

void served_closed_range(unsigned first, unsigned last)
{
	for (unsigned fd = first; fd <= last && fd < FD_SLOTS; fd++)
		served_closed((int)fd);
}

void served_dup(int oldfd, int newfd)
{
	struct served c;
	struct served *r;
	unsigned s;

	if (oldfd < 0 || oldfd >= FD_SLOTS || newfd < 0 || newfd >= FD_SLOTS || oldfd == newfd ||
	    !atomic_load_explicit(&rec[oldfd].used, memory_order_relaxed) || !rec_read(oldfd, &c))
		return;
	r = &rec[newfd];
	if (rec_lock(r, &s)) {
		r->snap_ino = c.snap_ino;
		r->have_fuse = c.have_fuse;
		r->fuse = c.fuse;
		r->len = c.len;
		memcpy(r->path, c.path, c.len + 1);
		atomic_store_explicit(&r->used, true, memory_order_relaxed);
		rec_unlock(r, s);
	}
}

/* Record @i's snapshot inode is @ino (learnt lazily). */
static void rec_set_ino(int i, unsigned long ino)
{
	unsigned s;

	if (rec_lock(&rec[i], &s)) {
		if (!rec[i].snap_ino)
			rec[i].snap_ino = ino;
		rec_unlock(&rec[i], s);
	}
}

/*
 * The record of snapshot inode @ino, reached through descriptor @fd (-1: through a path).
 * Return: its index (copied into @c), or -1.
 */
static int find(int fd, unsigned long ino, struct served *c)
{
	int saved = errno;

	if (fd >= 0 && fd < FD_SLOTS && rec_read(fd, c) && (!c->snap_ino || c->snap_ino == ino)) {
		if (!c->snap_ino)
			rec_set_ino(fd, ino);
		return fd;
	}
	for (int i = 0; i < FD_SLOTS + XTRA_SLOTS; i++)
		if (rec_read(i, c) && c->snap_ino == ino)
			return i;
	/* a dup (or /proc/self/fd path) of a descriptor never stat'ed yet: ask the originals */
	for (int i = 0; i < FD_SLOTS; i++) {
		struct stat st;

		if (i == fd || !rec_read(i, c) || c->snap_ino)
			continue;
		if (!real_fstat(i, &st) && served_is_snapshot_dev(st.st_dev) &&
		    (unsigned long)st.st_ino == ino) {
			rec_set_ino(i, ino);
			errno = saved;
			return i;
		}
	}
	errno = saved;
	return -1;
}

/*
 * The FUSE file's attributes for record @i (copied in @c): stat of its path, if that is
 * still the file first seen there; else the last attributes seen. Return: false if none.
 */
static bool fuse_attrs(int i, const struct served *c, struct stat *out)
{
	struct stat st;
	int saved = errno;
	unsigned s;

	if (!preload_real.stat(c->path, &st) && S_ISREG(st.st_mode) &&
	    (!c->have_fuse || (st.st_dev == c->fuse.st_dev && st.st_ino == c->fuse.st_ino))) {
		if (rec_lock(&rec[i], &s)) {
			if (rec[i].snap_ino == c->snap_ino || !rec[i].snap_ino) {
				rec[i].fuse = st;
				rec[i].have_fuse = true;
			}
			rec_unlock(&rec[i], s);
		}
		*out = st;
		errno = saved;
		return true;
	}
	errno = saved;
	if (!c->have_fuse)
		return false;
	*out = c->fuse;
	return true;
}

/* @st is what the kernel said about @fd (-1: a path): make a snapshot look like its file. */
static void fix_stat(int fd, struct stat *st)
{
	struct served c;
	int i;

	if (!served_is_snapshot_dev(st->st_dev))
		return;
	i = find(fd, (unsigned long)st->st_ino, &c);
	if (i >= 0)
		fuse_attrs(i, &c, st);
}

/* The served record behind @fd (a path if @path is not NULL), when it is a snapshot. */
static int find_fd_or_path(int fd, const char *path, struct served *c)
{
	struct stat st;
	int saved = errno, rc;

	if (!atomic_load_explicit(&snap_dev, memory_order_relaxed))
		return -1;
	rc = path ? preload_real.stat(path, &st) : preload_real.fstat(fd, &st);
	errno = saved;
	if (rc || !served_is_snapshot_dev(st.st_dev))
		return -1;
	return find(path ? -1 : fd, (unsigned long)st.st_ino, &c[0]);
}

static void ensure(void)
{
	if (!preload_ready())
		preload_init();
}

static bool empty_path(const char *path, int flags)
{
	return flags & AT_EMPTY_PATH && path && !*path;
}

EXPORT int fstat(int fd, struct stat *st)
{
	int rc;

	ensure();
	rc = preload_real.fstat(fd, st);
	if (!rc)
		fix_stat(fd, st);
	return rc;
}

EXPORT int fstat64(int fd, struct stat64 *st)
{
	int rc;

	ensure();
	rc = preload_real.fstat64(fd, (struct stat *)st);
	if (!rc)
		fix_stat(fd, (struct stat *)st);
	return rc;
}

EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	int rc;

	ensure();
	rc = preload_real.fxstat(ver, fd, st);
	if (!rc)
		fix_stat(fd, st);
	return rc;
}

EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	int rc;

	ensure();
	rc = preload_real.fxstat64(ver, fd, (struct stat *)st);
	if (!rc)
		fix_stat(fd, (struct stat *)st);
	return rc;
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int rc;

	ensure();
	rc = preload_real.fstatat(dirfd, path, st, flags);
	if (!rc && !(flags & AT_SYMLINK_NOFOLLOW && !empty_path(path, flags)))
		fix_stat(empty_path(path, flags) ? dirfd : -1, st);
	return rc;
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	int rc;

	ensure();
	rc = preload_real.fstatat64(dirfd, path, (struct stat *)st, flags);
	if (!rc && !(flags & AT_SYMLINK_NOFOLLOW && !empty_path(path, flags)))
		fix_stat(empty_path(path, flags) ? dirfd : -1, (struct stat *)st);
	return rc;
}

EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	int rc;

	ensure();
	rc = preload_real.fxstatat(ver, dirfd, path, st, flags);
	if (!rc && !(flags & AT_SYMLINK_NOFOLLOW && !empty_path(path, flags)))
		fix_stat(empty_path(path, flags) ? dirfd : -1, st);
	return rc;
}

EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	int rc;

	ensure();
	rc = preload_real.fxstatat64(ver, dirfd, path, (struct stat *)st, flags);
	if (!rc && !(flags & AT_SYMLINK_NOFOLLOW && !empty_path(path, flags)))
		fix_stat(empty_path(path, flags) ? dirfd : -1, (struct stat *)st);
	return rc;
}

EXPORT int stat(const char *path, struct stat *st)
{
	int rc;

	ensure();
	rc = preload_real.stat(path, st);
	if (!rc)
		fix_stat(-1, st);
	return rc;
}

EXPORT int stat64(const char *path, struct stat64 *st)
{
	int rc;

	ensure();
	rc = preload_real.stat64(path, (struct stat *)st);
	if (!rc)
		fix_stat(-1, (struct stat *)st);
	return rc;
}

EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	int rc;

	ensure();
	rc = preload_real.xstat(ver, path, st);
	if (!rc)
		fix_stat(-1, st);
	return rc;
}

EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	int rc;

	ensure();
	rc = preload_real.xstat64(ver, path, (struct stat *)st);
	if (!rc)
		fix_stat(-1, (struct stat *)st);
	return rc;
}

static void ts_to_statx(struct statx_timestamp *t, const struct timespec *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = (__u32)ts->tv_nsec;
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	struct served c;
	struct statx tmp;
	struct stat st;
	int rc, i, saved;

	ensure();
	rc = preload_real.statx(dirfd, path, flags, mask, sx);
	if (rc || !served_is_snapshot_dev(makedev(sx->stx_dev_major, sx->stx_dev_minor)) ||
	    (flags & AT_SYMLINK_NOFOLLOW && !empty_path(path, flags)))
		return rc;
	i = find(empty_path(path, flags) ? dirfd : -1, (unsigned long)sx->stx_ino, &c);
	if (i < 0 || !fuse_attrs(i, &c, &st))
		return rc;
	saved = errno;
	if (!preload_real.statx(AT_FDCWD, c.path, flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW),
				mask, &tmp) &&
	    tmp.stx_ino == st.st_ino &&
	    makedev(tmp.stx_dev_major, tmp.stx_dev_minor) == st.st_dev) {
		*sx = tmp;
	} else {
		/* the path names another file now: the attributes last seen, as fstat gives */
		sx->stx_mask &= STATX_BASIC_STATS;
		sx->stx_dev_major = major(st.st_dev);
		sx->stx_dev_minor = minor(st.st_dev);
		sx->stx_ino = st.st_ino;
		sx->stx_mode = (__u16)st.st_mode;
		sx->stx_nlink = (__u32)st.st_nlink;
		sx->stx_uid = st.st_uid;
		sx->stx_gid = st.st_gid;
		sx->stx_size = (__u64)st.st_size;
		sx->stx_blocks = (__u64)st.st_blocks;
		sx->stx_blksize = (__u32)st.st_blksize;
		ts_to_statx(&sx->stx_atime, &st.st_atim);
		ts_to_statx(&sx->stx_mtime, &st.st_mtim);
		ts_to_statx(&sx->stx_ctime, &st.st_ctim);
		sx->stx_mask &= ~(unsigned)STATX_BTIME;
		sx->stx_attributes = 0;
		sx->stx_attributes_mask = 0;
	}
	errno = saved;
	return rc;
}

/* statfs family: the snapshot file system is recognised by its magic. */
static void fix_statfs(int fd, const char *path, struct statfs *sf)
{
	struct served c;
	struct statfs tmp;
	int saved = errno;

	if (sf->f_type != SNAP_MAGIC || find_fd_or_path(fd, path, &c) < 0)
		return;
	if (!preload_real.statfs(c.path, &tmp))
		*sf = tmp;
	errno = saved;
}

/*
 * FIX_WRAPPER - an interposed statfs/statvfs call: the real call, then @fix on success. @by
 * turns the first argument into fix's (fd, path) pair.
 */
#define BY_FD(a) (a), NULL
#define BY_PATH(a) -1, (a)
#define FIX_WRAPPER(name, argtype, by, type, base, fix)                              \
	EXPORT int name(argtype a, struct type *s)                                   \
	{                                                                            \
		int rc;                                                              \
		ensure();                                                            \
		rc = preload_real.name(a, (struct base *)s);                         \
		if (!rc)                                                             \
			fix(by(a), (struct base *)s);                                \
		return rc;                                                           \
	}

FIX_WRAPPER(fstatfs, int, BY_FD, statfs, statfs, fix_statfs)
FIX_WRAPPER(fstatfs64, int, BY_FD, statfs64, statfs, fix_statfs)
FIX_WRAPPER(statfs, const char *, BY_PATH, statfs, statfs, fix_statfs)
FIX_WRAPPER(statfs64, const char *, BY_PATH, statfs64, statfs, fix_statfs)

/* statvfs has no f_type: a served descriptor is recognised by its device. */
static void fix_statvfs(int fd, const char *path, struct statvfs *sv)
{
	struct served c;
	struct statvfs tmp;
	int saved = errno;

	if (find_fd_or_path(fd, path, &c) < 0)
		return;
	if (!preload_real.statvfs(c.path, &tmp))
		*sv = tmp;
	errno = saved;
}

FIX_WRAPPER(fstatvfs, int, BY_FD, statvfs, statvfs, fix_statvfs)
FIX_WRAPPER(fstatvfs64, int, BY_FD, statvfs64, statvfs, fix_statvfs)
FIX_WRAPPER(statvfs, const char *, BY_PATH, statvfs, statvfs, fix_statvfs)
FIX_WRAPPER(statvfs64, const char *, BY_PATH, statvfs64, statvfs, fix_statvfs)
