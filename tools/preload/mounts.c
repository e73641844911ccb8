// SPDX-License-Identifier: MIT
/*
 * mounts.c - the shim's mount table: which file system a path the program opens is on,
 * exactly, at the moment of the open.
 *
 * What it holds: every mount of /proc/self/mountinfo that matters to an hkvfs path - each
 * fuse.hkvfs mount, each mount whose mount point is a prefix of an hkvfs mount point (the
 * chain from "/" down to it, and anything mounted over it), and each mount whose mount point
 * lies under an hkvfs mount point (another file system mounted inside, or a second hkvfs
 * stacked on it). For each: mount ID, parent ID, mount point, whether it is hkvfs and, for
 * hkvfs mounts, what was learnt about it (namespace id and delimiter from MOUNT/.hkv/config,
 * and the credentials generation at which its mount point was found searchable).
 *
 * Resolution (mounts_find) walks the tree as the kernel's path walk does: start at the
 * entries whose parent is not in the table (the root mount), then repeatedly step to the
 * child mounted at a prefix of the path - stacked mounts are children of the mount they
 * cover, and among siblings both covering the path the one mounted later (later in
 * mountinfo, which lists a namespace's mounts in the order they were attached) covers the
 * other. The path is served only if the walk ends on an hkvfs mount. An hkvfs mount the
 * walk reaches at its own mount point, with nothing else mounted at or under that point, is
 * marked `direct` when the table is read: the walk ends there for every path under it, so a
 * path under it is resolved by the one pass that finds its hkvfs mount, without the walk.
 *
 * Exact at each served open: mountinfo's change notification says whether the mounts
 * changed since the table was read, and the module makes that check inside the one
 * HKV_IOC_OPEN (HKV_OPEN_CHECK_MOUNTS with our descriptor: vfs_poll() of it, EXDEV on a
 * change), so a served open makes no system call besides the ioctl. With
 * HKV_PRELOAD_PATHCHECK=1 the module instead walks the path as the caller and serves only if
 * it ends at the key's file of the namespace's filesystem (HKV_OPEN_CHECK_PATH, kmod/bind.c):
 * exact even after root or namespace changes made with raw system calls, but a kernel path
 * walk per open. Either refusal (EXDEV) makes mounts_stale() re-read the table.
 *
 * The table is re-read when
 *  - the kernel says the mount namespace changed: /proc/self/mountinfo is kept open and
 *    polled (POLLPRI/POLLERR, zero timeout) by the module at each open the table says may be
 *    served, and by mounts_any() at most once a second (DISCOVER_NS: until then a new hkvfs
 *    mount is not served, its opens fall through - slower, never wrong) and at the first use
 *    of a mount; a poll consumes the event, so it first sets `dirty`, which only a completed
 *    re-read clears;
 *  - the module refused a path (HKV_PRELOAD_PATHCHECK, mounts_stale()): what was learnt
 *    about that mount is forgotten too, its config is read again;
 *  - the root or the mount namespace may have changed: chroot, unshare, setns and
 *    pivot_root made through libc call mounts_root_changed() (hkv_preload.c), which makes the
 *    next lookup reopen mountinfo (its paths are relative to the opener's root, its events
 *    are those of the opener's namespace);
 *  - our descriptor is gone: the program closed or replaced it (close, dup2, dup3,
 *    close_range, closefrom through libc call mounts_fd_closed()), or poll's answer does not
 *    look like mountinfo's (it always says POLLIN and never POLLOUT).
 *  - a fork()ed child would share the descriptor (and so its events) with its parent: the
 *    child forgets it (pthread_atfork) and opens its own.
 *
 * Concurrency and signals: the table lives in static storage under a sequence lock
 * (`seq`, odd while written) and a writer flag that is only ever try-locked: a reader that
 * meets a writer, or a would-be writer that finds the flag taken (another thread, or the
 * code a signal handler interrupted), falls through to the real open. Nothing here
 * allocates, locks, formats or parses with locale-dependent functions, so an open in a
 * signal handler may take this path.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hkv/pathmap.h"
#include "preload_int.h"

#define MAX_MOUNTS 64

struct mnt {
	unsigned long id;     /* mountinfo's mount ID */
	unsigned long parent; /* mountinfo's parent ID */
	bool hkvfs;
	bool top;             /* its parent is not in the table: where the walk starts */
	int state;            /* hkvfs: 0 config not read, 1 usable, -1 not usable */
	uint64_t ns;
	unsigned char delim;
	unsigned ok_gen;      /* cred_gen at which the search check passed; 0 = never */
	bool direct;          /* hkvfs, visible at its mount point, nothing mounted at or under
			       * it: every path under it is on it, no walk needed */
	size_t plen;          /* mount point length; "/" is 0 */
	char path[PATH_MAX];  /* last: the open path copies only what precedes it */
};

/* Copy what precedes the mount point's path: 4 KiB fewer per served open. */
static void copy_head(struct mnt *dst, const struct mnt *src)
{
	memcpy(dst, src, offsetof(struct mnt, path));
}

static struct {
	atomic_uint seq;   /* odd while the table is being written */
	atomic_flag busy;  /* writer flag, only ever try-locked */
	int n;
	bool overflow;     /* more relevant mounts than MAX_MOUNTS: serve nothing */
	struct mnt m[MAX_MOUNTS];
} tab = { .busy = ATOMIC_FLAG_INIT };

static atomic_int minfo = -1;       /* /proc/self/mountinfo, polled for changes */
static atomic_bool dirty = true;    /* re-read before the next lookup */
static atomic_uint cred_gen = 1;
static atomic_int nhkvfs;           /* hkvfs mounts in the table */
static atomic_ullong forget_ns;     /* a namespace the module refused: re-read its config */
static atomic_llong last_check;     /* CLOCK_MONOTONIC_COARSE ns of mounts_any()'s last check */

/* How often an open that cannot be served looks for new mounts (speed only, see the top). */
#define DISCOVER_NS 1000000000ll

/* Writer-side scratch space (busy held): the new table and one mountinfo line. */
static struct mnt scratch[MAX_MOUNTS];
static char line[PATH_MAX * 2 + 512];
static char rbuf[8192];

void mounts_cred_changed(void)
{
	atomic_fetch_add_explicit(&cred_gen, 1, memory_order_acq_rel);
}

/* Forget our mountinfo descriptor (closing it if it is still ours): the next lookup reopens. */
static void drop_minfo(bool close_it)
{
	int fd = atomic_exchange_explicit(&minfo, -1, memory_order_acq_rel);
	int saved = errno;

	atomic_store_explicit(&dirty, true, memory_order_release);
	if (fd >= 0 && close_it)
		syscall(SYS_close, fd);
	errno = saved;
}

void mounts_root_changed(void)
{
	drop_minfo(true);
}

/*
 * A fork()ed child shares the parent's open mountinfo, and a poll consumes the change event
 * for every process sharing it: the child gets its own at its first lookup.
 */
static void forked_child(void)
{
	drop_minfo(true);
}

void mounts_init(void)
{
	pthread_atfork(NULL, NULL, forked_child);
}

void mounts_fd_closed(int fd)
{
	if (fd >= 0 && fd == atomic_load_explicit(&minfo, memory_order_relaxed))
		drop_minfo(false); /* the program closes or replaces it */
}

void mounts_fds_closed(unsigned first, unsigned last)
{
	int fd = atomic_load_explicit(&minfo, memory_order_relaxed);

	if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last)
		drop_minfo(false);
}

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

/* A decimal number, the whole of @s. */
static bool parse_ulong(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (ULONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

/* Is @a (length @alen, "/" given as 0) a path prefix of @b at a component boundary? */
static bool covers(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen <= blen && !memcmp(a, b, alen) && (alen == blen || b[alen] == '/');
}

static int walk_in(const struct mnt *m, int n, const char *p, size_t len);

/*
 * Split one mountinfo line; fill @e with its IDs, mount point and type.
 * Return: false for a line that is not understood (then the table is not trusted).
 */
static bool parse_line(char *l, struct mnt *e)
{
	char *field[8];
	int nf = 0;
	char *fstype = NULL;

	for (char *p = l; *p;) {
		char *s = p;

		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
		if (nf < 8)
			field[nf++] = s;
		if (!strcmp(s, "-") && nf >= 6) {
			s = p;
			while (*p && *p != ' ')
				p++;
			if (*p)
				*p = 0;
			fstype = s;
			break;
		}
	}
	if (nf < 6 || !fstype || !parse_ulong(field[0], &e->id) ||
	    !parse_ulong(field[1], &e->parent))
		return false;
	unescape(field[4]);
	size_t len = strlen(field[4]);

	if (len >= PATH_MAX || field[4][0] != '/')
		return false;
	memcpy(e->path, field[4], len + 1);
	e->plen = len == 1 ? 0 : len;
	e->hkvfs = !strcmp(fstype, "fuse.hkvfs");
	return true;
}

/*
 * One pass over mountinfo through @fd: with @want_hkvfs, collect the hkvfs mounts; else the
 * other mounts related to one of the hkvfs mounts already collected (the first @nh entries).
 * Return: false on a read error, an unparsable line or too many mounts.
 */
static bool scan(int fd, bool want_hkvfs, int nh, int *n)
{
	size_t ll = 0;
	ssize_t r;
	bool ok = true;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return false;
	while ((r = read(fd, rbuf, sizeof(rbuf))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			struct mnt e;

			if (rbuf[i] != '\n') {
				if (ll + 1 < sizeof(line))
					line[ll++] = rbuf[i];
				else
					ok = false;
				continue;
			}
			line[ll] = 0;
			ll = 0;
			if (!parse_line(line, &e)) {
				ok = false;
				continue;
			}
			if (e.hkvfs != want_hkvfs)
				continue;
			if (!want_hkvfs) {
				bool related = false;

				for (int h = 0; h < nh && !related; h++)
					related = covers(e.path, e.plen, scratch[h].path,
							 scratch[h].plen) ||
						  covers(scratch[h].path, scratch[h].plen, e.path,
							 e.plen);
				if (!related)
					continue;
			}
			if (*n >= MAX_MOUNTS)
				return false;
			e.state = 0;
			e.ns = 0;
			e.delim = '/';
			e.ok_gen = 0;
			e.direct = false;
			scratch[(*n)++] = e;
		}
	}
	return r == 0 && ok;
}

/*
 * Re-read the table (busy held). The caller has consumed the poll event (or just opened the
 * descriptor) before this, so any change from now on shows in the next poll.
 */
static void refresh(int fd)
{
	int n = 0, nh, saved = errno;
	bool ok;

	atomic_store_explicit(&dirty, false, memory_order_release);
	ok = scan(fd, true, 0, &n);
	nh = n;
	if (ok && nh)
		ok = scan(fd, false, nh, &n);
	errno = saved;
	for (int i = 0; i < n; i++) {
		scratch[i].top = true;
		for (int j = 0; j < n && scratch[i].top; j++)
			scratch[i].top = j == i || scratch[j].id != scratch[i].parent;
	}
	/*
	 * An hkvfs mount that the walk reaches at its own mount point, with no other mount at
	 * or under that point, is where the walk ends for every path under it: the walk to
	 * such a path passes only mounts whose points are prefixes of the path, and those
	 * below the hkvfs mount's point would be at or under it.
	 */
	for (int i = 0; ok && i < nh; i++) {
		scratch[i].direct = walk_in(scratch, n, scratch[i].path, scratch[i].plen) == i;
		for (int j = 0; j < n && scratch[i].direct; j++)
			scratch[i].direct = j == i || !covers(scratch[i].path, scratch[i].plen,
							      scratch[j].path, scratch[j].plen);
	}
	/*
	 * Keep what was learnt about an hkvfs mount that is still the same mount, unless the
	 * module refused its namespace (a new mount that reused the mount ID).
	 */
	uint64_t forget = atomic_exchange_explicit(&forget_ns, 0, memory_order_relaxed);

	for (int i = 0; i < nh; i++) {
		for (int j = 0; j < tab.n; j++) {
			struct mnt *o = &tab.m[j];

			if (o->hkvfs && o->state == 1 && o->ns == forget)
				continue;
			if (o->hkvfs && o->id == scratch[i].id && o->plen == scratch[i].plen &&
			    !memcmp(o->path, scratch[i].path, o->plen)) {
				scratch[i].state = o->state;
				scratch[i].ns = o->ns;
				scratch[i].delim = o->delim;
				scratch[i].ok_gen = o->ok_gen;
				break;
			}
		}
	}
	atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
	if (ok) {
		memcpy(tab.m, scratch, (size_t)n * sizeof(scratch[0]));
		tab.n = n;
		tab.overflow = false;
	} else {
		tab.n = 0;
		tab.overflow = true;
	}
	atomic_store_explicit(&nhkvfs, ok ? nh : 0, memory_order_release);
	atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
}

/* A hexadecimal ("0x...") or decimal number, the whole of [@s, @end). */
static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == end)
		return false;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return true;
}

/* Read "ns" and "delimiter" from MOUNT/.hkv/config into @m (busy held). */
static void read_config(struct mnt *m)
{
	static const char tail[] = "/" HKV_CTL_DIR "/config";
	char path[PATH_MAX + sizeof(tail)], buf[4096];
	int fd, saved = errno;
	ssize_t r;
	bool have_ns = false;

	m->state = -1;
	m->delim = '/';
	memcpy(path, m->path, m->plen);
	memcpy(path + m->plen, tail, sizeof(tail));
	fd = sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return;
	}
	r = read(fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	errno = saved;
	if (r <= 0)
		return;
	buf[r] = 0;
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');
		char *end = nl ? nl : l + strlen(l);

		if (!strncmp(l, "ns=", 3))
			have_ns = parse_u64(l + 3, end, &m->ns) && m->ns;
		else if (!strncmp(l, "delimiter=", 10) && end - l == 11)
			m->delim = (unsigned char)l[10];
		l = nl ? nl + 1 : NULL;
	}
	if (have_ns)
		m->state = 1;
}

/* Open mountinfo (busy held, minfo < 0). */
static int open_minfo(void)
{
	int saved = errno;
	int fd = sys_open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		atomic_store_explicit(&minfo, fd, memory_order_release);
	errno = saved;
	return fd;
}

/*
 * Has the kernel signalled a change since the last look? Sets `dirty`, and forgets the
 * descriptor if it does not answer like mountinfo (the number is the program's now: it
 * closed ours with a raw system call). Any thread may call it.
 */
static void check_changes(void)
{
	int fd = atomic_load_explicit(&minfo, memory_order_acquire);
	/* revents only shows what was asked for (and ERR, HUP, NVAL) */
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI | POLLOUT };
	int saved = errno;

	if (fd < 0) {
		atomic_store_explicit(&dirty, true, memory_order_release);
		return;
	}
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN) ||
	    p.revents & (POLLOUT | POLLNVAL | POLLHUP)) {
		drop_minfo(false);
	} else if (p.revents & (POLLPRI | POLLERR)) {
		atomic_store_explicit(&dirty, true, memory_order_release);
	}
	errno = saved;
}

/*
 * Re-read if the table is known to be out of date (no system call otherwise). Return: false
 * if a re-read is due and could not be done now.
 */
static bool ensure_current(void)
{
	int fd;

	if (!atomic_load_explicit(&dirty, memory_order_acquire))
		return true;
	if (atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire))
		return false;
	fd = atomic_load_explicit(&minfo, memory_order_acquire);
	if (fd < 0)
		fd = open_minfo();
	if (fd >= 0)
		refresh(fd);
	atomic_flag_clear_explicit(&tab.busy, memory_order_release);
	return fd >= 0 && !atomic_load_explicit(&dirty, memory_order_acquire);
}

/* Ask the kernel whether the mounts changed, then re-read if needed. */
static bool ensure_fresh(void)
{
	check_changes();
	return ensure_current();
}

void mounts_stale(uint64_t ns)
{
	atomic_store_explicit(&forget_ns, ns, memory_order_relaxed);
	atomic_store_explicit(&dirty, true, memory_order_release);
}

/* The walk (see the top of the file). Return: index of the top mount at @p, or -1. */
static int walk_in(const struct mnt *m, int n, const char *p, size_t len)
{
	int cur = -1;

	for (int depth = 0; depth <= MAX_MOUNTS; depth++) {
		int next = -1;

		for (int i = 0; i < n && i < MAX_MOUNTS; i++) {
			const struct mnt *e = &m[i];
			bool child;

			if (i == cur || !covers(e->path, e->plen, p, len))
				continue;
			child = cur >= 0 ? e->parent == m[cur].id : e->top;
			if (child)
				next = i; /* later in mountinfo: attached later, on top */
		}
		if (next < 0)
			return cur;
		cur = next;
	}
	return -1; /* a cycle: mountinfo changed under us */
}

static int walk(const char *p, size_t len)
{
	return walk_in(tab.m, tab.n, p, len);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

bool mounts_any(void)
{
	long long t = now_ns();

	if (atomic_load_explicit(&dirty, memory_order_acquire) ||
	    atomic_load_explicit(&minfo, memory_order_acquire) < 0 ||
	    t - atomic_load_explicit(&last_check, memory_order_relaxed) > DISCOVER_NS) {
		atomic_store_explicit(&last_check, t, memory_order_relaxed);
		if (!ensure_fresh())
			return false;
	}
	return atomic_load_explicit(&nhkvfs, memory_order_acquire) > 0;
}

/* Does an hkvfs mount point of the table cover @p (@len bytes)? A cheap first look. */
/*
 * Is @p under an hkvfs mount point? *@direct receives the index of a direct one (struct
 * mnt) covering it, or -1, and *@dseq the table generation that answer belongs to.
 */
static bool under_hkvfs(const char *p, size_t len, int *direct, unsigned *dseq)
{
	unsigned seq = atomic_load_explicit(&tab.seq, memory_order_acquire);
	bool hit = false;

	*direct = -1;
	if (seq & 1)
		return false;
	for (int i = 0; i < tab.n && i < MAX_MOUNTS && *direct < 0; i++) {
		if (!tab.m[i].hkvfs || !covers(tab.m[i].path, tab.m[i].plen, p, len))
			continue;
		hit = true;
		if (tab.m[i].direct)
			*direct = i;
	}
	*dseq = seq;
	return hit && atomic_load_explicit(&tab.seq, memory_order_acquire) == seq;
}

bool mounts_find(const char *p, struct preload_mount *out)
{
	size_t len = strlen(p);
	struct mnt m;
	unsigned seq, dseq;
	int idx = -1, direct;

	/*
	 * No poll(2) here: HKV_IOC_OPEN polls our mountinfo descriptor itself (or walks the
	 * path), and tells us when the mounts changed (mounts_stale()).
	 */
	if (!under_hkvfs(p, len, &direct, &dseq) || !ensure_current())
		return false;
	for (int tries = 0; tries < 2; tries++) {
		seq = atomic_load_explicit(&tab.seq, memory_order_acquire);
		if (seq & 1 || tab.overflow)
			return false;
		/* under a direct mount, found by under_hkvfs() in this same table: no walk */
		idx = direct >= 0 && seq == dseq ? direct : walk(p, len);
		if (idx >= 0)
			copy_head(&m, &tab.m[idx]);
		if (atomic_load_explicit(&tab.seq, memory_order_acquire) != seq || idx < 0 ||
		    !m.hkvfs)
			return false;
		if (m.state)
			break;
		/* first use of this mount: read its config */
		if (atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire))
			return false;
		if (atomic_load_explicit(&tab.seq, memory_order_acquire) == seq) {
			memcpy(m.path, tab.m[idx].path, m.plen + 1); /* stable: we hold busy */
			read_config(&m);
			/* a mount change meanwhile may mean we read another mount's config */
			check_changes();
			if (!atomic_load_explicit(&dirty, memory_order_acquire)) {
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
				tab.m[idx].state = m.state;
				tab.m[idx].ns = m.ns;
				tab.m[idx].delim = m.delim;
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
			}
		}
		atomic_flag_clear_explicit(&tab.busy, memory_order_release);
		if (!ensure_fresh())
			return false;
	}
	if (m.state != 1)
		return false;
	/* search permission on the mount point, once per mount and credentials generation */
	unsigned gen = atomic_load_explicit(&cred_gen, memory_order_acquire);

	if (m.ok_gen != gen) {
		int saved = errno;
		bool ok;

		memcpy(m.path, tab.m[idx].path, m.plen + 1);
		if (atomic_load_explicit(&tab.seq, memory_order_acquire) != seq)
			return false; /* the table changed while we copied */
		ok = !faccessat(AT_FDCWD, m.plen ? m.path : "/", X_OK, AT_EACCESS);
		errno = saved;
		if (!ok)
			return false;
		if (!atomic_flag_test_and_set_explicit(&tab.busy, memory_order_acquire)) {
			if (atomic_load_explicit(&tab.seq, memory_order_acquire) == seq) {
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
				tab.m[idx].ok_gen = gen;
				atomic_fetch_add_explicit(&tab.seq, 1, memory_order_acq_rel);
			}
			atomic_flag_clear_explicit(&tab.busy, memory_order_release);
		}
	}
	out->ns = m.ns;
	out->delim = m.delim;
	out->plen = m.plen;
	out->mnt_fd = atomic_load_explicit(&minfo, memory_order_acquire);
	return out->mnt_fd >= 0;
}
