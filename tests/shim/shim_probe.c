// SPDX-License-Identifier: MIT
/*
 * shim_probe.c - a small dynamically linked program that opens files the ways real programs
 * do, for the fall-through tests of libhkv-preload.so (tests/shim/) and the in-VM hot-path
 * test. Every subcommand prints only what the files and the calls return (content, fstat
 * fields, errno names), so two runs - with and without LD_PRELOAD - can be compared byte for
 * byte: any difference is a behaviour the shim changed.
 *
 *   shim-probe gen SEED SIZE          SIZE deterministic bytes (xorshift64*, binary)
 *   shim-probe fgets FILE...          fopen(r) + fgets, lines echoed; errors on stderr
 *   shim-probe fstat FILE...          open + fstat (all fields but times and ids of the file
 *                                     system, see below) + read + lseek/pread checks
 *   shim-probe fstatid FILE           as fstat, and also st_dev/st_ino/st_mtime
 *   shim-probe mmap FILE...           mmap(PROT_READ, MAP_PRIVATE) + hash, or the errno
 *   shim-probe openat DIR NAME        openat(dirfd, NAME) relative to an opened directory
 *   shim-probe flags FILE             open with O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK, O_NOATIME
 *                                     and __open_2-style calls; prints FD_CLOEXEC/flags
 *   shim-probe write FILE MODE DATA   fopen(FILE, MODE) + fputs(DATA) + fclose
 *   shim-probe owrite FILE DATA       open(O_WRONLY|O_CREAT|O_TRUNC) + write + close
 *   shim-probe rdwr FILE DATA         open(O_RDWR), read all, pwrite DATA at 0, close
 *   shim-probe err FILE...            for each: errno of open, openat, fopen, fopen64 as names
 *   shim-probe statall FILE...        open, then every stat call on the descriptor: fstat,
 *                                     fstatat(AT_EMPTY_PATH), statx(AT_EMPTY_PATH), __fxstat,
 *                                     stat of /proc/self/fd/N, fstatfs, statfs of
 *                                     /proc/self/fd/N, fstatvfs, and fstat of a dup(); every
 *                                     field (times to the nanosecond)
 *   shim-probe sigopen FILE ROUNDS    the main thread opens+reads FILE ROUNDS times while a
 *                                     second thread sends it signals whose handler opens+reads
 *                                     FILE too; every read must give the same bytes
 *   shim-probe waitread FILE READY GO read FILE, write a line to fifo READY, wait for a line
 *                                     on fifo GO, read FILE again (a mount change in between)
 *   shim-probe nscase KIND MNT FILE   read FILE, change root or mount namespace in-process
 *                                     (KIND chroot:DIR, unshare, setns; rawchroot:DIR and
 *                                     rawunshare make the system call directly, unseen by
 *                                     the shim), read FILE again
 *   shim-probe mt THREADS ROUNDS FILE...
 *                                     THREADS threads each open+read every FILE ROUNDS
 *                                     times (open, fopen, openat); then fork() two children
 *                                     that do the same from a still multi-threaded parent;
 *                                     prints one FNV-1a hash per file, checked identical
 *                                     across all threads and processes
 *
 * Exit: 0, or 1 with a message on stderr (the message is part of what is compared).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EINVAL: return "EINVAL";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case EROFS: return "EROFS";
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case ENODEV: return "ENODEV";
	default: return "other";
	}
}

static int gen(uint64_t seed, size_t size)
{
	uint64_t x = seed * 2654435761u + 0x9e3779b97f4a7c15ull;
	unsigned char buf[4096];

	while (size) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		for (size_t i = 0; i < n; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			buf[i] = (unsigned char)((x * 0x2545f4914f6cdd1dull) >> 56);
		}
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
		size -= n;
	}
	return 0;
}

static int do_fgets(int argc, char **argv)
{
	char line[256];
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");

		if (!f) {
			fprintf(stderr, "fopen %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		if (ferror(f)) {
			fprintf(stderr, "fgets %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		}
		fclose(f);
	}
	return rc;
}

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Read @fd to the end; return its FNV-1a hash and length, or -1 on a read error. */
static int hash_fd(int fd, uint64_t *h, size_t *len)
{
	unsigned char buf[8192];
	ssize_t r;

	*h = 0xcbf29ce484222325ull;
	*len = 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		*h = fnv(buf, (size_t)r, *h);
		*len += (size_t)r;
	}
	return r < 0 ? -1 : 0;
}

static int do_fstat(int argc, char **argv, bool ids)
{
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		struct stat st;
		uint64_t h;
		size_t len;
		char c1 = 0, c2 = 0;
		off_t end;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0) {
			fprintf(stderr, "open %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		if (fstat(fd, &st)) {
			fprintf(stderr, "fstat %s: %s\n", argv[i], strerror(errno));
			close(fd);
			rc = 1;
			continue;
		}
		/* what a program may rely on; st_dev/st_ino/times only when asked (fstatid) */
		printf("%s: type=%o perm=%04o size=%jd uid=%u gid=%u nlink=%ju", argv[i],
		       (unsigned)(st.st_mode & S_IFMT) >> 12, (unsigned)(st.st_mode & 07777),
		       (intmax_t)st.st_size, (unsigned)st.st_uid, (unsigned)st.st_gid,
		       (uintmax_t)st.st_nlink);
		if (ids)
			printf(" dev=%ju ino=%ju mtime=%jd", (uintmax_t)st.st_dev,
			       (uintmax_t)st.st_ino, (intmax_t)st.st_mtime);
		if (hash_fd(fd, &h, &len)) {
			printf(" read=%s\n", errname(errno));
			close(fd);
			continue;
		}
		end = lseek(fd, 0, SEEK_END);
		printf(" len=%zu fnv=%016" PRIx64 " end=%jd", len, h, (intmax_t)end);
		if (pread(fd, &c1, 1, 0) == 1 && pread(fd, &c2, 1, (off_t)len / 2) == 1)
			printf(" first=%02x mid=%02x", (unsigned char)c1, (unsigned char)c2);
		printf(" past_end=%zd\n", pread(fd, &c1, 1, (off_t)len + 10));
		close(fd);
	}
	return rc;
}

/* mmap(PROT_READ, MAP_PRIVATE) of each file: hash of the mapping, or the errno name. */
static int do_mmap(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct stat st;
		void *p;
		int fd = open(argv[i], O_RDONLY);

		if (fd < 0 || fstat(fd, &st)) {
			printf("%s: open %s\n", argv[i], errname(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (!st.st_size) {
			printf("%s: empty\n", argv[i]);
			close(fd);
			continue;
		}
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			printf("%s: mmap %s\n", argv[i], errname(errno));
		} else {
			printf("%s: mmap fnv=%016" PRIx64 "\n", argv[i],
			       fnv(p, (size_t)st.st_size, 0xcbf29ce484222325ull));
			munmap(p, (size_t)st.st_size);
		}
		close(fd);
	}
	return 0;
}

static int do_openat(const char *dir, const char *name)
{
	uint64_t h;
	size_t len;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY), fd;

	if (dfd < 0) {
		fprintf(stderr, "open %s: %s\n", dir, strerror(errno));
		return 1;
	}
	fd = openat(dfd, name, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "openat %s: %s\n", name, strerror(errno));
		close(dfd);
		return 1;
	}
	if (hash_fd(fd, &h, &len))
		return 1;
	printf("%s: len=%zu fnv=%016" PRIx64 "\n", name, len, h);
	close(fd);
	close(dfd);
	return 0;
}

static int do_flags(const char *path)
{
	static const struct { int flags; const char *name; } cases[] = {
		{ O_RDONLY | O_CLOEXEC, "cloexec" },
		{ O_RDONLY | O_NOFOLLOW, "nofollow" },
		{ O_RDONLY | O_NONBLOCK, "nonblock" },
		{ O_RDONLY | O_NOCTTY, "noctty" },
		{ O_RDONLY | O_NOATIME, "noatime" },
		{ O_RDONLY | O_DIRECTORY, "directory" },
		{ O_RDONLY | O_PATH, "path" },
	};
	uint64_t h;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = open(path, cases[i].flags);

		if (fd < 0) {
			printf("%s: %s\n", cases[i].name, errname(errno));
			continue;
		}
		int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);

		printf("%s: cloexec=%d nonblock=%d acc=%d", cases[i].name,
		       !!(fdfl & FD_CLOEXEC), !!(fl & O_NONBLOCK), fl & O_ACCMODE);
		if (!(cases[i].flags & O_PATH) && !hash_fd(fd, &h, &len))
			printf(" len=%zu fnv=%016" PRIx64, len, h);
		printf("\n");
		close(fd);
	}
	return 0;
}

static int do_write(const char *path, const char *mode, const char *data)
{
	FILE *f = fopen(path, mode);

	if (!f) {
		fprintf(stderr, "fopen %s %s: %s\n", path, mode, strerror(errno));
		return 1;
	}
	if (fputs(data, f) < 0 || fclose(f)) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int do_owrite(const char *path, const char *data)
{
	size_t n = strlen(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, data, n) != (ssize_t)n || close(fd)) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int do_rdwr(const char *path, const char *data)
{
	size_t n = strlen(data), len;
	uint64_t h;
	int fd = open(path, O_RDWR);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (hash_fd(fd, &h, &len) || pwrite(fd, data, n, 0) != (ssize_t)n || close(fd)) {
		fprintf(stderr, "rdwr %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("before: len=%zu fnv=%016" PRIx64 "\n", len, h);
	return 0;
}

static int do_err(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		int fd, e1, e2, e3, e4;
		FILE *f;

		errno = 0;
		fd = open(argv[i], O_RDONLY);
		e1 = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		errno = 0;
		fd = openat(AT_FDCWD, argv[i], O_RDONLY);
		e2 = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		errno = 0;
		f = fopen(argv[i], "r");
		e3 = f ? 0 : errno;
		if (f)
			fclose(f);
		errno = 0;
		f = fopen64(argv[i], "re");
		e4 = f ? 0 : errno;
		if (f)
			fclose(f);
		printf("%s: open=%s openat=%s fopen=%s fopen64=%s\n", argv[i], errname(e1),
		       errname(e2), errname(e3), errname(e4));
	}
	return 0;
}

struct mt {
	int rounds, nfiles;
	char **files;
	uint64_t *hash; /* [nfiles]: the first hash seen; later ones must match */
	pthread_mutex_t lock;
	int bad;
};

static void *mt_thread(void *arg)
{
	struct mt *m = arg;

	for (int r = 0; r < m->rounds; r++) {
		for (int i = 0; i < m->nfiles; i++) {
			uint64_t h = 0;
			size_t len;
			int fd;

			switch ((r + i) % 3) {
			case 0:
				fd = open(m->files[i], O_RDONLY | O_CLOEXEC);
				break;
			case 1:
				fd = openat(AT_FDCWD, m->files[i], O_RDONLY);
				break;
			default: {
				FILE *f = fopen(m->files[i], "re");

				fd = f ? dup(fileno(f)) : -1;
				if (f)
					fclose(f);
			}
			}
			if (fd < 0 || hash_fd(fd, &h, &len))
				h = 0; /* an error: hash 0 stands for it */
			if (fd >= 0)
				close(fd);
			h ^= 1; /* never 0 for a readable file... and an error stays distinct */
			pthread_mutex_lock(&m->lock);
			if (!m->hash[i])
				m->hash[i] = h;
			else if (m->hash[i] != h)
				m->bad++;
			pthread_mutex_unlock(&m->lock);
		}
	}
	return NULL;
}

static int mt_run(struct mt *m, int threads)
{
	pthread_t t[16];

	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, mt_thread, m))
			return -1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int do_mt(int threads, int rounds, int nfiles, char **files)
{
	struct mt m = { .rounds = rounds, .nfiles = nfiles, .files = files,
			.lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t bg[2];
	pid_t kid[2];
	int rc = 0;

	if (threads < 1 || threads > 16 || rounds < 1)
		return 1;
	m.hash = calloc((size_t)nfiles, sizeof(*m.hash));
	if (!m.hash)
		return 1;
	/* fork while other threads are inside the shim: the children must still work */
	for (int i = 0; i < 2; i++)
		if (pthread_create(&bg[i], NULL, mt_thread, &m))
			return 1;
	for (int k = 0; k < 2; k++) {
		kid[k] = fork();
		if (kid[k] < 0)
			return 1;
		if (kid[k] == 0) {
			struct mt c = m;

			c.hash = calloc((size_t)nfiles, sizeof(*c.hash));
			c.bad = 0;
			pthread_mutex_init(&c.lock, NULL);
			if (!c.hash || mt_run(&c, threads))
				_exit(2);
			/* the child's view must equal the parent's: compare through the exit code */
			for (int i = 0; i < nfiles; i++) {
				struct mt one = { .rounds = 1, .nfiles = 1, .files = &files[i],
						  .lock = PTHREAD_MUTEX_INITIALIZER };
				uint64_t h1 = 0;

				one.hash = &h1;
				mt_thread(&one);
				if (h1 != c.hash[i])
					c.bad++;
			}
			_exit(c.bad ? 3 : 0);
		}
	}
	if (mt_run(&m, threads))
		return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(bg[i], NULL);
	for (int k = 0; k < 2; k++) {
		int st;

		if (waitpid(kid[k], &st, 0) != kid[k] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "child %d failed\n", k);
			rc = 1;
		}
	}
	if (m.bad) {
		fprintf(stderr, "threads disagreed %d times\n", m.bad);
		rc = 1;
	}
	for (int i = 0; i < nfiles; i++)
		printf("%s %016" PRIx64 "\n", files[i], m.hash[i]);
	free(m.hash);
	return rc;
}


static void print_stat(const char *what, const struct stat *st)
{
	printf("  %s: dev=%ju ino=%ju mode=%o nlink=%ju uid=%u gid=%u rdev=%ju size=%jd "
	       "blksize=%jd blocks=%jd atime=%jd.%09ld mtime=%jd.%09ld ctime=%jd.%09ld\n",
	       what, (uintmax_t)st->st_dev, (uintmax_t)st->st_ino, (unsigned)st->st_mode,
	       (uintmax_t)st->st_nlink, (unsigned)st->st_uid, (unsigned)st->st_gid,
	       (uintmax_t)st->st_rdev, (intmax_t)st->st_size, (intmax_t)st->st_blksize,
	       (intmax_t)st->st_blocks, (intmax_t)st->st_atim.tv_sec, st->st_atim.tv_nsec,
	       (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
	       st->st_ctim.tv_nsec);
}

static void print_statfs(const char *what, const struct statfs *sf)
{
	/* no counts: hkvfs reports its disk's, which other writers move between two runs */
	printf("  %s: type=%jx bsize=%jd fsid=%x:%x namelen=%jd frsize=%jd flags=%jx\n", what,
	       (uintmax_t)sf->f_type, (intmax_t)sf->f_bsize, (unsigned)sf->f_fsid.__val[0],
	       (unsigned)sf->f_fsid.__val[1], (intmax_t)sf->f_namelen, (intmax_t)sf->f_frsize,
	       (uintmax_t)sf->f_flags);
}

/* glibc keeps these for binaries built against older versions; they are interposed too */
extern int __fxstat(int ver, int fd, struct stat *st);

static int do_statall(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char proc[64];
		struct stat st;
		struct statx sx;
		struct statfs sf;
		struct statvfs sv;
		int fd = open(argv[i], O_RDONLY), d;

		printf("%s:\n", argv[i]);
		if (fd < 0) {
			printf("  open %s\n", errname(errno));
			continue;
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (!fstat(fd, &st))
			print_stat("fstat", &st);
		if (!fstatat(fd, "", &st, AT_EMPTY_PATH))
			print_stat("fstatat", &st);
		if (!__fxstat(1, fd, &st))
			print_stat("__fxstat", &st);
		if (!stat(proc, &st))
			print_stat("stat /proc/self/fd", &st);
		d = dup(fd);
		if (d >= 0 && !fstat(d, &st))
			print_stat("fstat of a dup", &st);
		if (d >= 0)
			close(d);
		if (!statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx))
			printf("  statx: mask=%x dev=%u:%u ino=%ju mode=%o nlink=%u uid=%u gid=%u "
			       "size=%ju blocks=%ju mtime=%jd.%09u ctime=%jd.%09u\n",
			       sx.stx_mask & STATX_BASIC_STATS, sx.stx_dev_major, sx.stx_dev_minor,
			       (uintmax_t)sx.stx_ino, sx.stx_mode, sx.stx_nlink, sx.stx_uid,
			       sx.stx_gid, (uintmax_t)sx.stx_size, (uintmax_t)sx.stx_blocks,
			       (intmax_t)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec,
			       (intmax_t)sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec);
		if (!fstatfs(fd, &sf))
			print_statfs("fstatfs", &sf);
		if (!statfs(proc, &sf))
			print_statfs("statfs /proc/self/fd", &sf);
		if (!fstatvfs(fd, &sv))
			printf("  fstatvfs: bsize=%lu frsize=%lu fsid=%lx namemax=%lu flag=%lx\n",
			       sv.f_bsize, sv.f_frsize, sv.f_fsid, sv.f_namemax, sv.f_flag);
		close(fd);
	}
	return 0;
}

/* sigopen: opens in a signal handler racing opens of the main thread */
static const char *sig_path;
static uint64_t sig_want;
static volatile sig_atomic_t sig_bad, sig_runs;
static atomic_bool sig_done;

static uint64_t read_hash_raw(const char *path, bool *ok)
{
	unsigned char buf[512];
	uint64_t h = 0xcbf29ce484222325ull;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	*ok = fd >= 0;
	if (fd < 0)
		return 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		h = fnv(buf, (size_t)r, h);
	if (r < 0)
		*ok = false;
	close(fd);
	return h;
}

static void sig_handler(int sig)
{
	int saved = errno;
	bool ok;
	uint64_t h = read_hash_raw(sig_path, &ok);

	(void)sig;
	if (!ok || h != sig_want)
		sig_bad = 1;
	sig_runs = sig_runs + 1;
	errno = saved;
}

/*
 * One signal at a time, each sent only after the previous handler ran and the main thread then
 * finished one more open+read of its own: a sender that kept a signal pending all the time
 * would starve the main thread (every return to user mode runs the handler again), and the
 * probe would measure its own livelock. Each signal still lands at whatever point of its
 * open/read/close the main thread has reached.
 */
static atomic_long main_reads;

static void *sig_sender(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;

	while (!atomic_load(&sig_done)) {
		long runs = sig_runs, reads = atomic_load(&main_reads);

		pthread_kill(main_thread, SIGUSR1);
		while (!atomic_load(&sig_done) &&
		       (sig_runs == runs || atomic_load(&main_reads) == reads))
			sched_yield();
	}
	return NULL;
}

static int do_sigopen(const char *path, int rounds)
{
	struct sigaction sa;
	pthread_t self = pthread_self(), t;
	bool ok;
	int bad = 0;

	sig_path = path;
	sig_want = read_hash_raw(path, &ok);
	if (!ok) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	if (pthread_create(&t, NULL, sig_sender, &self))
		return 1;
	/* at least @rounds opens, and until the handler has run 200 times */
	for (int i = 0; i < rounds || sig_runs < 200; i++) {
		if (read_hash_raw(path, &ok) != sig_want || !ok)
			bad++;
		atomic_fetch_add(&main_reads, 1);
	}
	atomic_store(&sig_done, true);
	pthread_join(t, NULL);
	printf("sigopen %s: main reads %s, handler reads %s\n", path, bad ? "DIFFER" : "same",
	       sig_bad ? "DIFFER" : "same");
	return bad || sig_bad;
}

/* Print the length and hash of FILE's content (or the errno), as read now. */
static void show(const char *tag, const char *path)
{
	bool ok;
	struct stat st;
	uint64_t h = read_hash_raw(path, &ok);

	if (!ok) {
		printf("%s: %s\n", tag, errname(errno));
		return;
	}
	printf("%s: fnv=%016" PRIx64, tag, h);
	if (!stat(path, &st))
		printf(" size=%jd", (intmax_t)st.st_size);
	printf("\n");
	fflush(stdout);
}

static int do_waitread(const char *path, const char *ready, const char *go)
{
	char c;
	int fd;

	show("before", path);
	fd = open(ready, O_WRONLY);
	if (fd < 0 || write(fd, "r\n", 2) != 2)
		return 1;
	close(fd);
	fd = open(go, O_RDONLY);
	if (fd < 0 || read(fd, &c, 1) != 1)
		return 1;
	close(fd);
	show("after", path);
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd)) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A private mount namespace with a tmpfs over @mnt holding @file with its own content. */
static int private_tmpfs(const char *mnt, const char *file, const char *text, bool raw)
{
	/* raw: a system call the shim cannot see, so its mount table stays as it was */
	if ((raw ? syscall(SYS_unshare, CLONE_NEWNS) : unshare(CLONE_NEWNS)) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", mnt, "tmpfs", 0, "mode=755")) {
		fprintf(stderr, "unshare/mount: %s\n", strerror(errno));
		return -1;
	}
	return write_file(file, text);
}

static int do_nscase(const char *kind, const char *mnt, const char *file)
{
	show("before", file);
	if (!strncmp(kind, "chroot:", 7)) {
		if (chroot(kind + 7) || chdir("/")) {
			fprintf(stderr, "chroot: %s\n", strerror(errno));
			return 1;
		}
	} else if (!strncmp(kind, "rawchroot:", 10)) {
		if (syscall(SYS_chroot, kind + 10) || chdir("/")) {
			fprintf(stderr, "chroot: %s\n", strerror(errno));
			return 1;
		}
	} else if (!strcmp(kind, "unshare") || !strcmp(kind, "rawunshare")) {
		if (private_tmpfs(mnt, file, "in a new mount namespace\n", kind[0] == 'r'))
			return 1;
	} else if (!strcmp(kind, "setns")) {
		int p[2], q[2], fd, st;
		char c, path[64];
		pid_t pid;

		if (pipe(p) || pipe(q))
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (!pid) {
			close(p[0]);
			close(q[1]);
			c = private_tmpfs(mnt, file, "in the child's mount namespace\n", false) ? 'x' : 'r';
			if (write(p[1], &c, 1) != 1 || c != 'r')
				_exit(1);
			_exit(read(q[0], &c, 1) < 0); /* until the parent is done */
		}
		close(p[1]);
		close(q[0]);
		if (read(p[0], &c, 1) != 1 || c != 'r')
			return 1;
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS)) {
			fprintf(stderr, "setns: %s\n", strerror(errno));
			return 1;
		}
		close(fd);
		show("after", file);
		close(q[1]);
		waitpid(pid, &st, 0);
		return !WIFEXITED(st) || WEXITSTATUS(st);
	} else {
		fprintf(stderr, "nscase: unknown kind %s\n", kind);
		return 2;
	}
	show("after", file);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "gen") && argc == 4)
		return gen(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	if (!strcmp(cmd, "fgets"))
		return do_fgets(argc - 2, argv + 2);
	if (!strcmp(cmd, "fstat"))
		return do_fstat(argc - 2, argv + 2, false);
	if (!strcmp(cmd, "fstatid"))
		return do_fstat(argc - 2, argv + 2, true);
	if (!strcmp(cmd, "mmap"))
		return do_mmap(argc - 2, argv + 2);
	if (!strcmp(cmd, "openat") && argc == 4)
		return do_openat(argv[2], argv[3]);
	if (!strcmp(cmd, "flags") && argc == 3)
		return do_flags(argv[2]);
	if (!strcmp(cmd, "write") && argc == 5)
		return do_write(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "owrite") && argc == 4)
		return do_owrite(argv[2], argv[3]);
	if (!strcmp(cmd, "rdwr") && argc == 4)
		return do_rdwr(argv[2], argv[3]);
	if (!strcmp(cmd, "err"))
		return do_err(argc - 2, argv + 2);
	if (!strcmp(cmd, "statall"))
		return do_statall(argc - 2, argv + 2);
	if (!strcmp(cmd, "sigopen") && argc == 4)
		return do_sigopen(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "waitread") && argc == 5)
		return do_waitread(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "nscase") && argc == 5)
		return do_nscase(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "mt") && argc >= 5)
		return do_mt(atoi(argv[2]), atoi(argv[3]), argc - 4, argv + 4);
	fprintf(stderr, "usage: shim-probe gen|fgets|fstat|fstatid|mmap|openat|flags|write|owrite|"
			"rdwr|err|statall|sigopen|waitread|nscase|mt ...\n");
	return 2;
}
