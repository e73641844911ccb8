// SPDX-License-Identifier: MIT
/*
 * bench_fs.c - hkv-bench fs: the mounted filesystem next to tmpfs and a storage-free FUSE
 * daemon, all set up, measured and torn down by one process in one run.
 *
 * Targets. Every figure of a FUSE mount mixes three costs: the kernel's VFS work (what tmpfs
 * costs), the FUSE round trips the kernel chooses to make (what the cache mode decides) and
 * the daemon's own work. To separate them each run measures, one after another:
 *
 *   tmpfs          a tmpfs mounted in the scratch directory (mount(2), so root is needed)
 *   floor-MODE     hkv-fuse-floor (tools/fuse-floor.c) in cache mode MODE: the same kernel
 *                  requests as hkvfs, answered from constants, so it is the floor of hkvfs
 *   hkvfs-MODE     the hkvfs daemon on a fresh data directory, -o cache=MODE
 *
 * for MODE = off, on, noopen, and hkvfs-ro: -o ro,cache=on. hkvfs-noopen and hkvfs-ro are
 * read-only through the filesystem, so they have no create row; both answer OPEN and FLUSH
 * with ENOSYS, so their floor is floor-noopen (run with --noflush). floor-keep is floor-on
 * with read-only opens keeping the page cache: OPEN and RELEASE but no READ, the least an
 * open+read+close costs on a mount that sends OPEN. "x tmpfs" divides a median by tmpfs's;
 * "x floor" divides an hkvfs median by the floor that makes the same requests, so it is the
 * cost of hkvfs's own work.
 *
 * Every target serves the same tree: a 64-byte file "f" and a directory "d" of --keys
 * entries k0000000, k0000001, ... hkvfs stores are filled through the engine (hkv_open on the
 * data directory before the daemon mounts it; keys "f" and "d/k%07u", 64-byte values), tmpfs
 * gets "f" and empty files in "d" (a listing does not read them), the floor makes both up.
 *
 * Operations, each timed with clock_gettime(CLOCK_MONOTONIC) around every single call, in a
 * loop in this process (a per-key cost only shows in a process that opens many keys):
 *
 *   open+read+close  open(f, O_RDONLY), one read(4096) returning 64 bytes, close; hot: the
 *                    same file again and again after a warm-up
 *   pread            pread(64 bytes at 0) on one open descriptor, after a warm-up
 *   stat             stat(f), after a warm-up
 *   create+write     open(new name, O_WRONLY|O_CREAT|O_TRUNC), write 64 bytes, close: as
 *                    `echo > new` does; every call a name never used before
 *   cat              a whole `/bin/cat f >/dev/null` process (posix_spawn + waitpid)
 *   readdir          opendir + readdir to the end + closedir of d; the daemon's RssAnon
 *                    (heap) and RssFile (mapped store) from /proc/PID/status before the
 *                    first and after the last listing; --full adds a directory of --big keys
 *
 * Median and p99 come from the sorted samples (exact, no histogram).
 *
 * Request counts. The floor counts the requests it receives in a shared-mapped file (see
 * fuse-floor.c for its layout), hkvfs in its counters (read through the RESP socket, not
 * the mount); the difference of two snapshots around an operation's loop divided by the
 * operations tells which FUSE requests one operation costs.
 *
 * CPU placement. A FUSE round trip costs several times more when the client and the daemon
 * run on different CPUs. --pin same puts this process and every thread of the daemon on
 * CPU 0 (sched_setaffinity on each task in /proc/PID/task; threads started later inherit it),
 * --pin cross puts the daemon on CPU 1, --pin none pins nothing. The default runs same and
 * cross, one table each.
 *
 * Daemons are children of this process, started in the foreground, and a mount counts as up
 * when it appears in /proc/self/mountinfo (polled with a deadline, failing early if the child
 * exits). Each target is stopped (SIGTERM, then SIGKILL after a deadline) and unmounted before
 * the next starts, also on errors. A hung daemon cannot hang the benchmark: a watchdog thread
 * sees every measured call advance a progress counter, and when it stands still for
 * --stall seconds it aborts the FUSE connection (/sys/fs/fuse/connections/N/abort, N from
 * the mount's device in mountinfo; fusectl is mounted there if it is not yet), which fails
 * the blocked call with ENOTCONN, and kills the daemon; the row is reported as hung and the
 * run goes on with the next target. Signals alone cannot do this: a process waiting for a
 * FUSE reply runs no signal handler until the reply comes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hkv/engine.h"
#ifdef HKV_HAVE_BENCH_FS_CTL
#include "hkv/ctlclient.h"
#endif

extern char **environ;

int bench_fs_main(int argc, char **argv);

#define FILE_SIZE 64
#define SKIP_EXIT 77

/* the floor's shared counter block: must match fuse-floor.c */
#define HKV_FLOOR_STATS_MAGIC 0x31726f6f6c66766bULL
enum floor_op {
	FOP_LOOKUP, FOP_FORGET, FOP_GETATTR, FOP_SETATTR, FOP_OPEN, FOP_READ, FOP_WRITE,
	FOP_FLUSH, FOP_RELEASE, FOP_OPENDIR, FOP_READDIR, FOP_RELEASEDIR, FOP_CREATE, FOP_STATFS,
	FOP_OTHER, FOP_NR
};
struct floor_stats {
	uint64_t magic;
	uint64_t cnt[FOP_NR];
};

/* requests shown per operation; -1: the daemon does not count it */
enum rq { RQ_LOOKUP, RQ_GETATTR, RQ_SETATTR, RQ_OPEN, RQ_READ, RQ_WRITE, RQ_FLUSH,
	  RQ_RELEASE, RQ_CREATE, RQ_READDIR, RQ_NR };
static const char *const rq_name[RQ_NR] = { "LOOKUP", "GETATTR", "SETATTR", "OPEN", "READ",
					     "WRITE", "FLUSH", "RELEASE", "CREATE", "READDIR" };
static const int rq_floor[RQ_NR] = { FOP_LOOKUP, FOP_GETATTR, FOP_SETATTR, FOP_OPEN, FOP_READ,
				     FOP_WRITE, FOP_FLUSH, FOP_RELEASE, FOP_CREATE,
				     FOP_READDIR };
#ifdef HKV_HAVE_BENCH_FS_CTL
static const char *const rq_hkvfs[RQ_NR] = { "fs_lookups", "fs_getattrs", NULL, "fs_opens",
					     "fs_reads", "fs_writes", "fs_flushes", "fs_releases",
					     "fs_creates", "fs_readdirs" };
#endif

enum tkind { TK_TMPFS, TK_FLOOR, TK_HKVFS };

#define NTARGETS 9
static const struct {
	const char *name;
	enum tkind kind;
	const char *mode;
	int floor;    /* index of the floor that makes the same requests, or -1 */
	bool noflush; /* floor: FLUSH answered ENOSYS */
	bool keep;    /* floor: read-only opens keep the page cache (--keep-cache) */
	bool ro;      /* hkvfs: -o ro */
	bool rofs;    /* hkvfs: read-only through the filesystem (ro, cache=noopen): no create */
} tdefs[NTARGETS] = {
	{ "tmpfs", TK_TMPFS, NULL, -1, false, false, false, false },
	{ "floor-off", TK_FLOOR, "off", -1, false, false, false, false },
	{ "floor-on", TK_FLOOR, "on", -1, false, false, false, false },
	{ "floor-noopen", TK_FLOOR, "noopen", -1, true, false, false, false },
	{ "floor-keep", TK_FLOOR, "on", -1, false, true, false, false },
	{ "hkvfs-off", TK_HKVFS, "off", 1, false, false, false, false },
	{ "hkvfs-on", TK_HKVFS, "on", 2, false, false, false, false },
	{ "hkvfs-noopen", TK_HKVFS, "noopen", 3, false, false, false, true },
	{ "hkvfs-ro", TK_HKVFS, "on", 3, false, false, true, true },
};
#define T_FLOOR_KEEP 4
#define T_HKVFS_ON 6
#define T_HKVFS_NOOPEN 7
#define T_HKVFS_RO 8
#define T_HKVFS_OFF 5

enum bop { BOP_ORC, BOP_PREAD, BOP_STAT, BOP_CREATE, BOP_CAT, BOP_READDIR, BOP_NR };
static const char *const bop_short[BOP_NR] = {
	"open+read+close", "pread", "stat", "create+write", "cat", "readdir d"
};
static const char *const bop_title[BOP_NR] = {
	"open+read+close, 64 B file, hot",
	"pread 64 B on an open fd",
	"stat",
	"create+write+close of a new 64 B file",
	"cat as a whole process (posix_spawn + waitpid of /bin/cat f >/dev/null)",
	"readdir of d, whole listing",
};

enum pin { PIN_SAME, PIN_CROSS, PIN_NONE, PIN_NR };
static const char *const pin_name[PIN_NR] = { "same", "cross", "none" };

struct result {
	bool have;
	char err[160];
	double med, p99; /* microseconds */
	bool have_rq;
	double rq[RQ_NR]; /* < 0: not counted */
	/* daemon memory in kB (-1 unknown): before the warm-up listing, after it, at the end */
	long anon_pre, anon0, anon1, file0, file1;
};

static struct {
	/* options */
	char data[PATH_MAX];
	uint64_t keys, big;
	int iters, cat_runs, dir_runs;
	bool pins[PIN_NR];
	bool quick, full, floor_single;
	char hkvfs_bin[PATH_MAX], floor_bin[PATH_MAX];
	/* state */
	char scratch[2048]; /* short enough for every path made inside it */
	int ncpu;
	uint64_t *samples;
	size_t nsamples;
	unsigned create_seq;
	struct result res[PIN_NR][NTARGETS][BOP_NR];
	struct result big_res[NTARGETS];
} B;

/* the target that is up; read by the watchdog thread and the signal handler */
static struct {
	volatile pid_t pid;
	volatile sig_atomic_t mounted;
	volatile unsigned fuse_conn; /* /sys/fs/fuse/connections/N of the mount, 0 unknown */
	char mnt[PATH_MAX];
	char data[PATH_MAX];
	char stats_path[PATH_MAX];
	struct floor_stats *fstats;
	int t;
} cur = { .pid = -1 };

/* ---------------------------------------------------------------------------------------- */
/* small helpers                                                                             */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* median and p99 of @n samples (ns), in microseconds; sorts @s */
static void summarize(uint64_t *s, size_t n, struct result *r)
{
	size_t i99;

	qsort(s, n, sizeof(*s), cmp_u64);
	i99 = n * 99 / 100;
	if (i99 >= n)
		i99 = n - 1;
	r->med = (double)s[n / 2] / 1000.0;
	r->p99 = (double)s[i99] / 1000.0;
	r->have = true;
}

static int pin_task(pid_t tid, int cpu)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	if (cpu < 0) {
		for (i = 0; i < B.ncpu && i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	} else {
		CPU_SET(cpu, &set);
	}
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

/* pin every thread of process @pid to @cpu (-1: all CPUs) */
static int pin_process(pid_t pid, int cpu)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		rc = pin_task((pid_t)atoi(de->d_name), cpu);
		if (rc && rc != -ESRCH)
			break;
		rc = 0;
	}
	closedir(d);
	return rc;
}

/* true if @mnt is a mount point; *@conn (if not NULL) gets the FUSE connection number */
static bool is_mounted(const char *mnt, unsigned *conn)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line, *dev = NULL;
		int field;

		/* field 3 is the device (major:minor), field 5 the mount point */
		for (field = 1; field < 5 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
			if (field == 2)
				dev = p;
		}
		if (p) {
			size_t l = strlen(mnt);

			found = !strncmp(p, mnt, l) && p[l] == ' ';
		}
		/* an anonymous device 0:N is FUSE connection N */
		if (found && conn && dev && !strncmp(dev, "0:", 2))
			*conn = (unsigned)strtoul(dev + 2, NULL, 10);
	}
	fclose(f);
	return found;
}

/* kB of "Key:" in /proc/PID/status, -1 if absent */
static long proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static const char *fs_name(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf))
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:
		return "ext4";
	case 0x01021994:
		return "tmpfs";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

/* ---------------------------------------------------------------------------------------- */
/* targets: start, stop                                                                      */

/*
 * Watchdog. @progress advances with every measured call while @armed; @hung tells the
 * measuring thread that its target was aborted.
 */
static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, running;
	int stall_s;
	_Atomic uint64_t progress;
	atomic_bool armed, hung;
} wd = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static inline void tick(void)
{
	atomic_fetch_add_explicit(&wd.progress, 1, memory_order_relaxed);
}

static int fuse_abort(unsigned conn)
{
	char path[80];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* fusectl is not mounted: mount it, it is the only way to abort a connection */
		mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void *wd_main(void *arg)
{
	uint64_t last = 0, since = now_ns();

	(void)arg;
	pthread_mutex_lock(&wd.lock);
	while (!wd.stop) {
		struct timespec ts;
		uint64_t p = atomic_load(&wd.progress);

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&wd.cond, &wd.lock, &ts);
		if (p != last || !atomic_load(&wd.armed)) {
			last = p;
			since = now_ns();
			continue;
		}
		if (now_ns() - since < (uint64_t)wd.stall_s * 1000000000u)
			continue;
		fprintf(stderr, "hkv-bench fs: %s: no progress for %d s; aborting its FUSE "
			"connection %u and killing it\n", tdefs[cur.t].name, wd.stall_s,
			cur.fuse_conn);
		atomic_store(&wd.hung, true);
		if (cur.fuse_conn && fuse_abort(cur.fuse_conn))
			fprintf(stderr, "hkv-bench fs: cannot abort FUSE connection %u\n",
				cur.fuse_conn);
		if (cur.pid > 0)
			kill(cur.pid, SIGKILL);
		since = now_ns();
	}
	pthread_mutex_unlock(&wd.lock);
	return NULL;
}

static int wd_start(void)
{
	int rc = pthread_create(&wd.thread, NULL, wd_main, NULL);

	wd.running = !rc;
	return -rc;
}

static void wd_stop(void)
{
	if (!wd.running)
		return;
	pthread_mutex_lock(&wd.lock);
	wd.stop = true;
	pthread_cond_signal(&wd.cond);
	pthread_mutex_unlock(&wd.lock);
	pthread_join(wd.thread, NULL);
	wd.running = false;
}

static void on_signal(int sig)
{
	if (cur.pid > 0)
		kill(cur.pid, SIGKILL);
	if (cur.mounted)
		umount2(cur.mnt, MNT_DETACH);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* wait up to @ms for child @pid; true if it was reaped */
static bool reap(pid_t pid, int ms)
{
	int st, waited;

	for (waited = 0; waited <= ms; waited += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		sleep_ms(5);
	}
	return false;
}

static void target_down(void)
{
	if (cur.pid > 0) {
		kill(cur.pid, SIGTERM);
		if (!reap(cur.pid, 10000)) {
			fprintf(stderr, "hkv-bench fs: %s did not stop on SIGTERM; killing it\n",
				tdefs[cur.t].name);
			kill(cur.pid, SIGKILL);
			reap(cur.pid, 5000);
		}
		cur.pid = -1;
	}
	if (cur.mounted || is_mounted(cur.mnt, NULL)) {
		if (umount2(cur.mnt, 0) && is_mounted(cur.mnt, NULL))
			umount2(cur.mnt, MNT_DETACH);
		cur.mounted = 0;
	}
	cur.fuse_conn = 0;
	if (cur.fstats) {
		munmap(cur.fstats, sizeof(*cur.fstats));
		cur.fstats = NULL;
	}
}

static void show_log(const char *log)
{
	char line[512];
	FILE *f = fopen(log, "re");
	int n = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n++ < 20)
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

/* start @argv as a daemon child with output to @log, and wait for its mount on cur.mnt */
static int spawn_daemon(char *const argv[], const char *log)
{
	uint64_t deadline;
	pid_t pid;
	int fd;

	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	cur.pid = pid;
	deadline = now_ns() + 15ull * 1000000000u;
	while (!is_mounted(cur.mnt, (unsigned *)&cur.fuse_conn)) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			cur.pid = -1;
			fprintf(stderr, "hkv-bench fs: %s exited before mounting (status %d); log:\n",
				argv[0], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			show_log(log);
			return -ECHILD;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, "hkv-bench fs: %s did not mount within 15 s\n", argv[0]);
			return -ETIMEDOUT;
		}
		sleep_ms(2);
	}
	cur.mounted = 1;
	return 0;
}

static int write_file(const char *path, size_t len)
{
	char buf[FILE_SIZE];
	int fd, rc = 0;

	memset(buf, 'v', sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (len && write(fd, buf, len) != (ssize_t)len)
		rc = -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

static int tmpfs_up(uint64_t entries)
{
	char path[PATH_MAX + 32];
	uint64_t i;
	int rc;

	if (mount("hkv-bench", cur.mnt, "tmpfs", MS_NOATIME, "mode=0755"))
		return -errno;
	cur.mounted = 1;
	snprintf(path, sizeof(path), "%s/f", cur.mnt);
	rc = write_file(path, FILE_SIZE);
	snprintf(path, sizeof(path), "%s/d", cur.mnt);
	if (!rc && mkdir(path, 0755))
		rc = -errno;
	for (i = 0; !rc && i < entries; i++) {
		snprintf(path, sizeof(path), "%s/d/k%07" PRIu64, cur.mnt, i);
		rc = write_file(path, 0);
	}
	return rc;
}

static int floor_up(int t, uint64_t entries)
{
	char n[32], log[PATH_MAX + 32];
	char *argv[12];
	int a = 0, fd, rc;

	snprintf(n, sizeof(n), "%" PRIu64, entries);
	snprintf(cur.stats_path, sizeof(cur.stats_path), "%s/%s.stats", B.scratch,
		 tdefs[t].name);
	snprintf(log, sizeof(log), "%s/%s.log", B.scratch, tdefs[t].name);
	unlink(cur.stats_path);
	argv[a++] = B.floor_bin;
	argv[a++] = cur.mnt;
	argv[a++] = "--cache";
	argv[a++] = (char *)tdefs[t].mode;
	argv[a++] = "--entries";
	argv[a++] = n;
	argv[a++] = "--stats";
	argv[a++] = cur.stats_path;
	if (B.floor_single)
		argv[a++] = "--single";
	if (tdefs[t].noflush)
		argv[a++] = "--noflush";
	if (tdefs[t].keep)
		argv[a++] = "--keep-cache";
	argv[a] = NULL;
	rc = spawn_daemon(argv, log);
	if (rc)
		return rc;
	fd = open(cur.stats_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		void *p = mmap(NULL, sizeof(struct floor_stats), PROT_READ, MAP_SHARED, fd, 0);

		if (p != MAP_FAILED && ((struct floor_stats *)p)->magic == HKV_FLOOR_STATS_MAGIC)
			cur.fstats = p;
		else if (p != MAP_FAILED)
			munmap(p, sizeof(struct floor_stats));
		close(fd);
	}
	return 0;
}

/* fill a fresh store through the engine: "f" and "d/k%07u", 64-byte values */
static int hkvfs_populate(const char *dir, uint64_t entries)
{
	struct hkv_options eo;
	struct hkv *db;
	char key[32], val[FILE_SIZE];
	uint64_t i, t0 = now_ns();
	int rc, rc2;

	memset(val, 'v', sizeof(val));
	hkv_options_init(&eo);
	eo.sync = HKV_SYNC_NONE;
	rc = hkv_open(dir, &eo, &db);
	if (rc) {
		fprintf(stderr, "hkv-bench fs: hkv_open %s: %s\n", dir, hkv_strerror(rc));
		return rc;
	}
	rc = hkv_set(db, "f", 1, val, sizeof(val), NULL);
	for (i = 0; rc >= 0 && i < entries; i++) {
		int n = snprintf(key, sizeof(key), "d/k%07" PRIu64, i);

		rc = hkv_set(db, key, (size_t)n, val, sizeof(val), NULL);
	}
	rc2 = hkv_close(db);
	if (rc < 0 || rc2) {
		fprintf(stderr, "hkv-bench fs: filling %s: %s\n", dir,
			hkv_strerror(rc < 0 ? rc : rc2));
		return rc < 0 ? rc : rc2;
	}
	fprintf(stderr, "hkv-bench fs: filled %s with %" PRIu64 " keys in %.1f s\n", dir,
		entries + 1, (double)(now_ns() - t0) / 1e9);
	return 0;
}

static int hkvfs_up(int t, uint64_t entries)
{
	char opt[64], log[PATH_MAX + 32];
	char *argv[8];
	int rc;

	snprintf(cur.data, sizeof(cur.data), "%s/data-%s-%" PRIu64, B.scratch, tdefs[t].name,
		 entries);
	rc = hkvfs_populate(cur.data, entries);
	if (rc)
		return rc;
	snprintf(opt, sizeof(opt), "cache=%s%s", tdefs[t].mode, tdefs[t].ro ? ",ro" : "");
	snprintf(log, sizeof(log), "%s/%s.log", B.scratch, tdefs[t].name);
	argv[0] = B.hkvfs_bin;
	argv[1] = cur.data;
	argv[2] = cur.mnt;
	argv[3] = "-f";
	argv[4] = "-o";
	argv[5] = opt;
	argv[6] = NULL;
	return spawn_daemon(argv, log);
}

static int target_up(int t, uint64_t entries)
{
	int rc;

	cur.t = t;
	cur.data[0] = 0;
	atomic_store(&wd.hung, false);
	snprintf(cur.mnt, sizeof(cur.mnt), "%s/mnt-%s", B.scratch, tdefs[t].name);
	if (mkdir(cur.mnt, 0755) && errno != EEXIST)
		return -errno;
	switch (tdefs[t].kind) {
	case TK_TMPFS:
		rc = tmpfs_up(entries);
		break;
	case TK_FLOOR:
		rc = floor_up(t, entries);
		break;
	default:
		rc = hkvfs_up(t, entries);
		break;
	}
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* request counters                                                                          */

struct rq_snap {
	bool ok;
	double v[RQ_NR]; /* < 0: not counted */
};

static void rq_snapshot(struct rq_snap *s)
{
	int i;

	s->ok = false;
	for (i = 0; i < RQ_NR; i++)
		s->v[i] = -1;
	if (tdefs[cur.t].kind == TK_FLOOR && cur.fstats) {
		for (i = 0; i < RQ_NR; i++)
			s->v[i] = (double)__atomic_load_n(&cur.fstats->cnt[rq_floor[i]],
							   __ATOMIC_RELAXED);
		s->ok = true;
	}
#ifdef HKV_HAVE_BENCH_FS_CTL
	if (tdefs[cur.t].kind == TK_HKVFS) {
		char sock[PATH_MAX + 32];
		const void *argv[2] = { "HKVFS", "STATS" };
		size_t lens[2] = { 5, 5 };
		struct hkvfs_ctl_reply r = { 0 };

		snprintf(sock, sizeof(sock), "%s/%s", cur.data, HKVFS_CTL_SOCK);
		if (hkvfs_ctl_callv(sock, 2, argv, lens, &r) || r.status || !r.data) {
			free(r.data);
			return;
		}
		for (i = 0; i < RQ_NR; i++) {
			const char *p;
			size_t l;

			if (!rq_hkvfs[i])
				continue;
			l = strlen(rq_hkvfs[i]);
			for (p = r.data; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
				if (!strncmp(p, rq_hkvfs[i], l) && (p[l] == ' ' || p[l] == ':')) {
					s->v[i] = strtod(p + l + 1, NULL);
					break;
				}
			}
		}
		free(r.data);
		s->ok = true;
	}
#endif
}

static void rq_delta(const struct rq_snap *a, const struct rq_snap *b, double n,
		     struct result *r)
{
	int i;

	if (!a->ok || !b->ok || n <= 0)
		return;
	for (i = 0; i < RQ_NR; i++)
		r->rq[i] = a->v[i] < 0 || b->v[i] < 0 ? -1 : (b->v[i] - a->v[i]) / n;
	r->have_rq = true;
}

/* ---------------------------------------------------------------------------------------- */
/* operations: each fills @s[0..n) with nanoseconds per call; 0 or -errno                   */

static char iobuf[4096];

static int op_orc(const char *path, uint64_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t r;

		if (fd < 0)
			return -errno;
		r = read(fd, iobuf, sizeof(iobuf));
		close(fd);
		s[i] = now_ns() - t0;
		tick();
		if (r != FILE_SIZE)
			return r < 0 ? -errno : -EIO;
	}
	return 0;
}

static int op_pread(const char *path, uint64_t *s, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t i;
	int rc = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		ssize_t r = pread(fd, iobuf, FILE_SIZE, 0);

		s[i] = now_ns() - t0;
		tick();
		if (r != FILE_SIZE) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
	}
	close(fd);
	return rc;
}

static int op_stat(const char *path, uint64_t *s, size_t n)
{
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int r = stat(path, &st);

		s[i] = now_ns() - t0;
		tick();
		if (r)
			return -errno;
		if (st.st_size != FILE_SIZE)
			return -EIO;
	}
	return 0;
}

static int op_create(const char *dir, uint64_t *s, size_t n)
{
	char path[PATH_MAX + 32];
	size_t i;

	memset(iobuf, 'w', FILE_SIZE);
	for (i = 0; i < n; i++) {
		uint64_t t0;
		ssize_t w;
		int fd, c;

		snprintf(path, sizeof(path), "%s/n%08u", dir, B.create_seq++);
		t0 = now_ns();
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		w = write(fd, iobuf, FILE_SIZE);
		c = close(fd);
		s[i] = now_ns() - t0;
		tick();
		if (w != FILE_SIZE)
			return w < 0 ? -errno : -EIO;
		if (c)
			return -errno;
	}
	return 0;
}

static int op_cat(const char *path, uint64_t *s, size_t n)
{
	char *argv[] = { "cat", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	size_t i;
	int rc = 0;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	if (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) {
		rc = -ENOMEM;
		goto out_fa;
	}
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		pid_t pid;
		int st;

		if (posix_spawn(&pid, "/bin/cat", &fa, NULL, argv, environ)) {
			rc = -errno;
			break;
		}
		if (waitpid(pid, &st, 0) != pid) {
			rc = -errno;
			break;
		}
		s[i] = now_ns() - t0;
		tick();
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			rc = -EIO;
			break;
		}
	}
out_fa:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int op_readdir(const char *dir, uint64_t expect, uint64_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns(), cnt = 0;
		struct dirent *de;
		DIR *d = opendir(dir);

		if (!d)
			return -errno;
		errno = 0;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				cnt++;
		if (errno) {
			int e = -errno;

			closedir(d);
			return e;
		}
		closedir(d);
		s[i] = now_ns() - t0;
		tick();
		if (cnt != expect) {
			fprintf(stderr, "hkv-bench fs: %s listed %" PRIu64 " entries, expected %"
				PRIu64 "\n", dir, cnt, expect);
			return -EIO;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* measuring one target                                                                      */

static void fail(struct result *r, const char *what, int rc)
{
	snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(-rc));
	fprintf(stderr, "hkv-bench fs: %s: %s: %s\n", tdefs[cur.t].name, what, strerror(-rc));
}

/* one operation: warm-up (not recorded), then @n timed calls between two counter snapshots */
static void measure(enum bop op, const char *arg, size_t n, size_t warm, uint64_t expect,
		    struct result *r)
{
	struct rq_snap a, b;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->anon_pre = r->anon0 = r->anon1 = r->file0 = r->file1 = -1;
	if (atomic_load(&wd.hung)) {
		snprintf(r->err, sizeof(r->err), "not run: the target hung before");
		return;
	}
	atomic_store(&wd.armed, true);
	if (n > B.nsamples)
		n = B.nsamples;
	if (warm > B.nsamples)
		warm = B.nsamples;
	if (op == BOP_READDIR && cur.pid > 0)
		r->anon_pre = proc_status_kb(cur.pid, "RssAnon");
	if (warm) {
		if (op == BOP_READDIR)
			rc = op_readdir(arg, expect, B.samples, warm);
		else if (op == BOP_ORC)
			rc = op_orc(arg, B.samples, warm);
		else if (op == BOP_PREAD)
			rc = op_pread(arg, B.samples, warm);
		else if (op == BOP_STAT)
			rc = op_stat(arg, B.samples, warm);
		if (rc) {
			fail(r, "warm-up", rc);
			goto out_disarm;
		}
	}
	if (op == BOP_READDIR && cur.pid > 0) {
		r->anon0 = proc_status_kb(cur.pid, "RssAnon");
		r->file0 = proc_status_kb(cur.pid, "RssFile");
	}
	rq_snapshot(&a);
	switch (op) {
	case BOP_ORC:
		rc = op_orc(arg, B.samples, n);
		break;
	case BOP_PREAD:
		rc = op_pread(arg, B.samples, n);
		break;
	case BOP_STAT:
		rc = op_stat(arg, B.samples, n);
		break;
	case BOP_CREATE:
		rc = op_create(arg, B.samples, n);
		break;
	case BOP_CAT:
		rc = op_cat(arg, B.samples, n);
		break;
	default:
		rc = op_readdir(arg, expect, B.samples, n);
		break;
	}
	rq_snapshot(&b);
	if (rc) {
		fail(r, bop_title[op], rc);
		goto out_disarm;
	}
	if (op == BOP_READDIR && cur.pid > 0) {
		r->anon1 = proc_status_kb(cur.pid, "RssAnon");
		r->file1 = proc_status_kb(cur.pid, "RssFile");
	}
	rq_delta(&a, &b, (double)n, r);
	summarize(B.samples, n, r);
out_disarm:
	atomic_store(&wd.armed, false);
	if (atomic_load(&wd.hung)) {
		r->have = false;
		snprintf(r->err, sizeof(r->err), "HUNG: no progress for %d s, FUSE connection "
			 "aborted", wd.stall_s);
	}
}

static int apply_pin(enum pin p)
{
	int rc = 0;

	if (B.ncpu < 2 && p == PIN_CROSS)
		return -ENODEV;
	rc = pin_task(0, p == PIN_NONE ? -1 : 0);
	if (!rc && cur.pid > 0)
		rc = pin_process(cur.pid, p == PIN_SAME ? 0 : p == PIN_CROSS ? 1 : -1);
	return rc;
}

static void run_target(int t)
{
	char f[PATH_MAX + 8], d[PATH_MAX + 8];
	size_t warm = (size_t)B.iters / 10 < 100 ? 100 : (size_t)B.iters / 10;
	int p, rc;

	fprintf(stderr, "hkv-bench fs: %s ...\n", tdefs[t].name);
	rc = target_up(t, B.keys);
	if (rc) {
		for (p = 0; p < PIN_NR; p++)
			fail(&B.res[p][t][0], "start", rc);
		goto out_down;
	}
	snprintf(f, sizeof(f), "%s/f", cur.mnt);
	snprintf(d, sizeof(d), "%s/d", cur.mnt);
	for (p = 0; p < PIN_NR; p++) {
		struct result *r = B.res[p][t];

		if (!B.pins[p])
			continue;
		rc = apply_pin((enum pin)p);
		if (rc) {
			fail(&r[0], "pinning", rc);
			continue;
		}
		measure(BOP_ORC, f, (size_t)B.iters, warm, 0, &r[BOP_ORC]);
		measure(BOP_PREAD, f, (size_t)B.iters, warm, 0, &r[BOP_PREAD]);
		measure(BOP_STAT, f, (size_t)B.iters, warm, 0, &r[BOP_STAT]);
		if (tdefs[t].rofs)
			snprintf(r[BOP_CREATE].err, sizeof(r[BOP_CREATE].err), "n/a");
		else
			measure(BOP_CREATE, cur.mnt, (size_t)B.iters, 0, 0, &r[BOP_CREATE]);
		measure(BOP_CAT, f, (size_t)B.cat_runs, 0, 0, &r[BOP_CAT]);
		measure(BOP_READDIR, d, (size_t)B.dir_runs, 1, B.keys, &r[BOP_READDIR]);
	}
out_down:
	target_down();
	rmdir(cur.mnt);
	if (cur.data[0])
		rm_tree(cur.data);
}

/* --full: readdir of a directory of B.big entries, on the first requested placement */
static void run_target_big(int t)
{
	char d[PATH_MAX + 8];
	int p, rc;

	fprintf(stderr, "hkv-bench fs: %s, %" PRIu64 " entries ...\n", tdefs[t].name, B.big);
	for (p = 0; p < PIN_NR && !B.pins[p]; p++)
		;
	rc = target_up(t, B.big);
	if (!rc)
		rc = apply_pin((enum pin)p);
	if (rc) {
		fail(&B.big_res[t], "start", rc);
	} else {
		snprintf(d, sizeof(d), "%s/d", cur.mnt);
		measure(BOP_READDIR, d, (size_t)(B.dir_runs < 3 ? B.dir_runs : 3), 1, B.big,
			&B.big_res[t]);
	}
	target_down();
	rmdir(cur.mnt);
	if (cur.data[0])
		rm_tree(cur.data);
}

/* ---------------------------------------------------------------------------------------- */
/* report                                                                                    */

static void print_ratio(const struct result *r, const struct result *base)
{
	if (base && base->have && base->med > 0)
		printf(" %9.2fx", r->med / base->med);
	else
		printf(" %10s", "-");
}

static void print_row(int t, const struct result *rows, enum bop op, const struct result *r,
		      double scale)
{
	int fl = tdefs[t].floor;

	printf("%-14s", tdefs[t].name);
	if (!r->have && op == BOP_CREATE && tdefs[t].rofs) {
		printf(" %11s   (read-only mount)\n", "-");
		return;
	}
	if (!r->have) {
		printf(" failed (%s)\n", r->err[0] ? r->err : "not run");
		return;
	}
	printf(" %11.2f %11.2f", r->med * scale, r->p99 * scale);
	print_ratio(r, t ? &rows[0] : NULL);
	print_ratio(r, fl >= 0 ? &rows[fl * BOP_NR] : NULL);
	if (op == BOP_READDIR) {
		if (r->anon0 >= 0 && r->anon1 >= 0)
			printf("  %6ld %6ld %6ld   %7ld -> %7ld", r->anon_pre, r->anon0, r->anon1,
			       r->file0, r->file1);
	}
	printf("\n");
	(void)rows;
}

/* results of op @op for every target, as a flat [t * BOP_NR] view */
static void print_table(const struct result (*res)[BOP_NR], enum bop op, const char *title,
			bool ms)
{
	struct result flat[NTARGETS * BOP_NR];
	int t;

	for (t = 0; t < NTARGETS; t++)
		flat[t * BOP_NR] = res[t][op];
	printf("\n%s\n", title);
	printf("%-14s %11s %11s %10s %10s", "target", ms ? "median ms" : "median us",
	       ms ? "p99 ms" : "p99 us", "x tmpfs", "x floor");
	if (op == BOP_READDIR)
		printf("  RssAnon kB: start  warm    end   RssFile kB: warm -> end");
	printf("\n");
	for (t = 0; t < NTARGETS; t++)
		print_row(t, flat, op, &flat[t * BOP_NR], ms ? 0.001 : 1.0);
}

static void print_rq(const struct result (*res)[BOP_NR])
{
	static const enum bop ops[] = { BOP_ORC, BOP_PREAD, BOP_STAT, BOP_CREATE, BOP_READDIR };
	size_t k;
	int t, i;

	printf("\nFUSE requests per operation (floor: its own counters; hkvfs: .hkv/stats "
	       "counters, '-' = not counted)\n");
	printf("%-16s %-13s", "operation", "target");
	for (i = 0; i < RQ_NR; i++)
		printf(" %7s", rq_name[i]);
	printf("\n");
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		for (t = 1; t < NTARGETS; t++) {
			const struct result *r = &res[t][ops[k]];

			if (!r->have_rq)
				continue;
			printf("%-16s %-13s", bop_short[ops[k]], tdefs[t].name);
			for (i = 0; i < RQ_NR; i++) {
				if (r->rq[i] < 0)
					printf(" %7s", "-");
				else
					printf(" %7.2f", r->rq[i]);
			}
			printf("\n");
		}
	}
}

/* one "target" line: @x against @bound, "met" or by how much it is missed */
static void target_line(const char *what, double x, const char *of, double bound)
{
	printf("  %-44s %6.2fx %-13s (target <= %.2gx): %s", what, x, of, bound,
	       x <= bound ? "met" : "MISSED");
	if (x > bound)
		printf(" by %.0f%%", (x / bound - 1) * 100);
	printf("\n");
}

/*
 * The filesystem targets: the default mount's hot open+read+close against tmpfs (with the two
 * floors that bound it: the same requests, and OPEN + RELEASE alone), cache=noopen against its
 * floor, -o ro against tmpfs, readdir and create+write against the floor of the same mode.
 */
static void print_targets_fs(const struct result (*res)[BOP_NR])
{
	static const int modes[] = { T_HKVFS_ON, T_HKVFS_OFF };
	const struct result *tm = &res[0][BOP_ORC];
	const struct result *on = &res[T_HKVFS_ON][BOP_ORC];
	const struct result *no = &res[T_HKVFS_NOOPEN][BOP_ORC];
	const struct result *ro = &res[T_HKVFS_RO][BOP_ORC];
	const struct result *keep = &res[T_FLOOR_KEEP][BOP_ORC];
	const struct result *flon = &res[tdefs[T_HKVFS_ON].floor][BOP_ORC];
	const struct result *flno = &res[tdefs[T_HKVFS_NOOPEN].floor][BOP_ORC];
	enum bop ops[] = { BOP_READDIR, BOP_CREATE };
	char what[96];
	unsigned i, k;

	if (tm->have && on->have) {
		target_line("cache=on hot open+read+close", on->med / tm->med, "tmpfs", 3.0);
		if (flon->have && keep->have)
			printf("    its floors: floor-on (the same requests) %.2fx tmpfs, floor-keep "
			       "(OPEN + RELEASE, pages kept) %.2fx tmpfs\n", flon->med / tm->med,
			       keep->med / tm->med);
	}
	if (no->have && flno->have)
		target_line("cache=noopen hot open+read+close", no->med / flno->med,
			    tdefs[tdefs[T_HKVFS_NOOPEN].floor].name, 1.1);
	if (tm->have && ro->have)
		target_line("-o ro hot open+read+close", ro->med / tm->med, "tmpfs", 1.5);
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			const struct result *h = &res[modes[i]][ops[k]];
			const struct result *fl = &res[tdefs[modes[i]].floor][ops[k]];

			if (!h->have || !fl->have)
				continue;
			snprintf(what, sizeof(what), "%s %s", tdefs[modes[i]].name,
				 bop_short[ops[k]]);
			target_line(what, h->med / fl->med, tdefs[tdefs[modes[i]].floor].name,
				    ops[k] == BOP_READDIR ? 1.5 : 1.2);
		}
	}
}

static void print_targets(const struct result (*res)[BOP_NR])
{
	const struct result *tm = &res[0][BOP_ORC];
	const struct result *best = NULL;
	int t, bt = -1;
	enum bop op;

	printf("\ntargets\n");
	for (t = 0; t < NTARGETS; t++) {
		const struct result *r = &res[t][BOP_ORC];

		if (tdefs[t].kind != TK_HKVFS || t == T_HKVFS_OFF)
			continue;
		if (r->have && (!best || r->med < best->med)) {
			best = r;
			bt = t;
		}
	}
	if (best && tm->have) {
		double x = best->med / tm->med;

		printf("  hot cached open+read+close, best cached hkvfs mode (%s): %.2f us = %.2fx "
		       "tmpfs %.2f us (target <= 1.5x): %s",
		       tdefs[bt].name, best->med, x, tm->med, x <= 1.5 ? "met" : "MISSED");
		if (x > 1.5)
			printf(" by %.0f%% (%.2f us over)", (x / 1.5 - 1) * 100,
			       best->med - 1.5 * tm->med);
		printf("\n");
	}
	print_targets_fs(res);
	for (op = 0; op < BOP_NR; op++) {
		const struct result *h = &res[T_HKVFS_OFF][op];
		const struct result *fl = &res[tdefs[T_HKVFS_OFF].floor][op];
		double x;

		if (!h->have || !fl->have)
			continue;
		x = h->med / fl->med;
		printf("  uncached (cache=off) %-16s %5.2fx floor-off (target <= 1.2x): %s",
		       bop_short[op], x, x <= 1.2 ? "met" : "MISSED");
		if (x > 1.2)
			printf(" by %.0f%%", (x / 1.2 - 1) * 100);
		printf("\n");
	}
}

static void print_big(void)
{
	char title[160];
	struct result res[NTARGETS][BOP_NR];
	int t;

	memset(res, 0, sizeof(res));
	for (t = 0; t < NTARGETS; t++)
		res[t][BOP_READDIR] = B.big_res[t];
	snprintf(title, sizeof(title), "readdir of a directory of %" PRIu64
		 " keys, whole listing (constant daemon memory)", B.big);
	print_table((const struct result (*)[BOP_NR])res, BOP_READDIR, title, true);
	printf("\ntargets\n");
	for (t = 0; t < NTARGETS; t++) {
		const struct result *r = &B.big_res[t];
		const struct result *s = &B.res[0][t][BOP_READDIR];
		int p;

		for (p = 0; p < PIN_NR && !B.pins[p]; p++)
			;
		s = &B.res[p][t][BOP_READDIR];
		if (tdefs[t].kind != TK_HKVFS || !r->have || r->anon0 < 0)
			continue;
		printf("  readdir %" PRIu64 " keys, %s: heap (RssAnon) %ld kB after the listings, "
		       "%+ld kB over the %d timed ones (%" PRIu64 " keys: %ld kB, %+ld kB) "
		       "(target: constant memory): %s\n",
		       B.big, tdefs[t].name, r->anon1, r->anon1 - r->anon0,
		       B.dir_runs < 3 ? B.dir_runs : 3, B.keys, s->have ? s->anon1 : -1,
		       s->have ? s->anon1 - s->anon0 : 0,
		       r->anon1 - r->anon0 <= 1024 ? "met" : "MISSED");
	}
}

static void report(double secs)
{
	static const char *const pin_desc[PIN_NR] = {
		"this process and the daemon both on CPU 0",
		"this process on CPU 0, the daemon on CPU 1",
		"nothing pinned",
	};
	bool first = true;
	int p;
	enum bop op;

	for (p = 0; p < PIN_NR; p++) {
		const struct result (*res)[BOP_NR] = (const struct result (*)[BOP_NR])B.res[p];
		char title[200];

		if (!B.pins[p])
			continue;
		printf("\n== pin %s: %s ==\n", pin_name[p], pin_desc[p]);
		for (op = 0; op < BOP_NR; op++) {
			snprintf(title, sizeof(title), "%s [pin %s]", bop_title[op], pin_name[p]);
			if (op == BOP_READDIR)
				snprintf(title, sizeof(title), "%s of %" PRIu64 " keys [pin %s]",
					 bop_title[op], B.keys, pin_name[p]);
			print_table(res, op, title, op == BOP_READDIR || op == BOP_CAT);
		}
		print_targets(res);
		/* the kernel sends the same requests wherever the daemon runs: show them once */
		if (first) {
			print_rq(res);
			first = false;
		}
	}
	if (B.full)
		print_big();
	printf("\ntotal time %.1f s\n", secs);
}

/* ---------------------------------------------------------------------------------------- */
/* set-up                                                                                    */

static void usage(FILE *f)
{
	fputs("Usage: hkv-bench fs [OPTIONS]\n"
	      "tmpfs, a storage-free FUSE floor and hkvfs in each cache mode (off, on, noopen) and -o ro,\n"
	      "mounted and measured in one run. Needs root and /dev/fuse (exit 77 without).\n"
	      "  --data DIR        scratch directory is made in DIR (default /var/tmp)\n"
	      "  --keys N          entries of the listed directory (default 100000)\n"
	      "  --iters N         timed calls per operation (default 10000)\n"
	      "  --cat-runs N      cat processes per target (default 200)\n"
	      "  --dir-runs N      listings per target (default 5)\n"
	      "  --pin P[,P]       same, cross, none (default same,cross)\n"
	      "  --full            also list a directory of --big keys (memory stays constant)\n"
	      "  --big N           keys of the --full directory (default 1000000)\n"
	      "  --quick           2000 keys, 300 calls, 10 cat runs, 2 listings (smoke run)\n"
	      "  --hkvfs PATH      hkvfs daemon (default: ../fs/hkvfs next to this binary)\n"
	      "  --floor PATH      hkv-fuse-floor (default: next to this binary)\n"
	      "  --floor-single    run the floor's single-threaded loop\n"
	      "  --stall S         abort a target whose calls make no progress for S s (30)\n",
	      f);
}

static int parse_pins(const char *s)
{
	char buf[64], *tok, *save = NULL;
	int p;

	memset(B.pins, 0, sizeof(B.pins));
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (p = 0; p < PIN_NR && strcmp(tok, pin_name[p]); p++)
			;
		if (p == PIN_NR)
			return -EINVAL;
		B.pins[p] = true;
	}
	return 0;
}

static void find_bins(void)
{
	char exe[2048], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = 0;
	if (!B.floor_bin[0])
		snprintf(B.floor_bin, sizeof(B.floor_bin), "%s/hkv-fuse-floor", exe);
	if (!B.hkvfs_bin[0])
		snprintf(B.hkvfs_bin, sizeof(B.hkvfs_bin), "%s/../fs/hkvfs", exe);
}

/* 0 if everything the benchmark needs is here, else a reason to skip */
static const char *check_env(void)
{
	char probe[PATH_MAX + 16];
	int fd;

	if (geteuid() != 0)
		return "needs root (mount of tmpfs and FUSE)";
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return "/dev/fuse is not usable";
	close(fd);
	snprintf(probe, sizeof(probe), "%s/probe", B.scratch);
	if (mkdir(probe, 0755))
		return "cannot make a probe directory";
	if (mount("hkv-bench", probe, "tmpfs", 0, "size=1m")) {
		rmdir(probe);
		return "cannot mount tmpfs";
	}
	umount2(probe, 0);
	rmdir(probe);
	return NULL;
}

/* 0 if both daemons are there, else a message (a broken build is an error, not a skip) */
static const char *check_bins(void)
{
	static char why[PATH_MAX + 64];

	if (access(B.floor_bin, X_OK)) {
		snprintf(why, sizeof(why), "no floor daemon at %s (--floor)", B.floor_bin);
		return why;
	}
	if (access(B.hkvfs_bin, X_OK)) {
		snprintf(why, sizeof(why), "no hkvfs daemon at %s (--hkvfs)", B.hkvfs_bin);
		return why;
	}
	return NULL;
}

/**
 * bench_fs_main() - `hkv-bench fs`: set up every target, measure, print the tables.
 * @argc, @argv: the sub-command's arguments (argv[0] is "fs"); see usage().
 *
 * Runs in the calling thread (plus a watchdog thread it joins before returning); mounts and
 * unmounts, starts and stops daemons as children, changes this thread's CPU affinity (reset
 * to all CPUs before printing), installs handlers for SIGINT, SIGTERM and SIGHUP that kill the
 * current daemon and detach its mount.
 * Return: 0 when every row was measured; 1 if a row failed or hung; 2 on bad usage;
 * 77 (and a "SKIP:" line) without root, /dev/fuse or the right to mount tmpfs.
 */
int bench_fs_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "data", required_argument, NULL, 'D' },
		{ "keys", required_argument, NULL, 'k' },
		{ "iters", required_argument, NULL, 'i' },
		{ "cat-runs", required_argument, NULL, 'c' },
		{ "dir-runs", required_argument, NULL, 'r' },
		{ "pin", required_argument, NULL, 'p' },
		{ "full", no_argument, NULL, 'F' },
		{ "big", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "hkvfs", required_argument, NULL, 'H' },
		{ "floor", required_argument, NULL, 'L' },
		{ "floor-single", no_argument, NULL, 'S' },
		{ "stall", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long keys = -1, iters = -1, cat_runs = -1, dir_runs = -1;
	char tmpl[PATH_MAX + 32];
	const char *why;
	uint64_t t0 = now_ns();
	int c, t, ret = 1;

	memset(&B, 0, sizeof(B));
	snprintf(B.data, sizeof(B.data), "/var/tmp");
	B.big = 1000000;
	B.pins[PIN_SAME] = B.pins[PIN_CROSS] = true;
	wd.stall_s = 30;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			snprintf(B.data, sizeof(B.data), "%s", optarg);
			break;
		case 'k':
			keys = atoll(optarg);
			break;
		case 'i':
			iters = atoll(optarg);
			break;
		case 'c':
			cat_runs = atoll(optarg);
			break;
		case 'r':
			dir_runs = atoll(optarg);
			break;
		case 'p':
			if (parse_pins(optarg)) {
				fprintf(stderr, "hkv-bench fs: --pin takes same, cross, none\n");
				return 2;
			}
			break;
		case 'F':
			B.full = true;
			break;
		case 'b':
			B.big = (uint64_t)atoll(optarg);
			break;
		case 'q':
			B.quick = true;
			break;
		case 'H':
			snprintf(B.hkvfs_bin, sizeof(B.hkvfs_bin), "%s", optarg);
			break;
		case 'L':
			snprintf(B.floor_bin, sizeof(B.floor_bin), "%s", optarg);
			break;
		case 'S':
			B.floor_single = true;
			break;
		case 's':
			wd.stall_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	B.keys = keys > 0 ? (uint64_t)keys : B.quick ? 2000 : 100000;
	B.iters = iters > 0 ? (int)iters : B.quick ? 300 : 10000;
	B.cat_runs = cat_runs > 0 ? (int)cat_runs : B.quick ? 10 : 200;
	B.dir_runs = dir_runs > 0 ? (int)dir_runs : B.quick ? 2 : 5;
	B.ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (B.ncpu < 2 && B.pins[PIN_CROSS]) {
		fprintf(stderr, "hkv-bench fs: one CPU online, no cross-CPU rows\n");
		B.pins[PIN_CROSS] = false;
		if (!B.pins[PIN_SAME] && !B.pins[PIN_NONE])
			B.pins[PIN_SAME] = true;
	}
	find_bins();

	snprintf(tmpl, sizeof(tmpl), "%s/hkv-benchfs.XXXXXX", B.data);
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "hkv-bench fs: cannot make a directory in %s: %s\n", B.data,
			strerror(errno));
		return 1;
	}
	{
		char real[PATH_MAX];

		if (!realpath(tmpl, real) || strlen(real) >= sizeof(B.scratch)) {
			fprintf(stderr, "hkv-bench fs: %s: path too long\n", tmpl);
			rmdir(tmpl);
			return 1;
		}
		memcpy(B.scratch, real, strlen(real) + 1);
	}
	why = check_env();
	if (why) {
		printf("hkv-bench fs: SKIP: %s\n", why);
		rmdir(B.scratch);
		return SKIP_EXIT;
	}
	why = check_bins();
	if (why) {
		fprintf(stderr, "hkv-bench fs: %s\n", why);
		rmdir(B.scratch);
		return 1;
	}
	B.nsamples = (size_t)B.iters;
	if (B.nsamples < (size_t)B.cat_runs)
		B.nsamples = (size_t)B.cat_runs;
	if (B.nsamples < (size_t)B.dir_runs)
		B.nsamples = (size_t)B.dir_runs;
	if (B.nsamples < 100)
		B.nsamples = 100;
	B.samples = calloc(B.nsamples, sizeof(*B.samples));
	if (!B.samples) {
		fprintf(stderr, "hkv-bench fs: out of memory\n");
		goto out_scratch;
	}
	if (wd_start()) {
		fprintf(stderr, "hkv-bench fs: cannot start the watchdog thread\n");
		goto out_samples;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	printf("hkv-bench fs: 64 B files, d of %" PRIu64 " keys, %d calls per operation, "
	       "cat %d runs, readdir %d runs, %d CPUs online\n",
	       B.keys, B.iters, B.cat_runs, B.dir_runs, B.ncpu);
	printf("scratch %s (%s); hkvfs %s -f -o cache=MODE (other options default: "
	       "sync=everysec, timeout=3600)\n",
	       B.scratch, fs_name(B.scratch), B.hkvfs_bin);
	printf("floor %s (%s)\n", B.floor_bin,
	       B.floor_single ? "single-threaded loop" :
	       "multi-threaded loop configured as hkvfs's");
	printf("latency per call; x tmpfs = median / tmpfs median; x floor = median / median "
	       "of the floor in the same cache mode\n");
	fflush(stdout);

	for (t = 0; t < NTARGETS; t++)
		run_target(t);
	if (B.full)
		for (t = 0; t < NTARGETS; t++)
			run_target_big(t);
	pin_task(0, -1);
	report((double)(now_ns() - t0) / 1e9);
	ret = 0;
	/* every row must have been measured: a failed one is an error of the run */
	for (t = 0; t < NTARGETS; t++) {
		int p;
		enum bop op;

		for (p = 0; p < PIN_NR; p++)
			for (op = 0; op < BOP_NR; op++)
				if (B.pins[p] && !B.res[p][t][op].have &&
				    !(op == BOP_CREATE && tdefs[t].rofs))
					ret = 1;
		if (B.full && !B.big_res[t].have)
			ret = 1;
	}
	wd_stop();
out_samples:
	free(B.samples);
out_scratch:
	rm_tree(B.scratch);
	return ret;
}
