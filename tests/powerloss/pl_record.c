// SPDX-License-Identifier: MIT
/*
 * pl_record.c - the power-loss recorder: interposes the C library's file-system calls and
 * records those made on the tree under one directory, with their data, into a trace
 * (pl_trace.h).
 *
 * How the calls are caught: this file is linked into the workload executable, which
 * therefore defines open, pwrite, writev, fdatasync, ... itself. The engine is a static
 * library in the same executable, so its calls bind to these definitions at link time; LMDB
 * is a shared library, and the dynamic linker binds its calls to the executable's definitions
 * too (the executable comes first in the global lookup scope and exports them, see
 * ENABLE_EXPORTS in CMakeLists.txt). Each definition calls the real function, found with
 * dlsym(RTLD_NEXT).
 *
 * What is recorded: only calls on paths under the root, and never on LMDB's lock file
 * (lock.mdb: a shared memory area LMDB rebuilds when it opens an environment nobody else has
 * open, which is always the case after a power loss). Every recorded call runs under one
 * mutex, with its record written before the mutex is released, so the trace order is the
 * order the calls took effect in, across threads. Calls that failed are not recorded. A write
 * is recorded with the bytes the kernel accepted (its return value), at the offset it went to
 * (pwrite's argument, or the descriptor's position for write/writev). A descriptor opened
 * with O_DSYNC or O_SYNC makes its writes durable when they return (LMDB writes its meta
 * pages that way unless MDB_NOSYNC/MDB_NOMETASYNC).
 *
 * A tree that exists when recording starts is recorded first as a baseline (its directories,
 * files and their contents, then a sync): the checker starts from it as durable.
 *
 * Invariant: a call the crash model cannot represent (a shared writable mapping of a
 * recorded file, a hole punch, a rename into the tree from outside it) is recorded as
 * PL_UNSUPPORTED, and the checker fails on it rather than silently checking less.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pl_trace.h"

#define FD_MAX 65536

struct fdent {
	char *path; /* absolute, normalised; NULL: not recorded */
	bool dsync;
	bool append;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdent fds[FD_MAX];
static char *root;      /* absolute, normalised, no trailing slash */
static size_t rootlen;
static int trace_fd = -1;
static bool recording;

#define REAL(name, ret, ...)                                                                 \
	static ret (*real_##name)(__VA_ARGS__);                                              \
	static ret (*get_##name(void))(__VA_ARGS__)                                          \
	{                                                                                    \
		if (!real_##name)                                                            \
			real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);          \
		return real_##name;                                                          \
	}

REAL(open, int, const char *, int, ...)
REAL(openat, int, int, const char *, int, ...)
REAL(write, ssize_t, int, const void *, size_t)
REAL(pwrite, ssize_t, int, const void *, size_t, off_t)
REAL(writev, ssize_t, int, const struct iovec *, int)
REAL(pwritev, ssize_t, int, const struct iovec *, int, off_t)
REAL(ftruncate, int, int, off_t)
REAL(fallocate, int, int, int, off_t, off_t)
REAL(fsync, int, int)
REAL(fdatasync, int, int)
REAL(renameat, int, int, const char *, int, const char *)
REAL(renameat2, int, int, const char *, int, const char *, unsigned)
REAL(unlinkat, int, int, const char *, int)
REAL(mkdirat, int, int, const char *, mode_t)
REAL(close, int, int)
REAL(mmap, void *, void *, size_t, int, int, int, off_t)
REAL(sync, void, void)
REAL(syncfs, int, int)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write all of @len bytes to the trace; a failure is fatal (a partial trace proves nothing). */
static void trace_put(const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = get_write()(trace_fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "powerloss recorder: trace write failed: %s\n",
				strerror(errno));
			abort();
		}
		c += n;
		len -= (size_t)n;
	}
}

static void emit(int type, int flags, uint64_t x, const void *a, uint32_t alen, const void *b,
		 uint32_t blen)
{
	struct pl_hdr h = { .type = (uint8_t)type, .flags = (uint8_t)flags, .a = alen,
			    .b = blen, .x = x, .t = now_ns() };

	static const char pad[8];

	trace_put(&h, sizeof(h));
	if (alen)
		trace_put(a, alen);
	if (blen)
		trace_put(b, blen);
	/* records start 8-byte aligned, so the checker can read headers in place */
	if ((alen + blen) % 8)
		trace_put(pad, 8 - (alen + blen) % 8);
}

/* Normalise absolute path @p in place: no "//", "/./", "/../", no trailing slash. */
static void normalise(char *p)
{
	char *out = p, *in = p;

	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *end = strchrnul(in, '/');
		size_t n = (size_t)(end - in);

		if (n == 1 && in[0] == '.') {
			/* skip */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && out[-1] != '/')
				out--;
			if (out > p)
				out--;
		} else {
			*out++ = '/';
			memmove(out, in, n);
			out += n;
		}
		in = end;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/* Absolute normalised path of @path relative to @dirfd, malloc()ed; NULL if unknown. */
static char *resolve(int dirfd, const char *path)
{
	char base[PATH_MAX], *r;

	if (!path)
		return NULL;
	if (path[0] == '/') {
		base[0] = 0;
	} else if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			return NULL;
	} else if (dirfd >= 0 && dirfd < FD_MAX && fds[dirfd].path) {
		snprintf(base, sizeof(base), "%s", fds[dirfd].path);
	} else {
		char link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n < 0)
			return NULL;
		base[n] = 0;
	}
	if (asprintf(&r, "%s/%s", base, path) < 0)
		return NULL;
	normalise(r);
	return r;
}

/* The path of @abs relative to the root, or NULL if @abs is outside it or not recorded. */
static const char *rel(const char *abs)
{
	const char *base;

	if (!abs || !root || strncmp(abs, root, rootlen))
		return NULL;
	if (abs[rootlen] != 0 && abs[rootlen] != '/')
		return NULL;
	base = strrchr(abs, '/');
	if (base && !strcmp(base + 1, "lock.mdb"))
		return NULL;
	return abs[rootlen] ? abs + rootlen + 1 : abs + rootlen;
}

static void emit_path(int type, int flags, uint64_t x, const char *r, const void *b,
		      uint32_t blen)
{
	emit(type, flags, x, r, (uint32_t)strlen(r), b, blen);
}

/* nftw() callback of snapshot(): one existing directory or file of the tree. */
static int snap_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	const char *r = rel(p);
	char buf[65536];
	uint64_t off = 0;
	ssize_t n;
	int fd;

	(void)sb;
	(void)f;
	if (!r)
		return 0;
	if (flag == FTW_D) {
		emit_path(PL_MKDIR, 0, 0, r, NULL, 0);
		return 0;
	}
	if (flag != FTW_F)
		return 0;
	emit_path(PL_CREAT, 0, 0, r, NULL, 0);
	fd = get_openat()(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		emit_path(PL_WRITE, 0, off, r, buf, (uint32_t)n);
		off += (uint64_t)n;
	}
	get_close()(fd);
	return n < 0 ? -1 : 0;
}

/*
 * Record the tree as it is (a store that already exists) as a baseline the checker starts
 * from: its directories, files and contents, then a sync, since what existed before the
 * recording is taken to be durable.
 */
static int snapshot(void)
{
	if (access(root, F_OK))
		return 0;
	if (nftw(root, snap_cb, 16, FTW_PHYS))
		return -EIO;
	emit(PL_SYNCALL, PL_F_BASELINE, 0, NULL, 0, NULL, 0);
	return 0;
}

int pl_record_start(const char *dir, const char *trace)
{
	int rc;

	pthread_mutex_lock(&lock);
	root = resolve(AT_FDCWD, dir);
	if (!root) {
		pthread_mutex_unlock(&lock);
		return -ENOMEM;
	}
	rootlen = strlen(root);
	trace_fd = get_open()(trace, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (trace_fd < 0) {
		int e = errno;

		pthread_mutex_unlock(&lock);
		return -e;
	}
	rc = snapshot();
	recording = rc == 0;
	pthread_mutex_unlock(&lock);
	return rc;
}

int pl_record_stop(void)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	recording = false;
	if (trace_fd >= 0 && get_close()(trace_fd))
		rc = -errno;
	trace_fd = -1;
	pthread_mutex_unlock(&lock);
	return rc;
}

void pl_mark(int type, uint64_t x, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	pthread_mutex_lock(&lock);
	if (recording)
		emit(type, 0, x, a, alen, b, blen);
	pthread_mutex_unlock(&lock);
}

/* Shared body of the open calls; under lock. */
static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char *abs = recording ? resolve(dirfd, path) : NULL;
	const char *r = rel(abs);
	bool existed = true;
	int fd;

	if (r && (flags & O_CREAT))
		existed = faccessat(AT_FDCWD, abs, F_OK, 0) == 0;
	fd = get_openat()(dirfd, path, flags, mode);
	if (fd < 0 || !r || fd >= FD_MAX) {
		free(abs);
		return fd;
	}
	if (!existed)
		emit_path(PL_CREAT, 0, 0, r, NULL, 0);
	else if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		emit_path(PL_TRUNC, 0, 0, r, NULL, 0);
	free(fds[fd].path);
	fds[fd].path = abs;
	fds[fd].dsync = (flags & O_DSYNC) || (flags & O_SYNC) == O_SYNC;
	fds[fd].append = flags & O_APPEND;
	return fd;
}

#define OPEN_MODE(flags, mode)                                                               \
	do {                                                                                 \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                     \
			va_list ap;                                                          \
			va_start(ap, flags);                                                 \
			mode = va_arg(ap, mode_t);                                           \
			va_end(ap);                                                          \
		}                                                                            \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	OPEN_MODE(flags, mode);
	pthread_mutex_lock(&lock);
	fd = do_open(AT_FDCWD, path, flags, mode);
	pthread_mutex_unlock(&lock);
	return fd;
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	OPEN_MODE(flags, mode);
	pthread_mutex_lock(&lock);
	fd = do_open(AT_FDCWD, path, flags, mode);
	pthread_mutex_unlock(&lock);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	OPEN_MODE(flags, mode);
	pthread_mutex_lock(&lock);
	fd = do_open(dirfd, path, flags, mode);
	pthread_mutex_unlock(&lock);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int fd;

	OPEN_MODE(flags, mode);
	pthread_mutex_lock(&lock);
	fd = do_open(dirfd, path, flags, mode);
	pthread_mutex_unlock(&lock);
	return fd;
}

int __open_2(const char *path, int flags)
{
	int fd;

	pthread_mutex_lock(&lock);
	fd = do_open(AT_FDCWD, path, flags, 0);
	pthread_mutex_unlock(&lock);
	return fd;
}

int __openat_2(int dirfd, const char *path, int flags)
{
	int fd;

	pthread_mutex_lock(&lock);
	fd = do_open(dirfd, path, flags, 0);
	pthread_mutex_unlock(&lock);
	return fd;
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

static const char *fd_rel(int fd)
{
	if (!recording || fd < 0 || fd >= FD_MAX || !fds[fd].path)
		return NULL;
	return rel(fds[fd].path);
}

static void emit_write(int fd, const char *r, off_t off, const struct iovec *iov, int cnt,
		       ssize_t n)
{
	char *buf;
	size_t done = 0;

	if (n <= 0)
		return;
	buf = malloc((size_t)n);
	if (!buf)
		abort();
	for (int i = 0; i < cnt && done < (size_t)n; i++) {
		size_t c = iov[i].iov_len;

		if (c > (size_t)n - done)
			c = (size_t)n - done;
		memcpy(buf + done, iov[i].iov_base, c);
		done += c;
	}
	emit_path(PL_WRITE, fds[fd].dsync ? PL_F_DSYNC : 0, (uint64_t)off, r, buf, (uint32_t)n);
	free(buf);
}

/* Offset the next write(2)/writev(2) on @fd goes to. */
static off_t cur_off(int fd)
{
	struct stat st;

	if (fds[fd].append)
		return fstat(fd, &st) ? 0 : st.st_size;
	return lseek(fd, 0, SEEK_CUR);
}

static ssize_t do_pwritev(int fd, const struct iovec *iov, int cnt, off_t off, bool positional)
{
	const char *r;
	ssize_t n;
	off_t at;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	at = r && !positional ? cur_off(fd) : off;
	if (positional)
		n = get_pwritev()(fd, iov, cnt, off);
	else
		n = get_writev()(fd, iov, cnt);
	if (r)
		emit_write(fd, r, at, iov, cnt, n);
	pthread_mutex_unlock(&lock);
	return n;
}

ssize_t write(int fd, const void *p, size_t len)
{
	struct iovec iov = { (void *)p, len };
	const char *r;
	ssize_t n;
	off_t at;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	at = r ? cur_off(fd) : 0;
	n = get_write()(fd, p, len);
	if (r)
		emit_write(fd, r, at, &iov, 1, n);
	pthread_mutex_unlock(&lock);
	return n;
}

static ssize_t do_pwrite(int fd, const void *p, size_t len, off_t off)
{
	struct iovec iov = { (void *)p, len };
	const char *r;
	ssize_t n;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	n = get_pwrite()(fd, p, len, off);
	if (r)
		emit_write(fd, r, off, &iov, 1, n);
	pthread_mutex_unlock(&lock);
	return n;
}

ssize_t pwrite(int fd, const void *p, size_t len, off_t off)
{
	return do_pwrite(fd, p, len, off);
}

ssize_t pwrite64(int fd, const void *p, size_t len, off_t off)
{
	return do_pwrite(fd, p, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return do_pwritev(fd, iov, cnt, 0, false);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return do_pwritev(fd, iov, cnt, off, true);
}

int ftruncate(int fd, off_t len)
{
	const char *r;
	int rc;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	rc = get_ftruncate()(fd, len);
	if (!rc && r)
		emit_path(PL_TRUNC, 0, (uint64_t)len, r, NULL, 0);
	pthread_mutex_unlock(&lock);
	return rc;
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	const char *r;
	struct stat st;
	int rc;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	rc = get_fallocate()(fd, mode, off, len);
	if (!rc && r) {
		if (mode & ~FALLOC_FL_KEEP_SIZE)
			emit_path(PL_UNSUPPORTED, 0, 0, "fallocate mode", NULL, 0);
		else if (!(mode & FALLOC_FL_KEEP_SIZE) && !fstat(fd, &st))
			emit_path(PL_TRUNC, 0, (uint64_t)st.st_size, r, NULL, 0);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

static int do_sync(int fd, bool data)
{
	const char *r;
	int rc;

	pthread_mutex_lock(&lock);
	r = fd_rel(fd);
	rc = data ? get_fdatasync()(fd) : get_fsync()(fd);
	if (!rc && r)
		emit_path(PL_FSYNC, 0, 0, r, NULL, 0);
	pthread_mutex_unlock(&lock);
	return rc;
}

int fsync(int fd)
{
	return do_sync(fd, false);
}

int fdatasync(int fd)
{
	return do_sync(fd, true);
}

void sync(void)
{
	pthread_mutex_lock(&lock);
	get_sync()();
	if (recording)
		emit(PL_SYNCALL, 0, 0, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&lock);
}

int syncfs(int fd)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = get_syncfs()(fd);
	if (!rc && recording)
		emit(PL_SYNCALL, 0, 0, NULL, 0, NULL, 0);
	pthread_mutex_unlock(&lock);
	return rc;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	pthread_mutex_lock(&lock);
	p = get_mmap()(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && fd_rel(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED))
		emit_path(PL_UNSUPPORTED, 0, 0, "shared writable mapping", NULL, 0);
	pthread_mutex_unlock(&lock);
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/* Re-point descriptors open on @from (or under it) at @to; under lock. */
static void fds_rename(const char *from, const char *to)
{
	size_t fl = strlen(from);

	for (int i = 0; i < FD_MAX; i++) {
		char *p = fds[i].path, *np;

		if (!p || strncmp(p, from, fl) || (p[fl] && p[fl] != '/'))
			continue;
		if (asprintf(&np, "%s%s", to, p + fl) < 0)
			abort();
		free(p);
		fds[i].path = np;
	}
}

/*
 * Stop recording descriptors open on @path, whose file a rename or unlink just took out of
 * the tree: later writes go to a file no crash state can contain (unless the removal is lost,
 * a case the model leaves out); under lock.
 */
static void fds_forget(const char *path)
{
	for (int i = 0; i < FD_MAX; i++)
		if (fds[i].path && !strcmp(fds[i].path, path)) {
			free(fds[i].path);
			fds[i].path = NULL;
		}
}

static int do_rename(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
	char *ao, *an;
	const char *ro, *rn;
	int rc;

	pthread_mutex_lock(&lock);
	ao = recording ? resolve(ofd, o) : NULL;
	an = recording ? resolve(nfd, n) : NULL;
	ro = rel(ao);
	rn = rel(an);
	rc = flags ? get_renameat2()(ofd, o, nfd, n, flags) : get_renameat()(ofd, o, nfd, n);
	if (!rc && (ro || rn)) {
		if (ro && rn && !flags)
			emit(PL_RENAME, 0, 0, ro, (uint32_t)strlen(ro), rn, (uint32_t)strlen(rn));
		else
			emit_path(PL_UNSUPPORTED, 0, 0, "rename across the root or with flags",
				  NULL, 0);
		if (ao && an) {
			if (strcmp(ao, an))
				fds_forget(an);
			fds_rename(ao, an);
		}
	}
	pthread_mutex_unlock(&lock);
	free(ao);
	free(an);
	return rc;
}

int rename(const char *o, const char *n)
{
	return do_rename(AT_FDCWD, o, AT_FDCWD, n, 0);
}

int renameat(int ofd, const char *o, int nfd, const char *n)
{
	return do_rename(ofd, o, nfd, n, 0);
}

int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
	return do_rename(ofd, o, nfd, n, flags);
}

static int do_unlink(int dirfd, const char *path, int flags)
{
	char *abs;
	const char *r;
	int rc;

	pthread_mutex_lock(&lock);
	abs = recording ? resolve(dirfd, path) : NULL;
	r = rel(abs);
	rc = get_unlinkat()(dirfd, path, flags);
	if (!rc && r) {
		emit_path(PL_UNLINK, 0, 0, r, NULL, 0);
		fds_forget(abs);
	}
	pthread_mutex_unlock(&lock);
	free(abs);
	return rc;
}

int unlink(const char *path)
{
	return do_unlink(AT_FDCWD, path, 0);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	return do_unlink(dirfd, path, flags);
}

int rmdir(const char *path)
{
	return do_unlink(AT_FDCWD, path, AT_REMOVEDIR);
}

static int do_mkdir(int dirfd, const char *path, mode_t mode)
{
	char *abs;
	const char *r;
	int rc;

	pthread_mutex_lock(&lock);
	abs = recording ? resolve(dirfd, path) : NULL;
	r = rel(abs);
	rc = get_mkdirat()(dirfd, path, mode);
	if (!rc && r)
		emit_path(PL_MKDIR, 0, 0, r, NULL, 0);
	pthread_mutex_unlock(&lock);
	free(abs);
	return rc;
}

int mkdir(const char *path, mode_t mode)
{
	return do_mkdir(AT_FDCWD, path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return do_mkdir(dirfd, path, mode);
}

int close(int fd)
{
	int rc;

	pthread_mutex_lock(&lock);
	if (fd >= 0 && fd < FD_MAX) {
		free(fds[fd].path);
		fds[fd].path = NULL;
	}
	rc = get_close()(fd);
	pthread_mutex_unlock(&lock);
	return rc;
}
