// SPDX-License-Identifier: MIT
/*
 * test_remote.c - hkv-remote (hkv/cluster.h) against real redis-server processes.
 *
 *   test_remote unit                  key slots (no server)
 *   test_remote cluster               a 3+3 cluster started by tests/remote/cluster.sh
 *   test_remote failover              same, and a master is killed (kill -9) mid-workload
 *   test_remote standalone            one non-cluster server; bad seeds
 *
 * run.sh starts the servers and passes HKV_TEST_SEEDS (seed list), HKV_TEST_DIR (the
 * harness's directory), HKV_TEST_HARNESS (cluster.sh) and HKV_TEST_BASEPORT. Cross-checks go
 * to the nodes directly with the project's plain client (hkv/client.h) or with redis-cli, so
 * the library is never checked against itself. Randomness uses fixed seeds.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "hkv/client.h"
#include "hkv/cluster.h"

static const char *seeds, *hdir, *harness;
static int baseport;

/* ---------------------------------------------------------------------------------
 * helpers
 * --------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* log lines, kept for assertions */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[1 << 16];
static size_t log_len;

static void log_cb(void *arg, int level, const char *msg)
{
	(void)arg;
	pthread_mutex_lock(&log_mu);
	if (log_len + strlen(msg) + 2 < sizeof(log_buf))
		log_len += (size_t)sprintf(log_buf + log_len, "%d %s\n", level, msg);
	pthread_mutex_unlock(&log_mu);
	if (getenv("HKV_TEST_VERBOSE"))
		fprintf(stderr, "log %d: %s\n", level, msg);
}

static bool log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&log_mu);
	has = strstr(log_buf, s) != NULL;
	pthread_mutex_unlock(&log_mu);
	return has;
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	log_len = 0;
	log_buf[0] = 0;
	pthread_mutex_unlock(&log_mu);
}

static int open_with(struct hkv_cluster **cl, const char *s, int io_ms)
{
	struct hkv_cluster_opts o = {
		.seeds = s,
		.io_timeout_ms = io_ms,
		.connect_timeout_ms = 500,
		.log = log_cb,
		.log_level = HKV_CLUSTER_LOG_INFO,
	};

	return hkv_cluster_open(cl, &o);
}

/* argv from a NULL-terminated list of strings */
struct args {
	int argc;
	const char *argv[16];
	size_t len[16];
};

static void args_v(struct args *a, const char *first, va_list ap)
{
	a->argc = 0;
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		a->argv[a->argc] = s;
		a->len[a->argc++] = strlen(s);
	}
}

/* a command through the library, routed by @key; asserts the call itself succeeds */
static struct hkv_resp_value *lib(struct hkv_cluster *cl, const char *key, const char *first,
				  ...)
{
	struct hkv_resp_value *r = NULL;
	struct args a;
	va_list ap;

	va_start(ap, first);
	args_v(&a, first, ap);
	va_end(ap);
	assert_int_equal(hkv_cluster_call(cl, key, key ? strlen(key) : 0, a.argc, a.argv, a.len,
					  &r),
			 0);
	assert_non_null(r);
	return r;
}

static void lib_ok(struct hkv_cluster *cl, const char *key, const char *first, ...)
{
	struct hkv_resp_value *r = NULL;
	struct args a;
	va_list ap;

	va_start(ap, first);
	args_v(&a, first, ap);
	va_end(ap);
	assert_int_equal(hkv_cluster_call(cl, key, strlen(key), a.argc, a.argv, a.len, &r), 0);
	assert_int_equal(r->type, HKV_RESP_STATUS);
	assert_string_equal(r->str, "OK");
	hkv_resp_value_free(r);
}

static void expect_bulk(struct hkv_resp_value *r, const char *want)
{
	assert_non_null(r);
	if (r->type != HKV_RESP_BULK)
		fail_msg("expected bulk \"%s\", got type %c %s", want, r->type,
			 r->str ? r->str : "");
	assert_string_equal(r->str, want);
	hkv_resp_value_free(r);
}

/* a command straight to one node, no routing: the cross-check */
static struct hkv_resp_value *direct_v(int port, const char *first, va_list ap)
{
	struct hkv_resp_value *r = NULL;
	struct hkv_client c;
	struct args a;

	args_v(&a, first, ap);
	assert_int_equal(hkv_client_connect_tcp(&c, "127.0.0.1", port), 0);
	assert_int_equal(hkv_client_call(&c, a.argc, a.argv, a.len, &r), 0);
	hkv_client_close(&c);
	return r;
}

static struct hkv_resp_value *direct(int port, const char *first, ...)
{
	struct hkv_resp_value *r;
	va_list ap;

	va_start(ap, first);
	r = direct_v(port, first, ap);
	va_end(ap);
	return r;
}

/* direct(), and the reply must be a status or an integer */
static void direct_ok(int port, const char *first, ...)
{
	struct hkv_resp_value *r;
	va_list ap;

	va_start(ap, first);
	r = direct_v(port, first, ap);
	va_end(ap);
	if (r->type != HKV_RESP_STATUS && r->type != HKV_RESP_INTEGER)
		fail_msg("port %d %s: %s", port, first, r->str ? r->str : "unexpected reply");
	hkv_resp_value_free(r);
}

static bool is_master(int port)
{
	struct hkv_resp_value *r = direct(port, "ROLE", NULL);
	bool m = r->type == HKV_RESP_ARRAY && r->nelem > 0 && !strcmp(r->elem[0]->str, "master");

	hkv_resp_value_free(r);
	return m;
}

static int masters(int *ports)
{
	int n = 0;

	for (int i = 0; i < 6; i++)
		if (is_master(baseport + i))
			ports[n++] = baseport + i;
	return n;
}

static void node_id(int port, char *id)
{
	struct hkv_resp_value *r = direct(port, "CLUSTER", "MYID", NULL);

	assert_int_equal(r->type, HKV_RESP_BULK);
	snprintf(id, 48, "%s", r->str);
	hkv_resp_value_free(r);
}

/* which master owns @key: the one that answers GET without MOVED */
static int owner_of(const char *key)
{
	int ms[6], n = masters(ms), owner = -1;

	for (int i = 0; i < n; i++) {
		struct hkv_resp_value *r = direct(ms[i], "GET", key, NULL);

		if (!(r->type == HKV_RESP_ERROR && !strncmp(r->str, "MOVED", 5))) {
			assert_int_equal(owner, -1);
			owner = ms[i];
		}
		hkv_resp_value_free(r);
	}
	assert_int_not_equal(owner, -1);
	return owner;
}

/* "rejected_calls" of command @cmd in INFO commandstats of @port */
static long rejected_calls(int port, const char *cmd)
{
	struct hkv_resp_value *r = direct(port, "INFO", "commandstats", NULL);
	char pat[64];
	const char *p, *q;
	long v = 0;

	snprintf(pat, sizeof(pat), "cmdstat_%s:", cmd);
	p = strstr(r->str, pat);
	if (p) {
		q = strstr(p, "rejected_calls=");
		if (q)
			v = strtol(q + 15, NULL, 10);
	}
	hkv_resp_value_free(r);
	return v;
}

static long cmd_calls(int port, const char *cmd)
{
	struct hkv_resp_value *r = direct(port, "INFO", "commandstats", NULL);
	char pat[64];
	const char *p;
	long v = 0;

	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", cmd);
	p = strstr(r->str, pat);
	if (p)
		v = strtol(p + strlen(pat), NULL, 10);
	hkv_resp_value_free(r);
	return v;
}

static int run_harness(const char *verb, int port)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s %s %s %d >/dev/null", harness, verb, hdir, port);
	return system(cmd);
}

static pid_t node_pid(int port)
{
	char cmd[1024];
	FILE *f;
	long pid = 0;

	snprintf(cmd, sizeof(cmd), "%s pid %s %d", harness, hdir, port);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	pclose(f);
	return (pid_t)pid;
}

/* ---------------------------------------------------------------------------------
 * unit: key slots
 * --------------------------------------------------------------------------------- */

/* bit-at-a-time CRC16-XMODEM, independent of the library's table */
static unsigned int hkv_crc16_ref(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned int crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (unsigned int)b[i] << 8;
		for (int k = 0; k < 8; k++)
			crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc;
}

static void t_keyslot(void **state)
{
	(void)state;
	/* CRC16-XMODEM("123456789") = 0x31C3 */
	assert_int_equal(hkv_cluster_keyslot("123456789", 9), 0x31C3 & 16383);
	assert_int_equal(hkv_cluster_keyslot("", 0), 0);
	assert_int_equal(hkv_cluster_keyslot("{user1}.name", 12), hkv_cluster_keyslot("user1", 5));
	assert_int_equal(hkv_cluster_keyslot("a{user1}b", 9), hkv_cluster_keyslot("user1", 5));
	/* "{}" hashes the whole key; the tag is up to the first '}' after the first '{' */
	assert_int_equal(hkv_cluster_keyslot("foo{}{bar}", 10),
			 hkv_crc16_ref("foo{}{bar}", 10) & 16383);
	assert_int_equal(hkv_cluster_keyslot("foo{{bar}}zap", 13), hkv_cluster_keyslot("{bar", 4));
	assert_int_equal(hkv_cluster_keyslot("foo{bar}{zap}", 13), hkv_cluster_keyslot("bar", 3));
	assert_int_equal(hkv_cluster_keyslot("{", 1), hkv_crc16_ref("{", 1) & 16383);
	assert_int_equal(hkv_cluster_keyslot("x{y", 3), hkv_crc16_ref("x{y", 3) & 16383);
	for (unsigned int s = 0; s < 20; s++)
		assert_true(hkv_cluster_keyslot(&s, sizeof(s)) < HKV_CLUSTER_SLOTS);
}

/* ---------------------------------------------------------------------------------
 * cluster
 * --------------------------------------------------------------------------------- */

static struct hkv_cluster *ccl; /* the shared handle of the cluster group */

static int cluster_setup(void **state)
{
	(void)state;
	return open_with(&ccl, seeds, 5000);
}

static int cluster_teardown(void **state)
{
	(void)state;
	hkv_cluster_close(ccl);
	return 0;
}

/* the library's slot of random binary keys (braces included) is what Redis says */
static void t_keyslot_vs_redis(void **state)
{
	struct hkv_client c;
	unsigned int seed = 12345;

	(void)state;
	assert_int_equal(hkv_client_connect_tcp(&c, "127.0.0.1", baseport), 0);
	for (int i = 0; i < 2000; i++) {
		static const char alphabet[] = "ab{}{}xyz\\0\\1";
		char key[24];
		size_t len = (size_t)(rand_r(&seed) % 16);
		const char *argv[] = { "CLUSTER", "KEYSLOT", key };
		size_t argvlen[] = { 7, 7, len };
		struct hkv_resp_value *r;

		for (size_t k = 0; k < len; k++)
			key[k] = (i & 1) ? (char)(rand_r(&seed) & 0xff) :
					   alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		assert_int_equal(hkv_client_call(&c, 3, argv, argvlen, &r), 0);
		assert_int_equal(r->type, HKV_RESP_INTEGER);
		assert_int_equal(hkv_cluster_keyslot(key, len), (unsigned int)r->integer);
		hkv_resp_value_free(r);
	}
	hkv_client_close(&c);
}

/* 3000 keys set through the library: each is on the master that owns its slot, and nowhere
 * else (asked to every master directly: the owner answers, the others say MOVED) */
static void t_routing(void **state)
{
	int ms[6], n = masters(ms), count[6] = { 0 };
	struct hkv_client c[6];

	(void)state;
	assert_int_equal(n, 3);
	assert_true(hkv_cluster_is_cluster(ccl));
	for (int i = 0; i < 3000; i++) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "route:%d", i);
		snprintf(v, sizeof(v), "v%d", i * 7);
		lib_ok(ccl, k, "SET", k, v, NULL);
	}
	for (int m = 0; m < n; m++)
		assert_int_equal(hkv_client_connect_tcp(&c[m], "127.0.0.1", ms[m]), 0);
	for (int i = 0; i < 3000; i++) {
		char k[32], v[32];
		int owners = 0;

		snprintf(k, sizeof(k), "route:%d", i);
		snprintf(v, sizeof(v), "v%d", i * 7);
		for (int m = 0; m < n; m++) {
			const char *argv[] = { "GET", k };
			size_t len[] = { 3, strlen(k) };
			struct hkv_resp_value *r;

			assert_int_equal(hkv_client_call(&c[m], 2, argv, len, &r), 0);
			if (r->type == HKV_RESP_BULK) {
				assert_string_equal(r->str, v);
				owners++;
				count[m]++;
			} else {
				assert_int_equal(r->type, HKV_RESP_ERROR);
				assert_memory_equal(r->str, "MOVED ", 6);
				/* and the slot in MOVED is the library's slot */
				assert_int_equal(strtol(r->str + 6, NULL, 10),
						 (long)hkv_cluster_keyslot(k, strlen(k)));
			}
			hkv_resp_value_free(r);
		}
		assert_int_equal(owners, 1);
		expect_bulk(lib(ccl, k, "GET", k, NULL), v);
	}
	for (int m = 0; m < n; m++) {
		hkv_client_close(&c[m]);
		/* spread over every master */
		assert_true(count[m] > 500);
	}
}

/* keys with one hash tag share a node: a MULTI/EXEC over them, WATCH, WAIT, error replies */
static void t_hashtags_pipeline(void **state)
{
	const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
	const char *set1[] = { "SET", "{tag}a", "1" }, *incr[] = { "INCRBY", "{tag}b", "5" };
	const char *get1[] = { "GET", "{tag}a" };
	size_t l1[] = { 5 }, le[] = { 4 }, ls[] = { 3, 6, 1 }, li[] = { 6, 6, 1 }, lg[] = { 3, 6 };
	struct hkv_cluster_cmd tx[] = {
		{ 1, multi, l1 }, { 3, set1, ls }, { 3, incr, li }, { 1, exec, le },
	};
	struct hkv_resp_value *rep[4];
	int owner;

	(void)state;
	lib_ok(ccl, "{tag}b", "SET", "{tag}b", "10", NULL);
	assert_int_equal(hkv_cluster_pipeline(ccl, "{tag}", 5, 0, 4, tx, rep), 0);
	assert_string_equal(rep[0]->str, "OK");
	assert_string_equal(rep[1]->str, "QUEUED");
	assert_string_equal(rep[2]->str, "QUEUED");
	assert_int_equal(rep[3]->type, HKV_RESP_ARRAY);
	assert_int_equal(rep[3]->nelem, 2);
	assert_string_equal(rep[3]->elem[0]->str, "OK");
	assert_int_equal(rep[3]->elem[1]->integer, 15);
	for (int i = 0; i < 4; i++)
		hkv_resp_value_free(rep[i]);
	/* every key of the tag is on one node */
	owner = owner_of("{tag}a");
	for (int i = 0; i < 100; i++) {
		char k[32];

		snprintf(k, sizeof(k), "{tag}%d", i);
		lib_ok(ccl, k, "SET", k, "x", NULL);
		assert_int_equal(owner_of(k), owner);
	}

	/* WATCH + GET + MULTI/SET/EXEC on one connection (WATCH lives on a connection) */
	{
		const char *watch[] = { "WATCH", "{tag}a" };
		size_t lw[] = { 5, 6 };
		const struct hkv_cluster_cmd all[] = {
			{ 2, watch, lw }, { 2, get1, lg }, { 1, multi, l1 }, { 3, set1, ls },
			{ 1, exec, le },
		};
		struct hkv_resp_value *r5[5];

		assert_int_equal(hkv_cluster_pipeline(ccl, "{tag}a", 6, 0, 5, all, r5), 0);
		assert_string_equal(r5[0]->str, "OK");
		assert_string_equal(r5[1]->str, "1");
		assert_int_equal(r5[4]->type, HKV_RESP_ARRAY);
		assert_int_equal(r5[4]->nelem, 1);
		for (int i = 0; i < 5; i++)
			hkv_resp_value_free(r5[i]);
	}

	/* WAIT on the same connection: the replica acknowledges */
	{
		struct hkv_cluster_cmd one[] = { { 3, set1, ls } };

		assert_int_equal(hkv_cluster_pipeline(ccl, "{tag}a", 6, HKV_CLUSTER_WAIT, 1, one, rep),
				 0);
		assert_string_equal(rep[0]->str, "OK");
		hkv_resp_value_free(rep[0]);
	}

	/* Redis's error replies come back as values, with 0 */
	{
		struct hkv_resp_value *r;

		lib_ok(ccl, "errkey", "SET", "errkey", "s", NULL);
		r = lib(ccl, "errkey", "LPUSH", "errkey", "x", NULL);
		assert_int_equal(r->type, HKV_RESP_ERROR);
		assert_memory_equal(r->str, "WRONGTYPE", 9);
		hkv_resp_value_free(r);
		r = lib(ccl, NULL, "NOSUCHCOMMAND", NULL);
		assert_int_equal(r->type, HKV_RESP_ERROR);
		hkv_resp_value_free(r);
	}

	/* bad arguments */
	assert_int_equal(hkv_cluster_pipeline(ccl, "k", 1, 0, 0, tx, rep), -EINVAL);
	{
		struct hkv_cluster_cmd bad[] = { { 0, multi, l1 } };

		assert_int_equal(hkv_cluster_pipeline(ccl, "k", 1, 0, 1, bad, rep), -EINVAL);
		assert_null(rep[0]);
	}
}

/* a check-and-set on one held connection: WATCH, GET, decide, MULTI/SET/EXEC; a write by
 * another client in between aborts it; a WATCH left open is not inherited by the pool */
static void t_session(void **state)
{
	const char *watch[] = { "WATCH", "{cas}k" }, *get[] = { "GET", "{cas}k" };
	const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" }, *set[] = { "SET", "{cas}k", "3" };
	size_t lw[] = { 5, 6 }, lg[] = { 3, 6 }, lm[] = { 5 }, le[] = { 4 }, ls[] = { 3, 6, 1 };
	struct hkv_cluster_cmd wg[] = { { 2, watch, lw }, { 2, get, lg } };
	struct hkv_cluster_cmd tx[] = { { 1, multi, lm }, { 3, set, ls }, { 1, exec, le } };
	struct hkv_resp_value *r[3];
	struct hkv_cluster_session *ss;

	(void)state;
	lib_ok(ccl, "{cas}k", "SET", "{cas}k", "1", NULL);

	/* undisturbed: EXEC runs */
	assert_int_equal(hkv_cluster_session_open(ccl, "{cas}k", 6, &ss), 0);
	assert_int_equal(hkv_cluster_session_pipeline(ss, 0, 2, wg, r), 0);
	expect_bulk(r[1], "1");
	hkv_resp_value_free(r[0]);
	assert_int_equal(hkv_cluster_session_pipeline(ss, HKV_CLUSTER_WAIT, 3, tx, r), 0);
	assert_int_equal(r[2]->type, HKV_RESP_ARRAY);
	for (int i = 0; i < 3; i++)
		hkv_resp_value_free(r[i]);
	hkv_cluster_session_close(ss);
	expect_bulk(lib(ccl, "{cas}k", "GET", "{cas}k", NULL), "3");

	/* another client writes between GET and EXEC: EXEC answers null, nothing written */
	assert_int_equal(hkv_cluster_session_open(ccl, "{cas}k", 6, &ss), 0);
	assert_int_equal(hkv_cluster_session_pipeline(ss, 0, 2, wg, r), 0);
	hkv_resp_value_free(r[0]);
	hkv_resp_value_free(r[1]);
	direct_ok(owner_of("{cas}k"), "SET", "{cas}k", "other", NULL);
	set[2] = "4";
	assert_int_equal(hkv_cluster_session_pipeline(ss, 0, 3, tx, r), 0);
	assert_int_equal(r[2]->type, HKV_RESP_NULL);
	for (int i = 0; i < 3; i++)
		hkv_resp_value_free(r[i]);
	hkv_cluster_session_close(ss);
	expect_bulk(lib(ccl, "{cas}k", "GET", "{cas}k", NULL), "other");

	/* a session closed with its WATCH open: the pooled connection is reused (LIFO) by a
	 * plain MULTI/EXEC after another client's write, which must not be aborted */
	assert_int_equal(hkv_cluster_session_open(ccl, "{cas}k", 6, &ss), 0);
	assert_int_equal(hkv_cluster_session_pipeline(ss, 0, 2, wg, r), 0);
	hkv_resp_value_free(r[0]);
	hkv_resp_value_free(r[1]);
	hkv_cluster_session_close(ss);
	direct_ok(owner_of("{cas}k"), "SET", "{cas}k", "again", NULL);
	set[2] = "5";
	assert_int_equal(hkv_cluster_pipeline(ccl, "{cas}k", 6, 0, 3, tx, r), 0);
	assert_int_equal(r[2]->type, HKV_RESP_ARRAY);
	for (int i = 0; i < 3; i++)
		hkv_resp_value_free(r[i]);
	expect_bulk(lib(ccl, "{cas}k", "GET", "{cas}k", NULL), "5");

	assert_int_equal(hkv_cluster_session_open(ccl, NULL, 0, &ss), -EINVAL);
}

/* migrate the keys of @slot from @from to @to; finish with SETSLOT NODE on every master */
static void move_slot(int slot, int from, int to, bool finish)
{
	char sl[16], idf[48], idt[48], tp[16];
	struct hkv_resp_value *r;
	int ms[6], n = masters(ms);

	snprintf(sl, sizeof(sl), "%d", slot);
	snprintf(tp, sizeof(tp), "%d", to);
	node_id(from, idf);
	node_id(to, idt);
	direct_ok(to, "CLUSTER", "SETSLOT", sl, "IMPORTING", idf, NULL);
	direct_ok(from, "CLUSTER", "SETSLOT", sl, "MIGRATING", idt, NULL);
	if (!finish)
		return;
	for (;;) {
		r = direct(from, "CLUSTER", "GETKEYSINSLOT", sl, "100", NULL);
		assert_int_equal(r->type, HKV_RESP_ARRAY);
		if (r->nelem == 0) {
			hkv_resp_value_free(r);
			break;
		}
		for (size_t i = 0; i < r->nelem; i++)
			direct_ok(from, "MIGRATE", "127.0.0.1", tp, r->elem[i]->str, "0", "5000", NULL);
		hkv_resp_value_free(r);
	}
	direct_ok(to, "CLUSTER", "SETSLOT", sl, "NODE", idt, NULL);
	direct_ok(from, "CLUSTER", "SETSLOT", sl, "NODE", idt, NULL);
	for (int i = 0; i < n; i++)
		if (ms[i] != to && ms[i] != from)
			direct_ok(ms[i], "CLUSTER", "SETSLOT", sl, "NODE", idt, NULL);
}

static int other_master(int not)
{
	int ms[6], n = masters(ms);

	for (int i = 0; i < n; i++)
		if (ms[i] != not)
			return ms[i];
	fail();
	return -1;
}

/* a slot moved behind the library's back: MOVED is followed once, the map is updated, the
 * next call goes straight to the new owner */
static void t_moved(void **state)
{
	const char *key = "moved:key";
	int slot = (int)hkv_cluster_keyslot(key, strlen(key)), from, to;
	long rej0, rej1, rej2;

	(void)state;
	lib_ok(ccl, key, "SET", key, "before", NULL);
	from = owner_of(key);
	to = other_master(from);
	move_slot(slot, from, to, true);
	assert_int_equal(owner_of(key), to);

	rej0 = rejected_calls(from, "get");
	expect_bulk(lib(ccl, key, "GET", key, NULL), "before");
	rej1 = rejected_calls(from, "get");
	assert_int_equal(rej1, rej0 + 1); /* one MOVED */
	expect_bulk(lib(ccl, key, "GET", key, NULL), "before");
	lib_ok(ccl, key, "SET", key, "after", NULL);
	expect_bulk(lib(ccl, key, "GET", key, NULL), "after");
	rej2 = rejected_calls(from, "get");
	assert_int_equal(rej2, rej1); /* the map knows */
	expect_bulk(direct(to, "GET", key, NULL), "after");
}

/* a slot half migrated: keys already moved are reached with ASK + ASKING, the others on the
 * old owner, a new key goes to the importing node; the map is not changed by ASK */
static void t_ask(void **state)
{
	const char *moved = "{ask}moved", *stays = "{ask}stays", *fresh = "{ask}fresh";
	int slot = (int)hkv_cluster_keyslot("ask", 3), from, to;
	char tp[16];
	long asking0, rej0;

	(void)state;
	lib_ok(ccl, moved, "SET", moved, "m", NULL);
	lib_ok(ccl, stays, "SET", stays, "s", NULL);
	lib_ok(ccl, "{ask}ctr", "SET", "{ask}ctr", "10", NULL);
	from = owner_of(moved);
	to = other_master(from);
	move_slot(slot, from, to, false);
	snprintf(tp, sizeof(tp), "%d", to);
	direct_ok(from, "MIGRATE", "127.0.0.1", tp, moved, "0", "5000", NULL);

	asking0 = cmd_calls(to, "asking");
	expect_bulk(lib(ccl, moved, "GET", moved, NULL), "m");
	assert_int_equal(cmd_calls(to, "asking"), asking0 + 1);
	expect_bulk(lib(ccl, stays, "GET", stays, NULL), "s");
	lib_ok(ccl, fresh, "SET", fresh, "f", NULL);
	assert_int_equal(cmd_calls(to, "asking"), asking0 + 2);
	/* ASK did not change the map: the next call asks the old owner first again */
	rej0 = rejected_calls(from, "get"); /* an ASK reply counts as a rejected call */
	expect_bulk(lib(ccl, moved, "GET", moved, NULL), "m");
	assert_int_equal(rejected_calls(from, "get"), rej0 + 1);
	assert_int_equal(cmd_calls(to, "asking"), asking0 + 3);
	/* the new key is on the importing node (readable there after ASKING only) */
	{
		struct hkv_client c;
		const char *a1[] = { "ASKING" }, *a2[] = { "GET", fresh };
		size_t l1[] = { 6 }, l2[] = { 3, strlen(fresh) };
		struct hkv_resp_value *r;

		assert_int_equal(hkv_client_connect_tcp(&c, "127.0.0.1", to), 0);
		assert_int_equal(hkv_client_call(&c, 1, a1, l1, &r), 0);
		hkv_resp_value_free(r);
		assert_int_equal(hkv_client_call(&c, 2, a2, l2, &r), 0);
		expect_bulk(r, "f");
		hkv_client_close(&c);
	}
	/* a pipeline that partly ran on the old owner (the key there) and got ASK for the other
	 * (moved) is not sent again: the replies come back as they are, and a line is logged */
	{
		const char *incr[] = { "INCR", "{ask}ctr" }, *get[] = { "GET", moved };
		size_t li[] = { 4, 8 }, lg[] = { 3, strlen(moved) };
		struct hkv_cluster_cmd p2[] = { { 2, incr, li }, { 2, get, lg } };
		struct hkv_resp_value *r2[2];

		log_clear();
		assert_int_equal(hkv_cluster_pipeline(ccl, "{ask}", 5, 0, 2, p2, r2), 0);
		assert_int_equal(r2[0]->type, HKV_RESP_INTEGER);
		assert_int_equal(r2[0]->integer, 11); /* ran once, not twice */
		assert_int_equal(r2[1]->type, HKV_RESP_ERROR);
		assert_memory_equal(r2[1]->str, "ASK ", 4);
		assert_true(log_has("partly ran"));
		hkv_resp_value_free(r2[0]);
		hkv_resp_value_free(r2[1]);
	}
	/* finish the migration: MOVED from now on */
	move_slot(slot, from, to, true);
	expect_bulk(lib(ccl, stays, "GET", stays, NULL), "s");
	expect_bulk(lib(ccl, fresh, "GET", fresh, NULL), "f");
	assert_int_equal(owner_of(stays), to);
}

static int flush_cb(void *arg, const char *addr, const struct hkv_resp_value *r)
{
	(*(int *)arg)++;
	(void)addr;
	assert_int_equal(r->type, HKV_RESP_STATUS);
	return 0;
}

static int dbsize_cb(void *arg, const char *addr, const struct hkv_resp_value *r)
{
	(void)addr;
	assert_int_equal(r->type, HKV_RESP_INTEGER);
	*(long long *)arg += r->integer;
	return 0;
}

/* SCAN over every master returns every matching key exactly once */
static void t_scan(void **state)
{
	const char *flush[] = { "FLUSHALL" }, *dbsize[] = { "DBSIZE" };
	size_t lf[] = { 8 }, ld[] = { 6 };
	struct hkv_cluster_scan *it;
	struct hkv_resp_value *b;
	unsigned char seen[3000] = { 0 };
	long long total = 0;
	int nm = 0, got = 0, batches = 0, rc;

	(void)state;
	assert_int_equal(hkv_cluster_call_masters(ccl, 1, flush, lf, flush_cb, &nm), 0);
	assert_int_equal(nm, 3);
	for (int i = 0; i < 3000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "scan:%d", i);
		lib_ok(ccl, k, "SET", k, "v", NULL);
		if (i % 10 == 0) {
			snprintf(k, sizeof(k), "other:%d", i);
			lib_ok(ccl, k, "SET", k, "v", NULL);
		}
	}
	for (int i = 0; i < 10; i++) {
		char k[32];
		struct hkv_resp_value *r;

		snprintf(k, sizeof(k), "scanh:%d", i);
		r = lib(ccl, k, "HSET", k, "f", "v", NULL);
		hkv_resp_value_free(r);
	}
	assert_int_equal(hkv_cluster_call_masters(ccl, 1, dbsize, ld, dbsize_cb, &total), 0);
	assert_int_equal(total, 3000 + 300 + 10);

	assert_int_equal(hkv_cluster_scan_open(ccl, "scan:*", 6, NULL, 37, &it), 0);
	while ((rc = hkv_cluster_scan_next(it, &b)) == 1) {
		assert_int_equal(b->type, HKV_RESP_ARRAY);
		for (size_t i = 0; i < b->nelem; i++) {
			int idx;

			assert_memory_equal(b->elem[i]->str, "scan:", 5);
			idx = atoi(b->elem[i]->str + 5);
			assert_true(idx >= 0 && idx < 3000);
			assert_int_equal(seen[idx], 0);
			seen[idx] = 1;
			got++;
		}
		batches++;
		hkv_resp_value_free(b);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(got, 3000);
	assert_int_equal(hkv_cluster_scan_restarts(it), 0);
	assert_true(batches > 3);
	/* done stays done */
	assert_int_equal(hkv_cluster_scan_next(it, &b), 0);
	hkv_cluster_scan_close(it);

	/* TYPE filter */
	got = 0;
	assert_int_equal(hkv_cluster_scan_open(ccl, NULL, 0, "hash", 0, &it), 0);
	while ((rc = hkv_cluster_scan_next(it, &b)) == 1) {
		for (size_t i = 0; i < b->nelem; i++) {
			assert_memory_equal(b->elem[i]->str, "scanh:", 6);
			got++;
		}
		hkv_resp_value_free(b);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(got, 10);
	hkv_cluster_scan_close(it);
}

/* ---- tracking ---- */

struct trk {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t nulls;
	char **keys;
	size_t n, cap;
};

static void trk_cb(void *arg, const void *key, size_t klen)
{
	struct trk *t = arg;

	pthread_mutex_lock(&t->mu);
	if (!key) {
		t->nulls++;
	} else {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->keys = realloc(t->keys, t->cap * sizeof(*t->keys));
			assert_non_null(t->keys);
		}
		t->keys[t->n] = strndup(key, klen);
		assert_non_null(t->keys[t->n]);
		t->n++;
	}
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static bool trk_has_locked(struct trk *t, const char *k)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->keys[i], k))
			return true;
	return false;
}

static bool trk_has(struct trk *t, const char *k)
{
	bool has;

	pthread_mutex_lock(&t->mu);
	has = trk_has_locked(t, k);
	pthread_mutex_unlock(&t->mu);
	return has;
}

static uint64_t trk_nulls(struct trk *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->mu);
	n = t->nulls;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* wait (bounded) until @k was invalidated; Return: whether it was */
static bool trk_wait(struct trk *t, const char *k, int ms)
{
	struct timespec ts;
	bool has;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (!(has = trk_has_locked(t, k)))
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts))
			break;
	has = trk_has_locked(t, k);
	pthread_mutex_unlock(&t->mu);
	return has;
}

static void trk_free(struct trk *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
}

static bool wait_live(struct hkv_cluster *cl, int ms)
{
	int64_t end = now_ms() + ms;

	while (!hkv_cluster_track_live(cl) && now_ms() < end)
		sleep_ms(10);
	return hkv_cluster_track_live(cl);
}

/* the id of the tracking connection (named hkv-track) on @port; 0 if none */
static long track_client_id(int port)
{
	struct hkv_resp_value *r = direct(port, "CLIENT", "LIST", NULL);
	const char *p = r->str;
	long id = 0;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		const char *name = strstr(p, " name=hkv-track ");

		if (name && (!nl || name < nl)) {
			assert_int_equal(id, 0); /* one per master */
			id = strtol(p + 3, NULL, 10);
		}
		p = nl ? nl + 1 : NULL;
	}
	hkv_resp_value_free(r);
	return id;
}

static void t_tracking(void **state)
{
	struct trk t = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct hkv_cluster *cl, *writer;
	char cmd[256];
	uint64_t n0, g0;
	int ms[6], nm = masters(ms), port;

	(void)state;
	assert_int_equal(open_with(&cl, seeds, 5000), 0);
	assert_int_equal(open_with(&writer, seeds, 5000), 0);
	assert_false(hkv_cluster_track_live(cl));
	assert_int_equal(hkv_cluster_track(cl, trk_cb, &t), 0);
	assert_int_equal(hkv_cluster_track(cl, trk_cb, &t), -EALREADY);
	assert_true(wait_live(cl, 10000));
	for (int i = 0; i < nm; i++)
		assert_int_not_equal(track_client_id(ms[i]), 0);
	assert_true(trk_nulls(&t) >= 1); /* after subscribing: drop what was cached before */

	/* a write by redis-cli reaches the callback */
	snprintf(cmd, sizeof(cmd), "redis-cli -c -p %d SET trk:cli hello >/dev/null", baseport);
	assert_int_equal(system(cmd), 0);
	assert_true(trk_wait(&t, "trk:cli", 5000));

	/* ordering: a read that returns after another client's write has already delivered that
	 * write's invalidation */
	for (int i = 0; i < 300; i++) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "trk:ord:%d", i);
		snprintf(v, sizeof(v), "%d", i);
		lib_ok(writer, k, "SET", k, v, NULL);
		expect_bulk(lib(cl, k, "GET", k, NULL), v);
		if (!trk_has(&t, k))
			fail_msg("GET %s returned before its invalidation", k);
	}

	/* the tracking connection is killed: cb(NULL) before a read served by that node returns,
	 * then the subscription comes back and invalidations flow again */
	port = owner_of("trk:ord:0");
	n0 = trk_nulls(&t);
	g0 = hkv_cluster_track_gen(cl);
	{
		char id[32];

		snprintf(id, sizeof(id), "%ld", track_client_id(port));
		direct_ok(port, "CLIENT", "KILL", "ID", id, NULL);
	}
	expect_bulk(lib(cl, "trk:ord:0", "GET", "trk:ord:0", NULL), "0");
	assert_true(trk_nulls(&t) > n0);
	assert_true(hkv_cluster_track_gen(cl) > g0);
	assert_true(log_has("tracking: connection to"));
	assert_true(wait_live(cl, 10000));
	assert_int_not_equal(track_client_id(port), 0);
	/* a key of the same slot, never written before */
	assert_false(trk_has(&t, "{trk:ord:0}new"));
	lib_ok(writer, "{trk:ord:0}new", "SET", "{trk:ord:0}new", "x", NULL);
	assert_true(trk_wait(&t, "{trk:ord:0}new", 5000));

	/* FLUSHALL: a null key list, drop everything */
	n0 = trk_nulls(&t);
	{
		char p[16];

		snprintf(p, sizeof(p), "%d", port);
		snprintf(cmd, sizeof(cmd), "redis-cli -p %s FLUSHALL >/dev/null", p);
		assert_int_equal(system(cmd), 0);
	}
	{
		int64_t end = now_ms() + 5000;

		while (trk_nulls(&t) == n0 && now_ms() < end)
			sleep_ms(5);
	}
	assert_true(trk_nulls(&t) > n0);

	hkv_cluster_close(writer);
	hkv_cluster_close(cl);
	trk_free(&t);
}

/* many threads on one handle: every call gets its own reply */
struct thr {
	struct hkv_cluster *cl;
	int id;
	int errors;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 500; i++) {
		char k[32], v[32];
		const char *set[] = { "SET", k, v }, *get[] = { "GET", k };
		size_t ls[3], lg[2];
		struct hkv_resp_value *r;

		snprintf(k, sizeof(k), "thr:%d:%d", t->id, i);
		snprintf(v, sizeof(v), "%d-%d", i, t->id);
		ls[0] = 3, ls[1] = strlen(k), ls[2] = strlen(v);
		lg[0] = 3, lg[1] = strlen(k);
		if (hkv_cluster_call(t->cl, k, strlen(k), 3, set, ls, &r) ||
		    r->type != HKV_RESP_STATUS)
			t->errors++;
		hkv_resp_value_free(r);
		if (hkv_cluster_call(t->cl, k, strlen(k), 2, get, lg, &r) ||
		    r->type != HKV_RESP_BULK ||
		    strcmp(r->str, v))
			t->errors++;
		hkv_resp_value_free(r);
	}
	return NULL;
}

static void t_threads(void **state)
{
	pthread_t th[8];
	struct thr t[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		t[i] = (struct thr){ ccl, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].errors, 0);
	}
}

/* ---------------------------------------------------------------------------------
 * failover
 * --------------------------------------------------------------------------------- */

#define FO_BUDGET 2000

/* the slots that @port serves as master, as @port itself says (CLUSTER SLOTS) */
static int master_slots(int port, unsigned char *slots)
{
	struct hkv_resp_value *r = direct(port, "CLUSTER", "SLOTS", NULL);
	int n = 0;

	memset(slots, 0, HKV_CLUSTER_SLOTS);
	assert_int_equal(r->type, HKV_RESP_ARRAY);
	for (size_t i = 0; i < r->nelem; i++) {
		struct hkv_resp_value *e = r->elem[i];

		if (e->elem[2]->elem[1]->integer != port)
			continue;
		for (long long s = e->elem[0]->integer; s <= e->elem[1]->integer; s++, n++)
			slots[s] = 1;
	}
	hkv_resp_value_free(r);
	return n;
}

/* the port that @port (a live node) says serves @slot as master */
static int master_of_slot(int port, unsigned int slot)
{
	struct hkv_resp_value *r = direct(port, "CLUSTER", "SLOTS", NULL);
	int m = -1;

	assert_int_equal(r->type, HKV_RESP_ARRAY);
	for (size_t i = 0; i < r->nelem; i++) {
		struct hkv_resp_value *e = r->elem[i];

		if (e->elem[0]->integer <= slot && slot <= e->elem[1]->integer)
			m = (int)e->elem[2]->elem[1]->integer;
	}
	hkv_resp_value_free(r);
	return m;
}

/*
 * A write loop (SET then WAIT 1 on the same connection) over keys of every master; the
 * master of "fo:0" is killed with SIGKILL after 300 acknowledged writes. Every call returns
 * within the budget; failures in the gap are -ETIMEDOUT / -EHOSTUNREACH / -ECONNREFUSED /
 * -EIO (-EIO also when WAIT finds no replica: the promoted replica has none until the killed
 * node, restarted by the test, rejoins as its replica). The loop ends after 300 writes to
 * the failed-over slots were acknowledged again. Every acknowledged write is read back.
 */
static void t_failover(void **state)
{
	enum { MAXW = 200000 };
	static unsigned char vslots[HKV_CLUSTER_SLOTS];
	struct trk t = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct hkv_cluster *cl, *tcl;
	uint64_t nulls_at_kill = 0;
	char *acked = calloc(MAXW, 1);
	int victim, witness, vwrites = 0, errors = 0, i, restarted = 0, nv;
	int64_t killed_at = 0, promoted_at = 0, worst = 0, end, last_check = 0;
	pid_t pid;

	(void)state;
	assert_non_null(acked);
	assert_int_equal(open_with(&cl, seeds, FO_BUDGET), 0);
	/* an idle tracking handle: it must find the promoted replica by itself */
	assert_int_equal(open_with(&tcl, seeds, FO_BUDGET), 0);
	assert_int_equal(hkv_cluster_track(tcl, trk_cb, &t), 0);
	assert_true(wait_live(tcl, 10000));
	victim = owner_of("fo:0");
	witness = other_master(victim);
	nv = master_slots(victim, vslots);
	assert_true(nv > 5000);
	pid = node_pid(victim);
	assert_true(pid > 0);
	end = now_ms() + 90000;
	for (i = 0; i < MAXW && now_ms() < end; i++) {
		char k[32], v[32];
		const char *set[] = { "SET", k, v };
		size_t ls[3];
		struct hkv_cluster_cmd cmd = { 3, set, ls };
		struct hkv_resp_value *r = NULL;
		int64_t t0, dt;
		int rc;

		snprintf(k, sizeof(k), "fo:%d", i);
		snprintf(v, sizeof(v), "val-%d", i);
		ls[0] = 3, ls[1] = strlen(k), ls[2] = strlen(v);
		t0 = now_ms();
		rc = hkv_cluster_pipeline(cl, k, strlen(k), HKV_CLUSTER_WAIT, 1, &cmd, &r);
		dt = now_ms() - t0;
		if (dt > worst)
			worst = dt;
		/* the budget, plus scheduling slack on a loaded machine */
		if (dt > FO_BUDGET + 300)
			fail_msg("write %d took %lld ms, budget %d", i, (long long)dt, FO_BUDGET);
		if (rc == 0) {
			assert_string_equal(r->str, "OK");
			hkv_resp_value_free(r);
			acked[i] = 1;
			if (restarted && vslots[hkv_cluster_keyslot(k, strlen(k))])
				vwrites++;
		} else {
			assert_null(r);
			if (rc != -ETIMEDOUT && rc != -EHOSTUNREACH && rc != -ECONNREFUSED &&
			    rc != -EIO)
				fail_msg("write %d: unexpected error %d (%s)", i, rc, strerror(-rc));
			if (!killed_at)
				fail_msg("write %d failed before the kill: %s", i, strerror(-rc));
			errors++;
		}
		if (!killed_at && i == 300) {
			nulls_at_kill = trk_nulls(&t);
			assert_int_equal(kill(pid, SIGKILL), 0);
			killed_at = now_ms();
		}
		/* once a replica took the slots over, bring the killed node back (its replica) */
		if (killed_at && !restarted && now_ms() - last_check > 100) {
			last_check = now_ms();
			if (master_of_slot(witness, hkv_cluster_keyslot("fo:0", 4)) != victim) {
				promoted_at = now_ms();
				/* while the killed node is still down: the idle tracking handle
				 * found the promoted replica by itself and reports its writes */
				assert_true(trk_nulls(&t) > nulls_at_kill);
				assert_true(wait_live(tcl, 5000));
				assert_false(trk_has(&t, "{fo:0}trk"));
				lib_ok(cl, "{fo:0}trk", "SET", "{fo:0}trk", "x", NULL);
				assert_true(trk_wait(&t, "{fo:0}trk", 5000));
				assert_int_equal(run_harness("restart", victim), 0);
				restarted = 1;
			}
		}
		if (vwrites >= 300)
			break;
	}
	fprintf(stderr,
		"failover: %d writes, %d failed in the gap, worst call %lld ms, replica promoted %lld ms after the kill\n",
		i, errors, (long long)worst, (long long)(promoted_at - killed_at));
	assert_true(restarted);
	assert_true(vwrites >= 300);
	assert_true(errors > 0); /* the gap was seen */

	hkv_cluster_close(tcl);
	trk_free(&t);

	/* every acknowledged write is there */
	for (int j = 0; j < i && j < MAXW; j++) {
		char k[32], v[32];

		if (!acked[j])
			continue;
		snprintf(k, sizeof(k), "fo:%d", j);
		snprintf(v, sizeof(v), "val-%d", j);
		expect_bulk(lib(cl, k, "GET", k, NULL), v);
	}
	hkv_cluster_close(cl);
	free(acked);
}

/*
 * A scan in progress when the master being scanned is killed: later calls may fail within
 * their budget (never hang), the node's part is scanned again on the promoted replica
 * (counted in hkv_cluster_scan_restarts()), and every key written (and acknowledged by a
 * replica) before the scan is returned at least once.
 */
static void t_scan_failover(void **state)
{
	enum { NK = 3000 };
	static unsigned char seen[NK];
	struct hkv_cluster *cl;
	struct hkv_cluster_scan *it;
	struct hkv_resp_value *b;
	int victim, witness, batches = 0, fails = 0, rc, missing = 0;
	int64_t end;
	bool killed = false;

	(void)state;
	/* the node t_failover killed is back as a replica: WAIT 1 can succeed everywhere */
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "%s wait %s replicas", harness, hdir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(open_with(&cl, seeds, FO_BUDGET), 0);
	for (int i = 0; i < NK; i++) {
		char k[32];
		const char *set[] = { "SET", k, "v" };
		size_t ls[3] = { 3, 0, 1 };
		struct hkv_cluster_cmd cmd = { 3, set, ls };
		struct hkv_resp_value *r;

		ls[1] = (size_t)snprintf(k, sizeof(k), "sf:%d", i);
		assert_int_equal(hkv_cluster_pipeline(cl, k, ls[1], HKV_CLUSTER_WAIT, 1, &cmd, &r),
				 0);
		hkv_resp_value_free(r);
	}
	/* the shards are scanned in the order of their lowest slot: slot 0's master is first */
	witness = baseport;
	while (!is_master(witness))
		witness++;
	victim = master_of_slot(witness, 0);
	if (victim == witness)
		witness = other_master(victim);
	assert_int_equal(hkv_cluster_scan_open(cl, "sf:*", 4, NULL, 20, &it), 0);
	end = now_ms() + 60000;
	for (;;) {
		int64_t t0 = now_ms();

		rc = hkv_cluster_scan_next(it, &b);
		assert_true(now_ms() - t0 <= FO_BUDGET + 300);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (rc != -ETIMEDOUT && rc != -EHOSTUNREACH && rc != -ECONNREFUSED &&
			    rc != -EIO)
				fail_msg("scan: unexpected error %d (%s)", rc, strerror(-rc));
			assert_true(killed);
			fails++;
			assert_true(now_ms() < end);
			continue;
		}
		for (size_t i = 0; i < b->nelem; i++) {
			int idx = atoi(b->elem[i]->str + 3);

			assert_true(idx >= 0 && idx < NK);
			seen[idx] = 1;
		}
		hkv_resp_value_free(b);
		if (++batches == 3) {
			assert_int_equal(kill(node_pid(victim), SIGKILL), 0);
			killed = true;
		}
	}
	for (int i = 0; i < NK; i++)
		missing += !seen[i];
	fprintf(stderr, "scan across a failover: %d batches, %d calls failed in the gap, %u restarts\n",
		batches, fails, hkv_cluster_scan_restarts(it));
	assert_int_equal(missing, 0);
	assert_true(hkv_cluster_scan_restarts(it) >= 1);
	assert_true(log_has("scanning that node again from the start"));
	hkv_cluster_scan_close(it);
	hkv_cluster_close(cl);
	/* leave the cluster whole: the killed node rejoins as a replica */
	assert_int_equal(run_harness("restart", victim), 0);
}

/* ---------------------------------------------------------------------------------
 * standalone and bad input
 * --------------------------------------------------------------------------------- */

static void t_standalone(void **state)
{
	struct trk t = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct hkv_cluster *cl, *writer;
	struct hkv_cluster_scan *it;
	struct hkv_resp_value *b;
	char buf[128];
	int got = 0, rc;

	(void)state;
	assert_int_equal(open_with(&cl, seeds, 3000), 0);
	assert_false(hkv_cluster_is_cluster(cl));
	assert_int_equal(hkv_cluster_nodes(cl, buf, sizeof(buf)), 1);
	assert_string_equal(buf, seeds);
	for (int i = 0; i < 500; i++) {
		char k[32];

		snprintf(k, sizeof(k), "sa:%d", i);
		lib_ok(cl, k, "SET", k, k, NULL);
	}
	expect_bulk(lib(cl, "sa:7", "GET", "sa:7", NULL), "sa:7");
	assert_int_equal(hkv_cluster_refresh(cl), 0);
	assert_int_equal(hkv_cluster_scan_open(cl, "sa:*", 4, NULL, 50, &it), 0);
	while ((rc = hkv_cluster_scan_next(it, &b)) == 1) {
		got += (int)b->nelem;
		hkv_resp_value_free(b);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(got, 500);
	hkv_cluster_scan_close(it);

	/* tracking works on a standalone server too */
	assert_int_equal(open_with(&writer, seeds, 3000), 0);
	assert_int_equal(hkv_cluster_track(cl, trk_cb, &t), 0);
	assert_true(wait_live(cl, 10000));
	lib_ok(writer, "sa:1", "SET", "sa:1", "new", NULL);
	expect_bulk(lib(cl, "sa:1", "GET", "sa:1", NULL), "new");
	assert_true(trk_has(&t, "sa:1"));
	hkv_cluster_close(writer);
	hkv_cluster_close(cl);
	trk_free(&t);
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* accept one connection, answer like a web server, close */
static void *http_peer(void *arg)
{
	static const char resp[] = "HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n";
	int c = accept(*(int *)arg, NULL, NULL);
	char buf[256];

	if (c >= 0) {
		if (read(c, buf, sizeof(buf)) > 0 && write(c, resp, sizeof(resp) - 1) < 0)
			perror("http_peer");
		close(c);
	}
	return NULL;
}

static void t_bad_seeds(void **state)
{
	static const char *const bad[] = {
		"", "localhost", "127.0.0.1:", ":7000", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:70x", "127.0.0.1:7000,", ",127.0.0.1:7000", "[::1", "[::1]7000",
		"127.0.0.1:7000 ,127.0.0.1:7001", "127.0.0.1:-1",
	};
	struct hkv_cluster_opts o = { .log = log_cb };
	struct hkv_cluster *cl = (struct hkv_cluster *)&o;
	char unreach[64];
	int64_t t0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		log_clear();
		o.seeds = bad[i];
		if (hkv_cluster_open(&cl, &o) != -EINVAL)
			fail_msg("seed list \"%s\" was accepted", bad[i]);
		assert_null(cl);
		assert_true(log_len > 0);
	}
	o.seeds = NULL;
	assert_int_equal(hkv_cluster_open(&cl, &o), -EINVAL);
	assert_int_equal(hkv_cluster_open(&cl, NULL), -EINVAL);
	o.seeds = "127.0.0.1:7000";
	o.io_timeout_ms = -1;
	assert_int_equal(hkv_cluster_open(&cl, &o), -EINVAL);
	o.io_timeout_ms = 0;

	/* nobody listens on the last port of our range */
	snprintf(unreach, sizeof(unreach), "127.0.0.1:%d", 7199);
	log_clear();
	assert_int_equal(open_with(&cl, unreach, 1000), -ECONNREFUSED);
	assert_true(log_has("no seed of \"127.0.0.1:7199\" answered"));
	/* a name that does not resolve (.invalid never does) */
	assert_int_equal(open_with(&cl, "no-such-host.invalid:7000", 1000), -EHOSTUNREACH);
	/* the reachable one among bad ones is found */
	snprintf(unreach, sizeof(unreach), "127.0.0.1:7199,%s", seeds);
	assert_int_equal(open_with(&cl, unreach, 1000), 0);
	hkv_cluster_close(cl);

	/* a listener that never answers: the budget bounds the wait, -ETIMEDOUT */
	{
		int fd = listen_on(baseport + 1);

		snprintf(unreach, sizeof(unreach), "127.0.0.1:%d", baseport + 1);
		t0 = now_ms();
		assert_int_equal(open_with(&cl, unreach, 1000), -ETIMEDOUT);
		assert_true(now_ms() - t0 < 500 + 1000 + 300);
		close(fd);
	}
	/* something that is not Redis answers: -EIO */
	{
		pthread_t th;
		int fd = listen_on(baseport + 2);

		assert_int_equal(pthread_create(&th, NULL, http_peer, &fd), 0);
		snprintf(unreach, sizeof(unreach), "127.0.0.1:%d", baseport + 2);
		assert_int_equal(open_with(&cl, unreach, 1000), -EIO);
		pthread_join(th, NULL);
		close(fd);
	}
}

/* a fake standalone server that answers CLUSTER with "cluster support disabled" and closes
 * the connection on any other command without answering; counts those commands */
struct dropper {
	int fd;
	atomic_int dropped;
	atomic_bool stop;
};

static void *dropper_main(void *arg)
{
	static const char nocluster[] = "-ERR This instance has cluster support disabled\r\n";
	struct dropper *d = arg;

	while (!atomic_load(&d->stop)) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		char buf[4096];
		ssize_t n;
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(d->fd, NULL, NULL);
		if (c < 0)
			continue;
		while ((n = read(c, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = 0;
			if (strstr(buf, "CLUSTER")) {
				if (write(c, nocluster, sizeof(nocluster) - 1) < 0)
					break;
				continue;
			}
			atomic_fetch_add(&d->dropped, 1);
			break;
		}
		close(c);
	}
	return NULL;
}

/* a connection lost after sending: retried within the budget by default, -EIO at once with
 * HKV_CLUSTER_ONCE (the command may have run) */
static void t_once(void **state)
{
	struct dropper d = { .fd = listen_on(baseport + 3) };
	const char *set[] = { "SET", "k", "v" };
	size_t ls[] = { 3, 1, 1 };
	struct hkv_cluster_cmd cmd = { 3, set, ls };
	struct hkv_resp_value *r = NULL;
	struct hkv_cluster *cl;
	char seed[32];
	pthread_t th;
	int64_t t0;
	int before;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, dropper_main, &d), 0);
	snprintf(seed, sizeof(seed), "127.0.0.1:%d", baseport + 3);
	assert_int_equal(open_with(&cl, seed, 1000), 0);
	assert_false(hkv_cluster_is_cluster(cl));
	t0 = now_ms();
	assert_int_equal(hkv_cluster_pipeline(cl, "k", 1, 0, 1, &cmd, &r), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 1000 + 300);
	assert_true(atomic_load(&d.dropped) > 1); /* resent */
	before = atomic_load(&d.dropped);
	log_clear();
	assert_int_equal(hkv_cluster_pipeline(cl, "k", 1, HKV_CLUSTER_ONCE, 1, &cmd, &r), -EIO);
	assert_null(r);
	assert_int_equal(atomic_load(&d.dropped), before + 1); /* sent once */
	assert_true(log_has("outcome unknown"));
	hkv_cluster_close(cl);
	atomic_store(&d.stop, true);
	pthread_join(th, NULL);
	close(d.fd);
}

/* the server's own password check: AUTH refused is -EACCES */
static void t_auth(void **state)
{
	struct hkv_cluster_opts o = { .seeds = seeds, .log = log_cb, .password = "secret" };
	struct hkv_cluster *cl;
	char port[16];
	const char *p = strrchr(seeds, ':');

	(void)state;
	snprintf(port, sizeof(port), "%s", p + 1);
	/* no password set on the server: AUTH is an error there */
	assert_int_equal(hkv_cluster_open(&cl, &o), -EACCES);
	direct_ok(atoi(port), "CONFIG", "SET", "requirepass", "secret", NULL);
	assert_int_equal(hkv_cluster_open(&cl, &o), 0);
	lib_ok(cl, "auth:k", "SET", "auth:k", "v", NULL);
	hkv_cluster_close(cl);
	o.password = "wrong";
	assert_int_equal(hkv_cluster_open(&cl, &o), -EACCES);
	assert_true(log_has("WRONGPASS"));
	o.password = NULL;
	assert_int_equal(hkv_cluster_open(&cl, &o), -EACCES);
	assert_true(log_has("NOAUTH"));
	/* put it back for the other tests */
	{
		struct hkv_client c;
		const char *a[] = { "AUTH", "secret" }, *b[] = { "CONFIG", "SET", "requirepass", "" };
		size_t la[] = { 4, 6 }, lb[] = { 6, 3, 11, 0 };
		struct hkv_resp_value *r;

		assert_int_equal(hkv_client_connect_tcp(&c, "127.0.0.1", atoi(port)), 0);
		assert_int_equal(hkv_client_call(&c, 2, a, la, &r), 0);
		hkv_resp_value_free(r);
		assert_int_equal(hkv_client_call(&c, 4, b, lb, &r), 0);
		assert_string_equal(r->str, "OK");
		hkv_resp_value_free(r);
		hkv_client_close(&c);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "unit";
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(t_keyslot),
	};
	const struct CMUnitTest cluster[] = {
		cmocka_unit_test(t_keyslot_vs_redis),
		cmocka_unit_test(t_routing),
		cmocka_unit_test(t_hashtags_pipeline),
		cmocka_unit_test(t_session),
		cmocka_unit_test(t_moved),
		cmocka_unit_test(t_ask),
		cmocka_unit_test(t_scan),
		cmocka_unit_test(t_threads),
		cmocka_unit_test(t_tracking),
	};
	const struct CMUnitTest failover[] = {
		cmocka_unit_test(t_failover),
		cmocka_unit_test(t_scan_failover),
	};
	const struct CMUnitTest standalone[] = {
		cmocka_unit_test(t_standalone),
		cmocka_unit_test(t_bad_seeds),
		cmocka_unit_test(t_once),
		cmocka_unit_test(t_auth),
	};

	signal(SIGPIPE, SIG_IGN);
	seeds = getenv("HKV_TEST_SEEDS");
	hdir = getenv("HKV_TEST_DIR");
	harness = getenv("HKV_TEST_HARNESS");
	baseport = getenv("HKV_TEST_BASEPORT") ? atoi(getenv("HKV_TEST_BASEPORT")) : 0;
	if (!strcmp(mode, "unit"))
		return cmocka_run_group_tests_name("remote_unit", unit, NULL, NULL);
	if (!seeds || !hdir || !harness) {
		fprintf(stderr, "test_remote %s: run through run.sh (HKV_TEST_SEEDS unset)\n", mode);
		return 2;
	}
	if (!strcmp(mode, "cluster"))
		return cmocka_run_group_tests_name("remote_cluster", cluster, cluster_setup,
						   cluster_teardown);
	if (!strcmp(mode, "failover"))
		return cmocka_run_group_tests_name("remote_failover", failover, NULL, NULL);
	if (!strcmp(mode, "standalone"))
		return cmocka_run_group_tests_name("remote_standalone", standalone, NULL, NULL);
	fprintf(stderr, "test_remote: unknown mode %s\n", mode);
	return 2;
}
