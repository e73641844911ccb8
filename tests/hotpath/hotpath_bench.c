// SPDX-License-Identifier: MIT
/*
 * hotpath_bench.c - latency of reading hot 64-byte keys, inside the test VM, for the rows of
 * docs/hot-path.md: tmpfs, hkvfs uncached, hkvfs kernel-cached, hkvfs through the shim and
 * the kernel cache. Dynamically linked so that the shim can be preloaded into it.
 *
 *   hotpath-bench setup DIR NKEYS           write DIR/b-00.. (64 bytes each)
 *   hotpath-bench ops LABEL DIR NKEYS ITERS open+read+close of the keys in turn, each
 *                                           iteration timed alone (CLOCK_MONOTONIC)
 *   hotpath-bench kopen LABEL MNT NKEYS ITERS
 *                                           HKV_IOC_OPEN + read + close of the same keys
 *                                           straight from /dev/hkv (namespace from
 *                                           MNT/.hkv/config): the floor under the shim
 *   hotpath-bench kopenpath LABEL MNT NKEYS ITERS
 *                                           the same with the module's path check (the
 *                                           absolute path MNT/b-NN passed along, as the
 *                                           shim does): the shim's floor
 *   hotpath-bench cat LABEL CAT DIR NKEYS ITERS
 *                                           a whole `CAT key` process per iteration
 *                                           (posix_spawn + wait, stdout to /dev/null)
 *
 * Each measuring command prints one line
 *   HKV-BENCH-ROW LABEL KIND MEDIAN_US P99_US CACHE_PCT ITERS
 * where CACHE_PCT is the share of the timed opens that the kernel cache answered (growth of
 * the module's hit counter; 0 without /dev/hkv). A read that does not return the 64 bytes
 * fails the run (exit 1): a fast wrong answer is not a measurement.
 */
#include <inttypes.h>
#include <spawn.h>
#include <sys/wait.h>

#include "hotpath_common.h"

#define VLEN 64

extern char **environ;

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void key_path(char *buf, size_t sz, const char *dir, int k)
{
	snprintf(buf, sz, "%s/b-%02d", dir, k);
}

static int setup(const char *dir, int nkeys)
{
	for (int k = 0; k < nkeys; k++) {
		char path[512], v[VLEN + 1];
		int fd, n;

		key_path(path, sizeof(path), dir, k);
		n = snprintf(v, sizeof(v), "bench key %02d ", k);
		memset(v + n, 'v', VLEN - 1 - (size_t)n);
		v[VLEN - 1] = '\n';
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, v, VLEN) != VLEN || close(fd)) {
			fprintf(stderr, "setup %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int one_read(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == VLEN ? 0 : -1;
}

static int one_cat(const char *cat, const char *path)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)cat, (char *)path, NULL };
	pid_t pid;
	int st, rc;

	if (posix_spawn_file_actions_init(&fa))
		return -1;
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, cat, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

/* Direct HKV_IOC_OPEN of key b-NN in namespace g_ns, read, close: the floor under the shim. */
static uint64_t g_ns;
static int g_dev = -1;
static size_t g_mnt_len; /* kopenpath: the path check's offset; 0 = no path check */

static int one_kopen(const char *path, int k)
{
	char key[16], buf[256];
	struct hkv_open o;
	int fd;
	ssize_t n;

	snprintf(key, sizeof(key), "b-%02d", k);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.ns = g_ns;
	o.key_ptr = (uintptr_t)key;
	o.key_len = (uint32_t)strlen(key);
	if (g_mnt_len) {
		o.path_ptr = (uintptr_t)path;
		o.path_off = (uint32_t)g_mnt_len;
		o.checks = HKV_OPEN_CHECK_PATH;
	}
	fd = ioctl(g_dev, HKV_IOC_OPEN, &o);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == VLEN ? 0 : -1;
}

static int kopen_setup(const char *mnt)
{
	char path[512], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.hkv/config", mnt);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "ns=", 3))
			g_ns = strtoull(line + 3, NULL, 0);
	fclose(f);
	g_dev = open("/dev/hkv", O_RDONLY | O_CLOEXEC);
	return g_ns && g_dev >= 0 ? 0 : -1;
}

static int one(const char *cat, const char *path, int k)
{
	if (g_dev >= 0)
		return one_kopen(path, k);
	return cat ? one_cat(cat, path) : one_read(path);
}

static int measure(const char *label, const char *kind, const char *cat, const char *dir,
		   int nkeys, int iters)
{
	int64_t *t = calloc((size_t)iters, sizeof(*t));
	int warm = iters / 10 + 1;
	uint64_t h0, h1;
	char path[64][512];

	if (!t || nkeys < 1 || nkeys > 64)
		return 2;
	for (int k = 0; k < nkeys; k++)
		key_path(path[k], sizeof(path[k]), dir, k);
	for (int i = 0; i < warm; i++)
		if (one(cat, path[i % nkeys], i % nkeys)) {
			fprintf(stderr, "%s: reading %s failed\n", label, path[i % nkeys]);
			return 1;
		}
	h0 = kc_hits();
	for (int i = 0; i < iters; i++) {
		int64_t a = mono_ns();
		int r = one(cat, path[i % nkeys], i % nkeys);

		t[i] = mono_ns() - a;
		if (r) {
			fprintf(stderr, "%s: reading %s failed\n", label, path[i % nkeys]);
			return 1;
		}
	}
	h1 = kc_hits();
	qsort(t, (size_t)iters, sizeof(*t), cmp_i64);
	printf("HKV-BENCH-ROW %s %s %.2f %.2f %.0f %d\n", label, kind, t[iters / 2] / 1000.0,
	       t[(int)((iters - 1) * 0.99)] / 1000.0,
	       h1 >= h0 ? 100.0 * (double)(h1 - h0) / iters : 0.0, iters);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "setup") && argc == 4)
		return setup(argv[2], atoi(argv[3]));
	if (!strcmp(cmd, "ops") && argc == 6)
		return measure(argv[2], "open+read+close", NULL, argv[3], atoi(argv[4]),
			       atoi(argv[5]));
	if ((!strcmp(cmd, "kopen") || !strcmp(cmd, "kopenpath")) && argc == 6) {
		if (cmd[5])
			g_mnt_len = strlen(argv[3]);
		if (kopen_setup(argv[3])) {
			fprintf(stderr, "kopen: no namespace or no /dev/hkv\n");
			return 1;
		}
		return measure(argv[2], "open+read+close", NULL, argv[3], atoi(argv[4]),
			       atoi(argv[5]));
	}
	if (!strcmp(cmd, "cat") && argc == 7)
		return measure(argv[2], "cat-process", argv[3], argv[4], atoi(argv[5]),
			       atoi(argv[6]));
	fprintf(stderr, "usage: hotpath-bench setup DIR N | ops LABEL DIR N ITERS | "
			"kopen[path] LABEL MNT N ITERS | cat LABEL CAT DIR N ITERS\n");
	return 2;
}
