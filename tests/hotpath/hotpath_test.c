// SPDX-License-Identifier: MIT
/*
 * hotpath_test.c - checks of the hot path (hkvfs + /dev/hkv + libhkv-preload.so) inside the
 * test VM. Dynamically linked on purpose: it runs with LD_PRELOAD=libhkv-preload.so, so its
 * open()/fopen() calls are the shim's. Run by tests/hotpath/init.sh.
 *
 *   hotpath-test lin MNT SECONDS NKEYS WRITERS READERS cache|fuse
 *	Linearizability. Writer threads rewrite keys lin-NN with increasing counters (write +
 *	close, or write + fsync); reader threads (half of them in a fork()ed process) read
 *	random keys through the shim with open()/read() and fopen()/fgets(). Shared memory
 *	holds, per key, the last counter whose write was acknowledged and the last counter a
 *	writer started. A reader samples the first before its open and the second after its
 *	read: the value it reads must lie between them (never older than the last write
 *	acknowledged before its open began, never one that no writer started, never torn).
 *	"cache": at least 5% of the reads must be served by the kernel cache (the descriptor
 *	lives on another device than the mount, and the module's hit counter grew as much);
 *	"fuse": none may be.
 *
 *   hotpath-test warm MNT SECONDS PATH...
 *	Read each PATH until one pass has served every one from the kernel cache.
 *
 *   hotpath-test perm MNT
 *	A 0600 key owned by uid 1000: the owner reads it from the kernel cache; uid 1001 gets
 *	EACCES through the shim and straight from the device (HKV_IOC_GET, HKV_IOC_OPEN) while
 *	the entry is cached.
 *
 *   hotpath-test dirperm MNT
 *	A key in directory pd (0755) is read by uid 1000 from the kernel cache; then pd becomes
 *	0700: uid 1000 must get EACCES through the shim at once, as through FUSE, and the entry
 *	must be gone from the module.
 *
 *   hotpath-test noatime MNT
 *	A root-owned 0644 key served from the kernel cache: uid 1000 opening it with O_NOATIME
 *	gets EPERM (the VFS rule for a non-owner), and without O_NOATIME reads it.
 *
 *   hotpath-test ttl MNT
 *	A hot key gets an expiry (user.hkv.expire_at, 2 s ahead): it is served from the kernel
 *	cache with that expiry until then, and never - by the cache or by FUSE - to an open that
 *	began after it.
 *
 *   hotpath-test hits | items
 *	Print the module's hit counter, or the number of cached entries.
 *
 * Waiting: promotion is asynchronous (the daemon's promotion thread), so "warm" loops reading
 * until the effect is observed, bounded by a deadline; nothing waits for a fixed time to
 * assume an effect. Exit: 0 pass, 1 fail (with a message).
 */
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "hotpath_common.h"

#define MAXK 64
#define VLEN 64

static const char *mnt;
static dev_t mdev;

static void key_path(char *buf, size_t sz, int k)
{
	snprintf(buf, sz, "%s/lin-%02d", mnt, k);
}

/* The 64-byte value of key @k at counter @c: "lin-NN <20 digits>....\n". */
static void make_value(char *v, int k, uint64_t c)
{
	int n = snprintf(v, VLEN + 1, "lin-%02d %020" PRIu64 " ", k, c);

	memset(v + n, '.', VLEN - 1 - (size_t)n);
	v[VLEN - 1] = '\n';
	v[VLEN] = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* lin                                                                                        */

struct shared {
	_Atomic uint64_t started[MAXK];
	_Atomic uint64_t acked[MAXK];
	atomic_uint_fast64_t writes, reads, served, stale, bad;
	atomic_int stop;
	char msg[512];
	atomic_flag msg_taken;
};

static struct shared *sh;
static int nkeys, nwriters;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;

	if (atomic_flag_test_and_set(&sh->msg_taken))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
	va_end(ap);
}

static int write_value(int k, uint64_t c, bool use_fsync)
{
	char path[512], v[VLEN + 1];
	int fd;

	key_path(path, sizeof(path), k);
	make_value(v, k, c);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, v, VLEN) != VLEN) {
		close(fd);
		return -EIO;
	}
	if (use_fsync) {
		if (fsync(fd)) {
			close(fd);
			return -errno;
		}
		/* fsync returned: the value is committed, the write is acknowledged */
		atomic_store_explicit(&sh->acked[k], c, memory_order_release);
	}
	if (close(fd))
		return -errno;
	atomic_store_explicit(&sh->acked[k], c, memory_order_release);
	return 0;
}

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct timespec gap = { 0, 2000000 };

	for (uint64_t round = 1; !atomic_load(&sh->stop); round++) {
		for (int k = w; k < nkeys; k += nwriters) {
			/* keys written at different rates: some stay cached for a while */
			if (round % (uint64_t)(k % 4 + 1))
				continue;
			uint64_t c = atomic_load(&sh->started[k]) + 1;
			int rc;

			atomic_store_explicit(&sh->started[k], c, memory_order_release);
			rc = write_value(k, c, round % 3 == 0);
			if (rc) {
				report("write lin-%02d: %s", k, strerror(-rc));
				atomic_fetch_add(&sh->bad, 1);
			} else {
				atomic_fetch_add(&sh->writes, 1);
			}
		}
		nanosleep(&gap, NULL); /* pacing only: readers and promotions get room */
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(intptr_t)arg;
	char path[512], buf[VLEN * 2 + 1];

	while (!atomic_load(&sh->stop)) {
		int k = (int)(rng_next(&seed) % (uint64_t)nkeys), fd;
		bool use_stdio = rng_next(&seed) % 4 == 0, served;
		uint64_t lo, hi, v;
		ssize_t n = 0;
		char name[8];

		key_path(path, sizeof(path), k);
		lo = atomic_load_explicit(&sh->acked[k], memory_order_acquire);
		if (use_stdio) {
			FILE *f = fopen(path, "r");

			if (!f) {
				report("fopen lin-%02d: %s", k, strerror(errno));
				atomic_fetch_add(&sh->bad, 1);
				continue;
			}
			served = served_by_cache(fileno(f), mdev);
			if (fgets(buf, sizeof(buf), f))
				n = (ssize_t)strlen(buf);
			if (fgetc(f) != EOF)
				n = -1; /* more than one line: not one value */
			fclose(f);
		} else {
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				report("open lin-%02d: %s", k, strerror(errno));
				atomic_fetch_add(&sh->bad, 1);
				continue;
			}
			served = served_by_cache(fd, mdev);
			for (ssize_t r; n < (ssize_t)sizeof(buf) - 1 &&
			     (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0;)
				n += r;
			close(fd);
		}
		hi = atomic_load_explicit(&sh->started[k], memory_order_acquire);
		atomic_fetch_add(&sh->reads, 1);
		if (served)
			atomic_fetch_add(&sh->served, 1);
		buf[n < 0 ? 0 : n] = 0;
		snprintf(name, sizeof(name), "lin-%02d", k);
		if (n != VLEN || strncmp(buf, name, 6) || buf[VLEN - 1] != '\n' ||
		    sscanf(buf + 7, "%20" SCNu64, &v) != 1) {
			report("lin-%02d: torn or foreign value (%zd bytes, %s): %.64s", k, n,
			       served ? "kernel cache" : "FUSE", buf);
			atomic_fetch_add(&sh->bad, 1);
			continue;
		}
		if (v < lo) {
			report("lin-%02d: STALE read %" PRIu64 " after write %" PRIu64
			       " was acknowledged (%s)", k, v, lo,
			       served ? "kernel cache" : "FUSE");
			atomic_fetch_add(&sh->stale, 1);
		} else if (v > hi) {
			report("lin-%02d: value %" PRIu64 " no writer started (last %" PRIu64 ")",
			       k, v, hi);
			atomic_fetch_add(&sh->bad, 1);
		}
	}
	return NULL;
}

static int run_readers(int first, int n, pthread_t *t)
{
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, reader, (void *)(intptr_t)(first + i + 1)))
			return -1;
	return 0;
}

/* Count "yes" lines of MNT/.hkv/hot (keys the daemon says are in the kernel cache). */
static int hot_yes(void)
{
	char path[512], line[2048];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.hkv/hot", mnt);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "\tyes\t") != NULL;
	fclose(f);
	return n;
}

static int cmd_lin(int secs, int keys, int writers, int readers, bool expect_cache)
{
	pthread_t wt[16], rt[16];
	int own = readers - readers / 2, yes_max = 0, st, rc = 0;
	uint64_t hits0, hits1;
	int64_t end;
	pid_t kid;

	if (keys < 1 || keys > MAXK || writers < 1 || writers > 16 || readers < 2 ||
	    readers > 16 || secs < 1)
		return 2;
	nkeys = keys;
	nwriters = writers;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	for (int k = 0; k < nkeys; k++) {
		char path[512], v[VLEN + 1];
		int fd;

		key_path(path, sizeof(path), k);
		make_value(v, k, 0);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, v, VLEN) != VLEN || close(fd)) {
			printf("FAIL lin: cannot create %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	hits0 = kc_hits();
	kid = fork();
	if (kid < 0)
		return 1;
	if (kid == 0) {
		pthread_t kt[16];
		int n = readers / 2;

		if (run_readers(100, n, kt))
			_exit(1);
		for (int i = 0; i < n; i++)
			pthread_join(kt[i], NULL);
		_exit(0);
	}
	if (run_readers(0, own, rt))
		return 1;
	for (int i = 0; i < writers; i++)
		if (pthread_create(&wt[i], NULL, writer, (void *)(intptr_t)i))
			return 1;
	end = mono_ns() + (int64_t)secs * 1000000000;
	while (mono_ns() < end) {
		struct timespec tick = { 0, 100000000 };
		int y = hot_yes();

		if (y > yes_max)
			yes_max = y;
		nanosleep(&tick, NULL); /* sampling period of .hkv/hot, not a synchronisation */
	}
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < writers; i++)
		pthread_join(wt[i], NULL);
	for (int i = 0; i < own; i++)
		pthread_join(rt[i], NULL);
	if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
	hits1 = kc_hits();
	printf("lin: %ds keys=%d writers=%d readers=%d writes=%" PRIu64 " reads=%" PRIu64
	       " served-by-cache=%" PRIu64 " module-hits=+%" PRIu64 " hot-yes-max=%d stale=%"
	       PRIu64 " bad=%" PRIu64 "\n", secs, keys, writers, readers,
	       (uint64_t)sh->writes, (uint64_t)sh->reads, (uint64_t)sh->served,
	       hits1 - hits0, yes_max, (uint64_t)sh->stale, (uint64_t)sh->bad);
	if (sh->msg[0])
		printf("lin: first problem: %s\n", sh->msg);
	if (sh->stale || sh->bad || !sh->writes || !sh->reads)
		rc = 1;
	/* a run where the cache served (almost) nothing has not tested the cache */
	if (expect_cache && (sh->served * 20 < sh->reads || hits1 - hits0 < sh->served)) {
		printf("lin: under 5%% of the reads were served by the kernel cache: the run "
		       "proves little\n");
		rc = 1;
	}
	if (!expect_cache && sh->served) {
		printf("lin: reads were served by a kernel cache that should not exist\n");
		rc = 1;
	}
	printf("%s lin\n", rc ? "FAIL" : "PASS");
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* warm, perm, ttl                                                                            */

/* Open+read+close @path once. Return: bytes read (into @buf) or -errno; *@served. */
static ssize_t read_once(const char *path, char *buf, size_t sz, bool *served)
{
	ssize_t n = 0, r;
	int fd = open(path, O_RDONLY);

	*served = false;
	if (fd < 0)
		return -errno;
	*served = served_by_cache(fd, mdev);
	while (n < (ssize_t)sz - 1 && (r = read(fd, buf + n, sz - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

/* Read every path until one pass is served entirely by the cache, or @secs pass. */
static int warm(int secs, int n, char **paths)
{
	int64_t end = mono_ns() + (int64_t)secs * 1000000000;
	char buf[4096];

	while (mono_ns() < end) {
		bool all = true, served;

		for (int i = 0; i < n; i++) {
			ssize_t r = read_once(paths[i], buf, sizeof(buf), &served);

			if (r < 0) {
				printf("warm: %s: %s\n", paths[i], strerror((int)-r));
				return 1;
			}
			all &= served;
		}
		if (all)
			return 0;
	}
	printf("warm: not every key reached the kernel cache within %ds\n", secs);
	return 1;
}

/* The mount's namespace id, from .hkv/config. */
static uint64_t mount_ns(void)
{
	char path[512], line[256];
	uint64_t ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.hkv/config", mnt);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "ns=", 3))
			ns = strtoull(line + 3, NULL, 0);
	fclose(f);
	return ns;
}

/* HKV_IOC_GET of @key through a descriptor of our own: 0 or -errno; @g filled. */
static int dev_get(uint64_t ns, const char *key, struct hkv_get *g, char *buf, size_t sz)
{
	int fd = open("/dev/hkv", O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	memset(g, 0, sizeof(*g));
	g->size = sizeof(*g);
	g->ns = ns;
	g->key_ptr = (uintptr_t)key;
	g->key_len = (uint32_t)strlen(key);
	g->buf_ptr = (uintptr_t)buf;
	g->buf_len = (uint32_t)sz;
	if (ioctl(fd, HKV_IOC_GET, g))
		rc = -errno;
	close(fd);
	return rc;
}

static int dev_open(uint64_t ns, const char *key)
{
	struct hkv_open o = { .size = sizeof(o), .ns = ns, .key_ptr = (uintptr_t)key,
			      .key_len = (uint32_t)strlen(key) };
	int fd = open("/dev/hkv", O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, HKV_IOC_OPEN, &o);
	r = r < 0 ? -errno : (close(r), 0);
	close(fd);
	return r;
}

static int become(uid_t uid, gid_t gid)
{
	return setgroups(0, NULL) || setgid(gid) || setuid(uid) ? -1 : 0;
}

/* Run @fn(@arg) in a child with credentials @uid/@gid; return its exit status. */
static int as_user(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (become(uid, gid))
			_exit(99);
		fflush(stdout);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static const char secret_value[] = "the owner's secret value, 0600, served only to uid 1000\n";

/*
 * Warm @path, then read it once: 0 if the read was served from the cache with exactly @want,
 * 1 otherwise (and a line naming @what).
 */
static int read_served(char *path, const char *want, const char *what)
{
	char buf[256];
	bool served;
	ssize_t n;

	if (warm(10, 1, &path))
		return 1;
	n = read_once(path, buf, sizeof(buf), &served);
	if (n != (ssize_t)strlen(want) || strcmp(buf, want) || !served) {
		printf("%s: read %zd bytes (%s)\n", what, n, served ? "cache" : "FUSE");
		return 1;
	}
	return 0;
}

static int owner_reads(void *arg)
{
	return read_served(arg, secret_value, "perm: owner");
}

/* 0: refused everywhere with EACCES; 2: the entry was not cached (inconclusive); 1: fail. */
static int intruder_reads(void *arg)
{
	char *path = arg, buf[256];
	uint64_t ns = mount_ns();
	struct hkv_get g;
	bool served;
	ssize_t n = read_once(path, buf, sizeof(buf), &served);
	int rg = dev_get(ns, "secret", &g, buf, sizeof(buf)), ro = dev_open(ns, "secret");

	if (rg == -ENOENT || ro == -ENOENT)
		return 2;
	if (n != -EACCES || rg != -EACCES || ro != -EACCES) {
		printf("perm: uid 1001 got open=%zd get=%d open-ioctl=%d (want -%d each)\n", n, rg,
		       ro, EACCES);
		return 1;
	}
	return 0;
}

static int cmd_perm(void)
{
	char path[512], buf[256];
	uint64_t ns = mount_ns();
	struct hkv_get g;
	int fd, rc = 1;

	snprintf(path, sizeof(path), "%s/secret", mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, secret_value, strlen(secret_value)) < 0 || close(fd) ||
	    chown(path, 1000, 1000) || chmod(path, 0600)) {
		printf("FAIL perm: setup: %s\n", strerror(errno));
		return 1;
	}
	for (int attempt = 0; attempt < 3 && rc; attempt++) {
		int before, after, r;

		if (as_user(1000, 1000, owner_reads, path)) {
			printf("FAIL perm: the owner could not read the key from the cache\n");
			return 1;
		}
		before = dev_get(ns, "secret", &g, buf, sizeof(buf));
		if (!before && (g.uid != 1000 || g.mode != 0600)) {
			printf("FAIL perm: cached as uid %u mode %o\n", g.uid, g.mode);
			return 1;
		}
		r = as_user(1001, 1001, intruder_reads, path);
		after = dev_get(ns, "secret", &g, buf, sizeof(buf));
		if (r == 1 || r < 0) {
			printf("FAIL perm\n");
			return 1;
		}
		if (r == 0 && !before && !after)
			rc = 0;
	}
	printf("%s perm\n", rc ? "FAIL" : "PASS");
	return rc;
}


static const char dir_value[] = "a value in directory pd\n";

static int dir_reader_served(void *arg)
{
	return read_served(arg, dir_value, "dirperm: reader");
}

static int dir_reader_refused(void *arg)
{
	char buf[256];
	bool served;
	ssize_t n = read_once(arg, buf, sizeof(buf), &served);

	if (n != -EACCES) {
		printf("dirperm: uid 1000 read %zd (%s) after chmod 700 of the directory, "
		       "want -%d\n", n, served ? "cache" : "FUSE", EACCES);
		return 1;
	}
	return 0;
}

static int cmd_dirperm(void)
{
	char dir[512], path[512], buf[256];
	uint64_t ns = mount_ns();
	struct hkv_get g;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/pd", mnt);
	snprintf(path, sizeof(path), "%s/pd/k", mnt);
	if ((mkdir(dir, 0755) && errno != EEXIST) || chmod(dir, 0755)) {
		printf("FAIL dirperm: setup: %s\n", strerror(errno));
		return 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, dir_value, strlen(dir_value)) < 0 || close(fd)) {
		printf("FAIL dirperm: setup: %s\n", strerror(errno));
		return 1;
	}
	if (as_user(1000, 1000, dir_reader_served, path)) {
		printf("FAIL dirperm: uid 1000 was not served pd/k from the cache\n");
		return 1;
	}
	if (dev_get(ns, "pd/k", &g, buf, sizeof(buf))) {
		printf("FAIL dirperm: pd/k is not in the kernel cache\n");
		return 1;
	}
	if (chmod(dir, 0700)) {
		printf("FAIL dirperm: chmod: %s\n", strerror(errno));
		return 1;
	}
	rc = as_user(1000, 1000, dir_reader_refused, path);
	if (!rc && dev_get(ns, "pd/k", &g, buf, sizeof(buf)) != -ENOENT) {
		printf("dirperm: pd/k still cached after chmod 700 of pd\n");
		rc = 1;
	}
	/* searchable again: promoted again */
	if (!rc && (chmod(dir, 0755) || as_user(1000, 1000, dir_reader_served, path))) {
		printf("dirperm: pd/k not served again after chmod 755\n");
		rc = 1;
	}
	printf("%s dirperm\n", rc ? "FAIL" : "PASS");
	return rc ? 1 : 0;
}

static const char na_value[] = "root's key, 0644\n";

static int noatime_reader(void *arg)
{
	char *path = arg, buf[256];
	bool served;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOATIME);

	if (fd >= 0 || errno != EPERM) {
		printf("noatime: uid 1000 open(O_NOATIME) gave %d (%s), want EPERM\n", fd,
		       fd >= 0 ? "a descriptor" : strerror(errno));
		return 1;
	}
	n = read_once(path, buf, sizeof(buf), &served);
	if (n != (ssize_t)strlen(na_value) || !served) {
		printf("noatime: uid 1000 plain open read %zd (%s)\n", n, served ? "cache" : "FUSE");
		return 1;
	}
	return 0;
}

static int cmd_noatime(void)
{
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/na", mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, na_value, strlen(na_value)) < 0 || close(fd) ||
	    chmod(path, 0644)) {
		printf("FAIL noatime: setup: %s\n", strerror(errno));
		return 1;
	}
	{
		char *p = path;

		if (warm(10, 1, &p)) {
			printf("FAIL noatime: na never reached the cache\n");
			return 1;
		}
	}
	rc = as_user(1000, 1000, noatime_reader, path);
	printf("%s noatime\n", rc ? "FAIL" : "PASS");
	return rc ? 1 : 0;
}

static int cmd_ttl(void)
{
	char path[512], buf[256], val[32];
	uint64_t ns = mount_ns();
	int64_t exp;
	int served_before = 0, fuse_after = 0, cache_after = 0, early = 0, gets_ok = 0;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/ttlk", mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "expiring value\n", 15) != 15 || close(fd)) {
		printf("FAIL ttl: setup: %s\n", strerror(errno));
		return 1;
	}
	{
		char *p = path;

		if (warm(10, 1, &p)) {
			printf("FAIL ttl: never cached\n");
			return 1;
		}
	}
	exp = real_ms() + 2000;
	snprintf(val, sizeof(val), "%" PRId64, exp);
	if (setxattr(path, "user.hkv.expire_at", val, strlen(val), 0)) {
		printf("FAIL ttl: setxattr: %s\n", strerror(errno));
		return 1;
	}
	while (real_ms() <= exp + 700) {
		int64_t t0 = real_ms();
		bool served;
		ssize_t n = read_once(path, buf, sizeof(buf), &served);
		struct hkv_get g;

		if (n >= 0 && t0 > exp) {
			printf("ttl: served %ld ms after expiry by %s\n", (long)(t0 - exp),
			       served ? "the kernel cache" : "FUSE");
			if (served)
				cache_after++;
			else
				fuse_after++;
		} else if (n < 0 && n != -ENOENT) {
			printf("ttl: read: %s\n", strerror((int)-n));
			rc = 1;
		} else if (n < 0 && t0 < exp - 100) {
			early++;
		} else if (n >= 0 && served) {
			served_before++;
			if (!dev_get(ns, "ttlk", &g, buf, sizeof(buf)) &&
			    g.expire_ms == (uint64_t)exp)
				gets_ok++;
		}
	}
	{
		struct hkv_get g;
		int r = dev_get(ns, "ttlk", &g, buf, sizeof(buf));

		if (r != -ENOENT) {
			printf("ttl: the device still returns the key after expiry (%d)\n", r);
			rc = 1;
		}
	}
	printf("ttl: served-by-cache-before-expiry=%d (device reported the expiry %d times) "
	       "after-expiry: cache=%d fuse=%d early-ENOENT=%d\n", served_before, gets_ok,
	       cache_after, fuse_after, early);
	if (cache_after || fuse_after || early || !served_before || !gets_ok)
		rc = 1;
	printf("%s ttl\n", rc ? "FAIL" : "PASS");
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "hits")) {
		printf("%" PRIu64 "\n", kc_hits());
		return 0;
	}
	if (!strcmp(cmd, "items")) {
		struct hkv_stat st;

		if (kc_stat(&st))
			return 1;
		printf("%" PRIu64 "\n", (uint64_t)st.items);
		return 0;
	}
	if (argc < 3)
		goto usage;
	mnt = argv[2];
	mdev = dev_of(mnt);
	if (!mdev) {
		printf("FAIL: %s: %s\n", mnt, strerror(errno));
		return 1;
	}
	if (!strcmp(cmd, "lin") && argc == 8)
		return cmd_lin(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
			       !strcmp(argv[7], "cache"));
	if (!strcmp(cmd, "warm") && argc >= 5)
		return warm(atoi(argv[3]), argc - 4, argv + 4);
	if (!strcmp(cmd, "perm") && argc == 3)
		return cmd_perm();
	if (!strcmp(cmd, "ttl") && argc == 3)
		return cmd_ttl();
	if (!strcmp(cmd, "dirperm") && argc == 3)
		return cmd_dirperm();
	if (!strcmp(cmd, "noatime") && argc == 3)
		return cmd_noatime();
usage:
	fprintf(stderr, "usage: hotpath-test lin|warm|perm|ttl|dirperm|noatime MNT ... | hits | items\n");
	return 2;
}
