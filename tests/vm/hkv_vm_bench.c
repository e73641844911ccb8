// SPDX-License-Identifier: GPL-2.0
/*
 * hkv_vm_bench.c - benchmarks of /dev/hkv inside the test VM (run-vm.sh
 * --bench).  Three modes, each printing a table:
 *
 * hkv_vm_bench            latency of the hot path against tmpfs
 * hkv_vm_bench put N      PUT at the limit: the module is loaded with
 *                         max_items=N; per policy (LRU, LFU, FIFO) N keys
 *                         are inserted afresh, then PUT_ITERS PUTs of new
 *                         keys are timed one by one (each evicts one), with
 *                         GETS_PER_PUT untimed GET hits of random cached keys
 *                         before each PUT so that LRU and LFU have hits to
 *                         order.  Prints one row per policy: PUTs/s (over
 *                         the timed PUTs alone), median, p99, and the time
 *                         the N insertions below the limit took.
 * hkv_vm_bench get        GET hits from 1 and 2 threads pinned to CPUs 0
 *                         and 1 (each with descriptors of its own), all
 *                         reading the same 64 keys; per-thread rate, and the
 *                         same for tmpfs pread of one file as the VM's own
 *                         scaling baseline, for GET hits of 32 keys per
 *                         thread (no entry shared) and for GET misses (no
 *                         entry at all: the ioctl's own floor), and a
 *                         user-space loop (the host's share of a second
 *                         CPU, which every ratio is also divided by); five
 *                         interleaved rounds, the median of each.  A second
 *                         table compares the median time of one operation
 *                         with 1 and 2 readers, which the host's preemption
 *                         of a vCPU (whole time slices) does not move.
 * hkv_vm_bench getone OP N ITERS
 *                         one configuration (OP: loop, pread, hit, own,
 *                         miss, orc = HKV_IOC_OPEN+read+close, torc = tmpfs
 *                         open+read+close; N readers) for run-vm.sh --trace.
 *
 * Latency mode rows (64-byte value, ITERS timed iterations after WARMUP
 * untimed ones, each timed alone with CLOCK_MONOTONIC, pinned to CPU 0):
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
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
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

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to CPU %d", cpu);
}

/* ------------------------------------------------------- PUT at the limit */

#define PUT_ITERS 20000
#define GETS_PER_PUT 4
#define PUT_VAL 16

/* Keys are exactly 16 bytes: "p" and 15 digits. */
static void put_key(char *k, uint64_t i)
{
	snprintf(k, 24, "p%015llu", (unsigned long long)(i % 1000000000000000ull));
}

static void bench_put(uint64_t n)
{
	static const uint32_t pol[] = { HKV_POLICY_LRU, HKV_POLICY_LFU,
					HKV_POLICY_FIFO };
	static const char *const pname[] = { "lru", "lfu", "fifo" };
	uint64_t next = 0, seed = 99, i, t_fill;
	char key[24], val[PUT_VAL], buf[PUT_VAL];
	struct hkv_stat st;
	size_t p;

	pin(0);
	memset(val, 'p', sizeof(val));
	st = hkv_stat_get(g_dev);
	CHECK(st.max_items == n, "module loaded with max_items=%llu, want %llu",
	      (unsigned long long)st.max_items, (unsigned long long)n);
	for (p = 0; p < 3; p++) {
		uint64_t total = 0, ev0;

		/*
		 * A fresh fill per policy: each row measures its policy's own
		 * steady state, not the hits recorded under the previous one.
		 */
		CHECK_RC(hkv_clear_ns(g_dev, 0, 0, NULL), 0);
		CHECK_RC(hkv_policy_set(g_dev, pol[p], NULL), 0);
		ev0 = hkv_stat_get(g_dev).evictions;
		t_fill = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < n; i++) {
			put_key(key, next++);
			CHECK_RC(hkv_put_full(g_dev, 7, key, 16, val, PUT_VAL, 1, 0,
					      0, 0, 0644, 0), 0);
		}
		t_fill = now_ns(CLOCK_MONOTONIC) - t_fill;
		st = hkv_stat_get(g_dev);
		CHECK(st.items == n && st.evictions == ev0, "filled: %llu items",
		      (unsigned long long)st.items);
		for (i = 0; i < PUT_ITERS; i++) {
			uint64_t t0, t1;
			int g;

			for (g = 0; g < GETS_PER_PUT; g++) {
				/* A key among the n most recently inserted. */
				uint64_t k = next - 1 - rnd_next(&seed) % n;

				put_key(key, k);
				(void)hkv_get_b(g_dev, 7, key, 16, buf, sizeof(buf),
						NULL);
			}
			put_key(key, next++);
			t0 = now_ns(CLOCK_MONOTONIC);
			CHECK_RC(hkv_put_full(g_dev, 7, key, 16, val, PUT_VAL, 1, 0,
					      0, 0, 0644, 0), 0);
			t1 = now_ns(CLOCK_MONOTONIC);
			samples[i] = t1 - t0;
			total += t1 - t0;
		}
		st = hkv_stat_get(g_dev);
		CHECK(st.items == n && st.evictions - ev0 == PUT_ITERS,
		      "every PUT evicted one: %llu",
		      (unsigned long long)(st.evictions - ev0));
		qsort(samples, PUT_ITERS, sizeof(samples[0]), cmp_u64);
		printf("| %9llu | %-6s | %10.0f | %9.2f | %8.2f | %7.2f |\n",
		       (unsigned long long)n, pname[p],
		       PUT_ITERS * 1e9 / (double)total,
		       samples[PUT_ITERS / 2] / 1000.0,
		       samples[PUT_ITERS * 99 / 100] / 1000.0, t_fill / 1e9);
	}
}

/* ---------------------------------------------------- GET hits, 1 vs 2 CPUs */

#define GET_KEYS 64
#define GET_ITERS 100000

/* Iterations per reader thread: GET_ITERS, or the trace mode's count. */
static uint64_t g_get_iters = GET_ITERS;

/*
 * OP_LOOP is a loop in user space that touches no shared memory and makes no
 * system call: its per-CPU ratio is the share of a second host CPU the VM got
 * in that round, the floor every other row is divided by.  OP_ORC and
 * OP_TORC (HKV_IOC_OPEN+read+close, tmpfs open+read+close) are for the trace
 * mode only.
 */
enum get_op { OP_LOOP, OP_PREAD, OP_HIT, OP_HIT_OWN, OP_MISS, OP_N,
	      OP_ORC = OP_N, OP_TORC, OP_ALL };

static const char *const get_op_name[OP_N] = {
	"user-space loop", "tmpfs pread", "hkv GET hit", "GET hit, own keys",
	"hkv GET miss",
};

static const char *const get_op_short[OP_ALL] = {
	"loop", "pread", "hit", "own", "miss", "orc", "torc",
};

/* About as long as a GET under TCG; only the 1- vs 2-thread ratio matters. */
#define LOOP_STEPS 400

static atomic_int g_ready;
static atomic_bool g_go;

struct reader {
	int cpu;
	enum get_op op;
	uint64_t ns;
	uint64_t *lat;		/* per-operation times, g_get_iters of them */
	uint64_t median;	/* of @lat */
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char key[8], buf[64];
	uint64_t t0, i;
	/*
	 * Descriptors of its own, as separate processes would have: threads
	 * sharing one file would bounce its reference count (fdget()).
	 */
	int dev = open(HKV_DEV, O_RDWR | O_CLOEXEC);
	int tfd = open(g_path, O_RDONLY | O_CLOEXEC);

	CHECK(dev >= 0 && tfd >= 0, "reader descriptors");
	pin(r->cpu);
	atomic_fetch_add(&g_ready, 1);
	while (!atomic_load(&g_go))
		;
	t0 = now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < g_get_iters; i++) {
		unsigned int k = (unsigned int)(i % GET_KEYS);
		uint64_t t1 = now_ns(CLOCK_MONOTONIC);

		switch (r->op) {
		case OP_LOOP: {
			volatile uint64_t x = i + 1;
			int j;

			for (j = 0; j < LOOP_STEPS; j++)
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			break;
		}
		case OP_ORC: {
			int fd = hkv_open_b(dev, 8, "g00", 3, O_CLOEXEC);

			CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 64, "orc");
			close(fd);
			break;
		}
		case OP_TORC: {
			int fd = open(g_path, O_RDONLY | O_CLOEXEC);

			CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 64, "torc");
			close(fd);
			break;
		}
		case OP_PREAD:
			CHECK(pread(tfd, buf, sizeof(buf), 0) == 64, "pread");
			break;
		case OP_HIT:
		case OP_MISS:
			snprintf(key, sizeof(key), "g%02u", k);
			CHECK_RC(hkv_get_b(dev, r->op == OP_HIT ? 8 : 9, key, 3,
					   buf, sizeof(buf), NULL),
				 r->op == OP_HIT ? 0 : -ENOENT);
			break;
		default: /* OP_HIT_OWN: thread 0 reads keys 0..31, thread 1 32..63 */
			snprintf(key, sizeof(key), "g%02u",
				 k % (GET_KEYS / 2) + r->cpu * (GET_KEYS / 2));
			CHECK_RC(hkv_get_b(dev, 8, key, 3, buf, sizeof(buf), NULL),
				 0);
			break;
		}
		r->lat[i] = now_ns(CLOCK_MONOTONIC) - t1;
	}
	r->ns = now_ns(CLOCK_MONOTONIC) - t0;
	qsort(r->lat, g_get_iters, sizeof(r->lat[0]), cmp_u64);
	r->median = r->lat[g_get_iters / 2];
	close(tfd);
	close(dev);
	return NULL;
}

/*
 * Mean per-thread rate (ops/s) of one run with @n readers; *@median gets the
 * mean of the threads' median operation times (ns).
 */
static double run_readers(int n, enum get_op op, double *median)
{
	static uint64_t *lat[2];
	struct reader r[2];
	pthread_t t[2];
	double sum = 0, msum = 0;
	int i;

	atomic_store(&g_ready, 0);
	atomic_store(&g_go, false);
	for (i = 0; i < n; i++) {
		if (!lat[i]) {
			lat[i] = calloc(g_get_iters, sizeof(*lat[i]));
			CHECK(lat[i], "latency buffer");
		}
		r[i] = (struct reader){ .cpu = i, .op = op, .lat = lat[i] };
		CHECK(pthread_create(&t[i], NULL, reader_fn, &r[i]) == 0, "thread");
	}
	while (atomic_load(&g_ready) < n)
		;
	atomic_store(&g_go, true);
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		sum += g_get_iters * 1e9 / (double)r[i].ns;
		msum += (double)r[i].median;
	}
	if (median)
		*median = msum / n;
	return sum / n;
}

#define GET_ROUNDS 5

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_rounds(double *v)
{
	qsort(v, GET_ROUNDS, sizeof(*v), cmp_double);
	return v[GET_ROUNDS / 2];
}

static void get_fill(void)
{
	char key[8], val[64];
	int i;

	memset(val, 'g', sizeof(val));
	for (i = 0; i < GET_KEYS; i++) {
		snprintf(key, sizeof(key), "g%02d", i);
		CHECK_RC(hkv_put_full(g_dev, 8, key, 3, val, 64, 1, 0, 0, 0, 0644,
				      0), 0);
	}
}

/*
 * One configuration of bench_get(), for tracing it (tests/vm/init.sh with
 * TRACE=1): "hkv_vm_bench getone OP READERS ITERS", OP one of loop, pread,
 * hit, own, miss, orc, torc.  Prints the per-thread rate.
 */
static void bench_getone(const char *opname, int n, uint64_t iters)
{
	int op;

	for (op = 0; op < OP_ALL && strcmp(opname, get_op_short[op]); op++)
		;
	CHECK(op < OP_ALL && (n == 1 || n == 2) && iters > 0,
	      "getone arguments");
	g_get_iters = iters;
	get_fill();
	printf("getone %s readers=%d iters=%llu: %.0f ops/s per thread\n",
	       opname, n, (unsigned long long)iters,
	       run_readers(n, op, NULL));
}

static void bench_get(void)
{
	double r1[OP_N][GET_ROUNDS], r2[OP_N][GET_ROUNDS], q[OP_N][GET_ROUNDS];
	double qn[OP_N][GET_ROUNDS], m1[OP_N][GET_ROUNDS], m2[OP_N][GET_ROUNDS];
	double qm[OP_N][GET_ROUNDS];
	int i, op;

	get_fill();
	/*
	 * The host's load varies over seconds: the configurations are run in
	 * turn, GET_ROUNDS times; each reports the median of its rates and the
	 * median of its per-round ratios (1 and 2 readers of one round are
	 * measured back to back, so the ratio is the steadier figure).
	 */
	for (i = 0; i < GET_ROUNDS; i++) {
		for (op = 0; op < OP_N; op++) {
			r1[op][i] = run_readers(1, op, &m1[op][i]);
			r2[op][i] = run_readers(2, op, &m2[op][i]);
			q[op][i] = r2[op][i] / r1[op][i];
			qm[op][i] = m1[op][i] / m2[op][i];
			qn[op][i] = q[op][i] / q[OP_LOOP][i];
		}
	}
	printf("%d GETs (64-byte values, %d shared keys) or preads per thread; threads pinned to CPUs 0 and 1; median of %d interleaved rounds\n",
	       GET_ITERS, GET_KEYS, GET_ROUNDS);
	printf("per-CPU ratio = 2-reader rate per thread / 1-reader rate; / loop = that ratio divided by the user-space loop's of the same round (the host's share)\n");
	printf("| %-17s | %16s | %16s | %14s | %-23s | %8s | %-15s |\n",
	       "operation", "1 reader, ops/s", "2 readers, ops/s",
	       "per-CPU ratio", "ratio, min..max", "/ loop", "/ loop, min..max");
	printf("|-------------------|------------------|------------------|----------------|-------------------------|----------|-----------------|\n");
	for (op = 0; op < OP_N; op++) {
		char range[32], nrange[32];

		qsort(q[op], GET_ROUNDS, sizeof(double), cmp_double);
		qsort(qn[op], GET_ROUNDS, sizeof(double), cmp_double);
		snprintf(range, sizeof(range), "%.2fx..%.2fx", q[op][0],
			 q[op][GET_ROUNDS - 1]);
		snprintf(nrange, sizeof(nrange), "%.2fx..%.2fx", qn[op][0],
			 qn[op][GET_ROUNDS - 1]);
		printf("| %-17s | %16.0f | %16.0f | %13.2fx | %-23s | %7.2fx | %-15s |\n",
		       get_op_name[op], median_rounds(r1[op]),
		       median_rounds(r2[op]), q[op][GET_ROUNDS / 2], range,
		       qn[op][GET_ROUNDS / 2], nrange);
	}
	/*
	 * The host takes a vCPU away for whole time slices: that stretches a few
	 * operations and the rates above, not the median operation.  A line
	 * that bounces between the CPUs would slow the median operation itself.
	 */
	printf("\nmedian time of one operation (us), mean over the threads; per-CPU ratio = 1-reader median / 2-reader median (1.00x: the second reader costs the first nothing)\n");
	printf("| %-17s | %10s | %10s | %14s | %-23s |\n", "operation",
	       "1 reader", "2 readers", "per-CPU ratio", "ratio, min..max");
	printf("|-------------------|------------|------------|----------------|-------------------------|\n");
	for (op = 0; op < OP_N; op++) {
		char range[32];

		qsort(qm[op], GET_ROUNDS, sizeof(double), cmp_double);
		snprintf(range, sizeof(range), "%.2fx..%.2fx", qm[op][0],
			 qm[op][GET_ROUNDS - 1]);
		printf("| %-17s | %10.3f | %10.3f | %13.2fx | %-23s |\n",
		       get_op_name[op], median_rounds(m1[op]) / 1000.0,
		       median_rounds(m2[op]) / 1000.0, qm[op][GET_ROUNDS / 2],
		       range);
	}
}

int main(int argc, char **argv)
{
	char val[64];
	struct row pr, get, torc, horc, miss;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(val, 'v', sizeof(val));
	fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, val, 64) == 64, "tmpfs file");
	close(fd);
	g_tmpfd = open(g_path, O_RDONLY);
	CHECK(g_tmpfd >= 0, "open tmpfs file");
	g_dev = open(HKV_DEV, O_RDWR | O_CLOEXEC);
	CHECK(g_dev >= 0, "open " HKV_DEV);
	if (argc > 2 && !strcmp(argv[1], "put")) {
		bench_put(strtoull(argv[2], NULL, 10));
		return 0;
	}
	if (argc > 4 && !strcmp(argv[1], "getone")) {
		bench_getone(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10));
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "get")) {
		bench_get();
		return 0;
	}
	pin(0);
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
