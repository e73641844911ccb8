// SPDX-License-Identifier: MIT
/*
 * hkv_preload.c - libhkv-preload.so: serve read-only opens of hot hkvfs keys from the kernel
 * cache (/dev/hkv) without a round trip to the FUSE daemon.
 *
 * Loaded with LD_PRELOAD, it interposes open, open64, openat, openat64 (and glibc's
 * _FORTIFY_SOURCE variants __open_2 ...), fopen and fopen64, and mmap/mmap64 only to map
 * the descriptors it handed out (see emulate_mmap()). For a read-only open of a path
 * under an hkvfs mount it maps the path to its key with the daemon's own mapping
 * (hkv/pathmap.h) and asks the module for a snapshot descriptor (HKV_IOC_OPEN): one ioctl.
 * On a hit the caller gets that descriptor, a regular read-only file holding the value, so
 * read, pread, lseek, stdio, sendfile, copy_file_range and (emulated) mmap all behave as on
 * the FUSE file, and the stat family answers with the FUSE file's attributes (served.c). On
 * a miss, a missing device, a write mode, O_NOATIME, a path it cannot map exactly, or any
 * other doubt it calls the real function, so a program cannot tell the difference except by
 * speed.
 *
 * What it must never do, and how:
 *  - change what a program observes: errors of its own are never returned; errno is restored
 *    on every fall-through; nothing is printed;
 *  - allocate, lock, format or look anything up in an open (open(2) is async-signal-safe
 *    and may be called from a signal handler): the real functions are resolved by the
 *    constructor (before it has run, the open family makes the system call itself), the
 *    mount table and the records of served descriptors live in static storage under
 *    sequence locks that are only try-locked, numbers are parsed by hand;
 *  - serve what permissions forbid: the module checks the caller's credentials against the
 *    key's owner and mode; search permission on the mount point is checked once per mount
 *    and credentials (faccessat with AT_EACCESS), which also covers FUSE mounts without
 *    allow_other; the daemon promotes only keys whose directories are searchable by all,
 *    and drops a directory's cached descendants when its mode or owner changes;
 *  - outlive its descriptors: a program may close every descriptor (daemons do); closing
 *    ours through libc is seen (close, dup2, dup3, close_range, closefrom), and an ioctl
 *    failing with EBADF or ENOTTY reopens /dev/hkv once.
 *
 * Mounts: mounts.c keeps a table of the mounts that tells which opens may be served and
 * with which namespace. Each served open asks the module to check that the table is still
 * current, inside the one ioctl: by default the module polls our /proc/self/mountinfo
 * descriptor (HKV_OPEN_CHECK_MOUNTS: EXDEV if the mounts changed since our last look); with
 * HKV_PRELOAD_PATHCHECK=1 it walks the path itself as the caller (HKV_OPEN_CHECK_PATH: EXDEV
 * if the path does not lead to the key - exact even after changes of root or namespace
 * made with raw system calls, at the price of a kernel path walk per open). A refusal costs
 * a re-read of the table and a fall-through, never a wrong value. A module without these
 * checks (E2BIG) is not used at all.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hkv.h>

#include "hkv/pathmap.h"
#include "preload_int.h"

#define DEVICE "/dev/hkv"

struct preload_real preload_real;

static atomic_int devfd = -1;
static bool disabled;
static atomic_bool module_old; /* the module has no mount checks (E2BIG): serve nothing */
static bool path_check;        /* HKV_PRELOAD_PATHCHECK: the module walks each served path */
static atomic_bool inited;

static struct {
	int (*setuid)(uid_t);
	int (*seteuid)(uid_t);
	int (*setreuid)(uid_t, uid_t);
	int (*setresuid)(uid_t, uid_t, uid_t);
	int (*setgid)(gid_t);
	int (*setegid)(gid_t);
	int (*setregid)(gid_t, gid_t);
	int (*setresgid)(gid_t, gid_t, gid_t);
	int (*setgroups)(size_t, const gid_t *);
	int (*setfsuid)(uid_t);
	int (*setfsgid)(gid_t);
	int (*capset)(void *, const void *);
	int (*unshare)(int);
	int (*setns)(int, int);
	int (*chroot)(const char *);
	int (*pivot_root)(const char *, const char *);
} real_cred;

#define RESOLVE(dst, name) (*(void **)&(dst) = dlsym(RTLD_NEXT, name))

/*
 * Resolve the real functions. It runs as a constructor, but the constructors of libraries the
 * program links (libselinux calls fopen from its own) may run before ours: until it has
 * completed, the open family makes the system call itself and the other wrappers call it
 * (they are not async-signal-safe, or not on a path a signal handler's open takes). The
 * lookups are idempotent; racing threads store the same values.
 */
__attribute__((constructor)) void preload_init(void)
{
	const char *off = getenv("HKV_PRELOAD_DISABLE");
	struct preload_real *r = &preload_real;

	if (atomic_load_explicit(&inited, memory_order_acquire))
		return;
	disabled = off && *off && strcmp(off, "0");
	{
		const char *pc = getenv("HKV_PRELOAD_PATHCHECK");

		path_check = pc && *pc && strcmp(pc, "0");
	}
	RESOLVE(r->open, "open");
	RESOLVE(r->open64, "open64");
	RESOLVE(r->openat, "openat");
	RESOLVE(r->openat64, "openat64");
	RESOLVE(r->open_2, "__open_2");
	RESOLVE(r->open64_2, "__open64_2");
	RESOLVE(r->openat_2, "__openat_2");
	RESOLVE(r->openat64_2, "__openat64_2");
	RESOLVE(r->fopen, "fopen");
	RESOLVE(r->fopen64, "fopen64");
	RESOLVE(r->mmap, "mmap");
	RESOLVE(r->close, "close");
	RESOLVE(r->dup, "dup");
	RESOLVE(r->dup2, "dup2");
	RESOLVE(r->dup3, "dup3");
	RESOLVE(r->close_range, "close_range");
	RESOLVE(r->closefrom, "closefrom");
	RESOLVE(r->fstat, "fstat");
	RESOLVE(r->fstat64, "fstat64");
	RESOLVE(r->fstatat, "fstatat");
	RESOLVE(r->fstatat64, "fstatat64");
	RESOLVE(r->stat, "stat");
	RESOLVE(r->stat64, "stat64");
	RESOLVE(r->fxstat, "__fxstat");
	RESOLVE(r->fxstat64, "__fxstat64");
	RESOLVE(r->fxstatat, "__fxstatat");
	RESOLVE(r->fxstatat64, "__fxstatat64");
	RESOLVE(r->xstat, "__xstat");
	RESOLVE(r->xstat64, "__xstat64");
	RESOLVE(r->statx, "statx");
	RESOLVE(r->fstatfs, "fstatfs");
	RESOLVE(r->fstatfs64, "fstatfs64");
	RESOLVE(r->statfs, "statfs");
	RESOLVE(r->statfs64, "statfs64");
	RESOLVE(r->fstatvfs, "fstatvfs");
	RESOLVE(r->fstatvfs64, "fstatvfs64");
	RESOLVE(r->statvfs, "statvfs");
	RESOLVE(r->statvfs64, "statvfs64");
	RESOLVE(real_cred.setuid, "setuid");
	RESOLVE(real_cred.seteuid, "seteuid");
	RESOLVE(real_cred.setreuid, "setreuid");
	RESOLVE(real_cred.setresuid, "setresuid");
	RESOLVE(real_cred.setgid, "setgid");
	RESOLVE(real_cred.setegid, "setegid");
	RESOLVE(real_cred.setregid, "setregid");
	RESOLVE(real_cred.setresgid, "setresgid");
	RESOLVE(real_cred.setgroups, "setgroups");
	RESOLVE(real_cred.setfsuid, "setfsuid");
	RESOLVE(real_cred.setfsgid, "setfsgid");
	RESOLVE(real_cred.capset, "capset");
	RESOLVE(real_cred.unshare, "unshare");
	RESOLVE(real_cred.setns, "setns");
	RESOLVE(real_cred.chroot, "chroot");
	RESOLVE(real_cred.pivot_root, "pivot_root");
	mounts_init();
	atomic_store_explicit(&inited, true, memory_order_release);
}

bool preload_ready(void)
{
	return atomic_load_explicit(&inited, memory_order_acquire);
}

static inline void ensure_init(void)
{
	if (!preload_ready())
		preload_init();
}

/* The raw open, used for our own files whatever is interposed (and however early). */
static int sys_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags);
}

/*
 * Normalise @path (absolute, or relative to the working directory) into @out: no "." or
 * empty components. Return: its length, or 0 for anything we would rather not interpret
 * (".." components, a trailing slash, too long, no reachable working directory).
 */
static size_t normalise(const char *path, char *out, size_t size)
{
	size_t o = 0;
	const char *p = path;

	if (*p != '/') {
		int saved = errno;
		long r = syscall(SYS_getcwd, out, size); /* the libc one is not signal-safe */

		errno = saved;
		if (r <= 0 || out[0] != '/')
			return 0; /* "(unreachable)...": outside our root */
		o = strlen(out);
		if (o == 1)
			o = 0;
	}
	while (*p) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = strchr(p, '/');
		len = s ? (size_t)(s - p) : strlen(p);
		if (s && !s[1])
			return 0; /* trailing slash: a directory is meant */
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		if (o + 1 + len + 1 > size)
			return 0;
		out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = 0;
	return o;
}

static int dev_fd(bool reopen)
{
	int fd = atomic_load_explicit(&devfd, memory_order_acquire);

	if (fd >= 0 && !reopen)
		return fd;
	if (fd == -2 && !reopen)
		return -1; /* no device: do not try on every open */
	int saved = errno;
	int nfd = sys_open(DEVICE, O_RDONLY | O_CLOEXEC);

	errno = saved;
	if (nfd < 0) {
		atomic_store_explicit(&devfd, -2, memory_order_release);
		return -1;
	}
	if (!atomic_compare_exchange_strong(&devfd, &fd, nfd)) {
		syscall(SYS_close, nfd);
		return fd >= 0 ? fd : -1;
	}
	return nfd;
}

/* The program closes or replaces descriptor @fd: if it was one of ours, forget it. */
static void fd_closing(int fd)
{
	int d = atomic_load_explicit(&devfd, memory_order_relaxed);

	if (fd >= 0 && fd == d)
		atomic_compare_exchange_strong(&devfd, &d, -1);
	mounts_fd_closed(fd);
	served_closed(fd);
}

EXPORT int close(int fd)
{
	fd_closing(fd);
	if (!preload_ready())
		return (int)syscall(SYS_close, fd);
	return preload_real.close(fd);
}

EXPORT int dup(int oldfd)
{
	int fd;

	fd = preload_ready() ? preload_real.dup(oldfd) : (int)syscall(SYS_dup, oldfd);
	if (fd >= 0)
		served_dup(oldfd, fd);
	return fd;
}

EXPORT int dup2(int oldfd, int newfd)
{
	int fd;

	if (oldfd != newfd)
		fd_closing(newfd);
	fd = preload_ready() ? preload_real.dup2(oldfd, newfd)
			     : (int)syscall(SYS_dup2, oldfd, newfd);
	if (fd >= 0)
		served_dup(oldfd, fd);
	return fd;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int fd;

	if (oldfd != newfd)
		fd_closing(newfd);
	fd = preload_ready() ? preload_real.dup3(oldfd, newfd, flags)
			     : (int)syscall(SYS_dup3, oldfd, newfd, flags);
	if (fd >= 0)
		served_dup(oldfd, fd);
	return fd;
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int d = atomic_load_explicit(&devfd, memory_order_relaxed);

	if (d >= 0 && (unsigned)d >= first && (unsigned)d <= last)
		atomic_compare_exchange_strong(&devfd, &d, -1);
	mounts_fds_closed(first, last);
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		served_closed_range(first, last);
	if (!preload_ready())
		return (int)syscall(SYS_close_range, first, last, flags);
	return preload_real.close_range(first, last, flags);
}

EXPORT void closefrom(int first)
{
	ensure_init();
	if (first >= 0) {
		int d = atomic_load_explicit(&devfd, memory_order_relaxed);

		if (d >= first)
			atomic_compare_exchange_strong(&devfd, &d, -1);
		mounts_fds_closed((unsigned)first, ~0u);
		served_closed_range((unsigned)first, ~0u);
	}
	preload_real.closefrom(first);
}

/*
 * Snapshots cannot be mapped (the module gives them no page cache), FUSE files can: mmap()
 * of a descriptor this shim handed out is emulated with an anonymous mapping filled by
 * pread(), which shows the same bytes - a snapshot never changes.
 */
static void *emulate_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int saved = errno;
	struct stat st;
	void *p;

	if (fd < 0 || preload_real.fstat(fd, &st) || !served_is_snapshot_dev(st.st_dev) ||
	    !S_ISREG(st.st_mode) || ((flags & MAP_TYPE) == MAP_SHARED && prot & PROT_WRITE) ||
	    off < 0) {
		errno = saved;
		return MAP_FAILED;
	}
	flags = (flags & ~(MAP_TYPE | MAP_SHARED_VALIDATE)) | MAP_PRIVATE | MAP_ANONYMOUS;
	p = preload_real.mmap(addr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	for (size_t done = 0; done < len && off + (off_t)done < st.st_size;) {
		ssize_t r = pread(fd, (char *)p + done, len - done, off + (off_t)done);

		if (r <= 0) {
			munmap(p, len);
			errno = saved;
			return MAP_FAILED;
		}
		done += (size_t)r;
	}
	if (mprotect(p, len, prot)) {
		munmap(p, len);
		return MAP_FAILED;
	}
	errno = saved;
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;
	int e;

	ensure_init();
	p = preload_real.mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED || errno != ENODEV)
		return p;
	e = errno;
	p = emulate_mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		errno = e;
	return p;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/*
 * Try the kernel cache for @path opened with @flags from directory @dirfd.
 * Return: a snapshot descriptor, or -1 to fall through (errno untouched).
 */
static int try_cache(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX], key[HKV_DEV_KEY_MAX];
	struct preload_mount m;
	struct hkv_open req;
	ssize_t klen;
	size_t alen;
	int fd, saved = errno, kflags;

	if (disabled || !path || !preload_ready() ||
	    atomic_load_explicit(&module_old, memory_order_relaxed))
		return -1;
	/*
	 * O_NOATIME: the VFS refuses it with EPERM to whoever does not own the file, before
	 * the file system sees the open; the real open gives that answer exactly.
	 */
	if ((flags & O_ACCMODE) != O_RDONLY ||
	    flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH | O_TMPFILE | O_APPEND | O_NOATIME))
		return -1;
	if (*path != '/' && dirfd != AT_FDCWD)
		return -1;
	if (!mounts_any())
		return -1; /* no hkvfs mount: one poll(2) of mountinfo */
	alen = normalise(path, abs, sizeof(abs));
	if (!alen || !mounts_find(abs, &m))
		return -1;
	klen = hkv_pathmap_path_to_key(abs + m.plen + 1, m.delim, key, sizeof(key));
	if (klen <= 0)
		return -1;
	kflags = flags & (O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = (__u32)kflags;
	req.ns = m.ns;
	req.key_ptr = (__u64)(uintptr_t)key;
	req.key_len = (__u32)klen;
	if (path_check) {
		/* the module walks the path and serves the key only if it still leads there */
		req.checks = HKV_OPEN_CHECK_PATH;
		req.path_ptr = (__u64)(uintptr_t)abs;
		req.path_off = (__u32)m.plen;
	} else {
		/* the module polls our mountinfo: no mount changed since the table was read */
		req.checks = HKV_OPEN_CHECK_MOUNTS;
		req.mnt_fd = m.mnt_fd;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int dfd = dev_fd(attempt > 0);

		if (dfd < 0)
			break;
		fd = ioctl(dfd, HKV_IOC_OPEN, &req);
		if (fd >= 0) {
			if (!served_note(fd, abs, alen)) {
				/* it could not be made to look like the FUSE file */
				syscall(SYS_close, fd);
				break;
			}
			errno = saved;
			return fd;
		}
		if (errno == EXDEV)
			mounts_stale(path_check ? m.ns : 0); /* re-read the table */
		else if (errno == EBADFD)
			mounts_fd_closed(m.mnt_fd); /* not our mountinfo any more: reopen */
		else if (errno == E2BIG)
			atomic_store_explicit(&module_old, true, memory_order_relaxed);
		if (errno != EBADF && errno != ENOTTY)
			break;
	}
	errno = saved;
	return -1;
}

static bool has_mode_arg(int flags)
{
	return flags & O_CREAT || (flags & O_TMPFILE) == O_TMPFILE;
}

/* Before the constructor: the system call itself, nothing resolved, nothing served. */
#define OPEN_BODY(realfn, dirfd)                                                     \
	do {                                                                         \
		mode_t mode = 0;                                                     \
		int fd;                                                              \
		if (has_mode_arg(flags)) {                                           \
			va_list ap;                                                  \
			va_start(ap, flags);                                         \
			mode = va_arg(ap, mode_t);                                   \
			va_end(ap);                                                  \
		}                                                                    \
		if (!preload_ready())                                                \
			return (int)syscall(SYS_openat, dirfd, path, flags, mode);   \
		fd = try_cache(dirfd, path, flags);                                  \
		if (fd >= 0)                                                         \
			return fd;                                                   \
		return realfn;                                                       \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	OPEN_BODY(preload_real.open(path, flags, mode), AT_FDCWD);
}

EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(preload_real.open64(path, flags, mode), AT_FDCWD);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(preload_real.openat(dirfd, path, flags, mode), dirfd);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(preload_real.openat64(dirfd, path, flags, mode), dirfd);
}

#define OPEN2_BODY(realfn, dirfd)                                                    \
	do {                                                                         \
		int fd;                                                              \
		if (!preload_ready())                                                \
			return (int)syscall(SYS_openat, dirfd, path, flags);         \
		fd = try_cache(dirfd, path, flags);                                  \
		return fd >= 0 ? fd : realfn;                                        \
	} while (0)

EXPORT int __open_2(const char *path, int flags)
{
	OPEN2_BODY(preload_real.open_2(path, flags), AT_FDCWD);
}

EXPORT int __open64_2(const char *path, int flags)
{
	OPEN2_BODY(preload_real.open64_2(path, flags), AT_FDCWD);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY(preload_real.openat_2(dirfd, path, flags), dirfd);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY(preload_real.openat64_2(dirfd, path, flags), dirfd);
}

/* fopen modes we serve: "r" with any of 'b', 'e' (O_CLOEXEC), 'm', 'c'; nothing else. */
static bool fopen_readonly(const char *mode, int *flags)
{
	if (!mode || mode[0] != 'r')
		return false;
	*flags = O_RDONLY;
	for (const char *p = mode + 1; *p && *p != ','; p++) {
		if (*p == 'e')
			*flags |= O_CLOEXEC;
		else if (*p != 'b' && *p != 'm' && *p != 'c')
			return false;
	}
	return true;
}

static FILE *fopen_common(const char *path, const char *mode,
			  FILE *(*realfn)(const char *, const char *))
{
	int flags, fd, saved = errno;
	FILE *f;

	if (fopen_readonly(mode, &flags)) {
		fd = try_cache(AT_FDCWD, path, flags);
		if (fd >= 0) {
			f = fdopen(fd, mode);
			if (f) {
				errno = saved;
				return f;
			}
			close(fd);
			errno = saved;
		}
	}
	return realfn(path, mode);
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	ensure_init();
	return fopen_common(path, mode, preload_real.fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	ensure_init();
	return fopen_common(path, mode, preload_real.fopen64);
}

/*
 * Credential changes: call the real function, then make the next open redo the mount-point
 * check (mounts_cred_changed()), instead of asking the kernel for the credentials on every
 * open. The bump comes after the call, so an open racing with it is judged with the
 * credentials of one side or the other, as it would be without the shim. A program that
 * changes credentials with a raw syscall(2) (libcap's cap_set_proc() included) is not
 * seen: the module's per-entry check still applies to it, only the mount point's own
 * permission is then judged with the old credentials.
 */
#define CRED_WRAPPER(name, proto, args) \
	CHANGE_WRAPPER(name, proto, args, mounts_cred_changed())

/*
 * CHANGE_WRAPPER - an interposed call whose only extra work is @after, run once the real
 * function has returned (whatever it returned), so that the next open sees the change.
 */
#define CHANGE_WRAPPER(name, proto, args, after)                                     \
	EXPORT int name proto                                                        \
	{                                                                            \
		int rc;                                                              \
		ensure_init();                                                       \
		if (!real_cred.name) {                                               \
			errno = ENOSYS;                                              \
			return -1;                                                   \
		}                                                                    \
		rc = real_cred.name args;                                            \
		after;                                                               \
		return rc;                                                           \
	}

CRED_WRAPPER(setuid, (uid_t u), (u))
CRED_WRAPPER(seteuid, (uid_t u), (u))
CRED_WRAPPER(setreuid, (uid_t r, uid_t e), (r, e))
CRED_WRAPPER(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CRED_WRAPPER(setgid, (gid_t g), (g))
CRED_WRAPPER(setegid, (gid_t g), (g))
CRED_WRAPPER(setregid, (gid_t r, gid_t e), (r, e))
CRED_WRAPPER(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
CRED_WRAPPER(setgroups, (size_t n, const gid_t *l), (n, l))
CRED_WRAPPER(setfsuid, (uid_t u), (u))
CRED_WRAPPER(setfsgid, (gid_t g), (g))
/* glibc's capset takes the <linux/capability.h> header and data pointers */
CRED_WRAPPER(capset, (void *hdr, const void *data), (hdr, data))

/*
 * Root and mount namespace changes: mountinfo's paths are relative to the root of whoever
 * opened it, and its change events are those of the opener's namespace, so the mount table
 * reopens it. unshare and setns may also change credentials (a new user namespace).
 */
#define ROOT_WRAPPER(name, proto, args) \
	CHANGE_WRAPPER(name, proto, args, (mounts_root_changed(), mounts_cred_changed()))

ROOT_WRAPPER(unshare, (int flags), (flags))
ROOT_WRAPPER(setns, (int fd, int nstype), (fd, nstype))
ROOT_WRAPPER(chroot, (const char *path), (path))
ROOT_WRAPPER(pivot_root, (const char *new_root, const char *put_old), (new_root, put_old))
