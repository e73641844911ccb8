/* SPDX-License-Identifier: MIT */
/*
 * preload_int.h - what the parts of libhkv-preload.so share: the real functions (resolved
 * once, in the constructor), the mount table (mounts.c) and the records of served
 * descriptors (served.c). Private to tools/preload/.
 *
 * Everything declared here may be called from an open(2) made in a signal handler, unless
 * its comment says otherwise: no allocation, no locks that can block, no stdio, no locale.
 */
#ifndef HKV_PRELOAD_INT_H
#define HKV_PRELOAD_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))

struct statx;

/* The next definitions of what the shim interposes; set by preload_init() (hkv_preload.c). */
struct preload_real {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*fstat)(int, struct stat *);
	int (*fstat64)(int, struct stat *);
	int (*fstatat)(int, const char *, struct stat *, int);
	int (*fstatat64)(int, const char *, struct stat *, int);
	int (*stat)(const char *, struct stat *);
	int (*stat64)(const char *, struct stat *);
	int (*fxstat)(int, int, struct stat *);
	int (*fxstat64)(int, int, struct stat *);
	int (*fxstatat)(int, int, const char *, struct stat *, int);
	int (*fxstatat64)(int, int, const char *, struct stat *, int);
	int (*xstat)(int, const char *, struct stat *);
	int (*xstat64)(int, const char *, struct stat *);
	int (*statx)(int, const char *, int, unsigned, struct statx *);
	int (*fstatfs)(int, struct statfs *);
	int (*fstatfs64)(int, struct statfs *);
	int (*statfs)(const char *, struct statfs *);
	int (*statfs64)(const char *, struct statfs *);
	int (*fstatvfs)(int, struct statvfs *);
	int (*fstatvfs64)(int, struct statvfs *);
	int (*statvfs)(const char *, struct statvfs *);
	int (*statvfs64)(const char *, struct statvfs *);
};

extern struct preload_real preload_real;

/**
 * preload_ready() - whether the real functions are known.
 *
 * Before the shim's constructor has run (another library's constructor may open files
 * first) the open family goes straight to the system call and the other wrappers call
 * preload_init() themselves; nothing on the open path ever calls dlsym().
 */
bool preload_ready(void);

/** preload_init() - resolve the real functions (dlsym). Not async-signal-safe. */
void preload_init(void);

/* ---- mounts.c ---- */

/* A usable hkvfs mount, as the open path needs it. */
struct preload_mount {
	uint64_t ns;         /* the mount's cache namespace */
	unsigned char delim; /* its key delimiter */
	size_t plen;         /* length of its mount point's path ("/" counts as 0) */
	int mnt_fd;          /* our /proc/self/mountinfo descriptor, for the module to poll */
};

/**
 * mounts_any() - whether any hkvfs mount is visible; looks for mount changes at most once
 * a second (or when one is known to be pending). Call before mounts_find().
 *
 * Return: false when there is none, or the table could not be brought up to date now.
 */
bool mounts_any(void);

/**
 * mounts_find() - the hkvfs mount on top at absolute, normalised path @path.
 * @out: receives the mount's namespace, delimiter and path prefix length.
 *
 * Answers from the table as it is (re-read first only if it is known to be out of date):
 * no system call, except on a mount's first use (reads its .hkv/config) and once per
 * credentials generation (search permission on the mount point). The answer is only good
 * if the mounts did not change since the table was read: HKV_IOC_OPEN verifies that (it
 * polls @out->mnt_fd, or walks the path); see mounts_stale().
 *
 * Return: true if @path lies on a usable hkvfs mount (no other file system mounted on top
 * of it on the way); false to fall through (not hkvfs, or any doubt, or a writer busy).
 */
bool mounts_find(const char *path, struct preload_mount *out);

/**
 * mounts_stale() - the module said the mounts changed, or that a path mounts_find() gave it
 * leads elsewhere: re-read the table (and, @ns non-zero, that mount's config) before the
 * next lookup.
 */
void mounts_stale(uint64_t ns);

/** mounts_init() - register the fork handler. Constructor only. */
void mounts_init(void);

/** mounts_cred_changed() - credentials may have changed: redo the mount-point checks. */
void mounts_cred_changed(void);

/** mounts_root_changed() - root or mount namespace may have changed: re-read everything. */
void mounts_root_changed(void);

/** mounts_fd_closed() - descriptor @fd is being closed or replaced by the program. */
void mounts_fd_closed(int fd);

/** mounts_fds_closed() - descriptors @first..@last are being closed by the program. */
void mounts_fds_closed(unsigned first, unsigned last);

/* ---- served.c ---- */

/**
 * served_note() - remember that snapshot descriptor @fd was served for absolute path @path
 * (@len bytes), so that fstat and friends answer with that path's attributes.
 *
 * Return: false if it cannot be remembered (path too long, a concurrent writer of the same
 * record): the caller must then not hand @fd out.
 */
bool served_note(int fd, const char *path, size_t len);

/** served_closed() - the program closes descriptor @fd: forget its record. */
void served_closed(int fd);

/** served_closed_range() - the program closes descriptors @first..@last. */
void served_closed_range(unsigned first, unsigned last);

/** served_dup() - @newfd is now a copy of @oldfd: copy its record. */
void served_dup(int oldfd, int newfd);

/** served_is_snapshot_dev() - whether @dev is the device of the module's snapshot files. */
bool served_is_snapshot_dev(dev_t dev);

#endif /* HKV_PRELOAD_INT_H */
