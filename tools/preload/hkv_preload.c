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
 * read, pread, lseek, fstat, stdio, sendfile, copy_file_range and (emulated) mmap all behave
 * as on the FUSE file. On a miss, a missing device, a write mode, a path it cannot map exactly, or
 * any other doubt it calls the real function, so a program cannot tell the difference except
 * by speed.
 *
 * What it must never do, and how:
 *  - change what a program observes: errors of its own are never returned; errno is restored
 *    on every fall-through; nothing is printed;
 *  - allocate or block in a signal handler (open(2) is async-signal-safe): the mount table
 *    lives in static storage under a sequence lock; a reader that meets a writer mid-update,
 *    or a writer that cannot take the lock at once, falls through;
 *  - serve what permissions forbid: the module checks the caller's credentials against the
 *    key's owner and mode; search permission on the mount point is checked once per mount
 *    and credentials (faccessat with AT_EACCESS), which also covers FUSE mounts without
 *    allow_other; the daemon promotes only keys whose directories are searchable by all;
 *  - outlive its descriptor: a program may close every descriptor (daemons do); an ioctl
 *    failing with EBADF or ENOTTY reopens /dev/hkv once.
 *
 * Mounts: /proc/self/mountinfo is read on first use and again at most once a second when
 * an open needs it; an hkvfs mount is a "fuse.hkvfs" entry. Its namespace id and delimiter
 * are read once from MOUNT/.hkv/config ("ns" and "delimiter" lines) through the real open.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/hkv.h>

#include "hkv/pathmap.h"

#define MAX_MOUNTS 16
#define REFRESH_NS 1000000000ll
#define DEVICE "/dev/hkv"

#define EXPORT __attribute__((visibility("default")))

struct mnt {
	char path[PATH_MAX];
	size_t plen;
	unsigned long id;    /* mountinfo's mount ID: a remount at the same path is a new mount */
	int state;           /* 0: config not read yet, 1: usable, -1: not usable */
	uint64_t ns;
	unsigned char delim;
	unsigned ok_gen;     /* cred_gen at which the search check passed; 0 = never */
};

static struct {
	atomic_uint seq;     /* odd while the table is being written */
	atomic_flag busy;    /* writer lock, only ever try-locked */
	int n;
	struct mnt m[MAX_MOUNTS];
	long long refreshed; /* CLOCK_MONOTONIC ns of the last read, 0 = never */
} tab = { .busy = ATOMIC_FLAG_INIT };

/*
 * Credentials generation: bumped by every wrapper of a call that changes the process's
 * credentials (set*id, setgroups, setfs*id, capset), so the mount-point search check is
 * redone only when they may have changed, instead of asking the kernel for them on every
 * open. A program that changes credentials with raw syscall(2) is not seen: the module's
 * per-entry check still applies to it, only the mount point's own permissions would be
 * judged with the old credentials.
 */
static atomic_uint cred_gen = 1;

static atomic_int devfd = -1;
static bool disabled;
static atomic_bool inited;

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static open_fn real_open, real_open64;
static openat_fn real_openat, real_openat64;
static open2_fn real___open_2, real___open64_2;
static openat2_fn real___openat_2, real___openat64_2;
static fopen_fn real_fopen, real_fopen64;
static mmap_fn real_mmap;

/*
 * Resolve the real functions. It runs as a constructor, but the constructors of libraries the
 * program links (libselinux calls fopen from its own) may run before ours, so every wrapper
 * also calls it while it has not completed: the lookups are idempotent and racing threads
 * store the same values.
 */
__attribute__((constructor)) static void preload_init(void)
{
	const char *off = getenv("HKV_PRELOAD_DISABLE");

	if (atomic_load_explicit(&inited, memory_order_acquire))
		return;
	disabled = off && *off && strcmp(off, "0");
	real_open = (open_fn)dlsym(RTLD_NEXT, "open");
	real_open64 = (open_fn)dlsym(RTLD_NEXT, "open64");
	real_openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
	real_openat64 = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	real___open_2 = (open2_fn)dlsym(RTLD_NEXT, "__open_2");
	real___open64_2 = (open2_fn)dlsym(RTLD_NEXT, "__open64_2");
	real___openat_2 = (openat2_fn)dlsym(RTLD_NEXT, "__openat_2");
	real___openat64_2 = (openat2_fn)dlsym(RTLD_NEXT, "__openat64_2");
	real_fopen = (fopen_fn)dlsym(RTLD_NEXT, "fopen");
	real_fopen64 = (fopen_fn)dlsym(RTLD_NEXT, "fopen64");
	real_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
	atomic_store_explicit(&inited, true, memory_order_release);
}

static inline void ensure_init(void)
{
	if (!atomic_load_explicit(&inited, memory_order_acquire))
		preload_init();
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* The raw open, used for our own files whatever is interposed (and however early). */
static int sys_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags);
}

/* Decode mountinfo's octal escapes (\040 for space) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

/* One mountinfo line: remember it if it is an hkvfs mount. Writer only. */
static void parse_line(char *line, struct mnt *v, int *n)
{
	char *field[12], *save = NULL, *tok;
	int nf = 0, dash = -1;

	for (tok = strtok_r(line, " ", &save); tok && nf < 12; tok = strtok_r(NULL, " ", &save)) {
		if (dash < 0 && !strcmp(tok, "-"))
			dash = nf;
		field[nf++] = tok;
	}
	if (dash < 5 || dash + 1 >= nf || strcmp(field[dash + 1], "fuse.hkvfs") || *n >= MAX_MOUNTS)
		return;
	unescape(field[4]);
	size_t len = strlen(field[4]);
	unsigned long id = strtoul(field[0], NULL, 10);

	if (len >= PATH_MAX)
		return;
	/*
	 * Keep what we learnt about a mount that is still there. Not about a new mount at the
	 * same path: its daemon has another namespace, and the old one's entries may outlive a
	 * daemon that was killed.
	 */
	for (int i = 0; i < tab.n; i++) {
		if (tab.m[i].id == id && tab.m[i].plen == (len == 1 ? 0 : len) &&
		    !memcmp(tab.m[i].path, field[4], len)) {
			v[*n] = tab.m[i];
			(*n)++;
			return;
		}
	}
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].id = id;
	memcpy(v[*n].path, field[4], len + 1);
	v[*n].plen = len == 1 ? 0 : len; /* "/" as a mount point: prefix "" */
	(*n)++;
}

static struct mnt scratch[MAX_MOUNTS];

/* Re-read /proc/self/mountinfo. Writer lock held. */
static void refresh(void)
{
	static char buf[8192];
	char line[PATH_MAX * 2 + 512];
	size_t ll = 0;
	int fd, n = 0, saved = errno;
	ssize_t r;

	fd = sys_open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll + 1 < sizeof(line))
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = 0;
			parse_line(line, scratch, &n);
			ll = 0;
		}
	}
	close(fd);
	errno = saved;
	if (r < 0)
		return;
	atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
	memcpy(tab.m, scratch, (size_t)n * sizeof(scratch[0]));
	tab.n = n;
	tab.refreshed = now_ns();
	atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
}

/* Read "ns" and "delimiter" from MOUNT/.hkv/config. Writer lock held. */
static void read_config(struct mnt *m)
{
	char path[PATH_MAX + 32], buf[4096];
	int fd, saved = errno;
	ssize_t r;
	bool have_ns = false;

	m->state = -1;
	m->delim = '/';
	snprintf(path, sizeof(path), "%s/%s/config", m->plen ? m->path : "", HKV_CTL_DIR);
	fd = sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return;
	}
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	errno = saved;
	if (r <= 0)
		return;
	buf[r] = 0;
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');

		if (nl)
			*nl = 0;
		if (!strncmp(l, "ns=", 3)) {
			char *end;

			m->ns = strtoull(l + 3, &end, 0);
			have_ns = end != l + 3 && !*end && m->ns;
		} else if (!strncmp(l, "delimiter=", 10) && l[10] && !l[11]) {
			m->delim = (unsigned char)l[10];
		}
		l = nl ? nl + 1 : NULL;
	}
	if (have_ns)
		m->state = 1;
}

/*
 * Find the mount holding absolute path @p and copy its entry to @out (reading its config or
 * the table if needed). Return: the length of the mount's path prefix, or -1.
 */
static long find_mount(const char *p, struct mnt *out)
{
	long long t = now_ns();
	unsigned seq;
	long best = -1;
	int idx = -1;

	if (!tab.refreshed || t - tab.refreshed > REFRESH_NS) {
		if (atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire))
			return -1;
		if (!tab.refreshed || t - tab.refreshed > REFRESH_NS)
			refresh();
		atomic_flag_clear_explicit(&tab.busy, memory_order_release);
	}
	for (int tries = 0; tries < 2; tries++) {
		seq = atomic_load_explicit(&tab.seq, memory_order_acquire);
		if (seq & 1)
			return -1;
		best = -1;
		idx = -1;
		for (int i = 0; i < tab.n && i < MAX_MOUNTS; i++) {
			size_t l = tab.m[i].plen;

			if ((long)l > best && !strncmp(p, tab.m[i].path, l) && p[l] == '/') {
				best = (long)l;
				idx = i;
			}
		}
		if (idx >= 0)
			*out = tab.m[idx];
		if (atomic_load_explicit(&tab.seq, memory_order_acquire) != seq)
			return -1;
		if (idx < 0)
			return -1;
		if (out->state)
			break;
		/* first use of this mount: read its config */
		if (atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire))
			return -1;
		if (atomic_load_explicit(&tab.seq, memory_order_acquire) == seq) {
			struct mnt m = tab.m[idx];

			read_config(&m);
			atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
			tab.m[idx].state = m.state;
			tab.m[idx].ns = m.ns;
			tab.m[idx].delim = m.delim;
			atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
		}
		atomic_flag_clear_explicit(&tab.busy, memory_order_release);
	}
	if (out->state != 1)
		return -1;
	/* search permission on the mount point, once per mount and credentials generation */
	unsigned gen = atomic_load_explicit(&cred_gen, memory_order_acquire);

	if (out->ok_gen != gen) {
		int saved = errno;
		bool ok = !faccessat(AT_FDCWD, out->plen ? out->path : "/", X_OK, AT_EACCESS);

		errno = saved;
		if (!ok)
			return -1;
		if (!atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire)) {
			seq = atomic_load_explicit(&tab.seq, memory_order_acquire);
			if (idx < tab.n && tab.m[idx].plen == out->plen &&
			    !memcmp(tab.m[idx].path, out->path, out->plen)) {
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
				tab.m[idx].ok_gen = gen;
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
			}
			atomic_flag_clear_explicit(&tab.busy, memory_order_release);
		}
	}
	return best;
}

/*
 * Normalise @path (absolute, or relative to the working directory) into @out: no "." or
 * empty components. Return: false for anything we would rather not interpret (".."
 * components, a trailing slash, too long, no working directory).
 */
static bool normalise(const char *path, char *out, size_t size)
{
	size_t o = 0;
	const char *p = path;

	if (*p != '/') {
		int saved = errno;

		if (!getcwd(out, size)) {
			errno = saved;
			return false;
		}
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
			return false; /* trailing slash: a directory is meant */
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (o + 1 + len + 1 > size)
			return false;
		out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	if (!o)
		return false;
	out[o] = 0;
	return true;
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
		close(nfd);
		return fd >= 0 ? fd : -1;
	}
	return nfd;
}

/*
 * Snapshots cannot be mapped (the module gives them no page cache), FUSE files can: mmap()
 * of a descriptor this shim handed out is emulated with an anonymous mapping filled by
 * pread(), which shows the same bytes - a snapshot never changes. snap_dev is the device of
 * the module's snapshot files, learnt from the first descriptor served (0: none yet).
 */
static atomic_ulong snap_dev;

static void note_snapshot_dev(int fd)
{
	struct stat st;
	int saved = errno;

	if (!atomic_load_explicit(&snap_dev, memory_order_relaxed) && !fstat(fd, &st))
		atomic_store_explicit(&snap_dev, (unsigned long)st.st_dev, memory_order_relaxed);
	errno = saved;
}

static void *emulate_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	unsigned long dev = atomic_load_explicit(&snap_dev, memory_order_relaxed);
	int saved = errno;
	struct stat st;
	void *p;

	if (!dev || fd < 0 || fstat(fd, &st) || (unsigned long)st.st_dev != dev ||
	    !S_ISREG(st.st_mode) || ((flags & MAP_TYPE) == MAP_SHARED && prot & PROT_WRITE) ||
	    off < 0) {
		errno = saved;
		return MAP_FAILED;
	}
	flags = (flags & ~(MAP_TYPE | MAP_SHARED_VALIDATE)) | MAP_PRIVATE | MAP_ANONYMOUS;
	p = real_mmap(addr, len, PROT_READ | PROT_WRITE, flags, -1, 0);
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
	p = real_mmap(addr, len, prot, flags, fd, off);
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
	struct hkv_open req;
	struct mnt m;
	ssize_t klen;
	long plen;
	int fd, saved = errno, kflags;

	if (disabled || !path)
		return -1;
	if ((flags & O_ACCMODE) != O_RDONLY ||
	    flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH | O_TMPFILE | O_APPEND))
		return -1;
	if (*path != '/' && dirfd != AT_FDCWD)
		return -1;
	if (!tab.n && tab.refreshed && now_ns() - tab.refreshed <= REFRESH_NS)
		return -1; /* no hkvfs mount: the common case costs one clock read */
	if (!normalise(path, abs, sizeof(abs)))
		return -1;
	plen = find_mount(abs, &m);
	if (plen < 0)
		return -1;
	klen = hkv_pathmap_path_to_key(abs + plen + 1, m.delim, key, sizeof(key));
	if (klen <= 0)
		return -1;
	kflags = flags & (O_CLOEXEC | O_NONBLOCK | O_NOATIME | O_NOCTTY | O_NOFOLLOW);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = (__u32)kflags;
	req.ns = m.ns;
	req.key_ptr = (__u64)(uintptr_t)key;
	req.key_len = (__u32)klen;
	for (int attempt = 0; attempt < 2; attempt++) {
		int dfd = dev_fd(attempt > 0);

		if (dfd < 0)
			break;
		fd = ioctl(dfd, HKV_IOC_OPEN, &req);
		if (fd >= 0) {
			note_snapshot_dev(fd);
			errno = saved;
			return fd;
		}
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

#define OPEN_BODY(realfn, ...)                                                       \
	do {                                                                         \
		mode_t mode = 0;                                                     \
		int fd;                                                              \
		ensure_init();                                                       \
		if (has_mode_arg(flags)) {                                           \
			va_list ap;                                                  \
			va_start(ap, flags);                                         \
			mode = va_arg(ap, mode_t);                                   \
			va_end(ap);                                                  \
		}                                                                    \
		fd = try_cache(__VA_ARGS__);                                         \
		if (fd >= 0)                                                         \
			return fd;                                                   \
		return realfn;                                                       \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	OPEN_BODY(real_open(path, flags, mode), AT_FDCWD, path, flags);
}

EXPORT int open64(const char *path, int flags, ...)
{
	OPEN_BODY(real_open64(path, flags, mode), AT_FDCWD, path, flags);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(real_openat(dirfd, path, flags, mode), dirfd, path, flags);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY(real_openat64(dirfd, path, flags, mode), dirfd, path, flags);
}

EXPORT int __open_2(const char *path, int flags)
{
	int fd;

	ensure_init();
	fd = try_cache(AT_FDCWD, path, flags);

	return fd >= 0 ? fd : real___open_2(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	int fd;

	ensure_init();
	fd = try_cache(AT_FDCWD, path, flags);

	return fd >= 0 ? fd : real___open64_2(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int fd;

	ensure_init();
	fd = try_cache(dirfd, path, flags);

	return fd >= 0 ? fd : real___openat_2(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int fd;

	ensure_init();
	fd = try_cache(dirfd, path, flags);

	return fd >= 0 ? fd : real___openat64_2(dirfd, path, flags);
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

static FILE *fopen_common(const char *path, const char *mode, fopen_fn realfn)
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
	return fopen_common(path, mode, real_fopen);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	ensure_init();
	return fopen_common(path, mode, real_fopen64);
}

/*
 * Credential changes: call the real function, then make the next open redo the mount-point
 * check (see cred_gen). The bump comes after the call, so an open racing with it is judged
 * with the credentials of one side or the other, as it would be without the shim.
 */
#define CRED_WRAPPER(name, proto, args)                                              \
	EXPORT int name proto                                                        \
	{                                                                            \
		static int (*real) proto;                                            \
		int rc;                                                              \
		if (!real)                                                           \
			real = (int (*) proto)dlsym(RTLD_NEXT, #name);               \
		if (!real) {                                                         \
			errno = ENOSYS;                                              \
			return -1;                                                   \
		}                                                                    \
		rc = real args;                                                      \
		atomic_fetch_add_explicit(&cred_gen, 1, memory_order_acq_rel);       \
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
