// SPDX-License-Identifier: GPL-2.0
/*
 * hkv_vm_bench.c - latency of the /dev/hkv hot path against tmpfs, in one
 * process, inside the test VM (run-vm.sh --bench).
 *
 * Rows (64-byte value, ITERS timed iterations after WARMUP untimed ones,
 * each iteration timed alone with CLOCK_MONOTONIC, process pinned to CPU 0):
 *   tmpfs pread                 pread(fd, 64) of an open tmpfs file
 *   hkv GET ioctl               HKV_IOC_GET into a user buffer
 *   tmpfs open+read+close       open(path), read 64, close
 *   hkv OPEN+read+close         HKV_IOC_OPEN, read 64, close
 *   hkv GET miss                HKV_IOC_GET of an absent key
 * The ratio column compares each hkv row's median with its tmpfs
 * counterpart (GET vs pread, OPEN+read+close vs open+read+close).  Every
 * timed operation's result is checked; any failure exits 1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/stat.h>

#include "hkv_vm_common.h"

#define ITERS 20000
#define WARMUP 2000

static uint64_t samples[ITERS];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct row {
	const char *name;
	uint64_t median, p99;
};

static int g_dev;
static char g_buf[256];
static const char *g_path = "/tmp/bench64";
static int g_tmpfd;

static int op_pread(void)
{
	return pread(g_tmpfd, g_buf, sizeof(g_buf), 0) == 64;
}

static int op_get(void)
{
	return hkv_get_b(g_dev, 1, "bench", 5, g_buf, sizeof(g_buf), NULL) == 0;
}

static int op_get_miss(void)
{
	return hkv_get_b(g_dev, 1, "absent", 6, g_buf, sizeof(g_buf), NULL) ==
	       -ENOENT;
}

static int op_tmpfs_orc(void)
{
	int fd = open(g_path, O_RDONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, g_buf, sizeof(g_buf)) == 64;
	close(fd);
	return ok;
}

static int op_hkv_orc(void)
{
	int fd = hkv_open_b(g_dev, 1, "bench", 5, O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, g_buf, sizeof(g_buf)) == 64;
	close(fd);
	return ok;
}

static struct row measure(const char *name, int (*op)(void))
{
	struct row r = { name, 0, 0 };
	int i;

	for (i = 0; i < WARMUP; i++)
		CHECK(op(), "%s failed (warmup %d)", name, i);
	for (i = 0; i < ITERS; i++) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC), t1;

		CHECK(op(), "%s failed at %d", name, i);
		t1 = now_ns(CLOCK_MONOTONIC);
		samples[i] = t1 - t0;
	}
	qsort(samples, ITERS, sizeof(samples[0]), cmp_u64);
	r.median = samples[ITERS / 2];
	r.p99 = samples[ITERS * 99 / 100];
	return r;
}

static void print_row(const struct row *r, const struct row *base)
{
	printf("| %-24s | %8.2f | %8.2f |", r->name, r->median / 1000.0,
	       r->p99 / 1000.0);
	if (base)
		printf(" %5.2fx %-22s |\n", (double)r->median / base->median,
		       base->name);
	else
		printf(" %-29s |\n", "-");
}

int main(void)
{
	char val[64];
	struct row pr, get, torc, horc, miss;
	cpu_set_t set;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to CPU 0");
	memset(val, 'v', sizeof(val));
	fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, val, 64) == 64, "tmpfs file");
	close(fd);
	g_tmpfd = open(g_path, O_RDONLY);
	CHECK(g_tmpfd >= 0, "open tmpfs file");
	g_dev = open(HKV_DEV, O_RDWR | O_CLOEXEC);
	CHECK(g_dev >= 0, "open " HKV_DEV);
	CHECK_RC(hkv_put_full(g_dev, 1, "bench", 5, val, 64, 1, 0, 0, 0, 0644, 0), 0);

	pr = measure("tmpfs pread", op_pread);
	get = measure("hkv GET ioctl", op_get);
	torc = measure("tmpfs open+read+close", op_tmpfs_orc);
	horc = measure("hkv OPEN+read+close", op_hkv_orc);
	miss = measure("hkv GET miss", op_get_miss);

	printf("64-byte value, %d iterations per row, times in us (CLOCK_MONOTONIC, CPU 0)\n",
	       ITERS);
	printf("| %-24s | %8s | %8s | %-29s |\n", "operation", "median", "p99",
	       "median ratio to");
	printf("|--------------------------|----------|----------|-------------------------------|\n");
	print_row(&pr, NULL);
	print_row(&get, &pr);
	print_row(&torc, NULL);
	print_row(&horc, &torc);
	print_row(&miss, &pr);
	printf("target OPEN+read+close <= 0.70x tmpfs open+read+close: %s (%.2fx)\n",
	       horc.median * 10 <= torc.median * 7 ? "met" : "MISSED",
	       (double)horc.median / torc.median);
	close(g_dev);
	close(g_tmpfd);
	return 0;
}
