// SPDX-License-Identifier: MIT
/*
 * cluster-bench.c - hkv-remote (hkv/cluster.h) measured against redis-benchmark, same
 * cluster, same run.
 *
 * Usage: hkv-cluster-bench SEEDS [-n OPS] [-d BYTES] [-r KEYSPACE] [-R ROUNDS]
 *
 * Rows (per thread count 1, 2, 4; SET then GET, OPS per thread each). ROUNDS rounds (default
 * 3) run every row in turn; each row shows the round with its median ops/s, and its ratio to
 * redis-benchmark's median:
 *   redis-benchmark   Debian's redis-benchmark -c T on the master that owns the hash tag
 *                     {bench}, keys {bench}:__rand_int__ (-r KEYSPACE), a value of BYTES
 *   hkv-remote 1 node T threads sharing one handle, the same keys (so the same node)
 *   hkv-remote spread T threads, keys bench:N spread over every master
 *   hkv-remote track  as "1 node" with hkv_cluster_track() on (the cost of the ordering
 *                     check after each reply)
 * Each row: ops/s over the wall time of the row, and the p50/p99 of one call's latency.
 * redis-benchmark's p50/p99 are its own (--csv); its -c T clients are T connections driven
 * by one thread, ours are T threads sharing one handle (and its pool).
 *
 * Then the invalidation latency, with tracking on: another connection (the project's plain
 * client, one SET per round trip as redis-cli sends it) writes a key, and the time from
 * sending the SET to the callback for that key is recorded (p50/p99 of 2000); and the same
 * from the start of a real `redis-cli SET` process (its process start included; 200 runs).
 *
 * Keys come from rand_r() with a fixed seed per thread.
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hkv/client.h"
#include "hkv/cluster.h"

extern char **environ;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1));

	return n ? v[i] : 0;
}

struct job {
	struct hkv_cluster *cl;
	int id, ops, keyspace, dlen;
	bool tagged, get;
	const char *value;
	int64_t *lat;
	int errors;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	unsigned int seed = 1000u + (unsigned int)j->id;

	for (int i = 0; i < j->ops; i++) {
		char k[48];
		const char *argv[3] = { j->get ? "GET" : "SET", k, j->value };
		size_t len[3] = { 3, 0, (size_t)j->dlen };
		struct hkv_resp_value *r = NULL;
		int64_t t0;

		len[1] = (size_t)snprintf(k, sizeof(k), j->tagged ? "{bench}:%d" : "bench:%d",
					  rand_r(&seed) % j->keyspace);
		t0 = now_us();
		if (hkv_cluster_call(j->cl, k, len[1], j->get ? 2 : 3, argv, len, &r) ||
		    r->type == HKV_RESP_ERROR)
			j->errors++;
		j->lat[i] = now_us() - t0;
		hkv_resp_value_free(r);
	}
	return NULL;
}

struct res {
	double ops_s;
	int64_t p50, p99;
};

enum { ROW_RB, ROW_ONE, ROW_TRACK, ROW_SPREAD, NROWS };
static const char *const row_name[NROWS] = { "redis-benchmark", "hkv-remote 1 node",
					     "hkv-remote track", "hkv-remote spread" };

/* @out[0] SET, @out[1] GET */
static int run_lib(struct hkv_cluster *cl, bool tagged, int threads, int ops, int keyspace,
		   const char *value, int dlen, struct res *out)
{
	for (int g = 0; g < 2; g++) {
		pthread_t th[16];
		struct job j[16];
		int64_t *all = malloc((size_t)threads * (size_t)ops * sizeof(*all)), t0, wall;
		int errors = 0;

		if (!all)
			return -ENOMEM;
		t0 = now_us();
		for (int t = 0; t < threads; t++) {
			j[t] = (struct job){ cl, t, ops, keyspace, dlen, tagged, g == 1, value,
					     all + (size_t)t * (size_t)ops, 0 };
			if (pthread_create(&th[t], NULL, job_main, &j[t])) {
				free(all);
				return -EAGAIN;
			}
		}
		for (int t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			errors += j[t].errors;
		}
		wall = now_us() - t0;
		qsort(all, (size_t)threads * (size_t)ops, sizeof(*all), cmp_i64);
		out[g] = (struct res){ (double)threads * ops * 1e6 / (double)wall,
				       pct(all, (size_t)threads * (size_t)ops, 0.5),
				       pct(all, (size_t)threads * (size_t)ops, 0.99) };
		free(all);
		if (errors) {
			fprintf(stderr, "cluster-bench: %d calls failed\n", errors);
			return -EIO;
		}
	}
	return 0;
}

/* redis-benchmark --csv on one node; Return: 0 */
static int run_redis_benchmark(const char *host, const char *port, int threads, int ops,
			       int keyspace, const char *value, struct res *out)
{
	for (int g = 0; g < 2; g++) {
		char cmd[4096];
		char line[512];
		FILE *f;
		bool ok = false;

		snprintf(cmd, sizeof(cmd),
			 "redis-benchmark -h %s -p %s -c %d -n %d -r %d --csv %s '{bench}:__rand_int__' %s",
			 host, port, threads, ops * threads, keyspace, g ? "GET" : "SET",
			 g ? "" : value);
		f = popen(cmd, "r");
		if (!f)
			return -errno;
		while (fgets(line, sizeof(line), f)) {
			double rps, avg, mn, p50, p95, p99;
			char *q = strstr(line, "\",\"");

			/* "CMD ...","rps","avg","min","p50","p95","p99","max" */
			if (line[0] != '"' || !q || !strncmp(line, "\"test\"", 6))
				continue;
			if (sscanf(q + 2, "\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"", &rps, &avg,
				   &mn, &p50, &p95, &p99) == 6) {
				out[g] = (struct res){ rps, (int64_t)(p50 * 1000),
						       (int64_t)(p99 * 1000) };
				ok = true;
			}
		}
		if (pclose(f) != 0 || !ok) {
			fprintf(stderr, "cluster-bench: redis-benchmark failed: %s\n", cmd);
			return -EIO;
		}
	}
	return 0;
}

/* ---- invalidation latency ---- */

static pthread_mutex_t inv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inv_cv = PTHREAD_COND_INITIALIZER;
static char inv_want[64];
static int64_t inv_at;

static void inv_cb(void *arg, const void *key, size_t klen)
{
	(void)arg;
	pthread_mutex_lock(&inv_mu);
	if (key && klen == strlen(inv_want) && !memcmp(key, inv_want, klen) && !inv_at) {
		inv_at = now_us();
		pthread_cond_broadcast(&inv_cv);
	}
	pthread_mutex_unlock(&inv_mu);
}

static void inv_expect(const char *k)
{
	pthread_mutex_lock(&inv_mu);
	snprintf(inv_want, sizeof(inv_want), "%s", k);
	inv_at = 0;
	pthread_mutex_unlock(&inv_mu);
}

/* Return: when the callback for the expected key came, 0 after 2 s */
static int64_t inv_wait(void)
{
	struct timespec ts;
	int64_t at;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&inv_mu);
	while (!inv_at)
		if (pthread_cond_timedwait(&inv_cv, &inv_mu, &ts))
			break;
	at = inv_at;
	pthread_mutex_unlock(&inv_mu);
	return at;
}

static int run_invalidation(struct hkv_cluster *cl, const char *host, const char *port)
{
	enum { N = 2000, NCLI = 200 };
	static int64_t lat[N];
	struct hkv_client c;
	int rc, n = 0;

	rc = hkv_client_connect_tcp(&c, host, atoi(port));
	if (rc)
		return rc;
	for (int i = 0; i < N; i++) {
		char k[48];
		const char *argv[] = { "SET", k, "x" };
		size_t len[3] = { 3, 0, 1 };
		struct hkv_resp_value *r;
		int64_t t0, at;

		len[1] = (size_t)snprintf(k, sizeof(k), "{bench}:inv:%d", i);
		inv_expect(k);
		t0 = now_us();
		rc = hkv_client_call(&c, 3, argv, len, &r);
		if (rc)
			break;
		hkv_resp_value_free(r);
		at = inv_wait();
		if (!at) {
			fprintf(stderr, "cluster-bench: no invalidation for %s within 2 s\n", k);
			rc = -ETIMEDOUT;
			break;
		}
		lat[n++] = at - t0;
	}
	hkv_client_close(&c);
	if (rc)
		return rc;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("| %-40s | %5d | %8lld | %8lld |\n", "SET on another connection -> callback", n,
	       (long long)pct(lat, (size_t)n, 0.5), (long long)pct(lat, (size_t)n, 0.99));

	n = 0;
	for (int i = 0; i < NCLI; i++) {
		char k[48];
		char *argv[] = { "redis-cli", "-h", (char *)host, "-p", (char *)port, "SET", k, "y",
				 NULL };
		posix_spawn_file_actions_t fa;
		int64_t t0, at;
		pid_t pid;
		int st;

		snprintf(k, sizeof(k), "{bench}:cli:%d", i);
		inv_expect(k);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
		t0 = now_us();
		rc = posix_spawnp(&pid, "redis-cli", &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		if (rc)
			return -rc;
		at = inv_wait();
		waitpid(pid, &st, 0);
		if (!at) {
			fprintf(stderr, "cluster-bench: no invalidation for %s within 2 s\n", k);
			return -ETIMEDOUT;
		}
		lat[n++] = at - t0;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("| %-40s | %5d | %8lld | %8lld |\n", "redis-cli SET process start -> callback",
	       n, (long long)pct(lat, (size_t)n, 0.5), (long long)pct(lat, (size_t)n, 0.99));
	(void)cl;
	return 0;
}

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= HKV_CLUSTER_LOG_WARN)
		fprintf(stderr, "hkv-remote: %s\n", msg);
}

#define MAX_ROUNDS 9

/* the round with the median ops/s of row @w, command @g */
static struct res median(struct res (*rr)[NROWS][2], int rounds, int w, int g)
{
	struct res v[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		int i = r;

		while (i > 0 && v[i - 1].ops_s > rr[r][w][g].ops_s) {
			v[i] = v[i - 1];
			i--;
		}
		v[i] = rr[r][w][g];
	}
	return v[rounds / 2];
}

int main(int argc, char **argv)
{
	static const int threads[] = { 1, 2, 4 };
	static struct res res[3][MAX_ROUNDS][NROWS][2];
	struct hkv_cluster_opts o = { .log = quiet_log };
	struct hkv_cluster *cl = NULL, *tcl = NULL;
	int ops = 20000, dlen = 64, keyspace = 100000, rounds = 3, opt, rc;
	char addr[300], *colon, *value;

	while ((opt = getopt(argc, argv, "n:d:r:R:")) != -1) {
		switch (opt) {
		case 'n':
			ops = atoi(optarg);
			break;
		case 'd':
			dlen = atoi(optarg);
			break;
		case 'r':
			keyspace = atoi(optarg);
			break;
		case 'R':
			rounds = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || ops < 1 || dlen < 1 || dlen > 1 << 20 || keyspace < 1 ||
	    rounds < 1 || rounds > MAX_ROUNDS)
		goto usage;
	o.seeds = argv[optind];
	value = malloc((size_t)dlen + 1);
	if (!value)
		return 1;
	memset(value, 'x', (size_t)dlen);
	value[dlen] = 0;
	rc = hkv_cluster_open(&cl, &o);
	if (!rc)
		rc = hkv_cluster_open(&tcl, &o);
	if (rc) {
		fprintf(stderr, "cluster-bench: cannot open %s: %s\n", o.seeds, strerror(-rc));
		return 1;
	}
	if (hkv_cluster_addr_of(cl, "{bench}", 7, addr, sizeof(addr)) ||
	    !(colon = strrchr(addr, ':'))) {
		fprintf(stderr, "cluster-bench: no master for {bench}\n");
		return 1;
	}
	*colon = 0;
	rc = hkv_cluster_track(tcl, inv_cb, NULL);
	for (int i = 0; !rc && i < 500 && !hkv_cluster_track_live(tcl); i++)
		usleep(10000);
	if (rc || !hkv_cluster_track_live(tcl)) {
		fprintf(stderr, "cluster-bench: tracking did not start\n");
		return 1;
	}
	printf("hkv-cluster-bench: %s, %d ops per thread, %d-byte values, %d keys, median of %d rounds; one node = %s:%s\n\n",
	       o.seeds, ops, dlen, keyspace, rounds, addr, colon + 1);

	/* rounds interleave the clients, so that a load change on the machine hits them all */
	for (int r = 0; r < rounds; r++) {
		for (int t = 0; t < 3; t++) {
			struct res (*x)[2] = res[t][r];

			if (run_redis_benchmark(addr, colon + 1, threads[t], ops, keyspace, value,
						x[ROW_RB]) ||
			    run_lib(cl, true, threads[t], ops, keyspace, value, dlen, x[ROW_ONE]) ||
			    run_lib(tcl, true, threads[t], ops, keyspace, value, dlen,
				    x[ROW_TRACK]) ||
			    run_lib(cl, false, threads[t], ops, keyspace, value, dlen,
				    x[ROW_SPREAD]))
				return 1;
		}
	}
	printf("| %-18s | %-3s | %7s | %10s | %6s | %8s | %8s |\n", "client", "cmd", "threads",
	       "ops/s", "ratio", "p50 us", "p99 us");
	printf("|--------------------|-----|---------|------------|--------|----------|----------|\n");
	for (int t = 0; t < 3; t++) {
		for (int g = 0; g < 2; g++) {
			struct res base = median(res[t], rounds, ROW_RB, g);

			for (int w = 0; w < NROWS; w++) {
				struct res m = median(res[t], rounds, w, g);

				printf("| %-18s | %-3s | %7d | %10.0f | %6.2f | %8lld | %8lld |\n",
				       row_name[w], g ? "GET" : "SET", threads[t], m.ops_s,
				       m.ops_s / base.ops_s, (long long)m.p50, (long long)m.p99);
			}
		}
	}

	printf("\n| %-40s | %5s | %8s | %8s |\n", "invalidation latency", "n", "p50 us",
	       "p99 us");
	printf("|------------------------------------------|-------|----------|----------|\n");
	if (run_invalidation(tcl, addr, colon + 1))
		return 1;
	hkv_cluster_close(tcl);
	hkv_cluster_close(cl);
	free(value);
	return 0;

usage:
	fprintf(stderr,
		"usage: hkv-cluster-bench SEEDS [-n OPS_PER_THREAD] [-d BYTES] [-r KEYS] [-R ROUNDS]\n");
	return 2;
}
