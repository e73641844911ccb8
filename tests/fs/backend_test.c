// SPDX-License-Identifier: MIT
/*
 * backend_test.c - the storage interface (fs/backend.h) without a mount: choosing the backend
 * from the mount source (fs/backend.c) and the local engine behind the interface
 * (fs/be_local.c), every result checked.
 *
 *  - sources: a directory is created and made absolute, a SCHEME:// address is kept byte for
 *    byte, an unknown scheme and a scheme this binary is built without are refused with
 *    EPROTONOSUPPORT and a log line;
 *  - the local backend: its capabilities, the engine handle, the live-mount lock between
 *    session begin and end, writes and reads through the wrappers, the watch (each change
 *    once, with the version the attributes then show; 0 for a deletion; nothing after it is
 *    removed), transactions (commit, abort, a nested abort undone alone, the transaction
 *    handle refusing whole-store operations), a prefix listing with its roll-up, and the data
 *    still there after close and reopen.
 *
 * Usage: backend_test   (exit 0, or 1 with a message per failed check)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "hkvfs_int.h"

#include "testcheck.h"

static char last_log[1024];

#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long a_ = (long long)(a), b_ = (long long)(b);                        \
		if (a_ != b_) {                                                            \
			fprintf(stderr, "FAIL %s:%d: %s == %lld, expected %s == %lld\n",   \
				__FILE__, __LINE__, #a, a_, #b, b_);                       \
			failures++;                                                        \
		}                                                                          \
	} while (0)

void hkvfs_log(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static void test_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* ---------------------------------------------------------------------------------------- */
/* the watch, recorded                                                                      */

struct event {
	char key[64];
	size_t klen;
	uint64_t version;
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event events[64];
static int nevents;

static void watch_cb(void *arg, const void *key, size_t klen, uint64_t version)
{
	(void)arg;
	pthread_mutex_lock(&ev_lock);
	if (nevents < 64 && key && klen < sizeof(events[0].key)) {
		memcpy(events[nevents].key, key, klen);
		events[nevents].klen = klen;
		events[nevents].version = version;
	} else if (nevents < 64) {
		events[nevents].klen = (size_t)-1; /* NULL key or too long: never expected here */
	}
	nevents++;
	pthread_mutex_unlock(&ev_lock);
}

/* the events reported for @key since the last reset: how many, and the last version */
static int events_for(const char *key, uint64_t *version)
{
	int i, n = 0;

	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < nevents && i < 64; i++) {
		if (events[i].klen == strlen(key) && !memcmp(events[i].key, key, events[i].klen)) {
			n++;
			if (version)
				*version = events[i].version;
		}
	}
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static void events_reset(void)
{
	pthread_mutex_lock(&ev_lock);
	nevents = 0;
	pthread_mutex_unlock(&ev_lock);
}

/* ---------------------------------------------------------------------------------------- */

static int put(struct hkvfs_be *be, const char *key, const char *val)
{
	return hkvfs_be_set(be, key, strlen(key), val, strlen(val), NULL);
}

static bool has_value(struct hkvfs_be *be, const char *key, const char *val)
{
	struct hkv_buf v = { 0 };
	bool ok;

	if (hkvfs_be_get(be, key, strlen(key), &v))
		return false;
	ok = v.len == strlen(val) && !memcmp(v.data, val, v.len);
	hkvfs_be_buf_release(&v);
	return ok;
}

static void test_sources(const char *top)
{
	struct hkvfs_opts o;
	struct hkvfs_be_args args = { .opts = &o, .log = test_log };
	struct hkvfs_be *be = NULL;
	char out[PATH_MAX], want[PATH_MAX + 16], small[8];
	struct stat st;

	hkvfs_opts_init(&o);
	CHECK(chdir(top) == 0);
	CHECK_EQ(hkvfs_be_source_prepare("made", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/made", top);
	CHECK(strcmp(out, want) == 0);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(hkvfs_be_source_prepare("made", out, sizeof(out)), 0); /* exists: fine */
	CHECK_EQ(hkvfs_be_source_prepare("no/such/parent", out, sizeof(out)), -ENOENT);
	CHECK_EQ(hkvfs_be_source_prepare("redis://10.0.0.1:7000,10.0.0.2:7001", out,
					 sizeof(out)), 0);
	CHECK(strcmp(out, "redis://10.0.0.1:7000,10.0.0.2:7001") == 0);
	CHECK_EQ(hkvfs_be_source_prepare("redis://h:1", small, sizeof(small)), -ENAMETOOLONG);
	/* not a scheme: a directory whose name has a colon */
	CHECK_EQ(hkvfs_be_source_prepare("dir:x", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/dir:x", top);
	CHECK(strcmp(out, want) == 0);

	last_log[0] = 0;
	CHECK_EQ(hkvfs_be_open("nosuch://x", &args, &be), -EPROTONOSUPPORT);
	CHECK(strstr(last_log, "unknown source scheme nosuch://") != NULL);
	if (!hkvfs_be_redis_open) {
		/* this binary is built without be_redis.c: the weak symbol is NULL */
		last_log[0] = 0;
		CHECK_EQ(hkvfs_be_open("redis://127.0.0.1:1", &args, &be), -EPROTONOSUPPORT);
		CHECK(strstr(last_log, "redis:// sources are not supported") != NULL);
		CHECK_EQ(hkvfs_be_open("REDIS://127.0.0.1:1", &args, &be), -EPROTONOSUPPORT);
	}
	CHECK(be == NULL);
}

struct txn_probe {
	struct hkvfs_be *be;
	int ret;
};

static int txn_writes(struct hkvfs_be *tx, void *arg)
{
	struct txn_probe *p = arg;

	CHECK(tx != p->be);
	CHECK_EQ(tx->caps, p->be->caps);
	CHECK(hkvfs_be_engine(tx) == NULL);
	CHECK_EQ(hkvfs_be_sync(tx), -EINVAL);
	CHECK_EQ(hkvfs_be_close(tx), -EINVAL);
	CHECK_EQ(hkvfs_be_session_begin(tx), -EINVAL);
	CHECK_EQ(put(tx, "t/a", "1"), 1);
	CHECK_EQ(put(tx, "t/b", "2"), 1);
	CHECK(has_value(tx, "t/a", "1")); /* the transaction sees its own writes */
	return p->ret;
}

static int txn_inner_abort(struct hkvfs_be *tx, void *arg)
{
	(void)arg;
	CHECK_EQ(put(tx, "t/inner", "x"), 1);
	return -EEXIST;
}

static int txn_outer(struct hkvfs_be *tx, void *arg)
{
	(void)arg;
	CHECK_EQ(put(tx, "t/outer", "y"), 1);
	CHECK_EQ(hkvfs_be_txn_run(tx, txn_inner_abort, NULL), -EEXIST);
	CHECK_EQ(hkvfs_be_exists(tx, "t/inner", 7), 0);
	return 0;
}

struct listing {
	int n;
	char key[8][32];
	bool is_prefix[8];
	enum hkv_type type[8];
};

static int list_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct listing *l = arg;

	if (l->n < 8 && klen < 32) {
		memcpy(l->key[l->n], key, klen);
		l->key[l->n][klen] = 0;
		l->is_prefix[l->n] = is_prefix;
		l->type[l->n] = type;
	}
	l->n++;
	return 0;
}

static void test_local(const char *top)
{
	struct hkvfs_opts o;
	struct hkvfs_be_args args = { .opts = &o, .log = test_log };
	struct hkv_scan_opts so = { .prefix = "p/", .prefix_len = 2, .has_delim = true,
				    .delim = '/', .count = 100 };
	struct hkvfs_be *be = NULL;
	struct txn_probe probe;
	struct hkv_cursor cur;
	struct listing l = { 0 };
	struct hkv_attr a;
	struct hkv_stats s;
	uint64_t v = 0, v2 = 0;
	char store[PATH_MAX], live[PATH_MAX + 16];
	int fd, rc;

	hkvfs_opts_init(&o);
	o.sync = HKV_SYNC_NONE;
	snprintf(store, sizeof(store), "%s/store", top);
	CHECK_EQ(hkvfs_be_source_prepare(store, store, sizeof(store)), 0);
	rc = hkvfs_be_open(store, &args, &be);
	CHECK_EQ(rc, 0);
	if (rc)
		return;
	CHECK_EQ(be->caps, HKVFS_BE_CAP_TXN | HKVFS_BE_CAP_ENGINE | HKVFS_BE_CAP_STATS);
	CHECK(hkvfs_be_engine(be) != NULL);

	/* the live-mount lock is held from session begin to session end */
	CHECK_EQ(hkvfs_be_session_begin(be), 0);
	snprintf(live, sizeof(live), "%s/hkvfs.live", store);
	fd = open(live, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK);
	hkvfs_be_session_end(be);
	hkvfs_be_session_end(be); /* idempotent */
	CHECK(flock(fd, LOCK_SH | LOCK_NB) == 0);
	close(fd);

	/* writes, reads and the watch */
	hkvfs_be_set_watch(be, watch_cb, NULL);
	events_reset();
	CHECK_EQ(put(be, "k1", "v1"), 1);
	CHECK_EQ(events_for("k1", &v), 1);
	CHECK(v > 0);
	CHECK_EQ(hkvfs_be_attr_get(be, "k1", 2, &a), 0);
	CHECK_EQ(a.version, v);
	CHECK_EQ(a.type, HKV_TYPE_STRING);
	CHECK_EQ(a.size, 2);
	CHECK(hkvfs_be_version(be) >= v);
	CHECK(has_value(be, "k1", "v1"));
	CHECK_EQ(hkvfs_be_append(be, "k1", 2, "+", 1, NULL), 3);
	CHECK_EQ(events_for("k1", &v2), 2);
	CHECK(v2 > v);
	CHECK_EQ(hkvfs_be_del(be, "k1", 2), 1);
	CHECK_EQ(events_for("k1", &v), 3);
	CHECK_EQ(v, 0);
	CHECK_EQ(hkvfs_be_get(be, "k1", 2, &(struct hkv_buf){ 0 }), -ENOENT);
	CHECK_EQ(hkvfs_be_hset(be, "h", 1, "f", 1, "x", 1, NULL), 1);
	CHECK_EQ(hkvfs_be_type(be, "h", 1), HKV_TYPE_HASH);

	/* transactions: commit, abort, nested abort */
	events_reset();
	probe.be = be;
	probe.ret = 7;
	CHECK_EQ(hkvfs_be_txn_run(be, txn_writes, &probe), 7);
	CHECK(has_value(be, "t/a", "1") && has_value(be, "t/b", "2"));
	CHECK_EQ(events_for("t/a", NULL), 1);
	CHECK_EQ(events_for("t/b", NULL), 1);
	CHECK_EQ(hkvfs_be_del(be, "t/a", 3), 1);
	CHECK_EQ(hkvfs_be_del(be, "t/b", 3), 1);
	events_reset();
	probe.ret = -ECANCELED;
	CHECK_EQ(hkvfs_be_txn_run(be, txn_writes, &probe), -ECANCELED);
	CHECK_EQ(hkvfs_be_exists(be, "t/a", 3), 0);
	CHECK_EQ(hkvfs_be_exists(be, "t/b", 3), 0);
	CHECK_EQ(events_for("t/a", NULL), 0);
	CHECK_EQ(hkvfs_be_txn_run(be, txn_outer, NULL), 0);
	CHECK(has_value(be, "t/outer", "y"));
	CHECK_EQ(hkvfs_be_exists(be, "t/inner", 7), 0);
	CHECK_EQ(hkvfs_be_txn_run(be, NULL, NULL), -EINVAL);

	/* a directory listing: keys and rolled-up prefixes */
	CHECK_EQ(put(be, "p/x", "1"), 1);
	CHECK_EQ(put(be, "p/y/z", "2"), 1);
	CHECK_EQ(hkvfs_be_zadd(be, "p/zs", 4, 1.5, "m", 1, 0, NULL, NULL), 1);
	hkvfs_be_cursor_init(&cur);
	while (!cur.done && l.n < 8)
		CHECK(hkvfs_be_scan(be, &cur, &so, list_cb, &l) >= 0);
	CHECK_EQ(l.n, 3);
	CHECK(strcmp(l.key[0], "p/x") == 0 && !l.is_prefix[0] && l.type[0] == HKV_TYPE_STRING);
	CHECK(strcmp(l.key[1], "p/y/") == 0 && l.is_prefix[1]);
	CHECK(strcmp(l.key[2], "p/zs") == 0 && l.type[2] == HKV_TYPE_ZSET);
	CHECK_EQ(hkvfs_be_cursor_after(be, &cur, "p/x", 3, false), 0);
	CHECK(!cur.done);

	CHECK_EQ(hkvfs_be_stats_get(be, &s), 0);
	CHECK(s.keys >= 4);

	/* after the watch is removed nothing is reported */
	hkvfs_be_set_watch(be, NULL, NULL);
	events_reset();
	CHECK_EQ(put(be, "quiet", "1"), 1);
	CHECK_EQ(nevents, 0);
	CHECK_EQ(hkvfs_be_sync(be), 0);
	CHECK_EQ(hkvfs_be_close(be), 0);

	/* the data outlives the handle */
	be = NULL;
	CHECK_EQ(hkvfs_be_open(store, &args, &be), 0);
	if (be) {
		CHECK(has_value(be, "t/outer", "y"));
		CHECK(has_value(be, "quiet", "1"));
		CHECK_EQ(hkvfs_be_close(be), 0);
	}
}

int main(void)
{
	char top[] = "/tmp/hkvfs-backend-test.XXXXXX";
	char cmd[128];

	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_sources(top);
	test_local(top);
	CHECK(chdir("/") == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
